-- edustat-report missing: every school at or below unit $2 without a value
-- for period $1, with its district.
SELECT s.code, s.name, coalesce(s.stage, ''), coalesce(d.name, '')
  FROM edustat.orgunit_closure k
  JOIN edustat.orgunit s ON s.code = k.unit AND s.is_leaf
  LEFT JOIN edustat.orgunit_closure dk ON dk.unit = s.code
   AND dk.ancestor IN (SELECT code FROM edustat.orgunit WHERE depth = 1)
  LEFT JOIN edustat.orgunit d ON d.code = dk.ancestor
 WHERE k.ancestor = $2
   AND NOT EXISTS (SELECT 1 FROM edustat.unit_value v
                    WHERE v.unit = s.code AND v.period = $1)
 ORDER BY d.name, s.code
