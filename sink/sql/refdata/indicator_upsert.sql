INSERT INTO edustat.indicator (code, name_zh, name_en, unit, kind,
  numerator, denominator, multiplier, decimals)
SELECT code, name_zh, name_en, unit, kind, numerator, denominator,
  multiplier, decimals FROM pg_temp.stage_indicator
ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh,
  name_en = EXCLUDED.name_en, unit = EXCLUDED.unit,
  kind = EXCLUDED.kind, numerator = EXCLUDED.numerator,
  denominator = EXCLUDED.denominator,
  multiplier = EXCLUDED.multiplier, decimals = EXCLUDED.decimals,
  loaded_at = now()
