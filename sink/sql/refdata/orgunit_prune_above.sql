-- Where the tree changed (a unit added, dropped or moved, or a school put
-- in another stage, locality or ownership category), the units above the
-- change in the old tree keep rows the aggregator will not write again: an
-- indicator only a dropped school reported, the slice a school left.
-- Their stored aggregates go; the aggregator, restarted with the same
-- config, rewrites every aggregate that still exists.  Run before
-- orgunit_upsert replaces the old parent links.
WITH RECURSIVE changed (code) AS (
  SELECT s.code FROM pg_temp.stage_orgunit s
    LEFT JOIN edustat.orgunit o ON o.code = s.code
   WHERE o.code IS NULL OR NOT o.current
      OR o.parent IS DISTINCT FROM s.parent
      OR o.stage IS DISTINCT FROM s.stage
      OR o.locality IS DISTINCT FROM s.locality
      OR o.ownership IS DISTINCT FROM s.ownership
  UNION
  SELECT o.code FROM edustat.orgunit o WHERE o.current AND NOT EXISTS
    (SELECT 1 FROM pg_temp.stage_orgunit s WHERE s.code = o.code)),
 above (code) AS (
  SELECT o.parent FROM edustat.orgunit o JOIN changed c ON c.code = o.code
   WHERE o.parent IS NOT NULL
  UNION
  SELECT o.parent FROM edustat.orgunit o JOIN above a ON a.code = o.code
   WHERE o.parent IS NOT NULL),
 r AS (DELETE FROM edustat.agg_rollup WHERE unit IN (SELECT code FROM above))
 DELETE FROM edustat.agg_breakdown WHERE unit IN (SELECT code FROM above)
