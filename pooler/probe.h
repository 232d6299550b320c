/*
 * probe.h: the reachability probe of each [databases] entry without replicas= (probe.c), which is
 * what GET /health reports for such an entry ("source":"probe").
 *
 * Every health_check_period the probe opens a TCP (or Unix socket) connection to the entry's host:port,
 * sends a StartupMessage (protocol 3.0; user = the entry's forced user= or "faregate_probe", database =
 * the entry's dbname, application_name=faregate-probe) and judges the first reply the way libpq's
 * PQping does: an authentication request ('R') or an ErrorResponse is "reachable" (the postmaster
 * accepted and forked a backend), except SQLSTATE 57P03 (cannot_connect_now: starting up, shutting
 * down, in recovery without hot standby); a refused connection, no answer within
 * server_connect_timeout, or 57P03 is "unreachable". With server_tls_sslmode require or verify-* it
 * sends an SSLRequest instead and takes the one-byte answer ('S' or 'N') as reachable, without a
 * handshake. Nothing blocks the loop except the first name resolution of a host (numeric addresses
 * and Unix socket directories never block).
 */
#ifndef FAREGATE_PROBE_H
#define FAREGATE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ProbeVerdict
{
	PROBE_PENDING,				/* no verdict yet (never probed, or more bytes needed) */
	PROBE_REACHABLE,
	PROBE_UNREACHABLE
} ProbeVerdict;

/* The last finished probe of one database entry. */
typedef struct ProbeResult
{
	ProbeVerdict verdict;		/* PROBE_PENDING until the first probe has finished */
	char		sqlstate[6];	/* of an ErrorResponse answer; "" otherwise */
	char		detail[200];	/* what was seen: "authentication request", "connect: ..." */
	uint64_t	at_us;			/* conn_now_usec() when it finished */
	uint64_t	probes;			/* probes finished */
} ProbeResult;

/* probe_start: probes every entry without replicas= now and then every health_check_period. */
extern bool probe_start(char *err, size_t errlen);

/* probe_stop: closes the probes in flight and stops the timer. */
extern void probe_stop(void);

/* probe_result: the last result for [databases] entry name; NULL when it is not probed. */
extern const ProbeResult *probe_result(const char *name);

/*
 * probe_build_startup: a StartupMessage (protocol 3.0) with user, database and
 * application_name=faregate-probe into buf; its length, 0 when it does not fit.
 */
extern size_t probe_build_startup(uint8_t *buf, size_t cap, const char *user, const char *database);

/*
 * probe_judge: the verdict on the first len bytes the server sent; after an SSLRequest
 * (ssl_request) one byte decides. PROBE_PENDING = more bytes are needed (complete = the connection
 * is closed or the buffer is full: judge what there is). sqlstate (6 bytes) and detail get what was
 * seen.
 */
extern ProbeVerdict probe_judge(const uint8_t *buf, size_t len, bool ssl_request, bool complete,
								char *sqlstate, char *detail, size_t detail_len);

#endif
