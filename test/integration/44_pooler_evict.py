#!/usr/bin/python3
"""44_pooler_evict.py: at max_db_connections or max_user_connections, a pool whose clients wait takes the
server idle the longest from another pool that shares the limit (PgBouncer's eviction; issue 15,
PgBouncer's test_max_db_connections). Database cap has max_db_connections = 2: users ev_a and ev_b leave
one idle server each, then ev_c's query is served at once (not after query_wait_timeout, nor after
server_idle_timeout), the log says "closing because: evicted", and the database never holds more than 2
servers. The same for max_user_connections = 1 with user ev_u over two databases. Honours FG_POOLER_BIN."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

import psycopg  # noqa: E402

ROLES = ("ev_a", "ev_b", "ev_c", "ev_u")
PORT = fgtest.primary_port()


def config(p):
    lines = ["cap = host=127.0.0.1 port=%d dbname=postgres max_db_connections=2" % PORT,
             "u1 = host=127.0.0.1 port=%d dbname=postgres" % PORT,
             "u2 = host=127.0.0.1 port=%d dbname=postgres" % PORT,
             "[users]", "ev_u = max_user_connections=1"]
    return (fgtest.pooler_databases(pool_size=2, extra_db_lines=lines) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "auth_type = trust\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
            "pool_mode = transaction\nquery_wait_timeout = 8\nserver_idle_timeout = 600\n")


def query(p, db, user):
    started = time.monotonic()
    try:
        with psycopg.connect(p.dsn(db, user=user), autocommit=True, connect_timeout=20) as c:
            value = c.execute("SELECT current_user").fetchone()[0]
    except psycopg.Error as e:
        value = "error: %s" % e
    return value, time.monotonic() - started


def db_connections(p, name):
    for row in p.show("DATABASES"):
        if row[0] == name:
            return row[12]
    return None


def db_case(p):
    for user in ("ev_a", "ev_b"):
        value, _ = query(p, "cap", user)
        ok(value == user, "%s is served by database cap (max_db_connections = 2)" % user, value)
    ok(db_connections(p, "cap") == 2, "cap holds 2 idle servers, its limit", db_connections(p, "cap"))
    value, took = query(p, "cap", "ev_c")
    ok(value == "ev_c" and took < 5, "a third user's query is served at once (%.2f s), not after "
       "query_wait_timeout (8 s)" % took, value)
    ok("closing because: evicted: max_db_connections reached" in p.text("pooler.log"),
       "the log says an idle server of another pool was evicted")
    ok(db_connections(p, "cap") <= 2, "cap still holds at most 2 servers", db_connections(p, "cap"))


def user_case(p):
    value, _ = query(p, "u1", "ev_u")
    ok(value == "ev_u", "ev_u (max_user_connections = 1) is served by u1", value)
    value, took = query(p, "u2", "ev_u")
    ok(value == "ev_u" and took < 5, "ev_u is then served by u2 at once (%.2f s): u1's idle server is evicted" % took,
       value)
    ok("closing because: evicted: max_user_connections reached" in p.text("pooler.log"),
       "the log says so")


def main():
    with fgtest.primary_connect() as c:
        for r in ROLES:
            c.execute("DROP ROLE IF EXISTS %s" % r)
            c.execute("CREATE ROLE %s LOGIN" % r)
    try:
        return fgtest.run_pooler_tests(fgtest.Pooler(config, prefix="faregate-evict."), [db_case, user_case])
    finally:
        with fgtest.primary_connect() as c:
            for r in ROLES:
                c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (r,))
                c.execute("DROP ROLE IF EXISTS %s" % r)


if __name__ == "__main__":
    sys.exit(main())
