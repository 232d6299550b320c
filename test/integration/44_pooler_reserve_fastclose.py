#!/usr/bin/python3
"""44_pooler_reserve_fastclose.py: seven PgBouncer behaviours its users (and its test suite) look for
(issue 15; docs/pooler.md):
- min_pool_size on a [databases] line with a forced user: its connections open at start-up, before any
  client (a line without a forced user gets its pool at the first client, as in PgBouncer);
- reserve_pool_size / reserve_pool_timeout: with 6 clients sleeping on a pool of 2 (reserve 2, timeout
  1 s) the server has 2 backends of the pool at first and 4 once the wait passed the timeout; each
  reserve connection is logged "taking connection from reserve_pool";
- server_fast_close = 1: after RECONNECT, a session-mode client between transactions loses its server
  (and its connection) at once, logged "closing because: database configuration changed"; with 0 it
  keeps its session to its end;
- query_wait_notify: a client waiting longer for a server gets PgBouncer 1.25's NOTICE, once per wait;
- server_check_query's default "<empty>" (1.25's): a server reused after server_check_delay passes its
  empty-query check and keeps its backend;
- server_lifetime = 0: a server connection is used once, then closed (PgBouncer's meaning);
- a pool of the "*" entry is logged "registered new auto-database" once per database.
Honours FG_POOLER_BIN."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

import psycopg  # noqa: E402

HOST = fgtest.HOST
PORT = fgtest.primary_port()


def config(p):
    return ("[databases]\n"
            "resdb = host=%s port=%d dbname=fg_reserve pool_size=2 reserve_pool_size=2\n" % (HOST, PORT) +
            "sessdb = host=%s port=%d dbname=postgres pool_mode=session\n" % (HOST, PORT) +
            "onedb = host=%s port=%d dbname=postgres pool_size=1\n" % (HOST, PORT) +
            "oncedb = host=%s port=%d dbname=postgres pool_size=1 server_lifetime=0\n" % (HOST, PORT) +
            "warmdb = host=%s port=%d dbname=fg_warm user=postgres min_pool_size=2\n" % (HOST, PORT) +
            "colddb = host=%s port=%d dbname=fg_cold min_pool_size=2\n" % (HOST, PORT) +
            "* = host=%s port=%d dbname=postgres\n" % (HOST, PORT) +
            "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "admin_users = postgres\nlogfile = %s/pooler.log\nreserve_pool_timeout = 1\n" % p.dir +
            "query_wait_timeout = 30\n")


def backends(db):
    with fgtest.primary_connect() as c:
        return c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (db,)).fetchone()[0]


def reserve_case(p):
    errors = []

    def sleeper():
        try:
            with p.connect("resdb", connect_timeout=20) as c:
                c.execute("SELECT pg_sleep(4)")
        except psycopg.Error as e:
            errors.append(str(e))
    threads = [threading.Thread(target=sleeper) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.6)
    early = backends("fg_reserve")
    time.sleep(2.4)
    late = backends("fg_reserve")
    for t in threads:
        t.join(30)
    ok(early == 2, "reserve: at first the pool has its pool_size (2) backends: %d" % early)
    ok(late == 4, "reserve: once the first waiting client waited reserve_pool_timeout (1 s), 2 more: %d" % late)
    ok(not errors, "reserve: every sleeper finished", errors[:3])
    n = p.text("pooler.log").count("taking connection from reserve_pool")
    ok(n == 2, "reserve: each reserve connection is logged 'taking connection from reserve_pool' (%d)" % n)


def fast_close_once(p, fast):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        admin.execute("SET server_fast_close = %d" % fast)
    c = psycopg.connect(p.dsn("sessdb"), autocommit=True)
    try:
        c.execute("SELECT 1")
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
            admin.execute("RECONNECT sessdb")
        time.sleep(1)
        try:
            c.execute("SELECT 1")
            return None
        except psycopg.Error as e:
            return str(e)
    finally:
        c.close()


def fast_close_case(p):
    err = fast_close_once(p, 0)
    ok(err is None, "server_fast_close = 0: after RECONNECT a session client keeps its server until it leaves", err)
    err = fast_close_once(p, 1)
    ok(err is not None and "server_fast_close" in err,
       "server_fast_close = 1: after RECONNECT the session client between transactions is disconnected", err)
    ok("closing because: database configuration changed" in p.text("pooler.log"),
       "... logged 'closing because: database configuration changed'")
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        admin.execute("SET server_fast_close = 0")


def wait_notify_case(p):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        admin.execute("SET query_wait_notify = 1")
    notices = []
    holder = psycopg.connect(p.dsn("onedb"))
    try:
        holder.execute("SELECT 1")      # holds onedb's only server in its transaction
        waiter = psycopg.connect(p.dsn("onedb"), autocommit=True)
        waiter.add_notice_handler(lambda d: notices.append(d.message_primary))
        timer = threading.Timer(2.5, holder.rollback)
        timer.start()
        waiter.execute("SELECT 1")
        timer.join()
        ok(notices == ["No server connection available in postgres backend, client being queued"],
           "query_wait_notify = 1: a client waiting 2.5 s gets PgBouncer's NOTICE, once", notices)
        waiter.execute("SELECT 1")
        ok(len(notices) == 1, "... and none for a request that did not wait", notices)
        waiter.close()
    finally:
        holder.close()
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
            admin.execute("SET query_wait_notify = 5")


def min_pool_case(p):
    ok(fgtest.wait_until(lambda: backends("fg_warm") == 2, 10),
       "min_pool_size on a line with a forced user: its 2 connections open before any client (%d)" %
       backends("fg_warm"))
    ok(backends("fg_cold") == 0, "... and none for a line without one (no pool before a client)")


def check_query_case(p):
    """server_check_query's default "<empty>" (PgBouncer 1.25's) checks with an empty query."""
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        shown = {r[0]: r[1] for r in admin.execute("SHOW CONFIG").fetchall()}
        admin.execute("SET server_check_delay = 0")
    try:
        pids = []
        for _ in range(3):
            with psycopg.connect(p.dsn("onedb"), autocommit=True) as c:
                pids.append(c.execute("SELECT pg_backend_pid()").fetchone()[0])
        ok(shown.get("server_check_query") == "<empty>" and len(set(pids)) == 1,
           "server_check_query <empty> (the default): every reuse is checked with an empty query and the "
           "server passes (same backend %s)" % pids, shown.get("server_check_query"))
    finally:
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
            admin.execute("SET server_check_delay = 30")


def lifetime_zero_case(p):
    """server_lifetime = 0 is PgBouncer's "used only once, then closed", not "no limit"."""
    pids = []
    for _ in range(3):
        with p.connect("oncedb") as c:
            pids.append(c.execute("SELECT pg_backend_pid()").fetchone()[0])
    ok(len(set(pids)) == 3, "server_lifetime = 0: each client gets a new server connection (backends %s)" % pids)
    ok(fgtest.wait_until(lambda: "server_lifetime reached" in p.text("pooler.log"), 5),
       "... each closed after its use, logged 'server_lifetime reached'")


def autodb_case(p):
    for _ in range(2):
        with p.connect("fg_auto_one") as c:
            c.execute("SELECT 1")
    with p.connect("fg_auto_two") as c:
        c.execute("SELECT 1")
    log = p.text("pooler.log")
    ok(log.count("registered new auto-database: fg_auto_one") == 1 and
       log.count("registered new auto-database: fg_auto_two") == 1,
       "a \"*\" pool is logged 'registered new auto-database' once per database")
    ok("registered new auto-database: resdb" not in log, "... and a [databases] entry's pool is not")


def main():
    for name in ("fg_reserve", "fg_warm", "fg_cold"):
        fgtest.recreate_db(name)
    sys.exit(fgtest.run_pooler_tests(fgtest.Pooler(config, prefix="faregate-reserve."),
                                     [min_pool_case, reserve_case, fast_close_case, wait_notify_case, check_query_case, lifetime_zero_case,
                                      autodb_case]))


main()
