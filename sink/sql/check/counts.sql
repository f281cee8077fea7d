SELECT (SELECT count(*) FROM edustat.unit_value),
       (SELECT count(*) FROM edustat.agg_rollup),
       (SELECT count(*) FROM edustat.agg_breakdown)
