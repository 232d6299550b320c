#!/usr/bin/env bash
# 02_harness_node_cpu.sh: cluster.sh --node-cpu puts each postmaster, and the backends it forks, in a
# cgroup of its own with the CPU quota asked for; the cgroups are gone after the run, after a failing
# run too, and a stale one left by a killed run is removed by the next run. Skipped without root or a
# cpu controller.
set -u
. "$(dirname "$0")/../harness/tap.sh"
here=$(cd "$(dirname "$0")/../harness" && pwd)
harness=$here/cluster.sh
. "$here/cgroup.sh"
if ! cgroup_detect 2>/dev/null; then
  echo "1..0 # SKIP no writable cpu cgroup controller (needs root and cgroup v1 cpu or v2 cpu.max)"
  exit 0
fi
out=$(mktemp)

# Inside the run: for each node, its postmaster and one of its backends are in its cgroup, with 0.25 core.
# shellcheck disable=SC2016
probe='
  . "$(dirname "$0")/cgroup.sh" 2>/dev/null
  i=0
  for port in $FG_PRIMARY_PORT $FG_REPLICA_PORTS; do
    cg=$(eval echo "\$FG_NODE_CGROUP$i")
    data=$FG_PRIMARY_DATA; [ $i -gt 0 ] && data=$(eval echo "\$FG_REPLICA${i}_DATA")
    pm=$(head -1 "$data/postmaster.pid")
    # the backend serving this query reads its own cgroup membership
    backend_cg=$($FG_RUN_AS "$FG_PG_BIN/psql" -X -qAt -h "$FG_HOST" -p "$port" -U postgres -d postgres \
      -c "SELECT pg_read_file('"'"'/proc/self/cgroup'"'"')" | grep -E "^[0-9]+:(cpu(,cpuacct)?)?:" | grep -o "faregate-[0-9]*-node[0-9]*")
    echo "node$i cg=$cg"
    grep -qx "$pm" "$cg/cgroup.procs" && echo "node$i postmaster_in"
    [ "$backend_cg" = "${cg##*/}" ] && echo "node$i backend_in"
    if [ -f "$cg/cpu.cfs_quota_us" ]; then echo "node$i quota=$(cat "$cg/cpu.cfs_quota_us")/$(cat "$cg/cpu.cfs_period_us")"
    else echo "node$i quota=$(cat "$cg/cpu.max" | tr " " /)"; fi
    i=$((i + 1))
  done
  grep -qx "$$" "$FG_NODE_CGROUP0/cgroup.procs" || echo "command_outside"
  echo "cpu=$FG_NODE_CPU"'
"$harness" --replicas 1 --node-cpu 0.25 -- bash -c "cd '$here' && $probe" >"$out" 2>&1
ok $? "a run with --node-cpu 0.25 succeeds"
is "$(grep -c '_in$' "$out")" 4 "each postmaster and a backend it forked are in their node's cgroup"
is "$(grep -c 'quota=25000/100000$' "$out")" 2 "each node's cgroup has a quota of 0.25 core (25 ms per 100 ms)"
grep -qx command_outside "$out"; ok $? "the command run by the harness is outside the nodes' cgroups"
is "$(grep -c "cg=$cgroup_root/faregate-[0-9]*-node[01]\$" "$out")" 2 "the cgroups are named faregate-<pid>-node<i>"
cgs=$(sed -n 's/^node[0-9]* cg=//p' "$out")
gone=0; for cg in $cgs; do [ -e "$cg" ] && gone=1; done
[ -n "$cgs" ] && [ $gone = 0 ]; ok $? "the cgroups are removed after the run"
[ $? = 0 ] || sed 's/^/# /' "$out"

# A failing command: the cgroups go as well.
"$harness" --replicas 0 --node-cpu 0.25 -- bash -c 'echo "$FG_NODE_CGROUPS"; exit 4' >"$out" 2>/dev/null
is "$?" 4 "a failing run returns the command's status"
cg=$(tail -1 "$out")
[ -n "$cg" ] && [ ! -e "$cg" ]; ok $? "its cgroup is removed after the failure"

# A stale cgroup of a run that no longer exists (pid 999999999 is above pid_max) goes at the next start.
stale=$cgroup_root/faregate-999999999-node0
mkdir -p "$stale"
"$harness" --replicas 0 --node-cpu 0.5 -- true >/dev/null 2>&1
ok $? "a run with --node-cpu 0.5 succeeds"
[ ! -e "$stale" ]; ok $? "the stale cgroup of a killed run is removed at start"
rmdir "$stale" 2>/dev/null

"$harness" --replicas 0 --node-cpu lots -- true >"$out" 2>&1
is "$?" 2 "a bad --node-cpu is refused"
like "$(cat "$out")" "wants a number of cores" "with a message saying what it wants"
rm -f "$out"
done_testing
