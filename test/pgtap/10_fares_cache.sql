-- 10_fares_cache.sql: the per-backend compiled fare table and its invalidation across sessions. A
-- second session (dblink to this database) sees a committed rule change at its very next call, never an
-- uncommitted one; a rolled-back change disappears again. Works on committed rows (zones C1, C2), so it
-- removes them at the end; nothing else in the suite uses these names.
SELECT plan(23);

-- clean start, in case an earlier run of this file was interrupted
DELETE FROM faregate.fare_rules WHERE from_zone IN ('C1', 'C2');
DELETE FROM faregate.zones WHERE zone_id IN ('C1', 'C2');
INSERT INTO faregate.zones VALUES ('C1', 'cache one'), ('C2', 'cache two');
INSERT INTO faregate.fare_rules (from_zone, to_zone, amount, currency) VALUES ('C1', 'C2', 2.00, 'EUR');

SELECT is(dblink_connect('other', format('dbname=%s host=127.0.0.1 port=%s user=%s',
                                         current_database(), current_setting('port'), current_user)),
          'OK', 'second session connected through dblink');
SELECT is((SELECT f FROM dblink('other', $$SELECT faregate.fare('C1', 'C2')$$) AS t(f numeric)), 2.00,
          'the other session prices with the committed rule (and builds its cache)');
SELECT is((SELECT misses FROM dblink('other', $$SELECT misses FROM faregate.fare_cache_stats()$$) AS t(misses bigint)), 1::bigint,
          'its first call was a miss');
SELECT is((SELECT f FROM dblink('other', $$SELECT faregate.fare('C1', 'C2')$$) AS t(f numeric)), 2.00, 'second call');
SELECT is((SELECT hits FROM dblink('other', $$SELECT hits FROM faregate.fare_cache_stats()$$) AS t(hits bigint)), 1::bigint,
          'the second call was a hit');

-- an uncommitted change is seen here, not there
BEGIN;
UPDATE faregate.fare_rules SET amount = 3.00 WHERE from_zone = 'C1' AND to_zone = 'C2';
SELECT is(faregate.fare('C1', 'C2'), 3.00, 'the changing transaction sees its own change at its next call');
SELECT is((SELECT f FROM dblink('other', $$SELECT faregate.fare('C1', 'C2')$$) AS t(f numeric)), 2.00,
          'the other session does not see the uncommitted change');
COMMIT;
SELECT is((SELECT f FROM dblink('other', $$SELECT faregate.fare('C1', 'C2')$$) AS t(f numeric)), 3.00,
          'after COMMIT the other session sees the change at its next call');
SELECT is((SELECT rebuilds FROM dblink('other', $$SELECT rebuilds FROM faregate.fare_cache_stats()$$) AS t(rebuilds bigint)),
          1::bigint, 'the other session rebuilt its compiled table once');

-- a change committed while the other session is inside a transaction is seen at its next call
SELECT is(dblink_exec('other', 'BEGIN'), 'BEGIN', 'the other session opens a transaction');
SELECT is((SELECT f FROM dblink('other', $$SELECT faregate.fare('C1', 'C2')$$) AS t(f numeric)), 3.00,
          'inside it, the current fare');
UPDATE faregate.fare_rules SET amount = 3.50 WHERE from_zone = 'C1' AND to_zone = 'C2';
SELECT is((SELECT f FROM dblink('other', $$SELECT faregate.fare('C1', 'C2')$$) AS t(f numeric)), 3.50,
          'a change committed meanwhile is seen at the next call of the same transaction');
SELECT is(dblink_exec('other', 'COMMIT'), 'COMMIT', 'the other session commits');

-- a change made and committed by the other session is seen here at the next call
SELECT is(faregate.fare('C1', 'C2'), 3.50, 'this session is at 3.50');
SELECT is(dblink_exec('other', $$UPDATE faregate.fare_rules SET amount = 4.00 WHERE from_zone = 'C1' AND to_zone = 'C2'$$),
          'UPDATE 1', 'the other session commits a new amount');
SELECT is(faregate.fare('C1', 'C2'), 4.00, 'this session sees it at the next call');

-- a rolled-back change disappears, here and there
BEGIN;
UPDATE faregate.fare_rules SET amount = 9.00 WHERE from_zone = 'C1' AND to_zone = 'C2';
SELECT is(faregate.fare('C1', 'C2'), 9.00, 'inside the transaction: 9.00');
ROLLBACK;
SELECT is(faregate.fare('C1', 'C2'), 4.00, 'after ROLLBACK the compiled table no longer has 9.00');
SELECT is((SELECT f FROM dblink('other', $$SELECT faregate.fare('C1', 'C2')$$) AS t(f numeric)), 4.00,
          'and the other session never saw it');

-- other tables invalidate too: a zone deleted and committed is unknown at the next call
DELETE FROM faregate.fare_rules WHERE from_zone = 'C1' AND to_zone = 'C2';
DELETE FROM faregate.zones WHERE zone_id = 'C2';
SELECT throws_ok($$SELECT * FROM dblink('other', 'SELECT faregate.fare(''C1'', ''C2'')') AS t(f numeric)$$,
                 'FG002', NULL, 'the other session: a deleted zone is unknown at its next call');
SELECT throws_ok($$SELECT faregate.fare('C1', 'C2')$$, 'FG002', 'unknown fare zone "C2"',
                 'a deleted zone is unknown at the next call');
SELECT ok((SELECT entries >= 0 AND bytes > 0 FROM faregate.fare_cache_stats()), 'fare_cache_stats reports the table size');

SELECT is(dblink_disconnect('other'), 'OK', 'second session disconnected');
DELETE FROM faregate.zones WHERE zone_id IN ('C1', 'C2');
SELECT * FROM finish();
