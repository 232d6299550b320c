#!/usr/bin/env bash
# 50_routing_replica_stop.sh: a replica stopped (pg_ctl stop -m fast) in the middle of a pgbench -S
# run through faregate-pooler, on a cluster of its own: no autocommit read may fail (a read whose
# replica dies before replying is retried once on another node, transparently; new reads avoid the
# node once its health check fails), and the pooler logs the retries and the node going down.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${FG_STOP_INNER:-}" ]; then
  exec "$top/test/harness/cluster.sh" --replicas 2 -- env FG_STOP_INNER=1 "$0"
fi
. "$top/test/integration/40_pooler_lib.bash"
POOLER_DB_EXTRA="replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT"
"$FG_PG_BIN/pgbench" -i -q -s 1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres postgres >/dev/null 2>&1
wait_replicas_caught_up 30
pooler_start "health_check_period = 200ms" "load_balance = round_robin" || { ok 1 "pooler started"; done_testing; exit 0; }
psql_pooler -c 'SELECT 1' >/dev/null
sleep 0.5
"$FG_PG_BIN/pgbench" -n -S -c 8 -j 2 -T 5 -h 127.0.0.1 -p "$POOLER_PORT" -U postgres postgres \
  >"$POOLER_DIR/pgbench.out" 2>&1 &
bench=$!
sleep 2
$FG_RUN_AS "$FG_PG_BIN/pg_ctl" -D "$FG_REPLICA1_DATA" -m fast -w -t 20 stop >/dev/null
wait $bench
rc=$?
sed 's/^/# /' "$POOLER_DIR/pgbench.out" | grep -E "processed|failed|error|abort|tps" | head -8
is "$rc" 0 "pgbench -S exits 0 across the replica stop"
failed=$(grep -oE "number of failed transactions: [0-9]+" "$POOLER_DIR/pgbench.out" | grep -oE "[0-9]+$")
is "${failed:-0}" 0 "no failed autocommit read"
ok $(grep -qiE "error|abort" "$POOLER_DIR/pgbench.out" && echo 1 || echo 0) "pgbench reports no error"
ok $(pooler_log_has "node 1 .* down" && echo 0 || echo 1) "the stopped replica is marked down (logged)"
ok $(pooler_log_has "read retried on another node" && echo 0 || echo 1) "in-flight reads were retried (logged)"
[ -n "${FG_KEEP_LOG:-}" ] && cp "$POOLER_DIR/pooler.log" /tmp/rt/last.log; cp "$POOLER_DIR/stderr.log" /tmp/rt/last.err
done_testing
