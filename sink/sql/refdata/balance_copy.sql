COPY edustat.balance_rule (standard, stage, indicator, school_min, cv_max, line) FROM STDIN
