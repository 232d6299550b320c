"""fgtest.py: helpers shared by the Python integration tests (imported, not run).

Tests add test/harness to sys.path (sys.path.insert(0, <repo>/test/harness)) and import this module.
It owns the helpers every test would otherwise copy: the TAP counter (ok, diag, done_testing), free
loopback ports, the pooler binary (FG_POOLER_BIN), a Pooler that writes a config, starts faregate-pooler,
waits for its port and stops it (showing its log when the test failed), connection strings for the
harness's primary, and recreating a fixture database on the primary.
"""
import hashlib
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import psycopg

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = os.environ.get("FG_HOST", "127.0.0.1")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

# --- TAP -------------------------------------------------------------------------------------------

count = 0
failed = 0


def ok(cond, name, diag_text=None):
    """One TAP test line; DIAG_TEXT (any object) is printed as a comment when COND is false."""
    global count, failed
    count += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (count, name))
    if not cond and diag_text is not None:
        print("#   " + str(diag_text).replace("\n", "\n#   "))
    sys.stdout.flush()
    return bool(cond)


def skip(reason):
    """One TAP test line that was skipped (counted in the plan)."""
    global count
    count += 1
    print("ok %d # SKIP %s" % (count, reason))
    sys.stdout.flush()


def diag(text):
    print("# " + str(text).replace("\n", "\n# "))
    sys.stdout.flush()


def done_testing():
    """Prints the plan line; returns the exit status (1 when a test failed)."""
    print("1..%d" % count)
    sys.stdout.flush()
    return 1 if failed else 0


def wait_until(cond, timeout=30.0, interval=0.05):
    """Calls COND until it returns a true value (returned) or TIMEOUT seconds have passed (then its last
    value is returned). The bounded poll for an event a test must wait for: the bound is generous (the
    machine may be busy), the wait ends as soon as the condition holds. COND raising an exception
    counts as false."""
    deadline = time.time() + timeout
    while True:
        try:
            value = cond()
        except Exception:  # not there yet (a connection refused, a row not yet written)
            value = None
        if value or time.time() >= deadline:
            return value
        time.sleep(interval)


# --- processes and ports -----------------------------------------------------------------------------

def free_port():
    """A loopback TCP port nothing listens on right now."""
    for _ in range(100):
        port = random.randint(12000, 30000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def register_pid(pid):
    """Lets the harness (cluster.sh) kill PID when the test run ends, whatever happens to the test."""
    pids = os.path.join(os.environ.get("FG_CLUSTER_DIR", ""), "pids")
    if os.environ.get("FG_CLUSTER_DIR"):
        with open(pids, "a") as f:
            f.write("%d\n" % pid)


def pooler_bin():
    """The faregate-pooler binary under test: FG_POOLER_BIN (relative to the repository) or the plain build."""
    path = os.environ.get("FG_POOLER_BIN", "pooler/faregate-pooler")
    return path if path.startswith("/") else os.path.join(TOP, path)


def primary_port():
    return int(os.environ["FG_PRIMARY_PORT"])


class Pooler:
    """A faregate-pooler on a free loopback port, with its own directory (config, log, stderr).

    CONFIG is the text of the ini file or a function of the Pooler returning it (it may use self.port,
    self.dir). With WAIT, start waits until a connection to WAIT_DSN (default: the admin console through
    self.dsn("faregate")) succeeds. stop() terminates it; finish() also removes the directory when the
    test passed and otherwise prints where the log is and its last lines.
    """

    def __init__(self, config, prefix="faregate-pooler-py.", wait=True, dsn_fmt=None, auth=None,
                 auth_mode=0o600):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.port = free_port()
        self.ini = os.path.join(self.dir, "pooler.ini")
        self.dsn_fmt = dsn_fmt or "host=127.0.0.1 port={port} user=postgres dbname={db}"
        self.auth = None
        if auth is not None:
            self.auth = os.path.join(self.dir, "users.txt")
            with open(self.auth, "w") as f:
                f.write(auth)
            os.chmod(self.auth, auth_mode)
        self.write(config(self) if callable(config) else config)
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "w")
        self.proc = subprocess.Popen([pooler_bin(), self.ini], stdout=self.stderr, stderr=self.stderr)
        register_pid(self.proc.pid)
        if wait:
            self.wait_ready()

    def write(self, text):
        with open(self.ini, "w") as f:
            f.write(text)

    def wait_ready(self, dsn=None, tries=100):
        for _ in range(tries):
            try:
                psycopg.connect(dsn or self.dsn("faregate"), autocommit=True).close()
                return
            except psycopg.Error:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("pooler did not start: " + self.text("stderr.log") + self.text("pooler.log"))

    def dsn(self, db="postgres", **kw):
        extra = "".join(" %s=%s" % kv for kv in kw.items())
        return self.dsn_fmt.format(port=self.port, db=db) + extra

    def connect(self, db="postgres", **kw):
        return psycopg.connect(self.dsn(db, **kw), autocommit=True)

    def show(self, what):
        with psycopg.connect(self.dsn("faregate"), autocommit=True) as conn:
            return conn.execute("SHOW " + what).fetchall()

    def text(self, name):
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            # SIGQUIT: the immediate stop (SIGTERM waits for clients to leave, as PgBouncer 1.23+)
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.stderr.closed:
            self.stderr.close()
        self.report_sanitizer()

    sanitizer_reported = False

    def report_sanitizer(self):
        """Once per pooler, a failed TAP line with the report when its stderr holds an ASan/UBSan/LSan
        report, so a test that runs the ASan build fails on one even when it never asks (stop() calls
        this)."""
        if self.sanitizer_reported or self.sanitizer_clean():
            return
        self.sanitizer_reported = True
        text = self.text("stderr.log")
        at = min(text.find(m) for m in SANITIZER_MARKS if m in text)
        ok(False, "faregate-pooler's stderr holds no sanitizer report (%s)" % self.dir, text[at:at + 2000])

    def reload(self, timeout=30.0):
        """Sends SIGHUP and waits until pooler.log (the config's logfile in self.dir) says the reload was
        done or failed; True when it did within TIMEOUT seconds."""
        def reloads():
            text = self.text("pooler.log")
            return text.count("configuration reloaded") + text.count("reload failed")
        before = reloads()
        self.proc.send_signal(signal.SIGHUP)
        return bool(wait_until(lambda: reloads() > before, timeout))

    def sanitizer_clean(self):
        text = self.text("stderr.log")
        return not any(s in text for s in SANITIZER_MARKS)

    def finish(self):
        """After stop(): removes the directory when no test failed, else shows the log's tail."""
        if not failed:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        print("# pooler log and stderr kept in " + self.dir)
        for name in ("stderr.log", "pooler.log"):
            tail = self.text(name).splitlines()[-15:]
            for line in tail:
                print("#   %s: %s" % (name, line))


def run_pooler_tests(p, tests):
    """Runs each test(p) (an exception is one failed test, the rest still run), checks the pooler is still
    running, stops it, checks its stderr for sanitizer reports, cleans up; returns the exit status."""
    try:
        for test in tests:
            try:
                test(p)
            except Exception as e:  # a crash of one part is a failure, the rest still runs
                ok(False, "%s ran without an exception" % test.__name__, repr(e))
        ok(p.proc.poll() is None, "the pooler is still running")
    finally:
        p.stop()
    if not p.sanitizer_reported:  # else stop() has just failed a test with the report
        ok(p.sanitizer_clean(), "no sanitizer report")
    p.finish()
    return done_testing()


# --- raw wire protocol (for what a driver will not send) ---------------------------------------------

def msg(t, body=b""):
    """A typed message: type byte T, length, BODY."""
    return t + struct.pack("!I", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def startup(user="postgres", db="postgres"):
    """A protocol 3.0 StartupMessage for USER and DB."""
    body = struct.pack("!I", 196608) + cstr("user") + cstr(user) + cstr("database") + cstr(db) + b"\0"
    return struct.pack("!I", len(body) + 4) + body


def recv_msg(s):
    """The next typed message on socket S as (type, body), or (None, b"") when it closed first."""
    head = b""
    while len(head) < 5:
        d = s.recv(5 - len(head))
        if not d:
            return None, b""
        head += d
    n = struct.unpack("!I", head[1:5])[0] - 4
    body = b""
    while len(body) < n:
        d = s.recv(n - len(body))
        if not d:
            return None, b""
        body += d
    return head[:1], body


def login_outcome(port, user, password, db="postgres", source=None):
    """Logs in to 127.0.0.1:PORT over the raw protocol (answering md5 and cleartext requests) and says how
    it ended: "ok", the ErrorResponse's SQLSTATE, "closed", or "auth request N" for another method. For
    the SQLSTATE of a refused login, which libpq does not hand to psql. SOURCE: a local address to
    connect from (another 127.0.0.0/8 address, for hba rules per address)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30,
                                 source_address=(source, 0) if source else None)
    try:
        s.sendall(startup(user, db))
        while True:
            t, body = recv_msg(s)
            if t is None:
                return "closed"
            if t == b"R":
                code = int.from_bytes(body[:4], "big")
                if code == 0:
                    return "ok"
                if code == 5:
                    inner = hashlib.md5((password + user).encode()).hexdigest()
                    s.sendall(msg(b"p", cstr("md5" + hashlib.md5(inner.encode() + body[4:8]).hexdigest())))
                elif code == 3:
                    s.sendall(msg(b"p", cstr(password)))
                else:
                    return "auth request %d" % code
            elif t == b"E":
                fields = dict((f[:1], f[1:]) for f in body.split(b"\0") if f)
                return fields.get(b"C", b"?").decode()
    finally:
        s.close()


def read_until_closed(s, limit):
    """All bytes until the peer closes (True) or LIMIT seconds pass (False), as (bytes, closed)."""
    got = b""
    deadline = time.time() + limit
    while time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return got, True
        if not d:
            return got, True
        got += d
    return got, False


def pooler_databases(pool_size=3, extra_db_lines=()):
    """The common [databases] section: postgres (and tdb with one server) on the harness's primary."""
    lines = ["[databases]",
             "postgres = host=%s port=%d dbname=postgres pool_size=%d" % (HOST, primary_port(), pool_size)]
    lines += list(extra_db_lines)
    return "\n".join(lines) + "\n"


def primary_connect(dbname="postgres"):
    return psycopg.connect(primary_dsn(dbname), autocommit=True)


def primary_dsn(dbname="postgres"):
    """Connection string of the harness's primary (FG_HOST / FG_PRIMARY_PORT) as postgres."""
    return "host=%s port=%s user=postgres dbname=%s" % (
        os.environ.get("FG_HOST", "127.0.0.1"), os.environ["FG_PRIMARY_PORT"], dbname)


def recreate_db(name, timeout=15.0):
    """Drop NAME (closing its sessions) and create it afresh on the primary.

    CREATE DATABASE fails while another session is connected to template1 (a pooler's health check
    left over from the previous test, an autovacuum worker that has not exited yet); that is retried
    until TIMEOUT seconds have passed, then the last error is raised with the sessions that held
    template1 in its message.
    """
    deadline = time.time() + timeout
    with psycopg.connect(primary_dsn(), autocommit=True) as admin:
        admin.execute("SET client_min_messages = warning")
        while True:
            try:
                admin.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
                admin.execute("CREATE DATABASE %s" % name)
                return
            except psycopg.errors.ObjectInUse as err:
                if time.time() >= deadline:
                    holders = admin.execute(
                        "SELECT string_agg(pid || ' ' || backend_type || ' ' || application_name, '; ')"
                        " FROM pg_stat_activity WHERE datname = 'template1'").fetchone()[0]
                    raise RuntimeError("CREATE DATABASE %s: %s (sessions on template1: %s)"
                                       % (name, err, holders)) from err
                time.sleep(0.5)
