/*
 * proto.c: owns the encoding and decoding of PostgreSQL v3 protocol messages (see proto.h). Pure
 * functions over caller buffers, covered by test/unit/test_proto.c.
 */
#include "proto.h"

#include <stdio.h>
#include <string.h>

int
proto_header(const uint8_t *p, size_t avail, char *type, uint32_t *total)
{
	uint32_t	len;

	if (avail < 5)
		return 0;
	len = proto_get_u32(p + 1);
	if (len < 4 || len > 0x7fffffff - 1)
		return -1;
	*type = (char) p[0];
	*total = len + 1;
	return 1;
}

/* read_cstring: the NUL-terminated string at *off in [0, end); advances *off past the NUL. */
static bool
read_cstring(const uint8_t *msg, uint32_t end, uint32_t *off, const char **out)
{
	const uint8_t *nul;

	if (*off >= end)
		return false;
	nul = memchr(msg + *off, '\0', end - *off);
	if (!nul)
		return false;
	*out = (const char *) msg + *off;
	*off = (uint32_t) (nul - msg) + 1;
	return true;
}

bool
proto_parse_startup(const uint8_t *pkt, size_t len, StartupInfo *out, char *err, size_t errlen)
{
	uint32_t	off = 8;
	uint32_t	end = (uint32_t) len;

	memset(out, 0, sizeof(*out));
	if (len < 9 || proto_get_u32(pkt) != len || pkt[len - 1] != '\0')
		return snprintf(err, errlen, "malformed startup packet"), false;
	if (proto_startup_code(pkt) != PROTO_VERSION_3)
		return snprintf(err, errlen, "unsupported frontend protocol %u.%u: only 3.0 is served",
						proto_startup_code(pkt) >> 16, proto_startup_code(pkt) & 0xffff), false;
	while (off < end - 1)
	{
		const char *name;
		const char *value;

		if (!read_cstring(pkt, end, &off, &name) || !read_cstring(pkt, end, &off, &value))
			return snprintf(err, errlen, "malformed startup packet: parameter without a value"), false;
		if (strcmp(name, "user") == 0)
			out->user = value;
		else if (strcmp(name, "database") == 0)
			out->database = value;
		else if (strcmp(name, "replication") == 0)
			return snprintf(err, errlen, "replication connections are not pooled"), false;
		else
		{
			if (out->n_params == PROTO_MAX_PARAMS)
				return snprintf(err, errlen, "too many startup parameters (at most %d)", PROTO_MAX_PARAMS),
					false;
			out->names[out->n_params] = name;
			out->values[out->n_params] = value;
			out->n_params++;
		}
	}
	if (!out->user || !*out->user)
		return snprintf(err, errlen, "no PostgreSQL user name specified in startup packet"), false;
	if (!out->database || !*out->database)
		out->database = out->user;
	return true;
}

bool
proto_parse_cancel(const uint8_t *pkt, size_t len, uint32_t *pid, uint32_t *key)
{
	if (len != 16 || proto_get_u32(pkt) != 16 || proto_startup_code(pkt) != PROTO_CANCEL_CODE)
		return false;
	*pid = proto_get_u32(pkt + 8);
	*key = proto_get_u32(pkt + 12);
	return true;
}

bool
proto_read_parse(const uint8_t *msg, uint32_t total, const char **name, const char **query, uint32_t *query_off)
{
	uint32_t	off = 5;

	if (total < 5 || msg[0] != 'P' || !read_cstring(msg, total, &off, name))
		return false;
	*query_off = off;
	if (!read_cstring(msg, total, &off, query))
		return false;
	return off + 2 <= total;
}

bool
proto_read_bind(const uint8_t *msg, uint32_t total, const char **portal, const char **stmt, uint32_t *after_off)
{
	uint32_t	off = 5;

	if (total < 5 || msg[0] != 'B' || !read_cstring(msg, total, &off, portal) ||
		!read_cstring(msg, total, &off, stmt))
		return false;
	*after_off = off;
	return true;
}

bool
proto_read_target(const uint8_t *msg, uint32_t total, char *kind, const char **name)
{
	uint32_t	off = 6;

	if (total < 7 || (msg[5] != 'S' && msg[5] != 'P'))
		return false;
	*kind = (char) msg[5];
	return read_cstring(msg, total, &off, name) && off == total;
}

bool
proto_read_param_status(const uint8_t *msg, uint32_t total, const char **name, const char **value)
{
	uint32_t	off = 5;

	return total > 5 && msg[0] == 'S' && read_cstring(msg, total, &off, name) &&
		read_cstring(msg, total, &off, value);
}

bool
proto_read_error(const uint8_t *msg, uint32_t total, ErrorFields *out)
{
	uint32_t	off = 5;

	memset(out, 0, sizeof(*out));
	while (off < total && msg[off] != '\0')
	{
		char		field = (char) msg[off++];
		const char *value;

		if (!read_cstring(msg, total, &off, &value))
			return false;
		if (field == 'V' || (field == 'S' && !out->severity[0]))
			snprintf(out->severity, sizeof(out->severity), "%s", value);
		else if (field == 'C')
			snprintf(out->sqlstate, sizeof(out->sqlstate), "%s", value);
		else if (field == 'M')
			snprintf(out->message, sizeof(out->message), "%s", value);
	}
	return off < total;
}

bool
proto_read_query(const uint8_t *msg, uint32_t total, const char **query)
{
	uint32_t	off = 5;

	return total > 5 && read_cstring(msg, total, &off, query);
}

static bool
pkt_room(PktBuf *buf, size_t n)
{
	if (buf->failed || buf->cap - buf->len < n)
	{
		buf->failed = true;
		return false;
	}
	return true;
}

void
pkt_begin(PktBuf *buf, char type)
{
	buf->msg_start = buf->len;
	buf->typed = type != 0;
	if (type)
		pkt_put_u8(buf, (uint8_t) type);
	pkt_put_u32(buf, 0);
}

void
pkt_put_u8(PktBuf *buf, uint8_t v)
{
	if (pkt_room(buf, 1))
		buf->data[buf->len++] = v;
}

void
pkt_put_u16(PktBuf *buf, uint16_t v)
{
	if (pkt_room(buf, 2))
	{
		buf->data[buf->len++] = (uint8_t) (v >> 8);
		buf->data[buf->len++] = (uint8_t) v;
	}
}

void
pkt_put_u32(PktBuf *buf, uint32_t v)
{
	if (pkt_room(buf, 4))
	{
		proto_put_u32(buf->data + buf->len, v);
		buf->len += 4;
	}
}

void
pkt_put_bytes(PktBuf *buf, const void *data, size_t len)
{
	if (pkt_room(buf, len))
	{
		memcpy(buf->data + buf->len, data, len);
		buf->len += len;
	}
}

void
pkt_put_str(PktBuf *buf, const char *s)
{
	pkt_put_bytes(buf, s, strlen(s) + 1);
}

/* pkt_end: fills in the length word of the message begun at msg_start. */
void
pkt_end(PktBuf *buf)
{
	size_t		len_at = buf->msg_start + (buf->typed ? 1 : 0);

	if (!buf->failed)
		proto_put_u32(buf->data + len_at, (uint32_t) (buf->len - len_at));
}

void
proto_build_auth(PktBuf *buf, uint32_t code, const void *extra, size_t extra_len)
{
	pkt_begin(buf, 'R');
	pkt_put_u32(buf, code);
	if (extra_len)
		pkt_put_bytes(buf, extra, extra_len);
	pkt_end(buf);
}

void
proto_build_param_status(PktBuf *buf, const char *name, const char *value)
{
	pkt_begin(buf, 'S');
	pkt_put_str(buf, name);
	pkt_put_str(buf, value);
	pkt_end(buf);
}

void
proto_build_backend_key(PktBuf *buf, uint32_t pid, uint32_t key)
{
	pkt_begin(buf, 'K');
	pkt_put_u32(buf, pid);
	pkt_put_u32(buf, key);
	pkt_end(buf);
}

void
proto_build_ready(PktBuf *buf, char status)
{
	pkt_begin(buf, 'Z');
	pkt_put_u8(buf, (uint8_t) status);
	pkt_end(buf);
}

void
proto_build_command_complete(PktBuf *buf, const char *tag)
{
	pkt_begin(buf, 'C');
	pkt_put_str(buf, tag);
	pkt_end(buf);
}

void
proto_build_query(PktBuf *buf, const char *query)
{
	pkt_begin(buf, 'Q');
	pkt_put_str(buf, query);
	pkt_end(buf);
}

void
proto_build_cancel(PktBuf *buf, uint32_t pid, uint32_t key)
{
	pkt_begin(buf, 0);
	pkt_put_u32(buf, PROTO_CANCEL_CODE);
	pkt_put_u32(buf, pid);
	pkt_put_u32(buf, key);
	pkt_end(buf);
}

void
proto_build_empty(PktBuf *buf, char type)
{
	pkt_begin(buf, type);
	pkt_end(buf);
}

void
proto_build_startup(PktBuf *buf, const char *user, const char *database, int n, const char *const *names,
					const char *const *values)
{
	pkt_begin(buf, 0);
	pkt_put_u32(buf, PROTO_VERSION_3);
	pkt_put_str(buf, "user");
	pkt_put_str(buf, user);
	pkt_put_str(buf, "database");
	pkt_put_str(buf, database);
	for (int i = 0; i < n; i++)
	{
		pkt_put_str(buf, names[i]);
		pkt_put_str(buf, values[i]);
	}
	pkt_put_u8(buf, 0);
	pkt_end(buf);
}

void
proto_build_error(PktBuf *buf, char type, const char *severity, const char *sqlstate, const char *message,
				  const char *hint)
{
	pkt_begin(buf, type);
	pkt_put_u8(buf, 'S');
	pkt_put_str(buf, severity);
	pkt_put_u8(buf, 'V');
	pkt_put_str(buf, severity);
	pkt_put_u8(buf, 'C');
	pkt_put_str(buf, sqlstate);
	pkt_put_u8(buf, 'M');
	pkt_put_str(buf, message);
	if (hint && *hint)
	{
		pkt_put_u8(buf, 'H');
		pkt_put_str(buf, hint);
	}
	pkt_put_u8(buf, 0);
	pkt_end(buf);
}

void
proto_build_row_description(PktBuf *buf, int n, const char *const *names, const uint32_t *type_oids)
{
	pkt_begin(buf, 'T');
	pkt_put_u16(buf, (uint16_t) n);
	for (int i = 0; i < n; i++)
	{
		uint32_t	oid = type_oids ? type_oids[i] : 25;

		pkt_put_str(buf, names[i]);
		pkt_put_u32(buf, 0);	/* table oid */
		pkt_put_u16(buf, 0);	/* column number */
		pkt_put_u32(buf, oid);
		pkt_put_u16(buf, (uint16_t) (oid == 20 ? 8 : oid == 23 ? 4 : oid == 16 ? 1 : 0xffff));
		pkt_put_u32(buf, 0xffffffff);	/* typmod -1 */
		pkt_put_u16(buf, 0);	/* text format */
	}
	pkt_end(buf);
}

void
proto_build_data_row(PktBuf *buf, int n, const char *const *values)
{
	pkt_begin(buf, 'D');
	pkt_put_u16(buf, (uint16_t) n);
	for (int i = 0; i < n; i++)
	{
		if (!values[i])
			pkt_put_u32(buf, 0xffffffff);
		else
		{
			size_t		len = strlen(values[i]);

			pkt_put_u32(buf, (uint32_t) len);
			pkt_put_bytes(buf, values[i], len);
		}
	}
	pkt_end(buf);
}

bool
proto_quote_literal(const char *value, char *out, size_t outlen)
{
	size_t		n = 0;
	bool		backslash = strchr(value, '\\') != NULL;

	if (outlen < 4)
		return false;
	if (backslash)
		out[n++] = 'E';
	out[n++] = '\'';
	for (const char *p = value; *p; p++)
	{
		if (n + 4 >= outlen)
			return false;
		if (*p == '\'' || *p == '\\')
			out[n++] = *p;
		out[n++] = *p;
	}
	out[n++] = '\'';
	out[n] = '\0';
	return true;
}
