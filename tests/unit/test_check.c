/*
 * Test of sink/check.c (`edustat-sink --check`) against a real PostgreSQL
 * given in SINKTEST_DB (a fresh, empty database; tests/with_pg.sh).
 *
 * The database state is built through the real writer (writer_commit) from
 * a config loaded by the real config loader.  The aggregate rows in the uow
 * were worked out by hand below, from the rules of docs/SQL.md ("agg_value",
 * "The rules, in plain words"); the check must accept them, then report each corruption of
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
 * Categories (stage, locality, ownership): S1, S2 primary urban public;
 * S3 junior rural public; S4 primary town private.  The breakdown rows
 * (agg_breakdown) were worked out by hand too; see test_setup_and_clean.
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
#include "migrate.h"
#include "refdata.h"
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

/* Ratio rows without qualifying leaves: only sums and n_reporting. */
#define NOSTATS(u, lvl, p, i, v, num, den, n, nulls)                                               \
        {                                                                                          \
                S(u), S(lvl), S(p), S(i), S(v), S(num), S(den), n, 0, 0, 0, 0, (nulls), {NULL, 0}, \
                {                                                                                  \
                        NULL, 0                                                                    \
                }                                                                                  \
        }

/* Breakdown rows of the fixture. */
#define NBREAKDOWN 103

/* Row a as the breakdown row of unit (at level) in slice dim=cat. */
static struct proto_agg
in_slice(struct proto_agg a, const char *unit, const char *level, const char *dim, const char *cat)
{
        a.unit = S(unit);
        a.level = S(level);
        a.dimension = S(dim);
        a.category = S(cat);
        return a;
}

/*
 * Append to b, at *nb, a copy of every row of a[0..na) of unit from, as
 * the breakdown row of unit (at level) in slice dim=cat.
 */
static void
copy_rows(struct proto_agg *b, size_t *nb, const struct proto_agg *a, size_t na, const char *from,
          const char *unit, const char *level, const char *dim, const char *cat)
{
        for (size_t i = 0; i < na; i++) {
                if (strlen(from) != a[i].unit.len || memcmp(from, a[i].unit.p, a[i].unit.len) != 0)
                        continue;
                assert_true(*nb < NBREAKDOWN);
                b[(*nb)++] = in_slice(a[i], unit, level, dim, cat);
        }
}

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
        /*
         * Breakdowns, by hand.  Only leaves count, each in its own
         * categories (D2's own 5 teachers are in no slice).  A slice whose
         * leaves are exactly those of a unit that stores nothing itself has
         * that unit's rows: D1's three slices are {S1, S2} (D1's rows), and
         * T1's three, D2's and C's town, private and D2's primary are {S4}
         * (T1's rows); C urban is {S1, S2} (D1's rows).  Rows exist only
         * for indicators a leaf of the slice stores (a ratio: either part).
         * S3 alone (D2 junior, rural, public; C junior, rural) in 2024 and
         * 2025: pupils 50 (70); ptr num 50 (70), den 0 (no teachers): value
         * NULL, no leaf stats; area num 0, den 50 (70): value 0.  C public
         * 2025 is S3 alone as well.  The rest:
         *   C primary {S1, S2, S4}: pupils 550, n 3, min 100, max 300,
         *     mean 550/3, cv = sqrt(3 x 122500 - 550^2) / 550 = sqrt(65000)/550;
         *     teachers 40, n 3, {10, 20, 10}: cv = sqrt(3 x 600 - 1600)/40;
         *     teach_area as C's (S1 and S4 are C's only ones);
         *     ptr 550/40 = 13.75, n 3, leaf stats as C's (same leaves);
         *     area 100 x 1200.75/550 = 218.318181..., n 3, stats as C's.
         *   C public {S1, S2, S3}: pupils 450, n 3, min 50, max 300, mean
         *     150, cv = sqrt(3 x 102500 - 450^2)/450 = sqrt(105000)/450;
         *     teachers and teach_area as D1's (S3 stores neither);
         *     ptr 450/30 = 15, n 3 (S3 stores pupils), stats as D1's;
         *     area 100 x 1000.5/450 = 222.333..., n 3, only S1 qualifies.
         */
        const struct proto_agg s3[] = {
            PLAIN("-", "-", "2024", "pupils", "50", 1, 50, 50, 50, 0),
            NOSTATS("-", "-", "2024", "ptr", NULL, "50", "0", 1, PROTO_AGG_NULL_VALUE | STATS_NULL),
            NOSTATS("-", "-", "2024", "area", "0", "0", "50", 1, STATS_NULL),
            PLAIN("-", "-", "2025", "pupils", "70", 1, 70, 70, 70, 0),
            NOSTATS("-", "-", "2025", "ptr", NULL, "70", "0", 1, PROTO_AGG_NULL_VALUE | STATS_NULL),
            NOSTATS("-", "-", "2025", "area", "0", "0", "70", 1, STATS_NULL),
        };
        const struct proto_agg cp[] = {
            PLAIN("C", "city", "2024", "pupils", "550", 3, 100, 300, 550.0 / 3,
                  sqrt(65000.0) / 550),
            PLAIN("C", "city", "2024", "teachers", "40", 3, 10, 20, 40.0 / 3, sqrt(200.0) / 40),
            PLAIN("C", "city", "2024", "teach_area", "1200.75", 2, 200.25, 1000.5, 600.375,
                  400.125 / 600.375),
            RATIO("C", "city", "2024", "ptr", "13.75", "550", "40", 3, 10, 15, 13.75,
                  sqrt(4.6875) / 13.75),
            RATIO("C", "city", "2024", "area", "218.3181818181818182", "1200.75", "550", 3, 133.5,
                  1000.5, 480.3, sqrt(180405.36) / 480.3),
        };
        const struct proto_agg cpub[] = {
            PLAIN("C", "city", "2024", "pupils", "450", 3, 50, 300, 150, sqrt(105000.0) / 450),
            PLAIN("C", "city", "2024", "teachers", "30", 2, 10, 20, 15, 1.0 / 3),
            PLAIN("C", "city", "2024", "teach_area", "1000.5", 1, 1000.5, 1000.5, 1000.5, 0),
            RATIO("C", "city", "2024", "ptr", "15", "450", "30", 3, 10, 15, 40.0 / 3,
                  sqrt(50.0) / 40),
            RATIO("C", "city", "2024", "area", "222.3333333333333333", "1000.5", "450", 3, 1000.5,
                  1000.5, 1000.5, 0),
        };
        static const char *const slices[][2] = {
            {"stage", "primary"}, {"locality", "urban"}, {"ownership", "public"},
            {"stage", "primary"}, {"locality", "town"},  {"ownership", "private"},
            {"stage", "junior"},  {"locality", "rural"}, {"ownership", "public"},
        };
        const size_t na = sizeof a / sizeof a[0];
        struct proto_agg b[NBREAKDOWN];
        size_t nb = 0;
        struct proto_uow u = {
            1, 0,   S("agg-check"), sizeof v / sizeof v[0], 0, na, v, NULL, a, 0, NULL, 0, 0, NULL,
            0, NULL};
        struct proto_uow ub = {2, 0, S("agg-check"), 0, 0, NBREAKDOWN, NULL, NULL,
                               b, 0, NULL,           0, 0, NULL,       0,    NULL};
        struct check_report rep;
        size_t nu, ni;
        int replayed = -1;
        char err[512];

        (void)state;
        for (int k = 0; k < 3; k++) {
                copy_rows(b, &nb, a, na, "D1", "D1", "district", slices[k][0], slices[k][1]);
                copy_rows(b, &nb, a, na, "T1", "T1", "town", slices[3 + k][0], slices[3 + k][1]);
                copy_rows(b, &nb, a, na, "T1", "D2", "district", slices[3 + k][0],
                          slices[3 + k][1]);
                for (size_t i = 0; i < 6; i++)
                        b[nb++] =
                            in_slice(s3[i], "D2", "district", slices[6 + k][0], slices[6 + k][1]);
        }
        copy_rows(b, &nb, a, na, "D1", "C", "city", "locality", "urban");
        copy_rows(b, &nb, a, na, "T1", "C", "city", "locality", "town");
        copy_rows(b, &nb, a, na, "T1", "C", "city", "ownership", "private");
        for (size_t i = 0; i < 6; i++) {
                b[nb++] = in_slice(s3[i], "C", "city", "stage", "junior");
                b[nb++] = in_slice(s3[i], "C", "city", "locality", "rural");
                if (i >= 3) /* 2025 */
                        b[nb++] = in_slice(s3[i], "C", "city", "ownership", "public");
        }
        for (size_t i = 0; i < 5; i++) {
                b[nb++] = in_slice(cp[i], "C", "city", "stage", "primary");
                b[nb++] = in_slice(cpub[i], "C", "city", "ownership", "public");
        }
        assert_int_equal(nb, NBREAKDOWN);
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

        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_OK);
        assert_int_equal(refdata_store(writer_conn(w), cfg, &nu, &ni, err, sizeof err), DB_OK);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);

        /* The totals alone: every breakdown row is missing. */
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_int_equal(rep.mismatches, NBREAKDOWN);
        assert_int_equal(rep.nshown, CHECK_SHOW_MAX);
        assert_string_equal(rep.shown[0].unit, "C");
        assert_string_equal(rep.shown[0].period, "2024");
        assert_string_equal(rep.shown[0].indicator, "area");
        assert_string_equal(rep.shown[0].slice, "locality=rural");
        assert_string_equal(rep.shown[0].column, "row");
        assert_string_equal(rep.shown[0].stored, "(no row)");
        assert_string_equal(rep.shown[0].expected, "value 0.00000000000000000000, n_reporting 1");
        check_report_free(&rep);

        assert_int_equal(writer_commit(w, &ub, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);

        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        for (size_t i = 0; i < rep.nshown; i++)
                fprintf(stderr, "unexpected: %s %s %s [%s] %s: stored %s, expected %s\n",
                        rep.shown[i].unit, rep.shown[i].period, rep.shown[i].indicator,
                        rep.shown[i].slice, rep.shown[i].column, rep.shown[i].stored,
                        rep.shown[i].expected);
        assert_int_equal(rep.mismatches, 0);
        assert_int_equal(rep.nshown, 0);
        assert_int_equal(rep.values, 11);
        assert_int_equal(rep.stored, 26);
        assert_int_equal(rep.breakdowns, NBREAKDOWN);
        check_report_free(&rep);
        assert_int_equal(check_main(dburl), CHECK_EXIT_OK);
}

/*
 * Apply corrupt, run the check, restore with restore; the check must find
 * exactly one mismatch, with these fields.
 */
static void
expect_one_in(const char *corrupt, const char *restore, const char *unit, const char *period,
              const char *indicator, const char *slice, const char *column, const char *stored,
              const char *expected)
{
        struct check_report rep;
        char err[512];

        exec(corrupt);
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        exec(restore);
        for (size_t i = 0; i < rep.nshown; i++)
                fprintf(stderr, "reported: %s %s %s [%s] %s: stored %s, expected %s\n",
                        rep.shown[i].unit, rep.shown[i].period, rep.shown[i].indicator,
                        rep.shown[i].slice, rep.shown[i].column, rep.shown[i].stored,
                        rep.shown[i].expected);
        assert_int_equal(rep.mismatches, 1);
        assert_int_equal(rep.nshown, 1);
        assert_string_equal(rep.shown[0].unit, unit);
        assert_string_equal(rep.shown[0].period, period);
        assert_string_equal(rep.shown[0].indicator, indicator);
        assert_string_equal(rep.shown[0].slice, slice);
        assert_string_equal(rep.shown[0].column, column);
        assert_string_equal(rep.shown[0].stored, stored);
        assert_string_equal(rep.shown[0].expected, expected);
        check_report_free(&rep);
}

/* The same for a row of agg_value (slice ""). */
static void
expect_one(const char *corrupt, const char *restore, const char *unit, const char *period,
           const char *indicator, const char *column, const char *stored, const char *expected)
{
        expect_one_in(corrupt, restore, unit, period, indicator, "", column, stored, expected);
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

#define BKEY(u, p, i, d, c) KEY(u, p, i) " AND dimension = '" d "' AND category = '" c "'"

/* A wrong cell of a breakdown row names the table's slice. */
static void
test_breakdown_value(void **state)
{
        (void)state;
        /* C's primary schools S1, S2, S4: 550 pupils. */
        expect_one_in("UPDATE edustat.agg_breakdown SET value = 551" BKEY("C", "2024", "pupils",
                                                                          "stage", "primary"),
                      "UPDATE edustat.agg_breakdown SET value = 550" BKEY("C", "2024", "pupils",
                                                                          "stage", "primary"),
                      "C", "2024", "pupils", "stage=primary", "value", "551", "550");
        /* The totals' value in a slice is wrong: C has 600 pupils, C's primary 550. */
        expect_one_in("UPDATE edustat.agg_breakdown SET value = 600" BKEY("C", "2024", "pupils",
                                                                          "stage", "primary"),
                      "UPDATE edustat.agg_breakdown SET value = 550" BKEY("C", "2024", "pupils",
                                                                          "stage", "primary"),
                      "C", "2024", "pupils", "stage=primary", "value", "600", "550");
        /* D2's own 5 teachers are in no slice: its private schools have 10. */
        expect_one_in("UPDATE edustat.agg_breakdown SET value = 15" BKEY("D2", "2024", "teachers",
                                                                         "ownership", "private"),
                      "UPDATE edustat.agg_breakdown SET value = 10" BKEY("D2", "2024", "teachers",
                                                                         "ownership", "private"),
                      "D2", "2024", "teachers", "ownership=private", "value", "15", "10");
        /* n_reporting counts the slice's leaves: S1, S2, S3 of C's public. */
        expect_one_in("UPDATE edustat.agg_breakdown SET n_reporting = 4" BKEY(
                          "C", "2024", "pupils", "ownership", "public"),
                      "UPDATE edustat.agg_breakdown SET n_reporting = 3" BKEY(
                          "C", "2024", "pupils", "ownership", "public"),
                      "C", "2024", "pupils", "ownership=public", "n_reporting", "4", "3");
        /* Leaf statistics: C public pupils {100, 300, 50}: min 50. */
        expect_one_in("UPDATE edustat.agg_breakdown SET min = 100" BKEY("C", "2024", "pupils",
                                                                        "ownership", "public"),
                      "UPDATE edustat.agg_breakdown SET min = 50" BKEY("C", "2024", "pupils",
                                                                       "ownership", "public"),
                      "C", "2024", "pupils", "ownership=public", "min", "100", "50");
        /* cv within 1e-9 relative of sqrt(65000)/550 passes. */
        expect_none("UPDATE edustat.agg_breakdown SET cv = cv * (1 + 1e-12)" BKEY(
                        "C", "2024", "pupils", "stage", "primary"),
                    "UPDATE edustat.agg_breakdown SET cv = sqrt(65000::float8) / 550" BKEY(
                        "C", "2024", "pupils", "stage", "primary"));
        /* D1's primary schools S1, S2: {100, 300}, cv 0.5 as D1's. */
        expect_one_in("UPDATE edustat.agg_breakdown SET cv = 0.4636" BKEY("D1", "2024", "pupils",
                                                                          "stage", "primary"),
                      "UPDATE edustat.agg_breakdown SET cv = 0.5" BKEY("D1", "2024", "pupils",
                                                                       "stage", "primary"),
                      "D1", "2024", "pupils", "stage=primary", "cv", "0.4636", "0.5");
        expect_one_in("UPDATE edustat.agg_breakdown SET level = 'district'" BKEY(
                          "C", "2024", "teachers", "locality", "town"),
                      "UPDATE edustat.agg_breakdown SET level = 'city'" BKEY(
                          "C", "2024", "teachers", "locality", "town"),
                      "C", "2024", "teachers", "locality=town", "level", "district", "city");
}

/*
 * A ratio in a slice: the ratio of the slice's sums, weighted statistics
 * over the slice's qualifying leaves.  C primary ptr: 550 / 40 = 13.75,
 * leaves S1 10 (w 10), S2 15 (w 20), S4 15 (w 10).  D2 junior is S3 alone,
 * with pupils and no teachers: value NULL, no statistics.
 */
static void
test_breakdown_ratio(void **state)
{
        (void)state;
        expect_one_in("UPDATE edustat.agg_breakdown SET numerator = 600" BKEY("C", "2024", "ptr",
                                                                              "stage", "primary"),
                      "UPDATE edustat.agg_breakdown SET numerator = 550" BKEY("C", "2024", "ptr",
                                                                              "stage", "primary"),
                      "C", "2024", "ptr", "stage=primary", "numerator", "600", "550");
        expect_one_in("UPDATE edustat.agg_breakdown SET denominator = 45" BKEY("C", "2024", "ptr",
                                                                               "stage", "primary"),
                      "UPDATE edustat.agg_breakdown SET denominator = 40" BKEY("C", "2024", "ptr",
                                                                               "stage", "primary"),
                      "C", "2024", "ptr", "stage=primary", "denominator", "45", "40");
        /* The ratio's value: 1e-12 relative is the tolerance. */
        expect_one_in("UPDATE edustat.agg_breakdown SET value = 13.7500001" BKEY(
                          "C", "2024", "ptr", "stage", "primary"),
                      "UPDATE edustat.agg_breakdown SET value = 13.75" BKEY("C", "2024", "ptr",
                                                                            "stage", "primary"),
                      "C", "2024", "ptr", "stage=primary", "value", "13.7500001",
                      "13.7500000000000000");
        expect_none("UPDATE edustat.agg_breakdown SET value = 218.318181818181818" BKEY(
                        "C", "2024", "area", "stage", "primary"),
                    "UPDATE edustat.agg_breakdown SET value = 218.3181818181818182" BKEY(
                        "C", "2024", "area", "stage", "primary"));
        /* Weighted mean over the slice's leaves: 550 / 40. */
        expect_one_in("UPDATE edustat.agg_breakdown SET mean = 13.3333333333" BKEY(
                          "C", "2024", "ptr", "stage", "primary"),
                      "UPDATE edustat.agg_breakdown SET mean = 13.75" BKEY("C", "2024", "ptr",
                                                                           "stage", "primary"),
                      "C", "2024", "ptr", "stage=primary", "mean", "13.3333333333", "13.75");
        /* C public area: only S1 qualifies (S2 and S3 store no teach_area). */
        expect_one_in("UPDATE edustat.agg_breakdown SET max = 1000" BKEY("C", "2024", "area",
                                                                         "ownership", "public"),
                      "UPDATE edustat.agg_breakdown SET max = 1000.5" BKEY("C", "2024", "area",
                                                                           "ownership", "public"),
                      "C", "2024", "area", "ownership=public", "max", "1000", "1000.5");
        /* Denominator 0: value NULL, and no leaf qualifies: no statistics. */
        expect_one_in("UPDATE edustat.agg_breakdown SET value = 0" BKEY("D2", "2024", "ptr",
                                                                        "stage", "junior"),
                      "UPDATE edustat.agg_breakdown SET value = NULL" BKEY("D2", "2024", "ptr",
                                                                           "stage", "junior"),
                      "D2", "2024", "ptr", "stage=junior", "value", "0", "NULL");
        expect_one_in("UPDATE edustat.agg_breakdown SET mean = 0" BKEY("D2", "2025", "ptr",
                                                                       "locality", "rural"),
                      "UPDATE edustat.agg_breakdown SET mean = NULL" BKEY("D2", "2025", "ptr",
                                                                          "locality", "rural"),
                      "D2", "2025", "ptr", "locality=rural", "mean", "0", "NULL");
}

/* A breakdown row missing, or stored where none belongs. */
static void
test_breakdown_rows(void **state)
{
        (void)state;
        expect_one_in("DELETE FROM edustat.agg_breakdown" BKEY("C", "2024", "teachers", "ownership",
                                                               "public"),
                      "INSERT INTO edustat.agg_breakdown (unit, level, period, indicator,"
                      " dimension, category, value, n_reporting, min, max, mean, cv)"
                      " VALUES ('C', 'city', '2024', 'teachers', 'ownership', 'public', 30, 2,"
                      " 10, 20, 15, 1::float8 / 3)",
                      "C", "2024", "teachers", "ownership=public", "row", "(no row)",
                      "value 30, n_reporting 2");
        /* D1 has no junior school. */
        expect_one_in(
            "INSERT INTO edustat.agg_breakdown (unit, level, period, indicator,"
            " dimension, category, value, n_reporting)"
            " VALUES ('D1', 'district', '2024', 'pupils', 'stage', 'junior', 5, 1)",
            "DELETE FROM edustat.agg_breakdown" BKEY("D1", "2024", "pupils", "stage", "junior"),
            "D1", "2024", "pupils", "stage=junior", "row", "value 5, n_reporting 1", "(no row)");
        /* C has a junior school, S3, but it stores no teachers. */
        expect_one_in(
            "INSERT INTO edustat.agg_breakdown (unit, level, period, indicator,"
            " dimension, category, value, n_reporting)"
            " VALUES ('C', 'city', '2024', 'teachers', 'stage', 'junior', 0, 0)",
            "DELETE FROM edustat.agg_breakdown" BKEY("C", "2024", "teachers", "stage", "junior"),
            "C", "2024", "teachers", "stage=junior", "row", "value 0, n_reporting 0", "(no row)");
        /* Breakdowns are kept for units with children only. */
        expect_one_in(
            "INSERT INTO edustat.agg_breakdown (unit, level, period, indicator,"
            " dimension, category, value, n_reporting)"
            " VALUES ('S1', 'school', '2024', 'pupils', 'stage', 'primary', 100, 1)",
            "DELETE FROM edustat.agg_breakdown" BKEY("S1", "2024", "pupils", "stage", "primary"),
            "S1", "2024", "pupils", "stage=primary", "row", "value 100, n_reporting 1", "(no row)");
        /*
         * S4 without an ownership (empty, as NULL) is in no ownership
         * slice: without T1's, D2's and C's private rows all matches.
         */
        expect_none("CREATE TABLE public.priv AS SELECT * FROM edustat.agg_breakdown"
                    " WHERE category = 'private';\n"
                    "DELETE FROM edustat.agg_breakdown WHERE category = 'private';\n"
                    "UPDATE edustat.orgunit SET ownership = '' WHERE code = 'S4'",
                    "INSERT INTO edustat.agg_breakdown SELECT * FROM public.priv;\n"
                    "DROP TABLE public.priv;\n"
                    "UPDATE edustat.orgunit SET ownership = 'private' WHERE code = 'S4'");
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_breakdown"
                                " WHERE category = 'private'"),
                         15);
}

/*
 * A raw value changed behind the aggregates' back (S2 pupils 300 -> 310):
 * every row above it that depends on it is reported.  By hand:
 *   D1 pupils, C pupils: value, max, mean, cv            4 + 4
 *   D1 ptr, C ptr: numerator, value, max (15 -> 15.5), mean, cv   5 + 5
 *   D1 area, C area: value, denominator (leaf stats: S2 stores no area) 2 + 2
 * and the same 11 columns in each slice S2 is in: D1's primary, urban,
 * public and C's primary, urban, public (C primary pupils: max 300 -> 310;
 * C public pupils: min stays S3's 50): 6 x 11.  S2's own rows are derived
 * from unit_value and stay right.  The report is ordered by unit, period,
 * indicator, slice (the agg_value row first, then dimension, category),
 * then column (value before denominator).  Also checks check_main's exit
 * code and the print format.
 */
static void
test_raw_value_changed(void **state)
{
        struct check_report rep;
        char err[512], buf[16384];
        FILE *fp;
        size_t n;

        (void)state;
        exec("UPDATE edustat.unit_value SET value = 310" KEY("S2", "2024", "pupils"));
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_int_equal(check_main(dburl), CHECK_EXIT_MISMATCH);
        exec("UPDATE edustat.unit_value SET value = 300" KEY("S2", "2024", "pupils"));
        assert_int_equal(rep.mismatches, 88);
        assert_int_equal(rep.nshown, 88);
        assert_string_equal(rep.shown[0].unit, "C");
        assert_string_equal(rep.shown[0].indicator, "area");
        assert_string_equal(rep.shown[0].slice, "");
        assert_string_equal(rep.shown[0].column, "value");
        assert_string_equal(rep.shown[0].stored, "200.125");
        assert_string_equal(rep.shown[1].column, "denominator");
        assert_string_equal(rep.shown[1].stored, "600");
        assert_string_equal(rep.shown[1].expected, "610");
        /* C's urban schools are S1 and S2: 400 pupils, now 410. */
        assert_string_equal(rep.shown[2].indicator, "area");
        assert_string_equal(rep.shown[2].slice, "locality=urban");
        assert_string_equal(rep.shown[2].column, "value");
        assert_string_equal(rep.shown[3].column, "denominator");
        assert_string_equal(rep.shown[3].stored, "400");
        assert_string_equal(rep.shown[3].expected, "410");
        assert_string_equal(rep.shown[4].slice, "ownership=public");
        assert_string_equal(rep.shown[5].expected, "460");
        assert_string_equal(rep.shown[6].slice, "stage=primary");
        assert_string_equal(rep.shown[7].stored, "550");
        assert_string_equal(rep.shown[7].expected, "560");
        assert_string_equal(rep.shown[8].indicator, "ptr");
        assert_string_equal(rep.shown[8].slice, "");
        assert_string_equal(rep.shown[8].column, "value");
        assert_string_equal(rep.shown[9].column, "numerator");
        assert_string_equal(rep.shown[9].expected, "610");
        assert_string_equal(rep.shown[10].column, "max");
        assert_string_equal(rep.shown[10].expected, "15.5");
        /* C pupils, stage=primary: value, max, mean, cv; the last of C. */
        assert_string_equal(rep.shown[40].indicator, "pupils");
        assert_string_equal(rep.shown[40].slice, "stage=primary");
        assert_string_equal(rep.shown[40].column, "value");
        assert_string_equal(rep.shown[40].expected, "560");
        assert_string_equal(rep.shown[41].column, "max");
        assert_string_equal(rep.shown[41].stored, "300");
        assert_string_equal(rep.shown[41].expected, "310");
        assert_string_equal(rep.shown[43].unit, "C");
        assert_string_equal(rep.shown[43].column, "cv");
        assert_string_equal(rep.shown[44].unit, "D1");
        assert_string_equal(rep.shown[87].unit, "D1");
        assert_string_equal(rep.shown[87].indicator, "pupils");
        assert_string_equal(rep.shown[87].slice, "stage=primary");
        assert_string_equal(rep.shown[87].column, "cv");

        fp = tmpfile();
        assert_non_null(fp);
        rep.mismatches = 130; /* as if only the first 88 of 130 were shown */
        check_report_print(&rep, fp);
        rewind(fp);
        n = fread(buf, 1, sizeof buf - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        assert_non_null(strstr(buf, "mismatch: unit C, period 2024, indicator area, column "
                                    "denominator: stored 600, expected 610\n"));
        assert_non_null(strstr(buf, "mismatch: unit C, period 2024, indicator area, breakdown "
                                    "locality=urban, column denominator: stored 400, expected "
                                    "410\n"));
        assert_non_null(strstr(buf, "... and 42 more mismatches\n"));
        assert_non_null(strstr(buf, "check: 130 mismatches between agg_value/agg_breakdown and "
                                    "the aggregates recomputed from 11 stored values (26 stored "
                                    "rows of units with children, 103 breakdown rows)"));
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

/* Keep a copy of the stored aggregates (both tables) in public.kept*. */
static void
aggs_keep(void)
{
        exec("CREATE TABLE public.kept AS SELECT * FROM edustat.agg_rollup;\n"
             "CREATE TABLE public.kept_b AS SELECT * FROM edustat.agg_breakdown");
}

/*
 * Put back the kept aggregates of the units in units (an SQL list such as
 * "'D1', 'C'"), first deleting what is stored for them, and drop the copy.
 */
static void
aggs_restore(const char *units)
{
        char sql[1024];

        snprintf(sql, sizeof sql,
                 "DELETE FROM edustat.agg_rollup WHERE unit IN (%s);\n"
                 "DELETE FROM edustat.agg_breakdown WHERE unit IN (%s);\n"
                 "INSERT INTO edustat.agg_rollup SELECT * FROM public.kept WHERE unit IN (%s);\n"
                 "INSERT INTO edustat.agg_breakdown SELECT * FROM public.kept_b"
                 " WHERE unit IN (%s);\n"
                 "DROP TABLE public.kept;\n"
                 "DROP TABLE public.kept_b",
                 units, units, units, units);
        exec(sql);
}

/* Load orgunits (a whole orgunits.csv) into the database as the config's. */
static void
orgunits_load(const char *orgunits)
{
        struct config *cfg2;
        size_t nu, ni;
        char err[512];

        write_file(cfgdir, "orgunits.csv", orgunits);
        cfg2 = config_load(cfgdir, err, sizeof err);
        write_file(cfgdir, "orgunits.csv", orgunits_csv);
        assert_non_null(cfg2);
        assert_int_equal(refdata_store(writer_conn(w), cfg2, &nu, &ni, err, sizeof err), DB_OK);
        config_destroy(&cfg2);
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
        struct check_report rep;
        size_t nu, ni;
        long above, other;
        char err[512];

        (void)state;
        above = scalar("SELECT count(*) FROM edustat.agg_rollup WHERE unit IN ('D1', 'C')");
        other = scalar("SELECT count(*) FROM edustat.agg_rollup WHERE unit NOT IN ('D1', 'C')");
        assert_true(above > 0 && other > 0);
        /* D1: 3 slices x 5 indicators; C: 5 + 6 + 6 + 5 + 5 + 5 + 8 (see the setup). */
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_breakdown"
                                " WHERE unit IN ('D1', 'C')"),
                         55);
        aggs_keep();
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_value WHERE unit = 'S2'"), 4);

        orgunits_load(without_s2);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.orgunit WHERE current"), 7);

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
        /*
         * The same keys as before: S2 reported nothing S1 or the others
         * did not, and S1 is in each of S2's categories.
         */
        assert_int_equal(rep.mismatches, above + 55);
        check_report_free(&rep);

        /* Back in the config, and the aggregates rewritten: all agree again. */
        assert_int_equal(refdata_store(writer_conn(w), cfg, &nu, &ni, err, sizeof err), DB_OK);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.orgunit WHERE NOT current"), 0);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_value WHERE unit = 'S2'"), 4);
        aggs_restore("'D1', 'C'");
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_int_equal(rep.mismatches, 0);
        check_report_free(&rep);
}

/*
 * A school that changes category (S4's ownership, private to public) moves
 * between slices: the units above it (T1, D2, C) lose their stored
 * aggregates at the config load, as when a unit moves, for the aggregator
 * to rewrite; D1's stay.  Before the fix the old slice's rows stayed, and
 * the check reported them as extra rows.
 */
static void
test_category_changed(void **state)
{
        static const char s4_public[] = "code,parent,level,name,stage,locality,ownership\n"
                                        "C,,city,City,,,\n"
                                        "D1,C,district,District 1,,,\n"
                                        "D2,C,district,District 2,,,\n"
                                        "T1,D2,town,Town 1,,,\n"
                                        "S1,D1,school,School 1,primary,urban,public\n"
                                        "S2,D1,school,School 2,primary,urban,public\n"
                                        "S3,D2,school,School 3,junior,rural,public\n"
                                        "S4,T1,school,School 4,primary,town,public\n";
        struct check_report rep;
        size_t nu, ni;
        long d1, d1_b;
        char err[512];

        (void)state;
        d1 = scalar("SELECT count(*) FROM edustat.agg_rollup WHERE unit = 'D1'");
        d1_b = scalar("SELECT count(*) FROM edustat.agg_breakdown WHERE unit = 'D1'");
        assert_true(d1 > 0 && d1_b > 0);
        assert_true(scalar("SELECT count(*) FROM edustat.agg_breakdown WHERE unit = 'T1'"
                           " AND dimension = 'ownership' AND category = 'private'") > 0);
        aggs_keep();
        orgunits_load(s4_public);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_rollup"
                                " WHERE unit IN ('T1', 'D2', 'C')"),
                         0);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_breakdown"
                                " WHERE unit IN ('T1', 'D2', 'C')"),
                         0);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_rollup WHERE unit = 'D1'"), d1);
        assert_int_equal(scalar("SELECT count(*) FROM edustat.agg_breakdown WHERE unit = 'D1'"),
                         d1_b);
        /* Only missing rows, above S4: what the aggregator rewrites at start. */
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_true(rep.mismatches > 0);
        for (size_t i = 0; i < rep.nshown; i++) {
                const struct check_mismatch *m = &rep.shown[i];

                assert_true(strcmp(m->unit, "T1") == 0 || strcmp(m->unit, "D2") == 0 ||
                            strcmp(m->unit, "C") == 0);
                assert_string_equal(m->column, "row");
                assert_string_equal(m->stored, "(no row)");
        }
        check_report_free(&rep);

        /* Back as it was. */
        assert_int_equal(refdata_store(writer_conn(w), cfg, &nu, &ni, err, sizeof err), DB_OK);
        aggs_restore("'T1', 'D2', 'C'");
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_int_equal(rep.mismatches, 0);
        check_report_free(&rep);
}

/* First column of the first row of sql as text ("NULL" for null); static buffer. */
static const char *
text_of(const char *sql)
{
        static char out[4096];
        PGresult *res = PQexec(db, sql);

        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
                fprintf(stderr, "query failed: %s\n%s", sql, PQerrorMessage(db));
                fail();
        }
        snprintf(out, sizeof out, "%s", PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
        PQclear(res);
        return out;
}

/* The SQL functions of the rules (migration 14), against values worked out by hand. */
static void
test_rule_functions(void **state)
{
        (void)state;
        assert_string_equal(text_of("SELECT edustat.prev_year_period('2025') || ' ' ||"
                                    " edustat.prev_year_period('2025S1') || ' ' ||"
                                    " edustat.prev_year_period('2025Q3') || ' ' ||"
                                    " edustat.prev_year_period('202503') || ' ' ||"
                                    " edustat.prev_year_period('2000')"),
                            "2024 2024S1 2024Q3 202403 1999");
        assert_string_equal(text_of("SELECT coalesce(edustat.prev_year_period('1900'), 'none')"
                                    " || ' ' || coalesce(edustat.prev_year_period('2025Q5'),"
                                    " 'none') || ' ' || coalesce(edustat.prev_year_period('x'),"
                                    " 'none')"),
                            "none none none");
        /* Twelve places, half away from zero, also for negative quotients. */
        assert_string_equal(text_of("SELECT edustat.rule_div(1, 3) || ' ' || edustat.rule_div(2, 3)"
                                    " || ' ' || edustat.rule_div(-2, 3) || ' ' ||"
                                    " edustat.rule_div(5, 10000000000000) || ' ' ||"
                                    " edustat.rule_div(-5, 10000000000000) || ' ' ||"
                                    " edustat.rule_div(4, -10000000000000) || ' ' ||"
                                    " edustat.rule_div(1000.5, 7)"),
                            "0.333333333333 0.666666666667 -0.666666666667 0.000000000001 "
                            "-0.000000000001 0.000000000000 142.928571428571");
        assert_string_equal(text_of("SELECT coalesce(edustat.rule_div(1, 0)::text, 'none')"),
                            "none");
        assert_string_equal(text_of("SELECT coalesce(edustat.rule_lim(1e24)::text, 'none') || ' '"
                                    " || coalesce(edustat.rule_lim(-1e24 - 1)::text, 'none')"),
                            "1000000000000000000000000 none");
}

/*
 * The rules of rules.csv below against the fixture, worked out by hand
 * (2024 unless said; ptr = pupils / teachers, 12 places):
 *   W1 ptr <= 12 (primary schools)           S2 15, S4 15 fail; S1 10 passes
 *   W2 pupils <= prev_year(pupils) * 1.3      S3 2025: 70 > 65; no 2023 values
 *   E1 teach_area / pupils * 3 >= 25 (zero)   S1 30.015 passes; S2, S3 (both
 *                                             years) 0; S4 200.25/150*3 = 4.005
 *   W3 teach_area / 7 <= 100                  S1 1000.5/7 = 142.928571428571;
 *                                             S4 28.607142857143 passes
 *   L1 pupils <= 300 (districts)              D1 400; D2 200 and 70 pass
 *   L2 ptr >= 14 (districts)                  D1 400/30, D2 200/15 (its own 5
 *                                             teachers count): 13.333333333333;
 *                                             D2 2025 has no teachers: skipped
 */
/* The path of name in cfgdir; static buffer. */
static const char *
cfgdir_file(const char *name)
{
        static char path[300];

        snprintf(path, sizeof path, "%s/%s", cfgdir, name);
        return path;
}

static const char rules_csv[] = "code,name_zh,left,op,right,severity,scope,stage,missing\n"
                                "W1,生师比不高于12,ptr,<=,12,warning,school,primary,\n"
                                "W2,在校生同比,pupils,<=,prev_year(pupils) * 1.3,warning,,,\n"
                                "E1,生均面积,teach_area / pupils * 3,>=,25,error,,,zero\n"
                                "W3,面积,teach_area / 7,<=,100,warning,,,skip\n"
                                "L1,区县在校生,pupils,<=,300,warning,district,,\n"
                                "L2,区县生师比,ptr,>=,14,warning,district,,\n";

#define NVIOL 11

static void
rules_store(void)
{
        char err[512];
        size_t nu, ni;

        if (refdata_store(writer_conn(w), cfg, &nu, &ni, err, sizeof err) != DB_OK) {
                fprintf(stderr, "refdata_store: %s\n", err);
                fail();
        }
}

/* The check of rule_violation: clean when it holds the rules' results; a
 * planted row, a missing row and a wrong value are each reported. */
static void
test_rule_violations(void **state)
{
        struct proto_violation v[NVIOL] = {
            {S("D1"), S("2024"), S("L1"), S("warning"), S("400"), S("300")},
            {S("D1"), S("2024"), S("L2"), S("warning"), S("13.333333333333"), S("14")},
            {S("D2"), S("2024"), S("L2"), S("warning"), S("13.333333333333"), S("14")},
            {S("S1"), S("2024"), S("W3"), S("warning"), S("142.928571428571"), S("100")},
            {S("S2"), S("2024"), S("E1"), S("error"), S("0"), S("25")},
            {S("S2"), S("2024"), S("W1"), S("warning"), S("15"), S("12")},
            {S("S3"), S("2024"), S("E1"), S("error"), S("0"), S("25")},
            {S("S3"), S("2025"), S("E1"), S("error"), S("0"), S("25")},
            {S("S3"), S("2025"), S("W2"), S("warning"), S("70"), S("65")},
            {S("S4"), S("2024"), S("E1"), S("error"), S("4.005"), S("25")},
            {S("S4"), S("2024"), S("W1"), S("warning"), S("15"), S("12")},
        };
        struct proto_uow u = {.seq = 1,
                              .aggregator = S("agg-rules"),
                              .nviolations = NVIOL,
                              .violations = v,
                              .violations_full = 1};
        struct check_report rep;
        char err[512], buf[8192];
        int replayed;
        FILE *fp;
        size_t n;

        (void)state;
        write_file(cfgdir, "rules.csv", rules_csv);
        rules_store();
        assert_int_equal(scalar("SELECT count(*) FROM edustat.rule"), 6);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        for (size_t i = 0; i < rep.nrules_shown; i++)
                fprintf(stderr, "unexpected: %s %s %s %s: stored %s, expected %s\n",
                        rep.rules_shown[i].unit, rep.rules_shown[i].period, rep.rules_shown[i].rule,
                        rep.rules_shown[i].column, rep.rules_shown[i].stored,
                        rep.rules_shown[i].expected);
        assert_int_equal(rep.mismatches, 0);
        assert_int_equal(rep.rule_mismatches, 0);
        assert_int_equal(rep.rules, 6);
        assert_int_equal(rep.violations, NVIOL);
        check_report_free(&rep);
        assert_int_equal(check_main(dburl), CHECK_EXIT_OK);

        /* A planted row, a missing one and a wrong value. */
        exec("INSERT INTO edustat.rule_violation (unit, period, rule, severity, left_value,"
             " right_value) VALUES ('S1', '2024', 'W1', 'warning', 10, 12)");
        exec("DELETE FROM edustat.rule_violation WHERE unit = 'S3' AND period = '2025'"
             " AND rule = 'W2'");
        exec("UPDATE edustat.rule_violation SET left_value = 4.006 WHERE unit = 'S4'"
             " AND rule = 'E1'");
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_int_equal(check_main(dburl), CHECK_EXIT_MISMATCH);
        assert_int_equal(rep.mismatches, 0);
        assert_int_equal(rep.rule_mismatches, 3);
        assert_int_equal(rep.nrules_shown, 3);
        assert_string_equal(rep.rules_shown[0].unit, "S1");
        assert_string_equal(rep.rules_shown[0].rule, "W1");
        assert_string_equal(rep.rules_shown[0].column, "row");
        assert_string_equal(rep.rules_shown[0].stored, "warning 10 vs 12");
        assert_string_equal(rep.rules_shown[0].expected, "(no row)");
        assert_string_equal(rep.rules_shown[1].unit, "S3");
        assert_string_equal(rep.rules_shown[1].rule, "W2");
        assert_string_equal(rep.rules_shown[1].stored, "(no row)");
        assert_string_equal(rep.rules_shown[1].expected, "warning 70 vs 65");
        assert_string_equal(rep.rules_shown[2].unit, "S4");
        assert_string_equal(rep.rules_shown[2].rule, "E1");
        assert_string_equal(rep.rules_shown[2].column, "left_value");
        assert_string_equal(rep.rules_shown[2].stored, "4.006");
        assert_string_equal(rep.rules_shown[2].expected, "4.005");
        fp = tmpfile();
        assert_non_null(fp);
        check_report_print(&rep, fp);
        rewind(fp);
        n = fread(buf, 1, sizeof buf - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        assert_non_null(strstr(buf, "mismatch: unit S4, period 2024, rule E1, column left_value: "
                                    "stored 4.006, expected 4.005\n"));
        assert_non_null(strstr(buf, "check: 3 mismatches between rule_violation (11 rows) and "
                                    "the violations of 6 rules recomputed"));
        check_report_free(&rep);

        /* A changed value changes what is expected. */
        exec("UPDATE edustat.rule_violation SET left_value = 4.005 WHERE unit = 'S4'"
             " AND rule = 'E1'");
        exec("DELETE FROM edustat.rule_violation WHERE unit = 'S1' AND rule = 'W1'");
        exec("INSERT INTO edustat.rule_violation (unit, period, rule, severity, left_value,"
             " right_value) VALUES ('S3', '2025', 'W2', 'warning', 70, 65)");
        assert_int_equal(check_main(dburl), CHECK_EXIT_OK);
        exec("UPDATE edustat.unit_value SET value = 60 WHERE unit = 'S3' AND period = '2025'"
             " AND indicator = 'pupils'");
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        exec("UPDATE edustat.unit_value SET value = 70 WHERE unit = 'S3' AND period = '2025'"
             " AND indicator = 'pupils'");
        /* 60 <= 65 holds now: S3's row is extra (the aggregates of D2 and C differ too). */
        assert_int_equal(rep.rule_mismatches, 1);
        assert_string_equal(rep.rules_shown[0].unit, "S3");
        assert_string_equal(rep.rules_shown[0].expected, "(no row)");
        check_report_free(&rep);

        /* Back as it was: no rules, no violations. */
        remove(cfgdir_file("rules.csv"));
        rules_store();
        exec("DELETE FROM edustat.rule_violation");
        assert_int_equal(check_main(dburl), CHECK_EXIT_OK);
}

/*
 * The office views of migration 14 on the fixture's tree, against values
 * worked out by hand.  Violations (2024): S1 W3 and S2 W1 warnings in D1,
 * S2 E1 an error, S4 W1 a warning in D2 (below town T1), D1 L1 and L2 and
 * D2 L2 of level rules; S1's warning is explained.
 *   rule_check  one row per violation, with names, district and note.
 *   quality     D1: 2 schools, 2 with warnings, 1 unexplained (S2), 2 level
 *               violations (its own); D2: 2 schools, 1, 1, 1; T1: 1, 1, 1, 0;
 *               C: 4 schools, 3 with warnings, 2 unexplained, 3 level.
 * Then outlier, on schools added to D1 (the view reads unit_value): 2030
 * pupils of the primary schools S1 100, S2 110, S5 120, S6 130, S7 1000:
 * median 120, MAD median(20, 10, 0, 10, 880) = 10, so S7 alone is beyond 3
 * scaled MADs, robust z = 880 / 14.826 = 59.35518683394; teachers 10, 10,
 * 10, 10, 50: MAD 0, no outlier.  Last of the database tests: adding
 * schools makes the config load drop the aggregates above them.
 */
static void
test_views(void **state)
{
        static const char more[] = "code,parent,level,name,stage,locality,ownership\n"
                                   "C,,city,City,,,\n"
                                   "D1,C,district,District 1,,,\n"
                                   "D2,C,district,District 2,,,\n"
                                   "T1,D2,town,Town 1,,,\n"
                                   "S1,D1,school,School 1,primary,urban,public\n"
                                   "S2,D1,school,School 2,primary,urban,public\n"
                                   "S3,D2,school,School 3,junior,rural,public\n"
                                   "S4,T1,school,School 4,primary,town,private\n"
                                   "S5,D1,school,School 5,primary,urban,public\n"
                                   "S6,D1,school,School 6,primary,urban,public\n"
                                   "S7,D1,school,School 7,primary,urban,public\n";

        (void)state;
        write_file(cfgdir, "rules.csv", rules_csv);
        rules_store();
        exec("INSERT INTO edustat.rule_violation (unit, period, rule, severity, left_value,"
             " right_value) VALUES ('S1', '2024', 'W3', 'warning', 142.928571428571, 100),"
             " ('S2', '2024', 'W1', 'warning', 15, 12), ('S2', '2024', 'E1', 'error', 0, 25),"
             " ('S4', '2024', 'W1', 'warning', 15, 12), ('D1', '2024', 'L1', 'warning', 400, 300),"
             " ('D1', '2024', 'L2', 'warning', 13.333333333333, 14),"
             " ('D2', '2024', 'L2', 'warning', 13.333333333333, 14)");
        exec("INSERT INTO edustat.rule_note (unit, period, rule, note, collector) VALUES"
             " ('S1', '2024', 'W3', '含新建实验楼', 'col-s1')");
        assert_string_equal(
            text_of("SELECT string_agg(concat_ws('|', unit, unit_name, district, district_name,"
                    " period, rule, rule_name, severity, left_expr || ' ' || op || ' ' ||"
                    " right_expr, left_value, right_value, coalesce(note, '-'),"
                    " coalesce(noted_by, '-')), E'\\n' ORDER BY unit, rule)"
                    " FROM edustat.rule_check"),
            "D1|District 1|D1|District 1|2024|L1|区县在校生|warning|pupils <= 300|400|300|-|-\n"
            "D1|District 1|D1|District 1|2024|L2|区县生师比|warning|ptr >= 14|13.333333333333|14|"
            "-|-\n"
            "D2|District 2|D2|District 2|2024|L2|区县生师比|warning|ptr >= 14|13.333333333333|14|"
            "-|-\n"
            "S1|School 1|D1|District 1|2024|W3|面积|warning|teach_area / 7 <= 100|"
            "142.928571428571|100|含新建实验楼|col-s1\n"
            "S2|School 2|D1|District 1|2024|E1|生均面积|error|teach_area / pupils * 3 >= 25|0|25|"
            "-|-\n"
            "S2|School 2|D1|District 1|2024|W1|生师比不高于12|warning|ptr <= 12|15|12|-|-\n"
            "S4|School 4|D2|District 2|2024|W1|生师比不高于12|warning|ptr <= 12|15|12|-|-");
        assert_string_equal(text_of("SELECT string_agg(concat_ws(' ', unit, level, period,"
                                    " schools, schools_with_warnings, schools_unexplained,"
                                    " level_violations), '; ' ORDER BY unit) FROM edustat.quality"),
                            "C city 2024 4 3 2 3; D1 district 2024 2 2 1 2; "
                            "D2 district 2024 2 1 1 1; T1 town 2024 1 1 1 0");
        exec("DELETE FROM edustat.rule_violation");
        exec("DELETE FROM edustat.rule_note");
        remove(cfgdir_file("rules.csv"));
        rules_store();

        orgunits_load(more);
        exec("INSERT INTO edustat.unit_value (unit, period, indicator, value, version, collector,"
             " batch_id) VALUES ('S1', '2030', 'pupils', 100, 1, 't', 'v'),"
             " ('S2', '2030', 'pupils', 110, 1, 't', 'v'), ('S5', '2030', 'pupils', 120, 1, 't',"
             " 'v'), ('S6', '2030', 'pupils', 130, 1, 't', 'v'), ('S7', '2030', 'pupils', 1000,"
             " 1, 't', 'v'), ('S1', '2030', 'teachers', 10, 1, 't', 'v'), ('S2', '2030',"
             " 'teachers', 10, 1, 't', 'v'), ('S5', '2030', 'teachers', 10, 1, 't', 'v'),"
             " ('S6', '2030', 'teachers', 10, 1, 't', 'v'), ('S7', '2030', 'teachers', 50, 1,"
             " 't', 'v')");
        assert_string_equal(text_of("SELECT string_agg(concat_ws(' ', school, district, stage,"
                                    " period, indicator, value, median, mad, schools,"
                                    " round(robust_z::numeric, 11)), '; ') FROM edustat.outlier"
                                    " WHERE period = '2030'"),
                            "S7 D1 primary 2030 pupils 1000 120 10 5 59.35518683394");
        exec("DELETE FROM edustat.unit_value WHERE period = '2030'");
}

/*
 * The review round's part of the check: review rows written by the writer
 * from actions agree with their history; a changed state, a row without
 * history, a unit nobody knows and a history row without its review row
 * are each reported with the column, the stored and the expected text.
 */
static void
test_review(void **state)
{
        struct proto_action a[] = {
            {S("colS"),
             S("r1"),
             S("finish"),
             S("S1"),
             S("2024"),
             {NULL, 0},
             {NULL, 0},
             1733369400000000},
            {S("colD"),
             S("r2"),
             S("approve"),
             S("S1"),
             S("2024"),
             {NULL, 0},
             S("好"),
             1733369401000000},
            {S("colS"),
             S("r1"),
             S("finish"),
             S("S2"),
             S("2024"),
             {NULL, 0},
             {NULL, 0},
             1733369402000000},
        };
        struct proto_uow u = {.seq = 1, .aggregator = S("agg-review"), .nactions = 3, .actions = a};
        struct check_report rep;
        char err[512], buf[8192];
        int replayed;
        FILE *fp;
        size_t n;

        (void)state;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_int_equal(rep.review_mismatches, 0);
        assert_int_equal(rep.reviews, 2);
        assert_int_equal(rep.review_history, 3);
        check_report_free(&rep);
        assert_int_equal(check_main(dburl), CHECK_EXIT_OK);

        exec("UPDATE edustat.review SET state = 'submitted' WHERE unit = 'S1'");
        exec("INSERT INTO edustat.review (unit, period, state) VALUES ('S9', '2024', 'approved')");
        exec("DELETE FROM edustat.review WHERE unit = 'S2'");
        assert_int_equal(check_run(writer_conn(w), &rep, err, sizeof err), DB_OK);
        assert_int_equal(rep.mismatches, 0);
        assert_int_equal(rep.rule_mismatches, 0);
        assert_int_equal(rep.review_mismatches, 4);
        assert_int_equal(rep.nreviews_shown, 4);
        assert_string_equal(rep.reviews_shown[0].unit, "S1");
        assert_string_equal(rep.reviews_shown[0].column, "state");
        assert_string_equal(rep.reviews_shown[0].stored, "submitted");
        assert_string_equal(rep.reviews_shown[0].expected, "approved");
        assert_string_equal(rep.reviews_shown[1].unit, "S2");
        assert_string_equal(rep.reviews_shown[1].column, "row");
        assert_string_equal(rep.reviews_shown[1].stored, "(no row)");
        assert_string_equal(rep.reviews_shown[1].expected, "submitted (last review_history row)");
        assert_string_equal(rep.reviews_shown[2].unit, "S9");
        assert_string_equal(rep.reviews_shown[2].column, "row");
        assert_string_equal(rep.reviews_shown[2].stored, "approved");
        assert_string_equal(rep.reviews_shown[2].expected, "(no review_history row)");
        assert_string_equal(rep.reviews_shown[3].unit, "S9");
        assert_string_equal(rep.reviews_shown[3].column, "unit");
        assert_string_equal(rep.reviews_shown[3].expected, "a unit of edustat.orgunit");
        fp = tmpfile();
        assert_non_null(fp);
        check_report_print(&rep, fp);
        rewind(fp);
        n = fread(buf, 1, sizeof buf - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        assert_non_null(strstr(buf, "mismatch: review unit S1, period 2024, column state: stored "
                                    "submitted, expected approved\n"));
        assert_non_null(strstr(buf, "check: 4 mismatches between review (2 rows) and the last of "
                                    "3 review_history rows"));
        check_report_free(&rep);
        assert_int_equal(check_main(dburl), CHECK_EXIT_MISMATCH);

        /* Back as it was. */
        exec("DELETE FROM edustat.review");
        exec("DELETE FROM edustat.review_history");
        assert_int_equal(check_main(dburl), CHECK_EXIT_OK);
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
            cmocka_unit_test(test_setup_and_clean),
            cmocka_unit_test(test_value),
            cmocka_unit_test(test_numerator),
            cmocka_unit_test(test_n_reporting),
            cmocka_unit_test(test_statistics),
            cmocka_unit_test(test_rows),
            cmocka_unit_test(test_breakdown_value),
            cmocka_unit_test(test_breakdown_ratio),
            cmocka_unit_test(test_breakdown_rows),
            cmocka_unit_test(test_raw_value_changed),
            cmocka_unit_test(test_many),
            cmocka_unit_test(test_dropped_unit),
            cmocka_unit_test(test_category_changed),
            cmocka_unit_test(test_rule_functions),
            cmocka_unit_test(test_rule_violations),
            cmocka_unit_test(test_views),
            cmocka_unit_test(test_review),
            cmocka_unit_test(test_unreachable),
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
