#!/usr/bin/python3
"""45_ops_probe.py: /health's reachability probe for [databases] entries without replicas= (probe.c)
and the bound on the LISTEN listener's connection attempt and LISTEN (notify.c).

A fake PostgreSQL server (a Python socket server) sits in front of the primary: it proxies every
connection, except that it answers the probe (application_name faregate-probe) or the listener
(faregate-listener) as told: with ErrorResponse 57P03, by staying silent, or (listener) by letting
the login through and then dropping what the listener sends, so its LISTEN never gets an answer.
Checks: a fresh pooler says reachable true (HTTP 200) before any client connected (no pool exists);
57P03 and a silent server make /health 503 with reachable false, and a good answer brings it back;
an entry added by RELOAD on a closed port is 503 within two health_check_periods; a LISTEN whose
listener connection or LISTEN hangs is answered with SQLSTATE 08006 naming the listener within
server_connect_timeout, and LISTEN works again once the server answers; with server_tls_sslmode =
require the probe sends an SSLRequest and counts its answer. Honours FG_POOLER_BIN."""
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import fgtest  # noqa: E402
from fgtest import ok, free_port  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
PERIOD = 1.0        # health_check_period
CONNECT_TIMEOUT = 1.0   # server_connect_timeout
WAIT = 30.0         # the bound of every wait for a verdict (the machine may be busy; speed is not checked)


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


class FakeServer:
    """Listens on a free port; MODE maps an application_name to proxy | silent | 57P03 | mute."""

    def __init__(self):
        self.mode = {}
        self.seen = {}
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.ssl_requests = 0
        self.conns = []
        self.open = {}          # application_name -> connections of it still open
        self.lock = threading.Lock()
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def stop(self):
        self.stopping = True
        for c in self.conns + [self.sock]:
            try:
                c.close()
            except OSError:
                pass

    def accept_loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        app = None
        try:
            while True:
                head = recv_exact(c, 8)
                length, code = struct.unpack("!II", head)
                if code == 80877103:        # SSLRequest
                    self.ssl_requests += 1
                    c.sendall(b"N")
                    continue
                startup = head + recv_exact(c, length - 8)
                break
            parts = startup[8:].split(b"\0")
            params = dict(zip(parts[0::2], parts[1::2]))
            app = params.get(b"application_name", b"").decode()
            mode = self.mode.get(app, "proxy")
            with self.lock:
                self.seen[app] = self.seen.get(app, 0) + 1
                self.open[app] = self.open.get(app, 0) + 1
            if mode == "silent":
                while c.recv(4096):
                    pass
                return
            if mode == "57P03":
                fields = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0"
                c.sendall(b"E" + struct.pack("!I", 4 + len(fields)) + fields)
                c.close()
                return
            up = socket.create_connection((HOST, PRIMARY))
            self.conns.append(up)
            up.sendall(startup)
            logged_in = threading.Event()
            threading.Thread(target=self.down, args=(up, c, logged_in), daemon=True).start()
            while True:
                data = c.recv(65536)
                if not data:
                    break
                if mode == "mute" and logged_in.is_set():
                    continue        # the listener's LISTEN never reaches the server
                up.sendall(data)
            up.close()
        except (EOFError, OSError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass
            if app is not None:
                with self.lock:
                    self.open[app] -= 1

    def down(self, up, c, logged_in):
        """Server -> client, noting the first ReadyForQuery (end of the login)."""
        buf = b""
        try:
            while True:
                data = up.recv(65536)
                if not data:
                    break
                # note the end of the login before passing it on: once the pooler has the
                # ReadyForQuery it sends its LISTEN at once, and serve() must already see logged_in
                # (set after sendall, the LISTEN could slip through to the server: a flake)
                if not logged_in.is_set():
                    buf += data
                    while len(buf) >= 5:
                        kind, length = buf[0:1], struct.unpack("!I", buf[1:5])[0]
                        if len(buf) < 1 + length:
                            break
                        if kind == b"Z":
                            logged_in.set()
                        buf = buf[1 + length:]
                c.sendall(data)
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass


class Pooler(fgtest.Pooler):
    def __init__(self, fake, extra=""):
        self.mport = free_port()
        self.fake = fake
        self.dead = free_port()

        def config(p):
            return ("[databases]\nreal = host=%s port=%d dbname=postgres pool_size=2\n" % (HOST, PRIMARY) +
                    "fake = host=127.0.0.1 port=%d dbname=postgres pool_size=2\n" % fake.port +
                    "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                    "pool_mode = transaction\nhealth_check_period = %dms\n" % int(PERIOD * 1000) +
                    "server_connect_timeout = %dms\n" % int(CONNECT_TIMEOUT * 1000) +
                    "metrics_addr = 127.0.0.1\nmetrics_port = %d\n" % p.mport +
                    "admin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir + extra)
        super().__init__(config, prefix="faregate-ops-probe.")

    def health(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" % self.mport, timeout=5) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        doc = json.loads(body)
        return status, doc, {d["name"]: d for d in doc["databases"]}

    def wait_health(self, name, reachable, seconds):
        """Polls /health until entry NAME says reachable; (elapsed, status, entry) or (None, ...)."""
        start = time.monotonic()
        while True:
            status, doc, dbs = self.health()
            entry = dbs.get(name)
            if entry and entry["primary"]["reachable"] is reachable:
                return time.monotonic() - start, status, entry
            if time.monotonic() - start > seconds:
                return None, status, entry
            time.sleep(0.05)


def test_fresh(p):
    elapsed, status, entry = p.wait_health("real", True, WAIT)
    pools = [r for r in p.show("POOLS") if r[0] in ("real", "fake")]
    ok(elapsed is not None and status == 200 and entry["source"] == "probe" and entry["primary"]["probes"] >= 1,
       "fresh pooler: /health 200, reachable true from the probe (%.2f s after start)" % (elapsed or -1),
       entry)
    ok(not pools, "... before any client connected: no pool exists", pools)
    ok(p.fake.seen.get("faregate-probe", 0) >= 1, "the probe connected with application_name faregate-probe",
       p.fake.seen)


def test_probe_verdicts(p):
    p.fake.mode["faregate-probe"] = "57P03"
    elapsed, status, entry = p.wait_health("fake", False, WAIT)
    ok(elapsed is not None and status == 503 and "57P03" in entry["primary"]["detail"],
       "ErrorResponse 57P03 (starting up): reachable false, /health 503", entry)
    p.fake.mode["faregate-probe"] = "proxy"
    elapsed, status, entry = p.wait_health("fake", True, WAIT)
    ok(elapsed is not None and status == 200, "an authentication request again: reachable true, 200", entry)
    p.fake.mode["faregate-probe"] = "silent"
    elapsed, status, entry = p.wait_health("fake", False, WAIT)
    ok(elapsed is not None and status == 503 and "no answer" in entry["primary"]["detail"],
       "a server that accepts and never answers: unreachable after server_connect_timeout", entry)
    p.fake.mode["faregate-probe"] = "proxy"
    elapsed, status, entry = p.wait_health("fake", True, WAIT)
    ok(elapsed is not None and status == 200, "... and reachable again once it answers", entry)


def test_closed_port(p):
    with open(p.ini) as f:
        text = f.read()
    with open(p.ini, "w") as f:
        f.write(text.replace("[pooler]", "dead = host=127.0.0.1 port=%d dbname=postgres\n[pooler]" % p.dead))
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as a:
        a.execute("RELOAD")
    elapsed, status, entry = p.wait_health("dead", False, WAIT)
    ok(elapsed is not None and status == 503 and "refused" in entry["primary"]["detail"],
       "entry on a closed port: /health 503, reachable false, no client needed", entry)
    fgtest.diag("the closed port was reported after %.2f s (health_check_period %.1f s)" % (elapsed or -1, PERIOD))
    pools = [r for r in p.show("POOLS") if r[0] == "dead"]
    ok(not pools, "... no pool for it exists", pools)


def listen_error(p, channel):
    """LISTEN through the pooler on 'fake': (seconds, sqlstate, message) of the error, or of success."""
    with psycopg.connect(p.dsn("fake"), autocommit=True, connect_timeout=10) as c:
        start = time.monotonic()
        try:
            status = c.execute("LISTEN %s" % channel).statusmessage
            return time.monotonic() - start, None, status, c.execute("SELECT 1").fetchone()[0]
        except psycopg.Error as e:
            took = time.monotonic() - start
            alive = c.execute("SELECT 1").fetchone()[0]
            return took, e.sqlstate, str(e), alive


def test_listen_bound(p):
    p.fake.mode["faregate-listener"] = "silent"
    took, sqlstate, msg, alive = listen_error(p, "probe_ch1")
    ok(sqlstate == "08006" and "listener connection" in msg and "connection attempt" in msg and
       CONNECT_TIMEOUT - 0.2 <= took < WAIT,
       "listener connection never answered: LISTEN gets 08006 naming the listener after %.2f s" % took, msg)
    ok(alive == 1, "... the client's session goes on")
    p.fake.mode["faregate-listener"] = "mute"
    # the failed listener connection is gone (no channel is wanted now) before the next LISTEN
    ok(fgtest.wait_until(lambda: p.fake.open.get("faregate-listener", 0) == 0, WAIT),
       "... the listener connection that never answered is closed", p.fake.open)
    took, sqlstate, msg, alive = listen_error(p, "probe_ch2")
    ok(sqlstate == "08006" and "LISTEN within" in msg and CONNECT_TIMEOUT - 0.2 <= took < WAIT,
       "listener logged in but its LISTEN never answered: 08006 after %.2f s" % took, msg)
    p.fake.mode["faregate-listener"] = "proxy"
    ok(fgtest.wait_until(lambda: p.fake.open.get("faregate-listener", 0) == 0, WAIT),
       "... the listener connection whose LISTEN never answered is closed", p.fake.open)
    took, sqlstate, msg, alive = listen_error(p, "probe_ch3")
    ok(sqlstate is None and msg == "LISTEN", "once the server answers, LISTEN succeeds (%.2f s)" % took, msg)


def test_tls_require():
    """server_tls_sslmode = require: the probe sends an SSLRequest and takes 'N' as reachable. A fake
    server of its own: another pooler's plaintext probe would add StartupMessages to the count."""
    fake = FakeServer()
    before = fake.ssl_requests
    seen = dict(fake.seen)
    p = Pooler(fake, "server_tls_sslmode = require\n")
    try:
        elapsed, status, entry = p.wait_health("fake", True, WAIT)
        ok(elapsed is not None and entry["source"] == "probe" and "SSLRequest answered 'N'" in
           entry["primary"]["detail"] and fake.ssl_requests > before,
           "server_tls_sslmode require: SSLRequest answered, reachable without a handshake", entry)
        ok(fake.seen.get("faregate-probe", 0) == seen.get("faregate-probe", 0),
           "... and no StartupMessage was sent after it", (seen, fake.seen))
    finally:
        p.stop()
        fake.stop()
    p.finish()


def main():
    test_tls_require()
    fake = FakeServer()
    p = Pooler(fake)
    try:
        status = fgtest.run_pooler_tests(p, [test_fresh, test_probe_verdicts, test_closed_port,
                                             test_listen_bound])
    finally:
        fake.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
