#!/usr/bin/env bash
# 42_pooler_auth_query.sh: auth_user + auth_query + auth_dbname (issue 16): users missing from the
# auth_file are looked up in PostgreSQL through the SECURITY DEFINER function of docs/pooler-auth.md,
# logged in as an auth_user that itself needs a password (scram_aqcheck, SCRAM in pg_hba). md5 and SCRAM
# users with right and wrong passwords, a user created after the pooler started, a dropped user, a
# changed password and an expired one; SCRAM pass-through (the server's log shows the pooler's login as
# the user by SCRAM, no secret anywhere in the pooler's log); per-database settings and their errors;
# a lookup that hangs on the server does not block the event loop.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

psql_primary -d postgres -q <<'SQL' >/dev/null 2>&1
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS faregate_auth CASCADE;
DROP ROLE IF EXISTS scram_aqcheck; DROP ROLE IF EXISTS md5_aq1; DROP ROLE IF EXISTS scram_aq2;
DROP ROLE IF EXISTS scram_aq3; DROP ROLE IF EXISTS scram_aq4; DROP ROLE IF EXISTS aq_nologin;
DROP ROLE IF EXISTS aq_trusted;
SET password_encryption = 'md5';
CREATE ROLE md5_aq1 LOGIN PASSWORD 'aq1-pw' IN ROLE md5_users;
SET password_encryption = 'scram-sha-256';
CREATE ROLE scram_aqcheck LOGIN PASSWORD 'check-pw' IN ROLE scram_users;
CREATE ROLE scram_aq2 LOGIN PASSWORD 'aq2-pw' IN ROLE scram_users;
CREATE ROLE scram_aq4 LOGIN PASSWORD 'aq4-pw' IN ROLE scram_users;
CREATE ROLE aq_nologin NOLOGIN PASSWORD 'x';
CREATE ROLE aq_trusted LOGIN;
CREATE SCHEMA faregate_auth;
CREATE FUNCTION faregate_auth.user_lookup(i_username text)
RETURNS TABLE (username name, secret text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END
    FROM pg_authid WHERE rolname = i_username AND rolcanlogin
$$;
REVOKE ALL ON FUNCTION faregate_auth.user_lookup(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA faregate_auth TO scram_aqcheck;
GRANT EXECUTE ON FUNCTION faregate_auth.user_lookup(text) TO scram_aqcheck;
-- the hang test: the lookup waits for an advisory lock the test holds
CREATE FUNCTION faregate_auth.user_lookup_slow(i_username text)
RETURNS TABLE (username name, secret text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(16016);
  RETURN QUERY SELECT * FROM faregate_auth.user_lookup(i_username);
END $$;
GRANT EXECUTE ON FUNCTION faregate_auth.user_lookup_slow(text) TO scram_aqcheck;
ALTER SYSTEM SET log_connections = on;
SELECT pg_reload_conf();
SQL
trap 'psql_primary -d postgres -qc "ALTER SYSTEM RESET log_connections; SELECT pg_reload_conf()" >/dev/null 2>&1; pooler_stop QUIT; rm -rf "$POOLER_DIR"' EXIT
aq2_secret=$(psql_primary -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_aq2'")
aq1_md5=$(psql_primary -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'md5_aq1'")
like "$aq2_secret" '^SCRAM-SHA-256\$' "scram_aq2 has a SCRAM secret in pg_authid"
out=$(PGPASSWORD=wrong psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U scram_aqcheck -d postgres -c "SELECT 1" 2>&1)
like "$out" "password authentication failed" "the auth_user needs its password at the server (else the test proves less)"

echo '"scram_aqcheck" "check-pw"' >"$POOLER_DIR/users.txt"
echo '"postgres" "admin-pw"' >>"$POOLER_DIR/users.txt"
chmod 600 "$POOLER_DIR/users.txt"
export POOLER_ADMIN_PASSWORD=admin-pw
QUERY='SELECT * FROM faregate_auth.user_lookup($1)'

# login USER PASSWORD [DB]: what SELECT current_user answers through the pooler (or the error)
login() { PGPASSWORD=$2 psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U "$1" -d "${3:-postgres}" -c "SELECT current_user" 2>&1; }
# sqlstate USER PASSWORD [DB]: the SQLSTATE of the ErrorResponse a login through the pooler ends with
# (raw protocol: libpq does not hand connection errors' SQLSTATE to psql); md5 or cleartext requests only
sqlstate() {
  /usr/bin/python3 - "$top/test/harness" "$POOLER_PORT" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from fgtest import login_outcome
print(login_outcome(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "postgres"))
PY
}
server_log=$FG_PRIMARY_DATA/server.log
log_start=$(wc -l <"$server_log")

for auth in md5 scram-sha-256; do
  pooler_stop QUIT
  pooler_start "auth_type = $auth" "auth_file = $POOLER_DIR/users.txt" "auth_user = scram_aqcheck" \
    "auth_query = $QUERY" "stats_users = scram_aq2"
  ok $? "pooler starts with auth_type $auth and auth_user"
  if [ $auth = md5 ]; then
    is "$(sqlstate md5_aq1 wrong)" 28P01 "$auth: a wrong password gets SQLSTATE 28P01"
    is "$(sqlstate aq_nobody wrong)" 28P01 "$auth: so does a user auth_query does not find"
    is "$(login md5_aq1 aq1-pw)" md5_aq1 "$auth: md5 user found by auth_query, right password (server login md5)"
  else
    like "$(login md5_aq1 aq1-pw)" "password authentication failed" "$auth: an md5 secret cannot serve SCRAM"
  fi
  like "$(login md5_aq1 wrong)" "password authentication failed for user \"md5_aq1\"" "$auth: md5 user, wrong password: 28P01 text"
  is "$(login scram_aq2 aq2-pw)" scram_aq2 "$auth: SCRAM user found by auth_query: SCRAM pass-through to the server"
  like "$(login scram_aq2 wrong)" "password authentication failed for user \"scram_aq2\"" "$auth: SCRAM user, wrong password"
  like "$(login aq_nobody x)" "password authentication failed" "$auth: a user auth_query does not find looks like a wrong password"
  like "$(login aq_nologin x)" "password authentication failed" "$auth: a NOLOGIN role is not found"
  like "$(login scram_aq2 aq2-pw pgbouncer)" "bouncer config error" \
    "$auth: the admin console without a global auth_dbname: a stats user missing from auth_file gets PgBouncer's 'bouncer config error'"
  like "$(login scram_aq2 wrong fg_no_such_db)" "password authentication failed" \
    "$auth: an unknown database with a user missing from auth_file: the password exchange fails first (PgBouncer's order)"
done

# the server saw the pooler log in as scram_aq2 with SCRAM (PostgreSQL 14+ logs the method)
sed -n "$((log_start + 1)),\$p" "$server_log" >"$POOLER_DIR/server-part.log"
grep -Eq 'connection authenticated: identity="scram_aq2" method=scram-sha-256' "$POOLER_DIR/server-part.log"
ok $? "the server's log shows a SCRAM login as scram_aq2 (pass-through: the pooler has no password for it)"
grep -Eq 'connection authenticated: identity="scram_aqcheck" method=scram-sha-256' "$POOLER_DIR/server-part.log"
ok $? "… and the auth_user's own SCRAM login for the lookups"

# users created, changed, expired and dropped while the pooler runs
psql_primary -d postgres -qc "SET password_encryption = 'scram-sha-256'; CREATE ROLE scram_aq3 LOGIN PASSWORD 'aq3-pw' IN ROLE scram_users" >/dev/null
is "$(login scram_aq3 aq3-pw)" scram_aq3 "a user created after the pooler started logs in"
psql_primary -d postgres -qc "ALTER ROLE scram_aq3 PASSWORD 'aq3-new'" >/dev/null
like "$(login scram_aq3 aq3-pw)" "password authentication failed" "after ALTER ROLE … PASSWORD the old password is refused at once"
is "$(login scram_aq3 aq3-new)" scram_aq3 "… and the new one works (the cache was refreshed; pass-through with the new keys)"
psql_primary -d postgres -qc "ALTER ROLE scram_aq3 VALID UNTIL '1999-01-01'" >/dev/null
like "$(login scram_aq3 aq3-new)" "password authentication failed" "an expired password (VALID UNTIL) is refused"
psql_primary -d postgres -qc "ALTER ROLE scram_aq3 VALID UNTIL 'infinity'" >/dev/null
is "$(login scram_aq3 aq3-new)" scram_aq3 "… and accepted again after VALID UNTIL 'infinity'"
psql_primary -d postgres -qc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'scram_aq3'" >/dev/null
psql_pooler_admin -c "RECONNECT" >/dev/null 2>&1
psql_primary -d postgres -qc "DROP ROLE scram_aq3" >/dev/null
like "$(login scram_aq3 aq3-new)" "password authentication failed" "a dropped user is refused"

# 20 logins of two users at once: one lookup connection, answers shared
pooler_stop QUIT
pooler_start "auth_type = md5" "auth_file = $POOLER_DIR/users.txt" "auth_user = scram_aqcheck" "auth_query = $QUERY"
pids=()
for i in $(seq 1 10); do
  login scram_aq4 aq4-pw >"$POOLER_DIR/par.$i.a" & pids+=($!)
  login md5_aq1 aq1-pw >"$POOLER_DIR/par.$i.b" & pids+=($!)
done
wait "${pids[@]}"
good=$(cat "$POOLER_DIR"/par.*.a | grep -c '^scram_aq4$'); good_b=$(cat "$POOLER_DIR"/par.*.b | grep -c '^md5_aq1$')
is "$good/$good_b" "10/10" "20 concurrent logins of two auth_query users all succeed"

! grep -Eq "aq1-pw|aq2-pw|aq3-pw|aq3-new|aq4-pw|check-pw|${aq2_secret:15:20}|${aq1_md5:3:20}" "$POOLER_DIR/pooler.log"
ok $? "no password and no secret in the pooler's log"
pooler_stop QUIT

# a pool of a user that exists only through auth_query is freed when unused (autodb_idle_timeout), as
# a "*" pool is; a pool of an auth_file user stays
pooler_start "auth_type = md5" "auth_file = $POOLER_DIR/users.txt" "auth_user = scram_aqcheck" "auth_query = $QUERY" \
  "autodb_idle_timeout = 1"
is "$(login scram_aq4 aq4-pw)/$(login postgres admin-pw)" "scram_aq4/postgres" "an auth_query user and an auth_file user log in"
pools_of() { psql_pooler_admin -c 'SHOW POOLS' 2>/dev/null | awk -F'|' -v u="$1" '$1 == "postgres" && $2 == u' | grep -c .; }
looked_up_pool_gone() { [ "$(pools_of scram_aq4)" = 0 ]; }
wait_for 30 looked_up_pool_gone
ok $? "the auth_query user's pool is freed once unused for autodb_idle_timeout"
is "$(pools_of postgres)" 1 "… the auth_file user's pool stays"
is "$(login scram_aq4 aq4-pw)" scram_aq4 "… and the auth_query user logs in again (a new pool)"
pooler_stop TERM

# the lookup must not block the event loop: hold the advisory lock the slow lookup waits for
pooler_start "auth_type = md5" "auth_file = $POOLER_DIR/users.txt" "auth_user = scram_aqcheck" \
  "auth_query = SELECT * FROM faregate_auth.user_lookup_slow(\$1)"
psql_primary -d postgres -qc "SELECT pg_advisory_lock(16016), pg_sleep(60)" >/dev/null 2>&1 &
locker=$!
wait_for 30 eval '[ "$(psql_primary -d postgres -c "SELECT count(*) FROM pg_locks WHERE locktype = '"'"'advisory'"'"' AND granted")" -ge 1 ]'
login scram_aq2 aq2-pw >"$POOLER_DIR/slow.out" &
slow=$!
wait_for 30 eval '[ "$(psql_primary -d postgres -c "SELECT count(*) FROM pg_locks WHERE locktype = '"'"'advisory'"'"' AND NOT granted")" -ge 1 ]'
ok $? "the lookup of scram_aq2 waits on the server (advisory lock)"
is "$(psql_pooler_admin -c 'SHOW VERSION' 2>&1 | grep -c .)" 1 "meanwhile the admin console answers (the event loop is not blocked)"
kill -0 $slow 2>/dev/null; ok $? "… while that login is still waiting"
psql_primary -d postgres -qc "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_advisory_lock(16016)%' AND pid <> pg_backend_pid()" >/dev/null
wait $locker 2>/dev/null
wait $slow
is "$(cat "$POOLER_DIR/slow.out")" scram_aq2 "once the lock is released the waiting login completes"
pooler_stop QUIT

# per-database settings: auth_user/auth_query only on database aqdb; auth_dbname pointing elsewhere
{
  echo "[databases]"
  echo "postgres = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres"
  echo "aqdb = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres auth_user=scram_aqcheck auth_query='$QUERY'"
  echo "aqvia = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres auth_user=scram_aqcheck auth_dbname=aqdb"
  echo "aqmissing = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres auth_user=scram_aqcheck auth_dbname=nowhere"
  echo "aqbadquery = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres auth_user=scram_aqcheck auth_query='SELECT * FROM no_such_lookup(\$1)'"
  echo "[pooler]"
  echo "auth_type = md5"
  echo "auth_file = $POOLER_DIR/users.txt"
  echo "auth_query = $QUERY"
  echo "listen_addr = 127.0.0.1"
  echo "listen_port = $POOLER_PORT"
  echo "admin_users = postgres"
  echo "logfile = $POOLER_DIR/pooler.log"
} >"$POOLER_DIR/pooler.ini"
"$POOLER_BIN" "$POOLER_DIR/pooler.ini" >>"$POOLER_DIR/stderr.log" 2>&1 &
POOLER_PID=$!
echo "$POOLER_PID" >>"$FG_CLUSTER_DIR/pids"
wait_for 30 eval '(exec 3<>"/dev/tcp/127.0.0.1/$POOLER_PORT") 2>/dev/null'
is "$(login scram_aq2 aq2-pw aqdb)" scram_aq2 "auth_user set on one database: its users are looked up"
like "$(login scram_aq2 aq2-pw postgres)" "password authentication failed" "… a database without auth_user knows only the auth_file"
is "$(login scram_aq2 aq2-pw aqvia)" scram_aq2 "auth_dbname: the lookup runs through another [databases] entry"
out=$(login scram_aq2 aq2-pw aqmissing)
like "$out" "bouncer config error" "auth_dbname naming no database: the client gets 'bouncer config error'"
pooler_log_has 'authentication database "nowhere" is not configured'; ok $? "… and the log names the missing database"
out=$(login scram_aq2 aq2-pw aqbadquery)
like "$out" "bouncer config error" "a failing auth_query: 'bouncer config error'"
pooler_log_has 'no_such_lookup.*does not exist'; ok $? "… and the log carries the server's error"
# DISABLE of the auth database stops the lookups made there for another database (PgBouncer's words)
psql_pooler_admin -c "DISABLE aqdb" >/dev/null 2>&1
like "$(login scram_aq4 aq4-pw aqvia)" 'authentication database "aqdb" is disabled' \
  "DISABLE of the auth_dbname: a login needing a lookup there is refused, naming it"
psql_pooler_admin -c "ENABLE aqdb" >/dev/null 2>&1
is "$(login scram_aq4 aq4-pw aqvia)" scram_aq4 "… and after ENABLE the lookup runs again"
pooler_stop QUIT

# RELOAD: no lookup connection made with the old settings stays open to the server
lookup_conns() { psql_primary -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'faregate-pooler auth_query' AND usename = '$1'"; }
pooler_start "auth_type = md5" "auth_file = $POOLER_DIR/users.txt" "auth_user = scram_aqcheck" "auth_query = $QUERY"
is "$(login scram_aq4 aq4-pw)" scram_aq4 "a login through auth_query before the RELOAD"
is "$(lookup_conns scram_aqcheck)" 1 "… leaves one idle lookup connection as scram_aqcheck (server_idle_timeout is long)"
pooler_write_config "auth_type = md5" "auth_file = $POOLER_DIR/users.txt" "auth_user = scram_aqcheck" \
  "auth_query = SELECT * FROM faregate_auth.user_lookup(\$1::text)"
pooler_reload
no_old_lookup() { [ "$(lookup_conns scram_aqcheck)" = 0 ]; }
wait_for 30 no_old_lookup
ok $? "after a RELOAD that changes auth_query the old lookup connection is closed (was left until server_idle_timeout)"
is "$(login scram_aq4 aq4-pw)" scram_aq4 "… and a login after the RELOAD looks the user up with the new auth_query"
is "$(lookup_conns scram_aqcheck)" 1 "… on one new lookup connection"
pooler_stop QUIT

# the auto-database without auth_dbname looks users up in the client's database: the server's refusal
# of that login (no such database) reaches the client in the server's words, as PgBouncer
pooler_start "auth_type = md5" "auth_file = $POOLER_DIR/users.txt" "auth_user = scram_aqcheck" "auth_query = $QUERY" \
  "[databases]" "* = host=$FG_HOST port=$FG_PRIMARY_PORT"
like "$(login scram_aq2 aq2-pw fg_no_such_db)" 'database "fg_no_such_db" does not exist' \
  "auto-database, lookup in a database the server does not have: the client gets the server's error"
is "$(sqlstate scram_aq2 aq2-pw fg_no_such_db)" 3D000 "… with its SQLSTATE 3D000"
pooler_log_has 'server login failed: FATAL database "fg_no_such_db" does not exist'; ok $? "… logged as a failed server login"
pooler_stop QUIT

# trust with auth_user: a user the query does not find is refused by name
pooler_start "auth_type = trust" "auth_user = scram_aqcheck" "auth_file = $POOLER_DIR/users.txt" "auth_query = $QUERY"
is "$(login aq_trusted ignored)" aq_trusted "trust + auth_user: a user auth_query finds logs in"
like "$(login aq_nobody x)" "no such user" "trust + auth_user: a user auth_query does not find: no such user"
pooler_stop QUIT
pooler_sanitizer_clean; ok $? "no sanitizer report"
psql_primary -d postgres -q <<'SQL' >/dev/null 2>&1
DROP SCHEMA faregate_auth CASCADE;
DROP ROLE IF EXISTS scram_aqcheck; DROP ROLE IF EXISTS md5_aq1; DROP ROLE IF EXISTS scram_aq2;
DROP ROLE IF EXISTS scram_aq4; DROP ROLE IF EXISTS aq_nologin; DROP ROLE IF EXISTS aq_trusted;
SQL
done_testing
