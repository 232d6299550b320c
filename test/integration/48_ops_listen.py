#!/usr/bin/python3
"""48_ops_listen.py: LISTEN/NOTIFY through faregate-pooler in transaction mode.
Three psycopg clients LISTEN faregate_queue_<id> through the pooler; faregate.call_next from a fourth
client notifies them all (pushed while they are idle, held for a client inside a transaction until its
COMMIT); one listener server connection serves the database; UNLISTEN and disconnects remove
channels; after pg_terminate_backend of the listener it reconnects, listens again, and every client gets
a NoticeResponse naming the span in which notifications may have been missed.
Honours FG_POOLER_BIN."""
import os
import select
import sys
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
DB = "fg_ops_listen"


def direct(db="postgres"):
    return psycopg.connect("host=%s port=%d user=postgres dbname=%s" % (HOST, PRIMARY, db), autocommit=True)


class Pooler(fgtest.Pooler):
    def __init__(self):
        super().__init__(lambda p: "[databases]\n%s = host=%s port=%d dbname=%s pool_size=2\n" % (DB, HOST, PRIMARY, DB) +
                         "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\npool_mode = transaction\n" % p.port +
                         "admin_users = postgres\nlogfile = %s/pooler.log\nverbose = 1\n" % p.dir,
                         prefix="faregate-ops-listen.")

    def dsn(self, db=DB):
        return "host=127.0.0.1 port=%d user=postgres dbname=%s" % (self.port, db)

    def lists(self):
        with psycopg.connect(self.dsn("faregate"), autocommit=True) as a:
            return {r[0]: r[1] for r in a.execute("SHOW LISTS").fetchall()}


class Listener:
    """A pooler client that records the notifications and notices it gets."""

    def __init__(self, p, channel):
        self.conn = psycopg.connect(p.dsn(), autocommit=True)
        self.got = []
        self.notices = []
        self.conn.add_notify_handler(lambda n: self.got.append(n))
        self.conn.add_notice_handler(lambda d: self.notices.append(d.message_primary))
        self.status = self.conn.execute("LISTEN %s" % channel).statusmessage

    def readable(self, timeout):
        return bool(select.select([self.conn.fileno()], [], [], timeout)[0])

    def poll(self):
        """A round trip, which lets libpq hand over what arrived meanwhile."""
        self.conn.execute("SELECT 1")
        return self.got


def listener_pids():
    with direct() as d:
        return [r[0] for r in d.execute("SELECT pid FROM pg_stat_activity WHERE application_name = "
                                        "'faregate-listener' AND datname = %s", (DB,)).fetchall()]


def wait_for(cond, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def main():
    fgtest.recreate_db(DB)
    with direct(DB) as d:
        d.execute("CREATE EXTENSION faregate CASCADE")
        qid = d.execute("INSERT INTO faregate.queues (name) VALUES ('listen') RETURNING queue_id").fetchone()[0]
        d.execute("SET faregate.queue_notify = off")
        for i in range(8):
            d.execute("SELECT faregate.enqueue(%s, %s)", (qid, "T-%d" % i))
    channel = "faregate_queue_%d" % qid
    p = Pooler()
    try:
        # ordering: a NOTIFY sent right after the client saw its LISTEN complete reaches it, also for the
        # very first LISTEN (the listener connection is only made then) and for each new channel
        with direct(DB) as notifier:
            missed = []
            for i in range(10):
                first = Listener(p, "fg_order_%d" % i)
                notifier.execute("NOTIFY fg_order_%d, 'right after'" % i)
                if not wait_for(lambda: len(first.poll()) >= 1, 3):
                    missed.append(i)
                first.conn.close()
            ok(not missed, "a NOTIFY sent right after LISTEN completed is delivered (fresh listener and 9 "
               "new channels; missed: %s)" % missed)
        ok(wait_for(lambda: p.lists().get("listen_channels") == 0), "their channels are gone again")
        # LISTEN/UNLISTEN beyond a lone simple Query: transaction blocks, several statements, Parse/Bind/
        # Execute, UNLISTEN *; each checked by a NOTIFY sent on a direct connection right after the reply
        t = psycopg.connect(p.dsn(), autocommit=True)
        got = []
        t.add_notify_handler(lambda n: got.append(n.channel))

        def hears(channel, expect, wait=1.5):
            before = got.count(channel)
            with direct(DB) as d:
                d.execute('NOTIFY "%s"' % channel)
            end = time.time() + wait
            while time.time() < end and got.count(channel) < before + 1:
                t.execute("SELECT 1")
                time.sleep(0.05)
            if not expect:
                time.sleep(0.3)
                t.execute("SELECT 1")
            return got.count(channel) == before + (1 if expect else 0)

        t.execute("BEGIN")
        t.execute("LISTEN fg_tx_a")
        t.execute("COMMIT")
        ok(hears("fg_tx_a", True), "LISTEN inside BEGIN ... COMMIT takes effect at COMMIT", got)
        time.sleep(0.3)
        t.execute("SELECT 1")
        ok(got.count("fg_tx_a") == 1, "exactly one copy (the server's own LISTEN is not forwarded too)", got)
        t.execute("BEGIN")
        t.execute("LISTEN fg_tx_b")
        t.execute("ROLLBACK")
        ok(hears("fg_tx_b", False), "LISTEN inside BEGIN ... ROLLBACK is dropped", got)
        try:
            t.execute("LISTEN fg_tx_c; SELECT 1/0")
        except psycopg.Error:
            pass
        ok(hears("fg_tx_c", False), "LISTEN in a failed implicit transaction is dropped", got)
        t.execute("LISTEN fg_multi_a; SELECT 1; /* LISTEN fg_comment */ LISTEN \"Fg Multi;B\"")
        ok(hears("fg_multi_a", True) and hears("Fg Multi;B", True),
           "LISTEN a; SELECT; LISTEN \"quoted;\" in one simple Query: both channels", got)
        ok(hears("fg_comment", False), "a LISTEN inside a comment is not one", got)
        t.execute("LISTEN fg_ext_d", binary=True)
        ok(hears("fg_ext_d", True), "LISTEN by Parse/Bind/Execute (extended protocol)", got)
        t.execute("UNLISTEN fg_tx_a; SELECT 1", binary=False)
        ok(hears("fg_tx_a", False), "UNLISTEN in a multi-statement Query", got)
        t.execute("BEGIN")
        t.execute("UNLISTEN *")
        t.execute("COMMIT")
        ok(hears("fg_ext_d", False) and hears("fg_multi_a", False), "UNLISTEN * in a transaction block", got)
        ok(all(not t.execute("SELECT count(*) FROM pg_listening_channels()").fetchone()[0] for _ in range(6)),
           "the pool's server connections are not left LISTENing (UNLISTEN * on release)")
        t.close()
        ok(wait_for(lambda: p.lists().get("listen_channels") == 0), "no channel left")
        clients = [Listener(p, channel) for _ in range(3)]
        ok(all(c.status == "LISTEN" for c in clients), "LISTEN through the pooler answers CommandComplete LISTEN")
        ok(wait_for(lambda: len(listener_pids()) == 1), "one listener server connection for the database (%s)"
           % listener_pids())
        ok(p.lists().get("listen_channels") == 1, "SHOW LISTS listen_channels = 1")
        for c in clients:
            c.poll()  # their server connections are shared and released after each statement
        caller = psycopg.connect(p.dsn(), autocommit=True)
        entry = caller.execute("SELECT faregate.call_next(%s)", (qid,)).fetchone()[0]
        ok(clients[0].readable(5), "the notification is pushed to an idle client without a request")
        got = [wait_for(lambda c=c: len(c.poll()) >= 1) for c in clients]
        ok(all(got), "all 3 clients receive the call_next notification", [len(c.got) for c in clients])
        n = clients[0].got[0] if clients[0].got else None
        ok(n is not None and n.channel == channel and '"status" : "called"' in n.payload and
           ('"entry_id" : %d' % entry) in n.payload, "channel and payload as the extension sent them",
           n and (n.channel, n.payload))
        # a client inside a transaction gets it after its COMMIT, not in the middle of its replies
        with clients[1].conn.transaction():
            clients[1].conn.execute("SELECT 1")
            caller.execute("SELECT faregate.call_next(%s)", (qid,))
            time.sleep(0.3)
            clients[1].conn.execute("SELECT 2")
            inside = len(clients[1].got)
        ok(inside == 1 and wait_for(lambda: len(clients[1].poll()) == 2),
           "a client in a transaction gets the notification after its transaction (%d during, %d after)"
           % (inside, len(clients[1].got)))
        # UNLISTEN: client 3 stops getting them
        clients[2].conn.execute("UNLISTEN %s" % channel)
        before = len(clients[2].got)
        clients[0].poll()
        n0 = len(clients[0].got)
        caller.execute("SELECT faregate.call_next(%s)", (qid,))
        ok(wait_for(lambda: len(clients[0].poll()) > n0), "a listening client still gets the next one")
        time.sleep(0.2)
        ok(len(clients[2].poll()) == before, "UNLISTEN: the client gets no more notifications")
        # disconnects remove the channel
        for c in clients:
            c.conn.close()
        ok(wait_for(lambda: p.lists().get("listen_channels") == 0), "all listeners gone: channel removed "
           "(UNLISTEN on the listener connection)", p.lists())
        # listener connection loss
        clients = [Listener(p, channel) for _ in range(3)]
        ok(wait_for(lambda: len(listener_pids()) == 1), "listener connection up again for new LISTENs")
        old = listener_pids()
        with direct() as d:
            d.execute("SELECT pg_terminate_backend(%s)", (old[0],))
        ok(wait_for(lambda: len(listener_pids()) == 1 and listener_pids() != old),
           "after pg_terminate_backend the listener reconnects (pid %s -> %s)" % (old, listener_pids()))

        def relistened():
            with direct() as d:
                return d.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                 "'faregate-listener' AND datname = %s AND state = 'idle' AND query ILIKE "
                                 "%s", (DB, "%LISTEN%" + channel + "%")).fetchone()[0] == 1
        # the new listener's last statement is its LISTEN of the channel: then the channel is listened
        ok(wait_for(relistened), "the new listener connection LISTENs the channel again (pg_stat_activity)")
        caller.execute("SELECT faregate.call_next(%s)", (qid,))
        got = [wait_for(lambda c=c: len(c.poll()) >= 1) for c in clients]
        ok(all(got), "after the reconnect every channel is listened again: all 3 get the next notification")
        notices = [c.notices for c in clients]
        ok(all(any("may have been missed between" in m and channel in m for m in ns) for ns in notices),
           "each client got a notice naming the span in which notifications may have been missed",
           notices)
        for c in clients:
            c.conn.close()
        caller.close()
        log = open(os.path.join(p.dir, "pooler.log")).read()
        ok("listener %s: connection lost" % DB in log, "the loss is logged")
    finally:
        p.stop()
        with direct() as d:
            d.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB)
    p.finish()
    return fgtest.done_testing()


if __name__ == "__main__":
    sys.exit(main())
