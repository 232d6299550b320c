#!/usr/bin/python3
"""48_ops_listen_noprimary.py: a LISTEN while no node is a verified primary is held, never answered
before the listener can deliver, on a cluster of its own (primary + 1 replica; the primary is stopped
and started, so never on the shared cluster).
With read routing (replicas=, health checks every 200 ms, server_connect_timeout 3 s), one pooler client
is logged in (its pool, and so the health checks, start with it) while everything is up; then the primary is stopped:
- once SHOW ROUTING has node 0 down, a LISTEN through the pooler is held (no answer after 1 s; it used
  to be answered at once, and what was notified before the listener's LISTEN was lost without a word);
- the primary started again: the LISTEN completes, and a NOTIFY on the primary reaches the client;
- the primary stopped for longer than server_connect_timeout: a LISTEN on a new channel fails with
  SQLSTATE 08006 "found no verified primary", and the pooler keeps running.
Honours FG_POOLER_BIN."""
import os
import subprocess
import sys
import threading
import time

if not os.environ.get("FG_LISTEN_NOPRIMARY_INNER"):
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.execv(os.path.join(top, "test/harness/cluster.sh"),
             ["cluster.sh", "--replicas", "1", "--", "env", "FG_LISTEN_NOPRIMARY_INNER=1", "/usr/bin/python3",
              os.path.abspath(__file__)])

import psycopg  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
REPLICA = int(os.environ["FG_REPLICA1_PORT"])
PRIMARY_DATA = os.environ["FG_PRIMARY_DATA"]


def pg_ctl(*args):
    run_as = os.environ.get("FG_RUN_AS", "").split()
    return subprocess.run(run_as + [os.path.join(os.environ["FG_PG_BIN"], "pg_ctl")] + list(args),
                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode


def node0_state(p):
    """node 0's status column in SHOW ROUTING (None when absent or the console does not answer)."""
    try:
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as c:
            cur = c.execute("SHOW ROUTING")
            cols = [d.name for d in cur.description]
            for row in cur.fetchall():
                r = dict(zip(cols, row))
                if r.get("database") == "postgres" and str(r.get("node")) == "0":
                    return r.get("status")
    except psycopg.Error:
        return None
    return None


class HeldListen(threading.Thread):
    """Runs LISTEN channel on conn in a thread, recording when it returned and how."""

    def __init__(self, conn, channel):
        super().__init__(daemon=True)
        self.conn, self.channel = conn, channel
        self.done = threading.Event()
        self.error = None

    def run(self):
        try:
            self.conn.execute("LISTEN " + self.channel)
        except psycopg.Error as ex:
            self.error = ex
        self.done.set()


def main():
    p = fgtest.Pooler(lambda p: "[databases]\npostgres = host=%s port=%d replicas=%s:%d\n" % (HOST, PRIMARY, HOST, REPLICA) +
                      "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                      "pool_mode = transaction\nhealth_check_period = 200ms\nserver_connect_timeout = 3s\n" +
                      "admin_users = postgres\nlogfile = %s/pooler.log\nverbose = 1\n" % p.dir,
                      prefix="faregate-listen-noprimary.")
    primary_up = True
    try:
        c = psycopg.connect("host=127.0.0.1 port=%d user=postgres dbname=postgres" % p.port, autocommit=True)
        ok(fgtest.wait_until(lambda: node0_state(p) == "up", 30),
           "SHOW ROUTING: node 0 is up once a client made the pool", "state %r" % node0_state(p))
        got = []
        c.add_notify_handler(lambda n: got.append(n.payload))

        ok(pg_ctl("-D", PRIMARY_DATA, "-m", "fast", "-w", "stop") == 0, "the primary stopped")
        primary_up = False
        ok(fgtest.wait_until(lambda: node0_state(p) not in ("up", None), 30),
           "SHOW ROUTING: node 0 is no longer up", "state %r" % node0_state(p))
        held = HeldListen(c, "fg_noprimary")
        held.start()
        ok(not held.done.wait(1.0), "a LISTEN while no node is a verified primary is held (no answer after 1 s)",
           "returned, error %r" % held.error)
        ok(pg_ctl("-D", PRIMARY_DATA, "-w", "-l", os.path.join(PRIMARY_DATA, "restart.log"), "start") == 0,
           "the primary started again")
        primary_up = True
        ok(held.done.wait(30) and held.error is None, "... then the LISTEN completes without error",
           "error %r" % held.error)
        with psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY),
                             autocommit=True) as d:
            d.execute("SELECT pg_notify('fg_noprimary', 'after')")
        deadline = time.time() + 30
        while "after" not in got and time.time() < deadline:
            c.execute("SELECT 1")
            time.sleep(0.1)
        ok("after" in got, "a NOTIFY on the primary then reaches the client", "got %r" % got)

        ok(pg_ctl("-D", PRIMARY_DATA, "-m", "fast", "-w", "stop") == 0, "the primary stopped once more")
        primary_up = False
        ok(fgtest.wait_until(lambda: node0_state(p) not in ("up", None), 30), "SHOW ROUTING: node 0 down again")
        # the listener kept its connection to the old primary until it was lost; wait until it knows
        ok(fgtest.wait_until(lambda: "listener postgres: connection lost" in p.text("pooler.log"), 30),
           "the listener notices its connection is gone")
        c2 = psycopg.connect("host=127.0.0.1 port=%d user=postgres dbname=postgres" % p.port, autocommit=True)
        held2 = HeldListen(c2, "fg_noprimary_two")
        held2.start()
        ok(held2.done.wait(30), "a LISTEN with no primary for longer than server_connect_timeout returns")
        err = held2.error
        ok(err is not None and err.sqlstate == "08006" and "found no verified primary" in str(err),
           "... with SQLSTATE 08006 naming the missing primary", "error %r (%s)" % (err, getattr(err, "sqlstate", None)))
        c2.close()
        c.close()
    except Exception as ex:   # one failed test, then clean up
        ok(False, "no exception", repr(ex))
    finally:
        if not primary_up:
            pg_ctl("-D", PRIMARY_DATA, "-w", "-l", os.path.join(PRIMARY_DATA, "restart.log"), "start")
        ok(p.proc.poll() is None, "the pooler is still running")
        p.stop()
        p.finish()
    return fgtest.done_testing()


sys.exit(main())
