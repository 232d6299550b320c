-- 40_gtfs_rules.sql: each GTFS fare matching rule in isolation, on small feeds written for it: the two
-- meanings of an empty network_id / from_area_id / to_area_id (without and with a rule_priority column),
-- stations' areas, rule_priority, timeframes (service days from calendar + calendar_dates, the event's
-- local date and time, stop_timezone, to_timeframe on the arrival), fare_leg_join_rules, leg groups and
-- empty from_leg_group_id, transfer_count (a limit, -1, the smallest matching count), the four
-- duration_limit_types, the three fare_transfer_types and a free (empty) transfer product; Fares v1;
-- a feed with every optional file missing; feeds side by side and a reload. Rolled back at the end.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(71);
\ir fixtures/40_gtfs_lib.psql

-- The base every feed here starts from: stops in areas A (a1, a2), B (b1, b2), C (c1), none (n1), a
-- station st in area S with platform p1, a stop lon on London time; routes rA..rZ, one network each.
CREATE FUNCTION pg_temp.base(networks text DEFAULT 'NA NB') RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.gtfs_file('agency', 'agency_id,agency_name,agency_timezone
        ag,Agency,Europe/Zurich');
    PERFORM pg_temp.gtfs_file('stops', 'stop_id,stop_name,location_type,parent_station,stop_timezone
        a1,A one,,,
        a2,A two,,,
        b1,B one,,,
        b2,B two,,,
        c1,C one,,,
        n1,No area,,,
        st,Station,1,,
        p1,Platform 1,0,st,
        lon,London,,,Europe/London');
    PERFORM pg_temp.gtfs_file('routes', 'route_id,agency_id,route_type,network_id
        rX,ag,3,' || E'\n' ||
        (SELECT string_agg(format('r%s,ag,3,%s', substr(n, 2), n), E'\n') FROM unnest(string_to_array(networks, ' ')) n));
    PERFORM pg_temp.gtfs_file('areas', 'area_id
        A
        B
        C
        S');
    PERFORM pg_temp.gtfs_file('stop_areas', 'area_id,stop_id
        A,a1
        A,a2
        B,b1
        B,b2
        C,c1
        S,st');
    PERFORM pg_temp.gtfs_file('fare_products', 'fare_product_id,amount,currency
        p100,1.00,CHF
        p200,2.00,CHF
        p300,3.00,CHF
        p400,4.00,CHF
        p500,5.00,CHF
        p700,7.00,CHF
        p900,9.00,CHF
        f010,0.10,CHF
        f025,0.25,CHF
        f050,0.50,CHF');
END $$;
CREATE FUNCTION pg_temp.fare(feed text, VARIADIC legs text[]) RETURNS numeric LANGUAGE sql AS $$
    SELECT faregate.gtfs_journey_fare(feed, pg_temp.legs(VARIADIC legs))
$$;
CREATE FUNCTION pg_temp.nopt(feed text, VARIADIC legs text[]) RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_temp.n_options(feed, pg_temp.legs(VARIADIC legs))
$$;

-- ---------------------------------------------------------------------------------------------------
-- Empty network_id: without rule_priority "every network no rule names"; with it "any network"
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.base();
SELECT pg_temp.gtfs_file('fare_leg_rules', 'network_id,fare_product_id
    NA,p100
    ,p200');
SELECT is(faregate.gtfs_import('net'), 2::bigint, 'network feed loads');
SELECT is(pg_temp.fare('net', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 1.00, 'no rule_priority: a leg on NA takes the NA rule');
SELECT is(pg_temp.nopt('net', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 1::bigint, 'no rule_priority: the empty network_id rule does not match NA, which a rule names');
SELECT is(pg_temp.fare('net', 'a1|b1|rB|2025-03-03 10:00+01|2025-03-03 10:10+01'), 2.00, 'no rule_priority: a leg on NB (no rule names it) takes the empty network_id rule');
SELECT is(pg_temp.fare('net', 'a1|b1|rX|2025-03-03 10:00+01|2025-03-03 10:10+01'), 2.00, 'no rule_priority: a route without network takes the empty network_id rule');
SELECT pg_temp.base();
SELECT pg_temp.gtfs_file('fare_leg_rules', 'network_id,fare_product_id,rule_priority
    NA,p100,
    ,p200,');
SELECT is(faregate.gtfs_import('net_prio'), 2::bigint, 'network feed with a rule_priority column loads');
SELECT is(pg_temp.nopt('net_prio', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 2::bigint, 'with rule_priority: an empty network_id matches NA too (two options)');
SELECT is(pg_temp.fare('net_prio', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 1.00, 'with rule_priority: the cheaper option is the price');

-- ---------------------------------------------------------------------------------------------------
-- Empty from_area_id / to_area_id, stations' areas
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.base();
SELECT pg_temp.gtfs_file('fare_leg_rules', 'from_area_id,to_area_id,fare_product_id
    A,,p100
    ,,p200
    S,,p500
    ,C,p700');
SELECT is(faregate.gtfs_import('area'), 4::bigint, 'area feed loads');
SELECT is(pg_temp.fare('area', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 1.00, 'no rule_priority: from A takes the A rule only');
SELECT is(pg_temp.nopt('area', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 1::bigint, 'no rule_priority: the empty from_area_id rule does not match a stop in a named area');
SELECT is(pg_temp.fare('area', 'b1|a1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 2.00, 'no rule_priority: from B (named by no rule) takes the empty from_area_id rule');
SELECT is(pg_temp.fare('area', 'n1|a1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 2.00, 'no rule_priority: from a stop in no area takes the empty from_area_id rule');
SELECT is(pg_temp.fare('area', 'p1|a1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 5.00, 'a platform is in the areas of its station (S)');
SELECT is(pg_temp.fare('area', 'b1|c1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 7.00, 'no rule_priority: to C takes the C rule, not the empty to_area_id ones');
SELECT pg_temp.base();
SELECT pg_temp.gtfs_file('fare_leg_rules', 'from_area_id,to_area_id,fare_product_id,rule_priority
    A,,p100,
    ,,p200,');
SELECT is(faregate.gtfs_import('area_prio'), 2::bigint, 'area feed with rule_priority loads');
SELECT is(pg_temp.nopt('area_prio', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 2::bigint, 'with rule_priority: an empty from_area_id matches a stop in A too');

-- ---------------------------------------------------------------------------------------------------
-- rule_priority: the highest matching priority wins, even when dearer
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.base();
SELECT pg_temp.gtfs_file('fare_leg_rules', 'from_area_id,fare_product_id,rule_priority
    ,p200,
    A,p900,5');
SELECT is(faregate.gtfs_import('prio'), 2::bigint, 'priority feed loads');
SELECT is(pg_temp.fare('prio', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 9.00, 'rule_priority 5 beats the empty (0) priority although dearer');
SELECT is(pg_temp.nopt('prio', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 1::bigint, 'only the highest priority''s rules are options');
SELECT is(pg_temp.fare('prio', 'b1|a1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 2.00, 'from B only the priority-0 rule matches');

-- ---------------------------------------------------------------------------------------------------
-- Timeframes: service days, the local date and time of the event, stop_timezone, to_timeframe
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.base();
SELECT pg_temp.gtfs_file('calendar', 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
    wk,1,1,1,1,1,0,0,20250101,20251231');
SELECT pg_temp.gtfs_file('calendar_dates', 'service_id,date,exception_type
    wk,20250305,2
    wk,20250308,1');
SELECT pg_temp.gtfs_file('timeframes', 'timeframe_group_id,start_time,end_time,service_id
    peak,07:00:00,09:00:00,wk');
SELECT pg_temp.gtfs_file('fare_leg_rules', 'network_id,from_timeframe_group_id,to_timeframe_group_id,fare_product_id,rule_priority
    NA,peak,,p300,1
    NA,,,p200,0
    NB,,peak,p400,1
    NB,,,p200,0');
SELECT is(faregate.gtfs_import('time'), 4::bigint, 'timeframe feed loads');
SELECT is(pg_temp.fare('time', 'a1|b1|rA|2025-03-03 08:00+01|2025-03-03 08:10+01'), 3.00, 'Monday 08:00 local is in the peak timeframe');
SELECT is(pg_temp.fare('time', 'a1|b1|rA|2025-03-03 09:00+01|2025-03-03 09:10+01'), 2.00, 'end_time is exclusive: 09:00 is off-peak');
SELECT is(pg_temp.fare('time', 'a1|b1|rA|2025-03-05 08:00+01|2025-03-05 08:10+01'), 2.00, 'a date calendar_dates removes (exception_type 2) is no service day');
SELECT is(pg_temp.fare('time', 'a1|b1|rA|2025-03-08 08:00+01|2025-03-08 08:10+01'), 3.00, 'a Saturday calendar_dates adds (exception_type 1) is a service day');
SELECT is(pg_temp.fare('time', 'a1|b1|rA|2025-03-03 06:30+00|2025-03-03 06:40+00'), 3.00, '06:30 UTC is 07:30 in the agency time zone: peak');
SELECT is(pg_temp.fare('time', 'a1|b1|rA|2025-03-02 23:30+00|2025-03-02 23:40+00'), 2.00, '23:30 UTC Sunday is 00:30 Monday local: a service day, but not peak');
SELECT is(pg_temp.fare('time', 'lon|b1|rA|2025-03-03 08:30+00|2025-03-03 08:40+00'), 3.00, 'a stop''s stop_timezone (London: 08:30) rules its departure time, not the agency''s (09:30)');
SELECT is(pg_temp.fare('time', 'a1|b1|rB|2025-03-03 06:30+01|2025-03-03 07:10+01'), 4.00, 'to_timeframe_group_id: an arrival at 07:10 is in peak');
SELECT is(pg_temp.fare('time', 'a1|b1|rB|2025-03-03 08:30+01|2025-03-03 09:10+01'), 2.00, 'to_timeframe_group_id: a peak departure arriving at 09:10 is not');

-- ---------------------------------------------------------------------------------------------------
-- fare_leg_join_rules: two legs on NA transferring at b1 are one effective leg (A to C)
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.base();
SELECT pg_temp.gtfs_file('fare_leg_join_rules', 'from_network_id,to_network_id,from_stop_id,to_stop_id
    NA,NA,b1,b1');
SELECT pg_temp.gtfs_file('fare_leg_rules', 'network_id,from_area_id,to_area_id,fare_product_id
    NA,A,B,p100
    NA,B,C,p100
    NA,A,C,p700');
SELECT is(faregate.gtfs_import('join'), 3::bigint, 'join feed loads');
SELECT is(pg_temp.priced('join', pg_temp.legs('a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|c1|rA|2025-03-03 10:15+01|2025-03-03 10:25+01')),
          '1 leg p700 7.00 CHF; - total (free) 7.00 CHF', 'joined legs are priced as one effective leg from A to C');
SELECT is(pg_temp.fare('join', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b2|c1|rA|2025-03-03 10:15+01|2025-03-03 10:25+01'),
          2.00, 'a transfer at other stops than the join rule names is two legs (A to B, B to C)');

-- ---------------------------------------------------------------------------------------------------
-- transfer_count: a limit; -1 = no limit; of several, the smallest count >= the transfer's number
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.base('NA NB NC');
SELECT pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,fare_product_id
    gA,NA,p100
    gB,NB,p100
    gC,NC,p100');
SELECT pg_temp.gtfs_file('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type,fare_product_id
    gA,gA,1,0,f025
    gB,gB,-1,0,f025
    gC,gC,1,0,f025
    gC,gC,2,0,f010');
SELECT is(faregate.gtfs_import('count'), 3::bigint, 'transfer_count feed loads');
SELECT is(pg_temp.fare('count', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|c1|rA|2025-03-03 10:15+01|2025-03-03 10:25+01', 'c1|a1|rA|2025-03-03 10:30+01|2025-03-03 10:40+01'),
          2.25, 'transfer_count 1: the second transfer starts a new sub-journey (1.00 + 0.25 + 1.00)');
SELECT is(pg_temp.fare('count', 'a1|b1|rB|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|c1|rB|2025-03-03 10:15+01|2025-03-03 10:25+01', 'c1|a1|rB|2025-03-03 10:30+01|2025-03-03 10:40+01'),
          1.50, 'transfer_count -1: every transfer (1.00 + 0.25 + 0.25)');
SELECT is(pg_temp.fare('count', 'a1|b1|rC|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|c1|rC|2025-03-03 10:15+01|2025-03-03 10:25+01', 'c1|a1|rC|2025-03-03 10:30+01|2025-03-03 10:40+01'),
          1.35, 'transfer 1 takes the count-1 rule (0.25), transfer 2 the count-2 rule (0.10): the smallest count >= the transfer''s');

-- ---------------------------------------------------------------------------------------------------
-- duration_limit_type 0..3 (limit 1800 s): which pair of events the limit measures
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.base('N0 N1 N2 N3');
SELECT pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,fare_product_id
    g0,N0,p200
    g1,N1,p200
    g2,N2,p200
    g3,N3,p200');
SELECT pg_temp.gtfs_file('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,duration_limit_type,fare_transfer_type,fare_product_id
    g0,g0,-1,1800,0,0,
    g1,g1,-1,1800,1,0,
    g2,g2,-1,1800,2,0,
    g3,g3,-1,1800,3,0,');
SELECT is(faregate.gtfs_import('dur'), 4::bigint, 'duration feed loads');
-- journey J1: leg 10:00-10:20, leg 10:25-10:40; J2: 10:00-10:20, 10:35-10:55; J3: 10:00-10:20, 10:45-10:50
CREATE TEMP TABLE dur_cases (t int, j text, first_leg text, second_leg text, fare numeric);
INSERT INTO dur_cases SELECT t, j, f, s, CASE WHEN ok THEN 2.00 ELSE 4.00 END FROM (VALUES
    (0, 'J1', '10:25', '10:40', false), (1, 'J1', '10:25', '10:40', true), (2, 'J1', '10:25', '10:40', true), (3, 'J1', '10:25', '10:40', true),
    (0, 'J2', '10:35', '10:55', false), (1, 'J2', '10:35', '10:55', false), (2, 'J2', '10:35', '10:55', true), (3, 'J2', '10:35', '10:55', false),
    (1, 'J3', '10:45', '10:50', false), (3, 'J3', '10:45', '10:50', true)) v(t, j, f, s, ok);
SELECT is(pg_temp.fare('dur', format('a1|b1|r%s|2025-03-03 10:00+01|2025-03-03 10:20+01', t),
                              format('b1|c1|r%s|2025-03-03 %s+01|2025-03-03 %s+01', t, first_leg, second_leg)), fare,
          format('duration_limit_type %s, %s: %s', t, j, CASE WHEN fare = 2 THEN 'within the limit, free transfer' ELSE 'beyond the limit, two fares' END))
  FROM dur_cases ORDER BY j, t;

-- ---------------------------------------------------------------------------------------------------
-- fare_transfer_type 0 (A+AB), 1 (A+AB+B), 2 (AB); an empty transfer product is free; an empty
-- from_leg_group_id is every leg group that no rule names as from_leg_group_id
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.base('T0 T1 T2 T3 T4');
SELECT pg_temp.gtfs_file('fare_leg_rules', 'leg_group_id,network_id,from_area_id,fare_product_id
    t0a,T0,A,p200
    t0b,T0,B,p300
    t1a,T1,A,p200
    t1b,T1,B,p300
    t2a,T2,A,p200
    t2b,T2,B,p300
    t3a,T3,A,p200
    t3b,T3,B,p300
    t4a,T4,A,p200
    t4b,T4,B,p300
    t4c,T4,C,p400');
SELECT pg_temp.gtfs_file('fare_transfer_rules', 'from_leg_group_id,to_leg_group_id,fare_transfer_type,fare_product_id
    t0a,t0b,0,f050
    t1a,t1b,1,f050
    t2a,t2b,2,f050
    t3a,t3b,0,
    ,t4b,0,
    t4c,t4b,1,p100');
SELECT is(faregate.gtfs_import('ttype'), 11::bigint, 'transfer type feed loads');
SELECT is(pg_temp.priced('ttype', pg_temp.legs('a1|b1|r0|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|c1|r0|2025-03-03 10:15+01|2025-03-03 10:25+01')),
          '1 leg p200 2.00 CHF; 2 leg p300 0.00 CHF; 2 transfer f050 0.50 CHF; - total (free) 2.50 CHF', 'fare_transfer_type 0: A + AB = 2.50');
SELECT is(pg_temp.fare('ttype', 'a1|b1|r1|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|c1|r1|2025-03-03 10:15+01|2025-03-03 10:25+01'),
          5.50, 'fare_transfer_type 1: A + AB + B = 5.50');
SELECT is(pg_temp.priced('ttype', pg_temp.legs('a1|b1|r2|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|c1|r2|2025-03-03 10:15+01|2025-03-03 10:25+01')),
          '1 leg p200 0.00 CHF; 2 leg p300 0.00 CHF; 2 transfer f050 0.50 CHF; - total (free) 0.50 CHF', 'fare_transfer_type 2: AB = 0.50');
SELECT is(pg_temp.fare('ttype', 'a1|b1|r3|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|c1|r3|2025-03-03 10:15+01|2025-03-03 10:25+01'),
          2.00, 'an empty transfer fare_product_id is a free transfer');
SELECT is(pg_temp.fare('ttype', 'a1|b1|r4|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|c1|r4|2025-03-03 10:15+01|2025-03-03 10:25+01'),
          2.00, 'an empty from_leg_group_id matches t4a, which no rule names as from_leg_group_id');
SELECT is(pg_temp.fare('ttype', 'c1|b1|r4|2025-03-03 10:00+01|2025-03-03 10:10+01', 'b1|a1|r4|2025-03-03 10:15+01|2025-03-03 10:25+01'),
          8.00, 'an empty from_leg_group_id does not match t4c, which a rule names: its own rule applies (4.00 + 1.00 + 3.00)');

-- ---------------------------------------------------------------------------------------------------
-- Fares v1: origin/destination zones, routes, contains, transfers and transfer_duration
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.gtfs_file('agency', 'agency_id,agency_name,agency_timezone
    ag,Agency,America/New_York');
SELECT pg_temp.gtfs_file('stops', 'stop_id,stop_name,zone_id
    s1,One,z1
    s1b,One b,z1
    s2,Two,z2
    s3,Three,z3');
SELECT pg_temp.gtfs_file('routes', 'route_id,agency_id,route_type
    rA,ag,3
    rB,ag,3');
SELECT pg_temp.gtfs_file('fare_attributes', 'fare_id,price,currency_type,payment_method,transfers,transfer_duration
    local,2.50,USD,0,0,
    z12,4.00,USD,1,,3600
    route_b,1.50,USD,0,1,1800
    through,6.00,USD,1,0,');
SELECT pg_temp.gtfs_file('fare_rules', 'fare_id,route_id,origin_id,destination_id,contains_id
    local,,z1,z1,
    z12,,z1,z2,
    z12,,z2,z1,
    route_b,rB,,,
    through,,,,z2
    through,,,,z3');
SELECT is(faregate.gtfs_import('v1'), 6::bigint, 'Fares v1 feed loads (6 fare_rules)');
SELECT is(pg_temp.fare('v1', 's1|s1b|rA|2025-03-03 10:00-05|2025-03-03 10:10-05'), 2.50, 'v1: z1 to z1 is the local fare');
SELECT is(pg_temp.fare('v1', 's1|s2|rA|2025-03-03 10:00-05|2025-03-03 10:10-05'), 4.00, 'v1: z1 to z2 by origin and destination');
SELECT is(pg_temp.fare('v1', 's1|s1b|rB|2025-03-03 10:00-05|2025-03-03 10:10-05'), 1.50, 'v1: on route rB the route fare is the cheaper of two');
SELECT is(pg_temp.fare('v1', 's2|s3|rA|2025-03-03 10:00-05|2025-03-03 10:10-05'), 6.00, 'v1: a leg touching exactly z2 and z3 takes the contains fare');
SELECT is(pg_temp.fare('v1', 's1|s2|rA|2025-03-03 10:00-05|2025-03-03 10:10-05', 's2|s1|rA|2025-03-03 10:40-05|2025-03-03 10:50-05'),
          4.00, 'v1: a transfer on the same fare within transfer_duration is free');
SELECT is(pg_temp.fare('v1', 's1|s2|rA|2025-03-03 10:00-05|2025-03-03 10:10-05', 's2|s1|rA|2025-03-03 11:40-05|2025-03-03 11:50-05'),
          8.00, 'v1: after transfer_duration the fare is paid again');
SELECT is(pg_temp.fare('v1', 's1|s1b|rB|2025-03-03 10:00-05|2025-03-03 10:10-05', 's1b|s1|rB|2025-03-03 10:15-05|2025-03-03 10:25-05', 's1|s1b|rB|2025-03-03 10:30-05|2025-03-03 10:40-05'),
          3.00, 'v1: transfers = 1 covers one transfer; the third leg pays again');

-- ---------------------------------------------------------------------------------------------------
-- A feed with every optional file missing; feeds side by side; a reload replaces one feed
-- ---------------------------------------------------------------------------------------------------
SELECT pg_temp.gtfs_file('agency', 'agency_id,agency_timezone
    ag,Europe/Zurich');
SELECT is(faregate.gtfs_import('bare'), 0::bigint, 'a feed of agency.txt alone loads (every other file is optional)');
SELECT throws_ok($$SELECT pg_temp.fare('bare', 'x|y|z|2025-03-03 10:00+01|2025-03-03 10:10+01')$$, 'FG103', NULL,
                 'pricing on a feed without fares is FG103');
SELECT pg_temp.base();
SELECT pg_temp.gtfs_file('fare_leg_rules', 'fare_product_id
    p300');
SELECT faregate.gtfs_import('side');
SELECT is(pg_temp.fare('side', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01'), 3.00, 'feed side: 3.00');
SELECT pg_temp.base();
SELECT pg_temp.gtfs_file('fare_leg_rules', 'fare_product_id
    p500');
SELECT faregate.gtfs_import('net');
SELECT is(pg_temp.fare('net', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01') || ' ' || pg_temp.fare('side', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01')
          || ' ' || (SELECT count(*) FROM faregate.gtfs_fare_leg_rules WHERE feed_id = 'net'),
          '5.00 3.00 1', 'reloading feed net replaces its rules (one rule now, priced 5.00 in the same session) and leaves feed side alone');
SELECT ok(faregate.gtfs_drop_feed('side'), 'gtfs_drop_feed finds feed side');
SELECT is((SELECT count(*) FROM faregate.gtfs_stops WHERE feed_id = 'side'), 0::bigint, 'gtfs_drop_feed removed the feed''s rows');
SELECT throws_ok($$SELECT pg_temp.fare('side', 'a1|b1|rA|2025-03-03 10:00+01|2025-03-03 10:10+01')$$, 'FG102', 'unknown GTFS feed "side"',
                 'a dropped feed is unknown to the pricer (FG102), also in the session that priced it');

SELECT * FROM finish();
ROLLBACK;
