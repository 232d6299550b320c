-- queue_rollup_hourly.sql: rolls finished queue entries up into faregate.queue_hourly, one row per queue
-- and UTC hour of finished_at (counts, wait and service sums, a faregate.sketch of the waits), for every
-- complete hour not rolled up yet, and advances faregate.queue_rollup_state.rolled_until. queue_stats
-- then reads those hours from queue_hourly instead of queue_entries, and queue_purge.sql may delete them.
-- The work is the procedure faregate.queue_rollup_hourly (sql/faregate/20_queues.sql), which pg_cron
-- can also CALL directly (docs/queues.md).
--
-- Run hourly:   psql -X -d DB -f sql/maintenance/queue_rollup_hourly.sql
-- Idempotent: a second run in the same hour finds nothing new. One transaction; concurrent runs take
-- turns (row lock on queue_rollup_state).
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
\if :{?reroll_since}
CALL faregate.queue_rollup_hourly(:'grace', :'reroll_since');
\else
CALL faregate.queue_rollup_hourly(:'grace');
\endif
