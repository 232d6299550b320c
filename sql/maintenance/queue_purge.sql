-- queue_purge.sql: deletes (optionally archives) finished queue entries older than a retention, in small
-- batches, each its own transaction, so that it never holds many locks or a long snapshot. Only entries
-- whose hour is already rolled up (finished_at < faregate.queue_rollup_state.rolled_until) are purged, so
-- queue_stats keeps answering for those hours from faregate.queue_hourly; waiting, called and serving
-- entries are never touched. The work is the procedure faregate.queue_purge (sql/faregate/20_queues.sql),
-- which pg_cron can also CALL directly.
--
-- Run daily:   psql -X -d DB -f sql/maintenance/queue_purge.sql [-v retention='30 days'] [-v archive=on]
-- Idempotent: a second run finds nothing older than the retention. Not with --single-transaction (the
-- procedure commits each batch).
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
CALL faregate.queue_purge(:'retention', :'batch', :'archive', :'max_batches');
