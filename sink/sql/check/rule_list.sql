-- The rules the sink loaded from rules.csv, in the order of the file.
SELECT code, name_zh, left_expr, op, right_expr, severity, scope, coalesce(stage, ''),
       missing, line
  FROM edustat.rule
 ORDER BY line, code
