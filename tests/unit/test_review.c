/*
 * Unit tests for aggregator/review: what blocks a finish (a form's missing
 * indicators, failing error rules, unexplained warnings, units below not
 * approved), who may approve and return, the refusals' words, the lock of
 * a submitted or approved unit's values, the return's cascade and the
 * loading of the sink's review and note rows.  The tree is
 * tests/unit/data/state (C > D1 > S1..S5; C > D2 > T1 > S6, S7; D2 > S8).
 * Every expected text is written out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "forms.h"
#include "keys.h"
#include "orgtree.h"
#include "review.h"
#include "rulecheck.h"
#include "rules.h"
#include "state.h"
#include "testutil.h"

static const char rules_csv[] = "code,name_zh,left,op,right,severity,scope,stage,missing\n"
                                "E1,图书不少于学生,books,>=,pupils,error,,,\n"
                                "W2,生均图书,books_per_pupil,>=,2,warning,,,\n";
static const char forms_csv[] = "stage,indicator\nprimary,pupils\nprimary,books\n";

/* 2024-12-04 08:13:20 UTC, in microseconds. */
#define AT     1733300000000000ULL
#define AT_TXT "2024-12-04 08:13:20 +0000"

struct fix {
        struct config *cfg;
        struct rules *rs;
        struct forms *forms;
        struct rulecheck *rc;
        struct state *s;
        struct review *rv;
        int p2024;
        uint64_t version;
        /* Keys: a school's, a district's, another district's, the city's. */
        struct collector k_s1, k_d1, k_d2, k_c;
        int u_s1, u_d1, u_d2, u_c;
};

static int
unit(const struct fix *f, const char *code)
{
        return testutil_unit(f->cfg, code);
}

static void
key(struct collector *c, const char *name, int *u)
{
        memset(c, 0, sizeof(*c));
        strlcpyf(c->name, sizeof(c->name), "%s", name);
        c->units = u;
        c->nunits = 1;
}

static int
setup(void **state)
{
        struct fix *f = calloc(1, sizeof(*f));
        char err[512], dir[TESTUTIL_PATH], path[TESTUTIL_PATH];

        assert_non_null(f);
        setenv("TZ", "UTC", 1);
        tzset();
        f->cfg = testutil_state_config();
        f->rs = testutil_rules(f->cfg, rules_csv);
        assert_int_equal(testutil_tmpdir(dir, sizeof(dir)), 0);
        testutil_write(dir, "forms.csv", forms_csv, strlen(forms_csv), path, sizeof(path));
        assert_int_equal(forms_load(path, f->cfg->cat, f->cfg->tree, &f->forms, err, sizeof(err)),
                         1);
        assert_int_equal(testutil_rmtree(dir), 0);
        f->rc = rulecheck_new(f->cfg, f->rs, err, sizeof(err));
        assert_non_null(f->rc);
        f->s = state_new(f->cfg);
        f->p2024 = state_period_intern(f->s, "2024", 4);
        f->rv = review_new(f->cfg, f->rs, f->forms);
        f->version = 1000;
        f->u_s1 = unit(f, "S1");
        f->u_d1 = unit(f, "D1");
        f->u_d2 = unit(f, "D2");
        f->u_c = unit(f, "C");
        key(&f->k_s1, "school-s1", &f->u_s1);
        key(&f->k_d1, "county-d1", &f->u_d1);
        key(&f->k_d2, "county-d2", &f->u_d2);
        key(&f->k_c, "city", &f->u_c);
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fix *f = *state;

        review_destroy(&f->rv);
        state_destroy(&f->s);
        rulecheck_destroy(&f->rc);
        forms_destroy(&f->forms);
        rules_destroy(&f->rs);
        config_destroy(&f->cfg);
        free(f);
        return 0;
}

/* Store a value and re-check the rules, as a batch would. */
static void
put(struct fix *f, const char *u, const char *i, uint64_t mant)
{
        uint64_t old;
        int ind = catalog_find(f->cfg->cat, i, strlen(i));

        assert_true(ind >= 0);
        state_apply(f->s, unit(f, u), f->p2024, ind, mant, ++f->version, &old);
        rulecheck_touch(f->rc, f->s, unit(f, u), f->p2024);
        rulecheck_settle(f->rc, f->s);
}

static struct pstr
ps(const char *s)
{
        return pstr_of(s);
}

/* review_act for period 2024; returns its result, the refusal in why. */
static int
act(struct fix *f, const struct collector *who, enum review_kind k, const char *u, const char *text,
    struct review_changes *ch, char *why, size_t whylen)
{
        why[0] = '\0';
        return review_act(f->rv, f->s, f->rc, who, who ? who->name : "plain", k, ps(u), ps("2024"),
                          ps(text), AT, ch, why, whylen);
}

/* A row of the sink's state stream, as loaded at start. */
static void
load(struct fix *f, const char *u, const char *st, const char *by)
{
        struct proto_review_row r = {ps(u), ps("2024"), ps(st), ps(by), ps(NULL), AT};
        char why[256];

        assert_int_equal(review_load(f->rv, f->s, &r, why, sizeof(why)), 0);
}

static enum review_state
state_of(const struct fix *f, const char *u)
{
        const struct review_entry *e = review_get(f->rv, unit(f, u), f->p2024);

        return e ? e->state : REVIEW_OPEN;
}

static void
test_finish_leaf(void **state)
{
        struct fix *f = *state;
        struct review_changes ch = {NULL, 0, 0};
        char why[REVIEW_WHY_MAX];

        /* Nothing stored: both indicators of the primary form are missing. */
        assert_int_equal(act(f, &f->k_s1, REVIEW_FINISH, "S1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot finish unit S1 period 2024: indicator pupils (在校生数) "
                                 "not stored; indicator books (图书册数) not stored");
        /* A junior school has no form: one value is enough, none is not. */
        assert_int_equal(act(f, NULL, REVIEW_FINISH, "S6", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot finish unit S6 period 2024: no value stored");
        /* 100 pupils, 50 books: E1 fails (50 < 100), W2 warns (0.5 < 2), area is not on the form.
         */
        put(f, "S1", "pupils", 100);
        put(f, "S1", "books", 50);
        assert_int_equal(act(f, &f->k_s1, REVIEW_FINISH, "S1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot finish unit S1 period 2024: error E1 (图书不少于学生) "
                                 "fails; warning W2 (生均图书) not explained");
        /* 150 books: E1 holds, W2 still warns (1.5 < 2) until it is explained. */
        put(f, "S1", "books", 150);
        assert_int_equal(act(f, &f->k_s1, REVIEW_FINISH, "S1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(
            why, "cannot finish unit S1 period 2024: warning W2 (生均图书) not explained");
        assert_int_equal(review_nnotes(f->rv), 0);
        review_note_add(f->rv, f->u_s1, f->p2024, 1);
        review_note_add(f->rv, f->u_s1, f->p2024, 1);
        assert_int_equal(review_nnotes(f->rv), 1);
        assert_true(review_noted(f->rv, f->u_s1, f->p2024, 1));
        assert_false(review_noted(f->rv, f->u_s1, f->p2024, 0));
        /* Another county's key may not finish it; the school's own may. */
        assert_int_equal(act(f, &f->k_d2, REVIEW_FINISH, "S1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "not authorized for unit S1");
        assert_int_equal(review_nlocked(f->rv), 0);
        assert_int_equal(act(f, &f->k_s1, REVIEW_FINISH, "S1", NULL, &ch, why, sizeof(why)), 0);
        assert_int_equal(ch.n, 1);
        assert_int_equal(ch.c[0].kind, REVIEW_FINISH);
        assert_int_equal(ch.c[0].unit, f->u_s1);
        assert_int_equal(ch.c[0].from, REVIEW_OPEN);
        assert_int_equal(ch.c[0].to, REVIEW_SUBMITTED);
        assert_null(ch.c[0].text);
        review_changes_free(&ch);
        assert_int_equal(review_nlocked(f->rv), 1);
        const struct review_entry *e = review_get(f->rv, f->u_s1, f->p2024);
        assert_non_null(e);
        assert_int_equal(e->state, REVIEW_SUBMITTED);
        assert_string_equal(e->by, "school-s1");
        assert_true(e->at == AT);
        /* Finished already: by another key refused; by the same, a resend, taken with no change. */
        assert_int_equal(act(f, &f->k_d1, REVIEW_FINISH, "S1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot finish unit S1 period 2024: it is submitted already");
        assert_int_equal(act(f, &f->k_s1, REVIEW_FINISH, "S1", NULL, &ch, why, sizeof(why)), 0);
        assert_int_equal(ch.n, 0);
        /* Unknown unit, bad period. */
        assert_int_equal(act(f, &f->k_s1, REVIEW_FINISH, "S99", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "unknown unit \"S99\"");
        assert_int_equal(review_act(f->rv, f->s, f->rc, NULL, "x", REVIEW_FINISH, ps("S1"),
                                    ps("24"), ps(NULL), AT, &ch, why, sizeof(why)),
                         -1);
        assert_string_equal(why, "invalid period \"24\"");
        assert_int_equal(ch.n, 0);
}

static void
test_lock(void **state)
{
        struct fix *f = *state;
        struct review_changes ch = {NULL, 0, 0};
        char why[REVIEW_WHY_MAX];
        int p2025 = state_period_intern(f->s, "2025", 4);

        assert_int_equal(review_lock_reason(f->rv, f->s, f->u_s1, f->p2024, why, sizeof(why)), 0);
        load(f, "S1", "submitted", "school-s1");
        assert_int_equal(review_lock_reason(f->rv, f->s, f->u_s1, f->p2024, why, sizeof(why)), 1);
        assert_string_equal(why, "unit S1 period 2024 is submitted by school-s1 at " AT_TXT
                                 "; ask the office above to return it");
        /* Exactly that unit and period. */
        assert_int_equal(review_lock_reason(f->rv, f->s, f->u_s1, p2025, why, sizeof(why)), 0);
        assert_int_equal(review_lock_reason(f->rv, f->s, unit(f, "S2"), f->p2024, why, sizeof(why)),
                         0);
        assert_int_equal(review_lock_reason(f->rv, f->s, f->u_d1, f->p2024, why, sizeof(why)), 0);
        assert_int_equal(act(f, &f->k_d1, REVIEW_APPROVE, "S1", "核对无误", &ch, why, sizeof(why)),
                         0);
        review_changes_free(&ch);
        assert_int_equal(review_lock_reason(f->rv, f->s, f->u_s1, f->p2024, why, sizeof(why)), 1);
        assert_string_equal(why, "unit S1 period 2024 is approved by county-d1 at " AT_TXT
                                 "; ask county-d1 to return it");
        /* A district's own values lock with it. */
        load(f, "D1", "approved", "city");
        assert_int_equal(review_lock_reason(f->rv, f->s, f->u_d1, f->p2024, why, sizeof(why)), 1);
        assert_string_equal(why, "unit D1 period 2024 is approved by city at " AT_TXT
                                 "; ask city to return it");
        assert_int_equal(review_nlocked(f->rv), 2);
}

static void
test_approve(void **state)
{
        struct fix *f = *state;
        struct review_changes ch = {NULL, 0, 0};
        char why[REVIEW_WHY_MAX];

        assert_int_equal(act(f, &f->k_d1, REVIEW_APPROVE, "S1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot approve unit S1 period 2024: it is open (not submitted)");
        load(f, "S1", "submitted", "school-s1");
        /* A school approving itself; a county approving another county's school. */
        assert_int_equal(act(f, &f->k_s1, REVIEW_APPROVE, "S1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot approve unit S1 period 2024: a unit's own key cannot "
                                 "approve it; the office above approves");
        assert_int_equal(act(f, &f->k_d2, REVIEW_APPROVE, "S1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "not authorized for unit S1");
        /* The city is an ancestor too. */
        assert_int_equal(act(f, &f->k_c, REVIEW_APPROVE, "S1", "", &ch, why, sizeof(why)), 0);
        assert_int_equal(ch.n, 1);
        assert_int_equal(ch.c[0].kind, REVIEW_APPROVE);
        assert_int_equal(ch.c[0].from, REVIEW_SUBMITTED);
        assert_int_equal(ch.c[0].to, REVIEW_APPROVED);
        assert_null(ch.c[0].text); /* an empty comment is none */
        review_changes_free(&ch);
        assert_int_equal(act(f, &f->k_d1, REVIEW_APPROVE, "S1", "ok", &ch, why, sizeof(why)), -1);
        assert_string_equal(why,
                            "cannot approve unit S1 period 2024: it is approved (not submitted)");
        assert_int_equal(act(f, &f->k_c, REVIEW_APPROVE, "S1", "", &ch, why, sizeof(why)), 0);
        assert_int_equal(ch.n, 0);
        /* The root: a key of the root approves it; a district's key may not act on it at all. */
        load(f, "C", "submitted", "city");
        assert_int_equal(act(f, &f->k_d1, REVIEW_APPROVE, "C", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "not authorized for unit C");
        assert_int_equal(act(f, &f->k_c, REVIEW_APPROVE, "C", "发布", &ch, why, sizeof(why)), 0);
        assert_string_equal(ch.c[0].text, "发布");
        review_changes_free(&ch);
        const struct review_entry *e = review_get(f->rv, f->u_c, f->p2024);
        assert_int_equal(e->state, REVIEW_APPROVED);
        assert_string_equal(e->by, "city");
        assert_string_equal(e->comment, "发布");
        /* But a district's own key may not approve the district. */
        load(f, "D1", "submitted", "county-d1");
        assert_int_equal(act(f, &f->k_d1, REVIEW_APPROVE, "D1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot approve unit D1 period 2024: a unit's own key cannot "
                                 "approve it; the office above approves");
}

static void
test_finish_district(void **state)
{
        struct fix *f = *state;
        struct review_changes ch = {NULL, 0, 0};
        char why[REVIEW_WHY_MAX];
        char **b;
        size_t n;

        load(f, "S1", "approved", "county-d1");
        load(f, "S2", "submitted", "school-s2");
        assert_int_equal(act(f, &f->k_d1, REVIEW_FINISH, "D1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot finish unit D1 period 2024: 4 units below are not "
                                 "approved: S2 (submitted), S3 (open), S4 (open), S5 (open)");
        n = review_blockers(f->rv, f->s, f->rc, f->u_d1, f->p2024, &b);
        assert_int_equal(n, 1);
        assert_string_equal(b[0], "4 units below are not approved: S2 (submitted), S3 (open), S4 "
                                  "(open), S5 (open)");
        review_blockers_free(b, n);
        load(f, "S2", "approved", "county-d1");
        load(f, "S3", "approved", "county-d1");
        load(f, "S4", "approved", "county-d1");
        assert_int_equal(act(f, &f->k_d1, REVIEW_FINISH, "D1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(
            why, "cannot finish unit D1 period 2024: 1 unit below is not approved: S5 (open)");
        load(f, "S5", "approved", "county-d1");
        /* A district has no form of its own: nothing of its own need be stored. */
        assert_int_equal(act(f, &f->k_d1, REVIEW_FINISH, "D1", NULL, &ch, why, sizeof(why)), 0);
        review_changes_free(&ch);
        assert_int_equal(state_of(f, "D1"), REVIEW_SUBMITTED);
        /* The city: every unit below, the town and its schools included. */
        assert_int_equal(act(f, &f->k_c, REVIEW_FINISH, "C", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot finish unit C period 2024: 6 units below are not "
                                 "approved: D1 (submitted), D2 (open), T1 (open), S6 (open), S7 "
                                 "(open), S8 (open)");
        /* Nothing blocks an open school that has everything: the empty list. */
        put(f, "S3", "pupils", 10);
        put(f, "S3", "books", 100);
        n = review_blockers(f->rv, f->s, f->rc, unit(f, "S3"), f->p2024, &b);
        assert_int_equal(n, 0);
        review_blockers_free(b, n);
}

static void
test_return_cascade(void **state)
{
        struct fix *f = *state;
        struct review_changes ch = {NULL, 0, 0};
        char why[REVIEW_WHY_MAX];

        load(f, "S1", "approved", "county-d1");
        load(f, "S2", "approved", "county-d1");
        load(f, "D1", "approved", "city");
        load(f, "C", "submitted", "city");
        load(f, "D2", "submitted", "county-d2");
        assert_int_equal(review_nlocked(f->rv), 5);
        /* The school may not return itself; a return needs a reason. */
        assert_int_equal(act(f, &f->k_s1, REVIEW_RETURN, "S1", "x", &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot return unit S1 period 2024: a unit's own key cannot "
                                 "return it; the office above returns");
        assert_int_equal(act(f, &f->k_d1, REVIEW_RETURN, "S1", "", &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot return unit S1 period 2024: a return needs a reason");
        assert_int_equal(act(f, &f->k_d1, REVIEW_RETURN, "S1", NULL, &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot return unit S1 period 2024: a return needs a reason");
        assert_int_equal(
            act(f, &f->k_d1, REVIEW_RETURN, "S1", " \t\xe3\x80\x80 ", &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot return unit S1 period 2024: a return needs a reason");
        /* A reason or comment is shown on terminals as it is: no escapes, no broken UTF-8. */
        assert_int_equal(
            act(f, &f->k_d1, REVIEW_RETURN, "S1", "\x1b[2J有误", &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot return unit S1 period 2024: the reason is not plain text "
                                 "(UTF-8 without control characters)");
        assert_int_equal(act(f, &f->k_d1, REVIEW_RETURN, "S1", "\xff\xfe", &ch, why, sizeof(why)),
                         -1);
        assert_string_equal(why, "cannot return unit S1 period 2024: the reason is not plain text "
                                 "(UTF-8 without control characters)");
        assert_int_equal(ch.n, 0);
        /* S1 goes back, and with it D1 and C; S2 and D2 stay. */
        assert_int_equal(act(f, &f->k_d1, REVIEW_RETURN, "S1", "第7行有误", &ch, why, sizeof(why)),
                         0);
        assert_int_equal(ch.n, 3);
        assert_int_equal(ch.c[0].kind, REVIEW_RETURN);
        assert_int_equal(ch.c[0].unit, f->u_s1);
        assert_int_equal(ch.c[0].from, REVIEW_APPROVED);
        assert_int_equal(ch.c[0].to, REVIEW_OPEN);
        assert_string_equal(ch.c[0].text, "第7行有误");
        assert_int_equal(ch.c[1].kind, REVIEW_REOPEN);
        assert_int_equal(ch.c[1].unit, f->u_d1);
        assert_int_equal(ch.c[1].from, REVIEW_APPROVED);
        assert_string_equal(ch.c[1].text, "returned with S1");
        assert_int_equal(ch.c[2].kind, REVIEW_REOPEN);
        assert_int_equal(ch.c[2].unit, f->u_c);
        assert_int_equal(ch.c[2].from, REVIEW_SUBMITTED);
        assert_int_equal(ch.c[2].to, REVIEW_OPEN);
        assert_string_equal(ch.c[2].text, "returned with S1");
        review_changes_free(&ch);
        assert_int_equal(state_of(f, "S1"), REVIEW_OPEN);
        assert_int_equal(state_of(f, "D1"), REVIEW_OPEN);
        assert_int_equal(state_of(f, "C"), REVIEW_OPEN);
        assert_int_equal(state_of(f, "S2"), REVIEW_APPROVED);
        assert_int_equal(state_of(f, "D2"), REVIEW_SUBMITTED);
        assert_int_equal(review_nlocked(f->rv), 2);
        /* The returned school shows who returned it, when and why. */
        const struct review_entry *e = review_get(f->rv, f->u_s1, f->p2024);
        assert_string_equal(e->by, "county-d1");
        assert_string_equal(e->comment, "第7行有误");
        assert_true(e->at == AT);
        e = review_get(f->rv, f->u_d1, f->p2024);
        assert_string_equal(e->by, "county-d1");
        assert_string_equal(e->comment, "returned with S1");
        /* Open now: nothing to return, unless this is the same return again (a resend). */
        assert_int_equal(act(f, &f->k_d1, REVIEW_RETURN, "S1", "again", &ch, why, sizeof(why)), -1);
        assert_string_equal(why, "cannot return unit S1 period 2024: it is open");
        assert_int_equal(act(f, &f->k_c, REVIEW_RETURN, "S1", "第7行有误", &ch, why, sizeof(why)),
                         -1);
        assert_string_equal(why, "cannot return unit S1 period 2024: it is open");
        assert_int_equal(act(f, &f->k_d1, REVIEW_RETURN, "S1", "第7行有误", &ch, why, sizeof(why)),
                         0);
        assert_int_equal(ch.n, 0);
        /* A submitted unit can be returned too, by the city for a district. */
        assert_int_equal(act(f, &f->k_c, REVIEW_RETURN, "D2", "缺T1", &ch, why, sizeof(why)), 0);
        assert_int_equal(ch.n, 1);
        review_changes_free(&ch);
        assert_int_equal(review_nlocked(f->rv), 1);
        /* Clearing forgets everything. */
        review_clear(f->rv);
        assert_int_equal(review_count(f->rv), 0);
        assert_int_equal(review_nlocked(f->rv), 0);
        assert_null(review_get(f->rv, f->u_s1, f->p2024));
}

static void
test_load(void **state)
{
        struct fix *f = *state;
        struct proto_review_row r = {ps("S1"),        ps("2023"), ps("open"),
                                     ps("county-d1"), ps("缺数"), AT};
        struct proto_note_row nr = {ps("S1"), ps("2023"), ps("W2")};
        char why[256];
        int p2023;

        assert_int_equal(review_load(f->rv, f->s, &r, why, sizeof(why)), 0);
        p2023 = state_period_find(f->s, "2023", 4);
        assert_true(p2023 >= 0);
        const struct review_entry *e = review_get(f->rv, f->u_s1, p2023);
        assert_non_null(e);
        assert_int_equal(e->state, REVIEW_OPEN);
        assert_string_equal(e->comment, "缺数");
        assert_int_equal(review_count(f->rv), 1);
        assert_int_equal(review_nlocked(f->rv), 0);
        /* Loading the same key again replaces it. */
        r.state = ps("approved");
        assert_int_equal(review_load(f->rv, f->s, &r, why, sizeof(why)), 0);
        assert_int_equal(review_count(f->rv), 1);
        assert_int_equal(review_nlocked(f->rv), 1);
        r.state = ps("closed");
        assert_int_equal(review_load(f->rv, f->s, &r, why, sizeof(why)), -1);
        assert_string_equal(why, "unknown review state \"closed\"");
        r.state = ps("open");
        r.unit = ps("S99");
        assert_int_equal(review_load(f->rv, f->s, &r, why, sizeof(why)), -1);
        assert_string_equal(why, "unknown unit \"S99\"");
        r.unit = ps("S1");
        r.period = ps("20x3");
        assert_int_equal(review_load(f->rv, f->s, &r, why, sizeof(why)), -1);
        assert_string_equal(why, "invalid period \"20x3\"");
        assert_int_equal(review_nlocked(f->rv), 1);

        assert_int_equal(review_note_load(f->rv, f->s, &nr), 0);
        assert_true(review_noted(f->rv, f->u_s1, p2023, 1));
        nr.rule = ps("W9");
        assert_int_equal(review_note_load(f->rv, f->s, &nr), -1);
        assert_int_equal(review_nnotes(f->rv), 1);
        assert_false(review_noted(f->rv, f->u_s1, -1, 1));
}

/* Many entries and notes: the tables grow and every key is still found. */
static void
test_many(void **state)
{
        struct fix *f = *state;
        char per[8], why[256];
        int per_idx[200];

        for (int y = 0; y < 200; y++) {
                snprintf(per, sizeof(per), "%d", 1900 + y);
                for (int u = 0; u < 12; u++) {
                        struct proto_review_row r = {ps(f->cfg->tree->u[u].code),
                                                     ps(per),
                                                     ps(u % 2 ? "approved" : "open"),
                                                     ps("k"),
                                                     ps(NULL),
                                                     AT};

                        assert_int_equal(review_load(f->rv, f->s, &r, why, sizeof(why)), 0);
                }
                per_idx[y] = state_period_find(f->s, per, strlen(per));
                review_note_add(f->rv, y % 12, per_idx[y], 1);
        }
        assert_int_equal(review_count(f->rv), 2400);
        assert_int_equal(review_nlocked(f->rv), 1200);
        assert_int_equal(review_nnotes(f->rv), 200);
        for (int y = 0; y < 200; y++) {
                for (int u = 0; u < 12; u++) {
                        const struct review_entry *e = review_get(f->rv, u, per_idx[y]);

                        assert_non_null(e);
                        assert_int_equal(e->state, u % 2 ? REVIEW_APPROVED : REVIEW_OPEN);
                        assert_int_equal(review_noted(f->rv, u, per_idx[y], 1), u == y % 12);
                }
        }
}

/* Names both ways; a collector may ask for three transitions, never a reopen. */
static void
test_names(void **state)
{
        static const struct {
                const char *text;
                int ok;
                enum review_kind kind;
        } cases[] = {
            {"finish", 1, REVIEW_FINISH},
            {"approve", 1, REVIEW_APPROVE},
            {"return", 1, REVIEW_RETURN},
            {"reopen", 0, 0},
            {"explain", 0, 0},
            {"finis", 0, 0},
            {"finishes", 0, 0},
            {"", 0, 0},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                enum review_kind k = REVIEW_REOPEN;

                assert_int_equal(review_kind_parse(ps(cases[i].text), &k), cases[i].ok ? 0 : -1);
                if (cases[i].ok)
                        assert_int_equal(k, cases[i].kind);
        }
        assert_string_equal(review_kind_name(REVIEW_REOPEN), "reopen");
        assert_string_equal(review_kind_name(REVIEW_RETURN), "return");
        assert_string_equal(review_state_name(REVIEW_OPEN), "open");
        assert_string_equal(review_state_name(REVIEW_SUBMITTED), "submitted");
        assert_string_equal(review_state_name(REVIEW_APPROVED), "approved");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_finish_leaf, setup, teardown),
            cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
            cmocka_unit_test_setup_teardown(test_approve, setup, teardown),
            cmocka_unit_test_setup_teardown(test_finish_district, setup, teardown),
            cmocka_unit_test_setup_teardown(test_return_cascade, setup, teardown),
            cmocka_unit_test_setup_teardown(test_load, setup, teardown),
            cmocka_unit_test_setup_teardown(test_many, setup, teardown),
            cmocka_unit_test(test_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
