/*
 * metrics.c: owns the counters that only the HTTP endpoints show (wait-time histogram, errors by
 * SQLSTATE class, rate-limit rejections) and the answers of the HTTP listener on metrics_addr:metrics_port
 * (httpd.c owns the connections, their cap, deadline and authorization):
 *   GET /metrics       Prometheus text exposition format 0.0.4, built from the pools' lists and
 *                      counters (pool.h, stats.h) at scrape time: nothing is kept twice.
 *   GET /health        JSON; 200 when every configured database can take writes, else 503.
 *   GET /health/read   the same for reads (a usable replica, or the primary as fallback).
 * The HTTP server shares the pooler's event loop: a scrape is a walk over the pool list, like SHOW
 * POOLS, and never blocks. Counting is plain increments on that one thread (no locks).
 *
 * Naming follows Prometheus conventions: faregate_ prefix, counters end in _total, times in seconds,
 * sizes in bytes, per-database series labelled database (and user for pools), per-host series
 * labelled host, port and role.
 */
#include "metrics.h"
#include "session.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "conn.h"
#include "health.h"
#include "httpd.h"
#include "list.h"
#include "log.h"
#include "pool.h"
#include "probe.h"
#include "server.h"
#include "version.h"

/* bucket upper bounds of faregate_client_wait_seconds */
static const double wait_bounds[METRICS_WAIT_BUCKETS] = {
	0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60
};
static uint64_t wait_buckets[METRICS_WAIT_BUCKETS + 1];	/* last = above every bound */
static uint64_t wait_count;
static uint64_t wait_sum_us;

/* errors by SQLSTATE class (first two characters) and source */
#define MAX_ERROR_CLASSES 64
typedef struct ErrorClass
{
	char		cls[3];
	uint64_t	from_pooler;
	uint64_t	from_server;
} ErrorClass;
static ErrorClass error_classes[MAX_ERROR_CLASSES];
static int	n_error_classes;

#define MAX_LIMITS 16
typedef struct LimitCount
{
	const char *limit;			/* a config key name: static storage */
	uint64_t	rejections;
} LimitCount;
static LimitCount limit_counts[MAX_LIMITS];
static int	n_limits;

#define MAX_MONITORS 64
typedef struct MonitorReg
{
	char		dbname[CF_NAME_MAX];
	HealthMonitor *hm;
} MonitorReg;
static MonitorReg monitors[MAX_MONITORS];
static int	n_monitors;

static bool http_started;

void
metrics_observe_wait(uint64_t wait_us)
{
	double		secs = (double) wait_us / 1e6;
	int			i;

	for (i = 0; i < METRICS_WAIT_BUCKETS && secs > wait_bounds[i]; i++)
		;
	wait_buckets[i]++;
	wait_count++;
	wait_sum_us += wait_us;
}

void
metrics_count_error(const char *sqlstate, bool from_server)
{
	char		cls[3] = "??";
	int			i;

	if (sqlstate && strlen(sqlstate) >= 2)
		cls[0] = sqlstate[0], cls[1] = sqlstate[1];
	for (i = 0; i < n_error_classes; i++)
		if (memcmp(error_classes[i].cls, cls, 2) == 0)
			break;
	if (i == n_error_classes)
	{
		if (n_error_classes == MAX_ERROR_CLASSES)
			i = MAX_ERROR_CLASSES - 1;	/* cannot happen with real SQLSTATEs: ~40 classes */
		else
		{
			memcpy(error_classes[i].cls, cls, 3);
			n_error_classes++;
		}
	}
	if (from_server)
		error_classes[i].from_server++;
	else
		error_classes[i].from_pooler++;
}

void
metrics_count_ratelimit(const char *limit)
{
	int			i;

	for (i = 0; i < n_limits; i++)
		if (strcmp(limit_counts[i].limit, limit) == 0)
			break;
	if (i == n_limits)
	{
		if (n_limits == MAX_LIMITS)
			return;
		limit_counts[n_limits++].limit = limit;
	}
	limit_counts[i].rejections++;
}

uint64_t
metrics_ratelimit_rejections(void)
{
	uint64_t	sum = 0;

	for (int i = 0; i < n_limits; i++)
		sum += limit_counts[i].rejections;
	return sum;
}

void
metrics_register_health(const char *dbname, HealthMonitor *hm)
{
	int			i;

	for (i = 0; i < n_monitors; i++)
		if (strcmp(monitors[i].dbname, dbname) == 0)
			break;
	if (!hm)
	{
		if (i < n_monitors)
			monitors[i] = monitors[--n_monitors];
		return;
	}
	if (i == n_monitors)
	{
		if (n_monitors == MAX_MONITORS)
			return;
		snprintf(monitors[n_monitors++].dbname, CF_NAME_MAX, "%s", dbname);
	}
	monitors[i].hm = hm;
}

static HealthMonitor *
monitor_for(const char *dbname)
{
	for (int i = 0; i < n_monitors; i++)
		if (strcmp(monitors[i].dbname, dbname) == 0)
			return monitors[i].hm;
	return NULL;
}

/* ---- exposition format ---- */

/* put_label: appends name="value" with the format's escapes (\\, \", \n). */
static void
put_label(struct evbuffer *out, const char *name, const char *value, bool first)
{
	evbuffer_add_printf(out, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = value; *p; p++)
	{
		if (*p == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*p == '"')
			evbuffer_add(out, "\\\"", 2);
		else if (*p == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"", 1);
}

static void
family(struct evbuffer *out, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *
pool_dbname(const Pool *pool)
{
	return pool->db.name;
}

static const char *
role_name(NodeRole role)
{
	return role == NODE_PRIMARY ? "primary" : "replica";
}

/* pool_sample: name{database,user[,extra]} value, for a pool. */
static void
pool_sample(struct evbuffer *out, const char *name, const Pool *pool, const char *ename, const char *evalue,
			double value)
{
	evbuffer_add_printf(out, "%s{", name);
	put_label(out, "database", pool_dbname(pool), true);
	put_label(out, "user", pool->user, false);
	if (ename)
		put_label(out, ename, evalue, false);
	evbuffer_add_printf(out, "} %.17g\n", value);
}

/* node_sample: name{database,user,host,port,role[,extra]} value, for node i of pool. */
static void
node_sample(struct evbuffer *out, const char *name, const Pool *pool, int i, const char *ename,
			const char *evalue, double value)
{
	char		port[16];

	if (pool->nodes[i].vacant)
		return;					/* a slot with no host (Patroni discovery) */
	snprintf(port, sizeof(port), "%d", pool->nodes[i].port);
	evbuffer_add_printf(out, "%s{", name);
	put_label(out, "database", pool_dbname(pool), true);
	put_label(out, "user", pool->user, false);
	put_label(out, "host", pool->nodes[i].host, false);
	put_label(out, "port", port, false);
	put_label(out, "role", role_name(pool->nodes[i].role), false);
	if (ename)
		put_label(out, ename, evalue, false);
	evbuffer_add_printf(out, "} %.17g\n", value);
}

/* pool_after: the first pool after list node it that is not the admin console's, or NULL. */
static Pool *
pool_after(const List *it)
{
	for (it = it->next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (!pool->admin)
			return pool;
	}
	return NULL;
}

/* FOR_POOLS: every pool but the admin console's, in creation order. */
#define FOR_POOLS(pool) \
	for (Pool *(pool) = pool_after(&pool_list); (pool); (pool) = pool_after(&(pool)->pool_node))

/* A counter family per pool taken from StatCounters. */
typedef struct StatSeries
{
	const char *name;
	const char *help;
	size_t		offset;			/* offsetof(StatCounters, …) */
	double		scale;			/* multiplier to base units */
} StatSeries;

static const StatSeries stat_series[] = {
	{"transactions_total", "Transactions pooled (ReadyForQuery with status I ends one).",
	offsetof(StatCounters, xact_count), 1},
	{"queries_total", "Requests answered (every ReadyForQuery).", offsetof(StatCounters, query_count), 1},
	{"received_bytes_total", "Bytes received from clients.", offsetof(StatCounters, bytes_recv), 1},
	{"sent_bytes_total", "Bytes sent to clients.", offsetof(StatCounters, bytes_sent), 1},
	{"transaction_seconds_total", "Time clients were linked to a server inside transactions.",
	offsetof(StatCounters, xact_time_us), 1e-6},
	{"query_seconds_total", "Time from a request to its ReadyForQuery.", offsetof(StatCounters, query_time_us),
	1e-6},
	{"wait_seconds_total", "Time clients waited for a server.", offsetof(StatCounters, wait_time_us), 1e-6},
	{"pooler_errors_total", "Errors the pooler itself sent to clients.", offsetof(StatCounters, errors), 1},
};

/* stat_value: one StatCounters field, scaled to base units. */
static double
stat_value(const StatCounters *sc, const StatSeries *series)
{
	return (double) *(const uint64_t *) ((const char *) sc + series->offset) * series->scale;
}

static void
render_pools(struct evbuffer *out)
{
	static const char *const cl_states[] = {"wait_welcome", "idle", "waiting", "active"};
	static const char *const sv_states[] = {"login", "idle", "active"};
	char		name[128];

	family(out, "faregate_clients", "gauge",
		   "Client connections by pool and state (login: not yet in a pool, see faregate_clients_login).");
	FOR_POOLS(pool)
	{
		int			waiting = 0;

		for (int i = 0; i < pool->n_nodes; i++)
			waiting += list_count(&pool->nodes[i].waiting_clients);
		pool_sample(out, "faregate_clients", pool, "state", cl_states[0], list_count(&pool->welcome_clients));
		pool_sample(out, "faregate_clients", pool, "state", cl_states[1], list_count(&pool->idle_clients));
		pool_sample(out, "faregate_clients", pool, "state", cl_states[2], waiting);
		pool_sample(out, "faregate_clients", pool, "state", cl_states[3], list_count(&pool->active_clients));
	}
	family(out, "faregate_clients_login", "gauge", "Client connections still logging in.");
	evbuffer_add_printf(out, "faregate_clients_login %d\n", list_count(&login_client_list));
	family(out, "faregate_client_connections", "gauge", "Client connections held (max_client_conn counts these).");
	evbuffer_add_printf(out, "faregate_client_connections %d\n", client_count);
	family(out, "faregate_max_client_connections", "gauge", "The max_client_conn setting.");
	evbuffer_add_printf(out, "faregate_max_client_connections %d\n", cf.max_client_conn);

	family(out, "faregate_servers", "gauge", "Server connections by pool, host and state.");
	FOR_POOLS(pool)
		for (int i = 0; i < pool->n_nodes; i++)
	{
		node_sample(out, "faregate_servers", pool, i, "state", sv_states[0],
					list_count(&pool->nodes[i].login_servers));
		node_sample(out, "faregate_servers", pool, i, "state", sv_states[1],
					list_count(&pool->nodes[i].idle_servers));
		node_sample(out, "faregate_servers", pool, i, "state", sv_states[2],
					list_count(&pool->nodes[i].active_servers));
	}
	family(out, "faregate_pool_size", "gauge", "Server connections a pool may open per host.");
	FOR_POOLS(pool)
		pool_sample(out, "faregate_pool_size", pool, NULL, NULL, pool->pool_size);
	family(out, "faregate_pool_max_wait_seconds", "gauge", "Longest current wait of a client for a server.");
	FOR_POOLS(pool)
		pool_sample(out, "faregate_pool_max_wait_seconds", pool, NULL, NULL, (double) pool->max_wait_us / 1e6);
	family(out, "faregate_pool_paused", "gauge", "1 while the pool is paused (PAUSE).");
	FOR_POOLS(pool)
		pool_sample(out, "faregate_pool_paused", pool, NULL, NULL, pool->paused ? 1 : 0);

	for (size_t s = 0; s < sizeof(stat_series) / sizeof(stat_series[0]); s++)
	{
		snprintf(name, sizeof(name), "faregate_%s", stat_series[s].name);
		family(out, name, "counter", stat_series[s].help);
		FOR_POOLS(pool)
			pool_sample(out, name, pool, NULL, NULL, stat_value(&pool->stats.total, &stat_series[s]));
	}
	/* per host (and so per role: sum by (role)) */
	for (size_t s = 0; s < 4; s++)
	{
		snprintf(name, sizeof(name), "faregate_node_%s", stat_series[s].name);
		family(out, name, "counter", stat_series[s].help);
		FOR_POOLS(pool)
			for (int i = 0; i < pool->n_nodes; i++)
			node_sample(out, name, pool, i, NULL, NULL, stat_value(&pool->nodes[i].stats, &stat_series[s]));
	}
	family(out, "faregate_routed_transactions_total", "counter",
		   "Transactions routed to a host, by the class the router gave them (read, write, or "
		   "unclassified while read routing is off).");
	FOR_POOLS(pool)
		for (int i = 0; i < pool->n_nodes; i++)
	{
		PoolNode   *node = &pool->nodes[i];
		uint64_t	classified = node->routed_reads + node->routed_writes;

		node_sample(out, "faregate_routed_transactions_total", pool, i, "class", "read",
					(double) node->routed_reads);
		node_sample(out, "faregate_routed_transactions_total", pool, i, "class", "write",
					(double) node->routed_writes);
		node_sample(out, "faregate_routed_transactions_total", pool, i, "class", "unclassified",
					(double) (node->routed > classified ? node->routed - classified : 0));
	}
}

static void
render_histogram(struct evbuffer *out)
{
	uint64_t	cumulative = 0;

	family(out, "faregate_client_wait_seconds", "histogram",
		   "Time a transaction's first request waited for a server (0 when one was idle).");
	for (int i = 0; i < METRICS_WAIT_BUCKETS; i++)
	{
		cumulative += wait_buckets[i];
		evbuffer_add_printf(out, "faregate_client_wait_seconds_bucket{le=\"%g\"} %llu\n", wait_bounds[i],
							(unsigned long long) cumulative);
	}
	cumulative += wait_buckets[METRICS_WAIT_BUCKETS];
	evbuffer_add_printf(out, "faregate_client_wait_seconds_bucket{le=\"+Inf\"} %llu\n",
						(unsigned long long) cumulative);
	evbuffer_add_printf(out, "faregate_client_wait_seconds_sum %.6f\n", (double) wait_sum_us / 1e6);
	evbuffer_add_printf(out, "faregate_client_wait_seconds_count %llu\n", (unsigned long long) wait_count);
}

static void
render_errors(struct evbuffer *out)
{
	family(out, "faregate_errors_total", "counter",
		   "ErrorResponses sent to clients by SQLSTATE class (two characters) and source: pooler (its own "
		   "errors) or server (PostgreSQL's, passed through).");
	for (int i = 0; i < n_error_classes; i++)
	{
		evbuffer_add(out, "faregate_errors_total{", 22);
		put_label(out, "class", error_classes[i].cls, true);
		put_label(out, "source", "pooler", false);
		evbuffer_add_printf(out, "} %llu\n", (unsigned long long) error_classes[i].from_pooler);
		evbuffer_add(out, "faregate_errors_total{", 22);
		put_label(out, "class", error_classes[i].cls, true);
		put_label(out, "source", "server", false);
		evbuffer_add_printf(out, "} %llu\n", (unsigned long long) error_classes[i].from_server);
	}
	family(out, "faregate_ratelimit_rejections_total", "counter",
		   "Requests or logins refused with SQLSTATE 53400 or 53300 by a limit (its setting's name).");
	for (int i = 0; i < n_limits; i++)
	{
		evbuffer_add(out, "faregate_ratelimit_rejections_total{", 36);
		put_label(out, "limit", limit_counts[i].limit, true);
		evbuffer_add_printf(out, "} %llu\n", (unsigned long long) limit_counts[i].rejections);
	}
}

/* render_session: session state seen (session.c) and the clients pinned to a server because of it. */
static void
render_session(struct evbuffer *out)
{
	family(out, "faregate_session_state_total", "counter",
		   "Statements seen creating session state transaction pooling cannot carry, by kind "
		   "(session_state_action says what was done).");
	for (int k = 0; k < SK_COUNT; k++)
	{
		evbuffer_add_printf(out, "faregate_session_state_total{");
		put_label(out, "kind", session_kind_name((SessionKind) k), true);
		evbuffer_add_printf(out, "} %llu\n", (unsigned long long) session_detected_total((SessionKind) k));
	}
	family(out, "faregate_clients_pinned", "gauge",
		   "Clients keeping their server connection while they hold session state (session_state_action = pin).");
	evbuffer_add_printf(out, "faregate_clients_pinned %d\n", session_pinned_count());
}

static void
health_sample(struct evbuffer *out, const char *name, const char *dbname, HealthMonitor *hm, int node,
			  const char *ename, const char *evalue, double value)
{
	if (!health_node_active(hm, node))
		return;					/* a slot freed by Patroni discovery */
	evbuffer_add_printf(out, "%s{", name);
	put_label(out, "database", dbname, true);
	put_label(out, "host", health_node_name(hm, node), false);
	if (ename)
		put_label(out, ename, evalue, false);
	evbuffer_add_printf(out, "} %.17g\n", value);
}

static void
render_health(struct evbuffer *out)
{
	static const HealthStatus statuses[] = {HEALTH_UNKNOWN, HEALTH_UP, HEALTH_LAGGING, HEALTH_DOWN};

	family(out, "faregate_node_reachable", "gauge",
		   "1 when the pool's last connection attempt to the host succeeded, 0 after a failure (until one "
		   "succeeds); absent before the first attempt.");
	FOR_POOLS(pool)
		for (int i = 0; i < pool->n_nodes; i++)
			if (pool->nodes[i].ever_connected || pool->nodes[i].last_connect_failure_us)
				node_sample(out, "faregate_node_reachable", pool, i, NULL, NULL,
							pool->nodes[i].last_connect_failure_us ? 0 : 1);

	family(out, "faregate_health_status", "gauge",
		   "Health checker's verdict per host: 1 for the current status (unknown, up, lagging, down).");
	for (int m = 0; m < n_monitors; m++)
		for (int i = 0; i < health_node_count(monitors[m].hm); i++)
			for (size_t s = 0; s < 4; s++)
				health_sample(out, "faregate_health_status", monitors[m].dbname, monitors[m].hm, i, "status",
							  health_status_name(statuses[s]),
							  health_node_state(monitors[m].hm, i)->status == statuses[s]);
	family(out, "faregate_health_is_primary", "gauge", "1 when the host said it is not in recovery.");
	for (int m = 0; m < n_monitors; m++)
		for (int i = 0; i < health_node_count(monitors[m].hm); i++)
			health_sample(out, "faregate_health_is_primary", monitors[m].dbname, monitors[m].hm, i, NULL, NULL,
						  health_node_state(monitors[m].hm, i)->role == HEALTH_ROLE_PRIMARY);
	family(out, "faregate_health_checks_total", "counter", "Health checks completed (answered or failed).");
	for (int m = 0; m < n_monitors; m++)
		for (int i = 0; i < health_node_count(monitors[m].hm); i++)
			health_sample(out, "faregate_health_checks_total", monitors[m].dbname, monitors[m].hm, i, NULL, NULL,
						  (double) health_node_state(monitors[m].hm, i)->checks);
	family(out, "faregate_health_consecutive_failures", "gauge", "Failed health checks in a row.");
	for (int m = 0; m < n_monitors; m++)
		for (int i = 0; i < health_node_count(monitors[m].hm); i++)
			health_sample(out, "faregate_health_consecutive_failures", monitors[m].dbname, monitors[m].hm, i,
						  NULL, NULL, health_node_state(monitors[m].hm, i)->failures);
	family(out, "faregate_replica_lag_bytes", "gauge", "WAL bytes a replica has not replayed yet.");
	for (int m = 0; m < n_monitors; m++)
		for (int i = 0; i < health_node_count(monitors[m].hm); i++)
		{
			const HealthNodeState *st = health_node_state(monitors[m].hm, i);

			if (st->role == HEALTH_ROLE_REPLICA && st->lag_bytes >= 0)
				health_sample(out, "faregate_replica_lag_bytes", monitors[m].dbname, monitors[m].hm, i, NULL,
							  NULL, (double) st->lag_bytes);
		}
	family(out, "faregate_replica_lag_seconds", "gauge", "Replay lag of a replica in time.");
	for (int m = 0; m < n_monitors; m++)
		for (int i = 0; i < health_node_count(monitors[m].hm); i++)
		{
			const HealthNodeState *st = health_node_state(monitors[m].hm, i);

			if (st->role == HEALTH_ROLE_REPLICA && st->lag_ms >= 0)
				health_sample(out, "faregate_replica_lag_seconds", monitors[m].dbname, monitors[m].hm, i, NULL,
							  NULL, (double) st->lag_ms / 1000.0);
		}
}

static bool
evbuffer_to_malloc(struct evbuffer *out, char **buf, size_t *len)
{
	size_t		n = evbuffer_get_length(out);

	*buf = malloc(n + 1);
	if (!*buf)
		return false;
	evbuffer_copyout(out, *buf, n);
	(*buf)[n] = '\0';
	*len = n;
	return true;
}

static void
render_all(struct evbuffer *out)
{
	family(out, "faregate_info", "gauge", "Always 1; the version label names the pooler's version.");
	evbuffer_add(out, "faregate_info{", 14);
	put_label(out, "version", FAREGATE_POOLER_VERSION, true);
	evbuffer_add(out, "} 1\n", 4);
	render_pools(out);
	render_histogram(out);
	render_errors(out);
	render_session(out);
	render_health(out);
}

bool
metrics_render(char **buf, size_t *len)
{
	struct evbuffer *out = evbuffer_new();
	bool		ok;

	if (!out)
		return false;
	render_all(out);
	ok = evbuffer_to_malloc(out, buf, len);
	evbuffer_free(out);
	return ok;
}

/* ---- /health ---- */

/* json_str: a JSON string (names and hosts come from the configuration). */
static void
json_str(struct evbuffer *out, const char *s)
{
	evbuffer_add(out, "\"", 1);
	for (const char *p = s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(out, "\\%c", *p);
		else if ((unsigned char) *p < 0x20)
			evbuffer_add_printf(out, "\\u%04x", *p);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"", 1);
}

/*
 * db_health: one database entry's JSON object; writes and reads say whether it can serve them.
 * Reachability comes from a registered health monitor when there is one (verified role and lag), else
 * from the entry's probe (probe.c: a StartupMessage every health_check_period, judged like PQping).
 * Until an entry's first probe has finished (at start: within server_connect_timeout; after a RELOAD
 * that added it: up to one period more) the pools' own connections say it ("source":"pool"), and
 * "reachable": null (counted as serving) when there is none.
 */
static void
db_health(struct evbuffer *out, const DatabaseEntry *db, bool *writes, bool *reads)
{
	HealthMonitor *hm = monitor_for(db->name);
	int			waiting = 0;
	int			active = 0;
	int			capacity = 0;
	bool		first = true;

	evbuffer_add(out, "{\"name\":", 8);
	json_str(out, db->name);
	FOR_POOLS(pool)
		if (strcmp(pool->db.name, db->name) == 0)
			for (int i = 0; i < pool->n_nodes; i++)
			{
				waiting += list_count(&pool->nodes[i].waiting_clients);
				active += list_count(&pool->nodes[i].active_servers);
				capacity += pool->pool_size;
			}
	if (hm)
	{
		int			primary = health_pick_write_node(hm);
		bool		replica_ok = false;

		evbuffer_add_printf(out, ",\"source\":\"health_check\",\"primary\":{\"host\":");
		json_str(out, primary >= 0 ? health_node_name(hm, primary) : "");
		evbuffer_add_printf(out, ",\"reachable\":%s},\"replicas\":[", primary >= 0 ? "true" : "false");
		for (int i = 0; i < health_node_count(hm); i++)
		{
			const HealthNodeState *st = health_node_state(hm, i);

			if (i == primary || !health_node_active(hm, i))
				continue;
			if (health_replica_usable(hm, i, 0))
				replica_ok = true;
			evbuffer_add_printf(out, "%s{\"host\":", first ? "" : ",");
			json_str(out, health_node_name(hm, i));
			evbuffer_add_printf(out, ",\"role\":\"%s\",\"state\":\"%s\",\"lag_bytes\":%lld,\"lag_seconds\":%.3f}",
								health_role_name(st->role), health_status_name(st->status),
								(long long) st->lag_bytes, st->lag_ms >= 0 ? st->lag_ms / 1000.0 : -1.0);
			first = false;
		}
		evbuffer_add(out, "]", 1);
		*writes = primary >= 0;
		*reads = primary >= 0 || replica_ok;
	}
	else
	{
		const ProbeResult *pr = probe_result(db->name);
		const char *reachable = "null";
		bool		probed = pr && pr->verdict != PROBE_PENDING;

		if (probed)
			reachable = pr->verdict == PROBE_REACHABLE ? "true" : "false";
		else
		{
			/* not probed yet (an entry added by RELOAD waits for the next period): the pools' evidence */
			FOR_POOLS(pool)
				if (strcmp(pool->db.name, db->name) == 0)
			{
				if (pool->nodes[0].last_connect_failure_us)
					reachable = "false";
				else if (pool->nodes[0].ever_connected && strcmp(reachable, "null") == 0)
					reachable = "true";
			}
		}
		evbuffer_add_printf(out, ",\"source\":\"%s\",\"primary\":{\"host\":", probed ? "probe" : "pool");
		json_str(out, db->host);
		evbuffer_add_printf(out, ",\"port\":%d,\"reachable\":%s,\"detail\":", db->port, reachable);
		json_str(out, pr ? pr->detail : "");
		evbuffer_add_printf(out, ",\"probes\":%llu},\"replicas\":[]",
							pr ? (unsigned long long) pr->probes : 0ULL);
		*writes = strcmp(reachable, "false") != 0;
		*reads = *writes;
	}
	/* the pooler's TLS handshake with the primary failing makes the database unusable too */
	FOR_POOLS(pool)
		if (strcmp(pool->db.name, db->name) == 0 && pool->nodes[0].tls_error[0])
	{
		evbuffer_add_printf(out, ",\"tls_error\":");
		json_str(out, pool->nodes[0].tls_error);
		*writes = false;
		if (!hm)
			*reads = false;		/* with a health monitor, replicas may still serve reads */
		break;
	}
	evbuffer_add_printf(out, ",\"pool\":{\"clients_waiting\":%d,\"servers_active\":%d,\"capacity\":%d,"
						"\"saturation\":%.3f}}", waiting, active, capacity,
						capacity > 0 ? (double) active / capacity : 0.0);
}

bool
metrics_health_json(bool read, char **buf, size_t *len, bool *serving)
{
	struct evbuffer *out = evbuffer_new();
	struct evbuffer *dbs = evbuffer_new();
	bool		all_writes = true;
	bool		all_reads = true;
	bool		ok;
	int			n = 0;

	if (!out || !dbs)
	{
		if (out)
			evbuffer_free(out);
		if (dbs)
			evbuffer_free(dbs);
		return false;
	}
	for (int i = 0; i < cf.n_databases; i++)
	{
		bool		writes = true;
		bool		reads = true;

		if (strcmp(cf.databases[i].name, "*") == 0)
			continue;
		if (n++)
			evbuffer_add(dbs, ",", 1);
		db_health(dbs, &cf.databases[i], &writes, &reads);
		all_writes &= writes;
		all_reads &= reads;
	}
	*serving = read ? all_reads : all_writes;
	evbuffer_add_printf(out, "{\"status\":\"%s\",\"check\":\"%s\",\"writes\":%s,\"reads\":%s,"
						"\"shutting_down\":%s,\"databases\":[",
						*serving && !pool_shutting_down ? "ok" : "unavailable", read ? "read" : "write",
						all_writes ? "true" : "false", all_reads ? "true" : "false",
						pool_shutting_down ? "true" : "false");
	if (pool_shutting_down)
		*serving = false;
	evbuffer_add_buffer(out, dbs);
	evbuffer_add(out, "]}\n", 3);
	ok = evbuffer_to_malloc(out, buf, len);
	evbuffer_free(out);
	evbuffer_free(dbs);
	return ok;
}

/* ---- HTTP (httpd.c serves; this answers) ---- */

static void
http_answer(const char *path, HttpdReply *reply)
{
	char	   *text = NULL;
	size_t		len = 0;
	bool		serving = false;

	if (strcmp(path, "/metrics") == 0)
	{
		if (!metrics_render(&text, &len))
			return;				/* 500 */
		reply->status = 200;
		reply->reason = "OK";
		reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
	}
	else if (strcmp(path, "/health") == 0 || strcmp(path, "/health/read") == 0)
	{
		if (!metrics_health_json(strcmp(path, "/health/read") == 0, &text, &len, &serving))
			return;
		reply->status = serving ? 200 : 503;
		reply->reason = serving ? "OK" : "Service Unavailable";
		reply->content_type = "application/json";
		reply->no_store = true;
	}
	else
	{
		static const char not_found[] = "not found; try /metrics, /health or /health/read\n";

		if (!(text = strdup(not_found)))
			return;
		len = sizeof(not_found) - 1;
		reply->status = 404;
		reply->reason = "Not Found";
	}
	reply->body = text;
	reply->len = len;
}

bool
metrics_start(char *err, size_t errlen)
{
	if (cf.metrics_port <= 0)
		return true;
	if (!httpd_start(cf.metrics_addr, cf.metrics_port, http_answer, err, errlen))
		return false;
	http_started = true;
	log_info("metrics and health on http://%s:%d/metrics", cf.metrics_addr, cf.metrics_port);
	return probe_start(err, errlen);
}

void
metrics_stop(void)
{
	probe_stop();
	if (http_started)
		httpd_stop();
	http_started = false;
}
