-- edustat-report bulletin: the unit $1 (a current unit), and whether
-- period $2 has any value at all.
SELECT u.code, u.name, u.level, u.is_leaf,
       EXISTS (SELECT 1 FROM edustat.agg_value a WHERE a.period = $2) AS has_period
  FROM edustat.orgunit u
 WHERE u.code = $1 AND u.current
