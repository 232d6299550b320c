/*
 * pool.h: pools, one per (database, server user), each with a node set: nodes[0] is the primary, and
 * nodes[1..] are reserved for replicas (read routing, issue 6). Every node has its own server lists and
 * its own FIFO of waiting clients, so a routed transaction waits only for a server of the node it was
 * routed to. Pool sizing (pool_size, min/reserve pool, max_db_connections) applies per node.
 */
#ifndef FAREGATE_POOL_H
#define FAREGATE_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "list.h"
#include "params.h"
#include "stats.h"

typedef struct Pool Pool;
typedef struct Client Client;
typedef struct Server Server;

#define POOL_MAX_NODES 8
#define POOL_MAX_WELCOME 32

typedef enum NodeRole
{
	NODE_PRIMARY,
	NODE_REPLICA
} NodeRole;

/* One PostgreSQL host a pool talks to, with the server connections to it. */
typedef struct PoolNode
{
	NodeRole	role;
	char		host[CF_HOST_MAX];
	int			port;
	struct sockaddr_storage addr;	/* of the last connect (server.c's resolve, dns.c) */
	socklen_t	addr_len;
	int			n_addrs;		/* addresses of host at the last lookup */
	unsigned	dns_pick;		/* which of them the next connect uses (round robin, on after a failure) */
	int			dns_failures;	/* connects failed in a row, up to n_addrs: then the node's login failed */
	List		login_servers;	/* SV_CONNECTING, SV_LOGIN */
	List		idle_servers;	/* SV_IDLE, most recently used first */
	List		active_servers; /* SV_ACTIVE, SV_RESET */
	List		waiting_clients;	/* CL_WAITING, FIFO */
	int			n_servers;		/* on any of the three server lists */
	int			n_login;		/* on login_servers */
	int			n_waiting;		/* on waiting_clients */
	uint64_t	last_connect_failure_us;	/* back-off after a failed connect; 0 once a login succeeds */
	char		login_error[256];	/* why that connect or login failed (the clients' errors name it) */
	/*
	 * Node sets that change at run time (Patroni discovery, routing.c): a vacant slot has no host and is
	 * never connected to; a retired one is a member that left: no new servers, its idle ones closed,
	 * its busy ones closed when their transaction ends (close_needed), until it has none (drained).
	 */
	bool		vacant;
	bool		retired;
	bool		ever_connected; /* a server login to this node succeeded once (metrics, /health) */
	char		tls_error[160];	/* why the last TLS handshake with the node failed; empty once a login succeeds (/health) */
	/*
	 * Per-node traffic (metrics.c exposes it by host and role): xact_count, query_count and bytes
	 * counted where the pool's totals are; routed counts transactions pool_route sent here, and
	 * routed_reads/routed_writes split them when sqlroute.c classified the statement.
	 */
	StatCounters stats;
	uint64_t	routed;
	uint64_t	routed_reads;
	uint64_t	routed_writes;
} PoolNode;

struct Pool
{
	List		pool_node;		/* on pool_list */
	DatabaseEntry db;			/* copy of the [databases] line (name = what clients ask for) */
	char		user[CF_NAME_MAX];	/* server login user (forced user or the client's) */
	char		password[CF_STR_MAX];	/* for server login; empty = from auth_file */
	int			pool_size;
	bool		paused;			/* PAUSE: no new links */
	bool		admin;			/* the virtual admin database: no servers */
	bool		autodb;			/* made for the "*" entry or for a user only auth_query knows: freed
								 * after autodb_idle_timeout unused */
	uint64_t	unused_since_us;	/* µs: since when no client uses it (0 = in use) */
	int			n_nodes;		/* slots 0..n_nodes-1 are or were in use (some may be vacant) */
	PoolNode	nodes[POOL_MAX_NODES];
	int			login_node;		/* the node of the first (welcome) server login: 0, or another live
								 * slot once a discovered node 0 left */
	int			host_entry;		/* host=a,b: the entry of the list node 0's next connect uses (server.c) */
	int			hosts_failed;	/* connects to entries of that list failed in a row */
	List		idle_clients;	/* CL_IDLE */
	List		active_clients; /* CL_ACTIVE */
	List		welcome_clients;	/* CL_WAIT_WELCOME: logged in, waiting for the first server login */
	/* ParameterStatus of the first server login, replayed to every client at its login */
	bool		welcome_ready;	/* a login to the primary completed: the set below is known */
	bool		welcome_refresh;	/* RELOAD changed the startup parameters: the next login renews the set */
	int			n_welcome;
	const char *welcome_names[POOL_MAX_WELCOME];	/* interned */
	const char *welcome_values[POOL_MAX_WELCOME];
	ParamSet	welcome_params; /* the tracked ones among them */
	bool		have_scram_client_key;	/* a client proved the user's SCRAM secret: its ClientKey */
	uint8_t		scram_client_key[32];	/* lets the pooler log in with that secret (login.c) */
	PoolStats	stats;
	struct RoutingSet *routing; /* routing.c: health and node choice; NULL = everything to nodes[0] */
	int			user_pool_mode; /* the [users] line's pool_mode of user, -1 = none (pool_mode_of) */
	uint64_t	max_wait_us;	/* longest current wait (SHOW POOLS maxwait), refreshed by the janitor */
};

/*
 * pool_mode_of: the pool mode a pool runs in, PgBouncer's order: the [users] line of its server user,
 * else its [databases] line, else the [pooler] pool_mode (read at each use: SET pool_mode applies at once).
 */
static inline PoolMode
pool_mode_of(const Pool *pool)
{
	return pool->user_pool_mode >= 0 ? (PoolMode) pool->user_pool_mode :
		pool->db.pool_mode >= 0 ? (PoolMode) pool->db.pool_mode : cf.pool_mode;
}

/* pool_releases_at_commit: transaction and statement modes give the server back at ReadyForQuery 'I'. */
static inline bool
pool_releases_at_commit(const Pool *pool)
{
	return pool_mode_of(pool) != POOL_SESSION;
}

/* Every pool, in creation order. */
extern List pool_list;

/*
 * pool_get: the pool for an authenticated client asking for database dbname (served by entry db, which
 * may be the "*" fallback) logging in as client_user; created on first use. Both names are compared as
 * the client stored them (clipped to 63 bytes), so one name always finds one pool. A pool of the "*"
 * entry is freed after autodb_idle_timeout without clients (pool_janitor).
 */
extern Pool *pool_get(const DatabaseEntry *db, const char *dbname, const char *client_user);

/* pool_admin: the pool of the admin console for user. */
extern Pool *pool_admin(const char *user);

/*
 * pool_route: the node that runs the transaction a client starts with message msg (type, total bytes).
 * This is the seam of read/write routing (sqlroute.c, issue 6); for now every transaction goes to the
 * primary, nodes[0]. msg is a Query ('Q': the text), a Parse ('P': the text), or a Bind/Describe of a
 * named statement prepared earlier (its text: prepared_client_lookup(&client->stmts, name)->parse_msg,
 * which is also where a statement's class can be remembered); client->tx_status says whether the
 * client is outside a transaction. The client waits in nodes[node].waiting_clients when that node has
 * no idle server.
 */
extern int	pool_route(Pool *pool, Client *client, char type, const uint8_t *msg, uint32_t total);

/*
 * pool_request: client wants a server of node. Links one at once when an idle server is there
 * (returns true), else queues the client FIFO on the node and starts a new server connection when the
 * node is below its size (returns false).
 */
extern bool pool_request(Pool *pool, Client *client, int node);

/* How a connect or login to a server failed (pool_login_failed). */
typedef enum LoginFailure
{
	LOGIN_TRANSIENT,			/* refused, unreachable, timed out, starting up: a retry may succeed */
	LOGIN_REFUSED,				/* the pooler cannot log in (TLS, no usable secret): retries fail alike */
	LOGIN_SERVER_ERROR			/* the server's ErrorResponse (reason = its message): likewise */
} LoginFailure;

/*
 * pool_login_failed: a connect or login to node failed for reason (sqlstate): the retry waits
 * server_login_retry; the clients waiting keep waiting, except that reads move to another node and,
 * for a refusal while the node has no server left, they get the reason ("could not log into the database
 * server: reason", or the server's own message as PgBouncer passes it on).
 */
extern void pool_login_failed(Pool *pool, int node, const char *sqlstate, const char *reason, LoginFailure how);

/* pool_login_failing: the pool's login node has been failing its logins and has no server (fail fast). */
extern bool pool_login_failing(const Pool *pool);

/*
 * pool_fail_fast: answers client's request for node, whose logins have been failing, at once with the
 * last failure (PgBouncer's "server login has been failing") and starts the next attempt when due.
 */
extern void pool_fail_fast(Pool *pool, Client *client, int node);

/* pool_server_ready: a server became idle (login done, released): serves the first waiting client. */
extern void pool_server_ready(Server *server);

/* pool_launch: starts one more server connection to node when sizing allows; true if one started. */
extern bool pool_launch(Pool *pool, int node);

/*
 * pool_warm_forced: as PgBouncer, a [databases] line with a forced user and a min_pool_size gets its pool
 * at start-up and after a reload, so that the janitor opens those connections before any client comes.
 */
extern void pool_warm_forced(const Config *cfg);

/* pool_janitor: periodic work: timeouts, min_pool_size, idle server expiry, stats. */
extern void pool_janitor(void);

/*
 * pool_node_assign: slot node of pool (< POOL_MAX_NODES) becomes host:port with role (a member that
 * appeared); n_nodes grows to cover it. The slot must be vacant (fresh, or drained and released).
 */
extern void pool_node_assign(Pool *pool, int node, const char *host, int port, NodeRole role);

/*
 * pool_node_retire: the node left the member list: drained (no new servers, idle and logging-in ones
 * closed now, busy ones at the end of their transaction); clients waiting for it are routed again.
 */
extern void pool_node_retire(Pool *pool, int node, const char *reason);

/* pool_node_drained: a retired node has no server and no waiting client left: the slot can be reused. */
extern bool pool_node_drained(const Pool *pool, int node);

/* pool_node_release: a drained slot becomes vacant again. */
extern void pool_node_release(Pool *pool, int node);

/* pool_reload: applies a new configuration to existing pools (sizes; changed hosts close servers). */
extern void pool_reload(const Config *cfg);

/* pool_total_servers: server connections of every node of pool (for max_db_connections). */
extern int	pool_db_connections(const char *dbname);

/*
 * pool_server_lifetime_over: server has lived its server_lifetime (the database's, else the [pooler]
 * one) at now (conn_now_usec); with 0 always: a connection is used once, then closed, as PgBouncer.
 */
extern bool pool_server_lifetime_over(const Pool *pool, const Server *server, uint64_t now);

/* pool_user_connections: server connections logged in as user over every pool (max_user_connections). */
extern int	pool_user_connections(const char *user);

/* pool_kill: closes every client and server of the pools of database name (NULL = all) (KILL). */
extern void pool_kill(const char *dbname);

/* pool_active_servers: servers linked to clients in the pools matching dbname (NULL = all). */
extern int	pool_active_servers(const char *dbname);

/* pool_set_paused: PAUSE/RESUME for dbname (NULL = all); RESUME serves waiting clients. */
extern void pool_set_paused(const char *dbname, bool paused);

/* pool_shutting_down: SIGINT received: no new logins or transactions. */
extern bool pool_shutting_down;

/* pool_schedule_reap: closed clients and servers are returned to their slabs at the end of the loop turn. */
extern void pool_schedule_reap(void);

/* pool_init: the janitor timer and the reaper (once, after conn_base is set). */
extern void pool_init(void);

#endif
