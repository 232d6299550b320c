#!/usr/bin/python3
"""40_pooler_startup_params.py: startup parameters the pooler does not track, and
ignore_startup_parameters with PgBouncer's meaning (session.c, docs/pooler.md "Session parameters and
session state"), through real drivers: psycopg (libpq: sends no extra parameter), asyncpg
(client_encoding, plus its server_settings) and pgJDBC (extra_float_digits, DateStyle, TimeZone ...).

- by default (ignore_startup_parameters = extra_float_digits) JDBC, asyncpg and psycopg log in;
  extra_float_digits is ignored (the server's default stays), in the packet and in options=-c;
- an unknown startup parameter (asyncpg server_settings={'enable_seqscan': 'off'}) is refused with
  08P01 "unsupported startup parameter: enable_seqscan", never dropped;
- one in track_extra_parameters is applied, for that client only (pool of one server connection);
- listed in ignore_startup_parameters (SET on the admin console, names without case): ignored;
- "options" listed: unknown -c settings inside options are ignored, tracked ones still applied;
- an empty list: JDBC is refused naming extra_float_digits (PgBouncer's behaviour);
- _pq_. protocol extensions are never refused; the admin console takes any parameter;
- with the default track_extra_parameters (IntervalStyle, extra_float_digits): a client's
  extra_float_digits (startup, options, SET) is applied and followed, for that client only, and its SET
  does not pin it; pgJDBC without assumeMinServerVersion gets its 3.
Honours FG_POOLER_BIN.
"""
import asyncio
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, skip, diag  # noqa: E402

import psycopg  # noqa: E402

try:
    import asyncpg
except ImportError:  # test/harness/deps.sh installs python3-asyncpg
    asyncpg = None

JDBC_JAR = "/usr/share/java/postgresql.jar"  # libpostgresql-jdbc-java
JAVA_SRC = r"""
import java.sql.*;
public class FgJdbc {
    public static void main(String[] a) throws Exception {
        try (Connection c = DriverManager.getConnection(a[0], "postgres", "")) {
            try (ResultSet r = c.createStatement().executeQuery(a[1])) { r.next(); System.out.println("OK " + r.getString(1)); }
        } catch (SQLException e) {
            System.out.println("ERR " + e.getSQLState() + " " + e.getMessage());
        }
    }
}
"""


def config(p):
    return (fgtest.pooler_databases(pool_size=1) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "auth_type = trust\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
            "track_extra_parameters = statement_timeout\n")


def admin(p, sql):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as c:
        c.execute(sql)


def one(conn, sql):
    return conn.execute(sql).fetchone()[0]


def apg(p, query, **settings):
    """asyncpg: ("ok", value of QUERY) or ("error", sqlstate, message), server_settings=SETTINGS."""
    async def run():
        try:
            c = await asyncpg.connect(host="127.0.0.1", port=p.port, user="postgres", database="postgres",
                                      server_settings=settings or None, timeout=30)
        except asyncpg.PostgresError as e:
            return ("error", e.sqlstate, str(e))
        try:
            return ("ok", await c.fetchval(query))
        finally:
            await c.close()
    return asyncio.run(run())


class Jdbc:
    """Compiles the small JDBC program once; run(port, query) gives its one line of output."""
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="faregate-jdbc.")
        with open(os.path.join(self.dir, "FgJdbc.java"), "w") as f:
            f.write(JAVA_SRC)
        r = subprocess.run(["javac", "-cp", JDBC_JAR, "-d", self.dir, os.path.join(self.dir, "FgJdbc.java")],
                           capture_output=True, text=True, timeout=300)
        self.ready = r.returncode == 0
        self.why = r.stderr

    def run(self, port, query, url_extra=""):
        url = "jdbc:postgresql://127.0.0.1:%d/postgres?sslmode=disable%s" % (port, url_extra)
        r = subprocess.run(["java", "-cp", "%s:%s" % (JDBC_JAR, self.dir), "FgJdbc", url, query],
                           capture_output=True, text=True, timeout=300)
        return r.stdout.strip() or r.stderr.strip()

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def raw_login(port, params, db="postgres"):
    """Startup packet with extra PARAMS (name, value) pairs: "ok" or the ErrorResponse's (code, message)."""
    body = struct.pack("!I", 196608) + fgtest.cstr("user") + fgtest.cstr("postgres")
    body += fgtest.cstr("database") + fgtest.cstr(db)
    for k, v in params:
        body += fgtest.cstr(k) + fgtest.cstr(v)
    body += b"\0"
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(struct.pack("!I", len(body) + 4) + body)
        while True:
            t, b = fgtest.recv_msg(s)
            if t is None:
                return "closed"
            if t == b"Z":
                return "ok"
            if t == b"E":
                f = dict((x[:1], x[1:].decode()) for x in b.split(b"\0") if x)
                return (f.get(b"C"), f.get(b"M"))
    finally:
        s.close()


def psycopg_case(p):
    with p.connect() as c:
        ok(one(c, "SELECT 1") == 1, "psycopg (no extra startup parameter) logs in")
    with p.connect(options="'-c extra_float_digits=2'") as c:
        ok(one(c, "SHOW extra_float_digits") == "1",
           "options -c extra_float_digits=2 is ignored by default (listed in ignore_startup_parameters)")
    try:
        psycopg.connect(p.dsn(options="'-c enable_seqscan=off'"), autocommit=True).close()
        ok(False, "options -c enable_seqscan=off is refused")
    except psycopg.OperationalError as e:
        ok("unsupported startup parameter in options: enable_seqscan" in str(e),
           "options -c enable_seqscan=off is refused, naming it", str(e))


def asyncpg_case(p):
    if asyncpg is None:
        skip("python3-asyncpg is not installed")
        return
    r = apg(p, "SELECT current_setting('client_encoding')")
    ok(r == ("ok", "UTF8"), "asyncpg (client_encoding in the startup packet) logs in", r)
    r = apg(p, "SHOW extra_float_digits", extra_float_digits="3")
    ok(r == ("ok", "1"), "asyncpg with extra_float_digits=3: logs in, the parameter is ignored", r)
    r = apg(p, "SELECT 1", enable_seqscan="off")
    ok(r[0] == "error" and r[1] == "08P01" and "unsupported startup parameter: enable_seqscan" in r[2],
       "asyncpg with enable_seqscan=off: refused with 08P01 naming it (never dropped)", r)
    r = apg(p, "SHOW statement_timeout", statement_timeout="4s")
    ok(r == ("ok", "4s"), "a startup parameter in track_extra_parameters is applied", r)
    r = apg(p, "SHOW statement_timeout")
    ok(r == ("ok", "0"), "... for that client only: the next one on the same server connection has the default", r)

    admin(p, "SET ignore_startup_parameters = 'extra_float_digits, Enable_SeqScan'")
    r = apg(p, "SHOW enable_seqscan", enable_seqscan="off")
    ok(r == ("ok", "on"), "listed in ignore_startup_parameters (any case): logs in, the parameter is ignored", r)
    r = raw_login(p.port, [("_pq_.fg_test", "1")])
    ok(r == "ok", "a _pq_. protocol extension parameter is not refused", r)
    r = raw_login(p.port, [("fg_unknown", "1")], db="faregate")
    ok(r == "ok", "the admin console takes an unknown startup parameter (it has no server session)", r)


def options_listed_case(p):
    admin(p, "SET ignore_startup_parameters = 'extra_float_digits, options'")
    with p.connect(options="'-c enable_seqscan=off -c work_mem=1MB'") as c:
        ok(one(c, "SHOW enable_seqscan") == "on" and one(c, "SHOW work_mem") == "4MB",
           "\"options\" listed: unknown -c settings inside options are ignored")
    with p.connect(options="'-ctimezone=Europe/Lisbon -c statement_timeout=3s'") as c:
        ok(one(c, "SHOW timezone") == "Europe/Lisbon" and one(c, "SHOW statement_timeout") == "3s",
           "\"options\" listed: tracked settings inside options are still applied")
    try:
        psycopg.connect(p.dsn(options="-d"), autocommit=True).close()
        ok(False, "\"options\" listed: a switch other than -c is still refused")
    except psycopg.OperationalError as e:
        ok("only '-c config=val'" in str(e), "\"options\" listed: a switch other than -c is still refused", str(e))
    if asyncpg is not None:
        r = apg(p, "SELECT 1", enable_seqscan="off")
        ok(r[0] == "error" and "enable_seqscan" in r[2],
           "\"options\" listed: a top-level unknown parameter is still refused", r)


def jdbc_case(p):
    if not (os.path.exists(JDBC_JAR) and shutil.which("javac")):
        skip("pgJDBC (libpostgresql-jdbc-java) or javac is not installed")
        return
    j = Jdbc()
    try:
        if not j.ready:
            ok(False, "the JDBC test program compiles", j.why)
            return
        admin(p, "SET ignore_startup_parameters = extra_float_digits")
        # assumeMinServerVersion=9.0: extra_float_digits=3 goes in the startup packet only; without it
        # pgJDBC sends 2 there and then runs SET extra_float_digits = 3 (an untracked SET: see docs)
        out = j.run(p.port, "SHOW extra_float_digits", "&assumeMinServerVersion=9.0")
        ok(out == "OK 1", "pgJDBC (extra_float_digits=3 in its startup packet) logs in; the parameter is "
           "ignored", out)
        out = j.run(p.port, "SHOW extra_float_digits")
        ok(out == "OK 3", "pgJDBC by default logs in (its own SET extra_float_digits = 3 then applies)", out)
        out = j.run(p.port, "SELECT 1.5::float8::text")
        ok(out == "OK 1.5", "pgJDBC runs a query", out)
        admin(p, "SET ignore_startup_parameters = ''")
        out = j.run(p.port, "SELECT 1")
        ok(out.startswith("ERR 08P01") and "unsupported startup parameter: extra_float_digits" in out,
           "with an empty ignore_startup_parameters pgJDBC is refused naming extra_float_digits (PgBouncer's "
           "behaviour)", out)
        with p.connect() as c:
            ok(one(c, "SELECT 1") == 1, "... while psycopg (no extra parameter) still logs in")
    finally:
        admin(p, "SET ignore_startup_parameters = extra_float_digits")
        j.close()


def default_config(p):
    return (fgtest.pooler_databases(pool_size=1) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "auth_type = trust\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir)


def sockport(conn):
    """The client-side port of CONN's socket (SHOW CLIENTS' port column)."""
    s = socket.socket(fileno=os.dup(conn.pgconn.socket))
    try:
        return s.getsockname()[1]
    finally:
        s.close()


def client_row(p, port):
    """SHOW CLIENTS row (as a dict) of the client connected from local port PORT."""
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as a:
        cur = a.execute("SHOW CLIENTS")
        names = [d.name for d in cur.description]
        for row in cur.fetchall():
            r = dict(zip(names, row))
            if r["port"] == port:
                return r
    return {}


def default_track_case(_unused):
    """extra_float_digits is in the default track_extra_parameters (one pooler of its own, pool size 1)."""
    p = fgtest.Pooler(default_config, prefix="faregate-startup-default.")
    try:
        with p.connect(options="'-c extra_float_digits=2'") as c:
            ok(one(c, "SHOW extra_float_digits") == "2",
               "default track list: options -c extra_float_digits=2 is applied (tracked wins over ignored)")
        with p.connect() as c:
            ok(one(c, "SHOW extra_float_digits") == "1",
               "... for that client only: the next one on the same server connection has the server's default")
        a = p.connect()
        b = p.connect()
        try:
            a.execute("SET extra_float_digits = 3")
            row = client_row(p, sockport(a))
            ok(row.get("pinned") == 0 and row.get("state_untracked_set") == 0,
               "SET extra_float_digits = 3 is tracked: the client is not pinned", row)
            ok(one(b, "SHOW extra_float_digits") == "1",
               "... another client on the one server connection sees the default, not A's 3")
            ok(one(a, "SHOW extra_float_digits") == "3", "... and A still sees its own 3")
        finally:
            a.close()
            b.close()
        if os.path.exists(JDBC_JAR) and shutil.which("javac"):
            j = Jdbc()
            try:
                out = j.run(p.port, "SHOW extra_float_digits") if j.ready else j.why
                ok(out == "OK 3", "pgJDBC by default: its SET extra_float_digits = 3 applies (tracked)", out)
            finally:
                j.close()
        else:
            skip("pgJDBC (libpostgresql-jdbc-java) or javac is not installed")
        ok(p.proc.poll() is None, "the default-config pooler is still running")
    finally:
        p.stop()
    ok(p.sanitizer_clean(), "no sanitizer report (default-config pooler)")
    p.finish()


def log_case(p):
    log = p.text("pooler.log")
    ok("unsupported startup parameter: enable_seqscan" in log, "the refusal is in the pooler's log")
    diag("refusals logged: %d" % log.count("unsupported startup parameter"))


def main():
    return fgtest.run_pooler_tests(fgtest.Pooler(config, prefix="faregate-startup-params."),
                                   [psycopg_case, asyncpg_case, options_listed_case, jdbc_case, log_case,
                                    default_track_case])


if __name__ == "__main__":
    sys.exit(main())
