-- edustat-report export: agg_value of every unit at or below $1 in period
-- $2: a school's own values, and the rolled-up values of the districts and
-- of the unit (what edustat computed, not a spreadsheet's sum).  A ratio's
-- value also rounded to the indicator's decimals, for the CSV.
SELECT a.unit, a.indicator, a.value,
       CASE WHEN i.kind = 'ratio' THEN round(a.value, coalesce(i.decimals, 0)) ELSE a.value END
  FROM edustat.orgunit_closure k
  JOIN edustat.agg_value a ON a.unit = k.unit AND a.period = $2
  JOIN edustat.indicator i ON i.code = a.indicator
 WHERE k.ancestor = $1
