/*
 * tls.c: owns OpenSSL for faregate-pooler: one SSL_CTX for clients (the pooler as TLS server, from
 * client_tls_*) and one for PostgreSQL servers (the pooler as TLS client, from server_tls_*), built
 * at start and again on RELOAD/SIGHUP (new handshakes use the new contexts; connections already made
 * keep theirs, which OpenSSL frees with the last of them), and the SSL object of each TLS connection
 * (conn->ssl). The sslmode values follow PgBouncer:
 *   client_tls_sslmode  disable: SSLRequest answered 'N'. allow, prefer: TLS when the client asks.
 *                       require: TCP logins without TLS refused (28000). verify-ca, verify-full: and the
 *                       client must present a certificate signed by client_tls_ca_file; verify-full: and
 *                       its CN must be the user name (tls_client_name_ok, as PostgreSQL's
 *                       clientcert=verify-full; PgBouncer does not compare it).
 *   server_tls_sslmode  disable: plaintext. allow, prefer: SSLRequest; TLS if the server says 'S'
 *                       (allow maps to prefer for pooled connections: see docs/operations.md; the
 *                       libpq connections, health checks and listener, get libpq's own allow).
 *                       require: the server must accept TLS (and, as in libpq, with server_tls_ca_file
 *                       set its certificate must chain to it). verify-ca: its certificate must chain to
 *                       server_tls_ca_file. verify-full: and name the host the pooler connects to.
 * Unix-socket connections never use TLS (like PostgreSQL).
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "conn.h"
#include "conninfo.h"
#include "log.h"

static SSL_CTX *client_ctx;		/* for client connections (we are the TLS server) */
static SSL_CTX *server_ctx;		/* for server connections (we are the TLS client) */
static char last_error[256];	/* the last TLS error of a connection (tls_last_error) */
static TlsMode client_mode;
static TlsMode server_mode;

static const char *const mode_names[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};

bool
tls_parse_mode(const char *text, TlsMode *mode)
{
	for (int i = 0; i <= TLS_VERIFY_FULL; i++)
		if (strcmp(text, mode_names[i]) == 0)
		{
			*mode = (TlsMode) i;
			return true;
		}
	return false;
}

static void
openssl_error(char *buf, size_t buflen)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, buflen);
	else
		snprintf(buf, buflen, "no detail from OpenSSL");
	ERR_clear_error();
}

static bool
load_pair(SSL_CTX *ctx, const char *cert, const char *key, const char *prefix, char *err, size_t errlen)
{
	char		why[256];

	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
	{
		openssl_error(why, sizeof(why));
		return snprintf(err, errlen, "%s_cert_file %s: %s", prefix, cert, why), false;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
	{
		openssl_error(why, sizeof(why));
		return snprintf(err, errlen, "%s_key_file %s: %s", prefix, key, why), false;
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		return snprintf(err, errlen, "%s_key_file %s does not match %s_cert_file %s", prefix, key, prefix, cert),
			false;
	return true;
}

static bool
load_ca(SSL_CTX *ctx, const char *ca, const char *prefix, char *err, size_t errlen)
{
	char		why[256];

	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
	{
		openssl_error(why, sizeof(why));
		return snprintf(err, errlen, "%s_ca_file %s: %s", prefix, ca, why), false;
	}
	return true;
}

/* PgBouncer's protocol names, as bits of a set (tls_protocol_set) */
#define TLSP_1_0 0x1
#define TLSP_1_1 0x2
#define TLSP_1_2 0x4
#define TLSP_1_3 0x8

/*
 * protocol_set: a *_tls_protocols value (PgBouncer's: tlsv1.0, tlsv1.1, tlsv1.2, tlsv1.3 and the
 * shortcuts all, legacy, secure, default; separated by commas, colons or blanks) as a set of TLSP_ bits;
 * 0 when a word is unknown (its name copied to bad) or the list is empty.
 */
static int
protocol_set(const char *value, char *bad, size_t badlen)
{
	static const struct
	{
		const char *name;
		int			bits;
	}			words[] = {
		{"tlsv1.0", TLSP_1_0}, {"tlsv1", TLSP_1_0}, {"tlsv1.1", TLSP_1_1}, {"tlsv1.2", TLSP_1_2},
		{"tlsv1.3", TLSP_1_3}, {"all", 0xf}, {"legacy", 0xf}, {"secure", TLSP_1_2 | TLSP_1_3},
		{"default", TLSP_1_2 | TLSP_1_3},
	};
	int			set = 0;
	const char *p = value;

	bad[0] = '\0';
	while (*p)
	{
		size_t		n;
		int			bits = -1;

		p += strspn(p, ", :\t");
		n = strcspn(p, ", :\t");
		if (n == 0)
			break;
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].name) == n && strncasecmp(p, words[i].name, n) == 0)
				bits = words[i].bits;
		if (bits < 0)
		{
			snprintf(bad, badlen, "%.*s", (int) n, p);
			return 0;
		}
		set |= bits;
		p += n;
	}
	return set;
}

/* set_range: the indexes (0 = TLS 1.0 .. 3 = TLS 1.3) of the lowest and highest version in a non-empty set. */
static void
set_range(int set, int *lowest, int *highest)
{
	*lowest = *highest = -1;
	for (int i = 0; i < 4; i++)
		if (set & (1 << i))
		{
			if (*lowest < 0)
				*lowest = i;
			*highest = i;
		}
}

/*
 * apply_lists: prefix's *_tls_protocols, *_tls_ciphers and *_tls13_ciphers onto ctx (PgBouncer's
 * meanings: a protocol set; default/secure/fast/normal = OpenSSL's own cipher list, all = every cipher,
 * else an OpenSSL cipher string; TLS 1.3 suites, empty = OpenSSL's). A gap in the protocol set (tlsv1.0
 * and tlsv1.2 only, say) is cut out with SSL_OP_NO_*. False with err on a value OpenSSL refuses.
 */
static bool
apply_lists(SSL_CTX *ctx, const char *prefix, const char *protocols, const char *ciphers, const char *tls13,
			char *err, size_t errlen)
{
	static const struct
	{
		int			bit;
		int			version;
		unsigned long off;
	}			versions[] = {
		{TLSP_1_0, TLS1_VERSION, SSL_OP_NO_TLSv1}, {TLSP_1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
		{TLSP_1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2}, {TLSP_1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
	};
	char		bad[64];
	char		why[256];
	int			set = protocol_set(protocols, bad, sizeof(bad));
	int			lowest;
	int			highest;

	if (set == 0)
		return snprintf(err, errlen, "%s_protocols: %s%s%s; use tlsv1.0, tlsv1.1, tlsv1.2, tlsv1.3, all or secure, "
						"comma-separated", prefix, bad[0] ? "unknown protocol \"" : "no protocol given",
						bad, bad[0] ? "\"" : ""), false;
	set_range(set, &lowest, &highest);
	SSL_CTX_set_min_proto_version(ctx, versions[lowest].version);
	SSL_CTX_set_max_proto_version(ctx, versions[highest].version);
	for (int i = lowest + 1; i < highest; i++)
		if (!(set & versions[i].bit))
			SSL_CTX_set_options(ctx, versions[i].off);
	if (strcasecmp(ciphers, "all") == 0)
		ciphers = "ALL";
	else if (strcasecmp(ciphers, "default") == 0 || strcasecmp(ciphers, "secure") == 0 ||
			 strcasecmp(ciphers, "fast") == 0 || strcasecmp(ciphers, "normal") == 0 || ciphers[0] == '\0')
		ciphers = NULL;
	if (ciphers && SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
	{
		openssl_error(why, sizeof(why));
		return snprintf(err, errlen, "%s_ciphers \"%s\": OpenSSL accepts no cipher of it (%s)", prefix, ciphers,
						why), false;
	}
	if (tls13[0] && SSL_CTX_set_ciphersuites(ctx, tls13) != 1)
	{
		openssl_error(why, sizeof(why));
		return snprintf(err, errlen, "%s13_ciphers \"%s\": not a list of TLS 1.3 ciphersuites OpenSSL knows "
						"(e.g. TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256) (%s)", prefix, tls13, why), false;
	}
	return true;
}

/*
 * check_lists: the lists of a side whose TLS is off are still checked (a scratch context), so that a
 * wrong value stops start-up or RELOAD whatever the sslmode.
 */
static bool
check_lists(const char *prefix, const char *protocols, const char *ciphers, const char *tls13, char *err,
			size_t errlen)
{
	SSL_CTX    *scratch = SSL_CTX_new(TLS_method());
	bool		good;

	if (!scratch)
		return snprintf(err, errlen, "cannot create a TLS context to check %s_protocols", prefix), false;
	good = apply_lists(scratch, prefix, protocols, ciphers, tls13, err, errlen);
	SSL_CTX_free(scratch);
	return good;
}

bool
tls_check_lists(char *err, size_t errlen)
{
	return check_lists("client_tls", cf.client_tls_protocols, cf.client_tls_ciphers, cf.client_tls13_ciphers, err,
					   errlen) &&
		check_lists("server_tls", cf.server_tls_protocols, cf.server_tls_ciphers, cf.server_tls13_ciphers, err,
					errlen);
}

/*
 * build_contexts: the contexts and modes cf asks for, into the *_out arguments (the locals shadow the
 * running ones on purpose: the same code served tls_init before reloads existed). On failure the
 * caller frees what was built.
 */
static bool
build_contexts(SSL_CTX **client_ctx_out, SSL_CTX **server_ctx_out, TlsMode *client_mode_out,
			   TlsMode *server_mode_out, char *err, size_t errlen)
{
	SSL_CTX    *client_ctx;
	SSL_CTX    *server_ctx;
	TlsMode		client_mode;
	TlsMode		server_mode;

	if (!tls_parse_mode(cf.client_tls_sslmode, client_mode_out))
		return snprintf(err, errlen, "client_tls_sslmode must be disable, allow, prefer, require, verify-ca or "
						"verify-full, not \"%s\"", cf.client_tls_sslmode), false;
	if (!tls_parse_mode(cf.server_tls_sslmode, server_mode_out))
		return snprintf(err, errlen, "server_tls_sslmode must be disable, allow, prefer, require, verify-ca or "
						"verify-full, not \"%s\"", cf.server_tls_sslmode), false;
	client_mode = *client_mode_out;
	server_mode = *server_mode_out;
	if (!tls_check_lists(err, errlen))
		return false;
	if (client_mode != TLS_DISABLE)
	{
		if (!cf.client_tls_cert_file[0] || !cf.client_tls_key_file[0])
			return snprintf(err, errlen, "client_tls_sslmode = %s needs client_tls_cert_file and "
							"client_tls_key_file", mode_names[client_mode]), false;
		if (client_mode >= TLS_VERIFY_CA && !cf.client_tls_ca_file[0])
			return snprintf(err, errlen, "client_tls_sslmode = %s needs client_tls_ca_file to check client "
							"certificates", mode_names[client_mode]), false;
		client_ctx = *client_ctx_out = SSL_CTX_new(TLS_server_method());
		if (!client_ctx)
			return snprintf(err, errlen, "cannot create the TLS context for clients"), false;
		if (!apply_lists(client_ctx, "client_tls", cf.client_tls_protocols, cf.client_tls_ciphers,
						 cf.client_tls13_ciphers, err, errlen))
			return false;
		SSL_CTX_set_mode(client_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
						 SSL_MODE_RELEASE_BUFFERS);
		SSL_CTX_set_options(client_ctx, SSL_OP_NO_RENEGOTIATION);
		if (!load_pair(client_ctx, cf.client_tls_cert_file, cf.client_tls_key_file, "client_tls", err, errlen))
			return false;
		if (cf.client_tls_ca_file[0] && !load_ca(client_ctx, cf.client_tls_ca_file, "client_tls", err, errlen))
			return false;
		if (client_mode >= TLS_VERIFY_CA)
			SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		else if (cf.client_tls_ca_file[0])
			SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);	/* ask for one: cert auth (issue 16) */
	}
	if (server_mode != TLS_DISABLE)
	{
		server_ctx = *server_ctx_out = SSL_CTX_new(TLS_client_method());
		if (!server_ctx)
			return snprintf(err, errlen, "cannot create the TLS context for servers"), false;
		if (!apply_lists(server_ctx, "server_tls", cf.server_tls_protocols, cf.server_tls_ciphers,
						 cf.server_tls13_ciphers, err, errlen))
			return false;
		SSL_CTX_set_mode(server_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
						 SSL_MODE_RELEASE_BUFFERS);
		if (cf.server_tls_cert_file[0] && cf.server_tls_key_file[0] &&
			!load_pair(server_ctx, cf.server_tls_cert_file, cf.server_tls_key_file, "server_tls", err, errlen))
			return false;
		if (server_mode >= TLS_VERIFY_CA && !cf.server_tls_ca_file[0])
			return snprintf(err, errlen, "server_tls_sslmode = %s needs server_tls_ca_file",
							mode_names[server_mode]), false;
		/* as libpq: require with a CA file given checks the chain as verify-ca does */
		if (server_mode >= TLS_REQUIRE && cf.server_tls_ca_file[0])
		{
			if (!load_ca(server_ctx, cf.server_tls_ca_file, "server_tls", err, errlen))
				return false;
			SSL_CTX_set_verify(server_ctx, SSL_VERIFY_PEER, NULL);
		}
	}
	return true;
}

bool
tls_init(char *err, size_t errlen)
{
	SSL_CTX    *new_client = NULL;
	SSL_CTX    *new_server = NULL;
	TlsMode		new_client_mode = TLS_DISABLE;
	TlsMode		new_server_mode = TLS_DISABLE;

	if (!build_contexts(&new_client, &new_server, &new_client_mode, &new_server_mode, err, errlen))
	{
		SSL_CTX_free(new_client);
		SSL_CTX_free(new_server);
		return false;
	}
	/* connections made with the old contexts hold references to them (SSL_new): freed with the last */
	SSL_CTX_free(client_ctx);
	SSL_CTX_free(server_ctx);
	client_ctx = new_client;
	server_ctx = new_server;
	client_mode = new_client_mode;
	server_mode = new_server_mode;
	return true;
}

bool
tls_server_conninfo(char *out, size_t outlen)
{
	static const char *const libpq_versions[] = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
	size_t		start = strlen(out);
	TlsMode		mode = TLS_PREFER;
	char		bad[64];
	int			set = protocol_set(cf.server_tls_protocols, bad, sizeof(bad));
	int			lowest = 2;
	int			highest = 3;	/* "secure", should the set be empty (tls_init refuses that) */

	(void) tls_parse_mode(cf.server_tls_sslmode, &mode);
	/* libpq takes a range only: from the set's lowest version to its highest (tls_init checked it) */
	if (set)
		set_range(set, &lowest, &highest);
	if (!conninfo_append(out, outlen, "sslmode", mode_names[mode]) ||
		(mode != TLS_DISABLE &&
		 (!conninfo_append(out, outlen, "ssl_min_protocol_version", libpq_versions[lowest]) ||
		  !conninfo_append(out, outlen, "ssl_max_protocol_version", libpq_versions[highest]))) ||
		(mode >= TLS_REQUIRE && cf.server_tls_ca_file[0] &&
		 !conninfo_append(out, outlen, "sslrootcert", cf.server_tls_ca_file)) ||
		(mode != TLS_DISABLE && cf.server_tls_cert_file[0] && cf.server_tls_key_file[0] &&
		 (!conninfo_append(out, outlen, "sslcert", cf.server_tls_cert_file) ||
		  !conninfo_append(out, outlen, "sslkey", cf.server_tls_key_file))))
	{
		out[start] = '\0';
		return false;
	}
	return true;
}

bool
tls_client_offered(void)
{
	return client_ctx != NULL;
}

bool
tls_client_required(void)
{
	return client_ctx != NULL && client_mode >= TLS_REQUIRE;
}

const char *
tls_client_mode_name(void)
{
	return mode_names[client_mode];
}

TlsMode
tls_server_mode(void)
{
	return server_mode;
}

static bool
attach(Conn *conn, SSL_CTX *ctx)
{
	SSL		   *ssl = SSL_new(ctx);

	if (!ssl)
		return false;
	if (SSL_set_fd(ssl, conn->fd) != 1)
	{
		SSL_free(ssl);
		return false;
	}
	conn->ssl = ssl;
	conn->tls_want = 0;
	return true;
}

bool
tls_accept(Conn *conn)
{
	if (!client_ctx || !attach(conn, client_ctx))
		return false;
	SSL_set_accept_state(conn->ssl);
	return true;
}

bool
tls_connect(Conn *conn, const char *host)
{
	unsigned char addr[16];
	bool		is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;

	if (!server_ctx || !attach(conn, server_ctx))
		return false;
	if (!is_ip)
		SSL_set_tlsext_host_name(conn->ssl, host);
	if (server_mode == TLS_VERIFY_FULL)
	{
		X509_VERIFY_PARAM *param = SSL_get0_param(conn->ssl);

		if ((is_ip && X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1) ||
			(!is_ip && X509_VERIFY_PARAM_set1_host(param, host, 0) != 1))
		{
			tls_free(conn);
			return false;
		}
	}
	SSL_set_connect_state(conn->ssl);
	return true;
}

/* io_result: maps an SSL_read/SSL_write failure to recv/send conventions. */
static ssize_t
io_result(Conn *conn, int rc, bool reading)
{
	int			e = SSL_get_error(conn->ssl, rc);
	char		why[256];

	switch (e)
	{
		case SSL_ERROR_WANT_READ:
			conn->tls_want = reading ? 0 : TLS_WRITE_NEEDS_READ;
			errno = EAGAIN;
			return -1;
		case SSL_ERROR_WANT_WRITE:
			conn->tls_want = reading ? TLS_READ_NEEDS_WRITE : 0;
			errno = EAGAIN;
			return -1;
		case SSL_ERROR_ZERO_RETURN:
			ERR_clear_error();
			if (reading)
				return 0;
			errno = ECONNRESET;
			return -1;
		case SSL_ERROR_SYSCALL:
			if (ERR_peek_error() == 0)
			{
				if (errno == 0 || (reading && rc == 0))
				{
					/* EOF without close_notify: treat as a closed connection */
					if (reading)
						return 0;
					errno = ECONNRESET;
				}
				return -1;
			}
			/* fall through */
		default:
			openssl_error(why, sizeof(why));
			/* anyone can repeat a broken handshake at will: client lines are rate-limited (log.h) */
			if (conn->kind != 'C' || log_event_allowed(LOGEV_CLIENT_TLS_ERROR))
				slog_info(conn, "TLS error: %s", why);
			snprintf(last_error, sizeof(last_error), "%s", why);
			errno = EPROTO;
			return -1;
	}
}

ssize_t
tls_recv(Conn *conn, void *buf, size_t len)
{
	int			rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_read(conn->ssl, buf, len > INT32_MAX ? INT32_MAX : (int) len);
	if (rc > 0)
	{
		conn->tls_want &= ~TLS_READ_NEEDS_WRITE;
		return rc;
	}
	return io_result(conn, rc, true);
}

ssize_t
tls_send(Conn *conn, const void *buf, size_t len)
{
	int			rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_write(conn->ssl, buf, len > INT32_MAX ? INT32_MAX : (int) len);
	if (rc > 0)
	{
		conn->tls_want &= ~TLS_WRITE_NEEDS_READ;
		return rc;
	}
	return io_result(conn, rc, false);
}

bool
tls_pending(const Conn *conn)
{
	return conn->ssl && SSL_pending(conn->ssl) > 0;
}

void
tls_free(Conn *conn)
{
	if (!conn->ssl)
		return;
	SSL_free(conn->ssl);
	conn->ssl = NULL;
	conn->tls_want = 0;
}

const char *
tls_describe(const Conn *conn)
{
	static char buf[128];

	if (!conn->ssl)
		return "";
	snprintf(buf, sizeof(buf), "%s/%s", SSL_get_version(conn->ssl), SSL_get_cipher_name(conn->ssl));
	return buf;
}

bool
tls_client_name_ok(const Conn *conn, const char *user, char *why, size_t whylen)
{
	X509	   *cert;
	X509_NAME  *subject;
	int			idx;
	const ASN1_STRING *cn;
	bool		match;

	if (client_mode != TLS_VERIFY_FULL || !conn->ssl)
		return true;
	if (!(cert = SSL_get1_peer_certificate(conn->ssl)))
		return snprintf(why, whylen, "no client certificate"), false;
	subject = X509_get_subject_name(cert);
	idx = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
	cn = idx >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)) : NULL;
	/* as PostgreSQL: the whole CN, byte for byte; one with a NUL byte inside never matches */
	match = cn && (size_t) ASN1_STRING_length(cn) == strlen(user) &&
		memcmp(ASN1_STRING_get0_data(cn), user, strlen(user)) == 0;
	if (!match)
		snprintf(why, whylen, cn ? "the client certificate's common name is not the user name" :
				 "the client certificate has no common name");
	X509_free(cert);
	return match;
}

bool
tls_server_end_point(const Conn *conn, uint8_t *out, size_t outsize, size_t *outlen)
{
	X509	   *cert = conn->ssl ? SSL_get_certificate(conn->ssl) : NULL;
	int			md_nid;
	const EVP_MD *md;
	unsigned int len = 0;
	uint8_t		hash[EVP_MAX_MD_SIZE];

	/* RFC 5929 section 4.1: the certificate's signature hash, SHA-256 in place of MD5 and SHA-1 */
	if (!cert || !OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, NULL))
		return false;
	if (md_nid == NID_md5 || md_nid == NID_sha1)
		md_nid = NID_sha256;
	if (!(md = EVP_get_digestbynid(md_nid)) || X509_digest(cert, md, hash, &len) != 1 || len > outsize)
		return false;
	memcpy(out, hash, len);
	*outlen = len;
	return true;
}

const char *
tls_last_error(void)
{
	return last_error[0] ? last_error : "unknown TLS error";
}
