ALTER TABLE edustat.orgunit ADD COLUMN current boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN edustat.orgunit.current IS '现行. true when the unit is in the orgunits.csv being served; false for a unit dropped from it (closed, merged): its values stay in unit_value and value_history but count in no aggregate.';
CREATE OR REPLACE VIEW edustat.agg_value AS
SELECT a.unit, a.level, a.period, a.indicator, a.value, a.numerator,
       a.denominator, a.n_reporting, a.min, a.max, a.mean, a.cv,
       a.updated_at
  FROM edustat.agg_rollup a
UNION ALL
SELECT v.unit, o.level, v.period, v.indicator, v.value,
       NULL::numeric, NULL::numeric, 1,
       v.value::float8, v.value::float8, v.value::float8,
       CASE WHEN v.value = 0 THEN NULL ELSE 0::float8 END,
       v.received_at
  FROM edustat.unit_value v
  JOIN edustat.orgunit o ON o.code = v.unit AND o.is_leaf AND o.current
  JOIN edustat.indicator i ON i.code = v.indicator
   AND i.kind IN ('count', 'amount')
UNION ALL
SELECT s.unit, o.level, s.period, s.indicator,
       CASE WHEN s.den = 0 THEN NULL
            ELSE s.multiplier * s.num / s.den END,
       s.num, s.den, 1, s.x, s.x, s.x,
       CASE WHEN s.x <> 0 THEN 0::float8 END,
       s.updated_at
  FROM (SELECT g.*,
               CASE WHEN g.has_num AND g.has_den AND g.den > 0
                    THEN (g.multiplier * g.num / g.den)::float8 END AS x
          FROM (SELECT v.unit, v.period, r.code AS indicator, r.multiplier,
                       coalesce(sum(v.value) FILTER
                         (WHERE v.indicator = r.numerator), 0) AS num,
                       coalesce(sum(v.value) FILTER
                         (WHERE v.indicator = r.denominator), 0) AS den,
                       bool_or(v.indicator = r.numerator) AS has_num,
                       bool_or(v.indicator = r.denominator) AS has_den,
                       max(v.received_at) AS updated_at
                  FROM edustat.unit_value v
                  JOIN edustat.indicator r ON r.kind = 'ratio'
                   AND v.indicator IN (r.numerator, r.denominator)
                 GROUP BY v.unit, v.period, r.code, r.multiplier) g) s
  JOIN edustat.orgunit o ON o.code = s.unit AND o.is_leaf AND o.current;
