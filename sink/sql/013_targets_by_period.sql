ALTER TABLE edustat.target
  ADD COLUMN period_from text,
  ADD COLUMN period_to text,
  ADD COLUMN baseline_period text,
  ADD COLUMN baseline numeric;
CREATE FUNCTION edustat.period_year(p text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT left(p, 4)::int
$$;
CREATE FUNCTION edustat.period_first_month(p text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT left(p, 4)::int * 12 + CASE
         WHEN length(p) = 4 THEN 0
         WHEN substr(p, 5, 1) = 'S' THEN (substr(p, 6)::int - 1) * 6
         WHEN substr(p, 5, 1) = 'Q' THEN (substr(p, 6)::int - 1) * 3
         ELSE substr(p, 5)::int - 1 END
$$;
CREATE FUNCTION edustat.period_last_month(p text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT left(p, 4)::int * 12 + CASE
         WHEN length(p) = 4 THEN 11
         WHEN substr(p, 5, 1) = 'S' THEN substr(p, 6)::int * 6 - 1
         WHEN substr(p, 5, 1) = 'Q' THEN substr(p, 6)::int * 3 - 1
         ELSE substr(p, 5)::int - 1 END
$$;
CREATE FUNCTION edustat.period_in_force(p text, period_from text, period_to text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT (period_from IS NULL
        OR edustat.period_year(p) > edustat.period_year(period_from)
        OR (edustat.period_year(p) = edustat.period_year(period_from)
            AND (length(p) = 4 OR length(period_from) = 4
                 OR edustat.period_first_month(p) >= edustat.period_first_month(period_from))))
   AND (period_to IS NULL
        OR edustat.period_year(p) < edustat.period_year(period_to)
        OR (edustat.period_year(p) = edustat.period_year(period_to)
            AND (length(p) = 4 OR length(period_to) = 4
                 OR edustat.period_last_month(p) <= edustat.period_last_month(period_to))))
$$;
CREATE FUNCTION edustat.period_previous_year(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT (left(p, 4)::int - 1)::text || substr(p, 5)
$$;
CREATE FUNCTION edustat.periods_between(first_period text, last_period text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT p
  FROM generate_series(edustat.period_year(first_period), edustat.period_year(last_period)) y,
       LATERAL unnest(CASE
         WHEN length(last_period) = 4 THEN ARRAY[y::text]
         WHEN substr(last_period, 5, 1) = 'S' THEN ARRAY[y || 'S1', y || 'S2']
         WHEN substr(last_period, 5, 1) = 'Q' THEN ARRAY[y || 'Q1', y || 'Q2', y || 'Q3', y || 'Q4']
         ELSE ARRAY(SELECT y || lpad(m::text, 2, '0') FROM generate_series(1, 12) m) END) p
 WHERE edustat.period_last_month(p) BETWEEN edustat.period_last_month(first_period)
                                        AND edustat.period_last_month(last_period)
 ORDER BY edustat.period_last_month(p)
$$;
CREATE VIEW edustat.target_unit AS
SELECT t.line, u.code AS unit, u.level, u.is_leaf
  FROM edustat.target t
  JOIN edustat.orgunit_closure self ON self.distance = 0
   AND (t.unit IS NULL OR self.unit = t.unit)
  JOIN edustat.orgunit u ON u.code = self.unit AND u.level = t.level
 WHERE t.stage IS NULL
    OR (u.is_leaf AND u.stage = t.stage)
    OR (NOT u.is_leaf AND EXISTS (
        SELECT 1 FROM edustat.orgunit_closure c
          JOIN edustat.orgunit s ON s.code = c.unit
         WHERE c.ancestor = u.code AND c.distance > 0
           AND s.is_leaf AND s.stage = t.stage));
CREATE FUNCTION edustat.target_actual(unit text, is_leaf boolean, period text, indicator text,
                                      stage text) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT a.value FROM edustat.agg_value a
 WHERE (target_actual.stage IS NULL OR target_actual.is_leaf)
   AND a.unit = target_actual.unit AND a.period = target_actual.period
   AND a.indicator = target_actual.indicator
UNION ALL
SELECT b.value FROM edustat.agg_breakdown b
 WHERE target_actual.stage IS NOT NULL AND NOT target_actual.is_leaf
   AND b.unit = target_actual.unit AND b.period = target_actual.period
   AND b.indicator = target_actual.indicator
   AND b.dimension = 'stage' AND b.category = target_actual.stage
$$;
CREATE OR REPLACE VIEW edustat.target_status AS
SELECT tu.unit, tu.level, p.period, t.indicator, t.stage, v.value,
       t.op, t.value AS target,
       CASE t.op WHEN '>=' THEN v.value >= t.value
                 WHEN '<=' THEN v.value <= t.value
                 WHEN '=' THEN v.value = t.value
                 WHEN '>' THEN v.value > t.value
                 WHEN '<' THEN v.value < t.value END AS met,
       v.value - t.value AS gap,
       t.source,
       t.period_from, t.period_to, t.line
  FROM edustat.target t
  JOIN edustat.target_unit tu ON tu.line = t.line
  CROSS JOIN edustat.known_period p
  CROSS JOIN LATERAL (
        SELECT edustat.target_actual(tu.unit, tu.is_leaf, p.period, t.indicator, t.stage)
                 AS value) v
 WHERE edustat.period_in_force(p.period, t.period_from, t.period_to);
CREATE VIEW edustat.target_path AS
SELECT tu.unit, tu.level, t.indicator, t.stage, t.op, t.value AS target,
       t.baseline_period, base.value AS baseline, t.period_to AS target_period,
       p.period, path.expected, v.value,
       CASE WHEN path.upward THEN v.value >= path.expected
            ELSE v.value <= path.expected END AS on_track,
       t.source, t.line
  FROM edustat.target t
  JOIN edustat.target_unit tu ON tu.line = t.line
  CROSS JOIN LATERAL (
        SELECT b.period FROM edustat.periods_between(t.baseline_period, t.period_to) b(period)
        UNION
        SELECT k.period FROM edustat.known_period k
         WHERE edustat.period_last_month(k.period)
               BETWEEN edustat.period_last_month(t.baseline_period)
                   AND edustat.period_last_month(t.period_to)) p
  CROSS JOIN LATERAL (
        SELECT coalesce(t.baseline,
                        edustat.target_actual(tu.unit, tu.is_leaf, t.baseline_period,
                                              t.indicator, t.stage)) AS value) base
  CROSS JOIN LATERAL (
        SELECT edustat.target_actual(tu.unit, tu.is_leaf, p.period, t.indicator, t.stage)
                 AS value) v
  CROSS JOIN LATERAL (
        SELECT base.value + (t.value - base.value)
                 * (edustat.period_last_month(p.period)
                    - edustat.period_last_month(t.baseline_period))
                 / (edustat.period_last_month(t.period_to)
                    - edustat.period_last_month(t.baseline_period)) AS expected,
               CASE WHEN t.op IN ('>=', '>') THEN true
                    WHEN t.op IN ('<=', '<') THEN false
                    ELSE t.value >= base.value END AS upward) path
 WHERE t.baseline_period IS NOT NULL AND t.period_to IS NOT NULL;
CREATE VIEW edustat.agg_change AS
SELECT a.unit, a.level, a.period, a.indicator, a.value,
       prev.period AS prev_period, prev.value AS prev_value,
       a.value - prev.value AS change,
       100 * (a.value - prev.value) / nullif(prev.value, 0) AS change_pct,
       CASE WHEN i.kind = 'ratio' AND i.unit = '%' THEN a.value - prev.value END AS change_pp
  FROM edustat.agg_value a
  JOIN edustat.agg_value prev ON prev.unit = a.unit AND prev.indicator = a.indicator
   AND prev.period = edustat.period_previous_year(a.period)
  JOIN edustat.indicator i ON i.code = a.indicator;
CREATE OR REPLACE VIEW edustat.value_history AS
SELECT unit, period, indicator, value, version, collector, batch_id, received_at,
       to_timestamp((version >> 10) / 1000000.0) AS submitted_at
  FROM edustat.value_replaced
UNION ALL
SELECT unit, period, indicator, value, version, collector, batch_id, received_at,
       to_timestamp((version >> 10) / 1000000.0) AS submitted_at
  FROM edustat.unit_value;
COMMENT ON COLUMN edustat.target.period_from IS '起始统计期. The first period the target is in force for (years compared first, then the part of the year); NULL: no start.';
COMMENT ON COLUMN edustat.target.period_to IS '截止统计期. The last period the target is in force for; NULL: no end.';
COMMENT ON COLUMN edustat.target.baseline_period IS '基期. The period the plan starts from; with period_to, the target has a path (target_path).';
COMMENT ON COLUMN edustat.target.baseline IS '基期值. The value at baseline_period as the document states it; NULL: the stored value of that period.';
COMMENT ON FUNCTION edustat.period_in_force(text, text, text) IS '目标是否生效. True when period_from <= p <= period_to, comparing years first, then the part of the year (a plain year matches every part of it); a NULL bound is open.';
COMMENT ON FUNCTION edustat.period_previous_year(text) IS '上年同期. The same kind of period one year earlier: 2025 -> 2024, 2025S1 -> 2024S1, 2025Q3 -> 2024Q3, 202503 -> 202403.';
COMMENT ON VIEW edustat.target_unit IS '目标适用单位. Every target (by its line in targets.csv) and every unit it applies to.';
COMMENT ON COLUMN edustat.target_unit.line IS '行号. The target''s line in targets.csv.';
COMMENT ON COLUMN edustat.target_unit.unit IS '单位代码. A unit the target applies to.';
COMMENT ON COLUMN edustat.target_unit.level IS '层级. Its level.';
COMMENT ON COLUMN edustat.target_unit.is_leaf IS '是否末级. True for a school (a unit with no children).';
COMMENT ON COLUMN edustat.target_status.period_from IS '起始统计期. The first period the target is in force for; NULL: no start.';
COMMENT ON COLUMN edustat.target_status.period_to IS '截止统计期. The last period the target is in force for; NULL: no end.';
COMMENT ON COLUMN edustat.target_status.line IS '行号. The target''s line in targets.csv.';
COMMENT ON VIEW edustat.target_status IS '目标达成情况. Every target against every unit it applies to, for every known period the target is in force for.';
COMMENT ON VIEW edustat.target_path IS '目标推进路径. For a target with a baseline period and an end period: the straight line from the baseline value to the target, every period in between against it.';
COMMENT ON COLUMN edustat.target_path.unit IS '单位代码. The unit.';
COMMENT ON COLUMN edustat.target_path.level IS '层级. Its level.';
COMMENT ON COLUMN edustat.target_path.indicator IS '指标代码. The indicator.';
COMMENT ON COLUMN edustat.target_path.stage IS '学段. NULL: all schools; else the stage''s breakdown, or the school''s own value.';
COMMENT ON COLUMN edustat.target_path.op IS '比较符. >=, <=, =, > or <.';
COMMENT ON COLUMN edustat.target_path.target IS '目标值. The target, due at target_period.';
COMMENT ON COLUMN edustat.target_path.baseline_period IS '基期. Where the path starts.';
COMMENT ON COLUMN edustat.target_path.baseline IS '基期值. The value at the baseline period: as targets.csv states it, else the stored one; NULL when neither is known.';
COMMENT ON COLUMN edustat.target_path.target_period IS '目标期. The period by which the target is due (targets.csv to).';
COMMENT ON COLUMN edustat.target_path.period IS '统计期. Every period of the kind of target_period from the baseline to it, and every other period with data in between.';
COMMENT ON COLUMN edustat.target_path.expected IS '路径值. baseline + (target - baseline) x elapsed / total, counting months to the end of each period; exact.';
COMMENT ON COLUMN edustat.target_path.value IS '实际值. The unit''s value for the period; NULL when it has none.';
COMMENT ON COLUMN edustat.target_path.on_track IS '是否在路径上. value at or beyond expected in the target''s direction (>=, >: up; <=, <: down; =: from the baseline toward the target); NULL when either is NULL.';
COMMENT ON COLUMN edustat.target_path.source IS '依据. The document that sets the target.';
COMMENT ON COLUMN edustat.target_path.line IS '行号. The target''s line in targets.csv.';
COMMENT ON VIEW edustat.agg_change IS '同比变化. Every agg_value row with a row for the same unit and indicator one year earlier (2025 -> 2024, 2025S1 -> 2024S1, 2025Q3 -> 2024Q3, 202503 -> 202403), and the change.';
COMMENT ON COLUMN edustat.agg_change.unit IS '单位代码. The unit.';
COMMENT ON COLUMN edustat.agg_change.level IS '层级. Its level.';
COMMENT ON COLUMN edustat.agg_change.period IS '统计期. The period.';
COMMENT ON COLUMN edustat.agg_change.indicator IS '指标代码. The indicator.';
COMMENT ON COLUMN edustat.agg_change.value IS '本期值. agg_value.value of the period.';
COMMENT ON COLUMN edustat.agg_change.prev_period IS '上年同期. The same kind of period one year earlier.';
COMMENT ON COLUMN edustat.agg_change.prev_value IS '上年同期值. agg_value.value of prev_period.';
COMMENT ON COLUMN edustat.agg_change.change IS '增减量. value - prev_value, exact; NULL when either is NULL.';
COMMENT ON COLUMN edustat.agg_change.change_pct IS '增减率(%). 100 x (value - prev_value) / prev_value; NULL when prev_value is 0 or NULL.';
COMMENT ON COLUMN edustat.agg_change.change_pp IS '增减百分点. For a ratio given in % (indicator unit %): value - prev_value in percentage points; NULL for other indicators.';
COMMENT ON COLUMN edustat.value_history.submitted_at IS '提交时间. When the submitter stamped this version (the version is microseconds since 1970 x 1024 plus a count), in the session''s time zone.';
