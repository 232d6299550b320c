/*
 * login.c: owns the authentication exchanges as event-loop steps (see login.h) and the loaded auth_file.
 * The cryptography and the choice of method are auth.c's and scram.c's (see the wiring notes in auth.h);
 * this module frames the messages, keeps the per-exchange state (a ScramServer or ScramClient, malloc'ed
 * for the exchange only and wiped after), and maps every failure to its SQLSTATE: 28P01 wrong password,
 * 28000 refused or unusable method, 08P01 broken protocol.
 *
 * An exchange never keeps a pointer into the auth_file across messages (a RELOAD may replace it): the
 * user's entry is looked up again at each step.
 */
#include "login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "authquery.h"
#include "client.h"
#include "config.h"
#include "hba.h"
#include "log.h"
#include "peerauth.h"
#include "pool.h"
#include "proto.h"
#include "scram.h"
#include "server.h"
#include "tls.h"

static AuthFile authfile;
static bool have_authfile;
static HbaRules hba_rules;		/* auth_type = hba (issue 16) */
static bool have_hba;
static IdentMap ident_map;		/* auth_ident_file: map= of peer and cert rules */
static bool have_ident;

/* The ClientAuth.method values beyond AuthMethod: which step the exchange is at. */
#define STEP_NONE 0
#define STEP_MD5_WAIT 1			/* AuthenticationMD5Password sent */
#define STEP_SCRAM_FIRST 2		/* AuthenticationSASL sent, waiting for SASLInitialResponse */
#define STEP_SCRAM_FINAL 3		/* SASLContinue sent, waiting for SASLResponse */
#define STEP_LOOKUP 4			/* waiting for auth_query (authquery.c); client bytes wait in rbuf */
#define STEP_PLAIN_WAIT 5		/* AuthenticationCleartextPassword sent */

/*
 * reload_hba: (re)reads auth_hba_file and auth_ident_file when auth_type = hba (else drops them); a bad
 * file fails the load and the rules in use stay.
 */
static bool
reload_hba(char *err, size_t errlen)
{
	HbaRules	rules = {0};
	IdentMap	map = {0};
	bool		use = cf.auth_type == AUTH_HBA;

	if (use && !hba_load(cf.auth_hba_file, &rules, err, errlen))
		return false;
	if (use && cf.auth_ident_file[0] && !ident_load(cf.auth_ident_file, &map, err, errlen))
	{
		hba_free(&rules);
		return false;
	}
	if (have_hba)
		hba_free(&hba_rules);
	if (have_ident)
		ident_free(&ident_map);
	hba_rules = rules;
	ident_map = map;
	have_hba = use;
	have_ident = use && cf.auth_ident_file[0];
	return true;
}

/*
 * load_salt_key: the SCRAM salt key from auth_salt_key_file (default: the auth_file's path + ".salt-key"),
 * created at the first start. Before the auth_file, whose plain-password entries cache a secret salted
 * with it. A file that cannot be created is a warning (a key per process, as before); an unusable one an
 * error.
 */
static bool
load_salt_key(char *err, size_t errlen)
{
	char		path[CF_STR_MAX + 16];
	uint8_t		key[AUTH_SALT_KEY_LEN];
	bool		created;
	int			rc;

	if (cf.auth_salt_key_file[0])
		snprintf(path, sizeof(path), "%s", cf.auth_salt_key_file);
	else
		snprintf(path, sizeof(path), "%s.salt-key", cf.auth_file);
	rc = auth_salt_key_load(path, key, &created, err, errlen);
	if (rc < 0)
		return false;
	if (rc == 0)
		log_warning("%s; SCRAM salts of unknown users will change at every restart (set auth_salt_key_file "
					"to a writable place)", err);
	else
	{
		if (created)
			log_info("%s: new SCRAM salt key written", path);
		scram_set_salt_key(key);
	}
	OPENSSL_cleanse(key, sizeof(key));
	err[0] = '\0';
	return true;
}

bool
login_reload(char *err, size_t errlen)
{
	AuthFile	fresh;

	if (!reload_hba(err, errlen))
		return false;

	authquery_reload();
	if (!cf.auth_file[0])
	{
		if (have_authfile)
			authfile_free(&authfile);
		have_authfile = false;
		return true;
	}
	if (!load_salt_key(err, errlen) || !authfile_load(cf.auth_file, &fresh, err, errlen))
		return false;
	if (fresh.readable_mode)
		log_warning("%s: the auth_file can be read by its group or others (mode %04o): run chmod 600 %s",
					cf.auth_file, fresh.readable_mode, cf.auth_file);
	if (have_authfile)
		authfile_free(&authfile);
	authfile = fresh;
	have_authfile = true;
	return true;
}

/* current_entry: the user's auth_file entry now, else what auth_query last found for logins to dbname. */
static const AuthEntry *
current_entry(const char *dbname, const char *user)
{
	const AuthEntry *entry = have_authfile ? authfile_lookup(&authfile, user) : NULL;

	return entry ? entry : authquery_entry(dbname, have_authfile ? &authfile : NULL, user);
}

const char *
login_authfile_user(int i)
{
	return have_authfile && i >= 0 && i < authfile.n_entries ? authfile.entries[i].user : NULL;
}

bool
login_user_looked_up(const char *dbname, const char *user)
{
	if (have_authfile && authfile_lookup(&authfile, user))
		return false;
	return authquery_entry(dbname, have_authfile ? &authfile : NULL, user) != NULL;
}

static bool
send_auth(Client *client, uint32_t code, const void *extra, size_t len)
{
	uint8_t		data[SCRAM_OUT_MAX + 64];
	PktBuf		pkt;

	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_auth(&pkt, code, extra, len);
	if (pkt.failed || !client_send_bytes(client, pkt.data, pkt.len))
	{
		client_close(client, "53200", "out of memory during authentication", NULL);
		return false;
	}
	return client_flush(client);
}

/* auth_fail: ends a client's login after result (not AUTH_OK); why goes to the log only. */
static void
auth_fail(Client *client, AuthResult result, const char *why)
{
	char		msg[256];

	if (log_event_allowed(LOGEV_LOGIN_FAILED))
		slog_info(&client->conn, "authentication failed: %s", why && *why ? why : "wrong password");
	switch (result)
	{
		case AUTH_MALFORMED:
			client_close(client, "08P01", "invalid authentication message", NULL);
			break;
		case AUTH_UNUSABLE:
			snprintf(msg, sizeof(msg), "authentication method cannot be used for user \"%s\"", client->user);
			client_close(client, "28000", msg, "Ask the administrator which login method this user needs.");
			break;
		default:
			/* PostgreSQL's words; after a SCRAM exchange PgBouncer's first ("SASL authentication failed") */
			snprintf(msg, sizeof(msg), "%spassword authentication failed for user \"%s\"",
					 client->auth.method == AUTH_METHOD_SCRAM ? "SASL authentication failed: " : "", client->user);
			client_close(client, "28P01", msg, "Check the user name and password.");
			break;
	}
}

/*
 * start_method: runs the password method type (trust, md5, scram-sha-256 or plain) for the client, with
 * entry (its secret, or NULL) and have_users (a list of users exists: auth_file or auth_query).
 */
static void
start_method(Client *client, AuthType type, const AuthEntry *found, bool have_users)
{
	const AuthEntry *entry = NULL;
	char		why[AUTH_ERR_MAX];
	AuthMethod	method = auth_method_for_entry(type, have_users, found, client->user, &entry, why, sizeof(why));

	client->auth.method = (int) method;
	client->auth.entry = entry;
	if (!tls_client_name_ok(&client->conn, client->user, why, sizeof(why)))
	{
		char		msg[256];

		snprintf(msg, sizeof(msg), "certificate authentication failed for user \"%s\": %s", client->user, why);
		client_close(client, "28000", msg, "client_tls_sslmode = verify-full: connect as the user named in "
					 "the certificate's CN, or use a certificate issued for this user.");
		return;
	}
	switch (method)
	{
		case AUTH_METHOD_TRUST:
			client_login_done(client);
			return;
		case AUTH_METHOD_REFUSE:
			{
				char		msg[256];

				if (log_event_allowed(LOGEV_LOGIN_FAILED))
					slog_info(&client->conn, "login refused: %s", why);
				/* PgBouncer's words, which its users' scripts and tests look for, then why */
				snprintf(msg, sizeof(msg), "\"trust\" authentication failed: %s", why);
				client_close(client, "28000", msg, "Add the user to the pooler's auth_file.");
				return;
			}
		case AUTH_METHOD_PLAIN:
			client->auth.step = STEP_PLAIN_WAIT;
			send_auth(client, PROTO_AUTH_CLEARTEXT, NULL, 0);
			return;
		case AUTH_METHOD_MD5:
			if (!auth_md5_salt(client->auth.md5_salt))
			{
				client_close(client, "58000", "no random bytes for the md5 salt", NULL);
				return;
			}
			client->auth.step = STEP_MD5_WAIT;
			send_auth(client, PROTO_AUTH_MD5, client->auth.md5_salt, 4);
			return;
		case AUTH_METHOD_SCRAM:
			{
				ScramServer *st = calloc(1, sizeof(ScramServer));
				static const char mechanisms[] = SCRAM_MECHANISM "\0";
				/* on TLS, as PostgreSQL: channel binding first, in our order of preference */
				static const char mechanisms_tls[] = SCRAM_MECHANISM_PLUS "\0" SCRAM_MECHANISM "\0";
				uint8_t		cbind[SCRAM_CBIND_MAX];
				size_t		cbind_len = 0;

				if (!st)
				{
					client_close(client, "53200", "out of memory during authentication", NULL);
					return;
				}
				client->auth.scram = st;
				if (scram_server_begin(st, client->user, entry) != AUTH_OK)
				{
					auth_fail(client, AUTH_UNUSABLE, st->error);
					return;
				}
				client->auth.step = STEP_SCRAM_FIRST;
				if (client->conn.ssl && tls_server_end_point(&client->conn, cbind, sizeof(cbind), &cbind_len))
				{
					scram_server_set_channel_binding(st, cbind, cbind_len);
					send_auth(client, PROTO_AUTH_SASL, mechanisms_tls, sizeof(mechanisms_tls));
				}
				else
					send_auth(client, PROTO_AUTH_SASL, mechanisms, sizeof(mechanisms));
				return;
			}
	}
}

/* config_error: the login cannot go on because of the pooler's configuration (why goes to the log). */
static void
config_error(Client *client, const char *why)
{
	slog_warning(&client->conn, "login failed: %s", why);
	client_close(client, "08P01", "bouncer config error",
				 "The pooler's log says which setting is wrong (auth_user, auth_query, auth_dbname, auth_hba_file).");
}

/*
 * begin_password: a password method (or trust) for the client: with the user in the auth_file at once,
 * else after an auth_query lookup when an auth_user applies, else without an entry.
 */
static void
begin_password(Client *client, AuthType type)
{
	const AuthEntry *entry = have_authfile ? authfile_lookup(&authfile, client->user) : NULL;
	AqSource   *source = NULL;
	char		why[256];
	AqResolve	resolved = AQR_NONE;

	client->auth.auth_type = (int) type;
	if (!entry)
		resolved = authquery_resolve(client->dbname, have_authfile ? &authfile : NULL, &source, why, sizeof(why));
	if (resolved == AQR_CONFIG_ERROR)
	{
		config_error(client, why);
		return;
	}
	if (resolved == AQR_DISABLED)
	{
		client_close(client, "57P03", why, "An operator ran DISABLE on the auth_dbname; ENABLE it on the admin "
					 "console to look users up again.");
		return;
	}
	if (resolved == AQR_SOURCE)
	{
		client->auth.step = STEP_LOOKUP;
		authquery_start(source, client);
		return;
	}
	start_method(client, type, entry, have_authfile);
}

void
login_lookup_done(Client *client, int outcome, const char *sqlstate, const char *message)
{
	AuthType	type = (AuthType) client->auth.auth_type;

	client->auth.step = STEP_NONE;
	if (outcome == AQ_ERROR && message)
	{
		/* the server refused the lookup's login (e.g. no such database): its words, as PgBouncer */
		client_close(client, sqlstate, message, NULL);
		return;
	}
	if (outcome == AQ_ERROR)
	{
		config_error(client, "the auth_query lookup failed (see the warning above)");
		return;
	}
	if (outcome == AQ_NOT_FOUND && type == AUTH_TRUST)
	{
		char		msg[256];

		/* trust has no exchange in which to hide the answer: say it, as PgBouncer does */
		slog_info(&client->conn, "login refused: auth_query found no user \"%s\"", client->user);
		snprintf(msg, sizeof(msg), "no such user \"%s\"", client->user);
		client_close(client, "28000", msg, "Create the role (with LOGIN) on the server, or add it to the auth_file.");
		return;
	}
	/* a missing user runs a doomed exchange: the client cannot tell it from a wrong password */
	if (outcome == AQ_NOT_FOUND)
		slog_info(&client->conn, "auth_query found no user \"%s\" (or it may not log in)", client->user);
	start_method(client, type, outcome == AQ_FOUND ? current_entry(client->dbname, client->user) : NULL, true);
	if (client->state == CL_LOGIN && client->auth.step == STEP_NONE)
		return;
	if (client->state == CL_LOGIN && iobuf_len(client->conn.rbuf) > 0)
		client_resume(client);
}

/* hba_refuse: PostgreSQL's words for a login no rule lets in (none matched, or reject). */
static void
hba_refuse(Client *client, bool rejected)
{
	char		msg[512];
	bool		local = strcmp(client->conn.addr, "unix") == 0;

	snprintf(msg, sizeof(msg), "%s for host \"%s\", user \"%s\", database \"%s\", %s",
			 rejected ? "pg_hba.conf rejects connection" : "no pg_hba.conf entry", local ? "[local]" : client->conn.addr,
			 client->user, client->dbname, client->conn.ssl ? "SSL encryption" : "no encryption");
	slog_info(&client->conn, "login refused by auth_hba_file: %s", msg);
	client_close(client, "28000", msg, rejected ? NULL : "Add a rule for this login to the pooler's auth_hba_file.");
}

/*
 * identity_login: cert or peer: the identity (certificate CN or OS user) must be the user name, or be
 * mapped to it by the auth_ident_file map (NULL: no map).
 */
static void
identity_login(Client *client, bool cert, const char *map)
{
	char		identity[256];
	char		why[256];
	char		msg[256];
	bool		ok;

	if (cert)
		ok = peerauth_cert_cn(&client->conn, identity, sizeof(identity), why, sizeof(why));
	else if (strcmp(client->conn.addr, "unix") != 0)
	{
		snprintf(why, sizeof(why), "peer authentication needs a Unix socket");
		ok = false;
	}
	else
		ok = peerauth_os_user(client->conn.fd, identity, sizeof(identity), why, sizeof(why));
	if (!ok && cert)
	{
		slog_info(&client->conn, "certificate login refused: %s", why);
		client_close(client, "28000", "connection requires a valid client certificate",
					 "Connect over TLS with a client certificate signed by the pooler's client_tls_ca_file.");
		return;
	}
	if (ok && map && !(have_ident && ident_match(&ident_map, map, identity, client->user)))
	{
		slog_info(&client->conn, "ident map \"%s\" has no line letting \"%s\" log in as \"%s\"", map, identity,
				  client->user);
		ok = false;
	}
	else if (ok && !map && strcmp(identity, client->user) != 0)
	{
		slog_info(&client->conn, "%s \"%s\" is not the user name \"%s\" (and no map= is given)",
				  cert ? "the certificate's CN" : "the OS user", identity, client->user);
		ok = false;
	}
	else if (!ok)
		slog_info(&client->conn, "peer login refused: %s", why);
	if (!ok)
	{
		snprintf(msg, sizeof(msg), cert ? "certificate authentication failed for user \"%s\"" :
				 "Peer authentication failed for user \"%s\"", client->user);
		client_close(client, "28000", msg, NULL);
		return;
	}
	client_login_done(client);
}

/* begin_hba: auth_type = hba: the first matching rule decides the method. */
static void
begin_hba(Client *client)
{
	HbaLogin	login = {
		.unix_socket = strcmp(client->conn.addr, "unix") == 0,
		.tls = client->conn.ssl != NULL,
		.addr = client->conn.addr,
		.database = client->dbname,
		.user = client->user,
	};
	const HbaRule *rule = have_hba ? hba_match(&hba_rules, &login) : NULL;

	if (!rule || rule->method == HBA_REJECT)
	{
		hba_refuse(client, rule != NULL);
		return;
	}
	slog_debug(&client->conn, "auth_hba_file line %d: %s", rule->line, hba_method_name(rule->method));
	switch (rule->method)
	{
		case HBA_CERT:
		case HBA_PEER:
			identity_login(client, rule->method == HBA_CERT, rule->map);
			return;
		case HBA_TRUST:
			begin_password(client, AUTH_TRUST);
			return;
		case HBA_MD5:
			begin_password(client, AUTH_MD5);
			return;
		case HBA_SCRAM:
			begin_password(client, AUTH_SCRAM);
			return;
		case HBA_PASSWORD:
			begin_password(client, AUTH_PLAIN);
			return;
		case HBA_REJECT:
			return;
	}
}

void
login_begin(Client *client)
{
	AuthType	type = cf.auth_type;

	/*
	 * auth_type = any asks nothing; an admin peer needs nothing either, since
	 * the kernel vouched for its OS user (PgBouncer's peer rule).
	 */
	if (client->admin_peer || type == AUTH_ANY)
		client_login_done(client);
	else if (type == AUTH_HBA)
		begin_hba(client);
	else if (type == AUTH_CERT)
		identity_login(client, true, NULL);
	else
		begin_password(client, type);
}

bool
login_step(Client *client)
{
	uint32_t	avail = iobuf_len(client->conn.rbuf);
	const uint8_t *msg;
	char		type;
	uint32_t	total;
	int			rc;
	AuthResult	result;
	char		out[SCRAM_OUT_MAX];
	size_t		outlen = 0;

	if (avail == 0)
		return false;
	msg = iobuf_head(client->conn.rbuf);
	rc = proto_header(msg, avail, &type, &total);
	if (rc < 0 || (rc == 1 && (type != 'p' || total > 8192)))
	{
		client_close(client, "08P01", "expected a password message during authentication", NULL);
		return false;
	}
	if (rc == 0 || total > avail)
		return false;

	if (client->auth.step == STEP_LOOKUP)
		return false;			/* nothing may come before our request; it waits until the lookup ends */
	if (client->auth.step == STEP_PLAIN_WAIT)
	{
		const char *password;

		if (!proto_read_query(msg, total, &password))
		{
			client_close(client, "08P01", "malformed password message", NULL);
			return false;
		}
		result = auth_plain_verify(client->auth.entry ? current_entry(client->dbname, client->user) : NULL,
								   client->user, password);
		OPENSSL_cleanse(iobuf_head(client->conn.rbuf), total);
		iobuf_consume(&client->conn.rbuf, total);
		if (result != AUTH_OK)
		{
			auth_fail(client, result, client->auth.entry ? "wrong password" :
					  "user missing from auth_file or without a usable secret");
			return false;
		}
	}
	else if (client->auth.step == STEP_MD5_WAIT)
	{
		const char *response;

		if (!proto_read_query(msg, total, &response))
		{
			client_close(client, "08P01", "malformed password message", NULL);
			return false;
		}
		result = auth_md5_verify(client->auth.entry ? current_entry(client->dbname, client->user) : NULL, client->user,
								 client->auth.md5_salt, response);
		iobuf_consume(&client->conn.rbuf, total);
		if (result != AUTH_OK)
		{
			auth_fail(client, result, client->auth.entry ? "wrong md5 password" :
					  "user missing from auth_file or without a usable secret");
			return false;
		}
	}
	else if (client->auth.step == STEP_SCRAM_FIRST)
	{
		ScramServer *st = client->auth.scram;
		const char *mechanism;
		uint32_t	off;
		uint32_t	len;

		if (!proto_read_query(msg, total, &mechanism) ||
			(off = 5 + (uint32_t) strlen(mechanism) + 1) + 4 > total)
		{
			client_close(client, "08P01", "malformed SASLInitialResponse", NULL);
			return false;
		}
		if (!scram_server_choose_mechanism(st, mechanism))
		{
			client_close(client, "28000", "the client chose a SASL mechanism the pooler did not offer",
						 st->cbind_len ? NULL : "SCRAM-SHA-256-PLUS (channel binding) needs a TLS connection to "
						 "the pooler (libpq: sslmode=require).");
			return false;
		}
		len = proto_get_u32(msg + off);
		if (len > total - off - 4)
		{
			client_close(client, "08P01", "malformed SASLInitialResponse", NULL);
			return false;
		}
		result = scram_server_handle_client_first(st, (const char *) msg + off + 4, len, out, sizeof(out),
												  &outlen);
		iobuf_consume(&client->conn.rbuf, total);
		if (result != AUTH_OK)
		{
			auth_fail(client, result, st->error);
			return false;
		}
		client->auth.step = STEP_SCRAM_FINAL;
		return send_auth(client, PROTO_AUTH_SASL_CONTINUE, out, outlen);
	}
	else if (client->auth.step == STEP_SCRAM_FINAL)
	{
		ScramServer *st = client->auth.scram;
		Pool	   *pool;

		result = scram_server_handle_client_final(st, (const char *) msg + 5, total - 5, out, sizeof(out),
												  &outlen);
		iobuf_consume(&client->conn.rbuf, total);
		if (result != AUTH_OK)
		{
			auth_fail(client, result, st->error);
			return false;
		}
		if (!client_attach_pool(client))
			return false;
		pool = client->pool;
		/* the ClientKey lets the pooler log into PostgreSQL with the same SCRAM secret */
		if (st->have_client_key && pool && !pool->admin && strcmp(pool->user, client->user) == 0)
		{
			memcpy(pool->scram_client_key, st->client_key, SCRAM_KEY_LEN);
			pool->have_scram_client_key = true;
		}
		if (!send_auth(client, PROTO_AUTH_SASL_FINAL, out, outlen))
			return false;
	}
	else
	{
		client_close(client, "08P01", "unexpected message during authentication", NULL);
		return false;
	}
	login_cleanup(client);
	client->auth.step = STEP_NONE;
	client_login_done(client);
	return client->state != CL_FREE && client->state != CL_LOGIN;
}

void
login_cleanup(Client *client)
{
	authquery_forget(client);
	if (client->auth.scram)
	{
		scram_server_clear(client->auth.scram);
		free(client->auth.scram);
		client->auth.scram = NULL;
	}
}

/* server_password: the password (or md5 secret) the pooler logs into PostgreSQL with, or NULL. */
static const char *
server_password(Server *server, const AuthEntry **entry_out)
{
	Pool	   *pool = server->pool;
	const AuthEntry *entry = current_entry(pool->db.name, pool->user);

	*entry_out = entry;
	if (pool->password[0])
		return pool->password;
	if (entry && (entry->kind == AUTH_SECRET_PLAIN || entry->kind == AUTH_SECRET_MD5))
		return entry->secret;
	return NULL;
}

/* the longest cleartext password sent to a server: PgBouncer's MAX_PASSWORD (2048, with its NUL) */
#define SERVER_PASSWORD_MAX 2048

static bool
send_password_msg(Server *server, const void *data, size_t len, const char *mechanism)
{
	uint8_t		buf[SCRAM_OUT_MAX + SERVER_PASSWORD_MAX + 128];
	PktBuf		pkt;

	if (len > SERVER_PASSWORD_MAX + (mechanism ? SCRAM_OUT_MAX : 0))
	{
		server_fail_login(server, "28000", "the password for the server is longer than 2047 bytes, "
						  "which the pooler does not send: shorten it, or use SCRAM or md5");
		return false;
	}
	pktbuf_init(&pkt, buf, sizeof(buf));
	pkt_begin(&pkt, 'p');
	if (mechanism)
	{
		pkt_put_str(&pkt, mechanism);
		pkt_put_u32(&pkt, (uint32_t) len);
	}
	pkt_put_bytes(&pkt, data, len);
	pkt_end(&pkt);
	if (pkt.failed || !server_send_bytes(server, pkt.data, pkt.len) || !conn_flush(&server->conn))
	{
		server_fail_login(server, "08006", "could not send the password to the server");
		return false;
	}
	return true;
}

bool
login_server_auth(Server *server, const uint8_t *msg, uint32_t total)
{
	uint32_t	code;
	const AuthEntry *entry;
	const char *password;
	char		why[300];

	if (total < 9)
	{
		server_fail_login(server, "08P01", "malformed authentication request from the server");
		return false;
	}
	code = proto_get_u32(msg + 5);
	password = server_password(server, &entry);
	switch (code)
	{
		case PROTO_AUTH_OK:
			return true;
		case PROTO_AUTH_CLEARTEXT:
			if (!password || auth_secret_kind(password) != AUTH_SECRET_PLAIN)
				break;
			return send_password_msg(server, password, strlen(password) + 1, NULL);
		case PROTO_AUTH_MD5:
			{
				char		response[AUTH_MD5_LEN + 1];

				if (!password || total < 13)
					break;
				auth_md5_client_response(server->pool->user, password, msg + 9, response);
				return send_password_msg(server, response, strlen(response) + 1, NULL);
			}
		case PROTO_AUTH_SASL:
			{
				ScramClient *st;
				char		out[SCRAM_OUT_MAX];
				size_t		outlen;
				bool		offered = false;
				AuthResult	result;
				Pool	   *pool = server->pool;

				for (uint32_t off = 9; off < total && msg[off];)
				{
					const char *mech = (const char *) msg + off;
					size_t		len = strnlen(mech, total - off);

					if (strcmp(mech, SCRAM_MECHANISM) == 0)
						offered = true;
					off += (uint32_t) len + 1;
				}
				if (!offered)
				{
					server_fail_login(server, "28000", "the server offers no SASL mechanism the pooler speaks");
					return false;
				}
				st = calloc(1, sizeof(ScramClient));
				if (!st)
				{
					server_fail_login(server, "53200", "out of memory");
					return false;
				}
				server->scram = st;
				if (password && auth_secret_kind(password) == AUTH_SECRET_PLAIN)
					result = scram_client_begin(st, pool->user, password);
				else if (entry && entry->kind == AUTH_SECRET_SCRAM && pool->have_scram_client_key)
					result = scram_client_begin_keys(st, pool->user, &entry->scram, pool->scram_client_key);
				else
				{
					server_fail_login(server, "28000",
									  "wrong password type: the server wants SCRAM-SHA-256 and the pooler has no usable "
									  "secret for this user "
									  "(a plain password in auth_file or password= in [databases], or a SCRAM login "
									  "of the user to the pooler first)");
					return false;
				}
				if (result != AUTH_OK ||
					scram_client_first_message(st, out, sizeof(out), &outlen) != AUTH_OK)
				{
					server_fail_login(server, "28000", st->error);
					return false;
				}
				server->auth_step = 1;
				return send_password_msg(server, out, outlen, SCRAM_MECHANISM);
			}
		case PROTO_AUTH_SASL_CONTINUE:
			{
				ScramClient *st = server->scram;
				char		out[SCRAM_OUT_MAX];
				size_t		outlen;

				if (!st || server->auth_step != 1 ||
					scram_client_handle_server_first(st, (const char *) msg + 9, total - 9, out, sizeof(out),
													 &outlen) != AUTH_OK)
				{
					server_fail_login(server, "28000", st ? st->error : "unexpected SASLContinue");
					return false;
				}
				server->auth_step = 2;
				return send_password_msg(server, out, outlen, NULL);
			}
		case PROTO_AUTH_SASL_FINAL:
			{
				ScramClient *st = server->scram;

				if (!st || server->auth_step != 2 ||
					scram_client_verify_server_final(st, (const char *) msg + 9, total - 9) != AUTH_OK)
				{
					server_fail_login(server, "28000", st ? st->error : "unexpected SASLFinal");
					return false;
				}
				login_server_cleanup(server);
				return true;
			}
		default:
			snprintf(why, sizeof(why), "the server asked for authentication method %u, which the pooler does not "
					 "speak", code);
			server_fail_login(server, "28000", why);
			return false;
	}
	snprintf(why, sizeof(why), "the server asked for a password and the pooler has none for user \"%s\"",
			 server->pool->user);
	server_fail_login(server, "28000", why);
	return false;
}

void
login_server_cleanup(Server *server)
{
	if (server->scram)
	{
		scram_client_clear(server->scram);
		free(server->scram);
		server->scram = NULL;
	}
	server->auth_step = 0;
}
