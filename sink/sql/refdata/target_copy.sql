COPY edustat.target (line, indicator, level, unit, stage, op, value, source, period_from, period_to, baseline_period, baseline) FROM STDIN
