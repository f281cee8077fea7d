-- A full violation list (the first uow after an aggregator start, when
-- rules.csv may have changed): every stored row the list does not name as
-- failing goes.  Run after violation_apply.sql.
DELETE FROM edustat.rule_violation v
 WHERE NOT EXISTS (SELECT 1 FROM pg_temp.stage_violation s
                    WHERE s.unit = v.unit AND s.period = v.period AND s.rule = v.rule
                      AND s.left_value IS NOT NULL)
