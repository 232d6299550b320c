/*
 * ratelimit.h: per-user and per-client-address transaction rate limits (token buckets), checked when
 * an idle client starts a transaction. A client over its limit is delayed up to rate_limit_delay (its
 * token is taken ahead: the bucket goes into debt, so delayed clients are served in arrival order),
 * beyond that it is answered with SQLSTATE 53400 naming the limit.
 */
#ifndef FAREGATE_RATELIMIT_H
#define FAREGATE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"

typedef struct Client Client;

typedef enum RateVerdict
{
	RL_GO,						/* start the transaction now */
	RL_WAIT,					/* delayed: the client is resumed by the timer (client_resume) */
	RL_REJECTED					/* the error was sent; the request must be discarded */
} RateVerdict;

/* Rate-limit state of one client (embedded in Client). */
typedef struct ClientRate
{
	List		delayed_node;	/* on the delayed list while waiting for its token */
	uint64_t	release_us;		/* when it may go (0 = not delayed) */
	bool		admitted;		/* the timer released it: the next transaction start goes */
} ClientRate;

/*
 * ratelimit_admit: called when client starts a transaction with a message of type. RL_REJECTED means
 * the ErrorResponse went out (with ReadyForQuery for a simple Query, else after the Sync; see
 * client->skip_to_sync) or the client was closed.
 */
extern RateVerdict ratelimit_admit(Client *client, char type);

/* ratelimit_forget: the client leaves (client_close): drops it from the delayed list. */
extern void ratelimit_forget(Client *client);

/* ratelimit_init_client: a fresh client. */
extern void ratelimit_init_client(Client *client);

/*
 * ratelimit_bucket_take: takes one token from the bucket (kind 'u' user / 'a' address, database, who),
 * creating it full if absent, at time now (µs); returns the delay until the token is there (0 = now).
 * The building block of ratelimit_admit, exported for the unit test.
 */
extern uint64_t ratelimit_bucket_take(char kind, const char *db, const char *who, int limit, int burst,
									  uint64_t now);

/* ratelimit_bucket_count: buckets allocated now (full idle ones are freed as the table grows). */
extern size_t ratelimit_bucket_count(void);

/* Counters for SHOW STATS: rejections and delays per database name (summed over its limits). */
extern uint64_t ratelimit_rejected(const char *dbname);
extern uint64_t ratelimit_delayed(const char *dbname);

#endif
