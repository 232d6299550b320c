# 40_pooler_lib.bash: shared helpers of the faregate-pooler integration tests (sourced, not run).
# Starts faregate-pooler (FG_POOLER_BIN, default pooler/faregate-pooler; set it to
# pooler/build-asan/faregate-pooler to run the suite under ASan+UBSan) on a free port with a temporary
# config against the harness's primary, registers its pid in $FG_CLUSTER_DIR/pids, and stops it on exit.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/test/harness/tap.sh"
POOLER_BIN=${FG_POOLER_BIN:-$top/pooler/faregate-pooler}
case "$POOLER_BIN" in /*) ;; *) POOLER_BIN=$top/$POOLER_BIN ;; esac
POOLER_DIR=$(mktemp -d /tmp/faregate-pooler-test.XXXXXX)
chmod 755 "$POOLER_DIR"
POOLER_PID=
POOLER_PORT=
trap 'pooler_stop QUIT; rm -rf "$POOLER_DIR"' EXIT

# pooler_free_port: a loopback port nobody listens on, below the ephemeral range (32768+) so that no
# client socket of a busy test can hold it.
pooler_free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((12000 + RANDOM % 18000))
    ss -Htln "sport = :$port" 2>/dev/null | grep -q . || { echo "$port"; return 0; }
  done
  return 1
}

# pooler_write_config [EXTRA_POOLER_LINES...]: writes $POOLER_DIR/pooler.ini.
pooler_write_config() {
  [ -n "$POOLER_PORT" ] || POOLER_PORT=$(pooler_free_port)
  {
    echo "[databases]"
    echo "postgres = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres ${POOLER_DB_EXTRA:-}"
    echo "viasocket = host=$FG_CLUSTER_DIR port=$FG_PRIMARY_PORT dbname=postgres"
    echo "[pooler]"
    # md5 is the default (issue 20): these tests log in without passwords unless a line below says otherwise
    echo "auth_type = trust"
    echo "listen_addr = 127.0.0.1"
    echo "listen_port = $POOLER_PORT"
    echo "unix_socket_dir = $POOLER_DIR"
    echo "admin_users = postgres, fg_admin"
    echo "stats_users = fg_stats"
    echo "logfile = $POOLER_DIR/pooler.log"
    echo "pidfile = $POOLER_DIR/pooler.pid"
    local line
    for line in "$@"; do echo "$line"; done
  } >"$POOLER_DIR/pooler.ini"
}

# pooler_start [EXTRA_POOLER_LINES...]: writes the config and starts the pooler; waits until it answers.
pooler_start() {
  local attempt
  for attempt in 1 2 3; do
    pooler_write_config "$@"
    "$POOLER_BIN" "$POOLER_DIR/pooler.ini" >>"$POOLER_DIR/stderr.log" 2>&1 &
    POOLER_PID=$!
    echo "$POOLER_PID" >>"$FG_CLUSTER_DIR/pids"
    for _ in $(seq 1 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$POOLER_PORT") 2>/dev/null && return 0
      kill -0 "$POOLER_PID" 2>/dev/null || break
      sleep 0.05
    done
    # the port was taken after all: try another one
    grep -q "Address already in use" "$POOLER_DIR/stderr.log" 2>/dev/null || break
    POOLER_PORT=
  done
  diag "pooler did not start; stderr and log:"
  sed 's/^/# /' "$POOLER_DIR/stderr.log" "$POOLER_DIR/pooler.log" 2>/dev/null | tail -20
  return 1
}

# pooler_stop [SIGNAL]: stops the pooler (QUIT, the immediate stop, by default) and waits for it (bounded).
pooler_stop() {
  [ -n "$POOLER_PID" ] || return 0
  kill -"${1:-QUIT}" "$POOLER_PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$POOLER_PID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$POOLER_PID" 2>/dev/null
  wait "$POOLER_PID" 2>/dev/null
  POOLER_PID=
  pooler_report_sanitizer
}

# pooler_report_sanitizer: once per test, a failed TAP line with the report when the pooler's stderr
# holds an ASan/UBSan/LSan report, so a test that runs the ASan build fails on one even when it never
# calls pooler_sanitizer_clean itself (pooler_stop calls this after every stop).
POOLER_SANITIZER_REPORTED=
pooler_report_sanitizer() {
  [ -z "$POOLER_SANITIZER_REPORTED" ] && ! pooler_sanitizer_clean || return 0
  POOLER_SANITIZER_REPORTED=1
  ok 1 "faregate-pooler's stderr holds no sanitizer report"
  grep -E -A12 "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$POOLER_DIR/stderr.log" | head -40 | sed 's/^/#   /'
}

# pooler_fresh_login_roles ROLE...: (re)creates each ROLE on the primary as a plain LOGIN role, dropping
# any left by an earlier run (the opening of the tests that log in as a user of their own).
pooler_fresh_login_roles() {
  local role sql="SET client_min_messages = warning;"
  for role in "$@"; do sql="$sql DROP ROLE IF EXISTS $role; CREATE ROLE $role LOGIN;"; done
  psql_primary -d postgres -q -c "$sql" >/dev/null 2>&1
}

# psql_pooler [psql args]: psql through the pooler as postgres to database postgres (unaligned, tuples only).
psql_pooler() { psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres "$@"; }
psql_pooler_admin() { PGPASSWORD=${POOLER_ADMIN_PASSWORD:-} psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d faregate "$@"; }

# pooler_reload: sends SIGHUP and waits (up to 30 s) until the log says the reload was done (or failed).
pooler_reload() {
  local before
  before=$(grep -Ec "configuration reloaded|reload failed" "$POOLER_DIR/pooler.log" 2>/dev/null)
  kill -HUP "$POOLER_PID" || return 1
  wait_for 30 eval '[ "$(grep -Ec "configuration reloaded|reload failed" "$POOLER_DIR/pooler.log" 2>/dev/null)" -gt "$before" ]'
}

# pooler_wait_routing [TIMEOUT_S]: waits (default 30 s) until read routing is ready for database
# postgres: the volatility table is loaded and SHOW ROUTING shows at least two nodes, each up in the
# role it was configured for. Returns 1 when that did not happen in time.
pooler_routing_ready() {
  pooler_log_has "volatility table loaded" || return 1
  psql_pooler_admin -c 'SHOW ROUTING' 2>/dev/null |
    awk -F'|' '$1 == "postgres" { n++; if ($7 != "up" || $5 != $6) bad++ } END { exit !(n >= 2 && !bad) }'
}
pooler_wait_routing() { wait_for "${1:-30}" pooler_routing_ready; }

# pooler_node_status_is NODE STATUS [DB]: SHOW ROUTING shows node NODE of database DB (default
# postgres) with status STATUS (up, lagging, down, ...). A log line cannot tell the same: a replica may
# have been ejected and readmitted earlier for a transient lag, so "ejected" in the log proves nothing
# about now.
pooler_node_status_is() {
  psql_pooler_admin -c 'SHOW ROUTING' 2>/dev/null |
    awk -F'|' -v db="${3:-postgres}" -v n="$1" -v s="$2" '$1 == db && $2 == n && $7 == s { f = 1 } END { exit !f }'
}

# pooler_log_has REGEX: the pooler's log has a line matching REGEX.
pooler_log_has() { grep -Eq -- "$1" "$POOLER_DIR/pooler.log"; }

# pooler_sanitizer_clean: under ASan/UBSan, nothing was reported on stderr.
pooler_sanitizer_clean() { ! grep -Eq "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$POOLER_DIR/stderr.log"; }
