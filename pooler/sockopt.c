/*
 * sockopt.c: owns the per-connection TCP options of the tcp_* settings (issue 15): keepalive and its
 * timings, TCP_USER_TIMEOUT, socket buffer sizes. A value of 0 leaves the kernel's default, as in
 * PgBouncer. The listener's own options (listen_backlog, tcp_defer_accept) are listener.c's.
 */
#include "sockopt.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "config.h"

static void
sockopt_set(int fd, int level, int name, int value)
{
	(void) setsockopt(fd, level, name, &value, sizeof(value));
}

void
sockopt_tcp(int fd)
{
	sockopt_set(fd, SOL_SOCKET, SO_KEEPALIVE, cf.tcp_keepalive ? 1 : 0);
	if (cf.tcp_keepalive)
	{
		if (cf.tcp_keepcnt > 0)
			sockopt_set(fd, IPPROTO_TCP, TCP_KEEPCNT, cf.tcp_keepcnt);
		if (cf.tcp_keepidle > 0)
			sockopt_set(fd, IPPROTO_TCP, TCP_KEEPIDLE, cf.tcp_keepidle);
		if (cf.tcp_keepintvl > 0)
			sockopt_set(fd, IPPROTO_TCP, TCP_KEEPINTVL, cf.tcp_keepintvl);
	}
	if (cf.tcp_user_timeout > 0)
		sockopt_set(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, cf.tcp_user_timeout);
	if (cf.tcp_socket_buffer > 0)
	{
		sockopt_set(fd, SOL_SOCKET, SO_SNDBUF, cf.tcp_socket_buffer);
		sockopt_set(fd, SOL_SOCKET, SO_RCVBUF, cf.tcp_socket_buffer);
	}
}
