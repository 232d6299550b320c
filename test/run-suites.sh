#!/usr/bin/env bash
# run-suites.sh: runs every test suite against the cluster that test/harness/cluster.sh started (FG_*),
# shows each runner's own output and summary, then one line over all suites: "N passed, N failed".
#   lint         test/lint.sh: cppcheck and clang-tidy over pooler/ and extension/
#   unit         test/unit/build*/test_* (TAP, C), plain and ASan+UBSan builds, by prove
#   fuzz         test/fuzz/run.sh: each libFuzzer target briefly (FG_FUZZ_SECONDS, default 10) from its corpus
#   pgtap        test/pgtap/*.sql in a fresh database faregate_test, by pg_prove
#   valgrind     test/valgrind/check.sh: the extension's C functions in a server under valgrind (~20 s)
#   integration  test/integration/*.sh|*.py (TAP executables), by prove; the pooler's (4x_pooler_*, and the
#                hostile-client and security tests 60_faults_protocol, 61_security*) once more with
#                FG_POOLER_BIN=pooler/build-asan/faregate-pooler
# A runner that fails without reporting a failed test (a crash, a bad plan) counts as one failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
suites=${FG_SUITES:-lint unit fuzz pgtap valgrind integration}
only=${FG_ONLY:-.}
logdir=$(mktemp -d /tmp/faregate-suites.XXXXXX)
trap 'rm -rf "$logdir"' EXIT
total_passed=0
total_failed=0

# run_suite NAME COMMAND...: runs a TAP runner verbosely into a log, shows the log without its passing
# lines (failures, diagnostics and the runner's summary stay visible) and adds up its counts.
run_suite() {
  local name=$1; shift
  local log=$logdir/$name.log rc passed failed
  echo "== suite: $name"
  "$@" >"$log" 2>&1
  rc=$?
  grep -Ev '^[[:space:]]*ok [0-9]+' "$log"
  passed=$(grep -Ec '^[[:space:]]*ok [0-9]+' "$log")
  failed=$(grep -Ec '^[[:space:]]*not ok [0-9]+' "$log")
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "$name: the runner exited with $rc without a failed test line; counted as 1 failure"
    failed=1
  fi
  echo "$name: $passed passed, $failed failed"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

files() { # files GLOB...: the existing files matching FG_ONLY
  local f
  for f in "$@"; do [ -e "$f" ] && printf '%s\n' "$f"; done | grep -E -- "$only" || true
}

for suite in $suites; do
  case "$suite" in
    lint)
      run_suite lint prove -v --timer --exec '' test/lint.sh
      ;;
    fuzz)
      run_suite fuzz test/fuzz/run.sh "${FG_FUZZ_SECONDS:-10}"
      ;;
    unit)
      for build in build build-asan; do
        mapfile -t tests < <(files test/unit/$build/test_*)
        [ ${#tests[@]} -gt 0 ] && run_suite "unit-$build" prove -v --timer --exec '' "${tests[@]}"
      done
      ;;
    pgtap)
      mapfile -t tests < <(files test/pgtap/*.sql)
      if [ ${#tests[@]} -gt 0 ]; then
        psql -X -q -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d postgres \
          -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS faregate_test" -c "CREATE DATABASE faregate_test" >/dev/null
        psql -X -q -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d faregate_test \
          -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION dblink" \
          -c "CREATE EXTENSION faregate CASCADE" >/dev/null
        run_suite pgtap pg_prove -v -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d faregate_test \
          "${tests[@]}"
      fi
      ;;
    valgrind)
      files test/valgrind/check.sh | grep -q . && run_suite valgrind prove -v --timer --exec '' test/valgrind/check.sh
      ;;
    integration)
      # 62_load_10k runs once, against the ASan+UBSan build (below), when that build is there
      asan_only=()
      [ -x pooler/build-asan/faregate-pooler ] && asan_only=(test/integration/62_load_10k.sh)
      mapfile -t tests < <(files test/integration/*.sh test/integration/*.py | grep -vxF -f <(printf '%s\n' "${asan_only[@]}" ""))
      [ ${#tests[@]} -gt 0 ] && run_suite integration prove -v --timer --exec '' "${tests[@]}"
      # the pooler's tests once more against its ASan+UBSan build (they honour FG_POOLER_BIN)
      mapfile -t tests < <(files test/integration/4[0-9]_pooler_*.sh test/integration/4[0-9]_pooler_*.py \
        test/integration/60_faults_*.py test/integration/60_faults_*.sh test/integration/61_security*.py \
        test/integration/62_load_10k.sh test/integration/63_memory_claims.py \
        test/integration/50_routing_*.sh test/integration/50_routing_*.py)
      if [ ${#tests[@]} -gt 0 ] && [ -x pooler/build-asan/faregate-pooler ]; then
        FG_POOLER_BIN=pooler/build-asan/faregate-pooler run_suite integration-asan prove -v --timer --exec '' "${tests[@]}"
      fi
      ;;
    *) echo "run-suites: unknown suite '$suite' (lint, unit, fuzz, pgtap, valgrind, integration)" >&2; total_failed=$((total_failed + 1)) ;;
  esac
done

echo
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
