/*
 * check: recompute every aggregate inside PostgreSQL and compare with
 * agg_value and agg_breakdown.  See check.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "migrate.h"
#include "pg.h"
#include "util.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

/*
 * The comparison, one statement.  Reading it top down:
 *
 *   tree        every (descendant, ancestor) pair, self included, walked
 *               down from the roots (units without a parent).  Only the
 *               current tree: units dropped from the config (current =
 *               false) count in no aggregate, in the aggregator either.
 *   unit        each current org unit with its parent, level, categories
 *               and whether it is a leaf, from the parent links themselves
 *               (not is_leaf).
 *   up          the pairs whose ancestor has children: only those units
 *               get a computed (non-leaf) row.
 *   slice       each leaf with a parent, once per dimension in which it has
 *               a category (NULL or '' is none).  Only leaves: what a unit
 *               with children stores itself is in no breakdown.
 *   plain       the stored count/amount values with their unit's parent.
 *   plain_part  the values grouped by parent: Σ, n, and over leaves n, Σx,
 *               Σx², min, max.  Every part is a sum, a count, a min or a
 *               max, so a unit's aggregate is the combination of the parts
 *               of every parent at or below it plus its own value; that
 *               saves joining each value to each of its ancestors.
 *   bplain_part the leaf values per parent and slice; every term is a
 *               leaf's, so n, Σ and the leaf terms coincide.
 *   plain_sum   that combination per non-leaf unit, plus one row per leaf
 *               value (its own aggregate: n = 1), plus the breakdowns: the
 *               bplain_part rows combined the same way.  dimension and
 *               category are '' for agg_value's rows, a value the CHECK of
 *               agg_breakdown.dimension never allows, so the join keys of
 *               the two tables never meet and need no NULL handling.
 *   part        each ratio's numerator and denominator indicator.
 *   ratio_own   per unit and ratio: its own numerator and denominator
 *               (NULL when it stores none).
 *   ratio       with the leaf terms of the weighted statistics: a leaf
 *               qualifies when it stores both parts and den > 0; then
 *               qn = num, qd = den, qs = num²/den (to 30 decimals) and
 *               x = m·num/den.
 *   ratio_part, bratio_part, ratio_sum   as for plain.  A breakdown row
 *               exists where a leaf of the slice stores the numerator or
 *               the denominator, n_reporting counts those leaves and the
 *               sums are over them: the aggregator's rows (state.c).
 *   expected    the contract's columns.  count/amount: mean = Σx/n and
 *               cv = σ/mean = √(nΣx² − (Σx)²) / Σx, exact up to the one
 *               square root.  Ratio: mean = m·Σnum/Σden and, with
 *               S = Σ num²/den over the qualifying leaves,
 *               cv = √(S·Σden − (Σnum)²) / Σnum  (m cancels), which is the
 *               denominator-weighted σ/mean of the MoE method.
 *   stored      agg_value's rows (slice '', '') and agg_breakdown's.
 *   j, b, m     the FULL JOIN with stored, one flag per column, and one
 *               row per differing column (only "row" when a side is missing).
 *
 * The numbers come out as text, so the report shows exactly what is
 * stored and what was expected.
 */
static const char check_sql_text[] =
    "WITH RECURSIVE\n"
    "tree (descendant, ancestor) AS (\n"
    "  SELECT code, code FROM edustat.orgunit WHERE parent IS NULL AND current\n"
    "  UNION ALL\n"
    "  SELECT c.code, x.ancestor\n"
    "    FROM tree t\n"
    "    JOIN edustat.orgunit c ON c.parent = t.descendant AND c.current\n"
    "   CROSS JOIN LATERAL (VALUES (t.ancestor),\n"
    "          (CASE WHEN t.ancestor = t.descendant THEN c.code END)) x (ancestor)\n"
    "   WHERE x.ancestor IS NOT NULL\n"
    "),\n"
    "unit AS (\n"
    "  SELECT o.code, o.parent, o.level, p.parent IS NULL AS leaf, o.stage, o.locality,\n"
    "         o.ownership\n"
    "    FROM edustat.orgunit o\n"
    "    LEFT JOIN (SELECT DISTINCT parent FROM edustat.orgunit WHERE current) p\n"
    "      ON p.parent = o.code\n"
    "   WHERE o.current\n"
    "),\n"
    "up AS (\n"
    "  SELECT t.descendant, t.ancestor\n"
    "    FROM tree t JOIN unit a ON a.code = t.ancestor AND NOT a.leaf\n"
    "),\n"
    "slice AS (\n"
    "  SELECT u.code AS unit, u.parent, d.dimension, d.category\n"
    "    FROM unit u\n"
    "   CROSS JOIN LATERAL (VALUES ('stage', u.stage), ('locality', u.locality),\n"
    "          ('ownership', u.ownership)) d (dimension, category)\n"
    "   WHERE u.leaf AND u.parent IS NOT NULL AND d.category <> ''\n"
    "),\n"
    "plain AS (\n"
    "  SELECT v.unit, u.parent, u.leaf, v.period, v.indicator, v.value\n"
    "    FROM edustat.unit_value v\n"
    "    JOIN edustat.indicator i ON i.code = v.indicator AND i.kind IN ('count', 'amount')\n"
    "    JOIN unit u ON u.code = v.unit\n"
    "),\n"
    "plain_part AS (\n"
    "  SELECT v.parent AS unit, v.period, v.indicator,\n"
    "         sum(v.value) AS s, count(*) AS n,\n"
    "         count(*) FILTER (WHERE v.leaf) AS nl,\n"
    "         sum(v.value) FILTER (WHERE v.leaf) AS ls,\n"
    "         sum(v.value * v.value) FILTER (WHERE v.leaf) AS lq,\n"
    "         min(v.value) FILTER (WHERE v.leaf) AS lmin,\n"
    "         max(v.value) FILTER (WHERE v.leaf) AS lmax\n"
    "    FROM plain v\n"
    "   WHERE v.parent IS NOT NULL\n"
    "   GROUP BY v.parent, v.period, v.indicator\n"
    "),\n"
    "bplain_part AS (\n"
    "  SELECT s.parent AS unit, v.period, v.indicator, s.dimension, s.category,\n"
    "         sum(v.value) AS s, count(*) AS n, sum(v.value * v.value) AS lq,\n"
    "         min(v.value) AS lmin, max(v.value) AS lmax\n"
    "    FROM plain v JOIN slice s ON s.unit = v.unit\n"
    "   GROUP BY s.parent, v.period, v.indicator, s.dimension, s.category\n"
    "),\n"
    "plain_sum AS (\n"
    "  SELECT p.unit, p.period, p.indicator, '' AS dimension, '' AS category, sum(p.s) AS s,\n"
    "         sum(p.n) AS n, sum(p.nl) AS nl,\n"
    "         sum(p.ls) AS ls, sum(p.lq) AS lq, min(p.lmin) AS lmin, max(p.lmax) AS lmax\n"
    "    FROM (SELECT up.ancestor AS unit, p.period, p.indicator, p.s, p.n, p.nl, p.ls, p.lq,\n"
    "                 p.lmin, p.lmax\n"
    "            FROM plain_part p JOIN up ON up.descendant = p.unit\n"
    "          UNION ALL\n"
    "          SELECT v.unit, v.period, v.indicator, v.value, 1, 0, NULL, NULL, NULL, NULL\n"
    "            FROM plain v\n"
    "           WHERE NOT v.leaf) p\n"
    "   GROUP BY p.unit, p.period, p.indicator\n"
    "  UNION ALL\n"
    "  SELECT v.unit, v.period, v.indicator, '', '', v.value, 1, 1, v.value,\n"
    "         v.value * v.value, v.value, v.value\n"
    "    FROM plain v\n"
    "   WHERE v.leaf\n"
    "  UNION ALL\n"
    "  SELECT up.ancestor, p.period, p.indicator, p.dimension, p.category, sum(p.s), sum(p.n),\n"
    "         sum(p.n), sum(p.s), sum(p.lq), min(p.lmin), max(p.lmax)\n"
    "    FROM bplain_part p JOIN up ON up.descendant = p.unit\n"
    "   GROUP BY up.ancestor, p.period, p.indicator, p.dimension, p.category\n"
    "),\n"
    "part (ratio, m, ind, is_num) AS (\n"
    "  SELECT code, multiplier, numerator, true FROM edustat.indicator WHERE kind = 'ratio'\n"
    "  UNION ALL\n"
    "  SELECT code, multiplier, denominator, false FROM edustat.indicator WHERE kind = 'ratio'\n"
    "),\n"
    "ratio_own AS (\n"
    "  SELECT v.unit, v.period, p.ratio AS indicator, p.m,\n"
    "         sum(v.value) FILTER (WHERE p.is_num) AS num,\n"
    "         sum(v.value) FILTER (WHERE NOT p.is_num) AS den\n"
    "    FROM edustat.unit_value v JOIN part p ON p.ind = v.indicator\n"
    "   GROUP BY v.unit, v.period, p.ratio, p.m\n"
    "),\n"
    "ratio AS (\n"
    "  SELECT r.unit, u.parent, u.leaf, r.period, r.indicator, r.m, r.num, r.den,\n"
    "         CASE WHEN u.leaf AND r.den > 0 THEN r.num END AS qn,\n"
    "         CASE WHEN u.leaf AND r.den > 0 AND r.num IS NOT NULL THEN r.den END AS qd,\n"
    "         CASE WHEN u.leaf AND r.den > 0 THEN round(r.num * r.num, 30) / r.den END AS qs,\n"
    "         CASE WHEN u.leaf AND r.den > 0 THEN r.m * r.num / r.den END AS x\n"
    "    FROM ratio_own r\n"
    "    JOIN unit u ON u.code = r.unit\n"
    "),\n"
    "ratio_part AS (\n"
    "  SELECT r.parent AS unit, r.period, r.indicator, r.m, sum(r.num) AS num,\n"
    "         sum(r.den) AS den, count(*) AS n, sum(r.qn) AS qn, sum(r.qd) AS qd,\n"
    "         sum(r.qs) AS qs, min(r.x) AS xmin, max(r.x) AS xmax\n"
    "    FROM ratio r\n"
    "   WHERE r.parent IS NOT NULL\n"
    "   GROUP BY r.parent, r.period, r.indicator, r.m\n"
    "),\n"
    "bratio_part AS (\n"
    "  SELECT s.parent AS unit, r.period, r.indicator, r.m, s.dimension, s.category,\n"
    "         sum(r.num) AS num, sum(r.den) AS den, count(*) AS n, sum(r.qn) AS qn,\n"
    "         sum(r.qd) AS qd, sum(r.qs) AS qs, min(r.x) AS xmin, max(r.x) AS xmax\n"
    "    FROM ratio r JOIN slice s ON s.unit = r.unit\n"
    "   GROUP BY s.parent, r.period, r.indicator, r.m, s.dimension, s.category\n"
    "),\n"
    "ratio_sum AS (\n"
    "  SELECT r.unit, r.period, r.indicator, '' AS dimension, '' AS category, r.m,\n"
    "         coalesce(sum(r.num), 0) AS num, coalesce(sum(r.den), 0) AS den, sum(r.n) AS n,\n"
    "         sum(r.qn) AS qn, sum(r.qd) AS qd, sum(r.qs) AS qs, min(r.xmin) AS xmin,\n"
    "         max(r.xmax) AS xmax\n"
    "    FROM (SELECT up.ancestor AS unit, r.period, r.indicator, r.m, r.num, r.den, r.n, r.qn,\n"
    "                 r.qd, r.qs, r.xmin, r.xmax\n"
    "            FROM ratio_part r JOIN up ON up.descendant = r.unit\n"
    "          UNION ALL\n"
    "          SELECT r.unit, r.period, r.indicator, r.m, r.num, r.den, 1, NULL, NULL, NULL,\n"
    "                 NULL, NULL\n"
    "            FROM ratio r\n"
    "           WHERE NOT r.leaf) r\n"
    "   GROUP BY r.unit, r.period, r.indicator, r.m\n"
    "  UNION ALL\n"
    "  SELECT r.unit, r.period, r.indicator, '', '', r.m, coalesce(r.num, 0),\n"
    "         coalesce(r.den, 0), 1, r.qn, r.qd, r.qs, r.x, r.x\n"
    "    FROM ratio r\n"
    "   WHERE r.leaf\n"
    "  UNION ALL\n"
    "  SELECT up.ancestor, r.period, r.indicator, r.dimension, r.category, r.m,\n"
    "         coalesce(sum(r.num), 0), coalesce(sum(r.den), 0), sum(r.n), sum(r.qn), sum(r.qd),\n"
    "         sum(r.qs), min(r.xmin), max(r.xmax)\n"
    "    FROM bratio_part r JOIN up ON up.descendant = r.unit\n"
    "   GROUP BY up.ancestor, r.period, r.indicator, r.dimension, r.category, r.m\n"
    "),\n"
    "expected AS (\n"
    "  SELECT p.unit, p.period, p.indicator, p.dimension, p.category, false AS ratio,\n"
    "         p.s AS value,\n"
    "         NULL::numeric AS numerator, NULL::numeric AS denominator, p.n AS n_reporting,\n"
    "         p.lmin::float8 AS min, p.lmax::float8 AS max, (p.ls / p.nl)::float8 AS mean,\n"
    "         CASE WHEN p.ls <> 0 THEN (sqrt(greatest(p.nl * p.lq - p.ls * p.ls, 0))\n"
    "                                   / p.ls)::float8 END AS cv\n"
    "    FROM plain_sum p\n"
    "  UNION ALL\n"
    "  SELECT r.unit, r.period, r.indicator, r.dimension, r.category, true,\n"
    "         CASE WHEN r.den <> 0 THEN r.m * r.num / r.den END,\n"
    "         r.num, r.den, r.n, r.xmin::float8, r.xmax::float8, (r.m * r.qn / r.qd)::float8,\n"
    "         CASE WHEN r.m * r.qn <> 0 THEN (sqrt(greatest(r.qs * r.qd - r.qn * r.qn, 0))\n"
    "                                         / r.qn)::float8 END\n"
    "    FROM ratio_sum r\n"
    "),\n"
    "stored AS (\n"
    "  SELECT unit, period, indicator, '' AS dimension, '' AS category, level, value,\n"
    "         numerator, denominator, n_reporting, min, max, mean, cv\n"
    "    FROM edustat.agg_value\n"
    "  UNION ALL\n"
    "  SELECT unit, period, indicator, dimension, category, level, value, numerator,\n"
    "         denominator, n_reporting, min, max, mean, cv\n"
    "    FROM edustat.agg_breakdown\n"
    "),\n"
    "j AS (\n"
    "  SELECT coalesce(e.unit, g.unit) AS unit, coalesce(e.period, g.period) AS period,\n"
    "         coalesce(e.indicator, g.indicator) AS indicator,\n"
    "         coalesce(e.dimension, g.dimension) AS dimension,\n"
    "         coalesce(e.category, g.category) AS category,\n"
    "         e.unit IS NOT NULL AS has_e, g.unit IS NOT NULL AS has_g, e.ratio,\n"
    "         u.level AS e_level, g.level AS g_level,\n"
    "         e.value AS e_value, g.value AS g_value,\n"
    "         e.numerator AS e_num, g.numerator AS g_num,\n"
    "         e.denominator AS e_den, g.denominator AS g_den,\n"
    "         e.n_reporting AS e_n, g.n_reporting AS g_n,\n"
    "         e.min AS e_min, g.min AS g_min, e.max AS e_max, g.max AS g_max,\n"
    "         e.mean AS e_mean, g.mean AS g_mean, e.cv AS e_cv, g.cv AS g_cv\n"
    "    FROM expected e\n"
    "    LEFT JOIN unit u ON u.code = e.unit\n"
    "    FULL JOIN stored g\n"
    "      ON g.unit = e.unit AND g.period = e.period AND g.indicator = e.indicator\n"
    "     AND g.dimension = e.dimension AND g.category = e.category\n"
    "),\n"
    "b AS (\n"
    "  SELECT j.*,\n"
    "         NOT (j.has_e AND j.has_g) AS b_row,\n"
    "         j.g_level IS DISTINCT FROM j.e_level AS b_level,\n"
    "         CASE WHEN j.ratio\n"
    "              THEN (j.g_value IS NULL) <> (j.e_value IS NULL)\n"
    "                   OR abs(j.g_value - j.e_value) > 1e-12 * abs(j.e_value)\n"
    "              ELSE j.g_value IS DISTINCT FROM j.e_value END AS b_value,\n"
    "         j.g_num IS DISTINCT FROM j.e_num AS b_num,\n"
    "         j.g_den IS DISTINCT FROM j.e_den AS b_den,\n"
    "         j.g_n IS DISTINCT FROM j.e_n AS b_n,\n"
    "         (j.g_min IS NULL) <> (j.e_min IS NULL)\n"
    "           OR abs(j.g_min - j.e_min) > greatest(1e-9 * abs(j.e_min), 1e-12) AS b_min,\n"
    "         (j.g_max IS NULL) <> (j.e_max IS NULL)\n"
    "           OR abs(j.g_max - j.e_max) > greatest(1e-9 * abs(j.e_max), 1e-12) AS b_max,\n"
    "         (j.g_mean IS NULL) <> (j.e_mean IS NULL)\n"
    "           OR abs(j.g_mean - j.e_mean) > greatest(1e-9 * abs(j.e_mean), 1e-12) AS b_mean,\n"
    "         (j.g_cv IS NULL) <> (j.e_cv IS NULL)\n"
    "           OR abs(j.g_cv - j.e_cv) > greatest(1e-9 * abs(j.e_cv), 1e-12) AS b_cv\n"
    "    FROM j\n"
    "),\n"
    "m AS (\n"
    "  SELECT b.unit, b.period, b.indicator, b.dimension, b.category, c.ord, c.col, c.stored,\n"
    "         c.expected\n"
    "    FROM b\n"
    "   CROSS JOIN LATERAL (VALUES\n"
    "     (0, 'row', b.b_row,\n"
    "      CASE WHEN b.has_g THEN 'value ' || coalesce(b.g_value::text, 'NULL') ||\n"
    "           ', n_reporting ' || b.g_n ELSE '(no row)' END,\n"
    "      CASE WHEN b.has_e THEN 'value ' || coalesce(b.e_value::text, 'NULL') ||\n"
    "           ', n_reporting ' || b.e_n ELSE '(no row)' END),\n"
    "     (1, 'level', b.b_level, b.g_level, b.e_level),\n"
    "     (2, 'value', b.b_value, b.g_value::text, b.e_value::text),\n"
    "     (3, 'numerator', b.b_num, b.g_num::text, b.e_num::text),\n"
    "     (4, 'denominator', b.b_den, b.g_den::text, b.e_den::text),\n"
    "     (5, 'n_reporting', b.b_n, b.g_n::text, b.e_n::text),\n"
    "     (6, 'min', b.b_min, b.g_min::text, b.e_min::text),\n"
    "     (7, 'max', b.b_max, b.g_max::text, b.e_max::text),\n"
    "     (8, 'mean', b.b_mean, b.g_mean::text, b.e_mean::text),\n"
    "     (9, 'cv', b.b_cv, b.g_cv::text, b.e_cv::text)\n"
    "   ) c (ord, col, bad, stored, expected)\n"
    "   WHERE (b.b_row OR b.b_level OR b.b_value OR b.b_num OR b.b_den OR b.b_n\n"
    "          OR b.b_min OR b.b_max OR b.b_mean OR b.b_cv)\n"
    "     AND c.bad AND (c.ord = 0 OR NOT b.b_row)\n"
    "  UNION ALL\n"
    "  SELECT a.unit, a.period, a.indicator, '', '', 0, 'row',\n"
    "         'twice (agg_rollup holds a row for this leaf)', 'once'\n"
    "    FROM edustat.agg_rollup a JOIN unit u ON u.code = a.unit AND u.leaf\n"
    ")\n"
    "SELECT unit, period, indicator,\n"
    "       CASE WHEN dimension <> '' THEN dimension || '=' || category ELSE '' END, col,\n"
    "       coalesce(stored, 'NULL'), coalesce(expected, 'NULL'), count(*) OVER ()\n"
    "  FROM m\n"
    " ORDER BY unit, period, indicator, dimension, category, ord\n"
    " LIMIT " STR(CHECK_SHOW_MAX);

const char *
check_sql(void)
{
        return check_sql_text;
}

/* Run sql expecting rows; NULL with the failure kind in *r and err on failure. */
static PGresult *
query(PGconn *conn, const char *sql, enum db_result *r, char *err, size_t errlen)
{
        PGresult *res = PQexec(conn, sql);

        if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
                *r = pg_failure_kind(conn, res);
                pg_error_format(conn, res, err, errlen);
                PQclear(res);
                return NULL;
        }
        *r = DB_OK;
        return res;
}

/* The schema must exist at a version this program knows. */
static enum db_result
schema_present(PGconn *conn, char *err, size_t errlen)
{
        enum db_result r;
        PGresult *res;
        long have;

        res = query(conn,
                    "SELECT to_regclass('edustat.schema_version') IS NOT NULL"
                    "   AND to_regclass('edustat.unit_value') IS NOT NULL"
                    "   AND to_regclass('edustat.agg_value') IS NOT NULL"
                    "   AND to_regclass('edustat.agg_breakdown') IS NOT NULL",
                    &r, err, errlen);
        if (res == NULL)
                return r;
        if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
                PQclear(res);
                strlcpyf(err, errlen,
                         "database %s has no schema edustat (has edustat-sink run against it?)",
                         PQdb(conn));
                return DB_ERROR;
        }
        PQclear(res);
        res = query(conn, "SELECT coalesce(max(version), 0) FROM edustat.schema_version", &r, err,
                    errlen);
        if (res == NULL)
                return r;
        have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (have != migrate_version()) {
                strlcpyf(err, errlen,
                         "schema edustat is at version %ld; this check knows version %d", have,
                         migrate_version());
                return DB_ERROR;
        }
        return DB_OK;
}

static char *
dup_field(const PGresult *res, int row, int col)
{
        return xstrdup(PQgetisnull(res, row, col) ? "NULL" : PQgetvalue(res, row, col));
}

/* Copy the rows of the comparison into out. */
static void
collect(const PGresult *res, struct check_report *out)
{
        int i, n = PQntuples(res);

        if (n == 0)
                return;
        out->mismatches = strtoull(PQgetvalue(res, 0, 7), NULL, 10);
        out->nshown = (size_t)n;
        out->shown = xcalloc(out->nshown, sizeof *out->shown);
        for (i = 0; i < n; i++) {
                struct check_mismatch *m = &out->shown[i];

                m->unit = dup_field(res, i, 0);
                m->period = dup_field(res, i, 1);
                m->indicator = dup_field(res, i, 2);
                m->slice = dup_field(res, i, 3);
                m->column = dup_field(res, i, 4);
                m->stored = dup_field(res, i, 5);
                m->expected = dup_field(res, i, 6);
        }
}

enum db_result
check_run(PGconn *conn, struct check_report *out, char *err, size_t errlen)
{
        enum db_result r;
        PGresult *res;
        int64_t t0;

        memset(out, 0, sizeof *out);
        if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
                strlcpyf(err, errlen, "not connected to PostgreSQL");
                return DB_RETRY;
        }
        if ((r = schema_present(conn, err, errlen)) != DB_OK)
                return r;
        /*
         * One snapshot for the counts and the comparison.  The planner
         * cannot estimate the recursive CTE and the grouped CTEs, and with
         * its guesses it picks nested loops that take minutes on a million
         * values; every join here is an equality, so hash joins are always
         * right.  Disabling nested loops inflates the cost estimate, which
         * would switch JIT compilation on: seconds of compiling for a
         * statement that runs in well under one on a city's data.  A
         * larger work_mem than the default 4 MB keeps most sorts and hashes
         * in RAM; more than 16 MB was not faster on a million values, and
         * each of the plan's dozen sort and hash nodes may take that much.
         * All three settings end with the transaction.
         */
        r = pg_exec(conn,
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
                    " SET LOCAL enable_nestloop = off; SET LOCAL jit = off;"
                    " SET LOCAL work_mem = '16MB'",
                    err, errlen);
        if (r != DB_OK)
                goto fail;
        res = query(conn,
                    "SELECT (SELECT count(*) FROM edustat.unit_value),"
                    "       (SELECT count(*) FROM edustat.agg_rollup),"
                    "       (SELECT count(*) FROM edustat.agg_breakdown)",
                    &r, err, errlen);
        if (res == NULL)
                goto fail;
        out->values = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        out->stored = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        out->breakdowns = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
        PQclear(res);
        t0 = now_ms();
        if ((res = query(conn, check_sql_text, &r, err, errlen)) == NULL)
                goto fail;
        out->seconds = (double)(now_ms() - t0) / 1000.0;
        collect(res, out);
        PQclear(res);
        /* Read only: a failed COMMIT cannot undo what was read. */
        if (pg_exec(conn, "COMMIT", err, errlen) != DB_OK)
                log_warnx("check: COMMIT of the read-only snapshot failed: %s", err);
        return DB_OK;
fail:
        if (PQstatus(conn) == CONNECTION_OK)
                pg_rollback(conn);
        check_report_free(out);
        return r;
}

void
check_report_free(struct check_report *r)
{
        size_t i;

        if (r == NULL)
                return;
        for (i = 0; i < r->nshown; i++) {
                struct check_mismatch *m = &r->shown[i];

                free(m->unit);
                free(m->period);
                free(m->indicator);
                free(m->slice);
                free(m->column);
                free(m->stored);
                free(m->expected);
        }
        free(r->shown);
        memset(r, 0, sizeof *r);
}

void
check_report_print(const struct check_report *r, FILE *fp)
{
        size_t i;

        for (i = 0; i < r->nshown; i++) {
                const struct check_mismatch *m = &r->shown[i];

                if (m->slice[0] == '\0')
                        fprintf(fp,
                                "mismatch: unit %s, period %s, indicator %s, column %s: stored "
                                "%s, expected %s\n",
                                m->unit, m->period, m->indicator, m->column, m->stored,
                                m->expected);
                else
                        fprintf(fp,
                                "mismatch: unit %s, period %s, indicator %s, breakdown %s, "
                                "column %s: stored %s, expected %s\n",
                                m->unit, m->period, m->indicator, m->slice, m->column, m->stored,
                                m->expected);
        }
        if (r->mismatches > r->nshown)
                fprintf(fp, "... and %" PRIu64 " more mismatches\n",
                        r->mismatches - (uint64_t)r->nshown);
        if (r->mismatches == 0)
                fprintf(fp,
                        "check: ok: agg_value and agg_breakdown match the aggregates recomputed "
                        "from %" PRIu64 " stored values (%" PRIu64
                        " stored rows of units with children, %" PRIu64
                        " breakdown rows); %.1f s\n",
                        r->values, r->stored, r->breakdowns, r->seconds);
        else
                fprintf(fp,
                        "check: %" PRIu64 " mismatches between agg_value/agg_breakdown and the "
                        "aggregates recomputed from %" PRIu64 " stored values (%" PRIu64
                        " stored rows of units with children, %" PRIu64
                        " breakdown rows); %.1f s\n",
                        r->mismatches, r->values, r->stored, r->breakdowns, r->seconds);
}

int
check_main(const char *conninfo)
{
        /* As in writer_connect: the user's string may override the timeout. */
        static const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                                           "client_encoding", NULL};
        const char *vals[] = {"10", "edustat-check", conninfo != NULL ? conninfo : "", "UTF8",
                              NULL};
        struct check_report rep;
        char err[1024];
        PGconn *conn;
        int code;

        conn = PQconnectdbParams(keys, vals, 1);
        if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
                pg_error_format(conn, NULL, err, sizeof err);
                log_warnx("check: cannot connect to PostgreSQL: %s", err);
                PQfinish(conn);
                return CHECK_EXIT_ERROR;
        }
        if (check_run(conn, &rep, err, sizeof err) != DB_OK) {
                log_warnx("check: cannot run: %s", err);
                PQfinish(conn);
                return CHECK_EXIT_ERROR;
        }
        check_report_print(&rep, stdout);
        fflush(stdout);
        code = rep.mismatches == 0 ? CHECK_EXIT_OK : CHECK_EXIT_MISMATCH;
        check_report_free(&rep);
        PQfinish(conn);
        return code;
}
