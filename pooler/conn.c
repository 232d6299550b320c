/*
 * conn.c: owns the system calls of every connection: recv into rbuf, send from wbuf, and the single
 * libevent event per socket. Interest changes go through conn_update, which touches libevent only when
 * the wanted flags differ from the registered ones (with the epoll changelist, one epoll_ctl at most
 * per loop turn per socket).
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "tls.h"

struct event_base *conn_base;

uint64_t
conn_now_usec(void)
{
	struct timeval tv;

	if (!conn_base || event_base_gettimeofday_cached(conn_base, &tv) != 0)
		gettimeofday(&tv, NULL);
	return (uint64_t) tv.tv_sec * 1000000 + tv.tv_usec;
}

static void
conn_event_cb(evutil_socket_t fd, short what, void *arg)
{
	Conn	   *conn = arg;

	if (conn->ssl)
	{
		/* give the owner the event a blocked SSL_read/SSL_write waits for, so that it retries */
		if ((what & EV_READ) && (conn->tls_want & TLS_WRITE_NEEDS_READ))
			what |= EV_WRITE;
		if ((what & EV_WRITE) && (conn->tls_want & TLS_READ_NEEDS_WRITE))
			what |= EV_READ;
	}
	conn->handler(conn, what);
	/* OpenSSL may hold decrypted bytes the socket will not signal again */
	if (conn->fd >= 0 && conn->want_read && conn->ev_added && tls_pending(conn))
		event_active(&conn->ev, EV_READ, 0);
}

void
conn_init(Conn *conn, int fd, char kind, ConnHandler handler)
{
	static uint64_t last_id;

	conn->fd = fd;
	conn->id = ++last_id;
	conn->kind = kind;
	conn->ev_added = false;
	conn->ev_flags = 0;
	conn->want_read = false;
	conn->rbuf = conn->wbuf = NULL;
	conn->handler = handler;
	conn->bytes_recv = conn->bytes_sent = 0;
	conn->ssl = NULL;
	conn->tls_want = 0;
}

/* conn_update: registers the interest that want_read and pending output call for. */
static void
conn_update(Conn *conn)
{
	short		flags = 0;

	if (conn->fd < 0)
		return;
	if (conn->want_read)
		flags |= EV_READ;
	if (conn_has_output(conn))
		flags |= EV_WRITE;
	if (conn->tls_want)
		flags |= conn->tls_want & TLS_WRITE_NEEDS_READ ? EV_READ : EV_WRITE;
	if (conn->ev_added && flags == conn->ev_flags)
		return;
	if (conn->ev_added)
	{
		event_del(&conn->ev);
		conn->ev_added = false;
	}
	conn->ev_flags = flags;
	if (flags == 0)
		return;
	event_assign(&conn->ev, conn_base, conn->fd, flags | EV_PERSIST, conn_event_cb, conn);
	if (event_add(&conn->ev, NULL) == 0)
		conn->ev_added = true;
}

void
conn_set_read(Conn *conn, bool on)
{
	conn->want_read = on;
	conn_update(conn);
	if (on && conn->ev_added && tls_pending(conn))
		event_active(&conn->ev, EV_READ, 0);
}

int
conn_recv(Conn *conn)
{
	ssize_t		n;
	IOBuf	   *buf;

	/* read into at least 4 kB of tail room (compacting if needed), or whatever room is left */
	{
		uint32_t	len = iobuf_len(conn->rbuf);
		uint32_t	cap = conn->rbuf ? conn->rbuf->cap : IOBUF_SIZE;

		if (len >= cap)
			return -3;
		if (!iobuf_reserve(&conn->rbuf, cap - len < 4096 ? cap - len : 4096, false))
			return -3;
	}
	buf = conn->rbuf;
	if (conn->ssl)
	{
		uint8_t		want = conn->tls_want;

		n = tls_recv(conn, buf->data + buf->end, buf->cap - buf->end);
		if (conn->tls_want != want)
			conn_update(conn);
	}
	else
		do
			n = recv(conn->fd, buf->data + buf->end, buf->cap - buf->end, 0);
		while (n < 0 && errno == EINTR);
	if (n > 0)
	{
		buf->end += (uint32_t) n;
		conn->bytes_recv += (uint64_t) n;
		return (int) n;
	}
	if (buf->start == buf->end)
		iobuf_release(&conn->rbuf);
	if (n == 0)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -2;
	return -1;
}

bool
conn_flush(Conn *conn)
{
	while (conn_has_output(conn))
	{
		ssize_t		n = conn->ssl ? tls_send(conn, iobuf_head(conn->wbuf), iobuf_len(conn->wbuf)) :
			send(conn->fd, iobuf_head(conn->wbuf), iobuf_len(conn->wbuf), MSG_NOSIGNAL);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return false;
		}
		conn->bytes_sent += (uint64_t) n;
		iobuf_consume(&conn->wbuf, (size_t) n);
	}
	conn_update(conn);
	return true;
}

void
conn_close(Conn *conn)
{
	if (conn->ev_added)
		event_del(&conn->ev);
	conn->ev_added = false;
	conn->ev_flags = 0;
	tls_free(conn);
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
	iobuf_release(&conn->rbuf);
	iobuf_release(&conn->wbuf);
}

void
conn_set_addr(Conn *conn, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		inet_ntop(AF_INET, &in->sin_addr, conn->addr, sizeof(conn->addr));
		conn->port = ntohs(in->sin_port);
	}
	else if (sa->sa_family == AF_INET6)
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, conn->addr, sizeof(conn->addr));
		conn->port = ntohs(in6->sin6_port);
	}
	else
	{
		snprintf(conn->addr, sizeof(conn->addr), "unix");
		conn->port = 0;
	}
}
