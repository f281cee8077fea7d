COPY edustat.value_replaced (unit, period, indicator, value, version, collector, batch_id)
FROM STDIN
