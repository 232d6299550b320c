/*
 * health.c: owns the health checks of one node set and the loading of the function volatility table
 * (see health.h for the model and the API).
 *
 * Each node has one check connection and a small state machine driven by two libevent events: a
 * timer (in HN_IDLE it fires the next check; in every other phase it is the check's deadline) and a
 * socket event re-armed for whatever libpq waits for. Nothing here blocks: a check that has not
 * finished by its deadline closes the connection and counts as failed, which is how a host frozen
 * with SIGSTOP (or a dead network path) is detected.
 *
 *   HN_IDLE --timer--> [HN_RESOLVING (host name looked up by dns.c) -->] HN_CONNECTING (no connection
 *     yet) --connected--> HN_CHECKING
 *   HN_IDLE --timer--> HN_CHECKING (connection kept from the previous check)
 *   HN_CHECKING --result--> HN_LOADING (primary, volatility table due) --result--> HN_IDLE
 *   HN_CHECKING --result--> HN_IDLE;  any phase --error or deadline--> HN_IDLE (connection closed)
 */
#include "health.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"

/*
 * The check: role, WAL position, time lag (only while received WAL waits for replay), paused, and on
 * a primary its timeline (from its current WAL file name), which orders primaries after a failover.
 */
static const char check_sql[] =
	"SELECT pg_is_in_recovery(),"
	" CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,"
	" CASE WHEN NOT pg_is_in_recovery() THEN 0"
	"      WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()"
	"      THEN 0"
	"      ELSE coalesce((extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint, 0)"
	" END,"
	" CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,"
	" CASE WHEN pg_is_in_recovery() THEN 0"
	"      ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END";

/* The volatility table: every function, and the operators whose function is volatile. */
static const char volatility_sql[] =
	"SELECT 'f', n.nspname, p.proname, p.provolatile"
	"  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
	" UNION ALL "
	"SELECT 'o', n.nspname, o.oprname, p.provolatile"
	"  FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode"
	"  JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"
	" WHERE p.provolatile = 'v'";

typedef enum HealthPhase
{
	HN_IDLE,					/* waiting for the next check (timer = period or backoff) */
	HN_RESOLVING,				/* dns.c looks the host name up (timer = deadline) */
	HN_CONNECTING,				/* PQconnectPoll in progress (timer = deadline) */
	HN_CHECKING,				/* check query sent (timer = deadline) */
	HN_LOADING					/* volatility query sent on the primary (timer = deadline) */
} HealthPhase;

typedef struct HealthNode
{
	HealthMonitor *hm;
	int			index;
	char	   *name;
	char	   *conninfo;
	char	   *host;			/* resolved by dns.c before each connect; "" = conninfo as it is */
	DnsWait		wait;			/* HN_RESOLVING: dns.c calls node_resolved */
	bool		configured_primary;
	bool		active;			/* the slot holds a watched node */
	bool		may_write;		/* health_set_hints: false = never the write node */
	PGconn	   *conn;
	HealthPhase phase;
	struct event *ev_timer;
	struct event *ev_sock;		/* NULL until the first socket wait; re-assigned per wait */
	PGresult   *result;			/* first result of the query in flight */
	HealthNodeState state;
} HealthNode;

struct HealthMonitor
{
	struct event_base *base;
	HealthSettings settings;
	HealthCallbacks callbacks;
	HealthNode *nodes;			/* HEALTH_MAX_NODES slots */
	int			n;				/* slots 0..n-1 are or were in use */
	uint64_t	primary_lsn;	/* latest pg_current_wal_lsn() seen on a primary */
	bool		volatility_due; /* load the volatility table after the primary's next check */
	int			primary_checks; /* answered primary checks since the last load */
};

static void node_timer_cb(evutil_socket_t fd, short what, void *arg);
static void node_socket_cb(evutil_socket_t fd, short what, void *arg);
static void connect_start(HealthNode *node);
static void node_resolved(DnsWait *w);

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
arm_timer(HealthNode *node, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(node->ev_timer, &tv);
}

static void
emit(HealthNode *node, HealthEvent event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
emit(HealthNode *node, HealthEvent event, const char *fmt, ...)
{
	char		reason[512];
	va_list		ap;

	if (!node->hm->callbacks.on_event)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	node->hm->callbacks.on_event(node->hm->callbacks.arg, node->index, event, reason);
}

/* close_conn: drops the node's connection, its socket event and any pending result. */
static void
close_conn(HealthNode *node)
{
	dns_wait_cancel(&node->wait);
	if (node->ev_sock)
		event_del(node->ev_sock);
	if (node->result)
	{
		PQclear(node->result);
		node->result = NULL;
	}
	if (node->conn)
	{
		PQfinish(node->conn);
		node->conn = NULL;
	}
}

/* schedule_next: back to HN_IDLE; the next check after the period, or after backoff when failing. */
static void
schedule_next(HealthNode *node)
{
	const HealthSettings *s = &node->hm->settings;
	long		delay = s->check_period_ms;

	node->phase = HN_IDLE;
	if (node->state.failures > 1)
	{
		for (int i = 1; i < node->state.failures && delay < s->backoff_max_ms; i++)
			delay *= 2;
		if (delay > s->backoff_max_ms)
			delay = s->backoff_max_ms;
	}
	arm_timer(node, delay);
	node->state.next_check_ms = delay;
	node->state.checks++;
	if (node->hm->callbacks.on_check)
		node->hm->callbacks.on_check(node->hm->callbacks.arg, node->index);
}

/* check_failed: the check (or the load) did not complete; the node is down until a check answers. */
static void
check_failed(HealthNode *node, const char *what, const char *detail)
{
	char		reason[256];
	size_t		len;

	snprintf(reason, sizeof(reason), "%s%s%s", what, detail && *detail ? ": " : "", detail ? detail : "");
	/* libpq's messages span lines: one log line per event */
	for (char *c = reason; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	len = strlen(reason);
	while (len > 0 && reason[len - 1] == ' ')
		reason[--len] = '\0';
	close_conn(node);
	if (node->phase == HN_LOADING)
	{
		/* the check itself answered; only the load failed: retry it after the next check */
		emit(node, HEALTH_EV_VOLATILITY_FAILED, "%s", reason);
		node->hm->volatility_due = true;
		schedule_next(node);
		return;
	}
	node->state.failures++;
	snprintf(node->state.last_error, sizeof(node->state.last_error), "%s", reason);
	if (node->state.status != HEALTH_DOWN)
	{
		node->state.status = HEALTH_DOWN;
		emit(node, HEALTH_EV_DOWN, "%s", reason);
	}
	schedule_next(node);
}

/* wait_socket: waits for what (EV_READ and/or EV_WRITE) on the connection's current socket. */
static void
wait_socket(HealthNode *node, short what)
{
	int			fd = PQsocket(node->conn);

	if (fd < 0)
	{
		check_failed(node, "connection has no socket", PQerrorMessage(node->conn));
		return;
	}
	if (!node->ev_sock)
		node->ev_sock = event_new(node->hm->base, fd, what, node_socket_cb, node);
	else
	{
		event_del(node->ev_sock);
		event_assign(node->ev_sock, node->hm->base, fd, what, node_socket_cb, node);
	}
	if (!node->ev_sock || event_add(node->ev_sock, NULL) != 0)
		check_failed(node, "cannot watch the connection's socket", NULL);
}

/* send_query: sends sql and waits for its result in phase. */
static void
send_query(HealthNode *node, const char *sql, HealthPhase phase)
{
	int			flushed;

	node->phase = phase;
	if (!PQsendQuery(node->conn, sql))
	{
		check_failed(node, "cannot send the health check", PQerrorMessage(node->conn));
		return;
	}
	flushed = PQflush(node->conn);
	if (flushed < 0)
		check_failed(node, "cannot send the health check", PQerrorMessage(node->conn));
	else
		wait_socket(node, flushed ? EV_READ | EV_WRITE : EV_READ);
}

static void
ignore_notice(void *arg, const char *message)
{
}

/* start_check: HN_IDLE -> a check (reusing the connection when it is still good). */
static void
start_check(HealthNode *node)
{
	arm_timer(node, node->hm->settings.check_timeout_ms);
	if (node->conn && PQstatus(node->conn) == CONNECTION_OK)
	{
		send_query(node, check_sql, HN_CHECKING);
		return;
	}
	close_conn(node);
	connect_start(node);
}

/* node_resolved: dns.c has answered the lookup of the node's host name: the connect goes on. */
static void
node_resolved(DnsWait *w)
{
	HealthNode *node = container_of(w, HealthNode, wait);

	if (node->phase == HN_RESOLVING)
		connect_start(node);
}

/*
 * connect_start: PQconnectStart with the node's conninfo, plus hostaddr= from dns.c when its host is a
 * name (HN_RESOLVING while the lookup is in flight).
 */
static void
connect_start(HealthNode *node)
{
	size_t		len = strlen(node->conninfo) + 8192;
	char	   *conninfo = malloc(len);
	char		err[256];
	DnsStatus	st;

	if (!conninfo)
	{
		check_failed(node, "out of memory", NULL);
		return;
	}
	snprintf(conninfo, len, "%s", node->conninfo);
	st = dns_conninfo_host(node->host, conninfo, len, &node->wait, err, sizeof(err));
	if (st != DNS_READY)
	{
		explicit_bzero(conninfo, len);	/* it may hold the password */
		free(conninfo);
		if (st == DNS_PENDING)
			node->phase = HN_RESOLVING;
		else
			check_failed(node, "cannot connect", err);
		return;
	}
	node->phase = HN_CONNECTING;
	node->conn = PQconnectStart(conninfo);
	explicit_bzero(conninfo, len);
	free(conninfo);
	if (!node->conn)
	{
		check_failed(node, "out of memory", NULL);
		return;
	}
	if (PQstatus(node->conn) == CONNECTION_BAD)
	{
		check_failed(node, "cannot connect", PQerrorMessage(node->conn));
		return;
	}
	/* notices (a server's shutdown warning ...) would go to stderr: the events carry what matters */
	PQsetNoticeProcessor(node->conn, ignore_notice, NULL);
	/* PQconnectStart behaves as if PQconnectPoll had returned PGRES_POLLING_WRITING */
	wait_socket(node, EV_WRITE);
}

static bool
field_bool(const PGresult *res, int col)
{
	return !PQgetisnull(res, 0, col) && PQgetvalue(res, 0, col)[0] == 't';
}

/* apply_check: a check answered: role, LSN, lag, and the events they imply. */
static void
apply_check(HealthNode *node, const PGresult *res)
{
	HealthMonitor *hm = node->hm;
	HealthNodeState *st = &node->state;
	HealthRole old_role = st->role;
	HealthStatus old_status = st->status;
	bool		in_recovery = field_bool(res, 0);
	uint64_t	lsn = 0;

	if (!PQgetisnull(res, 0, 1))
		health_parse_lsn(PQgetvalue(res, 0, 1), &lsn);
	st->lsn = lsn;
	st->failures = 0;
	st->last_error[0] = '\0';
	st->last_ok_us = now_us();
	st->replay_paused = field_bool(res, 3);
	st->timeline = PQgetisnull(res, 0, 4) ? 0 : (uint32_t) strtoul(PQgetvalue(res, 0, 4), NULL, 10);

	if (!in_recovery)
	{
		st->role = HEALTH_ROLE_PRIMARY;
		st->lag_bytes = 0;
		st->lag_ms = 0;
		if (old_role != HEALTH_ROLE_PRIMARY)
			st->primary_since_us = st->last_ok_us;
		if (old_role == HEALTH_ROLE_REPLICA)
			emit(node, HEALTH_EV_PROMOTED, "was in recovery, now reports pg_is_in_recovery() = false: "
				 "promoted; writes may go to it");
		else if (old_role == HEALTH_ROLE_UNKNOWN && !node->configured_primary)
			emit(node, HEALTH_EV_PROMOTED, "configured as a replica but not in recovery: it is a primary "
				 "(promoted)");
		st->status = HEALTH_UP;
		/* lag is measured against the node writes go to: after a failover an old primary's (possibly
		 * higher, lost) LSN must not make every replica look behind */
		if (health_pick_write_node(hm) == node->index)
			hm->primary_lsn = lsn;
		if (old_status != HEALTH_UP)
			emit(node, HEALTH_EV_UP, "primary at LSN %X/%X", (unsigned) (lsn >> 32), (unsigned) lsn);
		return;
	}

	st->role = HEALTH_ROLE_REPLICA;
	st->lag_ms = PQgetisnull(res, 0, 2) ? -1 : atol(PQgetvalue(res, 0, 2));
	if (hm->primary_lsn)
		st->lag_bytes = hm->primary_lsn > lsn ? (int64_t) (hm->primary_lsn - lsn) : 0;
	else
		st->lag_bytes = -1;
	if (old_role == HEALTH_ROLE_PRIMARY)
		emit(node, HEALTH_EV_DEMOTED, "was a primary, now in recovery: no more writes to it");
	else if (old_role == HEALTH_ROLE_UNKNOWN && node->configured_primary)
		emit(node, HEALTH_EV_DEMOTED, "configured as the primary but in recovery: no writes to it");

	{
		const HealthSettings *s = &hm->settings;
		char		why[160] = "";

		if (s->max_lag_bytes > 0 && st->lag_bytes > s->max_lag_bytes)
			snprintf(why, sizeof(why), "replay lag %" PRId64 " bytes > max_replica_lag %" PRId64 " bytes",
					 st->lag_bytes, s->max_lag_bytes);
		else if (s->max_lag_ms > 0 && st->lag_ms > s->max_lag_ms)
			snprintf(why, sizeof(why), "replay lag %ld ms > max_replica_lag %ld ms", st->lag_ms,
					 s->max_lag_ms);
		if (why[0])
		{
			st->status = HEALTH_LAGGING;
			if (old_status != HEALTH_LAGGING)
				emit(node, HEALTH_EV_EJECTED, "%s%s", why, st->replay_paused ? " (replay is paused)" : "");
		}
		else
		{
			st->status = HEALTH_UP;
			if (old_status == HEALTH_LAGGING)
				emit(node, HEALTH_EV_READMITTED, "replay lag %" PRId64 " bytes, %ld ms: within max_replica_lag",
					 st->lag_bytes, st->lag_ms);
			else if (old_status != HEALTH_UP)
				emit(node, HEALTH_EV_UP, "replica at replay LSN %X/%X", (unsigned) (lsn >> 32),
					 (unsigned) lsn);
		}
	}
}

/* apply_volatility: the pg_proc rows -> a new RouteVolatility handed to the owner. */
static void
apply_volatility(HealthNode *node, const PGresult *res)
{
	HealthMonitor *hm = node->hm;
	RouteVolatility *vt = sqlroute_volatility_create();
	int			rows = PQntuples(res);
	bool		ok = vt != NULL;

	for (int i = 0; ok && i < rows; i++)
	{
		const char *kind = PQgetvalue(res, i, 0);
		const char *schema = PQgetvalue(res, i, 1);
		const char *name = PQgetvalue(res, i, 2);
		char		vol = PQgetvalue(res, i, 3)[0];

		ok = kind[0] == 'f' ? sqlroute_volatility_add(vt, schema, name, vol)
			: sqlroute_volatility_add_operator(vt, schema, name, vol);
	}
	if (!ok)
	{
		sqlroute_volatility_free(vt);
		hm->volatility_due = true;
		emit(node, HEALTH_EV_VOLATILITY_FAILED, "out of memory building the volatility table");
		return;
	}
	emit(node, HEALTH_EV_VOLATILITY_LOADED, "%zu functions from pg_proc", sqlroute_volatility_count(vt));
	if (hm->callbacks.on_volatility)
		hm->callbacks.on_volatility(hm->callbacks.arg, vt);
	else
		sqlroute_volatility_free(vt);
}

/* query_done: the query of the current phase returned res (NULL = no result at all). */
static void
query_done(HealthNode *node, PGresult *res)
{
	HealthMonitor *hm = node->hm;
	ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (status != PGRES_TUPLES_OK || (node->phase == HN_CHECKING && PQntuples(res) != 1))
	{
		check_failed(node, node->phase == HN_LOADING ? "loading the volatility table failed" :
					 "health check query failed", res ? PQresultErrorMessage(res) : "no result");
		return;
	}
	if (node->phase == HN_LOADING)
	{
		apply_volatility(node, res);
		schedule_next(node);
		return;
	}
	apply_check(node, res);
	if (node->state.role == HEALTH_ROLE_PRIMARY && health_pick_write_node(hm) == node->index)
	{
		hm->primary_checks++;
		if (hm->settings.volatility_refresh_checks > 0 &&
			hm->primary_checks >= hm->settings.volatility_refresh_checks)
			hm->volatility_due = true;
		if (hm->volatility_due)
		{
			hm->volatility_due = false;
			hm->primary_checks = 0;
			arm_timer(node, hm->settings.check_timeout_ms);
			send_query(node, volatility_sql, HN_LOADING);
			return;
		}
	}
	schedule_next(node);
}

static void
node_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	HealthNode *node = arg;
	char		detail[64];

	if (node->phase == HN_IDLE)
	{
		start_check(node);
		return;
	}
	snprintf(detail, sizeof(detail), "no answer within %ld ms", node->hm->settings.check_timeout_ms);
	check_failed(node, node->phase == HN_RESOLVING ? "looking the host name up timed out" :
				 node->phase == HN_CONNECTING ? "connect timed out" :
				 node->phase == HN_LOADING ? "loading the volatility table timed out" :
				 "health check timed out", detail);
}

static void
node_socket_cb(evutil_socket_t fd, short what, void *arg)
{
	HealthNode *node = arg;

	if (node->phase == HN_CONNECTING)
	{
		switch (PQconnectPoll(node->conn))
		{
			case PGRES_POLLING_READING:
				wait_socket(node, EV_READ);
				return;
			case PGRES_POLLING_WRITING:
				wait_socket(node, EV_WRITE);
				return;
			case PGRES_POLLING_OK:
				if (PQsetnonblocking(node->conn, 1) != 0)
				{
					check_failed(node, "cannot make the connection non-blocking", PQerrorMessage(node->conn));
					return;
				}
				send_query(node, check_sql, HN_CHECKING);
				return;
			default:
				check_failed(node, "cannot connect", PQerrorMessage(node->conn));
				return;
		}
	}
	if (node->phase != HN_CHECKING && node->phase != HN_LOADING)
		return;

	if (what & EV_WRITE)
	{
		int			flushed = PQflush(node->conn);

		if (flushed < 0)
		{
			check_failed(node, "cannot send the health check", PQerrorMessage(node->conn));
			return;
		}
		if (flushed)
		{
			wait_socket(node, EV_READ | EV_WRITE);
			return;
		}
	}
	if (!PQconsumeInput(node->conn))
	{
		check_failed(node, "connection lost", PQerrorMessage(node->conn));
		return;
	}
	while (!PQisBusy(node->conn))
	{
		PGresult   *res = PQgetResult(node->conn);

		if (!res)
		{
			PGresult   *first = node->result;

			node->result = NULL;
			query_done(node, first);
			PQclear(first);
			return;
		}
		if (!node->result)
			node->result = res;
		else
			PQclear(res);
	}
	wait_socket(node, EV_READ);
}

/* node_start: slot i watches cfg from now on, with a fresh state; false when out of memory. */
static bool
node_start(HealthMonitor *hm, int i, const HealthNodeConfig *cfg)
{
	HealthNode *node = &hm->nodes[i];

	node->hm = hm;
	node->index = i;
	node->name = strdup(cfg->name ? cfg->name : "");
	node->conninfo = strdup(cfg->conninfo ? cfg->conninfo : "");
	node->host = strdup(cfg->host ? cfg->host : "");
	node->configured_primary = cfg->configured_primary;
	node->may_write = true;
	if (!node->ev_timer)
		node->ev_timer = evtimer_new(hm->base, node_timer_cb, node);
	memset(&node->state, 0, sizeof(node->state));
	node->state.lag_bytes = -1;
	node->state.lag_ms = -1;
	if (!node->name || !node->conninfo || !node->host || !node->ev_timer)
		return false;
	node->active = true;
	node->phase = HN_IDLE;
	if (i >= hm->n)
		hm->n = i + 1;
	arm_timer(node, 0);
	return true;
}

HealthMonitor *
health_create(struct event_base *base, const HealthNodeConfig *nodes, int n,
			  const HealthSettings *settings, const HealthCallbacks *callbacks)
{
	HealthMonitor *hm;

	if (!base || n < 0 || n > HEALTH_MAX_NODES || settings->check_period_ms <= 0 ||
		settings->check_timeout_ms <= 0)
		return NULL;
	hm = calloc(1, sizeof(HealthMonitor));
	if (!hm)
		return NULL;
	hm->base = base;
	hm->settings = *settings;
	if (hm->settings.backoff_max_ms < hm->settings.check_period_ms)
		hm->settings.backoff_max_ms = hm->settings.check_period_ms;
	if (callbacks)
		hm->callbacks = *callbacks;
	hm->volatility_due = true;
	hm->nodes = calloc(HEALTH_MAX_NODES, sizeof(HealthNode));
	if (!hm->nodes)
	{
		free(hm);
		return NULL;
	}
	for (int i = 0; i < HEALTH_MAX_NODES; i++)
		dns_wait_init(&hm->nodes[i].wait, node_resolved);
	for (int i = 0; i < n; i++)
		if (!node_start(hm, i, &nodes[i]))
		{
			health_free(hm);
			return NULL;
		}
	return hm;
}

/* node_stop: the slot goes inactive: connection closed, no timer, strings freed. */
static void
node_stop(HealthNode *node)
{
	close_conn(node);
	if (node->ev_timer)
		evtimer_del(node->ev_timer);
	free(node->name);
	free(node->conninfo);
	free(node->host);
	node->name = node->conninfo = node->host = NULL;
	node->active = false;
	node->phase = HN_IDLE;
}

bool
health_set_node(HealthMonitor *hm, int node, const HealthNodeConfig *cfg)
{
	if (node < 0 || node >= HEALTH_MAX_NODES)
		return false;
	node_stop(&hm->nodes[node]);
	if (node_start(hm, node, cfg))
		return true;
	node_stop(&hm->nodes[node]);
	return false;
}

void
health_remove_node(HealthMonitor *hm, int node)
{
	if (node >= 0 && node < hm->n)
		node_stop(&hm->nodes[node]);
}

void
health_set_hints(HealthMonitor *hm, int node, bool preferred_primary, bool may_write)
{
	if (node < 0 || node >= hm->n || !hm->nodes[node].active)
		return;
	hm->nodes[node].configured_primary = preferred_primary;
	hm->nodes[node].may_write = may_write;
}

bool
health_node_active(const HealthMonitor *hm, int node)
{
	return node >= 0 && node < hm->n && hm->nodes[node].active;
}

void
health_free(HealthMonitor *hm)
{
	if (!hm)
		return;
	for (int i = 0; hm->nodes && i < HEALTH_MAX_NODES; i++)
	{
		HealthNode *node = &hm->nodes[i];

		close_conn(node);
		if (node->ev_sock)
			event_free(node->ev_sock);
		if (node->ev_timer)
			event_free(node->ev_timer);
		free(node->name);
		free(node->conninfo);
		free(node->host);
	}
	free(hm->nodes);
	free(hm);
}

int
health_node_count(const HealthMonitor *hm)
{
	return hm->n;
}

const char *
health_node_name(const HealthMonitor *hm, int node)
{
	return (node >= 0 && node < hm->n && hm->nodes[node].active) ? hm->nodes[node].name : "?";
}

const HealthNodeState *
health_node_state(const HealthMonitor *hm, int node)
{
	return (node >= 0 && node < hm->n) ? &hm->nodes[node].state : NULL;
}

int
health_pick_write_node(const HealthMonitor *hm)
{
	int			best = -1;

	for (int i = 0; i < hm->n; i++)
	{
		const HealthNode *node = &hm->nodes[i];
		const HealthNode *cur = best >= 0 ? &hm->nodes[best] : NULL;

		if (!node->active || !node->may_write || node->state.role != HEALTH_ROLE_PRIMARY ||
			node->state.status != HEALTH_UP)
			continue;
		/* newer timeline; then the configured primary (two unrelated primaries on one timeline are a
		 * misconfiguration, not a failover); then the one seen becoming primary last */
		if (!cur || node->state.timeline > cur->state.timeline ||
			(node->state.timeline == cur->state.timeline &&
			 (node->configured_primary != cur->configured_primary ? node->configured_primary :
			  node->state.primary_since_us > cur->state.primary_since_us)))
			best = i;
	}
	return best;
}

bool
health_replica_usable(const HealthMonitor *hm, int node, uint64_t min_lsn)
{
	const HealthNodeState *st;

	if (node < 0 || node >= hm->n)
		return false;
	st = &hm->nodes[node].state;
	return hm->nodes[node].active && st->role == HEALTH_ROLE_REPLICA && st->status == HEALTH_UP && st->lsn >= min_lsn;
}

uint64_t
health_primary_lsn(const HealthMonitor *hm)
{
	return hm->primary_lsn;
}

void
health_check_now(HealthMonitor *hm)
{
	for (int i = 0; i < hm->n; i++)
		if (hm->nodes[i].active && hm->nodes[i].phase == HN_IDLE)
			arm_timer(&hm->nodes[i], 0);
}

void
health_reload_volatility(HealthMonitor *hm)
{
	hm->volatility_due = true;
}

bool
health_parse_lsn(const char *text, uint64_t *lsn)
{
	unsigned int hi,
				lo;
	int			consumed = 0;

	if (sscanf(text, "%X/%X%n", &hi, &lo, &consumed) != 2 || text[consumed] != '\0')
		return false;
	*lsn = ((uint64_t) hi << 32) | lo;
	return true;
}

const char *
health_role_name(HealthRole role)
{
	switch (role)
	{
		case HEALTH_ROLE_PRIMARY:
			return "primary";
		case HEALTH_ROLE_REPLICA:
			return "replica";
		default:
			return "unknown";
	}
}

const char *
health_status_name(HealthStatus status)
{
	switch (status)
	{
		case HEALTH_UP:
			return "up";
		case HEALTH_LAGGING:
			return "lagging";
		case HEALTH_DOWN:
			return "down";
		default:
			return "unknown";
	}
}

const char *
health_event_name(HealthEvent event)
{
	switch (event)
	{
		case HEALTH_EV_UP:
			return "up";
		case HEALTH_EV_DOWN:
			return "down";
		case HEALTH_EV_EJECTED:
			return "ejected";
		case HEALTH_EV_READMITTED:
			return "readmitted";
		case HEALTH_EV_PROMOTED:
			return "promoted";
		case HEALTH_EV_DEMOTED:
			return "demoted";
		case HEALTH_EV_VOLATILITY_LOADED:
			return "volatility_loaded";
		case HEALTH_EV_VOLATILITY_FAILED:
			return "volatility_failed";
	}
	return "?";
}
