/* SPDX-License-Identifier: MIT */
/*
 * Consumer cursor: the last sequence number an exporter has acknowledged, in a small text
 * file ("edgetrack-journal-cursor 1\nlast_seq=N\n") replaced atomically (write a temporary
 * file, fsync it, rename over the cursor, fsync the directory), so after any crash the file
 * holds either the old or the new position, never a mix.
 */
#ifndef ET_JOURNAL_CURSOR_H
#define ET_JOURNAL_CURSOR_H

#include <stddef.h>
#include <stdint.h>

/* A missing file means nothing acknowledged yet (*last_seq = 0, returns 0). A file that
   does not parse is an error (-EINVAL), never silently restarted from 0. */
int journal_cursor_load(const char *path, uint64_t *last_seq, char *err, size_t errlen);

/* 0 or -errno with err set. */
int journal_cursor_store(const char *path, uint64_t last_seq, char *err, size_t errlen);

#endif
