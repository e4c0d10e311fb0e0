// SPDX-License-Identifier: MIT
/* A worker's making and unmaking: its io_uring with the provided receive buffers, its
   listeners, its wake-up eventfd and its place among the journal's workers. */
#include "server/worker_int.h"

#include "core/log.h"
#include "journal/journal.h"
#include "server/listen.h"
#include "server/mgmt.h"
#include "track/token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define RING_ENTRIES   1024
#define TICK_MS        100

#ifdef CONFIG_TLS
#define IS_TLS_BUILD 1
#else
#define IS_TLS_BUILD 0
#endif

static int setup_ring(struct worker *w, char *err, size_t errlen)
{
	struct io_uring_params p = { 0 };
	struct io_uring_buf_reg reg = { 0 };
	int rc;

	/*
	 * DEFER_TASKRUN runs completions only when this thread waits: fewer interruptions.
	 * SINGLE_ISSUER binds the ring to the thread that enables it, so it starts disabled
	 * here and the worker thread enables it (setup errors still surface at start-up).
	 */
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
		  IORING_SETUP_R_DISABLED;
	rc = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	if (rc == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_R_DISABLED;
		rc = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	}
	if (rc) {
		snprintf(err, errlen, "io_uring setup: %s", strerror(-rc));
		return -1;
	}
	w->ring_ok = true;
	w->br = mmap(NULL, BUF_COUNT * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	w->bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
	if (w->br == MAP_FAILED || !w->bufs) {
		w->br = w->br == MAP_FAILED ? NULL : w->br;
		snprintf(err, errlen, "out of memory for receive buffers");
		return -1;
	}
	reg.ring_addr = (uintptr_t)w->br;
	reg.ring_entries = BUF_COUNT;
	reg.bgid = BUF_GROUP;
	rc = io_uring_register_buf_ring(&w->ring, &reg, 0);
	if (rc) {
		snprintf(err, errlen, "io_uring provided buffers: %s", strerror(-rc));
		return -1;
	}
	io_uring_buf_ring_init(w->br);
	for (unsigned i = 0; i < BUF_COUNT; i++)
		io_uring_buf_ring_add(w->br, w->bufs + (size_t)i * BUF_SIZE, BUF_SIZE, i,
				      io_uring_buf_ring_mask(BUF_COUNT), i);
	io_uring_buf_ring_advance(w->br, BUF_COUNT);
	return 0;
}

/* Opens one listener of this worker; tls_srv takes its TLS sessions (NULL: plain HTTP). */
static int add_listener(struct worker *w, const struct config_listen *cl,
			struct tls_server *tls_srv, bool mgmt, char *err, size_t errlen)
{
	struct listener *l = &w->listeners[w->n_listeners];

	snprintf(l->text, sizeof(l->text), "%s", cl->text);
	l->tls = cl->tls;
	if (l->tls && !tls_srv) {
		snprintf(err, errlen, "listen %s: TLS listener but HTTPS is not set up%s", l->text,
			 IS_TLS_BUILD ? "" : " (this build has no CONFIG_TLS)");
		return -1;
	}
	l->fd = listen_open(cl, w->id == 0 ? w->srv->owner.previous : -1, err, errlen);
	if (l->fd < 0)
		return -1;
	l->tls_srv = tls_srv;
	l->mgmt = mgmt;
	w->n_listeners++;
	return 0;
}

int worker_create(struct server *srv, unsigned id, const struct config *cfg, char *err,
		  size_t errlen)
{
	struct worker *w = &srv->workers[id];

	memset(w, 0, sizeof(*w));
	w->srv = srv;
	w->id = id;
	w->wake_fd = -1;
	w->tick.tv_nsec = TICK_MS * 1000000L;
	conn_list_init(&w->header_list);
	conn_list_init(&w->idle_list);
	conn_list_init(&w->send_list);
	conn_list_init(&w->linger_list);
	for (unsigned i = 0; i < sizeof(w->listeners) / sizeof(w->listeners[0]); i++)
		w->listeners[i].fd = -1;
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wake_fd < 0) {
		snprintf(err, errlen, "worker %u: eventfd: %s", id, strerror(errno));
		return -1;
	}
	/* the journal wakes this worker through the same eventfd when events are durable */
	w->journal_id = journal_add_worker(srv->journal, w->wake_fd);
	if (w->journal_id < 0) {
		snprintf(err, errlen, "worker %u: journal: %s", id, strerror(-w->journal_id));
		return -1;
	}
	if (setup_ring(w, err, errlen))
		return -1;
	for (unsigned i = 0; i < cfg->n_listen; i++)
		if (add_listener(w, &cfg->listen[i], srv->tls, false, err, errlen))
			return -1;
	if (cfg->management.enabled &&
	    add_listener(w, &cfg->management.listen, mgmt_tls(srv->mgmt), true, err, errlen))
		return -1;
	/* the metrics listener's requests go the management API's way, restricted to reading */
	if (cfg->metrics.enabled) {
		if (add_listener(w, &cfg->metrics.listen, NULL, true, err, errlen))
			return -1;
		w->listeners[w->n_listeners - 1].metrics_only = true;
	}
	return 0;
}

void worker_destroy(struct worker *w)
{
	struct pool_buf *b;
	struct conn *c;

	for (unsigned i = 0; i < w->n_listeners; i++)
		if (w->listeners[i].fd >= 0)
			close(w->listeners[i].fd);
	if (w->ring_ok)
		io_uring_queue_exit(&w->ring);
	if (w->br)
		munmap(w->br, BUF_COUNT * sizeof(struct io_uring_buf));
	free(w->bufs);
	while ((b = w->pool)) {
		w->pool = b->next;
		free(b);
	}
	while ((c = w->free_conns)) {
		w->free_conns = (struct conn *)c->tnode.next;
		free(c);
	}
	token_verifier_free(w->verifier);
	snapshot_ref_drop(&w->state_ref);
	snapshot_ref_drop(&w->chal_ref);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
}
