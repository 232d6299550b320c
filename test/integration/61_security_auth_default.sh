#!/usr/bin/env bash
# 61_security_auth_default.sh: auth_type defaults to md5, as PgBouncer's (issue 20, finding 4):
# - a configuration without auth_type and without auth_file is refused at start, saying what to set;
# - with an auth_file and no auth_type, a client is asked for an md5 password (a wrong one: 28P01);
# - auth_type = trust on a non-loopback listen_addr (0.0.0.0, inside a network namespace of its own, so
#   nothing is reachable from outside) logs a warning at every start; on 127.0.0.1 it does not.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

# no auth_type, no auth_file
cat >"$POOLER_DIR/noauth.ini" <<INI
[databases]
postgres = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres
[pooler]
listen_addr = 127.0.0.1
listen_port = $(pooler_free_port)
INI
out=$("$POOLER_BIN" -C "$POOLER_DIR/noauth.ini" 2>&1); rc=$?
ok $([ $rc -ne 0 ] && echo 0 || echo 1) "a configuration without auth_type and auth_file is refused (md5 is the default)"
like "$out" "auth_type md5 needs auth_file.*md5 is the default.*auth_type = trust" "… saying to set auth_file or auth_type = trust"

# the default asks for an md5 password
echo '"postgres" "default-md5-pw"' >"$POOLER_DIR/users.txt"
chmod 600 "$POOLER_DIR/users.txt"
POOLER_ADMIN_PASSWORD=default-md5-pw
export POOLER_ADMIN_PASSWORD
pooler_write_config "auth_file = $POOLER_DIR/users.txt"
sed -i '/^auth_type = trust$/d' "$POOLER_DIR/pooler.ini"
"$POOLER_BIN" "$POOLER_DIR/pooler.ini" >>"$POOLER_DIR/stderr.log" 2>&1 &
POOLER_PID=$!
echo "$POOLER_PID" >>"$FG_CLUSTER_DIR/pids"
for _ in $(seq 1 100); do
  PGPASSWORD=default-md5-pw psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d faregate -c 'SHOW VERSION' >/dev/null 2>&1 && break
  sleep 0.1
done
out=$(PGPASSWORD=default-md5-pw psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres -c 'SELECT 42' 2>&1)
is "$out" 42 "without auth_type, the right md5 password logs in"
out=$(PGPASSWORD=wrong psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres -c 'SELECT 42' 2>&1)
like "$out" "password authentication failed" "… and a wrong one is refused: the default is not trust"
grep -q "auth_type = trust" "$POOLER_DIR/pooler.log" "$POOLER_DIR/stderr.log" 2>/dev/null
ok $([ $? -ne 0 ] && echo 0 || echo 1) "no trust warning under md5"
pooler_stop QUIT

# trust on 0.0.0.0 warns at start, in a network namespace with nothing but its own loopback
cat >"$POOLER_DIR/trust.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=1 dbname=postgres
[pooler]
auth_type = trust
listen_addr = 0.0.0.0
listen_port = 6432
logfile = $POOLER_DIR/trust.log
INI
if unshare -n true 2>/dev/null; then
  for start in 1 2; do
    timeout 3 unshare -n "$POOLER_BIN" "$POOLER_DIR/trust.ini" >/dev/null 2>&1
  done
  n=$(grep -c "WARNING.*auth_type = trust with listen_addr 0.0.0.0, which is not a loopback address" "$POOLER_DIR/trust.log")
  is "$n" 2 "auth_type = trust on 0.0.0.0 logs a warning at every start (2 starts, $n warnings)"
else
  ok 0 "# SKIP unshare -n is not permitted here (cannot listen on 0.0.0.0 safely)"
fi
sed -i "s/^listen_addr = 0.0.0.0\$/listen_addr = 127.0.0.1/; s/^listen_port = 6432\$/listen_port = $(pooler_free_port)/" \
  "$POOLER_DIR/trust.ini"
: >"$POOLER_DIR/trust.log"
timeout 2 "$POOLER_BIN" "$POOLER_DIR/trust.ini" >/dev/null 2>&1
grep -q "listening on 127.0.0.1" "$POOLER_DIR/trust.log"
ok $? "auth_type = trust on 127.0.0.1 started"
n=$(grep -c "auth_type = trust with listen_addr" "$POOLER_DIR/trust.log")
is "$n" 0 "… and none on 127.0.0.1"
done_testing
