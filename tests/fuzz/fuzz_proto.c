/*
 * libFuzzer target for lib/proto.c: every decoder runs over the input and
 * frees what it returned.  When the submit or uow decoder accepts an input,
 * the decoded message is packed again and must decode to the same fields,
 * so an encoder and its decoder cannot drift apart unnoticed.
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
submit_again(const struct proto_submit *s)
{
        struct proto_submit t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[256];

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        /* proto_submit_begin takes C strings; pack the head by hand. */
        msgpack_pack_array(&pk, 6);
        msgpack_pack_str(&pk, 6);
        msgpack_pack_str_body(&pk, "submit", 6);
        msgpack_pack_uint64(&pk, PROTO_VERSION);
        msgpack_pack_str(&pk, s->collector.len);
        msgpack_pack_str_body(&pk, s->collector.p, s->collector.len);
        msgpack_pack_str(&pk, s->batch_id.len);
        msgpack_pack_str_body(&pk, s->batch_id.p, s->batch_id.len);
        if (s->source.p == NULL) {
                msgpack_pack_nil(&pk);
        } else {
                msgpack_pack_str(&pk, s->source.len);
                msgpack_pack_str_body(&pk, s->source.p, s->source.len);
        }
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

static void
uow_again(const struct proto_uow *u)
{
        struct proto_uow t;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[256];

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 6);
        msgpack_pack_str(&pk, 3);
        msgpack_pack_str_body(&pk, "uow", 3);
        msgpack_pack_uint64(&pk, u->seq);
        msgpack_pack_str(&pk, u->aggregator.len);
        msgpack_pack_str_body(&pk, u->aggregator.p, u->aggregator.len);
        msgpack_pack_array(&pk, u->nvalues);
        for (uint32_t i = 0; i < u->nvalues; i++)
                proto_value_pack(&pk, &u->values[i]);
        proto_uow_rejects_begin(&pk, u->nrejects);
        for (uint32_t i = 0; i < u->nrejects; i++)
                proto_reject_pack(&pk, &u->rejects[i]);
        proto_uow_aggs_begin(&pk, u->naggs);
        for (uint32_t i = 0; i < u->naggs; i++)
                proto_agg_pack(&pk, &u->aggs[i]);
        check(proto_uow_decode(sb.data, sb.size, &t, err, sizeof(err)) == 0);
        check(t.seq == u->seq && pstr_same(t.aggregator, u->aggregator) &&
              t.nvalues == u->nvalues && t.nrejects == u->nrejects && t.naggs == u->naggs);
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
        proto_uow_free(&t);
        msgpack_sbuffer_destroy(&sb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct proto_submit s;
        struct proto_ack a;
        struct proto_uow u;
        struct proto_row *rows;
        struct pstr p;
        uint64_t x, y;
        uint32_t n;
        char err[256];
        enum proto_type t;

        t = proto_peek(data, size);
        check(t >= PROTO_BAD && t <= PROTO_FAIL);
        if (proto_submit_decode(data, size, &s, err, sizeof(err)) == 0) {
                check(t == PROTO_SUBMIT && s.nrec <= PROTO_MAX_BATCH);
                submit_again(&s);
        }
        proto_submit_free(&s);
        if (proto_ack_decode(data, size, &a, err, sizeof(err)) == 0)
                check(t == PROTO_ACK || t == PROTO_ERROR);
        proto_ack_free(&a);
        if (proto_hello_decode(data, size, &p, err, sizeof(err)) == 0)
                check(t == PROTO_HELLO && p.len <= PROTO_MAX_ID);
        if (proto_uow_decode(data, size, &u, err, sizeof(err)) == 0) {
                check(t == PROTO_UOW);
                uow_again(&u);
        }
        proto_uow_free(&u);
        if (proto_rows_decode(data, size, &rows, &n, err, sizeof(err)) == 0)
                check(t == PROTO_ROWS);
        free(rows);
        if (proto_ready_decode(data, size, &x, &y, err, sizeof(err)) == 0)
                check(t == PROTO_READY);
        if (proto_result_decode(data, size, &x, &p, err, sizeof(err)) == 0)
                check(t == PROTO_OK || t == PROTO_FAIL);
        return 0;
}
