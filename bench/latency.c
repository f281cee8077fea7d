/*
 * bench_latency: measurement 5 (bench/README.md), latency at a steady offered load,
 * against a running aggregator, sink and PostgreSQL (bench/e2e.sh starts
 * them and loads them with the fresh data first).
 *
 *   bench_latency --aggregator ENDPOINT --db CONNINFO [--rate RECORDS_PER_S]
 *                 [--batch RECORDS] [--seconds S] [--poll-us US] [--samples DIR]
 *
 * It speaks the collector's protocol over CURVE with the key in
 * EDUSTAT_COLLECTOR_SECRET (registered for the root, so it may write any
 * school) and the aggregator's public key (EDUSTAT_AGGREGATOR_PUBLIC or
 * $EDUSTAT_KEYS/aggregator.key), from two threads, each with its own socket:
 *
 * Load: every batch/rate seconds one submit of `batch` records that change
 * stored school values, for `seconds`.  The keys go in (school, indicator)
 * order, so a batch of 100 is about two schools' returns; bench/gen.py's
 * school codes are scattered over the districts, so consecutive batches
 * come from anywhere in the province, as in a reporting window.  Open loop: batch k is due at start
 * + k * batch/rate and its latency is measured from that due time to its ack, so a pipeline that
 * falls behind shows it in the figures instead of slowing the load down (no coordinated omission).
 * It bypasses edustat-collector's outbox: the figure is the aggregator -> sink -> PostgreSQL commit
 * -> ack path a batch takes, as a long-running `edustat-collector run` sees it, without the one
 * SQLite fsync a `submit` process pays before it sends anything. The ack means committed in
 * PostgreSQL (docs/PROTOCOL.md).
 *
 * Corrections: one school's value of one indicator, which the load never
 * touches, is changed by 1; t0 is just before the submit is handed to
 * ZeroMQ; then PostgreSQL is polled (every poll-us, default 2 ms: finer
 * polling costs the server measurable CPU) for the root's row of that
 * indicator in edustat.agg_value until it shows the new sum.  Every
 * aggregate row a uow changes commits in the one transaction, so the
 * school's city row (between the school and the root in bench/gen.py's
 * tree) becomes visible at that same instant.
 * The next correction follows 20 ms after the previous became visible and
 * was acked, until `seconds` have passed.
 *
 * Prints TSV lines "metric<TAB>value<TAB>unit" on stdout (ack_p50_ms,
 * ack_p99_ms, visible_p50_ms, visible_p99_ms and info_* extras).  With
 * --samples, writes DIR/ack_ms.txt and DIR/visible_ms.txt (one latency a
 * line) for a plot.  Exits 0, or 1 when a batch was refused or not acked,
 * or a correction never became visible.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <msgpack.h>
#include <zmq.h>

#include "log.h"
#include "proto.h"
#include "security.h"
#include "util.h"
#include "wire.h"

#define PROG "bench_latency"
/* Cap of the load's key set: far more than a run can change. */
#define MAX_KEYS 2000000LL
/* A batch or correction not answered in this long is lost. */
#define ANSWER_TIMEOUT_US (30 * 1000000LL)
/* A correction not visible in this long never will be. */
#define VISIBLE_TIMEOUT_US (10 * 1000000LL)
#define CORRECTION_GAP_US  20000
#define VALUE_MAX          32

struct settings {
        const char *endpoint, *conninfo, *samples;
        long rate, batch, seconds, poll_us;
};

/* A stored school value the load may change. */
struct key {
        char *unit, *indicator;
        long long value;
};

struct shared {
        struct settings set;
        void *ctx;
        struct wire_curve curve;
        char period[64];
        char root[128];
        /* load */
        struct key *keys;
        size_t nkeys;
        /* correction target: a school and an indicator the load never touches */
        char corr_unit[128], corr_indicator[128];
        long long corr_value, root_value;
        int64_t start_us, end_us;
};

struct load_result {
        int64_t *lat_us; /* per batch; -1 = not acked */
        size_t nbatches, nrecords, nerrors, nrejected;
        int64_t last_ack_us;
};

struct corr_result {
        int64_t *visible_us, *ack_us;
        size_t n, cap, nlost;
        int64_t query_us_total;
        size_t nqueries;
};

/* Collector-style versions: above every version stamped before us (ARCHITECTURE.md). */
static uint64_t
version_next(uint64_t *last)
{
        uint64_t v = (uint64_t)wallclock_us() * 1024;

        if (v <= *last)
                v = *last + 1;
        *last = v;
        return v;
}

_Noreturn static void
usage(void)
{
        fprintf(stderr, "usage: " PROG " --aggregator ENDPOINT --db CONNINFO [--rate N] [--batch N]"
                        " [--seconds S] [--poll-us US] [--samples DIR]\n");
        exit(2);
}

static void
settings_load(struct settings *s, int argc, char **argv)
{
        static const struct option opts[] = {
            {"aggregator", required_argument, NULL, 'a'}, {"db", required_argument, NULL, 'd'},
            {"rate", required_argument, NULL, 'r'},       {"batch", required_argument, NULL, 'b'},
            {"seconds", required_argument, NULL, 's'},    {"poll-us", required_argument, NULL, 'p'},
            {"samples", required_argument, NULL, 'o'},    {NULL, 0, NULL, 0},
        };
        int ch;

        memset(s, 0, sizeof(*s));
        s->rate = 10000;
        s->batch = 100;
        s->seconds = 20;
        s->poll_us = 2000;
        while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                long *dst, min = 1, max;
                const char *name;

                switch (ch) {
                case 'a':
                        s->endpoint = optarg;
                        continue;
                case 'd':
                        s->conninfo = optarg;
                        continue;
                case 'o':
                        s->samples = optarg;
                        continue;
                case 'r':
                        dst = &s->rate, max = 10000000, name = "rate";
                        break;
                case 'b':
                        dst = &s->batch, max = PROTO_MAX_BATCH, name = "batch";
                        break;
                case 's':
                        dst = &s->seconds, max = 86400, name = "seconds";
                        break;
                case 'p':
                        dst = &s->poll_us, min = 0, max = 1000000, name = "poll-us";
                        break;
                default:
                        usage();
                }
                if (parse_long(optarg, min, max, dst) < 0)
                        fatalx("--%s %s: want a whole number in %ld..%ld", name, optarg, min, max);
        }
        if (optind != argc || s->endpoint == NULL || s->conninfo == NULL)
                usage();
}

static PGresult *
db_query(PGconn *db, const char *sql, int nparams, const char *const *params)
{
        PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);

        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                fatalx("%s: %s", sql, PQerrorMessage(db));
        return res;
}

/* Parse a count's text ("123", or "123.000") as a whole number. */
static int
whole_parse(const char *s, long long *out)
{
        char *end;

        errno = 0;
        *out = strtoll(s, &end, 10);
        if (errno != 0 || end == s)
                return -1;
        if (*end == '.')
                for (end++; *end == '0'; end++)
                        ;
        return *end == '\0' ? 0 : -1;
}

/*
 * What to write: the first period stored; for the corrections the first
 * school value of the first count indicator in it, and for the load the
 * school values of the other count indicators, so that the city's row of
 * the correction indicator moves only with the corrections.
 */
static void
targets_load(struct shared *sh)
{
        PGconn *db = PQconnectdb(sh->set.conninfo);
        PGresult *res;
        const char *params[3];
        char limit[32];
        int n;

        if (PQstatus(db) != CONNECTION_OK)
                fatalx("cannot connect to PostgreSQL: %s", PQerrorMessage(db));
        res = db_query(db, "SELECT min(period) FROM edustat.unit_value", 0, NULL);
        if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
                fatalx("edustat.unit_value is empty: load the fresh data first");
        strlcpyf(sh->period, sizeof(sh->period), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        res = db_query(db, "SELECT code FROM edustat.orgunit WHERE depth = 0", 0, NULL);
        if (PQntuples(res) != 1)
                fatalx("edustat.orgunit has %d roots, want 1", PQntuples(res));
        strlcpyf(sh->root, sizeof(sh->root), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);

        /* The correction key: the first school value of the first count indicator. */
        params[0] = sh->period;
        res = db_query(db,
                       "SELECT v.unit, v.indicator, v.value::text FROM edustat.unit_value v"
                       " JOIN edustat.orgunit o ON o.code = v.unit AND o.is_leaf"
                       " JOIN edustat.indicator i ON i.code = v.indicator AND i.kind = 'count'"
                       " WHERE v.period = $1 ORDER BY v.indicator, v.unit LIMIT 1",
                       1, params);
        if (PQntuples(res) != 1)
                fatalx("no school value of a count indicator in period %s", sh->period);
        strlcpyf(sh->corr_unit, sizeof(sh->corr_unit), "%s", PQgetvalue(res, 0, 0));
        strlcpyf(sh->corr_indicator, sizeof(sh->corr_indicator), "%s", PQgetvalue(res, 0, 1));
        if (whole_parse(PQgetvalue(res, 0, 2), &sh->corr_value) < 0)
                fatalx("value %s of %s is not whole", PQgetvalue(res, 0, 2), sh->corr_unit);
        PQclear(res);

        /*
         * The load's keys: school values of the other count indicators, as
         * many as the run can change (it cycles over fewer).
         */
        strlcpyf(limit, sizeof(limit), "%lld",
                 (long long)sh->set.rate * sh->set.seconds + sh->set.batch < MAX_KEYS
                     ? (long long)sh->set.rate * sh->set.seconds + sh->set.batch
                     : MAX_KEYS);
        params[1] = sh->corr_indicator;
        params[2] = limit;
        res = db_query(db,
                       "SELECT v.unit, v.indicator, v.value::text FROM edustat.unit_value v"
                       " JOIN edustat.orgunit o ON o.code = v.unit AND o.is_leaf"
                       " JOIN edustat.indicator i ON i.code = v.indicator AND i.kind = 'count'"
                       " WHERE v.period = $1 AND v.indicator <> $2"
                       " ORDER BY v.unit, v.indicator LIMIT $3::bigint",
                       3, params);
        n = PQntuples(res);
        sh->keys = xcalloc((size_t)n + 1, sizeof(*sh->keys));
        for (int i = 0; i < n; i++) {
                struct key *k = &sh->keys[sh->nkeys];

                if (whole_parse(PQgetvalue(res, i, 2), &k->value) < 0)
                        continue;
                k->unit = xstrdup(PQgetvalue(res, i, 0));
                k->indicator = xstrdup(PQgetvalue(res, i, 1));
                sh->nkeys++;
        }
        PQclear(res);
        if (sh->nkeys < (size_t)sh->set.batch)
                fatalx("only %zu keys for the load, fewer than a batch (%ld)", sh->nkeys,
                       sh->set.batch);
        params[0] = sh->root;
        params[1] = sh->period;
        params[2] = sh->corr_indicator;
        res = db_query(db,
                       "SELECT value::text FROM edustat.agg_value"
                       " WHERE unit = $1 AND period = $2 AND indicator = $3",
                       3, params);
        if (PQntuples(res) != 1 || whole_parse(PQgetvalue(res, 0, 0), &sh->root_value) < 0)
                fatalx("no whole agg_value of %s %s %s", sh->root, sh->period, sh->corr_indicator);
        PQclear(res);
        PQfinish(db);
        log_info("period %s; load over %zu keys; corrections of %s/%s, seen at %s (now %lld)",
                 sh->period, sh->nkeys, sh->corr_unit, sh->corr_indicator, sh->root,
                 sh->root_value);
}

/* Pack and send one submit of n records (unit/indicator/value arrays). */
static void
submit_send(void *sock, const char *batch_id, const char *period, size_t n, char *const *units,
            char *const *indicators, char (*values)[VALUE_MAX], uint64_t *last_version)
{
        msgpack_sbuffer sb;
        msgpack_packer pk;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_submit_begin(&pk, "bench-latency", batch_id, "bench-latency", (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
                struct proto_record r;

                memset(&r, 0, sizeof(r));
                r.line = (uint32_t)(i + 2);
                r.version = version_next(last_version);
                r.unit = pstr_of(units[i]);
                r.period = pstr_of(period);
                r.indicator = pstr_of(indicators[i]);
                r.value = pstr_of(values[i]);
                proto_record_pack(&pk, &r);
        }
        if (wire_send(sock, sb.data, sb.size, 0) < 0)
                fatal("zmq send");
        msgpack_sbuffer_destroy(&sb);
}

/*
 * Receive one reply within timeout_ms.  Returns 1 and the batch number
 * (the digits after the id's prefix) in *num, 0 on timeout; counts errors
 * and rejected records.
 */
static int
reply_recv(void *sock, long timeout_ms, long long *num, size_t *errors, size_t *rejected)
{
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        zmq_msg_t msg;
        struct proto_ack ack;
        char err[256], id[PROTO_MAX_ID + 1];
        int got = 0;

        if (zmq_poll(&it, 1, timeout_ms) <= 0)
                return 0;
        zmq_msg_init(&msg);
        if (wire_recv(sock, &msg, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                return 0;
        }
        if (proto_ack_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &ack, err, sizeof(err)) < 0) {
                log_warnx("undecodable reply: %s", err);
                (*errors)++;
        } else if (ack.message.p != NULL) {
                log_warnx("batch %.*s refused: %.*s", ack.batch_id.p ? (int)ack.batch_id.len : 0,
                          ack.batch_id.p ? ack.batch_id.p : "", (int)ack.message.len,
                          ack.message.p);
                (*errors)++;
        } else {
                if (ack.nrej > 0) {
                        log_warnx("batch %.*s: %u records rejected, first: %.*s",
                                  (int)ack.batch_id.len, ack.batch_id.p, ack.nrej,
                                  (int)ack.rej[0].reason.len, ack.rej[0].reason.p);
                        *rejected += ack.nrej;
                }
                strlcpyf(id, sizeof(id), "%.*s", (int)ack.batch_id.len, ack.batch_id.p);
                *num = strtoll(id + 2, NULL, 10);
                got = 1;
        }
        proto_ack_free(&ack);
        zmq_msg_close(&msg);
        return got;
}

static void *
load_thread(void *arg)
{
        struct shared *sh = arg;
        struct load_result *res = xcalloc(1, sizeof(*res));
        size_t b = (size_t)sh->set.batch, next_key = 0, outstanding = 0;
        int64_t interval_us = (int64_t)(1e6 * (double)b / (double)sh->set.rate);
        size_t cap = (size_t)((sh->end_us - sh->start_us) / (interval_us ? interval_us : 1)) + 2;
        int64_t *due = xcalloc(cap, sizeof(*due));
        char **units = xcalloc(b, sizeof(*units)), **inds = xcalloc(b, sizeof(*inds));
        char(*values)[VALUE_MAX] = xcalloc(b, VALUE_MAX);
        uint64_t last_version = 0;
        void *sock = wire_dealer_connect_curve(sh->ctx, sh->set.endpoint,
                                               4 * (int64_t)PROTO_MAX_SUBMIT_BYTES, &sh->curve);
        char id[PROTO_MAX_ID + 1];
        long long num;

        if (sock == NULL)
                fatalx("cannot connect to %s", sh->set.endpoint);
        res->lat_us = xcalloc(cap, sizeof(*res->lat_us));

        /* One unmeasured record first: the CURVE handshake and the first uow. */
        sh->keys[0].value++;
        units[0] = sh->keys[0].unit;
        inds[0] = sh->keys[0].indicator;
        strlcpyf(values[0], VALUE_MAX, "%lld", sh->keys[0].value);
        /*
         * Batch ids are this process's own: the aggregator remembers the
         * digests of recent batches, and a later run's batch under an id of
         * an earlier run, with other values, is refused as a reused id.
         */
        strlcpyf(id, sizeof(id), "W-%ld-%lld-0", (long)getpid(), (long long)time(NULL));
        submit_send(sock, id, sh->period, 1, units, inds, values, &last_version);
        if (!reply_recv(sock, 30000, &num, &res->nerrors, &res->nrejected))
                fatalx("the warm-up batch was not acked within 30 s");
        next_key = 1;

        while (now_us() < sh->start_us)
                usleep(1000);
        for (;;) {
                int64_t now = now_us(),
                        next_due = sh->start_us + (int64_t)res->nbatches * interval_us;
                long wait_ms;

                if (next_due < sh->end_us && res->nbatches < cap && now >= next_due) {
                        for (size_t i = 0; i < b; i++) {
                                struct key *key = &sh->keys[next_key++ % sh->nkeys];

                                key->value++;
                                units[i] = key->unit;
                                inds[i] = key->indicator;
                                strlcpyf(values[i], VALUE_MAX, "%lld", key->value);
                        }
                        /* The number first: the ack is matched by it (strtoll). */
                        strlcpyf(id, sizeof(id), "L-%zu-%ld-%lld", res->nbatches, (long)getpid(),
                                 (long long)sh->start_us);
                        due[res->nbatches] = next_due;
                        res->lat_us[res->nbatches] = -1;
                        submit_send(sock, id, sh->period, b, units, inds, values, &last_version);
                        res->nbatches++;
                        res->nrecords += b;
                        outstanding++;
                        continue;
                }
                if (next_due >= sh->end_us || res->nbatches >= cap) {
                        if (outstanding == 0 || now > sh->end_us + ANSWER_TIMEOUT_US)
                                break;
                        wait_ms = 100;
                } else {
                        wait_ms = (long)((next_due - now + 999) / 1000);
                }
                while (reply_recv(sock, wait_ms, &num, &res->nerrors, &res->nrejected)) {
                        int64_t t = now_us();

                        wait_ms = 0;
                        if (num < 0 || (size_t)num >= res->nbatches || res->lat_us[num] >= 0)
                                continue;
                        res->lat_us[num] = t - due[num];
                        res->last_ack_us = t;
                        outstanding--;
                }
        }
        wire_close(&sock);
        free(due);
        free(units);
        free(inds);
        free(values);
        return res;
}

static void
corr_push(struct corr_result *r, int64_t visible, int64_t acked)
{
        if (r->n == r->cap) {
                r->cap = r->cap ? 2 * r->cap : 256;
                r->visible_us = xreallocarray(r->visible_us, r->cap, sizeof(*r->visible_us));
                r->ack_us = xreallocarray(r->ack_us, r->cap, sizeof(*r->ack_us));
        }
        r->visible_us[r->n] = visible;
        r->ack_us[r->n] = acked;
        r->n++;
}

static void *
corr_thread(void *arg)
{
        struct shared *sh = arg;
        struct corr_result *res = xcalloc(1, sizeof(*res));
        PGconn *db = PQconnectdb(sh->set.conninfo);
        void *sock = wire_dealer_connect_curve(sh->ctx, sh->set.endpoint,
                                               4 * (int64_t)PROTO_MAX_SUBMIT_BYTES, &sh->curve);
        const char *params[3] = {sh->root, sh->period, sh->corr_indicator};
        char *unit = sh->corr_unit, *ind = sh->corr_indicator;
        char value[1][VALUE_MAX], id[PROTO_MAX_ID + 1];
        long long x = sh->corr_value, root = sh->root_value, num;
        uint64_t last_version = 0;
        size_t errors = 0, rejected = 0;

        if (PQstatus(db) != CONNECTION_OK)
                fatalx("cannot connect to PostgreSQL: %s", PQerrorMessage(db));
        if (sock == NULL)
                fatalx("cannot connect to %s", sh->set.endpoint);
        if (PQresultStatus(PQprepare(db, "root",
                                     "SELECT value::text FROM edustat.agg_value"
                                     " WHERE unit = $1 AND period = $2 AND indicator = $3",
                                     3, NULL)) != PGRES_COMMAND_OK)
                fatalx("prepare: %s", PQerrorMessage(db));

        while (now_us() < sh->start_us)
                usleep(1000);
        for (size_t i = 0; now_us() < sh->end_us; i++) {
                /* Up and down by one, so the value stays where the data put it. */
                long long delta = (i % 2 == 0) ? 1 : -1;
                int64_t t0, visible = -1, acked = -1, until;

                if (x + delta < 0)
                        delta = 1;
                strlcpyf(value[0], VALUE_MAX, "%lld", x + delta);
                /* An id of its own per run: the aggregator refuses a reused one. */
                strlcpyf(id, sizeof(id), "C-%zu-%ld-%lld", i, (long)getpid(),
                         (long long)time(NULL));
                t0 = now_us();
                submit_send(sock, id, sh->period, 1, &unit, &ind, value, &last_version);
                until = t0 + VISIBLE_TIMEOUT_US;
                while ((visible < 0 || acked < 0) && now_us() < until) {
                        if (visible < 0) {
                                int64_t q0 = now_us();
                                PGresult *r = PQexecPrepared(db, "root", 3, params, NULL, NULL, 0);
                                long long v;

                                res->query_us_total += now_us() - q0;
                                res->nqueries++;
                                if (PQresultStatus(r) != PGRES_TUPLES_OK)
                                        fatalx("polling agg_value: %s", PQerrorMessage(db));
                                if (PQntuples(r) == 1 &&
                                    whole_parse(PQgetvalue(r, 0, 0), &v) == 0 && v == root + delta)
                                        visible = now_us() - t0;
                                PQclear(r);
                        }
                        /* The ack, when it comes, is no later than a poll interval late. */
                        if (acked < 0 && reply_recv(sock, 0, &num, &errors, &rejected) &&
                            num == (long long)i)
                                acked = now_us() - t0;
                        if (visible < 0 || acked < 0)
                                usleep((useconds_t)sh->set.poll_us);
                }
                if (visible < 0 || acked < 0 || errors || rejected) {
                        log_warnx("correction %zu of %s/%s: %s", i, unit, ind,
                                  visible < 0 ? "never visible" : "not acked");
                        res->nlost++;
                        break;
                }
                corr_push(res, visible, acked);
                x += delta;
                root += delta;
                usleep(CORRECTION_GAP_US);
        }
        wire_close(&sock);
        PQfinish(db);
        return res;
}

static int
cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1) of n sorted values, in ms. */
static double
pct_ms(const int64_t *v, size_t n, double q)
{
        size_t i;

        if (n == 0)
                return -1;
        i = (size_t)(q * (double)n + 0.999999);
        i = i == 0 ? 0 : i - 1;
        return (double)v[i < n ? i : n - 1] / 1000.0;
}

static void
samples_write(const char *dir, const char *name, const int64_t *v, size_t n)
{
        char path[4096];
        FILE *fp;

        strlcpyf(path, sizeof(path), "%s/%s", dir, name);
        if ((fp = fopen(path, "w")) == NULL) {
                log_warn("%s", path);
                return;
        }
        for (size_t i = 0; i < n; i++)
                fprintf(fp, "%.3f\n", (double)v[i] / 1000.0);
        fclose(fp);
}

int
main(int argc, char **argv)
{
        struct shared sh;
        struct load_result *load;
        struct corr_result *corr;
        pthread_t lt, ct;
        char err[1024];
        int64_t *acked, *vis, *cack;
        size_t nacked = 0, lost;
        int rc = 0;

        memset(&sh, 0, sizeof(sh));
        log_init(PROG, 0);
        settings_load(&sh.set, argc, argv);
        if (security_load(SEC_COLLECTOR, NULL, &sh.curve, err, sizeof(err)) < 0)
                fatalx("%s", err);
        targets_load(&sh);
        if ((sh.ctx = zmq_ctx_new()) == NULL)
                fatal("zmq_ctx_new");
        /* Both threads connect and warm up first; the clock starts 2 s from now. */
        sh.start_us = now_us() + 2000000;
        sh.end_us = sh.start_us + sh.set.seconds * 1000000LL;
        if (pthread_create(&lt, NULL, load_thread, &sh) != 0 ||
            pthread_create(&ct, NULL, corr_thread, &sh) != 0)
                fatalx("pthread_create");
        pthread_join(lt, (void **)&load);
        pthread_join(ct, (void **)&corr);

        acked = xcalloc(load->nbatches + 1, sizeof(*acked));
        for (size_t i = 0; i < load->nbatches; i++)
                if (load->lat_us[i] >= 0)
                        acked[nacked++] = load->lat_us[i];
        lost = load->nbatches - nacked;
        qsort(acked, nacked, sizeof(*acked), cmp_i64);
        vis = xcalloc(corr->n + 1, sizeof(*vis));
        cack = xcalloc(corr->n + 1, sizeof(*cack));
        memcpy(vis, corr->visible_us, corr->n * sizeof(*vis));
        memcpy(cack, corr->ack_us, corr->n * sizeof(*cack));
        qsort(vis, corr->n, sizeof(*vis), cmp_i64);
        qsort(cack, corr->n, sizeof(*cack), cmp_i64);

        printf("ack_p50_ms\t%.1f\tms\n", pct_ms(acked, nacked, 0.50));
        printf("ack_p99_ms\t%.1f\tms\n", pct_ms(acked, nacked, 0.99));
        printf("visible_p50_ms\t%.1f\tms\n", pct_ms(vis, corr->n, 0.50));
        printf("visible_p99_ms\t%.1f\tms\n", pct_ms(vis, corr->n, 0.99));
        printf("info_ack_max_ms\t%.1f\tms\n", nacked ? (double)acked[nacked - 1] / 1000.0 : -1);
        printf("info_visible_max_ms\t%.1f\tms\n", corr->n ? (double)vis[corr->n - 1] / 1000.0 : -1);
        printf("info_corr_ack_p50_ms\t%.1f\tms\n", pct_ms(cack, corr->n, 0.50));
        printf("info_corr_ack_p99_ms\t%.1f\tms\n", pct_ms(cack, corr->n, 0.99));
        printf("info_latency_batches\t%zu\tbatches\n", load->nbatches);
        printf("info_latency_acked_rps\t%.0f\trecords/s\n",
               load->last_ack_us > sh.start_us
                   ? (double)(nacked * (size_t)sh.set.batch) /
                         ((double)(load->last_ack_us - sh.start_us) / 1e6)
                   : 0.0);
        printf("info_visible_samples\t%zu\tcorrections\n", corr->n);
        printf("info_poll_query_ms\t%.3f\tms\n",
               corr->nqueries ? (double)corr->query_us_total / 1000.0 / (double)corr->nqueries
                              : -1);
        if (sh.set.samples) {
                samples_write(sh.set.samples, "ack_ms.txt", acked, nacked);
                samples_write(sh.set.samples, "visible_ms.txt", vis, corr->n);
        }
        if (lost || load->nerrors || load->nrejected) {
                log_warnx("%zu of %zu batches not acked, %zu refused, %zu records rejected", lost,
                          load->nbatches, load->nerrors, load->nrejected);
                rc = 1;
        }
        if (corr->nlost || corr->n == 0) {
                log_warnx("%zu corrections measured, %zu lost", corr->n, corr->nlost);
                rc = 1;
        }
        free(acked);
        free(vis);
        free(cack);
        free(load->lat_us);
        free(load);
        free(corr->visible_us);
        free(corr->ack_us);
        free(corr);
        explicit_bzero(&sh.curve, sizeof(sh.curve));
        zmq_ctx_term(sh.ctx);
        return rc;
}
