-- 10_fares_keys.sql: the fare cache drops only what changed. Another session (dblink) commits changes;
-- this session's next call sees each one, while its other entries stay (fare_cache_stats: misses count
-- fills, rebuilds the invalidations that dropped something held, entries the keys held). Also: a pair
-- that gains a rule, a deleted rule, a new zone, a timeframe change behind many keys, a change committed
-- while this session fills an entry (blocked on a table lock), REPEATABLE READ, and a rollback. Works
-- on committed rows (zones K1..K4, timeframe kpeak), removed at the end.
SELECT plan(43);

-- clean start, in case an earlier run of this file was interrupted
DELETE FROM faregate.fare_rules WHERE from_zone LIKE 'K_';
DELETE FROM faregate.zones WHERE zone_id LIKE 'K_';
DELETE FROM faregate.timeframe_names WHERE timeframe = 'kpeak';
INSERT INTO faregate.zones VALUES ('K1', 'keys one'), ('K2', 'keys two'), ('K3', 'keys three');
INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency)
VALUES ('K1', 'K2', 1.00, 'EUR'), ('K1', 'K3', 1.10, 'EUR'), ('K2', 'K3', 1.20, 'EUR'), ('K2', 'K1', 1.30, 'EUR');

SELECT is(dblink_connect('writer', format('dbname=%s host=127.0.0.1 port=%s user=%s',
                                          current_database(), current_setting('port'), current_user)),
          'OK', 'a writing session connected through dblink');
CREATE TEMP TABLE seen AS SELECT * FROM faregate.fare_cache_stats();
CREATE FUNCTION pg_temp.stats_delta()
    RETURNS TABLE (misses bigint, rebuilds bigint, entries bigint, key_invalidations bigint, full_invalidations bigint)
LANGUAGE sql AS $$
    SELECT s.misses - o.misses, s.rebuilds - o.rebuilds, s.entries, s.key_invalidations - o.key_invalidations,
           s.full_invalidations - o.full_invalidations FROM faregate.fare_cache_stats() s, seen o
$$;
CREATE FUNCTION pg_temp.mark() RETURNS void LANGUAGE sql AS $$
    DELETE FROM seen; INSERT INTO seen SELECT * FROM faregate.fare_cache_stats();
$$;

-- four keys cached
SELECT is(faregate.fare('K1', 'K2') + faregate.fare('K1', 'K3') + faregate.fare('K2', 'K3') + faregate.fare('K2', 'K1'),
          4.60, 'four pairs priced');
SELECT pg_temp.mark();
SELECT is(faregate.fare('K1', 'K2') + faregate.fare('K1', 'K3') + faregate.fare('K2', 'K3') + faregate.fare('K2', 'K1'),
          4.60, 'priced again');
SELECT is((SELECT misses FROM pg_temp.stats_delta()), 0::bigint, 'all four were hits');

-- one key changes: seen at the next call, the other three stay
SELECT pg_temp.mark();
SELECT is(dblink_exec('writer', $$UPDATE faregate.fare_rules SET amount = 2.00 WHERE from_zone = 'K1' AND to_zone = 'K2'$$),
          'UPDATE 1', 'the writer commits a change to K1 -> K2');
SELECT is(faregate.fare('K1', 'K2'), 2.00, 'the changed key is seen at the next call');
SELECT is(faregate.fare('K1', 'K3') + faregate.fare('K2', 'K3') + faregate.fare('K2', 'K1'), 3.60, 'the others unchanged');
SELECT is((SELECT row(misses, rebuilds)::text FROM pg_temp.stats_delta()), '(1,1)',
          'one invalidation, one refill: the other three entries were kept');
SELECT is((SELECT row(key_invalidations, full_invalidations)::text FROM pg_temp.stats_delta()), '(1,0)',
          'fare_cache_stats counts it as one per-key invalidation, no full one');

-- a pair without a rule (a negative entry) gains one
SELECT throws_ok($$SELECT faregate.fare('K3', 'K1')$$, 'FG001', NULL, 'K3 -> K1 has no rule');
SELECT pg_temp.mark();
SELECT throws_ok($$SELECT faregate.fare('K3', 'K1')$$, 'FG001', NULL, 'still none (from the negative entry)');
SELECT is((SELECT misses FROM pg_temp.stats_delta()), 0::bigint, 'the missing rule was a cached negative entry');
SELECT is(dblink_exec('writer', $$INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency) VALUES ('K3', 'K1', 3.10, 'EUR')$$),
          'INSERT 0 1', 'the writer adds a rule for K3 -> K1');
SELECT is(faregate.fare('K3', 'K1'), 3.10, 'the new rule is seen at the next call');

-- a deleted rule
SELECT is(dblink_exec('writer', $$DELETE FROM faregate.fare_rules WHERE from_zone = 'K2' AND to_zone = 'K1'$$),
          'DELETE 1', 'the writer deletes K2 -> K1');
SELECT throws_ok($$SELECT faregate.fare('K2', 'K1')$$, 'FG001', NULL, 'the deleted rule is gone at the next call');

-- a new zone, with a rule
SELECT pg_temp.mark();
SELECT is(dblink_exec('writer', $$BEGIN; INSERT INTO faregate.zones VALUES ('K4', 'keys four');
    INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency) VALUES ('K1', 'K4', 4.10, 'EUR'); COMMIT$$),
          'COMMIT', 'the writer adds zone K4 and a rule K1 -> K4');
SELECT is(faregate.fare('K1', 'K4'), 4.10, 'the new zone prices at the next call');
SELECT is((SELECT row(rebuilds, entries)::text FROM pg_temp.stats_delta()), '(1,1)',
          'a new zone drops everything once; only the key priced since is held');
SELECT is((SELECT full_invalidations FROM pg_temp.stats_delta()), 1::bigint,
          'fare_cache_stats counts the new zone as one full invalidation');

-- a timeframe change behind many keys: every K rule gets a kpeak twin at 9.xx, then kpeak covers all week
SELECT is(dblink_exec('writer', $$BEGIN;
    INSERT INTO faregate.timeframes VALUES ('kpeak', '{1,2,3,4,5,6,7}', '00:00', '00:01');
    INSERT INTO faregate.fare_rules (from_zone, to_zone, timeframe, amount, currency)
        SELECT from_zone, to_zone, 'kpeak', amount + 8, currency FROM faregate.fare_rules WHERE from_zone LIKE 'K_';
    COMMIT$$), 'COMMIT', 'the writer adds kpeak rules for every K pair, kpeak one minute a day');
SELECT is(faregate.fare('K1', 'K2', '2026-03-23 12:00+00') + faregate.fare('K1', 'K3', '2026-03-23 12:00+00'), 3.10,
          'at noon the any-time rules apply');
SELECT is(dblink_exec('writer', $$UPDATE faregate.timeframes SET end_time = '24:00' WHERE timeframe = 'kpeak'$$),
          'UPDATE 1', 'the writer stretches kpeak over the whole day');
SELECT is(faregate.fare('K1', 'K2', '2026-03-23 12:00+00') + faregate.fare('K1', 'K3', '2026-03-23 12:00+00'), 19.10,
          'the next call prices every key with the kpeak rules');

-- a change committed while this session fills an entry: the writer holds a lock on fare_rules, this
-- session's fill (snapshot taken) waits for it, the writer changes the rule and commits
SELECT is(dblink_connect('reader', format('dbname=%s host=127.0.0.1 port=%s user=%s',
                                          current_database(), current_setting('port'), current_user)),
          'OK', 'a reading session connected');
SELECT is((SELECT f FROM dblink('reader', $$SELECT faregate.fare('K1', 'K2', '2026-03-23 12:00+00')$$) AS t(f numeric)), 10.00,
          'the reader prices (and builds its cache)');
SELECT is(dblink_exec('writer', 'BEGIN'), 'BEGIN', 'the writer opens a transaction');
SELECT is(dblink_exec('writer', 'LOCK TABLE faregate.fare_rules IN ACCESS EXCLUSIVE MODE'), 'LOCK TABLE', 'and locks fare_rules');
SELECT is(dblink_send_query('reader', $$SELECT faregate.fare('K2', 'K3', '2026-03-23 12:00+00')$$), 1,
          'the reader starts pricing K2 -> K3, not cached yet');
DO $$ BEGIN  -- until the reader waits for the lock (at most 30 s)
    FOR i IN 1..300 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'faregate.fare_rules'::regclass AND NOT granted);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT ok(EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'faregate.fare_rules'::regclass AND NOT granted),
          'the reader waits for the lock in the middle of filling K2 -> K3');
SELECT is(dblink_exec('writer', $$UPDATE faregate.fare_rules SET amount = 5.55 WHERE from_zone = 'K2' AND to_zone = 'K3' AND timeframe = 'kpeak'$$),
          'UPDATE 1', 'the writer changes K2 -> K3 meanwhile');
SELECT is(dblink_exec('writer', 'COMMIT'), 'COMMIT', 'and commits');
SELECT ok((SELECT f IN (9.20, 5.55) FROM dblink_get_result('reader') AS t(f numeric)),
          'the blocked call answers with the rule before or after the change');
SELECT is((SELECT count(*)::int FROM dblink_get_result('reader') AS t(f numeric)), 0, 'the reader''s call is over');
SELECT is((SELECT f FROM dblink('reader', $$SELECT faregate.fare('K2', 'K3', '2026-03-23 12:00+00')$$) AS t(f numeric)), 5.55,
          'the entry filled during the change does not outlive it: the next call has 5.55');

-- REPEATABLE READ: a change committed during the transaction is seen at the next call
SELECT is(dblink_exec('reader', 'BEGIN ISOLATION LEVEL REPEATABLE READ'), 'BEGIN', 'the reader opens a REPEATABLE READ transaction');
SELECT is((SELECT f FROM dblink('reader', $$SELECT faregate.fare('K1', 'K3', '2026-03-23 12:00+00')$$) AS t(f numeric)), 9.10,
          'REPEATABLE READ: the current fare');
SELECT is(dblink_exec('writer', $$UPDATE faregate.fare_rules SET amount = 6.66 WHERE from_zone = 'K1' AND to_zone = 'K3' AND timeframe = 'kpeak'$$),
          'UPDATE 1', 'the writer commits a change meanwhile');
SELECT is((SELECT f FROM dblink('reader', $$SELECT faregate.fare('K1', 'K3', '2026-03-23 12:00+00')$$) AS t(f numeric)), 6.66,
          'REPEATABLE READ: the committed change is seen at the next call');
SELECT is(dblink_exec('reader', 'COMMIT'), 'COMMIT', 'the reader commits');

-- own change rolled back to a savepoint
BEGIN;
SAVEPOINT s;
UPDATE faregate.fare_rules SET amount = 7.77 WHERE from_zone = 'K1' AND to_zone = 'K3' AND timeframe = 'kpeak';
SELECT is(faregate.fare('K1', 'K3', '2026-03-23 12:00+00'), 7.77, 'own change seen inside the transaction');
ROLLBACK TO SAVEPOINT s;
SELECT is(faregate.fare('K1', 'K3', '2026-03-23 12:00+00'), 6.66, 'after ROLLBACK TO SAVEPOINT the change is gone');
COMMIT;

SELECT is(dblink_disconnect('reader') || dblink_disconnect('writer'), 'OKOK', 'both sessions disconnected');
DELETE FROM faregate.fare_rules WHERE from_zone LIKE 'K_';
DELETE FROM faregate.zones WHERE zone_id LIKE 'K_';
DELETE FROM faregate.timeframe_names WHERE timeframe = 'kpeak';
SELECT * FROM finish();
