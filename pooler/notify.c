/*
 * notify.c: owns LISTEN/NOTIFY for transaction mode (see notify.h): the listener connection of each
 * database (libpq, non-blocking, on the pooler's event loop), the channels with their listening
 * clients, and delivery of NotificationResponse messages at client message boundaries.
 *
 * The listener's LISTENs follow the channel table by reconciliation: a channel is wanted when a client
 * listens on it, and the listener sends one LISTEN or UNLISTEN at a time until what the server has
 * matches what is wanted. A reconnect only has to mark every channel "not listened" and the same loop
 * re-LISTENs them all; when it has, the clients of the channels that were re-listened get a
 * NoticeResponse with the span in which notifications may have been missed.
 *
 * A lone LISTEN/UNLISTEN in a simple Query outside a transaction is answered here (notify_try_query).
 * Any other one (transaction block, several statements, Parse/Bind/Execute) runs on the server: its
 * statements are found with sqlroute.c's lexer when sent (notify_note_query), counted off by the server's
 * CommandCompletes and applied at COMMIT (notify_server_reply); the server then gets UNLISTEN * on
 * release (server.c, notify_dirty) and its own NotificationResponses are not forwarded. The answer to
 * a LISTEN is held until the listener's LISTEN on the channel has completed (release_cb). The listener's
 * connection attempt and each LISTEN/UNLISTEN are bounded by server_connect_timeout (deadline_cb): on
 * expiry the held clients get SQLSTATE 08006 naming the listener, and the connection is retried.
 *
 * Caveats (docs/operations.md): savepoint rollbacks count as a rollback of the whole transaction; a
 * named prepared LISTEN executed in a later round trip is not taken over; own notifications arrive after
 * the ReadyForQuery, with the pooled server's pid; host names are resolved by libpq (blocking).
 *
 * The listener connects to where writes go (routing_write_node: the entry's host, or the verified
 * primary with read routing) and follows it (follow_cb): NOTIFY runs on the primary and a standby
 * refuses LISTEN, so a moved write node is handled as a lost connection to the old one.
 */
#include "notify.h"

#include <ctype.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "client.h"
#include "config.h"
#include "conn.h"
#include "conninfo.h"
#include "dns.h"
#include "log.h"
#include "params.h"
#include "pool.h"
#include "proto.h"
#include "sqlroute.h"
#include "routing.h"
#include "sqlscan.h"
#include "tls.h"

#define LISTEN_BACKOFF_MIN_MS 100
#define LISTEN_BACKOFF_MAX_MS 5000
#define LISTEN_BOUND_DEFAULT_MS 15000	/* when server_connect_timeout is 0 (disabled) */
#define LISTEN_FOLLOW_MS 1000	/* how often a connected listener checks that writes still go to its node */

typedef struct NotifyConn NotifyConn;

struct NotifyChannel
{
	NotifyChannel *next;
	NotifyConn *conn;
	char		name[64];		/* as the server knows it (identifier rules applied) */
	Client	  **clients;
	int			n_clients;
	int			cap_clients;
	bool		on_server;		/* the listener's session has LISTENed to it */
	bool		missed;			/* was listened when the connection was lost: notice pending */
};

struct NotifyConn
{
	NotifyConn   *next;
	char		db[CF_NAME_MAX];
	int			node;			/* the pool node it connects to: where writes went at connect time */
	char		host[CF_HOST_MAX];	/* that node's host and port (a RELOAD may change them) */
	int			port;
	PGconn	   *pg;
	struct event *ev;			/* on PQsocket */
	short		ev_flags;
	struct event *timer;		/* reconnect */
	struct event *deadline;		/* bounds the connection attempt and each LISTEN/UNLISTEN */
	struct event *release;		/* answers waiting LISTENs outside the caller's stack */
	struct event *follow;		/* while connected: has the write node moved? */
	bool		ready;			/* logged in */
	bool		awaiting_primary;	/* no connection yet: waits (bounded) for a verified primary */
	bool		resolving;		/* no connection yet: dns.c looks the node's host name up (bounded) */
	DnsWait		wait;			/* while resolving: dns.c calls notifyconn_resolved */
	NotifyChannel *inflight;	/* the channel whose LISTEN/UNLISTEN is running */
	bool		inflight_listen;
	NotifyChannel *channels;
	int			backoff_ms;
	uint64_t	lost_at_us;		/* when the last connection was lost (0 = never or notices sent) */
};

static NotifyConn *notify_conns;

/*
 * notifyconn_trying: the listener has a connection, or waits for a node to connect to; a LISTEN is
 * then held until it has LISTENed (else it is answered at once and the missed-span notice covers it).
 */
static bool
notifyconn_trying(const NotifyConn *l)
{
	return l->pg != NULL || l->awaiting_primary || l->resolving;
}

static void schedule_release(NotifyConn *l);
static void client_drop_channel(Client *client, NotifyChannel *ch);
static void channel_free_if_unused(NotifyChannel *ch);

static void notifyconn_connect(NotifyConn *l);
static void notifyconn_reconcile(NotifyConn *l);

/* ---- parsing ---- */

char
notify_parse_lone(const char *query, char *channel, size_t channel_len)
{
	SqlScanner	sc;
	SqlToken	tok;
	char		kind;
	char		name[SQLSCAN_NAME_MAX + 1];
	size_t		n;

	/* standard_conforming_strings does not matter: a string anywhere makes it not a lone LISTEN */
	sqlscan_init(&sc, query, strlen(query), true);
	sqlscan_next(&sc, &tok);
	if (sqlscan_is_word(&tok, "listen"))
		kind = 'L';
	else if (sqlscan_is_word(&tok, "unlisten"))
		kind = 'U';
	else
		return 0;
	sqlscan_next(&sc, &tok);
	if (kind == 'U' && sqlscan_is_op(&tok, "*"))
		n = (size_t) snprintf(name, sizeof(name), "*");
	else if (tok.kind == SQLTOK_IDENT || (tok.kind == SQLTOK_QIDENT && !(tok.flags & SQLTOK_F_UNICODE)))
		n = sqlscan_name(&tok, name);
	else
		return 0;
	/* a name the server would cut (with a NOTICE) is left to the server */
	if (n > SQLSCAN_NAME_MAX || n + 1 > channel_len)
		return 0;
	sqlscan_next(&sc, &tok);
	if (tok.kind == SQLTOK_SEMI)
		sqlscan_next(&sc, &tok);
	if (tok.kind != SQLTOK_EOF)
		return 0;
	memcpy(channel, name, n + 1);
	return kind;
}

/* ---- delivery ---- */

static void
deliver(Client *client, const uint8_t *msg, size_t len)
{
	if (client->state == CL_IDLE)
	{
		if (!client_send_bytes(client, msg, len))
			return;				/* out of memory: dropped, like a full queue */
		if (!conn_flush(&client->conn))
		{
			/* the send error shows at the client's next event */
		}
		return;
	}
	{
		uint8_t    *grown = realloc(client->notify.pending, client->notify.pending_len + len);

		if (!grown)
			return;
		memcpy(grown + client->notify.pending_len, msg, len);
		client->notify.pending = grown;
		client->notify.pending_len += len;
	}
}

void
notify_client_idle(Client *client)
{
	if (!client->notify.pending_len)
		return;
	if (client_send_bytes(client, client->notify.pending, client->notify.pending_len))
	{
		if (!conn_flush(&client->conn))
		{
			/* the send error shows at the client's next event */
		}
	}
	free(client->notify.pending);
	client->notify.pending = NULL;
	client->notify.pending_len = 0;
}

static void
fan_out(NotifyConn *l, const PGnotify *notify)
{
	size_t		len = 1 + 4 + 4 + strlen(notify->relname) + 1 + strlen(notify->extra) + 1;
	uint8_t    *msg;
	PktBuf		pkt;

	for (NotifyChannel *ch = l->channels; ch; ch = ch->next)
	{
		if (strcmp(ch->name, notify->relname) != 0 || ch->n_clients == 0)
			continue;
		msg = malloc(len);
		if (!msg)
			return;
		pktbuf_init(&pkt, msg, len);
		pkt_begin(&pkt, 'A');
		pkt_put_u32(&pkt, (uint32_t) notify->be_pid);
		pkt_put_str(&pkt, notify->relname);
		pkt_put_str(&pkt, notify->extra);
		pkt_end(&pkt);
		if (!pkt.failed)
			for (int i = 0; i < ch->n_clients; i++)
				deliver(ch->clients[i], pkt.data, pkt.len);
		free(msg);
		return;
	}
}

static void
format_time(uint64_t us, char *buf, size_t len)
{
	time_t		t = (time_t) (us / 1000000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (us / 1000 % 1000));
}

/* send_missed_notices: every channel is listened again: tell its clients what span was uncovered. */
static void
send_missed_notices(NotifyConn *l)
{
	char		from[48];
	char		to[48];
	char		message[512];
	uint8_t		data[1024];
	PktBuf		pkt;

	format_time(l->lost_at_us, from, sizeof(from));
	format_time(conn_now_usec(), to, sizeof(to));
	for (NotifyChannel *ch = l->channels; ch; ch = ch->next)
	{
		if (!ch->missed)
			continue;
		ch->missed = false;
		snprintf(message, sizeof(message), "notifications on channel \"%s\" may have been missed between %s "
				 "and %s: the pooler's listener connection to database \"%s\" was lost and has been re-made",
				 ch->name, from, to, l->db);
		pktbuf_init(&pkt, data, sizeof(data));
		proto_build_error(&pkt, 'N', "WARNING", "01000", message,
						  "Re-read the state this channel announces (for a queue: faregate.queue_stats or "
						  "the entry's status).");
		if (!pkt.failed)
			for (int i = 0; i < ch->n_clients; i++)
				deliver(ch->clients[i], pkt.data, pkt.len);
	}
	log_info("listener %s: channels listened again; notifications from %s to %s may have been missed", l->db,
			 from, to);
	l->lost_at_us = 0;
}

/* ---- the listener connection ---- */

static void notifyconn_event_cb(evutil_socket_t fd, short what, void *arg);
static void follow_cb(evutil_socket_t fd, short what, void *arg);

static void
notifyconn_watch(NotifyConn *l, short flags)
{
	int			fd = l->pg ? PQsocket(l->pg) : -1;

	if (l->ev)
	{
		event_free(l->ev);
		l->ev = NULL;
	}
	if (fd < 0)
		return;
	l->ev = event_new(conn_base, fd, flags | EV_PERSIST, notifyconn_event_cb, l);
	l->ev_flags = flags;
	if (l->ev)
		event_add(l->ev, NULL);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	notifyconn_connect(arg);
}

/* notifyconn_bound_ms: how long the listener's connection attempt, and each LISTEN/UNLISTEN, may take. */
static long
notifyconn_bound_ms(void)
{
	return cf.server_connect_timeout_ms > 0 ? cf.server_connect_timeout_ms : LISTEN_BOUND_DEFAULT_MS;
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg);

/* notifyconn_arm: the connection attempt or the LISTEN/UNLISTEN just started must end within the bound. */
static void
notifyconn_arm(NotifyConn *l)
{
	long		ms = notifyconn_bound_ms();
	struct timeval tv = {ms / 1000, (suseconds_t) (ms % 1000) * 1000};

	if (!l->deadline)
		l->deadline = evtimer_new(conn_base, deadline_cb, l);
	if (l->deadline)
		evtimer_add(l->deadline, &tv);
}

static void
notifyconn_disarm(NotifyConn *l)
{
	if (l->deadline)
		evtimer_del(l->deadline);
}

static void
notifyconn_lost(NotifyConn *l, const char *why)
{
	bool		had_channels = false;
	struct timeval tv;

	notifyconn_disarm(l);
	l->awaiting_primary = false;
	l->resolving = false;
	dns_wait_cancel(&l->wait);
	if (l->follow)
		evtimer_del(l->follow);
	if (l->ready)
		log_warning("listener %s: connection lost: %s", l->db, why);
	else
		log_warning("listener %s: cannot connect: %s", l->db, why);
	if (l->ev)
	{
		event_free(l->ev);
		l->ev = NULL;
	}
	if (l->pg)
		PQfinish(l->pg);
	l->pg = NULL;
	if (l->ready && !l->lost_at_us)
		l->lost_at_us = conn_now_usec();
	l->ready = false;
	l->inflight = NULL;
	schedule_release(l);
	for (NotifyChannel *ch = l->channels; ch; ch = ch->next)
	{
		if (ch->on_server)
			ch->missed = true;
		ch->on_server = false;
		had_channels = true;
	}
	if (!had_channels)
		return;					/* nobody listens: reconnect on the next LISTEN */
	l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : LISTEN_BACKOFF_MIN_MS;
	if (l->backoff_ms > LISTEN_BACKOFF_MAX_MS)
		l->backoff_ms = LISTEN_BACKOFF_MAX_MS;
	if (!l->timer)
		l->timer = evtimer_new(conn_base, timer_cb, l);
	tv.tv_sec = l->backoff_ms / 1000;
	tv.tv_usec = (suseconds_t) (l->backoff_ms % 1000) * 1000;
	if (l->timer)
		evtimer_add(l->timer, &tv);
}

static void
notifyconn_poll_connect(NotifyConn *l)
{
	switch (PQconnectPoll(l->pg))
	{
		case PGRES_POLLING_READING:
			notifyconn_watch(l, EV_READ);
			return;
		case PGRES_POLLING_WRITING:
			notifyconn_watch(l, EV_WRITE);
			return;
		case PGRES_POLLING_OK:
			if (PQsetnonblocking(l->pg, 1) != 0)
			{
				notifyconn_lost(l, "cannot make the connection non-blocking");
				return;
			}
			notifyconn_disarm(l);
			l->ready = true;
			l->backoff_ms = 0;
			log_info("listener %s: connected to node %d (%s:%d, backend pid %d)", l->db, l->node, l->host, l->port,
					 PQbackendPID(l->pg));
			if (!l->follow)
				l->follow = event_new(conn_base, -1, EV_PERSIST, follow_cb, l);
			if (l->follow)
			{
				struct timeval tv = {LISTEN_FOLLOW_MS / 1000, (suseconds_t) (LISTEN_FOLLOW_MS % 1000) * 1000};

				evtimer_add(l->follow, &tv);
			}
			notifyconn_watch(l, EV_READ);
			notifyconn_reconcile(l);
			return;
		default:
			notifyconn_lost(l, PQerrorMessage(l->pg));
			return;
	}
}

/*
 * notifyconn_pool: a pool of this database entry that a listening client is attached to (its nodes,
 * routing and login), NULL when nobody listens. Pools come and go (autodb_idle_timeout); a listening
 * client keeps its own alive.
 */
static const Pool *
notifyconn_pool(const NotifyConn *l)
{
	for (NotifyChannel *ch = l->channels; ch; ch = ch->next)
		if (ch->n_clients > 0 && ch->clients[0]->pool)
			return ch->clients[0]->pool;
	return NULL;
}

/*
 * notifyconn_conninfo: the connection string for node of pool into out; false when it does not fit.
 * The values are quoted by conninfo.c (a password may hold ' or \).
 */
static bool
notifyconn_conninfo(const Pool *pool, int node, char *out, size_t outlen)
{
	const PoolNode *pn = &pool->nodes[node];

	out[0] = '\0';
	return conninfo_append(out, outlen, "host", pn->host) && conninfo_append_int(out, outlen, "port", pn->port) &&
		conninfo_append(out, outlen, "dbname", pool->db.dbname[0] ? pool->db.dbname : pool->db.name) &&
		conninfo_append(out, outlen, "user", pool->user) &&
		conninfo_append(out, outlen, "application_name", "faregate-listener") &&
		(!pool->password[0] || conninfo_append(out, outlen, "password", pool->password)) &&
		tls_server_conninfo(out, outlen);
}

/*
 * follow_cb: NOTIFY runs where writes go, and a standby refuses LISTEN; so when the write node has
 * moved (failover, switchover, Patroni's leader) while the old node still answers, the listener drops
 * its connection and re-LISTENs on the new one; its clients get the missed-span notice as after any
 * lost connection.
 */
static void
follow_cb(evutil_socket_t fd, short what, void *arg)
{
	NotifyConn *l = arg;
	const Pool *pool = notifyconn_pool(l);
	int			node;
	char		why[CF_HOST_MAX + 96];

	if (!l->ready || !pool)
		return;
	node = routing_write_node(pool->routing);
	if (node < 0 || node >= pool->n_nodes)
		return;					/* no verified primary now: keep what works until there is one */
	if (node == l->node && strcmp(pool->nodes[node].host, l->host) == 0 && pool->nodes[node].port == l->port)
		return;
	snprintf(why, sizeof(why), "writes moved to node %d (%s:%d); re-listening there", node,
			 pool->nodes[node].host, pool->nodes[node].port);
	notifyconn_lost(l, why);
}

/* notifyconn_resolved: dns.c has answered the lookup of the node's host name: the connect goes on. */
static void
notifyconn_resolved(DnsWait *w)
{
	NotifyConn *l = container_of(w, NotifyConn, wait);

	if (!l->resolving)
		return;
	l->resolving = false;
	notifyconn_connect(l);
}

static void
notifyconn_connect(NotifyConn *l)
{
	const Pool *pool = notifyconn_pool(l);
	char		conninfo[4096];
	char		err[256];
	int			node;

	if (l->pg || l->ready || l->resolving || !pool)
		return;
	node = routing_write_node(pool->routing);
	if (node < 0 || node >= pool->n_nodes)
	{
		/*
		 * No verified primary yet (the first health checks have not answered, or a failover is under
		 * way): wait for one, bounded like a connection attempt (deadline_cb), polling every
		 * LISTEN_BACKOFF_MIN_MS. Held LISTENs stay held meanwhile: answering them now would lose,
		 * without a word, what is notified before the listener's LISTEN.
		 */
		struct timeval tv = {0, (suseconds_t) LISTEN_BACKOFF_MIN_MS * 1000};

		if (!l->awaiting_primary)
		{
			l->awaiting_primary = true;
			notifyconn_arm(l);
			log_debug("listener %s: waiting for a verified primary (LISTEN needs one)", l->db);
		}
		if (!l->timer)
			l->timer = evtimer_new(conn_base, timer_cb, l);
		if (l->timer)
			evtimer_add(l->timer, &tv);
		return;
	}
	l->awaiting_primary = false;
	if (!notifyconn_conninfo(pool, node, conninfo, sizeof(conninfo)))
	{
		notifyconn_lost(l, "its connection string is too long (host, user, password or server_tls_* settings)");
		return;
	}
	l->node = node;
	snprintf(l->host, sizeof(l->host), "%s", pool->nodes[node].host);
	l->port = pool->nodes[node].port;
	switch (dns_conninfo_host(l->host, conninfo, sizeof(conninfo), &l->wait, err, sizeof(err)))
	{
		case DNS_READY:
			break;
		case DNS_PENDING:
			OPENSSL_cleanse(conninfo, sizeof(conninfo));
			l->resolving = true;	/* bounded like a connection attempt (deadline_cb) */
			notifyconn_arm(l);
			return;
		case DNS_FAILED:
			OPENSSL_cleanse(conninfo, sizeof(conninfo));
			notifyconn_lost(l, err);
			return;
	}
	l->pg = PQconnectStart(conninfo);
	OPENSSL_cleanse(conninfo, sizeof(conninfo));
	if (!l->pg || PQstatus(l->pg) == CONNECTION_BAD)
	{
		notifyconn_lost(l, l->pg ? PQerrorMessage(l->pg) : "out of memory");
		return;
	}
	notifyconn_arm(l);
	notifyconn_poll_connect(l);
}

static void
channel_free_if_unused(NotifyChannel *ch)
{
	NotifyConn   *l = ch->conn;

	if (ch->n_clients > 0 || ch->on_server || l->inflight == ch)
		return;
	for (NotifyChannel **pp = &l->channels; *pp; pp = &(*pp)->next)
		if (*pp == ch)
		{
			*pp = ch->next;
			break;
		}
	free(ch->clients);
	free(ch);
}

/* notifyconn_reconcile: sends the next LISTEN/UNLISTEN that brings the server in line with the table. */
static void
notifyconn_reconcile(NotifyConn *l)
{
	char		sql[256];
	char		quoted[160];
	size_t		n = 0;
	NotifyChannel *ch;

	if (!l->ready || l->inflight)
		return;
	for (ch = l->channels; ch; ch = ch->next)
		if ((ch->n_clients > 0) != ch->on_server)
			break;
	if (!ch)
	{
		if (l->lost_at_us)
			send_missed_notices(l);
		return;
	}
	quoted[n++] = '"';
	for (const char *p = ch->name; *p && n + 3 < sizeof(quoted); p++)
	{
		if (*p == '"')
			quoted[n++] = '"';
		quoted[n++] = *p;
	}
	quoted[n++] = '"';
	quoted[n] = '\0';
	l->inflight_listen = ch->n_clients > 0;
	snprintf(sql, sizeof(sql), "%s %s", l->inflight_listen ? "LISTEN" : "UNLISTEN", quoted);
	if (!PQsendQuery(l->pg, sql))
	{
		notifyconn_lost(l, PQerrorMessage(l->pg));
		return;
	}
	l->inflight = ch;
	notifyconn_arm(l);
	if (PQflush(l->pg) < 0)
		notifyconn_lost(l, PQerrorMessage(l->pg));
}

static void
notifyconn_event_cb(evutil_socket_t fd, short what, void *arg)
{
	NotifyConn   *l = arg;
	PGresult   *res;
	PGnotify   *notify;

	if (!l->ready)
	{
		notifyconn_poll_connect(l);
		return;
	}
	if (PQflush(l->pg) < 0 || !PQconsumeInput(l->pg))
	{
		notifyconn_lost(l, PQerrorMessage(l->pg));
		return;
	}
	while (l->inflight && !PQisBusy(l->pg))
	{
		res = PQgetResult(l->pg);
		if (!res)
		{
			NotifyChannel *ch = l->inflight;

			notifyconn_disarm(l);
			l->inflight = NULL;
			if (ch->on_server != l->inflight_listen)
			{
				ch->on_server = l->inflight_listen;
			}
			channel_free_if_unused(ch);
			notifyconn_reconcile(l);
			schedule_release(l);
			break;
		}
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			log_warning("listener %s: %s failed: %s", l->db, l->inflight_listen ? "LISTEN" : "UNLISTEN",
						PQresultErrorMessage(res));
		PQclear(res);
	}
	while ((notify = PQnotifies(l->pg)) != NULL)
	{
		fan_out(l, notify);
		PQfreemem(notify);
	}
	if (PQstatus(l->pg) == CONNECTION_BAD)
		notifyconn_lost(l, PQerrorMessage(l->pg));
}

static NotifyConn *
notifyconn_for(const Pool *pool)
{
	NotifyConn *l;

	for (l = notify_conns; l; l = l->next)
		if (strcmp(l->db, pool->db.name) == 0)
			return l;
	l = calloc(1, sizeof(NotifyConn));
	if (!l)
		return NULL;
	snprintf(l->db, sizeof(l->db), "%s", pool->db.name);
	l->node = -1;
	dns_wait_init(&l->wait, notifyconn_resolved);
	l->next = notify_conns;
	notify_conns = l;
	return l;
}

/* ---- answering LISTENs ---- */

/* all_on_server: every channel client listens on is LISTENed by the listener. */
static bool
all_on_server(const Client *client)
{
	for (int i = 0; i < client->notify.n_channels; i++)
		if (!client->notify.channels[i]->on_server && notifyconn_trying(client->notify.channels[i]->conn))
			return false;
	return true;
}

/* answer_listen: sends the held CommandComplete + ReadyForQuery of client's LISTEN; resumes its input. */
static void
answer_listen(Client *client)
{
	uint8_t		data[64];
	PktBuf		pkt;

	client->notify.waiting_on = NULL;
	pktbuf_init(&pkt, data, sizeof(data));
	if (client->notify.hold_cc)
		proto_build_command_complete(&pkt, "LISTEN");
	proto_build_ready(&pkt, 'I');
	if (pkt.failed || !client_send_bytes(client, pkt.data, pkt.len))
	{
		client_close(client, "53200", "out of memory", NULL);
		return;
	}
	if (!client_flush(client))
		return;					/* closed */
	client_resume(client);
}

/*
 * release_cb: answers every client whose channel is now LISTENed by the listener, or all of them when
 * the listener has no connection (it then re-LISTENs with backoff and sends the missed-span notice).
 * Answering resumes a client, which may LISTEN or leave: the scan restarts after each answer.
 */
static void
release_cb(evutil_socket_t fd, short what, void *arg)
{
	NotifyConn   *l = arg;
	bool		lost = !notifyconn_trying(l);

restart:
	for (NotifyChannel *ch = l->channels; ch; ch = ch->next)
	{
		if (!ch->on_server && !lost)
			continue;
		for (int i = 0; i < ch->n_clients; i++)
		{
			Client	   *c = ch->clients[i];

			if (c->notify.waiting_on && (lost || all_on_server(c)))
			{
				answer_listen(c);
				goto restart;
			}
		}
	}
}

static void
schedule_release(NotifyConn *l)
{
	if (!l->release)
		l->release = evtimer_new(conn_base, release_cb, l);
	if (l->release)
		event_active(l->release, EV_TIMEOUT, 0);
}

/*
 * deadline_cb: the listener's connection attempt or its LISTEN/UNLISTEN did not finish within
 * notifyconn_bound_ms (a server that accepts TCP and never answers): the connection is dropped (and
 * retried with backoff while channels are wanted) and every client whose LISTEN was held for it gets
 * SQLSTATE 08006 naming the listener instead; its LISTEN did not take effect. Answering resumes a
 * client, which may LISTEN again and start a new attempt: only clients held while the listener has no
 * connection are answered here, so one held by a new attempt waits for that attempt (bounded too).
 */
static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	NotifyConn   *l = arg;
	char		msg[256];
	const char *what_hung = !l->ready ? "connection attempt" : l->inflight_listen ? "LISTEN" : "UNLISTEN";
	bool		no_primary = l->awaiting_primary;
	const char *hint = no_primary ?
		"LISTEN needs a node that read routing's health checks verified as the primary; the listener "
		"keeps looking. Run LISTEN again later." :
		"The server accepted the connection but does not answer; the listener retries with backoff. "
		"Run LISTEN again later.";

	if (no_primary)
		snprintf(msg, sizeof(msg), "LISTEN failed: the pooler's listener connection for database \"%s\" found "
				 "no verified primary within %ld ms (server_connect_timeout)", l->db, notifyconn_bound_ms());
	else
		snprintf(msg, sizeof(msg), "LISTEN failed: the pooler's listener connection for database \"%s\" got no "
				 "answer to its %s within %ld ms (server_connect_timeout)", l->db, what_hung,
				 notifyconn_bound_ms());
	notifyconn_lost(l, msg + strlen("LISTEN failed: "));
restart:
	if (l->pg)
		return;
	for (NotifyChannel *ch = l->channels; ch; ch = ch->next)
		for (int i = 0; i < ch->n_clients; i++)
		{
			Client	   *c = ch->clients[i];

			if (c->notify.waiting_on != ch)
				continue;
			c->notify.waiting_on = NULL;
			client_drop_channel(c, ch);
			channel_free_if_unused(ch);
			if (client_send_error(c, "08006", msg, hint, true))
				client_resume(c);
			goto restart;
		}
}

/* ---- clients ---- */

static void
client_drop_channel(Client *client, NotifyChannel *ch)
{
	for (int i = 0; i < ch->n_clients; i++)
		if (ch->clients[i] == client)
		{
			ch->clients[i] = ch->clients[--ch->n_clients];
			break;
		}
	for (int i = 0; i < client->notify.n_channels; i++)
		if (client->notify.channels[i] == ch)
		{
			client->notify.channels[i] = client->notify.channels[--client->notify.n_channels];
			break;
		}
}

static bool
grow(void **array, int *cap, int need, size_t elem)
{
	void	   *grown;
	int			new_cap;

	if (need <= *cap)
		return true;
	new_cap = *cap ? *cap * 2 : 4;
	grown = realloc(*array, (size_t) new_cap * elem);
	if (!grown)
		return false;
	*array = grown;
	*cap = new_cap;
	return true;
}

static NotifyChannel *
find_client_channel(Client *client, const char *name)
{
	for (int i = 0; i < client->notify.n_channels; i++)
		if (strcmp(client->notify.channels[i]->name, name) == 0)
			return client->notify.channels[i];
	return NULL;
}

static bool
do_listen(Client *client, const char *name)
{
	NotifyConn   *l = notifyconn_for(client->pool);
	NotifyChannel *ch;

	if (!l)
		return false;
	for (int i = 0; i < client->notify.n_channels; i++)
		if (strcmp(client->notify.channels[i]->name, name) == 0)
			return true;		/* already listening: a no-op, as in PostgreSQL */
	for (ch = l->channels; ch; ch = ch->next)
		if (strcmp(ch->name, name) == 0)
			break;
	if (!ch)
	{
		ch = calloc(1, sizeof(NotifyChannel));
		if (!ch)
			return false;
		ch->conn = l;
		snprintf(ch->name, sizeof(ch->name), "%s", name);
		ch->next = l->channels;
		l->channels = ch;
	}
	if (!grow((void **) &ch->clients, &ch->cap_clients, ch->n_clients + 1, sizeof(Client *)) ||
		!grow((void **) &client->notify.channels, &client->notify.cap_channels, client->notify.n_channels + 1,
			  sizeof(NotifyChannel *)))
	{
		channel_free_if_unused(ch);
		return false;
	}
	ch->clients[ch->n_clients++] = client;
	client->notify.channels[client->notify.n_channels++] = ch;
	if (!l->pg)
	{
		if (l->timer)
			evtimer_del(l->timer);
		notifyconn_connect(l);
	}
	else
		notifyconn_reconcile(l);
	return true;
}

static void
do_unlisten(Client *client, const char *name)
{
	NotifyConn   *l = NULL;

	for (int i = client->notify.n_channels - 1; i >= 0; i--)
	{
		NotifyChannel *ch = client->notify.channels[i];

		if (strcmp(name, "*") != 0 && strcmp(ch->name, name) != 0)
			continue;
		l = ch->conn;
		client_drop_channel(client, ch);
		channel_free_if_unused(ch);
	}
	if (l)
		notifyconn_reconcile(l);
}

int
notify_try_query(Client *client, const char *query)
{
	char		channel[64];
	char		kind = notify_parse_lone(query, channel, sizeof(channel));
	uint8_t		data[64];
	PktBuf		pkt;

	if (!kind || client->tx_status != 'I' || client->pool->admin)
		return 0;
	if (kind == 'L')
	{
		if (!do_listen(client, channel))
			return client_send_error(client, "53200", "out of memory for LISTEN", NULL, true) ? 1 : -1;
	}
	else
		do_unlisten(client, channel);
	slog_debug(&client->conn, "%s %s served by the listener connection", kind == 'L' ? "LISTEN" : "UNLISTEN",
			   channel);
	if (kind == 'L')
	{
		NotifyChannel *ch = find_client_channel(client, channel);

		if (ch && !ch->on_server && notifyconn_trying(ch->conn))
		{
			/* answered by release_cb once the listener's LISTEN has completed */
			client->notify.waiting_on = ch;
			client->notify.hold_cc = true;
			return 1;
		}
	}
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_command_complete(&pkt, kind == 'L' ? "LISTEN" : "UNLISTEN");
	proto_build_ready(&pkt, 'I');
	if (pkt.failed || !client_send_bytes(client, pkt.data, pkt.len))
	{
		client_close(client, "53200", "out of memory", NULL);
		return -1;
	}
	return client_flush(client) ? 1 : -1;
}

void
notify_forget(Client *client)
{
	client->notify.waiting_on = NULL;
	free(client->notify.queued);
	free(client->notify.done);
	client->notify.queued = client->notify.done = NULL;
	client->notify.n_queued = client->notify.n_done = 0;
	if (client->notify.n_channels)
		do_unlisten(client, "*");
	free(client->notify.channels);
	client->notify.channels = NULL;
	client->notify.n_channels = client->notify.cap_channels = 0;
	free(client->notify.pending);
	client->notify.pending = NULL;
	client->notify.pending_len = 0;
}

/* ---- LISTEN/UNLISTEN that went to a server (transaction blocks, several statements, Parse) ---- */

#define LISTEN_MAX_OPS 64		/* per query text; more are ignored (and logged) */

static bool
append_op(RouteListenOp **array, int *n, const RouteListenOp *op)
{
	RouteListenOp *grown = realloc(*array, (size_t) (*n + 1) * sizeof(RouteListenOp));

	if (!grown)
		return false;
	grown[(*n)++] = *op;
	*array = grown;
	return true;
}

/* mentions_listen: the text contains "listen" in any case spelling (a cheap filter before lexing). */
static bool
mentions_listen(const char *sql, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++)
		if ((sql[i] | 0x20) == 'l' && strncasecmp(sql + i, "listen", 6) == 0)
			return true;
	return false;
}

void
notify_note_query(Client *client, const char *sql, size_t len)
{
	RouteListenOp ops[LISTEN_MAX_OPS];
	int			n;

	if (client->pool->admin || !mentions_listen(sql, len))
		return;
	n = sqlroute_listen_statements(sql, len, params_standard_strings(&client->params), ops, LISTEN_MAX_OPS);
	if (n > LISTEN_MAX_OPS)
	{
		slog_warning(&client->conn, "%d LISTEN/UNLISTEN statements in one query: only the first %d are "
					 "taken over by the listener connection", n, LISTEN_MAX_OPS);
		n = LISTEN_MAX_OPS;
	}
	for (int i = 0; i < n; i++)
		if (!append_op(&client->notify.queued, &client->notify.n_queued, &ops[i]))
			break;
}

/* take_completed: the server completed a statement of kind: move the first queued one to done. */
static void
take_completed(Client *client, char kind)
{
	ClientNotify *cl = &client->notify;

	for (int i = 0; i < cl->n_queued; i++)
		if (cl->queued[i].kind == kind)
		{
			(void) append_op(&cl->done, &cl->n_done, &cl->queued[i]);
			memmove(&cl->queued[i], &cl->queued[i + 1], (size_t) (cl->n_queued - i - 1) * sizeof(RouteListenOp));
			cl->n_queued--;
			return;
		}
}

bool
notify_server_reply(Client *client, bool *dirty, char type, const uint8_t *msg, size_t len)
{
	ClientNotify *cl = &client->notify;
	const char *tag = (const char *) msg + 5;
	bool		applied = false;

	switch (type)
	{
		case 'A':
			/* the server's own LISTEN: the listener connection delivers these */
			return !*dirty;
		case 'C':
			if (len < 6 || msg[len - 1] != '\0')
				return true;
			if (strcmp(tag, "LISTEN") == 0)
				*dirty = true, take_completed(client, 'L');
			else if (strcmp(tag, "UNLISTEN") == 0)
				take_completed(client, 'U');
			else if (strcmp(tag, "ROLLBACK") == 0)
				cl->tx_rollback = true;
			return true;
		case 'E':
			cl->tx_rollback = true;
			return true;
		case 'Z':
			free(cl->queued);	/* statements not completed by now never will be */
			cl->queued = NULL;
			cl->n_queued = 0;
			if (len < 6 || msg[5] != 'I')
				return true;
			if (!cl->tx_rollback)
				for (int i = 0; i < cl->n_done; i++)
				{
					if (cl->done[i].kind == 'L')
					{
						if (!do_listen(client, cl->done[i].channel))
							slog_warning(&client->conn, "out of memory: LISTEN %s not taken over",
										 cl->done[i].channel);
					}
					else
						do_unlisten(client, cl->done[i].channel);
					slog_debug(&client->conn, "%s %s committed: served by the listener connection",
							   cl->done[i].kind == 'L' ? "LISTEN" : "UNLISTEN", cl->done[i].channel);
					applied = applied || cl->done[i].kind == 'L';
				}
			free(cl->done);
			cl->done = NULL;
			cl->n_done = 0;
			cl->tx_rollback = false;
			if (applied && !all_on_server(client) && client->notify.n_channels > 0)
			{
				/* hold this ReadyForQuery until the listener has LISTENed (release_cb sends it) */
				client->notify.waiting_on = client->notify.channels[0];
				client->notify.hold_cc = false;
				return false;
			}
			return true;
		default:
			return true;
	}
}

int
notify_channel_count(void)
{
	int			n = 0;

	for (NotifyConn *l = notify_conns; l; l = l->next)
		for (NotifyChannel *ch = l->channels; ch; ch = ch->next)
			n++;
	return n;
}
