#!/usr/bin/python3
"""61_security_search_path.py: the pooler never replays client text through search_path tracking
(issue 20, finding 5). In transaction mode with one server connection shared by clients A and B (so
every turn of A after B relinks A's server and re-applies A's search_path):
- the issue's statement SET search_path TO $$'$$; INSERT INTO t VALUES (42,'replayed'); --' inserts its
  one row and no more after three relinks; A's search_path is then the one-element list "'";
- SET search_path TO $$';INSERT ...;--$$ (one dollar-quoted element) inserts nothing, ever;
- E'' strings, comments and quoted names are read as PostgreSQL reads them (SHOW search_path after a
  relink equals SHOW search_path on the connection that ran the SET);
- a value the pooler cannot parse (a number) is not tracked: A gets a NOTICE, and B, linked next to the
  same server connection, does not inherit it.
Bounded: two clients, a few dozen statements. Honours FG_POOLER_BIN."""
import os
import sys

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))
import fgtest  # noqa: E402
from fgtest import ok  # noqa: E402

HOST = fgtest.HOST
PRIMARY = fgtest.primary_port()
TABLE = "public.fg_sp_replay"


def main():
    def config(p):
        return ("[databases]\nsp = host=%s port=%d dbname=postgres pool_size=1\n" % (HOST, PRIMARY) +
                "[pooler]\nauth_type = trust\nlisten_addr = 127.0.0.1\nlisten_port = %d\n" % p.port +
                "pool_mode = transaction\nadmin_users = postgres\nlogfile = %s/pooler.log\n" % p.dir)

    p = fgtest.Pooler(config, prefix="faregate-search-path.")

    def count():
        with fgtest.primary_connect() as c:
            return c.execute("SELECT count(*) FROM %s" % TABLE).fetchone()[0]

    def relinks(a, b, n=3):
        """n turns of B then A on the one server connection; A's last SHOW search_path."""
        shown = None
        for _ in range(n):
            b.execute("SELECT 1")
            shown = a.execute("SHOW search_path").fetchone()[0]
        return shown

    def run(p):
        with fgtest.primary_connect() as c:
            c.execute("DROP TABLE IF EXISTS %s" % TABLE)
            c.execute("CREATE TABLE %s (id int, note text)" % TABLE)
        try:
            a = p.connect("sp")
            b = p.connect("sp")
            a.execute("SET search_path TO $$'$$; INSERT INTO %s VALUES (42,'replayed'); --'" % TABLE)
            ok(count() == 1, "the issue's statement inserts its own row once", count())
            shown = relinks(a, b)
            ok(count() == 1, "… and no more after three relinks (rows: %d)" % count())
            ok(shown == '"\'"', "A's search_path after the relinks is the one-element list \"'\" (%s)" % shown)

            a.execute("SET search_path TO $$';INSERT INTO %s VALUES (43,'x');--$$" % TABLE)
            relinks(a, b)
            ok(count() == 1, "a dollar quote holding an INSERT is one element: nothing is inserted (rows: %d)"
               % count())

            sql = "SET search_path = /* c */ E'a\\'b', \"My \"\"S\", $t$c d$t$ -- tail"
            a.execute(sql)
            direct = a.execute("SHOW search_path").fetchone()[0]
            shown = relinks(a, b)
            ok(shown == direct, "E'', a quoted name and a tagged dollar quote are re-applied as the server read "
               "them (%s)" % shown, (direct, shown))

            notices = []
            a.add_notice_handler(lambda d: notices.append(d.message_primary))
            a.execute("SET search_path TO public")
            a.execute("SET search_path TO 1")
            got = any("does not track" in n for n in notices)
            ok(got, "an unparsable value gets a NOTICE", notices)
            b_path = b.execute("SHOW search_path").fetchone()[0]
            ok(b_path == '"$user", public', "B, linked next to that server connection, does not inherit it (%s)"
               % b_path)
            a.close()
            b.close()
        finally:
            with fgtest.primary_connect() as c:
                c.execute("DROP TABLE IF EXISTS %s" % TABLE)

    sys.exit(fgtest.run_pooler_tests(p, [run]))


main()
