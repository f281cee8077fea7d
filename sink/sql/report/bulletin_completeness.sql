-- edustat-report bulletin: 上报率 for period $2 of the unit $1 and of the
-- units one level below it (completeness, all stages), then the unit's
-- data quality (quality: schools with warnings, with a warning nobody
-- explained) as one more row with distance 2 (zeros when no rule failed
-- anywhere in the period).
SELECT c.unit, u.name, k.distance, c.expected::text, c.reported::text, c.rate::text
  FROM edustat.completeness c
  JOIN edustat.orgunit_closure k ON k.unit = c.unit AND k.ancestor = $1 AND k.distance <= 1
  JOIN edustat.orgunit u ON u.code = c.unit AND u.current
 WHERE c.period = $2 AND c.stage IS NULL
UNION ALL
SELECT $1, '', 2, coalesce(max(q.schools_with_warnings), 0)::text,
       coalesce(max(q.schools_unexplained), 0)::text, ''
  FROM edustat.quality q
 WHERE q.unit = $1 AND q.period = $2
 ORDER BY 3, 1
