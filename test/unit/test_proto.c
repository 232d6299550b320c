/*
 * test_proto.c: unit tests of proto.c, the wire-format codec: framing, StartupMessage and
 * CancelRequest, message builders, extended-protocol readers and literal quoting.
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"
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

int
main(void)
{
	test_framing();
	test_startup();
	test_cancel();
	test_builders();
	test_extended_readers();
	test_quote();
	return tap_done();
}
