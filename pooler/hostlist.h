/*
 * hostlist.h: the host lists of [databases] lines ("host=a,b,c", PgBouncer's): counting, validating and
 * reading one entry of the comma-separated value that DatabaseEntry.host keeps as written. Pure functions
 * on strings; which entry a new server connection uses (load_balance_hosts) is pool.c's and server.c's.
 */
#ifndef FAREGATE_HOSTLIST_H
#define FAREGATE_HOSTLIST_H

#include <stdbool.h>
#include <stddef.h>

#define HOSTLIST_MAX 16			/* entries in one host= value */

/* hostlist_count: entries of list ("" and "a" count 1: the empty host is the default Unix socket). */
extern int	hostlist_count(const char *list);

/* hostlist_is_list: list names more than one host. */
extern bool hostlist_is_list(const char *list);

/*
 * hostlist_validate: list is a usable host= value: at most HOSTLIST_MAX entries, none empty and none with
 * a space. False with why set (a sentence for the config error) otherwise.
 */
extern bool hostlist_validate(const char *list, char *why, size_t whylen);

/* hostlist_entry: entry i (0-based, taken modulo the count) of list into out; false when it does not fit. */
extern bool hostlist_entry(const char *list, int i, char *out, size_t outlen);

#endif
