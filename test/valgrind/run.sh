#!/usr/bin/env bash
# run.sh: a valgrind (memcheck) run of the faregate extension's C functions. Builds the extension, puts
# it into a private, relocated copy of the PostgreSQL 15 installation (so that the system-wide install
# and its make-check lock are not touched), starts a throwaway primary (test/harness/cluster.sh
# --replicas 0) whose postmaster, and so every backend and parallel worker it forks, runs under
# valgrind, runs test/valgrind/workload.sql against it, stops it cleanly and reads valgrind's logs.
#
# Prints "valgrind: N errors (M in faregate frames) in P processes" and exits non-zero when M > 0, when
# N > 0 with FG_VALGRIND_STRICT=1, or when the workload did not complete. Errors "in faregate frames"
# are those whose stack has a frame in faregate.so (fares.c, fare_cache.c, queues.c, sketch.c ...).
# Known false positives of an unpatched (non-USE_VALGRIND) server are suppressed by
# test/valgrind/postgres.supp, which says why each one is there.
#
# Usage: test/valgrind/run.sh [workload.sql]      (about 2-4 minutes on 2 cores)
#   FG_VALGRIND_KEEP=DIR   copy valgrind's per-process logs to DIR
#   FG_VALGRIND_STRICT=1   fail on any error, also outside faregate frames
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
workload=${1:-$here/workload.sql}
workload=$(cd "$(dirname "$workload")" && pwd)/$(basename "$workload")
command -v valgrind >/dev/null || { echo "valgrind/run.sh: valgrind is not installed (apt-get install -y valgrind)" >&2; exit 2; }

SYS_PG_CONFIG=${PG_CONFIG:-$(command -v /usr/lib/postgresql/15/bin/pg_config || command -v pg_config)}
bindir=$("$SYS_PG_CONFIG" --bindir)
pkglibdir=$("$SYS_PG_CONFIG" --pkglibdir)
sharedir=$("$SYS_PG_CONFIG" --sharedir)

work=$(mktemp -d /tmp/faregate-valgrind.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

# --- a relocated copy of the installation: PostgreSQL finds share/ and lib/ relative to its binary ---
echo "valgrind/run.sh: building faregate and a private PostgreSQL installation in $work"
make -s -C "$top/extension" PG_CONFIG="$SYS_PG_CONFIG" >/dev/null
make -s -C "$top/extension" PG_CONFIG="$SYS_PG_CONFIG" install DESTDIR="$work/stage" >/dev/null
root=$work/root
mkdir -p "$root$(dirname "$bindir")" "$root$(dirname "$sharedir")"
cp -a "$bindir" "$root$bindir"
mkdir -p "$root$(dirname "$pkglibdir")"
cp -a "$pkglibdir" "$root$pkglibdir"
cp -a "$sharedir" "$root$sharedir"
cp -a "$work/stage$pkglibdir/." "$root$pkglibdir/"
cp -a "$work/stage$sharedir/." "$root$sharedir/"
mkdir -p "$work/logs"

# bin/postgres becomes a wrapper: the postmaster runs under valgrind; initdb's bootstrap and
# single-user runs and the version probes of initdb and pg_ctl run the real binary directly (under
# valgrind they would only cost minutes and test nothing of faregate's).
mv "$root$bindir/postgres" "$root$bindir/postgres.real"
cat >"$root$bindir/postgres" <<EOF
#!/bin/sh
real="\$(dirname "\$0")/postgres.real"
case "\$1" in
  --boot|--single|-V|--version|-C|--describe-config|--check) exec "\$real" "\$@" ;;
esac
exec valgrind --tool=memcheck --trace-children=yes --leak-check=no --error-exitcode=0 \\
  --num-callers=40 --read-var-info=no --gen-suppressions=all \\
  --suppressions="$here/postgres.supp" --log-file="$work/logs/vg.%p.log" "\$real" "\$@"
EOF
chmod 755 "$root$bindir/postgres"
chmod -R a+rX "$root"
chown postgres: "$work/logs" 2>/dev/null || chmod 777 "$work/logs"

# --- the cluster, the workload, a clean stop ---
# --error-exitcode=0: a backend that exited with valgrind's error code would look like a crash to the
# postmaster, which would then restart every process; errors are counted from the logs instead.
cat >"$work/inside.sh" <<'EOF'
#!/usr/bin/env bash
set -uo pipefail
psql=("$FG_PG_BIN/psql" -X -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres)
"${psql[@]}" -d postgres -qc "CREATE DATABASE faregate_valgrind" >/dev/null
"${psql[@]}" -d faregate_valgrind -f "$FG_VG_WORKLOAD" >"$FG_VG_WORK/workload.out" 2>&1
echo $? >"$FG_VG_WORK/workload.rc"
$FG_RUN_AS "$FG_PG_BIN/pg_ctl" -D "$FG_PRIMARY_DATA" -m fast -w -t 300 stop >/dev/null
EOF
chmod 755 "$work/inside.sh"
echo "valgrind/run.sh: starting PostgreSQL under valgrind and running $(basename "$workload")"
started=$SECONDS
FG_VG_WORKLOAD=$workload FG_VG_WORK=$work PG_CONFIG="$root$bindir/pg_config" \
  "$top/test/harness/cluster.sh" --replicas 0 --max-connections 20 \
  --conf "jit = off" --conf "autovacuum = off" --conf "max_worker_processes = 8" \
  --conf "max_parallel_workers = 4" --conf "faregate.timezone = 'Europe/Berlin'" \
  -- "$work/inside.sh"
elapsed=$((SECONDS - started))

# --- results ---
if [ -n "${FG_VALGRIND_KEEP:-}" ]; then mkdir -p "$FG_VALGRIND_KEEP"; cp "$work"/logs/*.log "$work/workload.out" "$FG_VALGRIND_KEEP/"; fi
processes=$(ls "$work"/logs/vg.*.log 2>/dev/null | wc -l)
# every process's error count after suppressions ("ERROR SUMMARY: N errors from M contexts")
errors=$(cat "$work"/logs/vg.*.log 2>/dev/null | sed -n 's/.*ERROR SUMMARY: \([0-9][0-9]*\) errors.*/\1/p' |
  awk '{ n += $1 } END { print n + 0 }')
summaries=$(cat "$work"/logs/vg.*.log 2>/dev/null | grep -c 'ERROR SUMMARY' || true)
# errors with a faregate frame: valgrind separates reports by a line that is only "==PID== "
faregate_errors=$(cat "$work"/logs/vg.*.log 2>/dev/null | awk '
  /^==[0-9]+== *$/ { if (block ~ /(faregate\.so|fares\.c|fare_cache\.c|queues\.c|sketch\.c|faregate\.c)/ &&
                         block ~ /(Invalid|uninitialised|Uninitialised|unaddressable|overlap|Mismatched|free)/) n++;
                     block = ""; next }
  { block = block "\n" $0 }
  END { if (block ~ /(faregate\.so|fares\.c|fare_cache\.c|queues\.c|sketch\.c|faregate\.c)/ &&
            block ~ /(Invalid|uninitialised|Uninitialised|unaddressable|overlap|Mismatched|free)/) n++;
        print n + 0 }')
workload_rc=$(cat "$work/workload.rc" 2>/dev/null || echo 99)
complete=no
grep -q 'faregate valgrind workload complete' "$work/workload.out" 2>/dev/null && complete=yes

echo "valgrind: $errors errors ($faregate_errors in faregate frames) in $processes processes," \
  "$summaries error summaries, workload complete: $complete, ${elapsed}s"
if [ "$faregate_errors" -gt 0 ] || [ "$errors" -gt 0 ]; then
  echo "valgrind/run.sh: the reports (FG_VALGRIND_KEEP=DIR keeps the logs):"
  # the error reports only (not valgrind's per-process banners and heap summaries)
  cat "$work"/logs/vg.*.log | awk '
    /^==[0-9]+== *$/ { if (block ~ /(Invalid|uninitialised|Uninitialised|unaddressable|overlap|Mismatched)/) print block;
                       block = ""; next }
    { block = block "\n" $0 }' | head -300
fi
if [ "$complete" != yes ] || [ "$workload_rc" != 0 ]; then
  echo "valgrind/run.sh: the workload did not complete (psql exit $workload_rc); its output ends:" >&2
  tail -20 "$work/workload.out" >&2
  exit 1
fi
[ "$summaries" -gt 0 ] || { echo "valgrind/run.sh: no valgrind summary found: did valgrind run?" >&2; exit 1; }
[ "$faregate_errors" -eq 0 ] || exit 1
if [ "${FG_VALGRIND_STRICT:-0}" = 1 ] && [ "$errors" -gt 0 ]; then exit 1; fi
exit 0
