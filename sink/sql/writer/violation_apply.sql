-- The uow's violations (pg_temp.stage_violation, in uow order): the last
-- entry of a (unit, period, rule) wins.  Without values the rule no longer
-- fails there: its row goes.  With values the row is written; a row that
-- was already there keeps first_seen, the moment the rule began to fail,
-- and is rewritten only when its values changed (updated_at then moves):
-- the full list that follows an aggregator start repeats every row, and
-- rewriting the unchanged ones cost most of its time.
WITH last AS (
  SELECT DISTINCT ON (unit, period, rule) unit, period, rule, severity,
         left_value, right_value
    FROM pg_temp.stage_violation
   ORDER BY unit, period, rule, ord DESC
), gone AS (
  DELETE FROM edustat.rule_violation v
   USING last
   WHERE v.unit = last.unit AND v.period = last.period AND v.rule = last.rule
     AND last.left_value IS NULL
)
INSERT INTO edustat.rule_violation AS v (unit, period, rule, severity, left_value,
  right_value, first_seen, updated_at)
SELECT unit, period, rule, severity, left_value, right_value, now(), now()
  FROM last
 WHERE left_value IS NOT NULL
ON CONFLICT (unit, period, rule) DO UPDATE SET severity = EXCLUDED.severity,
  left_value = EXCLUDED.left_value, right_value = EXCLUDED.right_value,
  updated_at = now()
 WHERE (v.severity, v.left_value, v.right_value)
       IS DISTINCT FROM (EXCLUDED.severity, EXCLUDED.left_value, EXCLUDED.right_value)
