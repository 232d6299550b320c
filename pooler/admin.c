/*
 * admin.c: owns the virtual admin database (`faregate`, alias `pgbouncer`): reading a console command,
 * PgBouncer 1.25's control commands (RELOAD, PAUSE, RESUME, SUSPEND, KILL, KILL_CLIENT, RECONNECT,
 * WAIT_CLOSE, DISABLE, ENABLE, SET, SHUTDOWN [WAIT_FOR_CLIENTS | WAIT_FOR_SERVERS]), the console's
 * state (pause mode, paused and disabled databases, the shutdown in progress), and the process-wide
 * reload and shutdown sequences that main.c's signals share with those commands. The SHOW commands
 * are admin_show.c's. Only the simple query protocol. stats_users may run SHOW; the rest needs
 * admin_users.
 *
 * A command that waits (PAUSE until servers are released, WAIT_CLOSE, SUSPEND until buffers are
 * flushed) marks its client admin_pausing; admin_janitor answers it once the condition holds.
 */
#include "admin.h"
#include "admin_show.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "conn.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "login.h"
#include "params.h"
#include "pool.h"
#include "tls.h"
#include "proto.h"
#include "server.h"

#define ADMIN_MAX_NAMED 64

/* a set of database names (paused, disabled); small: the operator names them one by one */
typedef struct NameSet
{
	int			n;
	char		names[ADMIN_MAX_NAMED][CF_NAME_MAX];
} NameSet;

static AdminPauseMode pause_mode;
static ShutdownMode shutdown_mode;
static uint64_t shutdown_deadline;	/* WAIT_FOR_SERVERS: shutdown_timeout */
static uint64_t shutdown_started;	/* WAIT_FOR_SERVERS: when it was asked for */

/*
 * Waiting clients are closed at the first janitor tick this long after WAIT_FOR_SERVERS, not in the
 * command's own turn: PgBouncer closes them in its maintenance loop, a moment later, and clients (and
 * its test suite) see the command answered before the waiting ones go.
 */
#define SHUTDOWN_WAITING_CLOSE_USEC 100000
static NameSet paused_dbs;
static NameSet disabled_dbs;

static bool
nameset_has(const NameSet *set, const char *name)
{
	for (int i = 0; i < set->n; i++)
		if (strcmp(set->names[i], name) == 0)
			return true;
	return false;
}

static bool
nameset_add(NameSet *set, const char *name)
{
	if (nameset_has(set, name))
		return true;
	if (set->n == ADMIN_MAX_NAMED)
		return false;
	snprintf(set->names[set->n++], CF_NAME_MAX, "%s", name);
	return true;
}

static void
nameset_del(NameSet *set, const char *name)
{
	for (int i = 0; i < set->n; i++)
		if (strcmp(set->names[i], name) == 0)
		{
			set->n--;
			memmove(set->names[i], set->names[set->n], CF_NAME_MAX);
			return;
		}
}

AdminPauseMode
admin_pause_mode(void)
{
	return pause_mode;
}

ShutdownMode
admin_shutdown_mode(void)
{
	return shutdown_mode;
}

bool
admin_db_paused(const char *name)
{
	return pause_mode != ADMIN_RUNNING || shutdown_mode == SHUTDOWN_WAIT_FOR_SERVERS ||
		nameset_has(&paused_dbs, name);
}

bool
admin_db_disabled(const char *name)
{
	return nameset_has(&disabled_dbs, name);
}

/* server_tls_differs: whether a and b differ in a server_tls_* setting (sslmode, files, protocols, ciphers). */
static bool
server_tls_differs(const Config *a, const Config *b)
{
	for (const ConfigKey *key = config_keys; key->name; key++)
	{
		char		va[CF_STR_MAX];
		char		vb[CF_STR_MAX];

		if (strncmp(key->name, "server_tls_", 11) != 0)
			continue;
		config_value_string(a, key, va, sizeof(va));
		config_value_string(b, key, vb, sizeof(vb));
		if (strcmp(va, vb) != 0)
			return true;
	}
	return false;
}

/*
 * mark_servers: every server of database db ("" = all) closes when released (idle ones when next
 * picked, or at the janitor's tick): RECONNECT, and a change of the server TLS settings.
 */
static void
mark_servers(const char *db)
{
	for (List *it = server_all_list.next; it != &server_all_list; it = it->next)
	{
		Server	   *s = container_of(it, Server, all_node);

		if (s->pool && !s->pool->admin && (!db[0] || strcmp(s->pool->db.name, db) == 0))
			s->close_needed = true;
	}
}

/*
 * reconnect_for_tls: the server TLS settings changed: every server connection made with the old ones is
 * replaced, as PgBouncer 1.25 does, so that none keeps a mode or protocol the configuration no longer allows.
 */
static void
reconnect_for_tls(const char *how)
{
	mark_servers("");
	log_info("%s: server TLS settings changed; every server connection is replaced", how);
}

bool
admin_reload(char *err, size_t errlen)
{
	Config		fresh;
	Config		old = cf;

	if (!config_load(cf.path, &fresh, err, errlen))
		return false;
	/* settings that need a restart keep their running values */
	for (const ConfigKey *key = config_keys; key->name; key++)
	{
		char		a[CF_STR_MAX];
		char		b[CF_STR_MAX];

		config_value_string(&old, key, a, sizeof(a));
		config_value_string(&fresh, key, b, sizeof(b));
		if (!key->reloadable && strcmp(a, b) != 0)
			log_warning("RELOAD: %s changed from \"%s\" to \"%s\" but needs a restart; keeping \"%s\"",
						key->name, a, b, a);
	}
	memcpy(fresh.listen_addr, old.listen_addr, sizeof(fresh.listen_addr));
	fresh.listen_port = old.listen_port;
	memcpy(fresh.unix_socket_dir, old.unix_socket_dir, sizeof(fresh.unix_socket_dir));
	memcpy(fresh.pidfile, old.pidfile, sizeof(fresh.pidfile));
	cf = fresh;
	if (!tls_init(err, errlen))
	{
		/* the running TLS contexts stay, and so does the running configuration */
		config_free(&cf);
		cf = old;
		return false;
	}
	if (!login_reload(err, errlen))
	{
		char		tls_err[256];

		config_free(&cf);
		cf = old;
		if (!tls_init(tls_err, sizeof(tls_err)))	/* back to the old contexts (they loaded before) */
			log_warning("RELOAD: cannot rebuild the previous TLS contexts: %s", tls_err);
		return false;
	}
	if (server_tls_differs(&old, &cf))
		reconnect_for_tls("RELOAD");
	config_free(&old);
	if (!params_track_extras(cf.track_extra_parameters, true, err, errlen))	/* checked by config_load */
		log_warning("RELOAD: %s", err);
	if (!log_open(cf.logfile))
		log_warning("RELOAD: cannot open logfile %s; logging to stderr", cf.logfile);
	log_verbose = cf.verbose;
	pool_reload(&cf);
	listener_warn_trust();
	log_info("configuration reloaded from %s", cf.path);
	return true;
}


void
admin_close_for_shutdown(Client *client)
{
	client_close(client, "57P01", "server shutting down: the pooler stops once the running transactions end "
				 "(SHUTDOWN WAIT_FOR_SERVERS)", "Reconnect to another pooler or later.");
}

/*
 * close_waiting_for_shutdown: WAIT_FOR_SERVERS, at each janitor tick: the clients waiting for a server
 * (or for the pool's first login) get no server any more and are closed. Idle clients stay until their
 * next request, which is refused (client.c), or until the process exits, as in PgBouncer.
 */
static void
close_waiting_for_shutdown(void)
{
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);
		List	   *ct;
		List	   *tmp;

		if (pool->admin)
			continue;			/* the console stays until the process exits */
		list_for_each_safe(ct, tmp, &pool->welcome_clients)
			admin_close_for_shutdown(container_of(ct, Client, list_node));
		for (int i = 0; i < pool->n_nodes; i++)
			list_for_each_safe(ct, tmp, &pool->nodes[i].waiting_clients)
				admin_close_for_shutdown(container_of(ct, Client, list_node));
	}
}

/* start_wait_for_servers: no new transactions; idle servers go; waiting clients go at a later tick. */
static void
start_wait_for_servers(void)
{
	pool_shutting_down = true;
	shutdown_started = conn_now_usec();
	shutdown_deadline = shutdown_started + (uint64_t) cf.shutdown_timeout_ms * 1000;
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);
		List	   *ct;
		List	   *tmp;

		if (pool->admin)
			continue;
		for (int i = 0; i < pool->n_nodes; i++)
			list_for_each_safe(ct, tmp, &pool->nodes[i].idle_servers)
				server_close(container_of(ct, Server, list_node), "shutting down");
	}
}

void
admin_shutdown(ShutdownMode mode)
{
	if (mode == SHUTDOWN_IMMEDIATE)
	{
		log_info("shutting down now");
		shutdown_mode = SHUTDOWN_IMMEDIATE;
		event_base_loopbreak(conn_base);
		return;
	}
	if (mode <= shutdown_mode)
		return;
	if (shutdown_mode == SHUTDOWN_NONE)
		listener_stop_tcp();
	shutdown_mode = mode;
	if (mode == SHUTDOWN_WAIT_FOR_CLIENTS)
		log_info("shutting down once every client has disconnected (WAIT_FOR_CLIENTS); new clients "
				 "go to another process on this port");
	else
	{
		log_info("shutting down gracefully (WAIT_FOR_SERVERS): no new transactions; waiting up to %ld ms "
				 "for running ones", cf.shutdown_timeout_ms);
		start_wait_for_servers();
	}
	admin_janitor();
}

bool
admin_pause_all(char *why, size_t whylen)
{
	if (pause_mode != ADMIN_RUNNING)
		return snprintf(why, whylen, "already suspended/paused"), false;
	pause_mode = ADMIN_PAUSED;
	pool_set_paused(NULL, true);
	log_info("PAUSE: no new transactions start until RESUME");
	return true;
}

/* unpause_pools: every pool whose database is no longer paused serves its waiting clients again. */
static void
unpause_pools(void)
{
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);

		if (!pool->admin && pool->paused && !admin_db_paused(pool->db.name))
			pool_set_paused(pool->db.name, false);
	}
}

/* suspend_sockets: SUSPEND stops reading every client and server socket (on false: reading again). */
static void
suspend_sockets(bool on)
{
	listener_suspend(on);
	for (List *it = server_all_list.next; it != &server_all_list; it = it->next)
	{
		Server	   *s = container_of(it, Server, all_node);

		if (s->conn.fd >= 0)
			conn_set_read(&s->conn, !on);
	}
	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
	{
		Client	   *c = container_of(it, Client, all_node);

		if (c->admin || c->conn.fd < 0)
			continue;
		conn_set_read(&c->conn, !on);
	}
	if (on)
		return;
	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
	{
		Client	   *c = container_of(it, Client, all_node);

		if (!c->admin && (c->state == CL_IDLE || c->state == CL_ACTIVE))
			client_resume(c);	/* what arrived before SUSPEND and was not handled yet */
	}
}

bool
admin_resume_all(char *why, size_t whylen)
{
	AdminPauseMode was = pause_mode;

	if (shutdown_mode != SHUTDOWN_NONE)
		return snprintf(why, whylen, "pooler is shutting down"), false;
	if (pause_mode == ADMIN_RUNNING)
		return snprintf(why, whylen, "pooler is not paused/suspended"), false;
	pause_mode = ADMIN_RUNNING;
	if (was == ADMIN_SUSPENDED)
		suspend_sockets(false);
	unpause_pools();
	log_info("RESUME: transactions start again");
	return true;
}

/* buffers_flushed: no client or server socket has output waiting (SUSPEND's answer). */
static bool
buffers_flushed(void)
{
	for (List *it = server_all_list.next; it != &server_all_list; it = it->next)
		if (conn_has_output(&container_of(it, Server, all_node)->conn))
			return false;
	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
	{
		Client	   *c = container_of(it, Client, all_node);

		if (!c->admin && conn_has_output(&c->conn))
			return false;
	}
	return true;
}

/* servers_closing: servers of database db (NULL = all) that RECONNECT or RELOAD marked to close. */
static int
servers_closing(const char *db)
{
	int			n = 0;

	for (List *it = server_all_list.next; it != &server_all_list; it = it->next)
	{
		Server	   *s = container_of(it, Server, all_node);

		if (s->pool && s->close_needed && (!db || strcmp(s->pool->db.name, db) == 0))
			n++;
	}
	return n;
}

/* wait_done: the condition the admin client's pending command waits for holds. */
static bool
wait_done(const Client *c)
{
	const char *db = c->pause_db[0] ? c->pause_db : NULL;

	if (strcmp(c->admin_wait_tag, "SUSPEND") == 0)
		return buffers_flushed();
	if (strcmp(c->admin_wait_tag, "WAIT_CLOSE") == 0)
		return servers_closing(db) == 0;
	return pool_active_servers(db) == 0;
}

/* non_admin_clients: clients of real databases (WAIT_FOR_CLIENTS waits for them to leave). */
static int
non_admin_clients(void)
{
	int			n = 0;

	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
		if (!container_of(it, Client, all_node)->admin)
			n++;
	return n;
}

static void
check_shutdown_done(void)
{
	if (shutdown_mode == SHUTDOWN_WAIT_FOR_CLIENTS && non_admin_clients() == 0)
	{
		log_info("every client has disconnected: exiting");
		event_base_loopbreak(conn_base);
	}
	else if (shutdown_mode == SHUTDOWN_WAIT_FOR_SERVERS)
	{
		bool		busy = pool_active_servers(NULL) > 0;

		if (!busy || conn_now_usec() >= shutdown_deadline)
		{
			log_info(busy ? "shutdown_timeout reached with transactions still running: exiting" :
					 "no server linked to a client: exiting");
			event_base_loopbreak(conn_base);
		}
	}
}

void
admin_janitor(void)
{
	for (List *it = pool_list.next; it != &pool_list; it = it->next)
	{
		Pool	   *pool = container_of(it, Pool, pool_node);
		List	   *ct;
		List	   *tmp;

		if (!pool->admin)
			continue;
		list_for_each_safe(ct, tmp, &pool->idle_clients)
		{
			Client	   *c = container_of(ct, Client, list_node);

			if (c->admin_pausing && wait_done(c))
			{
				c->admin_pausing = false;
				if (admin_command_done(c, c->admin_wait_tag) && client_flush(c))
				{
					conn_set_read(&c->conn, true);
					client_resume(c);
				}
			}
		}
	}
	if (shutdown_mode == SHUTDOWN_WAIT_FOR_SERVERS && conn_now_usec() - shutdown_started >= SHUTDOWN_WAITING_CLOSE_USEC)
		close_waiting_for_shutdown();
	check_shutdown_done();
}

/* next_word: the next identifier-like word of a command (copied, truncated to len - 1 bytes, into buf). */
static const char *
next_word(const char *p, char *buf, size_t len)
{
	size_t		n = 0;

	while (isspace((unsigned char) *p))
		p++;
	while (*p && !isspace((unsigned char) *p) && *p != ';')
	{
		if (n + 1 < len)
			buf[n++] = *p;
		p++;
	}
	buf[n] = '\0';
	return p;
}

void
admin_parse(const char *query, AdminWords *words)
{
	const char *p = next_word(query, words->cmd, sizeof(words->cmd));

	p = next_word(p, words->arg, sizeof(words->arg));
	next_word(p, words->extra, sizeof(words->extra));
}

bool
admin_parse_set(const char *query, char *key, size_t keylen, char *value, size_t valuelen)
{
	const char *p = query;
	size_t		n = 0;
	char		quote = 0;

	while (isspace((unsigned char) *p))
		p++;
	if (strncasecmp(p, "set", 3) != 0 || !isspace((unsigned char) p[3]))
		return false;
	for (p += 3; isspace((unsigned char) *p); p++)
		;
	while (isalnum((unsigned char) *p) || *p == '_')
	{
		if (n + 1 >= keylen)
			return false;
		key[n++] = (char) tolower((unsigned char) *p++);
	}
	key[n] = '\0';
	while (isspace((unsigned char) *p))
		p++;
	if (n == 0 || (*p != '=' && strncasecmp(p, "to", 2) != 0))
		return false;
	p += *p == '=' ? 1 : 2;
	while (isspace((unsigned char) *p))
		p++;
	if (*p == '\'' || *p == '"')
		quote = *p++;
	for (n = 0; *p && (quote ? *p != quote : *p != ';'); p++)
	{
		if (n + 1 >= valuelen)
			return false;
		value[n++] = *p;
	}
	if (quote && *p++ != quote)
		return false;			/* no closing quote */
	while (!quote && n > 0 && isspace((unsigned char) value[n - 1]))
		n--;
	value[n] = '\0';
	while (isspace((unsigned char) *p) || *p == ';')
		p++;
	return *p == '\0';
}

static bool
admin_error(Client *client, const char *sqlstate, const char *message, const char *hint)
{
	return client_send_error(client, sqlstate, message, hint, true);
}

/* admin_state_error: a command the console's state does not allow (PgBouncer answers 08P01 too). */
static bool
admin_state_error(Client *client, const char *message)
{
	return admin_error(client, "08P01", message, NULL);
}

/* known_db: db is a [databases] entry (or served by the "*" entry); else answers the error. */
static bool
known_db(Client *client, const char *db, bool *answered)
{
	char		msg[128];

	*answered = false;
	if (strcmp(db, "pgbouncer") == 0 || strcmp(db, "faregate") == 0)
	{
		snprintf(msg, sizeof(msg), "cannot use this command on the admin database %s", db);
		*answered = admin_error(client, "08P01", msg, NULL) || true;
		return false;
	}
	if (config_find_database(&cf, db))
		return true;
	snprintf(msg, sizeof(msg), "no such database: %s", db);
	/* 08P01 as every admin console error of PgBouncer's, which scripts may test for */
	*answered = admin_error(client, "08P01", msg, "SHOW DATABASES lists the databases.") || true;
	return false;
}

/* wait_for: the command's answer waits for admin_janitor (tag = what it answers with). */
static bool
wait_for(Client *client, const char *tag, const char *db)
{
	snprintf(client->admin_wait_tag, sizeof(client->admin_wait_tag), "%s", tag);
	snprintf(client->pause_db, sizeof(client->pause_db), "%s", db);
	if (wait_done(client))
		return admin_command_done(client, tag);
	client->admin_pausing = true;
	return true;
}

static bool
cmd_pause(Client *client, const char *db)
{
	char		why[128];
	bool		answered;

	if (pause_mode != ADMIN_RUNNING)
		return admin_state_error(client, "already suspended/paused");
	if (!db[0])
	{
		if (!admin_pause_all(why, sizeof(why)))
			return admin_state_error(client, why);
		return wait_for(client, "PAUSE", "");
	}
	if (!known_db(client, db, &answered))
		return answered;
	if (!nameset_add(&paused_dbs, db))
		return admin_error(client, "54000", "too many paused databases", "RESUME some first.");
	pool_set_paused(db, true);
	log_info("PAUSE %s", db);
	return wait_for(client, "PAUSE", db);
}

static bool
cmd_resume(Client *client, const char *db)
{
	char		why[128];

	if (!db[0])
	{
		if (!admin_resume_all(why, sizeof(why)))
			return admin_state_error(client, why);
		return admin_command_done(client, "RESUME");
	}
	if (!nameset_has(&paused_dbs, db))
	{
		snprintf(why, sizeof(why), "database %s is not paused", db);
		return admin_state_error(client, why);
	}
	nameset_del(&paused_dbs, db);
	unpause_pools();
	log_info("RESUME %s", db);
	return admin_command_done(client, "RESUME");
}

static bool
cmd_suspend(Client *client, const char *arg)
{
	if (arg[0])
		return admin_error(client, "42601", "SUSPEND takes no argument", NULL);
	if (pause_mode != ADMIN_RUNNING)
		return admin_state_error(client, "already suspended/paused");
	if (paused_dbs.n > 0)
		return admin_state_error(client, "cannot suspend with paused databases");
	pause_mode = ADMIN_SUSPENDED;
	pool_set_paused(NULL, true);
	suspend_sockets(true);
	log_info("SUSPEND: not reading any socket until RESUME");
	return wait_for(client, "SUSPEND", "");
}

/* cmd_kill: KILL [db]: closes every client and server of db (all), which stays paused until RESUME. */
static bool
cmd_kill(Client *client, const char *db)
{
	bool		answered;

	if (pause_mode != ADMIN_RUNNING)
		return admin_state_error(client, "already suspended/paused");
	if (db[0] && !known_db(client, db, &answered))
		return answered;
	for (int i = 0; i < cf.n_databases; i++)
		if (!db[0] || strcmp(cf.databases[i].name, db) == 0)
			(void) nameset_add(&paused_dbs, cf.databases[i].name);
	if (db[0])
		(void) nameset_add(&paused_dbs, db);	/* a name served by the "*" entry */
	log_info("KILL %s: closing its connections; it stays paused until RESUME", db[0] ? db : "(all)");
	pool_set_paused(db[0] ? db : NULL, true);
	pool_kill(db[0] ? db : NULL);
	return admin_command_done(client, "KILL");
}

static bool
cmd_kill_client(Client *client, const char *arg)
{
	unsigned long long id;
	char	   *end;

	errno = 0;
	id = strtoull(arg, &end, 10);
	if (!arg[0] || *end || errno)
		return admin_error(client, "08P01", "invalid client pointer supplied: KILL_CLIENT takes a client id",
						   "Write KILL_CLIENT id, with the id column of SHOW CLIENTS.");
	for (List *it = client_all_list.next; it != &client_all_list; it = it->next)
	{
		Client	   *c = container_of(it, Client, all_node);

		if (c->conn.id == id && c != client && c->state != CL_FREE)
		{
			client_close(c, "57P01", "connection killed by the pooler's KILL_CLIENT command", "Reconnect.");
			return admin_command_done(client, "KILL_CLIENT");
		}
	}
	return admin_error(client, "08P01", "client not found", "SHOW CLIENTS lists the clients and their id.");
}

/* cmd_reconnect: RECONNECT [db]: every server of db (all) closes when released; new ones replace them. */
static bool
cmd_reconnect(Client *client, const char *db)
{
	bool		answered;

	if (db[0] && !known_db(client, db, &answered))
		return answered;
	mark_servers(db);
	log_info("RECONNECT %s: servers close when released (idle ones at the next janitor tick)",
			 db[0] ? db : "(all)");
	return admin_command_done(client, "RECONNECT");
}

static bool
cmd_wait_close(Client *client, const char *db)
{
	bool		answered;

	if (db[0] && !known_db(client, db, &answered))
		return answered;
	return wait_for(client, "WAIT_CLOSE", db);
}

static bool
cmd_disable(Client *client, const char *db, bool disable)
{
	bool		answered;

	if (!db[0])
		return admin_error(client, "42601", "a database is required", disable ? "Write DISABLE db." :
						   "Write ENABLE db.");
	if (!known_db(client, db, &answered))
		return answered;
	if (disable && !nameset_add(&disabled_dbs, db))
		return admin_error(client, "54000", "too many disabled databases", "ENABLE some first.");
	if (!disable)
		nameset_del(&disabled_dbs, db);
	log_info("%s %s", disable ? "DISABLE" : "ENABLE", db);
	return admin_command_done(client, disable ? "DISABLE" : "ENABLE");
}

static bool
cmd_set(Client *client, const char *query)
{
	char		key[CF_NAME_MAX];
	char		value[CF_STR_MAX];
	char		why[CF_ERR_MAX];
	Config		before;

	if (!admin_parse_set(query, key, sizeof(key), value, sizeof(value)))
		return admin_error(client, "42601", "malformed SET", "Write SET key = value (quote a value with spaces).");
	before = cf;				/* a shallow copy: only its inline settings are compared below */
	if (!config_set(&cf, key, value, why, sizeof(why)))
		return admin_error(client, "F0000", why, "SHOW CONFIG lists the settings; changeable = yes ones can be SET.");
	/* what RELOAD does after reading these settings */
	log_verbose = cf.verbose;
	if (strstr(key, "tls_") && !tls_init(why, sizeof(why)))
		log_warning("SET %s: %s; keeping the previous TLS contexts", key, why);
	else if (server_tls_differs(&before, &cf))
		reconnect_for_tls("SET");
	if ((strcmp(key, "auth_file") == 0 || strcmp(key, "auth_type") == 0) && !login_reload(why, sizeof(why)))
		log_warning("SET %s: %s", key, why);
	if (strcmp(key, "logfile") == 0 && !log_open(cf.logfile))
		log_warning("SET logfile: cannot open %s; logging to stderr", cf.logfile);
	pool_reload(&cf);
	log_info("SET %s = %s", key, value);
	return admin_command_done(client, "SET");
}

static bool
cmd_shutdown(Client *client, const char *arg)
{
	ShutdownMode mode = SHUTDOWN_IMMEDIATE;

	if (strcasecmp(arg, "WAIT_FOR_CLIENTS") == 0)
		mode = SHUTDOWN_WAIT_FOR_CLIENTS;
	else if (strcasecmp(arg, "WAIT_FOR_SERVERS") == 0)
		mode = SHUTDOWN_WAIT_FOR_SERVERS;
	else if (arg[0])
		return admin_error(client, "42601", "unknown SHUTDOWN mode",
						   "Write SHUTDOWN, SHUTDOWN WAIT_FOR_CLIENTS or SHUTDOWN WAIT_FOR_SERVERS.");
	if (!admin_command_done(client, "SHUTDOWN"))
		return false;
	(void) client_flush(client);
	admin_shutdown(mode);
	return true;
}

static bool
cmd_reload(Client *client)
{
	char		err[CF_ERR_MAX];

	if (!admin_reload(err, sizeof(err)))
	{
		log_error("RELOAD failed: %s", err);
		return admin_error(client, "F0000", "RELOAD failed, see logs for additional details", err);
	}
	return admin_command_done(client, "RELOAD");
}

/* admin_query: one console command. */
static bool
admin_query(Client *client, const char *query)
{
	AdminWords	words;
	const char *cmd = words.cmd;
	const char *arg = words.arg;
	bool		known;

	admin_parse(query, &words);
	if (cmd[0] == '\0')
		return admin_command_done(client, "EMPTY");
	if (strcasecmp(cmd, "SHOW") == 0)
	{
		bool		ok = admin_show(client, arg, &known);
		char		hint[600];

		if (known)
			return ok;
		snprintf(hint, sizeof(hint), "SHOW commands: %s.", admin_show_names());
		return admin_error(client, "42601", "unknown SHOW command", hint);
	}
	if (!client->admin_full)
		return admin_error(client, "42501", "admin access needed: only admin_users may run this command",
						   "stats_users may run SHOW commands only.");
	if (strcasecmp(cmd, "RELOAD") == 0)
		return cmd_reload(client);
	if (strcasecmp(cmd, "PAUSE") == 0)
		return cmd_pause(client, arg);
	if (strcasecmp(cmd, "RESUME") == 0)
		return cmd_resume(client, arg);
	if (strcasecmp(cmd, "SUSPEND") == 0)
		return cmd_suspend(client, arg);
	if (strcasecmp(cmd, "KILL") == 0)
		return cmd_kill(client, arg);
	if (strcasecmp(cmd, "KILL_CLIENT") == 0)
		return cmd_kill_client(client, arg);
	if (strcasecmp(cmd, "RECONNECT") == 0)
		return cmd_reconnect(client, arg);
	if (strcasecmp(cmd, "WAIT_CLOSE") == 0)
		return cmd_wait_close(client, arg);
	if (strcasecmp(cmd, "DISABLE") == 0 || strcasecmp(cmd, "ENABLE") == 0)
		return cmd_disable(client, arg, strcasecmp(cmd, "DISABLE") == 0);
	if (strcasecmp(cmd, "SET") == 0)
		return cmd_set(client, query);
	if (strcasecmp(cmd, "SHUTDOWN") == 0)
		return cmd_shutdown(client, arg);
	return admin_error(client, "42601", "unknown admin command",
					   "SHOW HELP lists the commands (SHOW ..., RELOAD, PAUSE, RESUME, SUSPEND, KILL, "
					   "KILL_CLIENT, RECONNECT, WAIT_CLOSE, DISABLE, ENABLE, SET, SHUTDOWN).");
}

bool
admin_handle(Client *client, char type, const uint8_t *msg, uint32_t total)
{
	const char *query;
	bool		ok;

	if (client->admin_pausing)
		return false;			/* hold further commands until the waiting one is answered */
	if (type != 'Q' || !proto_read_query(msg, total, &query))
	{
		client_close(client, "08P01", "the admin console supports only simple queries",
					 "Use psql or a driver in simple-query mode against the admin console.");
		return false;
	}
	if (client->pool)
	{
		/* as PgBouncer: each console command is one transaction and one query of database pgbouncer */
		client->pool->stats.total.xact_count++;
		client->pool->stats.total.query_count++;
	}
	ok = admin_query(client, query);
	if (!ok)
	{
		client_close(client, "53200", "out of memory for the admin console's answer", NULL);
		return false;
	}
	return client->state != CL_FREE;
}
