-- 21_sketch.sql: faregate.sketch. Quantiles within the stated 1% relative error of percentile_disc on
-- uniform, heavy-tailed (Pareto, lognormal) and mixed-sign data; a forced parallel plan gives the same
-- sketch as a serial one; sketch_merge equals sketch_agg over the union; text round trip; NULL, NaN,
-- infinity and malformed input; volatility labels. Runs in a transaction that is rolled back.
BEGIN;
SELECT plan(49);

SELECT setseed(0.42);
CREATE TEMP TABLE data (kind text, x float8);
INSERT INTO data SELECT 'uniform', random() * 1000 FROM generate_series(1, 100000);
-- Pareto with shape 1.1 (infinite variance): the tail reaches 1e5 and beyond
INSERT INTO data SELECT 'pareto', 1.0 / power(1.0 - random(), 1.0 / 1.1) FROM generate_series(1, 100000);
-- lognormal, sigma 3: spans many orders of magnitude
INSERT INTO data SELECT 'lognormal', exp(3 * sqrt(-2 * ln(1.0 - random())) * cos(2 * pi() * random()))
  FROM generate_series(1, 100000);
-- both signs, many exact zeros and a few huge magnitudes
INSERT INTO data SELECT 'mixed', CASE WHEN g % 10 = 0 THEN 0 ELSE (random() - 0.5) * power(10, (g % 7) - 2) END
  FROM generate_series(1, 50000) g;
ANALYZE data;

-- worst relative error of the sketch against percentile_disc over a grid of quantiles
CREATE TEMP TABLE errors AS
WITH qs AS (SELECT unnest(ARRAY[0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]::float8[]) AS q),
exact AS (
  SELECT d.kind, qs.q, percentile_disc(qs.q) WITHIN GROUP (ORDER BY d.x) AS v
    FROM data d CROSS JOIN qs GROUP BY d.kind, qs.q),
sk AS (SELECT kind, faregate.sketch_agg(x) AS s FROM data GROUP BY kind)
SELECT e.kind, max(CASE WHEN e.v = 0 THEN abs(faregate.quantile(sk.s, e.q))
                        ELSE abs(faregate.quantile(sk.s, e.q) - e.v) / abs(e.v) END) AS worst
  FROM exact e JOIN sk USING (kind) GROUP BY e.kind;

SELECT cmp_ok((SELECT worst FROM errors WHERE kind = 'uniform'), '<=', 0.01 + 1e-12::float8,
              'uniform data: every quantile within 1% of percentile_disc');
SELECT cmp_ok((SELECT worst FROM errors WHERE kind = 'pareto'), '<=', 0.01 + 1e-12::float8,
              'Pareto(1.1) data: every quantile within 1% of percentile_disc');
SELECT cmp_ok((SELECT worst FROM errors WHERE kind = 'lognormal'), '<=', 0.01 + 1e-12::float8,
              'lognormal(sigma 3) data: every quantile within 1% of percentile_disc');
SELECT cmp_ok((SELECT worst FROM errors WHERE kind = 'mixed'), '<=', 0.01 + 1e-12::float8,
              'negative, zero and positive data: every quantile within 1% of percentile_disc');
-- the test can fail: a sketch that answered the mean would be far off on the heavy tails
SELECT cmp_ok((SELECT worst FROM errors WHERE kind = 'pareto'), '>', 0::float8,
              'the comparison is not vacuous (sketch answers are bucket values, not exact)');

SELECT is((SELECT faregate.quantile(faregate.sketch_agg(x), 0) FROM data WHERE kind = 'pareto'),
          (SELECT min(x) FROM data WHERE kind = 'pareto'), 'quantile 0 is the exact minimum');
SELECT is((SELECT faregate.quantile(faregate.sketch_agg(x), 1) FROM data WHERE kind = 'pareto'),
          (SELECT max(x) FROM data WHERE kind = 'pareto'), 'quantile 1 is the exact maximum');
SELECT is((SELECT faregate.sketch_count(faregate.sketch_agg(x)) FROM data), 350000::bigint,
          'sketch_count counts every value');

-- the bucket mapping puts every value exactly where ceil(ln(x) / ln(gamma)) says (the documented bucket
-- bounds): random magnitudes from 1e-8 to 1e12, and values on and next to bucket boundaries gamma^k
CREATE TEMP TABLE mapping AS
  SELECT x, ceil(ln(x) * (1 / ln((1 + 0.01::float8) / (1 - 0.01::float8))))::int AS want
    FROM (SELECT power(10, random() * 20 - 8) AS x FROM generate_series(1, 50000)
          UNION ALL
          SELECT exp(k * ln((1 + 0.01::float8) / (1 - 0.01::float8))) * f
            FROM generate_series(-900, 1300) k, unnest(ARRAY[1, 1 - 1e-15, 1 + 1e-15, 1 - 1e-9, 1 + 1e-9]::float8[]) f) v;
SELECT is((SELECT count(*) FROM (
             SELECT x, want, substring(faregate.sketch_agg(x)::text FROM 'pos=(-?[0-9]+):1;')::int AS got
               FROM mapping WHERE x >= 1e-9 GROUP BY x, want) g
            WHERE got IS DISTINCT FROM want), 0::bigint,
          'every value (random, on and next to bucket boundaries) is in bucket ceil(ln(x) / ln(gamma))');

-- small exact cases
SELECT ok(abs(faregate.quantile(faregate.sketch_agg(x), 0.5) - want) <= 1e-12 * want,
          'median of 1,2,3 is the representative 2 gamma^i / (gamma + 1) of the bucket i = ceil(ln 2 / ln gamma)')
  FROM (VALUES (1::float8), (2), (3)) v(x),
       (SELECT 2 * power(g, ceil(ln(2) / ln(g))) / (g + 1) AS want
          FROM (SELECT (1 + 0.01::float8) / (1 - 0.01::float8) AS g) c) w
 GROUP BY want;
SELECT is((SELECT faregate.quantile(faregate.sketch_agg(x ORDER BY x DESC), 0.5) FROM (VALUES (1::float8), (2), (3)) v(x)),
          (SELECT faregate.quantile(faregate.sketch_agg(x ORDER BY x), 0.5) FROM (VALUES (1::float8), (2), (3)) v(x)),
          'quantile does not depend on the order of the input');
SELECT ok(abs(faregate.quantile(faregate.sketch_agg(x), 0.5) - 2) <= 0.02, 'median of 1,2,3 is 2 within 1%')
  FROM (VALUES (1::float8), (2), (3)) v(x);
SELECT is(faregate.quantile(faregate.sketch_agg(x), 0.5), 0::float8, 'median of -5, 0, 5 is exactly 0')
  FROM (VALUES (-5::float8), (0), (5)) v(x);
SELECT ok(abs(faregate.quantile(faregate.sketch_agg(x), 0.4) + 5) <= 0.05, 'p40 of -7,-5,0,5,7 is -5 within 1%')
  FROM (VALUES (-7::float8), (-5), (0), (5), (7)) v(x);

-- NULLs, empty input, bad values
SELECT ok((SELECT faregate.sketch_agg(x) FROM data WHERE false) IS NULL, 'sketch_agg over no rows is NULL');
SELECT ok((SELECT faregate.sketch_agg(NULL::float8) FROM generate_series(1, 3)) IS NULL,
          'sketch_agg over only NULLs is NULL');
SELECT is((SELECT faregate.sketch_count(faregate.sketch_agg(x)) FROM (VALUES (1::float8), (NULL), (3)) v(x)), 2::bigint,
          'NULL values are skipped');
SELECT is(faregate.quantile(NULL, 0.5), NULL, 'quantile of a NULL sketch is NULL');
SELECT is(faregate.quantile(faregate.sketch_agg(1), NULL), NULL, 'quantile at a NULL q is NULL');
SELECT throws_ok($$SELECT faregate.sketch_agg(x) FROM (VALUES (1::float8), ('NaN')) v(x)$$, '22003',
                 'faregate.sketch cannot hold NaN', 'NaN is rejected with 22003');
SELECT throws_ok($$SELECT faregate.sketch_agg(x) FROM (VALUES (1::float8), ('-Infinity')) v(x)$$, '22003',
                 'faregate.sketch cannot hold an infinite value', '-Infinity is rejected with 22003');
SELECT throws_ok($$SELECT faregate.quantile(faregate.sketch_agg(1), 1.5)$$, '22003',
                 'quantile 1.5 is not between 0 and 1', 'a quantile above 1 is rejected');
SELECT throws_ok($$SELECT faregate.quantile(faregate.sketch_agg(1), -0.1)$$, '22003', NULL,
                 'a negative quantile is rejected');
SELECT throws_ok($$SELECT faregate.quantile(faregate.sketch_agg(1), 'NaN')$$, '22003', NULL,
                 'a NaN quantile is rejected');
SELECT is((SELECT array_agg(c ORDER BY x) FROM (
             SELECT x, faregate.sketch_count(faregate.sketch_agg(x) OVER (ORDER BY x)) AS c
               FROM generate_series(1, 5) x) w),
          ARRAY[1, 2, 3, 4, 5]::bigint[], 'sketch_agg works as a running window aggregate');
SELECT is(faregate.quantile(faregate.sketch_agg(x), 0.5), 1e-12::float8,
          'values below 1e-9 count as zero, answered within [min, max]')
  FROM (VALUES (1e-12::float8), (1e-12), (1e-12)) v(x);
SELECT ok(abs(faregate.quantile(faregate.sketch_agg(x), 1) / 1e300 - 1) <= 0.01
          AND abs(faregate.quantile(faregate.sketch_agg(x), 0.4) / 1e-8 - 1) <= 0.01,
          'extreme magnitudes 1e-8 .. 1e300 keep 1% relative error')
  FROM (VALUES (1e-8::float8), (1e-8), (1e300), (1e300), (-1e300)) v(x);

-- text form: round trip, and malformed text refused
SELECT is((SELECT faregate.sketch_out(faregate.sketch_in(faregate.sketch_out(s)))::text
             FROM (SELECT faregate.sketch_agg(x) s FROM data WHERE kind = 'mixed') z),
          (SELECT faregate.sketch_out(faregate.sketch_agg(x))::text FROM data WHERE kind = 'mixed'),
          'text output reads back to the same sketch');
SELECT is('v1;n=3;zero=1;min=-2;max=4;pos=35:1;neg=35:1'::faregate.sketch::text,
          'v1;n=3;zero=1;min=-2;max=4;pos=35:1;neg=35:1', 'a hand-written sketch is accepted');
SELECT is(faregate.sketch_count('v1;n=0;zero=0;min=0;max=0;pos=;neg='::faregate.sketch), 0::bigint,
          'an empty sketch has count 0');
SELECT is(faregate.quantile('v1;n=0;zero=0;min=0;max=0;pos=;neg='::faregate.sketch, 0.5), NULL,
          'quantile of an empty sketch is NULL');
SELECT throws_ok($$SELECT 'hello'::faregate.sketch$$, '22P02', NULL, 'garbage text is refused with 22P02');
SELECT throws_ok($$SELECT 'v1;n=5;zero=1;min=0;max=4;pos=35:1;neg='::faregate.sketch$$, '22P02',
                 'invalid faregate.sketch value: its bucket counts do not add up to its count',
                 'counts that do not add up are refused');
SELECT throws_ok($$SELECT 'v1;n=1;zero=0;min=0;max=4;pos=99999:1;neg='::faregate.sketch$$, '22P02', NULL,
                 'a bucket index out of range is refused');
SELECT throws_ok($$SELECT 'v1;n=1;zero=0;min=5;max=4;pos=35:1;neg='::faregate.sketch$$, '22P02', NULL,
                 'min above max is refused');
SELECT throws_ok($$SELECT 'v1;n=1;zero=0;min=0;max=4;pos=35:-1,2;neg='::faregate.sketch$$, '22P02', NULL,
                 'a negative bucket count is refused');

SELECT throws_ok($$SELECT faregate.sketch_merge(s) FROM (VALUES
                   ('v1;n=9223372036854775807;zero=9223372036854775807;min=0;max=0;pos=;neg='::faregate.sketch),
                   ('v1;n=1;zero=1;min=0;max=0;pos=;neg=')) v(s)$$, '22003', NULL,
                 'a merged count beyond bigint is an error, not a wrap-around');
-- binary form (sketch_send / sketch_recv) through COPY BINARY
CREATE TEMP TABLE bin_out AS SELECT kind, faregate.sketch_agg(x) AS s FROM data GROUP BY kind;
CREATE TEMP TABLE bin_in (kind text, s faregate.sketch);
DO $$ BEGIN
  EXECUTE format('COPY bin_out TO %L WITH (FORMAT binary)', '/tmp/faregate_sketch_' || pg_backend_pid() || '.bin');
  EXECUTE format('COPY bin_in FROM PROGRAM %L WITH (FORMAT binary)',
                 format('cat %1$s && rm -f %1$s', '/tmp/faregate_sketch_' || pg_backend_pid() || '.bin'));
END $$;
SELECT is((SELECT string_agg(kind || '=' || s::text, ' ' ORDER BY kind) FROM bin_in),
          (SELECT string_agg(kind || '=' || s::text, ' ' ORDER BY kind) FROM bin_out),
          'binary COPY out and in gives back the same sketches');
-- rollups: merging per-group sketches equals one sketch over all the rows
SELECT is((SELECT faregate.sketch_out(faregate.sketch_merge(s))::text
             FROM (SELECT faregate.sketch_agg(x) s FROM data GROUP BY kind) g),
          (SELECT faregate.sketch_out(faregate.sketch_agg(x))::text FROM data),
          'sketch_merge of per-kind sketches = sketch_agg over all rows');
SELECT ok((SELECT faregate.sketch_merge(s) FROM (VALUES (NULL::faregate.sketch)) v(s)) IS NULL,
          'sketch_merge of only NULLs is NULL');

-- parallel = serial: the same sketch, byte for byte, from a forced parallel plan
CREATE TABLE sketch_parallel_probe AS SELECT x FROM data;
ANALYZE sketch_parallel_probe;
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_result AS
  SELECT faregate.sketch_out(faregate.sketch_agg(x))::text AS s FROM sketch_parallel_probe;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    plan := plan || line || E'\n';
  END LOOP;
  RETURN plan;
END $$;
SELECT alike(pg_temp.plan_of('SELECT faregate.sketch_agg(x) FROM sketch_parallel_probe'),
            '%Workers Launched: 2%Partial Aggregate%', 'sketch_agg runs as a parallel partial aggregate with 2 workers');
SELECT is((SELECT faregate.sketch_out(faregate.sketch_agg(x))::text FROM sketch_parallel_probe),
          (SELECT s FROM serial_result), 'parallel sketch_agg = serial sketch_agg (identical sketch)');
SELECT is((SELECT array[faregate.quantile(s, 0.5), faregate.quantile(s, 0.9), faregate.quantile(s, 0.99)]
             FROM (SELECT faregate.sketch_agg(x) s FROM sketch_parallel_probe) z),
          (SELECT array[faregate.quantile(s::faregate.sketch, 0.5), faregate.quantile(s::faregate.sketch, 0.9),
                        faregate.quantile(s::faregate.sketch, 0.99)] FROM serial_result),
          'parallel and serial quantiles are identical');
CREATE TABLE sketch_parallel_parts AS
  SELECT g, faregate.sketch_agg(x) AS s FROM (SELECT x, (random() * 500)::int AS g FROM data) d GROUP BY g;
INSERT INTO sketch_parallel_parts SELECT g, s FROM sketch_parallel_parts, generate_series(1, 40);
ANALYZE sketch_parallel_parts;
SELECT alike(pg_temp.plan_of('SELECT faregate.sketch_merge(s) FROM sketch_parallel_parts'),
            '%Workers Launched: 2%Partial Aggregate%', 'sketch_merge runs as a parallel partial aggregate');
CREATE TEMP TABLE merge_parallel AS SELECT faregate.sketch_out(faregate.sketch_merge(s))::text AS s FROM sketch_parallel_parts;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT is((SELECT s FROM merge_parallel),
          (SELECT faregate.sketch_out(faregate.sketch_merge(s))::text FROM sketch_parallel_parts),
          'parallel sketch_merge = serial sketch_merge');
SELECT is(faregate.sketch_count((SELECT s FROM merge_parallel)::faregate.sketch), 41 * 350000::bigint,
          'merged count is the sum of the parts');

-- volatility and parallel-safety labels (the pooler routes by them)
SELECT volatility_is('faregate', 'quantile', ARRAY['faregate.sketch', 'double precision'], 'immutable',
                     'quantile is immutable');
SELECT volatility_is('faregate', 'sketch_count', ARRAY['faregate.sketch'], 'immutable', 'sketch_count is immutable');
SELECT is((SELECT array_agg(DISTINCT p.proparallel) FROM pg_proc p
            WHERE p.pronamespace = 'faregate'::regnamespace AND p.proname LIKE 'sketch%'
               OR p.oid = 'faregate.quantile'::regproc),
          ARRAY['s']::"char"[], 'every sketch function and aggregate is PARALLEL SAFE');

SELECT * FROM finish();
ROLLBACK;
