"""fgtest.py: helpers shared by the Python integration tests (imported, not run).

Tests add test/harness to sys.path (sys.path.insert(0, <repo>/test/harness)) and import this module.
It owns the helpers every test would otherwise copy: recreating a fixture database on the primary.
"""
import os
import time

import psycopg


def primary_dsn(dbname="postgres"):
    """Connection string of the harness's primary (FG_HOST / FG_PRIMARY_PORT) as postgres."""
    return "host=%s port=%s user=postgres dbname=%s" % (
        os.environ.get("FG_HOST", "127.0.0.1"), os.environ["FG_PRIMARY_PORT"], dbname)


def recreate_db(name, timeout=15.0):
    """Drop NAME (closing its sessions) and create it afresh on the primary.

    CREATE DATABASE fails while another session is connected to template1 (a pooler's health check
    left over from the previous test, an autovacuum worker that has not exited yet); that is retried
    until TIMEOUT seconds have passed, then the last error is raised with the sessions that held
    template1 in its message.
    """
    deadline = time.time() + timeout
    with psycopg.connect(primary_dsn(), autocommit=True) as admin:
        admin.execute("SET client_min_messages = warning")
        while True:
            try:
                admin.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
                admin.execute("CREATE DATABASE %s" % name)
                return
            except psycopg.errors.ObjectInUse as err:
                if time.time() >= deadline:
                    holders = admin.execute(
                        "SELECT string_agg(pid || ' ' || backend_type || ' ' || application_name, '; ')"
                        " FROM pg_stat_activity WHERE datname = 'template1'").fetchone()[0]
                    raise RuntimeError("CREATE DATABASE %s: %s (sessions on template1: %s)"
                                       % (name, err, holders)) from err
                time.sleep(0.5)
