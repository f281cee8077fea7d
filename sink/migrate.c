/*
 * migrate: the migrations of schema edustat and their runner.  See
 * migrate.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "migrate.h"
#include "pg.h"
#include "util.h"

/*
 * agg_value is a view: the aggregator stores rows only for units with
 * children (agg_rollup); a leaf's row is an identity of its own raw values,
 * so it is computed here on read.  The ratio branch groups unit_value rows
 * by (unit, period, ratio) so a WHERE on unit is pushed into the subquery
 * and served by unit_value's primary key.
 *
 * LEAF is the condition on the leaf's orgunit row o: migration 1 created
 * the view with "o.is_leaf"; migration 5 replaces it (OR_REPLACE "OR
 * REPLACE ") adding "o.current", so that a unit dropped from the config
 * leaves agg_value as it leaves the aggregator's rollups.
 */
#define AGG_VALUE_VIEW(OR_REPLACE, LEAF)                                                           \
        "CREATE " OR_REPLACE "VIEW edustat.agg_value AS\n"                                         \
        "SELECT a.unit, a.level, a.period, a.indicator, a.value, a.numerator,\n"                   \
        "       a.denominator, a.n_reporting, a.min, a.max, a.mean, a.cv,\n"                       \
        "       a.updated_at\n"                                                                    \
        "  FROM edustat.agg_rollup a\n"                                                            \
        "UNION ALL\n"                                                                              \
        "SELECT v.unit, o.level, v.period, v.indicator, v.value,\n"                                \
        "       NULL::numeric, NULL::numeric, 1,\n"                                                \
        "       v.value::float8, v.value::float8, v.value::float8,\n"                              \
        "       CASE WHEN v.value = 0 THEN NULL ELSE 0::float8 END,\n"                             \
        "       v.received_at\n"                                                                   \
        "  FROM edustat.unit_value v\n"                                                            \
        "  JOIN edustat.orgunit o ON o.code = v.unit AND " LEAF "\n"                               \
        "  JOIN edustat.indicator i ON i.code = v.indicator\n"                                     \
        "   AND i.kind IN ('count', 'amount')\n"                                                   \
        "UNION ALL\n"                                                                              \
        "SELECT s.unit, o.level, s.period, s.indicator,\n"                                         \
        "       CASE WHEN s.den = 0 THEN NULL\n"                                                   \
        "            ELSE s.multiplier * s.num / s.den END,\n"                                     \
        "       s.num, s.den, 1, s.x, s.x, s.x,\n"                                                 \
        "       CASE WHEN s.x <> 0 THEN 0::float8 END,\n"                                          \
        "       s.updated_at\n"                                                                    \
        "  FROM (SELECT g.*,\n"                                                                    \
        "               CASE WHEN g.has_num AND g.has_den AND g.den > 0\n"                         \
        "                    THEN (g.multiplier * g.num / g.den)::float8 END AS x\n"               \
        "          FROM (SELECT v.unit, v.period, r.code AS indicator, r.multiplier,\n"            \
        "                       coalesce(sum(v.value) FILTER\n"                                    \
        "                         (WHERE v.indicator = r.numerator), 0) AS num,\n"                 \
        "                       coalesce(sum(v.value) FILTER\n"                                    \
        "                         (WHERE v.indicator = r.denominator), 0) AS den,\n"               \
        "                       bool_or(v.indicator = r.numerator) AS has_num,\n"                  \
        "                       bool_or(v.indicator = r.denominator) AS has_den,\n"                \
        "                       max(v.received_at) AS updated_at\n"                                \
        "                  FROM edustat.unit_value v\n"                                            \
        "                  JOIN edustat.indicator r ON r.kind = 'ratio'\n"                         \
        "                   AND v.indicator IN (r.numerator, r.denominator)\n"                     \
        "                 GROUP BY v.unit, v.period, r.code, r.multiplier) g) s\n"                 \
        "  JOIN edustat.orgunit o ON o.code = s.unit AND " LEAF ";\n"

/*
 * Migration 1: the tables of issue 2.  docs/SQL.md explains every column;
 * keep the two together.
 *
 * value_history has no primary key on purpose: it is an append-only audit
 * trail written on every accepted change, and a unique index would slow
 * ingest for a guarantee the sink_state sequence already gives.  Its BRIN
 * index on received_at keeps "what arrived today" cheap at almost no cost.
 */
static const char migration1[] =
    "CREATE TABLE edustat.orgunit (\n"
    "  code text PRIMARY KEY,\n"
    "  parent text,\n"
    "  level text NOT NULL,\n"
    "  depth int NOT NULL,\n"
    "  name text NOT NULL,\n"
    "  stage text,\n"
    "  locality text,\n"
    "  ownership text,\n"
    "  is_leaf boolean NOT NULL,\n"
    "  loaded_at timestamptz NOT NULL DEFAULT now()\n"
    ");\n"
    "CREATE TABLE edustat.indicator (\n"
    "  code text PRIMARY KEY,\n"
    "  name_zh text,\n"
    "  name_en text,\n"
    "  unit text,\n"
    "  kind text NOT NULL CHECK (kind IN ('count', 'amount', 'ratio')),\n"
    "  numerator text,\n"
    "  denominator text,\n"
    "  multiplier numeric NOT NULL DEFAULT 1,\n"
    "  decimals int,\n"
    "  loaded_at timestamptz NOT NULL DEFAULT now()\n"
    ");\n"
    "CREATE TABLE edustat.unit_value (\n"
    "  unit text NOT NULL,\n"
    "  period text NOT NULL,\n"
    "  indicator text NOT NULL,\n"
    "  value numeric NOT NULL,\n"
    "  version bigint NOT NULL,\n"
    "  received_at timestamptz NOT NULL DEFAULT now(),\n"
    "  PRIMARY KEY (unit, period, indicator)\n"
    ");\n"
    "CREATE TABLE edustat.value_history (\n"
    "  unit text NOT NULL,\n"
    "  period text NOT NULL,\n"
    "  indicator text NOT NULL,\n"
    "  value numeric,\n"
    "  version bigint,\n"
    "  collector text,\n"
    "  batch_id text,\n"
    "  received_at timestamptz DEFAULT now()\n"
    ");\n"
    "CREATE INDEX value_history_received_at ON edustat.value_history\n"
    "  USING brin (received_at);\n"
    "CREATE TABLE edustat.rejected (\n"
    "  id bigserial PRIMARY KEY,\n"
    "  received_at timestamptz NOT NULL DEFAULT now(),\n"
    "  collector text,\n"
    "  source text,\n"
    "  batch_id text,\n"
    "  line int,\n"
    "  unit text,\n"
    "  period text,\n"
    "  indicator text,\n"
    "  raw text,\n"
    "  reason text NOT NULL,\n"
    "  UNIQUE (batch_id, line)\n"
    ");\n"
    "CREATE TABLE edustat.agg_rollup (\n"
    "  unit text NOT NULL,\n"
    "  level text NOT NULL,\n"
    "  period text NOT NULL,\n"
    "  indicator text NOT NULL,\n"
    "  value numeric,\n"
    "  numerator numeric,\n"
    "  denominator numeric,\n"
    "  n_reporting int NOT NULL,\n"
    "  min float8,\n"
    "  max float8,\n"
    "  mean float8,\n"
    "  cv float8,\n"
    "  updated_at timestamptz NOT NULL DEFAULT now(),\n"
    "  PRIMARY KEY (unit, period, indicator)\n"
    ");\n"
    "CREATE TABLE edustat.sink_state (\n"
    "  aggregator text PRIMARY KEY,\n"
    "  last_seq bigint NOT NULL,\n"
    "  updated_at timestamptz NOT NULL DEFAULT now()\n"
    ");\n" AGG_VALUE_VIEW("", "o.is_leaf");

/*
 * Migration 2: the read-only role city offices log in through.  Creating a
 * role needs CREATEROLE; a sink that lacks it logs a warning with the
 * statement for a superuser to run once, and carries on (the grants below
 * then apply as soon as the role exists).
 */
static const char migration2[] =
    "DO $$\n"
    "BEGIN\n"
    "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'edustat_reader') THEN\n"
    "    CREATE ROLE edustat_reader NOLOGIN;\n"
    "  END IF;\n"
    "EXCEPTION WHEN insufficient_privilege THEN\n"
    "  RAISE WARNING 'edustat: cannot create role edustat_reader; as a superuser run once: "
    "CREATE ROLE edustat_reader NOLOGIN';\n"
    "END $$;\n";

/*
 * Migration 3: breakdowns.  The aggregates of every unit with children per
 * category of its leaf schools: stage, locality, ownership.  Same columns
 * and semantics as agg_value, over the leaves in the category only.
 */
static const char migration3[] =
    "CREATE TABLE edustat.agg_breakdown (\n"
    "  unit text NOT NULL,\n"
    "  level text NOT NULL,\n"
    "  period text NOT NULL,\n"
    "  indicator text NOT NULL,\n"
    "  dimension text NOT NULL CHECK (dimension IN ('stage', 'locality', 'ownership')),\n"
    "  category text NOT NULL,\n"
    "  value numeric,\n"
    "  numerator numeric,\n"
    "  denominator numeric,\n"
    "  n_reporting int NOT NULL,\n"
    "  min float8,\n"
    "  max float8,\n"
    "  mean float8,\n"
    "  cv float8,\n"
    "  updated_at timestamptz NOT NULL DEFAULT now(),\n"
    "  PRIMARY KEY (unit, period, indicator, dimension, category));\n";

/*
 * Migration 4: what offices ask (issue 6).  Tables filled at every start
 * from the config: orgunit_closure (the current tree as (ancestor, unit)
 * pairs, so no view needs a recursive CTE), target, report_period and
 * balance_rule (the optional targets.csv, periods.csv, balance.csv).
 * first_report keeps, per (unit, period), when the first value arrived:
 * value_history has no index on (unit, period) and should not get one (it
 * would slow every ingest), so a statement-level trigger with a transition
 * table notes the earliest received_at of each COPY, one upsert per batch
 * (until migration 7, which has the sink note it instead).
 * The views read only these tables, agg_value and agg_breakdown; they are
 * explained in docs/SQL.md, and every table, view and column of the schema
 * gets a COMMENT (Chinese name first) so that psql's \d+ explains itself.
 */
static const char migration4[] =
    "CREATE TABLE edustat.orgunit_closure (\n"
    "  ancestor text NOT NULL,\n"
    "  unit text NOT NULL,\n"
    "  distance int NOT NULL,\n"
    "  PRIMARY KEY (ancestor, unit)\n"
    ");\n"
    "CREATE INDEX orgunit_closure_unit ON edustat.orgunit_closure (unit, distance);\n"
    "CREATE TABLE edustat.target (\n"
    "  line int PRIMARY KEY,\n"
    "  indicator text NOT NULL,\n"
    "  level text NOT NULL,\n"
    "  unit text,\n"
    "  stage text,\n"
    "  op text NOT NULL CHECK (op IN ('>=', '<=', '=', '>', '<')),\n"
    "  value numeric NOT NULL,\n"
    "  source text\n"
    ");\n"
    "CREATE TABLE edustat.report_period (\n"
    "  period text PRIMARY KEY,\n"
    "  opens date NOT NULL,\n"
    "  due date NOT NULL,\n"
    "  CHECK (opens <= due)\n"
    ");\n"
    "CREATE TABLE edustat.balance_rule (\n"
    "  standard text NOT NULL,\n"
    "  stage text NOT NULL,\n"
    "  indicator text NOT NULL,\n"
    "  school_min numeric,\n"
    "  cv_max numeric,\n"
    "  line int NOT NULL,\n"
    "  PRIMARY KEY (standard, stage, indicator)\n"
    ");\n"
    "CREATE TABLE edustat.first_report (\n"
    "  unit text NOT NULL,\n"
    "  period text NOT NULL,\n"
    "  first_at timestamptz NOT NULL,\n"
    "  PRIMARY KEY (unit, period)\n"
    ");\n"
    "CREATE FUNCTION edustat.first_report_note() RETURNS trigger\n"
    "LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  INSERT INTO edustat.first_report AS f (unit, period, first_at)\n"
    "  SELECT unit, period, min(received_at) FROM new_rows\n"
    "   WHERE received_at IS NOT NULL\n"
    "   GROUP BY unit, period\n"
    "  ON CONFLICT (unit, period) DO UPDATE SET first_at = EXCLUDED.first_at\n"
    "   WHERE EXCLUDED.first_at < f.first_at;\n"
    "  RETURN NULL;\n"
    "END $$;\n"
    "CREATE TRIGGER value_history_first_report AFTER INSERT ON edustat.value_history\n"
    "  REFERENCING NEW TABLE AS new_rows\n"
    "  FOR EACH STATEMENT EXECUTE FUNCTION edustat.first_report_note();\n"
    "INSERT INTO edustat.first_report (unit, period, first_at)\n"
    "SELECT unit, period, min(received_at) FROM edustat.value_history\n"
    " WHERE received_at IS NOT NULL\n"
    " GROUP BY unit, period;\n"
    "CREATE VIEW edustat.known_period AS\n"
    "SELECT period, p.opens, p.due\n"
    "  FROM edustat.report_period p\n"
    "  FULL JOIN (SELECT DISTINCT period FROM edustat.agg_rollup) r USING (period);\n"
    "CREATE VIEW edustat.target_status AS\n"
    "SELECT u.code AS unit, u.level, p.period, t.indicator, t.stage, v.value,\n"
    "       t.op, t.value AS target,\n"
    "       CASE t.op WHEN '>=' THEN v.value >= t.value\n"
    "                 WHEN '<=' THEN v.value <= t.value\n"
    "                 WHEN '=' THEN v.value = t.value\n"
    "                 WHEN '>' THEN v.value > t.value\n"
    "                 WHEN '<' THEN v.value < t.value END AS met,\n"
    "       v.value - t.value AS gap,\n"
    "       t.source\n"
    "  FROM edustat.target t\n"
    "  JOIN edustat.orgunit_closure self ON self.distance = 0\n"
    "   AND (t.unit IS NULL OR self.unit = t.unit)\n"
    "  JOIN edustat.orgunit u ON u.code = self.unit AND u.level = t.level\n"
    "  CROSS JOIN edustat.known_period p\n"
    "  LEFT JOIN LATERAL (\n"
    "        SELECT a.value FROM edustat.agg_value a\n"
    "         WHERE (t.stage IS NULL OR u.is_leaf)\n"
    "           AND a.unit = u.code AND a.period = p.period AND a.indicator = t.indicator\n"
    "        UNION ALL\n"
    "        SELECT b.value FROM edustat.agg_breakdown b\n"
    "         WHERE t.stage IS NOT NULL AND NOT u.is_leaf\n"
    "           AND b.unit = u.code AND b.period = p.period AND b.indicator = t.indicator\n"
    "           AND b.dimension = 'stage' AND b.category = t.stage) v ON true\n"
    " WHERE t.stage IS NULL\n"
    "    OR (u.is_leaf AND u.stage = t.stage)\n"
    "    OR (NOT u.is_leaf AND EXISTS (\n"
    "        SELECT 1 FROM edustat.orgunit_closure c\n"
    "          JOIN edustat.orgunit s ON s.code = c.unit\n"
    "         WHERE c.ancestor = u.code AND c.distance > 0\n"
    "           AND s.is_leaf AND s.stage = t.stage));\n"
    "CREATE VIEW edustat.completeness AS\n"
    "WITH school AS (\n"
    "  SELECT c.ancestor AS unit, p.period, p.due, s.code, s.name, s.stage,\n"
    "         EXISTS (SELECT 1 FROM edustat.unit_value v\n"
    "                  WHERE v.unit = s.code AND v.period = p.period) AS reported,\n"
    "         coalesce(f.first_at < (p.due + 1)::timestamptz, false) AS on_time\n"
    "    FROM edustat.orgunit_closure c\n"
    "    JOIN edustat.orgunit s ON s.code = c.unit AND s.is_leaf\n"
    "    CROSS JOIN edustat.report_period p\n"
    "    LEFT JOIN edustat.first_report f ON f.unit = s.code AND f.period = p.period\n"
    "   WHERE c.distance > 0\n"
    ")\n"
    "SELECT school.unit, u.level, school.period, school.due, school.stage,\n"
    "       count(*) AS expected,\n"
    "       count(*) FILTER (WHERE reported) AS reported,\n"
    "       count(*) FILTER (WHERE reported AND on_time) AS reported_on_time,\n"
    "       round(100.0 * count(*) FILTER (WHERE reported) / count(*), 2) AS rate,\n"
    "       coalesce(string_agg(school.code || ' ' || school.name, '; '\n"
    "                           ORDER BY school.code) FILTER (WHERE NOT reported), '') AS "
    "missing\n"
    "  FROM school\n"
    "  JOIN edustat.orgunit u ON u.code = school.unit\n"
    " GROUP BY GROUPING SETS ((school.unit, u.level, school.period, school.due),\n"
    "                         (school.unit, u.level, school.period, school.due, "
    "school.stage))\n"
    "HAVING GROUPING(school.stage) = 1 OR school.stage IS NOT NULL;\n"
    "CREATE VIEW edustat.balance_cv AS\n"
    "SELECT r.standard, u.code AS unit, u.level, p.period, r.stage, r.indicator,\n"
    "       b.mean, b.cv, r.cv_max, b.cv <= r.cv_max AS cv_ok\n"
    "  FROM edustat.balance_rule r\n"
    "  JOIN edustat.orgunit u ON NOT u.is_leaf\n"
    "  JOIN edustat.orgunit_closure self ON self.unit = u.code AND self.distance = 0\n"
    "  CROSS JOIN edustat.known_period p\n"
    "  LEFT JOIN edustat.agg_breakdown b ON b.unit = u.code AND b.period = p.period\n"
    "   AND b.indicator = r.indicator AND b.dimension = 'stage' AND b.category = r.stage\n"
    " WHERE r.cv_max IS NOT NULL\n"
    "   AND EXISTS (SELECT 1 FROM edustat.orgunit_closure c\n"
    "                 JOIN edustat.orgunit s ON s.code = c.unit\n"
    "                WHERE c.ancestor = u.code AND c.distance > 0\n"
    "                  AND s.is_leaf AND s.stage = r.stage);\n"
    "CREATE VIEW edustat.balance_school AS\n"
    "WITH val AS (\n"
    "  SELECT r.standard, s.code AS school, s.name, s.stage, p.period, r.indicator,\n"
    "         r.school_min, i.decimals,\n"
    "         CASE WHEN a.mean IS NOT NULL THEN a.value END AS value\n"
    "    FROM edustat.balance_rule r\n"
    "    JOIN edustat.orgunit s ON s.is_leaf AND s.stage = r.stage\n"
    "    JOIN edustat.orgunit_closure self ON self.unit = s.code AND self.distance = 0\n"
    "    CROSS JOIN edustat.known_period p\n"
    "    LEFT JOIN edustat.indicator i ON i.code = r.indicator\n"
    "    LEFT JOIN edustat.agg_value a ON a.unit = s.code AND a.period = p.period\n"
    "     AND a.indicator = r.indicator\n"
    "   WHERE r.school_min IS NOT NULL\n"
    "), chk AS (\n"
    "  SELECT val.*,\n"
    "         coalesce(value >= school_min, false) AS met,\n"
    "         coalesce(value >= 0.85 * school_min, false) AS above_85pct\n"
    "    FROM val\n"
    ")\n"
    "SELECT chk.standard, chk.school, chk.name, d.code AS district, chk.period, chk.stage,\n"
    "       count(*) AS n_indicators,\n"
    "       count(*) FILTER (WHERE met) AS n_met,\n"
    "       coalesce(string_agg(\n"
    "         CASE WHEN value IS NULL THEN indicator || ' no value'\n"
    "              ELSE indicator || ' ' || trim_scale(round(value, coalesce(decimals, 2)))\n"
    "                   || ' < ' || trim_scale(school_min)\n"
    "                   || CASE WHEN above_85pct THEN '' ELSE ' (below 85%)' END\n"
    "         END, '; ' ORDER BY indicator) FILTER (WHERE NOT met), '') AS missed,\n"
    "       bool_and(met OR above_85pct) AS all_above_85pct,\n"
    "       count(*) FILTER (WHERE met) >= count(*) - 1 AND bool_and(met OR above_85pct)\n"
    "         AS passes\n"
    "  FROM chk\n"
    "  LEFT JOIN (edustat.orgunit_closure dc\n"
    "             JOIN edustat.orgunit d ON d.code = dc.ancestor AND d.depth = 1)\n"
    "    ON dc.unit = chk.school\n"
    " GROUP BY chk.standard, chk.school, chk.name, d.code, chk.period, chk.stage;\n"
    "CREATE VIEW edustat.balance_status AS\n"
    "WITH cv AS (\n"
    "  SELECT standard, unit, period, stage,\n"
    "         count(*) AS n_indicators,\n"
    "         count(*) FILTER (WHERE cv_ok) AS n_cv_ok,\n"
    "         coalesce(string_agg(indicator || CASE WHEN cv IS NULL THEN ' no CV'\n"
    "                                          ELSE ' ' || round(cv::numeric, 3) || ' > ' "
    "|| cv_max\n"
    "                                          END, '; ' ORDER BY indicator)\n"
    "                  FILTER (WHERE cv_ok IS NOT TRUE), '') AS cv_failed\n"
    "    FROM edustat.balance_cv\n"
    "   GROUP BY standard, unit, period, stage\n"
    "), sch AS (\n"
    "  SELECT s.standard, c.ancestor AS unit, s.period, s.stage,\n"
    "         count(*) AS schools,\n"
    "         count(*) FILTER (WHERE s.passes) AS schools_passing\n"
    "    FROM edustat.balance_school s\n"
    "    JOIN edustat.orgunit_closure c ON c.unit = s.school AND c.distance > 0\n"
    "   GROUP BY s.standard, c.ancestor, s.period, s.stage\n"
    ")\n"
    "SELECT coalesce(cv.standard, sch.standard) AS standard,\n"
    "       u.code AS unit, u.level,\n"
    "       coalesce(cv.period, sch.period) AS period,\n"
    "       coalesce(cv.stage, sch.stage) AS stage,\n"
    "       coalesce(cv.n_indicators, 0) AS n_indicators,\n"
    "       coalesce(cv.n_cv_ok, 0) AS n_cv_ok,\n"
    "       coalesce(cv.cv_failed, '') AS cv_failed,\n"
    "       coalesce(sch.schools, 0) AS schools,\n"
    "       coalesce(sch.schools_passing, 0) AS schools_passing,\n"
    "       coalesce(cv.n_cv_ok = cv.n_indicators, true)\n"
    "         AND coalesce(sch.schools_passing = sch.schools, true) AS passes\n"
    "  FROM cv\n"
    "  FULL JOIN sch ON sch.standard = cv.standard AND sch.unit = cv.unit\n"
    "   AND sch.period = cv.period AND sch.stage = cv.stage\n"
    "  JOIN edustat.orgunit u ON u.code = coalesce(cv.unit, sch.unit);\n"
    "COMMENT ON TABLE edustat.schema_version IS '数据库结构版本. One row per migration "
    "edustat-sink has applied; the sink refuses a database newer than it knows.';\n"
    "COMMENT ON COLUMN edustat.schema_version.version IS '版本号. Migration number.';\n"
    "COMMENT ON COLUMN edustat.schema_version.applied_at IS '执行时间. When the migration "
    "was applied.';\n"
    "COMMENT ON TABLE edustat.orgunit IS '组织机构. The org-unit tree from orgunits.csv: "
    "city, districts, towns, schools. Upserted at every sink start; rows are never deleted, "
    "so old values still join to a name (orgunit_closure holds only the current tree).';\n"
    "COMMENT ON COLUMN edustat.orgunit.code IS '单位代码. Unit code, e.g. 211100 (盘锦市) "
    "or a 10-digit 学校标识码.';\n"
    "COMMENT ON COLUMN edustat.orgunit.parent IS '上级单位代码. Code of the parent unit; "
    "NULL only for the root.';\n"
    "COMMENT ON COLUMN edustat.orgunit.level IS '层级. Level label from the config: city, "
    "district, town, school...';\n"
    "COMMENT ON COLUMN edustat.orgunit.depth IS '层深. Distance from the root: city 0, "
    "district 1, ...';\n"
    "COMMENT ON COLUMN edustat.orgunit.name IS '单位名称. Name.';\n"
    "COMMENT ON COLUMN edustat.orgunit.stage IS '学段. Schools: kindergarten 幼儿园, "
    "primary 小学, junior 初中, senior 高中; NULL when not given.';\n"
    "COMMENT ON COLUMN edustat.orgunit.locality IS '城乡类别. Schools: urban 城区, town "
    "镇区, rural 乡村; NULL when not given.';\n"
    "COMMENT ON COLUMN edustat.orgunit.ownership IS '办学性质. Schools: public 公办, "
    "private 民办; NULL when not given.';\n"
    "COMMENT ON COLUMN edustat.orgunit.is_leaf IS '是否末级单位. True when no unit has this "
    "one as its parent (a school).';\n"
    "COMMENT ON COLUMN edustat.orgunit.loaded_at IS '载入时间. When the sink last loaded "
    "this row.';\n"
    "COMMENT ON TABLE edustat.indicator IS '指标目录. The indicator catalogue from "
    "indicators.csv. Upserted at every sink start; rows are never deleted.';\n"
    "COMMENT ON COLUMN edustat.indicator.code IS '指标代码. Indicator code, e.g. pupils, "
    "pupil_teacher_ratio.';\n"
    "COMMENT ON COLUMN edustat.indicator.name_zh IS '中文名称. Chinese name, e.g. 生师比.';\n"
    "COMMENT ON COLUMN edustat.indicator.name_en IS '英文名称. English name.';\n"
    "COMMENT ON COLUMN edustat.indicator.unit IS '计量单位. Unit of measure: 人, m², 元, "
    "%...';\n"
    "COMMENT ON COLUMN edustat.indicator.kind IS '类型. count (whole number), amount "
    "(decimal) or ratio (derived, never submitted).';\n"
    "COMMENT ON COLUMN edustat.indicator.numerator IS '分子指标. Ratios: the numerator "
    "indicator; else NULL.';\n"
    "COMMENT ON COLUMN edustat.indicator.denominator IS '分母指标. Ratios: the denominator "
    "indicator; else NULL.';\n"
    "COMMENT ON COLUMN edustat.indicator.multiplier IS '倍数. Ratios: value = multiplier × "
    "numerator ÷ denominator (100 for a percentage); 1 for other kinds.';\n"
    "COMMENT ON COLUMN edustat.indicator.decimals IS '小数位数. Amounts: most fraction "
    "digits a value may have; ratios: digits to show; counts: 0.';\n"
    "COMMENT ON COLUMN edustat.indicator.loaded_at IS '载入时间. When the sink last loaded "
    "this row.';\n"
    "COMMENT ON TABLE edustat.unit_value IS '最新上报值. The latest accepted value of every "
    "(unit, period, indicator) any unit submitted; a later submission replaces it.';\n"
    "COMMENT ON COLUMN edustat.unit_value.unit IS '单位代码. The submitting org unit.';\n"
    "COMMENT ON COLUMN edustat.unit_value.period IS '统计期. Period: 2024, 2025S1, 2025Q3, "
    "202509.';\n"
    "COMMENT ON COLUMN edustat.unit_value.indicator IS '指标代码. A count or amount "
    "indicator.';\n"
    "COMMENT ON COLUMN edustat.unit_value.value IS '数值. The value as submitted (exact "
    "decimal).';\n"
    "COMMENT ON COLUMN edustat.unit_value.version IS '版本. The submission version "
    "(collector start time in µs × 1024 + row index); higher wins.';\n"
    "COMMENT ON COLUMN edustat.unit_value.received_at IS '入库时间. When this version was "
    "committed.';\n"
    "COMMENT ON TABLE edustat.value_history IS '上报历史. Every accepted version of every "
    "key, append-only: the audit trail.';\n"
    "COMMENT ON COLUMN edustat.value_history.unit IS '单位代码. The submitting org unit.';\n"
    "COMMENT ON COLUMN edustat.value_history.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.value_history.indicator IS '指标代码. Indicator.';\n"
    "COMMENT ON COLUMN edustat.value_history.value IS '数值. The value of this version.';\n"
    "COMMENT ON COLUMN edustat.value_history.version IS '版本. As in unit_value.';\n"
    "COMMENT ON COLUMN edustat.value_history.collector IS '采集端. The collector that "
    "submitted it.';\n"
    "COMMENT ON COLUMN edustat.value_history.batch_id IS '批次. The batch it came in.';\n"
    "COMMENT ON COLUMN edustat.value_history.received_at IS '入库时间. When it was "
    "committed.';\n"
    "COMMENT ON TABLE edustat.rejected IS '被拒记录. Every refused record with its "
    "reason.';\n"
    "COMMENT ON COLUMN edustat.rejected.id IS '序号. Arrival order.';\n"
    "COMMENT ON COLUMN edustat.rejected.received_at IS '入库时间. When it was committed.';\n"
    "COMMENT ON COLUMN edustat.rejected.collector IS '采集端. The submitting collector.';\n"
    "COMMENT ON COLUMN edustat.rejected.source IS '文件名. The file as given to "
    "edustat-collector submit; NULL for values refused by PostgreSQL.';\n"
    "COMMENT ON COLUMN edustat.rejected.batch_id IS '批次. The batch.';\n"
    "COMMENT ON COLUMN edustat.rejected.line IS '行号. CSV line the row starts on; NULL for "
    "values refused by PostgreSQL.';\n"
    "COMMENT ON COLUMN edustat.rejected.unit IS '单位代码. As far as it could be read.';\n"
    "COMMENT ON COLUMN edustat.rejected.period IS '统计期. As far as it could be read.';\n"
    "COMMENT ON COLUMN edustat.rejected.indicator IS '指标代码. As far as it could be "
    "read.';\n"
    "COMMENT ON COLUMN edustat.rejected.raw IS '原始内容. The value cell, or the whole row "
    "when it could not be split.';\n"
    "COMMENT ON COLUMN edustat.rejected.reason IS '拒绝原因. Why, e.g. unknown unit "
    "1121999999.';\n"
    "COMMENT ON TABLE edustat.agg_rollup IS '汇总值(存储). Stored aggregates of units with "
    "children; read agg_value instead, which adds the schools.';\n"
    "COMMENT ON TABLE edustat.sink_state IS '写入状态. Last committed uow sequence per "
    "aggregator (replay protection).';\n"
    "COMMENT ON COLUMN edustat.sink_state.aggregator IS '汇总器. The aggregator id.';\n"
    "COMMENT ON COLUMN edustat.sink_state.last_seq IS '最后序号. Sequence of the last uow "
    "committed from it.';\n"
    "COMMENT ON COLUMN edustat.sink_state.updated_at IS '更新时间. When.';\n"
    "COMMENT ON VIEW edustat.agg_value IS '汇总值. One row per org unit (schools included), "
    "period and indicator with any value at or below the unit. Counts/amounts are sums; "
    "ratios are multiplier × Σnumerator ÷ Σdenominator.';\n"
    "COMMENT ON TABLE edustat.agg_breakdown IS '分类汇总. Aggregates of units with children "
    "per category of their schools (stage 学段, locality 城乡, ownership 办学性质): "
    "agg_value''s columns over the schools of the category only.';\n"
    "COMMENT ON TABLE edustat.orgunit_closure IS '上下级关系. Every (ancestor, unit) pair "
    "of the current org tree, self included (distance 0); reloaded at every sink start.';\n"
    "COMMENT ON COLUMN edustat.orgunit_closure.ancestor IS '上级单位代码. The unit itself "
    "or one of its ancestors.';\n"
    "COMMENT ON COLUMN edustat.orgunit_closure.unit IS '单位代码. The unit.';\n"
    "COMMENT ON COLUMN edustat.orgunit_closure.distance IS '层级差. Levels between them: 0 "
    "self, 1 parent, ...';\n"
    "COMMENT ON TABLE edustat.target IS '目标. targets.csv: the targets of bureau plans and "
    "national standards (empty without the file).';\n"
    "COMMENT ON COLUMN edustat.target.line IS '行号. Line in targets.csv.';\n"
    "COMMENT ON COLUMN edustat.target.indicator IS '指标代码. The indicator.';\n"
    "COMMENT ON COLUMN edustat.target.level IS '层级. The level the target applies to.';\n"
    "COMMENT ON COLUMN edustat.target.unit IS '单位代码. One unit, or NULL: every unit of "
    "the level.';\n"
    "COMMENT ON COLUMN edustat.target.stage IS '学段. NULL: all schools; else only schools "
    "of this stage.';\n"
    "COMMENT ON COLUMN edustat.target.op IS '比较符. >=, <=, =, > or <: value op target "
    "must hold.';\n"
    "COMMENT ON COLUMN edustat.target.value IS '目标值. The target.';\n"
    "COMMENT ON COLUMN edustat.target.source IS '依据. The document that sets it.';\n"
    "COMMENT ON TABLE edustat.report_period IS '统计期. periods.csv: the reporting rounds "
    "and their due dates (empty without the file).';\n"
    "COMMENT ON COLUMN edustat.report_period.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.report_period.opens IS '开始日期. First day of the round.';\n"
    "COMMENT ON COLUMN edustat.report_period.due IS '截止日期. Last day to report on time "
    "(the whole day counts).';\n"
    "COMMENT ON TABLE edustat.balance_rule IS '均衡标准. balance.csv: per standard, stage "
    "and indicator the minimum each school must reach and the largest between-school CV "
    "(empty without the file).';\n"
    "COMMENT ON COLUMN edustat.balance_rule.standard IS '标准. Name of the standard, e.g. "
    "优质均衡 (教督〔2017〕6号).';\n"
    "COMMENT ON COLUMN edustat.balance_rule.stage IS '学段. primary 小学, junior 初中.';\n"
    "COMMENT ON COLUMN edustat.balance_rule.indicator IS '指标代码. The indicator.';\n"
    "COMMENT ON COLUMN edustat.balance_rule.school_min IS '校级最低值. Each school''s value "
    "must be at least this; NULL: not checked per school.';\n"
    "COMMENT ON COLUMN edustat.balance_rule.cv_max IS '差异系数上限. The between-school CV "
    "must be at most this; NULL: not checked.';\n"
    "COMMENT ON COLUMN edustat.balance_rule.line IS '行号. Line in balance.csv.';\n"
    "COMMENT ON TABLE edustat.first_report IS '首次上报. When each unit first reported "
    "anything for a period (kept by a trigger on value_history).';\n"
    "COMMENT ON COLUMN edustat.first_report.unit IS '单位代码. The unit.';\n"
    "COMMENT ON COLUMN edustat.first_report.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.first_report.first_at IS '首次入库时间. Commit time of its "
    "first accepted value for the period.';\n"
    "COMMENT ON VIEW edustat.known_period IS '统计期. The periods of periods.csv plus every "
    "period with data; opens and due are NULL for periods not in periods.csv.';\n"
    "COMMENT ON COLUMN edustat.known_period.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.known_period.opens IS '开始日期. From periods.csv.';\n"
    "COMMENT ON COLUMN edustat.known_period.due IS '截止日期. From periods.csv.';\n"
    "COMMENT ON VIEW edustat.target_status IS '目标达成情况. Every target against every "
    "unit it applies to, for every known period.';\n"
    "COMMENT ON COLUMN edustat.target_status.unit IS '单位代码. The unit.';\n"
    "COMMENT ON COLUMN edustat.target_status.level IS '层级. Its level.';\n"
    "COMMENT ON COLUMN edustat.target_status.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.target_status.indicator IS '指标代码. The indicator.';\n"
    "COMMENT ON COLUMN edustat.target_status.stage IS '学段. NULL: all schools (agg_value); "
    "else the stage''s breakdown (agg_breakdown), or the school''s own value.';\n"
    "COMMENT ON COLUMN edustat.target_status.value IS '实际值. The unit''s value; NULL when "
    "it has none (not reported, or a ratio with denominator 0).';\n"
    "COMMENT ON COLUMN edustat.target_status.op IS '比较符. >=, <=, =, > or <.';\n"
    "COMMENT ON COLUMN edustat.target_status.target IS '目标值. The target.';\n"
    "COMMENT ON COLUMN edustat.target_status.met IS '是否达标. value op target; NULL when "
    "value is NULL.';\n"
    "COMMENT ON COLUMN edustat.target_status.gap IS '差距. value − target.';\n"
    "COMMENT ON COLUMN edustat.target_status.source IS '依据. The document that sets the "
    "target.';\n"
    "COMMENT ON VIEW edustat.completeness IS '上报完整性. Per unit with children, period of "
    "periods.csv and stage (NULL = all): the schools expected, reported, reported on time, "
    "and the missing ones.';\n"
    "COMMENT ON COLUMN edustat.completeness.unit IS '单位代码. The unit.';\n"
    "COMMENT ON COLUMN edustat.completeness.level IS '层级. Its level.';\n"
    "COMMENT ON COLUMN edustat.completeness.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.completeness.due IS '截止日期. Due date from periods.csv.';\n"
    "COMMENT ON COLUMN edustat.completeness.stage IS '学段. NULL: all schools; else this "
    "stage.';\n"
    "COMMENT ON COLUMN edustat.completeness.expected IS '应报学校数. Schools (leaf units) "
    "below the unit.';\n"
    "COMMENT ON COLUMN edustat.completeness.reported IS '已报学校数. Schools with any "
    "stored value for the period.';\n"
    "COMMENT ON COLUMN edustat.completeness.reported_on_time IS '按时上报学校数. Schools "
    "whose first value was committed by the end of the due date.';\n"
    "COMMENT ON COLUMN edustat.completeness.rate IS '上报率(%). 100 × reported ÷ expected, "
    "2 decimals.';\n"
    "COMMENT ON COLUMN edustat.completeness.missing IS '未报学校. \"code name; ...\" of the "
    "schools that have not reported, by code; empty when none.';\n"
    "COMMENT ON VIEW edustat.balance_cv IS '校际差异系数. Per standard, unit with children, "
    "period, stage and indicator: the between-school CV of the stage''s schools against "
    "cv_max.';\n"
    "COMMENT ON COLUMN edustat.balance_cv.standard IS '标准. From balance.csv.';\n"
    "COMMENT ON COLUMN edustat.balance_cv.unit IS '单位代码. The unit (a county, the "
    "city...).';\n"
    "COMMENT ON COLUMN edustat.balance_cv.level IS '层级. Its level.';\n"
    "COMMENT ON COLUMN edustat.balance_cv.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.balance_cv.stage IS '学段. Stage.';\n"
    "COMMENT ON COLUMN edustat.balance_cv.indicator IS '指标代码. The indicator.';\n"
    "COMMENT ON COLUMN edustat.balance_cv.mean IS '均值. Pupil-weighted mean of the schools "
    "(Σnumerator ÷ Σdenominator).';\n"
    "COMMENT ON COLUMN edustat.balance_cv.cv IS '差异系数. Weighted between-school CV "
    "(agg_breakdown.cv); NULL when no school has a value.';\n"
    "COMMENT ON COLUMN edustat.balance_cv.cv_max IS '差异系数上限. From balance.csv.';\n"
    "COMMENT ON COLUMN edustat.balance_cv.cv_ok IS '是否达标. cv <= cv_max; NULL when cv is "
    "NULL.';\n"
    "COMMENT ON VIEW edustat.balance_school IS '学校资源配置达标情况. Per standard, school, "
    "period: the thresholds it meets and misses. Passes: at most one miss and every miss at "
    "or above 85% of its minimum.';\n"
    "COMMENT ON COLUMN edustat.balance_school.standard IS '标准. From balance.csv.';\n"
    "COMMENT ON COLUMN edustat.balance_school.school IS '学校代码. The school.';\n"
    "COMMENT ON COLUMN edustat.balance_school.name IS '学校名称. Its name.';\n"
    "COMMENT ON COLUMN edustat.balance_school.district IS '所属区县. Its ancestor one level "
    "below the root (a district or county).';\n"
    "COMMENT ON COLUMN edustat.balance_school.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.balance_school.stage IS '学段. Its stage.';\n"
    "COMMENT ON COLUMN edustat.balance_school.n_indicators IS '指标数. Indicators with a "
    "school_min for the stage.';\n"
    "COMMENT ON COLUMN edustat.balance_school.n_met IS '达标指标数. Indicators at or above "
    "the minimum.';\n"
    "COMMENT ON COLUMN edustat.balance_school.missed IS '未达标指标. \"indicator value < "
    "minimum\" per miss, \"(below 85%)\" added when under 85% of it; \"indicator no value\" "
    "when the school has no value (for a ratio: did not report both parts); empty when "
    "none.';\n"
    "COMMENT ON COLUMN edustat.balance_school.all_above_85pct IS '未达标项均不低于85%. "
    "Every miss is at or above 85% of its minimum.';\n"
    "COMMENT ON COLUMN edustat.balance_school.passes IS '学校达标. n_met >= n_indicators − "
    "1 and all_above_85pct.';\n"
    "COMMENT ON VIEW edustat.balance_status IS '优质均衡资源配置状态. Per standard, unit "
    "with children, period and stage: CVs within limits, schools passing, and whether the "
    "unit passes.';\n"
    "COMMENT ON COLUMN edustat.balance_status.standard IS '标准. From balance.csv.';\n"
    "COMMENT ON COLUMN edustat.balance_status.unit IS '单位代码. The unit (a county, the "
    "city...).';\n"
    "COMMENT ON COLUMN edustat.balance_status.level IS '层级. Its level.';\n"
    "COMMENT ON COLUMN edustat.balance_status.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.balance_status.stage IS '学段. Stage.';\n"
    "COMMENT ON COLUMN edustat.balance_status.n_indicators IS '差异系数指标数. Indicators "
    "with a cv_max.';\n"
    "COMMENT ON COLUMN edustat.balance_status.n_cv_ok IS '差异系数达标数. Of those, the "
    "ones with cv <= cv_max.';\n"
    "COMMENT ON COLUMN edustat.balance_status.cv_failed IS '未达标差异系数. \"indicator cv "
    "> cv_max\" or \"indicator no CV\" per failure; empty when none.';\n"
    "COMMENT ON COLUMN edustat.balance_status.schools IS '学校数. Schools of the stage "
    "below the unit.';\n"
    "COMMENT ON COLUMN edustat.balance_status.schools_passing IS '达标学校数. Of those, the "
    "ones that pass (balance_school.passes).';\n"
    "COMMENT ON COLUMN edustat.balance_status.passes IS '是否达标. Every CV within its "
    "limit and every school passing.';\n"
    "DO $$\n"
    "DECLARE\n"
    "  rel text;\n"
    "  c text[];\n"
    "BEGIN\n"
    "  FOREACH rel IN ARRAY ARRAY['agg_rollup', 'agg_value', 'agg_breakdown'] LOOP\n"
    "    FOREACH c SLICE 1 IN ARRAY ARRAY[\n"
    "      ['unit', '单位代码. The org unit.'],\n"
    "      ['level', '层级. Its level label.'],\n"
    "      ['period', '统计期. Period.'],\n"
    "      ['indicator', '指标代码. Count, amount or ratio indicator.'],\n"
    "      ['value', '数值. Count/amount: Σ of the values at or below the unit. Ratio: "
    "multiplier × numerator ÷ denominator, NULL when the denominator is 0.'],\n"
    "      ['numerator', '分子合计. Ratios: Σ of the numerator indicator at or below the "
    "unit; else NULL.'],\n"
    "      ['denominator', '分母合计. Ratios: Σ of the denominator indicator at or below "
    "the unit; else NULL.'],\n"
    "      ['n_reporting', '上报单位数. Units at or below (itself included) storing the "
    "indicator; a ratio: its numerator or denominator.'],\n"
    "      ['min', '校际最小值. Smallest value among the schools (leaves) below whose own "
    "value is defined.'],\n"
    "      ['max', '校际最大值. Largest such school value.'],\n"
    "      ['mean', '校际均值. Mean over those schools; a ratio: weighted by each school''s "
    "denominator (= Σnum ÷ Σden).'],\n"
    "      ['cv', '差异系数. σ ÷ mean over those schools (population σ; a ratio: "
    "denominator-weighted, the MoE method); NULL when mean is 0.'],\n"
    "      ['updated_at', '更新时间. When the row last changed.']] LOOP\n"
    "      EXECUTE format('COMMENT ON COLUMN edustat.%I.%I IS %L', rel, c[1], c[2]);\n"
    "    END LOOP;\n"
    "  END LOOP;\n"
    "END $$;\n"
    "COMMENT ON COLUMN edustat.agg_breakdown.dimension IS '分类维度. stage 学段, locality "
    "城乡类别 or ownership 办学性质.';\n"
    "COMMENT ON COLUMN edustat.agg_breakdown.category IS '类别. The schools'' attribute "
    "value, e.g. primary, rural, private.';\n";

/*
 * Migration 5: units dropped from orgunits.csv.  Their orgunit row stays
 * (old values and history still join to a name) with current = false; the
 * aggregator leaves their values out of every rollup, so agg_value leaves
 * out their own rows too, and the config load deletes their stored
 * aggregates.  unit_value keeps their values: nothing accepted is lost, and
 * putting the unit back in the config brings them back into the rollups.
 */
static const char migration5[] =
    "ALTER TABLE edustat.orgunit ADD COLUMN current boolean NOT NULL DEFAULT true;\n"
    "COMMENT ON COLUMN edustat.orgunit.current IS '现行. true when the unit is in the "
    "orgunits.csv being served; false for a unit dropped from it (closed, merged): its values "
    "stay in unit_value and value_history but count in no aggregate.';\n" AGG_VALUE_VIEW(
        "OR REPLACE ", "o.is_leaf AND o.current");

/*
 * Migration 6: room for updates in place.  Every unit of work rewrites the
 * aggregate rows of the units above its changes, the city's and the
 * province's in each one, and corrections rewrite unit_value rows.  With
 * free space on the page and no indexed column changed, PostgreSQL updates
 * a row in place (a HOT update): no new index entry, and the primary key,
 * five text columns in agg_breakdown, is not searched again for it.  Full
 * pages (the default fillfactor of 100) forced every update to another page
 * and into the index; the aggregate upserts were half the sink's time.
 * Aggregate tables are small and all-update: half of each page is kept
 * free.  unit_value is mostly written once: a tenth.  The setting applies
 * to pages written from now on; a database filled before it gets it for
 * old pages with VACUUM FULL (docs/SQL.md).
 */
static const char migration6[] = "ALTER TABLE edustat.agg_rollup SET (fillfactor = 50);\n"
                                 "ALTER TABLE edustat.agg_breakdown SET (fillfactor = 50);\n"
                                 "ALTER TABLE edustat.unit_value SET (fillfactor = 90);\n";

/*
 * Migration 7: first_report without a trigger.  The statement trigger of
 * migration 4 copied every COPY into value_history into its transition
 * table and grouped it: measured, 40 % of that COPY's time (44 against
 * 26 ms for a uow of 20,000 fresh values).  Only a new key can be a unit's
 * first value for a period, and the sink knows which keys are new (the
 * aggregator flags them), so it notes their (unit, period) pairs itself in
 * the same transaction, ON CONFLICT DO NOTHING: commits are serial, so the
 * row that is there is the earliest (sink/writer.c, first_report_note).
 */
static const char migration7[] =
    "DROP TRIGGER value_history_first_report ON edustat.value_history;\n"
    "DROP FUNCTION edustat.first_report_note();\n"
    "COMMENT ON TABLE edustat.first_report IS '首次上报. When each unit first reported "
    "anything for a period (noted by the sink when it stores a unit''s first value "
    "for the period).';\n";

/*
 * Migration 8: a value is written once.  Until now every accepted value
 * went into unit_value and, a second time, into value_history: a fresh
 * load wrote each record twice, and that second COPY was a fifth of the
 * sink's time (2.4 of 12 s for 2M records, bench/e2e.sh's statement
 * table).  Now unit_value carries the collector
 * and batch of its current value, and value_replaced holds only the
 * versions a later one replaced: a correction moves the old row there in
 * the same statement that overwrites it (sink/writer.c, value_replace), and
 * a version replaced within one uow goes there directly.  value_history is
 * a view of both, with the same columns and rows as the table it replaces,
 * so queries, docs/SQL.md and the tests' checks read it as before.
 *
 * The data migration pairs each stored value with its own history row (same
 * key and version) for the collector and batch, then leaves in the renamed
 * table only the rows that were replaced.  It rewrites every unit_value
 * row once: on a large database, expect it to take about as long as
 * loading the values did.
 */
static const char migration8[] =
    "ALTER TABLE edustat.unit_value ADD COLUMN collector text, ADD COLUMN batch_id text;\n"
    "UPDATE edustat.unit_value u SET collector = h.collector, batch_id = h.batch_id\n"
    "  FROM edustat.value_history h\n"
    " WHERE h.unit = u.unit AND h.period = u.period AND h.indicator = u.indicator\n"
    "   AND h.version = u.version;\n"
    "ALTER TABLE edustat.value_history RENAME TO value_replaced;\n"
    "ALTER INDEX edustat.value_history_received_at RENAME TO value_replaced_received_at;\n"
    "DELETE FROM edustat.value_replaced h USING edustat.unit_value u\n"
    " WHERE h.unit = u.unit AND h.period = u.period AND h.indicator = u.indicator\n"
    "   AND h.version = u.version;\n"
    "CREATE VIEW edustat.value_history AS\n"
    "SELECT unit, period, indicator, value, version, collector, batch_id, received_at\n"
    "  FROM edustat.value_replaced\n"
    "UNION ALL\n"
    "SELECT unit, period, indicator, value, version, collector, batch_id, received_at\n"
    "  FROM edustat.unit_value;\n"
    "COMMENT ON COLUMN edustat.unit_value.collector IS '采集端. The collector that submitted "
    "this version (NULL for a value stored before migration 8 without a history row).';\n"
    "COMMENT ON COLUMN edustat.unit_value.batch_id IS '批次. The batch this version came "
    "in.';\n"
    /* The columns keep their comments through the rename; the table's
     * changes meaning. */
    "COMMENT ON TABLE edustat.value_replaced IS '被替换版本. Every accepted version that a "
    "later one replaced, append-only; with unit_value it makes value_history.';\n"
    "COMMENT ON VIEW edustat.value_history IS '上报历史. Every accepted version of every "
    "key: the replaced ones (value_replaced) and the current one (unit_value). The audit "
    "trail.';\n"
    "COMMENT ON COLUMN edustat.value_history.unit IS '单位代码. The submitting org unit.';\n"
    "COMMENT ON COLUMN edustat.value_history.period IS '统计期. Period.';\n"
    "COMMENT ON COLUMN edustat.value_history.indicator IS '指标代码. Indicator.';\n"
    "COMMENT ON COLUMN edustat.value_history.value IS '数值. The value of this version.';\n"
    "COMMENT ON COLUMN edustat.value_history.version IS '版本. As in unit_value.';\n"
    "COMMENT ON COLUMN edustat.value_history.collector IS '采集端. The collector that "
    "submitted it.';\n"
    "COMMENT ON COLUMN edustat.value_history.batch_id IS '批次. The batch it came in.';\n"
    "COMMENT ON COLUMN edustat.value_history.received_at IS '入库时间. When it was "
    "committed.';\n";

/*
 * Migration 9: an aggregator's identity.  Each hello of an aggregator id
 * starts a new epoch, committed here before the state is streamed; every
 * uow carries the epoch of the session that sent it, and the sink applies
 * only uows of the current epoch (sink/writer.c), so a second process
 * started under the same id fences the first instead of sharing its
 * sequence numbers.  A batch is identified by (collector, batch_id): two
 * collectors may choose the same id, and their rejections are both kept.
 */
static const char migration9[] =
    "ALTER TABLE edustat.sink_state ADD COLUMN epoch bigint NOT NULL DEFAULT 0,\n"
    "  ADD COLUMN epoch_at timestamptz;\n"
    "ALTER TABLE edustat.rejected DROP CONSTRAINT rejected_batch_id_line_key;\n"
    "ALTER TABLE edustat.rejected ADD CONSTRAINT rejected_collector_batch_id_line_key\n"
    "  UNIQUE (collector, batch_id, line);\n"
    "COMMENT ON COLUMN edustat.sink_state.epoch IS '会话代数. Raised by each hello of this "
    "aggregator id; the sink applies only uows of the current epoch.';\n"
    "COMMENT ON COLUMN edustat.sink_state.epoch_at IS '接管时间. When the current epoch''s "
    "hello arrived.';\n";

static const char *const migrations[] = {NULL,       migration1, migration2, migration3,
                                         migration4, migration5, migration6, migration7,
                                         migration8, migration9};

/*
 * Run at every start, after the migrations: edustat_reader may read every
 * table and view of the schema, now and later (default privileges cover
 * tables this role creates in future migrations), and nothing else.
 */
static const char grants[] =
    "DO $$\n"
    "BEGIN\n"
    "  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'edustat_reader') THEN\n"
    "    GRANT USAGE ON SCHEMA edustat TO edustat_reader;\n"
    "    GRANT SELECT ON ALL TABLES IN SCHEMA edustat TO edustat_reader;\n"
    "    ALTER DEFAULT PRIVILEGES IN SCHEMA edustat GRANT SELECT ON TABLES TO "
    "edustat_reader;\n"
    "  END IF;\n"
    "END $$;\n";

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]) - 1)

int
migrate_version(void)
{
        return NMIGRATIONS;
}

const char *
migrate_sql(int version)
{
        if (version < 1 || version > NMIGRATIONS)
                return NULL;
        return migrations[version];
}

enum db_result
migrate_run(PGconn *conn, char *err, size_t errlen)
{
        char lock[96], ins[96], why[512];
        enum db_result r;
        PGresult *res;
        long have;
        int v;

        if ((r = pg_exec(conn, "BEGIN", err, errlen)) != DB_OK)
                return r;
        /* The lock comes before CREATE SCHEMA IF NOT EXISTS, which is not
         * safe against a concurrent creator on its own. */
        snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", MIGRATE_LOCK_KEY);
        if ((r = pg_exec(conn, lock, err, errlen)) != DB_OK ||
            (r = pg_exec(conn,
                         "CREATE SCHEMA IF NOT EXISTS edustat;\n"
                         "CREATE TABLE IF NOT EXISTS edustat.schema_version (\n"
                         "  version int PRIMARY KEY,\n"
                         "  applied_at timestamptz NOT NULL DEFAULT now())",
                         err, errlen)) != DB_OK)
                goto fail;
        res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM edustat.schema_version");
        if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
                r = pg_result_fail(conn, res, err, errlen);
                goto fail;
        }
        have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (have > NMIGRATIONS) {
                strlcpyf(err, errlen,
                         "database schema edustat is at version %ld, newer than this "
                         "sink's %d",
                         have, NMIGRATIONS);
                r = DB_ERROR;
                goto fail;
        }
        for (v = (int)have + 1; v <= NMIGRATIONS; v++) {
                snprintf(ins, sizeof ins,
                         "INSERT INTO edustat.schema_version (version) VALUES (%d)", v);
                if ((r = pg_exec(conn, migrations[v], why, sizeof why)) != DB_OK ||
                    (r = pg_exec(conn, ins, why, sizeof why)) != DB_OK) {
                        strlcpyf(err, errlen, "migration %d: %s", v, why);
                        goto fail;
                }
                log_info("schema edustat: applied migration %d", v);
        }
        if ((r = pg_exec(conn, grants, err, errlen)) != DB_OK)
                goto fail;
        if ((r = pg_exec(conn, "COMMIT", err, errlen)) != DB_OK)
                return r;
        return DB_OK;
fail:
        pg_rollback(conn);
        return r;
}
