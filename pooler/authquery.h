/*
 * authquery.h: secrets looked up in PostgreSQL (PgBouncer's auth_user / auth_query / auth_dbname): for a
 * user missing from the auth_file, the pooler runs auth_query with the user name as $1, logged in as
 * auth_user to the auth database, without blocking the event loop (libpq's asynchronous API on the
 * loop's base), and keeps the answer in a cache that every later login of that user refreshes.
 *
 * Which settings a login uses (authquery_resolve): auth_user, auth_query and auth_dbname of the client's
 * [databases] entry, each falling back to the [pooler] value; no auth_user = no lookup. The auth
 * database is auth_dbname's [databases] entry (or the "*" entry), else the client's own database; its
 * host, port and dbname are where the query runs. The admin console uses the global auth_dbname.
 *
 * A "source" is one (server, database, auth_user, auth_query): one libpq connection, kept open between
 * lookups (closed after server_idle_timeout without one), a FIFO of clients waiting, and the cache of the
 * users it answered for. One query is in flight per source; clients asking for the same user while it
 * runs share its answer. A failed connection or query fails every client waiting on the source (they get
 * "bouncer config error" and the log gets the server's message); the next login tries again.
 */
#ifndef FAREGATE_AUTHQUERY_H
#define FAREGATE_AUTHQUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"

typedef struct Client Client;
typedef struct AqSource AqSource;

/* How a lookup ended (authquery_start's callback, login_lookup_done in login.c). */
typedef enum AqOutcome
{
	AQ_FOUND,					/* the user exists: authquery_entry gives its entry (maybe an empty secret) */
	AQ_NOT_FOUND,				/* auth_query returned no row: no such user (or it cannot log in) */
	AQ_ERROR					/* the lookup could not be made: configuration or server error (logged) */
} AqOutcome;

/* What authquery_resolve found for a database name. */
typedef enum AqResolve
{
	AQR_NONE,					/* no auth_user applies: no lookup */
	AQR_SOURCE,					/* *source is the one to ask */
	AQR_CONFIG_ERROR,			/* auth_dbname names no database, or the admin console: why says which */
	AQR_DISABLED				/* the auth database is DISABLEd: no lookup until ENABLE (why says so) */
} AqResolve;

/*
 * authquery_resolve: the source for logins to dbname (a [databases] name or the admin console), created
 * on first use. authfile (may be NULL) gives the auth_user's password when it is there in plain text.
 */
extern AqResolve authquery_resolve(const char *dbname, const AuthFile *authfile, AqSource **source,
								   char *why, size_t whylen);

/*
 * authquery_start: queues client's lookup of client->user on source; login_lookup_done(client, outcome)
 * is called later from the event loop (never from inside this call). The client must not be looked up
 * twice at once; authquery_forget takes it off (a client closed while waiting).
 */
extern void authquery_start(AqSource *source, Client *client);

/* authquery_forget: client no longer waits (closed or done); safe when it never waited. */
extern void authquery_forget(Client *client);

/* authquery_entry: the cached entry of user for logins to dbname, or NULL (not looked up, or gone). */
extern const AuthEntry *authquery_entry(const char *dbname, const AuthFile *authfile, const char *user);

/*
 * authquery_reload: after a RELOAD, closes every idle lookup connection, so that none made with settings
 * the reload changed (auth_user, auth_query, auth_dbname, the auth database's host) stays open to the
 * server; a source still in use by the new settings reconnects at its next lookup. A connection busy with
 * a lookup finishes it first and then idles out as before (server_idle_timeout). Caches are kept: a
 * login in progress may still need the secret its lookup found.
 */
extern void authquery_reload(void);

/* authquery_shutdown: closes every source's connection and frees the caches (at exit; tests). */
extern void authquery_shutdown(void);

#endif
