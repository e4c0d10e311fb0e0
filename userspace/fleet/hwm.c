// SPDX-License-Identifier: MIT
#include "fleet/hwm.h"

#include "acme/atomic_file.h"
#include "core/err.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HWM_HEAD "edgetrack-consumer-hwm 1\n"
#define HWM_MAX_FILE (16u << 20)

static struct hwm_entry *find(const struct hwm *h, const char *appliance)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->e[i].appliance, appliance) == 0)
			return &h->e[i];
	return NULL;
}

bool hwm_get(const struct hwm *h, const char *appliance, uint64_t *seq)
{
	const struct hwm_entry *e = find(h, appliance);

	if (e)
		*seq = e->seq;
	return e != NULL;
}

int hwm_set(struct hwm *h, const char *appliance, uint64_t seq)
{
	struct hwm_entry *e = find(h, appliance);

	if (e) {
		if (seq > e->seq)
			e->seq = seq;
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct hwm_entry *ne = realloc(h->e, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		h->e = ne;
		h->cap = cap;
	}
	e = &h->e[h->n++];
	snprintf(e->appliance, sizeof(e->appliance), "%s", appliance);
	e->seq = seq;
	return 0;
}

enum hwm_verdict hwm_check(const struct hwm *h, const char *appliance, uint64_t seq,
			   uint64_t prev, bool give_up)
{
	uint64_t mark;

	if (!hwm_get(h, appliance, &mark))
		return prev == 0 || give_up ? HWM_DELIVER : HWM_EARLY;
	if (seq <= mark)
		return HWM_DUPLICATE;
	return prev <= mark || give_up ? HWM_DELIVER : HWM_EARLY;
}

static int parse_line(struct hwm *h, char *line)
{
	char name[FLEET_NAME_MAX + 2];
	uint64_t a, b, c;

	if (sscanf(line, "out %" SCNu64 " %" SCNu64 " %" SCNu64, &a, &b, &c) == 3) {
		h->have_out = true;
		h->out_dev = a;
		h->out_ino = b;
		h->out_size = c;
		return 0;
	}
	if (sscanf(line, "%65s %" SCNu64, name, &a) != 2 || !fleet_name_valid(name))
		return -1;
	return hwm_set(h, name, a);
}

static int parse_file(struct hwm *h, char *text)
{
	char *save = NULL, *line;

	if (strncmp(text, HWM_HEAD, strlen(HWM_HEAD)) != 0)
		return -1;
	for (line = strtok_r(text + strlen(HWM_HEAD), "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (parse_line(h, line))
			return -1;
	return 0;
}

int hwm_load(struct hwm *h, const char *dir, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	memset(h, 0, sizeof(*h));
	if ((size_t)snprintf(h->path, sizeof(h->path), "%s/hwm", dir) >= sizeof(h->path))
		return err_set(err, errlen, "%s: path too long", dir);
	if (ensure_dir(dir, 0750, err, errlen))
		return -1;
	text = read_small_file(h->path, HWM_MAX_FILE, &len);
	if (!text && errno == ENOENT)
		return 0;
	if (!text)
		return err_set(err, errlen, "%s: %s", h->path, strerror(errno));
	rc = parse_file(h, text);
	free(text);
	if (rc) {
		hwm_free(h);
		return err_set(err, errlen, "%s: not a consumer state file", h->path);
	}
	return 0;
}

void hwm_free(struct hwm *h)
{
	free(h->e);
	h->e = NULL;
	h->n = h->cap = 0;
}

int hwm_store(const struct hwm *h, char *err, size_t errlen)
{
	size_t cap = 128 + h->n * (FLEET_NAME_MAX + 24), len;
	char *buf = malloc(cap);
	int rc;

	if (!buf)
		return err_set(err, errlen, "out of memory");
	len = (size_t)snprintf(buf, cap, "%s", HWM_HEAD);
	if (h->have_out)
		len += (size_t)snprintf(buf + len, cap - len, "out %" PRIu64 " %" PRIu64 " %" PRIu64
					"\n", h->out_dev, h->out_ino, h->out_size);
	for (size_t i = 0; i < h->n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s %" PRIu64 "\n", h->e[i].appliance,
					h->e[i].seq);
	rc = atomic_write_file(h->path, buf, len, 0640, err, errlen);
	free(buf);
	return rc;
}
