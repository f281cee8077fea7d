/*
 * schema: migrations, the config load, failure classification and the
 * COPY text encoder.  See schema.h.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "log.h"
#include "orgtree.h"
#include "schema.h"
#include "util.h"

/*
 * Migration 1: the tables of issue 2.  docs/SQL.md explains every column;
 * keep the two together.
 *
 * value_history has no primary key on purpose: it is an append-only audit
 * trail written on every accepted change, and a unique index would slow
 * ingest for a guarantee the sink_state sequence already gives.  Its BRIN
 * index on received_at keeps "what arrived today" cheap at almost no cost.
 *
 * agg_value is a view: the aggregator stores rows only for units with
 * children (agg_rollup); a leaf's row is an identity of its own raw values,
 * so it is computed here on read.  The ratio branch groups unit_value rows
 * by (unit, period, ratio) so a WHERE on unit is pushed into the subquery
 * and served by unit_value's primary key.
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
    ");\n"
    "CREATE VIEW edustat.agg_value AS\n"
    "SELECT a.unit, a.level, a.period, a.indicator, a.value, a.numerator,\n"
    "       a.denominator, a.n_reporting, a.min, a.max, a.mean, a.cv,\n"
    "       a.updated_at\n"
    "  FROM edustat.agg_rollup a\n"
    "UNION ALL\n"
    "SELECT v.unit, o.level, v.period, v.indicator, v.value,\n"
    "       NULL::numeric, NULL::numeric, 1,\n"
    "       v.value::float8, v.value::float8, v.value::float8,\n"
    "       CASE WHEN v.value = 0 THEN NULL ELSE 0::float8 END,\n"
    "       v.received_at\n"
    "  FROM edustat.unit_value v\n"
    "  JOIN edustat.orgunit o ON o.code = v.unit AND o.is_leaf\n"
    "  JOIN edustat.indicator i ON i.code = v.indicator\n"
    "   AND i.kind IN ('count', 'amount')\n"
    "UNION ALL\n"
    "SELECT s.unit, o.level, s.period, s.indicator,\n"
    "       CASE WHEN s.den = 0 THEN NULL\n"
    "            ELSE s.multiplier * s.num / s.den END,\n"
    "       s.num, s.den, 1, s.x, s.x, s.x,\n"
    "       CASE WHEN s.x <> 0 THEN 0::float8 END,\n"
    "       s.updated_at\n"
    "  FROM (SELECT g.*,\n"
    "               CASE WHEN g.has_num AND g.has_den AND g.den > 0\n"
    "                    THEN (g.multiplier * g.num / g.den)::float8 END AS x\n"
    "          FROM (SELECT v.unit, v.period, r.code AS indicator, r.multiplier,\n"
    "                       coalesce(sum(v.value) FILTER\n"
    "                         (WHERE v.indicator = r.numerator), 0) AS num,\n"
    "                       coalesce(sum(v.value) FILTER\n"
    "                         (WHERE v.indicator = r.denominator), 0) AS den,\n"
    "                       bool_or(v.indicator = r.numerator) AS has_num,\n"
    "                       bool_or(v.indicator = r.denominator) AS has_den,\n"
    "                       max(v.received_at) AS updated_at\n"
    "                  FROM edustat.unit_value v\n"
    "                  JOIN edustat.indicator r ON r.kind = 'ratio'\n"
    "                   AND v.indicator IN (r.numerator, r.denominator)\n"
    "                 GROUP BY v.unit, v.period, r.code, r.multiplier) g) s\n"
    "  JOIN edustat.orgunit o ON o.code = s.unit AND o.is_leaf;\n";

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

static const char *const migrations[] = {NULL, migration1, migration2, migration3};

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
        r = schema_exec(conn,
                        "INSERT INTO edustat.orgunit (code, parent, level, depth, name, stage,"
                        " locality, ownership, is_leaf)"
                        " SELECT code, parent, level, depth, name, stage, locality, ownership,"
                        " is_leaf FROM pg_temp.stage_orgunit"
                        " ON CONFLICT (code) DO UPDATE SET parent = EXCLUDED.parent,"
                        " level = EXCLUDED.level, depth = EXCLUDED.depth,"
                        " name = EXCLUDED.name, stage = EXCLUDED.stage,"
                        " locality = EXCLUDED.locality, ownership = EXCLUDED.ownership,"
                        " is_leaf = EXCLUDED.is_leaf, loaded_at = now()",
                        err, errlen);
        /*
         * A unit that lost its last child is a leaf now: the agg_value view
         * derives its rows from unit_value, so rolled-up rows stored for it
         * earlier would show twice.
         */
        if (r == DB_OK)
                r = schema_exec(conn,
                                "DELETE FROM edustat.agg_rollup a USING edustat.orgunit o"
                                " WHERE o.code = a.unit AND o.is_leaf;\n"
                                "DELETE FROM edustat.agg_breakdown a USING edustat.orgunit o"
                                " WHERE o.code = a.unit AND o.is_leaf",
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

enum db_result
schema_load_config(PGconn *conn, const struct config *cfg, size_t *nunits, size_t *nind, char *err,
                   size_t errlen)
{
        char why[512];
        enum db_result r;

        if ((r = schema_exec(conn, "BEGIN", err, errlen)) != DB_OK)
                return r;
        if ((r = load_orgunits(conn, cfg->tree, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/orgunits.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = load_indicators(conn, cfg->cat, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/indicators.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = schema_exec(conn, "COMMIT", err, errlen)) != DB_OK)
                return r;
        *nunits = cfg->tree->n;
        *nind = cfg->cat->n;
        return DB_OK;
fail:
        schema_rollback(conn);
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
        c->first = 1;
        c->len = 0;
        c->rows = 0;
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

        pgcopy_flush(c);
        /* End the COPY even after a send failure: libpq needs the copy state
         * closed before the connection (if it is still up) can be used. */
        if (PQputCopyEnd(c->conn, c->failed ? "edustat-sink: send failed" : NULL) != 1) {
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
