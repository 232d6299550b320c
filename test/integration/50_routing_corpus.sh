#!/usr/bin/env bash
# 50_routing_corpus.sh: the classifier's corpus (test/unit/route_corpus.txt) end to end through
# faregate-pooler on the shared primary + 2 replicas, in the fixture database of 50_routing_replica_oracle.py.
# Every statement runs autocommit through the pooler: none may hit a hot standby's refusal of a
# write (SQLSTATE 25006, "during recovery" ...), every R statement is counted as a read routed to a
# replica (SHOW ROUTING), and SELECT pg_is_in_recovery() through the pooler answers true. Statements
# that would wreck the fixture (DROP, COPY FROM STDIN) are left out of the write pass. Under the ASan
# build (FG_POOLER_BIN) the pooler's stderr must hold no sanitizer report after it stopped.
set -u
. "$(cd "$(dirname "$0")" && pwd)/40_pooler_lib.bash"
db=fg_route_e2e
recreate_db $db || { ok 1 "database $db created"; done_testing; exit 1; }
POOLER_DB_EXTRA="dbname=$db replicas=$FG_HOST:$FG_REPLICA1_PORT,$FG_HOST:$FG_REPLICA2_PORT"
pooler_start "health_check_period = 100ms" "max_replica_lag = 1GB" || { ok 1 "pooler started"; done_testing; exit 0; }
/usr/bin/python3 - "$POOLER_PORT" "$top/test/integration" "$POOLER_DIR/py.count" <<'PY' | tee "$POOLER_DIR/py.out"
import sys, time, psycopg
import importlib.util
spec = importlib.util.spec_from_file_location("replica_oracle", sys.argv[2] + "/50_routing_replica_oracle.py")
rr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rr)
import re
STANDBY_ONLY = re.compile(r"during recovery|hot standby|recovery is in progress", re.I)
port = int(sys.argv[1])
n = 0; failed = 0
def ok(passed, name, diag=None):
    global n, failed
    n += 1; failed += not passed
    print(("ok" if passed else "not ok") + " %d - %s" % (n, name))
    if diag and not passed:
        print("#   %s" % (diag,))
import os
primary = "host=%s port=%s user=postgres dbname=fg_route_e2e" % (os.environ["FG_HOST"], os.environ["FG_PRIMARY_PORT"])
with psycopg.connect(primary, autocommit=True) as p:
    p.pgconn.exec_(rr.FIXTURE.encode())
    lsn = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
for rport in os.environ["FG_REPLICA_PORTS"].split():
    deadline = time.time() + 30
    while time.time() < deadline:
        # ask in the postgres database: the replica may not have replayed CREATE DATABASE yet
        with psycopg.connect("host=%s port=%s user=postgres dbname=postgres" % (os.environ["FG_HOST"], rport),
                             autocommit=True) as r:
            if r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0]:
                break
        time.sleep(0.1)
admin = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="faregate", autocommit=True)
def replica_reads():
    cur = admin.pgconn.exec_(b"SHOW ROUTING")
    return sum(int(cur.get_value(i, 10)) for i in range(cur.ntuples) if cur.get_value(i, 1) != b"0")
c = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True)
rr.run(c, "SELECT 1")
# the first health checks and the volatility table of the fixture database (the pooler logs both)
def pooler_log():
    with open(os.path.join(os.path.dirname(sys.argv[3]), "pooler.log"), errors="replace") as f:
        return f.read()
def replicas_up():
    cur = admin.pgconn.exec_(b"SHOW ROUTING")
    return sum(1 for i in range(cur.ntuples) if cur.get_value(i, 1) != b"0" and cur.get_value(i, 6) == b"up") == 2
deadline = time.time() + 30
while not ("volatility table loaded" in pooler_log() and replicas_up()) and time.time() < deadline:
    time.sleep(0.05)
ok("volatility table loaded" in pooler_log() and replicas_up(),
   "the pooler loaded the volatility table and both replicas are up (waited up to 30 s)")
ok(c.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True, "SELECT pg_is_in_recovery() through the pooler answers true")
reads = [s for s in rr.corpus("R") if "faregate:replica" not in s]
before = replica_reads()
refused = []
for sql in reads:
    err = rr.run(c, sql)
    if err and (err[0] == "25006" or rr.STANDBY_REFUSAL.search(err[1])):
        refused.append((sql, err))
ok(not refused, "no corpus read (%d) was refused by a standby" % len(reads), refused[:3])
routed = replica_reads() - before
ok(routed >= len(reads), "every corpus read was routed to a replica (%d of %d)" % (routed, len(reads)))
writes = [s for s in rr.corpus("W") if not s.lstrip().upper().startswith(("DROP", "COPY T FROM STDIN"))
          and "FROM STDIN" not in s.upper()]
refused = []
c.execute("SET statement_timeout = '2s'")
t0 = time.time()
for sql in writes:
    err = rr.run(c, sql)
    # a text that itself asks for READ ONLY gets 25006 from any server: only a standby's refusal counts
    if err and ((err[0] == "25006" and "READ ONLY" not in sql.upper()) or STANDBY_ONLY.search(err[1])):
        refused.append((sql, err))
ok(not refused, "no corpus write (%d) hit a read-only error" % len(writes), refused[:3])
print("# write pass: %.1f s" % (time.time() - t0))
for sql in rr.MUST_FAIL:
    err = rr.run(c, sql)
    ok(not (err and (err[0] == "25006" or rr.STANDBY_REFUSAL.search(err[1]))),
       "issue 6 misrouting case runs on the primary: %s" % sql, err)
c.close(); admin.close()
sys.stdout.flush()
with open(sys.argv[3], "w") as f:  # the mark that this pass ran to its end (the shell prints the plan)
    f.write("%d %d\n" % (n, failed))
PY
# the shell goes on counting after the python pass's tests; one that died early is one more failure
TAP_COUNT=$(grep -Ec '^(not )?ok [0-9]+' "$POOLER_DIR/py.out")
TAP_FAILED=$(grep -Ec '^not ok [0-9]+' "$POOLER_DIR/py.out")
[ -s "$POOLER_DIR/py.count" ]; ok $? "the corpus pass (python) ran to its end"
pooler_stop QUIT
pooler_sanitizer_clean; ok $? "no sanitizer report"
psql_primary -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
done_testing
