CREATE TABLE edustat.orgunit (
  code text PRIMARY KEY,
  parent text,
  level text NOT NULL,
  depth int NOT NULL,
  name text NOT NULL,
  stage text,
  locality text,
  ownership text,
  is_leaf boolean NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE edustat.indicator (
  code text PRIMARY KEY,
  name_zh text,
  name_en text,
  unit text,
  kind text NOT NULL CHECK (kind IN ('count', 'amount', 'ratio')),
  numerator text,
  denominator text,
  multiplier numeric NOT NULL DEFAULT 1,
  decimals int,
  loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE edustat.unit_value (
  unit text NOT NULL,
  period text NOT NULL,
  indicator text NOT NULL,
  value numeric NOT NULL,
  version bigint NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (unit, period, indicator)
);
CREATE TABLE edustat.value_history (
  unit text NOT NULL,
  period text NOT NULL,
  indicator text NOT NULL,
  value numeric,
  version bigint,
  collector text,
  batch_id text,
  received_at timestamptz DEFAULT now()
);
CREATE INDEX value_history_received_at ON edustat.value_history
  USING brin (received_at);
CREATE TABLE edustat.rejected (
  id bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  collector text,
  source text,
  batch_id text,
  line int,
  unit text,
  period text,
  indicator text,
  raw text,
  reason text NOT NULL,
  UNIQUE (batch_id, line)
);
CREATE TABLE edustat.agg_rollup (
  unit text NOT NULL,
  level text NOT NULL,
  period text NOT NULL,
  indicator text NOT NULL,
  value numeric,
  numerator numeric,
  denominator numeric,
  n_reporting int NOT NULL,
  min float8,
  max float8,
  mean float8,
  cv float8,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (unit, period, indicator)
);
CREATE TABLE edustat.sink_state (
  aggregator text PRIMARY KEY,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE VIEW edustat.agg_value AS
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
  JOIN edustat.orgunit o ON o.code = v.unit AND o.is_leaf
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
  JOIN edustat.orgunit o ON o.code = s.unit AND o.is_leaf;
