#!/usr/bin/env bash
# 40_pooler_auth.sh: client authentication through faregate-pooler with right and wrong passwords for
# auth_type trust, md5 and scram-sha-256, and the pooler's own login into PostgreSQL as md5_* users
# (pg_hba: md5) and scram_* users (pg_hba: SCRAM-SHA-256), with secrets as plain text, md5 and SCRAM.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

psql_primary -d postgres -q <<'SQL' >/dev/null 2>&1
SET client_min_messages = warning;
DROP ROLE IF EXISTS md5_alice; DROP ROLE IF EXISTS scram_bob; DROP ROLE IF EXISTS scram_carol; DROP ROLE IF EXISTS trust_dave;
SET password_encryption = 'md5';
CREATE ROLE md5_alice LOGIN PASSWORD 'alice-pw' IN ROLE md5_users;
SET password_encryption = 'scram-sha-256';
CREATE ROLE scram_bob LOGIN PASSWORD 'bob-pw' IN ROLE scram_users;
CREATE ROLE scram_carol LOGIN PASSWORD 'carol-pw' IN ROLE scram_users;
CREATE ROLE trust_dave LOGIN;
SQL
carol_secret=$(psql_primary -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_carol'")
alice_md5=$(psql_primary -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'md5_alice'")
like "$carol_secret" '^SCRAM-SHA-256\$' "scram_carol has a SCRAM secret in pg_authid"
{
  echo "\"md5_alice\" \"$alice_md5\""
  echo '"scram_bob" "bob-pw"'
  echo "\"scram_carol\" \"$carol_secret\""
  echo '"trust_dave" ""'
  echo '"postgres" "admin-pw"'
} >"$POOLER_DIR/users.txt"
export POOLER_ADMIN_PASSWORD=admin-pw
out=$(PGPASSWORD=wrong psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U scram_bob -d postgres -c "SELECT 1" 2>&1)
like "$out" "password authentication failed" "the harness makes scram_bob log in with a password (else this test proves nothing)"
chmod 600 "$POOLER_DIR/users.txt"

# login USER PASSWORD: what SELECT current_user answers through the pooler (or the error)
login() { PGPASSWORD=$2 psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U "$1" -d postgres -c "SELECT current_user" 2>&1; }

for auth in md5 scram-sha-256; do
  pooler_stop QUIT
  pooler_start "auth_type = $auth" "auth_file = $POOLER_DIR/users.txt"
  ok $? "pooler starts with auth_type $auth"
  if [ $auth = md5 ]; then
    is "$(login md5_alice alice-pw)" md5_alice "$auth: md5_alice, right password (server login with its md5 secret)"
  else
    like "$(login md5_alice alice-pw)" "password authentication failed" \
      "$auth: an md5 secret cannot serve SCRAM: refused like a wrong password (documented)"
  fi
  like "$(login md5_alice wrong)" "28P01|password authentication failed" "$auth: md5_alice, wrong password refused"
  is "$(login scram_bob bob-pw)" scram_bob "$auth: scram_bob, right password (plain secret; server login SCRAM)"
  like "$(login scram_bob wrong)" "password authentication failed for user \"scram_bob\"" "$auth: scram_bob, wrong password refused"
  is "$(login scram_carol carol-pw)" scram_carol "$auth: scram_carol, right password (SCRAM secret; pass-through keys)"
  like "$(login scram_carol wrong)" "password authentication failed" "$auth: scram_carol, wrong password refused"
  like "$(login nobody x)" "password authentication failed" "$auth: unknown user looks like a wrong password"
  [ $auth = scram-sha-256 ] && like "$(login scram_bob wrong)" "SASL authentication failed" \
    "$auth: a failed SCRAM exchange also says PgBouncer's words (SASL authentication failed)"
  # an unknown database is told only to a client that authenticated (PgBouncer's order)
  out=$(PGPASSWORD=wrong psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U scram_bob -d fg_no_such_db -c "SELECT 1" 2>&1)
  like "$out" "password authentication failed" "$auth: unknown database, wrong password: refused as a wrong password"
  out=$(PGPASSWORD=bob-pw psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U scram_bob -d fg_no_such_db -c "SELECT 1" 2>&1)
  like "$out" "no such database: fg_no_such_db" "$auth: unknown database, right password: then no such database"
done
pooler_log_has "/scram_bob@.* authentication failed"; ok $? "failed logins are logged, naming the user (scram_bob)"
! grep -Eq "alice-pw|bob-pw|carol-pw" "$POOLER_DIR/pooler.log"; ok $? "no password in the log"

pooler_stop QUIT
pooler_start "auth_type = trust" "auth_file = $POOLER_DIR/users.txt"
is "$(login trust_dave whatever)" trust_dave "trust: a listed user logs in without a password"
like "$(login not_listed x)" '"trust" authentication failed: user "not_listed" is not in the auth_file' \
  "trust with auth_file: an unlisted user is refused, in PgBouncer's words and with the reason"
is "$(login md5_alice ignored)" md5_alice "trust: the pooler still logs into PostgreSQL with md5_alice's md5 secret"
pooler_stop QUIT
pooler_start "auth_type = trust"
is "$(login trust_dave "")" trust_dave "trust without auth_file: anyone the server trusts"
like "$(login scram_bob "")" "password|28000" "… but a server that wants a password gets none: clear error"

# RELOAD picks up a changed auth_file; a broken one is refused and the old one stays
pooler_stop QUIT
pooler_start "auth_type = md5" "auth_file = $POOLER_DIR/users.txt"
sed -i 's/"bob-pw"/"bob-pw-2"/' "$POOLER_DIR/users.txt"
psql_primary -d postgres -c "ALTER ROLE scram_bob PASSWORD 'bob-pw-2'" >/dev/null
psql_pooler_admin -c "RELOAD" >/dev/null
is "$(login scram_bob bob-pw-2)" scram_bob "RELOAD reads the new auth_file"
echo '"broken' >>"$POOLER_DIR/users.txt"
out=$(psql_pooler_admin -c "RELOAD" 2>&1)
like "$out" "users.txt:[0-9]+:" "a broken auth_file fails RELOAD with file and line"
is "$(login scram_bob bob-pw-2)" scram_bob "… and the loaded one stays in use"
pooler_stop QUIT
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
