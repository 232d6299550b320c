#!/usr/bin/env bash
# bench_fares.sh: faregate's fare functions against plain SQL on the same rules, in one run.
#  1. SELECT faregate.fare(random pair) vs the equivalent plain-SQL indexed lookup vs SELECT 1 (pgbench,
#     -M prepared, 2 clients, FG_BENCH_SECONDS each, interleaved, best of 2 rounds) on a 300-zone network
#     with 3 categories and 2 timeframes (540,000 rules). Steady state = warm backends, as behind a pooler:
#     each pgbench connection's first transaction prices every pair once (fare(); the other two need no
#     warm-up beyond their first transactions), and steady-state TPS counts the transactions that end
#     after every connection's first transaction and after the run's first 2 s, up to the last second
#     (from pgbench's per-transaction log). Also a cold run of fare() (no warm-up: most calls are cache
#     misses, each filled by a direct index scan), the first call of a new session (also with the library
#     loaded at session start, session_preload_libraries, as shared_preload_libraries would) beside a new
#     session's first query without fare(), and the per-backend cache memory after 2,000 distinct lookups.
#  2. Pricing 1,000,000 taps of 100,000 riders (one day, transfers and caps) with charge_taps in one
#     query vs a plain-SQL reference (window functions for caps; a recursive CTE for journeys, which
#     depend on the previous journey's start and so cannot be a window function); the two results must
#     be identical (compared row for row with EXCEPT both ways).
#  3. Churn (after 1, on the same network, then on a 700-station network loaded with one COPY per table
#     and audited with sql/maintenance/check_fare_rules.sql): 20 pgbench clients calling fare() on
#     random pairs for FG_BENCH_CHURN_SECONDS with no rule change, then with one rule changed per second
#     by another session, then with a 10,000-row UPDATE every 5 s; TPS and p99 of each and their ratio
#     to the first, the first call of a new session, and a backend's fares memory after 2,000 distinct
#     lookups. Each phase starts 20 new connections (cold caches, the same for all three); an unreported
#     run of the first phase goes before them, so that the OS and buffer caches are as warm for the first
#     phase as for the others. The writer picks the rule's id before its UPDATE (an UPDATE with random()
#     in its WHERE clause would scan the whole table, evaluating random() once per row).
# Starts its own cluster (test/harness/cluster.sh, no replicas). Never fails on speed; prints ratios.
# Environment: FG_BENCH_SECONDS (default 10), FG_BENCH_RIDERS (default 100000), FG_BENCH_ZONES (default
# 300; smaller only for a quick trial of the script), FG_BENCH_CHURN_SECONDS (default 10),
# FG_BENCH_STATIONS (default 700; 0 skips the station network).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
if [ -z "${FG_CLUSTER_DIR:-}" ]; then
  exec "$here/../harness/cluster.sh" --replicas 0 --conf 'work_mem = 64MB' --conf 'max_parallel_workers_per_gather = 0' \
    -- "$0" "$@"
fi

seconds=${FG_BENCH_SECONDS:-10}
riders=${FG_BENCH_RIDERS:-100000}
zones=${FG_BENCH_ZONES:-300}
churn_seconds=${FG_BENCH_CHURN_SECONDS:-10}
stations=${FG_BENCH_STATIONS:-700}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=fares_bench
psql_db() { psql -X -qAt -v ON_ERROR_STOP=1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$db" "$@"; }
now_s() { date +%s.%N; }

psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d postgres -c "CREATE DATABASE $db"
psql_db -c "SET client_min_messages = warning" -c "CREATE EXTENSION faregate CASCADE" \
  -c "ALTER DATABASE $db SET faregate.timezone = 'Europe/Zurich'"

# --- the network: 300 zones x 3 categories x 2 timeframes (peak / offpeak cover the whole week) ---
t0=$(now_s)
psql_db <<SQL
INSERT INTO faregate.zones SELECT 'Z' || i, 'zone ' || i FROM generate_series(1, $zones) i;
INSERT INTO faregate.rider_categories VALUES ('child', 'reduced'), ('senior', 'reduced');
INSERT INTO faregate.timeframes VALUES
  ('peak', '{1,2,3,4,5}', '07:00', '09:30'), ('peak', '{1,2,3,4,5}', '16:00', '18:30'),
  ('offpeak', '{1,2,3,4,5}', '00:00', '07:00'), ('offpeak', '{1,2,3,4,5}', '09:30', '16:00'),
  ('offpeak', '{1,2,3,4,5}', '18:30', '24:00'), ('offpeak', '{6,7}', '00:00', '24:00');
-- one statement, one invalidation (see docs/fares.md, "Loading rules in bulk")
INSERT INTO faregate.fare_rules (from_zone, to_zone, category, timeframe, amount, currency)
SELECT 'Z' || f, 'Z' || t, c.category, tf.timeframe,
       round((1.50 + 0.01 * ((f * 7 + t * 13) % $zones)) * c.factor * tf.factor, 2), 'CHF'
  FROM generate_series(1, $zones) f, generate_series(1, $zones) t,
       (VALUES ('adult', 1.0), ('child', 0.5), ('senior', 0.7)) c(category, factor),
       (VALUES ('peak', 1.25), ('offpeak', 1.0)) tf(timeframe, factor);
INSERT INTO faregate.transfer_rules VALUES ('adult', 2, '60 min', 0.00), ('child', 2, '60 min', 0.00),
  ('senior', 2, '60 min', 0.00);
INSERT INTO faregate.fare_caps VALUES ('adult', 'day', 9.00, '04:30'), ('adult', 'week', 30.00, '04:30');
VACUUM ANALYZE;  -- so that autovacuum does not run during the measurements
SQL
t1=$(now_s)
printf 'fares: loaded %s rules in %.1f s\n' "$(psql_db -c 'SELECT count(*) FROM faregate.fare_rules')" \
  "$(echo "$t1 - $t0" | bc)"

# --- a new session's first call, and a backend's memory after 2,000 distinct lookups ---
# first_call DB [PGOPTIONS]: the median over 5 new sessions of their first fare() call (server side, ms);
# with PGOPTIONS='-c session_preload_libraries=faregate' the library is loaded when the session starts
# (as with shared_preload_libraries), so the call does not include loading it
first_call() {
  for i in 1 2 3 4 5; do
    PGOPTIONS=${2:-} psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$1" \
      -c "WITH f AS MATERIALIZED (SELECT faregate.fare('Z$i', 'Z2', '2026-03-23 08:00+01') AS v)
          SELECT extract(epoch FROM clock_timestamp() - now()) * 1000 FROM f WHERE v IS NOT NULL"
  done | sort -n | sed -n 3p
}
# memory_after_2000 DB: "entries bytes" of a new session after 2,000 distinct pairs (50 x 40)
memory_after_2000() {
  psql -X -qAt -F ' ' -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$1" \
    -c "SELECT count(faregate.fare('Z' || (1 + i / 40), 'Z' || (1 + i % 40), '2026-03-23 08:00+01')) FROM generate_series(0, 1999) i" \
    -c "SELECT entries, bytes FROM faregate.fare_cache_stats()" | tail -1
}
# first_query_baseline DB: the same measurement with the query's fare() replaced by a constant (what
# any first query of a new session costs: parse, plan, catalog caches)
first_query_baseline() {
  for i in 1 2 3 4 5; do
    psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$1" \
      -c "WITH f AS MATERIALIZED (SELECT 1.00 AS v)
          SELECT extract(epoch FROM clock_timestamp() - now()) * 1000 FROM f WHERE v IS NOT NULL"
  done | sort -n | sed -n 3p
}
psql_db -c "SELECT faregate.fare('Z1', 'Z2', '2026-03-23 08:00+01')" >/dev/null   # warms the OS cache
read -r mem_entries mem_bytes <<<"$(memory_after_2000 "$db")"
preload='-c session_preload_libraries=faregate'
printf 'fares: %s zones: first fare() of a new session %.2f ms, %.2f ms with the library preloaded (median of 5; the same first query without fare() %.2f ms); after 2,000 distinct lookups a backend holds %s entries, %.2f MiB; load average %s\n' \
  "$zones" "$(first_call "$db")" "$(first_call "$db" "$preload")" "$(first_query_baseline "$db")" "$mem_entries" \
  "$(awk -v b="$mem_bytes" 'BEGIN {print b / 1048576}')" "$(uptime | sed 's/.*load average: //')"

# --- 1. fare() vs plain SQL vs SELECT 1 ---
cat >"$tmp/fare_cold.sql" <<SQL
\set a random(1, $zones)
\set b random(1, $zones)
SELECT faregate.fare('Z' || :a, 'Z' || :b, now(), 'adult');
SQL
# the same with a warm-up: a connection's first transaction prices every pair once (pgbench keeps
# each client's variables from one transaction to the next, so \if runs it once per connection)
cat >"$tmp/fare.sql" <<SQL
\if :warm = 0
SELECT count(faregate.fare('Z' || a, 'Z' || b, now(), 'adult')) FROM generate_series(1, $zones) a, generate_series(1, $zones) b;
\set warm 1
\endif
\set a random(1, $zones)
\set b random(1, $zones)
SELECT faregate.fare('Z' || :a, 'Z' || :b, now(), 'adult');
SQL
cat >"$tmp/plain.sql" <<SQL
\set a random(1, $zones)
\set b random(1, $zones)
SELECT r.amount FROM faregate.fare_rules r
 WHERE r.from_zone = 'Z' || :a AND r.to_zone = 'Z' || :b AND r.category = 'adult'
   AND r.valid @> (now() AT TIME ZONE current_setting('faregate.timezone'))::date
   AND (r.timeframe IS NULL OR EXISTS (
        SELECT 1 FROM faregate.timeframes w
         WHERE w.timeframe = r.timeframe
           AND extract(isodow FROM now() AT TIME ZONE current_setting('faregate.timezone'))::int = ANY (w.days)
           AND (now() AT TIME ZONE current_setting('faregate.timezone'))::time >= w.start_time
           AND (now() AT TIME ZONE current_setting('faregate.timezone'))::time < w.end_time))
 ORDER BY r.priority DESC, r.timeframe IS NULL, r.rule_id LIMIT 1;
SQL
cat >"$tmp/one.sql" <<SQL
\set a random(1, $zones)
\set b random(1, $zones)
SELECT 1;
SQL
# fare()'s statement with the call replaced by a constant of its type: what its parameters, argument
# expressions and numeric result cost through the protocol, beside SELECT 1
cat >"$tmp/args.sql" <<SQL
\set a random(1, $zones)
\set b random(1, $zones)
SELECT CASE WHEN ('Z' || :a) IS NULL OR ('Z' || :b) IS NULL OR now() IS NULL THEN NULL ELSE 1.00 END;
SQL
# sanity: the plain-SQL lookup gives the same price as fare() (for a sample of pairs, now)
mismatch=$(psql_db -c "SELECT count(*) FROM generate_series(1, $zones, 7) a, generate_series(1, $zones, 11) b
  WHERE faregate.fare('Z' || a, 'Z' || b) IS DISTINCT FROM (
    SELECT r.amount FROM faregate.fare_rules r
     WHERE r.from_zone = 'Z' || a AND r.to_zone = 'Z' || b AND r.category = 'adult'
       AND r.valid @> (now() AT TIME ZONE current_setting('faregate.timezone'))::date
       AND (r.timeframe IS NULL OR EXISTS (SELECT 1 FROM faregate.timeframes w WHERE w.timeframe = r.timeframe
             AND extract(isodow FROM now() AT TIME ZONE current_setting('faregate.timezone'))::int = ANY (w.days)
             AND (now() AT TIME ZONE current_setting('faregate.timezone'))::time >= w.start_time
             AND (now() AT TIME ZONE current_setting('faregate.timezone'))::time < w.end_time))
     ORDER BY r.priority DESC, r.timeframe IS NULL, r.rule_id LIMIT 1)")
echo "fares: plain-SQL lookup disagrees with fare() on $mismatch of $(( ($zones + 6) / 7 * (($zones + 10) / 11) )) sampled pairs"

# run_pgbench NAME: whole-run TPS and steady-state TPS of $tmp/NAME.sql. Steady state, from the
# per-transaction log (client, transaction_no, latency, script, end epoch, end us): the transactions that
# end after the last connection's first transaction (its warm-up) and after the run's first 2 s, and
# before the last second, divided by that window's length.
run_pgbench() {
  local name=$1 out
  rm -rf "$tmp/log-$name"; mkdir -p "$tmp/log-$name"
  out=$(cd "$tmp/log-$name" && pgbench -n -M prepared -c 2 -j 2 -T "$seconds" -D warm=0 -l \
          --log-prefix="$tmp/log-$name/pgbench" -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -f "$tmp/$name.sql" "$db" 2>&1)
  local tps steady
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
  steady=$(cat "$tmp/log-$name"/pgbench.* | awk '{
      t = $5 + $6 / 1e6; end[NR] = t
      if (NR == 1 || t < first) first = t
      if (NR == 1 || t > last) last = t
      if ($2 == 0 && t > warm) warm = t }
    END {
      lo = first + 2; if (warm > lo) lo = warm; hi = last - 1; n = 0
      for (i in end) if (end[i] > lo && end[i] <= hi) n++
      if (hi > lo) printf "%.0f", n / (hi - lo); else print 0 }')
  echo "$tps $steady"
}
# The machine is shared: run the three variants interleaved, twice, and keep each one's best round.
declare -A best_tps=([fare]=0 [plain]=0 [one]=0 [args]=0 [fare_cold]=0)
declare -A best_steady=([fare]=0 [plain]=0 [one]=0 [args]=0 [fare_cold]=0)
larger() { awk -v a="$1" -v b="$2" 'BEGIN {print (a + 0 > b + 0) ? a : b}'; }
for round in 1 2; do
  for variant in fare plain one args fare_cold; do
    read -r tps steady <<<"$(run_pgbench "$variant")"
    echo "fares: round $round $variant: TPS $tps whole run, $steady steady"
    best_tps[$variant]=$(larger "${best_tps[$variant]}" "$tps")
    best_steady[$variant]=$(larger "${best_steady[$variant]}" "$steady")
  done
done
fare_tps=${best_tps[fare]} plain_tps=${best_tps[plain]} one_tps=${best_tps[one]}
fare_steady=${best_steady[fare]} plain_steady=${best_steady[plain]} one_steady=${best_steady[one]}
printf 'fares: pgbench %ss x 2 clients, best of 2 rounds, whole run TPS (fare() including each connection'"'"'s warm-up): fare() %.0f, plain SQL %.0f, SELECT 1 %.0f\n' "$seconds" \
  "$fare_tps" "$plain_tps" "$one_tps"
printf 'fares: pgbench steady-state TPS (warm backends, after 2 s), best of 2 rounds: fare() %s, plain SQL %s, SELECT 1 %s; load average %s\n' \
  "$fare_steady" "$plain_steady" "$one_steady" "$(uptime | sed 's/.*load average: //')"
printf 'fares: ratio fare()/plain SQL = %.2fx steady (target >= 1.3x); fare()/SELECT 1 = %.2f steady (target >= 0.85)\n' \
  "$(bench_ratio "$fare_steady" "$plain_steady")" "$(bench_ratio "$fare_steady" "$one_steady")"
printf 'fares: the same statement with fare() replaced by a constant: steady-state TPS %s; fare()/that = %.2f (what the lookup itself costs through pgbench)\n' \
  "${best_steady[args]}" "$(bench_ratio "$fare_steady" "${best_steady[args]}")"
printf 'fares: cold caches (new connections, %s random pairs, most calls fill their entry): fare() TPS %.0f whole run, %s after 2 s; fare()/plain SQL %.2fx, fare()/SELECT 1 %.2f (after 2 s)\n' \
  "$zones x $zones" "${best_tps[fare_cold]}" "${best_steady[fare_cold]}" "$(bench_ratio "${best_steady[fare_cold]}" "$plain_steady")" \
  "$(bench_ratio "${best_steady[fare_cold]}" "$one_steady")"

# In-server cost per lookup, which the machine's other load disturbs less than pgbench: 1,000,000 fare()
# calls in one query, 100,000 plain-SQL lookups in one query, each minus the same query without lookup.
times=$(psql -X -q -v ON_ERROR_STOP=1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$db" <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tr '\n' ' '
SELECT faregate.fare('Z1', 'Z2') IS NOT NULL AS warm \g /dev/null
\timing on
SELECT count(CASE WHEN ('Z' || (1 + i % $zones)) IS NOT NULL AND ('Z' || (1 + (i * 7) % $zones)) IS NOT NULL
                   AND timestamptz '2026-03-23 06:00+01' + make_interval(mins => i % 1440) IS NOT NULL THEN 1 END)
  FROM generate_series(1, 1000000) i \g /dev/null
SELECT count(faregate.fare('Z' || (1 + i % $zones), 'Z' || (1 + (i * 7) % $zones),
                           timestamptz '2026-03-23 06:00+01' + make_interval(mins => i % 1440), 'adult'))
  FROM generate_series(1, 1000000) i \g /dev/null
SELECT count(CASE WHEN ('Z' || (1 + i % $zones)) IS NOT NULL AND ('Z' || (1 + (i * 7) % $zones)) IS NOT NULL
                   AND timestamptz '2026-03-23 06:00+01' + make_interval(mins => i % 1440) IS NOT NULL THEN 1 END)
  FROM generate_series(1, 100000) i \g /dev/null
SELECT count(p.amount) FROM generate_series(1, 100000) i
  CROSS JOIN LATERAL (SELECT (timestamptz '2026-03-23 06:00+01' + make_interval(mins => i % 1440))
                             AT TIME ZONE current_setting('faregate.timezone') AS local_ts) l
  CROSS JOIN LATERAL (
    SELECT r.amount FROM faregate.fare_rules r
     WHERE r.from_zone = 'Z' || (1 + i % $zones) AND r.to_zone = 'Z' || (1 + (i * 7) % $zones) AND r.category = 'adult'
       AND r.valid @> l.local_ts::date
       AND (r.timeframe IS NULL OR EXISTS (SELECT 1 FROM faregate.timeframes w WHERE w.timeframe = r.timeframe
             AND extract(isodow FROM l.local_ts)::int = ANY (w.days)
             AND l.local_ts::time >= w.start_time AND l.local_ts::time < w.end_time))
     ORDER BY r.priority DESC, r.timeframe IS NULL, r.rule_id LIMIT 1) p \g /dev/null
SQL
)
read -r base_1m fare_1m base_100k plain_100k <<<"$times"
printf 'fares: in-server cost per lookup: fare() %.2f us, plain-SQL indexed lookup %.2f us (%.0fx)\n' \
  "$(echo "($fare_1m - $base_1m) / 1000" | bc -l)" "$(echo "($plain_100k - $base_100k) / 100" | bc -l)" \
  "$(echo "(($plain_100k - $base_100k) / 100) / (($fare_1m - $base_1m) / 1000)" | bc -l)"

# --- 3. churn: fare() while rules change (run here for this network, at the end for the stations) ---
# churn_run DB ZONES NRULES NAME [SQL PERIOD]: 20 clients of fare() on random pairs for churn_seconds while
# another session runs SQL every PERIOD seconds (a DO loop, bounded); prints "TPS p99_ms"
churn_run() {
  local cdb=$1 n=$2 nrules=$3 name=$4 writer_sql=${5:-} period=${6:-1} writer="" out tps p99
  cat >"$tmp/churn.sql" <<CHURN
\\set a random(1, $n)
\\set b random(1, $n)
SELECT faregate.fare('Z' || :a, 'Z' || :b, now(), 'adult');
CHURN
  rm -rf "$tmp/churn-$name"; mkdir -p "$tmp/churn-$name"
  if [ -n "$writer_sql" ]; then
    psql -X -q -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$cdb" -c "DO \$\$ DECLARE n bigint := $nrules; r bigint; BEGIN
        FOR i IN 1..$(( churn_seconds / period + 1 )) LOOP $writer_sql; COMMIT; PERFORM pg_sleep($period); END LOOP; END \$\$" \
      >"$tmp/churn-$name/writer.out" 2>&1 &
    writer=$!
  fi
  out=$(cd "$tmp/churn-$name" && pgbench -n -M prepared -c 20 -j 4 -T "$churn_seconds" -l --log-prefix="$tmp/churn-$name/log" \
          -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -f "$tmp/churn.sql" "$cdb" 2>&1)
  [ -z "$writer" ] || wait "$writer"
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
  p99=$(cat "$tmp/churn-$name"/log.* | awk '{print $3}' | sort -n | awk '{v[NR] = $1} END {printf "%.2f", v[int(NR * 0.99)] / 1000}')
  echo "${tps:-0} $p99"
}
# churn NAME DB ZONES: the three phases and their ratios
churn() {
  local name=$1 cdb=$2 n=$3 nrules steady steady_p99 one one_p99 bulk bulk_p99
  nrules=$(psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$cdb" -c "SELECT max(rule_id) FROM faregate.fare_rules")
  churn_run "$cdb" "$n" "$nrules" warmup >/dev/null   # OS and buffer caches as warm as for the next phases
  read -r steady steady_p99 <<<"$(churn_run "$cdb" "$n" "$nrules" steady)"
  read -r one one_p99 <<<"$(churn_run "$cdb" "$n" "$nrules" one \
    "r := 1 + floor(random() * n)::bigint; UPDATE faregate.fare_rules SET amount = amount WHERE rule_id = r" 1)"
  read -r bulk bulk_p99 <<<"$(churn_run "$cdb" "$n" "$nrules" bulk \
    "UPDATE faregate.fare_rules SET amount = amount WHERE rule_id BETWEEN (i * 10000) % n AND (i * 10000) % n + 9999" 5)"
  printf 'fares: churn %s, 20 clients x %ss: no changes TPS %.0f p99 %s ms; one rule/s TPS %.0f p99 %s ms; 10,000 rows/5 s TPS %.0f p99 %s ms\n' \
    "$name" "$churn_seconds" "$steady" "$steady_p99" "$one" "$one_p99" "$bulk" "$bulk_p99"
  printf 'fares: churn %s ratios: one rule/s TPS %s x, p99 %s x (targets >= 0.9x, <= 2x); 10,000 rows/5 s TPS %s x, p99 %s x; load average %s\n' \
    "$name" "$(bench_ratio "$one" "$steady")" "$(bench_ratio "$one_p99" "$steady_p99")" \
    "$(bench_ratio "$bulk" "$steady")" "$(bench_ratio "$bulk_p99" "$steady_p99")" "$(uptime | sed 's/.*load average: //')"
}
churn "$zones zones ($(psql_db -c 'SELECT count(*) FROM faregate.fare_rules') rules)" "$db" "$zones"

# --- 2. charge_taps vs the plain-SQL reference on 1,000,000 taps ---
psql_db <<SQL
SELECT setseed(0.42);
CREATE UNLOGGED TABLE taps (tap_id bigint PRIMARY KEY, rider int NOT NULL, from_zone text NOT NULL,
                            to_zone text NOT NULL, boarded_at timestamptz NOT NULL);
-- each rider: 10 taps on Monday 2026-03-23 from about 06:00, 5 to 125 minutes apart (some transfers, many
-- fares capped at 9.00 per day)
INSERT INTO taps
SELECT r * 10 + k, r, 'Z' || (1 + floor(random() * $zones))::int, 'Z' || (1 + floor(random() * $zones))::int,
       timestamptz '2026-03-23 06:00 Europe/Zurich' + make_interval(mins => (r % 60))
         + sum(make_interval(mins => 5 + floor(random() * 120)::int)) OVER (PARTITION BY r ORDER BY k)
  FROM generate_series(1, $riders) r, generate_series(1, 10) k;
VACUUM ANALYZE taps;
SQL
echo "fares: $(psql_db -c 'SELECT count(*) FROM taps') taps of $(psql_db -c 'SELECT count(DISTINCT rider) FROM taps') riders"

# Both sides run in one psql session each, timed by \timing; charge_taps's session first builds its
# compiled table (reported above), as any session that prices taps does once.
sum_timing() { sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk '{t += $1} END {printf "%.2f", t / 1000}'; }
faregate_s=$(psql -X -q -v ON_ERROR_STOP=1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$db" <<'SQL' | sum_timing
SELECT faregate.fare('Z1', 'Z2') IS NOT NULL AS warm \g /dev/null
\timing on
CREATE UNLOGGED TABLE result_faregate AS
SELECT t.rider, c.tap_no, c.fare, c.charged, c.reason
  FROM (SELECT rider, array_agg(row(from_zone, to_zone, boarded_at)::faregate.leg ORDER BY boarded_at, tap_id) AS legs
          FROM taps GROUP BY rider) t,
       LATERAL faregate.charge_taps(t.legs, 'adult') c;
SQL
)

reference_s=$(psql -X -q -v ON_ERROR_STOP=1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$db" <<'SQL' | sum_timing
\timing on
-- 1. each tap's local time (agency zone), number within its rider, and base fare by the documented
--    precedence (priority, then timeframe rules before any-time rules, then rule_id)
CREATE UNLOGGED TABLE ref_base AS
SELECT t.rider, row_number() OVER (PARTITION BY t.rider ORDER BY t.boarded_at, t.tap_id)::int AS tap_no,
       t.boarded_at, l.local_ts, f.amount AS fare
  FROM taps t
  CROSS JOIN LATERAL (SELECT t.boarded_at AT TIME ZONE current_setting('faregate.timezone') AS local_ts) l
  CROSS JOIN LATERAL (
        SELECT r.amount FROM faregate.fare_rules r
         WHERE r.from_zone = t.from_zone AND r.to_zone = t.to_zone AND r.category = 'adult'
           AND r.valid @> l.local_ts::date
           AND (r.timeframe IS NULL OR EXISTS (
                SELECT 1 FROM faregate.timeframes w
                 WHERE w.timeframe = r.timeframe AND extract(isodow FROM l.local_ts)::int = ANY (w.days)
                   AND l.local_ts::time >= w.start_time AND l.local_ts::time < w.end_time))
         ORDER BY r.priority DESC, r.timeframe IS NULL, r.rule_id LIMIT 1) f;
CREATE INDEX ON ref_base (rider, tap_no);
ANALYZE ref_base;
-- 2. journeys: a tap is a transfer when the journey has transfers left and it is boarded within
--    "within" of the journey's first boarding (inclusive); otherwise it starts a journey
CREATE UNLOGGED TABLE ref_journey AS
WITH RECURSIVE tr AS (SELECT * FROM faregate.transfer_rules WHERE category = 'adult'),
j AS (
  SELECT b.rider, b.tap_no, b.boarded_at AS journey_start, 0 AS transfers, false AS is_transfer
    FROM ref_base b WHERE b.tap_no = 1
  UNION ALL
  SELECT b.rider, b.tap_no,
         CASE WHEN x.ok THEN j.journey_start ELSE b.boarded_at END,
         CASE WHEN x.ok THEN j.transfers + 1 ELSE 0 END, x.ok
    FROM j JOIN ref_base b ON b.rider = j.rider AND b.tap_no = j.tap_no + 1
    CROSS JOIN LATERAL (SELECT coalesce((SELECT j.transfers < tr.max_transfers AND b.boarded_at - j.journey_start <= tr.within
                                           FROM tr), false) AS ok) x
)
SELECT rider, tap_no, is_transfer FROM j;
-- 3. caps by window functions: the day-capped running total per service day, its increments summed
--    over the service week and capped again; a tap pays the increase of that doubly capped total
CREATE UNLOGGED TABLE result_reference AS
WITH caps AS (
  SELECT (SELECT cap FROM faregate.fare_caps WHERE category = 'adult' AND period = 'day') AS day_cap,
         (SELECT day_starts - time '00:00' FROM faregate.fare_caps WHERE category = 'adult' AND period = 'day') AS day_shift,
         (SELECT cap FROM faregate.fare_caps WHERE category = 'adult' AND period = 'week') AS week_cap,
         (SELECT day_starts - time '00:00' FROM faregate.fare_caps WHERE category = 'adult' AND period = 'week') AS week_shift,
         (SELECT transfer_fee FROM faregate.transfer_rules WHERE category = 'adult') AS fee
), due AS (
  SELECT b.rider, b.tap_no, b.fare, j.is_transfer,
         CASE WHEN j.is_transfer THEN c.fee ELSE b.fare END AS due,
         (b.local_ts - c.day_shift)::date AS service_day,
         date_trunc('week', (b.local_ts - c.week_shift)::date) AS service_week,
         c.day_cap, c.week_cap
    FROM ref_base b JOIN ref_journey j USING (rider, tap_no) CROSS JOIN caps c
), day_capped AS (
  SELECT *, least(day_cap, sum(due) OVER (PARTITION BY rider, service_day ORDER BY tap_no)) AS day_total
    FROM due
), day_increment AS (
  SELECT *, day_total - coalesce(lag(day_total) OVER (PARTITION BY rider, service_day ORDER BY tap_no), 0) AS day_paid
    FROM day_capped
), week_capped AS (
  SELECT *, least(week_cap, sum(day_paid) OVER (PARTITION BY rider, service_week ORDER BY tap_no)) AS week_total
    FROM day_increment
), charged AS (
  SELECT *, week_total - coalesce(lag(week_total) OVER (PARTITION BY rider, service_week ORDER BY tap_no), 0) AS charged
    FROM week_capped
), left_before AS (
  SELECT *, day_cap - coalesce(sum(charged) OVER (PARTITION BY rider, service_day ORDER BY tap_no
                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS day_left,
            week_cap - coalesce(sum(charged) OVER (PARTITION BY rider, service_week ORDER BY tap_no
                                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS week_left
    FROM charged
)
SELECT rider, tap_no, fare, charged,
       CASE WHEN charged < due THEN CASE WHEN week_left < day_left THEN 'weekly cap' ELSE 'daily cap' END
            WHEN is_transfer THEN 'transfer' ELSE 'fare' END AS reason
  FROM left_before;
SQL
)

diff=$(psql_db -c "SELECT (SELECT count(*) FROM (SELECT * FROM result_faregate EXCEPT ALL SELECT * FROM result_reference) a)
                        + (SELECT count(*) FROM (SELECT * FROM result_reference EXCEPT ALL SELECT * FROM result_faregate) b)")
summary=$(psql_db -c "SELECT count(*), sum(charged), count(*) FILTER (WHERE reason = 'transfer'),
                             count(*) FILTER (WHERE reason = 'daily cap'), count(*) FILTER (WHERE reason = 'weekly cap')
                        FROM result_faregate")
IFS='|' read -r rows total transfers daycaps weekcaps <<<"$summary"
echo "fares: charge_taps priced $rows taps (charged $total CHF; $transfers transfers, $daycaps daily-cap, $weekcaps weekly-cap taps)"
if [ "$diff" = 0 ]; then
  echo "fares: charge_taps and the plain-SQL reference agree on every row"
else
  echo "fares: MISMATCH: $diff rows differ between charge_taps and the plain-SQL reference"
fi
printf 'fares: %s taps: charge_taps %.2f s, plain-SQL reference %.2f s, ratio %.1fx (target >= 10x)\n' "$rows" \
  "$faregate_s" "$reference_s" "$(echo "$reference_s / $faregate_s" | bc -l)"

# --- 3 (continued). the station network: 700 stations x 700 x 3 categories x 2 timeframes ---
if [ "$stations" -gt 0 ]; then
  sdb=fares_stations
  psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d postgres -c "CREATE DATABASE $sdb"
  psql -X -qAt -v ON_ERROR_STOP=1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$sdb" \
    -c "SET client_min_messages = warning" -c "CREATE EXTENSION faregate CASCADE" \
    -c "ALTER DATABASE $sdb SET faregate.timezone = 'Europe/Zurich'" \
    -c "INSERT INTO faregate.rider_categories VALUES ('child', 'reduced'), ('senior', 'reduced')"
  t0=$(now_s)
  # one COPY per table, each fed by a query of the bench database's generator session
  copy_in() {  # copy_in TABLE(COLUMNS) QUERY
    psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$db" -c "COPY ($2) TO STDOUT" |
      psql -X -qAt -v ON_ERROR_STOP=1 -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$sdb" -c "COPY $1 FROM STDIN"
  }
  copy_in "faregate.zones (zone_id, name)" "SELECT 'Z' || i, 'station ' || i FROM generate_series(1, $stations) i"
  copy_in "faregate.timeframes (timeframe, days, start_time, end_time)" "SELECT * FROM faregate.timeframes"
  copy_in "faregate.fare_rules (from_zone, to_zone, category, timeframe, amount, currency)" \
    "SELECT 'Z' || f, 'Z' || t, c.category, tf.timeframe,
            round((1.50 + 0.01 * ((f * 7 + t * 13) % 300)) * c.factor * tf.factor, 2), 'CHF'
       FROM generate_series(1, $stations) f, generate_series(1, $stations) t,
            (VALUES ('adult', 1.0), ('child', 0.5), ('senior', 0.7)) c(category, factor),
            (VALUES ('peak', 1.25), ('offpeak', 1.0)) tf(timeframe, factor)"
  t1=$(now_s)
  psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$sdb" -c "VACUUM ANALYZE" 2>/dev/null
  srules=$(psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$sdb" -c "SELECT count(*) FROM faregate.fare_rules")
  printf 'fares: %s stations: loaded %s rules with one COPY per table in %.1f s\n' "$stations" "$srules" "$(echo "$t1 - $t0" | bc)"
  t0=$(now_s)
  findings=$(psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$sdb" -f "$here/../../sql/maintenance/check_fare_rules.sql" | grep -c . || true)
  t1=$(now_s)
  printf 'fares: %s stations: check_fare_rules.sql found %s problems in %.1f s\n' "$stations" "$findings" "$(echo "$t1 - $t0" | bc)"
  smismatch=$(psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$sdb" -c "SELECT count(*) FROM generate_series(1, $stations, 13) a, generate_series(1, $stations, 17) b
      WHERE faregate.fare('Z' || a, 'Z' || b, '2026-03-23 08:00+01', 'child') IS DISTINCT FROM
            round((1.50 + 0.01 * ((a * 7 + b * 13) % 300)) * 0.5 * 1.25, 2)")
  echo "fares: $stations stations: fare() disagrees with the generated tariff on $smismatch sampled pairs"
  read -r mem_entries mem_bytes <<<"$(memory_after_2000 "$sdb")"
  printf 'fares: %s stations: first fare() of a new session %.2f ms, %.2f ms with the library preloaded (median of 5; the same first query without fare() %.2f ms); after 2,000 distinct lookups a backend holds %s entries, %.2f MiB; load average %s\n' \
    "$stations" "$(first_call "$sdb")" "$(first_call "$sdb" "$preload")" "$(first_query_baseline "$sdb")" "$mem_entries" \
    "$(awk -v b="$mem_bytes" 'BEGIN {print b / 1048576}')" "$(uptime | sed 's/.*load average: //')"
  churn "$stations stations ($srules rules)" "$sdb" "$stations"
  psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d postgres -c "DROP DATABASE $sdb"
fi
[ "$diff" = 0 ]
