#include "uow.h"

#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "ingest.h"
#include "log.h"
#include "strmap.h"
#include "util.h"

/*
 * Every flush fills a new uow's change array and wire buffer to about the
 * same size, and dropping them after the ack only to grow fresh ones costs
 * page faults and copies on every uow.  The aggregator is one thread: the
 * last array and buffer released are kept here for the next uow, unless
 * they are larger than these caps (a burst must not pin its memory).
 */
#define SPARE_CHANGES_MAX ((size_t)1 << 18)  /* 10 MB of changes */
#define SPARE_WIRE_MAX    ((size_t)32 << 20) /* bytes */

static struct uow_change *spare_changes;
static size_t spare_changecap;
static char *spare_wire;
static size_t spare_wirecap;

/* Keep the change array a uow is done with for the next, or free it. */
static void
spare_changes_put(struct uow_change *c, size_t cap)
{
        if (c != NULL && spare_changes == NULL && cap <= SPARE_CHANGES_MAX) {
                spare_changes = c;
                spare_changecap = cap;
                return;
        }
        free(c);
}

/* Keep the wire buffer a uow is done with for the next, or free it. */
static void
spare_wire_put(msgpack_sbuffer *sb)
{
        if (sb->data != NULL && spare_wire == NULL && sb->alloc <= SPARE_WIRE_MAX) {
                spare_wire = sb->data;
                spare_wirecap = sb->alloc;
        } else {
                free(sb->data);
        }
        msgpack_sbuffer_init(sb);
}

/* Give sb an empty buffer of at least want bytes, the spare one if it is there. */
static void
spare_wire_get(msgpack_sbuffer *sb, size_t want)
{
        char *p = spare_wire;
        size_t cap = spare_wirecap;

        spare_wire = NULL;
        spare_wirecap = 0;
        if (p == NULL || cap < want) {
                /* Nothing to keep: free and allocate rather than realloc and copy. */
                free(p);
                p = xmalloc(want);
                cap = want;
        }
        sb->data = p;
        sb->alloc = cap;
        sb->size = 0;
}

struct uow *
uow_new(uint64_t seq)
{
        struct uow *u = xcalloc(1, sizeof(*u));

        u->seq = seq;
        msgpack_sbuffer_init(&u->wire);
        return u;
}

static void
batch_free(struct uow_batch *b)
{
        free(b->batch_id);
        free(b->collector);
        free(b->source);
        for (size_t i = 0; i < b->nrej; i++)
                free(b->rej[i].reason);
        free(b->rej);
        for (size_t i = 0; i < b->nstale; i++) {
                free(b->stale[i].value);
                free(b->stale[i].collector);
        }
        free(b->stale);
        for (size_t i = 0; i < b->nwarn; i++) {
                struct uow_warning *w = &b->warn[i];

                free(w->unit);
                free(w->period);
                free(w->rule);
                free(w->message);
                free(w->left);
                free(w->right);
        }
        free(b->warn);
}

void
uow_batch_free(struct uow_batch **bp)
{
        if (bp == NULL || *bp == NULL)
                return;
        batch_free(*bp);
        free(*bp);
        *bp = NULL;
}

static void
changes_free(struct uow *u)
{
        for (size_t i = 0; i < u->nrejects; i++) {
                struct uow_reject *r = &u->rejects[i];

                free(r->unit);
                free(r->period);
                free(r->indicator);
                free(r->raw);
                free(r->reason);
        }
        free(u->rejects);
        for (size_t i = 0; i < u->nactions; i++) {
                struct uow_action *a = &u->actions[i];

                free(a->kind);
                free(a->unit);
                free(a->period);
                free(a->rule);
                free(a->text);
        }
        free(u->actions);
        u->actions = NULL;
        u->nactions = u->actioncap = 0;
        spare_changes_put(u->changes, u->changecap);
        u->rejects = NULL;
        u->changes = NULL;
        u->nrejects = u->rejectcap = u->nchanges = u->changecap = 0;
}

void
uow_destroy(struct uow **up)
{
        struct uow *u;

        if (up == NULL || (u = *up) == NULL)
                return;
        for (size_t i = 0; i < u->nbatches; i++)
                batch_free(&u->batches[i]);
        free(u->batches);
        changes_free(u);
        spare_wire_put(&u->wire);
        free(u);
        *up = NULL;
}

/*
 * p as text the sink will take: valid UTF-8 (ingest_text), and no longer
 * than cap, the limit the sink's decoder puts on that field.  Each invalid
 * byte becomes a 3-byte U+FFFD, so a field at its limit on the way in
 * could be three times over it on the way out, and the sink would drop the
 * whole uow; it is cut at a character boundary instead.
 */
static char *
text_of(struct pstr p, size_t cap)
{
        char *t = ingest_text(p.p ? p.p : "", p.p ? p.len : 0);
        size_t n = strlen(t);

        if (n > cap) {
                n = cap;
                while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
                        n--;
                t[n] = '\0';
        }
        return t;
}

/* The identity of a batch: its collector and its id, hashed together. */
static uint64_t
batch_key(struct pstr collector, struct pstr batch_id)
{
        uint64_t h = hash_bytes(collector.p ? collector.p : "", collector.len);

        return h * 0x9e3779b97f4a7c15ull ^ hash_bytes(batch_id.p ? batch_id.p : "", batch_id.len);
}

static void
batch_init(struct uow_batch *b, const struct wire_peer *peer, struct pstr batch_id,
           struct pstr collector, struct pstr source, uint64_t digest)
{
        memset(b, 0, sizeof(*b));
        b->peer = *peer;
        b->id_hash = batch_key(collector, batch_id);
        b->digest = digest;
        b->version = PROTO_VERSION;
        b->batch_id = text_of(batch_id, PROTO_MAX_ID);
        b->collector = text_of(collector, PROTO_MAX_ID);
        b->source = text_of(source, PROTO_MAX_TEXT);
}

uint32_t
uow_batch_add(struct uow *u, const struct wire_peer *peer, struct pstr batch_id,
              struct pstr collector, struct pstr source, uint64_t digest)
{
        struct uow_batch *b;

        if (u->nbatches == u->batchcap) {
                u->batchcap = u->batchcap ? u->batchcap * 2 : 16;
                u->batches = xreallocarray(u->batches, u->batchcap, sizeof(*u->batches));
        }
        b = &u->batches[u->nbatches];
        batch_init(b, peer, batch_id, collector, source, digest);
        u->bytes += 16 + strlen(b->batch_id) + strlen(b->collector) + strlen(b->source);
        return (uint32_t)u->nbatches++;
}

struct uow_batch *
uow_batch_find(struct uow *u, struct pstr collector, struct pstr batch_id)
{
        /* Every submit asks about hundreds of batches: compare hashes first. */
        uint64_t h = batch_key(collector, batch_id);

        for (size_t i = 0; i < u->nbatches; i++) {
                struct uow_batch *b = &u->batches[i];

                if (b->id_hash == h && strlen(b->batch_id) == batch_id.len &&
                    memcmp(b->batch_id, batch_id.p, batch_id.len) == 0 &&
                    strlen(b->collector) == collector.len &&
                    memcmp(b->collector, collector.p, collector.len) == 0)
                        return b;
        }
        return NULL;
}

int
uow_full(const struct uow *u, size_t max_records, size_t max_bytes)
{
        return u->nchanges + u->nrejects >= max_records || u->bytes >= max_bytes;
}

uint64_t
uow_batch_key(struct pstr collector, struct pstr batch_id)
{
        return batch_key(collector, batch_id);
}

void
uow_stale_add(struct uow *u, uint32_t batch, uint32_t line, const char *value,
              const char *collector, uint64_t version)
{
        struct uow_batch *b = &u->batches[batch];

        if (b->nstale >= UOW_STALE_IN_ACK) {
                b->nstale_more++;
                return;
        }
        if (b->nstale == b->stalecap) {
                b->stalecap = b->stalecap ? b->stalecap * 2 : 16;
                b->stale = xreallocarray(b->stale, b->stalecap, sizeof(*b->stale));
        }
        b->stale[b->nstale].line = line;
        b->stale[b->nstale].value = xstrdup(value);
        b->stale[b->nstale].collector = xstrdup(collector);
        b->stale[b->nstale].version = version;
        b->nstale++;
        u->bytes += 48 + strlen(value) + strlen(collector);
}

void
uow_change_add(struct uow *u, uint32_t batch, int unit, int period, int indicator, uint64_t mant,
               uint64_t version, int is_new)
{
        struct uow_change *c;

        if (u->nchanges == u->changecap) {
                if (u->changecap == 0 && spare_changes != NULL) {
                        u->changes = spare_changes;
                        u->changecap = spare_changecap;
                        spare_changes = NULL;
                        spare_changecap = 0;
                } else {
                        u->changecap = u->changecap ? u->changecap * 2 : 1024;
                        u->changes = xreallocarray(u->changes, u->changecap, sizeof(*u->changes));
                }
        }
        c = &u->changes[u->nchanges++];
        u->bytes += UOW_CHANGE_BYTES;
        c->unit = unit;
        c->period = period;
        c->indicator = indicator;
        c->batch = batch;
        c->mant = mant;
        c->version = version;
        c->flags = is_new ? PROTO_VALUE_NEW : 0;
}

/* "unit,period,indicator,value" as received, for rejected.raw. */
static char *
raw_of(const struct proto_record *r)
{
        const struct pstr f[4] = {r->unit, r->period, r->indicator, r->value};
        size_t n = 4;
        char *buf, *p, *out;

        for (int i = 0; i < 4; i++)
                n += f[i].len;
        p = buf = xmalloc(n);
        for (int i = 0; i < 4; i++) {
                if (f[i].len)
                        memcpy(p, f[i].p, f[i].len);
                p += f[i].len;
                *p++ = i < 3 ? ',' : '\0';
        }
        out = text_of((struct pstr){buf, (uint32_t)(p - buf - 1)}, PROTO_MAX_TEXT);
        free(buf);
        return out;
}

/* List a rejected line in b's ack. */
static void
batch_reject_line(struct uow_batch *b, uint32_t line, const char *reason)
{
        if (b->nrej == b->rejcap) {
                b->rejcap = b->rejcap ? b->rejcap * 2 : 16;
                b->rej = xreallocarray(b->rej, b->rejcap, sizeof(*b->rej));
        }
        b->rej[b->nrej].line = line;
        b->rej[b->nrej].reason = xstrdup(reason);
        b->nrej++;
}

void
uow_action_add(struct uow *u, uint32_t batch, const struct proto_action *a)
{
        struct uow_action *x;

        if (u->nactions == u->actioncap) {
                u->actioncap = u->actioncap ? u->actioncap * 2 : 8;
                u->actions = xreallocarray(u->actions, u->actioncap, sizeof(*u->actions));
        }
        x = &u->actions[u->nactions++];
        x->batch = batch;
        x->kind = text_of(a->kind, PROTO_MAX_ID);
        x->unit = text_of(a->unit, PROTO_MAX_FIELD);
        x->period = text_of(a->period, PROTO_MAX_FIELD);
        x->rule = a->rule.p ? text_of(a->rule, PROTO_MAX_ID) : NULL;
        x->text = a->text.p ? text_of(a->text, PROTO_MAX_TEXT) : NULL;
        x->at = a->at;
        u->bytes += 64 + (x->text ? strlen(x->text) : 0);
}

void
uow_reject_add(struct uow *u, uint32_t batch, const struct proto_record *r, const char *reason)
{
        struct uow_batch *b = &u->batches[batch];
        struct uow_reject *x;

        if (u->nrejects == u->rejectcap) {
                u->rejectcap = u->rejectcap ? u->rejectcap * 2 : 64;
                u->rejects = xreallocarray(u->rejects, u->rejectcap, sizeof(*u->rejects));
        }
        x = &u->rejects[u->nrejects++];
        x->batch = batch;
        x->line = r->line;
        x->unit = text_of(r->unit, PROTO_MAX_FIELD);
        x->period = text_of(r->period, PROTO_MAX_FIELD);
        x->indicator = text_of(r->indicator, PROTO_MAX_FIELD);
        if (b->nrej < UOW_REJECTS_IN_FULL)
                x->raw = r->raw.p ? text_of(r->raw, PROTO_MAX_TEXT) : raw_of(r);
        else
                x->raw = NULL;
        x->reason = xstrdup(reason);
        u->bytes += 32 + strlen(x->unit) + strlen(x->period) + strlen(x->indicator) +
                    (x->raw ? strlen(x->raw) : 0) + 2 * strlen(reason);

        batch_reject_line(b, r->line, reason);
}

/* ---- rules in a batch ------------------------------------------------------------------ */

/* (unit, period) pairs, each once; a batch names few, in runs. */
struct pairs {
        uint64_t *p;
        size_t n, cap;
};

static void
pairs_add(struct pairs *ps, int unit, int period)
{
        uint64_t k = ((uint64_t)(uint32_t)unit << 32) | (uint32_t)period;

        if (ps->n > 0 && ps->p[ps->n - 1] == k)
                return;
        if (ps->n == ps->cap) {
                ps->cap = ps->cap ? ps->cap * 2 : 16;
                ps->p = xreallocarray(ps->p, ps->cap, sizeof(*ps->p));
        }
        ps->p[ps->n++] = k;
}

static int
cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

/* Sort and drop repeats. */
static void
pairs_unique(struct pairs *ps)
{
        size_t k = 0;

        if (ps->n < 2)
                return;
        qsort(ps->p, ps->n, sizeof(*ps->p), cmp_u64);
        for (size_t i = 1; i < ps->n; i++)
                if (ps->p[i] != ps->p[k])
                        ps->p[++k] = ps->p[i];
        ps->n = k + 1;
}

struct warn_ctx {
        struct uow_batch *b;
        const struct rules *rs;
        struct state *s;
        const struct config *cfg;
        int unit, period;
};

static void
warning_add(struct warn_ctx *w, int rule, rule_num left, rule_num right)
{
        const struct rule *r = &w->rs->rule[rule];
        struct uow_batch *b = w->b;
        struct uow_warning *x;
        char msg[RULE_MESSAGE_MAX], l[RULE_NUM_BUFSZ], rt[RULE_NUM_BUFSZ];

        if (b->nwarn >= UOW_WARNINGS_MAX) {
                b->warn_more++;
                return;
        }
        if (b->nwarn == b->warncap) {
                b->warncap = b->warncap ? b->warncap * 2 : 8;
                b->warn = xreallocarray(b->warn, b->warncap, sizeof(*b->warn));
        }
        rule_message(r, left, right, 0, msg, sizeof(msg));
        rule_num_format(left, l);
        rule_num_format(right, rt);
        x = &b->warn[b->nwarn++];
        x->unit = xstrdup(w->cfg->tree->u[w->unit].code);
        x->period = xstrdup(state_period_name(w->s, w->period));
        x->rule = xstrdup(r->code);
        x->message = text_of(pstr_of(msg), PROTO_MAX_TEXT);
        x->left = xstrdup(l);
        x->right = xstrdup(rt);
}

static void
warning_of_row(void *arg, const struct rulecheck_row *row)
{
        warning_add(arg, row->rule, row->left, row->right);
}

static void
warning_would(void *arg, int rule, rule_num left, rule_num right)
{
        warning_add(arg, rule, left, right);
}

/* A valid record of a batch, waiting for the error rules of its school. */
struct judged {
        struct ingest_key k;
        uint32_t rec; /* index in the submit */
        int refused;  /* an error rule refused its school and period */
};

static int
cmp_judged(const void *a, const void *b)
{
        const struct judged *x = a, *y = b;

        if (x->k.unit != y->k.unit)
                return x->k.unit < y->k.unit ? -1 : 1;
        if (x->k.period != y->k.period)
                return x->k.period < y->k.period ? -1 : 1;
        return x->rec < y->rec ? -1 : x->rec > y->rec;
}

/* The overlay of one (unit, period): its records in jv, the buffers they fill. */
struct group {
        size_t lo, hi; /* jv[lo .. hi) */
        int refused;   /* some record of it is refused */
        struct rulecheck_overlay ov;
        int *ind;
        uint64_t *mant, *ver;
};

static void
group_init(struct group *g, size_t n)
{
        memset(g, 0, sizeof(*g));
        g->ind = xreallocarray(NULL, n ? n : 1, sizeof(*g->ind));
        g->mant = xreallocarray(NULL, n ? n : 1, sizeof(*g->mant));
        g->ver = xreallocarray(NULL, n ? n : 1, sizeof(*g->ver));
}

static void
group_free(struct group *g)
{
        free(g->ind);
        free(g->mant);
        free(g->ver);
}

/*
 * The next group of jv (sorted by unit and period) from g->hi: its records
 * with a version above the stored one, which are those the state would
 * apply, as the overlay.  Returns 0 past the end.
 */
static int
group_next(struct group *g, struct state *s, const struct proto_submit *sub,
           const struct judged *jv, size_t n)
{
        const struct state_view *view = &g->ov.stored;
        size_t i;

        if ((g->lo = g->hi) >= n)
                return 0;
        g->ov = (struct rulecheck_overlay){0, g->ind, g->mant, g->ver, {NULL}};
        g->refused = 0;
        state_view_get(s, jv[g->lo].k.unit, jv[g->lo].k.period, &g->ov.stored);
        for (i = g->lo;
             i < n && jv[i].k.unit == jv[g->lo].k.unit && jv[i].k.period == jv[g->lo].k.period;
             i++) {
                uint64_t stored, version = sub->rec[jv[i].rec].version;

                g->refused |= jv[i].refused;
                if (view->row != NULL && state_view_value(view, jv[i].k.indicator, NULL, &stored) &&
                    version <= stored)
                        continue;
                g->ind[g->ov.n] = jv[i].k.indicator;
                g->mant[g->ov.n] = jv[i].k.mant;
                g->ver[g->ov.n++] = version;
        }
        g->hi = i;
        return 1;
}

/*
 * Run the error rules over each (unit, period) of the valid records jv,
 * with the records that would be stored laid over the stored values; mark
 * the records of a failing pair refused and reject them with the rule's
 * message, in u (when not NULL) and b.  Returns 1 when it had to reorder
 * jv (by unit and period), else 0.
 */
static int
judge_errors(struct uow *u, uint32_t bi, struct uow_batch *b, struct state *s, struct rulecheck *rc,
             const struct proto_submit *sub, struct judged *jv, size_t n)
{
        char why[INGEST_REASON_MAX];
        struct group g;
        int sorted = 1;

        /* Records come in runs of one school and period; sort only when they do not. */
        for (size_t i = 1; i < n && sorted; i++)
                if (cmp_judged(&jv[i - 1], &jv[i]) > 0)
                        sorted = 0;
        if (!sorted)
                qsort(jv, n, sizeof(*jv), cmp_judged);
        group_init(&g, n);
        while (group_next(&g, s, sub, jv, n)) {
                if (rulecheck_errors(rc, s, jv[g.lo].k.unit, jv[g.lo].k.period, &g.ov, why,
                                     sizeof(why)) == 0) {
                        /* The batch stores what was judged (group_next() as the state applies). */
                        if (u != NULL)
                                rulecheck_passed(rc, jv[g.lo].k.unit, jv[g.lo].k.period);
                        continue;
                }
                for (size_t i = g.lo; i < g.hi; i++) {
                        jv[i].refused = 1;
                        if (u != NULL)
                                uow_reject_add(u, bi, &sub->rec[jv[i].rec], why);
                        else
                                batch_reject_line(b, sub->rec[jv[i].rec].line, why);
                }
        }
        group_free(&g);
        return !sorted;
}

static int
cmp_rec(const void *a, const void *b)
{
        const struct judged *x = a, *y = b;

        return x->rec < y->rec ? -1 : x->rec > y->rec;
}

/* Apply one valid record to s and note what it did in u and b. */
static void
apply_record(struct uow *u, uint32_t bi, struct uow_batch *b, struct state *s,
             const struct config *cfg, struct rulecheck *rc, const struct proto_record *r,
             const struct ingest_key *k, int whoi)
{
        struct state_prev prev;
        enum state_result res;

        b->accepted++;
        res = state_apply_by(s, k->unit, k->period, k->indicator, k->mant, r->version, whoi, &prev);
        if (res == STATE_NEW || res == STATE_CHANGED) {
                uow_change_add(u, bi, k->unit, k->period, k->indicator, k->mant, r->version,
                               res == STATE_NEW);
                b->changed++;
                if (rc != NULL)
                        rulecheck_touch(rc, s, k->unit, k->period);
        } else if (res == STATE_STALE && prev.mant != k->mant) {
                /*
                 * Older than what is stored, and another value: the sender
                 * must hear that its value is not the one PostgreSQL holds.
                 * An old identical resend is no news.
                 */
                char val[DECIMAL_BUFSZ];

                decimal_format(prev.mant, cfg->cat->ind[k->indicator].scale, val);
                uow_stale_add(u, bi, r->line, val, state_collector_name(s, prev.who), prev.version);
        }
}

/*
 * Check record r: 0 with *k, or -1 with the reason in why.  rv is NULL
 * unless some unit is submitted or approved (review_nlocked): then a record
 * of such a unit and period is refused with the lock's reason.
 */
static int
check_record(struct state *s, const struct config *cfg, const struct collector *who,
             const struct review *rv, const struct proto_record *r, struct ingest_memo *memo,
             struct ingest_key *k, int64_t now_us, long max_skew_s, char *why, size_t whylen)
{
        if (ingest_check_memo(s, cfg, who, r, memo, k, why, whylen) < 0 ||
            ingest_version_check(r->version, now_us, max_skew_s, why, whylen) < 0 ||
            (rv != NULL && review_lock_reason(rv, s, k->unit, k->period, why, whylen)))
                return -1;
        return 0;
}

/* List in b the warnings that fail now for each pair the batch named. */
static void
batch_warnings(struct uow_batch *b, struct state *s, const struct config *cfg, struct rulecheck *rc,
               struct pairs *named)
{
        struct warn_ctx w = {b, rulecheck_rules(rc), s, cfg, 0, 0};

        pairs_unique(named);
        for (size_t i = 0; i < named->n; i++) {
                w.unit = (int)(named->p[i] >> 32);
                w.period = (int)(uint32_t)named->p[i];
                rulecheck_warnings(rc, w.unit, w.period, warning_of_row, &w);
        }
}

struct uow_batch *
uow_batch_take(struct uow *u, struct state *s, const struct config *cfg, struct rulecheck *rc,
               const struct review *rv, const struct collector *who, struct pstr collector,
               const struct proto_submit *sub, const struct wire_peer *peer, uint64_t digest,
               int64_t now_us, long max_skew_s)
{
        char why[INGEST_REASON_MAX];
        struct ingest_memo memo;
        struct pairs named = {NULL, 0, 0};
        struct uow_batch *b;
        uint32_t bi;
        int whoi;

        if (rc != NULL && rulecheck_rules(rc)->n == 0)
                rc = NULL;
        /* Nothing submitted or approved (the common case): no lookup per record. */
        if (rv != NULL && review_nlocked(rv) == 0)
                rv = NULL;
        bi = uow_batch_add(u, peer, sub->batch_id, collector, sub->source, digest);
        b = &u->batches[bi];
        b->version = sub->version;
        whoi = state_collector_intern(s, collector.p, collector.len);
        memset(&memo, 0, sizeof(memo));
        if (rc == NULL || !rulecheck_has_errors(rc)) {
                /* One pass: nothing can refuse a valid record after its own checks. */
                for (uint32_t i = 0; i < sub->nrec; i++) {
                        const struct proto_record *r = &sub->rec[i];
                        struct ingest_key k;

                        if (check_record(s, cfg, who, rv, r, &memo, &k, now_us, max_skew_s, why,
                                         sizeof(why)) < 0) {
                                uow_reject_add(u, bi, r, why);
                                continue;
                        }
                        apply_record(u, bi, b, s, cfg, rc, r, &k, whoi);
                        if (rc != NULL)
                                pairs_add(&named, k.unit, k.period);
                }
        } else {
                /* Two passes: the records' own checks, then the error rules per school. */
                struct judged *jv = xreallocarray(NULL, sub->nrec ? sub->nrec : 1, sizeof(*jv));
                size_t n = 0;

                for (uint32_t i = 0; i < sub->nrec; i++) {
                        const struct proto_record *r = &sub->rec[i];

                        if (check_record(s, cfg, who, rv, r, &memo, &jv[n].k, now_us, max_skew_s,
                                         why, sizeof(why)) < 0) {
                                uow_reject_add(u, bi, r, why);
                                continue;
                        }
                        jv[n].rec = i;
                        jv[n++].refused = 0;
                }
                /* Back in file order: a key submitted twice keeps its last value. */
                if (judge_errors(u, bi, b, s, rc, sub, jv, n))
                        qsort(jv, n, sizeof(*jv), cmp_rec);
                for (size_t i = 0; i < n; i++) {
                        if (jv[i].refused)
                                continue;
                        apply_record(u, bi, b, s, cfg, rc, &sub->rec[jv[i].rec], &jv[i].k, whoi);
                        pairs_add(&named, jv[i].k.unit, jv[i].k.period);
                }
                free(jv);
        }
        if (rc != NULL) {
                rulecheck_settle_leaves(rc, s);
                batch_warnings(b, s, cfg, rc, &named);
        }
        free(named.p);
        return b;
}

/* The warnings a dry run's records would cause, per school and period. */
static void
check_warnings(struct uow_batch *b, struct state *s, const struct config *cfg, struct rulecheck *rc,
               const struct proto_submit *sub, struct judged *jv, size_t n)
{
        struct warn_ctx w = {b, rulecheck_rules(rc), s, cfg, 0, 0};
        struct group g;

        qsort(jv, n, sizeof(*jv), cmp_judged);
        group_init(&g, n);
        while (group_next(&g, s, sub, jv, n)) {
                if (g.refused)
                        continue;
                w.unit = jv[g.lo].k.unit;
                w.period = jv[g.lo].k.period;
                rulecheck_would_warn(rc, s, w.unit, w.period, &g.ov, warning_would, &w);
        }
        group_free(&g);
}

struct uow_batch *
uow_batch_check(struct state *s, const struct config *cfg, struct rulecheck *rc,
                const struct review *rv, const struct collector *who, struct pstr collector,
                const struct proto_submit *sub, const struct wire_peer *peer, int64_t now_us,
                long max_skew_s)
{
        struct uow_batch *b = xmalloc(sizeof(*b));
        struct judged *jv = xreallocarray(NULL, sub->nrec ? sub->nrec : 1, sizeof(*jv));
        char why[INGEST_REASON_MAX];
        struct ingest_memo memo;
        size_t n = 0;

        if (rc != NULL && rulecheck_rules(rc)->n == 0)
                rc = NULL;
        if (rv != NULL && review_nlocked(rv) == 0)
                rv = NULL;
        batch_init(b, peer, sub->batch_id, collector, sub->source, 0);
        memset(&memo, 0, sizeof(memo));
        for (uint32_t i = 0; i < sub->nrec; i++) {
                const struct proto_record *r = &sub->rec[i];

                if (check_record(s, cfg, who, rv, r, &memo, &jv[n].k, now_us, max_skew_s, why,
                                 sizeof(why)) < 0) {
                        batch_reject_line(b, r->line, why);
                        continue;
                }
                jv[n].rec = i;
                jv[n++].refused = 0;
        }
        if (rc != NULL && rulecheck_has_errors(rc))
                (void)judge_errors(NULL, 0, b, s, rc, sub, jv, n);
        for (size_t i = 0; i < n; i++) {
                uint64_t mant, version;

                if (jv[i].refused)
                        continue;
                b->accepted++;
                if (!state_get(s, jv[i].k.unit, jv[i].k.period, jv[i].k.indicator, &mant,
                               &version) ||
                    (sub->rec[jv[i].rec].version > version && mant != jv[i].k.mant))
                        b->changed++;
        }
        if (rc != NULL)
                check_warnings(b, s, cfg, rc, sub, jv, n);
        free(jv);
        return b;
}

/* A key packs period and indicator indices in 16 bits each. */
_Static_assert(STATE_MAX_PERIODS <= 65536, "change_key packs the period in 16 bits");
_Static_assert(CATALOG_MAX_INDICATORS <= 65536, "change_key packs the indicator in 16 bits");

static uint64_t
change_key(const struct uow_change *c)
{
        return ((uint64_t)(uint32_t)c->unit << 32) | ((uint64_t)(uint16_t)c->period << 16) |
               (uint16_t)c->indicator;
}

/*
 * Work out the unit_value flags: within the uow, the last change of a key
 * is FINAL, and it is NEW when the key's first change in the uow created it.
 * Earlier changes of the same key only go to value_replaced.  One pass in
 * change order over a small hash table holding, per key, the last change
 * seen (a 32-bit tag of the key's hash, then 1 + the change's index): the
 * earlier one loses its flags and hands its NEW bit on to the later.
 */
static void
mark_final(struct uow *u)
{
        size_t cap = 16, mask;
        unsigned bits = 4;
        uint32_t(*t)[2];

        while (cap < u->nchanges + u->nchanges / 2) {
                cap *= 2;
                bits++;
        }
        mask = cap - 1;
        t = xcalloc(cap, sizeof(*t));
        for (size_t i = 0; i < u->nchanges; i++) {
                struct uow_change *c = &u->changes[i];
                /* Fibonacci hashing: the top bits of the product mix every key bit. */
                uint64_t key = change_key(c), h = key * 0x9e3779b97f4a7c15ULL;
                uint32_t tag = (uint32_t)(h >> 24) | 1;
                size_t j = (size_t)(h >> (64 - bits));

                for (; t[j][1] != 0; j = (j + 1) & mask) {
                        struct uow_change *prev = &u->changes[t[j][1] - 1];

                        if (t[j][0] == tag && change_key(prev) == key) {
                                c->flags = prev->flags & PROTO_VALUE_NEW;
                                prev->flags = 0;
                                break;
                        }
                }
                t[j][0] = tag;
                t[j][1] = (uint32_t)i + 1;
        }
        for (size_t j = 0; j < cap; j++)
                if (t[j][1] != 0)
                        u->changes[t[j][1] - 1].flags |= PROTO_VALUE_FINAL;
        free(t);
}

/* The violation rows rc has for this uow (none without rules). */
static void
encode_violations(msgpack_packer *pk, struct state *s, const struct config *cfg,
                  struct rulecheck *rc)
{
        size_t n = rc != NULL ? rulecheck_dirty_count(rc) : 0;

        proto_uow_violations_begin(pk, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
                const struct rules *rs = rulecheck_rules(rc);
                struct rulecheck_row row;
                struct proto_violation v;
                char l[RULE_NUM_BUFSZ], r[RULE_NUM_BUFSZ];

                rulecheck_dirty_row(rc, i, &row);
                v.unit = pstr_of(cfg->tree->u[row.unit].code);
                v.period = pstr_of(state_period_name(s, row.period));
                v.rule = pstr_of(rs->rule[row.rule].code);
                v.severity = pstr_of(rule_severity_name(rs->rule[row.rule].severity));
                v.left = pstr_of(NULL);
                v.right = pstr_of(NULL);
                if (row.present) {
                        rule_num_format(row.left, l);
                        rule_num_format(row.right, r);
                        v.left = pstr_of(l);
                        v.right = pstr_of(r);
                }
                proto_violation_pack(pk, &v);
        }
}

void
uow_encode(struct uow *u, struct state *s, const struct config *cfg, struct rulecheck *rc,
           const char *aggregator_id, uint64_t epoch)
{
        const struct orgtree *t = cfg->tree;
        const struct catalog *c = cfg->cat;
        msgpack_packer pk;
        size_t naggs;
        struct pstr *inds, unit, period;

        /* The levels' rules wait for the uow: their rows travel in it. */
        if (rc != NULL)
                rulecheck_settle(rc, s);
        naggs = state_dirty_count(s);
        mark_final(u);
        spare_wire_put(&u->wire);
        /* Room for the usual message up front: growing by doubling copies it. */
        spare_wire_get(&u->wire, 4096 + u->nchanges * 96 + naggs * 128);
        msgpack_packer_init(&pk, &u->wire, msgpack_sbuffer_write);

        /* Each batch once; its changes and rejections name it by index. */
        proto_uow_begin(&pk, u->seq, epoch, aggregator_id, (uint32_t)u->nbatches);
        for (size_t i = 0; i < u->nbatches; i++) {
                struct proto_batch b = {pstr_of(u->batches[i].collector),
                                        pstr_of(u->batches[i].batch_id),
                                        pstr_of(u->batches[i].source)};

                proto_uow_batch_pack(&pk, &b);
        }
        /* The indicator codes, a few dozen for thousands of changes: measure them once. */
        inds = xreallocarray(NULL, c->n ? c->n : 1, sizeof(*inds));
        for (size_t i = 0; i < c->n; i++)
                inds[i] = pstr_of(c->ind[i].code);
        /* Changes come unit by unit and period by period: measure those once a run. */
        unit.p = period.p = NULL;
        proto_uow_values_begin(&pk, (uint32_t)u->nchanges);
        for (size_t i = 0; i < u->nchanges; i++) {
                const struct uow_change *ch = &u->changes[i];
                char val[DECIMAL_BUFSZ];
                struct proto_value v;

                if (unit.p != t->u[ch->unit].code)
                        unit = pstr_of(t->u[ch->unit].code);
                if (period.p != state_period_name(s, ch->period))
                        period = pstr_of(state_period_name(s, ch->period));
                v.unit = unit;
                v.period = period;
                v.indicator = inds[ch->indicator];
                v.version = ch->version;
                v.flags = ch->flags;
                v.value.len = (uint32_t)decimal_format(ch->mant, c->ind[ch->indicator].scale, val);
                v.value.p = val;
                proto_value_pack(&pk, &v, ch->batch);
        }
        free(inds);

        proto_uow_rejects_begin(&pk, (uint32_t)u->nrejects);
        for (size_t i = 0; i < u->nrejects; i++) {
                const struct uow_reject *x = &u->rejects[i];
                struct proto_reject r = {
                    .line = x->line,
                    .unit = pstr_of(x->unit),
                    .period = pstr_of(x->period),
                    .indicator = pstr_of(x->indicator),
                    .raw = pstr_of(x->raw),
                    .reason = pstr_of(x->reason),
                };

                proto_reject_pack(&pk, &r, x->batch);
        }

        proto_uow_aggs_begin(&pk, (uint32_t)naggs);
        for (size_t i = 0; i < naggs; i++) {
                struct state_row row;
                struct proto_agg a = {0};

                state_dirty_row(s, i, &row);
                a.unit = pstr_of(t->u[row.unit].code);
                a.level = pstr_of(t->u[row.unit].level);
                a.period = pstr_of(state_period_name(s, row.period));
                a.indicator = pstr_of(c->ind[row.indicator].code);
                a.value = row.null_value ? pstr_of(NULL) : pstr_of(row.value);
                a.numerator = row.null_num ? pstr_of(NULL) : pstr_of(row.numerator);
                a.denominator = row.null_den ? pstr_of(NULL) : pstr_of(row.denominator);
                a.n_reporting = row.n_reporting;
                a.min = row.min;
                a.max = row.max;
                a.mean = row.mean;
                a.cv = row.cv;
                if (row.slice != 0) {
                        const char *dim, *cat;

                        state_slice_name(s, row.slice, &dim, &cat);
                        a.dimension = pstr_of(dim);
                        a.category = pstr_of(cat);
                }
                a.nulls =
                    (row.null_value ? PROTO_AGG_NULL_VALUE : 0) |
                    (row.null_num ? PROTO_AGG_NULL_NUM : 0) |
                    (row.null_den ? PROTO_AGG_NULL_DEN : 0) |
                    (row.null_stats ? PROTO_AGG_NULL_MIN | PROTO_AGG_NULL_MAX | PROTO_AGG_NULL_MEAN
                                    : 0) |
                    (row.null_cv ? PROTO_AGG_NULL_CV : 0);
                proto_agg_pack(&pk, &a);
        }
        encode_violations(&pk, s, cfg, rc);
        proto_uow_actions_begin(&pk, rc != NULL && rulecheck_full(rc), (uint32_t)u->nactions);
        for (size_t i = 0; i < u->nactions; i++) {
                const struct uow_action *x = &u->actions[i];
                struct proto_action a = {
                    .kind = pstr_of(x->kind),
                    .unit = pstr_of(x->unit),
                    .period = pstr_of(x->period),
                    .rule = pstr_of(x->rule),
                    .text = pstr_of(x->text),
                    .at = x->at,
                };

                proto_uow_action_pack(&pk, &a, x->batch);
        }
        if (rc != NULL)
                rulecheck_dirty_clear(rc);
        state_dirty_clear(s);
        u->naggs = naggs;
        changes_free(u);
}

/* Pack b's answer into sb: a version-2 ack, a version-3 ack or a "checked". */
static void
batch_answer(const struct uow_batch *b, enum proto_type type, msgpack_sbuffer *sb)
{
        msgpack_packer pk;
        int v3 = type == PROTO_CHECKED || b->version >= 3;

        msgpack_sbuffer_clear(sb);
        msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
        if (v3)
                proto_ack3_begin(&pk, type, pstr_of(b->batch_id), b->accepted, b->changed,
                                 (uint32_t)b->nrej, (uint32_t)b->nstale_more);
        else
                proto_ack_begin_more(&pk, pstr_of(b->batch_id), b->accepted, b->changed,
                                     (uint32_t)b->nrej, (uint32_t)b->nstale_more);
        for (size_t j = 0; j < b->nrej; j++)
                proto_reject_line_pack(&pk, b->rej[j].line, pstr_of(b->rej[j].reason));
        proto_ack_stale_begin(&pk, (uint32_t)b->nstale);
        for (size_t j = 0; j < b->nstale; j++) {
                struct proto_stale st = {
                    .line = b->stale[j].line,
                    .value = pstr_of(b->stale[j].value),
                    .collector = pstr_of(b->stale[j].collector),
                    .version = b->stale[j].version,
                };

                proto_stale_pack(&pk, &st);
        }
        if (!v3) {
                if (b->nstale_more > 0)
                        proto_ack_stale_more_pack(&pk, (uint32_t)b->nstale_more);
                return;
        }
        proto_ack_warnings_begin(&pk, (uint32_t)b->nwarn);
        for (size_t j = 0; j < b->nwarn; j++) {
                const struct uow_warning *w = &b->warn[j];
                struct proto_warning pw = {
                    .unit = pstr_of(w->unit),
                    .period = pstr_of(w->period),
                    .rule = pstr_of(w->rule),
                    .message = pstr_of(w->message),
                    .left = pstr_of(w->left),
                    .right = pstr_of(w->right),
                };

                proto_warning_pack(&pk, &pw);
        }
        if (b->nstale_more > 0)
                proto_ack_stale_more_pack(&pk, (uint32_t)b->nstale_more);
}

void
uow_batch_reply(const struct uow_batch *b, void *router, enum proto_type type)
{
        msgpack_sbuffer sb;

        msgpack_sbuffer_init(&sb);
        batch_answer(b, type, &sb);
        if (wire_router_send(router, &b->peer, sb.data, sb.size) < 0)
                log_debug("answer for batch %s not sent (collector gone)", b->batch_id);
        msgpack_sbuffer_destroy(&sb);
}

void
uow_ack(struct uow *u, void *router)
{
        for (size_t i = 0; i < u->nbatches; i++)
                uow_batch_reply(&u->batches[i], router, PROTO_ACK);
}

void
uow_batches_move(struct uow *dst, struct uow *src)
{
        for (size_t i = 0; i < src->nbatches; i++) {
                if (dst->nbatches == dst->batchcap) {
                        dst->batchcap = dst->batchcap ? dst->batchcap * 2 : 16;
                        dst->batches =
                            xreallocarray(dst->batches, dst->batchcap, sizeof(*dst->batches));
                }
                dst->batches[dst->nbatches++] = src->batches[i];
        }
        src->nbatches = 0;
}
