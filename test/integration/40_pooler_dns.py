#!/usr/bin/python3
"""40_pooler_dns.py: server host names resolved without blocking (dns.c, docs/pooler.md "Host names and
DNS"), against a small DNS server of the test's own on 127.0.0.1 (dns_resolv_conf points the pooler's
resolver at it):
- a [databases] host name is resolved and SHOW DNS_HOSTS lists it (hostname, ttl, addrs, status);
- while the answer for one name is held back, the event loop goes on: the admin console answers and a
  client of another database runs its query; the held client gets its server once the answer comes;
- every address of a name is tried (the first refuses the connection, the second is PostgreSQL);
- a name that moves (a failover that repoints DNS) is followed: after dns_max_ttl the next server
  connection goes to the new address, both ways (a live address to a dead one and back);
- an unknown name (NXDOMAIN): the client waits to query_wait_timeout (PgBouncer's semantics: a retry may
  succeed), its error names the lookup, and the next client is answered at once naming it too ("server
  login has been failing"); SHOW DNS_ZONES has its columns.
Honours FG_POOLER_BIN.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fakedns  # noqa: E402
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

import psycopg  # noqa: E402

WAIT = 30.0
DEAD = "127.0.0.9"			# nothing listens there: a connect is refused at once
LIVE = "127.0.0.1"			# the harness's PostgreSQL


dns = fakedns.FakeDNS(WAIT)
PORT = fgtest.primary_port()
NAMES = {"pg": "pg.fg-dns.test", "slow": "slow.fg-dns.test", "multi": "multi.fg-dns.test",
         "move": "move.fg-dns.test", "nx": "nx.fg-dns.test"}


def config(p):
    resolv = fakedns.resolv_conf(os.path.join(p.dir, "resolv.conf"), dns)
    lines = ["%sdb = host=%s port=%d dbname=postgres pool_size=2" % (k, v, PORT) for k, v in NAMES.items()]
    return (fgtest.pooler_databases(pool_size=2, extra_db_lines=lines) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "auth_type = trust\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
            "dns_resolv_conf = %s\ndns_max_ttl = 1\ndns_nxdomain_ttl = 1\n" % resolv +
            "server_connect_timeout = 20\nquery_wait_timeout = 60\n")


def one(conn, sql):
    return conn.execute(sql).fetchone()[0]


def dns_hosts(p):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        cur = admin.execute("SHOW DNS_HOSTS")
        names = [d.name for d in cur.description]
        return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}, names


def query_db(p, db):
    """SELECT 1 through database DB on a new client: (value, None) or (None, sqlstate/error text)."""
    try:
        with p.connect(db, connect_timeout=int(WAIT)) as c:
            return one(c, "SELECT 1"), None
    except psycopg.Error as e:
        return None, "%s %s" % (e.sqlstate, e)


def basic_case(p):
    value, err = query_db(p, "pgdb")
    ok(value == 1, "a [databases] host name is resolved and used", err)
    hosts, cols = dns_hosts(p)
    ok(cols[:3] == ["hostname", "ttl", "addrs"], "SHOW DNS_HOSTS has PgBouncer's columns first", cols)
    row = hosts.get(NAMES["pg"], {})
    ok(row.get("addrs") == LIVE and row.get("status") == "ok" and row.get("ttl", -1) >= 0,
       "SHOW DNS_HOSTS lists the name with its address", row)
    ok(fgtest.wait_until(lambda: dns_hosts(p)[0].get(NAMES["pg"], {}).get("ttl") == 0, WAIT),
       "the answer expires after dns_max_ttl (ttl 0)")
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        cur = admin.execute("SHOW DNS_ZONES")
        ok([d.name for d in cur.description] == ["zonename", "serial", "count"] and cur.fetchall() == [],
           "SHOW DNS_ZONES: PgBouncer's columns, no zones (evdns has no SOA check)")


def nonblocking_case(p):
    dns.hold[NAMES["slow"]] = threading.Event()
    got = {}

    def slow_client():
        got["value"], got["error"] = query_db(p, "slowdb")
    t = threading.Thread(target=slow_client)
    t.start()
    asked = fgtest.wait_until(lambda: dns.count(NAMES["slow"]) >= 1, WAIT)
    ok(asked, "the pooler asked the DNS server for the held name")
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        ok(admin.execute("SHOW VERSION").fetchone() is not None,
           "while that answer is held, the admin console answers")
    value, err = query_db(p, "pgdb")
    ok(value == 1, "… and a client of another database runs its query", err)
    row = dns_hosts(p)[0].get(NAMES["slow"], {})
    ok(row.get("status") == "pending" and "value" not in got, "SHOW DNS_HOSTS shows the lookup pending", row)
    dns.hold[NAMES["slow"]].set()
    t.join(WAIT * 2)
    ok(got.get("value") == 1, "once the answer arrives, the held client gets its server", got)


def multi_case(p):
    value, err = query_db(p, "multidb")
    ok(value == 1, "a name whose first address refuses: the second one is tried and used", err)
    ok("trying the next address of %s (2 of 2)" % NAMES["multi"] in p.text("pooler.log"),
       "the log says the next address was tried")
    ok(dns_hosts(p)[0].get(NAMES["multi"], {}).get("addrs") == "%s,%s" % (DEAD, LIVE),
       "SHOW DNS_HOSTS lists both addresses in order")


def reconnect(p, db):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        admin.execute("RECONNECT " + db)


def move_case(p):
    name = NAMES["move"]
    value, err = query_db(p, "movedb")
    ok(value == 1, "move: the name works at its first address", err)
    asked = dns.count(name)
    with dns.lock:
        dns.records[name] = [DEAD]
    ok(fgtest.wait_until(lambda: dns_hosts(p)[0].get(name, {}).get("ttl") == 0, WAIT),
       "move: the cached answer expires (dns_max_ttl)")
    reconnect(p, "movedb")

    def fails_now():
        value, err = query_db(p, "movedb")
        moved["err"] = err
        return value is None and err and "connect failed: %s:%d" % (name, PORT) in err
    moved = {}
    ok(fgtest.wait_until(fails_now, WAIT, interval=0.5),
       "move: once the name points at a dead address, new server connections go there", moved)
    ok(dns.count(name) > asked, "move: the pooler asked the DNS server again")
    with dns.lock:
        dns.records[name] = [LIVE]
    back = {}

    def works_again():
        back["value"], back["err"] = query_db(p, "movedb")
        return back["value"] == 1
    ok(fgtest.wait_until(works_again, WAIT, interval=0.5),
       "move: when the name points back at PostgreSQL, clients get servers again", back)
    ok(dns_hosts(p)[0].get(name, {}).get("addrs") == LIVE, "move: SHOW DNS_HOSTS shows the new address")


def nxdomain_case(p):
    # as in PgBouncer, a client keeps waiting through failed connects (the retry may succeed) until
    # query_wait_timeout; the clients after it are answered at once while the logins keep failing
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
        admin.execute("SET query_wait_timeout = 3")
    try:
        started = time.monotonic()
        value, err = query_db(p, "nxdb")
        waited = time.monotonic() - started
        ok(value is None and err and "query_wait_timeout" in err and 'could not resolve "%s"' % NAMES["nx"] in err,
           "an unknown name: the first client waits to query_wait_timeout, and its error names the lookup", err)
        ok(2.5 < waited < 15, "... after query_wait_timeout (3 s): %.2f s" % waited)
        started = time.monotonic()
        value, err = query_db(p, "nxdb")
        ok(value is None and err and "server login has been failing" in err and
           'could not resolve "%s"' % NAMES["nx"] in err and time.monotonic() - started < 2,
           "... the next client is answered at once, naming it (%.2f s)" % (time.monotonic() - started), err)
    finally:
        with psycopg.connect(p.dsn("faregate"), autocommit=True) as admin:
            admin.execute("SET query_wait_timeout = 60")
    row = dns_hosts(p)[0].get(NAMES["nx"], {})
    ok(row.get("addrs") == "" and row.get("status") not in ("ok", "pending", None),
       "SHOW DNS_HOSTS shows the failed lookup with its reason", row)


def main():
    dns.records = {NAMES["pg"]: [LIVE], NAMES["slow"]: [LIVE], NAMES["multi"]: [DEAD, LIVE],
                   NAMES["move"]: [LIVE]}
    try:
        return fgtest.run_pooler_tests(fgtest.Pooler(config, prefix="faregate-dns."),
                                       [basic_case, nonblocking_case, multi_case, move_case, nxdomain_case])
    finally:
        dns.stop()


if __name__ == "__main__":
    sys.exit(main())
