#!/usr/bin/python3
"""44_pooler_host_lists.py: host lists on [databases] lines (host=a,b, PgBouncer's) and load_balance_hosts
(issue 15; docs/pooler.md "Host lists"). The entries reach the harness's primary two ways, over TCP
(127.0.0.1) and over its Unix socket directory, so inet_client_addr() tells which entry a server
connection used; 127.0.0.2 and 127.0.0.3 are dead entries (nothing listens there: a connect is refused at
once); a name the test's own DNS server answers NXDOMAIN is a dead entry whose lookup fails. Checks:
- round-robin (the default): concurrent transactions get servers on the entries in turn;
- disable: a dead first entry is skipped, and every later connection stays on the one that worked;
- round-robin with a dead entry: every client is served, none by the dead entry;
- an entry whose lookup fails is skipped, with PgBouncer's log line "server DNS lookup failed";
- an entry after a dead one whose name is still being looked up: the client waits for it, then is served;
- every entry dead: the client waits for the retries until query_wait_timeout, as in PgBouncer, and its
  error names the last failure; the next client is answered at once ("server login has been failing");
  meanwhile the attempts come server_login_retry apart (SET on the admin console);
- a cancel request is sent to the address its server connected to, while node 0 has moved on to another
  entry (both entries reach one server here, so this shows the cancel path works, not which host it picks);
- SHOW DATABASES and SHOW POOLS show load_balance_hosts for a list (NULL otherwise), RELOAD changes it;
- /health's probe calls a list reachable when one entry answers, unreachable when none does;
- log_connections logs "new connection to server (from ...)" for each server connection.
Honours FG_POOLER_BIN."""
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fakedns  # noqa: E402
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

import psycopg  # noqa: E402

PORT = fgtest.primary_port()
SOCKDIR = os.environ["FG_CLUSTER_DIR"]	# the primary's unix_socket_directories
NX = "nx.fg-hostlist.test"
SLOW = "slow.fg-hostlist.test"         # answers 127.0.0.1 once the test releases it
dns = fakedns.FakeDNS(60.0)
dns.records = {SLOW: ["127.0.0.1"]}
# held from the start: the /health probe must not have the answer cached before dns_pending_case
dns.hold[SLOW] = threading.Event()
DB_LINES = {
    "rr": "host=127.0.0.1,%s" % SOCKDIR,
    "dis": "host=127.0.0.2,127.0.0.1,%s load_balance_hosts=disable" % SOCKDIR,
    "rrdead": "host=127.0.0.2,127.0.0.1",
    "dnsbad": "host=%s,127.0.0.1 load_balance_hosts=disable" % NX,
    "alldead": "host=127.0.0.2,127.0.0.3",
    "dnsslow": "host=127.0.0.2,%s load_balance_hosts=disable" % SLOW,
    "single": "host=127.0.0.1",
}


def config(p, dis_mode="disable"):
    p.mport = getattr(p, "mport", None) or fgtest.free_port()
    resolv = fakedns.resolv_conf(os.path.join(p.dir, "resolv.conf"), dns)
    lines = []
    for name, hosts in DB_LINES.items():
        if name == "dis":
            hosts = hosts.replace("load_balance_hosts=disable", "load_balance_hosts=" + dis_mode)
        lines.append("%s = %s port=%d dbname=postgres pool_size=6" % (name, hosts, PORT))
    return (fgtest.pooler_databases(pool_size=2, extra_db_lines=lines) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "auth_type = trust\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
            "pool_mode = transaction\nquery_wait_timeout = 60\nserver_connect_timeout = 10\n" +
            "dns_resolv_conf = %s\ndns_nxdomain_ttl = 1\n" % resolv +
            "health_check_period = 500ms\nmetrics_addr = 127.0.0.1\nmetrics_port = %d\n" % p.mport)


def held(p, db, n):
    """N clients of DB, each in an open transaction (so each holds its own server): their connections and
    inet_client_addr() (None = the Unix socket entry)."""
    conns, addrs = [], []
    for _ in range(n):
        c = psycopg.connect(p.dsn(db), connect_timeout=20)
        addrs.append(c.execute("SELECT host(inet_client_addr())").fetchone()[0])
        conns.append(c)
    return conns, addrs


def close_all(conns):
    for c in conns:
        try:
            c.rollback()
            c.close()
        except psycopg.Error:
            pass


def round_robin_case(p):
    conns, addrs = held(p, "rr", 4)
    ok(addrs == ["127.0.0.1", None, "127.0.0.1", None],
       "round-robin: four concurrent transactions get servers on entry 1, 2, 1, 2 of the list", addrs)
    close_all(conns)


def disable_case(p):
    conns, addrs = held(p, "dis", 3)
    ok(addrs == ["127.0.0.1"] * 3,
       "disable: the dead first entry is skipped and every later server stays on the entry that worked", addrs)
    ok("host 1 of the list 127.0.0.2," in p.text("pooler.log"),
       "the log says which entry of the list failed")
    servers = show_rows(p, "SERVERS", "database", "dis")
    ok(len(servers) == 3 and all(("127.0.0.1:%d" % PORT) in [str(v) for v in r.values()] for r in servers),
       "SHOW SERVERS names the entry each server of the list connected to", servers)
    close_all(conns)


def round_robin_dead_case(p):
    conns, addrs = held(p, "rrdead", 4)
    ok(addrs == ["127.0.0.1"] * 4, "round-robin with a dead entry: every client is served by the live one", addrs)
    close_all(conns)


def dns_case(p):
    conns, addrs = held(p, "dnsbad", 2)
    ok(addrs == ["127.0.0.1"] * 2, "an entry whose lookup fails (NXDOMAIN) is skipped", addrs)
    ok("closing because: server DNS lookup failed" in p.text("pooler.log"),
       "the failed lookup is logged with PgBouncer's words (server DNS lookup failed)")
    close_all(conns)


def dns_pending_case(p):
    """The entry after a dead one is still being looked up: the client waits for it instead of failing."""
    result = {}

    def client():
        try:
            with psycopg.connect(p.dsn("dnsslow"), connect_timeout=20) as c:
                result["addr"] = c.execute("SELECT host(inet_client_addr())").fetchone()[0]
        except psycopg.Error as e:
            result["error"] = str(e)

    t = threading.Thread(target=client)
    t.start()
    asked = fgtest.wait_until(lambda: dns.count(SLOW) > 0, 10)
    time.sleep(0.5)
    ok(asked and "error" not in result and t.is_alive(),
       "the first entry refused, the second still being looked up: the client waits", result)
    dns.hold[SLOW].set()
    t.join(20)
    ok(result.get("addr") == "127.0.0.1", "... and is served by the second entry once its name is answered", result)


def admin_set(p, **settings):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        for key, value in settings.items():
            admin.execute("SET %s = %s" % (key, value))


def alldead_attempt(p):
    """A client of alldead runs SELECT 1: (the error or None, seconds it took)."""
    started = time.monotonic()
    try:
        with psycopg.connect(p.dsn("alldead"), connect_timeout=30) as c:
            c.execute("SELECT 1")
    except psycopg.Error as e:
        return e, time.monotonic() - started
    return None, time.monotonic() - started


def all_dead_case(p):
    # as in PgBouncer, the client that finds the pool's logins failing keeps waiting for a retry (every
    # server_login_retry) until query_wait_timeout; the clients after it are answered at once while the
    # logins keep failing
    mark = "every host of the list 127.0.0.2,127.0.0.3 failed"
    admin_set(p, server_login_retry=2, query_wait_timeout=7)
    try:
        before = len(p.text("pooler.log").splitlines())
        err, elapsed = alldead_attempt(p)
        ok(err is not None and "query_wait_timeout" in str(err) and "server login has been failing" in str(err) and
           "127.0.0.3" in str(err), "every entry dead: the first client waits for the retries, then its error names "
           "the last failure", repr(err))
        ok(6.5 < elapsed < 20, "... at query_wait_timeout (7 s): %.2f s" % elapsed)
        stamps = [time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) + float("0" + line[19:23])
                  for line in p.text("pooler.log").splitlines()[before:] if mark in line]
        gaps = [y - x for x, y in zip(stamps, stamps[1:])]
        ok(2 <= len(stamps) <= 5 and gaps and min(gaps) >= 1.9,
           "server_login_retry = 2: the attempts for the waiting client are at least 2 s apart (%d attempts, "
           "gaps %s)" % (len(stamps), ["%.2f" % g for g in gaps]))
        again, elapsed = alldead_attempt(p)
        ok(again is not None and "server login has been failing, try again later (server_login_retry)" in str(again)
           and again.sqlstate in (None, "08006") and elapsed < 2,
           "... the next client is answered at once (08006 when it gets that far): %.2f s" % elapsed, repr(again))
    finally:
        admin_set(p, server_login_retry=1, query_wait_timeout=60)
    ok(mark in p.text("pooler.log"), "the log says every host of the list failed")


def cancel_case(p):
    # the first server of rr is on entry 1 (TCP); hold it so the sleeper gets a server on entry 2 (socket),
    # then open one more so node 0's current entry is entry 1 again when the cancel is sent
    conns, addrs = held(p, "rr", 1)
    sleeper = psycopg.connect(p.dsn("rr"), autocommit=True, connect_timeout=20)
    result = {}

    def run():
        started = time.monotonic()
        try:
            sleeper.execute("SELECT pg_sleep(30)")
            result["error"] = None
        except psycopg.Error as e:
            result["error"] = e
        result["elapsed"] = time.monotonic() - started

    t = threading.Thread(target=run)
    t.start()
    fgtest.wait_until(lambda: any(r[0] == "rr" and r[1] == "postgres" and r[3] == "active"
                                  for r in p.show("CLIENTS") if len(r) > 3), 10)
    more, more_addrs = held(p, "rr", 1)
    time.sleep(0.3)
    sleeper.cancel()
    t.join(20)
    err = result.get("error")
    ok(err is not None and err.sqlstate == "57014" and result.get("elapsed", 99) < 15,
       "a cancel of a server on one entry is answered while node 0 has moved on to another (%.2f s)" %
       result.get("elapsed", -1), "%r, the clients around it on %s, %s" % (err, addrs, more_addrs))
    sleeper.close()
    close_all(conns + more)


def show_rows(p, what, column, value):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as conn:
        cur = conn.execute("SHOW " + what)
        names = [d.name for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall() if dict(zip(names, r)).get(column) == value]


def show_row(p, what, name):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as conn:
        cur = conn.execute("SHOW " + what)
        names = [d.name for d in cur.description]
        for r in cur.fetchall():
            if r[0] == name:
                return dict(zip(names, r))
    return None


def show_case(p):
    dis = show_row(p, "DATABASES", "dis")
    ok(dis and dis["host"] == "127.0.0.2,127.0.0.1,%s" % SOCKDIR and dis["load_balance_hosts"] == "disable",
       "SHOW DATABASES: the host list as written, load_balance_hosts disable", dis)
    rr = show_row(p, "DATABASES", "rr")
    ok(rr and rr["load_balance_hosts"] == "round-robin", "... round-robin by default", rr)
    single = show_row(p, "DATABASES", "single")
    ok(single and single["load_balance_hosts"] is None, "... NULL for one host, as PgBouncer", single)
    pool = show_row(p, "POOLS", "dis")
    ok(pool and pool["load_balance_hosts"] == "disable", "SHOW POOLS shows it too", pool)


def reload_case(p):
    p.write(config(p, dis_mode="round-robin"))
    ok(p.reload(), "RELOAD with load_balance_hosts changed on a list")
    dis = show_row(p, "DATABASES", "dis")
    ok(dis and dis["load_balance_hosts"] == "round-robin", "... SHOW DATABASES follows", dis)
    pool = show_row(p, "POOLS", "dis")
    ok(pool and pool["load_balance_hosts"] == "round-robin", "... and so does the pool", pool)


def health(p):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/health" % p.mport, timeout=5) as r:
            doc = json.loads(r.read())
    except urllib.error.HTTPError as e:
        doc = json.loads(e.read())
    return {d["name"]: d for d in doc["databases"]}


def probe_case(p):
    def verdict(name):
        entry = health(p).get(name)
        return entry and entry.get("primary", {}).get("reachable")
    ok(fgtest.wait_until(lambda: verdict("rrdead") is True, 10),
       "/health: a list whose first entry is dead is reachable (its second answers)", health(p).get("rrdead"))
    ok(fgtest.wait_until(lambda: verdict("alldead") is False, 10),
       "/health: a list with every entry dead is unreachable", health(p).get("alldead"))


def log_case(p):
    text = p.text("pooler.log")
    ok("rr/postgres@127.0.0.1:%d new connection to server (from 127.0.0.1:" % PORT in text,
       "log_connections: PgBouncer's 'new connection to server (from address)' line, per server")


def main():
    try:
        return fgtest.run_pooler_tests(fgtest.Pooler(config, prefix="faregate-hostlist."),
                                       [round_robin_case, disable_case, round_robin_dead_case, dns_case, dns_pending_case,
                                        all_dead_case, cancel_case, show_case, probe_case, log_case,
                                        reload_case])
    finally:
        dns.stop()


if __name__ == "__main__":
    sys.exit(main())
