ALTER TABLE edustat.rejected DROP CONSTRAINT rejected_collector_batch_id_line_key;
ALTER TABLE edustat.rejected ADD CONSTRAINT rejected_once
  UNIQUE NULLS NOT DISTINCT (collector, batch_id, line, unit, period, indicator);
