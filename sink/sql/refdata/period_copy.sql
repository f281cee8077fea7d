COPY edustat.report_period (period, opens, due) FROM STDIN
