/* SPDX-License-Identifier: MIT */
/*
 * Structured log lines on stderr: "ts=<rfc3339> level=<lvl> msg=<word> key=value ...".
 * One write(2) per line so lines from several workers never interleave.
 */
#ifndef ET_CORE_LOG_H
#define ET_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below this level are dropped; set once at start (ET_LOG_LEVEL / -v). */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

/* msg is one word (an event name); fmt adds "key=value" pairs. */
void log_line(enum log_level lvl, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) log_line(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...)  log_line(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_line(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_line(LOG_ERROR, msg, __VA_ARGS__)

#endif
