/*
 * Tests of sink/migrate.c, refdata.c (the store), pgcopy.c and writer.c against a real
 * PostgreSQL given in SINKTEST_DB (a fresh, empty database).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <msgpack.h>

#include "catalog.h"
#include "config.h"
#include "orgtree.h"
#include "proto.h"
#include "migrate.h"
#include "pgcopy.h"
#include "refdata.h"
#include "writer.h"

static const char *dburl;
static PGconn *check; /* an independent connection to look at the tables */
static volatile sig_atomic_t nostop;

/* First column of the first row of sql as text ("NULL" for null); static buffer. */
static const char *
q(const char *sql)
{
        static char out[8192];
        PGresult *res = PQexec(check, sql);

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "query failed: %s\n%s", sql, PQerrorMessage(check));
                fail();
        }
        if (PQntuples(res) == 0)
                snprintf(out, sizeof out, "(none)");
        else if (PQgetisnull(res, 0, 0))
                snprintf(out, sizeof out, "NULL");
        else
                snprintf(out, sizeof out, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return out;
}

static struct pstr
S(const char *s) {
        return pstr_of(s);
}

static struct pstr
B(const char *s, uint32_t len) {
        struct pstr p = {s, len};
        return p;
}

/* A hand-built config: city C; districts D1, D2; schools S1, S2 (D1), S3 (D2). */
static struct orgunit units[] = {
    {"C", "", "city", "盘锦市", "", "", "", -1, 0, 0, 2},
    {"D1", "C", "district", "双台子区", "", "", "", 0, 1, 0, 3},
    {"D2", "C", "district", "兴隆台区", "", "", "", 0, 1, 0, 4},
    {"S1", "D1", "school", "第一小学\t\"quoted\"", "primary", "urban", "public", 1, 2, 1, 5},
    {"S2", "D1", "school", "第二小学", "primary", "rural", "private", 1, 2, 1, 6},
    {"S3", "D2", "school", "幼儿园", "kindergarten", "town", "public", 2, 2, 1, 7},
};

static struct indicator inds[] = {
    {"pupils", "在校生数", "Pupils", "人", IND_COUNT, 0, -1, -1, 1, "1", NULL, 0, 2},
    {"teachers", "专任教师数", "Teachers", "人", IND_COUNT, 0, -1, -1, 1, "1", NULL, 0, 3},
    {"teach_area", "教学用房面积", "", "m2", IND_AMOUNT, 2, -1, -1, 1, "1", NULL, 0, 4},
    {"pupil_teacher_ratio", "生师比", "Pupil-teacher ratio", "", IND_RATIO, 2, 0, 1, 1, "1", NULL,
     0, 5},
    {"area_per_100", "x", "y", "", IND_RATIO, 1, 2, 0, 100, "100", NULL, 0, 6},
};

static struct orgtree tree = {units, 6, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static struct catalog cat = {inds, 5, NULL};
static struct config cfg = {"/hand/built", &tree, &cat, 0, 0, NULL};

static struct writer *w;

static void
connect_writer(void)
{
        assert_int_equal(writer_connect(w, &nostop), 0);
}

static void
exec_ok(const char *sql)
{
        PGresult *res = PQexec(check, sql);

        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "statement failed: %s\n%s", sql, PQerrorMessage(check));
                fail();
        }
        PQclear(res);
}

/*
 * Migration 8 on a database of version 7: value_history was a table with
 * every version; afterwards it is a view with the same rows, value_replaced
 * keeps only the replaced versions, and unit_value names the collector and
 * batch of its value.  The schema is dropped again for the tests below.
 */
static void
test_migrate_history(void **state)
{
        static const char history[] =
            "SELECT string_agg(unit || ':' || indicator || '=' || value || '@' || version ||"
            " ':' || coalesce(collector, 'NULL') || ':' || coalesce(batch_id, 'NULL') || ':' ||"
            " received_at, ' ' ORDER BY unit, indicator, version) FROM edustat.value_history";
        char before[2048], err[512];
        int v;

        (void)state;
        w = writer_new(dburl);
        connect_writer();
        exec_ok("CREATE SCHEMA edustat; CREATE TABLE edustat.schema_version ("
                " version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
        for (v = 1; v <= 7; v++) {
                char ins[96];

                exec_ok(migrate_sql(v));
                snprintf(ins, sizeof ins, "INSERT INTO edustat.schema_version VALUES (%d)", v);
                exec_ok(ins);
        }
        /* S1 pupils corrected once (100@1 then 120@2), S2 pupils once, and a
         * value with no history row (stored by hand). */
        exec_ok("INSERT INTO edustat.value_history VALUES"
                " ('S1', '2024', 'pupils', 100, 1, 'colA', 'b1', '2024-03-01 10:00+08'),"
                " ('S1', '2024', 'pupils', 120, 2, 'colB', 'b2', '2024-03-02 10:00+08'),"
                " ('S2', '2024', 'pupils', 60, 3, 'colA', 'b1', '2024-03-01 10:00+08')");
        exec_ok("INSERT INTO edustat.unit_value VALUES"
                " ('S1', '2024', 'pupils', 120, 2, '2024-03-02 10:00+08'),"
                " ('S2', '2024', 'pupils', 60, 3, '2024-03-01 10:00+08'),"
                " ('S3', '2024', 'pupils', 7, 4, '2024-03-03 10:00+08')");
        exec_ok("SET TimeZone = 'Asia/Shanghai'");
        snprintf(before, sizeof before, "%s", q(history));
        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_OK);
        {
                char want[16];

                snprintf(want, sizeof want, "%d", migrate_version());
                assert_string_equal(q("SELECT max(version) FROM edustat.schema_version"), want);
        }
        /* Migrations applied before the checksum column get theirs too. */
        assert_string_equal(q("SELECT count(*) FROM edustat.schema_version"
                              " WHERE checksum IS NULL"),
                            "0");
        assert_string_equal(q("SELECT relkind FROM pg_class WHERE oid ="
                              " 'edustat.value_history'::regclass"),
                            "v");
        /* The same rows as before, plus S3's value, which had none. */
        assert_string_equal(before, "S1:pupils=100@1:colA:b1:2024-03-01 10:00:00+08 "
                                    "S1:pupils=120@2:colB:b2:2024-03-02 10:00:00+08 "
                                    "S2:pupils=60@3:colA:b1:2024-03-01 10:00:00+08");
        assert_string_equal(q(history), "S1:pupils=100@1:colA:b1:2024-03-01 10:00:00+08 "
                                        "S1:pupils=120@2:colB:b2:2024-03-02 10:00:00+08 "
                                        "S2:pupils=60@3:colA:b1:2024-03-01 10:00:00+08 "
                                        "S3:pupils=7@4:NULL:NULL:2024-03-03 10:00:00+08");
        assert_string_equal(q("SELECT string_agg(unit || '@' || version, ' ')"
                              " FROM edustat.value_replaced"),
                            "S1@1");
        assert_string_equal(q("SELECT string_agg(unit || ':' || coalesce(collector, 'NULL') ||"
                              " ':' || coalesce(batch_id, 'NULL'), ' ' ORDER BY unit)"
                              " FROM edustat.unit_value"),
                            "S1:colB:b2 S2:colA:b1 S3:NULL:NULL");
        exec_ok("RESET TimeZone");
        exec_ok("DROP SCHEMA edustat CASCADE");
        writer_destroy(&w);
}

static void
test_migrate_and_load(void **state)
{
        size_t nu = 0, ni = 0;
        char err[512];

        (void)state;
        w = writer_new(dburl);
        connect_writer();
        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_OK);
        /* Idempotent. */
        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_OK);
        /* Every migration, once, in order. */
        assert_string_equal(q("SELECT string_agg(version::text, ',' ORDER BY version) ="
                              " string_agg(n::text, ',' ORDER BY n)"
                              " FROM edustat.schema_version"
                              " FULL JOIN generate_series(1, (SELECT max(version)"
                              " FROM edustat.schema_version)) n ON n = version"),
                            "t");
        {
                char want[16];

                snprintf(want, sizeof want, "%d", migrate_version());
                assert_string_equal(q("SELECT max(version) FROM edustat.schema_version"), want);
        }
        /* psql's \d+ explains every table, view and column of the schema. */
        assert_string_equal(q("SELECT coalesce(string_agg(c.relname, ' '), 'none')"
                              " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                              " WHERE n.nspname = 'edustat' AND c.relkind IN ('r', 'v')"
                              " AND obj_description(c.oid, 'pg_class') IS NULL"),
                            "none");
        assert_string_equal(q("SELECT coalesce(string_agg(c.relname || '.' || a.attname, ' '),"
                              " 'none') FROM pg_class c"
                              " JOIN pg_namespace n ON n.oid = c.relnamespace"
                              " JOIN pg_attribute a ON a.attrelid = c.oid"
                              " WHERE n.nspname = 'edustat' AND c.relkind IN ('r', 'v')"
                              " AND a.attnum > 0 AND NOT a.attisdropped"
                              " AND col_description(c.oid, a.attnum) IS NULL"),
                            "none");
        assert_int_equal(refdata_store(writer_conn(w), &cfg, &nu, &ni, err, sizeof err), DB_OK);
        assert_int_equal(nu, 6);
        assert_int_equal(ni, 5);
        /* Reloading changes nothing and deletes nothing. */
        PQclear(PQexec(check, "INSERT INTO edustat.orgunit (code, level, depth, name, is_leaf)"
                              " VALUES ('OLD', 'school', 2, 'gone', true)"));
        assert_int_equal(refdata_store(writer_conn(w), &cfg, &nu, &ni, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT count(*) FROM edustat.orgunit"), "7");
        assert_string_equal(q("SELECT count(*) FROM edustat.indicator"), "5");
        assert_string_equal(q("SELECT name FROM edustat.orgunit WHERE code = 'S1'"),
                            "第一小学\t\"quoted\"");
        assert_string_equal(q("SELECT coalesce(parent, 'NULL') || '/' || depth || '/' || is_leaf"
                              " || '/' || coalesce(stage, 'NULL') FROM edustat.orgunit"
                              " WHERE code = 'C'"),
                            "NULL/0/false/NULL");
        assert_string_equal(q("SELECT parent || '/' || depth || '/' || is_leaf || '/' || stage ||"
                              " '/' || locality || '/' || ownership FROM edustat.orgunit"
                              " WHERE code = 'S3'"),
                            "D2/2/true/kindergarten/town/public");
        assert_string_equal(q("SELECT kind || '/' || numerator || '/' || denominator || '/' ||"
                              " multiplier || '/' || decimals FROM edustat.indicator"
                              " WHERE code = 'area_per_100'"),
                            "ratio/teach_area/pupils/100/1");
        assert_string_equal(q("SELECT kind || '/' || coalesce(numerator, 'NULL') || '/' ||"
                              " multiplier || '/' || decimals || '/' || coalesce(name_en, 'NULL')"
                              " FROM edustat.indicator WHERE code = 'teach_area'"),
                            "amount/NULL/1/2/NULL");
        /* A rolled-up row stored for a unit that is a leaf now is dropped at
         * load: the view derives leaf rows, and it would show twice. */
        PQclear(PQexec(check,
                       "INSERT INTO edustat.agg_rollup (unit, level, period, indicator,"
                       " value, n_reporting) VALUES ('S1', 'school', '2019', 'pupils', 5, 1),"
                       " ('D1', 'district', '2019', 'pupils', 5, 1)"));
        assert_int_equal(refdata_store(writer_conn(w), &cfg, &nu, &ni, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT string_agg(unit, ',') FROM edustat.agg_rollup"), "D1");
        PQclear(PQexec(check, "DELETE FROM edustat.agg_rollup"));
}

/*
 * SHA-256 of s as PostgreSQL's sha256() computes it (the bytes go in as a
 * binary bytea parameter), in lower-case hex; static buffer.
 */
static const char *
pg_sha256(const char *s)
{
        static char out[65];
        const char *params[1] = {s};
        int lens[1] = {(int)strlen(s)}, fmts[1] = {1};
        PGresult *res = PQexecParams(check, "SELECT encode(sha256($1::bytea), 'hex')", 1, NULL,
                                     params, lens, fmts, 0);

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "sha256 failed: %s", PQerrorMessage(check));
                fail();
        }
        snprintf(out, sizeof out, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return out;
}

/*
 * Every applied migration's checksum is stored, and is the SHA-256 of the
 * text this sink runs.  A stored checksum that differs (the database was
 * migrated by another text of that migration) makes migrate_run refuse,
 * naming the migration and the way out, and change nothing; with
 * EDUSTAT_ALLOW_SCHEMA_DRIFT=1 it goes on and leaves the stored checksum
 * as it found it.
 */
static void
test_migrate_checksums(void **state)
{
        char err[1024], sql[256], real[65];
        int v;

        (void)state;
        assert_non_null(w);
        for (v = 1; v <= migrate_version(); v++) {
                snprintf(sql, sizeof sql,
                         "SELECT checksum FROM edustat.schema_version WHERE version = %d", v);
                assert_string_equal(q(sql), pg_sha256(migrate_sql(v)));
        }
        snprintf(real, sizeof real, "%s",
                 q("SELECT checksum FROM edustat.schema_version WHERE version = 4"));
        exec_ok("UPDATE edustat.schema_version SET checksum = repeat('0', 64) WHERE version = 4");
        unsetenv("EDUSTAT_ALLOW_SCHEMA_DRIFT");
        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_ERROR);
        assert_string_equal(err, "database was migrated by other text: migration 4"
                                 " (004_office_views.sql) differs; restore the matching"
                                 " edustat-sink or set EDUSTAT_ALLOW_SCHEMA_DRIFT=1 after"
                                 " checking by hand");
        /* Only "1" allows it. */
        setenv("EDUSTAT_ALLOW_SCHEMA_DRIFT", "yes", 1);
        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_ERROR);
        /* Two differ: both named. */
        exec_ok("UPDATE edustat.schema_version SET checksum = 'x' WHERE version = 9");
        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "migrations 4 (004_office_views.sql), 9"
                                    " (009_aggregator_epochs.sql) differ;"));
        setenv("EDUSTAT_ALLOW_SCHEMA_DRIFT", "1", 1);
        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT checksum FROM edustat.schema_version WHERE version = 4"),
                            "0000000000000000000000000000000000000000000000000000000000000000");
        unsetenv("EDUSTAT_ALLOW_SCHEMA_DRIFT");
        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_ERROR);
        snprintf(sql, sizeof sql,
                 "UPDATE edustat.schema_version SET checksum = '%s' WHERE version = 4", real);
        exec_ok(sql);
        exec_ok("UPDATE edustat.schema_version SET checksum = NULL WHERE version = 9");
        /* A missing checksum is filled, not a difference. */
        assert_int_equal(migrate_run(writer_conn(w), err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT checksum FROM edustat.schema_version WHERE version = 9"),
                            pg_sha256(migrate_sql(9)));
}

/*
 * A released migration is never edited: tests/unit/data/migrations.sha256
 * holds the SHA-256 of every migration file as released, and the text this
 * sink embeds must hash to it.  A new migration gets its line there
 * (sha256sum sink/sql/NNN_name.sql); an edited one fails here.
 */
static void
test_migrations_released(void **state)
{
        char line[512], hex[65], name[256];
        int v, listed[256] = {0}, n = 0;
        FILE *fp;

        (void)state;
        fp = fopen(SOURCE_ROOT "/tests/unit/data/migrations.sha256", "r");
        assert_non_null(fp);
        assert_true(migrate_version() < (int)(sizeof listed / sizeof listed[0]));
        while (fgets(line, sizeof line, fp) != NULL) {
                if (line[0] == '#' || line[0] == '\n')
                        continue;
                assert_int_equal(sscanf(line, "%64s %255s", hex, name), 2);
                for (v = 1; v <= migrate_version(); v++)
                        if (strcmp(migrate_name(v), name) == 0)
                                break;
                if (v > migrate_version()) {
                        fprintf(stderr, "migrations.sha256 lists %s, which the sink lacks\n", name);
                        fail();
                }
                if (strcmp(pg_sha256(migrate_sql(v)), hex) != 0) {
                        fprintf(stderr,
                                "migration %d (sink/sql/%s) is not the text that was released"
                                " (sha256 %s, released %s): released migrations are never"
                                " edited; put the change in a new migration\n",
                                v, name, pg_sha256(migrate_sql(v)), hex);
                        fail();
                }
                listed[v]++;
                n++;
        }
        fclose(fp);
        for (v = 1; v <= migrate_version(); v++) {
                if (listed[v] != 1) {
                        fprintf(stderr,
                                "migration %d (sink/sql/%s) has %d lines in"
                                " tests/unit/data/migrations.sha256, not 1\n",
                                v, migrate_name(v), listed[v]);
                        fail();
                }
        }
        assert_int_equal(n, migrate_version());
}

/* Nasty text: every COPY special plus NUL and multibyte UTF-8. */
static const char nasty[] = "a\\b\tc\nd\re\\N\\.\0z 中文";

static void
test_commit_and_replay(void **state)
{
        struct proto_value v[] = {
            {S("S1"), S("2024"), S("pupils"), S("100"), 1, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("col1"), S("b1")},
            {S("S1"), S("2024"), S("teachers"), S("10"), 2, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("col1"), S("b1")},
            {S("S2"), S("2024"), S("pupils"), S("50"), 3, PROTO_VALUE_NEW, S("col1"), S("b1")},
            {S("S2"), S("2024"), S("pupils"), S("60"), 4, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("col1"), S("b2")},
            {S("S3"), S("2024"), S("teach_area"), S("1234.50"), 5,
             PROTO_VALUE_NEW | PROTO_VALUE_FINAL, S("col2"), S("b3")},
        };
        struct proto_reject j[] = {
            {S("col1"), S("a.csv"), S("b1"), 7, S("S9"), S("2024"), S("pupils"),
             B(nasty, sizeof nasty - 1), S("unknown unit S9")},
            {S("col1"),
             S("a.csv"),
             S("b1"),
             8,
             {NULL, 0},
             {NULL, 0},
             {NULL, 0},
             S("x,y"),
             S("row has 2 fields, want 4")},
        };
        struct proto_agg a[] = {
            {S("D1"),
             S("district"),
             S("2024"),
             S("pupils"),
             S("160"),
             {NULL, 0},
             {NULL, 0},
             2,
             60,
             100,
             80,
             0.25,
             PROTO_AGG_NULL_NUM | PROTO_AGG_NULL_DEN,
             {NULL, 0},
             {NULL, 0}},
            {S("D1"),
             S("district"),
             S("2024"),
             S("pupil_teacher_ratio"),
             {NULL, 0},
             S("160"),
             S("0"),
             2,
             0,
             0,
             0,
             0,
             PROTO_AGG_NULL_VALUE | PROTO_AGG_NULL_MIN | PROTO_AGG_NULL_MAX | PROTO_AGG_NULL_MEAN |
                 PROTO_AGG_NULL_CV,
             {NULL, 0},
             {NULL, 0}},
        };
        struct proto_uow u = {1, 0, S("agg-A"), 5, 2, 2, v, j, a, 0, NULL, 0, 0, NULL, 0, NULL};
        int replayed = -1;
        char err[512];
        PGresult *res;

        (void)state;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);
        assert_string_equal(q("SELECT string_agg(unit || ':' || indicator || '=' || value || '@' ||"
                              " version, ' ' ORDER BY unit, indicator) FROM edustat.unit_value"),
                            "S1:pupils=100@1 S1:teachers=10@2 S2:pupils=60@4 "
                            "S3:teach_area=1234.50@5");
        assert_string_equal(q("SELECT string_agg(unit || ':' || value || '@' || version || ':' ||"
                              " collector || ':' || batch_id, ' ' ORDER BY version)"
                              " FROM edustat.value_history"),
                            "S1:100@1:col1:b1 S1:10@2:col1:b1 S2:50@3:col1:b1 S2:60@4:col1:b2 "
                            "S3:1234.50@5:col2:b3");
        res = PQexec(check, "SELECT raw, reason, line, source, unit FROM edustat.rejected"
                            " WHERE line = 7");
        assert_int_equal(PQntuples(res), 1);
        /* NUL became the two characters backslash, 0. */
        assert_string_equal(PQgetvalue(res, 0, 0), "a\\b\tc\nd\re\\N\\.\\0z 中文");
        assert_string_equal(PQgetvalue(res, 0, 1), "unknown unit S9");
        assert_string_equal(PQgetvalue(res, 0, 3), "a.csv");
        PQclear(res);
        assert_string_equal(q("SELECT coalesce(unit, 'NULL') || '|' || raw || '|' || reason"
                              " FROM edustat.rejected WHERE line = 8"),
                            "NULL|x,y|row has 2 fields, want 4");
        assert_string_equal(q("SELECT level || ' ' || value || ' ' || coalesce(numerator::text,"
                              " 'NULL') || ' ' || n_reporting || ' ' || min || ' ' || max ||"
                              " ' ' || mean || ' ' || cv FROM edustat.agg_rollup"
                              " WHERE indicator = 'pupils'"),
                            "district 160 NULL 2 60 100 80 0.25");
        assert_string_equal(q("SELECT coalesce(value::text, 'NULL') || ' ' || numerator || ' ' ||"
                              " denominator || ' ' || coalesce(min::text, 'NULL') ||"
                              " coalesce(cv::text, 'NULL') FROM edustat.agg_rollup"
                              " WHERE indicator = 'pupil_teacher_ratio'"),
                            "NULL 160 0 NULLNULL");
        assert_string_equal(q("SELECT last_seq FROM edustat.sink_state WHERE aggregator = 'agg-A'"),
                            "1");
        /* Each (unit, period) of a new key noted once, at the commit's time. */
        assert_string_equal(q("SELECT string_agg(unit || '/' || period, ' ' ORDER BY unit)"
                              " FROM edustat.first_report"),
                            "S1/2024 S2/2024 S3/2024");
        assert_string_equal(q("SELECT count(*) FROM edustat.first_report f JOIN"
                              " edustat.value_history h USING (unit, period)"
                              " WHERE f.first_at <> h.received_at"),
                            "0");

        /* The same seq again: acknowledged, nothing doubled. */
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 1);
        assert_string_equal(q("SELECT count(*) FROM edustat.unit_value"), "4");
        assert_string_equal(q("SELECT count(*) FROM edustat.value_history"), "5");
        assert_string_equal(q("SELECT count(*) FROM edustat.rejected"), "2");
        assert_string_equal(q("SELECT count(*) FROM edustat.agg_rollup"), "2");
        /* A rejected line already stored (a collector's resubmission in a new uow)
         * is not stored twice. */
        {
                struct proto_uow u2 = {2,    0, S("agg-A"), 0, 2, 0,    NULL, j,
                                       NULL, 0, NULL,       0, 0, NULL, 0,    NULL};

                assert_int_equal(writer_commit(w, &u2, &replayed, err, sizeof err), DB_OK);
                assert_int_equal(replayed, 0);
                assert_string_equal(q("SELECT count(*) FROM edustat.rejected"), "2");
        }
}

static void
test_update_versions(void **state)
{
        struct proto_value v[] = {
            /* newer: replaces */
            {S("S1"), S("2024"), S("pupils"), S("120"), 10, PROTO_VALUE_FINAL, S("col1"), S("b4")},
            /* older than the stored version 2: history only, unit_value keeps 10 */
            {S("S1"), S("2024"), S("teachers"), S("11"), 1, PROTO_VALUE_FINAL, S("col1"), S("b4")},
            /* flagged as stored but missing: stored anyway */
            {S("S2"), S("2024"), S("teachers"), S("5"), 11, PROTO_VALUE_FINAL, S("col1"), S("b4")},
            /* an intermediate version: history only */
            {S("S3"), S("2024"), S("teach_area"), S("1"), 6, 0, S("col2"), S("b4")},
            {S("S3"), S("2024"), S("teach_area"), S("2000"), 7, PROTO_VALUE_FINAL, S("col2"),
             S("b4")},
        };
        struct proto_agg a[] = {
            {S("D1"),
             S("district"),
             S("2024"),
             S("pupils"),
             S("180"),
             {NULL, 0},
             {NULL, 0},
             2,
             60,
             120,
             90,
             1.0 / 3.0,
             PROTO_AGG_NULL_NUM | PROTO_AGG_NULL_DEN,
             {NULL, 0},
             {NULL, 0}},
        };
        struct proto_uow u = {3, 0, S("agg-A"), 5, 0, 1, v, NULL, a, 0, NULL, 0, 0, NULL, 0, NULL};
        int replayed = -1;
        char err[512];

        (void)state;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);
        assert_string_equal(q("SELECT string_agg(unit || ':' || indicator || '=' || value || '@' ||"
                              " version, ' ' ORDER BY unit, indicator) FROM edustat.unit_value"),
                            "S1:pupils=120@10 S1:teachers=10@2 S2:pupils=60@4 S2:teachers=5@11 "
                            "S3:teach_area=2000@7");
        assert_string_equal(q("SELECT count(*) FROM edustat.value_history"), "10");
        /* Each value is stored once: the replaced versions in value_replaced
         * (S2's 50 was replaced within uow 1; S1's 100 and S3's 1234.50 by
         * this uow; S3's 1 within it; S1's teachers 11 lost to the stored
         * version 2), the current ones with their collector and batch in
         * unit_value. */
        assert_string_equal(q("SELECT string_agg(unit || ':' || indicator || '=' || value || '@' ||"
                              " version || ':' || batch_id, ' ' ORDER BY unit, indicator, version)"
                              " FROM edustat.value_replaced"),
                            "S1:pupils=100@1:b1 S1:teachers=11@1:b4 S2:pupils=50@3:b1 "
                            "S3:teach_area=1234.50@5:b3 S3:teach_area=1@6:b4");
        assert_string_equal(q("SELECT string_agg(unit || ':' || indicator || ':' || collector ||"
                              " ':' || batch_id, ' ' ORDER BY unit, indicator)"
                              " FROM edustat.unit_value"),
                            "S1:pupils:col1:b4 S1:teachers:col1:b1 S2:pupils:col1:b2 "
                            "S2:teachers:col1:b4 S3:teach_area:col2:b4");
        /* The replaced row keeps the time it was committed, not this one's. */
        assert_string_equal(q("SELECT count(*) FROM edustat.value_replaced r JOIN"
                              " edustat.first_report f USING (unit, period)"
                              " WHERE r.version IN (1, 3, 5) AND r.batch_id <> 'b4'"
                              " AND r.received_at <> f.first_at"),
                            "0");
        /* %.17g round-trips 1/3 exactly. */
        assert_string_equal(q("SELECT (cv = 1::float8 / 3) || ' ' || value || ' ' || max"
                              " FROM edustat.agg_rollup WHERE indicator = 'pupils'"),
                            "true 180 120");
        assert_string_equal(q("SELECT count(*) FROM edustat.agg_rollup"), "2");
}

static void
test_refused(void **state)
{
        struct proto_value v[] = {
            {S("S1"), S("2025"), S("pupils"), S("7"), 20, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("col3"), S("b5")},
            {S("S2"), S("2025"), S("pupils"), S("not a number"), 21,
             PROTO_VALUE_NEW | PROTO_VALUE_FINAL, S("col3"), S("b5")},
        };
        struct proto_reject j[] = {
            {S("col3"), S("c.csv"), S("b5"), 3, S("S1"), S("2025"), S("pupils"), S("-1"),
             S("negative value")},
        };
        struct proto_uow u = {4, 0, S("agg-A"), 2, 1, 0, v, j, NULL, 0, NULL, 0, 0, NULL, 0, NULL};
        struct writer_stats st;
        int replayed = -1;
        char err[512];

        (void)state;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "invalid input syntax for type numeric"));
        assert_non_null(strstr(err, "(SQLSTATE 22P02)"));
        assert_string_equal(q("SELECT count(*) FROM edustat.unit_value WHERE period = '2025'"),
                            "0");
        assert_string_equal(q("SELECT count(*) FROM edustat.value_history WHERE period = '2025'"),
                            "0");
        assert_string_equal(q("SELECT string_agg(unit || ':' || raw || ':' ||"
                              " coalesce(line::text, 'NULL') || ':' || collector || ':' ||"
                              " batch_id || ':' || (reason LIKE 'refused by PostgreSQL: invalid"
                              " input syntax for type numeric%'), ' ' ORDER BY unit)"
                              " FROM edustat.rejected WHERE batch_id = 'b5' AND line IS NULL"),
                            "S1:7:NULL:col3:b5:true S2:not a number:NULL:col3:b5:true");
        assert_string_equal(q("SELECT reason FROM edustat.rejected WHERE batch_id = 'b5'"
                              " AND line = 3"),
                            "negative value");
        assert_string_equal(q("SELECT last_seq FROM edustat.sink_state WHERE aggregator = 'agg-A'"),
                            "4");
        /* Its replay is acknowledged and stores nothing more. */
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 1);
        assert_string_equal(q("SELECT count(*) FROM edustat.rejected WHERE batch_id = 'b5'"), "3");
        writer_stats_get(w, &st);
        assert_int_equal(st.uows, 3);
        assert_int_equal(st.values, 10);
        assert_int_equal(st.aggs, 3);
        assert_int_equal(st.replays, 2);
        assert_int_equal(st.refused, 1);
}

/* A duplicate new key (aggregator bug): refused; then the fallback works. */
static void
test_refused_duplicate(void **state)
{
        struct proto_value v[] = {
            {S("S1"), S("2024"), S("pupils"), S("7"), 30, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("col3"), S("b6")},
        };
        struct proto_uow u = {5,    0, S("agg-A"), 1, 0, 0,    v, NULL,
                              NULL, 0, NULL,       0, 0, NULL, 0, NULL};
        int replayed = -1;
        char err[512];

        (void)state;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "(SQLSTATE 23505)"));
        assert_non_null(strstr(err, "Key (unit, period, indicator)=(S1, 2024, pupils)"));
        assert_string_equal(q("SELECT value FROM edustat.unit_value WHERE unit = 'S1' AND"
                              " period = '2024' AND indicator = 'pupils'"),
                            "120");
        assert_string_equal(q("SELECT count(*) FROM edustat.rejected WHERE batch_id = 'b6'"), "1");
}

struct sent {
        char *buf[64];
        size_t len[64];
        int n;
};

static int
collect(void *arg, const void *buf, size_t len)
{
        struct sent *s = arg;

        if (s->n == 64)
                return -1;
        s->buf[s->n] = malloc(len);
        memcpy(s->buf[s->n], buf, len);
        s->len[s->n++] = len;
        return 0;
}

static void
sent_free(struct sent *s)
{
        for (int i = 0; i < s->n; i++)
                free(s->buf[i]);
        s->n = 0;
}

static void
test_stream(void **state)
{
        struct sent s = {0};
        uint64_t last = 99, nrows = 99, rlast, rn, repoch, rrev, rnotes, nrev, nnotes;
        struct proto_row *rows;
        uint32_t n;
        char err[512];
        char line[256];
        char got[1024] = "";

        (void)state;
        assert_int_equal(writer_stream_state(w, S("agg-A"), 7, collect, &s, &last, &nrows, &nrev,
                                             &nnotes, err, sizeof err),
                         DB_OK);
        assert_int_equal(last, 5);
        assert_int_equal(nrows, 5);
        assert_int_equal(s.n, 2);
        assert_int_equal(proto_peek(s.buf[0], s.len[0]), PROTO_ROWS);
        assert_int_equal(proto_rows_decode(s.buf[0], s.len[0], &rows, &n, err, sizeof err), 0);
        assert_int_equal(n, 5);
        /* Order of COPY output is heap order; sort-free check via a set string. */
        for (uint32_t i = 0; i < n; i++) {
                snprintf(line, sizeof line, "%.*s/%.*s/%.*s=%.*s@%llu by %.*s;",
                         (int)rows[i].unit.len, rows[i].unit.p, (int)rows[i].period.len,
                         rows[i].period.p, (int)rows[i].indicator.len, rows[i].indicator.p,
                         (int)rows[i].value.len, rows[i].value.p,
                         (unsigned long long)rows[i].version, (int)rows[i].collector.len,
                         rows[i].collector.p);
                strcat(got, line);
        }
        free(rows);
        /* Each row names who stored it (the stale report's "submitted by"). */
        assert_non_null(strstr(got, "S1/2024/pupils=120@10 by col1;"));
        assert_non_null(strstr(got, "S1/2024/teachers=10@2 by col1;"));
        assert_non_null(strstr(got, "S2/2024/pupils=60@4 by col1;"));
        assert_non_null(strstr(got, "S2/2024/teachers=5@11 by col1;"));
        assert_non_null(strstr(got, "S3/2024/teach_area=2000@7 by col2;"));
        assert_int_equal(proto_ready_decode(s.buf[1], s.len[1], &rlast, &rn, &repoch, &rrev,
                                            &rnotes, err, sizeof err),
                         0);
        assert_int_equal(rlast, 5);
        assert_int_equal(rn, 5);
        assert_int_equal(repoch, 7);
        sent_free(&s);

        /* An unknown aggregator starts from 0. */
        assert_int_equal(writer_stream_state(w, S("agg-B"), 0, collect, &s, &last, &nrows, &nrev,
                                             &nnotes, err, sizeof err),
                         DB_OK);
        assert_int_equal(last, 0);
        assert_int_equal(nrows, 5);
        sent_free(&s);
}

static void
test_agg_value_leaves(void **state)
{
        (void)state;
        /* S1: pupils 120, teachers 10 -> ratio 12; S2: pupils 60 teachers 5 -> 12. */
        assert_string_equal(q("SELECT level || ' ' || value || ' ' || numerator || ' ' ||"
                              " denominator || ' ' || n_reporting || ' ' || min || ' ' || max ||"
                              " ' ' || mean || ' ' || cv FROM edustat.agg_value WHERE unit = 'S1'"
                              " AND period = '2024' AND indicator = 'pupil_teacher_ratio'"),
                            "school 12.0000000000000000 120 10 1 12 12 12 0");
        /* S3 stores teach_area only: area_per_100 = 100*2000/0 -> NULL, x NULL. */
        assert_string_equal(q("SELECT coalesce(value::text, 'NULL') || ' ' || numerator || ' ' ||"
                              " denominator || ' ' || coalesce(min::text, 'NULL') || ' ' ||"
                              " coalesce(cv::text, 'NULL') FROM edustat.agg_value"
                              " WHERE unit = 'S3' AND indicator = 'area_per_100'"),
                            "NULL 2000 0 NULL NULL");
        /* S1 count row: identity. */
        assert_string_equal(q("SELECT value || ' ' || coalesce(numerator::text, 'NULL') || ' ' ||"
                              " n_reporting || ' ' || min || ' ' || cv FROM edustat.agg_value"
                              " WHERE unit = 'S1' AND period = '2024' AND indicator = 'pupils'"),
                            "120 NULL 1 120 0");
        /* District row comes from agg_rollup. */
        assert_string_equal(q("SELECT value FROM edustat.agg_value WHERE unit = 'D1'"
                              " AND indicator = 'pupils'"),
                            "180");
        /* No leaf row for S1's ratio in 2025 (nothing stored); no rows for OLD. */
        assert_string_equal(q("SELECT count(*) FROM edustat.agg_value WHERE period = '2025'"), "0");
        /* Leaf rows: S1 pupils, teachers, ptr; S2 pupils, teachers, ptr; S3 teach_area,
         * area_per_100 (its denominator is pupils) for S1, S2; S3 teach_area,
         * area_per_100; plus 2 rollup rows. */
        assert_string_equal(q("SELECT count(*) FROM edustat.agg_value"), "12");
        /* A zero value has cv NULL. */
        PQclear(PQexec(check, "INSERT INTO edustat.unit_value VALUES"
                              " ('S3', '2023', 'pupils', 0, 1), ('S3', '2023', 'teachers', 0, 1)"));
        assert_string_equal(q("SELECT coalesce(cv::text, 'NULL') || ' ' || min"
                              " FROM edustat.agg_value WHERE unit = 'S3' AND period = '2023'"
                              " AND indicator = 'pupils'"),
                            "NULL 0");
        assert_string_equal(q("SELECT coalesce(value::text, 'NULL') || ' ' ||"
                              " coalesce(mean::text, 'NULL') || ' ' || coalesce(cv::text, 'NULL')"
                              " FROM edustat.agg_value WHERE unit = 'S3' AND period = '2023'"
                              " AND indicator = 'pupil_teacher_ratio'"),
                            "NULL NULL NULL");
        PQclear(PQexec(check, "UPDATE edustat.unit_value SET value = 4 WHERE unit = 'S3' AND"
                              " period = '2023' AND indicator = 'teachers'"));
        assert_string_equal(q("SELECT value || ' ' || mean || ' ' || coalesce(cv::text, 'NULL')"
                              " FROM edustat.agg_value"
                              " WHERE unit = 'S3' AND period = '2023'"
                              " AND indicator = 'pupil_teacher_ratio'"),
                            "0.00000000000000000000 0 NULL");
        PQclear(PQexec(check, "DELETE FROM edustat.unit_value WHERE period = '2023'"));
}

/* The backend dies under the writer: DB_RETRY, reconnect, commit. */
static void
test_connection_loss(void **state)
{
        struct proto_value v[] = {
            {S("S1"), S("2026"), S("pupils"), S("42"), 40, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("col4"), S("b7")},
        };
        struct proto_uow u = {6,    0, S("agg-A"), 1, 0, 0,    v, NULL,
                              NULL, 0, NULL,       0, 0, NULL, 0, NULL};
        char sql[128], err[512];
        int replayed = -1;

        (void)state;
        snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(writer_conn(w)));
        assert_string_equal(q(sql), "t");
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_RETRY);
        fprintf(stderr, "retry reason: %s\n", err);
        connect_writer();
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);
        assert_string_equal(q("SELECT value FROM edustat.unit_value WHERE period = '2026'"), "42");
        assert_string_equal(q("SELECT last_seq FROM edustat.sink_state WHERE aggregator = 'agg-A'"),
                            "6");
}

/* Text past the 64 KB chunk, with escapes straddling chunk edges. */
static void
test_big_text(void **state)
{
        enum { NR = 100, LEN = 4000 };
        static char raw[NR][LEN];
        static struct proto_reject j[NR];
        struct proto_uow u = {7,    0, S("agg-A"), 0, NR, 0,    NULL, j,
                              NULL, 0, NULL,       0, 0,  NULL, 0,    NULL};
        char err[512], sql[256];
        int replayed;
        PGresult *res;

        (void)state;
        for (int i = 0; i < NR; i++) {
                for (int k = 0; k < LEN; k++)
                        raw[i][k] = "\t\\\nab\r"[(k + i) % 6];
                j[i] = (struct proto_reject){S("big"),        S("big.csv"),   S("bbig"),
                                             (uint32_t)i + 1, S("S1"),        S("2024"),
                                             S("pupils"),     B(raw[i], LEN), S("too long")};
        }
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT count(*) FROM edustat.rejected WHERE batch_id = 'bbig'"),
                            "100");
        for (int i = 0; i < NR; i += 33) {
                snprintf(sql, sizeof sql,
                         "SELECT raw FROM edustat.rejected WHERE batch_id = 'bbig' AND line = %d",
                         i + 1);
                res = PQexec(check, sql);
                assert_int_equal(PQgetlength(res, 0, 0), LEN);
                assert_memory_equal(PQgetvalue(res, 0, 0), raw[i], LEN);
                PQclear(res);
        }
}

/* Invalid UTF-8 is refused, and so is storing it as a rejection: only the sequence advances. */
static void
test_refused_twice(void **state)
{
        struct proto_value v[] = {
            {S("S1"), S("2027"), S("pupils"), S("\xff"), 50, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("col5"), S("b8")},
        };
        struct proto_uow u = {8,    0, S("agg-A"), 1, 0, 0,    v, NULL,
                              NULL, 0, NULL,       0, 0, NULL, 0, NULL};
        char err[512];
        int replayed;

        (void)state;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "(SQLSTATE 22021)"));
        assert_string_equal(q("SELECT count(*) FROM edustat.rejected WHERE batch_id = 'b8'"), "0");
        assert_string_equal(q("SELECT last_seq FROM edustat.sink_state WHERE aggregator = 'agg-A'"),
                            "8");
}

static double
secs(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct counted {
        size_t bytes;
        unsigned msgs, rows_msgs, max_rows;
};

static int
count_only(void *arg, const void *buf, size_t len)
{
        struct counted *c = arg;
        struct proto_row *rows;
        uint32_t n;
        char err[256];

        c->bytes += len;
        c->msgs++;
        if (proto_peek(buf, len) == PROTO_ROWS) {
                if (proto_rows_decode(buf, len, &rows, &n, err, sizeof err) != 0)
                        return -1;
                free(rows);
                c->rows_msgs++;
                if (n > c->max_rows)
                        c->max_rows = n;
        }
        return 0;
}

/*
 * A uow that skips ahead (the one before it was lost on the way to a
 * restarted sink) is not applied: committing it would turn the lost one
 * into a "replay" when it is resent.
 */
static void
test_gap(void **state)
{
        struct proto_value v[] = {
            {S("S2"), S("2027"), S("pupils"), S("7"), 90, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("col9"), S("b9")},
        };
        struct proto_uow u = {12,   0, S("agg-A"), 1, 0, 0,    v, NULL,
                              NULL, 0, NULL,       0, 0, NULL, 0, NULL};
        char err[512];
        int replayed = -1;

        (void)state;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_GAP);
        assert_non_null(strstr(err, "11 is the next"));
        assert_string_equal(q("SELECT count(*) FROM edustat.unit_value WHERE period = '2027'"),
                            "0");
        assert_string_equal(q("SELECT last_seq FROM edustat.sink_state WHERE aggregator = 'agg-A'"),
                            "10");
        u.seq = 11;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        u.seq = 12;
        v[0].value = S("8");
        v[0].version = 91;
        v[0].flags = PROTO_VALUE_FINAL;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);
        assert_string_equal(q("SELECT value FROM edustat.unit_value WHERE period = '2027'"), "8");
}

/* Breakdown rows go to agg_breakdown, totals to agg_rollup, in one commit. */
static void
test_breakdown_rows(void **state)
{
        struct proto_agg a[] = {
            {.unit = S("D1"),
             .level = S("district"),
             .period = S("2028"),
             .indicator = S("pupils"),
             .value = S("70"),
             .n_reporting = 2,
             .min = 30,
             .max = 40,
             .mean = 35,
             .cv = 1.0 / 7,
             .nulls = PROTO_AGG_NULL_NUM | PROTO_AGG_NULL_DEN},
            {.unit = S("D1"),
             .level = S("district"),
             .period = S("2028"),
             .indicator = S("pupils"),
             .value = S("30"),
             .n_reporting = 1,
             .min = 30,
             .max = 30,
             .mean = 30,
             .cv = 0,
             .nulls = PROTO_AGG_NULL_NUM | PROTO_AGG_NULL_DEN,
             .dimension = S("locality"),
             .category = S("rural")},
        };
        struct proto_uow u = {13, 0, S("agg-A"), 0, 0, 2,    NULL, NULL,
                              a,  0, NULL,       0, 0, NULL, 0,    NULL};
        char err[512];
        int replayed = -1;

        (void)state;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT value FROM edustat.agg_rollup WHERE period = '2028'"), "70");
        assert_string_equal(q("SELECT dimension || '=' || category || ' ' || value || ' ' ||"
                              " n_reporting FROM edustat.agg_breakdown WHERE period = '2028'"),
                            "locality=rural 30 1");
        /* a later uow updates the breakdown row in place */
        a[1].value = S("31");
        u.seq = 14;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT count(*) || ' ' || max(value) FROM edustat.agg_breakdown"
                              " WHERE period = '2028'"),
                            "1 31");
}

/* Throughput: a 20000-value uow, then streaming 1M rows. */
static void
test_perf(void **state)
{
        enum { N = 20000 };
        static struct proto_value v[N];
        static char keys[N][16], vals[N][16];
        struct proto_uow u = {9,    0, S("agg-A"), N, 0, 0,    v, NULL,
                              NULL, 0, NULL,       0, 0, NULL, 0, NULL};
        uint64_t last, nrows, nrev, nnotes;
        struct counted c = {0};
        int replayed;
        char err[512];
        double t0;

        (void)state;
        for (int i = 0; i < N; i++) {
                snprintf(keys[i], sizeof keys[i], "P%05d", i);
                snprintf(vals[i], sizeof vals[i], "%d.5", i);
                v[i] = (struct proto_value){S(keys[i]),        S("2030"),
                                            S("teach_area"),   S(vals[i]),
                                            (uint64_t)i + 100, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
                                            S("perf"),         S("bp")};
        }
        t0 = secs();
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        fprintf(stderr, "commit of %d new values: %.3f s\n", N, secs() - t0);
        for (int i = 0; i < N; i++)
                v[i].flags = PROTO_VALUE_FINAL, v[i].version += N;
        u.seq = 10;
        t0 = secs();
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        fprintf(stderr, "commit of %d changed values: %.3f s\n", N, secs() - t0);
        assert_string_equal(q("SELECT sum(version) FROM edustat.unit_value WHERE period = '2030'"),
                            "601990000"); /* sum(i + 20100) over 0..19999 */

        PQclear(PQexec(check, "INSERT INTO edustat.unit_value (unit, period, indicator, value,"
                              " version) SELECT 'U' || g, '2031', 'pupils', g, g"
                              " FROM generate_series(1, 1000000) g"));
        t0 = secs();
        assert_int_equal(writer_stream_state(w, S("agg-A"), 0, count_only, &c, &last, &nrows, &nrev,
                                             &nnotes, err, sizeof err),
                         DB_OK);
        fprintf(stderr, "stream of %llu rows (%zu bytes): %.3f s\n", (unsigned long long)nrows,
                c.bytes, secs() - t0);
        assert_int_equal(nrows, 1000000 + 20000 + 6);
        assert_int_equal(last, 10);
        /* 1020006 rows: 204 full messages of 5000 and one of 6, then ready. */
        assert_int_equal(c.rows_msgs, 205);
        assert_int_equal(c.msgs, 206);
        assert_int_equal(c.max_rows, 5000);
}

/*
 * pgcopy's binary numeric encoder against PostgreSQL's own parser: every
 * string goes in twice, as COPY binary through pgcopy_bin_numeric and as
 * text through numeric_in, and the two must print the same (value and
 * display scale).  A few results are also spelled out by hand.
 */
static const char *numeric_cases[] = {
    "0",
    "-0",
    "0.000",
    "1",
    "-1",
    "12.3400",
    "0012.3400",
    "9999",
    "10000",
    "99999999",
    "100000000",
    "0.0001",
    "0.00001",
    "123456789012345678901234567890.123456789",
    "-98765.4321",
    "+5",
    ".5",
    "5.",
    "1.5e-05",
    "1.5E-05",
    "2.3e+20",
    "2.3E20",
    "15e-1",
    "-7.25e3",
    "1e0",
    "0e5",
    "6.02214076e23",
    "1.000000000000000000e-20",
    "3.333333333333333333",
    "340282366920938463463374607431768211455",
    "0.1234567890123",
    "123.456e-2",
    "1e-1000",
    "9e1000",
};

static void
copy_numerics(PGconn *conn, const char *const *vals, size_t n, enum db_result want, char *err,
              size_t errlen)
{
        static struct pgcopy c;
        size_t i;

        assert_int_equal(pgcopy_begin_binary(
                             &c, conn, "COPY bin_numeric FROM STDIN (FORMAT binary)", err, errlen),
                         DB_OK);
        for (i = 0; i < n; i++) {
                pgcopy_bin_row(&c, 4);
                pgcopy_bin_int4(&c, i, "i");
                pgcopy_bin_numeric(&c, vals[i], strlen(vals[i]), "value");
                pgcopy_bin_text(&c, vals[i], strlen(vals[i]));
                pgcopy_bin_float8(&c, 0.1 * (double)i);
        }
        assert_int_equal(pgcopy_end(&c, err, errlen), want);
}

static void
test_binary_copy(void **state)
{
        static const char *bad[][2] = {
            {"", "\"\" is not a decimal number"},
            {"abc", "\"abc\" is not a decimal number"},
            {"1.2.3", "\"1.2.3\" is not a decimal number"},
            {"1e", "\"1e\" is not a decimal number"},
            {"1e1001", "\"1e1001\" is not a decimal number"},
            {"NaN", "\"NaN\" is not a decimal number"},
            {"inf", "\"inf\" is not a decimal number"},
            {" 1", "\" 1\" is not a decimal number"},
            {"-", "\"-\" is not a decimal number"},
        };
        PGconn *conn = PQconnectdb(dburl);
        char err[512];
        size_t i;

        (void)state;
        assert_int_equal(PQstatus(conn), CONNECTION_OK);
        PQclear(PQexec(check, "DROP TABLE IF EXISTS bin_numeric"));
        PQclear(PQexec(check, "CREATE TABLE bin_numeric (i int, n numeric, t text, f float8)"));
        copy_numerics(conn, numeric_cases, sizeof numeric_cases / sizeof numeric_cases[0], DB_OK,
                      err, sizeof err);
        assert_string_equal(q("SELECT count(*) FROM bin_numeric"), "34");
        /* PostgreSQL's own text parse is the oracle. */
        assert_string_equal(q("SELECT count(*) FROM bin_numeric WHERE n::text <> t::numeric::text"),
                            "0");
        assert_string_equal(q("SELECT n::text FROM bin_numeric WHERE t = '-0'"), "0");
        assert_string_equal(q("SELECT n::text FROM bin_numeric WHERE t = '0012.3400'"), "12.3400");
        assert_string_equal(q("SELECT n::text FROM bin_numeric WHERE t = '1.5e-05'"), "0.000015");
        assert_string_equal(q("SELECT n::text FROM bin_numeric WHERE t = '2.3e+20'"),
                            "230000000000000000000");
        assert_string_equal(q("SELECT n::text FROM bin_numeric WHERE t = '-7.25e3'"), "-7250");
        assert_string_equal(q("SELECT n::text FROM bin_numeric WHERE t = '15e-1'"), "1.5");
        assert_string_equal(q("SELECT n::text FROM bin_numeric WHERE t = '0.0001'"), "0.0001");
        assert_string_equal(q("SELECT n::text FROM bin_numeric WHERE t = '10000'"), "10000");
        assert_string_equal(q("SELECT n::text FROM bin_numeric WHERE t = '.5'"), "0.5");
        assert_string_equal(q("SELECT length(n::text) FROM bin_numeric WHERE t = '1e-1000'"),
                            "1002");
        /* float8 bit for bit: 0.1 * 7 is 0.7000000000000001 in binary64. */
        assert_string_equal(q("SELECT f::text FROM bin_numeric WHERE i = 7"), "0.7000000000000001");
        assert_string_equal(q("SELECT float8send(f)::text FROM bin_numeric WHERE i = 1"),
                            "\\x3fb999999999999a");

        /* A bad value fails the COPY, naming the field and the text, and
         * the connection stays usable. */
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                const char *vals[2] = {"1", bad[i][0]};

                PQclear(PQexec(conn, "BEGIN"));
                copy_numerics(conn, vals, 2, DB_ERROR, err, sizeof err);
                if (strstr(err, bad[i][1]) == NULL || strstr(err, "value: ") == NULL) {
                        fprintf(stderr, "input \"%s\": %s\n", bad[i][0], err);
                        fail();
                }
                PQclear(PQexec(conn, "ROLLBACK"));
        }
        {
                static struct pgcopy c;

                PQclear(PQexec(conn, "BEGIN"));
                assert_int_equal(pgcopy_begin_binary(&c, conn,
                                                     "COPY bin_numeric FROM STDIN (FORMAT binary)",
                                                     err, sizeof err),
                                 DB_OK);
                pgcopy_bin_row(&c, 4);
                pgcopy_bin_int4(&c, 2147483648ULL, "n_reporting");
                pgcopy_bin_null(&c);
                pgcopy_bin_text(&c, "a\0b", 3);
                pgcopy_bin_null(&c);
                assert_int_equal(pgcopy_end(&c, err, sizeof err), DB_ERROR);
                assert_non_null(strstr(err, "n_reporting: \"2147483648\" is out of range"));
                PQclear(PQexec(conn, "ROLLBACK"));
                /* A NUL byte in text is stored as backslash 0, as in text COPY. */
                assert_int_equal(pgcopy_begin_binary(&c, conn,
                                                     "COPY bin_numeric FROM STDIN (FORMAT binary)",
                                                     err, sizeof err),
                                 DB_OK);
                pgcopy_bin_row(&c, 4);
                pgcopy_bin_int4(&c, 99, "i");
                pgcopy_bin_null(&c);
                pgcopy_bin_text(&c, "a\0b", 3);
                pgcopy_bin_null(&c);
                assert_int_equal(pgcopy_end(&c, err, sizeof err), DB_OK);
                assert_string_equal(q("SELECT t FROM bin_numeric WHERE i = 99"), "a\\0b");
        }
        assert_string_equal(q("SELECT count(*) FROM bin_numeric"), "35");
        PQfinish(conn);
}

/*
 * first_report keeps the first commit of a (unit, period): a later new key
 * of the pair leaves it, a new pair is added, changed keys add nothing.
 */
static void
test_first_report(void **state)
{
        struct proto_value v1[] = {
            {S("S1"), S("2031"), S("pupils"), S("1"), 1, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colF"), S("f1")},
        };
        struct proto_value v2[] = {
            {S("S1"), S("2031"), S("teachers"), S("2"), 2, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colF"), S("f2")},
            {S("S2"), S("2031"), S("pupils"), S("3"), 3, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colF"), S("f2")},
            {S("S1"), S("2031"), S("pupils"), S("4"), 4, PROTO_VALUE_FINAL, S("colF"), S("f2")},
        };
        struct proto_uow u1 = {1,    0, S("agg-F"), 1, 0, 0,    v1, NULL,
                               NULL, 0, NULL,       0, 0, NULL, 0,  NULL};
        struct proto_uow u2 = {2,    0, S("agg-F"), 3, 0, 0,    v2, NULL,
                               NULL, 0, NULL,       0, 0, NULL, 0,  NULL};
        char first[64], err[512];
        int replayed = -1;

        (void)state;
        assert_int_equal(writer_commit(w, &u1, &replayed, err, sizeof err), DB_OK);
        snprintf(first, sizeof first, "%s",
                 q("SELECT first_at FROM edustat.first_report WHERE unit = 'S1'"
                   " AND period = '2031'"));
        assert_string_equal(q("SELECT count(*) FROM edustat.first_report WHERE period = '2031'"),
                            "1");
        assert_int_equal(writer_commit(w, &u2, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);
        assert_string_equal(q("SELECT first_at FROM edustat.first_report WHERE unit = 'S1'"
                              " AND period = '2031'"),
                            first);
        assert_string_equal(q("SELECT string_agg(unit, ' ' ORDER BY unit) FROM"
                              " edustat.first_report WHERE period = '2031'"),
                            "S1 S2");
        assert_string_equal(q("SELECT f.first_at = h.received_at FROM edustat.first_report f"
                              " JOIN edustat.value_history h USING (unit, period)"
                              " WHERE unit = 'S2' AND period = '2031'"),
                            "t");
        assert_string_equal(q("SELECT f.first_at < h.received_at FROM edustat.first_report f"
                              " JOIN edustat.value_history h USING (unit, period)"
                              " WHERE unit = 'S1' AND period = '2031' AND h.version = 2"),
                            "t");
}

/*
 * One live session per aggregator id: each hello starts a new epoch, and a
 * uow of an older epoch is fenced (not applied, not counted as committed),
 * whatever its sequence number.
 */
static void
test_fencing(void **state)
{
        struct proto_value v[] = {
            {S("S1"), S("2032"), S("pupils"), S("1"), 1, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colE"), S("e1")},
        };
        struct proto_value v2[] = {
            {S("S2"), S("2032"), S("pupils"), S("2"), 2, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colE"), S("e2")},
        };
        struct proto_uow u1 = {1,    0, S("agg-E"), 1, 0, 0,    v, NULL,
                               NULL, 0, NULL,       0, 0, NULL, 0, NULL};
        struct proto_uow u2 = {2,    0, S("agg-E"), 1, 0, 0,    v2, NULL,
                               NULL, 0, NULL,       0, 0, NULL, 0,  NULL};
        uint64_t e1 = 0, e2 = 0;
        char err[512];
        int replayed = -1;

        (void)state;
        assert_int_equal(writer_hello(w, S("agg-E"), &e1, err, sizeof err), DB_OK);
        assert_int_equal(e1, 1);
        u1.epoch = e1;
        assert_int_equal(writer_commit(w, &u1, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);

        /* A second process says hello with the same id. */
        assert_int_equal(writer_hello(w, S("agg-E"), &e2, err, sizeof err), DB_OK);
        assert_int_equal(e2, 2);
        assert_string_equal(q("SELECT epoch || ' ' || (epoch_at IS NOT NULL)::int FROM"
                              " edustat.sink_state WHERE aggregator = 'agg-E'"),
                            "2 1");
        /* The first one's next uow, and a resend of its committed one: fenced. */
        u2.epoch = e1;
        assert_int_equal(writer_commit(w, &u2, &replayed, err, sizeof err), DB_FENCED);
        assert_non_null(strstr(err, "another aggregator with id agg-E took over at "));
        assert_int_equal(writer_commit(w, &u1, &replayed, err, sizeof err), DB_FENCED);
        assert_string_equal(q("SELECT count(*) FROM edustat.unit_value WHERE period = '2032'"),
                            "1");
        assert_string_equal(q("SELECT last_seq FROM edustat.sink_state WHERE aggregator = 'agg-E'"),
                            "1");
        /* The new session's uow with the same seq is applied. */
        u2.epoch = e2;
        assert_int_equal(writer_commit(w, &u2, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);
        assert_string_equal(q("SELECT string_agg(unit || '=' || value, ' ' ORDER BY unit) FROM"
                              " edustat.unit_value WHERE period = '2032'"),
                            "S1=1 S2=2");
        /* Another id is not affected. */
        assert_string_equal(q("SELECT epoch FROM edustat.sink_state WHERE aggregator = 'agg-A'"),
                            "0");
}

/*
 * COMMIT itself fails (a deferred constraint that raises only then): the
 * writer must not report success, nothing of the uow may be in unit_value,
 * and its values are kept as rejections instead, so the aggregator hears
 * "fail" and the collectors get no ack for them.
 */
static void
test_commit_fails(void **state)
{
        struct proto_value v[] = {
            {S("S1"), S("2099"), S("pupils"), S("7"), 7, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colX"), S("x1")},
        };
        struct proto_uow u = {1,    0, S("agg-X"), 1, 0, 0,    v, NULL,
                              NULL, 0, NULL,       0, 0, NULL, 0, NULL};
        char err[512];
        int replayed = -1;

        (void)state;
        exec_ok("CREATE FUNCTION public.fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS"
                " $$BEGIN RAISE EXCEPTION 'refused at commit by a test trigger'; END$$");
        exec_ok("CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON edustat.unit_value"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.period = '2099')"
                " EXECUTE FUNCTION public.fail_at_commit()");
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "refused at commit by a test trigger"));
        assert_string_equal(q("SELECT count(*) FROM edustat.unit_value WHERE period = '2099'"),
                            "0");
        assert_string_equal(
            q("SELECT reason FROM edustat.rejected WHERE batch_id = 'x1'"),
            "refused by PostgreSQL: refused at commit by a test trigger (SQLSTATE P0001)");
        exec_ok("DROP TRIGGER fail_at_commit ON edustat.unit_value");
        exec_ok("DROP FUNCTION public.fail_at_commit()");
}

/*
 * Two refused cells of one row of a wide file: both kept, once each, also
 * when the batch comes again in a later uow.
 */
static void
test_rejected_cells(void **state)
{
        struct proto_reject j[] = {
            {S("colC"), S("wide.csv"), S("c1"), 5, S("S1"), S("2024"), S("pupils"), S("x"),
             S("value \"x\" is not a number")},
            {S("colC"), S("wide.csv"), S("c1"), 5, S("S1"), S("2024"), S("teachers"), S("y"),
             S("value \"y\" is not a number")},
            {S("colC"), S("wide.csv"), S("c1"), 6, S("S1"), S("2024"), S("pupils"), S("z"),
             S("value \"z\" is not a number")},
        };
        struct proto_uow u1 = {1,    0, S("agg-C"), 0, 3, 0,    NULL, j,
                               NULL, 0, NULL,       0, 0, NULL, 0,    NULL};
        struct proto_uow u2 = {2,    0, S("agg-C"), 0, 3, 0,    NULL, j,
                               NULL, 0, NULL,       0, 0, NULL, 0,    NULL};
        char err[512];
        int replayed = -1;

        (void)state;
        assert_int_equal(writer_commit(w, &u1, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(writer_commit(w, &u2, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT string_agg(line || ':' || indicator, ' ' ORDER BY line,"
                              " indicator) FROM edustat.rejected WHERE batch_id = 'c1'"),
                            "5:pupils 5:teachers 6:pupils");
}

struct commit_job {
        const struct proto_uow *u;
        enum db_result r;
        char err[512];
};

/* A uow of aggregator agg with only rule results (no values). */
static struct proto_uow
rule_uow(const char *agg, uint64_t seq, struct proto_violation *v, uint32_t nv, int full,
         struct proto_action *a, uint32_t na)
{
        struct proto_uow u = {.seq = seq,
                              .aggregator = S(agg),
                              .nviolations = nv,
                              .violations = v,
                              .violations_full = full,
                              .nactions = na,
                              .actions = a};
        return u;
}

static const char violations_q[] =
    "SELECT coalesce(string_agg(unit || ' ' || period || ' ' || rule || ' ' || severity || ' ' ||"
    " left_value || ' ' || right_value, '; ' ORDER BY unit, period, rule), '') FROM"
    " edustat.rule_violation WHERE period = '2040'";

/*
 * Violations: written with their values; an update keeps first_seen and
 * moves updated_at; nil values delete the row; a full list deletes every
 * row it does not name.
 */
static void
test_violations(void **state)
{
        struct proto_violation v1[] = {
            {S("S1"), S("2040"), S("W1"), S("warning"), S("40"), S("38")},
            {S("D1"), S("2040"), S("L1"), S("error"), S("166.666666666667"), S("150")},
            {S("S2"), S("2040"), S("W1"), S("warning"), S("7"), S("1")},
        };
        struct proto_violation v2[] = {
            {S("S1"), S("2040"), S("W1"), S("warning"), S("41.5"), S("38")},
            {S("S2"), S("2040"), S("W1"), S("warning"), {NULL, 0}, {NULL, 0}},
        };
        struct proto_violation v3[] = {
            {S("S3"), S("2040"), S("W2"), S("warning"), S("1"), S("2")},
            {S("S1"), S("2040"), S("W1"), S("warning"), S("41.5"), S("38")},
            {S("S2"), S("2040"), S("W2"), S("warning"), S("5"), S("6")},
            {S("S2"), S("2040"), S("W2"), S("warning"), {NULL, 0}, {NULL, 0}},
        };
        struct proto_violation bad[] = {
            {S("S1"), S("2040"), S("W9"), S("warning"), S("1"), {NULL, 0}},
        };
        struct proto_uow u;
        char first[64], updated[64], err[512];
        int replayed = -1;

        (void)state;
        u = rule_uow("agg-viol", 1, v1, 3, 0, NULL, 0);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q(violations_q), "D1 2040 L1 error 166.666666666667 150; "
                                             "S1 2040 W1 warning 40 38; S2 2040 W1 warning 7 1");
        snprintf(first, sizeof first, "%s",
                 q("SELECT first_seen FROM edustat.rule_violation WHERE unit = 'S1'"
                   " AND period = '2040' AND rule = 'W1'"));
        assert_string_equal(q("SELECT first_seen = updated_at FROM edustat.rule_violation"
                              " WHERE unit = 'S1' AND period = '2040' AND rule = 'W1'"),
                            "t");

        u = rule_uow("agg-viol", 2, v2, 2, 0, NULL, 0);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q(violations_q),
                            "D1 2040 L1 error 166.666666666667 150; S1 2040 W1 warning 41.5 38");
        assert_string_equal(q("SELECT first_seen FROM edustat.rule_violation WHERE unit = 'S1'"
                              " AND period = '2040' AND rule = 'W1'"),
                            first);
        assert_string_equal(q("SELECT updated_at > first_seen FROM edustat.rule_violation"
                              " WHERE unit = 'S1' AND period = '2040' AND rule = 'W1'"),
                            "t");

        /* Full: D1 L1 is not in the list, so it goes; the last entry of a key wins.
         * S1 W1 comes again with the same values: its row is not rewritten. */
        snprintf(updated, sizeof updated, "%s",
                 q("SELECT updated_at FROM edustat.rule_violation WHERE unit = 'S1'"
                   " AND period = '2040' AND rule = 'W1'"));
        u = rule_uow("agg-viol", 3, v3, 4, 1, NULL, 0);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT updated_at FROM edustat.rule_violation WHERE unit = 'S1'"
                              " AND period = '2040' AND rule = 'W1'"),
                            updated);
        assert_string_equal(q(violations_q), "S1 2040 W1 warning 41.5 38; S3 2040 W2 warning 1 2");
        assert_string_equal(q("SELECT first_seen FROM edustat.rule_violation WHERE unit = 'S1'"
                              " AND period = '2040' AND rule = 'W1'"),
                            first);
        /* An empty full list clears the table. */
        u = rule_uow("agg-viol", 4, NULL, 0, 1, NULL, 0);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT count(*) FROM edustat.rule_violation"), "0");

        /* One value without the other: the uow is refused, naming the entry. */
        u = rule_uow("agg-viol", 5, bad, 1, 0, NULL, 0);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "violation 1 (unit S1, period 2040, rule W9)"));
        assert_string_equal(q("SELECT count(*) FROM edustat.rule_violation"), "0");
}

/*
 * A full violation list of 60,000 rows over 60,000 stored ones, half of
 * them other keys: the 30,000 not in the list go, the others take the
 * list's values, in seconds (0.7 s here).  The bound is loose: it is there
 * for a plan gone quadratic, not to measure.
 */
static void
test_violations_full_large(void **state)
{
        enum { N = 60000 };
        struct proto_violation *v = calloc(N, sizeof *v);
        static char codes[N][16];
        struct proto_uow u;
        char err[512];
        int replayed = -1;
        struct timespec t0, t1;
        double s;

        (void)state;
        assert_non_null(v);
        exec_ok("DELETE FROM edustat.rule_violation");
        exec_ok("INSERT INTO edustat.rule_violation (unit, period, rule, severity, left_value,"
                " right_value) SELECT 'U' || g, '2041', 'W1', 'warning', g, 1"
                " FROM generate_series(30000, 89999) g");
        for (int i = 0; i < N; i++) {
                snprintf(codes[i], sizeof codes[i], "U%d", i);
                v[i] = (struct proto_violation){B(codes[i], (uint32_t)strlen(codes[i])),
                                                S("2041"),
                                                S("W1"),
                                                S("warning"),
                                                S("5"),
                                                S("1")};
        }
        u = rule_uow("agg-full", 1, v, N, 1, NULL, 0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr, "full list of %d violations: %.2f s\n", N, s);
        assert_string_equal(q("SELECT count(*) || ' ' || min(left_value) || ' ' || max(left_value)"
                              " FROM edustat.rule_violation"),
                            "60000 5 5");
        assert_true(s < 15.0);
        exec_ok("DELETE FROM edustat.rule_violation");
        free(v);
}

/*
 * Explanations: the last one of a key is its note, every one is in the
 * history in order; an unknown kind refuses the whole uow.
 */
static void
test_explain(void **state)
{
        struct proto_action a1[] = {
            {S("colE"), S("e1"), S("explain"), S("S1"), S("2040"), S("W1"), S("新校区启用"), 0},
            {S("colE"), S("e1"), S("explain"), S("S2"), S("2040"), S("W1"), S("撤并教学点"), 0},
        };
        struct proto_action a2[] = {
            {S("colF"), S("e2"), S("explain"), S("S1"), S("2040"), S("W1"), S("第一次说明有误"), 0},
            {S("colF"), S("e2"), S("explain"), S("S1"), S("2040"), S("W1"), S("学生随迁入学"), 0},
        };
        struct proto_action a3[] = {
            {S("colF"), S("e3"), S("withdraw"), S("S1"), S("2040"), {NULL, 0}, {NULL, 0}, 0},
        };
        struct proto_uow u;
        char err[512];
        int replayed = -1;

        (void)state;
        u = rule_uow("agg-note", 1, NULL, 0, 0, a1, 2);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT string_agg(unit || ':' || note || ':' || collector, ' '"
                              " ORDER BY unit) FROM edustat.rule_note WHERE period = '2040'"),
                            "S1:新校区启用:colE S2:撤并教学点:colE");
        u = rule_uow("agg-note", 2, NULL, 0, 0, a2, 2);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT note || ':' || collector FROM edustat.rule_note WHERE"
                              " unit = 'S1' AND period = '2040' AND rule = 'W1'"),
                            "学生随迁入学:colF");
        assert_string_equal(q("SELECT string_agg(note || ':' || collector, ' ' ORDER BY id) FROM"
                              " edustat.rule_note_history WHERE unit = 'S1' AND period = '2040'"
                              " AND rule = 'W1'"),
                            "新校区启用:colE 第一次说明有误:colF 学生随迁入学:colF");
        assert_string_equal(q("SELECT count(*) FROM edustat.rule_note_history"), "4");

        u = rule_uow("agg-note", 3, NULL, 0, 0, a3, 1);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "action 1 (collector colF, batch e3, unit S1, period 2040): "
                                    "unknown kind \"withdraw\""));
        assert_string_equal(q("SELECT count(*) FROM edustat.rule_note_history"), "4");
}

/*
 * A uow whose commit fails: its values, violations and explanations are
 * all rolled back together.
 */
static void
test_rules_commit_fails(void **state)
{
        struct proto_value v[] = {
            {S("S1"), S("2098"), S("pupils"), S("7"), 7, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colR"), S("r1")},
        };
        struct proto_violation viol[] = {
            {S("S1"), S("2098"), S("W1"), S("warning"), S("7"), S("5")},
        };
        struct proto_action act[] = {
            {S("colR"), S("r1"), S("explain"), S("S1"), S("2098"), S("W1"), S("说明"), 0},
        };
        struct proto_uow u = rule_uow("agg-rollback", 1, viol, 1, 0, act, 1);
        char err[512];
        int replayed = -1;

        (void)state;
        u.nvalues = 1;
        u.values = v;
        exec_ok("CREATE FUNCTION public.fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS"
                " $$BEGIN RAISE EXCEPTION 'refused at commit by a test trigger'; END$$");
        exec_ok("CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON edustat.rule_note"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.period = '2098')"
                " EXECUTE FUNCTION public.fail_at_commit()");
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "refused at commit by a test trigger"));
        assert_string_equal(q("SELECT count(*) FROM edustat.unit_value WHERE period = '2098'"),
                            "0");
        assert_string_equal(q("SELECT count(*) FROM edustat.rule_violation WHERE period = '2098'"),
                            "0");
        assert_string_equal(q("SELECT count(*) FROM edustat.rule_note WHERE period = '2098'"), "0");
        assert_string_equal(
            q("SELECT count(*) FROM edustat.rule_note_history WHERE period = '2098'"), "0");
        exec_ok("DROP TRIGGER fail_at_commit ON edustat.rule_note");
        exec_ok("DROP FUNCTION public.fail_at_commit()");
}

static void *
commit_thread(void *arg)
{
        struct commit_job *j = arg;
        int replayed;

        j->r = writer_commit(w, j->u, &replayed, j->err, sizeof j->err);
        return NULL;
}

/*
 * A correction whose stored row another session updates during the
 * commit: value_replace reaches rows by ctid, so the row moves away under
 * it and the UPDATE finds nothing.  That must be detected and the commit
 * rolled back (DB_RETRY), never acknowledged with the new value dropped and
 * a stale row filed in value_replaced; the retry then applies it.
 */
static void
test_concurrent_writer(void **state)
{
        struct proto_value v1[] = {
            {S("S1"), S("2033"), S("pupils"), S("10"), 100, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colW"), S("w1")},
        };
        struct proto_value v2[] = {
            {S("S1"), S("2033"), S("pupils"), S("20"), 200, PROTO_VALUE_FINAL, S("colW"), S("w2")},
        };
        struct proto_uow u1 = {1,    0, S("agg-W"), 1, 0, 0,    v1, NULL,
                               NULL, 0, NULL,       0, 0, NULL, 0,  NULL};
        struct proto_uow u2 = {2,    0, S("agg-W"), 1, 0, 0,    v2, NULL,
                               NULL, 0, NULL,       0, 0, NULL, 0,  NULL};
        struct commit_job job = {&u2, DB_OK, ""};
        PGconn *other = PQconnectdb(dburl);
        PGresult *res;
        pthread_t t;
        char err[512];
        int replayed = -1;

        (void)state;
        assert_int_equal(PQstatus(other), CONNECTION_OK);
        assert_int_equal(writer_commit(w, &u1, &replayed, err, sizeof err), DB_OK);

        /* The other session holds the row, updated (a new ctid), uncommitted. */
        res = PQexec(other, "BEGIN; UPDATE edustat.unit_value SET value = 15 WHERE unit = 'S1'"
                            " AND period = '2033' AND indicator = 'pupils'");
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        assert_int_equal(pthread_create(&t, NULL, commit_thread, &job), 0);
        /* Let the commit reach the row lock, then let the other session go. */
        for (int i = 0; i < 100; i++) {
                if (strcmp(q("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type ="
                             " 'Lock' AND query LIKE 'WITH j AS%'"),
                           "1") == 0)
                        break;
                usleep(50000);
        }
        res = PQexec(other, "COMMIT");
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        assert_int_equal(pthread_join(t, NULL), 0);
        fprintf(stderr, "concurrent writer: %s\n", job.err);
        assert_int_equal(job.r, DB_RETRY);
        assert_non_null(strstr(job.err, "value_replace updated 0 of 1 stored rows"));
        /* Nothing of the refused attempt stayed. */
        assert_string_equal(q("SELECT value FROM edustat.unit_value WHERE unit = 'S1' AND"
                              " period = '2033' AND indicator = 'pupils'"),
                            "15");
        assert_string_equal(q("SELECT count(*) FROM edustat.value_replaced WHERE period = '2033'"),
                            "0");
        assert_string_equal(q("SELECT last_seq FROM edustat.sink_state WHERE aggregator = 'agg-W'"),
                            "1");
        /* The retry sees the other session's row and replaces it. */
        connect_writer();
        assert_int_equal(writer_commit(w, &u2, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 0);
        assert_string_equal(q("SELECT value || ' ' || version FROM edustat.unit_value WHERE"
                              " unit = 'S1' AND period = '2033' AND indicator = 'pupils'"),
                            "20 200");
        assert_string_equal(q("SELECT string_agg(value::text, ' ' ORDER BY value) FROM"
                              " edustat.value_replaced WHERE period = '2033'"),
                            "15");
        PQfinish(other);
}

/* A review action of batch (collector, batch_id) at microsecond at. */
#define RA(col, batch, kind, unit, period, text, at)                                               \
        {                                                                                          \
                S(col), S(batch), S(kind), S(unit), S(period), {NULL, 0}, text, at                 \
        }
#define NOTEXT                                                                                     \
        {                                                                                          \
                NULL, 0                                                                            \
        }

static const char review_q[] =
    "SELECT coalesce(string_agg(unit || ' ' || state || ' ' || coalesce(\"by\", '-') || ' ' ||"
    " coalesce(comment, '-'), '; ' ORDER BY unit), '') FROM edustat.review WHERE period = '2050'";
static const char history_q[] =
    "SELECT coalesce(string_agg(unit || ' ' || action || ' ' || from_state || '>' || to_state ||"
    " ' ' || \"by\" || ' ' || coalesce(comment, '-') || ' ' || collector || '/' || batch_id ||"
    " ' #' || seq, '; ' ORDER BY id), '') FROM edustat.review_history WHERE period = '2050'";

/*
 * Review actions: each one is a review_history row (from_state chained
 * through the uow, then from the stored row, 'open' when none; by, collector
 * and batch of its batch; seq of the uow) and the last of each (unit,
 * period) is its review row.  at is the aggregator's time, exactly; 0 means
 * the commit's time.  An action lacking what its kind needs refuses the uow.
 */
static void
test_review_actions(void **state)
{
        struct proto_action a1[] = {
            RA("colS2", "b1", "finish", "S2", "2050", NOTEXT, 1733369400123456),
            RA("colD1", "b2", "approve", "S2", "2050", S("数据无误"), 1733369401000001),
            RA("colS2", "b1", "finish", "S1", "2050", NOTEXT, 0),
        };
        struct proto_action a2[] = {
            RA("colC", "b3", "finish", "D1", "2050", NOTEXT, 1733369402000000),
        };
        struct proto_action a3[] = {
            RA("colD1", "b4", "return", "S1", "2050", S("第7行有误"), 1733369403000000),
            RA("colD1", "b4", "reopen", "D1", "2050", S("returned with S1"), 1733369403000000),
        };
        struct proto_action bad[] = {
            RA("colD1", "b5", "return", "S2", "2050", NOTEXT, 1733369404000000),
        };
        struct proto_uow u;
        char err[512];
        int replayed = -1;

        (void)state;
        u = rule_uow("agg-review", 1, NULL, 0, 0, a1, 3);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q(review_q), "S1 submitted colS2 -; S2 approved colD1 数据无误");
        assert_string_equal(q(history_q),
                            "S2 finish open>submitted colS2 - colS2/b1 #1; "
                            "S2 approve submitted>approved colD1 数据无误 colD1/b2 #1; "
                            "S1 finish open>submitted colS2 - colS2/b1 #1");
        assert_string_equal(q("SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
                              " FROM edustat.review_history WHERE unit = 'S2' AND action ="
                              " 'finish' AND period = '2050'"),
                            "2024-12-05 03:30:00.123456");
        assert_string_equal(q("SELECT (extract(epoch FROM at) * 1000000)::bigint FROM"
                              " edustat.review WHERE unit = 'S2' AND period = '2050'"),
                            "1733369401000001");
        /* at 0: the commit's time. */
        assert_string_equal(q("SELECT at = recorded_at FROM edustat.review_history WHERE unit ="
                              " 'S1' AND period = '2050'"),
                            "t");

        u = rule_uow("agg-review", 2, NULL, 0, 0, a2, 1);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        u = rule_uow("agg-review", 3, NULL, 0, 0, a3, 2);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q(review_q), "D1 open colD1 returned with S1; S1 open colD1 第7行有误; "
                                         "S2 approved colD1 数据无误");
        assert_string_equal(q(history_q),
                            "S2 finish open>submitted colS2 - colS2/b1 #1; "
                            "S2 approve submitted>approved colD1 数据无误 colD1/b2 #1; "
                            "S1 finish open>submitted colS2 - colS2/b1 #1; "
                            "D1 finish open>submitted colC - colC/b3 #2; "
                            "S1 return submitted>open colD1 第7行有误 colD1/b4 #3; "
                            "D1 reopen submitted>open colD1 returned with S1 "
                            "colD1/b4 #3");
        /* Replayed: nothing twice. */
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_int_equal(replayed, 1);
        assert_string_equal(q("SELECT count(*) FROM edustat.review_history WHERE period = '2050'"),
                            "6");

        /* A return without its reason: the uow is refused, nothing written. */
        u = rule_uow("agg-review", 4, NULL, 0, 0, bad, 1);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_ERROR);
        assert_non_null(strstr(err, "action 1 (collector colD1, batch b5, unit S2, period 2050): "
                                    "a review action needs a unit, a period and a text"));
        assert_string_equal(q("SELECT count(*) FROM edustat.review_history WHERE period = '2050'"),
                            "6");
        assert_string_equal(q("SELECT state FROM edustat.review WHERE unit = 'S2' AND period ="
                              " '2050'"),
                            "approved");
}

static const char status_q[] =
    "SELECT string_agg(unit || ' ' || state || ' ' || n_open || '/' || n_submitted || '/' ||"
    " n_approved || ' ' || ready || ' ' || coalesce(blockers, '-'), E'\\n' ORDER BY unit)"
    " FROM edustat.review_status WHERE period = '2050'";

/*
 * review_status, agg_value_approved and completeness on the hand-built tree
 * (C; D1 with S1, S2; D2 with S3) for period 2050, after
 * test_review_actions: S1 open (returned), S2 approved, D1 open (reopened).
 * A form for primary schools (pupils, teachers); S1 stores pupils only, S2
 * both; S3 (kindergarten, no form) nothing.  Rules: W1 fails for S1
 * unexplained, W2 fails for S1 explained, E1 (an error) fails for D1.
 * Every expectation is worked out by hand from the contract.
 */
static void
test_review_views(void **state)
{
        struct proto_value v[] = {
            {S("S1"), S("2050"), S("pupils"), S("100"), 1, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colS1"), S("v1")},
            {S("S2"), S("2050"), S("pupils"), S("60"), 2, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colS2"), S("v1")},
            {S("S2"), S("2050"), S("teachers"), S("5"), 3, PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
             S("colS2"), S("v1")},
        };
        struct proto_action root[] = {
            RA("colC", "c1", "finish", "D1", "2050", NOTEXT, 1733369500000000),
            RA("colC", "c1", "approve", "D1", "2050", NOTEXT, 1733369500000000),
            RA("colC", "c2", "finish", "C", "2050", NOTEXT, 1733369501000000),
            RA("colC", "c2", "approve", "C", "2050", S("发布"), 1733369501000000),
        };
        struct proto_action back[] = {
            RA("colD1", "c3", "return", "S2", "2050", S("复核"), 1733369502000000),
            RA("colD1", "c3", "reopen", "D1", "2050", S("returned with S2"), 1733369502000000),
            RA("colD1", "c3", "reopen", "C", "2050", S("returned with S2"), 1733369502000000),
        };
        struct proto_uow u = rule_uow("agg-review", 5, NULL, 0, 0, NULL, 0);
        char err[512];
        int replayed = -1;

        (void)state;
        u.nvalues = 3;
        u.values = v;
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        exec_ok("INSERT INTO edustat.form (stage, indicator, line) VALUES"
                " ('primary', 'pupils', 2), ('primary', 'teachers', 3)");
        exec_ok("INSERT INTO edustat.report_period (period, opens, due) VALUES"
                " ('2050', '2050-09-01', '2050-10-15')");
        exec_ok("INSERT INTO edustat.rule (code, name_zh, left_expr, op, right_expr, severity,"
                " scope, missing, line) VALUES"
                " ('W1', '在校生数同比', 'pupils', '<=', '90', 'warning', 'school', 'skip', 2),"
                " ('W2', '生师比', 'pupils', '<=', '50', 'warning', 'school', 'skip', 3),"
                " ('E1', '区县合计', 'pupils', '<=', '10', 'error', 'district', 'skip', 4)");
        exec_ok(
            "INSERT INTO edustat.rule_violation (unit, period, rule, severity, left_value,"
            " right_value) VALUES ('S1', '2050', 'W1', 'warning', 100, 90),"
            " ('S1', '2050', 'W2', 'warning', 100, 50), ('D1', '2050', 'E1', 'error', 160, 10)");
        exec_ok("INSERT INTO edustat.rule_note (unit, period, rule, note, collector) VALUES"
                " ('S1', '2050', 'W2', '大班额', 'colS1')");

        /* C: every unit below but S2 is open; S3 (no form, no value) has no row of its own. */
        assert_string_equal(q(status_q), "C open 4/0/1 false D1 open; D2 open; S1 open; S3 open\n"
                                         "D1 open 1/0/1 false error E1; S1 open\n"
                                         "S1 open 0/0/0 false missing teachers (专任教师数); "
                                         "warning W1 unexplained\n"
                                         "S2 approved 0/0/0 false -");
        assert_string_equal(q("SELECT \"by\" || ' ' || comment FROM edustat.review_status WHERE"
                              " unit = 'S1' AND period = '2050'"),
                            "colD1 第7行有误");
        assert_string_equal(q("SELECT expected || ' ' || submitted || ' ' || approved FROM"
                              " edustat.completeness WHERE unit = 'D1' AND period = '2050' AND"
                              " stage IS NULL"),
                            "2 0 1");
        assert_string_equal(q("SELECT expected || ' ' || submitted || ' ' || approved FROM"
                              " edustat.completeness WHERE unit = 'C' AND period = '2050' AND"
                              " stage = 'kindergarten'"),
                            "1 0 0");

        /* S1 explains W1 and stores teachers: ready. */
        exec_ok("INSERT INTO edustat.rule_note (unit, period, rule, note, collector) VALUES"
                " ('S1', '2050', 'W1', '新校区', 'colS1')");
        exec_ok("INSERT INTO edustat.unit_value (unit, period, indicator, value, version) VALUES"
                " ('S1', '2050', 'teachers', 4, 4)");
        assert_string_equal(q("SELECT ready || ' ' || coalesce(blockers, '-') FROM"
                              " edustat.review_status WHERE unit = 'S1' AND period = '2050'"),
                            "true -");

        /* No approved figures until the root is approved; then all of agg_value's. */
        assert_string_equal(q("SELECT count(*) FROM edustat.agg_value_approved"), "0");
        u = rule_uow("agg-review", 6, NULL, 0, 0, root, 4);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        /* Two schools: pupils, teachers and the two ratios (both have a part stored). */
        assert_string_equal(q("SELECT count(*) FROM edustat.agg_value WHERE period = '2050'"), "8");
        assert_string_equal(q("SELECT count(*) FROM edustat.agg_value_approved"), "8");
        assert_string_equal(q("SELECT string_agg(unit || ' ' || indicator || ' ' || value, ', '"
                              " ORDER BY unit, indicator) FROM edustat.agg_value_approved"
                              " WHERE indicator IN ('pupils', 'teachers')"),
                            "S1 pupils 100, S1 teachers 4, S2 pupils 60, S2 teachers 5");
        assert_string_equal(q("SELECT state || ' ' || ready || ' ' || coalesce(blockers, '-')"
                              " FROM edustat.review_status WHERE unit = 'C' AND period = '2050'"),
                            "approved false -");

        /* A return below withdraws the root: nothing approved any more. */
        u = rule_uow("agg-review", 7, NULL, 0, 0, back, 3);
        assert_int_equal(writer_commit(w, &u, &replayed, err, sizeof err), DB_OK);
        assert_string_equal(q("SELECT count(*) FROM edustat.agg_value_approved"), "0");
        assert_string_equal(q("SELECT string_agg(unit || ' ' || from_state || '>' || to_state, ', '"
                              " ORDER BY id) FROM edustat.review_history WHERE seq = 7"),
                            "S2 approved>open, D1 approved>open, C approved>open");
        assert_string_equal(q("SELECT expected || ' ' || submitted || ' ' || approved FROM"
                              " edustat.completeness WHERE unit = 'D1' AND period = '2050' AND"
                              " stage IS NULL"),
                            "2 0 0");
}

/* Like collect, but keeps only the messages that are not "rows". */
static int
collect_no_rows(void *arg, const void *buf, size_t len)
{
        if (proto_peek(buf, len) == PROTO_ROWS)
                return 0;
        return collect(arg, buf, len);
}

/* Decoded "reviews" and "notes" messages of a stream, as text, in order. */
static void
stream_reviews_text(const struct sent *s, char *out, size_t outlen, char *notes, size_t noteslen)
{
        char err[512], line[512];

        out[0] = notes[0] = '\0';
        for (int m = 0; m < s->n; m++) {
                struct proto_review_row *rv;
                struct proto_note_row *nt;
                uint32_t n;

                if (proto_peek(s->buf[m], s->len[m]) == PROTO_REVIEWS) {
                        assert_int_equal(
                            proto_reviews_decode(s->buf[m], s->len[m], &rv, &n, err, sizeof err),
                            0);
                        for (uint32_t i = 0; i < n; i++) {
                                snprintf(line, sizeof line, "%.*s/%.*s %.*s %.*s %llu %.*s;",
                                         (int)rv[i].unit.len, rv[i].unit.p, (int)rv[i].period.len,
                                         rv[i].period.p, (int)rv[i].state.len, rv[i].state.p,
                                         rv[i].by.p ? (int)rv[i].by.len : 1,
                                         rv[i].by.p ? rv[i].by.p : "-",
                                         (unsigned long long)rv[i].at,
                                         rv[i].comment.p ? (int)rv[i].comment.len : 1,
                                         rv[i].comment.p ? rv[i].comment.p : "-");
                                strncat(out, line, outlen - strlen(out) - 1);
                        }
                        free(rv);
                } else if (proto_peek(s->buf[m], s->len[m]) == PROTO_NOTES) {
                        assert_int_equal(
                            proto_notes_decode(s->buf[m], s->len[m], &nt, &n, err, sizeof err), 0);
                        for (uint32_t i = 0; i < n; i++) {
                                snprintf(line, sizeof line, "%.*s/%.*s/%.*s;", (int)nt[i].unit.len,
                                         nt[i].unit.p, (int)nt[i].period.len, nt[i].period.p,
                                         (int)nt[i].rule.len, nt[i].rule.p);
                                strncat(notes, line, noteslen - strlen(notes) - 1);
                        }
                        free(nt);
                }
        }
}

/*
 * The state stream carries, after the values, every review row (open ones
 * with their reason) and every explained warning, and "ready" counts them.
 */
static void
test_stream_reviews(void **state)
{
        struct sent s = {0};
        uint64_t last, nrows, nrev, nnotes, rlast, rn, repoch, rrev, rnotes;
        char err[512], got[4096], notes[2048];

        (void)state;
        assert_int_equal(writer_stream_state(w, S("agg-review"), 3, collect_no_rows, &s, &last,
                                             &nrows, &nrev, &nnotes, err, sizeof err),
                         DB_OK);
        stream_reviews_text(&s, got, sizeof got, notes, sizeof notes);
        assert_string_equal(got, "C/2050 open colD1 1733369502000000 returned with S2;"
                                 "D1/2050 open colD1 1733369502000000 returned with S2;"
                                 "S1/2050 open colD1 1733369403000000 第7行有误;"
                                 "S2/2050 open colD1 1733369502000000 复核;");
        /* test_explain's notes (2040) and test_review_views' (2050). */
        assert_string_equal(notes, "S1/2040/W1;S1/2050/W1;S1/2050/W2;S2/2040/W1;");
        assert_int_equal(nrev, 4);
        assert_int_equal(nnotes, 4);
        assert_int_equal(proto_peek(s.buf[s.n - 1], s.len[s.n - 1]), PROTO_READY);
        assert_int_equal(proto_ready_decode(s.buf[s.n - 1], s.len[s.n - 1], &rlast, &rn, &repoch,
                                            &rrev, &rnotes, err, sizeof err),
                         0);
        assert_int_equal(rlast, 7);
        assert_int_equal(rn, nrows);
        assert_int_equal(repoch, 3);
        assert_int_equal(rrev, 4);
        assert_int_equal(rnotes, 4);
        sent_free(&s);
        exec_ok("DELETE FROM edustat.form; DELETE FROM edustat.report_period WHERE period ="
                " '2050'; DELETE FROM edustat.rule");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_migrate_history),
            cmocka_unit_test(test_migrate_and_load),
            cmocka_unit_test(test_migrate_checksums),
            cmocka_unit_test(test_migrations_released),
            cmocka_unit_test(test_commit_and_replay),
            cmocka_unit_test(test_update_versions),
            cmocka_unit_test(test_refused),
            cmocka_unit_test(test_refused_duplicate),
            cmocka_unit_test(test_stream),
            cmocka_unit_test(test_agg_value_leaves),
            cmocka_unit_test(test_connection_loss),
            cmocka_unit_test(test_big_text),
            cmocka_unit_test(test_refused_twice),
            cmocka_unit_test(test_perf),
            cmocka_unit_test(test_gap),
            cmocka_unit_test(test_breakdown_rows),
            cmocka_unit_test(test_binary_copy),
            cmocka_unit_test(test_first_report),
            cmocka_unit_test(test_fencing),
            cmocka_unit_test(test_commit_fails),
            cmocka_unit_test(test_rejected_cells),
            cmocka_unit_test(test_violations),
            cmocka_unit_test(test_violations_full_large),
            cmocka_unit_test(test_explain),
            cmocka_unit_test(test_rules_commit_fails),
            cmocka_unit_test(test_review_actions),
            cmocka_unit_test(test_review_views),
            cmocka_unit_test(test_stream_reviews),
            cmocka_unit_test(test_concurrent_writer),
        };
        int rc;

        dburl = getenv("SINKTEST_DB");
        if (dburl == NULL)
                return 77;
        check = PQconnectdb(dburl);
        if (PQstatus(check) != CONNECTION_OK)
                return 1;
        rc = cmocka_run_group_tests(tests, NULL, NULL);
        writer_destroy(&w);
        PQfinish(check);
        return rc;
}
