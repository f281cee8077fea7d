COPY pg_temp.stage_value (unit, period, indicator, value, version, collector, batch_id)
FROM STDIN
