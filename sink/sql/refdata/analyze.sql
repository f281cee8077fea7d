-- Fresh statistics now, not when autovacuum gets round to it: with none,
-- the planner guesses these small tables hold thousands of rows and plans
-- the views for that.
ANALYZE edustat.orgunit, edustat.orgunit_closure, edustat.target,
  edustat.report_period, edustat.balance_rule, edustat.rule
