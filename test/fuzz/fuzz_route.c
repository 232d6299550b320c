/*
 * fuzz_route.c: libFuzzer target for sqlroute.c's classifier. Besides "never crashes, never reads out of
 * bounds" (ASan, UBSan) it checks three properties on every input:
 *  - unparsable text is always a write;
 *  - text followed by "\n; UPDATE t SET a = 1" is always a write: whatever the text leaves open
 *    (a string, a comment, a dollar quote, a parenthesis), the classifier may not lose the write;
 *  - a leading "/ * x * /" comment changes nothing.
 * The first input byte picks standard_conforming_strings and whether a volatility table is used.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ipooler -o /tmp/fuzz_route \
 *     test/fuzz/fuzz_route.c pooler/sqlroute.c
 *   /tmp/fuzz_route -max_total_time=60 -max_len=4096 /tmp/route-corpus test/fuzz/corpus/route
 * (the first corpus directory collects new inputs; the seeds in test/fuzz/corpus/route stay as they are)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqlroute.h"

static RouteVolatility *table;

static void
build_table(void)
{
	static const char *const names[][3] = {
		{"pg_catalog", "count", "i"}, {"pg_catalog", "now", "s"}, {"pg_catalog", "lower", "i"},
		{"pg_catalog", "nextval", "v"}, {"faregate", "fare", "s"}, {"faregate", "enqueue", "v"},
	};

	table = sqlroute_volatility_create();
	if (!table)
		abort();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!sqlroute_volatility_add(table, names[i][0], names[i][1], names[i][2][0]))
			abort();
	if (!sqlroute_volatility_add_operator(table, "public", "===", 'v'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char tail[] = "\n; UPDATE t SET a = 1";
	static const char head[] = "/* x */ ";
	RouteContext ctx = {0};
	RouteResult res;
	RouteResult res2;
	char	   *buf;

	if (size < 1)
		return 0;
	if (!table)
		build_table();
	ctx.standard_conforming_strings = (data[0] & 1) != 0;
	ctx.volatility = (data[0] & 2) ? table : NULL;
	data++;
	size--;

	/* exact-size copy, so ASan sees any read past the end */
	buf = malloc(size + sizeof(head) + sizeof(tail));
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	sqlroute_classify(buf, size, &ctx, &res);
	if (res.route_class != ROUTE_READ && res.route_class != ROUTE_WRITE && res.route_class != ROUTE_SESSION_SET)
		abort();
	if ((res.flags & ROUTE_F_UNPARSABLE) && res.route_class != ROUTE_WRITE)
		abort();

	{
		/* the session-state walker shares the lexer: it must stay in bounds and agree on what lexes */
		RouteSessionOp ops[4];
		int			n = sqlroute_session_statements(buf, size, ctx.standard_conforming_strings, ops, 4);

		if (n < 0 && !(res.flags & ROUTE_F_UNPARSABLE))
			abort();			/* text the walker cannot lex is text the classifier cannot parse */
		for (int i = 0; i < n && i < 4; i++)
			if (memchr(ops[i].name, '\0', sizeof(ops[i].name)) == NULL ||
				memchr(ops[i].value, '\0', sizeof(ops[i].value)) == NULL)
				abort();
	}

	memcpy(buf + size, tail, sizeof(tail) - 1);
	if (sqlroute_classify(buf, size + sizeof(tail) - 1, &ctx, NULL) != ROUTE_WRITE)
		abort();

	memcpy(buf, head, sizeof(head) - 1);
	memcpy(buf + sizeof(head) - 1, data, size);
	sqlroute_classify(buf, size + sizeof(head) - 1, &ctx, &res2);
	if (res2.route_class != res.route_class)
		abort();
	free(buf);
	return 0;
}
