-- queues.sql: the demo's queue workload (run by test/demo.sh through the pooler). A clinic queue with
-- two counters: an hour of arrivals and services replayed with explicit timestamps, then a live
-- customer's position and estimated wait, and the staff dashboard's statistics.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;

INSERT INTO faregate.queues (name, servers) VALUES ('clinic-reception', 2);

-- 60 patients arrive a minute apart from 09:00; two counters each take about 2.5 minutes per patient,
-- and every 15th patient does not show up when called.
DO $$
DECLARE
  q bigint := (SELECT queue_id FROM faregate.queues WHERE name = 'clinic-reception');
  t0 timestamptz := now() - interval '75 minutes';
  e bigint;
BEGIN
  FOR i IN 1..60 LOOP
    PERFORM faregate.enqueue(q, 'T' || lpad(i::text, 3, '0'), t0 + i * interval '1 minute');
  END LOOP;
  FOR i IN 1..45 LOOP
    e := faregate.call_next(q, t0 + interval '2 minutes' + i * interval '80 seconds');
    IF i % 15 = 0 THEN
      PERFORM faregate.mark_no_show(e, t0 + interval '3 minutes' + i * interval '80 seconds');
    ELSE
      PERFORM faregate.start_service(e, t0 + interval '2 minutes 20 seconds' + i * interval '80 seconds');
      PERFORM faregate.finish(e, t0 + interval '4 minutes 50 seconds' + i * interval '80 seconds' + (i % 7) * interval '20 seconds');
    END IF;
  END LOOP;
END $$;

\echo
\echo 'A patient who just took a ticket: position and estimated wait'
SELECT faregate.enqueue((SELECT queue_id FROM faregate.queues WHERE name = 'clinic-reception'), 'T061') AS entry_id \gset
SELECT :entry_id AS entry_id, faregate.queue_position(:entry_id) AS position,
       date_trunc('second', faregate.estimated_wait(:entry_id)) AS estimated_wait;

\echo 'The staff dashboard (queue_stats over the last 90 minutes; percentiles from the faregate.sketch):'
SELECT s.waiting, s.served, s.no_shows, s.cancelled,
       date_trunc('second', s.avg_wait) AS avg_wait, date_trunc('second', s.p50_wait) AS p50_wait,
       date_trunc('second', s.p90_wait) AS p90_wait, date_trunc('second', s.avg_service) AS avg_service,
       round(s.throughput_per_hour::numeric, 1) AS per_hour
FROM faregate.queues q, LATERAL faregate.queue_stats(q.queue_id, now() - interval '90 minutes') AS s
WHERE q.name = 'clinic-reception';

\echo 'Calling the next patient at counter 1 (exactly once, even with many counters calling at once):'
SELECT faregate.call_next((SELECT queue_id FROM faregate.queues WHERE name = 'clinic-reception')) AS called \gset
SELECT entry_id, ticket, status, faregate.queue_position(:entry_id) AS "position of T061 now"
FROM faregate.queue_entries WHERE entry_id = :called;
