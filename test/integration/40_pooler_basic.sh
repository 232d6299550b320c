#!/usr/bin/env bash
# 40_pooler_basic.sh: faregate-pooler end to end with psql: queries, the admin console (SHOW with
# PgBouncer 1.18's columns as a prefix, PAUSE/RESUME, KILL, RELOAD, permissions), reload by SIGHUP,
# max_client_conn, configuration errors, daemon mode, graceful (SIGINT) and immediate (SIGQUIT) shutdown.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

pooler_start "default_pool_size = 4"
ok $? "pooler starts"
is "$(psql_pooler -c 'SELECT 1')" 1 "a query through the pooler"
is "$(psql_pooler -c 'SELECT 1' -c 'SELECT 2' -c 'SELECT 3' | tr '\n' ,)" "1,2,3," "several transactions on one client"
is "$(psql -X -qAt -h "$POOLER_DIR" -p "$POOLER_PORT" -U postgres -d postgres -c 'SELECT 42')" 42 \
  "a query over the Unix socket"
is "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d viasocket -c "SELECT coalesce(inet_client_addr()::text, 'unix')")" unix \
  "a database reached through PostgreSQL's Unix socket (host = directory)"
out=$(psql_pooler -c "SELECT 1/0" 2>&1)
like "$out" "division by zero" "a server error reaches the client"
is "$(psql_pooler -c 'SELECT 7')" 7 "… and the pool serves the next query"
out=$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d nosuchdb -c 'SELECT 1' 2>&1)
like "$out" "no such database: nosuchdb" "unknown database refused with its name"
out=$(psql_pooler -c "BEGIN" -c "CREATE TEMP TABLE t_basic(x int)" -c "INSERT INTO t_basic VALUES (1)" -c "COMMIT" 2>&1)
is "$?" 0 "psql -c BEGIN/…/COMMIT across messages"
out=$(printf 'COPY (SELECT g FROM generate_series(1,50000) g) TO STDOUT;\n' | psql_pooler | wc -l)
is "$out" 50000 "COPY TO STDOUT streams 50,000 rows"
psql_primary -d postgres -c "SET client_min_messages = warning; DROP TABLE IF EXISTS pooler_copy; CREATE TABLE pooler_copy(x int)" >/dev/null
seq 1 20000 | psql_pooler -c "COPY pooler_copy FROM STDIN"
is "$(psql_primary -d postgres -c 'SELECT count(*) FROM pooler_copy')" 20000 "COPY FROM STDIN of 20,000 rows"
big=$(psql_pooler -c "SELECT length(repeat('x', 3000000))")
is "$big" 3000000 "a 3 MB result value"
is "$(psql_pooler -c "SELECT length(string_agg(repeat('y', 100000), '')) FROM generate_series(1, 20)")" 2000000 \
  "a 2 MB value built from rows"
out=$(printf "SELECT length('%s');\n" "$(head -c 400000 /dev/zero | tr '\0' 'q')" | psql_pooler)
is "$out" 400000 "a 400 kB query text (larger than an I/O buffer)"
# transaction mode: LISTEN is served by the pooler's listener connection (docs/operations.md), whose
# LISTEN completes just after the client's CommandComplete and whose notifications arrive on their own:
# the client NOTIFYs until one arrives (its first NOTIFY may come before the listener's LISTEN) and
# polls for it, for up to 30 s
out=$(/usr/bin/python3 - "$POOLER_PORT" <<'PY' 2>&1
import sys, time, psycopg
c = psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres", dbname="postgres", autocommit=True)
got = []
c.add_notify_handler(lambda n: got.append("%s %s" % (n.channel, n.payload)))
c.execute("LISTEN ch_basic")
deadline = time.time() + 30
while not got and time.time() < deadline:
    c.execute("NOTIFY ch_basic, 'hello'")
    for _ in range(10):
        if got:
            break
        c.execute("SELECT 1")  # notifications that arrived meanwhile are handled here
        time.sleep(0.05)
print(got[0] if got else "no notification within 30 s")
PY
)
is "$out" "ch_basic hello" "NOTIFY reaches the client that listens (transaction mode, the pooler's listener)"

# --- admin console: PgBouncer 1.25's columns come first, in order (1.25 moved some of 1.18's:
# SHOW CLIENTS/SERVERS gained replication after database and id at the end, SHOW STATS
# total_server_assignment_count first, SHOW DATABASES renamed reserve_pool to reserve_pool_size) ---
header() { psql -X -qA -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d pgbouncer -c "$1" | head -1; }
like "$(header 'SHOW POOLS')" "^database\|user\|cl_active\|cl_waiting\|cl_active_cancel_req\|cl_waiting_cancel_req\|sv_active\|sv_active_cancel\|sv_being_canceled\|sv_idle\|sv_used\|sv_tested\|sv_login\|maxwait\|maxwait_us\|pool_mode\|load_balance_hosts(\||$)" "SHOW POOLS columns"
like "$(header 'SHOW STATS')" "^database\|total_server_assignment_count\|total_xact_count\|total_query_count\|total_received\|total_sent\|total_xact_time\|total_query_time\|total_wait_time\|total_client_parse_count\|total_server_parse_count\|total_bind_count\|avg_server_assignment_count\|avg_xact_count\|avg_query_count\|avg_recv\|avg_sent\|avg_xact_time\|avg_query_time\|avg_wait_time\|avg_client_parse_count\|avg_server_parse_count\|avg_bind_count(\||$)" "SHOW STATS columns"
like "$(header 'SHOW STATS')" "\|total_requests(\||$)" "SHOW STATS has total_requests (prometheus-pgbouncer-exporter 1.7)"
conn_cols="^type\|user\|database\|replication\|state\|addr\|port\|local_addr\|local_port\|connect_time\|request_time\|wait\|wait_us\|close_needed\|ptr\|link\|remote_pid\|tls\|application_name\|prepared_statements\|id(\||$)"
like "$(header 'SHOW SERVERS')" "$conn_cols" "SHOW SERVERS columns"
like "$(header 'SHOW CLIENTS')" "$conn_cols" "SHOW CLIENTS columns"
like "$(header 'SHOW DATABASES')" "^name\|host\|port\|database\|force_user\|pool_size\|min_pool_size\|reserve_pool_size\|server_lifetime\|pool_mode\|load_balance_hosts\|max_connections\|current_connections\|max_client_connections\|current_client_connections\|paused\|disabled(\||$)" "SHOW DATABASES columns"
like "$(header 'SHOW CONFIG')" "^key\|value\|default\|changeable$" "SHOW CONFIG columns"
like "$(header 'SHOW LISTS')" "^list\|items$" "SHOW LISTS columns"
is "$(psql_pooler_admin -c 'SHOW LISTS' | cut -d'|' -f1 | head -14 | tr '\n' ,)" \
  "databases,users,peers,pools,peer_pools,free_clients,used_clients,login_clients,free_servers,used_servers,dns_names,dns_zones,dns_queries,dns_pending," \
  "SHOW LISTS rows of PgBouncer 1.25, in order"
like "$(psql_pooler_admin -c 'SHOW VERSION')" "^faregate-pooler [0-9]" "SHOW VERSION"
like "$(psql_pooler_admin -c 'SHOW STATS' | grep '^postgres|')" "^postgres\|[1-9][0-9]*\|" "SHOW STATS counted transactions"
is "$(psql_pooler_admin -c 'SHOW CONFIG' | grep '^default_pool_size|' | cut -d'|' -f2)" 4 "SHOW CONFIG shows the value"
like "$(psql_pooler_admin -c 'SHOW DATABASES' | grep '^postgres|')" "^postgres\|127.0.0.1\|$FG_PRIMARY_PORT\|postgres\|\|4\|" "SHOW DATABASES row"
like "$(psql_pooler_admin -c 'SHOW CLIENTS')" "\|pgbouncer\|none\|active\|" "SHOW CLIENTS lists the console client (replication none)"
out=$(psql_pooler_admin -c 'SHOW NONSENSE' 2>&1)
like "$out" "unknown SHOW command" "unknown SHOW refused"
out=$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U nobody -d faregate -c 'SHOW POOLS' 2>&1)
like "$out" "FATAL: +not allowed to connect to the admin console" "a user outside admin_users/stats_users is refused"
psql_primary -d postgres -c "DO \$\$BEGIN CREATE ROLE fg_stats LOGIN; EXCEPTION WHEN duplicate_object THEN END\$\$" >/dev/null 2>&1
is "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U fg_stats -d pgbouncer -c 'SHOW VERSION' 2>&1 | cut -c1-15)" "faregate-pooler" \
  "stats_users may SHOW"
out=$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U fg_stats -d pgbouncer -c 'RELOAD' 2>&1)
like "$out" "only admin_users" "stats_users may not RELOAD"

# PAUSE holds new transactions; RESUME lets them run
is "$(psql_pooler_admin -c 'PAUSE postgres' 2>&1)" "" "PAUSE postgres"
( psql_pooler -c "SELECT 'resumed'" >"$POOLER_DIR/paused.out" 2>&1 ) &
bg=$!
postgres_waiting() { psql_pooler_admin -c 'SHOW POOLS' | grep -Eq '^postgres\|postgres\|[0-9]+\|1\|'; }
wait_for 30 postgres_waiting
ok $? "SHOW POOLS shows it waiting (cl_waiting 1)"
is "$(cat "$POOLER_DIR/paused.out")" "" "a query waits while the database is paused"
psql_pooler_admin -c 'RESUME postgres'
wait $bg
is "$(cat "$POOLER_DIR/paused.out")" resumed "after RESUME it runs"

# KILL drops the database's connections
psql_pooler -c "SELECT 1" >/dev/null
psql_pooler_admin -c "KILL postgres"
psql_pooler_admin -c "RESUME postgres"   # PgBouncer 1.25: a killed database stays paused until RESUME
is "$(psql_pooler_admin -c 'SHOW SERVERS' | awk -F'|' '$3 == "postgres"' | grep -c .)" 0 "KILL closed the server connections"
is "$(psql_pooler -c 'SELECT 8')" 8 "the pool reconnects after KILL"

# RELOAD and SIGHUP
pooler_write_config "default_pool_size = 6"
psql_pooler_admin -c "RELOAD"
is "$(psql_pooler_admin -c 'SHOW CONFIG' | grep '^default_pool_size|' | cut -d'|' -f2)" 6 "RELOAD applies a changed setting"
pooler_write_config "default_pool_size = 7" "max_client_conn = 3"
pooler_reload
is "$(psql_pooler_admin -c 'SHOW CONFIG' | grep '^default_pool_size|' | cut -d'|' -f2)" 7 "SIGHUP reloads"
pooler_write_config "default_pool_size = 7" "max_client_conn = 3" "no_such_setting = 1"
out=$(psql_pooler_admin -c "RELOAD" 2>&1)
like "$out" "pooler.ini:[0-9]+: unknown setting \"no_such_setting\"" "a bad file fails RELOAD with file, line and reason"
is "$(psql_pooler_admin -c 'SHOW CONFIG' | grep '^default_pool_size|' | cut -d'|' -f2)" 7 "… and changes nothing"

# max_client_conn (3 now): hold three clients (each until the table fg_basic_release has a row, at most
# 60 s), the fourth is refused with 53300
psql_primary -d postgres -c "DROP TABLE IF EXISTS fg_basic_release; CREATE TABLE fg_basic_release ()" >/dev/null
holders=()
for i in 1 2 3; do
  ( psql_pooler -c "DO \$\$ BEGIN FOR i IN 1..600 LOOP EXIT WHEN EXISTS (SELECT FROM fg_basic_release);
      PERFORM pg_sleep(0.1); END LOOP; END \$\$ /* fg_basic_holder */" >/dev/null 2>&1 ) & holders+=($!)
done
holders_running() { [ "$(psql_primary -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%fg_basic_holder%' AND pid <> pg_backend_pid()")" = 3 ]; }
wait_for 30 holders_running
ok $? "three clients hold their connections"
out=$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres -c 'SELECT 1' 2>&1)
like "$out" "too many connections" "max_client_conn refuses the client beyond it"
psql_primary -d postgres -c "INSERT INTO fg_basic_release DEFAULT VALUES" >/dev/null
wait "${holders[@]}"
psql_primary -d postgres -c "DROP TABLE fg_basic_release" >/dev/null
pooler_write_config "default_pool_size = 4"
pooler_reload

# graceful shutdown: a running transaction finishes, new clients are refused, the pooler exits
( psql_pooler -c "SELECT pg_sleep(2), 'finished'" >"$POOLER_DIR/graceful.out" 2>&1 ) &
bg=$!
graceful_running() { [ "$(psql_primary -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%''finished''%' AND pid <> pg_backend_pid()")" = 1 ]; }
wait_for 30 graceful_running
ok $? "the transaction runs before SIGINT"
kill -INT "$POOLER_PID"
wait_for 30 pooler_log_has "SIGINT: graceful shutdown"
out=$(psql_pooler -c "SELECT 1" 2>&1)
ok $([ -n "$out" ] && [ "$out" != 1 ] && echo 0 || echo 1) "no new client during a graceful shutdown"
wait $bg
like "$(cat "$POOLER_DIR/graceful.out")" "\|finished$" "the running transaction completed"
wait_for 30 eval '! kill -0 "$POOLER_PID" 2>/dev/null'
ok $? "the pooler exited after the transaction"
ok $([ ! -e "$POOLER_DIR/pooler.pid" ] && echo 0 || echo 1) "pidfile removed"
pooler_log_has "SIGINT: graceful shutdown" ; ok $? "the log says why it stopped"
pooler_sanitizer_clean; ok $? "no sanitizer report (first run)"
POOLER_PID=

# configuration errors stop start-up with file, line and reason
printf '[pooler]\nlisten_port = 99999\n' >"$POOLER_DIR/bad.ini"
out=$("$POOLER_BIN" "$POOLER_DIR/bad.ini" 2>&1); rc=$?
ok $([ $rc -ne 0 ] && echo 0 || echo 1) "a bad config stops start-up"
like "$out" "bad.ini:2: listen_port must be a whole number from 1 to 65535" "… naming file, line and reason"

# daemon mode with a pidfile, then SIGQUIT stops at once even with a transaction open
pooler_write_config
"$POOLER_BIN" -d "$POOLER_DIR/pooler.ini" >/dev/null 2>&1
ok $? "-d returns after daemonizing"
wait_for 30 test -s "$POOLER_DIR/pooler.pid"
POOLER_PID=$(cat "$POOLER_DIR/pooler.pid" 2>/dev/null)
echo "$POOLER_PID" >>"$FG_CLUSTER_DIR/pids"
is "$(psql_pooler -c 'SELECT 5')" 5 "the daemon serves"
# the transaction would run 60 s: an exit within 30 s is SIGQUIT's, not the transaction's end
( psql_pooler -c "SELECT pg_sleep(60) /* fg_basic_term */" >/dev/null 2>&1 ) &
bg=$!
term_running() { [ "$(psql_primary -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%fg_basic_term%' AND pid <> pg_backend_pid()")" = 1 ]; }
wait_for 30 term_running
ok $? "the transaction runs before SIGQUIT"
kill -QUIT "$POOLER_PID"
wait_for 30 eval '! kill -0 "$POOLER_PID" 2>/dev/null'
ok $? "SIGQUIT stops the pooler mid-transaction (without waiting for it)"
# the backend would sleep on for a minute (PostgreSQL notices the closed socket only when it writes)
psql_primary -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%fg_basic_term%' AND pid <> pg_backend_pid()" >/dev/null
wait $bg
POOLER_PID=
done_testing
