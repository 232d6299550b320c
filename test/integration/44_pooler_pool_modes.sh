#!/usr/bin/env bash
# 44_pooler_pool_modes.sh: PgBouncer's pool modes and where they are set (issue 15). pool_mode = statement
# ([pgbouncer]): single statements run, a transaction left open at a ReadyForQuery closes the client with
# PgBouncer's "transaction blocks not allowed in statement pooling mode" (the log says "closing because: ..."). pool_mode= on a
# [databases] line and on a [users] line (the user's wins, then the database's, then the global one): a
# session-mode client that sits idle keeps its server (a second client of a pool_size=1 pool waits until
# query_wait_timeout), a transaction/statement-mode one gives it back. SHOW POOLS and SHOW DATABASES show
# each pool's mode; SET pool_mode changes the pools that inherit it.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

pooler_fresh_login_roles fg_pm_sess

db="host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres pool_size=1"
POOLER_DB_EXTRA="pool_size=1"
pooler_start "pool_mode = statement" "query_wait_timeout = 2" \
  "[databases]" "sess = $db pool_mode=session" "txn = $db pool_mode=transaction" "plain = $db" \
  "[users]" "fg_pm_sess = pool_mode=session"
ok $? "the pooler starts with pool_mode = statement, per-database and per-user pool_mode"

# --- statement mode -----------------------------------------------------------------------------
is "$(psql_pooler -c 'SELECT 1' -c 'SELECT 2' | tr '\n' ' ')" "1 2 " "statement mode: single statements run"
out=$(psql_pooler -c 'BEGIN' -c 'SELECT 1' 2>&1)
ok $([ $? -ne 0 ] && echo 0 || echo 1) "statement mode: BEGIN fails"
like "$out" "transaction blocks not allowed in statement pooling mode" "... with PgBouncer's message"
pooler_log_has "closing because: transaction blocks not allowed in statement pooling mode"
ok $? "... and PgBouncer's log line"
is "$(psql_pooler -c 'BEGIN; SELECT 1; COMMIT;' 2>&1)" 1 \
  "statement mode: a whole transaction in one Query message runs (it ends idle at its ReadyForQuery, as PgBouncer checks)"
is "$(psql_pooler -c 'SELECT 3')" 3 "the pool serves the next client (the server in a transaction was closed)"
is "$(psql_primary -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")" 0 \
  "no server is left idle in a transaction"

# --- session vs transaction: an idle client of a pool_size=1 pool ----------------------------------
# holder DB USER: a client that logs in, runs one statement and then sits idle (its psql reads a fifo)
holder() {
  rm -f "$POOLER_DIR/fifo"
  mkfifo "$POOLER_DIR/fifo"
  psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U "$2" -d "$1" <"$POOLER_DIR/fifo" >"$POOLER_DIR/holder.out" 2>&1 &
  HOLDER_PID=$!
  exec 7>"$POOLER_DIR/fifo"
  echo "SELECT 'held';" >&7
  wait_for 30 grep -q held "$POOLER_DIR/holder.out"
}
release_holder() { echo "SELECT 'bye';" >&7; exec 7>&-; wait "$HOLDER_PID"; }
second() { psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U "$2" -d "$1" -c "SELECT 'second'" 2>&1; }

holder sess postgres
ok $? "session database: the first client logged in and ran a statement"
out=$(second sess postgres)
like "$out" "query_wait_timeout|wait" "pool_mode=session on the database line: an idle client keeps the only server"
release_holder
is "$(second sess postgres)" second "... which serves the next client once it leaves"

holder txn postgres
is "$(second txn postgres)" second "pool_mode=transaction on the database line: an idle client does not hold the server"
release_holder
holder plain postgres
is "$(second plain postgres)" second "a database without pool_mode inherits statement mode: no server held while idle"
release_holder

holder plain fg_pm_sess
out=$(second plain fg_pm_sess)
like "$out" "query_wait_timeout|wait" "pool_mode=session on a [users] line: that user's idle client keeps the server"
release_holder
holder txn fg_pm_sess
out=$(second txn fg_pm_sess)
like "$out" "query_wait_timeout|wait" "... also on a database with its own pool_mode (the user's wins, PgBouncer's order)"
release_holder
is "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U fg_pm_sess -d plain -c 'BEGIN' -c "SELECT 'in'" -c 'COMMIT' 2>&1 | tr '\n' ' ')" \
  "in " "the session-mode user may run a transaction block on the statement-mode database"

# --- the console ------------------------------------------------------------------------------------
pools=$(psql_pooler -d pgbouncer -c 'SHOW POOLS' | awk -F'|' '{ print $1 "/" $2 "=" $16 }' | sort | tr '\n' ' ')
like "$pools" "plain/postgres=statement " "SHOW POOLS: the inheriting pool runs in statement mode"
like "$pools" "sess/postgres=session " "SHOW POOLS: the database's session mode"
like "$pools" "txn/postgres=transaction " "SHOW POOLS: the database's transaction mode"
like "$pools" "txn/fg_pm_sess=session " "SHOW POOLS: the user's session mode over the database's"
is "$(psql_pooler -d pgbouncer -c 'SHOW DATABASES' | awk -F'|' '$1 ~ /^(sess|txn|plain)$/ { print $1 "=" $10 }' | sort | tr '\n' ' ')" \
  "plain= sess=session txn=transaction " "SHOW DATABASES: pool_mode of the line, NULL when inherited"
is "$(psql_pooler -d pgbouncer -c 'SHOW USERS' | awk -F'|' '$1 == "fg_pm_sess" { print $4 }')" session \
  "SHOW USERS: the [users] pool_mode"
psql_pooler -d pgbouncer -c 'SET pool_mode = transaction' >/dev/null 2>&1
is "$(psql_pooler -d plain -c 'BEGIN' -c "SELECT 'block'" -c 'COMMIT' 2>&1 | tr '\n' ' ')" "block " \
  "SET pool_mode = transaction: an inheriting pool allows transaction blocks at once"
out=$(psql_pooler -d pgbouncer -c 'SET pool_mode = bogus' 2>&1)
like "$out" "pool_mode must be session, transaction or statement" "SET pool_mode with a bad value is refused"
pooler_stop QUIT

# --- refusals ---------------------------------------------------------------------------------------
pooler_write_config "[databases]" "bad = $db pool_mode=sesion"
out=$("$POOLER_BIN" -C "$POOLER_DIR/pooler.ini" 2>&1)
like "$out" "pooler.ini:[0-9]+: pool_mode must be session, transaction or statement, not \"sesion\"" \
  "a misspelt pool_mode on a database line stops start-up with its line"

psql_primary -d postgres -q -c 'DROP ROLE IF EXISTS fg_pm_sess' >/dev/null 2>&1
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
