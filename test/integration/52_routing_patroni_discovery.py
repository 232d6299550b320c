#!/usr/bin/python3
"""52_routing_patroni_discovery.py: the node set of a database from Patroni's REST API (patroni=).

A fake Patroni (http.server on 127.0.0.1, in this process) serves a /cluster document that the test
changes as it goes, in front of the shared harness cluster (primary + 2 replicas). The database line
names a dead endpoint first and the fake second, so every poll also shows the fall-over to the next
endpoint. Checked, each with a bounded wait (never a timed assertion):
  - the members Patroni lists become nodes (SHOW ROUTING: host, verified role, source "patroni ...");
    writes go to the primary, reads to the replica;
  - a member added to /cluster gets reads without touching the pooler;
  - tags.noloadbalance: no reads; lag "unknown" or above max_replica_lag: no reads;
  - a stale leader: /cluster calls a replica the leader, yet writes still go to the node that reports
    pg_is_in_recovery() = false;
  - bad answers (not JSON, HTTP 500, a truncated document, an empty member list) keep the last list,
    and SHOW ROUTING says the last poll failed;
  - a member removed from /cluster while a transaction runs on it: the transaction completes (drained,
    not cut), no new reads reach it, and its row leaves SHOW ROUTING once drained.
Needs the harness's primary and 2 replicas (FG_REPLICA_PORTS).
"""
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, diag, wait_until  # noqa: E402

import psycopg  # noqa: E402

HOST = fgtest.HOST
BOUND = 30.0


class FakePatroni:
    """GET /cluster answers self.body (bytes) with self.status; everything else 404."""

    def __init__(self):
        self.status = 200
        self.body = b"{}"
        self.requests = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                fake.requests += 1
                if self.path != "/cluster":
                    self.send_error(404)
                    return
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(fake.body)))
                self.end_headers()
                self.wfile.write(fake.body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def members(self, members, status=200):
        self.status = status
        self.body = json.dumps({"members": members, "scope": "fg"}).encode()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def member(name, port, role, lag=0, **tags):
    m = {"name": name, "role": role, "state": "running" if role == "leader" else "streaming",
         "api_url": "http://127.0.0.1:1/patroni", "host": HOST, "port": int(port), "timeline": 1}
    if role != "leader":
        m["lag"] = lag
    if tags:
        m["tags"] = tags
    return m


PRIMARY = fgtest.primary_port()
REPLICAS = [int(p) for p in os.environ.get("FG_REPLICA_PORTS", "").split()]
fake = FakePatroni()
dead_port = fgtest.free_port()


def config(p):
    return ("[databases]\n"
            "postgres = dbname=postgres pool_size=4 patroni=http://127.0.0.1:%d,http://127.0.0.1:%d\n"
            % (dead_port, fake.port) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "auth_type = trust\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
            "read_routing = on\nhealth_check_period = 100ms\nmax_replica_lag = 64MB\n"
            "patroni_poll_period = 100ms\npatroni_request_timeout = 1s\nserver_connect_timeout = 5\n")


def routing(p):
    """SHOW ROUTING rows of postgres as dicts."""
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as c:
        cur = c.execute("SHOW ROUTING")
        names = [d.name for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall() if r[0] == "postgres"]


def node_states(p):
    return sorted((r["port"], r["role"], r["status"]) for r in routing(p))


def read_ports(p, n=30):
    """inet_server_port() of N autocommit reads through the pooler."""
    with p.connect() as c:
        return [c.execute("SELECT inet_server_port()").fetchone()[0] for _ in range(n)]


def write_port(p):
    with p.connect() as c:
        c.execute("CREATE TABLE IF NOT EXISTS fg_patroni_disc (a int)")
        return c.execute("INSERT INTO fg_patroni_disc VALUES (1) RETURNING inet_server_port()").fetchone()[0]


def wait_nodes(p, want):
    want = sorted(want)
    last = []

    def cond():
        last[:] = [node_states(p)]
        return last[0] == want
    good = wait_until(cond, BOUND)
    if not good:
        diag("SHOW ROUTING: %r (wanted %r)" % (last, want))
    return good


def test_discovery(p):
    fake.members([member("pg0", PRIMARY, "leader"), member("pg1", REPLICAS[0], "replica")])
    # the first client of the database creates its pool, which starts the polling
    with p.connect() as c:
        ok(c.execute("SELECT 1").fetchone()[0] == 1,
           "a client logs in: it waits for the member list, then for the login to the leader")
    ok(wait_nodes(p, [(PRIMARY, "primary", "up"), (REPLICAS[0], "replica", "up")]),
       "the two members of /cluster become nodes, each verified in its role (dead first endpoint skipped)")
    rows = routing(p)
    ok(all(r["source"].startswith("patroni pg") and ("127.0.0.1:%d" % fake.port) in r["source"] for r in rows),
       "SHOW ROUTING source names the Patroni member and the endpoint that answered", repr(rows))
    ok(write_port(p) == PRIMARY, "a write goes to the leader")
    ok(set(read_ports(p)) == {REPLICAS[0]}, "reads go to the replica")


def test_member_added(p):
    fake.members([member("pg0", PRIMARY, "leader"), member("pg1", REPLICAS[0], "replica"),
                  member("pg2", REPLICAS[1], "replica")])
    ok(wait_nodes(p, sorted([(PRIMARY, "primary", "up"), (REPLICAS[0], "replica", "up"),
                             (REPLICAS[1], "replica", "up")])), "a member added to /cluster becomes a node")
    ok(wait_until(lambda: REPLICAS[1] in read_ports(p, 20), BOUND), "the added member receives reads")


def test_tags_and_lag(p):
    fake.members([member("pg0", PRIMARY, "leader"), member("pg1", REPLICAS[0], "replica", noloadbalance=True),
                  member("pg2", REPLICAS[1], "replica")])
    ok(wait_until(lambda: set(read_ports(p, 20)) == {REPLICAS[1]}, BOUND),
       "tags.noloadbalance: no reads on that member")
    fake.members([member("pg0", PRIMARY, "leader"), member("pg1", REPLICAS[0], "replica", noloadbalance=True),
                  member("pg2", REPLICAS[1], "replica", lag="unknown")])
    ok(wait_until(lambda: set(read_ports(p, 20)) == {PRIMARY}, BOUND),
       "lag \"unknown\" and noloadbalance: no replica takes reads, they fall back to the primary")
    fake.members([member("pg0", PRIMARY, "leader"), member("pg1", REPLICAS[0], "replica", noloadbalance=True),
                  member("pg2", REPLICAS[1], "replica", lag=1 << 40)])
    ok(wait_until(lambda: set(read_ports(p, 20)) == {PRIMARY}, BOUND),
       "Patroni's lag above max_replica_lag: no reads")
    fake.members([member("pg0", PRIMARY, "leader"), member("pg1", REPLICAS[0], "replica"),
                  member("pg2", REPLICAS[1], "replica")])
    ok(wait_until(lambda: set(read_ports(p, 30)) == set(REPLICAS), BOUND), "tags cleared: both replicas read again")


def test_stale_leader(p):
    fake.members([member("pg0", PRIMARY, "replica"), member("pg1", REPLICAS[0], "leader"),
                  member("pg2", REPLICAS[1], "replica")])
    ok(wait_until(lambda: any(r["port"] == REPLICAS[0] and " leader " in r["source"] for r in routing(p)), BOUND),
       "SHOW ROUTING shows Patroni's (stale) leader")
    ports = {write_port(p) for _ in range(5)}
    ok(ports == {PRIMARY}, "writes still go to the node that reports pg_is_in_recovery() = false", repr(ports))
    rows = {r["port"]: r["role"] for r in routing(p)}
    ok(rows.get(PRIMARY) == "primary" and rows.get(REPLICAS[0]) == "replica",
       "the roles shown are the checked ones, not Patroni's", repr(rows))
    fake.members([member("pg0", PRIMARY, "leader"), member("pg1", REPLICAS[0], "replica"),
                  member("pg2", REPLICAS[1], "replica")])


def test_bad_answers(p):
    good = fake.body
    want = sorted([(PRIMARY, "primary", "up"), (REPLICAS[0], "replica", "up"), (REPLICAS[1], "replica", "up")])
    for name, status, body in [("not JSON", 200, b"<html>oops</html>"), ("HTTP 500", 500, good),
                               ("truncated", 200, good[:len(good) // 2]),
                               ("no members", 200, b'{"members": []}'),
                               ("deep nesting", 200, b"[" * 10000)]:
        fake.status, fake.body = status, body
        seen = fake.requests
        wait_until(lambda: fake.requests >= seen + 3, BOUND)
        rows = routing(p)
        ok(sorted((r["port"], r["role"], r["status"]) for r in rows) == want and
           all("last poll failed" in r["source"] or name == "no members" for r in rows),
           "%s: the last member list stays; SHOW ROUTING says the poll failed" % name, repr(rows[:1]))
        ok(set(read_ports(p, 10)) <= set(REPLICAS), "%s: reads still reach the replicas" % name)
    fake.status, fake.body = 200, good
    ok(wait_until(lambda: all("last poll failed" not in r["source"] for r in routing(p)), BOUND),
       "a good answer again clears the error")


def test_member_removed(p):
    result = {}

    def long_read():
        try:
            with p.connect() as c:
                result["row"] = c.execute("SELECT inet_server_port(), pg_sleep(3)").fetchone()
        except psycopg.Error as e:
            result["error"] = str(e)

    # only pg2 takes reads, so the long read runs there
    fake.members([member("pg0", PRIMARY, "leader"), member("pg1", REPLICAS[0], "replica", noloadbalance=True),
                  member("pg2", REPLICAS[1], "replica")])
    wait_until(lambda: set(read_ports(p, 10)) == {REPLICAS[1]}, BOUND)
    t = threading.Thread(target=long_read)
    t.start()
    wait_until(lambda: any(r["status"] == "up" and r["port"] == REPLICAS[1] for r in routing(p)) and
               t.is_alive(), 5)
    time.sleep(0.5)
    fake.members([member("pg0", PRIMARY, "leader"), member("pg1", REPLICAS[0], "replica")])
    ok(wait_until(lambda: any(r["port"] == REPLICAS[1] and r["status"] == "removed" for r in routing(p)), BOUND)
       and t.is_alive(), "the removed member shows as removed while its transaction drains")
    ok(set(read_ports(p, 10)) == {REPLICAS[0]}, "new reads avoid the removed member")
    t.join(BOUND)
    ok(result.get("row") and result["row"][0] == REPLICAS[1],
       "the transaction running on the removed member completed (drained, not cut)", repr(result))
    ok(wait_nodes(p, [(PRIMARY, "primary", "up"), (REPLICAS[0], "replica", "up")]),
       "once drained, the removed member leaves SHOW ROUTING")
    ok("joined from Patroni" in p.text("pooler.log") and "left Patroni's member list" in p.text("pooler.log"),
       "the log names joins and departures")


def main():
    if len(REPLICAS) < 2:
        fgtest.skip("needs the harness's 2 replicas (FG_REPLICA_PORTS)")
        return fgtest.done_testing()
    fake.members([])
    p = fgtest.Pooler(config)
    try:
        return fgtest.run_pooler_tests(p, [test_discovery, test_member_added, test_tags_and_lag,
                                           test_stale_leader, test_bad_answers, test_member_removed])
    finally:
        fake.close()
        with fgtest.primary_connect() as c:
            c.execute("DROP TABLE IF EXISTS fg_patroni_disc")


if __name__ == "__main__":
    sys.exit(main())
