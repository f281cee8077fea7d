-- edustat-report bulletin: 优质均衡 for period $2 of every county (level
-- district) at or below $1: each 差异系数 (balance_cv, rounded to 3
-- places) against its limit, and the stage's verdict (balance_status).
SELECT b.unit, u.name, b.stage, b.indicator, round(b.cv::numeric, 3)::text,
       trim_scale(b.cv_max)::text, b.cv_ok, s.passes, b.cv
  FROM edustat.balance_cv b
  JOIN edustat.orgunit_closure k ON k.unit = b.unit AND k.ancestor = $1
  JOIN edustat.orgunit u ON u.code = b.unit AND u.current AND u.level = 'district'
  LEFT JOIN edustat.balance_status s ON s.standard = b.standard AND s.unit = b.unit
   AND s.period = b.period AND s.stage = b.stage
 WHERE b.period = $2
 ORDER BY b.unit, b.stage DESC, b.indicator
