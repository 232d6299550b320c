-- 30_privileges.sql: the documented privilege model (docs/reliability.md "Privileges") and SQL-injection
-- safety. As an unprivileged role (fg_priv_nobody, only what PUBLIC has): pricing, fare-cache and queue
-- statistics and the sketch work; every write to a faregate table fails with 42501; the queue lifecycle,
-- maintenance procedures and internal helpers are refused. As a member of faregate_queue_operator
-- (fg_priv_desk): the lifecycle works, the tables stay read-only. Every SECURITY DEFINER function pins
-- search_path. An injection attempt in every text argument is just the ordinary "unknown" error and the
-- tables are still there. Uses fixtures/10_fares_network.psql; runs in a transaction that is rolled back
-- (CREATE ROLE included).
BEGIN;
SELECT plan(83);
\ir fixtures/10_fares_network.psql

CREATE ROLE fg_priv_nobody NOLOGIN;
CREATE ROLE fg_priv_desk NOLOGIN IN ROLE faregate_queue_operator;
INSERT INTO faregate.queues (name) VALUES ('privileges test queue') RETURNING queue_id AS q \gset
SELECT faregate.enqueue(:q, 't1', '2026-03-23 09:00+01') AS e1 \gset
SELECT faregate.enqueue(:q, 't2', '2026-03-23 09:01+01') AS e2 \gset
-- the injection payload, reused below
CREATE TEMP TABLE evil (s text);
INSERT INTO evil VALUES ($$a'; DROP TABLE faregate.zones; --$$);
GRANT SELECT ON evil TO fg_priv_nobody, fg_priv_desk;

-- ---------------------------------------------------------------------------------------------------
-- The catalog: who may do what
-- ---------------------------------------------------------------------------------------------------
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text)
       FROM pg_proc p
      WHERE p.pronamespace = 'faregate'::regnamespace
        AND has_function_privilege('fg_priv_nobody', p.oid, 'EXECUTE')
        AND p.proname !~ '^gtfs_'  -- GTFS functions: 40_gtfs_schema.sql
        AND p.prokind IN ('f', 'p')),
    ARRAY['faregate.charge_taps(faregate.leg[],text)',
          'faregate.estimated_wait(bigint)',
          'faregate.fare(text,text,timestamp with time zone,text)',
          'faregate.fare_cache_stats()',
          'faregate.fare_quote(text,text,timestamp with time zone,text)',
          'faregate.journey_fare(faregate.leg[],text)',
          'faregate.quantile(faregate.sketch,double precision)',
          'faregate.queue_eta(bigint)',
          'faregate.queue_position(bigint)',
          'faregate.queue_stats(bigint,timestamp with time zone)',
          'faregate.sketch_agg_trans(internal,double precision)',
          'faregate.sketch_combine(internal,internal)',
          'faregate.sketch_count(faregate.sketch)',
          'faregate.sketch_deserialize(bytea,internal)',
          'faregate.sketch_final(internal)',
          'faregate.sketch_in(cstring)',
          'faregate.sketch_merge_trans(internal,faregate.sketch)',
          'faregate.sketch_out(faregate.sketch)',
          'faregate.sketch_recv(internal)',
          'faregate.sketch_send(faregate.sketch)',
          'faregate.sketch_serialize(internal)',
          'faregate.version()'],
    'PUBLIC may execute exactly the pricing, statistics and sketch functions');
SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname)
       FROM pg_proc p
      WHERE p.pronamespace = 'faregate'::regnamespace AND p.prosecdef),
    ARRAY['call_next', 'cancel', 'enqueue', 'estimated_wait', 'finish', 'mark_no_show', 'queue_eta',
          'queue_position', 'queue_stats', 'start_service'],
    'SECURITY DEFINER: exactly the queue lifecycle and the queue statistics');
SELECT is(
    (SELECT count(*)::int FROM pg_proc p
      WHERE p.pronamespace = 'faregate'::regnamespace AND p.prosecdef
        AND p.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, faregate, pg_temp']),
    0, 'every SECURITY DEFINER function runs with search_path = pg_catalog, faregate, pg_temp');
SELECT is(
    (SELECT array_agg(c.relname::text ORDER BY c.relname)
       FROM pg_class c
      WHERE c.relnamespace = 'faregate'::regnamespace AND c.relkind IN ('r', 'p', 'S')
        AND (has_table_privilege('fg_priv_nobody', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
             OR (c.relkind = 'S' AND has_sequence_privilege('fg_priv_nobody', c.oid, 'USAGE, UPDATE')))),
    NULL, 'PUBLIC may write no faregate table or sequence');
SELECT is(
    (SELECT array_agg(c.relname::text ORDER BY c.relname)
       FROM pg_class c
      WHERE c.relnamespace = 'faregate'::regnamespace AND c.relkind IN ('r', 'p', 'S')
        AND has_table_privilege('faregate_queue_operator', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')),
    NULL, 'faregate_queue_operator may write no faregate table either (only through the lifecycle)');

SELECT table_privs_are('faregate', 'zones', 'fg_priv_nobody', ARRAY['SELECT'], 'PUBLIC reads zones');
SELECT table_privs_are('faregate', 'fare_rules', 'fg_priv_nobody', ARRAY['SELECT'], 'PUBLIC reads fare_rules');
SELECT table_privs_are('faregate', 'transfer_rules', 'fg_priv_nobody', ARRAY['SELECT'], 'PUBLIC reads transfer_rules');
SELECT table_privs_are('faregate', 'fare_caps', 'fg_priv_nobody', ARRAY['SELECT'], 'PUBLIC reads fare_caps');
SELECT table_privs_are('faregate', 'queue_entries', 'fg_priv_nobody', '{}'::text[], 'PUBLIC cannot read queue_entries');
SELECT table_privs_are('faregate', 'queue_rollup_state', 'fg_priv_nobody', '{}'::text[], 'PUBLIC cannot read queue_rollup_state');
SELECT table_privs_are('faregate', 'queue_entries', 'faregate_queue_operator', ARRAY['SELECT'], 'operators read queue_entries');
SELECT table_privs_are('faregate', 'queues', 'faregate_queue_operator', ARRAY['SELECT'], 'operators read queues');
SELECT function_privs_are('faregate', 'fare', ARRAY['text', 'text', 'timestamp with time zone', 'text'],
    'fg_priv_nobody', ARRAY['EXECUTE'], 'PUBLIC may call fare');
SELECT function_privs_are('faregate', 'queue_position', ARRAY['bigint'], 'fg_priv_nobody', ARRAY['EXECUTE'],
    'PUBLIC may call queue_position');
SELECT function_privs_are('faregate', 'enqueue', ARRAY['bigint', 'text', 'timestamp with time zone'],
    'fg_priv_nobody', '{}'::text[], 'PUBLIC may not call enqueue');
SELECT function_privs_are('faregate', 'call_next', ARRAY['bigint', 'timestamp with time zone'],
    'faregate_queue_operator', ARRAY['EXECUTE'], 'operators may call call_next');
SELECT function_privs_are('faregate', '_queue_transition', ARRAY['bigint', 'text[]', 'text', 'timestamp with time zone', 'text'],
    'faregate_queue_operator', '{}'::text[], 'nobody but the owner calls the internal _queue_transition');

-- ---------------------------------------------------------------------------------------------------
-- An unprivileged role
-- ---------------------------------------------------------------------------------------------------
SET ROLE fg_priv_nobody;
SELECT is(faregate.fare('T1', 'T2', '2026-03-23 10:00+01'), 2.50, 'nobody: fare prices');
SELECT is((SELECT rule_id IS NOT NULL FROM faregate.fare_quote('T1', 'T2', '2026-03-23 10:00+01')), true,
    'nobody: fare_quote names the rule');
SELECT is(faregate.journey_fare(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 10:30+01')), 2.50,
    'nobody: journey_fare applies the transfer');
SELECT is((SELECT sum(charged) FROM faregate.charge_taps(pg_temp.taps('T1 T2 2026-03-23 10:00+01', 'T2 T3 2026-03-23 12:30+01'))),
    4.30, 'nobody: charge_taps');
SELECT lives_ok($$SELECT * FROM faregate.fare_cache_stats()$$, 'nobody: fare_cache_stats');
SELECT is(faregate.queue_position(:e2), 2, 'nobody: queue_position through SECURITY DEFINER');
SELECT isnt(faregate.estimated_wait(:e1), NULL, 'nobody: estimated_wait');
SELECT isnt(faregate.queue_eta(:q), NULL, 'nobody: queue_eta');
SELECT is((SELECT waiting FROM faregate.queue_stats(:q)), 2, 'nobody: queue_stats');
SELECT is(faregate.sketch_count(faregate.sketch_agg(x)), 3::bigint, 'nobody: sketch_agg and sketch_count')
  FROM (VALUES (1.0::float8), (2.0), (3.0)) v(x);

SELECT throws_ok($$INSERT INTO faregate.zones VALUES ('Tevil', 'evil')$$, '42501', NULL, 'nobody: INSERT zones refused');
SELECT throws_ok($$UPDATE faregate.fare_rules SET amount = 0$$, '42501', NULL, 'nobody: UPDATE fare_rules refused');
SELECT throws_ok($$DELETE FROM faregate.transfer_rules$$, '42501', NULL, 'nobody: DELETE transfer_rules refused');
SELECT throws_ok($$TRUNCATE faregate.fare_caps$$, '42501', NULL, 'nobody: TRUNCATE fare_caps refused');
SELECT throws_ok($$INSERT INTO faregate.timeframes VALUES ('tevil', '{1}', '00:00', '24:00')$$, '42501', NULL,
    'nobody: INSERT timeframes refused');
SELECT throws_ok($$INSERT INTO faregate.rider_categories VALUES ('tevil')$$, '42501', NULL,
    'nobody: INSERT rider_categories refused');
SELECT throws_ok($$INSERT INTO faregate.queues (name) VALUES ('evil')$$, '42501', NULL, 'nobody: INSERT queues refused');
SELECT throws_ok($$UPDATE faregate.queue_entries SET status = 'served'$$, '42501', NULL,
    'nobody: UPDATE queue_entries refused');
SELECT throws_ok($$SELECT ticket FROM faregate.queue_entries$$, '42501', NULL,
    'nobody: the tickets of others are not readable');
SELECT throws_ok($$SELECT * FROM faregate.queue_counters$$, '42501', NULL, 'nobody: queue_counters not readable');
SELECT throws_ok($$SELECT nextval('faregate.fare_rules_rule_id_seq')$$, '42501', NULL,
    'nobody: the rule id sequence is not usable');
SELECT throws_ok(format('SELECT faregate.enqueue(%s)', :q), '42501', NULL, 'nobody: enqueue refused');
SELECT throws_ok(format('SELECT faregate.call_next(%s)', :q), '42501', NULL, 'nobody: call_next refused');
SELECT throws_ok(format('SELECT faregate.cancel(%s)', :e1), '42501', NULL, 'nobody: cancel refused');
SELECT throws_ok(format($$SELECT faregate._queue_transition(%s, '{waiting}', 'served', now(), 'x')$$, :e1), '42501',
    NULL, 'nobody: the internal _queue_transition refused');
SELECT throws_ok(format('SELECT faregate._queue_count(%s, 1000, 0, 0, 0, 0, 0)', :q), '42501', NULL,
    'nobody: the internal _queue_count refused');
SELECT throws_ok($$CALL faregate.queue_rollup_hourly()$$, '42501', NULL, 'nobody: queue_rollup_hourly refused');
SELECT throws_ok($$CALL faregate.queue_purge()$$, '42501', NULL, 'nobody: queue_purge refused');
SELECT throws_ok($$CREATE TABLE faregate.mine (x int)$$, '42501', NULL, 'nobody: cannot create in schema faregate');
-- a temporary table named like faregate's cannot stand in for it inside a SECURITY DEFINER function
CREATE TEMP TABLE queue_entries (entry_id bigint, queue_id bigint, status text, joined_at timestamptz);
SELECT is(faregate.queue_position(:e2), 2, 'nobody: a temp table named queue_entries does not hijack queue_position');

-- injection attempts in every text argument: just the ordinary "unknown" error
SELECT throws_ok(format('SELECT faregate.fare(%L, %L)', s, 'T2'), 'FG002', format('unknown fare zone "%s"', s),
    'fare from_zone injection: unknown zone') FROM evil;
SELECT throws_ok(format('SELECT faregate.fare(%L, %L)', 'T1', s), 'FG002', NULL, 'fare to_zone injection: unknown zone')
  FROM evil;
SELECT throws_ok(format('SELECT faregate.fare(%L, %L, now(), %L)', 'T1', 'T2', s), 'FG003',
    format('unknown rider category "%s"', s), 'fare category injection: unknown category') FROM evil;
SELECT throws_ok(format('SELECT * FROM faregate.fare_quote(%L, %L)', s, 'T2'), 'FG002', NULL,
    'fare_quote from_zone injection') FROM evil;
SELECT throws_ok(format('SELECT * FROM faregate.fare_quote(%L, %L)', 'T1', s), 'FG002', NULL,
    'fare_quote to_zone injection') FROM evil;
SELECT throws_ok(format('SELECT * FROM faregate.fare_quote(%L, %L, now(), %L)', 'T1', 'T2', s), 'FG003', NULL,
    'fare_quote category injection') FROM evil;
SELECT throws_ok(format('SELECT faregate.journey_fare(ARRAY[row(%L, %L, now())::faregate.leg])', s, 'T2'), 'FG002', NULL,
    'journey_fare leg from_zone injection') FROM evil;
SELECT throws_ok(format('SELECT faregate.journey_fare(ARRAY[row(%L, %L, now())::faregate.leg])', 'T1', s), 'FG002', NULL,
    'journey_fare leg to_zone injection') FROM evil;
SELECT throws_ok(format($$SELECT faregate.journey_fare(ARRAY[row('T1', 'T2', now())::faregate.leg], %L)$$, s), 'FG003',
    NULL, 'journey_fare category injection') FROM evil;
SELECT throws_ok(format('SELECT * FROM faregate.charge_taps(ARRAY[row(%L, %L, now())::faregate.leg])', s, 'T2'), 'FG002',
    NULL, 'charge_taps from_zone injection') FROM evil;
SELECT throws_ok(format('SELECT * FROM faregate.charge_taps(ARRAY[row(%L, %L, now())::faregate.leg])', 'T1', s), 'FG002',
    NULL, 'charge_taps to_zone injection') FROM evil;
SELECT throws_ok(format($$SELECT * FROM faregate.charge_taps(ARRAY[row('T1', 'T2', now())::faregate.leg], %L)$$, s),
    'FG003', NULL, 'charge_taps category injection') FROM evil;
SELECT throws_ok(format('SELECT %L::faregate.sketch', s), '22P02', NULL, 'sketch text input injection: malformed sketch')
  FROM evil;
SELECT throws_ok(format('SET LOCAL faregate.timezone = %L', s), '42501', NULL,
    'nobody: faregate.timezone is for superusers (SUSET)') FROM evil;
RESET ROLE;
SELECT throws_ok(format('SET LOCAL faregate.timezone = %L', s), '22023', NULL,
    'faregate.timezone injection: just an invalid value') FROM evil;

-- ---------------------------------------------------------------------------------------------------
-- A member of faregate_queue_operator
-- ---------------------------------------------------------------------------------------------------
SET ROLE fg_priv_desk;
SELECT is(faregate.call_next(:q, '2026-03-23 09:05+01'), :e1::bigint, 'desk: call_next');
SELECT lives_ok(format($$SELECT faregate.start_service(%s, '2026-03-23 09:06+01')$$, :e1), 'desk: start_service');
SELECT lives_ok(format($$SELECT faregate.finish(%s, '2026-03-23 09:10+01')$$, :e1), 'desk: finish');
SELECT throws_ok(format('SELECT faregate.finish(%s)', :e1), 'FQ003', NULL, 'desk: an illegal transition is still FQ003');
SELECT lives_ok(format('SELECT faregate.cancel(%s)', :e2), 'desk: cancel');
SELECT ok(faregate.enqueue(:q, s) > 0, 'desk: enqueue with an injection attempt as ticket') FROM evil;
SELECT is((SELECT ticket FROM faregate.queue_entries WHERE queue_id = :q ORDER BY entry_id DESC LIMIT 1), s,
    'desk: the ticket is stored verbatim, as data') FROM evil;
SELECT is((SELECT status FROM faregate.queue_entries WHERE entry_id = :e1), 'served', 'desk: reads queue_entries');
SELECT is((SELECT sum(served)::int FROM faregate.queue_counters WHERE queue_id = :q), 1,
    'desk: the lifecycle kept the counters (written as the owner)');
SELECT throws_ok(format('SELECT faregate.mark_no_show(%L)', s), '22P02', NULL,
    'desk: a text id is a type error, not SQL') FROM evil;
SELECT throws_ok(format($$INSERT INTO faregate.queue_entries (queue_id, joined_at) VALUES (%s, now())$$, :q), '42501', NULL,
    'desk: INSERT queue_entries refused (only through enqueue)');
SELECT throws_ok(format($$UPDATE faregate.queue_entries SET status = 'waiting' WHERE entry_id = %s$$, :e1), '42501', NULL,
    'desk: UPDATE queue_entries refused');
SELECT throws_ok($$DELETE FROM faregate.queue_counters$$, '42501', NULL, 'desk: DELETE queue_counters refused');
SELECT throws_ok($$INSERT INTO faregate.queues (name) VALUES ('desk queue')$$, '42501', NULL,
    'desk: creating queues is for the owner');
SELECT throws_ok($$UPDATE faregate.fare_rules SET amount = 0$$, '42501', NULL, 'desk: the fare rules stay read-only');
SELECT throws_ok($$CALL faregate.queue_purge()$$, '42501', NULL, 'desk: queue_purge refused');
RESET ROLE;

-- after all of it, the tables are all there and unchanged
SELECT has_table('faregate', 'zones', 'zones survived every injection attempt');
SELECT is((SELECT count(*)::int FROM faregate.zones WHERE zone_id LIKE 'T_'), 3, 'the test zones are unchanged');
SELECT is((SELECT count(*)::int FROM faregate.fare_rules WHERE amount = 0), 0, 'no rule was zeroed');
SELECT is((SELECT count(*)::int FROM faregate.queue_entries WHERE queue_id = :q), 3,
    'exactly the entries the lifecycle made');

SELECT * FROM finish();
ROLLBACK;
