/*
 * deliver: sends the outbox's batches to the aggregator and records the
 * answers in the outbox.  Used by `submit` (until everything is answered or
 * a deadline passes) and by `run` (for as long as it runs).
 *
 * Batches go out in outbox order (earlier runs' first) over one DEALER
 * socket, at most policy.window of them unanswered at a time.  An
 * unanswered batch is resent with capped exponential backoff: after
 * first_ms, then twice as long each time up to max_ms; with jitter each wait
 * is drawn from [w/2, w] so that many collectors coming back together do
 * not resend in step.  Every send is counted in the outbox (attempts,
 * last error), so `status` can show it.
 *
 * An "ack" is recorded with outbox_ack (the batch leaves the outbox; the
 * rejections and stale records it lists are stored with its file in the
 * same transaction), an "error" naming a batch with outbox_refuse (refusal
 * is final: the same bytes would be refused again; the aggregator's message
 * is logged naming the file and kept for its receipt).  Both are
 * idempotent, so an ack for a batch another process has already recorded
 * changes nothing.  A sent
 * batch is looked up in the outbox at its resend and at least once a second
 * between: if another collector process sharing the outbox (`run` beside a
 * `submit`) got its ack meanwhile, it leaves the window without being sent
 * again, so a `submit` ends as soon as its batches are answered, whoever
 * received the answer.  When the last batch of a file is answered, the
 * file_done callback runs; it may run again for the same file (a batch of
 * it found answered elsewhere afterwards), so it must be idempotent.
 *
 * An "error" without a batch id means the aggregator could not read a
 * message at all; it is counted (deliver_unreadable) and the batches stay.
 */
#ifndef EDUSTAT_DELIVER_H
#define EDUSTAT_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "outbox.h"

struct deliver;

struct deliver_policy {
        const char *endpoint; /* for messages only; the socket is connected */
        int64_t first_ms;     /* first resend after this long */
        int64_t max_ms;       /* resend interval cap */
        int jitter;           /* draw each wait from [w/2, w] */
        size_t window;        /* batches unanswered at a time, >= 1 */
        int64_t max_seq;      /* deliver batches with seq <= max_seq only; 0: all, new ones too */
};

/*
 * An engine over ob and sock (a connected DEALER; both stay the caller's).
 * file_done(arg, file_id) is called when a file has no batch left (may be
 * NULL).  Returns an owned engine.
 */
struct deliver *deliver_new(struct outbox *ob, void *sock, const struct deliver_policy *p,
                            void (*file_done)(void *arg, int64_t file_id), void *arg);

/* Free; accepts NULL and sets *dp to NULL.  Unanswered batches stay in the outbox. */
void deliver_destroy(struct deliver **dp);

/*
 * One round: take batches into the window, send those due, wait for
 * replies at most max_wait_ms (less when a resend falls due; an interrupting
 * signal ends the wait early) and record them.  Returns 0, or -1 when the
 * outbox failed (logged).
 */
int deliver_step(struct deliver *d, int64_t max_wait_ms);

/* 1 when the window is empty and the outbox had nothing more to send at the last step. */
int deliver_finished(const struct deliver *d);

/* Batches unanswered in the window now. */
size_t deliver_inflight(const struct deliver *d);

/* How many "error" replies without a batch id arrived. */
unsigned long deliver_unreadable(const struct deliver *d);

/*
 * Watch the link's handshakes through mon (from link_watch; stays the
 * caller's, may be NULL): when the aggregator refuses the key, every
 * unanswered batch's last error says so (outbox status, receipts), the
 * refusal is logged once, and deliver_refused returns why.
 */
void deliver_watch(struct deliver *d, void *mon);

/* Why the aggregator refuses the link (see link_state_why), or NULL while it does not. */
const char *deliver_refused(const struct deliver *d);

/* Set last_error of every batch in the window (submit gives up on them). */
void deliver_abandon(struct deliver *d, const char *why);

#endif
