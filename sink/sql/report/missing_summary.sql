-- edustat-report missing: the completeness of period $1 for unit $2 and
-- each unit with children below it, the unit first.
SELECT o.code, o.name, c.expected, c.reported, c.reported_on_time, c.rate, c.due,
       c.partial
  FROM edustat.completeness c
  JOIN edustat.orgunit o ON o.code = c.unit
  JOIN edustat.orgunit_closure k ON k.unit = c.unit AND k.ancestor = $2
 WHERE c.period = $1 AND c.stage IS NULL
 ORDER BY k.distance, o.code
