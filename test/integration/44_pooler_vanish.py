#!/usr/bin/python3
"""44_pooler_vanish.py: a client that vanishes while its query runs does not leave the query running.

PostgreSQL notices that its client socket closed only when it next reads from it, after the running
statement. So when a client of faregate-pooler disconnects (or dies) mid-query, the pooler must send a
CancelRequest for that backend before it closes the server connection. Each case starts
`SELECT pg_sleep(60)` through the pooler from a raw socket, waits (bounded) until pg_stat_activity of the
node that runs it shows the statement, closes the client socket, and requires the statement to be gone
from pg_stat_activity within a generous bound (20 s, a third of the sleep: without the cancel it stays
the full 60 s); the time it took is printed as a diagnostic, never asserted.
Cases: outside a transaction and inside BEGIN, on the primary and on a replica (read routing).
Honours FG_POOLER_BIN; needs the harness's primary and at least one replica.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, diag  # noqa: E402

import psycopg  # noqa: E402

HOST = fgtest.HOST
GONE_BOUND = 20.0   # seconds; the statement sleeps 60
SEEN_BOUND = 20.0


def node_dsn(port):
    return "host=%s port=%s user=postgres dbname=postgres" % (HOST, port)


def config(p, replicas):
    return ("[databases]\n"
            "postgres = host=%s port=%d dbname=postgres pool_size=2\n" % (HOST, fgtest.primary_port()) +
            "routed = host=%s port=%d dbname=postgres pool_size=2 replicas=%s\n"
            % (HOST, fgtest.primary_port(), ",".join("%s:%s" % (HOST, r) for r in replicas)) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "auth_type = trust\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
            "read_routing = on\nmax_replica_lag = 0\n")


def login(port, db):
    """A raw client socket logged in to DB through the pooler (trust), at ReadyForQuery."""
    s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(fgtest.startup("postgres", db))
    while True:
        t, body = fgtest.recv_msg(s)
        if t is None:
            raise RuntimeError("pooler closed the connection during login")
        if t == b"E":
            raise RuntimeError("login failed: %r" % body)
        if t == b"Z":
            return s


def running(port, marker):
    """Backends of the node at PORT running the statement tagged MARKER."""
    with psycopg.connect(node_dsn(port), autocommit=True) as c:
        return c.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
                         ("%" + marker + "%",)).fetchone()[0]


def wait_until(probe, bound):
    """Polls PROBE every 50 ms until it returns a true value or BOUND seconds pass; returns (that value or
    None, seconds waited)."""
    start = time.time()
    while True:
        value = probe()
        if value:
            return value, time.time() - start
        if time.time() - start > bound:
            return None, time.time() - start
        time.sleep(0.05)


def vanish_case(p, db, begin, nodes, name):
    """One case: the sleep starts on one of NODES (ports), the client vanishes, the sleep must end."""
    marker = "vanish_%s_%d" % (db, int(begin))
    s = login(p.port, db)
    sql = ("BEGIN; " if begin else "") + "SELECT pg_sleep(60) /* %s */" % marker
    s.sendall(fgtest.msg(b"Q", fgtest.cstr(sql)))
    node, _ = wait_until(lambda: next((n for n in nodes if running(n, marker)), None), SEEN_BOUND)
    if not ok(node, "%s: the sleep runs on %s" % (name, "one of " + ",".join(nodes))):
        s.close()
        return
    s.close()
    gone, took = wait_until(lambda: running(node, marker) == 0, GONE_BOUND)
    ok(gone, "%s: the statement is gone from pg_stat_activity after the client vanished" % name,
       "still running after %.1f s" % took)
    diag("%s: gone %.2f s after the client closed its socket" % (name, took))


def main():
    replicas = os.environ.get("FG_REPLICA_PORTS", "").split()
    if not replicas:
        ok(False, "the harness started at least one replica (run under test/harness/cluster.sh)")
        return fgtest.done_testing()
    primary = str(fgtest.primary_port())
    p = fgtest.Pooler(lambda p: config(p, replicas), prefix="faregate-vanish.")

    def replica_reads(p):
        """Reads reach a replica once routing has checked the nodes (a read before that runs on the primary)."""
        def on_replica():
            with p.connect("routed") as c:
                return c.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        ok(wait_until(on_replica, SEEN_BOUND)[0], "reads of the routed database reach a replica")

    def cases(p):
        vanish_case(p, "postgres", False, [primary], "primary, outside a transaction")
        vanish_case(p, "postgres", True, [primary], "primary, inside BEGIN")
        vanish_case(p, "routed", False, replicas, "replica, outside a transaction")
        vanish_case(p, "routed", True, [primary] + replicas, "routed database, inside BEGIN")
        with p.connect("postgres") as c:
            ok(c.execute("SELECT 1").fetchone()[0] == 1, "the pool serves the next client")

    return fgtest.run_pooler_tests(p, [replica_reads, cases])


if __name__ == "__main__":
    sys.exit(main())
