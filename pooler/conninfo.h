/*
 * conninfo.h: libpq connection strings the pooler builds for its own libpq connections (health checks,
 * the LISTEN connection, auth_query lookups, TLS settings): one writer of "key='value'" with libpq's
 * quoting, so that a value holding ' or \ (a password, a path) can neither break the string nor add a
 * setting of its own.
 */
#ifndef FAREGATE_CONNINFO_H
#define FAREGATE_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

/*
 * conninfo_append: appends key='value' to the NUL-terminated string in buf (a space before it unless buf
 * is empty), with ' and \ in value escaped by a backslash. False when it does not fit: buf is then
 * unchanged.
 */
extern bool conninfo_append(char *buf, size_t buflen, const char *key, const char *value);

/* conninfo_append_int: the same for a number (a port). */
extern bool conninfo_append_int(char *buf, size_t buflen, const char *key, long value);

#endif
