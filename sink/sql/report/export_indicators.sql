-- edustat-report export: the indicators with a value at or below unit $1
-- in period $2 (a row in agg_value), counts first, then amounts, then
-- ratios, each by code; decimals is what a cell shows.
SELECT i.code, coalesce(nullif(i.name_zh, ''), i.code), coalesce(i.decimals, 0)
  FROM edustat.indicator i
 WHERE EXISTS (SELECT 1 FROM edustat.agg_value a
                WHERE a.unit = $1 AND a.period = $2 AND a.indicator = i.code)
 ORDER BY CASE i.kind WHEN 'count' THEN 0 WHEN 'amount' THEN 1 ELSE 2 END, i.code
