/*
 * bench_agg_inproc: the aggregator alone, in one process, on one core
 * (measurements 6 and 7, bench/README.md).
 *
 * What one timed record costs is what edustat-aggregator's handle_submit()
 * and flush() do for it, minus the sockets:
 *   decode     proto_submit_decode() of the batch frame as the collector
 *              sends it (built beforehand, untimed, with lib/proto.h);
 *   resend?    uow_batch_find() over the open uow (the daemon also looks in
 *              the uows in flight; here the sink answers at once, so there
 *              are none);
 *   batch      uow_batch_add() (ids copied and made valid UTF-8);
 *   validate   ingest_check_memo() against the real config, authorizing every
 *              record for its district's collector (as with CURVE on);
 *   apply      state_apply(): the value table and the rollup of every
 *              ancestor, its slices (breakdowns) and the ratios built on
 *              the indicator;
 *   uow        uow_change_add() per change, and at EDUSTAT_UOW_RECORDS
 *              (20000) changes or EDUSTAT_FLUSH_MS (20 ms) the daemon's
 *              flush: uow_encode() (unit_value flags, every change packed,
 *              every dirty aggregate turned into a row and packed), then,
 *              as when the sink says ok, uow_ack() (an ack per batch,
 *              packed and handed to a ROUTER socket bound to inproc with no
 *              peer, where libzmq drops it) and uow_destroy().
 * Not included: zmq_msg_recv/zmq_send of the frames and the sink's round
 * trip.
 *
 * The tree is --config DIR (orgunits.csv + indicators.csv: bench/gen.py's
 * DATA/config) or one of the same shape generated here: province -> cities
 * of ~1500 schools -> districts of ~200 -> schools with stage, locality and
 * ownership; --indicators K submitted indicators (every tenth an amount
 * with 2 decimals) and min(8, K/6) ratios over pairs of them.  The records
 * come as bench/gen.py lays them out and the collector sends them: one file
 * per district and period holding its schools' rows school by school,
 * indicator by indicator, cut into batches of at most 5000 records
 * (collector/enqueue.c), sent by a collector registered for the district.
 *
 * Modes:
 *   --mode rps   --runs R fresh states, each fed all --records records (all
 *                new keys), then the same files again with new versions
 *                (an unchanged resubmission).  Prints agg_inproc_rps per run.
 *                --warmup W first feeds W states untimed: the first run of a
 *                process also pays the kernel for every page the heap grows
 *                by, which a running daemon paid when it loaded its state;
 *                the first warm-up's rate is printed as info_*_cold_rps.
 *   --mode mem   one fresh state fed --values values through the same path,
 *                batches built one at a time; prints agg_bytes_per_value:
 *                the growth of VmRSS (/proc/self/status) divided by the
 *                values stored.
 * Output: "metric<TAB>value<TAB>unit<TAB>note" lines on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <zmq.h>

#include "config.h"
#include "decimal.h"
#include "ingest.h"
#include "keys.h"
#include "log.h"
#include "proto.h"
#include "state.h"
#include "strmap.h"
#include "uow.h"
#include "util.h"

/* The daemon's defaults (aggregator/main.c). */
#define UOW_RECORDS      20000
#define FLUSH_MS         20
#define MAX_CLOCK_SKEW_S 300 /* EDUSTAT_MAX_CLOCK_SKEW's default */
#define BURST            64
/* collector/enqueue.h ENQUEUE_BATCH_RECORDS. */
#define BATCH_RECORDS 5000

struct opts {
        const char *config_dir;
        const char *mode;
        long schools, indicators, ratios, periods, runs, warmup;
        long long records, values;
        int rules; /* generate a rules.csv shaped like config/rules.csv */
};

/* One district's file for one period: its schools' rows. */
struct file {
        size_t leaf0, nleaves; /* w->leaves[leaf0 .. leaf0 + nleaves) */
        size_t period;
        int office; /* the district: its collector sends the file */
};

/* The workload: which leaves, indicators and periods make up the records. */
struct workload {
        struct config *cfg;
        int *leaves; /* in tree order, so a district's schools are together */
        size_t nleaves;
        int *inds; /* count/amount indicators */
        size_t ninds;
        char (*periods)[8];
        size_t nperiods;
        struct file *files;
        size_t nfiles;
        struct collector *who; /* per unit: the collector registered for it */
        struct rulecheck *rc;  /* the rules of rules.csv (none: an empty set) */
        struct review *rv;     /* the review round, as the daemon's: nothing submitted */
};

/* One prepared collector batch. */
struct frame {
        char *data;
        size_t len;
        int who; /* the unit whose collector sends it */
};

struct frames {
        struct frame *f;
        size_t n, cap;
        unsigned long long records;
};

/* The aggregator's per-batch machinery, as in aggregator/main.c. */
struct sim {
        const struct workload *w;
        struct state *state;
        struct uow *open;
        uint64_t next_seq;
        void *router;
        unsigned long long changed, rejected, uows, aggrows;
};

static uint64_t
splitmix(uint64_t x)
{
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

static double
mono_s(void)
{
        return (double)now_us() / 1e6;
}

static double
cpu_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS of this process in bytes, from /proc/self/status. */
static long long
rss_bytes(void)
{
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        long long kb = -1;

        if (f == NULL)
                fatal("/proc/self/status");
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "VmRSS:", 6) == 0)
                        kb = atoll(line + 6);
        fclose(f);
        if (kb < 0)
                fatalx("/proc/self/status: no VmRSS line");
        return kb * 1024;
}

static void
usage(void)
{
        fprintf(stderr, "usage: bench_agg_inproc [--mode rps|mem] [--config DIR | --schools N "
                        "--indicators K --ratios R [--rules]] [--print-rules]\n"
                        "         [--periods P] [--records N] [--values N] [--runs R] "
                        "[--warmup W]\n");
        exit(2);
}

/* ---- a generated config ---- */

static FILE *
open_w(const char *dir, const char *name)
{
        char path[4096];
        FILE *f;

        strlcpyf(path, sizeof(path), "%s/%s", dir, name);
        if ((f = fopen(path, "w")) == NULL)
                fatal("%s", path);
        return f;
}

/*
 * Write orgunits.csv and indicators.csv of bench/gen.py's shape (its
 * docstring): province PR, cities CT0001.. of ~1500 schools, districts
 * DS00001.. of ~200, schools with 10-digit codes and stage, locality and
 * ownership; indicators i001.. (every tenth an amount with 2 decimals) and
 * ratios r01.. over (i001, i002), (i003, i004), ...
 */
/*
 * rules.csv in the shape of the sample config's rule set (config/rules.csv):
 * comparisons between two indicators of a school (errors), a ratio's range
 * and a change on the year before (warnings), and a district's ratio.  The
 * bench's values are random, so each rule is one that such values pass:
 * the cost measured is that of checking, not of refusing.
 */
static void
rules_write(FILE *f)
{
        fprintf(f, "code,name_zh,left,op,right,severity,scope,stage,missing\n"
                   "B01,小于等于和,i001,<=,i001 + i002,error,,,\n"
                   "B02,非负,i003,>=,0,error,,,\n"
                   "B03,两倍,i004 * 2,>=,i004,error,,,\n"
                   "B04,小于等于和,i005,<=,i005 + i006,error,,primary,\n"
                   "B05,差非负,i002 - i002,<=,i001,error,,,\n"
                   "B06,同比上限,i001,<=,prev_year(i001) * 1000000 + 1000000,warning,,,\n"
                   "B07,同比下限,i001,>=,prev_year(i001) * 0,warning,,,\n"
                   "B08,比率下限,r01,>=,0,warning,,,\n"
                   "B09,比率上限,r01,<=,1000000000,warning,,,\n"
                   "B10,区比率上限,r01,<=,1000000000,warning,district,,\n");
}

static void
rules_generate(const char *dir, const struct opts *o)
{
        FILE *f = open_w(dir, "rules.csv");

        if (o->indicators < 6 || o->ratios < 1)
                fatalx("--rules needs at least 6 indicators and a ratio");
        rules_write(f);
        if (fclose(f) != 0)
                fatal("rules.csv");
}

static void
config_generate(const char *dir, const struct opts *o)
{
        static const char *const stage[] = {"kindergarten", "primary", "junior", "senior"};
        static const char *const loc[] = {"urban", "town", "rural"};
        static const char *const own[] = {"public", "public", "public", "private"};
        long nd = (o->schools + 100) / 200, nc = (o->schools + 750) / 1500;
        FILE *f = open_w(dir, "orgunits.csv");

        nd = nd < 1 ? 1 : nd;
        nc = nc < 1 ? 1 : (nc > nd ? nd : nc);
        fprintf(f, "code,parent,level,name,stage,locality,ownership\n");
        fprintf(f, "PR,,province,Bench province,,,\n");
        for (long c = 0; c < nc; c++)
                fprintf(f, "CT%04ld,PR,city,City %ld,,,\n", c + 1, c + 1);
        for (long d = 0; d < nd; d++)
                fprintf(f, "DS%05ld,CT%04ld,district,District %ld,,,\n", d + 1, d * nc / nd + 1,
                        d + 1);
        for (long i = 0; i < o->schools; i++) {
                uint64_t h = splitmix((uint64_t)i);
                /* Unique, unordered 10-digit codes, like the national 学校标识码. */
                uint64_t code = 1000000000 + (uint64_t)i * 7919 % 9000000000ULL;

                fprintf(f, "%llu,DS%05ld,school,School %ld,%s,%s,%s\n", (unsigned long long)code,
                        i * nd / o->schools + 1, i + 1, stage[h % 4], loc[(h >> 8) % 3],
                        own[(h >> 16) % 4]);
        }
        if (fclose(f) != 0)
                fatal("orgunits.csv");

        f = open_w(dir, "indicators.csv");
        fprintf(f, "code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals\n");
        for (long i = 0; i < o->indicators; i++) {
                if (i % 10 == 9)
                        fprintf(f, "i%03ld,指标%ld,Amount %ld,元,amount,,,,2\n", i + 1, i + 1,
                                i + 1);
                else
                        fprintf(f, "i%03ld,指标%ld,Count %ld,人,count,,,,\n", i + 1, i + 1, i + 1);
        }
        for (long j = 0; j < o->ratios && 2 * j + 2 <= o->indicators; j++)
                fprintf(f, "r%02ld,比率%ld,Ratio %ld,%%,ratio,i%03ld,i%03ld,%s,2\n", j + 1, j + 1,
                        j + 1, 2 * j + 1, 2 * j + 2, j % 2 == 0 ? "100" : "1");
        if (fclose(f) != 0)
                fatal("indicators.csv");
        if (o->rules)
                rules_generate(dir, o);
}

/* ---- the workload ---- */

static void
workload_init(struct workload *w, struct config *cfg, long periods)
{
        const struct orgtree *t = cfg->tree;

        memset(w, 0, sizeof(*w));
        w->cfg = cfg;
        w->leaves = xcalloc(t->n, sizeof(*w->leaves));
        w->who = xcalloc(t->n, sizeof(*w->who));
        for (size_t u = 0; u < t->n; u++) {
                /* Every office has a collector registered for it and what is below. */
                strlcpyf(w->who[u].name, sizeof(w->who[u].name), "office-%s", t->u[u].code);
                w->who[u].units = xmalloc(sizeof(int));
                w->who[u].units[0] = (int)u;
                w->who[u].nunits = 1;
                if (t->u[u].is_leaf)
                        w->leaves[w->nleaves++] = (int)u;
        }
        w->inds = xcalloc(cfg->cat->n, sizeof(*w->inds));
        for (size_t i = 0; i < cfg->cat->n; i++)
                if (cfg->cat->ind[i].kind != IND_RATIO)
                        w->inds[w->ninds++] = (int)i;
        w->nperiods = (size_t)periods;
        w->periods = xcalloc(w->nperiods, sizeof(*w->periods));
        /* 2024, 2025, ... as bench/gen.py, then back from 2023: 300 valid years. */
        for (size_t p = 0; p < w->nperiods; p++)
                strlcpyf(w->periods[p], sizeof(w->periods[p]), "%zu",
                         p < 176 ? 2024 + p : 2023 - (p - 176));
        if (w->nleaves == 0 || w->ninds == 0)
                fatalx("the config has no leaves or no count/amount indicators");

        /* Files: the schools of one parent (a run in tree order), one period each. */
        w->files = xcalloc(w->nleaves * w->nperiods, sizeof(*w->files));
        for (size_t i = 0; i < w->nleaves;) {
                int office = t->u[w->leaves[i]].parent;
                size_t n = 1;

                while (i + n < w->nleaves && t->u[w->leaves[i + n]].parent == office)
                        n++;
                for (size_t p = 0; p < w->nperiods; p++) {
                        struct file *f = &w->files[w->nfiles++];

                        f->leaf0 = i;
                        f->nleaves = n;
                        f->period = p;
                        f->office = office >= 0 ? office : w->leaves[i];
                }
                i += n;
        }
}

static void
workload_free(struct workload *w)
{
        for (size_t i = 0; i < w->cfg->tree->n; i++)
                free(w->who[i].units);
        free(w->who);
        free(w->leaves);
        free(w->inds);
        free(w->periods);
        free(w->files);
}

/*
 * The value of the record with global index r as text at the indicator's
 * scale, like bench/gen.py's: counts 1..4096, amounts 0.01..100000.00.
 */
static uint32_t
value_text(const struct workload *w, unsigned long long r, int ind, char *buf)
{
        uint64_t h = splitmix(r * 0x100000001b3ULL);
        unsigned scale = w->cfg->cat->ind[ind].scale;
        uint64_t v;

        if (scale == 0) {
                v = 1 + h % 4096;
        } else {
                uint64_t p = 1;

                for (unsigned i = 0; i < scale; i++)
                        p *= 10;
                v = 1 + h % (100000 * p);
        }
        return (uint32_t)decimal_format(v, scale, buf);
}

/*
 * Pack records [off, off + n) of file f (n <= BATCH_RECORDS) into fr; the
 * first one has global index r0 and version vbase + r0.
 */
static void
batch_build(const struct workload *w, const struct file *f, size_t off, unsigned n,
            unsigned long long r0, uint64_t vbase, struct frame *fr)
{
        const struct orgtree *t = w->cfg->tree;
        const struct catalog *c = w->cfg->cat;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char id[40], src[64], val[DECIMAL_BUFSZ];

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        /* Batch ids are 32 hex digits, like the collector's. */
        strlcpyf(id, sizeof(id), "%016llx%016llx", (unsigned long long)splitmix(vbase),
                 (unsigned long long)splitmix(r0 + 1));
        strlcpyf(src, sizeof(src), "%s_%s.csv", t->u[f->office].code, w->periods[f->period]);
        proto_submit_begin(&pk, w->who[f->office].name, id, src, n);
        for (unsigned k = 0; k < n; k++) {
                size_t j = off + k;
                int leaf = w->leaves[f->leaf0 + j / w->ninds];
                int ind = w->inds[j % w->ninds];
                struct proto_record pr = {
                    .line = (uint32_t)(j + 2),
                    .version = vbase + r0 + k,
                    .unit = pstr_of(t->u[leaf].code),
                    .period = pstr_of(w->periods[f->period]),
                    .indicator = pstr_of(c->ind[ind].code),
                };

                pr.value.len = value_text(w, r0 + k, ind, val);
                pr.value.p = val;
                proto_record_pack(&pk, &pr);
        }
        fr->len = sb.size;
        fr->data = msgpack_sbuffer_release(&sb);
        fr->who = f->office;
}

/*
 * The batches of the first total records, file by file, each file cut into
 * batches of at most BATCH_RECORDS.  Calls emit for each, in order.
 */
static void
batches_each(const struct workload *w, unsigned long long total, uint64_t vbase,
             void (*emit)(void *arg, struct frame *f, unsigned n), void *arg)
{
        unsigned long long r = 0;

        for (size_t i = 0; i < w->nfiles && r < total; i++) {
                const struct file *f = &w->files[i];
                size_t nrec = f->nleaves * w->ninds;

                for (size_t off = 0; off < nrec && r < total; off += BATCH_RECORDS) {
                        size_t n = nrec - off < BATCH_RECORDS ? nrec - off : BATCH_RECORDS;
                        struct frame fr;

                        if (n > total - r)
                                n = (size_t)(total - r);
                        batch_build(w, f, off, (unsigned)n, r, vbase, &fr);
                        emit(arg, &fr, (unsigned)n);
                        r += n;
                }
        }
}

/* Every record of the workload. */
static unsigned long long
records_all(const struct workload *w)
{
        return (unsigned long long)w->nleaves * w->ninds * w->nperiods;
}

static void
frames_add(void *arg, struct frame *f, unsigned n)
{
        struct frames *fs = arg;

        if (fs->n == fs->cap) {
                fs->cap = fs->cap ? fs->cap * 2 : 1024;
                fs->f = xreallocarray(fs->f, fs->cap, sizeof(*fs->f));
        }
        fs->f[fs->n++] = *f;
        fs->records += n;
}

static void
frames_free(struct frames *fs)
{
        for (size_t i = 0; i < fs->n; i++)
                free(fs->f[i].data);
        free(fs->f);
        memset(fs, 0, sizeof(*fs));
}

/* ---- the aggregator's path (aggregator/main.c handle_submit, flush) ---- */

static void
sim_init(struct sim *m, const struct workload *w, void *router)
{
        memset(m, 0, sizeof(*m));
        m->w = w;
        m->router = router;
        m->state = state_new(w->cfg);
        /* A fresh state: forget the violations of the run before. */
        rulecheck_rebuild(w->rc, m->state);
        m->next_seq = 1;
        m->open = uow_new(m->next_seq);
}

static void
sim_free(struct sim *m)
{
        uow_destroy(&m->open);
        state_destroy(&m->state);
}

/*
 * flush(): encode the open uow, and since the sink answers ok at once here,
 * ack its batches and drop it.  A uow that changed nothing acks at once,
 * as the daemon does with nothing in flight.
 */
static void
sim_flush(struct sim *m)
{
        int rules_dirty;

        rulecheck_settle(m->w->rc, m->state);
        rules_dirty = rulecheck_dirty_count(m->w->rc) > 0 || rulecheck_full(m->w->rc);

        if (m->open->nbatches == 0 && !state_dirty(m->state) && !rules_dirty)
                return;
        if (m->open->nchanges == 0 && m->open->nrejects == 0 && !state_dirty(m->state) &&
            !rules_dirty) {
                uow_ack(m->open, m->router);
                uow_destroy(&m->open);
                m->open = uow_new(m->next_seq);
                return;
        }
        uow_encode(m->open, m->state, m->w->cfg, m->w->rc, "bench", 1);
        m->aggrows += m->open->naggs;
        m->uows++;
        uow_ack(m->open, m->router);
        uow_destroy(&m->open);
        m->open = uow_new(++m->next_seq);
}

/* handle_submit() for one frame. */
static void
sim_submit(struct sim *m, const struct frame *f)
{
        const struct config *cfg = m->w->cfg;
        const struct collector *who = &m->w->who[f->who];
        struct wire_peer peer;
        struct proto_submit sub;
        char err[256];
        struct uow_batch *b;

        memset(&peer, 0, sizeof(peer));
        peer.len = 5;
        memcpy(peer.id, "\0peer", 5);
        if (proto_submit_decode(f->data, f->len, &sub, err, sizeof(err)) < 0)
                fatalx("bench batch does not decode: %s", err);
        if ((b = uow_batch_find(m->open, pstr_of(who->name), sub.batch_id)) != NULL) {
                b->peer = peer;
                proto_submit_free(&sub);
                return;
        }
        b = uow_batch_take(m->open, m->state, cfg, m->w->rc, m->w->rv, who, pstr_of(who->name),
                           &sub, &peer, hash_block(f->data, f->len), wallclock_us(),
                           MAX_CLOCK_SKEW_S);
        m->rejected += b->nrej;
        m->changed += b->changed;
        if (m->open->opened_ms == 0)
                m->open->opened_ms = now_ms();
        proto_submit_free(&sub);
}

/* The daemon's loop over a burst of frames: flush at UOW_RECORDS or FLUSH_MS. */
static void
sim_run(struct sim *m, const struct frames *fs)
{
        for (size_t i = 0; i < fs->n; i++) {
                sim_submit(m, &fs->f[i]);
                if (m->open->nchanges >= UOW_RECORDS)
                        sim_flush(m);
                if ((i + 1) % BURST == 0 && m->open->opened_ms &&
                    now_ms() >= m->open->opened_ms + FLUSH_MS)
                        sim_flush(m);
        }
        sim_flush(m);
}

/* ---- modes ---- */

static void
emit(const char *metric, double value, const char *unit, const char *note)
{
        printf("%s\t%.6g\t%s\t%s\n", metric, value, unit, note);
        fflush(stdout);
}

static void
mode_rps(const struct workload *w, const struct opts *o, void *router, const char *shape)
{
        unsigned long long total = records_all(w);
        struct frames fresh = {0}, again = {0};
        char note[512];

        if (o->records > 0 && (unsigned long long)o->records < total)
                total = (unsigned long long)o->records;
        fprintf(stderr, "bench_agg_inproc: building %llu records (untimed)\n", total);
        batches_each(w, total, 1ULL << 50, frames_add, &fresh);
        batches_each(w, total, (1ULL << 50) + (1ULL << 40), frames_add, &again);
        for (long run = 1; run <= o->warmup; run++) {
                struct sim m;
                double t0, c0;

                sim_init(&m, w, router);
                t0 = mono_s();
                c0 = cpu_s();
                sim_run(&m, &fresh);
                if (run == 1) {
                        snprintf(note, sizeof(note),
                                 "the untimed warm-up: a fresh process's first run, which also "
                                 "grows the heap; %.2f s wall, %.2f s cpu",
                                 mono_s() - t0, cpu_s() - c0);
                        emit(rulecheck_rules(w->rc)->n ? "info_agg_inproc_rules_cold_rps"
                                                       : "info_agg_inproc_cold_rps",
                             (double)total / (mono_s() - t0), "records/s", note);
                }
                sim_free(&m);
        }
        for (long run = 1; run <= o->runs; run++) {
                struct sim m;
                double t0, c0, t1, c1, t2, c2;

                sim_init(&m, w, router);
                t0 = mono_s();
                c0 = cpu_s();
                sim_run(&m, &fresh);
                t1 = mono_s();
                c1 = cpu_s();
                if (m.changed != total || m.rejected != 0)
                        fatalx("run %ld: %llu of %llu records changed, %llu rejected", run,
                               m.changed, total, m.rejected);
                snprintf(note, sizeof(note),
                         "run %ld; %llu new records, %zu batches, %s; decode+validate+apply+"
                         "rollup+uow encode (%llu uows, %llu aggregate rows)+ack packing; "
                         "%.2f s wall, %.2f s cpu",
                         run, total, fresh.n, shape, m.uows, m.aggrows, t1 - t0, c1 - c0);
                /* With validation rules, its own figures: the rules' cost is their ratio. */
                emit(rulecheck_rules(w->rc)->n ? "agg_inproc_rules_rps" : "agg_inproc_rps",
                     (double)total / (t1 - t0), "records/s", note);
                emit(rulecheck_rules(w->rc)->n ? "info_agg_inproc_rules_cpu_rps"
                                               : "info_agg_inproc_cpu_rps",
                     (double)total / (c1 - c0), "records/s",
                     "same run, records per CPU second (less sensitive to a busy machine)");

                unsigned long long changed0 = m.changed, uows0 = m.uows;

                sim_run(&m, &again);
                t2 = mono_s();
                c2 = cpu_s();
                if (m.changed != changed0)
                        fatalx("run %ld: an identical resubmission changed %llu values", run,
                               m.changed - changed0);
                snprintf(note, sizeof(note),
                         "run %ld; the same %llu records again with new versions: nothing "
                         "changes, %llu uows; %.2f s wall, %.2f s cpu",
                         run, total, m.uows - uows0, t2 - t1, c2 - c1);
                emit("info_agg_inproc_unchanged_rps", (double)total / (t2 - t1), "records/s", note);
                sim_free(&m);
        }
        frames_free(&fresh);
        frames_free(&again);
}

struct mem_feed {
        struct sim *m;
        size_t nbatches;
};

static void
mem_emit(void *arg, struct frame *f, unsigned n)
{
        struct mem_feed *mf = arg;

        (void)n;
        sim_submit(mf->m, f);
        free(f->data);
        if (mf->m->open->nchanges >= UOW_RECORDS)
                sim_flush(mf->m);
        mf->nbatches++;
}

static void
mode_mem(const struct workload *w, const struct opts *o, void *router, const char *shape)
{
        unsigned long long total = records_all(w);
        struct mem_feed mf = {0};
        struct sim m;
        long long before, after, trimmed;
        double t0, t1;
        char note[512];

        if ((unsigned long long)o->values < total)
                total = (unsigned long long)o->values;
        else if ((unsigned long long)o->values > total)
                fatalx("--values %lld is more than leaves x indicators x periods = %llu; "
                       "raise --periods",
                       o->values, total);
        malloc_trim(0);
        before = rss_bytes();
        sim_init(&m, w, router);
        mf.m = &m;
        t0 = mono_s();
        batches_each(w, total, 1ULL << 50, mem_emit, &mf);
        sim_flush(&m);
        t1 = mono_s();
        after = rss_bytes();
        if (state_nvalues(m.state) != total)
                fatalx("%zu values stored, %llu expected", state_nvalues(m.state), total);
        snprintf(note, sizeof(note),
                 "%zu values, %zu aggregates (%s); VmRSS %.1f -> %.1f MB, as the daemon would "
                 "hold it (no malloc_trim)",
                 state_nvalues(m.state), state_naggs(m.state), shape, (double)before / 1e6,
                 (double)after / 1e6);
        emit("agg_bytes_per_value", (double)(after - before) / (double)total, "bytes/value", note);
        malloc_trim(0);
        trimmed = rss_bytes();
        emit("info_agg_bytes_per_value_trimmed", (double)(trimmed - before) / (double)total,
             "bytes/value", "the same state after malloc_trim(0): the state alone");
        snprintf(note, sizeof(note),
                 "building the %llu-value state through the same path (batch encoding "
                 "included); %.1f s",
                 total, t1 - t0);
        emit("info_agg_mem_fill_rps", (double)total / (t1 - t0), "records/s", note);
        sim_free(&m);
}

int
main(int argc, char **argv)
{
        static const struct option lopts[] = {
            {"config", required_argument, NULL, 'c'},
            {"mode", required_argument, NULL, 'm'},
            {"schools", required_argument, NULL, 's'},
            {"indicators", required_argument, NULL, 'k'},
            {"ratios", required_argument, NULL, 'r'},
            {"periods", required_argument, NULL, 'p'},
            {"records", required_argument, NULL, 'n'},
            {"values", required_argument, NULL, 'v'},
            {"runs", required_argument, NULL, 'R'},
            {"rules", no_argument, NULL, 'u'},
            {"print-rules", no_argument, NULL, 'P'},
            {"warmup", required_argument, NULL, 'w'},
            {NULL, 0, NULL, 0},
        };
        struct opts o = {
            .mode = "rps",
            .schools = 20000,
            .indicators = 50,
            .ratios = 0, /* min(8, K/6) */
            .periods = 0,
            .runs = 3,
            .records = 0,
            .values = 10000000,
        };
        char err[1024], tmpdir[] = "/tmp/bench_agg_inproc.XXXXXX", shape[256];
        const char *dir;
        struct config *cfg;
        struct rules *rules;
        struct rulecheck *rc;
        struct workload w;
        long periods;
        void *ctx, *router;
        int ch;

        log_init("bench_agg_inproc", 0);
        /* The daemon's malloc settings (aggregator/main.c). */
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
        while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
                long v;

                switch (ch) {
                case 'c':
                        o.config_dir = optarg;
                        continue;
                case 'm':
                        o.mode = optarg;
                        continue;
                case 'u':
                        o.rules = 1;
                        continue;
                case 'w':
                        if (parse_long(optarg, 0, 100, &o.warmup) < 0)
                                usage();
                        continue;
                case 'P':
                        /* The rule set of --rules, for a config of gen.py's shape. */
                        rules_write(stdout);
                        return fflush(stdout) == 0 ? 0 : 1;
                case '?':
                        usage();
                }
                if (parse_long(optarg, 1, 1000000000000L, &v) < 0)
                        usage();
                switch (ch) {
                case 's':
                        o.schools = v;
                        break;
                case 'k':
                        o.indicators = v;
                        break;
                case 'r':
                        o.ratios = v;
                        break;
                case 'p':
                        o.periods = v;
                        break;
                case 'n':
                        o.records = v;
                        break;
                case 'v':
                        o.values = v;
                        break;
                case 'R':
                        o.runs = v;
                        break;
                default:
                        usage();
                }
        }
        if (optind != argc || (strcmp(o.mode, "rps") != 0 && strcmp(o.mode, "mem") != 0))
                usage();

        if (o.ratios == 0) {
                /* bench/gen.py's count. */
                o.ratios = o.indicators / 6 < 8 ? o.indicators / 6 : 8;
                if (o.ratios == 0 && o.indicators >= 2)
                        o.ratios = 1;
        }
        if (o.config_dir) {
                dir = o.config_dir;
        } else {
                if (mkdtemp(tmpdir) == NULL)
                        fatal("mkdtemp");
                config_generate(tmpdir, &o);
                dir = tmpdir;
        }
        if ((cfg = config_load(dir, err, sizeof(err))) == NULL ||
            (rules = rules_load_optional(dir, cfg->cat, cfg->tree, err, sizeof(err))) == NULL ||
            (rc = rulecheck_new(cfg, rules, err, sizeof(err))) == NULL)
                fatalx("%s", err);
        if (!o.config_dir) {
                char path[4096];

                strlcpyf(path, sizeof(path), "%s/orgunits.csv", tmpdir);
                unlink(path);
                strlcpyf(path, sizeof(path), "%s/indicators.csv", tmpdir);
                unlink(path);
                strlcpyf(path, sizeof(path), "%s/rules.csv", tmpdir);
                unlink(path);
                rmdir(tmpdir);
        }

        /* Periods: as asked, else 2 for rps and enough to hold --values for mem. */
        {
                size_t nleaves = 0, ninds = 0;

                for (size_t u = 0; u < cfg->tree->n; u++)
                        nleaves += cfg->tree->u[u].is_leaf != 0;
                for (size_t i = 0; i < cfg->cat->n; i++)
                        ninds += cfg->cat->ind[i].kind != IND_RATIO;
                periods = o.periods;
                if (periods == 0 && strcmp(o.mode, "mem") == 0 && nleaves && ninds)
                        periods = (long)(((unsigned long long)o.values + nleaves * ninds - 1) /
                                         (nleaves * ninds));
                if (periods == 0)
                        periods = 2;
                if (periods > 300)
                        fatalx("%ld periods: at most 300 here (valid years)", periods);
                workload_init(&w, cfg, periods);
                w.rc = rc;
                w.rv = review_new(cfg, rules, NULL);
                size_t nratio = cfg->cat->n - w.ninds;

                snprintf(shape, sizeof(shape),
                         "%zu units, %zu leaves, %zu count/amount + %zu ratio indicators, "
                         "%ld periods, %zu district files, %zu rules",
                         cfg->tree->n, w.nleaves, w.ninds, nratio, periods, w.nfiles, rules->n);
        }
        fprintf(stderr, "bench_agg_inproc: %s (%s)\n", shape, dir);

        /* A ROUTER with no peer: acks are packed and handed to libzmq, which drops them. */
        if ((ctx = zmq_ctx_new()) == NULL || (router = zmq_socket(ctx, ZMQ_ROUTER)) == NULL ||
            zmq_bind(router, "inproc://bench-collectors") != 0)
                fatalx("zmq: %s", zmq_strerror(errno));

        if (strcmp(o.mode, "rps") == 0)
                mode_rps(&w, &o, router, shape);
        else
                mode_mem(&w, &o, router, shape);

        zmq_close(router);
        zmq_ctx_term(ctx);
        review_destroy(&w.rv);
        workload_free(&w);
        config_destroy(&cfg);
        return 0;
}
