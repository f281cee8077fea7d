/*
 * batchlog: the batches the aggregator took recently, to tell a resend
 * from a batch id reused with other content.
 *
 * A batch is identified by (collector, batch_id).  A collector resends a
 * batch with the same bytes (its outbox keeps the packed message), so a
 * digest of those bytes tells the two cases apart: the same digest is a
 * resend, to be answered like the first; another digest is a client that
 * reused an id, to be refused rather than confused with the first batch.
 *
 * While a batch waits for its commit, the uow that holds it is the exact
 * record (uow_batch_find).  Afterwards this log remembers it, in a fixed
 * table of BATCHLOG_WAYS x BATCHLOG_SETS entries (16 bytes each, 2 MiB):
 * when a set is full its oldest entry makes room, so a batch is remembered
 * for at least the last few hundred thousand batches of all collectors
 * together, and one flooding collector cannot grow it.  It lives in memory
 * only: after a restart a reused id is taken as a new batch, which stores
 * its values like any other and whose rejected lines that collide with the
 * first batch's on (collector, batch_id, line, unit, period, indicator) are
 * not stored twice.
 *
 * The aggregator keeps a second log of the same kind for the actions
 * (finish, approve, return, explain) whose uow committed: a resend of one
 * is acknowledged as done, never judged again against a state that has
 * moved on since.
 */
#ifndef EDUSTAT_BATCHLOG_H
#define EDUSTAT_BATCHLOG_H

#include <stdint.h>

#define BATCHLOG_SETS 32768
#define BATCHLOG_WAYS 4

struct batchlog;

enum batchlog_result {
        BATCHLOG_NEW,   /* not seen (or forgotten): now remembered */
        BATCHLOG_SAME,  /* seen with this digest: a resend */
        BATCHLOG_OTHER, /* seen with another digest: the id was reused */
};

/* A new, empty log; owned, free with batchlog_destroy. */
struct batchlog *batchlog_new(void);

/* Free; accepts NULL and sets *lp to NULL. */
void batchlog_destroy(struct batchlog **lp);

/*
 * Look up the batch whose identity hashes to key (uow_batch_key) and
 * remember it with digest when it is new.  A BATCHLOG_OTHER leaves the
 * remembered digest as it was: the first batch keeps its id.
 */
enum batchlog_result batchlog_check(struct batchlog *l, uint64_t key, uint64_t digest);

/* 1 when the batch whose identity hashes to key is remembered with digest; remembers nothing. */
int batchlog_has(const struct batchlog *l, uint64_t key, uint64_t digest);

#endif
