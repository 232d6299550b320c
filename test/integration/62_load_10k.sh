#!/usr/bin/env bash
# 62_load_10k.sh: 10,000 concurrent client connections held through a pool of 20 server connections.
# test/load/fg_load (one process, epoll) opens them 500 at a time; each logs in, runs SELECT 1, stays
# connected until all 10,000 are in and FG_LOAD_HOLD seconds (default 60) have passed, then runs
# SELECT 2. Every client must answer both; the pool must never open more than 20 server connections;
# the pooler's RSS with all clients held is reported (and must stay under 1 GB: a few kB per client is
# the expectation, see docs/reliability.md). FG_LOAD_CLIENTS overrides the 10,000.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/test/integration/40_pooler_lib.bash"
clients=${FG_LOAD_CLIENTS:-10000}
hold=${FG_LOAD_HOLD:-60}

# the fd limit: the clients' sockets here, their peers in the pooler (it raises its soft limit to the hard one)
ulimit -n "$(ulimit -Hn)" 2>/dev/null
need=$((clients + 200))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  echo "1..0 # SKIP the hard fd limit $(ulimit -Hn) is below the $need this test needs"
  exit 0
fi
if ! make -s -C "$top/test/load" >/dev/null; then
  ok 1 "build test/load/fg_load"; done_testing; exit 1
fi

POOLER_DB_EXTRA="pool_size=20"
pooler_start "max_client_conn = $((clients + 100))" "query_wait_timeout = 120" "client_login_timeout = 120"
ok $? "pooler started with max_client_conn $((clients + 100)) and pool_size 20"
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$POOLER_PID/status")

# the server connections, sampled on the primary while the clients run
peak_file=$POOLER_DIR/peak
( peak=0
  for _ in $(seq 1 $((hold * 2 + 600))); do
    n=$(psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d postgres -c \
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name = ''" 2>/dev/null || echo 0)
    [ "$n" -gt "$peak" ] && peak=$n && echo "$peak" >"$peak_file"
    sleep 0.5
  done ) &
sampler=$!
echo "$sampler" >>"$FG_CLUSTER_DIR/pids"

out=$("$top/test/load/build/fg_load" -p "$POOLER_PORT" -n "$clients" -s "$hold" -r 500 -t $((hold + 240)) \
  -P "$POOLER_PID" 2>"$POOLER_DIR/load.err")
rc=$?
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
diag "$out"
sed 's/^/# /' "$POOLER_DIR/load.err"
ok $rc "$clients clients held for ${hold}s through a pool of 20: all answered SELECT 1 and SELECT 2"
peak=$(cat "$peak_file" 2>/dev/null || echo 0)
[ "$peak" -gt 0 ] && [ "$peak" -le 20 ]
ok $? "at most 20 server connections on the primary while they ran (peak $peak)"
held_kb=$(sed -n 's/.* rss_held_kb=\([0-9-]*\).*/\1/p' <<<"$out")
[ -n "$held_kb" ] && [ "$held_kb" -gt 0 ] && [ "$held_kb" -lt 1048576 ]
ok $? "pooler RSS with $clients clients held: ${held_kb:-?} kB (at start ${rss0} kB; bound 1 GB)"
echo "# RESULT load: clients=$clients hold_s=$hold pooler_rss_start_kb=$rss0 pooler_rss_held_kb=${held_kb:-?} server_conns_peak=$peak"
n=$(psql_pooler -c "SELECT 1")
is "$n" "1" "the pooler serves a new client afterwards"
kill -0 "$POOLER_PID" 2>/dev/null
ok $? "the pooler is still running"
pooler_sanitizer_clean
ok $? "no sanitizer report"
done_testing
