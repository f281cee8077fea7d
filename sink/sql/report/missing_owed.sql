-- edustat-report missing: every partial school at or below unit $2 for
-- period $1 (one that stores some but not all of its stage's form,
-- forms.csv) and each indicator it still owes, in the form's order.
SELECT w.school, w.name, coalesce(w.stage, ''), coalesce(d.name, ''), w.indicator,
       coalesce(w.name_zh, '')
  FROM edustat.form_owed w
  JOIN edustat.orgunit_closure k ON k.unit = w.school AND k.ancestor = $2
  JOIN edustat.form f ON f.stage = w.stage AND f.indicator = w.indicator
  LEFT JOIN edustat.orgunit_closure dk ON dk.unit = w.school
   AND dk.ancestor IN (SELECT code FROM edustat.orgunit WHERE depth = 1)
  LEFT JOIN edustat.orgunit d ON d.code = dk.ancestor
 WHERE w.period = $1 AND w.partial
 ORDER BY d.name, w.school, f.line
