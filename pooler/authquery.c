/*
 * authquery.c: owns the auth_query sources (see authquery.h): their libpq connections, the FIFO of
 * clients waiting for a lookup, and the cache of the secrets found.
 *
 * Each source is a small state machine on two libevent events, like health.c's checks: ev_sock, re-armed
 * for whatever libpq waits for, and ev_timer, whose meaning depends on the phase (the deadline of a
 * connect or a query: server_connect_timeout; or, while idle, the close after server_idle_timeout).
 * A third event, ev_kick, is only ever activated by hand so that authquery_start never calls back into
 * login.c from inside itself.
 *
 *   AQ_CLOSED --kick--> [AQ_RESOLVING (a host name looked up by dns.c) -->] AQ_CONNECTING --connected--> AQ_IDLE --kick--> AQ_QUERYING --result--> AQ_IDLE
 *   AQ_IDLE --idle timer--> AQ_CLOSED;  any phase --error or deadline--> AQ_CLOSED (waiters fail)
 *
 * Nothing here logs a secret: the conninfo (which may hold auth_user's password) and the answers stay in
 * memory and are wiped when freed; log lines name users, databases and the server's error text only.
 * The query goes out as a parameterised statement (the user name is $1, never spliced into the text),
 * and the connection carries no client's startup parameters or SET commands.
 */
#include "authquery.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "client.h"
#include "config.h"
#include "conn.h"
#include "conninfo.h"
#include "dns.h"
#include "list.h"
#include "log.h"
#include "login.h"
#include "tls.h"

typedef enum AqPhase
{
	AQ_CLOSED,					/* no connection */
	AQ_RESOLVING,				/* dns.c looks the host name up (ev_timer = deadline) */
	AQ_CONNECTING,				/* PQconnectPoll in progress (ev_timer = deadline) */
	AQ_IDLE,					/* connected, no query (ev_timer = idle close, when server_idle_timeout) */
	AQ_QUERYING					/* query for current_user in flight (ev_timer = deadline) */
} AqPhase;

struct AqSource
{
	List		node;			/* on source_list */
	char		label[2 * CF_NAME_MAX + 8];	/* "auth_user@database", for log lines */
	char	   *conninfo;		/* may hold auth_user's password: wiped on free */
	char		host[CF_HOST_MAX];	/* the one conninfo names: a name is resolved by dns.c, hostaddr= added */
	DnsWait		wait;			/* AQ_RESOLVING: dns.c calls source_resolved */
	char	   *query;
	PGconn	   *conn;
	AqPhase		phase;
	struct event *ev_sock;		/* NULL until the first socket wait */
	struct event *ev_timer;
	struct event *ev_kick;
	List		waiting;		/* Clients (auth.lookup_node), FIFO */
	char		current_user[64];	/* the user the query in flight is for */
	PGresult   *result;			/* first result of the query in flight */
	char		refused_sqlstate[6];	/* the server refused the last connect: its SQLSTATE, */
	char		refused_message[256];	/* and its message, passed to the waiting clients ("" = none) */
	AuthEntry  *cache;			/* sorted by user */
	int			n_cache;
	int			cap_cache;
};

static List source_list = {&source_list, &source_list};

static void source_sock_cb(evutil_socket_t fd, short what, void *arg);
static void source_timer_cb(evutil_socket_t fd, short what, void *arg);
static void source_kick_cb(evutil_socket_t fd, short what, void *arg);
static void kick(AqSource *src);

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const AuthEntry *) a)->user, ((const AuthEntry *) b)->user);
}

static AuthEntry *
cache_find(AqSource *src, const char *user)
{
	AuthEntry	key = {.user = (char *) user};

	if (src->n_cache == 0)
		return NULL;
	return bsearch(&key, src->cache, src->n_cache, sizeof(AuthEntry), entry_cmp);
}

static void
cache_remove(AqSource *src, const char *user)
{
	AuthEntry  *found = cache_find(src, user);

	if (!found)
		return;
	auth_entry_free(found);
	memmove(found, found + 1, (size_t) (src->cache + src->n_cache - found - 1) * sizeof(AuthEntry));
	src->n_cache--;
}

/* cache_store: puts entry (taken over) in place of user's old one; false on no memory (entry freed). */
static bool
cache_store(AqSource *src, AuthEntry *entry)
{
	AuthEntry  *found = cache_find(src, entry->user);
	int			pos = 0;

	if (found)
	{
		auth_entry_free(found);
		*found = *entry;
		return true;
	}
	if (src->n_cache == src->cap_cache)
	{
		int			cap = src->cap_cache ? src->cap_cache * 2 : 16;
		AuthEntry  *grown = realloc(src->cache, (size_t) cap * sizeof(AuthEntry));

		if (!grown)
		{
			auth_entry_free(entry);
			return false;
		}
		src->cache = grown;
		src->cap_cache = cap;
	}
	while (pos < src->n_cache && strcmp(src->cache[pos].user, entry->user) < 0)
		pos++;
	memmove(src->cache + pos + 1, src->cache + pos, (size_t) (src->n_cache - pos) * sizeof(AuthEntry));
	src->cache[pos] = *entry;
	src->n_cache++;
	return true;
}

/* build_conninfo: where auth_user logs in for the auth database entry db (serving database name dbname). */
static bool
build_conninfo(const DatabaseEntry *db, const char *dbname, const char *auth_user, const AuthFile *authfile,
			   char *out, size_t outlen, bool *unusable_secret)
{
	const AuthEntry *entry = authfile_lookup(authfile, auth_user);
	bool		ok;

	out[0] = '\0';
	ok = conninfo_append(out, outlen, "host", db->host) && conninfo_append_int(out, outlen, "port", db->port) &&
		conninfo_append(out, outlen, "dbname", db->dbname[0] ? db->dbname : dbname) &&
		conninfo_append(out, outlen, "user", auth_user) &&
		conninfo_append(out, outlen, "application_name", "faregate-pooler auth_query");
	if (ok && entry && entry->kind == AUTH_SECRET_PLAIN)
		ok = conninfo_append(out, outlen, "password", entry->secret);
	*unusable_secret = entry && entry->kind != AUTH_SECRET_PLAIN && entry->kind != AUTH_SECRET_EMPTY;
	return ok && tls_server_conninfo(out, outlen);
}

static void
source_close(AqSource *src)
{
	dns_wait_cancel(&src->wait);
	if (src->ev_sock)
		event_del(src->ev_sock);
	evtimer_del(src->ev_timer);
	PQclear(src->result);
	src->result = NULL;
	if (src->conn)
		PQfinish(src->conn);
	src->conn = NULL;
	src->phase = AQ_CLOSED;
}

/* finish_user: calls back every client waiting for user (each taken off the list first). */
static void
finish_user(AqSource *src, const char *user, AqOutcome outcome)
{
	for (;;)
	{
		Client	   *found = NULL;
		List	   *it;

		for (it = src->waiting.next; it != &src->waiting; it = it->next)
		{
			Client	   *client = container_of(it, Client, auth.lookup_node);

			if (!user || strcmp(client->user, user) == 0)
			{
				found = client;
				break;
			}
		}
		if (!found)
			return;
		list_del(&found->auth.lookup_node);
		found->auth.lookup_source = NULL;
		login_lookup_done(found, outcome, src->refused_message[0] ? src->refused_sqlstate : NULL,
						  src->refused_message[0] ? src->refused_message : NULL);
	}
}

/*
 * server_refusal: the server's own error in a failed connect's libpq message (verbose, so
 * "...failed: FATAL:  3D000: database "x" does not exist\nLOCATION: ..."): its SQLSTATE and first line.
 * False when the connect failed before the server answered (refused, timed out, TLS), and for class 28
 * (auth_user's own password refused): that one stays the pooler's "bouncer config error".
 */
static bool
server_refusal(const char *libpq_message, char *sqlstate, char *message, size_t len)
{
	const char *at = libpq_message ? strstr(libpq_message, "FATAL:  ") : NULL;
	size_t		n;

	if (!at)
		return false;
	at += strlen("FATAL:  ");
	if (strspn(at, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 5 || strncmp(at + 5, ": ", 2) != 0)
		return false;
	if (strncmp(at, "28", 2) == 0)
		return false;			/* auth_user's own credentials: a configuration error, not the client's */
	memcpy(sqlstate, at, 5);
	sqlstate[5] = '\0';
	at += 7;
	n = strcspn(at, "\n");
	snprintf(message, len, "%.*s", (int) n, at);
	return message[0] != '\0';
}

/* source_failed: the connection is unusable: log, close, fail every waiting client. */
static void
source_failed(AqSource *src, const char *what, const char *detail)
{
	char		msg[512];
	size_t		n;

	snprintf(msg, sizeof(msg), "%s", detail ? detail : "");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	log_warning("auth_query (%s): %s%s%s", src->label, what, msg[0] ? ": " : "", msg);
	source_close(src);
	finish_user(src, NULL, AQ_ERROR);
}

static void
arm_timer(AqSource *src, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_del(src->ev_timer);
	if (ms > 0)
		evtimer_add(src->ev_timer, &tv);
}

static void
wait_socket(AqSource *src, short what)
{
	int			fd = PQsocket(src->conn);

	if (fd < 0)
	{
		source_failed(src, "the connection has no socket", PQerrorMessage(src->conn));
		return;
	}
	if (!src->ev_sock)
		src->ev_sock = event_new(conn_base, fd, what, source_sock_cb, src);
	else
	{
		event_del(src->ev_sock);
		event_assign(src->ev_sock, conn_base, fd, what, source_sock_cb, src);
	}
	if (!src->ev_sock || event_add(src->ev_sock, NULL) != 0)
		source_failed(src, "cannot watch the connection's socket", NULL);
}

static void
ignore_notice(void *arg, const char *message)
{
}

static void
go_idle(AqSource *src)
{
	src->phase = AQ_IDLE;
	arm_timer(src, cf.server_idle_timeout_ms);
	if (!list_empty(&src->waiting))
		event_active(src->ev_kick, EV_TIMEOUT, 0);
	wait_socket(src, EV_READ);	/* to notice a server that closes the idle connection */
}

/* source_resolved: dns.c has answered the lookup of the source's host name: the connect goes on. */
static void
source_resolved(DnsWait *w)
{
	AqSource   *src = container_of(w, AqSource, wait);

	if (src->phase != AQ_RESOLVING)
		return;
	src->phase = AQ_CLOSED;
	kick(src);
}

/*
 * connect_start: AQ_CLOSED -> PQconnectStart with the source's conninfo plus hostaddr= from dns.c when
 * its host is a name (AQ_RESOLVING while the lookup is in flight).
 */
static void
connect_start(AqSource *src)
{
	size_t		len = strlen(src->conninfo) + 8192;
	char	   *conninfo = malloc(len);
	char		err[256];
	DnsStatus	st;

	if (!conninfo)
	{
		source_failed(src, "cannot connect", "out of memory");
		return;
	}
	src->refused_message[0] = '\0';
	snprintf(conninfo, len, "%s", src->conninfo);
	st = dns_conninfo_host(src->host, conninfo, len, &src->wait, err, sizeof(err));
	if (st == DNS_READY)
		src->conn = PQconnectStart(conninfo);
	OPENSSL_cleanse(conninfo, len);
	free(conninfo);
	if (st == DNS_PENDING)
	{
		src->phase = AQ_RESOLVING;
		arm_timer(src, cf.server_connect_timeout_ms > 0 ? cf.server_connect_timeout_ms : 15000);
		return;
	}
	if (st == DNS_FAILED)
	{
		source_failed(src, "cannot connect", err);
		return;
	}
	if (!src->conn || PQstatus(src->conn) == CONNECTION_BAD)
	{
		source_failed(src, "cannot connect", src->conn ? PQerrorMessage(src->conn) : "out of memory");
		return;
	}
	PQsetNoticeProcessor(src->conn, ignore_notice, NULL);
	PQsetErrorVerbosity(src->conn, PQERRORS_VERBOSE);	/* a refusal's message then carries its SQLSTATE */
	src->phase = AQ_CONNECTING;
	arm_timer(src, cf.server_connect_timeout_ms > 0 ? cf.server_connect_timeout_ms : 15000);
	wait_socket(src, EV_WRITE);	/* as if PQconnectPoll had said PGRES_POLLING_WRITING */
}

/* kick: starts what the first waiting client needs (a connection, then its query). */
static void
kick(AqSource *src)
{
	Client	   *client;
	const char *param;
	int			flushed;

	if (list_empty(&src->waiting) || src->phase == AQ_RESOLVING || src->phase == AQ_CONNECTING ||
		src->phase == AQ_QUERYING)
		return;
	if (src->phase == AQ_CLOSED)
	{
		connect_start(src);
		return;
	}
	client = container_of(list_first(&src->waiting), Client, auth.lookup_node);
	snprintf(src->current_user, sizeof(src->current_user), "%s", client->user);
	param = src->current_user;
	if (!PQsendQueryParams(src->conn, src->query, 1, NULL, &param, NULL, NULL, 0))
	{
		source_failed(src, "cannot send auth_query", PQerrorMessage(src->conn));
		return;
	}
	src->phase = AQ_QUERYING;
	arm_timer(src, cf.server_connect_timeout_ms > 0 ? cf.server_connect_timeout_ms : 15000);
	flushed = PQflush(src->conn);
	if (flushed < 0)
		source_failed(src, "cannot send auth_query", PQerrorMessage(src->conn));
	else
		wait_socket(src, flushed ? EV_READ | EV_WRITE : EV_READ);
}

/* answer: the query for current_user ended with res (NULL: no result at all). */
static void
answer(AqSource *src, const PGresult *res)
{
	char		user[64];
	AqOutcome	outcome = AQ_ERROR;

	memcpy(user, src->current_user, sizeof(user));
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		char		msg[512];
		size_t		n;

		snprintf(msg, sizeof(msg), "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(src->conn));
		n = strlen(msg);
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		log_warning("auth_query (%s) failed for user \"%s\": %s", src->label, user, msg);
	}
	else if (PQntuples(res) == 0 || (PQntuples(res) == 1 && PQgetisnull(res, 0, 0)))
	{
		/* no row, or a function returning a plain record: one row of NULLs */
		cache_remove(src, user);
		outcome = AQ_NOT_FOUND;
		log_debug("auth_query (%s): no such user \"%s\"", src->label, user);
	}
	else if (PQnfields(res) < 2 || PQntuples(res) > 1)
		log_warning("auth_query (%s) must return one row of two columns (user name, secret) for user \"%s\", "
					"not %d rows of %d columns", src->label, user, PQntuples(res), PQnfields(res));
	else
	{
		AuthEntry	entry;
		char		why[AUTH_ERR_MAX];

		/* a NULL secret (no password, or rolvaliduntil passed) is an empty one: no password works */
		if (!auth_entry_make(user, PQgetisnull(res, 0, 1) ? "" : PQgetvalue(res, 0, 1), &entry, why,
							 sizeof(why)))
			log_warning("auth_query (%s) returned a malformed secret for user \"%s\": %s", src->label, user,
						why);
		else if (!cache_store(src, &entry))
			log_warning("auth_query (%s): out of memory caching user \"%s\"", src->label, user);
		else
		{
			outcome = AQ_FOUND;
			log_debug("auth_query (%s): found user \"%s\"", src->label, user);
		}
	}
	if (outcome == AQ_ERROR)
		cache_remove(src, user);
	finish_user(src, user, outcome);
}

static void
source_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	AqSource   *src = arg;

	if (src->phase == AQ_CONNECTING)
	{
		switch (PQconnectPoll(src->conn))
		{
			case PGRES_POLLING_READING:
				wait_socket(src, EV_READ);
				return;
			case PGRES_POLLING_WRITING:
				wait_socket(src, EV_WRITE);
				return;
			case PGRES_POLLING_OK:
				if (PQsetnonblocking(src->conn, 1) != 0)
				{
					source_failed(src, "cannot make the connection non-blocking", PQerrorMessage(src->conn));
					return;
				}
				go_idle(src);
				return;
			default:
				if (server_refusal(PQerrorMessage(src->conn), src->refused_sqlstate, src->refused_message,
								   sizeof(src->refused_message)))
					log_warning("auth_query (%s): server login failed: FATAL %s", src->label, src->refused_message);
				source_failed(src, "cannot connect", PQerrorMessage(src->conn));
				return;
		}
	}
	if (src->phase == AQ_IDLE)
	{
		/* the server closed an idle connection (restart, idle_session_timeout): reconnect when needed */
		if (!PQconsumeInput(src->conn) || PQstatus(src->conn) != CONNECTION_OK)
			source_close(src);
		else
			wait_socket(src, EV_READ);
		return;
	}
	if (src->phase != AQ_QUERYING)
		return;
	if (what & EV_WRITE)
	{
		int			flushed = PQflush(src->conn);

		if (flushed < 0)
		{
			source_failed(src, "cannot send auth_query", PQerrorMessage(src->conn));
			return;
		}
		if (flushed)
		{
			wait_socket(src, EV_READ | EV_WRITE);
			return;
		}
	}
	if (!PQconsumeInput(src->conn))
	{
		source_failed(src, "connection lost", PQerrorMessage(src->conn));
		return;
	}
	while (!PQisBusy(src->conn))
	{
		PGresult   *res = PQgetResult(src->conn);

		if (!res)
		{
			PGresult   *first = src->result;

			src->result = NULL;
			answer(src, first);
			PQclear(first);
			if (PQstatus(src->conn) != CONNECTION_OK)
			{
				source_close(src);
				if (!list_empty(&src->waiting))
					event_active(src->ev_kick, EV_TIMEOUT, 0);
			}
			else
				go_idle(src);
			return;
		}
		if (!src->result)
			src->result = res;
		else
			PQclear(res);
	}
	wait_socket(src, EV_READ);
}

static void
source_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	AqSource   *src = arg;

	if (src->phase == AQ_IDLE)
		source_close(src);		/* idle for server_idle_timeout */
	else if (src->phase == AQ_RESOLVING)
		source_failed(src, "looking the host name up timed out (server_connect_timeout)", NULL);
	else if (src->phase == AQ_CONNECTING)
		source_failed(src, "connect timed out (server_connect_timeout)", NULL);
	else if (src->phase == AQ_QUERYING)
		source_failed(src, "no answer within server_connect_timeout", NULL);
	if (src->phase == AQ_CLOSED && !list_empty(&src->waiting))
		kick(src);
}

static void
source_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	kick(arg);
}

static void
source_free(AqSource *src)
{
	source_close(src);
	finish_user(src, NULL, AQ_ERROR);
	if (src->ev_sock)
		event_free(src->ev_sock);
	event_free(src->ev_timer);
	event_free(src->ev_kick);
	for (int i = 0; i < src->n_cache; i++)
		auth_entry_free(&src->cache[i]);
	free(src->cache);
	OPENSSL_cleanse(src->conninfo, strlen(src->conninfo));
	free(src->conninfo);
	free(src->query);
	list_del(&src->node);
	free(src);
}

/* source_get: the source for (conninfo, query), created on first use; NULL on no memory. */
static AqSource *
source_get(const char *conninfo, const char *host, const char *query, const char *auth_user, const char *dbname,
		   bool unusable_secret)
{
	AqSource   *src;

	for (List *it = source_list.next; it != &source_list; it = it->next)
	{
		src = container_of(it, AqSource, node);
		if (strcmp(src->conninfo, conninfo) == 0 && strcmp(src->query, query) == 0)
			return src;
	}
	src = calloc(1, sizeof(AqSource));
	if (!src)
		return NULL;
	if (unusable_secret)
		log_warning("auth_user \"%s\" has an md5 or SCRAM secret in the auth_file: the auth_query connection "
					"can only log in with a plain password (or none, if the server trusts it)", auth_user);
	list_init(&src->waiting);
	dns_wait_init(&src->wait, source_resolved);
	snprintf(src->host, sizeof(src->host), "%s", host);
	snprintf(src->label, sizeof(src->label), "%s@%s", auth_user, dbname);
	src->conninfo = strdup(conninfo);
	src->query = strdup(query);
	src->ev_timer = evtimer_new(conn_base, source_timer_cb, src);
	src->ev_kick = evtimer_new(conn_base, source_kick_cb, src);
	list_append(&source_list, &src->node);
	if (!src->conninfo || !src->query || !src->ev_timer || !src->ev_kick)
	{
		if (!src->conninfo)
			src->conninfo = strdup("");
		if (src->conninfo)
			source_free(src);
		return NULL;
	}
	return src;
}

static bool
is_admin_name(const char *name)
{
	return strcmp(name, "pgbouncer") == 0 || strcmp(name, "faregate") == 0;
}

AqResolve
authquery_resolve(const char *dbname, const AuthFile *authfile, AqSource **source, char *why, size_t whylen)
{
	const DatabaseEntry *db = is_admin_name(dbname) ? NULL : config_find_database(&cf, dbname);
	const char *auth_user = db && db->auth_user[0] ? db->auth_user : cf.auth_user;
	const char *query = db && db->auth_query[0] ? db->auth_query : cf.auth_query;
	const char *auth_dbname = db && db->auth_dbname[0] ? db->auth_dbname : cf.auth_dbname;
	const DatabaseEntry *authdb;
	char		conninfo[4 * CF_STR_MAX];
	bool		unusable_secret = false;

	*source = NULL;
	why[0] = '\0';
	if (!auth_user[0] || (!db && !is_admin_name(dbname) && !auth_dbname[0]))
		return AQR_NONE;		/* an unknown database: the password exchange fails, then "no such database" */
	/*
	 * The lookup runs in the client's database by default; for the admin console that is the reserved
	 * name, refused below, as PgBouncer does ("bouncer config error"): set auth_dbname to look the
	 * console's users up elsewhere, or list them in auth_file.
	 */
	if (!auth_dbname[0])
		auth_dbname = dbname;
	if (is_admin_name(auth_dbname))
	{
		snprintf(why, whylen, "cannot use the reserved \"%s\" database as an auth_dbname", auth_dbname);
		return AQR_CONFIG_ERROR;
	}
	if (admin_db_disabled(auth_dbname))
	{
		/* PgBouncer's words; DISABLE stops the lookups made there, not only the logins to it */
		snprintf(why, whylen, "authentication database \"%s\" is disabled", auth_dbname);
		return AQR_DISABLED;
	}
	authdb = config_find_database(&cf, auth_dbname);
	if (!authdb)
	{
		snprintf(why, whylen, "authentication database \"%s\" is not configured", auth_dbname);
		return AQR_CONFIG_ERROR;
	}
	if (!query[0])
	{
		snprintf(why, whylen, "auth_query is empty for database \"%s\"", dbname);
		return AQR_CONFIG_ERROR;
	}
	if (!build_conninfo(authdb, auth_dbname, auth_user, authfile, conninfo, sizeof(conninfo), &unusable_secret))
	{
		OPENSSL_cleanse(conninfo, sizeof(conninfo));
		snprintf(why, whylen, "the connection settings of authentication database \"%s\" are too long",
				 auth_dbname);
		return AQR_CONFIG_ERROR;
	}
	*source = source_get(conninfo, authdb->host, query, auth_user, auth_dbname, unusable_secret);
	OPENSSL_cleanse(conninfo, sizeof(conninfo));
	if (!*source)
	{
		snprintf(why, whylen, "out of memory");
		return AQR_CONFIG_ERROR;
	}
	return AQR_SOURCE;
}

void
authquery_start(AqSource *source, Client *client)
{
	client->auth.lookup_source = source;
	list_append(&source->waiting, &client->auth.lookup_node);
	event_active(source->ev_kick, EV_TIMEOUT, 0);
}

void
authquery_forget(Client *client)
{
	if (!client->auth.lookup_source)
		return;
	list_del(&client->auth.lookup_node);
	client->auth.lookup_source = NULL;
}

const AuthEntry *
authquery_entry(const char *dbname, const AuthFile *authfile, const char *user)
{
	AqSource   *src;
	char		why[256];

	if (authquery_resolve(dbname, authfile, &src, why, sizeof(why)) != AQR_SOURCE)
		return NULL;
	return cache_find(src, user);
}

void
authquery_reload(void)
{
	for (List *it = source_list.next; it != &source_list; it = it->next)
	{
		AqSource   *src = container_of(it, AqSource, node);

		if (src->phase == AQ_IDLE && list_empty(&src->waiting))
			source_close(src);
	}
}

void
authquery_shutdown(void)
{
	while (!list_empty(&source_list))
		source_free(container_of(list_first(&source_list), AqSource, node));
}
