/*
 * client.c: owns client connections: their slab, the login (startup packet, SSL/GSSENC refusal,
 * CancelRequest, authentication, the welcome replay of the server's parameters), and the client-to-
 * server half of the data path in client_process(): framing requests out of rbuf, starting a
 * transaction (route, then wait or link), and forwarding each request to the linked server, rewriting
 * statement names for prepared.c and recording what reply to expect (server.h).
 *
 * Back-pressure: a request is forwarded only while the server's wbuf has room; otherwise processing
 * stops, the client's read interest is dropped, and server.c calls client_resume() when the server's
 * output drained. A waiting client is not read either (its requests stay in rbuf until it is linked).
 */
#include "client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"
#include "clientlimit.h"
#include "peer.h"
#include "peerauth.h"
#include "login.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "routing.h"
#include "tls.h"
#include "pool.h"
#include "proto.h"
#include "server.h"
#include "slab.h"
#include "sqlscan.h"

List		client_all_list;
List		login_client_list;
int			client_count;
static int	client_login_count;	/* clients on login_client_list (max_login_clients) */

static Slab *client_slab;
static List zombie_clients;

static void client_process(Client *client);

void
client_init_globals(void)
{
	client_slab = slab_create("client", sizeof(Client));
	list_init(&client_all_list);
	list_init(&login_client_list);
	list_init(&zombie_clients);
}

const char *
client_state_name(const Client *client)
{
	switch (client->state)
	{
		case CL_LOGIN:
		case CL_WAIT_WELCOME:
			return "login";
		case CL_IDLE:
			return client->admin ? "active" : "idle";
		case CL_WAITING:
			return "waiting";
		case CL_ACTIVE:
			return "active";
		case CL_FREE:
			break;
	}
	return "closed";
}

void
client_set_state(Client *client, ClientState state)
{
	Pool	   *pool = client->pool;

	list_del(&client->list_node);
	if (client->state == CL_LOGIN)
		client_login_count--;
	if (state == CL_LOGIN)
		client_login_count++;
	if (client->state == CL_WAITING)
		pool->nodes[client->wait_node].n_waiting--;
	if (state == CL_WAITING)
		pool->nodes[client->wait_node].n_waiting++;
	client->state = state;
	switch (state)
	{
		case CL_LOGIN:
			list_append(&login_client_list, &client->list_node);
			break;
		case CL_WAIT_WELCOME:
			list_append(&pool->welcome_clients, &client->list_node);
			break;
		case CL_IDLE:
			list_append(&pool->idle_clients, &client->list_node);
			break;
		case CL_WAITING:
			list_append(&pool->nodes[client->wait_node].waiting_clients, &client->list_node);
			break;
		case CL_ACTIVE:
			list_append(&pool->active_clients, &client->list_node);
			break;
		case CL_FREE:
			list_append(&zombie_clients, &client->list_node);
			break;
	}
	if (state == CL_IDLE)
	{
		/* the transaction is over: a read kept for a retry is not needed any more (routing.c) */
		routing_client_release(client);
	}
	/* a message boundary without a server: notifications held during the transaction go out */
	if (state == CL_IDLE && client->notify.pending_len)
		notify_client_idle(client);
}

void
client_reap_zombies(void)
{
	List	   *it;
	List	   *tmp;

	list_for_each_safe(it, tmp, &zombie_clients)
	{
		list_del(it);
		slab_free(client_slab, container_of(it, Client, list_node));
	}
}

static void
client_event(Conn *conn, short what)
{
	Client	   *client = (Client *) conn;

	if (what & EV_WRITE)
	{
		if (!client_flush(client))
			return;
		if (!conn_has_output(&client->conn) && client->server)
		{
			server_resume(client->server);
			if (client->state == CL_FREE)
				return;
		}
	}
	if (what & EV_READ)
	{
		int			n = conn_recv(&client->conn);

		if (n == 0)
		{
			client_close(client, NULL, "client closed the connection", NULL);
			return;
		}
		if (n == -1)
		{
			char		why[128];

			snprintf(why, sizeof(why), "read error: %s", strerror(errno));
			client_close(client, NULL, why, NULL);
			return;
		}
		client_process(client);
	}
}

/* login_cap: how many logins may be in progress at once (max_login_clients; 0 = max_client_conn). */
static int
login_cap(void)
{
	return cf.max_login_clients > 0 ? cf.max_login_clients : cf.max_client_conn;
}

bool
client_accept(int fd, const struct sockaddr *addr, bool unix_socket)
{
	Client	   *client;

	/*
	 * Logins in progress have their own cap, so that sockets which never log in cannot take the slots of
	 * max_client_conn; at the cap the oldest login in progress makes room. A real login takes a few round
	 * trips, so an attacker must open max_login_clients connections within that time to push it out.
	 */
	if (client_login_count >= login_cap() && !list_empty(&login_client_list))
		client_close(container_of(list_first(&login_client_list), Client, list_node), "53300",
					 "too many logins in progress: max_login_clients reached and this login was the oldest",
					 "Log in promptly, or raise max_login_clients.");
	client = slab_alloc(client_slab);

	if (!client)
	{
		log_error("out of memory for a new client connection");
		close(fd);
		return false;
	}
	conn_init(&client->conn, fd, 'C', client_event);
	conn_set_addr(&client->conn, addr);
	if (!unix_socket)
	{
		int			on = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
	list_init(&client->list_node);
	list_init(&client->all_node);
	ratelimit_init_client(client);
	list_append(&client_all_list, &client->all_node);
	client->connect_time = client->request_time = conn_now_usec();
	client->tx_status = 'I';
	client_count++;
	client_set_state(client, CL_LOGIN);
	conn_set_read(&client->conn, true);
	slog_debug(&client->conn, "new connection");
	return true;
}

bool
client_send_bytes(Client *client, const void *data, size_t len)
{
	routing_client_no_retry(&client->routing);	/* a byte for the client: its read is never retried */
	return iobuf_append(&client->conn.wbuf, data, len);
}

bool
client_flush(Client *client)
{
	if (client->state == CL_FREE)
		return false;
	if (!conn_flush(&client->conn))
	{
		char		why[128];

		snprintf(why, sizeof(why), "send error: %s", strerror(errno));
		client_close(client, NULL, why, NULL);
		return false;
	}
	return true;
}

bool
client_send_error(Client *client, const char *sqlstate, const char *message, const char *hint, bool ready)
{
	uint8_t		data[2048];
	PktBuf		pkt;

	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_error(&pkt, 'E', "ERROR", sqlstate, message, hint);
	if (ready)
		proto_build_ready(&pkt, client->tx_status ? client->tx_status : 'I');
	if (client->pool)
		client->pool->stats.total.errors++;
	metrics_count_error(sqlstate, false);
	slog_debug(&client->conn, "error sent to client: %s %s", sqlstate, message);
	if (pkt.failed || !client_send_bytes(client, pkt.data, pkt.len))
	{
		client_close(client, NULL, "out of memory for an error message", NULL);
		return false;
	}
	return client_flush(client);
}

bool
client_send_duplicate(Client *client, const char *name)
{
	char		message[160];

	snprintf(message, sizeof(message), "prepared statement \"%s\" already exists", name);
	/* PgBouncer's log words; the client gets PostgreSQL's error and keeps its connection */
	slog_info(&client->conn, "prepared statement '%s' was already prepared: answered 42P05", name);
	return client_send_error(client, "42P05", message, NULL, false);
}

void
client_close(Client *client, const char *sqlstate, const char *reason, const char *hint)
{
	Server	   *server = client->server;

	if (client->state == CL_FREE)
		return;
	ratelimit_forget(client);
	notify_forget(client);
	/*
	 * The log line comes before the error is sent: whoever reads the log once the client has its error
	 * (PgBouncer's test suite does) finds the line there.
	 *
	 * A client that never logged in can repeat this at will: rate-limited (log.h).
	 */
	if (!client->cancel_conn && (client->state == CL_LOGIN || sqlstate))
	{
		if (client->state != CL_LOGIN || log_event_allowed(LOGEV_LOGIN_FAILED))
			slog_info(&client->conn, "closing because: %s (age %llus)", reason,
					  (unsigned long long) ((conn_now_usec() - client->connect_time) / 1000000));
	}
	else
		slog_debug(&client->conn, "closing because: %s", reason);
	if (sqlstate && client->conn.fd >= 0)
	{
		uint8_t		data[2048];
		PktBuf		pkt;

		pktbuf_init(&pkt, data, sizeof(data));
		proto_build_error(&pkt, 'E', "FATAL", sqlstate, reason, hint);
		if (!pkt.failed && iobuf_append(&client->conn.wbuf, pkt.data, pkt.len))
			if (!conn_flush(&client->conn)) { /* the error shows on the next event */ }
		if (client->pool)
			client->pool->stats.total.errors++;
		metrics_count_error(sqlstate, false);
	}

	if (server)
	{
		client->server = NULL;
		server->client = NULL;
		if (server->state == SV_ACTIVE && server_exp_idle(server) && server->tx_status == 'I' &&
			server->fwd_remain == 0 && !conn_has_output(&server->conn))
			server_release(server);
		else
		{
			/*
			 * PostgreSQL notices a closed socket only when it next reads from it, i.e. after the running
			 * statement ends: a vanished client's pg_sleep(60) would hold its backend, locks and slot for
			 * a minute. A request still in flight is therefore cancelled first; an idle backend inside a
			 * transaction reads at once, sees the close and rolls back.
			 */
			if (server->state == SV_ACTIVE && (!server_exp_idle(server) || server->fwd_remain > 0))
				server_send_cancel(server);
			server_close(server, "client went away in the middle of a transaction or request");
		}
	}
	session_client_free(client);
	login_cleanup(client);
	prepared_client_free(&client->stmts);
	params_clear(&client->params);
	free(client->pending_search_path);
	client->pending_search_path = NULL;
	free(client->txn_search_path);
	client->txn_search_path = NULL;
	client->txn_sp_set = false;
	routing_client_release(client);
	list_del(&client->all_node);
	conn_close(&client->conn);
	client_count--;
	client_set_state(client, CL_FREE);
	pool_schedule_reap();
}

Client *
client_find_by_cancel(uint32_t pid, uint32_t key)
{
	List	   *it;

	for (it = client_all_list.next; it != &client_all_list; it = it->next)
	{
		Client	   *client = container_of(it, Client, all_node);

		if (client->cancel_pid == pid && client->cancel_key == key && client->state != CL_LOGIN)
			return client;
	}
	return NULL;
}

/* client_handle_cancel: a CancelRequest connection: forward to the server running that client's query. */
static void
client_handle_cancel(Client *client, const uint8_t *pkt, uint32_t len)
{
	uint32_t	pid;
	uint32_t	key;
	bool		forwarded;
	Client	   *target;

	if (!proto_parse_cancel(pkt, len, &pid, &key))
	{
		client_close(client, NULL, "malformed cancel request", NULL);
		return;
	}
	target = client_find_by_cancel(peer_local_pid(pid, &forwarded), key);
	if (!target && peer_forward_cancel(pid, key))
	{
		client_close(client, NULL, "cancel request forwarded to the peer that owns the client", NULL);
		return;
	}
	if (target && target->server)
	{
		slog_info(&target->conn, "cancel request forwarded to backend %u", target->server->backend_pid);
		server_send_cancel(target->server);
	}
	else if (log_event_allowed(LOGEV_CANCEL_IGNORED))
		slog_info(&client->conn, "cancel request for no running query: ignored");
	client->cancel_conn = true;
	client_close(client, NULL, "cancel request handled", NULL);
}

static void
random_u32_pair(uint32_t *a, uint32_t *b)
{
	uint32_t	r[2] = {0, 0};

	if (getrandom(r, sizeof(r), 0) != (ssize_t) sizeof(r))
	{
		static uint32_t counter = 0x9e3779b9;

		r[0] = (counter += 0x6d2b79f5) ^ (uint32_t) conn_now_usec();
		r[1] = (counter += 0x6d2b79f5) * 2654435761u;
	}
	*a = r[0] | 1;
	*b = r[1];
}

/*
 * clip_name: copies a startup-packet name as PostgreSQL stores it: at most NAMEDATALEN - 1 (63) bytes, cut
 * before a UTF-8 sequence rather than inside one. Every later lookup (auth_file, [databases], pools) uses
 * this stored copy, so a longer name is one name, not a new one at every login.
 */
static void
clip_name(char *dst, size_t dstlen, const char *src)
{
	size_t		len = strlen(src);

	if (len >= dstlen)
	{
		len = dstlen - 1;
		while (len > 0 && ((unsigned char) src[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * client_startup: a whole StartupMessage: check the admin console's rights, then authenticate. An unknown
 * database is refused only after authentication (client_attach_pool), as PgBouncer: before it, the answer
 * would tell anyone which database names exist. No pool is looked up or created here: that waits for authentication (client_attach_pool),
 * so a login that never completes costs nothing beyond its connection object.
 */
static void
client_startup(Client *client, const uint8_t *pkt, uint32_t len)
{
	StartupInfo info;
	char		err[256];
	bool		admin_db;

	if (!proto_parse_startup(pkt, len, &info, err, sizeof(err)))
	{
		client_close(client, "08P01", err, "Connect with a PostgreSQL v3 client such as libpq.");
		return;
	}
	clip_name(client->user, sizeof(client->user), info.user);
	clip_name(client->dbname, sizeof(client->dbname), info.database);
	client->conn.user = client->user;
	client->conn.db = client->dbname;
	for (int i = 0; i < info.n_params; i++)
		if (strcmp(info.names[i], "application_name") == 0)
			snprintf(client->application_name, sizeof(client->application_name), "%s", info.values[i]);

	admin_db = strcmp(client->dbname, "faregate") == 0 || strcmp(client->dbname, "pgbouncer") == 0;
	/* during a shutdown the Unix socket stays open for the admin console only */
	if (!admin_db && (pool_shutting_down || (admin_shutdown_mode() != SHUTDOWN_NONE &&
											 strcmp(client->conn.addr, "unix") == 0)))
	{
		client_close(client, "57P03", "the pooler is shutting down", "Connect again in a moment.");
		return;
	}
	if (!admin_db && admin_db_disabled(client->dbname))
	{
		snprintf(err, sizeof(err), "database \"%s\" is disabled", client->dbname);
		client_close(client, "57P03", err, "An operator ran DISABLE; ENABLE on the admin console admits clients again.");
		return;
	}
	if (admin_db)
	{
		client->admin_full = config_list_contains(cf.admin_users, client->user);
		client->admin_peer = strcmp(client->user, "pgbouncer") == 0 && strcmp(client->conn.addr, "unix") == 0 &&
			peerauth_is_own_user(client->conn.fd);
		client->admin_full = client->admin_full || client->admin_peer;
		if (!client->admin_full && !config_list_contains(cf.stats_users, client->user))
		{
			client_close(client, "28000", "not allowed to connect to the admin console",
						 "Add the user to admin_users or stats_users in the pooler's configuration.");
			return;
		}
		client->admin = true;
	}
	for (int i = 0; i < info.n_params; i++)
	{
		int			id = params_lookup(info.names[i]);

		if (id >= 0)
			params_set(&client->params, (ParamId) id, info.values[i]);
		else if (client->admin)
			;					/* the admin console has no server session to lose a setting on */
		else if (strcmp(info.names[i], "options") == 0 &&
				 !session_startup_options(client, info.values[i], err, sizeof(err)))
		{
			client_close(client, "08P01", err, "Set it with SET after connecting, add it to "
						 "track_extra_parameters, or connect without it.");
			return;
		}
		else if (strcmp(info.names[i], "options") != 0 &&
				 !session_startup_param(client, info.names[i], err, sizeof(err)))
		{
			client_close(client, "08P01", err, "Add it to track_extra_parameters to apply it on every server "
						 "connection, or to ignore_startup_parameters to connect without it.");
			return;
		}
	}
	random_u32_pair(&client->cancel_pid, &client->cancel_key);
	client->cancel_pid = peer_tag_pid(client->cancel_pid);
	login_begin(client);
}

/*
 * client_has_slot: max_client_conn logged-in clients are admitted, as PgBouncer; admin_users logging in to
 * the admin console get admin_reserved_connections slots beyond it, so the console stays reachable when
 * other clients fill the pooler (PostgreSQL's superuser_reserved_connections, counted on top). False when the client
 * was closed.
 */
static bool
client_has_slot(Client *client)
{
	int			logged_in = client_count - client_login_count;
	bool		console = client->admin && config_list_contains(cf.admin_users, client->user);

	if (logged_in < cf.max_client_conn)
		return true;
	if (!console)
	{
		client_close(client, "53300", "too many connections: max_client_conn reached; only the admin console "
					 "gets slots beyond it (admin_reserved_connections)",
					 "Raise max_client_conn or close idle client connections.");
		return false;
	}
	if (logged_in >= cf.max_client_conn + cf.admin_reserved_connections)
	{
		client_close(client, "53300", "too many connections: max_client_conn reached, and the "
					 "admin_reserved_connections slots beyond it are taken",
					 "Raise max_client_conn or close idle client connections.");
		return false;
	}
	return true;
}

bool
client_attach_pool(Client *client)
{
	const DatabaseEntry *db;

	if (client->pool)
		return true;
	if (!client_has_slot(client) || !clientlimit_admit(client))
		return false;
	if (client->admin)
		client->pool = pool_admin(client->user);
	else
	{
		/* looked up again: a RELOAD during the login may have removed the entry */
		db = config_find_database(&cf, client->dbname);
		if (!db)
		{
			char		err[256];

			snprintf(err, sizeof(err), "no such database: %s", client->dbname);
			client_close(client, "3D000", err,
						 "Add the database to [databases] in the pooler's configuration, or a \"*\" entry.");
			return false;
		}
		client->pool = pool_get(db, client->dbname, client->user);
		/* a user that exists only through auth_query: its pool goes when unused, as a "*" pool does */
		if (client->pool && !db->user[0] && login_user_looked_up(client->dbname, client->user))
			client->pool->autodb = true;
	}
	if (!client->pool)
	{
		client_close(client, "53200", "out of memory for a new pool", NULL);
		return false;
	}
	return true;
}

/* client_login_done: authentication succeeded (login.c calls it). */
void
client_login_done(Client *client)
{
	uint8_t		data[64];
	PktBuf		pkt;

	if (!client_attach_pool(client))
		return;
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_auth(&pkt, PROTO_AUTH_OK, NULL, 0);
	if (!client_send_bytes(client, pkt.data, pkt.len))
	{
		client_close(client, "53200", "out of memory", NULL);
		return;
	}
	if (client->admin)
	{
		client_welcome(client);
		return;
	}
	if (client->pool->welcome_ready)
	{
		client_welcome(client);
		return;
	}
	if (pool_login_failing(client->pool))
	{
		pool_fail_fast(client->pool, client, client->pool->login_node);
		return;
	}
	client_set_state(client, CL_WAIT_WELCOME);
	if (list_empty(&client->pool->nodes[client->pool->login_node].login_servers))
		pool_launch(client->pool, client->pool->login_node);
	(void) client_flush(client);
}

void
client_welcome(Client *client)
{
	Pool	   *pool = client->pool;
	uint8_t		data[8192];
	PktBuf		pkt;

	pktbuf_init(&pkt, data, sizeof(data));
	if (client->admin)
	{
		proto_build_param_status(&pkt, "server_version", "15.0 faregate-pooler");
		proto_build_param_status(&pkt, "client_encoding", client->params.values[PARAM_CLIENT_ENCODING] ?
								 client->params.values[PARAM_CLIENT_ENCODING] : "UTF8");
		proto_build_param_status(&pkt, "server_encoding", "UTF8");
		proto_build_param_status(&pkt, "DateStyle", "ISO, MDY");
		proto_build_param_status(&pkt, "standard_conforming_strings", "on");
		proto_build_param_status(&pkt, "integer_datetimes", "on");
	}
	else
	{
		/* the client's value wins for tracked parameters; the server's default otherwise */
		for (int i = 0; i < params_count(); i++)
			if (!client->params.values[i] && pool->welcome_params.values[i])
				params_set(&client->params, (ParamId) i, pool->welcome_params.values[i]);
		for (int i = 0; i < pool->n_welcome; i++)
		{
			int			id = params_lookup(pool->welcome_names[i]);
			const char *value = id >= 0 && client->params.values[id] ? client->params.values[id] :
				pool->welcome_values[i];

			proto_build_param_status(&pkt, pool->welcome_names[i], value);
		}
	}
	proto_build_backend_key(&pkt, client->cancel_pid, client->cancel_key);
	proto_build_ready(&pkt, 'I');
	if (pkt.failed || !client_send_bytes(client, pkt.data, pkt.len))
	{
		client_close(client, "53200", "out of memory", NULL);
		return;
	}
	client->tx_status = 'I';
	client_set_state(client, CL_IDLE);
	slog_debug(&client->conn, "login done");
	if (!client_flush(client))
		return;
	client_process(client);
}

/* client_login_step: handles one startup-phase packet; false when it needs more bytes or stopped. */
static bool
client_login_step(Client *client)
{
	uint8_t    *p;
	uint32_t	avail = iobuf_len(client->conn.rbuf);
	uint32_t	len;
	uint32_t	code;

	if (client->auth.step > 0)
		return login_step(client);	/* typed messages: PasswordMessage, SASL responses */
	if (avail < 8)
		return false;
	p = iobuf_head(client->conn.rbuf);
	len = proto_get_u32(p);
	if (len < 8 || len > PROTO_STARTUP_MAX)
	{
		client_close(client, "08P01", "invalid startup packet length", "Connect with a PostgreSQL v3 client.");
		return false;
	}
	if (avail < len)
		return false;
	code = proto_startup_code(p);
	if (code == PROTO_SSL_CODE && tls_client_offered() && !client->conn.ssl &&
		strcmp(client->conn.addr, "unix") != 0)
	{
		/* bytes after the SSLRequest would be plaintext injected ahead of the handshake */
		if (avail != len)
		{
			client_close(client, "08P01", "unexpected data after the SSLRequest", NULL);
			return false;
		}
		iobuf_consume(&client->conn.rbuf, len);
		if (!client_send_bytes(client, "S", 1) || !client_flush(client))
			return false;
		if (conn_has_output(&client->conn) || !tls_accept(&client->conn))
		{
			client_close(client, NULL, "could not start TLS", NULL);
			return false;
		}
		return true;
	}
	if (code == PROTO_SSL_CODE || code == PROTO_GSSENC_CODE)
	{
		iobuf_consume(&client->conn.rbuf, len);
		if (!client_send_bytes(client, "N", 1) || !client_flush(client))
			return false;
		return true;
	}
	if (code == PROTO_CANCEL_CODE)
	{
		client_handle_cancel(client, p, len);
		return false;
	}
	if (tls_client_required() && !client->conn.ssl && strcmp(client->conn.addr, "unix") != 0)
	{
		char		why[160];

		snprintf(why, sizeof(why), "TLS is required (client_tls_sslmode = %s): this connection is not "
				 "encrypted", tls_client_mode_name());
		client_close(client, "28000", why, "Connect with sslmode=require (or verify-ca, verify-full).");
		return false;
	}
	{
		/* a copy: the login may run nested processing that moves rbuf */
		uint8_t		packet[PROTO_STARTUP_MAX];

		memcpy(packet, p, len);
		iobuf_consume(&client->conn.rbuf, len);
		client_startup(client, packet, len);
	}
	if (client->state == CL_FREE)
		return false;
	return client->state == CL_LOGIN && client->auth.step > 0 ? true : client->state != CL_LOGIN;
}

/* needs_whole: requests the pooler inspects or rewrites; the rest are streamed through. */
static inline bool
needs_whole(char type)
{
	return type == 'Q' || type == 'P' || type == 'B' || type == 'D' || type == 'C' || type == 'X' || type == 'F';
}

/* exp_or_synth: records a reply the pooler produces itself: at once when nothing is outstanding. */
static bool
exp_or_synth(Client *client, Server *server, ExpKind kind)
{
	if (server_exp_idle(server))
	{
		uint8_t		msg[5] = {kind == EXP_SYNTH_PARSE ? '1' : '3', 0, 0, 0, 4};

		return client_send_bytes(client, msg, sizeof(msg));
	}
	return server_exp_push(server, kind, false, 0);
}

/*
 * tracking_statements: named prepared statements are tracked (kept per client, prepared on whichever
 * server runs them, renamed there), unless max_prepared_statements = 0, which as in PgBouncer turns the
 * tracking off: names then go to the server as the client sent them (fine in session pooling; in
 * transaction pooling a statement is found only on the server that prepared it). Statements tracked
 * before a SET max_prepared_statements = 0 are no longer used either.
 */
static bool
tracking_statements(void)
{
	return cf.max_prepared_statements > 0;
}

/*
 * make_statement_room: before a statement is prepared on server, max_prepared_statements' LRU: while the
 * server holds that many, the one unused for longest is closed (a Close the pooler sends, its
 * CloseComplete swallowed). It goes in the stream after every request already sent, so those still use
 * it; if an earlier error makes PostgreSQL skip the Close, server.c puts the statement back in the set.
 */
static bool
make_statement_room(Server *server)
{
	uint64_t	id;

	while (cf.max_prepared_statements > 0 && server->stmts.n_used >= cf.max_prepared_statements &&
		   prepared_server_lru(&server->stmts, &id))
	{
		char		name[PREPARED_NAME_MAX];
		uint8_t		data[64];
		PktBuf		pkt;

		prepared_server_name(id, name, sizeof(name));
		pktbuf_init(&pkt, data, sizeof(data));
		pkt_begin(&pkt, 'C');
		pkt_put_u8(&pkt, 'S');
		pkt_put_str(&pkt, name);
		pkt_end(&pkt);
		if (pkt.failed || !server_send_bytes(server, pkt.data, pkt.len) ||
			!server_exp_push(server, EXP_CLOSE, true, id))
			return false;
		prepared_server_remove(&server->stmts, id);
	}
	return true;
}

/* prepare_on_server: sends stmt's Parse to server (room made first) and records it as prepared there. */
static bool
prepare_on_server(Server *server, const PreparedStmt *stmt, bool swallow)
{
	server->pool->stats.total.server_parses++;
	return make_statement_room(server) &&
		server_send_bytes(server, stmt->parse_msg, stmt->parse_len) &&
		prepared_server_add(&server->stmts, stmt->id) &&
		server_exp_push(server, EXP_PARSE, swallow, stmt->id);
}

/* ensure_prepared: the linked server gets stmt before a request that uses it (Parse injected). */
static bool
ensure_prepared(Server *server, const PreparedStmt *stmt)
{
	if (prepared_server_has(&server->stmts, stmt->id))
	{
		prepared_server_touch(&server->stmts, stmt->id);
		return true;
	}
	return prepare_on_server(server, stmt, true);
}

/* append_renamed: msg with the name field at [name_off, name_end) replaced by new_name. */
static bool
append_renamed(Server *server, const uint8_t *msg, uint32_t total, uint32_t name_off, uint32_t name_end,
			   const char *new_name)
{
	size_t		new_len = strlen(new_name) + 1;
	uint32_t	out_total = total - (name_end - name_off) + (uint32_t) new_len;
	uint8_t		head[5];

	head[0] = msg[0];
	proto_put_u32(head + 1, out_total - 1);
	return server_send_bytes(server, head, 5) &&
		server_send_bytes(server, msg + 5, name_off - 5) &&
		server_send_bytes(server, new_name, new_len) &&
		server_send_bytes(server, msg + name_end, total - name_end);
}

/*
 * note_untracked_set: a SET search_path whose value the pooler cannot parse. It is not tracked (the
 * client's text is never replayed); if it succeeds, the server connection is marked so that the next
 * client linked to it gets its own search_path set again, and this client is told with a NOTICE that the
 * pooler keeps its previous value (and may set it again at a later transaction).
 */
static void
note_untracked_set(Client *client)
{
	uint8_t		data[1024];
	PktBuf		pkt;

	free(client->pending_search_path);
	client->pending_search_path = NULL;
	client->pending_reset = false;
	client->pending_sp_untracked = true;
	/* only between whole replies: with requests in flight, the client's output may end inside one */
	if (client->server && !server_exp_idle(client->server))
	{
		slog_debug(&client->conn, "SET search_path not tracked (no notice: replies are in flight)");
		return;
	}
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_error(&pkt, 'N', "NOTICE", "01000",
					  "faregate-pooler does not track this SET search_path: its value could not be parsed",
					  "The pooler may set your previous search_path again at a later transaction; use plain "
					  "names or string constants ('...', E'...', $$...$$), or SET LOCAL inside a transaction.");
	if (pkt.failed || !client_send_bytes(client, pkt.data, pkt.len))
		slog_debug(&client->conn, "no room for the untracked-SET notice");
}

/*
 * client_note_set: a statement that sets or resets search_path for the session (in a Query or a
 * Parse): remembered as pending, applied to the client's tracked values at the ReadyForQuery that ends
 * it without an error (server.c). DISCARD ALL also drops the client's prepared statement names.
 */
static void
client_note_set(Client *client, const char *query)
{
	char		value[1024];
	bool		standard_strings = params_standard_strings(&client->params);
	int			id = params_parse_set(query, standard_strings, value, sizeof(value));

	if (id == PARAMS_UNTRACKED)
	{
		note_untracked_set(client);
		return;
	}
	if (id != PARAM_SEARCH_PATH)
		return;
	free(client->pending_search_path);
	client->pending_search_path = NULL;
	client->pending_reset = value[0] == '\0';
	if (value[0])
		client->pending_search_path = strdup(value);
	if (sqlscan_first_word(query, standard_strings, "discard"))
		prepared_client_free(&client->stmts);
}

/*
 * send_refused: in place of a statement session_state_action = error refused, a Query or an unnamed
 * Parse of text that fails (server.c replaces its error by the refusal), so that the server's
 * transaction state and the reply order stay exactly those of a failed statement.
 */
static bool
send_refused(Server *server, char type)
{
	uint8_t		data[96];
	PktBuf		pkt;

	pktbuf_init(&pkt, data, sizeof(data));
	if (type == 'Q')
		proto_build_query(&pkt, SESSION_REFUSED_SQL);
	else
	{
		pkt_begin(&pkt, 'P');
		pkt_put_str(&pkt, "");
		pkt_put_str(&pkt, SESSION_REFUSED_SQL);
		pkt_put_u16(&pkt, 0);
		pkt_end(&pkt);
	}
	return !pkt.failed && server_send_bytes(server, pkt.data, pkt.len) &&
		server_exp_push(server, type == 'Q' ? EXP_QUERY : EXP_PARSE, false, EXP_STMT_REFUSED);
}

/*
 * client_request_started: a request goes to the server: the first one after a ReadyForQuery starts the
 * query clock (query_timeout), and when the client is outside a transaction also the transaction clock
 * (transaction_timeout, issue 15: PgBouncer counts from the transaction's first request).
 */
static void
client_request_started(Client *client)
{
	if (client->query_start)
		return;
	client->query_start = conn_now_usec();
	if (client->tx_status == 'I')
		client->transaction_start = client->query_start;
}

/*
 * client_forward: one whole request (or the header of a streamed one) to the linked server. Returns
 * false when the pooler ran out of memory (client closed).
 */
static bool
client_forward(Client *client, char type, const uint8_t *msg, uint32_t total)
{
	Server	   *server = client->server;
	bool		ok = true;

	client_request_started(client);
	routing_retry_note(client, type, msg, total);
	slog_noise(&client->conn, "request '%c' (%u bytes) to S-%p", type, total, (void *) server);
	switch (type)
	{
		case 'Q':
			{
				const char *query;

				if (proto_read_query(msg, total, &query))
				{
					if (!session_check_request(client, query, strlen(query)))
					{
						ok = send_refused(server, 'Q');
						break;
					}
					client_note_set(client, query);
					if (pool_releases_at_commit(client->pool))
						notify_note_query(client, query, strlen(query));
				}
				ok = server_send_bytes(server, msg, total) && server_exp_push(server, EXP_QUERY, false, 0);
				break;
			}
		case 'F':
			ok = server_send_bytes(server, msg, total) && server_exp_push(server, EXP_QUERY, false, 0);
			break;
		case 'P':
			{
				const char *name;
				const char *query;
				uint32_t	body_off;

				if (!proto_read_parse(msg, total, &name, &query, &body_off))
				{
					client_close(client, "08P01", "malformed Parse message", NULL);
					return false;
				}
				client_note_set(client, query);
				if (pool_releases_at_commit(client->pool))
					notify_note_query(client, query, strlen(query));
				if (name[0] && tracking_statements() && prepared_client_lookup(&client->stmts, name))
				{
					/* PostgreSQL: 42P05 at this Parse, the rest skipped up to Sync, the transaction failed */
					static const char bad[] = "fg_42P05_duplicate_statement";
					uint8_t		data[64];
					PktBuf		pkt;

					snprintf(client->dup_stmt_name, sizeof(client->dup_stmt_name), "%s", name);
					pktbuf_init(&pkt, data, sizeof(data));
					pkt_begin(&pkt, 'P');
					pkt_put_str(&pkt, "");
					pkt_put_str(&pkt, bad);
					pkt_put_u16(&pkt, 0);
					pkt_end(&pkt);
					ok = !pkt.failed && server_send_bytes(server, pkt.data, pkt.len) &&
						server_exp_push(server, EXP_PARSE, false, EXP_STMT_DUPLICATE);
				}
				else if (name[0] ? !session_check_parse(client, query, strlen(query)) :
						 !session_check_request(client, query, strlen(query)))
					ok = send_refused(server, 'P');
				else if (name[0] && tracking_statements())
				{
					PreparedStmt *stmt = prepared_client_parse(&client->stmts, name, msg + body_off,
															   total - body_off);

					client->pool->stats.total.client_parses++;
					if (!stmt)
						ok = false;
					else if (prepared_server_has(&server->stmts, stmt->id))
					{
						prepared_server_touch(&server->stmts, stmt->id);
						prepared_client_confirm(&client->stmts, stmt->id);
						ok = exp_or_synth(client, server, EXP_SYNTH_PARSE);
					}
					else
						ok = prepare_on_server(server, stmt, false);
				}
				else
					ok = server_send_bytes(server, msg, total) && server_exp_push(server, EXP_PARSE, false, 0);
				break;
			}
		case 'B':
			{
				const char *portal;
				const char *name;
				uint32_t	after;
				PreparedStmt *stmt;

				if (!proto_read_bind(msg, total, &portal, &name, &after))
				{
					client_close(client, "08P01", "malformed Bind message", NULL);
					return false;
				}
				if (name[0] && tracking_statements() && (stmt = prepared_client_lookup(&client->stmts, name)))
					session_note_bind(client, stmt);
				if (name[0] && tracking_statements() && (stmt = prepared_client_lookup(&client->stmts, name)))
					ok = (client->pool->stats.total.binds++, true) && ensure_prepared(server, stmt) &&
						append_renamed(server, msg, total, (uint32_t) ((const uint8_t *) name - msg), after,
									   stmt->server_name);
				else
					ok = server_send_bytes(server, msg, total);
				ok = ok && server_exp_push(server, EXP_BIND, false, 0);
				break;
			}
		case 'D':
		case 'C':
			{
				char		kind;
				const char *name;
				PreparedStmt *stmt;

				if (!proto_read_target(msg, total, &kind, &name))
				{
					client_close(client, "08P01", "malformed Describe or Close message", NULL);
					return false;
				}
				if (kind == 'S' && name[0] && type == 'C' && tracking_statements())
				{
					prepared_client_close(&client->stmts, name);
					ok = exp_or_synth(client, server, EXP_SYNTH_CLOSE);
				}
				else if (kind == 'S' && name[0] && tracking_statements() &&
						 (stmt = prepared_client_lookup(&client->stmts, name)))
					ok = ensure_prepared(server, stmt) &&
						append_renamed(server, msg, total, 6, total, stmt->server_name) &&
						server_exp_push(server, EXP_DESCRIBE, false, 0);
				else
					ok = server_send_bytes(server, msg, total) &&
						server_exp_push(server, type == 'D' ? EXP_DESCRIBE : EXP_CLOSE, false, 0);
				break;
			}
		case 'E':
			ok = server_send_bytes(server, msg, total) && server_exp_push(server, EXP_EXECUTE, false, 0);
			break;
		case 'S':
			ok = server_send_bytes(server, msg, total) && server_exp_push(server, EXP_SYNC, false, 0);
			break;
		default:
			ok = server_send_bytes(server, msg, total);
			break;
	}
	if (!ok)
		client_close(client, "53200", "out of memory while forwarding a request", NULL);
	return ok;
}

/* linked_server_has_room: the linked server's output can take more (flushing it first when it is full). */
static bool
linked_server_has_room(Server *server)
{
	if (!server)
		return false;			/* not linked (yet): nothing can be forwarded */
	if (iobuf_len(server->conn.wbuf) < IOBUF_SIZE / 2)
		return true;
	if (!conn_flush(&server->conn))
		return true;			/* the send error surfaces on the server's next event */
	return iobuf_len(server->conn.wbuf) < IOBUF_SIZE / 2;
}

/*
 * client_idle_local: requests a client outside a transaction can have answered without a server:
 * Parse and Close of a named statement (the statement is only recorded; it is prepared on whichever
 * server runs the next Bind or Describe), Sync (ReadyForQuery 'I') and Flush. Without this, a client
 * that prepares synchronously (pgbench -M prepared, one thread for many connections) would hold its
 * thread waiting for a server while its other connections hold every server. Returns 1 when handled,
 * 0 when the request needs a server, -1 when the client was closed.
 */
static int
client_idle_local(Client *client, char type, const uint8_t *msg, uint32_t total)
{
	uint8_t		reply[6] = {0, 0, 0, 0, 4, 0};
	size_t		reply_len = 5;

	if (type == 'P')
	{
		const char *name;
		const char *query;
		uint32_t	body_off;

		PreparedStmt *stmt;

		if (!tracking_statements() || !proto_read_parse(msg, total, &name, &query, &body_off) || !name[0])
			return 0;
		if (prepared_client_lookup(&client->stmts, name))
		{
			/* as PostgreSQL: 42P05, then everything up to Sync is skipped; Sync gets 'Z' 'I' */
			client->skip_to_sync = true;
			return client_send_duplicate(client, name) ? 1 : -1;
		}
		/* a body no server has accepted yet goes to one, so that its errors come at this Parse */
		if (!prepared_validated(msg + body_off, total - body_off))
			return 0;
		client_note_set(client, query);
		if (!(stmt = prepared_client_parse(&client->stmts, name, msg + body_off, total - body_off)))
		{
			client_close(client, "53200", "out of memory for a prepared statement", NULL);
			return -1;
		}
		prepared_client_confirm(&client->stmts, stmt->id);
		reply[0] = '1';
	}
	else if (type == 'C')
	{
		char		kind;
		const char *name;

		if (!tracking_statements() || !proto_read_target(msg, total, &kind, &name) || kind != 'S' || !name[0])
			return 0;
		prepared_client_close(&client->stmts, name);
		reply[0] = '3';
	}
	else if (type == 'S')
	{
		reply[0] = 'Z';
		reply[4] = 5;
		reply[5] = 'I';
		reply_len = 6;
	}
	else if (type == 'H')
		return 1;
	else
		return 0;
	slog_noise(&client->conn, "request '%c' answered by the pooler", type);
	if (!client_send_bytes(client, reply, reply_len))
	{
		client_close(client, "53200", "out of memory", NULL);
		return -1;
	}
	return 1;
}

/*
 * client_sql_deallocate: a simple-query DEALLOCATE of one of the client's protocol-level statement names
 * is answered by the pooler (the name is dropped; the server-side statement stays for other clients, and
 * is never prepared again for this client). DEALLOCATE ALL outside a transaction drops every name; inside
 * one it goes to the server as well (SQL-level statements live there) and the names go at its
 * ReadyForQuery (server.c). Anything else (an unknown name: a SQL-level statement or 26000) goes to the
 * server. Only called when no reply is outstanding. Returns 1 when answered, 0 to forward, -1 when the
 * client was closed.
 */
static int
client_sql_deallocate(Client *client, const uint8_t *msg, uint32_t total)
{
	char		name[PREPARED_NAME_MAX * 4];
	uint8_t		data[64];
	PktBuf		pkt;
	int			kind;

	if (total <= 5 || msg[total - 1] != '\0' || !tracking_statements())
		return 0;
	kind = prepared_parse_deallocate((const char *) msg + 5, name, sizeof(name));
	if (kind == PREPARED_DEALLOC_NONE || client->tx_status == 'E')
		return 0;				/* in a failed transaction the server answers 25P02 */
	if (kind == PREPARED_DEALLOC_ALL && client->state == CL_ACTIVE)
	{
		client->pending_dealloc_all = true;
		return 0;
	}
	if (kind == PREPARED_DEALLOC_NAME)
	{
		if (!prepared_client_lookup(&client->stmts, name))
			return 0;
		prepared_client_close(&client->stmts, name);
	}
	else
		prepared_client_free(&client->stmts);
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_command_complete(&pkt, kind == PREPARED_DEALLOC_ALL ? "DEALLOCATE ALL" : "DEALLOCATE");
	proto_build_ready(&pkt, client->tx_status ? client->tx_status : 'I');
	slog_debug(&client->conn, "DEALLOCATE answered by the pooler");
	if (pkt.failed || !client_send_bytes(client, pkt.data, pkt.len))
	{
		client_close(client, "53200", "out of memory", NULL);
		return -1;
	}
	return 1;
}

/* client_begin_transaction: an idle client sent a request: route it and get a server. */
static bool
client_begin_transaction(Client *client, char type, const uint8_t *msg, uint32_t total)
{
	int			node;

	switch (ratelimit_admit(client, type))
	{
		case RL_GO:
			break;
		case RL_WAIT:
			return false;
		case RL_REJECTED:
			if (client->state != CL_FREE && !client->skip_to_sync)
				iobuf_consume(&client->conn.rbuf, total);
			return client->state != CL_FREE;
	}
	node = pool_route(client->pool, client, type, msg, total);
	if (node < 0)
		return false;			/* answered with an error (the request consumed) or closed */
	client->pool->nodes[node].routed++;
	client->request_time = conn_now_usec();
	if (pool_shutting_down)
	{
		admin_close_for_shutdown(client);
		return false;
	}
	return pool_request(client->pool, client, node);
}

/*
 * client_process: handles every complete request in rbuf, as far as the state allows. Safe to call at
 * any time; it stops at the first request that cannot proceed yet.
 */
static void
client_process(Client *client)
{
	Server	   *server;

	if (client->in_process)
		return;
	client->in_process = true;
	while (client->state != CL_FREE)
	{
		uint32_t	avail = iobuf_len(client->conn.rbuf);
		uint8_t    *p;
		char		type;
		uint32_t	total;
		int			rc;

		if (client->state == CL_LOGIN)
		{
			if (!client_login_step(client))
				break;
			continue;
		}
		if (avail == 0 || client->state == CL_WAIT_WELCOME || client->state == CL_WAITING)
			break;
		p = iobuf_head(client->conn.rbuf);
		server = client->server;

		if (client->fwd_remain > 0)
		{
			uint32_t	n = avail < client->fwd_remain ? avail : client->fwd_remain;

			if (!server || !linked_server_has_room(server))
				break;
			if (client->stream_fwd && !server_send_bytes(server, p, n))
			{
				client_close(client, "53200", "out of memory while forwarding", NULL);
				break;
			}
			client->fwd_remain -= n;
			client->pool->stats.total.bytes_recv += n;
			client->pool->nodes[server->node].stats.bytes_recv += n;
			iobuf_consume(&client->conn.rbuf, n);
			continue;
		}
		rc = proto_header(p, avail, &type, &total);
		if (rc < 0)
		{
			client_close(client, "08P01", "invalid message length from client", NULL);
			break;
		}
		if (rc == 0 || (total > avail && (needs_whole(type) || client->state != CL_ACTIVE || client->admin)))
		{
			/* wait for the rest; room for a message larger than the buffer grows as its bytes arrive */
			if (rc == 1 && total > IOBUF_MAX_MESSAGE)
			{
				client_close(client, "54000", "message from client is too large",
							 "Send statements and parameters under 256 MB.");
				break;
			}
			if (rc == 1 && !iobuf_grow_toward(&client->conn.rbuf, total - avail))
			{
				client_close(client, "53200", "out of memory for a large message", NULL);
				break;
			}
			break;
		}
		if (type == 'X')
		{
			client_close(client, NULL, "client sent Terminate", NULL);
			break;
		}
		if (client->admin)
		{
			if (!admin_handle(client, type, p, total))
				break;
			if (client->state == CL_FREE)
				break;
			iobuf_consume(&client->conn.rbuf, total);
			continue;
		}
		if (client->state == CL_IDLE && client->skip_to_sync)
		{
			/* after an error to an extended-protocol request (42P05, rate limit): drop up to its Sync */
			if (type == 'S')
				client->skip_to_sync = false;
			else
			{
				iobuf_consume(&client->conn.rbuf, total);
				continue;
			}
		}
		if (client->state == CL_IDLE && notify_client_waiting(&client->notify))
			break;				/* its LISTEN is not answered yet (notify.c resumes it) */
		if (client->state == CL_IDLE && type == 'Q' && client->pool && pool_releases_at_commit(client->pool) && total > 5 &&
			p[total - 1] == '\0')
		{
			int			taken = notify_try_query(client, (const char *) p + 5);

			if (taken < 0)
				break;
			if (taken > 0)
			{
				iobuf_consume(&client->conn.rbuf, total);
				continue;
			}
		}
		if (type == 'Q' && (client->state == CL_IDLE || (server && server_exp_idle(server))))
		{
			int			taken = client_sql_deallocate(client, p, total);

			if (taken < 0)
				break;
			if (taken > 0)
			{
				iobuf_consume(&client->conn.rbuf, total);
				continue;
			}
		}
		if (client->state == CL_IDLE)
		{
			int			local = client_idle_local(client, type, p, total);

			if (local < 0)
				break;
			if (local > 0)
			{
				iobuf_consume(&client->conn.rbuf, total);
				continue;
			}
			if (!client_begin_transaction(client, type, p, total))
			{
				if (client->state == CL_IDLE && !client->rate.release_us)
					continue;	/* routing answered an error; the request is gone */
				break;			/* waiting (or closed) */
			}
			continue;
		}
		/* CL_ACTIVE: a server is linked (no server here would be a state bug: wait rather than crash) */
		if (!server || !linked_server_has_room(server))
			break;
		client->pool->stats.total.bytes_recv += total > avail ? avail : total;
		client->pool->nodes[server->node].stats.bytes_recv += total > avail ? avail : total;
		if (total > avail)
		{
			/* streamed request (CopyData and the like): forward what is there, the rest follows */
			routing_client_no_retry(&client->routing);	/* not kept whole: no retry */
			if (!server_send_bytes(server, p, avail))
			{
				client_close(client, "53200", "out of memory while forwarding", NULL);
				break;
			}
			client->stream_fwd = true;
			client->fwd_remain = total - avail;
			client_request_started(client);
			iobuf_consume(&client->conn.rbuf, avail);
			continue;
		}
		if (!client_forward(client, type, p, total))
			break;
		iobuf_consume(&client->conn.rbuf, total);
	}
	client->in_process = false;
	if (client->state == CL_FREE)
		return;
	/* one send per turn for everything forwarded, then our own replies */
	server = client->server;
	if (server && conn_has_output(&server->conn))
	{
		if (!conn_flush(&server->conn))
		{
			char		why[128];

			snprintf(why, sizeof(why), "send error: %s", strerror(errno));
			server_close(server, why);
			if (client->state == CL_FREE)
				return;
		}
	}
	if (conn_has_output(&client->conn) && !client_flush(client))
		return;
	/*
	 * Read more while there is room and the server can take it. A waiting client stays readable (so
	 * that its disconnect is seen, and no epoll_ctl is spent per wait) until its rbuf is full.
	 */
	conn_set_read(&client->conn, (!client->server || iobuf_len(client->server->conn.wbuf) < IOBUF_SIZE / 2) &&
				  iobuf_len(client->conn.rbuf) < (client->conn.rbuf ? client->conn.rbuf->cap : IOBUF_SIZE));
}

void
client_link(Client *client, Server *server)
{
	char		sql[4096];
	int			n;
	uint64_t	now = conn_now_usec();
	Pool	   *pool = client->pool;

	client->server = server;
	server->client = client;
	server->request_time = now;
	if (client->state == CL_WAITING)
	{
		pool->stats.total.wait_time_us += now - client->request_time;
		metrics_observe_wait(now - client->request_time);
	}
	else
		metrics_observe_wait(0);
	client->xact_start = now;
	pool->stats.total.server_assignments++;
	client_set_state(client, CL_ACTIVE);
	server_set_state(server, SV_ACTIVE);
	n = params_build_sync(&client->params, &server->params, sql, sizeof(sql));
	if (n > 0)
	{
		uint8_t		data[4200];
		PktBuf		pkt;

		pktbuf_init(&pkt, data, sizeof(data));
		proto_build_query(&pkt, sql);
		if (pkt.failed || !server_send_bytes(server, pkt.data, pkt.len) ||
			!server_exp_push(server, EXP_QUERY, true, 0))
		{
			client_close(client, "53200", "out of memory", NULL);
			return;
		}
		params_set(&server->params, PARAM_SEARCH_PATH, client->params.values[PARAM_SEARCH_PATH]);
		for (int id = PARAM_COUNT; id < params_count(); id++)	/* the extras: not reported either */
			params_set(&server->params, (ParamId) id, client->params.values[id]);
		slog_debug(&client->conn, "applying parameters on the server: %s", sql);
	}
}

void
client_resume(Client *client)
{
	if (client->state != CL_FREE)
		client_process(client);
}
