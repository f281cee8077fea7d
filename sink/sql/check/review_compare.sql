-- The review round's consistency: every row of edustat.review names a unit
-- of edustat.orgunit (current or dropped: a dropped unit keeps its rows),
-- and is what the last review_history row of its (unit, period) made it:
-- same state (to_state), "by", at and comment.  A key on one side only is
-- a mismatch of column "row".  The LIMIT is CHECK_SHOW_MAX of
-- sink/check.h; the last column counts every mismatch.
WITH last AS (
  SELECT DISTINCT ON (unit, period) unit, period, to_state, "by", at, comment
    FROM edustat.review_history
   ORDER BY unit, period, id DESC
), j AS (
  SELECT coalesce(r.unit, l.unit) AS unit, coalesce(r.period, l.period) AS period,
         r.unit IS NOT NULL AS has_r, l.unit IS NOT NULL AS has_l,
         EXISTS (SELECT 1 FROM edustat.orgunit o WHERE o.code = coalesce(r.unit, l.unit)) AS known,
         r.state AS r_state, l.to_state AS l_state, r."by" AS r_by, l."by" AS l_by,
         r.at AS r_at, l.at AS l_at, r.comment AS r_comment, l.comment AS l_comment
    FROM edustat.review r
    FULL JOIN last l ON l.unit = r.unit AND l.period = r.period
), m AS (
  SELECT j.unit, j.period, c.ord, c.col, c.stored, c.expected
    FROM j
   CROSS JOIN LATERAL (VALUES
     (0, 'row', NOT (j.has_r AND j.has_l),
      CASE WHEN j.has_r THEN j.r_state ELSE '(no row)' END,
      CASE WHEN j.has_l THEN j.l_state || ' (last review_history row)'
           ELSE '(no review_history row)' END),
     (1, 'unit', j.has_r AND NOT j.known, j.unit, 'a unit of edustat.orgunit'),
     (2, 'state', j.r_state IS DISTINCT FROM j.l_state, j.r_state, j.l_state),
     (3, 'by', j.r_by IS DISTINCT FROM j.l_by, j.r_by, j.l_by),
     (4, 'at', j.r_at IS DISTINCT FROM j.l_at, j.r_at::text, j.l_at::text),
     (5, 'comment', j.r_comment IS DISTINCT FROM j.l_comment, j.r_comment, j.l_comment)
   ) c (ord, col, bad, stored, expected)
   WHERE c.bad AND (c.ord <= 1 OR (j.has_r AND j.has_l))
)
SELECT unit, period, col, coalesce(stored, 'NULL'), coalesce(expected, 'NULL'),
       count(*) OVER ()
  FROM m
 ORDER BY unit, period, ord
 LIMIT 100
