#!/usr/bin/env bash
# 49_ops_docs.sh: docs/faregate-pooler.service passes `systemd-analyze verify` (with ExecStart pointed at
# the built binary, since verify checks that the executable exists; skipped without systemd-analyze, which
# deps.sh installs (package systemd), so run-suites.sh fails that skip in `make check`), and every
# metric family faregate-pooler exposes is in docs/operations.md's metrics reference.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/test/integration/40_pooler_lib.bash"

if command -v systemd-analyze >/dev/null 2>&1; then
  unit_dir=$(mktemp -d /tmp/faregate-unit.XXXXXX)
  sed "s|^ExecStart=/usr/local/bin/faregate-pooler|ExecStart=$POOLER_BIN|" "$top/docs/faregate-pooler.service" \
    >"$unit_dir/faregate-pooler.service"
  out=$(systemd-analyze verify "$unit_dir/faregate-pooler.service" 2>&1)
  rc=$?
  # verify exits 0 on many unit problems and only warns: any line about our unit file fails the test
  # (lines about other installed units, e.g. pgpool2.service, are not ours)
  ours=$(printf '%s\n' "$out" | grep -F "faregate-pooler.service")
  ok $([ $rc -eq 0 ] && [ -z "$ours" ]; echo $?) "docs/faregate-pooler.service passes systemd-analyze verify"
  [ -z "$ours" ] || printf '%s\n' "$ours" | sed 's/^/# /'
  # the check can fail: the same unit with a bad signal name is reported
  sed 's/^KillSignal=SIGINT/KillSignal=SIGBOGUS/' "$unit_dir/faregate-pooler.service" >"$unit_dir/faregate-pooler-bad.service"
  bad=$(systemd-analyze verify "$unit_dir/faregate-pooler-bad.service" 2>&1 | grep -F "faregate-pooler-bad.service")
  ok $([ -n "$bad" ]; echo $?) "systemd-analyze verify does report a broken copy of the unit"
  rm -rf "$unit_dir"
else
  echo "ok 1 # SKIP systemd-analyze not installed"
  echo "ok 2 # SKIP systemd-analyze not installed"
  TAP_COUNT=$((TAP_COUNT + 2))
fi

mport=$(pooler_free_port)
pooler_start "metrics_port = $mport" || { done_testing; exit 1; }
psql_pooler -c "SELECT 1" >/dev/null
families=$(curl -sS --max-time 30 "http://127.0.0.1:$mport/metrics" | sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p')
ok $([ "$(printf '%s\n' "$families" | grep -c .)" -ge 20 ]; echo $?) "metric families read from /metrics"
missing=()
for f in $families; do grep -q "\`$f\`" "$top/docs/operations.md" || missing+=("$f"); done
# with no family read the list of missing ones would be empty too: that fails as well
ok $([ -n "$families" ] && [ ${#missing[@]} -eq 0 ]; echo $?) \
  "every metric family is in docs/operations.md's reference table (missing: ${missing[*]:-none})"
done_testing
