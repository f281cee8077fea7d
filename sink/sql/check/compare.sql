-- The comparison, one statement.  Reading it top down:
--
--   tree        every (descendant, ancestor) pair, self included, walked
--               down from the roots (units without a parent).  Only the
--               current tree: units dropped from the config (current =
--               false) count in no aggregate, in the aggregator either.
--   unit        each current org unit with its parent, level, categories
--               and whether it is a leaf, from the parent links themselves
--               (not is_leaf).
--   up          the pairs whose ancestor has children: only those units
--               get a computed (non-leaf) row.
--   slice       each leaf with a parent, once per dimension in which it has
--               a category (NULL or '' is none).  Only leaves: what a unit
--               with children stores itself is in no breakdown.
--   plain       the stored count/amount values with their unit's parent.
--   plain_part  the values grouped by parent: Σ, n, and over leaves n, Σx,
--               Σx², min, max.  Every part is a sum, a count, a min or a
--               max, so a unit's aggregate is the combination of the parts
--               of every parent at or below it plus its own value; that
--               saves joining each value to each of its ancestors.
--   bplain_part the leaf values per parent and slice; every term is a
--               leaf's, so n, Σ and the leaf terms coincide.
--   plain_sum   that combination per non-leaf unit, plus one row per leaf
--               value (its own aggregate: n = 1), plus the breakdowns: the
--               bplain_part rows combined the same way.  dimension and
--               category are '' for agg_value's rows, a value the CHECK of
--               agg_breakdown.dimension never allows, so the join keys of
--               the two tables never meet and need no NULL handling.
--   part        each ratio's numerator and denominator indicator.
--   ratio_own   per unit and ratio: its own numerator and denominator
--               (NULL when it stores none).
--   ratio       with the leaf terms of the weighted statistics: a leaf
--               qualifies when it stores both parts and den > 0; then
--               qn = num, qd = den, qs = num²/den (to 30 decimals) and
--               x = m·num/den.
--   ratio_part, bratio_part, ratio_sum   as for plain.  A breakdown row
--               exists where a leaf of the slice stores the numerator or
--               the denominator, n_reporting counts those leaves and the
--               sums are over them: the aggregator's rows (state.c).
--   expected    the contract's columns.  count/amount: mean = Σx/n and
--               cv = σ/mean = √(nΣx² − (Σx)²) / Σx, exact up to the one
--               square root.  Ratio: mean = m·Σnum/Σden and, with
--               S = Σ num²/den over the qualifying leaves,
--               cv = √(S·Σden − (Σnum)²) / Σnum  (m cancels), which is the
--               denominator-weighted σ/mean of the MoE method.
--   stored      agg_value's rows (slice '', '') and agg_breakdown's.
--   j, b, m     the FULL JOIN with stored, one flag per column, and one
--               row per differing column (only "row" when a side is missing).
--
-- The numbers come out as text, so the report shows exactly what is
-- stored and what was expected.  The LIMIT is CHECK_SHOW_MAX of
-- sink/check.h (tests/unit/test_check.c holds them together).
WITH RECURSIVE
tree (descendant, ancestor) AS (
  SELECT code, code FROM edustat.orgunit WHERE parent IS NULL AND current
  UNION ALL
  SELECT c.code, x.ancestor
    FROM tree t
    JOIN edustat.orgunit c ON c.parent = t.descendant AND c.current
   CROSS JOIN LATERAL (VALUES (t.ancestor),
          (CASE WHEN t.ancestor = t.descendant THEN c.code END)) x (ancestor)
   WHERE x.ancestor IS NOT NULL
),
unit AS (
  SELECT o.code, o.parent, o.level, p.parent IS NULL AS leaf, o.stage, o.locality,
         o.ownership
    FROM edustat.orgunit o
    LEFT JOIN (SELECT DISTINCT parent FROM edustat.orgunit WHERE current) p
      ON p.parent = o.code
   WHERE o.current
),
up AS (
  SELECT t.descendant, t.ancestor
    FROM tree t JOIN unit a ON a.code = t.ancestor AND NOT a.leaf
),
slice AS (
  SELECT u.code AS unit, u.parent, d.dimension, d.category
    FROM unit u
   CROSS JOIN LATERAL (VALUES ('stage', u.stage), ('locality', u.locality),
          ('ownership', u.ownership)) d (dimension, category)
   WHERE u.leaf AND u.parent IS NOT NULL AND d.category <> ''
),
plain AS (
  SELECT v.unit, u.parent, u.leaf, v.period, v.indicator, v.value
    FROM edustat.unit_value v
    JOIN edustat.indicator i ON i.code = v.indicator AND i.kind IN ('count', 'amount')
    JOIN unit u ON u.code = v.unit
),
plain_part AS (
  SELECT v.parent AS unit, v.period, v.indicator,
         sum(v.value) AS s, count(*) AS n,
         count(*) FILTER (WHERE v.leaf) AS nl,
         sum(v.value) FILTER (WHERE v.leaf) AS ls,
         sum(v.value * v.value) FILTER (WHERE v.leaf) AS lq,
         min(v.value) FILTER (WHERE v.leaf) AS lmin,
         max(v.value) FILTER (WHERE v.leaf) AS lmax
    FROM plain v
   WHERE v.parent IS NOT NULL
   GROUP BY v.parent, v.period, v.indicator
),
bplain_part AS (
  SELECT s.parent AS unit, v.period, v.indicator, s.dimension, s.category,
         sum(v.value) AS s, count(*) AS n, sum(v.value * v.value) AS lq,
         min(v.value) AS lmin, max(v.value) AS lmax
    FROM plain v JOIN slice s ON s.unit = v.unit
   GROUP BY s.parent, v.period, v.indicator, s.dimension, s.category
),
plain_sum AS (
  SELECT p.unit, p.period, p.indicator, '' AS dimension, '' AS category, sum(p.s) AS s,
         sum(p.n) AS n, sum(p.nl) AS nl,
         sum(p.ls) AS ls, sum(p.lq) AS lq, min(p.lmin) AS lmin, max(p.lmax) AS lmax
    FROM (SELECT up.ancestor AS unit, p.period, p.indicator, p.s, p.n, p.nl, p.ls, p.lq,
                 p.lmin, p.lmax
            FROM plain_part p JOIN up ON up.descendant = p.unit
          UNION ALL
          SELECT v.unit, v.period, v.indicator, v.value, 1, 0, NULL, NULL, NULL, NULL
            FROM plain v
           WHERE NOT v.leaf) p
   GROUP BY p.unit, p.period, p.indicator
  UNION ALL
  SELECT v.unit, v.period, v.indicator, '', '', v.value, 1, 1, v.value,
         v.value * v.value, v.value, v.value
    FROM plain v
   WHERE v.leaf
  UNION ALL
  SELECT up.ancestor, p.period, p.indicator, p.dimension, p.category, sum(p.s), sum(p.n),
         sum(p.n), sum(p.s), sum(p.lq), min(p.lmin), max(p.lmax)
    FROM bplain_part p JOIN up ON up.descendant = p.unit
   GROUP BY up.ancestor, p.period, p.indicator, p.dimension, p.category
),
part (ratio, m, ind, is_num) AS (
  SELECT code, multiplier, numerator, true FROM edustat.indicator WHERE kind = 'ratio'
  UNION ALL
  SELECT code, multiplier, denominator, false FROM edustat.indicator WHERE kind = 'ratio'
),
ratio_own AS (
  SELECT v.unit, v.period, p.ratio AS indicator, p.m,
         sum(v.value) FILTER (WHERE p.is_num) AS num,
         sum(v.value) FILTER (WHERE NOT p.is_num) AS den
    FROM edustat.unit_value v JOIN part p ON p.ind = v.indicator
   GROUP BY v.unit, v.period, p.ratio, p.m
),
ratio AS (
  SELECT r.unit, u.parent, u.leaf, r.period, r.indicator, r.m, r.num, r.den,
         CASE WHEN u.leaf AND r.den > 0 THEN r.num END AS qn,
         CASE WHEN u.leaf AND r.den > 0 AND r.num IS NOT NULL THEN r.den END AS qd,
         CASE WHEN u.leaf AND r.den > 0 THEN round(r.num * r.num, 30) / r.den END AS qs,
         CASE WHEN u.leaf AND r.den > 0 THEN r.m * r.num / r.den END AS x
    FROM ratio_own r
    JOIN unit u ON u.code = r.unit
),
ratio_part AS (
  SELECT r.parent AS unit, r.period, r.indicator, r.m, sum(r.num) AS num,
         sum(r.den) AS den, count(*) AS n, sum(r.qn) AS qn, sum(r.qd) AS qd,
         sum(r.qs) AS qs, min(r.x) AS xmin, max(r.x) AS xmax
    FROM ratio r
   WHERE r.parent IS NOT NULL
   GROUP BY r.parent, r.period, r.indicator, r.m
),
bratio_part AS (
  SELECT s.parent AS unit, r.period, r.indicator, r.m, s.dimension, s.category,
         sum(r.num) AS num, sum(r.den) AS den, count(*) AS n, sum(r.qn) AS qn,
         sum(r.qd) AS qd, sum(r.qs) AS qs, min(r.x) AS xmin, max(r.x) AS xmax
    FROM ratio r JOIN slice s ON s.unit = r.unit
   GROUP BY s.parent, r.period, r.indicator, r.m, s.dimension, s.category
),
ratio_sum AS (
  SELECT r.unit, r.period, r.indicator, '' AS dimension, '' AS category, r.m,
         coalesce(sum(r.num), 0) AS num, coalesce(sum(r.den), 0) AS den, sum(r.n) AS n,
         sum(r.qn) AS qn, sum(r.qd) AS qd, sum(r.qs) AS qs, min(r.xmin) AS xmin,
         max(r.xmax) AS xmax
    FROM (SELECT up.ancestor AS unit, r.period, r.indicator, r.m, r.num, r.den, r.n, r.qn,
                 r.qd, r.qs, r.xmin, r.xmax
            FROM ratio_part r JOIN up ON up.descendant = r.unit
          UNION ALL
          SELECT r.unit, r.period, r.indicator, r.m, r.num, r.den, 1, NULL, NULL, NULL,
                 NULL, NULL
            FROM ratio r
           WHERE NOT r.leaf) r
   GROUP BY r.unit, r.period, r.indicator, r.m
  UNION ALL
  SELECT r.unit, r.period, r.indicator, '', '', r.m, coalesce(r.num, 0),
         coalesce(r.den, 0), 1, r.qn, r.qd, r.qs, r.x, r.x
    FROM ratio r
   WHERE r.leaf
  UNION ALL
  SELECT up.ancestor, r.period, r.indicator, r.dimension, r.category, r.m,
         coalesce(sum(r.num), 0), coalesce(sum(r.den), 0), sum(r.n), sum(r.qn), sum(r.qd),
         sum(r.qs), min(r.xmin), max(r.xmax)
    FROM bratio_part r JOIN up ON up.descendant = r.unit
   GROUP BY up.ancestor, r.period, r.indicator, r.dimension, r.category, r.m
),
expected AS (
  SELECT p.unit, p.period, p.indicator, p.dimension, p.category, false AS ratio,
         p.s AS value,
         NULL::numeric AS numerator, NULL::numeric AS denominator, p.n AS n_reporting,
         p.lmin::float8 AS min, p.lmax::float8 AS max, (p.ls / p.nl)::float8 AS mean,
         CASE WHEN p.ls <> 0 THEN (sqrt(greatest(p.nl * p.lq - p.ls * p.ls, 0))
                                   / p.ls)::float8 END AS cv
    FROM plain_sum p
  UNION ALL
  SELECT r.unit, r.period, r.indicator, r.dimension, r.category, true,
         CASE WHEN r.den <> 0 THEN r.m * r.num / r.den END,
         r.num, r.den, r.n, r.xmin::float8, r.xmax::float8, (r.m * r.qn / r.qd)::float8,
         CASE WHEN r.m * r.qn <> 0 THEN (sqrt(greatest(r.qs * r.qd - r.qn * r.qn, 0))
                                         / r.qn)::float8 END
    FROM ratio_sum r
),
stored AS (
  SELECT unit, period, indicator, '' AS dimension, '' AS category, level, value,
         numerator, denominator, n_reporting, min, max, mean, cv
    FROM edustat.agg_value
  UNION ALL
  SELECT unit, period, indicator, dimension, category, level, value, numerator,
         denominator, n_reporting, min, max, mean, cv
    FROM edustat.agg_breakdown
),
j AS (
  SELECT coalesce(e.unit, g.unit) AS unit, coalesce(e.period, g.period) AS period,
         coalesce(e.indicator, g.indicator) AS indicator,
         coalesce(e.dimension, g.dimension) AS dimension,
         coalesce(e.category, g.category) AS category,
         e.unit IS NOT NULL AS has_e, g.unit IS NOT NULL AS has_g, e.ratio,
         u.level AS e_level, g.level AS g_level,
         e.value AS e_value, g.value AS g_value,
         e.numerator AS e_num, g.numerator AS g_num,
         e.denominator AS e_den, g.denominator AS g_den,
         e.n_reporting AS e_n, g.n_reporting AS g_n,
         e.min AS e_min, g.min AS g_min, e.max AS e_max, g.max AS g_max,
         e.mean AS e_mean, g.mean AS g_mean, e.cv AS e_cv, g.cv AS g_cv
    FROM expected e
    LEFT JOIN unit u ON u.code = e.unit
    FULL JOIN stored g
      ON g.unit = e.unit AND g.period = e.period AND g.indicator = e.indicator
     AND g.dimension = e.dimension AND g.category = e.category
),
b AS (
  SELECT j.*,
         NOT (j.has_e AND j.has_g) AS b_row,
         j.g_level IS DISTINCT FROM j.e_level AS b_level,
         CASE WHEN j.ratio
              THEN (j.g_value IS NULL) <> (j.e_value IS NULL)
                   OR abs(j.g_value - j.e_value) > 1e-12 * abs(j.e_value)
              ELSE j.g_value IS DISTINCT FROM j.e_value END AS b_value,
         j.g_num IS DISTINCT FROM j.e_num AS b_num,
         j.g_den IS DISTINCT FROM j.e_den AS b_den,
         j.g_n IS DISTINCT FROM j.e_n AS b_n,
         (j.g_min IS NULL) <> (j.e_min IS NULL)
           OR abs(j.g_min - j.e_min) > greatest(1e-9 * abs(j.e_min), 1e-12) AS b_min,
         (j.g_max IS NULL) <> (j.e_max IS NULL)
           OR abs(j.g_max - j.e_max) > greatest(1e-9 * abs(j.e_max), 1e-12) AS b_max,
         (j.g_mean IS NULL) <> (j.e_mean IS NULL)
           OR abs(j.g_mean - j.e_mean) > greatest(1e-9 * abs(j.e_mean), 1e-12) AS b_mean,
         (j.g_cv IS NULL) <> (j.e_cv IS NULL)
           OR abs(j.g_cv - j.e_cv) > greatest(1e-9 * abs(j.e_cv), 1e-12) AS b_cv
    FROM j
),
m AS (
  SELECT b.unit, b.period, b.indicator, b.dimension, b.category, c.ord, c.col, c.stored,
         c.expected
    FROM b
   CROSS JOIN LATERAL (VALUES
     (0, 'row', b.b_row,
      CASE WHEN b.has_g THEN 'value ' || coalesce(b.g_value::text, 'NULL') ||
           ', n_reporting ' || b.g_n ELSE '(no row)' END,
      CASE WHEN b.has_e THEN 'value ' || coalesce(b.e_value::text, 'NULL') ||
           ', n_reporting ' || b.e_n ELSE '(no row)' END),
     (1, 'level', b.b_level, b.g_level, b.e_level),
     (2, 'value', b.b_value, b.g_value::text, b.e_value::text),
     (3, 'numerator', b.b_num, b.g_num::text, b.e_num::text),
     (4, 'denominator', b.b_den, b.g_den::text, b.e_den::text),
     (5, 'n_reporting', b.b_n, b.g_n::text, b.e_n::text),
     (6, 'min', b.b_min, b.g_min::text, b.e_min::text),
     (7, 'max', b.b_max, b.g_max::text, b.e_max::text),
     (8, 'mean', b.b_mean, b.g_mean::text, b.e_mean::text),
     (9, 'cv', b.b_cv, b.g_cv::text, b.e_cv::text)
   ) c (ord, col, bad, stored, expected)
   WHERE (b.b_row OR b.b_level OR b.b_value OR b.b_num OR b.b_den OR b.b_n
          OR b.b_min OR b.b_max OR b.b_mean OR b.b_cv)
     AND c.bad AND (c.ord = 0 OR NOT b.b_row)
  UNION ALL
  SELECT a.unit, a.period, a.indicator, '', '', 0, 'row',
         'twice (agg_rollup holds a row for this leaf)', 'once'
    FROM edustat.agg_rollup a JOIN unit u ON u.code = a.unit AND u.leaf
)
SELECT unit, period, indicator,
       CASE WHEN dimension <> '' THEN dimension || '=' || category ELSE '' END, col,
       coalesce(stored, 'NULL'), coalesce(expected, 'NULL'), count(*) OVER ()
  FROM m
 ORDER BY unit, period, indicator, dimension, category, ord
 LIMIT 100
