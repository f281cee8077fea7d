-- edustat-report bulletin: the targets in force for period $2 (the
-- target_status rows) of the unit $1 and every current unit below it, by
-- the target's line in targets.csv, then unit.  The value is rounded as
-- the bulletin prints it, with 4 more places when the rounding would
-- show a missed target as its own value (a 辍学率 of 0.004 is not 0.00);
-- met is the exact comparison (NULL: no value).
SELECT t.line, t.indicator, coalesce(t.stage, ''), t.op, trim_scale(t.target)::text,
       t.level, coalesce(t.source, ''), t.unit, u.name,
       CASE WHEN i.kind <> 'ratio' THEN t.value
            WHEN NOT t.met AND round(t.value, coalesce(i.decimals, 0)) = t.target
            THEN trim_scale(round(t.value, coalesce(i.decimals, 0) + 4))
            ELSE round(t.value, coalesce(i.decimals, 0)) END::text,
       t.met
  FROM edustat.target_status t
  JOIN edustat.orgunit_closure k ON k.unit = t.unit AND k.ancestor = $1
  JOIN edustat.orgunit u ON u.code = t.unit AND u.current
  JOIN edustat.indicator i ON i.code = t.indicator
 WHERE t.period = $2
 ORDER BY t.line, t.unit
