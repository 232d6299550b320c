/*
 * admin.c: owns the virtual admin database (`faregate`, alias `pgbouncer`): the SHOW commands with
 * PgBouncer 1.18's columns (same names, order and types) first and faregate's own after them, the
 * control commands (RELOAD, PAUSE, RESUME, KILL, SHUTDOWN), and the process-wide reload and shutdown
 * sequences that SIGHUP/SIGINT/SIGTERM share with those commands. Only the simple query protocol.
 * stats_users may run SHOW; the rest needs admin_users.
 */
#include "admin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "client.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "login.h"
#include "pool.h"
#include "ratelimit.h"
#include "tls.h"
#include "listen.h"
#include "routing.h"
#include "prepared.h"
#include "proto.h"
#include "server.h"
#include "slab.h"
#include "version.h"

#define T_TEXT 25
#define T_INT4 23
#define T_INT8 20
#define T_NUMERIC 1700

static uint64_t shutdown_deadline;

/* A result set being written to an admin client. */
typedef struct Result
{
	Client	   *client;
	int			n_cols;
	long		rows;
	bool		failed;
} Result;

static bool
send_pkt(Client *client, PktBuf *pkt)
{
	return !pkt->failed && client_send_bytes(client, pkt->data, pkt->len);
}

static void
result_begin(Result *res, Client *client, int n, const char *const *names, const uint32_t *types)
{
	uint8_t		data[4096];
	PktBuf		pkt;

	res->client = client;
	res->n_cols = n;
	res->rows = 0;
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_row_description(&pkt, n, names, types);
	res->failed = !send_pkt(client, &pkt);
}

static void
result_row(Result *res, const char *const *values)
{
	uint8_t		data[8192];
	PktBuf		pkt;

	if (res->failed)
		return;
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_data_row(&pkt, res->n_cols, values);
	res->failed = !send_pkt(res->client, &pkt);
	res->rows++;
}

static bool
result_end(Result *res, const char *tag)
{
	uint8_t		data[128];
	PktBuf		pkt;
	char		text[64];

	if (res->failed)
		return false;
	if (!tag)
	{
		snprintf(text, sizeof(text), "SHOW");
		tag = text;
	}
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_command_complete(&pkt, tag);
	proto_build_ready(&pkt, 'I');
	return send_pkt(res->client, &pkt);
}

static bool
command_done(Client *client, const char *tag)
{
	uint8_t		data[128];
	PktBuf		pkt;

	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_command_complete(&pkt, tag);
	proto_build_ready(&pkt, 'I');
	return send_pkt(client, &pkt);
}

static void
fmt_u64(char *buf, size_t len, uint64_t v)
{
	snprintf(buf, len, "%llu", (unsigned long long) v);
}

static void
fmt_time(char *buf, size_t len, uint64_t usec)
{
	time_t		secs = (time_t) (usec / 1000000);
	struct tm	tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static bool
show_version(Client *client)
{
	static const char *const names[] = {"version"};
	static const uint32_t types[] = {T_TEXT};
	const char *values[1] = {"faregate-pooler " FAREGATE_POOLER_VERSION " (PgBouncer 1.18 compatible console)"};
	Result		res;

	result_begin(&res, client, 1, names, types);
	result_row(&res, values);
	return result_end(&res, NULL);
}

static bool
show_pools(Client *client)
{
	static const char *const names[] = {"database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req",
		"cl_waiting_cancel_req", "sv_active", "sv_active_cancel", "sv_being_canceled", "sv_idle", "sv_used",
		"sv_tested", "sv_login", "maxwait", "maxwait_us", "pool_mode", "node", "role", "host", "port"};
	static const uint32_t types[] = {T_TEXT, T_TEXT, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4,
		T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_TEXT, T_INT4, T_TEXT, T_TEXT, T_INT4};
	Result		res;
	List	   *it;

	result_begin(&res, client, 20, names, types);
	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		for (int i = 0; i < pool->n_nodes; i++)
		{
			PoolNode   *node = &pool->nodes[i];
			char		v[20][64];
			const char *values[20];
			int			waiting = list_count(&node->waiting_clients);
			int			cl_active = i == 0 ? list_count(&pool->active_clients) + list_count(&pool->idle_clients) : 0;
			int			sv_used = 0;
			int			sv_tested = 0;
			uint64_t	now = conn_now_usec();
			CancelCounts cancels;

			if (pool->admin)
				cl_active = list_count(&pool->idle_clients) + list_count(&pool->active_clients);
			snprintf(v[0], 64, "%s", pool->admin ? "pgbouncer" : pool->db.name);
			snprintf(v[1], 64, "%s", pool->user);
			snprintf(v[2], 64, "%d", cl_active);
			snprintf(v[3], 64, "%d", waiting);
			/* PgBouncer 1.18: sv_used = idle but due for server_check_query; sv_tested = running it or the reset */
			for (List *s = node->active_servers.next; s != &node->active_servers; s = s->next)
				if (container_of(s, Server, list_node)->state == SV_RESET)
					sv_tested++;
			for (List *s = node->idle_servers.next; s != &node->idle_servers; s = s->next)
				if (server_needs_check(container_of(s, Server, list_node), now))
					sv_used++;
			if (pool->admin)
				memset(&cancels, 0, sizeof(cancels));
			else
				server_cancel_counts(pool, i, &cancels);
			snprintf(v[4], 64, "%d", cancels.cl_active_cancel_req);
			snprintf(v[5], 64, "%d", cancels.cl_waiting_cancel_req);
			snprintf(v[6], 64, "%d", list_count(&node->active_servers) - sv_tested);
			snprintf(v[7], 64, "%d", cancels.sv_active_cancel);
			snprintf(v[8], 64, "%d", cancels.sv_being_canceled);
			snprintf(v[9], 64, "%d", list_count(&node->idle_servers) - sv_used);
			snprintf(v[10], 64, "%d", sv_used);
			snprintf(v[11], 64, "%d", sv_tested);
			snprintf(v[12], 64, "%d", list_count(&node->login_servers));
			snprintf(v[13], 64, "%llu", (unsigned long long) (pool->max_wait_us / 1000000));
			snprintf(v[14], 64, "%llu", (unsigned long long) (pool->max_wait_us % 1000000));
			snprintf(v[15], 64, "%s", pool->admin ? "statement" : cf.pool_mode == POOL_SESSION ? "session" : "transaction");
			snprintf(v[16], 64, "%d", i);
			snprintf(v[17], 64, "%s", node->role == NODE_PRIMARY ? "primary" : "replica");
			snprintf(v[18], 64, "%s", node->host);
			snprintf(v[19], 64, "%d", node->port);
			for (int c = 0; c < 20; c++)
				values[c] = v[c];
			result_row(&res, values);
		}
	}
	return result_end(&res, NULL);
}

/*
 * Per-host routing columns of SHOW DATABASES and SHOW STATS (docs/routing.md): one value per host of a
 * [databases] entry, in node order (node 0 = the configured primary, then replicas= in order), joined
 * with ','. hosts, roles (verified: primary/replica/unknown), statuses, LSNs (replay LSN on a replica),
 * lag in bytes and ms (-1 = unknown), reads and writes routed. Without a pool yet (no client has used
 * the entry) or without replicas (no health checks) roles are the configured ones, statuses
 * "unchecked", LSNs empty and lags -1.
 */
#define HOST_COLS 7
#define HOST_LIST_MAX 1024

typedef struct HostLists
{
	char		v[HOST_COLS][HOST_LIST_MAX];
} HostLists;

/* routing_pool_of: a pool of [databases] entry name (the one holding its RoutingSet if any). */
static const Pool *
routing_pool_of(const char *name)
{
	const Pool *found = NULL;

	for (List *it = pool_list.next; it != &pool_list; it = it->next)
	{
		const Pool *pool = container_of(it, Pool, pool_node);

		if (pool->admin || strcmp(pool->db.name, name) != 0)
			continue;
		if (pool->routing)
			return pool;
		if (!found)
			found = pool;
	}
	return found;
}

static void
host_lists(HostLists *out, const DatabaseEntry *db, const Pool *pool)
{
	int			n = db->patroni[0] ? POOL_MAX_NODES : 1 + db->n_replicas;
	bool		first = true;

	memset(out, 0, sizeof(*out));
	if (n > POOL_MAX_NODES)
		n = POOL_MAX_NODES;
	for (int i = 0; i < n; i++)
	{
		char		item[HOST_COLS][CF_HOST_MAX + 16];
		RoutingNodeInfo info;

		routing_node_info(pool && i < pool->n_nodes ? pool : NULL, i, &info);
		if (db->patroni[0])		/* Patroni discovery: the members the pool has now */
		{
			if (!pool || i >= pool->n_nodes || pool->nodes[i].vacant)
				continue;
			snprintf(item[0], sizeof(item[0]), "%s:%d", pool->nodes[i].host, pool->nodes[i].port);
		}
		else if (i == 0)
			snprintf(item[0], sizeof(item[0]), "%s:%d", db->host, db->port);
		else
			snprintf(item[0], sizeof(item[0]), "%s:%d", db->replica_host[i - 1], db->replica_port[i - 1]);
		snprintf(item[1], sizeof(item[1]), "%s", info.role);
		snprintf(item[2], sizeof(item[2]), "%s", info.status);
		snprintf(item[3], sizeof(item[3]), "%s", info.lsn);
		snprintf(item[4], sizeof(item[4]), "%lld", (long long) info.lag_bytes);
		snprintf(item[5], sizeof(item[5]), "%ld", info.lag_ms);
		snprintf(item[6], sizeof(item[6]), "%llu/%llu", (unsigned long long) info.reads,
				 (unsigned long long) info.writes);
		for (int c = 0; c < HOST_COLS; c++)
		{
			size_t		used = strlen(out->v[c]);

			if (used < HOST_LIST_MAX)
				snprintf(out->v[c] + used, HOST_LIST_MAX - used, "%s%s", first ? "" : ",", item[c]);
		}
		first = false;
	}
}

/* same_database: a and b are pools of one SHOW STATS row (the admin console's pools form their own). */
static bool
same_database(const Pool *a, const Pool *b)
{
	return a->admin == b->admin && strcmp(a->db.name, b->db.name) == 0;
}

static int
compare_pool_database(const void *a, const void *b)
{
	const Pool *pa = *(const Pool *const *) a;
	const Pool *pb = *(const Pool *const *) b;

	if (pa->admin != pb->admin)
		return pa->admin ? 1 : -1;
	return strcmp(pa->db.name, pb->db.name);
}

/*
 * pools_by_database: every pool, sorted so that the pools of one database are adjacent: SHOW STATS
 * and SHOW ROUTING group them in one pass, n log n in the number of pools (a nested scan per pool was
 * quadratic, and blocked the loop for seconds with many pools). malloc'ed (free it); NULL with *n = 0
 * when there is no pool or no memory (the SHOW then lists nothing).
 */
static Pool **
pools_by_database(int *n)
{
	int			count = 0;
	Pool	  **sorted;

	*n = 0;
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
		count++;
	if (count == 0 || !(sorted = malloc(sizeof(Pool *) * count)))
		return NULL;
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
		sorted[(*n)++] = container_of(it, Pool, pool_node);
	qsort(sorted, *n, sizeof(Pool *), compare_pool_database);
	return sorted;
}

static bool
show_stats(Client *client)
{
	static const char *const names[] = {"database", "total_xact_count", "total_query_count", "total_received",
		"total_sent", "total_xact_time", "total_query_time", "total_wait_time", "avg_xact_count",
		"avg_query_count", "avg_recv", "avg_sent", "avg_xact_time", "avg_query_time", "avg_wait_time",
		"total_requests", "avg_req", "total_errors", "total_rate_limited", "total_rate_delayed", "hosts",
		"host_reads_writes"};
	uint32_t	types[22];
	Result		res;
	Pool	  **sorted;
	int			n_pools;
	HostLists	hl;

	types[0] = T_TEXT;
	for (int i = 1; i < 20; i++)
		types[i] = T_NUMERIC;
	types[20] = types[21] = T_TEXT;
	result_begin(&res, client, 22, names, types);
	/* one row per database: pools of the same name (adjacent once sorted) are summed */
	sorted = pools_by_database(&n_pools);
	for (int first = 0, next; first < n_pools; first = next)
	{
		Pool	   *pool = sorted[first];
		const Pool *routed = pool;
		PoolStats	sum;
		char		v[20][32];
		const char *values[22];

		memset(&sum, 0, sizeof(sum));
		for (next = first; next < n_pools && same_database(sorted[next], pool); next++)
		{
			stats_add(&sum.total, &sorted[next]->stats.total);
			stats_add(&sum.avg, &sorted[next]->stats.avg);
			if (sorted[next]->routing && !routed->routing)
				routed = sorted[next];
		}
		snprintf(v[0], 32, "%s", pool->admin ? "pgbouncer" : pool->db.name);
		fmt_u64(v[1], 32, sum.total.xact_count);
		fmt_u64(v[2], 32, sum.total.query_count);
		fmt_u64(v[3], 32, sum.total.bytes_recv);
		fmt_u64(v[4], 32, sum.total.bytes_sent);
		fmt_u64(v[5], 32, sum.total.xact_time_us);
		fmt_u64(v[6], 32, sum.total.query_time_us);
		fmt_u64(v[7], 32, sum.total.wait_time_us);
		fmt_u64(v[8], 32, sum.avg.xact_count);
		fmt_u64(v[9], 32, sum.avg.query_count);
		fmt_u64(v[10], 32, sum.avg.bytes_recv);
		fmt_u64(v[11], 32, sum.avg.bytes_sent);
		fmt_u64(v[12], 32, sum.avg.xact_time_us);
		fmt_u64(v[13], 32, sum.avg.query_time_us);
		fmt_u64(v[14], 32, sum.avg.wait_time_us);
		fmt_u64(v[15], 32, sum.total.query_count);
		fmt_u64(v[16], 32, sum.avg.query_count);
		fmt_u64(v[17], 32, sum.total.errors);
		fmt_u64(v[18], 32, pool->admin ? 0 : ratelimit_rejected(pool->db.name));
		fmt_u64(v[19], 32, pool->admin ? 0 : ratelimit_delayed(pool->db.name));
		for (int c = 0; c < 20; c++)
			values[c] = v[c];
		if (pool->admin)
			values[20] = values[21] = "";
		else
		{
			host_lists(&hl, &pool->db, routed);
			values[20] = hl.v[0];
			values[21] = hl.v[6];
		}
		result_row(&res, values);
	}
	free(sorted);
	return result_end(&res, NULL);
}

#define CONN_COLS 21
#define SERVER_EXTRA_COLS 5

static const char *const conn_names[CONN_COLS] = {"type", "user", "database", "state", "addr", "port",
	"local_addr", "local_port", "connect_time", "request_time", "wait", "wait_us", "close_needed", "ptr",
	"link", "remote_pid", "tls", "application_name", "node", "prepared_statements", "tx_status"};
static const uint32_t conn_types[CONN_COLS] = {T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT4, T_TEXT, T_INT4,
	T_TEXT, T_TEXT, T_INT4, T_INT4, T_INT4, T_TEXT, T_TEXT, T_INT4, T_TEXT, T_TEXT, T_INT4, T_INT4, T_TEXT};

/*
 * SHOW SERVERS only: after the common columns, the server's node as routing sees it (docs/routing.md):
 * verified role, host:port, LSN at the last health check (replay LSN on a replica), lag.
 */
static const char *const server_extra_names[SERVER_EXTRA_COLS] = {"node_role", "node_host", "node_lsn",
	"node_lag_bytes", "node_lag_ms"};
static const uint32_t server_extra_types[SERVER_EXTRA_COLS] = {T_TEXT, T_TEXT, T_TEXT, T_INT8, T_INT8};

/*
 * conn_row: the SHOW CLIENTS/SERVERS row of one connection; extra (n_extra values) is appended after
 * the common columns.
 */
static void
conn_row(Result *res, const Conn *conn, char type, const char *user, const char *db, const char *state,
		 uint64_t connect_time, uint64_t request_time, uint64_t wait_us, bool close_needed, const void *link,
		 uint32_t remote_pid, const char *app, int node, int n_prepared, char tx_status,
		 int n_extra, const char *const *extra)
{
	char		v[CONN_COLS][96];
	const char *values[CONN_COLS + SERVER_EXTRA_COLS];
	struct sockaddr_storage local;
	socklen_t	len = sizeof(local);
	Conn		tmp;

	memset(&tmp, 0, sizeof(tmp));
	if (conn->fd >= 0 && getsockname(conn->fd, (struct sockaddr *) &local, &len) == 0)
		conn_set_addr(&tmp, (struct sockaddr *) &local);
	snprintf(v[0], 96, "%c", type);
	snprintf(v[1], 96, "%s", user);
	snprintf(v[2], 96, "%s", db);
	snprintf(v[3], 96, "%s", state);
	snprintf(v[4], 96, "%s", conn->addr);
	snprintf(v[5], 96, "%d", conn->port);
	snprintf(v[6], 96, "%s", tmp.addr);
	snprintf(v[7], 96, "%d", tmp.port);
	fmt_time(v[8], 96, connect_time);
	fmt_time(v[9], 96, request_time);
	snprintf(v[10], 96, "%llu", (unsigned long long) (wait_us / 1000000));
	snprintf(v[11], 96, "%llu", (unsigned long long) (wait_us % 1000000));
	snprintf(v[12], 96, "%d", close_needed ? 1 : 0);
	snprintf(v[13], 96, "%p", (const void *) conn);
	if (link)
		snprintf(v[14], 96, "%p", link);
	else
		v[14][0] = '\0';
	snprintf(v[15], 96, "%u", remote_pid);
	snprintf(v[16], 96, "%s", tls_describe(conn));
	snprintf(v[17], 96, "%s", app ? app : "");
	snprintf(v[18], 96, "%d", node);
	snprintf(v[19], 96, "%d", n_prepared);
	snprintf(v[20], 96, "%c", tx_status ? tx_status : 'I');
	for (int c = 0; c < CONN_COLS; c++)
		values[c] = v[c];
	for (int c = 0; c < n_extra && c < SERVER_EXTRA_COLS; c++)
		values[CONN_COLS + c] = extra[c];
	result_row(res, values);
}

static bool
show_clients(Client *client)
{
	Result		res;
	List	   *it;
	uint64_t	now = conn_now_usec();

	result_begin(&res, client, CONN_COLS, conn_names, conn_types);
	for (it = client_all_list.next; it != &client_all_list && !res.failed; it = it->next)
	{
		Client	   *c = container_of(it, Client, all_node);

		conn_row(&res, &c->conn, 'C', c->user, c->admin ? "pgbouncer" : c->dbname, client_state_name(c),
				 c->connect_time, c->request_time, c->state == CL_WAITING ? now - c->request_time : 0, false,
				 c->server ? (const void *) &c->server->conn : NULL, c->cancel_pid, c->application_name,
				 c->state == CL_WAITING ? c->wait_node : c->server ? c->server->node : 0,
				 prepared_client_count(&c->stmts), c->tx_status, 0, NULL);
	}
	return result_end(&res, NULL);
}

static bool
show_servers(Client *client)
{
	const char *names[CONN_COLS + SERVER_EXTRA_COLS];
	uint32_t	types[CONN_COLS + SERVER_EXTRA_COLS];
	Result		res;
	List	   *it;

	for (int c = 0; c < CONN_COLS; c++)
	{
		names[c] = conn_names[c];
		types[c] = conn_types[c];
	}
	for (int c = 0; c < SERVER_EXTRA_COLS; c++)
	{
		names[CONN_COLS + c] = server_extra_names[c];
		types[CONN_COLS + c] = server_extra_types[c];
	}
	result_begin(&res, client, CONN_COLS + SERVER_EXTRA_COLS, names, types);
	for (it = server_all_list.next; it != &server_all_list && !res.failed; it = it->next)
	{
		Server	   *s = container_of(it, Server, all_node);
		char		ev[SERVER_EXTRA_COLS][CF_HOST_MAX + 16];
		const char *extra[SERVER_EXTRA_COLS];
		RoutingNodeInfo info;
		int			node = s->node >= 0 && s->node < s->pool->n_nodes ? s->node : 0;

		routing_node_info(s->pool, node, &info);
		snprintf(ev[0], sizeof(ev[0]), "%s", info.role);
		snprintf(ev[1], sizeof(ev[1]), "%s:%d", s->pool->nodes[node].host, s->pool->nodes[node].port);
		snprintf(ev[2], sizeof(ev[2]), "%s", info.lsn);
		snprintf(ev[3], sizeof(ev[3]), "%lld", (long long) info.lag_bytes);
		snprintf(ev[4], sizeof(ev[4]), "%ld", info.lag_ms);
		for (int c = 0; c < SERVER_EXTRA_COLS; c++)
			extra[c] = ev[c];
		conn_row(&res, &s->conn, 'S', s->pool->user, s->pool->db.name, server_state_name(s), s->connect_time,
				 s->request_time, 0, s->close_needed, s->client ? (const void *) &s->client->conn : NULL,
				 s->backend_pid, s->params.values[PARAM_APPLICATION_NAME], s->node, s->stmts.n_used,
				 s->tx_status, SERVER_EXTRA_COLS, extra);
	}
	return result_end(&res, NULL);
}

static bool
show_databases(Client *client)
{
	static const char *const names[] = {"name", "host", "port", "database", "force_user", "pool_size",
		"min_pool_size", "reserve_pool", "pool_mode", "max_connections", "current_connections", "paused",
		"disabled", "hosts", "host_roles", "host_statuses", "host_lsns", "host_lag_bytes", "host_lag_ms"};
	static const uint32_t types[] = {T_TEXT, T_TEXT, T_INT4, T_TEXT, T_TEXT, T_INT4, T_INT4, T_INT4, T_TEXT,
		T_INT4, T_INT4, T_INT4, T_INT4, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT};
	Result		res;
	HostLists	hl;

	result_begin(&res, client, 19, names, types);
	for (int i = 0; i < cf.n_databases; i++)
	{
		const DatabaseEntry *db = &cf.databases[i];
		char		v[13][CF_HOST_MAX];
		const char *values[19];
		bool		paused = false;
		List	   *it;

		for (it = pool_list.next; it != &pool_list; it = it->next)
		{
			Pool	   *pool = container_of(it, Pool, pool_node);

			if (!pool->admin && strcmp(pool->db.name, db->name) == 0 && pool->paused)
				paused = true;
		}
		snprintf(v[0], sizeof(v[0]), "%s", db->name);
		snprintf(v[1], sizeof(v[1]), "%s", db->host);
		snprintf(v[2], sizeof(v[2]), "%d", db->port);
		snprintf(v[3], sizeof(v[3]), "%s", db->dbname[0] ? db->dbname : db->name);
		snprintf(v[4], sizeof(v[4]), "%s", db->user);
		snprintf(v[5], sizeof(v[5]), "%d", db->pool_size > 0 ? db->pool_size : cf.default_pool_size);
		snprintf(v[6], sizeof(v[6]), "%d", cf.min_pool_size);
		snprintf(v[7], sizeof(v[7]), "%d", cf.reserve_pool_size);
		snprintf(v[8], sizeof(v[8]), "%s", cf.pool_mode == POOL_SESSION ? "session" : "transaction");
		snprintf(v[9], sizeof(v[9]), "%d", cf.max_db_connections);
		snprintf(v[10], sizeof(v[10]), "%d", pool_db_connections(db->name));
		snprintf(v[11], sizeof(v[11]), "%d", paused ? 1 : 0);
		snprintf(v[12], sizeof(v[12]), "0");
		for (int c = 0; c < 13; c++)
			values[c] = v[c];
		host_lists(&hl, db, routing_pool_of(db->name));
		for (int c = 0; c < 6; c++)
			values[13 + c] = hl.v[c];
		if (db->user[0] == '\0')
			values[4] = NULL;
		result_row(&res, values);
	}
	return result_end(&res, NULL);
}

static bool
show_config(Client *client)
{
	static const char *const names[] = {"key", "value", "default", "changeable"};
	static const uint32_t types[] = {T_TEXT, T_TEXT, T_TEXT, T_TEXT};
	Result		res;
	Config		defaults;

	memset(&defaults, 0, sizeof(defaults));
	result_begin(&res, client, 4, names, types);
	for (const ConfigKey *key = config_keys; key->name; key++)
	{
		char		value[CF_STR_MAX];
		char		def[CF_STR_MAX];
		const char *values[4];

		config_value_string(&cf, key, value, sizeof(value));
		/* credentials of the metrics port are shown as set or not, never as text */
		if (value[0] && (strcmp(key->name, "metrics_bearer_token") == 0 ||
						 strcmp(key->name, "metrics_basic_auth") == 0))
			snprintf(value, sizeof(value), "********");
		snprintf(def, sizeof(def), "%s", key->default_value);
		values[0] = key->name;
		values[1] = value;
		values[2] = def;
		values[3] = key->reloadable ? "yes" : "no";
		result_row(&res, values);
	}
	return result_end(&res, NULL);
}

/* show_routing: per database with replicas and node: verified role, health, LSN, lag, routed counts. */
static bool
show_routing(Client *client)
{
	static const char *const names[] = {"database", "node", "host", "port", "configured_role", "role",
		"status", "lsn", "lag_bytes", "lag_ms", "reads", "writes", "source"};
	static const uint32_t types[] = {T_TEXT, T_INT4, T_TEXT, T_INT4, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT8,
		T_INT8, T_INT8, T_INT8, T_TEXT};
	Result		res;
	Pool	  **sorted;
	int			n_pools;
	const struct RoutingSet *shown = NULL;	/* per database name, so its pools are adjacent */

	result_begin(&res, client, 13, names, types);
	/* one set of rows per RoutingSet, which is per database: the first pool of each database that has one */
	sorted = pools_by_database(&n_pools);
	for (int k = 0; k < n_pools; k++)
	{
		Pool	   *pool = sorted[k];

		if (pool->admin || !pool->routing || pool->routing == shown)
			continue;
		shown = pool->routing;
		for (int i = 0; i < pool->n_nodes; i++)
		{
			char		v[12][64];
			const char *values[13];
			RoutingNodeInfo info;

			if (pool->nodes[i].vacant)
				continue;		/* a free slot of Patroni discovery */
			routing_node_info(pool, i, &info);
			snprintf(v[0], 64, "%s", pool->db.name);
			snprintf(v[1], 64, "%d", i);
			snprintf(v[2], 64, "%s", pool->nodes[i].host);
			snprintf(v[3], 64, "%d", pool->nodes[i].port);
			snprintf(v[4], 64, "%s", pool->nodes[i].role == NODE_PRIMARY ? "primary" : "replica");
			snprintf(v[5], 64, "%s", info.role);
			snprintf(v[6], 64, "%s", info.status);
			snprintf(v[7], 64, "%s", info.lsn);
			snprintf(v[8], 64, "%lld", (long long) info.lag_bytes);
			snprintf(v[9], 64, "%ld", info.lag_ms);
			snprintf(v[10], 64, "%llu", (unsigned long long) info.reads);
			snprintf(v[11], 64, "%llu", (unsigned long long) info.writes);
			for (int c = 0; c < 12; c++)
				values[c] = v[c];
			values[12] = info.source;
			result_row(&res, values);
		}
	}
	free(sorted);
	return result_end(&res, NULL);
}

static bool
show_lists(Client *client)
{
	static const char *const names[] = {"list", "items"};
	static const uint32_t types[] = {T_TEXT, T_INT4};
	Result		res;
	int			n_pools = 0;
	int			n_servers = 0;
	int			n_login = list_count(&login_client_list);
	List	   *it;
	struct
	{
		const char *name;
		int			items;
	}			rows[24];
	int			n = 0;

	for (it = pool_list.next; it != &pool_list; it = it->next)
		n_pools++;
	for (it = server_all_list.next; it != &server_all_list; it = it->next)
		n_servers++;
	rows[n].name = "databases", rows[n++].items = cf.n_databases;
	rows[n].name = "users", rows[n++].items = n_pools;
	rows[n].name = "pools", rows[n++].items = n_pools;
	rows[n].name = "free_clients", rows[n++].items = 0;
	rows[n].name = "used_clients", rows[n++].items = client_count;
	rows[n].name = "login_clients", rows[n++].items = n_login;
	rows[n].name = "free_servers", rows[n++].items = 0;
	rows[n].name = "used_servers", rows[n++].items = n_servers;
	rows[n].name = "dns_names", rows[n++].items = 0;
	rows[n].name = "dns_zones", rows[n++].items = 0;
	rows[n].name = "dns_queries", rows[n++].items = 0;
	rows[n].name = "dns_pending", rows[n++].items = 0;
	rows[n].name = "io_buffers_in_use", rows[n++].items = iobuf_in_use();
	rows[n].name = "io_buffers_free", rows[n++].items = iobuf_free_count();
	rows[n].name = "prepared_statements", rows[n++].items = prepared_total();
	rows[n].name = "interned_values", rows[n++].items = params_interned_count();
	rows[n].name = "listen_channels", rows[n++].items = listen_channel_count();
	result_begin(&res, client, 2, names, types);
	for (int i = 0; i < n; i++)
	{
		char		items[16];
		const char *values[2] = {rows[i].name, items};

		snprintf(items, sizeof(items), "%d", rows[i].items);
		result_row(&res, values);
	}
	return result_end(&res, NULL);
}

bool
admin_reload(char *err, size_t errlen)
{
	Config		fresh;
	Config		old = cf;

	if (!config_load(cf.path, &fresh, err, errlen))
		return false;
	/* settings that need a restart keep their running values */
	for (const ConfigKey *key = config_keys; key->name; key++)
	{
		char		a[CF_STR_MAX];
		char		b[CF_STR_MAX];

		config_value_string(&old, key, a, sizeof(a));
		config_value_string(&fresh, key, b, sizeof(b));
		if (!key->reloadable && strcmp(a, b) != 0)
			log_warning("RELOAD: %s changed from \"%s\" to \"%s\" but needs a restart; keeping \"%s\"",
						key->name, a, b, a);
	}
	memcpy(fresh.listen_addr, old.listen_addr, sizeof(fresh.listen_addr));
	fresh.listen_port = old.listen_port;
	memcpy(fresh.unix_socket_dir, old.unix_socket_dir, sizeof(fresh.unix_socket_dir));
	memcpy(fresh.pidfile, old.pidfile, sizeof(fresh.pidfile));
	cf = fresh;
	if (!tls_init(err, errlen))
	{
		/* the running TLS contexts stay, and so does the running configuration */
		config_free(&cf);
		cf = old;
		return false;
	}
	if (!login_reload(err, errlen))
	{
		char		tls_err[256];

		config_free(&cf);
		cf = old;
		if (!tls_init(tls_err, sizeof(tls_err)))	/* back to the old contexts (they loaded before) */
			log_warning("RELOAD: cannot rebuild the previous TLS contexts: %s", tls_err);
		return false;
	}
	config_free(&old);
	if (!log_open(cf.logfile))
		log_warning("RELOAD: cannot open logfile %s; logging to stderr", cf.logfile);
	log_verbose = cf.verbose;
	pool_reload(&cf);
	listener_warn_trust();
	log_info("configuration reloaded from %s", cf.path);
	return true;
}

void
admin_shutdown(bool immediate)
{
	List	   *it;

	if (immediate)
	{
		log_info("shutting down now");
		event_base_loopbreak(conn_base);
		return;
	}
	if (pool_shutting_down)
		return;
	log_info("shutting down gracefully: no new transactions; waiting up to %ld ms for running ones",
			 cf.shutdown_timeout_ms);
	pool_shutting_down = true;
	shutdown_deadline = conn_now_usec() + (uint64_t) cf.shutdown_timeout_ms * 1000;
	listener_stop();
	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);
		List	   *ct;
		List	   *tmp;

		list_for_each_safe(ct, tmp, &pool->idle_clients)
		{
			Client	   *c = container_of(ct, Client, list_node);

			/* an admin client that asked for the shutdown gets its answer first */
			client_close(c, "57P01", "the pooler is shutting down", "Reconnect to another pooler or later.");
		}
		list_for_each_safe(ct, tmp, &pool->welcome_clients)
			client_close(container_of(ct, Client, list_node), "57P01", "the pooler is shutting down",
						 "Reconnect to another pooler or later.");
		for (int i = 0; i < pool->n_nodes; i++)
		{
			list_for_each_safe(ct, tmp, &pool->nodes[i].waiting_clients)
				client_close(container_of(ct, Client, list_node), "57P01", "the pooler is shutting down",
							 "Reconnect to another pooler or later.");
			list_for_each_safe(ct, tmp, &pool->nodes[i].idle_servers)
				server_close(container_of(ct, Server, list_node), "shutting down");
		}
	}
	admin_janitor();
}

void
admin_janitor(void)
{
	List	   *it;

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);
		List	   *ct;
		List	   *tmp;

		if (!pool->admin)
			continue;
		list_for_each_safe(ct, tmp, &pool->idle_clients)
		{
			Client	   *c = container_of(ct, Client, list_node);

			if (c->admin_pausing && pool_active_servers(c->pause_db[0] ? c->pause_db : NULL) == 0)
			{
				c->admin_pausing = false;
				if (command_done(c, "PAUSE") && client_flush(c))
				{
					conn_set_read(&c->conn, true);
					client_resume(c);
				}
			}
		}
	}
	if (pool_shutting_down)
	{
		bool		busy = false;

		for (it = pool_list.next; it != &pool_list; it = it->next)
		{
			Pool	   *pool = container_of(it, Pool, pool_node);

			if (!pool->admin && !list_empty(&pool->active_clients))
				busy = true;
		}
		if (!busy || conn_now_usec() >= shutdown_deadline)
		{
			log_info(busy ? "shutdown_timeout reached with transactions still running: exiting" :
					 "no transaction running: exiting");
			event_base_loopbreak(conn_base);
		}
	}
}

/* next_word: the next identifier-like word of a command (copied, truncated to len - 1 bytes, into buf). */
static const char *
next_word(const char *p, char *buf, size_t len)
{
	size_t		n = 0;

	while (isspace((unsigned char) *p))
		p++;
	while (*p && !isspace((unsigned char) *p) && *p != ';')
	{
		if (n + 1 < len)
			buf[n++] = *p;
		p++;
	}
	buf[n] = '\0';
	return p;
}

void
admin_parse(const char *query, AdminWords *words)
{
	const char *p = next_word(query, words->cmd, sizeof(words->cmd));

	p = next_word(p, words->arg, sizeof(words->arg));
	next_word(p, words->extra, sizeof(words->extra));
}

static bool
admin_error(Client *client, const char *sqlstate, const char *message, const char *hint)
{
	return client_send_error(client, sqlstate, message, hint, true);
}

/* show_commands: each SHOW command's name (matched ignoring case) and the function that answers it. */
static const struct
{
	const char *name;
	bool		(*show) (Client *client);
}			show_commands[] = {
	{"VERSION", show_version},
	{"POOLS", show_pools},
	{"STATS", show_stats},
	{"CLIENTS", show_clients},
	{"SERVERS", show_servers},
	{"DATABASES", show_databases},
	{"CONFIG", show_config},
	{"LISTS", show_lists},
	{"ROUTING", show_routing},
};

/* admin_query: one console command. */
static bool
admin_query(Client *client, const char *query)
{
	AdminWords	words;
	const char *cmd = words.cmd;
	const char *arg = words.arg;

	admin_parse(query, &words);
	if (cmd[0] == '\0')
		return command_done(client, "EMPTY");
	if (strcasecmp(cmd, "SHOW") == 0)
	{
		for (size_t i = 0; i < sizeof(show_commands) / sizeof(show_commands[0]); i++)
			if (strcasecmp(arg, show_commands[i].name) == 0)
				return show_commands[i].show(client);
		return admin_error(client, "42601", "unknown SHOW command",
						   "Use SHOW POOLS, STATS, SERVERS, CLIENTS, DATABASES, CONFIG, LISTS, ROUTING or VERSION.");
	}
	if (!client->admin_full)
		return admin_error(client, "42501", "only admin_users may run this command",
						   "stats_users may run SHOW commands only.");
	if (strcasecmp(cmd, "RELOAD") == 0)
	{
		char		err[CF_ERR_MAX];

		if (!admin_reload(err, sizeof(err)))
			return admin_error(client, "F0000", err, "Fix the configuration file and RELOAD again.");
		return command_done(client, "RELOAD");
	}
	if (strcasecmp(cmd, "PAUSE") == 0)
	{
		pool_set_paused(arg[0] ? arg : NULL, true);
		snprintf(client->pause_db, sizeof(client->pause_db), "%s", arg);
		if (pool_active_servers(arg[0] ? arg : NULL) == 0)
			return command_done(client, "PAUSE");
		client->admin_pausing = true;	/* answered by admin_janitor once the servers are released */
		return true;
	}
	if (strcasecmp(cmd, "RESUME") == 0)
	{
		pool_set_paused(arg[0] ? arg : NULL, false);
		return command_done(client, "RESUME");
	}
	if (strcasecmp(cmd, "KILL") == 0)
	{
		if (!arg[0])
			return admin_error(client, "42601", "KILL needs a database name", "Write KILL dbname.");
		pool_kill(arg);
		return command_done(client, "KILL");
	}
	if (strcasecmp(cmd, "SHUTDOWN") == 0)
	{
		if (!command_done(client, "SHUTDOWN"))
			return false;
		(void) client_flush(client);
		admin_shutdown(true);
		return true;
	}
	return admin_error(client, "42601", "unknown admin command",
					   "Commands: SHOW ..., RELOAD, PAUSE [db], RESUME [db], KILL db, SHUTDOWN.");
}

bool
admin_handle(Client *client, char type, const uint8_t *msg, uint32_t total)
{
	const char *query;
	bool		ok;

	if (client->admin_pausing)
		return false;			/* hold further commands until PAUSE is answered */
	if (type != 'Q' || !proto_read_query(msg, total, &query))
	{
		client_close(client, "08P01", "the admin console supports only simple queries",
					 "Use psql or a driver in simple-query mode against the admin console.");
		return false;
	}
	ok = admin_query(client, query);
	if (!ok)
	{
		client_close(client, "53200", "out of memory for the admin console's answer", NULL);
		return false;
	}
	return client->state != CL_FREE;
}
