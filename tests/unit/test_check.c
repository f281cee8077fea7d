/*
 * Test of sink/check.c (`edustat-sink --check`) against a real PostgreSQL
 * given in SINKTEST_DB (a fresh, empty database; tests/with_pg.sh).
 *
 * The database state is built through the real writer (writer_commit) from
 * a config loaded by the real config loader.  The aggregate rows in the uow
 * were worked out by hand below, from the contract (issue 2, "agg_value
 * semantics"); the check must accept them, then report each corruption of
 * one cell with the right column, stored and expected text.
 *
 * The tree: C -> D1 -> S1, S2;  C -> D2 -> S3, T1 -> S4.
 * 2024 values:  S1 pupils 100, teachers 10, teach_area 1000.5
 *               S2 pupils 300, teachers 20
 *               S3 pupils 50
 *               S4 pupils 150, teachers 10, teach_area 200.25
 *               D2 teachers 5 (a district's own value: in sums, not in leaf stats)
 * 2025 values:  S3 pupils 70 (no teachers anywhere: ratio value NULL)
 * Ratios: ptr = pupils / teachers; area = 100 x teach_area / pupils.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "check.h"
#include "config.h"
#include "proto.h"
#include "schema.h"
#include "writer.h"

static const char *dburl;
static PGconn *db; /* an independent connection that corrupts and restores */
static struct writer *w;
static struct config *cfg;
static char cfgdir[] = "/tmp/edustat-test-check.XXXXXX";
static volatile sig_atomic_t nostop;

static const char orgunits_csv[] = "code,parent,level,name,stage,locality,ownership\n"
                                   "C,,city,City,,,\n"
                                   "D1,C,district,District 1,,,\n"
                                   "D2,C,district,District 2,,,\n"
                                   "T1,D2,town,Town 1,,,\n"
                                   "S1,D1,school,School 1,primary,urban,public\n"
                                   "S2,D1,school,School 2,primary,urban,public\n"
                                   "S3,D2,school,School 3,junior,rural,public\n"
                                   "S4,T1,school,School 4,primary,town,private\n";

static const char indicators_csv[] =
    "code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals\n"
    "pupils,在校生数,Pupils,人,count,,,,\n"
    "teachers,专任教师数,Teachers,人,count,,,,\n"
    "teach_area,教学用房面积,Teaching area,m2,amount,,,,2\n"
    "ptr,生师比,Pupil-teacher ratio,,ratio,pupils,teachers,1,2\n"
    "area,生均面积x100,Area per 100 pupils,,ratio,teach_area,pupils,100,1\n";

static void
write_file(const char *dir, const char *name, const char *text)
{
        char path[256];
        FILE *fp;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        fp = fopen(path, "w");
        assert_non_null(fp);
        assert_int_equal(fputs(text, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
}

/* Run sql on the independent connection; it must succeed. */
static void
exec(const char *sql)
{
        PGresult *res = PQexec(db, sql);

        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "statement failed: %s\n%s", sql, PQerrorMessage(db));
                fail();
        }
        PQclear(res);
}

static struct pstr
S(const char *s) {
        return pstr_of(s);
}

#define NF (PROTO_VALUE_NEW | PROTO_VALUE_FINAL)
#define V(u, p, i, v, ver)                                                                         \
        {                                                                                          \
                S(u), S(p), S(i), S(v), ver, NF, S("test"), S("b1")                                \
        }

/* A count/amount row: exact value, leaf statistics. */
#define PLAIN(u, lvl, p, i, v, n, mn, mx, mean, cv)                                                \
        {                                                                                          \
                S(u), S(lvl), S(p), S(i), S(v), {NULL, 0}, {NULL, 0}, n, mn, mx, mean, cv,         \
                    PROTO_AGG_NULL_NUM | PROTO_AGG_NULL_DEN, {NULL, 0},                            \
                {                                                                                  \
                        NULL, 0                                                                    \
                }                                                                                  \
        }
/* A ratio row with qualifying leaves. */
#define RATIO(u, lvl, p, i, v, num, den, n, mn, mx, mean, cv)                                      \
        {                                                                                          \
                S(u), S(lvl), S(p), S(i), S(v), S(num), S(den), n, mn, mx, mean, cv, 0, {NULL, 0}, \
                {                                                                                  \
                        NULL, 0                                                                    \
                }                                                                                  \
        }
#define STATS_NULL                                                                                 \
        (PROTO_AGG_NULL_MIN | PROTO_AGG_NULL_MAX | PROTO_AGG_NULL_MEAN | PROTO_AGG_NULL_CV)

static void
test_setup_and_clean(void **state)
{
        struct proto_value v[] = {
            V("S1", "2024", "pupils", "100", 1),         V("S1", "2024", "teachers", "10", 2),
            V("S1", "2024", "teach_area", "1000.50", 3), V("S2", "2024", "pupils", "300", 4),
            V("S2", "2024", "teachers", "20", 5),        V("S3", "2024", "pupils", "50", 6),
            V("S4", "2024", "pupils", "150", 7),         V("S4", "2024", "teachers", "10", 8),
            V("S4", "2024", "teach_area", "200.25", 9),  V("D2", "2024", "teachers", "5", 10),
            V("S3", "2025", "pupils", "70", 11),
        };
        /*
         * By hand.  pupils, leaves 100, 300, 50, 150:
         *   D1 {100, 300}: mean 200, sigma 100, cv 0.5
         *   D2 {50, 150}: mean 100, sigma 50, cv 0.5;  T1 {150}
         *   C: mean 150, sigma^2 = (50^2 + 150^2 + 100^2 + 0) / 4 = 8750
         * teachers: leaves 10, 20, 10 (D2's own 5 is in sums and n only)
         *   D1 {10, 20}: mean 15, sigma 5;  D2 = 5 + 10 over leaf {10}
         *   C: 45, n 4; mean 40/3, sigma^2 = 200/9, cv = sqrt(200)/40
         * teach_area: C {1000.5, 200.25}: mean 600.375, sigma 400.125
         * ptr = pupils/teachers, weighted by teachers:
         *   D1: 400/30; leaves 10 (w 10), 15 (w 20): sigma^2 = 50/9,
         *       cv = sqrt(50)/40
         *   D2: 200/15, n 3 (S3, S4, D2); only S4 qualifies (S3: no teachers)
         *   C: 600/45, n 5; leaves S1 10 (w 10), S2 15 (w 20), S4 15 (w 10):
         *       mean 550/40 = 13.75, sigma^2 = 187.5/40 = 4.6875
         * area = 100 x teach_area/pupils, weighted by pupils:
         *   D1: 100 x 1000.5/400 = 250.125; only S1 qualifies: x = 1000.5
         *   D2: 100 x 200.25/200 = 100.125; only S4: x = 133.5;  T1 = 133.5
         *   C: 100 x 1200.75/600 = 200.125; S1 (1000.5, w 100), S4 (133.5, w 150):
         *       mean 480.3, sigma^2 = (100 x 520.2^2 + 150 x 346.8^2)/250 = 180405.36
         * 2025: only S3 pupils 70.  ptr den 0: value NULL, no leaf stats;
         *   area: num 0 (sum over nothing), den 70: value 0, no leaf stats.
         */
        struct proto_agg a[] = {
            PLAIN("D1", "district", "2024", "pupils", "400", 2, 100, 300, 200, 0.5),
            PLAIN("D2", "district", "2024", "pupils", "200", 2, 50, 150, 100, 0.5),
            PLAIN("T1", "town", "2024", "pupils", "150", 1, 150, 150, 150, 0),
            PLAIN("C", "city", "2024", "pupils", "600", 4, 50, 300, 150, sqrt(8750.0) / 150),
            PLAIN("D1", "district", "2024", "teachers", "30", 2, 10, 20, 15, 1.0 / 3),
            PLAIN("D2", "district", "2024", "teachers", "15", 2, 10, 10, 10, 0),
            PLAIN("T1", "town", "2024", "teachers", "10", 1, 10, 10, 10, 0),
            PLAIN("C", "city", "2024", "teachers", "45", 4, 10, 20, 40.0 / 3, sqrt(200.0) / 40),
            PLAIN("D1", "district", "2024", "teach_area", "1000.5", 1, 1000.5, 1000.5, 1000.5, 0),
            PLAIN("D2", "district", "2024", "teach_area", "200.25", 1, 200.25, 200.25, 200.25, 0),
            PLAIN("T1", "town", "2024", "teach_area", "200.25", 1, 200.25, 200.25, 200.25, 0),
            PLAIN("C", "city", "2024", "teach_area", "1200.75", 2, 200.25, 1000.5, 600.375,
                  400.125 / 600.375),
            RATIO("D1", "district", "2024", "ptr", "13.33333333333333333", "400", "30", 2, 10, 15,
                  40.0 / 3, sqrt(50.0) / 40),
            RATIO("D2", "district", "2024", "ptr", "13.33333333333333333", "200", "15", 3, 15, 15,
                  15, 0),
            RATIO("T1", "town", "2024", "ptr", "15", "150", "10", 1, 15, 15, 15, 0),
            RATIO("C", "city", "2024", "ptr", "13.33333333333333333", "600", "45", 5, 10, 15, 13.75,
                  sqrt(4.6875) / 13.75),
            RATIO("D1", "district", "2024", "area", "250.125", "1000.5", "400", 2, 1000.5, 1000.5,
                  1000.5, 0),
            RATIO("D2", "district", "2024", "area", "100.125", "200.25", "200", 2, 133.5, 133.5,
                  133.5, 0),
            RATIO("T1", "town", "2024", "area", "133.5", "200.25", "150", 1, 133.5, 133.5, 133.5,
                  0),
            RATIO("C", "city", "2024", "area", "200.125", "1200.75", "600", 4, 133.5, 1000.5, 480.3,
                  sqrt(180405.36) / 480.3),
            PLAIN("D2", "district", "2025", "pupils", "70", 1, 70, 70, 70, 0),
            PLAIN("C", "city", "2025", "pupils", "70", 1, 70, 70, 70, 0),
            {S("D2"),
             S("district"),
             S("2025"),
             S("ptr"),
             {NULL, 0},
             S("70"),
             S("0"),
             1,
             0,
             0,
             0,
             0,
             PROTO_AGG_NULL_VALUE | STATS_NULL,
             {NULL, 0},
             {NULL, 0}},
            {S("C"),
             S("city"),
             S("2025"),
             S("ptr"),
             {NULL, 0},
             S("70"),
             S("0"),
             1,
             0,
             0,
             0,
             0,
             PROTO_AGG_NULL_VALUE | STATS_NULL,
             {NULL, 0},
             {NULL, 0}},
            {S("D2"),
             S("district"),
             S("2025"),
             S("area"),
             S("0"),
             S("0"),
             S("70"),
             1,
             0,
             0,
             0,
             0,
             STATS_NULL,
             {NULL, 0},
             {NULL, 0}},
            {S("C"),
             S("city"),
             S("2025"),
             S("area"),
             S("0"),
             S("0"),
             S("70"),
             1,
             0,
             0,
             0,
             0,
             STATS_NULL,
             {NULL, 0},
             {NULL, 0}},
        };
        struct proto_uow u = {
            1, S("agg-check"), sizeof v / sizeof v[0], 0, sizeof a / sizeof a[0], v, NULL, a};
        struct check_report rep;
        size_t nu, ni;
        int replayed = -1;
        char err[512];

        (void)state;
        assert_non_null(mkdtemp(cfgdir));
        write_file(cfgdir, "orgunits.csv", orgunits_csv);
        write_file(cfgdir, "indicators.csv", indicators_csv);
        cfg = config_load(cfgdir, err, sizeof err);
        if (cfg == NULL)
                fprintf(stderr, "config: %s\n", err);
        assert_non_null(cfg);

        w = writer_new(dburl);
        assert_int_equal(writer_connect(w, &nostop), 0);

        /* No schema yet: the check cannot run. */
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "no schema edustat"));
        assert_int_equal(check_main(dburl), CHECK_EXIT_ERROR);

        assert_int_equal(schema_migrate(writer_conn(w), err, sizeof err), DB_OK);
        assert_int_equal(schema_load_config(writer_conn(w), cfg, &nu, &ni, err, sizeof err), DB_OK);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);

        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        for (size_t i = 0; i < rep.nshown; i++)
                fprintf(stderr, "unexpected: %s %s %s %s: stored %s, expected %s\n",
                        rep.shown[i].unit, rep.shown[i].period, rep.shown[i].indicator,
                        rep.shown[i].column, rep.shown[i].stored, rep.shown[i].expected);
        assert_int_equal(rep.mismatches, 0);
        assert_int_equal(rep.nshown, 0);
        assert_int_equal(rep.values, 11);
        assert_int_equal(rep.stored, 26);
        check_report_free(&rep);
        assert_int_equal(check_main(dburl), CHECK_EXIT_OK);
}

/*
 * Apply corrupt, run the check, restore with restore; the check must find
 * exactly one mismatch, with these fields.
 */
static void
expect_one(const char *corrupt, const char *restore, const char *unit, const char *period,
           const char *indicator, const char *column, const char *stored, const char *expected)
{
        struct check_report rep;
        char err[512];

        exec(corrupt);
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        exec(restore);
        for (size_t i = 0; i < rep.nshown; i++)
                fprintf(stderr, "reported: %s %s %s %s: stored %s, expected %s\n",
                        rep.shown[i].unit, rep.shown[i].period, rep.shown[i].indicator,
                        rep.shown[i].column, rep.shown[i].stored, rep.shown[i].expected);
        assert_int_equal(rep.mismatches, 1);
        assert_int_equal(rep.nshown, 1);
        assert_string_equal(rep.shown[0].unit, unit);
        assert_string_equal(rep.shown[0].period, period);
        assert_string_equal(rep.shown[0].indicator, indicator);
        assert_string_equal(rep.shown[0].column, column);
        assert_string_equal(rep.shown[0].stored, stored);
        assert_string_equal(rep.shown[0].expected, expected);
        check_report_free(&rep);
}

/* The corruption stays within tolerance or changes nothing: no mismatch. */
static void
expect_none(const char *corrupt, const char *restore)
{
        struct check_report rep;
        char err[512];

        exec(corrupt);
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        exec(restore);
        assert_int_equal(rep.mismatches, 0);
        check_report_free(&rep);
}

#define KEY(u, p, i) " WHERE unit = '" u "' AND period = '" p "' AND indicator = '" i "'"

static void
test_value(void **state)
{
        (void)state;
        expect_one("UPDATE edustat.agg_rollup SET value = 401" KEY("D1", "2024", "pupils"),
                   "UPDATE edustat.agg_rollup SET value = 400" KEY("D1", "2024", "pupils"), "D1",
                   "2024", "pupils", "value", "401", "400");
        /* Exact: a hundredth of a square metre is a mismatch. */
        expect_one("UPDATE edustat.agg_rollup SET value = 1200.74" KEY("C", "2024", "teach_area"),
                   "UPDATE edustat.agg_rollup SET value = 1200.75" KEY("C", "2024", "teach_area"),
                   "C", "2024", "teach_area", "value", "1200.74", "1200.75");
        /* The same number written with trailing zeros is equal. */
        expect_none(
            "UPDATE edustat.agg_rollup SET value = 1200.7500" KEY("C", "2024", "teach_area"),
            "UPDATE edustat.agg_rollup SET value = 1200.75" KEY("C", "2024", "teach_area"));
        /* A ratio's value must be NULL when its denominator is 0. */
        expect_one("UPDATE edustat.agg_rollup SET value = 1" KEY("C", "2025", "ptr"),
                   "UPDATE edustat.agg_rollup SET value = NULL" KEY("C", "2025", "ptr"), "C",
                   "2025", "ptr", "value", "1", "NULL");
}

static void
test_numerator(void **state)
{
        (void)state;
        expect_one("UPDATE edustat.agg_rollup SET numerator = 399" KEY("D1", "2024", "ptr"),
                   "UPDATE edustat.agg_rollup SET numerator = 400" KEY("D1", "2024", "ptr"), "D1",
                   "2024", "ptr", "numerator", "399", "400");
        expect_one("UPDATE edustat.agg_rollup SET denominator = 14" KEY("D2", "2024", "ptr"),
                   "UPDATE edustat.agg_rollup SET denominator = 15" KEY("D2", "2024", "ptr"), "D2",
                   "2024", "ptr", "denominator", "14", "15");
}

static void
test_n_reporting(void **state)
{
        (void)state;
        /* S1, S2, S4 and D2 store teachers: 4, not 5. */
        expect_one("UPDATE edustat.agg_rollup SET n_reporting = 5" KEY("C", "2024", "teachers"),
                   "UPDATE edustat.agg_rollup SET n_reporting = 4" KEY("C", "2024", "teachers"),
                   "C", "2024", "teachers", "n_reporting", "5", "4");
}

static void
test_statistics(void **state)
{
        (void)state;
        /* 2e-7 relative is beyond 1e-9. */
        expect_one("UPDATE edustat.agg_rollup SET cv = 0.5000001" KEY("D1", "2024", "pupils"),
                   "UPDATE edustat.agg_rollup SET cv = 0.5" KEY("D1", "2024", "pupils"), "D1",
                   "2024", "pupils", "cv", "0.5000001", "0.5");
        /* 2e-12 relative is within it. */
        expect_none("UPDATE edustat.agg_rollup SET cv = 0.500000000001" KEY("D1", "2024", "pupils"),
                    "UPDATE edustat.agg_rollup SET cv = 0.5" KEY("D1", "2024", "pupils"));
        /* cv 0: 1e-12 absolute is the floor, 1e-11 is beyond it. */
        expect_none("UPDATE edustat.agg_rollup SET cv = 1e-13" KEY("T1", "2024", "pupils"),
                    "UPDATE edustat.agg_rollup SET cv = 0" KEY("T1", "2024", "pupils"));
        expect_one("UPDATE edustat.agg_rollup SET cv = 1e-11" KEY("T1", "2024", "pupils"),
                   "UPDATE edustat.agg_rollup SET cv = 0" KEY("T1", "2024", "pupils"), "T1", "2024",
                   "pupils", "cv", "1e-11", "0");
        /* NULL must match NULL. */
        expect_one("UPDATE edustat.agg_rollup SET mean = NULL" KEY("D2", "2024", "pupils"),
                   "UPDATE edustat.agg_rollup SET mean = 100" KEY("D2", "2024", "pupils"), "D2",
                   "2024", "pupils", "mean", "NULL", "100");
        expect_one("UPDATE edustat.agg_rollup SET min = 0" KEY("D2", "2025", "area"),
                   "UPDATE edustat.agg_rollup SET min = NULL" KEY("D2", "2025", "area"), "D2",
                   "2025", "area", "min", "0", "NULL");
        /* The weighted max of the city's pupil-teacher ratio is 15. */
        expect_one("UPDATE edustat.agg_rollup SET max = 14.9" KEY("C", "2024", "ptr"),
                   "UPDATE edustat.agg_rollup SET max = 15" KEY("C", "2024", "ptr"), "C", "2024",
                   "ptr", "max", "14.9", "15");
        expect_one("UPDATE edustat.agg_rollup SET level = 'county'" KEY("D1", "2024", "teachers"),
                   "UPDATE edustat.agg_rollup SET level = 'district'" KEY("D1", "2024", "teachers"),
                   "D1", "2024", "teachers", "level", "county", "district");
}

static void
test_rows(void **state)
{
        (void)state;
        expect_one("DELETE FROM edustat.agg_rollup" KEY("T1", "2024", "teach_area"),
                   "INSERT INTO edustat.agg_rollup (unit, level, period, indicator, value,"
                   " n_reporting, min, max, mean, cv) VALUES ('T1', 'town', '2024',"
                   " 'teach_area', 200.25, 1, 200.25, 200.25, 200.25, 0)",
                   "T1", "2024", "teach_area", "row", "(no row)", "value 200.25, n_reporting 1");
        expect_one("INSERT INTO edustat.agg_rollup (unit, level, period, indicator, value,"
                   " n_reporting) VALUES ('D1', 'district', '2023', 'pupils', 5, 1)",
                   "DELETE FROM edustat.agg_rollup" KEY("D1", "2023", "pupils"), "D1", "2023",
                   "pupils", "row", "value 5, n_reporting 1", "(no row)");
        /* A leaf's row stored as well as derived: agg_value shows it twice. */
        expect_one("INSERT INTO edustat.agg_rollup (unit, level, period, indicator, value,"
                   " n_reporting, min, max, mean, cv) VALUES ('S1', 'school', '2024', 'pupils',"
                   " 100, 1, 100, 100, 100, 0)",
                   "DELETE FROM edustat.agg_rollup" KEY("S1", "2024", "pupils"), "S1", "2024",
                   "pupils", "row", "twice (agg_rollup holds a row for this leaf)", "once");
}

/*
 * A raw value changed behind the aggregates' back (S2 pupils 300 -> 310):
 * every row above it that depends on it is reported.  By hand:
 *   D1 pupils, C pupils: value, max, mean, cv            4 + 4
 *   D1 ptr, C ptr: numerator, value, max (15 -> 15.5), mean, cv   5 + 5
 *   D1 area, C area: value, denominator (leaf stats: S2 stores no area) 2 + 2
 * S2's own rows are derived from unit_value and stay right.  The report is
 * ordered by unit, period, indicator, then column (value before
 * denominator).  Also checks check_main's exit code and the print format.
 */
static void
test_raw_value_changed(void **state)
{
        struct check_report rep;
        char err[512], buf[4096];
        FILE *fp;
        size_t n;

        (void)state;
        exec("UPDATE edustat.unit_value SET value = 310" KEY("S2", "2024", "pupils"));
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_int_equal(check_main(dburl), CHECK_EXIT_MISMATCH);
        exec("UPDATE edustat.unit_value SET value = 300" KEY("S2", "2024", "pupils"));
        assert_int_equal(rep.mismatches, 22);
        assert_int_equal(rep.nshown, 22);
        assert_string_equal(rep.shown[0].unit, "C");
        assert_string_equal(rep.shown[0].indicator, "area");
        assert_string_equal(rep.shown[0].column, "value");
        assert_string_equal(rep.shown[0].stored, "200.125");
        assert_string_equal(rep.shown[1].column, "denominator");
        assert_string_equal(rep.shown[1].stored, "600");
        assert_string_equal(rep.shown[1].expected, "610");
        assert_string_equal(rep.shown[2].indicator, "ptr");
        assert_string_equal(rep.shown[2].column, "value");
        assert_string_equal(rep.shown[3].column, "numerator");
        assert_string_equal(rep.shown[3].expected, "610");
        assert_string_equal(rep.shown[4].column, "max");
        assert_string_equal(rep.shown[4].expected, "15.5");
        assert_string_equal(rep.shown[21].unit, "D1");
        assert_string_equal(rep.shown[21].indicator, "pupils");
        assert_string_equal(rep.shown[21].column, "cv");

        fp = tmpfile();
        assert_non_null(fp);
        rep.mismatches = 130; /* as if only the first 22 of 130 were shown */
        check_report_print(&rep, fp);
        rewind(fp);
        n = fread(buf, 1, sizeof buf - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        assert_non_null(strstr(buf, "mismatch: unit C, period 2024, indicator area, column "
                                    "denominator: stored 600, expected 610\n"));
        assert_non_null(strstr(buf, "... and 108 more mismatches\n"));
        assert_non_null(strstr(buf, "check: 130 mismatches between agg_value and the aggregates "
                                    "recomputed from 11 stored values"));
        check_report_free(&rep);
        assert_int_equal(check_main(dburl), CHECK_EXIT_OK);
}

/* More than CHECK_SHOW_MAX mismatches: the first 100 are listed, all are counted. */
static void
test_many(void **state)
{
        struct check_report rep;
        char err[512];

        (void)state;
        exec("INSERT INTO edustat.agg_rollup (unit, level, period, indicator, value, n_reporting)"
             " SELECT 'D1', 'district', (1800 + g)::text, 'pupils', g, 1"
             " FROM generate_series(1, 150) g");
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        exec("DELETE FROM edustat.agg_rollup WHERE period < '2000'");
        assert_int_equal(rep.mismatches, 150);
        assert_int_equal(rep.nshown, CHECK_SHOW_MAX);
        assert_string_equal(rep.shown[0].period, "1801");
        assert_string_equal(rep.shown[99].period, "1900");
        check_report_free(&rep);
}

/* A one-number query on the independent connection. */
static long
scalar(const char *sql)
{
        PGresult *res = PQexec(db, sql);
        long v;

        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
                fprintf(stderr, "query failed: %s\n%s", sql, PQerrorMessage(db));
                fail();
        }
        v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return v;
}

/*
 * S2 dropped from orgunits.csv (a school closed): its values stay in
 * unit_value, its own rows leave agg_value, and the stored aggregates of
 * the units above it (D1, C) are deleted, because the aggregator, restarted
 * with the same config, rewrites only the aggregates that still exist.
 * Until it has, the check reports each of those rows missing, and nothing
 * else: it recomputes over the current tree.  Put back, with the
 * aggregator's rewrite (here: the rows as the setup's uow stored them),
 * everything matches again.
 */
static void
test_dropped_unit(void **state)
{
        static const char without_s2[] = "code,parent,level,name,stage,locality,ownership\n"
                                         "C,,city,City,,,\n"
                                         "D1,C,district,District 1,,,\n"
                                         "D2,C,district,District 2,,,\n"
                                         "T1,D2,town,Town 1,,,\n"
                                         "S1,D1,school,School 1,primary,urban,public\n"
                                         "S3,D2,school,School 3,junior,rural,public\n"
                                         "S4,T1,school,School 4,primary,town,private\n";
        struct config *cfg2;
        struct check_report rep;
        size_t nu, ni;
        long above, other;
        char err[512];

        (void)state;
        above = scalar("SELECT count(*) FROM edustat.agg_rollup WHERE unit IN ('D1', 'C')");
        other = scalar("SELECT count(*) FROM edustat.agg_rollup WHERE unit NOT IN ('D1', 'C')");
        assert_true(above > 0 && other > 0);
        exec("CREATE TABLE public.kept AS SELECT * FROM edustat.agg_rollup");
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_value WHERE unit = 'S2'"), 4);

        write_file(cfgdir, "orgunits.csv", without_s2);
        cfg2 = config_load(cfgdir, err, sizeof err);
        write_file(cfgdir, "orgunits.csv", orgunits_csv);
        assert_non_null(cfg2);
        assert_int_equal(schema_load_config(writer_conn(w), cfg2, &nu, &ni, err, sizeof err),
                         DB_OK);
        assert_int_equal(nu, 7);
        config_destroy(&cfg2);

        assert_int_equal(scalar("SELECT count(*) FROM edustat.orgunit WHERE NOT current"), 1);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.orgunit WHERE code = 'S2'"
                                " AND NOT current"),
                         1);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.unit_value WHERE unit = 'S2'"), 2);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_value WHERE unit = 'S2'"), 0);
        assert_int_equal(
            scalar("SELECT count(*) FROM edustat.agg_rollup WHERE unit IN ('D1', 'C')"), 0);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_breakdown"
                                " WHERE unit IN ('D1', 'C')"),
                         0);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_rollup"), other);

        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        for (size_t i = 0; i < rep.nshown; i++) {
                const struct check_mismatch *m = &rep.shown[i];

                if ((strcmp(m->unit, "D1") != 0 && strcmp(m->unit, "C") != 0) ||
                    strcmp(m->column, "row") != 0 || strcmp(m->stored, "(no row)") != 0)
                        fprintf(stderr, "unexpected: %s %s %s %s: stored %s, expected %s\n",
                                m->unit, m->period, m->indicator, m->column, m->stored,
                                m->expected);
                assert_true(strcmp(m->unit, "D1") == 0 || strcmp(m->unit, "C") == 0);
                assert_string_equal(m->column, "row");
                assert_string_equal(m->stored, "(no row)");
        }
        /* The same keys as before: S2 reported nothing S1 or the others did not. */
        assert_int_equal(rep.mismatches, above);
        check_report_free(&rep);

        /* Back in the config, and the aggregates rewritten: all agree again. */
        assert_int_equal(schema_load_config(writer_conn(w), cfg, &nu, &ni, err, sizeof err), DB_OK);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.orgunit WHERE NOT current"), 0);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_value WHERE unit = 'S2'"), 4);
        exec("INSERT INTO edustat.agg_rollup SELECT * FROM public.kept"
             " WHERE unit IN ('D1', 'C');\n"
             "DROP TABLE public.kept");
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_int_equal(rep.mismatches, 0);
        check_report_free(&rep);
}

static void
test_unreachable(void **state)
{
        (void)state;
        /* Port 1 on loopback: nothing listens; connecting fails at once. */
        assert_int_equal(check_main("host=127.0.0.1 port=1 connect_timeout=2"), CHECK_EXIT_ERROR);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_setup_and_clean),   cmocka_unit_test(test_value),
            cmocka_unit_test(test_numerator),         cmocka_unit_test(test_n_reporting),
            cmocka_unit_test(test_statistics),        cmocka_unit_test(test_rows),
            cmocka_unit_test(test_raw_value_changed), cmocka_unit_test(test_many),
            cmocka_unit_test(test_dropped_unit),      cmocka_unit_test(test_unreachable),
        };
        char path[300];
        int rc;

        dburl = getenv("SINKTEST_DB");
        if (dburl == NULL)
                return 77;
        db = PQconnectdb(dburl);
        if (PQstatus(db) != CONNECTION_OK)
                return 1;
        rc = cmocka_run_group_tests(tests, NULL, NULL);
        writer_destroy(&w);
        config_destroy(&cfg);
        PQfinish(db);
        snprintf(path, sizeof path, "%s/orgunits.csv", cfgdir);
        unlink(path);
        snprintf(path, sizeof path, "%s/indicators.csv", cfgdir);
        unlink(path);
        rmdir(cfgdir);
        return rc;
}
