/*
 * conninfo.c: writes libpq connection strings (see conninfo.h): key='value' pairs with libpq's quoting.
 */
#include "conninfo.h"

#include <stdio.h>
#include <string.h>

bool
conninfo_append(char *buf, size_t buflen, const char *key, const char *value)
{
	size_t		start = strlen(buf);
	size_t		need = (start ? 1 : 0) + strlen(key) + 3;	/* [space] key = ' ' */
	size_t		n = start;

	for (const char *p = value; *p; p++)
		need += (*p == '\'' || *p == '\\') ? 2 : 1;
	if (start >= buflen || need + 1 > buflen - start)
		return false;
	if (start)
		buf[n++] = ' ';
	memcpy(buf + n, key, strlen(key));
	n += strlen(key);
	buf[n++] = '=';
	buf[n++] = '\'';
	for (const char *p = value; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			buf[n++] = '\\';
		buf[n++] = *p;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
	return true;
}

bool
conninfo_append_int(char *buf, size_t buflen, const char *key, long value)
{
	char		text[24];

	snprintf(text, sizeof(text), "%ld", value);
	return conninfo_append(buf, buflen, key, text);
}
