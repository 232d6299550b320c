#!/usr/bin/env bash
# 40_pooler_pgbench.sh: faregate-pooler under pgbench: simple, extended and prepared protocol with 200
# clients on a pool of 10 (transaction mode), 1,100 concurrent clients, and the SQLSTATEs of the pooler's
# own timeouts as psql shows them.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

POOLER_DB_EXTRA="pool_size=10"
pooler_start "max_client_conn = 1500" "default_pool_size = 10"
ok $? "pooler starts"
pgbench -i -q -s 2 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres postgres >/dev/null 2>&1
ok $? "pgbench tables created on the primary"

for mode in simple extended prepared; do
  out=$(timeout 60 pgbench -n -M "$mode" -c 200 -j 2 -T 3 -h 127.0.0.1 -p "$POOLER_PORT" -U postgres postgres 2>&1)
  rc=$?
  ok $rc "pgbench -M $mode, 200 clients on a pool of 10, exits 0"
  like "$out" "number of failed transactions: 0 " "pgbench -M $mode: no failed transaction"
  like "$out" "number of transactions actually processed: [1-9][0-9]*" "pgbench -M $mode: transactions processed"
  [ $rc -eq 0 ] || diag "$(echo "$out" | tail -5)"
done
pids=$(psql_pooler_admin -c 'SHOW SERVERS' | awk -F'|' '$3 == "postgres" {print $17}' | paste -sd, -)
listed=$(echo "$pids" | tr ',' '\n' | grep -c '^[1-9][0-9]*$')
ok $([ "$listed" -ge 1 ] && echo 0 || echo 1) "after the load the pooler lists server connections with backend pids ($listed: $pids)"
if [ "$listed" -ge 1 ]; then
  live=$(psql_primary -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE pid IN ($pids) AND state = 'idle'")
else
  live="no pid listed"
fi
is "$live" "$listed" "every server connection the pooler lists is an idle backend"
servers=$(psql_pooler_admin -c 'SHOW SERVERS' | awk -F'|' '$3 == "postgres"' | grep -c .)
ok $([ "$servers" -le 10 ] && echo 0 || echo 1) "at most pool_size (10) server connections ($servers)"

# 1,100 concurrent clients, all connected at once, on 10 server connections
out=$(timeout 90 pgbench -n -S -c 1100 -j 2 -T 4 -h 127.0.0.1 -p "$POOLER_PORT" -U postgres postgres 2>&1)
rc=$?
ok $rc "pgbench -S with 1,100 concurrent clients exits 0"
like "$out" "number of clients: 1100" "… 1,100 clients"
like "$out" "number of failed transactions: 0 " "… no failed transaction"
[ $rc -eq 0 ] || diag "$(echo "$out" | tail -5)"

# max_db_connections caps the servers of a database under load; min_pool_size keeps servers warm
pooler_write_config "max_client_conn = 1500" "max_db_connections = 3"
pooler_reload; ok $? "the pooler reloaded its configuration (SIGHUP)"
psql_pooler_admin -c "KILL postgres" >/dev/null
psql_pooler_admin -c "RESUME postgres" >/dev/null   # a killed database stays paused until RESUME (1.25)
timeout 60 pgbench -n -S -c 20 -j 2 -T 3 -h 127.0.0.1 -p "$POOLER_PORT" -U postgres postgres >"$POOLER_DIR/capped.out" 2>&1 &
bg=$!
most=0
for _ in $(seq 1 20); do
  n=$(psql_pooler_admin -c 'SHOW SERVERS' | awk -F'|' '$3 == "postgres"' | grep -c .)
  [ "$n" -gt "$most" ] && most=$n
  sleep 0.1
done
wait $bg
like "$(cat "$POOLER_DIR/capped.out")" "number of failed transactions: 0 " "pgbench with 20 clients under max_db_connections = 3"
ok $([ "$most" -ge 1 ] && [ "$most" -le 3 ] && echo 0 || echo 1) "max_db_connections = 3 held: at most $most server connections"
pooler_write_config "max_client_conn = 1500" "min_pool_size = 5"
pooler_reload; ok $? "the pooler reloaded its configuration (SIGHUP)"
psql_pooler_admin -c "KILL postgres" >/dev/null
psql_pooler_admin -c "RESUME postgres" >/dev/null   # a killed database stays paused until RESUME (1.25)
psql_pooler -c "SELECT 1" >/dev/null
servers_of_postgres() { psql_pooler_admin -c 'SHOW SERVERS' | awk -F'|' '$3 == "postgres"' | grep -c .; }
wait_for 30 eval '[ "$(servers_of_postgres)" -ge 5 ]'
is "$(servers_of_postgres)" 5 "min_pool_size = 5 opens idle server connections after a login (waited up to 30 s)"

# the pooler's own errors carry SQLSTATEs
pooler_write_config "max_client_conn = 1500" "query_timeout = 1"
pooler_reload; ok $? "the pooler reloaded its configuration (SIGHUP)"
out=$(psql -X -q -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres -v VERBOSITY=verbose \
  -c "\\set VERBOSITY verbose" -c "SELECT pg_sleep(3)" 2>&1)
like "$out" "FATAL: +57014: query timeout \(query_timeout\)" "query_timeout answers FATAL 57014 (PgBouncer's words, then the key)"
# login_sqlstate DB: the SQLSTATE of the ErrorResponse a raw v3 startup for DB gets
login_sqlstate() {
  /usr/bin/python3 - "$POOLER_PORT" "$1" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
body = struct.pack("!I", 196608) + b"user\0postgres\0database\0" + sys.argv[2].encode() + b"\0\0"
s.sendall(struct.pack("!I", len(body) + 4) + body)
data = b""
while len(data) < 5 or len(data) < 1 + struct.unpack("!I", data[1:5])[0]:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
fields = dict((f[:1].decode(), f[1:].decode()) for f in data[5:].split(b"\0") if f)
print(data[:1].decode(), fields.get("C"), fields.get("V"))
PY
}
is "$(login_sqlstate nosuchdb)" "E 3D000 FATAL" "unknown database answers FATAL 3D000"
is "$(psql_pooler -c 'SELECT 1')" 1 "the pooler still serves"
ok $(kill -0 "$POOLER_PID" 2>/dev/null && echo 0 || echo 1) "the pooler survived it all"
pooler_stop QUIT
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
