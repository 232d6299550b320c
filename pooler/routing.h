/*
 * routing.h: read/write routing of a pool's transactions (routing.c): one RoutingSet per [databases]
 * entry with replicas holds its health monitor (health.c), its function volatility table (sqlroute.c) and
 * per-node counters; routing_route() picks the node of each transaction, and the read-your-writes
 * capture on the primary (routing_capture_*) records where a client's last write ended.
 */
#ifndef FAREGATE_ROUTING_H
#define FAREGATE_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Pool Pool;
typedef struct Client Client;
typedef struct Server Server;
typedef struct RoutingSet RoutingSet;
typedef struct IOBuf IOBuf;

/*
 * ClientRouting: a client's routing state (embedded in Client as client->routing). Owned by routing.c;
 * other modules change it only through the routing_client_* calls below.
 */
typedef struct ClientRouting
{
	bool		capture;		/* this transaction writes: capture its end LSN (read_your_writes) */
	bool		sticky_primary; /* created a temp object or listens: stays on the primary */
	uint64_t	ryw_lsn;		/* end LSN of its last write transaction; 0 = none */
	bool		read;			/* this transaction was routed to a replica as a read */
	bool		retry;			/* autocommit read on a replica, no reply byte sent to the client yet */
	bool		retry_sent;		/* the kept request is whole: its Query, or its extended-protocol
								 * messages up to Sync, were forwarded */
	bool		retry_ext;		/* the kept request is extended protocol (Parse/Bind/Describe/Execute) */
	int			avoid_node;		/* 1 + node that just failed it (0 = none): the retry avoids it */
	IOBuf	   *retry_buf;		/* copy of that read's messages as the client sent them
								 * (routing_retry_note); lent from the I/O buffer pool, given back when
								 * the client goes idle */
	IOBuf	   *held;			/* reply messages of a read kept for a retry, held back from the
								 * client until its ReadyForQuery (routing_hold_reply); likewise */
} ClientRouting;

/*
 * routing_client_may_retry: the client's read can still be retried on another node transparently.
 * Inline: it is asked, and routing_client_no_retry called, for every message sent to a client.
 */
static inline bool
routing_client_may_retry(const ClientRouting *routing)
{
	return routing->retry;
}

/* routing_client_no_retry: a reply byte reached the client, or its request was not kept whole. */
static inline void
routing_client_no_retry(ClientRouting *routing)
{
	routing->retry = false;
}

/*
 * routing_client_take_capture: this transaction wrote and its end LSN should be captured now (true
 * once per transaction: the flag is cleared).
 */
extern bool routing_client_take_capture(Client *client);

/* routing_client_release: the transaction is over (or the client leaves): buffers kept for a retry go back. */
extern void routing_client_release(Client *client);

/* ROUTING_RYW_UNKNOWN: a client's commit LSN could not be captured: its reads use the write node. */
#define ROUTING_RYW_UNKNOWN UINT64_MAX

/*
 * routing_attach: gives pool its RoutingSet (shared by every pool of the same database entry; created
 * with its health monitor on first use). Databases without replicas get none (everything to nodes[0]).
 */
extern void routing_attach(Pool *pool);

/*
 * routing_route: the node for the transaction a client starts with msg (see pool_route); -1 when the
 * client was answered with an error (no primary, or no replica with replica_fallback = error) or closed.
 */
extern int	routing_route(Pool *pool, Client *client, char type, const uint8_t *msg, uint32_t total);

/*
 * routing_capture_start: server just answered ReadyForQuery 'I' ending a write transaction of its client
 * (client->route_capture) with read_your_writes on: sends the pooler's own LSN query on the same
 * connection. True when sent: the caller holds that ReadyForQuery back until routing_capture_done.
 */
extern bool routing_capture_start(Server *server);

/* routing_capture_row: a DataRow of the pooler's LSN query: records the LSN as the client's ryw_lsn. */
extern void routing_capture_row(Server *server, const uint8_t *msg, uint32_t total);

/* routing_capture_done: the LSN query's ReadyForQuery: sends the held ReadyForQuery 'I' to the client. */
extern bool routing_capture_done(Server *server);

/*
 * routing_retry: client's server (node) died before any reply byte of the client's autocommit read
 * (simple or extended protocol) reached it: puts the read's messages back in front of the client's
 * input and routes it again, avoiding node.
 * False when it could not (the caller closes the client as usual).
 */
extern bool routing_retry(Client *client, int node, const char *reason);

/*
 * routing_retry_note: client forwards request type/msg/total on its link: while the transaction is an
 * autocommit read kept for a retry, appends it to the kept copy (a Query; or Parse, Bind, Describe,
 * Execute up to Sync). Anything else, a second request, or a copy over the size limit ends the retry.
 */
extern void routing_retry_note(Client *client, char type, const uint8_t *msg, uint32_t total);

/*
 * routing_hold_reply: a whole reply message (type, msg, total) from the server of client's read kept for
 * a retry: held back (true: the caller drops it) until the read's ReadyForQuery, so that a replica that
 * flushes part of a reply (ParseComplete, RowDescription, rows) together with its FATAL at shutdown
 * still leaves the read retryable. False for ReadyForQuery, when nothing is kept, or past
 * ROUTING_HOLD_MAX bytes: the caller then calls routing_release_held (sends what is held; false: out
 * of memory) and forwards the message, which ends the retry.
 */
extern bool routing_hold_reply(Client *client, char type, const uint8_t *msg, uint32_t total);
extern bool routing_release_held(Client *client);

/*
 * routing_reroute_waiting: client waits for a server of replica node, which cannot be reached: routes
 * its request (still unsent) again, avoiding node. False when the client did not wait for a read.
 */
extern bool routing_reroute_waiting(Client *client, int node, const char *reason);

/*
 * routing_reroute_any: like routing_reroute_waiting for a client waiting for any transaction (read or
 * write) on node, which left the member list (pool_node_retire).
 */
extern bool routing_reroute_any(Client *client, int node, const char *reason);

/* routing_reload: RELOAD: new settings for the monitors, volatility tables reloaded. */
extern void routing_reload(void);

/*
 * routing_write_node: the node writes of a database entry go to now (routing_route's choice for a
 * write): 0 for an entry without routing (rs NULL), -1 when no node is a verified primary.
 */
extern int	routing_write_node(RoutingSet *rs);

/* RoutingNodeInfo: what SHOW reports of one node. */
typedef struct RoutingNodeInfo
{
	const char *role;			/* verified role; the configured one until the first health check */
	const char *status;			/* "unchecked" until the first health check */
	char		lsn[32];		/* "X/X"; empty until known */
	int64_t		lag_bytes;		/* -1: unknown */
	long		lag_ms;			/* -1: unknown */
	uint64_t	reads;			/* reads and writes routed to the node */
	uint64_t	writes;
	char		source[768];	/* "config", or the Patroni member, its role and when /cluster said so */
} RoutingNodeInfo;

/* routing_node_info: node's info for SHOW; pool may be NULL (no pool yet): the defaults. */
extern void routing_node_info(const Pool *pool, int node, RoutingNodeInfo *info);

#endif
