-- faregate install script, part 00: what every other part builds on.
-- The parts in sql/faregate/ are concatenated in name order into sql/faregate--<default_version>.sql at build time.
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
