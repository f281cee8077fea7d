-- Per-connection set-up, run before the first uow or stream on every new
-- connection.  The stage tables mirror the field order of the writer's
-- COPYs (sink/writer.c).
DEALLOCATE ALL;
CREATE TEMP TABLE IF NOT EXISTS stage_value (unit text, period text,
  indicator text, value numeric, version bigint, collector text, batch_id text)
  ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_reject (collector text, source text,
  batch_id text, line int, unit text, period text, indicator text, raw text,
  reason text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_agg (unit text, level text, period text,
  indicator text, value numeric, numerator numeric, denominator numeric,
  n_reporting int, min float8, max float8, mean float8, cv float8,
  dimension text, category text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_first (unit text, period text)
  ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_violation (ord bigint, unit text,
  period text, rule text, severity text, left_value numeric, right_value numeric)
  ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_note (ord bigint, unit text, period text,
  rule text, note text, collector text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_review (ord bigint, kind text, unit text,
  period text, comment text, at bigint, collector text, batch_id text)
  ON COMMIT DELETE ROWS
