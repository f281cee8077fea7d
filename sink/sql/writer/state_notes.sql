-- Every explained warning (unit, period, rule), for an aggregator's hello,
-- after the review rows: a finish needs each warning of its unit explained.
SELECT unit, period, rule
  FROM edustat.rule_note
 ORDER BY unit, period, rule
