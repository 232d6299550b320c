-- faregate 0.1 install script, kept as released (it was generated from sql/faregate/*.sql at 0.1): for
-- CREATE EXTENSION faregate VERSION '0.1' and the upgrade test (test/pgtap/01_upgrade.sql). Never edit it.
-- faregate install script, part 00: what every other part builds on.
-- The parts in sql/faregate/ are concatenated in name order into sql/faregate--0.1.sql at build time.
-- The schema faregate is created here, not named in faregate.control, so that it is a member of the
-- extension and DROP EXTENSION removes it with everything in it.

\echo Use "CREATE EXTENSION faregate" to load this file. \quit

CREATE SCHEMA faregate;

CREATE FUNCTION faregate.version() RETURNS text
    AS 'MODULE_PATHNAME', 'version'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION faregate.version() IS 'version of the loaded faregate shared library';

-- Nobody but the owner may write faregate's tables; PUBLIC may use the schema and call the functions
-- granted to it by each part.
REVOKE ALL ON SCHEMA faregate FROM PUBLIC;
GRANT USAGE ON SCHEMA faregate TO PUBLIC;
-- faregate install script, part 10: fares (owned by extension/fares.c and extension/fare_cache.c).
-- The rule tables are the source of truth; every backend keeps a compiled copy (fare_cache.c) that a
-- statement-level trigger on each table drops through a relcache invalidation. See docs/fares.md.
--
-- SQLSTATEs raised here (class FG, documented in docs/fares.md):
--   FG007 a timeframe window that is empty or has bad days

CREATE TABLE faregate.zones (
    zone_id text PRIMARY KEY CHECK (zone_id <> ''),
    name    text
);
COMMENT ON TABLE faregate.zones IS 'fare zones; fare rules price travel from one zone to another';

CREATE TABLE faregate.rider_categories (
    category    text PRIMARY KEY CHECK (category <> ''),
    description text
);
COMMENT ON TABLE faregate.rider_categories IS 'rider categories (adult, reduced ...); adult exists after CREATE EXTENSION';
INSERT INTO faregate.rider_categories VALUES ('adult', 'full fare');

-- A timeframe is a named set of half-open local-time windows [start_time, end_time) on ISO weekdays
-- (1 = Monday .. 7 = Sunday), in the agency time zone (faregate.timezone). A name may have several
-- windows (peak: Mon-Fri 07:00-09:30 and 16:00-18:30); end_time may be 24:00. The names live in
-- timeframe_names, which inserting a window fills in, so that fare_rules.timeframe is a real foreign key
-- (a misspelt timeframe is refused, and pg_dump restores the tables in foreign-key order).
CREATE TABLE faregate.timeframe_names (
    timeframe   text PRIMARY KEY CHECK (timeframe <> ''),
    description text
);
COMMENT ON TABLE faregate.timeframe_names IS 'names of timeframes; filled in by inserting windows into faregate.timeframes';

CREATE TABLE faregate.timeframes (
    timeframe  text   NOT NULL REFERENCES faregate.timeframe_names ON UPDATE CASCADE ON DELETE CASCADE,
    days       int[]  NOT NULL,
    start_time time   NOT NULL,
    end_time   time   NOT NULL,
    PRIMARY KEY (timeframe, days, start_time)
);
COMMENT ON TABLE faregate.timeframes IS 'named local-time windows [start_time, end_time) on ISO weekdays, in faregate.timezone';

CREATE TABLE faregate.fare_rules (
    rule_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_zone  text NOT NULL REFERENCES faregate.zones ON UPDATE CASCADE,
    to_zone    text NOT NULL REFERENCES faregate.zones ON UPDATE CASCADE,
    category   text NOT NULL DEFAULT 'adult' REFERENCES faregate.rider_categories ON UPDATE CASCADE,
    timeframe  text NULL REFERENCES faregate.timeframe_names ON UPDATE CASCADE,
    valid      daterange NOT NULL DEFAULT '(,)' CHECK (NOT isempty(valid)),
    amount     numeric(12,2) NOT NULL CHECK (amount >= 0),
    currency   char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    priority   int NOT NULL DEFAULT 0,
    -- two rules for the same zone pair, category, timeframe and priority never overlap in validity
    CONSTRAINT fare_rules_no_overlap EXCLUDE USING gist (
        from_zone WITH =, to_zone WITH =, category WITH =, (coalesce(timeframe, '')) WITH =,
        priority WITH =, valid WITH &&)
);
COMMENT ON TABLE faregate.fare_rules IS 'fares per zone pair, category, timeframe (null = any time) and validity (local dates)';
-- the index of the plain-SQL lookup and of fare_cache.c's compiling scan
CREATE INDEX fare_rules_lookup ON faregate.fare_rules (from_zone, to_zone, category, priority DESC);

CREATE TABLE faregate.transfer_rules (
    category      text PRIMARY KEY REFERENCES faregate.rider_categories ON UPDATE CASCADE ON DELETE CASCADE,
    max_transfers int NOT NULL CHECK (max_transfers >= 0),
    within        interval NOT NULL CHECK (within > interval '0'),
    transfer_fee  numeric(12,2) NOT NULL DEFAULT 0 CHECK (transfer_fee >= 0)
);
COMMENT ON TABLE faregate.transfer_rules IS 'legs boarded within "within" of the journey''s first boarding, up to max_transfers, cost transfer_fee instead of their fare';

CREATE TABLE faregate.fare_caps (
    category   text NOT NULL REFERENCES faregate.rider_categories ON UPDATE CASCADE ON DELETE CASCADE,
    period     text NOT NULL CHECK (period IN ('day', 'week')),
    cap        numeric(12,2) NOT NULL CHECK (cap >= 0),
    day_starts time NOT NULL DEFAULT '04:30',
    PRIMARY KEY (category, period)
);
COMMENT ON TABLE faregate.fare_caps IS 'most a rider pays per service day (from day_starts, local time) or Monday-Sunday service week';

-- timeframes_check: refuses a window that can never contain a moment (start_time >= end_time, where
-- end_time 00:00 is read as 24:00 only when written '24:00'), no days, or a day outside 1..7; and
-- registers the window's timeframe name.
CREATE FUNCTION faregate.timeframes_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF NEW.end_time <> '24:00'::time AND NEW.start_time >= NEW.end_time THEN
        RAISE EXCEPTION 'empty timeframe window "%" %-%', NEW.timeframe, NEW.start_time, NEW.end_time
            USING ERRCODE = 'FG007',
                  DETAIL = 'A window is half-open [start_time, end_time) and must contain at least one moment.',
                  HINT = 'Use start_time < end_time; write 24:00 for the end of the day, and split windows that cross midnight in two.';
    END IF;
    IF cardinality(NEW.days) = 0 OR array_position(NEW.days, NULL) IS NOT NULL
       OR EXISTS (SELECT 1 FROM unnest(NEW.days) d WHERE d NOT BETWEEN 1 AND 7) THEN
        RAISE EXCEPTION 'empty timeframe window "%": days % are not ISO weekdays', NEW.timeframe, NEW.days
            USING ERRCODE = 'FG007',
                  HINT = 'days lists ISO weekdays, 1 = Monday .. 7 = Sunday, e.g. ''{1,2,3,4,5}''.';
    END IF;
    INSERT INTO faregate.timeframe_names (timeframe) VALUES (NEW.timeframe) ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER timeframes_check BEFORE INSERT OR UPDATE ON faregate.timeframes
    FOR EACH ROW EXECUTE FUNCTION faregate.timeframes_check();

-- fare_rules_changed: statement-level trigger function (fare_cache.c) that sends a relcache invalidation
-- for the changed table; every backend's callback then drops its compiled fare table.
CREATE FUNCTION faregate.fare_rules_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'fare_rules_changed' LANGUAGE C;

CREATE TRIGGER zones_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.zones
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER rider_categories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.rider_categories
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER timeframes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.timeframes
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER fare_rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.fare_rules
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER transfer_rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.transfer_rules
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER fare_caps_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.fare_caps
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
-- ENABLE ALWAYS: the invalidation must also fire where triggers are otherwise off (logical replication
-- apply, session_replication_role = replica during a bulk load).
ALTER TABLE faregate.zones ENABLE ALWAYS TRIGGER zones_changed;
ALTER TABLE faregate.rider_categories ENABLE ALWAYS TRIGGER rider_categories_changed;
ALTER TABLE faregate.timeframes ENABLE ALWAYS TRIGGER timeframes_changed;
ALTER TABLE faregate.fare_rules ENABLE ALWAYS TRIGGER fare_rules_changed;
ALTER TABLE faregate.transfer_rules ENABLE ALWAYS TRIGGER transfer_rules_changed;
ALTER TABLE faregate.fare_caps ENABLE ALWAYS TRIGGER fare_caps_changed;

-- pg_dump keeps the rules (the extension's own 'adult' row is re-created by CREATE EXTENSION).
SELECT pg_catalog.pg_extension_config_dump('faregate.zones', '');
SELECT pg_catalog.pg_extension_config_dump('faregate.rider_categories', $$WHERE category <> 'adult'$$);
SELECT pg_catalog.pg_extension_config_dump('faregate.timeframe_names', '');
SELECT pg_catalog.pg_extension_config_dump('faregate.timeframes', '');
SELECT pg_catalog.pg_extension_config_dump('faregate.fare_rules', '');
SELECT pg_catalog.pg_extension_config_dump('faregate.fare_rules_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('faregate.transfer_rules', '');
SELECT pg_catalog.pg_extension_config_dump('faregate.fare_caps', '');

CREATE TYPE faregate.leg AS (from_zone text, to_zone text, boarded_at timestamptz);
COMMENT ON TYPE faregate.leg IS 'one tap: a ride from from_zone to to_zone boarded at boarded_at';

-- The pricing functions read the rule tables and faregate.timezone: STABLE. They write nothing and keep
-- only a per-backend cache, which a parallel worker builds for itself: PARALLEL SAFE. Not STRICT: a NULL
-- argument is an error (22004), never a silent NULL or 0.
CREATE FUNCTION faregate.fare(from_zone text, to_zone text, at timestamptz DEFAULT now(),
                              category text DEFAULT 'adult')
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'fare' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION faregate.fare(text, text, timestamptz, text) IS 'fare of one ride (see docs/fares.md for precedence)';

CREATE FUNCTION faregate.fare_quote(from_zone text, to_zone text, at timestamptz DEFAULT now(),
                                    category text DEFAULT 'adult')
    RETURNS TABLE (amount numeric, currency char(3), rule_id bigint, timeframe text)
    AS 'MODULE_PATHNAME', 'fare_quote' LANGUAGE C STABLE PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION faregate.fare_quote(text, text, timestamptz, text) IS 'fare of one ride and the rule that produced it';

CREATE FUNCTION faregate.journey_fare(legs faregate.leg[], category text DEFAULT 'adult')
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'journey_fare' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION faregate.journey_fare(faregate.leg[], text) IS 'price of legs in time order after transfer rules';

CREATE FUNCTION faregate.charge_taps(taps faregate.leg[], category text DEFAULT 'adult')
    RETURNS TABLE (tap_no int, fare numeric, charged numeric, reason text)
    AS 'MODULE_PATHNAME', 'charge_taps' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION faregate.charge_taps(faregate.leg[], text) IS 'one rider''s taps in time order: base fare, charge after transfers and caps, and why';

-- fare_cache_stats reads this backend's counters: VOLATILE (they change between calls), and
-- PARALLEL RESTRICTED (a worker would report its own cache, not the session's).
CREATE FUNCTION faregate.fare_cache_stats()
    RETURNS TABLE (hits bigint, misses bigint, rebuilds bigint, entries bigint, bytes bigint)
    AS 'MODULE_PATHNAME', 'fare_cache_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 1;
COMMENT ON FUNCTION faregate.fare_cache_stats() IS 'this backend''s compiled fare table: hits, misses, rebuilds, entries, bytes';

-- Privileges (docs/fares.md "Privileges", docs/reliability.md): fares are a published tariff, so PUBLIC
-- may read the rule tables and call the pricing and cache-stats functions, which run with the caller's
-- rights (SECURITY INVOKER: the fare cache is compiled by a plain read of the tables). Only the owner
-- writes the tables; the trigger functions are not for calling.
REVOKE ALL ON faregate.zones, faregate.rider_categories, faregate.timeframe_names, faregate.timeframes,
    faregate.fare_rules, faregate.transfer_rules, faregate.fare_caps, faregate.fare_rules_rule_id_seq FROM PUBLIC;
GRANT SELECT ON faregate.zones, faregate.rider_categories, faregate.timeframe_names, faregate.timeframes, faregate.fare_rules,
    faregate.transfer_rules, faregate.fare_caps TO PUBLIC;
GRANT EXECUTE ON FUNCTION faregate.fare(text, text, timestamptz, text),
    faregate.fare_quote(text, text, timestamptz, text), faregate.journey_fare(faregate.leg[], text),
    faregate.charge_taps(faregate.leg[], text), faregate.fare_cache_stats() TO PUBLIC;
REVOKE ALL ON FUNCTION faregate.fare_rules_changed(), faregate.timeframes_check() FROM PUBLIC;
-- faregate install script, part 20: waiting queues (owned by extension/queues.c and extension/sketch.c).
-- Tables of queues and their entries, per-queue running counters, the hourly rollup, the lifecycle
-- functions (PL/pgSQL, VOLATILE), the statistics functions (C, STABLE) and the faregate.sketch type with
-- its aggregates (C, IMMUTABLE PARALLEL SAFE). docs/queues.md describes all of it.
--
-- SQLSTATEs raised by this part (class FQ = faregate queues):
--   FQ001  unknown queue          FQ002  unknown queue entry
--   FQ003  illegal transition (the entry is not in the status the transition starts from)
--   22004  a required argument is NULL              22023  a bad maintenance procedure argument
--   22003  NaN/infinity given to sketch_agg, quantile outside [0, 1], sketch count overflow
--   22P02  malformed sketch text   22P03  malformed binary sketch   XX001  corrupt stored sketch
--   22008  queue_stats since not finite, or an estimate beyond 1e12 s

-- ---------------------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE faregate.queues (
    queue_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text NOT NULL UNIQUE,
    servers  int  NOT NULL DEFAULT 1 CHECK (servers > 0)
);
COMMENT ON TABLE faregate.queues IS 'waiting queues; servers = counters open now (used by the ETA estimator)';

CREATE TABLE faregate.queue_entries (
    entry_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue_id    bigint NOT NULL REFERENCES faregate.queues ON DELETE CASCADE,
    ticket      text,
    status      text NOT NULL DEFAULT 'waiting'
                CHECK (status IN ('waiting', 'called', 'serving', 'served', 'no_show', 'cancelled')),
    joined_at   timestamptz NOT NULL,
    called_at   timestamptz,
    served_at   timestamptz,            -- service start
    finished_at timestamptz,            -- served, no_show or cancelled: when the entry left the queue
    CHECK ((finished_at IS NULL) = (status IN ('waiting', 'called', 'serving')))
);
COMMENT ON TABLE faregate.queue_entries IS 'one row per customer in a queue; see docs/queues.md for the lifecycle';

-- Who is waiting, in service order: call_next takes the first row, queue_position counts up to a row.
-- Only waiting rows are in it, so its size does not grow with history.
CREATE INDEX queue_entries_waiting_idx ON faregate.queue_entries (queue_id, joined_at, entry_id)
    WHERE status = 'waiting';
-- Finished entries by finish time, covering what queue_stats and the estimator read (index-only scans
-- over a time window, never over the whole history).
CREATE INDEX queue_entries_finished_idx ON faregate.queue_entries (queue_id, finished_at)
    INCLUDE (status, joined_at, called_at, served_at)
    WHERE finished_at IS NOT NULL;
-- Entries at a counter (called or serving): small, for the counter check in queue_report.sql.
CREATE INDEX queue_entries_active_idx ON faregate.queue_entries (queue_id)
    WHERE status IN ('called', 'serving');
-- Arrivals by time, for the arrival rate of the Erlang C fallback.
CREATE INDEX queue_entries_joined_idx ON faregate.queue_entries (queue_id, joined_at);

-- Per-queue running counters, maintained by the lifecycle functions. Each queue has up to
-- faregate._queue_counter_shards() rows ("shards"); a backend always updates the shard
-- pg_backend_pid() % shards, so concurrent counters (call_next from 50 desks) do not all queue up on
-- one hot row lock until commit. Readers sum the shards (a handful of rows). A shard's value may be
-- negative (joined through one backend, called through another); only the sum means something.
CREATE TABLE faregate.queue_counters (
    queue_id  bigint NOT NULL REFERENCES faregate.queues ON DELETE CASCADE,
    shard     int    NOT NULL,
    waiting   bigint NOT NULL DEFAULT 0,
    busy      bigint NOT NULL DEFAULT 0,    -- called or serving
    enqueued  bigint NOT NULL DEFAULT 0,    -- lifetime totals from here on
    served    bigint NOT NULL DEFAULT 0,
    no_shows  bigint NOT NULL DEFAULT 0,
    cancelled bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_id, shard)
);
COMMENT ON TABLE faregate.queue_counters IS 'per-queue running counters, sharded by backend; sum over shard';

-- ---------------------------------------------------------------------------------------------------
-- The sketch type (extension/sketch.c)
-- ---------------------------------------------------------------------------------------------------

CREATE TYPE faregate.sketch;
CREATE FUNCTION faregate.sketch_in(cstring) RETURNS faregate.sketch
    AS 'MODULE_PATHNAME', 'sketch_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION faregate.sketch_out(faregate.sketch) RETURNS cstring
    AS 'MODULE_PATHNAME', 'sketch_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION faregate.sketch_recv(internal) RETURNS faregate.sketch
    AS 'MODULE_PATHNAME', 'sketch_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION faregate.sketch_send(faregate.sketch) RETURNS bytea
    AS 'MODULE_PATHNAME', 'sketch_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE faregate.sketch (
    INPUT = faregate.sketch_in, OUTPUT = faregate.sketch_out,
    RECEIVE = faregate.sketch_recv, SEND = faregate.sketch_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);
COMMENT ON TYPE faregate.sketch IS
    'DDSketch-style quantile sketch: log buckets with gamma = 1.02/0.98, relative error <= 1%';

CREATE FUNCTION faregate.sketch_agg_trans(internal, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'sketch_agg_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION faregate.sketch_merge_trans(internal, faregate.sketch) RETURNS internal
    AS 'MODULE_PATHNAME', 'sketch_merge_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION faregate.sketch_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'sketch_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION faregate.sketch_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'sketch_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION faregate.sketch_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'sketch_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION faregate.sketch_final(internal) RETURNS faregate.sketch
    AS 'MODULE_PATHNAME', 'sketch_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE faregate.sketch_agg(float8) (
    SFUNC = faregate.sketch_agg_trans, STYPE = internal,
    COMBINEFUNC = faregate.sketch_combine,
    SERIALFUNC = faregate.sketch_serialize, DESERIALFUNC = faregate.sketch_deserialize,
    FINALFUNC = faregate.sketch_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE faregate.sketch_agg(float8) IS
    'quantile sketch of the non-NULL values (NaN and infinities are rejected); NULL over no rows';
CREATE AGGREGATE faregate.sketch_merge(faregate.sketch) (
    SFUNC = faregate.sketch_merge_trans, STYPE = internal,
    COMBINEFUNC = faregate.sketch_combine,
    SERIALFUNC = faregate.sketch_serialize, DESERIALFUNC = faregate.sketch_deserialize,
    FINALFUNC = faregate.sketch_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE faregate.sketch_merge(faregate.sketch) IS 'union of sketches (for rollups)';

CREATE FUNCTION faregate.quantile(faregate.sketch, float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'quantile' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION faregate.quantile(faregate.sketch, float8) IS
    'value at quantile q (0..1) in the sense of percentile_disc, within 1% relative error; NULL when empty';
CREATE FUNCTION faregate.sketch_count(faregate.sketch) RETURNS bigint
    AS 'MODULE_PATHNAME', 'sketch_count' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION faregate.sketch_count(faregate.sketch) IS 'number of values in the sketch';

-- Hourly rollup of finished entries (sql/maintenance/queue_rollup_hourly.sql), by hour of finished_at.
CREATE TABLE faregate.queue_hourly (
    queue_id        bigint      NOT NULL REFERENCES faregate.queues ON DELETE CASCADE,
    hour            timestamptz NOT NULL,
    served          bigint      NOT NULL,
    no_shows        bigint      NOT NULL,
    cancelled       bigint      NOT NULL,
    wait_count      bigint      NOT NULL,   -- entries with a wait (called_at set)
    wait_sum_s      float8      NOT NULL,
    service_count   bigint      NOT NULL,   -- served entries with a service time
    service_sum_s   float8      NOT NULL,
    wait_sketch     faregate.sketch,        -- sketch of those waits in seconds (NULL when none)
    PRIMARY KEY (queue_id, hour)
);
-- Up to when the hourly rollup is complete: queue_stats takes whole hours before this from
-- queue_hourly and the rest from queue_entries.
CREATE TABLE faregate.queue_rollup_state (
    singleton    bool PRIMARY KEY DEFAULT true CHECK (singleton),
    rolled_until timestamptz NOT NULL
);

-- ---------------------------------------------------------------------------------------------------
-- Lifecycle (VOLATILE: they write). waiting -> called -> serving -> served; called -> no_show;
-- waiting|called -> cancelled. Each transition sends NOTIFY faregate_queue_<queue_id> with the JSON
-- payload {"entry_id": .., "ticket": .., "status": ..} (delivered at commit, like every NOTIFY).
-- ---------------------------------------------------------------------------------------------------

-- _queue_counter_shards: how many counter rows a queue has (see faregate.queue_counters).
CREATE FUNCTION faregate._queue_counter_shards() RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 16';

-- _queue_count: adds to this backend's counter shard of a queue.
CREATE FUNCTION faregate._queue_count(p_queue_id bigint, d_waiting int, d_busy int, d_enqueued int,
                                      d_served int, d_no_shows int, d_cancelled int)
RETURNS void LANGUAGE sql VOLATILE AS $$
    INSERT INTO faregate.queue_counters AS c
           (queue_id, shard, waiting, busy, enqueued, served, no_shows, cancelled)
    VALUES (p_queue_id, pg_backend_pid() % faregate._queue_counter_shards(),
            d_waiting, d_busy, d_enqueued, d_served, d_no_shows, d_cancelled)
    ON CONFLICT (queue_id, shard) DO UPDATE
       SET waiting = c.waiting + excluded.waiting, busy = c.busy + excluded.busy,
           enqueued = c.enqueued + excluded.enqueued, served = c.served + excluded.served,
           no_shows = c.no_shows + excluded.no_shows, cancelled = c.cancelled + excluded.cancelled
$$;

-- _queue_notify: the lifecycle's NOTIFY on channel faregate_queue_<queue_id>, unless the setting
-- faregate.queue_notify is off (docs/queues.md: NOTIFY serializes the commits of notifying transactions).
CREATE FUNCTION faregate._queue_notify(p_queue_id bigint, p_entry_id bigint, p_ticket text, p_status text)
RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT pg_notify('faregate_queue_' || p_queue_id,
                     json_build_object('entry_id', p_entry_id, 'ticket', p_ticket, 'status', p_status)::text)
     -- missing_ok: a backend that has not loaded faregate.so yet knows the setting only if it was SET
     WHERE coalesce(current_setting('faregate.queue_notify', true), 'on') NOT IN ('off', 'false', '0', 'no')
$$;

-- _queue_transition: moves one entry from one of the statuses in p_from to p_to, stamping p_stamp_col
-- with p_at, after locking the row. Raises FQ002 for an unknown entry, FQ003 for an illegal transition.
CREATE FUNCTION faregate._queue_transition(p_entry_id bigint, p_from text[], p_to text, p_at timestamptz,
                                           p_fn text)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    e faregate.queue_entries;
BEGIN
    IF p_entry_id IS NULL THEN
        RAISE EXCEPTION 'faregate.%: entry_id must not be NULL', p_fn
            USING ERRCODE = '22004', HINT = 'Pass the entry id that faregate.enqueue returned.';
    END IF;
    IF p_at IS NULL THEN
        RAISE EXCEPTION 'faregate.%: at must not be NULL', p_fn
            USING ERRCODE = '22004', HINT = 'Leave "at" out to use now().';
    END IF;
    SELECT * INTO e FROM faregate.queue_entries WHERE entry_id = p_entry_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue entry % does not exist', p_entry_id
            USING ERRCODE = 'FQ002', HINT = 'Pass the entry id that faregate.enqueue returned.';
    END IF;
    IF NOT e.status = ANY (p_from) THEN
        RAISE EXCEPTION 'illegal transition of queue entry % from "%" to "%"', p_entry_id, e.status, p_to
            USING ERRCODE = 'FQ003',
                  DETAIL = format('faregate.%s needs an entry in status %s.', p_fn, array_to_string(p_from, ' or ')),
                  HINT = 'Check the entry''s status first; docs/queues.md shows the allowed transitions.';
    END IF;
    UPDATE faregate.queue_entries
       SET status = p_to,
           served_at = CASE WHEN p_to = 'serving' THEN p_at ELSE served_at END,
           finished_at = CASE WHEN p_to IN ('served', 'no_show', 'cancelled') THEN p_at ELSE finished_at END
     WHERE entry_id = p_entry_id;
    PERFORM faregate._queue_count(e.queue_id,
        CASE WHEN e.status = 'waiting' THEN -1 ELSE 0 END,
        (CASE WHEN p_to IN ('called', 'serving') THEN 1 ELSE 0 END)
          - (CASE WHEN e.status IN ('called', 'serving') THEN 1 ELSE 0 END),
        0,
        CASE WHEN p_to = 'served' THEN 1 ELSE 0 END,
        CASE WHEN p_to = 'no_show' THEN 1 ELSE 0 END,
        CASE WHEN p_to = 'cancelled' THEN 1 ELSE 0 END);
    PERFORM faregate._queue_notify(e.queue_id, p_entry_id, e.ticket, p_to);
END
$$;

CREATE FUNCTION faregate.enqueue(queue_id bigint, ticket text DEFAULT NULL, at timestamptz DEFAULT now())
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_entry bigint;
BEGIN
    IF enqueue.queue_id IS NULL OR enqueue.at IS NULL THEN
        RAISE EXCEPTION 'faregate.enqueue: queue_id and at must not be NULL'
            USING ERRCODE = '22004', HINT = 'Pass a queue_id from faregate.queues; leave "at" out to use now().';
    END IF;
    -- FOR KEY SHARE: the queue cannot be deleted under us, and the check names the queue on failure
    -- (instead of a foreign key violation).
    PERFORM 1 FROM faregate.queues q WHERE q.queue_id = enqueue.queue_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue % does not exist', enqueue.queue_id
            USING ERRCODE = 'FQ001', HINT = 'Create it first: INSERT INTO faregate.queues (name) VALUES (...).';
    END IF;
    INSERT INTO faregate.queue_entries (queue_id, ticket, status, joined_at)
    VALUES (enqueue.queue_id, enqueue.ticket, 'waiting', enqueue.at)
    RETURNING entry_id INTO v_entry;
    PERFORM faregate._queue_count(enqueue.queue_id, 1, 0, 1, 0, 0, 0);
    PERFORM faregate._queue_notify(enqueue.queue_id, v_entry, enqueue.ticket, 'waiting');
    RETURN v_entry;
END
$$;
COMMENT ON FUNCTION faregate.enqueue(bigint, text, timestamptz) IS 'adds a waiting entry; returns its entry_id';

-- call_next: the oldest waiting entry (by joined_at, entry_id) becomes called. FOR UPDATE SKIP LOCKED on
-- the waiting index: a concurrent caller skips the row another caller is taking instead of waiting for
-- it, and a row another caller already took no longer matches status = 'waiting' when re-checked after
-- the lock, so no entry is ever called twice.
CREATE FUNCTION faregate.call_next(queue_id bigint, at timestamptz DEFAULT now())
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_entry  bigint;
    v_ticket text;
BEGIN
    IF call_next.queue_id IS NULL OR call_next.at IS NULL THEN
        RAISE EXCEPTION 'faregate.call_next: queue_id and at must not be NULL'
            USING ERRCODE = '22004', HINT = 'Pass a queue_id from faregate.queues; leave "at" out to use now().';
    END IF;
    SELECT e.entry_id, e.ticket INTO v_entry, v_ticket
      FROM faregate.queue_entries e
     WHERE e.queue_id = call_next.queue_id AND e.status = 'waiting'
     ORDER BY e.joined_at, e.entry_id
     LIMIT 1
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM faregate.queues q WHERE q.queue_id = call_next.queue_id) THEN
            RAISE EXCEPTION 'queue % does not exist', call_next.queue_id
                USING ERRCODE = 'FQ001', HINT = 'Create it first: INSERT INTO faregate.queues (name) VALUES (...).';
        END IF;
        RETURN NULL;
    END IF;
    UPDATE faregate.queue_entries e SET status = 'called', called_at = call_next.at
     WHERE e.entry_id = v_entry;
    PERFORM faregate._queue_count(call_next.queue_id, -1, 1, 0, 0, 0, 0);
    PERFORM faregate._queue_notify(call_next.queue_id, v_entry, v_ticket, 'called');
    RETURN v_entry;
END
$$;
COMMENT ON FUNCTION faregate.call_next(bigint, timestamptz) IS
    'calls the oldest waiting entry (exactly once under concurrency); NULL when nobody waits';

CREATE FUNCTION faregate.start_service(entry_id bigint, at timestamptz DEFAULT now())
RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT faregate._queue_transition(entry_id, '{called}', 'serving', at, 'start_service')
$$;
CREATE FUNCTION faregate.finish(entry_id bigint, at timestamptz DEFAULT now())
RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT faregate._queue_transition(entry_id, '{serving}', 'served', at, 'finish')
$$;
CREATE FUNCTION faregate.mark_no_show(entry_id bigint, at timestamptz DEFAULT now())
RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT faregate._queue_transition(entry_id, '{called}', 'no_show', at, 'mark_no_show')
$$;
CREATE FUNCTION faregate.cancel(entry_id bigint, at timestamptz DEFAULT now())
RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT faregate._queue_transition(entry_id, '{waiting,called}', 'cancelled', at, 'cancel')
$$;
COMMENT ON FUNCTION faregate.start_service(bigint, timestamptz) IS 'called -> serving (sets served_at)';
COMMENT ON FUNCTION faregate.finish(bigint, timestamptz) IS 'serving -> served (sets finished_at)';
COMMENT ON FUNCTION faregate.mark_no_show(bigint, timestamptz) IS 'called -> no_show (sets finished_at)';
COMMENT ON FUNCTION faregate.cancel(bigint, timestamptz) IS 'waiting or called -> cancelled (sets finished_at)';

-- ---------------------------------------------------------------------------------------------------
-- Statistics (extension/queues.c). STABLE: they only read tables and now().
-- ---------------------------------------------------------------------------------------------------

CREATE FUNCTION faregate.queue_position(entry_id bigint) RETURNS int
    AS 'MODULE_PATHNAME', 'queue_position' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION faregate.queue_position(bigint) IS '1 = next to be called; NULL when not waiting';

CREATE FUNCTION faregate.estimated_wait(entry_id bigint) RETURNS interval
    AS 'MODULE_PATHNAME', 'estimated_wait' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION faregate.estimated_wait(bigint) IS
    'expected time until a waiting entry is called (docs/queues.md: estimator); NULL when not waiting';

CREATE FUNCTION faregate.queue_eta(queue_id bigint) RETURNS interval
    AS 'MODULE_PATHNAME', 'queue_eta' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION faregate.queue_eta(bigint) IS 'expected wait for someone joining the queue now';

CREATE FUNCTION faregate.queue_stats(queue_id bigint, since timestamptz DEFAULT now() - interval '1 day')
RETURNS TABLE (waiting int, served bigint, no_shows bigint, cancelled bigint, avg_wait interval,
               p50_wait interval, p90_wait interval, p99_wait interval, avg_service interval,
               throughput_per_hour float8)
    AS 'MODULE_PATHNAME', 'queue_stats' LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION faregate.queue_stats(bigint, timestamptz) IS
    'counts, waits (p50/p90/p99 by sketch, 1% relative error) and throughput of entries finished since "since"';

-- ---------------------------------------------------------------------------------------------------
-- Maintenance procedures (sql/maintenance/*.sql call them; pg_cron can CALL them directly)
-- ---------------------------------------------------------------------------------------------------

-- queue_rollup_hourly: rolls the finished entries of every complete UTC hour that is not rolled up yet
-- into faregate.queue_hourly (per queue, through the finished-entries index) and advances
-- queue_rollup_state.rolled_until, in the caller's transaction. An hour counts as complete once it
-- ended "grace" ago (transactions finishing entries of that hour have committed by then). reroll_since
-- deletes the rollups from that hour on and rolls them up again (after an import with "at" in the past).
-- Idempotent: a second call in the same hour finds nothing new.
CREATE PROCEDURE faregate.queue_rollup_hourly(grace interval DEFAULT '5 minutes',
                                              reroll_since timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    from_ts timestamptz;
    to_ts   timestamptz;
    reroll  timestamptz;
    n       bigint;
BEGIN
    IF grace IS NULL OR grace < interval '0' THEN
        RAISE EXCEPTION 'queue_rollup_hourly: grace must be a non-negative interval, not %', grace
            USING ERRCODE = '22023', HINT = 'Leave it out for 5 minutes.';
    END IF;
    INSERT INTO faregate.queue_rollup_state (singleton, rolled_until) VALUES (true, '-infinity')
        ON CONFLICT (singleton) DO NOTHING;
    -- the row lock makes concurrent rollups take turns
    SELECT rolled_until INTO from_ts FROM faregate.queue_rollup_state FOR UPDATE;
    IF reroll_since IS NOT NULL THEN
        reroll := date_trunc('hour', reroll_since AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        DELETE FROM faregate.queue_hourly WHERE hour >= reroll;
        from_ts := least(from_ts, reroll);
    END IF;
    to_ts := date_trunc('hour', (now() - grace) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    IF to_ts <= from_ts THEN
        UPDATE faregate.queue_rollup_state SET rolled_until = from_ts;
        RAISE NOTICE 'queue_rollup_hourly: nothing to roll up (complete up to %)', from_ts;
        RETURN;
    END IF;
    INSERT INTO faregate.queue_hourly (queue_id, hour, served, no_shows, cancelled, wait_count, wait_sum_s,
                                       service_count, service_sum_s, wait_sketch)
    SELECT q.queue_id, r.*
      FROM faregate.queues q
     CROSS JOIN LATERAL (
           SELECT date_trunc('hour', e.finished_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
                  count(*) FILTER (WHERE e.status = 'served'),
                  count(*) FILTER (WHERE e.status = 'no_show'),
                  count(*) FILTER (WHERE e.status = 'cancelled'),
                  count(e.called_at),
                  coalesce(sum(extract(epoch FROM e.called_at - e.joined_at))::float8, 0),
                  count(*) FILTER (WHERE e.status = 'served' AND e.served_at IS NOT NULL),
                  coalesce(sum(extract(epoch FROM e.finished_at - e.served_at))
                             FILTER (WHERE e.status = 'served')::float8, 0),
                  faregate.sketch_agg(extract(epoch FROM e.called_at - e.joined_at)::float8)
             FROM faregate.queue_entries e
            WHERE e.queue_id = q.queue_id AND e.finished_at IS NOT NULL
              AND e.finished_at >= from_ts AND e.finished_at < to_ts
            GROUP BY 1) r;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE faregate.queue_rollup_state SET rolled_until = to_ts;
    RAISE NOTICE 'queue_rollup_hourly: rolled up [%, %): % queue-hours', from_ts, to_ts, n;
END
$$;
COMMENT ON PROCEDURE faregate.queue_rollup_hourly(interval, timestamptz) IS
    'rolls complete hours of finished entries into faregate.queue_hourly (idempotent)';

-- queue_purge: deletes (archive: moves to faregate_archive.queue_entries) finished entries older than
-- the retention whose hour is rolled up already, per queue, in batches that each commit, so that it
-- holds no long locks or snapshots. Must be CALLed outside a transaction block (it commits). Waiting,
-- called and serving entries are never touched.
CREATE PROCEDURE faregate.queue_purge(retention interval DEFAULT '90 days', batch int DEFAULT 5000,
                                      archive bool DEFAULT false, max_batches int DEFAULT 100000)
LANGUAGE plpgsql AS $$
DECLARE
    cutoff  timestamptz;
    q       bigint;
    n       bigint;
    total   bigint := 0;
    batches int := 0;
BEGIN
    IF retention IS NULL OR retention < interval '0' OR batch IS NULL OR batch < 1
       OR archive IS NULL OR max_batches IS NULL OR max_batches < 1 THEN
        RAISE EXCEPTION 'queue_purge: retention must be a non-negative interval, batch and max_batches positive, archive true or false'
            USING ERRCODE = '22023', HINT = 'e.g. CALL faregate.queue_purge(interval ''90 days'', 5000, false).';
    END IF;
    IF archive THEN
        CREATE SCHEMA IF NOT EXISTS faregate_archive;
        CREATE TABLE IF NOT EXISTS faregate_archive.queue_entries
            (LIKE faregate.queue_entries INCLUDING DEFAULTS EXCLUDING IDENTITY);
    END IF;
    SELECT least(now() - retention, coalesce(max(rolled_until), '-infinity'))
      INTO cutoff FROM faregate.queue_rollup_state;
    FOR q IN SELECT queue_id FROM faregate.queues ORDER BY queue_id LOOP
        LOOP
            IF archive THEN
                EXECUTE 'WITH doomed AS (
                             SELECT entry_id FROM faregate.queue_entries
                              WHERE queue_id = $1 AND finished_at IS NOT NULL AND finished_at < $2
                              LIMIT $3 FOR UPDATE SKIP LOCKED),
                         gone AS (
                             DELETE FROM faregate.queue_entries e USING doomed d
                              WHERE e.entry_id = d.entry_id RETURNING e.*)
                         INSERT INTO faregate_archive.queue_entries SELECT * FROM gone'
                    USING q, cutoff, batch;
            ELSE
                DELETE FROM faregate.queue_entries e
                 WHERE e.entry_id IN (SELECT entry_id FROM faregate.queue_entries
                                       WHERE queue_id = q AND finished_at IS NOT NULL AND finished_at < cutoff
                                       LIMIT batch FOR UPDATE SKIP LOCKED);
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            total := total + n;
            batches := batches + 1;
            COMMIT;
            EXIT WHEN n < batch OR batches >= max_batches;
        END LOOP;
        EXIT WHEN batches >= max_batches;
    END LOOP;
    RAISE NOTICE 'queue_purge: % entries finished before % %, in % batches', total, cutoff,
        CASE WHEN archive THEN 'archived' ELSE 'deleted' END, batches;
END
$$;
COMMENT ON PROCEDURE faregate.queue_purge(interval, int, bool, int) IS
    'deletes or archives rolled-up finished entries older than the retention, in committed batches';

-- ---------------------------------------------------------------------------------------------------
-- Privileges (docs/queues.md "Privileges", docs/reliability.md). The tables are written only by the
-- extension's owner: PUBLIC has no privilege on them. Three kinds of callers:
--   * anybody (PUBLIC): the statistics (queue_position, estimated_wait, queue_eta, queue_stats) and the
--     sketch type and its functions. The statistics are SECURITY DEFINER so that a customer screen can
--     show a position without being able to read the tickets and times of other customers; they only
--     read, and only return positions, durations and counts.
--   * the role faregate_queue_operator (NOLOGIN; GRANT it to the application's roles): the lifecycle
--     (enqueue ... cancel), SECURITY DEFINER so that they are the only way its members change the
--     tables, plus SELECT on the queue tables for staff screens.
--   * the owner only: creating queues (INSERT INTO faregate.queues), the maintenance procedures and the
--     internal helpers (_queue_*).
-- Every SECURITY DEFINER function runs with search_path = pg_catalog, faregate, pg_temp: pg_temp last,
-- so that a caller's temporary objects can never stand in for faregate's or pg_catalog's.
-- The role is cluster-wide: it is created here when missing and stays after DROP EXTENSION (other
-- databases may use it); drop it by hand when no faregate is left.
-- ---------------------------------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'faregate_queue_operator') THEN
        CREATE ROLE faregate_queue_operator NOLOGIN;
    END IF;
END $$;

REVOKE ALL ON faregate.queues, faregate.queue_entries, faregate.queue_counters, faregate.queue_hourly,
    faregate.queue_rollup_state FROM PUBLIC;
GRANT SELECT ON faregate.queues, faregate.queue_entries, faregate.queue_counters, faregate.queue_hourly
    TO faregate_queue_operator;

ALTER FUNCTION faregate.enqueue(bigint, text, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
ALTER FUNCTION faregate.call_next(bigint, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
ALTER FUNCTION faregate.start_service(bigint, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
ALTER FUNCTION faregate.finish(bigint, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
ALTER FUNCTION faregate.mark_no_show(bigint, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
ALTER FUNCTION faregate.cancel(bigint, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
REVOKE ALL ON FUNCTION faregate.enqueue(bigint, text, timestamptz), faregate.call_next(bigint, timestamptz),
    faregate.start_service(bigint, timestamptz), faregate.finish(bigint, timestamptz),
    faregate.mark_no_show(bigint, timestamptz), faregate.cancel(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION faregate.enqueue(bigint, text, timestamptz), faregate.call_next(bigint, timestamptz),
    faregate.start_service(bigint, timestamptz), faregate.finish(bigint, timestamptz),
    faregate.mark_no_show(bigint, timestamptz), faregate.cancel(bigint, timestamptz)
    TO faregate_queue_operator;

ALTER FUNCTION faregate.queue_position(bigint) SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
ALTER FUNCTION faregate.estimated_wait(bigint) SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
ALTER FUNCTION faregate.queue_eta(bigint) SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
ALTER FUNCTION faregate.queue_stats(bigint, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, faregate, pg_temp;
GRANT EXECUTE ON FUNCTION faregate.queue_position(bigint), faregate.estimated_wait(bigint),
    faregate.queue_eta(bigint), faregate.queue_stats(bigint, timestamptz) TO PUBLIC;

REVOKE ALL ON FUNCTION faregate._queue_counter_shards(),
    faregate._queue_count(bigint, int, int, int, int, int, int),
    faregate._queue_notify(bigint, bigint, text, text),
    faregate._queue_transition(bigint, text[], text, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE faregate.queue_rollup_hourly(interval, timestamptz),
    faregate.queue_purge(interval, int, bool, int) FROM PUBLIC;
