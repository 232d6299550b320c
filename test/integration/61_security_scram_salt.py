#!/usr/bin/python3
"""61_security_scram_salt.py: an unknown user's SCRAM salt does not give it away (issue 20, finding 7).
The salt the pooler shows for a user without a stored SCRAM salt (an unknown user, a plain password)
is HMAC(key, user) with a key kept in auth_salt_key_file (default: the auth_file's path + ".salt-key"),
so, as for a user with a stored SCRAM secret, it is the same after a restart:
- the key file is created at the first start, mode 600;
- after a restart the unknown user's salt, the plain-password user's salt and the SCRAM user's salt are
  each what they were; two unknown users have different salts;
- another key file (auth_salt_key_file) gives other salts; a key file readable by others stops start-up.
Bounded: 3 pooler starts, a few logins. Honours FG_POOLER_BIN."""
import base64
import os
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok, msg, cstr, startup, recv_msg  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
SCRAM_SECRET = ("SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$"
                "EoRG7WW3fv4uK4C8p1LDyOdTo0dgR1HkIBE3l+u3/mQ=:xJXPMqR1+MPTLims0X/MJQOFfyB5z/hlIWmcXB81Pmg=")


def salt_of(port, user):
    """The s= of the server-first-message for USER (the exchange is then dropped)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(startup(user))
    t, body = recv_msg(s)
    if t != b"R" or struct.unpack("!I", body[:4])[0] != 10:
        return None
    first = b"n,,n=,r=" + base64.b64encode(os.urandom(18))
    s.sendall(msg(b"p", cstr("SCRAM-SHA-256") + struct.pack("!I", len(first)) + first))
    t, body = recv_msg(s)
    s.close()
    if t != b"R":
        return None
    return dict(kv.split("=", 1) for kv in body[4:].decode().split(",")).get("s")


def main():
    extra = []

    def config(p):
        return (fgtest.pooler_databases() +
                "[pooler]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                "auth_type = scram-sha-256\nauth_file = %s\nadmin_users = postgres\n" % p.auth +
                "logfile = %s/pooler.log\n" % p.dir + "".join(line + "\n" for line in extra))

    auth = '"postgres" "Plain-Pw-5521"\n"fg_scram" "%s"\n' % SCRAM_SECRET
    p = fgtest.Pooler(config, prefix="faregate-salt.", auth=auth, wait=False)
    users = ("no_such_user", "another_unknown", "postgres", "fg_scram")
    keyfile = p.auth + ".salt-key"
    try:
        p.wait_ready(dsn="host=127.0.0.1 port=%d user=postgres password=Plain-Pw-5521 dbname=faregate" % p.port)
        first = [salt_of(p.port, u) for u in users]
        ok(os.path.exists(keyfile) and (os.stat(keyfile).st_mode & 0o777) == 0o600,
           "the salt key file is created next to the auth_file, mode 600")
        ok(all(first) and first[0] != first[1], "unknown users get salts, different per user", first)
        p.stop()
        p.stderr = open(os.path.join(p.dir, "stderr.log"), "a")
        p.proc = subprocess.Popen([fgtest.pooler_bin(), p.ini], stdout=p.stderr, stderr=p.stderr)
        fgtest.register_pid(p.proc.pid)
        p.wait_ready(dsn="host=127.0.0.1 port=%d user=postgres password=Plain-Pw-5521 dbname=faregate" % p.port)
        second = [salt_of(p.port, u) for u in users]
        for u, a, b in zip(users, first, second):
            ok(a == b, "after a restart %s has the same salt" % u, (a, b))
        p.stop()

        other = os.path.join(p.dir, "other.key")
        extra.append("auth_salt_key_file = %s" % other)
        p.write(config(p))
        p.stderr = open(os.path.join(p.dir, "stderr.log"), "a")
        p.proc = subprocess.Popen([fgtest.pooler_bin(), p.ini], stdout=p.stderr, stderr=p.stderr)
        fgtest.register_pid(p.proc.pid)
        p.wait_ready(dsn="host=127.0.0.1 port=%d user=postgres password=Plain-Pw-5521 dbname=faregate" % p.port)
        third = salt_of(p.port, users[0])
        ok(os.path.exists(other) and third != first[0], "auth_salt_key_file: another key, another salt")
        ok(salt_of(p.port, "fg_scram") == first[3], "… while a stored SCRAM secret keeps its own salt")
        p.stop()
        ok(p.sanitizer_clean(), "no sanitizer report")

        os.chmod(other, 0o644)
        rc = subprocess.run([fgtest.pooler_bin(), p.ini], capture_output=True, text=True, timeout=20)
        ok(rc.returncode != 0 and "chmod 600" in rc.stderr + p.text("pooler.log"),
           "a salt key file readable by others stops start-up (exit %d)" % rc.returncode, rc.stderr[-300:])
    finally:
        p.stop()
    p.finish()
    sys.exit(fgtest.done_testing())


main()
