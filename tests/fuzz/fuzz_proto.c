/*
 * libFuzzer target for lib/proto.c: every decoder runs over the input and
 * frees what it returned.  When a decoder accepts an input, the decoded
 * message is packed again and must decode to the same fields, so an
 * encoder and its decoder cannot drift apart unnoticed.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined for fuzzing, and
 * linked with tests/fuzz/replay.c to replay the corpus in normal test runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
pstr_same(struct pstr a, struct pstr b)
{
        if (a.p == NULL || b.p == NULL)
                return a.p == b.p;
        return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* abort() is what libFuzzer and the replay driver report as a failure. */
static void
check(int ok)
{
        if (!ok)
                abort();
}

static void
sb_open(msgpack_sbuffer *sb, msgpack_packer *pk)
{
        msgpack_sbuffer_init(sb);
        msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
}

/* A string, or nil for a nil pstr (pstr_of() needs a C string). */
static void
pack_pstr(msgpack_packer *pk, struct pstr s)
{
        if (s.p == NULL) {
                msgpack_pack_nil(pk);
                return;
        }
        msgpack_pack_str(pk, s.len);
        msgpack_pack_str_body(pk, s.p, s.len);
}

static void
pack_name(msgpack_packer *pk, const char *name)
{
        msgpack_pack_str(pk, strlen(name));
        msgpack_pack_str_body(pk, name, strlen(name));
}

/*
 * proto_peek only reads a fixstr type name after the array header; a
 * message may name its type in any string width, which peek calls
 * PROTO_BAD.  1 when peek's answer must agree with the decoders.
 */
static int
peek_knows(const uint8_t *data, size_t size)
{
        size_t off;

        if (size < 2)
                return 0;
        if (data[0] >= 0x90 && data[0] <= 0x9f)
                off = 1;
        else if (data[0] == 0xdc)
                off = 3;
        else if (data[0] == 0xdd)
                off = 5;
        else
                return 0;
        return off < size && data[off] >= 0xa0 && data[off] <= 0xbf;
}

static void
submit_again(const struct proto_submit *s)
{
        struct proto_submit t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[256];

        /* A batch id is 1..64 bytes of printable ASCII; the source is never nil. */
        check(s->batch_id.p != NULL && s->batch_id.len >= 1 && s->batch_id.len <= PROTO_MAX_ID);
        for (uint32_t i = 0; i < s->batch_id.len; i++)
                check(s->batch_id.p[i] >= 0x21 && s->batch_id.p[i] <= 0x7e);
        check(s->collector.p != NULL && s->source.p != NULL);
        sb_open(&sb, &pk);
        /* proto_submit_begin takes C strings; pack the head by hand. */
        msgpack_pack_array(&pk, 6);
        pack_name(&pk, "submit");
        msgpack_pack_uint64(&pk, PROTO_VERSION);
        pack_pstr(&pk, s->collector);
        pack_pstr(&pk, s->batch_id);
        pack_pstr(&pk, s->source);
        msgpack_pack_array(&pk, s->nrec);
        for (uint32_t i = 0; i < s->nrec; i++)
                proto_record_pack(&pk, &s->rec[i]);
        check(proto_submit_decode(sb.data, sb.size, &t, err, sizeof(err)) == 0);
        check(t.nrec == s->nrec && pstr_same(t.collector, s->collector) &&
              pstr_same(t.batch_id, s->batch_id) && pstr_same(t.source, s->source));
        for (uint32_t i = 0; i < s->nrec; i++) {
                const struct proto_record *a = &s->rec[i], *b = &t.rec[i];

                check(a->line == b->line && a->version == b->version &&
                      pstr_same(a->unit, b->unit) && pstr_same(a->period, b->period) &&
                      pstr_same(a->indicator, b->indicator) && pstr_same(a->value, b->value) &&
                      pstr_same(a->raw, b->raw) && pstr_same(a->reason, b->reason));
        }
        proto_submit_free(&t);
        msgpack_sbuffer_destroy(&sb);
}

static int
same_double(double a, double b)
{
        return memcmp(&a, &b, sizeof(a)) == 0 || (a != a && b != b);
}

/*
 * The index in u's batch table of the batch whose collector and batch id a
 * decoded value or rejection carries.  The decoder points those at the
 * table's strings, not at copies, and the table's collectors lie in frame
 * order, so a binary search by address finds it; anything else aborts.
 */
static uint32_t
batch_index(const struct proto_uow *u, struct pstr collector, struct pstr batch_id)
{
        uint32_t lo = 0, hi = u->nbatches;

        check(collector.p != NULL);
        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                uintptr_t at = (uintptr_t)u->batches[mid].collector.p;

                if (at == (uintptr_t)collector.p) {
                        check(u->batches[mid].collector.len == collector.len &&
                              u->batches[mid].batch_id.p == batch_id.p &&
                              u->batches[mid].batch_id.len == batch_id.len);
                        return mid;
                }
                if (at < (uintptr_t)collector.p)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        abort();
}

static void
uow_again(const struct proto_uow *u)
{
        struct proto_uow t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        uint32_t *vb, *rb, *ab;
        char err[256];

        /* Every value and rejection names a batch of the table. */
        check(u->nbatches == 0 || u->batches != NULL);
        for (uint32_t k = 1; k < u->nbatches; k++)
                check((uintptr_t)u->batches[k - 1].collector.p <
                      (uintptr_t)u->batches[k].collector.p);
        vb = malloc((u->nvalues ? u->nvalues : 1) * sizeof(*vb));
        rb = malloc((u->nrejects ? u->nrejects : 1) * sizeof(*rb));
        ab = malloc((u->nactions ? u->nactions : 1) * sizeof(*ab));
        check(vb != NULL && rb != NULL && ab != NULL);
        for (uint32_t i = 0; i < u->nactions; i++)
                ab[i] = batch_index(u, u->actions[i].collector, u->actions[i].batch_id);
        for (uint32_t i = 0; i < u->nvalues; i++)
                vb[i] = batch_index(u, u->values[i].collector, u->values[i].batch_id);
        for (uint32_t i = 0; i < u->nrejects; i++) {
                rb[i] = batch_index(u, u->rejects[i].collector, u->rejects[i].batch_id);
                check(u->rejects[i].source.p == u->batches[rb[i]].source.p &&
                      u->rejects[i].source.len == u->batches[rb[i]].source.len);
        }
        sb_open(&sb, &pk);
        msgpack_pack_array(&pk, 11);
        pack_name(&pk, "uow");
        msgpack_pack_uint64(&pk, u->seq);
        msgpack_pack_uint64(&pk, u->epoch);
        pack_pstr(&pk, u->aggregator);
        msgpack_pack_array(&pk, u->nbatches);
        for (uint32_t k = 0; k < u->nbatches; k++)
                proto_uow_batch_pack(&pk, &u->batches[k]);
        proto_uow_values_begin(&pk, u->nvalues);
        for (uint32_t i = 0; i < u->nvalues; i++)
                proto_value_pack(&pk, &u->values[i], vb[i]);
        proto_uow_rejects_begin(&pk, u->nrejects);
        for (uint32_t i = 0; i < u->nrejects; i++)
                proto_reject_pack(&pk, &u->rejects[i], rb[i]);
        proto_uow_aggs_begin(&pk, u->naggs);
        for (uint32_t i = 0; i < u->naggs; i++)
                proto_agg_pack(&pk, &u->aggs[i]);
        proto_uow_violations_begin(&pk, u->nviolations);
        for (uint32_t i = 0; i < u->nviolations; i++)
                proto_violation_pack(&pk, &u->violations[i]);
        proto_uow_actions_begin(&pk, u->violations_full, u->nactions);
        for (uint32_t i = 0; i < u->nactions; i++)
                proto_uow_action_pack(&pk, &u->actions[i], ab[i]);
        check(proto_uow_decode(sb.data, sb.size, &t, err, sizeof(err)) == 0);
        check(t.seq == u->seq && t.epoch == u->epoch && pstr_same(t.aggregator, u->aggregator) &&
              t.nbatches == u->nbatches && t.nvalues == u->nvalues && t.nrejects == u->nrejects &&
              t.naggs == u->naggs && t.nviolations == u->nviolations &&
              t.violations_full == u->violations_full && t.nactions == u->nactions);
        for (uint32_t k = 0; k < u->nbatches; k++) {
                const struct proto_batch *a = &u->batches[k], *b = &t.batches[k];

                check(pstr_same(a->collector, b->collector) &&
                      pstr_same(a->batch_id, b->batch_id) && pstr_same(a->source, b->source));
        }
        /* The same batch, by index, in the re-encoded frame. */
        for (uint32_t i = 0; i < u->nvalues; i++)
                check(batch_index(&t, t.values[i].collector, t.values[i].batch_id) == vb[i]);
        for (uint32_t i = 0; i < u->nrejects; i++)
                check(batch_index(&t, t.rejects[i].collector, t.rejects[i].batch_id) == rb[i]);
        for (uint32_t i = 0; i < u->nvalues; i++) {
                const struct proto_value *a = &u->values[i], *b = &t.values[i];

                check(pstr_same(a->unit, b->unit) && pstr_same(a->period, b->period) &&
                      pstr_same(a->indicator, b->indicator) && pstr_same(a->value, b->value) &&
                      a->version == b->version && a->flags == b->flags &&
                      pstr_same(a->collector, b->collector) && pstr_same(a->batch_id, b->batch_id));
        }
        for (uint32_t i = 0; i < u->nrejects; i++) {
                const struct proto_reject *a = &u->rejects[i], *b = &t.rejects[i];

                check(pstr_same(a->collector, b->collector) && pstr_same(a->source, b->source) &&
                      pstr_same(a->batch_id, b->batch_id) && a->line == b->line &&
                      pstr_same(a->unit, b->unit) && pstr_same(a->period, b->period) &&
                      pstr_same(a->indicator, b->indicator) && pstr_same(a->raw, b->raw) &&
                      pstr_same(a->reason, b->reason));
        }
        for (uint32_t i = 0; i < u->naggs; i++) {
                const struct proto_agg *a = &u->aggs[i], *b = &t.aggs[i];

                check(pstr_same(a->unit, b->unit) && pstr_same(a->level, b->level) &&
                      pstr_same(a->period, b->period) && pstr_same(a->indicator, b->indicator) &&
                      pstr_same(a->value, b->value) && pstr_same(a->numerator, b->numerator) &&
                      pstr_same(a->denominator, b->denominator) &&
                      a->n_reporting == b->n_reporting && a->nulls == b->nulls);
                /* float32 input widens exactly to the float64 we pack. */
                check(same_double(a->min, b->min) && same_double(a->max, b->max) &&
                      same_double(a->mean, b->mean) && same_double(a->cv, b->cv));
        }
        for (uint32_t i = 0; i < u->nviolations; i++) {
                const struct proto_violation *a = &u->violations[i], *b = &t.violations[i];

                check(pstr_same(a->unit, b->unit) && pstr_same(a->period, b->period) &&
                      pstr_same(a->rule, b->rule) && pstr_same(a->severity, b->severity) &&
                      pstr_same(a->left, b->left) && pstr_same(a->right, b->right));
        }
        for (uint32_t i = 0; i < u->nactions; i++) {
                const struct proto_action *a = &u->actions[i], *b = &t.actions[i];

                check(batch_index(&t, b->collector, b->batch_id) == ab[i]);
                check(pstr_same(a->kind, b->kind) && pstr_same(a->unit, b->unit) &&
                      pstr_same(a->period, b->period) && pstr_same(a->rule, b->rule) &&
                      pstr_same(a->text, b->text) && a->at == b->at);
        }
        proto_uow_free(&t);
        msgpack_sbuffer_destroy(&sb);
        free(vb);
        free(rb);
        free(ab);
}

static void
ack_again(const struct proto_ack *a, enum proto_type type)
{
        struct proto_ack t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[256];

        sb_open(&sb, &pk);
        if (type == PROTO_ERROR) {
                check(a->message.p != NULL && a->nrej == 0 && a->nstale == 0);
                msgpack_pack_array(&pk, 3);
                pack_name(&pk, "error");
                pack_pstr(&pk, a->batch_id);
                pack_pstr(&pk, a->message);
        } else {
                check(a->batch_id.p != NULL && a->message.p == NULL);
                check(a->nrej <= PROTO_MAX_BATCH && a->nstale <= PROTO_MAX_BATCH);
                proto_ack_begin(&pk, a->batch_id, a->accepted, a->changed, a->nrej);
                for (uint32_t i = 0; i < a->nrej; i++)
                        proto_reject_line_pack(&pk, a->rej[i].line, a->rej[i].reason);
                proto_ack_stale_begin(&pk, a->nstale);
                for (uint32_t i = 0; i < a->nstale; i++)
                        proto_stale_pack(&pk, &a->stale[i]);
        }
        check(proto_peek(sb.data, sb.size) == type);
        check(proto_ack_decode(sb.data, sb.size, &t, err, sizeof(err)) == 0);
        check(pstr_same(t.batch_id, a->batch_id) && pstr_same(t.message, a->message) &&
              t.accepted == a->accepted && t.changed == a->changed && t.nrej == a->nrej &&
              t.nstale == a->nstale);
        for (uint32_t i = 0; i < a->nrej; i++)
                check(t.rej[i].line == a->rej[i].line &&
                      pstr_same(t.rej[i].reason, a->rej[i].reason));
        for (uint32_t i = 0; i < a->nstale; i++) {
                const struct proto_stale *x = &a->stale[i], *y = &t.stale[i];

                check(x->line == y->line && pstr_same(x->value, y->value) &&
                      pstr_same(x->collector, y->collector) && x->version == y->version);
        }
        proto_ack_free(&t);
        msgpack_sbuffer_destroy(&sb);
}

static void
hello_again(struct pstr agg)
{
        struct pstr t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[256];

        sb_open(&sb, &pk);
        msgpack_pack_array(&pk, 3);
        pack_name(&pk, "hello");
        msgpack_pack_uint64(&pk, PROTO_VERSION);
        pack_pstr(&pk, agg);
        check(proto_hello_decode(sb.data, sb.size, &t, err, sizeof(err)) == 0);
        check(pstr_same(t, agg));
        msgpack_sbuffer_destroy(&sb);
}

static void
rows_again(const struct proto_row *rows, uint32_t n)
{
        struct proto_row *t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        uint32_t m;
        char err[256];

        sb_open(&sb, &pk);
        proto_rows_begin(&pk, n);
        for (uint32_t i = 0; i < n; i++)
                proto_row_pack(&pk, &rows[i]);
        check(proto_rows_decode(sb.data, sb.size, &t, &m, err, sizeof(err)) == 0);
        check(m == n);
        for (uint32_t i = 0; i < n; i++)
                check(pstr_same(t[i].unit, rows[i].unit) &&
                      pstr_same(t[i].period, rows[i].period) &&
                      pstr_same(t[i].indicator, rows[i].indicator) &&
                      pstr_same(t[i].value, rows[i].value) && t[i].version == rows[i].version &&
                      pstr_same(t[i].collector, rows[i].collector));
        free(t);
        msgpack_sbuffer_destroy(&sb);
}

static void
ready_again(uint64_t last_seq, uint64_t nrows, uint64_t epoch, uint64_t nreviews, uint64_t nnotes)
{
        msgpack_sbuffer sb;
        msgpack_packer pk;
        uint64_t a, b, c, d, e;
        char err[256];

        sb_open(&sb, &pk);
        proto_ready_pack(&pk, last_seq, nrows, epoch, nreviews, nnotes);
        check(proto_ready_decode(sb.data, sb.size, &a, &b, &c, &d, &e, err, sizeof(err)) == 0);
        check(a == last_seq && b == nrows && c == epoch && d == nreviews && e == nnotes);
        msgpack_sbuffer_destroy(&sb);
}

static void
reviews_again(const struct proto_review_row *rows, uint32_t n)
{
        struct proto_review_row *t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        uint32_t m;
        char err[256];

        sb_open(&sb, &pk);
        proto_reviews_begin(&pk, n);
        for (uint32_t i = 0; i < n; i++)
                proto_review_row_pack(&pk, &rows[i]);
        check(proto_reviews_decode(sb.data, sb.size, &t, &m, err, sizeof(err)) == 0);
        check(m == n);
        for (uint32_t i = 0; i < n; i++)
                check(pstr_same(t[i].unit, rows[i].unit) &&
                      pstr_same(t[i].period, rows[i].period) &&
                      pstr_same(t[i].state, rows[i].state) && pstr_same(t[i].by, rows[i].by) &&
                      pstr_same(t[i].comment, rows[i].comment) && t[i].at == rows[i].at);
        free(t);
        msgpack_sbuffer_destroy(&sb);
}

static void
notes_again(const struct proto_note_row *rows, uint32_t n)
{
        struct proto_note_row *t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        uint32_t m;
        char err[256];

        sb_open(&sb, &pk);
        proto_notes_begin(&pk, n);
        for (uint32_t i = 0; i < n; i++)
                proto_note_row_pack(&pk, &rows[i]);
        check(proto_notes_decode(sb.data, sb.size, &t, &m, err, sizeof(err)) == 0);
        check(m == n);
        for (uint32_t i = 0; i < n; i++)
                check(pstr_same(t[i].unit, rows[i].unit) &&
                      pstr_same(t[i].period, rows[i].period) && pstr_same(t[i].rule, rows[i].rule));
        free(t);
        msgpack_sbuffer_destroy(&sb);
}

static void
ask_again(const struct proto_ask *a)
{
        struct proto_ask t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[256];

        sb_open(&sb, &pk);
        proto_ask_pack(&pk, a);
        check(proto_ask_decode(sb.data, sb.size, &t, err, sizeof(err)) == 0);
        check(pstr_same(t.collector, a->collector) && pstr_same(t.batch_id, a->batch_id) &&
              pstr_same(t.unit, a->unit) && pstr_same(t.period, a->period));
        msgpack_sbuffer_destroy(&sb);
}

static void
told_again(const struct proto_told *a)
{
        struct proto_told t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[256];

        check(a->nblockers <= PROTO_MAX_BLOCKERS);
        sb_open(&sb, &pk);
        proto_told_pack(&pk, a);
        check(proto_told_decode(sb.data, sb.size, &t, err, sizeof(err)) == 0);
        check(pstr_same(t.batch_id, a->batch_id) && pstr_same(t.state, a->state) &&
              pstr_same(t.by, a->by) && pstr_same(t.comment, a->comment) && t.at == a->at &&
              t.nblockers == a->nblockers);
        for (uint32_t i = 0; i < a->nblockers; i++)
                check(pstr_same(t.blockers[i], a->blockers[i]));
        proto_told_free(&t);
        msgpack_sbuffer_destroy(&sb);
}

static void
result_again(enum proto_type type, uint64_t seq, struct pstr message)
{
        enum proto_type t;
        struct pstr m;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        uint64_t s;
        char err[256];

        sb_open(&sb, &pk);
        if (type == PROTO_OK) {
                check(message.p == NULL);
                proto_ok_pack(&pk, seq);
        } else {
                check(message.p != NULL);
                msgpack_pack_array(&pk, 3);
                pack_name(&pk, type == PROTO_FAIL ? "fail" : "fenced");
                msgpack_pack_uint64(&pk, seq);
                pack_pstr(&pk, message);
        }
        check(proto_peek(sb.data, sb.size) == type);
        check(proto_result_decode(sb.data, sb.size, &t, &s, &m, err, sizeof(err)) == 0);
        check(t == type && s == seq && pstr_same(m, message));
        msgpack_sbuffer_destroy(&sb);
}

/* Where a decoder refused the input, its outputs hold nothing. */
static int
inside(const uint8_t *data, size_t size, struct pstr s)
{
        return (const uint8_t *)s.p >= data && (const uint8_t *)s.p + s.len <= data + size;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct proto_submit s;
        struct proto_ack a;
        struct proto_uow u;
        struct proto_row *rows;
        struct proto_review_row *rv;
        struct proto_note_row *nt;
        struct proto_ask ask;
        struct proto_told told;
        struct pstr p;
        uint64_t x, y, z, x2, y2;
        uint32_t n;
        char err[256];
        enum proto_type t, rt;
        int known = peek_knows(data, size);

        t = proto_peek(data, size);
        check(t >= PROTO_BAD && t <= PROTO_LAST);
        if (proto_submit_decode(data, size, &s, err, sizeof(err)) == 0) {
                check((known ? t == PROTO_SUBMIT : t == PROTO_BAD) && s.nrec <= PROTO_MAX_BATCH);
                submit_again(&s);
        } else {
                /* A refusal owns nothing; a batch id it kept lies in the frame. */
                check(s.rec == NULL && s.nrec == 0 && s.collector.p == NULL && s.source.p == NULL);
                check(s.batch_id.p == NULL ||
                      (inside(data, size, s.batch_id) && s.batch_id.len <= PROTO_MAX_ID));
        }
        proto_submit_free(&s);
        if (proto_ack_decode(data, size, &a, err, sizeof(err)) == 0) {
                if (known)
                        check(t == PROTO_ACK || t == PROTO_ERROR);
                else
                        check(t == PROTO_BAD);
                ack_again(&a, a.message.p != NULL ? PROTO_ERROR : PROTO_ACK);
        } else {
                check(a.rej == NULL && a.stale == NULL && a.nrej == 0 && a.nstale == 0);
        }
        proto_ack_free(&a);
        if (proto_hello_decode(data, size, &p, err, sizeof(err)) == 0) {
                check((known ? t == PROTO_HELLO : t == PROTO_BAD) && p.len <= PROTO_MAX_ID);
                hello_again(p);
        } else {
                check(p.p == NULL);
        }
        if (proto_uow_decode(data, size, &u, err, sizeof(err)) == 0) {
                check(known ? t == PROTO_UOW : t == PROTO_BAD);
                uow_again(&u);
        } else {
                check(u.batches == NULL && u.values == NULL && u.rejects == NULL &&
                      u.aggs == NULL && u.nbatches == 0 && u.nvalues == 0 && u.nrejects == 0 &&
                      u.naggs == 0);
        }
        proto_uow_free(&u);
        if (proto_rows_decode(data, size, &rows, &n, err, sizeof(err)) == 0) {
                check(known ? t == PROTO_ROWS : t == PROTO_BAD);
                rows_again(rows, n);
        } else {
                check(rows == NULL && n == 0);
        }
        free(rows);
        if (proto_ready_decode(data, size, &x, &y, &z, &x2, &y2, err, sizeof(err)) == 0) {
                check(known ? t == PROTO_READY : t == PROTO_BAD);
                ready_again(x, y, z, x2, y2);
        } else {
                check(x == 0 && y == 0 && z == 0 && x2 == 0 && y2 == 0);
        }
        if (proto_reviews_decode(data, size, &rv, &n, err, sizeof(err)) == 0) {
                check(known ? t == PROTO_REVIEWS : t == PROTO_BAD);
                reviews_again(rv, n);
        } else {
                check(rv == NULL && n == 0);
        }
        free(rv);
        if (proto_notes_decode(data, size, &nt, &n, err, sizeof(err)) == 0) {
                check(known ? t == PROTO_NOTES : t == PROTO_BAD);
                notes_again(nt, n);
        } else {
                check(nt == NULL && n == 0);
        }
        free(nt);
        if (proto_ask_decode(data, size, &ask, err, sizeof(err)) == 0) {
                check(known ? t == PROTO_ASK : t == PROTO_BAD);
                ask_again(&ask);
        } else {
                check(ask.collector.p == NULL && ask.unit.p == NULL && ask.period.p == NULL);
                check(ask.batch_id.p == NULL ||
                      (inside(data, size, ask.batch_id) && ask.batch_id.len <= PROTO_MAX_ID));
        }
        if (proto_told_decode(data, size, &told, err, sizeof(err)) == 0) {
                check(known ? t == PROTO_TOLD : t == PROTO_BAD);
                told_again(&told);
        } else {
                check(told.blockers == NULL && told.nblockers == 0 && told.state.p == NULL);
        }
        proto_told_free(&told);
        if (proto_result_decode(data, size, &rt, &x, &p, err, sizeof(err)) == 0) {
                check(rt == PROTO_OK || rt == PROTO_FAIL || rt == PROTO_FENCED);
                check(known ? t == rt : t == PROTO_BAD);
                result_again(rt, x, p);
        } else {
                check(rt == PROTO_BAD && x == 0 && p.p == NULL);
        }
        return 0;
}
