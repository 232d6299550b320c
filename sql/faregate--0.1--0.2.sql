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
