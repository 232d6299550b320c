#!/usr/bin/env bash
# 50_routing_show.sh: the per-host routing columns of the admin console (docs/routing.md "Admin console")
# on the shared primary + 2 replicas: PgBouncer 1.18's columns of SHOW SERVERS / DATABASES / STATS stay
# an exact prefix; SHOW SERVERS gives each server connection its node's verified role, host, LSN and lag;
# SHOW DATABASES lists the hosts of an entry with role, status, LSN and lag; SHOW STATS counts reads and
# writes routed per host: N reads through the pooler raise the replicas' read counts by >= N, and a
# write raises the primary's write count; a paused replica shows a growing byte lag.
set -u
. "$(cd "$(dirname "$0")" && pwd)/40_pooler_lib.bash"

POOLER_DB_EXTRA="replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT"
pooler_start "health_check_period = 100ms" "max_replica_lag = 1GB" "server_lifetime = 3600" \
  || { ok 1 "pooler started"; done_testing; exit 0; }
psql_primary -d postgres -c "DROP TABLE IF EXISTS fg_show_t; CREATE TABLE fg_show_t (a int)" >/dev/null
wait_replicas_caught_up 20
psql_pooler -c 'SELECT 1' >/dev/null
pooler_wait_routing
ok $? "read routing is ready: the volatility table loaded, every node up in its role (SHOW ROUTING)"

header() { PGPASSWORD=${POOLER_ADMIN_PASSWORD:-} psql -X -qA -h 127.0.0.1 -p "$POOLER_PORT" -U postgres \
  -d faregate -c "$1" | head -1; }
P="$FG_HOST:$FG_PRIMARY_PORT"
R1="$FG_HOST:$FG_REPLICA1_PORT"
R2="$FG_HOST:$FG_REPLICA2_PORT"

# PgBouncer 1.25 prefixes, then ours (1.25 added replication, prepared_statements, id to SHOW SERVERS,
# renamed reserve_pool and added columns to SHOW DATABASES, and the assignment/prepared counters to STATS)
like "$(header 'SHOW SERVERS')" \
  "^type\|user\|database\|replication\|state\|addr\|port\|local_addr\|local_port\|connect_time\|request_time\|wait\|wait_us\|close_needed\|ptr\|link\|remote_pid\|tls\|application_name\|prepared_statements\|id\|.*\|node_role\|node_host\|node_lsn\|node_lag_bytes\|node_lag_ms$" \
  "SHOW SERVERS: PgBouncer 1.25 columns first, node_role..node_lag_ms last"
like "$(header 'SHOW CLIENTS')" "\|node\|tx_status\|state_advisory_lock\|state_hold_cursor\|state_role\|state_temp_table\|state_untracked_set\|pinned$" \
  "SHOW CLIENTS: node and tx_status, then the session-state columns (no node_role..node_lag_ms)"
is "$(header 'SHOW DATABASES')" \
  "name|host|port|database|force_user|pool_size|min_pool_size|reserve_pool_size|server_lifetime|pool_mode|load_balance_hosts|max_connections|current_connections|max_client_connections|current_client_connections|paused|disabled|reserve_pool|hosts|host_roles|host_statuses|host_lsns|host_lag_bytes|host_lag_ms" \
  "SHOW DATABASES: PgBouncer 1.25 columns, reserve_pool (1.18's name), then the per-host lists"
like "$(header 'SHOW STATS')" \
  "^database\|total_server_assignment_count\|total_xact_count\|total_query_count\|total_received\|total_sent\|total_xact_time\|total_query_time\|total_wait_time\|total_client_parse_count\|total_server_parse_count\|total_bind_count\|avg_server_assignment_count\|avg_xact_count\|avg_query_count\|avg_recv\|avg_sent\|avg_xact_time\|avg_query_time\|avg_wait_time\|avg_client_parse_count\|avg_server_parse_count\|avg_bind_count\|.*\|hosts\|host_reads_writes$" \
  "SHOW STATS: PgBouncer 1.25 columns first, hosts and host_reads_writes last"

# SHOW STATS host_reads_writes: "r/w,r/w,r/w" in the order of hosts
stats_col() { psql_pooler_admin -c 'SHOW STATS' | awk -F'|' -v c="$1" '$1 == "postgres" {print $c}'; }
rw() { stats_col 30 | tr ',' '\n' | sed -n "$1p"; }   # rw NODE(1-based) -> "reads/writes"
is "$(stats_col 29)" "$P,$R1,$R2" "SHOW STATS hosts: primary then replicas"
before_r=$(( $(rw 2 | cut -d/ -f1) + $(rw 3 | cut -d/ -f1) ))
before_w=$(rw 1 | cut -d/ -f2)
N=20
args=(); for _ in $(seq 1 $N); do args+=(-c 'SELECT pg_is_in_recovery()'); done
is "$(psql_pooler "${args[@]}" | sort | uniq -c | awk '{print $1 $2}')" "${N}t" "$N autocommit reads ran on replicas"
after_r=$(( $(rw 2 | cut -d/ -f1) + $(rw 3 | cut -d/ -f1) ))
ok $([ $((after_r - before_r)) -ge $N ] && echo 0 || echo 1) \
  "SHOW STATS: replicas' routed reads grew by >= $N ($before_r -> $after_r)"
psql_pooler -c 'INSERT INTO fg_show_t VALUES (1)' >/dev/null
after_w=$(rw 1 | cut -d/ -f2)
ok $([ "$after_w" -ge $((before_w + 1)) ] && echo 0 || echo 1) \
  "SHOW STATS: the primary's routed writes grew ($before_w -> $after_w)"
is "$(rw 2 | cut -d/ -f2)/$(rw 3 | cut -d/ -f2)" "0/0" "SHOW STATS: no writes routed to replicas"

# SHOW DATABASES per-host lists
dbrow=$(psql_pooler_admin -c 'SHOW DATABASES' | awk -F'|' '$1 == "postgres"')
is "$(echo "$dbrow" | cut -d'|' -f19-21)" "$P,$R1,$R2|primary,replica,replica|up,up,up" \
  "SHOW DATABASES: hosts, verified roles, statuses"
like "$(echo "$dbrow" | cut -d'|' -f22)" "^[0-9A-F]+/[0-9A-F]+,[0-9A-F]+/[0-9A-F]+,[0-9A-F]+/[0-9A-F]+$" \
  "SHOW DATABASES: an LSN per host"
like "$(echo "$dbrow" | cut -d'|' -f23-24)" "^[0-9]+,[0-9]+,[0-9]+\|[0-9]+,[0-9]+,[0-9]+$" \
  "SHOW DATABASES: lag in bytes and ms per host"

# SHOW SERVERS: every server connection carries its node's role, host, LSN
psql_pooler -c 'SELECT 1' >/dev/null
servers=$(psql_pooler_admin -c 'SHOW SERVERS' | awk -F'|' '$3 == "postgres" {print $(NF-4) "|" $(NF-3) "|" ($(NF-2) ~ /^[0-9A-F]+\/[0-9A-F]+$/ ? "lsn" : "nolsn")}' | sort -u)
like "$servers" "primary\|$P\|lsn" "SHOW SERVERS: a server of the primary with role, host, LSN"
like "$servers" "replica\|($R1|$R2)\|lsn" "SHOW SERVERS: a server of a replica with role, host, replay LSN"
is "$(echo "$servers" | grep -c "^replica|$P\|^primary|$R1\|^primary|$R2")" 0 "SHOW SERVERS: roles match hosts"

# a paused replica: its byte lag grows in SHOW DATABASES and in SHOW SERVERS
psql_port "$FG_REPLICA1_PORT" -d postgres -c "SELECT pg_wal_replay_pause()" >/dev/null
psql_primary -d postgres -c "INSERT INTO fg_show_t SELECT g FROM generate_series(1, 5000) g" >/dev/null
lag=0
for _ in $(seq 1 50); do
  lag=$(psql_pooler_admin -c 'SHOW DATABASES' | awk -F'|' '$1 == "postgres" {print $23}' | cut -d, -f2)
  [ "${lag:-0}" -gt 65536 ] && break; sleep 0.1
done
ok $([ "${lag:-0}" -gt 65536 ] && echo 0 || echo 1) "SHOW DATABASES: paused replica 1 lags > 64kB ($lag bytes)"
# waits (up to 50 rounds of reads) for a server connection to replica 1: least_busy takes tied replicas
# in turn, so reads through the pooler open one if none is open yet
slag=
for _ in $(seq 1 50); do
  slag=$(psql_pooler_admin -c 'SHOW SERVERS' | awk -F'|' -v h="$R1" '$3 == "postgres" && $(NF-3) == h {print $(NF-1)}' | sort -n | tail -1)
  [ -n "$slag" ] && break
  psql_pooler -c 'SELECT 1' -c 'SELECT 2' >/dev/null
done
ok $([ -n "$slag" ] && [ "$slag" -gt 65536 ] && echo 0 || echo 1) \
  "SHOW SERVERS: servers of replica 1 show its lag (${slag:-no server of replica 1 opened} bytes)"
psql_port "$FG_REPLICA1_PORT" -d postgres -c "SELECT pg_wal_replay_resume()" >/dev/null
psql_primary -d postgres -c "DROP TABLE fg_show_t" >/dev/null
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
