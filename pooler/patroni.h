/*
 * patroni.h: the member list of a Patroni cluster, read from Patroni's REST API (patroni.c):
 * patroni_parse_cluster() turns a GET /cluster answer into a PatroniCluster (pure, unit-tested), and a
 * PatroniPoller asks a list of REST endpoints for it every poll period on the pooler's event loop
 * (plain HTTP/1.0, non-blocking connect, one deadline per request, the next endpoint when one fails)
 * and hands each good answer to its owner (routing.c).
 *
 * What Patroni says is a hint, never the truth about a node's role: the pooler still checks every
 * member itself (health.c). Patroni's answer decides which hosts exist, which of them Patroni
 * considers the leader (the preferred write node among those that say they are primaries), and which
 * may take reads (noloadbalance, lag, state).
 */
#ifndef FAREGATE_PATRONI_H
#define FAREGATE_PATRONI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct event_base;

#define PATRONI_MAX_MEMBERS 16
#define PATRONI_MAX_ENDPOINTS 8
#define PATRONI_BODY_MAX ((size_t) 256 * 1024)	/* a bigger answer is refused */

/* A member's role as Patroni reports it. */
typedef enum PatroniRole
{
	PATRONI_ROLE_OTHER,			/* a role this pooler does not know: reads and writes only by its checks */
	PATRONI_ROLE_LEADER,		/* "leader" (or "master" before Patroni 2.1) */
	PATRONI_ROLE_REPLICA,		/* "replica", "sync_standby", "standby_leader" (a standby cluster) */
} PatroniRole;

/* One member of /cluster. */
typedef struct PatroniMember
{
	char		name[CF_NAME_MAX];
	PatroniRole role;
	char		role_text[32];	/* as Patroni wrote it */
	char		state[32];		/* "running", "streaming", "stopped", ... */
	char		host[CF_HOST_MAX];	/* a numeric address (names would need a blocking lookup) */
	int			port;
	int64_t		lag_bytes;		/* replica: Patroni's lag; -1 = "unknown" or absent */
	bool		nofailover;		/* tags.nofailover: never takes writes unless Patroni made it leader */
	bool		noloadbalance;	/* tags.noloadbalance: no reads */
} PatroniMember;

/* A parsed /cluster answer. */
typedef struct PatroniCluster
{
	int			n_members;
	PatroniMember members[PATRONI_MAX_MEMBERS];
	int			n_skipped;		/* members left out (no usable host/port, or past PATRONI_MAX_MEMBERS) */
	char		skipped[256];	/* why the first one was left out */
	char		scope[CF_NAME_MAX];
} PatroniCluster;

/*
 * patroni_parse_cluster: body (len bytes) of a GET /cluster answer into *out. False with err set when
 * the document is not JSON, or is not an object with a "members" array; a member without a usable
 * host and port (or with a host name instead of an address) is skipped and counted.
 */
extern bool patroni_parse_cluster(const char *body, size_t len, PatroniCluster *out, char *err, size_t errlen)
			__attribute__((warn_unused_result));

/*
 * patroni_parse_endpoints: "http://127.0.0.1:8008,http://[::1]:8009" into addresses; each must be
 * http:// with a numeric IPv4 or [IPv6] address and a port, and an optional path prefix is refused.
 * False with why set on the first bad one.
 */
extern bool patroni_parse_endpoints(const char *text, char why[], size_t whylen);

/*
 * patroni_split_response: a whole HTTP response (len bytes): its status code and body. False with err
 * set when it is not HTTP/1.x, has no end of headers, uses chunked transfer coding, or is shorter
 * than its Content-Length.
 */
extern bool patroni_split_response(const char *resp, size_t len, int *status, const char **body,
								   size_t *body_len, char *err, size_t errlen)
			__attribute__((warn_unused_result));

typedef struct PatroniPoller PatroniPoller;

/* on_cluster: a good answer from endpoint url; on_error: every endpoint failed this round (why). */
typedef struct PatroniCallbacks
{
	void		(*on_cluster) (void *arg, const char *url, const PatroniCluster *cluster);
	void		(*on_error) (void *arg, const char *why);
	void	   *arg;
} PatroniCallbacks;

/*
 * patroni_poller_create: polls the endpoints (a checked patroni= value) every period_ms, each request
 * failing after timeout_ms; the first poll starts at once. NULL when out of memory or the endpoints
 * do not parse.
 */
extern PatroniPoller *patroni_poller_create(struct event_base *base, const char *endpoints, long period_ms,
											long timeout_ms, const PatroniCallbacks *callbacks)
			__attribute__((warn_unused_result));

/* patroni_poller_free: stops polling and frees the poller (NULL is fine); no callbacks after it. */
extern void patroni_poller_free(PatroniPoller *poller);

/* patroni_poll_now: starts a round now unless one is running (e.g. a node just went down). */
extern void patroni_poll_now(PatroniPoller *poller);

#endif
