-- 10_fares_firstcall.sql: what the first-call shortcuts (docs/fares.md, "The first call of a new
-- session") must leave unchanged: the default faregate.timezone, UTC, which is loaded only when a fare is
-- first priced in it, prices in UTC (also after RESET from another zone), and a rule's validity, decoded
-- from the stored daterange, decides as SQL's range containment does, for every kind of bound.
-- Runs in a transaction that is rolled back.
BEGIN;
SELECT plan(7);
\ir fixtures/10_fares_network.psql

-- the default zone, set back after Europe/Berlin (the fixture's)
SELECT is(faregate.fare('T1', 'T2', '2026-03-29 20:30+00'), 2.00, 'Europe/Berlin: 20:30 UTC on 2026-03-29 is 22:30 CEST, tlate');
SET LOCAL faregate.timezone TO DEFAULT;
SELECT is(current_setting('faregate.timezone'), 'UTC', 'the default is UTC');
SELECT is(faregate.fare('T1', 'T2', '2026-03-29 20:30+00'), 2.50, 'priced in the default zone: 20:30 UTC is not tlate');
SET LOCAL faregate.timezone = 'Europe/Berlin';
SELECT is(faregate.fare('T1', 'T2', '2026-03-29 20:30+00'), 2.00, 'and back in Europe/Berlin');
SET LOCAL faregate.timezone = 'utc';
SELECT is(faregate.fare('T1', 'T2', '2026-03-29 20:30+00'), 2.50, 'utc spelt otherwise is loaded when set, and prices the same');
SET LOCAL faregate.timezone = 'Europe/Berlin';

-- validity bounds of every kind (canonical [a,b), written inclusive or exclusive, unbounded on either
-- side), each winning by priority where it applies: the rule fare_quote picks is the one SQL picks
INSERT INTO faregate.fare_rules (from_zone, to_zone, category, timeframe, valid, amount, currency, priority) VALUES
    ('T3', 'T1', 'adult', NULL, '[2026-07-01,2026-07-03]', 1.10, 'EUR', 6),
    ('T3', 'T1', 'adult', NULL, '(2026-08-01,2026-08-05)', 1.20, 'EUR', 7),
    ('T3', 'T1', 'adult', NULL, '(,2026-05-31]', 1.30, 'EUR', 8),
    ('T3', 'T1', 'adult', NULL, '(2026-08-06,)', 1.40, 'EUR', 9);
SELECT results_eq(
    $$SELECT d::date, (SELECT rule_id FROM faregate.fare_quote('T3', 'T1', (d::date + time '10:00') AT TIME ZONE 'Europe/Berlin'))
        FROM generate_series(date '2026-05-29', date '2026-08-09', interval '1 day') d ORDER BY 1$$,
    $$SELECT d::date, (SELECT rule_id FROM faregate.fare_rules
                        WHERE from_zone = 'T3' AND to_zone = 'T1' AND category = 'adult' AND valid @> d::date
                        ORDER BY priority DESC LIMIT 1)
        FROM generate_series(date '2026-05-29', date '2026-08-09', interval '1 day') d ORDER BY 1$$,
    'every day from 2026-05-29 to 2026-08-09: the rule whose validity holds the local date, as SQL''s @> says');
SELECT is((SELECT count(DISTINCT q.rule_id)::int
             FROM generate_series(date '2026-05-29', date '2026-08-09', interval '1 day') d,
                  faregate.fare_quote('T3', 'T1', (d::date + time '10:00') AT TIME ZONE 'Europe/Berlin') q), 6,
          'and the days cover all six rules of the pair');
SELECT * FROM finish();
ROLLBACK;
