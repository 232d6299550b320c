#!/usr/bin/env bash
# 20_queues_replica.sh: the STABLE queue functions (queue_position, estimated_wait, queue_eta,
# queue_stats) and the sketch answer on a streaming replica exactly as on the primary, which is what
# lets the pooler route them to replicas; the VOLATILE lifecycle functions fail there as writes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../harness/tap.sh"
db=fg_queues_replica

recreate_db $db || { ok 1 "database $db created"; done_testing; exit 1; }
psql_primary -d $db >/dev/null <<'SQL'
CREATE EXTENSION faregate CASCADE;
INSERT INTO faregate.queues (name, servers) VALUES ('replica', 2);
SELECT count(faregate.enqueue(1, 'R' || g, now() - interval '2 hours' + g * interval '1 min')) FROM generate_series(1, 40) g;
DO $$
DECLARE id bigint;
BEGIN
  FOR i IN 1..25 LOOP
    id := faregate.call_next(1, now() - interval '2 hours' + i * interval '2 min');
    PERFORM faregate.start_service(id, now() - interval '2 hours' + i * interval '2 min' + interval '20 s');
    PERFORM faregate.finish(id, now() - interval '2 hours' + i * interval '2 min' + interval '200 s');
  END LOOP;
END $$;
SQL
ok $? "a queue with 25 served and 15 waiting on the primary"
wait_replicas_caught_up 30
ok $? "replicas caught up"

q="SELECT string_agg(coalesce(faregate.queue_position(entry_id)::text, '-') || '/' || coalesce(faregate.estimated_wait(entry_id)::text, '-'), ' ' ORDER BY entry_id)
     || ' eta=' || faregate.queue_eta(1)
     || ' stats=' || (SELECT row(s.waiting, s.served, s.p50_wait, s.p99_wait, s.avg_service)::text FROM faregate.queue_stats(1, now() - interval '1 day') s)
     || ' sketch=' || (SELECT faregate.quantile(faregate.sketch_agg(extract(epoch FROM called_at - joined_at)), 0.9) FROM faregate.queue_entries)
   FROM faregate.queue_entries"
on_primary=$(psql_primary -d $db -c "$q" 2>&1)
like "$on_primary" '^-/- .* 1/00:00:00 2/00:00:00 3/00:01:30 .*15/00:19:30 eta=00:21:00 stats=\(15,25,' "the primary: positions 1..15, waits (k - 2) x 180 s / 2, ETA 21 min, stats"
n=0
for port in $FG_REPLICA_PORTS; do
  n=$((n + 1))
  is "$(psql_port "$port" -d $db -c "$q" 2>&1)" "$on_primary" "replica $n gives the same answers as the primary"
  out=$(psql_port "$port" -d $db -c "SELECT faregate.call_next(1)" 2>&1)
  like "$out" 'read-only transaction' "replica $n refuses call_next (a write)"
done

psql_primary -d postgres -c "DROP DATABASE $db" >/dev/null
done_testing
