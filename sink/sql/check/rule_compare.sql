-- The comparison of rule_violation with the violations recomputed in SQL.
-- sink/check.c puts in front of this text
--   WITH want (unit, period, rule, severity, left_value, right_value) AS (
--     <the query of each rule, sink/rulesql.c> UNION ALL ... )
-- The two sides are matched by a FULL JOIN on (unit, period, rule).  A row
-- on one side only is a mismatch of column "row"; otherwise severity and
-- both values must be equal (numerically: 40 and 40.000 are the same
-- value).  The LIMIT is CHECK_SHOW_MAX of sink/check.h.
, j AS (
  SELECT coalesce(s.unit, w.unit) AS unit, coalesce(s.period, w.period) AS period,
         coalesce(s.rule, w.rule) AS rule,
         s.unit IS NOT NULL AS has_s, w.unit IS NOT NULL AS has_w,
         s.severity AS s_sev, w.severity AS w_sev,
         s.left_value AS s_l, w.left_value AS w_l,
         s.right_value AS s_r, w.right_value AS w_r
    FROM edustat.rule_violation s
    FULL JOIN want w ON w.unit = s.unit AND w.period = s.period AND w.rule = s.rule
), m AS (
  SELECT j.unit, j.period, j.rule, c.ord, c.col, c.stored, c.expected
    FROM j
   CROSS JOIN LATERAL (VALUES
     (0, 'row', NOT (j.has_s AND j.has_w),
      CASE WHEN j.has_s THEN j.s_sev || ' ' || j.s_l || ' vs ' || j.s_r ELSE '(no row)' END,
      CASE WHEN j.has_w THEN j.w_sev || ' ' || trim_scale(j.w_l) || ' vs ' || trim_scale(j.w_r)
           ELSE '(no row)' END),
     (1, 'severity', j.s_sev IS DISTINCT FROM j.w_sev, j.s_sev, j.w_sev),
     (2, 'left_value', j.s_l IS DISTINCT FROM j.w_l, j.s_l::text, trim_scale(j.w_l)::text),
     (3, 'right_value', j.s_r IS DISTINCT FROM j.w_r, j.s_r::text, trim_scale(j.w_r)::text)
   ) c (ord, col, bad, stored, expected)
   WHERE c.bad AND (c.ord = 0 OR (j.has_s AND j.has_w))
)
SELECT unit, period, rule, col, coalesce(stored, 'NULL'), coalesce(expected, 'NULL'),
       count(*) OVER ()
  FROM m
 ORDER BY unit, period, rule, ord
 LIMIT 100
