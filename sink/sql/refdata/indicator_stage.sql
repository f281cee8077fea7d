CREATE TEMP TABLE stage_indicator (code text, name_zh text,
  name_en text, unit text, kind text, numerator text, denominator text,
  multiplier numeric, decimals int) ON COMMIT DROP
