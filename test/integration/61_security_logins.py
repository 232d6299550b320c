#!/usr/bin/python3
"""61_security_logins.py: logins in progress have their own cap, and admin_users keep reserved slots
(issue 20, finding 3). With max_client_conn = 10, max_login_clients = 40, admin_reserved_connections = 2:
- 400 silent sockets (never a byte) and 40 SCRAM-less md5 exchanges stalled after the startup packet,
  renewed while the test runs, do not keep real clients out: each real login (user fg_app, a normal
  database) completes, and so does the admin console;
- the pooler holds at most max_login_clients logins in progress (SHOW LISTS login_clients);
- max_client_conn = 10 fg_app clients are admitted (PgBouncer's meaning), the 11th is refused with 53300
  naming max_client_conn, while the admin console (admin_users, 2 reserved slots beyond it) still gets in.
Bounded: at most 500 sockets, 120 s. Honours FG_POOLER_BIN."""
import os
import socket
import sys
import threading
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, startup  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
PW = "Login-Cap-Pw-2291"
SILENT = 400
STALLED = 40


def main():
    def config(p):
        return ("[databases]\npostgres = host=%s port=%d dbname=postgres user=postgres\n" % (HOST, PRIMARY) +
                "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                "auth_type = md5\nauth_file = %s\nadmin_users = postgres\n" % p.auth +
                "logfile = %s/pooler.log\nmax_client_conn = 10\nmax_login_clients = 40\n" % p.dir +
                "admin_reserved_connections = 2\nclient_login_timeout = 60\n")

    p = fgtest.Pooler(config, prefix="faregate-logins.", auth='"postgres" "%s"\n"fg_app" "%s"\n' % (PW, PW),
                      dsn_fmt="host=127.0.0.1 port={port} user=postgres password=" + PW + " dbname={db}")
    app_dsn = "host=127.0.0.1 port=%d user=fg_app password=%s dbname=postgres connect_timeout=30" % (p.port, PW)

    def run(p):
        socks = []
        stop = threading.Event()

        def attacker():
            """Opens silent sockets and stalled logins, renewing them, until stopped (at most 500 open)."""
            opened = 0
            while not stop.is_set() and opened < 5000:
                try:
                    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
                    if opened % 10 == 0:
                        s.sendall(startup("fg_app"))  # stalls at the md5 request
                    socks.append(s)
                    opened += 1
                except OSError:
                    time.sleep(0.05)
                while len(socks) > SILENT + STALLED:
                    socks.pop(0).close()
                if opened >= SILENT + STALLED:
                    time.sleep(0.01)  # then keep renewing, slower

        th = threading.Thread(target=attacker, daemon=True)
        th.start()
        # the flood is in place (every silent socket and stalled login open) before the real logins
        fgtest.wait_until(lambda: len(socks) >= SILENT + STALLED, 60)
        results = []
        for _ in range(5):
            try:
                with psycopg.connect(app_dsn, autocommit=True) as c:
                    results.append(c.execute("select 1").fetchone()[0])
            except psycopg.Error as e:
                results.append(str(e))
        ok(results == [1] * 5, "5 real logins during the silent-socket flood all ran select 1", results)
        try:
            rows = dict(p.show("LISTS"))
            ok(True, "the admin console is reachable during the flood")
            fgtest.diag("during the flood: %d sockets opened by the attacker, login_clients %s"
                        % (len(socks), rows.get("login_clients")))
            ok(rows.get("login_clients", 0) <= 40,
               "logins in progress stay within max_login_clients = 40 (%s)" % rows.get("login_clients"))
        except psycopg.Error as e:
            ok(False, "the admin console is reachable during the flood", str(e))
        stop.set()
        th.join(30)
        for s in socks:
            s.close()

        held = [psycopg.connect(app_dsn, autocommit=True) for _ in range(10)]
        ok(True, "max_client_conn = 10 fg_app logins are admitted (PgBouncer's meaning)")
        try:
            psycopg.connect(app_dsn, autocommit=True).close()
            ok(False, "an 11th fg_app login is refused once max_client_conn clients are in")
        except psycopg.Error as e:
            ok("max_client_conn reached" in str(e) and "admin_reserved_connections" in str(e) and
               e.sqlstate in (None, "53300"),
               "an 11th fg_app login is refused with 53300 naming max_client_conn and the admin reserve", str(e))
        try:
            rows = p.show("LISTS")
            ok(len(rows) > 0, "… while the admin console (admin_users) still gets in")
        except psycopg.Error as e:
            ok(False, "… while the admin console (admin_users) still gets in", str(e))
        for c in held:
            c.close()

    sys.exit(fgtest.run_pooler_tests(p, [run]))


main()
