CREATE TABLE edustat.form (
  stage text NOT NULL,
  indicator text NOT NULL,
  line int NOT NULL,
  PRIMARY KEY (stage, indicator)
);
CREATE VIEW edustat.form_owed AS
SELECT s.code AS school, s.name, s.stage, p.period, f.indicator, i.name_zh,
       EXISTS (SELECT 1 FROM edustat.unit_value v
                WHERE v.unit = s.code AND v.period = p.period) AS partial
  FROM edustat.orgunit s
  JOIN edustat.form f ON f.stage = s.stage
  JOIN edustat.indicator i ON i.code = f.indicator
  CROSS JOIN edustat.report_period p
 WHERE s.is_leaf AND s.current
   AND NOT EXISTS (SELECT 1 FROM edustat.unit_value v
                    WHERE v.unit = s.code AND v.period = p.period
                      AND v.indicator = f.indicator);
CREATE OR REPLACE VIEW edustat.completeness AS
WITH school AS (
  SELECT c.ancestor AS unit, p.period, p.due, s.code, s.name, s.stage,
         EXISTS (SELECT 1 FROM edustat.unit_value v
                  WHERE v.unit = s.code AND v.period = p.period) AS stored,
         EXISTS (SELECT 1 FROM edustat.form f
                  WHERE f.stage = s.stage
                    AND NOT EXISTS (SELECT 1 FROM edustat.unit_value v
                                     WHERE v.unit = s.code AND v.period = p.period
                                       AND v.indicator = f.indicator)) AS owes,
         coalesce(f.first_at < (p.due + 1)::timestamptz, false) AS on_time
    FROM edustat.orgunit_closure c
    JOIN edustat.orgunit s ON s.code = c.unit AND s.is_leaf
    CROSS JOIN edustat.report_period p
    LEFT JOIN edustat.first_report f ON f.unit = s.code AND f.period = p.period
   WHERE c.distance > 0
)
SELECT school.unit, u.level, school.period, school.due, school.stage,
       count(*) AS expected,
       count(*) FILTER (WHERE stored AND NOT owes) AS reported,
       count(*) FILTER (WHERE stored AND NOT owes AND on_time) AS reported_on_time,
       round(100.0 * count(*) FILTER (WHERE stored AND NOT owes) / count(*), 2) AS rate,
       coalesce(string_agg(school.code || ' ' || school.name, '; '
                           ORDER BY school.code) FILTER (WHERE NOT stored), '') AS missing,
       count(*) FILTER (WHERE stored AND owes) AS partial
  FROM school
  JOIN edustat.orgunit u ON u.code = school.unit
 GROUP BY GROUPING SETS ((school.unit, u.level, school.period, school.due),
                         (school.unit, u.level, school.period, school.due, school.stage))
HAVING GROUPING(school.stage) = 1 OR school.stage IS NOT NULL;
COMMENT ON TABLE edustat.form IS '填报表. From forms.csv: the indicators each stage''s schools report. Empty without the file.';
COMMENT ON COLUMN edustat.form.stage IS '学段. A stage of orgunits.csv.';
COMMENT ON COLUMN edustat.form.indicator IS '指标代码. A count or amount its schools report.';
COMMENT ON COLUMN edustat.form.line IS '行号. Line of forms.csv.';
COMMENT ON VIEW edustat.form_owed IS '欠报指标. Per current school with a form, period of periods.csv and indicator of its stage''s form: the ones it stores no value for.';
COMMENT ON COLUMN edustat.form_owed.school IS '学校代码. The school.';
COMMENT ON COLUMN edustat.form_owed.name IS '学校名称. Its name.';
COMMENT ON COLUMN edustat.form_owed.stage IS '学段. Its stage.';
COMMENT ON COLUMN edustat.form_owed.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.form_owed.indicator IS '指标代码. The indicator still owed.';
COMMENT ON COLUMN edustat.form_owed.name_zh IS '指标名称. Its Chinese name.';
COMMENT ON COLUMN edustat.form_owed.partial IS '部分上报. true when the school stores some value for the period (it is partial), false when none.';
COMMENT ON VIEW edustat.completeness IS '上报完整性. Per unit with children, period of periods.csv and stage (NULL = all): the schools expected, reported (every indicator of its form), partial, reported on time, and the missing ones.';
COMMENT ON COLUMN edustat.completeness.reported IS '已报学校数. Schools storing every indicator of their stage''s form (forms.csv) for the period; without a form, any stored value.';
COMMENT ON COLUMN edustat.completeness.reported_on_time IS '按时上报学校数. Reported schools whose first value was committed by the end of the due date.';
COMMENT ON COLUMN edustat.completeness.rate IS '上报率(%). 100 × reported ÷ expected, 2 decimals.';
COMMENT ON COLUMN edustat.completeness.missing IS '未报学校. "code name; ..." of the schools with no stored value for the period, by code; empty when none.';
COMMENT ON COLUMN edustat.completeness.partial IS '部分上报学校数. Schools storing some but not every indicator of their stage''s form; 0 without forms.csv.';
