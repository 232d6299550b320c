#!/usr/bin/python3
"""61_security.py: faregate-pooler's security properties, with raw-socket and psycopg clients.
- the admin console refuses users in neither admin_users nor stats_users; stats_users may SHOW but
  not RELOAD, PAUSE, RESUME, KILL or SHUTDOWN;
- wrong passwords never succeed, with md5 and with SCRAM-SHA-256, and neither does a replayed exchange
  (a SCRAM client-final or an md5 response captured from a real successful login, sent on a new
  connection);
- no secret (auth_file passwords, a database line's password=) appears in the pooler's log, its
  stderr, SHOW CONFIG or SHOW DATABASES after logins with those passwords;
- an auth_file others can write is refused at start and at RELOAD; one they can read loads with a
  warning naming the chmod to run (documented in docs/pooler.md);
- max_client_conn and max_user_connections hold under a flood of connections.
Honours FG_POOLER_BIN."""
import base64
import hashlib
import hmac
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, msg, cstr, startup, recv_msg  # noqa: E402,F401

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
PW = "Correct-Horse-Battery-7731"
STATS_PW = "Stats-Only-Pw-5521"
DBLINE_PW = "Db-Line-Secret-9902"


class Pooler(fgtest.Pooler):
    """The shared Pooler with users postgres (admin), fg_stats (stats_users) and fg_nobody."""

    def __init__(self, auth_type, extra=(), auth_mode=0o600, wait=True):
        def config(p):
            return ("[databases]\npostgres = host=%s port=%d dbname=postgres pool_size=2\n" % (HOST, PRIMARY) +
                    "withpw = host=%s port=%d dbname=postgres user=postgres password=%s\n"
                    % (HOST, PRIMARY, DBLINE_PW) +
                    "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                    "admin_users = postgres\nstats_users = fg_stats\nlogfile = %s/pooler.log\n" % p.dir +
                    "auth_type = %s\nauth_file = %s\nclient_login_timeout = 5\n" % (auth_type, p.auth) +
                    "".join(line + "\n" for line in extra))
        super().__init__(config, prefix="faregate-security.", wait=wait, auth_mode=auth_mode,
                         auth='"postgres" "%s"\n"fg_stats" "%s"\n"fg_nobody" "%s"\n' % (PW, STATS_PW, PW))

    def dsn(self, db="postgres", user="postgres", password=PW):
        return "host=127.0.0.1 port=%d user=%s password=%s dbname=%s" % (self.port, user, password, db)


def outcome(s):
    """'ok' when AuthenticationOk arrives, else the SQLSTATE of the error (or 'closed')."""
    s.settimeout(10)
    while True:
        t, body = recv_msg(s)
        if t is None:
            return "closed"
        if t == b"R" and struct.unpack("!I", body[:4])[0] == 0:
            return "ok"
        if t == b"E":
            for f in body.split(b"\0"):
                if f[:1] == b"C":
                    return f[1:].decode()
            return "error"


def scram_login(port, user, password, replay=None):
    """A SCRAM-SHA-256 login over a raw socket. Returns (outcome, (client_first, client_final)); with
    replay, sends those captured messages instead of computing new ones."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(startup(user))
    t, body = recv_msg(s)
    if t != b"R" or struct.unpack("!I", body[:4])[0] != 10:
        return "no SASL request", None
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=,r=" + nonce
    client_first = replay[0] if replay else ("n,," + first_bare).encode()
    s.sendall(msg(b"p", cstr("SCRAM-SHA-256") + struct.pack("!I", len(client_first)) + client_first))
    t, body = recv_msg(s)
    if t != b"R" or struct.unpack("!I", body[:4])[0] != 11:
        return (outcome_of(t, body), None)
    server_first = body[4:].decode()
    if replay:
        client_final = replay[1]
    else:
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_msg = ",".join([first_bare, server_first, without_proof]).encode()
        sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        client_final = (without_proof + ",p=" + base64.b64encode(proof).decode()).encode()
    s.sendall(msg(b"p", client_final))
    result = outcome(s)
    s.close()
    return result, (client_first, client_final)


def outcome_of(t, body):
    if t == b"E":
        for f in body.split(b"\0"):
            if f[:1] == b"C":
                return f[1:].decode()
    return "unexpected %r" % t


def md5_login(port, user, password=None, replay=None):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(startup(user))
    t, body = recv_msg(s)
    if t != b"R" or struct.unpack("!I", body[:4])[0] != 5:
        return "no md5 request", None
    salt = body[4:8]
    if replay:
        response = replay
    else:
        inner = hashlib.md5((password + user).encode()).hexdigest()
        response = "md5" + hashlib.md5(inner.encode() + salt).hexdigest()
    s.sendall(msg(b"p", cstr(response)))
    result = outcome(s)
    s.close()
    return result, response


def admin_rights(p):
    try:
        psycopg.connect(p.dsn("faregate", "fg_nobody"), autocommit=True).close()
        ok(False, "a user in neither admin_users nor stats_users is refused the admin console")
    except psycopg.Error as e:
        # libpq reports no SQLSTATE for a failed connection: the message says which refusal it was
        ok("not allowed to connect to the admin console" in str(e),
           "a user in neither admin_users nor stats_users is refused the admin console", str(e))
    def columns(conn, what):  # simple query protocol: the admin console refuses prepared statements
        cur = conn.execute("SHOW " + what, prepare=False)
        cur.fetchall()
        return [d.name for d in cur.description or ()]
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin, \
            psycopg.connect(p.dsn("faregate", "fg_stats", STATS_PW), autocommit=True) as c:
        differ = []
        for what in ("POOLS", "STATS", "CLIENTS", "SERVERS", "DATABASES", "CONFIG", "LISTS", "VERSION"):
            try:
                got = columns(c, what)
            except psycopg.Error as e:
                got = "refused: %s" % e
            want = columns(admin, what)
            if not want or got != want:
                differ.append((what, got, want))
        ok(not differ, "stats_users may run every SHOW command and get the columns an admin gets", differ)
        for cmd in ("RELOAD", "PAUSE", "PAUSE postgres", "RESUME", "KILL postgres", "SHUTDOWN"):
            try:
                c.execute(cmd)
                ok(False, "stats_users may not run " + cmd)
            except psycopg.Error as e:
                ok(e.sqlstate == "42501", "stats_users may not run %s (%s)" % (cmd, e.sqlstate), str(e))
    with psycopg.connect(p.dsn()) as c:
        ok(c.execute("SELECT 1").fetchone()[0] == 1, "the pooler still serves after the refused commands")


def secrets_hidden(p, extra_secrets=()):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as c:
        shown = repr(c.execute("SHOW CONFIG").fetchall()) + repr(c.execute("SHOW DATABASES").fetchall())
    with psycopg.connect(p.dsn("withpw")) as c:
        c.execute("SELECT 1")

    def withpw_client_gone():
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as a:
            cur = a.execute("SHOW CLIENTS")
            col = [d.name for d in cur.description].index("database")
            return not [r for r in cur.fetchall() if r[col] == "withpw"]
    # the pooler has handled the close (and logged whatever it logs for it) once the client is gone
    ok(fgtest.wait_until(withpw_client_gone, 30), "the withpw client's close is handled (SHOW CLIENTS)")
    logs = p.text("pooler.log") + p.text("stderr.log")
    secrets = [PW, STATS_PW, DBLINE_PW] + list(extra_secrets)
    leaked = [s for s in secrets if s in logs or s in shown]
    ok(not leaked and len(logs) > 0, "no secret in the log (%d bytes), SHOW CONFIG or SHOW DATABASES" % len(logs),
       leaked)


def flood(p):
    """max_client_conn = 20 and max_user_connections = 3 under 60 simultaneous logins of user postgres
    running pg_sleep, half to database postgres (pool_size 2), half to withpw (default pool size 20)."""
    results = []
    lock = threading.Lock()

    def one(db):
        try:
            with psycopg.connect(p.dsn(db), autocommit=True, connect_timeout=20) as c:
                c.execute("SELECT pg_sleep(0.3)")
                r = "ok"
        except psycopg.Error as e:
            r = "53300" if "max_client_conn reached" in str(e) else (e.sqlstate or str(e))
        with lock:
            results.append(r)

    peak = [0]
    stop = threading.Event()

    def watch():
        with psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY), autocommit=True) as d:
            while not stop.is_set():
                n = d.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                              "AND usename = 'postgres' AND datname = 'postgres' AND pid <> pg_backend_pid() "
                              "AND query LIKE '%pg_sleep(0.3)%'").fetchone()[0]
                peak[0] = max(peak[0], n)
                time.sleep(0.02)

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    threads = [threading.Thread(target=one, args=(("postgres", "withpw")[i % 2],), daemon=True) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    w.join(5)
    served = results.count("ok")
    refused = results.count("53300")
    ok(len(results) == 60 and served + refused == 60 and refused > 0 and served >= 20,
       "flood of 60 clients against max_client_conn 20: %d served, %d refused with 53300" % (served, refused),
       sorted(set(results)))
    ok(0 < peak[0] <= 3, "user postgres never had more than max_user_connections = 3 server connections busy "
       "over its two pools (peak %d)" % peak[0])


def main():
    dirs = []
    md5p = Pooler("md5", ["max_client_conn = 20", "max_user_connections = 3"])
    dirs.append(md5p.dir)
    try:
        r, captured = md5_login(md5p.port, "postgres", PW)
        ok(r == "ok", "md5: the right password logs in", r)
        r, _ = md5_login(md5p.port, "postgres", "wrong-" + PW)
        ok(r == "28P01", "md5: a wrong password is refused with 28P01", r)
        r, _ = md5_login(md5p.port, "postgres", replay=captured)
        ok(r == "28P01", "md5: a replayed response from a successful login is refused (new salt)", r)
        r, _ = md5_login(md5p.port, "no_such_user", PW)
        ok(r == "28P01", "md5: an unknown user is refused like a wrong password", r)
        admin_rights(md5p)
        secrets_hidden(md5p)
        flood(md5p)
    finally:
        md5p.stop()
    ok(md5p.sanitizer_clean(), "md5 pooler: no sanitizer report")

    sp = Pooler("scram-sha-256")
    dirs.append(sp.dir)
    try:
        r, captured = scram_login(sp.port, "postgres", PW)
        ok(r == "ok", "SCRAM: the right password logs in", r)
        r, _ = scram_login(sp.port, "postgres", "wrong-" + PW)
        ok(r == "28P01", "SCRAM: a wrong password is refused with 28P01", r)
        r, _ = scram_login(sp.port, "postgres", PW, replay=captured)
        ok(r in ("28P01", "08P01"), "SCRAM: a replayed exchange from a successful login is refused (%s)" % r, r)
        r, _ = scram_login(sp.port, "no_such_user", PW)
        ok(r in ("28P01", "no SASL request"), "SCRAM: an unknown user never logs in (%s)" % r, r)
        with psycopg.connect(sp.dsn()) as c:
            ok(c.execute("SELECT 1").fetchone()[0] == 1, "SCRAM: libpq logs in through the pooler")
        secrets_hidden(sp)
        # RELOAD with an auth_file readable by others: loaded, with a warning naming the chmod to run
        os.chmod(sp.auth, 0o644)
        with psycopg.connect(sp.dsn("faregate"), autocommit=True) as c:
            c.execute("RELOAD")
        ok("can be read by its group or others (mode 0644): run chmod 600" in sp.text("pooler.log"),
           "RELOAD loads an auth_file readable by others and warns with the chmod to run",
           sp.text("pooler.log")[-400:])
        # RELOAD with an auth_file others can write: refused, the old one stays
        os.chmod(sp.auth, 0o602)
        with psycopg.connect(sp.dsn("faregate"), autocommit=True) as c:
            try:
                c.execute("RELOAD")
                ok(False, "RELOAD refuses an auth_file others can write")
            except psycopg.Error as e:
                ok("chmod 600" in str(e), "RELOAD refuses an auth_file others can write (%s)" % e.sqlstate, str(e))
        with psycopg.connect(sp.dsn()) as c:
            ok(c.execute("SELECT 1").fetchone()[0] == 1, "… and logins keep working with the old one")
    finally:
        sp.stop()
    ok(sp.sanitizer_clean(), "SCRAM pooler: no sanitizer report")

    bad = Pooler("md5", auth_mode=0o646, wait=False)
    dirs.append(bad.dir)
    try:
        rc = bad.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    bad.stop()
    ok(rc not in (None, 0) and "chmod 600" in bad.text("stderr.log") + bad.text("pooler.log"),
       "the pooler refuses to start with a world-writable auth_file (exit %s)" % rc,
       bad.text("stderr.log")[-500:])

    readable = Pooler("md5", auth_mode=0o644)
    dirs.append(readable.dir)
    try:
        ok("can be read by its group or others (mode 0644): run chmod 600" in readable.text("pooler.log"),
           "the pooler starts with an auth_file readable by others, warning with the chmod to run",
           readable.text("pooler.log")[-400:])
        with psycopg.connect(readable.dsn()) as c:
            ok(c.execute("SELECT 1").fetchone()[0] == 1, "… and its users log in")
    finally:
        readable.stop()

    if fgtest.failed == 0:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    else:
        print("# pooler files kept in " + " ".join(dirs))
    sys.exit(fgtest.done_testing())


main()
