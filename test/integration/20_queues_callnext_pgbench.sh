#!/usr/bin/env bash
# 20_queues_callnext_pgbench.sh: call_next is exactly-once with 50 concurrent counters. pgbench runs 50
# clients that each record what call_next returned in the same transaction; afterwards no entry was
# called twice, none was skipped, and the sharded counters agree. A second run mixes enqueue and
# call_next clients, and checks the same invariants on a queue that grows while it is being served.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../harness/tap.sh"
db=fg_queues_pgbench
pgbench=${FG_PG_BIN:-/usr/lib/postgresql/15/bin}/pgbench
work=$(mktemp -d /tmp/fg-queues-pgbench.XXXXXX)
trap 'rm -rf "$work"' EXIT

recreate_db $db || { ok 1 "database $db created"; done_testing; exit 1; }
psql_primary -d $db >/dev/null <<'SQL'
CREATE EXTENSION faregate CASCADE;
INSERT INTO faregate.queues (name, servers) VALUES ('pgbench-calls', 50), ('pgbench-mixed', 50);
SELECT faregate.enqueue(1, 'T' || g, now() - interval '1 day' + g * interval '1 ms') FROM generate_series(1, 20000) g;
SELECT faregate.enqueue(2, 'M' || g, now() - interval '1 day' + g * interval '1 ms') FROM generate_series(1, 2000) g;
CREATE TABLE calls (queue_id bigint, entry_id bigint, pid int DEFAULT pg_backend_pid());
SQL
ok $? "20,000 entries waiting in queue 1, 2,000 in queue 2"

cat >"$work/call.sql" <<'EOF2'
INSERT INTO calls (queue_id, entry_id) SELECT 1, faregate.call_next(1);
EOF2
# 50 clients x 480 calls = 24,000 calls for 20,000 entries: the last 4,000 find the queue empty
timeout 180 "$pgbench" -n -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -c 50 -j 2 -t 480 -f "$work/call.sql" $db \
  >"$work/pgbench1.log" 2>&1
ok $? "pgbench: 50 clients x 480 call_next"
like "$(cat "$work/pgbench1.log")" 'number of transactions actually processed: 24000/24000' "every transaction committed"
diag "$(grep -E '^tps' "$work/pgbench1.log")"
is "$(psql_primary -d $db -c "SELECT count(*) FROM calls WHERE queue_id = 1 AND entry_id IS NOT NULL")" 20000 \
   "20,000 calls got an entry"
is "$(psql_primary -d $db -c "SELECT count(*) - count(DISTINCT entry_id) FROM calls WHERE queue_id = 1 AND entry_id IS NOT NULL")" 0 \
   "zero double calls"
is "$(psql_primary -d $db -c "SELECT count(*) FROM faregate.queue_entries WHERE queue_id = 1 AND status = 'waiting'")" 0 \
   "nobody skipped: no entry left waiting"
is "$(psql_primary -d $db -c "SELECT count(*) FROM calls WHERE queue_id = 1 AND entry_id IS NULL")" 4000 \
   "the 4,000 calls after the queue emptied returned NULL"
is "$(psql_primary -d $db -c "SELECT count(DISTINCT pid) >= 50 FROM calls WHERE queue_id = 1 AND entry_id IS NOT NULL")" t \
   "all 50 sessions called entries"
is "$(psql_primary -d $db -c "SELECT sum(waiting) || '/' || sum(busy) FROM faregate.queue_counters WHERE queue_id = 1")" "0/20000" \
   "counters: 0 waiting, 20,000 busy"

# mixed: 25 clients enqueue, 25 call, on one queue
cat >"$work/enqueue.sql" <<'EOF2'
SELECT faregate.enqueue(2, 'pgbench');
EOF2
cat >"$work/call2.sql" <<'EOF2'
INSERT INTO calls (queue_id, entry_id) SELECT 2, faregate.call_next(2);
EOF2
timeout 180 "$pgbench" -n -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -c 50 -j 2 -t 200 \
  -f "$work/enqueue.sql@1" -f "$work/call2.sql@1" $db >"$work/pgbench2.log" 2>&1
ok $? "pgbench: 50 clients mixing enqueue and call_next"
is "$(psql_primary -d $db -c "SELECT count(*) - count(DISTINCT entry_id) FROM calls WHERE queue_id = 2 AND entry_id IS NOT NULL")" 0 \
   "mixed load: zero double calls"
is "$(psql_primary -d $db -c "SELECT (SELECT count(*) FROM faregate.queue_entries WHERE queue_id = 2 AND status = 'called')
      = (SELECT count(*) FROM calls WHERE queue_id = 2 AND entry_id IS NOT NULL)")" t \
   "mixed load: every called entry was recorded by exactly one call"
is "$(psql_primary -d $db -c "SELECT count(*) FROM calls WHERE queue_id = 2 AND entry_id IS NULL")" 0 \
   "mixed load: with 2,000 entries queued up front no call found the queue empty"
is "$(psql_primary -d $db -c "SELECT (SELECT sum(waiting) FROM faregate.queue_counters WHERE queue_id = 2)
      = (SELECT count(*) FROM faregate.queue_entries WHERE queue_id = 2 AND status = 'waiting')")" t \
   "mixed load: the waiting counter equals the waiting entries"
# nobody skipped: each remaining waiting entry joined after every called one... except for calls that
# raced with an enqueue; the oldest waiting entry must be younger than the oldest called one
is "$(psql_primary -d $db -c "SELECT coalesce((SELECT min(joined_at) FROM faregate.queue_entries WHERE queue_id = 2 AND status = 'waiting')
      > (SELECT max(joined_at) FROM faregate.queue_entries WHERE queue_id = 2 AND status = 'called' AND ticket LIKE 'M%'), true)")" t \
   "mixed load: every pre-queued entry was called before any later arrival was left waiting"

psql_primary -d postgres -c "DROP DATABASE $db" >/dev/null
done_testing
