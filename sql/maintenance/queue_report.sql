-- queue_report.sql: a health report of the faregate tables: bloat (dead rows, last vacuum), index usage
-- (scans, size, indexes never used), replica lag (from the primary's pg_stat_replication), the hourly
-- rollup's lag, and a check that the running counters agree with the entries.
--
-- Run any time:   psql -X -d DB -f sql/maintenance/queue_report.sql
-- Read-only and idempotent.
\set ON_ERROR_STOP on
\pset footer off

\echo '== table bloat (dead rows since the last vacuum)'
SELECT relname AS table_name, n_live_tup AS live_rows, n_dead_tup AS dead_rows,
       round(100.0 * n_dead_tup / greatest(n_live_tup + n_dead_tup, 1), 1) AS dead_pct,
       pg_size_pretty(pg_total_relation_size(relid)) AS total_size,
       greatest(last_vacuum, last_autovacuum) AS last_vacuum,
       greatest(last_analyze, last_autoanalyze) AS last_analyze
  FROM pg_stat_user_tables WHERE schemaname = 'faregate' ORDER BY n_dead_tup DESC, relname;

\echo '== index usage (never-scanned indexes are candidates for removal, except primary keys)'
SELECT s.relname AS table_name, s.indexrelname AS index_name, s.idx_scan AS scans,
       s.idx_tup_read AS tuples_read, pg_size_pretty(pg_relation_size(s.indexrelid)) AS size,
       CASE WHEN s.idx_scan = 0 AND NOT i.indisprimary AND NOT i.indisunique THEN 'unused' ELSE '' END AS note
  FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname = 'faregate' ORDER BY s.relname, s.indexrelname;

\echo '== replica lag (empty on a replica or without replicas)'
SELECT application_name, client_addr, state, sync_state,
       pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) AS replay_behind,
       write_lag, flush_lag, replay_lag
  FROM pg_stat_replication WHERE NOT pg_is_in_recovery() ORDER BY application_name;
SELECT CASE WHEN pg_is_in_recovery()
            THEN format('this node is a replica; last replayed transaction %s ago', now() - pg_last_xact_replay_timestamp())
            ELSE format('this node is the primary with %s streaming replica(s)', (SELECT count(*) FROM pg_stat_replication))
       END AS node_role;

\echo '== hourly rollup'
SELECT rolled_until, now() - rolled_until AS behind,
       (SELECT count(*) FROM faregate.queue_hourly) AS hourly_rows
  FROM faregate.queue_rollup_state;

\echo '== running counters vs entries (drift would mean a bug or a manual edit of queue_entries)'
SELECT q.queue_id, q.name, c.waiting AS counted_waiting, w.waiting AS actual_waiting,
       c.busy AS counted_busy, b.busy AS actual_busy,
       CASE WHEN c.waiting = w.waiting AND c.busy = b.busy THEN 'ok' ELSE 'DRIFT' END AS check
  FROM faregate.queues q
 CROSS JOIN LATERAL (SELECT coalesce(sum(waiting), 0) AS waiting, coalesce(sum(busy), 0) AS busy
                       FROM faregate.queue_counters WHERE queue_id = q.queue_id) c
 CROSS JOIN LATERAL (SELECT count(*) AS waiting FROM faregate.queue_entries
                      WHERE queue_id = q.queue_id AND status = 'waiting') w
 CROSS JOIN LATERAL (SELECT count(*) AS busy FROM faregate.queue_entries
                      WHERE queue_id = q.queue_id AND status IN ('called', 'serving')) b
 ORDER BY q.queue_id;
