-- edustat-report bulletin: every agg_value of the unit $1 and of the
-- current units one level below it in period $2, with the same period a
-- year earlier (agg_change).  Texts as the bulletin prints them: a count
-- or amount exact, a ratio rounded to its indicator's decimals (half away
-- from zero); the change of a count or amount exact and in % to 2
-- decimals (none when the previous value is 0), the change of a ratio
-- rounded, and in percentage points for a ratio in %.  A ratio has a
-- previous year only when its numerator was reported then: agg_value
-- counts a missing numerator as 0, and a year that reported pupils but no
-- floor area has no 生均面积 to compare with.  The float is for
-- chart geometry only.  Rows: the unit first, then its children by code.
SELECT u.code, u.name, k.distance = 0 AS self, a.indicator,
       CASE WHEN i.kind = 'ratio' THEN round(a.value, coalesce(i.decimals, 0))
            ELSE a.value END::text AS value,
       CASE WHEN i.kind = 'ratio' THEN round(c.prev_value, coalesce(i.decimals, 0))
            ELSE c.prev_value END::text AS previous,
       CASE WHEN i.kind = 'ratio' THEN round(c.change, coalesce(i.decimals, 0))
            ELSE c.change END::text AS change,
       CASE WHEN i.kind <> 'ratio' THEN round(c.change_pct, 2) END::text AS change_pct,
       round(c.change_pp, coalesce(i.decimals, 0))::text AS points,
       a.value::float8 AS geometry
  FROM edustat.orgunit_closure k
  JOIN edustat.orgunit u ON u.code = k.unit AND u.current
  JOIN edustat.agg_value a ON a.unit = u.code AND a.period = $2
  JOIN edustat.indicator i ON i.code = a.indicator
  LEFT JOIN edustat.agg_change c ON c.unit = a.unit AND c.period = a.period
   AND c.indicator = a.indicator
   AND (i.kind <> 'ratio' OR EXISTS (
        SELECT 1 FROM edustat.agg_value n
         WHERE n.unit = c.unit AND n.period = c.prev_period AND n.indicator = i.numerator))
 WHERE k.ancestor = $1 AND k.distance <= 1
 ORDER BY k.distance, u.code, a.indicator
