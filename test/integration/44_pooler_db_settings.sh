#!/usr/bin/env bash
# 44_pooler_db_settings.sh: what PgBouncer's [databases] line gives each new server connection (issue 15).
# connect_query runs once per new server connection, before a client gets it: its INSERT logs the
# backend's pid (one row per server connection, not per client), its SET is what clients see; a failing
# connect_query is logged and the connection still serves (PgBouncer's meaning), one that leaves a
# transaction open fails the login with 08006; RELOAD with a new connect_query reaches new connections.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

psql_primary -d postgres -q <<'SQL' >/dev/null 2>&1
SET client_min_messages = warning;
DROP TABLE IF EXISTS fg_cq_log;
CREATE TABLE fg_cq_log (pid int, version int);
GRANT ALL ON fg_cq_log TO PUBLIC;
SQL

db="host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres"
cq_lines() { # VERSION: the [databases] lines, with connect_query version VERSION on database cq
  CQ_LINES=("query_wait_timeout = 5" "[databases]"
    "cq = $db pool_size=2 connect_query='INSERT INTO fg_cq_log SELECT pg_backend_pid(), $1; SET enable_seqscan = off'"
    "cqbad = $db pool_size=1 connect_query='SELECT 1/0'"
    "cqtx = $db pool_size=1 connect_query='BEGIN'")
}
cq_lines 1
pooler_start "${CQ_LINES[@]}"
ok $? "the pooler starts with connect_query on [databases] lines"

# --- connect_query runs once per new server connection -------------------------------------------
pids=""
for i in 1 2 3 4 5 6; do
  pids="$pids $(psql_pooler -d cq -c 'SELECT pg_backend_pid()')"
done
is "$(psql_pooler -d cq -c 'SHOW enable_seqscan')" off "a client sees what the connect_query SET"
rows=$(psql_primary -d postgres -c 'SELECT count(*) FROM fg_cq_log')
distinct=$(psql_primary -d postgres -c 'SELECT count(DISTINCT pid) FROM fg_cq_log')
ok $([ "$rows" -ge 1 ] && [ "$rows" -le 2 ] && echo 0 || echo 1) \
  "7 clients one after another, pool_size=2: the connect_query ran once per server connection ($rows), not per client"
is "$distinct" "$rows" "... once on each of them (one row per backend pid)"
missing=0
for pid in $pids; do
  [ "$(psql_primary -d postgres -c "SELECT count(*) FROM fg_cq_log WHERE pid = $pid")" = 1 ] || missing=1
done
is "$missing" 0 "every backend a client ran on had run the connect_query before"

# --- a failing connect_query: logged, the connection serves (PgBouncer) ----------------------------
is "$(psql_pooler -d cqbad -c "SELECT 'served'" 2>&1)" served \
  "a connect_query that fails does not stop the connection from serving (PgBouncer's meaning)"
pooler_log_has "connect_query failed .*22012 division by zero"
ok $? "... and its error is logged with SQLSTATE and message"

# --- a connect_query that leaves a transaction open ----------------------------------------------
out=$(psql_pooler -d cqtx -c "SELECT 'never'" 2>&1)
like "$out" "connect_query left a transaction open" "a connect_query leaving a transaction open fails the login"
is "$(psql_primary -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")" 0 \
  "... and no server is left idle in a transaction"

# --- RELOAD with a new connect_query ------------------------------------------------------------
cq_lines 2
pooler_write_config "${CQ_LINES[@]}"
pooler_reload
ok $? "RELOAD with a changed connect_query"
# cq_version_of_server: the connect_query version the server of a new client ran
cq_version_of_server() {
  local pid
  pid=$(psql_pooler -d cq -c 'SELECT pg_backend_pid()')
  [ "$(psql_primary -d postgres -c "SELECT version FROM fg_cq_log WHERE pid = ${pid:-0}")" = 2 ]
}
wait_for 30 cq_version_of_server
ok $? "after RELOAD the clients run on servers that ran the new connect_query"
pooler_log_has "connect_query changed, reconnecting"
ok $? "... and the log says so"
pooler_stop QUIT

psql_primary -d postgres -q -c 'DROP TABLE IF EXISTS fg_cq_log' >/dev/null 2>&1
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
