/*
 * stats.c: owns the arithmetic of the traffic counters (see stats.h). Counting itself is inline in the
 * data path (client.c, server.c): plain additions, no locks (one thread).
 */
#include "stats.h"

void
stats_add(StatCounters *a, const StatCounters *b)
{
	a->xact_count += b->xact_count;
	a->query_count += b->query_count;
	a->bytes_recv += b->bytes_recv;
	a->bytes_sent += b->bytes_sent;
	a->xact_time_us += b->xact_time_us;
	a->query_time_us += b->query_time_us;
	a->wait_time_us += b->wait_time_us;
	a->errors += b->errors;
	a->server_assignments += b->server_assignments;
	a->client_parses += b->client_parses;
	a->server_parses += b->server_parses;
	a->binds += b->binds;
}

void
stats_roll(PoolStats *stats, uint64_t elapsed_us)
{
	const StatCounters *t = &stats->total;
	const StatCounters *l = &stats->last;
	double		secs = elapsed_us > 0 ? (double) elapsed_us / 1e6 : 1.0;
	uint64_t	xacts = t->xact_count - l->xact_count;
	uint64_t	queries = t->query_count - l->query_count;

	stats->avg.xact_count = (uint64_t) ((double) xacts / secs);
	stats->avg.query_count = (uint64_t) ((double) queries / secs);
	stats->avg.bytes_recv = (uint64_t) ((double) (t->bytes_recv - l->bytes_recv) / secs);
	stats->avg.bytes_sent = (uint64_t) ((double) (t->bytes_sent - l->bytes_sent) / secs);
	stats->avg.xact_time_us = xacts ? (t->xact_time_us - l->xact_time_us) / xacts : 0;
	stats->avg.query_time_us = queries ? (t->query_time_us - l->query_time_us) / queries : 0;
	stats->avg.wait_time_us = (uint64_t) ((double) (t->wait_time_us - l->wait_time_us) / secs);
	stats->avg.errors = (uint64_t) ((double) (t->errors - l->errors) / secs);
	stats->avg.server_assignments = (uint64_t) ((double) (t->server_assignments - l->server_assignments) / secs);
	stats->avg.client_parses = (uint64_t) ((double) (t->client_parses - l->client_parses) / secs);
	stats->avg.server_parses = (uint64_t) ((double) (t->server_parses - l->server_parses) / secs);
	stats->avg.binds = (uint64_t) ((double) (t->binds - l->binds) / secs);
	stats->last = stats->total;
}
