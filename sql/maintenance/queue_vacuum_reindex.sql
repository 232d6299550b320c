-- queue_vacuum_reindex.sql: VACUUM (ANALYZE) of every faregate table, then REINDEX CONCURRENTLY of the
-- tables whose rows churn (queue_entries: every transition updates a row and moves it out of the waiting
-- index; queue_counters: one update per transition). REINDEX CONCURRENTLY does not block reads or writes.
--
-- Run nightly:   psql -X -d DB -f sql/maintenance/queue_vacuum_reindex.sql
-- Idempotent. Must not run inside a transaction block (VACUUM and REINDEX CONCURRENTLY refuse to), so run
-- it with psql -f as it is (autocommit), not with --single-transaction.
-- Variables (psql -v): reindex=off skips the REINDEX part.
\set ON_ERROR_STOP on
\if :{?reindex}
\else
\set reindex on
\endif

SELECT format('VACUUM (ANALYZE) %I.%I', schemaname, tablename)
  FROM pg_tables WHERE schemaname = 'faregate' ORDER BY tablename \gexec

\if :reindex
SELECT format('REINDEX TABLE CONCURRENTLY %I.%I', schemaname, tablename)
  FROM pg_tables WHERE schemaname = 'faregate' AND tablename IN ('queue_entries', 'queue_counters')
 ORDER BY tablename \gexec
\endif
