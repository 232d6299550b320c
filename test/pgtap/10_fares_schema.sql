-- 10_fares_schema.sql: the shape of the fares part of the extension: tables, keys, the exclusion
-- constraint, invalidation triggers, pg_dump registration, the leg type, and every function's
-- signature, volatility and parallel-safety label. Runs in a transaction that is rolled back.
BEGIN;
SELECT plan(45);
LOAD 'faregate';  -- defines faregate.timezone in this session

SELECT has_table('faregate', t, 'table faregate.' || t) FROM unnest(ARRAY['zones', 'rider_categories', 'timeframe_names', 'timeframes',
    'fare_rules', 'transfer_rules', 'fare_caps']) AS t;
SELECT columns_are('faregate', 'fare_rules', ARRAY['rule_id', 'from_zone', 'to_zone', 'category', 'timeframe', 'valid',
    'amount', 'currency', 'priority'], 'fare_rules has the documented columns');
SELECT col_type_is('faregate', 'fare_rules', 'amount', 'numeric(12,2)', 'amounts are numeric(12,2)');
SELECT col_type_is('faregate', 'fare_rules', 'valid', 'daterange', 'validity is a daterange');
SELECT col_type_is('faregate', 'fare_rules', 'currency', 'character(3)', 'currency is char(3)');
SELECT col_default_is('faregate', 'fare_rules', 'category', 'adult'::text, 'category defaults to adult');
SELECT col_default_is('faregate', 'fare_rules', 'valid', '(,)'::text, 'valid defaults to always');
SELECT is((SELECT attidentity::text FROM pg_attribute WHERE attrelid = 'faregate.fare_rules'::regclass AND attname = 'rule_id'),
          'a', 'rule_id is generated always as identity');
SELECT fk_ok('faregate', 'fare_rules', 'from_zone', 'faregate', 'zones', 'zone_id');
SELECT fk_ok('faregate', 'fare_rules', 'to_zone', 'faregate', 'zones', 'zone_id');
SELECT fk_ok('faregate', 'fare_rules', 'category', 'faregate', 'rider_categories', 'category');
SELECT fk_ok('faregate', 'fare_rules', 'timeframe', 'faregate', 'timeframe_names', 'timeframe');
SELECT fk_ok('faregate', 'timeframes', 'timeframe', 'faregate', 'timeframe_names', 'timeframe');
SELECT is((SELECT contype::text FROM pg_constraint WHERE conname = 'fare_rules_no_overlap'), 'x',
          'fare_rules has the exclusion constraint fare_rules_no_overlap');
SELECT has_index('faregate', 'fare_rules', 'fare_rules_lookup', ARRAY['from_zone', 'to_zone', 'category', 'priority'],
                 'btree index for indexed lookups');
SELECT columns_are('faregate', 'timeframes', ARRAY['timeframe', 'days', 'start_time', 'end_time'], 'timeframes columns');
SELECT columns_are('faregate', 'transfer_rules', ARRAY['category', 'max_transfers', 'within', 'transfer_fee'], 'transfer_rules columns');
SELECT columns_are('faregate', 'fare_caps', ARRAY['category', 'period', 'cap', 'day_starts'], 'fare_caps columns');
SELECT col_default_is('faregate', 'fare_caps', 'day_starts', '04:30:00'::text, 'service days start at 04:30 by default');
SELECT results_eq($$SELECT category FROM faregate.rider_categories$$, $$VALUES ('adult'::text)$$,
                  'after CREATE EXTENSION the only category is adult');
SELECT trigger_is('faregate', t, t || '_changed', 'faregate', 'fare_rules_changed',
                  t || ' sends invalidations') FROM unnest(ARRAY['zones', 'rider_categories', 'timeframes',
    'fare_rules', 'transfer_rules', 'fare_caps']) AS t;
SELECT set_eq($$SELECT c FROM (SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'faregate') e(c) WHERE c !~ '^faregate\.gtfs_'$$,  -- GTFS: 40_gtfs_schema.sql
    ARRAY['faregate.zones', 'faregate.rider_categories', 'faregate.timeframe_names', 'faregate.timeframes', 'faregate.fare_rules',
          'faregate.fare_rules_rule_id_seq', 'faregate.transfer_rules', 'faregate.fare_caps'],
    'every rule table (and the rule_id sequence) is dumped by pg_dump');
SELECT has_type('faregate', 'leg', 'type faregate.leg');
SELECT is((SELECT array_agg(attname::text || ' ' || format_type(atttypid, atttypmod) ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = (SELECT typrelid FROM pg_type WHERE oid = 'faregate.leg'::regtype) AND attnum > 0),
          ARRAY['from_zone text', 'to_zone text', 'boarded_at timestamp with time zone'], 'leg is (from_zone, to_zone, boarded_at)');
SELECT function_returns('faregate', 'fare', ARRAY['text', 'text', 'timestamp with time zone', 'text'], 'numeric');
SELECT function_returns('faregate', 'journey_fare', ARRAY['faregate.leg[]', 'text'], 'numeric');
SELECT is((SELECT string_agg(p.proname || ' ' || p.provolatile::text || p.proparallel::text || ' strict=' || p.proisstrict::text, ', '
                    ORDER BY p.proname)
             FROM pg_proc p WHERE p.pronamespace = 'faregate'::regnamespace
              AND p.proname IN ('fare', 'fare_quote', 'journey_fare', 'charge_taps', 'fare_cache_stats')),
          'charge_taps ss strict=false, fare ss strict=false, fare_cache_stats vr strict=false, fare_quote ss strict=false, journey_fare ss strict=false',
          'pricing functions are STABLE PARALLEL SAFE and not STRICT; fare_cache_stats is VOLATILE PARALLEL RESTRICTED');
SELECT is(pg_get_function_result('faregate.fare_quote(text,text,timestamptz,text)'::regprocedure),
          'TABLE(amount numeric, currency character, rule_id bigint, timeframe text)', 'fare_quote result columns');
SELECT is(pg_get_function_result('faregate.charge_taps(faregate.leg[],text)'::regprocedure),
          'TABLE(tap_no integer, fare numeric, charged numeric, reason text)', 'charge_taps result columns');
SELECT is(pg_get_function_result('faregate.fare_cache_stats()'::regprocedure),
          'TABLE(hits bigint, misses bigint, rebuilds bigint, entries bigint, bytes bigint, key_invalidations bigint, full_invalidations bigint)', 'fare_cache_stats result columns');
SELECT is(pg_get_function_arguments('faregate.fare(text,text,timestamptz,text)'::regprocedure),
          'from_zone text, to_zone text, at timestamp with time zone DEFAULT now(), category text DEFAULT ''adult''::text',
          'fare arguments and defaults');
SELECT is((SELECT vartype || ' ' || context || ' ' || boot_val FROM pg_settings WHERE name = 'faregate.timezone'),
          'string superuser UTC', 'faregate.timezone: a superuser string setting, default UTC');
SELECT ok(has_function_privilege('public', 'faregate.fare(text,text,timestamptz,text)', 'EXECUTE'), 'PUBLIC may call fare');
SELECT ok(NOT has_table_privilege('public', 'faregate.fare_rules', 'INSERT'), 'PUBLIC may not write fare rules');

SELECT * FROM finish();
ROLLBACK;
