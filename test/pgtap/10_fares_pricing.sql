-- 10_fares_pricing.sql: fare, fare_quote, journey_fare and charge_taps on the hand-computed network of
-- fixtures/10_fares_network.psql (peak/off-peak, two categories, a validity change on a date, a transfer
-- window edge at exactly "within", daily and weekly caps, DST change days in Europe/Berlin).
-- Runs in a transaction that is rolled back.
BEGIN;
SELECT plan(46);
\ir fixtures/10_fares_network.psql

-- fare: timeframes (half-open windows) and precedence
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 08:00+01'), 3.20, 'Monday 08:00 is peak: the tpeak rule beats the any-time rule');
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 07:00+01'), 3.20, 'peak starts at 07:00 inclusive');
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 09:30+01'), 2.50, 'peak ends at 09:30 exclusive');
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 17:00+01'), 3.20, 'second peak window 16:00-18:30');
SELECT is(faregate.fare('T1', 'T2', '2026-03-28 08:00+01'), 2.50, 'Saturday 08:00 is not peak');
SELECT is(faregate.fare('T1', 'T2', '2026-03-28 23:59:59.999999+01'), 2.00, 'tlate runs to 24:00');
SELECT is(faregate.fare('T1', 'T2', '2026-03-29 00:00+01'), 2.50, '24:00 is exclusive: Sunday 00:00 is not the Saturday window');
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 08:00+01')::text, '3.20', 'the fare is an exact numeric with two decimals');
-- validity change, on the agency's date (not UTC's)
SELECT is(faregate.fare('T1', 'T2', '2026-03-31 23:30+02'), 2.50, 'March 31 local: old fare');
SELECT is(faregate.fare('T1', 'T2', '2026-04-01 00:30+02'), 2.70, 'April 1 00:30 local (still March 31 in UTC): new fare');
-- priority
SELECT is(faregate.fare('T3', 'T1', '2026-06-01 10:00+02'), 1.00, 'the priority 5 rule wins on its day');
SELECT is(faregate.fare('T3', 'T1', '2026-06-02 10:00+02'), 4.00, 'the day after, the priority 0 rule applies');
-- categories
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 08:00+01', 'tchild'), 1.20, 'tchild has no peak rule: any-time fare at peak');
SELECT ok(faregate.fare('T1', 'T2') IN (2.00, 2.70, 3.20), 'at and category default to now() and adult');
-- DST in the agency zone
SELECT is(faregate.fare('T1', 'T2', '2026-03-29 20:30+00'), 2.00, 'DST starts 2026-03-29: 20:30 UTC is 22:30 CEST, tlate');
SELECT is(faregate.fare('T1', 'T2', '2026-03-29 19:30+00'), 2.50, 'DST starts 2026-03-29: 19:30 UTC is 21:30 CEST, not tlate');
SELECT is(faregate.fare('T1', 'T2', '2026-10-24 20:30+00'), 2.00, 'Saturday before DST ends: 20:30 UTC is 22:30 CEST, tlate');
SELECT is(faregate.fare('T1', 'T2', '2026-10-25 20:30+00'), 2.70, 'DST ended 2026-10-25: 20:30 UTC is 21:30 CET, not tlate');
SELECT is(faregate.fare('T1', 'T2', '2026-10-25 21:30+00'), 2.00, 'DST ended 2026-10-25: 21:30 UTC is 22:30 CET, tlate');
-- faregate.timezone, not the session TimeZone, decides
SET LOCAL TimeZone = 'Asia/Tokyo';
SELECT is(faregate.fare('T1', 'T2', '2026-03-29 20:30+00'), 2.00, 'the session TimeZone does not change the fare');
SET LOCAL faregate.timezone = 'UTC';
SELECT is(faregate.fare('T1', 'T2', '2026-03-29 20:30+00'), 2.50, 'faregate.timezone does: 20:30 UTC is not tlate in UTC');
SET LOCAL faregate.timezone = 'Europe/Berlin';
SET LOCAL TimeZone = 'America/New_York';

-- fare_quote: the same answer and the rule behind it
SELECT results_eq(
    $$SELECT * FROM faregate.fare_quote('T1', 'T2', '2026-03-23 08:00+01')$$,
    $$SELECT 3.20::numeric, 'EUR'::char(3), rule_id, 'tpeak'::text FROM faregate.fare_rules
       WHERE from_zone = 'T1' AND to_zone = 'T2' AND timeframe = 'tpeak'$$,
    'fare_quote at peak names the tpeak rule');
SELECT results_eq(
    $$SELECT * FROM faregate.fare_quote('T1', 'T2', '2026-04-01 12:00+02')$$,
    $$SELECT 2.70::numeric, 'EUR'::char(3), rule_id, NULL::text FROM faregate.fare_rules
       WHERE from_zone = 'T1' AND to_zone = 'T2' AND category = 'adult' AND amount = 2.70$$,
    'fare_quote off-peak names the any-time rule valid from April 1, timeframe NULL');
SELECT results_eq(
    $$SELECT currency FROM faregate.fare_quote('T3', 'T3', '2026-04-01 12:00+02')$$,
    $$VALUES ('CHF'::char(3))$$, 'fare_quote reports the currency');
SELECT is((SELECT count(*) FROM faregate.fare_quote('T1', 'T3', '2026-04-01 12:00+02')), 1::bigint,
          'fare_quote returns exactly one row');

-- journey_fare: transfers
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01')), 2.50, 'one leg costs its fare');
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:40+01',
                                              'T1 T3 2026-03-23 11:00+01')), 2.50,
          'two free transfers, the second at exactly 60 minutes (the edge is inside)');
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:40+01',
                                              'T1 T3 2026-03-23 11:00:00.000001+01')), 6.00,
          'one microsecond after the window the leg pays its own fare');
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:10+01',
                                              'T1 T3 2026-03-23 10:20+01', 'T2 T3 2026-03-23 10:30+01')), 4.30,
          'after max_transfers (2) the next leg pays (2.50 + 0 + 0 + 1.80)');
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:30+01'), 'tchild'), 1.40,
          'tchild transfer at exactly 30 minutes costs the 0.20 fee');
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:30+01',
                                              'T2 T3 2026-03-23 10:31+01'), 'tchild'), 2.30,
          'tchild has one transfer: the third leg pays 0.90');
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 08:00+01', 'T2 T3 2026-03-23 08:30+01')), 3.20,
          'a peak first leg sets the price of the journey');
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T1 T2 2026-03-23 10:00+01')), 2.50,
          'two taps at the same moment are in order');
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T3 2026-03-23 10:00+01', 'T1 T3 2026-03-23 12:00+01',
                                              'T1 T3 2026-03-23 14:00+01')), 10.50,
          'journey_fare applies no caps');

-- charge_taps: a daily cap reached mid-tap, and the service day that starts at 04:30
SELECT results_eq(
    $$SELECT * FROM faregate.charge_taps(pg_temp.taps(
        'T1 T3 2026-03-23 10:00+01', 'T3 T1 2026-03-23 10:20+01', 'T1 T3 2026-03-23 12:00+01',
        'T1 T2 2026-03-23 14:00+01', 'T1 T2 2026-03-24 04:00+01', 'T1 T2 2026-03-24 05:30+01'))$$,
    $$VALUES (1, 3.50, 3.50, 'fare'), (2, 4.00, 0.00, 'transfer'), (3, 3.50, 2.50, 'daily cap'),
             (4, 2.50, 0.00, 'daily cap'), (5, 2.50, 0.00, 'daily cap'), (6, 2.50, 2.50, 'fare')$$,
    'daily cap 6.00 reached at tap 3; Tuesday 04:00 still belongs to Monday''s service day, 05:30 does not');
-- a weekly cap over Monday-Sunday service weeks
SELECT results_eq(
    $$SELECT * FROM faregate.charge_taps(pg_temp.taps(
        'T1 T3 2026-03-23 10:00+01', 'T1 T3 2026-03-23 12:00+01', 'T1 T3 2026-03-24 10:00+01', 'T1 T3 2026-03-24 12:00+01',
        'T1 T3 2026-03-25 10:00+01', 'T1 T3 2026-03-25 12:00+01', 'T1 T3 2026-03-26 10:00+01', 'T1 T3 2026-03-26 12:00+01',
        'T1 T3 2026-03-30 10:00+02'))$$,
    $$VALUES (1, 3.50, 3.50, 'fare'), (2, 3.50, 2.50, 'daily cap'), (3, 3.50, 3.50, 'fare'), (4, 3.50, 2.50, 'daily cap'),
             (5, 3.50, 3.50, 'fare'), (6, 3.50, 2.50, 'daily cap'), (7, 3.50, 2.00, 'weekly cap'), (8, 3.50, 0.00, 'weekly cap'),
             (9, 3.50, 3.50, 'fare')$$,
    'weekly cap 20.00 reached on Thursday; the next Monday starts a new week');
SELECT is((SELECT sum(charged) FROM faregate.charge_taps(pg_temp.taps(
        'T1 T3 2026-03-23 10:00+01', 'T1 T3 2026-03-23 12:00+01', 'T1 T3 2026-03-24 10:00+01', 'T1 T3 2026-03-24 12:00+01',
        'T1 T3 2026-03-25 10:00+01', 'T1 T3 2026-03-25 12:00+01', 'T1 T3 2026-03-26 10:00+01', 'T1 T3 2026-03-26 12:00+01',
        'T1 T3 2026-03-27 10:00+01', 'T1 T3 2026-03-29 12:00+02'))), 20.00,
    'a rider never pays more than the weekly cap');
-- DST change days: the service day starts at 04:30 wall-clock time
SELECT results_eq(
    $$SELECT * FROM faregate.charge_taps(pg_temp.taps(
        'T1 T3 2026-03-28 10:00+01', 'T1 T3 2026-03-28 12:00+01',
        'T1 T2 2026-03-29 01:30+00', 'T1 T2 2026-03-29 02:45+00'))$$,
    $$VALUES (1, 3.50, 3.50, 'fare'), (2, 3.50, 2.50, 'daily cap'), (3, 2.50, 0.00, 'daily cap'), (4, 2.50, 2.50, 'fare')$$,
    'DST starts: 01:30 UTC is 03:30 CEST (Saturday''s service day), 02:45 UTC is 04:45 CEST (a new one)');
SELECT results_eq(
    $$SELECT * FROM faregate.charge_taps(pg_temp.taps(
        'T1 T3 2026-10-24 10:00+02', 'T1 T3 2026-10-24 12:00+02',
        'T1 T2 2026-10-25 02:45+00', 'T1 T2 2026-10-25 04:00+00'))$$,
    $$VALUES (1, 3.50, 3.50, 'fare'), (2, 3.50, 2.50, 'daily cap'), (3, 2.70, 0.00, 'daily cap'), (4, 2.70, 2.70, 'fare')$$,
    'DST ends: 02:45 UTC is 03:45 CET (Saturday''s service day), 04:00 UTC is 05:00 CET (a new one)');
SELECT results_eq(
    $$SELECT * FROM faregate.charge_taps(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:30+01'), 'tchild')$$,
    $$VALUES (1, 1.20, 1.20, 'fare'), (2, 0.90, 0.20, 'transfer')$$,
    'charge_taps for tchild: transfer fee, no caps');
SELECT is_empty($$SELECT * FROM faregate.charge_taps('{}'::faregate.leg[])$$, 'no taps, no charges');
SELECT is((SELECT sum(charged) FROM faregate.charge_taps(pg_temp.taps(
        'T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:40+01', 'T1 T3 2026-03-23 11:30+01'))),
    faregate.journey_fare(pg_temp.taps(
        'T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:40+01', 'T1 T3 2026-03-23 11:30+01')),
    'below the caps charge_taps charges what journey_fare prices');
-- a cap of a category applies only to it; a zero cap makes rides free, and says why
INSERT INTO faregate.fare_caps VALUES ('tchild', 'day', 0.00, '04:30');
SELECT results_eq(
    $$SELECT * FROM faregate.charge_taps(pg_temp.taps('T1 T2 2026-03-23 10:00+01'), 'tchild')$$,
    $$VALUES (1, 1.20, 0.00, 'daily cap')$$,
    'a zero daily cap: charged 0.00 with reason daily cap (seen in the same transaction)');
-- PARALLEL SAFE for real: a parallel worker builds its own compiled table from the query's snapshot
-- (which includes this transaction's uncommitted fixture) and prices the same as the leader
SELECT array_agg(faregate.fare('T1', 'T2', timestamptz '2026-03-23 00:00+01' + make_interval(hours => h)) ORDER BY h)::text
       AS serial_prices FROM generate_series(0, 23) h \gset
CREATE FUNCTION pg_temp.workers_launched(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Workers Launched')::int;
END $$;
SET LOCAL force_parallel_mode = on;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SELECT array_agg(faregate.fare('T1', 'T2', timestamptz '2026-03-23 00:00+01' + make_interval(hours => h)) ORDER BY h)::text
       AS parallel_prices FROM generate_series(0, 23) h \gset
SELECT is(:'parallel_prices'::text, :'serial_prices'::text, 'prices computed under force_parallel_mode equal the serial ones');
SELECT cmp_ok(pg_temp.workers_launched($$SELECT array_agg(faregate.fare('T1', 'T2', timestamptz '2026-03-23 00:00+01'
                  + make_interval(hours => h)) ORDER BY h) FROM generate_series(0, 23) h$$), '>=', 1,
              'that query runs in a parallel worker');
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
-- a rule change in this transaction is seen by the next call
UPDATE faregate.fare_rules SET amount = 3.30 WHERE from_zone = 'T1' AND to_zone = 'T2' AND timeframe = 'tpeak';
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 08:00+01'), 3.30, 'an update in this transaction is seen at the next call');

SELECT * FROM finish();
ROLLBACK;
