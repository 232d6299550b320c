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

/* admin_reload: re-reads the configuration file (RELOAD, SIGHUP); false with err, changing nothing. */
__attribute__((warn_unused_result))
extern bool admin_reload(char *err, size_t errlen);

/*
 * admin_shutdown: immediate (SIGTERM, SHUTDOWN) leaves the event loop now; graceful (SIGINT) stops
 * listening, closes clients that are not in a transaction, and leaves once the running transactions
 * finished or shutdown_timeout passed.
 */
extern void admin_shutdown(bool immediate);

/* admin_janitor: answers pending PAUSEs and ends a graceful shutdown (called by the pool janitor). */
extern void admin_janitor(void);

#endif
