/*
 * stats.h: traffic counters per pool, summed per database for SHOW STATS (PgBouncer's columns). Totals
 * only grow; averages are per second over the last stats period, recomputed by stats_tick().
 */
#ifndef FAREGATE_STATS_H
#define FAREGATE_STATS_H

#include <stdint.h>

#define STATS_PERIOD_USEC (15 * 1000000ull)

typedef struct StatCounters
{
	uint64_t	xact_count;		/* transactions pooled (ReadyForQuery 'I' ends one) */
	uint64_t	query_count;	/* requests answered (every ReadyForQuery) */
	uint64_t	bytes_recv;		/* from clients */
	uint64_t	bytes_sent;		/* to clients */
	uint64_t	xact_time_us;	/* linked to a server inside transactions */
	uint64_t	query_time_us;	/* from a request to its ReadyForQuery */
	uint64_t	wait_time_us;	/* clients waiting for a server */
	uint64_t	errors;			/* errors the pooler itself sent to clients */
	uint64_t	server_assignments; /* a server linked to a client (PgBouncer's server_assignment_count) */
	uint64_t	client_parses;	/* named Parse messages from clients */
	uint64_t	server_parses;	/* Parse messages of named statements sent to servers */
	uint64_t	binds;			/* Bind messages of named prepared statements */
} StatCounters;

typedef struct PoolStats
{
	StatCounters total;
	StatCounters last;			/* total at the previous tick */
	StatCounters avg;			/* per second (time averages per transaction/query) */
} PoolStats;

/* stats_add: a += b. */
extern void stats_add(StatCounters *a, const StatCounters *b);

/* stats_roll: recomputes avg from total and last over elapsed_us, then last = total. */
extern void stats_roll(PoolStats *stats, uint64_t elapsed_us);

#endif
