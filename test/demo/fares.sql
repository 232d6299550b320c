-- fares.sql: the demo's fare workload (run by test/demo.sh through the pooler). Loads a small metro
-- network in Europe/Zurich time (4 zones, adult and reduced riders, a weekday peak, transfers and caps),
-- prices single rides, a journey with a transfer, and a rider's day of taps with the daily cap.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;

-- The agency's time zone is a database setting; new sessions (and so new pooled server connections)
-- pick it up. This session sets it too, as superuser, so the quotes below use it at once.
ALTER DATABASE demo SET faregate.timezone = 'Europe/Zurich';
SET faregate.timezone = 'Europe/Zurich';

INSERT INTO faregate.zones (zone_id, name) VALUES
  ('A', 'City centre'), ('B', 'Inner ring'), ('C', 'Outer ring'), ('D', 'Airport');
INSERT INTO faregate.rider_categories (category, description) VALUES ('reduced', 'Children, students, seniors');
INSERT INTO faregate.timeframes (timeframe, days, start_time, end_time) VALUES
  ('peak', '{1,2,3,4,5}', '07:00', '09:30'), ('peak', '{1,2,3,4,5}', '16:30', '19:00');

-- Any-time fares by zones crossed, a peak surcharge, and reduced fares at 50%.
INSERT INTO faregate.fare_rules (from_zone, to_zone, category, timeframe, amount, currency)
SELECT f.zone_id, t.zone_id, c.category, tf.timeframe,
       round((2.80 + 1.20 * abs(ascii(f.zone_id) - ascii(t.zone_id))
              + CASE WHEN tf.timeframe = 'peak' THEN 0.60 ELSE 0 END)
             * CASE WHEN c.category = 'reduced' THEN 0.5 ELSE 1 END, 2),
       'CHF'
FROM faregate.zones f, faregate.zones t, faregate.rider_categories c,
     (VALUES (NULL::text), ('peak')) AS tf(timeframe);

INSERT INTO faregate.transfer_rules (category, max_transfers, within, transfer_fee) VALUES
  ('adult', 2, '60 minutes', 0), ('reduced', 2, '90 minutes', 0);
INSERT INTO faregate.fare_caps (category, period, cap) VALUES
  ('adult', 'day', 12.00), ('adult', 'week', 48.00), ('reduced', 'day', 6.00);

\echo
\echo 'Single rides (fare_quote: amount, currency, and the rule that produced it):'
SELECT q.label, f.amount, f.currency, f.rule_id, coalesce(f.timeframe, 'any time') AS timeframe
FROM (VALUES ('A -> D, Tuesday 08:15 (peak), adult', 'A', 'D', timestamptz '2026-11-24 08:15 Europe/Zurich', 'adult'),
             ('A -> D, Tuesday 11:00, adult',        'A', 'D', timestamptz '2026-11-24 11:00 Europe/Zurich', 'adult'),
             ('B -> C, Saturday 08:15, reduced',     'B', 'C', timestamptz '2026-11-28 08:15 Europe/Zurich', 'reduced'))
     AS q(label, from_zone, to_zone, at, category),
     LATERAL faregate.fare_quote(q.from_zone, q.to_zone, q.at, q.category) AS f;

\echo 'A journey A -> B, then B -> D 25 minutes later (a free transfer):'
SELECT faregate.journey_fare(ARRAY[
  ROW('A', 'B', timestamptz '2026-11-24 08:05 Europe/Zurich')::faregate.leg,
  ROW('B', 'D', timestamptz '2026-11-24 08:30 Europe/Zurich')::faregate.leg]) AS journey_fare_chf;

\echo 'One commuter''s Tuesday of taps (charge_taps: transfers first, then the 12.00 daily cap):'
SELECT tap_no, fare, charged, reason
FROM faregate.charge_taps(ARRAY[
  ROW('C', 'A', timestamptz '2026-11-24 07:40 Europe/Zurich')::faregate.leg,
  ROW('A', 'B', timestamptz '2026-11-24 08:10 Europe/Zurich')::faregate.leg,
  ROW('B', 'D', timestamptz '2026-11-24 12:00 Europe/Zurich')::faregate.leg,
  ROW('D', 'A', timestamptz '2026-11-24 17:45 Europe/Zurich')::faregate.leg,
  ROW('A', 'C', timestamptz '2026-11-24 21:30 Europe/Zurich')::faregate.leg]);

\echo 'A missing rule is an error with its own SQLSTATE, never a fare of 0:'
\set ON_ERROR_STOP 0
\set VERBOSITY default
SELECT faregate.fare('A', 'Z', timestamptz '2026-11-24 08:15 Europe/Zurich');
\set ON_ERROR_STOP 1

\echo 'Pricing 20,000 random rides in one read-only transaction (the pooler may send it to a replica;'
\echo 'each backend keeps a compiled fare table, and fare_cache_stats shows that backend''s):'
BEGIN READ ONLY;
SELECT count(*) AS rides, sum(faregate.fare(chr(65 + (g % 4)), chr(65 + ((g / 4) % 4)),
                                            timestamptz '2026-11-24 06:00 Europe/Zurich' + g * interval '3 seconds')) AS revenue_chf
FROM generate_series(1, 20000) AS g;
SELECT hits, misses, rebuilds, entries, bytes, pg_is_in_recovery() AS on_replica FROM faregate.fare_cache_stats();
COMMIT;
