INSERT INTO edustat.agg_breakdown (unit, level, period, indicator, dimension, category,
  value, numerator, denominator, n_reporting, min, max, mean, cv)
SELECT unit, level, period, indicator, dimension, category, value, numerator,
  denominator, n_reporting, min, max, mean, cv FROM pg_temp.stage_agg
 WHERE dimension IS NOT NULL
ON CONFLICT (unit, period, indicator, dimension, category) DO UPDATE SET
  level = EXCLUDED.level, value = EXCLUDED.value, numerator = EXCLUDED.numerator,
  denominator = EXCLUDED.denominator, n_reporting = EXCLUDED.n_reporting,
  min = EXCLUDED.min, max = EXCLUDED.max, mean = EXCLUDED.mean, cv = EXCLUDED.cv,
  updated_at = now()
