#!/usr/bin/env bash
# 44_pooler_db_settings.sh: what PgBouncer's [databases] line gives each new server connection (issue 15).
# connect_query runs once per new server connection, before a client gets it: its INSERT logs the
# backend's pid (one row per server connection, not per client), its SET is what clients see; a failing
# connect_query is logged and the connection still serves (PgBouncer's meaning), one that leaves a
# transaction open fails the login with 08006; RELOAD with a new connect_query reaches new connections.
# client_encoding, datestyle, timezone on the line: the server connections start with them, a client that
# sets none gets them, a client's own startup value or SET wins on the same server; RELOAD changes them.
# [users] query_timeout, idle_transaction_timeout, transaction_timeout, client_idle_timeout: each ends that
# user's query/transaction/connection while other users run on; a user's value replaces the [pooler] one.
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
pooler_log_has "connect_query or startup parameters changed, reconnecting"
ok $? "... and the log says so"
pooler_stop QUIT

# --- client_encoding, datestyle, timezone: the server's startup values; a client's own still wins ---
# pool_size=1 and transaction mode: every client below runs on the same server connection in turn
sp_lines() { # TIMEZONE
  SP_LINES=("[databases]"
    "sp = $db pool_size=1 client_encoding=SQL_ASCII datestyle='SQL, DMY' timezone=$1"
    "plain = $db pool_size=1")
}
sp_lines Pacific/Auckland
pooler_start "${SP_LINES[@]}"
ok $? "the pooler starts with client_encoding, datestyle and timezone on a database line"
# show_sp [ENV...]: TimeZone|DateStyle|client_encoding a client of database sp sees, with ENV set for psql
show_sp() {
  env -u PGCLIENTENCODING -u PGTZ -u PGDATESTYLE "$@" psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres \
    -d "${SP_DB:-sp}" -c "SELECT current_setting('TimeZone') || '|' || current_setting('DateStyle') || '|' || \
    current_setting('client_encoding')" 2>&1
}
server_sp() { # the values the server connection started with (pg_settings.reset_val)
  psql_pooler -d sp -c "SELECT string_agg(reset_val, '|' ORDER BY name) FROM pg_settings
    WHERE name IN ('TimeZone', 'DateStyle', 'client_encoding')"
}
is "$(show_sp)" "Pacific/Auckland|SQL, DMY|SQL_ASCII" "a client that sets none gets the database line's values"
is "$(server_sp)" "SQL, DMY|Pacific/Auckland|SQL_ASCII" "... which the server connection started with (reset_val)"
is "$(show_sp PGTZ=UTC PGDATESTYLE='ISO, YMD' PGCLIENTENCODING=UTF8)" "UTC|ISO, YMD|UTF8" \
  "a client's own startup values win over the database line's"
is "$(server_sp)" "SQL, DMY|Pacific/Auckland|SQL_ASCII" "... on the same server, still started with the line's values"
is "$(show_sp)" "Pacific/Auckland|SQL, DMY|SQL_ASCII" \
  "the next client that sets none gets the line's values again on that server"
is "$(show_sp PGCLIENTENCODING=UTF8)" "Pacific/Auckland|SQL, DMY|UTF8" \
  "client_encoding=UTF8 from the client (as PgBouncer's suite connects) on a SQL_ASCII database line"
out=$(psql_pooler -d sp -c "SET TimeZone = 'Asia/Tokyo'" -c "SELECT current_setting('TimeZone')")
is "$out" "Asia/Tokyo" "a client's SET wins too"
is "$(show_sp)" "Pacific/Auckland|SQL, DMY|SQL_ASCII" "... and does not reach the next client"
is "$(SP_DB=plain show_sp)" "$(psql_primary -d postgres -c "SELECT current_setting('TimeZone') || '|' ||
  current_setting('DateStyle') || '|' || current_setting('client_encoding')")" \
  "a database line without them gets the server's defaults"

sp_lines Europe/Lisbon
pooler_write_config "${SP_LINES[@]}"
pooler_reload
ok $? "RELOAD with another timezone on the line"
sp_lisbon() { [ "$(show_sp)" = "Europe/Lisbon|SQL, DMY|SQL_ASCII" ]; }
wait_for 30 sp_lisbon
ok $? "after RELOAD new clients get the new timezone"
is "$(server_sp)" "SQL, DMY|Europe/Lisbon|SQL_ASCII" "... from a server connection started with it"
pooler_stop QUIT

pooler_start "[databases]" "bad = $db timezone=No/Such_Zone"
out=$(psql_pooler -d bad -c 'SELECT 1' 2>&1)
like "$out" "No/Such_Zone" "a timezone PostgreSQL refuses fails the login with PostgreSQL's error"
pooler_stop QUIT

# --- [users] timeouts: a user's value replaces the [pooler] one for that user ------------------------
psql_primary -d postgres -q <<'SQL' >/dev/null 2>&1
SET client_min_messages = warning;
DROP ROLE IF EXISTS fg_to_q; DROP ROLE IF EXISTS fg_to_tx; DROP ROLE IF EXISTS fg_to_idle; DROP ROLE IF EXISTS fg_to_long;
CREATE ROLE fg_to_q LOGIN; CREATE ROLE fg_to_tx LOGIN; CREATE ROLE fg_to_idle LOGIN; CREATE ROLE fg_to_long LOGIN;
SQL
TO_LINES=("idle_transaction_timeout = 1" "[databases]" "to = $db"
  "[users]"
  "fg_to_q = query_timeout=1"
  "fg_to_tx = transaction_timeout=2 idle_transaction_timeout=10min"
  "fg_to_idle = client_idle_timeout=1"
  "fg_to_long = idle_transaction_timeout=10min")
pooler_start "${TO_LINES[@]}"
ok $? "the pooler starts with query_timeout, idle_transaction_timeout, transaction_timeout, client_idle_timeout on [users] lines"
as_user() { local user=$1; shift; psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U "$user" -d to "$@" 2>&1; }

out=$(as_user fg_to_q -c 'SELECT pg_sleep(60)')
like "$out" "query_timeout" "query_timeout=1 on fg_to_q's line ends its long query"
is "$(as_user postgres -c 'SELECT pg_sleep(2)' -c "SELECT 'done'" | tail -1)" done "... while another user's query runs on (no [pooler] query_timeout)"

out=$(as_user postgres -c 'BEGIN' -c '\! sleep 4' -c "SELECT 'after'")
like "$out" "idle_transaction_timeout" "the [pooler] idle_transaction_timeout = 1 ends an idle transaction of a user with no line"
is "$(as_user fg_to_long -c 'BEGIN' -c '\! sleep 4' -c "SELECT 'after'" -c 'COMMIT')" after \
  "fg_to_long's idle_transaction_timeout=10min replaces the [pooler] 1 s for that user"

out=$(as_user fg_to_tx -c 'BEGIN' -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' \
  -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' -c "SELECT 'survived'" -c 'COMMIT')
like "$out" "transaction_timeout" "transaction_timeout=2 ends fg_to_tx's busy transaction (never idle, no query long)"
ok $(grep -q survived <<<"$out" && echo 1 || echo 0) "... before it could finish"
is "$(as_user fg_to_long -c 'BEGIN' -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' \
  -c "SELECT 'survived'" -c 'COMMIT' | tail -1)" survived "... while another user's 3 s transaction commits (no [pooler] transaction_timeout)"

out=$(as_user fg_to_idle -c "SELECT 'first'" -c '\! sleep 4' -c "SELECT 'second'")
like "$out" "client_idle_timeout|closed" "client_idle_timeout=1 closes fg_to_idle's idle connection"
ok $(grep -q second <<<"$out" && echo 1 || echo 0) "... so its next query does not run"
is "$(as_user fg_to_long -c "SELECT 'first'" -c '\! sleep 4' -c "SELECT 'second'" | tr '\n' ' ')" "first second " \
  "another user's connection idles on (no [pooler] client_idle_timeout)"

pooler_write_config "${TO_LINES[@]:0:1}" "transaction_timeout = 2" "${TO_LINES[@]:1}"
pooler_reload
out=$(as_user fg_to_long -c 'BEGIN' -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' \
  -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' -c 'SELECT pg_sleep(1)' -c "SELECT 'survived'" -c 'COMMIT')
like "$out" "25P04|transaction_timeout" "the [pooler] transaction_timeout = 2 (after RELOAD) ends a longer transaction"
out=$(as_user fg_to_long -c 'SELECT pg_sleep(60)')
like "$out" "transaction_timeout" "... and a single statement outside a block that runs longer"
is "$(psql_primary -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'fg_to_%' AND state <> 'idle'")" 0 \
  "no server of these users is left running or idle in a transaction"
pooler_stop QUIT
psql_primary -d postgres -q -c 'DROP ROLE IF EXISTS fg_to_q' -c 'DROP ROLE IF EXISTS fg_to_tx' \
  -c 'DROP ROLE IF EXISTS fg_to_idle' -c 'DROP ROLE IF EXISTS fg_to_long' >/dev/null 2>&1

psql_primary -d postgres -q -c 'DROP TABLE IF EXISTS fg_cq_log' >/dev/null 2>&1
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
