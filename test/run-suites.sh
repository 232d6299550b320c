#!/usr/bin/env bash
# run-suites.sh: runs every test suite against the cluster that test/harness/cluster.sh started (FG_*),
# shows each test file's failures, diagnostics and verdict, then per suite and over all suites one line
# "N passed, N failed, N skipped". Every file runs through test/harness/tap-run.pl, which counts (see
# test/README.md, "How results are counted"):
#   lint             test/lint.sh: cppcheck and clang-tidy over pooler/ and extension/
#   unit, unit-asan  test/unit/build/test_* and test/unit/build-asan/test_* (TAP, C): plain and ASan+UBSan
#   component, component-asan  test/component/build/test_* and build-asan/ (TAP, C): pooler modules against
#                    the shared cluster (health checks, logins to a real PostgreSQL), plain and ASan+UBSan
#   fuzz             test/fuzz/run.sh: each libFuzzer target briefly (FG_FUZZ_SECONDS, default 10) from its corpus
#   pgtap            test/pgtap/*.sql in a fresh database faregate_test, through psql as pg_prove runs them
#   valgrind         test/valgrind/check.sh: the extension's C functions in a server under valgrind (~20 s)
#   integration      test/integration/*.sh|*.py (TAP executables)
#   integration-asan the pooler's integration tests (4x_pooler_*, 50_routing_*, 60_faults_*, 61_security*,
#                    62_load_10k, 63_memory_claims) once more with FG_POOLER_BIN=pooler/build-asan/faregate-pooler
# The run fails when a test fails, when a plan's test is never reported, when a file crashes or prints no
# test, when a selected suite runs no test, when a set-up step fails, and when a test is skipped for a
# reason that is not in allowed_skips below (such a skip counts as failed, not skipped).
# Environment: FG_SUITES picks suites (by the names of the first column; "unit", "component" and "integration"
# include their -asan runs), FG_ONLY=REGEX keeps the test files whose path matches (a suite left with no file is
# then reported as not run; without FG_ONLY that is a failure).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
suites=${FG_SUITES:-lint unit fuzz pgtap valgrind component integration}
only=${FG_ONLY:-}
logdir=$(mktemp -d /tmp/faregate-suites.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

# allowed_skips: the only reasons a test may skip in `make check`: things a machine may lack that
# deps.sh cannot install. Extended regular expressions, matched against the skip's reason.
allowed_skips=(
  'no IPv6 on this host'
  'the hard fd limit [0-9]+ is below the [0-9]+ this test needs'
  'no writable cpu cgroup controller'   # a chroot or container without /sys/fs/cgroup's cpu controller
)

total_passed=0 total_failed=0 total_skipped=0
summary=()         # one line per suite
problems=()        # set-up failures, empty suites, crashed runners, skips without an allowed reason
allowed_seen=()    # allowed skips that happened: "suite: file: reason"

skip_allowed() { # skip_allowed REASON: whether REASON matches an allowed_skips pattern
  local pattern
  for pattern in "${allowed_skips[@]}"; do
    printf '%s\n' "$1" | grep -Eq -- "$pattern" && return 0
  done
  return 1
}

# run_suite NAME [--pgtap HOST PORT USER DB] FILE...: runs the files through tap-run.pl into a log,
# shows the log without its passing lines (failures, diagnostics and every file's verdict stay visible)
# and adds up its counts.
run_suite() {
  local name=$1; shift
  echo "== suite: $name"
  test/harness/tap-run.pl "$@" >"$logdir/$name.log" 2>&1
  report_suite "$name" $?
}

# Background suites: lint and fuzz use neither the cluster nor a port, and are pure CPU, while most
# integration files spend their time waiting (pgbench -T, timeouts, failovers). So, when both run,
# they start first at nice 19, in the background, and are reported after the other suites: on 2 cores
# this takes their ~4 minutes off the run's length (test/README.md). FG_SERIAL=1 runs them in turn.
bg_names=() bg_pids=()
start_bg_suite() { # start_bg_suite NAME FILE...: runs the suite in the background into its log
  local name=$1; shift
  nice -n 19 test/harness/tap-run.pl "$@" >"$logdir/$name.log" 2>&1 &
  bg_names+=("$name") bg_pids+=($!)
}
finish_bg_suites() { # waits for each background suite, in the order started, and reports it
  local i rc
  for i in "${!bg_names[@]}"; do
    wait "${bg_pids[$i]}"
    rc=$?
    echo "== suite: ${bg_names[$i]} (ran in the background)"
    report_suite "${bg_names[$i]}" "$rc"
  done
}

# report_suite NAME RC: shows the suite's log without its passing lines and adds up its counts
report_suite() {
  local name=$1 rc=$2
  local log=$logdir/$name.log passed failed skipped line reason
  grep -Ev '^[[:space:]]*ok [0-9]+|^tap-run-' "$log"
  line=$(sed -n 's/^tap-run-count: //p' "$log" | tail -1)
  if [ -z "$line" ]; then
    problems+=("$name: its runner (tap-run.pl) exited $rc without counting; counted as 1 failure")
    passed=0 failed=1 skipped=0
  else
    read -r passed failed skipped <<<"$line"
    if [ "$rc" -ne 0 ]; then
      problems+=("$name: its runner (tap-run.pl) exited $rc; counted as 1 more failure")
      failed=$((failed + 1))
    fi
  fi
  while IFS= read -r line; do
    reason=${line#*: }
    if skip_allowed "$reason"; then
      allowed_seen+=("$name: $line")
    else
      problems+=("$name: skipped without an allowed reason (counted as failed): $line")
      skipped=$((skipped - 1)) failed=$((failed + 1))
    fi
  done < <(sed -n 's/^tap-run-skip: //p' "$log")
  if [ $((passed + failed + skipped)) -eq 0 ]; then
    problems+=("$name: ran no test; counted as 1 failure")
    failed=1
  fi
  echo "$name: $passed passed, $failed failed, $skipped skipped"
  summary+=("$name: $passed passed, $failed failed, $skipped skipped")
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped))
}

# no_files NAME WHAT: a selected suite with nothing to run: a failure, unless FG_ONLY filtered it away
no_files() {
  if [ -n "$only" ]; then
    summary+=("$1: not run (no file matches FG_ONLY='$only')")
  else
    problems+=("$1: $2; counted as 1 failure")
    summary+=("$1: 0 passed, 1 failed, 0 skipped")
    total_failed=$((total_failed + 1))
  fi
}

files() { # files GLOB...: the existing files matching FG_ONLY
  local f
  for f in "$@"; do [ -e "$f" ] && printf '%s\n' "$f"; done | grep -E -- "${only:-.}" || true
}

# suite_files NAME WHAT GLOB...: runs suite NAME over the files matching GLOB, or reports it empty
suite_files() {
  local name=$1 what=$2; shift 2
  local tests
  mapfile -t tests < <(files "$@")
  if [ ${#tests[@]} -gt 0 ]; then run_suite "$name" "${tests[@]}"; else no_files "$name" "$what"; fi
}

# pgtap_setup: a fresh database faregate_test with pgTAP, dblink and faregate; prints psql's errors
pgtap_setup() {
  psql -X -q -v ON_ERROR_STOP=1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d postgres \
    -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS faregate_test" \
    -c "CREATE DATABASE faregate_test" >/dev/null &&
  psql -X -q -v ON_ERROR_STOP=1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d faregate_test \
    -c "SET client_min_messages = warning" -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION dblink" \
    -c "CREATE EXTENSION faregate CASCADE" >/dev/null
}

# background: the suites started before the others (lint, fuzz), when FG_SERIAL is not set and some
# suite that needs the cluster runs too (alone they gain nothing from it)
background=""
if [ -z "${FG_SERIAL:-}" ] && printf '%s\n' $suites | grep -Eqvx 'lint|fuzz'; then
  for suite in $suites; do
    case "$suite" in
      lint)
        if [ -n "$(files test/lint.sh)" ]; then start_bg_suite lint test/lint.sh; background+=" lint"; fi
        ;;
      fuzz)
        if [ -n "$(files test/fuzz/run.sh)" ]; then
          printf '#!/bin/sh\nexec "%s/test/fuzz/run.sh" %s\n' "$top" "${FG_FUZZ_SECONDS:-10}" >"$logdir/fuzz"
          chmod +x "$logdir/fuzz"
          start_bg_suite fuzz "$logdir/fuzz"; background+=" fuzz"
        fi
        ;;
    esac
  done
fi

for suite in $suites; do
  case " $background " in *" $suite "*) continue ;; esac
  case "$suite" in
    lint)
      suite_files lint "test/lint.sh is missing" test/lint.sh
      ;;
    fuzz)
      if [ -n "$(files test/fuzz/run.sh)" ]; then
        printf '#!/bin/sh\nexec "%s/test/fuzz/run.sh" %s\n' "$top" "${FG_FUZZ_SECONDS:-10}" >"$logdir/fuzz"
        chmod +x "$logdir/fuzz"
        run_suite fuzz "$logdir/fuzz"
      else
        no_files fuzz "test/fuzz/run.sh is missing"
      fi
      ;;
    unit)
      suite_files unit "no test binary in test/unit/build (make -C test/unit)" test/unit/build/test_*
      suite_files unit-asan "no test binary in test/unit/build-asan (make -C test/unit SAN=1)" \
        test/unit/build-asan/test_*
      ;;
    component)
      suite_files component "no test binary in test/component/build (make -C test/component)" \
        test/component/build/test_*
      suite_files component-asan "no test binary in test/component/build-asan (make -C test/component SAN=1)" \
        test/component/build-asan/test_*
      ;;
    pgtap)
      mapfile -t tests < <(files test/pgtap/*.sql)
      if [ ${#tests[@]} -eq 0 ]; then
        no_files pgtap "no test/pgtap/*.sql"
      elif ! setup_out=$(pgtap_setup 2>&1); then
        echo "== suite: pgtap"
        echo "pgtap: SET-UP FAILED, no pgTAP test ran: $setup_out"
        problems+=("pgtap: SET-UP FAILED (database faregate_test with pgtap, dblink, faregate): $setup_out
  its ${#tests[@]} files did not run, counted as ${#tests[@]} failures")
        summary+=("pgtap: 0 passed, ${#tests[@]} failed, 0 skipped (set-up failed)")
        total_failed=$((total_failed + ${#tests[@]}))
      else
        run_suite pgtap --pgtap "$FG_HOST" "$FG_PRIMARY_PORT" postgres faregate_test "${tests[@]}"
      fi
      ;;
    valgrind)
      suite_files valgrind "test/valgrind/check.sh is missing" test/valgrind/check.sh
      ;;
    integration)
      # 62_load_10k runs once, against the ASan+UBSan build (below)
      mapfile -t tests < <(files test/integration/*.sh test/integration/*.py | grep -vx 'test/integration/62_load_10k.sh')
      if [ ${#tests[@]} -gt 0 ]; then run_suite integration "${tests[@]}"; else no_files integration "no test/integration/*.sh|*.py"; fi
      # the pooler's tests once more against its ASan+UBSan build (they honour FG_POOLER_BIN)
      mapfile -t tests < <(files test/integration/4[0-9]_pooler_*.sh test/integration/4[0-9]_pooler_*.py \
        test/integration/60_faults_*.py test/integration/60_faults_*.sh test/integration/61_security*.py \
        test/integration/62_load_10k.sh test/integration/63_memory_claims.py \
        test/integration/50_routing_*.sh test/integration/50_routing_*.py)
      if [ ${#tests[@]} -eq 0 ]; then
        no_files integration-asan "none of the pooler's integration tests exists"
      elif [ ! -x pooler/build-asan/faregate-pooler ]; then
        problems+=("integration-asan: pooler/build-asan/faregate-pooler is not built (make -C pooler SAN=1); its ${#tests[@]} files did not run, counted as ${#tests[@]} failures")
        summary+=("integration-asan: 0 passed, ${#tests[@]} failed, 0 skipped (not built)")
        total_failed=$((total_failed + ${#tests[@]}))
      else
        FG_POOLER_BIN=pooler/build-asan/faregate-pooler run_suite integration-asan "${tests[@]}"
      fi
      ;;
    *)
      problems+=("unknown suite '$suite' (lint, unit, fuzz, pgtap, valgrind, component, integration); counted as 1 failure")
      total_failed=$((total_failed + 1))
      ;;
  esac
done

finish_bg_suites

if [ $((total_passed + total_failed + total_skipped)) -eq 0 ]; then
  problems+=("no test ran at all (FG_SUITES='$suites' FG_ONLY='$only'); counted as 1 failure")
  total_failed=1
fi

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "skips allowed in this run (reasons a machine may lack that deps.sh cannot install):"
printf '  /%s/\n' "${allowed_skips[@]}"
[ ${#allowed_seen[@]} -eq 0 ] || printf 'allowed skip: %s\n' "${allowed_seen[@]}"
[ ${#problems[@]} -eq 0 ] || printf 'FAILED: %s\n' "${problems[@]}"
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
