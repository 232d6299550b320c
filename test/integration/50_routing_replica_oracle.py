#!/usr/bin/python3
"""50_routing_replica_oracle.py: the classifier's reads checked against a real hot standby.

Every statement that test/unit/route_corpus.txt expects sqlroute.c to call a read (R), except those
that carry a faregate:replica hint (the client's word, not the classifier's), is run on
replica 1, in a database holding the tables and honestly labelled functions the corpus uses (created
on the primary, replayed to the replica). None may fail with the errors a standby gives to writes
(SQLSTATE 25006 read-only transaction, "during recovery", "hot standby"); other errors (a $1 without
a parameter, a column the fixture lacks) are allowed but counted, and most reads must run cleanly.
As the proof that the check can fail, the misrouting cases of issue 6 (nextval, a CTE with UPDATE,
FOR NO KEY UPDATE, a volatile extension function, SELECT INTO, EXPLAIN ANALYZE of a write,
SERIALIZABLE READ ONLY, txid_current) must each be refused by the replica. TAP output.
"""
import os
import re
import sys
import time

import psycopg
from psycopg import pq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "unit", "route_corpus.txt")
DB = "fg_route_replica"


def corpus(kind):
    """The corpus statements of one class, continuation lines joined."""
    out, cur = [], None
    with open(CORPUS) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if cur is None:
                if not line or line.startswith("#"):
                    continue
                cls, _, line = line.partition("|")
                cur = [cls, ""]
            if line.endswith("\\"):
                cur[1] += line[:-1] + "\n"
                continue
            cur[1] += line
            if cur[0] == kind:
                out.append(cur[1])
            cur = None
    return out


FIXTURE = r"""
CREATE SCHEMA faregate; CREATE SCHEMA s;
CREATE TABLE t (id int, a int, b int, c int, d int, x int, name text, "for" int, "update" int,
                "nextval" int, random int, ts timestamptz DEFAULT now(), status text);
INSERT INTO t SELECT g, g, g, g, g, g, 'n' || g, g, g, g, g, now(), 'ready' FROM generate_series(1, 20) g;
CREATE TABLE u (a int, b int); CREATE TABLE v (c int); CREATE TABLE w (d int);
CREATE TABLE t1 (id int); CREATE TABLE t2 (id int); CREATE TABLE t3 (id int);
CREATE TABLE users (name text); CREATE TABLE pgbench_accounts (aid int, abalance int);
CREATE TABLE pgbench_branches (bid int); CREATE TABLE "Quoted Table" ("MixedCase" int);
CREATE TABLE s.t (a int); CREATE TABLE app_user (id int, email text);
CREATE TABLE orders (id int, status text, customer_id int, total numeric); CREATE TABLE jobs (id int, state text);
CREATE SEQUENCE s;
CREATE FUNCTION faregate.fare(int, int, timestamptz) RETURNS numeric LANGUAGE sql STABLE AS 'SELECT 2.5';
CREATE FUNCTION faregate.queue_position(text, int) RETURNS int LANGUAGE sql STABLE AS 'SELECT 1';
CREATE FUNCTION faregate.enqueue(text, int) RETURNS bigint LANGUAGE sql VOLATILE AS 'SELECT nextval(''s'')';
CREATE FUNCTION stable_fn(int) RETURNS int LANGUAGE sql STABLE AS 'SELECT $1';
CREATE FUNCTION immutable_fn(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
"""

MUST_FAIL = [
    "SELECT nextval('s')",
    "WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x",
    "SELECT * FROM t WHERE id = 1 FOR NO KEY UPDATE",
    "SELECT faregate.enqueue('q', 1)",
    "SELECT * INTO newtable FROM t",
    "EXPLAIN ANALYZE UPDATE t SET a = 1",
    "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
    "SELECT txid_current()",
]

STANDBY_REFUSAL = re.compile(r"read-only transaction|during recovery|hot standby|recovery is in progress", re.I)


def run(conn, sql):
    """Runs sql with the simple query protocol; returns (sqlstate, message) of an error, or None."""
    pgconn = conn.pgconn
    res = pgconn.exec_(sql.encode())
    err = None
    if res.status == pq.ExecStatus.FATAL_ERROR:
        state = res.error_field(pq.DiagnosticField.SQLSTATE)
        msg = res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
        err = (state.decode() if state else "", msg.decode() if msg else "")
    elif res.status == pq.ExecStatus.COPY_OUT:
        while True:
            nbytes, _ = pgconn.get_copy_data(0)
            if nbytes < 0:
                break
        while pgconn.get_result() is not None:
            pass
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        pgconn.exec_(b"ROLLBACK")
    return err


def main():
    host = os.environ.get("FG_HOST", "127.0.0.1")
    primary = os.environ.get("FG_PRIMARY_PORT")
    replicas = os.environ.get("FG_REPLICA_PORTS", "").split()
    if not primary or not replicas:
        print("1..0 # SKIP needs the harness's primary and a replica")
        return 0
    base = "host=%s user=postgres " % host
    fgtest.recreate_db(DB)
    try:
        with psycopg.connect(base + "port=%s dbname=%s" % (primary, DB), autocommit=True) as p:
            p.pgconn.exec_(FIXTURE.encode())
            lsn = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.time() + 30
        rep = None
        while time.time() < deadline:
            try:
                rep = psycopg.connect(base + "port=%s dbname=%s" % (replicas[0], DB), autocommit=True)
                if rep.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0]:
                    break
                rep.close()
                rep = None
            except psycopg.OperationalError:
                pass
            time.sleep(0.1)
        if not ok(rep is not None, "replica 1 has the fixture within 30 s"):
            return 1
        ok(run(rep, "SELECT pg_is_in_recovery()") is None and
           rep.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True, "replica 1 is in recovery")

        # a faregate:replica hint is the client's word that its functions do not write; the hint's
        # own corpus lines (one calls nextval on purpose) are not the classifier's verdicts
        reads = [sql for sql in corpus("R") if "faregate:replica" not in sql]
        # a read that fails on the replica for another reason (a $1 without a parameter, a column the
        # fixture lacks) proves nothing by itself: it passes only when the primary, with the same
        # fixture, fails it with the same SQLSTATE (so the standby played no part in the failure)
        prim = psycopg.connect(base + "port=%s dbname=%s" % (primary, DB), autocommit=True)
        clean = 0
        other = []
        for sql in reads:
            err = run(rep, sql)
            refused = err is not None and (err[0] == "25006" or STANDBY_REFUSAL.search(err[1]))
            on_primary = run(prim, sql) if err is not None and not refused else None
            name = sql.replace("\n", " ")[:90]
            if err is None:
                ok(True, "replica accepts R|%s" % name)
                clean += 1
            else:
                ok(not refused and on_primary is not None and on_primary[0] == err[0],
                   "replica fails R|%s as the primary does (%s)" % (name, err[0]),
                   "replica: %s; primary: %s" % (err, on_primary))
                if not refused:
                    other.append((sql, err))
        prim.close()
        print("# %d of %d reads ran without error; %d failed for other reasons (fixture, $n):"
              % (clean, len(reads), len(other)))
        for sql, err in other:
            print("#   %s: %s %s" % (sql.replace("\n", " ")[:70], err[0], err[1][:80]))
        ok(clean >= len(reads) * 3 // 4, "at least 3/4 of the reads ran cleanly (the fixture is meaningful)")

        for sql in MUST_FAIL:
            err = run(rep, sql)
            ok(err is not None and (err[0] in ("25006", "0A000", "55000") or STANDBY_REFUSAL.search(err[1])),
               "replica refuses what sqlroute.c calls a write: %s" % sql, err)
        rep.close()
    finally:
        with psycopg.connect(base + "port=%s dbname=postgres" % primary, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS " + DB)
    return fgtest.done_testing()


if __name__ == "__main__":
    sys.exit(main())
