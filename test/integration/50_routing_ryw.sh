#!/usr/bin/env bash
# 50_routing_ryw.sh: read-your-writes through faregate-pooler on a cluster of its own whose replica 1
# applies WAL 200 ms late (cluster.sh --delay 1=200ms). 5,000 write-then-immediately-read pairs from
# 20 parallel clients (each writes a new value with a plain autocommit UPDATE, then reads it back in
# autocommit): with read_your_writes = on no read may be stale; the same run with it off must see
# stale reads, which proves that the check can fail. Reads must also still reach replicas with it on.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${FG_RYW_INNER:-}" ]; then
  exec "$top/test/harness/cluster.sh" --replicas 2 --delay 1=200ms -- env FG_RYW_INNER=1 "$0"
fi
. "$top/test/integration/40_pooler_lib.bash"
POOLER_DB_EXTRA="replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT"
psql_primary -d postgres -c "CREATE TABLE fg_ryw (id int PRIMARY KEY, v int NOT NULL);
  INSERT INTO fg_ryw SELECT g, 0 FROM generate_series(1, 20) g" >/dev/null
wait_replicas_caught_up 20

run_pairs() { # run_pairs -> "stale reads_on_replicas errors"
  /usr/bin/python3 - "$POOLER_PORT" <<'PY'
import sys, threading, psycopg
port = int(sys.argv[1]); clients = 20; pairs = 250          # 20 x 250 = 5,000 pairs
stale = replica_reads = errors = 0
lock = threading.Lock()
def worker(cid):
    global stale, replica_reads, errors
    s = r = e = 0
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             autocommit=True) as c:
            for i in range(1, pairs + 1):
                c.execute("UPDATE fg_ryw SET v = %d WHERE id = %d" % (i, cid))
                v, rec = c.execute("SELECT v, pg_is_in_recovery() FROM fg_ryw WHERE id = %d" % cid).fetchone()
                s += v != i
                r += rec
    except Exception as ex:
        e += 1
        print("# client %d: %s" % (cid, ex))
    with lock:
        stale += s; replica_reads += r; errors += e
ts = [threading.Thread(target=worker, args=(k,)) for k in range(1, clients + 1)]
[t.start() for t in ts]; [t.join(timeout=60) for t in ts]
print(stale, replica_reads, errors)
PY
}

pooler_start "health_check_period = 50ms" "max_replica_lag = 1GB,10s" "read_your_writes = on" \
  "load_balance = round_robin" "default_pool_size = 10" || { ok 1 "pooler started"; done_testing; exit 0; }
psql_pooler -c 'SELECT 1' >/dev/null
pooler_wait_routing
ok $? "read routing is ready: the volatility table loaded, every node up in its role (SHOW ROUTING)"
start=$SECONDS
read -r stale replica_reads errors < <(run_pairs)
diag "read_your_writes = on: $stale stale of 5000, $replica_reads reads on replicas, $((SECONDS - start)) s"
is "$errors" 0 "read_your_writes = on: every client finished"
is "$stale" 0 "read_your_writes = on: 0 stale reads in 5,000 write-then-read pairs"
psql_pooler -c "UPDATE fg_ryw SET v = v" >/dev/null
# another client's write must not pin this one to the primary: once the replicas have replayed the
# update (up to a generous bound), a new client without writes of its own reads from a replica
fresh_client_on_replica() {
  [ "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres -c 'SELECT pg_is_in_recovery()')" = t ]
}
wait_for 30 fresh_client_on_replica
ok $? "read_your_writes = on: a client without recent writes still reads from a replica"
pooler_stop QUIT

pooler_start "health_check_period = 50ms" "max_replica_lag = 1GB,10s" "read_your_writes = off" \
  "load_balance = round_robin" "default_pool_size = 10" || { ok 1 "pooler started"; done_testing; exit 0; }
psql_pooler -c 'SELECT 1' >/dev/null
pooler_wait_routing
ok $? "read routing is ready: the volatility table loaded, every node up in its role (SHOW ROUTING)"
read -r stale replica_reads errors < <(run_pairs)
diag "read_your_writes = off: $stale stale of 5000, $replica_reads reads on replicas"
is "$errors" 0 "read_your_writes = off: every client finished"
ok $([ "$stale" -gt 0 ] && echo 0 || echo 1) "read_your_writes = off: stale reads are seen ($stale), so the check can fail"
psql_primary -d postgres -c "DROP TABLE fg_ryw" >/dev/null
pooler_sanitizer_clean; ok $? "no sanitizer report"
done_testing
