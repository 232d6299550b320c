#!/usr/bin/env bash
# cluster.sh: the test-cluster harness. Starts a PostgreSQL 15 primary and N streaming replicas
# (pg_basebackup -R, hot standby) in a fresh temporary directory on free loopback ports, runs a command
# with the cluster's coordinates in its environment, and always stops and removes everything afterwards,
# also when the command fails or the run is interrupted.
#
# Usage: test/harness/cluster.sh [options] -- command [args...]
#   --replicas N          number of streaming replicas (default 2)
#   --delay I=DURATION    recovery_min_apply_delay on replica I (1-based), e.g. --delay 1=200ms
#   --conf 'LINE'         extra postgresql.conf line for every node (repeatable)
#   --max-connections N   max_connections on every node (default 300)
#   --node-cpu CORES      a CPU budget per node, standing in for separate hosts (e.g. 0.25 = a quarter core):
#                         each postmaster starts inside a cgroup of its own, faregate-<harness pid>-node<i>
#                         (node0 the primary, node<i> replica i), with a CPU quota, so every backend it forks
#                         shares that budget. cgroup v1's cpu controller (cpu.cfs_quota_us) where the machine
#                         has it, else cgroup v2's cpu.max. Needs root. The cgroups are removed on exit (also
#                         on failure), and those of killed earlier runs (their harness pid gone) at start.
#                         A node restarted by the command itself (pg_ctl restart) is outside its cgroup unless
#                         the command starts it from inside: FG_NODE_CGROUP<i> names each cgroup directory.
#
# The command sees (and $FG_CLUSTER_DIR/cluster.env holds):
#   FG_CLUSTER_DIR      temporary directory owned by the postgres user, removed at the end
#   FG_PG_BIN           PostgreSQL's bin directory
#   FG_HOST             127.0.0.1
#   FG_PRIMARY_PORT     the primary's port; FG_PRIMARY_DATA its data directory
#   FG_REPLICA_PORTS    the replicas' ports, space-separated; FG_REPLICA<i>_PORT / FG_REPLICA<i>_DATA each
#   FG_PRIMARY_DSN      "host=127.0.0.1 port=… dbname=postgres user=postgres"
#   FG_NODE_CGROUPS     with --node-cpu: the nodes' cgroup directories (node0 first), space-separated, and
#                       FG_NODE_CGROUP<i> each; FG_NODE_CPU the budget in cores; empty without --node-cpu
#   FG_RUN_AS           the command prefix that runs a program as the cluster's owner ("runuser -u postgres --"
#                       when root, empty otherwise): pg_ctl and friends must run through it
# Processes that the command starts and wants killed at the end (a pooler, pgbench ...) go into
# $FG_CLUSTER_DIR/pids, one pid per line: the harness kills them before stopping PostgreSQL.
#
# Authentication (pg_hba.conf): users whose names start with md5_ must log in with md5 over TCP, users
# starting with scram_ with SCRAM-SHA-256; everybody else is trusted (loopback and the socket only).
# PostgreSQL 15's pg_hba.conf has no regular expressions (they came in 16), so there the name alone does
# nothing: also make such users members of the group md5_users or scram_users, which the harness creates
# (CREATE ROLE md5_bob LOGIN PASSWORD '...' IN ROLE md5_users).
set -euo pipefail

replicas=2
max_connections=300
declare -A delays=()
extra_conf=()
node_cpu=
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas=$2; shift 2 ;;
    --delay) delays[${2%%=*}]=${2#*=}; shift 2 ;;
    --conf) extra_conf+=("$2"); shift 2 ;;
    --max-connections) max_connections=$2; shift 2 ;;
    --node-cpu) node_cpu=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "cluster.sh: unknown option '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "cluster.sh: no command given; usage: cluster.sh [options] -- command" >&2; exit 2; }

PG_CONFIG=${PG_CONFIG:-$(command -v /usr/lib/postgresql/15/bin/pg_config || command -v pg_config)}
FG_PG_BIN=$("$PG_CONFIG" --bindir)
if [ "$(id -u)" -eq 0 ]; then FG_RUN_AS="runuser -u postgres --"; else FG_RUN_AS=""; fi
FG_HOST=127.0.0.1

# shellcheck source=cgroup.sh
. "$(dirname "$0")/cgroup.sh"
FG_NODE_CPU=$node_cpu
FG_NODE_CGROUPS=""
if [ -n "$node_cpu" ]; then
  cgroup_detect || exit 2
  cgroup_quota_us "$node_cpu" >/dev/null || exit 2
  cgroup_clean_stale
fi

FG_CLUSTER_DIR=$(mktemp -d /tmp/faregate-cluster.XXXXXX)
[ -n "$FG_RUN_AS" ] && chown postgres: "$FG_CLUSTER_DIR"
chmod 700 "$FG_CLUSTER_DIR"
touch "$FG_CLUSTER_DIR/pids"; [ -n "$FG_RUN_AS" ] && chown postgres: "$FG_CLUSTER_DIR/pids"
node_dirs=()

as_owner() { $FG_RUN_AS "$@"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -s "$FG_CLUSTER_DIR/pids" ]; then
    while read -r pid; do
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done <"$FG_CLUSTER_DIR/pids"
  fi
  for dir in "${node_dirs[@]}"; do
    if [ -f "$dir/postmaster.pid" ]; then
      as_owner "$FG_PG_BIN/pg_ctl" -D "$dir" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
    fi
    # A postmaster that did not go away (frozen with SIGSTOP by a test, say) is killed outright.
    if [ -f "$dir/postmaster.pid" ]; then
      local pm; pm=$(head -1 "$dir/postmaster.pid" 2>/dev/null || true)
      [ -n "$pm" ] && { kill -CONT "$pm" 2>/dev/null; kill -KILL "$pm" 2>/dev/null; } || true
    fi
  done
  # Backends of a killed postmaster exit on their own within a moment; wait for them so that nothing is left.
  for _ in $(seq 1 50); do
    pgrep -f "$FG_CLUSTER_DIR" >/dev/null 2>&1 || break
    sleep 0.1
  done
  pkill -KILL -f "$FG_CLUSTER_DIR" 2>/dev/null || true
  local cg
  for cg in $FG_NODE_CGROUPS; do cgroup_remove "$cg"; done
  rm -rf "$FG_CLUSTER_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# shellcheck source=ports.sh
. "$(dirname "$0")/ports.sh"

write_conf() { # write_conf DATADIR PORT
  cat >>"$1/postgresql.conf" <<EOF

# --- faregate test harness ---
listen_addresses = '127.0.0.1'
port = $2
unix_socket_directories = '$FG_CLUSTER_DIR'
max_connections = $max_connections
shared_buffers = 64MB
fsync = off
full_page_writes = off
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
logging_collector = off
log_line_prefix = '%m [%p] %u@%d '
log_min_messages = warning
EOF
  local line
  for line in "${extra_conf[@]}"; do echo "$line" >>"$1/postgresql.conf"; done
}

# node_cgroup I: creates node I's cgroup with its CPU quota (with --node-cpu; nothing otherwise) and
# records it for cleanup; sets node_cg to its directory (empty without --node-cpu).
node_cgroup() {
  node_cg=""
  [ -n "$node_cpu" ] || return 0
  node_cg=$(cgroup_create "faregate-$$-node$1" "$node_cpu") || exit 1
  FG_NODE_CGROUPS+="${FG_NODE_CGROUPS:+ }$node_cg"
  export "FG_NODE_CGROUP$1=$node_cg"
}

start_node() { # start_node DATADIR PORT_VARIABLE [CGROUP]: starts the node (inside CGROUP when given); on a
  # port taken between our check and PostgreSQL's bind (another test run choosing the same free port), moves
  # it to a new port and retries.
  local dir=$1 port_var=$2 cg=${3:-} attempt
  for attempt in 1 2 3; do
    # The subshell joins the cgroup and then becomes pg_ctl: the postmaster it forks, and every process the
    # postmaster forks, are born inside; the harness itself stays outside.
    if ( if [ -n "$cg" ]; then cgroup_join "$cg" "$BASHPID" || exit 1; fi
         exec $FG_RUN_AS "$FG_PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null ); then
      return 0
    fi
    if [ "$attempt" -lt 3 ] && grep -q "could not create any TCP/IP sockets" "$dir/server.log" 2>/dev/null; then
      local new_port; new_port=$(free_port)
      echo "cluster.sh: port ${!port_var} was taken; retrying $dir on port $new_port" >&2
      sed -i "s/^port = .*/port = $new_port/" "$dir/postgresql.conf"
      printf -v "$port_var" '%s' "$new_port"
      continue
    fi
    break
  done
  echo "cluster.sh: PostgreSQL in $dir did not start; its log:" >&2
  tail -20 "$dir/server.log" >&2 || true
  return 1
}

psql_at() { # psql_at PORT SQL
  as_owner "$FG_PG_BIN/psql" -X -qAt -h "$FG_HOST" -p "$1" -U postgres -d postgres -c "$2"
}

# --- primary ---
FG_PRIMARY_DATA=$FG_CLUSTER_DIR/primary
FG_PRIMARY_PORT=$(free_port)
node_dirs+=("$FG_PRIMARY_DATA")
as_owner "$FG_PG_BIN/initdb" -D "$FG_PRIMARY_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
write_conf "$FG_PRIMARY_DATA" "$FG_PRIMARY_PORT"
cat >"$FG_PRIMARY_DATA/pg_hba.conf" <<'EOF'
# faregate test harness: md5_* users log in with md5, scram_* users with SCRAM-SHA-256, others trusted
# (on PostgreSQL 15 through the groups md5_users and scram_users; the regex lines serve 16 and later).
local   all          all                          trust
host    all          +md5_users    127.0.0.1/32   md5
host    all          +scram_users  127.0.0.1/32   scram-sha-256
host    all          /^md5_        127.0.0.1/32   md5
host    all          /^scram_      127.0.0.1/32   scram-sha-256
host    all          all           127.0.0.1/32   trust
host    replication  all           127.0.0.1/32   trust
EOF
node_cgroup 0
start_node "$FG_PRIMARY_DATA" FG_PRIMARY_PORT "$node_cg"
psql_at "$FG_PRIMARY_PORT" "CREATE ROLE md5_users NOLOGIN; CREATE ROLE scram_users NOLOGIN" >/dev/null

# --- replicas ---
FG_REPLICA_PORTS=""
for i in $(seq 1 "$replicas"); do
  dir=$FG_CLUSTER_DIR/replica$i
  port=$(free_port)
  node_dirs+=("$dir")
  as_owner "$FG_PG_BIN/pg_basebackup" -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -D "$dir" -R -X stream \
    -c fast >/dev/null
  sed -i "s/^port = .*/port = $port/" "$dir/postgresql.conf"
  echo "primary_conninfo = 'host=$FG_HOST port=$FG_PRIMARY_PORT user=postgres application_name=replica$i'" \
    >>"$dir/postgresql.auto.conf"
  if [ -n "${delays[$i]:-}" ]; then
    echo "recovery_min_apply_delay = '${delays[$i]}'" >>"$dir/postgresql.auto.conf"
  fi
  node_cgroup "$i"
  start_node "$dir" port "$node_cg"
  FG_REPLICA_PORTS+="${FG_REPLICA_PORTS:+ }$port"
  export "FG_REPLICA${i}_PORT=$port" "FG_REPLICA${i}_DATA=$dir"
done

# --- wait until every replica replays the primary's current LSN (bounded: 60 s) ---
target_lsn=$(psql_at "$FG_PRIMARY_PORT" "SELECT pg_current_wal_lsn()")
for port in $FG_REPLICA_PORTS; do
  deadline=$((SECONDS + 60))
  until [ "$(psql_at "$port" "SELECT coalesce(pg_last_wal_replay_lsn() >= '$target_lsn', false)" 2>/dev/null)" = t ]; do
    if [ $SECONDS -ge $deadline ]; then
      echo "cluster.sh: replica on port $port did not reach LSN $target_lsn within 60 s" >&2
      exit 1
    fi
    sleep 0.1
  done
done

FG_PRIMARY_DSN="host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres user=postgres"
export FG_CLUSTER_DIR FG_PG_BIN FG_HOST FG_PRIMARY_PORT FG_PRIMARY_DATA FG_REPLICA_PORTS FG_PRIMARY_DSN FG_RUN_AS \
  FG_NODE_CPU FG_NODE_CGROUPS
env | grep '^FG_' | sed 's/^/export /; s/=\(.*\)$/="\1"/' >"$FG_CLUSTER_DIR/cluster.env"
[ -n "$FG_RUN_AS" ] && chown postgres: "$FG_CLUSTER_DIR/cluster.env"

# The command runs in the foreground: Ctrl-C reaches it and the harness alike (one process group), the
# command ends, and the harness's trap then stops the cluster.
set +e
"$@"
rc=$?
set -e
exit $rc
