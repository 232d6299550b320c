-- 01_upgrade.sql: the upgrade chain. CREATE EXTENSION faregate VERSION '0.1' followed by ALTER EXTENSION
-- faregate UPDATE gives the same objects as a fresh install of the default version: the same member
-- objects, columns with types and defaults, constraints, indexes, triggers (and whether they are
-- enabled), function definitions, privileges, comments, pg_dump configuration and initial rows. Runs in a
-- transaction that is rolled back.
BEGIN;
SELECT plan(4);

-- faregate_objects: one line of text per property of the installed extension that an upgrade must
-- reproduce (names only, no OIDs)
CREATE FUNCTION pg_temp.faregate_objects() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT 'member ' || pg_describe_object(classid, objid, objsubid)
      FROM pg_depend
     WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
       AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'faregate')
    UNION ALL
    SELECT format('column %s.%s %s notnull=%s identity=%s default=%s', c.relname, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, pg_get_expr(d.adbin, d.adrelid))
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = 'faregate'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
      FROM pg_constraint WHERE connamespace = 'faregate'::regnamespace
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'faregate'::regnamespace
    UNION ALL
    SELECT format('trigger %s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'faregate'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT format('function %s %s', p.oid::regprocedure,
                  CASE WHEN p.prokind = 'a' THEN '(aggregate)' ELSE pg_get_functiondef(p.oid) END)
      FROM pg_proc p WHERE p.pronamespace = 'faregate'::regnamespace
    UNION ALL
    SELECT format('acl %s %s', c.relname, c.relacl) FROM pg_class c WHERE c.relnamespace = 'faregate'::regnamespace
    UNION ALL
    SELECT format('acl %s %s', p.oid::regprocedure, p.proacl) FROM pg_proc p WHERE p.pronamespace = 'faregate'::regnamespace
    UNION ALL
    SELECT format('comment %s %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
      FROM pg_description d
     WHERE (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = 'faregate'::regnamespace))
        OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'faregate'::regnamespace))
        OR (d.classoid = 'pg_type'::regclass AND d.objoid IN (SELECT oid FROM pg_type WHERE typnamespace = 'faregate'::regnamespace))
    UNION ALL
    SELECT format('dumped %s %s', c::regclass, coalesce(f, ''))
      FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, f) WHERE e.extname = 'faregate'
    UNION ALL
    SELECT 'row rider_categories ' || r::text FROM faregate.rider_categories r
    UNION ALL
    SELECT 'row fare_rule_changes_pruned ' || r::text FROM faregate.fare_rule_changes_pruned r
$$;

DROP EXTENSION faregate CASCADE;
CREATE EXTENSION faregate VERSION '0.1' CASCADE;
ALTER EXTENSION faregate UPDATE;
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'faregate'),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'faregate'),
          'ALTER EXTENSION faregate UPDATE reaches the default version');
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.faregate_objects() AS o(line);

DROP EXTENSION faregate CASCADE;
CREATE EXTENSION faregate CASCADE;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.faregate_objects() AS o(line);

SELECT cmp_ok((SELECT count(*)::int FROM fresh), '>', 200, 'the comparison covers the whole extension');
SELECT is((SELECT array_agg(line ORDER BY line) FROM (SELECT line FROM upgraded EXCEPT ALL SELECT line FROM fresh) x),
          NULL, 'nothing the upgrade has that a fresh install lacks');
SELECT is((SELECT array_agg(line ORDER BY line) FROM (SELECT line FROM fresh EXCEPT ALL SELECT line FROM upgraded) x),
          NULL, 'nothing a fresh install has that the upgrade lacks');

SELECT * FROM finish();
ROLLBACK;
