#!/usr/bin/env bash
# 50_routing_retry_parse.sh: the transparent retry of an extended-protocol read that creates a named
# prepared statement, on a cluster of its own: a raw client sends Parse(s1) Bind Describe Execute Sync of
# a slow read; the replica running it is stopped (pg_ctl stop -m fast: FATAL 57P01 mid-query); the read
# is retried on the other replica and the client gets ParseComplete, BindComplete, RowDescription, the
# row, CommandComplete, ReadyForQuery and no error; s1 then exists exactly once (a Bind of it works, a
# second Parse of it gets 42P05 as from PostgreSQL).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${FG_RP_INNER:-}" ]; then
  exec "$top/test/harness/cluster.sh" --replicas 2 -- env FG_RP_INNER=1 "$0"
fi
. "$top/test/integration/40_pooler_lib.bash"
POOLER_DB_EXTRA="replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT"
pooler_start "health_check_period = 200ms" || { ok 1 "pooler started"; done_testing; exit 0; }
psql_pooler -c 'SELECT 1' >/dev/null
pooler_wait_routing
ok $? "read routing is ready: the volatility table loaded, every node up in its role (SHOW ROUTING)"

PYTHONPATH="$top/test/harness" /usr/bin/python3 - "$POOLER_PORT" >"$POOLER_DIR/client.out" 2>&1 <<'PY' &
import socket, struct, sys, time
from fgtest import msg, cstr, startup, recv_msg
# a generous bound on each reply: the slow read runs up to three times (first try, retry, Bind), and on
# a loaded machine one run of it took more than 30 s
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=300)
s.sendall(startup())
while recv_msg(s)[0] not in (b"Z", None):
    pass
q = "SELECT count(*) FROM generate_series(1, 40000000)"
def exchange(data):
    s.sendall(data)
    got = []
    while True:
        t, body = recv_msg(s)
        if t is None:
            got.append("closed"); break
        got.append(t.decode() + (":" + body.split(b"\0C", 1)[1][:5].decode() if t == b"E" else ""))
        if t == b"Z":
            break
    return " ".join(got)
bind = msg(b"B", cstr("") + cstr("s1") + struct.pack("!hhh", 0, 0, 0))
rest = bind + msg(b"D", b"P" + cstr("")) + msg(b"E", cstr("") + struct.pack("!i", 0)) + msg(b"S")
print("first:", exchange(msg(b"P", cstr("s1") + cstr(q) + struct.pack("!h", 0)) + rest), flush=True)
print("bind:", exchange(rest), flush=True)
print("reparse:", exchange(msg(b"P", cstr("s1") + cstr("SELECT 1") + struct.pack("!h", 0)) + msg(b"S")), flush=True)
PY
client=$!
# the replica running the read: SHOW SERVERS' node_host of the active replica server
host=
replica_running_read() {
  host=$(psql_pooler_admin -c 'SHOW SERVERS' | awk -F'|' '$5 == "active" && $(NF-4) == "replica" {print $(NF-3)}' | head -1)
  [ -n "$host" ]
}
wait_for 30 replica_running_read
ok $([ -n "$host" ] && echo 0 || echo 1) "SHOW SERVERS shows the replica running the read ($host)"
if [ "$host" = "$FG_HOST:$FG_REPLICA1_PORT" ]; then data=$FG_REPLICA1_DATA; port=$FG_REPLICA1_PORT
else data=$FG_REPLICA2_DATA; port=$FG_REPLICA2_PORT; fi
# the replica's backend is executing the read (not still parsing it) when the replica is stopped
read_executing() {
  [ "$(psql -X -qAt -h "$FG_HOST" -p "$port" -U postgres -d postgres -c \
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%generate_series(1, 40000000)%' AND pid <> pg_backend_pid()")" = 1 ]
}
wait_for 30 read_executing
ok $? "the replica's backend is executing the slow read (pg_stat_activity)"
$FG_RUN_AS "$FG_PG_BIN/pg_ctl" -D "$data" -m fast -w -t 20 stop >/dev/null
wait $client
sed 's/^/# /' "$POOLER_DIR/client.out"
is "$(grep '^first:' "$POOLER_DIR/client.out")" "first: 1 2 T D C Z" \
  "the read that created s1 is retried: a whole reply, no error"
is "$(grep '^bind:' "$POOLER_DIR/client.out")" "bind: 2 T D C Z" "s1 exists after the retry (Bind works)"
is "$(grep '^reparse:' "$POOLER_DIR/client.out")" "reparse: E:42P05 Z" "s1 exists once: a second Parse gets 42P05"
ok $(pooler_log_has "read retried on another node" && echo 0 || echo 1) "the retry is logged"
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
