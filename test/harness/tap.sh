# tap.sh: a few TAP helpers for shell tests (source it). Each test prints "ok N - name" or
# "not ok N - name" with a diagnostic, and done_testing prints the plan at the end.
# Integration tests are TAP executables run by prove; they read the cluster from FG_* (cluster.sh).

TAP_COUNT=0
TAP_FAILED=0

ok() { # ok CONDITION_EXIT_STATUS NAME  — use as: some_command; ok $? "name"
  TAP_COUNT=$((TAP_COUNT + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $TAP_COUNT - $2"
  else
    TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_COUNT - $2"
  fi
}

is() { # is GOT EXPECTED NAME
  TAP_COUNT=$((TAP_COUNT + 1))
  if [ "$1" = "$2" ]; then
    echo "ok $TAP_COUNT - $3"
  else
    TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_COUNT - $3"
    echo "#   got:      '$1'"
    echo "#   expected: '$2'"
  fi
}

like() { # like GOT EXTENDED_REGEX NAME
  TAP_COUNT=$((TAP_COUNT + 1))
  if printf '%s' "$1" | grep -Eq -- "$2"; then
    echo "ok $TAP_COUNT - $3"
  else
    TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_COUNT - $3"
    echo "#   got:  '$(printf '%s' "$1" | head -c 600)'"
    echo "#   want: /$2/"
  fi
}

diag() { echo "# $*"; }

# wait_for TIMEOUT_S COMMAND [ARGS...]: runs COMMAND every 50 ms until it succeeds (returns 0) or
# TIMEOUT_S seconds have passed (returns 1). The bounded poll for an event a test must wait for: the bound
# is generous (the machine may be busy), the wait ends as soon as the condition holds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}

done_testing() {
  echo "1..$TAP_COUNT"
  [ "$TAP_FAILED" -eq 0 ]
}

# psql_primary / psql_replica N: run SQL as postgres, unaligned and tuples only.
psql_port() { local port=$1; shift; psql -X -qAt -h "$FG_HOST" -p "$port" -U postgres "$@"; }
psql_primary() { psql_port "$FG_PRIMARY_PORT" "$@"; }

# wait_replicas_caught_up [TIMEOUT_S]: until every replica replays the primary's current LSN.
wait_replicas_caught_up() {
  local timeout=${1:-30} lsn port deadline
  lsn=$(psql_primary -d postgres -c "SELECT pg_current_wal_lsn()")
  for port in $FG_REPLICA_PORTS; do
    deadline=$((SECONDS + timeout))
    until [ "$(psql_port "$port" -d postgres -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]; do
      [ $SECONDS -ge $deadline ] && return 1
      sleep 0.05
    done
  done
}

# free_port: a loopback TCP port nobody listens on (for a pooler or peer a test starts).
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((10000 + RANDOM % 22000))  # below the ephemeral range (32768+): no client socket holds it
    ss -Htln "sport = :$port" 2>/dev/null | grep -q . || { echo "$port"; return 0; }
  done
  return 1
}

# recreate_db NAME: drop NAME (closing its sessions) and create it afresh on the primary. CREATE
# DATABASE fails while another session is connected to template1 (a pooler's health check left over
# from the previous test, an autovacuum worker that does not exit in time); that is retried for up to
# 15 s, and a final failure is printed as a TAP diagnostic with the sessions that held template1.
recreate_db() {
  local db=$1 err tries=0
  while :; do
    if err=$(psql_primary -d postgres -c "SET client_min_messages = warning" \
               -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" 2>&1 >/dev/null); then
      return 0
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      echo "# recreate_db $db failed: $err"
      echo "# sessions on template1: $(psql_primary -d postgres -c "SELECT string_agg(pid || ' ' || coalesce(application_name, '') || ' ' || backend_type, '; ') FROM pg_stat_activity WHERE datname = 'template1'" 2>&1)"
      return 1
    fi
    sleep 0.5
  done
}
