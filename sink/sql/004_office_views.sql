CREATE TABLE edustat.orgunit_closure (
  ancestor text NOT NULL,
  unit text NOT NULL,
  distance int NOT NULL,
  PRIMARY KEY (ancestor, unit)
);
CREATE INDEX orgunit_closure_unit ON edustat.orgunit_closure (unit, distance);
CREATE TABLE edustat.target (
  line int PRIMARY KEY,
  indicator text NOT NULL,
  level text NOT NULL,
  unit text,
  stage text,
  op text NOT NULL CHECK (op IN ('>=', '<=', '=', '>', '<')),
  value numeric NOT NULL,
  source text
);
CREATE TABLE edustat.report_period (
  period text PRIMARY KEY,
  opens date NOT NULL,
  due date NOT NULL,
  CHECK (opens <= due)
);
CREATE TABLE edustat.balance_rule (
  standard text NOT NULL,
  stage text NOT NULL,
  indicator text NOT NULL,
  school_min numeric,
  cv_max numeric,
  line int NOT NULL,
  PRIMARY KEY (standard, stage, indicator)
);
CREATE TABLE edustat.first_report (
  unit text NOT NULL,
  period text NOT NULL,
  first_at timestamptz NOT NULL,
  PRIMARY KEY (unit, period)
);
CREATE FUNCTION edustat.first_report_note() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO edustat.first_report AS f (unit, period, first_at)
  SELECT unit, period, min(received_at) FROM new_rows
   WHERE received_at IS NOT NULL
   GROUP BY unit, period
  ON CONFLICT (unit, period) DO UPDATE SET first_at = EXCLUDED.first_at
   WHERE EXCLUDED.first_at < f.first_at;
  RETURN NULL;
END $$;
CREATE TRIGGER value_history_first_report AFTER INSERT ON edustat.value_history
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION edustat.first_report_note();
INSERT INTO edustat.first_report (unit, period, first_at)
SELECT unit, period, min(received_at) FROM edustat.value_history
 WHERE received_at IS NOT NULL
 GROUP BY unit, period;
CREATE VIEW edustat.known_period AS
SELECT period, p.opens, p.due
  FROM edustat.report_period p
  FULL JOIN (SELECT DISTINCT period FROM edustat.agg_rollup) r USING (period);
CREATE VIEW edustat.target_status AS
SELECT u.code AS unit, u.level, p.period, t.indicator, t.stage, v.value,
       t.op, t.value AS target,
       CASE t.op WHEN '>=' THEN v.value >= t.value
                 WHEN '<=' THEN v.value <= t.value
                 WHEN '=' THEN v.value = t.value
                 WHEN '>' THEN v.value > t.value
                 WHEN '<' THEN v.value < t.value END AS met,
       v.value - t.value AS gap,
       t.source
  FROM edustat.target t
  JOIN edustat.orgunit_closure self ON self.distance = 0
   AND (t.unit IS NULL OR self.unit = t.unit)
  JOIN edustat.orgunit u ON u.code = self.unit AND u.level = t.level
  CROSS JOIN edustat.known_period p
  LEFT JOIN LATERAL (
        SELECT a.value FROM edustat.agg_value a
         WHERE (t.stage IS NULL OR u.is_leaf)
           AND a.unit = u.code AND a.period = p.period AND a.indicator = t.indicator
        UNION ALL
        SELECT b.value FROM edustat.agg_breakdown b
         WHERE t.stage IS NOT NULL AND NOT u.is_leaf
           AND b.unit = u.code AND b.period = p.period AND b.indicator = t.indicator
           AND b.dimension = 'stage' AND b.category = t.stage) v ON true
 WHERE t.stage IS NULL
    OR (u.is_leaf AND u.stage = t.stage)
    OR (NOT u.is_leaf AND EXISTS (
        SELECT 1 FROM edustat.orgunit_closure c
          JOIN edustat.orgunit s ON s.code = c.unit
         WHERE c.ancestor = u.code AND c.distance > 0
           AND s.is_leaf AND s.stage = t.stage));
CREATE VIEW edustat.completeness AS
WITH school AS (
  SELECT c.ancestor AS unit, p.period, p.due, s.code, s.name, s.stage,
         EXISTS (SELECT 1 FROM edustat.unit_value v
                  WHERE v.unit = s.code AND v.period = p.period) AS reported,
         coalesce(f.first_at < (p.due + 1)::timestamptz, false) AS on_time
    FROM edustat.orgunit_closure c
    JOIN edustat.orgunit s ON s.code = c.unit AND s.is_leaf
    CROSS JOIN edustat.report_period p
    LEFT JOIN edustat.first_report f ON f.unit = s.code AND f.period = p.period
   WHERE c.distance > 0
)
SELECT school.unit, u.level, school.period, school.due, school.stage,
       count(*) AS expected,
       count(*) FILTER (WHERE reported) AS reported,
       count(*) FILTER (WHERE reported AND on_time) AS reported_on_time,
       round(100.0 * count(*) FILTER (WHERE reported) / count(*), 2) AS rate,
       coalesce(string_agg(school.code || ' ' || school.name, '; '
                           ORDER BY school.code) FILTER (WHERE NOT reported), '') AS missing
  FROM school
  JOIN edustat.orgunit u ON u.code = school.unit
 GROUP BY GROUPING SETS ((school.unit, u.level, school.period, school.due),
                         (school.unit, u.level, school.period, school.due, school.stage))
HAVING GROUPING(school.stage) = 1 OR school.stage IS NOT NULL;
CREATE VIEW edustat.balance_cv AS
SELECT r.standard, u.code AS unit, u.level, p.period, r.stage, r.indicator,
       b.mean, b.cv, r.cv_max, b.cv <= r.cv_max AS cv_ok
  FROM edustat.balance_rule r
  JOIN edustat.orgunit u ON NOT u.is_leaf
  JOIN edustat.orgunit_closure self ON self.unit = u.code AND self.distance = 0
  CROSS JOIN edustat.known_period p
  LEFT JOIN edustat.agg_breakdown b ON b.unit = u.code AND b.period = p.period
   AND b.indicator = r.indicator AND b.dimension = 'stage' AND b.category = r.stage
 WHERE r.cv_max IS NOT NULL
   AND EXISTS (SELECT 1 FROM edustat.orgunit_closure c
                 JOIN edustat.orgunit s ON s.code = c.unit
                WHERE c.ancestor = u.code AND c.distance > 0
                  AND s.is_leaf AND s.stage = r.stage);
CREATE VIEW edustat.balance_school AS
WITH val AS (
  SELECT r.standard, s.code AS school, s.name, s.stage, p.period, r.indicator,
         r.school_min, i.decimals,
         CASE WHEN a.mean IS NOT NULL THEN a.value END AS value
    FROM edustat.balance_rule r
    JOIN edustat.orgunit s ON s.is_leaf AND s.stage = r.stage
    JOIN edustat.orgunit_closure self ON self.unit = s.code AND self.distance = 0
    CROSS JOIN edustat.known_period p
    LEFT JOIN edustat.indicator i ON i.code = r.indicator
    LEFT JOIN edustat.agg_value a ON a.unit = s.code AND a.period = p.period
     AND a.indicator = r.indicator
   WHERE r.school_min IS NOT NULL
), chk AS (
  SELECT val.*,
         coalesce(value >= school_min, false) AS met,
         coalesce(value >= 0.85 * school_min, false) AS above_85pct
    FROM val
)
SELECT chk.standard, chk.school, chk.name, d.code AS district, chk.period, chk.stage,
       count(*) AS n_indicators,
       count(*) FILTER (WHERE met) AS n_met,
       coalesce(string_agg(
         CASE WHEN value IS NULL THEN indicator || ' no value'
              ELSE indicator || ' ' || trim_scale(round(value, coalesce(decimals, 2)))
                   || ' < ' || trim_scale(school_min)
                   || CASE WHEN above_85pct THEN '' ELSE ' (below 85%)' END
         END, '; ' ORDER BY indicator) FILTER (WHERE NOT met), '') AS missed,
       bool_and(met OR above_85pct) AS all_above_85pct,
       count(*) FILTER (WHERE met) >= count(*) - 1 AND bool_and(met OR above_85pct)
         AS passes
  FROM chk
  LEFT JOIN (edustat.orgunit_closure dc
             JOIN edustat.orgunit d ON d.code = dc.ancestor AND d.depth = 1)
    ON dc.unit = chk.school
 GROUP BY chk.standard, chk.school, chk.name, d.code, chk.period, chk.stage;
CREATE VIEW edustat.balance_status AS
WITH cv AS (
  SELECT standard, unit, period, stage,
         count(*) AS n_indicators,
         count(*) FILTER (WHERE cv_ok) AS n_cv_ok,
         coalesce(string_agg(indicator || CASE WHEN cv IS NULL THEN ' no CV'
                                          ELSE ' ' || round(cv::numeric, 3) || ' > ' || cv_max
                                          END, '; ' ORDER BY indicator)
                  FILTER (WHERE cv_ok IS NOT TRUE), '') AS cv_failed
    FROM edustat.balance_cv
   GROUP BY standard, unit, period, stage
), sch AS (
  SELECT s.standard, c.ancestor AS unit, s.period, s.stage,
         count(*) AS schools,
         count(*) FILTER (WHERE s.passes) AS schools_passing
    FROM edustat.balance_school s
    JOIN edustat.orgunit_closure c ON c.unit = s.school AND c.distance > 0
   GROUP BY s.standard, c.ancestor, s.period, s.stage
)
SELECT coalesce(cv.standard, sch.standard) AS standard,
       u.code AS unit, u.level,
       coalesce(cv.period, sch.period) AS period,
       coalesce(cv.stage, sch.stage) AS stage,
       coalesce(cv.n_indicators, 0) AS n_indicators,
       coalesce(cv.n_cv_ok, 0) AS n_cv_ok,
       coalesce(cv.cv_failed, '') AS cv_failed,
       coalesce(sch.schools, 0) AS schools,
       coalesce(sch.schools_passing, 0) AS schools_passing,
       coalesce(cv.n_cv_ok = cv.n_indicators, true)
         AND coalesce(sch.schools_passing = sch.schools, true) AS passes
  FROM cv
  FULL JOIN sch ON sch.standard = cv.standard AND sch.unit = cv.unit
   AND sch.period = cv.period AND sch.stage = cv.stage
  JOIN edustat.orgunit u ON u.code = coalesce(cv.unit, sch.unit);
COMMENT ON TABLE edustat.schema_version IS '数据库结构版本. One row per migration edustat-sink has applied; the sink refuses a database newer than it knows.';
COMMENT ON COLUMN edustat.schema_version.version IS '版本号. Migration number.';
COMMENT ON COLUMN edustat.schema_version.applied_at IS '执行时间. When the migration was applied.';
COMMENT ON TABLE edustat.orgunit IS '组织机构. The org-unit tree from orgunits.csv: city, districts, towns, schools. Upserted at every sink start; rows are never deleted, so old values still join to a name (orgunit_closure holds only the current tree).';
COMMENT ON COLUMN edustat.orgunit.code IS '单位代码. Unit code, e.g. 211100 (盘锦市) or a 10-digit 学校标识码.';
COMMENT ON COLUMN edustat.orgunit.parent IS '上级单位代码. Code of the parent unit; NULL only for the root.';
COMMENT ON COLUMN edustat.orgunit.level IS '层级. Level label from the config: city, district, town, school...';
COMMENT ON COLUMN edustat.orgunit.depth IS '层深. Distance from the root: city 0, district 1, ...';
COMMENT ON COLUMN edustat.orgunit.name IS '单位名称. Name.';
COMMENT ON COLUMN edustat.orgunit.stage IS '学段. Schools: kindergarten 幼儿园, primary 小学, junior 初中, senior 高中; NULL when not given.';
COMMENT ON COLUMN edustat.orgunit.locality IS '城乡类别. Schools: urban 城区, town 镇区, rural 乡村; NULL when not given.';
COMMENT ON COLUMN edustat.orgunit.ownership IS '办学性质. Schools: public 公办, private 民办; NULL when not given.';
COMMENT ON COLUMN edustat.orgunit.is_leaf IS '是否末级单位. True when no unit has this one as its parent (a school).';
COMMENT ON COLUMN edustat.orgunit.loaded_at IS '载入时间. When the sink last loaded this row.';
COMMENT ON TABLE edustat.indicator IS '指标目录. The indicator catalogue from indicators.csv. Upserted at every sink start; rows are never deleted.';
COMMENT ON COLUMN edustat.indicator.code IS '指标代码. Indicator code, e.g. pupils, pupil_teacher_ratio.';
COMMENT ON COLUMN edustat.indicator.name_zh IS '中文名称. Chinese name, e.g. 生师比.';
COMMENT ON COLUMN edustat.indicator.name_en IS '英文名称. English name.';
COMMENT ON COLUMN edustat.indicator.unit IS '计量单位. Unit of measure: 人, m², 元, %...';
COMMENT ON COLUMN edustat.indicator.kind IS '类型. count (whole number), amount (decimal) or ratio (derived, never submitted).';
COMMENT ON COLUMN edustat.indicator.numerator IS '分子指标. Ratios: the numerator indicator; else NULL.';
COMMENT ON COLUMN edustat.indicator.denominator IS '分母指标. Ratios: the denominator indicator; else NULL.';
COMMENT ON COLUMN edustat.indicator.multiplier IS '倍数. Ratios: value = multiplier × numerator ÷ denominator (100 for a percentage); 1 for other kinds.';
COMMENT ON COLUMN edustat.indicator.decimals IS '小数位数. Amounts: most fraction digits a value may have; ratios: digits to show; counts: 0.';
COMMENT ON COLUMN edustat.indicator.loaded_at IS '载入时间. When the sink last loaded this row.';
COMMENT ON TABLE edustat.unit_value IS '最新上报值. The latest accepted value of every (unit, period, indicator) any unit submitted; a later submission replaces it.';
COMMENT ON COLUMN edustat.unit_value.unit IS '单位代码. The submitting org unit.';
COMMENT ON COLUMN edustat.unit_value.period IS '统计期. Period: 2024, 2025S1, 2025Q3, 202509.';
COMMENT ON COLUMN edustat.unit_value.indicator IS '指标代码. A count or amount indicator.';
COMMENT ON COLUMN edustat.unit_value.value IS '数值. The value as submitted (exact decimal).';
COMMENT ON COLUMN edustat.unit_value.version IS '版本. The submission version (collector start time in µs × 1024 + row index); higher wins.';
COMMENT ON COLUMN edustat.unit_value.received_at IS '入库时间. When this version was committed.';
COMMENT ON TABLE edustat.value_history IS '上报历史. Every accepted version of every key, append-only: the audit trail.';
COMMENT ON COLUMN edustat.value_history.unit IS '单位代码. The submitting org unit.';
COMMENT ON COLUMN edustat.value_history.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.value_history.indicator IS '指标代码. Indicator.';
COMMENT ON COLUMN edustat.value_history.value IS '数值. The value of this version.';
COMMENT ON COLUMN edustat.value_history.version IS '版本. As in unit_value.';
COMMENT ON COLUMN edustat.value_history.collector IS '采集端. The collector that submitted it.';
COMMENT ON COLUMN edustat.value_history.batch_id IS '批次. The batch it came in.';
COMMENT ON COLUMN edustat.value_history.received_at IS '入库时间. When it was committed.';
COMMENT ON TABLE edustat.rejected IS '被拒记录. Every refused record with its reason.';
COMMENT ON COLUMN edustat.rejected.id IS '序号. Arrival order.';
COMMENT ON COLUMN edustat.rejected.received_at IS '入库时间. When it was committed.';
COMMENT ON COLUMN edustat.rejected.collector IS '采集端. The submitting collector.';
COMMENT ON COLUMN edustat.rejected.source IS '文件名. The file as given to edustat-collector submit; NULL for values refused by PostgreSQL.';
COMMENT ON COLUMN edustat.rejected.batch_id IS '批次. The batch.';
COMMENT ON COLUMN edustat.rejected.line IS '行号. CSV line the row starts on; NULL for values refused by PostgreSQL.';
COMMENT ON COLUMN edustat.rejected.unit IS '单位代码. As far as it could be read.';
COMMENT ON COLUMN edustat.rejected.period IS '统计期. As far as it could be read.';
COMMENT ON COLUMN edustat.rejected.indicator IS '指标代码. As far as it could be read.';
COMMENT ON COLUMN edustat.rejected.raw IS '原始内容. The value cell, or the whole row when it could not be split.';
COMMENT ON COLUMN edustat.rejected.reason IS '拒绝原因. Why, e.g. unknown unit 1121999999.';
COMMENT ON TABLE edustat.agg_rollup IS '汇总值(存储). Stored aggregates of units with children; read agg_value instead, which adds the schools.';
COMMENT ON TABLE edustat.sink_state IS '写入状态. Last committed uow sequence per aggregator (replay protection).';
COMMENT ON COLUMN edustat.sink_state.aggregator IS '汇总器. The aggregator id.';
COMMENT ON COLUMN edustat.sink_state.last_seq IS '最后序号. Sequence of the last uow committed from it.';
COMMENT ON COLUMN edustat.sink_state.updated_at IS '更新时间. When.';
COMMENT ON VIEW edustat.agg_value IS '汇总值. One row per org unit (schools included), period and indicator with any value at or below the unit. Counts/amounts are sums; ratios are multiplier × Σnumerator ÷ Σdenominator.';
COMMENT ON TABLE edustat.agg_breakdown IS '分类汇总. Aggregates of units with children per category of their schools (stage 学段, locality 城乡, ownership 办学性质): agg_value''s columns over the schools of the category only.';
COMMENT ON TABLE edustat.orgunit_closure IS '上下级关系. Every (ancestor, unit) pair of the current org tree, self included (distance 0); reloaded at every sink start.';
COMMENT ON COLUMN edustat.orgunit_closure.ancestor IS '上级单位代码. The unit itself or one of its ancestors.';
COMMENT ON COLUMN edustat.orgunit_closure.unit IS '单位代码. The unit.';
COMMENT ON COLUMN edustat.orgunit_closure.distance IS '层级差. Levels between them: 0 self, 1 parent, ...';
COMMENT ON TABLE edustat.target IS '目标. targets.csv: the targets of bureau plans and national standards (empty without the file).';
COMMENT ON COLUMN edustat.target.line IS '行号. Line in targets.csv.';
COMMENT ON COLUMN edustat.target.indicator IS '指标代码. The indicator.';
COMMENT ON COLUMN edustat.target.level IS '层级. The level the target applies to.';
COMMENT ON COLUMN edustat.target.unit IS '单位代码. One unit, or NULL: every unit of the level.';
COMMENT ON COLUMN edustat.target.stage IS '学段. NULL: all schools; else only schools of this stage.';
COMMENT ON COLUMN edustat.target.op IS '比较符. >=, <=, =, > or <: value op target must hold.';
COMMENT ON COLUMN edustat.target.value IS '目标值. The target.';
COMMENT ON COLUMN edustat.target.source IS '依据. The document that sets it.';
COMMENT ON TABLE edustat.report_period IS '统计期. periods.csv: the reporting rounds and their due dates (empty without the file).';
COMMENT ON COLUMN edustat.report_period.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.report_period.opens IS '开始日期. First day of the round.';
COMMENT ON COLUMN edustat.report_period.due IS '截止日期. Last day to report on time (the whole day counts).';
COMMENT ON TABLE edustat.balance_rule IS '均衡标准. balance.csv: per standard, stage and indicator the minimum each school must reach and the largest between-school CV (empty without the file).';
COMMENT ON COLUMN edustat.balance_rule.standard IS '标准. Name of the standard, e.g. 优质均衡 (教督〔2017〕6号).';
COMMENT ON COLUMN edustat.balance_rule.stage IS '学段. primary 小学, junior 初中.';
COMMENT ON COLUMN edustat.balance_rule.indicator IS '指标代码. The indicator.';
COMMENT ON COLUMN edustat.balance_rule.school_min IS '校级最低值. Each school''s value must be at least this; NULL: not checked per school.';
COMMENT ON COLUMN edustat.balance_rule.cv_max IS '差异系数上限. The between-school CV must be at most this; NULL: not checked.';
COMMENT ON COLUMN edustat.balance_rule.line IS '行号. Line in balance.csv.';
COMMENT ON TABLE edustat.first_report IS '首次上报. When each unit first reported anything for a period (kept by a trigger on value_history).';
COMMENT ON COLUMN edustat.first_report.unit IS '单位代码. The unit.';
COMMENT ON COLUMN edustat.first_report.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.first_report.first_at IS '首次入库时间. Commit time of its first accepted value for the period.';
COMMENT ON VIEW edustat.known_period IS '统计期. The periods of periods.csv plus every period with data; opens and due are NULL for periods not in periods.csv.';
COMMENT ON COLUMN edustat.known_period.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.known_period.opens IS '开始日期. From periods.csv.';
COMMENT ON COLUMN edustat.known_period.due IS '截止日期. From periods.csv.';
COMMENT ON VIEW edustat.target_status IS '目标达成情况. Every target against every unit it applies to, for every known period.';
COMMENT ON COLUMN edustat.target_status.unit IS '单位代码. The unit.';
COMMENT ON COLUMN edustat.target_status.level IS '层级. Its level.';
COMMENT ON COLUMN edustat.target_status.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.target_status.indicator IS '指标代码. The indicator.';
COMMENT ON COLUMN edustat.target_status.stage IS '学段. NULL: all schools (agg_value); else the stage''s breakdown (agg_breakdown), or the school''s own value.';
COMMENT ON COLUMN edustat.target_status.value IS '实际值. The unit''s value; NULL when it has none (not reported, or a ratio with denominator 0).';
COMMENT ON COLUMN edustat.target_status.op IS '比较符. >=, <=, =, > or <.';
COMMENT ON COLUMN edustat.target_status.target IS '目标值. The target.';
COMMENT ON COLUMN edustat.target_status.met IS '是否达标. value op target; NULL when value is NULL.';
COMMENT ON COLUMN edustat.target_status.gap IS '差距. value − target.';
COMMENT ON COLUMN edustat.target_status.source IS '依据. The document that sets the target.';
COMMENT ON VIEW edustat.completeness IS '上报完整性. Per unit with children, period of periods.csv and stage (NULL = all): the schools expected, reported, reported on time, and the missing ones.';
COMMENT ON COLUMN edustat.completeness.unit IS '单位代码. The unit.';
COMMENT ON COLUMN edustat.completeness.level IS '层级. Its level.';
COMMENT ON COLUMN edustat.completeness.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.completeness.due IS '截止日期. Due date from periods.csv.';
COMMENT ON COLUMN edustat.completeness.stage IS '学段. NULL: all schools; else this stage.';
COMMENT ON COLUMN edustat.completeness.expected IS '应报学校数. Schools (leaf units) below the unit.';
COMMENT ON COLUMN edustat.completeness.reported IS '已报学校数. Schools with any stored value for the period.';
COMMENT ON COLUMN edustat.completeness.reported_on_time IS '按时上报学校数. Schools whose first value was committed by the end of the due date.';
COMMENT ON COLUMN edustat.completeness.rate IS '上报率(%). 100 × reported ÷ expected, 2 decimals.';
COMMENT ON COLUMN edustat.completeness.missing IS '未报学校. "code name; ..." of the schools that have not reported, by code; empty when none.';
COMMENT ON VIEW edustat.balance_cv IS '校际差异系数. Per standard, unit with children, period, stage and indicator: the between-school CV of the stage''s schools against cv_max.';
COMMENT ON COLUMN edustat.balance_cv.standard IS '标准. From balance.csv.';
COMMENT ON COLUMN edustat.balance_cv.unit IS '单位代码. The unit (a county, the city...).';
COMMENT ON COLUMN edustat.balance_cv.level IS '层级. Its level.';
COMMENT ON COLUMN edustat.balance_cv.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.balance_cv.stage IS '学段. Stage.';
COMMENT ON COLUMN edustat.balance_cv.indicator IS '指标代码. The indicator.';
COMMENT ON COLUMN edustat.balance_cv.mean IS '均值. Pupil-weighted mean of the schools (Σnumerator ÷ Σdenominator).';
COMMENT ON COLUMN edustat.balance_cv.cv IS '差异系数. Weighted between-school CV (agg_breakdown.cv); NULL when no school has a value.';
COMMENT ON COLUMN edustat.balance_cv.cv_max IS '差异系数上限. From balance.csv.';
COMMENT ON COLUMN edustat.balance_cv.cv_ok IS '是否达标. cv <= cv_max; NULL when cv is NULL.';
COMMENT ON VIEW edustat.balance_school IS '学校资源配置达标情况. Per standard, school, period: the thresholds it meets and misses. Passes: at most one miss and every miss at or above 85% of its minimum.';
COMMENT ON COLUMN edustat.balance_school.standard IS '标准. From balance.csv.';
COMMENT ON COLUMN edustat.balance_school.school IS '学校代码. The school.';
COMMENT ON COLUMN edustat.balance_school.name IS '学校名称. Its name.';
COMMENT ON COLUMN edustat.balance_school.district IS '所属区县. Its ancestor one level below the root (a district or county).';
COMMENT ON COLUMN edustat.balance_school.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.balance_school.stage IS '学段. Its stage.';
COMMENT ON COLUMN edustat.balance_school.n_indicators IS '指标数. Indicators with a school_min for the stage.';
COMMENT ON COLUMN edustat.balance_school.n_met IS '达标指标数. Indicators at or above the minimum.';
COMMENT ON COLUMN edustat.balance_school.missed IS '未达标指标. "indicator value < minimum" per miss, "(below 85%)" added when under 85% of it; "indicator no value" when the school has no value (for a ratio: did not report both parts); empty when none.';
COMMENT ON COLUMN edustat.balance_school.all_above_85pct IS '未达标项均不低于85%. Every miss is at or above 85% of its minimum.';
COMMENT ON COLUMN edustat.balance_school.passes IS '学校达标. n_met >= n_indicators − 1 and all_above_85pct.';
COMMENT ON VIEW edustat.balance_status IS '优质均衡资源配置状态. Per standard, unit with children, period and stage: CVs within limits, schools passing, and whether the unit passes.';
COMMENT ON COLUMN edustat.balance_status.standard IS '标准. From balance.csv.';
COMMENT ON COLUMN edustat.balance_status.unit IS '单位代码. The unit (a county, the city...).';
COMMENT ON COLUMN edustat.balance_status.level IS '层级. Its level.';
COMMENT ON COLUMN edustat.balance_status.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.balance_status.stage IS '学段. Stage.';
COMMENT ON COLUMN edustat.balance_status.n_indicators IS '差异系数指标数. Indicators with a cv_max.';
COMMENT ON COLUMN edustat.balance_status.n_cv_ok IS '差异系数达标数. Of those, the ones with cv <= cv_max.';
COMMENT ON COLUMN edustat.balance_status.cv_failed IS '未达标差异系数. "indicator cv > cv_max" or "indicator no CV" per failure; empty when none.';
COMMENT ON COLUMN edustat.balance_status.schools IS '学校数. Schools of the stage below the unit.';
COMMENT ON COLUMN edustat.balance_status.schools_passing IS '达标学校数. Of those, the ones that pass (balance_school.passes).';
COMMENT ON COLUMN edustat.balance_status.passes IS '是否达标. Every CV within its limit and every school passing.';
DO $$
DECLARE
  rel text;
  c text[];
BEGIN
  FOREACH rel IN ARRAY ARRAY['agg_rollup', 'agg_value', 'agg_breakdown'] LOOP
    FOREACH c SLICE 1 IN ARRAY ARRAY[
      ['unit', '单位代码. The org unit.'],
      ['level', '层级. Its level label.'],
      ['period', '统计期. Period.'],
      ['indicator', '指标代码. Count, amount or ratio indicator.'],
      ['value', '数值. Count/amount: Σ of the values at or below the unit. Ratio: multiplier × numerator ÷ denominator, NULL when the denominator is 0.'],
      ['numerator', '分子合计. Ratios: Σ of the numerator indicator at or below the unit; else NULL.'],
      ['denominator', '分母合计. Ratios: Σ of the denominator indicator at or below the unit; else NULL.'],
      ['n_reporting', '上报单位数. Units at or below (itself included) storing the indicator; a ratio: its numerator or denominator.'],
      ['min', '校际最小值. Smallest value among the schools (leaves) below whose own value is defined.'],
      ['max', '校际最大值. Largest such school value.'],
      ['mean', '校际均值. Mean over those schools; a ratio: weighted by each school''s denominator (= Σnum ÷ Σden).'],
      ['cv', '差异系数. σ ÷ mean over those schools (population σ; a ratio: denominator-weighted, the MoE method); NULL when mean is 0.'],
      ['updated_at', '更新时间. When the row last changed.']] LOOP
      EXECUTE format('COMMENT ON COLUMN edustat.%I.%I IS %L', rel, c[1], c[2]);
    END LOOP;
  END LOOP;
END $$;
COMMENT ON COLUMN edustat.agg_breakdown.dimension IS '分类维度. stage 学段, locality 城乡类别 or ownership 办学性质.';
COMMENT ON COLUMN edustat.agg_breakdown.category IS '类别. The schools'' attribute value, e.g. primary, rural, private.';
