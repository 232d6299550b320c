#!/usr/bin/env bash
# 44_pooler_client_limits.sh: max_db_client_connections and max_user_client_connections (issue 15,
# PgBouncer 1.25's meaning), with psql clients that stay logged in. At a database's limit the next login
# gets FATAL 53300 "client connections exceeded (max_db_client_connections)" while other databases still
# admit; a client leaving frees its slot; a [databases] line's value wins over the [pooler] one; a user's
# limit counts its clients over every database, a [users] line's value winning; the admin console
# follows PgBouncer's rule (the [pooler] limit applies to it as to a database, admin_users are never
# refused there); SHOW DATABASES and SHOW USERS show the limits and the counts; RELOAD (and SET on the
# console) changes the limit for new logins and keeps the clients already in.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

pooler_fresh_login_roles cl_alice cl_bob
db="host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres"
cl_lines() { # LIMITED_LINE GLOBAL_DB GLOBAL_USER: the lines after [pooler]'s own
  CL_LINES=("max_db_client_connections = $2" "max_user_client_connections = $3"
    "[databases]" "limited = $db max_db_client_connections=$1" "plain = $db"
    "[users]" "cl_alice = max_user_client_connections=2" "postgres = max_user_client_connections=1")
}
cl_lines 2 3 0
pooler_start "${CL_LINES[@]}"
ok $? "the pooler starts with client limits in [pooler], on a [databases] and on [users] lines"

# hold USER DB: a psql session that logs in and stays (reading a FIFO this shell holds open); waits until
# it answered a query (SHOW VERSION on the console), so it is admitted and counted. Returns 1 when it did
# not get in.
HOLD_FDS=()
HOLD_PIDS=()
n_hold=0
trap 'for pid in "${HOLD_PIDS[@]}"; do kill "$pid" 2>/dev/null; done; pooler_stop QUIT; rm -rf "$POOLER_DIR"' EXIT
hold() {
  local fifo="$POOLER_DIR/hold.$((++n_hold))" fd
  mkfifo "$fifo"
  : >"$fifo.out"
  exec {fd}<>"$fifo"
  # the child keeps no FIFO open for writing (its own nor the others'): closing ours must end its input
  (
    for f in "$fd" "${HOLD_FDS[@]}"; do exec {f}>&-; done
    exec psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U "$1" -d "$2" -f "$fifo"
  ) >"$fifo.out" 2>&1 &
  HOLD_PIDS+=($!)
  HOLD_FDS+=("$fd")
  if [ "$2" = pgbouncer ]; then
    echo "SHOW VERSION;" >&"$fd"
    wait_for 20 grep -q 'faregate' "$fifo.out"
  else
    echo "SELECT 'in';" >&"$fd"
    wait_for 20 grep -q '^in$' "$fifo.out"
  fi
}
# release_all: every held session quits (EOF on its FIFO) and is waited for
release_all() {
  local fd
  for fd in "${HOLD_FDS[@]}"; do exec {fd}>&-; done
  for pid in "${HOLD_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  HOLD_FDS=()
  HOLD_PIDS=()
}
# release_first: the oldest held session quits
release_first() {
  local fd=${HOLD_FDS[0]}
  exec {fd}>&-
  wait "${HOLD_PIDS[0]}" 2>/dev/null
  HOLD_FDS=("${HOLD_FDS[@]:1}")
  HOLD_PIDS=("${HOLD_PIDS[@]:1}")
}
login() { psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U "$1" -d "$2" -c "SELECT 'served'" 2>&1; }
# show_db NAME: max_client_connections and current_client_connections of SHOW DATABASES' row NAME
show_db() { psql_pooler -d pgbouncer -c 'SHOW DATABASES' | awk -F'|' -v n="$1" '$1 == n { print $14, $15 }'; }
# show_user NAME: max_user_client_connections and current_client_connections of SHOW USERS' row NAME
show_user() { psql_pooler -d pgbouncer -c 'SHOW USERS' | awk -F'|' -v n="$1" '$1 == n { print $7, $8 }'; }
# sqlstate_of USER DB: the SQLSTATE of a refused login (libpq does not hand it to psql), by fgtest's raw login
sqlstate_of() {
  /usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import fgtest
print(fgtest.login_outcome(int(sys.argv[2]), sys.argv[3], "", sys.argv[4]))' "$top/test/harness" "$POOLER_PORT" "$1" "$2" 2>&1
}

# --- a database's limit ---------------------------------------------------------------------------
hold cl_bob limited
ok $? "a first client of limited (max_db_client_connections=2 on its line) gets in"
hold cl_bob limited
ok $? "... and a second"
is "$(show_db limited)" "2 2" "SHOW DATABASES: limited's max_client_connections 2, current_client_connections 2"
out=$(login cl_bob limited)
like "$out" "FATAL: +client connections exceeded \(max_db_client_connections\)" \
  "the third login to limited is refused with PgBouncer's message"
is "$(sqlstate_of cl_bob limited)" 53300 "... and SQLSTATE 53300 (too_many_connections)"
is "$(login cl_bob plain)" served "another database still admits the same user"
is "$(show_db limited)" "2 2" "the refused login took no slot"
release_first
wait_for 20 eval '[ "$(show_db limited)" = "2 1" ]'
ok $? "a client of limited leaves: current_client_connections 1"
is "$(login cl_bob limited)" served "... and its slot admits the next login"
release_all

# --- the [pooler] limit, and the line's value winning over it ---------------------------------------
wait_for 20 eval '[ "$(show_db plain)" = "3 0" ]'
ok $? "SHOW DATABASES: plain (no value on its line) shows the [pooler] max_db_client_connections 3"
for i in 1 2 3; do hold cl_bob plain || diag "holder $i of plain did not get in"; done
is "$(show_db plain)" "3 3" "plain holds 3 clients"
like "$(login cl_bob plain)" "client connections exceeded \(max_db_client_connections\)" \
  "the 4th login to plain is refused: the [pooler] limit applies to a line without its own"
is "$(show_db limited)" "2 0" "limited keeps its line's 2 beside the [pooler] 3: the line's value wins"
release_all

# --- a user's limit, over every database -------------------------------------------------------------
hold cl_alice limited
ok $? "cl_alice (max_user_client_connections=2 on its [users] line) logs into limited"
hold cl_alice plain
ok $? "... and into plain"
is "$(show_user cl_alice)" "2 2" "SHOW USERS: cl_alice's max_user_client_connections 2, current_client_connections 2"
out=$(login cl_alice postgres)
like "$out" "FATAL: +client connections exceeded \(max_user_client_connections\)" \
  "cl_alice's third login, to a third database, is refused with PgBouncer's message"
is "$(sqlstate_of cl_alice postgres)" 53300 "... and SQLSTATE 53300"
is "$(login cl_bob postgres)" served "another user (no line, [pooler] max_user_client_connections 0 = unlimited) gets in"
wait_for 20 eval '[ "$(show_user cl_bob)" = "0 0" ]'
ok $? "SHOW USERS: cl_bob's limit 0 (unlimited), no client left"
release_first
wait_for 20 eval '[ "$(show_user cl_alice)" = "2 1" ]'
ok $? "one of cl_alice's clients leaves: current_client_connections 1"
is "$(login cl_alice postgres)" served "... and cl_alice's next login gets in"
release_all

# --- the admin console (PgBouncer's rule) -------------------------------------------------------------
# postgres is in admin_users and has max_user_client_connections=1: on the console it is never refused,
# though its console session counts for the user
hold postgres limited
ok $? "postgres (max_user_client_connections=1) holds one client of limited"
is "$(psql_pooler -d pgbouncer -c 'SHOW VERSION' 2>&1 | grep -c faregate)" 1 \
  "postgres, an admin_user, still reaches the admin console over its user limit"
like "$(login postgres plain)" "client connections exceeded \(max_user_client_connections\)" \
  "... but a second database client of postgres is refused"
release_all
# fg_stats (stats_users) on the console: the [pooler] max_db_client_connections (3) applies to it
for i in 1 2 3; do hold fg_stats pgbouncer || diag "console holder $i did not get in"; done
like "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U fg_stats -d pgbouncer -c 'SHOW VERSION' 2>&1)" \
  "client connections exceeded \(max_db_client_connections\)" \
  "a 4th stats_users session on the console is refused by the [pooler] max_db_client_connections"
is "$(psql_pooler -d pgbouncer -c 'SHOW VERSION' 2>&1 | grep -c faregate)" 1 \
  "an admin_users session still gets in (never refused on the console)"
is "$(login cl_bob plain)" served "the console's sessions do not count against a database's limit"
release_all

# --- RELOAD and SET change the limit for new logins ----------------------------------------------------
hold cl_bob limited
hold cl_bob limited
cl_lines 1 3 0
pooler_write_config "${CL_LINES[@]}"
pooler_reload
ok $? "RELOAD with limited's line lowered to max_db_client_connections=1"
is "$(show_db limited)" "1 2" "SHOW DATABASES shows the new limit, and the two clients already in"
echo "SELECT 'still';" >&"${HOLD_FDS[1]}"
wait_for 20 grep -q '^still$' "$POOLER_DIR/hold.$n_hold.out"
ok $? "a client in before the lower limit keeps its connection and is served"
like "$(login cl_bob limited)" "client connections exceeded \(max_db_client_connections\)" "a new login over the new limit is refused"
release_all
cl_lines 3 3 0
pooler_write_config "${CL_LINES[@]}"
pooler_reload
ok $? "RELOAD with limited's line raised to 3"
for i in 1 2; do hold cl_bob limited || diag "holder $i of limited did not get in"; done
is "$(login cl_bob limited)" served "a third client of limited gets in under the raised limit"
release_all
psql_pooler -d pgbouncer -c 'SET max_user_client_connections = 1' >/dev/null
ok $? "SET max_user_client_connections = 1 on the console"
hold cl_bob plain
like "$(login cl_bob limited)" "client connections exceeded \(max_user_client_connections\)" \
  "... applies to the next login of a user without its own line"
is "$(show_user cl_bob)" "1 1" "SHOW USERS: cl_bob's limit is the [pooler] value set"
release_all

pooler_log_has "closing because: client connections exceeded \(max_db_client_connections\)"
ok $? "the pooler's log names the refused logins' reason"
pooler_stop QUIT
psql_primary -d postgres -q -c 'DROP ROLE IF EXISTS cl_alice; DROP ROLE IF EXISTS cl_bob' >/dev/null 2>&1
done_testing
