# cgroup.sh: CPU budgets for test nodes (cluster.sh --node-cpu, patroni.sh --node-cpu): one cgroup per
# node with a CPU quota, on cgroup v1's cpu controller or cgroup v2's cpu.max, whichever the machine has.
# Sourced, not run. Every cgroup it makes is named faregate-<pid of the harness that made it>-<node>, so
# one whose harness is gone (a run killed with SIGKILL, which no trap sees) is recognised and removed by
# the next run.
#
# After cgroup_detect: cgroup_root is the directory the node cgroups go under, cgroup_version 1 or 2.

# cgroup_detect: finds a writable cpu controller; prints what to do and fails when there is none.
cgroup_detect() {
  cgroup_root="" cgroup_version=""
  if [ "$(id -u)" -ne 0 ]; then
    echo "cgroup: --node-cpu needs root (cgroups are created under /sys/fs/cgroup)" >&2
    return 1
  fi
  if [ -w /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] || [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    cgroup_root=/sys/fs/cgroup/cpu cgroup_version=1
  elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    cgroup_root=/sys/fs/cgroup cgroup_version=2
    # children get the cpu controller only when the parent delegates it
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
      echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || {
        echo "cgroup: cannot enable the cpu controller in /sys/fs/cgroup/cgroup.subtree_control" >&2
        return 1
      }
  else
    echo "cgroup: no cpu controller found (neither cgroup v1's /sys/fs/cgroup/cpu nor cgroup v2's cpu.max);" \
      "mount one or run without --node-cpu" >&2
    return 1
  fi
}

# cgroup_quota_us CORES: the quota in µs per 100 ms period for CORES (0.01 to 64); fails on a bad value.
cgroup_quota_us() {
  awk -v c="$1" 'BEGIN { if (c !~ /^[0-9]*\.?[0-9]+$/ || c < 0.01 || c > 64) exit 1; printf "%d\n", c * 100000 }' || {
    echo "cgroup: --node-cpu wants a number of cores from 0.01 to 64 (e.g. 0.25), not '$1'" >&2
    return 1
  }
}

# cgroup_create NAME CORES: makes cgroup_root/NAME with a quota of CORES and prints its directory.
cgroup_create() {
  local dir=$cgroup_root/$1 quota
  quota=$(cgroup_quota_us "$2") || return 1
  mkdir "$dir" || { echo "cgroup: cannot create $dir" >&2; return 1; }
  if [ "$cgroup_version" = 1 ]; then
    echo 100000 >"$dir/cpu.cfs_period_us" && echo "$quota" >"$dir/cpu.cfs_quota_us"
  else
    echo "$quota 100000" >"$dir/cpu.max"
  fi || { echo "cgroup: cannot set the CPU quota of $dir" >&2; rmdir "$dir"; return 1; }
  echo "$dir"
}

# cgroup_join DIR PID: moves process PID (all its threads) into the cgroup DIR; its children are born there.
cgroup_join() { echo "$2" >"$1/cgroup.procs"; }

# cgroup_remove DIR: moves whatever still runs in DIR to the root cgroup and removes DIR (bounded: 5 s).
cgroup_remove() {
  local dir=$1 pid
  [ -d "$dir" ] || return 0
  for _ in $(seq 1 50); do
    while read -r pid; do echo "$pid" >"$cgroup_root/cgroup.procs" 2>/dev/null || true; done <"$dir/cgroup.procs"
    rmdir "$dir" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "cgroup: could not remove $dir" >&2
}

# cgroup_clean_stale: removes faregate-<pid>-* cgroups whose harness process no longer runs.
cgroup_clean_stale() {
  local dir pid
  for dir in "$cgroup_root"/faregate-*-*; do
    [ -d "$dir" ] || continue
    pid=${dir##*/faregate-}; pid=${pid%%-*}
    case "$pid" in '' | *[!0-9]*) continue ;; esac
    kill -0 "$pid" 2>/dev/null && continue
    echo "cgroup: removing $dir, left by a run that is gone" >&2
    cgroup_remove "$dir"
  done
}
