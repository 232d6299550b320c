#!/usr/bin/env bash
# 20_queues_notify.sh: the queue lifecycle's NOTIFY. Each transition sends, on channel
# faregate_queue_<queue_id>, the JSON payload {"entry_id", "ticket", "status"}; a listening session gets
# it when the transaction commits, and never for a transaction that rolled back.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../harness/tap.sh"
db=fg_queues_notify
work=$(mktemp -d /tmp/fg-queues-notify.XXXXXX)
trap 'rm -rf "$work"' EXIT

recreate_db $db || { ok 1 "database $db created"; done_testing; exit 1; }
psql_primary -d $db -c "CREATE EXTENSION faregate CASCADE" -c "INSERT INTO faregate.queues (name) VALUES ('notify')" >/dev/null
qid=$(psql_primary -d $db -c "SELECT queue_id FROM faregate.queues WHERE name = 'notify'")

# a listener in its own session until the table notify_done has a row (at most 60 s); psql prints each
# notification after its current command, so the notifications show after the DO block ends
psql_primary -d $db -c "CREATE TABLE notify_done ()" >/dev/null
psql_primary -d $db >"$work/listener.out" 2>&1 <<EOF2 &
LISTEN faregate_queue_$qid;
SELECT 'listening';
DO \$\$ BEGIN FOR i IN 1..600 LOOP EXIT WHEN EXISTS (SELECT FROM notify_done); PERFORM pg_sleep(0.1); END LOOP; END \$\$;
SELECT 1;
EOF2
listener=$!
wait_for 30 grep -qx listening "$work/listener.out"
ok $? "the listener session is listening"
entry=$(psql_primary -d $db -c "SELECT faregate.enqueue($qid, 'A-17')")
psql_primary -d $db -c "BEGIN" -c "SELECT faregate.call_next($qid)" -c "ROLLBACK" >/dev/null
psql_primary -d $db -c "SELECT faregate.call_next($qid)" >/dev/null
psql_primary -d $db -c "SELECT faregate.start_service($entry)" -c "SELECT faregate.finish($entry)" >/dev/null
# with faregate.queue_notify off, transitions send nothing
psql_primary -d $db -c "SET faregate.queue_notify = off" -c "SELECT faregate.enqueue($qid, 'quiet')" >/dev/null
psql_primary -d $db -c "INSERT INTO notify_done DEFAULT VALUES" >/dev/null
wait $listener
out=$(cat "$work/listener.out")
like "$out" "notification \"faregate_queue_$qid\" with payload \"\\{\"entry_id\" : $entry, \"ticket\" : \"A-17\", \"status\" : \"waiting\"\\}\"" \
  "enqueue notifies status waiting on faregate_queue_<queue_id>"
like "$out" "\"entry_id\" : $entry, \"ticket\" : \"A-17\", \"status\" : \"called\"" "call_next notifies status called"
like "$out" "\"status\" : \"serving\"" "start_service notifies status serving"
like "$out" "\"status\" : \"served\"" "finish notifies status served"
is "$(printf '%s\n' "$out" | grep -c '"status" : "called"')" 1 \
   "the rolled-back call_next sent nothing: exactly one 'called' notification"
is "$(printf '%s\n' "$out" | grep -c 'Asynchronous notification')" 4 "four notifications in all"
! printf '%s\n' "$out" | grep -q quiet; ok $? "faregate.queue_notify = off: no notification"
# the payload is JSON that a client can parse
payload=$(printf '%s\n' "$out" | grep -m1 '"status" : "called"' | sed 's/.*with payload "\(.*\)" received.*/\1/')
is "$(psql_primary -d $db -c "SELECT (\$\$${payload}\$\$::json ->> 'entry_id') || ' ' || (\$\$${payload}\$\$::json ->> 'status')")" \
   "$entry called" "the payload parses as JSON"

psql_primary -d postgres -c "DROP DATABASE $db" >/dev/null
done_testing
