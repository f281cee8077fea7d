CREATE TABLE edustat.rule (
  code text PRIMARY KEY,
  name_zh text NOT NULL,
  left_expr text NOT NULL,
  op text NOT NULL CHECK (op IN ('<=', '<', '>=', '>', '==', '!=')),
  right_expr text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('error', 'warning')),
  scope text NOT NULL,
  stage text,
  missing text NOT NULL CHECK (missing IN ('skip', 'zero')),
  line int NOT NULL
);
CREATE TABLE edustat.rule_violation (
  unit text NOT NULL,
  period text NOT NULL,
  rule text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('error', 'warning')),
  left_value numeric NOT NULL,
  right_value numeric NOT NULL,
  first_seen timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (unit, period, rule)
);
CREATE INDEX rule_violation_rule ON edustat.rule_violation (rule, period);
CREATE TABLE edustat.rule_note (
  unit text NOT NULL,
  period text NOT NULL,
  rule text NOT NULL,
  note text NOT NULL,
  collector text NOT NULL,
  noted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (unit, period, rule)
);
CREATE TABLE edustat.rule_note_history (
  id bigserial PRIMARY KEY,
  unit text NOT NULL,
  period text NOT NULL,
  rule text NOT NULL,
  note text NOT NULL,
  collector text NOT NULL,
  noted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rule_note_history_key ON edustat.rule_note_history (unit, period, rule, id);
CREATE FUNCTION edustat.prev_year_period(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN p ~ '^[0-9]{4}(S[12]|Q[1-4]|0[1-9]|1[0-2])?$'
               AND substr(p, 1, 4)::int BETWEEN 1901 AND 2199
              THEN (substr(p, 1, 4)::int - 1)::text || substr(p, 5) END
$$;
CREATE FUNCTION edustat.rule_div(a numeric, b numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN b <> 0 THEN
    (div(a * 1000000000000, b)
     + CASE WHEN 2 * abs(a * 1000000000000 - div(a * 1000000000000, b) * b) >= abs(b)
            THEN sign(a) * sign(b) ELSE 0 END) * 0.000000000001 END
$$;
CREATE FUNCTION edustat.rule_lim(x numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN abs(x) <= 1000000000000000000000000 THEN x END
$$;
CREATE VIEW edustat.rule_check AS
SELECT v.unit, o.name AS unit_name, d.code AS district, d.name AS district_name,
       v.period, v.rule, r.name_zh AS rule_name, v.severity,
       r.left_expr, r.op, r.right_expr, v.left_value, v.right_value,
       n.note, n.collector AS noted_by, n.noted_at, v.first_seen, v.updated_at
  FROM edustat.rule_violation v
  LEFT JOIN edustat.orgunit o ON o.code = v.unit
  LEFT JOIN edustat.rule r ON r.code = v.rule
  LEFT JOIN edustat.rule_note n ON n.unit = v.unit AND n.period = v.period AND n.rule = v.rule
  LEFT JOIN (edustat.orgunit_closure dc
             JOIN edustat.orgunit d ON d.code = dc.ancestor AND d.level = 'district')
    ON dc.unit = v.unit;
CREATE VIEW edustat.quality AS
WITH per AS (
  SELECT DISTINCT period FROM edustat.rule_violation
), warned AS (
  SELECT v.unit, v.period,
         bool_or(n.unit IS NULL) AS unexplained
    FROM edustat.rule_violation v
    JOIN edustat.orgunit s ON s.code = v.unit AND s.is_leaf
    LEFT JOIN edustat.rule_note n ON n.unit = v.unit AND n.period = v.period AND n.rule = v.rule
   WHERE v.severity = 'warning'
   GROUP BY v.unit, v.period
), lv AS (
  SELECT v.unit, v.period, count(*) AS n
    FROM edustat.rule_violation v
    JOIN edustat.orgunit u ON u.code = v.unit AND NOT u.is_leaf
   GROUP BY v.unit, v.period
)
SELECT u.code AS unit, u.name, u.level, per.period,
       (SELECT count(*) FROM edustat.orgunit_closure c
          JOIN edustat.orgunit s ON s.code = c.unit AND s.is_leaf AND s.current
         WHERE c.ancestor = u.code AND c.distance > 0) AS schools,
       (SELECT count(*) FROM edustat.orgunit_closure c
          JOIN warned w ON w.unit = c.unit AND w.period = per.period
         WHERE c.ancestor = u.code AND c.distance > 0) AS schools_with_warnings,
       (SELECT count(*) FROM edustat.orgunit_closure c
          JOIN warned w ON w.unit = c.unit AND w.period = per.period AND w.unexplained
         WHERE c.ancestor = u.code AND c.distance > 0) AS schools_unexplained,
       (SELECT coalesce(sum(lv.n), 0) FROM edustat.orgunit_closure c
          JOIN lv ON lv.unit = c.unit AND lv.period = per.period
         WHERE c.ancestor = u.code) AS level_violations
  FROM edustat.orgunit u
  CROSS JOIN per
 WHERE u.current AND NOT u.is_leaf;
CREATE VIEW edustat.outlier AS
-- Medians in exact numeric: the middle value, or the mean of the two middle
-- ones (percentile_disc from either end), never a float8 approximation.
WITH x AS (
  SELECT s.code AS school, s.name, d.code AS district, s.stage, v.period, v.indicator,
         v.value
    FROM edustat.unit_value v
    JOIN edustat.indicator i ON i.code = v.indicator AND i.kind IN ('count', 'amount')
    JOIN edustat.orgunit s ON s.code = v.unit AND s.is_leaf AND s.current AND s.stage IS NOT NULL
    JOIN edustat.orgunit_closure dc ON dc.unit = s.code
    JOIN edustat.orgunit d ON d.code = dc.ancestor AND d.level = 'district'
), med AS (
  SELECT district, stage, period, indicator, count(*) AS schools,
         (percentile_disc(0.5) WITHIN GROUP (ORDER BY value)
          + percentile_disc(0.5) WITHIN GROUP (ORDER BY value DESC)) / 2 AS median
    FROM x GROUP BY district, stage, period, indicator
), mad AS (
  SELECT m.district, m.stage, m.period, m.indicator, m.schools, m.median,
         (percentile_disc(0.5) WITHIN GROUP (ORDER BY abs(x.value - m.median))
          + percentile_disc(0.5) WITHIN GROUP (ORDER BY abs(x.value - m.median) DESC)) / 2 AS mad
    FROM med m
    JOIN x USING (district, stage, period, indicator)
   GROUP BY m.district, m.stage, m.period, m.indicator, m.schools, m.median
)
SELECT x.school, x.name, x.district, x.stage, x.period, x.indicator, x.value,
       trim_scale(mad.median) AS median, trim_scale(mad.mad) AS mad, mad.schools,
       ((x.value - mad.median) / (1.4826 * mad.mad))::float8 AS robust_z
  FROM x
  JOIN mad USING (district, stage, period, indicator)
 WHERE mad.mad > 0
   AND abs(x.value - mad.median) > 3 * 1.4826 * mad.mad;
COMMENT ON TABLE edustat.rule IS '审核规则. The validation rules of rules.csv, replaced at every sink start. A rule fails for a unit and period when "left op right" is false.';
COMMENT ON COLUMN edustat.rule.code IS '规则代码. Rule code, e.g. R09.';
COMMENT ON COLUMN edustat.rule.name_zh IS '规则名称. Chinese name, e.g. 在校生数同比增幅不超过30%.';
COMMENT ON COLUMN edustat.rule.left_expr IS '左式. Left-hand expression as written: indicator codes, numbers, + - * / ( ) and prev_year(code).';
COMMENT ON COLUMN edustat.rule.op IS '比较符. One of <= < >= > == !=.';
COMMENT ON COLUMN edustat.rule.right_expr IS '右式. Right-hand expression as written.';
COMMENT ON COLUMN edustat.rule.severity IS '类别. error (逻辑校验: a failing school''s records are refused) or warning (经验校验: stored, shown and explained).';
COMMENT ON COLUMN edustat.rule.scope IS '范围. school (leaf units) or a level label of the org tree (district...): then the rule is checked on that level''s aggregate values.';
COMMENT ON COLUMN edustat.rule.stage IS '学段. School-scoped rules: only schools of this stage; NULL for every stage.';
COMMENT ON COLUMN edustat.rule.missing IS '缺失值处理. skip: a rule with a missing operand is not checked; zero: a missing operand counts as 0.';
COMMENT ON COLUMN edustat.rule.line IS '行号. Line of the rule in rules.csv.';
COMMENT ON TABLE edustat.rule_violation IS '审核结果. One row per (unit, period, rule) that fails now, at every scope; written by the sink with the values it follows from, so it is always a function of the stored values (edustat-sink --check verifies it).';
COMMENT ON COLUMN edustat.rule_violation.unit IS '单位代码. The school, or the unit of a level-scoped rule.';
COMMENT ON COLUMN edustat.rule_violation.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.rule_violation.rule IS '规则代码. The failing rule (edustat.rule.code).';
COMMENT ON COLUMN edustat.rule_violation.severity IS '类别. error or warning, as the rule was when the row was written.';
COMMENT ON COLUMN edustat.rule_violation.left_value IS '左式值. The left-hand side''s value (exact decimal, 12 places at most).';
COMMENT ON COLUMN edustat.rule_violation.right_value IS '右式值. The right-hand side''s value.';
COMMENT ON COLUMN edustat.rule_violation.first_seen IS '首次发现. When the rule first failed for this unit and period (kept while it keeps failing).';
COMMENT ON COLUMN edustat.rule_violation.updated_at IS '更新时间. When the values of this row last changed.';
COMMENT ON TABLE edustat.rule_note IS '审核说明. The current explanation (说明) of a warning, one per (unit, period, rule); a new explanation replaces it.';
COMMENT ON COLUMN edustat.rule_note.unit IS '单位代码. The unit the explanation is about.';
COMMENT ON COLUMN edustat.rule_note.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.rule_note.rule IS '规则代码. The warning rule explained.';
COMMENT ON COLUMN edustat.rule_note.note IS '说明. The explanation as the school or office wrote it.';
COMMENT ON COLUMN edustat.rule_note.collector IS '说明人. The collector (its registered name) that sent the explanation.';
COMMENT ON COLUMN edustat.rule_note.noted_at IS '说明时间. When it was committed.';
COMMENT ON TABLE edustat.rule_note_history IS '审核说明历史. Every explanation ever sent, append-only, in the order committed (id).';
COMMENT ON COLUMN edustat.rule_note_history.id IS '序号. Order of commit.';
COMMENT ON COLUMN edustat.rule_note_history.unit IS '单位代码. The unit the explanation is about.';
COMMENT ON COLUMN edustat.rule_note_history.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.rule_note_history.rule IS '规则代码. The warning rule explained.';
COMMENT ON COLUMN edustat.rule_note_history.note IS '说明. The explanation.';
COMMENT ON COLUMN edustat.rule_note_history.collector IS '说明人. The collector that sent it.';
COMMENT ON COLUMN edustat.rule_note_history.noted_at IS '说明时间. When it was committed.';
COMMENT ON FUNCTION edustat.prev_year_period(text) IS '上年同期. The same kind of period one year earlier: 2025 -> 2024, 2025S1 -> 2024S1, 2025Q3 -> 2024Q3, 202503 -> 202403; NULL for text that is no period (years 1900 to 2199).';
COMMENT ON FUNCTION edustat.rule_div(numeric, numeric) IS '规则除法. a / b rounded to 12 decimal places, half away from zero, as rules compute; NULL when b is 0 or either is NULL.';
COMMENT ON FUNCTION edustat.rule_lim(numeric) IS '规则数值上限. x, or NULL when its magnitude passes 10^24: a rule computing such a value is not checked.';
COMMENT ON VIEW edustat.rule_check IS '审核查询. Every current violation with the unit''s name and district, the rule''s name and text, both sides and the explanation if there is one.';
COMMENT ON COLUMN edustat.rule_check.unit IS '单位代码. The unit that fails the rule.';
COMMENT ON COLUMN edustat.rule_check.unit_name IS '单位名称. Its name.';
COMMENT ON COLUMN edustat.rule_check.district IS '所属区县. Code of its ancestor at level district (itself for a district); NULL above.';
COMMENT ON COLUMN edustat.rule_check.district_name IS '区县名称. That district''s name.';
COMMENT ON COLUMN edustat.rule_check.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.rule_check.rule IS '规则代码. Rule code.';
COMMENT ON COLUMN edustat.rule_check.rule_name IS '规则名称. Rule name; NULL when the rule is no longer in rules.csv.';
COMMENT ON COLUMN edustat.rule_check.severity IS '类别. error or warning.';
COMMENT ON COLUMN edustat.rule_check.left_expr IS '左式. Left-hand expression.';
COMMENT ON COLUMN edustat.rule_check.op IS '比较符. The comparison that fails.';
COMMENT ON COLUMN edustat.rule_check.right_expr IS '右式. Right-hand expression.';
COMMENT ON COLUMN edustat.rule_check.left_value IS '左式值. Left-hand value.';
COMMENT ON COLUMN edustat.rule_check.right_value IS '右式值. Right-hand value.';
COMMENT ON COLUMN edustat.rule_check.note IS '说明. The current explanation; NULL when unexplained.';
COMMENT ON COLUMN edustat.rule_check.noted_by IS '说明人. Collector that sent the explanation.';
COMMENT ON COLUMN edustat.rule_check.noted_at IS '说明时间. When the explanation was committed.';
COMMENT ON COLUMN edustat.rule_check.first_seen IS '首次发现. When the rule first failed here.';
COMMENT ON COLUMN edustat.rule_check.updated_at IS '更新时间. When its values last changed.';
COMMENT ON VIEW edustat.quality IS '数据质量. Per unit with children and period with violations: its schools, those with warnings, those with a warning nobody explained, and the violations of level-scoped rules at or below it.';
COMMENT ON COLUMN edustat.quality.unit IS '单位代码. A unit with children (district, city...).';
COMMENT ON COLUMN edustat.quality.name IS '单位名称. Its name.';
COMMENT ON COLUMN edustat.quality.level IS '层级. Its level label.';
COMMENT ON COLUMN edustat.quality.period IS '统计期. A period with violations anywhere.';
COMMENT ON COLUMN edustat.quality.schools IS '学校数. Current schools (leaves) below it.';
COMMENT ON COLUMN edustat.quality.schools_with_warnings IS '有提示学校数. Schools below with at least one failing warning rule.';
COMMENT ON COLUMN edustat.quality.schools_unexplained IS '未说明学校数. Schools below with at least one failing warning rule that has no explanation.';
COMMENT ON COLUMN edustat.quality.level_violations IS '层级审核未通过数. Violations of units with children (level-scoped rules) at or below it, itself included.';
COMMENT ON VIEW edustat.outlier IS '离群值. A school whose count or amount lies more than 3 scaled MADs from the median of the schools of its stage in its district: robust z = (value - median) / (1.4826 × MAD). Groups with MAD 0 have none.';
COMMENT ON COLUMN edustat.outlier.school IS '学校代码. The school.';
COMMENT ON COLUMN edustat.outlier.name IS '学校名称. Its name.';
COMMENT ON COLUMN edustat.outlier.district IS '所属区县. Its district.';
COMMENT ON COLUMN edustat.outlier.stage IS '学段. Its stage; the comparison group is its district''s schools of this stage.';
COMMENT ON COLUMN edustat.outlier.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.outlier.indicator IS '指标代码. A count or amount indicator.';
COMMENT ON COLUMN edustat.outlier.value IS '数值. The school''s value.';
COMMENT ON COLUMN edustat.outlier.median IS '中位数. Median of the group''s values.';
COMMENT ON COLUMN edustat.outlier.mad IS '绝对中位差. Median absolute deviation from that median (unscaled).';
COMMENT ON COLUMN edustat.outlier.schools IS '组内学校数. Schools in the group that store the indicator.';
COMMENT ON COLUMN edustat.outlier.robust_z IS '稳健Z值. (value - median) / (1.4826 × MAD); beyond ±3 here.';
