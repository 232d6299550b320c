/*
 * admin_show.c: owns the admin console's SHOW commands. Each has PgBouncer 1.25's columns first (same
 * names, order and types; src/admin.c and src/stats.c of pgbouncer_1_25_2 are the reference) and
 * faregate's own columns after them; SHOW LISTS, TOTALS and STATE have PgBouncer's rows first. What a
 * column means where faregate-pooler's design differs (no DNS cache, no online takeover) is in
 * docs/pooler.md's admin console section. The per-socket SHOWs (CLIENTS, SERVERS, SOCKETS,
 * ACTIVE_SOCKETS, FDS) are admin_sockets.c's. Also owns the result-set writer both share with admin.c.
 */
#include "admin_show.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "admin.h"
#include "client.h"
#include "clientlimit.h"
#include "config.h"
#include "dns.h"
#include "hostlist.h"
#include "iobuf.h"
#include "notify.h"
#include "log.h"
#include "login.h"
#include "params.h"
#include "peer.h"
#include "pool.h"
#include "prepared.h"
#include "proto.h"
#include "ratelimit.h"
#include "routing.h"
#include "server.h"
#include "slab.h"
#include "tls.h"
#include "version.h"

/* type OIDs of the columns, as PgBouncer declares them (its 'T' timestamps are text too) */
#define T_TEXT 25
#define T_BYTEA 17
#define T_INT4 23
#define T_INT8 20
#define T_NUMERIC 1700

#define N_ELEM(a) ((int) (sizeof(a) / sizeof((a)[0])))

/* load_balance_hosts_value: SHOW DATABASES' and POOLS' column: NULL without a host list, as PgBouncer. */
static const char *
load_balance_hosts_value(const DatabaseEntry *db)
{
	if (!hostlist_is_list(db->host))
		return NULL;
	return db->load_balance_hosts == LB_HOSTS_DISABLE ? "disable" : "round-robin";
}
static bool
send_pkt(Client *client, PktBuf *pkt)
{
	return !pkt->failed && client_send_bytes(client, pkt->data, pkt->len);
}

void
admin_result_begin(AdminResult *res, Client *client, int n, const char *const *names, const uint32_t *types)
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

void
admin_result_row(AdminResult *res, const char *const *values)
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

bool
admin_result_end(AdminResult *res)
{
	return !res->failed && admin_command_done(res->client, "SHOW");
}

bool
admin_command_done(Client *client, const char *tag)
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

void
admin_fmt_time(char *buf, size_t len, uint64_t usec)
{
	time_t		secs = (time_t) (usec / 1000000);
	struct tm	tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

#define pool_mode_name config_pool_mode_name

static bool
show_version(Client *client)
{
	static const char *const names[] = {"version"};
	static const uint32_t types[] = {T_TEXT};
	const char *values[1] = {FAREGATE_POOLER_VERSION_LINE};
	AdminResult		res;

	admin_result_begin(&res, client, 1, names, types);
	admin_result_row(&res, values);
	return admin_result_end(&res);
}

/*
 * show_help: PgBouncer answers SHOW HELP with a NOTICE listing the commands and an empty result; so
 * does faregate (its NOTICE names faregate's commands too).
 */
static bool
show_help(Client *client)
{
	uint8_t		data[2048];
	char		text[1536];
	PktBuf		pkt;

	snprintf(text, sizeof(text),
			 "\n\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION\n"
			 "\tSHOW PEERS|PEER_POOLS\n"
			 "\tSHOW FDS|SOCKETS|ACTIVE_SOCKETS|LISTS|MEM|STATE\n"
			 "\tSHOW DNS_HOSTS|DNS_ZONES\n"
			 "\tSHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS\n"
			 "\tSHOW ROUTING (faregate)\n"
			 "\tSET key = arg\n\tRELOAD\n\tPAUSE [<db>]\n\tRESUME [<db>]\n\tDISABLE <db>\n\tENABLE <db>\n"
			 "\tRECONNECT [<db>]\n\tKILL [<db>]\n\tKILL_CLIENT <client_id>\n\tSUSPEND\n\tSHUTDOWN\n"
			 "\tSHUTDOWN WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS\n\tWAIT_CLOSE [<db>]");
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_error(&pkt, 'N', "NOTICE", "00000", "Console usage", text);
	if (!send_pkt(client, &pkt))
		return false;
	return admin_command_done(client, "SHOW");
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

/* show_pools: PgBouncer 1.25's 17 columns, then node, role, host, port (one row per pool node). */
static bool
show_pools(Client *client)
{
	static const char *const names[] = {"database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req",
		"cl_waiting_cancel_req", "sv_active", "sv_active_cancel", "sv_being_canceled", "sv_idle", "sv_used",
		"sv_tested", "sv_login", "maxwait", "maxwait_us", "pool_mode", "load_balance_hosts",
		"node", "role", "host", "port"};
	static const uint32_t types[] = {T_TEXT, T_TEXT, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4,
		T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_TEXT, T_TEXT, T_INT4, T_TEXT, T_TEXT, T_INT4};
	enum
	{
		NC = N_ELEM(names)
	};
	AdminResult		res;
	List	   *it;

	admin_result_begin(&res, client, NC, names, types);
	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		for (int i = 0; i < pool->n_nodes; i++)
		{
			PoolNode   *node = &pool->nodes[i];
			char		v[NC][64];
			const char *values[NC];
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
			/* sv_used = idle but due for server_check_query; sv_tested = running it or the reset */
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
			snprintf(v[15], 64, "%s", pool->admin ? "statement" : pool_mode_name(pool_mode_of(pool)));
			snprintf(v[17], 64, "%d", i);
			snprintf(v[18], 64, "%s", node->role == NODE_PRIMARY ? "primary" : "replica");
			snprintf(v[19], 64, "%s", node->host);
			snprintf(v[20], 64, "%d", node->port);
			for (int c = 0; c < NC; c++)
				values[c] = v[c];
			values[16] = load_balance_hosts_value(&pool->db);
			admin_result_row(&res, values);
		}
	}
	return admin_result_end(&res);
}

/*
 * show_peer_pools: cancel requests this process forwards to each peer (peer.c): a forwarded request is
 * a one-shot connection, so "waiting" and "login" are those still connecting; then faregate's
 * forwarded_cancels, how many were sent since start.
 */
static bool
show_peer_pools(Client *client)
{
	static const char *const names[] = {"peer_id", "cl_active_cancel_req", "cl_waiting_cancel_req",
		"sv_active_cancel", "sv_login", "forwarded_cancels"};
	static const uint32_t types[] = {T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_INT8};
	AdminResult		res;

	admin_result_begin(&res, client, 6, names, types);
	for (int i = 0; i < peer_count(); i++)
	{
		const Peer *peer = peer_at(i);
		char		v[6][16];
		const char *values[6];

		snprintf(v[0], 16, "%d", peer->id);
		snprintf(v[1], 16, "0");
		snprintf(v[2], 16, "%d", peer->n_connecting);
		snprintf(v[3], 16, "0");
		snprintf(v[4], 16, "%d", peer->n_connecting);
		snprintf(v[5], 16, "%d", peer->n_sent);
		for (int c = 0; c < 6; c++)
			values[c] = v[c];
		admin_result_row(&res, values);
	}
	return admin_result_end(&res);
}

static bool
show_peers(Client *client)
{
	static const char *const names[] = {"peer_id", "host", "port", "pool_size"};
	static const uint32_t types[] = {T_INT4, T_TEXT, T_INT4, T_INT4};
	AdminResult		res;

	admin_result_begin(&res, client, 4, names, types);
	for (int i = 0; i < peer_count(); i++)
	{
		const Peer *peer = peer_at(i);
		char		v[3][16];
		const char *values[4];

		snprintf(v[0], 16, "%d", peer->id);
		snprintf(v[1], 16, "%d", peer->port);
		snprintf(v[2], 16, "%d", peer->pool_size);
		values[0] = v[0];
		values[1] = peer->host;
		values[2] = v[1];
		values[3] = v[2];
		admin_result_row(&res, values);
	}
	return admin_result_end(&res);
}

/*
 * pools_sorted: every pool in a malloc'ed array (free it), sorted by cmp so that the pools of one SHOW
 * row are adjacent: SHOW STATS, ROUTING, USERS and LISTS group them in one pass, n log n in the number
 * of pools (a nested scan per pool was quadratic and blocked the loop for seconds with many pools).
 * NULL with *n = 0 when there is no pool or no memory (the SHOW then lists nothing).
 */
static Pool **
pools_sorted(int *n, int (*cmp) (const void *, const void *))
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
	qsort(sorted, *n, sizeof(Pool *), cmp);
	return sorted;
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

static int
compare_pool_user(const void *a, const void *b)
{
	return strcmp((*(const Pool *const *) a)->user, (*(const Pool *const *) b)->user);
}

/*
 * StatsRow: the counters of one database (its pools summed): totals, per-second averages, and what
 * the rate limiter refused and delayed.
 */
typedef struct StatsRow
{
	const Pool *first;			/* the first pool of the database (name, admin) */
	const Pool *routed;			/* its pool with a routing set, if any (host lists) */
	StatCounters total;
	StatCounters avg;
} StatsRow;

/* StatsIter: the pools sorted by database, and the position of the next database's first pool. */
typedef struct StatsIter
{
	Pool	  **sorted;
	int			n;
	int			pos;
} StatsIter;

static void
stats_begin(StatsIter *iter)
{
	iter->sorted = pools_sorted(&iter->n, compare_pool_database);
	iter->pos = 0;
}

static void
stats_end(StatsIter *iter)
{
	free(iter->sorted);
}

/* stats_next: the row of the next database (each database once). */
static bool
stats_next(StatsIter *iter, StatsRow *row)
{
	Pool	   *pool;

	if (iter->pos >= iter->n)
		return false;
	pool = iter->sorted[iter->pos];
	memset(row, 0, sizeof(*row));
	row->first = row->routed = pool;
	for (; iter->pos < iter->n && same_database(iter->sorted[iter->pos], pool); iter->pos++)
	{
		const Pool *other = iter->sorted[iter->pos];

		stats_add(&row->total, &other->stats.total);
		stats_add(&row->avg, &other->stats.avg);
		if (other->routing && !row->routed->routing)
			row->routed = other;
	}
	return true;
}

static const char *
stats_db_name(const StatsRow *row)
{
	return row->first->admin ? "pgbouncer" : row->first->db.name;
}

/* the eleven counters of SHOW STATS_TOTALS / STATS_AVERAGES / TOTALS, in PgBouncer 1.25's order */
static void
stats_counters(const StatCounters *c, char v[11][32])
{
	fmt_u64(v[0], 32, c->server_assignments);
	fmt_u64(v[1], 32, c->xact_count);
	fmt_u64(v[2], 32, c->query_count);
	fmt_u64(v[3], 32, c->bytes_recv);
	fmt_u64(v[4], 32, c->bytes_sent);
	fmt_u64(v[5], 32, c->xact_time_us);
	fmt_u64(v[6], 32, c->query_time_us);
	fmt_u64(v[7], 32, c->wait_time_us);
	fmt_u64(v[8], 32, c->client_parses);
	fmt_u64(v[9], 32, c->server_parses);
	fmt_u64(v[10], 32, c->binds);
}

/*
 * show_stats: database, PgBouncer 1.25's eleven total_* and eleven avg_* columns, then faregate's:
 * total_requests and avg_req (1.18's names of the query counts, which prometheus-pgbouncer-exporter 1.7
 * reads), total_errors, total_rate_limited, total_rate_delayed, hosts, host_reads_writes.
 */
static bool
show_stats(Client *client)
{
	static const char *const names[] = {"database", "total_server_assignment_count", "total_xact_count",
		"total_query_count", "total_received", "total_sent", "total_xact_time", "total_query_time",
		"total_wait_time", "total_client_parse_count", "total_server_parse_count", "total_bind_count",
		"avg_server_assignment_count", "avg_xact_count", "avg_query_count", "avg_recv", "avg_sent",
		"avg_xact_time", "avg_query_time", "avg_wait_time", "avg_client_parse_count",
		"avg_server_parse_count", "avg_bind_count",
		"total_requests", "avg_req", "total_errors", "total_rate_limited", "total_rate_delayed", "hosts",
		"host_reads_writes"};
	enum
	{
		NC = N_ELEM(names)
	};
	uint32_t	types[NC];
	AdminResult		res;
	StatsIter	iter;
	StatsRow	row;
	HostLists	hl;

	types[0] = T_TEXT;
	for (int i = 1; i < NC; i++)
		types[i] = T_NUMERIC;
	types[NC - 2] = types[NC - 1] = T_TEXT;
	admin_result_begin(&res, client, NC, names, types);
	stats_begin(&iter);
	while (stats_next(&iter, &row))
	{
		char		v[28][32];
		const char *values[NC];
		const Pool *pool = row.first;

		values[0] = stats_db_name(&row);
		stats_counters(&row.total, v);
		stats_counters(&row.avg, v + 11);
		fmt_u64(v[22], 32, row.total.query_count);
		fmt_u64(v[23], 32, row.avg.query_count);
		fmt_u64(v[24], 32, row.total.errors);
		fmt_u64(v[25], 32, pool->admin ? 0 : ratelimit_rejected(pool->db.name));
		fmt_u64(v[26], 32, pool->admin ? 0 : ratelimit_delayed(pool->db.name));
		for (int c = 0; c < 27; c++)
			values[1 + c] = v[c];
		if (pool->admin)
			values[NC - 2] = values[NC - 1] = "";
		else
		{
			host_lists(&hl, &pool->db, row.routed);
			values[NC - 2] = hl.v[0];
			values[NC - 1] = hl.v[6];
		}
		admin_result_row(&res, values);
	}
	stats_end(&iter);
	return admin_result_end(&res);
}

/* show_stats_part: SHOW STATS_TOTALS (avg false) or STATS_AVERAGES (avg true). */
static bool
show_stats_part(Client *client, bool avg)
{
	static const char *const totals[] = {"database", "server_assignment_count", "xact_count", "query_count",
		"bytes_received", "bytes_sent", "xact_time", "query_time", "wait_time", "client_parse_count",
		"server_parse_count", "bind_count"};
	static const char *const avgs[] = {"database", "server_assignment_count", "xact_count", "query_count",
		"bytes_received", "bytes_sent", "xact_time", "query_time", "wait_time", "avg_client_parse_count",
		"avg_server_parse_count", "avg_bind_count"};
	uint32_t	types[12];
	AdminResult		res;
	StatsIter	iter;
	StatsRow	row;

	types[0] = T_TEXT;
	for (int i = 1; i < 12; i++)
		types[i] = T_NUMERIC;
	admin_result_begin(&res, client, 12, avg ? avgs : totals, types);
	stats_begin(&iter);
	while (stats_next(&iter, &row))
	{
		char		v[11][32];
		const char *values[12];

		values[0] = stats_db_name(&row);
		stats_counters(avg ? &row.avg : &row.total, v);
		for (int c = 0; c < 11; c++)
			values[1 + c] = v[c];
		admin_result_row(&res, values);
	}
	stats_end(&iter);
	return admin_result_end(&res);
}

static bool
show_stats_totals(Client *client)
{
	return show_stats_part(client, false);
}

static bool
show_stats_averages(Client *client)
{
	return show_stats_part(client, true);
}

/* show_totals: the counters of every database summed, one row per counter (name, value). */
static bool
show_totals(Client *client)
{
	static const char *const names[] = {"name", "value"};
	static const uint32_t types[] = {T_TEXT, T_NUMERIC};
	static const char *const counters[] = {"server_assignment_count", "xact_count", "query_count",
		"client_bytes", "server_bytes", "xact_time", "query_time", "wait_time", "ps_client_parse_count",
		"ps_server_parse_count", "ps_bind_count"};
	StatCounters total;
	StatCounters avg;
	char		v[2][11][32];
	AdminResult		res;

	memset(&total, 0, sizeof(total));
	memset(&avg, 0, sizeof(avg));
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		stats_add(&total, &pool->stats.total);
		stats_add(&avg, &pool->stats.avg);
	}
	stats_counters(&total, v[0]);
	stats_counters(&avg, v[1]);
	admin_result_begin(&res, client, 2, names, types);
	for (int which = 0; which < 2; which++)
		for (int c = 0; c < 11; c++)
		{
			char		name[64];
			const char *values[2] = {name, v[which][c]};

			snprintf(name, sizeof(name), "%s_%s", which ? "avg" : "total", counters[c]);
			admin_result_row(&res, values);
		}
	return admin_result_end(&res);
}

/*
 * admin_database_row: SHOW DATABASES' row of the admin console's database, as PgBouncer shows its own
 * (name pgbouncer, no host, the listen port, forced user pgbouncer, statement mode, pool size 2), with
 * its client limit and count (clientlimit.c counts the console's clients apart).
 */
static void
admin_database_row(AdminResult *res)
{
	char		port[16];
	char		max_clients[16];
	char		n_clients[16];
	const char *values[32] = {NULL};	/* the per-host lists (columns 18 on) stay NULL: no host */

	snprintf(port, sizeof(port), "%d", cf.listen_port);
	snprintf(max_clients, sizeof(max_clients), "%d", clientlimit_db_max(&cf, "pgbouncer", true));
	snprintf(n_clients, sizeof(n_clients), "%d", clientlimit_db_count("pgbouncer", true));
	values[0] = "pgbouncer";
	values[2] = port;
	values[3] = "pgbouncer";
	values[4] = "pgbouncer";
	values[5] = "2";
	values[6] = values[7] = values[8] = "0";
	values[9] = "statement";
	values[11] = values[12] = "0";
	values[13] = max_clients;
	values[14] = n_clients;
	values[15] = values[16] = values[17] = "0";
	admin_result_row(res, values);
}

/*
 * show_databases: PgBouncer 1.25's 17 columns, then faregate's: reserve_pool (1.18's name of
 * reserve_pool_size, which prometheus-pgbouncer-exporter 1.7 reads) and the per-host routing lists.
 */
static bool
show_databases(Client *client)
{
	static const char *const names[] = {"name", "host", "port", "database", "force_user", "pool_size",
		"min_pool_size", "reserve_pool_size", "server_lifetime", "pool_mode", "load_balance_hosts",
		"max_connections", "current_connections", "max_client_connections", "current_client_connections",
		"paused", "disabled",
		"reserve_pool", "hosts", "host_roles", "host_statuses", "host_lsns", "host_lag_bytes", "host_lag_ms"};
	static const uint32_t types[] = {T_TEXT, T_TEXT, T_INT4, T_TEXT, T_TEXT, T_INT4, T_INT4, T_INT4, T_INT4,
		T_TEXT, T_TEXT, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4, T_INT4,
		T_INT4, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT};
	enum
	{
		NC = N_ELEM(names), OWN = 18
	};
	AdminResult		res;
	HostLists	hl;

	admin_result_begin(&res, client, NC, names, types);
	admin_database_row(&res);
	for (int i = 0; i < cf.n_databases && !res.failed; i++)
	{
		const DatabaseEntry *db = &cf.databases[i];
		char		v[OWN][CF_HOST_MAX];
		const char *values[NC];
		snprintf(v[0], sizeof(v[0]), "%s", db->name);
		snprintf(v[1], sizeof(v[1]), "%s", db->host);
		snprintf(v[2], sizeof(v[2]), "%d", db->port);
		snprintf(v[3], sizeof(v[3]), "%s", db->dbname[0] ? db->dbname : db->name);
		snprintf(v[4], sizeof(v[4]), "%s", db->user);
		snprintf(v[5], sizeof(v[5]), "%d", db->pool_size > 0 ? db->pool_size : cf.default_pool_size);
		/* issue 15: the database line's own values where it has them (PgBouncer shows those) */
		snprintf(v[6], sizeof(v[6]), "%d", db->min_pool_size >= 0 ? db->min_pool_size : cf.min_pool_size);
		snprintf(v[7], sizeof(v[7]), "%d", db->reserve_pool_size >= 0 ? db->reserve_pool_size : cf.reserve_pool_size);
		snprintf(v[8], sizeof(v[8]), "%ld",
				 (db->server_lifetime_ms >= 0 ? db->server_lifetime_ms : cf.server_lifetime_ms) / 1000);
		snprintf(v[9], sizeof(v[9]), "%s", db->pool_mode >= 0 ? pool_mode_name((PoolMode) db->pool_mode) : "");
		v[10][0] = '\0';
		snprintf(v[11], sizeof(v[11]), "%d", db->max_db_connections >= 0 ? db->max_db_connections : cf.max_db_connections);
		snprintf(v[12], sizeof(v[12]), "%d", pool_db_connections(db->name));
		snprintf(v[13], sizeof(v[13]), "%d", clientlimit_db_max(&cf, db->name, false));
		snprintf(v[14], sizeof(v[14]), "%d", clientlimit_db_count(db->name, false));
		snprintf(v[15], sizeof(v[15]), "%d", admin_db_paused(db->name) ? 1 : 0);
		snprintf(v[16], sizeof(v[16]), "%d", admin_db_disabled(db->name) ? 1 : 0);
		snprintf(v[17], sizeof(v[17]), "%s", v[7]);
		for (int c = 0; c < OWN; c++)
			values[c] = v[c];
		/* PgBouncer: NULL force_user without one, NULL pool_mode when the database inherits it */
		if (db->user[0] == '\0')
			values[4] = NULL;
		if (db->pool_mode < 0)
			values[9] = NULL;
		values[10] = load_balance_hosts_value(db);
		host_lists(&hl, db, routing_pool_of(db->name));
		for (int c = 0; c < 6; c++)
			values[OWN + c] = hl.v[c];
		admin_result_row(&res, values);
	}
	return admin_result_end(&res);
}

/* UserRow: one row of SHOW USERS while it is counted. */
typedef struct UserRow
{
	const char *name;
	int			servers;		/* server connections of the user's pools */
	int			clients;		/* client connections admitted (as clientlimit.c counts them) */
} UserRow;

static int
compare_user_row(const void *a, const void *b)
{
	return strcmp(((const UserRow *) a)->name, ((const UserRow *) b)->name);
}

/* add_user_row: appends name (when set) to rows; the caller sized rows for every source. */
static void
add_user_row(UserRow *rows, int *n, const char *name)
{
	if (name && name[0])
		rows[(*n)++] = (UserRow) {name, 0, 0};
}

/*
 * collect_users: the users PgBouncer lists, sorted and unique, into *rows (malloc'd; NULL when there is
 * no memory): every [users] line, every auth_file entry, the forced user and auth_user of every
 * [databases] line, the global auth_user, and every user with a pool or an admitted client (a user
 * found by auth_query, the admin console's). Returns the count.
 */
static int
collect_users(UserRow **rows_out)
{
	int			cap = cf.n_users + 2 * cf.n_databases + 1;
	int			n = 0;
	UserRow    *rows;

	for (int i = 0; login_authfile_user(i); i++)
		cap++;
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
		cap++;
	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
		cap++;
	*rows_out = rows = malloc(sizeof(UserRow) * cap);
	if (!rows)
		return 0;
	for (int i = 0; i < cf.n_users; i++)
		add_user_row(rows, &n, cf.users[i].name);
	for (int i = 0; login_authfile_user(i); i++)
		add_user_row(rows, &n, login_authfile_user(i));
	for (int i = 0; i < cf.n_databases; i++)
	{
		add_user_row(rows, &n, cf.databases[i].user);
		add_user_row(rows, &n, cf.databases[i].auth_user);
	}
	add_user_row(rows, &n, cf.auth_user);
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
		add_user_row(rows, &n, container_of(it, Pool, pool_node)->user);
	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
		if (container_of(it, Client, all_node)->pool)
			add_user_row(rows, &n, container_of(it, Client, all_node)->user);
	qsort(rows, n, sizeof(UserRow), compare_user_row);
	{
		int			unique = 0;

		for (int i = 0; i < n; i++)
			if (unique == 0 || strcmp(rows[unique - 1].name, rows[i].name) != 0)
				rows[unique++] = rows[i];
		n = unique;
	}
	return n;
}

/* count_users: each row's server connections (its pools) and admitted clients, by bsearch. */
static void
count_users(UserRow *rows, int n)
{
	UserRow		key = {NULL, 0, 0};
	UserRow    *hit;

	for (List *it = pool_list.next; it != &pool_list; it = it->next)
	{
		const Pool *pool = container_of(it, Pool, pool_node);

		key.name = pool->user;
		if (pool->admin || !(hit = bsearch(&key, rows, n, sizeof(UserRow), compare_user_row)))
			continue;
		for (int i = 0; i < pool->n_nodes; i++)
			hit->servers += pool->nodes[i].n_servers;
	}
	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
	{
		const Client *c = container_of(it, Client, all_node);

		key.name = c->user;
		if (c->pool && (hit = bsearch(&key, rows, n, sizeof(UserRow), compare_user_row)))
			hit->clients++;
	}
}

/*
 * show_users: PgBouncer's user list (collect_users): the [users] line's pool_size, reserve_pool_size and
 * pool_mode (empty/NULL when the user has none, as PgBouncer), max_user_connections and
 * max_user_client_connections (the [users] value, else the [pooler] one) and the current counts.
 */
static bool
show_users(Client *client)
{
	static const char *const names[] = {"name", "pool_size", "reserve_pool_size", "pool_mode",
		"max_user_connections", "current_connections", "max_user_client_connections",
		"current_client_connections"};
	static const uint32_t types[] = {T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT4, T_INT4, T_INT4, T_INT4};
	AdminResult		res;
	UserRow    *rows;
	int			n_rows = collect_users(&rows);

	admin_result_begin(&res, client, 8, names, types);
	count_users(rows, n_rows);
	for (int r = 0; r < n_rows && !res.failed; r++)
	{
		char		v[6][16];
		const char *values[8];
		const UserEntry *u = config_find_user(&cf, rows[r].name);

		snprintf(v[0], 16, "%d", u && u->max_user_connections >= 0 ? u->max_user_connections : cf.max_user_connections);
		snprintf(v[1], 16, "%d", rows[r].servers);
		snprintf(v[2], 16, "%d", rows[r].clients);
		v[3][0] = v[4][0] = '\0';
		if (u && u->pool_size >= 0)
			snprintf(v[3], 16, "%d", u->pool_size);
		if (u && u->reserve_pool_size >= 0)
			snprintf(v[4], 16, "%d", u->reserve_pool_size);
		snprintf(v[5], 16, "%d", clientlimit_user_max(&cf, rows[r].name));
		values[0] = rows[r].name;
		values[1] = v[3];
		values[2] = v[4];
		values[3] = u && u->pool_mode >= 0 ? pool_mode_name((PoolMode) u->pool_mode) : NULL;
		values[4] = v[0];
		values[5] = v[1];
		values[6] = v[5];
		values[7] = v[2];
		admin_result_row(&res, values);
	}
	free(rows);
	return admin_result_end(&res);
}

/* SlabCounts: free and used objects of the client and server caches (SHOW LISTS). */
typedef struct SlabCounts
{
	int			free_clients;
	int			free_servers;
	int			used_servers;
} SlabCounts;

static void
slab_count_cb(void *arg, const char *name, size_t size, int used, int n_free)
{
	SlabCounts *counts = arg;

	if (strcmp(name, "client") == 0)
		counts->free_clients = n_free;
	else if (strcmp(name, "server") == 0)
	{
		counts->free_servers = n_free;
		counts->used_servers = used;
	}
}

/* show_lists: PgBouncer 1.25's rows (in its order), then faregate's. */
static bool
show_lists(Client *client)
{
	static const char *const names[] = {"list", "items"};
	static const uint32_t types[] = {T_TEXT, T_INT4};
	AdminResult		res;
	int			n_pools = 0;
	int			n_users = 0;
	SlabCounts	slabs = {0, 0, 0};
	struct
	{
		const char *name;
		int			items;
	}			rows[24];
	int			n = 0;
	int			dns_names;
	int			dns_pending;

	{
		Pool	  **sorted = pools_sorted(&n_pools, compare_pool_user);

		for (int k = 0; k < n_pools; k++)
			n_users += k == 0 || strcmp(sorted[k - 1]->user, sorted[k]->user) != 0;
		free(sorted);
	}
	slab_walk(slab_count_cb, &slabs);
	rows[n].name = "databases", rows[n++].items = cf.n_databases;
	rows[n].name = "users", rows[n++].items = n_users;
	rows[n].name = "peers", rows[n++].items = peer_count();
	rows[n].name = "pools", rows[n++].items = n_pools;
	rows[n].name = "peer_pools", rows[n++].items = peer_count();
	rows[n].name = "free_clients", rows[n++].items = slabs.free_clients;
	rows[n].name = "used_clients", rows[n++].items = client_count;
	rows[n].name = "login_clients", rows[n++].items = list_count(&login_client_list);
	rows[n].name = "free_servers", rows[n++].items = slabs.free_servers;
	rows[n].name = "used_servers", rows[n++].items = slabs.used_servers;
	dns_counts(&dns_names, &dns_pending);
	rows[n].name = "dns_names", rows[n++].items = dns_names;
	rows[n].name = "dns_zones", rows[n++].items = 0;
	rows[n].name = "dns_queries", rows[n++].items = dns_pending;
	rows[n].name = "dns_pending", rows[n++].items = dns_pending;
	rows[n].name = "io_buffers_in_use", rows[n++].items = iobuf_in_use();
	rows[n].name = "io_buffers_free", rows[n++].items = iobuf_free_count();
	rows[n].name = "prepared_statements", rows[n++].items = prepared_total();
	rows[n].name = "interned_values", rows[n++].items = params_interned_count();
	rows[n].name = "listen_channels", rows[n++].items = notify_channel_count();
	admin_result_begin(&res, client, 2, names, types);
	for (int i = 0; i < n; i++)
	{
		char		items[16];
		const char *values[2] = {rows[i].name, items};

		snprintf(items, sizeof(items), "%d", rows[i].items);
		admin_result_row(&res, values);
	}
	return admin_result_end(&res);
}

static void
mem_row_cb(void *arg, const char *name, size_t size, int used, int n_free)
{
	char		v[4][24];
	const char *values[5] = {name, v[0], v[1], v[2], v[3]};

	snprintf(v[0], 24, "%zu", size);
	snprintf(v[1], 24, "%d", used);
	snprintf(v[2], 24, "%d", n_free);
	snprintf(v[3], 24, "%zu", size * (size_t) (used + n_free));
	admin_result_row(arg, values);
}

/* show_mem: the slab caches (name, object size, used, free, bytes allocated). */
static bool
show_mem(Client *client)
{
	static const char *const names[] = {"name", "size", "used", "free", "memtotal"};
	static const uint32_t types[] = {T_TEXT, T_INT4, T_INT4, T_INT4, T_INT4};
	AdminResult		res;

	admin_result_begin(&res, client, 5, names, types);
	slab_walk(mem_row_cb, &res);
	return admin_result_end(&res);
}

/* dns_row_cb: one row of SHOW DNS_HOSTS. */
static void
dns_row_cb(const DnsHostInfo *info, void *arg)
{
	char		ttl[24];
	const char *values[4] = {info->hostname, ttl, info->addrs, info->status};

	snprintf(ttl, sizeof(ttl), "%ld", info->ttl);
	admin_result_row(arg, values);
}

/*
 * show_dns_hosts: dns.c's cache, PgBouncer's columns (hostname, ttl = seconds the answer is still
 * used, addrs) and faregate's status (ok, pending, or why the lookup failed).
 */
static bool
show_dns_hosts(Client *client)
{
	static const char *const names[] = {"hostname", "ttl", "addrs", "status"};
	static const uint32_t types[] = {T_TEXT, T_INT8, T_TEXT, T_TEXT};
	AdminResult		res;

	admin_result_begin(&res, client, 4, names, types);
	dns_walk(dns_row_cb, &res);
	return admin_result_end(&res);
}

/*
 * show_dns_zones: PgBouncer lists the zones whose SOA serial it polls (dns_zone_check_period, c-ares
 * only); evdns has no such check, so the columns and no rows (docs/pooler.md).
 */
static bool
show_dns_zones(Client *client)
{
	static const char *const names[] = {"zonename", "serial", "count"};
	static const uint32_t types[] = {T_TEXT, T_INT8, T_INT4};
	AdminResult		res;

	admin_result_begin(&res, client, 3, names, types);
	return admin_result_end(&res);
}

/* show_state: PgBouncer's active/paused/suspended rows, then faregate's shutdown row. */
static bool
show_state(Client *client)
{
	static const char *const names[] = {"key", "value"};
	static const uint32_t types[] = {T_TEXT, T_TEXT};
	static const char *const shutdown_names[] = {"no", "wait_for_clients", "wait_for_servers"};
	AdminPauseMode mode = admin_pause_mode();
	const char *rows[4][2] = {
		{"active", mode == ADMIN_RUNNING ? "yes" : "no"},
		{"paused", mode == ADMIN_PAUSED ? "yes" : "no"},
		{"suspended", mode == ADMIN_SUSPENDED ? "yes" : "no"},
		{"shutting_down", shutdown_names[admin_shutdown_mode()]},
	};
	AdminResult		res;

	admin_result_begin(&res, client, 2, names, types);
	for (int i = 0; i < 4; i++)
		admin_result_row(&res, rows[i]);
	return admin_result_end(&res);
}

static bool
show_config(Client *client)
{
	static const char *const names[] = {"key", "value", "default", "changeable"};
	static const uint32_t types[] = {T_TEXT, T_TEXT, T_TEXT, T_TEXT};
	AdminResult		res;
	Config		defaults;

	memset(&defaults, 0, sizeof(defaults));
	admin_result_begin(&res, client, 4, names, types);
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
		admin_result_row(&res, values);
	}
	return admin_result_end(&res);
}

/* show_routing: per database with replicas and node: verified role, health, LSN, lag, routed counts. */
static bool
show_routing(Client *client)
{
	static const char *const names[] = {"database", "node", "host", "port", "configured_role", "role",
		"status", "lsn", "lag_bytes", "lag_ms", "reads", "writes", "source"};
	static const uint32_t types[] = {T_TEXT, T_INT4, T_TEXT, T_INT4, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT8,
		T_INT8, T_INT8, T_INT8, T_TEXT};
	AdminResult		res;
	Pool	  **sorted;
	int			n_pools;
	const struct RoutingSet *shown = NULL;	/* per database name, so its pools are adjacent */

	admin_result_begin(&res, client, 13, names, types);
	/* one set of rows per RoutingSet, which is per database: the first pool of each database that has one */
	sorted = pools_sorted(&n_pools, compare_pool_database);
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
			admin_result_row(&res, values);
		}
	}
	free(sorted);
	return admin_result_end(&res);
}

/* show_commands: each SHOW command's name (matched ignoring case), who may run it, its function. */
static const struct
{
	const char *name;
	bool		admin_only;		/* admin_users only (PgBouncer: SHOW FDS shows every socket's details) */
	bool		(*show) (Client *client);
}			show_commands[] = {
	{"HELP", false, show_help},
	{"VERSION", false, show_version},
	{"CONFIG", false, show_config},
	{"DATABASES", false, show_databases},
	{"POOLS", false, show_pools},
	{"CLIENTS", false, admin_show_clients},
	{"SERVERS", false, admin_show_servers},
	{"USERS", false, show_users},
	{"PEERS", false, show_peers},
	{"PEER_POOLS", false, show_peer_pools},
	{"FDS", true, admin_show_fds},
	{"SOCKETS", false, admin_show_sockets},
	{"ACTIVE_SOCKETS", false, admin_show_active_sockets},
	{"LISTS", false, show_lists},
	{"MEM", false, show_mem},
	{"STATE", false, show_state},
	{"DNS_HOSTS", false, show_dns_hosts},
	{"DNS_ZONES", false, show_dns_zones},
	{"STATS", false, show_stats},
	{"STATS_TOTALS", false, show_stats_totals},
	{"STATS_AVERAGES", false, show_stats_averages},
	{"TOTALS", false, show_totals},
	{"ROUTING", false, show_routing},
};

const char *
admin_show_names(void)
{
	static char names[512];

	if (!names[0])
		for (int i = 0; i < N_ELEM(show_commands); i++)
		{
			size_t		used = strlen(names);

			snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", show_commands[i].name);
		}
	return names;
}

bool
admin_show(Client *client, const char *what, bool *known)
{
	for (int i = 0; i < N_ELEM(show_commands); i++)
		if (strcasecmp(what, show_commands[i].name) == 0)
		{
			*known = true;
			if (show_commands[i].admin_only && !client->admin_full)
				return client_send_error(client, "42501", "admin access needed",
										 "SHOW FDS is for admin_users only.", true);
			return show_commands[i].show(client);
		}
	*known = false;
	return true;
}
