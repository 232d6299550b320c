#!/usr/bin/env bash
# 10_fares_concurrency.sh: the compiled fare table under concurrent rule changes. One session (pgbench,
# bounded in time) keeps raising a fare by 0.01 and committing; a long-lived reader session prices the
# same ride in a loop meanwhile. The reader must never see a fare go down (a stale table rebuilt after a
# newer one), and once the writer stops, its next call must return exactly the committed amount.
set -u
. "$(dirname "$0")/../harness/tap.sh"
db=fares_concurrency
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

recreate_db $db || { ok 1 "database $db created"; done_testing; exit 1; }
psql_primary -d "$db" -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION faregate CASCADE;
INSERT INTO faregate.zones VALUES ('A', 'a'), ('B', 'b');
INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency) VALUES ('A', 'B', 1.00, 'EUR');
SQL
ok $? "database with one rule"

cat >"$tmp/raise.sql" <<'SQL'
UPDATE faregate.fare_rules SET amount = amount + 0.01 WHERE from_zone = 'A' AND to_zone = 'B';
SQL
# the reader: one long-lived session
coproc READER { psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$db" 2>&1; }
ask() { echo "$1" >&"${READER[1]}"; local line; read -r -t 30 line <&"${READER[0]}"; echo "$line"; }
is "$(ask "SELECT faregate.fare('A', 'B');")" "1.00" "the reader prices before the changes"

pgbench -n -c 1 -T 4 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -f "$tmp/raise.sql" "$db" >"$tmp/pgbench.out" 2>&1 &
writer=$!
echo "$writer" >>"$FG_CLUSTER_DIR/pids"
# 2000 calls (at least 2 s) in one statement, hence one transaction, while the writer commits
reads=$(ask "DO \$\$ DECLARE previous numeric := 0; current numeric; decreases int := 0; changes int := 0; BEGIN FOR i IN 1..2000 LOOP current := faregate.fare('A', 'B'); IF current < previous THEN decreases := decreases + 1; END IF; IF current <> previous THEN changes := changes + 1; END IF; previous := current; PERFORM pg_sleep(0.001); END LOOP; RAISE NOTICE 'decreases=% changes=%', decreases, changes; END \$\$;")
wait "$writer"
writer_status=$?
sed -i "/^$writer\$/d" "$FG_CLUSTER_DIR/pids"   # it has exited: the harness must not kill a reused pid
[ "$writer_status" -eq 0 ]; ok $? "the writer ran ($(grep -o 'number of transactions actually processed: [0-9]*' "$tmp/pgbench.out"))"
like "$reads" "decreases=0 " "the reader never saw a fare go down ($reads)"
like "$reads" "changes=([2-9]|[1-9][0-9]+)$" "the reader saw the fare change while it was being changed"
final=$(psql_primary -d "$db" -c "SELECT amount FROM faregate.fare_rules WHERE from_zone = 'A'")
is "$(ask "SELECT faregate.fare('A', 'B');")" "$final" "after the writer stopped, the reader's next call prices the final committed amount"

# inside one open transaction, changes committed meanwhile are seen at the next call
ask "BEGIN;" >/dev/null
stale=0
for i in $(seq 1 20); do
  psql_primary -d "$db" -c "UPDATE faregate.fare_rules SET amount = $i.50 WHERE from_zone = 'A'" >/dev/null
  [ "$(ask "SELECT faregate.fare('A', 'B');")" = "$i.50" ] || stale=$((stale + 1))
done
is "$stale" 0 "inside one open transaction, 20 committed changes in a row are each seen at the next call"
echo 'COMMIT;' >&"${READER[1]}"
echo '\q' >&"${READER[1]}"
wait "$READER_PID" 2>/dev/null

psql_primary -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1
done_testing
