/*
 * conn.h: the socket half of every connection (client, server, cancel): the fd, its one libevent event,
 * and the two lazily lent I/O buffers (see iobuf.h). Client and Server embed a Conn; conn.c does the
 * recv/send system calls and keeps the event's interest (read, write) in step with what is pending.
 */
#ifndef FAREGATE_CONN_H
#define FAREGATE_CONN_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdint.h>

#include "iobuf.h"

#define CONN_ADDR_MAX 64

typedef struct Conn Conn;
typedef void (*ConnHandler) (Conn *conn, short what);

struct Conn
{
	int			fd;				/* -1 when closed */
	uint64_t	id;				/* unique per process, in creation order (SHOW SOCKETS id, KILL_CLIENT) */
	char		kind;			/* 'C' client, 'S' server (log prefixes) */
	bool		ev_added;		/* ev is registered with the base */
	short		ev_flags;		/* interest ev was registered with (EV_READ | EV_WRITE) */
	bool		want_read;		/* the owner wants to read (false while back-pressured) */
	struct event ev;
	IOBuf	   *rbuf;			/* received, not yet handled */
	IOBuf	   *wbuf;			/* to send */
	const char *db;				/* for log lines: the owner's database and user names */
	const char *user;
	char		addr[CONN_ADDR_MAX];	/* peer address, "unix" for Unix sockets */
	int			port;
	uint64_t	bytes_recv;
	uint64_t	bytes_sent;
	ConnHandler handler;
	struct ssl_st *ssl;			/* TLS (tls.c); NULL = plaintext */
	uint8_t		tls_want;		/* TLS_WRITE_NEEDS_READ, TLS_READ_NEEDS_WRITE (tls.h) */
};

/* The event base every connection lives on (set once by main). */
extern struct event_base *conn_base;

/* conn_now_usec: wall-clock microseconds, cached per event-loop turn. */
extern uint64_t conn_now_usec(void);

/* conn_init: wraps a connected (or connecting) non-blocking fd; no interest registered yet. */
extern void conn_init(Conn *conn, int fd, char kind, ConnHandler handler);

/* conn_set_read: whether the owner wants readable events (write interest follows pending output). */
extern void conn_set_read(Conn *conn, bool on);

/*
 * conn_recv: one recv() into rbuf. Returns bytes read, 0 at EOF, -1 on error (errno set), -2 when
 * nothing was there, -3 when rbuf has no room (caller must consume first).
 */
extern int	conn_recv(Conn *conn);

/*
 * conn_flush: sends what wbuf holds. Returns true when everything went (write interest off), true with
 * bytes left when the socket is full (write interest on), false on a send error (errno set).
 */
__attribute__((warn_unused_result))
extern bool conn_flush(Conn *conn);

/* conn_has_output: bytes are waiting in wbuf. */
static inline bool
conn_has_output(const Conn *conn)
{
	return iobuf_len(conn->wbuf) > 0;
}

/* conn_close: unregisters the event, closes the fd, returns both buffers. Idempotent. */
extern void conn_close(Conn *conn);

/* conn_set_addr: fills addr/port from a sockaddr (AF_INET, AF_INET6 or AF_UNIX). */
struct sockaddr;
extern void conn_set_addr(Conn *conn, const struct sockaddr *sa);

#endif
