/*
 * admin_show.h: the admin console's SHOW commands (admin_show.c) and the result-set writer the console's
 * other commands share.
 */
#ifndef FAREGATE_ADMIN_SHOW_H
#define FAREGATE_ADMIN_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Client Client;

/*
 * admin_show: answers SHOW what (matched ignoring case) to client. *known is false (nothing sent) for
 * a name that is no SHOW command. Returns false when the answer could not be queued (no memory).
 */
extern bool admin_show(Client *client, const char *what, bool *known);

/* admin_command_done: CommandComplete tag, then ReadyForQuery; false when it could not be queued. */
extern bool admin_command_done(Client *client, const char *tag);

/* A result set being written to an admin client (admin_show.c writes it; every SHOW uses it). */
typedef struct AdminResult
{
	Client	   *client;
	int			n_cols;
	long		rows;
	bool		failed;			/* a message could not be queued: the rest is skipped */
} AdminResult;

/* admin_result_begin: RowDescription of n columns (names, type OIDs). */
extern void admin_result_begin(AdminResult *res, Client *client, int n, const char *const *names,
							   const uint32_t *types);

/* admin_result_row: one DataRow (NULL values are SQL NULL). */
extern void admin_result_row(AdminResult *res, const char *const *values);

/* admin_result_end: CommandComplete "SHOW" and ReadyForQuery; false if anything failed. */
extern bool admin_result_end(AdminResult *res);

/* admin_fmt_time: µs since the epoch as PgBouncer shows times ("2026-01-02 03:04:05 UTC"). */
extern void admin_fmt_time(char *buf, size_t len, uint64_t usec);

/* The per-socket SHOWs (admin_sockets.c). */
extern bool admin_show_clients(Client *client);
extern bool admin_show_servers(Client *client);
extern bool admin_show_sockets(Client *client);
extern bool admin_show_active_sockets(Client *client);
extern bool admin_show_fds(Client *client);

/* admin_show_names: the SHOW commands, comma-separated, for hints and SHOW HELP. */
extern const char *admin_show_names(void);

#endif
