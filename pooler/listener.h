/*
 * listener.h: the listening sockets (TCP on listen_addr:listen_port, and a Unix socket in
 * unix_socket_dir), accepting clients, refusing those over max_client_conn, and backing off when the
 * process runs out of file descriptors.
 */
#ifndef FAREGATE_LISTENER_H
#define FAREGATE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

/* listener_start: opens every listening socket; false with err set when one could not be opened. */
__attribute__((warn_unused_result))
extern bool listener_start(char *err, size_t errlen);

/* listener_stop: closes the listening sockets (shutdown) and removes the Unix socket file. */
extern void listener_stop(void);

/*
 * listener_stop_tcp: SHUTDOWN WAIT_FOR_CLIENTS/WAIT_FOR_SERVERS: accepts what the TCP sockets' queues
 * hold, then closes them, so that another process on the same port (so_reuseport) gets every new
 * client; the Unix socket stays open (for the admin console only, client.c refuses other logins).
 */
extern void listener_stop_tcp(void);

/* listener_suspend: SUSPEND: stop accepting until listener_unsuspend (RESUME). */
extern void listener_suspend(bool on);

/* listener_pause: stop accepting for a while (fd limit reached). */
extern void listener_pause(int msec);

/*
 * listener_warn_trust: logs a warning when auth_type = trust and listen_addr has an address other than
 * loopback (at every start and RELOAD; PostgreSQL's initdb warns likewise when it enables trust).
 */
extern void listener_warn_trust(void);

#endif
