/*
 * uow: a unit of work, the aggregator's batch of effects for the sink.
 *
 * A uow gathers, from any number of collector batches, every accepted change
 * (the history), the last change of each key (for unit_value), every
 * rejection, and at flush time the rows of the aggregates those changes made
 * dirty.  It is encoded once (lib/proto.h "uow") and kept, encoded, until the
 * sink acknowledges its sequence number, so it can be resent verbatim.  The
 * collector batches it carries are acknowledged only then: that is what
 * makes a collector's ack mean "committed in PostgreSQL".
 *
 * Memory: the change array and the wire buffer a uow releases are kept,
 * one of each and below a cap, in module-level spares for the next uow
 * (every flush fills about the same sizes).  The aggregator is one thread;
 * this module is not thread-safe.
 */
#ifndef EDUSTAT_UOW_H
#define EDUSTAT_UOW_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "config.h"
#include "keys.h"
#include "proto.h"
#include "review.h"
#include "rulecheck.h"
#include "state.h"
#include "wire.h"

/*
 * The first UOW_REJECTS_IN_FULL rejections of a batch keep the raw text of
 * their row for edustat.rejected; the rest keep their line, fields and
 * reason only.  A batch of 20,000 rows of 4 KB each must not become 80 MB
 * of rejections.
 */
#define UOW_REJECTS_IN_FULL 1000

/*
 * About what a change adds to an encoded uow (a school's fields are short),
 * for uow_full()'s estimate: 100,000 changes come to 6.4 MB, under the
 * default EDUSTAT_UOW_BYTES, so bulk loads still flush by their count.
 */
#define UOW_CHANGE_BYTES 64

/* Warnings a batch's ack lists at most; the rest are counted in the log only. */
#define UOW_WARNINGS_MAX 1000

struct uow_reject_line {
        uint32_t line;
        char *reason;
};

/* A valid record that a newer, different stored value kept out. */
struct uow_stale_line {
        uint32_t line;
        char *value, *collector; /* the stored value and who stored it */
        uint64_t version;        /* the stored value's version */
};

/* A warning rule failing for a unit and period a batch touched, as its ack says it. */
struct uow_warning {
        char *unit, *period, *rule, *message, *left, *right;
};

/*
 * One collector batch carried by a uow, and what its ack will say.  A
 * batch is identified by (collector, batch_id): two collectors may pick the
 * same id.  digest is a hash of the submit's bytes, so that a resend (the
 * same bytes from the outbox) can be told from another batch that reuses
 * the id.
 */
/* Stale records an ack lists per batch; the rest are counted (the ack's stale_more). */
#define UOW_STALE_IN_ACK 1000

struct uow_batch {
        struct wire_peer peer;
        char *batch_id, *collector, *source;
        uint64_t id_hash; /* uow_batch_key(collector, batch_id) */
        uint64_t digest;
        uint32_t accepted, changed;
        struct uow_reject_line *rej;
        size_t nrej, rejcap;
        struct uow_stale_line *stale;
        size_t nstale, stalecap;
        size_t nstale_more; /* stale records past UOW_STALE_IN_ACK: counted, not listed */
        unsigned version;   /* the submit's protocol version: which ack it gets */
        struct uow_warning *warn;
        size_t nwarn, warncap, warn_more; /* warn_more: past UOW_WARNINGS_MAX, not listed */
};

/*
 * An action carried by a uow, committed with it: "explain", or a review
 * transition ("finish", "approve", "return", "reopen").
 */
struct uow_action {
        uint32_t batch;
        char *kind, *unit, *period, *rule, *text; /* rule, text: NULL when unused */
        uint64_t at;                              /* microseconds since 1970 when taken */
};

struct uow_change {
        int unit, period, indicator;
        uint32_t batch;
        uint64_t mant, version;
        unsigned flags; /* PROTO_VALUE_NEW on the change that created the key */
};

struct uow_reject {
        uint32_t batch, line;
        char *unit, *period, *indicator, *raw, *reason;
};

struct uow {
        uint64_t seq;
        struct uow_batch *batches;
        size_t nbatches, batchcap;
        struct uow_change *changes;
        size_t nchanges, changecap;
        struct uow_reject *rejects;
        size_t nrejects, rejectcap;
        struct uow_action *actions;
        size_t nactions, actioncap;
        size_t naggs;
        size_t bytes;         /* estimate of the encoded batches, changes and rejections */
        int noack;            /* an earlier uow failed: its batches were judged against values
                                 PostgreSQL does not hold; commit, but let the collectors resend */
        int64_t opened_ms;    /* when the first batch arrived */
        int64_t sent_ms;      /* last (re)send, 0 before encoding */
        msgpack_sbuffer wire; /* the encoded message, after uow_encode */
};

/* A new, empty uow with sequence number seq. */
struct uow *uow_new(uint64_t seq);

/* Free; accepts NULL and sets *up to NULL. */
void uow_destroy(struct uow **up);

/*
 * Add a batch from peer with the digest of its message; returns its index
 * in u->batches.  The strings are copied (and made valid UTF-8).
 */
uint32_t uow_batch_add(struct uow *u, const struct wire_peer *peer, struct pstr batch_id,
                       struct pstr collector, struct pstr source, uint64_t digest);

/* The batch of this collector with this id, or NULL. */
struct uow_batch *uow_batch_find(struct uow *u, struct pstr collector, struct pstr batch_id);

/* The 64-bit hash of a batch's identity (collector, batch_id). */
uint64_t uow_batch_key(struct pstr collector, struct pstr batch_id);

/*
 * Note that the record on line of batch was valid but not stored: the key
 * holds value (text) stored by collector at a higher version.  The strings
 * are copied; the ack lists the line.
 */
void uow_stale_add(struct uow *u, uint32_t batch, uint32_t line, const char *value,
                   const char *collector, uint64_t version);

/* Record an action of batch (copied, a->at too); the batch's ack waits for its commit. */
void uow_action_add(struct uow *u, uint32_t batch, const struct proto_action *a);

/* Record an accepted change that state_apply() reported NEW (is_new) or CHANGED. */
void uow_change_add(struct uow *u, uint32_t batch, int unit, int period, int indicator,
                    uint64_t mant, uint64_t version, int is_new);

/*
 * Record a rejection of record r of batch with this reason; it is stored in
 * `rejected` and listed in the batch's ack.  raw is r's raw text when the
 * collector sent one, else its fields joined by commas.
 */
void uow_reject_add(struct uow *u, uint32_t batch, const struct proto_record *r,
                    const char *reason);

/*
 * 1 when u should be flushed: it holds max_records changes and rejections
 * together, or about max_bytes of them encoded (aggregate rows come on
 * top, at most one per change).
 */
int uow_full(const struct uow *u, size_t max_records, size_t max_bytes);

/*
 * Encode u for the sink: its changes (unit_value flags worked out per key),
 * its rejections, a row for every dirty aggregate of s, every violation row
 * rc (may be NULL) has for the next uow and u's actions; the dirty marks of
 * s and rc are then cleared, stamped with the aggregator's id and the epoch the sink
 * gave its session (the sink refuses uows of an older epoch: "fenced").
 * After this u->wire holds the message and the change and rejection arrays
 * are released.
 */
void uow_encode(struct uow *u, struct state *s, const struct config *cfg, struct rulecheck *rc,
                const char *aggregator_id, uint64_t epoch);

/*
 * Take batch sub, from peer and from collector (who's name, or the name in
 * the message when links are plain text and who is NULL), into u: check
 * each record (ingest_check_memo, then its version against now_us and
 * max_skew_s); with rc (may be NULL), refuse every record of a school and
 * period whose values, the batch's laid over the stored ones, fail an
 * error rule; with rv (may be NULL), refuse every record of a unit and
 * period that is submitted or approved, with review_lock_reason()'s words;
 * apply the valid ones to s (state_apply_by) and note what
 * each did: a change, a rejection with its reason, or a stale record (a
 * newer, different value is stored).  Then rc re-checks what the changes
 * touch, and the batch lists the warnings that fail for the schools and
 * periods it named.  Returns the batch, whose counts say what its ack
 * will.  The daemon and bench/agg_inproc.c both run this.
 */
struct uow_batch *uow_batch_take(struct uow *u, struct state *s, const struct config *cfg,
                                 struct rulecheck *rc, const struct review *rv,
                                 const struct collector *who, struct pstr collector,
                                 const struct proto_submit *sub, const struct wire_peer *peer,
                                 uint64_t digest, int64_t now_us, long max_skew_s);

/*
 * Judge sub as uow_batch_take() would, storing nothing (a dry run): an
 * owned batch, not in any uow, whose counts, rejections and warnings are
 * what a submit would get (changed: the records that would change a
 * value).  Periods it names are interned in s.  Free with uow_batch_free().
 */
struct uow_batch *uow_batch_check(struct state *s, const struct config *cfg, struct rulecheck *rc,
                                  const struct review *rv, const struct collector *who,
                                  struct pstr collector, const struct proto_submit *sub,
                                  const struct wire_peer *peer, int64_t now_us, long max_skew_s);

/* Free a batch from uow_batch_check(); accepts NULL and sets *bp to NULL. */
void uow_batch_free(struct uow_batch **bp);

/* Send b's answer: its ack (version 2 or 3, as its submit), or "checked" for a dry run. */
void uow_batch_reply(const struct uow_batch *b, void *router, enum proto_type type);

/* Send every batch's ack through the collectors' ROUTER socket. */
void uow_ack(struct uow *u, void *router);

/* Move all batches of src to the end of dst's list. */
void uow_batches_move(struct uow *dst, struct uow *src);

#endif
