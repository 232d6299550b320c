#!/usr/bin/python3
"""44_pooler_login_retry.py: clients wait through a short server outage, as PgBouncer's (issue 15;
docs/pooler.md "When the server is down"), on a primary of its own (it is stopped and started):
- a pooler whose pool never logged in, the primary down: a client waits (server_login_retry = 2) and is
  served once the primary is back, 1 s later; the log says the connect failed (PgBouncer's suite:
  test_server_login_retry);
- a pool that had servers, the primary stopped: a client waits and is served once it is back;
- while the logins keep failing, a new client is answered at once with "server login has been failing,
  try again later (server_login_retry)" and the last failure, 08006; the client that was waiting when the
  logins began to fail gets query_wait_timeout's error, naming the failure;
- a server that does not answer the login in server_connect_timeout: the log has "closing because:
  connect timeout", the client waits on and gets query_timeout's error (PgBouncer's suite:
  test_server_connect_timeout_establish);
- a login the server refuses (an unknown database; a role with servers in the pool that may no longer
  log in, PgBouncer's test_message): the client gets the server's own error at once, twice, not after a
  timeout, logged "server login failed: FATAL ..."; the same for a server password changed while the pool's
  only server, held by a transaction, is to be closed (RECONNECT): it does not count as usable; three
  clients on a pool of one get the refusal from one failed server login, not two (the failed login is
  not relaunched by its close).
Honours FG_POOLER_BIN."""
import os
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if not os.environ.get("FG_LOGIN_RETRY_OWN_CLUSTER"):
    os.environ["FG_LOGIN_RETRY_OWN_CLUSTER"] = "1"
    os.execv(os.path.join(TOP, "test/harness/cluster.sh"),
             ["cluster.sh", "--replicas", "0", "--", sys.executable, os.path.abspath(__file__)])

import psycopg  # noqa: E402

sys.path.insert(0, os.path.join(TOP, "test", "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
RUN_AS = os.environ.get("FG_RUN_AS", "").split()


def pg_ctl(*args):
    return subprocess.run(RUN_AS + [os.path.join(os.environ["FG_PG_BIN"], "pg_ctl"), "-D",
                                    os.environ["FG_PRIMARY_DATA"], "-w", "-t", "60"] + list(args),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          cwd=os.environ["FG_CLUSTER_DIR"])


def pg_stop():
    r = pg_ctl("-m", "fast", "stop")
    ok(r.returncode == 0, "the primary stopped", r.stderr)


def pg_start_after(seconds):
    """Starts the primary SECONDS from now, in a thread; the thread is returned (join it)."""
    def run():
        time.sleep(seconds)
        r = pg_ctl("-l", os.path.join(os.environ["FG_CLUSTER_DIR"], "primary-restart.log"), "start")
        if r.returncode != 0:
            print("# pg_ctl start failed: " + r.stderr)
    t = threading.Thread(target=run)
    t.start()
    return t


def Pooler(extra=""):
    return fgtest.Pooler(lambda p: fgtest.pooler_databases(pool_size=2, extra_db_lines=[
        "nodb = host=%s port=%d dbname=fg_no_such_database" % (HOST, PRIMARY),
        "pwdb = host=%s port=%d dbname=postgres user=scram_fg_pw password=pw-one" % (HOST, PRIMARY),
        "pwdb2 = host=%s port=%d dbname=postgres user=scram_fg_pw password=pw-one" % (HOST, PRIMARY)]) +
        "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
        "admin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
        "server_login_retry = 2\nquery_wait_timeout = 20\nserver_connect_timeout = 10\n" + extra,
        prefix="faregate-login-retry.")


def select_one(p, db="postgres", timeout=30):
    """(value or None, error or None, seconds) of SELECT 1 on a new client."""
    started = time.monotonic()
    try:
        with psycopg.connect(p.dsn(db), connect_timeout=timeout, autocommit=True) as c:
            return c.execute("SELECT 1").fetchone()[0], None, time.monotonic() - started
    except psycopg.Error as e:
        return None, e, time.monotonic() - started


def never_logged_in_case(_shared):
    pg_stop()
    p = Pooler()
    try:
        starter = pg_start_after(1)
        value, err, took = select_one(p)
        starter.join(90)
        ok(value == 1, "a pool that never logged in, the primary down: the client waits and is served once it "
           "is back (%.2f s)" % took, repr(err))
        ok(took >= 0.9, "... after the primary came back, 1 s later (%.2f s)" % took)
        ok("connect failed" in p.text("pooler.log") or "Connection refused" in p.text("pooler.log"),
           "the log says the connect failed")
    finally:
        p.stop()
    p.finish()


def outage_case(p):
    value, err, _ = select_one(p)
    ok(value == 1, "the pool has servers", repr(err))
    pg_stop()
    starter = pg_start_after(2)
    value, err, took = select_one(p)
    starter.join(90)
    ok(value == 1 and took >= 1.5, "the primary stopped: a client waits through the outage and is served once "
       "it is back (%.2f s)" % took, repr(err))


def failing_case(p):
    pg_stop()
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        admin.execute("SET query_wait_timeout = 4")
    try:
        refused = p.text("pooler.log").count("Connection refused")
        first = {}

        def waiter():
            first["value"], first["err"], first["took"] = select_one(p)
        t = threading.Thread(target=waiter)
        t.start()
        fgtest.wait_until(lambda: p.text("pooler.log").count("Connection refused") > refused, 10)
        time.sleep(0.5)
        value, err, took = select_one(p)
        ok(value is None and err is not None and
           "server login has been failing, try again later (server_login_retry)" in str(err) and
           "Connection refused" in str(err) and err.sqlstate in (None, "08006") and took < 2,
           "the logins failing: a new client is answered at once (%.2f s), 08006, naming the failure" % took,
           "%s %r" % (getattr(err, "sqlstate", None), err))
        t.join(30)
        ok(first.get("value") is None and "query_wait_timeout" in str(first.get("err")) and
           "Connection refused" in str(first.get("err")) and 3.5 < first.get("took", 0) < 15,
           "... the client that was waiting gets query_wait_timeout's error naming it (%.2f s)" %
           first.get("took", 0), repr(first.get("err")))
    finally:
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
            admin.execute("SET query_wait_timeout = 20")
        r = pg_ctl("-l", os.path.join(os.environ["FG_CLUSTER_DIR"], "primary-restart.log"), "start")
        ok(r.returncode == 0, "the primary started again", r.stderr)
    # the next client after server_login_retry starts the attempt that ends the failing state
    ok(fgtest.wait_until(lambda: select_one(p, timeout=5)[0] == 1, 20, interval=0.5),
       "once the primary is back, clients are served again")


def connect_timeout_case(_shared):
    with fgtest.primary_connect() as c:
        c.execute("ALTER SYSTEM SET pre_auth_delay = '5s'")
        c.execute("SELECT pg_reload_conf()")
    p = Pooler("query_timeout = 3\n")
    try:
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
            admin.execute("SET server_connect_timeout = 2")
        value, err, took = select_one(p)
        ok(value is None and err is not None and "query_timeout" in str(err) and 2.5 < took < 10,
           "a login slower than server_connect_timeout (2 s): the client waits on to query_timeout (3 s) and "
           "gets its error (%.2f s)" % took, repr(err))
        ok("closing because: connect timeout" in p.text("pooler.log"),
           "the log says 'closing because: connect timeout'")
    finally:
        p.stop()
        with fgtest.primary_connect() as c:
            c.execute("ALTER SYSTEM RESET pre_auth_delay")
            c.execute("SELECT pg_reload_conf()")
    p.finish()


def definitive_case(p):
    value, err, took = select_one(p, "nodb")
    ok(value is None and err is not None and 'database "fg_no_such_database" does not exist' in str(err) and
       took < 5, "an unknown database: the server's own error at once (%.2f s)" % took, repr(err))
    ok('server login failed: FATAL database "fg_no_such_database" does not exist' in p.text("pooler.log"),
       "... logged 'server login failed: FATAL …' (PgBouncer's words)")


def nologin_case(p):
    """A pool with servers whose role may no longer log in (PgBouncer's suite: test_message)."""
    with fgtest.primary_connect() as c:
        c.execute("DROP ROLE IF EXISTS fg_nologin")
        c.execute("CREATE ROLE fg_nologin LOGIN")
    try:
        with psycopg.connect(p.dsn("postgres", user="fg_nologin"), autocommit=True) as c:
            c.execute("SELECT 1")
        with fgtest.primary_connect() as c:
            c.execute("ALTER ROLE fg_nologin NOLOGIN")
            c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'fg_nologin'")

        # at once, as PgBouncer's test does: the terminated backend's idle server must be gone at its
        # FATAL (it exits some ms later), not handed to this client
        for attempt in (1, 2):
            started = time.monotonic()
            try:
                with psycopg.connect(p.dsn("postgres", user="fg_nologin"), connect_timeout=20, autocommit=True) as c:
                    c.execute("SELECT 1")
                err = None
            except psycopg.Error as e:
                err = e
            took = time.monotonic() - started
            ok(err is not None and "is not permitted to log in" in str(err) and took < 3,
               "a role that may no longer log in (attempt %d): the server's error at once (%.2f s)" % (attempt, took),
               repr(err))
    finally:
        with fgtest.primary_connect() as c:
            c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'fg_nologin'")


def password_changed_case(p):
    """The server password changed while a transaction holds the pool's only (then RECONNECTed) server:
    the waiting client gets the server's refusal at once (PgBouncer's test_change_server_password_reconnect)."""
    with fgtest.primary_connect() as c:
        c.execute("DROP ROLE IF EXISTS scram_fg_pw")
        c.execute("SET password_encryption = 'scram-sha-256'")
        c.execute("CREATE ROLE scram_fg_pw LOGIN PASSWORD 'pw-one' IN ROLE scram_users")
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        admin.execute("SET default_pool_size = 1")
    try:
        ok(select_one(p, "pwdb2")[0] == 1, "pwdb2 has logged in once (its clients get the welcome at once)")
        holder = psycopg.connect(p.dsn("pwdb"))
        holder.execute("SELECT 1")          # holds the only server in its transaction
        with fgtest.primary_connect() as c:
            c.execute("ALTER ROLE scram_fg_pw PASSWORD 'pw-two'")
        box = {}

        def waiter():
            box["value"], box["err"], box["took"] = select_one(p, "pwdb")
        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.5)
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
            admin.execute("RECONNECT pwdb")
            admin.execute("SET default_pool_size = 2")   # a new server: its login fails
        t.join(30)
        ok(box.get("value") is None and "password authentication failed" in str(box.get("err")) and
           box.get("took", 99) < 5, "a server password changed under a RECONNECTed pool: the waiting client gets "
           "the refusal at once (%.2f s), the held server to be closed does not count" % box.get("took", 99),
           repr(box.get("err")))
        holder.close()
        # three clients at once on a pool of one whose server is gone: one failed server login answers all
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
            admin.execute("SET default_pool_size = 1")
            admin.execute("RECONNECT pwdb2")
        fgtest.wait_until(lambda: not [r for r in psycopg.connect(p.dsn("faregate"), autocommit=True)
                                       .execute("SHOW SERVERS").fetchall() if r[2] == "pwdb2"], 5)
        results = []
        threads = [threading.Thread(target=lambda: results.append(select_one(p, "pwdb2"))) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        failed = p.text("pooler.log").count("pwdb2/scram_fg_pw: server login failed")
        ok(len(results) == 3 and all(r[0] is None and "password authentication failed" in str(r[1]) for r in results)
           and failed == 1, "three clients on a pool of one, the password wrong: all three get the refusal from one "
           "server login (%d logged)" % failed, results)
    finally:
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
            admin.execute("SET default_pool_size = 20")


def main():
    sys.exit(fgtest.run_pooler_tests(Pooler(), [never_logged_in_case, outage_case, failing_case, definitive_case,
                                                nologin_case, password_changed_case, connect_timeout_case]))


main()
