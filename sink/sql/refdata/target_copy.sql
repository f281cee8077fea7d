COPY edustat.target (line, indicator, level, unit, stage, op, value, source) FROM STDIN
