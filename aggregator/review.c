/*
 * review: the review round's state and its rules; see review.h.
 */
#include "review.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest.h"
#include "period.h"
#include "util.h"

/*
 * An open-addressing table from a key of two words to an index: (unit <<
 * 32 | period, rule) for notes, (unit << 32 | period, 0) for entries.  It
 * grows by doubling at half full; nothing is ever removed but by clearing.
 */
struct slot {
        uint64_t k1;
        int64_t k2;
        int32_t idx; /* -1: empty */
};

struct table {
        struct slot *s;
        size_t cap, n; /* cap a power of two, or 0 */
};

struct review {
        const struct config *cfg;
        const struct rules *rs;
        const struct forms *forms;
        struct review_entry *e;
        size_t n, ecap;
        size_t nlocked;
        struct table entries, notes;
};

static uint64_t
key_of(int unit, int period)
{
        return (uint64_t)(uint32_t)unit << 32 | (uint32_t)period;
}

static size_t
slot_of(uint64_t k1, int64_t k2, size_t cap)
{
        uint64_t h = k1 * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)k2 + 0x632be59bd9b4e019ULL);

        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        return (size_t)h & (cap - 1);
}

static int32_t
table_get(const struct table *t, uint64_t k1, int64_t k2)
{
        if (t->n == 0)
                return -1;
        for (size_t i = slot_of(k1, k2, t->cap);; i = (i + 1) & (t->cap - 1)) {
                const struct slot *sl = &t->s[i];

                if (sl->idx < 0)
                        return -1;
                if (sl->k1 == k1 && sl->k2 == k2)
                        return sl->idx;
        }
}

static void table_put(struct table *t, uint64_t k1, int64_t k2, int32_t idx);

static void
table_grow(struct table *t)
{
        struct table old = *t;

        t->cap = old.cap ? old.cap * 2 : 64;
        t->n = 0;
        t->s = xreallocarray(NULL, t->cap, sizeof(*t->s));
        for (size_t i = 0; i < t->cap; i++)
                t->s[i].idx = -1;
        for (size_t i = 0; i < old.cap; i++)
                if (old.s[i].idx >= 0)
                        table_put(t, old.s[i].k1, old.s[i].k2, old.s[i].idx);
        free(old.s);
}

/* Insert a key known to be absent. */
static void
table_put(struct table *t, uint64_t k1, int64_t k2, int32_t idx)
{
        size_t i;

        if ((t->n + 1) * 2 > t->cap)
                table_grow(t);
        for (i = slot_of(k1, k2, t->cap); t->s[i].idx >= 0; i = (i + 1) & (t->cap - 1))
                ;
        t->s[i].k1 = k1;
        t->s[i].k2 = k2;
        t->s[i].idx = idx;
        t->n++;
}

static void
table_free(struct table *t)
{
        free(t->s);
        memset(t, 0, sizeof(*t));
}

struct review *
review_new(const struct config *cfg, const struct rules *rs, const struct forms *forms)
{
        struct review *rv = xcalloc(1, sizeof(*rv));

        rv->cfg = cfg;
        rv->rs = rs;
        rv->forms = forms;
        return rv;
}

void
review_clear(struct review *rv)
{
        for (size_t i = 0; i < rv->n; i++) {
                free(rv->e[i].by);
                free(rv->e[i].comment);
        }
        rv->n = 0;
        rv->nlocked = 0;
        table_free(&rv->entries);
        table_free(&rv->notes);
}

void
review_destroy(struct review **rp)
{
        struct review *rv;

        if (rp == NULL || (rv = *rp) == NULL)
                return;
        review_clear(rv);
        free(rv->e);
        free(rv);
        *rp = NULL;
}

size_t
review_count(const struct review *rv)
{
        return rv->n;
}

size_t
review_nlocked(const struct review *rv)
{
        return rv->nlocked;
}

size_t
review_nnotes(const struct review *rv)
{
        return rv->notes.n;
}

static const char *const state_names[] = {
    [REVIEW_OPEN] = "open",
    [REVIEW_SUBMITTED] = "submitted",
    [REVIEW_APPROVED] = "approved",
};

static const char *const kind_names[] = {
    [REVIEW_FINISH] = "finish",
    [REVIEW_APPROVE] = "approve",
    [REVIEW_RETURN] = "return",
    [REVIEW_REOPEN] = "reopen",
};

/* The index of text s among the first n names, or -1. */
static int
name_index(struct pstr s, const char *const *names, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strlen(names[i]) == s.len && memcmp(names[i], s.p, s.len) == 0)
                        return (int)i;
        return -1;
}

const char *
review_state_name(enum review_state st)
{
        return (size_t)st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "open";
}

const char *
review_kind_name(enum review_kind k)
{
        return (size_t)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "reopen";
}

int
review_kind_parse(struct pstr s, enum review_kind *k)
{
        /* Up to REVIEW_RETURN: a reopen is the aggregator's own, never asked for. */
        int i = name_index(s, kind_names, (size_t)REVIEW_RETURN + 1);

        if (i < 0)
                return -1;
        *k = (enum review_kind)i;
        return 0;
}

void
review_time_text(uint64_t at, char *buf, size_t len)
{
        time_t t = (time_t)(at / 1000000);
        struct tm tm;

        if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
                strlcpyf(buf, len, "%llu", (unsigned long long)at);
}

const struct review_entry *
review_get(const struct review *rv, int unit, int period)
{
        int32_t i;

        if (period < 0 || (i = table_get(&rv->entries, key_of(unit, period), 0)) < 0)
                return NULL;
        return &rv->e[i];
}

/* The entry of (unit, period), created open when absent. */
static struct review_entry *
entry_make(struct review *rv, int unit, int period)
{
        int32_t i = table_get(&rv->entries, key_of(unit, period), 0);
        struct review_entry *e;

        if (i >= 0)
                return &rv->e[i];
        if (rv->n == rv->ecap) {
                rv->ecap = rv->ecap ? rv->ecap * 2 : 64;
                rv->e = xreallocarray(rv->e, rv->ecap, sizeof(*rv->e));
        }
        e = &rv->e[rv->n];
        memset(e, 0, sizeof(*e));
        e->unit = unit;
        e->period = period;
        e->state = REVIEW_OPEN;
        table_put(&rv->entries, key_of(unit, period), 0, (int32_t)rv->n);
        rv->n++;
        return e;
}

/* Move e to state st by by at at with comment (copied; NULL for none). */
static void
entry_set(struct review *rv, struct review_entry *e, enum review_state st, const char *by,
          uint64_t at, const char *comment)
{
        if (e->state != REVIEW_OPEN)
                rv->nlocked--;
        if (st != REVIEW_OPEN)
                rv->nlocked++;
        e->state = st;
        free(e->by);
        free(e->comment);
        e->by = by ? xstrdup(by) : NULL;
        e->at = by ? at : 0;
        e->comment = comment ? xstrdup(comment) : NULL;
}

static int
state_parse(struct pstr s, enum review_state *out)
{
        int i = name_index(s, state_names, sizeof(state_names) / sizeof(state_names[0]));

        if (i < 0)
                return -1;
        *out = (enum review_state)i;
        return 0;
}

/* The state's index of period text p, interning it; -1 when it is not a period. */
static int
period_of(struct state *s, struct pstr p)
{
        if (p.p == NULL || !period_valid(p.p, p.len))
                return -1;
        return state_period_intern(s, p.p, p.len);
}

int
review_load(struct review *rv, struct state *s, const struct proto_review_row *r, char *why,
            size_t whylen)
{
        enum review_state st;
        struct review_entry *e;
        char *by, *comment;
        int unit, period;

        if ((unit = orgtree_find(rv->cfg->tree, r->unit.p, r->unit.len)) < 0) {
                strlcpyf(why, whylen, "unknown unit \"%.*s\"", (int)r->unit.len, r->unit.p);
                return -1;
        }
        if ((period = period_of(s, r->period)) < 0) {
                strlcpyf(why, whylen, "invalid period \"%.*s\"", (int)r->period.len, r->period.p);
                return -1;
        }
        if (state_parse(r->state, &st) < 0) {
                strlcpyf(why, whylen, "unknown review state \"%.*s\"", (int)r->state.len,
                         r->state.p);
                return -1;
        }
        by = r->by.p ? ingest_text(r->by.p, r->by.len) : NULL;
        comment = r->comment.p ? ingest_text(r->comment.p, r->comment.len) : NULL;
        e = entry_make(rv, unit, period);
        entry_set(rv, e, st, by, r->at, comment);
        free(by);
        free(comment);
        return 0;
}

void
review_note_add(struct review *rv, int unit, int period, int rule)
{
        if (table_get(&rv->notes, key_of(unit, period), rule) < 0)
                table_put(&rv->notes, key_of(unit, period), rule, 0);
}

int
review_noted(const struct review *rv, int unit, int period, int rule)
{
        return period >= 0 && table_get(&rv->notes, key_of(unit, period), rule) >= 0;
}

int
review_note_load(struct review *rv, struct state *s, const struct proto_note_row *r)
{
        const struct rule *ru;
        int unit, period;

        if ((unit = orgtree_find(rv->cfg->tree, r->unit.p, r->unit.len)) < 0 ||
            (ru = rules_find(rv->rs, r->rule.p, r->rule.len)) == NULL ||
            (period = period_of(s, r->period)) < 0)
                return -1;
        review_note_add(rv, unit, period, (int)(ru - rv->rs->rule));
        return 0;
}

int
review_lock_reason(const struct review *rv, const struct state *s, int unit, int period, char *why,
                   size_t whylen)
{
        const struct review_entry *e;
        char when[64];

        if (rv->nlocked == 0 || (e = review_get(rv, unit, period)) == NULL ||
            e->state == REVIEW_OPEN)
                return 0;
        review_time_text(e->at, when, sizeof(when));
        if (e->state == REVIEW_APPROVED)
                strlcpyf(why, whylen,
                         "unit %s period %s is approved by %s at %s; ask %s to return it",
                         rv->cfg->tree->u[unit].code, state_period_name(s, period),
                         e->by ? e->by : "?", when, e->by ? e->by : "the office above");
        else
                strlcpyf(why, whylen,
                         "unit %s period %s is submitted by %s at %s; ask the office above to "
                         "return it",
                         rv->cfg->tree->u[unit].code, state_period_name(s, period),
                         e->by ? e->by : "?", when);
        return 1;
}

static enum review_state
state_at(const struct review *rv, int unit, int period)
{
        const struct review_entry *e = review_get(rv, unit, period);

        return e ? e->state : REVIEW_OPEN;
}

/* A growing list of owned strings, capped at PROTO_MAX_BLOCKERS. */
struct list {
        char **s;
        size_t n, cap;
};

static void list_add(struct list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
list_add(struct list *l, const char *fmt, ...)
{
        char buf[PROTO_MAX_TEXT];
        va_list ap;

        if (l->n >= PROTO_MAX_BLOCKERS)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 8;
                l->s = xreallocarray(l->s, l->cap, sizeof(*l->s));
        }
        l->s[l->n++] = xstrdup(buf);
}

/* "N units below are not approved: CODE (state), ... and M more". */
static void
below_blocker(const struct review *rv, int unit, int period, struct list *l)
{
        const struct orgtree *t = rv->cfg->tree;
        char buf[PROTO_MAX_TEXT];
        size_t off = 0, nbad = 0;

        buf[0] = '\0';
        for (size_t u = 0; u < t->n; u++) {
                enum review_state st;

                if ((int)u == unit || !orgtree_contains(t, unit, (int)u))
                        continue;
                if ((st = state_at(rv, (int)u, period)) == REVIEW_APPROVED)
                        continue;
                if (nbad < REVIEW_LIST_BELOW && off < sizeof(buf))
                        off +=
                            (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s (%s)",
                                             nbad ? ", " : "", t->u[u].code, review_state_name(st));
                nbad++;
        }
        if (nbad == 0)
                return;
        if (nbad > REVIEW_LIST_BELOW)
                list_add(l, "%zu units below are not approved: %s and %zu more", nbad, buf,
                         nbad - REVIEW_LIST_BELOW);
        else
                list_add(l, "%zu unit%s below %s not approved: %s", nbad, nbad == 1 ? "" : "s",
                         nbad == 1 ? "is" : "are", buf);
}

size_t
review_blockers(const struct review *rv, struct state *s, const struct rulecheck *rc, int unit,
                int period, char ***out)
{
        const struct orgunit *ou = &rv->cfg->tree->u[unit];
        const struct catalog *cat = rv->cfg->cat;
        struct list l = {NULL, 0, 0};
        struct state_view v = {NULL};

        if (period >= 0)
                state_view_get(s, unit, period, &v);
        if (ou->is_leaf) {
                if (rv->forms != NULL && forms_has_stage(rv->forms, ou->stage)) {
                        for (size_t i = 0; i < rv->forms->n; i++) {
                                const struct form_item *fi = &rv->forms->item[i];
                                uint64_t mant;

                                if (strcmp(fi->stage, ou->stage) != 0 ||
                                    (v.row != NULL &&
                                     state_view_value(&v, fi->indicator, &mant, NULL)))
                                        continue;
                                list_add(&l, "indicator %s (%s) not stored",
                                         cat->ind[fi->indicator].code,
                                         cat->ind[fi->indicator].name_zh);
                        }
                } else if (v.row == NULL) {
                        list_add(&l, "no value stored");
                }
        }
        if (rc != NULL && period >= 0) {
                const struct rules *rs = rulecheck_rules(rc);

                for (size_t r = 0; r < rs->n; r++) {
                        const struct rule *ru = &rs->rule[r];

                        if (!rulecheck_failing(rc, unit, period, (int)r))
                                continue;
                        if (ru->severity == RULE_ERROR)
                                list_add(&l, "error %s (%s) fails", ru->code, ru->name_zh);
                        else if (!review_noted(rv, unit, period, (int)r))
                                list_add(&l, "warning %s (%s) not explained", ru->code,
                                         ru->name_zh);
                }
        }
        if (!ou->is_leaf)
                below_blocker(rv, unit, period, &l);
        *out = l.s;
        return l.n;
}

void
review_blockers_free(char **b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(b[i]);
        free(b);
}

int
review_resolve(const struct review *rv, const struct state *s, const struct collector *who,
               struct pstr unit, struct pstr period, int *unitp, int *periodp, char *why,
               size_t whylen)
{
        const struct orgtree *t = rv->cfg->tree;

        if ((*unitp = orgtree_find(t, unit.p, unit.len)) < 0) {
                char *u = ingest_printable(unit.p, unit.len, 64);

                strlcpyf(why, whylen, "unknown unit \"%s\"", u);
                free(u);
                return -1;
        }
        if (who != NULL && !registry_allows(who, t, *unitp)) {
                strlcpyf(why, whylen, "not authorized for unit %s", t->u[*unitp].code);
                return -1;
        }
        if (!period_valid(period.p, period.len)) {
                char *p = ingest_printable(period.p, period.len, 32);

                strlcpyf(why, whylen, "invalid period \"%s\"", p);
                free(p);
                return -1;
        }
        *periodp = state_period_find(s, period.p, period.len);
        return 0;
}

/* 1 when who may approve or return unit: a key of a strict ancestor, or of the root for the root.
 */
static int
office_above(const struct review *rv, const struct collector *who, int unit)
{
        const struct orgtree *t = rv->cfg->tree;

        if (who == NULL)
                return 1;
        for (size_t i = 0; i < who->nunits; i++) {
                int u = who->units[i];

                if (u == unit ? unit == t->root : orgtree_contains(t, u, unit))
                        return 1;
        }
        return 0;
}

static void
change_add(struct review_changes *c, enum review_kind kind, int unit, enum review_state from,
           enum review_state to, const char *text)
{
        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 4;
                c->c = xreallocarray(c->c, c->cap, sizeof(*c->c));
        }
        c->c[c->n].kind = kind;
        c->c[c->n].unit = unit;
        c->c[c->n].from = from;
        c->c[c->n].to = to;
        c->c[c->n].text = text ? xstrdup(text) : NULL;
        c->n++;
}

void
review_changes_free(struct review_changes *c)
{
        for (size_t i = 0; i < c->n; i++)
                free(c->c[i].text);
        free(c->c);
        memset(c, 0, sizeof(*c));
}

/* 1 when text is absent or only blanks (ASCII or the full-width space). */
static int
text_blank(struct pstr text)
{
        for (size_t i = 0; text.p != NULL && i < text.len; i++) {
                if (text.p[i] == ' ' || text.p[i] == '\t')
                        continue;
                if (i + 3 <= text.len && memcmp(text.p + i, "\xe3\x80\x80", 3) == 0) {
                        i += 2;
                        continue;
                }
                return 0;
        }
        return 1;
}

/*
 * 1 when text is valid UTF-8 with no control character: a reason or a
 * comment is shown on a school's terminal and in reports as it is, so it may
 * not carry escape sequences, and what the aggregator keeps is then byte for
 * byte what the uow and PostgreSQL keep.
 */
static int
text_printable(struct pstr text)
{
        if (!utf8_valid(text.p, text.len))
                return 0;
        for (size_t i = 0; i < text.len; i++)
                if ((unsigned char)text.p[i] < 0x20 || text.p[i] == 0x7f)
                        return 0;
        return 1;
}

/* "cannot finish unit U period P: " and the blockers joined by "; ", cut to fit why. */
static void
finish_refusal(const char *head, char **b, size_t n, char *why, size_t whylen)
{
        size_t off;

        strlcpyf(why, whylen, "%s", head);
        off = strlen(why);
        for (size_t i = 0; i < n; i++) {
                size_t need = strlen(b[i]) + 2;

                /* Room for this one and for a closing "; and NNNN more". */
                if (off + need + 24 >= whylen) {
                        strlcpyf(why + off, whylen - off, "; and %zu more", n - i);
                        return;
                }
                off += (size_t)snprintf(why + off, whylen - off, "%s%s", i ? "; " : "", b[i]);
        }
}

/*
 * 1 when the action of kind by by finds its own result in place: the unit
 * is in the state it leads to, made so by the same collector (for a return,
 * with the same reason).  A collector resends an action whose ack it did not
 * get, and the aggregator may have restarted since the commit.
 */
static int
resent(const struct review *rv, enum review_kind kind, int unit, int period, const char *by,
       struct pstr text)
{
        const struct review_entry *e = review_get(rv, unit, period);

        if (e == NULL || e->by == NULL || by == NULL || strcmp(e->by, by) != 0)
                return 0;
        switch (kind) {
        case REVIEW_FINISH:
                return e->state == REVIEW_SUBMITTED;
        case REVIEW_APPROVE:
                return e->state == REVIEW_APPROVED;
        case REVIEW_RETURN:
                return e->state == REVIEW_OPEN && e->comment != NULL && text.p != NULL &&
                       strlen(e->comment) == text.len && memcmp(e->comment, text.p, text.len) == 0;
        case REVIEW_REOPEN:
                break;
        }
        return 0;
}

int
review_act(struct review *rv, struct state *s, const struct rulecheck *rc,
           const struct collector *who, const char *by, enum review_kind kind, struct pstr unit,
           struct pstr period, struct pstr text, uint64_t at, struct review_changes *out, char *why,
           size_t whylen)
{
        const struct orgtree *t = rv->cfg->tree;
        const char *verb = review_kind_name(kind);
        enum review_state st;
        struct review_entry *e;
        char head[512], *txt = NULL;
        int u, p;

        assert(kind != REVIEW_REOPEN);
        if (review_resolve(rv, s, who, unit, period, &u, &p, why, whylen) < 0)
                return -1;
        st = state_at(rv, u, p);
        if (resent(rv, kind, u, p, by, text)) {
                /* Its result is in place already: a resend after the commit. */
                return 0;
        }
        snprintf(head, sizeof(head), "cannot %s unit %s period %.*s: ", verb, t->u[u].code,
                 (int)period.len, period.p);
        switch (kind) {
        case REVIEW_FINISH: {
                char **b;
                size_t n;

                if (st != REVIEW_OPEN) {
                        strlcpyf(why, whylen, "%sit is %s already", head, review_state_name(st));
                        return -1;
                }
                n = review_blockers(rv, s, rc, u, p, &b);
                if (n > 0) {
                        finish_refusal(head, b, n, why, whylen);
                        review_blockers_free(b, n);
                        return -1;
                }
                review_blockers_free(b, n);
                break;
        }
        case REVIEW_APPROVE:
        case REVIEW_RETURN:
                if (!office_above(rv, who, u)) {
                        strlcpyf(why, whylen,
                                 "%sa unit's own key cannot %s it; the office above %ss", head,
                                 verb, verb);
                        return -1;
                }
                if (kind == REVIEW_APPROVE && st != REVIEW_SUBMITTED) {
                        strlcpyf(why, whylen, "%sit is %s (not submitted)", head,
                                 review_state_name(st));
                        return -1;
                }
                if (kind == REVIEW_RETURN && st == REVIEW_OPEN) {
                        strlcpyf(why, whylen, "%sit is open", head);
                        return -1;
                }
                if (kind == REVIEW_RETURN && text_blank(text)) {
                        strlcpyf(why, whylen, "%sa return needs a reason", head);
                        return -1;
                }
                if (text.p != NULL && !text_printable(text)) {
                        strlcpyf(why, whylen,
                                 "%sthe %s is not plain text (UTF-8 without control "
                                 "characters)",
                                 head, kind == REVIEW_RETURN ? "reason" : "comment");
                        return -1;
                }
                if (text.p != NULL && text.len > 0)
                        txt = ingest_text(text.p, text.len);
                break;
        case REVIEW_REOPEN:
                return -1;
        }
        if (p < 0 && (p = state_period_intern(s, period.p, period.len)) < 0) {
                strlcpyf(why, whylen, "%stoo many periods (%d)", head, STATE_MAX_PERIODS);
                free(txt);
                return -1;
        }
        e = entry_make(rv, u, p);
        switch (kind) {
        case REVIEW_FINISH:
                entry_set(rv, e, REVIEW_SUBMITTED, by, at, NULL);
                change_add(out, kind, u, st, REVIEW_SUBMITTED, NULL);
                break;
        case REVIEW_APPROVE:
                entry_set(rv, e, REVIEW_APPROVED, by, at, txt);
                change_add(out, kind, u, st, REVIEW_APPROVED, txt);
                break;
        case REVIEW_RETURN: {
                size_t na;
                const int *anc = orgtree_ancestors(t, u, &na);
                char reopen[128];

                entry_set(rv, e, REVIEW_OPEN, by, at, txt);
                change_add(out, kind, u, st, REVIEW_OPEN, txt);
                snprintf(reopen, sizeof(reopen), "returned with %s", t->u[u].code);
                /* anc[0] is the unit itself; then its parent, up to the root. */
                for (size_t i = 1; i < na; i++) {
                        struct review_entry *ae;
                        int32_t ai = table_get(&rv->entries, key_of(anc[i], p), 0);
                        enum review_state ast;

                        if (ai < 0 || (ast = rv->e[ai].state) == REVIEW_OPEN)
                                continue;
                        ae = &rv->e[ai];
                        entry_set(rv, ae, REVIEW_OPEN, by, at, reopen);
                        change_add(out, REVIEW_REOPEN, anc[i], ast, REVIEW_OPEN, reopen);
                }
                break;
        }
        case REVIEW_REOPEN:
                break;
        }
        free(txt);
        return 0;
}
