-- The indicator catalogue as stored, in the columns of indicators.csv, so
-- the check parses the rules' expressions against what the sink loaded.
COPY (SELECT code, coalesce(name_zh, ''), coalesce(name_en, ''), coalesce(unit, ''), kind,
             coalesce(numerator, ''), coalesce(denominator, ''),
             CASE WHEN kind = 'ratio' THEN trim_scale(multiplier)::text ELSE '' END,
             coalesce(decimals::text, '')
        FROM edustat.indicator ORDER BY code)
  TO STDOUT (FORMAT csv, HEADER false)
