-- 10_fares_scan.sql: a cache miss reads the key's rules with a direct scan of fare_rules_lookup
-- (fare_cache.c, fare_cache_scan_rules); it must read exactly what the plain query would. Part 1, on
-- committed rows with a second session (dblink): a rule another session has inserted or changed but
-- not committed is not seen (and is once committed), a deleted rule is not seen, a rule of this
-- transaction is. Part 2, in a transaction rolled back at the end: where row-level security applies or
-- the caller lacks SELECT on the table the lookup goes through SPI, which applies the policy, refuses
-- (42501) or accepts column privileges as before; a NULL in a NOT NULL column of an altered table is an
-- error (23502) on both paths, never a fare of 0; without the index the SPI path prices the same.
-- Part 3 (rolled back), the small tables (zones, rider_categories, timeframes, transfer_rules,
-- fare_caps), which a new cache reads by direct heap scans (fare_cache_scan_table) under the same
-- conditions: read through SPI with column privileges only they price the same (fares, timeframes,
-- transfers, caps); without SELECT the build is refused (42501); a policy on rider_categories applies
-- (a hidden category is unknown, its transfer rule is skipped); row_security = off is 42501; a NULL in
-- an altered table is 23502 on both paths.
SELECT plan(37);

-- clean start, in case an earlier run of this file was interrupted
DELETE FROM faregate.fare_rules WHERE from_zone LIKE 'S_';
DELETE FROM faregate.zones WHERE zone_id LIKE 'S_';
INSERT INTO faregate.zones VALUES ('S1', 'scan one'), ('S2', 'scan two'), ('S3', 'scan three');
INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency, priority)
VALUES ('S1', 'S2', 1.00, 'EUR', 0), ('S1', 'S2', 2.00, 'EUR', 5), ('S1', 'S3', 3.00, 'EUR', 0),
       ('S3', 'S1', 3.10, 'EUR', 0), ('S3', 'S2', 3.20, 'EUR', 0);

SELECT is(dblink_connect('scan_writer', format('dbname=%s host=127.0.0.1 port=%s user=%s',
                                               current_database(), current_setting('port'), current_user)),
          'OK', 'a writing session connected through dblink');

-- a rule another session inserted but has not committed
SELECT is(dblink_exec('scan_writer', 'BEGIN'), 'BEGIN', 'the writer opens a transaction');
SELECT is(dblink_exec('scan_writer', $$INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency)
                                       VALUES ('S2', 'S1', 4.00, 'EUR')$$), 'INSERT 0 1', 'the writer inserts S2 -> S1');
SELECT throws_ok($$SELECT faregate.fare('S2', 'S1', '2026-03-23 12:00+00')$$, 'FG001', NULL,
                 'an uncommitted rule of another session is not seen (no rule for S2 -> S1)');
-- a rule another session changed but has not committed, looked up for the first time
SELECT is(dblink_exec('scan_writer', $$UPDATE faregate.fare_rules SET amount = 3.33
                                       WHERE from_zone = 'S1' AND to_zone = 'S3'$$), 'UPDATE 1', 'the writer changes S1 -> S3');
SELECT is(faregate.fare('S1', 'S3', '2026-03-23 12:00+00'), 3.00,
          'an uncommitted change of another session is not seen: the committed version is');
-- and deleted but not committed
SELECT is(dblink_exec('scan_writer', $$DELETE FROM faregate.fare_rules WHERE from_zone = 'S3' AND to_zone = 'S1'$$),
          'DELETE 1', 'the writer deletes S3 -> S1');
SELECT is(faregate.fare('S3', 'S1', '2026-03-23 12:00+00'), 3.10, 'an uncommitted delete of another session is not seen');
SELECT is(dblink_exec('scan_writer', 'COMMIT'), 'COMMIT', 'the writer commits');
SELECT is(faregate.fare('S2', 'S1', '2026-03-23 12:00+00'), 4.00, 'the committed insert is seen at the next call');
SELECT is(faregate.fare('S1', 'S3', '2026-03-23 12:00+00'), 3.33, 'the committed change is seen at the next call');
SELECT throws_ok($$SELECT faregate.fare('S3', 'S1', '2026-03-23 12:00+00')$$, 'FG001', NULL,
                 'the committed delete is seen at the next call');

-- a rule deleted (committed) before this session ever looked the key up: its dead version is skipped
SELECT is(dblink_exec('scan_writer', $$DELETE FROM faregate.fare_rules WHERE from_zone = 'S1' AND to_zone = 'S2' AND priority = 5$$),
          'DELETE 1', 'the writer deletes the priority-5 rule of S1 -> S2');
SELECT is(faregate.fare('S1', 'S2', '2026-03-23 12:00+00'), 1.00, 'a deleted rule is not read: the priority-0 rule applies');

-- this transaction's own uncommitted changes are read, on a key not looked up before
BEGIN;
DELETE FROM faregate.fare_rules WHERE from_zone = 'S3' AND to_zone = 'S2';
INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency) VALUES ('S3', 'S2', 3.40, 'EUR');
SELECT is(faregate.fare('S3', 'S2', '2026-03-23 12:00+00'), 3.40, 'own uncommitted replacement of a rule is read');
ROLLBACK;
SELECT is(faregate.fare('S3', 'S2', '2026-03-23 12:00+00'), 3.20, 'after the rollback the committed rule is read');
SELECT is(dblink_disconnect('scan_writer'), 'OK', 'the writing session disconnected');
DELETE FROM faregate.fare_rules WHERE from_zone LIKE 'S_';
DELETE FROM faregate.zones WHERE zone_id LIKE 'S_';

-- part 2: row-level security, privileges, NULLs, no index (all rolled back)
BEGIN;
INSERT INTO faregate.zones VALUES ('S4', 'scan four'), ('S5', 'scan five'), ('S6', 'scan six');
INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency, priority)
VALUES ('S4', 'S5', 5.00, 'EUR', 0), ('S4', 'S5', 0.50, 'EUR', 9), ('S5', 'S4', 6.00, 'EUR', 0),
       ('S6', 'S4', 8.00, 'EUR', 0), ('S6', 'S4', 0.80, 'EUR', 9), ('S4', 'S6', 7.00, 'EUR', 0),
       ('S6', 'S5', 9.00, 'EUR', 0);
CREATE ROLE fg_scan_reader NOLOGIN;
-- try_fare(from, to): the fare, or 'error SQLSTATE'; called as fg_scan_reader, which cannot write pgTAP's
-- temporary tables, so its answers go into scan_answers
CREATE FUNCTION pg_temp.try_fare(from_zone text, to_zone text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN faregate.fare(from_zone, to_zone, '2026-03-23 12:00+00')::text;
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END $$;
CREATE TEMP TABLE scan_answers (question text PRIMARY KEY, answer text);
GRANT INSERT, SELECT ON scan_answers TO fg_scan_reader;

-- row-level security: the policy hides the priority-9 rules from fg_scan_reader
ALTER TABLE faregate.fare_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY fg_scan_hide ON faregate.fare_rules FOR SELECT TO fg_scan_reader USING (priority < 9);
SET LOCAL ROLE fg_scan_reader;
INSERT INTO scan_answers VALUES ('rls', pg_temp.try_fare('S4', 'S5'));
SET LOCAL row_security = off;
INSERT INTO scan_answers VALUES ('rls off', pg_temp.try_fare('S5', 'S4'));
RESET row_security;
RESET ROLE;
SELECT is((SELECT answer FROM scan_answers WHERE question = 'rls'), '5.00',
          'row-level security applies to a fill: the policy hides the priority-9 rule');
SELECT is((SELECT answer FROM scan_answers WHERE question = 'rls off'), 'error 42501',
          'with row_security = off a fill that a policy would affect is refused (42501)');
SELECT is(faregate.fare('S6', 'S4', '2026-03-23 12:00+00'), 0.80, 'the table''s owner is not subject to the policy');
ALTER TABLE faregate.fare_rules DISABLE ROW LEVEL SECURITY;

-- privileges: without SELECT on fare_rules a fill is refused; column privileges are enough
REVOKE SELECT ON faregate.fare_rules FROM PUBLIC;
SET LOCAL ROLE fg_scan_reader;
INSERT INTO scan_answers VALUES ('no select', pg_temp.try_fare('S4', 'S6'));
RESET ROLE;
SELECT is((SELECT answer FROM scan_answers WHERE question = 'no select'), 'error 42501',
          'a role without SELECT on fare_rules cannot fill (42501)');
GRANT SELECT (rule_id, from_zone, to_zone, category, timeframe, valid, amount, currency, priority)
    ON faregate.fare_rules TO fg_scan_reader;
SET LOCAL ROLE fg_scan_reader;
INSERT INTO scan_answers VALUES ('columns', pg_temp.try_fare('S4', 'S6'));
RESET ROLE;
SELECT is((SELECT answer FROM scan_answers WHERE question = 'columns'), '7.00',
          'SELECT on the columns the lookup reads is enough, as for the query');

-- a NULL where the table (altered) no longer forbids one: an error on the direct scan and on SPI
ALTER TABLE faregate.fare_rules ALTER amount DROP NOT NULL;
INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency) VALUES ('S5', 'S6', NULL, 'EUR');
SELECT throws_ok($$SELECT faregate.fare('S5', 'S6', '2026-03-23 12:00+00')$$, '23502', NULL,
                 'a rule with a NULL amount is an error, not a fare of 0 (direct scan)');
DROP INDEX faregate.fare_rules_lookup;
SELECT throws_ok($$SELECT faregate.fare('S5', 'S6', '2026-03-23 12:00+00')$$, '23502', NULL,
                 'a rule with a NULL amount is an error, not a fare of 0 (SPI, no index)');
SELECT is(faregate.fare('S6', 'S5', '2026-03-23 12:00+00'), 9.00, 'without fare_rules_lookup the lookup goes through SPI');
SELECT is(faregate.fare('S6', 'S4', '2026-03-23 12:00+00'), 0.80, 'and applies the same precedence');
ROLLBACK;

SELECT is((SELECT count(*)::int FROM pg_indexes WHERE schemaname = 'faregate' AND indexname = 'fare_rules_lookup'), 1,
          'fare_rules_lookup is back after the rollback');

-- part 3: the small tables (all rolled back). A change of a small table by this transaction makes the
-- next call drop the cache and build it again, as the role calling: pg_temp.rebuild() forces that.
BEGIN;
\ir fixtures/10_fares_network.psql
CREATE ROLE fg_scan_small NOLOGIN;
CREATE FUNCTION pg_temp.rebuild() RETURNS void LANGUAGE sql AS $$
    INSERT INTO faregate.zones VALUES ('S' || (SELECT count(*) + 10 FROM faregate.zones WHERE zone_id LIKE 'S%'), 'scan rebuild')
$$;
-- small_prices(): what the small tables decide, as one text (or 'error SQLSTATE'): a timeframe rule on a
-- weekday peak and a weekend late window, a second category, a day cap and a week cap, transfers
-- with and without a fee
CREATE FUNCTION pg_temp.small_prices() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN concat_ws(' | ',
        faregate.fare('T1', 'T2', '2026-03-23 08:00+01'),
        faregate.fare('T1', 'T2', '2026-03-28 23:00+01'),
        faregate.fare('T1', 'T2', '2026-03-23 12:00+01', 'tchild'),
        (SELECT string_agg(concat_ws(' ', tap_no, charged, reason), ', ' ORDER BY tap_no)
           FROM faregate.charge_taps(pg_temp.taps('T1 T2 2026-03-23 08:00+01', 'T2 T3 2026-03-23 08:30+01',
                                                  'T1 T3 2026-03-23 12:00+01', 'T3 T1 2026-03-23 14:00+01'))),
        (SELECT string_agg(concat_ws(' ', tap_no, charged, reason), ', ' ORDER BY tap_no)
           FROM faregate.charge_taps(pg_temp.taps('T1 T2 2026-03-23 08:00+01', 'T2 T3 2026-03-23 08:20+01'), 'tchild')));
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END $$;
CREATE FUNCTION pg_temp.try_fare_small(category text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN faregate.fare('T1', 'T2', '2026-03-23 12:00+01', category)::text;
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END $$;
CREATE TEMP TABLE small_answers (question text PRIMARY KEY, answer text);
GRANT INSERT, SELECT ON small_answers TO fg_scan_small;

SELECT pg_temp.rebuild();
INSERT INTO small_answers VALUES ('direct', pg_temp.small_prices());
SELECT is((SELECT answer FROM small_answers WHERE question = 'direct'),
          '3.20 | 2.00 | 1.20 | 1 3.20 fare, 2 0.00 transfer, 3 2.80 daily cap, 4 0.00 daily cap | 1 1.20 fare, 2 0.20 transfer',
          'the small tables read by direct heap scans (the owner) price as the fixture says');

-- column privileges only: every small table is read through SPI
REVOKE SELECT ON faregate.zones, faregate.rider_categories, faregate.timeframes, faregate.transfer_rules,
    faregate.fare_caps FROM PUBLIC;
GRANT SELECT (zone_id) ON faregate.zones TO fg_scan_small;
GRANT SELECT (category) ON faregate.rider_categories TO fg_scan_small;
GRANT SELECT (timeframe, days, start_time, end_time) ON faregate.timeframes TO fg_scan_small;
GRANT SELECT (category, max_transfers, within, transfer_fee) ON faregate.transfer_rules TO fg_scan_small;
GRANT SELECT (category, period, cap, day_starts) ON faregate.fare_caps TO fg_scan_small;
SELECT pg_temp.rebuild();
SET LOCAL ROLE fg_scan_small;
INSERT INTO small_answers VALUES ('columns', pg_temp.small_prices());
RESET ROLE;
SELECT is((SELECT answer FROM small_answers WHERE question = 'columns'),
          (SELECT answer FROM small_answers WHERE question = 'direct'),
          'with SELECT on their columns only, the small tables are read through SPI and price the same');

-- no SELECT at all on one small table: the build is refused, as the query refused it
REVOKE SELECT (category, period, cap, day_starts) ON faregate.fare_caps FROM fg_scan_small;
SELECT pg_temp.rebuild();
SET LOCAL ROLE fg_scan_small;
INSERT INTO small_answers VALUES ('no select', pg_temp.try_fare_small('adult'));
RESET ROLE;
SELECT is((SELECT answer FROM small_answers WHERE question = 'no select'), 'error 42501',
          'a role without SELECT on fare_caps cannot build the cache (42501)');
GRANT SELECT ON faregate.zones, faregate.rider_categories, faregate.timeframes, faregate.transfer_rules,
    faregate.fare_caps TO PUBLIC;

-- row-level security on rider_categories: the policy hides tchild from fg_scan_small
ALTER TABLE faregate.rider_categories ENABLE ROW LEVEL SECURITY;
CREATE POLICY fg_scan_small_hide ON faregate.rider_categories FOR SELECT TO fg_scan_small USING (category <> 'tchild');
SELECT pg_temp.rebuild();
SET LOCAL ROLE fg_scan_small;
INSERT INTO small_answers VALUES ('rls adult', pg_temp.try_fare_small('adult'));
INSERT INTO small_answers VALUES ('rls tchild', pg_temp.try_fare_small('tchild'));
RESET ROLE;
SELECT is((SELECT answer FROM small_answers WHERE question = 'rls adult'), '2.50',
          'a policy on rider_categories: the visible categories price (the hidden one''s transfer rule is skipped)');
SELECT is((SELECT answer FROM small_answers WHERE question = 'rls tchild'), 'error FG003',
          'a policy on rider_categories: the hidden category is unknown (FG003)');
SELECT pg_temp.rebuild();
SET LOCAL ROLE fg_scan_small;
SET LOCAL row_security = off;
INSERT INTO small_answers VALUES ('rls off', pg_temp.try_fare_small('adult'));
RESET row_security;
RESET ROLE;
SELECT is((SELECT answer FROM small_answers WHERE question = 'rls off'), 'error 42501',
          'with row_security = off a build that a policy would affect is refused (42501)');
SELECT pg_temp.rebuild();
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 12:00+01', 'tchild'), 1.20, 'the table''s owner is not subject to the policy');
ALTER TABLE faregate.rider_categories DISABLE ROW LEVEL SECURITY;

-- a NULL where an altered small table no longer forbids one: 23502 on the direct scan and on SPI
ALTER TABLE faregate.transfer_rules ALTER within DROP NOT NULL;
UPDATE faregate.transfer_rules SET within = NULL WHERE category = 'tchild';
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', '2026-03-23 12:00+01')$$, '23502', NULL,
                 'a transfer rule with a NULL within is an error when the cache is built (direct scan)');
REVOKE SELECT ON faregate.transfer_rules FROM PUBLIC;
GRANT SELECT (category, max_transfers, within, transfer_fee) ON faregate.transfer_rules TO fg_scan_small;
SET LOCAL ROLE fg_scan_small;
INSERT INTO small_answers VALUES ('null spi', pg_temp.try_fare_small('adult'));
RESET ROLE;
SELECT is((SELECT answer FROM small_answers WHERE question = 'null spi'), 'error 23502',
          'and when it is read through SPI');
ROLLBACK;
SELECT is((SELECT relrowsecurity FROM pg_class WHERE oid = 'faregate.rider_categories'::regclass), false,
          'row-level security is off on rider_categories after the rollback');
SELECT * FROM finish();
