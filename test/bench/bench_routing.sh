#!/usr/bin/env bash
# bench_routing.sh: pgbench -S, 100 clients, simple protocol, on a primary + 2 streaming replicas of its
# own, every node with the same CPU budget (FG_BENCH_NODE_CPU cores each, default 0.25: cluster.sh
# --node-cpu, a cgroup quota per postmaster, standing in for hosts of their own; 0 = no budget, every
# node shares the machine; the poolers and pgbench run outside any budget), each configuration in turn:
#   faregate_on     faregate-pooler, read routing on (reads to both replicas), pool 20 per node
#   faregate_on10   the same with pool 10 per node: 20 backends read, as many as PgBouncer's pool
#   pgbouncer       PgBouncer 1.18 on the primary alone (it cannot split reads), pool 20
#   pgpool          pgpool-II 4.3, streaming-replication mode, load balancing on the same nodes (primary
#                   weight 0 as for faregate); one child per client (num_init_children = 100)
#   faregate_off    faregate-pooler, read_routing = off (everything on the primary), pool 20
#   faregate_cls    faregate-pooler classifying and routing every statement with replica_weights=0,0
#                   (reads fall back to the primary): the routing logic's own cost
#   faregate_all    faregate-pooler, routing on, primary_read_weight=1: reads spread over all three nodes
# FG_BENCH_MODES picks (and orders) them; default all but faregate_on10. Then a mixed workload, pgbench
# -b tpcb-like@1 -b select-only@9 at 100 clients, through faregate routing on (mixed_on: reads on the
# replicas) and off (mixed_off: everything on the primary), with the writes' (tpcb-like's) own p99;
# then both again at one fixed rate (pgbench -R, 80% of mixed_off's TPS), so both do the same work.
# Prints TPS, p99 and transactions per node (from pg_stat_database) for each, the ratios, then the close
# ratios again as medians of back-to-back pairs, each against its target. `uptime` before and after.
# FG_BENCH_SECONDS per run (default 10); ~7 minutes. Never fails on speed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
node_cpu=${FG_BENCH_NODE_CPU:-0.25}
if [ -z "${FG_CLUSTER_DIR:-}" ]; then
  budget=(); [ "$node_cpu" != 0 ] && budget=(--node-cpu "$node_cpu")
  exec "$top/test/harness/cluster.sh" --replicas 2 --max-connections 400 "${budget[@]}" -- "$0" "$@"
fi
modes=${FG_BENCH_MODES:-faregate_on pgbouncer pgpool faregate_off faregate_cls faregate_all}
secs=${FG_BENCH_SECONDS:-10}
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/faregate-bench-routing.XXXXXX)
chmod 777 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT
. "$top/test/bench/lib.sh"
on_port=$(bench_pick_port); on10_port=$(bench_pick_port); off_port=$(bench_pick_port); cls_port=$(bench_pick_port)
all_port=$(bench_pick_port)
pgb_port=$(bench_pick_port); pgp_port=$(bench_pick_port); pcp_port=$(bench_pick_port)
nodes=("$FG_PRIMARY_PORT" $FG_REPLICA_PORTS)

pgbench -i -q -s 10 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres postgres >/dev/null 2>&1 ||
  { echo "bench_routing: pgbench -i failed"; exit 1; }
make -s -C "$top/pooler" >/dev/null || { echo "bench_routing: build failed"; exit 1; }

# on: reads to the replicas; off: read_routing = off; cls: routing on but replica_weights=0,0, so
# every statement is classified and routed, and every read falls back to the primary: the cost of
# routing itself, without spreading the load over more PostgreSQL backends on the same cores
for which in on on10 off cls all; do
  case $which in on) port=$on_port ;; on10) port=$on10_port ;; off) port=$off_port ;; cls) port=$cls_port ;;
    all) port=$all_port ;; esac
  weights=; [ "$which" = cls ] && weights="replica_weights=0,0"; [ "$which" = all ] && weights="primary_read_weight=1"
  routing=on; [ "$which" = off ] && routing=off
  pool=20; [ "$which" = on10 ] && pool=10
  cat >"$work/faregate-$which.ini" <<EOF
[databases]
postgres = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT $weights
[pooler]
auth_type = trust
listen_addr = 127.0.0.1
listen_port = $port
default_pool_size = $pool
max_client_conn = 1000
read_routing = $routing
load_balance = least_busy
logfile = $work/faregate-$which.log
EOF
  setsid "$top/pooler/faregate-pooler" "$work/faregate-$which.ini" 2>>"$work/faregate.err" &
  pids+=($!); echo $! >>"$FG_CLUSTER_DIR/pids"
done

chown -R postgres: "$work"
pids+=("$(bench_start_pgbouncer "$work" "$pgb_port" 20 1000 "$FG_PRIMARY_PORT")")

: >"$work/pcp.conf"
: >"$work/pool_hba.conf"
cat >"$work/pgpool.conf" <<EOF
backend_clustering_mode = 'streaming_replication'
listen_addresses = '127.0.0.1'
port = $pgp_port
socket_dir = '$work'
pcp_listen_addresses = ''
pcp_port = $pcp_port
pcp_socket_dir = '$work'
pid_file_name = '$work/pgpool.pid'
logdir = '$work'
backend_hostname0 = '$FG_HOST'
backend_port0 = $FG_PRIMARY_PORT
backend_weight0 = 0
backend_flag0 = 'DISALLOW_TO_FAILOVER'
backend_hostname1 = '$FG_HOST'
backend_port1 = $FG_REPLICA1_PORT
backend_weight1 = 1
backend_flag1 = 'DISALLOW_TO_FAILOVER'
backend_hostname2 = '$FG_HOST'
backend_port2 = $FG_REPLICA2_PORT
backend_weight2 = 1
backend_flag2 = 'DISALLOW_TO_FAILOVER'
num_init_children = 100
max_pool = 1
reserved_connections = 0
load_balance_mode = on
statement_level_load_balance = off
sr_check_period = 0
health_check_period = 0
failover_on_backend_error = off
enable_pool_hba = off
pool_passwd = ''
connection_cache = on
log_min_messages = warning
EOF
setsid /usr/sbin/pgpool -n -f "$work/pgpool.conf" -F "$work/pcp.conf" -a "$work/pool_hba.conf" >"$work/pgpool.log" 2>&1 &
pids+=($!); echo $! >>"$FG_CLUSTER_DIR/pids"
for _ in $(seq 1 100); do
  psql -X -qAt -h 127.0.0.1 -p "$pgp_port" -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.1
done
psql -X -qAt -h 127.0.0.1 -p "$pgp_port" -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1 ||
  { echo "bench_routing: pgpool did not start:"; tail -5 "$work/pgpool.log" | sed 's/^/# /'; }

xacts() { # transactions committed per node, space-separated
  local p out=""
  for p in "${nodes[@]}"; do
    out+="$(psql -X -qAt -h "$FG_HOST" -p "$p" -U postgres -d postgres -c \
      "SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'") "
  done
  echo "$out"
}

# run NAME PORT [PGBENCH_SCRIPT_ARGS...]: one pgbench run (default -S); prints "tps p99_ms primary replica1
# replica2 p99_script0_ms" (transactions per node; the p99 of the first script's transactions alone)
run() {
  local name=$1 port=$2 dir=$work/log.$1 out tps before after
  shift 2
  [ $# -gt 0 ] || set -- -S
  mkdir -p "$dir"; chmod 777 "$dir"
  # an idle backend (a pooled server connection of the previous run) flushes its pending statistics
  # only after PGSTAT_IDLE_INTERVAL (10 s): wait that out so no run is charged with another's reads
  sleep 11
  before=$(xacts)
  out=$(cd "$dir" && timeout $((secs + 120)) setsid -w pgbench -n "$@" -M simple -c 100 -j 2 -T "$secs" \
    -l --log-prefix=tx -h 127.0.0.1 -p "$port" -U postgres postgres 2>&1)
  sleep 11    # busy backends flush at most once a second, idle ones after 10 s
  after=$(xacts)
  tps=$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  if [ -z "$tps" ]; then
    echo "0 0 0 0 0 0"
    printf '%s\n' "$out" | tail -3 | sed 's/^/# /' >&2
    return
  fi
  # pgbench's log: client transaction latency_us script_no epoch epoch_us
  cat "$dir"/tx.* | awk '{print $3}' | sort -n >"$dir/lat"
  cat "$dir"/tx.* | awk '$4 == 0 {print $3}' | sort -n >"$dir/lat0"
  awk -v tps="$tps" -v b="$before" -v a="$after" -v p0="$(bench_p99 <"$dir/lat0")" 'BEGIN {split(b, B, " "); split(a, A, " ")}
    {l[NR]=$1} END {p99 = l[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1];
    printf "%.0f %.2f %d %d %d %.2f\n", tps, p99 / 1000, A[1] - B[1], A[2] - B[2], A[3] - B[3], p0 / 1000}' "$dir/lat"
  rm -rf "$dir"
}

budget="${FG_NODE_CPU:-none (FG_BENCH_NODE_CPU=0)}"
echo "bench_routing: pgbench -S -c 100, ${secs}s per run, $(nproc) cores; primary + 2 replicas, CPU budget per node: $budget core; faregate-pooler $("$top/pooler/faregate-pooler" --version | cut -d' ' -f2), $(/usr/sbin/pgbouncer --version | head -1), pgpool-II $(/usr/sbin/pgpool --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)"
echo "bench_routing uptime before: $(uptime)"
declare -A res port_of=([faregate_on]=$on_port [faregate_on10]=$on10_port [faregate_off]=$off_port
  [faregate_cls]=$cls_port [faregate_all]=$all_port [pgbouncer]=$pgb_port [pgpool]=$pgp_port)
for name in $modes; do
  [ -n "${port_of[$name]:-}" ] || { echo "bench_routing: unknown mode $name (known: ${!port_of[*]})"; exit 2; }
done
# warm-up, not measured: every pooler opens its connections, tables come into cache on every node
warm_ports=$(for name in $modes; do echo "${port_of[$name]}"; done)
[ "${FG_BENCH_MIXED:-1}" = 0 ] || warm_ports+=" $on_port $off_port"   # the mixed runs' poolers
for port in $(printf '%s\n' $warm_ports | sort -u); do
  timeout 60 setsid -w pgbench -n -S -c 100 -j 2 -T 2 -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1
done
# show NAME: one result line
show() {
  local tps p99 n0 n1 n2 w99
  read -r tps p99 n0 n1 n2 w99 <<<"${res[$1]}"
  printf 'bench_routing %-13s tps=%-7s p99=%-7sms xacts primary=%-7s replica1=%-7s replica2=%s%s\n' \
    "$1" "$tps" "$p99" "$n0" "$n1" "$n2" "${2:+ $2=${w99}ms}"
}
for name in $modes; do
  res[$name]=$(run "$name" "${port_of[$name]}")
  show "$name"
done
tps_of() { local t; read -r t _ <<<"${res[$1]:-}"; echo "${t:-0}"; }
p99_of() { local p; read -r _ p _ <<<"${res[$1]:-}"; echo "${p:-0}"; }
# one_ratio A B: "A/B tps=.. p99=.." from the single runs above (nothing when either did not run)
one_ratio() {
  [ -n "${res[$1]:-}" ] && [ -n "${res[$2]:-}" ] || return 0
  printf ' | %s/%s tps=%s p99=%s' "$1" "$2" "$(bench_ratio "$(tps_of "$1")" "$(tps_of "$2")")" \
    "$(bench_ratio "$(p99_of "$1")" "$(p99_of "$2")")"
}
echo "bench_routing ratios (one run each):$(one_ratio faregate_on pgbouncer)$(one_ratio faregate_on pgpool)$(one_ratio faregate_on faregate_off)$(one_ratio faregate_all pgbouncer)$(one_ratio faregate_all faregate_on)$(one_ratio faregate_on10 pgbouncer)$(one_ratio faregate_cls faregate_off)"

# Ratios within a few percent are below the drift between two runs seconds apart on a shared machine:
# the ratios with a target are measured again as FG_BENCH_PAIRS back-to-back pairs (order alternating),
# FG_BENCH_PAIR_SECONDS each, and reported as the median of the per-pair ratios beside the target.
quick() { timeout $(($2 + 60)) setsid -w pgbench -n -S -M simple -c 100 -j 2 -T "$2" -h 127.0.0.1 -p "$1" -U postgres postgres 2>&1 |
  sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }
# pairs A B TARGET: the median over pairs of A's TPS / B's TPS, and whether it reaches TARGET
pairs() {
  local i a b psecs=${FG_BENCH_PAIR_SECONDS:-4} ratios=() median
  case " $modes " in *" $1 "*) ;; *) return 0 ;; esac
  case " $modes " in *" $2 "*) ;; *) return 0 ;; esac
  for i in $(seq 1 "${FG_BENCH_PAIRS:-4}"); do
    if [ $((i % 2)) = 1 ]; then b=$(quick "${port_of[$2]}" "$psecs"); a=$(quick "${port_of[$1]}" "$psecs")
    else a=$(quick "${port_of[$1]}" "$psecs"); b=$(quick "${port_of[$2]}" "$psecs"); fi
    ratios+=("$(bench_ratio "${a:-0}" "${b:-0}")")
  done
  median=$(echo "${ratios[*]}" | bench_median)
  echo "bench_routing pairs $1/$2 tps per pair: ${ratios[*]} median=$median target>=$3 $(awk -v m="$median" -v t="$3" \
    'BEGIN { print (m != "n/a" && m + 0 >= t + 0) ? "met" : "NOT met" }')"
}
pairs faregate_on pgbouncer 1.9      # reads on the two replicas against everything on the primary
pairs faregate_on pgpool 2.0         # the same nodes, pgpool-II balancing them
pairs faregate_all pgbouncer 2.7     # reads on all three nodes
pairs faregate_cls faregate_off 0.95 # classify + route every statement, reads kept on the primary: routing's own cost
pairs faregate_on10 pgbouncer 1.9

# Mixed: 10% TPC-B-like write transactions, 90% single-row reads; does the primary serve the writes
# faster when the reads leave it? (the writes' p99 is that of the tpcb-like transactions alone)
if [ "${FG_BENCH_MIXED:-1}" != 0 ]; then
  for name in mixed_on mixed_off; do
    port=$on_port; [ $name = mixed_off ] && port=$off_port
    res[$name]=$(run "$name" "$port" -b tpcb-like@1 -b select-only@9)
    show "$name" writes_p99
  done
  w_on=$(awk '{print $6}' <<<"${res[mixed_on]}"); w_off=$(awk '{print $6}' <<<"${res[mixed_off]}")
  echo "bench_routing mixed ratios: mixed_on/mixed_off tps=$(bench_ratio "$(tps_of mixed_on)" "$(tps_of mixed_off)") writes_p99=$(bench_ratio "$w_on" "$w_off") (unthrottled: routing on serves more transactions, so more writes queue on the primary at once)"
  # The same work through both: a fixed rate of 80% of what routing off sustained. Now the primary gets
  # the same writes either way, and the reads leave it only with routing on: the writes' p99 compares
  # the primary's load, not the throughput.
  rate=$(awk -v t="$(tps_of mixed_off)" 'BEGIN { printf "%d", t * 0.8 }')
  if [ "${rate:-0}" -gt 0 ]; then
    for name in mixed_on mixed_off; do
      port=$on_port; [ $name = mixed_off ] && port=$off_port
      res[${name}_rate]=$(run "${name}_rate" "$port" -R "$rate" -b tpcb-like@1 -b select-only@9)
      show "${name}_rate" writes_p99
    done
    w_on=$(awk '{print $6}' <<<"${res[mixed_on_rate]}"); w_off=$(awk '{print $6}' <<<"${res[mixed_off_rate]}")
    echo "bench_routing mixed at a fixed $rate tps: mixed_on_rate/mixed_off_rate writes_p99=$(bench_ratio "$w_on" "$w_off") (below 1: the writes' p99 improves with reads on replicas)"
  fi
fi
echo "bench_routing uptime after: $(uptime)"
