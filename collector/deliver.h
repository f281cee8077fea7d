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
 * An ack's warnings (version 3) are kept with the file in the same
 * transaction (outbox_ack_warned).  A dry run (policy.dry_run) delivers
 * "check" messages from a private outbox: their answers are "checked",
 * recorded the same way, and an "ack" is then ignored.
 *
 * An "error" without a batch id means the aggregator could not read a
 * message at all; it is counted (deliver_unreadable) and the batches stay.
 */
#ifndef EDUSTAT_DELIVER_H
#define EDUSTAT_DELIVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "outbox.h"
#include "proto.h"

struct deliver;

struct deliver_policy {
        const char *endpoint; /* for messages only; the socket is connected */
        int64_t first_ms;     /* first resend after this long */
        int64_t max_ms;       /* resend interval cap */
        int jitter;           /* draw each wait from [w/2, w] */
        size_t window;        /* batches unanswered at a time, >= 1 */
        int64_t max_seq;      /* deliver batches with seq <= max_seq only; 0: all, new ones too */
        int dry_run;          /* the batches are "check"s: their answers are "checked", not "ack" */
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

/* An explanation (说明) of a warning, as `edustat-collector explain` sends it. */
struct deliver_explanation {
        const char *collector;     /* EDUSTAT_COLLECTOR_NAME */
        const char *unit, *period; /* the unit and period the warning is about */
        const char *rule;          /* the warning rule's code, R10 */
        const char *text;          /* the explanation, 1..PROTO_MAX_TEXT bytes */
};

/*
 * Send e as an "action" of kind "explain" under a fresh batch id over sock
 * (a connected DEALER, the caller's), not through an outbox, and wait for
 * its answer up to timeout_ms, resending the same bytes after p->first_ms,
 * then twice as long each time up to p->max_ms (no jitter), as submit
 * does; *stop (may be NULL) becoming non-zero ends the wait.  Replies for
 * other ids are ignored.  Returns 1 when the aggregator acknowledged it
 * (stored in PostgreSQL), 2 when it refused it (an "error": its message
 * in message), 0 when no answer came (the explanation may or may not be
 * stored: sending it again is harmless), -1 when no batch id could be
 * made (logged).
 */
int deliver_explain(void *sock, const struct deliver_policy *p, const struct deliver_explanation *e,
                    int64_t timeout_ms, volatile sig_atomic_t *stop, char *message, size_t msglen);

/* A review action, as `edustat-collector finish`, `approve` and `return` send it. */
struct deliver_review {
        const char *collector;     /* EDUSTAT_COLLECTOR_NAME */
        const char *kind;          /* "finish", "approve" or "return" */
        const char *unit, *period; /* the unit and period it is about */
        const char *text; /* approve: a comment or NULL; return: the reason; finish: NULL */
};

/* Send rv as an "action", as deliver_explain sends an explanation; the same results. */
int deliver_review(void *sock, const struct deliver_policy *p, const struct deliver_review *rv,
                   int64_t timeout_ms, volatile sig_atomic_t *stop, char *message, size_t msglen);

/*
 * Ask the aggregator for the review state of unit and period ("ask") and
 * wait up to timeout_ms for the answer, resending as deliver_explain does.
 * Returns 1 with the answer in *told (its strings point into *buf: free
 * both, with proto_told_free and free), 2 when refused (an "error": its
 * message in message), 0 when no answer came, -1 when no id could be made.
 */
int deliver_ask(void *sock, const struct deliver_policy *p, const char *collector, const char *unit,
                const char *period, int64_t timeout_ms, volatile sig_atomic_t *stop,
                struct proto_told *told, void **buf, char *message, size_t msglen);

#endif
