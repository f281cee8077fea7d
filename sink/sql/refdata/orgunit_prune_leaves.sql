-- A unit that lost its last child is a leaf now: the agg_value view
-- derives its rows from unit_value, so rolled-up rows stored for it
-- earlier would show twice.  A unit dropped from the config has no
-- aggregate any more (migration 5).
DELETE FROM edustat.agg_rollup a USING edustat.orgunit o
 WHERE o.code = a.unit AND (o.is_leaf OR NOT o.current);
DELETE FROM edustat.agg_breakdown a USING edustat.orgunit o
 WHERE o.code = a.unit AND (o.is_leaf OR NOT o.current)
