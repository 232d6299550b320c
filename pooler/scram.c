/*
 * scram.c: owns SCRAM-SHA-256 (RFC 5802 with SHA-256, RFC 7677) in both roles and the text form of its
 * secrets. See scram.h for the API, the channel-binding and SASLprep rules.
 *
 * The messages, as PostgreSQL exchanges them (attributes in this order; extensions "x=..." are ignored):
 *   client-first   gs2-header client-first-bare      gs2-header = "n,," | "y,," | "p=tls-server-end-point,,"
 *                                                    bare = "n=user,r=cnonce"
 *   server-first   "r=" cnonce snonce ",s=" salt ",i=" iterations
 *   client-final   "c=" b64(gs2-header cbind-data) ",r=" cnonce snonce ",p=" b64(ClientProof)
 *                  (cbind-data only after "p=": the tls-server-end-point hash of the pooler's certificate)
 *   server-final   "v=" b64(ServerSignature)  |  "e=" error
 * AuthMessage = client-first-bare "," server-first "," client-final-without-proof, and with
 * SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i): ClientKey = HMAC(SaltedPassword, "Client Key"),
 * StoredKey = SHA-256(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key"),
 * ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage), ServerSignature = HMAC(ServerKey, AuthMessage).
 * The server checks SHA-256(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey.
 *
 * Every incoming message is copied into a NUL-terminated buffer of at most SCRAM_MSG_MAX bytes before it
 * is parsed; one with a NUL byte inside is malformed.
 */
#include "scram.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SCRAM_RAW_NONCE_LEN 18	/* random bytes in our nonce, as PostgreSQL */
#define SCRAM_SALT_LEN 16		/* random bytes in a salt we make, as PostgreSQL */
#define SCRAM_PREFIX "SCRAM-SHA-256$"
#define AUTH_MESSAGE_MAX (SCRAM_MSG_MAX + SCRAM_OUT_MAX + SCRAM_MSG_MAX + 8)

/* ---- primitives ---- */

static void
hmac(const uint8_t *key, size_t keylen, const char *data, size_t len, uint8_t out[SCRAM_KEY_LEN])
{
	unsigned	outlen = SCRAM_KEY_LEN;

	if (!HMAC(EVP_sha256(), key, (int) keylen, (const uint8_t *) data, len, out, &outlen))
		memset(out, 0, SCRAM_KEY_LEN);	/* only without SHA-256 at all; nothing will then verify */
}

static void
sha256(const uint8_t *data, size_t len, uint8_t out[SCRAM_KEY_LEN])
{
	if (!EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL))
		memset(out, 0, SCRAM_KEY_LEN);
}

/* salted_keys: ClientKey and ServerKey of password (used as its bytes: see SASLprep in scram.h). */
static void
salted_keys(const char *password, const uint8_t *salt, int salt_len, int iterations,
			uint8_t client_key[SCRAM_KEY_LEN], uint8_t server_key[SCRAM_KEY_LEN])
{
	uint8_t		salted[SCRAM_KEY_LEN];

	if (!PKCS5_PBKDF2_HMAC(password, (int) strlen(password), salt, salt_len, iterations, EVP_sha256(),
						   SCRAM_KEY_LEN, salted))
		memset(salted, 0, sizeof(salted));
	hmac(salted, SCRAM_KEY_LEN, "Client Key", 10, client_key);
	hmac(salted, SCRAM_KEY_LEN, "Server Key", 10, server_key);
	OPENSSL_cleanse(salted, sizeof(salted));
}

size_t
scram_b64_encode(const uint8_t *in, size_t len, char *out)
{
	return (size_t) EVP_EncodeBlock((unsigned char *) out, in, (int) len);
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int
scram_b64_decode(const char *in, size_t len, uint8_t *out, size_t outsize)
{
	size_t		n = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4)
	{
		int			v[4];
		int			pad = 0;

		for (int j = 0; j < 4; j++)
		{
			v[j] = b64_value(in[i + j]);
			if (in[i + j] == '=' && i + 4 == len && j >= 2)
			{
				pad++;
				v[j] = 0;
			}
			else if (v[j] < 0 || pad)
				return -1;		/* not base64, or data after padding */
		}
		if (n + 3 - pad > outsize)
			return -1;
		out[n++] = (uint8_t) (v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[n++] = (uint8_t) ((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[n++] = (uint8_t) ((v[2] & 3) << 6 | v[3]);
	}
	return (int) n;
}

static bool
random_nonce(char *out)
{
	uint8_t		raw[SCRAM_RAW_NONCE_LEN];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return false;
	scram_b64_encode(raw, sizeof(raw), out);
	return true;
}

/* SV_FAIL / CL_FAIL: record why in the state's error, put it in SCRAM_ERROR, and give result. */
#define STATE_FAIL(st, result, ...) \
	(snprintf((st)->error, AUTH_ERR_MAX, __VA_ARGS__), (st)->stage = SCRAM_ERROR, (result))
#define SV_FAIL(s, result, ...) STATE_FAIL(s, result, __VA_ARGS__)
#define CL_FAIL(c, result, ...) STATE_FAIL(c, result, __VA_ARGS__)

/* ---- secrets ---- */

void
scram_derive_secret(const char *password, const uint8_t *salt, int salt_len, int iterations, ScramSecret *out)
{
	uint8_t		client_key[SCRAM_KEY_LEN];

	memset(out, 0, sizeof(*out));
	out->iterations = iterations;
	out->salt_len = salt_len;
	memcpy(out->salt, salt, salt_len);
	salted_keys(password, salt, salt_len, iterations, client_key, out->server_key);
	sha256(client_key, SCRAM_KEY_LEN, out->stored_key);
	OPENSSL_cleanse(client_key, sizeof(client_key));
}

void
scram_format_secret(const ScramSecret *secret, char *out, size_t outsize)
{
	char		salt[SCRAM_SALT_MAX * 2],
				stored[64],
				server[64];

	scram_b64_encode(secret->salt, secret->salt_len, salt);
	scram_b64_encode(secret->stored_key, SCRAM_KEY_LEN, stored);
	scram_b64_encode(secret->server_key, SCRAM_KEY_LEN, server);
	snprintf(out, outsize, SCRAM_PREFIX "%d:%s$%s:%s", secret->iterations, salt, stored, server);
}

bool
scram_build_secret(const char *password, int iterations, char *out, size_t outsize)
{
	uint8_t		salt[SCRAM_SALT_LEN];
	ScramSecret secret;

	if (iterations < 1 || iterations > SCRAM_MAX_ITERATIONS || RAND_bytes(salt, sizeof(salt)) != 1)
		return false;
	scram_derive_secret(password, salt, sizeof(salt), iterations, &secret);
	scram_format_secret(&secret, out, outsize);
	OPENSSL_cleanse(&secret, sizeof(secret));
	return true;
}

/* parse_iterations: a decimal count in 1..SCRAM_MAX_ITERATIONS, or -1. */
static int
parse_iterations(const char *text, size_t len)
{
	long		value = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		if (text[i] < '0' || text[i] > '9')
			return -1;
		value = value * 10 + (text[i] - '0');
	}
	return value >= 1 && value <= SCRAM_MAX_ITERATIONS ? (int) value : -1;
}

bool
scram_parse_secret(const char *text, ScramSecret *out, char *err, size_t errlen)
{
	const char *iter = text + strlen(SCRAM_PREFIX),
			   *salt,
			   *stored,
			   *server;

	memset(out, 0, sizeof(*out));
	if (strncmp(text, SCRAM_PREFIX, strlen(SCRAM_PREFIX)) != 0 || !(salt = strchr(iter, ':')) ||
		!(stored = strchr(salt + 1, '$')) || !(server = strchr(stored + 1, ':')))
	{
		snprintf(err, errlen, "expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>");
		return false;
	}
	salt++;
	stored++;
	server++;
	if ((out->iterations = parse_iterations(iter, salt - 1 - iter)) < 0)
		snprintf(err, errlen, "the iteration count must be a number from 1 to %d", SCRAM_MAX_ITERATIONS);
	else if ((out->salt_len = scram_b64_decode(salt, stored - 1 - salt, out->salt, SCRAM_SALT_MAX)) < 1)
		snprintf(err, errlen, "the salt is not base64 of 1 to %d bytes", SCRAM_SALT_MAX);
	else if (scram_b64_decode(stored, server - 1 - stored, out->stored_key, SCRAM_KEY_LEN) != SCRAM_KEY_LEN ||
			 scram_b64_decode(server, strlen(server), out->server_key, SCRAM_KEY_LEN) != SCRAM_KEY_LEN)
		snprintf(err, errlen, "StoredKey and ServerKey must each be base64 of %d bytes", SCRAM_KEY_LEN);
	else
		return true;
	memset(out, 0, sizeof(*out));
	return false;
}

/* ---- message parsing ---- */

/*
 * copy_message: msg as a C string in buf (SCRAM_MSG_MAX bytes); false when too long, holding a NUL or
 * ending with ',' (so that no attribute list can end with an empty attribute).
 */
static bool
copy_message(const char *msg, size_t len, char *buf)
{
	if (len >= SCRAM_MSG_MAX || memchr(msg, '\0', len) || (len > 0 && msg[len - 1] == ','))
		return false;
	memcpy(buf, msg, len);
	buf[len] = '\0';
	return true;
}

/*
 * next_attr: at *p expects "<name>=value"; returns the value (its length in *vlen) and moves *p past it and
 * past one following ','. NULL when *p does not start with that attribute.
 */
static const char *
next_attr(const char **p, char name, size_t *vlen)
{
	const char *value = *p + 2,
			   *end;

	if ((*p)[0] != name || (*p)[1] != '=')
		return NULL;
	end = strchr(value, ',');
	if (!end)
		end = value + strlen(value);
	*vlen = end - value;
	*p = *end ? end + 1 : end;
	return value;
}

/* skip_extensions: skips "x=value" attributes up to the end or to one named stop; false if malformed. */
static bool
skip_extensions(const char **p, char stop)
{
	while (**p && (**p != stop || stop == 0))
	{
		size_t		vlen;

		if (!((**p >= 'a' && **p <= 'z') || (**p >= 'A' && **p <= 'Z')) || !next_attr(p, **p, &vlen))
			return false;
	}
	return true;
}

/* printable_nonce: RFC 5802's printable (0x21-0x7E without ','), at least one character. */
static bool
printable_nonce(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	return len > 0;
}

/* auth_signatures: HMAC(StoredKey, AuthMessage) and HMAC(ServerKey, AuthMessage). */
static void
auth_signatures(const char *bare, const char *server_first, const char *final_without_proof, size_t final_len,
				const ScramSecret *keys, uint8_t client_sig[SCRAM_KEY_LEN], uint8_t server_sig[SCRAM_KEY_LEN])
{
	char		message[AUTH_MESSAGE_MAX];
	int			n = snprintf(message, sizeof(message), "%s,%s,%.*s", bare, server_first, (int) final_len,
							 final_without_proof);

	if (n < 0 || (size_t) n >= sizeof(message))
		n = 0;					/* cannot happen with the bounds above; an empty message verifies nothing */

	hmac(keys->stored_key, SCRAM_KEY_LEN, message, n, client_sig);
	hmac(keys->server_key, SCRAM_KEY_LEN, message, n, server_sig);
}

/* ---- server ---- */

static uint8_t salt_key[SCRAM_KEY_LEN];
static bool salt_key_ok;
static pthread_once_t salt_key_once = PTHREAD_ONCE_INIT;

static void
make_salt_key(void)
{
	salt_key_ok = RAND_bytes(salt_key, sizeof(salt_key)) == 1;
}

void
scram_set_salt_key(const uint8_t key[SCRAM_KEY_LEN])
{
	(void) pthread_once(&salt_key_once, make_salt_key);	/* a later first use must not replace it */
	memcpy(salt_key, key, SCRAM_KEY_LEN);
	salt_key_ok = true;
}

/* user_salt: the salt shown for user when no stored SCRAM secret has one: HMAC(salt key, user). */
static bool
user_salt(const char *user, uint8_t salt[SCRAM_SALT_LEN])
{
	uint8_t		mac[SCRAM_KEY_LEN];

	if (pthread_once(&salt_key_once, make_salt_key) != 0 || !salt_key_ok)
		return false;
	hmac(salt_key, sizeof(salt_key), user, strlen(user), mac);
	memcpy(salt, mac, SCRAM_SALT_LEN);
	return true;
}

AuthResult
scram_server_begin(ScramServer *s, const char *user, const AuthEntry *entry)
{
	uint8_t		salt[SCRAM_SALT_LEN];
	ScramCache *cache = entry && entry->kind == AUTH_SECRET_PLAIN ? entry->cache : NULL;
	int			expected = 0;

	memset(s, 0, sizeof(*s));
	s->doomed = !entry || (entry->kind != AUTH_SECRET_PLAIN && entry->kind != AUTH_SECRET_SCRAM);
	if (entry && entry->kind == AUTH_SECRET_SCRAM)
		s->secret = entry->scram;
	else if (cache && atomic_load_explicit(&cache->state, memory_order_acquire) == 2)
		s->secret = cache->secret;
	else if (!user_salt(user, salt))
		return SV_FAIL(s, AUTH_UNUSABLE, "no random bytes for a SCRAM salt key");
	else if (s->doomed)
	{
		/* Nothing will verify: only the salt and count are shown. */
		s->secret.iterations = SCRAM_DEFAULT_ITERATIONS;
		s->secret.salt_len = SCRAM_SALT_LEN;
		memcpy(s->secret.salt, salt, SCRAM_SALT_LEN);
	}
	else
	{
		scram_derive_secret(entry->secret, salt, SCRAM_SALT_LEN, SCRAM_DEFAULT_ITERATIONS, &s->secret);
		if (cache && atomic_compare_exchange_strong(&cache->state, &expected, 1))
		{
			cache->secret = s->secret;
			atomic_store_explicit(&cache->state, 2, memory_order_release);
		}
	}
	if (!entry)
		snprintf(s->error, sizeof(s->error), "user \"%.64s\" is not in the auth_file", user);
	else if (entry->kind == AUTH_SECRET_MD5)
		snprintf(s->error, sizeof(s->error), "user \"%.64s\" has an md5 secret in the auth_file, which cannot "
				 "serve SCRAM-SHA-256: store a plain or SCRAM secret", user);
	else if (s->doomed)
		snprintf(s->error, sizeof(s->error), "user \"%.64s\" has an empty secret in the auth_file", user);
	if (!random_nonce(s->nonce))
		return SV_FAIL(s, AUTH_UNUSABLE, "no random bytes for a SCRAM nonce");
	s->server_nonce_len = strlen(s->nonce);
	s->stage = SCRAM_INIT;
	return AUTH_OK;
}

void
scram_test_set_server_nonce(ScramServer *s, const char *nonce)
{
	snprintf(s->nonce, sizeof(s->nonce), "%s", nonce);
	s->server_nonce_len = strlen(s->nonce);
}

void
scram_server_set_channel_binding(ScramServer *s, const uint8_t *data, size_t len)
{
	if (len > sizeof(s->cbind_data))
		len = 0;				/* cannot happen (SCRAM_CBIND_MAX is a SHA-512 hash): no binding */
	memcpy(s->cbind_data, data, len);
	s->cbind_len = len;
}

bool
scram_server_choose_mechanism(ScramServer *s, const char *mechanism)
{
	s->plus = s->cbind_len > 0 && strcmp(mechanism, SCRAM_MECHANISM_PLUS) == 0;
	return s->plus || strcmp(mechanism, SCRAM_MECHANISM) == 0;
}

#define CBIND_GS2_HEADER "p=tls-server-end-point,,"

/*
 * read_gs2_header: the gs2 header at the start of client-first (buf), checked against the mechanism the
 * client chose and whether it is on TLS (PostgreSQL's rules); *rest: the client-first-bare after it.
 */
static AuthResult
read_gs2_header(ScramServer *s, const char *buf, const char **rest)
{
	if (buf[0] == 'p')
	{
		if (!s->plus)
			return SV_FAIL(s, AUTH_MALFORMED, "the client chose SCRAM-SHA-256 without channel binding, but its "
						   "SCRAM message asks for channel binding");
		if (strncmp(buf, "p=tls-server-end-point,", 23) != 0)
			return SV_FAIL(s, AUTH_UNUSABLE, "unsupported SCRAM channel-binding type (only "
						   "tls-server-end-point is)");
		buf += 23;
	}
	else
	{
		if (s->plus)
			return SV_FAIL(s, AUTH_MALFORMED, "the client chose SCRAM-SHA-256-PLUS, but its SCRAM message has "
						   "no channel-binding data");
		if ((buf[0] != 'n' && buf[0] != 'y') || buf[1] != ',')
			return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: bad GS2 channel-binding flag");
		if (buf[0] == 'y' && s->cbind_len > 0)
			return SV_FAIL(s, AUTH_MALFORMED, "SCRAM channel-binding negotiation error: the client supports "
						   "channel binding but thinks the pooler does not, and it does (a downgrade?)");
		memcpy(s->gs2_header, buf, 2);
		buf += 2;
	}
	if (buf[0] == 'a' && buf[1] == '=')
		return SV_FAIL(s, AUTH_UNUSABLE, "SCRAM authorization identity (a=) is not supported");
	if (buf[0] != ',')
		return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: bad GS2 header");
	s->gs2_header[2] = ',';
	s->gs2_header[3] = '\0';
	*rest = buf + 1;
	return AUTH_OK;
}

/*
 * cbind_matches: the c= attribute of client-final (decoded: raw, len) is the gs2 header again, followed
 * by the channel-binding data when the client chose SCRAM-SHA-256-PLUS.
 */
static bool
cbind_matches(const ScramServer *s, const uint8_t *raw, size_t len)
{
	size_t		hlen = strlen(CBIND_GS2_HEADER);

	if (!s->plus)
		return len == 3 && memcmp(raw, s->gs2_header, 3) == 0;
	return len == hlen + s->cbind_len && memcmp(raw, CBIND_GS2_HEADER, hlen) == 0 &&
		CRYPTO_memcmp(raw + hlen, s->cbind_data, s->cbind_len) == 0;
}

AuthResult
scram_server_handle_client_first(ScramServer *s, const char *msg, size_t len, char *out, size_t outsize,
								 size_t *outlen)
{
	char		buf[SCRAM_MSG_MAX];
	char		salt[SCRAM_SALT_MAX * 2];
	const char *p = buf,
			   *cnonce;
	size_t		vlen,
				cnonce_len;
	int			n;
	AuthResult	rc;

	if (s->stage != SCRAM_INIT)
		return SV_FAIL(s, AUTH_MALFORMED, "SCRAM client-first-message out of order");
	if (!copy_message(msg, len, buf))
		return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: too long or holds a NUL byte");
	if ((rc = read_gs2_header(s, buf, &p)) != AUTH_OK)
		return rc;
	memcpy(s->client_first_bare, p, strlen(p) + 1);
	if (p[0] == 'm' && p[1] == '=')
		return SV_FAIL(s, AUTH_UNUSABLE, "the client requires an unsupported SCRAM extension (m=)");
	if (!next_attr(&p, 'n', &vlen))
		return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: no user name attribute (n=)");
	if (!(cnonce = next_attr(&p, 'r', &cnonce_len)) || !printable_nonce(cnonce, cnonce_len))
		return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: no valid client nonce (r=)");
	if (!skip_extensions(&p, 0))
		return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: bad attribute after the nonce");
	if (cnonce_len + s->server_nonce_len >= sizeof(s->nonce))
		return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: client nonce too long");
	memmove(s->nonce + cnonce_len, s->nonce, s->server_nonce_len + 1);
	memcpy(s->nonce, cnonce, cnonce_len);
	scram_b64_encode(s->secret.salt, s->secret.salt_len, salt);
	n = snprintf(s->server_first, sizeof(s->server_first), "r=%s,s=%s,i=%d", s->nonce, salt,
				 s->secret.iterations);
	if (n < 0 || (size_t) n >= outsize || (size_t) n >= sizeof(s->server_first))
		return SV_FAIL(s, AUTH_MALFORMED, "SCRAM server-first-message does not fit");
	memcpy(out, s->server_first, n + 1);
	*outlen = n;
	s->stage = SCRAM_WAIT_CLIENT_FINAL;
	return AUTH_OK;
}

AuthResult
scram_server_handle_client_final(ScramServer *s, const char *msg, size_t len, char *out, size_t outsize,
								 size_t *outlen)
{
	char		buf[SCRAM_MSG_MAX];
	const char *p = buf,
			   *cbind,
			   *nonce,
			   *proof_b64;
	size_t		cbind_len,
				nonce_len,
				proof_len;
	uint8_t		cbind_raw[SCRAM_MSG_MAX],
				proof[SCRAM_KEY_LEN],
				client_sig[SCRAM_KEY_LEN],
				server_sig[SCRAM_KEY_LEN],
				stored[SCRAM_KEY_LEN];
	bool		match;
	int			n;
	long		raw_len;

	if (s->stage != SCRAM_WAIT_CLIENT_FINAL)
		return SV_FAIL(s, AUTH_MALFORMED, "SCRAM client-final-message out of order");
	if (!copy_message(msg, len, buf))
		return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: too long or holds a NUL byte");
	if (!(cbind = next_attr(&p, 'c', &cbind_len)) || (raw_len = scram_b64_decode(cbind, cbind_len, cbind_raw,
																				sizeof(cbind_raw))) < 0 ||
		!cbind_matches(s, cbind_raw, (size_t) raw_len))
		return SV_FAIL(s, AUTH_MALFORMED, s->plus ? "SCRAM channel binding does not match: the client's TLS "
					   "connection does not end at this pooler (c= is not the hash of its certificate)" :
					   "SCRAM channel-binding attribute (c=) does not match client-first");
	if (!(nonce = next_attr(&p, 'r', &nonce_len)) || nonce_len != strlen(s->nonce) ||
		memcmp(nonce, s->nonce, nonce_len) != 0)
		return SV_FAIL(s, AUTH_MALFORMED, "SCRAM nonce (r=) does not match this exchange's");
	if (!skip_extensions(&p, 'p') || !(proof_b64 = next_attr(&p, 'p', &proof_len)) || *p != '\0')
		return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: the proof (p=) must come last");
	if (scram_b64_decode(proof_b64, proof_len, proof, sizeof(proof)) != SCRAM_KEY_LEN)
		return SV_FAIL(s, AUTH_MALFORMED, "malformed SCRAM message: the proof is not base64 of 32 bytes");
	auth_signatures(s->client_first_bare, s->server_first, buf, proof_b64 - 3 - buf, &s->secret, client_sig,
					server_sig);
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		s->client_key[i] = proof[i] ^ client_sig[i];
	sha256(s->client_key, SCRAM_KEY_LEN, stored);
	match = CRYPTO_memcmp(stored, s->secret.stored_key, SCRAM_KEY_LEN) == 0 && !s->doomed;
	if (!match)
	{
		OPENSSL_cleanse(s->client_key, SCRAM_KEY_LEN);
		if (s->doomed)
		{
			s->stage = SCRAM_ERROR; /* error says why since scram_server_begin */
			return AUTH_FAILED;
		}
		return SV_FAIL(s, AUTH_FAILED, "wrong password (SCRAM proof does not match)");
	}
	if (outsize < 2 + 45)
		return SV_FAIL(s, AUTH_MALFORMED, "no room for SCRAM server-final-message");
	out[0] = 'v';
	out[1] = '=';
	n = 2 + (int) scram_b64_encode(server_sig, SCRAM_KEY_LEN, out + 2);
	*outlen = n;
	s->have_client_key = true;
	s->stage = SCRAM_DONE;
	return AUTH_OK;
}

void
scram_server_clear(ScramServer *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

/* ---- client ---- */

AuthResult
scram_client_begin(ScramClient *c, const char *username, const char *password)
{
	char		escaped[SCRAM_MSG_MAX / 2];
	size_t		n = 0;

	memset(c, 0, sizeof(*c));
	if (strlen(password) >= sizeof(c->password))
		return CL_FAIL(c, AUTH_UNUSABLE, "the password is longer than %d bytes", SCRAM_PASSWORD_MAX - 1);
	memcpy(c->password, password, strlen(password) + 1);
	/* saslname: ',' and '=' escaped as =2C and =3D. */
	for (const char *u = username; *u; u++)
	{
		if (n + 4 >= sizeof(escaped))
			return CL_FAIL(c, AUTH_UNUSABLE, "the user name is too long for SCRAM");
		if (*u == ',' || *u == '=')
			n += snprintf(escaped + n, 4, "=%s", *u == ',' ? "2C" : "3D");
		else
			escaped[n++] = *u;
	}
	escaped[n] = '\0';
	if (!random_nonce(c->nonce))
		return CL_FAIL(c, AUTH_UNUSABLE, "no random bytes for a SCRAM nonce");
	snprintf(c->client_first_bare, sizeof(c->client_first_bare), "n=%s,r=", escaped);
	c->stage = SCRAM_INIT;
	return AUTH_OK;
}

AuthResult
scram_client_begin_keys(ScramClient *c, const char *username, const ScramSecret *secret,
						const uint8_t client_key[SCRAM_KEY_LEN])
{
	AuthResult	result = scram_client_begin(c, username, "");

	if (result == AUTH_OK)
	{
		c->use_keys = true;
		c->keys = *secret;
		memcpy(c->client_key, client_key, SCRAM_KEY_LEN);
	}
	return result;
}

void
scram_test_set_client_nonce(ScramClient *c, const char *nonce)
{
	snprintf(c->nonce, sizeof(c->nonce), "%s", nonce);
}

AuthResult
scram_client_first_message(ScramClient *c, char *out, size_t outsize, size_t *outlen)
{
	size_t		bare_len = strlen(c->client_first_bare),
				nonce_len = strlen(c->nonce);
	int			n;

	if (c->stage != SCRAM_INIT)
		return CL_FAIL(c, AUTH_MALFORMED, "SCRAM client-first-message out of order");
	if (bare_len + nonce_len >= sizeof(c->client_first_bare))
		return CL_FAIL(c, AUTH_UNUSABLE, "SCRAM client-first-message too long");
	memcpy(c->client_first_bare + bare_len, c->nonce, nonce_len + 1);
	n = snprintf(out, outsize, "n,,%s", c->client_first_bare);
	if (n < 0 || (size_t) n >= outsize)
		return CL_FAIL(c, AUTH_UNUSABLE, "no room for SCRAM client-first-message");
	*outlen = n;
	c->stage = SCRAM_WAIT_SERVER_FIRST;
	return AUTH_OK;
}

AuthResult
scram_client_handle_server_first(ScramClient *c, const char *msg, size_t len, char *out, size_t outsize,
								 size_t *outlen)
{
	char		buf[SCRAM_MSG_MAX];
	char		final[SCRAM_OUT_MAX];
	const char *p = buf,
			   *nonce,
			   *salt_b64,
			   *iter;
	size_t		nonce_len,
				salt_len,
				iter_len,
				ours = strlen(c->nonce);
	uint8_t		salt[SCRAM_SALT_MAX],
				server_key[SCRAM_KEY_LEN],
				client_sig[SCRAM_KEY_LEN];
	ScramSecret keys;
	int			iterations,
				salt_bytes,
				n;

	if (c->stage != SCRAM_WAIT_SERVER_FIRST)
		return CL_FAIL(c, AUTH_MALFORMED, "SCRAM server-first-message out of order");
	if (!copy_message(msg, len, buf))
		return CL_FAIL(c, AUTH_MALFORMED, "malformed SCRAM server-first-message: too long or holds a NUL byte");
	if (buf[0] == 'm' && buf[1] == '=')
		return CL_FAIL(c, AUTH_UNUSABLE, "the server requires an unsupported SCRAM extension (m=)");
	if (!(nonce = next_attr(&p, 'r', &nonce_len)) || !printable_nonce(nonce, nonce_len) ||
		nonce_len <= ours || memcmp(nonce, c->nonce, ours) != 0 || nonce_len >= sizeof(c->nonce))
		return CL_FAIL(c, AUTH_MALFORMED, "SCRAM server nonce (r=) does not extend ours");
	if (!(salt_b64 = next_attr(&p, 's', &salt_len)) ||
		(salt_bytes = scram_b64_decode(salt_b64, salt_len, salt, sizeof(salt))) < 1)
		return CL_FAIL(c, AUTH_MALFORMED, "malformed SCRAM server-first-message: bad salt (s=)");
	if (!(iter = next_attr(&p, 'i', &iter_len)) || (iterations = parse_iterations(iter, iter_len)) < 0)
		return CL_FAIL(c, AUTH_MALFORMED, "SCRAM iteration count (i=) is not a number from 1 to %d",
					   SCRAM_MAX_ITERATIONS);
	if (!skip_extensions(&p, 0))
		return CL_FAIL(c, AUTH_MALFORMED, "malformed SCRAM server-first-message: bad attribute after i=");
	memcpy(c->nonce, nonce, nonce_len);
	c->nonce[nonce_len] = '\0';

	if (c->use_keys)
	{
		if (iterations != c->keys.iterations || salt_bytes != c->keys.salt_len ||
			memcmp(salt, c->keys.salt, salt_bytes) != 0)
			return CL_FAIL(c, AUTH_UNUSABLE, "the server's SCRAM secret differs from the auth_file's "
						   "(salt or iteration count): copy the role's secret from pg_authid into the auth_file");
		keys = c->keys;
	}
	else
	{
		salted_keys(c->password, salt, salt_bytes, iterations, c->client_key, server_key);
		keys.salt_len = 0;
		sha256(c->client_key, SCRAM_KEY_LEN, keys.stored_key);
		memcpy(keys.server_key, server_key, SCRAM_KEY_LEN);
	}
	n = snprintf(final, sizeof(final), "c=biws,r=%s", c->nonce);
	auth_signatures(c->client_first_bare, buf, final, n, &keys, client_sig, c->server_signature);
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		client_sig[i] ^= c->client_key[i];	/* now ClientProof */
	n += snprintf(final + n, sizeof(final) - n, ",p=");
	n += (int) scram_b64_encode(client_sig, SCRAM_KEY_LEN, final + n);
	OPENSSL_cleanse(&keys, sizeof(keys));
	OPENSSL_cleanse(server_key, sizeof(server_key));
	if ((size_t) n >= outsize)
		return CL_FAIL(c, AUTH_UNUSABLE, "no room for SCRAM client-final-message");
	memcpy(out, final, n + 1);
	*outlen = n;
	c->stage = SCRAM_WAIT_SERVER_FINAL;
	return AUTH_OK;
}

AuthResult
scram_client_verify_server_final(ScramClient *c, const char *msg, size_t len)
{
	char		buf[SCRAM_MSG_MAX];
	const char *p = buf,
			   *value;
	size_t		vlen;
	uint8_t		signature[SCRAM_KEY_LEN];

	if (c->stage != SCRAM_WAIT_SERVER_FINAL)
		return CL_FAIL(c, AUTH_MALFORMED, "SCRAM server-final-message out of order");
	if (!copy_message(msg, len, buf))
		return CL_FAIL(c, AUTH_MALFORMED, "malformed SCRAM server-final-message: too long or holds a NUL byte");
	if ((value = next_attr(&p, 'e', &vlen)))
		return CL_FAIL(c, AUTH_FAILED, "the server refused the SCRAM login: %.*s", (int) (vlen > 100 ? 100 : vlen),
					   value);
	if (!(value = next_attr(&p, 'v', &vlen)) || !skip_extensions(&p, 0) ||
		scram_b64_decode(value, vlen, signature, sizeof(signature)) != SCRAM_KEY_LEN)
		return CL_FAIL(c, AUTH_MALFORMED, "malformed SCRAM server-final-message: no verifier (v=)");
	if (CRYPTO_memcmp(signature, c->server_signature, SCRAM_KEY_LEN) != 0)
		return CL_FAIL(c, AUTH_FAILED, "the server's SCRAM signature is wrong: it does not know the secret");
	c->stage = SCRAM_DONE;
	return AUTH_OK;
}

void
scram_client_clear(ScramClient *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}
