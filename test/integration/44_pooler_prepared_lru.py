#!/usr/bin/python3
"""44_pooler_prepared_lru.py: max_prepared_statements, the LRU of named prepared statements per server
connection (prepared.c, client.c's make_statement_room, server.c's skip_to_sync).

One client on a pool of one server connection, max_prepared_statements = 3, raw extended protocol:
- six named statements, executed in two rounds: every Execute returns its own value, and the server
  connection never holds more than 3 of the pooler's statements (pg_prepared_statements, asked on that
  same connection);
- an error early in a batch makes PostgreSQL skip the eviction Close and the Parse the pooler put after
  it: the next batch uses the statement that was to be evicted (still on the server) and the one that
  was to be prepared (not there): both must work (a wrong guess gives 42P05 or 26000);
- with max_prepared_statements = 0 the tracking is off, as in PgBouncer: the statements reach the server
  under the client's own names.
Honours FG_POOLER_BIN.
"""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, msg, cstr  # noqa: E402

HOST = fgtest.HOST
NAMES = ["s%d" % i for i in range(1, 7)]


def config(limit):
    return lambda p: (fgtest.pooler_databases(pool_size=1) +
                      "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                      "auth_type = trust\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir +
                      "max_prepared_statements = %d\n" % limit)


def login(port):
    s = socket.create_connection((HOST, port), timeout=20)
    s.sendall(fgtest.startup("postgres", "postgres"))
    batch(s, b"")
    return s


def batch(s, data):
    """Sends DATA, returns the replies up to and including ReadyForQuery as [(type, body)]."""
    if data:
        s.sendall(data)
    replies = []
    while True:
        t, body = fgtest.recv_msg(s)
        if t is None:
            raise RuntimeError("the pooler closed the connection; replies so far: %r" % replies)
        replies.append((t, body))
        if t == b"Z":
            return replies


def parse(name, sql):
    return msg(b"P", cstr(name) + cstr(sql) + struct.pack("!H", 0))


def bind(stmt):
    return msg(b"B", cstr("") + cstr(stmt) + struct.pack("!HHH", 0, 0, 0))


def execute():
    return msg(b"E", cstr("") + struct.pack("!I", 0))


SYNC = msg(b"S")


def values(replies):
    """The text of every DataRow's first column."""
    out = []
    for t, body in replies:
        if t == b"D":
            n = struct.unpack("!I", body[2:6])[0]
            out.append(body[6:6 + n].decode())
    return out


def errors(replies):
    """SQLSTATEs of the ErrorResponses."""
    out = []
    for t, body in replies:
        if t == b"E":
            fields = dict((f[:1], f[1:].decode(errors="replace")) for f in body.split(b"\0") if f)
            out.append(fields.get(b"C", "?"))
    return out


def run(s, stmt):
    return batch(s, bind(stmt) + execute() + SYNC)


def server_statements(s):
    """How many of the pooler's statements the (only) server connection holds."""
    return int(values(batch(s, msg(b"Q", cstr(
        "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'fg\\_%'"))))[0])


def lru_case(p):
    s = login(p.port)
    batch(s, b"".join(parse(n, "SELECT %d::int AS v" % (i + 1)) for i, n in enumerate(NAMES)) + SYNC)
    most = 0
    good = True
    for _ in range(2):
        for i, n in enumerate(NAMES):
            got = run(s, n)
            good = good and values(got) == [str(i + 1)] and not errors(got)
            most = max(most, server_statements(s))
    ok(good, "six statements in two rounds each return their own value")
    ok(most == 3, "the server connection held at most max_prepared_statements = 3 (most seen: %d)" % most)
    # the server now has s4, s5, s6; s1 needs an eviction Close (of s4) and a Parse, both skipped after 1/0
    got = batch(s, parse("", "SELECT 1/0") + bind("") + execute() + bind("s1") + execute() + SYNC)
    ok(errors(got) == ["22012"], "an error early in the batch is the only error", errors(got))
    for n, want in (("s4", "4"), ("s1", "1"), ("s5", "5")):
        got = run(s, n)
        ok(values(got) == [want] and not errors(got),
           "%s works after the skipped Close and Parse" % n, (values(got), errors(got)))
    ok(server_statements(s) <= 3, "still at most 3 statements on the server")
    s.close()


def unlimited_case(_p):
    q = fgtest.Pooler(config(0), prefix="faregate-prepared-lru0.")
    try:
        s = login(q.port)
        batch(s, b"".join(parse(n, "SELECT %d::int AS v" % (i + 1)) for i, n in enumerate(NAMES)) + SYNC)
        for n in NAMES:
            run(s, n)
        got = values(batch(s, msg(b"Q", cstr("SELECT string_agg(name, ',' ORDER BY name) FROM pg_prepared_statements"))))
        ok(server_statements(s) == 0 and got == [",".join(sorted(NAMES))],
           "max_prepared_statements = 0 (PgBouncer's: tracking off): the six go to the server under the "
           "client's own names, none renamed", got)
        s.close()
    finally:
        q.stop()
    ok(q.sanitizer_clean(), "no sanitizer report (max_prepared_statements = 0)")
    q.finish()


def main():
    return fgtest.run_pooler_tests(fgtest.Pooler(config(3), prefix="faregate-prepared-lru."),
                                   [lru_case, unlimited_case])


if __name__ == "__main__":
    sys.exit(main())
