/*
 * tls.h: TLS with OpenSSL on both sides of the pooler (tls.c): the two SSL_CTXs built from the
 * client_tls_* and server_tls_* settings, the per-connection SSL objects, and non-blocking
 * SSL_read/SSL_write for conn.c. conn.c calls tls_recv/tls_send only for connections that have an SSL
 * (conn->ssl != NULL), so the plaintext path costs one pointer test.
 *
 * WANT_READ/WANT_WRITE: an SSL_write may need the socket readable (handshake, key update) and an
 * SSL_read writable. tls.c records that in conn->tls_want (TLS_WRITE_NEEDS_READ, TLS_READ_NEEDS_WRITE);
 * conn.c adds the matching libevent interest and, when the event comes, hands the owner the event the
 * blocked operation was waiting for, so that it retries.
 */
#ifndef FAREGATE_TLS_H
#define FAREGATE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct Conn Conn;

/* sslmode values, as PgBouncer (and libpq) name them. */
typedef enum TlsMode
{
	TLS_DISABLE,
	TLS_ALLOW,
	TLS_PREFER,
	TLS_REQUIRE,
	TLS_VERIFY_CA,
	TLS_VERIFY_FULL
} TlsMode;

#define TLS_WRITE_NEEDS_READ 1
#define TLS_READ_NEEDS_WRITE 2

/* tls_parse_mode: "disable" … "verify-full"; false when unknown. */
extern bool tls_parse_mode(const char *text, TlsMode *mode);

/*
 * tls_init: builds the contexts from cf, at start and on reload. false with err (naming the setting)
 * on failure, and the running contexts stay.
 */
__attribute__((warn_unused_result))
extern bool tls_init(char *err, size_t errlen);

/*
 * tls_check_lists: whether cf's *_tls_protocols, *_tls_ciphers and *_tls13_ciphers are values OpenSSL
 * takes (what tls_init checks first), without building anything: for --check-config.
 */
__attribute__((warn_unused_result))
extern bool tls_check_lists(char *err, size_t errlen);

/* tls_client_offered: clients may switch to TLS (SSLRequest is answered 'S'). */
extern bool tls_client_offered(void);

/* tls_client_required: client_tls_sslmode is require or stricter: plaintext TCP logins are refused. */
extern bool tls_client_required(void);

/* tls_client_mode_name: the client_tls_sslmode value (for messages). */
extern const char *tls_client_mode_name(void);

/* tls_accept: after 'S' went out: conn becomes a TLS server connection (handshake on first I/O). */
__attribute__((warn_unused_result))
extern bool tls_accept(Conn *conn);

/* tls_server_mode: server_tls_sslmode. */
extern TlsMode tls_server_mode(void);

/*
 * tls_server_conninfo: appends the libpq settings that make a libpq connection (health checks, the
 * LISTEN listener) use server_tls_* like the pooled connections: " sslmode=... [sslrootcert=...]
 * [sslcert=... sslkey=...]" at the end of the NUL-terminated conninfo in out. False (out unchanged)
 * when it does not fit.
 */
extern bool tls_server_conninfo(char *out, size_t outlen);

/*
 * tls_connect: PostgreSQL answered 'S': conn becomes a TLS client connection to host (checked against
 * the certificate with verify-full); the handshake runs on the first I/O.
 */
__attribute__((warn_unused_result))
extern bool tls_connect(Conn *conn, const char *host);

/*
 * tls_recv / tls_send: like recv/send on conn->ssl: bytes moved, 0 at a clean EOF (recv), -1 with
 * errno EAGAIN when OpenSSL wants the socket (conn->tls_want says which way), or -1 with errno
 * ECONNRESET/EPROTO on failure (the reason is logged).
 */
extern ssize_t tls_recv(Conn *conn, void *buf, size_t len);
extern ssize_t tls_send(Conn *conn, const void *buf, size_t len);

/* tls_pending: decrypted bytes OpenSSL holds that the socket will not signal. */
extern bool tls_pending(const Conn *conn);

/* tls_free: drops conn's SSL (no close_notify wait: the socket is closing). NULL-safe. */
extern void tls_free(Conn *conn);

/* tls_describe: "TLSv1.3/TLS_AES_256_GCM_SHA384" for SHOW CLIENTS/SERVERS, "" without TLS. */
extern const char *tls_describe(const Conn *conn);

/*
 * tls_client_name_ok: under client_tls_sslmode = verify-full, whether the client certificate's common
 * name (CN) is the user name, as PostgreSQL's clientcert=verify-full checks (why says what is wrong).
 * True in every other mode and for connections without TLS (the Unix socket).
 */
extern bool tls_client_name_ok(const Conn *conn, const char *user, char *why, size_t whylen);

/*
 * tls_server_end_point: the tls-server-end-point channel binding (RFC 5929) of a client connection on
 * TLS: the hash of the pooler's own certificate with its signature's digest (SHA-256 for MD5 and SHA-1).
 * False without TLS, for a certificate whose signature names no single digest (Ed25519 ...), or when
 * outsize is too small.
 */
extern bool tls_server_end_point(const Conn *conn, uint8_t *out, size_t outsize, size_t *outlen);

/* tls_last_error: OpenSSL's reason for the last TLS failure of any connection (e.g. "certificate verify failed"). */
extern const char *tls_last_error(void);

#endif
