/*
 * test_sqlroute.c: unit tests for sqlroute.c: the statement corpus in route_corpus.txt (class of each
 * statement), the result flags (transaction control, hints, multi-statement, session SET), lexer
 * corner cases that depend on standard_conforming_strings, huge inputs, and the volatility table
 * (merging of overloads and schemas, case rules, operators, swapping).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlroute.h"
#include "tap.h"

/* build_volatility: a slice of pg_proc as the pooler would load it, plus faregate's functions. */
static RouteVolatility *
build_volatility(void)
{
	static const struct
	{
		const char *schema;
		const char *name;
		char		vol;
	}			procs[] = {
		{"pg_catalog", "count", 'i'}, {"pg_catalog", "sum", 'i'}, {"pg_catalog", "avg", 'i'},
		{"pg_catalog", "max", 'i'}, {"pg_catalog", "now", 's'}, {"pg_catalog", "lower", 'i'},
		{"pg_catalog", "upper", 'i'}, {"pg_catalog", "generate_series", 'i'},
		{"pg_catalog", "generate_series", 's'}, {"pg_catalog", "rank", 'i'},
		{"pg_catalog", "percentile_cont", 'i'}, {"pg_catalog", "version", 's'},
		{"pg_catalog", "current_setting", 's'}, {"pg_catalog", "int4", 'i'},
		{"pg_catalog", "jsonb_build_object", 's'}, {"pg_catalog", "string_agg", 'i'},
		{"pg_catalog", "nextval", 'v'}, {"pg_catalog", "setval", 'v'}, {"pg_catalog", "currval", 'v'},
		{"pg_catalog", "lastval", 'v'}, {"pg_catalog", "pg_advisory_lock", 'v'},
		{"pg_catalog", "pg_try_advisory_lock", 'v'}, {"pg_catalog", "pg_advisory_xact_lock", 'v'},
		{"pg_catalog", "pg_advisory_unlock_all", 'v'}, {"pg_catalog", "set_config", 'v'},
		{"pg_catalog", "pg_notify", 'v'}, {"pg_catalog", "txid_current", 's'},
		{"pg_catalog", "pg_current_xact_id", 's'}, {"pg_catalog", "pg_current_wal_lsn", 'v'},
		{"pg_catalog", "clock_timestamp", 'v'}, {"pg_catalog", "random", 'v'},
		{"pg_catalog", "pg_is_in_recovery", 'v'}, {"pg_catalog", "lo_import", 'v'},
		{"pg_catalog", "date_part", 'i'}, {"pg_catalog", "extract", 's'},
		{"pg_catalog", "json_to_record", 's'}, {"pg_catalog", "unnest", 'i'},
		{"pg_catalog", "row_number", 'i'}, {"pg_catalog", "lag", 'i'}, {"pg_catalog", "current_schema", 's'},
		{"pg_catalog", "position", 'i'}, {"pg_catalog", "hashtext", 'i'},
		{"faregate", "fare", 's'}, {"faregate", "enqueue", 'v'}, {"faregate", "queue_position", 's'},
		{"other", "fare", 'v'},
		{"public", "stable_fn", 's'}, {"public", "immutable_fn", 'i'},
		{"public", "overloaded_fn", 'i'}, {"app", "overloaded_fn", 'v'},
	};
	RouteVolatility *vt = sqlroute_volatility_create();

	if (!vt)
		return NULL;
	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
		if (!sqlroute_volatility_add(vt, procs[i].schema, procs[i].name, procs[i].vol))
			return NULL;
	if (!sqlroute_volatility_add_operator(vt, "public", "===", 'v') ||
		!sqlroute_volatility_add_operator(vt, "pg_catalog", "=", 'i'))
		return NULL;
	return vt;
}

/* corpus_path: route_corpus.txt next to this source, found from the binary (in test/unit/build or build-asan). */
static void
corpus_path(char *buf, size_t size)
{
	char		exe[PATH_MAX];
	ssize_t		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char	   *slash;

	if (n > 0)
	{
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
		{
			*slash = '\0';
			snprintf(buf, size, "%s/../route_corpus.txt", exe);
			if (access(buf, R_OK) == 0)
				return;
		}
	}
	snprintf(buf, size, "test/unit/route_corpus.txt");
}

/* test_set_kept: the test's stand-in for session.c's session_set_kept. */
static bool
test_set_kept(const char *name, bool value_plain)
{
	return strcmp(name, "application_name") == 0 || strcmp(name, "search_path") == 0 ||
		(strncmp(name, "myapp.", 6) == 0 && value_plain);
}

/*
 * session_state_oracle: whether sqlroute_session_statements (the walk session.c notes state with) finds
 * state the pooler cannot carry in sql, as session.c decided it before sqlroute_classify reported
 * ROUTE_F_SESSION_STATE from its own walk.
 */
static bool
session_state_oracle(const char *sql, size_t len, bool scs)
{
	RouteSessionOp ops[32];
	int			n = sqlroute_session_statements(sql, len, scs, ops, 32);

	if (n > 32)
		return true;
	for (int i = 0; i < n; i++)
	{
		if (ops[i].kind == RS_ROLE || ops[i].kind == RS_LOCK || ops[i].kind == RS_HOLD_CURSOR ||
			ops[i].kind == RS_TEMP)
			return true;
		if (ops[i].kind == RS_SET && !test_set_kept(ops[i].name, ops[i].value_plain))
			return true;
	}
	return false;
}

/* check_session_state: sqlroute_classify's ROUTE_F_SESSION_STATE agrees with session_state_oracle. */
static void
check_session_state(const char *sql, size_t len, const RouteContext *ctx, const char *name)
{
	RouteContext kept = *ctx;
	RouteResult res;
	bool		want = session_state_oracle(sql, len, ctx->standard_conforming_strings);

	kept.set_kept = test_set_kept;
	sqlroute_classify(sql, len, &kept, &res);
	if (res.flags & ROUTE_F_UNPARSABLE)
		return;					/* sqlroute_session_statements gives -1: nothing is noted */
	if (!tap_ok(((res.flags & ROUTE_F_SESSION_STATE) != 0) == want, name))
		printf("#   session state: classifier %d, sqlroute_session_statements %d\n",
			   (res.flags & ROUTE_F_SESSION_STATE) != 0, want);
}

/* test_session_state_flag: ROUTE_F_SESSION_STATE on texts that create, clear or only look like state. */
static void
test_session_state_flag(const RouteContext *ctx)
{
	static const char *const texts[] = {
		"SET work_mem = '64MB'", "SET application_name = 'x'", "SET search_path = a, b",
		"SET myapp.tenant = 7", "SET myapp.tenant = 7 + 1", "SET myapp.tenant TO DEFAULT",
		"SET SESSION myapp.tenant = 'a'", "SET ROLE app", "SET ROLE NONE", "RESET ROLE",
		"SET SESSION AUTHORIZATION u", "SET SESSION AUTHORIZATION DEFAULT",
		"SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "SET LOCAL work_mem = 1",
		"SET TIME ZONE 'UTC'", "SET NAMES 'UTF8'", "SET SCHEMA 'a'", "SET XML OPTION DOCUMENT",
		"/*+ faregate:replica */ SELECT pg_advisory_lock(1)", "SELECT pg_catalog.pg_try_advisory_lock(1)",
		"SELECT pg_advisory_unlock(1)", "SELECT pg_advisory_xact_lock(1)", "SELECT pg_advisory_unlock_all()",
		"SELECT set_config('work_mem', '1MB', false)", "SELECT set_config('work_mem', '1MB', true)",
		"SELECT set_config('myapp.tenant', '1', false)", "SELECT set_config('myapp.tenant', x, false)",
		"SELECT set_config('application_name', 'a', false)", "SELECT set_config(", "SELECT set_config('a'",
		"SELECT set_config('a', 'b', false); SELECT 1", "SELECT 'pg_advisory_lock(1)'",
		"SELECT \"pg_advisory_lock\"(1)", "SELECT 1; SELECT pg_advisory_lock(2)",
		"DECLARE c CURSOR WITH HOLD FOR SELECT 1", "DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1",
		"CREATE TEMP TABLE t (a int)", "CREATE TABLE t (a int)", "SELECT 1 INTO TEMP t",
		"SELECT 1 INTO LOCAL TEMPORARY t", "DISCARD ALL", "CLOSE ALL", "RESET ALL", "RESET work_mem",
		"SELECT 1 /* SET ROLE x */", "SET work_mem = 1; SET ROLE a; SELECT 1",
		"EXPLAIN SELECT pg_advisory_lock(1)", "WITH x AS (SELECT pg_advisory_lock(1)) SELECT * FROM x",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		char		name[160];

		snprintf(name, sizeof(name), "session state flag: %s", texts[i]);
		check_session_state(texts[i], strlen(texts[i]), ctx, name);
	}
}

/* run_corpus: one test per corpus line. Returns the number of statements checked. */
static int
run_corpus(const RouteContext *ctx)
{
	char		path[PATH_MAX + 64];
	FILE	   *f;
	static char sql[1 << 16];
	char		line[4096];
	size_t		sql_len = 0;
	char		expected = 0;
	int			lineno = 0;
	int			start_line = 0;
	int			checked = 0;

	corpus_path(path, sizeof(path));
	f = fopen(path, "r");
	if (!tap_ok(f != NULL, "corpus file opens"))
	{
		printf("#   path: %s\n", path);
		return 0;
	}
	while (fgets(line, sizeof(line), f))
	{
		size_t		len = strlen(line);
		bool		continued;

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!expected)
		{
			if (len == 0 || line[0] == '#')
				continue;
			if (len < 2 || line[1] != '|' || !strchr("RWS", line[0]))
			{
				printf("# corpus line %d is malformed: %s\n", lineno, line);
				tap_ok(false, "corpus line well-formed");
				continue;
			}
			expected = line[0];
			start_line = lineno;
			sql_len = 0;
			memmove(line, line + 2, len - 1);
			len -= 2;
		}
		continued = len > 0 && line[len - 1] == '\\';
		if (continued)
			line[--len] = '\0';
		memcpy(sql + sql_len, line, len);
		sql_len += len;
		if (continued)
		{
			sql[sql_len++] = '\n';
			continue;
		}
		{
			RouteResult res;
			const char *want = expected == 'R' ? "read" : expected == 'W' ? "write" : "session_set";
			char		name[160];
			int			shown = sql_len > 100 ? 100 : (int) sql_len;

			sqlroute_classify(sql, sql_len, ctx, &res);
			snprintf(name, sizeof(name), "corpus:%d %.*s", start_line, shown, sql);
			for (char *c = name; *c; c++)
				if (*c == '\n')
					*c = ' ';
			if (!tap_is_str(sqlroute_class_name(res.route_class), want, name))
				printf("#   reason: %s (%s)\n", res.reason, res.object);
			snprintf(name, sizeof(name), "session state flag, corpus:%d", start_line);
			check_session_state(sql, sql_len, ctx, name);
			checked++;
		}
		expected = 0;
	}
	fclose(f);
	return checked;
}

static RouteResult
classify(const char *sql, const RouteContext *ctx)
{
	RouteResult res;

	sqlroute_classify(sql, strlen(sql), ctx, &res);
	return res;
}

static void
check_flags(const char *sql, const RouteContext *ctx, uint32_t want_set, uint32_t want_clear)
{
	RouteResult res = classify(sql, ctx);
	char		name[200];

	snprintf(name, sizeof(name), "flags of: %s", sql);
	if (!tap_ok((res.flags & want_set) == want_set && (res.flags & want_clear) == 0, name))
		printf("#   flags 0x%x, want set 0x%x, clear 0x%x\n", res.flags, want_set, want_clear);
}

static void
test_flags(const RouteContext *ctx)
{
	RouteResult res;

	check_flags("BEGIN", ctx, ROUTE_F_BEGIN, ROUTE_F_READ_ONLY_TXN | ROUTE_F_MULTI);
	check_flags("START TRANSACTION READ ONLY", ctx, ROUTE_F_BEGIN | ROUTE_F_READ_ONLY_TXN, 0);
	check_flags("BEGIN READ ONLY", ctx, ROUTE_F_BEGIN | ROUTE_F_READ_ONLY_TXN, 0);
	check_flags("SET TRANSACTION READ ONLY", ctx, ROUTE_F_READ_ONLY_TXN | ROUTE_F_SET_TXN, ROUTE_F_BEGIN);
	check_flags("BEGIN READ WRITE", ctx, ROUTE_F_BEGIN, ROUTE_F_READ_ONLY_TXN);
	check_flags("COMMIT", ctx, ROUTE_F_COMMIT, ROUTE_F_ROLLBACK);
	check_flags("END TRANSACTION", ctx, ROUTE_F_COMMIT, 0);
	check_flags("COMMIT PREPARED 'x'", ctx, 0, ROUTE_F_COMMIT);
	check_flags("ROLLBACK", ctx, ROUTE_F_ROLLBACK, ROUTE_F_COMMIT);
	check_flags("ABORT WORK", ctx, ROUTE_F_ROLLBACK, 0);
	check_flags("ROLLBACK TO SAVEPOINT a", ctx, 0, ROUTE_F_ROLLBACK);
	check_flags("ROLLBACK WORK TO a", ctx, 0, ROUTE_F_ROLLBACK);
	check_flags("BEGIN; UPDATE t SET a = 1; COMMIT", ctx, ROUTE_F_BEGIN | ROUTE_F_COMMIT | ROUTE_F_MULTI, 0);
	check_flags("/* faregate:primary */ SELECT 1", ctx, ROUTE_F_HINT_PRIMARY, ROUTE_F_HINT_REPLICA);
	check_flags("/* faregate:replica */ SELECT 1", ctx, ROUTE_F_HINT_REPLICA, ROUTE_F_HINT_PRIMARY);
	check_flags("SELECT 1 /* faregate:primary */", ctx, 0, ROUTE_F_HINT_PRIMARY);
	check_flags("SET search_path = x", ctx, ROUTE_F_SESSION_SET, ROUTE_F_SET_TXN);
	check_flags("SET LOCAL search_path = x", ctx, ROUTE_F_SET_TXN, ROUTE_F_SESSION_SET);
	check_flags("RESET ALL", ctx, ROUTE_F_SESSION_SET, 0);
	check_flags("", ctx, ROUTE_F_EMPTY, ROUTE_F_UNPARSABLE);
	check_flags(" ; -- x", ctx, ROUTE_F_EMPTY, 0);
	check_flags("SELECT 'x", ctx, ROUTE_F_UNPARSABLE, ROUTE_F_EMPTY);
	check_flags("SELECT 1; SELECT 2", ctx, ROUTE_F_MULTI, 0);
	check_flags("SELECT 1;", ctx, 0, ROUTE_F_MULTI);
	check_flags("LISTEN x", ctx, ROUTE_F_LISTEN, 0);
	check_flags("CREATE TEMP TABLE x (a int)", ctx, ROUTE_F_TEMP_OBJECT, 0);
	check_flags("CREATE LOCAL TEMPORARY TABLE x (a int)", ctx, ROUTE_F_TEMP_OBJECT, 0);
	check_flags("SELECT 1 INTO TEMP x", ctx, ROUTE_F_TEMP_OBJECT, 0);
	check_flags("CREATE TABLE temp (a int)", ctx, 0, 0);

	res = classify("SELECT 1; UPDATE t SET a = 1; SELECT 3", ctx);
	tap_is_long(res.statements, 3, "three statements counted");
	tap_is_str(res.object, "UPDATE", "object names the statement that decided");
	res = classify("SELECT nextval('s')", ctx);
	tap_is_str(res.object, "nextval", "object names the volatile function");
	tap_is_str(res.reason, "volatile function", "reason for nextval");
	res = classify("SELECT Faregate.Enqueue('q', 1)", ctx);
	tap_is_str(res.object, "enqueue", "unquoted names are down-cased");
	res = classify("SELECT no_such_fn()", ctx);
	tap_is_str(res.reason, "unknown function (not in the volatility table)", "reason for an unknown function");
	res = classify("SELECT 1", ctx);
	tap_is_str(res.reason, "read-only query", "reason for a read");
	tap_is_str(res.object, "", "no object for a read");
}

static void
test_standard_strings(void)
{
	RouteContext off = {.volatility = NULL, .standard_conforming_strings = false};
	RouteContext on = {.volatility = NULL, .standard_conforming_strings = true};

	/* 'a\' is a whole string with standard_conforming_strings on, an unterminated one with it off */
	tap_is_long(sqlroute_classify("SELECT 'a\\'", 11, &on, NULL), ROUTE_READ, "scs on: backslash is plain");
	tap_is_long(sqlroute_classify("SELECT 'a\\'", 11, &off, NULL), ROUTE_WRITE,
				"scs off: backslash escapes the quote (unterminated)");
	/* what hides a keyword under one setting exposes it under the other */
	{
		const char *sql = "SELECT 'x\\'; DELETE FROM t; SELECT '";

		tap_is_long(sqlroute_classify(sql, strlen(sql), &on, NULL), ROUTE_WRITE,
					"scs on: DELETE after the string is seen");
		tap_is_long(sqlroute_classify(sql, strlen(sql), &off, NULL), ROUTE_READ,
					"scs off: DELETE is inside the string");
	}
	tap_is_long(sqlroute_classify("SELECT E'a\\'b'", 14, &on, NULL), ROUTE_READ, "E'' escapes under scs on");
	tap_is_long(sqlroute_classify("SELECT U&'a'", 12, &off, NULL), ROUTE_WRITE,
				"U&'' with scs off is an error in PostgreSQL: write");
	tap_is_long(sqlroute_classify("SELECT N'a\\' UPDATE '", 21, &off, NULL), ROUTE_READ,
				"scs off: N'' follows the setting");
	tap_is_long(sqlroute_classify("SELECT 1", 8, NULL, NULL), ROUTE_READ, "NULL context works");
	tap_is_long(sqlroute_classify(NULL, 0, NULL, NULL), ROUTE_READ, "NULL text of length 0 is an empty query");

	/* string continuation ('a' newline 'b' is one constant) keeps the first segment's escaping */
	{
		static const struct
		{
			const char *sql;
			RouteClass	want;
			const char *name;
		}			cases[] = {
			{"SELECT E'x'\n'\\' ' ; DELETE FROM t; --'", ROUTE_WRITE,
			 "E'' continuation: \\' is escaped, the DELETE after the string is real"},
			{"SELECT E'x'\n'\\' ; DELETE FROM t; --'", ROUTE_READ,
			 "E'' continuation: the DELETE is inside the string"},
			{"SELECT E'x' -- comment\n  '\\' ; DELETE FROM t; --'", ROUTE_READ,
			 "continuation across a -- comment and a newline"},
			{"SELECT E'x'\r\n\t'\\' ; DELETE FROM t; --'", ROUTE_READ, "continuation across CR LF and a tab"},
			{"SELECT E'x' '\\' ; DELETE FROM t; --'", ROUTE_WRITE, "no newline: not a continuation"},
			{"SELECT E'x' /* c */\n'\\' ; DELETE FROM t; --'", ROUTE_WRITE,
			 "a block comment breaks a continuation"},
			{"SELECT 'a'\n'b\\' ; DELETE FROM t", ROUTE_WRITE, "standard continuation stays standard"},
			{"SELECT\t1\r\nFROM\ft\vWHERE\n\n a = 1", ROUTE_READ, "tabs, CR LF, form feed, vertical tab"},
			{"\n\n  \t SELECT 1 \n\n", ROUTE_READ, "leading and trailing blank lines"},
			{"UPDATE\tt\nSET a = 1", ROUTE_WRITE, "UPDATE separated by a tab"},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			tap_is_str(sqlroute_class_name(sqlroute_classify(cases[i].sql, strlen(cases[i].sql), &on, NULL)),
					   sqlroute_class_name(cases[i].want), cases[i].name);
	}
}

static void
test_lengths(const RouteContext *ctx)
{
	size_t		big = 4 * 1024 * 1024;
	char	   *sql = malloc(big + 64);
	size_t		n = 0;

	/* a huge read: SELECT 1+1+1+... with comments and strings, then a huge IN list */
	n += (size_t) sprintf(sql, "SELECT count(*) FROM t WHERE a IN (");
	while (n < big - 32)
		n += (size_t) sprintf(sql + n, "'v%zu' /* c */, ", n);
	n += (size_t) sprintf(sql + n, "'end')");
	tap_is_long(sqlroute_classify(sql, n, ctx, NULL), ROUTE_READ, "4 MB IN list: read");
	n += (size_t) sprintf(sql + n, " FOR UPDATE");
	tap_is_long(sqlroute_classify(sql, n, ctx, NULL), ROUTE_WRITE, "4 MB IN list FOR UPDATE: write");

	/* deep nesting beyond the classifier's stack: write, never a crash */
	n = (size_t) sprintf(sql, "SELECT ");
	for (int i = 0; i < 10000; i++)
		sql[n++] = '(';
	sql[n++] = '1';
	for (int i = 0; i < 10000; i++)
		sql[n++] = ')';
	tap_is_long(sqlroute_classify(sql, n, ctx, NULL), ROUTE_WRITE, "10,000 nested parentheses: write");
	n = (size_t) sprintf(sql, "SELECT ((((((((((1))))))))))");
	tap_is_long(sqlroute_classify(sql, n, ctx, NULL), ROUTE_READ, "10 nested parentheses: read");

	/* the length is honoured: text after len does not count, no NUL needed */
	memcpy(sql, "SELECT 1; DELETE FROM t", 23);
	tap_is_long(sqlroute_classify(sql, 9, ctx, NULL), ROUTE_READ, "bytes after len are ignored");
	memcpy(sql, "SELECT 'abc", 11);
	tap_is_long(sqlroute_classify(sql, 11, ctx, NULL), ROUTE_WRITE, "unterminated at len: write");
	memcpy(sql, "SELECT 1\0; DELETE", 17);
	tap_is_long(sqlroute_classify(sql, 17, ctx, NULL), ROUTE_WRITE, "a NUL byte inside the text: write");
	free(sql);
}

static void
test_volatility_table(void)
{
	RouteVolatility *vt = sqlroute_volatility_create();
	RouteVolatility *vt2;
	RouteContext ctx = {.volatility = NULL, .standard_conforming_strings = true};

	tap_ok(vt != NULL, "volatility table created");
	tap_ok(sqlroute_volatility_add(vt, "s1", "f", 'i'), "add s1.f immutable");
	tap_ok(sqlroute_volatility_add(vt, "s1", "f", 's'), "add overload s1.f stable");
	tap_ok(sqlroute_volatility_add(vt, "s2", "f", 'i'), "add s2.f immutable");
	tap_ok(sqlroute_volatility_add(vt, "s1", "Mixed", 'i'), "add s1.\"Mixed\"");
	tap_is_long(sqlroute_volatility_lookup(vt, "s1", 2, "f", 1), 's', "overloads merge to the most volatile");
	tap_is_long(sqlroute_volatility_lookup(vt, "s2", 2, "f", 1), 'i', "other schema keeps its own");
	tap_is_long(sqlroute_volatility_lookup(vt, NULL, 0, "f", 1), 's', "unqualified merges all schemas");
	tap_is_long(sqlroute_volatility_lookup(vt, "s3", 2, "f", 1), 0, "unknown schema");
	tap_is_long(sqlroute_volatility_lookup(vt, NULL, 0, "Mixed", 5), 'i', "case-exact lookup");
	tap_is_long(sqlroute_volatility_lookup(vt, NULL, 0, "mixed", 5), 0, "case matters");
	tap_is_long((long) sqlroute_volatility_count(vt), 3, "three distinct schema.name keys");
	tap_ok(sqlroute_volatility_add(vt, "s1", "f", 'x'), "unknown volatility letter");
	tap_is_long(sqlroute_volatility_lookup(vt, "s1", 2, "f", 1), 'v', "unknown letters count as volatile");

	ctx.volatility = vt;
	tap_is_long(sqlroute_classify("SELECT s2.f()", 13, &ctx, NULL), ROUTE_READ, "s2.f is immutable");
	tap_is_long(sqlroute_classify("SELECT f()", 10, &ctx, NULL), ROUTE_WRITE, "f is volatile in some schema");
	tap_is_long(sqlroute_classify("SELECT s1.\"Mixed\"()", 19, &ctx, NULL), ROUTE_READ, "quoted name exact");
	tap_is_long(sqlroute_classify("SELECT s1.Mixed()", 17, &ctx, NULL), ROUTE_WRITE, "unquoted is down-cased");

	/* growth: many functions, then the swap a reload does */
	vt2 = sqlroute_volatility_create();
	for (int i = 0; i < 20000; i++)
	{
		char		name[32];

		snprintf(name, sizeof(name), "fn_%d", i);
		if (!sqlroute_volatility_add(vt2, "bulk", name, i % 2 ? 's' : 'v'))
			break;
	}
	tap_is_long((long) sqlroute_volatility_count(vt2), 20000, "20,000 functions added");
	tap_is_long(sqlroute_volatility_lookup(vt2, "bulk", 4, "fn_19999", 8), 's', "last one found");
	tap_is_long(sqlroute_volatility_lookup(vt2, "bulk", 4, "fn_19998", 8), 'v', "volatile one found");
	ctx.volatility = vt2;
	sqlroute_volatility_free(vt);
	tap_is_long(sqlroute_classify("SELECT bulk.fn_1()", 18, &ctx, NULL), ROUTE_READ, "after the swap: new table");
	tap_is_long(sqlroute_classify("SELECT s2.f()", 13, &ctx, NULL), ROUTE_WRITE, "after the swap: old entries gone");
	sqlroute_volatility_free(vt2);
	sqlroute_volatility_free(NULL);
	tap_is_long((long) sqlroute_volatility_count(NULL), 0, "count of NULL table");

	/* long names are truncated to 63 bytes, as PostgreSQL does */
	vt = sqlroute_volatility_create();
	tap_ok(sqlroute_volatility_add(vt, "public",
								"a123456789012345678901234567890123456789012345678901234567890123456789", 'i'),
		   "add a 70-byte name");
	ctx.volatility = vt;
	{
		const char *sql = "SELECT a1234567890123456789012345678901234567890123456789012345678901234567899()";

		tap_is_long(sqlroute_classify(sql, strlen(sql), &ctx, NULL), ROUTE_READ,
					"names match on their first 63 bytes");
	}
	sqlroute_volatility_free(vt);
}

/*
 * describe_ops: sqlroute_session_statements' facts as one line ("kind:name=value;..."; value "?" when not
 * plain, "DEFAULT" for TO DEFAULT), for compact expectations.
 */
static void
describe_ops(const char *sql, char *out, size_t outlen)
{
	static const char *const kinds[] = {"set", "reset", "reset_all", "role", "role_reset", "lock", "unlock",
		"unlock_all", "hold", "close", "close_all", "temp", "discard_temp", "discard_all"};
	RouteSessionOp ops[8];
	int			n = sqlroute_session_statements(sql, strlen(sql), true, ops, 8);
	size_t		len = 0;

	out[0] = '\0';
	if (n < 0)
	{
		snprintf(out, outlen, "error");
		return;
	}
	for (int i = 0; i < n && i < 8; i++)
	{
		const RouteSessionOp *op = &ops[i];

		len += (size_t) snprintf(out + len, outlen - len, "%s%s", i ? ";" : "", kinds[op->kind]);
		if (op->name[0])
			len += (size_t) snprintf(out + len, outlen - len, ":%s", op->name);
		if (op->kind == RS_SET)
			len += (size_t) snprintf(out + len, outlen - len, "=%s", op->to_default ? "DEFAULT" :
									 op->value_plain ? op->value : "?");
	}
}

/* test_session_statements: what sqlroute_session_statements reports (session.c acts on it). */
static void
test_session_statements(void)
{
	static const char *const cases[][2] = {
		{"SET statement_timeout = '5s'", "set:statement_timeout=5s"},
		{"set SESSION Lock_Timeout TO 3000", "set:lock_timeout=3000"},
		{"SET extra_float_digits = -1", "set:extra_float_digits=-1"},
		{"SET work_mem TO DEFAULT", "set:work_mem=DEFAULT"},
		{"SET DateStyle = ISO, MDY", "set:datestyle=?"},
		{"SET myapp.tenant = 'it''s'", "set:myapp.tenant=it's"},
		{"SET \"Mixed\" = on", "set:Mixed=on"},
		{"SET LOCAL work_mem = '1MB'; SET TRANSACTION READ ONLY", ""},
		{"SET TIME ZONE 'UTC'; SET NAMES 'UTF8'", ""},
		{"SET SCHEMA 'x'", "set:schema=?"},
		{"RESET work_mem; RESET ALL; DISCARD ALL; DISCARD TEMP", "reset:work_mem;reset_all;discard_all;discard_temp"},
		{"SET ROLE r; SET ROLE NONE; RESET ROLE", "role;role_reset;role_reset"},
		{"SET SESSION AUTHORIZATION u; SET SESSION AUTHORIZATION DEFAULT; RESET SESSION AUTHORIZATION",
		"role;role_reset;role_reset"},
		{"SELECT pg_advisory_lock(1), pg_catalog.pg_try_advisory_lock_shared(2)",
		"lock:pg_advisory_lock;lock:pg_try_advisory_lock_shared"},
		{"SELECT pg_advisory_xact_lock(1)", ""},
		{"SELECT pg_advisory_unlock(1); SELECT pg_advisory_unlock_all()", "unlock:pg_advisory_unlock;unlock_all"},
		{"SELECT 'pg_advisory_lock(1)' -- pg_advisory_lock(2)\n, $$pg_advisory_lock(3)$$", ""},
		{"DECLARE c CURSOR WITH HOLD FOR SELECT 1; DECLARE d CURSOR FOR SELECT 1", "hold:c"},
		{"CLOSE c; CLOSE ALL", "close:c;close_all"},
		{"CREATE TEMP TABLE t (x int); CREATE TABLE u (x int)", "temp"},
		{"CREATE LOCAL TEMPORARY VIEW v AS SELECT 1", "temp"},
		{"SELECT 1 INTO TEMP t2", "temp"},
		{"SELECT set_config('statement_timeout', '2s', false)", "set:statement_timeout=2s"},
		{"SELECT set_config('work_mem', '2MB', true)", ""},
		{"SELECT set_config(name, value, false) FROM t", "set:set_config=?"},
		{"SELECT 'unterminated", "error"},
	};
	char		got[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		name[200];

		describe_ops(cases[i][0], got, sizeof(got));
		snprintf(name, sizeof(name), "session facts of: %.120s", cases[i][0]);
		for (char *c = name; *c; c++)
			if (*c == '\n')
				*c = ' ';
		tap_is_str(got, cases[i][1], name);
	}
}

int
main(void)
{
	RouteVolatility *vt = build_volatility();
	RouteContext ctx = {.volatility = vt, .standard_conforming_strings = true};
	int			checked;

	tap_ok(sqlroute_selftest(), "keyword table sorted");
	tap_ok(vt != NULL, "test volatility table built");
	checked = run_corpus(&ctx);
	tap_ok(checked >= 200, "corpus holds at least 200 statements");
	printf("# corpus statements: %d\n", checked);
	test_flags(&ctx);
	test_standard_strings();
	test_lengths(&ctx);
	test_volatility_table();
	test_session_statements();
	test_session_state_flag(&ctx);
	sqlroute_volatility_free(vt);
	return tap_done();
}
