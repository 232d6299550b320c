/*
 * listen.c: owns LISTEN/NOTIFY for transaction mode (see listen.h): the listener connection of each
 * database (libpq, non-blocking, on the pooler's event loop), the channels with their listening
 * clients, and delivery of NotificationResponse messages at client message boundaries.
 *
 * The listener's LISTENs follow the channel table by reconciliation: a channel is wanted when a client
 * listens on it, and the listener sends one LISTEN or UNLISTEN at a time until what the server has
 * matches what is wanted. A reconnect only has to mark every channel "not listened" and the same loop
 * re-LISTENs them all; when it has, the clients of the channels that were re-listened get a
 * NoticeResponse with the span in which notifications may have been missed.
 *
 * A lone LISTEN/UNLISTEN in a simple Query outside a transaction is answered here (listen_try_query).
 * Any other one (transaction block, several statements, Parse/Bind/Execute) runs on the server: its
 * statements are found with route.c's lexer when sent (listen_note_query), counted off by the server's
 * CommandCompletes and applied at COMMIT (listen_server_reply); the server then gets UNLISTEN * on
 * release (server.c, listen_dirty) and its own NotificationResponses are not forwarded. The answer to
 * a LISTEN is held until the listener's LISTEN on the channel has completed (release_cb). The listener's
 * connection attempt and each LISTEN/UNLISTEN are bounded by server_connect_timeout (deadline_cb): on
 * expiry the held clients get SQLSTATE 08006 naming the listener, and the connection is retried.
 *
 * Caveats (docs/operations.md): savepoint rollbacks count as a rollback of the whole transaction; a
 * named prepared LISTEN executed in a later round trip is not taken over; own notifications arrive after
 * the ReadyForQuery, with the pooled server's pid; the listener connects to the database entry's host
 * (the primary), and host names are resolved by libpq (blocking).
 */
#include "listen.h"

#include <ctype.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "params.h"
#include "pool.h"
#include "proto.h"
#include "route.h"
#include "tls.h"

#define LISTEN_BACKOFF_MIN_MS 100
#define LISTEN_BACKOFF_MAX_MS 5000
#define LISTEN_BOUND_DEFAULT_MS 15000	/* when server_connect_timeout is 0 (disabled) */

typedef struct Listener Listener;

struct ListenChannel
{
	ListenChannel *next;
	Listener   *listener;
	char		name[64];		/* as the server knows it (identifier rules applied) */
	Client	  **clients;
	int			n_clients;
	int			cap_clients;
	bool		on_server;		/* the listener's session has LISTENed to it */
	bool		missed;			/* was listened when the connection was lost: notice pending */
};

struct Listener
{
	Listener   *next;
	char		db[CF_NAME_MAX];
	char		conninfo[2048];
	PGconn	   *pg;
	struct event *ev;			/* on PQsocket */
	short		ev_flags;
	struct event *timer;		/* reconnect */
	struct event *deadline;		/* bounds the connection attempt and each LISTEN/UNLISTEN */
	struct event *release;		/* answers waiting LISTENs outside the caller's stack */
	bool		ready;			/* logged in */
	ListenChannel *inflight;	/* the channel whose LISTEN/UNLISTEN is running */
	bool		inflight_listen;
	ListenChannel *channels;
	int			backoff_ms;
	uint64_t	lost_at_us;		/* when the last connection was lost (0 = never or notices sent) */
};

static Listener *listeners;

static void schedule_release(Listener *l);
static void client_drop_channel(Client *client, ListenChannel *ch);
static void channel_free_if_unused(ListenChannel *ch);

static void listener_connect(Listener *l);
static void listener_reconcile(Listener *l);

/* ---- parsing ---- */

char
listen_parse(const char *query, char *channel, size_t channel_len)
{
	const char *p = query;
	char		kind;
	size_t		n = 0;

	while (isspace((unsigned char) *p))
		p++;
	if (strncasecmp(p, "LISTEN", 6) == 0)
		kind = 'L', p += 6;
	else if (strncasecmp(p, "UNLISTEN", 8) == 0)
		kind = 'U', p += 8;
	else
		return 0;
	if (!isspace((unsigned char) *p))
		return 0;
	while (isspace((unsigned char) *p))
		p++;
	if (*p == '*' && kind == 'U')
	{
		if (channel_len < 2)
			return 0;
		memcpy(channel, "*", 2);
		p++;
	}
	else if (*p == '"')
	{
		if (!(p = params_read_quoted(p, '"', channel, channel_len)) || channel[0] == '\0')
			return 0;
	}
	else
	{
		if (!(isalpha((unsigned char) *p) || *p == '_' || (unsigned char) *p >= 0x80))
			return 0;
		while (isalnum((unsigned char) *p) || *p == '_' || *p == '$' || (unsigned char) *p >= 0x80)
		{
			if (n + 1 >= channel_len)
				return 0;
			channel[n++] = (char) tolower((unsigned char) *p++);
		}
		channel[n] = '\0';
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p == ';')
		p++;
	while (isspace((unsigned char) *p))
		p++;
	return *p == '\0' ? kind : 0;
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
		uint8_t    *grown = realloc(client->listen.pending, client->listen.pending_len + len);

		if (!grown)
			return;
		memcpy(grown + client->listen.pending_len, msg, len);
		client->listen.pending = grown;
		client->listen.pending_len += len;
	}
}

void
listen_client_idle(Client *client)
{
	if (!client->listen.pending_len)
		return;
	if (client_send_bytes(client, client->listen.pending, client->listen.pending_len))
	{
		if (!conn_flush(&client->conn))
		{
			/* the send error shows at the client's next event */
		}
	}
	free(client->listen.pending);
	client->listen.pending = NULL;
	client->listen.pending_len = 0;
}

static void
fan_out(Listener *l, const PGnotify *notify)
{
	size_t		len = 1 + 4 + 4 + strlen(notify->relname) + 1 + strlen(notify->extra) + 1;
	uint8_t    *msg;
	PktBuf		pkt;

	for (ListenChannel *ch = l->channels; ch; ch = ch->next)
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
send_missed_notices(Listener *l)
{
	char		from[48];
	char		to[48];
	char		message[512];
	uint8_t		data[1024];
	PktBuf		pkt;

	format_time(l->lost_at_us, from, sizeof(from));
	format_time(conn_now_usec(), to, sizeof(to));
	for (ListenChannel *ch = l->channels; ch; ch = ch->next)
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

static void listener_event_cb(evutil_socket_t fd, short what, void *arg);

static void
listener_watch(Listener *l, short flags)
{
	int			fd = l->pg ? PQsocket(l->pg) : -1;

	if (l->ev)
	{
		event_free(l->ev);
		l->ev = NULL;
	}
	if (fd < 0)
		return;
	l->ev = event_new(conn_base, fd, flags | EV_PERSIST, listener_event_cb, l);
	l->ev_flags = flags;
	if (l->ev)
		event_add(l->ev, NULL);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	listener_connect(arg);
}

/* listener_bound_ms: how long the listener's connection attempt, and each LISTEN/UNLISTEN, may take. */
static long
listener_bound_ms(void)
{
	return cf.server_connect_timeout_ms > 0 ? cf.server_connect_timeout_ms : LISTEN_BOUND_DEFAULT_MS;
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg);

/* listener_arm: the connection attempt or the LISTEN/UNLISTEN just started must end within the bound. */
static void
listener_arm(Listener *l)
{
	long		ms = listener_bound_ms();
	struct timeval tv = {ms / 1000, (suseconds_t) (ms % 1000) * 1000};

	if (!l->deadline)
		l->deadline = evtimer_new(conn_base, deadline_cb, l);
	if (l->deadline)
		evtimer_add(l->deadline, &tv);
}

static void
listener_disarm(Listener *l)
{
	if (l->deadline)
		evtimer_del(l->deadline);
}

static void
listener_lost(Listener *l, const char *why)
{
	bool		had_channels = false;
	struct timeval tv;

	listener_disarm(l);
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
	for (ListenChannel *ch = l->channels; ch; ch = ch->next)
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
listener_poll_connect(Listener *l)
{
	switch (PQconnectPoll(l->pg))
	{
		case PGRES_POLLING_READING:
			listener_watch(l, EV_READ);
			return;
		case PGRES_POLLING_WRITING:
			listener_watch(l, EV_WRITE);
			return;
		case PGRES_POLLING_OK:
			if (PQsetnonblocking(l->pg, 1) != 0)
			{
				listener_lost(l, "cannot make the connection non-blocking");
				return;
			}
			listener_disarm(l);
			l->ready = true;
			l->backoff_ms = 0;
			log_info("listener %s: connected (backend pid %d)", l->db, PQbackendPID(l->pg));
			listener_watch(l, EV_READ);
			listener_reconcile(l);
			return;
		default:
			listener_lost(l, PQerrorMessage(l->pg));
			return;
	}
}

static void
listener_connect(Listener *l)
{
	if (l->pg || l->ready)
		return;
	l->pg = PQconnectStart(l->conninfo);
	if (!l->pg || PQstatus(l->pg) == CONNECTION_BAD)
	{
		listener_lost(l, l->pg ? PQerrorMessage(l->pg) : "out of memory");
		return;
	}
	listener_arm(l);
	listener_poll_connect(l);
}

static void
channel_free_if_unused(ListenChannel *ch)
{
	Listener   *l = ch->listener;

	if (ch->n_clients > 0 || ch->on_server || l->inflight == ch)
		return;
	for (ListenChannel **pp = &l->channels; *pp; pp = &(*pp)->next)
		if (*pp == ch)
		{
			*pp = ch->next;
			break;
		}
	free(ch->clients);
	free(ch);
}

/* listener_reconcile: sends the next LISTEN/UNLISTEN that brings the server in line with the table. */
static void
listener_reconcile(Listener *l)
{
	char		sql[256];
	char		quoted[160];
	size_t		n = 0;
	ListenChannel *ch;

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
		listener_lost(l, PQerrorMessage(l->pg));
		return;
	}
	l->inflight = ch;
	listener_arm(l);
	if (PQflush(l->pg) < 0)
		listener_lost(l, PQerrorMessage(l->pg));
}

static void
listener_event_cb(evutil_socket_t fd, short what, void *arg)
{
	Listener   *l = arg;
	PGresult   *res;
	PGnotify   *notify;

	if (!l->ready)
	{
		listener_poll_connect(l);
		return;
	}
	if (PQflush(l->pg) < 0 || !PQconsumeInput(l->pg))
	{
		listener_lost(l, PQerrorMessage(l->pg));
		return;
	}
	while (l->inflight && !PQisBusy(l->pg))
	{
		res = PQgetResult(l->pg);
		if (!res)
		{
			ListenChannel *ch = l->inflight;

			listener_disarm(l);
			l->inflight = NULL;
			if (ch->on_server != l->inflight_listen)
			{
				ch->on_server = l->inflight_listen;
			}
			channel_free_if_unused(ch);
			listener_reconcile(l);
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
		listener_lost(l, PQerrorMessage(l->pg));
}

static Listener *
listener_for(const Pool *pool)
{
	Listener   *l;
	const PoolNode *node = &pool->nodes[0];
	int			n;

	for (l = listeners; l; l = l->next)
		if (strcmp(l->db, pool->db.name) == 0)
			return l;
	l = calloc(1, sizeof(Listener));
	if (!l)
		return NULL;
	snprintf(l->db, sizeof(l->db), "%s", pool->db.name);
	n = snprintf(l->conninfo, sizeof(l->conninfo),
				 "host='%s' port=%d dbname='%s' user='%s' application_name='faregate-listener'", node->host,
				 node->port, pool->db.dbname[0] ? pool->db.dbname : pool->db.name, pool->user);
	if (pool->password[0] && n > 0 && (size_t) n < sizeof(l->conninfo))
		snprintf(l->conninfo + n, sizeof(l->conninfo) - n, " password='%s'", pool->password);
	if (!tls_server_conninfo(l->conninfo, sizeof(l->conninfo)))
		log_warning("listener %s: server_tls_* settings too long for its connection string; it uses libpq's "
					"default sslmode", l->db);
	l->next = listeners;
	listeners = l;
	return l;
}

/* ---- answering LISTENs ---- */

/* all_on_server: every channel client listens on is LISTENed by the listener. */
static bool
all_on_server(const Client *client)
{
	for (int i = 0; i < client->listen.n_channels; i++)
		if (!client->listen.channels[i]->on_server && client->listen.channels[i]->listener->pg)
			return false;
	return true;
}

/* answer_listen: sends the held CommandComplete + ReadyForQuery of client's LISTEN; resumes its input. */
static void
answer_listen(Client *client)
{
	uint8_t		data[64];
	PktBuf		pkt;

	client->listen.waiting_on = NULL;
	pktbuf_init(&pkt, data, sizeof(data));
	if (client->listen.hold_cc)
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
	Listener   *l = arg;
	bool		lost = !l->pg;

restart:
	for (ListenChannel *ch = l->channels; ch; ch = ch->next)
	{
		if (!ch->on_server && !lost)
			continue;
		for (int i = 0; i < ch->n_clients; i++)
		{
			Client	   *c = ch->clients[i];

			if (c->listen.waiting_on && (lost || all_on_server(c)))
			{
				answer_listen(c);
				goto restart;
			}
		}
	}
}

static void
schedule_release(Listener *l)
{
	if (!l->release)
		l->release = evtimer_new(conn_base, release_cb, l);
	if (l->release)
		event_active(l->release, EV_TIMEOUT, 0);
}

/*
 * deadline_cb: the listener's connection attempt or its LISTEN/UNLISTEN did not finish within
 * listener_bound_ms (a server that accepts TCP and never answers): the connection is dropped (and
 * retried with backoff while channels are wanted) and every client whose LISTEN was held for it gets
 * SQLSTATE 08006 naming the listener instead; its LISTEN did not take effect. Answering resumes a
 * client, which may LISTEN again and start a new attempt: only clients held while the listener has no
 * connection are answered here, so one held by a new attempt waits for that attempt (bounded too).
 */
static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	Listener   *l = arg;
	char		msg[256];
	const char *what_hung = !l->ready ? "connection attempt" : l->inflight_listen ? "LISTEN" : "UNLISTEN";

	snprintf(msg, sizeof(msg), "LISTEN failed: the pooler's listener connection for database \"%s\" got no "
			 "answer to its %s within %ld ms (server_connect_timeout)", l->db, what_hung, listener_bound_ms());
	listener_lost(l, msg + strlen("LISTEN failed: "));
restart:
	if (l->pg)
		return;
	for (ListenChannel *ch = l->channels; ch; ch = ch->next)
		for (int i = 0; i < ch->n_clients; i++)
		{
			Client	   *c = ch->clients[i];

			if (c->listen.waiting_on != ch)
				continue;
			c->listen.waiting_on = NULL;
			client_drop_channel(c, ch);
			channel_free_if_unused(ch);
			if (client_send_error(c, "08006", msg, "The server accepted the connection but does not answer; "
								  "the listener retries with backoff. Run LISTEN again later.", true))
				client_resume(c);
			goto restart;
		}
}

/* ---- clients ---- */

static void
client_drop_channel(Client *client, ListenChannel *ch)
{
	for (int i = 0; i < ch->n_clients; i++)
		if (ch->clients[i] == client)
		{
			ch->clients[i] = ch->clients[--ch->n_clients];
			break;
		}
	for (int i = 0; i < client->listen.n_channels; i++)
		if (client->listen.channels[i] == ch)
		{
			client->listen.channels[i] = client->listen.channels[--client->listen.n_channels];
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

static ListenChannel *
find_client_channel(Client *client, const char *name)
{
	for (int i = 0; i < client->listen.n_channels; i++)
		if (strcmp(client->listen.channels[i]->name, name) == 0)
			return client->listen.channels[i];
	return NULL;
}

static bool
do_listen(Client *client, const char *name)
{
	Listener   *l = listener_for(client->pool);
	ListenChannel *ch;

	if (!l)
		return false;
	for (int i = 0; i < client->listen.n_channels; i++)
		if (strcmp(client->listen.channels[i]->name, name) == 0)
			return true;		/* already listening: a no-op, as in PostgreSQL */
	for (ch = l->channels; ch; ch = ch->next)
		if (strcmp(ch->name, name) == 0)
			break;
	if (!ch)
	{
		ch = calloc(1, sizeof(ListenChannel));
		if (!ch)
			return false;
		ch->listener = l;
		snprintf(ch->name, sizeof(ch->name), "%s", name);
		ch->next = l->channels;
		l->channels = ch;
	}
	if (!grow((void **) &ch->clients, &ch->cap_clients, ch->n_clients + 1, sizeof(Client *)) ||
		!grow((void **) &client->listen.channels, &client->listen.cap_channels, client->listen.n_channels + 1,
			  sizeof(ListenChannel *)))
	{
		channel_free_if_unused(ch);
		return false;
	}
	ch->clients[ch->n_clients++] = client;
	client->listen.channels[client->listen.n_channels++] = ch;
	if (!l->pg)
	{
		if (l->timer)
			evtimer_del(l->timer);
		listener_connect(l);
	}
	else
		listener_reconcile(l);
	return true;
}

static void
do_unlisten(Client *client, const char *name)
{
	Listener   *l = NULL;

	for (int i = client->listen.n_channels - 1; i >= 0; i--)
	{
		ListenChannel *ch = client->listen.channels[i];

		if (strcmp(name, "*") != 0 && strcmp(ch->name, name) != 0)
			continue;
		l = ch->listener;
		client_drop_channel(client, ch);
		channel_free_if_unused(ch);
	}
	if (l)
		listener_reconcile(l);
}

int
listen_try_query(Client *client, const char *query)
{
	char		channel[64];
	char		kind = listen_parse(query, channel, sizeof(channel));
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
		ListenChannel *ch = find_client_channel(client, channel);

		if (ch && !ch->on_server && ch->listener->pg)
		{
			/* answered by release_cb once the listener's LISTEN has completed */
			client->listen.waiting_on = ch;
			client->listen.hold_cc = true;
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
listen_forget(Client *client)
{
	client->listen.waiting_on = NULL;
	free(client->listen.queued);
	free(client->listen.done);
	client->listen.queued = client->listen.done = NULL;
	client->listen.n_queued = client->listen.n_done = 0;
	if (client->listen.n_channels)
		do_unlisten(client, "*");
	free(client->listen.channels);
	client->listen.channels = NULL;
	client->listen.n_channels = client->listen.cap_channels = 0;
	free(client->listen.pending);
	client->listen.pending = NULL;
	client->listen.pending_len = 0;
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
listen_note_query(Client *client, const char *sql, size_t len)
{
	RouteListenOp ops[LISTEN_MAX_OPS];
	int			n;

	if (client->pool->admin || !mentions_listen(sql, len))
		return;
	n = route_listen_statements(sql, len, true, ops, LISTEN_MAX_OPS);
	if (n > LISTEN_MAX_OPS)
	{
		slog_warning(&client->conn, "%d LISTEN/UNLISTEN statements in one query: only the first %d are "
					 "taken over by the listener connection", n, LISTEN_MAX_OPS);
		n = LISTEN_MAX_OPS;
	}
	for (int i = 0; i < n; i++)
		if (!append_op(&client->listen.queued, &client->listen.n_queued, &ops[i]))
			break;
}

/* take_completed: the server completed a statement of kind: move the first queued one to done. */
static void
take_completed(Client *client, char kind)
{
	ClientListen *cl = &client->listen;

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
listen_server_reply(Client *client, bool *dirty, char type, const uint8_t *msg, size_t len)
{
	ClientListen *cl = &client->listen;
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
			if (applied && !all_on_server(client) && client->listen.n_channels > 0)
			{
				/* hold this ReadyForQuery until the listener has LISTENed (release_cb sends it) */
				client->listen.waiting_on = client->listen.channels[0];
				client->listen.hold_cc = false;
				return false;
			}
			return true;
		default:
			return true;
	}
}

int
listen_channel_count(void)
{
	int			n = 0;

	for (Listener *l = listeners; l; l = l->next)
		for (ListenChannel *ch = l->channels; ch; ch = ch->next)
			n++;
	return n;
}
