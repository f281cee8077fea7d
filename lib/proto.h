/*
 * proto: the msgpack wire format of every message edustat sends.
 * docs/PROTOCOL.md is the prose version of this file; keep them together.
 *
 * Every message is one ZeroMQ frame holding one msgpack array whose first
 * element is the message type as a string.  Arrays, not maps: they decode
 * 3x faster and the positions are this contract.
 *
 *   collector -> aggregator   (DEALER -> ROUTER)
 *     ["submit", 2, collector, batch_id, source, [record...]]
 *        batch_id: 1..64 bytes of printable ASCII; source: a string
 *        record = [line, version, unit, period, indicator, value, raw, reason]
 *        version = microseconds since 1970 x 1024 + a count of the records
 *        stamped from one clock reading (docs/PROTOCOL.md, "Versions")
 *        raw and reason are nil unless the collector rejected the row itself
 *        (a CSV row it could not split into fields).
 *        A version-3 submit is the same message with 3; its ack carries
 *        the warnings (below).  Version 2 is still accepted and answered
 *        with the version-2 ack.
 *     ["check", 3, collector, batch_id, source, [record...]]
 *        a dry run (submit --dry-run): judged like a submit, stored
 *        nowhere, answered at once with "checked"
 *     ["action", 3, collector, batch_id, kind, unit, period, rule, text]
 *        a statement about a unit and period, carried to PostgreSQL like a
 *        batch and acknowledged after its commit.  kind "explain": text is
 *        the explanation (说明) of the warning rule `rule` has for the unit
 *        and period.  rule and text are nil where a kind has no use for
 *        them.  kinds "finish", "approve" (text: a comment or nil) and
 *        "return" (text: the reason) move the unit's review state
 *        (docs/PROTOCOL.md, "Review").
 *     ["ask", 3, collector, batch_id, unit, period]
 *        the review state of a unit and period, answered at once with "told"
 *   aggregator -> collector
 *     ["ack", batch_id, accepted, changed, [[line, reason]...],
 *             [[line, stored_value, stored_collector, stored_version]...]
 *             (version 3 only:) , [warning...]
 *             (only when stale records were left out:) , stale_more]
 *        the stale list: valid records not stored because a newer version
 *        of the key, with another value, is stored ("stale")
 *        warning = [unit, period, rule, message, left, right]: a warning
 *        rule (经验校验) that fails for a unit and period the batch
 *        touched, once the batch is stored; message is the text people
 *        read ("rule R10 在校生数同比: pupils <= prev_year(pupils) * 1.3
 *        (1500 > 1300)"), left and right both sides' values as decimal text
 *     ["checked", batch_id, accepted, changed, [[line, reason]...], [stale...],
 *             [warning...] (, stale_more)]
 *        the answer to "check": what a submit would have given; nothing
 *        was stored, so changed counts the records that would change a value
 *     ["told", batch_id, state, by, at, comment, [blocker...]]
 *        the answer to "ask": state "open", "submitted" or "approved"; by
 *        the collector that made it so (nil: nobody yet), at microseconds
 *        since 1970 (nil with by), comment the approval's comment or a
 *        return's reason; blockers what a finish would be refused for now
 *        (empty when it would be taken, or the unit is not open)
 *     ["error", batch_id or nil, message]       the batch was not taken
 *
 *   aggregator -> sink        (DEALER -> ROUTER)
 *     ["hello", 3, aggregator_id]
 *     ["uow", seq, epoch, aggregator_id, [batch...], [value...], [reject...], [agg...]]
 *        batch  = [collector, batch_id, source]: each collector batch the uow
 *                 carries, once; values and rejects name theirs by index
 *        value  = [unit, period, indicator, value, version, flags, batch]
 *                 flags: PROTO_VALUE_NEW (key not in unit_value before this
 *                 uow), PROTO_VALUE_FINAL (the uow's last version of the key)
 *        reject = [batch, line, unit, period, indicator, raw, reason]
 *        agg    = [unit, level, period, indicator, value, numerator,
 *                  denominator, n_reporting, min, max, mean, cv, dimension, category]
 *                 dimension/category: nil for the unit's totals, else the
 *                 breakdown ("stage", "primary")
 *                 value/numerator/denominator: decimal text or nil;
 *                 min/max/mean/cv: float64 or nil
 *        then (all three may be empty):
 *        [violation...], full, [action...]
 *        violation = [unit, period, rule, severity, left, right]: the rule
 *                 fails for the unit and period now, with these values
 *                 (decimal text); left and right nil: it no longer fails
 *        full     1 when the violation list is every violation there is
 *                 (the first uow after a start, when the rules may have
 *                 changed): the sink deletes every other row; else 0
 *        action   = [batch, kind, unit, period, rule, text, at], as the
 *                 collector's "action" message; the batch's collector did it;
 *                 at: microseconds since 1970 when the aggregator took it
 *                 (a 6-item action decodes with at 0).  Kind "reopen": an
 *                 ancestor withdrawn by the return before it in the list.
 *   sink -> aggregator
 *     ["rows", [[unit, period, indicator, value, version, collector]...]]
 *                                                state, in chunks
 *     ["reviews", [[unit, period, state, by, at, comment]...]]
 *                                                review state, in chunks
 *     ["notes", [[unit, period, rule]...]]       explained warnings, in chunks
 *     ["ready", last_seq, nrows, epoch, nreviews, nnotes]
 *                                                end of state; uows may flow,
 *                                                carrying this epoch
 *     ["ok", seq]                                committed (or had been)
 *     ["fail", seq, message]                     refused (by PostgreSQL, or
 *                                                an id that is not the key's)
 *     ["fenced", seq, message]                   another session of this
 *                                                aggregator id said hello
 *                                                since: nothing applied
 *
 * Decoding is zero-copy: every struct pstr points into the caller's buffer,
 * which must outlive the decoded struct.  Every decoder checks type, array
 * length and string length of every element before use.  A frame is first
 * walked byte by byte to prove every length and count fits and to enforce
 * the caps, then read once by a cursor over those bytes; msgpack-c is used
 * for encoding only (docs/PROTOCOL.md, "Decoding rules", says why).
 */
#ifndef EDUSTAT_PROTO_H
#define EDUSTAT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "util.h"

#define PROTO_VERSION 3
/* The oldest submit still taken (answered with its version's ack). */
#define PROTO_SUBMIT_VERSION_MIN 2

/* Caps with their defaults, in one place. */
#define PROTO_MAX_SUBMIT_BYTES (16 * 1024 * 1024)  /* ZMQ_MAXMSGSIZE, collector side */
#define PROTO_MAX_BATCH        20000               /* records per submit */
#define PROTO_MAX_FIELD        256                 /* bytes of unit/period/indicator/value */
#define PROTO_MAX_TEXT         4096                /* bytes of raw, reason, source, names */
#define PROTO_MAX_ID           64                  /* bytes of batch_id, collector, aggregator_id */
#define PROTO_MAX_UOW_BYTES    (512 * 1024 * 1024) /* aggregator -> sink; trusted peer */
#define PROTO_MAX_BLOCKERS     1000                /* blockers in a "told" */

#define PROTO_VALUE_NEW   1u
#define PROTO_VALUE_FINAL 2u

/* A byte string inside a decoded buffer; p is NULL for nil.  Not terminated. */
struct pstr {
        const char *p;
        uint32_t len;
};

enum proto_type {
        PROTO_BAD = 0,
        PROTO_SUBMIT,
        PROTO_ACK,
        PROTO_ERROR,
        PROTO_HELLO,
        PROTO_UOW,
        PROTO_ROWS,
        PROTO_READY,
        PROTO_OK,
        PROTO_FAIL,
        PROTO_FENCED,
        PROTO_CHECK,
        PROTO_CHECKED,
        PROTO_ACTION,
        PROTO_REVIEWS,
        PROTO_NOTES,
        PROTO_ASK,
        PROTO_TOLD,
};
#define PROTO_LAST PROTO_TOLD

struct proto_record {
        uint32_t line;
        uint64_t version;
        struct pstr unit, period, indicator, value;
        struct pstr raw, reason; /* nil unless rejected by the collector */
};

struct proto_submit {
        unsigned version; /* PROTO_SUBMIT_VERSION_MIN .. PROTO_VERSION */
        int dry_run;      /* 1 for "check": judge, store nothing */
        struct pstr collector, batch_id, source;
        uint32_t nrec;
        struct proto_record *rec; /* owned: free with proto_submit_free */
};

struct proto_reject_line {
        uint32_t line;
        struct pstr reason;
};

/* A valid record that was not stored: the key holds a newer, other value. */
struct proto_stale {
        uint32_t line;
        struct pstr value;     /* the stored value */
        struct pstr collector; /* who stored it */
        uint64_t version;      /* its version: microseconds since 1970 x 1024 */
};

/* A warning rule that fails for a unit and period a batch touched. */
struct proto_warning {
        struct pstr unit, period, rule, message, left, right;
};

struct proto_ack {
        enum proto_type type; /* PROTO_ACK, PROTO_CHECKED or PROTO_ERROR */
        struct pstr batch_id; /* nil only in an error without a batch */
        uint32_t accepted, changed;
        uint32_t nrej;
        struct proto_reject_line *rej; /* owned: free with proto_ack_free */
        uint32_t nstale;
        struct proto_stale *stale; /* owned: free with proto_ack_free */
        uint32_t stale_more;       /* stale records not listed (the last item; 0 when absent) */
        struct pstr message;       /* PROTO_ERROR only */
        uint32_t nwarn;
        struct proto_warning *warn; /* owned: free with proto_ack_free; none in a version-2 ack */
};

/* A collector batch in a uow: sent once, named by index by its values and rejects. */
struct proto_batch {
        struct pstr collector, batch_id, source;
};

/*
 * A value of a uow.  collector and batch_id are its batch's: the decoder
 * fills them from the uow's batch table; the encoder takes the batch's
 * index instead (proto_value_pack) and ignores them.
 */
struct proto_value {
        struct pstr unit, period, indicator, value;
        uint64_t version;
        unsigned flags;
        struct pstr collector, batch_id;
};

/* A rejection of a uow; collector, source and batch_id as for proto_value. */
struct proto_reject {
        struct pstr collector, source, batch_id;
        uint32_t line;
        struct pstr unit, period, indicator, raw, reason;
};

/* Bits of proto_agg.nulls: which of the optional fields are NULL. */
#define PROTO_AGG_NULL_VALUE 0x01u
#define PROTO_AGG_NULL_NUM   0x02u
#define PROTO_AGG_NULL_DEN   0x04u
#define PROTO_AGG_NULL_MIN   0x08u
#define PROTO_AGG_NULL_MAX   0x10u
#define PROTO_AGG_NULL_MEAN  0x20u
#define PROTO_AGG_NULL_CV    0x40u

struct proto_agg {
        struct pstr unit, level, period, indicator;
        struct pstr value, numerator, denominator; /* decimal text */
        uint32_t n_reporting;
        double min, max, mean, cv;
        unsigned nulls;
        struct pstr dimension, category; /* a breakdown (stage, primary...); nil for totals */
};

/* A rule violation of a uow: left and right nil (p NULL) when it no longer fails. */
struct proto_violation {
        struct pstr unit, period, rule, severity, left, right;
};

/*
 * An action, of the collector's message or of a uow; in a uow collector and
 * batch_id are its batch's, as for proto_value.  at: microseconds since
 * 1970 when the aggregator took it (uow only; 0 when the sender had none).
 */
struct proto_action {
        struct pstr collector, batch_id;
        struct pstr kind, unit, period, rule, text; /* rule, text: nil when unused */
        uint64_t at;
};

/* A row of edustat.review in the state stream: by and comment nil (p NULL), at 0 when unset. */
struct proto_review_row {
        struct pstr unit, period, state, by, comment;
        uint64_t at;
};

/* A row of edustat.rule_note in the state stream: the warning is explained. */
struct proto_note_row {
        struct pstr unit, period, rule;
};

/* "ask": the review state of unit and period, please. */
struct proto_ask {
        struct pstr collector, batch_id, unit, period;
};

/* "told": the answer to an ask.  by and comment nil, at 0 when unset. */
struct proto_told {
        struct pstr batch_id, state, by, comment;
        uint64_t at;
        uint32_t nblockers;
        struct pstr *blockers; /* owned: free with proto_told_free */
};

struct proto_uow {
        uint64_t seq;
        uint64_t epoch; /* the sink's epoch of the session that sent it */
        struct pstr aggregator;
        uint32_t nvalues, nrejects, naggs;
        struct proto_value *values; /* owned: free with proto_uow_free */
        struct proto_reject *rejects;
        struct proto_agg *aggs;
        uint32_t nbatches;
        struct proto_batch *batches; /* owned: free with proto_uow_free */
        uint32_t nviolations, nactions;
        struct proto_violation *violations; /* owned: free with proto_uow_free */
        int violations_full;          /* the list is every violation there is: delete the others */
        struct proto_action *actions; /* owned: free with proto_uow_free */
};

struct proto_row {
        struct pstr unit, period, indicator, value;
        uint64_t version;
        struct pstr collector;
};

/*
 * Type of the message in buf, or PROTO_BAD when it is not a msgpack array
 * starting with a known type string.  Cheap: looks at the first bytes only.
 */
enum proto_type proto_peek(const void *buf, size_t len);

/*
 * Decoders.  Each returns 0 and fills *out, or -1 with a reason in err
 * ("line 17: unit is not a string": a record is named by its line once
 * that could be read, else by its position, "record 3: ...").  On success
 * the owned arrays inside *out must be freed with the matching _free (which
 * also accepts a zeroed struct).  Caps: a submit holds at most
 * PROTO_MAX_BATCH records and fields no longer than PROTO_MAX_FIELD /
 * PROTO_MAX_TEXT / PROTO_MAX_ID.
 *
 * proto_submit_decode: on failure *out holds nothing owned, but out->batch_id is the batch id
 * when it could be read (a valid one), so that the "error" reply can name
 * the batch; it is nil otherwise.
 */
EDUSTAT_MUST_USE int proto_submit_decode(const void *buf, size_t len, struct proto_submit *out,
                                         char *err, size_t errlen);
void proto_submit_free(struct proto_submit *s);

/* Decodes "ack" (version 2 or 3), "checked" and "error" (out->message set for error). */
EDUSTAT_MUST_USE int proto_ack_decode(const void *buf, size_t len, struct proto_ack *out, char *err,
                                      size_t errlen);
void proto_ack_free(struct proto_ack *a);

/*
 * "action": every field of out points into buf; collector and batch_id
 * are the message's own.  Version 3 only.  On failure out->batch_id is the
 * batch id when it could be read (a valid one), as for a submit.
 */
EDUSTAT_MUST_USE int proto_action_decode(const void *buf, size_t len, struct proto_action *out,
                                         char *err, size_t errlen);

/*
 * "ask": every field points into buf.  Version 3.  On failure out->batch_id
 * is the batch id when it could be read (a valid one), as for a submit.
 */
EDUSTAT_MUST_USE int proto_ask_decode(const void *buf, size_t len, struct proto_ask *out, char *err,
                                      size_t errlen);
/* "told": out->blockers is owned (proto_told_free); the strings point into buf. */
EDUSTAT_MUST_USE int proto_told_decode(const void *buf, size_t len, struct proto_told *out,
                                       char *err, size_t errlen);
void proto_told_free(struct proto_told *t);

EDUSTAT_MUST_USE int proto_hello_decode(const void *buf, size_t len, struct pstr *aggregator,
                                        char *err, size_t errlen);

EDUSTAT_MUST_USE int proto_uow_decode(const void *buf, size_t len, struct proto_uow *out, char *err,
                                      size_t errlen);
void proto_uow_free(struct proto_uow *u);

/* "rows": *rows is owned (free()), *n set. */
EDUSTAT_MUST_USE int proto_rows_decode(const void *buf, size_t len, struct proto_row **rows,
                                       uint32_t *n, char *err, size_t errlen);
/* "reviews" and "notes": *rows is owned (free()), *n set. */
EDUSTAT_MUST_USE int proto_reviews_decode(const void *buf, size_t len,
                                          struct proto_review_row **rows, uint32_t *n, char *err,
                                          size_t errlen);
EDUSTAT_MUST_USE int proto_notes_decode(const void *buf, size_t len, struct proto_note_row **rows,
                                        uint32_t *n, char *err, size_t errlen);
/* "ready": the counts of the rows, reviews and notes messages before it. */
EDUSTAT_MUST_USE int proto_ready_decode(const void *buf, size_t len, uint64_t *last_seq,
                                        uint64_t *nrows, uint64_t *epoch, uint64_t *nreviews,
                                        uint64_t *nnotes, char *err, size_t errlen);
/* "ok", "fail" and "fenced": *type says which; *message is nil for ok. */
EDUSTAT_MUST_USE int proto_result_decode(const void *buf, size_t len, enum proto_type *type,
                                         uint64_t *seq, struct pstr *message, char *err,
                                         size_t errlen);

/*
 * Encoders write into a msgpack_packer (usually over a msgpack_sbuffer).
 * The _begin functions write the header and the array header of n items;
 * the caller then packs exactly n items with the matching _pack function.
 */
void proto_submit_begin(msgpack_packer *pk, const char *collector, const char *batch_id,
                        const char *source, uint32_t nrec);
void proto_record_pack(msgpack_packer *pk, const struct proto_record *r);
/* A "check" (a dry run): then nrec proto_record_pack, as for a submit. */
void proto_check_begin(msgpack_packer *pk, const char *collector, const char *batch_id,
                       const char *source, uint32_t nrec);
/* An "action" message, whole (a->at is not sent: the aggregator sets it). */
void proto_action_pack(msgpack_packer *pk, const struct proto_action *a);
/* An "ask" message, whole. */
void proto_ask_pack(msgpack_packer *pk, const struct proto_ask *a);
/* A "told" message, whole: its t->nblockers blockers (at most PROTO_MAX_BLOCKERS). */
void proto_told_pack(msgpack_packer *pk, const struct proto_told *t);

/*
 * An ack: proto_ack_begin, nrej proto_reject_line_pack, then
 * proto_ack_stale_begin and nstale proto_stale_pack.  With
 * proto_ack_begin_more and stale_more > 0, the ack has a seventh item, the
 * count of stale records not listed: pack it last with
 * proto_ack_stale_more_pack.
 */
void proto_ack_begin(msgpack_packer *pk, struct pstr batch_id, uint32_t accepted, uint32_t changed,
                     uint32_t nrej);
void proto_ack_begin_more(msgpack_packer *pk, struct pstr batch_id, uint32_t accepted,
                          uint32_t changed, uint32_t nrej, uint32_t stale_more);
void proto_ack_stale_more_pack(msgpack_packer *pk, uint32_t stale_more);
void proto_reject_line_pack(msgpack_packer *pk, uint32_t line, struct pstr reason);
void proto_ack_stale_begin(msgpack_packer *pk, uint32_t nstale);
void proto_stale_pack(msgpack_packer *pk, const struct proto_stale *st);
/*
 * The version-3 ack (type PROTO_ACK) or a "checked" (PROTO_CHECKED): as
 * above, then proto_ack_warnings_begin and nwarn proto_warning_pack; with
 * stale_more > 0 an eighth item follows the warnings, the count of stale
 * records not listed (proto_ack_stale_more_pack).
 */
void proto_ack3_begin(msgpack_packer *pk, enum proto_type type, struct pstr batch_id,
                      uint32_t accepted, uint32_t changed, uint32_t nrej, uint32_t stale_more);
void proto_ack_warnings_begin(msgpack_packer *pk, uint32_t nwarn);
void proto_warning_pack(msgpack_packer *pk, const struct proto_warning *wn);
void proto_error_pack(msgpack_packer *pk, struct pstr batch_id, const char *message);

void proto_hello_pack(msgpack_packer *pk, const char *aggregator);

/*
 * A uow is four arrays in a row: call proto_uow_begin, then nbatches
 * proto_uow_batch_pack, then proto_uow_values_begin and nvalues
 * proto_value_pack, then proto_uow_rejects_begin and nrejects
 * proto_reject_pack, then proto_uow_aggs_begin and naggs proto_agg_pack.
 * A value or rejection names its batch by its index among those packed
 * (< nbatches); the decoder refuses any other.
 */
void proto_uow_begin(msgpack_packer *pk, uint64_t seq, uint64_t epoch, const char *aggregator,
                     uint32_t nbatches);
void proto_uow_batch_pack(msgpack_packer *pk, const struct proto_batch *b);
void proto_uow_values_begin(msgpack_packer *pk, uint32_t nvalues);
void proto_value_pack(msgpack_packer *pk, const struct proto_value *v, uint32_t batch);
void proto_uow_rejects_begin(msgpack_packer *pk, uint32_t nrejects);
void proto_reject_pack(msgpack_packer *pk, const struct proto_reject *r, uint32_t batch);
void proto_uow_aggs_begin(msgpack_packer *pk, uint32_t naggs);
void proto_agg_pack(msgpack_packer *pk, const struct proto_agg *a);
/* Then proto_uow_violations_begin and nviolations proto_violation_pack; then
 * proto_uow_actions_begin (full: the violations are all there are) and
 * nactions proto_uow_action_pack, each naming its batch by index (7 items,
 * a->at the 7th). */
void proto_uow_violations_begin(msgpack_packer *pk, uint32_t nviolations);
void proto_violation_pack(msgpack_packer *pk, const struct proto_violation *v);
void proto_uow_actions_begin(msgpack_packer *pk, int full, uint32_t nactions);
void proto_uow_action_pack(msgpack_packer *pk, const struct proto_action *a, uint32_t batch);

void proto_rows_begin(msgpack_packer *pk, uint32_t n);
void proto_row_pack(msgpack_packer *pk, const struct proto_row *r);
/* "reviews" and "notes": the _begin, then n rows with the matching _pack. */
void proto_reviews_begin(msgpack_packer *pk, uint32_t n);
void proto_review_row_pack(msgpack_packer *pk, const struct proto_review_row *r);
void proto_notes_begin(msgpack_packer *pk, uint32_t n);
void proto_note_row_pack(msgpack_packer *pk, const struct proto_note_row *r);
void proto_ready_pack(msgpack_packer *pk, uint64_t last_seq, uint64_t nrows, uint64_t epoch,
                      uint64_t nreviews, uint64_t nnotes);
void proto_ok_pack(msgpack_packer *pk, uint64_t seq);
void proto_fail_pack(msgpack_packer *pk, uint64_t seq, const char *message);
void proto_fenced_pack(msgpack_packer *pk, uint64_t seq, const char *message);

/* A pstr over a C string (NULL gives nil). */
struct pstr pstr_of(const char *s);

#endif
