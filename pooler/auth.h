/*
 * auth.h: the pooler's password authentication, as pure functions: the auth_file (PgBouncer's
 * userlist.txt) and the md5 method, in both roles (the pooler as a server to applications and as a
 * client of PostgreSQL). SCRAM-SHA-256 is in scram.h. Nothing here does network I/O or logs; messages
 * written into err buffers never contain a password, a secret, a proof or a nonce.
 *
 * Which method a client login uses (auth_client_method), with auth_type and the user's auth_file secret:
 *   auth_type       plain secret   md5 secret      SCRAM secret   no entry / empty secret
 *   trust           trust          trust           trust          trust; REFUSE if an auth_file is set
 *                                                                 and the user is not in it
 *   md5             md5            md5             SCRAM (*)      md5, doomed
 *   scram-sha-256   SCRAM          SCRAM, doomed   SCRAM          SCRAM, doomed
 * (*) as PostgreSQL and PgBouncer do: an md5 challenge cannot be checked against a SCRAM secret.
 * A doomed exchange runs the whole protocol and then fails like a wrong password, so that a client cannot
 * tell an unknown user, or a secret that cannot serve, from a wrong password; the reason goes to the log.
 *
 * Wiring, for the client state machine (the pooler as server):
 *   method = auth_client_method(cf.auth_type, authfile, user, &entry, why, sizeof(why))
 *   TRUST  -> AuthenticationOk.  REFUSE -> log why; ErrorResponse 28000, close.
 *   MD5    -> auth_md5_salt(salt); send AuthenticationMD5Password(salt); on PasswordMessage:
 *             auth_md5_verify(entry, user, salt, text).
 *   SCRAM  -> scram_server_begin(&st, user, entry); send AuthenticationSASL("SCRAM-SHA-256"); on
 *             SASLInitialResponse (mechanism must be SCRAM_MECHANISM, else 28000):
 *             scram_server_handle_client_first -> AuthenticationSASLContinue(out); on SASLResponse:
 *             scram_server_handle_client_final -> AuthenticationSASLFinal(out), AuthenticationOk.
 *   Any result but AUTH_OK: log why / st.error, then ErrorResponse and close: AUTH_FAILED -> 28P01
 *   "password authentication failed for user "..."", AUTH_MALFORMED -> 08P01, AUTH_UNUSABLE -> 28000.
 *   After SCRAM success, st.client_key may be kept (with the entry) for scram_client_begin_keys.
 * For the server state machine (the pooler logging into PostgreSQL): AuthenticationMD5Password ->
 * auth_md5_client_response; AuthenticationSASL listing SCRAM-SHA-256 -> scram_client_begin (plain
 * password) or scram_client_begin_keys, scram_client_first_message -> SASLInitialResponse;
 * SASLContinue -> scram_client_handle_server_first -> SASLResponse; SASLFinal ->
 * scram_client_verify_server_final (a failure there means the server is not who it claims: close).
 *
 * Which secret the pooler can use to log into PostgreSQL itself:
 *   server asks for   plain           md5 secret                    SCRAM secret
 *   md5               yes             yes (same user name)          no
 *   SCRAM-SHA-256     yes             no                            only with the ClientKey that a client's
 *                                                                   SCRAM login to the pooler revealed, and
 *                                                                   only if the secret equals pg_authid's
 *                                                                   (scram_client_begin_keys)
 */
#ifndef FAREGATE_AUTH_H
#define FAREGATE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define AUTH_MD5_LEN 35			/* "md5" + 32 hex digits; buffers need AUTH_MD5_LEN + 1 */
#define SCRAM_KEY_LEN 32		/* SHA-256 output */
#define SCRAM_SALT_MAX 128		/* longest decoded salt accepted (PostgreSQL makes 16 bytes) */
#define SCRAM_MAX_ITERATIONS 100000 /* bound on i= (auth_file and servers): Hi() blocks the event loop */
#define AUTH_ERR_MAX 256

/* What an authentication step concluded. */
typedef enum AuthResult
{
	AUTH_OK,					/* proven; for SCRAM steps: go on to the next message */
	AUTH_FAILED,				/* wrong password, unknown user or doomed exchange: SQLSTATE 28P01 */
	AUTH_MALFORMED,				/* the peer broke the protocol: SQLSTATE 08P01 */
	AUTH_UNUSABLE				/* the secret cannot serve this method (md5 secret for SCRAM, SCRAM
								 * secret for md5, channel binding asked, secrets differ): 28000 */
} AuthResult;

/* How an auth_file secret is written. */
typedef enum AuthSecretKind
{
	AUTH_SECRET_EMPTY,			/* "": the user exists (for trust) but can never log in with a password */
	AUTH_SECRET_PLAIN,			/* the password itself */
	AUTH_SECRET_MD5,			/* "md5" + hex(md5(password || user)), as in pg_authid */
	AUTH_SECRET_SCRAM			/* SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>, as in pg_authid */
} AuthSecretKind;

/* A SCRAM-SHA-256 verifier, decoded. */
typedef struct ScramSecret
{
	int			iterations;
	int			salt_len;
	uint8_t		salt[SCRAM_SALT_MAX];
	uint8_t		stored_key[SCRAM_KEY_LEN];
	uint8_t		server_key[SCRAM_KEY_LEN];
} ScramSecret;

/*
 * The SCRAM verifier of a plain secret, derived at the user's first SCRAM login and kept: deriving costs
 * 4096 HMACs (about 1 ms) that would otherwise block the event loop at every login. state goes
 * 0 (none) -> 1 (one thread deriving) -> 2 (secret ready, never written again), with atomic
 * compare-and-swap, so threads may share an AuthFile; a thread that finds 1 derives for itself.
 */
typedef struct ScramCache
{
	_Atomic int state;
	ScramSecret secret;
} ScramCache;

/* One auth_file line. */
typedef struct AuthEntry
{
	char	   *user;
	char	   *secret;			/* the text as written (plain password or md5 secret); wiped on free */
	AuthSecretKind kind;
	ScramSecret scram;			/* decoded, for AUTH_SECRET_SCRAM */
	ScramCache *cache;			/* plain secrets loaded by authfile_load; NULL: derive at every login */
	int			line;			/* line in the file, for messages */
} AuthEntry;

/* A loaded auth_file: entries sorted by user name for authfile_lookup. */
typedef struct AuthFile
{
	AuthEntry  *entries;
	int			n_entries;
	unsigned	readable_mode;	/* the file's mode when its group or others can read it, else 0 */
} AuthFile;

/* How the pooler authenticates a client (auth_client_method). */
typedef enum AuthMethod
{
	AUTH_METHOD_TRUST,			/* AuthenticationOk at once */
	AUTH_METHOD_MD5,			/* AuthenticationMD5Password, then auth_md5_verify */
	AUTH_METHOD_SCRAM,			/* AuthenticationSASL "SCRAM-SHA-256", then scram_server_* */
	AUTH_METHOD_PLAIN,			/* AuthenticationCleartextPassword, then auth_plain_verify */
	AUTH_METHOD_REFUSE			/* no exchange can succeed: refuse the login, SQLSTATE 28000 */
} AuthMethod;

/*
 * authfile_load: reads the auth_file at path into *out (initialised here; on failure it holds nothing to
 * free). Refuses a file that is not a regular file, or that anyone but its owner can write (chmod 600
 * it), and any bad line, with "path:line: reason" in err; a file its group or others can read loads,
 * with out->readable_mode set for the caller's warning. Loading fills a
 * fresh AuthFile, so a reload with a bad file leaves the one in use untouched.
 */
__attribute__((warn_unused_result))
extern bool authfile_load(const char *path, AuthFile *out, char *err, size_t errlen);

/* authfile_lookup: the entry of user, or NULL. */
extern const AuthEntry *authfile_lookup(const AuthFile *file, const char *user);

/* authfile_free: wipes the secrets and releases what authfile_load allocated. */
extern void authfile_free(AuthFile *file);

/* The key of the salts the pooler shows for users without a stored SCRAM salt (scram.c user_salt). */
#define AUTH_SALT_KEY_LEN 32

/*
 * auth_salt_key_load: reads the salt key from path (64 hex digits), creating the file (mode 600, random
 * key) when it does not exist. 1 = key read or created (*created says which); 0 = the file does not exist
 * and cannot be created (err says why: the caller warns and uses a key per process); -1 = the file is
 * unusable (readable by others, not a regular file, malformed): err says what to do.
 */
extern int	auth_salt_key_load(const char *path, uint8_t key[AUTH_SALT_KEY_LEN], bool *created, char *err,
							   size_t errlen);

/* auth_secret_kind: how a secret text is read (a malformed "SCRAM-SHA-256$..." counts as plain here). */
extern AuthSecretKind auth_secret_kind(const char *secret);

/*
 * auth_client_method: the method for a client login as user, given auth_type and the auth_file (NULL when
 * none is configured); sets *entry to the entry to verify against, or NULL when the exchange is doomed.
 * See the table at the top of this file. err gets the reason for REFUSE and for a doomed exchange, for
 * the log only (the client sees the same "password authentication failed" as for a wrong password);
 * it is set to "" otherwise.
 */
extern AuthMethod auth_client_method(AuthType type, const AuthFile *file, const char *user,
									 const AuthEntry **entry, char *err, size_t errlen);

/*
 * auth_method_for_entry: auth_client_method for an entry found elsewhere (auth_query's cache, or NULL):
 * have_users says whether a list of users exists at all (trust then refuses a user missing from it).
 * type is trust, md5, scram-sha-256 or plain (login.c resolves cert, any and hba first).
 */
extern AuthMethod auth_method_for_entry(AuthType type, bool have_users, const AuthEntry *found,
										const char *user, const AuthEntry **entry, char *err, size_t errlen);

/*
 * auth_entry_make / auth_entry_free: one entry built from a user name and a secret text (auth_query's
 * answers; line = 0), decoded like an auth_file line; false with err (never the secret) when malformed.
 */
__attribute__((warn_unused_result))
extern bool auth_entry_make(const char *user, const char *secret, AuthEntry *out, char *err, size_t errlen);
extern void auth_entry_free(AuthEntry *entry);

/*
 * auth_plain_verify: the pooler as server with auth_type = plain: password is what the client sent in
 * the clear. OK when it is the entry's plain password, hashes to its md5 secret or derives its SCRAM
 * verifier (constant-time compares); FAILED otherwise, for a NULL entry or an empty secret.
 */
extern AuthResult auth_plain_verify(const AuthEntry *entry, const char *user, const char *password);

/* auth_md5_salt: a random salt for AuthenticationMD5Password (a fresh one per login); false without randomness. */
__attribute__((warn_unused_result))
extern bool auth_md5_salt(uint8_t salt[4]);

/* auth_md5_hash: out = "md5" + hex(md5(password || user)), the md5 secret of pg_authid. */
extern void auth_md5_hash(const char *user, const char *password, char out[AUTH_MD5_LEN + 1]);

/*
 * auth_md5_verify: the pooler as server. client_response is the PasswordMessage text
 * ("md5" + hex(md5(md5secret_hex || salt))). OK when it matches the entry's plain or md5 secret (compared
 * in constant time); FAILED for a wrong one, a NULL entry or an empty secret; UNUSABLE for a SCRAM secret.
 */
extern AuthResult auth_md5_verify(const AuthEntry *entry, const char *user, const uint8_t salt[4],
								  const char *client_response);

/*
 * auth_md5_client_response: the pooler as client of PostgreSQL, answering AuthenticationMD5Password:
 * out = "md5" + hex(md5(hex part of md5secret || salt)). secret is the plain password or an md5 secret
 * (which must have been made for this user name).
 */
extern void auth_md5_client_response(const char *user, const char *secret, const uint8_t salt[4],
									 char out[AUTH_MD5_LEN + 1]);

#endif
