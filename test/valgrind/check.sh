#!/usr/bin/env bash
# check.sh: the valgrind run (test/valgrind/run.sh, about 20 s) as TAP for the "valgrind" suite of
# test/run-suites.sh: run.sh exited 0, the workload completed, valgrind watched at least one process (so
# "0 errors" is a finding, not the absence of logs), no valgrind error has a faregate frame, and no error
# is left after the suppressions of test/valgrind/postgres.supp (so a new false positive shows up too).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp /tmp/faregate-valgrind-check.XXXXXX)
trap 'rm -f "$out"' EXIT
FG_VALGRIND_STRICT=1 "$here/run.sh" >"$out" 2>&1
rc=$?
summary=$(grep -E '^valgrind: [0-9]+ errors' "$out" || echo "valgrind: no summary line")
processes=$(sed -n 's/.* in \([0-9][0-9]*\) processes.*/\1/p' <<<"$summary")
summaries=$(sed -n 's/.*, \([0-9][0-9]*\) error summaries.*/\1/p' <<<"$summary")
# valgrind ran: it watched at least one process and each summary it wrote was read (else "0 errors" means nothing)
ran=no
[ "${processes:-0}" -gt 0 ] && [ "${summaries:-0}" -gt 0 ] && ran=yes
echo "1..5"
echo "# $summary (run.sh exit $rc)"
if [ "$rc" -eq 0 ]; then echo "ok 1 - run.sh exits 0"
else echo "not ok 1 - run.sh exits 0 (exit $rc)"; sed 's/^/# /' "$out" | tail -40; fi
if grep -q 'workload complete: yes' <<<"$summary"; then echo "ok 2 - the valgrind workload completed"
else echo "not ok 2 - the valgrind workload completed"; sed 's/^/# /' "$out" | tail -40; fi
if [ "$ran" = yes ]; then echo "ok 3 - valgrind watched $processes processes and wrote $summaries error summaries"
else echo "not ok 3 - valgrind watched processes and wrote error summaries (processes: ${processes:-none}, summaries: ${summaries:-none})"; fi
if [ "$ran" = yes ] && grep -q '(0 in faregate frames)' <<<"$summary"; then echo "ok 4 - no valgrind error in faregate frames"
else echo "not ok 4 - no valgrind error in faregate frames"; sed 's/^/# /' "$out" | head -150; fi
if [ "$ran" = yes ] && grep -q '^valgrind: 0 errors' <<<"$summary"; then echo "ok 5 - no valgrind error at all after the suppressions"
else echo "not ok 5 - no valgrind error at all after the suppressions"; sed 's/^/# /' "$out" | head -150; fi
[ "$rc" -eq 0 ] && [ "$ran" = yes ]
