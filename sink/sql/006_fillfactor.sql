ALTER TABLE edustat.agg_rollup SET (fillfactor = 50);
ALTER TABLE edustat.agg_breakdown SET (fillfactor = 50);
ALTER TABLE edustat.unit_value SET (fillfactor = 90);
