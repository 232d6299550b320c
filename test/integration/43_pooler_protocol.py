#!/usr/bin/python3
"""43_pooler_protocol.py: faregate-pooler answers a client exactly as PostgreSQL does, checked by running
the same libpq-level scenarios once directly against the primary and once through the pooler in
transaction mode (statements move between server connections): a syntax error in a named Parse comes
at that Parse; re-Parse of an existing name gives 42P05; SQL DEALLOCATE [ALL] of protocol-level names;
search_path / TimeZone set in a rolled-back transaction are not kept, SET LOCAL never, set_config()
is; SHOW POOLS counts cl_cancel_req / sv_used / sv_tested. Honours FG_POOLER_BIN (the ASan build)."""
import os
import socket
import sys
import threading
import time

import psycopg
from psycopg import pq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()


def Pooler(lines, port=PRIMARY, pool_size=3):
    return fgtest.Pooler(lambda p: "[databases]\npostgres = host=%s port=%d dbname=postgres pool_size=%d\n"
                         % (HOST, port, pool_size) +
                         "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\npool_mode = transaction\n" % p.port +
                         "admin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
                         "".join(line + "\n" for line in lines), prefix="faregate-pooler-proto.")


DIRECT = "host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY)


def describe(res):
    """A result as (status name, SQLSTATE, message, first value) for comparison."""
    st = pq.ExecStatus(res.status).name
    err = res.error_field(pq.DiagnosticField.SQLSTATE)
    msg = res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
    val = res.get_value(0, 0) if res.status == pq.ExecStatus.TUPLES_OK and res.ntuples else None
    return (st, err and err.decode(), msg and msg.decode(), val and val.decode())


def pipeline(c, steps):
    """Runs steps (callables on c) in pipeline mode followed by one Sync: every result, in order."""
    out = []
    c.enter_pipeline_mode()
    for step in steps:
        step(c)
    c.pipeline_sync()
    while True:
        c.consume_input()
        while c.is_busy():
            c.consume_input()
            time.sleep(0.001)
        res = c.get_result()
        if res is None:
            continue
        out.append(describe(res))
        if res.status == pq.ExecStatus.PIPELINE_SYNC:
            break
    c.exit_pipeline_mode()
    return out


def hold_others(dsn, n):
    """n connections that each hold a server in an open transaction (the pooler's client moves)."""
    held = []
    for _ in range(n):
        h = psycopg.connect(dsn)
        h.execute("SELECT 1")
        held.append(h)
    return held


def scenario_prepared(dsn):
    c = pq.PGconn.connect(dsn.encode())
    r = []
    r.append(("syntax error at Parse", describe(c.prepare(b"bad1", b"SELEC 1"))))
    r.append(("Bind of the rejected name", describe(c.exec_prepared(b"bad1", []))))
    r.append(("pipeline Parse(bad) Bind Execute Sync", pipeline(c, [
        lambda c: c.send_prepare(b"bad2", b"SELEC 2"),
        lambda c: c.send_query_prepared(b"bad2", [])])))
    r.append(("prepare s1", describe(c.prepare(b"s1", b"SELECT 1"))))
    r.append(("re-prepare s1", describe(c.prepare(b"s1", b"SELECT 2"))))
    r.append(("s1 still the first", describe(c.exec_prepared(b"s1", []))))
    r.append(("pipeline re-Parse skips to Sync", pipeline(c, [
        lambda c: c.send_prepare(b"s1", b"SELECT 3"),
        lambda c: c.send_query_prepared(b"s1", [])])))
    r.append(("BEGIN", describe(c.exec_(b"BEGIN"))))
    r.append(("re-prepare in a transaction", describe(c.prepare(b"s1", b"SELECT 4"))))
    r.append(("then the transaction is failed", describe(c.exec_(b"SELECT 1"))))
    r.append(("ROLLBACK", describe(c.exec_(b"ROLLBACK"))))
    r.append(("status after", c.transaction_status))
    r.append(("s1 after the rollback", describe(c.exec_prepared(b"s1", []))))
    # SQL DEALLOCATE of protocol-level names
    r.append(("prepare s2", describe(c.prepare(b"s2", b"SELECT 22"))))
    r.append(("s2 runs", describe(c.exec_prepared(b"s2", []))))
    r.append(("DEALLOCATE s2", describe(c.exec_(b"DEALLOCATE s2"))))
    r.append(("s2 gone", describe(c.exec_prepared(b"s2", []))))
    r.append(("the name is free again", describe(c.prepare(b"s2", b"SELECT 23"))))
    r.append(("new s2", describe(c.exec_prepared(b"s2", []))))
    r.append(("DEALLOCATE unknown", describe(c.exec_(b"DEALLOCATE nosuch"))))
    r.append(("BEGIN 2", describe(c.exec_(b"BEGIN"))))
    r.append(("DEALLOCATE PREPARE in a transaction", describe(c.exec_(b"DEALLOCATE PREPARE s2"))))
    r.append(("s2 gone in the transaction", describe(c.exec_prepared(b"s2", []))))
    r.append(("ROLLBACK 2", describe(c.exec_(b"ROLLBACK"))))
    r.append(("prepare s3, s4", (describe(c.prepare(b"s3", b"SELECT 3")), describe(c.prepare(b"s4", b"SELECT 4")))))
    r.append(("DEALLOCATE ALL", describe(c.exec_(b"DEALLOCATE ALL"))))
    r.append(("s1 gone", describe(c.exec_prepared(b"s1", []))))
    r.append(("s4 gone", describe(c.exec_prepared(b"s4", []))))
    r.append(("prepare s4 again", describe(c.prepare(b"s4", b"SELECT 44"))))
    r.append(("BEGIN 3", describe(c.exec_(b"BEGIN"))))
    r.append(("DEALLOCATE ALL in a transaction", describe(c.exec_(b"DEALLOCATE ALL"))))
    r.append(("s4 gone in the transaction", describe(c.exec_prepared(b"s4", []))))
    r.append(("ROLLBACK 3", describe(c.exec_(b"ROLLBACK"))))
    r.append(("s4 still gone", describe(c.exec_prepared(b"s4", []))))
    c.finish()
    return r


def compare(title, direct, pooled):
    for (name, want), (_, got) in zip(direct, pooled):
        ok(want == got, "%s: %s as PostgreSQL" % (title, name), "PostgreSQL: %r\npooler:     %r" % (want, got))


def test_prepared(p):
    direct = scenario_prepared(DIRECT)
    ok(direct[0][1][1] == "42601" and direct[4][1][1] == "42P05", "the direct run shows 42601 and 42P05",
       direct[:5])
    held = hold_others(p.dsn(), 1)  # the pooled run may take any of the other servers
    pooled = scenario_prepared(p.dsn())
    for h in held:
        h.close()
    compare("prepared", direct, pooled)
    # the pooler-wide statement of a body another client prepared is reused; a name still errors
    a = pq.PGconn.connect(p.dsn().encode())
    b = pq.PGconn.connect(p.dsn().encode())
    ok(describe(a.prepare(b"shared", b"SELECT 7"))[0] == "COMMAND_OK", "client a prepares a body")
    ok(describe(b.prepare(b"mine", b"SELECT 7"))[0] == "COMMAND_OK", "client b prepares the same body")
    ok(describe(b.exec_prepared(b"mine", []))[3] == "7", "… and runs it")
    ok(describe(b.prepare(b"mine", b"SELECT 7"))[1] == "42P05", "… and cannot prepare the same name twice")
    a.finish()
    b.finish()


def one(conn, sql):
    return conn.execute(sql).fetchone()[0]


def settings_scenario(dsn, other):
    """Settings through transactions; other(conn) makes the next statement run on another server."""
    a = psycopg.connect(dsn, autocommit=True)
    r = []
    a.execute("BEGIN")
    a.execute("SET search_path TO fg_rb, public")
    a.execute("SET TimeZone TO 'Asia/Tokyo'")
    a.execute("ROLLBACK")
    other(a)
    r.append(("search_path after a rolled-back SET", one(a, "SHOW search_path")))
    r.append(("TimeZone after a rolled-back SET", one(a, "SHOW TimeZone")))
    r.append(("TimeZone reported", a.info.parameter_status("TimeZone")))
    a.execute("BEGIN")
    a.execute("SET LOCAL search_path TO fg_local")
    a.execute("COMMIT")
    other(a)
    r.append(("search_path after SET LOCAL", one(a, "SHOW search_path")))
    a.execute("SELECT set_config('search_path', 'fg_sc, public', false)")
    other(a)
    r.append(("search_path after set_config", one(a, "SHOW search_path")))
    a.execute("BEGIN")
    a.execute("SELECT set_config('search_path', 'fg_local2', true)")
    a.execute("COMMIT")
    other(a)
    r.append(("search_path after set_config(…, true)", one(a, "SHOW search_path")))
    a.execute("BEGIN")
    a.execute("SET search_path TO fg_commit")
    a.execute("COMMIT")
    other(a)
    r.append(("search_path after a committed SET", one(a, "SHOW search_path")))
    a.execute("BEGIN")
    a.execute("SET search_path TO fg_failed")
    try:
        a.execute("SELECT 1/0")
    except psycopg.Error:
        pass
    a.execute("COMMIT")
    other(a)
    r.append(("search_path after a failed transaction", one(a, "SHOW search_path")))
    a.execute("BEGIN")
    a.execute("SET search_path TO fg_before")
    a.execute("SAVEPOINT s")
    a.execute("SET search_path TO fg_after")
    a.execute("RELEASE s")
    a.execute("COMMIT")
    other(a)
    r.append(("search_path after RELEASE SAVEPOINT", one(a, "SHOW search_path")))
    a.close()
    return r


def test_settings(p):
    direct = settings_scenario(DIRECT, lambda a: None)
    ok(direct[0][1] == '"$user", public', "direct: a rolled-back SET search_path is gone", direct[0])

    def other(a):
        # b takes the server a just used (the most recently used idle one) and holds it
        other.held.append(psycopg.connect(p.dsn()))
        other.held[-1].execute("SELECT 1")
        if len(other.held) > 1:
            other.held.pop(0).close()
    other.held = []
    pooled = settings_scenario(p.dsn(), other)
    for h in other.held:
        h.close()
    compare("settings", direct, pooled)


class CancelDelayProxy:
    """TCP proxy to the primary that holds every CancelRequest for `delay` seconds before passing it on
    (so that SHOW POOLS can see a cancel in flight); other connections are forwarded as they are."""
    def __init__(self, delay):
        self.delay = delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve(self, c):
        first = b""
        while len(first) < 8:
            data = c.recv(8 - len(first))
            if not data:
                c.close()
                return
            first += data
        u = socket.create_connection((HOST, PRIMARY))
        if first[4:8] == (80877102).to_bytes(4, "big"):
            time.sleep(self.delay)
        u.sendall(first)
        threading.Thread(target=self.pump, args=(u, c), daemon=True).start()
        self.pump(c, u)


def show_pools(p):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as a:
        cur = a.execute("SHOW POOLS")
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    return [r for r in rows if r["database"] == "postgres"][0]


def wait_for(p, cond, timeout=30):
    deadline = time.time() + timeout
    while True:
        row = show_pools(p)
        if cond(row) or time.time() > deadline:
            return row
        time.sleep(0.05)


def test_show_pools():
    proxy = CancelDelayProxy(2.0)
    # pool_size 1: while the only server runs server_check_query the client must wait. With a larger pool
    # the pooler opens a second server meanwhile, and on a loaded machine the client may already have been
    # served by it when SHOW POOLS first sees sv_tested 1.
    p = Pooler(["server_check_delay = 1", "server_check_query = select pg_sleep(3)"], port=proxy.port,
               pool_size=1)
    try:
        c = psycopg.connect(p.dsn(), autocommit=True)
        released = time.time()
        one(c, "SELECT 1")
        row = show_pools(p)
        if time.time() - released < 1:
            ok(row["sv_idle"] == 1 and row["sv_used"] == 0, "a server just released is idle, not used", row)
        else:  # the machine took longer than server_check_delay: the server may already count as used
            ok(row["sv_idle"] + row["sv_used"] == 1, "a server just released is idle or used (SHOW took %.1f s)"
               % (time.time() - released), row)
        row = wait_for(p, lambda r: r["sv_used"] == 1)
        ok(row["sv_used"] == 1 and row["sv_idle"] == 0, "after server_check_delay it counts as sv_used", row)
        t = threading.Thread(target=lambda: one(c, "SELECT 2"))
        t.start()
        row = wait_for(p, lambda r: r["sv_tested"] == 1)
        ok(row["sv_tested"] == 1 and row["sv_used"] == 0 and row["cl_waiting"] == 1 and row["sv_active"] == 0,
           "while server_check_query runs: sv_tested 1, the client waits", row)
        t.join(10)
        row = wait_for(p, lambda r: r["sv_tested"] == 0)
        ok(row["sv_tested"] == 0 and row["sv_idle"] + row["sv_used"] >= 1 and row["sv_active"] == 0,
           "after the check and the query: idle again", row)

        result = {}

        def slow():
            try:
                one(c, "SELECT pg_sleep(8)")
                result["err"] = None
            except psycopg.Error as e:
                result["err"] = e.sqlstate
        t = threading.Thread(target=slow)
        t.start()
        wait_for(p, lambda r: r["sv_active"] == 1)

        def slow_running():
            with fgtest.primary_connect() as d:
                return d.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                                 "AND query = 'SELECT pg_sleep(8)'").fetchone()[0] == 1
        ok(fgtest.wait_until(slow_running, 30), "the slow query runs on the server")
        c.cancel()
        row = wait_for(p, lambda r: r["cl_active_cancel_req"] + r["cl_waiting_cancel_req"] == 1)
        ok(row["cl_active_cancel_req"] + row["cl_waiting_cancel_req"] == 1 and row["sv_active_cancel"] == 1
           and row["sv_being_canceled"] == 1, "a cancel in flight is counted (client, cancel connection, target)",
           row)
        t.join(15)
        ok(result.get("err") == "57014", "the cancel reached the query", result)
        row = wait_for(p, lambda r: r["sv_active_cancel"] == 0)
        ok(row["cl_active_cancel_req"] == 0 and row["sv_active_cancel"] == 0 and row["sv_being_canceled"] == 0,
           "the cancel done: cancel columns back to 0", row)
        c.close()
        ok(p.proc.poll() is None, "the pooler is still running")
    finally:
        p.stop()
    ok(p.sanitizer_clean(), "no sanitizer report (SHOW POOLS pooler)")
    p.finish()


def main():
    try:
        test_show_pools()
    except Exception as e:
        ok(False, "test_show_pools ran without an exception", repr(e))
    sys.exit(fgtest.run_pooler_tests(Pooler([]), (test_prepared, test_settings)))


main()
