COPY edustat.unit_value (unit, period, indicator, value, version, collector, batch_id)
FROM STDIN
