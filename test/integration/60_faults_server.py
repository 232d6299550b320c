#!/usr/bin/python3
"""60_faults_server.py: faregate-pooler when PostgreSQL fails under it. A kill -9 of a server backend
makes the postmaster restart every backend, and a primary restart changes the topology, so this test
starts a primary of its own (test/harness/cluster.sh --replicas 0; it re-executes itself inside it).
- kill -9 of the backend serving a transaction, and of one serving a COPY FROM STDIN: the client gets an
  error with a SQLSTATE, the work of the killed transaction is absent, everything committed before is
  there, the pool recovers (new transactions succeed) and SHOW POOLS/SHOW LISTS return to baseline.
- an immediate-mode restart of the primary (a crash: no shutdown checkpoint) under pgbench load plus 4
  writer clients that record the id of every INSERT whose COMMIT was acknowledged: clients get errors,
  the pool recovers, and every acknowledged id is in the table afterwards (nothing acknowledged lost).
Honours FG_POOLER_BIN."""
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if not os.environ.get("FG_FAULTS_OWN_CLUSTER"):
    os.environ["FG_FAULTS_OWN_CLUSTER"] = "1"
    os.execv(os.path.join(TOP, "test/harness/cluster.sh"),
             ["cluster.sh", "--replicas", "0", "--", sys.executable, os.path.abspath(__file__)])

import psycopg  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
RUN_AS = os.environ.get("FG_RUN_AS", "").split()


def Pooler():
    return fgtest.Pooler(lambda p: fgtest.pooler_databases(pool_size=4) +
                         "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                         "admin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
                         "server_connect_timeout = 2\nquery_wait_timeout = 20\nmax_client_conn = 200\n",
                         prefix="faregate-faults-server.")


def direct():
    return psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY), autocommit=True)


def wait_primary(seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with direct() as c:
                if not c.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return True
        except psycopg.Error:
            pass
        time.sleep(0.2)
    return False


def state(p):
    """(clients active + waiting, servers active, login clients) outside the admin console."""
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as a:
        lists = {r[0]: r[1] for r in a.execute("SHOW LISTS").fetchall()}
        pools = a.execute("SHOW POOLS").fetchall()
    return (sum(r[2] + r[3] for r in pools if r[0] != "faregate"), sum(r[6] for r in pools if r[0] != "faregate"),
            lists["login_clients"])


def pool_recovers(p, seconds=30):
    """A new transaction through the pooler succeeds within seconds (each try may meet a dead server)."""
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        try:
            with psycopg.connect(p.dsn(), autocommit=True, connect_timeout=5) as c:
                for _ in range(8):   # more than pool_size: every pooled server is exercised
                    c.execute("SELECT 1").fetchone()
            return True, None
        except psycopg.Error as e:
            last = e
            time.sleep(0.2)
    return False, last


def query(sql):
    b = sql.encode() + b"\0"
    return b"Q" + struct.pack("!I", len(b) + 4) + b


def read_until(s, end, seconds=10):
    """Bytes until they end with end (None: until the peer closes)."""
    got = b""
    s.settimeout(seconds)
    while end is None or not got.endswith(end):
        try:
            d = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not d:
            break
        got += d
    return got


def error_sqlstate(data):
    i = data.find(b"E")
    while 0 <= i and i + 5 <= len(data):
        n = struct.unpack("!I", data[i + 1:i + 5])[0]
        for field in data[i + 5:i + 1 + n].split(b"\0"):
            if field[:1] == b"C":
                return field[1:].decode()
        i = data.find(b"E", i + 1)
    return None


def kill_backend(pid):
    """SIGKILL a backend and wait (bounded) until the process is gone, so the next step meets its death."""
    os.kill(pid, signal.SIGKILL)
    fgtest.wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
                      open("/proc/%d/stat" % pid).read().split(") ")[1].startswith("Z"), 30)


def test_kill_mid_transaction(p, base):
    with direct() as d:
        d.execute("CREATE TABLE IF NOT EXISTS fg_kill (id int, what text)")
        d.execute("INSERT INTO fg_kill VALUES (1, 'committed before')")
    # a raw-socket client, to see the very ErrorResponse the pooler sends
    s = socket.create_connection(("127.0.0.1", p.port))
    body = struct.pack("!I", 196608) + b"user\0postgres\0database\0postgres\0\0"
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    read_until(s, b"Z\0\0\0\x05I")
    s.sendall(query("BEGIN; INSERT INTO fg_kill VALUES (2, 'killed transaction'); SELECT pg_backend_pid()"))
    got = read_until(s, b"Z\0\0\0\x05T")
    i = got.index(b"D")
    pid = int(got[i + 11:i + 11 + struct.unpack("!I", got[i + 7:i + 11])[0]])
    kill_backend(pid)
    s.sendall(query("INSERT INTO fg_kill VALUES (3, 'after the kill')"))
    got = read_until(s, None)
    s.close()
    ok(error_sqlstate(got) == "08006" and b"FATAL" in got,
       "kill -9 mid-transaction: the client gets FATAL %s and a closed socket" % error_sqlstate(got), repr(got[-300:]))
    ok(wait_primary(), "the primary is back after its crash restart")
    good, why = pool_recovers(p)
    ok(good, "the pool recovers: new transactions succeed", why)
    with direct() as d:
        rows = sorted(r[0] for r in d.execute("SELECT id FROM fg_kill").fetchall())
    ok(rows == [1], "the committed row is there, the killed transaction's rows are not", rows)
    got = wait(lambda: state(p), base)
    ok(got == base, "SHOW POOLS/SHOW LISTS back to baseline %s" % (base,), got)


def test_kill_mid_copy(p, base):
    ok(wait_primary(), "primary up before the COPY")
    c = psycopg.connect(p.dsn())
    pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
    err = None
    try:
        with c.cursor().copy("COPY fg_kill (id, what) FROM STDIN") as cp:
            for i in range(100, 2000):
                cp.write_row((i, "copied"))
                if i == 1000:
                    kill_backend(pid)
    except psycopg.Error as e:
        err = e
    # libpq keeps no SQLSTATE once the socket is gone; the text is the pooler's 08006 error, with its hint
    ok(err is not None and "server connection closed unexpectedly" in str(err) and "reconnect and retry" in str(err),
       "kill -9 mid-COPY: the client gets the pooler's error", str(err))
    c.close()
    ok(wait_primary(), "the primary is back after its crash restart")
    good, why = pool_recovers(p)
    ok(good, "the pool recovers after the COPY", why)
    with direct() as d:
        n = d.execute("SELECT count(*) FROM fg_kill WHERE what = 'copied'").fetchone()[0]
    ok(n == 0, "nothing of the killed COPY was committed", n)
    got = wait(lambda: state(p), base)
    ok(got == base, "SHOW POOLS/SHOW LISTS back to baseline %s after the COPY" % (base,), got)


def wait(fn, want, seconds=15):
    deadline = time.time() + seconds
    got = None
    while time.time() < deadline:
        try:
            got = fn()
        except psycopg.Error as e:
            got = str(e)
        if got == want:
            return got
        time.sleep(0.2)
    return got


class Writer(threading.Thread):
    """Inserts ids one transaction at a time through the pooler and records each acknowledged commit."""
    def __init__(self, p, base_id, stop):
        super().__init__(daemon=True)
        self.p, self.next_id, self.stop = p, base_id, stop
        self.acked, self.errors = [], 0

    def run(self):
        conn = None
        while not self.stop.is_set() and self.next_id % 1000000 < 100000:
            try:
                if conn is None:
                    conn = psycopg.connect(self.p.dsn(), connect_timeout=5)
                conn.execute("INSERT INTO fg_acked VALUES (%s)", (self.next_id,))
                conn.commit()
                self.acked.append(self.next_id)
            except psycopg.Error:
                self.errors += 1
                try:
                    conn and conn.close()
                except psycopg.Error:
                    pass
                conn = None
                time.sleep(0.05)
            self.next_id += 1
        if conn:
            conn.close()


def test_primary_restart(p, base):
    with direct() as d:
        d.execute("CREATE TABLE fg_acked (id bigint PRIMARY KEY)")
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(PRIMARY), PGUSER="postgres")
    subprocess.run([os.path.join(os.environ["FG_PG_BIN"], "pgbench"), "-i", "-q", "-s", "1", "postgres"],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    env["PGPORT"] = str(p.port)
    bench = subprocess.Popen([os.path.join(os.environ["FG_PG_BIN"], "pgbench"), "-n", "-c", "6", "-T", "12",
                              "postgres"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(os.path.join(os.environ["FG_CLUSTER_DIR"], "pids"), "a") as f:
        f.write("%d\n" % bench.pid)
    stop = threading.Event()
    writers = [Writer(p, (i + 1) * 1000000, stop) for i in range(4)]
    for w in writers:
        w.start()
    # under load: the writers are committing before the crash (bounded wait)
    fgtest.wait_until(lambda: sum(len(w.acked) for w in writers) >= 20, 60)
    before = sum(len(w.acked) for w in writers)
    r = subprocess.run(RUN_AS + [os.path.join(os.environ["FG_PG_BIN"], "pg_ctl"), "-D", os.environ["FG_PRIMARY_DATA"],
                                 "-m", "immediate", "-w", "-t", "60", "restart"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       cwd=os.environ["FG_CLUSTER_DIR"])
    ok(r.returncode == 0, "primary restarted in immediate mode (a crash) under load", r.stderr)
    # the writers commit again after the restart (bounded wait; the count is checked below)
    fgtest.wait_until(lambda: sum(len(w.acked) for w in writers) >= before + 20, 60)
    stop.set()
    for w in writers:
        w.join(30)
    out, _ = bench.communicate(timeout=60)
    acked = [i for w in writers for i in w.acked]
    errors = sum(w.errors for w in writers)
    # errors are expected but not certain: a writer between transactions may just get a new server
    ok(len(acked) > before > 0,
       "writers: %d commits acknowledged (%d before the restart, the rest after it), %d errors during it"
       % (len(acked), before, errors))
    with direct() as d:
        stored = {r[0] for r in d.execute("SELECT id FROM fg_acked").fetchall()}
    lost = [i for i in acked if i not in stored]
    ok(not lost, "every acknowledged commit is in the table (%d acknowledged, %d rows)" % (len(acked), len(stored)),
       lost[:10])
    print("# pgbench: " + " | ".join(line for line in out.splitlines() if "tps" in line or "aborted" in line
                                      or "processed" in line))
    good, why = pool_recovers(p)
    ok(good, "the pool recovers after the primary restart", why)
    got = wait(lambda: state(p), base)
    ok(got == base, "SHOW POOLS/SHOW LISTS back to baseline %s after the restart" % (base,), got)


def main():
    p = Pooler()
    try:
        base = state(p)
        test_kill_mid_transaction(p, base)
        test_kill_mid_copy(p, base)
        test_primary_restart(p, base)
        ok(p.proc.poll() is None, "the pooler is still running")
    finally:
        p.stop()
    ok(p.sanitizer_clean(), "no sanitizer report in the pooler's stderr")
    p.finish()
    sys.exit(fgtest.done_testing())


main()
