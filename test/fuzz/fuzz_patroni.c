/*
 * fuzz_patroni.c: libFuzzer target for Patroni's /cluster answer as the pooler reads it: HTTP framing
 * (patroni_split_response) and the JSON document (patroni_parse_cluster, over jsonread.c). Besides
 * "never crashes, never reads out of bounds" (ASan, UBSan; the input is copied to a buffer of its exact
 * size, with no NUL after it) it checks that every member taken has a port in 1..65535 and a
 * NUL-terminated host, and that a refused document leaves no member behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "patroni.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static PatroniCluster cluster;
	char	   *copy = malloc(size ? size : 1);
	char		err[256];
	int			status;
	const char *body;
	size_t		body_len;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (patroni_split_response(copy, size, &status, &body, &body_len, err, sizeof(err)) &&
		(body < copy || body + body_len > copy + size))
		abort();
	if (patroni_parse_cluster(copy, size, &cluster, err, sizeof(err)))
	{
		for (int i = 0; i < cluster.n_members; i++)
			if (cluster.members[i].port < 1 || cluster.members[i].port > 65535 ||
				!memchr(cluster.members[i].host, '\0', sizeof(cluster.members[i].host)))
				abort();
	}
	else if (cluster.n_members != 0)
		abort();
	free(copy);
	return 0;
}
