/*
 * test_proto.c: unit tests of the pooler's pure modules: the wire-format codec (proto.c), the
 * tracked-parameter parser and SET builder (params.c), the prepared-statement maps (prepared.c), and the
 * buffer and object caches (iobuf.c, slab.c).
 */
#include <stdlib.h>
#include <string.h>

#include "iobuf.h"
#include "log.h"
#include "params.h"
#include "prepared.h"
#include "proto.h"
#include "slab.h"
#include "tap.h"

/* startup: builds a StartupMessage with the given pairs into buf. */
static size_t
startup(uint8_t *buf, size_t cap, const char *user, const char *db, int n, const char *const *names,
		const char *const *values)
{
	PktBuf		pkt;

	pktbuf_init(&pkt, buf, cap);
	proto_build_startup(&pkt, user, db, n, names, values);
	return pkt.failed ? 0 : pkt.len;
}

static void
test_framing(void)
{
	uint8_t		msg[] = {'Q', 0, 0, 0, 13, 's', 'e', 'l', 'e', 'c', 't', ' ', '1', 0};
	char		type;
	uint32_t	total;
	uint8_t		bad[] = {'Q', 0, 0, 0, 3};

	tap_is_long(proto_header(msg, 4, &type, &total), 0, "header: 4 bytes are not enough");
	tap_is_long(proto_header(msg, sizeof(msg), &type, &total), 1, "header: complete");
	tap_ok(type == 'Q', "header: type Q");
	tap_is_long(total, 14, "header: total counts the type byte");
	tap_is_long(proto_header(bad, sizeof(bad), &type, &total), -1, "header: length below 4 is refused");
	{
		const char *query;

		tap_ok(proto_read_query(msg, 14, &query) && strcmp(query, "select 1") == 0, "Query text read");
	}
}

static void
test_startup(void)
{
	uint8_t		buf[512];
	StartupInfo info;
	char		err[128];
	const char *names[] = {"application_name", "client_encoding"};
	const char *values[] = {"psql", "UTF8"};
	size_t		len = startup(buf, sizeof(buf), "alice", "shop", 2, names, values);

	tap_ok(len > 0, "startup packet built");
	tap_is_long(proto_get_u32(buf), (long) len, "startup length word");
	tap_is_long(proto_startup_code(buf), PROTO_VERSION_3, "startup code is 3.0");
	tap_ok(proto_parse_startup(buf, len, &info, err, sizeof(err)), "startup parsed");
	tap_is_str(info.user, "alice", "startup user");
	tap_is_str(info.database, "shop", "startup database");
	tap_is_long(info.n_params, 2, "startup: two other parameters");
	tap_is_str(info.values[1], "UTF8", "startup parameter value");

	len = startup(buf, sizeof(buf), "bob", "", 0, NULL, NULL);
	tap_ok(proto_parse_startup(buf, len, &info, err, sizeof(err)) && strcmp(info.database, "bob") == 0,
		   "startup: empty database defaults to the user");

	len = startup(buf, sizeof(buf), "", "x", 0, NULL, NULL);
	tap_ok(!proto_parse_startup(buf, len, &info, err, sizeof(err)) && strstr(err, "user") != NULL,
		   "startup: missing user refused with a reason");

	len = startup(buf, sizeof(buf), "bob", "x", 0, NULL, NULL);
	buf[len - 2] = 'x';
	buf[len - 1] = 'y';			/* no terminating NUL */
	tap_ok(!proto_parse_startup(buf, len, &info, err, sizeof(err)), "startup: unterminated packet refused");

	len = startup(buf, sizeof(buf), "bob", "x", 0, NULL, NULL);
	proto_put_u32(buf + 4, 0x00020000);
	tap_ok(!proto_parse_startup(buf, len, &info, err, sizeof(err)) && strstr(err, "protocol") != NULL,
		   "startup: protocol 2 refused");
	{
		const char *rn[] = {"replication"};
		const char *rv[] = {"true"};

		len = startup(buf, sizeof(buf), "bob", "x", 1, rn, rv);
		tap_ok(!proto_parse_startup(buf, len, &info, err, sizeof(err)), "startup: replication refused");
	}
}

static void
test_cancel(void)
{
	uint8_t		buf[16];
	PktBuf		pkt;
	uint32_t	pid;
	uint32_t	key;

	pktbuf_init(&pkt, buf, sizeof(buf));
	proto_build_cancel(&pkt, 4242, 0xdeadbeef);
	tap_ok(!pkt.failed && pkt.len == 16, "cancel request is 16 bytes");
	tap_ok(proto_parse_cancel(buf, 16, &pid, &key) && pid == 4242 && key == 0xdeadbeef,
		   "cancel request round trip");
	tap_ok(!proto_parse_cancel(buf, 15, &pid, &key), "short cancel request refused");
}

static void
test_builders(void)
{
	uint8_t		buf[512];
	PktBuf		pkt;
	ErrorFields fields;
	const char *name;
	const char *value;
	char		type;
	uint32_t	total;

	pktbuf_init(&pkt, buf, sizeof(buf));
	proto_build_error(&pkt, 'E', "FATAL", "53300", "too many connections", "Raise max_client_conn.");
	tap_ok(!pkt.failed, "ErrorResponse built");
	tap_ok(proto_header(buf, pkt.len, &type, &total) == 1 && type == 'E' && total == pkt.len,
		   "ErrorResponse length word matches");
	tap_ok(proto_read_error(buf, total, &fields), "ErrorResponse parsed back");
	tap_is_str(fields.severity, "FATAL", "ErrorResponse severity");
	tap_is_str(fields.sqlstate, "53300", "ErrorResponse SQLSTATE");
	tap_is_str(fields.message, "too many connections", "ErrorResponse message");

	pktbuf_init(&pkt, buf, sizeof(buf));
	proto_build_param_status(&pkt, "TimeZone", "UTC");
	tap_ok(proto_read_param_status(buf, (uint32_t) pkt.len, &name, &value) && strcmp(name, "TimeZone") == 0 &&
		   strcmp(value, "UTC") == 0, "ParameterStatus round trip");

	pktbuf_init(&pkt, buf, sizeof(buf));
	proto_build_ready(&pkt, 'T');
	tap_ok(pkt.len == 6 && buf[0] == 'Z' && proto_get_u32(buf + 1) == 5 && buf[5] == 'T', "ReadyForQuery 'T'");

	pktbuf_init(&pkt, buf, sizeof(buf));
	proto_build_backend_key(&pkt, 7, 9);
	tap_ok(pkt.len == 13 && proto_get_u32(buf + 5) == 7 && proto_get_u32(buf + 9) == 9, "BackendKeyData");

	pktbuf_init(&pkt, buf, 8);
	proto_build_error(&pkt, 'E', "ERROR", "XX000", "does not fit", NULL);
	tap_ok(pkt.failed, "builder reports overflow instead of writing past the buffer");

	{
		const char *names[] = {"a", "b"};
		const uint32_t types[] = {25, 23};
		const char *values[] = {"x", NULL};

		pktbuf_init(&pkt, buf, sizeof(buf));
		proto_build_row_description(&pkt, 2, names, types);
		tap_ok(!pkt.failed && buf[0] == 'T' && proto_get_u16(buf + 5) == 2, "RowDescription of 2 columns");
		pktbuf_init(&pkt, buf, sizeof(buf));
		proto_build_data_row(&pkt, 2, values);
		tap_ok(!pkt.failed && buf[0] == 'D' && proto_get_u32(buf + 7) == 1 && buf[11] == 'x' &&
			   proto_get_u32(buf + 12) == 0xffffffff, "DataRow with a value and a NULL");
	}
}

static void
test_extended_readers(void)
{
	uint8_t		buf[256];
	PktBuf		pkt;
	const char *name;
	const char *query;
	const char *portal;
	uint32_t	off;
	char		kind;

	pktbuf_init(&pkt, buf, sizeof(buf));
	pkt_begin(&pkt, 'P');
	pkt_put_str(&pkt, "s1");
	pkt_put_str(&pkt, "select $1");
	pkt_put_u16(&pkt, 1);
	pkt_put_u32(&pkt, 23);
	pkt_end(&pkt);
	tap_ok(proto_read_parse(buf, (uint32_t) pkt.len, &name, &query, &off) && strcmp(name, "s1") == 0 &&
		   strcmp(query, "select $1") == 0 && off == 8, "Parse: name, query and body offset");
	tap_ok(!proto_read_parse(buf, 9, &name, &query, &off), "Parse: truncated message refused");

	pktbuf_init(&pkt, buf, sizeof(buf));
	pkt_begin(&pkt, 'B');
	pkt_put_str(&pkt, "");
	pkt_put_str(&pkt, "s1");
	pkt_put_u16(&pkt, 0);
	pkt_put_u16(&pkt, 0);
	pkt_put_u16(&pkt, 0);
	pkt_end(&pkt);
	tap_ok(proto_read_bind(buf, (uint32_t) pkt.len, &portal, &name, &off) && portal[0] == '\0' &&
		   strcmp(name, "s1") == 0 && off == 9, "Bind: portal, statement, offset after the name");

	pktbuf_init(&pkt, buf, sizeof(buf));
	pkt_begin(&pkt, 'D');
	pkt_put_u8(&pkt, 'S');
	pkt_put_str(&pkt, "s1");
	pkt_end(&pkt);
	tap_ok(proto_read_target(buf, (uint32_t) pkt.len, &kind, &name) && kind == 'S' && strcmp(name, "s1") == 0,
		   "Describe statement");
	buf[5] = 'X';
	tap_ok(!proto_read_target(buf, (uint32_t) pkt.len, &kind, &name), "Describe of unknown kind refused");
}

static void
test_quote(void)
{
	char		out[64];

	tap_ok(proto_quote_literal("it's", out, sizeof(out)) && strcmp(out, "'it''s'") == 0, "literal quotes doubled");
	tap_ok(proto_quote_literal("a\\b", out, sizeof(out)) && strcmp(out, "E'a\\\\b'") == 0,
		   "literal with a backslash uses E''");
	tap_ok(!proto_quote_literal("0123456789", out, 8), "literal too long for the buffer refused");
}

static void
test_params(void)
{
	char		value[256];
	ParamSet	client = {{0}};
	ParamSet	server = {{0}};
	char		sql[512];

	tap_is_long(params_parse_set("SET search_path TO app, public", true, value, sizeof(value)), PARAM_SEARCH_PATH,
				"SET search_path TO recognised");
	tap_is_str(value, "\"app\", \"public\"", "SET search_path value rebuilt, every element quoted");
	tap_is_long(params_parse_set("  /* c */ set SESSION search_path = 'x;y'; select 1", true, value, sizeof(value)),
				PARAM_SEARCH_PATH, "SET SESSION search_path = with comment and trailing statement");
	tap_is_str(value, "\"x;y\"", "value stops at the unquoted semicolon; a string element becomes a quoted name");
	tap_is_long(params_parse_set("SET search_path TO $$'$$; INSERT INTO t VALUES (42,'replayed'); --'", true, value,
								 sizeof(value)), PARAM_SEARCH_PATH, "a dollar-quoted element is one string (issue 20)");
	tap_is_str(value, "\"'\"", "… its value only, never the statements after it");
	tap_is_long(params_parse_set("SET search_path = E'a\\'b', \"Q\"\"x\", $t$c$t$ -- tail", true, value, sizeof(value)),
				PARAM_SEARCH_PATH, "E'' escapes, a quoted name and a tagged dollar quote");
	tap_is_str(value, "\"a'b\", \"Q\"\"x\", \"c\"", "… decoded and quoted again");
	tap_is_long(params_parse_set("SET search_path TO 'a\\', b", false, value, sizeof(value)), PARAMS_UNTRACKED,
				"standard_conforming_strings off: 'a\\' is an open string, so the list does not parse");
	tap_is_long(params_parse_set("SET search_path TO 1", true, value, sizeof(value)), PARAMS_UNTRACKED,
				"a number is not tracked");
	tap_is_long(params_parse_set("SET search_path TO U&'x'", true, value, sizeof(value)), PARAMS_UNTRACKED,
				"U&'' is not tracked");
	tap_is_long(params_parse_set("SET search_path TO ''", true, value, sizeof(value)), PARAMS_UNTRACKED,
				"an empty element is not tracked");
	tap_is_long(params_parse_set("SET search_path TO 'unterminated", true, value, sizeof(value)), PARAMS_UNTRACKED,
				"an unterminated string is not tracked");
	{
		char		q[200];
		char		want[80];

		/* 62 'a' then é (2 bytes): cut at 63 bytes would split é, so the name keeps 62 bytes */
		snprintf(q, sizeof(q), "SET search_path TO \"%s\xc3\xa9x\"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		snprintf(want, sizeof(want), "\"%s\"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		tap_is_long(params_parse_set(q, true, value, sizeof(value)), PARAM_SEARCH_PATH, "a long quoted name");
		tap_is_str(value, want, "… cut to 63 bytes as the server does, not inside a UTF-8 character");
		snprintf(q, sizeof(q), "SET search_path TO %sBCDEFGHIJ", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
		snprintf(want, sizeof(want), "\"%s\"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		tap_is_long(params_parse_set(q, true, value, sizeof(value)), PARAM_SEARCH_PATH, "a long unquoted name");
		tap_is_str(value, want, "… folded to lower case and cut to 63 bytes");
	}
	tap_is_long(params_parse_set("SET LOCAL search_path TO x", true, value, sizeof(value)), -1, "SET LOCAL ignored");
	tap_is_long(params_parse_set("SET search_pathx TO x", true, value, sizeof(value)), -1, "other names ignored");
	tap_is_long(params_parse_set("RESET search_path", true, value, sizeof(value)), PARAM_SEARCH_PATH,
				"RESET search_path recognised");
	tap_is_str(value, "", "RESET gives the default");
	tap_is_long(params_parse_set("discard all", true, value, sizeof(value)), PARAM_SEARCH_PATH, "DISCARD ALL resets");
	tap_is_long(params_parse_set("SET search_path TO DEFAULT", true, value, sizeof(value)), PARAM_SEARCH_PATH,
				"SET … TO DEFAULT recognised");
	tap_is_str(value, "", "… as a reset");
	tap_is_long(params_parse_set("select 1", true, value, sizeof(value)), -1, "a SELECT is not a SET");
	tap_is_long(params_parse_set("SELECT set_config('search_path', 'app, public', false)", true, value, sizeof(value)),
				PARAM_SEARCH_PATH, "set_config(search_path, …, false) recognised");
	tap_is_str(value, "\"app\", \"public\"", "… its value in SET syntax, every element quoted");
	tap_is_long(params_parse_set("select pg_catalog.set_config( 'SEARCH_PATH' , '\"$user\", My''S' , FALSE ) ;",
								 true, value, sizeof(value)), PARAM_SEARCH_PATH, "… schema-qualified, spaced, quoted");
	tap_is_str(value, "\"$user\", \"my's\"", "… quoted names kept, unquoted folded to lower case");
	tap_is_long(params_parse_set("SELECT set_config('search_path', 'x', true)", true, value, sizeof(value)), -1,
				"set_config(…, true) is local: ignored");
	tap_is_long(params_parse_set("SELECT set_config('search_path', 'x', false), 1", true, value, sizeof(value)), -1,
				"set_config in a larger statement ignored");
	tap_is_long(params_parse_set("SELECT set_config('work_mem', '1MB', false)", true, value, sizeof(value)), -1,
				"set_config of another parameter ignored");
	tap_is_long(params_parse_set("SELECT set_config('search_path', 'a,,b', false)", true, value, sizeof(value)), -1,
				"a malformed list is not tracked");

	tap_is_long(params_lookup("datestyle"), PARAM_DATESTYLE, "lookup is case-insensitive");
	tap_is_long(params_lookup("work_mem"), -1, "untracked parameter");

	params_set(&client, PARAM_TIMEZONE, "UTC");
	params_set(&server, PARAM_TIMEZONE, "UTC");
	tap_ok(client.values[PARAM_TIMEZONE] == server.values[PARAM_TIMEZONE], "equal values are interned once");
	tap_is_long(params_build_sync(&client, &server, sql, sizeof(sql)), 0, "same values: nothing to send");
	params_set(&client, PARAM_APPLICATION_NAME, "o'neil");
	params_set(&client, PARAM_SEARCH_PATH, "app");
	tap_is_long(params_build_sync(&client, &server, sql, sizeof(sql)), 2, "two differences");
	tap_is_str(sql, "SET application_name = 'o''neil';SET search_path TO app;", "SET statements built");
	params_set(&server, PARAM_SEARCH_PATH, "other");
	params_set(&client, PARAM_SEARCH_PATH, NULL);
	params_set(&server, PARAM_APPLICATION_NAME, "o'neil");
	tap_is_long(params_build_sync(&client, &server, sql, sizeof(sql)), 1, "a server search_path the client never set");
	tap_is_str(sql, "RESET search_path;", "… is reset");
	tap_is_long(params_build_sync(&client, &server, sql, 4), -1, "too small a buffer is reported");
	params_clear(&client);
	params_clear(&server);
	tap_is_long(params_interned_count(), 0, "every interned value freed with its last reference");
}

static void
test_prepared(void)
{
	ClientStmtMap a = {0, 0, NULL};
	ClientStmtMap b = {0, 0, NULL};
	ServerStmtSet set = {0, 0, NULL};
	const uint8_t body1[] = "select 1\0\0\0";
	const uint8_t body2[] = "select 2\0\0\0";
	PreparedStmt *s1;
	PreparedStmt *s2;
	PreparedStmt *s3;
	char		name[32];
	bool		all = true;

	s1 = prepared_client_parse(&a, "q", body1, sizeof(body1) - 1);
	s2 = prepared_client_parse(&b, "other_name", body1, sizeof(body1) - 1);
	tap_ok(s1 && s1 == s2, "same Parse body from two clients is one statement");
	tap_is_long(s1->refs, 2, "… referenced twice");
	tap_ok(s1->parse_msg[0] == 'P' && proto_get_u32(s1->parse_msg + 1) + 1 == s1->parse_len &&
		   strcmp((const char *) s1->parse_msg + 5, s1->server_name) == 0, "stored Parse carries the server name");
	s3 = prepared_client_parse(&a, "q2", body2, sizeof(body2) - 1);
	tap_ok(s3 && s3 != s1 && strcmp(s3->server_name, s1->server_name) != 0, "different body, different statement");
	tap_ok(prepared_client_lookup(&a, "q") == s1 && prepared_client_lookup(&b, "q") == NULL,
		   "names are per client");
	prepared_client_close(&a, "q");
	tap_ok(prepared_client_lookup(&a, "q") == NULL && prepared_client_lookup(&a, "q2") == s3, "Close drops one name");
	tap_is_long(s1->refs, 1, "… and one reference");

	for (int i = 0; i < 200; i++)
	{
		snprintf(name, sizeof(name), "stmt_%d", i);
		if (!prepared_client_parse(&a, name, body2, sizeof(body2) - 1))
			all = false;
	}
	for (int i = 0; i < 200; i++)
	{
		snprintf(name, sizeof(name), "stmt_%d", i);
		if (prepared_client_lookup(&a, name) != s3)
			all = false;
	}
	tap_ok(all, "200 names in one client map, all found after growing");

	tap_ok(!prepared_server_has(&set, s1->id), "empty server set");
	all = true;
	for (uint64_t id = 1; id <= 100; id++)
		all = all && prepared_server_add(&set, id * 7);
	tap_ok(all && prepared_server_has(&set, 700) && !prepared_server_has(&set, 701), "server set membership");
	prepared_server_remove(&set, 350);
	all = !prepared_server_has(&set, 350);
	for (uint64_t id = 1; id <= 100; id++)
		if (id != 50)
			all = all && prepared_server_has(&set, id * 7);
	tap_ok(all, "removal keeps every other id findable");
	prepared_server_free(&set);

	prepared_client_free(&a);
	prepared_client_free(&b);
	tap_is_long(prepared_total(), 0, "statements freed with their last name");

	/* a body is answered locally only once a server accepted it; a rejected Parse drops its name */
	s1 = prepared_client_parse(&a, "v1", body1, sizeof(body1) - 1);
	tap_ok(s1 && !prepared_validated(body1, sizeof(body1) - 1), "a new body is not validated");
	prepared_client_failed(&a, s1->id);
	tap_ok(prepared_client_lookup(&a, "v1") == NULL && prepared_total() == 0,
		   "a rejected Parse drops its fresh name and the statement");
	s1 = prepared_client_parse(&a, "v1", body1, sizeof(body1) - 1);
	prepared_client_confirm(&a, s1->id);
	tap_ok(prepared_validated(body1, sizeof(body1) - 1), "ParseComplete validates the body");
	prepared_client_failed(&a, s1->id);
	tap_ok(prepared_client_lookup(&a, "v1") == s1, "a confirmed name survives a later failure elsewhere");
	tap_ok(!prepared_validated(body2, sizeof(body2) - 1), "other bodies stay unvalidated");
	prepared_client_free(&a);

	tap_is_long(prepared_parse_deallocate("DEALLOCATE S1", name, sizeof(name)), PREPARED_DEALLOC_NAME,
				"DEALLOCATE name");
	tap_is_str(name, "s1", "… folded to lower case");
	tap_is_long(prepared_parse_deallocate(" deallocate prepare \"My\"\"S\" ; ", name, sizeof(name)),
				PREPARED_DEALLOC_NAME, "DEALLOCATE PREPARE \"quoted\";");
	tap_is_str(name, "My\"S", "… quoted name kept as written");
	tap_is_long(prepared_parse_deallocate("/* c */ DEALLOCATE ALL", name, sizeof(name)), PREPARED_DEALLOC_ALL,
				"DEALLOCATE ALL");
	tap_is_long(prepared_parse_deallocate("DEALLOCATE PREPARE all;", name, sizeof(name)), PREPARED_DEALLOC_ALL,
				"DEALLOCATE PREPARE ALL");
	tap_is_long(prepared_parse_deallocate("DEALLOCATE s1; SELECT 1", name, sizeof(name)), PREPARED_DEALLOC_NONE,
				"more statements: left to the server");
	tap_is_long(prepared_parse_deallocate("DEALLOCATE", name, sizeof(name)), PREPARED_DEALLOC_NONE,
				"no name: left to the server");
	tap_is_long(prepared_parse_deallocate("DEALLOCATEx s1", name, sizeof(name)), PREPARED_DEALLOC_NONE,
				"another word");
	tap_is_long(prepared_parse_deallocate("DEALLOCATE \"unterminated", name, sizeof(name)), PREPARED_DEALLOC_NONE,
				"an unterminated quoted name");
}

static void
test_iobuf_slab(void)
{
	IOBuf	   *buf = NULL;
	int			before = iobuf_in_use();
	Slab	   *slab = slab_create("test", 40);
	void	   *objs[100];
	bool		zeroed = true;

	tap_ok(iobuf_append(&buf, "hello", 5) && iobuf_len(buf) == 5, "append takes a buffer");
	tap_is_long(iobuf_in_use(), before + 1, "one buffer lent");
	iobuf_consume(&buf, 5);
	tap_ok(buf == NULL && iobuf_in_use() == before, "an emptied buffer goes back");
	tap_ok(!iobuf_reserve(&buf, IOBUF_SIZE + 1, false), "no growth when not allowed");
	tap_ok(iobuf_reserve(&buf, IOBUF_SIZE + 1, true) && buf->big && buf->cap >= IOBUF_SIZE + 1,
		   "an oversize message gets a big buffer");
	iobuf_release(&buf);
	tap_ok(iobuf_append(&buf, "abcdef", 6), "append");
	iobuf_consume(&buf, 2);
	tap_ok(iobuf_reserve(&buf, IOBUF_SIZE - 4, false) && buf->start == 0 && memcmp(buf->data, "cdef", 4) == 0,
		   "reserve compacts the live bytes to the front");
	iobuf_release(&buf);

	for (int i = 0; i < 100; i++)
	{
		objs[i] = slab_alloc(slab);
		memset(objs[i], 0xff, 40);
	}
	for (int i = 0; i < 100; i++)
		slab_free(slab, objs[i]);
	tap_is_long(slab_free_count(slab), slab_total(slab), "every object back on the free list");
	for (int i = 0; i < 100; i++)
	{
		uint8_t    *p = slab_alloc(slab);

		for (int j = 0; j < 40; j++)
			zeroed = zeroed && p[j] == 0;
	}
	tap_ok(zeroed, "objects come back zeroed");
	slab_destroy(slab);
}

/* test_log_escape: client-supplied bytes cannot start a log line of their own (issue 20, finding 6). */
static void
test_log_escape(void)
{
	char		out[64];

	log_escape(out, sizeof(out), "evil\nLOG forged\r\x1b[31m\tend");
	tap_is_str(out, "evil\\nLOG forged\\r\\x1b[31m\\tend", "newline, CR, ESC and tab escaped");
	log_escape(out, sizeof(out), "caf\xc3\xa9 \x7f");
	tap_is_str(out, "caf\xc3\xa9 \\x7f", "UTF-8 kept, DEL escaped");
	log_escape(out, 8, "ab\x01\x02");
	tap_is_str(out, "ab\\x01", "cut at the buffer, never inside an escape");
}

int
main(void)
{
	test_framing();
	test_startup();
	test_cancel();
	test_builders();
	test_extended_readers();
	test_quote();
	test_params();
	test_prepared();
	test_iobuf_slab();
	test_log_escape();
	return tap_done();
}
