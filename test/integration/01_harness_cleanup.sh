#!/usr/bin/env bash
# 01_harness_cleanup.sh: a suite that fails on purpose inside the harness, and one interrupted by
# SIGINT, leave no PostgreSQL process and no temporary directory behind.
set -u
. "$(dirname "$0")/../harness/tap.sh"
harness=$(cd "$(dirname "$0")/../harness" && pwd)/cluster.sh
marker=$(mktemp)

# A failing command: its exit status comes back through the harness.
( "$harness" --replicas 1 -- bash -c 'echo "$FG_CLUSTER_DIR" >'"$marker"'; exit 3' ) >/dev/null 2>&1
is "$?" 3 "the harness returns the failing command's exit status"
dir=$(cat "$marker")
like "$dir" "^/tmp/faregate-cluster\." "the failing suite saw a cluster directory"
[ ! -e "$dir" ]; ok $? "the cluster directory is removed after the failure"
pgrep -f "$dir" >/dev/null; [ $? -ne 0 ]; ok $? "no process of the failed suite's cluster is left"

# An interrupted run: SIGINT to the harness's whole process group while its command sleeps, as Ctrl-C
# delivers it. Job control gives the background harness a group of its own (and keeps SIGINT unignored).
: >"$marker"
set -m
# A shell started in the background without job control (make check run as `... &`, say) passes SIGINT
# down as ignored, and bash cannot un-ignore it: restore the default before the harness starts.
/usr/bin/python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
  "$harness" --replicas 1 -- bash -c 'echo "$FG_CLUSTER_DIR" >'"$marker"'; sleep 60' >/dev/null 2>&1 &
harness_pid=$!
set +m
for _ in $(seq 1 300); do [ -s "$marker" ] && break; sleep 0.1; done
dir=$(cat "$marker")
like "$dir" "^/tmp/faregate-cluster\." "the interrupted suite started a cluster"
kill -INT -- -"$harness_pid"
wait "$harness_pid"
is "$?" 130 "the interrupted harness exits with 130"
[ ! -e "$dir" ]; ok $? "the cluster directory is removed after SIGINT"
pgrep -f "$dir" >/dev/null; [ $? -ne 0 ]; ok $? "no process of the interrupted cluster is left"
rm -f "$marker"
done_testing
