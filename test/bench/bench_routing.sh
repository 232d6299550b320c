#!/usr/bin/env bash
# bench_routing.sh: pgbench -S, 100 clients, simple protocol, on a primary + 2 streaming replicas of its
# own: faregate-pooler with read routing on (reads to both replicas), faregate-pooler with
# read_routing = off (everything on the primary), faregate-pooler classifying and routing every
# statement but with replica_weights=0,0 (reads fall back to the primary: the routing overhead alone), PgBouncer 1.18 (primary only:
# it cannot split reads) and pgpool-II 4.3 (streaming-replication mode, load balancing on the same
# nodes, primary weight 0 as for faregate). Pool size 20 per node for the poolers; pgpool needs one child
# per client (num_init_children = 100). Prints TPS, p99 and transactions per node (from
# pg_stat_database) for each, and the ratios. FG_BENCH_SECONDS per run (default 10); ~2-3 minutes.
# Never fails on speed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${FG_CLUSTER_DIR:-}" ]; then
  exec "$top/test/harness/cluster.sh" --replicas 2 --max-connections 400 -- "$0" "$@"
fi
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
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
pick_port() { local p; for _ in $(seq 1 100); do p=$((12000 + RANDOM % 18000)); port_free "$p" && { echo "$p"; return; }; done; }
on_port=$(pick_port); off_port=$(pick_port); cls_port=$(pick_port); pgb_port=$(pick_port); pgp_port=$(pick_port); pcp_port=$(pick_port)
nodes=("$FG_PRIMARY_PORT" $FG_REPLICA_PORTS)

pgbench -i -q -s 10 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres postgres >/dev/null 2>&1 ||
  { echo "bench_routing: pgbench -i failed"; exit 1; }
make -s -C "$top/pooler" >/dev/null || { echo "bench_routing: build failed"; exit 1; }

# on: reads to the replicas; off: read_routing = off; cls: routing on but replica_weights=0,0, so
# every statement is classified and routed, and every read falls back to the primary: the cost of
# routing itself, without spreading the load over more PostgreSQL backends on the same cores
for which in on off cls; do
  case $which in on) port=$on_port ;; off) port=$off_port ;; cls) port=$cls_port ;; esac
  weights=; [ "$which" = cls ] && weights="replica_weights=0,0"
  routing=on; [ "$which" = off ] && routing=off
  cat >"$work/faregate-$which.ini" <<EOF
[databases]
postgres = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT $weights
[pooler]
listen_addr = 127.0.0.1
listen_port = $port
default_pool_size = 20
max_client_conn = 1000
read_routing = $routing
load_balance = least_busy
logfile = $work/faregate-$which.log
EOF
  "$top/pooler/faregate-pooler" "$work/faregate-$which.ini" 2>>"$work/faregate.err" &
  pids+=($!); echo $! >>"$FG_CLUSTER_DIR/pids"
done

echo '"postgres" ""' >"$work/userlist.txt"
cat >"$work/pgbouncer.ini" <<EOF
[databases]
postgres = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgb_port
unix_socket_dir =
auth_type = trust
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 1000
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
EOF
chown -R postgres: "$work"
runuser -u postgres -- /usr/sbin/pgbouncer "$work/pgbouncer.ini" 2>>"$work/pgbouncer.err" &
pids+=($!); echo $! >>"$FG_CLUSTER_DIR/pids"

# pgpool-II: streaming replication mode, load balancing, no failover, no health checks, no pcp users
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
/usr/sbin/pgpool -n -f "$work/pgpool.conf" -F "$work/pcp.conf" -a "$work/pool_hba.conf" >"$work/pgpool.log" 2>&1 &
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

# run NAME PORT: one pgbench -S run; prints "tps p99_ms primary replica1 replica2" (transactions per node)
run() {
  local name=$1 port=$2 dir=$work/log.$1 out tps before after
  mkdir -p "$dir"; chmod 777 "$dir"
  # an idle backend (a pooled server connection of the previous run) flushes its pending statistics
  # only after PGSTAT_IDLE_INTERVAL (10 s): wait that out so no run is charged with another's reads
  sleep 11
  before=$(xacts)
  out=$(cd "$dir" && timeout $((secs + 120)) pgbench -n -S -M simple -c 100 -j 2 -T "$secs" \
    -l --log-prefix=tx -h 127.0.0.1 -p "$port" -U postgres postgres 2>&1)
  sleep 11    # busy backends flush at most once a second, idle ones after 10 s
  after=$(xacts)
  tps=$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  if [ -z "$tps" ]; then
    echo "0 0 0 0 0"
    printf '%s\n' "$out" | tail -3 | sed 's/^/# /' >&2
    return
  fi
  cat "$dir"/tx.* | awk '{print $3}' | sort -n >"$dir/lat"
  awk -v tps="$tps" -v b="$before" -v a="$after" 'BEGIN {split(b, B, " "); split(a, A, " ")}
    {l[NR]=$1} END {p99 = l[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1];
    printf "%.0f %.2f %d %d %d\n", tps, p99 / 1000, A[1] - B[1], A[2] - B[2], A[3] - B[3]}' "$dir/lat"
  rm -rf "$dir"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "bench_routing: pgbench -S -c 100, ${secs}s per run, $(nproc) cores; primary + 2 replicas; faregate-pooler $("$top/pooler/faregate-pooler" --version | cut -d' ' -f2), $(/usr/sbin/pgbouncer --version | head -1), pgpool-II $(/usr/sbin/pgpool --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)"
# warm-up, not measured: every pooler opens its connections, tables come into cache on every node
for port in "$on_port" "$off_port" "$cls_port" "$pgb_port" "$pgp_port"; do
  timeout 60 pgbench -n -S -c 100 -j 2 -T 2 -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1
done
declare -A res
for name in faregate_on pgbouncer pgpool faregate_off faregate_cls; do
  case $name in
    faregate_on) port=$on_port ;;
    faregate_off) port=$off_port ;;
    faregate_cls) port=$cls_port ;;
    pgbouncer) port=$pgb_port ;;
    pgpool) port=$pgp_port ;;
  esac
  res[$name]=$(run "$name" "$port")
  read -r tps p99 n0 n1 n2 <<<"${res[$name]}"
  printf 'bench_routing %-13s tps=%-7s p99=%-7sms xacts primary=%-7s replica1=%-7s replica2=%s\n' \
    "$name" "$tps" "$p99" "$n0" "$n1" "$n2"
done
read -r on_tps on_p99 _ <<<"${res[faregate_on]}"
read -r off_tps off_p99 _ <<<"${res[faregate_off]}"
read -r cls_tps cls_p99 _ <<<"${res[faregate_cls]}"
read -r pgb_tps pgb_p99 _ <<<"${res[pgbouncer]}"
read -r pgp_tps pgp_p99 _ <<<"${res[pgpool]}"
# the classify+route cost is a few percent at most, below the drift between two runs seconds apart on a
# shared machine: measure it again as FG_BENCH_PAIRS back-to-back off/cls pairs (order alternating),
# FG_BENCH_PAIR_SECONDS each, and report the median of the per-pair ratios
quick() { timeout $(($2 + 60)) pgbench -n -S -M simple -c 100 -j 2 -T "$2" -h 127.0.0.1 -p "$1" -U postgres postgres 2>&1 |
  sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }
pair_ratios=()
for i in $(seq 1 "${FG_BENCH_PAIRS:-4}"); do
  psecs=${FG_BENCH_PAIR_SECONDS:-4}
  if [ $((i % 2)) = 1 ]; then a=$(quick "$off_port" "$psecs"); b=$(quick "$cls_port" "$psecs")
  else b=$(quick "$cls_port" "$psecs"); a=$(quick "$off_port" "$psecs"); fi
  pair_ratios+=("$(ratio "${b:-0}" "${a:-0}")")
done
cls_median=$(printf '%s\n' "${pair_ratios[@]}" | grep -v n/a | sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.2f", (v[NR/2] + v[NR/2+1]) / 2}')
echo "bench_routing pairs faregate_cls/faregate_off tps per pair: ${pair_ratios[*]} median=$cls_median"
echo "bench_routing ratios: faregate_on/pgbouncer tps=$(ratio "$on_tps" "$pgb_tps") p99=$(ratio "$on_p99" "$pgb_p99") | faregate_on/pgpool tps=$(ratio "$on_tps" "$pgp_tps") p99=$(ratio "$on_p99" "$pgp_p99") | faregate_on/faregate_off tps=$(ratio "$on_tps" "$off_tps") p99=$(ratio "$on_p99" "$off_p99") | faregate_cls/faregate_off tps=$(ratio "$cls_tps" "$off_tps") (one run each), paired median=$cls_median (classify + route, all on the primary)"
