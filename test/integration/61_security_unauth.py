#!/usr/bin/python3
"""61_security_unauth.py: a client that has not authenticated costs the pooler nothing beyond its
connection (issue 20, finding 1). Under auth_type = md5 with a "*" fallback database:
- a flood of 5,000 startup packets with random user and database names (some longer than 63 bytes),
  none of which answers the password request, creates no pool (SHOW POOLS, SHOW STATS, /metrics list
  none of those names) and leaves the pooler's RSS within a few MB of where it was;
- a real client's `select 1` during the flood completes (bounded wait, generous bound);
- a user name longer than 63 bytes is clipped as PostgreSQL clips it: two logins with it share one pool;
- a pool of the "*" entry is freed after autodb_idle_timeout without clients.
Bounded: 5,000 connections, at most 100 open at once, 180 s in all. Honours FG_POOLER_BIN."""
import base64
import hashlib
import hmac
import os
import random
import socket
import string
import struct
import sys
import threading
import time
import urllib.request

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, diag, startup, recv_msg  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
PW = "Flood-Test-Pw-4471"
LONG_USER = "u" * 63
FLOOD = 5000
BATCH = 100
RSS_SLACK_KB = 8 * 1024


def scram_secret(password, salt=b"faregate-unauth-salt", iterations=4096):
    """A SCRAM-SHA-256 verifier as PostgreSQL stores it (so the long name logs in by SCRAM, in which the
    user name plays no part: with md5, libpq hashes the name it sent, which PostgreSQL itself clips)."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, b64(salt), b64(hashlib.sha256(client_key).digest()),
                                          b64(server_key))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rand_name(rng, n):
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))


def flood(p, rng, deadline):
    """FLOOD unauthenticated startups in batches of BATCH: each gets its md5 request, then is dropped."""
    sent = asked = 0
    while sent < FLOOD and time.time() < deadline:
        socks = []
        for _ in range(min(BATCH, FLOOD - sent)):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=30)
            user = rand_name(rng, rng.choice((8, 40, 90)))
            s.sendall(startup(user, "flood_" + rand_name(rng, rng.choice((8, 70)))))
            socks.append(s)
            sent += 1
        for s in socks:
            t, body = recv_msg(s)
            if t == b"R" and struct.unpack("!I", body[:4])[0] == 5:
                asked += 1
            s.close()
    return sent, asked


def main():
    metrics_port = fgtest.free_port()

    def config(p):
        return ("[databases]\npostgres = host=%s port=%d dbname=postgres\n" % (HOST, PRIMARY) +
                "* = host=%s port=%d dbname=postgres\n" % (HOST, PRIMARY) +
                "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                "auth_type = md5\nauth_file = %s\nadmin_users = postgres\n" % p.auth +
                "logfile = %s/pooler.log\nmax_client_conn = 1000\nclient_login_timeout = 30\n" % p.dir +
                "autodb_idle_timeout = 1\nmetrics_port = %d\n" % metrics_port)

    p = fgtest.Pooler(config, prefix="faregate-unauth.", auth='"postgres" "%s"\n"%s" "%s"\n' % (PW, LONG_USER, scram_secret(PW)),
                      dsn_fmt="host=127.0.0.1 port={port} user=postgres password=" + PW + " dbname={db}")

    def run(p):
        rng = random.Random(20)
        # warm up what a real login allocates once (slabs, buffers, the postgres pool)
        for _ in range(3):
            with p.connect() as c:
                c.execute("select 1")
        before = rss_kb(p.proc.pid)
        pools_before = len(p.show("POOLS"))
        waits = []
        stop = threading.Event()

        def real_client():
            while not stop.is_set() and len(waits) < 50:
                t0 = time.time()
                try:
                    with p.connect(connect_timeout=60) as c:
                        c.execute("select 1").fetchone()
                    waits.append(time.time() - t0)
                except psycopg.Error as e:
                    waits.append(("error", str(e)))
                time.sleep(0.2)

        th = threading.Thread(target=real_client)
        th.start()
        sent, asked = flood(p, rng, time.time() + 150)
        stop.set()
        th.join(60)
        ok(sent == FLOOD and asked == FLOOD, "%d unauthenticated startups each got the md5 password request" % FLOOD,
           (sent, asked))
        errors = [w for w in waits if not isinstance(w, float)]
        ok(waits and not errors and max(waits) < 30,
           "a real client's select 1 completed during the flood (%d runs, longest %.2fs)"
           % (len(waits), max([w for w in waits if isinstance(w, float)] or [0])), errors[:3])
        time.sleep(0.5)
        pools = p.show("POOLS")
        ok(len(pools) == pools_before and not any(str(r[0]).startswith("flood_") for r in pools),
           "SHOW POOLS lists no pool for the flood (%d rows before, %d after)" % (pools_before, len(pools)),
           [r[:2] for r in pools[:5]])
        stats = p.show("STATS")
        ok(not any(str(r[0]).startswith("flood_") for r in stats), "SHOW STATS lists none of the flood's databases")
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port, timeout=30).read().decode()
        ok("flood_" not in body, "/metrics names none of the flood's databases (%d bytes)" % len(body))
        after = rss_kb(p.proc.pid)
        diag("RSS before the flood %d kB, after %d kB" % (before, after))
        ok(after - before < RSS_SLACK_KB, "RSS grew by less than %d kB (%d kB)" % (RSS_SLACK_KB, after - before))

        # a name longer than 63 bytes is the stored (clipped) name: one pool for every login with it
        with fgtest.primary_connect() as c:
            c.execute('DROP ROLE IF EXISTS "%s"' % LONG_USER)
            c.execute('CREATE ROLE "%s" LOGIN' % LONG_USER)
        long_dsn = "host=127.0.0.1 port=%d user=%s password=%s dbname=postgres" % (p.port, LONG_USER + "xyz", PW)
        for _ in range(2):
            with psycopg.connect(long_dsn, autocommit=True) as c:
                c.execute("select 1")
        rows = [r for r in p.show("POOLS") if r[1] == LONG_USER]
        ok(len(rows) == 1, "two logins with a 66-byte user name share one pool (its name clipped to 63 bytes)",
           [r[:2] for r in p.show("POOLS")])

        with fgtest.primary_connect() as c:
            c.execute('DROP ROLE IF EXISTS "%s"' % LONG_USER)

        # a pool of the "*" entry, made at a real login, is freed once unused for autodb_idle_timeout
        with p.connect("autodb_one") as c:
            c.execute("select 1")
        listed = any(r[0] == "autodb_one" for r in p.show("POOLS"))
        gone = False
        deadline = time.time() + 30
        while time.time() < deadline and not gone:
            time.sleep(0.3)
            gone = not any(r[0] == "autodb_one" for r in p.show("POOLS"))
        ok(listed and gone, "a \"*\" pool is created at the login and freed after autodb_idle_timeout unused",
           (listed, gone))
        with p.connect("autodb_one") as c:
            ok(c.execute("select 2").fetchone()[0] == 2, "… and created again at the next login")

    sys.exit(fgtest.run_pooler_tests(p, [run]))


main()
