CREATE TABLE edustat.review (
  unit text NOT NULL,
  period text NOT NULL,
  state text NOT NULL CHECK (state IN ('open', 'submitted', 'approved')),
  "by" text,
  at timestamptz,
  comment text,
  PRIMARY KEY (unit, period)
);
CREATE TABLE edustat.review_history (
  id bigserial PRIMARY KEY,
  unit text NOT NULL,
  period text NOT NULL,
  action text NOT NULL CHECK (action IN ('finish', 'approve', 'return', 'reopen')),
  from_state text NOT NULL CHECK (from_state IN ('open', 'submitted', 'approved')),
  to_state text NOT NULL CHECK (to_state IN ('open', 'submitted', 'approved')),
  "by" text,
  at timestamptz NOT NULL,
  comment text,
  collector text,
  batch_id text,
  seq bigint NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_history_key ON edustat.review_history (unit, period, id);
CREATE VIEW edustat.review_status AS
WITH k AS (
  SELECT c.ancestor AS unit, f.period
    FROM edustat.first_report f
    JOIN edustat.orgunit_closure c ON c.unit = f.unit
  UNION
  SELECT s.code, p.period
    FROM edustat.orgunit s
    CROSS JOIN edustat.report_period p
   WHERE s.is_leaf AND s.current
     AND EXISTS (SELECT 1 FROM edustat.form f WHERE f.stage = s.stage)
)
SELECT k.unit, o.name, o.level, k.period,
       coalesce(r.state, 'open') AS state, r."by", r.at, r.comment,
       b.n_open, b.n_submitted, b.n_approved,
       coalesce(r.state, 'open') = 'open' AND x.blockers IS NULL AS ready,
       CASE WHEN coalesce(r.state, 'open') = 'open' THEN x.blockers END AS blockers
  FROM k
  JOIN edustat.orgunit o ON o.code = k.unit
  LEFT JOIN edustat.review r ON r.unit = k.unit AND r.period = k.period
  CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE coalesce(d.state, 'open') = 'open') AS n_open,
           count(*) FILTER (WHERE d.state = 'submitted') AS n_submitted,
           count(*) FILTER (WHERE d.state = 'approved') AS n_approved,
           string_agg(c.unit || ' ' || coalesce(d.state, 'open'), '; ' ORDER BY c.unit)
             FILTER (WHERE coalesce(d.state, 'open') <> 'approved') AS below
      FROM edustat.orgunit_closure c
      LEFT JOIN edustat.review d ON d.unit = c.unit AND d.period = k.period
     WHERE c.ancestor = k.unit AND c.distance > 0
  ) b
  CROSS JOIN LATERAL (
    SELECT nullif(concat_ws('; ',
      CASE WHEN o.is_leaf AND EXISTS (SELECT 1 FROM edustat.form f WHERE f.stage = o.stage) THEN
        (SELECT string_agg('missing ' || f.indicator || ' (' || coalesce(i.name_zh, f.indicator) || ')',
                           '; ' ORDER BY f.line)
           FROM edustat.form f
           LEFT JOIN edustat.indicator i ON i.code = f.indicator
          WHERE f.stage = o.stage
            AND NOT EXISTS (SELECT 1 FROM edustat.unit_value v
                             WHERE v.unit = k.unit AND v.period = k.period
                               AND v.indicator = f.indicator))
      WHEN o.is_leaf AND NOT EXISTS (SELECT 1 FROM edustat.unit_value v
                                      WHERE v.unit = k.unit AND v.period = k.period) THEN
        'no value'
      END,
      (SELECT string_agg(CASE WHEN ru.severity = 'error' THEN 'error ' || v.rule
                              ELSE 'warning ' || v.rule || ' unexplained' END,
                         '; ' ORDER BY ru.line)
         FROM edustat.rule_violation v
         JOIN edustat.rule ru ON ru.code = v.rule
        WHERE v.unit = k.unit AND v.period = k.period
          AND (ru.severity = 'error'
               OR NOT EXISTS (SELECT 1 FROM edustat.rule_note n
                               WHERE n.unit = v.unit AND n.period = v.period
                                 AND n.rule = v.rule))),
      b.below), '') AS blockers
  ) x
 WHERE o.current;
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
         coalesce(f.first_at < (p.due + 1)::timestamptz, false) AS on_time,
         coalesce(r.state, 'open') AS review_state
    FROM edustat.orgunit_closure c
    JOIN edustat.orgunit s ON s.code = c.unit AND s.is_leaf
    CROSS JOIN edustat.report_period p
    LEFT JOIN edustat.first_report f ON f.unit = s.code AND f.period = p.period
    LEFT JOIN edustat.review r ON r.unit = s.code AND r.period = p.period
   WHERE c.distance > 0
)
SELECT school.unit, u.level, school.period, school.due, school.stage,
       count(*) AS expected,
       count(*) FILTER (WHERE stored AND NOT owes) AS reported,
       count(*) FILTER (WHERE stored AND NOT owes AND on_time) AS reported_on_time,
       round(100.0 * count(*) FILTER (WHERE stored AND NOT owes) / count(*), 2) AS rate,
       coalesce(string_agg(school.code || ' ' || school.name, '; '
                           ORDER BY school.code) FILTER (WHERE NOT stored), '') AS missing,
       count(*) FILTER (WHERE stored AND owes) AS partial,
       count(*) FILTER (WHERE review_state = 'submitted') AS submitted,
       count(*) FILTER (WHERE review_state = 'approved') AS approved
  FROM school
  JOIN edustat.orgunit u ON u.code = school.unit
 GROUP BY GROUPING SETS ((school.unit, u.level, school.period, school.due),
                         (school.unit, u.level, school.period, school.due, school.stage))
HAVING GROUPING(school.stage) = 1 OR school.stage IS NOT NULL;
CREATE VIEW edustat.agg_value_approved AS
SELECT a.unit, a.level, a.period, a.indicator, a.value, a.numerator,
       a.denominator, a.n_reporting, a.min, a.max, a.mean, a.cv, a.updated_at
  FROM edustat.agg_value a
 WHERE EXISTS (SELECT 1 FROM edustat.review r
                 JOIN edustat.orgunit root ON root.code = r.unit
                  AND root.parent IS NULL AND root.current
                WHERE r.period = a.period AND r.state = 'approved');
COMMENT ON TABLE edustat.review IS '审核状态. The review state of each (unit, period) ever acted on: open, submitted (上报) or approved (通过). No row means open; a return (退回) leaves an open row holding its reason. Written by the sink from the aggregator''s actions, in the transaction of the uow that carries them.';
COMMENT ON COLUMN edustat.review.unit IS '单位代码. The unit.';
COMMENT ON COLUMN edustat.review.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.review.state IS '状态. open (填报中), submitted (已上报, waiting for the office above) or approved (已通过). While submitted or approved, values of exactly this unit and period are refused.';
COMMENT ON COLUMN edustat.review.by IS '操作人. The collector (its registered name) whose action put the row in this state: who finished, approved or returned it.';
COMMENT ON COLUMN edustat.review.at IS '操作时间. When the aggregator took that action.';
COMMENT ON COLUMN edustat.review.comment IS '意见. The approval''s comment, the return''s reason, or "returned with CODE" when a return below withdrew it; NULL after a finish.';
COMMENT ON TABLE edustat.review_history IS '审核历史. Every transition of the review round, append-only, in the order applied (id): the action itself and the reopens its return cascaded to.';
COMMENT ON COLUMN edustat.review_history.id IS '序号. Order of application.';
COMMENT ON COLUMN edustat.review_history.unit IS '单位代码. The unit.';
COMMENT ON COLUMN edustat.review_history.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.review_history.action IS '操作. finish (上报), approve (通过), return (退回), or reopen (an ancestor withdrawn by a return below it).';
COMMENT ON COLUMN edustat.review_history.from_state IS '原状态. The state before (open when the unit had no row).';
COMMENT ON COLUMN edustat.review_history.to_state IS '新状态. The state after.';
COMMENT ON COLUMN edustat.review_history.by IS '操作人. The collector that sent the action (for a reopen, the one that sent the return).';
COMMENT ON COLUMN edustat.review_history.at IS '操作时间. When the aggregator took the action.';
COMMENT ON COLUMN edustat.review_history.comment IS '意见. Approval comment, return reason, or "returned with CODE" for a reopen.';
COMMENT ON COLUMN edustat.review_history.collector IS '采集端. The collector of the batch that carried the action.';
COMMENT ON COLUMN edustat.review_history.batch_id IS '批次. Its batch id.';
COMMENT ON COLUMN edustat.review_history.seq IS '工作单元序号. The aggregator''s uow that carried it (sink_state.last_seq).';
COMMENT ON COLUMN edustat.review_history.recorded_at IS '入库时间. When the sink committed it.';
COMMENT ON VIEW edustat.review_status IS '审核进度. Per current unit and period with a value stored at or below it, or a form owed (a school of a stage with a form, for a period of periods.csv): its review state, the units below it in each state, and whether its own finish would be taken now, with what blocks it.';
COMMENT ON COLUMN edustat.review_status.unit IS '单位代码. The unit.';
COMMENT ON COLUMN edustat.review_status.name IS '单位名称. Its name.';
COMMENT ON COLUMN edustat.review_status.level IS '层级. Its level.';
COMMENT ON COLUMN edustat.review_status.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.review_status.state IS '状态. open, submitted or approved (open when never acted on).';
COMMENT ON COLUMN edustat.review_status.by IS '操作人. Who made it so (edustat.review.by); NULL when never acted on.';
COMMENT ON COLUMN edustat.review_status.at IS '操作时间. When.';
COMMENT ON COLUMN edustat.review_status.comment IS '意见. Approval comment or return reason.';
COMMENT ON COLUMN edustat.review_status.n_open IS '下级填报中. Units strictly below it (towns included) that are open.';
COMMENT ON COLUMN edustat.review_status.n_submitted IS '下级已上报. Units strictly below it that are submitted.';
COMMENT ON COLUMN edustat.review_status.n_approved IS '下级已通过. Units strictly below it that are approved.';
COMMENT ON COLUMN edustat.review_status.ready IS '可上报. true when the unit is open and nothing blocks its finish: the aggregator would take it now.';
COMMENT ON COLUMN edustat.review_status.blockers IS '未完成项. What blocks the finish of an open unit, "; "-joined: "missing CODE (名称)" (an indicator of the school''s form not stored), "no value" (a school without a form that stores nothing), "error R01", "warning R10 unexplained", "CODE open" / "CODE submitted" (a unit below not approved). NULL when ready or not open.';
COMMENT ON COLUMN edustat.completeness.submitted IS '已上报学校数. Expected schools whose review state for the period is submitted.';
COMMENT ON COLUMN edustat.completeness.approved IS '已通过学校数. Expected schools whose review state for the period is approved.';
COMMENT ON VIEW edustat.agg_value_approved IS '已通过汇总. The rows of agg_value for the periods whose root unit (the one without a parent) is approved: the closed figures an office publishes.';
COMMENT ON COLUMN edustat.agg_value_approved.unit IS '单位代码. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.level IS '层级. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.period IS '统计期. A period the root has approved.';
COMMENT ON COLUMN edustat.agg_value_approved.indicator IS '指标代码. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.value IS '数值. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.numerator IS '分子. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.denominator IS '分母. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.n_reporting IS '上报单位数. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.min IS '最小值. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.max IS '最大值. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.mean IS '平均值. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.cv IS '差异系数. As agg_value.';
COMMENT ON COLUMN edustat.agg_value_approved.updated_at IS '更新时间. As agg_value.';
