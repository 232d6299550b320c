#!/usr/bin/python3
"""capture_seeds.py OUTDIR: records real wire traffic with a PostgreSQL server (FG_HOST/FG_PRIMARY_PORT,
as exported by test/harness/cluster.sh) into seed corpora: OUTDIR/proto_client/<name> holds what a
client sent (startup packet + frontend messages, as libpq frames them), OUTDIR/proto_server/<name> what
the server answered. Run: test/harness/cluster.sh -- test/fuzz/tools/capture_seeds.py test/fuzz/corpus"""
import os, socket, struct, sys, time

host, port = os.environ["FG_HOST"], int(os.environ["FG_PRIMARY_PORT"])
out = sys.argv[1]
for d in ("proto_client", "proto_server"):
    os.makedirs(os.path.join(out, d), exist_ok=True)

def msg(t, body=b""):
    return t + struct.pack("!I", len(body) + 4) + body

def cstr(s):
    return s.encode() + b"\0"

def startup(user, db="postgres", extra=()):
    body = struct.pack("!I", 196608) + cstr("user") + cstr(user) + cstr("database") + cstr(db)
    for k, v in extra:
        body += cstr(k) + cstr(v)
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body

def exchange(name, chunks, wait=0.4):
    s = socket.create_connection((host, port))
    sent, got = b"", b""
    for c in chunks:
        s.sendall(c)
        sent += c
        s.settimeout(wait)
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
        except socket.timeout:
            pass
    s.close()
    open(os.path.join(out, "proto_client", name), "wb").write(sent)
    open(os.path.join(out, "proto_server", name), "wb").write(got)

su = startup("postgres", extra=[("application_name", "fuzzseed"), ("client_encoding", "UTF8")])
exchange("simple_query", [su, msg(b"Q", cstr("SELECT 1 AS one, 'x'::text")), msg(b"X")])
exchange("error", [su, msg(b"Q", cstr("SELECT * FROM no_such_table")), msg(b"X")])
exchange("transaction", [su, msg(b"Q", cstr("BEGIN; SET LOCAL work_mem = '8MB'; SELECT now(); COMMIT")),
                         msg(b"Q", cstr("SET search_path = public")), msg(b"X")])
ext = (msg(b"P", cstr("s1") + cstr("SELECT $1::int + 1") + struct.pack("!hI", 1, 23)) +
       msg(b"B", cstr("p1") + cstr("s1") + struct.pack("!hhhI", 1, 0, 1, 1) + b"4" + struct.pack("!hh", 1, 0)) +
       msg(b"D", b"P" + cstr("p1")) + msg(b"E", cstr("p1") + struct.pack("!I", 0)) +
       msg(b"C", b"S" + cstr("s1")) + msg(b"S"))
exchange("extended", [su, ext, msg(b"D", b"S" + cstr("nosuch")) + msg(b"H") + msg(b"S"), msg(b"X")])
exchange("copy", [su, msg(b"Q", cstr("CREATE TEMP TABLE t(a int, b text); COPY t FROM STDIN")),
                  msg(b"d", b"1\tone\n2\ttwo\n") + msg(b"c"), msg(b"Q", cstr("COPY t TO STDOUT")),
                  msg(b"Q", cstr("COPY t FROM STDIN")), msg(b"f", cstr("client gave up")), msg(b"X")])
exchange("notice_notify", [su, msg(b"Q", cstr("LISTEN ch; NOTIFY ch, 'hello'; DO $$BEGIN RAISE NOTICE 'n'; END$$")),
                           msg(b"X")])
exchange("ssl_request", [struct.pack("!II", 8, 80877103)])
exchange("gssenc_request", [struct.pack("!II", 8, 80877104)])
exchange("cancel", [struct.pack("!IIII", 16, 80877102, 1234, 5678)])
exchange("md5_user", [startup("md5_fuzzseed"), msg(b"p", cstr("md5" + "0" * 32))])
exchange("scram_user", [startup("scram_fuzzseed"),
                        msg(b"p", cstr("SCRAM-SHA-256") + struct.pack("!I", 32) + b"n,,n=,r=fyko+d2lbbFgONRv9qkxdawL")])
exchange("bad_protocol", [struct.pack("!II", 8, 0x00020000)])
