/*
 * test_notify_parse.c: route_listen_statements, the statement splitter notify.c uses to find the
 * LISTEN/UNLISTEN statements a client sends to a server: several statements, quoted identifiers,
 * comments, strings and dollar quotes that merely contain the words, UNLISTEN *, unlexable text.
 */
#include <string.h>

#include "route.h"
#include "tap.h"

static void
check(const char *sql, const char *expected, const char *name)
{
	RouteListenOp ops[8];
	char		got[256] = "";
	int			n = route_listen_statements(sql, strlen(sql), true, ops, 8);

	if (n < 0)
		strcpy(got, "error");
	for (int i = 0; i < n && i < 8; i++)
	{
		size_t		l = strlen(got);

		snprintf(got + l, sizeof(got) - l, "%s%c:%s", i ? " " : "", ops[i].kind, ops[i].channel);
	}
	tap_is_str(got, expected, name);
}

int
main(void)
{
	check("LISTEN a", "L:a", "lone LISTEN");
	check("  listen Ch_1 ;", "L:ch_1", "unquoted: lower-cased");
	check("LISTEN a; SELECT 1; UNLISTEN b", "L:a U:b", "several statements in order");
	check("LISTEN \"My;Chan\"\"x\"", "L:My;Chan\"x", "quoted identifier: case kept, ; inside, \"\" unescaped");
	check("UNLISTEN *", "U:*", "UNLISTEN *");
	check("/* LISTEN x */ SELECT 'LISTEN y'; -- LISTEN z\nSELECT $$LISTEN w$$", "", "only in comments and strings");
	check("SELECT 1; /* c */ LISTEN /* c */ q -- c", "L:q", "comments around the statement");
	check("SELECT listen FROM t; NOTIFY listen", "", "the word as a column and as a channel of NOTIFY");
	check("BEGIN; LISTEN a; COMMIT", "L:a", "inside a transaction block");
	check("LISTEN 'oops", "error", "unterminated string: cannot be lexed");
	return tap_done();
}
