-- queue_purge.sql: deletes (optionally archives) finished queue entries older than a retention, in small
-- batches, each its own transaction, so that it never holds many locks or a long snapshot. Only entries
-- whose hour is already rolled up (finished_at < faregate.queue_rollup_state.rolled_until) are purged, so
-- queue_stats keeps answering for those hours from faregate.queue_hourly; waiting, called and serving
-- entries are never touched.
--
-- Run daily:   psql -X -d DB -f sql/maintenance/queue_purge.sql [-v retention='30 days'] [-v archive=on]
-- Idempotent: a second run finds nothing older than the retention.
-- Variables (psql -v):
--   retention=INTERVAL   keep this much finished history (default '90 days')
--   batch=N              rows per batch and transaction (default 5000)
--   archive=on|off       on: move the rows to faregate_archive.queue_entries (created when missing)
--   max_batches=N        stop after N batches (default 100000), a bound on one run
\set ON_ERROR_STOP on
\if :{?retention}
\else
\set retention '90 days'
\endif
\if :{?batch}
\else
\set batch 5000
\endif
\if :{?archive}
\else
\set archive off
\endif
\if :{?max_batches}
\else
\set max_batches 100000
\endif

SELECT set_config('faregate_maintenance.retention', :'retention', false),
       set_config('faregate_maintenance.batch', :'batch', false),
       set_config('faregate_maintenance.archive', :'archive', false),
       set_config('faregate_maintenance.max_batches', :'max_batches', false) \gset

\if :archive
CREATE SCHEMA IF NOT EXISTS faregate_archive;
CREATE TABLE IF NOT EXISTS faregate_archive.queue_entries
    (LIKE faregate.queue_entries INCLUDING DEFAULTS EXCLUDING IDENTITY);
\endif

DO $$
DECLARE
    retention   interval := current_setting('faregate_maintenance.retention')::interval;
    batch       int := current_setting('faregate_maintenance.batch')::int;
    archive     bool := current_setting('faregate_maintenance.archive')::bool;
    max_batches int := current_setting('faregate_maintenance.max_batches')::int;
    cutoff      timestamptz;
    q           bigint;
    n           bigint;
    total       bigint := 0;
    batches     int := 0;
BEGIN
    SELECT least(now() - retention, coalesce(max(rolled_until), '-infinity'))
      INTO cutoff FROM faregate.queue_rollup_state;
    FOR q IN SELECT queue_id FROM faregate.queues ORDER BY queue_id LOOP
        LOOP
            IF archive THEN
                WITH doomed AS (
                    SELECT entry_id FROM faregate.queue_entries
                     WHERE queue_id = q AND finished_at IS NOT NULL AND finished_at < cutoff
                     LIMIT batch FOR UPDATE SKIP LOCKED),
                gone AS (
                    DELETE FROM faregate.queue_entries e USING doomed d WHERE e.entry_id = d.entry_id
                    RETURNING e.*)
                INSERT INTO faregate_archive.queue_entries SELECT * FROM gone;
            ELSE
                DELETE FROM faregate.queue_entries e
                 WHERE e.entry_id IN (SELECT entry_id FROM faregate.queue_entries
                                       WHERE queue_id = q AND finished_at IS NOT NULL AND finished_at < cutoff
                                       LIMIT batch FOR UPDATE SKIP LOCKED);
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            total := total + n;
            batches := batches + 1;
            COMMIT;
            EXIT WHEN n < batch OR batches >= max_batches;
        END LOOP;
        EXIT WHEN batches >= max_batches;
    END LOOP;
    RAISE NOTICE 'queue_purge: % entries finished before % % in % batches', total, cutoff,
        CASE WHEN archive THEN 'archived' ELSE 'deleted' END, batches;
END
$$;
