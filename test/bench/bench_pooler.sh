#!/usr/bin/env bash
# bench_pooler.sh: faregate-pooler against Debian's PgBouncer 1.18 (and direct connections, for
# reference) on the harness's primary: pgbench select-only (-S) and TPC-B-like, simple protocol, with
# 10, 100 and 1,000 clients, pool size 20 for both poolers, transaction mode, runs interleaved. Prints
# TPS and p50/p99 latency (from per-transaction logs) for each, the ratios faregate/PgBouncer, and the
# RSS of both poolers holding 10,000 idle clients. Bounded to a few minutes (FG_BENCH_SECONDS per run,
# default 5; FG_BENCH_ROUNDS paired rounds per configuration, default 3, medians reported). Never
# fails on speed. For experiments: FG_BENCH_MODES (default "select tpcb"), FG_BENCH_CLIENTS (default
# "10 100 1000"), FG_BENCH_RSS=0 (skip the idle-clients part), FG_BENCH_POOLER (another pooler binary).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${FG_CLUSTER_DIR:-}" ]; then
  exec "$top/test/harness/cluster.sh" --replicas 0 --max-connections 300 -- "$0" "$@"
fi
secs=${FG_BENCH_SECONDS:-5}
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/faregate-bench-pooler.XXXXXX)
chmod 755 "$work"
fg_pid=
pgb_pid=
cleanup() {
  [ -n "$fg_pid" ] && kill -TERM "$fg_pid" 2>/dev/null
  [ -n "$pgb_pid" ] && kill -TERM "$pgb_pid" 2>/dev/null
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT

. "$top/test/bench/lib.sh"
fg_port=$(bench_pick_port)
pgb_port=$(bench_pick_port)

pgbench -i -q -s 20 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres postgres >/dev/null 2>&1 ||
  { echo "bench_pooler: pgbench -i failed"; exit 1; }

make -s -C "$top/pooler" >/dev/null || { echo "bench_pooler: build failed"; exit 1; }
pooler_bin=${FG_BENCH_POOLER:-$top/pooler/faregate-pooler}
cat >"$work/faregate.ini" <<EOF
[databases]
postgres = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres
[pooler]
auth_type = trust
listen_addr = 127.0.0.1
listen_port = $fg_port
pool_mode = transaction
default_pool_size = 20
max_client_conn = 12000
query_wait_timeout = 300
logfile = $work/faregate.log
EOF
setsid "$pooler_bin" "$work/faregate.ini" 2>>"$work/faregate.err" &
fg_pid=$!
echo "$fg_pid" >>"$FG_CLUSTER_DIR/pids"

chown -R postgres: "$work"
pgb_pid=$(bench_start_pgbouncer "$work" "$pgb_port" 20 12000 "$FG_PRIMARY_PORT")
for port in "$fg_port" "$pgb_port"; do
  bench_wait_port "$port" || echo "bench_pooler: nothing answers on port $port"
done
echo "bench_pooler: faregate-pooler $("$top/pooler/faregate-pooler" --version | cut -d' ' -f2) vs $(/usr/sbin/pgbouncer --version | head -1), pool 20, ${secs}s per run, $(nproc) cores"

# run TARGET PORT MODE CLIENTS: one pgbench run; prints "tps p50_ms p99_ms"
run() {
  local name=$1 port=$2 mode=$3 clients=$4 dir=$work/log.$1.$3.$4 opts=() out tps
  mkdir -p "$dir"
  [ "$mode" = select ] && opts+=(-S)
  out=$(cd "$dir" && timeout $((secs + 120)) setsid -w pgbench -n "${opts[@]}" -M simple -c "$clients" -j 2 -T "$secs" \
    -l --log-prefix=tx -h 127.0.0.1 -p "$port" -U postgres postgres 2>&1)
  tps=$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  if [ -z "$tps" ]; then
    echo "0 0 0"
    printf '%s\n' "$out" | tail -3 | sed 's/^/# /' >&2
    return
  fi
  # per-transaction logs: column 3 is the latency in microseconds
  cat "$dir"/tx.* | awk '{print $3}' | sort -n >"$dir/lat"
  awk -v tps="$tps" '{a[NR]=$1} END {if (NR == 0) {print tps, 0, 0; exit}
    p50 = a[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]; p99 = a[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1];
    printf "%.0f %.2f %.2f\n", tps, p50 / 1000, p99 / 1000}' "$dir/lat"
  rm -rf "$dir"
}

# warm-up, not measured: both poolers open their 20 server connections, the tables come into cache
for port in "$fg_port" "$pgb_port"; do
  timeout 60 setsid -w pgbench -n -S -c 20 -j 2 -T 2 -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1
done


# Each configuration runs FG_BENCH_ROUNDS rounds (default 3) of faregate and PgBouncer back to back,
# alternating who goes first; a round line per round, then the medians. The machine is shared by the
# PostgreSQL server, pgbench and the pooler (and whatever else runs): single runs swing by +-20%, the
# median of paired ratios much less.
rounds=${FG_BENCH_ROUNDS:-3}
for mode in ${FG_BENCH_MODES:-select tpcb}; do
  for clients in ${FG_BENCH_CLIENTS:-10 100 1000}; do
    tps_ratios="" p99_ratios="" f_all="" b_all="" f99_all="" b99_all=""
    for round in $(seq 1 "$rounds"); do
      if [ $((round % 2)) = 1 ]; then order="faregate pgbouncer"; else order="pgbouncer faregate"; fi
      declare -A res=()
      for target in $order; do
        if [ $target = faregate ]; then port=$fg_port; else port=$pgb_port; fi
        res[$target]=$(run "$target" "$port" "$mode" "$clients")
      done
      read -r f_tps f_p50 f_p99 <<<"${res[faregate]}"
      read -r b_tps b_p50 b_p99 <<<"${res[pgbouncer]}"
      printf 'bench_pooler round %s/%s %-6s clients=%-4s faregate tps=%-7s p50=%-6sms p99=%-7sms | pgbouncer tps=%-7s p50=%-6sms p99=%-7sms | faregate/pgbouncer tps=%s p99=%s\n' \
        "$round" "$rounds" "$mode" "$clients" "$f_tps" "$f_p50" "$f_p99" "$b_tps" "$b_p50" "$b_p99" \
        "$(bench_ratio "$f_tps" "$b_tps")" "$(bench_ratio "$f_p99" "$b_p99")"
      tps_ratios+=" $(bench_ratio "$f_tps" "$b_tps")"; p99_ratios+=" $(bench_ratio "$f_p99" "$b_p99")"
      f_all+=" $f_tps"; b_all+=" $b_tps"; f99_all+=" $f_p99"; b99_all+=" $b_p99"
    done
    if [ "$clients" -le 250 ]; then
      read -r d_tps _ d_p99 <<<"$(run direct "$FG_PRIMARY_PORT" "$mode" "$clients")"
    else
      d_tps=- d_p99=-
    fi
    printf 'bench_pooler %-6s clients=%-4s median of %s: faregate tps=%-7s p99=%-7sms | pgbouncer tps=%-7s p99=%-7sms | direct tps=%-7s p99=%-6s | faregate/pgbouncer tps=%s p99=%s\n' \
      "$mode" "$clients" "$rounds" "$(echo "$f_all" | bench_median)" "$(echo "$f99_all" | bench_median)" \
      "$(echo "$b_all" | bench_median)" "$(echo "$b99_all" | bench_median)" "$d_tps" "$d_p99" \
      "$(echo "$tps_ratios" | bench_median)" "$(echo "$p99_ratios" | bench_median)"
  done
done

# RSS holding 10,000 idle clients: each client logs in (trust) and stays idle (FG_BENCH_RSS=0 skips it)
[ "${FG_BENCH_RSS:-1}" = 0 ] && exit 0
cat >"$work/idle_clients.py" <<'PY'
import socket, struct, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
body = struct.pack("!I", 196608) + b"user\0postgres\0database\0postgres\0\0"
startup = struct.pack("!I", len(body) + 4) + body
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.sendall(startup)
    data = b""
    while not (len(data) >= 6 and data[-6:-5] == b"Z"):
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection %d closed during login" % i)
        data += chunk
    socks.append(s)
print("ready", flush=True)
sys.stdin.read()
PY
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
for target in faregate pgbouncer; do
  if [ $target = faregate ]; then port=$fg_port; pid=$fg_pid; else port=$pgb_port; pid=$pgb_pid; fi
  before=$(rss_kb "$pid")
  exec 7> >(timeout 180 /usr/bin/python3 "$work/idle_clients.py" "$port" 10000 >"$work/idle.$target" 2>&1)
  for _ in $(seq 1 1200); do grep -q ready "$work/idle.$target" 2>/dev/null && break; grep -q . "$work/idle.$target" 2>/dev/null && break; sleep 0.1; done
  if grep -q ready "$work/idle.$target"; then
    after=$(rss_kb "$pid")
    printf 'bench_pooler rss %-9s idle_clients=10000 rss_before=%sKB rss_with_clients=%sKB per_client=%sB\n' \
      "$target" "$before" "$after" "$(( (after - before) * 1024 / 10000 ))"
    eval "rss_$target=$after"
  else
    echo "bench_pooler rss $target: could not hold 10,000 clients: $(head -c 300 "$work/idle.$target")"
  fi
  exec 7>&-
  sleep 1
done
[ -n "${rss_faregate:-}" ] && [ -n "${rss_pgbouncer:-}" ] &&
  echo "bench_pooler rss faregate/pgbouncer=$(bench_ratio "$rss_faregate" "$rss_pgbouncer")"
exit 0
