#!/usr/bin/env bash
# 20_queues_maintenance.sh: the DBA scripts in sql/maintenance/ (rollup, purge, vacuum/reindex, report) run
# with psql -f, twice in a row, without error; the hourly rollup leaves queue_stats' answer unchanged (the
# counts exactly, the percentiles identically) while moving whole hours to faregate.queue_hourly; the purge
# deletes only rolled-up history older than the retention, and archives it when asked.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../harness/tap.sh"
maint=$here/../../sql/maintenance
db=fg_queues_maint

recreate_db $db || { ok 1 "database $db created"; done_testing; exit 1; }
psql_primary -d $db -c "CREATE EXTENSION faregate CASCADE" >/dev/null
ok $? "database with faregate"

# 3 queues, 40 hours of history (a finished entry per minute and queue) plus a few waiting. No entry
# finishes between 10 h 6 min and 9 h 39 min before loading (i = 1780..1820 are left out; an entry finishes
# within 15 min of being enqueued): the purge's retention boundary (now() - 10 hours) falls in that gap
# however many minutes pass on a loaded machine between loading and either purge, so the second purge
# has nothing left to find.
psql_primary -d $db >/dev/null <<'SQL'
INSERT INTO faregate.queues (name, servers) SELECT 'maint-' || g, g FROM generate_series(1, 3) g;
DO $$
DECLARE
  id bigint;
  t timestamptz;
  q record;
BEGIN
  FOR q IN SELECT queue_id FROM faregate.queues LOOP
    FOR i IN 1..2400 LOOP
      CONTINUE WHEN i BETWEEN 1780 AND 1820;
      t := now() - interval '40 hours' + i * interval '1 minute';
      PERFORM faregate.enqueue(q.queue_id, 'T' || i, t);
      id := faregate.call_next(q.queue_id, t + (i % 37) * interval '13 s');
      IF i % 11 = 0 THEN
        PERFORM faregate.mark_no_show(id, t + (i % 37) * interval '13 s' + interval '2 min');
      ELSIF i % 17 = 0 THEN
        PERFORM faregate.cancel(id, t + (i % 37) * interval '13 s' + interval '1 min');
      ELSE
        PERFORM faregate.start_service(id, t + (i % 37) * interval '13 s' + interval '30 s');
        PERFORM faregate.finish(id, t + (i % 37) * interval '13 s' + interval '30 s' + (i % 7) * interval '1 min');
      END IF;
    END LOOP;
    PERFORM faregate.enqueue(q.queue_id, 'W' || k) FROM generate_series(1, 4) k;
  END LOOP;
END $$;
SQL
ok $? "history loaded"

stats_sql="SELECT string_agg(format('%s:%s', queue_id, s), ' ' ORDER BY queue_id) FROM (
  SELECT queue_id, (SELECT row(waiting, served, no_shows, cancelled, p50_wait, p90_wait, p99_wait,
                               date_trunc('second', avg_wait), date_trunc('second', avg_service))::text
                      FROM faregate.queue_stats(queue_id, date_trunc('hour', now()) - interval '30 hours')) s
    FROM faregate.queues) x"
before=$(psql_primary -d $db -c "$stats_sql")
like "$before" '^[0-9]+:\(4,[0-9]+,' "queue_stats before the rollup: $(echo "$before" | cut -c1-80)..."

for run in 1 2; do
  out[$run]=$(psql_primary -d $db -v ON_ERROR_STOP=1 -f "$maint/queue_rollup_hourly.sql" 2>&1)
  ok $? "queue_rollup_hourly.sql run $run"
done
like "${out[1]}" 'rolled up \[-infinity, .*\): 1[0-9][0-9] queue-hours' "the first rollup reports the queue-hours it rolled up"
like "${out[2]}" 'nothing to roll up' "the second rollup finds nothing new"
hours=$(psql_primary -d $db -c "SELECT count(*) FROM faregate.queue_hourly")
[ "$hours" -ge 114 ]; ok $? "queue_hourly holds one row per queue and hour ($hours rows)"
is "$(psql_primary -d $db -c "SELECT (SELECT sum(served + no_shows + cancelled) FROM faregate.queue_hourly)
      = (SELECT count(*) FROM faregate.queue_entries e, faregate.queue_rollup_state r WHERE e.finished_at < r.rolled_until)")" t \
   "the second run added nothing: every finished entry before the watermark is counted once"
after=$(psql_primary -d $db -c "$stats_sql")
is "$after" "$before" "queue_stats is the same before and after the rollup (counts, p50/p90/p99, averages)"

# purge: keep 10 hours; only rolled-up history goes
finished_before=$(psql_primary -d $db -c "SELECT count(*) FROM faregate.queue_entries WHERE finished_at IS NOT NULL")
for run in 1 2; do
  out=$(psql_primary -d $db -v ON_ERROR_STOP=1 -v retention='10 hours' -v batch=500 -v archive=on \
        -f "$maint/queue_purge.sql" 2>&1)
  ok $? "queue_purge.sql run $run"
done
like "$out" 'queue_purge: 0 entries' "the second purge finds nothing left to purge"
is "$(psql_primary -d $db -c "SELECT count(*) FROM faregate.queue_entries WHERE finished_at < now() - interval '10 hours'")" 0 \
   "no finished entry older than the retention is left"
is "$(psql_primary -d $db -c "SELECT (SELECT count(*) FROM faregate_archive.queue_entries)
      + (SELECT count(*) FROM faregate.queue_entries WHERE finished_at IS NOT NULL)")" "$finished_before" \
   "archive=on moved the rows: archived + kept = finished before the purge"
is "$(psql_primary -d $db -c "SELECT count(*) FROM faregate.queue_entries WHERE status = 'waiting'")" 12 \
   "waiting entries are never purged"
after_purge=$(psql_primary -d $db -c "$stats_sql")
is "$after_purge" "$before" "queue_stats over the last 30 whole hours is unchanged after the purge (from queue_hourly)"

for run in 1 2; do
  out=$(psql_primary -d $db -e -v ON_ERROR_STOP=1 -f "$maint/queue_vacuum_reindex.sql" 2>&1)
  ok $? "queue_vacuum_reindex.sql run $run"
done
like "$out" 'REINDEX' "the REINDEX CONCURRENTLY statements ran"
is "$(psql_primary -d $db -c "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'faregate' AND NOT i.indisvalid")" 0 \
   "no invalid index is left behind"

for run in 1 2; do
  out=$(psql_primary -d $db -v ON_ERROR_STOP=1 -f "$maint/queue_report.sql" 2>&1)
  ok $? "queue_report.sql run $run"
done
like "$out" 'index usage' "the report has an index usage section"
like "$out" 'streaming replica' "the report names the replication state"
[ "$(printf '%s\n' "$out" | grep -c '|ok$')" -eq 3 ]; ok $? "the counter check says ok for all 3 queues"
! printf '%s\n' "$out" | grep -q DRIFT; ok $? "no counter drift"

psql_primary -d postgres -c "DROP DATABASE $db" >/dev/null
done_testing
