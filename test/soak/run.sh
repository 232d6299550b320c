#!/usr/bin/env bash
# test/soak/run.sh: `make soak`: SOAK_MINUTES (default 30) of mixed pgbench load through faregate-pooler,
# on a primary + 2 streaming replicas of its own (test/harness/cluster.sh; the script re-executes itself
# inside it). Every minute: pgbench's TPC-B-like writes through the pooler to the primary (8 clients)
# and select-only reads through it to each replica (4 clients each, databases replica1 and replica2);
# every SOAK_RESTART_EVERY minutes (default 3) one replica, in turn, is restarted (pg_ctl restart -m fast)
# in the middle of the minute, under its read load. The pooler's RSS is sampled at the end of each minute.
#
# Fails when:
#  - the pooler's RSS grows beyond the bound: after the first minute (warm-up: pools filled, buffers
#    and slabs at their working size), no later sample may exceed that minute's sample by more than
#    SOAK_RSS_GROWTH_KB (default 16384 kB = 16 MB) — a leak of one small allocation per transaction
#    (hundreds of thousands per run) exceeds it within minutes;
#  - a minute passes with no transaction committed on the primary (the pool did not recover);
#  - at the end, SHOW POOLS still has active or waiting clients or active servers, the pooler died, or
#    (under FG_POOLER_BIN=pooler/build-asan/faregate-pooler) a sanitizer reported something.
# Prints "soak: minute M rss_kb=… writes_tps=… reads_tps=… restart=…" per minute, then a RESULT line.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${FG_SOAK_INNER:-}" ]; then
  make -s -C "$top/pooler" || exit 1
  export FG_SOAK_INNER=1
  exec "$top/test/harness/cluster.sh" --replicas 2 -- "$0" "$@"
fi
. "$top/test/integration/40_pooler_lib.bash"
minutes=${SOAK_MINUTES:-30}
restart_every=${SOAK_RESTART_EVERY:-3}
step=${SOAK_STEP_SECONDS:-60}       # a "minute"; shorter only to debug the script itself
growth_bound=${SOAK_RSS_GROWTH_KB:-16384}
read -r r1 r2 <<<"$FG_REPLICA_PORTS"
export PGHOST=127.0.0.1 PGUSER=postgres

pgbench -i -q -s 4 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" postgres >/dev/null 2>&1
ok $? "pgbench -i on the primary"
wait_replicas_caught_up >/dev/null 2>&1 || sleep 2
POOLER_DB_EXTRA="pool_size=10"
pooler_start "max_client_conn = 200" "query_wait_timeout = 30" "server_connect_timeout = 3" \
  "[databases]" "replica1 = host=$FG_HOST port=$r1 dbname=postgres pool_size=6" \
  "replica2 = host=$FG_HOST port=$r2 dbname=postgres pool_size=6"
ok $? "pooler started (primary pool 10, one pool of 6 per replica)"

tps_of() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | head -1; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$POOLER_PID/status"; }
base_rss=
max_growth=0
stalled=0
restarts=0
for m in $(seq 1 "$minutes"); do
  pgbench -n -c 8 -T $((step - 2)) -p "$POOLER_PORT" postgres >"$POOLER_DIR/w.log" 2>&1 &
  w=$!
  pgbench -n -S -c 4 -T $((step - 2)) -p "$POOLER_PORT" replica1 >"$POOLER_DIR/r1.log" 2>&1 &
  a=$!
  pgbench -n -S -c 4 -T $((step - 2)) -p "$POOLER_PORT" replica2 >"$POOLER_DIR/r2.log" 2>&1 &
  b=$!
  echo "$w $a $b" | tr ' ' '\n' >>"$FG_CLUSTER_DIR/pids"
  restarted=-
  if [ $((m % restart_every)) -eq 0 ]; then
    sleep $((step / 3))
    i=$(( (m / restart_every) % 2 + 1 ))
    data_var=FG_REPLICA${i}_DATA
    if $FG_RUN_AS "$FG_PG_BIN/pg_ctl" -D "${!data_var}" -m fast -w -t 60 restart >/dev/null 2>&1; then
      restarted=replica$i
      restarts=$((restarts + 1))
    else
      restarted=replica$i-FAILED
    fi
  fi
  wait "$w" "$a" "$b"
  sample=$(rss)
  wt=$(tps_of "$POOLER_DIR/w.log"); rt1=$(tps_of "$POOLER_DIR/r1.log"); rt2=$(tps_of "$POOLER_DIR/r2.log")
  echo "# soak: minute $m rss_kb=$sample writes_tps=${wt:-0} reads_tps=${rt1:-0}+${rt2:-0} restart=$restarted"
  [ "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$POOLER_DIR/w.log")" -gt 0 ] 2>/dev/null ||
    stalled=$((stalled + 1))
  if [ -z "$base_rss" ]; then
    base_rss=$sample
  elif [ $((sample - base_rss)) -gt "$max_growth" ]; then
    max_growth=$((sample - base_rss))
  fi
done
ok $([ "$stalled" -eq 0 ]; echo $?) "every minute committed writes through the pooler ($stalled stalled minutes)"
ok $([ "$max_growth" -le "$growth_bound" ]; echo $?) \
  "RSS growth after the first minute: $max_growth kB (bound $growth_bound kB; first-minute RSS ${base_rss} kB)"
sleep 1
pools=$(psql_pooler_admin -F' ' -c "SHOW POOLS" | awk '$1 != "faregate" && $1 != "pgbouncer" {a += $3 + $4; s += $7} END {print a + 0, s + 0}')
is "$pools" "0 0" "SHOW POOLS: no active or waiting client, no active server after the load"
[ "$pools" = "0 0" ] || { psql_pooler_admin -c "SHOW POOLS" -c "SHOW CLIENTS" -c "SHOW SERVERS" | sed 's/^/#   /';
  tail -40 "$POOLER_DIR/pooler.log" | sed 's/^/#   /'; }
kill -0 "$POOLER_PID" 2>/dev/null
ok $? "the pooler survived $minutes minutes and $restarts replica restarts"
pooler_sanitizer_clean
ok $? "no sanitizer report"
echo "# RESULT soak: minutes=$minutes replica_restarts=$restarts rss_first_minute_kb=$base_rss rss_max_growth_kb=$max_growth rss_end_kb=$(rss)"
done_testing
