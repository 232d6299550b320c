-- check_fare_rules.sql: a DBA's audit of the faregate fare rules. Read-only; run it with
--   psql -X -d DB -f sql/maintenance/check_fare_rules.sql
-- It prints one row per finding (problem, from_zone, to_zone, category, rule_id, detail), none when the
-- rules are complete and every rule can apply:
--   missing rule     a zone pair with no rule at all for a category (fare() raises FG001 for it)
--   no window        a rule whose timeframe has no window in faregate.timeframes (never applies)
--   shadowed         a rule that an any-time rule of higher priority, valid on every date of this
--                    rule, always beats (never applies)
--   expired          a rule whose validity ended before today, in faregate.timezone (applies only to
--                    past dates: keep it for re-pricing the past, or delete it)
--   validity gap     dates after the first any-time rule of a zone pair and category on which it has no
--                    any-time rule (outside its timeframe rules fare() raises FG001 on them); a gap
--                    without end, after the last rule, shows as [date,)
-- Timeframe coverage within a day of a pair that has only timeframe rules is not checked.
-- With many zones "missing rule" can be long (zones x zones x categories); filter it with a WHERE on
-- the result if only some pairs are meant to be served.
SET search_path = pg_catalog;
DO $$ BEGIN PERFORM faregate.version(); END $$;  -- loads the library, which defines faregate.timezone
SELECT problem, from_zone, to_zone, category, rule_id, detail
  FROM (
    SELECT 'missing rule' AS problem, f.zone_id AS from_zone, t.zone_id AS to_zone, c.category,
           NULL::bigint AS rule_id, 'no fare rule for this zone pair and category' AS detail
      FROM faregate.zones f CROSS JOIN faregate.zones t CROSS JOIN faregate.rider_categories c
     WHERE NOT EXISTS (SELECT 1 FROM faregate.fare_rules r
                        WHERE r.from_zone = f.zone_id AND r.to_zone = t.zone_id AND r.category = c.category)
    UNION ALL
    SELECT 'no window', r.from_zone, r.to_zone, r.category, r.rule_id,
           format('timeframe %s has no window in faregate.timeframes', r.timeframe)
      FROM faregate.fare_rules r
     WHERE r.timeframe IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM faregate.timeframes w WHERE w.timeframe = r.timeframe)
    UNION ALL
    SELECT 'shadowed', r.from_zone, r.to_zone, r.category, r.rule_id,
           format('any-time rule %s (priority %s, valid %s) always wins', s.rule_id, s.priority, s.valid)
      FROM faregate.fare_rules r
      JOIN faregate.fare_rules s
        ON s.from_zone = r.from_zone AND s.to_zone = r.to_zone AND s.category = r.category
       AND s.timeframe IS NULL AND s.priority > r.priority AND s.valid @> r.valid
    UNION ALL
    SELECT 'expired', r.from_zone, r.to_zone, r.category, r.rule_id,
           format('valid %s ended before %s', r.valid,
                  (now() AT TIME ZONE coalesce(current_setting('faregate.timezone', true), 'UTC'))::date)
      FROM faregate.fare_rules r
     WHERE NOT upper_inf(r.valid)
       AND upper(r.valid) <= (now() AT TIME ZONE coalesce(current_setting('faregate.timezone', true), 'UTC'))::date
    UNION ALL
    SELECT 'validity gap', g.from_zone, g.to_zone, g.category, NULL::bigint,
           format('no any-time rule valid on %s', g.gap)
      FROM (SELECT r.from_zone, r.to_zone, r.category,
                   unnest(datemultirange(daterange(NULL, NULL)) - range_agg(r.valid)) AS gap
              FROM faregate.fare_rules r
             WHERE r.timeframe IS NULL
             GROUP BY r.from_zone, r.to_zone, r.category) g
     WHERE NOT lower_inf(g.gap)
  ) findings
 ORDER BY problem, from_zone, to_zone, category, rule_id;
RESET search_path;
