/*
 * clientlimit.c: owns max_db_client_connections and max_user_client_connections (PgBouncer 1.25's
 * meaning, issue 15): the number of client connections to one database, and of one user, is limited;
 * the client over a limit is refused at login with 53300.
 *
 * Nothing is counted here: the clients are counted on client_all_list when a limit is checked or shown,
 * so no counter can drift from the clients that exist (a RELOAD that changes or removes a line needs no
 * bookkeeping either). A client counts from the moment it has a pool (it authenticated and was
 * admitted) until it is closed; logins in progress are bounded by max_login_clients instead. The walk
 * happens only when a limit is set, once per login.
 */
#include "clientlimit.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "list.h"
#include "metrics.h"

int
clientlimit_db_max(const Config *cfg, const char *dbname, bool admin)
{
	const DatabaseEntry *db = admin ? NULL : config_find_database(cfg, dbname);

	return db && db->max_db_client_connections > 0 ? db->max_db_client_connections : cfg->max_db_client_connections;
}

int
clientlimit_user_max(const Config *cfg, const char *user)
{
	const UserEntry *u = config_find_user(cfg, user);

	return u && u->max_user_client_connections > 0 ? u->max_user_client_connections :
		cfg->max_user_client_connections;
}

int
clientlimit_db_count(const char *dbname, bool admin)
{
	int			n = 0;

	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
	{
		const Client *c = container_of(it, Client, all_node);

		if (c->pool && c->admin == admin && (admin || strcmp(c->dbname, dbname) == 0))
			n++;
	}
	return n;
}

int
clientlimit_user_count(const char *user)
{
	int			n = 0;

	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
	{
		const Client *c = container_of(it, Client, all_node);

		if (c->pool && strcmp(c->user, user) == 0)
			n++;
	}
	return n;
}

/* clientlimit_refuse: closes client, over limit (the key's name) of max held by whose: PgBouncer's message, 53300. */
static bool
clientlimit_refuse(Client *client, const char *limit, int max, const char *whose)
{
	char		message[96];
	char		hint[256];

	snprintf(message, sizeof(message), "client connections exceeded (%s)", limit);
	snprintf(hint, sizeof(hint), "%s allows %d client connections (%s): connect again when one has closed, "
			 "or raise the limit.", whose, max, limit);
	metrics_count_ratelimit(limit);
	client_close(client, "53300", message, hint);
	return false;
}

bool
clientlimit_admit(Client *client)
{
	int			max;
	char		whose[128];

	if (client->pool || (client->admin && client->admin_full))
		return true;
	max = clientlimit_db_max(&cf, client->dbname, client->admin);
	if (max > 0 && clientlimit_db_count(client->dbname, client->admin) >= max)
	{
		snprintf(whose, sizeof(whose), "database \"%s\"", client->dbname);
		return clientlimit_refuse(client, "max_db_client_connections", max, whose);
	}
	max = clientlimit_user_max(&cf, client->user);
	if (max > 0 && clientlimit_user_count(client->user) >= max)
	{
		snprintf(whose, sizeof(whose), "user \"%s\"", client->user);
		return clientlimit_refuse(client, "max_user_client_connections", max, whose);
	}
	return true;
}
