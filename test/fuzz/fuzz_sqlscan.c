/*
 * fuzz_sqlscan.c: libFuzzer target holding every reader of SQL text to sqlscan.c's statement split, so
 * that no module can come to read a comment, a string or a statement boundary differently (issue 18).
 * The first input byte picks standard_conforming_strings; the rest is the text. Besides "never crashes,
 * never reads out of bounds" (ASan, UBSan) it checks, with S = sqlscan_statements(text) (-1: unscannable):
 *  - sqlroute_classify: S < 0 => unparsable (a write); S >= 0 => it counted S statements;
 *  - sqlroute_listen_statements, sqlroute_session_statements: -1 exactly when S < 0; at most S LISTENs;
 *  - on the text up to its first NUL (the C-string readers):
 *    notify_parse_lone: only one statement whose first word is LISTEN/UNLISTEN, and the same kind and
 *    channel as sqlroute_listen_statements finds; prepared_parse_deallocate: one statement, first word
 *    DEALLOCATE; params_parse_set: a recognised statement starts with SET, RESET, DISCARD or SELECT
 *    (the SELECT set_config form alone in its text);
 *  - sqlscan with keep_comments sees the same tokens plus comments, and comments only where blanks are.
 * Run by test/fuzz/run.sh with the seeds in test/fuzz/corpus/sqlscan/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "params.h"
#include "prepared.h"
#include "sqlroute.h"
#include "sqlscan.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* check_routers: sqlroute.c's three walkers against the split S of the len bytes at text. */
static void
check_routers(const char *text, size_t len, bool scs, int statements)
{
	RouteContext ctx = {.volatility = NULL, .standard_conforming_strings = scs};
	RouteResult res;
	RouteListenOp lops[4];
	RouteSessionOp sops[4];
	int			n;

	sqlroute_classify(text, len, &ctx, &res);
	if (statements < 0)
		CHECK((res.flags & ROUTE_F_UNPARSABLE) && res.route_class == ROUTE_WRITE);
	else
		CHECK(res.statements == statements);
	n = sqlroute_listen_statements(text, len, scs, lops, 4);
	CHECK((n < 0) == (statements < 0));
	CHECK(n <= statements);
	n = sqlroute_session_statements(text, len, scs, sops, 4);
	CHECK((n < 0) == (statements < 0));
}

/* check_comments: keep_comments adds comment tokens and changes no other token. */
static void
check_comments(const char *text, size_t len, bool scs)
{
	SqlScanner	plain;
	SqlScanner	kept;
	SqlToken	a;
	SqlToken	b;

	sqlscan_init(&plain, text, len, scs);
	sqlscan_init(&kept, text, len, scs);
	kept.keep_comments = true;
	do
	{
		sqlscan_next(&plain, &a);
		do
			sqlscan_next(&kept, &b);
		while (b.kind == SQLTOK_COMMENT);
		if (a.kind == SQLTOK_ERROR || b.kind == SQLTOK_ERROR)
		{
			/* an unterminated comment is an error for both; the kept scanner may see it at its start */
			CHECK(a.kind == SQLTOK_ERROR && b.kind == SQLTOK_ERROR);
			return;
		}
		CHECK(a.kind == b.kind && a.s == b.s && a.len == b.len && a.flags == b.flags);
	} while (a.kind != SQLTOK_EOF);
}

/* check_cstring_readers: the readers of NUL-terminated text (client.c's, notify.c's, prepared.c's). */
static void
check_cstring_readers(const char *text, bool scs)
{
	int			statements = sqlscan_statements(text, strlen(text), scs);
	char		channel[64];
	char		name[96];
	char		value[1024];
	char		kind = notify_parse_lone(text, channel, sizeof(channel));
	int			id;

	if (kind)
	{
		RouteListenOp op;

		CHECK(statements == 1);
		CHECK(sqlscan_first_word(text, scs, kind == 'L' ? "listen" : "unlisten"));
		CHECK(sqlroute_listen_statements(text, strlen(text), scs, &op, 1) == 1);
		CHECK(op.kind == kind && strcmp(op.channel, channel) == 0);
	}
	if (prepared_parse_deallocate(text, name, sizeof(name)) != PREPARED_DEALLOC_NONE)
		CHECK(statements == 1 && sqlscan_first_word(text, scs, "deallocate"));
	id = params_parse_set(text, scs, value, sizeof(value));
	if (id != -1)
	{
		CHECK(sqlscan_first_word(text, scs, "set") || sqlscan_first_word(text, scs, "reset") ||
			  sqlscan_first_word(text, scs, "discard") || sqlscan_first_word(text, scs, "select"));
		if (sqlscan_first_word(text, scs, "select"))
			CHECK(statements == 1);
		CHECK(memchr(value, '\0', sizeof(value)) != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool		scs;
	char	   *buf;
	char	   *cstr;
	int			statements;

	if (size < 1)
		return 0;
	scs = (data[0] & 1) != 0;
	data++;
	size--;
	/* exact-size copy, so ASan sees any read past the end; and a NUL-terminated one */
	buf = malloc(size ? size : 1);
	cstr = malloc(size + 1);
	if (!buf || !cstr)
		abort();
	memcpy(buf, data, size);
	memcpy(cstr, data, size);
	cstr[size] = '\0';

	statements = sqlscan_statements(buf, size, scs);
	check_routers(buf, size, scs, statements);
	check_comments(buf, size, scs);
	check_cstring_readers(cstr, scs);
	free(buf);
	free(cstr);
	return 0;
}
