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
 */
#ifndef EDUSTAT_UOW_H
#define EDUSTAT_UOW_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "config.h"
#include "proto.h"
#include "state.h"
#include "zsock.h"

struct uow_reject_line {
        uint32_t line;
        char *reason;
};

/* One collector batch carried by a uow, and what its ack will say. */
struct uow_batch {
        struct zsock_peer peer;
        char *batch_id, *collector, *source;
        uint64_t id_hash; /* of batch_id as received, for uow_batch_find */
        uint32_t accepted, changed;
        struct uow_reject_line *rej;
        size_t nrej, rejcap;
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
        size_t naggs;
        int64_t opened_ms;    /* when the first batch arrived */
        int64_t sent_ms;      /* last (re)send, 0 before encoding */
        msgpack_sbuffer wire; /* the encoded message, after uow_encode */
};

/* A new, empty uow with sequence number seq. */
struct uow *uow_new(uint64_t seq);

/* Free; accepts NULL and sets *up to NULL. */
void uow_destroy(struct uow **up);

/*
 * Add a batch from peer; returns its index in u->batches.  The strings are
 * copied (and made valid UTF-8).
 */
uint32_t uow_batch_add(struct uow *u, const struct zsock_peer *peer, struct pstr batch_id,
                       struct pstr collector, struct pstr source);

/* The batch with this id, or NULL. */
struct uow_batch *uow_batch_find(struct uow *u, struct pstr batch_id);

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
 * Encode u for the sink: its changes (unit_value flags worked out per key),
 * its rejections and a row for every dirty aggregate of s, whose dirty marks
 * are then cleared.  After this u->wire holds the message and the change
 * and rejection arrays are released.
 */
void uow_encode(struct uow *u, struct state *s, const struct config *cfg,
                const char *aggregator_id);

/* Send every batch's ack through the collectors' ROUTER socket. */
void uow_ack(struct uow *u, void *router);

/* Move all batches of src to the end of dst's list. */
void uow_batches_move(struct uow *dst, struct uow *src);

#endif
