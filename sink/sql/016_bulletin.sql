CREATE OR REPLACE FUNCTION edustat.period_previous_year(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT edustat.prev_year_period(p)
$$;
CREATE OR REPLACE VIEW edustat.agg_change AS
SELECT a.unit, a.level, a.period, a.indicator, a.value,
       prev.period AS prev_period, prev.value AS prev_value,
       a.value - prev.value AS change,
       100 * (a.value - prev.value) / nullif(prev.value, 0) AS change_pct,
       CASE WHEN i.kind = 'ratio' AND i.unit = '%' THEN a.value - prev.value END AS change_pp
  FROM edustat.agg_value a
  JOIN edustat.agg_value prev ON prev.unit = a.unit AND prev.indicator = a.indicator
   AND prev.period = edustat.prev_year_period(a.period)
  JOIN edustat.indicator i ON i.code = a.indicator;
COMMENT ON FUNCTION edustat.period_previous_year(text) IS '上年同期. An alias of edustat.prev_year_period, kept for the queries written against it: the same kind of period one year earlier, NULL for text that is no period.';
