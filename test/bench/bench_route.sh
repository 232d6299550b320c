#!/usr/bin/env bash
# bench_route.sh: cost of sqlroute.c's classifier per statement vs the time of a pgbench -S transaction.
# Builds test/bench/bench_route.c against pooler/build/libpooler.a, starts a primary of its own
# (test/harness/cluster.sh), loads the volatility table from its pg_proc, classifies pgbench -S's
# statement and a few realistic ones millions of times (ns/statement), then measures a pgbench -S
# transaction over a direct TCP connection (1 client, simple protocol) and prints the ratio
# classify / transaction, which issue 6 wants below 2%. Bounded: about 30 s in all.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
ITERATIONS=${BENCH_ROUTE_ITERATIONS:-2000000}
PGBENCH_SECONDS=${BENCH_ROUTE_SECONDS:-10}

make -s -C pooler build/libpooler.a >/dev/null
work=$(mktemp -d /tmp/bench-route.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -std=gnu11 -O2 -Wall -Wextra -Werror -Ipooler -o "$work/bench_route" test/bench/bench_route.c \
  pooler/build/libpooler.a $(pkg-config --libs libevent libpq) -lm
chmod 755 "$work"

# runs inside the cluster: everything after "--" sees FG_*
inner() {
  local psql="psql -X -qAt -h $FG_HOST -p $FG_PRIMARY_PORT -U postgres -d postgres"
  $psql -c "SELECT n.nspname, p.proname, p.provolatile FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace" \
    >"$BENCH_WORK/procs.txt"
  "$BENCH_WORK/bench_route" "$BENCH_WORK/procs.txt" "$BENCH_ITERATIONS" | tee "$BENCH_WORK/route.txt"
  pgbench -i -q -s 1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres postgres >/dev/null 2>&1
  pgbench -S -M simple -c 1 -j 1 -T "$BENCH_SECONDS" -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres postgres \
    2>/dev/null >"$BENCH_WORK/pgbench.txt"
  local lat tps ns ratio
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' "$BENCH_WORK/pgbench.txt")
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$BENCH_WORK/pgbench.txt")
  ns=$(sed -n 's/^route: pgbench -S: \([0-9]*\) ns.*/\1/p' "$BENCH_WORK/route.txt")
  echo "route: pgbench -S transaction, direct TCP connection, 1 client: ${lat} ms average latency, ${tps} tps"
  ratio=$(awk -v ns="$ns" -v lat="$lat" 'BEGIN { printf "%.3f", 100 * ns / (lat * 1e6) }')
  echo "route: classify / pgbench -S transaction = ${ns} ns / ${lat} ms = ${ratio}% (target < 2%)"
}
export -f inner
export BENCH_WORK=$work BENCH_ITERATIONS=$ITERATIONS BENCH_SECONDS=$PGBENCH_SECONDS
test/harness/cluster.sh --replicas 0 -- bash -c inner
