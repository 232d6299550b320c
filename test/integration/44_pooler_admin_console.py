#!/usr/bin/python3
"""44_pooler_admin_console.py: faregate-pooler's admin console against PgBouncer 1.25's.
- every SHOW command answers, and its columns start with PgBouncer 1.25's (names and order, from
  pgbouncer_1_25_2's src/admin.c and src/stats.c), faregate's own after them;
- each command's effect: PAUSE/RESUME (a transaction waits, then runs), SUSPEND/RESUME, KILL (clients
  closed, the database paused until RESUME), KILL_CLIENT (that client only), DISABLE/ENABLE (logins
  refused with 'database "x" is disabled'), RECONNECT (a new backend), WAIT_CLOSE, SET (changes SHOW
  CONFIG; restart-only keys refused), the state errors (RESUME when not paused);
- signals: SIGUSR1 pauses and SIGUSR2 resumes; SIGTERM waits for the connected clients (new TCP
  connections refused, the connected client still served), a second SIGTERM stops at once; SIGINT
  lets a running transaction finish, then exits; SIGQUIT stops at once mid-transaction;
- SHUTDOWN WAIT_FOR_CLIENTS under pgbench load: pgbench ends with 0 failed transactions, every
  transaction it reports is in the table, and the pooler exits after it.
Honours FG_POOLER_BIN."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import psycopg
from psycopg.rows import dict_row

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, Pooler  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()

# PgBouncer 1.25's columns (pgbouncer_1_25_2: src/admin.c, src/stats.c)
SOCKET = ["type", "user", "database", "replication", "state", "addr", "port", "local_addr", "local_port",
          "connect_time", "request_time", "wait", "wait_us", "close_needed", "ptr", "link", "remote_pid", "tls",
          "application_name", "prepared_statements", "id"]
SOCKET_DEBUG = SOCKET + ["recv_pos", "pkt_pos", "pkt_remain", "send_pos", "send_remain", "pkt_avail", "send_avail"]
STATS11 = ["server_assignment_count", "xact_count", "query_count", "bytes_received", "bytes_sent", "xact_time",
           "query_time", "wait_time"]
COLUMNS = {
    "CLIENTS": SOCKET,
    "SERVERS": SOCKET,
    "SOCKETS": SOCKET_DEBUG,
    "ACTIVE_SOCKETS": SOCKET_DEBUG,
    "POOLS": ["database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req", "cl_waiting_cancel_req",
              "sv_active", "sv_active_cancel", "sv_being_canceled", "sv_idle", "sv_used", "sv_tested", "sv_login",
              "maxwait", "maxwait_us", "pool_mode", "load_balance_hosts"],
    "DATABASES": ["name", "host", "port", "database", "force_user", "pool_size", "min_pool_size",
                  "reserve_pool_size", "server_lifetime", "pool_mode", "load_balance_hosts", "max_connections",
                  "current_connections", "max_client_connections", "current_client_connections", "paused",
                  "disabled"],
    "STATS": ["database", "total_server_assignment_count", "total_xact_count", "total_query_count",
              "total_received", "total_sent", "total_xact_time", "total_query_time", "total_wait_time",
              "total_client_parse_count", "total_server_parse_count", "total_bind_count",
              "avg_server_assignment_count", "avg_xact_count", "avg_query_count", "avg_recv", "avg_sent",
              "avg_xact_time", "avg_query_time", "avg_wait_time", "avg_client_parse_count",
              "avg_server_parse_count", "avg_bind_count"],
    "STATS_TOTALS": ["database"] + STATS11 + ["client_parse_count", "server_parse_count", "bind_count"],
    "STATS_AVERAGES": ["database"] + STATS11 + ["avg_client_parse_count", "avg_server_parse_count",
                                                "avg_bind_count"],
    "TOTALS": ["name", "value"],
    "USERS": ["name", "pool_size", "reserve_pool_size", "pool_mode", "max_user_connections", "current_connections",
              "max_user_client_connections", "current_client_connections"],
    "FDS": ["fd", "task", "user", "database", "addr", "port", "cancel", "link", "client_encoding", "std_strings",
            "datestyle", "timezone", "password", "scram_client_key", "scram_server_key"],
    "MEM": ["name", "size", "used", "free", "memtotal"],
    "DNS_HOSTS": ["hostname", "ttl", "addrs"],
    "DNS_ZONES": ["zonename", "serial", "count"],
    "STATE": ["key", "value"],
    "PEERS": ["peer_id", "host", "port", "pool_size"],
    "PEER_POOLS": ["peer_id", "cl_active_cancel_req", "cl_waiting_cancel_req", "sv_active_cancel", "sv_login"],
    "LISTS": ["list", "items"],
    "CONFIG": ["key", "value", "default", "changeable"],
    "VERSION": ["version"],
}
# type OIDs PgBouncer declares for some columns (text 25, int4 23, int8 20, numeric 1700)
TYPES = {("CLIENTS", "id"): 20, ("CLIENTS", "port"): 23, ("STATS", "total_xact_count"): 1700,
         ("DATABASES", "paused"): 23, ("DNS_HOSTS", "ttl"): 20, ("POOLS", "load_balance_hosts"): 25}
LISTS_ROWS = ["databases", "users", "peers", "pools", "peer_pools", "free_clients", "used_clients",
              "login_clients", "free_servers", "used_servers", "dns_names", "dns_zones", "dns_queries", "dns_pending"]
TOTALS_ROWS = ["total_server_assignment_count", "total_xact_count", "total_query_count", "total_client_bytes",
               "total_server_bytes", "total_xact_time", "total_query_time", "total_wait_time",
               "total_ps_client_parse_count", "total_ps_server_parse_count", "total_ps_bind_count"]


def config(p, extra=""):
    return ("[databases]\npostgres = host=%s port=%d dbname=postgres pool_size=4\n"
            "other = host=%s port=%d dbname=postgres pool_size=2\n"
            "[pooler]\nlisten_addr = 127.0.0.1\nauth_type = trust\nlisten_port = %d\nunix_socket_dir = %s\n"
            "admin_users = postgres\nstats_users = fg_stats\nlogfile = %s/pooler.log\nshutdown_timeout = 30\n%s"
            "[users]\nfg_listed = pool_size=3\n"
            % (HOST, PRIMARY, HOST, PRIMARY, p.port, p.dir, p.dir, extra))


def admin(p, sql, **kw):
    with psycopg.connect(p.dsn("pgbouncer", **kw), autocommit=True) as a:
        cur = a.execute(sql)
        return cur.fetchall() if cur.description else None


def columns(p, what):
    with psycopg.connect(p.dsn("pgbouncer"), autocommit=True) as a:
        cur = a.execute("SHOW " + what)
        return [(d.name, d.type_code) for d in cur.description], cur.fetchall()


def admin_error(p, sql):
    try:
        admin(p, sql)
        return None
    except psycopg.Error as e:
        return str(e)


def in_background(fn):
    box = {}

    def run():
        try:
            box["value"] = fn()
        except Exception as e:  # the result is checked by the caller
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def test_show_columns(p):
    with p.connect() as c:
        c.execute("SELECT 1")
        for what, want in sorted(COLUMNS.items()):
            cols, rows = columns(p, what)
            names = [n for n, _ in cols]
            ok(names[:len(want)] == want, "SHOW %s: PgBouncer 1.25's columns first, in order" % what,
               (names, want))
            for (w, col), oid in TYPES.items():
                if w == what:
                    got = dict(cols).get(col)
                    ok(got == oid, "SHOW %s %s has type oid %d" % (what, col, oid), got)
        _, rows = columns(p, "LISTS")
        ok([r[0] for r in rows][:len(LISTS_ROWS)] == LISTS_ROWS, "SHOW LISTS: 1.25's rows in order",
           [r[0] for r in rows])
        _, rows = columns(p, "TOTALS")
        ok([r[0] for r in rows][:len(TOTALS_ROWS)] == TOTALS_ROWS, "SHOW TOTALS: 1.25's rows in order",
           [r[0] for r in rows])
        _, rows = columns(p, "STATE")
        ok(dict(rows) .get("active") == "yes" and dict(rows).get("paused") == "no", "SHOW STATE: active", rows)
        mine = [r for r in admin(p, "SHOW CLIENTS") if r[2] == "postgres"]
        ok(len(mine) == 1 and mine[0][3] == "none", "SHOW CLIENTS lists the client, replication none", mine)
    with psycopg.connect(p.dsn("pgbouncer"), autocommit=True) as a:
        notices = []
        a.add_notice_handler(lambda n: notices.append(n.message_primary))
        a.execute("SHOW HELP")
        ok(notices == ["Console usage"], "SHOW HELP sends the usage NOTICE", notices)
    err = admin_error(p, "SHOW NONSENSE")
    ok(err and "unknown SHOW command" in err, "an unknown SHOW is refused", err)


def test_show_rows(p):
    """PgBouncer's rows: the admin database in SHOW DATABASES, every known user in SHOW USERS, console
    commands counted in SHOW STATS."""
    with psycopg.connect(p.dsn("pgbouncer"), autocommit=True, row_factory=dict_row) as a:
        dbs = {r["name"]: r for r in a.execute("SHOW DATABASES").fetchall()}
        row = dbs.get("pgbouncer", {})
        ok(row.get("host") is None and row.get("force_user") == "pgbouncer" and row.get("pool_mode") == "statement"
           and row.get("pool_size") == 2 and row.get("port") == p.port and row.get("current_client_connections", 0) >= 1,
           "SHOW DATABASES has the admin database's row, as PgBouncer's", row)
        users = {r["name"]: r for r in a.execute("SHOW USERS").fetchall()}
        ok(users.get("fg_listed", {}).get("pool_size") == "3" and users["fg_listed"]["current_connections"] == 0,
           "SHOW USERS lists a [users] line's user that has no pool yet", users.get("fg_listed"))
        ok(users.get("postgres", {}).get("current_client_connections", 0) >= 1,
           "... and the admin console's user with its client", users.get("postgres"))
        counts = []
        for _ in range(2):
            stats = {r["database"]: r for r in a.execute("SHOW STATS").fetchall()}
            counts.append((stats["pgbouncer"]["total_xact_count"], stats["pgbouncer"]["total_query_count"]))
        ok(counts[1][0] - counts[0][0] == 1 and counts[1][1] - counts[0][1] == 1,
           "each console command is one transaction and one query of database pgbouncer", counts)


def test_pause_resume(p):
    ok(admin(p, "PAUSE") is None or True, "PAUSE")
    _, rows = columns(p, "STATE")
    ok(dict(rows).get("paused") == "yes", "SHOW STATE paused = yes after PAUSE", rows)
    t, box = in_background(lambda: psycopg.connect(p.dsn(), autocommit=True).execute("SELECT 'ran'").fetchone()[0])
    t.join(1.5)
    ok(t.is_alive(), "while paused a new transaction waits")
    err = admin_error(p, "PAUSE")
    ok(err and "already suspended/paused" in err, "a second PAUSE is refused", err)
    admin(p, "RESUME")
    t.join(30)
    ok(box.get("value") == "ran", "after RESUME it runs", box)
    err = admin_error(p, "RESUME")
    ok(err and "not paused" in err, "RESUME when not paused is refused", err)
    # PAUSE db / RESUME db
    admin(p, "PAUSE other")
    ok([r for r in admin(p, "SHOW DATABASES") if r[0] == "other"][0][15] == 1, "SHOW DATABASES other paused = 1")
    admin(p, "RESUME other")
    ok([r for r in admin(p, "SHOW DATABASES") if r[0] == "other"][0][15] == 0, "… 0 after RESUME other")
    # SUSPEND / RESUME: a transaction waits, then runs. SUSPEND stops accepting too (as PgBouncer), so
    # the same console connection issues RESUME.
    with psycopg.connect(p.dsn("pgbouncer"), autocommit=True) as a:
        a.execute("SUSPEND")
        rows = a.execute("SHOW STATE").fetchall()
        ok(dict(rows).get("suspended") == "yes", "SHOW STATE suspended = yes after SUSPEND", rows)
        t, box = in_background(lambda: psycopg.connect(p.dsn(), autocommit=True, connect_timeout=30)
                               .execute("SELECT 'after suspend'").fetchone()[0])
        t.join(1.5)
        ok(t.is_alive(), "while suspended a new client waits")
        a.execute("RESUME")
    t.join(30)
    ok(box.get("value") == "after suspend", "after RESUME it is served", box)


def test_kill(p):
    c = p.connect()
    c.execute("SELECT 1")
    admin(p, "KILL postgres")
    try:
        c.execute("SELECT 1")
        killed = False
    except psycopg.Error:
        killed = True
    ok(killed, "KILL postgres closed its client")
    ok([r for r in admin(p, "SHOW DATABASES") if r[0] == "postgres"][0][15] == 1,
       "… and the database stays paused (PgBouncer 1.25)")
    t, box = in_background(lambda: psycopg.connect(p.dsn(), autocommit=True).execute("SELECT 'k'").fetchone()[0])
    t.join(1.0)
    ok(t.is_alive(), "… a new transaction waits")
    admin(p, "RESUME postgres")
    t.join(30)
    ok(box.get("value") == "k", "… until RESUME postgres", box)
    err = admin_error(p, "KILL nosuchdb")
    ok(err and "no such database" in err, "KILL of an unknown database is refused", err)


def test_kill_client(p):
    a = p.connect()
    b = p.connect()
    a.execute("SELECT 1")
    b.execute("SELECT 1")
    pid_a = a.info.backend_pid
    rows = [r for r in admin(p, "SHOW CLIENTS") if r[2] == "postgres"]
    ids = sorted(r[20] for r in rows)
    ok(len(ids) == 2, "two clients with ids", rows)
    # the first connected has the lower id
    admin(p, "KILL_CLIENT %d" % ids[0])
    gone = []
    for conn in (a, b):
        try:
            conn.execute("SELECT 1")
            gone.append(False)
        except psycopg.Error:
            gone.append(True)
    ok(gone == [True, False], "KILL_CLIENT closes that client only", (gone, pid_a))
    err = admin_error(p, "KILL_CLIENT 99999999")
    ok(err and "client not found" in err, "KILL_CLIENT of an unknown id is refused", err)
    err = admin_error(p, "KILL_CLIENT x")
    ok(err and "invalid client pointer supplied" in err, "KILL_CLIENT x is refused in PgBouncer's words", err)
    b.close()


def test_disable_enable(p):
    admin(p, "DISABLE other")
    try:
        psycopg.connect(p.dsn("other"), autocommit=True).close()
        err = None
    except psycopg.Error as e:
        err = str(e)
    ok(err and 'database "other" is disabled' in err, "DISABLE other: logins refused", err)
    ok([r for r in admin(p, "SHOW DATABASES") if r[0] == "other"][0][16] == 1, "SHOW DATABASES disabled = 1")
    admin(p, "ENABLE other")
    with psycopg.connect(p.dsn("other"), autocommit=True) as c:
        ok(c.execute("SELECT 2").fetchone()[0] == 2, "ENABLE other: logins admitted again")
    err = admin_error(p, "DISABLE")
    ok(err and "a database is required" in err, "DISABLE without a database is refused", err)


def test_reconnect_wait_close(p):
    with p.connect() as c:
        pid1 = c.execute("SELECT pg_backend_pid()").fetchone()[0]
        admin(p, "RECONNECT postgres")
        admin(p, "WAIT_CLOSE postgres")
        left = [r for r in admin(p, "SHOW SERVERS") if r[2] == "postgres" and r[13] == 1]
        ok(left == [], "WAIT_CLOSE returns once the marked servers are closed", left)
        pid2 = c.execute("SELECT pg_backend_pid()").fetchone()[0]
        ok(pid1 != pid2, "RECONNECT: the next transaction runs on a new backend (%d, %d)" % (pid1, pid2))
        # no WAIT_CLOSE: the idle marked server must not serve one more transaction before the janitor's tick
        pids = set()
        for _ in range(5):
            before = c.execute("SELECT pg_backend_pid()").fetchone()[0]
            admin(p, "RECONNECT postgres")
            after = c.execute("SELECT pg_backend_pid()").fetchone()[0]
            pids.add(before == after)
        ok(pids == {False}, "RECONNECT: the very next transaction already gets a new backend (5 of 5)")


def test_set(p):
    admin(p, "SET default_pool_size = 7")
    conf = dict((r[0], r[1]) for r in admin(p, "SHOW CONFIG"))
    ok(conf.get("default_pool_size") == "7", "SET default_pool_size = 7 shows in SHOW CONFIG", conf.get("default_pool_size"))
    admin(p, "set query_wait_timeout='90'")
    conf = dict((r[0], r[1]) for r in admin(p, "SHOW CONFIG"))
    ok(conf.get("query_wait_timeout") == "90", "set key='value' (quoted, no spaces)", conf.get("query_wait_timeout"))
    err = admin_error(p, "SET listen_port = 1")
    ok(err and "restart" in err, "SET of a restart-only key is refused", err)
    err = admin_error(p, "SET default_pool_size = many")
    ok(err and "whole number" in err, "SET with a bad value is refused", err)
    err = admin_error(p, "SET nosuchkey = 1")
    ok(err and "unknown setting" in err, "SET of an unknown key is refused", err)
    err = admin(p, "SET default_pool_size = 4")
    err = psycopg.connect(p.dsn("pgbouncer", user="fg_stats"), autocommit=True)
    try:
        err.execute("SET default_pool_size = 9")
        msg = None
    except psycopg.Error as e:
        msg = str(e)
    err.close()
    ok(msg and "admin access needed" in msg, "stats_users may not SET", msg)


def test_signal_pause(p):
    p.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    _, rows = columns(p, "STATE")
    ok(dict(rows).get("paused") == "yes", "SIGUSR1 pauses", rows)
    p.proc.send_signal(signal.SIGUSR2)
    time.sleep(0.5)
    _, rows = columns(p, "STATE")
    ok(dict(rows).get("paused") == "no", "SIGUSR2 resumes", rows)


def wait_exit(proc, secs):
    try:
        proc.wait(secs)
        return True
    except subprocess.TimeoutExpired:
        return False


def stops_mid_transaction(signals, name):
    """A fresh pooler with a client inside a transaction gets SIGNALS (0.5 s apart) and must exit."""
    p = Pooler(config, prefix="faregate-admin-stop.")
    c = p.connect()
    c.execute("BEGIN")
    for i, sig in enumerate(signals):
        if i:
            time.sleep(0.5)
        p.proc.send_signal(sig)
    ok(wait_exit(p.proc, 5), name)
    c.close()
    p.stop()
    p.finish()


def test_sigterm():
    p = Pooler(config, prefix="faregate-admin-term.")
    try:
        c = p.connect()
        c.execute("SELECT 1")
        p.proc.send_signal(signal.SIGTERM)
        time.sleep(1)
        ok(p.proc.poll() is None, "SIGTERM: the pooler keeps running while a client is connected")
        ok(c.execute("SELECT 'still'").fetchone()[0] == "still", "… and still serves that client")
        try:
            psycopg.connect(p.dsn(), autocommit=True, connect_timeout=3).close()
            refused = None
        except psycopg.Error as e:
            refused = str(e)
        ok(refused and "refused" in refused, "… new TCP connections are refused (listener closed)", refused)
        with psycopg.connect("host=%s port=%d user=postgres dbname=pgbouncer" % (p.dir, p.port),
                             autocommit=True) as a:
            ok(a.execute("SHOW STATE").fetchall()[3] == ("shutting_down", "wait_for_clients"),
               "… the admin console still answers on the Unix socket")
        c.close()
        ok(wait_exit(p.proc, 10), "… and exits once the last client left")
        stops_mid_transaction([signal.SIGTERM, signal.SIGTERM], "a second SIGTERM stops at once")
    finally:
        p.stop()
    p.finish()


def test_sigint_sigquit():
    p = Pooler(config, prefix="faregate-admin-int.")
    try:
        idle = psycopg.connect(p.dsn("other"), autocommit=True)
        idle.execute("SELECT 1")
        t, box = in_background(lambda: psycopg.connect(p.dsn(), autocommit=True)
                               .execute("SELECT pg_sleep(1.5), 'done'").fetchone()[1])
        time.sleep(0.5)
        p.proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        try:
            idle.execute("SELECT 1")
            err = None
        except psycopg.Error as e:
            err = str(e)
        ok(err is not None and "server shutting down" in err and "closing because: server shutting down" in
           p.text("pooler.log"), "SIGINT: an idle client's next request is refused, in PgBouncer's words", err)
        idle.close()
        t.join(30)
        ok(box.get("value") == "done", "SIGINT: the running transaction finishes", box)
        ok(wait_exit(p.proc, 10), "… then the pooler exits")
        stops_mid_transaction([signal.SIGQUIT], "SIGQUIT stops at once, mid-transaction")
    finally:
        p.stop()
    p.finish()


def test_shutdown_wait_for_clients_under_load():
    p = Pooler(config, prefix="faregate-admin-wfc.")
    try:
        with psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY), autocommit=True) as d:
            d.execute("DROP TABLE IF EXISTS fg_wfc")
            d.execute("CREATE TABLE fg_wfc (id bigserial, v int)")
        script = os.path.join(p.dir, "ins.sql")
        with open(script, "w") as f:
            f.write("INSERT INTO fg_wfc (v) VALUES (1);\n")
        bench = subprocess.Popen(["timeout", "60", "pgbench", "-n", "-c", "8", "-j", "2", "-T", "5", "-f", script,
                                  "-h", "127.0.0.1", "-p", str(p.port), "-U", "postgres", "postgres"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # wait (bounded) until pgbench's 8 clients are logged in, not for a fixed time: on a loaded machine
        # (ASan) 1.5 s was not always enough, and a shutdown before they connect refuses them
        deadline = time.time() + 30
        while time.time() < deadline and bench.poll() is None and \
                sum(1 for r in admin(p, "SHOW CLIENTS") if r[1] == "postgres" and r[2] == "postgres") < 8:
            time.sleep(0.1)
        admin(p, "SHUTDOWN WAIT_FOR_CLIENTS")
        time.sleep(0.5)
        ok(p.proc.poll() is None, "SHUTDOWN WAIT_FOR_CLIENTS: still running under load")
        out = bench.communicate(timeout=90)[0]
        m = re.search(r"number of transactions actually processed: (\d+)", out)
        failed = re.search(r"number of failed transactions: (\d+)", out)
        ok(bench.returncode == 0 and failed and failed.group(1) == "0",
           "pgbench through the shutdown: exit 0, 0 failed transactions", out[-600:])
        with psycopg.connect("host=%s port=%d user=postgres dbname=postgres" % (HOST, PRIMARY), autocommit=True) as d:
            n = d.execute("SELECT count(*) FROM fg_wfc").fetchone()[0]
            d.execute("DROP TABLE fg_wfc")
        ok(m and int(m.group(1)) == n and n > 0, "every transaction pgbench counted is in the table (%s vs %d)"
           % (m and m.group(1), n))
        ok(wait_exit(p.proc, 10), "the pooler exits after the last client left")
    finally:
        p.stop()
    p.finish()


def test_wait_for_servers_waiting():
    """SHUTDOWN WAIT_FOR_SERVERS with a client in a transaction and one waiting for its server (pool of 1):
    the waiting one is closed a moment after the command was answered (PgBouncer's maintenance loop),
    the one in a transaction goes on until its COMMIT."""
    p = Pooler(lambda q: config(q).replace("pool_size=2", "pool_size=1"), prefix="faregate-admin-wfs.")
    try:
        inside = psycopg.connect(p.dsn("other"), autocommit=True)
        inside.execute("BEGIN")
        inside.execute("SELECT 1")
        t, box = in_background(lambda: psycopg.connect(p.dsn("other"), autocommit=True)
                               .execute("SELECT 'served'").fetchone()[0])
        ok(fgtest.wait_until(lambda: any(r[3] == 1 for r in admin(p, "SHOW POOLS") if r[0] == "other"), 5),
           "a second client waits for the pool's only server")
        before = p.text("pooler.log").count("closing because: server shutting down")
        admin(p, "SHUTDOWN WAIT_FOR_SERVERS", host=p.dir)
        ok(p.text("pooler.log").count("closing because: server shutting down") == before,
           "… when SHUTDOWN WAIT_FOR_SERVERS is answered, the waiting client is not closed yet")
        ok(inside.execute("SELECT 'still'").fetchone()[0] == "still", "… the client in a transaction goes on")
        t.join(10)
        err = str(box.get("error", ""))
        ok("server shutting down" in err, "… the waiting client is closed with PgBouncer's words", box)
        inside.execute("COMMIT")
        inside.close()
        ok(wait_exit(p.proc, 10), "… and the pooler exits once the transaction ended")
    finally:
        p.stop()
    p.finish()


def main():
    p = Pooler(config, prefix="faregate-admin.")
    tests = [test_show_columns, test_show_rows, test_pause_resume, test_kill, test_kill_client, test_disable_enable,
             test_reconnect_wait_close, test_set, test_signal_pause]
    try:
        for test in tests:
            try:
                test(p)
            except Exception as e:  # one part failing is one failure; the rest still runs
                ok(False, "%s ran without an exception" % test.__name__, repr(e))
        ok(p.proc.poll() is None, "the pooler is still running")
    finally:
        p.stop()
    ok(p.sanitizer_clean(), "no sanitizer report")
    p.finish()
    for test in (test_sigterm, test_sigint_sigquit, test_wait_for_servers_waiting,
                 test_shutdown_wait_for_clients_under_load):
        try:
            test()
        except Exception as e:
            ok(False, "%s ran without an exception" % test.__name__, repr(e))
    return fgtest.done_testing()


if __name__ == "__main__":
    sys.exit(main())
