-- 40_gtfs_schema.sql: the GTFS objects' catalog facts: tables (one per GTFS file, keyed by feed_id) dumped
-- by pg_dump, the volatility and parallel-safety labels of every gtfs function, and who may do what
-- (PUBLIC reads the tables and prices; only the owner loads, drops and runs the loader's helpers).
-- Runs in a transaction that is rolled back.
BEGIN;
SELECT plan(9);

SELECT set_eq($$SELECT c FROM (SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'faregate') e(c) WHERE c ~ '^faregate\.gtfs_'$$,
    ARRAY['faregate.gtfs_feeds', 'faregate.gtfs_agencies', 'faregate.gtfs_stops', 'faregate.gtfs_networks',
          'faregate.gtfs_routes', 'faregate.gtfs_areas', 'faregate.gtfs_stop_areas', 'faregate.gtfs_calendar',
          'faregate.gtfs_calendar_dates', 'faregate.gtfs_timeframes', 'faregate.gtfs_rider_categories',
          'faregate.gtfs_fare_media', 'faregate.gtfs_fare_products', 'faregate.gtfs_fare_leg_rules',
          'faregate.gtfs_fare_leg_join_rules', 'faregate.gtfs_fare_transfer_rules', 'faregate.gtfs_fare_attributes',
          'faregate.gtfs_fare_rules', 'faregate.gtfs_fare_caps'],
    'every GTFS table is dumped by pg_dump');
SELECT is((SELECT string_agg(p.proname || ' ' || p.provolatile::text || p.proparallel::text || ' strict=' || p.proisstrict::text, ', ' ORDER BY p.proname)
             FROM pg_proc p WHERE p.pronamespace = 'faregate'::regnamespace AND p.proname IN
                  ('gtfs_price_journey', 'gtfs_journey_options', 'gtfs_journey_fare', 'gtfs_export_queries', 'gtfs_import', 'gtfs_drop_feed')),
          'gtfs_drop_feed vu strict=true, gtfs_export_queries su strict=false, gtfs_import vu strict=false, gtfs_journey_fare ss strict=false, gtfs_journey_options ss strict=false, gtfs_price_journey ss strict=false',
          'pricing is STABLE PARALLEL SAFE; export STABLE (its snapshot); import and drop VOLATILE PARALLEL UNSAFE');
SELECT is(pg_get_function_result('faregate.gtfs_price_journey(text,faregate.gtfs_leg[],text,text)'::regprocedure),
          'TABLE(leg_no integer, kind text, fare_product_id text, leg_group_id text, amount numeric, currency text, detail text)',
          'gtfs_price_journey result columns');

CREATE ROLE fg_gtfs_nobody;
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text) FROM pg_proc p
            WHERE p.pronamespace = 'faregate'::regnamespace AND p.proname ~ 'gtfs'
              AND has_function_privilege('fg_gtfs_nobody', p.oid, 'EXECUTE')),
          ARRAY['faregate.gtfs_charge_taps(text,faregate.gtfs_leg[],text,text)',
                'faregate.gtfs_export_queries(text)',
                'faregate.gtfs_journey_fare(text,faregate.gtfs_leg[],text,text)',
                'faregate.gtfs_journey_options(text,faregate.gtfs_leg[],text,text)',
                'faregate.gtfs_price_journey(text,faregate.gtfs_leg[],text,text)'],
          'PUBLIC may execute exactly the pricing, charging and export functions');
SELECT is((SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = 'faregate'::regnamespace AND c.relname ~ '^gtfs_'
              AND c.relkind IN ('r', 'S') AND has_table_privilege('fg_gtfs_nobody', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')),
          0, 'PUBLIC may write no GTFS table');
SELECT table_privs_are('faregate', 'gtfs_fare_leg_rules', 'fg_gtfs_nobody', ARRAY['SELECT'], 'PUBLIC reads gtfs_fare_leg_rules');
SET LOCAL ROLE fg_gtfs_nobody;
SELECT throws_ok($$SELECT faregate.gtfs_import('x')$$, '42501', NULL, 'PUBLIC may not load a feed');
SELECT throws_ok($$SELECT faregate.gtfs_drop_feed('x')$$, '42501', NULL, 'PUBLIC may not drop a feed');
SELECT throws_ok($$SELECT * FROM faregate.gtfs_price_journey('nofeed', '{}')$$, 'FG102', NULL, 'PUBLIC may price (and learns that the feed is unknown)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
