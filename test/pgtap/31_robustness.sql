-- 31_robustness.sql: every SQL-visible function of faregate against hostile input: NULLs, empty and
-- 1 MB strings, empty arrays, arrays with NULLs, two-dimensional and oddly-bounded arrays, infinite
-- and extreme timestamps, extreme and subnormal numbers, malformed sketches in text and binary form.
-- Each answer must be a correct value or a clean error with its documented SQLSTATE, never an internal
-- error (class XX) and never a crash. A crashed backend ends this psql session: pg_prove then reports
-- a wrong test count and the suite fails, so a crash cannot go unnoticed.
-- Two parts: a generic sweep (every function from pg_proc, one argument at a time replaced by each
-- extreme value of its type; no result may be of class XX), then explicit expectations for the cases
-- that matter. The GTFS functions are swept too, against a small feed (fixtures/40_gtfs_lib.psql), and
-- each of their errors must carry a hint. Uses fixtures/10_fares_network.psql; rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;  -- the sweep's queue_rollup_hourly calls are chatty
SELECT plan(89);
\ir fixtures/10_fares_network.psql
\ir fixtures/40_gtfs_lib.psql
-- a small GTFS feed g (fixtures/40_gtfs_lib.psql) for the gtfs_ functions
SELECT pg_temp.good_feed();
SELECT faregate.gtfs_import('g') AS gtfs_rules \gset

INSERT INTO faregate.queues (name) VALUES ('robustness queue') RETURNING queue_id AS q \gset
SELECT faregate.enqueue(:q, 't1', '2026-03-23 09:00+01') AS e1 \gset
CREATE TEMP TABLE ids AS SELECT :q::bigint AS q, :e1::bigint AS e1;

-- ---------------------------------------------------------------------------------------------------
-- Generic sweep
-- ---------------------------------------------------------------------------------------------------
-- the ordinary value of each argument (by type and name), and the hostile values of each type
CREATE TEMP TABLE base_values (typ regtype, argname text, expr text);
INSERT INTO base_values VALUES
    ('text', 'from_zone', $$'T1'$$), ('text', 'to_zone', $$'T2'$$), ('text', 'category', $$'adult'$$),
    ('text', NULL, $$'t'$$),
    ('timestamptz', 'since', $$'2026-03-22 00:00+01'$$), ('timestamptz', NULL, $$'2026-03-23 10:00+01'$$),
    ('bigint', 'queue_id', '(SELECT q FROM ids)'), ('bigint', NULL, '(SELECT e1 FROM ids)'),
    ('integer', NULL, '10'), ('double precision', NULL, '0.5'), ('boolean', NULL, 'false'),
    ('interval', NULL, $$'1 hour'$$),
    ('faregate.leg[]', NULL, $$pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:30+01')$$),
    ('cstring', NULL, $$'v1;n=1;zero=1;min=0;max=0;pos=;neg='$$),
    ('faregate.sketch', NULL, $$'v1;n=3;zero=1;min=0;max=2;pos=0:1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1;neg='$$),
    ('text', 'feed_id', $$'g'$$), ('text', 'rider_category_id', $$'adult'$$), ('text', 'fare_media_id', $$'card'$$),
    ('faregate.gtfs_leg[]', NULL, $$pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01', 's2|s1|r1|2025-03-03 10:20+01|2025-03-03 10:30+01')$$);
CREATE TEMP TABLE hostile_values (typ regtype, label text, expr text);
INSERT INTO hostile_values VALUES
    ('text', 'NULL', 'NULL'), ('text', 'empty', $$''$$), ('text', '1 MB', $$repeat('x', 1048576)$$),
    ('text', 'injection', $$'a''; DROP TABLE faregate.zones; --'$$), ('text', 'non-ASCII', $$'Zürich Hbf ✓'$$),
    ('timestamptz', 'NULL', 'NULL'), ('timestamptz', 'infinity', $$'infinity'$$),
    ('timestamptz', '-infinity', $$'-infinity'$$), ('timestamptz', 'year 294276', $$'294276-12-31 23:59:59+00'$$),
    ('timestamptz', '4714 BC', $$'4714-11-24 00:00:00+00 BC'$$),
    ('bigint', 'NULL', 'NULL'), ('bigint', '0', '0'), ('bigint', '-1', '-1'),
    ('bigint', 'max', '9223372036854775807'), ('bigint', 'min', '(-9223372036854775807 - 1)'),
    ('integer', 'NULL', 'NULL'), ('integer', '0', '0'), ('integer', '-1', '-1'), ('integer', 'max', '2147483647'),
    ('integer', 'min', '(-2147483647 - 1)'),
    ('double precision', 'NULL', 'NULL'), ('double precision', 'NaN', $$'NaN'::float8$$),
    ('double precision', 'Infinity', $$'Infinity'::float8$$), ('double precision', '-Infinity', $$'-Infinity'::float8$$),
    ('double precision', '1e308', '1e308::float8'), ('double precision', '-1.7976931348623157e308', '-1.7976931348623157e308::float8'),
    ('double precision', 'subnormal 5e-324', '4.9e-324::float8'), ('double precision', '-0.0', $$'-0'::float8$$),
    ('double precision', '2', '2::float8'), ('double precision', '-1', '-1::float8'),
    ('boolean', 'NULL', 'NULL'), ('boolean', 'true', 'true'),
    ('interval', 'NULL', 'NULL'), ('interval', 'negative', $$'-1 hour'$$), ('interval', 'zero', $$'0'$$),
    ('interval', 'huge', $$'178000000 years'$$),
    ('faregate.leg[]', 'NULL', 'NULL'), ('faregate.leg[]', 'empty', $$'{}'$$),
    ('faregate.leg[]', 'NULL element', 'ARRAY[NULL]::faregate.leg[]'),
    ('faregate.leg[]', 'all-NULL leg', 'ARRAY[row(NULL, NULL, NULL)]::faregate.leg[]'),
    ('faregate.leg[]', '2-D', $$ARRAY[[row('T1', 'T2', '2026-03-23 10:00+01')::faregate.leg]]$$),
    ('faregate.leg[]', 'lower bound 5', $$'[5:5]={"(T1,T2,\"2026-03-23 10:00+01\")"}'::faregate.leg[]$$),
    ('faregate.leg[]', 'infinite times', $$ARRAY[row('T1', 'T2', '-infinity'), row('T1', 'T2', 'infinity')]::faregate.leg[]$$),
    ('faregate.leg[]', 'year 294276', $$ARRAY[row('T1', 'T2', '294276-12-31 23:00+00'), row('T2', 'T3', '294276-12-31 23:30+00')]::faregate.leg[]$$),
    ('faregate.leg[]', '4713 BC', $$ARRAY[row('T1', 'T2', '4713-01-01 00:00+00 BC'), row('T1', 'T2', '4713-01-01 01:00+00 BC')]::faregate.leg[]$$),
    ('faregate.leg[]', 'empty zones', $$ARRAY[row('', '', '2026-03-23 10:00+01')]::faregate.leg[]$$),
    ('faregate.leg[]', '1 MB zone', $$ARRAY[row(repeat('x', 1048576), 'T2', '2026-03-23 10:00+01')]::faregate.leg[]$$),
    ('faregate.leg[]', '20000 taps', $$(SELECT array_agg(row('T1', 'T2', '2026-03-23 05:00+01'::timestamptz + g * interval '1 min')::faregate.leg ORDER BY g) FROM generate_series(1, 20000) g)$$),
    ('cstring', 'NULL', 'NULL'), ('cstring', 'empty', $$''$$), ('cstring', '1 MB', $$repeat('v', 1048576)$$),
    ('cstring', 'truncated', $$'v1;n=1;zero=0;min=1;max=1;pos=0:'$$),
    ('faregate.sketch', 'NULL', 'NULL'), ('faregate.sketch', 'empty', $$'v1;n=0;zero=0;min=0;max=0;pos=;neg='$$),
    ('faregate.sketch', 'extremes', $$'v1;n=2;zero=0;min=-1.7976931348623157e+308;max=1.7976931348623157e+308;pos=35489:1;neg=35489:1'$$),
    ('faregate.sketch', 'subnormal min', $$'v1;n=2;zero=1;min=4.9406564584124654e-324;max=1e+308;pos=35459:1;neg='$$),
    ('faregate.sketch', 'huge count', $$'v1;n=9223372036854775807;zero=9223372036854775807;min=0;max=0;pos=;neg='$$),
    ('faregate.gtfs_leg[]', 'NULL', 'NULL'), ('faregate.gtfs_leg[]', 'empty', $$'{}'$$),
    ('faregate.gtfs_leg[]', 'NULL element', 'ARRAY[NULL]::faregate.gtfs_leg[]'),
    ('faregate.gtfs_leg[]', 'all-NULL leg', 'ARRAY[row(NULL, NULL, NULL, NULL, NULL)]::faregate.gtfs_leg[]'),
    ('faregate.gtfs_leg[]', 'NULL arrival', $$ARRAY[row('s1', 's2', 'r1', '2025-03-03 10:00+01', NULL)]::faregate.gtfs_leg[]$$),
    ('faregate.gtfs_leg[]', '2-D', $$ARRAY[pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01')]$$),
    ('faregate.gtfs_leg[]', 'lower bound 5', $$'[5:5]={"(s1,s2,r1,\"2025-03-03 10:00+01\",\"2025-03-03 10:10+01\")"}'::faregate.gtfs_leg[]$$),
    ('faregate.gtfs_leg[]', 'infinite times', $$ARRAY[row('s1', 's2', 'r1', '-infinity', 'infinity')]::faregate.gtfs_leg[]$$),
    ('faregate.gtfs_leg[]', 'year 294276', $$ARRAY[row('s1', 's2', 'r1', '294276-12-31 23:00+00', '294276-12-31 23:30+00'), row('s2', 's1', 'r1', '294276-12-31 23:40+00', '294276-12-31 23:50+00')]::faregate.gtfs_leg[]$$),
    ('faregate.gtfs_leg[]', '4713 BC', $$ARRAY[row('s1', 's2', 'r1', '4713-01-01 00:00+00 BC', '4713-01-01 00:10+00 BC'), row('s2', 's1', 'r1', '4713-01-01 00:20+00 BC', '4713-01-01 00:30+00 BC')]::faregate.gtfs_leg[]$$),
    ('faregate.gtfs_leg[]', 'arrival before departure', $$pg_temp.legs('s1|s2|r1|2025-03-03 10:10+01|2025-03-03 10:00+01')$$),
    ('faregate.gtfs_leg[]', 'out of order', $$pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01', 's2|s1|r1|2025-03-03 09:00+01|2025-03-03 09:10+01')$$),
    ('faregate.gtfs_leg[]', 'a year long', $$pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2026-03-03 10:00+01')$$),
    ('faregate.gtfs_leg[]', 'unknown stop', $$pg_temp.legs('s9|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01')$$),
    ('faregate.gtfs_leg[]', 'unknown route', $$pg_temp.legs('s1|s2|r9|2025-03-03 10:00+01|2025-03-03 10:10+01')$$),
    ('faregate.gtfs_leg[]', 'empty ids', $$pg_temp.legs('||r1|2025-03-03 10:00+01|2025-03-03 10:10+01')$$),
    ('faregate.gtfs_leg[]', '1 MB stop id', $$ARRAY[row(repeat('x', 1048576), 's2', 'r1', '2025-03-03 10:00+01', '2025-03-03 10:10+01')]::faregate.gtfs_leg[]$$),
    ('faregate.gtfs_leg[]', '20000 legs', $$(SELECT array_agg(row('s1', 's2', 'r1', '2025-03-03 05:00+01'::timestamptz + g * interval '1 min', '2025-03-03 05:00:30+01'::timestamptz + g * interval '1 min')::faregate.gtfs_leg ORDER BY g) FROM generate_series(1, 20000) g)$$),
    ('faregate.gtfs_leg[]', '1000 legs', $$(SELECT array_agg(row('s1', 's2', 'r1', '2025-03-03 05:00+01'::timestamptz + g * interval '1 min', '2025-03-03 05:00:30+01'::timestamptz + g * interval '1 min')::faregate.gtfs_leg ORDER BY g) FROM generate_series(1, 1000) g)$$);

CREATE TEMP TABLE sweep (fn text, arg int, label text, sqlstate text, message text, hint text);
DO $sweep$
DECLARE
    f record;
    h record;
    args text[];
    call text;
    state text;
    msg text;
    hint text;
    n int;
BEGIN
    FOR f IN
        SELECT p.oid, p.proname, p.prokind, p.pronargs,
               coalesce(p.proargnames, '{}') AS names, p.proargtypes::regtype[] AS types
          FROM pg_proc p
         WHERE p.pronamespace = 'faregate'::regnamespace
           AND p.prorettype <> 'trigger'::regtype
           AND NOT ('internal'::regtype = ANY (p.proargtypes::regtype[]))  -- not callable from SQL
           AND p.proname <> 'queue_purge'              -- commits: not callable inside this test
           AND p.proname !~ '^_'                       -- internal helpers: owner only (30_privileges.sql)
         ORDER BY p.proname
    LOOP
        -- every argument position (0 = the call with ordinary arguments only), each hostile value
        FOR n IN 0 .. f.pronargs LOOP
            FOR h IN SELECT * FROM hostile_values
                      WHERE n > 0 AND typ = f.types[n - 1]
                     UNION ALL SELECT NULL, 'ordinary', NULL WHERE n = 0
            LOOP
                args := ARRAY(
                    SELECT CASE WHEN i = n THEN h.expr
                                ELSE coalesce((SELECT b.expr FROM base_values b
                                                WHERE b.typ = f.types[i - 1] AND b.argname = f.names[i]),
                                              (SELECT b.expr FROM base_values b
                                                WHERE b.typ = f.types[i - 1] AND b.argname IS NULL))
                           END || '::' || f.types[i - 1]::text
                      FROM generate_series(1, f.pronargs) i ORDER BY i);
                IF f.prokind = 'a' THEN
                    call := format('SELECT faregate.%I(x) FROM (VALUES (%s), (%s)) v(x)', f.proname, args[1], args[1]);
                ELSIF f.prokind = 'p' THEN
                    call := format('CALL faregate.%I(%s)', f.proname, array_to_string(args, ', '));
                ELSE
                    call := format('SELECT * FROM faregate.%I(%s)', f.proname, array_to_string(args, ', '));
                END IF;
                BEGIN
                    EXECUTE call;
                    state := 'ok';
                    msg := NULL;
                    hint := NULL;
                    -- what loads or drops a feed is undone, so that feed g stays for the calls after it
                    IF f.proname IN ('gtfs_drop_feed', 'gtfs_import') THEN
                        RAISE SQLSTATE 'FGZZZ';
                    END IF;
                EXCEPTION WHEN SQLSTATE 'FGZZZ' THEN
                    NULL;
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
                END;
                INSERT INTO sweep VALUES (f.proname, n, coalesce(h.label, 'ordinary'), state, left(msg, 200), hint);
            END LOOP;
        END LOOP;
    END LOOP;
END
$sweep$;

SELECT cmp_ok((SELECT count(*)::int FROM sweep), '>=', 400, 'the sweep made its calls (404 at the time of writing)');
SELECT is((SELECT array_agg(DISTINCT fn ORDER BY fn) FROM sweep),
    ARRAY['call_next', 'cancel', 'charge_taps', 'enqueue', 'estimated_wait', 'fare', 'fare_cache_stats',
          'fare_quote', 'finish', 'gtfs_charge_taps', 'gtfs_drop_feed', 'gtfs_export_queries', 'gtfs_import',
          'gtfs_journey_fare', 'gtfs_journey_options', 'gtfs_price_journey',
          'journey_fare', 'mark_no_show', 'quantile', 'queue_eta', 'queue_position',
          'queue_rollup_hourly', 'queue_stats', 'sketch_agg', 'sketch_count', 'sketch_in', 'sketch_merge',
          'sketch_out', 'sketch_send', 'start_service',
          'version']::name[]::text[],
    'the sweep covered every function callable from SQL');
SELECT is((SELECT array_agg(format('%s arg %s %s: %s %s', fn, arg, label, sqlstate, message) ORDER BY fn, arg, label)
             FROM sweep WHERE sqlstate LIKE 'XX%' OR sqlstate IN ('P0001', '42883', '42804', '42P18', '0A000')),
    NULL, 'no internal error (class XX), no unlabelled RAISE, no call the sweep itself got wrong');
SELECT is((SELECT array_agg(DISTINCT sqlstate ORDER BY sqlstate) FROM sweep
            WHERE sqlstate NOT IN ('ok', '22004', '22008', '22003', '22023', '22P02', '2202E', '54000')
              AND sqlstate !~ '^F[GQ][01]\d\d$'),
    NULL, 'every error is one of the documented SQLSTATEs (22004, 22008, 22003, 22023, 22P02, 2202E, FGnnn, FQnnn)');
SELECT is((SELECT array_agg(format('%s arg %s %s: %s %s', fn, arg, label, sqlstate, message) ORDER BY fn, arg, label)
             FROM sweep WHERE fn ~ '^gtfs_' AND sqlstate <> 'ok' AND coalesce(hint, '') = ''),
    NULL, 'every error of a gtfs_ function has a hint that says what to do');
SELECT is((SELECT array_agg(format('%s arg %s %s', fn, arg, label) ORDER BY fn, arg)
             FROM sweep WHERE label = 'ordinary' AND sqlstate <> 'ok'
              AND fn NOT IN ('start_service', 'finish', 'mark_no_show')  -- these depend on the entry's status
              AND fn <> 'gtfs_import'),  -- imports what is staged: nothing here, so FG101 (agency.txt missing)
    NULL, 'every function works with ordinary arguments');
SELECT is((SELECT array_agg(format('%s arg %s %s: %s', fn, arg, label, sqlstate) ORDER BY fn, arg)
             FROM sweep WHERE label = 'NULL' AND sqlstate NOT IN ('ok', '22004')
              AND NOT (fn = 'queue_rollup_hourly' AND sqlstate = '22023')),
    NULL, 'a NULL argument is a NULL result (STRICT) or 22004 (22023 for a maintenance procedure), nothing else');
SELECT is((SELECT array_agg(format('%s arg %s: %s', fn, arg, sqlstate) ORDER BY fn, arg)
             FROM sweep WHERE label = 'injection' AND sqlstate NOT IN ('FG002', 'FG003', 'FG101', 'FG102', 'FG105', 'ok')),
    NULL, 'an injection attempt in a text argument is an unknown zone, category, GTFS feed, rider category or fare media, or plain data');
SELECT has_table('faregate', 'zones', 'the zones table survived the sweep');

-- ---------------------------------------------------------------------------------------------------
-- Explicit expectations: fares
-- ---------------------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT faregate.fare(NULL, 'T2')$$, '22004', 'argument from_zone of faregate.fare must not be null',
    'fare: NULL from_zone is 22004');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', NULL)$$, '22004', NULL, 'fare: NULL at is 22004');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', now(), NULL)$$, '22004', NULL, 'fare: NULL category is 22004');
SELECT throws_ok($$SELECT faregate.fare('', 'T2')$$, 'FG002', 'unknown fare zone ""', 'fare: empty zone is FG002');
SELECT throws_ok($$SELECT faregate.fare(repeat('x', 1048576), 'T2')$$, 'FG002', NULL, 'fare: 1 MB zone name is FG002');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', now(), repeat('c', 1048576))$$, 'FG003', NULL,
    'fare: 1 MB category is FG003');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', 'infinity')$$, '22008', NULL, 'fare: at infinity is 22008');
SELECT throws_ok($$SELECT faregate.fare('T1', 'T2', '-infinity')$$, '22008', NULL, 'fare: at -infinity is 22008');
SELECT is(faregate.fare('T1', 'T2', '294276-12-31 23:59:59+00'), 2.70, 'fare: the last representable moment prices');
SELECT is(faregate.fare('T1', 'T2', '4714-11-24 00:00:00+00 BC'), 2.50, 'fare: the first representable moment prices');
SELECT throws_ok($$SELECT * FROM faregate.fare_quote('T1', 'T2', 'infinity')$$, '22008', NULL,
    'fare_quote: at infinity is 22008');
SELECT throws_ok($$SELECT * FROM faregate.fare_quote(NULL, NULL, NULL, NULL)$$, '22004', NULL,
    'fare_quote: all NULL is 22004');
SELECT throws_ok($$SELECT faregate.journey_fare(NULL)$$, '22004', NULL, 'journey_fare: NULL legs is 22004');
SELECT throws_ok($$SELECT faregate.journey_fare('{}')$$, 'FG009', NULL, 'journey_fare: no legs is FG009');
SELECT throws_ok($$SELECT faregate.journey_fare(ARRAY[NULL]::faregate.leg[])$$, 'FG006', NULL,
    'journey_fare: NULL leg is FG006');
SELECT throws_ok($$SELECT faregate.journey_fare(ARRAY[row(NULL, NULL, NULL)]::faregate.leg[])$$, 'FG006', NULL,
    'journey_fare: all-NULL leg is FG006');
SELECT throws_ok($$SELECT faregate.journey_fare(ARRAY[[row('T1', 'T2', now())::faregate.leg]])$$, '2202E', NULL,
    'journey_fare: a 2-D array is 2202E');
SELECT is(faregate.journey_fare('[5:5]={"(T1,T2,\"2026-03-23 10:00+01\")"}'::faregate.leg[]), 2.50,
    'journey_fare: an array with lower bound 5 prices');
SELECT throws_ok($$SELECT faregate.journey_fare(ARRAY[row('T1', 'T2', '-infinity'), row('T1', 'T2', 'infinity')]::faregate.leg[])$$,
    '22008', NULL, 'journey_fare: infinite boarding times are 22008');
SELECT is(faregate.journey_fare(ARRAY[row('T1', 'T2', '294276-12-31 23:00+00'), row('T2', 'T3', '294276-12-31 23:30+00')]::faregate.leg[]),
    2.70, 'journey_fare: a transfer in year 294276');
SELECT throws_ok($$SELECT faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01'), '')$$, 'FG003', NULL,
    'journey_fare: empty category is FG003');
SELECT is((SELECT count(*)::int FROM faregate.charge_taps('{}')), 0, 'charge_taps: no taps, no rows');
SELECT throws_ok($$SELECT * FROM faregate.charge_taps(NULL)$$, '22004', NULL, 'charge_taps: NULL taps is 22004');
SELECT throws_ok($$SELECT * FROM faregate.charge_taps(ARRAY[NULL]::faregate.leg[])$$, 'FG006', NULL,
    'charge_taps: NULL tap is FG006');
SELECT throws_ok($$SELECT * FROM faregate.charge_taps(ARRAY[row('T1', 'T2', 'infinity')]::faregate.leg[])$$, '22008',
    NULL, 'charge_taps: infinite tap time is 22008');
SELECT is((SELECT array_agg(charged ORDER BY tap_no) FROM faregate.charge_taps(
              ARRAY[row('T1', 'T2', '294276-12-31 23:00+00'), row('T1', 'T2', '294276-12-31 23:30+00')]::faregate.leg[])),
    ARRAY[2.70, 0.00], 'charge_taps: caps and transfers at the end of time');
SELECT is((SELECT array_agg(charged ORDER BY tap_no) FROM faregate.charge_taps(
              ARRAY[row('T1', 'T2', '4713-01-01 00:00+00 BC'), row('T1', 'T2', '4713-01-01 01:00+00 BC')]::faregate.leg[])),
    ARRAY[2.50, 0.00], 'charge_taps: a transfer at exactly "within" at the beginning of time');
SELECT is((SELECT sum(charged) FROM faregate.charge_taps((SELECT array_agg(row('T1', 'T2',
              '2026-03-23 05:00+01'::timestamptz + g * interval '1 min')::faregate.leg ORDER BY g)
              FROM generate_series(1, 100000) g))), 200.00,
    'charge_taps: 100,000 taps, one a minute over ten service weeks, are capped at 10 x 20.00');
SELECT lives_ok($$SELECT * FROM faregate.fare_cache_stats()$$, 'fare_cache_stats after all that');

-- ---------------------------------------------------------------------------------------------------
-- Explicit expectations: GTFS (feed g of fixtures/40_gtfs_lib.psql: p1 = 2.50 CHF on network n1)
-- ---------------------------------------------------------------------------------------------------
SELECT is(faregate.gtfs_journey_fare('g', pg_temp.legs('s1|s2|r1|294276-12-31 23:00+00|294276-12-31 23:30+00')), 2.50,
    'gtfs_journey_fare: a leg at the end of time prices (its local date is past the range, the fare is not)');
SELECT is(faregate.gtfs_journey_fare('g', pg_temp.legs('s1|s2|r1|4713-01-01 00:00+00 BC|4713-01-01 00:10+00 BC')), 2.50,
    'gtfs_journey_fare: a leg at the beginning of time prices');
SELECT throws_ok($$SELECT * FROM faregate.gtfs_charge_taps('g', pg_temp.legs('s1|s2|r1|294276-12-31 23:00+00|294276-12-31 23:30+00'))$$,
    '22008', NULL, 'gtfs_charge_taps: a service day past the end of time is 22008 (with a hint: the sweep)');
SELECT is(faregate.gtfs_journey_fare('g', (SELECT array_agg(row('s1', 's2', 'r1', '2025-03-03 05:00+01'::timestamptz + g * interval '1 min',
              '2025-03-03 05:00:30+01'::timestamptz + g * interval '1 min')::faregate.gtfs_leg ORDER BY g) FROM generate_series(1, 1000) g)),
    2500.00, 'gtfs_journey_fare: 1,000 legs (the most a journey may have), no transfer rules: 1,000 x 2.50');
SELECT throws_ok($$SELECT faregate.gtfs_journey_fare('g', (SELECT array_agg(row('s1', 's2', 'r1', '2025-03-03 05:00+01'::timestamptz + g * interval '1 min',
              '2025-03-03 05:00:30+01'::timestamptz + g * interval '1 min')::faregate.gtfs_leg) FROM generate_series(1, 1001) g))$$,
    'FG104', 'a journey of 1001 legs is more than the 1000 this function prices', 'gtfs_journey_fare: 1,001 legs is FG104');
SELECT throws_ok($$SELECT faregate.gtfs_import(NULL)$$, '22004', 'feed_id must not be null', 'gtfs_import: NULL feed_id is 22004');
SELECT throws_ok($$SELECT * FROM faregate.gtfs_export_queries(NULL)$$, '22004', 'feed_id must not be null',
    'gtfs_export_queries: NULL feed_id is 22004');
SELECT is(faregate.gtfs_drop_feed(NULL), NULL, 'gtfs_drop_feed: NULL in, NULL out (STRICT)');
SELECT is((SELECT count(*)::int FROM faregate.gtfs_feeds WHERE feed_id = 'g'), 1, 'feed g survived the sweep''s drops and imports');

-- ---------------------------------------------------------------------------------------------------
-- Explicit expectations: queues
-- ---------------------------------------------------------------------------------------------------
SELECT is(faregate.queue_position(NULL), NULL, 'queue_position: NULL in, NULL out (STRICT)');
SELECT throws_ok($$SELECT faregate.queue_position(-1)$$, 'FQ002', NULL, 'queue_position: unknown entry is FQ002');
SELECT throws_ok($$SELECT faregate.queue_position(9223372036854775807)$$, 'FQ002', NULL,
    'queue_position: max bigint is FQ002');
SELECT throws_ok($$SELECT faregate.estimated_wait(-1)$$, 'FQ002', NULL, 'estimated_wait: unknown entry is FQ002');
SELECT throws_ok($$SELECT faregate.queue_eta(-1)$$, 'FQ001', NULL, 'queue_eta: unknown queue is FQ001');
SELECT throws_ok($$SELECT * FROM faregate.queue_stats(-1)$$, 'FQ001', NULL, 'queue_stats: unknown queue is FQ001');
SELECT throws_ok(format($$SELECT * FROM faregate.queue_stats(%s, 'infinity')$$, :q), '22008', NULL,
    'queue_stats: since infinity is 22008');
SELECT throws_ok(format($$SELECT * FROM faregate.queue_stats(%s, '-infinity')$$, :q), '22008', NULL,
    'queue_stats: since -infinity is 22008');
SELECT is((SELECT waiting FROM faregate.queue_stats(:q, '294276-12-31 23:00+00')),
    (SELECT count(*)::int FROM faregate.queue_entries WHERE queue_id = :q AND status = 'waiting'),
    'queue_stats: since the end of time counts the waiting');
SELECT is((SELECT served FROM faregate.queue_stats(:q, '4713-01-01 00:00+00 BC')), 0::bigint,
    'queue_stats: since the beginning of time');
SELECT throws_ok($$SELECT faregate.enqueue(NULL)$$, '22004', NULL, 'enqueue: NULL queue is 22004');
SELECT throws_ok(format('SELECT faregate.enqueue(%s, NULL, NULL)', :q), '22004', NULL, 'enqueue: NULL at is 22004');
SELECT throws_ok($$SELECT faregate.enqueue(-1)$$, 'FQ001', NULL, 'enqueue: unknown queue is FQ001');
SELECT throws_ok(format($$SELECT faregate.enqueue(%s, repeat('x', 1048576))$$, :q), '22023',
    'payload string too long', 'enqueue: a 1 MB ticket does not fit a NOTIFY payload: 22023');
SET LOCAL faregate.queue_notify = off;
SELECT ok(faregate.enqueue(:q, repeat('x', 1048576)) > 0, 'enqueue: a 1 MB ticket without NOTIFY is stored');
SELECT ok(faregate.enqueue(:q, '', '-infinity') > 0, 'enqueue: joined at -infinity is stored');
SELECT isnt(faregate.queue_eta(:q), NULL, 'queue_eta with an entry joined at -infinity');
SELECT throws_ok($$SELECT faregate.call_next(NULL)$$, '22004', NULL, 'call_next: NULL queue is 22004');
SELECT throws_ok($$SELECT faregate.cancel(NULL)$$, '22004', NULL, 'cancel: NULL entry is 22004');
SELECT throws_ok(format('SELECT faregate.cancel(%s, NULL)', :e1), '22004', NULL, 'cancel: NULL at is 22004');
SELECT throws_ok($$SELECT faregate.finish(-1)$$, 'FQ002', NULL, 'finish: unknown entry is FQ002');
RESET faregate.queue_notify;

-- ---------------------------------------------------------------------------------------------------
-- Explicit expectations: the sketch
-- ---------------------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT ''::faregate.sketch$$, '22P02', NULL, 'sketch_in: empty text is 22P02');
SELECT throws_ok($$SELECT repeat('x', 1048576)::faregate.sketch$$, '22P02', NULL, 'sketch_in: 1 MB of junk is 22P02');
SELECT throws_ok($$SELECT ('v1;n=1;zero=0;min=1;max=1;pos=0:' || repeat('0,', 40000) || '1;neg=')::faregate.sketch$$,
    '22P02', NULL, 'sketch_in: too many buckets is 22P02');
SELECT throws_ok($$SELECT 'v1;n=1;zero=0;min=1;max=1;pos=0:99999999999999999999;neg='::faregate.sketch$$, '22P02', NULL,
    'sketch_in: a count beyond int64 is 22P02');
SELECT throws_ok($$SELECT 'v1;n=1;zero=0;min=1;max=1;pos=99999:1;neg='::faregate.sketch$$, '22P02', NULL,
    'sketch_in: a bucket index out of range is 22P02');
SELECT throws_ok($$SELECT 'v1;n=2;zero=0;min=1;max=1;pos=0:1;neg='::faregate.sketch$$, '22P02', NULL,
    'sketch_in: counts that do not add up are 22P02');
SELECT throws_ok($$SELECT 'v1;n=1;zero=0;min=NaN;max=1;pos=0:1;neg='::faregate.sketch$$, '22P02', NULL,
    'sketch_in: a NaN min is 22P02');
SELECT throws_ok($$SELECT 'v1;n=1;zero=1;min=1e-400;max=0;pos=;neg='::faregate.sketch$$, '22P02', NULL,
    'sketch_in: a min that underflows to 0 is 22P02');
SELECT is((SELECT faregate.sketch_agg(x)::text::faregate.sketch::text = faregate.sketch_agg(x)::text
             FROM (VALUES (4.9e-324::float8), (1e308), ('-0'::float8), (-1.7976931348623157e308)) v(x)),
    true, 'a sketch of subnormal, huge and -0.0 values reads back from its text form');
SELECT is((SELECT array_agg(faregate.quantile(s, q) ORDER BY q)
             FROM (SELECT faregate.sketch_agg(x) s FROM (VALUES (1e308::float8), (-1.7976931348623157e308), ('-0'::float8)) v(x)) a,
                  (VALUES (0.0::float8), (0.5), (1.0)) w(q)),
    ARRAY[-1.7976931348623157e308, 0, 1e308]::float8[], 'quantiles at the ends of the double range are exact');
SELECT throws_ok($$SELECT faregate.sketch_agg(x) FROM (VALUES ('NaN'::float8)) v(x)$$, '22003', NULL,
    'sketch_agg: NaN is 22003');
SELECT throws_ok($$SELECT faregate.quantile('v1;n=1;zero=1;min=0;max=0;pos=;neg=', 'NaN')$$, '22003', NULL,
    'quantile: q NaN is 22003');
SELECT throws_ok($$SELECT faregate.quantile('v1;n=1;zero=1;min=0;max=0;pos=;neg=', 1.0000001)$$, '22003', NULL,
    'quantile: q above 1 is 22003');
SELECT is(faregate.quantile('v1;n=0;zero=0;min=0;max=0;pos=;neg=', 0.5), NULL, 'quantile of an empty sketch is NULL');
SELECT throws_ok($$SELECT faregate.sketch_merge(s) FROM (VALUES
        ('v1;n=9223372036854775807;zero=9223372036854775807;min=0;max=0;pos=;neg='::faregate.sketch),
        ('v1;n=1;zero=1;min=0;max=0;pos=;neg=')) v(s)$$, '22003', NULL, 'sketch_merge: a count overflow is 22003');

-- binary input (sketch_recv) through COPY FORMAT binary: the file is written by the server itself
CREATE TEMP TABLE sketch_binary (s faregate.sketch);
-- pg_temp.sketch_copy_file(payload): a one-row, one-column binary COPY file around payload
CREATE FUNCTION pg_temp.sketch_copy_file(payload bytea) RETURNS bytea LANGUAGE sql AS $$
    SELECT '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0) || int2send(1::int2)
           || int4send(length(payload)) || payload || int2send((-1)::int2)
$$;
-- pg_temp.sketch_copy(payload): COPY payload into sketch_binary through the binary input function
CREATE FUNCTION pg_temp.sketch_copy(payload bytea) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo oid := lo_from_bytea(0, pg_temp.sketch_copy_file(payload));
    -- relative: in the server's data directory, which goes away with the test cluster
    path text := format('faregate-31-robustness-%s.bin', pg_backend_pid());
BEGIN
    PERFORM lo_export(lo, path);
    PERFORM lo_unlink(lo);
    EXECUTE format('COPY sketch_binary FROM %L (FORMAT binary)', path);
END $$;
SELECT lives_ok($$SELECT pg_temp.sketch_copy(faregate.sketch_send('v1;n=2;zero=1;min=0;max=2;pos=35:1;neg='))$$,
    'sketch_recv reads what sketch_send wrote');
SELECT is((SELECT s::text FROM sketch_binary), 'v1;n=2;zero=1;min=0;max=2;pos=35:1;neg=', 'and it is the same sketch');
SELECT throws_ok($$SELECT pg_temp.sketch_copy(int4send(1) || int8send(1) || int8send(0) || float8send(1) || float8send(1)
                                               || int4send(2147483647) || int4send(2) || int4send(0) || int4send(0)
                                               || int8send(0) || int8send(1))$$,
    '22P03', NULL, 'sketch_recv: a bucket range that wraps around int32 is 22P03');
SELECT throws_ok($$SELECT pg_temp.sketch_copy(int4send(1) || int8send(1) || int8send(0) || float8send(1) || float8send(1)
                                               || int4send(0) || int4send(1000000) || int4send(0) || int4send(0))$$,
    '22P03', NULL, 'sketch_recv: more buckets than bytes is 22P03');
SELECT throws_ok($$SELECT pg_temp.sketch_copy(int4send(1) || int8send(1))$$, '08P01', NULL,
    'sketch_recv: a truncated message is 08P01 (insufficient data)');
SELECT throws_ok($$SELECT pg_temp.sketch_copy(int4send(7) || int8send(0) || int8send(0) || float8send(0) || float8send(0)
                                               || int4send(0) || int4send(0) || int4send(0) || int4send(0))$$,
    '22P03', NULL, 'sketch_recv: an unknown version is 22P03');

SELECT * FROM finish();
ROLLBACK;
