#!/usr/bin/env bash
# bench_gtfs.sh: GTFS fares (docs/gtfs.md) against the plain PL/pgSQL reference, in one run.
#  1. Pricing FG_BENCH_LEGS (default 1,000,000) legs of a generated network (journeys of 3 legs, one
#     day): 30 areas of 20 stops, bus (flat), rail (every area pair, a peak timeframe at rule_priority 1)
#     and tram (by departure area) networks, transfer rules with leg groups, counts, duration limits and
#     the three transfer types; SELECT sum(faregate.gtfs_journey_fare(...)) in one query, against the
#     plain PL/pgSQL reference (test/pgtap/fixtures/40_gtfs_reference.psql, the differential test's oracle).
#     The reference takes 0.05-0.3 s per leg, so all 1,000,000 legs would take days: it is timed on the
#     first FG_BENCH_REF_JOURNEYS (default 100) of the same journeys, a uniform sample (every journey is
#     drawn independently), in FG_BENCH_REF_BATCHES (default 4) batches whose per-leg times show the
#     spread, and its time for all the legs is extrapolated linearly (it prices each journey alone: no
#     state is shared between journeys, so its time is the sum of theirs). The line says so. The C pricer
#     is timed on the whole set and, for a ratio on identical journeys, on the sample too; the sample's
#     answers of both must be equal (disagreements are printed).
#  2. Loading a feed of 100,000 fare_leg_rules (317 areas, every pair) with faregate-gtfs load, against
#     psql's plain \copy of the same file into an unchecked table (the floor of any loader).
# Starts its own cluster (test/harness/cluster.sh, no replicas). Never fails on speed; prints ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${FG_CLUSTER_DIR:-}" ]; then
  exec "$here/../harness/cluster.sh" --replicas 0 --conf 'work_mem = 64MB' --conf 'max_parallel_workers_per_gather = 0' \
    -- "$0" "$@"
fi
legs=${FG_BENCH_LEGS:-1000000}
ref_journeys=${FG_BENCH_REF_JOURNEYS:-100}
ref_batches=${FG_BENCH_REF_BATCHES:-4}
load_rules=${FG_BENCH_LOAD_RULES:-100000}
loader=$FG_PG_BIN/faregate-gtfs
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
db=gtfs_bench
conn=(-h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$db")
psql_db() { psql -X -qAt -v ON_ERROR_STOP=1 "${conn[@]}" "$@"; }
now_s() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l | xargs printf '%.3f'; }

psql -X -qAt -h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d postgres -c "CREATE DATABASE $db"
psql_db -c "SET client_min_messages = warning" -c "CREATE EXTENSION faregate CASCADE"

# --- the network feed, written by SQL into CSV files ---
feed=$tmp/net
mkdir -p "$feed"
out() { psql_db -c "\\copy ($2) TO '$feed/$1.txt' WITH (FORMAT csv, HEADER true)"; }
out agency "SELECT 'ag' AS agency_id, 'Bench' AS agency_name, 'America/Chicago' AS agency_timezone"
out stops "SELECT 's' || g AS stop_id, 'stop ' || g AS stop_name FROM generate_series(1, 600) g"
out routes "SELECT 'r' || g AS route_id, 'ag' AS agency_id, 3 AS route_type,
                   (ARRAY['bus', 'rail', 'tram'])[1 + g % 3] AS network_id FROM generate_series(1, 30) g"
out areas "SELECT 'A' || g AS area_id FROM generate_series(1, 30) g"
out stop_areas "SELECT 'A' || (1 + (g - 1) / 20) AS area_id, 's' || g AS stop_id FROM generate_series(1, 600) g"
out calendar "SELECT 'wk' AS service_id, 1 AS monday, 1 AS tuesday, 1 AS wednesday, 1 AS thursday, 1 AS friday, 0 AS saturday, 0 AS sunday,
                     '20250101' AS start_date, '20251231' AS end_date"
out timeframes "SELECT 'peak' AS timeframe_group_id, s AS start_time, e AS end_time, 'wk' AS service_id
                  FROM (VALUES ('07:00:00', '09:00:00'), ('16:00:00', '18:30:00')) v(s, e)"
out fare_products "SELECT 'bus' AS fare_product_id, 2.50 AS amount, 'USD' AS currency
                   UNION ALL SELECT 'rail' || d, 2.00 + 0.25 * d, 'USD' FROM generate_series(0, 29) d
                   UNION ALL SELECT 'railpeak' || d, 2.50 + 0.30 * d, 'USD' FROM generate_series(0, 29) d
                   UNION ALL SELECT 'tram' || a, 1.50 + 0.05 * a, 'USD' FROM generate_series(1, 30) a
                   UNION ALL SELECT 'upgrade', 1.25, 'USD' UNION ALL SELECT 'pass', 4.00, 'USD'"
out fare_leg_rules "SELECT 'bus' AS leg_group_id, 'bus' AS network_id, NULL AS from_area_id, NULL AS to_area_id,
                           NULL AS from_timeframe_group_id, 'bus' AS fare_product_id, NULL::int AS rule_priority
                    UNION ALL SELECT 'rail', 'rail', 'A' || a, 'A' || b, NULL, 'rail' || abs(a - b), NULL
                      FROM generate_series(1, 30) a, generate_series(1, 30) b
                    UNION ALL SELECT 'railpeak', 'rail', 'A' || a, 'A' || b, 'peak', 'railpeak' || abs(a - b), 1
                      FROM generate_series(1, 30) a, generate_series(1, 30) b WHERE (a + b) % 3 = 0
                    UNION ALL SELECT 'tram', 'tram', 'A' || a, NULL, NULL, 'tram' || a, NULL FROM generate_series(1, 30) a"
out fare_transfer_rules "SELECT * FROM (VALUES
    ('bus', 'bus', -1, 5400, 1, 0, NULL),
    ('bus', 'rail', NULL, 5400, 1, 0, 'upgrade'),
    ('rail', 'bus', NULL, 5400, 2, 0, NULL),
    ('rail', 'rail', 2, 7200, 0, 0, NULL),
    ('railpeak', 'rail', NULL, 3600, 3, 1, NULL),
    ('tram', 'tram', 1, 1800, 1, 2, 'pass'),
    ('tram', 'bus', NULL, 3600, 1, 0, NULL)) v(from_leg_group_id, to_leg_group_id, transfer_count, duration_limit,
                                             duration_limit_type, fare_transfer_type, fare_product_id)"
"$loader" load "$feed" --feed-id bench "${conn[@]}" >/dev/null

# --- the journeys: one day, 3 legs each ---
njourneys=$(( (legs + 2) / 3 ))
psql_db <<SQL
SELECT setseed(0.5);
CREATE TABLE journeys AS
SELECT j, ARRAY(SELECT row('s' || (1 + floor(random() * 600))::int, 's' || (1 + floor(random() * 600))::int,
                           'r' || (1 + floor(random() * 30))::int, t0 + k * interval '35 min', t0 + k * interval '35 min' + interval '25 min')::faregate.gtfs_leg
                  FROM generate_series(0, 2) k WHERE j > 0) AS legs
  FROM (SELECT j, '2025-03-05 05:00-06'::timestamptz + floor(random() * 64) * interval '15 min' AS t0
          FROM generate_series(1, $njourneys) j) x;
SQL
nlegs=$(psql_db -c "SELECT sum(cardinality(legs)) FROM journeys")

psql_db -c "SELECT faregate.gtfs_journey_fare('bench', legs) FROM journeys LIMIT 1" >/dev/null  # builds this backend's tariff once
t0=$(now_s)
c_sum=$(psql_db -c "SELECT faregate.gtfs_journey_fare('bench', legs) FROM journeys LIMIT 1" -c "SELECT sum(faregate.gtfs_journey_fare('bench', legs)) FROM journeys")
t1=$(now_s)
c_sum=$(echo "$c_sum" | tail -1)

ref_sql=$(cat "$here/../pgtap/fixtures/40_gtfs_reference.psql")
# the sample, timed inside the server (clock_timestamp) batch by batch: the reference alone, its answers
# kept; then the C pricer on the same journeys (repeated 20 times: once is a few milliseconds); then the
# comparison, untimed
sample=$(psql_db <<SQL
$ref_sql
CREATE TEMP TABLE sample AS SELECT * FROM journeys WHERE j <= $ref_journeys;   -- not a scan of all journeys per batch
CREATE TEMP TABLE ref_out (j int, fare numeric);
CREATE TEMP TABLE ref_batch (batch int, legs bigint, secs float8);
DO \$\$
DECLARE
    size int := ceil($ref_journeys::numeric / $ref_batches);
    t timestamptz;
BEGIN
    FOR b IN 0 .. $ref_batches - 1 LOOP
        t := clock_timestamp();
        INSERT INTO ref_out SELECT j, pg_temp.ref_journey_fare('bench', legs) FROM sample
         WHERE j > b * size AND j <= (b + 1) * size;
        INSERT INTO ref_batch SELECT b, (SELECT sum(cardinality(legs)) FROM sample
                                          WHERE j > b * size AND j <= (b + 1) * size),
                                     extract(epoch FROM clock_timestamp() - t);
    END LOOP;
END \$\$;
DO \$\$ BEGIN PERFORM faregate.gtfs_journey_fare('bench', legs) FROM sample LIMIT 1; END \$\$;  -- this backend's tariff, built once
CREATE TEMP TABLE c_time AS SELECT clock_timestamp() AS t0;
DO \$\$ BEGIN FOR i IN 1 .. 20 LOOP PERFORM sum(faregate.gtfs_journey_fare('bench', legs)) FROM sample; END LOOP; END \$\$;
SELECT (SELECT sum(legs) FROM ref_batch),
       (SELECT sum(secs) FROM ref_batch),
       (SELECT string_agg(to_char(secs / legs * 1e6, 'FM99999990'), '/' ORDER BY batch) FROM ref_batch),
       extract(epoch FROM clock_timestamp() - (SELECT t0 FROM c_time)) / 20,
       (SELECT count(*) FILTER (WHERE faregate.gtfs_journey_fare('bench', j.legs) IS DISTINCT FROM r.fare)
          FROM sample j JOIN ref_out r USING (j));
SQL
)
IFS='|' read -r ref_legs ref_s_raw ref_batch_us c_sample_s_raw ref <<<"$(echo "$sample" | tail -1)"
c_s=$(secs "$t0" "$t1")
ref_s=$(printf '%.3f' "$ref_s_raw")
c_per_leg=$(echo "$c_s / $nlegs * 1000000" | bc -l | xargs printf '%.2f')
ref_per_leg=$(echo "$ref_s_raw / $ref_legs * 1000000" | bc -l | xargs printf '%.2f')
c_sample_per_leg=$(echo "$c_sample_s_raw / $ref_legs * 1000000" | bc -l | xargs printf '%.2f')
ref_all_s=$(echo "$ref_s_raw / $ref_legs * $nlegs" | bc -l | xargs printf '%.0f')
ratio=$(echo "$ref_all_s / $c_s" | bc -l | xargs printf '%.1f')
ratio_sample=$(echo "$ref_per_leg / $c_sample_per_leg" | bc -l | xargs printf '%.1f')
echo "gtfs pricing: faregate.gtfs_journey_fare $nlegs legs in one query: ${c_s} s (${c_per_leg} us/leg, total $c_sum); plain PL/pgSQL reference, timed on a sample of the same journeys ($ref_legs legs, the first $ref_journeys journeys) in $ref_batches batches: ${ref_s} s (${ref_per_leg} us/leg; per batch ${ref_batch_us} us/leg), extrapolated to the $nlegs legs: ${ref_all_s} s (not measured); ratio ${ratio}x (extrapolated reference / measured C); on the sample alone C takes ${c_sample_per_leg} us/leg: ratio ${ratio_sample}x on identical journeys; disagreements on the sample: $ref  [load average: $(cut -d' ' -f1-3 /proc/loadavg)]"

# --- loading 100,000 fare_leg_rules ---
big=$tmp/big
mkdir -p "$big"
nareas=$(echo "sqrt($load_rules) + 1" | bc)
out() { psql_db -c "\\copy ($2) TO '$big/$1.txt' WITH (FORMAT csv, HEADER true)"; }
out agency "SELECT 'ag' AS agency_id, 'America/Chicago' AS agency_timezone"
out stops "SELECT 's' || g AS stop_id FROM generate_series(1, $nareas) g"
out routes "SELECT 'r1' AS route_id, 'ag' AS agency_id, 'net' AS network_id"
out areas "SELECT 'A' || g AS area_id FROM generate_series(1, $nareas) g"
out stop_areas "SELECT 'A' || g AS area_id, 's' || g AS stop_id FROM generate_series(1, $nareas) g"
out fare_products "SELECT 'p' || g AS fare_product_id, 1.00 + g * 0.05 AS amount, 'USD' AS currency FROM generate_series(0, 99) g"
out fare_leg_rules "SELECT 'g' || (a % 10) AS leg_group_id, 'net' AS network_id, 'A' || a AS from_area_id, 'A' || b AS to_area_id,
                           'p' || ((a * 7 + b) % 100) AS fare_product_id
                      FROM generate_series(1, $nareas) a, generate_series(1, $nareas) b ORDER BY a, b LIMIT $load_rules"
t6=$(now_s)
loaded=$("$loader" load "$big" --feed-id big "${conn[@]}")
t7=$(now_s)
psql_db -c "CREATE TABLE plain_rules (leg_group_id text, network_id text, from_area_id text, to_area_id text, fare_product_id text)"
t8=$(now_s)
psql_db -c "\\copy plain_rules FROM '$big/fare_leg_rules.txt' WITH (FORMAT csv, HEADER true)"
t9=$(now_s)
load_s=$(secs "$t6" "$t7")
copy_s=$(secs "$t8" "$t9")
echo "gtfs load: faregate-gtfs load of $(($(wc -l <"$big/fare_leg_rules.txt") - 1)) fare_leg_rules ($loaded): ${load_s} s, all checks in one transaction; plain \\copy of the same file into an unchecked table: ${copy_s} s; ratio $(echo "$load_s / $copy_s" | bc -l | xargs printf '%.1f')x  [load average: $(cut -d' ' -f1-3 /proc/loadavg)]"
