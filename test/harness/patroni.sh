#!/usr/bin/env bash
# patroni.sh: the Patroni test harness. Starts a PostgreSQL 15 cluster of N nodes (default 3) managed by
# Patroni 3.0 with its built-in Raft store (python3-pysyncobj; no etcd), every Patroni, Raft member and
# PostgreSQL on free loopback ports, as the postgres user, in a fresh temporary directory; waits for a
# leader and every replica streaming; runs a command with the coordinates in its environment; and always
# stops and removes everything afterwards, also when the command fails or the run is interrupted.
#
# Usage: test/harness/patroni.sh [options] -- command [args...]
#   --nodes N          members (default 3)
#   --async            synchronous_mode: false (default: synchronous_mode: true, one synchronous standby)
#   --node-cpu CORES   a CPU budget per node (cgroup.sh): each Patroni, and so its PostgreSQL, in a
#                      cgroup faregate-<pid>-node<i> with that quota
#   --spare N          N more members (node<nodes+1>..) configured but not started: the command starts one
#                      with `$FG_RUN_AS setsid patroni $FG_PATRONI<i>_CONF` (as a member added to a running
#                      cluster; it joins the Raft store through the first nodes and clones a replica); they
#                      are stopped and removed like the others. Not with --node-cpu.
#
# The command sees (and $FG_PATRONI_DIR/patroni.env holds):
#   FG_PATRONI_DIR       the temporary directory (owned by postgres), removed at the end
#   FG_PG_BIN            PostgreSQL's bin directory;  FG_HOST 127.0.0.1
#   FG_PATRONI_NODES     number of members started; members are named node1..nodeN
#   FG_PATRONI_SPARES    the spare members' numbers (space-separated, empty without --spare); each has its
#                        FG_PATRONI<i>_PG_PORT, _REST, _CONF and _DATA, and is not in the lists below
#   FG_PATRONI_PG_PORTS  PostgreSQL ports, node1 first, space-separated; FG_PATRONI<i>_PG_PORT each
#   FG_PATRONI_REST      REST API URLs (http://127.0.0.1:PORT), comma-separated; FG_PATRONI<i>_REST each
#   FG_PATRONI<i>_CONF   node i's patroni.yml; FG_PATRONI<i>_PID its Patroni's pid; FG_PATRONI<i>_DATA its PGDATA
#   FG_PATRONICTL        "patronictl -c <node1's yml>" (run it through FG_RUN_AS)
#   FG_RUN_AS            "runuser -u postgres --" when root, empty otherwise
#   FG_PATRONI_SYNC      true or false (synchronous_mode)
# Processes the command starts and wants killed at the end go into $FG_PATRONI_DIR/pids, one per line.
set -euo pipefail

nodes=3
spare=0
sync=true
node_cpu=
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes=$2; shift 2 ;;
    --async) sync=false; shift ;;
    --node-cpu) node_cpu=$2; shift 2 ;;
    --spare) spare=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "patroni.sh: unknown option '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
case "$spare" in ''|*[!0-9]*) echo "patroni.sh: --spare needs a whole number" >&2; exit 2 ;; esac
[ "$spare" -eq 0 ] || [ -z "$node_cpu" ] || { echo "patroni.sh: --spare and --node-cpu do not combine" >&2; exit 2; }
total=$((nodes + spare))
[ $# -gt 0 ] || { echo "patroni.sh: no command given; usage: patroni.sh [options] -- command" >&2; exit 2; }
command -v patroni >/dev/null && /usr/bin/python3 -c 'import pysyncobj' 2>/dev/null ||
  { echo "patroni.sh: needs Debian's patroni and python3-pysyncobj (test/harness/deps.sh)" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
. "$here/ports.sh"
. "$here/cgroup.sh"
PG_CONFIG=${PG_CONFIG:-$(command -v /usr/lib/postgresql/15/bin/pg_config || command -v pg_config)}
FG_PG_BIN=$("$PG_CONFIG" --bindir)
if [ "$(id -u)" -eq 0 ]; then FG_RUN_AS="runuser -u postgres --"; else FG_RUN_AS=""; fi
FG_HOST=127.0.0.1
FG_PATRONI_NODES=$nodes
FG_PATRONI_SYNC=$sync
cgroups=""
if [ -n "$node_cpu" ]; then
  cgroup_detect || exit 2
  cgroup_quota_us "$node_cpu" >/dev/null || exit 2
  cgroup_clean_stale
fi

FG_PATRONI_DIR=$(mktemp -d /tmp/faregate-patroni.XXXXXX)
chmod 700 "$FG_PATRONI_DIR"
touch "$FG_PATRONI_DIR/pids"
[ -n "$FG_RUN_AS" ] && chown -R postgres: "$FG_PATRONI_DIR"

cleanup() {
  local rc=$? i pid
  trap - EXIT INT TERM HUP
  if [ -s "$FG_PATRONI_DIR/pids" ]; then
    while read -r pid; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true; done <"$FG_PATRONI_DIR/pids"
  fi
  # Patroni first (it would restart a PostgreSQL stopped under it), then PostgreSQL itself.
  for i in $(seq 1 "$total"); do
    pid=$(cat "$FG_PATRONI_DIR/node$i/patroni.pid" 2>/dev/null || true)
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  done
  for i in $(seq 1 "$total"); do
    local dir=$FG_PATRONI_DIR/node$i/data
    if [ -f "$dir/postmaster.pid" ]; then
      $FG_RUN_AS "$FG_PG_BIN/pg_ctl" -D "$dir" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
      pid=$(head -1 "$dir/postmaster.pid" 2>/dev/null || true)
      [ -n "$pid" ] && { kill -CONT "$pid"; kill -KILL "$pid"; } 2>/dev/null || true
    fi
  done
  for _ in $(seq 1 50); do
    pgrep -f "$FG_PATRONI_DIR" >/dev/null 2>&1 || break
    sleep 0.1
  done
  pkill -KILL -f "$FG_PATRONI_DIR" 2>/dev/null || true
  local cg
  for cg in $cgroups; do cgroup_remove "$cg"; done
  rm -rf "$FG_PATRONI_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

declare -a pg_port rest_port raft_port
for i in $(seq 1 "$total"); do
  pg_port[i]=$(free_port); rest_port[i]=$(free_port); raft_port[i]=$(free_port)
done

write_node_conf() { # write_node_conf I: node I's patroni.yml (a spare's partners: the first nodes)
  local i=$1 dir=$FG_PATRONI_DIR/node$1 j partners=""
  for j in $(seq 1 "$nodes"); do
    [ "$j" = "$i" ] || partners+="${partners:+, }$FG_HOST:${raft_port[j]}"
  done
  mkdir -p "$dir/raft"
  cat >"$dir/patroni.yml" <<EOF
# faregate test harness: node $i of $total (Patroni 3.0, Raft store)
scope: faregate-test
name: node$i
log:
  level: WARNING
  dir: $dir
restapi:
  listen: $FG_HOST:${rest_port[i]}
  connect_address: $FG_HOST:${rest_port[i]}
raft:
  data_dir: $dir/raft
  self_addr: $FG_HOST:${raft_port[i]}
  partner_addrs: [$partners]
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: 16777216
    synchronous_mode: $sync
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        hot_standby_feedback: 'on'
        wal_log_hints: 'on'
        max_connections: 300
        max_wal_senders: 10
        max_replication_slots: 10
        wal_receiver_status_interval: 1s
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: $FG_HOST:${pg_port[i]}
  connect_address: $FG_HOST:${pg_port[i]}
  data_dir: $dir/data
  bin_dir: $FG_PG_BIN
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
  parameters:
    unix_socket_directories: '$dir'
    shared_buffers: 64MB
    fsync: 'off'
    full_page_writes: 'off'
    logging_collector: 'off'
    log_line_prefix: '%m [%p] %u@%d '
tags:
  nofailover: false
  noloadbalance: false
EOF
  [ -n "$FG_RUN_AS" ] && chown -R postgres: "$dir"
  return 0
}

# patroni_start_node I: starts node I's Patroni as postgres in its own session (inside its cgroup with
# --node-cpu), logging to node I's patroni.log (its own output: patroni.out); records its pid in nodeI/patroni.pid.
patroni_start_node() {
  local i=$1 dir=$FG_PATRONI_DIR/node$1 cg=""
  [ -n "$node_cpu" ] && cg=$cgroup_root/faregate-$$-node$i
  rm -f "$dir/patroni.pid"
  (
    if [ -n "$cg" ]; then cgroup_join "$cg" "$BASHPID" || exit 1; fi
    # the pid written is Patroni's own (bash execs it), not runuser's, which stays as its parent
    # shellcheck disable=SC2016
    exec $FG_RUN_AS setsid bash -c 'echo $$ >"$1/patroni.pid"; exec patroni "$1/patroni.yml"' - "$dir" \
      >>"$dir/patroni.out" 2>&1
  ) &
  for _ in $(seq 1 50); do [ -s "$dir/patroni.pid" ] && break; sleep 0.1; done
}

for i in $(seq 1 "$total"); do
  write_node_conf "$i"
  if [ -n "$node_cpu" ]; then
    cg=$(cgroup_create "faregate-$$-node$i" "$node_cpu") || exit 1
    cgroups+="${cgroups:+ }$cg"
  fi
done
for i in $(seq 1 "$nodes"); do patroni_start_node "$i"; done

FG_PATRONICTL="patronictl -c $FG_PATRONI_DIR/node1/patroni.yml"
# members_json: patronictl's member list as JSON (empty on failure)
members_json() { $FG_RUN_AS $FG_PATRONICTL list -f json 2>/dev/null || true; }
# ready: one leader running, every other member running, and the leader streaming WAL to all of them
# (Patroni 3.0.2 reports a replica "running" whether or not it streams)
ready() {
  local leader
  leader=$(members_json | /usr/bin/python3 -c '
import json, sys
try:
    m = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
leaders = [x for x in m if x.get("Role") == "Leader" and x.get("State") == "running"]
others = [x for x in m if x.get("Role") != "Leader" and x.get("State") in ("running", "streaming")]
if len(leaders) == 1 and len(leaders) + len(others) == int(sys.argv[1]):
    print(leaders[0]["Host"].rsplit(":", 1)[1])' "$nodes") || return 1
  [ -n "$leader" ] || return 1
  [ "$($FG_RUN_AS "$FG_PG_BIN/psql" -X -qAt -h "$FG_HOST" -p "$leader" -U postgres -d postgres -c \
    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null)" = $((nodes - 1)) ]
}
deadline=$((SECONDS + 180))
until ready; do
  if [ $SECONDS -ge $deadline ]; then
    echo "patroni.sh: no leader with every replica streaming within 180 s; patronictl list and the logs:" >&2
    $FG_RUN_AS $FG_PATRONICTL list >&2 || true
    for i in $(seq 1 "$nodes"); do tail -5 "$FG_PATRONI_DIR/node$i/patroni.log" "$FG_PATRONI_DIR/node$i/patroni.out" >&2 2>/dev/null || true; done
    exit 1
  fi
  for i in $(seq 1 "$nodes"); do
    kill -0 "$(cat "$FG_PATRONI_DIR/node$i/patroni.pid")" 2>/dev/null || {
      echo "patroni.sh: node$i's Patroni exited; its log:" >&2; tail -20 "$FG_PATRONI_DIR/node$i/patroni.log" "$FG_PATRONI_DIR/node$i/patroni.out" >&2; exit 1; }
  done
  sleep 0.5
done

FG_PATRONI_PG_PORTS="" FG_PATRONI_REST=""
for i in $(seq 1 "$nodes"); do
  FG_PATRONI_PG_PORTS+="${FG_PATRONI_PG_PORTS:+ }${pg_port[i]}"
  FG_PATRONI_REST+="${FG_PATRONI_REST:+,}http://$FG_HOST:${rest_port[i]}"
  export "FG_PATRONI${i}_PG_PORT=${pg_port[i]}" "FG_PATRONI${i}_REST=http://$FG_HOST:${rest_port[i]}" \
    "FG_PATRONI${i}_CONF=$FG_PATRONI_DIR/node$i/patroni.yml" "FG_PATRONI${i}_DATA=$FG_PATRONI_DIR/node$i/data" \
    "FG_PATRONI${i}_PID=$(cat "$FG_PATRONI_DIR/node$i/patroni.pid")"
done
FG_PATRONI_SPARES=""
for i in $(seq $((nodes + 1)) "$total"); do
  FG_PATRONI_SPARES+="${FG_PATRONI_SPARES:+ }$i"
  export "FG_PATRONI${i}_PG_PORT=${pg_port[i]}" "FG_PATRONI${i}_REST=http://$FG_HOST:${rest_port[i]}" \
    "FG_PATRONI${i}_CONF=$FG_PATRONI_DIR/node$i/patroni.yml" "FG_PATRONI${i}_DATA=$FG_PATRONI_DIR/node$i/data"
done
export FG_PATRONI_DIR FG_PG_BIN FG_HOST FG_PATRONI_NODES FG_PATRONI_PG_PORTS FG_PATRONI_REST FG_PATRONICTL \
  FG_RUN_AS FG_PATRONI_SYNC FG_PATRONI_SPARES
env | grep '^FG_' | sed 's/^/export /; s/=\(.*\)$/="\1"/' >"$FG_PATRONI_DIR/patroni.env"

set +e
"$@"
rc=$?
set -e
exit $rc
