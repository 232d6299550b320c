# lib.sh: what the pooler benchmarks (bench_pooler.sh, bench_routing.sh) share: free loopback ports,
# the PgBouncer peer (its config and start as the postgres user), ratios and medians. Sourced, not run.
# Uses the harness's FG_CLUSTER_DIR (started processes are registered in its pids file).

# bench_port_free PORT: nothing listens on PORT
bench_port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# bench_pick_port: prints a free port in 12000-29999
bench_pick_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((12000 + RANDOM % 18000))
    bench_port_free "$p" && { echo "$p"; return; }
  done
}

# bench_start_pgbouncer DIR PORT POOL_SIZE MAX_CLIENT_CONN BACKEND_PORT: writes DIR/pgbouncer.ini (transaction
# mode, trust, the harness's primary as database postgres), starts Debian's PgBouncer as postgres with
# the hard descriptor limit (it refuses to run as root), registers it with the harness and prints its pid
# (empty when it did not start). DIR must be readable by postgres.
bench_start_pgbouncer() {
  local dir=$1 port=$2 pool=$3 maxconn=$4 backend=$5 pid=
  echo '"postgres" ""' >"$dir/userlist.txt"
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
postgres = host=$FG_HOST port=$backend dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $pool
max_client_conn = $maxconn
query_wait_timeout = 300
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
  chown postgres: "$dir/userlist.txt" "$dir/pgbouncer.ini"
  runuser -u postgres -- bash -c "ulimit -n $(ulimit -Hn); exec setsid /usr/sbin/pgbouncer $dir/pgbouncer.ini" >/dev/null \
    2>>"$dir/pgbouncer.err" &
  for _ in $(seq 1 50); do
    pid=$(cat "$dir/pgbouncer.pid" 2>/dev/null) && [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] && echo "$pid" >>"$FG_CLUSTER_DIR/pids"
  echo "$pid"
}

# bench_wait_port PORT: waits (up to 5 s) until a pooler on PORT answers SELECT 1
bench_wait_port() {
  for _ in $(seq 1 100); do
    psql -X -qAt -h 127.0.0.1 -p "$1" -U postgres postgres -c "SELECT 1" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  return 1
}

# bench_ratio A B: A / B with two decimals, n/a when B is not positive
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# bench_p99: the 99th percentile of the sorted numbers on stdin, one a line (0 when none)
bench_p99() { awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print NR ? v[i] : 0 }'; }

# bench_median: the median of the numbers on stdin (blank- or newline-separated; n/a ignored)
bench_median() {
  tr ' ' '\n' | grep -v -e '^$' -e '^n/a$' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
      else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
