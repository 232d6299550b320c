#!/usr/bin/env bash
# 10_fares_replace.sh: 100 backends price while a tariff is replaced in one transaction, over and over.
# The two tariffs are told apart by parity: every fare of one is odd cents, of the other even. Each
# client call prices 4 legs of different zone pairs with charge_taps (no transfers, no caps, so each
# leg is charged its fare) and fails (division by zero) if its answer mixes parities, i.e. mixes the
# two tariffs. Phase 1 replaces 900 rules with DELETE + INSERT (the change log records keys); phase 2
# flips 2,100 rules with one UPDATE (over the 2,000-row threshold: "everything changed"). Bounded: 2 x 6 s.
set -u
. "$(dirname "$0")/../harness/tap.sh"
db=fares_replace
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seconds=${FG_REPLACE_SECONDS:-6}

recreate_db $db || { ok 1 "database $db created"; done_testing; exit 1; }
psql_primary -d "$db" -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION faregate CASCADE;
INSERT INTO faregate.zones SELECT 'S' || i, 'station ' || i FROM generate_series(1, 30) i;
INSERT INTO faregate.rider_categories VALUES ('other', 'padding for phase 2');
-- the odd tariff
INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency)
SELECT 'S' || f, 'S' || t, 1.01 + 0.02 * ((f * 7 + t) % 40), 'EUR' FROM generate_series(1, 30) f, generate_series(1, 30) t;
INSERT INTO faregate.fare_rules (from_zone, to_zone, category, priority, amount, currency)
SELECT 'S' || f, 'S' || t, 'other', p, 1.00, 'EUR' FROM generate_series(1, 30) f, generate_series(1, 20) t, generate_series(1, 2) p;
SQL
ok $? "database with a 30-zone odd tariff (900 rules) and 1,200 padding rules"

cat >"$tmp/price.sql" <<'SQL'
\set a random(1, 30)
\set b random(1, 30)
\set c random(1, 30)
\set d random(1, 30)
SELECT 1 / (count(DISTINCT (charged * 100)::int % 2) = 1)::int
  FROM faregate.charge_taps(ARRAY[row('S' || :a, 'S' || :b, '2026-03-23 10:00+00'),
                                  row('S' || :b, 'S' || :c, '2026-03-23 11:00+00'),
                                  row('S' || :c, 'S' || :d, '2026-03-23 12:00+00'),
                                  row('S' || :d, 'S' || :a, '2026-03-23 13:00+00')]::faregate.leg[]);
SQL
# phase 1: the whole tariff deleted and inserted again with the other parity, in one transaction
cat >"$tmp/replace.sql" <<'SQL'
BEGIN;
CREATE TEMP TABLE IF NOT EXISTS old_rules AS SELECT * FROM faregate.fare_rules WITH NO DATA;
TRUNCATE old_rules;
INSERT INTO old_rules SELECT * FROM faregate.fare_rules WHERE category = 'adult';
DELETE FROM faregate.fare_rules WHERE category = 'adult';
INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency)
SELECT from_zone, to_zone, CASE WHEN (amount * 100)::int % 2 = 1 THEN amount + 0.01 ELSE amount - 0.01 END, currency
  FROM old_rules;
COMMIT;
SQL
# phase 2: one UPDATE of 2,100 rows flips every fare's parity
cat >"$tmp/flip.sql" <<'SQL'
UPDATE faregate.fare_rules SET amount = CASE WHEN (amount * 100)::int % 2 = 1 THEN amount + 0.01 ELSE amount - 0.01 END;
SQL

run_phase() {  # run_phase NAME WRITER_SCRIPT
  local name=$1 writer_script=$2 writer status
  pgbench -n -c 1 -T "$seconds" -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -f "$writer_script" "$db" \
    >"$tmp/writer-$name.out" 2>&1 &
  writer=$!
  echo "$writer" >>"$FG_CLUSTER_DIR/pids"
  pgbench -n -c 100 -j 4 -T "$seconds" -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -f "$tmp/price.sql" "$db" \
    >"$tmp/readers-$name.out" 2>&1
  status=$?
  wait "$writer"
  sed -i "/^$writer\$/d" "$FG_CLUSTER_DIR/pids"
  [ "$status" -eq 0 ] && ! grep -q "aborted\|ERROR" "$tmp/readers-$name.out"
  ok $? "$name: 100 readers, no answer mixed the two tariffs ($(grep -o 'number of transactions actually processed: [0-9]*' "$tmp/readers-$name.out"))" \
    || sed -n '1,20p' "$tmp/readers-$name.out" >&2
  local replaced
  replaced=$(grep -o 'number of transactions actually processed: [0-9]*' "$tmp/writer-$name.out" | grep -o '[0-9]*$')
  [ "${replaced:-0}" -ge 2 ]; ok $? "$name: the writer replaced the tariff ${replaced:-0} times meanwhile"
}
run_phase "keyed replace (DELETE + INSERT of 900 rules)" "$tmp/replace.sql"
run_phase "bulk flip (UPDATE of 2,100 rules)" "$tmp/flip.sql"

# after the writers stopped, a session prices what is committed
is "$(psql_primary -d "$db" -c "SELECT faregate.fare('S1', 'S2', '2026-03-23 10:00+00') = amount FROM faregate.fare_rules WHERE from_zone = 'S1' AND to_zone = 'S2' AND category = 'adult'")" \
   "t" "a new session prices the final committed tariff"
psql_primary -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1
done_testing
