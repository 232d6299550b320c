#!/usr/bin/python3
"""61_security_metrics.py: the metrics/health port cannot take the pooler's file descriptors and can
require credentials (issue 20, finding 2). With metrics_max_connections = 8, metrics_request_timeout = 2:
- 200 slowloris clients sending one byte every 0.5 s: the pooler never holds more than 8 of them (its
  open file descriptors stay within 8 + a margin of where they were), a trickling client is cut at the
  deadline although it keeps sending, and database logins keep working throughout;
- after the attack /metrics answers again;
- metrics_bearer_token and metrics_basic_auth: no or wrong credentials get 401 with WWW-Authenticate,
  the right token or user:password get 200; SHOW CONFIG shows neither secret;
- POST gets 405.
Bounded: 200 sockets, about 20 s. Honours FG_POOLER_BIN."""
import base64
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, diag  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
TOKEN = "tok-Metrics-8812-secret"
BASIC = "scraper:Basic-Pw-7731"
SLOW = 200


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def get(port, path="/metrics", headers=None, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)
    except OSError as e:
        return None, str(e), {}


def main():
    mport = fgtest.free_port()

    def config(p):
        return (fgtest.pooler_databases() +
                "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nauth_type = trust\n" % p.port +
                "admin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
                "metrics_port = %d\nmetrics_max_connections = 8\nmetrics_request_timeout = 2\n" % mport +
                "metrics_bearer_token = %s\nmetrics_basic_auth = %s\n" % (TOKEN, BASIC))

    p = fgtest.Pooler(config, prefix="faregate-metrics-sec.")
    bearer = {"Authorization": "Bearer " + TOKEN}

    def credentials(p):
        st, _, hdr = get(mport)
        ok(st == 401 and "Bearer" in hdr.get("WWW-Authenticate", ""), "no credentials: 401 with WWW-Authenticate",
           (st, hdr))
        st, _, _ = get(mport, headers={"Authorization": "Bearer wrong-" + TOKEN})
        ok(st == 401, "a wrong bearer token: 401", st)
        st, body, _ = get(mport, headers=bearer)
        ok(st == 200 and "faregate_client_connections" in body, "the right bearer token: 200 with the metrics", st)
        basic = {"Authorization": "Basic " + base64.b64encode(BASIC.encode()).decode()}
        st, _, _ = get(mport, "/health", headers=basic)
        ok(st in (200, 503), "the right basic-auth user:password passes (/health %s)" % st, st)
        wrong = {"Authorization": "Basic " + base64.b64encode(b"scraper:nope").decode()}
        st, _, _ = get(mport, headers=wrong)
        ok(st == 401, "a wrong basic-auth password: 401", st)
        st, _, hdr = get(mport, headers=bearer, method="POST")
        ok(st == 405 and "GET" in hdr.get("Allow", ""), "POST: 405 with Allow", (st, hdr))
        conf = dict((r[0], r[1]) for r in p.show("CONFIG"))
        ok(conf.get("metrics_bearer_token") == "********" and conf.get("metrics_basic_auth") == "********",
           "SHOW CONFIG shows neither secret", (conf.get("metrics_bearer_token"), conf.get("metrics_basic_auth")))

    def slowloris(p):
        base = open_fds(p.proc.pid)
        socks = []
        for _ in range(SLOW):
            try:
                s = socket.create_connection(("127.0.0.1", mport), timeout=5)
                s.sendall(b"GET /metrics HTTP/1.1\r\n")
                socks.append(s)
            except OSError:
                pass
        peak = [0]
        stop = threading.Event()
        cut = []

        def trickle():
            t0 = time.time()
            while not stop.is_set() and time.time() - t0 < 8:
                for s in list(socks):
                    try:
                        s.sendall(b"X")
                    except OSError:
                        socks.remove(s)
                        cut.append(time.time() - t0)
                peak[0] = max(peak[0], open_fds(p.proc.pid))
                time.sleep(0.5)

        th = threading.Thread(target=trickle)
        th.start()
        logins = []
        for _ in range(5):
            try:
                with p.connect() as c:
                    logins.append(c.execute("select 1").fetchone()[0])
            except psycopg.Error as e:
                logins.append(str(e))
            time.sleep(0.5)
        th.join(20)
        stop.set()
        for x in socks:
            x.close()
        # a fresh trickler that keeps sending is cut at the deadline, not kept alive by its bytes
        s = socket.create_connection(("127.0.0.1", mport), timeout=5)
        t0 = time.time()
        closed_after = None
        while time.time() - t0 < 15:
            try:
                s.sendall(b"X-Slow: 1\r\n")
                s.settimeout(0.5)
                if s.recv(100) == b"":
                    closed_after = time.time() - t0
                    break
            except socket.timeout:
                continue
            except OSError:
                closed_after = time.time() - t0
                break
        s.close()
        diag("fds before %d, peak during the slowloris %d; trickler cut after %s s" % (base, peak[0], closed_after))
        ok(peak[0] <= base + 8 + 4, "the pooler held at most metrics_max_connections = 8 of %d slow clients "
           "(fds %d before, peak %d)" % (SLOW, base, peak[0]))
        ok(logins == [1] * 5, "database logins kept working during the slowloris", logins)
        ok(closed_after is not None and closed_after < 10,
           "a client trickling a header line every 0.5 s is cut at metrics_request_timeout (2 s), not kept alive",
           closed_after)
        st = None
        for _ in range(20):
            st, _, _ = get(mport, headers=bearer)
            if st == 200:
                break
            time.sleep(0.5)
        ok(st == 200, "after the slowloris /metrics answers again", st)

    sys.exit(fgtest.run_pooler_tests(p, [credentials, slowloris]))


main()
