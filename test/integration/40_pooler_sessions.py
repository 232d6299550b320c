#!/usr/bin/python3
"""40_pooler_sessions.py: faregate-pooler semantics with psycopg clients: session settings survive
transactions on other server connections; named prepared statements move with the client; cancel
reaches the right backend only; query_timeout, query_wait_timeout and idle_transaction_timeout;
pg_terminate_backend mid-query; a client killed mid-transaction leaves no open transaction.
Honours FG_POOLER_BIN (e.g. pooler/build-asan/faregate-pooler)."""
import os
import subprocess
import sys
import threading
import time

import psycopg
from psycopg import errors

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()


class Pooler(fgtest.Pooler):
    """The shared Pooler whose config is the common part plus LINES; write(lines) rewrites it (RELOAD)."""

    def __init__(self, lines):
        super().__init__(lambda p: p.text_of(lines))

    def text_of(self, lines):
        return (fgtest.pooler_databases(pool_size=3, extra_db_lines=[
            "tdb = host=%s port=%d dbname=postgres pool_size=1" % (HOST, PRIMARY)]) +
            "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % self.port +
            "admin_users = postgres\nlogfile = %s/pooler.log\n" % self.dir +
            "".join(line + "\n" for line in lines))

    def write(self, lines):
        super().write(lines if isinstance(lines, str) else self.text_of(lines))


def primary():
    return psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY), autocommit=True)


def one(conn, sql, params=None):
    return conn.execute(sql, params).fetchone()[0]


def backend_of(pid):
    """The backend_type of PID on the primary (None when no such backend)."""
    with primary() as d:
        row = d.execute("SELECT backend_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return row and row[0]


def wait_active(marker, n=1, timeout=30.0):
    """Waits until N queries containing MARKER are running on the primary; True when they were."""
    def running():
        with primary() as d:
            return one(d, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s "
                          "AND pid <> pg_backend_pid()", ("%" + marker + "%",)) >= n
    return bool(fgtest.wait_until(running, timeout))


def test_settings_follow_client(p):
    a = psycopg.connect(p.dsn(), autocommit=True)
    b = psycopg.connect(p.dsn(), autocommit=True)
    with primary() as d:
        d.execute("DROP SCHEMA IF EXISTS fg_sp CASCADE")
        d.execute("CREATE SCHEMA fg_sp")
        d.execute("CREATE TABLE fg_sp.marker AS SELECT 'from fg_sp'::text AS v")
    a.execute("SET search_path TO fg_sp, public")
    a.execute("SET TimeZone TO 'Asia/Tokyo'")
    a.execute("SET application_name TO 'client_a'")
    pid1 = one(a, "SELECT pg_backend_pid()")
    ok(backend_of(pid1) == "client backend", "the pid client a sees is a client backend on the primary",
       (pid1, backend_of(pid1)))
    # b holds the server a just used (the most recently used idle one) in a transaction
    b.execute("BEGIN")
    pid_b = one(b, "SELECT pg_backend_pid()")
    pid2 = one(a, "SELECT pg_backend_pid()")
    ok(pid2 != pid_b, "client a runs on another server while b holds one",
       "a=%s b=%s" % (pid2, pid_b))
    ok(one(a, "SHOW search_path") == "fg_sp, public", "SET search_path survives on another server connection")
    ok(one(a, "SELECT v FROM marker") == "from fg_sp", "… unqualified names resolve in that schema")
    ok(one(a, "SHOW TimeZone") == "Asia/Tokyo", "SET TimeZone survives on another server connection")
    ok(a.info.parameter_status("TimeZone") == "Asia/Tokyo", "the client's ParameterStatus says Asia/Tokyo")
    ok(one(a, "SHOW application_name") == "client_a", "application_name follows the client")
    ok(one(b, "SHOW search_path") == '"$user", public', "the other client keeps its own search_path")
    ok(one(b, "SHOW TimeZone") != "Asia/Tokyo", "… and its own TimeZone")
    b.execute("COMMIT")
    a.execute("RESET search_path")
    b.execute("BEGIN")
    ok(one(a, "SHOW search_path") == '"$user", public', "RESET search_path is followed too")
    b.execute("COMMIT")
    # SET through the extended protocol: unnamed (Parse/Bind/Execute) and as a named statement
    a.execute("SET search_path TO public, fg_sp", ())
    b.execute("BEGIN")
    b.execute("SELECT 1")
    ok(one(a, "SHOW search_path") == "public, fg_sp", "SET search_path via the extended protocol is followed")
    b.execute("COMMIT")
    a.execute("SET search_path TO fg_sp", prepare=True)
    b.execute("BEGIN")
    b.execute("SELECT 1")
    ok(one(a, "SHOW search_path") == "fg_sp", "… and as a named prepared statement")
    b.execute("COMMIT")
    a.close()
    b.close()


def test_prepared_move(p):
    a = psycopg.connect(p.dsn(), autocommit=True, prepare_threshold=0)
    b = psycopg.connect(p.dsn(), autocommit=True)
    c = psycopg.connect(p.dsn(), autocommit=True)
    pids = set()
    results = []
    for i in range(6):
        # occupy other servers in varying patterns so that a lands on different connections
        if i % 2:
            b.execute("BEGIN")
            b.execute("SELECT 1")
        if i % 3 == 0:
            c.execute("BEGIN")
            c.execute("SELECT 1")
        results.append(one(a, "SELECT %s::int * 2", (i,)))
        pids.add(one(a, "SELECT pg_backend_pid()"))
        if i % 2:
            b.execute("COMMIT")
        if i % 3 == 0:
            c.execute("COMMIT")
    ok(results == [0, 2, 4, 6, 8, 10], "a named prepared statement runs on every server it lands on", results)
    ok(len(pids) >= 2, "… and it did land on several (%d)" % len(pids))
    with a.cursor() as cur:
        try:
            cur.execute("SELECT %s::int / 0", (1,))
            ok(False, "an error in a prepared statement is reported")
        except errors.DivisionByZero:
            ok(True, "an error in a prepared statement is reported")
    ok(one(a, "SELECT %s::int + 1", (41,)) == 42, "the client goes on after the error")
    for conn in (a, b, c):
        conn.close()


def test_cancel(p):
    a = psycopg.connect(p.dsn(), autocommit=True)
    b = psycopg.connect(p.dsn(), autocommit=True)
    result = {}

    def run_b():
        t = time.time()
        try:
            b.execute("SELECT pg_sleep(6) /* fg_cancel_b */")
            result["b"] = ("done", time.time() - t)
        except psycopg.Error as e:
            result["b"] = ("error " + str(e), time.time() - t)

    def run_a():
        t = time.time()
        try:
            a.execute("SELECT pg_sleep(20) /* fg_cancel_a */")
            result["a"] = ("done", time.time() - t)
        except errors.QueryCanceled:
            result["a"] = ("canceled", time.time() - t)
        except psycopg.Error as e:
            result["a"] = ("error " + str(e), time.time() - t)

    tb = threading.Thread(target=run_b)
    ta = threading.Thread(target=run_a)
    tb.start()
    ta.start()
    ok(wait_active("fg_cancel_a") and wait_active("fg_cancel_b"), "both clients' queries run on the primary")
    a.cancel()
    ta.join(30)
    tb.join(30)
    # a's query sleeps 20 s: "canceled" is the cancel's doing whatever the time it took
    ok(result.get("a", ("",))[0] == "canceled", "cancel stops the client's own query", result.get("a"))
    fgtest.diag("the canceled query ended after %.2f s" % result.get("a", ("", -1))[1])
    ok(result.get("b", ("",))[0] == "done", "… and not the other client's", result.get("b"))
    ok(one(a, "SELECT 3") == 3, "the canceled client goes on")
    a.close()
    b.close()


def test_timeouts(p):
    p.write(["query_timeout = 1.5", "query_wait_timeout = 1", "idle_transaction_timeout = 1"])
    ok(p.reload(), "the pooler reloaded its configuration (SIGHUP)")
    # query_timeout
    a = psycopg.connect(p.dsn("tdb"), autocommit=True)
    t = time.time()
    try:
        a.execute("SELECT pg_sleep(4)")
        ok(False, "query_timeout stops a long query")
    except psycopg.Error as e:
        # libpq reports a FATAL error followed by the close without its SQLSTATE, exactly as it does when
        # PostgreSQL itself terminates a session: check the text (40_pooler_pgbench.sh checks the code)
        # the query sleeps 4 s and would end without an error: the error is query_timeout's doing
        ok("query_timeout" in str(e), "query_timeout stops a long query", "%s %s" % (e.sqlstate, e))
        fgtest.diag("query_timeout = 1.5 s ended the query after %.2f s" % (time.time() - t))
    a.close()
    b = psycopg.connect(p.dsn("tdb"), autocommit=True)
    ok(one(b, "SELECT 1") == 1, "the pool serves again after query_timeout")
    b.close()

    # query_wait_timeout: the only server of tdb is busy
    holder = psycopg.connect(p.dsn("tdb"), autocommit=True)
    # the holder's query outlasts query_wait_timeout (1 s) by far, however late the waiter comes
    th = threading.Thread(target=lambda: holder.execute("SELECT pg_sleep(6) /* fg_holder */"))
    th.start()
    ok(wait_active("fg_holder"), "the holder's query runs on tdb's only server")
    w = psycopg.connect(p.dsn("tdb"), autocommit=True)
    t = time.time()
    try:
        w.execute("SELECT 1")
        ok(False, "query_wait_timeout answers a waiting client")
    except psycopg.Error as e:
        ok("query_wait_timeout" in str(e), "query_wait_timeout answers a waiting client with an error",
           "%s %s" % (e.sqlstate, e))
        fgtest.diag("query_wait_timeout = 1 s answered after %.2f s" % (time.time() - t))
    th.join(30)
    holder.close()

    # idle_transaction_timeout
    z = psycopg.connect(p.dsn("tdb"))
    zpid = one(z, "SELECT pg_backend_pid()")  # opens a transaction (psycopg is not autocommit)

    def z_closed():
        with primary() as d:
            return one(d, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND state LIKE "
                          "'idle in transaction%%'", (zpid,)) == 0
    ok(fgtest.wait_until(z_closed, 30), "idle_transaction_timeout ends the server's transaction (waited up to 30 s)")
    try:
        z.execute("SELECT 2")
        ok(False, "idle_transaction_timeout closes an idle transaction")
    except psycopg.Error as e:
        ok(isinstance(e, psycopg.OperationalError), "idle_transaction_timeout closes an idle transaction",
           "%s %s" % (type(e), e))
    with primary() as d:
        n = one(d, "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                   "AND query = 'SELECT pg_backend_pid()'")
    ok(n == 0, "… and the server's transaction is gone", n)
    p.write([])
    ok(p.reload(), "the pooler reloaded its configuration (SIGHUP)")


def test_terminate(p):
    a = psycopg.connect(p.dsn(), autocommit=True)
    pid = one(a, "SELECT pg_backend_pid()")
    result = {}

    def run():
        try:
            a.execute("SELECT pg_sleep(10) /* victim */")
            result["a"] = "done"
        except psycopg.Error as e:
            result["a"] = e

    t = threading.Thread(target=run)
    t.start()
    ok(wait_active("victim"), "the victim's query runs on the primary")
    with primary() as d:
        killed = d.execute("SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
                           "'%%victim%%' AND pid <> pg_backend_pid()").fetchall()
    t.join(30)
    err = result.get("a")
    ok(killed == [(pid, True)], "pg_terminate_backend found the pooled backend the client ran on", (pid, killed))
    ok(isinstance(err, psycopg.Error) and "terminating connection due to administrator command" in str(err),
       "the client gets the server's FATAL error (57P01), as from PostgreSQL directly", repr(err))
    b = psycopg.connect(p.dsn(), autocommit=True)
    ok(one(b, "SELECT 11") == 11, "the pool reconnects")
    b.close()


def test_client_killed(p):
    with primary() as d:
        d.execute("DROP TABLE IF EXISTS fg_killed")
        d.execute("CREATE TABLE fg_killed(x int)")
    code = ("import psycopg,sys,os,time\n"
            "c=psycopg.connect(sys.argv[1])\n"
            "c.execute('INSERT INTO fg_killed VALUES (1)')\n"
            "print(c.execute('SELECT pg_backend_pid()').fetchone()[0], flush=True)\n"
            "time.sleep(30)\n")
    proc = subprocess.Popen(["/usr/bin/python3", "-c", code, p.dsn()], stdout=subprocess.PIPE, text=True)
    pid = int(proc.stdout.readline())
    with primary() as d:
        state = one(d, "SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
    ok(state == "idle in transaction", "the client's server is in its transaction", state)
    proc.kill()
    proc.wait()
    gone = False
    for _ in range(60):
        with primary() as d:
            n = one(d, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND state LIKE 'idle in transaction%%'",
                    (pid,))
        if n == 0:
            gone = True
            break
        time.sleep(0.05)
    ok(gone, "a client killed mid-transaction leaves no open transaction")
    with primary() as d:
        ok(one(d, "SELECT count(*) FROM fg_killed") == 0, "… and its uncommitted insert is gone")


def main():
    return fgtest.run_pooler_tests(Pooler([]), (test_settings_follow_client, test_prepared_move, test_cancel,
                                                 test_timeouts, test_terminate, test_client_killed))


if __name__ == "__main__":
    sys.exit(main())
