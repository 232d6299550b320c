#!/usr/bin/env bash
# 60_faults_replica_sigstop.sh: a replica frozen with SIGSTOP (postmaster and every backend) while reads
# run through faregate-pooler, on a cluster of its own: the health check times out, the replica is
# marked down, reads keep being answered (by the other replica or the primary), and after SIGCONT the
# replica comes back. Each read is a new psql connection with a 10 s limit. Reads already sent to the
# replica when it froze end (answered or with an error: a frozen server cannot be told apart from a slow
# one before query_timeout) instead of hanging (60 s bound; the time they took is printed); every read
# started after the pooler marked the replica down succeeds.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${FG_SIGSTOP_INNER:-}" ]; then
  exec "$top/test/harness/cluster.sh" --replicas 2 -- env FG_SIGSTOP_INNER=1 "$0"
fi
. "$top/test/integration/40_pooler_lib.bash"
POOLER_DB_EXTRA="replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT"
wait_replicas_caught_up 30 >/dev/null 2>&1
pooler_start "health_check_period = 200ms" "load_balance = round_robin" "query_timeout = 5"
ok $? "pooler started with two replicas"
pmpid=$(head -1 "$FG_REPLICA1_DATA/postmaster.pid")
frozen() { echo "$pmpid" $(pgrep -P "$pmpid"); }
reads() { # reads SECONDS: new-connection reads for SECONDS; prints "ok failed max_ms"
  local end=$((SECONDS + $1)) good=0 bad=0 max=0 t0 ms
  while [ $SECONDS -lt $end ]; do
    t0=$(date +%s%N)
    if [ "$(timeout 10 psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres -c 'SELECT 1' 2>/dev/null)" = 1 ]; then
      good=$((good + 1))
    else
      bad=$((bad + 1))
    fi
    ms=$(( ($(date +%s%N) - t0) / 1000000 )); [ $ms -gt $max ] && max=$ms
    sleep 0.05
  done
  echo "$good $bad $max"
}
read -r g b m <<<"$(reads 2)"
ok $([ "$g" -gt 0 ] && [ "$b" -eq 0 ]; echo $?) "reads before the freeze: $g answered, $b failed"
procs=$(frozen)
# never leave a frozen replica behind, whatever happens next
trap 'kill -CONT $procs 2>/dev/null; pooler_stop QUIT; rm -rf "$POOLER_DIR"' EXIT
kill -STOP $procs
# reads already on their way to the replica when it froze (4 in parallel, so that round robin sends at
# least one there): each must end, answered or with an error (query_timeout = 5 s), not hang: timeout
# kills a psql still waiting after 60 s (exit 124)
t0=$SECONDS
inflight_pids=()
for i in 1 2 3 4; do
  timeout 60 psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres -c 'SELECT 1' \
    >"$POOLER_DIR/inflight.$i" 2>&1 &
  inflight_pids+=($!)
done
hung=0
for pid in "${inflight_pids[@]}"; do wait "$pid"; [ $? -eq 124 ] && hung=$((hung + 1)); done
inflight_ok=$(cat "$POOLER_DIR"/inflight.* | grep -cx 1)
is "$hung" 0 "reads in flight at the freeze ended, none hung ($inflight_ok of 4 answered; the others got: $(grep -hE "ERROR|FATAL" "$POOLER_DIR"/inflight.* | head -1))"
diag "the reads in flight ended within $((SECONDS - t0)) s (query_timeout 5 s)"
# once the pooler marked the replica down, every new read must be answered
wait_for 30 pooler_log_has "node 1 .*down"
ok $? "the frozen replica is marked down (logged; waited up to 30 s)"
read -r g b m <<<"$(reads 6)"
kill -CONT $procs
ok $([ "$g" -gt 0 ] && [ "$b" -eq 0 ]; echo $?) "reads while replica 1 stays frozen: $g answered, $b failed (slowest ${m} ms)"
read -r g b m <<<"$(reads 3)"
ok $([ "$g" -gt 0 ] && [ "$b" -eq 0 ]; echo $?) "reads after SIGCONT: $g answered, $b failed"
wait_for 30 pooler_node_status_is 1 up
ok $? "the replica is marked up again (SHOW ROUTING; waited up to 30 s)"
kill -0 "$POOLER_PID"
ok $? "the pooler is still running"
pooler_sanitizer_clean
ok $? "no sanitizer report"
[ "$TAP_FAILED" -eq 0 ] || tail -40 "$POOLER_DIR/pooler.log" | sed 's/^/#   /'
done_testing
