#!/usr/bin/env bash
# run.sh [SECONDS]: builds the libFuzzer targets and runs each one for SECONDS (default 60) starting from
# its checked-in seed corpus test/fuzz/corpus/<name>/, after replaying every saved crash input in
# test/fuzz/regressions/<name>/. New interesting inputs go to a temporary directory, never into the
# repository; a crash input is kept in test/fuzz/findings/ to be turned into a regression. TAP output:
# one test per target for the regressions and one for the fuzzing run, with executions per second.
set -u
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-60}
. "$here/../harness/tap.sh"
if ! make -s -C "$here" -j"$(nproc)" >/tmp/faregate-fuzz-build.log 2>&1; then
  ok 1 "build the fuzz targets"
  sed 's/^/#   /' /tmp/faregate-fuzz-build.log | tail -30
  done_testing
  exit 1
fi
work=$(mktemp -d /tmp/faregate-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
for target in "$here"/build/fuzz_*; do
  name=$(basename "$target"); name=${name#fuzz_}
  regressions=("$here/regressions/$name"/*)
  if [ -e "${regressions[0]}" ]; then
    "$target" "${regressions[@]}" >"$work/$name.regress.log" 2>&1
    ok $? "fuzz $name: ${#regressions[@]} saved crash input(s) pass"
    [ "$TAP_FAILED" -eq 0 ] || tail -20 "$work/$name.regress.log" | sed 's/^/#   /'
  fi
  mkdir -p "$work/$name" "$here/findings"
  "$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$here/findings/${name}-" "$work/$name" "$here/corpus/$name" >"$work/$name.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
  per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$name.log")
  ok $rc "fuzz $name: ${seconds}s, ${execs:-0} executions (${per_s:-0}/s), no crash"
  [ $rc -eq 0 ] || grep -E "ERROR|SUMMARY|Test unit written" "$work/$name.log" | head -20 | sed 's/^/#   /'
done
done_testing
