#!/usr/bin/env bash
# bench_queues.sh: queue statistics and the sketch, measured against their peers in one run.
#   1. queue_position / queue_eta on a queue with FG_BENCH_ROWS (default 10,000,000) finished entries
#      and 10,000 waiting vs one with 10,000 finished and 10,000 waiting: per-call times and the ratio
#      (target < 2); peer: the naive position count that does not use the partial waiting index.
#   2. sketch_agg + quantile (p50, p90, p99) over FG_BENCH_ROWS durations vs percentile_cont (one sort,
#      in memory: work_mem = 2GB) and vs the tdigest extension (100 centroids): time, ratio, and the
#      worst relative error of p50/p90/p99 against percentile_cont's exact answer. Serial plans, then
#      the parallel ones that the sketch and tdigest allow (percentile_cont cannot run in parallel).
#   3. call_next with 50 concurrent pgbench clients for FG_BENCH_SECONDS (default 10) s: calls/s and
#      double calls (must be 0); peer: the same work with FOR UPDATE instead of FOR UPDATE SKIP LOCKED;
#      each with the lifecycle NOTIFY on (default) and off (faregate.queue_notify), whose commit lock
#      serializes notifying transactions.
# Run by `make bench` after the extension is installed; starts its own cluster (cluster.sh), needs the
# tdigest extension (Debian postgresql-15-tdigest, in test/harness/deps.sh). Bounded: loads use
# generate_series in one statement each; pgbench runs are time-limited; every step has a timeout.
# queue_entries is made UNLOGGED for the load (the benchmark measures reads, not WAL).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

if [ -z "${FG_CLUSTER_DIR:-}" ]; then
  exec "$top/test/harness/cluster.sh" --replicas 0 \
    --conf 'shared_buffers = 1GB' --conf 'max_wal_size = 8GB' --conf 'checkpoint_timeout = 30min' \
    --conf 'maintenance_work_mem = 512MB' --conf 'max_parallel_workers_per_gather = 2' \
    -- "$0" "$@"
fi

rows=${FG_BENCH_ROWS:-10000000}
seconds=${FG_BENCH_SECONDS:-10}
pgbench=$FG_PG_BIN/pgbench
db=fg_bench_queues
work=$(mktemp -d /tmp/fg-bench-queues.XXXXXX)
trap 'rm -rf "$work"' EXIT
sql() { timeout 900 psql -X -qAt -v ON_ERROR_STOP=1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d $db "$@"; }
log() { echo "# $*" >&2; }

psql -X -q -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d postgres -c "CREATE DATABASE $db"
sql -c "CREATE EXTENSION faregate CASCADE" -c "CREATE EXTENSION tdigest"
sql <<'SQL'
-- bench_ms(query, reps): median wall time of running query reps times, in milliseconds
CREATE FUNCTION bench_ms(q text, reps int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; times float8[] := '{}'; dummy text;
BEGIN
  FOR i IN 1..reps LOOP
    t0 := clock_timestamp();
    EXECUTE q INTO dummy;
    times := times || extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
  END LOOP;
  RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(times) t);
END $$;
SQL

# ---- 1. position and ETA: big history vs small history -----------------------------------------------
log "loading $rows finished entries (big queue) and 10,000 (small queue), 10,000 waiting in each"
t0=$SECONDS
sql <<SQL
ALTER TABLE faregate.queue_entries SET UNLOGGED;
INSERT INTO faregate.queues (name, servers) VALUES ('big', 4), ('small', 4);
-- finished history, one arrival every 3 s per queue, ending now; waits up to 10 min, 30 s walk, 2-6 min service
INSERT INTO faregate.queue_entries (queue_id, ticket, status, joined_at, called_at, served_at, finished_at)
SELECT q, NULL, 'served', t, t + w, t + w + interval '30 s', t + w + interval '30 s' + s
  FROM (SELECT CASE WHEN g <= $rows THEN 1 ELSE 2 END AS q,
               now() - interval '1 hour' - (CASE WHEN g <= $rows THEN $rows - g ELSE $rows + 10000 - g END) * interval '3 s' AS t,
               (random() * 600) * interval '1 s' AS w, (120 + random() * 240) * interval '1 s' AS s
          FROM generate_series(1, $rows + 10000) g) x;
INSERT INTO faregate.queue_entries (queue_id, ticket, status, joined_at)
SELECT q, 'W' || g, 'waiting', now() - interval '50 min' + g * interval '250 ms'
  FROM generate_series(1, 10000) g, (VALUES (1), (2)) v(q);
INSERT INTO faregate.queue_counters (queue_id, shard, waiting, busy, enqueued, served)
VALUES (1, 0, 10000, 0, $rows + 10000, $rows), (2, 0, 10000, 0, 20000, 10000);
VACUUM (ANALYZE) faregate.queue_entries;
CREATE TABLE sample AS
  SELECT queue_id, entry_id, substr(ticket, 2)::int AS g FROM faregate.queue_entries
   WHERE status = 'waiting' AND substr(ticket, 2)::int % 20 = 0;
SQL
log "loaded in $((SECONDS - t0)) s"
total=$(sql -c "SELECT count(*) FROM faregate.queue_entries WHERE queue_id = 1 AND status = 'served'")
[ "$total" -eq "$rows" ] || { echo "bench_queues: expected $rows finished entries in the big queue, found $total"; exit 1; }
per_queue=$(sql -c "SELECT count(*) FROM sample WHERE queue_id = 1")

pos_big=$(sql -c "SELECT bench_ms('SELECT sum(faregate.queue_position(entry_id)) FROM sample WHERE queue_id = 1', 5) / $per_queue")
pos_small=$(sql -c "SELECT bench_ms('SELECT sum(faregate.queue_position(entry_id)) FROM sample WHERE queue_id = 2', 5) / $per_queue")
eta_big=$(sql -c "SELECT bench_ms('SELECT count(faregate.queue_eta(1)) FROM generate_series(1, 500)', 5) / 500")
eta_small=$(sql -c "SELECT bench_ms('SELECT count(faregate.queue_eta(2)) FROM generate_series(1, 500)', 5) / 500")
wait_big=$(sql -c "SELECT bench_ms('SELECT count(faregate.estimated_wait(entry_id)) FROM sample WHERE queue_id = 1', 3) / $per_queue")
wait_small=$(sql -c "SELECT bench_ms('SELECT count(faregate.estimated_wait(entry_id)) FROM sample WHERE queue_id = 2', 3) / $per_queue")
naive=$(cat <<'SQLEOF'
SELECT sum((SELECT count(*) FROM faregate.queue_entries w WHERE w.queue_id = s.queue_id AND w.status || '' = 'waiting' AND w.joined_at <= e.joined_at)) FROM sample s JOIN faregate.queue_entries e USING (entry_id) WHERE s.queue_id = %s AND s.g %% 1000 = 0
SQLEOF
)
naive_n=$(sql -c "SELECT count(*) FROM sample WHERE queue_id = 1 AND g % 1000 = 0")
naive_big=$(sql -c "SELECT bench_ms(format(\$\$$naive\$\$, 1), 1) / $naive_n")
naive_small=$(sql -c "SELECT bench_ms(format(\$\$$naive\$\$, 2), 1) / $naive_n")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.3f", a }'; }
echo "queue_position: $(ms "$pos_big") ms/call with $rows finished + 10000 waiting; $(ms "$pos_small") ms/call with 10000 finished + 10000 waiting; ratio big/small $(ratio "$pos_big" "$pos_small") (target < 2)"
echo "queue_eta: $(ms "$eta_big") ms/call big; $(ms "$eta_small") ms/call small; ratio big/small $(ratio "$eta_big" "$eta_small") (target < 2)"
echo "estimated_wait: $(ms "$wait_big") ms/call big; $(ms "$wait_small") ms/call small; ratio big/small $(ratio "$wait_big" "$wait_small")"
echo "peer, naive position count without the partial waiting index: $(ms "$naive_big") ms/call big; $(ms "$naive_small") ms/call small; ratio big/small $(ratio "$naive_big" "$naive_small")"

# ---- 2. sketch vs percentile_cont vs tdigest -------------------------------------------------------
log "loading $rows heavy-tailed durations (lognormal, median 120 s)"
t0=$SECONDS
sql <<SQL
CREATE UNLOGGED TABLE durations AS
  SELECT (120 * exp(1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::float8 AS d
    FROM generate_series(1, $rows);
VACUUM (ANALYZE) durations;
SQL
log "loaded in $((SECONDS - t0)) s"
q_exact="SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY d)::text FROM durations"
q_sketch="SELECT ARRAY[faregate.quantile(s, 0.5), faregate.quantile(s, 0.9), faregate.quantile(s, 0.99)]::text FROM (SELECT faregate.sketch_agg(d) s FROM durations) z"
q_tdigest="SELECT tdigest_percentile(d, 100, ARRAY[0.5, 0.9, 0.99])::text FROM durations"
exact=$(sql -c "SET work_mem = '2GB'" -c "$q_exact")
exact_disc=$(sql -c "SET work_mem = '2GB'" -c "SELECT percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY d)::text FROM durations")
sketch=$(sql -c "SET max_parallel_workers_per_gather = 0" -c "$q_sketch")
tdig=$(sql -c "SET max_parallel_workers_per_gather = 0" -c "$q_tdigest")
relerr() { # relerr ARRAY_TEXT EXACT_TEXT: worst relative error over the elements
  sql -c "SELECT round(max(abs(a - e) / abs(e))::numeric, 5) FROM unnest('$1'::float8[], '$2'::float8[]) AS u(a, e)"
}
t_exact=$(sql -c "SET work_mem = '2GB'" -c "SET max_parallel_workers_per_gather = 0" -c "SELECT bench_ms(\$\$$q_exact\$\$, 3)")
t_sketch=$(sql -c "SET max_parallel_workers_per_gather = 0" -c "SELECT bench_ms(\$\$$q_sketch\$\$, 3)")
t_tdigest=$(sql -c "SET max_parallel_workers_per_gather = 0" -c "SELECT bench_ms(\$\$$q_tdigest\$\$, 3)")
t_sketch_par=$(sql -c "SELECT bench_ms(\$\$$q_sketch\$\$, 3)")
t_tdigest_par=$(sql -c "SELECT bench_ms(\$\$$q_tdigest\$\$, 3)")
sketch_par=$(sql -c "$q_sketch")
echo "p50/p90/p99 over $rows durations, serial: percentile_cont $(ms "$t_exact") ms; sketch_agg+quantile $(ms "$t_sketch") ms; tdigest(100) $(ms "$t_tdigest") ms"
echo "sketch speedup vs percentile_cont: $(ratio "$t_exact" "$t_sketch")x (target >= 3); vs tdigest: $(ratio "$t_tdigest" "$t_sketch")x"
echo "worst relative error of p50/p90/p99 vs percentile_cont: sketch $(relerr "$sketch" "$exact"); tdigest $(relerr "$tdig" "$exact"); sketch vs percentile_disc (what its 0.01 bound is stated against): $(relerr "$sketch" "$exact_disc")"
echo "  exact $exact; sketch $sketch; tdigest $tdig"
echo "parallel (2 workers): sketch_agg+quantile $(ms "$t_sketch_par") ms; tdigest $(ms "$t_tdigest_par") ms; parallel sketch answer identical to serial: $([ "$sketch_par" = "$sketch" ] && echo yes || echo NO)"

# ---- 3. call_next throughput, 50 clients -----------------------------------------------------------
entries=$((seconds * 20000))   # more than 50 clients can call in $seconds s here, so no call finds the queue empty
log "call_next: 50 clients for $seconds s each: SKIP LOCKED (faregate) and plain FOR UPDATE (peer), NOTIFY on and off"
sql <<SQL
INSERT INTO faregate.queues (name, servers)
SELECT 'calls-' || v, 50 FROM unnest(ARRAY['skip-notify', 'peer-notify', 'skip-quiet', 'peer-quiet']) v;
INSERT INTO faregate.queue_entries (queue_id, ticket, status, joined_at)
SELECT q.queue_id, 'C' || g, 'waiting', now() - interval '1 day' + g * interval '1 ms'
  FROM generate_series(1, $entries) g, faregate.queues q WHERE q.name LIKE 'calls-%';
INSERT INTO faregate.queue_counters (queue_id, shard, waiting)
SELECT queue_id, 0, $entries FROM faregate.queues WHERE name LIKE 'calls-%';
VACUUM (ANALYZE) faregate.queue_entries;
CREATE TABLE calls (queue_id bigint, entry_id bigint);
-- the peer: call_next's work (counters, NOTIFY), but FOR UPDATE waits for the row another counter is taking
CREATE FUNCTION call_next_for_update(p_queue bigint) RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE v bigint; t text;
BEGIN
  SELECT e.entry_id, e.ticket INTO v, t FROM faregate.queue_entries e
   WHERE e.queue_id = p_queue AND e.status = 'waiting' ORDER BY e.joined_at, e.entry_id LIMIT 1 FOR UPDATE;
  IF v IS NULL THEN RETURN NULL; END IF;
  UPDATE faregate.queue_entries SET status = 'called', called_at = now() WHERE entry_id = v;
  PERFORM faregate._queue_count(p_queue, -1, 1, 0, 0, 0, 0);
  PERFORM faregate._queue_notify(p_queue, v, t, 'called');
  RETURN v;
END \$\$;
SQL
run_pgbench() { # run_pgbench NAME FUNCTION NOTIFY: prints calls/s
  local q
  q=$(sql -c "SELECT queue_id FROM faregate.queues WHERE name = 'calls-$1'")
  echo "INSERT INTO calls SELECT $q, $2($q);" >"$work/$1.sql"
  PGOPTIONS="-c faregate.queue_notify=$3" timeout $((seconds + 120)) "$pgbench" -n -h "$FG_HOST" -p "$FG_PRIMARY_PORT" \
    -U postgres -c 50 -j 2 -T "$seconds" -f "$work/$1.sql" $db >"$work/$1.log" 2>&1 || { cat "$work/$1.log" >&2; return 1; }
  sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p' "$work/$1.log"
}
check() { # check NAME: "N calls, D double calls, E found the queue empty"
  sql -c "SELECT format('%s calls, %s double calls, %s found the queue empty', count(entry_id),
                        count(entry_id) - count(DISTINCT entry_id), count(*) - count(entry_id))
            FROM calls WHERE queue_id = (SELECT queue_id FROM faregate.queues WHERE name = 'calls-$1')"
}
int() { awk -v a="$1" 'BEGIN { printf "%.0f", a }'; }
tps_skip=$(run_pgbench skip-notify faregate.call_next on)
tps_peer=$(run_pgbench peer-notify call_next_for_update on)
tps_skip_quiet=$(run_pgbench skip-quiet faregate.call_next off)
tps_peer_quiet=$(run_pgbench peer-quiet call_next_for_update off)
echo "call_next, 50 clients, ${seconds} s, NOTIFY on (default): $(int "$tps_skip") calls/s; $(check skip-notify)"
echo "peer FOR UPDATE without SKIP LOCKED, NOTIFY on: $(int "$tps_peer") calls/s; $(check peer-notify); call_next/peer $(ratio "$tps_skip" "$tps_peer")x"
echo "call_next, 50 clients, faregate.queue_notify = off: $(int "$tps_skip_quiet") calls/s; $(check skip-quiet)"
echo "peer FOR UPDATE without SKIP LOCKED, NOTIFY off: $(int "$tps_peer_quiet") calls/s; $(check peer-quiet); call_next/peer $(ratio "$tps_skip_quiet" "$tps_peer_quiet")x"
[ "$rows" -eq 10000000 ] || echo "NOTE: run with FG_BENCH_ROWS=$rows instead of the 10,000,000 the issue names"
