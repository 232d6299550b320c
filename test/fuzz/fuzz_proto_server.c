/*
 * fuzz_proto_server.c: libFuzzer target for the server→pooler direction of proto.c: a stream of backend
 * messages framed by proto_header, each copied into a buffer of exactly its size (fuzz_proto.h) and
 * handed to the readers server.c and login.c use (ParameterStatus, ErrorResponse/NoticeResponse,
 * BackendKeyData's length rule, AuthenticationRequest's code and SASL mechanism list walked as login.c
 * walks it). Besides "no crash, no out-of-bounds read", it checks that ErrorFields' strings are
 * NUL-terminated within their arrays and that ParameterStatus' strings lie inside the message.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_proto.h"
#include "proto.h"

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
				fuzz_proto_check_str(msg, total, name);
				fuzz_proto_check_str(msg, total, value);
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
	fuzz_proto_each_message(data, size, 0, backend_message);
	return 0;
}
