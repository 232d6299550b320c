#!/usr/bin/python3
"""46_ops_ratelimit.py: faregate-pooler's rate limits and caps.
- user_tps_limit set on a [databases] line holds within 10% under pgbench load (4 clients, 5 s).
- another user on another database is not slowed much by that load (its pgbench TPS with and without).
- max_user_connections caps the limited user's server connections during the load.
- client_tps_limit with a short rate_limit_delay refuses with SQLSTATE 53400 naming the limit, for the
  simple and the extended protocol; the connection stays usable; SHOW STATS total_rate_limited and
  /metrics faregate_ratelimit_rejections_total count it.
Honours FG_POOLER_BIN."""
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psycopg

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("FG_POOLER_BIN", "pooler/faregate-pooler")
if not BIN.startswith("/"):
    BIN = os.path.join(TOP, BIN)
HOST = os.environ["FG_HOST"]
PRIMARY = int(os.environ["FG_PRIMARY_PORT"])
PGBIN = os.environ.get("FG_PG_BIN", "/usr/lib/postgresql/15/bin")
count = 0
failed = 0


def ok(cond, name, diag=None):
    global count, failed
    count += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (count, name))
    if not cond and diag is not None:
        print("#   " + str(diag).replace("\n", "\n#   "))
    sys.stdout.flush()


def diag(text):
    print("# " + text)


def free_port():
    for _ in range(100):
        port = random.randint(12000, 30000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


class Pooler:
    def __init__(self, dblines, lines):
        self.dir = tempfile.mkdtemp(prefix="faregate-ops-rl.")
        self.port = free_port()
        self.mport = free_port()
        self.ini = os.path.join(self.dir, "pooler.ini")
        with open(self.ini, "w") as f:
            f.write("[databases]\n")
            for line in dblines:
                f.write(line % {"host": HOST, "port": PRIMARY} + "\n")
            f.write("[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % self.port)
            f.write("metrics_port = %d\n" % self.mport)
            f.write("admin_users = postgres\nlogfile = %s/pooler.log\nmax_client_conn = 200\n" % self.dir)
            for line in lines:
                f.write(line + "\n")
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "w")
        self.proc = subprocess.Popen([BIN, self.ini], stdout=self.stderr, stderr=self.stderr)
        with open(os.path.join(os.environ["FG_CLUSTER_DIR"], "pids"), "a") as f:
            f.write("%d\n" % self.proc.pid)
        for _ in range(100):
            try:
                psycopg.connect(self.dsn("faregate"), autocommit=True).close()
                return
            except psycopg.Error:
                time.sleep(0.05)
        raise RuntimeError("pooler did not start: " + open(os.path.join(self.dir, "stderr.log")).read())

    def dsn(self, db="postgres", user="postgres"):
        return "host=127.0.0.1 port=%d user=%s dbname=%s connect_timeout=15" % (self.port, user, db)

    def show(self, what):
        with psycopg.connect(self.dsn("faregate"), autocommit=True) as a:
            cur = a.execute("SHOW " + what)
            cols = [c.name for c in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


def pgbench(p, db, user, clients, seconds, script):
    """Runs pgbench (bounded by -T); returns (tps, transactions, output)."""
    out = subprocess.run([os.path.join(PGBIN, "pgbench") if os.path.exists(os.path.join(PGBIN, "pgbench"))
                          else "pgbench", "-n", "-h", "127.0.0.1", "-p", str(p.port), "-U", user, "-c",
                          str(clients), "-j", "1", "-T", str(seconds), "-f", script, db],
                         capture_output=True, text=True, timeout=seconds + 30)
    text = out.stdout + out.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
    xacts = re.search(r"number of transactions actually processed: (\d+)", text)
    return (float(tps.group(1)) if tps else None, int(xacts.group(1)) if xacts else None, text)


def setup_roles():
    with psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY),
                         autocommit=True) as c:
        for role in ("fg_rl_a", "fg_rl_b"):
            c.execute("DO $$BEGIN CREATE ROLE %s LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$" % role)


def test_tps_limit(tmp):
    limit = 100
    p = Pooler(["limited = host=%(host)s port=%(port)d dbname=postgres user_tps_limit=" + str(limit),
                "other = host=%(host)s port=%(port)d dbname=postgres"],
               ["default_pool_size = 4", "tps_burst = 5", "rate_limit_delay = 2s", "max_user_connections = 3"])
    script = os.path.join(tmp, "select.sql")
    with open(script, "w") as f:
        f.write("SELECT 1;\n")
    try:
        # warm up both pools, then B alone
        pgbench(p, "other", "fg_rl_b", 2, 1, script)
        b_alone, _, text = pgbench(p, "other", "fg_rl_b", 2, 3, script)
        ok(b_alone is not None, "user B alone: %s tps" % b_alone, text)
        result = {}

        def run_a():
            result["a"] = pgbench(p, "limited", "fg_rl_a", 4, 5, script)

        ta = threading.Thread(target=run_a)
        ta.start()
        max_servers = 0
        time.sleep(1.0)
        tb = threading.Thread(target=lambda: result.__setitem__("b", pgbench(p, "other", "fg_rl_b", 2, 3, script)))
        tb.start()
        samples = 0
        while ta.is_alive():
            try:
                n = sum(1 for s in p.show("SERVERS") if s["user"] == "fg_rl_a")
                max_servers = max(max_servers, n)
                samples += 1
            except psycopg.OperationalError:
                pass  # a busy (sanitizer) build may be slow to log the admin in: skip the sample
            time.sleep(0.2)
        ta.join()
        tb.join()
        a_tps, a_xacts, text = result["a"]
        ok(a_tps is not None and abs(a_tps - limit) <= 0.10 * limit,
           "user_tps_limit=%d on the database line holds within 10%% under 4 pgbench clients: %s tps "
           "(%s transactions in 5 s)" % (limit, a_tps, a_xacts), text)
        ok("aborted" not in text, "no limited pgbench client was refused (delays stay under rate_limit_delay)",
           text)
        b_with = result["b"][0]
        ok(b_with is not None and b_alone and b_with >= 0.6 * b_alone,
           "user B is not slowed by A's limited load: %s tps alone, %s tps with A (ratio %.2f)" %
           (b_alone, b_with, (b_with or 0) / (b_alone or 1)), result["b"][2])
        ok(samples > 0 and 0 < max_servers <= 3, "max_user_connections = 3 holds for user A during the load "
           "(max seen %d in %d samples)" % (max_servers, samples))
        stats = {r["database"]: r for r in p.show("STATS")}
        ok(int(stats["limited"]["total_rate_delayed"]) > 0 and int(stats["other"]["total_rate_delayed"]) == 0,
           "SHOW STATS total_rate_delayed counts the limited database only (%s)" %
           stats["limited"]["total_rate_delayed"])
    finally:
        p.stop()
    return p


def test_reject():
    p = Pooler(["strict = host=%(host)s port=%(port)d dbname=postgres client_tps_limit=2"],
               ["tps_burst = 1", "rate_limit_delay = 100ms"])
    try:
        c = psycopg.connect(p.dsn("strict"), autocommit=True)
        refused = []
        done = 0
        for i in range(6):
            try:
                c.execute("SELECT 1")  # simple protocol (no parameters)
                done += 1
            except psycopg.Error as e:
                refused.append(e)
        ok(done >= 1 and len(refused) >= 3, "client_tps_limit refuses quick requests beyond the burst "
           "(%d done, %d refused)" % (done, len(refused)))
        e = refused[0] if refused else None
        ok(e is not None and e.sqlstate == "53400" and "client_tps_limit" in str(e),
           "refusal is SQLSTATE 53400 naming client_tps_limit", e)
        # extended protocol: Parse/Bind/Execute/Sync are dropped up to the Sync, which gets ReadyForQuery
        ext_refused = None
        for i in range(4):
            try:
                c.execute("SELECT %s::int", (i,))
            except psycopg.Error as e2:
                ext_refused = e2
        ok(ext_refused is not None and ext_refused.sqlstate == "53400",
           "extended-protocol request refused with 53400 too", ext_refused)
        time.sleep(0.6)
        ok(c.execute("SELECT %s::int", (42,)).fetchone()[0] == 42, "the connection is usable once tokens accrue")
        c.close()
        stats = {r["database"]: r for r in p.show("STATS")}
        ok(int(stats["strict"]["total_rate_limited"]) >= 4, "SHOW STATS total_rate_limited counts refusals (%s)"
           % stats["strict"]["total_rate_limited"])
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % p.mport, timeout=10).read().decode()
        m = re.search(r'^faregate_ratelimit_rejections_total\{limit="client_tps_limit"\} (\d+)$', body, re.M)
        ok(m and int(m.group(1)) == int(stats["strict"]["total_rate_limited"]),
           "/metrics faregate_ratelimit_rejections_total{limit=client_tps_limit} matches", m and m.group(0))
    finally:
        p.stop()
    return p


def main():
    setup_roles()
    tmp = tempfile.mkdtemp(prefix="faregate-ops-rl-scripts.")
    poolers = []
    try:
        poolers.append(test_reject())
        poolers.append(test_tps_limit(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % count)
    for p in poolers:
        if failed == 0:
            shutil.rmtree(p.dir, ignore_errors=True)
        else:
            print("# pooler files kept in " + p.dir)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
