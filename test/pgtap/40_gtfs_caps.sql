-- 40_gtfs_caps.sql: faregate's caps on a GTFS tariff: faregate.gtfs_charge_taps prices a rider's legs by
-- the feed's rules (transfers included), then caps them per service day (from day_starts, in the feed's
-- time zone) and per Monday-Sunday week, per rider category; a reload of the feed keeps its caps.
-- Uses fixtures/40_gtfs_lib.psql; rolled back at the end.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(8);
\ir fixtures/40_gtfs_lib.psql

CREATE FUNCTION pg_temp.stage_feed(price text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.gtfs_file('agency', 'agency_id,agency_timezone
        ag,Europe/Zurich');
    PERFORM pg_temp.gtfs_file('stops', 'stop_id
        a
        b');
    PERFORM pg_temp.gtfs_file('routes', 'route_id,agency_id,network_id
        r1,ag,n1');
    PERFORM pg_temp.gtfs_file('rider_categories', 'rider_category_id,rider_category_name,is_default_fare_category
        adult,Adult,1
        child,Child,0');
    PERFORM pg_temp.gtfs_file('fare_products', 'fare_product_id,amount,currency,rider_category_id
        ride,' || price || ',CHF,adult
        ride,1.00,CHF,child
        xfer,0.40,CHF,');
    PERFORM pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,fare_product_id
        g,n1,ride');
    PERFORM pg_temp.gtfs_file('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,duration_limit_type,fare_transfer_type,fare_product_id
        g,g,1,1800,1,0,xfer');
END $$;
SELECT pg_temp.stage_feed('3.00');
SELECT faregate.gtfs_import('capped');
INSERT INTO faregate.gtfs_fare_caps VALUES ('capped', '', 'day', 8.00, 'CHF', '04:00'), ('capped', '', 'week', 20.00, 'CHF', '04:00');

CREATE FUNCTION pg_temp.taps(feed text, legs faregate.gtfs_leg[], cat text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s %s/%s %s', leg_no, fare, charged, reason), '; ' ORDER BY leg_no)
      FROM faregate.gtfs_charge_taps(feed, legs, cat)
$$;
SELECT is(pg_temp.taps('capped', pg_temp.legs('a|b|r1|2025-03-03 08:00+01|2025-03-03 08:20+01', 'b|a|r1|2025-03-03 08:25+01|2025-03-03 08:40+01')),
          '1 3.00/3.00 fare; 2 0.40/0.40 transfer', 'a GTFS transfer: the second leg pays the transfer product');
SELECT is(pg_temp.taps('capped', pg_temp.legs('a|b|r1|2025-03-03 08:00+01|2025-03-03 08:20+01', 'b|a|r1|2025-03-03 10:00+01|2025-03-03 10:20+01',
                                             'a|b|r1|2025-03-03 12:00+01|2025-03-03 12:20+01', 'b|a|r1|2025-03-03 14:00+01|2025-03-03 14:20+01')),
          '1 3.00/3.00 fare; 2 3.00/3.00 fare; 3 3.00/2.00 daily cap; 4 3.00/0.00 daily cap', 'the daily cap of 8.00 limits the third and fourth legs');
SELECT is(pg_temp.taps('capped', pg_temp.legs('a|b|r1|2025-03-03 20:00+01|2025-03-03 20:20+01', 'b|a|r1|2025-03-03 22:00+01|2025-03-03 22:20+01',
                                             'a|b|r1|2025-03-04 03:30+01|2025-03-04 03:50+01', 'b|a|r1|2025-03-04 05:00+01|2025-03-04 05:20+01')),
          '1 3.00/3.00 fare; 2 3.00/3.00 fare; 3 3.00/2.00 daily cap; 4 3.00/3.00 fare', '03:30 belongs to the previous service day (day_starts 04:00); 05:00 starts a new one');
SELECT is((SELECT sum(charged) FROM faregate.gtfs_charge_taps('capped', (SELECT array_agg(l ORDER BY d, h) FROM generate_series(0, 6) d, generate_series(0, 3) h,
               LATERAL unnest(pg_temp.legs(format('a|b|r1|%s|%s', '2025-03-03 08:00+01'::timestamptz + d * interval '1 day' + h * interval '2 hours',
                                                                   '2025-03-03 08:20+01'::timestamptz + d * interval '1 day' + h * interval '2 hours'))) l))),
          20.00, 'a week of 28 legs is capped at the weekly 20.00');
SELECT is(pg_temp.taps('capped', pg_temp.legs('a|b|r1|2025-03-03 08:00+01|2025-03-03 08:20+01', 'b|a|r1|2025-03-03 10:00+01|2025-03-03 10:20+01'), 'child'),
          '1 1.00/1.00 fare; 2 1.00/1.00 fare', 'a child pays the child product');
INSERT INTO faregate.gtfs_fare_caps VALUES ('capped', 'child', 'day', 1.50, 'CHF', '04:00');
SELECT is(pg_temp.taps('capped', pg_temp.legs('a|b|r1|2025-03-03 08:00+01|2025-03-03 08:20+01', 'b|a|r1|2025-03-03 10:00+01|2025-03-03 10:20+01'), 'child'),
          '1 1.00/1.00 fare; 2 1.00/0.50 daily cap', 'a cap for one rider category applies to it (the stricter of its own and the general cap)');
SELECT pg_temp.stage_feed('3.50');
SELECT faregate.gtfs_import('capped');
SELECT is(pg_temp.taps('capped', pg_temp.legs('a|b|r1|2025-03-03 08:00+01|2025-03-03 08:20+01', 'b|a|r1|2025-03-03 10:00+01|2025-03-03 10:20+01',
                                             'a|b|r1|2025-03-03 12:00+01|2025-03-03 12:20+01')),
          '1 3.50/3.50 fare; 2 3.50/3.50 fare; 3 3.50/1.00 daily cap', 'a reload of the feed keeps its caps and prices with the new fares');
SELECT is(pg_temp.taps('capped', pg_temp.legs('a|b|r1|2025-03-03 08:00+01|2025-03-03 08:20+01')) IS NOT NULL
          AND (SELECT provolatile::text || proparallel::text FROM pg_proc WHERE proname = 'gtfs_charge_taps') = 'ss', true,
          'gtfs_charge_taps is STABLE PARALLEL SAFE');

SELECT * FROM finish();
ROLLBACK;
