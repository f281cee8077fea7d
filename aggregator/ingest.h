/*
 * ingest: the aggregator's judgement of one submitted record.
 *
 * Every field of a record comes from outside and is checked here before it
 * touches the state: the unit against the org tree, the period against the
 * period rules, the indicator against the catalogue (ratios are derived,
 * never submitted), and the value against the indicator's kind and scale.
 * A refused record gets one short reason in English that names the
 * offending text, e.g. `unknown unit "2111020999"` or `value "12.5" is not a
 * whole number; "pupils" is a count`.  These reasons are what the school
 * sees on its receipt and what `rejected.reason` stores.
 */
#ifndef EDUSTAT_INGEST_H
#define EDUSTAT_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keys.h"
#include "proto.h"
#include "state.h"

/* Room for any reason ingest writes. */
#define INGEST_REASON_MAX 512
/* Most bytes of a collector's own reason for a row it refused, as kept. */
#define INGEST_CLIENT_REASON_MAX 200

struct ingest_key {
        int unit, period, indicator;
        uint64_t mant;
};

/*
 * Check r, submitted by collector who (NULL when links are plain text and
 * nobody is authenticated).  Returns 0 with the resolved key in *out (the
 * period interned in s), or -1 with the reason in why.  A record the
 * collector already refused (r->reason set) is refused with the collector's
 * reason; a known unit who is not registered for gets
 * `not authorized for unit X`, before any other check of the record.
 */
int ingest_check(struct state *s, const struct config *cfg, const struct collector *who,
                 const struct proto_record *r, struct ingest_key *out, char *why, size_t whylen);

/*
 * What ingest_check_memo() resolved for the last record of a batch, for the
 * next one to reuse: a school's file is one unit's rows, so most records
 * name the unit the record before did.  Zero it before each batch; it
 * points into the batch's buffer and holds for one collector.
 */
struct ingest_memo {
        struct pstr unit; /* as the last record spelled it; p is NULL when empty */
        int index;        /* that unit's index in the tree */
        int allowed;      /* 1 when the batch's collector may submit for it */
        int indicator;    /* the one after the last found, tried first (then the catalogue's first):
                             rows follow the catalogue */
        struct pstr period; /* the last period interned, as spelled; p is NULL when empty */
        int period_index;
};

/*
 * ingest_check() for the records of one batch, in order, with memo (which
 * may be NULL) carrying the unit lookup and authorization from one record
 * to the next, as well as the last period's check and index, and trying the
 * indicator after the last one (then the catalogue's first) before looking
 * the code up.  Same results, same reasons.
 */
int ingest_check_memo(struct state *s, const struct config *cfg, const struct collector *who,
                      const struct proto_record *r, struct ingest_memo *memo,
                      struct ingest_key *out, char *why, size_t whylen);

/*
 * Versions are microseconds since 1970 x 1024 plus a count of the records
 * stamped from one clock reading (docs/PROTOCOL.md, "Versions").  A version far ahead of the
 * server's clock would lock its key against every later correction, so a
 * record whose version lies more than skew_s seconds ahead of now_us (the
 * server's clock, in microseconds since 1970) is refused.  Returns 0, or -1
 * with a reason that says how far ahead, e.g. `version is 3 days ahead of
 * the server clock; fix this machine's clock`.
 */
int ingest_version_check(uint64_t version, int64_t now_us, long skew_s, char *why, size_t whylen);

/*
 * src[0..len) as an owned string fit to print in a reason, a log line or a
 * receipt: invalid UTF-8 becomes U+FFFD, control characters (C0, DEL, C1)
 * become \xNN or \u00NN, so nothing a client sends can move a terminal's
 * cursor, ring its bell or forge a line; at most about cap bytes are kept
 * (whole characters), then "...".
 */
char *ingest_printable(const char *src, size_t len, size_t cap);

/*
 * Copy src[0..len) into an owned, NUL-terminated string that PostgreSQL will
 * take as text: invalid UTF-8 and NUL bytes become U+FFFD.  Input is capped
 * by the protocol, so the result is at most 3 * len + 1 bytes.
 */
char *ingest_text(const char *src, size_t len);

#endif
