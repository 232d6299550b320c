/*
 * admin_sockets.c: owns the admin console's per-socket SHOW commands: CLIENTS, SERVERS, SOCKETS,
 * ACTIVE_SOCKETS and FDS, with PgBouncer 1.25's columns first and faregate's after them (see
 * admin_show.c for the rest of the console's SHOWs and the result-set writer).
 */
#include "admin_show.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "config.h"
#include "iobuf.h"
#include "params.h"
#include "pool.h"
#include "prepared.h"
#include "routing.h"
#include "server.h"
#include "session.h"
#include "tls.h"

#define T_TEXT 25
#define T_BYTEA 17
#define T_INT4 23
#define T_INT8 20

/*
 * SHOW CLIENTS / SERVERS / SOCKETS / ACTIVE_SOCKETS: PgBouncer 1.25's 21 socket columns, the seven
 * buffer columns for SOCKETS and ACTIVE_SOCKETS (its "debug" set), then faregate's: node and
 * tx_status, and for SHOW SERVERS the server's node as routing sees it.
 */
#define CONN_COLS 21
#define DEBUG_COLS 7
#define OWN_COLS 2
#define SERVER_EXTRA_COLS 5
#define CLIENT_EXTRA_COLS (SK_COUNT + 1)
#define EXTRA_MAX (SERVER_EXTRA_COLS > CLIENT_EXTRA_COLS ? SERVER_EXTRA_COLS : CLIENT_EXTRA_COLS)
#define ALL_COLS (CONN_COLS + DEBUG_COLS + OWN_COLS + EXTRA_MAX)

static const char *const conn_names[CONN_COLS] = {"type", "user", "database", "replication", "state", "addr",
	"port", "local_addr", "local_port", "connect_time", "request_time", "wait", "wait_us", "close_needed",
	"ptr", "link", "remote_pid", "tls", "application_name", "prepared_statements", "id"};
static const uint32_t conn_types[CONN_COLS] = {T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT4, T_TEXT,
	T_INT4, T_TEXT, T_TEXT, T_INT4, T_INT4, T_INT4, T_TEXT, T_TEXT, T_INT4, T_TEXT, T_TEXT, T_INT4, T_INT8};
static const char *const debug_names[DEBUG_COLS] = {"recv_pos", "pkt_pos", "pkt_remain", "send_pos",
	"send_remain", "pkt_avail", "send_avail"};
static const char *const own_names[OWN_COLS] = {"node", "tx_status"};
static const uint32_t own_types[OWN_COLS] = {T_INT4, T_TEXT};
static const char *const server_extra_names[SERVER_EXTRA_COLS] = {"node_role", "node_host", "node_lsn",
	"node_lag_bytes", "node_lag_ms"};
static const uint32_t server_extra_types[SERVER_EXTRA_COLS] = {T_TEXT, T_TEXT, T_TEXT, T_INT8, T_INT8};

/*
 * SHOW CLIENTS only: statements seen creating each kind of session state (session.c, in SessionKind
 * order), and whether the client is pinned to its server (session_state_action = pin).
 */
static const char *const client_extra_names[CLIENT_EXTRA_COLS] = {"state_advisory_lock", "state_hold_cursor",
	"state_role", "state_temp_table", "state_untracked_set", "pinned"};

/*
 * conn_header: the RowDescription; debug adds the buffer columns, server the routing columns, clients
 * (SHOW CLIENTS) the session-state columns.
 */
static void
conn_header_extra(AdminResult *res, Client *client, bool debug, bool server, bool clients)
{
	const char *names[ALL_COLS];
	uint32_t	types[ALL_COLS];
	int			n = 0;

	for (int c = 0; c < CONN_COLS; c++, n++)
		names[n] = conn_names[c], types[n] = conn_types[c];
	for (int c = 0; debug && c < DEBUG_COLS; c++, n++)
		names[n] = debug_names[c], types[n] = T_INT4;
	for (int c = 0; c < OWN_COLS; c++, n++)
		names[n] = own_names[c], types[n] = own_types[c];
	for (int c = 0; server && c < SERVER_EXTRA_COLS; c++, n++)
		names[n] = server_extra_names[c], types[n] = server_extra_types[c];
	for (int c = 0; clients && c < CLIENT_EXTRA_COLS; c++, n++)
		names[n] = client_extra_names[c], types[n] = T_INT4;
	admin_result_begin(res, client, n, names, types);
}

static void
conn_header(AdminResult *res, Client *client, bool debug, bool server)
{
	conn_header_extra(res, client, debug, server, false);
}

/* One connection as SHOW CLIENTS/SERVERS/SOCKETS shows it. */
typedef struct ConnInfo
{
	const Conn *conn;
	char		type;
	const char *user;
	const char *db;
	const char *state;
	uint64_t	connect_time;
	uint64_t	request_time;
	uint64_t	wait_us;
	bool		close_needed;
	const void *link;
	uint32_t	remote_pid;
	const char *app;
	int			n_prepared;
	uint32_t	pkt_remain;
	int			node;
	char		tx_status;
} ConnInfo;

static void
client_info(const Client *c, ConnInfo *info)
{
	uint64_t	now = conn_now_usec();

	memset(info, 0, sizeof(*info));
	info->conn = &c->conn;
	info->type = 'C';
	info->user = c->user[0] ? c->user : "(nouser)";
	info->db = c->admin ? "pgbouncer" : c->dbname[0] ? c->dbname : "(nodb)";
	info->state = client_state_name(c);
	info->connect_time = c->connect_time;
	info->request_time = c->request_time;
	info->wait_us = c->state == CL_WAITING ? now - c->request_time : 0;
	info->link = c->server ? (const void *) &c->server->conn : NULL;
	info->remote_pid = 0;		/* PgBouncer: the peer's pid over a Unix socket, else 0 */
	info->app = c->application_name;
	info->n_prepared = prepared_client_count(&c->stmts);
	info->pkt_remain = c->fwd_remain;
	info->node = c->state == CL_WAITING ? c->wait_node : c->server ? c->server->node : 0;
	info->tx_status = c->tx_status;
}

static void
server_info(const Server *s, ConnInfo *info)
{
	memset(info, 0, sizeof(*info));
	info->conn = &s->conn;
	info->type = 'S';
	info->user = s->pool ? s->pool->user : "(nouser)";
	info->db = s->pool ? s->pool->db.name : "(nodb)";
	info->state = server_state_name(s);
	info->connect_time = s->connect_time;
	info->request_time = s->request_time;
	info->close_needed = s->close_needed;
	info->link = s->client ? (const void *) &s->client->conn : NULL;
	info->remote_pid = s->backend_pid;
	info->app = s->params.values[PARAM_APPLICATION_NAME];
	info->n_prepared = s->stmts.n_used;
	info->node = s->node;
	info->tx_status = s->tx_status;
}

/*
 * conn_row_extra: one row; state overrides info->state (SOCKETS' cl_active …); extra = n_extra columns
 * after faregate's own (the server or the client columns).
 */
static void
conn_row_extra(AdminResult *res, const ConnInfo *info, const char *state, bool debug, const char *const *extra,
			   int n_extra)
{
	char		v[CONN_COLS + DEBUG_COLS + OWN_COLS][96];
	const char *values[ALL_COLS];
	const Conn *conn = info->conn;
	struct sockaddr_storage local;
	socklen_t	len = sizeof(local);
	Conn		tmp;
	int			n = 0;

	memset(&tmp, 0, sizeof(tmp));
	if (conn->fd >= 0 && getsockname(conn->fd, (struct sockaddr *) &local, &len) == 0)
		conn_set_addr(&tmp, (struct sockaddr *) &local);
	snprintf(v[0], 96, "%c", info->type);
	snprintf(v[1], 96, "%s", info->user);
	snprintf(v[2], 96, "%s", info->db);
	snprintf(v[3], 96, "none");	/* replication connections are refused at login */
	snprintf(v[4], 96, "%s", state ? state : info->state);
	snprintf(v[5], 96, "%s", conn->addr);
	snprintf(v[6], 96, "%d", conn->port);
	snprintf(v[7], 96, "%s", tmp.addr);
	snprintf(v[8], 96, "%d", tmp.port);
	admin_fmt_time(v[9], 96, info->connect_time);
	admin_fmt_time(v[10], 96, info->request_time);
	snprintf(v[11], 96, "%llu", (unsigned long long) (info->wait_us / 1000000));
	snprintf(v[12], 96, "%llu", (unsigned long long) (info->wait_us % 1000000));
	snprintf(v[13], 96, "%d", info->close_needed ? 1 : 0);
	snprintf(v[14], 96, "%p", (const void *) conn);
	if (info->link)
		snprintf(v[15], 96, "%p", info->link);
	else
		v[15][0] = '\0';
	snprintf(v[16], 96, "%u", info->remote_pid);
	snprintf(v[17], 96, "%s", tls_describe(conn));
	snprintf(v[18], 96, "%s", info->app ? info->app : "");
	snprintf(v[19], 96, "%d", info->n_prepared);
	snprintf(v[20], 96, "%llu", (unsigned long long) conn->id);
	for (; n < CONN_COLS; n++)
		values[n] = v[n];
	if (debug)
	{
		/* faregate's buffers: rbuf start/end = PgBouncer's pkt_pos/recv_pos, wbuf start = send_pos */
		snprintf(v[n], 96, "%u", conn->rbuf ? conn->rbuf->end : 0);
		snprintf(v[n + 1], 96, "%u", conn->rbuf ? conn->rbuf->start : 0);
		snprintf(v[n + 2], 96, "%u", info->pkt_remain);
		snprintf(v[n + 3], 96, "%u", conn->wbuf ? conn->wbuf->start : 0);
		snprintf(v[n + 4], 96, "0");
		snprintf(v[n + 5], 96, "%u", iobuf_len(conn->rbuf));
		snprintf(v[n + 6], 96, "%u", iobuf_len(conn->wbuf));
		for (int c = 0; c < DEBUG_COLS; c++, n++)
			values[n] = v[n];
	}
	snprintf(v[n], 96, "%d", info->node);
	snprintf(v[n + 1], 96, "%c", info->tx_status ? info->tx_status : 'I');
	values[n] = v[n];
	values[n + 1] = v[n + 1];
	n += OWN_COLS;
	for (int c = 0; extra && c < n_extra && c < EXTRA_MAX; c++)
		values[n + c] = extra[c];
	admin_result_row(res, values);
}

static void
conn_row(AdminResult *res, const ConnInfo *info, const char *state, bool debug, const char *const *extra)
{
	conn_row_extra(res, info, state, debug, extra, SERVER_EXTRA_COLS);
}

bool
admin_show_clients(Client *client)
{
	AdminResult		res;
	ConnInfo	info;

	conn_header_extra(&res, client, false, false, true);
	for (List *it = client_all_list.next; it != &client_all_list && !res.failed; it = it->next)
	{
		Client	   *c = container_of(it, Client, all_node);
		char		ev[CLIENT_EXTRA_COLS][16];
		const char *extra[CLIENT_EXTRA_COLS];

		if (c->state == CL_LOGIN)
			continue;			/* PgBouncer lists logged-in clients only (SHOW SOCKETS has the rest) */
		for (int k = 0; k < SK_COUNT; k++)
			snprintf(ev[k], sizeof(ev[k]), "%u", c->session.detected[k]);
		snprintf(ev[SK_COUNT], sizeof(ev[SK_COUNT]), "%d", c->session.pinned ? 1 : 0);
		for (int k = 0; k < CLIENT_EXTRA_COLS; k++)
			extra[k] = ev[k];
		client_info(c, &info);
		conn_row_extra(&res, &info, NULL, false, extra, CLIENT_EXTRA_COLS);
	}
	return admin_result_end(&res);
}

bool
admin_show_servers(Client *client)
{
	AdminResult		res;
	ConnInfo	info;

	conn_header(&res, client, false, true);
	for (List *it = server_all_list.next; it != &server_all_list && !res.failed; it = it->next)
	{
		Server	   *s = container_of(it, Server, all_node);
		char		ev[SERVER_EXTRA_COLS][CF_HOST_MAX + 16];
		const char *extra[SERVER_EXTRA_COLS];
		RoutingNodeInfo rinfo;
		int			node;
		char		host[CF_HOST_MAX];

		if (!s->pool)
			continue;			/* a one-shot cancel connection */
		node = s->node >= 0 && s->node < s->pool->n_nodes ? s->node : 0;
		routing_node_info(s->pool, node, &rinfo);
		snprintf(ev[0], sizeof(ev[0]), "%s", rinfo.role);
		server_host_name(s, host, sizeof(host));
		snprintf(ev[1], sizeof(ev[1]), "%s:%d", host, s->pool->nodes[node].port);
		snprintf(ev[2], sizeof(ev[2]), "%s", rinfo.lsn);
		snprintf(ev[3], sizeof(ev[3]), "%lld", (long long) rinfo.lag_bytes);
		snprintf(ev[4], sizeof(ev[4]), "%ld", rinfo.lag_ms);
		for (int c = 0; c < SERVER_EXTRA_COLS; c++)
			extra[c] = ev[c];
		server_info(s, &info);
		conn_row(&res, &info, NULL, false, extra);
	}
	return admin_result_end(&res);
}

/* socket_state: SHOW SOCKETS' state names: the list the connection is on, as PgBouncer names it. */
static const char *
client_socket_state(const Client *c)
{
	switch (c->state)
	{
		case CL_LOGIN:
		case CL_WAIT_WELCOME:
			return "cl_login";
		case CL_WAITING:
			return "cl_waiting";
		default:
			return "cl_active";
	}
}

static const char *
server_socket_state(const Server *s)
{
	switch (s->state)
	{
		case SV_CONNECTING:
		case SV_LOGIN:
			return "sv_login";
		case SV_IDLE:
			return "sv_idle";
		case SV_RESET:
			return "sv_tested";
		case SV_CANCEL:
			return "sv_active_cancel";
		default:
			return "sv_active";
	}
}

/* show_sockets: every client and server socket; active_only: those with bytes in a buffer. */
static bool
show_sockets_of(Client *client, bool active_only)
{
	AdminResult		res;
	ConnInfo	info;

	conn_header(&res, client, true, false);
	for (List *it = client_all_list.next; it != &client_all_list && !res.failed; it = it->next)
	{
		Client	   *c = container_of(it, Client, all_node);

		if (active_only && !iobuf_len(c->conn.rbuf) && !iobuf_len(c->conn.wbuf))
			continue;
		client_info(c, &info);
		conn_row(&res, &info, client_socket_state(c), true, NULL);
	}
	for (List *it = server_all_list.next; it != &server_all_list && !res.failed; it = it->next)
	{
		Server	   *s = container_of(it, Server, all_node);

		if (active_only && !iobuf_len(s->conn.rbuf) && !iobuf_len(s->conn.wbuf))
			continue;
		server_info(s, &info);
		conn_row(&res, &info, server_socket_state(s), true, NULL);
	}
	return admin_result_end(&res);
}

bool
admin_show_sockets(Client *client)
{
	return show_sockets_of(client, false);
}

bool
admin_show_active_sockets(Client *client)
{
	return show_sockets_of(client, true);
}

/*
 * show_fds: PgBouncer's online-takeover list (fd, task, user, database, addr, port, cancel, link,
 * client_encoding, std_strings, datestyle, timezone, password, scram keys): every client and server
 * socket. Secrets never appear: password and the SCRAM keys are NULL, cancel is 0 (a cancel key lets
 * anyone cancel that client's queries). admin_users only, as PgBouncer.
 */
bool
admin_show_fds(Client *client)
{
	static const char *const names[] = {"fd", "task", "user", "database", "addr", "port", "cancel", "link",
		"client_encoding", "std_strings", "datestyle", "timezone", "password", "scram_client_key",
		"scram_server_key"};
	static const uint32_t types[] = {T_INT4, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT4, T_INT8, T_INT4, T_TEXT,
		T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_BYTEA, T_BYTEA};
	AdminResult		res;

	admin_result_begin(&res, client, 15, names, types);
	for (int pass = 0; pass < 2 && !res.failed; pass++)
	{
		List	   *head = pass == 0 ? &client_all_list : &server_all_list;

		for (List *it = head->next; it != head && !res.failed; it = it->next)
		{
			const Conn *conn;
			const Conn *link;
			const ParamSet *params;
			ConnInfo	info;
			char		v[4][32];
			const char *values[15];

			if (pass == 0)
			{
				Client	   *c = container_of(it, Client, all_node);

				client_info(c, &info);
				params = &c->params;
				link = c->server ? &c->server->conn : NULL;
			}
			else
			{
				Server	   *s = container_of(it, Server, all_node);

				server_info(s, &info);
				params = &s->params;
				link = s->client ? &s->client->conn : NULL;
			}
			conn = info.conn;
			snprintf(v[0], 32, "%d", conn->fd);
			snprintf(v[1], 32, "%d", conn->port);
			snprintf(v[2], 32, "0");
			snprintf(v[3], 32, "%d", link ? link->fd : 0);
			values[0] = v[0];
			values[1] = pass == 0 ? "client" : "server";
			values[2] = info.user;
			values[3] = info.db;
			values[4] = conn->addr;
			values[5] = v[1];
			values[6] = v[2];
			values[7] = v[3];
			values[8] = params->values[PARAM_CLIENT_ENCODING];
			values[9] = params->values[PARAM_STANDARD_CONFORMING_STRINGS];
			values[10] = params->values[PARAM_DATESTYLE];
			values[11] = params->values[PARAM_TIMEZONE];
			values[12] = values[13] = values[14] = NULL;
			admin_result_row(&res, values);
		}
	}
	return admin_result_end(&res);
}
