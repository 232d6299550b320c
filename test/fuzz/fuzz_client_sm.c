/*
 * fuzz_client_sm.c: libFuzzer target for the pooler's client state machine itself (client.c, login.c,
 * admin.c, pool.c, server.c as driven by a client), not a copy of its parsing. The pooler modules run
 * in-process on a libevent loop as in faregate-pooler: each input becomes one client connection (one
 * end of a socketpair handed to client_accept) and a fake PostgreSQL (a loopback listener owned by this
 * file, on the same loop) answers the pooler's server connections with canned backend messages.
 *
 * Input: byte 0 picks the mode. Client side: 0 no prefix (raw startup-phase bytes), 1 a valid
 * StartupMessage for database fz (trust auth, transaction pooling), 2 one for the admin console; the
 * rest is pieces, each a length byte L then L+1 bytes (fewer at the end) written at once, with loop turns
 * between them,
 * so that the state machine sees partial messages. Afterwards the peer closes; the client must be
 * freed within a bounded number of loop turns (a leaked Client aborts), and ASan/UBSan/LeakSanitizer
 * report anything else. Server side: 3 the fake server's reply to the pooler's login (its startup
 * packet) is the rest of the input, raw; 4 the login is canned and the reply to the first request after
 * it is the rest of the input; in both the client logs in, sends a simple query and an extended-protocol
 * request, then closes. So the server state machine (server.c, login.c's server side, params.c,
 * routing of replies to the client) gets arbitrary backend bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "login.h"
#include "pool.h"
#include "proto.h"
#include "server.h"
#include "tls.h"

#define FAKE_MAX 64

/* one accepted connection of the fake PostgreSQL */
typedef struct Fake
{
	int			fd;
	struct event *ev;
	bool		started;		/* startup packet answered */
	uint8_t		in[8192];
	size_t		len;
} Fake;

static Fake fakes[FAKE_MAX];
static int	fake_listen_fd = -1;
static unsigned long n_accepted;	/* server connections the pooler opened */
static unsigned long n_answered;	/* messages the fake server answered */
static const uint8_t *script;	/* modes 3 and 4: the raw reply the fake server sends once */
static size_t script_len;
static int	script_at;			/* 0 none, 1 reply to a startup packet, 2 to the first later message */

/* fake_script: the raw reply for this point of the exchange, once; false when canned replies apply */
static bool
fake_script(int at, uint8_t *out, size_t *n, size_t room)
{
	size_t		len;

	if (script_at != at)
		return false;
	len = script_len < room ? script_len : room;
	if (len > 0)
		memcpy(out + *n, script, len);
	*n += len;
	script_at = 0;
	return true;
}

/* with FUZZ_SM_STATS set, prints how far the inputs got (does the pooler reach the fake server?) */
static void
print_stats(void)
{
	fprintf(stderr, "fuzz_client_sm: server connections %lu, server messages answered %lu\n", n_accepted,
			n_answered);
}

static void
fake_close(Fake *f)
{
	event_free(f->ev);
	close(f->fd);
	f->fd = -1;
}

static void
put_msg(uint8_t *out, size_t *n, char type, const void *body, uint32_t len)
{
	out[(*n)++] = (uint8_t) type;
	proto_put_u32(out + *n, len + 4);
	*n += 4;
	if (len > 0)
		memcpy(out + *n, body, len);
	*n += len;
}

static void
put_param(uint8_t *out, size_t *n, const char *name, const char *value)
{
	char		body[128];
	size_t		a = strlen(name) + 1;
	size_t		b = strlen(value) + 1;

	memcpy(body, name, a);
	memcpy(body + a, value, b);
	put_msg(out, n, 'S', body, (uint32_t) (a + b));
}

/* fake_answer: the canned reply to one message (startup packet when !f->started); false = hang up */
static bool
fake_answer(Fake *f, const uint8_t *msg, uint32_t len, uint8_t *out, size_t *n)
{
	static const uint8_t zero[4];
	static const uint8_t key[8] = {0, 0, 0, 42, 0, 0, 0, 7};

	if (!f->started)
	{
		uint32_t	code = len >= 8 ? proto_get_u32(msg + 4) : 0;

		if (code == PROTO_SSL_CODE || code == PROTO_GSSENC_CODE)
		{
			out[(*n)++] = 'N';
			return true;
		}
		if (code != PROTO_VERSION_3)
			return false;		/* a cancel request, or garbage */
		f->started = true;
		if (fake_script(1, out, n, 3584 - *n))
			return true;
		put_msg(out, n, 'R', zero, 4);
		put_param(out, n, "server_version", "15.8");
		put_param(out, n, "server_encoding", "UTF8");
		put_param(out, n, "client_encoding", "UTF8");
		put_param(out, n, "DateStyle", "ISO, MDY");
		put_param(out, n, "TimeZone", "UTC");
		put_param(out, n, "integer_datetimes", "on");
		put_param(out, n, "standard_conforming_strings", "on");
		put_msg(out, n, 'K', key, 8);
		put_msg(out, n, 'Z', "I", 1);
		return true;
	}
	if (fake_script(2, out, n, 3584 - *n))
		return true;
	switch (msg[0])
	{
		case 'Q':
			put_msg(out, n, 'C', "SELECT 1", 9);
			put_msg(out, n, 'Z', "I", 1);
			break;
		case 'P':
			put_msg(out, n, '1', NULL, 0);
			break;
		case 'B':
			put_msg(out, n, '2', NULL, 0);
			break;
		case 'D':
			put_msg(out, n, 'n', NULL, 0);
			break;
		case 'E':
			put_msg(out, n, 'C', "SELECT 1", 9);
			break;
		case 'C':
			put_msg(out, n, '3', NULL, 0);
			break;
		case 'S':
			put_msg(out, n, 'Z', "I", 1);
			break;
		case 'X':
			return false;
		default:
			break;				/* Flush, CopyData/Done/Fail, FunctionCall: no answer */
	}
	return true;
}

static void
fake_event(evutil_socket_t fd, short what, void *arg)
{
	Fake	   *f = arg;
	ssize_t		got = recv(fd, f->in + f->len, sizeof(f->in) - f->len, 0);
	uint8_t		out[4096];
	size_t		n = 0;
	size_t		off = 0;

	(void) what;
	if (got <= 0)
	{
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		fake_close(f);
		return;
	}
	f->len += (size_t) got;
	for (;;)
	{
		size_t		len;
		size_t		hdr = f->started ? 1 : 0;

		if (f->len - off < hdr + 4)
			break;
		len = proto_get_u32(f->in + off + hdr);
		if (len < 4 || len + hdr > sizeof(f->in))
		{
			fake_close(f);
			return;
		}
		if (f->len - off < len + hdr)
			break;
		if (n > sizeof(out) - 512 || !fake_answer(f, f->in + off, (uint32_t) (len + hdr), out, &n))
		{
			fake_close(f);
			return;
		}
		off += len + hdr;
		n_answered++;
	}
	memmove(f->in, f->in + off, f->len - off);
	f->len -= off;
	if (n > 0 && send(fd, out, n, MSG_NOSIGNAL) != (ssize_t) n)
		fake_close(f);
}

static void
fake_accept(evutil_socket_t lfd, short what, void *arg)
{
	int			fd = accept(lfd, NULL, NULL);

	(void) what;
	(void) arg;
	if (fd < 0)
		return;
	evutil_make_socket_nonblocking(fd);
	for (int i = 0; i < FAKE_MAX; i++)
		if (fakes[i].fd < 0)
		{
			n_accepted++;
			fakes[i].fd = fd;
			fakes[i].started = false;
			fakes[i].len = 0;
			fakes[i].ev = event_new(conn_base, fd, EV_READ | EV_PERSIST, fake_event, &fakes[i]);
			event_add(fakes[i].ev, NULL);
			return;
		}
	close(fd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t	slen = sizeof(sin);
	char		path[] = "/tmp/faregate-fuzz-sm.XXXXXX";
	char		err[256];
	FILE	   *f;
	int			fd;

	(void) argc;
	(void) argv;
	for (int i = 0; i < FAKE_MAX; i++)
		fakes[i].fd = -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fake_listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fake_listen_fd < 0 || bind(fake_listen_fd, (struct sockaddr *) &sin, sizeof(sin)) != 0 ||
		listen(fake_listen_fd, 64) != 0 || getsockname(fake_listen_fd, (struct sockaddr *) &sin, &slen) != 0)
	{
		perror("fuzz_client_sm: fake server");
		abort();
	}
	evutil_make_socket_nonblocking(fake_listen_fd);
	if ((fd = mkstemp(path)) < 0 || !(f = fdopen(fd, "w")))
		abort();
	fprintf(f, "[databases]\nfz = host=127.0.0.1 port=%d dbname=fz pool_size=2\n"
			"[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = 6432\nauth_type = trust\n"
			"admin_users = postgres\nlogfile = /dev/null\npool_mode = transaction\n"
			"max_client_conn = 100\n", ntohs(sin.sin_port));
	fclose(f);
	if (!config_load(path, &cf, err, sizeof(err)))
	{
		fprintf(stderr, "fuzz_client_sm: %s\n", err);
		abort();
	}
	unlink(path);
	if (getenv("FUZZ_SM_LOG"))
		log_verbose = 2;
	if (!log_open(getenv("FUZZ_SM_LOG") ? "" : "/dev/null") || !login_reload(err, sizeof(err)))
		abort();
	conn_base = event_base_new();
	if (!conn_base || event_base_priority_init(conn_base, 2) != 0 || !tls_init(err, sizeof(err)))
		abort();
	client_init_globals();
	server_init_globals();
	pool_init();
	event_add(event_new(conn_base, fake_listen_fd, EV_READ | EV_PERSIST, fake_accept, NULL), NULL);
	if (getenv("FUZZ_SM_STATS"))
		atexit(print_stats);
	return 0;
}

static void
pump(int peer, int turns)
{
	uint8_t		sink[4096];

	for (int i = 0; i < turns; i++)
	{
		event_base_loop(conn_base, EVLOOP_NONBLOCK);
		while (peer >= 0 && recv(peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
	}
}

static size_t
startup_packet(uint8_t *out, const char *user, const char *db)
{
	size_t		n = 8;

	proto_put_u32(out + 4, PROTO_VERSION_3);
	n += (size_t) sprintf((char *) out + n, "user") + 1;
	n += (size_t) sprintf((char *) out + n, "%s", user) + 1;
	n += (size_t) sprintf((char *) out + n, "database") + 1;
	n += (size_t) sprintf((char *) out + n, "%s", db) + 1;
	out[n++] = '\0';
	proto_put_u32(out, (uint32_t) n);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	uint8_t		prefix[128];
	size_t		plen = 0;
	int			sv[2];
	size_t		off = 1;
	int			base_clients = client_count;

	if (size < 1)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	if (!client_accept(sv[0], (struct sockaddr *) &addr, true))
		abort();
	script_at = 0;
	if (data[0] % 5 == 1)
		plen = startup_packet(prefix, "fuzz", "fz");
	else if (data[0] % 5 == 2)
		plen = startup_packet(prefix, "postgres", "faregate");
	else if (data[0] % 5 >= 3)
	{
		/* server side: a new pool (its own user) so that the pooler logs in afresh and meets the script */
		static const uint8_t requests[] = {
			'Q', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0,
			'P', 0, 0, 0, 9, 0, 'x', 0, 0, 0, 'S', 0, 0, 0, 4};
		static unsigned	users;
		char		user[32];

		snprintf(user, sizeof(user), "srv%u", users++ % 64);
		plen = startup_packet(prefix, user, "fz");
		memcpy(prefix + plen, requests, sizeof(requests));
		plen += sizeof(requests);
		script = data + 1;
		script_len = size - 1;
		script_at = data[0] % 5 == 3 ? 1 : 2;
		off = size;				/* the rest is the server's, not the client's */
	}
	if (plen > 0 && send(sv[1], prefix, plen, MSG_NOSIGNAL) != (ssize_t) plen)
		abort();
	pump(sv[1], 4);
	while (off < size)
	{
		/* a piece: one length byte (1..256 bytes follow), then the bytes written at once */
		size_t		piece = 1 + (size_t) data[off++];

		if (off >= size)
			break;

		if (piece > size - off)
			piece = size - off;
		if (send(sv[1], data + off, piece, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
			break;
		off += piece;
		pump(sv[1], 2);
	}
	pump(sv[1], 32);
	script_at = 0;				/* the input's bytes are not ours after this call */
	close(sv[1]);
	for (int i = 0; i < 2000 && client_count > base_clients; i++)
		pump(-1, 1);
	if (client_count > base_clients)
	{
		fprintf(stderr, "fuzz_client_sm: a client was not freed after its peer closed\n");
		abort();
	}
	return 0;
}
