-- queue_rollup_hourly.sql: rolls finished queue entries up into faregate.queue_hourly, one row per queue
-- and UTC hour of finished_at (counts, wait and service sums, a faregate.sketch of the waits), for every
-- complete hour not rolled up yet, and advances faregate.queue_rollup_state.rolled_until. queue_stats
-- then reads those hours from queue_hourly instead of queue_entries, and queue_purge.sql may delete them.
--
-- Run hourly:   psql -X -d DB -f sql/maintenance/queue_rollup_hourly.sql
-- Idempotent: a second run in the same hour finds nothing new. One transaction; concurrent runs wait
-- for each other (row lock on queue_rollup_state).
-- Variables (psql -v):
--   grace=INTERVAL        an hour is rolled up only when it ended this long ago (default '5 minutes'), so
--                         that transactions still finishing entries of that hour have committed
--   reroll_since=TS       re-roll from this time (e.g. after importing history with "at" in the past):
--                         deletes queue_hourly rows from the hour of TS on and rolls them up again
\set ON_ERROR_STOP on
\if :{?grace}
\else
\set grace '5 minutes'
\endif

BEGIN;
INSERT INTO faregate.queue_rollup_state (singleton, rolled_until) VALUES (true, '-infinity')
    ON CONFLICT (singleton) DO NOTHING;
SELECT rolled_until FROM faregate.queue_rollup_state FOR UPDATE \gset
\if :{?reroll_since}
DELETE FROM faregate.queue_hourly
 WHERE hour >= date_trunc('hour', :'reroll_since'::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
UPDATE faregate.queue_rollup_state
   SET rolled_until = date_trunc('hour', :'reroll_since'::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
 WHERE rolled_until > date_trunc('hour', :'reroll_since'::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
SELECT rolled_until FROM faregate.queue_rollup_state \gset
\endif
SELECT :'rolled_until'::timestamptz AS from_ts,
       date_trunc('hour', (now() - :'grace'::interval) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS to_ts \gset

-- per queue, so that each scan is a range of the (queue_id, finished_at) index
INSERT INTO faregate.queue_hourly (queue_id, hour, served, no_shows, cancelled, wait_count, wait_sum_s,
                                   service_count, service_sum_s, wait_sketch)
SELECT q.queue_id, r.*
  FROM faregate.queues q
 CROSS JOIN LATERAL (
       SELECT date_trunc('hour', e.finished_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
              count(*) FILTER (WHERE e.status = 'served'),
              count(*) FILTER (WHERE e.status = 'no_show'),
              count(*) FILTER (WHERE e.status = 'cancelled'),
              count(e.called_at),
              coalesce(sum(extract(epoch FROM e.called_at - e.joined_at))::float8, 0),
              count(*) FILTER (WHERE e.status = 'served' AND e.served_at IS NOT NULL),
              coalesce(sum(extract(epoch FROM e.finished_at - e.served_at)) FILTER (WHERE e.status = 'served')::float8, 0),
              faregate.sketch_agg(extract(epoch FROM e.called_at - e.joined_at)::float8)
         FROM faregate.queue_entries e
        WHERE e.queue_id = q.queue_id AND e.finished_at IS NOT NULL
          AND e.finished_at >= :'from_ts'::timestamptz AND e.finished_at < :'to_ts'::timestamptz
        GROUP BY 1) r;

UPDATE faregate.queue_rollup_state SET rolled_until = :'to_ts'::timestamptz
 WHERE rolled_until < :'to_ts'::timestamptz;
SELECT format('queue_rollup_hourly: rolled up [%s, %s): %s queue-hours in queue_hourly now',
              :'from_ts', :'to_ts', (SELECT count(*) FROM faregate.queue_hourly)) AS result;
COMMIT;
