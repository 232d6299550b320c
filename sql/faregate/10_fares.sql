-- faregate install script, part 10: fares (owned by extension/fares.c and extension/fare_cache.c).
-- The rule tables are the source of truth; every backend keeps a cache (fare_cache.c) whose entries a
-- statement-level trigger on each table drops, key by key, through a change log and a relcache
-- invalidation. See docs/fares.md.
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

-- The change log (fare_cache.c, fare_changelog.c): every statement that changes a rule table writes
-- what it changed, so that a backend drops only those cache entries. One row per changed
-- (from_zone, to_zone, category) of fare_rules; all three NULL: everything (a change of another rule
-- table, a TRUNCATE, or a statement of more than 2,000 rows). xid is the writer's top-level transaction:
-- a backend reads the rows of the transactions its last snapshot did not see. The trigger prunes rows
-- older than 10 minutes and records in fare_rule_changes_pruned the xid below which rows may be gone.
CREATE TABLE faregate.fare_rule_changes (
    change_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    from_zone  text,
    to_zone    text,
    category   text
);
COMMENT ON TABLE faregate.fare_rule_changes IS 'keys of changed fare rules (NULL keys: everything), read by every backend''s fare cache; pruned by the trigger';
CREATE INDEX fare_rule_changes_xid ON faregate.fare_rule_changes (xid);
CREATE TABLE faregate.fare_rule_changes_pruned (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    below    xid8 NOT NULL
);
COMMENT ON TABLE faregate.fare_rule_changes_pruned IS 'rows of fare_rule_changes with an xid below this may have been pruned';
INSERT INTO faregate.fare_rule_changes_pruned VALUES (true, '0');

-- fare_rules_changed: statement-level trigger function (fare_cache.c) that writes the change log and
-- sends a relcache invalidation for the changed table; every backend then reads the change log.
CREATE FUNCTION faregate.fare_rules_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'fare_rules_changed' LANGUAGE C;

CREATE TRIGGER zones_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.zones
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER rider_categories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.rider_categories
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER timeframes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.timeframes
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
-- fare_rules: one trigger per event, so that the transition tables tell which keys changed (PostgreSQL
-- allows transition tables only on single-event triggers; TRUNCATE has none and logs everything)
CREATE TRIGGER fare_rules_changed AFTER TRUNCATE ON faregate.fare_rules
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER fare_rules_inserted AFTER INSERT ON faregate.fare_rules
    REFERENCING NEW TABLE AS fare_rules_new
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER fare_rules_updated AFTER UPDATE ON faregate.fare_rules
    REFERENCING OLD TABLE AS fare_rules_old NEW TABLE AS fare_rules_new
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER fare_rules_deleted AFTER DELETE ON faregate.fare_rules
    REFERENCING OLD TABLE AS fare_rules_old
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER transfer_rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.transfer_rules
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
CREATE TRIGGER fare_caps_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.fare_caps
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.fare_rules_changed();
-- ENABLE ALWAYS: the change log and the invalidation must also happen where triggers are otherwise off
-- (logical replication apply, session_replication_role = replica during a bulk load).
ALTER TABLE faregate.zones ENABLE ALWAYS TRIGGER zones_changed;
ALTER TABLE faregate.rider_categories ENABLE ALWAYS TRIGGER rider_categories_changed;
ALTER TABLE faregate.timeframes ENABLE ALWAYS TRIGGER timeframes_changed;
ALTER TABLE faregate.fare_rules ENABLE ALWAYS TRIGGER fare_rules_changed;
ALTER TABLE faregate.fare_rules ENABLE ALWAYS TRIGGER fare_rules_inserted;
ALTER TABLE faregate.fare_rules ENABLE ALWAYS TRIGGER fare_rules_updated;
ALTER TABLE faregate.fare_rules ENABLE ALWAYS TRIGGER fare_rules_deleted;
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
    RETURNS TABLE (hits bigint, misses bigint, rebuilds bigint, entries bigint, bytes bigint,
                   key_invalidations bigint, full_invalidations bigint)
    AS 'MODULE_PATHNAME', 'fare_cache_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 1;
COMMENT ON FUNCTION faregate.fare_cache_stats() IS 'this backend''s compiled fare table: hits, misses, rebuilds, entries, bytes, per-key and full invalidations';

-- Privileges (docs/fares.md "Privileges", docs/reliability.md): fares are a published tariff, so PUBLIC
-- may read the rule tables and call the pricing and cache-stats functions, which run with the caller's
-- rights (SECURITY INVOKER: the fare cache is compiled by a plain read of the tables). Only the owner
-- writes the tables; the trigger functions are not for calling.
REVOKE ALL ON faregate.zones, faregate.rider_categories, faregate.timeframe_names, faregate.timeframes,
    faregate.fare_rules, faregate.transfer_rules, faregate.fare_caps, faregate.fare_rules_rule_id_seq FROM PUBLIC;
GRANT SELECT ON faregate.zones, faregate.rider_categories, faregate.timeframe_names, faregate.timeframes, faregate.fare_rules,
    faregate.transfer_rules, faregate.fare_caps TO PUBLIC;
-- every pricing backend reads the change log
REVOKE ALL ON faregate.fare_rule_changes, faregate.fare_rule_changes_pruned, faregate.fare_rule_changes_change_id_seq FROM PUBLIC;
GRANT SELECT ON faregate.fare_rule_changes, faregate.fare_rule_changes_pruned TO PUBLIC;
GRANT EXECUTE ON FUNCTION faregate.fare(text, text, timestamptz, text),
    faregate.fare_quote(text, text, timestamptz, text), faregate.journey_fare(faregate.leg[], text),
    faregate.charge_taps(faregate.leg[], text), faregate.fare_cache_stats() TO PUBLIC;
REVOKE ALL ON FUNCTION faregate.fare_rules_changed(), faregate.timeframes_check() FROM PUBLIC;
