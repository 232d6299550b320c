#!/usr/bin/python3
"""70_patroni_failover.py: faregate-pooler in front of a 3-node Patroni cluster (test/harness/patroni.sh,
Raft store, synchronous_mode: true), twice: one pooler with the three hosts on its database line, one
with REST discovery (patroni= naming every member's REST API), each under write load (writers
inserting numbered rows in autocommit, each acknowledged id recorded) and read load.
Scenarios (FG_PATRONI_SCENARIOS, default "switchover"; `make check-patroni` runs them all):
  switchover  patronictl switchover to a replica
  kill9       the leader's postmaster killed with SIGKILL (Patroni restarts or fails over)
  nodestop    the leader's whole node stopped: its Patroni and its postmaster killed with SIGKILL
  addnode     a 4th member started (patroni.sh --spare 1): Patroni clones it; the discovery pooler
              checks it and sends it reads without any change to the pooler (bounded waits: 180 s)
After each failover event, through both poolers: writes resume (bounded wait: 120 s; the outage is
measured and printed, never asserted), no acknowledged commit is missing on the leader, no read failed,
and SHOW ROUTING's roles agree with patronictl list. Starts and stops its own Patroni cluster. Honours
FG_POOLER_BIN."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SCENARIOS = os.environ.get("FG_PATRONI_SCENARIOS", "switchover").split()
if not os.environ.get("FG_PATRONI_DIR"):
    harness = os.path.join(TOP, "test", "harness", "patroni.sh")
    spare = ["--spare", "1"] if "addnode" in SCENARIOS else []
    os.execv("/bin/bash", ["bash", harness] + spare + ["--", "/usr/bin/env", "FG_PATRONI_INNER=1", sys.argv[0]])
os.environ["FG_CLUSTER_DIR"] = os.environ["FG_PATRONI_DIR"]  # fgtest.register_pid's pids file

import psycopg  # noqa: E402

sys.path.insert(0, os.path.join(TOP, "test", "harness"))
import fgtest  # noqa: E402
from fgtest import ok, diag  # noqa: E402

HOST = fgtest.HOST
N = int(os.environ["FG_PATRONI_NODES"])
PORTS = [int(os.environ["FG_PATRONI%d_PG_PORT" % i]) for i in range(1, N + 1)]
RUN_AS = os.environ.get("FG_RUN_AS", "").split()
CTL = RUN_AS + os.environ["FG_PATRONICTL"].split()
RESUME_BOUND = 120.0
ADD_BOUND = 180.0


def members():
    """patronictl list as {port: (name, role, state)}."""
    out = subprocess.run(CTL + ["list", "-f", "json"], capture_output=True, text=True, timeout=30).stdout
    try:
        return {int(m["Host"].rsplit(":", 1)[1]): (m["Member"], m["Role"], m["State"]) for m in json.loads(out)}
    except (ValueError, KeyError):
        return {}


def leader_port(exclude=None):
    for port, (_, role, state) in members().items():
        if role == "Leader" and state == "running" and port != exclude:
            return port
    return None


def direct(port, sql):
    with psycopg.connect(host=HOST, port=port, user="postgres", dbname="postgres", autocommit=True,
                         connect_timeout=3) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


class Load:
    """Writers and readers through the pooler, each on its own connection, reconnecting after errors."""

    def __init__(self, port, writers=4, readers=4, first_id=0):
        self.port = port
        self.first_id = first_id
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []            # (id, time) of every acknowledged INSERT
        self.write_errors = []
        self.read_errors = []
        self.reads = 0
        self.threads = [threading.Thread(target=self.writer, args=(w,), daemon=True) for w in range(writers)]
        self.threads += [threading.Thread(target=self.reader, daemon=True) for _ in range(readers)]
        for t in self.threads:
            t.start()

    def connect(self):
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                               autocommit=True, connect_timeout=5)

    def writer(self, w):
        conn, nid = None, self.first_id + w * 10_000_000
        while not self.stop.is_set():
            try:
                conn = conn or self.connect()
                nid += 1
                conn.execute("INSERT INTO fg_acks VALUES (%d)" % nid)
                with self.lock:
                    self.acked.append((nid, time.time()))
                time.sleep(0.002)  # bounded load: the machine is shared
            except psycopg.Error as ex:
                conn = self.failed(conn, self.write_errors, ex)

    def failed(self, conn, errors, ex):
        """A writer's or reader's statement failed: records when and why in ERRORS, drops the connection
        (the next statement makes a new one) and pauses briefly; returns None for the caller's conn."""
        with self.lock:
            errors.append((time.time(), str(ex).strip().splitlines()[0][:120]))
        try:
            conn and conn.close()
        except psycopg.Error:
            pass
        time.sleep(0.05)
        return None

    def reader(self):
        conn = None
        while not self.stop.is_set():
            try:
                conn = conn or self.connect()
                conn.execute("SELECT count(*) FROM fg_acks WHERE id < 100").fetchone()
                with self.lock:
                    self.reads += 1
            except psycopg.Error as ex:
                conn = self.failed(conn, self.read_errors, ex)
            time.sleep(0.005)

    def acks_after(self, t):
        with self.lock:
            return [a for a in self.acked if a[1] > t]

    def outage(self, t0):
        """The longest gap between acknowledged writes from 1 s before t0 on (seconds)."""
        with self.lock:
            times = sorted(a[1] for a in self.acked if a[1] >= t0 - 1)
        return max((b - a for a, b in zip(times, times[1:])), default=float("nan"))

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)


def routing_roles(p):
    """SHOW ROUTING as {port: (role, status)}."""
    rows = p.show("ROUTING")
    return {int(r[3]): (r[5], r[6]) for r in rows}


def agrees(p):
    """SHOW ROUTING's verified roles match patronictl list for every running member; a member that is
    not running is not up in SHOW ROUTING."""
    m, r = members(), routing_roles(p)
    for port in PORTS:
        name, role, state = m.get(port, ("?", "?", "stopped"))
        rrole, rstatus = r.get(port, ("?", "?"))
        if state == "running":
            want = "primary" if role == "Leader" else "replica"
            if rrole != want or rstatus not in ("up", "lagging"):
                return False, (m, r)
        elif rstatus == "up":
            return False, (m, r)
    return True, (m, r)


def wait_for(cond, bound):
    deadline = time.time() + bound
    while time.time() < deadline:
        res = cond()
        if res:
            return res
        time.sleep(0.2)
    return cond()


def postmaster_pid(port):
    for i in range(1, N + 1):
        if PORTS[i - 1] == port:
            with open(os.path.join(os.environ["FG_PATRONI%d_DATA" % i], "postmaster.pid")) as f:
                return int(f.readline())
    return None


def node_index(port):
    return PORTS.index(port) + 1


def add_node(pd):
    """addnode: a spare member starts and joins; the discovery pooler pd routes reads to it."""
    spares = os.environ.get("FG_PATRONI_SPARES", "").split()
    if not spares:
        ok(False, "addnode: patroni.sh has a spare member (--spare 1)")
        return
    i = spares[0]
    port = int(os.environ["FG_PATRONI%s_PG_PORT" % i])
    log = open(os.path.join(os.environ["FG_PATRONI_DIR"], "node%s" % i, "patroni.out"), "a")
    proc = subprocess.Popen(RUN_AS + ["setsid", "patroni", os.environ["FG_PATRONI%s_CONF" % i]], stdout=log,
                            stderr=log)
    fgtest.register_pid(proc.pid)
    t0 = time.time()
    joined = wait_for(lambda: members().get(port, ("", "", ""))[2] in ("running", "streaming"), ADD_BOUND)
    ok(bool(joined), "addnode: node%s joins the cluster and runs as a replica (within %d s)" % (i, ADD_BOUND),
       members())
    diag("addnode: node%s running after %.1f s" % (i, time.time() - t0))
    seen = wait_for(lambda: routing_roles(pd).get(port) == ("replica", "up"), ADD_BOUND)
    ok(bool(seen), "addnode: the discovery pooler checks the new member: replica, up (SHOW ROUTING)",
       routing_roles(pd))

    def read_there():
        try:
            with pd.connect() as conn:
                return any(conn.execute("SELECT inet_server_port()").fetchone()[0] == port for _ in range(20))
        except psycopg.Error:
            return False
    ok(bool(wait_for(read_there, ADD_BOUND)), "addnode: reads through the discovery pooler reach the new member")
    diag("addnode: the new member took reads %.1f s after it started" % (time.time() - t0))


def scenario(poolers, name):
    if name == "addnode":
        add_node(poolers[1][0])
        return
    p, load = poolers[0]
    old = leader_port()
    if old is None:
        ok(False, "%s: a leader before the event" % name, members())
        return
    m = members()
    replicas = [port for port, (_, role, state) in m.items() if role != "Leader" and state == "running"]
    t0 = time.time()
    killed_pm = None
    if name == "switchover":
        # with synchronous_mode Patroni switches over only to the synchronous standby
        sync = [port for port in replicas if m[port][1] == "Sync Standby"]
        cand = m[(sync or replicas)[0]][0]
        r = subprocess.run(CTL + ["switchover", "--leader", m[old][0], "--candidate", cand, "--force"],
                           capture_output=True, text=True, timeout=120)
        ok(r.returncode == 0 and "failed" not in r.stdout, "switchover: patronictl switchover to %s succeeds" % cand, r.stdout + r.stderr)
        diag("switchover: " + " ".join(r.stdout.split())[-200:])
    elif name == "kill9":
        killed_pm = postmaster_pid(old)
        os.kill(killed_pm, signal.SIGKILL)
    elif name == "nodestop":
        i = node_index(old)
        patroni_pid = int(open(os.path.join(os.environ["FG_PATRONI_DIR"], "node%d" % i, "patroni.pid")).read())
        pm = postmaster_pid(old)
        os.kill(patroni_pid, signal.SIGKILL)
        os.kill(pm, signal.SIGKILL)
    diag("%s: patronictl list after the event: %s" % (name, members()))

    def changed():
        """the event has happened: a new leader, or (kill9) a new postmaster on a leader"""
        now = leader_port()
        if now is None:
            return None
        if name == "kill9":
            try:
                return time.time() if now != old or postmaster_pid(now) != killed_pm else None
            except (OSError, ValueError):
                return None
        return time.time() if now != old else None
    t_changed = wait_for(changed, RESUME_BOUND)
    ok(bool(t_changed), "%s: Patroni has a leader after the event (within %d s)" % (name, RESUME_BOUND), members())
    t_changed = t_changed or time.time()
    for (p, load), how in zip(poolers, ("host list", "patroni=")):
        resumed = wait_for(lambda: len(load.acks_after(t_changed)) >= 20, RESUME_BOUND)
        ok(bool(resumed), "%s: writes resume through the pooler (%s, within %d s)" % (name, how, RESUME_BOUND),
           "%d write errors, last: %s" % (len(load.write_errors), load.write_errors[-3:]))
    time.sleep(1)
    new = leader_port()
    if name in ("switchover", "nodestop"):
        ok(new is not None and new != old, "%s: a new leader (%s, was %s)" % (name, new, old))
    acked_by = []
    for _, load in poolers:     # copied before the leader is asked: later acks are not in its answer
        with load.lock:
            acked_by.append([a[0] for a in load.acked])
    have = set(r[0] for r in direct(new or old, "SELECT id FROM fg_acks"))
    for (p, load), how, acked in zip(poolers, ("host list", "patroni="), acked_by):
        diag("%s (%s): write outage %.2f s (longest gap between acknowledged writes); leader %s -> %s; "
             "write errors so far %d" % (name, how, load.outage(t0), old, new, len(load.write_errors)))
        with load.lock:
            rerr = list(load.read_errors)
        lost = [i for i in acked if i not in have]
        ok(not lost, "%s: no acknowledged commit is lost (%s, %d acknowledged)" % (name, how, len(acked)), lost[:10])
        ok(not rerr, "%s: no read failed (%s, %d reads so far)" % (name, how, load.reads), rerr[:5])
        res = wait_for(lambda: agrees(p)[0], 30)
        ok(bool(res), "%s: SHOW ROUTING agrees with patronictl list (%s)" % (name, how), agrees(p)[1])


def main():
    leader = leader_port()
    others = [port for port in PORTS if port != leader]
    direct(leader, "CREATE TABLE fg_acks (id bigint PRIMARY KEY)")
    p = fgtest.Pooler(lambda p: "[databases]\npostgres = host=%s port=%d dbname=postgres replicas=%s\n"
                      "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nauth_type = trust\nadmin_users = postgres\n"
                      "logfile = %s/pooler.log\nhealth_check_period = 200ms\nserver_connect_timeout = 3s\n"
                      "max_replica_lag = 16MB\n" %
                      (HOST, leader, ",".join("%s:%d" % (HOST, o) for o in others), p.port, p.dir),
                      prefix="faregate-pooler-patroni.")
    # the same cluster through REST discovery: every member's REST API on the line, no host
    pd = fgtest.Pooler(lambda p: "[databases]\npostgres = dbname=postgres patroni=%s\n"
                       "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nauth_type = trust\nadmin_users = postgres\n"
                       "logfile = %s/pooler.log\nhealth_check_period = 200ms\nserver_connect_timeout = 3s\n"
                       "max_replica_lag = 16MB\npatroni_poll_period = 500ms\n" %
                       (os.environ["FG_PATRONI_REST"], p.port, p.dir), prefix="faregate-pooler-patroni-rest.")
    poolers = []
    try:
        for q, how in ((p, "host list"), (pd, "patroni=")):
            with q.connect() as conn:
                conn.execute("SELECT 1")
            res = wait_for(lambda: agrees(q)[0], 30)
            ok(bool(res), "before any event SHOW ROUTING agrees with patronictl list (%s)" % how, agrees(q)[1])
        poolers = [(p, Load(p.port)), (pd, Load(pd.port, writers=2, readers=2, first_id=100_000_000))]
        time.sleep(3)
        for (q, load), how in zip(poolers, ("host list", "patroni=")):
            ok(len(load.acked) > 0 and load.reads > 0, "writes and reads run through the pooler (%s: %d, %d)" %
               (how, len(load.acked), load.reads), load.write_errors[-3:] + load.read_errors[-3:])
        rows = pd.show("ROUTING")
        ok(len(rows) == N and all(str(r[-1]).startswith("patroni node") for r in rows),
           "the discovery pooler's nodes all come from Patroni (SHOW ROUTING source)", rows)
        for name in SCENARIOS:
            try:
                scenario(poolers, name)
            except Exception as e:
                ok(False, "%s ran without an exception" % name, repr(e))
            time.sleep(2)
    finally:
        for _, load in poolers:
            load.finish()
        for q in (p, pd):
            ok(q.proc.poll() is None, "the pooler is still running")
            q.stop()
            ok(q.sanitizer_clean(), "no sanitizer report")
            q.finish()
    return fgtest.done_testing()


sys.exit(main())
