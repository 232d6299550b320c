-- 20_queues_lifecycle.sql: the queue lifecycle (enqueue, call_next, start_service, finish, mark_no_show,
-- cancel): happy paths with their timestamps, FIFO order, running counters, every error path with its
-- SQLSTATE, and the volatility labels. Runs in a transaction that is rolled back.
BEGIN;
SELECT plan(56);

SELECT has_table('faregate', 'queues', 'table faregate.queues');
SELECT has_table('faregate', 'queue_entries', 'table faregate.queue_entries');
SELECT has_table('faregate', 'queue_counters', 'table faregate.queue_counters');
SELECT has_table('faregate', 'queue_hourly', 'table faregate.queue_hourly');
SELECT has_index('faregate', 'queue_entries', 'queue_entries_waiting_idx', ARRAY['queue_id', 'joined_at', 'entry_id'],
                 'partial index of waiting entries');
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index
            WHERE indexrelid = 'faregate.queue_entries_waiting_idx'::regclass),
          '(status = ''waiting''::text)', 'the waiting index only holds waiting entries');

INSERT INTO faregate.queues (name, servers) VALUES ('lifecycle-a', 2), ('lifecycle-empty', 1);
CREATE TEMP TABLE q AS SELECT (SELECT queue_id FROM faregate.queues WHERE name = 'lifecycle-a') AS a,
                              (SELECT queue_id FROM faregate.queues WHERE name = 'lifecycle-empty') AS empty,
                              (SELECT coalesce(max(queue_id), 0) + 1000 FROM faregate.queues) AS missing;

-- joined out of order on purpose: call order follows joined_at, then entry_id
CREATE TEMP TABLE e AS SELECT
  faregate.enqueue((SELECT a FROM q), 'A3', '2020-01-01 10:03+00') AS third,
  faregate.enqueue((SELECT a FROM q), 'A1', '2020-01-01 10:01+00') AS first,
  faregate.enqueue((SELECT a FROM q), 'A2', '2020-01-01 10:02+00') AS second_x,
  faregate.enqueue((SELECT a FROM q), 'A2b', '2020-01-01 10:02+00') AS second_y,
  faregate.enqueue((SELECT a FROM q)) AS fifth;

SELECT is((SELECT status FROM faregate.queue_entries WHERE entry_id = (SELECT first FROM e)), 'waiting',
          'enqueue makes a waiting entry');
SELECT is((SELECT joined_at FROM faregate.queue_entries WHERE entry_id = (SELECT first FROM e)),
          '2020-01-01 10:01+00'::timestamptz, 'enqueue stamps joined_at with "at"');
SELECT is((SELECT joined_at FROM faregate.queue_entries WHERE entry_id = (SELECT fifth FROM e)), now(),
          'enqueue without "at" stamps now()');
SELECT is((SELECT ticket FROM faregate.queue_entries WHERE entry_id = (SELECT fifth FROM e)), NULL,
          'the ticket is optional');
SELECT is((SELECT sum(waiting) FROM faregate.queue_counters WHERE queue_id = (SELECT a FROM q)), 5::numeric,
          'counters: 5 waiting');

SELECT is(faregate.call_next((SELECT a FROM q), '2020-01-01 11:00+00'), (SELECT first FROM e),
          'call_next calls the earliest joined first');
SELECT is(faregate.call_next((SELECT a FROM q), '2020-01-01 11:00+00'), (SELECT least(second_x, second_y) FROM e),
          'equal joined_at: the lower entry_id first');
SELECT is(faregate.call_next((SELECT a FROM q), '2020-01-01 11:00+00'), (SELECT greatest(second_x, second_y) FROM e),
          'then the other one');
SELECT is((SELECT status || ' ' || called_at FROM faregate.queue_entries WHERE entry_id = (SELECT first FROM e)),
          'called ' || '2020-01-01 11:00+00'::timestamptz, 'call_next sets status called and called_at');
SELECT is((SELECT sum(waiting)::int || '/' || sum(busy)::int FROM faregate.queue_counters WHERE queue_id = (SELECT a FROM q)),
          '2/3', 'counters: 2 waiting, 3 busy');

-- served path
SELECT lives_ok(format('SELECT faregate.start_service(%s, %L)', (SELECT first FROM e), '2020-01-01 11:01+00'),
                'start_service on a called entry');
SELECT is((SELECT status || ' ' || served_at FROM faregate.queue_entries WHERE entry_id = (SELECT first FROM e)),
          'serving ' || '2020-01-01 11:01+00'::timestamptz, 'start_service sets serving and served_at');
SELECT lives_ok(format('SELECT faregate.finish(%s, %L)', (SELECT first FROM e), '2020-01-01 11:05+00'),
                'finish a serving entry');
SELECT is((SELECT status || ' ' || finished_at FROM faregate.queue_entries WHERE entry_id = (SELECT first FROM e)),
          'served ' || '2020-01-01 11:05+00'::timestamptz, 'finish sets served and finished_at');
-- no-show and cancel paths
SELECT lives_ok(format('SELECT faregate.mark_no_show(%s)', (SELECT least(second_x, second_y) FROM e)),
                'mark_no_show on a called entry');
SELECT lives_ok(format('SELECT faregate.cancel(%s)', (SELECT greatest(second_x, second_y) FROM e)),
                'cancel a called entry');
SELECT lives_ok(format('SELECT faregate.cancel(%s)', (SELECT fifth FROM e)), 'cancel a waiting entry');
SELECT is((SELECT array_agg(status ORDER BY entry_id) FROM faregate.queue_entries WHERE queue_id = (SELECT a FROM q)),
          (SELECT array_agg(s ORDER BY id) FROM (VALUES
             ((SELECT third FROM e), 'waiting'), ((SELECT first FROM e), 'served'),
             ((SELECT least(second_x, second_y) FROM e), 'no_show'),
             ((SELECT greatest(second_x, second_y) FROM e), 'cancelled'), ((SELECT fifth FROM e), 'cancelled')) v(id, s)),
          'every entry is where its transitions took it');
SELECT is((SELECT array[sum(waiting), sum(busy), sum(enqueued), sum(served), sum(no_shows), sum(cancelled)]::int[]
             FROM faregate.queue_counters WHERE queue_id = (SELECT a FROM q)),
          ARRAY[1, 0, 5, 1, 1, 2], 'counters agree with the entries (waiting, busy, enqueued, served, no_shows, cancelled)');
SELECT is((SELECT count(*) FROM faregate.queue_entries
            WHERE finished_at IS NOT NULL AND queue_id = (SELECT a FROM q)), 4::bigint,
          'served, no_show and cancelled entries all have finished_at');

-- empty queue
SELECT is(faregate.call_next((SELECT empty FROM q)), NULL, 'call_next on an empty queue returns NULL');
SELECT is(faregate.call_next((SELECT empty FROM q)), NULL, '... every time');
SELECT is((SELECT count(*) FROM faregate.queue_counters WHERE queue_id = (SELECT empty FROM q) AND busy <> 0),
          0::bigint, 'an empty call changes no counter');

-- error paths: unknown ids, NULLs, illegal transitions
SELECT throws_ok(format('SELECT faregate.enqueue(%s)', (SELECT missing FROM q)), 'FQ001',
                 format('queue %s does not exist', (SELECT missing FROM q)), 'enqueue into an unknown queue: FQ001');
SELECT throws_ok(format('SELECT faregate.call_next(%s)', (SELECT missing FROM q)), 'FQ001',
                 format('queue %s does not exist', (SELECT missing FROM q)), 'call_next on an unknown queue: FQ001');
SELECT throws_ok('SELECT faregate.enqueue(NULL)', '22004', NULL, 'enqueue(NULL): 22004');
SELECT throws_ok('SELECT faregate.call_next(NULL)', '22004', NULL, 'call_next(NULL): 22004');
SELECT throws_ok(format('SELECT faregate.enqueue(%s, NULL, NULL)', (SELECT a FROM q)), '22004', NULL,
                 'enqueue with at => NULL: 22004');
SELECT throws_ok('SELECT faregate.finish(NULL)', '22004', NULL, 'finish(NULL): 22004');
SELECT throws_ok('SELECT faregate.start_service(-1)', 'FQ002', 'queue entry -1 does not exist',
                 'start_service of an unknown entry: FQ002');
SELECT throws_ok('SELECT faregate.cancel(-1)', 'FQ002', NULL, 'cancel of an unknown entry: FQ002');
SELECT throws_ok('SELECT faregate.mark_no_show(-1)', 'FQ002', NULL, 'mark_no_show of an unknown entry: FQ002');
SELECT throws_ok('SELECT faregate.finish(-1)', 'FQ002', NULL, 'finish of an unknown entry: FQ002');
SELECT throws_ok(format('SELECT faregate.finish(%s)', (SELECT fifth FROM e)), 'FQ003',
                 format('illegal transition of queue entry %s from "cancelled" to "served"', (SELECT fifth FROM e)),
                 'finish a cancelled entry: FQ003 naming the entry and both statuses');
SELECT throws_ok(format('SELECT faregate.finish(%s)', (SELECT first FROM e)), 'FQ003', NULL,
                 'finish a served entry twice: FQ003');
SELECT throws_ok(format('SELECT faregate.start_service(%s)', (SELECT third FROM e)), 'FQ003',
                 format('illegal transition of queue entry %s from "waiting" to "serving"', (SELECT third FROM e)),
                 'start_service of a waiting entry (not called): FQ003');
SELECT throws_ok(format('SELECT faregate.finish(%s)', (SELECT third FROM e)), 'FQ003', NULL,
                 'finish a waiting entry: FQ003');
SELECT throws_ok(format('SELECT faregate.mark_no_show(%s)', (SELECT third FROM e)), 'FQ003', NULL,
                 'mark_no_show of a waiting entry: FQ003');
SELECT throws_ok(format('SELECT faregate.cancel(%s)', (SELECT first FROM e)), 'FQ003', NULL,
                 'cancel a served entry: FQ003');
SELECT throws_ok(format('SELECT faregate.mark_no_show(%s)', (SELECT least(second_x, second_y) FROM e)), 'FQ003', NULL,
                 'mark_no_show twice: FQ003');
SELECT throws_ok(format('SELECT faregate.start_service(%s)', (SELECT greatest(second_x, second_y) FROM e)), 'FQ003',
                 NULL, 'start_service of a cancelled entry: FQ003');
-- the error carries a detail and a hint
CREATE FUNCTION pg_temp.error_parts(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text; h text;
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN d || ' | ' || h;
END $$;
SELECT is(pg_temp.error_parts(format('SELECT faregate.finish(%s)', (SELECT third FROM e))),
          'faregate.finish needs an entry in status serving. | Check the entry''s status first; docs/queues.md shows the allowed transitions.',
          'an illegal transition says what was needed and what to do');
SELECT is((SELECT array[sum(waiting), sum(busy), sum(served), sum(no_shows), sum(cancelled)]::int[]
             FROM faregate.queue_counters WHERE queue_id = (SELECT a FROM q)),
          ARRAY[1, 0, 1, 1, 2], 'failed transitions change no counter');

-- the last waiting entry, then the queue is empty
SELECT is(faregate.call_next((SELECT a FROM q)), (SELECT third FROM e), 'the last waiting entry is called');
SELECT is(faregate.call_next((SELECT a FROM q)), NULL, 'then call_next returns NULL');
-- deleting a queue removes its entries and counters
DELETE FROM faregate.queues WHERE queue_id = (SELECT a FROM q);
SELECT is((SELECT count(*) FROM faregate.queue_entries WHERE queue_id = (SELECT a FROM q))
          + (SELECT count(*) FROM faregate.queue_counters WHERE queue_id = (SELECT a FROM q)), 0::bigint,
          'deleting a queue deletes its entries and counters');

-- volatility labels (the pooler routes reads by them)
SELECT volatility_is('faregate', 'enqueue', ARRAY['bigint', 'text', 'timestamp with time zone'], 'volatile', 'enqueue is volatile');
SELECT volatility_is('faregate', 'call_next', ARRAY['bigint', 'timestamp with time zone'], 'volatile', 'call_next is volatile');
SELECT is((SELECT array_agg(DISTINCT provolatile) FROM pg_proc WHERE pronamespace = 'faregate'::regnamespace
             AND proname IN ('start_service', 'finish', 'mark_no_show', 'cancel')),
          ARRAY['v']::"char"[], 'start_service, finish, mark_no_show, cancel are volatile');
SELECT is((SELECT array_agg(provolatile::text || proparallel::text ORDER BY proname) FROM pg_proc
            WHERE pronamespace = 'faregate'::regnamespace
              AND proname IN ('queue_position', 'estimated_wait', 'queue_eta', 'queue_stats')),
          ARRAY['ss', 'ss', 'ss', 'ss'], 'queue_position, estimated_wait, queue_eta, queue_stats are STABLE PARALLEL SAFE');

SELECT * FROM finish();
ROLLBACK;
