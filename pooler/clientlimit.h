/*
 * clientlimit.h: the client connection limits per database and per user (max_db_client_connections,
 * max_user_client_connections; PgBouncer 1.25's meaning, issue 15): how many are allowed, how many are
 * held, and the check at login.
 */
#ifndef FAREGATE_CLIENTLIMIT_H
#define FAREGATE_CLIENTLIMIT_H

#include <stdbool.h>

#include "config.h"

typedef struct Client Client;

/*
 * clientlimit_db_max: the client limit of database dbname as a client names it: its [databases] line's
 * max_db_client_connections when above 0, else the [pooler] one (PgBouncer's rule); 0 = unlimited. The
 * admin console (admin true) has no line: the [pooler] value applies to it.
 */
extern int	clientlimit_db_max(const Config *cfg, const char *dbname, bool admin);

/* clientlimit_user_max: the same for user: its [users] line's max_user_client_connections, else the [pooler] one. */
extern int	clientlimit_user_max(const Config *cfg, const char *user);

/*
 * clientlimit_db_count: logged-in clients (those with a pool) of database dbname, or of the admin
 * console when admin is true (both of its names count as one database, as PgBouncer's "pgbouncer").
 */
extern int	clientlimit_db_count(const char *dbname, bool admin);

/* clientlimit_user_count: logged-in clients of user, on any database and the admin console. */
extern int	clientlimit_user_count(const char *user);

/*
 * clientlimit_admit: called once the client has authenticated, before it gets a pool. False, with the
 * client closed (53300 and PgBouncer's message), when its database or its user already holds as many
 * clients as its limit allows. A full admin (admin_users, or the pgbouncer peer user) on the admin
 * console is never refused (PgBouncer's rule), though it counts for its user.
 */
extern bool clientlimit_admit(Client *client);

#endif
