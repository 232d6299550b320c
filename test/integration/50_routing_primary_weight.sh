#!/usr/bin/env bash
# 50_routing_primary_weight.sh: primary_read_weight gives the write node a share of reads beside the
# replicas (round_robin takes all three in turn, SHOW ROUTING counts them); with replica_weights=0,0 it
# alone takes reads even under replica_fallback = error; writes still go only to the primary; and
# without it (the default) no read goes to the primary while a replica is usable.
set -u
. "$(cd "$(dirname "$0")" && pwd)/40_pooler_lib.bash"

# reads_ports N: the server ports that N autocommit reads ran on, sorted and unique, space-separated
reads_ports() { for _ in $(seq 1 "$1"); do psql_pooler -c 'SELECT inet_server_port()'; done | sort -u | tr '\n' ' '; }
# start_with DB_EXTRA: (re)starts the pooler with that database line and waits for its health checks
start_with() {
  pooler_stop
  POOLER_DB_EXTRA="replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT $1"
  pooler_start "health_check_period = 100ms" "load_balance = round_robin" "replica_fallback = error" || return 1
  psql_pooler -c 'SELECT 1' >/dev/null
  pooler_wait_routing
}
all3=$(printf '%s\n' "$FG_PRIMARY_PORT" "$FG_REPLICA1_PORT" "$FG_REPLICA2_PORT" | sort | tr '\n' ' ')

start_with "primary_read_weight=1" || { ok 1 "pooler started"; done_testing; exit 0; }
is "$(reads_ports 9)" "$all3" "primary_read_weight=1: reads go to the primary and both replicas"
is "$(psql_pooler -c 'CREATE TEMP TABLE w (a int); INSERT INTO w VALUES (1) RETURNING pg_is_in_recovery()')" f \
  "writes still go to the primary"
reads0=$(psql_pooler_admin -c 'SHOW ROUTING' | awk -F'|' '$2 == 0 {print $11}')
ok $([ "${reads0:-0}" -ge 3 ] && echo 0 || echo 1) "SHOW ROUTING counts the primary's reads ($reads0)"

start_with "replica_weights=0,0 primary_read_weight=1"
is "$(reads_ports 4)" "$FG_PRIMARY_PORT " "replica_weights=0,0 primary_read_weight=1: every read on the primary"
out=$(psql_pooler -c 'SELECT 1' 2>&1)
is "$out" 1 "replica_fallback = error does not refuse reads the primary takes by weight"

start_with ""
is "$(reads_ports 6)" "$(printf '%s\n' "$FG_REPLICA1_PORT" "$FG_REPLICA2_PORT" | sort | tr '\n' ' ')" \
  "without primary_read_weight no read goes to the primary"
pooler_stop
ok 0 "pooler stopped"
done_testing
