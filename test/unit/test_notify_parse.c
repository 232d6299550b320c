/*
 * test_notify_parse.c: sqlroute_listen_statements, the statement splitter notify.c uses to find the
 * LISTEN/UNLISTEN statements a client sends to a server: several statements, quoted identifiers,
 * comments, strings and dollar quotes that merely contain the words, UNLISTEN *, unlexable text; and
 * notify_parse_lone, which recognises the lone LISTEN/UNLISTEN the pooler answers itself.
 */
#include <string.h>

#include "notify.h"
#include "sqlroute.h"
#include "tap.h"

static void
check(const char *sql, const char *expected, const char *name)
{
	RouteListenOp ops[8];
	char		got[256] = "";
	int			n = sqlroute_listen_statements(sql, strlen(sql), true, ops, 8);

	if (n < 0)
		strcpy(got, "error");
	for (int i = 0; i < n && i < 8; i++)
	{
		size_t		l = strlen(got);

		snprintf(got + l, sizeof(got) - l, "%s%c:%s", i ? " " : "", ops[i].kind, ops[i].channel);
	}
	tap_is_str(got, expected, name);
}

/* lone: notify_parse_lone's answer as "L:name", "U:*" or "-". */
static void
lone(const char *sql, const char *expected, const char *name)
{
	char		channel[64];
	char		got[80] = "-";
	char		kind = notify_parse_lone(sql, channel, sizeof(channel));

	if (kind)
		snprintf(got, sizeof(got), "%c:%s", kind, channel);
	tap_is_str(got, expected, name);
}

static void
test_lone(void)
{
	char		sql[128] = "LISTEN ";

	lone("LISTEN Ch", "L:ch", "lone: LISTEN, folded");
	lone("  unlisten \"My\"\"C\" ;  ", "U:My\"C", "lone: UNLISTEN of a quoted name, trailing ';'");
	lone("UNLISTEN *", "U:*", "lone: UNLISTEN *");
	lone("LISTEN *", "-", "lone: LISTEN * is no statement");
	lone("LISTEN a; SELECT 1", "-", "lone: more statements");
	lone("LISTENa", "-", "lone: another word");
	lone("LISTEN U&\"a\"", "-", "lone: a U& name is left to the server");
	/* comments: read with sqlscan.c since issue 18 (before, any comment sent it to the server) */
	lone("/* c */ LISTEN /* d */ q -- e", "L:q", "lone: comments around it");
	lone("LISTEN/**/\"x\"", "L:x", "lone: a comment as the only separator");
	lone("LISTEN q /* unterminated", "-", "lone: an unterminated comment");
	memset(sql + 7, 'c', 70);
	sql[77] = '\0';
	lone(sql, "-", "lone: a name the server would cut (with a NOTICE) is left to it");
	/* sqlroute_listen_statements cuts as the server does: 62 bytes and a 2-byte character do not fit */
	memset(sql + 7, 'c', 62);
	strcpy(sql + 69, "\xc3\xa9");
	{
		RouteListenOp ops[1];

		tap_is_long(sqlroute_listen_statements(sql, strlen(sql), true, ops, 1), 1, "a 64-byte name");
		tap_is_long((long) strlen(ops[0].channel), 62, "… cut before the character that would be split");
	}
}

int
main(void)
{
	test_lone();
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
	check("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; LISTEN x; END; LISTEN y", "L:y",
		  "a BEGIN ATOMIC body starts no statement (sqlscan.c's split since issue 18)");
	return tap_done();
}
