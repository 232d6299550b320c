/*
 * fuzz_proto.h: what the two wire-protocol fuzz targets (fuzz_proto_client.c, fuzz_proto_server.c)
 * share: walking a byte stream as typed messages framed by proto_header, each handed over in a
 * malloc'ed buffer of exactly its size (so a reader that looks one byte past the message trips ASan),
 * and the check that a string a reader returns starts and ends inside the message. Header-only: the
 * fuzz Makefile builds each fuzz_*.c alone against the pooler's objects.
 */
#ifndef FAREGATE_FUZZ_PROTO_H
#define FAREGATE_FUZZ_PROTO_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* fuzz_proto_check_str: traps unless s starts inside buf[0, len) and its NUL is inside it too. */
static inline void
fuzz_proto_check_str(const uint8_t *buf, size_t len, const char *s)
{
	const uint8_t *p = (const uint8_t *) s;

	if (p < buf || p >= buf + len || memchr(p, '\0', (size_t) (buf + len - p)) == NULL)
		__builtin_trap();
}

/*
 * fuzz_proto_each_message: hands every whole typed message in data[pos, size) to handle_message, each
 * copied into a buffer of exactly its size, until the stream ends, a header is refused, or a message is
 * incomplete (a peer would wait for more). Traps when framing reports a length shorter than the header
 * or a type other than the message's first byte.
 */
static inline void
fuzz_proto_each_message(const uint8_t *data, size_t size, size_t pos,
						void (*handle_message) (const uint8_t *msg, uint32_t total))
{
	while (pos < size)
	{
		char		type;
		uint32_t	total;
		int			rc = proto_header(data + pos, size - pos, &type, &total);
		uint8_t    *msg;

		if (rc <= 0)
			break;
		if (total < 5 || type != (char) data[pos])
			__builtin_trap();
		if (total > size - pos)
			break;
		msg = malloc(total);
		if (!msg)
			break;
		memcpy(msg, data + pos, total);
		handle_message(msg, total);
		free(msg);
		pos += total;
	}
}

#endif
