-- 20_queues_concurrency.sql: call_next is exactly-once under concurrency. Eight dblink sessions call the
-- same queue at the same time, each in one long transaction of 50 calls (so every session holds the
-- rows it took until it commits, the hardest case for SKIP LOCKED); then no entry was called twice, none
-- was skipped, and the counters agree. The data must be committed for the other sessions to see it, so
-- this file commits and cleans up after itself instead of rolling back.
SELECT plan(9);

INSERT INTO faregate.queues (name, servers) VALUES ('concurrency-pgtap', 8);
SELECT is((SELECT count(faregate.enqueue((SELECT queue_id FROM faregate.queues WHERE name = 'concurrency-pgtap'), 'T' || g,
                                        now() - interval '1 hour' + g * interval '1 s'))
             FROM generate_series(1, 300) g), 300::bigint, '300 entries waiting');

CREATE TEMP TABLE sessions AS SELECT 'fg_conc_' || s AS name FROM generate_series(1, 8) s;
DO $$ BEGIN
  PERFORM dblink_connect(name, format('host=127.0.0.1 port=%s dbname=%s user=%s', current_setting('port'),
                                      current_database(), current_user))
     FROM sessions;
END $$;
-- all eight start before any finishes: each call holds its row until its session commits
DO $$ BEGIN
  PERFORM dblink_send_query(name, format(
           'SELECT coalesce(array_agg(id), ''{}'') FROM (SELECT faregate.call_next(%s) AS id FROM generate_series(1, 50)) c WHERE id IS NOT NULL',
           (SELECT queue_id FROM faregate.queues WHERE name = 'concurrency-pgtap')))
     FROM sessions;
END $$;
CREATE TEMP TABLE called (session text, ids bigint[]);
INSERT INTO called SELECT name, r.ids FROM sessions, dblink_get_result(name) AS r(ids bigint[]);
DO $$ BEGIN PERFORM dblink_disconnect(name) FROM sessions; END $$;

CREATE TEMP TABLE flat AS SELECT session, unnest(ids) AS id FROM called;
SELECT is((SELECT count(*) FROM called), 8::bigint, 'all eight sessions answered');
SELECT is((SELECT count(*) FROM flat), 300::bigint, '400 calls for 300 entries: exactly 300 got an entry');
SELECT is((SELECT count(DISTINCT id) FROM flat), 300::bigint, 'no entry was called twice');
SELECT is((SELECT count(*) FROM faregate.queue_entries
            WHERE queue_id = (SELECT queue_id FROM faregate.queues WHERE name = 'concurrency-pgtap')
              AND status = 'waiting'), 0::bigint, 'nobody was skipped: no entry is left waiting');
SELECT is((SELECT count(*) FROM flat f JOIN faregate.queue_entries e ON e.entry_id = f.id
            WHERE e.status = 'called'), 300::bigint, 'every called id is an entry of the queue in status called');
SELECT cmp_ok((SELECT count(*) FROM called WHERE cardinality(ids) > 0), '>=', 2::bigint,
              'the calls were spread over several sessions');
-- each session took its entries in joined order among those it could see unlocked
SELECT ok((SELECT bool_and(ids = (SELECT array_agg(x ORDER BY x) FROM unnest(ids) x)) FROM called),
          'within a session, entries were called oldest first');
SELECT is((SELECT array[sum(waiting), sum(busy)]::int[] FROM faregate.queue_counters
            WHERE queue_id = (SELECT queue_id FROM faregate.queues WHERE name = 'concurrency-pgtap')),
          ARRAY[0, 300], 'the sharded counters add up: 0 waiting, 300 busy');

DELETE FROM faregate.queues WHERE name = 'concurrency-pgtap';
SELECT * FROM finish();
