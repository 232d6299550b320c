/*
 * admin.h: the admin console (virtual database faregate, alias pgbouncer) and the process-wide reload
 * and shutdown sequences shared by console commands and signals.
 */
#ifndef FAREGATE_ADMIN_H
#define FAREGATE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Client Client;

/*
 * admin_handle: one whole message from an admin console client. Returns false when the message was not
 * consumed (the client was closed, or a PAUSE is still pending and the message must wait).
 */
extern bool admin_handle(Client *client, char type, const uint8_t *msg, uint32_t total);

/*
 * admin_parse: splits a console command into its first three words (a word ends at white space, ';' or
 * the end; longer words are truncated). Pure: the admin console's parser, fuzzed by test/fuzz/fuzz_admin.c.
 */
typedef struct AdminWords
{
	char		cmd[64];
	char		arg[64];
	char		extra[64];
} AdminWords;
extern void admin_parse(const char *query, AdminWords *words);

/*
 * admin_parse_set: reads "SET key = value" (or key=value, key TO value; value optionally in single or
 * double quotes). Pure, like admin_parse. False when the text is not such a command or too long.
 */
extern bool admin_parse_set(const char *query, char *key, size_t keylen, char *value, size_t valuelen);

/* admin_reload: re-reads the configuration file (RELOAD, SIGHUP); false with err, changing nothing. */
__attribute__((warn_unused_result))
extern bool admin_reload(char *err, size_t errlen);

/* How the process stops (SHUTDOWN [WAIT_FOR_CLIENTS | WAIT_FOR_SERVERS], the signals of main.c). */
typedef enum ShutdownMode
{
	SHUTDOWN_NONE,				/* running */
	SHUTDOWN_WAIT_FOR_CLIENTS,	/* TCP listeners closed; exits once every client has left */
	SHUTDOWN_WAIT_FOR_SERVERS,	/* also paused (pool_shutting_down): exits once no server is linked */
	SHUTDOWN_IMMEDIATE			/* leaves the event loop now */
} ShutdownMode;

/*
 * admin_shutdown: starts a shutdown (a mode more drastic than the one in progress replaces it).
 * WAIT_FOR_CLIENTS keeps serving the clients already connected, so that another process on the same
 * port (so_reuseport) takes the new ones; WAIT_FOR_SERVERS refuses new transactions (a client's next
 * request closes it; waiting clients are closed), lets running transactions finish (up to
 * shutdown_timeout), then exits.
 */
extern void admin_shutdown(ShutdownMode mode);

/* admin_close_for_shutdown: closes client with WAIT_FOR_SERVERS' FATAL (PgBouncer's "server shutting down"). */
extern void admin_close_for_shutdown(Client *client);

/* admin_shutdown_mode: the shutdown in progress (SHUTDOWN_NONE while running). */
extern ShutdownMode admin_shutdown_mode(void);

/* The console's pause state (SHOW STATE): PAUSE/SUSPEND without a database, undone by RESUME. */
typedef enum AdminPauseMode
{
	ADMIN_RUNNING,
	ADMIN_PAUSED,
	ADMIN_SUSPENDED
} AdminPauseMode;

extern AdminPauseMode admin_pause_mode(void);

/*
 * admin_pause_all, admin_resume_all: PAUSE and RESUME without a database (also SIGUSR1, SIGUSR2);
 * false with the reason in why when the state does not allow it (already paused, shutting down …).
 */
extern bool admin_pause_all(char *why, size_t whylen);
extern bool admin_resume_all(char *why, size_t whylen);

/* admin_db_paused: database name is paused (PAUSE, PAUSE name, KILL name) until RESUME. */
extern bool admin_db_paused(const char *name);

/* admin_db_disabled: DISABLE name is in force: new logins to it are refused until ENABLE name. */
extern bool admin_db_disabled(const char *name);

/* admin_janitor: answers pending PAUSE/WAIT_CLOSE/SUSPEND and ends a shutdown (the pool janitor calls it). */
extern void admin_janitor(void);

#endif
