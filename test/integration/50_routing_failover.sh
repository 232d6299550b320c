#!/usr/bin/env bash
# 50_routing_failover.sh: failover through faregate-pooler on a cluster of its own (primary + 2
# replicas). A client inserts numbered rows through the pooler, reconnecting after errors; the primary
# is stopped (pg_ctl stop -m fast) and replica 1 promoted (pg_ctl promote). Writes must resume on the
# promoted host (the test waits up to 60 s; the delay after pg_ctl promote, documented as two
# health_check_periods plus the client's reconnect, is printed as a diagnostic, not checked: the machine
# may be busy), never go to a host in recovery, and no acknowledged commit may be lost.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${FG_FAILOVER_INNER:-}" ]; then
  exec "$top/test/harness/cluster.sh" --replicas 2 -- env FG_FAILOVER_INNER=1 "$0"
fi
. "$top/test/integration/40_pooler_lib.bash"
POOLER_DB_EXTRA="replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT"
psql_primary -d postgres -c "CREATE TABLE fg_fo (id int PRIMARY KEY)" >/dev/null
wait_replicas_caught_up 20
pooler_start "health_check_period = 200ms" || { ok 1 "pooler started"; done_testing; exit 0; }
psql_pooler -c 'SELECT 1' >/dev/null
pooler_wait_routing
ok $? "read routing is ready: the volatility table loaded, every node up in its role (SHOW ROUTING)"

/usr/bin/python3 - "$POOLER_PORT" "$POOLER_DIR" <<'PY' &
import sys, time, psycopg
port, out = int(sys.argv[1]), sys.argv[2]
acked = []; first_fail = None; resumed = None; read_only_errors = 0; nid = 0
deadline = time.time() + 60
conn = None
while time.time() < deadline and not (resumed and time.time() > resumed + 1):
    try:
        if conn is None:
            conn = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                                   autocommit=True, connect_timeout=2)
        nid += 1
        conn.execute("INSERT INTO fg_fo VALUES (%d)" % nid)
        acked.append(nid)
        if first_fail and not resumed:
            resumed = time.time()
    except Exception as ex:
        if getattr(ex, "sqlstate", None) == "25006" or "read-only transaction" in str(ex):
            read_only_errors += 1
        if first_fail is None:
            first_fail = time.time()
        try:
            conn and conn.close()
        except Exception:
            pass
        conn = None
        time.sleep(0.05)
with open(out + "/writer.out", "w") as f:
    f.write("%d %d %s %s %d\n" % (len(acked), max(acked or [0]), repr(first_fail), repr(resumed), read_only_errors))
    f.write(" ".join(map(str, acked)) + "\n")
PY
writer=$!
echo $writer >>"$FG_CLUSTER_DIR/pids"
# the writer is under way: some of its inserts are committed before the primary stops
writer_running() { [ "$(psql_primary -d postgres -c "SELECT count(*) >= 20 FROM fg_fo" 2>/dev/null)" = t ]; }
wait_for 30 writer_running
ok $? "the writer committed its first inserts through the pooler"
$FG_RUN_AS "$FG_PG_BIN/pg_ctl" -D "$FG_PRIMARY_DATA" -m fast -w -t 20 stop >/dev/null
stopped=$(date +%s.%N)
sleep 0.5  # the scenario: the primary is down for a moment before the promotion (not a synchronisation)
$FG_RUN_AS "$FG_PG_BIN/pg_ctl" -D "$FG_REPLICA1_DATA" -w -t 20 promote >/dev/null
promoted=$(date +%s.%N)
wait $writer
read -r n_acked max_id first_fail resumed ro_errors < "$POOLER_DIR/writer.out"
diag "acknowledged $n_acked inserts; primary stopped at $stopped, promoted at $promoted, writes failed from $first_fail, resumed at $resumed"
ok $([ "$resumed" != None ] && echo 0 || echo 1) "writes resumed after the promotion"
# ms_of SECONDS.FRACTION: the timestamp in whole milliseconds (bash arithmetic, no bc)
ms_of() { local s=${1%%.*} f=${1#*.}000; [ "$s" = "$1" ] && f=000; echo $((10#$s * 1000 + 10#${f:0:3})); }
if [ "$resumed" != None ]; then
  delay_ms=$(($(ms_of "$resumed") - $(ms_of "$promoted")))
  diag "writes resumed ${delay_ms} ms after pg_ctl promote returned (documented: 2 x health_check_period 200 ms + the client's reconnect)"
fi
is "$ro_errors" 0 "no write reached a host in recovery (no read-only error)"
rows=$(psql_port "$FG_REPLICA1_PORT" -d postgres -c "SELECT count(*) FROM fg_fo")
missing=$(sed -n 2p "$POOLER_DIR/writer.out" | tr ' ' '\n' | grep . | psql_port "$FG_REPLICA1_PORT" -d postgres \
  -c "CREATE TEMP TABLE a (id int); COPY a FROM STDIN; SELECT count(*) FROM a WHERE id NOT IN (SELECT id FROM fg_fo)")
is "$missing" 0 "no acknowledged commit lost ($n_acked acknowledged, $rows rows on the new primary)"
ok $(pooler_log_has "node 1 .* promoted" && echo 0 || echo 1) "the promotion is logged"
ok $(pooler_log_has "writes now go to node 1" && echo 0 || echo 1) "the pooler logs where writes go now"
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
