/*
 * fg_load.c: holds many PostgreSQL client connections at once from one process (epoll, non-blocking
 * sockets, the v3 protocol spoken by hand; trust authentication only). Each connection logs in, runs
 * "SELECT 1" and checks the answer, stays connected until every connection has done so and the hold
 * time has passed, runs "SELECT 2" and checks it, then sends Terminate. Connections are opened at most
 * -r at a time so that the listener's backlog never overflows.
 *
 * Usage: fg_load -p PORT [-h 127.0.0.1] [-U user] [-d db] [-n clients] [-s hold_seconds] [-r ramp]
 *                [-t timeout_seconds] [-P pid_to_sample]
 * With -P it samples /proc/PID/status's VmRSS once a second and reports the peak, and the value while
 * every client is held. Prints one result line:
 *   fg_load: clients=N logged_in=N first_ok=N held=N last_ok=N failed=N rss_start_kb=N rss_held_kb=N
 *            peak_rss_kb=N hold_s=N elapsed_s=N
 * and exits 0 when every client answered both queries and none was lost while held.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef enum LoadPhase
{
	PH_IDLE,					/* not started */
	PH_CONNECTING,				/* non-blocking connect in progress */
	PH_LOGIN,					/* startup sent, waiting for ReadyForQuery */
	PH_FIRST,					/* SELECT 1 sent */
	PH_HELD,					/* answered; held until the hold ends */
	PH_LAST,					/* SELECT 2 sent */
	PH_DONE,					/* answered both, Terminate sent, closed */
	PH_FAILED					/* error, bad answer or unexpected close */
} LoadPhase;

/* A connection and its streaming message parser: header bytes, then the body skipped or peeked. */
typedef struct LoadConn
{
	int			fd;
	LoadPhase	phase;
	uint8_t		hdr[5];
	int			hdr_len;
	uint32_t	body_left;
	uint8_t		peek[12];		/* the first body bytes of the current message */
	uint32_t	peek_len;
	char		got_value;		/* the first byte of the last DataRow's first column */
} LoadConn;

static LoadConn *conns;
static int	n_clients = 10000;
static int	epfd;
static int	counts[PH_FAILED + 1];
static const char *fail_reason = "";

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
set_phase(LoadConn *c, LoadPhase p)
{
	counts[c->phase]--;
	counts[p]++;
	c->phase = p;
}

static void
fail(LoadConn *c, const char *why)
{
	if (c->phase == PH_DONE || c->phase == PH_FAILED)
		return;
	if (!fail_reason[0])
		fail_reason = why;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	set_phase(c, PH_FAILED);
}

/* send_all: small messages on a socket with room; a short write counts as a failure. */
static bool
send_all(LoadConn *c, const void *data, size_t len)
{
	ssize_t		n = send(c->fd, data, len, MSG_NOSIGNAL);

	if (n != (ssize_t) len)
	{
		fail(c, "short send");
		return false;
	}
	return true;
}

static void
send_query(LoadConn *c, const char *sql)
{
	uint8_t		buf[64];
	size_t		len = strlen(sql) + 1;
	uint32_t	n = (uint32_t) len + 4;

	buf[0] = 'Q';
	buf[1] = n >> 24, buf[2] = n >> 16, buf[3] = n >> 8, buf[4] = n;
	memcpy(buf + 5, sql, len);
	(void) send_all(c, buf, 5 + len);
}

static void
send_startup(LoadConn *c, const char *user, const char *db)
{
	uint8_t		buf[256];
	size_t		len = 8;

	len += (size_t) sprintf((char *) buf + len, "user") + 1;
	len += (size_t) sprintf((char *) buf + len, "%s", user) + 1;
	len += (size_t) sprintf((char *) buf + len, "database") + 1;
	len += (size_t) sprintf((char *) buf + len, "%s", db) + 1;
	buf[len++] = 0;
	buf[0] = len >> 24, buf[1] = len >> 16, buf[2] = len >> 8, buf[3] = len;
	buf[4] = 0, buf[5] = 3, buf[6] = 0, buf[7] = 0;
	(void) send_all(c, buf, len);
}

/* on_message: a whole message (type, first body bytes) arrived. */
static void
on_message(LoadConn *c, char type)
{
	switch (type)
	{
		case 'R':
			if (c->peek_len < 4 || c->peek[0] | c->peek[1] | c->peek[2] | c->peek[3])
				fail(c, "authentication other than trust requested");
			break;
		case 'E':
			fail(c, "ErrorResponse");
			break;
		case 'D':
			/* int16 column count, int32 length, value */
			c->got_value = c->peek_len >= 7 ? (char) c->peek[6] : 0;
			break;
		case 'Z':
			if (c->phase == PH_LOGIN)
			{
				set_phase(c, PH_FIRST);
				c->got_value = 0;
				send_query(c, "SELECT 1");
			}
			else if (c->phase == PH_FIRST)
			{
				if (c->got_value != '1')
					fail(c, "wrong answer to SELECT 1");
				else
					set_phase(c, PH_HELD);
			}
			else if (c->phase == PH_LAST)
			{
				static const uint8_t terminate[5] = {'X', 0, 0, 0, 4};

				if (c->got_value != '2')
				{
					fail(c, "wrong answer to SELECT 2");
					break;
				}
				(void) send_all(c, terminate, sizeof(terminate));
				close(c->fd);
				c->fd = -1;
				set_phase(c, PH_DONE);
			}
			break;
		default:
			break;
	}
}

static void
on_readable(LoadConn *c)
{
	uint8_t		buf[4096];

	for (;;)
	{
		ssize_t		n = recv(c->fd, buf, sizeof(buf), 0);
		ssize_t		i = 0;

		if (n == 0)
		{
			fail(c, "connection closed by the pooler");
			return;
		}
		if (n < 0)
		{
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fail(c, "recv failed");
			return;
		}
		while (i < n && c->phase != PH_FAILED && c->phase != PH_DONE)
		{
			if (c->hdr_len < 5)
			{
				c->hdr[c->hdr_len++] = buf[i++];
				if (c->hdr_len == 5)
				{
					uint32_t	len = ((uint32_t) c->hdr[1] << 24) | (c->hdr[2] << 16) | (c->hdr[3] << 8) | c->hdr[4];

					if (len < 4)
					{
						fail(c, "bad message length");
						return;
					}
					c->body_left = len - 4;
					c->peek_len = 0;
				}
			}
			else
			{
				uint32_t	take = (uint32_t) (n - i) < c->body_left ? (uint32_t) (n - i) : c->body_left;

				for (uint32_t k = 0; k < take && c->peek_len < sizeof(c->peek); k++)
					c->peek[c->peek_len++] = buf[i + k];
				i += take;
				c->body_left -= take;
			}
			if (c->hdr_len == 5 && c->body_left == 0)
			{
				c->hdr_len = 0;
				on_message(c, (char) c->hdr[0]);
			}
		}
		if (c->phase == PH_FAILED || c->phase == PH_DONE)
			return;
	}
}

static long
rss_kb(int pid)
{
	char		path[64],
				line[256];
	FILE	   *f;
	long		kb = -1;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int
main(int argc, char **argv)
{
	const char *host = "127.0.0.1",
			   *user = "postgres",
			   *db = "postgres";
	int			port = 0,
				ramp = 500,
				pid = 0,
				opt,
				started = 0;
	double		hold = 60,
				timeout = 300,
				t0,
				held_at = 0,
				last_sample = 0;
	long		rss_start,
				rss_held = -1,
				rss_peak = -1;
	bool		released = false;
	struct sockaddr_in addr;
	struct epoll_event events[512];

	while ((opt = getopt(argc, argv, "h:p:U:d:n:s:r:t:P:")) != -1)
	{
		switch (opt)
		{
			case 'h': host = optarg; break;
			case 'p': port = atoi(optarg); break;
			case 'U': user = optarg; break;
			case 'd': db = optarg; break;
			case 'n': n_clients = atoi(optarg); break;
			case 's': hold = atof(optarg); break;
			case 'r': ramp = atoi(optarg); break;
			case 't': timeout = atof(optarg); break;
			case 'P': pid = atoi(optarg); break;
			default:
				fprintf(stderr, "usage: fg_load -p port [-h host] [-U user] [-d db] [-n clients] [-s hold] "
						"[-r ramp] [-t timeout] [-P pid]\n");
				return 2;
		}
	}
	if (port <= 0 || n_clients <= 0 || ramp <= 0)
	{
		fprintf(stderr, "fg_load: -p PORT is required; -n and -r must be positive\n");
		return 2;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t) port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
	{
		fprintf(stderr, "fg_load: bad IPv4 address %s\n", host);
		return 2;
	}
	conns = calloc((size_t) n_clients, sizeof(LoadConn));
	epfd = epoll_create1(0);
	if (!conns || epfd < 0)
	{
		perror("fg_load");
		return 2;
	}
	counts[PH_IDLE] = n_clients;
	rss_start = rss_kb(pid);
	rss_peak = rss_start;
	t0 = now_s();
	while (now_s() - t0 < timeout)
	{
		int			in_flight = counts[PH_CONNECTING] + counts[PH_LOGIN] + counts[PH_FIRST];
		int			n;

		/* open new connections while fewer than ramp are logging in */
		while (started < n_clients && in_flight < ramp)
		{
			LoadConn   *c = &conns[started];
			struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};

			started++;
			c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			set_phase(c, PH_CONNECTING);
			if (c->fd < 0)
			{
				fail(c, "socket() failed (fd limit?)");
				continue;
			}
			if ((connect(c->fd, (struct sockaddr *) &addr, sizeof(addr)) < 0 && errno != EINPROGRESS) ||
				epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			{
				fail(c, "connect failed");
				continue;
			}
			in_flight++;
		}
		n = epoll_wait(epfd, events, 512, 100);
		for (int i = 0; i < n; i++)
		{
			LoadConn   *c = events[i].data.ptr;

			if (c->fd < 0)
				continue;
			if (c->phase == PH_CONNECTING && (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			{
				int			err = 0;
				socklen_t	len = sizeof(err);
				struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};

				if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
				{
					fail(c, "connect refused");
					continue;
				}
				(void) epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
				set_phase(c, PH_LOGIN);
				send_startup(c, user, db);
				continue;
			}
			if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				on_readable(c);
		}
		if (now_s() - last_sample >= 1.0)
		{
			long		kb = rss_kb(pid);

			last_sample = now_s();
			if (kb > rss_peak)
				rss_peak = kb;
		}
		if (!held_at && started == n_clients && counts[PH_HELD] + counts[PH_FAILED] == n_clients)
		{
			held_at = now_s();
			rss_held = rss_kb(pid);
			fprintf(stderr, "fg_load: %d clients held after %.1f s, pooler RSS %ld kB\n", counts[PH_HELD],
					held_at - t0, rss_held);
		}
		if (held_at && !released && now_s() - held_at >= hold)
		{
			released = true;
			for (int i = 0; i < n_clients; i++)
				if (conns[i].phase == PH_HELD)
				{
					conns[i].got_value = 0;
					set_phase(&conns[i], PH_LAST);
					send_query(&conns[i], "SELECT 2");
				}
		}
		if (released && counts[PH_LAST] == 0)
			break;
	}
	{
		int			first_ok = counts[PH_HELD] + counts[PH_LAST] + counts[PH_DONE];
		int			ok = counts[PH_DONE] == n_clients;

		for (int i = 0; i < n_clients; i++)
			if (conns[i].fd >= 0)
				close(conns[i].fd);
		printf("fg_load: clients=%d first_ok=%d last_ok=%d failed=%d unfinished=%d rss_start_kb=%ld rss_held_kb=%ld "
			   "peak_rss_kb=%ld hold_s=%.0f elapsed_s=%.1f%s%s\n", n_clients, first_ok, counts[PH_DONE],
			   counts[PH_FAILED], n_clients - counts[PH_DONE] - counts[PH_FAILED], rss_start, rss_held, rss_peak,
			   hold, now_s() - t0, fail_reason[0] ? " first_failure=" : "", fail_reason);
		return ok ? 0 : 1;
	}
}
