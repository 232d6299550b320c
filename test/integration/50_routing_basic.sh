#!/usr/bin/env bash
# 50_routing_basic.sh: read/write routing through faregate-pooler on the shared primary + 2 replicas:
# reads land on replicas, writes, plain BEGIN, hints and volatile functions on the primary, BEGIN READ
# ONLY and read_only_users on replicas, read_routing = off, SHOW ROUTING, and a replica whose replay is
# paused (pg_wal_replay_pause) beyond max_replica_lag is ejected, then readmitted; with no usable
# replica, replica_fallback = error answers SQLSTATE 57P03 and = primary sends the read to the primary.
set -u
. "$(cd "$(dirname "$0")" && pwd)/40_pooler_lib.bash"

POOLER_DB_EXTRA="replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT"
pooler_start "health_check_period = 100ms" "max_replica_lag = 64kB" "read_only_users = fg_ro" \
  "replica_fallback = error" || { ok 1 "pooler started"; done_testing; exit 0; }
psql_primary -d postgres -c "DROP TABLE IF EXISTS fg_routing_t; CREATE TABLE fg_routing_t (a int);
  DROP SEQUENCE IF EXISTS fg_routing_s; CREATE SEQUENCE fg_routing_s;
  DROP ROLE IF EXISTS fg_ro; CREATE ROLE fg_ro LOGIN" >/dev/null
wait_replicas_caught_up 20
# the first login starts the database's health checks; wait for them and the volatility table
psql_pooler -c 'SELECT 1' >/dev/null
pooler_wait_routing
ok $? "read routing is ready: the volatility table loaded, every node up in its role (SHOW ROUTING)"

is "$(psql_pooler -c 'SELECT pg_is_in_recovery()')" t "autocommit SELECT runs on a replica"
ports=$(for _ in 1 2 3 4 5 6; do psql_pooler -c 'SELECT inet_server_port()'; done | sort -u | tr '\n' ' ')
is "$ports" "$(printf '%s\n' "$FG_REPLICA1_PORT" "$FG_REPLICA2_PORT" | sort | tr '\n' ' ')" \
  "reads are spread over both replicas"
is "$(psql_pooler -c 'INSERT INTO fg_routing_t VALUES (1) RETURNING pg_is_in_recovery()')" f "INSERT on the primary"
is "$(psql_pooler -c '/* faregate:primary */ SELECT pg_is_in_recovery()')" f "faregate:primary hint"
is "$(psql_pooler -c 'BEGIN' -c 'SELECT pg_is_in_recovery()' -c 'COMMIT')" f "plain BEGIN on the primary"
is "$(psql_pooler -c 'BEGIN READ ONLY' -c 'SELECT pg_is_in_recovery()' -c 'COMMIT')" t "BEGIN READ ONLY on a replica"
is "$(psql_pooler -c 'START TRANSACTION READ ONLY' -c 'SELECT pg_is_in_recovery()' -c 'COMMIT')" t \
  "START TRANSACTION READ ONLY on a replica"
is "$(psql_pooler -c "SELECT pg_is_in_recovery(), nextval('fg_routing_s')" 2>&1)" "f|1" \
  "nextval is not sent to a replica (it runs on the primary)"
is "$(psql_pooler -c "WITH u AS (UPDATE fg_routing_t SET a = a RETURNING a) SELECT count(*) FROM u")" 1 \
  "data-modifying CTE succeeds (primary)"
is "$(psql_pooler -c 'SELECT a FROM fg_routing_t LIMIT 1 FOR NO KEY UPDATE' 2>&1)" 1 "FOR NO KEY UPDATE succeeds (primary)"
is "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U fg_ro -d postgres -c 'BEGIN' -c 'SELECT pg_is_in_recovery()' -c 'COMMIT')" \
  t "read_only_users: even a plain BEGIN goes to a replica"
# extended protocol (psycopg with parameters): unnamed and named (prepare=True) statements
ext=$(/usr/bin/python3 - "$POOLER_PORT" <<'PY' 2>&1
import sys, psycopg
with psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres", dbname="postgres",
                     autocommit=True) as c:
    r = [c.execute("SELECT pg_is_in_recovery() AND %s", [True]).fetchone()[0]]
    for _ in range(3):
        r.append(c.execute("SELECT pg_is_in_recovery() AND %s", [True], prepare=True).fetchone()[0])
    r.append(c.execute("INSERT INTO fg_routing_t VALUES (%s) RETURNING pg_is_in_recovery()", [2],
                       prepare=True).fetchone()[0])
    print(" ".join("t" if x else "f" for x in r))
PY
)
is "$ext" "t t t t f" "extended protocol: reads (unnamed, named prepared) on replicas, the write on the primary"
# temp table: the client's later transactions stay on the primary
is "$(psql_pooler -c 'CREATE TEMP TABLE fg_tmp (a int)' -c 'SELECT count(*), pg_is_in_recovery() FROM fg_tmp')" "0|f" \
  "after CREATE TEMP the client's reads stay on the primary"

routing=$(psql_pooler_admin -c 'SHOW ROUTING')
like "$routing" "postgres\|0\|$FG_HOST\|$FG_PRIMARY_PORT\|primary\|primary\|up\|" "SHOW ROUTING: node 0 verified primary"
like "$routing" "postgres\|1\|$FG_HOST\|$FG_REPLICA1_PORT\|replica\|replica\|up\|[0-9A-F]+/[0-9A-F]+\|" "SHOW ROUTING: replica 1 up with its LSN"
reads=$(echo "$routing" | awk -F'|' '$2 != 0 {s += $11} END {print s + 0}')
ok $([ "$reads" -ge 6 ] && echo 0 || echo 1) "SHOW ROUTING counts reads on replicas ($reads)"

# lag: pause replay on replica 1, write more than max_replica_lag
psql_port "$FG_REPLICA1_PORT" -d postgres -c "SELECT pg_wal_replay_pause()" >/dev/null
psql_primary -d postgres -c "INSERT INTO fg_routing_t SELECT g FROM generate_series(1, 20000) g" >/dev/null
wait_for 30 pooler_node_status_is 1 lagging
wait_for 30 pooler_node_status_is 2 up   # replica 2 may lag behind that insert for a moment
ok $(pooler_log_has "node 1 \(.*\) ejected: .*max_replica_lag" && echo 0 || echo 1) "paused replica is ejected, with the reason logged"
ports=$(for _ in 1 2 3 4 5 6; do psql_pooler -c 'SELECT inet_server_port()'; done | sort -u | tr '\n' ' ')
is "$ports" "$FG_REPLICA2_PORT " "no reads go to the ejected replica"
# with replica 2 paused too there is no usable replica: replica_fallback = error
psql_port "$FG_REPLICA2_PORT" -d postgres -c "SELECT pg_wal_replay_pause()" >/dev/null
psql_primary -d postgres -c "INSERT INTO fg_routing_t SELECT g FROM generate_series(1, 20000) g" >/dev/null
wait_for 30 pooler_node_status_is 2 lagging
ok $? "replica 2 paused behind max_replica_lag is ejected too (SHOW ROUTING: lagging)"
out=$(PGOPTIONS= psql -X -qAt -v VERBOSITY=verbose -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres \
  -c 'SELECT pg_is_in_recovery()' -c "/* faregate:primary */ SELECT 'still connected'" 2>&1)
like "$out" "57P03.*no replica is usable" "replica_fallback = error: SQLSTATE 57P03"
like "$out" "still connected" "the client stays connected after that error"
POOLER_ADMIN_PASSWORD= true
sed -i 's/^replica_fallback = error/replica_fallback = primary/' "$POOLER_DIR/pooler.ini"
psql_pooler_admin -c 'RELOAD' >/dev/null
is "$(psql_pooler -c 'SELECT pg_is_in_recovery()')" f "replica_fallback = primary: the read runs on the primary"
psql_port "$FG_REPLICA1_PORT" -d postgres -c "SELECT pg_wal_replay_resume()" >/dev/null
psql_port "$FG_REPLICA2_PORT" -d postgres -c "SELECT pg_wal_replay_resume()" >/dev/null
wait_for 30 pooler_node_status_is 1 up
ok $(pooler_log_has "node 1 \(.*\) readmitted" && echo 0 || echo 1) "caught-up replica is readmitted"
reads_on_replica() { [ "$(psql_pooler -c 'SELECT pg_is_in_recovery()')" = t ]; }
wait_for 30 reads_on_replica
ok $? "reads back on replicas (within 30 s of the readmission)"

# read_routing = off: everything on the primary
sed -i 's/^replica_fallback = primary/replica_fallback = primary\nread_routing = off/' "$POOLER_DIR/pooler.ini"
psql_pooler_admin -c 'RELOAD' >/dev/null
is "$(psql_pooler -c 'SELECT pg_is_in_recovery()')" f "read_routing = off: reads on the primary"
psql_primary -d postgres -c "DROP TABLE fg_routing_t; DROP SEQUENCE fg_routing_s; DROP ROLE fg_ro" >/dev/null
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
