/*
 * routing.c: owns read/write routing of transactions (docs/routing.md): the RoutingSets (one per
 * [databases] entry with replicas: its HealthMonitor, its RouteVolatility table and per-node counters),
 * the choice of a node for each transaction from sqlroute.c's class and health.c's state, and the
 * read-your-writes capture of a write transaction's end LSN on the primary connection that ran it.
 *
 * Node indexes are shared by the pool and the monitor: nodes[0] is the host= of the database line,
 * nodes[1..] its replicas= in order. With patroni= instead, the indexes are slots that Patroni's members
 * take as they appear (routing_on_cluster): a member keeps its slot while it stays in /cluster; one that
 * leaves is retired (drained in every pool, then the slot is free again). Roles are whatever the health checks last said, never the
 * configuration: a write goes to health_pick_write_node(), a read to a node whose last check said it
 * is a replica within max_replica_lag (and, for read-your-writes, past the client's commit LSN).
 * Everything runs on the event loop's thread.
 */
#include "routing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "conn.h"
#include "conninfo.h"
#include "health.h"
#include "log.h"
#include "tls.h"
#include "metrics.h"
#include "patroni.h"
#include "pool.h"
#include "prepared.h"
#include "proto.h"
#include "sqlroute.h"
#include "server.h"

/* What a node slot holds. */
typedef enum RoutingSlot
{
	RS_VACANT,					/* nothing (Patroni discovery: not yet used, or released after a drain) */
	RS_MEMBER,					/* a host of the line, or a member Patroni reports */
	RS_RETIRED					/* a member that left /cluster: its pools drain it */
} RoutingSlot;

struct RoutingSet
{
	RoutingSet *next;
	char		dbname[CF_NAME_MAX];	/* what clients ask for (the pool's db.name) */
	HealthMonitor *hm;
	RouteVolatility *volatility;	/* NULL until the first load: every function call is a write */
	int			n_nodes;
	int			weight[POOL_MAX_NODES];	/* share of reads while the node is a usable replica */
	int			primary_read_weight;	/* share of reads of the node that takes writes (0 = none) */
	char		names[POOL_MAX_NODES][CF_HOST_MAX + 8];
	uint64_t	reads[POOL_MAX_NODES];	/* transactions routed as reads to the node */
	uint64_t	writes[POOL_MAX_NODES]; /* transactions routed to the node as the write node */
	unsigned	rr_next;		/* round_robin position */
	int			last_write_node;	/* for the "writes now go to" log line */
	int64_t		ryw_refresh_us; /* last check started early for a read held back by read-your-writes */
	long		period_ms;		/* settings the monitor was created with */
	int64_t		max_lag_bytes;
	long		max_lag_ms;
	char		conninfo[POOL_MAX_NODES][CF_STR_MAX];
	HealthNodeConfig node_cfg[POOL_MAX_NODES];
	/* the health checks' login: from the first pool of the entry */
	char		conn_dbname[CF_NAME_MAX];
	char		conn_user[CF_NAME_MAX];
	char		conn_password[CF_STR_MAX];
	RoutingSlot slot[POOL_MAX_NODES];
	/* patroni= (NULL poller: the host list of the line) */
	PatroniPoller *patroni;
	char		patroni_endpoints[CF_STR_MAX];
	long		patroni_period_ms;
	long		patroni_timeout_ms;
	char		host[POOL_MAX_NODES][CF_HOST_MAX];
	int			port[POOL_MAX_NODES];
	char		member_name[POOL_MAX_NODES][CF_NAME_MAX];	/* Patroni's name of the member */
	char		member_role[POOL_MAX_NODES][32];	/* Patroni's role of the member */
	bool		patroni_reads_ok[POOL_MAX_NODES];	/* false: Patroni's lag too high or unknown */
	int			patroni_leader; /* slot of the member Patroni calls leader; -1 = none */
	char		patroni_url[CF_HOST_MAX];	/* endpoint of the last good answer */
	int64_t		patroni_ok_us;	/* when it came; 0 = never */
	uint64_t	patroni_answers;
	char		patroni_error[512]; /* why the last round failed; empty after a good answer */
	bool		patroni_full_warned;	/* "no free slot" logged */
};

static RoutingSet *routing_sets;

static void routing_source(const RoutingSet *rs, int node, char *out, size_t outlen);

/* Autocommit reads up to this size are kept for one transparent retry. */
#define ROUTING_RETRY_MAX 8192
/* Reply bytes of such a read held back until its ReadyForQuery; past this the reply streams as usual. */
#define ROUTING_HOLD_MAX 8192

/*
 * reroute_node_waiters: reads queued for a server of replica node, which the health check just found
 * down, are routed again now. Without this, a client queued behind a login to a frozen replica (SIGSTOP,
 * a hung host: the TCP connect succeeds, the login never answers) waited for server_connect_timeout, and
 * then possibly for another login to the same node. Only the clients queued when the event came are
 * visited, so a client that routing sends back to this node cannot make the loop endless.
 */
static void
reroute_node_waiters(RoutingSet *rs, int node, const char *reason)
{
	List	   *it;

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);
		int			n;

		if (pool->routing != rs || node < 0 || (node == 0 && !rs->patroni_endpoints[0]) || node >= pool->n_nodes)
			continue;
		for (n = pool->nodes[node].n_waiting; n > 0 && !list_empty(&pool->nodes[node].waiting_clients); n--)
		{
			Client	   *client = container_of(pool->nodes[node].waiting_clients.next, Client, list_node);

			if (!routing_reroute_waiting(client, node, reason))
				break;			/* not a routed read: it keeps waiting (server_connect_timeout ends it) */
		}
	}
}

/* routing_on_event: logs every ejection, readmission, promotion and failure with its reason. */
static void
routing_on_event(void *arg, int node, HealthEvent event, const char *reason)
{
	RoutingSet *rs = arg;

	if (event == HEALTH_EV_VOLATILITY_LOADED)
		log_debug("routing %s: %s", rs->dbname, reason);
	else
		log_info("routing %s: node %d (%s) %s: %s", rs->dbname, node, node >= 0 ? rs->names[node] : "-",
				 health_event_name(event), reason);
	if (event == HEALTH_EV_DOWN || event == HEALTH_EV_EJECTED)
		reroute_node_waiters(rs, node, reason);
	/* the topology may be changing: ask Patroni now rather than at the next period */
	if (rs->patroni && (event == HEALTH_EV_DOWN || event == HEALTH_EV_PROMOTED || event == HEALTH_EV_DEMOTED))
		patroni_poll_now(rs->patroni);
}

/* routing_on_volatility: swaps in a new volatility table (the old one is unused once we return). */
static void
routing_on_volatility(void *arg, RouteVolatility *table)
{
	RoutingSet *rs = arg;

	sqlroute_volatility_free(rs->volatility);
	rs->volatility = table;
	log_info("routing %s: function volatility table loaded (%zu functions)", rs->dbname,
			 sqlroute_volatility_count(table));
}

/*
 * build_conninfo: a libpq connection string for host:port (a directory is a Unix socket). A host name is
 * not resolved here: health.c asks dns.c before each connect and adds hostaddr= (HealthNodeConfig.host).
 */
static void
build_conninfo(char *out, size_t outlen, const char *host, int port, const RoutingSet *rs)
{
	out[0] = '\0';
	if (!conninfo_append(out, outlen, "host", host) || !conninfo_append_int(out, outlen, "port", port) ||
		!conninfo_append(out, outlen, "dbname", rs->conn_dbname) ||
		!conninfo_append(out, outlen, "user", rs->conn_user) ||
		!conninfo_append(out, outlen, "application_name", "faregate-health") ||
		(rs->conn_password[0] && !conninfo_append(out, outlen, "password", rs->conn_password)))
		log_warning("routing %s: the health check's connection string for %s is too long; its checks will "
					"fail", rs->dbname, host);
	if (!tls_server_conninfo(out, outlen))
		log_warning("routing %s: server_tls_* settings too long for the health check's connection string; "
					"its checks use libpq's default sslmode", rs->dbname);
}

/* apply_hints: Patroni's leader and nofailover for slot i (the host list: host= is the preferred one). */
static void
apply_hints(RoutingSet *rs, int i, bool nofailover)
{
	bool		leader = rs->patroni_endpoints[0] ? rs->patroni_leader == i : i == 0;

	if (rs->hm)
		health_set_hints(rs->hm, i, leader, leader || !nofailover);
}

/* start_slot: slot i's health checks begin (a host of the line, or a member that appeared). */
static void
start_slot(RoutingSet *rs, int i)
{
	rs->node_cfg[i].name = rs->names[i];
	rs->node_cfg[i].conninfo = rs->conninfo[i];
	rs->node_cfg[i].host = rs->host[i];
	rs->node_cfg[i].configured_primary = rs->patroni_endpoints[0] ? rs->patroni_leader == i : i == 0;
	if (rs->hm && !health_set_node(rs->hm, i, &rs->node_cfg[i]))
		log_error("routing %s: could not start health checks of node %d (%s): out of memory; it gets no "
				  "transactions", rs->dbname, i, rs->names[i]);
}

/* routing_start_monitor: (re)creates rs's health monitor with the current settings. */
static void
routing_start_monitor(RoutingSet *rs)
{
	HealthSettings settings;
	HealthCallbacks callbacks = {routing_on_event, routing_on_volatility, NULL, rs};

	health_free(rs->hm);
	memset(&settings, 0, sizeof(settings));
	settings.check_period_ms = cf.health_check_period_ms;
	settings.check_timeout_ms = cf.health_check_period_ms < 1000 ? 1000 : cf.health_check_period_ms;
	settings.max_lag_bytes = cf.max_replica_lag_bytes;
	settings.max_lag_ms = cf.max_replica_lag_ms;
	settings.backoff_max_ms = cf.health_check_period_ms * 8 < 30000 ? cf.health_check_period_ms * 8 : 30000;
	settings.volatility_refresh_checks = (int) (60000 / cf.health_check_period_ms) + 1;
	rs->period_ms = cf.health_check_period_ms;
	rs->max_lag_bytes = cf.max_replica_lag_bytes;
	rs->max_lag_ms = cf.max_replica_lag_ms;
	rs->hm = health_create(conn_base, NULL, 0, &settings, &callbacks);
	for (int i = 0; rs->hm && i < rs->n_nodes; i++)
		if (rs->slot[i] == RS_MEMBER)
			start_slot(rs, i);
	metrics_register_health(rs->dbname, rs->hm);	/* NULL (out of memory) unregisters */
	if (!rs->hm)
		log_error("routing %s: could not start health checks (out of memory): writes go to %s, reads too",
				  rs->dbname, rs->names[0]);
}

/* set_slot_host: slot i is host:port from now on (names, health check connection string). */
static void
set_slot_host(RoutingSet *rs, int i, const char *host, int port)
{
	snprintf(rs->host[i], sizeof(rs->host[i]), "%s", host);
	rs->port[i] = port;
	snprintf(rs->names[i], sizeof(rs->names[i]), "%s:%d", host, port);
	build_conninfo(rs->conninfo[i], sizeof(rs->conninfo[i]), host, port, rs);
	rs->slot[i] = RS_MEMBER;
	rs->reads[i] = rs->writes[i] = 0;
	if (i >= rs->n_nodes)
		rs->n_nodes = i + 1;
}

static void routing_on_cluster(void *arg, const char *url, const PatroniCluster *cluster);
static void routing_on_patroni_error(void *arg, const char *why);

/* start_patroni: (re)starts polling the entry's patroni= endpoints with the current settings. */
static void
start_patroni(RoutingSet *rs, const char *endpoints)
{
	PatroniCallbacks callbacks = {routing_on_cluster, routing_on_patroni_error, rs};

	patroni_poller_free(rs->patroni);
	snprintf(rs->patroni_endpoints, sizeof(rs->patroni_endpoints), "%s", endpoints);
	rs->patroni_period_ms = cf.patroni_poll_period_ms;
	rs->patroni_timeout_ms = cf.patroni_request_timeout_ms;
	rs->patroni = patroni_poller_create(conn_base, endpoints, cf.patroni_poll_period_ms,
										cf.patroni_request_timeout_ms, &callbacks);
	if (!rs->patroni)
		snprintf(rs->patroni_error, sizeof(rs->patroni_error), "out of memory: cannot poll %s", endpoints);
}

/*
 * prefer_leader_login: a pool that has not logged in yet takes its first login (whose ParameterStatus,
 * in_hot_standby included, every client of the pool is shown) on Patroni's leader.
 */
static void
prefer_leader_login(RoutingSet *rs, Pool *pool)
{
	int			leader = rs->patroni_leader;

	if (!pool->welcome_ready && leader >= 0 && leader < pool->n_nodes && !pool->nodes[leader].vacant &&
		!pool->nodes[leader].retired && pool->nodes[pool->login_node].n_login == 0)
		pool->login_node = leader;
}

/* attach_pool_nodes: a pool joining rs takes the slots' current members (Patroni discovery). */
static void
attach_pool_nodes(RoutingSet *rs, Pool *pool)
{
	if (!rs->patroni_endpoints[0])
		return;
	for (int i = 0; i < rs->n_nodes; i++)
		if (rs->slot[i] == RS_MEMBER)
			pool_node_assign(pool, i, rs->host[i], rs->port[i],
							 rs->patroni_leader == i ? NODE_PRIMARY : NODE_REPLICA);
	prefer_leader_login(rs, pool);
}

void
routing_attach(Pool *pool)
{
	RoutingSet *rs;
	const DatabaseEntry *db = &pool->db;

	if (pool->admin || (db->n_replicas == 0 && !db->patroni[0]))
		return;
	for (rs = routing_sets; rs; rs = rs->next)
		if (strcmp(rs->dbname, db->name) == 0)
		{
			pool->routing = rs;
			attach_pool_nodes(rs, pool);
			return;
		}
	rs = calloc(1, sizeof(RoutingSet));
	if (!rs)
	{
		log_error("routing %s: out of memory: no read routing", db->name);
		return;
	}
	snprintf(rs->dbname, sizeof(rs->dbname), "%s", db->name);
	snprintf(rs->conn_dbname, sizeof(rs->conn_dbname), "%s", db->dbname[0] ? db->dbname : db->name);
	snprintf(rs->conn_user, sizeof(rs->conn_user), "%s", pool->user);
	snprintf(rs->conn_password, sizeof(rs->conn_password), "%s", pool->password);
	rs->last_write_node = 0;
	rs->patroni_leader = -1;
	if (!db->patroni[0])
		for (int i = 0; i < pool->n_nodes; i++)
		{
			set_slot_host(rs, i, pool->nodes[i].host, pool->nodes[i].port);
			rs->weight[i] = i == 0 ? 1 : db->replica_weight[i - 1];
			rs->patroni_reads_ok[i] = true;
		}
	rs->primary_read_weight = db->primary_read_weight;
	routing_start_monitor(rs);
	if (db->patroni[0])
		start_patroni(rs, db->patroni);
	rs->next = routing_sets;
	routing_sets = rs;
	pool->routing = rs;
}

void
routing_reload(void)
{
	for (RoutingSet *rs = routing_sets; rs; rs = rs->next)
	{
		const DatabaseEntry *db = config_find_database(&cf, rs->dbname);

		if (rs->period_ms != cf.health_check_period_ms || rs->max_lag_bytes != cf.max_replica_lag_bytes ||
			rs->max_lag_ms != cf.max_replica_lag_ms)
			routing_start_monitor(rs);
		else if (rs->hm)
			health_reload_volatility(rs->hm);
		/* a changed patroni= list or poll setting: a new poller (the members stay until it answers) */
		if (rs->patroni_endpoints[0] && db && db->patroni[0] &&
			(strcmp(db->patroni, rs->patroni_endpoints) != 0 || rs->patroni_period_ms != cf.patroni_poll_period_ms ||
			 rs->patroni_timeout_ms != cf.patroni_request_timeout_ms))
			start_patroni(rs, db->patroni);
	}
}

/* ---- Patroni discovery: /cluster answers change the node set ---- */

/* reclaim_drained: retired slots that every pool of rs has drained become vacant (SHOW ROUTING drops them). */
static void
reclaim_drained(RoutingSet *rs)
{
	for (int i = 0; i < rs->n_nodes; i++)
	{
		bool		drained = true;
		List	   *it;

		if (rs->slot[i] != RS_RETIRED)
			continue;
		for (it = pool_list.next; it != &pool_list; it = it->next)
		{
			Pool	   *pool = container_of(it, Pool, pool_node);

			if (pool->routing == rs && !pool_node_drained(pool, i))
				drained = false;
		}
		if (!drained)
			continue;
		for (it = pool_list.next; it != &pool_list; it = it->next)
		{
			Pool	   *pool = container_of(it, Pool, pool_node);

			if (pool->routing == rs)
				pool_node_release(pool, i);
		}
		rs->slot[i] = RS_VACANT;
		log_info("routing %s: node %d (%s) drained: its slot is free", rs->dbname, i, rs->names[i]);
	}
}

/* free_slot: the first vacant slot; -1 if none. */
static int
free_slot(RoutingSet *rs)
{
	for (int i = 0; i < POOL_MAX_NODES; i++)
		if (i >= rs->n_nodes || rs->slot[i] == RS_VACANT)
			return i;
	return -1;
}

/* member_slot: the slot of the member at host:port; -1 when it has none. */
static int
member_slot(const RoutingSet *rs, const PatroniMember *m)
{
	for (int i = 0; i < rs->n_nodes; i++)
		if (rs->slot[i] == RS_MEMBER && rs->port[i] == m->port && strcmp(rs->host[i], m->host) == 0)
			return i;
	return -1;
}

/* pools_set_node: every pool of rs takes slot i's member (retire = false) or drains it (retire). */
static void
pools_set_node(RoutingSet *rs, int i, bool retire, const char *reason)
{
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (pool->routing != rs)
			continue;
		if (retire)
			pool_node_retire(pool, i, reason);
		else if (i >= pool->n_nodes || pool->nodes[i].vacant)
			pool_node_assign(pool, i, rs->host[i], rs->port[i], rs->patroni_leader == i ? NODE_PRIMARY : NODE_REPLICA);
		else
			pool->nodes[i].role = rs->patroni_leader == i ? NODE_PRIMARY : NODE_REPLICA;
		prefer_leader_login(rs, pool);
	}
}

/* patroni_reads_allowed: Patroni's view lets member m take reads (its lag is known and within limits). */
static bool
patroni_reads_allowed(const PatroniMember *m)
{
	if (m->role == PATRONI_ROLE_LEADER)
		return true;
	if (m->lag_bytes < 0)
		return false;			/* "unknown": Patroni cannot tell how far behind it is */
	return cf.max_replica_lag_bytes <= 0 || m->lag_bytes <= cf.max_replica_lag_bytes;
}

/*
 * routing_on_cluster: a good /cluster answer: members keep their slots, new ones take free slots (their
 * checks start at once; every pool of the entry gets the node), members gone are retired (drained).
 * Patroni's leader becomes the preferred write node among nodes that report they are primaries; a
 * change of leader starts every check now, so writes follow it within one check, not one period.
 */
static void
routing_on_cluster(void *arg, const char *url, const PatroniCluster *cluster)
{
	RoutingSet *rs = arg;
	bool		seen[POOL_MAX_NODES] = {false};
	int			slot_of[PATRONI_MAX_MEMBERS];
	int			old_leader = rs->patroni_leader;
	int			leader = -1;
	bool		changed = false;

	if (cluster->n_members == 0)
	{
		char		why[sizeof(rs->patroni_error)];

		snprintf(why, sizeof(why), "%s reported no usable member%s%s; keeping the last member list", url,
				 cluster->n_skipped ? ": " : "", cluster->skipped);
		if (strcmp(why, rs->patroni_error) != 0)
			log_warning("routing %s: %s", rs->dbname, why);
		snprintf(rs->patroni_error, sizeof(rs->patroni_error), "%s", why);
		return;
	}
	reclaim_drained(rs);
	if (cluster->n_skipped)
		log_debug("routing %s: %d member(s) of %s left out: %s", rs->dbname, cluster->n_skipped, url,
				  cluster->skipped);
	/* first the members that already have a slot (their slots stay theirs), then the new ones */
	for (int k = 0; k < PATRONI_MAX_MEMBERS; k++)
		slot_of[k] = -1;
	for (int k = 0; k < cluster->n_members; k++)
	{
		slot_of[k] = member_slot(rs, &cluster->members[k]);
		if (slot_of[k] >= 0)
			seen[slot_of[k]] = true;
	}
	for (int i = 0; i < rs->n_nodes; i++)
		if (rs->slot[i] == RS_MEMBER && !seen[i])
		{
			char		reason[128];

			snprintf(reason, sizeof(reason), "%s (%s) left Patroni's member list", rs->names[i], rs->member_name[i]);
			log_info("routing %s: node %d %s: draining its server connections", rs->dbname, i, reason);
			rs->slot[i] = RS_RETIRED;
			if (rs->hm)
				health_remove_node(rs->hm, i);
			pools_set_node(rs, i, true, reason);
			changed = true;
		}
	for (int k = 0; k < cluster->n_members; k++)
		if (cluster->members[k].role == PATRONI_ROLE_LEADER && slot_of[k] >= 0)
			leader = slot_of[k];
	for (int k = 0; k < cluster->n_members; k++)
	{
		const PatroniMember *m = &cluster->members[k];
		int			i = slot_of[k];

		if (i < 0)
		{
			i = free_slot(rs);
			if (i < 0)
			{
				if (!rs->patroni_full_warned)
					log_warning("routing %s: member %s (%s:%d) left out: the pooler routes to at most %d nodes "
								"per database", rs->dbname, m->name, m->host, m->port, POOL_MAX_NODES);
				rs->patroni_full_warned = true;
				continue;
			}
			slot_of[k] = i;
			if (m->role == PATRONI_ROLE_LEADER)
				leader = i;
			rs->patroni_leader = leader;
			set_slot_host(rs, i, m->host, m->port);
			log_info("routing %s: node %d %s (%s, %s) joined from Patroni's member list; checking it",
					 rs->dbname, i, rs->names[i], m->name, m->role_text);
			start_slot(rs, i);
			pools_set_node(rs, i, false, NULL);
			changed = true;
		}
		snprintf(rs->member_name[i], sizeof(rs->member_name[i]), "%s", m->name);
		snprintf(rs->member_role[i], sizeof(rs->member_role[i]), "%s", m->role_text);
		rs->weight[i] = m->noloadbalance ? 0 : 1;
		rs->patroni_reads_ok[i] = patroni_reads_allowed(m);
	}
	rs->patroni_leader = leader;
	for (int k = 0; k < cluster->n_members; k++)
		if (slot_of[k] >= 0)
		{
			apply_hints(rs, slot_of[k], cluster->members[k].nofailover);
			pools_set_node(rs, slot_of[k], false, NULL);
		}
	if (leader != old_leader)
	{
		log_info("routing %s: Patroni's leader is now %s (was %s); checking every node now", rs->dbname,
				 leader >= 0 ? rs->names[leader] : "none", old_leader >= 0 ? rs->names[old_leader] : "none");
		changed = true;
	}
	if (changed && rs->hm)
		health_check_now(rs->hm);
	snprintf(rs->patroni_url, sizeof(rs->patroni_url), "%s", url);
	rs->patroni_ok_us = (int64_t) conn_now_usec();
	rs->patroni_answers++;
	if (rs->patroni_error[0])
		log_info("routing %s: Patroni's member list read again from %s", rs->dbname, url);
	rs->patroni_error[0] = '\0';
}

/* routing_on_patroni_error: no endpoint answered this round; the last member list stays in force. */
static void
routing_on_patroni_error(void *arg, const char *why)
{
	RoutingSet *rs = arg;

	if (!rs->patroni_error[0])
		log_warning("routing %s: cannot read Patroni's member list (the last one stays in force): %s",
					rs->dbname, why);
	snprintf(rs->patroni_error, sizeof(rs->patroni_error), "%s", why);
}

/* write_node: where writes go now; -1 when no node is a verified primary. */
static int
write_node(RoutingSet *rs)
{
	int			node;

	if (!rs->hm)
		return 0;
	node = health_pick_write_node(rs->hm);
	if (node < 0)
	{
		bool		ever_answered = false;

		/*
		 * Until some host has answered a check (start-up, or health checks that cannot log in), the
		 * configured primary (Patroni's leader) is taken on trust: routing then degrades to "everything
		 * to host=". A wrong guess costs a read-only error (25006) from the server, never a lost write.
		 */
		for (int i = 0; i < rs->n_nodes; i++)
			if (health_node_active(rs->hm, i) && health_node_state(rs->hm, i)->last_ok_us != 0)
				ever_answered = true;
		if (!ever_answered)
			return rs->patroni_endpoints[0] ? rs->patroni_leader : 0;
		return -1;
	}
	if (node != rs->last_write_node)
	{
		log_info("routing %s: writes now go to node %d (%s), which reports it is not in recovery "
				 "(was node %d)", rs->dbname, node, rs->names[node], rs->last_write_node);
		rs->last_write_node = node;
	}
	return node;
}

/* node_busy: servers of node in use plus clients waiting for it. */
static int
node_busy(const PoolNode *node)
{
	return node->n_servers - list_count(&node->idle_servers) + node->n_waiting;
}

/*
 * read_node: a usable replica by load_balance and replica_weights, or the write node itself when
 * primary_read_weight gives it a share (it has every commit, so read-your-writes never holds it back);
 * -1 when none.
 */
static int
read_node(RoutingSet *rs, Pool *pool, int wnode, uint64_t min_lsn, int avoid)
{
	int			best = -1;
	long		best_score = 0;

	if (!rs->hm || min_lsn == ROUTING_RYW_UNKNOWN)
		return -1;
	for (int k = 0; k < rs->n_nodes; k++)
	{
		int			i = (int) ((rs->rr_next + k) % rs->n_nodes);
		long		score;
		int			weight = i == wnode ? rs->primary_read_weight : rs->weight[i];

		if (i == avoid || weight <= 0 || rs->slot[i] != RS_MEMBER || !rs->patroni_reads_ok[i] ||
			(i != wnode && !health_replica_usable(rs->hm, i, min_lsn)))
			continue;
		if (cf.load_balance_round_robin)
		{
			best = i;
			break;
		}
		score = (long) node_busy(&pool->nodes[i]) * 1000 / weight;
		if (best < 0 || score < best_score)
		{
			best = i;
			best_score = score;
		}
	}
	if (best >= 0)
		rs->rr_next = (unsigned) best + 1;
	return best;
}

/* An early health check for read-your-writes starts at most this often per database entry (µs). */
#define ROUTING_RYW_REFRESH_US 10000

/*
 * ryw_refresh: a read went to the write node only because no replica had replayed the client's last
 * write at its last check: checks every host now (at most every ROUTING_RYW_REFRESH_US) instead of at
 * the next health_check_period, so the replay LSNs the next reads are judged by are fresh. The read
 * itself is not delayed.
 */
static void
ryw_refresh(RoutingSet *rs)
{
	int64_t		now = (int64_t) conn_now_usec();

	if (!rs->hm || now - rs->ryw_refresh_us < ROUTING_RYW_REFRESH_US)
		return;
	rs->ryw_refresh_us = now;
	health_check_now(rs->hm);
}

/*
 * replicas_checked: some replica has answered a health check (before that, reads use the write node
 * whatever replica_fallback says).
 */
static bool
replicas_checked(RoutingSet *rs)
{
	int			configured_primary = rs->patroni_endpoints[0] ? rs->patroni_leader : 0;

	for (int i = 0; i < rs->n_nodes; i++)
		if (rs->hm && i != configured_primary && health_node_active(rs->hm, i) &&
			health_node_state(rs->hm, i)->last_ok_us != 0)
			return true;
	return false;
}

/* statement_text: the SQL text behind msg (Query, Parse, or Bind of a named statement); NULL if none. */
static const char *
statement_text(Client *client, char type, const uint8_t *msg, uint32_t total, size_t *len)
{
	const char *name;
	const char *query;
	uint32_t	off;

	if (type == 'Q' && total > 5)
	{
		query = (const char *) msg + 5;
		*len = strnlen(query, total - 5);
		return query;
	}
	if (type == 'B')
	{
		const char *portal;
		PreparedStmt *stmt;

		if (!proto_read_bind(msg, total, &portal, &name, &off) || !name[0])
			return NULL;
		stmt = prepared_client_lookup(&client->stmts, name);
		if (!stmt)
			return NULL;
		msg = stmt->parse_msg;
		total = stmt->parse_len;
		type = 'P';
	}
	if (type == 'P' && proto_read_parse(msg, total, &name, &query, &off))
	{
		*len = strlen(query);
		return query;
	}
	return NULL;
}

int
routing_route(Pool *pool, Client *client, char type, const uint8_t *msg, uint32_t total)
{
	RoutingSet *rs = pool->routing;
	RouteContext ctx;
	RouteResult result;
	const char *text;
	size_t		len = 0;
	int			wnode;
	int			rnode;
	bool		read;
	bool		transaction = pool_releases_at_commit(pool);

	client->routing.capture = false;
	client->routing.retry = false;
	client->routing.retry_sent = false;
	iobuf_release(&client->routing.retry_buf);
	iobuf_release(&client->routing.held);
	client->routing.read = false;
	if (!rs)
		return 0;
	memset(&result, 0, sizeof(result));
	result.route_class = ROUTE_READ;
	wnode = write_node(rs);
	read = false;
	if (cf.read_routing_on && !client->routing.sticky_primary)
	{
		text = statement_text(client, type, msg, total, &len);
		if (text)
		{
			ctx.volatility = rs->volatility;
			ctx.standard_conforming_strings = params_standard_strings(&client->params);
			ctx.set_kept = session_set_kept;
			sqlroute_classify(text, len, &ctx, &result);
			if (result.flags & (ROUTE_F_TEMP_OBJECT | ROUTE_F_LISTEN))
			{
				client->routing.sticky_primary = true;
				slog_debug(&client->conn, "%s: this client's transactions stay on the primary",
						   result.reason);
			}
			else
				read = result.route_class != ROUTE_WRITE;
			if (read && transaction && cf.session_state == SESSION_STATE_PIN &&
				(result.flags & ROUTE_F_SESSION_STATE))
			{
				/* the client will be pinned to this server: it must be one its writes can use */
				read = false;
				slog_debug(&client->conn, "creates session state: sent to the write node, where the "
						   "client stays until the state is gone");
			}
			slog_noise(&client->conn, "classified %s: %s %s", sqlroute_class_name(result.route_class),
					   result.reason, result.object);
		}
		if (config_list_contains(cf.read_only_users, client->user))
			read = true;
	}
	if (read)
	{
		int			avoid = client->routing.avoid_node - 1;
		uint64_t	min_lsn = cf.read_your_writes_on ? client->routing.ryw_lsn : 0;

		rnode = read_node(rs, pool, wnode, min_lsn, avoid);
		if (rnode < 0 && min_lsn && min_lsn != ROUTING_RYW_UNKNOWN)
		{
			unsigned	rr = rs->rr_next;

			if (read_node(rs, pool, wnode, 0, avoid) >= 0)
				ryw_refresh(rs);	/* a replica is usable but behind this client's write */
			rs->rr_next = rr;
		}
		client->routing.avoid_node = 0;
		if (rnode >= 0)
		{
			rs->reads[rnode]++;
			client->routing.read = true;
			pool->nodes[rnode].routed_reads++;
			/*
			 * an autocommit read: its messages are kept as they are forwarded (routing_retry_note) to
			 * retry it once if the replica dies before replying
			 */
			if ((type == 'Q' || type == 'P' || type == 'B' || type == 'D') && client->tx_status == 'I' &&
				!(result.flags & ROUTE_F_BEGIN) && transaction && avoid < 0)	/* a retry is not retried */
			{
				client->routing.retry = true;
				client->routing.retry_ext = type != 'Q';
			}
			return rnode;
		}
		if (cf.replica_fallback_error && !(client->routing.ryw_lsn && cf.read_your_writes_on) &&
			result.route_class == ROUTE_READ && replicas_checked(rs))
		{
			if (type == 'Q')
			{
				iobuf_consume(&client->conn.rbuf, total);
				(void) client_send_error(client, "57P03", "no replica is usable for this read",
										 "Wait for a replica to catch up, raise max_replica_lag, or set "
										 "replica_fallback = primary.", true);
			}
			else
				client_close(client, "57P03", "no replica is usable for this read",
							 "Wait for a replica to catch up, raise max_replica_lag, or set "
							 "replica_fallback = primary.");
			return -1;
		}
		if (wnode >= 0)
		{
			rs->reads[wnode]++;
			pool->nodes[wnode].routed_reads++;
		}
	}
	else if (wnode >= 0)
	{
		rs->writes[wnode]++;
		pool->nodes[wnode].routed_writes++;
		client->routing.capture = transaction && cf.read_your_writes_on;
	}
	if (wnode < 0)
	{
		client_close(client, "57P03", "no primary is available: no configured host reports it is out of recovery",
					 "Retry after the failover completes (promote a replica); the pooler does not promote.");
		return -1;
	}
	return wnode;
}

bool
routing_capture_start(Server *server)
{
	uint8_t		data[64];
	PktBuf		pkt;

	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_query(&pkt, "SELECT pg_catalog.pg_current_wal_insert_lsn()");
	if (pkt.failed || !server_send_bytes(server, pkt.data, pkt.len) || !server_exp_push(server, EXP_QUERY, true, 0))
		return false;
	server->ryw_capture = true;
	if (server->client)
		server->client->routing.ryw_lsn = ROUTING_RYW_UNKNOWN;	/* until the answer arrives */
	return true;
}

void
routing_capture_row(Server *server, const uint8_t *msg, uint32_t total)
{
	char		text[32];
	uint32_t	col_len;
	uint64_t	lsn;

	if (!server->client || total < 11 || msg[5] != 0 || msg[6] != 1)
		return;
	col_len = ((uint32_t) msg[7] << 24) | ((uint32_t) msg[8] << 16) | ((uint32_t) msg[9] << 8) | msg[10];
	if (col_len >= sizeof(text) || 11 + col_len > total)
		return;
	memcpy(text, msg + 11, col_len);
	text[col_len] = '\0';
	if (health_parse_lsn(text, &lsn))
		server->client->routing.ryw_lsn = lsn;
}

bool
routing_capture_done(Server *server)
{
	static const uint8_t ready[6] = {'Z', 0, 0, 0, 5, 'I'};

	server->ryw_capture = false;
	if (!server->client)
		return true;
	slog_noise(&server->client->conn, "commit LSN %llX captured", (unsigned long long) server->client->routing.ryw_lsn);
	return client_send_bytes(server->client, ready, sizeof(ready));
}

bool
routing_hold_reply(Client *client, char type, const uint8_t *msg, uint32_t total)
{
	if (!client->routing.retry || type == 'Z' || total > ROUTING_HOLD_MAX - iobuf_len(client->routing.held))
		return false;
	return iobuf_append(&client->routing.held, msg, total);
}

bool
routing_release_held(Client *client)
{
	uint32_t	n = iobuf_len(client->routing.held);
	bool		ok;

	if (n == 0)
		return true;
	if (client->pool)
		client->pool->stats.total.bytes_sent += n;
	ok = client_send_bytes(client, iobuf_head(client->routing.held), n);
	iobuf_release(&client->routing.held);
	return ok;
}

void
routing_retry_note(Client *client, char type, const uint8_t *msg, uint32_t total)
{
	bool		fits;

	if (!client->routing.retry)
		return;
	if (client->routing.retry_sent)
		fits = false;			/* a second request on the link: only the first is kept */
	else if (client->routing.retry_ext)
		fits = type == 'P' || type == 'B' || type == 'D' || type == 'E' || type == 'S';
	else
		fits = type == 'Q';
	if (fits && type == 'P')
	{
		const char *name;
		const char *query;
		uint32_t	body_off;

		/*
		 * a named Parse must create its name (routing_retry drops it again before the replay); one of
		 * an existing name is answered 42P05 and not worth a retry
		 */
		fits = proto_read_parse(msg, total, &name, &query, &body_off) &&
			(!name[0] || !prepared_client_lookup(&client->stmts, name));
	}
	fits = fits && total <= ROUTING_RETRY_MAX - iobuf_len(client->routing.retry_buf);
	if (!fits || !iobuf_append(&client->routing.retry_buf, msg, total))
	{
		client->routing.retry = false;
		iobuf_release(&client->routing.retry_buf);
		return;
	}
	if (type == 'Q' || type == 'S')
		client->routing.retry_sent = true;
}

bool
routing_retry(Client *client, int node, const char *reason)
{
	uint32_t	kept = iobuf_len(client->routing.retry_buf);
	uint32_t	rest = iobuf_len(client->conn.rbuf);
	RoutingSet *rs = client->pool ? client->pool->routing : NULL;

	client->routing.retry = false;
	if (!rs || client->state != CL_ACTIVE || kept == 0)
		return false;
	/*
	 * the names its Parse messages created are dropped: the client never saw their ParseComplete (held
	 * back), and the replay creates them again (a prepared statement of the same text is reused)
	 */
	for (uint32_t off = 0; off + 5 <= kept;)
	{
		const uint8_t *m = iobuf_head(client->routing.retry_buf) + off;
		uint32_t	mlen = 1 + (((uint32_t) m[1] << 24) | ((uint32_t) m[2] << 16) | ((uint32_t) m[3] << 8) | m[4]);
		const char *name;
		const char *query;
		uint32_t	body_off;

		if (mlen < 5 || off + mlen > kept)
			break;
		if (m[0] == 'P' && proto_read_parse(m, mlen, &name, &query, &body_off) && name[0])
			prepared_client_close(&client->stmts, name);
		off += mlen;
	}
	/* the read goes back in front of whatever the client has sent since: the kept copy becomes rbuf */
	if (rest && !iobuf_append(&client->routing.retry_buf, iobuf_head(client->conn.rbuf), rest))
		return false;
	iobuf_release(&client->conn.rbuf);
	client->conn.rbuf = client->routing.retry_buf;
	client->routing.retry_buf = NULL;
	slog_info(&client->conn, "read retried on another node: node %d (%s) failed before replying: %s", node,
			  rs->names[node], reason);
	iobuf_release(&client->routing.held);	/* the held partial reply: the retry gets a whole one */
	client->routing.avoid_node = node + 1;
	client->query_start = 0;
	client->routing.retry_sent = false;
	client_set_state(client, CL_IDLE);
	if (rs->hm)
		health_check_now(rs->hm);
	client_resume(client);
	return true;
}

/* reroute: client waits for node: its request (unsent) is routed again, avoiding node. */
static bool
reroute(Client *client, int node, const char *reason, bool reads_only)
{
	RoutingSet *rs = client->pool ? client->pool->routing : NULL;

	if (!rs || (reads_only && !client->routing.read) || client->state != CL_WAITING)
		return false;
	slog_info(&client->conn, "%s routed again: node %d (%s) cannot be used: %s",
			  client->routing.read ? "read" : "transaction", node, rs->names[node], reason);
	client->routing.avoid_node = node + 1;
	client_set_state(client, CL_IDLE);
	if (rs->hm)
		health_check_now(rs->hm);
	client_resume(client);
	return true;
}

bool
routing_reroute_waiting(Client *client, int node, const char *reason)
{
	return reroute(client, node, reason, true);
}

bool
routing_reroute_any(Client *client, int node, const char *reason)
{
	return reroute(client, node, reason, false);
}

void
routing_node_info(const Pool *pool, int node, RoutingNodeInfo *info)
{
	const RoutingSet *rs = pool ? pool->routing : NULL;
	const HealthNodeState *st;

	info->role = node == 0 ? "primary" : "replica";
	info->status = "unchecked";
	info->lsn[0] = '\0';
	info->lag_bytes = -1;
	info->lag_ms = -1;
	info->reads = info->writes = 0;
	snprintf(info->source, sizeof(info->source), "config");
	if (rs && rs->patroni_endpoints[0] && node < rs->n_nodes)
		routing_source(rs, node, info->source, sizeof(info->source));
	if (rs && node < rs->n_nodes && rs->slot[node] == RS_RETIRED)
	{
		info->role = "unknown";
		info->status = "removed";
		info->reads = rs->reads[node];
		info->writes = rs->writes[node];
		return;
	}
	if (!rs || !rs->hm || node >= rs->n_nodes || !health_node_active(rs->hm, node))
		return;
	st = health_node_state(rs->hm, node);
	info->role = health_role_name(st->role);
	info->status = health_status_name(st->status);
	if (st->lsn)
		snprintf(info->lsn, sizeof(info->lsn), "%X/%X", (unsigned) (st->lsn >> 32), (unsigned) st->lsn);
	info->lag_bytes = st->lag_bytes;
	info->lag_ms = st->lag_ms;
	info->reads = rs->reads[node];
	info->writes = rs->writes[node];
}

/*
 * routing_source: "patroni <member> <role>[ noloadbalance][ lag?] via <url> <age>s ago" or the last
 * error: where the node came from, for SHOW ROUTING.
 */
static void
routing_source(const RoutingSet *rs, int node, char *out, size_t outlen)
{
	int64_t		age_ms = rs->patroni_ok_us ? ((int64_t) conn_now_usec() - rs->patroni_ok_us) / 1000 : -1;
	int			n;

	n = snprintf(out, outlen, "patroni %s %s%s%s via %s %.1fs ago", rs->member_name[node],
				 rs->slot[node] == RS_RETIRED ? "left the cluster (draining)" : rs->member_role[node],
				 rs->weight[node] == 0 && rs->slot[node] == RS_MEMBER ? " noloadbalance" : "",
				 !rs->patroni_reads_ok[node] && rs->slot[node] == RS_MEMBER ? " lag-unknown-or-high" : "",
				 rs->patroni_url[0] ? rs->patroni_url : "-",
				 age_ms >= 0 ? age_ms / 1000.0 : -1.0);
	if (rs->patroni_error[0] && n > 0 && (size_t) n < outlen)
		snprintf(out + n, outlen - (size_t) n, "; last poll failed: %s", rs->patroni_error);
}

bool
routing_client_take_capture(Client *client)
{
	bool		capture = client->routing.capture;

	client->routing.capture = false;
	return capture;
}

void
routing_client_release(Client *client)
{
	iobuf_release(&client->routing.retry_buf);
	iobuf_release(&client->routing.held);
}

int
routing_write_node(RoutingSet *rs)
{
	return rs ? write_node(rs) : 0;
}
