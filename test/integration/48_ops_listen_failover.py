#!/usr/bin/python3
"""48_ops_listen_failover.py: the LISTEN listener follows the write node, on a cluster of its own
(primary + 1 replica; promotion changes the topology, so never on the shared cluster).
With read routing (replicas=, health checks every 200 ms) a psycopg client LISTENs through the pooler:
- a NOTIFY on the primary reaches it (the listener is on node 0);
- pg_ctl promote of the replica while the old primary keeps running: the promoted node has the newer
  timeline, so writes move to it; the listener must drop its connection to the old primary (which still
  answers), LISTEN again on node 1 (the log says so), and the client gets the missed-span notice;
- a NOTIFY on the promoted node then reaches the client, and one on the old primary does not;
- the promoted node stopped: writes go back to the old primary (the only one left), the listener's
  connection is lost and re-made there, and a NOTIFY on it reaches the client again.
Honours FG_POOLER_BIN."""
import os
import subprocess
import sys
import time

if not os.environ.get("FG_LISTEN_FAILOVER_INNER"):
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.execv(os.path.join(top, "test/harness/cluster.sh"),
             ["cluster.sh", "--replicas", "1", "--", "env", "FG_LISTEN_FAILOVER_INNER=1", "/usr/bin/python3",
              os.path.abspath(__file__)])

import psycopg  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import fgtest  # noqa: E402
from fgtest import ok, diag  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
REPLICA = int(os.environ["FG_REPLICA1_PORT"])
CHANNEL = "fg_follow"


def direct(port):
    return psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, port), autocommit=True)


def pg_ctl(*args):
    run_as = os.environ.get("FG_RUN_AS", "").split()
    return subprocess.run(run_as + [os.path.join(os.environ["FG_PG_BIN"], "pg_ctl")] + list(args),
                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode


class Client:
    """A pooler client LISTENing on CHANNEL, recording notifications and notices."""

    def __init__(self, p):
        self.conn = psycopg.connect("host=127.0.0.1 port=%d user=postgres dbname=postgres" % p.port,
                                    autocommit=True)
        self.got = []
        self.notices = []
        self.conn.add_notify_handler(lambda n: self.got.append(n.payload))
        self.conn.add_notice_handler(lambda d: self.notices.append(d.message_primary or ""))
        self.conn.execute("LISTEN " + CHANNEL)

    def wait_for(self, pred, timeout=30.0):
        """Round trips (each lets libpq hand over what arrived) until pred() holds or timeout passes."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                self.conn.execute("SELECT 1")
            except psycopg.Error:
                pass            # a read may fail while the topology changes; the session goes on
            if pred():
                return True
            time.sleep(0.1)
        return False


def notify_on(port, payload):
    with direct(port) as c:
        c.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


def main():
    p = fgtest.Pooler(lambda p: "[databases]\npostgres = host=%s port=%d replicas=%s:%d\n" % (HOST, PRIMARY, HOST, REPLICA) +
                      "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                      "pool_mode = transaction\nhealth_check_period = 200ms\nadmin_users = postgres\n" +
                      "logfile = %s/pooler.log\nverbose = 1\n" % p.dir, prefix="faregate-listen-failover.")
    promoted = False
    try:
        c = Client(p)
        notify_on(PRIMARY, "one")
        ok(c.wait_for(lambda: "one" in c.got), "a NOTIFY on the primary reaches the client (listener on node 0)")
        ok("connected to node 0" in p.text("pooler.log"), "the log names the node the listener connected to")

        ok(pg_ctl("-D", os.environ["FG_REPLICA1_DATA"], "-w", "promote") == 0,
           "pg_ctl promote of the replica (the old primary keeps running)")
        promoted = True
        moved = fgtest.wait_until(lambda: "writes moved to node 1" in p.text("pooler.log"), 30)
        ok(moved, "the listener sees that writes moved to node 1 (newer timeline) and leaves the old primary")
        ok(fgtest.wait_until(lambda: "connected to node 1" in p.text("pooler.log"), 30),
           "... and connects to node 1")
        ok(c.wait_for(lambda: any("may have been missed" in n for n in c.notices)),
           "the client gets the missed-span notice once its channel is listened again",
           "notices: %r" % c.notices)
        notify_on(REPLICA, "two")
        ok(c.wait_for(lambda: "two" in c.got), "a NOTIFY on the promoted node reaches the client", "got: %r" % c.got)
        notify_on(PRIMARY, "stale")
        c.wait_for(lambda: "stale" in c.got, timeout=1.5)
        ok("stale" not in c.got, "a NOTIFY on the old primary no longer does (waited 1.5 s)")

        ok(pg_ctl("-D", os.environ["FG_REPLICA1_DATA"], "-m", "fast", "-w", "stop") == 0, "the promoted node stopped")
        ok(fgtest.wait_until(lambda: p.text("pooler.log").count("connected to node 0") >= 2, 30),
           "the listener reconnects to node 0, where writes go now")
        c.got.clear()
        ok(c.wait_for(lambda: (notify_on(PRIMARY, "three") or True) and "three" in c.got),
           "a NOTIFY on node 0 reaches the client again", "got: %r" % c.got)
        c.conn.close()
    except Exception as ex:   # one failed test, then clean up
        ok(False, "no exception", repr(ex))
    finally:
        ok(p.proc.poll() is None, "the pooler is still running")
        p.stop()
        p.finish()
    if promoted:
        diag("replica 1 was promoted and stopped; cluster.sh removes the cluster")
    return fgtest.done_testing()


sys.exit(main())
