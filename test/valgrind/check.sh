#!/usr/bin/env bash
# check.sh: the valgrind run (test/valgrind/run.sh, about 20 s) as TAP for the "valgrind" suite of
# test/run-suites.sh: the workload completed, no valgrind error has a faregate frame, and no error is
# left after the suppressions of test/valgrind/postgres.supp (so a new false positive shows up too).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp /tmp/faregate-valgrind-check.XXXXXX)
trap 'rm -f "$out"' EXIT
FG_VALGRIND_STRICT=1 "$here/run.sh" >"$out" 2>&1
rc=$?
summary=$(grep '^valgrind: ' "$out" || echo "valgrind: no summary line")
echo "1..3"
echo "# $summary (run.sh exit $rc)"
if grep -q 'workload complete: yes' <<<"$summary"; then echo "ok 1 - the valgrind workload completed"
else echo "not ok 1 - the valgrind workload completed"; sed 's/^/# /' "$out" | tail -40; fi
if grep -q '(0 in faregate frames)' <<<"$summary"; then echo "ok 2 - no valgrind error in faregate frames"
else echo "not ok 2 - no valgrind error in faregate frames"; sed 's/^/# /' "$out" | head -150; fi
if grep -q '^valgrind: 0 errors' <<<"$summary"; then echo "ok 3 - no valgrind error at all after the suppressions"
else echo "not ok 3 - no valgrind error at all after the suppressions"; sed 's/^/# /' "$out" | head -150; fi
