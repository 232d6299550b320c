#!/usr/bin/env bash
# 00_cluster.sh: the harness gives a writable primary and read-only streaming replicas that see what
# the primary committed.
set -u
. "$(dirname "$0")/../harness/tap.sh"

is "$(psql_primary -d postgres -c 'SELECT pg_is_in_recovery()')" f "primary is not in recovery"
psql_primary -d postgres -c "SET client_min_messages = warning; DROP TABLE IF EXISTS harness_probe; CREATE TABLE harness_probe(id int);
  INSERT INTO harness_probe SELECT generate_series(1, 100)"
ok $? "write on the primary"
wait_replicas_caught_up 30
ok $? "replicas replay the primary's LSN"
n=0
for port in $FG_REPLICA_PORTS; do
  n=$((n + 1))
  is "$(psql_port "$port" -d postgres -c 'SELECT pg_is_in_recovery()')" t "replica $n is in recovery"
  is "$(psql_port "$port" -d postgres -c 'SELECT count(*) FROM harness_probe')" 100 \
    "replica $n sees the rows written on the primary"
  out=$(psql_port "$port" -d postgres -c 'INSERT INTO harness_probe VALUES (0)' 2>&1)
  like "$out" "read-only transaction" "replica $n refuses writes"
done
psql_primary -d postgres -c "DROP TABLE harness_probe"
done_testing
