/*
 * fuzz_proto_server.c: libFuzzer target for the server→pooler direction of proto.c: a stream of backend
 * messages framed by proto_header, each copied into a buffer of exactly its size and handed to the
 * readers server.c and login.c use (ParameterStatus, ErrorResponse/NoticeResponse, BackendKeyData's
 * length rule, AuthenticationRequest's code and SASL mechanism list walked as login.c walks it).
 * Besides "no crash, no out-of-bounds read", it checks that ErrorFields' strings are NUL-terminated
 * within their arrays and that ParameterStatus' strings lie inside the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static void
check_str(const uint8_t *buf, size_t len, const char *s)
{
	const uint8_t *p = (const uint8_t *) s;

	if (p < buf || p >= buf + len || memchr(p, '\0', (size_t) (buf + len - p)) == NULL)
		__builtin_trap();
}

static void
backend_message(const uint8_t *msg, uint32_t total)
{
	const char *name,
			   *value;
	ErrorFields fields;

	switch ((char) msg[0])
	{
		case 'S':
			if (proto_read_param_status(msg, total, &name, &value))
			{
				check_str(msg, total, name);
				check_str(msg, total, value);
			}
			break;
		case 'E':
		case 'N':
			if (proto_read_error(msg, total, &fields))
			{
				if (!memchr(fields.severity, '\0', sizeof(fields.severity)) ||
					!memchr(fields.sqlstate, '\0', sizeof(fields.sqlstate)) ||
					!memchr(fields.message, '\0', sizeof(fields.message)))
					__builtin_trap();
			}
			break;
		case 'K':
			if (total == 13 && (proto_get_u32(msg + 5) ^ proto_get_u32(msg + 9)) == 0xdeadbeef)
				return;			/* the only use: read pid and key from a 13-byte message */
			break;
		case 'R':
			if (total >= 9 && proto_get_u32(msg + 5) == PROTO_AUTH_SASL)
			{
				/* login.c's walk over the mechanism list */
				for (uint32_t off = 9; off < total && msg[off];)
				{
					size_t		len = strnlen((const char *) msg + off, total - off);

					off += (uint32_t) len + 1;
				}
			}
			break;
		default:
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		pos = 0;

	while (pos < size)
	{
		char		type;
		uint32_t	total;
		int			rc = proto_header(data + pos, size - pos, &type, &total);
		uint8_t    *msg;

		if (rc <= 0)
			break;
		if (total < 5)
			__builtin_trap();
		if (total > size - pos)
			break;
		msg = malloc(total);
		if (!msg)
			break;
		memcpy(msg, data + pos, total);
		backend_message(msg, total);
		free(msg);
		pos += total;
	}
	return 0;
}
