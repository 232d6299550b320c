-- workload.sql: a short run of every C function of the faregate extension, for test/valgrind/run.sh
-- (a server whose every process runs under valgrind). Pricing (fare, fare_quote, journey_fare,
-- charge_taps, fare_cache_stats), cache invalidation from a second session (dblink) and from this one,
-- queue statistics (queue_position, estimated_wait, queue_eta, queue_stats, also from the hourly
-- rollup), the sketch (text and binary in/out, sketch_agg and sketch_merge serially and in parallel
-- workers, so serialize/deserialize/combine run too, quantile, sketch_count), and the error paths.
-- Every expected error goes through pg_temp.expect_error, which fails the run on a missing error or a
-- wrong SQLSTATE; the last line printed is "faregate valgrind workload complete".
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS faregate CASCADE;
CREATE EXTENSION IF NOT EXISTS dblink;

-- expect_error(sql, sqlstate): runs sql, which must fail with sqlstate
CREATE FUNCTION pg_temp.expect_error(sql text, want text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    got text;
BEGIN
    BEGIN
        EXECUTE sql;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS got = RETURNED_SQLSTATE;
        IF got <> want THEN
            RAISE EXCEPTION 'workload: % failed with % instead of %', sql, got, want;
        END IF;
        RETURN;
    END;
    RAISE EXCEPTION 'workload: % did not fail (wanted %)', sql, want;
END $$;

-- ---------------------------------------------------------------------------------------------------
-- Fares
-- ---------------------------------------------------------------------------------------------------
SET faregate.timezone = 'Europe/Berlin';
INSERT INTO faregate.zones VALUES ('V1', 'one'), ('V2', 'two'), ('V3', 'three');
INSERT INTO faregate.rider_categories VALUES ('vchild', 'child');
INSERT INTO faregate.timeframes VALUES ('vpeak', '{1,2,3,4,5}', '07:00', '09:30'), ('vpeak', '{1,2,3,4,5}', '16:00', '18:30');
INSERT INTO faregate.fare_rules (from_zone, to_zone, category, timeframe, valid, amount, currency, priority) VALUES
    ('V1', 'V2', 'adult', NULL, '(,2026-04-01)', 2.50, 'EUR', 0),
    ('V1', 'V2', 'adult', NULL, '[2026-04-01,)', 2.70, 'EUR', 0),
    ('V1', 'V2', 'adult', 'vpeak', '(,)', 3.20, 'EUR', 0),
    ('V2', 'V3', 'adult', NULL, '(,)', 1.80, 'EUR', 0),
    ('V1', 'V3', 'adult', NULL, '(,)', 3.50, 'EUR', 0),
    ('V3', 'V3', 'adult', NULL, '(,)', 1.00, 'CHF', 0),
    ('V1', 'V2', 'vchild', NULL, '(,)', 1.20, 'EUR', 0);
INSERT INTO faregate.transfer_rules VALUES ('adult', 2, '60 min', 0.00), ('vchild', 1, '30 min', 0.20);
INSERT INTO faregate.fare_caps VALUES ('adult', 'day', 6.00, '04:30'), ('adult', 'week', 20.00, '04:30');

SELECT faregate.fare('V1', 'V2', '2026-03-23 10:00+01') AS off_peak,
       faregate.fare('V1', 'V2', '2026-03-23 08:00+01') AS peak,
       faregate.fare('V1', 'V2', '2026-04-02 10:00+02') AS after_change,
       faregate.fare('V1', 'V2', '2026-03-23 10:00+01', 'vchild') AS child;
SELECT * FROM faregate.fare_quote('V1', 'V2', '2026-03-23 08:00+01');
SELECT faregate.journey_fare(ARRAY[row('V1', 'V2', '2026-03-23 10:00+01'), row('V2', 'V3', '2026-03-23 10:30+01'),
                                   row('V1', 'V3', '2026-03-23 12:00+01')]::faregate.leg[]);
SELECT * FROM faregate.charge_taps((SELECT array_agg(row('V1', 'V2', '2026-03-23 06:00+01'::timestamptz + g * interval '50 min')::faregate.leg
                                            ORDER BY g) FROM generate_series(1, 300) g)) LIMIT 3;
-- the batch path: many riders in one query
SELECT count(*), sum(charged) FROM (
    SELECT (faregate.charge_taps(array_agg(row('V1', 'V2', t)::faregate.leg ORDER BY t))).*
      FROM (SELECT r, '2026-03-23 06:00+01'::timestamptz + (r * 7 + g * 41) * interval '1 min' AS t
              FROM generate_series(1, 200) r, generate_series(1, 12) g) taps
     GROUP BY r) charged;
SELECT * FROM faregate.fare_cache_stats();

-- invalidation: a change committed by another session (dblink: another backend, also under valgrind)
SELECT dblink_connect('other', format('host=127.0.0.1 port=%s dbname=%s user=postgres',
                                      current_setting('port'), current_database()));
SELECT dblink_exec('other', $$UPDATE faregate.fare_rules SET amount = 2.60 WHERE from_zone = 'V1' AND to_zone = 'V2'
                              AND timeframe IS NULL AND category = 'adult' AND upper(valid) = '2026-04-01'$$);
SELECT faregate.fare('V1', 'V2', '2026-03-23 10:00+01') AS after_other_session;
SELECT * FROM dblink('other', $$SELECT faregate.fare('V1', 'V2', '2026-03-23 10:00+01')$$) AS other(fare numeric);
SELECT dblink_disconnect('other');
-- and one made by this session, inside a transaction that rolls back
BEGIN;
DELETE FROM faregate.fare_caps WHERE period = 'week';
SELECT sum(charged) FROM faregate.charge_taps((SELECT array_agg(row('V1', 'V2', '2026-03-23 06:00+01'::timestamptz + g * interval '3 hours')::faregate.leg
                                                      ORDER BY g) FROM generate_series(1, 60) g));
ROLLBACK;
SELECT * FROM faregate.fare_cache_stats();

-- fare error paths
SELECT pg_temp.expect_error($$SELECT faregate.fare('V2', 'V1', '2026-03-23 10:00+01')$$, 'FG001');
SELECT pg_temp.expect_error($$SELECT faregate.fare('V1', 'nowhere')$$, 'FG002');
SELECT pg_temp.expect_error($$SELECT faregate.fare(repeat('z', 100000), 'V2')$$, 'FG002');
SELECT pg_temp.expect_error($$SELECT faregate.fare('V1', 'V2', now(), 'senior')$$, 'FG003');
SELECT pg_temp.expect_error($$SELECT faregate.journey_fare(ARRAY[row('V1', 'V2', '2026-03-23 10:00+01'), row('V3', 'V3', '2026-03-23 10:10+01')]::faregate.leg[])$$, 'FG004');
SELECT pg_temp.expect_error($$SELECT faregate.journey_fare(ARRAY[row('V1', 'V2', '2026-03-23 10:00+01'), row('V2', 'V3', '2026-03-23 09:00+01')]::faregate.leg[])$$, 'FG005');
SELECT pg_temp.expect_error($$SELECT * FROM faregate.charge_taps(ARRAY[row('V1', NULL, '2026-03-23 10:00+01'), NULL]::faregate.leg[])$$, 'FG006');
SELECT pg_temp.expect_error($$SELECT faregate.journey_fare('{}')$$, 'FG009');
SELECT pg_temp.expect_error($$SELECT faregate.journey_fare(ARRAY[[row('V1', 'V2', now())::faregate.leg]])$$, '2202E');
SELECT pg_temp.expect_error($$SELECT faregate.fare(NULL, 'V2')$$, '22004');
SELECT pg_temp.expect_error($$SELECT faregate.fare('V1', 'V2', 'infinity')$$, '22008');
SELECT pg_temp.expect_error($$INSERT INTO faregate.timeframes VALUES ('vbad', '{1}', '10:00', '09:00')$$, 'FG007');
SELECT pg_temp.expect_error($$SET faregate.timezone = 'Mars/Olympus_Mons'$$, '22023');

-- ---------------------------------------------------------------------------------------------------
-- Queues
-- ---------------------------------------------------------------------------------------------------
SET faregate.queue_notify = off;
INSERT INTO faregate.queues (name, servers) VALUES ('vg desk', 2) RETURNING queue_id AS q \gset
-- a served history in the past hours, then people waiting now
SELECT count(*) AS served_history
  FROM generate_series(1, 60) g,
       LATERAL (SELECT faregate.enqueue(:q, 'h' || g, now() - (g * interval '3 min') - interval '20 min') AS id) en,
       LATERAL (SELECT faregate.call_next(:q, now() - (g * interval '3 min')) AS id) e,
       LATERAL (SELECT faregate.start_service(e.id, now() - (g * interval '3 min') + interval '10 s')) s,
       LATERAL (SELECT faregate.finish(e.id, now() - (g * interval '3 min') + interval '2 min')) f;
SELECT faregate.enqueue(:q, 'w' || g) FROM generate_series(1, 5) g;
SELECT faregate.enqueue(:q, 'late') AS last_entry \gset
SELECT faregate.queue_position(:last_entry), faregate.estimated_wait(:last_entry), faregate.queue_eta(:q);
SELECT * FROM faregate.queue_stats(:q, now() - interval '1 day');
-- a queue with no history: the Erlang C fallback
INSERT INTO faregate.queues (name) VALUES ('vg empty') RETURNING queue_id AS q2 \gset
SELECT faregate.enqueue(:q2, 'first') AS first_entry \gset
SELECT faregate.queue_eta(:q2), faregate.estimated_wait(:first_entry);
SELECT faregate.cancel(:first_entry);
SELECT faregate.mark_no_show(faregate.call_next(:q));
-- the hourly rollup, then queue_stats reading from it
UPDATE faregate.queue_entries SET finished_at = finished_at - interval '3 hours', called_at = called_at - interval '3 hours',
       served_at = served_at - interval '3 hours', joined_at = joined_at - interval '3 hours'
 WHERE queue_id = :q AND status = 'served';
CALL faregate.queue_rollup_hourly('0');
SELECT * FROM faregate.queue_stats(:q, now() - interval '1 day');
-- queue error paths
SELECT pg_temp.expect_error('SELECT faregate.queue_position(-1)', 'FQ002');
SELECT pg_temp.expect_error('SELECT faregate.queue_eta(-1)', 'FQ001');
SELECT pg_temp.expect_error('SELECT * FROM faregate.queue_stats(-1)', 'FQ001');
SELECT pg_temp.expect_error(format($$SELECT * FROM faregate.queue_stats(%s, 'infinity')$$, :q), '22008');
SELECT pg_temp.expect_error(format('SELECT faregate.finish(%s)', :first_entry), 'FQ003');

-- ---------------------------------------------------------------------------------------------------
-- The sketch
-- ---------------------------------------------------------------------------------------------------
CREATE TEMP TABLE durations AS
    SELECT CASE WHEN g % 10 = 0 THEN 0 ELSE exp(3 * sin(g)) * (CASE WHEN g % 7 = 0 THEN -1 ELSE 1 END) END AS x
      FROM generate_series(1, 50000) g;
CREATE TABLE public.vg_durations AS SELECT * FROM durations;  -- a plain table: temp tables are never scanned in parallel
ANALYZE public.vg_durations;
SELECT faregate.sketch_count(s), faregate.quantile(s, 0.5), faregate.quantile(s, 0.99), length(s::text)
  FROM (SELECT faregate.sketch_agg(x) s FROM durations) a;
-- the same aggregate in parallel workers: serialize, deserialize, combine
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2; SET force_parallel_mode = on;
SELECT faregate.sketch_agg(x)::text = (SELECT faregate.sketch_agg(x)::text FROM durations) AS parallel_equals_serial
  FROM public.vg_durations;
SELECT faregate.quantile(faregate.sketch_merge(s), 0.9)
  FROM (SELECT faregate.sketch_agg(x) s FROM public.vg_durations GROUP BY (x * 1000)::bigint % 17) parts;
RESET force_parallel_mode; RESET max_parallel_workers_per_gather;
-- text and binary round trips
SELECT s::text::faregate.sketch::text = s::text AS text_round_trip,
       faregate.sketch_send(s) = faregate.sketch_send(s::text::faregate.sketch) AS send_stable
  FROM (SELECT faregate.sketch_agg(x) s FROM durations) a;
CREATE TEMP TABLE sketches (s faregate.sketch);
SELECT lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0) || int2send(1::int2)
       || int4send(length(faregate.sketch_send(s))) || faregate.sketch_send(s) || int2send((-1)::int2)) AS lo
  FROM (SELECT faregate.sketch_agg(x) s FROM durations) a \gset
SELECT lo_export(:lo, 'faregate-valgrind-sketch.bin');
COPY sketches FROM 'faregate-valgrind-sketch.bin' (FORMAT binary);
SELECT faregate.sketch_count(s) FROM sketches;
SELECT faregate.sketch_agg(x)::text FROM (VALUES (4.9e-324::float8), (1e308), ('-0'::float8), (-1.7976931348623157e308)) v(x);
-- sketch error paths
SELECT pg_temp.expect_error($$SELECT 'v1;n=1;zero=0;min=1;max=1;pos=0:'::faregate.sketch$$, '22P02');
SELECT pg_temp.expect_error($$SELECT repeat('v1;', 100000)::faregate.sketch$$, '22P02');
SELECT pg_temp.expect_error($$SELECT 'v1;n=2;zero=0;min=1;max=1;pos=0:1;neg='::faregate.sketch$$, '22P02');
SELECT pg_temp.expect_error($$SELECT faregate.sketch_agg(x) FROM (VALUES ('NaN'::float8)) v(x)$$, '22003');
SELECT pg_temp.expect_error($$SELECT faregate.quantile('v1;n=1;zero=1;min=0;max=0;pos=;neg=', 2)$$, '22003');
SELECT pg_temp.expect_error($$SELECT faregate.sketch_merge(s) FROM (VALUES
        ('v1;n=9223372036854775807;zero=9223372036854775807;min=0;max=0;pos=;neg='::faregate.sketch),
        ('v1;n=1;zero=1;min=0;max=0;pos=;neg=')) v(s)$$, '22003');
SELECT lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0) || int2send(1::int2)
       || int4send(68) || int4send(1) || int8send(1) || int8send(0) || float8send(1) || float8send(1)
       || int4send(2147483647) || int4send(2) || int4send(0) || int4send(0) || int8send(0) || int8send(1)
       || int2send((-1)::int2)) AS bad_lo \gset
SELECT lo_export(:bad_lo, 'faregate-valgrind-bad.bin');
SELECT pg_temp.expect_error($$COPY sketches FROM 'faregate-valgrind-bad.bin' (FORMAT binary)$$, '22P03');

DROP TABLE public.vg_durations;
SELECT 'faregate valgrind workload complete' AS result;
