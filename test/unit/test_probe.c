/*
 * test_probe.c: probe.c's wire side without a server: the StartupMessage it sends (length, protocol
 * 3.0, user/database/application_name pairs, terminator, refusal when it does not fit) and
 * probe_judge on every kind of first answer: authentication requests, ErrorResponses (57P03 =
 * unreachable, 28000/53300/3D000 = reachable), answers to an SSLRequest, partial messages (more bytes
 * needed unless the connection closed), EOF, and bytes that are not PostgreSQL.
 */
#include <string.h>

#include "probe.h"
#include "tap.h"

static ProbeVerdict
judge(const void *buf, size_t len, bool ssl, bool complete, char *sqlstate)
{
	char		detail[200];

	return probe_judge(buf, len, ssl, complete, sqlstate, detail, sizeof(detail));
}

/* error_response: an ErrorResponse with SQLSTATE code into buf; its length. */
static size_t
error_response(uint8_t *buf, const char *code)
{
	static const char fields_fmt[] = "SFATAL\0VFATAL\0C?????\0Msome message\0";
	size_t		flen = sizeof(fields_fmt);	/* includes the final terminator */
	size_t		len = 4 + flen;

	buf[0] = 'E';
	buf[1] = 0;
	buf[2] = 0;
	buf[3] = (uint8_t) (len >> 8);
	buf[4] = (uint8_t) len;
	memcpy(buf + 5, fields_fmt, flen);
	memcpy(buf + 5 + 15, code, 5);	/* after "SFATAL\0VFATAL\0C" */
	return 1 + len;
}

int
main(void)
{
	uint8_t		buf[512];
	char		sqlstate[6];
	size_t		n;
	static const uint8_t auth_md5[] = {'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4};
	static const uint8_t auth_ok[] = {'R', 0, 0, 0, 8, 0, 0, 0, 0};

	n = probe_build_startup(buf, sizeof(buf), "faregate_probe", "appdb");
	tap_is_long((long) n, (long) (8 + sizeof("user") + sizeof("faregate_probe") + sizeof("database") +
								  sizeof("appdb") + sizeof("application_name") + sizeof("faregate-probe") + 1),
				"StartupMessage length");
	tap_ok(buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == n, "its length field says so");
	tap_ok(buf[4] == 0 && buf[5] == 3 && buf[6] == 0 && buf[7] == 0, "protocol 3.0");
	tap_is_str((const char *) buf + 8, "user", "first key: user");
	tap_is_str((const char *) buf + 13, "faregate_probe", "the user");
	tap_ok(memmem(buf, n, "application_name\0faregate-probe\0", 32) != NULL, "application_name=faregate-probe");
	tap_ok(buf[n - 1] == 0 && buf[n - 2] == 0, "terminated by an empty key");
	tap_is_long((long) probe_build_startup(buf, 40, "faregate_probe", "appdb"), 0, "too small a buffer: 0");

	tap_ok(judge(auth_md5, sizeof(auth_md5), false, false, sqlstate) == PROBE_REACHABLE,
		   "AuthenticationMD5Password: reachable");
	tap_ok(judge(auth_ok, sizeof(auth_ok), false, false, sqlstate) == PROBE_REACHABLE, "AuthenticationOk: reachable");
	tap_ok(judge(auth_ok, 3, false, false, sqlstate) == PROBE_PENDING, "3 bytes of it: more needed");
	tap_ok(judge(auth_ok, 3, false, true, sqlstate) == PROBE_UNREACHABLE, "3 bytes and EOF: unreachable");

	n = error_response(buf, "57P03");
	tap_ok(judge(buf, n, false, false, sqlstate) == PROBE_UNREACHABLE, "ErrorResponse 57P03: unreachable");
	tap_is_str(sqlstate, "57P03", "... its SQLSTATE is reported");
	tap_ok(judge(buf, n - 10, false, false, sqlstate) == PROBE_PENDING, "a partial ErrorResponse: more needed");
	n = error_response(buf, "28000");
	tap_ok(judge(buf, n, false, false, sqlstate) == PROBE_REACHABLE, "ErrorResponse 28000 (no such role): reachable");
	n = error_response(buf, "53300");
	tap_ok(judge(buf, n, false, false, sqlstate) == PROBE_REACHABLE,
		   "ErrorResponse 53300 (too many connections): reachable, as PQping says");
	n = error_response(buf, "3D000");
	tap_ok(judge(buf, n, false, false, sqlstate) == PROBE_REACHABLE && strcmp(sqlstate, "3D000") == 0,
		   "ErrorResponse 3D000 (no such database): reachable");

	tap_ok(judge("S", 1, true, false, sqlstate) == PROBE_REACHABLE, "SSLRequest answered S: reachable");
	tap_ok(judge("N", 1, true, false, sqlstate) == PROBE_REACHABLE, "SSLRequest answered N: reachable");
	tap_ok(judge("S", 1, false, false, sqlstate) == PROBE_UNREACHABLE, "S without an SSLRequest: not PostgreSQL");
	tap_ok(judge("", 0, false, true, sqlstate) == PROBE_UNREACHABLE, "closed without an answer: unreachable");
	tap_ok(judge("", 0, false, false, sqlstate) == PROBE_PENDING, "nothing yet: more needed");
	tap_ok(judge("HTTP/1.1 400", 12, false, false, sqlstate) == PROBE_UNREACHABLE, "an HTTP server: unreachable");
	tap_ok(judge("R\xff\xff\xff\xff", 5, false, false, sqlstate) == PROBE_UNREACHABLE,
		   "an absurd message length: unreachable");
	return tap_done();
}
