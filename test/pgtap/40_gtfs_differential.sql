-- 40_gtfs_differential.sql: the C pricer (faregate.gtfs_journey_fare) against a plain PL/pgSQL reading of
-- the same rules (fixtures/40_gtfs_reference.psql) on generated feeds: random areas (stops in 0-2 areas,
-- a station with platforms), networks, timeframes on two services with calendar_dates exceptions, fare
-- leg rules with random empty fields, with and without a rule_priority column, and transfer rules with
-- random leg groups (some empty), transfer_count, duration limits of every type and every transfer type;
-- 150 random journeys of 1-3 legs per feed. The same answer (or no fare for both) on every journey.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(8);
\ir fixtures/40_gtfs_lib.psql
\ir fixtures/40_gtfs_reference.psql

-- gen_feed(feed, seed, with_priority): stages and loads one generated feed
CREATE FUNCTION pg_temp.gen_feed(feed text, seed float8, with_priority boolean) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM setseed(seed);
    PERFORM pg_temp.gtfs_file('agency', 'agency_id,agency_timezone
        ag,America/Chicago');
    PERFORM faregate._gtfs_stage('stops', string_to_array('stop_id,location_type,parent_station,stop_timezone', ','));
    INSERT INTO pg_temp.gtfs_stg_stops (stop_id, location_type, parent_station, stop_timezone)
    SELECT 's' || g, '0', CASE WHEN g IN (7, 8) THEN 'st' END, CASE WHEN g = 6 THEN 'America/Denver' END FROM generate_series(1, 8) g
    UNION ALL SELECT 'st', '1', NULL, NULL;
    PERFORM faregate._gtfs_stage('routes', string_to_array('route_id,agency_id,network_id', ','));
    INSERT INTO pg_temp.gtfs_stg_routes (route_id, agency_id, network_id)
    SELECT 'r' || g, 'ag', CASE WHEN g > 0 THEN 'N' || g END FROM generate_series(0, 3) g;
    PERFORM pg_temp.gtfs_file('areas', 'area_id
        A1
        A2
        A3
        A4');
    PERFORM faregate._gtfs_stage('stop_areas', string_to_array('area_id,stop_id', ','));
    INSERT INTO pg_temp.gtfs_stg_stop_areas (area_id, stop_id)
    SELECT DISTINCT 'A' || (1 + floor(random() * 4))::int, s FROM
        (SELECT 's' || g AS s FROM generate_series(1, 6) g, generate_series(1, 2) rep WHERE random() < 0.7
         UNION ALL SELECT 'st') x;
    PERFORM pg_temp.gtfs_file('calendar', 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
        wk,1,1,1,1,1,0,0,20250101,20251231
        all,1,1,1,1,1,1,1,20250101,20251231');
    PERFORM pg_temp.gtfs_file('calendar_dates', 'service_id,date,exception_type
        wk,20250305,2
        wk,20250308,1
        all,20250306,2');
    PERFORM pg_temp.gtfs_file('timeframes', 'timeframe_group_id,start_time,end_time,service_id
        peak,07:00:00,09:00:00,wk
        peak,16:00:00,18:00:00,wk
        late,20:00:00,24:00:00,all
        late,00:00:00,02:00:00,all');
    PERFORM faregate._gtfs_stage('fare_products', string_to_array('fare_product_id,amount,currency', ','));
    INSERT INTO pg_temp.gtfs_stg_fare_products (fare_product_id, amount, currency)
    SELECT 'p' || g, to_char(0.5 + floor(random() * 20) * 0.25, 'FM990.00'), 'USD' FROM generate_series(1, 6) g
    UNION ALL SELECT 't' || g, to_char(floor(random() * 8) * 0.25 - 0.25, 'FM990.00'), 'USD' FROM generate_series(1, 2) g;
    PERFORM faregate._gtfs_stage('fare_leg_rules', string_to_array('leg_group_id,network_id,from_area_id,to_area_id,from_timeframe_group_id,to_timeframe_group_id,fare_product_id'
                                 || CASE WHEN with_priority THEN ',rule_priority' ELSE '' END, ','));
    INSERT INTO pg_temp.gtfs_stg_fare_leg_rules (leg_group_id, network_id, from_area_id, to_area_id, from_timeframe_group_id,
                                                 to_timeframe_group_id, fare_product_id, rule_priority)
    SELECT DISTINCT ON (n, fa, ta, ft, tt, p) g, n, fa, ta, ft, tt, p, pr FROM (
        SELECT CASE WHEN random() < 0.8 THEN 'g' || (1 + floor(random() * 3))::int END AS g,
               CASE WHEN random() < 0.5 THEN 'N' || (1 + floor(random() * 3))::int END AS n,
               CASE WHEN random() < 0.5 THEN 'A' || (1 + floor(random() * 4))::int END AS fa,
               CASE WHEN random() < 0.4 THEN 'A' || (1 + floor(random() * 4))::int END AS ta,
               CASE WHEN random() < 0.2 THEN (ARRAY['peak', 'late'])[1 + floor(random() * 2)::int] END AS ft,
               CASE WHEN random() < 0.1 THEN (ARRAY['peak', 'late'])[1 + floor(random() * 2)::int] END AS tt,
               'p' || (1 + floor(random() * 6))::int AS p,
               CASE WHEN with_priority AND random() < 0.5 THEN floor(random() * 3)::int::text END AS pr
          FROM generate_series(1, 18)) r;
    -- a catch-all rule so that most legs have a fare
    INSERT INTO pg_temp.gtfs_stg_fare_leg_rules (leg_group_id, fare_product_id)
    SELECT 'g1', 'p6' WHERE NOT EXISTS (SELECT 1 FROM pg_temp.gtfs_stg_fare_leg_rules
        WHERE num_nulls(network_id, from_area_id, to_area_id, from_timeframe_group_id, to_timeframe_group_id) = 5 AND fare_product_id = 'p6');
    PERFORM faregate._gtfs_stage('fare_transfer_rules', string_to_array('from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,duration_limit_type,fare_transfer_type,fare_product_id', ','));
    INSERT INTO pg_temp.gtfs_stg_fare_transfer_rules (from_leg_group_id, to_leg_group_id, transfer_count, duration_limit,
                                                     duration_limit_type, fare_transfer_type, fare_product_id)
    SELECT DISTINCT ON (f, t, p, c, d) f, t, c, d, dt, tt, p FROM (
        SELECT f, t, CASE WHEN f = t THEN (ARRAY['-1', '1', '2'])[1 + floor(random() * 3)::int] END AS c, d,
               CASE WHEN d IS NOT NULL THEN floor(random() * 4)::int::text END AS dt, floor(random() * 3)::int::text AS tt, p
          FROM (SELECT CASE WHEN random() < 0.85 THEN 'g' || (1 + floor(random() * 3))::int END AS f,
                       CASE WHEN random() < 0.85 THEN 'g' || (1 + floor(random() * 3))::int END AS t,
                       CASE WHEN random() < 0.6 THEN (ARRAY['1200', '2400', '3600'])[1 + floor(random() * 3)::int] END AS d,
                       CASE WHEN random() < 0.6 THEN 't' || (1 + floor(random() * 2))::int END AS p
                  FROM generate_series(1, 8)) x) y;
    RETURN faregate.gtfs_import(feed);
END $$;

-- journeys(seed): 150 random journeys of 1-3 legs on days around 2025-03-05
CREATE FUNCTION pg_temp.journeys(seed float8) RETURNS TABLE (j int, legs faregate.gtfs_leg[]) LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz;
    a faregate.gtfs_leg[];
BEGIN
    PERFORM setseed(seed);
    FOR j IN 1 .. 150 LOOP
        t := '2025-03-03 00:00-06'::timestamptz + floor(random() * 6 * 96) * interval '15 min';
        a := '{}';
        FOR i IN 1 .. 1 + floor(random() * 3)::int LOOP
            a := a || row('s' || (1 + floor(random() * 8))::int, 's' || (1 + floor(random() * 8))::int,
                          'r' || floor(random() * 4)::int, t, t + (5 + floor(random() * 40)) * interval '1 min')::faregate.gtfs_leg;
            t := t + (10 + floor(random() * 70)) * interval '1 min';
        END LOOP;
        legs := a;
        RETURN NEXT;
    END LOOP;
END $$;

-- c_fare: the C pricer's total, NULL when no fare applies to a leg (FG103)
CREATE FUNCTION pg_temp.c_fare(feed text, legs faregate.gtfs_leg[]) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
    RETURN faregate.gtfs_journey_fare(feed, legs);
EXCEPTION WHEN SQLSTATE 'FG103' THEN
    RETURN NULL;
END $$;

CREATE TEMP TABLE diff (feed text, j int, legs faregate.gtfs_leg[], c numeric, ref numeric);
CREATE FUNCTION pg_temp.compare(feed text, seed float8, with_priority boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.gen_feed(feed, seed, with_priority);
    INSERT INTO pg_temp.diff SELECT feed, j.j, j.legs, pg_temp.c_fare(feed, j.legs), pg_temp.ref_journey_fare(feed, j.legs)
      FROM pg_temp.journeys(seed / 2) j;
END $$;
SELECT pg_temp.compare('gen1', 0.11, false);
SELECT pg_temp.compare('gen2', 0.23, false);
SELECT pg_temp.compare('gen3', 0.37, true);
SELECT pg_temp.compare('gen4', 0.41, true);
SELECT is((SELECT count(*) FROM diff WHERE c IS DISTINCT FROM ref AND feed = f), 0::bigint,
          format('feed %s (%s): the C pricer and the PL/pgSQL reference agree on all 150 journeys', f,
                 CASE WHEN f IN ('gen3', 'gen4') THEN 'rule_priority' ELSE 'no rule_priority' END))
  FROM unnest(ARRAY['gen1', 'gen2', 'gen3', 'gen4']) f;
SELECT diag(format('%s journey %s: C %s, reference %s, legs %s', feed, j, c, ref, legs)) FROM diff WHERE c IS DISTINCT FROM ref LIMIT 10;
-- the comparison means something only if the journeys exercise the rules
SELECT cmp_ok((SELECT count(*) FROM diff WHERE c IS NOT NULL), '>=', 300::bigint, 'most journeys have a fare');
SELECT cmp_ok((SELECT count(*) FROM diff WHERE c IS NULL), '>=', 1::bigint, 'some journeys have none (both say so)');
SELECT cmp_ok((SELECT count(*) FROM diff d WHERE cardinality(d.legs) > 1 AND d.c < (SELECT sum(pg_temp.c_fare(d.feed, ARRAY[l])) FROM unnest(d.legs) l)),
              '>=', 20::bigint, 'transfers make many multi-leg journeys cheaper than their legs alone');
SELECT cmp_ok((SELECT count(*) FROM diff d WHERE (SELECT count(DISTINCT option_no) FROM faregate.gtfs_journey_options(d.feed, d.legs)) > 1 AND d.c IS NOT NULL),
              '>=', 20::bigint, 'many journeys have several options to choose from');

SELECT * FROM finish();
ROLLBACK;
