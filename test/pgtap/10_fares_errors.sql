-- 10_fares_errors.sql: every bad input gets its own SQLSTATE and a message naming the value, never a
-- wrong number; overlapping rules are refused at insert time. Uses fixtures/10_fares_network.psql.
-- Runs in a transaction that is rolled back.
BEGIN;
SELECT plan(34);
\ir fixtures/10_fares_network.psql

-- lookups
SELECT throws_ok($$SELECT faregate.fare('T2', 'T1', '2026-03-23 10:00+01')$$, 'FG001',
    'no fare rule for T2 -> T1, category adult, at 2026-03-23 10:00:00 Europe/Berlin',
    'no applicable rule: FG001, naming the pair, category and local time');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', '2026-03-23 10:00+01', 'tchild') + faregate.fare('T1', 'T3', '2026-03-23 10:00+01', 'tchild')$$,
    'FG001', NULL, 'a category without a rule for the pair is FG001, not 0');
SELECT throws_ok($$SELECT faregate.fare('T1', 'Tnowhere', '2026-03-23 10:00+01')$$, 'FG002',
    'unknown fare zone "Tnowhere"', 'unknown zone: FG002');
SELECT throws_ok($$SELECT faregate.fare('Tx', 'T2')$$, 'FG002', 'unknown fare zone "Tx"', 'unknown from zone: FG002');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', '2026-03-23 10:00+01', 'tsenior')$$, 'FG003',
    'unknown rider category "tsenior"', 'unknown category: FG003');
SELECT throws_ok($$SELECT * FROM faregate.fare_quote('T1', 'T2', '2026-03-23 10:00+01', 'tsenior')$$, 'FG003',
    NULL, 'fare_quote: unknown category FG003');
SELECT throws_ok($$SELECT faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01'), 'tsenior')$$, 'FG003',
    NULL, 'journey_fare: unknown category FG003');
SELECT throws_ok($$SELECT faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T9 T2 2026-03-23 10:10+01'))$$,
    'FG002', 'unknown fare zone "T9"', 'journey_fare: unknown zone in a leg FG002');
SELECT throws_ok($$SELECT * FROM faregate.charge_taps(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T1 2026-03-23 11:00+01'))$$,
    'FG001', NULL, 'charge_taps: a tap without a rule is FG001');
-- journeys
SELECT throws_ok($$SELECT faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T3 T3 2026-03-23 10:10+01'))$$,
    'FG004', NULL, 'currency mix inside a journey: FG004');
SELECT throws_like($$SELECT * FROM faregate.charge_taps(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T3 T3 2026-03-23 12:00+01'))$$,
    '%currency CHF of tap 2%differs from currency EUR of tap 1%', 'the FG004 message names both currencies');
SELECT throws_ok($$SELECT faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 09:59+01'))$$,
    'FG005', NULL, 'legs out of time order: FG005');
SELECT throws_ok($$SELECT * FROM faregate.charge_taps(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 09:59+01'))$$,
    'FG005', NULL, 'taps out of time order: FG005');
SELECT throws_ok($$SELECT faregate.journey_fare(ARRAY[row('T1', 'T2', '2026-03-23 10:00+01')::faregate.leg, NULL])$$,
    'FG006', 'leg 2 of faregate.journey_fare is null', 'NULL inside the legs array: FG006');
SELECT throws_ok($$SELECT * FROM faregate.charge_taps(ARRAY[row('T1', NULL, '2026-03-23 10:00+01')::faregate.leg])$$,
    'FG006', 'leg 1 of faregate.charge_taps has a null to_zone', 'a leg with a NULL field: FG006');
SELECT throws_ok($$SELECT faregate.journey_fare('{}'::faregate.leg[])$$, 'FG009', NULL, 'a journey without legs: FG009');
SELECT throws_ok($$SELECT faregate.journey_fare(ARRAY[[row('T1', 'T2', '2026-03-23 10:00+01')::faregate.leg]])$$,
    '2202E', NULL, 'a two-dimensional legs array: 2202E');
-- NULL arguments and impossible times
SELECT throws_ok($$SELECT faregate.fare(NULL, 'T2')$$, '22004', 'argument from_zone of faregate.fare must not be null',
    'NULL zone: 22004, not a NULL or 0 fare');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', NULL)$$, '22004', NULL, 'NULL time: 22004');
SELECT throws_ok($$SELECT faregate.journey_fare(NULL, 'adult')$$, '22004', NULL, 'NULL legs: 22004');
SELECT throws_ok($$SELECT * FROM faregate.charge_taps(pg_temp.taps('T1 T2 2026-03-23 10:00+01'), NULL)$$, '22004', NULL,
    'NULL category: 22004');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', 'infinity')$$, '22008', NULL, 'an infinite time: 22008');
-- ambiguous rules: two timeframes of equal priority that both apply
INSERT INTO faregate.timeframes VALUES ('tmorning', '{1}', '08:00', '12:00');
INSERT INTO faregate.fare_rules (from_zone, to_zone, timeframe, amount, currency) VALUES ('T1', 'T2', 'tmorning', 2.90, 'EUR');
SELECT throws_like($$SELECT faregate.fare('T1', 'T2', '2026-03-23 08:15+01')$$,
    'ambiguous fare rules % (timeframe tpeak) and % (timeframe tmorning)%', 'two applicable timeframe rules of equal priority: FG008 (message)');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', '2026-03-23 08:15+01')$$, 'FG008', NULL,
    'two applicable timeframe rules of equal priority: FG008');
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 10:15+01'), 2.90, 'where only one timeframe applies there is no ambiguity');
-- rules and timeframes refused at insert time
SELECT throws_ok($$INSERT INTO faregate.fare_rules (from_zone, to_zone, valid, amount, currency)
                   VALUES ('T1', 'T2', '[2026-03-01,2026-05-01)', 2.60, 'EUR')$$,
    '23P01', NULL, 'a rule overlapping another of the same pair, category, timeframe and priority: 23P01');
SELECT throws_ok($$INSERT INTO faregate.timeframes VALUES ('tbad', '{1}', '10:00', '09:00')$$, 'FG007',
    'empty timeframe window "tbad" 10:00:00-09:00:00', 'an empty timeframe window: FG007');
SELECT throws_ok($$INSERT INTO faregate.timeframes VALUES ('tbad', '{}', '10:00', '11:00')$$, 'FG007', NULL,
    'a window without days: FG007');
SELECT throws_ok($$INSERT INTO faregate.timeframes VALUES ('tbad', '{0,8}', '10:00', '11:00')$$, 'FG007', NULL,
    'days outside 1..7: FG007');
SELECT throws_like($$INSERT INTO faregate.fare_rules (from_zone, to_zone, timeframe, amount, currency) VALUES ('T2', 'T1', 'tnope', 1, 'EUR')$$,
    '%violates foreign key constraint%', 'a rule naming an unknown timeframe is refused');
SELECT throws_ok($$INSERT INTO faregate.fare_rules (from_zone, to_zone, timeframe, amount, currency) VALUES ('T2', 'T1', 'tnope', 1, 'EUR')$$,
    '23503', NULL, 'a rule naming an unknown timeframe: 23503');
SELECT throws_ok($$INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency) VALUES ('T2', 'T1', -1, 'EUR')$$,
    '23514', NULL, 'a negative amount: 23514');
SELECT throws_ok($$INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency) VALUES ('T2', 'T9', 1, 'EUR')$$,
    '23503', NULL, 'a rule for an unknown zone: 23503');
SELECT throws_ok($$SET faregate.timezone = 'Mars/Olympus_Mons'$$, '22023', NULL, 'an unknown faregate.timezone: 22023');

SELECT * FROM finish();
ROLLBACK;
