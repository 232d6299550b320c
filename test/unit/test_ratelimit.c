/*
 * test_ratelimit.c: ratelimit.c's token buckets without a cluster: a bucket's rate and burst, debt
 * (delays in arrival order), and the bound on memory: buckets of addresses idle long enough to be full
 * again are freed as the table grows, so 100,000 distinct addresses seen over time leave a table
 * bounded by the recently active ones; an active (indebted) bucket survives every sweep.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ratelimit.h"
#include "tap.h"

#define SEC 1000000ULL

int
main(void)
{
	uint64_t	now = 1000 * SEC;
	uint64_t	delay;
	size_t		max_count = 0;
	int			bad_delays = 0;
	char		who[64];

	/* rate and burst: 10/s, burst 2 */
	tap_is_long((long) ratelimit_bucket_take('u', "db", "alice", 10, 2, now), 0, "first token at once");
	tap_is_long((long) ratelimit_bucket_take('u', "db", "alice", 10, 2, now), 0, "second (burst 2) at once");
	delay = ratelimit_bucket_take('u', "db", "alice", 10, 2, now);
	tap_ok(delay > 99000 && delay <= 100001, "third waits 1/limit s (100 ms)");
	delay = ratelimit_bucket_take('u', "db", "alice", 10, 2, now);
	tap_ok(delay > 199000 && delay <= 200001, "fourth waits 200 ms: debt serves in arrival order");
	tap_is_long((long) ratelimit_bucket_count(), 1, "one bucket");

	/* many addresses, each used once then idle: the table stays bounded */
	for (int i = 0; i < 100000; i++)
	{
		snprintf(who, sizeof(who), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		/* 1000 new addresses per second, limit 5/s burst 5: full again after 0.2 s */
		if (ratelimit_bucket_take('a', "db", who, 5, 5, now + (uint64_t) i * 1000) != 0)
			bad_delays++;
		if (ratelimit_bucket_count() > max_count)
			max_count = ratelimit_bucket_count();
	}
	tap_is_long(bad_delays, 0, "every new address got its first token at once");
	tap_ok(max_count <= 1024, "100000 addresses, at most 1024 buckets at once (idle full ones freed)");
	printf("# max buckets: %zu, now: %zu\n", max_count, ratelimit_bucket_count());

	/* alice is still in debt relative to "now"? she was 2 tokens short at t=1000 s, refilled long since;
	 * make a fresh indebted bucket and check it survives a sweep while others go */
	now += 200 * SEC;
	for (int k = 0; k < 3; k++)
		(void) ratelimit_bucket_take('u', "db", "bob", 1, 1, now);	/* 2 tokens of debt: full at +3 s */
	for (int i = 0; i < 5000; i++)
	{
		snprintf(who, sizeof(who), "192.168.%d.%d", (i >> 8) & 255, i & 255);
		(void) ratelimit_bucket_take('a', "db", who, 1000, 1, now + (uint64_t) i);
	}
	delay = ratelimit_bucket_take('u', "db", "bob", 1, 1, now + 5000);
	tap_ok(delay > 2 * SEC, "an indebted bucket survives the sweeps (bob still waits > 2 s)");
	tap_ok(ratelimit_bucket_count() < 5000, "full address buckets were freed by the sweeps");
	return tap_done();
}
