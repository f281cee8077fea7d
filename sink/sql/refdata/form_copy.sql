COPY edustat.form (stage, indicator, line) FROM STDIN
