DELETE FROM edustat.rejected a USING edustat.rejected b
 WHERE a.id > b.id
   AND a.collector IS NOT DISTINCT FROM b.collector
   AND a.batch_id IS NOT DISTINCT FROM b.batch_id
   AND a.line IS NOT DISTINCT FROM b.line
   AND a.unit IS NOT DISTINCT FROM b.unit
   AND a.period IS NOT DISTINCT FROM b.period
   AND a.indicator IS NOT DISTINCT FROM b.indicator;
ALTER TABLE edustat.rejected DROP CONSTRAINT rejected_collector_batch_id_line_key;
ALTER TABLE edustat.rejected ADD CONSTRAINT rejected_once
  UNIQUE NULLS NOT DISTINCT (collector, batch_id, line, unit, period, indicator);
