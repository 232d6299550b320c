-- 40_gtfs_guides.sql: the worked examples of the GTFS fares guides (gtfs.org, "Fares v2" feature
-- guides, TransLink Vancouver) loaded as feeds, with the prices the guides state: route-based fares and
-- fare media, rider categories, zone-based fares with rule_priority (Sea Island), time-based fares with
-- timeframes (and the guide's simplified rule_priority variant), and fare transfers (A+AB AddFares,
-- free bus transfers within 90 minutes). Uses fixtures/40_gtfs_lib.psql; rolled back at the end.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(36);
\ir fixtures/40_gtfs_lib.psql

-- ---------------------------------------------------------------------------------------------------
-- Route-based fares + fare media: bus_flat_fare 3.20 cash or contactless, 2.60 on a Compass Card
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.gtfs_file('agency', 'agency_id,agency_name,agency_url,agency_timezone
    translink,TransLink,https://translink.ca,America/Vancouver');
SELECT pg_temp.gtfs_file('stops', 'stop_id,stop_name
    50001,Granville St @ W 41 Ave
    50002,Granville St @ W 49 Ave');
SELECT pg_temp.gtfs_file('routes', 'route_id,agency_id,route_short_name,route_type
    10232,translink,10,3
    11201,translink,R4,3');
SELECT pg_temp.gtfs_file('networks', 'network_id,network_name
    translink_bus,Translink Buses');
SELECT pg_temp.gtfs_file('route_networks', 'route_id,network_id
    10232,translink_bus
    11201,translink_bus');
SELECT pg_temp.gtfs_file('fare_media', 'fare_media_id,fare_media_name,fare_media_type
    cash,Cash,0
    contactless,Contactless,3
    compass_card,Compass Card,2
    compass_ticket,Compass Ticket,2
    wallet,Mobile Wallet,3');
SELECT pg_temp.gtfs_file('fare_products', 'fare_product_id,fare_product_name,amount,currency,fare_media_id
    bus_flat_fare,Bus Flat Fare,3.20,CAD,contactless
    bus_flat_fare,Bus Flat Fare,3.20,CAD,cash
    bus_flat_fare,Bus Flat Fare,2.60,CAD,compass_card');
SELECT pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,fare_product_id
    flat_fare_leg,translink_bus,bus_flat_fare');
SELECT is(faregate.gtfs_import('guide_route'), 1::bigint, 'route-based guide: the feed loads (1 fare leg rule)');
SELECT is(pg_temp.priced('guide_route', pg_temp.legs('50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08'), NULL, 'contactless'),
          '1 leg bus_flat_fare 3.20 CAD; - total (free) 3.20 CAD', 'route-based guide: a bus leg, contactless: bus_flat_fare 3.20');
SELECT is(faregate.gtfs_journey_fare('guide_route', pg_temp.legs('50001|50002|11201|2025-03-03 10:00-08|2025-03-03 10:12-08'), NULL, 'cash'),
          3.20, 'route-based guide: cash: 3.20');
SELECT is(faregate.gtfs_journey_fare('guide_route', pg_temp.legs('50001|50002|11201|2025-03-03 10:00-08|2025-03-03 10:12-08'), NULL, 'compass_card'),
          2.60, 'route-based guide: Compass Card: 2.60');
SELECT is(pg_temp.n_options('guide_route', pg_temp.legs('50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08')),
          3::bigint, 'fare media guide: without a fare media, each of the three media is an option');
SELECT is(faregate.gtfs_journey_fare('guide_route', pg_temp.legs('50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08')),
          2.60, 'fare media guide: without a fare media, the cheapest option is the Compass Card''s 2.60');
SELECT throws_ok($$SELECT faregate.gtfs_journey_fare('guide_route', pg_temp.legs('50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08'), NULL, 'wallet')$$,
          'FG103', NULL, 'fare media guide: no bus fare product is sold on the mobile wallet');

-- ---------------------------------------------------------------------------------------------------
-- Rider categories: adult (default) 3.20, concession 2.15
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.gtfs_file('agency', 'agency_id,agency_name,agency_url,agency_timezone
    translink,TransLink,https://translink.ca,America/Vancouver');
SELECT pg_temp.gtfs_file('stops', 'stop_id,stop_name
    50001,Granville St @ W 41 Ave
    50002,Granville St @ W 49 Ave');
SELECT pg_temp.gtfs_file('routes', 'route_id,agency_id,route_type,network_id
    10232,translink,3,translink_bus');
SELECT pg_temp.gtfs_file('fare_media', 'fare_media_id,fare_media_name,fare_media_type
    contactless,Contactless,3');
SELECT pg_temp.gtfs_file('rider_categories', 'rider_category_id,rider_category_name,is_default_fare_category,eligibility_url
    adult,Adult,1,
    concession,Concession,,https://www.translink.ca/transit-fares/pricing-and-fare-zones#fare-pricing');
SELECT pg_temp.gtfs_file('fare_products', 'fare_product_id,fare_product_name,amount,currency,fare_media_id,rider_category_id
    bus_flat_fare,Bus Flat Fare,3.20,CAD,contactless,adult
    bus_flat_fare,Bus Flat Fare,2.15,CAD,contactless,concession');
SELECT pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,fare_product_id
    flat_fare_leg,translink_bus,bus_flat_fare');
SELECT is(faregate.gtfs_import('guide_riders'), 1::bigint, 'rider categories guide: the feed loads');
SELECT is(faregate.gtfs_journey_fare('guide_riders', pg_temp.legs('50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08')),
          3.20, 'rider categories guide: no category given: the default category adult pays 3.20');
SELECT is(faregate.gtfs_journey_fare('guide_riders', pg_temp.legs('50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08'), 'concession'),
          2.15, 'rider categories guide: concession pays 2.15');
SELECT is(faregate.gtfs_journey_fare('guide_riders', pg_temp.legs('50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08'), 'adult', 'contactless'),
          3.20, 'rider categories guide: adult on contactless pays 3.20');

-- ---------------------------------------------------------------------------------------------------
-- Zone-based fares with rule_priority (Sea Island inside zone 2). The guide's table gives ZN1_ZN3 the
-- 2_zone_fare; its text (a 3-zone fare for ZN1 to ZN3, 6.35) is what this feed says.
-- ---------------------------------------------------------------------------------------------------
CREATE TEMP TABLE zone_feed (file text, content text);
INSERT INTO zone_feed VALUES
 ('agency', 'agency_id,agency_name,agency_url,agency_timezone
    translink,TransLink,https://translink.ca,America/Vancouver'),
 ('stops', 'stop_id,stop_name
    8039,Waterfront Station @ Platform 2
    8040,Commercial-Broadway Station
    8066,Edmonds Station @ Platform 1
    8070,Lonsdale Quay
    8071,Lake City Way Station
    8090,Surrey Central Station
    99901,YVR-Airport Station @ Canada Line
    99902,Sea Island Centre Station
    99903,Templeton Station
    50001,Granville St @ W 41 Ave
    50002,Granville St @ W 49 Ave'),
 ('routes', 'route_id,agency_id,route_short_name,route_type
    13686,translink,Canada Line,1
    30052,translink,SeaBus,4
    10232,translink,10,3'),
 ('networks', 'network_id,network_name
    skytrain_seabus,SkyTrain and SeaBus
    translink_bus,Translink Buses'),
 ('route_networks', 'route_id,network_id
    13686,skytrain_seabus
    30052,skytrain_seabus
    10232,translink_bus'),
 ('areas', 'area_id,area_name
    ZN1,Zone 1 - Vancouver
    ZN2,Zone 2 - Burnaby Richmond and North Vancouver
    ZN3,Zone 3 - Surrey and Coquitlam
    sea_island,Sea Island'),
 ('stop_areas', 'stop_id,area_id
    8039,ZN1
    8040,ZN1
    8066,ZN2
    8070,ZN2
    8071,ZN2
    8090,ZN3
    99901,ZN2
    99902,ZN2
    99903,ZN2
    99901,sea_island
    99902,sea_island
    99903,sea_island'),
 ('fare_media', 'fare_media_id,fare_media_name,fare_media_type
    contactless,Contactless,3'),
 ('fare_products', 'fare_product_id,fare_product_name,amount,currency,fare_media_id
    bus_flat_fare,Bus Flat Fare,3.20,CAD,contactless
    1_zone_fare,1-Zone Fare,3.20,CAD,contactless
    2_zone_fare,2-Zone Fare,4.65,CAD,contactless
    3_zone_fare,3-Zone Fare,6.35,CAD,contactless
    sea_island_1_zone_fare,Sea Island travel + 1-zone Fare,8.20,CAD,contactless
    sea_island_2_zone_fare,Sea Island travel + 2-zone fare,9.65,CAD,contactless
    sea_island_sea_island_fare,Free fare inside Sea Island,0,CAD,contactless
    1_zone_to_2_zone_upgrade,AddFare 1 zone to 2 zones upgrade,1.45,CAD,contactless
    2_zone_to_3_zone_upgrade,AddFare 2 zones to 3 zones upgrade,1.70,CAD,contactless
    1_zone_to_3_zone_upgrade,AddFare 1 zone to 3 zones upgrade,3.15,CAD,contactless');
CREATE FUNCTION pg_temp.stage_zone_feed() RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.gtfs_file(file, content) FROM pg_temp.zone_feed;
$$;

SELECT pg_temp.stage_zone_feed();
SELECT pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,fare_product_id,from_area_id,to_area_id,rule_priority
    flat_fare_leg,translink_bus,bus_flat_fare,,,
    sea_island_ZN1,skytrain_seabus,sea_island_2_zone_fare,sea_island,ZN1,1
    sea_island_ZN2,skytrain_seabus,sea_island_1_zone_fare,sea_island,ZN2,1
    sea_island_ZN3,skytrain_seabus,sea_island_2_zone_fare,sea_island,ZN3,1
    sea_island_sea_island,skytrain_seabus,sea_island_sea_island_fare,sea_island,sea_island,2
    ZN1_ZN1,skytrain_seabus,1_zone_fare,ZN1,ZN1,
    ZN2_ZN2,skytrain_seabus,1_zone_fare,ZN2,ZN2,
    ZN3_ZN3,skytrain_seabus,1_zone_fare,ZN3,ZN3,
    ZN1_ZN2,skytrain_seabus,2_zone_fare,ZN1,ZN2,
    ZN1_ZN2,skytrain_seabus,2_zone_fare,ZN2,ZN1,
    ZN2_ZN3,skytrain_seabus,2_zone_fare,ZN2,ZN3,
    ZN2_ZN3,skytrain_seabus,2_zone_fare,ZN3,ZN2,
    ZN1_ZN3,skytrain_seabus,3_zone_fare,ZN1,ZN3,
    ZN1_ZN3,skytrain_seabus,3_zone_fare,ZN3,ZN1,');
SELECT is(faregate.gtfs_import('guide_zones'), 14::bigint, 'zone-based guide: the feed loads (14 fare leg rules)');
SELECT is(faregate.gtfs_journey_fare('guide_zones', pg_temp.legs('8039|8040|13686|2025-03-03 10:00-08|2025-03-03 10:10-08')),
          3.20, 'zone-based guide: ZN1 to ZN1 is a 1-zone fare, 3.20');
SELECT is(faregate.gtfs_journey_fare('guide_zones', pg_temp.legs('8039|8066|13686|2025-03-03 10:00-08|2025-03-03 10:20-08')),
          4.65, 'zone-based guide: ZN1 to ZN2 is a 2-zone fare, 4.65');
SELECT is(faregate.gtfs_journey_fare('guide_zones', pg_temp.legs('8090|8039|13686|2025-03-03 10:00-08|2025-03-03 10:40-08')),
          6.35, 'zone-based guide: ZN3 to ZN1 is a 3-zone fare, 6.35');
SELECT is(faregate.gtfs_journey_fare('guide_zones', pg_temp.legs('99901|8039|13686|2025-03-03 10:00-08|2025-03-03 10:25-08')),
          9.65, 'zone-based guide: Sea Island to ZN1 is the 2-zone fare + 5.00 = 9.65 (rule_priority 1 beats ZN2 to ZN1)');
SELECT is(faregate.gtfs_journey_fare('guide_zones', pg_temp.legs('99901|8066|13686|2025-03-03 10:00-08|2025-03-03 10:25-08')),
          8.20, 'zone-based guide: Sea Island to ZN2 is the 1-zone fare + 5.00 = 8.20');
SELECT is(faregate.gtfs_journey_fare('guide_zones', pg_temp.legs('99901|99903|13686|2025-03-03 10:00-08|2025-03-03 10:05-08')),
          0.00, 'zone-based guide: within Sea Island is free (rule_priority 2)');
SELECT is(faregate.gtfs_journey_fare('guide_zones', pg_temp.legs('8066|99902|13686|2025-03-03 10:00-08|2025-03-03 10:15-08')),
          3.20, 'zone-based guide: ending in Sea Island costs what ending in ZN2 costs (ZN2 to ZN2, 3.20)');
SELECT is(pg_temp.n_options('guide_zones', pg_temp.legs('99901|8039|13686|2025-03-03 10:00-08|2025-03-03 10:25-08')),
          1::bigint, 'zone-based guide: rule_priority leaves one option for Sea Island to ZN1');

-- ---------------------------------------------------------------------------------------------------
-- Time-based fares: weekday daytime zone fares; evenings (18:30-03:00) and weekends a 1-zone fare;
-- from Sea Island then 8.20. Both fare_leg_rules.txt versions of the guide.
-- ---------------------------------------------------------------------------------------------------
CREATE TEMP TABLE time_feed (file text, content text);
INSERT INTO time_feed VALUES
 ('calendar', 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
    weekday_service,1,1,1,1,1,0,0,20250101,20251231
    weekend_service,0,0,0,0,0,1,1,20250101,20251231'),
 ('timeframes', 'timeframe_group_id,start_time,end_time,service_id
    weekday_daytime,03:00:00,18:30:00,weekday_service
    weekday_evening,18:30:00,24:00:00,weekday_service
    weekday_evening,00:00:00,03:00:00,weekday_service
    weekend,,,weekend_service');
SELECT pg_temp.stage_zone_feed();
SELECT pg_temp.gtfs_file(file, content) FROM time_feed;
SELECT pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,fare_product_id,from_area_id,to_area_id,from_timeframe_group_id,to_timeframe_group_id,rule_priority
    flat_fare_leg,translink_bus,bus_flat_fare,,,,,
    ZN1_ZN1,skytrain_seabus,1_zone_fare,ZN1,ZN1,weekday_daytime,,
    ZN2_ZN2,skytrain_seabus,1_zone_fare,ZN2,ZN2,weekday_daytime,,
    ZN3_ZN3,skytrain_seabus,1_zone_fare,ZN3,ZN3,weekday_daytime,,
    ZN1_ZN2,skytrain_seabus,2_zone_fare,ZN1,ZN2,weekday_daytime,,
    ZN2_ZN3,skytrain_seabus,2_zone_fare,ZN2,ZN3,weekday_daytime,,
    ZN1_ZN2,skytrain_seabus,2_zone_fare,ZN2,ZN1,weekday_daytime,,
    ZN2_ZN3,skytrain_seabus,2_zone_fare,ZN3,ZN2,weekday_daytime,,
    ZN1_ZN3,skytrain_seabus,3_zone_fare,ZN1,ZN3,weekday_daytime,,
    ZN1_ZN3,skytrain_seabus,3_zone_fare,ZN3,ZN1,weekday_daytime,,
    sea_island_ZN1,skytrain_seabus,sea_island_2_zone_fare,sea_island,ZN1,weekday_daytime,,1
    sea_island_ZN2,skytrain_seabus,sea_island_1_zone_fare,sea_island,ZN2,weekday_daytime,,1
    sea_island_ZN3,skytrain_seabus,sea_island_2_zone_fare,sea_island,ZN3,weekday_daytime,,1
    sea_island_sea_island,skytrain_seabus,sea_island_sea_island_fare,sea_island,sea_island,,,2
    flat_fare_leg,skytrain_seabus,1_zone_fare,,,weekday_evening,,
    flat_fare_leg,skytrain_seabus,1_zone_fare,,,weekend,,
    flat_fare_sea_island_leg,skytrain_seabus,sea_island_1_zone_fare,sea_island,,weekday_evening,,1
    flat_fare_sea_island_leg,skytrain_seabus,sea_island_1_zone_fare,sea_island,,weekend,,1');
SELECT is(faregate.gtfs_import('guide_time'), 18::bigint, 'time-based guide: the feed loads (18 fare leg rules)');
-- the simplified file: rule_priority instead of the daytime timeframe
SELECT pg_temp.stage_zone_feed();
SELECT pg_temp.gtfs_file(file, content) FROM time_feed;
SELECT pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,fare_product_id,from_area_id,to_area_id,from_timeframe_group_id,to_timeframe_group_id,rule_priority
    flat_fare_leg,translink_bus,bus_flat_fare,,,,,
    ZN1_ZN1,skytrain_seabus,1_zone_fare,ZN1,ZN1,,,
    ZN2_ZN2,skytrain_seabus,1_zone_fare,ZN2,ZN2,,,
    ZN3_ZN3,skytrain_seabus,1_zone_fare,ZN3,ZN3,,,
    ZN1_ZN2,skytrain_seabus,2_zone_fare,ZN1,ZN2,,,
    ZN2_ZN3,skytrain_seabus,2_zone_fare,ZN2,ZN3,,,
    ZN1_ZN2,skytrain_seabus,2_zone_fare,ZN2,ZN1,,,
    ZN2_ZN3,skytrain_seabus,2_zone_fare,ZN3,ZN2,,,
    ZN1_ZN3,skytrain_seabus,3_zone_fare,ZN1,ZN3,,,
    ZN1_ZN3,skytrain_seabus,3_zone_fare,ZN3,ZN1,,,
    sea_island_ZN1,skytrain_seabus,sea_island_2_zone_fare,sea_island,ZN1,,,1
    sea_island_ZN2,skytrain_seabus,sea_island_1_zone_fare,sea_island,ZN2,,,1
    sea_island_ZN3,skytrain_seabus,sea_island_2_zone_fare,sea_island,ZN3,,,1
    sea_island_sea_island,skytrain_seabus,sea_island_sea_island_fare,sea_island,sea_island,,,3
    flat_fare_leg,skytrain_seabus,1_zone_fare,,,weekday_evening,,1
    flat_fare_leg,skytrain_seabus,1_zone_fare,,,weekend,,1
    flat_fare_sea_island_leg,skytrain_seabus,sea_island_1_zone_fare,sea_island,,weekday_evening,,2
    flat_fare_sea_island_leg,skytrain_seabus,sea_island_1_zone_fare,sea_island,,weekend,,2');
SELECT is(faregate.gtfs_import('guide_time_simple'), 18::bigint, 'time-based guide, simplified with rule_priority: the feed loads');
CREATE TEMP TABLE time_cases (legs text, fare numeric, what text);
INSERT INTO time_cases VALUES
    ('8039|8066|13686|2025-03-03 10:00-08|2025-03-03 10:20-08', 4.65, 'Monday 10:00, ZN1 to ZN2: the daytime 2-zone fare'),
    ('8039|8066|13686|2025-03-03 19:00-08|2025-03-03 19:20-08', 3.20, 'Monday 19:00, ZN1 to ZN2: the evening 1-zone fare'),
    ('8039|8090|13686|2025-03-04 01:30-08|2025-03-04 02:10-08', 3.20, 'Tuesday 01:30 (after midnight, still evening): 1-zone fare'),
    ('8039|8090|13686|2025-03-08 12:00-08|2025-03-08 12:40-08', 3.20, 'Saturday noon, ZN1 to ZN3: the weekend 1-zone fare'),
    ('99901|8039|13686|2025-03-03 20:00-08|2025-03-03 20:25-08', 8.20, 'Monday 20:00 from Sea Island: 8.20'),
    ('99901|8039|13686|2025-03-03 09:00-08|2025-03-03 09:25-08', 9.65, 'Monday 09:00 from Sea Island to ZN1: 9.65'),
    ('99901|99902|13686|2025-03-08 09:00-08|2025-03-08 09:05-08', 0, 'Saturday within Sea Island: free'),
    ('50001|50002|10232|2025-03-03 19:00-08|2025-03-03 19:10-08', 3.20, 'a bus at any time: 3.20');
SELECT is(faregate.gtfs_journey_fare('guide_time', pg_temp.legs(legs)), fare, 'time-based guide: ' || what) FROM time_cases;
SELECT is((SELECT count(*) FROM time_cases c
            WHERE faregate.gtfs_journey_fare('guide_time_simple', pg_temp.legs(c.legs)) = c.fare),
          (SELECT count(*) FROM time_cases), 'time-based guide, simplified: the same 8 prices');

-- ---------------------------------------------------------------------------------------------------
-- Fare transfers: A+AB within 90 minutes (duration_limit_type 1); bus to bus free; AddFare upgrades.
-- The guide's consecutive pricing of its 3-leg example is 2-zone + 0 + the 1-to-2-zone AddFare: its
-- text adds 1.65, its product table says 1.45, which is what this feed says (4.65 + 0 + 1.45 = 6.10).
-- nonconsecutive_transfers_allowed (the guide's 4.65) is a proposal, not in the reference: not supported.
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.stage_zone_feed();
SELECT pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,fare_product_id,from_area_id,to_area_id
    flat_fare_leg,translink_bus,bus_flat_fare,,
    ZN1_ZN1,skytrain_seabus,1_zone_fare,ZN1,ZN1
    ZN2_ZN2,skytrain_seabus,1_zone_fare,ZN2,ZN2
    ZN1_ZN2,skytrain_seabus,2_zone_fare,ZN1,ZN2
    ZN1_ZN2,skytrain_seabus,2_zone_fare,ZN2,ZN1');
SELECT pg_temp.gtfs_file('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,duration_limit_type,fare_transfer_type,fare_product_id
    flat_fare_leg,flat_fare_leg,-1,5400,1,0,
    ZN1_ZN1,flat_fare_leg,,5400,1,0,
    flat_fare_leg,ZN1_ZN1,,5400,1,0,
    ZN1_ZN2,flat_fare_leg,,5400,1,0,
    flat_fare_leg,ZN1_ZN2,,5400,1,0,1_zone_to_2_zone_upgrade
    ZN2_ZN2,flat_fare_leg,,5400,1,0,
    flat_fare_leg,ZN2_ZN2,,5400,1,0,
    ZN1_ZN1,ZN1_ZN2,,5400,1,0,1_zone_to_2_zone_upgrade
    ZN1_ZN2,ZN1_ZN1,,5400,1,0,
    ZN1_ZN2,ZN2_ZN2,,5400,1,0,
    ZN1_ZN2,ZN1_ZN2,-1,5400,1,0,');
SELECT is(faregate.gtfs_import('guide_transfers'), 5::bigint, 'fare transfers guide: the feed loads');
SELECT is(pg_temp.priced('guide_transfers', pg_temp.legs(
              '8070|8039|30052|2025-03-03 10:00-08|2025-03-03 10:15-08',
              '8039|8040|13686|2025-03-03 10:20-08|2025-03-03 10:35-08',
              '8040|8071|13686|2025-03-03 10:45-08|2025-03-03 11:20-08')),
          '1 leg 2_zone_fare 4.65 CAD; 2 leg 1_zone_fare 0.00 CAD; 2 transfer (free) 0.00 CAD; 3 leg 2_zone_fare 0.00 CAD; 3 transfer 1_zone_to_2_zone_upgrade 1.45 CAD; - total (free) 6.10 CAD',
          'fare transfers guide: Lonsdale Quay - Waterfront - Commercial-Broadway - Lake City Way, consecutive transfers: 4.65 + 0 + 1.45');
SELECT is(faregate.gtfs_journey_fare('guide_transfers', pg_temp.legs(
              '50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08',
              '50002|50001|10232|2025-03-03 11:00-08|2025-03-03 11:12-08')),
          3.20, 'fare transfers guide: bus to bus within 90 minutes is free');
SELECT is(faregate.gtfs_journey_fare('guide_transfers', pg_temp.legs(
              '50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08',
              '50002|50001|10232|2025-03-03 11:31-08|2025-03-03 11:43-08')),
          6.40, 'fare transfers guide: bus to bus after 91 minutes pays again');
SELECT is(faregate.gtfs_journey_fare('guide_transfers', pg_temp.legs(
              '50001|50002|10232|2025-03-03 10:00-08|2025-03-03 10:12-08',
              '8039|8066|13686|2025-03-03 10:30-08|2025-03-03 10:50-08')),
          4.65, 'fare transfers guide: bus then a 2-zone SkyTrain leg: 3.20 + the 1.45 AddFare');

SELECT * FROM finish();
ROLLBACK;
