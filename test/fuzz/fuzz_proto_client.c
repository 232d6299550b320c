/*
 * fuzz_proto_client.c: libFuzzer target for the client→pooler direction of proto.c, fed the way
 * client.c and login.c feed it. The input is a byte stream as a client would send it: one untyped
 * startup-phase packet (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest or garbage), then typed
 * frontend messages framed by proto_header. Each whole message is copied into a buffer of exactly its
 * size, so a reader that looks one byte past the message trips ASan. Properties checked besides "no
 * crash": every pointer a reader returns lies inside the message and its string ends inside it; offsets
 * are within the message; a parsed StartupMessage has a user and a database and at most
 * PROTO_MAX_PARAMS other parameters; framing never reports a length shorter than the header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_proto.h"
#include "proto.h"

static void
startup_phase(const uint8_t *data, size_t len)
{
	uint8_t    *pkt = malloc(len ? len : 1);
	StartupInfo info;
	char		err[256];
	uint32_t	pid,
				key;

	if (!pkt)
		return;
	memcpy(pkt, data, len);
	if (len >= 8)
	{
		uint32_t	code = proto_startup_code(pkt);

		if (code == PROTO_VERSION_3 || (code >> 16) == 3)
		{
			err[0] = '\0';
			if (proto_parse_startup(pkt, len, &info, err, sizeof(err)))
			{
				if (!info.user || !info.database || info.n_params < 0 || info.n_params > PROTO_MAX_PARAMS)
					__builtin_trap();
				fuzz_proto_check_str(pkt, len, info.user);
				fuzz_proto_check_str(pkt, len, info.database);
				for (int i = 0; i < info.n_params; i++)
				{
					fuzz_proto_check_str(pkt, len, info.names[i]);
					fuzz_proto_check_str(pkt, len, info.values[i]);
				}
			}
			else if (err[0] == '\0')
				__builtin_trap();	/* every refusal says why (it becomes the client's error message) */
		}
		else if (code == PROTO_CANCEL_CODE)
			(void) proto_parse_cancel(pkt, len, &pid, &key);
	}
	free(pkt);
}

static void
frontend_message(const uint8_t *msg, uint32_t total)
{
	char		type = (char) msg[0];
	const char *a,
			   *b;
	uint32_t	off;
	char		kind;

	switch (type)
	{
		case 'Q':				/* Query; also PasswordMessage 'p' reads its string the same way */
		case 'p':
			if (proto_read_query(msg, total, &a))
				fuzz_proto_check_str(msg, total, a);
			break;
		case 'P':
			if (proto_read_parse(msg, total, &a, &b, &off))
			{
				fuzz_proto_check_str(msg, total, a);
				fuzz_proto_check_str(msg, total, b);
				if (off >= total || (const uint8_t *) b != msg + off)
					__builtin_trap();
			}
			break;
		case 'B':
			if (proto_read_bind(msg, total, &a, &b, &off))
			{
				fuzz_proto_check_str(msg, total, a);
				fuzz_proto_check_str(msg, total, b);
				if (off > total)
					__builtin_trap();
			}
			break;
		case 'D':
		case 'C':
			if (proto_read_target(msg, total, &kind, &a))
				fuzz_proto_check_str(msg, total, a);
			break;
		default:
			/* Execute, Sync, Flush, Terminate, CopyData/Done/Fail, FunctionCall: forwarded unparsed */
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		pos = 0;

	if (size >= 4)
	{
		uint32_t	len = proto_get_u32(data);

		/* client.c accepts a startup-phase packet of 8 .. PROTO_STARTUP_MAX bytes, whole */
		if (len >= 8 && len <= PROTO_STARTUP_MAX && len <= size)
		{
			startup_phase(data, len);
			pos = len;
		}
	}
	fuzz_proto_each_message(data, size, pos, frontend_message);
	return 0;
}
