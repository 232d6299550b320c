/*
 * ratelimit.c: owns the token buckets of user_tps_limit (per database and user) and client_tps_limit
 * (per database and client address), the list of clients delayed for a token, and its one timer.
 *
 * A bucket holds up to `burst` tokens (tps_burst, 0 = the limit itself, one second's worth) and gains
 * `limit` tokens per second. Starting a transaction takes one token. When none is left the bucket goes
 * into debt: the client is delayed until its token has accrued (debt / limit seconds), which serves
 * delayed clients in arrival order; when that delay would exceed rate_limit_delay the token is given
 * back and the request is refused with SQLSTATE 53400 naming the limit. Both buckets must agree: a
 * client refused by one gives its token back to the other.
 *
 * Buckets are created on first use (one per database and user, one per database and client address
 * seen with client_tps_limit on). A bucket idle long enough to be full again is indistinguishable from
 * a fresh one, so it is freed: whenever the table has grown to twice its size after the last sweep
 * (and at least BUCKET_SWEEP_MIN), every full bucket goes. Memory is then bounded by about twice the
 * number of buckets not yet refilled (the addresses active within the last burst/limit seconds), not
 * by every address ever seen.
 * Everything runs on the event loop's thread.
 */
#include "ratelimit.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "proto.h"

#define BUCKET_SLOTS 1024
#define BUCKET_SWEEP_MIN 256

typedef struct Bucket
{
	struct Bucket *next;		/* hash chain */
	char		kind;			/* 'u' user, 'a' client address */
	char		db[CF_NAME_MAX];
	char		who[CF_NAME_MAX];	/* user name or address */
	double		tokens;			/* may be negative: debt of delayed clients */
	uint64_t	updated_us;
	int			limit;			/* as of its last use: tokens per second */
	int			burst;			/* as of its last use: capacity */
} Bucket;

/* per database: counters for SHOW STATS */
typedef struct DbCounters
{
	struct DbCounters *next;
	char		db[CF_NAME_MAX];
	uint64_t	rejected;
	uint64_t	delayed;
} DbCounters;

static Bucket *slots[BUCKET_SLOTS];
static size_t bucket_count;
static size_t sweep_at = BUCKET_SWEEP_MIN;	/* sweep when bucket_count reaches it */
static DbCounters *db_counters;
static List delayed_clients = {&delayed_clients, &delayed_clients};	/* by release_us */
static struct event *timer;

static unsigned
hash_key(char kind, const char *db, const char *who)
{
	unsigned	h = (unsigned char) kind;

	for (const char *p = db; *p; p++)
		h = h * 31 + (unsigned char) *p;
	for (const char *p = who; *p; p++)
		h = h * 31 + (unsigned char) *p;
	return h % BUCKET_SLOTS;
}

/* bucket_full: b, refilled up to now, would hold its whole burst (so it equals a fresh bucket). */
static bool
bucket_full(const Bucket *b, uint64_t now)
{
	double		tokens = b->tokens;

	if (now > b->updated_us)
		tokens += (double) (now - b->updated_us) * b->limit / 1e6;
	return tokens >= b->burst;
}

/* bucket_sweep: frees every full bucket; the next sweep comes when the table has doubled. */
static void
bucket_sweep(uint64_t now)
{
	for (unsigned i = 0; i < BUCKET_SLOTS; i++)
	{
		Bucket	  **link = &slots[i];

		while (*link)
		{
			Bucket	   *b = *link;

			if (bucket_full(b, now))
			{
				*link = b->next;
				free(b);
				bucket_count--;
			}
			else
				link = &b->next;
		}
	}
	sweep_at = bucket_count * 2 > BUCKET_SWEEP_MIN ? bucket_count * 2 : BUCKET_SWEEP_MIN;
}

static Bucket *
bucket_get(char kind, const char *db, const char *who, int burst, uint64_t now)
{
	unsigned	h = hash_key(kind, db, who);
	Bucket	   *b;

	for (b = slots[h]; b; b = b->next)
		if (b->kind == kind && strcmp(b->db, db) == 0 && strcmp(b->who, who) == 0)
			return b;
	if (bucket_count >= sweep_at)
		bucket_sweep(now);
	b = calloc(1, sizeof(Bucket));
	if (!b)
		return NULL;
	b->kind = kind;
	snprintf(b->db, sizeof(b->db), "%s", db);
	snprintf(b->who, sizeof(b->who), "%s", who);
	b->tokens = burst;
	b->updated_us = now;
	b->burst = burst;
	b->next = slots[h];
	slots[h] = b;
	bucket_count++;
	return b;
}

static void
bucket_refill(Bucket *b, int limit, int burst, uint64_t now)
{
	b->limit = limit;
	b->burst = burst;
	if (now > b->updated_us)
	{
		b->tokens += (double) (now - b->updated_us) * limit / 1e6;
		if (b->tokens > burst)
			b->tokens = burst;
		b->updated_us = now;
	}
}

/* bucket_take: takes a token; returns the delay in µs until it is there (0 = now). */
static uint64_t
bucket_take(Bucket *b, int limit)
{
	b->tokens -= 1.0;
	if (b->tokens >= 0)
		return 0;
	return (uint64_t) (-b->tokens * 1e6 / limit) + 1;
}

uint64_t
ratelimit_bucket_take(char kind, const char *db, const char *who, int limit, int burst, uint64_t now)
{
	Bucket	   *b = bucket_get(kind, db, who, burst, now);

	if (!b)
		return 0;				/* out of memory: not limited rather than refused */
	bucket_refill(b, limit, burst, now);
	return bucket_take(b, limit);
}

size_t
ratelimit_bucket_count(void)
{
	return bucket_count;
}

static DbCounters *
counters_for(const char *db)
{
	DbCounters *c;

	for (c = db_counters; c; c = c->next)
		if (strcmp(c->db, db) == 0)
			return c;
	c = calloc(1, sizeof(DbCounters));
	if (!c)
		return NULL;
	snprintf(c->db, sizeof(c->db), "%s", db);
	c->next = db_counters;
	db_counters = c;
	return c;
}

uint64_t
ratelimit_rejected(const char *dbname)
{
	for (DbCounters *c = db_counters; c; c = c->next)
		if (strcmp(c->db, dbname) == 0)
			return c->rejected;
	return 0;
}

uint64_t
ratelimit_delayed(const char *dbname)
{
	for (DbCounters *c = db_counters; c; c = c->next)
		if (strcmp(c->db, dbname) == 0)
			return c->delayed;
	return 0;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg);

static void
timer_arm(void)
{
	Client	   *first;
	uint64_t	now = conn_now_usec();
	uint64_t	wait;
	struct timeval tv;

	if (list_empty(&delayed_clients))
		return;
	if (!timer)
	{
		timer = evtimer_new(conn_base, timer_cb, NULL);
		if (!timer)
			return;				/* delayed clients then go at their next message (cannot happen) */
	}
	first = container_of(delayed_clients.next, Client, rate.delayed_node);
	wait = first->rate.release_us > now ? first->rate.release_us - now : 0;
	tv.tv_sec = (time_t) (wait / 1000000);
	tv.tv_usec = (suseconds_t) (wait % 1000000);
	evtimer_add(timer, &tv);
}

/* timer_cb: releases every delayed client whose token has accrued. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	now = conn_now_usec();

	while (!list_empty(&delayed_clients))
	{
		Client	   *client = container_of(delayed_clients.next, Client, rate.delayed_node);

		if (client->rate.release_us > now)
			break;
		list_del(&client->rate.delayed_node);
		client->rate.release_us = 0;
		client->rate.admitted = true;
		client_resume(client);
	}
	timer_arm();
}

static void
delay_client(Client *client, uint64_t release_us)
{
	List	   *it;

	client->rate.release_us = release_us;
	/* sorted by release time; new delays are mostly the latest */
	for (it = delayed_clients.prev; it != &delayed_clients; it = it->prev)
		if (container_of(it, Client, rate.delayed_node)->rate.release_us <= release_us)
			break;
	list_prepend(it, &client->rate.delayed_node);	/* after it */
	timer_arm();
}

static int
effective(int db_value, int global)
{
	return db_value >= 0 ? db_value : global;
}

RateVerdict
ratelimit_admit(Client *client, char type)
{
	const DatabaseEntry *db = &client->pool->db;
	int			user_limit = effective(db->user_tps_limit, cf.user_tps_limit);
	int			addr_limit = effective(db->client_tps_limit, cf.client_tps_limit);
	uint64_t	now;
	uint64_t	max_delay = (uint64_t) cf.rate_limit_delay_ms * 1000;
	uint64_t	user_delay = 0;
	uint64_t	addr_delay = 0;
	Bucket	   *ub = NULL;
	Bucket	   *ab = NULL;
	const char *limit_name = NULL;
	int			limit_value = 0;
	char		message[256];
	DbCounters *counters;

	if (client->rate.admitted)
	{
		client->rate.admitted = false;
		return RL_GO;
	}
	if (client->rate.release_us)
		return RL_WAIT;			/* more bytes arrived while it waits for its token */
	if ((user_limit <= 0 && addr_limit <= 0) || client->admin)
		return RL_GO;
	now = conn_now_usec();
	if (user_limit > 0)
	{
		int			burst = cf.tps_burst > 0 ? cf.tps_burst : user_limit;

		ub = bucket_get('u', db->name, client->user, burst, now);
		if (ub)
		{
			bucket_refill(ub, user_limit, burst, now);
			user_delay = bucket_take(ub, user_limit);
		}
	}
	if (addr_limit > 0)
	{
		int			burst = cf.tps_burst > 0 ? cf.tps_burst : addr_limit;

		ab = bucket_get('a', db->name, client->conn.addr, burst, now);
		if (ab)
		{
			bucket_refill(ab, addr_limit, burst, now);
			addr_delay = bucket_take(ab, addr_limit);
		}
	}
	if (user_delay > max_delay)
		limit_name = "user_tps_limit", limit_value = user_limit;
	else if (addr_delay > max_delay)
		limit_name = "client_tps_limit", limit_value = addr_limit;
	counters = counters_for(db->name);
	if (!limit_name)
	{
		uint64_t	delay = user_delay > addr_delay ? user_delay : addr_delay;

		if (delay == 0)
			return RL_GO;
		if (counters)
			counters->delayed++;
		slog_debug(&client->conn, "rate limit: delayed %llu us", (unsigned long long) delay);
		delay_client(client, now + delay);
		return RL_WAIT;
	}
	/* refused: give the tokens back */
	if (ub)
		ub->tokens += 1.0;
	if (ab)
		ab->tokens += 1.0;
	if (counters)
		counters->rejected++;
	metrics_count_ratelimit(limit_name);
	snprintf(message, sizeof(message), "%s exceeded: more than %d transactions per second %s \"%s\" in "
			 "database \"%s\"", limit_name, limit_value, limit_name[0] == 'u' ? "for user" : "from address",
			 limit_name[0] == 'u' ? client->user : client->conn.addr, db->name);
	if (type == 'Q' || type == 'F')
	{
		if (!client_send_error(client, "53400", message,
							   "Retry later, spread the load, or ask for a higher limit in the pooler's "
							   "configuration.", true))
			return RL_REJECTED;
		return RL_REJECTED;
	}
	client->skip_to_sync = true;
	(void) client_send_error(client, "53400", message,
							 "Retry later, spread the load, or ask for a higher limit in the pooler's "
							 "configuration.", false);
	return RL_REJECTED;
}

void
ratelimit_forget(Client *client)
{
	if (client->rate.release_us)
	{
		list_del(&client->rate.delayed_node);
		client->rate.release_us = 0;
	}
	client->rate.admitted = false;
}

void
ratelimit_init_client(Client *client)
{
	list_init(&client->rate.delayed_node);
	client->rate.release_us = 0;
	client->rate.admitted = false;
}
