-- 40_gtfs_errors.sql: bad GTFS input is refused with FG101, every error named as file:row: field:
-- reason, and nothing is loaded (a previously loaded version of the feed stays as it was); and the
-- pricing functions' errors, each with its SQLSTATE: unknown feed, stop, route, rider category or fare
-- media, a journey that is empty, has a null leg or field, is out of time order or two-dimensional,
-- no fare for a leg, too many options, and null arguments. Uses fixtures/40_gtfs_lib.psql; rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(57);
\ir fixtures/40_gtfs_lib.psql

SELECT pg_temp.good_feed();
SELECT is(faregate.gtfs_import('f'), 1::bigint, 'the good feed loads');

-- bad_load(file, content): the good feed with one file replaced; the errors of loading it as feed f
CREATE FUNCTION pg_temp.bad_load(file text, content text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.good_feed();
    PERFORM pg_temp.gtfs_file(file, content);
    RETURN pg_temp.gtfs_load_errors('f');
END $$;
CREATE TEMP TABLE bad_cases (file text, content text, error text);
INSERT INTO bad_cases VALUES
 ('fare_products', 'fare_product_id,amount,currency
    p1,2.50,CHF
    p1,3.00,CHF
    p2,0.50,CHF', 'fare_products.txt:3: fare_product_id,rider_category_id,fare_media_id: duplicate key (fare_product_id, rider_category_id, fare_media_id): same as row 2'),
 ('fare_products', 'fare_product_id,amount,currency
    p1,2.505,CHF
    p2,0.50,CHF', 'fare_products.txt:2: amount: amount "2.505" has more decimals than CHF has (2)'),
 ('fare_products', 'fare_product_id,amount,currency
    p1,2.5,JPY
    p2,0.50,CHF', 'fare_products.txt:2: amount: amount "2.5" has more decimals than JPY has (0)'),
 ('fare_products', 'fare_product_id,amount,currency
    p1,2.500,KWD
    p2,abc,CHF', 'fare_products.txt:3: amount: "abc" is not a decimal amount'),
 ('fare_products', 'fare_product_id,amount,currency
    p1,2.50,EUROS
    p2,0.50,CHF', 'fare_products.txt:2: currency: "EUROS" is not an ISO 4217 currency code'),
 ('fare_products', 'fare_product_id,amount,currency,rider_category_id
    p1,2.50,CHF,senior
    p2,0.50,CHF,', 'fare_products.txt:2: rider_category_id: unknown rider_category_id "senior" (no such rider category)'),
 ('fare_products', 'fare_product_id,currency
    p1,CHF
    p2,CHF', 'fare_products.txt:1: amount: required column is missing'),
 ('fare_leg_rules', 'leg_group_id,network_id,fare_product_id
    g1,n1,p1
    g2,n9,p1', 'fare_leg_rules.txt:3: network_id: unknown network_id "n9" (no such network in networks.txt or routes.txt)'),
 ('fare_leg_rules', 'leg_group_id,network_id,fare_product_id,from_area_id
    g1,n1,p1,Z', 'fare_leg_rules.txt:2: from_area_id: unknown from_area_id "Z" (no such area)'),
 ('fare_leg_rules', 'leg_group_id,network_id,fare_product_id,from_timeframe_group_id
    g1,n1,p1,peak', 'fare_leg_rules.txt:2: from_timeframe_group_id: unknown from_timeframe_group_id "peak" (no such timeframe group)'),
 ('fare_leg_rules', 'leg_group_id,network_id,fare_product_id
    g1,n1,p9', 'fare_leg_rules.txt:2: fare_product_id: unknown fare_product_id "p9" (no such fare product)'),
 ('fare_leg_rules', 'leg_group_id,network_id,fare_product_id,rule_priority
    g1,n1,p1,-1', 'fare_leg_rules.txt:2: rule_priority: "-1" is not a non-negative integer'),
 ('fare_leg_rules', 'leg_group_id,network_id,fare_product_id
    g1,n1,p1
    g2,n1,p1', 'fare_leg_rules.txt:3: network_id,from_area_id,to_area_id,from_timeframe_group_id,to_timeframe_group_id,fare_product_id: duplicate key (network_id, from_area_id, to_area_id, from_timeframe_group_id, to_timeframe_group_id, fare_product_id): same as row 2'),
 ('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type
    g1,g1,,0', 'fare_transfer_rules.txt:2: transfer_count: transfer_count is required when from_leg_group_id equals to_leg_group_id'),
 ('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type
    g1,,2,0', 'fare_transfer_rules.txt:2: transfer_count: transfer_count is forbidden when from_leg_group_id and to_leg_group_id differ'),
 ('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type
    g1,g1,0,0', 'fare_transfer_rules.txt:2: transfer_count: "0" is not a valid transfer_count (-1 for no limit, or 1 or more)'),
 ('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,fare_transfer_type
    g1,g1,1,600,0', 'fare_transfer_rules.txt:2: duration_limit_type: duration_limit_type is required when duration_limit is given'),
 ('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,duration_limit_type,fare_transfer_type
    g1,g1,1,1,0', 'fare_transfer_rules.txt:2: duration_limit_type: duration_limit_type is forbidden when duration_limit is empty'),
 ('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,duration_limit_type,fare_transfer_type
    g1,g1,1,600,4,0', 'fare_transfer_rules.txt:2: duration_limit_type: "4" is not a valid duration_limit_type (allowed: 0, 1, 2, 3)'),
 ('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type
    g1,g1,1,3', 'fare_transfer_rules.txt:2: fare_transfer_type: "3" is not a valid fare_transfer_type (allowed: 0, 1, 2)'),
 ('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,fare_transfer_type
    g1,g7,0', 'fare_transfer_rules.txt:2: to_leg_group_id: unknown to_leg_group_id "g7" (no such leg group in fare_leg_rules.txt)'),
 ('fare_media', 'fare_media_id,fare_media_name,fare_media_type
    card,Card,7', 'fare_media.txt:2: fare_media_type: "7" is not a valid fare_media_type (allowed: 0, 1, 2, 3, 4)'),
 ('rider_categories', 'rider_category_id,rider_category_name,is_default_fare_category
    adult,Adult,1
    child,Child,1', 'rider_categories.txt:3: is_default_fare_category: a second default rider category; at most one may have is_default_fare_category = 1'),
 ('agency', 'agency_id,agency_timezone
    ag,Mars/Olympus', 'agency.txt:2: agency_timezone: unknown agency_timezone "Mars/Olympus" (no such time zone)'),
 ('agency', 'agency_id,agency_name
    ag,Agency', 'agency.txt:1: agency_timezone: required column is missing'),
 ('stop_areas', 'area_id,stop_id
    A,s9', 'stop_areas.txt:2: stop_id: unknown stop_id "s9" (no such stop)'),
 ('stops', 'stop_id,location_type
    s1,9
    s2,', 'stops.txt:2: location_type: "9" is not a valid location_type (allowed: 0, 1, 2, 3, 4)'),
 ('calendar', 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
    wk,1,1,1,1,1,0,0,20250231,20251231', 'calendar.txt:2: start_date: "20250231" is not a date (YYYYMMDD)'),
 ('timeframes', 'timeframe_group_id,start_time,end_time,service_id
    peak,07:00:00,25:00:00,wk', 'timeframes.txt:2: end_time: "25:00:00" is not a time of day HH:MM:SS up to 24:00:00'),
 ('fare_leg_join_rules', 'from_network_id,to_network_id,from_stop_id
    n1,n1,s1', 'fare_leg_join_rules.txt:2: to_stop_id: from_stop_id and to_stop_id are given together or not at all'),
 ('fare_attributes', 'fare_id,price,currency_type,payment_method,transfers
    f1,1.50,USD,2,3', 'fare_attributes.txt:2: payment_method: "2" is not a valid payment_method (allowed: 0, 1)'),
 ('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type,nonconsecutive_transfers_allowed
    g1,g1,1,0,0
    g1,g1,2,0,1', 'fare_transfer_rules.txt:3: nonconsecutive_transfers_allowed: nonconsecutive_transfers_allowed (a proposal of the GTFS fares guides, not in the reference) is not supported: faregate applies transfer rules between consecutive legs only, so the price would be too high; leave the field empty or 0 to load the feed'),
 ('fare_leg_rules', 'leg_group_id,network_id,fare_product_id,contains_area_set_id
    g1,n1,p1,
    g2,n1,p2,downtown', 'fare_leg_rules.txt:3: contains_area_set_id: "downtown": column contains_area_set_id is not in the GTFS reference''s fare_leg_rules.txt (a proposal?) and faregate does not implement it: the rule would be priced as if it were absent; remove the column or leave it empty to load the feed'),
 ('fare_leg_join_rules', 'from_network_id,to_network_id,duration_limit,duration_limit_type
    n1,n1,1800,1', 'fare_leg_join_rules.txt:2: duration_limit: "1800": column duration_limit is not in the GTFS reference''s fare_leg_join_rules.txt (a proposal?) and faregate does not implement it: the rule would be priced as if it were absent; remove the column or leave it empty to load the feed');
SELECT pg_temp.good_feed();
SELECT pg_temp.gtfs_file('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type,nonconsecutive_transfers_allowed,contains_area_set_id
    g1,g1,1,0,0,
    g1,g1,2,0,,');
SELECT is(pg_temp.gtfs_load_errors('f'), NULL, 'columns of proposals that are empty (or nonconsecutive_transfers_allowed = 0) change nothing: the feed loads');
SELECT is(pg_temp.bad_load(file, content) ~ ('(^|\n)' || regexp_replace(error, '([().*+?\[\]{}|^$\\])', '\\\1', 'g') || '($|\n)'), true,
          format('%s: %s', file, error)) FROM bad_cases ORDER BY file, error;
SELECT is(pg_temp.bad_load('timeframes', 'timeframe_group_id,start_time,end_time,service_id
              peak,07:00:00,25:00:00,wk'),
          E'timeframes.txt:2: end_time: "25:00:00" is not a time of day HH:MM:SS up to 24:00:00\ntimeframes.txt:2: service_id: unknown service_id "wk" (no such service in calendar.txt or calendar_dates.txt)',
          'every error of a file is reported, sorted by file and row, not only the first');
SELECT is((SELECT string_agg(amount::text, ',') FROM faregate.gtfs_fare_products WHERE feed_id = 'f'), '2.50,0.50',
          'after all those refused loads, feed f is still the good feed');
SELECT throws_ok($$SELECT faregate.gtfs_import('')$$, '22023', 'a GTFS feed needs a non-empty feed_id', 'an empty feed_id is refused');

-- pricing errors
CREATE FUNCTION pg_temp.sqlstate_of(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE call;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('nofeed', pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01'))$$), 'FG102', 'unknown feed: FG102');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', pg_temp.legs('s9|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01'))$$), 'FG107', 'unknown stop: FG107');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', pg_temp.legs('s1|s2|r9|2025-03-03 10:00+01|2025-03-03 10:10+01'))$$), 'FG107', 'unknown route: FG107');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01'), 'senior')$$), 'FG105', 'unknown rider category: FG105');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01'), NULL, 'phone')$$), 'FG105', 'unknown fare media: FG105');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', '{}')$$), 'FG104', 'no legs: FG104');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', ARRAY[NULL]::faregate.gtfs_leg[])$$), 'FG104', 'a null leg: FG104');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', ARRAY[row('s1', 's2', 'r1', NULL, now())]::faregate.gtfs_leg[])$$), 'FG104', 'a leg without departure: FG104');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2025-03-03 09:10+01'))$$), 'FG104', 'arrival before departure: FG104');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01', 's2|s1|r1|2025-03-03 09:00+01|2025-03-03 09:10+01'))$$), 'FG104', 'legs out of order: FG104');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', ARRAY[row('s1', 's2', 'r1', 'infinity', 'infinity')]::faregate.gtfs_leg[])$$), 'FG104', 'infinite times: FG104');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', ARRAY[[row('s1', 's2', 'r1', now(), now())::faregate.gtfs_leg]])$$), 'FG104', 'a two-dimensional array: FG104');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey(NULL, pg_temp.legs('s1|s2|r1|2025-03-03 10:00+01|2025-03-03 10:10+01'))$$), '22004', 'a null feed_id: 22004');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM faregate.gtfs_price_journey('f', NULL)$$), '22004', 'null legs: 22004');
SELECT throws_ok($$SELECT * FROM faregate.gtfs_price_journey('f', pg_temp.legs('s2|s1|rX|2025-03-03 10:00+01|2025-03-03 10:10+01'))$$, 'FG107', NULL, 'a route the feed does not have: FG107');
SELECT pg_temp.good_feed();
SELECT pg_temp.gtfs_file('routes', 'route_id,agency_id,network_id
    r1,ag,n1
    r2,ag,n2');
SELECT pg_temp.gtfs_file('fare_products', 'fare_product_id,amount,currency,fare_media_id
    p1,2.50,CHF,
    p1,2.40,CHF,card
    p2,0.50,CHF,');
SELECT faregate.gtfs_import('f');
SELECT throws_ok($$SELECT * FROM faregate.gtfs_price_journey('f', pg_temp.legs('s1|s2|r2|2025-03-03 10:00+01|2025-03-03 10:10+01'))$$, 'FG103',
                 'no fare in GTFS feed "f" applies to leg 1 (s1 -> s2, route r2)', 'no fare for a leg: FG103, naming the leg');
SELECT is(pg_temp.sqlstate_of($$SELECT faregate.gtfs_journey_fare('f', (SELECT array_agg(l) FROM generate_series(1, 13) g,
              LATERAL unnest(pg_temp.legs(format('s1|s2|r1|2025-03-03 10:%s+01|2025-03-03 10:%s+01', 10 + g, 10 + g)) ) l))$$),
          'FG106', 'a journey of 13 legs with 2 options each (8192 combinations): FG106');
SELECT is(pg_temp.sqlstate_of($$SELECT faregate.gtfs_journey_fare('f', (SELECT array_agg(l) FROM generate_series(1, 13) g,
              LATERAL unnest(pg_temp.legs(format('s1|s2|r1|2025-03-03 10:%s+01|2025-03-03 10:%s+01', 10 + g, 10 + g)) ) l), NULL, 'card')$$),
          'ok', 'the same journey for one fare media has one combination');

SELECT * FROM finish();
ROLLBACK;
