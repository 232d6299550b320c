/*
 * notify.h: LISTEN/NOTIFY in transaction mode (notify.c). A client's `LISTEN ch`, `UNLISTEN ch` and
 * `UNLISTEN *` sent as a whole simple Query outside a transaction are answered by the pooler, others
 * (transaction blocks, several statements, extended protocol) are taken over at their COMMIT; one
 * listener connection per database (libpq, on the event loop) holds the LISTENs of all its clients, and
 * the client's CommandComplete + ReadyForQuery for a LISTEN is held until the listener's own LISTEN
 * on the channel has completed, so a notification sent after the client saw its LISTEN complete reaches
 * it; each notification it receives is sent as NotificationResponse to every client listening on the
 * channel: at once when the client is between transactions, else after the ReadyForQuery that ends its
 * transaction (a message boundary). A lost listener connection is re-made with backoff, every channel
 * is listened to again, and the clients of each channel get a NoticeResponse naming the time span in
 * which notifications may have been missed.
 */
#ifndef FAREGATE_NOTIFY_H
#define FAREGATE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Client Client;
typedef struct NotifyChannel NotifyChannel;

/* Per-client state (embedded in Client). */
typedef struct ClientNotify
{
	NotifyChannel **channels;	/* malloc'ed; the channels it listens on */
	int			n_channels;
	int			cap_channels;
	uint8_t    *pending;		/* NotificationResponse/NoticeResponse messages held for the next
								 * message boundary (malloc'ed) */
	size_t		pending_len;
	struct RouteListenOp *queued;	/* LISTEN/UNLISTEN statements sent to the server, not completed */
	int			n_queued;
	struct RouteListenOp *done;	/* completed in the running transaction: applied at its COMMIT */
	int			n_done;
	bool		tx_rollback;	/* the running transaction rolls back (ErrorResponse, ROLLBACK) */
	bool		hold_cc;		/* the held answer includes CommandComplete LISTEN (lone LISTEN) */
	NotifyChannel *waiting_on;	/* its LISTEN is answered once the listener has LISTENed to this
								 * channel (or lost its connection); meanwhile its input waits */
} ClientNotify;

/*
 * notify_try_query: client (idle, transaction mode) sent Query text. When it is a lone LISTEN/UNLISTEN
 * the pooler answers it (CommandComplete + ReadyForQuery) and returns 1; 0 = not ours (forward it);
 * -1 = the client was closed.
 */
extern int	notify_try_query(Client *client, const char *query);

/*
 * notify_note_query: client (transaction mode) sends SQL text (a Query, or a Parse's statement) to a
 * server: its LISTEN/UNLISTEN statements are noted, to be taken over when the server completes them
 * and their transaction commits.
 */
extern void notify_note_query(Client *client, const char *sql, size_t len);

/*
 * notify_server_reply: a server reply of type (A, C, E or Z) for client in transaction mode; *dirty is
 * the server's flag "has LISTENed itself" (its UNLISTEN * runs when it is released). At COMMIT the
 * completed LISTEN/UNLISTENs move to the listener connection and the ReadyForQuery is held until the
 * listener has LISTENed. Returns whether the message goes to the client.
 */
extern bool notify_server_reply(Client *client, bool *dirty, char type, const uint8_t *msg, size_t len);

/* notify_client_waiting: client's LISTEN is not answered yet: process none of its input. */
static inline bool
notify_client_waiting(const ClientNotify *cl)
{
	return cl->waiting_on != NULL;
}

/* notify_client_idle: client is at a message boundary without a server: deliver what is held. */
extern void notify_client_idle(Client *client);

/* notify_forget: the client leaves: its channels lose a listener (UNLISTEN when none is left). */
extern void notify_forget(Client *client);

/*
 * notify_parse_lone: "LISTEN x" → ('L', "x"); "UNLISTEN *" → ('U', "*"); 0 when it is not a lone one
 * (read with sqlscan.c: comments and a trailing ';' allowed, the name folded as the server folds it).
 */
extern char notify_parse_lone(const char *query, char *channel, size_t channel_len);

/* notify_channel_count: channels listened to (SHOW LISTS, metrics). */
extern int	notify_channel_count(void);

#endif
