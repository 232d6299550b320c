#!/usr/bin/python3
"""45_ops_metrics.py: faregate-pooler's HTTP endpoints and admin-console compatibility.
- GET /metrics is parsed as the Prometheus text format (every line a comment or a sample; HELP/TYPE
  before the family's samples; counters end in _total; histogram buckets cumulative, +Inf = _count) and
  its values checked against the traffic the test sent and against SHOW STATS.
- GET /health and /health/read: JSON, 200 while the primary serves, 503 for a database whose host is down.
- Debian's prometheus-pgbouncer-exporter (1.7), unmodified, scrapes the admin console: its pgbouncer_*
  series exist and match SHOW STATS / SHOW LISTS.
Honours FG_POOLER_BIN."""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, free_port, register_pid  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
EXPORTER = "/usr/bin/prometheus-pgbouncer-exporter"
REPLICAS = [r for r in os.environ.get("FG_REPLICA_PORTS", "").replace(",", " ").split() if r]


def dead_port():
    """A port nobody listens on (bound and closed: connect is refused)."""
    return free_port()


# ---- a Prometheus text-format parser (format 0.0.4) ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
LABEL_NC = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(?P<name>%s)(?P<labels>\{(?:%s(?:,%s)*)?,?\})?\s+(?P<value>\S+)(\s+-?\d+)?$"
                    % (NAME, LABEL_NC, LABEL_NC))


class ParseError(Exception):
    pass


def parse_exposition(text):
    """Returns {family: {"type": t, "help": h, "samples": [(name, {labels}, value)]}}; raises ParseError."""
    families = {}
    current = None
    seen_done = set()
    if not text.endswith("\n"):
        raise ParseError("body does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % NAME, line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise ParseError("line %d: malformed %r" % (n, line))
                continue
            kind, fam, rest = m.groups()
            if fam in seen_done:
                raise ParseError("line %d: family %s appears twice (not grouped)" % (n, fam))
            if current and current != fam:
                seen_done.add(current)
            f = families.setdefault(fam, {"type": None, "help": None, "samples": []})
            if f["samples"]:
                raise ParseError("line %d: %s for %s after its samples" % (n, kind, fam))
            if kind == "TYPE":
                if rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ParseError("line %d: unknown type %r" % (n, rest))
                f["type"] = rest
            else:
                f["help"] = rest
            current = fam
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ParseError("line %d: not a sample: %r" % (n, line))
        name, labeltext, value = m.group("name"), m.group("labels") or "", m.group("value")
        labels = {}
        for lm in re.finditer(LABEL, labeltext):
            if lm.group(1) in labels:
                raise ParseError("line %d: label %s repeated" % (n, lm.group(1)))
            labels[lm.group(1)] = lm.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        try:
            v = float(value)
        except ValueError:
            raise ParseError("line %d: value %r is not a number" % (n, value))
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in families and \
                    families[name[: -len(suffix)]]["type"] in ("histogram", "summary"):
                fam = name[: -len(suffix)]
        if fam not in families or families[fam]["type"] is None:
            raise ParseError("line %d: sample %s before its TYPE line" % (n, name))
        if fam != current:
            raise ParseError("line %d: sample of %s inside family %s" % (n, fam, current))
        families[fam]["samples"].append((name, labels, v))
    return families


def check_conventions(families):
    """Problems with names, units and histograms (empty list = none)."""
    problems = []
    for fam, f in families.items():
        if not fam.startswith("faregate_"):
            problems.append("%s: no faregate_ prefix" % fam)
        if f["type"] == "counter" and not fam.endswith("_total"):
            problems.append("%s: counter not ending in _total" % fam)
        if f["type"] != "counter" and fam.endswith("_total"):
            problems.append("%s: _total on a %s" % (fam, f["type"]))
        if re.search(r"_(ms|milliseconds|us|microseconds|kb|mb)(_|$)", fam):
            problems.append("%s: not in base units" % fam)
        if not f["help"]:
            problems.append("%s: no HELP" % fam)
        keys = [(s[0], tuple(sorted(s[1].items()))) for s in f["samples"]]
        if len(keys) != len(set(keys)):
            problems.append("%s: duplicate series" % fam)
        if f["type"] == "histogram":
            groups = {}
            for name, labels, v in f["samples"]:
                rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
                groups.setdefault(rest, {"buckets": [], "count": None, "sum": None})
                g = groups[rest]
                if name == fam + "_bucket":
                    g["buckets"].append((float(labels["le"]), v))
                elif name == fam + "_count":
                    g["count"] = v
                elif name == fam + "_sum":
                    g["sum"] = v
            for rest, g in groups.items():
                b = g["buckets"]
                if [x[0] for x in b] != sorted(x[0] for x in b) or not b or b[-1][0] != float("inf"):
                    problems.append("%s: buckets not ascending to +Inf" % fam)
                if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                    problems.append("%s: bucket counts not monotonic" % fam)
                if g["count"] is None or g["sum"] is None or b[-1][1] != g["count"]:
                    problems.append("%s: +Inf bucket %s != _count %s" % (fam, b[-1][1], g["count"]))
    return problems


def value(families, fam, name=None, **labels):
    """Sum of the samples of fam (or name) whose labels include labels."""
    total = 0.0
    found = False
    for n, l, v in families.get(fam, {"samples": []})["samples"]:
        if (name or fam) == n and all(l.get(k) == x for k, x in labels.items()):
            total += v
            found = True
    return total if found else None


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


# ---- parser self-test: it must reject what is wrong ----

def test_parser():
    good = ("# HELP faregate_x_total x\n# TYPE faregate_x_total counter\nfaregate_x_total{a=\"1\"} 3\n"
            "# HELP faregate_h h\n# TYPE faregate_h histogram\nfaregate_h_bucket{le=\"1\"} 1\n"
            "faregate_h_bucket{le=\"+Inf\"} 2\nfaregate_h_sum 0.5\nfaregate_h_count 2\n")
    f = parse_exposition(good)
    ok(check_conventions(f) == [] and value(f, "faregate_x_total", a="1") == 3, "parser accepts a valid body")
    bad = {
        "sample before TYPE": "faregate_y 1\n",
        "garbage line": "# TYPE faregate_y gauge\nfaregate_y{a=1} 1\n",
        "non-number": "# TYPE faregate_y gauge\nfaregate_y x\n",
    }
    for what, text in bad.items():
        try:
            parse_exposition(text)
            ok(False, "parser rejects " + what)
        except ParseError:
            ok(True, "parser rejects " + what)
    f = parse_exposition("# HELP faregate_c c\n# TYPE faregate_c counter\nfaregate_c 1\n"
                         "# HELP faregate_h h\n# TYPE faregate_h histogram\nfaregate_h_bucket{le=\"1\"} 3\n"
                         "faregate_h_bucket{le=\"+Inf\"} 2\nfaregate_h_sum 0\nfaregate_h_count 2\n")
    ok(len(check_conventions(f)) == 2, "conventions check catches a counter without _total and a "
       "non-monotonic histogram", check_conventions(f))


class Pooler(fgtest.Pooler):
    def __init__(self):
        self.mport = free_port()
        self.dead = dead_port()

        def config(p):
            text = "[databases]\npostgres = host=%s port=%d dbname=postgres pool_size=2\n" % (HOST, PRIMARY)
            if REPLICAS:
                text += "routed = host=%s port=%d dbname=postgres replicas=%s\n" % (
                    HOST, PRIMARY, ",".join("%s:%s" % (HOST, r) for r in REPLICAS))
            return (text + "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                    "metrics_addr = 127.0.0.1\nmetrics_port = %d\n" % p.mport +
                    "admin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir)
        super().__init__(config, prefix="faregate-ops-metrics.")

    def add_dead_database(self):
        """Adds database 'dead' on a port nobody listens on, and reloads."""
        with open(self.ini) as f:
            text = f.read()
        text = text.replace("[pooler]", "dead = host=127.0.0.1 port=%d dbname=postgres\n[pooler]" % self.dead)
        with open(self.ini, "w") as f:
            f.write(text)
        with psycopg.connect(self.dsn("faregate"), autocommit=True) as a:
            a.execute("RELOAD")

    def dsn(self, db="postgres"):
        return "host=127.0.0.1 port=%d user=postgres dbname=%s connect_timeout=5" % (self.port, db)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.mport, path)


def show(p, what):
    with psycopg.connect(p.dsn("faregate"), autocommit=True) as a:
        cur = a.execute("SHOW " + what)
        cols = [c.name for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def test_metrics(p):
    n_queries = 25
    with psycopg.connect(p.dsn(), autocommit=True) as c:
        for i in range(n_queries):
            c.execute("SELECT %s::int", (i,))
        try:
            c.execute("SELECT 1/0")
        except psycopg.errors.DivisionByZero:
            pass
        with c.transaction():
            c.execute("SELECT 1")
            c.execute("SELECT 2")
    status, ctype, body = http_get(p.url("/metrics"))
    ok(status == 200 and ctype.startswith("text/plain; version=0.0.4"), "GET /metrics: 200 text/plain 0.0.4",
       (status, ctype))
    try:
        fams = parse_exposition(body)
        ok(True, "/metrics parses as the exposition format (%d families)" % len(fams))
    except ParseError as e:
        ok(False, "/metrics parses as the exposition format", e)
        return
    problems = check_conventions(fams)
    ok(problems == [], "names, units, HELP/TYPE, histograms follow the conventions", problems)
    for fam in ("faregate_clients", "faregate_servers", "faregate_transactions_total", "faregate_queries_total",
                "faregate_received_bytes_total", "faregate_sent_bytes_total", "faregate_node_transactions_total",
                "faregate_node_queries_total", "faregate_routed_transactions_total", "faregate_client_wait_seconds",
                "faregate_errors_total", "faregate_ratelimit_rejections_total", "faregate_replica_lag_bytes",
                "faregate_node_reachable", "faregate_health_status"):
        ok(fam in fams, "family %s present" % fam)
    stats = {r["database"]: r for r in show(p, "STATS")}["postgres"]
    xacts = value(fams, "faregate_transactions_total", database="postgres", user="postgres")
    queries = value(fams, "faregate_queries_total", database="postgres", user="postgres")
    ok(xacts is not None and xacts == float(stats["total_xact_count"]) and xacts >= n_queries + 2,
       "faregate_transactions_total = SHOW STATS total_xact_count (>= %d)" % (n_queries + 2), (xacts, stats))
    ok(queries == float(stats["total_query_count"]), "faregate_queries_total = SHOW STATS total_query_count",
       (queries, stats["total_query_count"]))
    ok(value(fams, "faregate_received_bytes_total", database="postgres") == float(stats["total_received"]),
       "faregate_received_bytes_total = SHOW STATS total_received")
    ok(value(fams, "faregate_node_transactions_total", database="postgres", role="primary") == xacts,
       "per-host transactions (role primary) add up to the pool's")
    ok(value(fams, "faregate_node_sent_bytes_total", database="postgres", role="primary") ==
       float(stats["total_sent"]), "per-host sent bytes add up to the pool's")
    routed = value(fams, "faregate_routed_transactions_total", database="postgres")
    ok(routed is not None and routed >= xacts, "routing decisions counted per host (%s >= %s)" % (routed, xacts))
    ok(value(fams, "faregate_errors_total", **{"class": "22", "source": "server"}) == 1,
       "the division by zero is counted as SQLSTATE class 22 from the server")
    ok(value(fams, "faregate_servers", database="postgres", state="idle") >= 1, "an idle server is counted")
    ok(value(fams, "faregate_clients_login") == 0, "no client logging in")
    wc = value(fams, "faregate_client_wait_seconds", name="faregate_client_wait_seconds_count")
    ok(wc is not None and wc >= xacts, "wait histogram observed every transaction (%s >= %s)" % (wc, xacts))
    ok(value(fams, "faregate_node_reachable", database="postgres", role="primary") == 1,
       "the primary is reachable")
    # a pooler error: unknown database, counted under class 3D from the pooler
    try:
        psycopg.connect(p.dsn("nosuchdb")).close()
    except psycopg.Error:
        pass
    fams = parse_exposition(http_get(p.url("/metrics"))[2])
    ok(value(fams, "faregate_errors_total", **{"class": "3D", "source": "pooler"}) == 1,
       "the pooler's own error for an unknown database counted as class 3D",
       [s for s in fams["faregate_errors_total"]["samples"]])


def test_health(p):
    status, ctype, body = http_get(p.url("/health"))
    doc = json.loads(body)
    ok(status == 200 and ctype == "application/json" and doc["status"] == "ok" and doc["writes"] is True,
       "GET /health: 200 while the primary serves", body)
    db = [d for d in doc["databases"] if d["name"] == "postgres"]
    ok(db and db[0]["primary"]["reachable"] is True and "saturation" in db[0]["pool"] and
       isinstance(db[0]["replicas"], list), "/health names the primary, replicas and pool saturation", body)
    status, _, body = http_get(p.url("/health/read"))
    ok(status == 200 and json.loads(body)["check"] == "read", "GET /health/read: 200", body)
    status, _, _ = http_get(p.url("/nope"))
    ok(status == 404, "unknown path: 404")
    p.add_dead_database()
    try:
        psycopg.connect(p.dsn("dead")).execute("SELECT 1")
    except psycopg.Error:
        pass
    status, _, body = http_get(p.url("/health"))
    doc = json.loads(body)
    dead = [d for d in doc["databases"] if d["name"] == "dead"]
    ok(status == 503 and doc["writes"] is False and dead and dead[0]["primary"]["reachable"] is False,
       "/health: 503 once a database's primary refuses connections", body)
    status, _, _ = http_get(p.url("/health/read"))
    ok(status == 503, "/health/read: 503 too (no replica to fall back to)")
    fams = parse_exposition(http_get(p.url("/metrics"))[2])
    ok(value(fams, "faregate_node_reachable", database="dead") == 0, "faregate_node_reachable 0 for it")


def test_replicas(p):
    """With read routing (replicas=): replica lag per host, reads per replica, /health lists replicas."""
    if not REPLICAS:
        fgtest.skip("no replicas in this cluster")
        return
    with psycopg.connect(p.dsn("routed"), autocommit=True) as c:
        c.execute("SELECT 1")

        def roles_verified():  # the health checks (health_check_period 1 s) verified every node
            rows = [r for r in show(p, "ROUTING") if r["database"] == "routed"]
            return len(rows) == len(REPLICAS) + 1 and all(r["status"] == "up" for r in rows) and \
                sorted(r["role"] for r in rows) == ["primary"] + ["replica"] * len(REPLICAS) and \
                all(r["lag_bytes"] is not None and int(r["lag_bytes"]) >= 0 for r in rows if r["role"] == "replica")
        ok(fgtest.wait_until(roles_verified, 30), "the health checks verified the primary and the replicas "
           "and measured their lag",
           [r for r in show(p, "ROUTING") if r["database"] == "routed"])
        for i in range(10):
            c.execute("SELECT %s::int", (i,))
    fams = parse_exposition(http_get(p.url("/metrics"))[2])
    ok(check_conventions(fams) == [], "with replicas: conventions still hold", check_conventions(fams))
    lags = [s for s in fams["faregate_replica_lag_bytes"]["samples"] if s[1]["database"] == "routed"]
    ok(len(lags) == len(REPLICAS) and all(v >= 0 for _, _, v in lags),
       "faregate_replica_lag_bytes for each replica", lags)
    reads = value(fams, "faregate_routed_transactions_total", database="routed", role="replica", **{"class": "read"})
    ok(reads is not None and reads >= 10, "reads routed to replicas are counted per host (%s)" % reads)
    up = value(fams, "faregate_health_status", database="routed", status="up")
    ok(up == len(REPLICAS) + 1, "faregate_health_status: every host up (%s)" % up)
    status, _, body = http_get(p.url("/health"))
    doc = json.loads(body)
    db = [d for d in doc["databases"] if d["name"] == "routed"][0]
    ok(status == 200 and db["source"] == "health_check" and db["primary"]["reachable"] is True and
       len(db["replicas"]) == len(REPLICAS) and all(r["state"] == "up" and r["lag_bytes"] >= 0
                                                    for r in db["replicas"]),
       "/health: primary verified by the health checker, each replica's state and lag", body)


def test_exporter(p):
    if not os.path.exists(EXPORTER):
        fgtest.skip("prometheus-pgbouncer-exporter not installed")
        return
    eport = free_port()
    log = open(os.path.join(p.dir, "exporter.log"), "w")
    proc = subprocess.Popen([EXPORTER, "--host", "127.0.0.1", "--port", str(eport), "--pgbouncer-host",
                             "127.0.0.1", "--pgbouncer-port", str(p.port), "--pgbouncer-user", "postgres"],
                            stdout=log, stderr=log)
    register_pid(proc.pid)
    body = None
    try:
        for _ in range(100):
            try:
                status, _, body = http_get("http://127.0.0.1:%d/metrics" % eport)
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        ok(body is not None and "pgbouncer_requests_total" in body,
           "prometheus-pgbouncer-exporter runs against the admin console and serves metrics",
           open(os.path.join(p.dir, "exporter.log")).read()[-2000:])
        if body is None:
            return
        series = {}
        for line in body.split("\n"):
            m = re.match(r'^(pgbouncer_\w+)(\{[^}]*\})?\s+(\S+)$', line)
            if m:
                series[(m.group(1), m.group(2) or "")] = float(m.group(3))
        names = {k[0] for k in series}
        want = {"pgbouncer_requests_total", "pgbouncer_received_bytes_total", "pgbouncer_sent_bytes_total",
                "pgbouncer_query_microseconds_total", "pgbouncer_active_clients", "pgbouncer_waiting_clients",
                "pgbouncer_pool_size", "pgbouncer_reserve_pool", "pgbouncer_databases", "pgbouncer_pools",
                "pgbouncer_used_clients", "pgbouncer_used_servers", "pgbouncer_dns_pending"}
        ok(want <= names, "every series of the exporter is exported", sorted(want - names))
        stats = {r["database"]: r for r in show(p, "STATS")}["postgres"]
        ok(series.get(("pgbouncer_requests_total", '{database="postgres"}')) == float(stats["total_requests"]),
           "pgbouncer_requests_total{database=postgres} = SHOW STATS total_requests",
           (series.get(("pgbouncer_requests_total", '{database="postgres"}')), stats["total_requests"]))
        ok(series.get(("pgbouncer_sent_bytes_total", '{database="postgres"}')) == float(stats["total_sent"]),
           "pgbouncer_sent_bytes_total matches SHOW STATS total_sent")
        lists = {r["list"]: r["items"] for r in show(p, "LISTS")}
        ok(series.get(("pgbouncer_databases", "")) == lists["databases"] and
           series.get(("pgbouncer_pools", "")) == lists["pools"],
           "pgbouncer_databases and pgbouncer_pools match SHOW LISTS", (lists, series.get(("pgbouncer_pools", ""))))
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def main():
    test_parser()
    p = Pooler()
    try:
        test_metrics(p)
        test_replicas(p)
        test_exporter(p)
        test_health(p)
    finally:
        p.stop()
    p.finish()
    return fgtest.done_testing()


if __name__ == "__main__":
    sys.exit(main())
