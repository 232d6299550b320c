/*
 * test_auth.c: unit tests of auth.c and scram.c: md5 known values, RFC 7677's SCRAM-SHA-256 test vector
 * in both roles, in-process exchanges for plain and SCRAM secrets, wrong passwords, replayed and malformed
 * messages, SCRAM pass-through keys, the auth_file parser (escapes, comments, bad lines, permissions) and
 * the choice of a client's method; and libpq, the real client, logging into our server side over loopback.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "scram.h"
#include "sock_io.h"
#include "tap.h"

static char path[] = "/tmp/faregate-test-auth.XXXXXX";

/* RFC 7677, section 3. */
#define RFC_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_CLIENT_FIRST "n,,n=user,r=" RFC_CNONCE
#define RFC_SERVER_FIRST "r=" RFC_CNONCE RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL "c=biws,r=" RFC_CNONCE RFC_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static const char *
result_name(AuthResult r)
{
	return r == AUTH_OK ? "OK" : r == AUTH_FAILED ? "FAILED" : r == AUTH_MALFORMED ? "MALFORMED" : "UNUSABLE";
}

static int
is_result(AuthResult got, AuthResult expected, const char *name)
{
	if (!tap_ok(got == expected, name))
	{
		printf("#   got: %s, expected: %s\n", result_name(got), result_name(expected));
		return 0;
	}
	return 1;
}

/* Transcript of one exchange, for replays. */
typedef struct Exchange
{
	char		client_first[SCRAM_OUT_MAX];
	char		server_first[SCRAM_OUT_MAX];
	char		client_final[SCRAM_OUT_MAX];
	char		server_final[SCRAM_OUT_MAX];
	AuthResult	server_result;	/* of handle_client_final */
	AuthResult	client_result;	/* of verify_server_final */
	uint8_t		client_key[SCRAM_KEY_LEN];
	bool		have_client_key;
} Exchange;

/* exchange: a whole client <-> server login in-process; false if a step before the final ones failed. */
static bool
exchange(const AuthEntry *entry, const char *password, Exchange *x)
{
	ScramServer sv;
	ScramClient cl;
	size_t		n;
	bool		ok;

	memset(x, 0, sizeof(*x));
	ok = scram_server_begin(&sv, entry ? entry->user : "nobody", entry) == AUTH_OK && scram_client_begin(&cl, "", password) == AUTH_OK &&
		scram_client_first_message(&cl, x->client_first, sizeof(x->client_first), &n) == AUTH_OK &&
		scram_server_handle_client_first(&sv, x->client_first, n, x->server_first, sizeof(x->server_first),
										 &n) == AUTH_OK &&
		scram_client_handle_server_first(&cl, x->server_first, n, x->client_final, sizeof(x->client_final),
										 &n) == AUTH_OK;
	if (ok)
	{
		x->server_result = scram_server_handle_client_final(&sv, x->client_final, n, x->server_final,
															sizeof(x->server_final), &n);
		x->client_result = x->server_result == AUTH_OK ?
			scram_client_verify_server_final(&cl, x->server_final, n) : AUTH_FAILED;
		x->have_client_key = sv.have_client_key;
		memcpy(x->client_key, sv.client_key, SCRAM_KEY_LEN);
	}
	scram_server_clear(&sv);
	scram_client_clear(&cl);
	return ok;
}

/* server_steps: feeds a fresh server the two client messages; the result of the last step run. */
static AuthResult
server_steps(const AuthEntry *entry, const char *first, size_t first_len, const char *final, size_t final_len,
			 ScramServer *sv)
{
	char		out[SCRAM_OUT_MAX];
	size_t		n;
	AuthResult	r;

	if (scram_server_begin(sv, entry ? entry->user : "nobody", entry) != AUTH_OK)
		return AUTH_UNUSABLE;
	if ((r = scram_server_handle_client_first(sv, first, first_len, out, sizeof(out), &n)) != AUTH_OK || !final)
		return r;
	return scram_server_handle_client_final(sv, final, final_len, out, sizeof(out), &n);
}

/*
 * proof_for: an independent computation (OpenSSL only) of the client-final-message for the given
 * gs2 header, to check that "y,," is accepted.
 */
static void
client_final_for(const char *password, const char *gs2_b64, const char *bare, const char *server_first,
				 char *out)
{
	const char *nonce = strstr(server_first, "r=") + 2;
	const char *salt_b64 = strstr(server_first, ",s=") + 3;
	uint8_t		salt[64],
				salted[32],
				client_key[32],
				stored[32],
				sig[32];
	char		without[1024],
				message[4096];
	unsigned	len = 32;
	int			salt_len = scram_b64_decode(salt_b64, strchr(salt_b64, ',') - salt_b64, salt, sizeof(salt));

	snprintf(without, sizeof(without), "c=%s,r=%.*s", gs2_b64, (int) (strchr(nonce, ',') - nonce), nonce);
	PKCS5_PBKDF2_HMAC(password, strlen(password), salt, salt_len, atoi(strstr(server_first, ",i=") + 3),
					  EVP_sha256(), 32, salted);
	HMAC(EVP_sha256(), salted, 32, (const uint8_t *) "Client Key", 10, client_key, &len);
	EVP_Digest(client_key, 32, stored, NULL, EVP_sha256(), NULL);
	snprintf(message, sizeof(message), "%s,%s,%s", bare, server_first, without);
	HMAC(EVP_sha256(), stored, 32, (const uint8_t *) message, strlen(message), sig, &len);
	for (int i = 0; i < 32; i++)
		sig[i] ^= client_key[i];
	strcpy(out, without);
	strcat(out, ",p=");
	scram_b64_encode(sig, 32, out + strlen(out));
}

static void
test_md5(void)
{
	char		out[AUTH_MD5_LEN + 1];
	const uint8_t salt[4] = {1, 2, 3, 4};
	const uint8_t bob_salt[4] = {0xde, 0xad, 0xbe, 0xef};
	AuthEntry	plain = {.user = "bob", .secret = "secret", .kind = AUTH_SECRET_PLAIN};
	AuthEntry	md5 = {.user = "bob", .secret = "md521f3163f8f86fa10bdefbfbd502a8f06", .kind = AUTH_SECRET_MD5};
	AuthEntry	scram = {.user = "bob", .kind = AUTH_SECRET_SCRAM};
	AuthEntry	empty = {.user = "bob", .secret = "", .kind = AUTH_SECRET_EMPTY};
	const char *good = "md5f367206c41f91baa6279335f27350e9d";
	const char *bad = "md5f367206c41f91baa6279335f27350e9e";

	{
		uint8_t		s1[4],
					s2[4];

		tap_ok(auth_md5_salt(s1) && auth_md5_salt(s2) && memcmp(s1, s2, 4) != 0, "md5 salts are random");
	}
	auth_md5_hash("user", "password", out);
	tap_is_str(out, "md54d45974e13472b5a0be3533de4666414", "md5 secret of user/password (md5sum of 'passworduser')");
	auth_md5_client_response("user", "password", salt, out);
	tap_is_str(out, "md5a3576f1ae039b8996bc4fc2720f9c71a", "md5 response to salt 01020304 from the password");
	auth_md5_client_response("user", "md54d45974e13472b5a0be3533de4666414", salt, out);
	tap_is_str(out, "md5a3576f1ae039b8996bc4fc2720f9c71a", "md5 response from the md5 secret is the same");
	auth_md5_client_response("bob", "secret", bob_salt, out);
	tap_is_str(out, good, "md5 response for bob, salt deadbeef");

	is_result(auth_md5_verify(&plain, "bob", bob_salt, good), AUTH_OK, "md5 verify: plain secret, right password");
	is_result(auth_md5_verify(&md5, "bob", bob_salt, good), AUTH_OK, "md5 verify: md5 secret, right password");
	is_result(auth_md5_verify(&plain, "bob", bob_salt, bad), AUTH_FAILED, "md5 verify: wrong response refused");
	is_result(auth_md5_verify(&md5, "bob", salt, good), AUTH_FAILED, "md5 verify: response to another salt refused");
	is_result(auth_md5_verify(&md5, "bob", bob_salt, "md5"), AUTH_FAILED, "md5 verify: truncated response refused");
	is_result(auth_md5_verify(&md5, "bob", bob_salt, ""), AUTH_FAILED, "md5 verify: empty response refused");
	is_result(auth_md5_verify(&plain, "alice", bob_salt, good), AUTH_FAILED,
			  "md5 verify: plain secret hashed with the login name (another user fails)");
	is_result(auth_md5_verify(&scram, "bob", bob_salt, good), AUTH_UNUSABLE, "md5 verify: SCRAM secret is UNUSABLE");
	is_result(auth_md5_verify(NULL, "bob", bob_salt, good), AUTH_FAILED, "md5 verify: unknown user fails");
	is_result(auth_md5_verify(&empty, "bob", bob_salt, good), AUTH_FAILED, "md5 verify: empty secret fails");
}

static void
test_base64(void)
{
	uint8_t		buf[16];
	char		text[32];

	tap_is_long(scram_b64_encode((const uint8_t *) "pencil", 6, text), 8, "base64 of 6 bytes is 8 characters");
	tap_is_str(text, "cGVuY2ls", "base64 encodes");
	tap_is_long(scram_b64_decode("cGVuY2ls", 8, buf, sizeof(buf)), 6, "base64 decodes 6 bytes");
	tap_is_long(scram_b64_decode("YQ==", 4, buf, sizeof(buf)), 1, "base64 with two padding characters");
	tap_is_long(scram_b64_decode("YWI=", 4, buf, sizeof(buf)), 2, "base64 with one padding character");
	tap_is_long(scram_b64_decode("", 0, buf, sizeof(buf)), 0, "empty base64 is zero bytes");
	tap_is_long(scram_b64_decode("YQ=", 3, buf, sizeof(buf)), -1, "base64 of bad length refused");
	tap_is_long(scram_b64_decode("Y===", 4, buf, sizeof(buf)), -1, "base64 with three padding characters refused");
	tap_is_long(scram_b64_decode("YQ==YQ==", 8, buf, sizeof(buf)), -1, "base64 with data after padding refused");
	tap_is_long(scram_b64_decode("Y=Q=", 4, buf, sizeof(buf)), -1, "base64 with padding inside refused");
	tap_is_long(scram_b64_decode("cGV*Y2ls", 8, buf, sizeof(buf)), -1, "base64 with a bad character refused");
	tap_is_long(scram_b64_decode("cGVuY2ls", 8, buf, 5), -1, "base64 longer than the buffer refused");
}

static void
test_rfc7677(void)
{
	ScramClient cl;
	ScramServer sv;
	ScramSecret secret;
	AuthEntry	entry = {.user = "user", .kind = AUTH_SECRET_SCRAM};
	uint8_t		salt[16];
	char		out[SCRAM_OUT_MAX],
				text[SCRAM_SECRET_MAX],
				err[AUTH_ERR_MAX];
	size_t		n = 0;
	int			salt_len = scram_b64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof(salt));

	/* The client side. */
	tap_ok(scram_client_begin(&cl, "user", "pencil") == AUTH_OK, "RFC 7677 client: begin");
	scram_test_set_client_nonce(&cl, RFC_CNONCE);
	tap_ok(scram_client_first_message(&cl, out, sizeof(out), &n) == AUTH_OK, "RFC 7677 client: first message");
	tap_is_str(out, RFC_CLIENT_FIRST, "RFC 7677 client-first-message");
	tap_is_long(n, strlen(RFC_CLIENT_FIRST), "RFC 7677 client-first-message length");
	is_result(scram_client_handle_server_first(&cl, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), out, sizeof(out),
											   &n), AUTH_OK, "RFC 7677 client: server-first accepted");
	tap_is_str(out, RFC_CLIENT_FINAL, "RFC 7677 client-final-message (proof) exactly");
	is_result(scram_client_verify_server_final(&cl, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), AUTH_OK,
			  "RFC 7677 client: server signature verified");
	scram_client_clear(&cl);

	/* The server side, from a secret derived with the RFC's salt and count, via its text form. */
	scram_derive_secret("pencil", salt, salt_len, 4096, &secret);
	scram_format_secret(&secret, text, sizeof(text));
	tap_ok(strncmp(text, "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$", 44) == 0, "RFC 7677 secret text");
	tap_ok(scram_parse_secret(text, &entry.scram, err, sizeof(err)), "RFC 7677 secret parses back");
	tap_ok(memcmp(&entry.scram, &secret, sizeof(secret)) == 0, "parsed secret equals the derived one");
	tap_ok(scram_server_begin(&sv, entry.user, &entry) == AUTH_OK, "RFC 7677 server: begin");
	scram_test_set_server_nonce(&sv, RFC_SNONCE);
	is_result(scram_server_handle_client_first(&sv, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), out, sizeof(out),
											   &n), AUTH_OK, "RFC 7677 server: client-first accepted");
	tap_is_str(out, RFC_SERVER_FIRST, "RFC 7677 server-first-message exactly");
	is_result(scram_server_handle_client_final(&sv, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out, sizeof(out),
											   &n), AUTH_OK, "RFC 7677 server: proof accepted");
	tap_is_str(out, RFC_SERVER_FINAL, "RFC 7677 server-final-message exactly");
	tap_is_long(n, strlen(RFC_SERVER_FINAL), "RFC 7677 server-final-message length");
	is_result(scram_server_handle_client_final(&sv, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out, sizeof(out),
											   &n), AUTH_MALFORMED, "a finished server state refuses another step");
	scram_server_clear(&sv);
}

static void
test_exchanges(void)
{
	AuthEntry	plain = {.user = "alice", .secret = "correct horse", .kind = AUTH_SECRET_PLAIN};
	AuthEntry	scram = {.user = "alice", .kind = AUTH_SECRET_SCRAM};
	AuthEntry	md5 = {.user = "alice", .secret = "md54d45974e13472b5a0be3533de4666414", .kind = AUTH_SECRET_MD5};
	AuthEntry	other;
	char		text[SCRAM_SECRET_MAX],
				err[AUTH_ERR_MAX],
				out[SCRAM_OUT_MAX],
				final[SCRAM_OUT_MAX];
	Exchange	x,
				replay;
	ScramServer sv;
	ScramClient cl;
	size_t		n;
	AuthResult	r;

	tap_ok(scram_build_secret("correct horse", 4096, text, sizeof(text)), "scram_build_secret");
	tap_ok(strncmp(text, "SCRAM-SHA-256$4096:", 19) == 0, "built secret starts with SCRAM-SHA-256$4096:");
	tap_ok(scram_parse_secret(text, &scram.scram, err, sizeof(err)), "built secret parses");
	tap_ok(!scram_build_secret("x", 0, text, sizeof(text)), "scram_build_secret refuses 0 iterations");
	tap_ok(!scram_build_secret("x", SCRAM_MAX_ITERATIONS + 1, text, sizeof(text)),
		   "scram_build_secret refuses iterations above the bound");

	tap_ok(exchange(&plain, "correct horse", &x), "exchange with a plain secret runs");
	is_result(x.server_result, AUTH_OK, "plain secret, right password: server accepts");
	is_result(x.client_result, AUTH_OK, "plain secret, right password: client verifies the server");
	tap_ok(exchange(&scram, "correct horse", &x), "exchange with a SCRAM secret runs");
	is_result(x.server_result, AUTH_OK, "SCRAM secret, right password: server accepts");
	is_result(x.client_result, AUTH_OK, "SCRAM secret, right password: client verifies the server");
	tap_ok(x.have_client_key, "after success the server holds the client's ClientKey");

	tap_ok(exchange(&plain, "correct horse!", &x) && x.server_result == AUTH_FAILED, "plain secret, wrong password refused");
	tap_ok(exchange(&scram, "Correct horse", &x) && x.server_result == AUTH_FAILED, "SCRAM secret, wrong password refused");
	tap_ok(!x.have_client_key, "after a failure no ClientKey is kept");
	tap_ok(exchange(&scram, "", &x) && x.server_result == AUTH_FAILED, "SCRAM secret, empty password refused");
	tap_ok(exchange(NULL, "", &x) && x.server_result == AUTH_FAILED, "unknown user: doomed exchange fails at the end");
	tap_ok(exchange(&md5, "password", &x) && x.server_result == AUTH_FAILED, "md5 secret: doomed SCRAM exchange fails");
	tap_ok(scram_server_begin(&sv, md5.user, &md5) == AUTH_OK && sv.doomed && strstr(sv.error, "md5 secret"),
		   "md5 secret: the server state is doomed from the start and says why");
	scram_server_clear(&sv);
	tap_ok(exchange(&md5, "md54d45974e13472b5a0be3533de4666414", &x) && x.server_result == AUTH_FAILED,
		   "md5 secret: its text as a SCRAM password fails too");

	/* Salts: stable per user name, alike for plain secrets and doomed exchanges. */
	{
		ScramServer a,
					b;
		ScramCache	cache = {0};
		AuthEntry	cached = plain;

		tap_ok(scram_server_begin(&a, "alice", &plain) == AUTH_OK && scram_server_begin(&b, "alice", &plain) == AUTH_OK &&
			   a.secret.salt_len == 16 && memcmp(a.secret.salt, b.secret.salt, 16) == 0,
			   "plain secret: the same salt at every login");
		scram_server_clear(&b);
		tap_ok(scram_server_begin(&b, "alice", NULL) == AUTH_OK && b.secret.salt_len == 16 &&
			   memcmp(a.secret.salt, b.secret.salt, 16) == 0 && b.secret.iterations == a.secret.iterations,
			   "an unknown user shows the salt and count a plain-secret user of that name would");
		tap_ok(strstr(b.error, "\"alice\" is not in the auth_file") != NULL, "and the doomed state says why");
		scram_server_clear(&b);
		tap_ok(scram_server_begin(&b, "bob", NULL) == AUTH_OK && memcmp(a.secret.salt, b.secret.salt, 16) != 0,
			   "another user name, another salt");
		scram_server_clear(&a);
		scram_server_clear(&b);

		cached.cache = &cache;
		tap_ok(exchange(&cached, "correct horse", &x) && x.server_result == AUTH_OK && cache.state == 2,
			   "plain secret with a cache: first login derives and fills the cache");
		tap_ok(exchange(&cached, "correct horse", &x) && x.server_result == AUTH_OK,
			   "second login verifies against the cached verifier");
		tap_ok(exchange(&cached, "correct horsE", &x) && x.server_result == AUTH_FAILED,
			   "and a wrong password still fails against it");
		cache.secret.stored_key[0] ^= 1;
		tap_ok(exchange(&cached, "correct horse", &x) && x.server_result == AUTH_FAILED,
			   "the cache is what is used (a corrupted cache refuses the right password)");
	}

	/* Replays: the whole transcript of a successful login, fed to a new server state. */
	tap_ok(exchange(&scram, "correct horse", &replay) && replay.server_result == AUTH_OK, "a login to replay");
	r = server_steps(&scram, replay.client_first, strlen(replay.client_first), replay.client_final,
					 strlen(replay.client_final), &sv);
	is_result(r, AUTH_MALFORMED, "replayed client-final refused (nonce of another exchange)");
	tap_ok(!sv.have_client_key, "the replay yields no ClientKey");
	scram_server_clear(&sv);
	/* The same replay, with r= patched to this exchange's nonce: the proof no longer matches. */
	tap_ok(scram_server_begin(&sv, scram.user, &scram) == AUTH_OK &&
		   scram_server_handle_client_first(&sv, replay.client_first, strlen(replay.client_first), out,
											sizeof(out), &n) == AUTH_OK, "replay: new server-first");
	snprintf(final, sizeof(final), "c=biws,r=%s,p=%s", sv.nonce, strstr(replay.client_final, ",p=") + 3);
	is_result(scram_server_handle_client_final(&sv, final, strlen(final), out, sizeof(out), &n), AUTH_FAILED,
			  "replayed proof with the new nonce refused (wrong proof)");
	scram_server_clear(&sv);

	/* gs2 header "y,,": accepted, and c= must then be base64 of "y,," (eSws). */
	{
		const char *first = "y,,n=,r=fyko+d2lbbFgONRv9qkxdawL";
		char		sfirst[SCRAM_OUT_MAX];

		tap_ok(scram_server_begin(&sv, scram.user, &scram) == AUTH_OK &&
			   scram_server_handle_client_first(&sv, first, strlen(first), sfirst, sizeof(sfirst), &n) == AUTH_OK,
			   "gs2 header y,, accepted");
		client_final_for("correct horse", "eSws", first + 3, sfirst, final);
		is_result(scram_server_handle_client_final(&sv, final, strlen(final), out, sizeof(out), &n), AUTH_OK,
				  "y,, exchange with c=eSws succeeds (proof computed independently)");
		scram_server_clear(&sv);
		tap_ok(scram_server_begin(&sv, scram.user, &scram) == AUTH_OK &&
			   scram_server_handle_client_first(&sv, first, strlen(first), sfirst, sizeof(sfirst), &n) == AUTH_OK,
			   "y,, again");
		client_final_for("correct horse", "biws", first + 3, sfirst, final);
		is_result(scram_server_handle_client_final(&sv, final, strlen(final), out, sizeof(out), &n),
				  AUTH_MALFORMED, "y,, then c=biws (n,,) refused");
		scram_server_clear(&sv);
	}

	/* Pass-through: the ClientKey from a client's login logs the pooler into a server with the same secret. */
	tap_ok(exchange(&scram, "correct horse", &x) && x.have_client_key, "login that reveals the ClientKey");
	{
		char		cfirst[SCRAM_OUT_MAX],
					sfirst[SCRAM_OUT_MAX],
					cfinal[SCRAM_OUT_MAX],
					sfinal[SCRAM_OUT_MAX];
		size_t		n1 = 0,
					n2 = 0;

		tap_ok(scram_client_begin_keys(&cl, "", &scram.scram, x.client_key) == AUTH_OK &&
			   scram_client_first_message(&cl, cfirst, sizeof(cfirst), &n1) == AUTH_OK &&
			   scram_server_begin(&sv, scram.user, &scram) == AUTH_OK &&
			   scram_server_handle_client_first(&sv, cfirst, n1, sfirst, sizeof(sfirst), &n1) == AUTH_OK &&
			   scram_client_handle_server_first(&cl, sfirst, n1, cfinal, sizeof(cfinal), &n1) == AUTH_OK,
			   "pass-through: steps up to client-final");
		is_result(scram_server_handle_client_final(&sv, cfinal, n1, sfinal, sizeof(sfinal), &n2), AUTH_OK,
				  "pass-through: the server accepts the proof made from the ClientKey");
		is_result(scram_client_verify_server_final(&cl, sfinal, n2), AUTH_OK, "pass-through: server verified");
		scram_server_clear(&sv);
		scram_client_clear(&cl);

		/* A server whose secret has another salt cannot be logged into with those keys. */
		tap_ok(scram_build_secret("correct horse", 4096, text, sizeof(text)), "another secret, same password");
		other = scram;
		tap_ok(scram_parse_secret(text, &other.scram, err, sizeof(err)), "it parses");
		tap_ok(scram_client_begin_keys(&cl, "", &scram.scram, x.client_key) == AUTH_OK &&
			   scram_client_first_message(&cl, cfirst, sizeof(cfirst), &n1) == AUTH_OK &&
			   scram_server_begin(&sv, other.user, &other) == AUTH_OK &&
			   scram_server_handle_client_first(&sv, cfirst, n1, sfirst, sizeof(sfirst), &n1) == AUTH_OK,
			   "pass-through to a different secret: first steps");
		is_result(scram_client_handle_server_first(&cl, sfirst, n1, cfinal, sizeof(cfinal), &n1), AUTH_UNUSABLE,
				  "pass-through to a different secret is UNUSABLE");
		tap_ok(strstr(cl.error, "pg_authid") != NULL, "and the message says to copy the secret from pg_authid");
		scram_server_clear(&sv);
		scram_client_clear(&cl);
	}
}

static void
test_server_malformed(void)
{
	AuthEntry	entry = {.user = "u", .secret = "pw", .kind = AUTH_SECRET_PLAIN};
	static const struct
	{
		const char *msg;
		AuthResult	expected;
		const char *name;
	}			firsts[] = {
		{"", AUTH_MALFORMED, "empty client-first"},
		{"n", AUTH_MALFORMED, "client-first 'n'"},
		{"n,", AUTH_MALFORMED, "client-first 'n,'"},
		{"n,,", AUTH_MALFORMED, "client-first without bare part"},
		{"x,,n=,r=abc", AUTH_MALFORMED, "unknown gs2 flag"},
		{"p=tls-server-end-point,,n=,r=abc", AUTH_MALFORMED, "channel binding p= without SCRAM-SHA-256-PLUS refused"},
		{"n,a=bob,n=,r=abc", AUTH_UNUSABLE, "authzid refused"},
		{"n,,m=ext,n=,r=abc", AUTH_UNUSABLE, "mandatory extension refused"},
		{"n,,r=abc", AUTH_MALFORMED, "missing n="},
		{"n,,n=", AUTH_MALFORMED, "missing r="},
		{"n,,n=,r=", AUTH_MALFORMED, "empty nonce"},
		{"n,,n=,r=a b", AUTH_MALFORMED, "nonce with a space"},
		{"n,,n=,r=abc,", AUTH_MALFORMED, "trailing comma"},
		{"n,,n=,r=abc,,x=1", AUTH_MALFORMED, "empty attribute"},
		{"n,,n=,r=abc,1=x", AUTH_MALFORMED, "extension name not a letter"},
		{"n,,n=,r=abc,x=1", AUTH_OK, "an extension is ignored"},
		{"n,,n=,r=abc", AUTH_OK, "a minimal client-first"},
	};
	char		big[SCRAM_MSG_MAX + 100];
	char		out[SCRAM_OUT_MAX],
				name[128];
	const char *nul = "n,,n=\0,r=abc";
	ScramServer sv;
	size_t		n;
	Exchange	x;
	bool		survived = true;

	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++)
	{
		snprintf(name, sizeof(name), "server: %s", firsts[i].name);
		is_result(server_steps(&entry, firsts[i].msg, strlen(firsts[i].msg), NULL, 0, &sv), firsts[i].expected, name);
		if (firsts[i].expected != AUTH_OK && !tap_ok(sv.error[0] != '\0', "  ... with a message"))
			printf("#   no error message\n");
		scram_server_clear(&sv);
	}
	is_result(server_steps(&entry, nul, 12, NULL, 0, &sv), AUTH_MALFORMED, "server: client-first with a NUL byte");
	memset(big, 'a', sizeof(big));
	memcpy(big, "n,,n=,r=", 8);
	is_result(server_steps(&entry, big, sizeof(big), NULL, 0, &sv), AUTH_MALFORMED, "server: oversized client-first");
	memset(big + 8, 'a', SCRAM_NONCE_MAX);
	is_result(server_steps(&entry, big, 8 + SCRAM_NONCE_MAX, NULL, 0, &sv), AUTH_MALFORMED,
			  "server: client nonce too long");
	tap_ok(scram_server_begin(&sv, entry.user, &entry) == AUTH_OK, "server begins");
	is_result(scram_server_handle_client_final(&sv, "c=biws,r=x,p=AAAA", 17, out, sizeof(out), &n), AUTH_MALFORMED,
			  "server: client-final before client-first refused");
	scram_server_clear(&sv);

	/* client-final variations on a real exchange's messages. */
	tap_ok(exchange(&entry, "pw", &x) && x.server_result == AUTH_OK, "an exchange to vary");
	{
		char		nonce[SCRAM_NONCE_MAX],
					proof[64],
					msg[SCRAM_OUT_MAX * 2];
		const char *r = strstr(x.client_final, "r=") + 2;
		static const struct
		{
			const char *fmt;	/* %1$s nonce, %2$s proof */
			AuthResult	expected;
			const char *name;
		}			finals[] = {
			{"c=biws,r=%1$s,p=%2$s", AUTH_OK, "the original"},
			{"c=biws,r=%1$s,x=ext,p=%2$s", AUTH_FAILED, "an extension parses but is signed (old proof fails)"},
			{"c=biws,r=%1$s", AUTH_MALFORMED, "missing proof"},
			{"r=%1$s,p=%2$s", AUTH_MALFORMED, "missing c="},
			{"c=eSws,r=%1$s,p=%2$s", AUTH_MALFORMED, "c= of another gs2 header"},
			{"c=biw,r=%1$s,p=%2$s", AUTH_MALFORMED, "c= bad base64"},
			{"c=biws,p=%2$s", AUTH_MALFORMED, "missing r="},
			{"c=biws,r=%1$sX,p=%2$s", AUTH_MALFORMED, "nonce extended"},
			{"c=biws,r=X%1$s,p=%2$s", AUTH_MALFORMED, "nonce prefixed"},
			{"c=biws,r=%1$s,p=%2$s,x=1", AUTH_MALFORMED, "proof not last"},
			{"c=biws,r=%1$s,p=%2$s,", AUTH_MALFORMED, "trailing comma"},
			{"c=biws,r=%1$s,p=*%2$s", AUTH_MALFORMED, "proof bad base64"},
			{"c=biws,r=%1$s,p=AAAA", AUTH_MALFORMED, "proof of 3 bytes"},
			{"c=biws,r=%1$s,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", AUTH_FAILED, "proof of zeros"},
		};

		snprintf(nonce, sizeof(nonce), "%.*s", (int) (strchr(r, ',') - r), r);
		snprintf(proof, sizeof(proof), "%s", strstr(x.client_final, ",p=") + 3);
		for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++)
		{
			char		sfirst[SCRAM_OUT_MAX];

			/* A fresh server with the old nonce forced, so the old proof is the right one. */
			if (scram_server_begin(&sv, entry.user, &entry) != AUTH_OK)
				{ tap_ok(0, "server begins"); break; }
			sv.secret = (ScramSecret) {0};
			scram_test_set_server_nonce(&sv, nonce + strlen(strstr(x.client_first, "r=") + 2));
			/* the salt is random per begin: reuse the old exchange's secret by re-deriving it */
			{
				const char *s = strstr(x.server_first, ",s=") + 3;
				uint8_t		salt[SCRAM_SALT_MAX];
				int			len = scram_b64_decode(s, strchr(s, ',') - s, salt, sizeof(salt));

				scram_derive_secret("pw", salt, len, 4096, &sv.secret);
			}
			if (scram_server_handle_client_first(&sv, x.client_first, strlen(x.client_first), sfirst,
												 sizeof(sfirst), &n) != AUTH_OK)
				{ tap_ok(0, "client-first accepted"); break; }
			snprintf(msg, sizeof(msg), finals[i].fmt, nonce, proof);
			snprintf(name, sizeof(name), "server client-final: %s", finals[i].name);
			is_result(scram_server_handle_client_final(&sv, msg, strlen(msg), out, sizeof(out), &n),
					  finals[i].expected, name);
			scram_server_clear(&sv);
		}

		/* Every truncation of both messages: refused or accepted, never a crash (ASan watches). */
		for (size_t len = 0; len < strlen(x.client_first); len++)
		{
			AuthResult	res = server_steps(&entry, x.client_first, len, NULL, 0, &sv);

			survived &= res == AUTH_OK || res == AUTH_MALFORMED || res == AUTH_UNUSABLE;
			scram_server_clear(&sv);
		}
		for (size_t len = 0; len < strlen(x.client_final); len++)
		{
			survived &= server_steps(&entry, x.client_first, strlen(x.client_first), x.client_final, len, &sv) !=
				AUTH_OK;
			scram_server_clear(&sv);
		}
		tap_ok(survived, "every truncated client-first/client-final handled, no truncated final accepted");
	}
}

static void
test_client_malformed(void)
{
	static const struct
	{
		const char *msg;		/* server-first; %s = our nonce */
		AuthResult	expected;
		const char *name;
	}			firsts[] = {
		{"r=%sSRV,s=QUJDRA==,i=4096", AUTH_OK, "a valid server-first"},
		{"r=%sSRV,s=QUJDRA==,i=4096,x=ext", AUTH_OK, "an extension is ignored"},
		{"", AUTH_MALFORMED, "empty"},
		{"r=%s,s=QUJDRA==,i=4096", AUTH_MALFORMED, "server nonce adds nothing"},
		{"r=XX%s,s=QUJDRA==,i=4096", AUTH_MALFORMED, "server nonce does not start with ours"},
		{"r=other,s=QUJDRA==,i=4096", AUTH_MALFORMED, "server nonce unrelated"},
		{"r=%sSRV,i=4096", AUTH_MALFORMED, "missing salt"},
		{"r=%sSRV,s=QUJDRA=,i=4096", AUTH_MALFORMED, "salt bad base64"},
		{"r=%sSRV,s=,i=4096", AUTH_MALFORMED, "empty salt"},
		{"r=%sSRV,s=QUJDRA==", AUTH_MALFORMED, "missing iteration count"},
		{"r=%sSRV,s=QUJDRA==,i=0", AUTH_MALFORMED, "zero iterations"},
		{"r=%sSRV,s=QUJDRA==,i=-1", AUTH_MALFORMED, "negative iterations"},
		{"r=%sSRV,s=QUJDRA==,i=100001", AUTH_MALFORMED, "iterations above the bound"},
		{"r=%sSRV,s=QUJDRA==,i=99999999999999", AUTH_MALFORMED, "huge iteration count"},
		{"r=%sSRV,s=QUJDRA==,i=4096x", AUTH_MALFORMED, "iteration count with junk"},
		{"r=%sSRV,s=QUJDRA==,i=4096,", AUTH_MALFORMED, "trailing comma"},
		{"m=ext,r=%sSRV,s=QUJDRA==,i=4096", AUTH_UNUSABLE, "mandatory extension"},
		{"e=other-error", AUTH_MALFORMED, "an error instead of server-first"},
	};
	static const struct
	{
		const char *msg;
		AuthResult	expected;
		const char *name;
	}			finals[] = {
		{"e=invalid-proof", AUTH_FAILED, "e= from the server"},
		{"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", AUTH_FAILED, "wrong server signature"},
		{"v=AAAA", AUTH_MALFORMED, "signature of 3 bytes"},
		{"v=***", AUTH_MALFORMED, "signature bad base64"},
		{"", AUTH_MALFORMED, "empty server-final"},
		{"x=1", AUTH_MALFORMED, "no v= or e="},
	};
	ScramClient cl;
	char		out[SCRAM_OUT_MAX],
				msg[SCRAM_OUT_MAX],
				name[128];
	size_t		n;

	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++)
	{
		if (scram_client_begin(&cl, "", "pw") != AUTH_OK ||
			scram_client_first_message(&cl, out, sizeof(out), &n) != AUTH_OK)
			{ tap_ok(0, "client begins"); break; }
		snprintf(msg, sizeof(msg), firsts[i].msg, cl.nonce);
		snprintf(name, sizeof(name), "client server-first: %s", firsts[i].name);
		is_result(scram_client_handle_server_first(&cl, msg, strlen(msg), out, sizeof(out), &n), firsts[i].expected,
				  name);
		scram_client_clear(&cl);
	}
	for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++)
	{
		if (scram_client_begin(&cl, "", "pw") != AUTH_OK ||
			scram_client_first_message(&cl, out, sizeof(out), &n) != AUTH_OK)
			{ tap_ok(0, "client begins"); break; }
		snprintf(msg, sizeof(msg), "r=%sSRV,s=QUJDRA==,i=16", cl.nonce);
		if (scram_client_handle_server_first(&cl, msg, strlen(msg), out, sizeof(out), &n) != AUTH_OK)
			{ tap_ok(0, "server-first accepted"); break; }
		snprintf(name, sizeof(name), "client server-final: %s", finals[i].name);
		is_result(scram_client_verify_server_final(&cl, finals[i].msg, strlen(finals[i].msg)), finals[i].expected,
				  name);
		if (i == 0)
			tap_ok(strstr(cl.error, "invalid-proof") != NULL, "the server's e= text is in the message");
		scram_client_clear(&cl);
	}
	tap_ok(scram_client_begin(&cl, "a,b=c", "pw") == AUTH_OK &&
		   scram_client_first_message(&cl, out, sizeof(out), &n) == AUTH_OK &&
		   strncmp(out, "n,,n=a=2Cb=3Dc,r=", 17) == 0, "client escapes , and = in the user name");
	is_result(scram_client_verify_server_final(&cl, "v=AAAA", 6), AUTH_MALFORMED, "client: server-final out of order");
	scram_client_clear(&cl);
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	is_result(scram_client_begin(&cl, "", msg), AUTH_UNUSABLE, "client: password over the limit refused");
}

static void
test_secret_parse(void)
{
	static const char *bad[] = {
		"SCRAM-SHA-256$",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==",
		"SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"SCRAM-SHA-256$200000:W22ZaJ0SNY7soEsUEjb6gQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"SCRAM-SHA-256$4096:$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"SCRAM-SHA-256$4096:W22Z*J0SNY7soEsUEjb6gQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$AAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"SCRAM-SHA-1$4096:W22ZaJ0SNY7soEsUEjb6gQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};
	ScramSecret secret;
	char		err[AUTH_ERR_MAX],
				name[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		snprintf(name, sizeof(name), "malformed SCRAM secret %zu refused", i + 1);
		err[0] = '\0';
		tap_ok(!scram_parse_secret(bad[i], &secret, err, sizeof(err)) && err[0], name);
	}
	tap_ok(auth_secret_kind("") == AUTH_SECRET_EMPTY, "kind: empty");
	tap_ok(auth_secret_kind("md54d45974e13472b5a0be3533de4666414") == AUTH_SECRET_MD5, "kind: md5");
	tap_ok(auth_secret_kind("md54D45974E13472B5A0BE3533DE4666414") == AUTH_SECRET_PLAIN,
		   "kind: md5 with upper-case hex is a password (as in PostgreSQL)");
	tap_ok(auth_secret_kind("md5password") == AUTH_SECRET_PLAIN, "kind: short md5... is a password");
	tap_ok(auth_secret_kind(bad[2]) == AUTH_SECRET_PLAIN, "kind: malformed SCRAM text is a password");
}

/* load_text: writes text to the temp file with mode, then loads it. */
static bool
load_text(const char *text, mode_t mode, AuthFile *file, char *err)
{
	FILE	   *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return authfile_load(path, file, err, AUTH_ERR_MAX);
}

static void
refused(const char *text, mode_t mode, const char *fragment, const char *name)
{
	AuthFile	file;
	char		err[AUTH_ERR_MAX] = "";
	bool		loaded = load_text(text, mode, &file, err);

	if (loaded)
		authfile_free(&file);
	if (!tap_ok(!loaded && strstr(err, fragment) != NULL, name))
		printf("#   error was: '%s' (wanted it to contain '%s')\n", err, fragment);
}

static void
test_authfile(void)
{
	AuthFile	file;
	const AuthEntry *e;
	char		err[AUTH_ERR_MAX] = "",
				text[4096],
				secret[SCRAM_SECRET_MAX],
				frag[64];
	const char *rfc_secret = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
		"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
	ScramSecret rfc;
	uint8_t		salt[16];
	const AuthEntry *chosen;
	AuthMethod	m;

	/* The RFC 7677 verifier as text, to check the parser against scram_derive_secret. */
	scram_derive_secret("pencil", salt, scram_b64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, 16), 4096, &rfc);
	scram_format_secret(&rfc, secret, sizeof(secret));
	tap_is_str(secret, rfc_secret, "RFC 7677 user's verifier text (StoredKey, ServerKey)");

	snprintf(text, sizeof(text),
			 "; a comment\n"
			 "\n"
			 "   # another comment\n"
			 "\"alice\" \"plain password\"\n"
			 "  \"bob\"   \"md521f3163f8f86fa10bdefbfbd502a8f06\"   \"an old third field\"\n"
			 "\"quo\"\"te\" \"pa\"\"ss\"\"\"\n"
			 "\"user\" \"%s\"\r\n"
			 "\"nopass\" \"\"\n"
			 "\"a\" \"md5password\"", rfc_secret);
	tap_ok(load_text(text, 0600, &file, err), "an auth_file with comments, escapes, CRLF and every kind loads");
	if (err[0])
		printf("#   %s\n", err);
	tap_is_long(file.n_entries, 6, "six users");
	e = authfile_lookup(&file, "alice");
	tap_ok(e && e->kind == AUTH_SECRET_PLAIN && strcmp(e->secret, "plain password") == 0 && e->line == 4,
		   "alice: plain secret with a space, line 4");
	tap_ok(e && e->cache && e->cache->state == 0, "alice: a plain secret gets an empty verifier cache");
	{
		Exchange	x;

		tap_ok(e && exchange(e, "plain password", &x) && x.server_result == AUTH_OK && e->cache->state == 2,
			   "alice logs in with SCRAM and the loaded entry's cache is filled");
	}
	e = authfile_lookup(&file, "bob");
	tap_ok(e && e->kind == AUTH_SECRET_MD5 && !e->cache, "bob: md5 secret (third field ignored), no cache");
	e = authfile_lookup(&file, "quo\"te");
	tap_ok(e && strcmp(e->secret, "pa\"ss\"") == 0, "doubled quotes are quotes in user and secret");
	e = authfile_lookup(&file, "user");
	tap_ok(e && e->kind == AUTH_SECRET_SCRAM && memcmp(&e->scram, &rfc, sizeof(rfc)) == 0,
		   "user: SCRAM secret decoded");
	e = authfile_lookup(&file, "nopass");
	tap_ok(e && e->kind == AUTH_SECRET_EMPTY, "nopass: empty secret");
	e = authfile_lookup(&file, "a");
	tap_ok(e && e->kind == AUTH_SECRET_PLAIN, "a: 'md5password' is a plain password (last line, no newline)");
	tap_ok(authfile_lookup(&file, "carol") == NULL && authfile_lookup(&file, "Alice") == NULL,
		   "unknown users (names are case-sensitive) are not found");

	/* The method per auth_type and secret. */
	m = auth_client_method(AUTH_TRUST, &file, "alice", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_TRUST && chosen && !err[0], "trust: listed user");
	m = auth_client_method(AUTH_TRUST, &file, "carol", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_REFUSE && strstr(err, "carol"), "trust with an auth_file: unlisted user refused");
	m = auth_client_method(AUTH_TRUST, NULL, "carol", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_TRUST && !chosen, "trust without an auth_file: anybody");
	m = auth_client_method(AUTH_MD5, &file, "alice", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_MD5 && chosen, "md5: plain secret -> md5");
	m = auth_client_method(AUTH_MD5, &file, "bob", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_MD5 && chosen, "md5: md5 secret -> md5");
	m = auth_client_method(AUTH_MD5, &file, "user", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_SCRAM && chosen, "md5: SCRAM secret -> SCRAM");
	m = auth_client_method(AUTH_MD5, &file, "carol", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_MD5 && !chosen && strstr(err, "not in the auth_file"), "md5: unknown user -> doomed md5");
	m = auth_client_method(AUTH_MD5, &file, "nopass", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_MD5 && !chosen && strstr(err, "empty"), "md5: empty secret -> doomed md5");
	m = auth_client_method(AUTH_SCRAM, &file, "alice", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_SCRAM && chosen, "scram: plain secret -> SCRAM");
	m = auth_client_method(AUTH_SCRAM, &file, "user", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_SCRAM && chosen, "scram: SCRAM secret -> SCRAM");
	m = auth_client_method(AUTH_SCRAM, &file, "bob", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_SCRAM && !chosen && strstr(err, "md5 secret"), "scram: md5 secret -> doomed, said why");
	tap_ok(!strstr(err, "md521f3163f8f86fa10bdefbfbd502a8f06"), "the reason does not show the secret");
	m = auth_client_method(AUTH_SCRAM, &file, "carol", &chosen, err, sizeof(err));
	tap_ok(m == AUTH_METHOD_SCRAM && !chosen, "scram: unknown user -> doomed SCRAM");
	authfile_free(&file);
	tap_ok(file.entries == NULL && file.n_entries == 0, "authfile_free empties the struct");

	/* Bad lines, each with its line number. */
	refused("; c\n\"alice\" \"pw\"\n\"bob\" \"unterminated\n", 0600, ":3: a quoted field is not closed",
			"unterminated secret, line 3");
	refused("\"alice\n", 0600, ":1: a quoted field is not closed", "unterminated user");
	refused("\n\nalice pw\n", 0600, ":3: expected a field in double quotes", "unquoted fields");
	refused("\"alice\"\n", 0600, ":1: expected a field in double quotes", "missing secret");
	refused("\"alice\" \"pw\"junk\n", 0600, ":1: expected a space after the quoted secret", "junk after the secret");
	refused("\"\" \"pw\"\n", 0600, ":1: the user name is empty", "empty user name");
	refused("\"alice\" \"pw\"\n\"bob\" \"x\"\n\"alice\" \"pw2\"\n", 0600,
			":3: user \"alice\" is already listed on line 1", "duplicate user");
	refused("\"alice\" \"SCRAM-SHA-256$4096:c2FsdA==$c2VjcmV0LXRleHQ=:AAAA\"\n", 0600,
			":1: the SCRAM secret of user \"alice\" is malformed", "malformed SCRAM secret");
	{
		AuthFile	f2;

		load_text("\"alice\" \"SCRAM-SHA-256$4096:c2FsdA==$c2VjcmV0LXRleHQ=:AAAA\"\n", 0600, &f2, err);
		tap_ok(!strstr(err, "c2VjcmV0LXRleHQ"), "the error does not show the secret");
	}

	/* Permissions. */
	tap_ok(load_text("\"alice\" \"pw\"\n", 0644, &file, err) && file.readable_mode == 0644,
		   "a world-readable auth_file loads, its mode kept for the warning");
	authfile_free(&file);
	refused("\"alice\" \"pw\"\n", 0620, "chmod 600", "group-writable auth_file refused");
	refused("\"alice\" \"pw\"\n", 0602, "chmod 600", "world-writable auth_file refused");
	refused("\"alice\" \"pw\"\n", 0666, "mode 0666", "writable by everyone: refused, mode shown");
	tap_ok(load_text("\"alice\" \"pw\"\n", 0640, &file, err) && file.readable_mode == 0640,
		   "mode 0640 loads, readable by the group: warned");
	authfile_free(&file);
	tap_ok(load_text("\"alice\" \"pw\"\n", 0600, &file, err) && file.readable_mode == 0,
		   "mode 0600 loads without a warning");
	authfile_free(&file);
	tap_ok(load_text("", 0400, &file, err) && file.n_entries == 0, "an empty file with mode 0400 loads, no users");
	tap_ok(authfile_lookup(&file, "alice") == NULL, "lookup in an empty file");
	authfile_free(&file);
	snprintf(frag, sizeof(frag), "%s", "/tmp: the auth_file is not a regular file");
	tap_ok(!authfile_load("/tmp", &file, err, sizeof(err)) && strstr(err, frag), "a directory is refused");
	{
		char		fifo[] = "/tmp/faregate-test-auth-fifo.XXXXXX";
		int			tmp = mkstemp(fifo);

		close(tmp);
		unlink(fifo);
		tap_ok(mkfifo(fifo, 0600) == 0 && !authfile_load(fifo, &file, err, sizeof(err)) &&
			   strstr(err, "not a regular file"), "a FIFO is refused at once (no blocking open)");
		unlink(fifo);
	}
	tap_ok(!authfile_load("/nonexistent/users.txt", &file, err, sizeof(err)) &&
		   strstr(err, "/nonexistent/users.txt: cannot open"), "a missing file is refused with its path");

	/* Many users: lookups find each (sorted + bsearch). */
	{
		FILE	   *f = fopen(path, "w");
		bool		all = true;

		for (int i = 999; i >= 0; i--)
			fprintf(f, "\"user%d\" \"pw%d\"\n", i, i);
		fclose(f);
		all = authfile_load(path, &file, err, sizeof(err));
		for (int i = 0; all && i < 1000; i++)
		{
			snprintf(frag, sizeof(frag), "user%d", i);
			e = authfile_lookup(&file, frag);
			snprintf(secret, sizeof(secret), "pw%d", i);
			all = e && strcmp(e->secret, secret) == 0 && e->line == 1000 - i;
		}
		tap_ok(all, "1,000 users load and each is found with its line");
		authfile_free(&file);
	}
}

/* ---- libpq as the client of our server side, over a loopback socket (no PostgreSQL needed) ---- */

typedef struct FakeServer
{
	int			listen_fd;
	AuthMethod	method;			/* MD5 or SCRAM */
	const AuthEntry *entry;
	AuthResult	result;			/* of the last verification step */
	char		user[64];
} FakeServer;

/* fs_send: one backend message: type, length, body. */
static bool
fs_send(int fd, char type, const void *body, size_t len)
{
	char		msg[2048];
	uint32_t	n = htonl((uint32_t) len + 4);

	msg[0] = type;
	memcpy(msg + 1, &n, 4);
	memcpy(msg + 5, body, len);
	return send(fd, msg, len + 5, 0) == (ssize_t) (len + 5);
}

static bool
fs_auth(int fd, uint32_t code, const void *data, size_t len)
{
	char		body[1024];
	uint32_t	n = htonl(code);

	memcpy(body, &n, 4);
	memcpy(body + 4, data, len);
	return fs_send(fd, 'R', body, len + 4);
}

/* fs_read_p: a 'p' message from the client into buf (NUL-terminated); its length. */
static int
fs_read_p(int fd, char *buf, size_t bufsize)
{
	char		head[5];
	uint32_t	n;

	if (!sock_recv_all(fd, head, 5) || head[0] != 'p')
		return -1;
	memcpy(&n, head + 1, 4);
	n = ntohl(n) - 4;
	if (n >= bufsize || !sock_recv_all(fd, buf, n))
		return -1;
	buf[n] = '\0';
	return (int) n;
}

static void *
fake_server(void *arg)
{
	FakeServer *fs = arg;
	struct timeval tv = {.tv_sec = 10};
	char		buf[2048],
				out[SCRAM_OUT_MAX];
	uint32_t	len;
	size_t		n;
	int			fd = accept(fs->listen_fd, NULL, NULL);

	fs->result = AUTH_MALFORMED;
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!sock_recv_all(fd, (char *) &len, 4) || (len = ntohl(len)) < 8 || len > sizeof(buf) ||
		!sock_recv_all(fd, buf, len - 4))
		goto done;
	for (char *k = buf + 4; k < buf + len - 4 && *k; k += strlen(k) + 1)
	{
		if (strcmp(k, "user") == 0)
			snprintf(fs->user, sizeof(fs->user), "%s", k + 5);
		k += strlen(k) + 1;
	}
	if (fs->method == AUTH_METHOD_MD5)
	{
		uint8_t		salt[4];

		if (!auth_md5_salt(salt) || !fs_auth(fd, 5, salt, 4) || fs_read_p(fd, buf, sizeof(buf)) < 0)
			goto done;
		fs->result = auth_md5_verify(fs->entry, fs->user, salt, buf);
	}
	else
	{
		ScramServer sv;
		int			got;
		uint32_t	dlen;

		if (scram_server_begin(&sv, fs->user, fs->entry) != AUTH_OK ||
			!fs_auth(fd, 10, SCRAM_MECHANISM "\0", sizeof(SCRAM_MECHANISM) + 1) ||
			(got = fs_read_p(fd, buf, sizeof(buf))) < 0 || strcmp(buf, SCRAM_MECHANISM) != 0)
			goto done;
		memcpy(&dlen, buf + sizeof(SCRAM_MECHANISM), 4);
		dlen = ntohl(dlen);
		if (sizeof(SCRAM_MECHANISM) + 4 + dlen != (size_t) got)
			goto done;
		fs->result = scram_server_handle_client_first(&sv, buf + sizeof(SCRAM_MECHANISM) + 4, dlen, out,
													  sizeof(out), &n);
		if (fs->result == AUTH_OK && fs_auth(fd, 11, out, n) && (got = fs_read_p(fd, buf, sizeof(buf))) >= 0)
			fs->result = scram_server_handle_client_final(&sv, buf, got, out, sizeof(out), &n);
		if (fs->result == AUTH_OK)
			fs_auth(fd, 12, out, n);
		scram_server_clear(&sv);
	}
	if (fs->result == AUTH_OK)
	{
		fs_auth(fd, 0, "", 0);
		fs_send(fd, 'Z', "I", 1);
		sock_recv_all(fd, buf, 5);	/* Terminate when libpq closes */
	}
	else
	{
		static const char err[] = "SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed (fake server)\0";

		fs_send(fd, 'E', err, sizeof(err));
	}
done:
	close(fd);
	return NULL;
}

/* libpq_login: libpq connects to a fake server running our server side; true when the connection is up. */
static bool
libpq_login(AuthMethod method, const AuthEntry *entry, const char *user, const char *password, AuthResult *result,
			char *error, size_t errlen)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t	alen = sizeof(addr);
	FakeServer	fs = {.method = method, .entry = entry};
	pthread_t	thread;
	char		conninfo[512];
	PGconn	   *conn;
	bool		up;

	fs.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(fs.listen_fd, (struct sockaddr *) &addr, sizeof(addr)) != 0 || listen(fs.listen_fd, 1) != 0 ||
		getsockname(fs.listen_fd, (struct sockaddr *) &addr, &alen) != 0 ||
		pthread_create(&thread, NULL, fake_server, &fs) != 0)
	{
		close(fs.listen_fd);
		return false;
	}
	snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d user=%s password=%s dbname=x sslmode=disable "
			 "gssencmode=disable connect_timeout=10", ntohs(addr.sin_port), user, password);
	conn = PQconnectdb(conninfo);
	up = PQstatus(conn) == CONNECTION_OK;
	snprintf(error, errlen, "%s", PQerrorMessage(conn));
	PQfinish(conn);
	pthread_join(thread, NULL);
	close(fs.listen_fd);
	*result = fs.result;
	return up;
}

static void
test_libpq_client(void)
{
	AuthEntry	plain = {.user = "alice", .secret = "s3cret", .kind = AUTH_SECRET_PLAIN};
	AuthEntry	nonascii = {.user = "alice", .secret = "p\xc3\xa4ssw\xc3\xb6rd", .kind = AUTH_SECRET_PLAIN};
	AuthEntry	scram = {.user = "alice", .kind = AUTH_SECRET_SCRAM};
	AuthEntry	md5 = {.user = "alice", .kind = AUTH_SECRET_MD5};
	char		text[SCRAM_SECRET_MAX],
				md5_text[AUTH_MD5_LEN + 1],
				err[512];
	AuthResult	r;

	tap_ok(scram_build_secret("s3cret", 4096, text, sizeof(text)) && scram_parse_secret(text, &scram.scram, err, 64),
		   "libpq: a SCRAM secret for alice");
	auth_md5_hash("alice", "s3cret", md5_text);
	md5.secret = md5_text;

	tap_ok(libpq_login(AUTH_METHOD_SCRAM, &plain, "alice", "s3cret", &r, err, sizeof(err)) && r == AUTH_OK,
		   "libpq logs in over SCRAM to our server (plain secret)");
	tap_ok(libpq_login(AUTH_METHOD_SCRAM, &scram, "alice", "s3cret", &r, err, sizeof(err)) && r == AUTH_OK,
		   "libpq logs in over SCRAM to our server (SCRAM secret), verifying our signature");
	tap_ok(libpq_login(AUTH_METHOD_SCRAM, &nonascii, "alice", "p\xc3\xa4ssw\xc3\xb6rd", &r, err, sizeof(err)) &&
		   r == AUTH_OK, "libpq logs in over SCRAM with a non-ASCII (NFC) password");
	tap_ok(!libpq_login(AUTH_METHOD_SCRAM, &scram, "alice", "s3creT", &r, err, sizeof(err)) && r == AUTH_FAILED &&
		   strstr(err, "password authentication failed"), "libpq with a wrong SCRAM password is refused");
	tap_ok(!libpq_login(AUTH_METHOD_SCRAM, NULL, "nobody", "s3cret", &r, err, sizeof(err)) && r == AUTH_FAILED,
		   "libpq as an unknown user: doomed SCRAM exchange refused at the end");
	tap_ok(libpq_login(AUTH_METHOD_MD5, &plain, "alice", "s3cret", &r, err, sizeof(err)) && r == AUTH_OK,
		   "libpq logs in over md5 to our server (plain secret)");
	tap_ok(libpq_login(AUTH_METHOD_MD5, &md5, "alice", "s3cret", &r, err, sizeof(err)) && r == AUTH_OK,
		   "libpq logs in over md5 to our server (md5 secret)");
	tap_ok(!libpq_login(AUTH_METHOD_MD5, &md5, "alice", "s3cre", &r, err, sizeof(err)) && r == AUTH_FAILED,
		   "libpq with a wrong md5 password is refused");
}

/* test_salt_key: auth_salt_key_file is created once (mode 600) and read back; bad files refused. */
static void
test_salt_key(void)
{
	char		dir[] = "/tmp/fg-saltkey.XXXXXX";
	char		file[64];
	char		err[256];
	uint8_t		key1[AUTH_SALT_KEY_LEN],
				key2[AUTH_SALT_KEY_LEN];
	bool		created = false;
	struct stat st;
	FILE	   *f;

	tap_ok(mkdtemp(dir) != NULL, "salt key: a scratch directory");
	snprintf(file, sizeof(file), "%s/key", dir);
	tap_is_long(auth_salt_key_load(file, key1, &created, err, sizeof(err)), 1, "a missing key file is created");
	tap_ok(created && stat(file, &st) == 0 && (st.st_mode & 0777) == 0600, "… mode 600");
	tap_is_long(auth_salt_key_load(file, key2, &created, err, sizeof(err)), 1, "… and read at the next start");
	tap_ok(!created && memcmp(key1, key2, sizeof(key1)) == 0, "… the same key");
	chmod(file, 0644);
	tap_ok(auth_salt_key_load(file, key2, &created, err, sizeof(err)) == -1 && strstr(err, "chmod 600"),
		   "a key file readable by others is refused, saying chmod 600");
	chmod(file, 0600);
	if ((f = fopen(file, "w")))
	{
		fputs("not hex\n", f);
		fclose(f);
	}
	tap_ok(auth_salt_key_load(file, key2, &created, err, sizeof(err)) == -1 && strstr(err, "64 hex digits"),
		   "a malformed key file is refused");
	unlink(file);
	snprintf(file, sizeof(file), "%s/no/such/dir/key", dir);
	tap_is_long(auth_salt_key_load(file, key2, &created, err, sizeof(err)), 0,
				"a key file that cannot be created: 0 (the caller warns)");
	rmdir(dir);
}

/* begin_tls: a fresh server for entry, on TLS (binding cb, 32 bytes) unless cb is NULL, mechanism chosen */
static bool
begin_tls(ScramServer *sv, const AuthEntry *entry, const uint8_t *cb, const char *mechanism)
{
	if (scram_server_begin(sv, entry->user, entry) != AUTH_OK)
		return false;
	if (cb)
		scram_server_set_channel_binding(sv, cb, 32);
	return scram_server_choose_mechanism(sv, mechanism);
}

/*
 * test_channel_binding: SCRAM-SHA-256-PLUS with tls-server-end-point, as PostgreSQL's rules have it; the
 * binding data stands for the hash of the pooler's certificate (tls.c computes the real one).
 */
static void
test_channel_binding(void)
{
	AuthEntry	entry = {.user = "u", .secret = "pw", .kind = AUTH_SECRET_PLAIN};
	const char *bare = "n=,r=cbnonce";
	uint8_t		cb[32],
				raw[64];
	char		cb_b64[128],
				wrong_b64[128],
				first[256],
				sfirst[SCRAM_OUT_MAX],
				final[SCRAM_OUT_MAX],
				out[SCRAM_OUT_MAX];
	ScramServer sv;
	size_t		n;

	memset(cb, 0xab, sizeof(cb));
	memcpy(raw, "p=tls-server-end-point,,", 24);
	memcpy(raw + 24, cb, sizeof(cb));
	scram_b64_encode(raw, 56, cb_b64);
	raw[40] ^= 1;
	scram_b64_encode(raw, 56, wrong_b64);
	snprintf(first, sizeof(first), "p=tls-server-end-point,,%s", bare);

	for (int wrong = 0; wrong < 2; wrong++)
	{
		tap_ok(begin_tls(&sv, &entry, cb, SCRAM_MECHANISM_PLUS), "PLUS: offered on TLS and chosen");
		is_result(scram_server_handle_client_first(&sv, first, strlen(first), sfirst, sizeof(sfirst), &n), AUTH_OK,
				  "PLUS: p=tls-server-end-point accepted");
		client_final_for("pw", wrong ? wrong_b64 : cb_b64, bare, sfirst, final);
		is_result(scram_server_handle_client_final(&sv, final, strlen(final), out, sizeof(out), &n),
				  wrong ? AUTH_MALFORMED : AUTH_OK, wrong ? "PLUS: another certificate's hash in c= is refused" :
				  "PLUS: the right binding and password log in");
		if (wrong)
			tap_ok(strstr(sv.error, "does not end at this pooler") != NULL, "  ... saying why");
		scram_server_clear(&sv);
	}

	tap_ok(begin_tls(&sv, &entry, cb, SCRAM_MECHANISM), "on TLS, SCRAM-SHA-256 may still be chosen");
	is_result(scram_server_handle_client_first(&sv, "y,,n=,r=abc", 11, sfirst, sizeof(sfirst), &n), AUTH_MALFORMED,
			  "on TLS, y,, (the client thinks the pooler cannot bind) is refused as a downgrade");
	tap_ok(begin_tls(&sv, &entry, cb, SCRAM_MECHANISM), "on TLS, SCRAM-SHA-256 chosen");
	is_result(scram_server_handle_client_first(&sv, "n,,n=,r=abc", 11, sfirst, sizeof(sfirst), &n), AUTH_OK,
			  "on TLS, n,, (channel_binding=disable) is accepted");
	tap_ok(begin_tls(&sv, &entry, cb, SCRAM_MECHANISM_PLUS), "on TLS, PLUS chosen");
	is_result(scram_server_handle_client_first(&sv, "n,,n=,r=abc", 11, sfirst, sizeof(sfirst), &n), AUTH_MALFORMED,
			  "SCRAM-SHA-256-PLUS chosen with n,, is refused");
	tap_ok(begin_tls(&sv, &entry, cb, SCRAM_MECHANISM_PLUS), "on TLS, PLUS chosen again");
	is_result(scram_server_handle_client_first(&sv, "p=tls-unique,,n=,r=abc", 22, sfirst, sizeof(sfirst), &n),
			  AUTH_UNUSABLE, "a channel-binding type other than tls-server-end-point is refused");
	tap_ok(!begin_tls(&sv, &entry, NULL, SCRAM_MECHANISM_PLUS), "without TLS, PLUS is not offered");
	is_result(scram_server_handle_client_first(&sv, "y,,n=,r=abc", 11, sfirst, sizeof(sfirst), &n), AUTH_OK,
			  "without TLS, y,, is accepted");
	scram_server_clear(&sv);
}

int
main(void)
{
	int			fd = mkstemp(path);

	close(fd);
	test_md5();
	test_base64();
	test_rfc7677();
	test_exchanges();
	test_server_malformed();
	test_channel_binding();
	test_client_malformed();
	test_secret_parse();
	test_authfile();
	test_salt_key();
	test_libpq_client();
	unlink(path);
	return tap_done();
}
