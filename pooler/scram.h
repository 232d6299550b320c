/*
 * scram.h: SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it, both ways: the pooler verifying an
 * application (ScramServer) and the pooler logging into PostgreSQL (ScramClient); plus building and
 * parsing the secrets of pg_authid / the auth_file. Pure functions over the SASL payloads: the caller
 * frames them (AuthenticationSASL / SASLContinue / SASLFinal, SASLInitialResponse / SASLResponse).
 *
 * Mechanisms "SCRAM-SHA-256" and, as a server to a client on TLS, "SCRAM-SHA-256-PLUS" with channel
 * binding type tls-server-end-point (RFC 5929: the hash of the pooler's own certificate, which tls.c
 * computes; scram_server_set_channel_binding). As a server we accept the gs2 headers "n,," and "y,,"
 * without TLS; on TLS "y,," is refused (the client thinks we do not offer channel binding: a downgrade)
 * and "p=tls-server-end-point,," must come with SCRAM-SHA-256-PLUS and no other mechanism. As a client
 * we send "n,,".
 *
 * SASLprep: a password made only of ASCII bytes is used as it is (what SASLprep gives for it, and what
 * PostgreSQL does); any other password is used as its raw UTF-8 bytes, which PostgreSQL also does when
 * SASLprep fails. Non-ASCII passwords therefore match PostgreSQL's when already in Unicode NFKC form and
 * free of the characters SASLprep maps (non-ASCII spaces, soft hyphen, zero-width characters ...).
 *
 * A state struct is a fixed block (no allocation), used for one exchange and then scram_*_clear()ed, which
 * wipes its keys. Results are AuthResult (auth.h); a result other than AUTH_OK leaves a message in
 * state->error (never a secret, proof or nonce), and the state then refuses further steps.
 */
#ifndef FAREGATE_SCRAM_H
#define FAREGATE_SCRAM_H

#include "auth.h"

#define SCRAM_MECHANISM "SCRAM-SHA-256"
#define SCRAM_MECHANISM_PLUS "SCRAM-SHA-256-PLUS"
#define SCRAM_CBIND_MAX 64		/* longest channel-binding data (a SHA-512 certificate hash) */
#define SCRAM_DEFAULT_ITERATIONS 4096	/* PostgreSQL's */
#define SCRAM_MSG_MAX 1024		/* longest SCRAM message accepted from a peer */
#define SCRAM_OUT_MAX 1280		/* room enough for any message built here */
#define SCRAM_PASSWORD_MAX 1024 /* longest password a ScramClient takes */
#define SCRAM_NONCE_MAX 512		/* longest nonce (ours + the peer's) */
#define SCRAM_SECRET_MAX 256	/* room enough for a secret's text */

typedef enum ScramStage
{
	SCRAM_INIT,					/* begun: the server waits for client-first, the client has to send it */
	SCRAM_WAIT_SERVER_FIRST,	/* client: client-first sent */
	SCRAM_WAIT_CLIENT_FINAL,	/* server: server-first sent */
	SCRAM_WAIT_SERVER_FINAL,	/* client: client-final sent */
	SCRAM_DONE,					/* proven (server: the client's proof; client: the server's signature) */
	SCRAM_ERROR					/* failed; error holds why; every further step fails */
} ScramStage;

/* The pooler as SCRAM server to one client. */
typedef struct ScramServer
{
	ScramStage	stage;
	bool		doomed;			/* no usable secret: the exchange runs and fails at the end */
	ScramSecret secret;
	char		gs2_header[4];	/* "n,," or "y,,", checked against c= */
	char		nonce[SCRAM_NONCE_MAX]; /* client nonce + ours; ours made at begin */
	size_t		server_nonce_len;
	char		client_first_bare[SCRAM_MSG_MAX];
	char		server_first[SCRAM_OUT_MAX];
	bool		have_client_key;	/* after AUTH_OK: client_key holds the client's ClientKey */
	uint8_t		client_key[SCRAM_KEY_LEN];	/* lets the pooler log into PostgreSQL (scram_client_begin_keys) */
	char		error[AUTH_ERR_MAX];
	/* channel binding (scram_server_set_channel_binding): cbind_len 0 = the client is not on TLS */
	uint8_t		cbind_data[SCRAM_CBIND_MAX];	/* tls-server-end-point: our certificate's hash */
	size_t		cbind_len;
	bool		plus;			/* the client chose SCRAM-SHA-256-PLUS (checked against its gs2 header) */
} ScramServer;

/* The pooler as SCRAM client of PostgreSQL. */
typedef struct ScramClient
{
	ScramStage	stage;
	bool		use_keys;		/* true: keys below given, password unused (pass-through) */
	char		password[SCRAM_PASSWORD_MAX];
	ScramSecret keys;			/* use_keys: the auth_file's secret the ClientKey belongs to */
	uint8_t		client_key[SCRAM_KEY_LEN];
	uint8_t		server_signature[SCRAM_KEY_LEN];	/* expected in server-final */
	char		nonce[SCRAM_NONCE_MAX]; /* ours, then ours + the server's */
	char		client_first_bare[SCRAM_MSG_MAX];
	char		error[AUTH_ERR_MAX];
} ScramClient;

/*
 * scram_server_begin: starts verifying client user against entry (its auth_file entry, or NULL). A SCRAM
 * secret is used as it is; a plain one gets a verifier with 4096 iterations, derived once per loaded
 * entry (entry->cache); NULL, an empty secret or an md5 secret make the exchange doomed: it runs and
 * fails at the end as a wrong password would, and error says why. Plain and doomed exchanges show a salt
 * that depends only on the user name and a key made at start-up, so that they look alike and stay the
 * same from one login to the next, as a stored SCRAM secret's does. Makes our nonce.
 * AUTH_OK, or AUTH_UNUSABLE if no random bytes could be had.
 */
__attribute__((warn_unused_result))
extern AuthResult scram_server_begin(ScramServer *s, const char *user, const AuthEntry *entry);

/*
 * scram_server_set_channel_binding: the client is on TLS and data (len <= SCRAM_CBIND_MAX) is the
 * tls-server-end-point binding of the connection: SCRAM-SHA-256-PLUS may be offered, and a client that
 * says "y" (it could bind but thinks we cannot) is refused. After scram_server_begin.
 */
extern void scram_server_set_channel_binding(ScramServer *s, const uint8_t *data, size_t len);

/*
 * scram_server_choose_mechanism: the mechanism named in SASLInitialResponse. False (the caller refuses
 * the login) for one not offered: SCRAM-SHA-256-PLUS is offered only with channel-binding data set.
 */
extern bool scram_server_choose_mechanism(ScramServer *s, const char *mechanism);

/*
 * scram_server_handle_client_first: parses client-first-message (the SASLInitialResponse data) and writes
 * server-first-message into out (outsize >= SCRAM_OUT_MAX), its length into *outlen.
 * AUTH_OK, AUTH_MALFORMED, or AUTH_UNUSABLE (channel binding, authzid or an extension asked for).
 */
__attribute__((warn_unused_result))
extern AuthResult scram_server_handle_client_first(ScramServer *s, const char *msg, size_t len, char *out,
												   size_t outsize, size_t *outlen);

/*
 * scram_server_handle_client_final: parses client-final-message (the SASLResponse data), checks the channel
 * binding attribute, the nonce and the proof (in constant time); on AUTH_OK writes server-final-message
 * ("v=...", for AuthenticationSASLFinal) into out. AUTH_FAILED: wrong password or doomed exchange.
 */
__attribute__((warn_unused_result))
extern AuthResult scram_server_handle_client_final(ScramServer *s, const char *msg, size_t len, char *out,
												   size_t outsize, size_t *outlen);

/*
 * scram_set_salt_key: the key of the salts shown for users without a stored SCRAM salt (unknown users,
 * plain passwords): salt = HMAC(key, user). Set from a key kept on disk (auth_salt_key_file), an
 * unknown user's salt stays the same across restarts, as a real user's does; without it, a random key
 * per process is used.
 */
extern void scram_set_salt_key(const uint8_t key[SCRAM_KEY_LEN]);

/* scram_server_clear: wipes the state (keys included). */
extern void scram_server_clear(ScramServer *s);

/*
 * scram_client_begin: starts a login with a password (SASLprep'ed as said above). username goes into the
 * n= attribute; PostgreSQL ignores it and libpq sends "" there. AUTH_OK, or AUTH_UNUSABLE (password too
 * long, no random bytes).
 */
__attribute__((warn_unused_result))
extern AuthResult scram_client_begin(ScramClient *c, const char *username, const char *password);

/*
 * scram_client_begin_keys: starts a login without the password, with the ClientKey a client revealed
 * (ScramServer.client_key) and the auth_file's SCRAM secret it was checked against. Works only when the
 * server's secret has the same salt and iteration count (else scram_client_handle_server_first says
 * UNUSABLE): copy the secret from pg_authid into the auth_file.
 */
__attribute__((warn_unused_result))
extern AuthResult scram_client_begin_keys(ScramClient *c, const char *username, const ScramSecret *secret,
										  const uint8_t client_key[SCRAM_KEY_LEN]);

/* scram_client_first_message: writes client-first-message (for SASLInitialResponse) into out. */
__attribute__((warn_unused_result))
extern AuthResult scram_client_first_message(ScramClient *c, char *out, size_t outsize, size_t *outlen);

/*
 * scram_client_handle_server_first: parses server-first-message (SASLContinue data): r= must extend our
 * nonce, s= be base64, 1 <= i= <= SCRAM_MAX_ITERATIONS; writes client-final-message with the proof into
 * out (for SASLResponse). AUTH_OK, AUTH_MALFORMED or AUTH_UNUSABLE.
 */
__attribute__((warn_unused_result))
extern AuthResult scram_client_handle_server_first(ScramClient *c, const char *msg, size_t len, char *out,
												   size_t outsize, size_t *outlen);

/*
 * scram_client_verify_server_final: checks server-final-message (SASLFinal data): v= must be the
 * ServerSignature (constant-time compare); e= is the server's refusal (AUTH_FAILED with its text).
 */
__attribute__((warn_unused_result))
extern AuthResult scram_client_verify_server_final(ScramClient *c, const char *msg, size_t len);

/* scram_client_clear: wipes the state (password and keys included). */
extern void scram_client_clear(ScramClient *c);

/*
 * scram_build_secret: writes "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" for password with
 * a random 16-byte salt into out (outsize >= SCRAM_SECRET_MAX). False if no random bytes or iterations out
 * of 1..SCRAM_MAX_ITERATIONS.
 */
__attribute__((warn_unused_result))
extern bool scram_build_secret(const char *password, int iterations, char *out, size_t outsize);

/* scram_derive_secret: the verifier of password for the given salt and iteration count (no checks). */
extern void scram_derive_secret(const char *password, const uint8_t *salt, int salt_len, int iterations,
								ScramSecret *out);

/* scram_format_secret: the text of a verifier, as in pg_authid, into out (outsize >= SCRAM_SECRET_MAX). */
extern void scram_format_secret(const ScramSecret *secret, char *out, size_t outsize);

/* scram_parse_secret: decodes the text of a verifier; false with the reason in err when malformed. */
__attribute__((warn_unused_result))
extern bool scram_parse_secret(const char *text, ScramSecret *out, char *err, size_t errlen);

/* scram_test_set_server_nonce / scram_test_set_client_nonce: replace our random nonce (tests only). */
extern void scram_test_set_server_nonce(ScramServer *s, const char *nonce);
extern void scram_test_set_client_nonce(ScramClient *c, const char *nonce);

/* scram_b64_encode / scram_b64_decode: standard base64 with padding; decode is strict (-1 when bad). */
extern size_t scram_b64_encode(const uint8_t *in, size_t len, char *out);
extern int	scram_b64_decode(const char *in, size_t len, uint8_t *out, size_t outsize);

#endif
