-- faregate upgrade 0.1 -> 0.2. Each part of the upgrade is one delimited block; append new blocks at
-- the end. A fresh 0.2 install and 0.1 + this script give the same objects (test/pgtap/01_upgrade.sql).

-- ---- begin: fares, per-key cache invalidation (issue 13; fare_cache.c, fare_changelog.c) ----
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

-- fare_rules: one trigger per event with transition tables instead of one for all events
DROP TRIGGER fare_rules_changed ON faregate.fare_rules;
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
ALTER TABLE faregate.fare_rules ENABLE ALWAYS TRIGGER fare_rules_changed;
ALTER TABLE faregate.fare_rules ENABLE ALWAYS TRIGGER fare_rules_inserted;
ALTER TABLE faregate.fare_rules ENABLE ALWAYS TRIGGER fare_rules_updated;
ALTER TABLE faregate.fare_rules ENABLE ALWAYS TRIGGER fare_rules_deleted;
REVOKE ALL ON faregate.fare_rule_changes, faregate.fare_rule_changes_pruned, faregate.fare_rule_changes_change_id_seq FROM PUBLIC;
GRANT SELECT ON faregate.fare_rule_changes, faregate.fare_rule_changes_pruned TO PUBLIC;
-- ---- end: fares, per-key cache invalidation ----

-- ---- GTFS fares (docs/gtfs.md): every object is new in 0.2; the statements of sql/faregate/30_gtfs.sql ----
-- faregate install script, part 30: GTFS fares (owned by extension/gtfs_tariff.c, gtfs_price.c and the
-- loader extension/gtfs-loader/faregate-gtfs). Each table holds the rows of one GTFS file for every
-- loaded feed, keyed by feed_id, so that several feeds live side by side; faregate.gtfs_import replaces
-- one feed in the caller's transaction. Empty GTFS fields are NULL. See docs/gtfs.md.
--
-- SQLSTATEs raised here and in gtfs_*.c (class FG, 1xx, documented in docs/gtfs.md):
--   FG101 a feed with errors (every error in the DETAIL)   FG102 unknown feed
--   FG103 no fare applies to a leg                         FG104 bad journey (NULL leg, time order)
--   FG105 unknown rider category or fare media             FG106 too many fare options to enumerate

CREATE TABLE faregate.gtfs_feeds (
    feed_id           text PRIMARY KEY CHECK (feed_id <> ''),
    loaded_at         timestamptz NOT NULL DEFAULT now(),
    timezone          text NOT NULL,
    -- fare_leg_rules.txt had a rule_priority column: empty fields then mean "does not affect matching"
    has_rule_priority boolean NOT NULL DEFAULT false,
    files             text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE faregate.gtfs_feeds IS 'loaded GTFS feeds: the agency time zone and which files the feed had';

CREATE TABLE faregate.gtfs_agencies (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    agency_id text NOT NULL,
    agency_name text,
    agency_timezone text NOT NULL,
    PRIMARY KEY (feed_id, agency_id)
);
CREATE TABLE faregate.gtfs_stops (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    stop_id text NOT NULL,
    stop_name text,
    location_type int NOT NULL DEFAULT 0,
    parent_station text,
    zone_id text,
    stop_timezone text,
    PRIMARY KEY (feed_id, stop_id)
);
CREATE TABLE faregate.gtfs_networks (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    network_id text NOT NULL,
    network_name text,
    PRIMARY KEY (feed_id, network_id)
);
CREATE TABLE faregate.gtfs_routes (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    route_id text NOT NULL,
    agency_id text,
    route_short_name text,
    route_type int,
    network_id text,           -- from routes.network_id or route_networks.txt
    PRIMARY KEY (feed_id, route_id)
);
CREATE TABLE faregate.gtfs_areas (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    area_id text NOT NULL,
    area_name text,
    PRIMARY KEY (feed_id, area_id)
);
CREATE TABLE faregate.gtfs_stop_areas (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    area_id text NOT NULL,
    stop_id text NOT NULL,
    PRIMARY KEY (feed_id, area_id, stop_id)
);
CREATE TABLE faregate.gtfs_calendar (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    service_id text NOT NULL,
    days boolean[] NOT NULL CHECK (cardinality(days) = 7),   -- Monday .. Sunday
    start_date date NOT NULL,
    end_date date NOT NULL,
    PRIMARY KEY (feed_id, service_id)
);
CREATE TABLE faregate.gtfs_calendar_dates (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    service_id text NOT NULL,
    date date NOT NULL,
    exception_type int NOT NULL CHECK (exception_type IN (1, 2)),
    PRIMARY KEY (feed_id, service_id, date)
);
CREATE TABLE faregate.gtfs_timeframes (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    timeframe_group_id text NOT NULL,
    start_time interval,       -- seconds after local midnight; NULL = 00:00:00
    end_time interval,         -- NULL = 24:00:00
    service_id text NOT NULL
);
CREATE INDEX ON faregate.gtfs_timeframes (feed_id, timeframe_group_id);
CREATE TABLE faregate.gtfs_rider_categories (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    rider_category_id text NOT NULL,
    rider_category_name text,
    is_default_fare_category boolean NOT NULL DEFAULT false,
    eligibility_url text,
    PRIMARY KEY (feed_id, rider_category_id)
);
CREATE TABLE faregate.gtfs_fare_media (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    fare_media_id text NOT NULL,
    fare_media_name text,
    fare_media_type int NOT NULL CHECK (fare_media_type BETWEEN 0 AND 4),
    PRIMARY KEY (feed_id, fare_media_id)
);
CREATE TABLE faregate.gtfs_fare_products (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    fare_product_id text NOT NULL,
    fare_product_name text,
    rider_category_id text,
    fare_media_id text,
    amount numeric NOT NULL,   -- may be negative (a discount), in the currency's minor-unit precision
    currency char(3) NOT NULL
);
CREATE UNIQUE INDEX ON faregate.gtfs_fare_products (feed_id, fare_product_id, coalesce(rider_category_id, ''), coalesce(fare_media_id, ''));
CREATE TABLE faregate.gtfs_fare_leg_rules (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    leg_group_id text,
    network_id text,
    from_area_id text,
    to_area_id text,
    from_timeframe_group_id text,
    to_timeframe_group_id text,
    fare_product_id text NOT NULL,
    rule_priority int CHECK (rule_priority >= 0)
);
CREATE INDEX ON faregate.gtfs_fare_leg_rules (feed_id);
CREATE TABLE faregate.gtfs_fare_leg_join_rules (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    from_network_id text NOT NULL,
    to_network_id text NOT NULL,
    from_stop_id text,
    to_stop_id text
);
CREATE TABLE faregate.gtfs_fare_transfer_rules (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    from_leg_group_id text,
    to_leg_group_id text,
    transfer_count int CHECK (transfer_count = -1 OR transfer_count >= 1),
    duration_limit int CHECK (duration_limit > 0),
    duration_limit_type int CHECK (duration_limit_type BETWEEN 0 AND 3),
    fare_transfer_type int NOT NULL CHECK (fare_transfer_type BETWEEN 0 AND 2),
    fare_product_id text
);
CREATE TABLE faregate.gtfs_fare_attributes (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    fare_id text NOT NULL,
    price numeric NOT NULL CHECK (price >= 0),
    currency_type char(3) NOT NULL,
    payment_method int NOT NULL CHECK (payment_method IN (0, 1)),
    transfers int CHECK (transfers BETWEEN 0 AND 2),   -- NULL = unlimited
    agency_id text,
    transfer_duration int CHECK (transfer_duration >= 0),
    PRIMARY KEY (feed_id, fare_id)
);
CREATE TABLE faregate.gtfs_fare_rules (
    feed_id text NOT NULL REFERENCES faregate.gtfs_feeds ON DELETE CASCADE,
    fare_id text NOT NULL,
    route_id text,
    origin_id text,
    destination_id text,
    contains_id text
);
CREATE INDEX ON faregate.gtfs_fare_rules (feed_id, fare_id);

-- ISO 4217 currencies and their minor-unit decimals: a fare_products.amount or fare_attributes.price
-- with more decimals than its currency has is an error (the GTFS "Currency amount" type).
CREATE TABLE faregate.gtfs_currencies (
    currency char(3) PRIMARY KEY,
    decimals int NOT NULL
);
INSERT INTO faregate.gtfs_currencies
SELECT c, CASE WHEN c IN ('BIF','CLP','DJF','GNF','ISK','JPY','KMF','KRW','PYG','RWF','UGX','UYI','VND',
                          'VUV','XAF','XOF','XPF') THEN 0
               WHEN c IN ('BHD','IQD','JOD','KWD','LYD','OMR','TND') THEN 3
               WHEN c IN ('CLF','UYW') THEN 4 ELSE 2 END
  FROM unnest(string_to_array(
 'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD '
 'CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP '
 'GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW '
 'KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN '
 'NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL '
 'SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES '
 'VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL', ' ')) AS c;
COMMENT ON TABLE faregate.gtfs_currencies IS 'ISO 4217 codes and their minor-unit decimals (GTFS currency amounts)';

-- gtfs_generation: bumped (from a sequence, so a value is never seen twice even across rolled-back
-- transactions) by every statement that writes a gtfs_ table; each backend's compiled tariff
-- (gtfs_tariff.c) remembers the value it was built under and is rebuilt when it differs.
CREATE SEQUENCE faregate.gtfs_generation_seq;
CREATE TABLE faregate.gtfs_generation (
    one bool PRIMARY KEY DEFAULT true CHECK (one),
    generation bigint NOT NULL
);
INSERT INTO faregate.gtfs_generation VALUES (true, nextval('faregate.gtfs_generation_seq'));

CREATE FUNCTION faregate.gtfs_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    UPDATE faregate.gtfs_generation SET generation = nextval('faregate.gtfs_generation_seq');
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['gtfs_feeds', 'gtfs_agencies', 'gtfs_stops', 'gtfs_networks', 'gtfs_routes',
        'gtfs_areas', 'gtfs_stop_areas', 'gtfs_calendar', 'gtfs_calendar_dates', 'gtfs_timeframes',
        'gtfs_rider_categories', 'gtfs_fare_media', 'gtfs_fare_products', 'gtfs_fare_leg_rules',
        'gtfs_fare_leg_join_rules', 'gtfs_fare_transfer_rules', 'gtfs_fare_attributes', 'gtfs_fare_rules']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION faregate.gtfs_changed()', t || '_changed', t);
        EXECUTE format('ALTER TABLE faregate.%I ENABLE ALWAYS TRIGGER %I', t, t || '_changed');
        EXECUTE format('SELECT pg_catalog.pg_extension_config_dump(%L, %L)', 'faregate.' || t, '');
        EXECUTE format('REVOKE ALL ON faregate.%I FROM PUBLIC', t);
        EXECUTE format('GRANT SELECT ON faregate.%I TO PUBLIC', t);
    END LOOP;
END $$;
REVOKE ALL ON faregate.gtfs_currencies, faregate.gtfs_generation, faregate.gtfs_generation_seq FROM PUBLIC;
GRANT SELECT ON faregate.gtfs_currencies, faregate.gtfs_generation TO PUBLIC;
REVOKE ALL ON FUNCTION faregate.gtfs_changed() FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------------
-- Loading (docs/gtfs.md "Loading a feed"). The loader (faregate-gtfs load) runs, in one transaction:
--   faregate._gtfs_stage_csv(file, bytes) for each file it found, which reads the file's CSV records
--   (gtfs_csv.c; a bad record is an error naming file, row and field) into the temporary staging table
--   pg_temp.gtfs_stg_<file> (row_no, then one text column per known and per header column) made by
--   _gtfs_stage; then faregate.gtfs_import(feed), which checks every row, and either raises FG101 naming
--   every error (nothing is loaded, the caller's transaction is aborted) or replaces the feed's rows in
--   the gtfs_ tables.
-- ---------------------------------------------------------------------------------------------------

-- gtfs_file_columns: the columns faregate reads from each GTFS file; required = the column must exist
-- in the file's header when the file is present (the GTFS reference's Required fields).
CREATE FUNCTION faregate._gtfs_file_columns(OUT file text, OUT columns text[], OUT required text[])
    RETURNS SETOF record LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES
      ('agency', '{agency_id,agency_name,agency_url,agency_timezone}'::text[], '{agency_timezone}'::text[]),
      ('stops', '{stop_id,stop_name,location_type,parent_station,zone_id,stop_timezone}', '{stop_id}'),
      ('routes', '{route_id,agency_id,route_short_name,route_type,network_id}', '{route_id}'),
      ('networks', '{network_id,network_name}', '{network_id}'),
      ('route_networks', '{network_id,route_id}', '{network_id,route_id}'),
      ('areas', '{area_id,area_name}', '{area_id}'),
      ('stop_areas', '{area_id,stop_id}', '{area_id,stop_id}'),
      ('calendar', '{service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date}',
                   '{service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date}'),
      ('calendar_dates', '{service_id,date,exception_type}', '{service_id,date,exception_type}'),
      ('timeframes', '{timeframe_group_id,start_time,end_time,service_id}', '{timeframe_group_id,service_id}'),
      ('rider_categories', '{rider_category_id,rider_category_name,is_default_fare_category,eligibility_url}',
                           '{rider_category_id,rider_category_name}'),
      ('fare_media', '{fare_media_id,fare_media_name,fare_media_type}', '{fare_media_id,fare_media_type}'),
      ('fare_products', '{fare_product_id,fare_product_name,rider_category_id,fare_media_id,amount,currency}',
                        '{fare_product_id,amount,currency}'),
      ('fare_leg_rules', '{leg_group_id,network_id,from_area_id,to_area_id,from_timeframe_group_id,to_timeframe_group_id,fare_product_id,rule_priority}',
                         '{fare_product_id}'),
      ('fare_leg_join_rules', '{from_network_id,to_network_id,from_stop_id,to_stop_id}', '{from_network_id,to_network_id}'),
      ('fare_transfer_rules', '{from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,duration_limit_type,fare_transfer_type,fare_product_id}',
                              '{fare_transfer_type}'),
      ('fare_attributes', '{fare_id,price,currency_type,payment_method,transfers,agency_id,transfer_duration}',
                          '{fare_id,price,currency_type,payment_method,transfers}'),
      ('fare_rules', '{fare_id,route_id,origin_id,destination_id,contains_id}', '{fare_id}')
$$;

-- gtfs_error: records one error of the load in progress.
CREATE FUNCTION faregate._gtfs_error(file text, row_no bigint, field text, reason text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog AS $$
    INSERT INTO pg_temp.gtfs_errors VALUES (file || '.txt', row_no, field, reason);
$$;

-- gtfs_stage: creates pg_temp.gtfs_stg_<file> for a file whose header has the column names columns
-- (NULL: the file is absent, the table stays empty; '{}': the file is empty) and returns them, quoted,
-- as a column list. row_no counts CSV records from 2 (the header is row 1), as the GTFS validator numbers
-- rows; gtfs_stage_csv gives each row its number in the file.
CREATE FUNCTION faregate._gtfs_stage(file text, columns text[]) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    known text[];
    req text[];
    cols text[] := '{}';
    col text;
    i int := 0;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS gtfs_errors (file text, row_no bigint, field text, reason text) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS gtfs_files (file text PRIMARY KEY, columns text[]) ON COMMIT DROP;
    SELECT c.columns, c.required INTO known, req FROM faregate._gtfs_file_columns() c WHERE c.file = _gtfs_stage.file;
    IF known IS NULL THEN
        RAISE EXCEPTION 'unknown GTFS file "%"', file USING ERRCODE = '22023',
            HINT = 'faregate._gtfs_file_columns() lists the files faregate reads.';
    END IF;
    IF columns = '{}' THEN
        PERFORM faregate._gtfs_error(file, 1, '(header)', 'the file is empty: it has no header line');
        INSERT INTO pg_temp.gtfs_files VALUES (file, '{}') ON CONFLICT ON CONSTRAINT gtfs_files_pkey DO UPDATE SET columns = EXCLUDED.columns;
    ELSIF columns IS NOT NULL THEN
        FOREACH col IN ARRAY columns LOOP
            i := i + 1;
            col := btrim(coalesce(col, ''), E' \t');
            IF col = '' THEN
                PERFORM faregate._gtfs_error(file, 1, 'column ' || i, 'empty column name in the header');
                col := '_empty_' || i;
            ELSIF col = ANY (cols) THEN
                PERFORM faregate._gtfs_error(file, 1, col, 'duplicate column in the header');
                col := col || '_dup_' || i;
            END IF;
            cols := cols || col;
        END LOOP;
        FOREACH col IN ARRAY req LOOP
            IF NOT col = ANY (cols) THEN
                PERFORM faregate._gtfs_error(file, 1, col, 'required column is missing');
            END IF;
        END LOOP;
        INSERT INTO pg_temp.gtfs_files VALUES (file, cols) ON CONFLICT ON CONSTRAINT gtfs_files_pkey DO UPDATE SET columns = EXCLUDED.columns;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS pg_temp.%I', 'gtfs_stg_' || file);
    EXECUTE format('CREATE TEMP TABLE %I (row_no bigint GENERATED ALWAYS AS IDENTITY (START 2), %s) ON COMMIT DROP',
                   'gtfs_stg_' || file,
                   (SELECT string_agg(format('%I text', c), ', ')
                      FROM (SELECT DISTINCT c FROM unnest(known || cols) c) d));
    RETURN (SELECT string_agg(format('%I', c), ',') FROM unnest(cols) c);
END $$;

-- gtfs_csv_records: the CSV records of one GTFS file's bytes (extension/gtfs_csv.c): per good record
-- its fields, per error of a bad record (ragged, badly quoted, not UTF-8) a row naming the field.
CREATE FUNCTION faregate._gtfs_csv_records(content bytea)
    RETURNS TABLE (row_no bigint, fields text[], field_no int, error text)
    AS 'MODULE_PATHNAME', 'gtfs_csv_records' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- gtfs_stage_csv: stages one GTFS file from its bytes (what the loader sends: the file untouched), as
-- gtfs_stage + the rows; every record the CSV reader refuses is an error of the load, named by file,
-- row and field, and is left out, so that the other rows and files are still checked. Returns the
-- number of rows staged.
CREATE FUNCTION faregate._gtfs_stage_csv(file text, content bytea) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    header text[];
    cols text;
    n bigint;
BEGIN
    IF file IS NULL OR content IS NULL THEN
        RAISE EXCEPTION 'file and content must not be null' USING ERRCODE = '22004',
            HINT = 'faregate-gtfs load calls this with each GTFS file it finds.';
    END IF;
    DROP TABLE IF EXISTS pg_temp.gtfs_csv;
    CREATE TEMP TABLE gtfs_csv ON COMMIT DROP AS SELECT * FROM faregate._gtfs_csv_records(content);
    header := (SELECT r.fields FROM pg_temp.gtfs_csv r WHERE r.row_no = 1 AND r.error IS NULL);
    IF header IS NULL AND NOT EXISTS (SELECT 1 FROM pg_temp.gtfs_csv r WHERE r.row_no = 1) THEN
        header := '{}';         -- no record at all: the file is empty
    END IF;
    -- a header the reader refused (its errors follow) stages nothing: its rows cannot be read
    cols := faregate._gtfs_stage(file, header);
    INSERT INTO pg_temp.gtfs_errors
    SELECT file || '.txt', r.row_no,
           CASE WHEN r.row_no = 1 THEN 'column ' || r.field_no
                WHEN r.field_no <= coalesce(cardinality(header), 0) THEN coalesce(btrim(header[r.field_no], E' \t'), 'column ' || r.field_no)
                ELSE 'field ' || r.field_no END,
           r.error
      FROM pg_temp.gtfs_csv r WHERE r.error IS NOT NULL;
    IF cols IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE format('INSERT INTO pg_temp.%I (row_no, %s) OVERRIDING SYSTEM VALUE SELECT r.row_no, %s FROM pg_temp.gtfs_csv r WHERE r.row_no > 1 AND r.error IS NULL',
                   'gtfs_stg_' || file, cols,
                   (SELECT string_agg(format('r.fields[%s]', i), ', ') FROM generate_series(1, cardinality(header)) i));
    GET DIAGNOSTICS n = ROW_COUNT;
    DROP TABLE pg_temp.gtfs_csv;
    RETURN n;
END $$;

-- gtfs_secs: a GTFS time HH:MM:SS (H:MM:SS allowed) as seconds, NULL when it is not one.
CREATE FUNCTION faregate._gtfs_secs(t text) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^[0-9]{1,2}:[0-5][0-9]:[0-5][0-9]$'
                THEN split_part(t, ':', 1)::int * 3600 + split_part(t, ':', 2)::int * 60 + split_part(t, ':', 3)::int END
$$;
-- gtfs_date: a GTFS date YYYYMMDD, NULL when it is not a real date.
CREATE FUNCTION faregate._gtfs_date(d text) RETURNS date LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF d ~ '^[0-9]{8}$' THEN
        RETURN make_date(substr(d, 1, 4)::int, substr(d, 5, 2)::int, substr(d, 7, 2)::int);
    END IF;
    RETURN NULL;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END $$;
-- gtfs_int: an integer field, NULL when it is not one (or out of int range).
CREATE FUNCTION faregate._gtfs_int(v text) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v ~ '^-?[0-9]{1,9}$' THEN v::int END
$$;

-- gtfs_check_dups: records every row of pg_temp.gtfs_stg_<file> whose key (a list of columns, empty =
-- empty) repeats an earlier row's.
CREATE FUNCTION faregate._gtfs_check_dups(file text, key_cols text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    key_expr text := (SELECT string_agg(format('coalesce(%I, %L)', c, ''), ', ') FROM unnest(key_cols) c);
BEGIN
    EXECUTE format($q$
        INSERT INTO pg_temp.gtfs_errors
        SELECT %L, row_no, %L, 'duplicate key (' || %L || '): same as row ' || first_row
          FROM (SELECT row_no, min(row_no) OVER (PARTITION BY %s) AS first_row FROM pg_temp.%I) d
         WHERE row_no <> first_row$q$,
        file || '.txt', array_to_string(key_cols, ','), array_to_string(key_cols, ', '), key_expr,
        'gtfs_stg_' || file);
END $$;

-- gtfs_check: records an error with reason for every row of pg_temp.gtfs_stg_<file> (alias s) where the
-- SQL condition bad holds; reason is an SQL expression over s (e.g. a format() naming the value).
CREATE FUNCTION faregate._gtfs_check(file text, field text, bad text, reason text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    EXECUTE format('INSERT INTO pg_temp.gtfs_errors SELECT %L, s.row_no, %L, %s FROM pg_temp.%I s WHERE %s',
                   file || '.txt', field, reason, 'gtfs_stg_' || file, bad);
END $$;

-- gtfs_check_ref: records rows whose non-empty field names no key in the SQL query keys (one column k).
CREATE FUNCTION faregate._gtfs_check_ref(file text, field text, keys text, target text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM faregate._gtfs_check(file, field,
        format('s.%I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM (%s) r(k) WHERE r.k = s.%I)', field, keys, field),
        format('format(%L, s.%I)', 'unknown ' || field || ' "%s" (no such ' || target || ')', field));
END $$;

-- gtfs_check_required: records rows where a required field is empty.
CREATE FUNCTION faregate._gtfs_check_required(file text, fields text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE f text;
BEGIN
    FOREACH f IN ARRAY fields LOOP
        -- a column missing from the header is reported once, by gtfs_stage
        IF EXISTS (SELECT 1 FROM pg_temp.gtfs_files g WHERE g.file = _gtfs_check_required.file AND f = ANY (g.columns)) THEN
            PERFORM faregate._gtfs_check(file, f, format('s.%I IS NULL', f), quote_literal('required value is empty'));
        END IF;
    END LOOP;
END $$;

-- gtfs_check_enum: records rows whose non-empty field is not one of the allowed values.
CREATE FUNCTION faregate._gtfs_check_enum(file text, field text, allowed text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM faregate._gtfs_check(file, field, format('s.%I IS NOT NULL AND NOT s.%I = ANY (%L::text[])', field, field, allowed),
        format('format(%L, s.%I)', '"%s" is not a valid ' || field || ' (allowed: ' || array_to_string(allowed, ', ') || ')', field));
END $$;

-- gtfs_check_amount: records rows whose amount field is not a decimal number, is negative when
-- negative_ok is false, or has more decimals than the ISO 4217 currency in currency_field has; and rows
-- whose currency is not an ISO 4217 code.
CREATE FUNCTION faregate._gtfs_check_amount(file text, field text, currency_field text, negative_ok boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM faregate._gtfs_check(file, currency_field,
        format('s.%I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM faregate.gtfs_currencies c WHERE c.currency = s.%I)', currency_field, currency_field),
        format('format(%L, s.%I)', '"%s" is not an ISO 4217 currency code', currency_field));
    PERFORM faregate._gtfs_check(file, field,
        format('s.%I IS NOT NULL AND s.%I !~ %L', field, field, CASE WHEN negative_ok THEN '^-?[0-9]+(\.[0-9]+)?$' ELSE '^[0-9]+(\.[0-9]+)?$' END),
        format('format(%L, s.%I)', '"%s" is not a ' || CASE WHEN negative_ok THEN '' ELSE 'non-negative ' END || 'decimal amount', field));
    PERFORM faregate._gtfs_check(file, field,
        format($c$s.%I ~ '^-?[0-9]+(\.[0-9]+)?$' AND length(substring(s.%I from '\.([0-9]+)$')) >
                  (SELECT c.decimals FROM faregate.gtfs_currencies c WHERE c.currency = s.%I)$c$, field, field, currency_field),
        format($r$format('amount "%%s" has more decimals than %%s has (%%s)', s.%I, s.%I,
                  (SELECT c.decimals FROM faregate.gtfs_currencies c WHERE c.currency = s.%I))$r$, field, currency_field, currency_field));
END $$;

-- gtfs_validate: runs every check over the staged files of the load in progress (each error goes to
-- pg_temp.gtfs_errors). Staging tables of absent files exist and are empty (gtfs_import creates them).
CREATE FUNCTION faregate._gtfs_validate() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    tz_ok text := 'SELECT name FROM pg_catalog.pg_timezone_names';
    n_agencies bigint := (SELECT count(*) FROM pg_temp.gtfs_stg_agency);
    networks text := 'SELECT network_id FROM pg_temp.gtfs_stg_networks UNION SELECT network_id FROM pg_temp.gtfs_stg_routes';
BEGIN
    CREATE TEMP TABLE gtfs_tz ON COMMIT DROP AS SELECT name FROM pg_catalog.pg_timezone_names;
    tz_ok := 'SELECT name FROM pg_temp.gtfs_tz';
    -- agency.txt
    IF n_agencies = 0 THEN
        PERFORM faregate._gtfs_error('agency', NULL, 'agency_timezone', 'agency.txt is missing or empty; it gives the time zone of every fare time');
    END IF;
    PERFORM faregate._gtfs_check_required('agency', '{agency_timezone}');
    PERFORM faregate._gtfs_check_ref('agency', 'agency_timezone', tz_ok, 'time zone');
    PERFORM faregate._gtfs_check('agency', 'agency_timezone',
        's.agency_timezone <> (SELECT a.agency_timezone FROM pg_temp.gtfs_stg_agency a ORDER BY a.row_no LIMIT 1)',
        $r$format('agency_timezone "%s" differs from the first agency''s; every agency of a feed has one time zone', s.agency_timezone)$r$);
    IF n_agencies > 1 THEN
        PERFORM faregate._gtfs_check('agency', 'agency_id', 's.agency_id IS NULL', quote_literal('required value is empty (the feed has several agencies)'));
    END IF;
    PERFORM faregate._gtfs_check_dups('agency', '{agency_id}');
    -- stops.txt
    PERFORM faregate._gtfs_check_required('stops', '{stop_id}');
    PERFORM faregate._gtfs_check_dups('stops', '{stop_id}');
    PERFORM faregate._gtfs_check_enum('stops', 'location_type', '{0,1,2,3,4}');
    PERFORM faregate._gtfs_check_ref('stops', 'parent_station', 'SELECT stop_id FROM pg_temp.gtfs_stg_stops', 'stop');
    PERFORM faregate._gtfs_check_ref('stops', 'stop_timezone', tz_ok, 'time zone');
    -- routes.txt, networks.txt, route_networks.txt
    PERFORM faregate._gtfs_check_required('routes', '{route_id}');
    PERFORM faregate._gtfs_check_dups('routes', '{route_id}');
    PERFORM faregate._gtfs_check_ref('routes', 'agency_id', 'SELECT agency_id FROM pg_temp.gtfs_stg_agency', 'agency');
    IF n_agencies > 1 THEN
        PERFORM faregate._gtfs_check('routes', 'agency_id', 's.agency_id IS NULL', quote_literal('required value is empty (the feed has several agencies)'));
    END IF;
    PERFORM faregate._gtfs_check('routes', 'route_type', 's.route_type IS NOT NULL AND faregate._gtfs_int(s.route_type) IS NULL',
        $r$format('"%s" is not an integer route_type', s.route_type)$r$);
    IF EXISTS (SELECT 1 FROM pg_temp.gtfs_files WHERE file IN ('networks', 'route_networks')) THEN
        PERFORM faregate._gtfs_check('routes', 'network_id', 's.network_id IS NOT NULL',
            quote_literal('routes.network_id is forbidden when networks.txt or route_networks.txt exists'));
    END IF;
    PERFORM faregate._gtfs_check_required('networks', '{network_id}');
    PERFORM faregate._gtfs_check_dups('networks', '{network_id}');
    PERFORM faregate._gtfs_check_required('route_networks', '{network_id,route_id}');
    PERFORM faregate._gtfs_check_dups('route_networks', '{route_id}');
    PERFORM faregate._gtfs_check_ref('route_networks', 'network_id', 'SELECT network_id FROM pg_temp.gtfs_stg_networks', 'network in networks.txt');
    PERFORM faregate._gtfs_check_ref('route_networks', 'route_id', 'SELECT route_id FROM pg_temp.gtfs_stg_routes', 'route');
    -- areas.txt, stop_areas.txt
    PERFORM faregate._gtfs_check_required('areas', '{area_id}');
    PERFORM faregate._gtfs_check_dups('areas', '{area_id}');
    PERFORM faregate._gtfs_check_required('stop_areas', '{area_id,stop_id}');
    PERFORM faregate._gtfs_check_dups('stop_areas', '{area_id,stop_id}');
    PERFORM faregate._gtfs_check_ref('stop_areas', 'area_id', 'SELECT area_id FROM pg_temp.gtfs_stg_areas', 'area');
    PERFORM faregate._gtfs_check_ref('stop_areas', 'stop_id', 'SELECT stop_id FROM pg_temp.gtfs_stg_stops', 'stop');
    -- calendar.txt, calendar_dates.txt
    PERFORM faregate._gtfs_check_required('calendar', '{service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date}');
    PERFORM faregate._gtfs_check_dups('calendar', '{service_id}');
    PERFORM faregate._gtfs_check_enum('calendar', d, '{0,1}')
       FROM unnest('{monday,tuesday,wednesday,thursday,friday,saturday,sunday}'::text[]) d;
    PERFORM faregate._gtfs_check('calendar', d, format('s.%I IS NOT NULL AND faregate._gtfs_date(s.%I) IS NULL', d, d),
                                format('format(%L, s.%I)', '"%s" is not a date (YYYYMMDD)', d))
       FROM unnest('{start_date,end_date}'::text[]) d;
    PERFORM faregate._gtfs_check('calendar', 'end_date', 'faregate._gtfs_date(s.end_date) < faregate._gtfs_date(s.start_date)',
        $r$format('end_date %s is before start_date %s', s.end_date, s.start_date)$r$);
    PERFORM faregate._gtfs_check_required('calendar_dates', '{service_id,date,exception_type}');
    PERFORM faregate._gtfs_check_dups('calendar_dates', '{service_id,date}');
    PERFORM faregate._gtfs_check('calendar_dates', 'date', 's.date IS NOT NULL AND faregate._gtfs_date(s.date) IS NULL',
        $r$format('"%s" is not a date (YYYYMMDD)', s.date)$r$);
    PERFORM faregate._gtfs_check_enum('calendar_dates', 'exception_type', '{1,2}');
    -- timeframes.txt
    PERFORM faregate._gtfs_check_required('timeframes', '{timeframe_group_id,service_id}');
    PERFORM faregate._gtfs_check_ref('timeframes', 'service_id',
        'SELECT service_id FROM pg_temp.gtfs_stg_calendar UNION SELECT service_id FROM pg_temp.gtfs_stg_calendar_dates', 'service in calendar.txt or calendar_dates.txt');
    PERFORM faregate._gtfs_check('timeframes', t, format('s.%I IS NOT NULL AND (faregate._gtfs_secs(s.%I) IS NULL OR faregate._gtfs_secs(s.%I) > 86400)', t, t, t),
                                format('format(%L, s.%I)', '"%s" is not a time of day HH:MM:SS up to 24:00:00', t))
       FROM unnest('{start_time,end_time}'::text[]) t;
    PERFORM faregate._gtfs_check('timeframes', 'end_time', '(s.start_time IS NULL) <> (s.end_time IS NULL)',
        quote_literal('start_time and end_time are given together or not at all'));
    PERFORM faregate._gtfs_check('timeframes', 'start_time', 'faregate._gtfs_secs(s.start_time) >= 86400',
        quote_literal('start_time must be before 24:00:00'));
    PERFORM faregate._gtfs_check('timeframes', 'start_time',
        $c$EXISTS (SELECT 1 FROM pg_temp.gtfs_stg_timeframes o
                    WHERE o.timeframe_group_id = s.timeframe_group_id AND o.service_id = s.service_id AND o.row_no < s.row_no
                      AND coalesce(faregate._gtfs_secs(o.start_time), 0) < coalesce(faregate._gtfs_secs(s.end_time), 86400)
                      AND coalesce(faregate._gtfs_secs(s.start_time), 0) < coalesce(faregate._gtfs_secs(o.end_time), 86400))$c$,
        $r$format('overlaps an earlier timeframe of group "%s" and service "%s"', s.timeframe_group_id, s.service_id)$r$);
    -- rider_categories.txt, fare_media.txt
    PERFORM faregate._gtfs_check_required('rider_categories', '{rider_category_id,rider_category_name}');
    PERFORM faregate._gtfs_check_dups('rider_categories', '{rider_category_id}');
    PERFORM faregate._gtfs_check_enum('rider_categories', 'is_default_fare_category', '{0,1}');
    PERFORM faregate._gtfs_check('rider_categories', 'is_default_fare_category',
        $c$s.is_default_fare_category = '1' AND EXISTS (SELECT 1 FROM pg_temp.gtfs_stg_rider_categories o
                                                        WHERE o.is_default_fare_category = '1' AND o.row_no < s.row_no)$c$,
        quote_literal('a second default rider category; at most one may have is_default_fare_category = 1'));
    PERFORM faregate._gtfs_check_required('fare_media', '{fare_media_id,fare_media_type}');
    PERFORM faregate._gtfs_check_dups('fare_media', '{fare_media_id}');
    PERFORM faregate._gtfs_check_enum('fare_media', 'fare_media_type', '{0,1,2,3,4}');
    -- fare_products.txt
    PERFORM faregate._gtfs_check_required('fare_products', '{fare_product_id,amount,currency}');
    PERFORM faregate._gtfs_check_dups('fare_products', '{fare_product_id,rider_category_id,fare_media_id}');
    PERFORM faregate._gtfs_check_ref('fare_products', 'rider_category_id', 'SELECT rider_category_id FROM pg_temp.gtfs_stg_rider_categories', 'rider category');
    PERFORM faregate._gtfs_check_ref('fare_products', 'fare_media_id', 'SELECT fare_media_id FROM pg_temp.gtfs_stg_fare_media', 'fare media');
    PERFORM faregate._gtfs_check_amount('fare_products', 'amount', 'currency', true);
    -- fare_leg_rules.txt
    PERFORM faregate._gtfs_check_required('fare_leg_rules', '{fare_product_id}');
    PERFORM faregate._gtfs_check_dups('fare_leg_rules', '{network_id,from_area_id,to_area_id,from_timeframe_group_id,to_timeframe_group_id,fare_product_id}');
    PERFORM faregate._gtfs_check_ref('fare_leg_rules', 'fare_product_id', 'SELECT fare_product_id FROM pg_temp.gtfs_stg_fare_products', 'fare product');
    PERFORM faregate._gtfs_check_ref('fare_leg_rules', 'network_id', networks, 'network in networks.txt or routes.txt');
    PERFORM faregate._gtfs_check_ref('fare_leg_rules', a, 'SELECT area_id FROM pg_temp.gtfs_stg_areas', 'area')
       FROM unnest('{from_area_id,to_area_id}'::text[]) a;
    PERFORM faregate._gtfs_check_ref('fare_leg_rules', t, 'SELECT timeframe_group_id FROM pg_temp.gtfs_stg_timeframes', 'timeframe group')
       FROM unnest('{from_timeframe_group_id,to_timeframe_group_id}'::text[]) t;
    PERFORM faregate._gtfs_check('fare_leg_rules', 'rule_priority', 's.rule_priority IS NOT NULL AND coalesce(faregate._gtfs_int(s.rule_priority), -1) < 0',
        $r$format('"%s" is not a non-negative integer', s.rule_priority)$r$);
    -- columns of the rule files that the GTFS reference does not define (proposals: area sets, join
    -- rules with duration limits, nonconsecutive transfers, fare product behaviours ...): a rule that
    -- uses one would be priced as if the column were absent, so a value in one is an error (an empty
    -- column, or nonconsecutive_transfers_allowed = 0, changes nothing and loads)
    PERFORM faregate._gtfs_check(g.file, c,
                CASE WHEN c = 'nonconsecutive_transfers_allowed' THEN format('s.%I IS NOT NULL AND s.%I <> %L', c, c, '0')
                     ELSE format('s.%I IS NOT NULL', c) END,
                CASE WHEN c = 'nonconsecutive_transfers_allowed'
                     THEN quote_literal('nonconsecutive_transfers_allowed (a proposal of the GTFS fares guides, not in the reference) is not supported: '
                                        || 'faregate applies transfer rules between consecutive legs only, so the price would be too high; '
                                        || 'leave the field empty or 0 to load the feed')
                     ELSE format('format(%L, s.%I)', '"%s": column ' || c || ' is not in the GTFS reference''s ' || g.file || '.txt (a proposal?) '
                                 || 'and faregate does not implement it: the rule would be priced as if it were absent; '
                                 || 'remove the column or leave it empty to load the feed', c) END)
       FROM pg_temp.gtfs_files g, unnest(g.columns) c, faregate._gtfs_file_columns() k
      WHERE g.file IN ('fare_leg_rules', 'fare_leg_join_rules', 'fare_transfer_rules') AND k.file = g.file
        AND NOT c = ANY (k.columns) AND c !~ '^_empty_[0-9]+$' AND c !~ '_dup_[0-9]+$';
    -- fare_leg_join_rules.txt
    PERFORM faregate._gtfs_check_required('fare_leg_join_rules', '{from_network_id,to_network_id}');
    PERFORM faregate._gtfs_check_dups('fare_leg_join_rules', '{from_network_id,to_network_id,from_stop_id,to_stop_id}');
    PERFORM faregate._gtfs_check_ref('fare_leg_join_rules', n, networks, 'network in networks.txt or routes.txt')
       FROM unnest('{from_network_id,to_network_id}'::text[]) n;
    PERFORM faregate._gtfs_check_ref('fare_leg_join_rules', n, 'SELECT stop_id FROM pg_temp.gtfs_stg_stops', 'stop')
       FROM unnest('{from_stop_id,to_stop_id}'::text[]) n;
    PERFORM faregate._gtfs_check('fare_leg_join_rules', 'to_stop_id', '(s.from_stop_id IS NULL) <> (s.to_stop_id IS NULL)',
        quote_literal('from_stop_id and to_stop_id are given together or not at all'));
    -- fare_transfer_rules.txt
    PERFORM faregate._gtfs_check_required('fare_transfer_rules', '{fare_transfer_type}');
    PERFORM faregate._gtfs_check_dups('fare_transfer_rules', '{from_leg_group_id,to_leg_group_id,fare_product_id,transfer_count,duration_limit}');
    PERFORM faregate._gtfs_check_ref('fare_transfer_rules', g, 'SELECT leg_group_id FROM pg_temp.gtfs_stg_fare_leg_rules', 'leg group in fare_leg_rules.txt')
       FROM unnest('{from_leg_group_id,to_leg_group_id}'::text[]) g;
    PERFORM faregate._gtfs_check_ref('fare_transfer_rules', 'fare_product_id', 'SELECT fare_product_id FROM pg_temp.gtfs_stg_fare_products', 'fare product');
    PERFORM faregate._gtfs_check('fare_transfer_rules', 'transfer_count',
        's.transfer_count IS NOT NULL AND (faregate._gtfs_int(s.transfer_count) IS NULL OR faregate._gtfs_int(s.transfer_count) = 0 OR faregate._gtfs_int(s.transfer_count) < -1)',
        $r$format('"%s" is not a valid transfer_count (-1 for no limit, or 1 or more)', s.transfer_count)$r$);
    PERFORM faregate._gtfs_check('fare_transfer_rules', 'transfer_count',
        's.transfer_count IS NOT NULL AND s.from_leg_group_id IS DISTINCT FROM s.to_leg_group_id',
        quote_literal('transfer_count is forbidden when from_leg_group_id and to_leg_group_id differ'));
    PERFORM faregate._gtfs_check('fare_transfer_rules', 'transfer_count',
        's.transfer_count IS NULL AND s.from_leg_group_id = s.to_leg_group_id',
        quote_literal('transfer_count is required when from_leg_group_id equals to_leg_group_id'));
    PERFORM faregate._gtfs_check('fare_transfer_rules', 'duration_limit',
        's.duration_limit IS NOT NULL AND coalesce(faregate._gtfs_int(s.duration_limit), 0) <= 0',
        $r$format('"%s" is not a positive number of seconds', s.duration_limit)$r$);
    PERFORM faregate._gtfs_check_enum('fare_transfer_rules', 'duration_limit_type', '{0,1,2,3}');
    PERFORM faregate._gtfs_check('fare_transfer_rules', 'duration_limit_type', 's.duration_limit IS NOT NULL AND s.duration_limit_type IS NULL',
        quote_literal('duration_limit_type is required when duration_limit is given'));
    PERFORM faregate._gtfs_check('fare_transfer_rules', 'duration_limit_type', 's.duration_limit IS NULL AND s.duration_limit_type IS NOT NULL',
        quote_literal('duration_limit_type is forbidden when duration_limit is empty'));
    PERFORM faregate._gtfs_check_enum('fare_transfer_rules', 'fare_transfer_type', '{0,1,2}');
    -- fare_attributes.txt, fare_rules.txt (Fares v1)
    PERFORM faregate._gtfs_check_required('fare_attributes', '{fare_id,price,currency_type,payment_method}');
    PERFORM faregate._gtfs_check_dups('fare_attributes', '{fare_id}');
    PERFORM faregate._gtfs_check_amount('fare_attributes', 'price', 'currency_type', false);
    PERFORM faregate._gtfs_check_enum('fare_attributes', 'payment_method', '{0,1}');
    PERFORM faregate._gtfs_check_enum('fare_attributes', 'transfers', '{0,1,2}');
    PERFORM faregate._gtfs_check_ref('fare_attributes', 'agency_id', 'SELECT agency_id FROM pg_temp.gtfs_stg_agency', 'agency');
    IF n_agencies > 1 THEN
        PERFORM faregate._gtfs_check('fare_attributes', 'agency_id', 's.agency_id IS NULL', quote_literal('required value is empty (the feed has several agencies)'));
    END IF;
    PERFORM faregate._gtfs_check('fare_attributes', 'transfer_duration',
        's.transfer_duration IS NOT NULL AND coalesce(faregate._gtfs_int(s.transfer_duration), -1) < 0',
        $r$format('"%s" is not a non-negative number of seconds', s.transfer_duration)$r$);
    PERFORM faregate._gtfs_check_required('fare_rules', '{fare_id}');
    PERFORM faregate._gtfs_check_dups('fare_rules', '{fare_id,route_id,origin_id,destination_id,contains_id}');
    PERFORM faregate._gtfs_check_ref('fare_rules', 'fare_id', 'SELECT fare_id FROM pg_temp.gtfs_stg_fare_attributes', 'fare in fare_attributes.txt');
    PERFORM faregate._gtfs_check_ref('fare_rules', 'route_id', 'SELECT route_id FROM pg_temp.gtfs_stg_routes', 'route');
    PERFORM faregate._gtfs_check_ref('fare_rules', z, 'SELECT zone_id FROM pg_temp.gtfs_stg_stops', 'zone_id in stops.txt')
       FROM unnest('{origin_id,destination_id,contains_id}'::text[]) z;
END $$;

-- gtfs_import: checks the staged files (gtfs_stage_csv, or gtfs_stage and inserts) and replaces feed_id's rows with them, in
-- the caller's transaction; returns the number of fare rules loaded (fare_leg_rules + fare_rules). Any
-- error raises FG101 with every error, one "file:row: field: reason" line each, in the DETAIL, so
-- nothing is loaded. Only the owner of the gtfs_ tables may call it.
CREATE FUNCTION faregate.gtfs_import(feed_id text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    f record;
    n_errors bigint;
    report text;
    tz text;
    n_rules bigint;
BEGIN
    IF feed_id IS NULL THEN
        RAISE EXCEPTION 'feed_id must not be null' USING ERRCODE = '22004',
            HINT = 'Name the feed, e.g. faregate-gtfs load feed.zip --feed-id metro.';
    END IF;
    IF feed_id = '' THEN
        RAISE EXCEPTION 'a GTFS feed needs a non-empty feed_id' USING ERRCODE = '22023',
            HINT = 'Name the feed, e.g. faregate-gtfs load feed.zip --feed-id metro.';
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS gtfs_errors (file text, row_no bigint, field text, reason text) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS gtfs_files (file text PRIMARY KEY, columns text[]) ON COMMIT DROP;
    PERFORM faregate._gtfs_stage(c.file, NULL::text[]) FROM faregate._gtfs_file_columns() c WHERE c.file NOT IN
        (SELECT g.file FROM pg_temp.gtfs_files g);
    PERFORM faregate._gtfs_validate();
    SELECT count(*), string_agg(e.file || CASE WHEN e.row_no IS NULL THEN '' ELSE ':' || e.row_no END
                                || ': ' || e.field || ': ' || e.reason, E'\n' ORDER BY e.file, e.row_no NULLS FIRST, e.field)
      INTO n_errors, report FROM pg_temp.gtfs_errors e;
    IF n_errors > 0 THEN
        RAISE EXCEPTION 'GTFS feed "%" has % error(s); nothing was loaded', feed_id, n_errors
            USING ERRCODE = 'FG101', DETAIL = report,
                  HINT = 'Each line names file:row (the header is row 1): field: reason. Fix the feed and load it again.';
    END IF;

    SELECT a.agency_timezone INTO tz FROM pg_temp.gtfs_stg_agency a ORDER BY a.row_no LIMIT 1;
    DELETE FROM faregate.gtfs_feeds WHERE gtfs_feeds.feed_id = gtfs_import.feed_id;
    INSERT INTO faregate.gtfs_feeds (feed_id, timezone, has_rule_priority, files)
    VALUES (feed_id, tz,
            EXISTS (SELECT 1 FROM pg_temp.gtfs_files g WHERE g.file = 'fare_leg_rules' AND 'rule_priority' = ANY (g.columns)),
            ARRAY(SELECT g.file FROM pg_temp.gtfs_files g ORDER BY g.file));
    INSERT INTO faregate.gtfs_agencies SELECT feed_id, coalesce(s.agency_id, ''), s.agency_name, s.agency_timezone FROM pg_temp.gtfs_stg_agency s;
    INSERT INTO faregate.gtfs_stops SELECT feed_id, s.stop_id, s.stop_name, coalesce(s.location_type::int, 0), s.parent_station, s.zone_id, s.stop_timezone
      FROM pg_temp.gtfs_stg_stops s;
    INSERT INTO faregate.gtfs_networks SELECT feed_id, s.network_id, s.network_name FROM pg_temp.gtfs_stg_networks s;
    INSERT INTO faregate.gtfs_routes SELECT feed_id, s.route_id, s.agency_id, s.route_short_name, s.route_type::int,
            coalesce(s.network_id, (SELECT rn.network_id FROM pg_temp.gtfs_stg_route_networks rn WHERE rn.route_id = s.route_id))
      FROM pg_temp.gtfs_stg_routes s;
    INSERT INTO faregate.gtfs_areas SELECT feed_id, s.area_id, s.area_name FROM pg_temp.gtfs_stg_areas s;
    INSERT INTO faregate.gtfs_stop_areas SELECT feed_id, s.area_id, s.stop_id FROM pg_temp.gtfs_stg_stop_areas s;
    INSERT INTO faregate.gtfs_calendar SELECT feed_id, s.service_id,
            ARRAY[s.monday = '1', s.tuesday = '1', s.wednesday = '1', s.thursday = '1', s.friday = '1', s.saturday = '1', s.sunday = '1'],
            faregate._gtfs_date(s.start_date), faregate._gtfs_date(s.end_date)
      FROM pg_temp.gtfs_stg_calendar s;
    INSERT INTO faregate.gtfs_calendar_dates SELECT feed_id, s.service_id, faregate._gtfs_date(s.date), s.exception_type::int
      FROM pg_temp.gtfs_stg_calendar_dates s;
    INSERT INTO faregate.gtfs_timeframes SELECT feed_id, s.timeframe_group_id,
            make_interval(secs => faregate._gtfs_secs(s.start_time)), make_interval(secs => faregate._gtfs_secs(s.end_time)), s.service_id
      FROM pg_temp.gtfs_stg_timeframes s;
    INSERT INTO faregate.gtfs_rider_categories SELECT feed_id, s.rider_category_id, s.rider_category_name,
            coalesce(s.is_default_fare_category = '1', false), s.eligibility_url
      FROM pg_temp.gtfs_stg_rider_categories s;
    INSERT INTO faregate.gtfs_fare_media SELECT feed_id, s.fare_media_id, s.fare_media_name, s.fare_media_type::int FROM pg_temp.gtfs_stg_fare_media s;
    INSERT INTO faregate.gtfs_fare_products SELECT feed_id, s.fare_product_id, s.fare_product_name, s.rider_category_id, s.fare_media_id,
            s.amount::numeric, s.currency
      FROM pg_temp.gtfs_stg_fare_products s;
    INSERT INTO faregate.gtfs_fare_leg_rules SELECT feed_id, s.leg_group_id, s.network_id, s.from_area_id, s.to_area_id,
            s.from_timeframe_group_id, s.to_timeframe_group_id, s.fare_product_id, s.rule_priority::int
      FROM pg_temp.gtfs_stg_fare_leg_rules s ORDER BY s.row_no;
    INSERT INTO faregate.gtfs_fare_leg_join_rules SELECT feed_id, s.from_network_id, s.to_network_id, s.from_stop_id, s.to_stop_id
      FROM pg_temp.gtfs_stg_fare_leg_join_rules s;
    INSERT INTO faregate.gtfs_fare_transfer_rules SELECT feed_id, s.from_leg_group_id, s.to_leg_group_id, s.transfer_count::int,
            s.duration_limit::int, s.duration_limit_type::int, s.fare_transfer_type::int, s.fare_product_id
      FROM pg_temp.gtfs_stg_fare_transfer_rules s ORDER BY s.row_no;
    INSERT INTO faregate.gtfs_fare_attributes SELECT feed_id, s.fare_id, s.price::numeric, s.currency_type, s.payment_method::int,
            s.transfers::int, s.agency_id, s.transfer_duration::int
      FROM pg_temp.gtfs_stg_fare_attributes s;
    INSERT INTO faregate.gtfs_fare_rules SELECT feed_id, s.fare_id, s.route_id, s.origin_id, s.destination_id, s.contains_id
      FROM pg_temp.gtfs_stg_fare_rules s;
    SELECT (SELECT count(*) FROM pg_temp.gtfs_stg_fare_leg_rules) + (SELECT count(*) FROM pg_temp.gtfs_stg_fare_rules) INTO n_rules;
    -- the staging tables go now, so that a second load in the same transaction starts afresh
    FOR f IN SELECT c.file FROM faregate._gtfs_file_columns() c LOOP
        EXECUTE format('DROP TABLE pg_temp.%I', 'gtfs_stg_' || f.file);
    END LOOP;
    DROP TABLE pg_temp.gtfs_errors, pg_temp.gtfs_files, pg_temp.gtfs_tz;
    RETURN n_rules;
END $$;

-- gtfs_drop_feed: removes one feed and everything loaded with it; false when there was no such feed
-- (STRICT: NULL for a NULL feed_id).
CREATE FUNCTION faregate.gtfs_drop_feed(feed_id text) RETURNS boolean
LANGUAGE sql STRICT SET search_path = pg_catalog AS $$
    WITH d AS (DELETE FROM faregate.gtfs_feeds f WHERE f.feed_id = gtfs_drop_feed.feed_id RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM d);
$$;
REVOKE ALL ON FUNCTION faregate._gtfs_error(text, bigint, text, text), faregate._gtfs_stage(text, text[]),
    faregate._gtfs_stage_csv(text, bytea), faregate._gtfs_csv_records(bytea),
    faregate._gtfs_check_dups(text, text[]), faregate._gtfs_check(text, text, text, text),
    faregate._gtfs_check_ref(text, text, text, text), faregate._gtfs_check_required(text, text[]),
    faregate._gtfs_check_enum(text, text, text[]), faregate._gtfs_check_amount(text, text, text, boolean),
    faregate._gtfs_validate(), faregate.gtfs_import(text), faregate.gtfs_drop_feed(text),
    faregate._gtfs_file_columns(), faregate._gtfs_secs(text), faregate._gtfs_date(text), faregate._gtfs_int(text) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------------
-- Export (faregate-gtfs export): one query per file the feed was loaded from, producing that file's
-- columns as GTFS text, so that load -> export -> load gives the same tables and the same prices.
-- route networks go out as route_networks.txt when the feed had networks.txt or route_networks.txt, and
-- as routes.network_id otherwise (GTFS forbids both at once); rule_priority only when the feed had it.
-- ---------------------------------------------------------------------------------------------------
CREATE FUNCTION faregate.gtfs_export_queries(feed_id text) RETURNS TABLE (file text, query text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    feed faregate.gtfs_feeds;
    sep_networks boolean;
    w text := format('WHERE feed_id = %L', feed_id);
BEGIN
    IF feed_id IS NULL THEN
        RAISE EXCEPTION 'feed_id must not be null' USING ERRCODE = '22004',
            HINT = 'SELECT feed_id FROM faregate.gtfs_feeds lists the loaded feeds.';
    END IF;
    SELECT * INTO feed FROM faregate.gtfs_feeds f WHERE f.feed_id = gtfs_export_queries.feed_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown GTFS feed "%"', feed_id USING ERRCODE = 'FG102',
            HINT = 'SELECT feed_id FROM faregate.gtfs_feeds lists the loaded feeds.';
    END IF;
    sep_networks := feed.files && '{networks,route_networks}';
    RETURN QUERY
    SELECT q.file, q.query FROM (VALUES
      ('agency', format('SELECT nullif(agency_id, %L) AS agency_id, agency_name, agency_timezone FROM faregate.gtfs_agencies %s ORDER BY agency_id', '', w)),
      ('stops', format('SELECT stop_id, stop_name, location_type, parent_station, zone_id, stop_timezone FROM faregate.gtfs_stops %s ORDER BY stop_id', w)),
      ('routes', format('SELECT route_id, agency_id, route_short_name, route_type%s FROM faregate.gtfs_routes %s ORDER BY route_id',
                        CASE WHEN sep_networks THEN '' ELSE ', network_id' END, w)),
      ('networks', format('SELECT network_id, network_name FROM faregate.gtfs_networks %s ORDER BY network_id', w)),
      ('route_networks', format('SELECT network_id, route_id FROM faregate.gtfs_routes %s AND network_id IS NOT NULL ORDER BY route_id', w)),
      ('areas', format('SELECT area_id, area_name FROM faregate.gtfs_areas %s ORDER BY area_id', w)),
      ('stop_areas', format('SELECT area_id, stop_id FROM faregate.gtfs_stop_areas %s ORDER BY area_id, stop_id', w)),
      ('calendar', format($q$SELECT service_id, days[1]::int AS monday, days[2]::int AS tuesday, days[3]::int AS wednesday,
                                    days[4]::int AS thursday, days[5]::int AS friday, days[6]::int AS saturday, days[7]::int AS sunday,
                                    to_char(start_date, 'YYYYMMDD') AS start_date, to_char(end_date, 'YYYYMMDD') AS end_date
                               FROM faregate.gtfs_calendar %s ORDER BY service_id$q$, w)),
      ('calendar_dates', format($q$SELECT service_id, to_char(date, 'YYYYMMDD') AS date, exception_type
                                     FROM faregate.gtfs_calendar_dates %s ORDER BY service_id, date$q$, w)),
      ('timeframes', format($q$SELECT timeframe_group_id, to_char(start_time, 'HH24:MI:SS') AS start_time,
                                      to_char(end_time, 'HH24:MI:SS') AS end_time, service_id
                                 FROM faregate.gtfs_timeframes %s ORDER BY timeframe_group_id, service_id, start_time$q$, w)),
      ('rider_categories', format('SELECT rider_category_id, rider_category_name, is_default_fare_category::int AS is_default_fare_category, eligibility_url FROM faregate.gtfs_rider_categories %s ORDER BY rider_category_id', w)),
      ('fare_media', format('SELECT fare_media_id, fare_media_name, fare_media_type FROM faregate.gtfs_fare_media %s ORDER BY fare_media_id', w)),
      ('fare_products', format('SELECT fare_product_id, fare_product_name, rider_category_id, fare_media_id, amount, currency FROM faregate.gtfs_fare_products %s ORDER BY fare_product_id, rider_category_id, fare_media_id', w)),
      ('fare_leg_rules', format('SELECT leg_group_id, network_id, from_area_id, to_area_id, from_timeframe_group_id, to_timeframe_group_id, fare_product_id%s FROM faregate.gtfs_fare_leg_rules %s',
                                CASE WHEN feed.has_rule_priority THEN ', rule_priority' ELSE '' END, w)),
      ('fare_leg_join_rules', format('SELECT from_network_id, to_network_id, from_stop_id, to_stop_id FROM faregate.gtfs_fare_leg_join_rules %s', w)),
      ('fare_transfer_rules', format('SELECT from_leg_group_id, to_leg_group_id, transfer_count, duration_limit, duration_limit_type, fare_transfer_type, fare_product_id FROM faregate.gtfs_fare_transfer_rules %s', w)),
      ('fare_attributes', format('SELECT fare_id, price, currency_type, payment_method, transfers, agency_id, transfer_duration FROM faregate.gtfs_fare_attributes %s ORDER BY fare_id', w)),
      ('fare_rules', format('SELECT fare_id, route_id, origin_id, destination_id, contains_id FROM faregate.gtfs_fare_rules %s', w))
    ) q(file, query)
    WHERE q.file = ANY (feed.files) OR (q.file = 'route_networks' AND 'networks' = ANY (feed.files));
END $$;
GRANT EXECUTE ON FUNCTION faregate.gtfs_export_queries(text) TO PUBLIC;

-- ---------------------------------------------------------------------------------------------------
-- Pricing (extension/gtfs_price.c; docs/gtfs.md "Pricing a journey").
-- ---------------------------------------------------------------------------------------------------
CREATE TYPE faregate.gtfs_leg AS (from_stop_id text, to_stop_id text, route_id text,
                                  departure timestamptz, arrival timestamptz);
COMMENT ON TYPE faregate.gtfs_leg IS 'one ride of a GTFS journey: boarded at from_stop_id at departure, left at to_stop_id at arrival';

-- The pricing functions read the gtfs_ tables: STABLE. They write nothing and keep only a per-backend
-- compiled copy, which a parallel worker builds for itself: PARALLEL SAFE. Not STRICT: a NULL feed or
-- legs is an error (22004); a NULL rider category means the feed's default, a NULL fare media any media.
CREATE FUNCTION faregate.gtfs_price_journey(feed_id text, legs faregate.gtfs_leg[],
                                            rider_category_id text DEFAULT NULL, fare_media_id text DEFAULT NULL)
    RETURNS TABLE (leg_no int, kind text, fare_product_id text, leg_group_id text, amount numeric,
                   currency text, detail text)
    AS 'MODULE_PATHNAME', 'gtfs_price_journey' LANGUAGE C STABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION faregate.gtfs_price_journey(text, faregate.gtfs_leg[], text, text) IS
    'the cheapest fare of a journey by the feed''s GTFS fare rules: per leg, per transfer, total per currency';

CREATE FUNCTION faregate.gtfs_journey_options(feed_id text, legs faregate.gtfs_leg[],
                                              rider_category_id text DEFAULT NULL, fare_media_id text DEFAULT NULL)
    RETURNS TABLE (option_no int, leg_no int, kind text, fare_product_id text, leg_group_id text,
                   amount numeric, currency text, detail text)
    AS 'MODULE_PATHNAME', 'gtfs_journey_options' LANGUAGE C STABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION faregate.gtfs_journey_options(text, faregate.gtfs_leg[], text, text) IS
    'every combination of fare products the GTFS rules allow for a journey, cheapest first';

CREATE FUNCTION faregate.gtfs_journey_fare(feed_id text, legs faregate.gtfs_leg[],
                                           rider_category_id text DEFAULT NULL, fare_media_id text DEFAULT NULL)
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'gtfs_journey_fare' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION faregate.gtfs_journey_fare(text, faregate.gtfs_leg[], text, text) IS
    'the total of gtfs_price_journey when it is in one currency';

GRANT EXECUTE ON FUNCTION faregate.gtfs_price_journey(text, faregate.gtfs_leg[], text, text),
    faregate.gtfs_journey_options(text, faregate.gtfs_leg[], text, text),
    faregate.gtfs_journey_fare(text, faregate.gtfs_leg[], text, text) TO PUBLIC;

-- ---------------------------------------------------------------------------------------------------
-- Caps on a GTFS tariff (GTFS has none): the most a rider of a category pays per service day or per
-- Monday-Sunday service week, in the feed's time zone, the service day starting at day_starts. Kept
-- apart from the feed's own tables (no foreign key) so that a reload of the feed keeps its caps.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE faregate.gtfs_fare_caps (
    feed_id           text NOT NULL CHECK (feed_id <> ''),
    rider_category_id text NOT NULL DEFAULT '',   -- '' = every rider category
    period            text NOT NULL CHECK (period IN ('day', 'week')),
    cap               numeric NOT NULL CHECK (cap >= 0),
    currency          char(3) NOT NULL REFERENCES faregate.gtfs_currencies,
    day_starts        time NOT NULL DEFAULT '04:30',
    PRIMARY KEY (feed_id, rider_category_id, period, currency)
);
COMMENT ON TABLE faregate.gtfs_fare_caps IS 'daily and weekly caps on a GTFS feed''s fares, per rider category (empty = all)';
CREATE TRIGGER gtfs_fare_caps_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON faregate.gtfs_fare_caps
    FOR EACH STATEMENT EXECUTE FUNCTION faregate.gtfs_changed();
ALTER TABLE faregate.gtfs_fare_caps ENABLE ALWAYS TRIGGER gtfs_fare_caps_changed;
SELECT pg_catalog.pg_extension_config_dump('faregate.gtfs_fare_caps', '');
REVOKE ALL ON faregate.gtfs_fare_caps FROM PUBLIC;
GRANT SELECT ON faregate.gtfs_fare_caps TO PUBLIC;

-- gtfs_charge_taps: one rider's legs (in time order, e.g. a day or a week of taps) priced by the feed's
-- rules as one sequence (transfers between consecutive legs as gtfs_price_journey finds them), then
-- capped: per leg its fare (the leg's product and the transfer product bought at it), what is charged,
-- and why ('fare', 'transfer', 'joined', 'daily cap', 'weekly cap'). The rider category NULL = the
-- feed's default for pricing and the caps of every category ('').
CREATE FUNCTION faregate.gtfs_charge_taps(feed_id text, legs faregate.gtfs_leg[],
                                          rider_category_id text DEFAULT NULL, fare_media_id text DEFAULT NULL)
    RETURNS TABLE (leg_no int, fare numeric, charged numeric, currency text, reason text)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    tz text;
    day_cap numeric;
    week_cap numeric;
    day_start time;
    cur_day date;
    cur_week date;
    day_spent numeric := 0;
    week_spent numeric := 0;
    svc_day date;
    r record;
    limit_left numeric;
    msg text;
    hint text;
BEGIN
    SELECT f.timezone INTO tz FROM faregate.gtfs_feeds f WHERE f.feed_id = gtfs_charge_taps.feed_id;
    -- one block around the loop: a leg whose local time falls outside the timestamp range (the ends of
    -- time in the feed's time zone) is 22008 with a hint, not a bare "timestamp out of range"
    BEGIN
        FOR r IN
            WITH priced AS (SELECT * FROM faregate.gtfs_price_journey(feed_id, legs, rider_category_id, fare_media_id) p WHERE p.kind <> 'total'),
            per_leg AS (SELECT p.leg_no, sum(p.amount) AS fare, min(p.currency) AS currency,
                               bool_or(p.kind = 'transfer') AS transferred, bool_or(p.kind = 'leg' AND p.amount = 0 AND p.detail LIKE 'covered%') AS covered
                          FROM priced p GROUP BY p.leg_no)
            SELECT g.n AS leg_no, coalesce(pl.fare, 0) AS fare, coalesce(pl.currency, (SELECT min(p2.currency) FROM priced p2)) AS currency,
                   CASE WHEN pl.leg_no IS NULL THEN 'joined' WHEN pl.transferred THEN 'transfer' ELSE 'fare' END AS reason,
                   (legs[g.n]).departure AS departure
              FROM generate_subscripts(legs, 1) g(n) LEFT JOIN per_leg pl ON pl.leg_no = g.n
             ORDER BY g.n
        LOOP
            IF day_start IS NULL THEN
                SELECT min(c.cap), min(c.day_starts) INTO day_cap, day_start FROM faregate.gtfs_fare_caps c
                 WHERE c.feed_id = gtfs_charge_taps.feed_id AND c.period = 'day' AND c.currency = r.currency
                   AND c.rider_category_id IN ('', coalesce(gtfs_charge_taps.rider_category_id, ''));
                SELECT min(c.cap), coalesce(day_start, min(c.day_starts)) INTO week_cap, day_start FROM faregate.gtfs_fare_caps c
                 WHERE c.feed_id = gtfs_charge_taps.feed_id AND c.period = 'week' AND c.currency = r.currency
                   AND c.rider_category_id IN ('', coalesce(gtfs_charge_taps.rider_category_id, ''));
                day_start := coalesce(day_start, '04:30');
            END IF;
            svc_day := ((r.departure AT TIME ZONE tz) - day_start::interval)::date;
            IF cur_day IS DISTINCT FROM svc_day THEN
                cur_day := svc_day;
                day_spent := 0;
            END IF;
            IF cur_week IS DISTINCT FROM date_trunc('week', svc_day)::date THEN
                cur_week := date_trunc('week', svc_day)::date;
                week_spent := 0;
            END IF;
            leg_no := r.leg_no;
            fare := r.fare;
            currency := r.currency;
            reason := r.reason;
            charged := r.fare;
            IF r.fare > 0 THEN
                limit_left := least(coalesce(day_cap - day_spent, r.fare), coalesce(week_cap - week_spent, r.fare));
                IF limit_left < r.fare THEN
                    charged := greatest(limit_left, 0);
                    reason := CASE WHEN day_cap IS NOT NULL AND day_cap - day_spent = limit_left THEN 'daily cap' ELSE 'weekly cap' END;
                END IF;
            END IF;
            day_spent := day_spent + charged;
            week_spent := week_spent + charged;
            RETURN NEXT;
        END LOOP;
    EXCEPTION WHEN SQLSTATE '22008' THEN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
        RAISE EXCEPTION '%', msg USING ERRCODE = '22008',
            HINT = coalesce(nullif(hint, ''), format('Give legs whose local times in the feed''s time zone (%s) lie within PostgreSQL''s timestamp range (4713 BC to 294276 AD).', tz));
    END;
END $$;
COMMENT ON FUNCTION faregate.gtfs_charge_taps(text, faregate.gtfs_leg[], text, text) IS
    'one rider''s legs priced by the GTFS rules, then capped by faregate.gtfs_fare_caps: fare, charge and why, per leg';
GRANT EXECUTE ON FUNCTION faregate.gtfs_charge_taps(text, faregate.gtfs_leg[], text, text) TO PUBLIC;

-- ---- end: GTFS fares ----

-- ---- begin: fares, fare_cache_stats invalidation counts (issue 13; fare_cache.c) ----
-- fare_cache_stats gains two columns (per-key and full invalidations): its result type changes, so it is
-- dropped and created again, with the comment and the grant of a fresh install.
DROP FUNCTION faregate.fare_cache_stats();
CREATE FUNCTION faregate.fare_cache_stats()
    RETURNS TABLE (hits bigint, misses bigint, rebuilds bigint, entries bigint, bytes bigint,
                   key_invalidations bigint, full_invalidations bigint)
    AS 'MODULE_PATHNAME', 'fare_cache_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 1;
COMMENT ON FUNCTION faregate.fare_cache_stats() IS 'this backend''s compiled fare table: hits, misses, rebuilds, entries, bytes, per-key and full invalidations';
GRANT EXECUTE ON FUNCTION faregate.fare_cache_stats() TO PUBLIC;
-- ---- end: fares, fare_cache_stats invalidation counts ----
