INSERT INTO edustat.rejected (collector, source, batch_id, line, unit, period,
  indicator, raw, reason)
SELECT collector, source, batch_id, line, unit, period, indicator, raw,
  coalesce(reason, 'no reason given') FROM pg_temp.stage_reject
ON CONFLICT (collector, batch_id, line, unit, period, indicator) DO NOTHING
