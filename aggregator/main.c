/*
 * edustat-aggregator: validates collectors' batches, keeps the latest value
 * of every key, rolls changes up the org tree and hands units of work to the
 * sink.  One thread, one zmq_poll loop; see docs/ARCHITECTURE.md.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batchlog.h"
#include "rulecheck.h"
#include "config.h"
#include "decimal.h"
#include "forms.h"
#include "ingest.h"
#include "keys.h"
#include "log.h"
#include "period.h"
#include "proto.h"
#include "review.h"
#include "security.h"
#include "state.h"
#include "strmap.h"
#include "uow.h"
#include "util.h"
#include "zap.h"
#include "wire.h"

/* A sink silent this long during the state stream means it went away. */
#define SYNC_STALL_MS 30000
/* Most collector messages handled between two looks at the sink. */
#define BURST         64
#define SHED_AFTER_MS 3000 /* no answer from the sink this long: shed submits */
/*
 * Messages queued per collector connection before libzmq stops reading it
 * (ZMQ_RCVHWM; each up to PROTO_MAX_SUBMIT_BYTES): what one connection
 * makes the aggregator hold is at most (AGG_RCVHWM + 1) x 16 MiB.
 */
#define AGG_RCVHWM 2
/* Another collector sent within this long: the budgets apply (see budget_allows). */
#define CONTENDED_MS 10000
/*
 * What an "ask" spends of its collector's byte budget at least: it is some
 * 60 bytes, but answering it may walk the units below the one asked about,
 * so a key cannot buy the aggregator's time with asks cheaper than with
 * batches.
 */
#define ASK_COST 65536

/*
 * A collector's byte budget, a token bucket: it fills at set.rate bytes a
 * second up to set.burst; each batch taken spends its size (the level may
 * go below zero, so a batch of any allowed size gets through).
 */
struct budget {
        double tokens;
        int64_t at_ms;    /* when tokens was last refilled */
        uint64_t dropped; /* batches left unanswered while over budget */
};

struct settings {
        const char *config_dir;
        const char *bind;
        const char *sink;
        const char *id;
        long uow_records;
        long uow_bytes;
        long flush_ms;
        long inflight;
        long resend_ms;
        long max_skew_s;
        long period_years_back, period_years_ahead;
        long rate, burst; /* a collector's byte budget: bytes a second, most saved up */
};

struct agg {
        struct settings set;
        struct config *cfg;
        struct rules *rules;  /* rules.csv: 审核 (none without the file) */
        struct rulecheck *rc; /* the rules applied to the state */
        struct forms *forms;  /* forms.csv: what a school's finish needs (NULL without the file) */
        struct review *rv;    /* the review round's states, rebuilt with the state */
        struct state *state;
        void *ctx;
        void *sink;   /* DEALER */
        void *router; /* collectors */
        int insecure;
        struct wire_curve server, client; /* CURVE: collectors' side, sink side */
        struct registry *reg;             /* admitted collectors (NULL when insecure) */
        struct zap *zap;
        int64_t last_insecure_warn_ms;
        struct uow *open;
        struct uow **inflight;
        size_t ninflight;
        uint64_t next_seq;
        uint64_t epoch; /* the sink's epoch for this session, from "ready" */
        int resync;
        int fenced;                    /* another session of our id took over: stop, exit 1 */
        struct batchlog *batches;      /* batches taken, to tell resends from reused ids */
        struct batchlog *actions_done; /* actions committed: a resend is acked, not judged again */
        /* counters for the periodic summary */
        uint64_t n_batches, n_records, n_rejected, n_changed, n_malformed, n_uows;
        int64_t last_summary_ms;
        int64_t last_sink_ms; /* last message from the sink (or first uow sent) */
        uint64_t n_shed;      /* batches left unanswered while the sink stalled */
        int64_t last_shed_log_ms;
        struct budget *budgets; /* one per registered collector (reg->c), NULL when insecure */
        int64_t last_defer_log_ms;
        /* The last two distinct collectors that sent (index in reg->c, -1: none) and when. */
        long recent[2];
        int64_t recent_ms[2];
        time_t period_day; /* the UTC day the period window was computed on */
};

static volatile sig_atomic_t terminating;

static void
on_signal(int sig)
{
        (void)sig;
        terminating = 1;
}

static void
usage(void)
{
        fprintf(
            stderr,
            "usage: edustat-aggregator [--config DIR] [--bind ENDPOINT] [--sink ENDPOINT] "
            "[--id NAME]\n"
            "Environment: EDUSTAT_CONFIG (./config), EDUSTAT_AGGREGATOR_BIND (tcp://*:5560),\n"
            "  EDUSTAT_SINK (tcp://127.0.0.1:5561), EDUSTAT_AGGREGATOR_ID (the name of its key at\n"
            "  the sink: \"aggregator\"; the root unit's code when EDUSTAT_INSECURE=1),\n"
            "  EDUSTAT_MAX_CLOCK_SKEW (300 seconds), EDUSTAT_PERIOD_YEARS_BACK (30),\n"
            "  EDUSTAT_PERIOD_YEARS_AHEAD (2),\n"
            "  EDUSTAT_UOW_RECORDS (100000), EDUSTAT_UOW_BYTES (8388608), EDUSTAT_FLUSH_MS (20),\n"
            "  EDUSTAT_INFLIGHT (2), EDUSTAT_COLLECTOR_RATE (33554432 bytes/s),\n"
            "  EDUSTAT_COLLECTOR_BURST (67108864 bytes),\n"
            "  EDUSTAT_RESEND_MS (10000), EDUSTAT_LOG_LEVEL (info|debug),\n"
            "  EDUSTAT_COLLECTORS ($EDUSTAT_CONFIG/collectors.csv), EDUSTAT_KEYS (./keys),\n"
            "  EDUSTAT_INSECURE (unset; 1 = plain text, development only)\n");
        exit(2);
}

static long
env_long(const char *name, long def, long min, long max)
{
        const char *v = getenv(name);
        long out;

        if (v == NULL || *v == '\0')
                return def;
        if (parse_long(v, min, max, &out) < 0)
                fatalx("%s=%s: want a whole number in %ld..%ld", name, v, min, max);
        return out;
}

static void
settings_load(struct settings *s, int argc, char **argv)
{
        static const struct option opts[] = {
            {"config", required_argument, NULL, 'c'}, {"bind", required_argument, NULL, 'b'},
            {"sink", required_argument, NULL, 's'},   {"id", required_argument, NULL, 'i'},
            {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
        };
        int ch;

        s->config_dir = env_or("EDUSTAT_CONFIG", "./config");
        s->bind = env_or("EDUSTAT_AGGREGATOR_BIND", "tcp://*:5560");
        s->sink = env_or("EDUSTAT_SINK", "tcp://127.0.0.1:5561");
        s->id = env_or("EDUSTAT_AGGREGATOR_ID", NULL);
        s->uow_records = env_long("EDUSTAT_UOW_RECORDS", 100000, 1, 1000000);
        /* Well under what the sink takes (PROTO_MAX_UOW_BYTES): one batch more, and the
         * aggregate rows, fit on top. */
        s->uow_bytes = env_long("EDUSTAT_UOW_BYTES", 8L << 20, 1L << 20, PROTO_MAX_UOW_BYTES / 4);
        s->flush_ms = env_long("EDUSTAT_FLUSH_MS", 20, 0, 60000);
        s->inflight = env_long("EDUSTAT_INFLIGHT", 2, 1, 64);
        s->resend_ms = env_long("EDUSTAT_RESEND_MS", 10000, 100, 3600000);
        s->max_skew_s = env_long("EDUSTAT_MAX_CLOCK_SKEW", 300, 0, 10L * 365 * 86400);
        s->period_years_back = env_long("EDUSTAT_PERIOD_YEARS_BACK", 30, 0, 100);
        s->period_years_ahead = env_long("EDUSTAT_PERIOD_YEARS_AHEAD", 2, 0, 50);
        s->rate = env_long("EDUSTAT_COLLECTOR_RATE", 32L << 20, 64L << 10, 1L << 30);
        /* At least one batch of the largest size must fit. */
        s->burst = env_long("EDUSTAT_COLLECTOR_BURST", 64L << 20, PROTO_MAX_SUBMIT_BYTES, 1L << 30);
        while ((ch = getopt_long(argc, argv, "c:b:s:i:h", opts, NULL)) != -1) {
                switch (ch) {
                case 'c':
                        s->config_dir = optarg;
                        break;
                case 'b':
                        s->bind = optarg;
                        break;
                case 's':
                        s->sink = optarg;
                        break;
                case 'i':
                        s->id = optarg;
                        break;
                default:
                        usage();
                }
        }
        if (optind != argc)
                usage();
}

/*
 * A fresh socket to the sink.  Closing the old one (linger 0) drops what it
 * still queued, so resends never pile copies up behind a sink that does not
 * read: at most the uows in flight are queued at any time.
 */
static void
sink_reconnect(struct agg *a)
{
        wire_close(&a->sink);
        if ((a->sink = wire_dealer_connect_curve(a->ctx, a->set.sink, PROTO_MAX_UOW_BYTES,
                                                 a->insecure ? NULL : &a->client)) == NULL)
                fatalx("cannot connect to the sink at %s", a->set.sink);
}

/*
 * What the last state row resolved to: rows come in the table's order,
 * which is mostly the order they were stored in, a unit's indicators at a
 * time, so most rows name the unit of the row before and the indicator
 * after its indicator.
 */
struct sync_memo {
        char unit[ORGTREE_CODE_MAX];
        size_t unit_len; /* 0: nothing remembered */
        int unit_index;
        int next_ind; /* the indicator after the last one found */
};

/* Apply one stored row from the sink's state stream. */
static void
sync_row(struct agg *a, const struct proto_row *r, struct sync_memo *m, uint64_t *skipped)
{
        const struct catalog *cat = a->cfg->cat;
        int unit, ind = -1, period;
        uint64_t mant;

        if (m->unit_len > 0 && m->unit_len == r->unit.len &&
            memcmp(m->unit, r->unit.p, r->unit.len) == 0) {
                unit = m->unit_index;
        } else {
                unit = orgtree_find(a->cfg->tree, r->unit.p, r->unit.len);
                m->unit_len = 0;
                if (unit >= 0 && r->unit.len <= sizeof(m->unit)) {
                        memcpy(m->unit, r->unit.p, r->unit.len);
                        m->unit_len = r->unit.len;
                        m->unit_index = unit;
                }
        }
        if ((size_t)m->next_ind < cat->n &&
            strlen(cat->ind[m->next_ind].code) == r->indicator.len &&
            memcmp(cat->ind[m->next_ind].code, r->indicator.p, r->indicator.len) == 0)
                ind = m->next_ind;
        else
                ind = catalog_find(cat, r->indicator.p, r->indicator.len);
        if (ind >= 0)
                m->next_ind = ind + 1;
        if (unit < 0 || ind < 0 || cat->ind[ind].kind == IND_RATIO ||
            !period_valid(r->period.p, r->period.len) ||
            decimal_parse(r->value.p, r->value.len, cat->ind[ind].scale, &mant) != DECIMAL_OK ||
            (period = state_period_intern(a->state, r->period.p, r->period.len)) < 0) {
                /* A unit or indicator no longer in the config: keep it out of the rollup. */
                (*skipped)++;
                return;
        }
        state_apply_by(a->state, unit, period, ind, mant, r->version,
                       state_collector_intern(a->state, r->collector.p, r->collector.len), NULL);
}

/*
 * Rebuild the state from the sink: say hello, apply every stored row, and
 * learn the last committed sequence.  Retries on a fresh socket when the
 * sink goes quiet.  Returns 0, or -1 when asked to terminate.
 */
static int
sync_state(struct agg *a)
{
        for (;;) {
                msgpack_sbuffer sb;
                msgpack_packer pk;
                uint64_t nrows = 0, skipped = 0, last_seq = 0, expect = 0, epoch = 0;
                uint64_t expect_reviews = 0, expect_notes = 0;
                int64_t last_msg = now_ms(), started = now_ms();
                struct sync_memo memo;
                int done = 0;

                memset(&memo, 0, sizeof(memo));

                uint64_t nreviews = 0, nnotes = 0, skipped_reviews = 0, skipped_notes = 0;

                state_destroy(&a->state);
                a->state = state_new(a->cfg);
                review_clear(a->rv);
                sink_reconnect(a);
                msgpack_sbuffer_init(&sb);
                msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
                proto_hello_pack(&pk, a->set.id);
                /* Unsent, the sink stays quiet and the loop below says hello again. */
                if (wire_send(a->sink, sb.data, sb.size, 0) < 0)
                        log_warnx("hello to the sink at %s not sent: %s; trying again in %d s",
                                  a->set.sink, zmq_strerror(errno), SYNC_STALL_MS / 1000);
                msgpack_sbuffer_destroy(&sb);
                log_info("loading state from the sink at %s", a->set.sink);

                while (!done && !terminating && now_ms() - last_msg < SYNC_STALL_MS) {
                        zmq_pollitem_t it = {a->sink, 0, ZMQ_POLLIN, 0};
                        zmq_msg_t msg;
                        char err[256];

                        if (zmq_poll(&it, 1, 1000) <= 0)
                                continue;
                        zmq_msg_init(&msg);
                        if (wire_recv(a->sink, &msg, ZMQ_DONTWAIT) < 0) {
                                zmq_msg_close(&msg);
                                continue;
                        }
                        last_msg = now_ms();
                        const void *buf = zmq_msg_data(&msg);
                        size_t len = zmq_msg_size(&msg);
                        struct proto_row *rows = NULL;
                        struct proto_review_row *rvs = NULL;
                        struct proto_note_row *nts = NULL;
                        enum proto_type type;
                        struct pstr why;
                        uint64_t seq;
                        uint32_t n = 0;

                        switch (proto_peek(buf, len)) {
                        case PROTO_ROWS:
                                if (proto_rows_decode(buf, len, &rows, &n, err, sizeof(err)) < 0) {
                                        log_warnx("bad state rows from the sink: %s", err);
                                        break;
                                }
                                for (uint32_t i = 0; i < n; i++)
                                        sync_row(a, &rows[i], &memo, &skipped);
                                nrows += n;
                                free(rows);
                                break;
                        case PROTO_REVIEWS:
                                if (proto_reviews_decode(buf, len, &rvs, &n, err, sizeof(err)) <
                                    0) {
                                        log_warnx("bad review rows from the sink: %s", err);
                                        break;
                                }
                                for (uint32_t i = 0; i < n; i++) {
                                        if (review_load(a->rv, a->state, &rvs[i], err,
                                                        sizeof(err)) < 0 &&
                                            skipped_reviews++ < 10)
                                                log_warnx("review row left out: %s", err);
                                }
                                nreviews += n;
                                free(rvs);
                                break;
                        case PROTO_NOTES:
                                if (proto_notes_decode(buf, len, &nts, &n, err, sizeof(err)) < 0) {
                                        log_warnx("bad note rows from the sink: %s", err);
                                        break;
                                }
                                for (uint32_t i = 0; i < n; i++)
                                        if (review_note_load(a->rv, a->state, &nts[i]) < 0)
                                                skipped_notes++;
                                nnotes += n;
                                free(nts);
                                break;
                        case PROTO_READY:
                                if (proto_ready_decode(buf, len, &last_seq, &expect, &epoch,
                                                       &expect_reviews, &expect_notes, err,
                                                       sizeof(err)) < 0) {
                                        log_warnx("bad ready from the sink: %s", err);
                                        break;
                                }
                                done = 1;
                                break;
                        case PROTO_FAIL:
                                /* seq 0: the sink refused the hello itself (our id). */
                                if (proto_result_decode(buf, len, &type, &seq, &why, err,
                                                        sizeof(err)) == 0 &&
                                    seq == 0)
                                        fatalx("the sink at %s refused this aggregator: %.*s",
                                               a->set.sink, (int)why.len, why.p);
                                log_debug("ignoring a message during state load");
                                break;
                        default:
                                /* an ok/fail left over from before: not ours to act on */
                                log_debug("ignoring a message during state load");
                        }
                        zmq_msg_close(&msg);
                }
                if (terminating)
                        return -1;
                if (!done) {
                        log_warnx("the sink at %s did not finish sending state within %d s; "
                                  "retrying",
                                  a->set.sink, SYNC_STALL_MS / 1000);
                        continue;
                }
                if (expect != nrows || expect_reviews != nreviews || expect_notes != nnotes) {
                        log_warnx("state stream incomplete: %llu of %llu rows, %llu of %llu "
                                  "reviews, %llu of %llu notes; retrying",
                                  (unsigned long long)nrows, (unsigned long long)expect,
                                  (unsigned long long)nreviews, (unsigned long long)expect_reviews,
                                  (unsigned long long)nnotes, (unsigned long long)expect_notes);
                        continue;
                }
                if (skipped_reviews || skipped_notes)
                        log_warnx("%llu review rows and %llu notes name units, periods, states or "
                                  "rules no longer in the config; they are left out",
                                  (unsigned long long)skipped_reviews,
                                  (unsigned long long)skipped_notes);
                if (skipped)
                        log_warnx("%llu stored values name units or indicators no longer in the "
                                  "config; they are left out of the rollup",
                                  (unsigned long long)skipped);
                a->next_seq = last_seq + 1;
                a->epoch = epoch;
                /* Rewrite every aggregate once: heals rows left stale by a config change. */
                state_dirty_all(a->state);
                /* And every rule's outcome: the rules may have changed since. */
                rulecheck_rebuild(a->rc, a->state);
                log_info("state loaded: %zu values, %zu aggregates, %zu rule violations, %zu "
                         "reviews (%zu submitted or approved), %zu notes in %lld ms; next uow "
                         "%llu, epoch %llu",
                         state_nvalues(a->state), state_naggs(a->state), rulecheck_count(a->rc),
                         review_count(a->rv), review_nlocked(a->rv), review_nnotes(a->rv),
                         (long long)(now_ms() - started), (unsigned long long)a->next_seq,
                         (unsigned long long)a->epoch);
                return 0;
        }
}

static void
reply_error(struct agg *a, const struct wire_peer *peer, struct pstr batch_id, const char *why)
{
        msgpack_sbuffer sb;
        msgpack_packer pk;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_error_pack(&pk, batch_id, why);
        /* Unanswered, the collector keeps the batch in its outbox and sends it again. */
        if (wire_router_send(a->router, peer, sb.data, sb.size) < 0)
                log_warnx("could not answer batch %.*s (%s): %s", (int)batch_id.len, batch_id.p,
                          why, zmq_strerror(errno));
        msgpack_sbuffer_destroy(&sb);
}

/* The batch of this collector with this id if it waits for a commit, else NULL. */
static struct uow_batch *
pending_batch(struct agg *a, struct pstr collector, struct pstr batch_id)
{
        struct uow_batch *b = uow_batch_find(a->open, collector, batch_id);

        for (size_t i = 0; b == NULL && i < a->ninflight; i++)
                b = uow_batch_find(a->inflight[i], collector, batch_id);
        return b;
}

/* Refuse a batch whose id this collector used before for other records. */
static void
refuse_reused_id(struct agg *a, const struct wire_peer *peer, struct pstr collector,
                 struct pstr batch_id)
{
        char why[256];

        a->n_malformed++;
        strlcpyf(why, sizeof(why),
                 "batch id %.*s was used before with other content; "
                 "each batch needs an id of its own",
                 (int)batch_id.len, batch_id.p);
        log_warnx("collector %.*s: %s", (int)collector.len, collector.p, why);
        reply_error(a, peer, batch_id, why);
}

/*
 * The collector a message came from, into *who: with CURVE, the name the
 * ZAP handler bound to its key (User-Id); it never comes from the message
 * itself.  *who is NULL when links are plain text.  -1, counted and
 * logged, when the connection has no registered name: ZAP admitted it,
 * so this cannot happen, and the message is dropped rather than guessed at.
 */
static int
sender(struct agg *a, zmq_msg_t *msg, const struct collector **who)
{
        const char *uid;

        *who = NULL;
        if (a->insecure)
                return 0;
        uid = zmq_msg_gets(msg, "User-Id");
        if (uid == NULL || (*who = registry_find_name(a->reg, uid, strlen(uid))) == NULL) {
                a->n_malformed++;
                log_warnx("message from a connection without a registered User-Id dropped");
                return -1;
        }
        return 0;
}

static void
handle_submit(struct agg *a, const struct wire_peer *peer, zmq_msg_t *msg)
{
        const void *buf = zmq_msg_data(msg);
        size_t len = zmq_msg_size(msg);
        struct proto_submit sub;
        char err[256];
        struct uow_batch *b;
        const struct collector *who;
        struct pstr collector;
        uint64_t digest, key;

        if (sender(a, msg, &who) < 0)
                return;
        if (proto_submit_decode(buf, len, &sub, err, sizeof(err)) < 0) {
                a->n_malformed++;
                log_warnx("malformed submit (%zu bytes) dropped: %s", len, err);
                reply_error(a, peer, sub.batch_id, err);
                return;
        }
        collector = who ? pstr_of(who->name) : sub.collector;
        if (sub.dry_run) {
                /* Judged against the state as it is now, stored nowhere, answered at once. */
                struct uow_batch *c =
                    uow_batch_check(a->state, a->cfg, a->rc, a->rv, who, collector, &sub, peer,
                                    wallclock_us(), a->set.max_skew_s);

                uow_batch_reply(c, a->router, PROTO_CHECKED);
                log_debug("dry run %s from %.*s: %u records, %zu rejected, %zu warnings",
                          c->batch_id, (int)collector.len, collector.p, sub.nrec, c->nrej,
                          c->nwarn);
                uow_batch_free(&c);
                proto_submit_free(&sub);
                return;
        }
        /* A resend carries the very bytes its outbox stored. */
        digest = hash_block(buf, len);
        key = uow_batch_key(collector, sub.batch_id);
        if ((b = pending_batch(a, collector, sub.batch_id)) != NULL) {
                if (b->digest != digest) {
                        refuse_reused_id(a, peer, collector, sub.batch_id);
                } else {
                        /* A resend of a batch not yet committed: answer it when it is. */
                        b->peer = *peer;
                }
                proto_submit_free(&sub);
                return;
        }
        if (batchlog_check(a->batches, key, digest) == BATCHLOG_OTHER) {
                refuse_reused_id(a, peer, collector, sub.batch_id);
                proto_submit_free(&sub);
                return;
        }
        b = uow_batch_take(a->open, a->state, a->cfg, a->rc, a->rv, who, collector, &sub, peer,
                           digest, wallclock_us(), a->set.max_skew_s);
        a->n_rejected += b->nrej;
        a->n_batches++;
        if (b->warn_more > 0)
                log_info("batch %s from %s: %zu more warnings than the ack lists (%d)", b->batch_id,
                         b->collector, b->warn_more, UOW_WARNINGS_MAX);
        a->n_records += sub.nrec;
        a->n_changed += b->changed;
        if (a->open->opened_ms == 0)
                a->open->opened_ms = now_ms();
        log_debug("batch %s from %s (%s): %u records, %u accepted, %u changed, %zu stale, "
                  "%zu rejected",
                  b->batch_id, b->collector, b->source, sub.nrec, b->accepted, b->changed,
                  b->nstale, b->nrej);
        proto_submit_free(&sub);
}

/*
 * Why explain action x by who may not be taken, into why; 0 when it may.
 * Its unit, period and rule are resolved into *unit, *period and *rule.
 */
static int
explain_refused(struct agg *a, const struct collector *who, const struct proto_action *x, int *unit,
                int *period, int *rule, char *why, size_t whylen)
{
        const struct review_entry *e;
        const struct rule *r;
        char *u = ingest_printable(x->unit.p, x->unit.len, 64);
        char *p = ingest_printable(x->period.p, x->period.len, 32);
        int rc = -1;

        rulecheck_settle(a->rc, a->state); /* the rule may be a district's */
        if (x->kind.len != 7 || memcmp(x->kind.p, "explain", 7) != 0) {
                char *k = ingest_printable(x->kind.p, x->kind.len, 32);

                strlcpyf(why, whylen,
                         "unknown action \"%s\" (this server knows explain, finish, approve and "
                         "return)",
                         k);
                free(k);
        } else if ((*unit = orgtree_find(a->cfg->tree, x->unit.p, x->unit.len)) < 0) {
                strlcpyf(why, whylen, "unknown unit \"%s\"", u);
        } else if (who != NULL && !registry_allows(who, a->cfg->tree, *unit)) {
                strlcpyf(why, whylen, "not authorized for unit %s", u);
        } else if (x->rule.p == NULL ||
                   (r = rules_find(a->rules, x->rule.p, x->rule.len)) == NULL) {
                char *c = ingest_printable(x->rule.p ? x->rule.p : "", x->rule.len, 64);

                strlcpyf(why, whylen, "unknown rule \"%s\" (rules.csv has %zu rules)", c,
                         a->rules->n);
                free(c);
        } else if (x->text.p == NULL || x->text.len == 0) {
                strlcpyf(why, whylen, "an explanation needs a text");
        } else if ((*period = state_period_find(a->state, x->period.p, x->period.len)) >= 0 &&
                   (e = review_get(a->rv, *unit, *period)) != NULL && e->state != REVIEW_OPEN) {
                /* The note would change a closed return. */
                strlcpyf(why, whylen,
                         "cannot explain rule %s for unit %s period %s: it is %s; ask the office "
                         "above to return it first",
                         r->code, u, p, review_state_name(e->state));
        } else if (*period < 0 ||
                   !rulecheck_failing(a->rc, *unit, *period, (int)(r - a->rules->rule))) {
                strlcpyf(why, whylen,
                         "rule %s does not fail for unit %s period %s: there is nothing to "
                         "explain",
                         r->code, u, p);
        } else {
                *rule = (int)(r - a->rules->rule);
                rc = 0;
        }
        free(u);
        free(p);
        return rc;
}

/*
 * A review transition (finish, approve, return) by collector: review_act
 * judges and applies it; the transitions it made (the action, then its
 * reopens) go into the open uow as actions stamped with the time taken.
 * Returns 0, or -1 with the refusal in why.
 */
static int
take_review(struct agg *a, const struct wire_peer *peer, const struct collector *who,
            struct pstr collector, const struct proto_action *x, enum review_kind k,
            uint64_t digest, char *why, size_t whylen)
{
        struct review_changes ch = {NULL, 0, 0};
        uint64_t at = (uint64_t)wallclock_us();
        char *by = ingest_text(collector.p, collector.len);
        uint32_t bi;

        rulecheck_settle(a->rc, a->state); /* blockers read the districts' rows too */
        if (review_act(a->rv, a->state, a->rc, who, by, k, x->unit, x->period, x->text, at, &ch,
                       why, whylen) < 0) {
                free(by);
                return -1;
        }
        bi = uow_batch_add(a->open, peer, x->batch_id, collector, x->kind, digest);
        a->open->batches[bi].accepted = 1;
        for (size_t i = 0; i < ch.n; i++) {
                struct proto_action t = {
                    .kind = pstr_of(review_kind_name(ch.c[i].kind)),
                    .unit = pstr_of(a->cfg->tree->u[ch.c[i].unit].code),
                    .period = x->period,
                    .rule = {NULL, 0},
                    .text = pstr_of(ch.c[i].text),
                    .at = at,
                };

                uow_action_add(a->open, bi, &t);
                log_info("unit %s period %.*s: %s by %s (%s -> %s)", t.unit.p, (int)x->period.len,
                         x->period.p, t.kind.p, by, review_state_name(ch.c[i].from),
                         review_state_name(ch.c[i].to));
        }
        if (ch.n == 0)
                log_info("%.*s of unit %.*s period %.*s by %s: in place already (a resend)",
                         (int)x->kind.len, x->kind.p, (int)x->unit.len, x->unit.p,
                         (int)x->period.len, x->period.p, by);
        review_changes_free(&ch);
        free(by);
        return 0;
}

/*
 * An action: checked and authorized like a value of its unit, carried in
 * the open uow and acknowledged after its commit.  A resend is treated as
 * a submit's is.
 */
static void
handle_action(struct agg *a, const struct wire_peer *peer, zmq_msg_t *msg)
{
        const void *buf = zmq_msg_data(msg);
        size_t len = zmq_msg_size(msg);
        struct proto_action x;
        const struct collector *who;
        struct uow_batch *b;
        struct pstr collector;
        char err[REVIEW_WHY_MAX];
        enum review_kind kind;
        uint64_t digest;
        uint32_t bi;
        int unit, period, rule;

        if (sender(a, msg, &who) < 0)
                return;
        if (proto_action_decode(buf, len, &x, err, sizeof(err)) < 0) {
                a->n_malformed++;
                log_warnx("malformed action (%zu bytes) dropped: %s", len, err);
                reply_error(a, peer, x.batch_id, err);
                return;
        }
        collector = who ? pstr_of(who->name) : x.collector;
        digest = hash_block(buf, len);
        if ((b = pending_batch(a, collector, x.batch_id)) != NULL) {
                if (b->digest != digest)
                        refuse_reused_id(a, peer, collector, x.batch_id);
                else
                        b->peer = *peer;
                return;
        }
        if (batchlog_check(a->batches, uow_batch_key(collector, x.batch_id), digest) ==
            BATCHLOG_OTHER) {
                refuse_reused_id(a, peer, collector, x.batch_id);
                return;
        }
        if (batchlog_has(a->actions_done, uow_batch_key(collector, x.batch_id), digest)) {
                /* Committed already, its ack lost: acknowledged after what is in flight. */
                bi = uow_batch_add(a->open, peer, x.batch_id, collector, x.kind, digest);
                a->open->batches[bi].accepted = 1;
                if (a->open->opened_ms == 0)
                        a->open->opened_ms = now_ms();
                return;
        }
        if (review_kind_parse(x.kind, &kind) == 0) {
                if (take_review(a, peer, who, collector, &x, kind, digest, err, sizeof(err)) < 0) {
                        log_info("action from %.*s refused: %s", (int)collector.len, collector.p,
                                 err);
                        reply_error(a, peer, x.batch_id, err);
                        return;
                }
                if (a->open->opened_ms == 0)
                        a->open->opened_ms = now_ms();
                a->n_batches++;
                return;
        }
        if (explain_refused(a, who, &x, &unit, &period, &rule, err, sizeof(err)) < 0) {
                log_info("action from %.*s refused: %s", (int)collector.len, collector.p, err);
                reply_error(a, peer, x.batch_id, err);
                return;
        }
        bi = uow_batch_add(a->open, peer, x.batch_id, collector, x.kind, digest);
        a->open->batches[bi].accepted = 1;
        x.at = (uint64_t)wallclock_us();
        uow_action_add(a->open, bi, &x);
        /* A finish asks for it from now on. */
        review_note_add(a->rv, unit, period, rule);
        if (a->open->opened_ms == 0)
                a->open->opened_ms = now_ms();
        a->n_batches++;
        log_debug("action %s from %.*s for unit %.*s period %.*s", a->open->batches[bi].batch_id,
                  (int)collector.len, collector.p, (int)x.unit.len, x.unit.p, (int)x.period.len,
                  x.period.p);
}

/*
 * "ask": the review state of a unit and period, answered at once with
 * "told" (or "error"), authorized like a value of the unit.
 */
static void
handle_ask(struct agg *a, const struct wire_peer *peer, zmq_msg_t *msg)
{
        const void *buf = zmq_msg_data(msg);
        size_t len = zmq_msg_size(msg);
        const struct review_entry *e;
        const struct collector *who;
        struct proto_ask q;
        struct proto_told t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[512], **b = NULL;
        size_t nb = 0;
        int unit, period;

        if (sender(a, msg, &who) < 0)
                return;
        if (proto_ask_decode(buf, len, &q, err, sizeof(err)) < 0) {
                a->n_malformed++;
                log_warnx("malformed ask (%zu bytes) dropped: %s", len, err);
                reply_error(a, peer, q.batch_id, err);
                return;
        }
        if (review_resolve(a->rv, a->state, who, q.unit, q.period, &unit, &period, err,
                           sizeof(err)) < 0) {
                reply_error(a, peer, q.batch_id, err);
                return;
        }
        e = review_get(a->rv, unit, period);
        memset(&t, 0, sizeof(t));
        t.batch_id = q.batch_id;
        t.state = pstr_of(review_state_name(e ? e->state : REVIEW_OPEN));
        if (e != NULL) {
                t.by = pstr_of(e->by);
                t.at = e->at;
                t.comment = pstr_of(e->comment);
        }
        if (e == NULL || e->state == REVIEW_OPEN) {
                rulecheck_settle(a->rc, a->state);
                nb = review_blockers(a->rv, a->state, a->rc, unit, period, &b);
        }
        t.nblockers = (uint32_t)nb;
        t.blockers = nb ? xreallocarray(NULL, nb, sizeof(*t.blockers)) : NULL;
        for (size_t i = 0; i < nb; i++)
                t.blockers[i] = pstr_of(b[i]);
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_told_pack(&pk, &t);
        if (wire_router_send(a->router, peer, sb.data, sb.size) < 0)
                log_warnx("could not answer ask %.*s: %s", (int)q.batch_id.len, q.batch_id.p,
                          zmq_strerror(errno));
        msgpack_sbuffer_destroy(&sb);
        free(t.blockers);
        review_blockers_free(b, nb);
}

/* Answer every batch of u with an error: none of them is committed. */
static void
refuse_batches(struct agg *a, struct uow *u, const char *why)
{
        for (size_t i = 0; i < u->nbatches; i++) {
                struct uow_batch *b = &u->batches[i];

                reply_error(a, &b->peer, pstr_of(b->batch_id), why);
        }
}

/*
 * 1 when the open uow is full but holds a review action while uows are in
 * flight: flush keeps it until they commit, and nothing more is read into
 * it meanwhile, so it stays within the limits the sink takes.
 */
static int
open_held(const struct agg *a)
{
        return a->open->nactions > 0 && a->ninflight > 0 &&
               uow_full(a->open, (size_t)a->set.uow_records, (size_t)a->set.uow_bytes);
}

/* Send the open uow to the sink, or ack its batches when it changed nothing. */
static void
flush(struct agg *a)
{
        int rules_dirty;

        rulecheck_settle(a->rc, a->state);
        rules_dirty = rulecheck_dirty_count(a->rc) > 0 || rulecheck_full(a->rc);

        if (a->open->nbatches == 0 && !state_dirty(a->state) && !rules_dirty)
                return;
        if (a->open->nchanges == 0 && a->open->nrejects == 0 && a->open->nactions == 0 &&
            !state_dirty(a->state) && !rules_dirty) {
                /* Nothing to write: the batches are committed once everything before is. */
                if (a->ninflight > 0) {
                        uow_batches_move(a->inflight[a->ninflight - 1], a->open);
                } else {
                        uow_ack(a->open, a->router);
                        uint64_t seq = a->open->seq;
                        uow_destroy(&a->open);
                        a->open = uow_new(seq);
                }
                a->open->opened_ms = 0;
                return;
        }
        if (a->ninflight >= (size_t)a->set.inflight)
                return;
        /*
         * A finish, approve or return was judged on values and states that
         * the uows in flight carry: it goes out only once they committed.  If
         * one is refused, the state is rebuilt, this uow is dropped with it,
         * and the action is judged again when its collector resends it.
         */
        if (a->open->nactions > 0 && a->ninflight > 0)
                return;
        uow_encode(a->open, a->state, a->cfg, a->rc, a->set.id, a->epoch);
        if (a->open->wire.size > PROTO_MAX_UOW_BYTES) {
                /*
                 * The flush limits keep a uow far below what the sink takes,
                 * so this is a bug; but resending a uow the sink drops would
                 * stall every collector for good.  Refuse its batches, loudly,
                 * and rebuild the state they were applied to.
                 */
                uint64_t seq = a->open->seq;
                char why[512];

                strlcpyf(why, sizeof(why),
                         "refused by the aggregator: the unit of work holding this batch grew to "
                         "%zu bytes, more than the %d MiB the sink takes; nothing of it was "
                         "stored: submit the file again, split into smaller files",
                         a->open->wire.size, PROTO_MAX_UOW_BYTES >> 20);
                log_warnx("uow %llu not sent (%zu batches, %zu bytes): %s", (unsigned long long)seq,
                          a->open->nbatches, a->open->wire.size, why);
                for (size_t i = 0; i < a->open->nbatches && i < 20; i++)
                        log_warnx("uow %llu: batch %s of collector %s (%s) refused",
                                  (unsigned long long)seq, a->open->batches[i].batch_id,
                                  a->open->batches[i].collector, a->open->batches[i].source);
                if (a->open->nbatches > 20)
                        log_warnx("uow %llu: and %zu batches more refused", (unsigned long long)seq,
                                  a->open->nbatches - 20);
                refuse_batches(a, a->open, why);
                uow_destroy(&a->open);
                a->open = uow_new(seq);
                a->resync = 1;
                return;
        }
        /* Unsent, it stays in flight and maybe_resend sends it again. */
        if (wire_send(a->sink, a->open->wire.data, a->open->wire.size, 0) < 0)
                log_warnx("uow %llu not sent to the sink: %s; resent after %ld ms",
                          (unsigned long long)a->open->seq, zmq_strerror(errno), a->set.resend_ms);
        a->open->sent_ms = now_ms();
        if (a->ninflight == 0)
                a->last_sink_ms = a->open->sent_ms; /* the wait for an answer starts */
        log_debug("uow %llu sent: %zu bytes, %zu batches, %zu aggregates",
                  (unsigned long long)a->open->seq, a->open->wire.size, a->open->nbatches,
                  a->open->naggs);
        a->inflight[a->ninflight++] = a->open;
        a->open = uow_new(++a->next_seq);
}

static void
pop_inflight(struct agg *a)
{
        uow_destroy(&a->inflight[0]);
        memmove(a->inflight, a->inflight + 1, (a->ninflight - 1) * sizeof(*a->inflight));
        a->ninflight--;
}

static void
handle_sink(struct agg *a, const void *buf, size_t len)
{
        enum proto_type type;
        uint64_t seq;
        struct pstr message;
        char err[256];

        a->last_sink_ms = now_ms();
        if (proto_result_decode(buf, len, &type, &seq, &message, err, sizeof(err)) < 0) {
                log_warnx("unexpected message from the sink dropped: %s", err);
                return;
        }
        if (type == PROTO_FENCED) {
                /*
                 * Another process said hello with our id since our own hello:
                 * it holds the current epoch and serves from PostgreSQL's
                 * state.  Nothing of ours in flight was applied, and none of
                 * it was acknowledged: the collectors resend to whoever
                 * serves them next.  Stop at once.
                 */
                log_warnx("uow %llu fenced: %.*s; stopping (the batches waiting here were not "
                          "acknowledged; their collectors resend them)",
                          (unsigned long long)seq, (int)message.len, message.p);
                a->fenced = 1;
                terminating = 1;
                return;
        }
        if (a->ninflight == 0 || seq != a->inflight[0]->seq) {
                /* the answer to a resend of something already acknowledged */
                log_debug("late answer for uow %llu ignored", (unsigned long long)seq);
                return;
        }
        if (message.p == NULL) {
                struct uow *u = a->inflight[0];

                a->n_uows++;
                for (size_t i = 0; i < u->nactions; i++)
                        batchlog_check(a->actions_done, u->batches[u->actions[i].batch].id_hash,
                                       u->batches[u->actions[i].batch].digest);
                if (!a->inflight[0]->noack)
                        uow_ack(a->inflight[0], a->router);
                pop_inflight(a);
                return;
        }
        /*
         * The sink refused the uow: PostgreSQL did (the sink stored its
         * records in `rejected`), or the sink's identity check did.  The
         * message says which, in full.  Our memory now holds values
         * PostgreSQL does not, so answer the batches and rebuild from the
         * sink.
         */
        char *m = ingest_text(message.p, message.len);

        log_warnx("uow %llu %s; reloading state", (unsigned long long)seq, m);
        refuse_batches(a, a->inflight[0], m);
        /*
         * The uows sent after it were judged against its values too (a
         * record found unchanged or stale because of them): they may commit,
         * but their batches go unanswered, and the collectors resend them to
         * the rebuilt state.
         */
        for (size_t i = 1; i < a->ninflight; i++)
                a->inflight[i]->noack = 1;
        free(m);
        pop_inflight(a);
        a->resync = 1;
}

/* Resend every uow in flight, oldest first, when the oldest waited too long. */
static void
maybe_resend(struct agg *a)
{
        int64_t now = now_ms();

        if (a->ninflight == 0 || now - a->inflight[0]->sent_ms < a->set.resend_ms)
                return;
        log_warnx("no answer from the sink for uow %llu in %ld ms; resending %zu uow(s)",
                  (unsigned long long)a->inflight[0]->seq, a->set.resend_ms, a->ninflight);
        sink_reconnect(a);
        for (size_t i = 0; i < a->ninflight; i++) {
                if (wire_send(a->sink, a->inflight[i]->wire.data, a->inflight[i]->wire.size, 0) < 0)
                        log_warnx("uow %llu not resent to the sink: %s; trying again in %ld ms",
                                  (unsigned long long)a->inflight[i]->seq, zmq_strerror(errno),
                                  a->set.resend_ms);
                a->inflight[i]->sent_ms = now;
        }
}

static void
summary(struct agg *a)
{
        int64_t now = now_ms();

        if (a->insecure && now - a->last_insecure_warn_ms >= 60000) {
                security_warn_insecure("edustat-aggregator");
                a->last_insecure_warn_ms = now;
        }

        if (now - a->last_summary_ms < 10000)
                return;
        a->last_summary_ms = now;
        if (a->n_batches == 0 && a->n_uows == 0)
                return;
        log_info("%llu batches, %llu records (%llu changed, %llu rejected), %llu uows committed, "
                 "%llu malformed; %zu values stored, %zu in flight",
                 (unsigned long long)a->n_batches, (unsigned long long)a->n_records,
                 (unsigned long long)a->n_changed, (unsigned long long)a->n_rejected,
                 (unsigned long long)a->n_uows, (unsigned long long)a->n_malformed,
                 state_nvalues(a->state), a->ninflight);
}

/*
 * Periods are a shared table: without periods.csv, take only years near
 * today's.  Called at start and on every turn of the loop; it does the
 * work only when the UTC day changed, so a long-running aggregator moves
 * its window at the new year.
 */
static void
period_window_update(struct agg *a)
{
        time_t now = time(NULL);
        struct tm tm;
        int min, max;

        if (now / 86400 == a->period_day)
                return;
        a->period_day = now / 86400;
        if (gmtime_r(&now, &tm) == NULL)
                fatal("gmtime_r");
        min = tm.tm_year + 1900 - (int)a->set.period_years_back;
        max = tm.tm_year + 1900 + (int)a->set.period_years_ahead;
        if (a->cfg->period_year_max != 0 &&
            (min != a->cfg->period_year_min || max != a->cfg->period_year_max))
                log_info("new records may now name periods of %d to %d", min, max);
        a->cfg->period_year_min = min;
        a->cfg->period_year_max = max;
}

/* ZAP: admit a collector key listed in collectors.csv, under its name. */
static int
admit_collector(void *arg, const uint8_t key[32], char *user, size_t len)
{
        const struct collector *c = registry_find_key(arg, key);

        if (c == NULL)
                return 0;
        strlcpyf(user, len, "%s", c->name);
        return 1;
}

/*
 * Whether the open uow's flush timer counts now.  It always does when the
 * sink is idle (nothing in flight) or when the uow has nothing to write
 * (its batches only wait for the acks of those in flight).  While the sink
 * is busy, changes gather in the open uow until the sink answers or the uow
 * is full: group commit.  Under load that makes fewer, larger uows, and the
 * aggregate rows every uow rewrites (the city's, the province's) are
 * written once per commit instead of once per flush interval.
 */
static int
flush_timer_counts(const struct agg *a)
{
        return a->ninflight == 0 || (a->open->nchanges == 0 && a->open->nrejects == 0 &&
                                     a->open->nactions == 0 && !state_dirty(a->state));
}

/* The open uow is due: full, or its flush timer counts and ran out. */
static int
flush_due(const struct agg *a)
{
        if (uow_full(a->open, (size_t)a->set.uow_records, (size_t)a->set.uow_bytes))
                return 1;
        return (a->open->opened_ms || state_dirty(a->state)) && flush_timer_counts(a) &&
               now_ms() >= a->open->opened_ms + a->set.flush_ms;
}

static long
poll_timeout(const struct agg *a)
{
        int64_t now = now_ms(), t = 1000;

        if ((a->open->opened_ms || state_dirty(a->state)) && flush_timer_counts(a))
                t = a->open->opened_ms + a->set.flush_ms - now;
        if (a->ninflight) {
                int64_t r = a->inflight[0]->sent_ms + a->set.resend_ms - now;

                if (r < t)
                        t = r;
        }
        return t < 0 ? 0 : (t > 1000 ? 1000 : t);
}

/*
 * The sink has answered nothing for SHED_AFTER_MS while uows are in flight
 * (counted from when the first of them went out): it or PostgreSQL is down
 * or stuck.  No new work is taken then, whether the window is full or not
 * (with group commit it fills only with full uows).
 */
static int
sink_stalled(const struct agg *a)
{
        return a->ninflight > 0 && now_ms() - a->last_sink_ms >= SHED_AFTER_MS;
}

/*
 * While the sink is stalled, what collectors send is read and dropped
 * unanswered.  Left unread it would wait in ZeroMQ's queues, one per
 * connection and each collector retry a new connection, and the
 * aggregator's memory would grow for as long as the outage lasts.  A
 * dropped batch is safe in its collector's outbox, which resends it.
 */
static void
shed_one(struct agg *a)
{
        if (a->n_shed++ == 0 || now_ms() - a->last_shed_log_ms >= 10000) {
                log_warnx("the sink has answered nothing for %lld s: batches from collectors are "
                          "left unanswered (%llu so far); their outboxes resend them",
                          (long long)(now_ms() - a->last_sink_ms) / 1000,
                          (unsigned long long)a->n_shed);
                a->last_shed_log_ms = now_ms();
        }
}

/*
 * Whether a batch of len bytes from the registered collector c may be
 * taken now (and then spend its budget).  A collector over its budget is
 * held back only while another one has sent within CONTENDED_MS: alone,
 * it goes as fast as the aggregator and the sink go; beside others, it
 * gets set.rate bytes a second after its saved-up set.burst, and the rest
 * of its batches are left unanswered for its outbox to resend.  libzmq
 * reads the connections in turn, so the others' batches are not queued
 * behind its batches either.  Plain-text links have no keys and no
 * budgets.
 */
static int
budget_allows(struct agg *a, zmq_msg_t *msg, size_t len)
{
        const char *uid;
        const struct collector *c;
        struct budget *b;
        int64_t now = now_ms();
        long idx;

        if (a->budgets == NULL || (uid = zmq_msg_gets(msg, "User-Id")) == NULL ||
            (c = registry_find_name(a->reg, uid, strlen(uid))) == NULL)
                return 1; /* handle_submit refuses what has no registered name */
        idx = (long)(c - a->reg->c);
        b = &a->budgets[idx];
        b->tokens += (double)(now - b->at_ms) * (double)a->set.rate / 1000.0;
        if (b->tokens > (double)a->set.burst)
                b->tokens = (double)a->set.burst;
        b->at_ms = now;
        /* recent[0] is this collector from here on, recent[1] the last other one. */
        if (a->recent[0] != idx) {
                a->recent[1] = a->recent[0];
                a->recent_ms[1] = a->recent_ms[0];
                a->recent[0] = idx;
        }
        a->recent_ms[0] = now;
        if (b->tokens > 0 || a->recent[1] < 0 || now - a->recent_ms[1] >= CONTENDED_MS) {
                b->tokens -= (double)len;
                return 1;
        }
        if (b->dropped++ == 0 || now - a->last_defer_log_ms >= 10000) {
                log_warnx("collector %s sends faster than its share while others wait (%ld "
                          "bytes a second, EDUSTAT_COLLECTOR_RATE): %llu of its batches left "
                          "unanswered so far; its outbox resends them",
                          c->name, a->set.rate, (unsigned long long)b->dropped);
                a->last_defer_log_ms = now;
        }
        return 0;
}

/*
 * The one receive loop of the collectors' ROUTER: at most BURST messages,
 * then the sink gets a look.  While the sink is stalled (shed) everything
 * read is dropped; else a batch within its collector's budget is handled,
 * one over it is dropped (budget_allows).
 */
static void
receive(struct agg *a, int shed)
{
        for (int i = 0; i < BURST; i++) {
                struct wire_peer peer;
                enum proto_type kind;
                zmq_msg_t msg;
                size_t len;

                if (!shed && (a->ninflight >= (size_t)a->set.inflight || a->resync))
                        break;
                zmq_msg_init(&msg);
                if (wire_router_recv(a->router, &peer, &msg, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&msg);
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        continue;
                }
                len = zmq_msg_size(&msg);
                kind = proto_peek(zmq_msg_data(&msg), len);
                if (shed) {
                        shed_one(a);
                } else if (!budget_allows(a, &msg,
                                          kind == PROTO_ASK && len < ASK_COST ? ASK_COST : len)) {
                        /* Dropped unanswered: its outbox resends it. */
                } else {
                        switch (kind) {
                        case PROTO_SUBMIT:
                        case PROTO_CHECK:
                                handle_submit(a, &peer, &msg);
                                break;
                        case PROTO_ACTION:
                                handle_action(a, &peer, &msg);
                                break;
                        case PROTO_ASK:
                                handle_ask(a, &peer, &msg);
                                break;
                        default:
                                a->n_malformed++;
                                log_warnx("message of %zu bytes that is not a submit, check, "
                                          "action or ask dropped",
                                          len);
                                reply_error(a, &peer, pstr_of(NULL),
                                            "not a submit, check, action or ask message (see "
                                            "docs/PROTOCOL.md)");
                        }
                }
                zmq_msg_close(&msg);
                if (!shed &&
                    uow_full(a->open, (size_t)a->set.uow_records, (size_t)a->set.uow_bytes)) {
                        flush(a);
                        if (open_held(a))
                                break;
                }
        }
}

static void
loop(struct agg *a)
{
        while (!terminating) {
                int shed = !a->resync && sink_stalled(a);
                int can_read =
                    a->ninflight < (size_t)a->set.inflight && !a->resync && !shed && !open_held(a);
                zmq_pollitem_t items[2] = {
                    {a->sink, 0, ZMQ_POLLIN, 0},
                    {a->router, 0, can_read || shed ? ZMQ_POLLIN : 0, 0},
                };

                if (zmq_poll(items, 2, poll_timeout(a)) < 0 && errno != EINTR)
                        fatal("zmq_poll");

                for (;;) {
                        zmq_msg_t msg;

                        zmq_msg_init(&msg);
                        if (wire_recv(a->sink, &msg, ZMQ_DONTWAIT) < 0) {
                                zmq_msg_close(&msg);
                                break;
                        }
                        handle_sink(a, zmq_msg_data(&msg), zmq_msg_size(&msg));
                        zmq_msg_close(&msg);
                }
                if (shed || can_read)
                        receive(a, shed);
                if (!a->resync && flush_due(a))
                        flush(a);
                maybe_resend(a);
                period_window_update(a);
                if (a->resync && a->ninflight == 0) {
                        /*
                         * Batches in the open uow were applied to a state we
                         * are about to drop: leave them unacknowledged and
                         * the collectors resend them.
                         */
                        uow_destroy(&a->open);
                        if (sync_state(a) < 0)
                                return;
                        a->open = uow_new(a->next_seq);
                        a->resync = 0;
                }
                summary(a);
        }
}

int
main(int argc, char **argv)
{
        struct agg a;
        char err[1024];
        struct sigaction sa;

        memset(&a, 0, sizeof(a));
        log_init("edustat-aggregator", 0);
        /*
         * Every batch decodes into megabytes of msgpack objects and every uow
         * is encoded into megabytes, all freed soon after: keep that memory
         * in the heap for the next one instead of handing it back to the
         * kernel and faulting it in again (glibc; bench/agg_inproc.c does the
         * same).
         */
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
        settings_load(&a.set, argc, argv);
        if ((a.cfg = config_load(a.set.config_dir, err, sizeof(err))) == NULL)
                fatalx("%s", err);
        /* With CURVE the sink knows an aggregator by the name of its key. */
        if (a.set.id == NULL)
                a.set.id =
                    security_insecure() ? a.cfg->tree->u[a.cfg->tree->root].code : "aggregator";
        if (strlen(a.set.id) > PROTO_MAX_ID)
                fatalx("EDUSTAT_AGGREGATOR_ID is longer than %d bytes", PROTO_MAX_ID);
        if (config_periods_load(a.cfg, err, sizeof(err)) < 0)
                fatalx("%s", err);
        period_window_update(&a);
        if ((a.rules = rules_load_optional(a.set.config_dir, a.cfg->cat, a.cfg->tree, err,
                                           sizeof(err))) == NULL ||
            (a.rc = rulecheck_new(a.cfg, a.rules, err, sizeof(err))) == NULL)
                fatalx("%s", err);
        {
                char path[4096];

                strlcpyf(path, sizeof(path), "%s/forms.csv", a.set.config_dir);
                if (forms_load(path, a.cfg->cat, a.cfg->tree, &a.forms, err, sizeof(err)) < 0)
                        fatalx("%s", err);
        }
        a.rv = review_new(a.cfg, a.rules, a.forms);
        if (a.cfg->periods != NULL)
                log_info("config %s: %zu units, %zu indicators, %zu rules; aggregator id %s; the "
                         "%zu periods of periods.csv",
                         a.set.config_dir, a.cfg->tree->n, a.cfg->cat->n, a.rules->n, a.set.id,
                         strmap_count(a.cfg->periods));
        else
                log_info("config %s: %zu units, %zu indicators, %zu rules; aggregator id %s; "
                         "periods of %d to %d (no periods.csv)",
                         a.set.config_dir, a.cfg->tree->n, a.cfg->cat->n, a.rules->n, a.set.id,
                         a.cfg->period_year_min, a.cfg->period_year_max);

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        if ((a.ctx = zmq_ctx_new()) == NULL)
                fatal("zmq_ctx_new");
        if ((a.insecure = security_insecure())) {
                a.last_insecure_warn_ms = now_ms();
                security_warn_insecure("edustat-aggregator");
        } else {
                char path[4096];

                if (security_load(SEC_AGGREGATOR, &a.server, &a.client, err, sizeof(err)) < 0)
                        fatalx("%s (make keys with edustat-keygen, or set EDUSTAT_INSECURE=1 "
                               "for a plain-text development demo)",
                               err);
                /* The registry may live apart from the config (a keys volume). */
                if (getenv("EDUSTAT_COLLECTORS") && *getenv("EDUSTAT_COLLECTORS"))
                        strlcpyf(path, sizeof(path), "%s", getenv("EDUSTAT_COLLECTORS"));
                else
                        strlcpyf(path, sizeof(path), "%s/collectors.csv", a.set.config_dir);
                if ((a.reg = registry_load(path, a.cfg->tree, err, sizeof(err))) == NULL)
                        fatalx("%s", err);
                if ((a.zap = zap_start(a.ctx, "aggregator", admit_collector, a.reg)) == NULL)
                        fatalx("cannot start the ZAP handler");
                log_info("CURVE on; %zu collectors registered in %s", a.reg->n, path);
        }
        a.inflight = xcalloc((size_t)a.set.inflight, sizeof(*a.inflight));
        if (a.reg != NULL && a.reg->n > 0) {
                int64_t now = now_ms();

                a.budgets = xcalloc(a.reg->n, sizeof(*a.budgets));
                for (size_t i = 0; i < a.reg->n; i++) {
                        a.budgets[i].tokens = (double)a.set.burst;
                        a.budgets[i].at_ms = now;
                }
                a.recent[0] = a.recent[1] = -1;
        }
        a.batches = batchlog_new();
        a.actions_done = batchlog_new();
        if (sync_state(&a) == 0) {
                a.open = uow_new(a.next_seq);
                if ((a.router = wire_router_bind_hwm(a.ctx, a.set.bind, PROTO_MAX_SUBMIT_BYTES,
                                                     a.insecure ? NULL : &a.server, AGG_RCVHWM)) ==
                    NULL)
                        fatalx("cannot bind %s", a.set.bind);
                log_info("ready: accepting collectors on %s", a.set.bind);
                loop(&a);
        }

        /*
         * Shutdown: uows in flight get a short grace period to be committed
         * and acknowledged; anything left is simply not acknowledged, and
         * the collectors resend it to the next run.
         */
        for (int64_t until = now_ms() + 5000; a.ninflight > 0 && !a.fenced && now_ms() < until;) {
                zmq_pollitem_t it = {a.sink, 0, ZMQ_POLLIN, 0};
                zmq_msg_t msg;

                if (zmq_poll(&it, 1, 200) <= 0)
                        continue;
                zmq_msg_init(&msg);
                if (wire_recv(a.sink, &msg, ZMQ_DONTWAIT) == 0)
                        handle_sink(&a, zmq_msg_data(&msg), zmq_msg_size(&msg));
                zmq_msg_close(&msg);
        }
        log_info("stopping: %zu uow(s) left unacknowledged", a.ninflight);
        while (a.ninflight > 0)
                pop_inflight(&a);
        free(a.inflight);
        free(a.budgets);
        uow_destroy(&a.open);
        wire_close(&a.router);
        wire_close(&a.sink);
        zap_stop(&a.zap);
        zmq_ctx_term(a.ctx);
        registry_destroy(&a.reg);
        explicit_bzero(&a.server, sizeof(a.server));
        explicit_bzero(&a.client, sizeof(a.client));
        state_destroy(&a.state);
        review_destroy(&a.rv);
        forms_destroy(&a.forms);
        rulecheck_destroy(&a.rc);
        rules_destroy(&a.rules);
        config_destroy(&a.cfg);
        batchlog_destroy(&a.batches);
        batchlog_destroy(&a.actions_done);
        return a.fenced ? 1 : 0;
}
