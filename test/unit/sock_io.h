/*
 * sock_io.h: blocking whole-buffer send and receive on a socket, for the unit tests that speak the wire
 * protocol themselves (test_auth.c's fake server, test_auth_pg.c's raw login). Header-only, like tap.h.
 * A receive timeout set with SO_RCVTIMEO ends sock_recv_all with false.
 */
#ifndef FAREGATE_SOCK_IO_H
#define FAREGATE_SOCK_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* sock_send_all: sends all len bytes of buf; false on an error or a closed connection. */
static inline bool
sock_send_all(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = send(fd, buf, len, 0);

		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

/* sock_recv_all: receives exactly len bytes into buf; false on an error, a timeout or end of stream. */
static inline bool
sock_recv_all(int fd, char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = recv(fd, buf, len, 0);

		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

#endif
