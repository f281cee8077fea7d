-- edustat-report bulletin: the unit $1's ratios given in % over every
-- stored period of the kind of $2 up to it (years, halves, quarters or
-- months), for the line chart; rounded as the bulletin prints them.
SELECT a.period, a.indicator, round(a.value, coalesce(i.decimals, 0))::text,
       a.value::float8
  FROM edustat.agg_value a
  JOIN edustat.indicator i ON i.code = a.indicator AND i.kind = 'ratio' AND i.unit = '%'
 WHERE a.unit = $1 AND a.value IS NOT NULL
   AND regexp_replace(a.period, '[0-9]', '9', 'g') = regexp_replace($2, '[0-9]', '9', 'g')
   AND a.period <= $2
 ORDER BY a.period, a.indicator
