#!/usr/bin/python3
"""60_faults_protocol.py: faregate-pooler against hostile and vanishing clients. Malformed startup
packets (bad, negative and unsupported lengths and codes), a 10 MB startup packet, malformed typed
messages after login (length < 4, "negative" length, a message over the 256 MB limit), a slow-loris
client sending one byte per second: each gets an ErrorResponse with a SQLSTATE where the protocol allows
it and a closed socket within client_login_timeout. Clients that vanish during startup, during auth,
mid-query, mid-transaction, mid-COPY and while waiting for a server leave no server transaction open
(pg_stat_activity) and no client slot or server link leaked (SHOW LISTS / SHOW POOLS back to baseline).
A concurrent client runs a query loop throughout and must never fail. Honours FG_POOLER_BIN."""
import os
import socket
import struct
import sys
import threading
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, msg, cstr, startup, read_until_closed  # noqa: E402,F401

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
PASSWORD = "Fault-Tolerant-Secret-42"
LOGIN_TIMEOUT = 2


def config(p):
    return ("[databases]\npostgres = host=%s port=%d dbname=postgres pool_size=3\n" % (HOST, PRIMARY) +
            "tdb = host=%s port=%d dbname=postgres pool_size=1\n" % (HOST, PRIMARY) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "admin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
            "auth_type = md5\nauth_file = %s\nclient_login_timeout = %d\n" % (p.auth, LOGIN_TIMEOUT) +
            "max_client_conn = 60\nquery_wait_timeout = 30\n")


def Pooler():
    return fgtest.Pooler(config, prefix="faregate-faults.", auth='"postgres" "%s"\n' % PASSWORD,
                         dsn_fmt="host=127.0.0.1 port={port} user=postgres password=%s dbname={db}" % PASSWORD)


def sqlstate(data):
    """The SQLSTATE of the first ErrorResponse in data, or None."""
    i = data.find(b"E")
    while i >= 0 and i + 5 <= len(data):
        n = struct.unpack("!I", data[i + 1:i + 5])[0]
        body = data[i + 5:i + 1 + n]
        for field in body.split(b"\0"):
            if field[:1] == b"C":
                return field[1:].decode()
        i = data.find(b"E", i + 1)
    return None


def login(p, db="postgres"):
    """A raw socket logged in with md5 (the pooler's own AuthenticationOk … ReadyForQuery consumed)."""
    import hashlib
    s = socket.create_connection(("127.0.0.1", p.port))
    s.sendall(startup(db=db))
    data = s.recv(64)
    assert data[:1] == b"R" and struct.unpack("!I", data[5:9])[0] == 5, data
    salt = data[9:13]
    inner = hashlib.md5((PASSWORD + "postgres").encode()).hexdigest()
    s.sendall(msg(b"p", cstr("md5" + hashlib.md5(inner.encode() + salt).hexdigest())))
    got = b""
    while not got.endswith(b"Z\0\0\0\x05I"):
        d = s.recv(65536)
        assert d, got
        got += d
    return s


def send_quietly(s, data):
    try:
        s.sendall(data)
    except OSError:
        pass


def baseline(p):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as a:
        lists = {r[0]: r[1] for r in a.execute("SHOW LISTS").fetchall()}
        pools = a.execute("SHOW POOLS").fetchall()
    cl = sum(r[2] + r[3] for r in pools if r[0] != "faregate")
    sv_active = sum(r[6] for r in pools if r[0] != "faregate")
    return lists["used_clients"], lists["login_clients"], cl, sv_active


def open_transactions():
    with psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY), autocommit=True) as c:
        return c.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND "
                         "pid <> pg_backend_pid() AND (state <> 'idle' OR xact_start IS NOT NULL)").fetchone()[0]


def until_msg(s, want):
    """Reads messages from socket S up to the first of type WANT (bounded by a 30 s socket timeout)."""
    s.settimeout(30)
    while True:
        t, _ = fgtest.recv_msg(s)
        if t is None or t == want:
            return t


def wait_for(fn, want, seconds=30):
    deadline = time.time() + seconds
    got = fn()
    while got != want and time.time() < deadline:
        time.sleep(0.1)
        got = fn()
    return got


class Loop(threading.Thread):
    """A client running SELECT 1 through the pooler every 20 ms until stopped."""
    def __init__(self, p):
        super().__init__(daemon=True)
        self.p, self.stop, self.runs, self.errors = p, threading.Event(), 0, []

    def run(self):
        try:
            c = psycopg.connect(self.p.dsn(), autocommit=True)
        except psycopg.Error as e:
            self.errors.append(str(e))
            return
        while not self.stop.is_set() and self.runs < 100000:
            try:
                c.execute("SELECT 1").fetchone()
                self.runs += 1
            except psycopg.Error as e:
                self.errors.append(str(e))
                c = psycopg.connect(self.p.dsn(), autocommit=True)
            time.sleep(0.02)
        c.close()


def test_bad_startups(p):
    cases = [
        ("length 3", struct.pack("!I", 3) + b"\0\0\0\0"),
        ("negative length", struct.pack("!I", 0xFFFFFFFF) + struct.pack("!I", 196608)),
        ("length over the 10000-byte limit", struct.pack("!II", 20000, 196608)),
        ("unsupported protocol 2.0", struct.pack("!II", 8, 0x00020000)),
        ("no user", struct.pack("!II", 9, 196608) + b"\0"),
        ("unterminated parameter", struct.pack("!II", 14, 196608) + b"user\0x"),
    ]
    for name, data in cases:
        s = socket.create_connection(("127.0.0.1", p.port))
        t0 = time.time()
        send_quietly(s, data)
        got, closed = read_until_closed(s, 30)
        s.close()
        ok(closed and sqlstate(got) is not None,
           "startup with %s: ErrorResponse %s and a closed socket after %.1fs" % (name, sqlstate(got), time.time() - t0),
           repr(got[:200]))
    # 10 MB startup packet: refused from its length word, before the pooler reads (or buffers) it
    s = socket.create_connection(("127.0.0.1", p.port))
    t0 = time.time()
    big = struct.pack("!II", 10 * 1024 * 1024, 196608) + cstr("user") + b"u" * (10 * 1024 * 1024 - 13) + b"\0"
    s.settimeout(5)
    sent = 0
    try:
        while sent < len(big):
            sent += s.send(big[sent:sent + 65536])
    except OSError:
        pass
    got, closed = read_until_closed(s, 30)
    s.close()
    ok(closed and sqlstate(got) == "08P01",
       "10 MB startup packet: 08P01 and closed after %.1fs (%d bytes accepted)" % (time.time() - t0, sent), repr(got[:200]))


def test_bad_messages(p):
    cases = [
        ("length 3", b"Q" + struct.pack("!I", 3)),
        ("negative length", b"Q" + struct.pack("!I", 0x80000000)),
        ("over the 256 MB limit", b"Q" + struct.pack("!I", 300 * 1024 * 1024)),
    ]
    for name, data in cases:
        s = login(p)
        send_quietly(s, data)
        got, closed = read_until_closed(s, 30)
        s.close()
        ok(closed and sqlstate(got) in ("08P01", "54000"),
           "message with %s after login: ErrorResponse %s and closed" % (name, sqlstate(got)), repr(got[:200]))
    s = login(p)
    send_quietly(s, msg(b"z", b"garbage") + msg(b"Q", cstr("SELECT 1")))
    got, closed = read_until_closed(s, 30)
    s.close()
    ok(closed and sqlstate(got) is not None, "unknown message type: ErrorResponse %s and closed" % sqlstate(got),
       repr(got[:300]))
    # a password message during login that is not one
    s = socket.create_connection(("127.0.0.1", p.port))
    s.sendall(startup())
    s.recv(64)
    send_quietly(s, msg(b"Q", cstr("SELECT 1")))
    got, closed = read_until_closed(s, 30)
    s.close()
    ok(closed and sqlstate(got) == "08P01", "a Query instead of a password: 08P01 and closed", repr(got[:200]))


def test_slow_loris(p):
    s = socket.create_connection(("127.0.0.1", p.port))
    t0 = time.time()
    data = startup()
    closed_at = None
    got = b""
    for b in data:
        try:
            s.sendall(bytes([b]))
        except OSError:
            closed_at = time.time() - t0
            break
        g, closed = read_until_closed(s, 1.0)
        got += g
        if closed:
            closed_at = time.time() - t0
            break
    s.close()
    # the whole startup takes len(data) s at 1 byte/s: a close before its end is the timeout's
    ok(closed_at is not None and sqlstate(got) is not None,
       "slow-loris startup (1 byte/s): ErrorResponse %s, closed before the startup was complete"
       % sqlstate(got), repr(got[:200]))
    fgtest.diag("slow-loris closed after %s s (client_login_timeout %d s, the startup would take %d s)"
                % (closed_at and "%.1f" % closed_at, LOGIN_TIMEOUT, len(data)))
    # the same during authentication: startup sent, password never (waited for up to 30 s)
    s = socket.create_connection(("127.0.0.1", p.port))
    t0 = time.time()
    s.sendall(startup())
    got, closed = read_until_closed(s, 30)
    s.close()
    ok(closed, "a client that never answers the password request is closed (client_login_timeout)")
    fgtest.diag("... after %.1f s (client_login_timeout %d s)" % (time.time() - t0, LOGIN_TIMEOUT))


def test_vanishing_clients(p, base):
    with psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY), autocommit=True) as d:
        d.execute("DROP TABLE IF EXISTS fg_faults")
        d.execute("CREATE TABLE fg_faults (id int)")
    phases = []
    # during startup: half a startup packet
    s = socket.create_connection(("127.0.0.1", p.port))
    s.sendall(startup()[:10])
    phases.append(("during startup", s))
    # during auth: the md5 request received, then gone
    s = socket.create_connection(("127.0.0.1", p.port))
    s.sendall(startup())
    s.recv(64)
    phases.append(("during auth", s))
    # mid-query
    s = login(p)
    s.sendall(msg(b"Q", cstr("SELECT pg_sleep(1.5)")))
    phases.append(("mid-query", s))
    # mid-transaction, after a write
    s = login(p)
    s.sendall(msg(b"Q", cstr("BEGIN; INSERT INTO fg_faults VALUES (1)")))
    until_msg(s, b"Z")
    phases.append(("mid-transaction", s))
    # mid-COPY: half the data sent
    s = login(p)
    s.sendall(msg(b"Q", cstr("COPY fg_faults FROM STDIN")))
    until_msg(s, b"G")  # CopyInResponse
    s.sendall(msg(b"d", b"2\n3\n"))
    phases.append(("mid-COPY", s))
    # while waiting for a server: tdb has one server, held by a transaction
    holder = login(p, "tdb")
    holder.sendall(msg(b"Q", cstr("BEGIN")))
    until_msg(holder, b"Z")
    s = login(p, "tdb")
    s.sendall(msg(b"Q", cstr("SELECT 1")))

    def tdb_waiting():
        return [r for r in p.show("POOLS") if r[0] == "tdb" and r[3] == 1]
    ok(fgtest.wait_until(tdb_waiting, 30), "a client waits for tdb's only server (SHOW POOLS cl_waiting 1)")
    phases.append(("while waiting for a server", s))
    for _, s in phases:
        s.close()
    holder.close()
    ok(wait_for(open_transactions, 0) == 0,
       "no open server transaction after clients vanished (%s)" % ", ".join(n for n, _ in phases))
    ok(wait_for(lambda: baseline(p), base) == base,
       "SHOW LISTS used/login clients and SHOW POOLS cl_*/sv_active back to baseline %s" % (base,),
       baseline(p))
    with psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY), autocommit=True) as d:
        rows = d.execute("SELECT count(*) FROM fg_faults").fetchone()[0]
        d.execute("DROP TABLE fg_faults")
    ok(rows == 0, "the vanished transaction and COPY committed nothing", rows)
    with psycopg.connect(p.dsn("tdb"), autocommit=True) as c:
        ok(c.execute("SELECT 1").fetchone()[0] == 1, "tdb's only server is usable again")


def main():
    p = Pooler()
    loop = Loop(p)
    try:
        base = baseline(p)
        loop.start()
        ok(fgtest.wait_until(lambda: loop.runs > 0 or loop.errors, 30) and not loop.errors,
           "the concurrent client runs its queries", loop.errors[:3])
        base = baseline(p)     # with the loop's client connected
        test_bad_startups(p)
        test_bad_messages(p)
        test_slow_loris(p)
        test_vanishing_clients(p, base)
        loop.stop.set()
        loop.join(10)
        ok(not loop.errors and loop.runs > 0,
           "a concurrent client ran %d queries without an error throughout" % loop.runs, loop.errors[:3])
        ok(p.proc.poll() is None, "the pooler is still running")
    finally:
        loop.stop.set()
        p.stop()
    ok(p.sanitizer_clean(), "no sanitizer report in the pooler's stderr",
       open(os.path.join(p.dir, "stderr.log")).read()[-2000:])
    p.finish()
    sys.exit(fgtest.done_testing())


main()
