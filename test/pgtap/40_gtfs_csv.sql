-- 40_gtfs_csv.sql: the CSV reading of GTFS files (extension/gtfs_csv.c, faregate._gtfs_stage_csv), as
-- the loader sends them (the file's bytes untouched): a BOM, CRLF, quoted commas, doubled quotes and
-- quoted line breaks are read; every CSV-level error (a ragged row, an unclosed quote, text after a
-- closing quote, bytes that are not UTF-8, a NUL byte) is an FG101 error naming file:row: field, the
-- other rows and files are still checked, and nothing is loaded. Uses fixtures/40_gtfs_lib.psql;
-- rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(24);
\ir fixtures/40_gtfs_lib.psql

-- stage(file, bytes): stages one file from raw bytes, as faregate-gtfs load does
CREATE FUNCTION pg_temp.stage(file text, content bytea) RETURNS bigint LANGUAGE sql AS $$
    SELECT faregate._gtfs_stage_csv(file, content)
$$;
-- errors_with(file, bytes): the DETAIL lines of loading the good feed (fixtures) with that file as given
CREATE FUNCTION pg_temp.errors_with(file text, content bytea) RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.good_feed();
    PERFORM pg_temp.stage(file, content);
    RETURN string_to_array(pg_temp.gtfs_load_errors('f'), E'\n');
END $$;

-- what real feeds do: BOM, CRLF, quoted fields
SELECT pg_temp.good_feed();
SELECT is(pg_temp.stage('stops', '\xefbbbf'::bytea || convert_to(E'stop_id,stop_name\r\ns1,"One, ""the first"""\r\ns2,"Two\r\nlines"\r\n', 'UTF8')),
          2::bigint, 'BOM, CRLF, a quoted comma, doubled quotes and a quoted line break: 2 rows');
SELECT is(faregate.gtfs_import('f'), 1::bigint, 'the feed loads');
SELECT is((SELECT string_agg(stop_name, '|' ORDER BY stop_id) FROM faregate.gtfs_stops WHERE feed_id = 'f'),
          E'One, "the first"|Two\r\nlines', 'the quoted fields are read as written');
SELECT pg_temp.good_feed();
SELECT pg_temp.stage('stops', convert_to(E'stop_id,stop_name\n\ns1,""\ns2,Two\n\n', 'UTF8'));
SELECT is((SELECT array_agg(row_no || ':' || stop_id || ':' || coalesce(stop_name, 'NULL') ORDER BY row_no) FROM pg_temp.gtfs_stg_stops),
          '{3:s1:NULL,4:s2:Two}', 'an empty line is skipped but counts as a row; a quoted empty field is empty (NULL)');
SELECT faregate.gtfs_import('f');

-- each CSV error alone, named by file, row and field
SELECT is(pg_temp.errors_with('stops', convert_to(E'stop_id,stop_name\ns1,One\ns2,Two,extra\n', 'UTF8')),
          '{"stops.txt:3: field 3: the row has 3 field(s) and the header 2"}', 'a row with too many fields: its first extra field');
SELECT is(pg_temp.errors_with('stops', convert_to(E'stop_id,stop_name,zone_id\ns1,One,z\ns2,Two\n', 'UTF8')),
          '{"stops.txt:3: zone_id: the row has 2 field(s) and the header 3"}', 'a row with too few fields: the first missing column');
SELECT is(pg_temp.errors_with('stops', convert_to(E'stop_id,stop_name\ns1,One\ns2,"Two\ns3,Three\n', 'UTF8')),
          '{"stops.txt:3: stop_name: a quoted field is not closed: the file ends inside it (a closing double quote is missing)"}',
          'an unclosed quote: the row and field where it opens');
SELECT is(pg_temp.errors_with('stops', convert_to(E'stop_id,stop_name\ns1,One\ns2,"Two"x\n', 'UTF8')),
          '{"stops.txt:3: stop_name: text after the closing double quote of a quoted field (a double quote inside a quoted field is written as two)"}',
          'text after a closing quote');
SELECT is(pg_temp.errors_with('stops', convert_to(E'stop_id,stop_name\ns1,"One\nline"\ns2,"Two"x\n', 'UTF8')),
          '{"stops.txt:4: stop_name: text after the closing double quote of a quoted field (a double quote inside a quoted field is written as two)"}',
          'after a quoted line break, rows are counted as lines of the file');
SELECT is(pg_temp.errors_with('stops', convert_to(E'stop_id,stop_name\ns1,One\ns2,', 'UTF8') || '\x5a26e972696368'::bytea || convert_to(E'\n', 'UTF8')),
          '{"stops.txt:3: stop_name: the field is not valid UTF-8 (byte 0xe9 at byte 3 of the field); GTFS files are UTF-8"}',
          'a Latin-1 byte: not UTF-8, with the field and the byte');
SELECT is(pg_temp.errors_with('stops', convert_to(E'stop_id,stop_name\ns1,One\ns2,', 'UTF8') || '\x4f006e'::bytea),
          '{"stops.txt:3: stop_name: the field contains a NUL byte"}', 'a NUL byte');
-- (without stops, stop_areas.txt's s1 is unknown too)
SELECT is(pg_temp.errors_with('stops', '\xff'::bytea || convert_to(E'stop_id,stop_name\ns1,One\n', 'UTF8')) @>
          '{"stops.txt:1: column 1: the field is not valid UTF-8 (byte 0xff at byte 1 of the field); GTFS files are UTF-8","stop_areas.txt:2: stop_id: unknown stop_id \"s1\" (no such stop)"}',
          true, 'a bad header: named as row 1, and its rows are not read');
SELECT is(pg_temp.errors_with('stops', ''::bytea) @> '{"stops.txt:1: (header): the file is empty: it has no header line"}',
          true, 'an empty file');
SELECT is(pg_temp.errors_with('stops', '\xefbbbf'::bytea) @> '{"stops.txt:1: (header): the file is empty: it has no header line"}',
          true, 'a file of a BOM alone is empty');

-- several errors: every one, in every file; a bad file hides no error of another file
SELECT pg_temp.good_feed();
SELECT pg_temp.stage('stops', convert_to(E'stop_id,stop_name\ns1,One\ns2,Two,extra\ns3,"Three\n', 'UTF8'));
SELECT pg_temp.stage('stop_areas', convert_to(E'area_id,stop_id\nA\nB,s2,x\n', 'UTF8'));
SELECT pg_temp.stage('fare_products', convert_to(E'fare_product_id,amount,currency\np1,2.555,CHF\n', 'UTF8') || '\x70322c312e30302c4348c6'::bytea);
CREATE TEMP TABLE many AS SELECT string_to_array(pg_temp.gtfs_load_errors('f'), E'\n') AS lines;
SELECT ok('stops.txt:3: field 3: the row has 3 field(s) and the header 2' = ANY (lines), 'stops.txt: the ragged row') FROM many;
SELECT ok('stops.txt:4: stop_name: a quoted field is not closed: the file ends inside it (a closing double quote is missing)' = ANY (lines),
          'stops.txt: the unclosed quote after it') FROM many;
SELECT ok('stop_areas.txt:2: stop_id: the row has 1 field(s) and the header 2' = ANY (lines)
          AND 'stop_areas.txt:3: field 3: the row has 3 field(s) and the header 2' = ANY (lines), 'stop_areas.txt: both ragged rows') FROM many;
SELECT ok('fare_products.txt:2: amount: amount "2.555" has more decimals than CHF has (2)' = ANY (lines),
          'fare_products.txt: a validation error of a good row, beside ...') FROM many;
SELECT ok('fare_products.txt:3: currency: the field is not valid UTF-8 (byte 0xc6 at byte 3 of the field); GTFS files are UTF-8' = ANY (lines),
          '... the encoding error of a bad row of the same file') FROM many;
SELECT ok('fare_leg_rules.txt:2: fare_product_id: unknown fare_product_id "p1" (no such fare product)' <> ALL (lines),
          'a good row of a file with bad rows is still staged (p1 resolves)') FROM many;
SELECT is(cardinality(lines), 6, 'six errors, nothing else') FROM many;
SELECT is((SELECT string_agg(stop_id || ':' || coalesce(stop_name, 'NULL'), ',' ORDER BY stop_id) FROM faregate.gtfs_stops WHERE feed_id = 'f'),
          's1:NULL,s2:Two', 'nothing was loaded: feed f is still the version loaded before');

-- bad arguments
SELECT throws_ok($$SELECT faregate._gtfs_stage_csv('stops', NULL)$$, '22004', 'file and content must not be null', 'NULL content: 22004');
SELECT throws_ok($$SELECT faregate._gtfs_stage_csv('trips', ''::bytea)$$, '22023', 'unknown GTFS file "trips"', 'an unknown file: 22023');

SELECT * FROM finish();
ROLLBACK;
