/*
 * sockopt.h: the socket options PgBouncer's tcp_* settings ask for (issue 15), applied to every TCP
 * connection the pooler accepts or opens.
 */
#ifndef FAREGATE_SOCKOPT_H
#define FAREGATE_SOCKOPT_H

/* sockopt_tcp: sets SO_KEEPALIVE (tcp_keepalive, tcp_keepcnt/keepidle/keepintvl), TCP_USER_TIMEOUT and
 * SO_SNDBUF/SO_RCVBUF (tcp_socket_buffer) on the TCP socket fd; failures are ignored, as PgBouncer does. */
extern void sockopt_tcp(int fd);

#endif
