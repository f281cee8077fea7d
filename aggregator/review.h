/*
 * review: the review round (上报 → 审核 → 退回/通过) in the aggregator.
 *
 * Every (unit, period) is open, submitted or approved.  A school or an
 * office finishes its return (open -> submitted); the office above approves
 * it (submitted -> approved) or returns it with a reason (submitted or
 * approved -> open), and a return withdraws every ancestor that was
 * submitted or approved for the period ("reopen", reason "returned with
 * CODE").  While a unit is submitted or approved, every value record of
 * exactly that unit and period is refused (review_lock_reason).
 *
 * A finish is taken only when nothing blocks it (review_blockers): for a
 * leaf, every indicator of its stage's form is stored (forms.csv; without
 * a form, at least one value); no error rule fails for the unit and period;
 * every warning rule that fails there is explained (a note, from an
 * "explain" action); for a unit with children, every unit below it is
 * approved.
 *
 * The module holds the current state of every (unit, period) that was
 * ever acted on, and the set of explained warnings (unit, period, rule),
 * both in hash tables keyed by the indices of the org tree and of the
 * state's period table (so they are rebuilt with the state: review_clear,
 * then review_load / review_note_load for each row of the sink's state
 * stream).  Lookups are O(1); review_nlocked() lets a caller skip the
 * per-record lock check altogether when nothing is submitted or approved.
 * Memory: about 64 bytes per entry and 16 per note, plus the texts.
 *
 * Authorization (the table of docs/SECURITY.md): finish by a key of the
 * unit or an ancestor (registry_allows, as for values); approve and return
 * by a key registered for a strict ancestor of the unit, or for the root
 * unit by a key of the root.  A NULL collector (plain-text links, no keys)
 * may do everything.
 *
 * The aggregator is one thread; this module is not thread-safe.
 */
#ifndef EDUSTAT_REVIEW_H
#define EDUSTAT_REVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "forms.h"
#include "keys.h"
#include "proto.h"
#include "rulecheck.h"
#include "rules.h"
#include "state.h"

/* Units below listed by name in a refused finish; the rest are counted. */
#define REVIEW_LIST_BELOW 20
/* Room for any refusal or lock message (a long finish refusal is cut with "and N more"). */
#define REVIEW_WHY_MAX 4000

enum review_state { REVIEW_OPEN = 0, REVIEW_SUBMITTED, REVIEW_APPROVED };

enum review_kind { REVIEW_FINISH, REVIEW_APPROVE, REVIEW_RETURN, REVIEW_REOPEN };

/* The state of one (unit, period); an absent entry is open, by nobody. */
struct review_entry {
        int unit, period;
        enum review_state state;
        char *by;      /* collector that made it so; NULL: nobody yet */
        uint64_t at;   /* microseconds since 1970; 0 with by NULL */
        char *comment; /* approval comment, return reason, "returned with CODE"; or NULL */
};

/* One transition review_act() applied, for the uow. */
struct review_change {
        enum review_kind kind;
        int unit;
        enum review_state from, to;
        char *text; /* owned: comment, reason, "returned with CODE"; or NULL */
};

/* The transitions of one action: the action itself first, then its reopens, nearest first. */
struct review_changes {
        struct review_change *c;
        size_t n, cap;
};

struct review;

/*
 * A new, empty review over cfg, the rules rs and the forms (NULL: no
 * forms.csv), which must all outlive it.
 */
struct review *review_new(const struct config *cfg, const struct rules *rs,
                          const struct forms *forms);

/* Free; accepts NULL and sets *rp to NULL. */
void review_destroy(struct review **rp);

/* Forget every entry and note: before the state is loaded again. */
void review_clear(struct review *rv);

/* Entries held (open ones with a history included), entries not open, notes held. */
size_t review_count(const struct review *rv);
size_t review_nlocked(const struct review *rv);
size_t review_nnotes(const struct review *rv);

/*
 * Take one row of the sink's "reviews" stream; its period is interned in
 * s.  Returns 0, or -1 with the reason in why (an unknown unit, a period
 * that is not one, a state that is not open/submitted/approved), when the
 * row is left out.
 */
int review_load(struct review *rv, struct state *s, const struct proto_review_row *r, char *why,
                size_t whylen);

/* Take one row of the "notes" stream; -1 (left out) for an unknown unit, period or rule. */
int review_note_load(struct review *rv, struct state *s, const struct proto_note_row *r);

/* Note that rule (an index) is explained for (unit, period): an explain was taken. */
void review_note_add(struct review *rv, int unit, int period, int rule);

/* 1 when rule is explained for (unit, period). */
int review_noted(const struct review *rv, int unit, int period, int rule);

/* The entry of (unit, period), or NULL (open, by nobody).  Valid until the next change. */
const struct review_entry *review_get(const struct review *rv, int unit, int period);

/* "open", "submitted", "approved". */
const char *review_state_name(enum review_state st);

/* "finish", "approve", "return", "reopen". */
const char *review_kind_name(enum review_kind k);

/*
 * The transition a collector's action names in s: 0 with *k set for
 * "finish", "approve" or "return"; -1 for any other text ("explain", or
 * "reopen", which only the aggregator makes).
 */
int review_kind_parse(struct pstr s, enum review_kind *k);

/* at (microseconds since 1970) as local time "%Y-%m-%d %H:%M:%S %z" into buf. */
void review_time_text(uint64_t at, char *buf, size_t len);

/*
 * 1 when (unit, period) is submitted or approved, with the record's
 * refusal in why: "unit U period P is approved by NAME at TIME; ask NAME
 * to return it" or "unit U period P is submitted by NAME at TIME; ask the
 * office above to return it".  0 when values may change.
 */
int review_lock_reason(const struct review *rv, const struct state *s, int unit, int period,
                       char *why, size_t whylen);

/*
 * What blocks a finish of (unit, period) now (period -1: nothing is
 * stored for it), one owned string each, in *out (owned; free with
 * review_blockers_free); returns how many (at most PROTO_MAX_BLOCKERS).
 * rc may be NULL (no rules).  Whatever the unit's state: the caller asks
 * only for open units.
 */
size_t review_blockers(const struct review *rv, struct state *s, const struct rulecheck *rc,
                       int unit, int period, char ***out);
void review_blockers_free(char **b, size_t n);

/*
 * Resolve the unit and period an action or ask names, as collector who
 * (NULL: anyone) sees them: 0 with *unit and *period (the state's index, -1
 * when the period was never interned), or -1 with why: `unknown unit "X"`,
 * `not authorized for unit X` (a key of another branch: the words values
 * get), `invalid period "X"`.
 */
int review_resolve(const struct review *rv, const struct state *s, const struct collector *who,
                   struct pstr unit, struct pstr period, int *unitp, int *periodp, char *why,
                   size_t whylen);

/*
 * Apply action kind (finish, approve or return; not reopen) of collector
 * who, named by (its registry name, or the message's on plain-text links),
 * to unit and period at time at, with text (an approval's comment or a
 * return's reason; nil for finish).  On success returns 0 and appends the
 * transitions to out (the action, then each reopened ancestor, nearest
 * first); the period is interned in s.  An action that finds its own
 * result in place, made by the same collector (for a return, with the same
 * reason), is a resend after its commit: 0 with nothing appended.  Else -1
 * with the refusal in why,
 * naming the current state and the reason (the refusals of
 * docs/PROTOCOL.md, "Review"); nothing changed.
 */
int review_act(struct review *rv, struct state *s, const struct rulecheck *rc,
               const struct collector *who, const char *by, enum review_kind kind, struct pstr unit,
               struct pstr period, struct pstr text, uint64_t at, struct review_changes *out,
               char *why, size_t whylen);

/* Free the transitions' texts and array; the struct is left empty. */
void review_changes_free(struct review_changes *c);

#endif
