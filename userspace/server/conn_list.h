/* SPDX-License-Identifier: MIT */
/*
 * Intrusive doubly linked list for a worker's timer lists. Each list has one fixed timeout,
 * so appending at the tail keeps it ordered by deadline and expiry only looks at the head.
 */
#ifndef ET_SERVER_CONN_LIST_H
#define ET_SERVER_CONN_LIST_H

#include <stddef.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct conn_node {
	struct conn_node *prev, *next;
};

struct conn_list {
	struct conn_node head;
};

static inline void conn_node_init(struct conn_node *n) { n->prev = n->next = NULL; }

static inline void conn_list_init(struct conn_list *l)
{
	l->head.prev = l->head.next = &l->head;
}

static inline void conn_list_remove(struct conn_node *n)
{
	if (!n->next)
		return; /* not in a list */
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

static inline void conn_list_append(struct conn_list *l, struct conn_node *n)
{
	n->prev = l->head.prev;
	n->next = &l->head;
	l->head.prev->next = n;
	l->head.prev = n;
}

static inline struct conn_node *conn_list_first(struct conn_list *l)
{
	return l->head.next == &l->head ? NULL : l->head.next;
}

#endif
