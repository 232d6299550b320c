#!/usr/bin/python3
"""44_pooler_rolling_restart.py: several faregate-pooler processes on one port (so_reuseport, [peers]).
- two processes A (peer 1) and B (peer 2) listen on the same TCP port, each with its own Unix socket;
- a CancelRequest sent to the wrong process (B) for a query of a client of A cancels that query
  (57014), forwarded by B to A;
- a rolling restart under `pgbench -c 50 -T 20` (bounded by timeout): start C, SHUTDOWN
  WAIT_FOR_CLIENTS on A, start D, SIGTERM on B: pgbench reports 0 failed transactions, every new
  connection made meanwhile succeeds, A and B exit once their clients left, C and D keep serving.
Honours FG_POOLER_BIN."""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, Pooler, free_port  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
PORT = free_port()
BASE = "/tmp/faregate-peers.%d" % os.getpid()


def sockdir(name):
    return os.path.join(BASE, name)


def config_for(name, peer_id, peers):
    def config(p):
        lines = ["[databases]", "postgres = host=%s port=%d dbname=postgres pool_size=10" % (HOST, PRIMARY),
                 "[pooler]", "listen_addr = 127.0.0.1", "auth_type = trust", "listen_port = %d" % PORT,
                 "unix_socket_dir = %s" % sockdir(name), "so_reuseport = 1", "peer_id = %d" % peer_id,
                 "admin_users = postgres", "max_client_conn = 200", "logfile = %s/pooler.log" % p.dir,
                 "[peers]"]
        lines += ["%d = host=%s port=%d" % (pid, sockdir(n), PORT) for n, pid in peers]
        return "\n".join(lines) + "\n"
    return config


def start(name, peer_id, peers):
    os.makedirs(sockdir(name), exist_ok=True)
    os.chmod(sockdir(name), 0o777)
    p = Pooler(config_for(name, peer_id, peers), prefix="faregate-peer-%s." % name, wait=False)
    p.port = PORT
    p.dsn_fmt = "host=%s port={port} user=postgres dbname={db}" % sockdir(name)
    p.wait_ready()
    return p


def raw_login(path):
    """A v3 login over Unix socket path (trust); returns (socket, pid, key) after ReadyForQuery."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path)
    body = struct.pack("!I", 196608) + b"user\0postgres\0database\0postgres\0\0"
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    pid = key = None
    buf = b""
    while True:
        while len(buf) < 5 or len(buf) < 1 + struct.unpack("!I", buf[1:5])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("login closed: %r" % buf)
            buf += chunk
        n = 1 + struct.unpack("!I", buf[1:5])[0]
        msg, buf = buf[:n], buf[n:]
        if msg[0:1] == b"K":
            pid, key = struct.unpack("!II", msg[5:13])
        elif msg[0:1] == b"Z":
            return s, pid, key
        elif msg[0:1] == b"E":
            raise RuntimeError("login refused: %r" % msg)


def read_until_ready(s):
    """Messages up to ReadyForQuery; returns the SQLSTATE of an ErrorResponse, or None."""
    buf = b""
    sqlstate = None
    while True:
        while len(buf) < 5 or len(buf) < 1 + struct.unpack("!I", buf[1:5])[0]:
            chunk = s.recv(65536)
            if not chunk:
                return sqlstate or "closed"
            buf += chunk
        n = 1 + struct.unpack("!I", buf[1:5])[0]
        msg, buf = buf[:n], buf[n:]
        if msg[0:1] == b"E":
            m = re.search(rb"C([0-9A-Z]{5})\0", msg[5:])
            sqlstate = m.group(1).decode() if m else "?"
        elif msg[0:1] == b"Z":
            return sqlstate


def test_cancel_wrong_process(a, b):
    s, pid, key = raw_login(os.path.join(sockdir("a"), ".s.PGSQL.%d" % PORT))
    ok(pid is not None and (pid >> 16) & 0x3fff == 1, "a client of A has A's peer_id in its cancel pid (%s)" % pid)
    q = b"SELECT pg_sleep(20)\0"
    s.sendall(b"Q" + struct.pack("!I", len(q) + 4) + q)
    time.sleep(0.7)
    c = socket.socket(socket.AF_UNIX)
    c.connect(os.path.join(sockdir("b"), ".s.PGSQL.%d" % PORT))
    c.sendall(struct.pack("!IIII", 16, 80877102, pid, key))
    c.close()
    start_t = time.time()
    got = read_until_ready(s)
    s.close()
    ok(got == "57014", "a cancel sent to the wrong process (B) cancels the query on A: %s after %.1f s"
       % (got, time.time() - start_t))
    rows = [r for r in psycopg.connect(b.dsn("pgbouncer"), autocommit=True).execute("SHOW PEER_POOLS").fetchall()
            if r[0] == 1]
    ok(rows and rows[0][5] >= 1, "SHOW PEER_POOLS on B counts the forwarded cancel", rows)
    peers = psycopg.connect(b.dsn("pgbouncer"), autocommit=True).execute("SHOW PEERS").fetchall()
    ok(sorted(r[0] for r in peers) == [1, 2, 3, 4] and all(r[2] == PORT for r in peers), "SHOW PEERS lists [peers]",
       peers)


def exited(p, secs):
    try:
        p.proc.wait(secs)
        return True
    except subprocess.TimeoutExpired:
        return False


def new_connections(n):
    """N new TCP connections to the shared port, one after the other; how many ran a query."""
    good = 0
    for _ in range(n):
        try:
            with psycopg.connect("host=127.0.0.1 port=%d user=postgres dbname=postgres" % PORT,
                                 autocommit=True, connect_timeout=10) as conn:
                good += conn.execute("SELECT 1").fetchone()[0]
        except psycopg.Error as e:
            fgtest.diag("new connection failed: %s" % e)
        time.sleep(0.1)
    return good


def test_rolling_restart(a, b, started):
    script = os.path.join(BASE, "select.sql")
    with open(script, "w") as f:
        f.write("SELECT 1;\n")
    bench = subprocess.Popen(["timeout", "120", "pgbench", "-n", "-f", script, "-c", "50", "-j", "2", "-T", "20",
                              "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "postgres"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(4)
    c = start("c", 3, [("a", 1), ("b", 2), ("c", 3), ("d", 4)])
    started.append(c)
    psycopg.connect(a.dsn("pgbouncer"), autocommit=True).execute("SHUTDOWN WAIT_FOR_CLIENTS")
    new_ok = new_connections(20)
    d = start("d", 4, [("a", 1), ("b", 2), ("c", 3), ("d", 4)])
    started.append(d)
    b.proc.send_signal(signal.SIGTERM)
    new_ok += new_connections(20)
    ok(a.proc.poll() is None and b.proc.poll() is None, "A and B keep running while pgbench's clients stay")
    out = bench.communicate(timeout=150)[0]
    failed = re.search(r"number of failed transactions: (\d+)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    ok(bench.returncode == 0 and failed and failed.group(1) == "0" and done and int(done.group(1)) > 0,
       "rolling restart under pgbench -c 50 -T 20: exit 0, 0 failed transactions (%s processed)"
       % (done and done.group(1)), out[-800:])
    ok(new_ok == 40, "every new connection during the restart succeeded (%d of 40)" % new_ok)
    ok(exited(a, 15) and exited(b, 15), "A and B exit once their clients left")
    with psycopg.connect("host=127.0.0.1 port=%d user=postgres dbname=postgres" % PORT, autocommit=True) as conn:
        ok(conn.execute("SELECT 7").fetchone()[0] == 7, "C and D serve the port afterwards")


def main():
    peers = [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
    started = []
    try:
        a = start("a", 1, peers)
        started.append(a)
        b = start("b", 2, peers)
        started.append(b)
        for test in (lambda: test_cancel_wrong_process(a, b), lambda: test_rolling_restart(a, b, started)):
            try:
                test()
            except Exception as e:
                ok(False, "test ran without an exception", repr(e))
    finally:
        for p in started:
            p.stop()
    for p in started:
        ok(p.sanitizer_clean(), "no sanitizer report (%s)" % p.dir)
    for p in started:
        p.finish()
    subprocess.call(["rm", "-rf", BASE])
    return fgtest.done_testing()


if __name__ == "__main__":
    sys.exit(main())
