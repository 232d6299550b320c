#!/usr/bin/python3
"""63_memory_claims.py: faregate-pooler's memory follows the bytes a peer sends, not the length it claims.

CLIENTS logged-in clients each send a message header claiming close to 256 MB (Query, Parse and CopyData
outside COPY, all of which the pooler must hold whole) followed by a few bytes, and stay connected. The
pooler's VmRSS and VmData (address space it reserved) may grow by at most 64 kB a client + 32 MB in all
(a 256 MB reservation for one client alone would exceed it; before the fix every claim reserved 256 MB).
The clients must still be connected (not refused for lack of memory), and a real 3 MB query sent whole
still gets its answer (the buffer grows as its bytes arrive). Before authentication a client may claim
little: a startup packet over 10,000 bytes and a password message over 8 kB are refused with 08P01 at
once, before their bytes arrive. Honours FG_POOLER_BIN and FG_MEM_CLIENTS (default 200).
"""
import hashlib
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, msg, startup, recv_msg, read_until_closed  # noqa: E402

PW = "Claims-Are-Cheap-17"
CLIENTS = int(os.environ.get("FG_MEM_CLIENTS", "200"))
CLAIM = 256 * 1024 * 1024 - 64


def config(p):
    return (fgtest.pooler_databases(pool_size=2) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nadmin_users = postgres\n"
            "logfile = %s/pooler.log\nauth_type = md5\nauth_file = %s\nclient_login_timeout = 20\n"
            "max_client_conn = %d\n" % (p.port, p.dir, p.auth, CLIENTS + 50))


def sqlstate(body):
    for field in body.split(b"\0"):
        if field[:1] == b"C":
            return field[1:].decode()
    return None


def login(port, timeout=20):
    """A raw md5 login; returns the socket after the first ReadyForQuery."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(startup())
    t, body = recv_msg(s)
    if t != b"R" or struct.unpack("!I", body[:4])[0] != 5:
        raise RuntimeError("expected an md5 request, got %r %r" % (t, body[:40]))
    inner = hashlib.md5((PW + "postgres").encode()).hexdigest()
    s.sendall(msg(b"p", b"md5" + hashlib.md5(inner.encode() + body[4:8]).hexdigest().encode() + b"\0"))
    while True:
        t, body = recv_msg(s)
        if t is None or t == b"E":
            raise RuntimeError("login failed: %r" % body)
        if t == b"Z":
            return s


def mem(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmData"):
                out[key] = int(rest.split()[0])
    return out


def test_claims(p):
    before = mem(p.proc.pid)
    socks = []
    kinds = (b"Q", b"P", b"d")
    try:
        for i in range(CLIENTS):
            s = login(p.port)
            s.sendall(kinds[i % 3] + struct.pack("!I", CLAIM) + b"SELECT 1 /* a few bytes */")
            socks.append(s)
        # the pooler has handled every claim once a later request on a fresh connection is answered
        with p.connect() as conn:
            conn.execute("SELECT 1")
        time.sleep(0.5)
        after = mem(p.proc.pid)
        bound = CLIENTS * 64 + 32 * 1024
        for key in ("VmRSS", "VmData"):
            grew = after[key] - before[key]
            ok(grew <= bound, "%d clients claiming 256 MB each: %s grew by %d kB (bound %d kB)"
               % (CLIENTS, key, grew, bound), "before %r after %r" % (before, after))
        fgtest.diag("RESULT memory_claims: clients=%d rss_before_kb=%d rss_after_kb=%d vmdata_before_kb=%d "
                    "vmdata_after_kb=%d" % (CLIENTS, before["VmRSS"], after["VmRSS"], before["VmData"],
                                            after["VmData"]))
        still = 0
        for s in socks:
            s.setblocking(False)
            try:
                s.recv(1)  # a byte (an error reply) or b"" (closed): this client was refused
            except BlockingIOError:
                still += 1
            except OSError:
                pass
        ok(still == CLIENTS, "all %d clients are still connected, waiting for the rest (%d)" % (CLIENTS, still))
    finally:
        for s in socks:
            s.close()


def test_real_large_query(p):
    s = login(p.port)
    try:
        sql = b"SELECT length('" + b"x" * (3 * 1024 * 1024) + b"')\0"
        s.settimeout(30)
        s.sendall(msg(b"Q", sql))
        rows = []
        while True:
            t, body = recv_msg(s)
            if t is None or t == b"Z":
                break
            if t == b"D":
                rows.append(body[6:].decode())
            if t == b"E":
                rows.append("error " + str(sqlstate(body)))
        ok(rows == [str(3 * 1024 * 1024)], "a 3 MB query sent whole is answered", rows)
    finally:
        s.close()


def test_preauth_claims(p):
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.sendall(struct.pack("!I", CLAIM) + struct.pack("!I", 196608) + b"user\0")
    got, closed = read_until_closed(s, 3)
    s.close()
    ok(closed and b"08P01" in got, "a startup packet claiming 256 MB is refused with 08P01 at once", got[:80])

    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.sendall(struct.pack("!I", 10001) + b"\0" * 8)
    got, closed = read_until_closed(s, 3)
    s.close()
    ok(closed and b"08P01" in got, "a startup packet claiming 10,001 bytes is refused", got[:80])

    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.sendall(startup())
    t, _ = recv_msg(s)
    s.sendall(b"p" + struct.pack("!I", CLAIM) + b"md5")
    got, closed = read_until_closed(s, 3)
    s.close()
    ok(t == b"R" and closed and b"08P01" in got, "a password message claiming 256 MB is refused with 08P01",
       got[:80])


def main():
    p = fgtest.Pooler(config, prefix="faregate-memory.", auth='"postgres" "%s"\n' % PW,
                      dsn_fmt="host=127.0.0.1 port={port} user=postgres password=%s dbname={db}" % PW)
    return fgtest.run_pooler_tests(p, (test_preauth_claims, test_claims, test_real_large_query))


if __name__ == "__main__":
    sys.exit(main())
