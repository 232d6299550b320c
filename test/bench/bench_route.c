/*
 * bench_route.c: micro-benchmark of sqlroute_classify() (driven by bench_route.sh). Classifies a few
 * realistic statements, each ITERATIONS times, with the volatility table read from FILE (lines
 * "schema|name|volatility", as psql -At prints them from pg_proc), and prints one line per statement:
 *   route: <label>: <ns> ns/statement (<class>, <iterations> iterations)
 * Usage: bench_route FILE ITERATIONS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlroute.h"

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	static const struct
	{
		const char *label;
		const char *sql;
	}			statements[] = {
		{"pgbench -S", "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;"},
		{"pgbench tpcb update", "UPDATE pgbench_accounts SET abalance = abalance + -4321 WHERE aid = 48213;"},
		{"fare lookup", "SELECT faregate.fare(zone_from => 3, zone_to => 7, at => now()) AS fare"},
		{"join with aggregates",
		 "SELECT c.id, c.name, count(o.id) AS orders, sum(o.total)::numeric(12,2) AS spent "
		 "FROM customers c LEFT JOIN orders o ON o.customer_id = c.id "
		 "WHERE c.created_at > now() - interval '30 days' AND c.status IN ('active', 'trial') "
		 "GROUP BY c.id, c.name HAVING count(o.id) > 2 ORDER BY spent DESC LIMIT 50"},
		{"CTE with comments",
		 "/* app:report */ WITH recent AS (SELECT * FROM events WHERE ts > now() - interval '1 hour'), "
		 "-- per type\n counts(kind, n) AS (SELECT kind, count(*) FROM recent GROUP BY kind) "
		 "SELECT kind, n, $$literal ; UPDATE$$ FROM counts ORDER BY n DESC"},
		{"row lock", "SELECT * FROM jobs WHERE state = 'ready' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"},
	};
	RouteVolatility *vt;
	RouteContext ctx = {0};
	FILE	   *f;
	char		line[512];
	long		iterations;

	if (argc != 3)
	{
		fprintf(stderr, "usage: bench_route FILE ITERATIONS\n");
		return 2;
	}
	iterations = atol(argv[2]);
	vt = sqlroute_volatility_create();
	f = fopen(argv[1], "r");
	if (!vt || !f)
	{
		fprintf(stderr, "bench_route: cannot read %s\n", argv[1]);
		return 1;
	}
	while (fgets(line, sizeof(line), f))
	{
		char	   *schema = strtok(line, "|\n");
		char	   *name = strtok(NULL, "|\n");
		char	   *vol = strtok(NULL, "|\n");

		if (schema && name && vol && !sqlroute_volatility_add(vt, schema, name, vol[0]))
			return 1;
	}
	fclose(f);
	if (!sqlroute_volatility_add(vt, "faregate", "fare", 's'))
		return 1;
	printf("route: volatility table: %zu functions\n", sqlroute_volatility_count(vt));
	ctx.volatility = vt;
	ctx.standard_conforming_strings = true;

	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++)
	{
		size_t		len = strlen(statements[i].sql);
		RouteClass	route_class = ROUTE_READ;
		unsigned	sink = 0;
		double		start;
		double		elapsed;

		for (long k = 0; k < iterations / 10; k++)	/* warm-up */
			sink += sqlroute_classify(statements[i].sql, len, &ctx, NULL);
		start = now_ns();
		for (long k = 0; k < iterations; k++)
		{
			route_class = sqlroute_classify(statements[i].sql, len, &ctx, NULL);
			sink += route_class;
		}
		elapsed = now_ns() - start;
		printf("route: %s: %.0f ns/statement (%s, %ld iterations, %zu bytes)%s\n", statements[i].label,
			   elapsed / (double) iterations, sqlroute_class_name(route_class), iterations, len,
			   sink == 12345 ? " " : "");
	}
	sqlroute_volatility_free(vt);
	return 0;
}
