/*
 * proto.h: the PostgreSQL v3 wire format as pure functions: framing (1-byte type + 4-byte big-endian
 * length that counts itself), the untyped startup-phase packets (StartupMessage, SSLRequest,
 * GSSENCRequest, CancelRequest), readers for the messages the pooler inspects, and builders for the
 * messages it writes itself. Nothing here does I/O or allocates; builders write into a PktBuf that the
 * caller owns and report overflow instead of failing half way.
 */
#ifndef FAREGATE_PROTO_H
#define FAREGATE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION_3 196608		/* 3.0 */
#define PROTO_CANCEL_CODE 80877102
#define PROTO_SSL_CODE 80877103
#define PROTO_GSSENC_CODE 80877104
#define PROTO_STARTUP_MAX 10000		/* longest startup packet accepted (PostgreSQL's limit) */
#define PROTO_MAX_PARAMS 32

/* AuthenticationRequest codes. */
#define PROTO_AUTH_OK 0
#define PROTO_AUTH_CLEARTEXT 3
#define PROTO_AUTH_MD5 5
#define PROTO_AUTH_SASL 10
#define PROTO_AUTH_SASL_CONTINUE 11
#define PROTO_AUTH_SASL_FINAL 12

static inline uint32_t
proto_get_u32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static inline uint16_t
proto_get_u16(const uint8_t *p)
{
	return (uint16_t) (((uint16_t) p[0] << 8) | p[1]);
}

static inline void
proto_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/*
 * proto_header: reads a typed message header from avail bytes at p. Returns 1 and sets *type and
 * *total (type byte + length word + body) when the 5 header bytes are there and the length is sane,
 * 0 when more bytes are needed, -1 when the length word is impossible (< 4).
 */
extern int	proto_header(const uint8_t *p, size_t avail, char *type, uint32_t *total);

/* A parsed StartupMessage: pointers into the packet (which must outlive it). */
typedef struct StartupInfo
{
	const char *user;
	const char *database;		/* defaults to user, as PostgreSQL does */
	int			n_params;		/* other parameters (application_name, client_encoding, options …) */
	const char *names[PROTO_MAX_PARAMS];
	const char *values[PROTO_MAX_PARAMS];
} StartupInfo;

/*
 * proto_startup_code: the 4-byte code after the length of an untyped startup-phase packet
 * (PROTO_VERSION_3, PROTO_SSL_CODE, PROTO_GSSENC_CODE, PROTO_CANCEL_CODE or something unsupported).
 */
static inline uint32_t
proto_startup_code(const uint8_t *pkt)
{
	return proto_get_u32(pkt + 4);
}

/*
 * proto_parse_startup: parses a whole StartupMessage pkt of len bytes (length word included).
 * Returns false with a reason in err for a malformed packet, a missing user or too many parameters.
 */
__attribute__((warn_unused_result))
extern bool proto_parse_startup(const uint8_t *pkt, size_t len, StartupInfo *out, char *err, size_t errlen);

/* proto_parse_cancel: the backend pid and secret key of a whole 16-byte CancelRequest. */
__attribute__((warn_unused_result))
extern bool proto_parse_cancel(const uint8_t *pkt, size_t len, uint32_t *pid, uint32_t *key);

/*
 * Message readers. msg points at the type byte of a whole message of total bytes. Each returns false
 * when the message is malformed (a string running past the end, a short body).
 */
/* Parse: statement name, query text, parameter type count; *rest_off = offset of the query text. */
__attribute__((warn_unused_result))
extern bool proto_read_parse(const uint8_t *msg, uint32_t total, const char **name, const char **query,
							 uint32_t *query_off);

/* Bind: portal name and statement name; *after_off = offset just past the statement name's NUL. */
__attribute__((warn_unused_result))
extern bool proto_read_bind(const uint8_t *msg, uint32_t total, const char **portal, const char **stmt,
							uint32_t *after_off);

/* Describe or Close: 'S' (statement) or 'P' (portal), and the name. */
__attribute__((warn_unused_result))
extern bool proto_read_target(const uint8_t *msg, uint32_t total, char *kind, const char **name);

/* ParameterStatus: name and value. */
__attribute__((warn_unused_result))
extern bool proto_read_param_status(const uint8_t *msg, uint32_t total, const char **name, const char **value);

/* ErrorResponse or NoticeResponse: the S/V (severity) and C (SQLSTATE) fields; missing ones are "". */
typedef struct ErrorFields
{
	char		severity[16];
	char		sqlstate[6];
	char		message[256];
} ErrorFields;
__attribute__((warn_unused_result))
extern bool proto_read_error(const uint8_t *msg, uint32_t total, ErrorFields *out);

/* Query: the query text (NUL-terminated inside the message). */
__attribute__((warn_unused_result))
extern bool proto_read_query(const uint8_t *msg, uint32_t total, const char **query);

/* A builder's target buffer: data[0..len) written so far; failed once anything did not fit. */
typedef struct PktBuf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	bool		failed;
	size_t		msg_start;		/* where the message being built began (for its length word) */
	bool		typed;			/* it has a type byte before the length word */
} PktBuf;

static inline void
pktbuf_init(PktBuf *buf, uint8_t *data, size_t cap)
{
	buf->data = data;
	buf->len = 0;
	buf->cap = cap;
	buf->failed = false;
	buf->msg_start = 0;
}

/* Generic pieces: begin a typed message (type 0 = untyped startup-phase packet), add fields, end it. */
extern void pkt_begin(PktBuf *buf, char type);
extern void pkt_put_u8(PktBuf *buf, uint8_t v);
extern void pkt_put_u16(PktBuf *buf, uint16_t v);
extern void pkt_put_u32(PktBuf *buf, uint32_t v);
extern void pkt_put_bytes(PktBuf *buf, const void *data, size_t len);
extern void pkt_put_str(PktBuf *buf, const char *s);	/* with its NUL */
extern void pkt_end(PktBuf *buf);

/* Whole messages. */
extern void proto_build_auth(PktBuf *buf, uint32_t code, const void *extra, size_t extra_len);
extern void proto_build_param_status(PktBuf *buf, const char *name, const char *value);
extern void proto_build_backend_key(PktBuf *buf, uint32_t pid, uint32_t key);
extern void proto_build_ready(PktBuf *buf, char status);
extern void proto_build_command_complete(PktBuf *buf, const char *tag);
extern void proto_build_query(PktBuf *buf, const char *query);
extern void proto_build_cancel(PktBuf *buf, uint32_t pid, uint32_t key);
extern void proto_build_empty(PktBuf *buf, char type);	/* ParseComplete '1', CloseComplete '3', Sync 'S' … */

/* proto_build_startup: StartupMessage v3 with user, database and the n extra name/value pairs. */
extern void proto_build_startup(PktBuf *buf, const char *user, const char *database, int n,
								const char *const *names, const char *const *values);

/*
 * proto_build_error: ErrorResponse (or NoticeResponse with type 'N') with severity ("ERROR", "FATAL",
 * "NOTICE"), SQLSTATE, message and an optional hint (NULL or "").
 */
extern void proto_build_error(PktBuf *buf, char type, const char *severity, const char *sqlstate,
							  const char *message, const char *hint);

/* RowDescription of n text columns (type oids per column: 25 text, 20 int8, 23 int4 …). */
extern void proto_build_row_description(PktBuf *buf, int n, const char *const *names, const uint32_t *type_oids);

/* DataRow of n columns; a NULL value is SQL NULL. */
extern void proto_build_data_row(PktBuf *buf, int n, const char *const *values);

/* proto_quote_literal: value as a SQL string literal ('…' with quotes doubled, E'' for backslashes). */
extern bool proto_quote_literal(const char *value, char *out, size_t outlen);

#endif
