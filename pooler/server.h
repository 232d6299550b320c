/*
 * server.h: a server connection (the pooler as a client of PostgreSQL) and its state machine:
 *
 *   SV_CONNECTING  node->login_servers   non-blocking connect() in progress
 *   SV_LOGIN       node->login_servers   startup packet sent; authentication and ParameterStatus
 *   SV_IDLE        node->idle_servers    logged in, ReadyForQuery 'I', nothing pending, no client
 *   SV_ACTIVE      node->active_servers  linked to a client
 *   SV_RESET       node->active_servers  session mode: server_reset_query runs before SV_IDLE
 *   SV_CANCEL      cancel_server_list    a one-shot connection carrying a CancelRequest
 *
 * A server connection leaves through server_close() only. It goes back to SV_IDLE only from a clean
 * state: last ReadyForQuery 'I' and no reply outstanding (the expectation queue is empty).
 *
 * Expectation queue: for every request forwarded to PostgreSQL, in order, what the pooler expects back
 * and whether the reply belongs to the client, to the pooler (an injected Parse or SET: swallowed), or
 * must be produced by the pooler itself when its turn comes (a Parse or Close the pooler did not send).
 */
#ifndef FAREGATE_SERVER_H
#define FAREGATE_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conn.h"
#include "list.h"
#include "params.h"
#include "prepared.h"

typedef struct Pool Pool;
typedef struct Client Client;
typedef struct Server Server;

typedef enum ServerState
{
	SV_FREE,
	SV_CONNECTING,
	SV_LOGIN,
	SV_IDLE,
	SV_ACTIVE,
	SV_RESET,
	SV_CANCEL
} ServerState;

typedef enum ExpKind
{
	EXP_PARSE,					/* ParseComplete */
	EXP_BIND,					/* BindComplete */
	EXP_DESCRIBE,				/* RowDescription or NoData (after ParameterDescription) */
	EXP_EXECUTE,				/* CommandComplete, EmptyQueryResponse or PortalSuspended */
	EXP_CLOSE,					/* CloseComplete */
	EXP_SYNC,					/* ReadyForQuery */
	EXP_QUERY,					/* simple Query or FunctionCall: everything up to ReadyForQuery */
	EXP_SYNTH_PARSE,			/* the pooler answers ParseComplete itself */
	EXP_SYNTH_CLOSE				/* the pooler answers CloseComplete itself */
} ExpKind;

typedef struct Expectation
{
	uint8_t		kind;			/* ExpKind */
	bool		swallow;		/* reply is the pooler's, never forwarded */
	uint64_t	stmt_id;		/* EXP_PARSE: statement it prepares (dropped from the set on error) */
} Expectation;

/*
 * stmt_id of an EXP_PARSE that stands for a client's Parse of a name it already has: the pooler sends a
 * Parse that fails (so the server aborts the transaction and skips to Sync exactly as for the real error)
 * and replaces the server's error by 42P05 "prepared statement \"<name>\" already exists".
 */
#define EXP_STMT_DUPLICATE UINT64_MAX

/*
 * stmt_id of an EXP_QUERY or EXP_PARSE standing for a statement session_state_action = error refused
 * (session.c): the pooler sent SESSION_REFUSED_SQL, which fails, and its error is replaced by 0A000.
 */
#define EXP_STMT_REFUSED (UINT64_MAX - 1)

struct Server
{
	Conn		conn;
	ServerState state;
	List		list_node;
	List		all_node;		/* on server_all_list */
	Pool	   *pool;
	int			node;			/* index in pool->nodes */
	int			host_entry;		/* which entry of a host list (host=a,b) it connected to; 0 otherwise */
	struct sockaddr_storage addr;	/* the address it connected to (a cancel goes there) */
	socklen_t	addr_len;
	Client	   *client;			/* linked client (SV_ACTIVE) */
	Pool	   *cancel_pool;	/* SV_CANCEL: the pool of the server it cancels (NULL once that pool is gone) */
	bool		cancel_hold;	/* released while cancels of its client were in flight: held (SV_RESET) until
								 * they are done, so none can reach the next client's query */
	uint32_t	backend_pid;
	uint32_t	backend_key;
	bool		saw_rollback;	/* a CommandComplete "ROLLBACK" since the last ReadyForQuery */
	ParamSet	params;			/* values the backend runs with */
	ServerStmtSet stmts;		/* statements prepared on it */
	Expectation *exp;			/* ring buffer: exp_head, exp_count of exp_cap */
	uint32_t	exp_head;
	uint32_t	exp_count;
	uint32_t	exp_cap;
	uint32_t	fwd_remain;		/* bytes of a partly received reply still to stream to the client */
	bool		stream_fwd;
	bool		in_process;		/* server_process is running */
	char		tx_status;		/* last ReadyForQuery status */
	bool		close_needed;	/* configuration changed: close instead of reusing */
	bool		notify_dirty;	/* a client's LISTEN ran on it (notify.c): UNLISTEN * when released */
	bool		fatal_forwarded;	/* a FATAL ErrorResponse already reached the client */
	bool		error_in_query; /* an ErrorResponse arrived since the last ReadyForQuery */
	bool		ryw_capture;	/* the pooler's commit-LSN query is running; the client's 'Z' is held */
	bool		tls_requested;	/* SV_LOGIN: SSLRequest sent, PostgreSQL's 'S' or 'N' awaited */
	bool		session_probe;	/* session.c's probe is running (its reply swallowed) */
	bool		session_probe_z;	/* the last ReadyForQuery ended that probe */
	bool		session_pinned; /* its client holds session state here: closed, not reused, if it leaves */
	bool		session_discard;	/* warn: its client left session state: DISCARD ALL before reuse */
	bool		connect_query_running;	/* SV_LOGIN: the database's connect_query is running (issue 15) */
	uint64_t	connect_time;
	uint64_t	request_time;	/* µs: last link or release */
	uint8_t		cancel_packet[16];	/* SV_CANCEL: what to send */
	int			auth_step;		/* SASL exchange progress */
	void	   *scram;			/* server-side SCRAM client state (auth module) */
};

extern List server_all_list;

/* server_connect: opens a new connection to pool's node; false when the socket could not even start. */
extern bool server_connect(Pool *pool, int node);

/* server_host_name: the host server connected to (its entry of a host list; else its node's host) into out. */
extern void server_host_name(const Server *server, char *out, size_t outlen);

/*
 * server_cancel_janitor: servers of pool held for cancel requests longer than now - 5 s go back to the pool
 * (a cancel connection that never ends must not take a server out for good).
 */
extern void server_cancel_janitor(Pool *pool, uint64_t now);

/* server_forget_pool: pool is being freed: cancel connections for its servers no longer point at it. */
extern void server_forget_pool(const Pool *pool);

/* server_send_cancel: opens a one-shot connection to server's host carrying a cancel for its backend. */
extern void server_send_cancel(Server *server);

/*
 * server_fail_login: a login to PostgreSQL failed for reason: closes the connection and, when the node
 * has no connection left, answers the clients waiting for it with sqlstate and the reason
 * (pool_login_failed).
 */
extern void server_fail_login(Server *server, const char *sqlstate, const char *reason);

/* server_close: the one way a server connection leaves (logs the reason, fixes pool counts). */
extern void server_close(Server *server, const char *reason);

/* server_set_state: moves server to the list of state. */
extern void server_set_state(Server *server, ServerState state);

/*
 * server_needs_check: an idle server unused for server_check_delay: server_check_query runs on it before
 * a client gets it (SHOW POOLS sv_used). server_start_check sends it (state SV_RESET, "tested"); its
 * ReadyForQuery makes the server idle again and hands it to the first waiting client. False when the
 * server could not be used (closed).
 */
extern bool server_needs_check(const Server *server, uint64_t now);
extern bool server_start_check(Server *server);

/*
 * server_cancel_counts: SHOW POOLS' cancel columns for one pool node, from the cancel connections in
 * flight whose target backend belongs to it: cl_waiting_cancel_req = not yet sent to PostgreSQL (still
 * connecting), cl_active_cancel_req = sent, PostgreSQL has not closed it yet, sv_active_cancel = both
 * (the connections carrying them), sv_being_canceled = active servers such a request targets.
 */
typedef struct CancelCounts
{
	int			cl_waiting_cancel_req;
	int			cl_active_cancel_req;
	int			sv_active_cancel;
	int			sv_being_canceled;
} CancelCounts;
extern void server_cancel_counts(Pool *pool, int node_idx, CancelCounts *counts);

/* server_release: the client is done with it: back to idle (or reset/closed when not clean). */
extern void server_release(Server *server);

/* server_resume: the client's output drained: process replies still in the server's buffer. */
extern void server_resume(Server *server);

/* server_send_bytes: appends to the server's output; false on no memory. */
__attribute__((warn_unused_result))
extern bool server_send_bytes(Server *server, const void *data, size_t len);

/* server_exp_push: one more expected reply; false without memory. */
__attribute__((warn_unused_result))
extern bool server_exp_push(Server *server, ExpKind kind, bool swallow, uint64_t stmt_id);

/* server_exp_idle: nothing outstanding (no expected reply). */
static inline bool
server_exp_idle(const Server *server)
{
	return server->exp_count == 0;
}

/* server_state_name: for SHOW SERVERS. */
extern const char *server_state_name(const Server *server);

extern void server_init_globals(void);

/* server_reap_zombies: returns closed servers to the slab (the reaper calls it between events). */
extern void server_reap_zombies(void);

#endif
