/*
 * session.h: a transaction-pooled client's session state (docs/pooler.md "Session parameters and
 * session state"). Two jobs, both fed by sqlroute_session_statements (sqlroute.c's lexer) on every Query and
 * Parse the client sends:
 *  - the values of the track_extra_parameters it SETs, RESETs or set_config()s, kept like search_path:
 *    pending until the statement's ReadyForQuery, then part of the transaction, the client's once the
 *    transaction commits (params.h; client_link re-applies them on every server);
 *  - the state the pooler cannot carry to another server connection (session advisory locks, WITH
 *    HOLD cursors, SET ROLE / SESSION AUTHORIZATION, temporary tables, SETs of untracked parameters),
 *    handled per session_state_action: warn (log, count), error (refuse the statement with 0A000) or
 *    pin (the client keeps its server connection until the state is gone).
 *
 * "Gone" (pin): after each transaction of a client that may hold locks, cursors, temporary tables or a
 * changed role, the pooler runs one query of its own on the still-linked server (its reply swallowed)
 * that counts them in pg_locks, pg_cursors and pg_class and compares current_user and session_user with
 * the login user; the server is released only when all are zero. Untracked SETs cannot be counted: they
 * are gone when the client RESETs that name (or RESET ALL, DISCARD ALL) and the statement succeeds.
 */
#ifndef FAREGATE_SESSION_H
#define FAREGATE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prepared.h"

typedef struct Client Client;
typedef struct Server Server;

/* Kinds of session state (SHOW CLIENTS columns and /metrics labels, in this order). */
typedef enum SessionKind
{
	SK_ADVISORY_LOCK,
	SK_HOLD_CURSOR,
	SK_ROLE,
	SK_TEMP_TABLE,
	SK_UNTRACKED_SET,
	SK_COUNT
} SessionKind;

/* One change of a tracked extra parameter awaiting the end of its statement or transaction. */
typedef struct SessionChange
{
	int			id;				/* ParamId (>= PARAM_COUNT) */
	const char *value;			/* interned; NULL = a reset */
	bool		in_txn;			/* its statement succeeded: it waits for the transaction's end */
} SessionChange;

/* A client's session state (changed only through session.c). */
typedef struct ClientSession
{
	uint32_t	detected[SK_COUNT]; /* statements seen creating each kind (SHOW CLIENTS) */
	uint8_t		warned;			/* SK_* bits already logged (warn: one line per kind and client) */
	uint8_t		maybe_held;		/* SK_* bits the linked server may hold (pin: the probe decides) */
	bool		dirty;			/* state noted since the last probe was sent: its answer is stale */
	bool		probe_done;		/* the probe answered: probe_held is what the server holds */
	uint8_t		probe_held;		/* SK_* bits the probe found */
	bool		pinned;			/* keeps its server connection (counted in session_pinned_count) */
	bool		txn_doubt;		/* a failure or ROLLBACK TO after an extra's SET: outcome unknown */
	bool		pending_reset_all;	/* RESET ALL / DISCARD ALL awaiting its ReadyForQuery */
	int			n_changes;
	int			cap_changes;
	SessionChange *changes;		/* malloc'ed while the client has changes in flight */
	int			n_sets;			/* untracked parameters SET and not RESET */
	char	  (*sets)[64];		/* their names (malloc'ed) */
	char		refusal[192];	/* error: the message of the refused statement */
} ClientSession;

/*
 * session_check_request: the client sends sql (len bytes, a Query's or a Parse's text) to its linked
 * server. Notes what it does to session state. False when session_state_action = error refuses it
 * (the message is in client->session.refusal; the caller sends SESSION_REFUSED_SQL in its place, marked
 * EXP_STMT_REFUSED, and server.c answers its error with session_send_refusal).
 */
extern bool session_check_request(Client *client, const char *sql, size_t len);

/*
 * session_check_parse: the same for a named statement's Parse: only the refusal (the statement runs,
 * and is noted, at each Bind: session_note_bind).
 */
extern bool session_check_parse(Client *client, const char *sql, size_t len);

/*
 * session_set_kept: whether the pooler carries a session SET of parameter name itself (ParameterStatus,
 * client_note_set, or a tracked extra parameter set to one constant), so that it is not session state.
 * sqlroute_classify asks it (RouteContext.set_kept) for ROUTE_F_SESSION_STATE: read routing sends a
 * statement that creates state to the write node under session_state_action = pin, so that the
 * client is pinned to a server its later writes can use.
 */
extern bool session_set_kept(const char *name, bool value_plain);

/* session_note_bind: a Bind of the client's named statement stmt: notes what its text does. */
extern void session_note_bind(Client *client, PreparedStmt *stmt);

/* session_stmt_flags: 2 when a statement text creates or clears session state, else 1. */
extern int8_t session_stmt_flags(const char *sql, size_t len);

/* A text that fails at Parse (42601), sent in place of a refused statement; its error is replaced. */
#define SESSION_REFUSED_SQL "faregate refused this statement"

/* session_send_refusal: the client's ErrorResponse (0A000) for the refused statement. */
extern bool session_send_refusal(Client *client);

/*
 * session_ready: a ReadyForQuery of the client's request was forwarded (server->tx_status is its
 * status, error whether the request failed, rolled_back whether a ROLLBACK completed): pending changes
 * join the transaction or are dropped; at 'I' a committed transaction's changes become the client's
 * values and the server's.
 */
extern void session_ready(Client *client, Server *server, bool error, bool rolled_back);

/*
 * session_keep_server: the client's transaction ended ('I', nothing outstanding) in transaction mode.
 * True when the client keeps the server (pin: state held, or the probe was just sent); false when the
 * server may be released.
 */
extern bool session_keep_server(Client *client, Server *server);

/* session_probe_ended: the ReadyForQuery just handled ended the pooler's probe (not a transaction). */
extern bool session_probe_ended(const Client *client, const Server *server);

/* session_probe_row: a DataRow of the probe (server->session_probe). */
extern void session_probe_row(Server *server, const uint8_t *msg, uint32_t total);

/* session_probe_finished: the probe's ReadyForQuery arrived. */
extern void session_probe_finished(Server *server);

/* session_server_reset: server_reset_query ran on server: the extras it had set are the defaults. */
extern void session_server_reset(Server *server);

/*
 * session_startup_options: the "options" startup parameter ("-c name=value --name=value ..."): each
 * setting of a tracked parameter (the seven and track_extra_parameters) becomes the client's value, so
 * that it is applied on every server it gets; anything else is refused (false, err names it: the
 * caller closes the login with 08P01), never dropped.
 */
extern bool session_startup_options(Client *client, const char *options, char *err, size_t errlen);

/*
 * session_startup_param: a startup parameter that is neither tracked nor "options" (PgBouncer's
 * ignore_startup_parameters): true when it may be left out (listed there, or a _pq_. protocol
 * extension); false with err naming it otherwise (the caller closes the login with 08P01), so a setting
 * the client asked for is never silently lost. Inside "options", session_startup_options ignores
 * the listed names, and every unknown name when "options" itself is listed.
 */
extern bool session_startup_param(Client *client, const char *name, char *err, size_t errlen);

/* session_client_free: the client leaves (its pin, changes and names go). */
extern void session_client_free(Client *client);

/* session_kind_name: "advisory_lock", "hold_cursor", "role", "temp_table", "untracked_set". */
extern const char *session_kind_name(SessionKind kind);

/* session_detected_total: statements creating kind seen since start (/metrics). */
extern uint64_t session_detected_total(SessionKind kind);

/* session_pinned_count: clients pinned to their server connection now (/metrics). */
extern int	session_pinned_count(void);

#endif
