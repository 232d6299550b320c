-- 00_extension.sql: the extension installs, its schema and version() are there, and it drops and
-- re-creates cleanly. Runs in a transaction that is rolled back.
BEGIN;
SELECT plan(6);

SELECT has_extension('faregate', 'faregate is installed');
SELECT has_schema('faregate', 'schema faregate exists');
SELECT is(faregate.version(), (SELECT extversion FROM pg_extension WHERE extname = 'faregate'),
          'version() of the library matches the installed extension version');
SELECT volatility_is('faregate', 'version', ARRAY[]::name[], 'immutable',
                              'version() is immutable');

DROP EXTENSION faregate CASCADE;
SELECT hasnt_schema('faregate', 'DROP EXTENSION removes the schema');
CREATE EXTENSION faregate CASCADE;
SELECT is(faregate.version(), (SELECT default_version FROM pg_available_extensions WHERE name = 'faregate'),
          'CREATE EXTENSION again gives the default version');

SELECT * FROM finish();
ROLLBACK;
