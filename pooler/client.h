/*
 * client.h: a client connection and its state machine. States and the list that holds each:
 *
 *   CL_LOGIN         login_client_list   startup packet and authentication
 *   CL_WAIT_WELCOME  pool->welcome_clients   authenticated; the pool has not logged into PostgreSQL
 *                                        yet, so the server's ParameterStatus set is unknown
 *   CL_IDLE          pool->idle_clients  between transactions, no server (holds no I/O buffer)
 *   CL_WAITING       node->waiting_clients   has a request, waits for a server (FIFO)
 *   CL_ACTIVE        pool->active_clients    linked to a server: bytes flow both ways
 *
 * A client leaves through client_close() only, which logs "closing because: …" once.
 */
#ifndef FAREGATE_CLIENT_H
#define FAREGATE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "list.h"
#include "notify.h"
#include "params.h"
#include "prepared.h"
#include "ratelimit.h"
#include "routing.h"
#include "session.h"

typedef struct Pool Pool;
typedef struct Client Client;
typedef struct Server Server;

/* Where a client's login stands (login.c runs it; auth.c does the cryptography). */
typedef struct ClientAuth
{
	int			method;			/* AuthMethod being run */
	int			step;			/* messages exchanged so far */
	uint8_t		md5_salt[4];
	const void *entry;			/* the user's auth_file entry (AuthEntry), or NULL */
	void	   *scram;			/* SCRAM server state, malloc'ed during the exchange only */
	int			auth_type;		/* AuthType this login runs (auth_type, or the hba rule's method) */
	void	   *lookup_source;	/* AqSource the client waits on for auth_query (authquery.c), or NULL */
	List		lookup_node;	/* on that source's waiting list (valid only while lookup_source is set) */
} ClientAuth;

typedef enum ClientState
{
	CL_FREE,					/* on the slab free list */
	CL_LOGIN,
	CL_WAIT_WELCOME,
	CL_IDLE,
	CL_WAITING,
	CL_ACTIVE
} ClientState;

struct Client
{
	Conn		conn;			/* first: a Conn * is a Client * for client sockets */
	ClientState state;
	List		list_node;		/* on the list of its state */
	List		all_node;		/* on client_all_list while allocated */
	Pool	   *pool;
	Server	   *server;			/* linked server (CL_ACTIVE) */
	int			wait_node;		/* node it waits for (CL_WAITING) */
	bool		wait_notified;	/* this wait got query_wait_notify's NOTICE */
	bool		admin;			/* connected to the admin console */
	bool		cancel_conn;	/* a CancelRequest connection: its close is logged at debug only */
	bool		admin_full;		/* in admin_users (else stats_users: SHOW only) */
	bool		admin_peer;		/* user pgbouncer over the Unix socket from the pooler's own OS user: no
								 * password asked, full console (PgBouncer's rule) */
	bool		admin_pausing;	/* a console command waits for its condition (admin_janitor answers it) */
	char		admin_wait_tag[16];	/* … which one: PAUSE, WAIT_CLOSE or SUSPEND */
	char		pause_db[64];	/* … of this database (empty: all) */
	bool		stream_fwd;		/* the message being streamed is forwarded (else dropped) */
	bool		in_process;		/* client_process is running (re-entry only marks more work) */
	uint32_t	fwd_remain;		/* bytes of a partly received message still to stream to the server */
	char		user[64];
	char		dbname[64];
	uint32_t	cancel_pid;		/* what this client must send in a CancelRequest */
	uint32_t	cancel_key;
	ParamSet	params;			/* values this client has */
	char	   *pending_search_path;	/* a SET search_path awaiting its ReadyForQuery (malloc'ed) */
	bool		pending_reset;	/* … or a RESET/DISCARD awaiting it */
	bool		pending_sp_untracked;	/* … or one whose value could not be parsed (client.c) */
	char	   *txn_search_path;	/* succeeded inside the open transaction block (NULL = a reset) … */
	bool		txn_sp_set;		/* … valid: kept only if the block commits */
	bool		txn_sp_doubt;	/* a failure or ROLLBACK TO after it: the outcome is not known */
	ClientStmtMap stmts;		/* its named prepared statements */
	bool		pending_dealloc_all;	/* a forwarded DEALLOCATE ALL awaiting its ReadyForQuery */
	bool		skip_to_sync;	/* idle: an extended-protocol request got its error (42P05, rate limit);
								 * drop messages up to its Sync, which gets the ReadyForQuery */
	char		dup_stmt_name[64];	/* the name of a pending EXP_STMT_DUPLICATE Parse */
	ClientAuth	auth;			/* authentication exchange state (CL_LOGIN, login.c) */
	uint64_t	connect_time;	/* µs */
	uint64_t	request_time;	/* µs: last request (waiting since, for CL_WAITING) */
	uint64_t	xact_start;		/* µs: link time of the current transaction */
	uint64_t	query_start;	/* µs: first request after the last ReadyForQuery; 0 = none pending */
	uint64_t	transaction_start;	/* µs: the request that began the current transaction (transaction_timeout) */
	char		tx_status;		/* last ReadyForQuery status the client saw: 'I', 'T', 'E' */
	char		application_name[64];
	ClientRate	rate;			/* rate-limit delay state (ratelimit.c) */
	ClientNotify notify;		/* LISTEN channels and held notifications (notify.c) */
	ClientRouting routing;		/* read routing, retry and read-your-writes state (routing.c) */
	ClientSession session;		/* extra parameters and session state (session.c) */
};

/* Every allocated client (SHOW CLIENTS, cancel lookup). */
extern List client_all_list;
extern List login_client_list;
extern int	client_count;		/* allocated clients (max_client_conn) */

/*
 * client_accept: takes a freshly accepted non-blocking socket; false if it could not (fd closed). With
 * max_login_clients logins already in progress, the oldest of them is closed (53300) to make room.
 * max_client_conn is checked once the client has authenticated (53300 then).
 */
extern bool client_accept(int fd, const struct sockaddr *addr, bool unix_socket);

/*
 * client_close: the one way a client leaves. With sqlstate set, first sends an ErrorResponse with
 * severity FATAL (message = reason, plus hint). Logs "closing because: reason". A linked server goes
 * back to its pool when it is clean, else it is closed.
 */
extern void client_close(Client *client, const char *sqlstate, const char *reason, const char *hint);

/*
 * client_send_error: the one function that sends the pooler's own errors: an ErrorResponse with
 * SQLSTATE, message and hint (severity ERROR; use client_close for FATAL), then ReadyForQuery when
 * ready is set. Returns false when the client had to be closed.
 */
/* client_send_duplicate: ErrorResponse 42P05 for a Parse of a name the client already has. */
extern bool client_send_duplicate(Client *client, const char *name);

extern bool client_send_error(Client *client, const char *sqlstate, const char *message, const char *hint,
							  bool ready);

/* client_link: gives client the server (the pool decided); forwards what the client has pending. */
extern void client_link(Client *client, Server *server);

/* client_login_done: authentication succeeded: AuthenticationOk, then the welcome (now or when known). */
extern void client_login_done(Client *client);

/*
 * client_attach_pool: the client has authenticated: its pool, looked up or created now (never before, so
 * an unauthenticated login allocates no pool). False when the client had to be closed (its database was
 * removed by a RELOAD during the login, or no memory).
 */
__attribute__((warn_unused_result))
extern bool client_attach_pool(Client *client);

/* client_welcome: finishes the login of a client now that its pool knows the server parameters. */
extern void client_welcome(Client *client);

/* client_resume: the server's output drained or the server was released: process pending requests. */
extern void client_resume(Client *client);

/* client_set_state: moves client to the list of state. */
extern void client_set_state(Client *client, ClientState state);

/* client_state_name: for SHOW CLIENTS ("active", "waiting", "idle", "login"). */
extern const char *client_state_name(const Client *client);

/* client_send_bytes: appends pooler-built messages to the client's output; false on no memory. */
__attribute__((warn_unused_result))
extern bool client_send_bytes(Client *client, const void *data, size_t len);

/* client_flush: sends pending output; closes the client on a send error (returns false). */
extern bool client_flush(Client *client);

/* client_find_by_cancel: the client whose cancel key this is, or NULL. */
extern Client *client_find_by_cancel(uint32_t pid, uint32_t key);

/* client_init_globals: slabs and lists (once, at start). */
extern void client_init_globals(void);

/* client_reap_zombies: returns closed clients to the slab (the reaper calls it between events). */
extern void client_reap_zombies(void);

#endif
