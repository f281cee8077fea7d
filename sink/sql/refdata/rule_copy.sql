COPY edustat.rule (code, name_zh, left_expr, op, right_expr, severity, scope, stage, missing,
  line) FROM STDIN
