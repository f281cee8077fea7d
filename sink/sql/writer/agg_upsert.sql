INSERT INTO edustat.agg_rollup (unit, level, period, indicator, value, numerator,
  denominator, n_reporting, min, max, mean, cv)
SELECT unit, level, period, indicator, value, numerator, denominator, n_reporting,
  min, max, mean, cv FROM pg_temp.stage_agg WHERE dimension IS NULL
ON CONFLICT (unit, period, indicator) DO UPDATE SET level = EXCLUDED.level,
  value = EXCLUDED.value, numerator = EXCLUDED.numerator,
  denominator = EXCLUDED.denominator, n_reporting = EXCLUDED.n_reporting,
  min = EXCLUDED.min, max = EXCLUDED.max, mean = EXCLUDED.mean, cv = EXCLUDED.cv,
  updated_at = now()
