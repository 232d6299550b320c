/*
 * test_conninfo.c: unit tests of conninfo.c: libpq connection strings with quoting, checked by libpq's
 * own parser (PQconninfoParse), which must read back exactly the values written.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"
#include "tap.h"

/* parsed: the value libpq reads for key from conninfo; NULL when it does not parse or has no such key. */
static char *
parsed(const char *conninfo, const char *key)
{
	char	   *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	char	   *value = NULL;

	if (!opts)
	{
		PQfreemem(err);
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, key) == 0 && o->val)
			value = strdup(o->val);
	PQconninfoFree(opts);
	return value;
}

int
main(void)
{
	char		buf[256] = "";
	char		small[16] = "";
	char	   *v;
	const char *hostile = "pa'ss\\word' sslmode='disable";

	tap_ok(conninfo_append(buf, sizeof(buf), "host", "127.0.0.1"), "a first pair fits");
	tap_is_str(buf, "host='127.0.0.1'", "no leading space on an empty string");
	tap_ok(conninfo_append_int(buf, sizeof(buf), "port", 6432), "a number");
	tap_ok(conninfo_append(buf, sizeof(buf), "password", hostile), "a password with quotes and a backslash");
	tap_ok(conninfo_append(buf, sizeof(buf), "dbname", ""), "an empty value");
	v = parsed(buf, "password");
	tap_is_str(v, hostile, "libpq reads the password back exactly");
	free(v);
	v = parsed(buf, "sslmode");
	tap_ok(v == NULL, "the value could not add a setting of its own (no sslmode)");
	free(v);
	v = parsed(buf, "port");
	tap_is_str(v, "6432", "the port reads back");
	free(v);
	v = parsed(buf, "dbname");
	tap_is_str(v, "", "the empty value reads back empty");
	free(v);
	tap_ok(conninfo_append(small, sizeof(small), "host", "abcdefg"), "host='abcdefg' fits 16 bytes");
	tap_ok(!conninfo_append(small, sizeof(small), "port", "1"), "a pair that does not fit is refused");
	tap_is_str(small, "host='abcdefg'", "... and the string is left as it was");
	small[0] = '\0';
	tap_ok(!conninfo_append(small, 9, "host", "a'b"), "escaping counts toward the size (host='a\\'b' needs 11)");
	tap_is_str(small, "", "... nothing written");
	return tap_done();
}
