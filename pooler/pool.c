/*
 * pool.c: owns the pools (see pool.h): creating them on a client's first login, handing servers to
 * clients (idle server at once, else FIFO wait on the node), sizing (pool_size, reserve_pool_size after
 * reserve_pool_timeout, min_pool_size, max_db_connections), the janitor that enforces every timeout,
 * PAUSE/RESUME/KILL, reload, and the reaper that returns closed connections to their slabs between
 * events (so a handler never touches a freed object).
 */
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "client.h"
#include "hostlist.h"
#include "log.h"
#include "proto.h"
#include "routing.h"
#include "server.h"

List		pool_list = {&pool_list, &pool_list};
bool		pool_shutting_down;

static struct event *janitor_ev;
static struct event *reaper_ev;
static uint64_t last_stats_roll;

#define JANITOR_USEC 100000

static void close_list_servers(List *list, const char *reason);

static void
node_init(PoolNode *node, NodeRole role, const char *host, int port)
{
	memset(node, 0, sizeof(*node));
	node->role = role;
	snprintf(node->host, sizeof(node->host), "%s", host);
	node->port = port;
	list_init(&node->login_servers);
	list_init(&node->idle_servers);
	list_init(&node->active_servers);
	list_init(&node->waiting_clients);
}

/* node_init_first_host: node 0 of a pool of db, at the first entry of its host (a list: server.c walks it). */
static void
node_init_first_host(PoolNode *node, const DatabaseEntry *db)
{
	char		first[CF_HOST_MAX];

	if (!hostlist_entry(db->host, 0, first, sizeof(first)))
		first[0] = '\0';
	node_init(node, NODE_PRIMARY, first, db->port);
}

/* pool_db_known: some pool serves the database dbname (clients ask for that name). */
static bool
pool_db_known(const char *dbname)
{
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
		if (strcmp(container_of(it, Pool, pool_node)->db.name, dbname) == 0)
			return true;
	return false;
}

/*
 * issue 15: the per-database ([databases] line) and per-user ([users]) settings, else the [pooler] one:
 * a user's value wins over the database's (PgBouncer's order).
 */
static int
pool_setting(int user_value, int db_value, int global_value)
{
	return user_value >= 0 ? user_value : db_value >= 0 ? db_value : global_value;
}

static int
pool_size_for(const Config *cfg, const DatabaseEntry *db, const char *user)
{
	const UserEntry *u = config_find_user(cfg, user);

	return pool_setting(u && u->pool_size > 0 ? u->pool_size : -1, db->pool_size > 0 ? db->pool_size : -1,
						cfg->default_pool_size);
}

static int
pool_user_pool_mode(const Config *cfg, const char *user)
{
	const UserEntry *u = config_find_user(cfg, user);

	return u ? u->pool_mode : -1;
}

static int
pool_reserve_size(const Pool *pool)
{
	const UserEntry *u = config_find_user(&cf, pool->user);

	return pool_setting(u ? u->reserve_pool_size : -1, pool->db.reserve_pool_size, cf.reserve_pool_size);
}

static int
pool_max_user_connections(const Pool *pool)
{
	const UserEntry *u = config_find_user(&cf, pool->user);

	return pool_setting(u ? u->max_user_connections : -1, -1, cf.max_user_connections);
}

#define POOL_MIN_SIZE(pool) pool_setting(-1, (pool)->db.min_pool_size, cf.min_pool_size)
#define POOL_MAX_DB_CONNECTIONS(pool) pool_setting(-1, (pool)->db.max_db_connections, cf.max_db_connections)

bool
pool_server_lifetime_over(const Pool *pool, const Server *server, uint64_t now)
{
	long		lifetime_ms = pool->db.server_lifetime_ms >= 0 ? pool->db.server_lifetime_ms : cf.server_lifetime_ms;

	/* 0: each server connection serves one client (or transaction) only, PgBouncer's meaning */
	return now - server->connect_time >= (uint64_t) lifetime_ms * 1000;
}

static Pool *
pool_new(const DatabaseEntry *db, const char *user, bool admin)
{
	Pool	   *pool = calloc(1, sizeof(Pool));

	if (!pool)
		return NULL;
	pool->db = *db;
	snprintf(pool->user, sizeof(pool->user), "%s", user);
	snprintf(pool->password, sizeof(pool->password), "%s", db->password);
	pool->pool_size = admin ? db->pool_size : pool_size_for(&cf, db, user);
	pool->user_pool_mode = admin ? -1 : pool_user_pool_mode(&cf, user);
	pool->admin = admin;
	pool->paused = !admin && admin_db_paused(db->name);	/* a PAUSE or KILL in force covers new pools */
	pool->n_nodes = 1;
	node_init_first_host(&pool->nodes[0], db);
	/* patroni=: the members come from routing_attach, once Patroni's /cluster has answered */
	pool->nodes[0].vacant = db->patroni[0] != '\0';
	if (!admin)
		for (int i = 0; i < db->n_replicas && i + 1 < POOL_MAX_NODES; i++)
			node_init(&pool->nodes[pool->n_nodes++], NODE_REPLICA, db->replica_host[i], db->replica_port[i]);
	list_init(&pool->idle_clients);
	list_init(&pool->active_clients);
	list_init(&pool->welcome_clients);
	list_append(&pool_list, &pool->pool_node);
	routing_attach(pool);
	log_info("new pool %s/%s -> %s:%d", pool->db.name, pool->user, db->host, db->port);
	return pool;
}

Pool *
pool_get(const DatabaseEntry *db, const char *dbname, const char *client_user)
{
	const char *user = db->user[0] ? db->user : client_user;
	List	   *it;
	DatabaseEntry entry = *db;

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (!pool->admin && strcmp(pool->user, user) == 0 && strcmp(pool->db.name, dbname) == 0)
			return pool;
	}
	if (strcmp(entry.name, dbname) != 0)
	{
		Pool	   *pool;

		snprintf(entry.name, sizeof(entry.name), "%s", dbname);
		if (!entry.dbname[0])
			snprintf(entry.dbname, sizeof(entry.dbname), "%s", dbname);
		if (!pool_db_known(dbname))
			log_info("registered new auto-database: %s (from the \"*\" entry)", dbname);	/* PgBouncer's words */
		pool = pool_new(&entry, user, false);
		if (pool)
			pool->autodb = true;
		return pool;
	}
	return pool_new(&entry, user, false);
}

/* pool_has_clients: a client of any state refers to pool. */
static bool
pool_has_clients(const Pool *pool)
{
	if (!list_empty(&pool->idle_clients) || !list_empty(&pool->active_clients) ||
		!list_empty(&pool->welcome_clients))
		return true;
	for (int i = 0; i < pool->n_nodes; i++)
		if (!list_empty(&pool->nodes[i].waiting_clients))
			return true;
	return false;
}

/*
 * expire_autodb: a pool of the "*" entry (or of a user that exists only through auth_query) unused for
 * autodb_idle_timeout closes its servers and, once
 * none is left (a server running its reset query finishes first), is freed with its statistics, as
 * PgBouncer does. Returns true when pool was freed (the caller must not touch it again).
 */
static bool
expire_autodb(Pool *pool, uint64_t now)
{
	int			n_servers = 0;

	if (!pool->autodb || cf.autodb_idle_timeout_ms <= 0 || pool_has_clients(pool))
	{
		pool->unused_since_us = 0;
		return false;
	}
	if (!pool->unused_since_us)
		pool->unused_since_us = now;
	if (now - pool->unused_since_us < (uint64_t) cf.autodb_idle_timeout_ms * 1000)
		return false;
	for (int i = 0; i < pool->n_nodes; i++)
	{
		close_list_servers(&pool->nodes[i].idle_servers, "autodb_idle_timeout: the pool was unused");
		close_list_servers(&pool->nodes[i].login_servers, "autodb_idle_timeout: the pool was unused");
		n_servers += pool->nodes[i].n_servers;
	}
	if (n_servers > 0)
		return false;
	log_info("pool %s/%s freed: unused for autodb_idle_timeout", pool->db.name, pool->user);
	server_forget_pool(pool);
	list_del(&pool->pool_node);
	params_clear(&pool->welcome_params);
	for (int i = 0; i < pool->n_welcome; i++)
	{
		params_unref(pool->welcome_names[i]);
		params_unref(pool->welcome_values[i]);
	}
	free(pool);
	return true;
}

Pool *
pool_admin(const char *user)
{
	List	   *it;
	DatabaseEntry db;

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (pool->admin && strcmp(pool->user, user) == 0)
			return pool;
	}
	memset(&db, 0, sizeof(db));
	snprintf(db.name, sizeof(db.name), "faregate");
	db.pool_size = 1;
	return pool_new(&db, user, true);
}

int
pool_route(Pool *pool, Client *client, char type, const uint8_t *msg, uint32_t total)
{
	return routing_route(pool, client, type, msg, total);
}

/* node_allowed: how many servers the node may have now (reserve counted after reserve_pool_timeout). */
static int
node_allowed(Pool *pool, PoolNode *node)
{
	int			allowed = pool->pool_size;
	List	   *first = list_first(&node->waiting_clients);

	if (pool_reserve_size(pool) > 0 && first)
	{
		Client	   *client = container_of(first, Client, list_node);

		if (conn_now_usec() - client->request_time >= (uint64_t) cf.reserve_pool_timeout_ms * 1000)
			allowed += pool_reserve_size(pool);
	}
	return allowed;
}

int
pool_db_connections(const char *dbname)
{
	int			n = 0;
	List	   *it;

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (strcmp(pool->db.name, dbname) == 0)
			for (int i = 0; i < pool->n_nodes; i++)
				n += pool->nodes[i].n_servers;
	}
	return n;
}

int
pool_user_connections(const char *user)
{
	int			n = 0;
	List	   *it;

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (!pool->admin && strcmp(pool->user, user) == 0)
			for (int i = 0; i < pool->n_nodes; i++)
				n += pool->nodes[i].n_servers;
	}
	return n;
}

/* clients_wait: clients of pool wait for a server of node_idx (queued, or for the pool's first login). */
static bool
clients_wait(const Pool *pool, int node_idx)
{
	return pool->nodes[node_idx].n_waiting > 0 ||
		(node_idx == pool->login_node && !list_empty(&pool->welcome_clients));
}

/*
 * evict_idle_server: at max_db_connections (dbname) or max_user_connections (user), a pool other than
 * pool that shares the limit gives up its server idle the longest, so waiting clients are not starved
 * until server_idle_timeout (PgBouncer's eviction). True when one was closed.
 */
static bool
evict_idle_server(const Pool *pool, const char *dbname, const char *user)
{
	Server	   *oldest = NULL;

	for (List *it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *other = container_of(it, Pool, pool_node);

		if (other == pool || other->admin || (dbname && strcmp(other->db.name, dbname) != 0) ||
			(user && strcmp(other->user, user) != 0))
			continue;
		for (int i = 0; i < other->n_nodes; i++)
			for (List *s = other->nodes[i].idle_servers.next; s != &other->nodes[i].idle_servers; s = s->next)
			{
				Server	   *server = container_of(s, Server, list_node);

				if (!oldest || server->request_time < oldest->request_time)
					oldest = server;
			}
	}
	if (!oldest)
		return false;
	server_close(oldest, dbname ? "evicted: max_db_connections reached and another pool of the database needs a server" :
				 "evicted: max_user_connections reached and another pool of the user needs a server");
	return true;
}

bool
pool_launch(Pool *pool, int node_idx)
{
	PoolNode   *node = &pool->nodes[node_idx];

	if (pool->admin || pool_shutting_down || node->vacant || node->retired)
		return false;
	if (node->n_servers >= node_allowed(pool, node))
		return false;
	if (POOL_MAX_DB_CONNECTIONS(pool) > 0 && pool_db_connections(pool->db.name) >= POOL_MAX_DB_CONNECTIONS(pool) &&
		(!clients_wait(pool, node_idx) || !evict_idle_server(pool, pool->db.name, NULL)))
		return false;
	if (pool_max_user_connections(pool) > 0 && pool_user_connections(pool->user) >= pool_max_user_connections(pool) &&
		(!clients_wait(pool, node_idx) || !evict_idle_server(pool, NULL, pool->user)))
		return false;
	if (node->last_connect_failure_us &&
		conn_now_usec() - node->last_connect_failure_us < (uint64_t) cf.server_login_retry_ms * 1000)
		return false;
	if (node->n_servers >= pool->pool_size)	/* PgBouncer's words, which its users' alerts look for */
		log_warning("%s/%s: taking connection from reserve_pool (%d of %d)", pool->db.name, pool->user,
					node->n_servers - pool->pool_size + 1, pool_reserve_size(pool));
	return server_connect(pool, node_idx);
}

/*
 * login_has_been_failing: node's last connect or login failed and it has no server that is not still
 * logging in (PgBouncer's check_fast_fail), for a pool without read routing (with it, routing.c's health
 * checks say which node takes a request, and a failed login fails or moves its waiting clients at once).
 */
static bool
login_has_been_failing(const Pool *pool, int node_idx)
{
	const PoolNode *node = &pool->nodes[node_idx];

	return node_idx == 0 && !pool->routing && node->last_connect_failure_us && node->n_servers - node->n_login == 0;
}

bool
pool_login_failing(const Pool *pool)
{
	return login_has_been_failing(pool, pool->login_node);
}

void
pool_fail_fast(Pool *pool, Client *client, int node_idx)
{
	char		msg[400];

	snprintf(msg, sizeof(msg), "server login has been failing, try again later (server_login_retry): %s",
			 pool->nodes[node_idx].login_error);
	client_close(client, "08006", msg, "Check that the server is up; the pooler retries every server_login_retry.");
	/* with nobody waiting the janitor would not try again: this request starts the next attempt */
	pool_launch(pool, node_idx);
}

/*
 * first_idle_server: the idle server to hand out next; idle ones marked close_needed (RECONNECT, a
 * reload) are closed on the way rather than used once more before the janitor's tick (PgBouncer does
 * the same when it picks a server).
 */
static List *
first_idle_server(PoolNode *node)
{
	List	   *first;

	while ((first = list_first(&node->idle_servers)) != NULL &&
		   container_of(first, Server, list_node)->close_needed)
		server_close(container_of(first, Server, list_node), "database configuration changed");
	return first;
}

bool
pool_request(Pool *pool, Client *client, int node_idx)
{
	PoolNode   *node = &pool->nodes[node_idx];
	List	   *first = first_idle_server(node);

	bool		checking = false;

	if (first && !pool->paused)
	{
		Server	   *server = container_of(first, Server, list_node);

		if (!server_needs_check(server, conn_now_usec()))
		{
			client_link(client, server);
			return client->state == CL_ACTIVE;
		}
		/* unused for server_check_delay: tested first; the client waits for its ReadyForQuery */
		checking = server_start_check(server);
	}
	if (!first && login_has_been_failing(pool, node_idx))
	{
		pool_fail_fast(pool, client, node_idx);
		return false;
	}
	client->wait_node = node_idx;
	client->request_time = conn_now_usec();
	client->wait_notified = false;
	client_set_state(client, CL_WAITING);
	/* start one more connection when those logging in cannot cover the queue */
	if (!pool->paused && !checking && node->n_login < node->n_waiting)
		pool_launch(pool, node_idx);
	return false;
}

void
pool_server_ready(Server *server)
{
	Pool	   *pool = server->pool;
	PoolNode   *node = &pool->nodes[server->node];
	List	   *first;

	server_set_state(server, SV_IDLE);
	if (pool->paused || pool_shutting_down)
		return;
	first = list_first(&node->waiting_clients);
	if (first)
	{
		Client	   *client = container_of(first, Client, list_node);

		client_link(client, server);
		client_resume(client);
	}
}

/* close_list_clients: closes every client on list with the reason (FATAL when sqlstate is set). */
static void
close_list_clients(List *list, const char *sqlstate, const char *reason, const char *hint)
{
	List	   *it;
	List	   *tmp;

	list_for_each_safe(it, tmp, list)
		client_close(container_of(it, Client, list_node), sqlstate, reason, hint);
}

/*
 * node_usable_servers: node's server connections that may still serve a waiting client: logging in, or
 * logged in and not to be closed (RECONNECT, a reload or server_lifetime marked close_needed: those go
 * when released, as in PgBouncer's kill_pool_logins they do not count).
 */
static int
node_usable_servers(const PoolNode *node)
{
	int			n = node->n_login;
	const List *lists[2] = {&node->idle_servers, &node->active_servers};

	for (int l = 0; l < 2; l++)
		for (const List *it = lists[l]->next; it != lists[l]; it = it->next)
			if (!container_of(it, Server, list_node)->close_needed)
				n++;
	return n;
}

/*
 * pool_login_failed: a connect or login to node failed for reason. The node keeps the reason and the time
 * (pool_launch waits server_login_retry before the next attempt; pool_request fails new requests at once
 * meanwhile, PgBouncer's "server login has been failing"). After a transient failure (refused, DNS, a
 * timeout, the server starting up) the clients already waiting keep waiting, as in PgBouncer, so that a
 * short outage (a restart) costs them a delay, not an error, until query_wait_timeout or query_timeout
 * ends the wait; a routed read moves to another node at once. A refusal (the server's ErrorResponse: a
 * wrong password, a missing database, a role that may not log in; or what the pooler cannot do: a
 * certificate that does not verify) fails them at once while the node has no server left, since another
 * attempt would fail the same way: PgBouncer 1.25's kill_pool_logins, which passes the server's message
 * and SQLSTATE on as they are. With read routing (replicas=, patroni=) every failure fails them at once:
 * a promoted replica may take the writes, and the client's next attempt is routed there.
 */
void
pool_login_failed(Pool *pool, int node_idx, const char *sqlstate, const char *reason, LoginFailure how)
{
	PoolNode   *node = &pool->nodes[node_idx];
	List	   *it;
	List	   *tmp;
	char		msg[512];
	/* with routing a new primary may take the writes: the client's next attempt is routed there */
	bool		fail_all = how != LOGIN_TRANSIENT || pool->routing;

	node->last_connect_failure_us = conn_now_usec();
	snprintf(node->login_error, sizeof(node->login_error), "%s", reason);
	if (node_usable_servers(node) > 0)
		return;
	snprintf(msg, sizeof(msg), "%s%s", how == LOGIN_SERVER_ERROR ? "" : "could not log into the database server: ",
			 reason);
	list_for_each_safe(it, tmp, &node->waiting_clients)
		if (!routing_reroute_waiting(container_of(it, Client, list_node), node_idx, reason) && fail_all)
			client_close(container_of(it, Client, list_node), sqlstate, msg,
						 "Check that the server is up and the [databases] entry is right.");
	if (node_idx == pool->login_node && fail_all)
		close_list_clients(&pool->welcome_clients, sqlstate, msg,
						   "Check that the server is up and the [databases] entry is right.");
}

static void
close_list_servers(List *list, const char *reason)
{
	List	   *it;
	List	   *tmp;

	list_for_each_safe(it, tmp, list)
		server_close(container_of(it, Server, list_node), reason);
}

/*
 * expire_welcome_vacant: the pool's login node has no host yet (Patroni discovery has not answered):
 * clients logged in longer than server_connect_timeout ago are told so instead of waiting forever.
 */
static void
expire_welcome_vacant(Pool *pool, uint64_t now)
{
	List	   *it;
	List	   *tmp;

	if (cf.server_connect_timeout_ms <= 0)
		return;
	list_for_each_safe(it, tmp, &pool->welcome_clients)
	{
		Client	   *client = container_of(it, Client, list_node);

		if (now - client->connect_time > (uint64_t) cf.server_connect_timeout_ms * 1000)
			client_close(client, "08006", "no database host known yet: Patroni's member list (patroni=) has not "
						 "been read", "Check that Patroni's REST API answers GET /cluster at the patroni= "
						 "addresses (SHOW ROUTING shows the last error).");
	}
}

void
pool_node_assign(Pool *pool, int idx, const char *host, int port, NodeRole role)
{
	PoolNode   *node = &pool->nodes[idx];

	node_init(node, role, host, port);
	if (idx >= pool->n_nodes)
	{
		for (int i = pool->n_nodes; i < idx; i++)
		{
			node_init(&pool->nodes[i], NODE_REPLICA, "", 0);
			pool->nodes[i].vacant = true;
		}
		pool->n_nodes = idx + 1;
	}
	if (pool->nodes[pool->login_node].vacant || pool->nodes[pool->login_node].retired)
		pool->login_node = idx;
}

void
pool_node_retire(Pool *pool, int idx, const char *reason)
{
	PoolNode   *node = &pool->nodes[idx];
	List	   *it;
	int			n;

	if (node->vacant || node->retired)
		return;
	node->retired = true;
	for (it = server_all_list.next; it != &server_all_list; it = it->next)
	{
		Server	   *server = container_of(it, Server, all_node);

		if (server->pool == pool && server->node == idx)
			server->close_needed = true;
	}
	close_list_servers(&node->idle_servers, reason);
	close_list_servers(&node->login_servers, reason);
	/* waiting clients sent nothing yet: they are routed again (to a node that is still a member) */
	for (n = node->n_waiting; n > 0 && !list_empty(&node->waiting_clients); n--)
	{
		Client	   *client = container_of(list_first(&node->waiting_clients), Client, list_node);

		if (!routing_reroute_any(client, idx, reason))
			client_close(client, "08006", "the database host this transaction waited for left the cluster",
						 "Retry the transaction.");
	}
	/* a pool still waiting for its first login moves it to a member that stays */
	if (idx == pool->login_node)
		for (int i = 0; i < pool->n_nodes; i++)
			if (!pool->nodes[i].vacant && !pool->nodes[i].retired)
			{
				pool->login_node = i;
				break;
			}
}

bool
pool_node_drained(const Pool *pool, int idx)
{
	const PoolNode *node = &pool->nodes[idx];

	return idx >= pool->n_nodes || node->vacant || (node->retired && node->n_servers == 0 && node->n_waiting == 0);
}

void
pool_node_release(Pool *pool, int idx)
{
	if (idx >= pool->n_nodes)
		return;
	node_init(&pool->nodes[idx], NODE_REPLICA, "", 0);
	pool->nodes[idx].vacant = true;
}

/*
 * Timeouts per user (issue 15): a [users] line's query_timeout, idle_transaction_timeout,
 * transaction_timeout and client_idle_timeout replace the [pooler] value when above 0 (PgBouncer's
 * rule, so 0 on a [users] line means "the [pooler] value", not "off"). As in PgBouncer the first three
 * follow the pool's server login user (the database's forced user=, else the client's) and
 * client_idle_timeout the client's own login user.
 */
static long
user_timeout_ms(long user_ms, long global_ms)
{
	return user_ms > 0 ? user_ms : global_ms;
}

static bool
timed_out(uint64_t since, uint64_t now, long limit_ms)
{
	return limit_ms > 0 && since && now - since > (uint64_t) limit_ms * 1000;
}

/* janitor_active_clients: query_timeout, idle_transaction_timeout and transaction_timeout of a pool. */
static void
janitor_active_clients(Pool *pool, uint64_t now)
{
	const UserEntry *u = config_find_user(&cf, pool->user);
	long		query_ms = user_timeout_ms(u ? u->query_timeout_ms : 0, cf.query_timeout_ms);
	long		idle_transaction_ms = user_timeout_ms(u ? u->idle_transaction_timeout_ms : 0,
													  cf.idle_transaction_timeout_ms);
	long		transaction_ms = user_timeout_ms(u ? u->transaction_timeout_ms : 0, cf.transaction_timeout_ms);
	List	   *it;
	List	   *tmp;

	if (query_ms <= 0 && idle_transaction_ms <= 0 && transaction_ms <= 0)
		return;
	list_for_each_safe(it, tmp, &pool->active_clients)
	{
		Client	   *client = container_of(it, Client, list_node);
		Server	   *server = client->server;
		bool		in_transaction = client->tx_status != 'I' || client->query_start;

		if (!server)
			continue;
		if (!server_exp_idle(server) && timed_out(client->query_start, now, query_ms))
			client_close(client, "57014",
						 "query timeout (query_timeout): the query ran longer than the pooler allows",
						 "Make the query faster or raise query_timeout.");
		else if (server_exp_idle(server) && client->tx_status != 'I' && !client->query_start &&
				 timed_out(client->request_time, now, idle_transaction_ms))
			client_close(client, "25P03",
						 "idle transaction timeout (idle_transaction_timeout): the transaction was idle too long",
						 "Commit or roll back transactions promptly, or raise idle_transaction_timeout.");
		else if (in_transaction && timed_out(client->transaction_start, now, transaction_ms))
			client_close(client, "25P04",
						 "transaction timeout (transaction_timeout): the transaction ran longer than the pooler allows",
						 "Keep transactions shorter, or raise transaction_timeout.");
	}
}

/* users_set_client_idle_timeout: whether any [users] line sets its own client_idle_timeout. */
static bool
users_set_client_idle_timeout(void)
{
	for (int i = 0; i < cf.n_users; i++)
		if (cf.users[i].client_idle_timeout_ms > 0)
			return true;
	return false;
}

/*
 * janitor_idle_clients: client_idle_timeout, the client's own [users] line first. The pool's user is
 * looked up once; only a client whose login user differs (a database line that forces user=) costs a
 * lookup of its own, and only when some [users] line sets the timeout (this runs every JANITOR_USEC).
 */
static void
janitor_idle_clients(Pool *pool, uint64_t now)
{
	bool		per_user = users_set_client_idle_timeout();
	const UserEntry *pool_user = per_user ? config_find_user(&cf, pool->user) : NULL;
	List	   *it;
	List	   *tmp;

	if (cf.client_idle_timeout_ms <= 0 && !per_user)
		return;
	list_for_each_safe(it, tmp, &pool->idle_clients)
	{
		Client	   *client = container_of(it, Client, list_node);
		const UserEntry *u = pool_user;

		if (per_user && strcmp(client->user, pool->user) != 0)
			u = config_find_user(&cf, client->user);
		if (timed_out(client->request_time, now,
					  user_timeout_ms(u ? u->client_idle_timeout_ms : 0, cf.client_idle_timeout_ms)))
			client_close(client, "08P01", "client_idle_timeout: the connection was idle too long",
						 "Reconnect; raise client_idle_timeout for long-lived idle connections.");
	}
}

/*
 * expire_waiting: a client waiting waited µs for a server of node (or, logged in, for the pool's first
 * login): query_wait_timeout, and query_timeout (query_ms, the pool's), which counts from the request in
 * PgBouncer too. The error says why no server came when the node's logins have been failing. True if it
 * was closed.
 */
static bool
expire_waiting(Pool *pool, int node_idx, Client *client, uint64_t waited, long query_ms)
{
	const PoolNode *node = &pool->nodes[node_idx];
	char		msg[400];
	bool		wait_over = cf.query_wait_timeout_ms > 0 && waited > (uint64_t) cf.query_wait_timeout_ms * 1000;
	bool		query_over = query_ms > 0 && waited > (uint64_t) query_ms * 1000;

	if (!wait_over && !query_over)
		return false;
	snprintf(msg, sizeof(msg), "%s: no server connection became free in time%s%s",
			 query_over ? "query timeout (query_timeout)" : "query_wait_timeout",
			 node->last_connect_failure_us ? "; the server login has been failing: " : "",
			 node->last_connect_failure_us ? node->login_error : "");
	client_close(client, query_over ? "57014" : "08P01", msg,
				 node->last_connect_failure_us ? "Check that the server is up and the [databases] entry is right." :
				 "Raise pool_size or query_wait_timeout, or make transactions shorter.");
	return true;
}

/*
 * fast_close_active: server_fast_close = 1: a server to be closed (RECONNECT, a reload that changed the
 * database) that a client holds between transactions (session pooling: in transaction pooling it was
 * released, and closed, at the transaction's end) is closed now, with its client, instead of at the end
 * of the session, as PgBouncer does.
 */
static void
fast_close_active(PoolNode *node)
{
	List	   *it;
	List	   *tmp;

	list_for_each_safe(it, tmp, &node->active_servers)
	{
		Server	   *server = container_of(it, Server, list_node);
		Client	   *client = server->client;

		if (!server->close_needed || server->state != SV_ACTIVE || !server_exp_idle(server) ||
			server->tx_status != 'I' || server->fwd_remain > 0 || conn_has_output(&server->conn))
			continue;
		if (client)
		{
			/* unlinked first: server_close would report the server's end to the client as a failure */
			client->server = NULL;
			server->client = NULL;
		}
		server_close(server, "database configuration changed");
		if (client)
			client_close(client, "08P01", "database configuration changed (server_fast_close): reconnect",
						 "RECONNECT or a reload changed the database; connect again.");
	}
}

/*
 * notify_waiting: query_wait_notify: a client that has waited longer for a server gets one NOTICE per
 * wait, PgBouncer 1.25's (its words, which clients may look for).
 */
static void
notify_waiting(Client *client, uint64_t waited)
{
	uint8_t		data[256];
	PktBuf		pkt;

	if (cf.query_wait_notify_ms <= 0 || client->wait_notified || waited <= (uint64_t) cf.query_wait_notify_ms * 1000)
		return;
	client->wait_notified = true;
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_error(&pkt, 'N', "NOTICE", "00000",
					  "No server connection available in postgres backend, client being queued", NULL);
	if (pkt.failed || !client_send_bytes(client, pkt.data, pkt.len))
		slog_debug(&client->conn, "no room for query_wait_notify's notice");
	else
		(void) client_flush(client);
}

/* janitor_pool: every timeout of one pool. */
static void
janitor_pool(Pool *pool, uint64_t now)
{
	List	   *it;
	List	   *tmp;
	const UserEntry *pool_user = config_find_user(&cf, pool->user);	/* once per pool, not per client */
	long		query_ms = user_timeout_ms(pool_user ? pool_user->query_timeout_ms : 0, cf.query_timeout_ms);

	pool->max_wait_us = 0;
	for (int i = 0; i < pool->n_nodes; i++)
	{
		PoolNode   *node = &pool->nodes[i];
		int			n_idle = 0;

		list_for_each_safe(it, tmp, &node->waiting_clients)
		{
			Client	   *client = container_of(it, Client, list_node);
			uint64_t	waited = now - client->request_time;

			if (expire_waiting(pool, i, client, waited, query_ms))
				continue;
			if (waited > pool->max_wait_us)
				pool->max_wait_us = waited;
			notify_waiting(client, waited);
		}
		if (i == pool->login_node)
			list_for_each_safe(it, tmp, &pool->welcome_clients)
			{
				Client	   *client = container_of(it, Client, list_node);

				(void) expire_waiting(pool, i, client, now - client->connect_time, query_ms);
			}
		/* clients logged in before the pool's first server login: keep trying (after a failure) */
		if (i == pool->login_node && !list_empty(&pool->welcome_clients) && node->n_login == 0)
			pool_launch(pool, i);
		if (i == pool->login_node && node->vacant)
			expire_welcome_vacant(pool, now);
		/* keep connecting for waiting clients (after failures, or when the reserve opens) */
		if (!list_empty(&node->waiting_clients) && !pool->paused &&
			node->n_login < node->n_waiting)
			pool_launch(pool, i);

		list_for_each_safe(it, tmp, &node->login_servers)
		{
			Server	   *server = container_of(it, Server, list_node);

			if (cf.server_connect_timeout_ms > 0 &&
				now - server->connect_time > (uint64_t) cf.server_connect_timeout_ms * 1000)
			{
				int			node_idx = server->node;

				server_close(server, "connect timeout (server_connect_timeout): login to the server took too long");
				pool_login_failed(pool, node_idx, "08006", "server_connect_timeout: login to the server took too long",
								  LOGIN_TRANSIENT);
			}
		}
		list_for_each_safe(it, tmp, &node->idle_servers)
		{
			Server	   *server = container_of(it, Server, list_node);

			n_idle++;
			if (server->close_needed)
				server_close(server, "database configuration changed");
			else if (pool_server_lifetime_over(pool, server, now))
				server_close(server, "server_lifetime reached");
			else if (cf.server_idle_timeout_ms > 0 && node->n_servers > POOL_MIN_SIZE(pool) &&
					 now - server->request_time > (uint64_t) cf.server_idle_timeout_ms * 1000)
				server_close(server, "server_idle_timeout reached");
		}
		if (cf.server_fast_close)
			fast_close_active(node);
		/* min_pool_size: keep warm connections */
		if (POOL_MIN_SIZE(pool) > 0 && !pool->paused && !pool_shutting_down && (pool->welcome_ready || pool->db.user[0]) &&
			node->n_servers < POOL_MIN_SIZE(pool) && list_empty(&node->login_servers))
			pool_launch(pool, i);
	}
	janitor_active_clients(pool, now);
	server_cancel_janitor(pool, now);
	janitor_idle_clients(pool, now);
}

void
pool_janitor(void)
{
	uint64_t	now = conn_now_usec();
	List	   *it;
	List	   *tmp;

	if (cf.client_login_timeout_ms > 0)
		list_for_each_safe(it, tmp, &login_client_list)
		{
			Client	   *client = container_of(it, Client, list_node);

			if (now - client->connect_time > (uint64_t) cf.client_login_timeout_ms * 1000)
				client_close(client, "08P01", "client_login_timeout: the login took too long",
							 "Check the client's network and credentials.");
		}
	list_for_each_safe(it, tmp, &pool_list)
		if (!expire_autodb(container_of(it, Pool, pool_node), now))
			janitor_pool(container_of(it, Pool, pool_node), now);
	if (now - last_stats_roll >= STATS_PERIOD_USEC)
	{
		for (it = pool_list.next; it != &pool_list; it = it->next)
			stats_roll(&container_of(it, Pool, pool_node)->stats, now - last_stats_roll);
		last_stats_roll = now;
	}
	admin_janitor();
	log_events_flush();
}

static void
janitor_cb(evutil_socket_t fd, short what, void *arg)
{
	pool_janitor();
}

static void
reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	client_reap_zombies();
	server_reap_zombies();
}

void
pool_schedule_reap(void)
{
	if (reaper_ev)
		event_active(reaper_ev, 0, 0);
}

void
pool_init(void)
{
	struct timeval tv = {0, JANITOR_USEC};

	janitor_ev = event_new(conn_base, -1, EV_PERSIST, janitor_cb, NULL);
	event_add(janitor_ev, &tv);
	reaper_ev = event_new(conn_base, -1, 0, reaper_cb, NULL);
	/* lowest priority: runs after every I/O callback of the turn */
	event_priority_set(reaper_ev, 1);
	last_stats_roll = conn_now_usec();
}

/*
 * pool_reload_login_settings: issue 15: what a server connection gets at its login (the database's
 * connect_query, client_encoding, datestyle, timezone) follows a reload; when it changed, the pool's
 * servers are closed as soon as no client uses them, so every server runs the new values, and the next
 * login renews the welcome new clients get (server.c server_refreshes_welcome).
 */
static void
pool_reload_login_settings(Pool *pool, const DatabaseEntry *db)
{
	bool		params_changed = strcmp(db->client_encoding, pool->db.client_encoding) != 0 ||
		strcmp(db->datestyle, pool->db.datestyle) != 0 || strcmp(db->timezone, pool->db.timezone) != 0;

	if (!params_changed && strcmp(db->connect_query, pool->db.connect_query) == 0)
		return;
	log_info("pool %s/%s: connect_query or startup parameters changed, reconnecting", pool->db.name, pool->user);
	memcpy(pool->db.connect_query, db->connect_query, sizeof(pool->db.connect_query));
	memcpy(pool->db.client_encoding, db->client_encoding, sizeof(pool->db.client_encoding));
	memcpy(pool->db.datestyle, db->datestyle, sizeof(pool->db.datestyle));
	memcpy(pool->db.timezone, db->timezone, sizeof(pool->db.timezone));
	if (params_changed && pool->welcome_ready)
		pool->welcome_refresh = true;
	for (List *it = server_all_list.next; it != &server_all_list; it = it->next)
	{
		Server	   *server = container_of(it, Server, all_node);

		if (server->pool == pool)
			server->close_needed = true;
	}
}

void
pool_warm_forced(const Config *cfg)
{
	for (int i = 0; i < cfg->n_databases; i++)
	{
		const DatabaseEntry *db = &cfg->databases[i];

		if (db->user[0] && strcmp(db->name, "*") != 0 &&
			pool_setting(-1, db->min_pool_size, cfg->min_pool_size) > 0 && !pool_get(db, db->name, db->user))
			log_warning("%s/%s: out of memory for the pool min_pool_size keeps warm", db->name, db->user);
	}
}

void
pool_reload(const Config *cfg)
{
	List	   *it;

	routing_reload();

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);
		const DatabaseEntry *db;

		if (pool->admin)
			continue;
		db = config_find_database(cfg, pool->db.name);
		if (!db)
			continue;			/* kept for its clients; new logins are refused */
		pool->pool_size = pool_size_for(cfg, db, pool->user);
		pool->db.min_pool_size = db->min_pool_size;	/* issue 15: per-database settings follow a reload */
		pool->db.reserve_pool_size = db->reserve_pool_size;
		pool->db.max_db_connections = db->max_db_connections;
		pool->db.server_lifetime_ms = db->server_lifetime_ms;
		pool->db.pool_mode = db->pool_mode;
		pool->user_pool_mode = pool_user_pool_mode(cfg, pool->user);
		pool_reload_login_settings(pool, db);
		pool->db.load_balance_hosts = db->load_balance_hosts;
		if ((!db->patroni[0] && (strcmp(db->host, pool->db.host) != 0 || db->port != pool->nodes[0].port)) ||
			strcmp(db->dbname, pool->db.dbname) != 0 || strcmp(db->password, pool->db.password) != 0 ||
			(db->user[0] && strcmp(db->user, pool->user) != 0))
		{
			List	   *sit;

			log_info("pool %s/%s: server settings changed, reconnecting", pool->db.name, pool->user);
			if (!db->patroni[0])	/* discovered members keep their hosts */
			{
				char		first[CF_HOST_MAX];

				snprintf(pool->db.host, sizeof(pool->db.host), "%s", db->host);
				if (!hostlist_entry(db->host, 0, first, sizeof(first)))
					first[0] = '\0';
				snprintf(pool->nodes[0].host, sizeof(pool->nodes[0].host), "%s", first);
				pool->nodes[0].port = db->port;
				pool->nodes[0].addr_len = 0;
				pool->host_entry = 0;
				pool->hosts_failed = 0;
			}
			snprintf(pool->db.dbname, sizeof(pool->db.dbname), "%s", db->dbname);
			snprintf(pool->db.password, sizeof(pool->db.password), "%s", db->password);
			snprintf(pool->password, sizeof(pool->password), "%s", db->password);
			for (sit = server_all_list.next; sit != &server_all_list; sit = sit->next)
			{
				Server	   *server = container_of(sit, Server, all_node);

				if (server->pool == pool)
					server->close_needed = true;
			}
		}
	}
	pool_warm_forced(cfg);
}

int
pool_active_servers(const char *dbname)
{
	int			n = 0;
	List	   *it;

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (dbname && strcmp(pool->db.name, dbname) != 0)
			continue;
		for (int i = 0; i < pool->n_nodes; i++)
			n += list_count(&pool->nodes[i].active_servers);
	}
	return n;
}

void
pool_set_paused(const char *dbname, bool paused)
{
	List	   *it;

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (pool->admin || (dbname && strcmp(pool->db.name, dbname) != 0))
			continue;
		pool->paused = paused;
		if (!paused)
			for (int i = 0; i < pool->n_nodes; i++)
			{
				PoolNode   *node = &pool->nodes[i];

				while (!list_empty(&node->waiting_clients) && first_idle_server(node) != NULL)
				{
					Client	   *client = container_of(list_first(&node->waiting_clients), Client, list_node);

					client_link(client, container_of(list_first(&node->idle_servers), Server, list_node));
					client_resume(client);
				}
				while (!list_empty(&node->waiting_clients) && pool_launch(pool, i) &&
					   node->n_login < node->n_waiting)
					;
			}
	}
}

void
pool_kill(const char *dbname)
{
	List	   *it;

	for (it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (pool->admin || (dbname && strcmp(pool->db.name, dbname) != 0))
			continue;
		close_list_clients(&pool->active_clients, "57P01", "connection killed by the pooler's KILL command",
						   "Reconnect.");
		close_list_clients(&pool->idle_clients, "57P01", "connection killed by the pooler's KILL command",
						   "Reconnect.");
		close_list_clients(&pool->welcome_clients, "57P01", "connection killed by the pooler's KILL command",
						   "Reconnect.");
		for (int i = 0; i < pool->n_nodes; i++)
		{
			close_list_clients(&pool->nodes[i].waiting_clients, "57P01",
							   "connection killed by the pooler's KILL command", "Reconnect.");
			close_list_servers(&pool->nodes[i].active_servers, "KILL");
			close_list_servers(&pool->nodes[i].idle_servers, "KILL");
			close_list_servers(&pool->nodes[i].login_servers, "KILL");
		}
	}
}
