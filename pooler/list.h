/*
 * list.h: intrusive circular doubly linked lists (header only). A List is embedded in the object that
 * sits on a list; the same struct serves as list head. Every pooler list (free objects, pool idle and
 * active lists, the wait queue) is one of these, so moving an object between lists never allocates.
 */
#ifndef FAREGATE_LIST_H
#define FAREGATE_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct List
{
	struct List *next;
	struct List *prev;
} List;

#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

/* list_init: an empty list (or a node that is on no list). */
static inline void
list_init(List *head)
{
	head->next = head->prev = head;
}

static inline bool
list_empty(const List *head)
{
	return head->next == head;
}

/* list_append: node at the tail (FIFO order with list_first). */
static inline void
list_append(List *head, List *node)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}

static inline void
list_prepend(List *head, List *node)
{
	node->next = head->next;
	node->prev = head;
	head->next->prev = node;
	head->next = node;
}

/* list_del: takes node off whatever list holds it; a node on no list stays as it is. */
static inline void
list_del(List *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	list_init(node);
}

static inline List *
list_first(const List *head)
{
	return list_empty(head) ? NULL : head->next;
}

static inline List *
list_last(const List *head)
{
	return list_empty(head) ? NULL : head->prev;
}

static inline int
list_count(const List *head)
{
	int			n = 0;

	for (const List *it = head->next; it != head; it = it->next)
		n++;
	return n;
}

/* list_for_each_safe: iterates allowing the current node to be removed. */
#define list_for_each_safe(it, tmp, head) \
	for ((it) = (head)->next, (tmp) = (it)->next; (it) != (head); (it) = (tmp), (tmp) = (it)->next)

#endif
