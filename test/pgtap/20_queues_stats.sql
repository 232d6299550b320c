-- 20_queues_stats.sql: queue_position, estimated_wait, queue_eta and queue_stats on a hand-built queue
-- whose numbers are worked out by hand below; the Erlang C fallback against the formula; rolled-up hours
-- in queue_stats; NULL and unknown-id handling. Runs in a transaction that is rolled back (now() is fixed).
BEGIN;
SELECT plan(39);

INSERT INTO faregate.queues (name, servers) VALUES ('stats-s', 2);
CREATE TEMP TABLE q AS SELECT queue_id AS s FROM faregate.queues WHERE name = 'stats-s';

-- 30 served entries in the last hour: entry i joined 60 - i minutes ago, waited 10 i seconds, then
-- 30 s to the counter and 240 s of service. Then 3 no-shows (waited 600 s), 2 cancelled while waiting.
DO $$
DECLARE
  qid bigint := (SELECT s FROM q);
  id bigint;
  t timestamptz;
BEGIN
  FOR i IN 1..30 LOOP
    t := now() - interval '60 min' + i * interval '1 min';
    PERFORM faregate.enqueue(qid, 'S' || i, t);
    id := faregate.call_next(qid, t + i * interval '10 s');
    PERFORM faregate.start_service(id, t + i * interval '10 s' + interval '30 s');
    PERFORM faregate.finish(id, t + i * interval '10 s' + interval '270 s');
  END LOOP;
  FOR i IN 1..3 LOOP
    t := now() - interval '50 min' + i * interval '1 min';
    PERFORM faregate.enqueue(qid, 'N' || i, t);
    id := faregate.call_next(qid, t + interval '600 s');
    PERFORM faregate.mark_no_show(id, t + interval '700 s');
  END LOOP;
  FOR i IN 1..2 LOOP
    id := faregate.enqueue(qid, 'C' || i, now() - interval '40 min');
    PERFORM faregate.cancel(id, now() - interval '35 min');
  END LOOP;
END $$;
-- five waiting now, joined 5, 4, 3, 2, 1 minutes ago
CREATE TEMP TABLE w AS
  SELECT k, faregate.enqueue((SELECT s FROM q), 'W' || k, now() - (6 - k) * interval '1 min') AS id
    FROM generate_series(1, 5) k;

SELECT is((SELECT array_agg(faregate.queue_position(id) ORDER BY k) FROM w), ARRAY[1, 2, 3, 4, 5],
          'queue_position: 1 = next, in joining order');
SELECT is(faregate.queue_position((SELECT min(entry_id) FROM faregate.queue_entries
                                    WHERE queue_id = (SELECT s FROM q) AND status = 'served')), NULL,
          'queue_position of a served entry is NULL');
SELECT is(faregate.estimated_wait((SELECT min(entry_id) FROM faregate.queue_entries
                                    WHERE queue_id = (SELECT s FROM q) AND status = 'cancelled')), NULL,
          'estimated_wait of a cancelled entry is NULL');
-- 30 recent services of 240 s >= queue_min_history (20): observed rate. 2 servers, both free.
-- Position 3 has 3 - 2 = 1 person "ahead" of the free counters: 1 * 240 / 2 = 120 s.
SELECT is(faregate.estimated_wait((SELECT id FROM w WHERE k = 3)), interval '120 s',
          'estimated_wait at position 3, 2 free servers, 240 s service: 120 s');
SELECT is(faregate.estimated_wait((SELECT id FROM w WHERE k = 1)), interval '0',
          'position 1 with a free server: no wait');
SELECT is(faregate.estimated_wait((SELECT id FROM w WHERE k = 5)), interval '360 s',
          'position 5: (5 - 2) * 240 / 2 = 360 s');
SELECT is(faregate.queue_eta((SELECT s FROM q)), interval '480 s',
          'queue_eta, someone joining at position 6: (6 - 2) * 240 / 2 = 480 s');

-- one counter calls: 4 waiting, 1 busy server, 1 free
SELECT is(faregate.call_next((SELECT s FROM q)), (SELECT id FROM w WHERE k = 1), 'call_next takes position 1');
SELECT is(faregate.queue_position((SELECT id FROM w WHERE k = 3)), 2, 'the third is now second');
SELECT is(faregate.estimated_wait((SELECT id FROM w WHERE k = 3)), interval '120 s',
          'position 2 with one free server: (2 - 1) * 240 / 2 = 120 s');
SELECT is(faregate.queue_eta((SELECT s FROM q)), interval '480 s', 'queue_eta: (5 - 1) * 240 / 2 = 480 s');
UPDATE faregate.queues SET servers = 4 WHERE queue_id = (SELECT s FROM q);
SELECT is(faregate.queue_eta((SELECT s FROM q)), interval '120 s',
          'opening counters shortens the ETA: 4 servers, 1 busy: (5 - 3) * 240 / 4 = 120 s');
UPDATE faregate.queues SET servers = 2 WHERE queue_id = (SELECT s FROM q);

-- too little history: Erlang C (M/M/c) with the measured rates. A queue whose 10 arrivals in the 2 h
-- window were all served (240 s each, fewer than queue_min_history = 20), nobody waiting now:
-- lambda = 10 / 7200 s, mu = 1 / 240 s, c = 2.
INSERT INTO faregate.queues (name, servers) VALUES ('stats-erlang', 2);
DO $$
DECLARE
  qid bigint := (SELECT queue_id FROM faregate.queues WHERE name = 'stats-erlang');
  id bigint;
  t timestamptz;
BEGIN
  FOR i IN 1..10 LOOP
    t := now() - interval '100 min' + i * interval '5 min';
    PERFORM faregate.enqueue(qid, NULL, t);
    id := faregate.call_next(qid, t);
    PERFORM faregate.start_service(id, t);
    PERFORM faregate.finish(id, t + interval '240 s');
  END LOOP;
END $$;
SELECT is(round(extract(epoch FROM faregate.queue_eta((SELECT queue_id FROM faregate.queues WHERE name = 'stats-erlang')))::numeric, 4),
          (WITH p AS (SELECT 10 / 7200.0 AS lambda, 1 / 240.0 AS mu, 2 AS c),
                a AS (SELECT lambda, mu, c, lambda / mu AS a, lambda / mu / c AS rho FROM p),
                b AS (SELECT *, a * (a / (1 + a)) / (2 + a * (a / (1 + a))) AS b2 FROM a)
           SELECT round((b2 / (1 - rho * (1 - b2)) / (c * mu - lambda))::numeric, 4) FROM b),
          'queue_eta falls back to the Erlang C expected wait W_q = C(c, a) / (c mu - lambda) (6.857 s here)');
UPDATE faregate.queues SET servers = 2000000000 WHERE name = 'stats-erlang';
SELECT is(faregate.queue_eta((SELECT queue_id FROM faregate.queues WHERE name = 'stats-erlang')), interval '0',
          'two billion counters: Erlang C is 0 and the recursion stops early (no two-billion-step loop)');
-- the same fallback on queue S (30 services < 100): the current queue (4 waiting, 1 free counter) says
-- (5 - 1) * 240 / 2 = 480 s, more than Erlang C's steady-state 192 s: the larger one is answered
SET LOCAL faregate.queue_min_history = 100;
SELECT is(faregate.queue_eta((SELECT s FROM q)), interval '480 s',
          'fallback never answers less than the wait for the people already queued');
SELECT is(faregate.estimated_wait((SELECT id FROM w WHERE k = 3)), interval '120 s',
          'estimated_wait in the fallback: position-based wait of the M/M/c model, (k - free) / (c mu)');
SET LOCAL faregate.queue_default_service_time = 60;
SET LOCAL faregate.queue_min_history = 1;
INSERT INTO faregate.queues (name, servers) VALUES ('stats-new', 1);
SELECT is((SELECT count(faregate.enqueue((SELECT queue_id FROM faregate.queues WHERE name = 'stats-new'), NULL,
                                        now() - interval '10 min'))
             FROM generate_series(1, 12)), 12::bigint, 'a new queue with 12 waiting');
SELECT is(faregate.estimated_wait((SELECT max(entry_id) FROM faregate.queue_entries
                                    WHERE queue_id = (SELECT queue_id FROM faregate.queues WHERE name = 'stats-new'))),
          interval '660 s', 'no service seen yet: default service time, position 12 of 1 free server: (12 - 1) * 60 s');
SELECT is(faregate.queue_eta((SELECT queue_id FROM faregate.queues WHERE name = 'stats-new')), interval '720 s',
          'lambda = 12 / 2 h, mu = 1 / 60 s: Erlang C 0.6 s, but 12 are queued: (13 - 1) * 60 s');
RESET faregate.queue_min_history;
RESET faregate.queue_default_service_time;

-- queue_stats over the last day
CREATE TEMP TABLE st AS SELECT * FROM faregate.queue_stats((SELECT s FROM q));
SELECT is((SELECT array[waiting::bigint, served, no_shows, cancelled] FROM st), ARRAY[4, 30, 3, 2]::bigint[],
          'queue_stats counts: 4 waiting, 30 served, 3 no-shows, 2 cancelled');
SELECT is((SELECT avg_service FROM st), interval '240 s', 'avg_service: 240 s');
SELECT is((SELECT avg_wait FROM st), (SELECT avg(called_at - joined_at) FROM faregate.queue_entries
                                        WHERE queue_id = (SELECT s FROM q) AND finished_at IS NOT NULL),
          'avg_wait: mean of called_at - joined_at over finished entries that were called');
SELECT ok((SELECT bool_and(abs(extract(epoch FROM got) - extract(epoch FROM want)) <= 0.01 * extract(epoch FROM want))
             FROM (SELECT unnest(array[p50_wait, p90_wait, p99_wait]) AS got,
                          unnest((SELECT percentile_disc(array[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY called_at - joined_at)
                                    FROM faregate.queue_entries WHERE queue_id = (SELECT s FROM q) AND finished_at IS NOT NULL
                                     AND called_at IS NOT NULL)) AS want FROM st) x),
          'p50/p90/p99 waits within 1% of percentile_disc');
SELECT is((SELECT p99_wait FROM st), interval '600 s', 'p99 wait is the no-shows'' 600 s (the maximum, exact)');
SELECT is((SELECT round(throughput_per_hour::numeric, 6) FROM st), round(30 / 24.0, 6), 'throughput: 30 served / 24 h');
SELECT is((SELECT served FROM faregate.queue_stats((SELECT s FROM q), now() - interval '20 min')), 0::bigint,
          'since 20 minutes ago nothing finished');
SELECT is((SELECT array[served, no_shows] FROM faregate.queue_stats((SELECT s FROM q), now() - interval '45 min')),
          ARRAY[22, 3]::bigint[], 'the window follows finished_at (served i finished 55.5 min - 70 i s ago: i >= 9)');
SELECT ok((SELECT p50_wait IS NULL AND avg_wait IS NULL AND throughput_per_hour = 0
             FROM faregate.queue_stats((SELECT s FROM q), now() - interval '20 min')),
          'an empty window has NULL waits and zero throughput');

-- whole rolled-up hours come from faregate.queue_hourly, the rest from queue_entries
INSERT INTO faregate.queue_hourly
SELECT (SELECT s FROM q), date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '10 hours',
       100, 5, 7, 105, 105 * 50.0, 100, 100 * 60.0, faregate.sketch_agg(50.0) FROM generate_series(1, 105);
INSERT INTO faregate.queue_rollup_state VALUES (true, date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '9 hours')
  ON CONFLICT (singleton) DO UPDATE SET rolled_until = excluded.rolled_until;
CREATE TEMP TABLE st2 AS SELECT * FROM faregate.queue_stats((SELECT s FROM q));
SELECT is((SELECT array[served, no_shows, cancelled] FROM st2), ARRAY[130, 8, 9]::bigint[],
          'queue_stats adds the rolled-up hour to the live entries');
SELECT is((SELECT avg_service FROM st2), make_interval(secs => (30 * 240 + 100 * 60) / 130.0),
          'avg_service over rolled-up and live entries');
SELECT ok((SELECT abs(extract(epoch FROM p50_wait) - 50) <= 0.5 FROM st2),
          'the rolled-up sketch dominates the median: 50 s within 1%');
SELECT is((SELECT served FROM faregate.queue_stats((SELECT s FROM q), now() - interval '9 hours 30 min')), 30::bigint,
          'a window starting inside the rolled-up range takes no partial hour from the rollup');

-- no memory kept per call: after a warm-up (kept plans, caches), 16,000 calls of each function leave the
-- backend's memory contexts where they were (a leak of 8 bytes per call would add 128 kB per function)
CREATE FUNCTION pg_temp.backend_bytes() RETURNS bigint LANGUAGE sql AS
  'SELECT sum(used_bytes)::bigint FROM pg_backend_memory_contexts';
CREATE FUNCTION pg_temp.call_all(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM count(faregate.queue_position(id)) + count(faregate.estimated_wait(id))
          + count(faregate.queue_eta((SELECT s FROM q)))
     FROM w, generate_series(1, n);
  PERFORM count(*) FROM (SELECT (faregate.queue_stats((SELECT s FROM q))).served FROM generate_series(1, n / 2)) z;
END $$;
SELECT pg_temp.call_all(20);
CREATE TEMP TABLE mem (before bigint);
SELECT pg_temp.call_all(20);
INSERT INTO mem SELECT pg_temp.backend_bytes();
SELECT pg_temp.call_all(4000);
SELECT cmp_ok(pg_temp.backend_bytes() - (SELECT before FROM mem), '<', 65536::bigint,
              'no memory left behind by 16,000 calls of each of position/wait/ETA and 2,000 queue_stats calls');

-- NULLs and unknown ids
SELECT is(faregate.queue_position(NULL), NULL, 'queue_position(NULL) is NULL');
SELECT is(faregate.queue_eta(NULL), NULL, 'queue_eta(NULL) is NULL');
SELECT throws_ok('SELECT faregate.queue_position(-5)', 'FQ002', 'queue entry -5 does not exist',
                 'queue_position of an unknown entry: FQ002');
SELECT throws_ok('SELECT faregate.queue_eta(-5)', 'FQ001', 'queue -5 does not exist', 'queue_eta of an unknown queue: FQ001');
SELECT throws_ok('SELECT * FROM faregate.queue_stats(-5)', 'FQ001', NULL, 'queue_stats of an unknown queue: FQ001');
SELECT throws_ok($$SELECT * FROM faregate.queue_stats((SELECT s FROM q), '-infinity')$$, '22008', NULL,
                 'queue_stats since -infinity: 22008');

SELECT * FROM finish();
ROLLBACK;
