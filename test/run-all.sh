#!/usr/bin/env bash
# run-all.sh: what `make check` runs. Builds everything (the pooler twice: plain and under ASan+UBSan),
# installs the extension, starts the test cluster (primary + 2 replicas) and runs every suite in it
# through test/run-suites.sh, which ends with the line "N passed, N failed, N skipped" (test/README.md).
#
# Environment: FG_SUITES="unit pgtap integration" picks suites; FG_ONLY=REGEX keeps only the test files
# whose path matches. Runs of this script against one PostgreSQL installation take turns (flock,
# test/harness/install-lock.sh), because each installs the extension into it; PG_CONFIG picks the installation.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

PG_CONFIG=${PG_CONFIG:-$(command -v /usr/lib/postgresql/15/bin/pg_config || command -v pg_config)}
export PG_CONFIG
jobs=$(nproc 2>/dev/null || echo 2)

. test/harness/install-lock.sh
exec 9>"$FG_INSTALL_LOCK"
if ! flock -w 1200 9; then
  echo "run-all: another make check held $FG_INSTALL_LOCK for 20 minutes; giving up" >&2
  exit 1
fi

echo "== build"
# build: one build step; a failure ends the run with the summary line every run ends with, so a
# broken build reads as a failure, not as a run without tests.
# (fd 3 is this script's stdout: the steps whose output is silenced still report here.)
exec 3>&1
build() {
  if ! "$@"; then
    echo "build: '$*' failed (its errors are above)" >&3
    echo "0 passed, 1 failed, 0 skipped" >&3
    exit 1
  fi
}
build make -s -C extension -j"$jobs" >/dev/null
build make -s -C extension install >/dev/null
build make -s -C pooler -j"$jobs"
build make -s -C pooler SAN=1 -j"$jobs"
build make -s -C test/unit -j"$jobs"
build make -s -C test/unit SAN=1 -j"$jobs"
build make -s -C test/component -j"$jobs"
build make -s -C test/component SAN=1 -j"$jobs"

echo "== test cluster: primary + 2 replicas"
# The lock stays with this shell only: the cluster, its PostgreSQL servers and every test run without
# fd 9, so a server left behind by a killed run cannot hold the lock (and block later runs) forever.
test/harness/cluster.sh --replicas 2 -- test/run-suites.sh 9>&-
