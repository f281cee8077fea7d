-- aggregates.sql: recompute every stored aggregate from unit_value alone and
-- compare it with agg_value, for every unit that has children (the city,
-- the districts, the towns) and every period.  Run by tests/compose/run.sh
-- inside the db container:  psql -X -A -t -F ' ' -f - < aggregates.sql
--
-- The rules recomputed here are those of docs/SQL.md:
--   count/amount: value = Σ unit_value.value over the unit's subtree (itself
--     included), n_reporting = the number of units in it that store one,
--     min/max = the smallest/largest value stored by a leaf in it;
--   ratio: numerator/denominator = Σ of the numerator/denominator indicator
--     over the subtree (0 for a sum over nothing), value = multiplier ×
--     numerator ÷ denominator (NULL when the denominator is 0), n_reporting
--     = the units that store the numerator or the denominator;
--   a row exists exactly where something in the subtree is stored, and
--     agg_rollup holds no row of a leaf.
-- Exact for sums and counts (numeric); float8 statistics and ratio values
-- (the aggregator computes in long double) within a relative 1e-12.
--
-- Prints one line per check and level, "check KIND LEVEL ROWS BAD", then up
-- to 20 lines "bad ..." describing mismatches.  Reads only; the temporary
-- tables die with the session.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- (ancestor, unit in its subtree), for every unit that has children.
CREATE TEMP TABLE sub AS
WITH RECURSIVE sub(anc, unit) AS (
        SELECT code, code FROM edustat.orgunit WHERE NOT is_leaf
        UNION ALL
        SELECT sub.anc, o.code FROM sub JOIN edustat.orgunit o ON o.parent = sub.unit
)
SELECT anc, unit FROM sub;

CREATE TEMP TABLE want_sum AS
SELECT s.anc AS unit, v.period, v.indicator,
       sum(v.value) AS value,
       count(*) AS n,
       min(v.value) FILTER (WHERE o.is_leaf)::float8 AS lmin,
       max(v.value) FILTER (WHERE o.is_leaf)::float8 AS lmax
  FROM sub s
  JOIN edustat.unit_value v ON v.unit = s.unit
  JOIN edustat.orgunit o ON o.code = v.unit
  JOIN edustat.indicator i ON i.code = v.indicator AND i.kind IN ('count', 'amount')
 GROUP BY s.anc, v.period, v.indicator;

CREATE TEMP TABLE want_ratio AS
SELECT w.*, CASE WHEN w.den = 0 THEN NULL ELSE w.multiplier * w.num / w.den END AS value
  FROM (SELECT s.anc AS unit, v.period, r.code AS indicator, r.multiplier,
               coalesce(sum(v.value) FILTER (WHERE v.indicator = r.numerator), 0) AS num,
               coalesce(sum(v.value) FILTER (WHERE v.indicator = r.denominator), 0) AS den,
               count(DISTINCT v.unit) AS n
          FROM sub s
          JOIN edustat.unit_value v ON v.unit = s.unit
          JOIN edustat.indicator r ON r.kind = 'ratio'
           AND v.indicator IN (r.numerator, r.denominator)
         GROUP BY s.anc, v.period, r.code, r.multiplier) w;

ANALYZE sub;
ANALYZE want_sum;
ANALYZE want_ratio;

-- What is stored, for units with children.
CREATE TEMP TABLE got AS
SELECT a.*, i.kind
  FROM edustat.agg_value a
  JOIN edustat.orgunit o ON o.code = a.unit AND NOT o.is_leaf
  JOIN edustat.indicator i ON i.code = a.indicator;
ANALYZE got;

CREATE FUNCTION pg_temp.near(a float8, b float8) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS
    $$ SELECT (a IS NULL AND b IS NULL) OR abs(a - b) <= 1e-12 * greatest(1, abs(b)) $$;

CREATE TEMP TABLE result AS
SELECT 'sum'::text AS kind, coalesce(w.unit, g.unit) AS unit,
       coalesce(w.period, g.period) AS period, coalesce(w.indicator, g.indicator) AS indicator,
       CASE WHEN g.unit IS NULL THEN 'missing in agg_value'
            WHEN w.unit IS NULL THEN 'in agg_value but nothing stored below'
            WHEN g.value IS DISTINCT FROM w.value
                 THEN format('value %s, recomputed %s', g.value, w.value)
            WHEN g.n_reporting <> w.n
                 THEN format('n_reporting %s, recomputed %s', g.n_reporting, w.n)
            WHEN g.numerator IS NOT NULL OR g.denominator IS NOT NULL
                 THEN 'numerator/denominator set on a count or amount'
            WHEN NOT pg_temp.near(g.min, w.lmin) OR NOT pg_temp.near(g.max, w.lmax)
                 THEN format('min/max %s/%s, recomputed %s/%s', g.min, g.max, w.lmin, w.lmax)
       END AS problem
  FROM want_sum w
  FULL JOIN (SELECT * FROM got WHERE kind IN ('count', 'amount')) g
    ON g.unit = w.unit AND g.period = w.period AND g.indicator = w.indicator
UNION ALL
SELECT 'ratio', coalesce(w.unit, g.unit), coalesce(w.period, g.period),
       coalesce(w.indicator, g.indicator),
       CASE WHEN g.unit IS NULL THEN 'missing in agg_value'
            WHEN w.unit IS NULL THEN 'in agg_value but nothing stored below'
            WHEN g.numerator IS DISTINCT FROM w.num OR g.denominator IS DISTINCT FROM w.den
                 THEN format('numerator/denominator %s/%s, recomputed %s/%s',
                             g.numerator, g.denominator, w.num, w.den)
            WHEN NOT pg_temp.near(g.value::float8, w.value::float8)
                 THEN format('value %s, recomputed %s', g.value, w.value)
            WHEN g.n_reporting <> w.n
                 THEN format('n_reporting %s, recomputed %s', g.n_reporting, w.n)
       END
  FROM want_ratio w
  FULL JOIN (SELECT * FROM got WHERE kind = 'ratio') g
    ON g.unit = w.unit AND g.period = w.period AND g.indicator = w.indicator;

SELECT 'check', r.kind, o.level, count(*), count(r.problem)
  FROM result r JOIN edustat.orgunit o ON o.code = r.unit
 GROUP BY r.kind, o.depth, o.level
 ORDER BY r.kind, o.depth, o.level;

SELECT 'check', 'leafrollup', 'leaf', count(*), count(*)
  FROM edustat.agg_rollup a JOIN edustat.orgunit o ON o.code = a.unit AND o.is_leaf;

SELECT 'bad', kind, unit, period, indicator, problem
  FROM result WHERE problem IS NOT NULL
 ORDER BY unit, period, indicator LIMIT 20;
