#include "deliver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "enqueue.h"
#include "link.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "wire.h"

#define SEND_RETRY_MS 250 /* the socket's queue was full: try again soon */
/*
 * How often a sent batch is looked up in the outbox between resends: another
 * collector process sharing the outbox (`run` beside a `submit`) may have got
 * its ack, and a resend wait can be long once backed off.
 */
#define PEER_CHECK_MS 1000

struct slot {
        struct outbox_batch b;
        int64_t resend_at, backoff, sent_at;
        int64_t check_at; /* next lookup for an answer recorded by another process */
        unsigned sends;   /* by this process */
};

struct deliver {
        struct outbox *ob;
        void *sock;
        struct deliver_policy p;
        void (*file_done)(void *arg, int64_t file_id);
        void *arg;
        struct slot *slot;
        size_t nslot;
        int64_t cursor; /* highest seq taken into the window */
        int exhausted;  /* the last fill found nothing more */
        unsigned long unreadable;
        uint64_t rng;
        void *mon;            /* handshake monitor, or NULL */
        enum link_state link; /* what the last handshake came to */
};

struct deliver *
deliver_new(struct outbox *ob, void *sock, const struct deliver_policy *p,
            void (*file_done)(void *arg, int64_t file_id), void *arg)
{
        struct deliver *d = xcalloc(1, sizeof(*d));

        d->ob = ob;
        d->sock = sock;
        d->p = *p;
        if (d->p.window == 0)
                d->p.window = 1;
        d->file_done = file_done;
        d->arg = arg;
        d->slot = xcalloc(d->p.window, sizeof(*d->slot));
        d->rng = (uint64_t)wallclock_us() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
        return d;
}

void
deliver_destroy(struct deliver **dp)
{
        struct deliver *d;

        if (dp == NULL || (d = *dp) == NULL)
                return;
        for (size_t i = 0; i < d->nslot; i++)
                outbox_batch_clear(&d->slot[i].b);
        free(d->slot);
        free(d);
        *dp = NULL;
}

/* xorshift64*: jitter needs spread, not secrecy. */
static uint64_t
rng_next(struct deliver *d)
{
        d->rng ^= d->rng >> 12;
        d->rng ^= d->rng << 25;
        d->rng ^= d->rng >> 27;
        return d->rng * 0x2545F4914F6CDD1DULL;
}

static int64_t
wait_of(struct deliver *d, int64_t backoff)
{
        if (!d->p.jitter || backoff < 2)
                return backoff;
        return backoff / 2 + (int64_t)(rng_next(d) % (uint64_t)(backoff / 2 + 1));
}

/* Drop slot i; the last slot takes its place. */
static void
slot_drop(struct deliver *d, size_t i)
{
        outbox_batch_clear(&d->slot[i].b);
        d->slot[i] = d->slot[--d->nslot];
        memset(&d->slot[d->nslot], 0, sizeof(d->slot[d->nslot]));
}

static size_t
slot_find(const struct deliver *d, const char *id, size_t len)
{
        for (size_t i = 0; i < d->nslot; i++)
                if (len == OUTBOX_ID_LEN && memcmp(d->slot[i].b.batch_id, id, len) == 0)
                        return i;
        return d->nslot;
}

/* Call file_done when file_id has no batch left. */
static int
file_check(struct deliver *d, int64_t file_id)
{
        struct outbox_file f;
        int r = outbox_file_get(d->ob, file_id, &f);

        if (r < 0)
                return -1;
        if (r == 1) {
                int done = f.pending == 0;

                outbox_file_clear(&f);
                if (done && d->file_done != NULL)
                        d->file_done(d->arg, file_id);
        }
        return 0;
}

static int
window_fill(struct deliver *d, int64_t now)
{
        d->exhausted = 0;
        while (d->nslot < d->p.window) {
                struct slot *s = &d->slot[d->nslot];
                int r = outbox_batch_next(d->ob, d->cursor, d->p.max_seq, &s->b);

                if (r < 0)
                        return -1;
                if (r == 0) {
                        d->exhausted = 1;
                        break;
                }
                d->cursor = s->b.seq;
                s->resend_at = now;
                s->backoff = d->p.first_ms;
                s->sends = 0;
                d->nslot++;
        }
        return 0;
}

/*
 * Drop slot i if another collector process sharing the outbox has recorded
 * its answer.  Returns 0 (still ours), 1 (dropped), -1 on an outbox error.
 */
static int
slot_answered_elsewhere(struct deliver *d, size_t i, int64_t now)
{
        struct slot *s = &d->slot[i];
        int64_t file_id = s->b.file_id;
        int r;

        s->check_at = now + PEER_CHECK_MS;
        if ((r = outbox_batch_pending(d->ob, s->b.batch_id)) < 0)
                return -1;
        if (r == 1)
                return 0;
        log_debug("batch %s was answered to another collector process", s->b.batch_id);
        slot_drop(d, i);
        return file_check(d, file_id) < 0 ? -1 : 1;
}

/*
 * Send slot i if it is due; between sends, look it up in the outbox every
 * PEER_CHECK_MS.  Returns 0, 1 when the slot was dropped (its batch was
 * answered elsewhere), -1 on an outbox error.
 */
static int
slot_send(struct deliver *d, size_t i, int64_t now)
{
        struct slot *s = &d->slot[i];
        char why[256];
        int r;

        if (s->sends > 0 && (s->resend_at <= now || s->check_at <= now) &&
            (r = slot_answered_elsewhere(d, i, now)) != 0)
                return r;
        if (s->resend_at > now)
                return 0;
        if (wire_send(d->sock, s->b.msg, s->b.len, ZMQ_DONTWAIT) < 0) {
                log_debug("batch %s: send: %s; retrying", s->b.batch_id, zmq_strerror(errno));
                s->resend_at = now + SEND_RETRY_MS;
                return 0;
        }
        if (s->sends > 0 && deliver_refused(d) != NULL) {
                strlcpyf(why, sizeof(why), "%s", deliver_refused(d));
        } else if (s->sends > 0) {
                strlcpyf(why, sizeof(why), "no acknowledgement from %s within %lld s",
                         d->p.endpoint, (long long)((now - s->sent_at + 500) / 1000));
                log_debug("batch %s: %s; sent again (send %u)", s->b.batch_id, why, s->sends + 1);
        }
        if (outbox_batch_attempt(d->ob, s->b.batch_id, s->sends > 0 ? why : NULL) < 0)
                return -1;
        s->sends++;
        s->sent_at = now;
        s->check_at = now + PEER_CHECK_MS;
        s->resend_at = now + wait_of(d, s->backoff);
        s->backoff = s->backoff * 2 > d->p.max_ms ? d->p.max_ms : s->backoff * 2;
        return 0;
}

/* Copy a pstr into a terminated 32-hex-digit id; 0, or -1 when it cannot be one of ours. */
static int
id_of(struct pstr p, char id[OUTBOX_ID_LEN + 1])
{
        if (p.p == NULL || p.len != OUTBOX_ID_LEN)
                return -1;
        memcpy(id, p.p, OUTBOX_ID_LEN);
        id[OUTBOX_ID_LEN] = '\0';
        return 0;
}

static int
reply_handle(struct deliver *d, const void *buf, size_t len)
{
        enum proto_type t = proto_peek(buf, len);
        struct proto_ack a;
        char err[256], id[OUTBOX_ID_LEN + 1];
        int64_t file_id = 0;
        size_t slot;
        int r = 0;

        /* A dry run's batches are answered with "checked", never with "ack". */
        if (t != (d->p.dry_run ? PROTO_CHECKED : PROTO_ACK) && t != PROTO_ERROR) {
                log_warnx("ignoring a message of unexpected type from %s", d->p.endpoint);
                return 0;
        }
        if (proto_ack_decode(buf, len, &a, err, sizeof(err)) < 0) {
                log_warnx("ignoring a malformed reply from %s: %s", d->p.endpoint, err);
                return 0;
        }
        if (t == PROTO_ERROR && a.batch_id.p == NULL) {
                d->unreadable++;
                log_warnx("the aggregator at %s could not read a message: %.*s", d->p.endpoint,
                          (int)a.message.len, a.message.p ? a.message.p : "");
                proto_ack_free(&a);
                return 0;
        }
        if (id_of(a.batch_id, id) < 0) {
                log_debug("ignoring a reply for a batch id that is not ours");
                proto_ack_free(&a);
                return 0;
        }
        if (t == PROTO_ERROR) {
                r = outbox_refuse(d->ob, id, a.message.p, a.message.len, &file_id);
                if (r == 1) {
                        struct outbox_file f;

                        if (outbox_file_get(d->ob, file_id, &f) == 1) {
                                log_warnx("%s: the aggregator refused batch %s: %.*s", f.path, id,
                                          (int)a.message.len, a.message.p ? a.message.p : "");
                                outbox_file_clear(&f);
                        }
                }
        } else {
                struct outbox_reject *rej = xcalloc(a.nrej ? a.nrej : 1, sizeof(*rej));
                struct outbox_stale *st = xcalloc(a.nstale ? a.nstale : 1, sizeof(*st));
                struct outbox_warning *wn = xcalloc(a.nwarn ? a.nwarn : 1, sizeof(*wn));

                for (uint32_t i = 0; i < a.nrej; i++) {
                        rej[i].line = a.rej[i].line;
                        rej[i].reason = a.rej[i].reason.p ? a.rej[i].reason.p : "";
                        rej[i].len = a.rej[i].reason.p ? a.rej[i].reason.len : 0;
                }
                for (uint32_t i = 0; i < a.nstale; i++) {
                        st[i].line = a.stale[i].line;
                        st[i].value = a.stale[i].value.p;
                        st[i].value_len = a.stale[i].value.len;
                        st[i].collector = a.stale[i].collector.p;
                        st[i].collector_len = a.stale[i].collector.len;
                        st[i].version = a.stale[i].version;
                }
                for (uint32_t i = 0; i < a.nwarn; i++) {
                        const struct proto_warning *pw = &a.warn[i];

                        wn[i] = (struct outbox_warning){
                            .unit = pw->unit.p,
                            .unit_len = pw->unit.len,
                            .period = pw->period.p,
                            .period_len = pw->period.len,
                            .rule = pw->rule.p,
                            .rule_len = pw->rule.len,
                            .message = pw->message.p,
                            .message_len = pw->message.len,
                            .left = pw->left.p,
                            .left_len = pw->left.len,
                            .right = pw->right.p,
                            .right_len = pw->right.len,
                        };
                }
                r = outbox_ack_warned(d->ob, id, a.accepted, a.changed, rej, a.nrej, st, a.nstale,
                                      wn, a.nwarn, &file_id);
                free(rej);
                free(st);
                free(wn);
                if (r == 1)
                        log_debug("batch %s acknowledged: %u accepted, %u changed, %u rejected, "
                                  "%u stale, %u warnings",
                                  id, a.accepted, a.changed, a.nrej, a.nstale, a.nwarn);
                if (r == 1 && a.stale_more > 0) {
                        struct outbox_file f;

                        /* The receipt lists the first ones only; say how many it leaves out. */
                        if (outbox_file_get(d->ob, file_id, &f) == 1) {
                                log_warnx("%s: batch %s: %u more records are stale (not stored: "
                                          "newer values of their keys are), beyond the %u the "
                                          "receipt lists",
                                          f.path, id, a.stale_more, a.nstale);
                                outbox_file_clear(&f);
                        }
                }
        }
        proto_ack_free(&a);
        /* Answered, by this reply or before it (a duplicate): the slot is free either way. */
        if ((slot = slot_find(d, id, OUTBOX_ID_LEN)) < d->nslot)
                slot_drop(d, slot);
        if (r < 0)
                return -1;
        if (r == 1)
                return file_check(d, file_id);
        return 0;
}

void
deliver_watch(struct deliver *d, void *mon)
{
        d->mon = mon;
}

const char *
deliver_refused(const struct deliver *d)
{
        return d->link == LINK_REFUSED_KEY || d->link == LINK_REFUSED_HANDSHAKE
                   ? link_state_why(d->link)
                   : NULL;
}

/* Follow the link's handshakes; a refusal is logged once and noted on the waiting batches. */
static void
watch(struct deliver *d)
{
        const char *why;

        if (d->mon == NULL || !link_watch_read(d->mon, &d->link))
                return;
        if ((why = deliver_refused(d)) == NULL) {
                if (d->link == LINK_UP)
                        log_debug("connected to %s", d->p.endpoint);
                return;
        }
        log_warnx("%s: %s", d->p.endpoint, why);
        deliver_abandon(d, why);
}

int
deliver_step(struct deliver *d, int64_t max_wait_ms)
{
        int64_t now = now_ms(), wake = now + (max_wait_ms > 0 ? max_wait_ms : 0);
        zmq_pollitem_t item = {.socket = d->sock, .events = ZMQ_POLLIN};
        zmq_msg_t msg;
        int rc = 0, dropped = 0;

        if (window_fill(d, now) < 0)
                return -1;
        for (size_t i = 0; i < d->nslot;) {
                int r = slot_send(d, i, now);

                if (r < 0)
                        return -1;
                if (r == 1) {
                        dropped = 1;
                        continue; /* slot i now holds another batch */
                }
                if (d->slot[i].resend_at < wake)
                        wake = d->slot[i].resend_at;
                if (d->slot[i].sends > 0 && d->slot[i].check_at < wake)
                        wake = d->slot[i].check_at;
                i++;
        }
        /*
         * Batches answered elsewhere emptied the window: nothing to wait for.
         * Return now, so that the caller sees "finished" or the next step
         * sends what the refill below takes in.
         */
        if (dropped && d->nslot == 0)
                wake = now;
        if (zmq_poll(&item, 1, wake > now ? (long)(wake - now) : 0) < 0 && errno != EINTR)
                fatal("zmq_poll");
        zmq_msg_init(&msg);
        while (rc == 0 && wire_recv(d->sock, &msg, ZMQ_DONTWAIT) == 0) {
                rc = reply_handle(d, zmq_msg_data(&msg), zmq_msg_size(&msg));
                zmq_msg_close(&msg);
                zmq_msg_init(&msg);
        }
        zmq_msg_close(&msg);
        watch(d);
        /* Answers freed room: take the next batches now, so "finished" is current. */
        if (rc == 0 && d->nslot < d->p.window)
                rc = window_fill(d, now_ms());
        return rc;
}

int
deliver_finished(const struct deliver *d)
{
        return d->nslot == 0 && d->exhausted;
}

size_t
deliver_inflight(const struct deliver *d)
{
        return d->nslot;
}

unsigned long
deliver_unreadable(const struct deliver *d)
{
        return d->unreadable;
}

void
deliver_abandon(struct deliver *d, const char *why)
{
        for (size_t i = 0; i < d->nslot; i++)
                outbox_batch_note(d->ob, d->slot[i].b.batch_id, why);
}

/*
 * Wait for the reply to batch id on sock until deadline (now_ms clock) or
 * *stop, sending msg[0..len) at once and again on p's backoff.  Returns 1
 * with the reply decoded in *a (its strings point into *buf, owned: free
 * both) , 0 when none came, -1 when a send cannot be made at all.  With
 * told not NULL a "told" for id is a reply too: then it is decoded in
 * *told (free with proto_told_free) and a->type is PROTO_TOLD.
 */
static int
exchange(void *sock, const struct deliver_policy *p, const char *id, const void *msg, size_t len,
         int64_t deadline, volatile sig_atomic_t *stop, struct proto_ack *a,
         struct proto_told *told, void **buf)
{
        int64_t backoff = p->first_ms > 0 ? p->first_ms : 1000, resend_at = now_ms();
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        char err[256];

        while (stop == NULL || !*stop) {
                int64_t now = now_ms(), wake;
                zmq_msg_t m;

                if (now >= deadline)
                        return 0;
                if (resend_at <= now) {
                        if (wire_send(sock, msg, len, ZMQ_DONTWAIT) < 0) {
                                resend_at = now + SEND_RETRY_MS;
                        } else {
                                resend_at = now + backoff;
                                backoff = backoff * 2 > p->max_ms ? p->max_ms : backoff * 2;
                        }
                }
                wake = resend_at < deadline ? resend_at : deadline;
                if (zmq_poll(&item, 1, wake > now ? (long)(wake - now) : 0) < 0 && errno != EINTR)
                        fatal("zmq_poll");
                zmq_msg_init(&m);
                while (wire_recv(sock, &m, ZMQ_DONTWAIT) == 0) {
                        const void *data = zmq_msg_data(&m);
                        size_t size = zmq_msg_size(&m);
                        enum proto_type t = proto_peek(data, size);

                        if (t == PROTO_TOLD && told != NULL &&
                            proto_told_decode(data, size, told, err, sizeof(err)) == 0) {
                                int ours = told->batch_id.len == strlen(id) &&
                                           memcmp(told->batch_id.p, id, told->batch_id.len) == 0;

                                proto_told_free(told);
                                if (ours) {
                                        *buf = xmalloc(size ? size : 1);
                                        memcpy(*buf, data, size);
                                        zmq_msg_close(&m);
                                        if (proto_told_decode(*buf, size, told, err, sizeof(err)) <
                                            0) {
                                                free(*buf);
                                                *buf = NULL;
                                                return 0;
                                        }
                                        a->type = PROTO_TOLD;
                                        return 1;
                                }
                        } else if ((t == PROTO_ACK || t == PROTO_ERROR) &&
                                   proto_ack_decode(data, size, a, err, sizeof(err)) == 0) {
                                /* Ours, or an error for a message it could not read at all. */
                                if ((a->batch_id.p == NULL && t == PROTO_ERROR) ||
                                    (a->batch_id.len == strlen(id) &&
                                     memcmp(a->batch_id.p, id, a->batch_id.len) == 0)) {
                                        /* Re-decode over a copy the caller owns. */
                                        proto_ack_free(a);
                                        *buf = xmalloc(size ? size : 1);
                                        memcpy(*buf, data, size);
                                        zmq_msg_close(&m);
                                        if (proto_ack_decode(*buf, size, a, err, sizeof(err)) < 0) {
                                                free(*buf);
                                                *buf = NULL;
                                                return 0;
                                        }
                                        return 1;
                                }
                                proto_ack_free(a);
                        } else {
                                log_debug("ignoring a reply from %s that is not for this message",
                                          p->endpoint);
                        }
                        zmq_msg_close(&m);
                        zmq_msg_init(&m);
                }
                zmq_msg_close(&m);
        }
        return 0;
}

/* Send action act under a fresh batch id and wait for its answer: deliver_explain's results. */
static int
deliver_action(void *sock, const struct deliver_policy *p, struct proto_action act,
               int64_t timeout_ms, volatile sig_atomic_t *stop, char *message, size_t msglen)
{
        char id[OUTBOX_ID_LEN + 1];
        struct proto_ack a = {0};
        msgpack_sbuffer sb;
        msgpack_packer pk;
        void *buf = NULL;
        int r;

        message[0] = '\0';
        if (enqueue_batch_id(id) < 0)
                return -1;
        act.batch_id = pstr_of(id);
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_action_pack(&pk, &act);
        r = exchange(sock, p, id, sb.data, sb.size, now_ms() + timeout_ms, stop, &a, NULL, &buf);
        msgpack_sbuffer_destroy(&sb);
        if (r == 1) {
                if (a.type == PROTO_ERROR) {
                        strlcpyf(message, msglen, "%.*s", (int)a.message.len,
                                 a.message.p ? a.message.p : "");
                        r = 2;
                }
                proto_ack_free(&a);
                free(buf);
        }
        return r;
}

int
deliver_explain(void *sock, const struct deliver_policy *p, const struct deliver_explanation *e,
                int64_t timeout_ms, volatile sig_atomic_t *stop, char *message, size_t msglen)
{
        struct proto_action act = {
            .collector = pstr_of(e->collector),
            .kind = pstr_of("explain"),
            .unit = pstr_of(e->unit),
            .period = pstr_of(e->period),
            .rule = pstr_of(e->rule),
            .text = pstr_of(e->text),
        };

        return deliver_action(sock, p, act, timeout_ms, stop, message, msglen);
}

int
deliver_review(void *sock, const struct deliver_policy *p, const struct deliver_review *rv,
               int64_t timeout_ms, volatile sig_atomic_t *stop, char *message, size_t msglen)
{
        struct proto_action act = {
            .collector = pstr_of(rv->collector),
            .kind = pstr_of(rv->kind),
            .unit = pstr_of(rv->unit),
            .period = pstr_of(rv->period),
            .rule = {NULL, 0},
            .text = pstr_of(rv->text),
        };

        return deliver_action(sock, p, act, timeout_ms, stop, message, msglen);
}

int
deliver_ask(void *sock, const struct deliver_policy *p, const char *collector, const char *unit,
            const char *period, int64_t timeout_ms, volatile sig_atomic_t *stop,
            struct proto_told *told, void **buf, char *message, size_t msglen)
{
        char id[OUTBOX_ID_LEN + 1];
        struct proto_ask q;
        struct proto_ack a = {0};
        msgpack_sbuffer sb;
        msgpack_packer pk;
        int r;

        message[0] = '\0';
        memset(told, 0, sizeof(*told));
        *buf = NULL;
        if (enqueue_batch_id(id) < 0)
                return -1;
        q = (struct proto_ask){pstr_of(collector), pstr_of(id), pstr_of(unit), pstr_of(period)};
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_ask_pack(&pk, &q);
        r = exchange(sock, p, id, sb.data, sb.size, now_ms() + timeout_ms, stop, &a, told, buf);
        msgpack_sbuffer_destroy(&sb);
        if (r == 1 && a.type != PROTO_TOLD) {
                /* An error (an ack to an ask would be a server's bug: no answer then). */
                if (a.type == PROTO_ERROR) {
                        strlcpyf(message, msglen, "%.*s", (int)a.message.len,
                                 a.message.p ? a.message.p : "");
                        r = 2;
                } else {
                        r = 0;
                }
                proto_ack_free(&a);
                free(*buf);
                *buf = NULL;
        }
        return r;
}
