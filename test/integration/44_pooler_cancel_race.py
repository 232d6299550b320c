#!/usr/bin/python3
"""44_pooler_cancel_race.py: a cancel request never reaches the next client's query (issue 15; PgBouncer's
test_cancel_race). With one server connection, client A runs a long query and client B waits for the
server; A is sent 60 cancel requests at once. A's query is cancelled; the cancel connections still in
flight when A's transaction ends would cancel B's query on the same backend, so the server is held
(SV_RESET, counted in SHOW POOLS' sv_being_canceled) until they are done: B's query completes. Bounded:
one run, 30 s. Honours FG_POOLER_BIN."""
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

import psycopg  # noqa: E402


def config(p):
    return (fgtest.pooler_databases(pool_size=1) +
            "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
            "auth_type = trust\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
            "pool_mode = transaction\nquery_wait_timeout = 30\n")


def race_case(p):
    a = p.connect(connect_timeout=20)
    b = p.connect(connect_timeout=20)
    results = {}

    def run(name, conn, sql):
        try:
            conn.execute(sql)
            results[name] = "done"
        except psycopg.Error as e:
            results[name] = e.sqlstate or str(e)

    ta = threading.Thread(target=run, args=("a", a, "SELECT pg_sleep(4)"))
    ta.start()
    time.sleep(0.5)
    tb = threading.Thread(target=run, args=("b", b, "SELECT pg_sleep(1)"))
    tb.start()
    time.sleep(0.5)
    with ThreadPoolExecutor(max_workers=60) as pool:
        for f in [pool.submit(a.cancel) for _ in range(60)]:
            f.result()
    ta.join(20)
    tb.join(20)
    ok(results.get("a") == "57014", "client A's query is cancelled", results)
    ok(results.get("b") == "done", "client B's query, next on the same server, is not hit by A's late cancels",
       results)
    ok(a.execute("SELECT 1").fetchone()[0] == 1 and b.execute("SELECT 2").fetchone()[0] == 2,
       "both clients go on")
    a.close()
    b.close()


def main():
    return fgtest.run_pooler_tests(fgtest.Pooler(config, prefix="faregate-cancel-race."), [race_case])


if __name__ == "__main__":
    sys.exit(main())
