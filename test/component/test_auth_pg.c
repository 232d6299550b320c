/*
 * test_auth_pg.c: interoperability of auth.c and scram.c with a real PostgreSQL (the harness's primary,
 * FG_PRIMARY_PORT; skipped without one). Creates roles through libpq, then logs in over a raw TCP socket
 * with the pooler's own client functions (SCRAM-SHA-256 and md5, right and wrong passwords, md5 and SCRAM
 * pass-through), and checks the server-side verifier against the secrets PostgreSQL stores in pg_authid.
 * pg_hba (test/harness/cluster.sh): md5_* users need md5 (SCRAM when their secret is SCRAM), scram_* SCRAM.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "auth.h"
#include "scram.h"
#include "sock_io.h"
#include "tap.h"

typedef struct Login
{
	char		sqlstate[6];	/* of an ErrorResponse, or "" */
	char		method[16];		/* "SASL", "MD5", or "" */
	char		client_error[AUTH_ERR_MAX]; /* our functions' refusal, or "" */
	bool		ok;				/* AuthenticationOk received (after a verified SASLFinal) */
} Login;

static PGconn *conn;
static const char *host;
static int	port;

static void
put32(char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t
get32(const char *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* send_password_message: 'p' with body (SASLInitialResponse, SASLResponse, PasswordMessage). */
static bool
send_p(int fd, const char *body, size_t len)
{
	char		msg[4096];

	if (len + 5 > sizeof(msg))
		return false;
	msg[0] = 'p';
	put32(msg + 1, (uint32_t) len + 4);
	memcpy(msg + 5, body, len);
	return sock_send_all(fd, msg, len + 5);
}

/*
 * login: a v3 startup as user on a raw socket, answering the server's authentication requests with
 * password, or (keys != NULL) with SCRAM pass-through keys.
 */
static void
login(const char *user, const char *password, const ScramSecret *keys, const uint8_t *client_key, Login *out)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 10};
	char		msg[8192],
				body[4096];
	size_t		len,
				n;
	ScramClient cl;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(out, 0, sizeof(*out));
	memset(&cl, 0, sizeof(cl));
	inet_pton(AF_INET, host, &addr.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0)
	{
		snprintf(out->client_error, sizeof(out->client_error), "connect failed");
		close(fd);
		return;
	}
	len = 8;
	len += snprintf(msg + len, sizeof(msg) - len, "user%c%s%cdatabase%cpostgres%c", 0, user, 0, 0, 0) + 1;
	msg[len - 1] = '\0';
	put32(msg, (uint32_t) len);
	put32(msg + 4, 196608);
	if (!sock_send_all(fd, msg, len))
		goto done;
	for (;;)
	{
		char		type;
		uint32_t	mlen;

		if (!sock_recv_all(fd, msg, 5))
			break;
		type = msg[0];
		mlen = get32(msg + 1);
		if (mlen < 4 || mlen - 4 >= sizeof(msg) || !sock_recv_all(fd, msg, mlen - 4))
			break;
		msg[mlen - 4] = '\0';
		if (type == 'E')
		{
			for (char *f = msg; *f && f < msg + mlen - 4; f += strlen(f) + 1)
				if (*f == 'C')
					snprintf(out->sqlstate, sizeof(out->sqlstate), "%s", f + 1);
			break;
		}
		if (type != 'R')
			continue;
		switch (get32(msg))
		{
			case 0:
				out->ok = true;
				goto done;
			case 5:				/* AuthenticationMD5Password */
				snprintf(out->method, sizeof(out->method), "MD5");
				auth_md5_client_response(user, password, (const uint8_t *) msg + 4, body);
				if (!send_p(fd, body, AUTH_MD5_LEN + 1))
					goto done;
				break;
			case 10:			/* AuthenticationSASL: a list of mechanisms */
				{
					bool		offered = false;

					snprintf(out->method, sizeof(out->method), "SASL");
					for (char *m = msg + 4; *m; m += strlen(m) + 1)
						offered |= strcmp(m, SCRAM_MECHANISM) == 0;
					if (!offered ||
						(keys ? scram_client_begin_keys(&cl, "", keys, client_key) :
						 scram_client_begin(&cl, "", password)) != AUTH_OK ||
						scram_client_first_message(&cl, msg, sizeof(msg), &n) != AUTH_OK)
					{
						snprintf(out->client_error, sizeof(out->client_error), "SASL start: %.200s", cl.error);
						goto done;
					}
					len = snprintf(body, sizeof(body), "%s", SCRAM_MECHANISM) + 1;
					put32(body + len, (uint32_t) n);
					memcpy(body + len + 4, msg, n);
					if (!send_p(fd, body, len + 4 + n))
						goto done;
				}
				break;
			case 11:			/* AuthenticationSASLContinue: server-first-message */
				if (scram_client_handle_server_first(&cl, msg + 4, mlen - 8, body, sizeof(body), &n) != AUTH_OK)
				{
					snprintf(out->client_error, sizeof(out->client_error), "%s", cl.error);
					goto done;
				}
				if (!send_p(fd, body, n))
					goto done;
				break;
			case 12:			/* AuthenticationSASLFinal: server-final-message */
				if (scram_client_verify_server_final(&cl, msg + 4, mlen - 8) != AUTH_OK)
				{
					snprintf(out->client_error, sizeof(out->client_error), "%s", cl.error);
					goto done;
				}
				break;
			default:
				snprintf(out->client_error, sizeof(out->client_error), "unexpected request %u", get32(msg));
				goto done;
		}
	}
done:
	scram_client_clear(&cl);
	sock_send_all(fd, "X\0\0\0\4", 5);
	close(fd);
}

static bool
sql(const char *command)
{
	PGresult   *res = PQexec(conn, command);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		printf("# %s: %s", command, PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

/* rolpassword: the secret pg_authid holds for role, in buf. */
static bool
rolpassword(const char *role, char *buf, size_t buflen)
{
	const char *params[1] = {role};
	PGresult   *res = PQexecParams(conn, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", 1, NULL, params,
								   NULL, NULL, 0);
	bool		found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

	if (found)
		snprintf(buf, buflen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return found;
}

static void
expect_login(const char *user, const char *password, const char *method, const char *name)
{
	Login		l;

	login(user, password, NULL, NULL, &l);
	if (!tap_ok(l.ok && strcmp(l.method, method) == 0, name))
		printf("#   ok=%d method='%s' sqlstate='%s' client_error='%s'\n", l.ok, l.method, l.sqlstate,
			   l.client_error);
}

static void
expect_refused(const char *user, const char *password, const char *name)
{
	Login		l;

	login(user, password, NULL, NULL, &l);
	if (!tap_ok(!l.ok && strcmp(l.sqlstate, "28P01") == 0, name))
		printf("#   ok=%d sqlstate='%s' client_error='%s'\n", l.ok, l.sqlstate, l.client_error);
}

int
main(void)
{
	const char *port_text = getenv("FG_PRIMARY_PORT");
	char		conninfo[256],
				secret[SCRAM_SECRET_MAX],
				err[AUTH_ERR_MAX],
				path[] = "/tmp/faregate-test-auth-pg.XXXXXX";
	AuthFile	file;
	const AuthEntry *alice,
			   *bob;
	ScramServer sv;
	ScramClient cl;
	Login		l;
	int			fd;

	if (!port_text || !*port_text)
	{
		printf("1..0 # SKIP no test cluster (FG_PRIMARY_PORT is not set)\n");
		return 0;
	}
	host = getenv("FG_HOST") && *getenv("FG_HOST") ? getenv("FG_HOST") : "127.0.0.1";
	port = atoi(port_text);
	snprintf(conninfo, sizeof(conninfo), "host=%s port=%d dbname=postgres user=postgres client_encoding=UTF8",
			 host, port);
	conn = PQconnectdb(conninfo);
	if (!tap_ok(PQstatus(conn) == CONNECTION_OK, "connected to the primary as postgres"))
	{
		printf("#   %s", PQerrorMessage(conn));
		return tap_done();
	}
	sql("SET client_min_messages = warning");
	sql("DROP ROLE IF EXISTS scram_alice");
	sql("DROP ROLE IF EXISTS scram_nonascii");
	sql("DROP ROLE IF EXISTS md5_bob");
	sql("DROP ROLE IF EXISTS md5_carol");
	tap_ok(sql("SET password_encryption = 'scram-sha-256'") &&
		   sql("CREATE ROLE scram_alice LOGIN PASSWORD 'alice-pw' IN ROLE scram_users") &&
		   sql("CREATE ROLE scram_nonascii LOGIN PASSWORD 'p\xc3\xa4ssw\xc3\xb6rd' IN ROLE scram_users") &&
		   sql("CREATE ROLE md5_carol LOGIN PASSWORD 'carol-pw' IN ROLE md5_users") &&
		   sql("SET password_encryption = 'md5'") &&
		   sql("CREATE ROLE md5_bob LOGIN PASSWORD 'bob-pw' IN ROLE md5_users"),
		   "roles created (SCRAM: scram_alice, scram_nonascii in NFC, md5_carol; md5: md5_bob)");

	/* Our client against PostgreSQL. */
	expect_login("scram_alice", "alice-pw", "SASL", "SCRAM-SHA-256 login to PostgreSQL with the right password");
	expect_refused("scram_alice", "alice-pW", "SCRAM-SHA-256 login with a wrong password: ErrorResponse 28P01");
	expect_login("scram_nonascii", "p\xc3\xa4ssw\xc3\xb6rd", "SASL", "SCRAM login with a non-ASCII (NFC) password");
	expect_login("md5_bob", "bob-pw", "MD5", "md5 login to PostgreSQL with the right password");
	expect_refused("md5_bob", "bob-pwx", "md5 login with a wrong password: ErrorResponse 28P01");
	expect_login("md5_carol", "carol-pw", "SASL", "md5 in pg_hba with a SCRAM secret: PostgreSQL asks SCRAM, login works");
	expect_refused("md5_carol", "", "SCRAM login with an empty password refused");

	/* md5 pass-through: pg_authid's md5 secret logs in, and verifies our md5 challenge. */
	tap_ok(rolpassword("md5_bob", secret, sizeof(secret)) && auth_secret_kind(secret) == AUTH_SECRET_MD5,
		   "pg_authid holds an md5 secret for md5_bob");
	expect_login("md5_bob", secret, "MD5", "md5 login to PostgreSQL with the md5 secret from pg_authid");

	/* pg_authid's secrets in an auth_file, checked by our server side. */
	fd = mkstemp(path);
	{
		char		line[3 * SCRAM_SECRET_MAX];
		char		bob_secret[SCRAM_SECRET_MAX];
		FILE	   *f = fdopen(fd, "w");

		tap_ok(rolpassword("scram_alice", secret, sizeof(secret)) && strncmp(secret, "SCRAM-SHA-256$4096:", 19) == 0,
			   "pg_authid holds a SCRAM secret for scram_alice");
		rolpassword("md5_bob", bob_secret, sizeof(bob_secret));
		snprintf(line, sizeof(line), "\"scram_alice\" \"%s\"\n\"md5_bob\" \"%s\"\n", secret, bob_secret);
		fputs(line, f);
		fclose(f);
	}
	chmod(path, 0600);
	tap_ok(authfile_load(path, &file, err, sizeof(err)), "an auth_file with pg_authid's secrets loads");
	unlink(path);
	alice = authfile_lookup(&file, "scram_alice");
	bob = authfile_lookup(&file, "md5_bob");
	tap_ok(alice && alice->kind == AUTH_SECRET_SCRAM && bob && bob->kind == AUTH_SECRET_MD5,
		   "they are read as SCRAM and md5 secrets");
	{
		const uint8_t salt[4] = {9, 8, 7, 6};
		char		response[AUTH_MD5_LEN + 1];

		auth_md5_client_response("md5_bob", "bob-pw", salt, response);
		tap_ok(bob && auth_md5_verify(bob, "md5_bob", salt, response) == AUTH_OK,
			   "our md5 verifier accepts bob's password against pg_authid's md5 secret");
		auth_md5_client_response("md5_bob", "bob-pw ", salt, response);
		tap_ok(bob && auth_md5_verify(bob, "md5_bob", salt, response) == AUTH_FAILED, "and refuses a wrong one");
	}
	for (int round = 0; round < 2 && alice; round++)
	{
		const char *password = round == 0 ? "alice-pw" : "alice-pw2";
		char		a[SCRAM_OUT_MAX],
					b[SCRAM_OUT_MAX];
		size_t		n = 0;
		AuthResult	r = AUTH_MALFORMED;

		if (scram_server_begin(&sv, alice->user, alice) == AUTH_OK && scram_client_begin(&cl, "", password) == AUTH_OK &&
			scram_client_first_message(&cl, a, sizeof(a), &n) == AUTH_OK &&
			scram_server_handle_client_first(&sv, a, n, b, sizeof(b), &n) == AUTH_OK &&
			scram_client_handle_server_first(&cl, b, n, a, sizeof(a), &n) == AUTH_OK)
			r = scram_server_handle_client_final(&sv, a, n, b, sizeof(b), &n);
		if (round == 0)
		{
			tap_ok(r == AUTH_OK && scram_client_verify_server_final(&cl, b, n) == AUTH_OK,
				   "our SCRAM verifier accepts alice's password against pg_authid's secret");
			/* SCRAM pass-through: the ClientKey just revealed logs the pooler into PostgreSQL. */
			tap_ok(sv.have_client_key, "the exchange revealed alice's ClientKey");
			login("scram_alice", NULL, &alice->scram, sv.client_key, &l);
			if (!tap_ok(l.ok && strcmp(l.method, "SASL") == 0,
						"SCRAM pass-through: PostgreSQL accepts a login with that ClientKey"))
				printf("#   sqlstate='%s' client_error='%s'\n", l.sqlstate, l.client_error);
		}
		else
			tap_ok(r == AUTH_FAILED, "our SCRAM verifier refuses a wrong password against pg_authid's secret");
		scram_server_clear(&sv);
		scram_client_clear(&cl);
	}
	/* Pass-through with a secret that is not PostgreSQL's (same password, other salt): refused by us. */
	{
		ScramSecret other;
		uint8_t		key[SCRAM_KEY_LEN] = {0};

		tap_ok(scram_build_secret("alice-pw", 4096, secret, sizeof(secret)) &&
			   scram_parse_secret(secret, &other, err, sizeof(err)), "a second secret for alice's password");
		login("scram_alice", NULL, &other, key, &l);
		tap_ok(!l.ok && strstr(l.client_error, "pg_authid") != NULL,
			   "pass-through with a secret that differs from pg_authid's is refused with advice");
	}
	authfile_free(&file);

	sql("DROP ROLE scram_alice");
	sql("DROP ROLE scram_nonascii");
	sql("DROP ROLE md5_bob");
	sql("DROP ROLE md5_carol");
	PQfinish(conn);
	return tap_done();
}
