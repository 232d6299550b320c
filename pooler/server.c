/*
 * server.c: owns server connections: their slab, the non-blocking connect, the login to PostgreSQL
 * (startup packet, authentication through login.c, ParameterStatus, BackendKeyData), the server-to-
 * client half of the data path in server_process() (replies matched against the expectation queue,
 * see server.h; pooler-owned replies swallowed; synthetic ParseComplete/CloseComplete emitted in
 * order), release at the end of a transaction, cancel connections, and closing.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"
#include "client.h"
#include "config.h"
#include "dns.h"
#include "hostlist.h"
#include "notify.h"
#include "log.h"
#include "sockopt.h"
#include "metrics.h"
#include "routing.h"
#include "tls.h"
#include "login.h"
#include "pool.h"
#include "proto.h"
#include "session.h"
#include "slab.h"

List		server_all_list;
static List cancel_server_list;
static List zombie_servers;
static Slab *server_slab;

static void server_process(Server *server);

void
server_init_globals(void)
{
	server_slab = slab_create("server", sizeof(Server));
	list_init(&server_all_list);
	list_init(&cancel_server_list);
	list_init(&zombie_servers);
}

const char *
server_state_name(const Server *server)
{
	switch (server->state)
	{
		case SV_CONNECTING:
		case SV_LOGIN:
			return "login";
		case SV_IDLE:
			return "idle";
		case SV_ACTIVE:
			return "active";
		case SV_RESET:
			return "used";
		case SV_CANCEL:
			return "cancel";
		case SV_FREE:
			break;
	}
	return "closed";
}

void
server_set_state(Server *server, ServerState state)
{
	PoolNode   *node = server->pool ? &server->pool->nodes[server->node] : NULL;

	list_del(&server->list_node);
	if (node && (server->state == SV_CONNECTING || server->state == SV_LOGIN))
		node->n_login--;
	if (node && (state == SV_CONNECTING || state == SV_LOGIN))
		node->n_login++;
	server->state = state;
	if (!node && state != SV_CANCEL && state != SV_FREE)
		return;					/* cannot happen: only cancel connections have no pool */
	switch (state)
	{
		case SV_CONNECTING:
		case SV_LOGIN:
			list_append(&node->login_servers, &server->list_node);
			break;
		case SV_IDLE:
			/* most recently used first: warm backends stay busy, cold ones expire */
			list_prepend(&node->idle_servers, &server->list_node);
			break;
		case SV_ACTIVE:
		case SV_RESET:
			list_append(&node->active_servers, &server->list_node);
			break;
		case SV_CANCEL:
			list_append(&cancel_server_list, &server->list_node);
			break;
		case SV_FREE:
			list_append(&zombie_servers, &server->list_node);
			break;
	}
}

void
server_reap_zombies(void)
{
	List	   *it;
	List	   *tmp;

	list_for_each_safe(it, tmp, &zombie_servers)
	{
		list_del(it);
		slab_free(server_slab, container_of(it, Server, list_node));
	}
}

bool
server_send_bytes(Server *server, const void *data, size_t len)
{
	return iobuf_append(&server->conn.wbuf, data, len);
}

bool
server_exp_push(Server *server, ExpKind kind, bool swallow, uint64_t stmt_id)
{
	Expectation *e;

	if (server->exp_count == server->exp_cap)
	{
		uint32_t	cap = server->exp_cap ? server->exp_cap * 2 : 32;
		Expectation *grown = malloc(cap * sizeof(Expectation));

		if (!grown)
			return false;
		for (uint32_t i = 0; i < server->exp_count; i++)
			grown[i] = server->exp[(server->exp_head + i) % server->exp_cap];
		free(server->exp);
		server->exp = grown;
		server->exp_cap = cap;
		server->exp_head = 0;
	}
	e = &server->exp[(server->exp_head + server->exp_count) % server->exp_cap];
	e->kind = (uint8_t) kind;
	e->swallow = swallow;
	e->stmt_id = stmt_id;
	server->exp_count++;
	return true;
}

static inline Expectation *
exp_front(Server *server)
{
	return server->exp_count ? &server->exp[server->exp_head] : NULL;
}

static inline Expectation
exp_pop(Server *server)
{
	Expectation e = {EXP_SYNC, false, 0};

	if (server->exp_count == 0 || !server->exp)
		return e;				/* callers check exp_count first */
	e = server->exp[server->exp_head];

	server->exp_head = (server->exp_head + 1) % server->exp_cap;
	server->exp_count--;
	return e;
}

static void
server_event(Conn *conn, short what);

/*
 * skip_to_sync: after an ErrorResponse in the extended protocol PostgreSQL skips every message up to the
 * next Sync, so their replies will never come. Their expectations are dropped, and what they would have
 * done to the server's statements is undone, newest first, so the set ends as it was before the first
 * skipped message: a skipped Parse had not prepared its statement, a skipped eviction Close
 * (max_prepared_statements) had not removed its statement. Undoing in order matters when one statement
 * was both closed and prepared again among the skipped messages.
 */
static void
skip_to_sync(Server *server)
{
	uint32_t	n = 0;

	while (n < server->exp_count && server->exp[(server->exp_head + n) % server->exp_cap].kind != EXP_SYNC)
		n++;
	for (uint32_t i = n; i-- > 0;)
	{
		const Expectation *e = &server->exp[(server->exp_head + i) % server->exp_cap];

		if (e->kind == EXP_PARSE && e->stmt_id && e->stmt_id != EXP_STMT_DUPLICATE && e->stmt_id != EXP_STMT_REFUSED)
			prepared_server_remove(&server->stmts, e->stmt_id);
		else if (e->kind == EXP_CLOSE && e->stmt_id && !prepared_server_add(&server->stmts, e->stmt_id))
			server->close_needed = true;	/* no memory to remember it: never reuse this connection */
	}
	while (n-- > 0)
		exp_pop(server);
}

/*
 * resolve: the node's address for the next connect, by dns.c (never blocking; a host starting with '/'
 * is a Unix socket directory): connects use one address of the answer until a connect to it fails, then
 * the next (node->dns_pick, as libpq tries a name's addresses in order). DNS_PENDING: no connect yet.
 */
static DnsStatus
resolve(PoolNode *node, char *err, size_t errlen)
{
	return dns_resolve(node->host, node->port, node->dns_pick, &node->addr, &node->addr_len, &node->n_addrs,
					   NULL, err, errlen);
}

/*
 * open_socket_to: a non-blocking socket connecting to addr (host and port name it in err); -1 with err set
 * on failure.
 */
static int
open_socket_to(const struct sockaddr_storage *addr, socklen_t addr_len, const char *host, int port, char *err,
			   size_t errlen)
{
	int			fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
	{
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (addr->ss_family != AF_UNIX)
	{
		int			on = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		sockopt_tcp(fd);		/* issue 15: tcp_keepalive & co. */
	}
	if (connect(fd, (const struct sockaddr *) addr, addr_len) < 0 && errno != EINPROGRESS)
	{
		snprintf(err, errlen, "connect failed: %s:%d: %s", host, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * open_socket: a non-blocking socket connecting to node; -1 with err set on failure, -2 while its host
 * name is being looked up, -3 when the lookup failed (err set).
 */
static int
open_socket(PoolNode *node, char *err, size_t errlen)
{
	switch (resolve(node, err, errlen))
	{
		case DNS_READY:
			break;
		case DNS_PENDING:
			return -2;
		case DNS_FAILED:
			return -3;
	}
	return open_socket_to(&node->addr, node->addr_len, node->host, node->port, err, errlen);
}

/*
 * server_error_is_transient: an ErrorResponse during the login that another attempt may not get (the
 * server is starting up or shutting down, out of connection slots, a connection failure class): the
 * clients go on waiting for the retry rather than get it.
 */
static bool
server_error_is_transient(const char *sqlstate)
{
	return strncmp(sqlstate, "57P0", 4) == 0 || strncmp(sqlstate, "53", 2) == 0 || strncmp(sqlstate, "08", 2) == 0;
}

/* What an attempt to connect to a node came to. */
typedef enum ConnectResult
{
	CONNECT_STARTED,			/* a server connection is on its way */
	CONNECT_PENDING,			/* the host name is being looked up: the janitor asks again */
	CONNECT_FAILED				/* failed; the clients waiting for the node were answered */
} ConnectResult;

static ConnectResult connect_node(Pool *pool, int node_idx);

/* has_host_list: node_idx of pool connects to the entries of a host list (host=a,b; never with replicas=). */
static bool
has_host_list(const Pool *pool, int node_idx)
{
	return node_idx == 0 && !pool->db.patroni[0] && hostlist_is_list(pool->db.host);
}

/*
 * pick_host_entry: for a host list, puts the entry the next connect uses (pool->host_entry) into
 * node->host; a changed entry is looked up afresh. dns_pick is kept: it counts on across the entries, so
 * an entry whose name has several addresses takes the next one after a failure.
 */
static void
pick_host_entry(Pool *pool, int node_idx)
{
	PoolNode   *node = &pool->nodes[node_idx];
	char		host[CF_HOST_MAX];

	if (!has_host_list(pool, node_idx) || !hostlist_entry(pool->db.host, pool->host_entry, host, sizeof(host)) ||
		strcmp(host, node->host) == 0)
		return;
	snprintf(node->host, sizeof(node->host), "%s", host);
	node->addr_len = 0;
	node->n_addrs = 0;
	node->dns_failures = 0;
}

/*
 * next_host_entry: a connect to entry (of pool's host list) failed: with load_balance_hosts=disable the
 * list moves on past it (round-robin moved on when the connect started); the next entry is tried at once,
 * until every entry has failed in a row. CONNECT_STARTED or CONNECT_PENDING (the next entry's name is being
 * looked up: the janitor connects once it answered) when the clients may go on waiting, CONNECT_FAILED when
 * no entry is left to try (the caller fails them).
 */
static ConnectResult
next_host_entry(Pool *pool, int node_idx, int entry, const char *why)
{
	int			n;

	if (!has_host_list(pool, node_idx))
		return CONNECT_FAILED;
	n = hostlist_count(pool->db.host);
	if (pool->db.load_balance_hosts == LB_HOSTS_DISABLE && pool->host_entry % n == entry % n)
		pool->host_entry = entry % n + 1;
	pool->host_entry %= n;
	if (++pool->hosts_failed >= n)
	{
		log_warning("%s/%s: every host of the list %s failed: %s", pool->db.name, pool->user, pool->db.host, why);
		pool->hosts_failed = 0;
		return CONNECT_FAILED;
	}
	log_info("%s/%s: host %d of the list %s failed, trying the next (%d of %d failed)", pool->db.name, pool->user,
			 entry % n + 1, pool->db.host, pool->hosts_failed, n);
	return connect_node(pool, node_idx);
}

/*
 * connect_next_address: after a failed connect to one of the addresses of node's host name, the next one
 * (every address is tried before waiting clients are failed); once all have failed, the name is looked
 * up again at the next connect. True when another connect was started.
 */
static bool
connect_next_address(Pool *pool, int node_idx)
{
	PoolNode   *node = &pool->nodes[node_idx];

	node->dns_pick++;
	if (++node->dns_failures < node->n_addrs)
	{
		log_info("%s/%s: trying the next address of %s (%d of %d)", pool->db.name, pool->user, node->host,
				 node->dns_failures + 1, node->n_addrs);
		if (server_connect(pool, node_idx))
			return true;
	}
	node->dns_failures = 0;
	dns_forget(node->host);
	return false;
}

void
server_fail_login(Server *server, const char *sqlstate, const char *reason)
{
	Pool	   *pool = server->pool;
	int			node = server->node;

	server_close(server, reason);
	pool_login_failed(pool, node, sqlstate, reason, LOGIN_REFUSED);
}

bool
server_connect(Pool *pool, int node_idx)
{
	return connect_node(pool, node_idx) == CONNECT_STARTED;
}

/* connect_node: server_connect, saying whether a lookup still holds the connect (CONNECT_PENDING). */
static ConnectResult
connect_node(Pool *pool, int node_idx)
{
	PoolNode   *node = &pool->nodes[node_idx];
	char		err[256];
	int			fd;
	int			entry;
	Server	   *server;

	pick_host_entry(pool, node_idx);
	entry = pool->host_entry;
	fd = open_socket(node, err, sizeof(err));
	if (fd == -2)
		return CONNECT_PENDING; /* the pool's janitor asks again until the lookup has answered */
	if (fd < 0)
	{
		/* PgBouncer's wording for a failed lookup, which operators' log alerts look for */
		log_warning("%s/%s: %s%s", pool->db.name, pool->user, fd == -3 ? "closing because: server DNS lookup failed: " : "",
					err);
		{
			ConnectResult next = next_host_entry(pool, node_idx, entry, err);

			if (next != CONNECT_FAILED)
				return next;
		}
		pool_login_failed(pool, node_idx, "08006", err, LOGIN_TRANSIENT);
		return CONNECT_FAILED;
	}
	server = slab_alloc(server_slab);
	if (!server)
	{
		close(fd);
		return CONNECT_FAILED;
	}
	if (has_host_list(pool, node_idx) && pool->db.load_balance_hosts == LB_HOSTS_ROUND_ROBIN)
		pool->host_entry = (entry + 1) % hostlist_count(pool->db.host);
	conn_init(&server->conn, fd, 'S', server_event);
	conn_set_addr(&server->conn, (struct sockaddr *) &node->addr);
	server->conn.db = pool->db.name;
	server->conn.user = pool->user;
	server->pool = pool;
	server->node = node_idx;
	server->host_entry = entry;
	memcpy(&server->addr, &node->addr, sizeof(server->addr));
	server->addr_len = node->addr_len;
	server->connect_time = server->request_time = conn_now_usec();
	server->tx_status = 'I';
	list_init(&server->list_node);
	list_init(&server->all_node);
	list_append(&server_all_list, &server->all_node);
	node->n_servers++;
	server_set_state(server, SV_CONNECTING);
	/* the connect completes when the socket turns writable: hold a zero-length marker in wbuf */
	if (!iobuf_reserve(&server->conn.wbuf, 1, false))
	{
		server_close(server, "out of memory");
		return CONNECT_FAILED;
	}
	server->conn.wbuf->data[server->conn.wbuf->end++] = 0;
	conn_set_read(&server->conn, false);
	slog_debug(&server->conn, "connecting");
	return CONNECT_STARTED;
}

void
server_host_name(const Server *server, char *out, size_t outlen)
{
	const PoolNode *node = &server->pool->nodes[server->node];

	if (!has_host_list(server->pool, server->node) ||
		!hostlist_entry(server->pool->db.host, server->host_entry, out, outlen))
		snprintf(out, outlen, "%s", node->host);
}

void
server_send_cancel(Server *target)
{
	PoolNode   *node = &target->pool->nodes[target->node];
	char		err[256];
	int			fd;
	Server	   *server;
	PktBuf		pkt;

	/* to the address the target is connected to: its node may have moved on (host list, DNS) since */
	fd = open_socket_to(&target->addr, target->addr_len, node->host, node->port, err, sizeof(err));
	if (fd < 0)
	{
		slog_warning(&target->conn, "cancel not sent: %s", err);
		return;
	}
	server = slab_alloc(server_slab);
	if (!server)
	{
		close(fd);
		return;
	}
	conn_init(&server->conn, fd, 'S', server_event);
	conn_set_addr(&server->conn, (struct sockaddr *) &target->addr);
	server->conn.db = target->pool->db.name;
	server->conn.user = target->pool->user;
	list_init(&server->list_node);
	list_init(&server->all_node);
	server->connect_time = conn_now_usec();
	/* whom it cancels (SHOW POOLS): the target's node and backend pid; a cancel connection has no pool */
	server->cancel_pool = target->pool;
	server->node = target->node;
	server->backend_pid = target->backend_pid;
	server_set_state(server, SV_CANCEL);
	pktbuf_init(&pkt, server->cancel_packet, sizeof(server->cancel_packet));
	proto_build_cancel(&pkt, target->backend_pid, target->backend_key);
	if (!server_send_bytes(server, server->cancel_packet, sizeof(server->cancel_packet)) ||
		!conn_flush(&server->conn))
		server_close(server, "could not send the cancel request");
	else if (!conn_has_output(&server->conn))
		conn_set_read(&server->conn, true);	/* wait for PostgreSQL to close it */
}

/* find_backend: the server of list with this backend pid, or NULL. */
static Server *
find_backend(List *list, uint32_t pid)
{
	for (List *it = list->next; it != list; it = it->next)
	{
		Server	   *server = container_of(it, Server, list_node);

		if (server->backend_pid == pid)
			return server;
	}
	return NULL;
}

/* cancels_in_flight: cancel connections for target's backend not yet ended. */
static int
cancels_in_flight(const Server *target)
{
	int			n = 0;

	for (List *it = cancel_server_list.next; it != &cancel_server_list; it = it->next)
	{
		const Server *cancel = container_of(it, Server, list_node);

		if (cancel->cancel_pool == target->pool && cancel->node == target->node &&
			cancel->backend_pid == target->backend_pid)
			n++;
	}
	return n;
}

/* cancel_ended: a cancel connection for pool's node/pid ended: its server, if held for it and no other, goes back. */
static void
cancel_ended(Pool *pool, int node_idx, uint32_t pid)
{
	Server	   *target;

	if (!pool || node_idx < 0 || node_idx >= pool->n_nodes ||
		!(target = find_backend(&pool->nodes[node_idx].active_servers, pid)) || !target->cancel_hold ||
		cancels_in_flight(target) > 0)
		return;
	target->cancel_hold = false;
	slog_debug(&target->conn, "its cancel requests are done: back to the pool");
	pool_server_ready(target);
}

void
server_cancel_janitor(Pool *pool, uint64_t now)
{
	for (int i = 0; i < pool->n_nodes; i++)
	{
		List	   *it;
		List	   *tmp;

		list_for_each_safe(it, tmp, &pool->nodes[i].active_servers)
		{
			Server	   *server = container_of(it, Server, list_node);

			if (server->cancel_hold && now - server->request_time > 5000000)
			{
				server->cancel_hold = false;
				slog_info(&server->conn, "a cancel request for it did not end within 5 s: back to the pool");
				pool_server_ready(server);
			}
		}
	}
}

void
server_forget_pool(const Pool *pool)
{
	for (List *it = cancel_server_list.next; it != &cancel_server_list; it = it->next)
	{
		Server	   *cancel = container_of(it, Server, list_node);

		if (cancel->cancel_pool == pool)
			cancel->cancel_pool = NULL;
	}
}

void
server_cancel_counts(Pool *pool, int node_idx, CancelCounts *counts)
{
	PoolNode   *node = &pool->nodes[node_idx];

	memset(counts, 0, sizeof(*counts));
	for (List *it = cancel_server_list.next; it != &cancel_server_list; it = it->next)
	{
		Server	   *cancel = container_of(it, Server, list_node);
		Server	   *target;

		if (cancel->node != node_idx || cancel->cancel_pool != pool)
			continue;
		if (!(target = find_backend(&node->active_servers, cancel->backend_pid)) &&
			!(target = find_backend(&node->idle_servers, cancel->backend_pid)))
			continue;
		counts->sv_active_cancel++;
		if (conn_has_output(&cancel->conn))
			counts->cl_waiting_cancel_req++;
		else
			counts->cl_active_cancel_req++;
		if (target->state == SV_ACTIVE || target->cancel_hold)
			counts->sv_being_canceled++;
	}
}

void
server_close(Server *server, const char *reason)
{
	Client	   *client = server->client;
	Pool	   *pool = server->pool;
	bool		logging_in = server->state == SV_CONNECTING || server->state == SV_LOGIN;

	if (server->state == SV_FREE)
		return;
	if (server->state == SV_CANCEL)
		slog_debug(&server->conn, "cancel connection closed: %s", reason);
	else
		slog_info(&server->conn, "closing because: %s (age %llus)", reason,
				  (unsigned long long) ((conn_now_usec() - server->connect_time) / 1000000));
	if (client)
	{
		server->client = NULL;
		client->server = NULL;
		if (routing_client_may_retry(&client->routing) && !server->fatal_forwarded && routing_retry(client, server->node, reason))
			;					/* requeued: routed again to another node */
		else if (server->fatal_forwarded)
			client_close(client, NULL, "the server connection ended after a FATAL error", NULL);
		else
			client_close(client, "08006", "server connection closed unexpectedly",
						 "The database server closed the connection or could not be reached; reconnect and retry.");
	}
	if (server->state != SV_CANCEL && pool)
		pool->nodes[server->node].n_servers--;
	list_del(&server->all_node);
	conn_close(&server->conn);
	params_clear(&server->params);
	prepared_server_free(&server->stmts);
	login_server_cleanup(server);
	free(server->exp);
	server->exp = NULL;
	server->exp_count = server->exp_cap = 0;
	server_set_state(server, SV_FREE);
	pool_schedule_reap();
	if (server->cancel_pool)
	{
		Pool	   *target_pool = server->cancel_pool;

		server->cancel_pool = NULL;
		cancel_ended(target_pool, server->node, server->backend_pid);
		return;
	}
	/*
	 * clients may still wait for this node: give them a fresh connection. Not for a failed login: its
	 * caller decides (the next host of a list, or pool_login_failed and the server_login_retry wait).
	 */
	if (pool && !logging_in && !pool_shutting_down && !list_empty(&pool->nodes[server->node].waiting_clients))
		pool_launch(pool, server->node);
}

/* server_drop_client: unlinks the client (it goes idle) and sends what it has been given. */
static void
server_drop_client(Server *server)
{
	Client	   *client = server->client;

	if (!client)
		return;
	server->client = NULL;
	client->server = NULL;
	client->xact_start = 0;
	client_set_state(client, CL_IDLE);
	if (conn_has_output(&client->conn))
		(void) client_flush(client);
	if (client->state != CL_FREE && iobuf_len(client->conn.rbuf) > 0)
		client_resume(client);
	else if (client->state != CL_FREE)
		conn_set_read(&client->conn, true);
}

void
server_release(Server *server)
{
	uint64_t	now = conn_now_usec();

	server->request_time = now;
	server->fatal_forwarded = false;
	if (server->client)
		server_drop_client(server);
	if (server->state == SV_FREE)
		return;
	if (server->close_needed)
	{
		server_close(server, "database configuration changed");
		return;
	}
	if (server->session_pinned)
	{
		/* the backend still holds the client's advisory locks, cursors or settings (session.c) */
		server_close(server, "its client left holding session state (session_state_action = pin)");
		return;
	}
	if (pool_server_lifetime_over(server->pool, server, now))
	{
		server_close(server, "server_lifetime reached");
		return;
	}
	if (server->notify_dirty && pool_releases_at_commit(server->pool) && server->state == SV_ACTIVE)
	{
		/* a client's LISTEN ran here: the listener connection serves it now (notify.c) */
		uint8_t		data[32];
		PktBuf		pkt;

		server->notify_dirty = false;
		pktbuf_init(&pkt, data, sizeof(data));
		proto_build_query(&pkt, "UNLISTEN *");
		if (!server_send_bytes(server, pkt.data, pkt.len) || !server_exp_push(server, EXP_QUERY, true, 0) ||
			!conn_flush(&server->conn))
		{
			server_close(server, "could not send UNLISTEN *");
			return;
		}
		server_set_state(server, SV_RESET);
		conn_set_read(&server->conn, true);
		return;
	}
	if ((((pool_mode_of(server->pool) == POOL_SESSION || cf.server_reset_query_always) && cf.server_reset_query[0]) ||
		 server->session_discard) && server->state == SV_ACTIVE)
	{
		uint8_t		data[CF_STR_MAX + 16];
		PktBuf		pkt;

		pktbuf_init(&pkt, data, sizeof(data));
		/* session_discard: session_state_action = warn cleans up whatever server_reset_query is */
		proto_build_query(&pkt, server->session_discard ? "DISCARD ALL" : cf.server_reset_query);
		server->session_discard = false;
		if (!server_send_bytes(server, pkt.data, pkt.len) || !server_exp_push(server, EXP_QUERY, true, 0) ||
			!conn_flush(&server->conn))
		{
			server_close(server, "could not send server_reset_query");
			return;
		}
		/* DISCARD ALL and friends drop prepared statements and settings: forget them */
		prepared_server_free(&server->stmts);
		params_set(&server->params, PARAM_SEARCH_PATH, NULL);
		session_server_reset(server);
		server_set_state(server, SV_RESET);
		conn_set_read(&server->conn, true);
		return;
	}
	if (server->state == SV_ACTIVE && cancels_in_flight(server) > 0)
	{
		/* a cancel sent for its client's query may still reach the backend: not before it is done */
		server->cancel_hold = true;
		server_set_state(server, SV_RESET);
		return;
	}
	pool_server_ready(server);
}

bool
server_needs_check(const Server *server, uint64_t now)
{
	return server->state == SV_IDLE && cf.server_check_query[0] &&
		now - server->request_time >= (uint64_t) cf.server_check_delay_ms * 1000;
}

bool
server_start_check(Server *server)
{
	uint8_t		data[CF_STR_MAX + 16];
	PktBuf		pkt;

	pktbuf_init(&pkt, data, sizeof(data));
	/* "<empty>" (the default, PgBouncer 1.25's) sends an empty query: the cheapest round trip */
	proto_build_query(&pkt, strcmp(cf.server_check_query, "<empty>") == 0 ? "" : cf.server_check_query);
	server->request_time = conn_now_usec();
	server_set_state(server, SV_RESET);
	if (pkt.failed || !server_send_bytes(server, pkt.data, pkt.len) ||
		!server_exp_push(server, EXP_QUERY, true, 0) || !conn_flush(&server->conn))
	{
		server_close(server, "could not send server_check_query");
		return false;
	}
	slog_debug(&server->conn, "server_check_query sent");
	conn_set_read(&server->conn, true);
	return true;
}

/* server_login_done: ReadyForQuery after the login: the connection joins the pool. */
static void
server_login_done(Server *server)
{
	Pool	   *pool = server->pool;
	List	   *it;
	List	   *tmp;

	slog_debug(&server->conn, "login done, backend pid %u", server->backend_pid);
	login_server_cleanup(server);
	pool->nodes[server->node].last_connect_failure_us = 0;
	pool->nodes[server->node].login_error[0] = '\0';
	pool->nodes[server->node].tls_error[0] = '\0';
	pool->nodes[server->node].ever_connected = true;
	server->request_time = conn_now_usec();
	if (server->node == pool->login_node && !list_empty(&pool->welcome_clients))
		list_for_each_safe(it, tmp, &pool->welcome_clients)
			client_welcome(container_of(it, Client, list_node));
	pool_server_ready(server);
}

/*
 * server_refreshes_welcome: a RELOAD changed the database's startup parameters (pool.c sets
 * welcome_refresh and close_needed on every server it had): the first login begun after it, on the
 * login node, gives the welcome new clients get (issue 15).
 */
static bool
server_refreshes_welcome(const Server *server)
{
	return server->pool->welcome_refresh && !server->close_needed && server->node == server->pool->login_node;
}

/* welcome_add: remembers a ParameterStatus of a login for the pool's welcome replay. */
static void
welcome_add(Pool *pool, const char *name, const char *value)
{
	int			id = params_lookup(name);

	if (id >= 0)
		params_set(&pool->welcome_params, (ParamId) id, value);
	for (int i = 0; i < pool->n_welcome; i++)
		if (strcmp(pool->welcome_names[i], name) == 0)
		{
			params_unref(pool->welcome_values[i]);
			pool->welcome_values[i] = params_intern(value);
			return;
		}
	if (pool->n_welcome < POOL_MAX_WELCOME)
	{
		pool->welcome_names[pool->n_welcome] = params_intern(name);
		pool->welcome_values[pool->n_welcome] = params_intern(value);
		pool->n_welcome++;
	}
}

/*
 * server_note_param: records a ParameterStatus from the server: the tracked parameters in the server's
 * (and the linked client's) values; during the first login of a pool's primary, the welcome a new client
 * gets. false when the message is malformed.
 */
static bool
server_note_param(Server *server, Client *client, const uint8_t *msg, uint32_t total)
{
	const char *name;
	const char *value;
	int			id;

	if (!proto_read_param_status(msg, total, &name, &value))
		return false;
	id = params_lookup(name);
	if (id >= 0)
	{
		params_set(&server->params, (ParamId) id, value);
		if (client)
			params_set(&client->params, (ParamId) id, value);
	}
	if (server->state == SV_LOGIN && server->node == server->pool->login_node &&
		(!server->pool->welcome_ready || server_refreshes_welcome(server)))
		welcome_add(server->pool, name, value);
	return true;
}

static bool server_login_ready(Server *server);
static bool server_connect_query_start(Server *server);
static bool server_connect_query_msg(Server *server, char type, const uint8_t *msg, uint32_t total);

/* server_login_msg: one message during login; false when the server was closed. */
static bool
server_login_msg(Server *server, char type, const uint8_t *msg, uint32_t total)
{
	if (server->connect_query_running)
		return server_connect_query_msg(server, type, msg, total);
	switch (type)
	{
		case 'R':
			return login_server_auth(server, msg, total);
		case 'S':
			if (!server_note_param(server, NULL, msg, total))
				break;
			return true;
		case 'K':
			if (total != 13)
				break;
			server->backend_pid = proto_get_u32(msg + 5);
			server->backend_key = proto_get_u32(msg + 9);
			return true;
		case 'N':
			return true;
		case 'E':
			{
				ErrorFields fields;
				char		reason[400];
				Pool	   *pool = server->pool;
				int			node = server->node;

				if (!proto_read_error(msg, total, &fields))
					break;
				int			entry = server->host_entry;
				bool		transient = server_error_is_transient(fields.sqlstate);

				snprintf(reason, sizeof(reason), "%s", fields.message);
				log_warning("%s/%s: server login failed: %s %s", pool->db.name, pool->user, fields.severity,
							fields.message);	/* PgBouncer's words */
				server_close(server, reason);
				/* a host of a list that cannot serve now (shutting down, starting up): the next one */
				if (transient && has_host_list(pool, node) && next_host_entry(pool, node, entry, reason) != CONNECT_FAILED)
					return false;
				pool_login_failed(pool, node, fields.sqlstate[0] ? fields.sqlstate : "08006", reason,
								  transient ? LOGIN_TRANSIENT : LOGIN_SERVER_ERROR);
				return false;
			}
		case 'Z':
			if (server->pool->db.connect_query[0])
				return server_connect_query_start(server);
			return server_login_ready(server);
	}
	server_close(server, "protocol error during login");
	return false;
}

/* server_login_ready: the login (and its connect_query) is over: the server joins the pool. */
static bool
server_login_ready(Server *server)
{
	if (server_refreshes_welcome(server))
		server->pool->welcome_refresh = false;
	server->tx_status = 'I';
	if (server->node == 0)
		server->pool->welcome_ready = true;
	server_login_done(server);
	return server->state != SV_FREE;
}

/*
 * connect_query (issue 15, PgBouncer's meaning): a [databases] line's connect_query runs once on every
 * new server connection, after the login's ReadyForQuery and before any client gets the connection.
 * As in PgBouncer its rows are dropped and an error in it is logged but does not close the connection;
 * its ParameterStatus messages are kept (a SET in it becomes the server's value, and part of the pool's
 * welcome when it is the pool's first login). Unlike PgBouncer, a connect_query that leaves a
 * transaction open closes the connection: a server is pooled only outside a transaction.
 */
static bool
server_connect_query_start(Server *server)
{
	uint8_t		data[CF_STR_MAX + 16];
	PktBuf		pkt;

	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_query(&pkt, server->pool->db.connect_query);
	if (pkt.failed || !server_send_bytes(server, pkt.data, pkt.len) || !conn_flush(&server->conn))
	{
		server_close(server, "could not send connect_query");
		return false;
	}
	slog_debug(&server->conn, "connect_query sent");
	server->connect_query_running = true;
	return true;
}

/* server_connect_query_msg: one reply to the connect_query; false when the server was closed. */
static bool
server_connect_query_msg(Server *server, char type, const uint8_t *msg, uint32_t total)
{
	ErrorFields fields;

	switch (type)
	{
		case 'S':
			if (server_note_param(server, NULL, msg, total))
				return true;
			break;
		case 'E':
			if (!proto_read_error(msg, total, &fields))
				break;
			slog_warning(&server->conn, "connect_query failed (the connection is used all the same, as "
						 "PgBouncer does): %s %s", fields.sqlstate, fields.message);
			return true;
		case 'Z':
			server->connect_query_running = false;
			if (total != 6)
				break;
			if (msg[5] != 'I')
			{
				server_fail_login(server, "08006", "the database's connect_query left a transaction open: end "
								  "it with COMMIT");
				return false;
			}
			slog_debug(&server->conn, "connect_query done");
			return server_login_ready(server);
		default:
			return true;		/* its rows, CommandComplete, NoticeResponse: nothing for anyone */
	}
	server_close(server, "protocol error in the reply to connect_query");
	return false;
}

/* drain_synth: replies the pooler owes the client now that everything before them arrived. */
static bool
drain_synth(Server *server, Client *client)
{
	Expectation *front;

	while ((front = exp_front(server)) &&
		   (front->kind == EXP_SYNTH_PARSE || front->kind == EXP_SYNTH_CLOSE))
	{
		uint8_t		msg[5] = {front->kind == EXP_SYNTH_PARSE ? '1' : '3', 0, 0, 0, 4};

		exp_pop(server);
		if (client && !client_send_bytes(client, msg, sizeof(msg)))
			return false;
	}
	return true;
}

/* value of a server's search_path after a transaction whose outcome for it is unknown: never equal */
#define SEARCH_PATH_UNKNOWN "\001unknown"

/*
 * apply_pending_set: at a ReadyForQuery forwarded to the client. A statement's SET search_path (or
 * RESET, set_config) that succeeded joins the transaction; at 'I' the transaction's value becomes the
 * client's and the server's, unless the transaction rolled back (PostgreSQL reverts the setting: nothing
 * changes). After a failure or ROLLBACK TO SAVEPOINT that followed the SET, the committed value is not
 * known: the server is marked so that the next link sets the path again, and the client keeps its
 * previous value. A DEALLOCATE ALL that succeeded drops the client's names and the server's statements.
 */
static void
apply_pending_set(Server *server, Client *client)
{
	char		status = server->tx_status;

	if (client->pending_dealloc_all)
	{
		if (!server->error_in_query)
		{
			prepared_client_free(&client->stmts);
			prepared_server_free(&server->stmts);
		}
		client->pending_dealloc_all = false;
	}
	if (client->pending_sp_untracked)
	{
		/* it succeeded: the server holds a value the pooler does not know; the client keeps its own */
		if (!server->error_in_query)
		{
			client->txn_sp_set = true;
			client->txn_sp_doubt = true;
		}
		client->pending_sp_untracked = false;
	}
	if (client->pending_search_path || client->pending_reset)
	{
		if (!server->error_in_query)
		{
			free(client->txn_search_path);
			client->txn_search_path = client->pending_search_path;
			client->pending_search_path = NULL;
			client->txn_sp_set = true;
			client->txn_sp_doubt = false;
		}
		free(client->pending_search_path);
		client->pending_search_path = NULL;
		client->pending_reset = false;
	}
	if (!client->txn_sp_set)
		return;
	if (status == 'E' || (status == 'T' && server->saw_rollback))
		client->txn_sp_doubt = true;
	if (status != 'I')
		return;
	if (server->saw_rollback)
		;						/* rolled back: the server is back to the value it started with */
	else if (!client->txn_sp_doubt)
	{
		params_set(&client->params, PARAM_SEARCH_PATH, client->txn_search_path);
		params_set(&server->params, PARAM_SEARCH_PATH, client->txn_search_path);
	}
	else
		params_set(&server->params, PARAM_SEARCH_PATH, SEARCH_PATH_UNKNOWN);
	free(client->txn_search_path);
	client->txn_search_path = NULL;
	client->txn_sp_set = false;
	client->txn_sp_doubt = false;
}

/*
 * reply_error_log: an error the client will see (forward) is counted; a FATAL or PANIC one is logged, and
 * remembered when forwarded (the server is gone after it).
 */
static void
reply_error_log(Server *server, const ErrorFields *fields, bool forward)
{
	if (forward)
		metrics_count_error(fields->sqlstate, true);
	if (strcmp(fields->severity, "FATAL") == 0 || strcmp(fields->severity, "PANIC") == 0)
	{
		if (forward)
			server->fatal_forwarded = true;
		slog_info(&server->conn, "server reported %s %s: %s", fields->severity, fields->sqlstate,
				  fields->message);
	}
}

/* reply_error_query: the error ends a simple Query; the pooler's own (swallow) drops the settings it sent. */
static bool
reply_error_query(Server *server, Client *client, bool swallow, const ErrorFields *fields)
{
	if (swallow)
	{
		slog_warning(&server->conn, "pooler's own query failed: %s %s", fields->sqlstate,
					 fields->message);
		/* the client's settings could not be applied: forget them rather than loop */
		if (client && !server->session_probe)
			params_copy(&client->params, &server->params);
	}
	return true;
}

/*
 * reply_error_extended: the error answers an extended-protocol message: PostgreSQL skips everything up to
 * the next Sync, and so do the expectations. A failed Parse is dropped from the client's statements; the
 * pooler's stand-in for a duplicate name is answered with 42P05 instead.
 */
static bool
reply_error_extended(Server *server, Client *client, const Expectation *front, bool *forward)
{
	*forward = client != NULL;
	if (front && front->kind == EXP_PARSE && front->stmt_id == EXP_STMT_DUPLICATE)
	{
		/* the pooler's stand-in for a Parse of an existing name: report 42P05 instead */
		*forward = false;
		if (client && !client_send_duplicate(client, client->dup_stmt_name))
			return false;
	}
	else if (front && front->kind == EXP_PARSE && front->stmt_id && !front->swallow && client)
		prepared_client_failed(&client->stmts, front->stmt_id);
	skip_to_sync(server);
	return true;
}

/*
 * reply_error: server_reply's ErrorResponse (fields), for the request at the front of the expectations.
 * In order: a replica shutting down before a read that can be retried elsewhere, the stand-in for a
 * statement session_state_action = error refused, then the error itself (counted, logged) ending a
 * simple Query or an extended-protocol request. False when the server or client was closed.
 */
static bool
reply_error(Server *server, const Expectation *front, bool swallow, const ErrorFields *fields, bool *forward)
{
	Client	   *client = server->client;

	server->error_in_query = true;
	if (client && routing_client_may_retry(&client->routing) && strcmp(fields->severity, "FATAL") == 0 &&
		strncmp(fields->sqlstate, "57P", 3) == 0)
	{
		/* the replica shuts down before answering: the read is retried elsewhere */
		slog_info(&server->conn, "server reported FATAL %s: %s (read will be retried)",
				  fields->sqlstate, fields->message);
		*forward = false;
		return true;
	}
	if (front && front->stmt_id == EXP_STMT_REFUSED && !front->swallow && client)
	{
		/* the stand-in for a statement session_state_action = error refused (session.c) */
		*forward = false;
		if (!session_send_refusal(client))
			return false;
		if (front->kind != EXP_QUERY)
			skip_to_sync(server);
		return true;
	}
	reply_error_log(server, fields, *forward);
	if (front && front->kind == EXP_QUERY)
		return reply_error_query(server, client, swallow, fields);
	return reply_error_extended(server, client, front, forward);
}

/*
 * server_reply: one whole reply (or the header of a streamed one, with total > what is buffered) from
 * a logged-in server. Sets *forward to whether its bytes go to the client. False when the server
 * was closed.
 */
static bool
server_reply(Server *server, char type, const uint8_t *msg, uint32_t total, bool *forward)
{
	Client	   *client = server->client;
	Expectation *front = exp_front(server);
	bool		swallow = front && front->swallow && front->kind == EXP_QUERY;
	Pool	   *pool = server->pool;

	*forward = client != NULL && !swallow;
	slog_noise(&server->conn, "reply '%c' (%u bytes) for C-%p, %u expected", type, total, (void *) client,
			   server->exp_count);
	switch (type)
	{
		case 'Z':
			{
				Expectation popped = {EXP_SYNC, false, 0};
				uint64_t	now = conn_now_usec();

				if (total != 6)
					break;
				server->tx_status = (char) msg[5];
				while (server->exp_count > 0)
				{
					popped = exp_pop(server);
					if (popped.kind == EXP_SYNC || popped.kind == EXP_QUERY)
						break;
				}
				*forward = client != NULL && !popped.swallow;
				server->session_probe_z = false;
				if (popped.swallow && server->session_probe)
					session_probe_finished(server);
				if (popped.swallow && server->ryw_capture && !routing_capture_done(server))
					return true;
				if (client && *forward)
				{
					client->tx_status = server->tx_status;
					apply_pending_set(server, client);
					session_ready(client, server, server->error_in_query, server->saw_rollback);
					pool->stats.total.query_count++;
					pool->nodes[server->node].stats.query_count++;
					if (client->query_start)
						pool->stats.total.query_time_us += now - client->query_start;
					client->query_start = 0;
					client->request_time = now;
				}
				server->error_in_query = false;
				server->saw_rollback = false;
				return true;
			}
		case '1':
		case '2':
		case '3':
			{
				Expectation e;

				if (!front || front->kind != (type == '1' ? EXP_PARSE : type == '2' ? EXP_BIND : EXP_CLOSE))
					break;
				e = exp_pop(server);
				*forward = client != NULL && !e.swallow;
				if (type == '1' && client && !e.swallow && e.stmt_id && e.stmt_id != EXP_STMT_DUPLICATE)
					prepared_client_confirm(&client->stmts, e.stmt_id);
				return true;
			}
		case 'D':
			if (swallow && server->ryw_capture)
				routing_capture_row(server, msg, total);
			if (swallow && server->session_probe)
				session_probe_row(server, msg, total);
			return true;
		case 'T':
		case 'n':
			if (front && front->kind == EXP_DESCRIBE)
				exp_pop(server);
			return true;
		case 'C':
			if (total == 14 && memcmp(msg + 5, "ROLLBACK", 9) == 0)
				server->saw_rollback = true;
			/* fall through */
		case 'I':
		case 's':
			if (front && front->kind == EXP_EXECUTE)
				exp_pop(server);
			return true;
		case 'E':
			{
				ErrorFields fields;

				if (!proto_read_error(msg, total, &fields))
					break;
				if (!client && server->state == SV_IDLE && strcmp(fields.severity, "FATAL") == 0)
				{
					char		why[320];

					/* a backend terminated while idle: gone now, not when its close comes or a client gets it */
					snprintf(why, sizeof(why), "server reported FATAL %s while idle: %s", fields.sqlstate,
							 fields.message);
					server_close(server, why);
					return false;
				}
				return reply_error(server, front, swallow, &fields, forward);
			}
		case 'S':
			if (!server_note_param(server, client, msg, total))
				break;
			return true;
		case 'K':
		case 'R':
			break;
		default:
			/* DataRow, CopyData, notices, notifications, ParameterDescription …: pass through */
			return true;
	}
	{
		char		why[64];

		snprintf(why, sizeof(why), "unexpected message '%c' from the server", type);
		server_close(server, why);
	}
	return false;
}

/* linked_client_has_room: the linked client's output can take more (flushing it when it is full). */
static bool
linked_client_has_room(Client *client)
{
	if (iobuf_len(client->conn.wbuf) < IOBUF_SIZE / 2)
		return true;
	if (!conn_flush(&client->conn))
		return true;
	return iobuf_len(client->conn.wbuf) < IOBUF_SIZE / 2;
}

/* streamed: replies forwarded in pieces when they do not fit the buffer. */
static inline bool
streamed(char type)
{
	return type == 'D' || type == 'd';
}

/* What one step of server_process's loop did with the bytes at the head of the server's rbuf. */
typedef enum ServerStep
{
	SERVER_STEP_NEXT,			/* handled them (or closed the client): look at what follows */
	SERVER_STEP_STOP			/* wait (for bytes, room at the client) or the server was closed */
} ServerStep;

/* server_forward_rest: the rest of a reply larger than the buffer, to the linked client if it wants it. */
static ServerStep
server_forward_rest(Server *server, Client *client, uint8_t *p, uint32_t avail)
{
	uint32_t	n = avail < server->fwd_remain ? avail : server->fwd_remain;

	if (server->stream_fwd && client)
	{
		if (!client_send_bytes(client, p, n))
		{
			client_close(client, "53200", "out of memory while forwarding", NULL);
			return SERVER_STEP_NEXT;
		}
		server->pool->stats.total.bytes_sent += n;
		server->pool->nodes[server->node].stats.bytes_sent += n;
	}
	server->fwd_remain -= n;
	iobuf_consume(&server->conn.rbuf, n);
	return SERVER_STEP_NEXT;
}

/* server_stream_reply: a large DataRow or CopyData: forward what is here, the rest as it comes. */
static ServerStep
server_stream_reply(Server *server, Client *client, uint8_t *p, uint32_t total, uint32_t avail, bool forward)
{
	server->stream_fwd = forward && client;
	server->fwd_remain = total - avail;
	if (server->stream_fwd && !client_send_bytes(client, p, avail))
	{
		client_close(client, "53200", "out of memory while forwarding", NULL);
		server->stream_fwd = false;
	}
	else if (server->stream_fwd)
	{
		server->pool->stats.total.bytes_sent += avail;
		server->pool->nodes[server->node].stats.bytes_sent += avail;
	}
	iobuf_consume(&server->conn.rbuf, avail);
	return SERVER_STEP_NEXT;
}

/*
 * server_transaction_end: a ReadyForQuery with nothing more expected (client: the linked client, NULL
 * when there is none or it was closed): the end of a transaction, counted, after which the server goes
 * back to the pool unless the client's session state pins it; or the end of the reset query.
 */
static void
server_transaction_end(Server *server, Client *client)
{
	uint64_t	now;

	if (server->state == SV_RESET)
	{
		pool_server_ready(server);
		return;
	}
	if (server->tx_status != 'I' || !client)
		return;
	now = conn_now_usec();
	if (!session_probe_ended(client, server))
	{
		server->pool->stats.total.xact_count++;
		server->pool->nodes[server->node].stats.xact_count++;
		if (client->xact_start)
			server->pool->stats.total.xact_time_us += now - client->xact_start;
		client->xact_start = now;
	}
	/* pin: a client holding session state keeps its server (session.c) */
	if (pool_releases_at_commit(server->pool) && !pool_shutting_down && session_keep_server(client, server))
		return;
	if (pool_releases_at_commit(server->pool) || pool_shutting_down)
	{
		server_release(server);
		if (pool_shutting_down && client->state == CL_IDLE)
			admin_close_for_shutdown(client);
	}
}

/*
 * server_pass_reply: a reply server_reply has taken note of (forward: whether its bytes go to the
 * client) on its way to the client: the checks that may stop it (statement mode, a retryable read held
 * back, read-your-writes' commit LSN), then the bytes, then the end of the transaction.
 */
static ServerStep
server_pass_reply(Server *server, char type, uint8_t *p, uint32_t total, uint32_t avail, bool forward)
{
	Client	   *client = server->client;

	if (type == 'Z' && client && server->tx_status != 'I' && server_exp_idle(server) &&
		pool_mode_of(server->pool) == POOL_STATEMENT)
	{
		/* statement mode (PgBouncer's): a transaction block closes the client, and its server */
		iobuf_consume(&server->conn.rbuf, total);
		client_close(client, "08P01", "transaction blocks not allowed in statement pooling mode",
					 "Send each statement on its own (autocommit), or use pool_mode = transaction.");
		return SERVER_STEP_NEXT;
	}
	if (forward && client && total <= avail && routing_hold_reply(client, type, p, total))
	{
		/* reply of a retryable read: held back until its ReadyForQuery (routing.c) */
		iobuf_consume(&server->conn.rbuf, total);
		return SERVER_STEP_NEXT;
	}
	if (forward && client && !routing_release_held(client))
	{
		client_close(client, "53200", "out of memory while forwarding", NULL);
		if (server->state != SV_FREE && server->conn.rbuf)
			iobuf_consume(&server->conn.rbuf, total);
		return SERVER_STEP_NEXT;
	}
	if (forward && client)
		routing_client_no_retry(&client->routing);	/* a reply byte reaches the client: no transparent retry */
	if (total > avail)
		return server_stream_reply(server, client, p, total, avail, forward);
	if (forward && client && pool_releases_at_commit(server->pool) &&
		(type == 'A' || type == 'C' || type == 'E' || type == 'Z'))
		forward = notify_server_reply(client, &server->notify_dirty, type, p, total);
	if (type == 'Z' && forward && client && server->tx_status == 'I' && server_exp_idle(server) &&
		pool_releases_at_commit(server->pool) && routing_client_take_capture(client))
	{
		/* read-your-writes: hold this 'Z' until the commit LSN is known (routing.c) */
		if (routing_capture_start(server))
		{
			iobuf_consume(&server->conn.rbuf, total);
			if (!conn_flush(&server->conn))
			{
				server_close(server, "could not send the commit LSN query");
				return SERVER_STEP_STOP;
			}
			return SERVER_STEP_NEXT;
		}
	}
	if (forward && client)
	{
		if (!client_send_bytes(client, p, total))
		{
			client_close(client, "53200", "out of memory while forwarding", NULL);
			client = NULL;
		}
		else
		{
			server->pool->stats.total.bytes_sent += total;
			server->pool->nodes[server->node].stats.bytes_sent += total;
		}
	}
	iobuf_consume(&server->conn.rbuf, total);
	if (!drain_synth(server, client))
	{
		client_close(client, "53200", "out of memory while forwarding", NULL);
		return SERVER_STEP_NEXT;
	}
	if (type == 'Z' && server_exp_idle(server) && server->fwd_remain == 0)
		server_transaction_end(server, client);
	return SERVER_STEP_NEXT;
}

/* server_process_message: one step of server_process: the message (or bytes) at the head of the rbuf. */
static ServerStep
server_process_message(Server *server)
{
	uint32_t	avail = iobuf_len(server->conn.rbuf);
	Client	   *client;
	uint8_t    *p;
	char		type;
	uint32_t	total;
	int			rc;
	bool		forward;

	if (avail == 0)
		return SERVER_STEP_STOP;
	p = iobuf_head(server->conn.rbuf);
	client = server->client;
	if (client && !linked_client_has_room(client))
		return SERVER_STEP_STOP;
	if (server->fwd_remain > 0)
		return server_forward_rest(server, client, p, avail);
	rc = proto_header(p, avail, &type, &total);
	if (rc < 0)
	{
		server_close(server, "invalid message length from the server");
		return SERVER_STEP_STOP;
	}
	if (rc == 0 || (total > avail && (!streamed(type) || server->state == SV_LOGIN)))
	{
		/* wait for the rest; the buffer grows toward it */
		if (rc == 1 && (total > IOBUF_MAX_MESSAGE || !iobuf_grow_toward(&server->conn.rbuf, total - avail)))
			server_close(server, "reply too large to buffer");
		return SERVER_STEP_STOP;
	}
	if (server->state == SV_LOGIN)
	{
		if (!server_login_msg(server, type, p, total))
			return SERVER_STEP_STOP;
		if (server->state != SV_FREE && server->conn.rbuf)
			iobuf_consume(&server->conn.rbuf, total);
		return SERVER_STEP_NEXT;
	}
	if (!server_reply(server, type, p, total, &forward))
		return SERVER_STEP_STOP;
	return server_pass_reply(server, type, p, total, avail, forward);
}

/*
 * server_process: handles every whole reply (and streamed piece) in rbuf, as far as the linked client
 * can take them; then flushes the client and switches reading on or off.
 */
static void
server_process(Server *server)
{
	Client	   *client;

	if (server->in_process)
		return;
	server->in_process = true;
	while (server->state != SV_FREE && server_process_message(server) == SERVER_STEP_NEXT)
		;
	server->in_process = false;
	if (server->state == SV_FREE)
		return;
	client = server->client;
	if (client && conn_has_output(&client->conn))
		(void) client_flush(client);
	if (server->state == SV_FREE)
		return;
	conn_set_read(&server->conn, !server->client || iobuf_len(server->client->conn.wbuf) < IOBUF_SIZE / 2);
}

void
server_resume(Server *server)
{
	if (server->state != SV_FREE)
		server_process(server);
}

static void server_send_startup(Server *server);

/* log_new_server: PgBouncer's "new connection to server (from local address)" line, under log_connections. */
static void
log_new_server(Server *server)
{
	struct sockaddr_storage local = {0};
	socklen_t	len = sizeof(local);
	char		text[INET6_ADDRSTRLEN] = "unix socket";
	int			port = 0;

	if (!cf.log_connections)
		return;
	if (getsockname(server->conn.fd, (struct sockaddr *) &local, &len) == 0)
	{
		if (local.ss_family == AF_INET)
		{
			inet_ntop(AF_INET, &((struct sockaddr_in *) &local)->sin_addr, text, sizeof(text));
			port = ntohs(((struct sockaddr_in *) &local)->sin_port);
		}
		else if (local.ss_family == AF_INET6)
		{
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &local)->sin6_addr, text, sizeof(text));
			port = ntohs(((struct sockaddr_in6 *) &local)->sin6_port);
		}
	}
	if (port)
		slog_info(&server->conn, "new connection to server (from %s%s%s:%d)", local.ss_family == AF_INET6 ? "[" : "",
				  text, local.ss_family == AF_INET6 ? "]" : "", port);
	else
		slog_info(&server->conn, "new connection to server (from %s)", text);
}

/* server_connected: the non-blocking connect finished: check it and send the startup packet. */
static void
server_connected(Server *server)
{
	int			err = 0;
	socklen_t	len = sizeof(err);
	Pool	   *pool = server->pool;

	if (getsockopt(server->conn.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	iobuf_release(&server->conn.wbuf);
	if (err)
	{
		char		why[256];
		int			node = server->node;

		int			entry = server->host_entry;

		snprintf(why, sizeof(why), "connect failed: %s:%d: %s", pool->nodes[node].host,
				 pool->nodes[node].port, strerror(err));
		server_close(server, why);
		if (has_host_list(pool, node))
		{
			pool->nodes[node].dns_pick++;	/* that entry's next connect takes its name's next address */
			if (next_host_entry(pool, node, entry, why) != CONNECT_FAILED)
				return;
		}
		else if (connect_next_address(pool, node))
			return;
		pool_login_failed(pool, node, "08006", why, LOGIN_TRANSIENT);
		return;
	}
	pool->nodes[server->node].dns_failures = 0;
	if (server->node == 0)
		pool->hosts_failed = 0;
	log_new_server(server);
	server_set_state(server, SV_LOGIN);
	if (tls_server_mode() != TLS_DISABLE && pool->nodes[server->node].host[0] != '/' &&
		pool->nodes[server->node].host[0] != '\0')
	{
		/* SSLRequest first; server_tls_reply() goes on with the one-byte answer */
		uint8_t		data[8];

		proto_put_u32(data, 8);
		proto_put_u32(data + 4, PROTO_SSL_CODE);
		server->tls_requested = true;
		if (!server_send_bytes(server, data, 8) || !conn_flush(&server->conn))
		{
			server_close(server, "could not send the SSLRequest");
			return;
		}
		conn_set_read(&server->conn, true);
		return;
	}
	server_send_startup(server);
}

/*
 * server_database_startup_params: the [databases] line's client_encoding, datestyle and timezone
 * (issue 15, PgBouncer's "ask specific ... from server"), as name/value pairs for the StartupMessage;
 * returns how many are set. The server reports them back in ParameterStatus, so they are the server's
 * tracked values and the pool's welcome: a client that set none gets them, a client's own still wins
 * (params.c SETs it when the client is linked).
 */
static int
server_database_startup_params(const DatabaseEntry *db, const char **names, const char **values)
{
	const char *const all_names[3] = {"client_encoding", "DateStyle", "TimeZone"};
	const char *const all_values[3] = {db->client_encoding, db->datestyle, db->timezone};
	int			n = 0;

	for (int i = 0; i < 3; i++)
		if (all_values[i][0])
		{
			names[n] = all_names[i];
			values[n++] = all_values[i];
		}
	return n;
}

/* server_send_startup: the StartupMessage (over TLS when it was negotiated). */
static void
server_send_startup(Server *server)
{
	uint8_t		data[1024];
	PktBuf		pkt;
	Pool	   *pool = server->pool;
	const char *dbname = pool->db.dbname[0] ? pool->db.dbname : pool->db.name;
	const char *names[3];
	const char *values[3];
	int			n = server_database_startup_params(&pool->db, names, values);

	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_startup(&pkt, pool->user, dbname, n, names, values);
	if (pkt.failed || !server_send_bytes(server, pkt.data, pkt.len) || !conn_flush(&server->conn))
	{
		server_close(server, "could not send the startup packet");
		return;
	}
	conn_set_read(&server->conn, true);
}

/*
 * server_tls_reply: PostgreSQL's answer to the SSLRequest: 'S' starts TLS (then the StartupMessage
 * goes over it), 'N' goes on in plaintext unless server_tls_sslmode requires TLS.
 */
static void
server_tls_reply(Server *server)
{
	PoolNode   *node = &server->pool->nodes[server->node];
	uint8_t		answer = *iobuf_head(server->conn.rbuf);

	if (iobuf_len(server->conn.rbuf) != 1 || (answer != 'S' && answer != 'N'))
	{
		server_close(server, "unexpected answer to the SSLRequest");
		return;
	}
	iobuf_consume(&server->conn.rbuf, 1);
	server->tls_requested = false;
	if (answer == 'S')
	{
		if (!tls_connect(&server->conn, node->host))
		{
			server_close(server, "could not start TLS");
			return;
		}
	}
	else if (tls_server_mode() >= TLS_REQUIRE)
	{
		char		why[256];

		snprintf(why, sizeof(why), "server %s:%d does not accept TLS, which server_tls_sslmode requires",
				 node->host, node->port);
		snprintf(node->tls_error, sizeof(node->tls_error), "%s", why);
		server_fail_login(server, "08006", why);
		return;
	}
	server_send_startup(server);
}

/*
 * server_io_failed: a send or read (what; NULL: the server closed the connection) failed. A TLS error
 * is named with OpenSSL's reason; during the login (the handshake, a certificate that does not verify)
 * it fails the login: the clients waiting for it get the reason at once (08006) and /health reports it,
 * since another attempt would fail the same way. Anything else closes the connection as before.
 */
static void
server_io_failed(Server *server, const char *what)
{
	char		why[320];

	if (what && errno == EPROTO && server->conn.ssl)
	{
		snprintf(why, sizeof(why), "TLS with server %s:%d failed: %s", server->pool->nodes[server->node].host,
				 server->pool->nodes[server->node].port, tls_last_error());
		if (server->state == SV_LOGIN)
		{
			PoolNode   *node = &server->pool->nodes[server->node];

			snprintf(node->tls_error, sizeof(node->tls_error), "%s", why);
			server_fail_login(server, "08006", why);
			return;
		}
	}
	else if (what)
		snprintf(why, sizeof(why), "%s: %s", what, strerror(errno));
	else
		snprintf(why, sizeof(why), "server closed the connection");
	if (server->state == SV_LOGIN)
	{
		Pool	   *pool = server->pool;
		int			node = server->node;

		/* a server shutting down, a network failure during the login: the clients wait for the retry */
		server_close(server, why);
		pool_login_failed(pool, node, "08006", why, LOGIN_TRANSIENT);
		return;
	}
	server_close(server, why);
}

static void
server_event(Conn *conn, short what)
{
	Server	   *server = (Server *) conn;

	if (server->state == SV_CONNECTING)
	{
		if (what & EV_WRITE)
			server_connected(server);
		return;
	}
	if (what & EV_WRITE)
	{
		if (!conn_flush(&server->conn))
		{
			server_io_failed(server, "send error");
			return;
		}
		if (server->state == SV_CANCEL && !conn_has_output(&server->conn))
			conn_set_read(&server->conn, true);
		if (!conn_has_output(&server->conn) && server->client)
		{
			client_resume(server->client);
			if (server->state == SV_FREE)
				return;
		}
	}
	if (what & EV_READ)
	{
		int			n = conn_recv(&server->conn);

		if (n == 0 || n == -1)
		{
			server_io_failed(server, n == 0 ? NULL : "read error");
			return;
		}
		if (server->state == SV_CANCEL)
		{
			iobuf_release(&server->conn.rbuf);
			return;
		}
		if (server->tls_requested)
		{
			if (iobuf_len(server->conn.rbuf) > 0)
				server_tls_reply(server);
			return;
		}
		server_process(server);
	}
}
