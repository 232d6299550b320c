/*
 * listen.h: LISTEN/NOTIFY in transaction mode (listen.c). A client's `LISTEN ch`, `UNLISTEN ch` and
 * `UNLISTEN *` sent as a whole simple Query outside a transaction are answered by the pooler; one
 * listener connection per database (libpq, on the event loop) holds the LISTENs of all its clients, and
 * the client's CommandComplete + ReadyForQuery for a LISTEN is held until the listener's own LISTEN
 * on the channel has completed, so a notification sent after the client saw its LISTEN complete reaches
 * it; each notification it receives is sent as NotificationResponse to every client listening on the
 * channel: at once when the client is between transactions, else after the ReadyForQuery that ends its
 * transaction (a message boundary). A lost listener connection is re-made with backoff, every channel
 * is listened to again, and the clients of each channel get a NoticeResponse naming the time span in
 * which notifications may have been missed.
 */
#ifndef FAREGATE_LISTEN_H
#define FAREGATE_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Client Client;
typedef struct ListenChannel ListenChannel;

/* Per-client state (embedded in Client). */
typedef struct ClientListen
{
	ListenChannel **channels;	/* malloc'ed; the channels it listens on */
	int			n_channels;
	int			cap_channels;
	uint8_t    *pending;		/* NotificationResponse/NoticeResponse messages held for the next
								 * message boundary (malloc'ed) */
	size_t		pending_len;
	ListenChannel *waiting_on;	/* its LISTEN is answered once the listener has LISTENed to this
								 * channel (or lost its connection); meanwhile its input waits */
} ClientListen;

/*
 * listen_try_query: client (idle, transaction mode) sent Query text. When it is a lone LISTEN/UNLISTEN
 * the pooler answers it (CommandComplete + ReadyForQuery) and returns 1; 0 = not ours (forward it);
 * -1 = the client was closed.
 */
extern int	listen_try_query(Client *client, const char *query);

/* listen_client_waiting: client's LISTEN is not answered yet: process none of its input. */
static inline bool
listen_client_waiting(const ClientListen *cl)
{
	return cl->waiting_on != NULL;
}

/* listen_client_idle: client is at a message boundary without a server: deliver what is held. */
extern void listen_client_idle(Client *client);

/* listen_forget: the client leaves: its channels lose a listener (UNLISTEN when none is left). */
extern void listen_forget(Client *client);

/* listen_parse: "LISTEN x" → ('L', "x"); "UNLISTEN *" → ('U', "*"); 0 when it is not a lone one. */
extern char listen_parse(const char *query, char *channel, size_t channel_len);

/* listen_channel_count: channels listened to (SHOW LISTS, metrics). */
extern int	listen_channel_count(void);

#endif
