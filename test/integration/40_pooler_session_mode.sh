#!/usr/bin/env bash
# 40_pooler_session_mode.sh: pool_mode = session: a client keeps one server connection for its whole
# session; server_reset_query (DISCARD ALL) runs before the connection serves the next client.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

POOLER_DB_EXTRA="pool_size=1"
pooler_start "pool_mode = session"
ok $? "pooler starts in session mode"
out=$(psql_pooler -c "SET work_mem = '77MB'" -c "SELECT current_setting('work_mem'), pg_backend_pid()" \
  -c "PREPARE s AS SELECT 1" -c "SELECT current_setting('work_mem'), pg_backend_pid()")
first=$(echo "$out" | head -1)
like "$first" "^77MB\|[0-9]+$" "a session setting holds within the session"
is "$(echo "$out" | tail -1)" "$first" "… on the same backend for the whole session"
out=$(psql_pooler -c "SELECT current_setting('work_mem'), pg_backend_pid()" -c "EXECUTE s" 2>&1)
like "$out" "^4MB\|${first#*|}" "the next client gets the same backend, reset by DISCARD ALL"
like "$out" "prepared statement \"s\" does not exist" "… without the previous session's prepared statement"
[ "$(psql_primary -d postgres -c "SELECT to_regclass('pgbench_accounts') IS NOT NULL")" = t ] ||
  pgbench -i -q -s 1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres postgres >/dev/null 2>&1
out=$(timeout 60 pgbench -n -M prepared -S -c 4 -T 2 -h 127.0.0.1 -p "$POOLER_PORT" -U postgres postgres 2>&1)
like "$out" "number of failed transactions: 0 " "pgbench -M prepared, 4 clients sharing 1 server in session mode"
pooler_log_has "closing because" ; ok $? "connections are logged"
pooler_stop QUIT
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
