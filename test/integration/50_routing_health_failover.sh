#!/usr/bin/env bash
# 50_routing_health_failover.sh: health.c through a whole failover. Promotion and stopping the primary change
# the cluster's topology, so this runs test/component/build/test_health (TAP) with FG_HEALTH_PROMOTE=1 on a
# primary + 2 replicas of its own (test/harness/cluster.sh), never on the shared cluster of the other
# suites. Adds to test_health's checks: pg_ctl promote of replica 2 is reported as a promotion within
# two check periods, writes move to it, and they stay there when the old primary goes down.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/test/component/build/test_health
if [ ! -x "$bin" ]; then
  echo "1..0 # SKIP $bin is not built (make -C test/component)"
  exit 0
fi
exec "$top/test/harness/cluster.sh" --replicas 2 -- env FG_HEALTH_PROMOTE=1 "$bin"
