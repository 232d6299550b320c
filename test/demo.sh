#!/usr/bin/env bash
# demo.sh: what `make demo` runs. Builds and installs faregate, starts a primary + 1 streaming replica
# (test/harness/cluster.sh) with faregate-pooler in front, loads a sample transit network and a clinic
# queue, runs a short workload through the pooler, and prints what happened. Everything it starts is
# stopped when it ends (also on failure or Ctrl-C).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PG_CONFIG=${PG_CONFIG:-$(command -v /usr/lib/postgresql/15/bin/pg_config || command -v pg_config)}
export PG_CONFIG

if [ -z "${FG_CLUSTER_DIR:-}" ]; then
  . test/harness/install-lock.sh
  exec 9>"$FG_INSTALL_LOCK"
  flock -w 1200 9
  echo "== building faregate"
  make -s -C extension >/dev/null
  make -s -C extension install >/dev/null
  make -s -C pooler >/dev/null
  echo "== starting a primary and one streaming replica"
  exec test/harness/cluster.sh --replicas 1 -- "$0"
fi

# --- from here on we run inside the harness (FG_* set) ---
. test/harness/tap.sh >/dev/null
section() { printf '\n== %s\n' "$*"; }
sql_primary() { psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d demo "$@"; }

section "cluster"
echo "primary  127.0.0.1:$FG_PRIMARY_PORT  in recovery: $(psql_primary -d postgres -c 'SELECT pg_is_in_recovery()')"
echo "replica  127.0.0.1:$FG_REPLICA1_PORT  in recovery: $(psql_port "$FG_REPLICA1_PORT" -d postgres -c 'SELECT pg_is_in_recovery()')"

psql_primary -d postgres -c "CREATE DATABASE demo"
sql_primary -c "SET client_min_messages = warning; CREATE EXTENSION faregate CASCADE"
echo "extension faregate $(sql_primary -c 'SELECT faregate.version()') installed in database demo"

has_function() { [ "$(sql_primary -c "SELECT count(*) > 0 FROM pg_proc WHERE pronamespace = 'faregate'::regnamespace AND proname = '$1'")" = t ]; }

# --- the pooler in front (when this build of faregate-pooler serves connections) ---
pooler_port=""
pooler_dir=$FG_CLUSTER_DIR/pooler
mkdir -p "$pooler_dir"
port=$(free_port)
cat >"$pooler_dir/faregate-pooler.ini" <<EOF
[databases]
demo = host=127.0.0.1 port=$FG_PRIMARY_PORT dbname=demo replicas=127.0.0.1:$FG_REPLICA1_PORT
[pooler]
listen_addr = 127.0.0.1
listen_port = $port
auth_type = trust
pool_mode = transaction
default_pool_size = 4
max_client_conn = 1000
read_your_writes = on
admin_users = postgres
logfile = $pooler_dir/faregate-pooler.log
EOF
if ! pooler/faregate-pooler -C "$pooler_dir/faregate-pooler.ini" >/dev/null 2>&1; then
  # A pooler without routing does not know replicas=: fall back to the primary-only line.
  sed -i "s/ replicas=127.0.0.1:$FG_REPLICA1_PORT//" "$pooler_dir/faregate-pooler.ini"
fi
pooler/faregate-pooler "$pooler_dir/faregate-pooler.ini" >"$pooler_dir/stdout.log" 2>&1 &
echo $! >>"$FG_CLUSTER_DIR/pids"
for _ in $(seq 1 50); do
  if psql -X -qAt -h 127.0.0.1 -p "$port" -U postgres -d demo -c "SELECT 1" >/dev/null 2>&1; then
    pooler_port=$port
    break
  fi
  kill -0 "$(tail -1 "$FG_CLUSTER_DIR/pids")" 2>/dev/null || break
  sleep 0.1
done
section "faregate-pooler"
if [ -n "$pooler_port" ]; then
  echo "faregate-pooler listening on 127.0.0.1:$pooler_port (transaction pooling, pool of 4 per node)"
  app_port=$pooler_port
  via="through faregate-pooler"
else
  echo "this build of faregate-pooler does not serve connections yet; it said:"
  sed 's/^/  /' "$pooler_dir/stdout.log"
  echo "(the workload below goes straight to the primary)"
  app_port=$FG_PRIMARY_PORT
  via="directly on the primary"
fi

# --- fares ---
section "fares ($via)"
if has_function fare; then
  psql -X -q -h 127.0.0.1 -p "$app_port" -U postgres -d demo -v ON_ERROR_STOP=1 -f test/demo/fares.sql
else
  echo "the fare functions are not in this build yet"
fi

# --- queues ---
section "queues ($via)"
if has_function enqueue; then
  psql -X -q -h 127.0.0.1 -p "$app_port" -U postgres -d demo -v ON_ERROR_STOP=1 -f test/demo/queues.sql
else
  echo "the queue functions are not in this build yet"
fi

# --- concurrent load: many app connections sharing the pool ---
if has_function fare && has_function enqueue; then
  section "load ($via): 200 app connections for 5 s, pricing rides (90%) and running the queue (10%)"
  printf '%s\n' '\set f random(0, 3)' '\set t random(0, 3)' \
    "SELECT faregate.fare(chr(65 + :f), chr(65 + :t), now(), 'adult');" >"$FG_CLUSTER_DIR/fare.pgbench"
  printf '%s\n' "SELECT faregate.enqueue(1, 'load');" "SELECT faregate.call_next(1);" \
    >"$FG_CLUSTER_DIR/queue.pgbench"
  pgbench -n -h 127.0.0.1 -p "$app_port" -U postgres -c 200 -j 2 -T 5 \
    -f "$FG_CLUSTER_DIR/fare.pgbench@9" -f "$FG_CLUSTER_DIR/queue.pgbench@1" demo \
    >"$FG_CLUSTER_DIR/pgbench.log" 2>&1 || true
  grep -E "^(number of clients|number of transactions actually|number of failed|latency average|tps|SQL script|pgbench: error)" \
    "$FG_CLUSTER_DIR/pgbench.log" | head -20 | sed 's/^/  /'
fi

# --- what the pooler saw ---
if [ -n "$pooler_port" ]; then
  section "faregate-pooler's view (admin console)"
  # show_columns COMMAND COLUMN...: the named columns of an admin-console SHOW, as a table
  show_columns() {
    local command=$1; shift
    psql -X -A -F '|' -h 127.0.0.1 -p "$pooler_port" -U postgres -d faregate -c "$command" 2>&1 |
      awk -F'|' -v want="$*" '
        NR == 1 { n = split(want, w, " "); for (i = 1; i <= NF; i++) col[$i] = i }
        /^\(/ { next }
        { line = ""; for (j = 1; j <= n; j++) line = line sprintf("%-19s", (NR == 1 ? w[j] : $col[w[j]])); print "  " line }'
  }
  echo "SHOW POOLS:"
  show_columns "SHOW POOLS" database user node role port cl_active cl_waiting sv_active sv_idle maxwait
  echo "SHOW ROUTING (reads and writes sent to each node, verified role, replay lag):"
  show_columns "SHOW ROUTING" database node role status lag_bytes lag_ms reads writes
  echo "SHOW STATS:"
  show_columns "SHOW STATS" database total_xact_count total_query_count total_wait_time total_errors
fi

section "replication"
wait_replicas_caught_up 30 || true
psql_primary -d postgres -c "SELECT application_name, state, replay_lsn, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS lag_bytes FROM pg_stat_replication" -F ' | '
echo
echo "demo finished: stopping the pooler, the replica and the primary"
