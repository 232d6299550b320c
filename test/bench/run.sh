#!/usr/bin/env bash
# run.sh: what `make bench` runs. Builds and installs, then runs each benchmark test/bench/bench_*.sh
# (or only those named: test/bench/run.sh fares pooler). Each benchmark starts its own cluster through
# test/harness/cluster.sh, measures faregate against a peer in the same run, prints its result lines,
# and stays bounded in time. Benchmarks never fail on speed; they report ratios.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
PG_CONFIG=${PG_CONFIG:-$(command -v /usr/lib/postgresql/15/bin/pg_config || command -v pg_config)}
export PG_CONFIG
. test/harness/install-lock.sh
exec 9>"$FG_INSTALL_LOCK"
flock -w 1200 9
make -s -C extension >/dev/null
make -s -C extension install >/dev/null
make -s -C pooler >/dev/null

if [ $# -gt 0 ]; then
  benches=(); for name in "$@"; do benches+=("test/bench/bench_$name.sh"); done
else
  mapfile -t benches < <(ls test/bench/bench_*.sh 2>/dev/null)
fi
[ ${#benches[@]} -gt 0 ] || { echo "bench: no benchmarks found"; exit 0; }
status=0
for bench in "${benches[@]}"; do
  echo "== $(basename "$bench" .sh)"
  "$bench" || { echo "bench: $bench failed"; status=1; }
done
exit $status
