/*
 * hostlist.c: host lists of [databases] lines (see hostlist.h). An entry is the text between commas,
 * taken as written: a host name, an IP address (IPv6 without brackets, as PgBouncer's "::1"), or a Unix
 * socket directory starting with '/'.
 */
#include "hostlist.h"

#include <stdio.h>
#include <string.h>

int
hostlist_count(const char *list)
{
	int			n = 1;

	for (const char *p = list; *p; p++)
		if (*p == ',')
			n++;
	return n;
}

bool
hostlist_is_list(const char *list)
{
	return strchr(list, ',') != NULL;
}

bool
hostlist_validate(const char *list, char *why, size_t whylen)
{
	int			n = hostlist_count(list);
	const char *start = list;

	if (!hostlist_is_list(list))
		return true;
	if (n > HOSTLIST_MAX)
		return snprintf(why, whylen, "host lists take at most %d hosts, not %d", HOSTLIST_MAX, n), false;
	for (int i = 0; i < n; i++)
	{
		const char *end = strchr(start, ',');
		size_t		len = end ? (size_t) (end - start) : strlen(start);

		if (len == 0)
			return snprintf(why, whylen, "host list \"%s\" has an empty entry (number %d): remove the "
							"extra comma", list, i + 1), false;
		if (memchr(start, ' ', len) || memchr(start, '\t', len))
			return snprintf(why, whylen, "host list \"%s\": entry %d has a space in it", list, i + 1), false;
		start += len + 1;
	}
	return true;
}

bool
hostlist_entry(const char *list, int i, char *out, size_t outlen)
{
	int			n = hostlist_count(list);
	const char *start = list;
	size_t		len;

	if (i < 0)
		i = 0;
	for (i %= n; i > 0; i--)
		start = strchr(start, ',') + 1;
	len = strcspn(start, ",");
	if (len >= outlen)
		return false;
	memcpy(out, start, len);
	out[len] = '\0';
	return true;
}
