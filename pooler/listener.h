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

/* listener_pause: stop accepting for a while (fd limit reached). */
extern void listener_pause(int msec);

/*
 * listener_warn_trust: logs a warning when auth_type = trust and listen_addr has an address other than
 * loopback (at every start and RELOAD; PostgreSQL's initdb warns likewise when it enables trust).
 */
extern void listener_warn_trust(void);

#endif
