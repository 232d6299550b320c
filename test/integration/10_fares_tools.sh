#!/usr/bin/env bash
# 10_fares_tools.sh: the fare rules survive pg_dump/pg_restore (tables, the rule_id sequence, prices);
# sql/maintenance/check_fare_rules.sql finds missing rules, rules that never apply, expired rules and
# validity gaps; and a replica's long-lived session sees a rule change committed on the primary at its
# next call (the relcache invalidation travels in the WAL).
set -u
. "$(dirname "$0")/../harness/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FG_PG_BIN:-/usr/lib/postgresql/15/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=fares_dump_src dst=fares_dump_dst

{ recreate_db $src && recreate_db $dst; } || { ok 1 "databases $src, $dst created"; done_testing; exit 1; }
psql_primary -d "$src" -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION faregate CASCADE;
ALTER DATABASE fares_dump_src SET faregate.timezone = 'Europe/Zurich';
INSERT INTO faregate.zones VALUES ('A', 'alpha'), ('B', 'beta'), ('C', 'gamma');
INSERT INTO faregate.rider_categories VALUES ('child', 'under 16');
INSERT INTO faregate.timeframes VALUES ('peak', '{1,2,3,4,5}', '07:00', '09:30'), ('gone', '{6}', '10:00', '11:00');
INSERT INTO faregate.fare_rules (from_zone, to_zone, category, timeframe, valid, amount, currency, priority) VALUES
  ('A', 'B', 'adult', NULL, '(,2030-01-01)', 2.50, 'CHF', 0),
  ('A', 'B', 'adult', NULL, '[2030-02-01,)', 2.80, 'CHF', 0),
  ('A', 'B', 'adult', 'peak', '(,)', 3.20, 'CHF', 0),
  ('A', 'B', 'child', NULL, '(,)', 1.20, 'CHF', 0),
  ('B', 'A', 'adult', NULL, '(,)', 2.50, 'CHF', 9),
  ('B', 'A', 'adult', NULL, '[2025-01-01,2025-02-01)', 1.00, 'CHF', 1),
  ('B', 'A', 'adult', 'gone', '(,)', 1.50, 'CHF', 0),
  ('A', 'C', 'adult', NULL, '[2020-01-01,2021-01-01)', 3.00, 'CHF', 0);
DELETE FROM faregate.timeframes WHERE timeframe = 'gone';
INSERT INTO faregate.transfer_rules VALUES ('adult', 2, '1 hour', 0);
INSERT INTO faregate.fare_caps VALUES ('adult', 'day', 8.00, '04:00');
SQL
ok $? "source database with fare rules"

prices="SELECT faregate.fare('A', 'B', '2026-03-23 08:00+01'), faregate.fare('A', 'B', '2026-03-23 12:00+01'),
               faregate.fare('A', 'B', '2026-03-23 12:00+01', 'child'), faregate.fare('A', 'B', '2031-01-01 12:00+01'),
               (SELECT string_agg(charged::text || ' ' || reason, ', ' ORDER BY tap_no) FROM faregate.charge_taps(ARRAY[
                  row('A', 'B', '2026-03-23 10:00+01'), row('B', 'A', '2026-03-23 10:30+01'),
                  row('A', 'B', '2026-03-23 12:00+01'), row('A', 'B', '2026-03-23 14:00+01'),
                  row('A', 'B', '2026-03-23 16:00+01')]::faregate.leg[]))"
tables="SELECT 'zones', md5(string_agg(z::text, ';' ORDER BY z::text)) FROM faregate.zones z
        UNION ALL SELECT 'rider_categories', md5(string_agg(c::text, ';' ORDER BY c::text)) FROM faregate.rider_categories c
        UNION ALL SELECT 'timeframes', md5(string_agg(t::text, ';' ORDER BY t::text)) FROM faregate.timeframes t
        UNION ALL SELECT 'fare_rules', md5(string_agg(r::text, ';' ORDER BY r::text)) FROM faregate.fare_rules r
        UNION ALL SELECT 'transfer_rules', md5(string_agg(t::text, ';' ORDER BY t::text)) FROM faregate.transfer_rules t
        UNION ALL SELECT 'fare_caps', md5(string_agg(c::text, ';' ORDER BY c::text)) FROM faregate.fare_caps c"
src_prices=$(psql_primary -d "$src" -c "$prices" 2>&1)
is "$src_prices" "3.20|2.50|1.20|2.80|2.50 fare, 0.00 transfer, 2.50 fare, 2.50 fare, 0.50 daily cap" \
  "source prices (Europe/Zurich from ALTER DATABASE; a daily cap of 8.00)"
src_tables=$(psql_primary -d "$src" -c "$tables")

"$bin/pg_dump" -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -Fc -f "$tmp/fares.dump" "$src" 2>"$tmp/dump.err"
ok $? "pg_dump of the source database"
"$bin/pg_restore" -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$dst" "$tmp/fares.dump" 2>"$tmp/restore.err"
ok $? "pg_restore into an empty database"
[ -s "$tmp/restore.err" ] && diag "$(head -5 "$tmp/restore.err")"
is "$(psql_primary -d "$dst" -c "$tables")" "$src_tables" "every rule table is restored row for row"
is "$(psql_primary -d "$dst" -c "SET faregate.timezone = 'Europe/Zurich'" -c "$prices" 2>&1)" "$src_prices" \
  "the restored rules price every ride and tap the same"
is "$(psql_primary -d "$dst" -c "SELECT count(*) FROM faregate.rider_categories WHERE category = 'adult'")" 1 \
  "adult exists once after the restore"
is "$(psql_primary -d "$dst" -c "INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency) VALUES ('C', 'A', 1, 'CHF')
                                 RETURNING rule_id > (SELECT max(rule_id) FROM faregate.fare_rules WHERE from_zone <> 'C')" 2>&1)" t \
  "the rule_id sequence continues after the restore"

# check_fare_rules.sql on the source database
report=$(psql_primary -d "$src" -F ' | ' -f "$top/sql/maintenance/check_fare_rules.sql" 2>&1)
like "$report" "^missing rule \| A \| A \| adult" "check_fare_rules: a zone pair without a rule"
like "$report" "missing rule \| B \| A \| child" "check_fare_rules: a category without a rule for a pair"
[ "$(printf '%s\n' "$report" | grep -c '^missing rule | A | B |')" -eq 0 ]; ok $? "check_fare_rules: no false 'missing rule' for A -> B"
like "$report" "no window \| B \| A \| adult \| [0-9]+ \| timeframe gone has no window" "check_fare_rules: a rule whose timeframe has no window"
like "$report" "shadowed \| B \| A \| adult \| [0-9]+ \| any-time rule [0-9]+ \(priority 9" "check_fare_rules: a rule shadowed by a higher priority"
like "$report" "expired \| A \| C \| adult \| [0-9]+ \| valid \[2020-01-01,2021-01-01\) ended" "check_fare_rules: an expired rule"
like "$report" "validity gap \| A \| B \| adult \|  \| no any-time rule valid on \[2030-01-01,2030-02-01\)" "check_fare_rules: a gap between two validities"
like "$report" "validity gap \| A \| C \| adult \|  \| no any-time rule valid on \[2021-01-01,\)" "check_fare_rules: a gap after the last validity"
[ "$(printf '%s\n' "$report" | grep -c '^validity gap | A | C | adult |  | no any-time rule valid on (,')" -eq 0 ]; ok $? "check_fare_rules: the time before the first rule is no gap"
[ "$(printf '%s\n' "$report" | grep -c '^validity gap | A | B | child')" -eq 0 ]; ok $? "check_fare_rules: no gap where a rule is always valid"
psql_primary -d "$dst" -c "DELETE FROM faregate.fare_rules; DELETE FROM faregate.timeframes; DELETE FROM faregate.zones" >/dev/null
is "$(psql_primary -d "$dst" -f "$top/sql/maintenance/check_fare_rules.sql" 2>&1)" "" "check_fare_rules: an empty network has no findings"

# a long-lived session on a replica sees a change committed on the primary at its next call
if [ -n "${FG_REPLICA1_PORT:-}" ]; then
  wait_replicas_caught_up 30
  coproc REPLICA { psql -X -qAt -h "$FG_HOST" -p "$FG_REPLICA1_PORT" -U postgres -d "$src" 2>&1; }
  ask() { echo "$1" >&"${REPLICA[1]}"; local line; read -r -t 10 line <&"${REPLICA[0]}"; echo "$line"; }
  is "$(ask "SELECT faregate.fare('A', 'B', '2026-03-23 12:00+01');")" "2.50" "replica session: fare before the change"
  psql_primary -d "$src" -c "UPDATE faregate.fare_rules SET amount = 2.60 WHERE amount = 2.50 AND from_zone = 'A'" >/dev/null
  wait_replicas_caught_up 30
  is "$(ask "SELECT faregate.fare('A', 'B', '2026-03-23 12:00+01');")" "2.60" "replica session: the committed change at its next call"
  is "$(ask "SELECT rebuilds FROM faregate.fare_cache_stats();")" "1" "replica session: the compiled table was rebuilt once"
  echo '\q' >&"${REPLICA[1]}"
  wait "$REPLICA_PID" 2>/dev/null
fi

psql_primary -d postgres -c "DROP DATABASE $src" -c "DROP DATABASE $dst" >/dev/null 2>&1
done_testing
