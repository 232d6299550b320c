/*
 * sqlroute.h: read/write classification of SQL text (sqlroute.c) and the function volatility table it
 * consults (RouteVolatility).
 *
 * sqlroute_classify() decides where one simple-protocol query string (one or several statements) or one
 * Parse'd statement may run: ROUTE_READ (a replica may run it), ROUTE_WRITE (the primary must) or
 * ROUTE_SESSION_SET (only SET/RESET of session parameters: session state the pooler tracks). It also
 * reports the transaction-control facts and hints the pool needs (RouteResult.flags). The rules are in
 * docs/routing.md; in one line: a statement is a read only when the classifier can prove it, everything
 * else is a write.
 *
 * The classifier is pure: no allocation, no global state, safe to call from any thread as long as the
 * RouteVolatility it is given is not freed meanwhile.
 */
#ifndef FAREGATE_SQLROUTE_H
#define FAREGATE_SQLROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a query may run. */
typedef enum RouteClass
{
	ROUTE_READ,					/* provably read-only: a replica may run it */
	ROUTE_WRITE,				/* must run on the primary (a write, or not provably a read) */
	ROUTE_SESSION_SET			/* only SET/RESET of session parameters: the pooler tracks them */
} RouteClass;

/* RouteResult.flags: facts about the query, independent of its class. */
#define ROUTE_F_BEGIN			0x0001	/* starts a transaction block (BEGIN, START TRANSACTION) */
#define ROUTE_F_READ_ONLY_TXN	0x0002	/* BEGIN/START TRANSACTION ... READ ONLY, SET TRANSACTION READ ONLY */
#define ROUTE_F_COMMIT			0x0004	/* COMMIT / END (not COMMIT PREPARED) */
#define ROUTE_F_ROLLBACK		0x0008	/* ROLLBACK / ABORT (not ROLLBACK TO SAVEPOINT) */
#define ROUTE_F_HINT_PRIMARY	0x0010	/* leading comment faregate:primary */
#define ROUTE_F_HINT_REPLICA	0x0020	/* leading comment faregate:replica */
#define ROUTE_F_SESSION_SET		0x0040	/* contains a session-level SET or RESET */
#define ROUTE_F_MULTI			0x0080	/* more than one statement */
#define ROUTE_F_EMPTY			0x0100	/* no statement at all (only blanks, comments or ';') */
#define ROUTE_F_UNPARSABLE		0x0200	/* the lexer failed (unterminated quote or comment, bad nesting) */
#define ROUTE_F_LISTEN			0x0400	/* LISTEN / UNLISTEN: session state that only the primary keeps */
#define ROUTE_F_TEMP_OBJECT		0x0800	/* creates a temporary object: later reads of it need the primary */
#define ROUTE_F_SET_TXN			0x1000	/* SET TRANSACTION / SET LOCAL / SET CONSTRAINTS (transaction state) */
#define ROUTE_F_SESSION_STATE	0x2000	/* creates session state the pooler cannot carry: a SET that
										 * RouteContext.set_kept does not keep, SET ROLE / SESSION
										 * AUTHORIZATION, a session advisory lock, a WITH HOLD cursor,
										 * a temporary table (the facts of sqlroute_session_statements) */

/* What sqlroute_classify() found; fill only what you pass. */
typedef struct RouteResult
{
	RouteClass	route_class;
	uint32_t	flags;			/* ROUTE_F_* */
	int			statements;		/* non-empty statements in the text */
	const char *reason;			/* static text: why this class (never NULL) */
	char		object[64];		/* the function, keyword or hint that decided, "" when none */
} RouteResult;

/*
 * RouteVolatility: function name -> volatility ('i' immutable, 's' stable, 'v' volatile), built from
 * pg_proc (health.c loads it) and swapped as a whole: build a new table, hand its pointer to the
 * RouteContext users, free the old one once no classification uses it (on the single-threaded event
 * loop: right away). Keys are (schema, name) and, merged over every schema, ("", name); overloads and
 * schemas merge to the most volatile one seen ('v' > 's' > 'i'). Names are stored as PostgreSQL stores
 * them (case-exact); sqlroute.c lower-cases unquoted identifiers before looking them up.
 * Operators are kept in their own key space (sqlroute_volatility_add_operator): only volatile ones matter.
 */
typedef struct RouteVolatility RouteVolatility;

/* What sqlroute_classify() needs besides the text. */
typedef struct RouteContext
{
	const RouteVolatility *volatility;	/* NULL = empty table: every function call is a write */
	bool		standard_conforming_strings;	/* the client's setting (default on) */
	/*
	 * set_kept: whether the pooler itself carries a session SET of name (value_plain: one constant);
	 * a SET it does not keep is ROUTE_F_SESSION_STATE. NULL = none is kept.
	 */
	bool		(*set_kept) (const char *name, bool value_plain);
} RouteContext;

/*
 * sqlroute_classify: classifies the len bytes at sql (need not be NUL-terminated) under ctx. Fills
 * *result when result is not NULL and returns its route_class.
 */
RouteClass	sqlroute_classify(const char *sql, size_t len, const RouteContext *ctx, RouteResult *result);

/* One LISTEN or UNLISTEN statement found by sqlroute_listen_statements. */
typedef struct RouteListenOp
{
	char		kind;			/* 'L' LISTEN, 'U' UNLISTEN */
	char		channel[64];	/* as the server names it (unquoted: lower-cased); "*" for UNLISTEN * */
} RouteListenOp;

/*
 * sqlroute_listen_statements: the LISTEN/UNLISTEN statements of the len bytes at sql, in order, scanned by
 * sqlscan.c as sqlroute_classify is (comments, quotes, dollar quotes, standard_conforming_strings): up to max
 * into ops. Returns how many were found (may exceed max; only max are stored), -1 when the text cannot
 * be lexed.
 */
int			sqlroute_listen_statements(const char *sql, size_t len, bool standard_conforming_strings,
									RouteListenOp *ops, int max);

/*
 * Session state a statement creates or clears (session.c acts on it; docs/pooler.md "Session state").
 * sqlroute_session_statements finds them with the same lexer as sqlroute_classify.
 */
typedef enum RouteSessionKind
{
	RS_SET,						/* SET [SESSION] name {TO|=} value, set_config(name, value, false) */
	RS_RESET,					/* RESET name */
	RS_RESET_ALL,				/* RESET ALL */
	RS_ROLE,					/* SET [SESSION] ROLE r, SET SESSION AUTHORIZATION u */
	RS_ROLE_RESET,				/* RESET ROLE / SESSION AUTHORIZATION, SET ROLE NONE, ... AUTHORIZATION DEFAULT */
	RS_LOCK,					/* pg_advisory_lock, pg_try_advisory_lock (and _shared): a session lock */
	RS_UNLOCK,					/* pg_advisory_unlock, pg_advisory_unlock_shared */
	RS_UNLOCK_ALL,				/* pg_advisory_unlock_all() */
	RS_HOLD_CURSOR,				/* DECLARE c ... WITH HOLD */
	RS_CLOSE,					/* CLOSE c */
	RS_CLOSE_ALL,				/* CLOSE ALL */
	RS_TEMP,					/* CREATE TEMP ..., SELECT ... INTO TEMP */
	RS_DISCARD_TEMP,			/* DISCARD TEMP */
	RS_DISCARD_ALL				/* DISCARD ALL */
} RouteSessionKind;

typedef struct RouteSessionOp
{
	unsigned char kind;			/* RouteSessionKind */
	bool		value_plain;	/* RS_SET: value is one constant the pooler can replay (else a list or an
								 * expression: it cannot be tracked) */
	bool		to_default;		/* RS_SET: ... TO DEFAULT (a reset) */
	char		name[64];		/* RS_SET, RS_RESET: the parameter as the server names it (lower case
								 * unless quoted); RS_HOLD_CURSOR, RS_CLOSE: the cursor; RS_LOCK ...: the
								 * function */
	char		value[256];		/* RS_SET with value_plain: the value (a string's contents, unquoted) */
} RouteSessionOp;

/*
 * sqlroute_session_statements: the session-state facts of the len bytes at sql, in order, up to max into
 * ops; returns how many were found (may exceed max), -1 when the text cannot be lexed. SET LOCAL, SET
 * TRANSACTION and transaction-level advisory locks are not session state and are not reported.
 */
int			sqlroute_session_statements(const char *sql, size_t len, bool standard_conforming_strings,
									 RouteSessionOp *ops, int max);

/* sqlroute_selftest: checks sqlroute.c's static tables (keyword order); for the unit tests. */
bool		sqlroute_selftest(void);

/* sqlroute_class_name: "read", "write" or "session_set". */
const char *sqlroute_class_name(RouteClass route_class);

/* sqlroute_volatility_create: an empty table; NULL when out of memory. */
RouteVolatility *sqlroute_volatility_create(void) __attribute__((warn_unused_result));

/*
 * sqlroute_volatility_add: records that function schema.name has volatility vol ('i', 's' or 'v'; anything
 * else counts as 'v'). Returns false when out of memory (the table stays usable but incomplete: the
 * caller should drop it).
 */
bool		sqlroute_volatility_add(RouteVolatility *vt, const char *schema, const char *name, char vol)
			__attribute__((warn_unused_result));

/* sqlroute_volatility_add_operator: the same for an operator (name = its symbol, e.g. "+"). */
bool		sqlroute_volatility_add_operator(RouteVolatility *vt, const char *schema, const char *name,
										  char vol) __attribute__((warn_unused_result));

/*
 * sqlroute_volatility_lookup: volatility of function schema.name (schema NULL or "" = the merge over all
 * schemas); 0 when unknown. Lengths are explicit so callers can pass pieces of the query text.
 */
char		sqlroute_volatility_lookup(const RouteVolatility *vt, const char *schema, size_t schema_len,
									const char *name, size_t name_len);

/* sqlroute_volatility_count: functions (distinct schema.name keys) in the table. */
size_t		sqlroute_volatility_count(const RouteVolatility *vt);

/* sqlroute_volatility_free: frees the table (NULL is fine). */
void		sqlroute_volatility_free(RouteVolatility *vt);

#endif
