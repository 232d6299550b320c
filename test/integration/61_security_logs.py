#!/usr/bin/python3
"""61_security_logs.py: what clients send cannot forge or flood the pooler's log (issue 20, finding 6).
At verbose = 0:
- a user name and a database name holding a newline, a carriage return and an ANSI escape appear in the
  log escaped (\\n, \\r, \\x1b): no line of the log starts with the forged text;
- 1,000 bogus cancel requests write at most a few lines, and the lines held back are reported with their
  count (lines logged + counts reported = 1,000);
- 300 failed md5 logins are likewise rate-limited, with counts.
Bounded: 1,300 short connections, about 15 s. Honours FG_POOLER_BIN."""
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, diag, msg, cstr, startup, recv_msg  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
PW = "Log-Test-Pw-3391"
CANCELS = 1000
FAILED = 300


def main():
    def config(p):
        return (fgtest.pooler_databases() +
                "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                "auth_type = md5\nauth_file = %s\nadmin_users = postgres\n" % p.auth +
                "logfile = %s/pooler.log\nverbose = 0\n" % p.dir)

    p = fgtest.Pooler(config, prefix="faregate-logs.", auth='"postgres" "%s"\n' % PW,
                      dsn_fmt="host=127.0.0.1 port={port} user=postgres password=" + PW + " dbname={db}")

    def injection(p):
        forged = "2026-01-01 00:00:00.000 UTC [1] LOG FORGED"  # the whole name fits in 63 bytes
        s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        s.sendall(startup("evil\n" + forged + "\r\x1b[31mred", "db\nFORGED-DB-LINE"))
        recv_msg(s)
        s.close()
        time.sleep(0.5)
        log = p.text("pooler.log")
        lines = log.splitlines()
        ok(not any(line.startswith("2026-01-01") or line.startswith("FORGED") for line in lines),
           "no log line starts with the text forged after a newline in the user or database name")
        ok("evil\\n" + forged + "\\r\\x1b[31mred" in log, "the user name is logged with \\n, \\r and \\x1b escaped",
           [line for line in lines if "evil" in line][:2])
        ok("db\\nFORGED-DB-LINE" in log, "the database name too")
        ok("\x1b" not in log, "no raw escape character reaches the log")

    def cancels(p):
        before = len(p.text("pooler.log").splitlines())
        for i in range(CANCELS):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
            s.sendall(struct.pack("!IIII", 16, 80877102, 12345 + i, 67890))
            s.recv(1)
            s.close()
        time.sleep(2.5)  # the window after the last one is over: its count is reported
        new = p.text("pooler.log").splitlines()[before:]
        logged = sum(1 for line in new if "cancel request for no running query: ignored" in line)
        held = sum(int(m.group(1)) for m in (re.search(r"(\d+) more cancel requests for no running query", line)
                                             for line in new) if m)
        diag("%d bogus cancels: %d lines logged, %d reported as held back, %d new lines in all"
             % (CANCELS, logged, held, len(new)))
        ok(len(new) < 200, "%d bogus cancel requests wrote %d log lines" % (CANCELS, len(new)))
        ok(logged + held == CANCELS, "every bogus cancel is logged or counted (%d + %d)" % (logged, held))

    def failed_logins(p):
        before = len(p.text("pooler.log").splitlines())
        for _ in range(FAILED):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
            s.sendall(startup("postgres"))
            recv_msg(s)  # the md5 request
            s.sendall(msg(b"p", cstr("md5" + "0" * 32)))
            recv_msg(s)  # 28P01
            s.close()
        time.sleep(2.5)
        new = p.text("pooler.log").splitlines()[before:]
        held = sum(int(m.group(1)) for m in (re.search(r"(\d+) more lines about failed or abandoned logins", line)
                                             for line in new) if m)
        logged = sum(1 for line in new if "authentication failed" in line or "closing because" in line)
        diag("%d failed logins: %d lines logged, %d held back" % (FAILED, logged, held))
        ok(len(new) < 150, "%d failed logins wrote %d log lines" % (FAILED, len(new)))
        ok(logged + held == 2 * FAILED, "each failed login's two lines are logged or counted (%d + %d)" % (logged, held))
        with p.connect() as c:
            ok(c.execute("select 1").fetchone()[0] == 1, "a real login still works")

    sys.exit(fgtest.run_pooler_tests(p, [injection, cancels, failed_logins]))


main()
