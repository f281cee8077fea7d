/*
 * schema: migrations, the config load, failure classification and the
 * COPY text encoder.  See schema.h.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "log.h"
#include "options.h"
#include "orgtree.h"
#include "schema.h"
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

const char *
schema_migration_sql(int version)
{
        if (version < 1 || version > NMIGRATIONS)
                return NULL;
        return migrations[version];
}

static int
sqlstate_is(const char *state, const char *want)
{
        return state != NULL && strcmp(state, want) == 0;
}

enum db_result
schema_failure_kind(const PGconn *conn, const PGresult *res)
{
        const char *state;

        if (conn == NULL || PQstatus(conn) == CONNECTION_BAD || res == NULL)
                return DB_RETRY;
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state == NULL || strlen(state) != 5)
                /* An error libpq made up itself on a live connection ("no
                 * COPY in progress"): a bug here, which a retry would only
                 * repeat.  A dead socket was caught above. */
                return DB_ERROR;
        /* Connection exceptions, insufficient resources (disk full, too many
         * connections), the server shutting down or not yet up: none of them
         * is about the data, so the same work is run again on a new
         * connection.  Serialization failures and deadlocks are retried too. */
        if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
            sqlstate_is(state, "57P01") || sqlstate_is(state, "57P02") ||
            sqlstate_is(state, "57P03") || sqlstate_is(state, "40001") ||
            sqlstate_is(state, "40P01"))
                return DB_RETRY;
        return DB_ERROR;
}

char *
schema_error_format(const PGconn *conn, const PGresult *res, char *err, size_t errlen)
{
        const char *state = NULL, *msg = NULL, *detail = NULL;
        char *p;

        if (res != NULL) {
                state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
                detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
                if (msg == NULL || *msg == '\0')
                        msg = PQresultErrorMessage(res);
        }
        if ((msg == NULL || *msg == '\0') && conn != NULL)
                msg = PQerrorMessage(conn);
        if (msg == NULL || *msg == '\0')
                msg = "unknown error";
        /* The detail names the offending key of a constraint violation. */
        if (state != NULL)
                strlcpyf(err, errlen, "%s%s%s (SQLSTATE %s)", msg, detail != NULL ? ": " : "",
                         detail != NULL ? detail : "", state);
        else
                strlcpyf(err, errlen, "%s", msg);
        /* libpq messages end in a newline and may span lines; logs want one. */
        for (p = err; *p != '\0'; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t')
                        *p = ' ';
        while (p > err && p[-1] == ' ')
                *--p = '\0';
        return err;
}

/* Record a failed result in err, free it and return its kind. */
static enum db_result
fail_result(PGconn *conn, PGresult *res, char *err, size_t errlen)
{
        enum db_result kind = schema_failure_kind(conn, res);

        schema_error_format(conn, res, err, errlen);
        PQclear(res);
        return kind;
}

enum db_result
schema_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
        PGresult *res = PQexec(conn, sql);

        if (res == NULL ||
            (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK))
                return fail_result(conn, res, err, errlen);
        PQclear(res);
        return DB_OK;
}

void
schema_rollback(PGconn *conn)
{
        PGresult *res = PQexec(conn, "ROLLBACK");

        PQclear(res);
}

enum db_result
schema_migrate(PGconn *conn, char *err, size_t errlen)
{
        char lock[96], ins[96], why[512];
        enum db_result r;
        PGresult *res;
        long have;
        int v;

        if ((r = schema_exec(conn, "BEGIN", err, errlen)) != DB_OK)
                return r;
        /* The lock comes before CREATE SCHEMA IF NOT EXISTS, which is not
         * safe against a concurrent creator on its own. */
        snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", SCHEMA_LOCK_KEY);
        if ((r = schema_exec(conn, lock, err, errlen)) != DB_OK ||
            (r = schema_exec(conn,
                             "CREATE SCHEMA IF NOT EXISTS edustat;\n"
                             "CREATE TABLE IF NOT EXISTS edustat.schema_version (\n"
                             "  version int PRIMARY KEY,\n"
                             "  applied_at timestamptz NOT NULL DEFAULT now())",
                             err, errlen)) != DB_OK)
                goto fail;
        res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM edustat.schema_version");
        if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
                r = fail_result(conn, res, err, errlen);
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
                if ((r = schema_exec(conn, migrations[v], why, sizeof why)) != DB_OK ||
                    (r = schema_exec(conn, ins, why, sizeof why)) != DB_OK) {
                        strlcpyf(err, errlen, "migration %d: %s", v, why);
                        goto fail;
                }
                log_info("schema edustat: applied migration %d", v);
        }
        if ((r = schema_exec(conn, grants, err, errlen)) != DB_OK)
                goto fail;
        if ((r = schema_exec(conn, "COMMIT", err, errlen)) != DB_OK)
                return r;
        return DB_OK;
fail:
        schema_rollback(conn);
        return r;
}

/* "" and NULL both mean "not given": stored as NULL. */
static void
copy_opt(struct pgcopy *c, const char *s)
{
        pgcopy_str(c, s != NULL && *s != '\0' ? s : NULL);
}

static enum db_result
load_orgunits(PGconn *conn, const struct orgtree *t, char *err, size_t errlen)
{
        struct pgcopy *c = xmalloc(sizeof *c);
        enum db_result r;
        size_t i;

        r = schema_exec(conn,
                        "CREATE TEMP TABLE stage_orgunit (code text, parent text, level text,"
                        " depth int, name text, stage text, locality text, ownership text,"
                        " is_leaf boolean) ON COMMIT DROP",
                        err, errlen);
        if (r == DB_OK)
                r = pgcopy_begin(c, conn, "COPY pg_temp.stage_orgunit FROM STDIN", err, errlen);
        if (r != DB_OK)
                goto out;
        for (i = 0; i < t->n; i++) {
                const struct orgunit *u = &t->u[i];

                pgcopy_str(c, u->code);
                copy_opt(c, u->parent_code);
                pgcopy_str(c, u->level);
                pgcopy_u64(c, u->depth);
                pgcopy_str(c, u->name);
                copy_opt(c, u->stage);
                copy_opt(c, u->locality);
                copy_opt(c, u->ownership);
                pgcopy_bool(c, u->is_leaf);
                pgcopy_row_end(c);
        }
        if ((r = pgcopy_end(c, err, errlen)) != DB_OK)
                goto out;
        /*
         * Where the tree changed (a unit added, dropped or moved, or a school
         * put in another stage, locality or ownership category), the units
         * above the change in the old tree keep rows the aggregator will not
         * write again: an indicator only a dropped school reported, the
         * slice a school left.
         * Their stored aggregates go; the aggregator, restarted with the same
         * config, rewrites every aggregate that still exists.  Read before
         * the upsert below replaces the old parent links.
         */
        r = schema_exec(
            conn,
            "WITH RECURSIVE changed (code) AS ("
            "  SELECT s.code FROM pg_temp.stage_orgunit s"
            "    LEFT JOIN edustat.orgunit o ON o.code = s.code"
            "   WHERE o.code IS NULL OR NOT o.current"
            "      OR o.parent IS DISTINCT FROM s.parent"
            "      OR o.stage IS DISTINCT FROM s.stage"
            "      OR o.locality IS DISTINCT FROM s.locality"
            "      OR o.ownership IS DISTINCT FROM s.ownership"
            "  UNION"
            "  SELECT o.code FROM edustat.orgunit o WHERE o.current AND NOT EXISTS"
            "    (SELECT 1 FROM pg_temp.stage_orgunit s WHERE s.code = o.code)),"
            " above (code) AS ("
            "  SELECT o.parent FROM edustat.orgunit o JOIN changed c ON c.code = o.code"
            "   WHERE o.parent IS NOT NULL"
            "  UNION"
            "  SELECT o.parent FROM edustat.orgunit o JOIN above a ON a.code = o.code"
            "   WHERE o.parent IS NOT NULL),"
            " r AS (DELETE FROM edustat.agg_rollup WHERE unit IN (SELECT code FROM above))"
            " DELETE FROM edustat.agg_breakdown WHERE unit IN (SELECT code FROM above)",
            err, errlen);
        if (r == DB_OK)
                r = schema_exec(
                    conn,
                    "INSERT INTO edustat.orgunit (code, parent, level, depth, name, stage,"
                    " locality, ownership, is_leaf)"
                    " SELECT code, parent, level, depth, name, stage, locality, ownership,"
                    " is_leaf FROM pg_temp.stage_orgunit"
                    " ON CONFLICT (code) DO UPDATE SET parent = EXCLUDED.parent,"
                    " level = EXCLUDED.level, depth = EXCLUDED.depth,"
                    " name = EXCLUDED.name, stage = EXCLUDED.stage,"
                    " locality = EXCLUDED.locality, ownership = EXCLUDED.ownership,"
                    " is_leaf = EXCLUDED.is_leaf, current = true, loaded_at = now();\n"
                    "UPDATE edustat.orgunit o SET current = false, loaded_at = now()"
                    " WHERE o.current AND NOT EXISTS"
                    " (SELECT 1 FROM pg_temp.stage_orgunit s WHERE s.code = o.code)",
                    err, errlen);
        /*
         * A unit that lost its last child is a leaf now: the agg_value view
         * derives its rows from unit_value, so rolled-up rows stored for it
         * earlier would show twice.  A unit dropped from the config has no
         * aggregate any more (migration 5).
         */
        if (r == DB_OK)
                r = schema_exec(conn,
                                "DELETE FROM edustat.agg_rollup a USING edustat.orgunit o"
                                " WHERE o.code = a.unit AND (o.is_leaf OR NOT o.current);\n"
                                "DELETE FROM edustat.agg_breakdown a USING edustat.orgunit o"
                                " WHERE o.code = a.unit AND (o.is_leaf OR NOT o.current)",
                                err, errlen);
out:
        free(c);
        return r;
}

static enum db_result
load_indicators(PGconn *conn, const struct catalog *cat, char *err, size_t errlen)
{
        struct pgcopy *c = xmalloc(sizeof *c);
        enum db_result r;
        size_t i;

        r = schema_exec(conn,
                        "CREATE TEMP TABLE stage_indicator (code text, name_zh text,"
                        " name_en text, unit text, kind text, numerator text, denominator text,"
                        " multiplier numeric, decimals int) ON COMMIT DROP",
                        err, errlen);
        if (r == DB_OK)
                r = pgcopy_begin(c, conn, "COPY pg_temp.stage_indicator FROM STDIN", err, errlen);
        if (r != DB_OK)
                goto out;
        for (i = 0; i < cat->n; i++) {
                const struct indicator *ind = &cat->ind[i];
                int ratio = ind->kind == IND_RATIO;

                pgcopy_str(c, ind->code);
                copy_opt(c, ind->name_zh);
                copy_opt(c, ind->name_en);
                copy_opt(c, ind->unit);
                pgcopy_str(c, indicator_kind_name(ind->kind));
                pgcopy_str(c, ratio && ind->num >= 0 ? cat->ind[ind->num].code : NULL);
                pgcopy_str(c, ratio && ind->den >= 0 ? cat->ind[ind->den].code : NULL);
                /* The multiplier as written keeps it exact ("100", not
                 * 100.000000000000000001 from a long double). */
                pgcopy_str(c, ratio && ind->multiplier_text != NULL && *ind->multiplier_text
                                  ? ind->multiplier_text
                                  : "1");
                pgcopy_u64(c, ind->scale);
                pgcopy_row_end(c);
        }
        if ((r = pgcopy_end(c, err, errlen)) != DB_OK)
                goto out;
        r = schema_exec(conn,
                        "INSERT INTO edustat.indicator (code, name_zh, name_en, unit, kind,"
                        " numerator, denominator, multiplier, decimals)"
                        " SELECT code, name_zh, name_en, unit, kind, numerator, denominator,"
                        " multiplier, decimals FROM pg_temp.stage_indicator"
                        " ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh,"
                        " name_en = EXCLUDED.name_en, unit = EXCLUDED.unit,"
                        " kind = EXCLUDED.kind, numerator = EXCLUDED.numerator,"
                        " denominator = EXCLUDED.denominator,"
                        " multiplier = EXCLUDED.multiplier, decimals = EXCLUDED.decimals,"
                        " loaded_at = now()",
                        err, errlen);
out:
        free(c);
        return r;
}

/*
 * The current tree as (ancestor, unit, distance) pairs, replacing the
 * previous ones: units dropped from the config keep their orgunit row but
 * leave the closure, so the views see only the tree being served.  The
 * pairs come from the parent links, the same lists orgtree_ancestors()
 * answers, so a tree built by hand (as the writer's tests do) works too.
 */
static enum db_result
load_closure(PGconn *conn, const struct orgtree *t, char *err, size_t errlen)
{
        struct pgcopy *c = xmalloc(sizeof *c);
        enum db_result r;

        r = schema_exec(conn, "DELETE FROM edustat.orgunit_closure", err, errlen);
        if (r == DB_OK)
                r = pgcopy_begin(c, conn,
                                 "COPY edustat.orgunit_closure (ancestor, unit, distance)"
                                 " FROM STDIN",
                                 err, errlen);
        if (r != DB_OK)
                goto out;
        for (size_t i = 0; i < t->n; i++) {
                unsigned long long k = 0;

                /* The loader refused cycles, so every walk ends at the root. */
                for (int a = (int)i; a >= 0; a = t->u[a].parent, k++) {
                        pgcopy_str(c, t->u[a].code);
                        pgcopy_str(c, t->u[i].code);
                        pgcopy_u64(c, k);
                        pgcopy_row_end(c);
                }
        }
        r = pgcopy_end(c, err, errlen);
out:
        free(c);
        return r;
}

/* Replace the rows of targets.csv. */
static enum db_result
load_targets(PGconn *conn, const struct config *cfg, const struct options *o, char *err,
             size_t errlen)
{
        struct pgcopy *c = xmalloc(sizeof *c);
        enum db_result r;

        r = schema_exec(conn, "DELETE FROM edustat.target", err, errlen);
        if (r == DB_OK)
                r = pgcopy_begin(c, conn,
                                 "COPY edustat.target (line, indicator, level, unit, stage, op,"
                                 " value, source) FROM STDIN",
                                 err, errlen);
        if (r != DB_OK)
                goto out;
        for (size_t i = 0; i < o->ntargets; i++) {
                const struct target *t = &o->targets[i];

                pgcopy_u64(c, t->line);
                pgcopy_str(c, cfg->cat->ind[t->indicator].code);
                pgcopy_str(c, t->level);
                pgcopy_str(c, t->unit >= 0 ? cfg->tree->u[t->unit].code : NULL);
                copy_opt(c, t->stage);
                pgcopy_str(c, t->op);
                pgcopy_str(c, t->value);
                copy_opt(c, t->source);
                pgcopy_row_end(c);
        }
        r = pgcopy_end(c, err, errlen);
out:
        free(c);
        return r;
}

/* Replace the rows of periods.csv. */
static enum db_result
load_periods(PGconn *conn, const struct options *o, char *err, size_t errlen)
{
        struct pgcopy *c = xmalloc(sizeof *c);
        enum db_result r;

        r = schema_exec(conn, "DELETE FROM edustat.report_period", err, errlen);
        if (r == DB_OK)
                r = pgcopy_begin(c, conn,
                                 "COPY edustat.report_period (period, opens, due) FROM STDIN", err,
                                 errlen);
        if (r != DB_OK)
                goto out;
        for (size_t i = 0; i < o->nperiods; i++) {
                pgcopy_str(c, o->periods[i].period);
                pgcopy_str(c, o->periods[i].opens);
                pgcopy_str(c, o->periods[i].due);
                pgcopy_row_end(c);
        }
        r = pgcopy_end(c, err, errlen);
out:
        free(c);
        return r;
}

/* Replace the rows of balance.csv. */
static enum db_result
load_balance(PGconn *conn, const struct config *cfg, const struct options *o, char *err,
             size_t errlen)
{
        struct pgcopy *c = xmalloc(sizeof *c);
        enum db_result r;

        r = schema_exec(conn, "DELETE FROM edustat.balance_rule", err, errlen);
        if (r == DB_OK)
                r = pgcopy_begin(c, conn,
                                 "COPY edustat.balance_rule (standard, stage, indicator,"
                                 " school_min, cv_max, line) FROM STDIN",
                                 err, errlen);
        if (r != DB_OK)
                goto out;
        for (size_t i = 0; i < o->nrules; i++) {
                const struct balance_rule *b = &o->rules[i];

                pgcopy_str(c, b->standard);
                pgcopy_str(c, b->stage);
                pgcopy_str(c, cfg->cat->ind[b->indicator].code);
                pgcopy_str(c, b->school_min);
                pgcopy_str(c, b->cv_max);
                pgcopy_u64(c, b->line);
                pgcopy_row_end(c);
        }
        r = pgcopy_end(c, err, errlen);
out:
        free(c);
        return r;
}

enum db_result
schema_load_config(PGconn *conn, const struct config *cfg, size_t *nunits, size_t *nind, char *err,
                   size_t errlen)
{
        struct options *o;
        char why[512];
        enum db_result r;

        /* Checked before any database work: a bad file is a config error,
         * reported like one, not a failed transaction. */
        if ((o = options_load(cfg, err, errlen)) == NULL)
                return DB_ERROR;
        if ((r = schema_exec(conn, "BEGIN", err, errlen)) != DB_OK)
                goto out;
        if ((r = load_orgunits(conn, cfg->tree, why, sizeof why)) != DB_OK ||
            (r = load_closure(conn, cfg->tree, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/orgunits.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = load_indicators(conn, cfg->cat, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/indicators.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = load_targets(conn, cfg, o, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/targets.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = load_periods(conn, o, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/periods.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = load_balance(conn, cfg, o, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/balance.csv: %s", cfg->dir, why);
                goto fail;
        }
        /* Fresh statistics now, not when autovacuum gets round to it: with
         * none, the planner guesses these small tables hold thousands of
         * rows and plans the views for that. */
        if ((r = schema_exec(conn,
                             "ANALYZE edustat.orgunit, edustat.orgunit_closure, edustat.target,"
                             " edustat.report_period, edustat.balance_rule",
                             err, errlen)) != DB_OK)
                goto fail;
        if ((r = schema_exec(conn, "COMMIT", err, errlen)) != DB_OK)
                goto out;
        *nunits = cfg->tree->n;
        *nind = cfg->cat->n;
        log_info("loaded %zu targets, %zu periods and %zu balance rules from %s", o->ntargets,
                 o->nperiods, o->nrules, cfg->dir);
        goto out;
fail:
        schema_rollback(conn);
out:
        options_destroy(&o);
        return r;
}

/* COPY text encoder. */

static void
pgcopy_flush(struct pgcopy *c)
{
        if (c->failed || c->len == 0) {
                c->len = 0;
                return;
        }
        if (PQputCopyData(c->conn, c->buf, (int)c->len) != 1)
                c->failed = 1;
        c->len = 0;
}

/* Room for n more bytes (n is small: one escaped byte or a number). */
static void
pgcopy_room(struct pgcopy *c, size_t n)
{
        assert(n <= sizeof c->buf);
        if (c->len + n > sizeof c->buf)
                pgcopy_flush(c);
}

static void
pgcopy_sep(struct pgcopy *c)
{
        if (!c->first) {
                pgcopy_room(c, 1);
                c->buf[c->len++] = '\t';
        }
        c->first = 0;
}

enum db_result
pgcopy_begin(struct pgcopy *c, PGconn *conn, const char *sql, char *err, size_t errlen)
{
        PGresult *res;

        c->conn = conn;
        c->failed = 0;
        c->binary = 0;
        c->first = 1;
        c->len = 0;
        c->rows = 0;
        c->bad[0] = '\0';
        res = PQexec(conn, sql);
        if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN)
                return fail_result(conn, res, err, errlen);
        PQclear(res);
        return DB_OK;
}

void
pgcopy_text(struct pgcopy *c, const char *p, size_t len)
{
        size_t i;

        if (p == NULL) {
                pgcopy_null(c);
                return;
        }
        pgcopy_sep(c);
        for (i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)p[i];
                char esc = 0;

                switch (ch) {
                case '\\':
                        esc = '\\';
                        break;
                case '\t':
                        esc = 't';
                        break;
                case '\n':
                        esc = 'n';
                        break;
                case '\r':
                        esc = 'r';
                        break;
                case '\0':
                        /* Written as an escaped backslash then '0': the text
                         * "\0", since PostgreSQL text cannot hold NUL. */
                        pgcopy_room(c, 3);
                        c->buf[c->len++] = '\\';
                        c->buf[c->len++] = '\\';
                        c->buf[c->len++] = '0';
                        continue;
                default:
                        break;
                }
                pgcopy_room(c, 2);
                if (esc != 0) {
                        c->buf[c->len++] = '\\';
                        c->buf[c->len++] = esc;
                } else {
                        c->buf[c->len++] = (char)ch;
                }
        }
}

void
pgcopy_str(struct pgcopy *c, const char *s)
{
        pgcopy_text(c, s, s != NULL ? strlen(s) : 0);
}

void
pgcopy_null(struct pgcopy *c)
{
        pgcopy_sep(c);
        pgcopy_room(c, 2);
        c->buf[c->len++] = '\\';
        c->buf[c->len++] = 'N';
}

static void
pgcopy_raw(struct pgcopy *c, const char *s, size_t n)
{
        pgcopy_sep(c);
        pgcopy_room(c, n);
        memcpy(c->buf + c->len, s, n);
        c->len += n;
}

void
pgcopy_u64(struct pgcopy *c, unsigned long long v)
{
        char num[24];
        int n = snprintf(num, sizeof num, "%llu", v);

        pgcopy_raw(c, num, (size_t)n);
}

void
pgcopy_i64(struct pgcopy *c, long long v)
{
        char num[24];
        int n = snprintf(num, sizeof num, "%lld", v);

        pgcopy_raw(c, num, (size_t)n);
}

void
pgcopy_double(struct pgcopy *c, double v)
{
        char num[40];
        int n = snprintf(num, sizeof num, "%.17g", v);

        pgcopy_raw(c, num, (size_t)n);
}

void
pgcopy_bool(struct pgcopy *c, int v)
{
        pgcopy_raw(c, v ? "t" : "f", 1);
}

/* COPY binary encoder: big-endian integers, length-prefixed fields. */

static void
put_be16(struct pgcopy *c, uint16_t v)
{
        c->buf[c->len++] = (char)(v >> 8);
        c->buf[c->len++] = (char)v;
}

static void
put_be32(struct pgcopy *c, uint32_t v)
{
        put_be16(c, (uint16_t)(v >> 16));
        put_be16(c, (uint16_t)v);
}

/* Whether the binary COPY still takes fields (no send failure, no bad field). */
static int
bin_live(const struct pgcopy *c)
{
        return !c->failed && c->bad[0] == '\0';
}

static void
bin_bad(struct pgcopy *c, const char *what, const char *p, size_t len, const char *why)
{
        int n = len > 64 ? 64 : (int)len;

        snprintf(c->bad, sizeof c->bad, "edustat-sink: %s: \"%.*s%s\" %s", what, n, p,
                 len > 64 ? "..." : "", why);
}

enum db_result
pgcopy_begin_binary(struct pgcopy *c, PGconn *conn, const char *sql, char *err, size_t errlen)
{
        /* The signature, a flags field and a header extension length of 0. */
        static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
        enum db_result r = pgcopy_begin(c, conn, sql, err, errlen);

        if (r != DB_OK)
                return r;
        c->binary = 1;
        memcpy(c->buf, header, sizeof header);
        c->len = sizeof header;
        return DB_OK;
}

void
pgcopy_bin_row(struct pgcopy *c, int nfields)
{
        if (!bin_live(c))
                return;
        pgcopy_room(c, 2);
        put_be16(c, (uint16_t)nfields);
        c->rows++;
}

void
pgcopy_bin_null(struct pgcopy *c)
{
        if (!bin_live(c))
                return;
        pgcopy_room(c, 4);
        put_be32(c, 0xffffffffu);
}

void
pgcopy_bin_text(struct pgcopy *c, const char *p, size_t len)
{
        size_t i, nul = 0;

        if (p == NULL) {
                pgcopy_bin_null(c);
                return;
        }
        if (!bin_live(c))
                return;
        for (i = 0; i < len; i++)
                nul += p[i] == '\0';
        if (len + nul > INT32_MAX) {
                bin_bad(c, "text field", p, len, "is too long");
                return;
        }
        pgcopy_room(c, 4);
        put_be32(c, (uint32_t)(len + nul));
        if (nul == 0) {
                while (len > 0) {
                        size_t n;

                        pgcopy_room(c, len < sizeof c->buf ? len : sizeof c->buf);
                        n = sizeof c->buf - c->len < len ? sizeof c->buf - c->len : len;
                        memcpy(c->buf + c->len, p, n);
                        c->len += n;
                        p += n;
                        len -= n;
                }
                return;
        }
        for (i = 0; i < len; i++) {
                pgcopy_room(c, 2);
                if (p[i] == '\0') {
                        c->buf[c->len++] = '\\';
                        c->buf[c->len++] = '0';
                } else {
                        c->buf[c->len++] = p[i];
                }
        }
}

void
pgcopy_bin_int4(struct pgcopy *c, unsigned long long v, const char *what)
{
        char num[24];

        if (!bin_live(c))
                return;
        if (v > INT32_MAX) {
                snprintf(num, sizeof num, "%llu", v);
                bin_bad(c, what, num, strlen(num), "is out of range for integer");
                return;
        }
        pgcopy_room(c, 8);
        put_be32(c, 4);
        put_be32(c, (uint32_t)v);
}

void
pgcopy_bin_float8(struct pgcopy *c, double v)
{
        uint64_t bits;

        if (!bin_live(c))
                return;
        memcpy(&bits, &v, sizeof bits);
        pgcopy_room(c, 12);
        put_be32(c, 8);
        put_be32(c, (uint32_t)(bits >> 32));
        put_be32(c, (uint32_t)bits);
}

/*
 * numeric's binary form (numeric_send): ndigits, weight, sign, dscale, then
 * ndigits base-10000 digits, the first worth 10000^weight.  Leading and
 * trailing zero digits are allowed (numeric_recv strips them), so every
 * decimal digit goes into the group its power of ten falls in.
 */
#define NUMERIC_POS     0x0000
#define NUMERIC_NEG     0x4000
#define NUMERIC_EXP_MAX 1000
#define NUMERIC_GROUPS  ((PGCOPY_NUMERIC_MAX + 2 * NUMERIC_EXP_MAX) / 4 + 4)

/* floor(e / 4) for any sign of e. */
static long
group_of(long e)
{
        return e >= 0 ? e / 4 : -((-e + 3) / 4);
}

void
pgcopy_bin_numeric(struct pgcopy *c, const char *p, size_t len, const char *what)
{
        static const uint16_t pow10[4] = {1, 10, 100, 1000};
        uint16_t groups[NUMERIC_GROUPS];
        const char *digits = NULL, *end = p + len, *q = p;
        size_t ndig = 0, nfrac = 0, i;
        long exp = 0, point, first, last, dscale;
        int neg = 0, seen_point = 0;

        if (!bin_live(c))
                return;
        if (p == NULL) {
                pgcopy_bin_null(c);
                return;
        }
        if (len > PGCOPY_NUMERIC_MAX)
                goto bad;
        if (q < end && (*q == '-' || *q == '+'))
                neg = *q++ == '-';
        digits = q;
        for (; q < end; q++) {
                if (*q >= '0' && *q <= '9') {
                        ndig++;
                        nfrac += seen_point;
                } else if (*q == '.' && !seen_point) {
                        seen_point = 1;
                } else {
                        break;
                }
        }
        if (ndig == 0)
                goto bad;
        if (q < end && (*q == 'e' || *q == 'E')) {
                int eneg = 0, edig = 0;

                q++;
                if (q < end && (*q == '-' || *q == '+'))
                        eneg = *q++ == '-';
                for (; q < end && *q >= '0' && *q <= '9'; q++, edig++)
                        if ((exp = exp * 10 + (*q - '0')) > NUMERIC_EXP_MAX)
                                goto bad;
                if (edig == 0)
                        goto bad;
                if (eneg)
                        exp = -exp;
        }
        if (q != end)
                goto bad;
        /* Digit k (0-based, points skipped) is worth 10^(point - 1 - k). */
        point = (long)(ndig - nfrac) + exp;
        dscale = (long)nfrac - exp;
        if (dscale < 0)
                dscale = 0;
        first = group_of(point - 1);
        last = group_of(point - (long)ndig);
        assert(first - last + 1 <= NUMERIC_GROUPS);
        memset(groups, 0, sizeof(uint16_t) * (size_t)(first - last + 1));
        for (q = digits, i = 0; i < ndig; q++) {
                long e;

                if (*q == '.')
                        continue;
                e = point - 1 - (long)i++;
                groups[first - group_of(e)] += (uint16_t)((*q - '0') * pow10[e - 4 * group_of(e)]);
        }
        pgcopy_room(c, 12);
        put_be32(c, (uint32_t)(8 + 2 * (first - last + 1)));
        put_be16(c, (uint16_t)(first - last + 1));
        put_be16(c, (uint16_t)(int16_t)first);
        put_be16(c, neg ? NUMERIC_NEG : NUMERIC_POS);
        put_be16(c, (uint16_t)dscale);
        for (i = 0; i < (size_t)(first - last + 1); i++) {
                pgcopy_room(c, 2);
                put_be16(c, groups[i]);
        }
        return;
bad:
        bin_bad(c, what, p, len, "is not a decimal number");
}

void
pgcopy_row_end(struct pgcopy *c)
{
        pgcopy_room(c, 1);
        c->buf[c->len++] = '\n';
        c->first = 1;
        c->rows++;
}

enum db_result
pgcopy_end(struct pgcopy *c, char *err, size_t errlen)
{
        enum db_result r = DB_OK;
        PGresult *res;
        int got = 0;

        if (c->binary && c->bad[0] == '\0') {
                pgcopy_room(c, 2);
                put_be16(c, 0xffff); /* the file trailer: a field count of -1 */
        }
        pgcopy_flush(c);
        /* End the COPY even after a send failure: libpq needs the copy state
         * closed before the connection (if it is still up) can be used.  A
         * field that could not be encoded fails it with its description. */
        if (PQputCopyEnd(c->conn, c->failed   ? "edustat-sink: send failed"
                                  : c->bad[0] ? c->bad
                                              : NULL) != 1) {
                schema_error_format(c->conn, NULL, err, errlen);
                return DB_RETRY;
        }
        while ((res = PQgetResult(c->conn)) != NULL) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK && r == DB_OK) {
                        r = schema_failure_kind(c->conn, res);
                        schema_error_format(c->conn, res, err, errlen);
                }
                got = 1;
                PQclear(res);
        }
        /* A chunk that could not be sent means the socket is gone, whatever
         * the server said about the COPY we then aborted. */
        if (c->failed || (r == DB_OK && !got)) {
                schema_error_format(c->conn, NULL, err, errlen);
                r = DB_RETRY;
        }
        return r;
}
