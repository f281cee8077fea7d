/*
 * Unit tests of lib/proto.c: every message round-trips field by field, and
 * every malformed or hostile frame is refused with an error that names the
 * place, without crashing or allocating what the frame merely declares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "proto.h"

/* A packer over a growing buffer. */
struct frame {
        msgpack_sbuffer sb;
        msgpack_packer pk;
};

static void
frame_init(struct frame *f)
{
        msgpack_sbuffer_init(&f->sb);
        msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
}

static void
frame_done(struct frame *f)
{
        msgpack_sbuffer_destroy(&f->sb);
}

static void
pack_s(msgpack_packer *pk, const char *s)
{
        msgpack_pack_str(pk, strlen(s));
        msgpack_pack_str_body(pk, s, strlen(s));
}

static struct pstr
ps(const char *s)
{
        return pstr_of(s);
}

/* Assert that a decoded pstr holds exactly the text s (NULL: nil). */
static void
assert_pstr(struct pstr got, const char *s)
{
        if (s == NULL) {
                assert_null(got.p);
                assert_int_equal(got.len, 0);
                return;
        }
        assert_non_null(got.p);
        assert_int_equal(got.len, strlen(s));
        assert_memory_equal(got.p, s, got.len);
}

/* Assert that p lies inside the frame: decoding copied nothing. */
static void
assert_inside(struct pstr s, const struct frame *f)
{
        assert_true(s.p >= f->sb.data && s.p + s.len <= f->sb.data + f->sb.size);
}

/*
 * Run the decoder of type over buf and free what it returned.  Returns the
 * decoder's result; the error text is left in err.
 */
static int
decode_as(enum proto_type type, const void *buf, size_t len, char *err, size_t errlen)
{
        struct proto_submit s;
        struct proto_ack a;
        struct proto_action act;
        struct proto_uow u;
        struct proto_row *rows;
        struct proto_review_row *rv;
        struct proto_note_row *nt;
        struct proto_ask ask;
        struct proto_told told;
        struct pstr p;
        enum proto_type t;
        uint64_t x, y, z, x2, y2;
        uint32_t n;
        int rc = -1;

        err[0] = '\0';
        switch (type) {
        case PROTO_SUBMIT:
        case PROTO_CHECK:
                rc = proto_submit_decode(buf, len, &s, err, errlen);
                proto_submit_free(&s);
                break;
        case PROTO_ACTION:
                rc = proto_action_decode(buf, len, &act, err, errlen);
                break;
        case PROTO_ACK:
        case PROTO_CHECKED:
        case PROTO_ERROR:
                rc = proto_ack_decode(buf, len, &a, err, errlen);
                proto_ack_free(&a);
                break;
        case PROTO_HELLO:
                rc = proto_hello_decode(buf, len, &p, err, errlen);
                break;
        case PROTO_UOW:
                rc = proto_uow_decode(buf, len, &u, err, errlen);
                proto_uow_free(&u);
                break;
        case PROTO_ROWS:
                rc = proto_rows_decode(buf, len, &rows, &n, err, errlen);
                free(rows);
                break;
        case PROTO_READY:
                rc = proto_ready_decode(buf, len, &x, &y, &z, &x2, &y2, err, errlen);
                break;
        case PROTO_REVIEWS:
                rc = proto_reviews_decode(buf, len, &rv, &n, err, errlen);
                free(rv);
                break;
        case PROTO_NOTES:
                rc = proto_notes_decode(buf, len, &nt, &n, err, errlen);
                free(nt);
                break;
        case PROTO_ASK:
                rc = proto_ask_decode(buf, len, &ask, err, errlen);
                break;
        case PROTO_TOLD:
                rc = proto_told_decode(buf, len, &told, err, errlen);
                proto_told_free(&told);
                break;
        case PROTO_OK:
        case PROTO_FAIL:
        case PROTO_FENCED:
                rc = proto_result_decode(buf, len, &t, &x, &p, err, errlen);
                break;
        case PROTO_BAD:
                break;
        }
        return rc;
}

static const enum proto_type decoders[] = {PROTO_SUBMIT,  PROTO_ACK,   PROTO_HELLO, PROTO_UOW,
                                           PROTO_ROWS,    PROTO_READY, PROTO_OK,    PROTO_ACTION,
                                           PROTO_REVIEWS, PROTO_NOTES, PROTO_ASK,   PROTO_TOLD};

/* Every decoder refuses buf with a non-empty error. */
static void
assert_all_reject(const void *buf, size_t len)
{
        char err[256];

        for (size_t i = 0; i < sizeof(decoders) / sizeof(decoders[0]); i++) {
                assert_int_equal(decode_as(decoders[i], buf, len, err, sizeof(err)), -1);
                assert_true(strlen(err) > 0);
        }
}

static void
test_submit_roundtrip(void **state)
{
        struct proto_record r[3] = {
            {.line = 2,
             .version = 1700000000000000ULL,
             .unit = ps("211102001"),
             .period = ps("2024"),
             .indicator = ps("enrol_primary"),
             .value = ps("1234")},
            {.line = 2147483647u,
             .version = 9223372036854775807ULL,
             .unit = ps("211103"),
             .period = ps("2024S1"),
             .indicator = ps("floor_area"),
             .value = ps("12.5000")},
            {.line = 7, .version = 0, .raw = ps("a,b,\"c"), .reason = ps("unterminated quote")},
        };
        struct proto_submit s;
        struct frame f;
        char err[256] = "";

        (void)state;
        frame_init(&f);
        proto_submit_begin(&f.pk, "盘锦一中", "b-0001", "schools.csv", 3);
        for (int i = 0; i < 3; i++)
                proto_record_pack(&f.pk, &r[i]);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_SUBMIT);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_pstr(s.collector, "盘锦一中");
        assert_pstr(s.batch_id, "b-0001");
        assert_pstr(s.source, "schools.csv");
        assert_int_equal(s.nrec, 3);
        assert_int_equal(s.rec[0].line, 2);
        assert_true(s.rec[0].version == 1700000000000000ULL);
        assert_pstr(s.rec[0].unit, "211102001");
        assert_pstr(s.rec[0].period, "2024");
        assert_pstr(s.rec[0].indicator, "enrol_primary");
        assert_pstr(s.rec[0].value, "1234");
        assert_pstr(s.rec[0].raw, NULL);
        assert_pstr(s.rec[0].reason, NULL);
        assert_true(s.rec[1].line == 2147483647u);
        assert_true(s.rec[1].version == 9223372036854775807ULL);
        assert_pstr(s.rec[1].unit, "211103");
        assert_pstr(s.rec[1].period, "2024S1");
        assert_pstr(s.rec[1].indicator, "floor_area");
        assert_pstr(s.rec[1].value, "12.5000");
        assert_int_equal(s.rec[2].line, 7);
        assert_true(s.rec[2].version == 0);
        assert_pstr(s.rec[2].unit, NULL);
        assert_pstr(s.rec[2].period, NULL);
        assert_pstr(s.rec[2].indicator, NULL);
        assert_pstr(s.rec[2].value, NULL);
        assert_pstr(s.rec[2].raw, "a,b,\"c");
        assert_pstr(s.rec[2].reason, "unterminated quote");
        /* Zero copy: every string points into our buffer. */
        assert_inside(s.collector, &f);
        assert_inside(s.rec[0].unit, &f);
        assert_inside(s.rec[2].raw, &f);
        proto_submit_free(&s);
        assert_null(s.rec);
        assert_int_equal(s.nrec, 0);

        /* line lands in PostgreSQL integer: 2^31 is refused, not stored wrongly */
        r[1].line = 2147483648u;
        frame_done(&f);
        frame_init(&f);
        proto_submit_begin(&f.pk, "c", "b-0002", "s.csv", 1);
        proto_record_pack(&f.pk, &r[1]);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        /* Not yet read, so the record goes by its position. */
        assert_string_equal(err, "record 0: line 2147483648 out of range");
        frame_done(&f);
}

/* An empty batch decodes; the source may be "" but, since version 2, not nil. */
static void
test_submit_empty_and_source(void **state)
{
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_submit_begin(&f.pk, "c", "b", "", 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_pstr(s.source, "");
        assert_inside(s.source, &f);
        assert_int_equal(s.nrec, 0);
        assert_null(s.rec);
        proto_submit_free(&s);
        frame_done(&f);

        frame_init(&f);
        proto_submit_begin(&f.pk, "c", "b-nil", NULL, 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "source is not a string");
        assert_pstr(s.source, NULL);
        assert_pstr(s.collector, NULL);
        /* The batch id was valid: the error reply can name the batch. */
        assert_pstr(s.batch_id, "b-nil");
        assert_inside(s.batch_id, &f);
        assert_null(s.rec);
        assert_int_equal(s.nrec, 0);
        frame_done(&f);
}

static void
test_ack_and_error_roundtrip(void **state)
{
        struct proto_ack a;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b-0001"), 10, 3, 2);
        proto_reject_line_pack(&f.pk, 5, ps("unknown unit 999"));
        proto_reject_line_pack(&f.pk, 9, ps("negative value"));
        proto_ack_stale_begin(&f.pk, 0);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_ACK);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_pstr(a.batch_id, "b-0001");
        assert_int_equal(a.accepted, 10);
        assert_int_equal(a.changed, 3);
        assert_int_equal(a.nrej, 2);
        assert_int_equal(a.rej[0].line, 5);
        assert_pstr(a.rej[0].reason, "unknown unit 999");
        assert_int_equal(a.rej[1].line, 9);
        assert_pstr(a.rej[1].reason, "negative value");
        assert_int_equal(a.nstale, 0);
        assert_null(a.stale);
        assert_pstr(a.message, NULL);
        proto_ack_free(&a);
        frame_done(&f);

        /* Stale records past the ack's list are counted in a seventh item. */
        frame_init(&f);
        {
                struct proto_stale st = {
                    .line = 4, .value = ps("7"), .collector = ps("c"), .version = 99};

                proto_ack_begin_more(&f.pk, ps("b-0003"), 5, 0, 0, 1234);
                proto_ack_stale_begin(&f.pk, 1);
                proto_stale_pack(&f.pk, &st);
                proto_ack_stale_more_pack(&f.pk, 1234);
        }
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_int_equal(a.nstale, 1);
        assert_int_equal(a.stale[0].line, 4);
        assert_int_equal(a.stale_more, 1234);
        proto_ack_free(&a);
        frame_done(&f);
        /* Six items: none. */
        frame_init(&f);
        proto_ack_begin_more(&f.pk, ps("b-0004"), 5, 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 0);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_int_equal(a.stale_more, 0);
        proto_ack_free(&a);
        frame_done(&f);

        frame_init(&f);
        proto_error_pack(&f.pk, ps("b-0002"), "aggregator is shutting down");
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_ERROR);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_pstr(a.batch_id, "b-0002");
        assert_pstr(a.message, "aggregator is shutting down");
        assert_int_equal(a.nrej, 0);
        assert_null(a.rej);
        assert_int_equal(a.nstale, 0);
        assert_null(a.stale);
        proto_ack_free(&a);
        frame_done(&f);

        frame_init(&f);
        proto_error_pack(&f.pk, ps(NULL), "not a submit message");
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_pstr(a.batch_id, NULL);
        assert_pstr(a.message, "not a submit message");
        proto_ack_free(&a);
        frame_done(&f);
}

static void
test_hello_roundtrip(void **state)
{
        struct pstr agg;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_hello_pack(&f.pk, "agg-1");
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_HELLO);
        assert_int_equal(proto_hello_decode(f.sb.data, f.sb.size, &agg, err, sizeof(err)), 0);
        assert_pstr(agg, "agg-1");
        assert_inside(agg, &f);
        frame_done(&f);
}

static void
test_uow_roundtrip(void **state)
{
        struct proto_batch b = {ps("c1"), ps("b1"), ps("f.csv")};
        /* The encoder takes the batch's index: a value's own collector and batch_id are ignored. */
        struct proto_value v = {.unit = ps("211102001"),
                                .period = ps("2024"),
                                .indicator = ps("teachers"),
                                .value = ps("88"),
                                .version = 42,
                                .flags = PROTO_VALUE_NEW | PROTO_VALUE_FINAL,
                                .collector = ps("ignored"),
                                .batch_id = ps("ignored")};
        struct proto_reject rj = {.collector = ps("ignored"),
                                  .source = ps("ignored"),
                                  .batch_id = ps("ignored"),
                                  .line = 12,
                                  .unit = ps("999"),
                                  .period = ps("2024"),
                                  .indicator = ps("teachers"),
                                  .raw = ps("999,2024,teachers,5"),
                                  .reason = ps("unknown unit 999")};
        struct proto_agg ag[2] = {
            {.unit = ps("211100"),
             .level = ps("city"),
             .period = ps("2024"),
             .indicator = ps("pupil_teacher"),
             .value = ps("16.5000"),
             .numerator = ps("1650"),
             .denominator = ps("100"),
             .n_reporting = 4,
             .min = 12.25,
             .max = 20.5,
             .mean = 16.5,
             .cv = 0.125},
            {.unit = ps("211102"),
             .level = ps("district"),
             .period = ps("2024"),
             .indicator = ps("enrol_rate"),
             .numerator = ps("10"),
             .denominator = ps("0"),
             .n_reporting = 1,
             .nulls = PROTO_AGG_NULL_VALUE | PROTO_AGG_NULL_MIN | PROTO_AGG_NULL_MAX |
                      PROTO_AGG_NULL_MEAN | PROTO_AGG_NULL_CV},
        };
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_uow_begin(&f.pk, 77, 5, "agg-1", 1);
        proto_uow_batch_pack(&f.pk, &b);
        proto_uow_values_begin(&f.pk, 1);
        proto_value_pack(&f.pk, &v, 0);
        proto_uow_rejects_begin(&f.pk, 1);
        proto_reject_pack(&f.pk, &rj, 0);
        proto_uow_aggs_begin(&f.pk, 2);
        proto_agg_pack(&f.pk, &ag[0]);
        proto_agg_pack(&f.pk, &ag[1]);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_UOW);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_true(u.seq == 77);
        assert_true(u.epoch == 5);
        assert_pstr(u.aggregator, "agg-1");
        assert_int_equal(u.nbatches, 1);
        assert_pstr(u.batches[0].collector, "c1");
        assert_pstr(u.batches[0].batch_id, "b1");
        assert_pstr(u.batches[0].source, "f.csv");
        assert_int_equal(u.nvalues, 1);
        assert_pstr(u.values[0].unit, "211102001");
        assert_pstr(u.values[0].period, "2024");
        assert_pstr(u.values[0].indicator, "teachers");
        assert_pstr(u.values[0].value, "88");
        assert_true(u.values[0].version == 42);
        assert_int_equal(u.values[0].flags, 3);
        assert_pstr(u.values[0].collector, "c1");
        assert_pstr(u.values[0].batch_id, "b1");
        assert_int_equal(u.nrejects, 1);
        assert_pstr(u.rejects[0].collector, "c1");
        assert_pstr(u.rejects[0].source, "f.csv");
        assert_pstr(u.rejects[0].batch_id, "b1");
        assert_int_equal(u.rejects[0].line, 12);
        assert_pstr(u.rejects[0].unit, "999");
        assert_pstr(u.rejects[0].period, "2024");
        assert_pstr(u.rejects[0].indicator, "teachers");
        assert_pstr(u.rejects[0].raw, "999,2024,teachers,5");
        assert_pstr(u.rejects[0].reason, "unknown unit 999");
        assert_int_equal(u.naggs, 2);
        assert_pstr(u.aggs[0].unit, "211100");
        assert_pstr(u.aggs[0].level, "city");
        assert_pstr(u.aggs[0].period, "2024");
        assert_pstr(u.aggs[0].indicator, "pupil_teacher");
        assert_pstr(u.aggs[0].value, "16.5000");
        assert_pstr(u.aggs[0].numerator, "1650");
        assert_pstr(u.aggs[0].denominator, "100");
        assert_int_equal(u.aggs[0].n_reporting, 4);
        /* Binary fractions survive float64 exactly. */
        assert_true(u.aggs[0].min == 12.25);
        assert_true(u.aggs[0].max == 20.5);
        assert_true(u.aggs[0].mean == 16.5);
        assert_true(u.aggs[0].cv == 0.125);
        assert_int_equal(u.aggs[0].nulls, 0);
        assert_pstr(u.aggs[1].value, NULL);
        assert_pstr(u.aggs[1].numerator, "10");
        assert_pstr(u.aggs[1].denominator, "0");
        assert_int_equal(u.aggs[1].n_reporting, 1);
        assert_int_equal(u.aggs[1].nulls, 0x01 | 0x08 | 0x10 | 0x20 | 0x40);
        proto_uow_free(&u);
        assert_null(u.values);
        assert_null(u.batches);
        assert_int_equal(u.nbatches, 0);
        frame_done(&f);
}

static void
test_uow_empty(void **state)
{
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 0);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_int_equal(u.nbatches + u.nvalues + u.nrejects + u.naggs, 0);
        assert_null(u.batches);
        proto_uow_free(&u);
        frame_done(&f);
}

/* Assert that a and b hold the same text, or are both nil. */
static void
assert_pstr_same(struct pstr a, struct pstr b)
{
        if (a.p == NULL || b.p == NULL) {
                assert_true(a.p == NULL && b.p == NULL);
                return;
        }
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.p, b.p, a.len);
}

/*
 * Two batches, with values and rejections of each, in an order that
 * alternates: every value and rejection decodes with its own batch's
 * collector, batch id and source, which point at the batch table's
 * strings in the frame (nothing is copied, a batch is sent once).
 */
static void
test_uow_batches_roundtrip(void **state)
{
        const struct proto_batch b[2] = {{ps("盘锦一中"), ps("b-0001"), ps("schools.csv")},
                                         {ps("c2"), ps("b-0002"), ps(NULL)}};
        const uint32_t vbatch[4] = {1, 0, 0, 1}, rbatch[3] = {0, 1, 1};
        struct proto_value v = {
            .period = ps("2024"), .indicator = ps("teachers"), .flags = PROTO_VALUE_NEW};
        struct proto_reject rj = {.raw = ps("x,y"), .reason = ps("bad row")};
        char unit[4][16], val[4][16];
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_uow_begin(&f.pk, 12, 3, "agg-1", 2);
        proto_uow_batch_pack(&f.pk, &b[0]);
        proto_uow_batch_pack(&f.pk, &b[1]);
        proto_uow_values_begin(&f.pk, 4);
        for (uint32_t i = 0; i < 4; i++) {
                snprintf(unit[i], sizeof(unit[i]), "u%u", i);
                snprintf(val[i], sizeof(val[i]), "%u", 10 * i);
                v.unit = ps(unit[i]);
                v.value = ps(val[i]);
                v.version = 100 + i;
                proto_value_pack(&f.pk, &v, vbatch[i]);
        }
        proto_uow_rejects_begin(&f.pk, 3);
        for (uint32_t i = 0; i < 3; i++) {
                rj.line = 20 + i;
                proto_reject_pack(&f.pk, &rj, rbatch[i]);
        }
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_int_equal(u.nbatches, 2);
        for (uint32_t k = 0; k < 2; k++) {
                assert_pstr_same(u.batches[k].collector, b[k].collector);
                assert_pstr_same(u.batches[k].batch_id, b[k].batch_id);
                assert_pstr_same(u.batches[k].source, b[k].source);
                assert_inside(u.batches[k].collector, &f);
                assert_inside(u.batches[k].batch_id, &f);
        }
        assert_pstr(u.batches[0].source, "schools.csv");
        assert_inside(u.batches[0].source, &f);
        assert_pstr(u.batches[1].source, NULL);
        assert_int_equal(u.nvalues, 4);
        for (uint32_t i = 0; i < 4; i++) {
                const struct proto_batch *want = &u.batches[vbatch[i]];

                assert_pstr(u.values[i].unit, unit[i]);
                assert_pstr(u.values[i].value, val[i]);
                assert_true(u.values[i].version == 100 + i);
                assert_pstr_same(u.values[i].collector, b[vbatch[i]].collector);
                assert_pstr_same(u.values[i].batch_id, b[vbatch[i]].batch_id);
                assert_true(u.values[i].collector.p == want->collector.p);
                assert_true(u.values[i].batch_id.p == want->batch_id.p);
        }
        assert_int_equal(u.nrejects, 3);
        for (uint32_t i = 0; i < 3; i++) {
                const struct proto_batch *want = &u.batches[rbatch[i]];

                assert_int_equal(u.rejects[i].line, 20 + i);
                assert_pstr(u.rejects[i].unit, NULL);
                assert_pstr(u.rejects[i].raw, "x,y");
                assert_pstr(u.rejects[i].reason, "bad row");
                assert_pstr_same(u.rejects[i].collector, b[rbatch[i]].collector);
                assert_pstr_same(u.rejects[i].batch_id, b[rbatch[i]].batch_id);
                assert_pstr_same(u.rejects[i].source, b[rbatch[i]].source);
                assert_true(u.rejects[i].collector.p == want->collector.p);
                assert_true(u.rejects[i].source.p == want->source.p);
                assert_true(u.rejects[i].batch_id.p == want->batch_id.p);
        }
        assert_pstr(u.values[0].collector, "c2");
        assert_pstr(u.values[1].batch_id, "b-0001");
        assert_pstr(u.rejects[0].source, "schools.csv");
        assert_pstr(u.rejects[2].source, NULL);
        assert_int_equal(u.naggs, 0);
        proto_uow_free(&u);
        assert_null(u.batches);
        assert_int_equal(u.nbatches, 0);
        frame_done(&f);
}

/* ["uow", 1, 1, "a", [batches], [one value of batch vb], [one reject of batch rb], []] */
static void
pack_uow_refs(struct frame *f, uint32_t nbatches, int with_value, uint64_t vb, int with_reject,
              uint64_t rb)
{
        const struct proto_batch b = {ps("c"), ps("b"), ps("f.csv")};
        const struct proto_value v = {.unit = ps("u"),
                                      .period = ps("p"),
                                      .indicator = ps("i"),
                                      .value = ps("1"),
                                      .version = 1};
        const struct proto_reject rj = {.line = 3, .reason = ps("r")};

        frame_init(f);
        proto_uow_begin(&f->pk, 1, 1, "a", nbatches);
        for (uint32_t k = 0; k < nbatches; k++)
                proto_uow_batch_pack(&f->pk, &b);
        proto_uow_values_begin(&f->pk, with_value ? 1 : 0);
        if (with_value) {
                if (vb <= UINT32_MAX) {
                        proto_value_pack(&f->pk, &v, (uint32_t)vb);
                } else {
                        /* proto_value_pack takes a uint32_t: an index beyond, by hand. */
                        msgpack_pack_array(&f->pk, 7);
                        pack_s(&f->pk, "u");
                        pack_s(&f->pk, "p");
                        pack_s(&f->pk, "i");
                        pack_s(&f->pk, "1");
                        msgpack_pack_uint64(&f->pk, 1);
                        msgpack_pack_uint64(&f->pk, 0);
                        msgpack_pack_uint64(&f->pk, vb);
                }
        }
        proto_uow_rejects_begin(&f->pk, with_reject ? 1 : 0);
        if (with_reject)
                proto_reject_pack(&f->pk, &rj, (uint32_t)rb);
        proto_uow_aggs_begin(&f->pk, 0);
        proto_uow_violations_begin(&f->pk, 0);
        proto_uow_actions_begin(&f->pk, 0, 0);
}

/*
 * A value or rejection naming a batch the uow does not carry is refused,
 * and the refusal says which and how many there are; the uow owns nothing.
 */
static void
test_uow_batch_out_of_range(void **state)
{
        static const struct {
                uint32_t nbatches;
                int with_value;
                uint64_t vb;
                int with_reject;
                uint32_t rb;
                const char *err;
        } cases[] = {
            {1, 1, 3, 0, 0, "value 0: batch 3 out of range (the uow has 1)"},
            {1, 0, 0, 1, 3, "reject 0: batch 3 out of range (the uow has 1)"},
            {2, 1, 2, 1, 0, "value 0: batch 2 out of range (the uow has 2)"},
            {2, 1, 1, 1, 2, "reject 0: batch 2 out of range (the uow has 2)"},
            {0, 1, 0, 0, 0, "value 0: batch 0 out of range (the uow has 0)"},
            {0, 0, 0, 1, 0, "reject 0: batch 0 out of range (the uow has 0)"},
            {1, 1, UINT32_MAX, 0, 0, "value 0: batch 4294967295 out of range (the uow has 1)"},
            {1, 0, 0, 1, UINT32_MAX, "reject 0: batch 4294967295 out of range (the uow has 1)"},
            /* Beyond 32 bits the integer itself is out of range. */
            {1, 1, 4294967296ULL, 0, 0, "value 0: batch 4294967296 out of range"},
        };
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                pack_uow_refs(&f, cases[i].nbatches, cases[i].with_value, cases[i].vb,
                              cases[i].with_reject, cases[i].rb);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
                assert_string_equal(err, cases[i].err);
                assert_null(u.batches);
                assert_null(u.values);
                assert_null(u.rejects);
                assert_int_equal(u.nbatches + u.nvalues + u.nrejects + u.naggs, 0);
                frame_done(&f);
        }
        /* The last batch is in range. */
        pack_uow_refs(&f, 2, 1, 1, 1, 1);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_pstr(u.values[0].collector, "c");
        assert_pstr(u.rejects[0].source, "f.csv");
        proto_uow_free(&u);
        frame_done(&f);

        /* A negative index (one that is not an integer: test_invalid_types_everywhere). */
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 0);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 7);
        msgpack_pack_int64(&f.pk, -1);
        msgpack_pack_uint64(&f.pk, 3);
        for (int i = 0; i < 4; i++)
                msgpack_pack_nil(&f.pk);
        pack_s(&f.pk, "r");
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "reject 0: batch is negative");
        frame_done(&f);
}

/*
 * A uow may carry batches that no value names: a batch whose rows were
 * all rejected, or that changed nothing.  The table still decodes.
 */
static void
test_uow_batches_without_values(void **state)
{
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        pack_uow_refs(&f, 3, 0, 0, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_int_equal(u.nbatches, 3);
        assert_int_equal(u.nvalues + u.nrejects + u.naggs, 0);
        assert_null(u.values);
        assert_null(u.rejects);
        for (uint32_t k = 0; k < 3; k++) {
                assert_pstr(u.batches[k].collector, "c");
                assert_pstr(u.batches[k].batch_id, "b");
                assert_pstr(u.batches[k].source, "f.csv");
        }
        proto_uow_free(&u);
        assert_null(u.batches);
        frame_done(&f);

        /* Only rejections, all of the second batch. */
        pack_uow_refs(&f, 2, 0, 0, 1, 1);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_int_equal(u.nbatches, 2);
        assert_int_equal(u.nvalues, 0);
        assert_int_equal(u.nrejects, 1);
        assert_true(u.rejects[0].batch_id.p == u.batches[1].batch_id.p);
        proto_uow_free(&u);
        frame_done(&f);
}

/*
 * A batch's source may be nil (a rejection then has none); its collector
 * and batch id may not.  A batch id takes any string here: the submit's
 * rules were applied by the aggregator.  A batch is exactly 3 items.
 */
static void
test_uow_batch_fields(void **state)
{
        static const struct {
                struct proto_batch b;
                const char *err;
        } bad[] = {
            {{{NULL, 0}, {"b", 1}, {"s", 1}}, "batch 1: collector is not a string"},
            {{{"c", 1}, {NULL, 0}, {"s", 1}}, "batch 1: batch_id is not a string"},
        };
        const struct proto_batch nil_source = {ps("c"), ps("a b"), ps(NULL)};
        const struct proto_reject rj = {.line = 9, .reason = ps("r")};
        const struct proto_value v = {.unit = ps("u"),
                                      .period = ps("p"),
                                      .indicator = ps("i"),
                                      .value = ps("1"),
                                      .version = 1};
        char big[PROTO_MAX_TEXT + 2];
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 1);
        proto_uow_batch_pack(&f.pk, &nil_source);
        proto_uow_values_begin(&f.pk, 1);
        proto_value_pack(&f.pk, &v, 0);
        proto_uow_rejects_begin(&f.pk, 1);
        proto_reject_pack(&f.pk, &rj, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_pstr(u.batches[0].source, NULL);
        assert_pstr(u.batches[0].batch_id, "a b");
        assert_pstr(u.values[0].collector, "c");
        assert_pstr(u.values[0].batch_id, "a b");
        assert_pstr(u.rejects[0].collector, "c");
        assert_pstr(u.rejects[0].batch_id, "a b");
        assert_pstr(u.rejects[0].source, NULL);
        proto_uow_free(&u);
        frame_done(&f);

        /* Nil where a batch needs a string: named by the batch's index. */
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                frame_init(&f);
                proto_uow_begin(&f.pk, 1, 1, "a", 2);
                proto_uow_batch_pack(&f.pk, &nil_source);
                proto_uow_batch_pack(&f.pk, &bad[i].b);
                proto_uow_values_begin(&f.pk, 0);
                proto_uow_rejects_begin(&f.pk, 0);
                proto_uow_aggs_begin(&f.pk, 0);
                proto_uow_violations_begin(&f.pk, 0);
                proto_uow_actions_begin(&f.pk, 0, 0);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
                assert_string_equal(err, bad[i].err);
                assert_null(u.batches);
                assert_int_equal(u.nbatches, 0);
                frame_done(&f);
        }

        /* The caps: 64 bytes of collector and batch id, 4096 of source. */
        memset(big, 'x', sizeof(big));
        struct {
                struct proto_batch b;
                const char *err;
        } caps[] = {
            {{{big, PROTO_MAX_ID}, {big, PROTO_MAX_ID}, {big, PROTO_MAX_TEXT}}, NULL},
            {{{big, PROTO_MAX_ID + 1}, ps("b"), ps("s")},
             "batch 0: collector longer than 64 bytes"},
            {{ps("c"), {big, PROTO_MAX_ID + 1}, ps("s")}, "batch 0: batch_id longer than 64 bytes"},
            {{ps("c"), ps("b"), {big, PROTO_MAX_TEXT + 1}},
             "batch 0: source longer than 4096 bytes"},
        };
        for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
                frame_init(&f);
                proto_uow_begin(&f.pk, 1, 1, "a", 1);
                proto_uow_batch_pack(&f.pk, &caps[i].b);
                proto_uow_values_begin(&f.pk, 0);
                proto_uow_rejects_begin(&f.pk, 0);
                proto_uow_aggs_begin(&f.pk, 0);
                proto_uow_violations_begin(&f.pk, 0);
                proto_uow_actions_begin(&f.pk, 0, 0);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)),
                                 caps[i].err == NULL ? 0 : -1);
                if (caps[i].err != NULL)
                        assert_string_equal(err, caps[i].err);
                else
                        assert_int_equal(u.batches[0].source.len, PROTO_MAX_TEXT);
                proto_uow_free(&u);
                frame_done(&f);
        }

        /* A batch of 2 or 4 items, and one that is not an array. */
        static const unsigned char two[] = {0x9b, 0xa3, 'u',  'o',  'w',  0x01, 0x01,
                                            0xa1, 'a',  0x91, 0x92, 0xa1, 'c',  0xa1,
                                            'b',  0x90, 0x90, 0x90, 0x90, 0x00, 0x90};
        static const unsigned char four[] = {0x9b, 0xa3, 'u',  'o',  'w',  0x01, 0x01, 0xa1,
                                             'a',  0x91, 0x94, 0xa1, 'c',  0xa1, 'b',  0xc0,
                                             0xc0, 0x90, 0x90, 0x90, 0x90, 0x00, 0x90};
        static const unsigned char scalar[] = {0x9b, 0xa3, 'u', 'o',  'w',  0x01, 0x01, 0xa1, 'a',
                                               0x91, 0xa1, 'c', 0x90, 0x90, 0x90, 0x90, 0x00, 0x90};
        assert_int_equal(decode_as(PROTO_UOW, two, sizeof(two), err, sizeof(err)), -1);
        assert_string_equal(err, "batch 0: has 2 items, expected 3");
        assert_int_equal(decode_as(PROTO_UOW, four, sizeof(four), err, sizeof(err)), -1);
        assert_string_equal(err, "batch 0: has 4 items, expected 3");
        assert_int_equal(decode_as(PROTO_UOW, scalar, sizeof(scalar), err, sizeof(err)), -1);
        assert_string_equal(err, "batch 0: not an array");
}

static void
test_rows_ready_result_roundtrip(void **state)
{
        struct proto_row in[2] = {
            {ps("211102001"), ps("2024"), ps("teachers"), ps("88"), 5, ps("盘锦一中")},
            {ps("211103001"), ps("202409"), ps("floor_area"), ps("1000.5"), 6, ps("")},
        };
        struct proto_row *rows;
        struct pstr msg;
        enum proto_type type;
        uint64_t a, b, c;
        uint32_t n;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_rows_begin(&f.pk, 2);
        proto_row_pack(&f.pk, &in[0]);
        proto_row_pack(&f.pk, &in[1]);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_ROWS);
        assert_int_equal(proto_rows_decode(f.sb.data, f.sb.size, &rows, &n, err, sizeof(err)), 0);
        assert_int_equal(n, 2);
        assert_pstr(rows[0].unit, "211102001");
        assert_pstr(rows[0].period, "2024");
        assert_pstr(rows[0].indicator, "teachers");
        assert_pstr(rows[0].value, "88");
        assert_true(rows[0].version == 5);
        assert_pstr(rows[0].collector, "盘锦一中");
        assert_inside(rows[0].collector, &f);
        assert_pstr(rows[1].unit, "211103001");
        assert_pstr(rows[1].period, "202409");
        assert_pstr(rows[1].indicator, "floor_area");
        assert_pstr(rows[1].value, "1000.5");
        assert_true(rows[1].version == 6);
        assert_pstr(rows[1].collector, "");
        free(rows);
        frame_done(&f);

        frame_init(&f);
        proto_ready_pack(&f.pk, 123456789012ULL, 4000000, 9223372036854775807ULL, 17, 70000);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_READY);
        uint64_t d, e;
        assert_int_equal(
            proto_ready_decode(f.sb.data, f.sb.size, &a, &b, &c, &d, &e, err, sizeof(err)), 0);
        assert_true(a == 123456789012ULL);
        assert_true(b == 4000000);
        assert_true(c == 9223372036854775807ULL);
        assert_true(d == 17 && e == 70000);
        frame_done(&f);

        frame_init(&f);
        proto_ok_pack(&f.pk, 99);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_OK);
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &a, &msg, err, sizeof(err)), 0);
        assert_int_equal(type, PROTO_OK);
        assert_true(a == 99);
        assert_pstr(msg, NULL);
        frame_done(&f);

        frame_init(&f);
        proto_fail_pack(&f.pk, 100, "duplicate key value");
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_FAIL);
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &a, &msg, err, sizeof(err)), 0);
        assert_int_equal(type, PROTO_FAIL);
        assert_true(a == 100);
        assert_pstr(msg, "duplicate key value");
        frame_done(&f);

        frame_init(&f);
        proto_fenced_pack(&f.pk, 101, "aggregator agg-1 said hello again: epoch 8");
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_FENCED);
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &a, &msg, err, sizeof(err)), 0);
        assert_int_equal(type, PROTO_FENCED);
        assert_true(a == 101);
        assert_pstr(msg, "aggregator agg-1 said hello again: epoch 8");
        assert_inside(msg, &f);
        frame_done(&f);
}

static void
test_peek(void **state)
{
        /* ["ok", 1] as array16 and array32 headers. */
        static const unsigned char a16[] = {0xdc, 0x00, 0x02, 0xa2, 'o', 'k', 0x01};
        static const unsigned char a32[] = {0xdd, 0, 0, 0, 2, 0xa4, 'f', 'a', 'i', 'l'};
        static const unsigned char str8[] = {0x92, 0xd9, 0x02, 'o', 'k', 0x01};
        static const unsigned char empty[] = {0x90};
        static const unsigned char unknown[] = {0x92, 0xa3, 'a', 'c', 'x', 0x01};
        static const unsigned char prefix[] = {0x92, 0xa3, 'a', 'c'};
        static const unsigned char longer[] = {0x92, 0xa4, 'o', 'k', 'a', 'y'};
        static const unsigned char map[] = {0x81, 0xa2, 'o', 'k', 0x01};
        /* The type added in version 2, and names one byte short and long. */
        static const unsigned char fenced[] = {0x93, 0xa6, 'f', 'e', 'n', 'c', 'e', 'd', 0x01};
        static const unsigned char fence[] = {0x93, 0xa5, 'f', 'e', 'n', 'c', 'e', 0x01};
        static const unsigned char fencedx[] = {0x93, 0xa7, 'f', 'e', 'n', 'c', 'e', 'd', 'x'};

        (void)state;
        assert_int_equal(proto_peek(fenced, sizeof(fenced)), PROTO_FENCED);
        assert_int_equal(proto_peek(fenced, 8), PROTO_FENCED);
        assert_int_equal(proto_peek(fenced, 7), PROTO_BAD);
        assert_int_equal(proto_peek(fence, sizeof(fence)), PROTO_BAD);
        assert_int_equal(proto_peek(fencedx, sizeof(fencedx)), PROTO_BAD);
        assert_int_equal(proto_peek(a16, sizeof(a16)), PROTO_OK);
        assert_int_equal(proto_peek(a32, sizeof(a32)), PROTO_FAIL);
        assert_int_equal(proto_peek(str8, sizeof(str8)), PROTO_BAD);
        assert_int_equal(proto_peek(empty, sizeof(empty)), PROTO_BAD);
        assert_int_equal(proto_peek(unknown, sizeof(unknown)), PROTO_BAD);
        assert_int_equal(proto_peek(prefix, sizeof(prefix)), PROTO_BAD);
        assert_int_equal(proto_peek(longer, sizeof(longer)), PROTO_BAD);
        assert_int_equal(proto_peek(map, sizeof(map)), PROTO_BAD);
        assert_int_equal(proto_peek(a16, 0), PROTO_BAD);
        assert_int_equal(proto_peek(a16, 2), PROTO_BAD);
}

/* One record packed with a valid shape, for the cap tests below. */
static void
pack_one_submit(struct frame *f, const struct proto_record *r)
{
        frame_init(f);
        proto_submit_begin(&f->pk, "c", "b", "f.csv", 1);
        proto_record_pack(&f->pk, r);
}

static void
test_field_caps(void **state)
{
        char *big = malloc(10 * 1024 * 1024 + 1);
        struct proto_record r = {.line = 1,
                                 .version = 1,
                                 .unit = ps("u"),
                                 .period = ps("2024"),
                                 .indicator = ps("i"),
                                 .value = ps("1")};
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        memset(big, 'x', 10 * 1024 * 1024);
        big[10 * 1024 * 1024] = '\0';

        /* Exactly at the cap passes, one byte over fails. */
        r.unit = (struct pstr){big, PROTO_MAX_FIELD};
        pack_one_submit(&f, &r);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.rec[0].unit.len, 256);
        proto_submit_free(&s);
        frame_done(&f);

        r.unit = (struct pstr){big, PROTO_MAX_FIELD + 1};
        pack_one_submit(&f, &r);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "line 1: unit longer than 256 bytes");
        assert_null(s.rec);
        frame_done(&f);

        r.unit = ps("u");
        r.value = (struct pstr){big, PROTO_MAX_FIELD + 1};
        pack_one_submit(&f, &r);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "line 1: value longer than 256 bytes");
        frame_done(&f);

        r.value = ps("1");
        r.raw = (struct pstr){big, PROTO_MAX_TEXT};
        r.reason = ps("bad row");
        pack_one_submit(&f, &r);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        proto_submit_free(&s);
        frame_done(&f);

        /* A 10 MB string in a text field. */
        r.raw = (struct pstr){big, 10 * 1024 * 1024};
        pack_one_submit(&f, &r);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "line 1: raw longer than 4096 bytes");
        frame_done(&f);

        /* Ids: 64 bytes pass, 65 fail. */
        frame_init(&f);
        big[PROTO_MAX_ID + 1] = '\0';
        proto_submit_begin(&f.pk, "c", big, "s", 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "batch_id longer than 64 bytes");
        assert_pstr(s.batch_id, NULL);
        frame_done(&f);
        frame_init(&f);
        proto_submit_begin(&f.pk, big, "b", "s", 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "collector longer than 64 bytes");
        frame_done(&f);
        frame_init(&f);
        big[PROTO_MAX_ID] = '\0';
        proto_submit_begin(&f.pk, big, "b", "s", 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.collector.len, 64);
        proto_submit_free(&s);
        frame_done(&f);
        frame_init(&f);
        proto_submit_begin(&f.pk, "c", big, "s", 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.batch_id.len, 64);
        proto_submit_free(&s);
        frame_done(&f);

        /* A 10 MB string as the whole frame, and as a message type. */
        frame_init(&f);
        msgpack_pack_str(&f.pk, 10 * 1024 * 1024);
        msgpack_pack_str_body(&f.pk, big, 10 * 1024 * 1024);
        assert_all_reject(f.sb.data, f.sb.size);
        frame_done(&f);
        memset(big, 'x', 10 * 1024 * 1024);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 2);
        msgpack_pack_str(&f.pk, 10 * 1024 * 1024);
        msgpack_pack_str_body(&f.pk, big, 10 * 1024 * 1024);
        msgpack_pack_uint64(&f.pk, 1);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_BAD);
        assert_all_reject(f.sb.data, f.sb.size);
        frame_done(&f);
        free(big);
}

static void
test_batch_cap(void **state)
{
        struct proto_record r = {.line = 1,
                                 .version = 1,
                                 .unit = ps("u"),
                                 .period = ps("2024"),
                                 .indicator = ps("i"),
                                 .value = ps("1")};
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_submit_begin(&f.pk, "c", "b", "s", PROTO_MAX_BATCH);
        for (uint32_t i = 0; i < PROTO_MAX_BATCH; i++) {
                r.line = i + 2;
                proto_record_pack(&f.pk, &r);
        }
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.nrec, 20000);
        assert_int_equal(s.rec[19999].line, 20001);
        proto_submit_free(&s);
        frame_done(&f);

        frame_init(&f);
        proto_submit_begin(&f.pk, "c", "b", "s", PROTO_MAX_BATCH + 1);
        for (uint32_t i = 0; i < PROTO_MAX_BATCH + 1; i++)
                proto_record_pack(&f.pk, &r);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        /* The records array header sits after 0x96 "submit" 2 "c" "b" "s". */
        assert_string_equal(err, "byte 15: array declares 20001 items, at most 20000 allowed at "
                                 "depth 1");
        assert_null(s.rec);
        frame_done(&f);

        /* An ack's rejections are capped the same way. */
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, PROTO_MAX_BATCH + 1);
        for (uint32_t i = 0; i < PROTO_MAX_BATCH + 1; i++)
                proto_reject_line_pack(&f.pk, i, ps("r"));
        proto_ack_stale_begin(&f.pk, 0);
        assert_int_equal(decode_as(PROTO_ACK, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 9: array declares 20001 items, at most 20000 allowed at "
                                 "depth 1");
        frame_done(&f);

        /* And so is its stale list: a full one passes, one more fails. */
        struct proto_stale st = {.value = ps("1"), .collector = ps("c"), .version = 1};
        struct proto_ack a;
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, 0);
        proto_ack_stale_begin(&f.pk, PROTO_MAX_BATCH);
        for (uint32_t i = 0; i < PROTO_MAX_BATCH; i++) {
                st.line = i + 2;
                proto_stale_pack(&f.pk, &st);
        }
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_int_equal(a.nstale, PROTO_MAX_BATCH);
        assert_int_equal(a.stale[PROTO_MAX_BATCH - 1].line, PROTO_MAX_BATCH + 1);
        proto_ack_free(&a);
        frame_done(&f);
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, 0);
        proto_ack_stale_begin(&f.pk, PROTO_MAX_BATCH + 1);
        for (uint32_t i = 0; i < PROTO_MAX_BATCH + 1; i++)
                proto_stale_pack(&f.pk, &st);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 10: array declares 20001 items, at most 20000 allowed at "
                                 "depth 1");
        assert_null(a.stale);
        assert_int_equal(a.nstale, 0);
        frame_done(&f);
}

static double
elapsed_ms(const struct timespec *t0)
{
        struct timespec t1;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
test_declared_million(void **state)
{
        /* 10 bytes: an array32 of 1,000,000 items and the start of "submit". */
        static const unsigned char top[10] = {0xdd, 0x00, 0x0f, 0x42, 0x40,
                                              0xa6, 's',  'u',  'b',  'm'};
        /* A proper submit head whose records array32 declares 1,000,000. */
        static const unsigned char recs[] = {0x96, 0xa6, 's',  'u',  'b',  'm',  'i', 't',
                                             0x02, 0xa1, 'c',  0xa1, 'b',  0xa1, 's', 0xdd,
                                             0x00, 0x0f, 0x42, 0x40, 0xc0, 0xc0, 0xc0};
        struct proto_submit s;
        struct timespec t0;
        char err[256];

        (void)state;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(proto_submit_decode(top, sizeof(top), &s, err, sizeof(err)), -1);
        assert_string_equal(err,
                            "byte 0: array declares 1000000 items, at most 6 allowed at depth 0");
        assert_int_equal(proto_submit_decode(recs, sizeof(recs), &s, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 15: array declares 1000000 items, at most 20000 allowed "
                                 "at depth 1");
        /*
         * The frame is refused by the byte walk, before anything is
         * allocated for the declared items; the error text above is the
         * walk's.  Both refusals together take microseconds.
         */
        assert_true(elapsed_ms(&t0) < 50.0);
        assert_null(s.rec);
        assert_all_reject(top, sizeof(top));
        assert_all_reject(recs, sizeof(recs));
}

static void
test_huge_declared_lengths(void **state)
{
        /* Each header declares ~4 GiB (or 4G items) and 3 bytes follow. */
        static const unsigned char hostile[][8] = {
            {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0}, /* array32 */
            {0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0}, /* map32 */
            {0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'},    /* str32 */
            {0xc6, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'},    /* bin32 */
            {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 'a', 'b'},   /* ext32, the 4.0.0 crash */
            {0xc9, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00},
            {0xc9, 0xff, 0xff, 0xff, 0xfe, 0x01, 'a', 'b'},   /* ext32 just below the wrap */
            {0xdc, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}, /* array16 */
        };
        /* Inside a submit, in place of the collector id. */
        unsigned char nested[64];
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
                assert_int_equal(proto_peek(hostile[i], 8), PROTO_BAD);
                assert_all_reject(hostile[i], 8);
                memcpy(nested, "\x96\xa6submit\x02", 9);
                memcpy(nested + 9, hostile[i], 8);
                assert_int_equal(proto_peek(nested, 17), PROTO_SUBMIT);
                assert_all_reject(nested, 17);
        }
        assert_int_equal(decode_as(PROTO_SUBMIT, hostile[4], 8, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 0: declares 4294967296 bytes, only 3 follow");
        assert_int_equal(decode_as(PROTO_SUBMIT, hostile[2], 8, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 0: declares 4294967295 bytes, only 3 follow");
        assert_int_equal(decode_as(PROTO_UOW, hostile[0], 8, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 0: array declares 4294967295 items, at most 11 allowed at "
                                 "depth 0");
        /*
         * A uow's lists have no item cap (the aggregator is trusted), so
         * only the bytes that follow bound them.
         */
        static const unsigned char uow[] = {0x9b, 0xa3, 'u',  'o',  'w',  0x01, 0x01,
                                            0xa1, 'a',  0xdd, 0xff, 0xff, 0xff, 0xff,
                                            0x90, 0x90, 0x90, 0x90, 0x00, 0x90};
        assert_int_equal(decode_as(PROTO_UOW, uow, sizeof(uow), err, sizeof(err)), -1);
        assert_string_equal(err, "byte 9: declares 4294967295 items, only 6 bytes follow");
        /* The same for the values list, behind an empty batch table. */
        static const unsigned char uowv[] = {0x9b, 0xa3, 'u',  'o',  'w',  0x01, 0x01,
                                             0xa1, 'a',  0x90, 0xdd, 0xff, 0xff, 0xff,
                                             0xff, 0x90, 0x90, 0x90, 0x00, 0x90};
        assert_int_equal(decode_as(PROTO_UOW, uowv, sizeof(uowv), err, sizeof(err)), -1);
        assert_string_equal(err, "byte 10: declares 4294967295 items, only 5 bytes follow");
        static const unsigned char rows[] = {0x92, 0xa4, 'r',  'o',  'w',  's',
                                             0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0};
        assert_int_equal(decode_as(PROTO_ROWS, rows, sizeof(rows), err, sizeof(err)), -1);
        assert_string_equal(err, "byte 6: declares 4294967294 items, only 1 bytes follow");
}

static void
test_deep_nesting(void **state)
{
        unsigned char deep[101];
        char err[256];

        (void)state;
        memset(deep, 0x91, 100);
        deep[100] = 0xc0;
        assert_all_reject(deep, sizeof(deep));
        assert_int_equal(decode_as(PROTO_UOW, deep, sizeof(deep), err, sizeof(err)), -1);
        assert_string_equal(err, "byte 3: nested deeper than 3 levels");
        /* A container inside a record is already one level too deep. */
        static const unsigned char rec[] = {0x96, 0xa6, 's',  'u',  'b',  'm',  'i',  't',  0x02,
                                            0xa1, 'c',  0xa1, 'b',  0xa1, 's',  0x91, 0x98, 0x01,
                                            0x01, 0x90, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0};
        assert_int_equal(decode_as(PROTO_SUBMIT, rec, sizeof(rec), err, sizeof(err)), -1);
        assert_string_equal(err, "byte 19: nested deeper than 3 levels");
}

static void
test_truncated_and_trailing(void **state)
{
        struct proto_record r = {.line = 3,
                                 .version = 1000,
                                 .unit = ps("211102001"),
                                 .period = ps("2024"),
                                 .indicator = ps("teachers"),
                                 .value = ps("12")};
        struct frame f;
        char err[256];
        unsigned char *buf;

        (void)state;
        pack_one_submit(&f, &r);
        /* Every proper prefix of a valid frame is refused.  Each prefix gets
         * a buffer of exactly its size, so ASan sees a read past it. */
        for (size_t n = 0; n < f.sb.size; n++) {
                buf = malloc(n > 0 ? n : 1);
                memcpy(buf, f.sb.data, n);
                assert_int_equal(decode_as(PROTO_SUBMIT, buf, n, err, sizeof(err)), -1);
                assert_true(strlen(err) > 0);
                free(buf);
        }
        /* And so is the frame with one byte of junk after it. */
        buf = malloc(f.sb.size + 1);
        memcpy(buf, f.sb.data, f.sb.size);
        buf[f.sb.size] = 0x00;
        assert_int_equal(decode_as(PROTO_SUBMIT, buf, f.sb.size + 1, err, sizeof(err)), -1);
        assert_string_equal(err, "1 trailing bytes after the message");
        /* A second complete message behind the first is junk too. */
        free(buf);
        buf = malloc(f.sb.size * 2);
        memcpy(buf, f.sb.data, f.sb.size);
        memcpy(buf + f.sb.size, f.sb.data, f.sb.size);
        assert_int_equal(decode_as(PROTO_SUBMIT, buf, f.sb.size * 2, err, sizeof(err)), -1);
        free(buf);
        assert_int_equal(decode_as(PROTO_SUBMIT, NULL, 0, err, sizeof(err)), -1);
        assert_string_equal(err, "no frame");
        assert_int_equal(decode_as(PROTO_SUBMIT, f.sb.data, 0, err, sizeof(err)), -1);
        assert_string_equal(err, "empty frame");
        frame_done(&f);
}

/*
 * Every proper prefix of a uow is refused too, in a buffer of exactly its
 * size: the frame ends inside the batch table (a str8 collector, a nil
 * source), a str8 (a 40-byte unit), a uint64 version, the batch indexes
 * and the float64 statistics, which the scan's fast path skips without
 * reading.
 */
static void
test_truncated_uow(void **state)
{
        static const char unit40[] = "2111020010123456789012345678901234567890";
        struct proto_batch b[2] = {
            {ps("collector-with-a-longer-name-0123456789"), ps("b1"), ps(NULL)},
            {ps("c2"), ps("b2"), ps("f.csv")}};
        struct proto_value v = {.unit = ps(unit40),
                                .period = ps("2024"),
                                .indicator = ps("teachers"),
                                .value = ps("88"),
                                .version = 1ull << 40,
                                .flags = 3};
        struct proto_reject rj = {.line = 70000, .raw = ps("a,b"), .reason = ps("unsplittable")};
        struct proto_agg ag = {.unit = ps("211100"),
                               .level = ps("city"),
                               .period = ps("2024"),
                               .indicator = ps("teachers"),
                               .value = ps("88"),
                               .n_reporting = 1,
                               .min = 0.5,
                               .max = 88.25,
                               .mean = 44.375,
                               .cv = 0.1,
                               .nulls = PROTO_AGG_NULL_NUM | PROTO_AGG_NULL_DEN};
        struct frame f;
        unsigned char *buf;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_uow_begin(&f.pk, 1ull << 40, (1ull << 40) + 1, "agg-1", 2);
        proto_uow_batch_pack(&f.pk, &b[0]);
        proto_uow_batch_pack(&f.pk, &b[1]);
        proto_uow_values_begin(&f.pk, 2);
        proto_value_pack(&f.pk, &v, 1);
        proto_value_pack(&f.pk, &v, 0);
        proto_uow_rejects_begin(&f.pk, 1);
        proto_reject_pack(&f.pk, &rj, 1);
        proto_uow_aggs_begin(&f.pk, 1);
        proto_agg_pack(&f.pk, &ag);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(decode_as(PROTO_UOW, f.sb.data, f.sb.size, err, sizeof(err)), 0);
        for (size_t n = 1; n < f.sb.size; n++) {
                buf = malloc(n);
                memcpy(buf, f.sb.data, n);
                assert_int_equal(decode_as(PROTO_UOW, buf, n, err, sizeof(err)), -1);
                assert_true(strlen(err) > 0);
                free(buf);
        }
        frame_done(&f);
}

static void
test_invalid_bytes(void **state)
{
        /* 0xc1 is never used by msgpack. */
        static const unsigned char c1[] = {0x92, 0xa2, 'o', 'k', 0xc1};
        /* The 8-byte input that crashes 4.0.0's streaming unpacker. */
        static const unsigned char crash[] = {0xc9, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00};
        char err[256];

        (void)state;
        assert_int_equal(decode_as(PROTO_OK, c1, sizeof(c1), err, sizeof(err)), -1);
        assert_string_equal(err, "byte 4: invalid type byte 0xc1");
        assert_all_reject(c1, sizeof(c1));
        assert_all_reject(crash, sizeof(crash));
}

static void
test_wrong_message(void **state)
{
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_ok_pack(&f.pk, 1);
        assert_int_equal(decode_as(PROTO_SUBMIT, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "expected message type \"submit\" or \"check\"");
        assert_int_equal(decode_as(PROTO_ACK, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "expected message type \"ack\" or \"checked\" or \"error\"");
        assert_int_equal(decode_as(PROTO_ACTION, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "expected message type \"action\"");
        assert_int_equal(decode_as(PROTO_UOW, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "expected message type \"uow\"");
        assert_int_equal(decode_as(PROTO_OK, f.sb.data, f.sb.size, err, sizeof(err)), 0);
        frame_done(&f);
        frame_init(&f);
        proto_hello_pack(&f.pk, "a");
        assert_int_equal(decode_as(PROTO_OK, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "expected message type \"ok\" or \"fail\" or \"fenced\"");
        frame_done(&f);

        /* Not an array, an empty array, a type that is not a string. */
        static const unsigned char notarr[] = {0xa2, 'o', 'k'};
        static const unsigned char emptyarr[] = {0x90};
        static const unsigned char inttype[] = {0x92, 0x01, 0x01};
        assert_int_equal(decode_as(PROTO_OK, notarr, 3, err, sizeof(err)), -1);
        assert_string_equal(err, "not an array starting with a message type");
        assert_int_equal(decode_as(PROTO_OK, emptyarr, 1, err, sizeof(err)), -1);
        assert_string_equal(err, "not an array starting with a message type");
        assert_int_equal(decode_as(PROTO_OK, inttype, 3, err, sizeof(err)), -1);
        assert_string_equal(err, "not an array starting with a message type");

        /* Right type, wrong item count. */
        static const unsigned char ok3[] = {0x93, 0xa2, 'o', 'k', 0x01, 0x01};
        assert_int_equal(decode_as(PROTO_OK, ok3, sizeof(ok3), err, sizeof(err)), -1);
        assert_string_equal(err, "ok message has 3 items, expected 2");

        /*
         * Each valid message is refused by every decoder but its own (a
         * check is the submit decoder's, a checked the ack decoder's).
         */
        enum { NMSG = 15 };
        struct frame all[NMSG];
        const struct proto_action act = {.collector = ps("c"),
                                         .batch_id = ps("b"),
                                         .kind = ps("explain"),
                                         .unit = ps("u"),
                                         .period = ps("2024"),
                                         .rule = ps("R1"),
                                         .text = ps("t")};
        /* The decoder (an entry of decoders[]) that takes each message. */
        const enum proto_type owner[NMSG] = {PROTO_SUBMIT, PROTO_ACK,    PROTO_HELLO, PROTO_UOW,
                                             PROTO_ROWS,   PROTO_READY,  PROTO_OK,    PROTO_SUBMIT,
                                             PROTO_ACK,    PROTO_ACTION, PROTO_ACK,   PROTO_REVIEWS,
                                             PROTO_NOTES,  PROTO_ASK,    PROTO_TOLD};
        const struct proto_ask ask = {ps("c"), ps("b"), ps("u"), ps("2024")};
        const struct proto_told told = {.batch_id = ps("b"), .state = ps("open")};
        for (int i = 0; i < NMSG; i++)
                frame_init(&all[i]);
        proto_submit_begin(&all[0].pk, "c", "b", "s", 0);
        proto_ack_begin(&all[1].pk, ps("b"), 1, 1, 0);
        proto_ack_stale_begin(&all[1].pk, 0);
        proto_hello_pack(&all[2].pk, "a");
        proto_uow_begin(&all[3].pk, 1, 1, "a", 0);
        proto_uow_values_begin(&all[3].pk, 0);
        proto_uow_rejects_begin(&all[3].pk, 0);
        proto_uow_aggs_begin(&all[3].pk, 0);
        proto_uow_violations_begin(&all[3].pk, 0);
        proto_uow_actions_begin(&all[3].pk, 0, 0);
        proto_rows_begin(&all[4].pk, 0);
        proto_ready_pack(&all[5].pk, 1, 2, 3, 4, 5);
        proto_ok_pack(&all[6].pk, 3);
        proto_check_begin(&all[7].pk, "c", "b", "s", 0);
        proto_ack3_begin(&all[8].pk, PROTO_CHECKED, ps("b"), 1, 1, 0, 0);
        proto_ack_stale_begin(&all[8].pk, 0);
        proto_ack_warnings_begin(&all[8].pk, 0);
        proto_action_pack(&all[9].pk, &act);
        proto_ack3_begin(&all[10].pk, PROTO_ACK, ps("b"), 1, 1, 0, 0);
        proto_ack_stale_begin(&all[10].pk, 0);
        proto_ack_warnings_begin(&all[10].pk, 0);
        proto_reviews_begin(&all[11].pk, 0);
        proto_notes_begin(&all[12].pk, 0);
        proto_ask_pack(&all[13].pk, &ask);
        proto_told_pack(&all[14].pk, &told);
        for (int i = 0; i < NMSG; i++) {
                for (size_t j = 0; j < sizeof(decoders) / sizeof(decoders[0]); j++) {
                        int rc = decode_as(decoders[j], all[i].sb.data, all[i].sb.size, err,
                                           sizeof(err));
                        assert_int_equal(rc, owner[i] == decoders[j] ? 0 : -1);
                        if (rc == -1)
                                assert_true(strlen(err) > 0);
                }
                frame_done(&all[i]);
        }
}

/*
 * ["submit", version, "c", batch_id, source, [one record]]: source NULL is
 * nil, as version 1 allowed.
 */
static void
pack_submit_version(struct frame *f, uint64_t version, const char *batch_id, const char *source)
{
        struct proto_record r = {.line = 2,
                                 .version = 1,
                                 .unit = ps("u"),
                                 .period = ps("2024"),
                                 .indicator = ps("i"),
                                 .value = ps("1")};

        frame_init(f);
        msgpack_pack_array(&f->pk, 6);
        pack_s(&f->pk, "submit");
        msgpack_pack_uint64(&f->pk, version);
        pack_s(&f->pk, "c");
        pack_s(&f->pk, batch_id);
        if (source == NULL)
                msgpack_pack_nil(&f->pk);
        else
                pack_s(&f->pk, source);
        msgpack_pack_array(&f->pk, 1);
        proto_record_pack(&f->pk, &r);
}

/* ["hello", version, "a"] */
static void
pack_hello_version(struct frame *f, int64_t version)
{
        frame_init(f);
        msgpack_pack_array(&f->pk, 3);
        pack_s(&f->pk, "hello");
        msgpack_pack_int64(&f->pk, version);
        pack_s(&f->pk, "a");
}

static void
test_versions(void **state)
{
        static const char v1[] =
            "protocol version 1 is no longer accepted (this server speaks 3): upgrade the client";
        static const char v2[] =
            "protocol version 2 is no longer accepted (this server speaks 3): upgrade the client";
        struct pstr agg;
        struct frame f;
        char err[256];
        struct proto_submit s;

        (void)state;
        assert_int_equal(PROTO_VERSION, 3);
        assert_int_equal(PROTO_SUBMIT_VERSION_MIN, 2);
        /* The encoders write version 3 (a positive fixint). */
        frame_init(&f);
        proto_submit_begin(&f.pk, "c", "b", "s", 0);
        assert_int_equal((unsigned char)f.sb.data[8], 0x03);
        frame_done(&f);
        frame_init(&f);
        proto_hello_pack(&f.pk, "a");
        assert_int_equal((unsigned char)f.sb.data[7], 0x03);
        frame_done(&f);

        /* A version-2 submit is still taken, and says so. */
        pack_submit_version(&f, 2, "b-0001", "s.csv");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.nrec, 1);
        assert_int_equal(s.version, 2);
        assert_int_equal(s.dry_run, 0);
        proto_submit_free(&s);
        frame_done(&f);
        pack_submit_version(&f, 3, "b-0001", "s.csv");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.nrec, 1);
        assert_int_equal(s.version, 3);
        assert_int_equal(s.dry_run, 0);
        proto_submit_free(&s);
        frame_done(&f);

        /*
         * What a version-1 collector sends, source nil and all: refused for
         * its version, with the batch id kept for the error reply.
         */
        pack_submit_version(&f, 1, "b-0001", NULL);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, v1);
        assert_pstr(s.batch_id, "b-0001");
        assert_null(s.rec);
        assert_int_equal(s.nrec, 0);
        frame_done(&f);
        pack_submit_version(&f, 1, "b-0001", "s.csv");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, v1);
        frame_done(&f);

        pack_submit_version(&f, 4, "b-0001", "s.csv");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "unsupported protocol version 4 (this server speaks 3)");
        assert_pstr(s.batch_id, "b-0001");
        assert_null(s.rec);
        frame_done(&f);

        pack_submit_version(&f, 0, "b-0001", "s.csv");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "unsupported protocol version 0 (this server speaks 3)");
        assert_pstr(s.batch_id, "b-0001");
        frame_done(&f);

        pack_hello_version(&f, 3);
        assert_int_equal(proto_hello_decode(f.sb.data, f.sb.size, &agg, err, sizeof(err)), 0);
        assert_pstr(agg, "a");
        frame_done(&f);

        /* A hello must be version 3: 2 is no longer accepted. */
        pack_hello_version(&f, 2);
        assert_int_equal(proto_hello_decode(f.sb.data, f.sb.size, &agg, err, sizeof(err)), -1);
        assert_string_equal(err, v2);
        assert_null(agg.p);
        frame_done(&f);

        pack_hello_version(&f, 1);
        assert_int_equal(proto_hello_decode(f.sb.data, f.sb.size, &agg, err, sizeof(err)), -1);
        assert_string_equal(err, v1);
        assert_null(agg.p);
        frame_done(&f);

        pack_hello_version(&f, 4);
        assert_int_equal(proto_hello_decode(f.sb.data, f.sb.size, &agg, err, sizeof(err)), -1);
        assert_string_equal(err, "unsupported protocol version 4 (this server speaks 3)");
        assert_null(agg.p);
        frame_done(&f);

        pack_hello_version(&f, -1);
        assert_int_equal(proto_hello_decode(f.sb.data, f.sb.size, &agg, err, sizeof(err)), -1);
        assert_string_equal(err, "unsupported protocol version -1 (this server speaks 3)");
        assert_null(agg.p);
        frame_done(&f);

        /* 0 was never a version: unsupported, not "no longer accepted". */
        pack_hello_version(&f, 0);
        assert_int_equal(proto_hello_decode(f.sb.data, f.sb.size, &agg, err, sizeof(err)), -1);
        assert_string_equal(err, "unsupported protocol version 0 (this server speaks 3)");
        frame_done(&f);
}

/* A submit with one record whose first two fields are given raw. */
static void
pack_record_ints(struct frame *f, int64_t line, uint64_t version, int neg)
{
        frame_init(f);
        proto_submit_begin(&f->pk, "c", "b", "s", 1);
        msgpack_pack_array(&f->pk, 8);
        if (neg)
                msgpack_pack_int64(&f->pk, line);
        else
                msgpack_pack_uint64(&f->pk, (uint64_t)line);
        msgpack_pack_uint64(&f->pk, version);
        for (int i = 0; i < 4; i++)
                pack_s(&f->pk, "x");
        msgpack_pack_nil(&f->pk);
        msgpack_pack_nil(&f->pk);
}

static void
test_integer_ranges(void **state)
{
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        pack_record_ints(&f, -5, 1, 1);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "record 0: line is negative");
        frame_done(&f);

        pack_record_ints(&f, 4294967296LL, 1, 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "record 0: line 4294967296 out of range");
        frame_done(&f);

        pack_record_ints(&f, 1, 9223372036854775808ULL, 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        /* The line was read: the record goes by it. */
        assert_string_equal(err, "line 1: version 9223372036854775808 out of range");
        frame_done(&f);

        /* A positive number packed as a signed int is still accepted. */
        pack_record_ints(&f, 17, 1, 1);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.rec[0].line, 17);
        proto_submit_free(&s);
        frame_done(&f);
}

static void
test_record_rules(void **state)
{
        struct proto_record r = {.line = 1, .version = 1, .reason = ps(NULL)};
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        /* Without a reason, a record must carry all four fields. */
        r.period = ps("2024");
        r.indicator = ps("i");
        r.value = ps("1");
        pack_one_submit(&f, &r);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "line 1: unit is not a string");
        frame_done(&f);

        /* A record of 7 or 9 items. */
        static const unsigned char seven[] = {0x96, 0xa6, 's',  'u',  'b',  'm',  'i',  't',
                                              0x02, 0xa1, 'c',  0xa1, 'b',  0xa1, 's',  0x91,
                                              0x97, 0x01, 0x01, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0};
        static const unsigned char nine[] = {0x96, 0xa6, 's',  'u',  'b',  'm',  'i',  't',  0x02,
                                             0xa1, 'c',  0xa1, 'b',  0xa1, 's',  0x91, 0x99, 0x01,
                                             0x01, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0};
        assert_int_equal(decode_as(PROTO_SUBMIT, seven, sizeof(seven), err, sizeof(err)), -1);
        assert_string_equal(err, "record 0: has 7 items, expected 8");
        assert_int_equal(decode_as(PROTO_SUBMIT, nine, sizeof(nine), err, sizeof(err)), -1);
        assert_string_equal(err, "byte 16: array declares 9 items, at most 8 allowed at depth 2");

        /* A record that is not an array. */
        static const unsigned char scalar[] = {
            0x96, 0xa6, 's', 'u', 'b',  'm', 'i',  't', 0x02, 0xa1, 'c',  0xa1, 'b',  0xa1, 's',
            0x92, 0x98, 1,   1,   0xa1, 'u', 0xa1, 'p', 0xa1, 'i',  0xa1, 'v',  0xc0, 0xc0, 0x05};
        assert_int_equal(decode_as(PROTO_SUBMIT, scalar, sizeof(scalar), err, sizeof(err)), -1);
        assert_string_equal(err, "record 1: not an array");
}

static void
test_floats_and_flags(void **state)
{
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        /* An agg whose min is float32 1.5 and cv is nil. */
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 0);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 14);
        pack_s(&f.pk, "u");
        pack_s(&f.pk, "school");
        pack_s(&f.pk, "2024");
        pack_s(&f.pk, "i");
        pack_s(&f.pk, "3");
        msgpack_pack_nil(&f.pk);
        msgpack_pack_nil(&f.pk);
        msgpack_pack_uint64(&f.pk, 1);
        msgpack_pack_float(&f.pk, 1.5f);
        msgpack_pack_double(&f.pk, 2.5);
        msgpack_pack_double(&f.pk, 2.0);
        msgpack_pack_nil(&f.pk);
        pack_s(&f.pk, "stage");
        pack_s(&f.pk, "primary");
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_true(u.aggs[0].dimension.len == 5 && memcmp(u.aggs[0].dimension.p, "stage", 5) == 0);
        assert_true(u.aggs[0].category.len == 7 && memcmp(u.aggs[0].category.p, "primary", 7) == 0);
        assert_true(u.aggs[0].min == 1.5);
        assert_true(u.aggs[0].max == 2.5);
        assert_true(u.aggs[0].mean == 2.0);
        assert_int_equal(u.aggs[0].nulls,
                         PROTO_AGG_NULL_NUM | PROTO_AGG_NULL_DEN | PROTO_AGG_NULL_CV);
        proto_uow_free(&u);
        frame_done(&f);

        /* A dimension without a category is refused. */
        struct proto_agg half = {.unit = ps("u"),
                                 .level = ps("city"),
                                 .period = ps("2024"),
                                 .indicator = ps("i"),
                                 .nulls = 0x7f,
                                 .dimension = ps("stage")};
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 0);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 1);
        proto_agg_pack(&f.pk, &half);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "agg 0: dimension and category must both be nil or both strings");
        frame_done(&f);

        /* Flags beyond NEW|FINAL. */
        struct proto_batch b = {ps("c"), ps("b"), ps("s")};
        struct proto_value v = {
            .unit = ps("u"), .period = ps("p"), .indicator = ps("i"), .value = ps("1"), .flags = 4};
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 1);
        proto_uow_batch_pack(&f.pk, &b);
        proto_uow_values_begin(&f.pk, 1);
        proto_value_pack(&f.pk, &v, 0);
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "value 0: flags 4 out of range");
        assert_null(u.values);
        frame_done(&f);
}

/*
 * Invalid types in every position of every message.  A shape lists the
 * message's top-level items after the type name and the items of its
 * tuples, one letter each:
 *   v protocol version   u unsigned integer   x value flags
 *   S string             s string or nil      d decimal text or nil
 *   f float or nil       b index into the uow's batch table (valid: 0)
 *   0-5 a list of one tuple of that index
 */
struct shape {
        enum proto_type type; /* for decode_as */
        const char *name;
        const char *top;
        const char *topnames[10];
        const char *tuple[6];
        const char *listname[6];
        const char *fieldnames[6][14];
};

static const struct shape shapes[] = {
    {PROTO_SUBMIT,
     "submit",
     "vSSS0",
     {"version", "collector", "batch_id", "source", "records"},
     {"uuSSSSss"},
     {"record"},
     {{"line", "version", "unit", "period", "indicator", "value", "raw", "reason"}}},
    {PROTO_CHECK,
     "check",
     "vSSS0",
     {"version", "collector", "batch_id", "source", "records"},
     {"uuSSSSss"},
     {"record"},
     {{"line", "version", "unit", "period", "indicator", "value", "raw", "reason"}}},
    {PROTO_ACK,
     "ack",
     "Suu01",
     {"batch_id", "accepted", "changed", "rejects", "stale"},
     {"uS", "uSSu"},
     {"reject", "stale"},
     {{"line", "reason"}, {"line", "value", "collector", "version"}}},
    {PROTO_ACK,
     "ack",
     "Suu012",
     {"batch_id", "accepted", "changed", "rejects", "stale", "warnings"},
     {"uS", "uSSu", "SSSSSS"},
     {"reject", "stale", "warning"},
     {{"line", "reason"},
      {"line", "value", "collector", "version"},
      {"unit", "period", "rule", "message", "left", "right"}}},
    {PROTO_CHECKED,
     "checked",
     "Suu012",
     {"batch_id", "accepted", "changed", "rejects", "stale", "warnings"},
     {"uS", "uSSu", "SSSSSS"},
     {"reject", "stale", "warning"},
     {{"line", "reason"},
      {"line", "value", "collector", "version"},
      {"unit", "period", "rule", "message", "left", "right"}}},
    {PROTO_ACTION,
     "action",
     "vSSSSSss",
     {"version", "collector", "batch_id", "kind", "unit", "period", "rule", "text"},
     {NULL},
     {NULL},
     {{NULL}}},
    {PROTO_ERROR, "error", "sS", {"batch_id", "message"}, {NULL}, {NULL}, {{NULL}}},
    {PROTO_HELLO, "hello", "vS", {"version", "aggregator"}, {NULL}, {NULL}, {{NULL}}},
    {PROTO_UOW,
     "uow",
     "uuS01234u5",
     {"seq", "epoch", "aggregator", "batches", "values", "rejects", "aggs", "violations", "full",
      "actions"},
     {"SSs", "SSSSuxb", "bussssS", "SSSSddduffffss", "SSSSss", "bSSSssu"},
     {"batch", "value", "reject", "agg", "violation", "action"},
     {{"collector", "batch_id", "source"},
      {"unit", "period", "indicator", "value", "version", "flags", "batch"},
      {"batch", "line", "unit", "period", "indicator", "raw", "reason"},
      {"unit", "level", "period", "indicator", "value", "numerator", "denominator", "n_reporting",
       "min", "max", "mean", "cv", "dimension", "category"},
      {"unit", "period", "rule", "severity", "left", "right"},
      {"batch", "kind", "unit", "period", "rule", "text", "at"}}},
    {PROTO_ROWS,
     "rows",
     "0",
     {"rows"},
     {"SSSSuS"},
     {"row"},
     {{"unit", "period", "indicator", "value", "version", "collector"}}},
    {PROTO_REVIEWS,
     "reviews",
     "0",
     {"rows"},
     {"SSSsus"},
     {"row"},
     {{"unit", "period", "state", "by", "at", "comment"}}},
    {PROTO_NOTES, "notes", "0", {"rows"}, {"SSS"}, {"row"}, {{"unit", "period", "rule"}}},
    {PROTO_ASK,
     "ask",
     "vSSSS",
     {"version", "collector", "batch_id", "unit", "period"},
     {NULL},
     {NULL},
     {{NULL}}},
    {PROTO_READY,
     "ready",
     "uuuuu",
     {"last_seq", "nrows", "epoch", "nreviews", "nnotes"},
     {NULL},
     {NULL},
     {{NULL}}},
    {PROTO_OK, "ok", "u", {"seq"}, {NULL}, {NULL}, {{NULL}}},
    {PROTO_FAIL, "fail", "uS", {"seq", "message"}, {NULL}, {NULL}, {{NULL}}},
    {PROTO_FENCED, "fenced", "uS", {"seq", "message"}, {NULL}, {NULL}, {{NULL}}},
};

/* A valid item of kind k, or (bad) one of the wrong type. */
static void
pack_kind(msgpack_packer *pk, char k, int bad)
{
        switch (k) {
        case 'v':
        case 'u':
        case 'x':
        case 'b':
        case 'f':
                if (bad)
                        pack_s(pk, "x");
                else if (k == 'f')
                        msgpack_pack_double(pk, 1.25);
                else if (k == 'v')
                        msgpack_pack_uint64(pk, PROTO_VERSION);
                else if (k == 'b')
                        msgpack_pack_uint64(pk, 0);
                else
                        msgpack_pack_uint64(pk, 1);
                break;
        case 'S':
        case 's':
        case 'd':
                if (bad)
                        msgpack_pack_uint64(pk, 7);
                else
                        pack_s(pk, "ab");
                break;
        default: /* a list */
                if (bad)
                        msgpack_pack_uint64(pk, 7);
                break;
        }
}

/* The message of shape sh, wrong at top item badtop or at tuple[badl][badi]. */
static void
pack_shape(struct frame *f, const struct shape *sh, int badtop, int badl, int badi)
{
        frame_init(f);
        msgpack_pack_array(&f->pk, 1 + strlen(sh->top));
        pack_s(&f->pk, sh->name);
        for (int i = 0; sh->top[i] != '\0'; i++) {
                char k = sh->top[i];

                if (k < '0' || k > '5' || i == badtop) {
                        pack_kind(&f->pk, k, i == badtop);
                        continue;
                }
                const char *t = sh->tuple[k - '0'];
                msgpack_pack_array(&f->pk, 1);
                msgpack_pack_array(&f->pk, strlen(t));
                for (int j = 0; t[j] != '\0'; j++)
                        pack_kind(&f->pk, t[j], k - '0' == badl && j == badi);
        }
}

static const char *
what_expected(char k)
{
        switch (k) {
        case 'v':
        case 'u':
        case 'x':
        case 'b':
                return "is not an integer";
        case 'f':
                return "is not a float";
        case 'S':
        case 's':
        case 'd':
                return "is not a string";
        default:
                return "is not an array";
        }
}

static void
test_invalid_types_everywhere(void **state)
{
        char err[256], want[256];
        struct frame f;
        int checked = 0;

        (void)state;
        for (size_t m = 0; m < sizeof(shapes) / sizeof(shapes[0]); m++) {
                const struct shape *sh = &shapes[m];

                /* The valid message itself decodes. */
                pack_shape(&f, sh, -1, -1, -1);
                assert_int_equal(decode_as(sh->type, f.sb.data, f.sb.size, err, sizeof(err)), 0);
                frame_done(&f);
                for (int i = 0; sh->top[i] != '\0'; i++) {
                        pack_shape(&f, sh, i, -1, -1);
                        if (sh->type == PROTO_ACK && i == 5 && strlen(sh->top) == 6) {
                                /* An integer there is a version-2 ack's stale_more: valid. */
                                assert_int_equal(
                                    decode_as(sh->type, f.sb.data, f.sb.size, err, sizeof(err)), 0);
                                frame_done(&f);
                                continue;
                        }
                        assert_int_equal(
                            decode_as(sh->type, f.sb.data, f.sb.size, err, sizeof(err)), -1);
                        if (sh->top[i] == 'v')
                                snprintf(want, sizeof(want), "protocol version is not an integer");
                        else
                                snprintf(want, sizeof(want), "%s %s", sh->topnames[i],
                                         what_expected(sh->top[i]));
                        assert_string_equal(err, want);
                        frame_done(&f);
                        checked++;
                }
                for (int l = 0; l < 6 && sh->tuple[l] != NULL; l++) {
                        for (int j = 0; sh->tuple[l][j] != '\0'; j++) {
                                pack_shape(&f, sh, -1, l, j);
                                assert_int_equal(
                                    decode_as(sh->type, f.sb.data, f.sb.size, err, sizeof(err)),
                                    -1);
                                /* A record whose line was read goes by its line (1). */
                                if ((sh->type == PROTO_SUBMIT || sh->type == PROTO_CHECK) && j > 0)
                                        snprintf(want, sizeof(want), "line 1: %s %s",
                                                 sh->fieldnames[l][j],
                                                 what_expected(sh->tuple[l][j]));
                                else
                                        snprintf(want, sizeof(want), "%s 0: %s %s", sh->listname[l],
                                                 sh->fieldnames[l][j],
                                                 what_expected(sh->tuple[l][j]));
                                assert_string_equal(err, want);
                                frame_done(&f);
                                checked++;
                        }
                }
        }
        /*
         * 5+8 submit, 5+8 check, 5+2+4 ack, 5+2+4+6 version-3 ack (its
         * warnings list replaced by an integer is a version-2 ack with
         * stale_more), 6+2+4+6 checked, 8 action, 2 error, 2 hello,
         * 10+3+7+7+14+6+7 uow, 1+6 rows, 1+6 reviews, 1+3 notes, 5 ask,
         * 5 ready, 1 ok, 2 fail, 2 fenced.
         */
        assert_int_equal(checked, 171);
}

/* Nil where nil is not allowed. */
static void
test_nil_where_required(void **state)
{
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        msgpack_pack_array(&f.pk, 6);
        pack_s(&f.pk, "ack");
        msgpack_pack_nil(&f.pk);
        msgpack_pack_uint64(&f.pk, 0);
        msgpack_pack_uint64(&f.pk, 0);
        msgpack_pack_array(&f.pk, 0);
        msgpack_pack_array(&f.pk, 0);
        assert_int_equal(decode_as(PROTO_ACK, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "batch_id is not a string");
        frame_done(&f);

        frame_init(&f);
        msgpack_pack_array(&f.pk, 3);
        pack_s(&f.pk, "fail");
        msgpack_pack_uint64(&f.pk, 4);
        msgpack_pack_nil(&f.pk);
        assert_int_equal(decode_as(PROTO_FAIL, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "message is not a string");
        frame_done(&f);

        frame_init(&f);
        proto_fenced_pack(&f.pk, 4, NULL);
        assert_int_equal(decode_as(PROTO_FENCED, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "message is not a string");
        frame_done(&f);

        /* A stale record names what is stored and who stored it. */
        static const char *const stale_err[] = {"stale 0: value is not a string",
                                                "stale 0: collector is not a string"};
        for (int i = 0; i < 2; i++) {
                struct proto_stale st = {.line = 3,
                                         .value = ps(i == 0 ? NULL : "1"),
                                         .collector = ps(i == 1 ? NULL : "c"),
                                         .version = 1};
                frame_init(&f);
                proto_ack_begin(&f.pk, ps("b"), 0, 0, 0);
                proto_ack_stale_begin(&f.pk, 1);
                proto_stale_pack(&f.pk, &st);
                assert_int_equal(decode_as(PROTO_ACK, f.sb.data, f.sb.size, err, sizeof(err)), -1);
                assert_string_equal(err, stale_err[i]);
                frame_done(&f);
        }

        /* A state row says who stored it. */
        struct proto_row row = {ps("u"), ps("p"), ps("i"), ps("v"), 1, ps(NULL)};
        frame_init(&f);
        proto_rows_begin(&f.pk, 1);
        proto_row_pack(&f.pk, &row);
        assert_int_equal(decode_as(PROTO_ROWS, f.sb.data, f.sb.size, err, sizeof(err)), -1);
        assert_string_equal(err, "row 0: collector is not a string");
        frame_done(&f);
}

/* Append bytes as they are: encodings msgpack-c's packers never choose. */
static void
put(struct frame *f, const void *p, size_t n)
{
        msgpack_sbuffer_write(&f->sb, p, n);
}

/* ["rows", [["u", "p", "i", "v", version, "c"]]], version given as bytes. */
static void
pack_row_version(struct frame *f, const unsigned char *version, size_t n)
{
        frame_init(f);
        proto_rows_begin(&f->pk, 1);
        msgpack_pack_array(&f->pk, 6);
        pack_s(&f->pk, "u");
        pack_s(&f->pk, "p");
        pack_s(&f->pk, "i");
        pack_s(&f->pk, "v");
        put(f, version, n);
        pack_s(&f->pk, "c");
}

/* Every msgpack integer width, unsigned and signed, where an integer goes. */
static void
test_integer_encodings(void **state)
{
        static const struct {
                unsigned char b[9];
                size_t n;
                uint64_t want;
        } good[] = {
            {{0x7f}, 1, 127},
            {{0xcc, 0xc8}, 2, 200},
            {{0xcd, 0xea, 0x60}, 3, 60000},
            {{0xce, 0xee, 0x6b, 0x28, 0x00}, 5, 4000000000ULL},
            {{0xcf, 0, 0, 0x01, 0, 0, 0, 0, 0}, 9, 1099511627776ULL},
            {{0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, 9223372036854775807ULL},
            /* msgpack-c reads a non-negative signed int as a positive one. */
            {{0xd0, 0x00}, 2, 0},
            {{0xd0, 0x64}, 2, 100},
            {{0xd1, 0x75, 0x30}, 3, 30000},
            {{0xd2, 0x77, 0x35, 0x94, 0x00}, 5, 2000000000},
            {{0xd3, 0, 0, 0, 0x01, 0x2a, 0x05, 0xf2, 0x00}, 9, 5000000000ULL},
            {{0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, 9223372036854775807ULL},
        };
        static const struct {
                unsigned char b[9];
                size_t n;
                const char *err;
        } bad[] = {
            {{0xff}, 1, "row 0: version is negative"},
            {{0xe0}, 1, "row 0: version is negative"},
            {{0xd0, 0x80}, 2, "row 0: version is negative"},
            {{0xd1, 0xfe, 0xd4}, 3, "row 0: version is negative"},
            {{0xd2, 0xff, 0xfe, 0xee, 0x90}, 5, "row 0: version is negative"},
            {{0xd3, 0xff, 0xff, 0xff, 0xfe, 0xd5, 0xfa, 0x0e, 0x00},
             9,
             "row 0: version is negative"},
            {{0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0},
             9,
             "row 0: version 9223372036854775808 out of range"},
            {{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
             9,
             "row 0: version 18446744073709551615 out of range"},
            {{0xca, 0x3f, 0xc0, 0, 0}, 5, "row 0: version is not an integer"},
            {{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, 9, "row 0: version is not an integer"},
            {{0xc3}, 1, "row 0: version is not an integer"},
            {{0xc0}, 1, "row 0: version is not an integer"},
            {{0xc4, 0x01, 0x05}, 3, "row 0: version is not an integer"},
            {{0xd4, 0x01, 0x05}, 3, "row 0: version is not an integer"},
        };
        struct proto_row *rows;
        struct frame f;
        uint32_t n;
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                pack_row_version(&f, good[i].b, good[i].n);
                assert_int_equal(
                    proto_rows_decode(f.sb.data, f.sb.size, &rows, &n, err, sizeof(err)), 0);
                assert_int_equal(n, 1);
                assert_true(rows[0].version == good[i].want);
                assert_pstr(rows[0].value, "v");
                assert_pstr(rows[0].collector, "c");
                free(rows);
                frame_done(&f);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                pack_row_version(&f, bad[i].b, bad[i].n);
                assert_int_equal(
                    proto_rows_decode(f.sb.data, f.sb.size, &rows, &n, err, sizeof(err)), -1);
                assert_string_equal(err, bad[i].err);
                assert_null(rows);
                assert_int_equal(n, 0);
                frame_done(&f);
        }
}

/* ["hello", version, aggregator], both given as bytes. */
static int
hello_bytes(const unsigned char *version, size_t vn, const unsigned char *agg, size_t an,
            struct frame *f, struct pstr *out, char *err, size_t errlen)
{
        frame_init(f);
        msgpack_pack_array(&f->pk, 3);
        pack_s(&f->pk, "hello");
        put(f, version, vn);
        put(f, agg, an);
        return proto_hello_decode(f->sb.data, f->sb.size, out, err, errlen);
}

static void
test_version_encodings(void **state)
{
        /* 3 in every integer width; the last byte is the version. */
        static const unsigned char three[][9] = {
            {0x03},
            {0xcc, 0x03},
            {0xcd, 0, 0x03},
            {0xce, 0, 0, 0, 0x03},
            {0xcf, 0, 0, 0, 0, 0, 0, 0, 0x03},
            {0xd0, 0x03},
            {0xd1, 0, 0x03},
            {0xd2, 0, 0, 0, 0x03},
            {0xd3, 0, 0, 0, 0, 0, 0, 0, 0x03},
        };
        static const size_t len[] = {1, 2, 3, 5, 9, 2, 3, 5, 9};
        static const unsigned char name[] = {0xa1, 'a'};
        static const unsigned char neg[] = {0xd3, 0xff, 0xff, 0xff, 0xfe, 0xd5, 0xfa, 0x0e, 0x00};
        static const unsigned char big[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        static const unsigned char f32[] = {0xca, 0x3f, 0x80, 0, 0};
        unsigned char other[9];
        struct pstr agg;
        struct frame f;
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
                assert_int_equal(
                    hello_bytes(three[i], len[i], name, sizeof(name), &f, &agg, err, sizeof(err)),
                    0);
                assert_pstr(agg, "a");
                frame_done(&f);
                /* Version 1, 2 and 4, in the same width, are refused. */
                memcpy(other, three[i], len[i]);
                other[len[i] - 1] = 0x01;
                assert_int_equal(
                    hello_bytes(other, len[i], name, sizeof(name), &f, &agg, err, sizeof(err)), -1);
                assert_string_equal(err, "protocol version 1 is no longer accepted (this server "
                                         "speaks 3): upgrade the client");
                assert_null(agg.p);
                frame_done(&f);
                other[len[i] - 1] = 0x02;
                assert_int_equal(
                    hello_bytes(other, len[i], name, sizeof(name), &f, &agg, err, sizeof(err)), -1);
                assert_string_equal(err, "protocol version 2 is no longer accepted (this server "
                                         "speaks 3): upgrade the client");
                assert_null(agg.p);
                frame_done(&f);
                other[len[i] - 1] = 0x04;
                assert_int_equal(
                    hello_bytes(other, len[i], name, sizeof(name), &f, &agg, err, sizeof(err)), -1);
                assert_string_equal(err, "unsupported protocol version 4 (this server speaks 3)");
                frame_done(&f);
        }
        assert_int_equal(
            hello_bytes(neg, sizeof(neg), name, sizeof(name), &f, &agg, err, sizeof(err)), -1);
        assert_string_equal(err, "unsupported protocol version -5000000000 (this server speaks 3)");
        frame_done(&f);
        assert_int_equal(
            hello_bytes(big, sizeof(big), name, sizeof(name), &f, &agg, err, sizeof(err)), -1);
        assert_string_equal(
            err, "unsupported protocol version 18446744073709551615 (this server speaks 3)");
        frame_done(&f);
        /* 1.0 is not 1: a float is not an integer. */
        assert_int_equal(
            hello_bytes(f32, sizeof(f32), name, sizeof(name), &f, &agg, err, sizeof(err)), -1);
        assert_string_equal(err, "protocol version is not an integer");
        assert_null(agg.p);
        frame_done(&f);
}

/* fixstr, str8, str16 and str32 are all strings; "" is a string, not nil. */
static void
test_string_encodings(void **state)
{
        static const unsigned char v3[] = {0x03};
        static const struct {
                unsigned char b[6];
                size_t n;
                const char *want;
        } good[] = {
            {{0xa1, 'a'}, 2, "a"},
            {{0xd9, 0x01, 'a'}, 3, "a"},
            {{0xda, 0x00, 0x01, 'a'}, 4, "a"},
            {{0xdb, 0x00, 0x00, 0x00, 0x01, 'a'}, 6, "a"},
            {{0xa0}, 1, ""},
            {{0xd9, 0x00}, 2, ""},
            {{0xda, 0x00, 0x00}, 3, ""},
            {{0xdb, 0x00, 0x00, 0x00, 0x00}, 5, ""},
        };
        /* Valid msgpack that is not a string: bin, ext, bool, empty containers. */
        static const struct {
                unsigned char b[6];
                size_t n;
        } bad[] = {
            {{0xc4, 0x01, 'a'}, 3},
            {{0xc5, 0x00, 0x01, 'a'}, 4},
            {{0xc6, 0x00, 0x00, 0x00, 0x01, 'a'}, 6},
            {{0xc7, 0x01, 0x05, 'a'}, 4},
            {{0xd4, 0x05, 'a'}, 3},
            {{0xc2}, 1},
            {{0xc3}, 1},
            {{0xc0}, 1},
            {{0x90}, 1},
            {{0x80}, 1},
            {{0x07}, 1},
            {{0xcb, 0, 0, 0, 0, 0}, 6},
        };
        unsigned char longer[70];
        struct pstr agg;
        struct frame f;
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                assert_int_equal(
                    hello_bytes(v3, 1, good[i].b, good[i].n, &f, &agg, err, sizeof(err)), 0);
                assert_pstr(agg, good[i].want);
                assert_inside(agg, &f);
                frame_done(&f);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                /* The float64 above is cut short: give it its last bytes. */
                frame_init(&f);
                msgpack_pack_array(&f.pk, 3);
                pack_s(&f.pk, "hello");
                put(&f, v3, 1);
                put(&f, bad[i].b, bad[i].n);
                if (bad[i].b[0] == 0xcb)
                        put(&f, "\0\0\0", 3);
                assert_int_equal(proto_hello_decode(f.sb.data, f.sb.size, &agg, err, sizeof(err)),
                                 -1);
                assert_string_equal(err, "aggregator is not a string");
                assert_null(agg.p);
                frame_done(&f);
        }
        /* The cap holds whatever the width: 65 bytes in a str16, 64 in a str32. */
        memset(longer, 'z', sizeof(longer));
        longer[0] = 0xda;
        longer[1] = 0;
        longer[2] = 65;
        assert_int_equal(hello_bytes(v3, 1, longer, 3 + 65, &f, &agg, err, sizeof(err)), -1);
        assert_string_equal(err, "aggregator longer than 64 bytes");
        frame_done(&f);
        longer[0] = 0xdb;
        longer[1] = longer[2] = longer[3] = 0;
        longer[4] = 64;
        assert_int_equal(hello_bytes(v3, 1, longer, 5 + 64, &f, &agg, err, sizeof(err)), 0);
        assert_int_equal(agg.len, 64);
        assert_true(agg.p == (const char *)f.sb.data + f.sb.size - 64);
        frame_done(&f);

        /* The message type may be any string width too (proto_peek only knows fixstr). */
        static const unsigned char ok8[] = {0x92, 0xd9, 0x02, 'o', 'k', 0x01};
        static const unsigned char ok16[] = {0xdc, 0x00, 0x02, 0xda, 0x00, 0x02, 'o', 'k', 0x01};
        struct pstr msg;
        enum proto_type type;
        uint64_t seq;
        assert_int_equal(proto_result_decode(ok8, sizeof(ok8), &type, &seq, &msg, err, sizeof(err)),
                         0);
        assert_int_equal(type, PROTO_OK);
        assert_true(seq == 1);
        assert_int_equal(
            proto_result_decode(ok16, sizeof(ok16), &type, &seq, &msg, err, sizeof(err)), 0);
        assert_int_equal(type, PROTO_OK);
        assert_true(seq == 1);
        assert_null(msg.p);
}

/* An agg whose four floats are given as bytes (nil, float32 or float64). */
static void
pack_agg_floats(struct frame *f, const unsigned char *min, size_t minlen, const void *rest,
                size_t restlen)
{
        frame_init(f);
        proto_uow_begin(&f->pk, 1, 1, "a", 0);
        proto_uow_values_begin(&f->pk, 0);
        proto_uow_rejects_begin(&f->pk, 0);
        proto_uow_aggs_begin(&f->pk, 1);
        msgpack_pack_array(&f->pk, 14);
        pack_s(&f->pk, "u");
        pack_s(&f->pk, "city");
        pack_s(&f->pk, "2024");
        pack_s(&f->pk, "i");
        msgpack_pack_nil(&f->pk);
        msgpack_pack_nil(&f->pk);
        msgpack_pack_nil(&f->pk);
        msgpack_pack_uint64(&f->pk, 2);
        put(f, min, minlen);
        put(f, rest, restlen);
        msgpack_pack_nil(&f->pk);
        msgpack_pack_nil(&f->pk);
        proto_uow_violations_begin(&f->pk, 0);
        proto_uow_actions_begin(&f->pk, 0, 0);
}

static void
test_float_encodings(void **state)
{
        /* max float32 -2.75, mean float64 1e300, cv float32 0.1 */
        static const unsigned char rest[] = {0xca, 0xc0, 0x30, 0x00, 0x00, 0xcb, 0x7e,
                                             0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c,
                                             0xca, 0x3d, 0xcc, 0xcc, 0xcd};
        static const unsigned char f64[] = {0xcb, 0x40, 0x29, 0, 0, 0, 0, 0, 0};
        static const unsigned char f32[] = {0xca, 0x41, 0x48, 0, 0};
        static const unsigned char nil[] = {0xc0};
        static const unsigned char fixint[] = {0x0c};
        static const unsigned char u8[] = {0xcc, 0xc8};
        static const unsigned char i8[] = {0xd0, 0x0c};
        static const unsigned char neg[] = {0xf4};
        static const unsigned char str[] = {0xa2, '1', '2'};
        static const unsigned char yes[] = {0xc3};
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        pack_agg_floats(&f, f64, sizeof(f64), rest, sizeof(rest));
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_true(u.aggs[0].min == 12.5);
        assert_true(u.aggs[0].max == -2.75);
        assert_true(u.aggs[0].mean == 1e300);
        /* float32 0.1 widens to the double nearest the float, not to 0.1. */
        assert_true(u.aggs[0].cv == 0.100000001490116119384765625);
        assert_int_equal(u.aggs[0].nulls,
                         PROTO_AGG_NULL_VALUE | PROTO_AGG_NULL_NUM | PROTO_AGG_NULL_DEN);
        assert_int_equal(u.aggs[0].n_reporting, 2);
        proto_uow_free(&u);
        frame_done(&f);

        pack_agg_floats(&f, f32, sizeof(f32), rest, sizeof(rest));
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_true(u.aggs[0].min == 12.5);
        proto_uow_free(&u);
        frame_done(&f);

        pack_agg_floats(&f, nil, sizeof(nil), rest, sizeof(rest));
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_true(u.aggs[0].min == 0);
        assert_int_equal(u.aggs[0].nulls, PROTO_AGG_NULL_VALUE | PROTO_AGG_NULL_NUM |
                                              PROTO_AGG_NULL_DEN | PROTO_AGG_NULL_MIN);
        proto_uow_free(&u);
        frame_done(&f);

        /* Integers, of any encoding, are not floats; nor are text and bool. */
        const unsigned char *notfloat[] = {fixint, u8, i8, neg, str, yes};
        const size_t notlen[] = {sizeof(fixint), sizeof(u8),  sizeof(i8),
                                 sizeof(neg),    sizeof(str), sizeof(yes)};
        for (size_t i = 0; i < sizeof(notlen) / sizeof(notlen[0]); i++) {
                pack_agg_floats(&f, notfloat[i], notlen[i], rest, sizeof(rest));
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
                assert_string_equal(err, "agg 0: min is not a float");
                assert_null(u.aggs);
                frame_done(&f);
        }
}

/* The empty string is a string: only nil is nil. */
static void
test_empty_strings(void **state)
{
        struct proto_record r = {.line = 4, .version = 1, .reason = ps("")};
        struct proto_agg a = {.unit = ps("u"),
                              .level = ps("city"),
                              .period = ps("2024"),
                              .indicator = ps("i"),
                              .value = ps(""),
                              .numerator = ps(""),
                              .nulls = PROTO_AGG_NULL_MIN | PROTO_AGG_NULL_MAX |
                                       PROTO_AGG_NULL_MEAN | PROTO_AGG_NULL_CV,
                              .dimension = ps(""),
                              .category = ps("")};
        struct proto_submit s;
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        /* A reason of "" marks a collector-rejected row: the fields may be nil. */
        pack_one_submit(&f, &r);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_non_null(s.rec[0].reason.p);
        assert_int_equal(s.rec[0].reason.len, 0);
        assert_inside(s.rec[0].reason, &f);
        assert_pstr(s.rec[0].unit, NULL);
        proto_submit_free(&s);
        frame_done(&f);

        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 0);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 1);
        proto_agg_pack(&f.pk, &a);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_pstr(u.aggs[0].value, "");
        assert_pstr(u.aggs[0].numerator, "");
        assert_pstr(u.aggs[0].denominator, NULL);
        assert_pstr(u.aggs[0].dimension, "");
        assert_pstr(u.aggs[0].category, "");
        assert_int_equal(u.aggs[0].nulls, PROTO_AGG_NULL_DEN | PROTO_AGG_NULL_MIN |
                                              PROTO_AGG_NULL_MAX | PROTO_AGG_NULL_MEAN |
                                              PROTO_AGG_NULL_CV);
        proto_uow_free(&u);
        frame_done(&f);

        /* "" and nil are not both nil. */
        a.category = ps(NULL);
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 0);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 1);
        proto_agg_pack(&f.pk, &a);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "agg 0: dimension and category must both be nil or both strings");
        frame_done(&f);
}

/*
 * A uow's four lists are checked to be lists before any of their items,
 * so a bad value behind a bad rejects list reports the list, and so does a
 * bad batch behind a bad values list; lists longer than 65535 items
 * (array32) decode with the right index in errors.
 */
static void
test_uow_lists(void **state)
{
        struct proto_batch b = {ps("c"), ps("b"), ps(NULL)};
        struct proto_value v = {.unit = ps("S0012345"),
                                .period = ps("2024"),
                                .indicator = ps("pupils_total"),
                                .value = ps("123"),
                                .version = 1,
                                .flags = PROTO_VALUE_NEW};
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        msgpack_pack_array(&f.pk, 11);
        pack_s(&f.pk, "uow");
        msgpack_pack_uint64(&f.pk, 1);
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "a");
        msgpack_pack_array(&f.pk, 0);
        msgpack_pack_array(&f.pk, 1);
        msgpack_pack_array(&f.pk, 1);
        msgpack_pack_nil(&f.pk);
        msgpack_pack_uint64(&f.pk, 7);
        msgpack_pack_array(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "rejects is not an array");
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 11);
        pack_s(&f.pk, "uow");
        msgpack_pack_uint64(&f.pk, 1);
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "a");
        msgpack_pack_array(&f.pk, 1);
        msgpack_pack_array(&f.pk, 1);
        msgpack_pack_nil(&f.pk);
        msgpack_pack_uint64(&f.pk, 7);
        msgpack_pack_array(&f.pk, 0);
        msgpack_pack_array(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "values is not an array");
        assert_null(u.batches);
        frame_done(&f);

        /* The message in an array16 header, its values in an array32. */
        frame_init(&f);
        put(&f, "\xdc\x00\x0b", 3);
        pack_s(&f.pk, "uow");
        msgpack_pack_uint64(&f.pk, 9);
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "a");
        msgpack_pack_array(&f.pk, 1); /* the batch table */
        proto_uow_batch_pack(&f.pk, &b);
        proto_uow_values_begin(&f.pk, 70000);
        for (uint32_t i = 0; i < 70000; i++) {
                v.version = i;
                v.flags = i == 69999 ? PROTO_VALUE_FINAL : PROTO_VALUE_NEW;
                proto_value_pack(&f.pk, &v, 0);
        }
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        /* 0xdc 0 11, "uow", 9, 1, "a", then [["c", "b", nil]] in bytes 11..17. */
        assert_int_equal((unsigned char)f.sb.data[11], 0x91);
        assert_int_equal((unsigned char)f.sb.data[17], 0xc0);
        assert_int_equal((unsigned char)f.sb.data[18], 0xdd);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_true(u.seq == 9);
        assert_int_equal(u.nvalues, 70000);
        assert_true(u.values[65536].version == 65536);
        assert_int_equal(u.values[65536].flags, PROTO_VALUE_NEW);
        assert_true(u.values[69999].version == 69999);
        assert_int_equal(u.values[69999].flags, PROTO_VALUE_FINAL);
        assert_pstr(u.values[69999].indicator, "pupils_total");
        assert_pstr(u.values[69999].batch_id, "b");
        assert_inside(u.values[69999].batch_id, &f);
        /* Every value's batch strings are the table's, not copies. */
        assert_true(u.values[65536].collector.p == u.batches[0].collector.p);
        assert_true(u.values[69999].batch_id.p == u.batches[0].batch_id.p);
        proto_uow_free(&u);
        frame_done(&f);

        /* The same with the last value's flags out of range. */
        frame_init(&f);
        proto_uow_begin(&f.pk, 9, 1, "a", 1);
        proto_uow_batch_pack(&f.pk, &b);
        proto_uow_values_begin(&f.pk, 70000);
        for (uint32_t i = 0; i < 70000; i++) {
                v.flags = i == 69999 ? 4 : PROTO_VALUE_NEW;
                proto_value_pack(&f.pk, &v, 0);
        }
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "value 69999: flags 4 out of range");
        assert_null(u.values);
        assert_int_equal(u.nvalues, 0);
        assert_null(u.batches);
        assert_int_equal(u.nbatches, 0);
        frame_done(&f);

        /* And with the last value's batch out of range: the index is per value. */
        frame_init(&f);
        proto_uow_begin(&f.pk, 9, 1, "a", 1);
        proto_uow_batch_pack(&f.pk, &b);
        proto_uow_values_begin(&f.pk, 70000);
        for (uint32_t i = 0; i < 70000; i++) {
                v.flags = PROTO_VALUE_NEW;
                proto_value_pack(&f.pk, &v, i == 69999 ? 1 : 0);
        }
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "value 69999: batch 1 out of range (the uow has 1)");
        assert_null(u.values);
        assert_null(u.batches);
        frame_done(&f);
}

/* A map is never a message, a list or a tuple. */
static void
test_maps_refused(void **state)
{
        static const unsigned char top[] = {0x81, 0xa2, 'o', 'k', 0x01};
        static const unsigned char rec[] = {0x96, 0xa6, 's',  'u',  'b',  'm', 'i',
                                            't',  0x02, 0xa1, 'c',  0xa1, 'b', 0xa1,
                                            's',  0x91, 0x81, 0x01, 0x02};
        static const unsigned char list[] = {0x92, 0xa4, 'r', 'o', 'w', 's', 0x80};
        char err[256];

        (void)state;
        assert_int_equal(decode_as(PROTO_OK, top, sizeof(top), err, sizeof(err)), -1);
        assert_string_equal(err, "not an array starting with a message type");
        assert_int_equal(decode_as(PROTO_SUBMIT, rec, sizeof(rec), err, sizeof(err)), -1);
        assert_string_equal(err, "record 0: not an array");
        assert_int_equal(decode_as(PROTO_ROWS, list, sizeof(list), err, sizeof(err)), -1);
        assert_string_equal(err, "rows is not an array");
}

/* Decoders cope with a NULL or zero-length error buffer. */
static void
test_no_error_buffer(void **state)
{
        static const unsigned char bad[] = {0xc1};
        struct proto_submit s;

        (void)state;
        assert_int_equal(proto_submit_decode(bad, 1, &s, NULL, 0), -1);
        assert_int_equal(proto_submit_decode(bad, 1, &s, NULL, 10), -1);
}

/*
 * Version 2.  The tests below cover what changed from version 1: the
 * batch id's rules, the source no longer nil, records named by their line,
 * the batch id kept on a refusal, the ack's stale list, the uow's and the
 * ready's epoch, the rows' collector and the fenced reply.
 */

/* ["submit", 2, "c", id, "s", []], id given as a pstr (nil when id.p is NULL). */
static void
pack_submit_id(struct frame *f, struct pstr id)
{
        frame_init(f);
        msgpack_pack_array(&f->pk, 6);
        pack_s(&f->pk, "submit");
        msgpack_pack_uint64(&f->pk, PROTO_VERSION);
        pack_s(&f->pk, "c");
        if (id.p == NULL) {
                msgpack_pack_nil(&f->pk);
        } else {
                msgpack_pack_str(&f->pk, id.len);
                msgpack_pack_str_body(&f->pk, id.p, id.len);
        }
        pack_s(&f->pk, "s");
        msgpack_pack_array(&f->pk, 0);
}

static void
test_batch_id_rules(void **state)
{
        static const struct {
                struct pstr id;
                const char *err;
        } bad[] = {
            {{"", 0}, "batch_id is empty"},
            {{"a b", 3}, "batch_id holds byte 0x20: only printable ASCII is allowed"},
            {{" ", 1}, "batch_id holds byte 0x20: only printable ASCII is allowed"},
            {{"b-1 ", 4}, "batch_id holds byte 0x20: only printable ASCII is allowed"},
            {{"b\x80", 2}, "batch_id holds byte 0x80: only printable ASCII is allowed"},
            {{"\xff", 1}, "batch_id holds byte 0xff: only printable ASCII is allowed"},
            {{"b\x7f", 2}, "batch_id holds byte 0x7f: only printable ASCII is allowed"},
            {{"b\x1f", 2}, "batch_id holds byte 0x1f: only printable ASCII is allowed"},
            {{"b\t1", 3}, "batch_id holds byte 0x09: only printable ASCII is allowed"},
            {{"b\n", 2}, "batch_id holds byte 0x0a: only printable ASCII is allowed"},
            {{"a\0b", 3}, "batch_id holds byte 0x00: only printable ASCII is allowed"},
            /* UTF-8 is not ASCII; the first offending byte is named. */
            {{"批次", 6}, "batch_id holds byte 0xe6: only printable ASCII is allowed"},
            {{"ok\x80 ", 4}, "batch_id holds byte 0x80: only printable ASCII is allowed"},
        };
        char id[PROTO_MAX_ID + 2];
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                pack_submit_id(&f, bad[i].id);
                assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)),
                                 -1);
                assert_string_equal(err, bad[i].err);
                assert_null(s.rec);
                assert_int_equal(s.nrec, 0);
                assert_pstr(s.collector, NULL);
                frame_done(&f);
        }

        /* Every printable byte, 0x21 to 0x7e, in two ids; the first is 64 bytes. */
        for (int i = 0; i < 64; i++)
                id[i] = (char)(0x21 + i);
        pack_submit_id(&f, (struct pstr){id, 64});
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.batch_id.len, 64);
        assert_memory_equal(s.batch_id.p, id, 64);
        assert_inside(s.batch_id, &f);
        proto_submit_free(&s);
        frame_done(&f);
        for (int i = 0; i < 30; i++)
                id[i] = (char)(0x61 + i);
        assert_int_equal((unsigned char)id[29], 0x7e);
        pack_submit_id(&f, (struct pstr){id, 30});
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.batch_id.len, 30);
        proto_submit_free(&s);
        frame_done(&f);

        /* One byte and 64 bytes pass, 65 do not. */
        pack_submit_id(&f, ps("!"));
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_pstr(s.batch_id, "!");
        proto_submit_free(&s);
        frame_done(&f);
        memset(id, 'b', sizeof(id));
        pack_submit_id(&f, (struct pstr){id, PROTO_MAX_ID});
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.batch_id.len, 64);
        proto_submit_free(&s);
        frame_done(&f);
        pack_submit_id(&f, (struct pstr){id, PROTO_MAX_ID + 1});
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "batch_id longer than 64 bytes");
        assert_pstr(s.batch_id, NULL);
        frame_done(&f);

        /* Nil or a number: not a string, and no batch id to name. */
        pack_submit_id(&f, ps(NULL));
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "batch_id is not a string");
        assert_pstr(s.batch_id, NULL);
        frame_done(&f);

        /* The rules are the submit's: an ack or a uow value takes any id. */
        struct proto_ack a;
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("a b"), 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 0);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_pstr(a.batch_id, "a b");
        proto_ack_free(&a);
        frame_done(&f);
}

/*
 * A submit of three records on lines 2, 5 and (mostly) 17: fn packs the
 * third, as it likes.
 */
static void
pack_three(struct frame *f, const char *batch_id, void (*fn)(msgpack_packer *))
{
        struct proto_record r = {.line = 2,
                                 .version = 1,
                                 .unit = ps("u"),
                                 .period = ps("2024"),
                                 .indicator = ps("i"),
                                 .value = ps("1")};

        frame_init(f);
        proto_submit_begin(&f->pk, "c", batch_id, "s.csv", 3);
        proto_record_pack(&f->pk, &r);
        r.line = 5;
        proto_record_pack(&f->pk, &r);
        fn(&f->pk);
}

static void
rec_unit_nil(msgpack_packer *pk)
{
        struct proto_record r = {
            .line = 17, .version = 1, .period = ps("2024"), .indicator = ps("i"), .value = ps("1")};

        proto_record_pack(pk, &r);
}

static void
rec_version_negative(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 8);
        msgpack_pack_uint64(pk, 17);
        msgpack_pack_int64(pk, -3);
        for (int i = 0; i < 4; i++)
                pack_s(pk, "x");
        msgpack_pack_nil(pk);
        msgpack_pack_nil(pk);
}

static void
rec_reason_number(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 8);
        msgpack_pack_uint64(pk, 17);
        msgpack_pack_uint64(pk, 1);
        for (int i = 0; i < 4; i++)
                msgpack_pack_nil(pk);
        pack_s(pk, "a,b");
        msgpack_pack_uint64(pk, 9);
}

static void
rec_line_string(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 8);
        pack_s(pk, "17");
        msgpack_pack_uint64(pk, 1);
        for (int i = 0; i < 4; i++)
                pack_s(pk, "x");
        msgpack_pack_nil(pk);
        msgpack_pack_nil(pk);
}

static void
rec_line_negative(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 8);
        msgpack_pack_int64(pk, -17);
        msgpack_pack_uint64(pk, 1);
        for (int i = 0; i < 4; i++)
                pack_s(pk, "x");
        msgpack_pack_nil(pk);
        msgpack_pack_nil(pk);
}

static void
rec_seven(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 7);
        msgpack_pack_uint64(pk, 17);
        for (int i = 0; i < 6; i++)
                msgpack_pack_nil(pk);
}

static void
rec_scalar(msgpack_packer *pk)
{
        msgpack_pack_uint64(pk, 17);
}

static void
rec_line_max(msgpack_packer *pk)
{
        struct proto_record r = {.line = 2147483647u, .version = 1, .unit = ps("u")};

        proto_record_pack(pk, &r);
}

static void
rec_line_zero(msgpack_packer *pk)
{
        struct proto_record r = {.line = 0, .version = 1, .unit = ps("u"), .period = ps("p")};

        proto_record_pack(pk, &r);
}

/*
 * A record is named by its line once that was read ("line 17: ..."), by
 * its position before ("record 2: ..."): the line is what the sender can
 * find in its file.  Lists of other messages still go by position.
 */
static void
test_error_names_line(void **state)
{
        static const struct {
                void (*fn)(msgpack_packer *);
                const char *err;
        } cases[] = {
            {rec_unit_nil, "line 17: unit is not a string"},
            {rec_version_negative, "line 17: version is negative"},
            {rec_reason_number, "line 17: reason is not a string"},
            {rec_line_string, "record 2: line is not an integer"},
            {rec_line_negative, "record 2: line is negative"},
            {rec_seven, "record 2: has 7 items, expected 8"},
            {rec_scalar, "record 2: not an array"},
            {rec_line_max, "line 2147483647: period is not a string"},
            {rec_line_zero, "line 0: indicator is not a string"},
        };
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                pack_three(&f, "b-17", cases[i].fn);
                assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)),
                                 -1);
                assert_string_equal(err, cases[i].err);
                /* Whatever the record's fault, the batch is named. */
                assert_pstr(s.batch_id, "b-17");
                assert_null(s.rec);
                assert_int_equal(s.nrec, 0);
                frame_done(&f);
        }

        /* An ack's and a uow's lines are fields, not names: they go by position. */
        struct proto_batch b = {ps("c"), ps("b"), ps("s")};
        struct proto_reject rj = {.line = 12, .reason = ps(NULL)};
        struct proto_ack a;
        struct proto_uow u;
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, 2);
        proto_reject_line_pack(&f.pk, 5, ps("r"));
        proto_reject_line_pack(&f.pk, 9, ps(NULL));
        proto_ack_stale_begin(&f.pk, 0);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "reject 1: reason is not a string");
        assert_null(a.rej);
        frame_done(&f);
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 1);
        proto_uow_batch_pack(&f.pk, &b);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 1);
        proto_reject_pack(&f.pk, &rj, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "reject 0: reason is not a string");
        frame_done(&f);
}

static void
rec_ok(msgpack_packer *pk)
{
        struct proto_record r = {.line = 17,
                                 .version = 1,
                                 .unit = ps("u"),
                                 .period = ps("2024"),
                                 .indicator = ps("i"),
                                 .value = ps("1")};

        proto_record_pack(pk, &r);
}

/*
 * A refused submit still names its batch when the batch id could be read
 * (a valid one), so that the "error" reply can carry it; it owns nothing.
 */
static void
test_batch_id_kept_on_failure(void **state)
{
        char longid[PROTO_MAX_ID + 2];
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        /* Refused for a record, the records list, the collector, the source. */
        pack_three(&f, "b-kept", rec_unit_nil);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_pstr(s.batch_id, "b-kept");
        assert_inside(s.batch_id, &f);
        assert_null(s.rec);
        assert_int_equal(s.nrec, 0);
        assert_pstr(s.collector, NULL);
        assert_pstr(s.source, NULL);
        /* _free takes it as it is, and leaves it zeroed. */
        proto_submit_free(&s);
        assert_pstr(s.batch_id, NULL);
        frame_done(&f);

        frame_init(&f);
        msgpack_pack_array(&f.pk, 6);
        pack_s(&f.pk, "submit");
        msgpack_pack_uint64(&f.pk, PROTO_VERSION);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "b-list");
        pack_s(&f.pk, "s");
        msgpack_pack_nil(&f.pk);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "records is not an array");
        assert_pstr(s.batch_id, "b-list");
        frame_done(&f);

        memset(longid, 'c', sizeof(longid));
        longid[PROTO_MAX_ID + 1] = '\0';
        frame_init(&f);
        proto_submit_begin(&f.pk, longid, "b-coll", "s", 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "collector longer than 64 bytes");
        assert_pstr(s.batch_id, "b-coll");
        assert_pstr(s.collector, NULL);
        frame_done(&f);

        /* A valid frame decoded after a refused one starts afresh. */
        pack_three(&f, "b-ok", rec_ok);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_pstr(s.batch_id, "b-ok");
        assert_int_equal(s.nrec, 3);
        assert_int_equal(s.rec[2].line, 17);
        proto_submit_free(&s);

        /*
         * Refused before the batch id could be read: a frame cut short, one
         * with junk behind it, the wrong item count.  No batch id then.
         */
        unsigned char *buf = malloc(f.sb.size + 1);
        memcpy(buf, f.sb.data, f.sb.size);
        assert_int_equal(proto_submit_decode(buf, f.sb.size - 1, &s, err, sizeof(err)), -1);
        assert_pstr(s.batch_id, NULL);
        buf[f.sb.size] = 0xc0;
        assert_int_equal(proto_submit_decode(buf, f.sb.size + 1, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "1 trailing bytes after the message");
        assert_pstr(s.batch_id, NULL);
        free(buf);
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 5);
        pack_s(&f.pk, "submit");
        msgpack_pack_uint64(&f.pk, PROTO_VERSION);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "b-five");
        msgpack_pack_array(&f.pk, 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "submit message has 5 items, expected 6");
        assert_pstr(s.batch_id, NULL);
        frame_done(&f);
}

static void
test_ack_stale_roundtrip(void **state)
{
        char value[PROTO_MAX_FIELD + 1], coll[PROTO_MAX_ID + 1];
        struct proto_stale st[3] = {
            {.line = 17,
             .value = ps("1234"),
             .collector = ps("盘锦一中"),
             .version = 1700000000000000ULL * 1024 + 3},
            {.line = 4294967295u, .value = ps(""), .collector = ps("c"), .version = 0},
            {.line = 0, .value = ps("x"), .collector = ps("c2"), .version = 9223372036854775807ULL},
        };
        struct proto_ack a;
        struct frame f;
        char err[256];

        (void)state;
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b-0001"), 10, 3, 1);
        proto_reject_line_pack(&f.pk, 5, ps("unknown unit 999"));
        proto_ack_stale_begin(&f.pk, 3);
        for (int i = 0; i < 3; i++)
                proto_stale_pack(&f.pk, &st[i]);
        /* ["ack", "b-0001", 10, 3, [...], [...]]: six items now. */
        assert_int_equal((unsigned char)f.sb.data[0], 0x96);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_ACK);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_pstr(a.batch_id, "b-0001");
        assert_int_equal(a.accepted, 10);
        assert_int_equal(a.changed, 3);
        assert_int_equal(a.nrej, 1);
        assert_int_equal(a.rej[0].line, 5);
        assert_pstr(a.rej[0].reason, "unknown unit 999");
        assert_int_equal(a.nstale, 3);
        assert_int_equal(a.stale[0].line, 17);
        assert_pstr(a.stale[0].value, "1234");
        assert_pstr(a.stale[0].collector, "盘锦一中");
        assert_true(a.stale[0].version == 1700000000000000ULL * 1024 + 3);
        assert_true(a.stale[1].line == 4294967295u);
        assert_pstr(a.stale[1].value, "");
        assert_pstr(a.stale[1].collector, "c");
        assert_true(a.stale[1].version == 0);
        assert_int_equal(a.stale[2].line, 0);
        assert_pstr(a.stale[2].value, "x");
        assert_pstr(a.stale[2].collector, "c2");
        assert_true(a.stale[2].version == 9223372036854775807ULL);
        assert_inside(a.stale[0].collector, &f);
        assert_inside(a.stale[2].value, &f);
        assert_pstr(a.message, NULL);
        proto_ack_free(&a);
        assert_null(a.stale);
        assert_int_equal(a.nstale, 0);
        frame_done(&f);

        /* Stale records without rejections. */
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 1, 0, 0);
        proto_ack_stale_begin(&f.pk, 1);
        proto_stale_pack(&f.pk, &st[0]);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_int_equal(a.nrej, 0);
        assert_null(a.rej);
        assert_int_equal(a.nstale, 1);
        assert_int_equal(a.stale[0].line, 17);
        proto_ack_free(&a);
        frame_done(&f);

        /* The caps: a value of 256 bytes and a collector of 64 pass. */
        memset(value, 'v', sizeof(value));
        memset(coll, 'c', sizeof(coll));
        struct proto_stale big = {.line = 1,
                                  .value = {value, PROTO_MAX_FIELD},
                                  .collector = {coll, PROTO_MAX_ID},
                                  .version = 1};
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 1);
        proto_stale_pack(&f.pk, &big);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_int_equal(a.stale[0].value.len, 256);
        assert_int_equal(a.stale[0].collector.len, 64);
        proto_ack_free(&a);
        frame_done(&f);

        /* One byte more, or a line or version out of range, is refused by position. */
        struct {
                struct proto_stale st;
                const char *err;
        } bad[] = {
            {{1, {value, PROTO_MAX_FIELD + 1}, {"c", 1}, 1},
             "stale 1: value longer than 256 bytes"},
            {{1, {"v", 1}, {coll, PROTO_MAX_ID + 1}, 1}, "stale 1: collector longer than 64 bytes"},
            {{1, {"v", 1}, {"c", 1}, 9223372036854775808ULL},
             "stale 1: version 9223372036854775808 out of range"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                frame_init(&f);
                proto_ack_begin(&f.pk, ps("b"), 0, 0, 0);
                proto_ack_stale_begin(&f.pk, 2);
                proto_stale_pack(&f.pk, &st[0]);
                proto_stale_pack(&f.pk, &bad[i].st);
                assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
                assert_string_equal(err, bad[i].err);
                assert_null(a.stale);
                assert_int_equal(a.nstale, 0);
                assert_pstr(a.batch_id, NULL);
                frame_done(&f);
        }

        /* A line beyond 32 bits, and tuples of 3 and 5 items. */
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 4);
        msgpack_pack_uint64(&f.pk, 4294967296ULL);
        pack_s(&f.pk, "v");
        pack_s(&f.pk, "c");
        msgpack_pack_uint64(&f.pk, 1);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "stale 0: line 4294967296 out of range");
        frame_done(&f);
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 3);
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "v");
        pack_s(&f.pk, "c");
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "stale 0: has 3 items, expected 4");
        frame_done(&f);
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 5);
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "v");
        pack_s(&f.pk, "c");
        msgpack_pack_uint64(&f.pk, 1);
        msgpack_pack_nil(&f.pk);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "stale 0: has 5 items, expected 4");
        frame_done(&f);
        /* Beyond the widest tuple of an ack (a warning, 6), the scan refuses it. */
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 7);
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "v");
        pack_s(&f.pk, "c");
        msgpack_pack_uint64(&f.pk, 1);
        for (int i = 0; i < 3; i++)
                msgpack_pack_nil(&f.pk);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        /* 0x96 "ack" "b" 0 0 [] [, then the stale record's header at byte 11. */
        assert_string_equal(err, "byte 11: array declares 7 items, at most 6 allowed at depth 2");
        frame_done(&f);

        /* A version-1 ack, without the stale list, is refused whole. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 5);
        pack_s(&f.pk, "ack");
        pack_s(&f.pk, "b");
        msgpack_pack_uint64(&f.pk, 1);
        msgpack_pack_uint64(&f.pk, 0);
        msgpack_pack_array(&f.pk, 0);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "ack message has 5 items, expected 6 to 8");
        frame_done(&f);

        /* A bad rejection is reported before a bad stale record. */
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b"), 0, 0, 1);
        proto_reject_line_pack(&f.pk, 3, ps(NULL));
        proto_ack_stale_begin(&f.pk, 1);
        proto_stale_pack(&f.pk, &bad[0].st);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "reject 0: reason is not a string");
        assert_null(a.rej);
        assert_null(a.stale);
        frame_done(&f);
}

static void
test_uow_epoch(void **state)
{
        static const unsigned char head[] = {0x9b, 0xa3, 'u',  'o',  'w',  0x07, 0xcd, 0x01, 0x2c,
                                             0xa1, 'a',  0x90, 0x90, 0x90, 0x90, 0x90, 0x00, 0x90};
        static const uint64_t epochs[] = {0, 1, 4294967296ULL, 9223372036854775807ULL};
        struct proto_uow u;
        struct frame f;
        char err[256];

        (void)state;
        /*
         * ["uow", seq, epoch, aggregator, batches, values, rejects, aggs,
         *  violations, full, actions]
         */
        frame_init(&f);
        proto_uow_begin(&f.pk, 7, 300, "a", 0);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(f.sb.size, sizeof(head));
        assert_memory_equal(f.sb.data, head, sizeof(head));
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_true(u.seq == 7);
        assert_true(u.epoch == 300);
        assert_pstr(u.aggregator, "a");
        proto_uow_free(&u);
        assert_true(u.epoch == 0);
        frame_done(&f);

        for (size_t i = 0; i < sizeof(epochs) / sizeof(epochs[0]); i++) {
                frame_init(&f);
                proto_uow_begin(&f.pk, 9, epochs[i], "agg-1", 0);
                proto_uow_values_begin(&f.pk, 0);
                proto_uow_rejects_begin(&f.pk, 0);
                proto_uow_aggs_begin(&f.pk, 0);
                proto_uow_violations_begin(&f.pk, 0);
                proto_uow_actions_begin(&f.pk, 0, 0);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
                assert_true(u.epoch == epochs[i]);
                assert_true(u.seq == 9);
                proto_uow_free(&u);
                frame_done(&f);
        }

        /* Out of range and negative epochs. */
        frame_init(&f);
        proto_uow_begin(&f.pk, 9, 9223372036854775808ULL, "a", 0);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "epoch 9223372036854775808 out of range");
        assert_true(u.seq == 0 && u.epoch == 0);
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 11);
        pack_s(&f.pk, "uow");
        msgpack_pack_uint64(&f.pk, 9);
        msgpack_pack_int64(&f.pk, -1);
        pack_s(&f.pk, "a");
        for (int i = 0; i < 4; i++)
                msgpack_pack_array(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "epoch is negative");
        frame_done(&f);

        /* A uow of before the rules: no violations, full flag or actions. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 8);
        pack_s(&f.pk, "uow");
        msgpack_pack_uint64(&f.pk, 9);
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "a");
        for (int i = 0; i < 4; i++)
                msgpack_pack_array(&f.pk, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "uow message has 8 items, expected 11");
        assert_true(u.seq == 0);
        frame_done(&f);

        /* A version-1 uow, without the epoch. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 6);
        pack_s(&f.pk, "uow");
        msgpack_pack_uint64(&f.pk, 9);
        pack_s(&f.pk, "a");
        for (int i = 0; i < 3; i++)
                msgpack_pack_array(&f.pk, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "uow message has 6 items, expected 11");
        frame_done(&f);

        /* A uow of before the batch table: values named their batch themselves. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 7);
        pack_s(&f.pk, "uow");
        msgpack_pack_uint64(&f.pk, 9);
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "a");
        msgpack_pack_array(&f.pk, 1);
        msgpack_pack_array(&f.pk, 8);
        for (int i = 0; i < 4; i++)
                pack_s(&f.pk, "x");
        msgpack_pack_uint64(&f.pk, 1);
        msgpack_pack_uint64(&f.pk, PROTO_VALUE_NEW);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "b");
        msgpack_pack_array(&f.pk, 0);
        msgpack_pack_array(&f.pk, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "uow message has 7 items, expected 11");
        assert_null(u.batches);
        frame_done(&f);
}

static void
test_rows_collector(void **state)
{
        char coll[PROTO_MAX_ID + 1];
        struct proto_row in = {ps("u"), ps("p"), ps("i"), ps("v"), 1, ps("c1")};
        static const unsigned char bytes[] = {0x92, 0xa4, 'r',  'o',  'w', 's',  0x91,
                                              0x96, 0xa1, 'u',  0xa1, 'p', 0xa1, 'i',
                                              0xa1, 'v',  0x01, 0xa2, 'c', '1'};
        struct proto_row *rows;
        struct frame f;
        uint32_t n;
        char err[256];

        (void)state;
        /* [unit, period, indicator, value, version, collector] */
        frame_init(&f);
        proto_rows_begin(&f.pk, 1);
        proto_row_pack(&f.pk, &in);
        assert_int_equal(f.sb.size, sizeof(bytes));
        assert_memory_equal(f.sb.data, bytes, sizeof(bytes));
        frame_done(&f);

        /* The collector's cap: 64 bytes pass, in the second row 65 do not. */
        memset(coll, 'c', sizeof(coll));
        in.collector = (struct pstr){coll, PROTO_MAX_ID};
        frame_init(&f);
        proto_rows_begin(&f.pk, 2);
        proto_row_pack(&f.pk, &in);
        proto_row_pack(&f.pk, &in);
        assert_int_equal(proto_rows_decode(f.sb.data, f.sb.size, &rows, &n, err, sizeof(err)), 0);
        assert_int_equal(n, 2);
        assert_int_equal(rows[1].collector.len, 64);
        assert_inside(rows[1].collector, &f);
        free(rows);
        frame_done(&f);
        frame_init(&f);
        proto_rows_begin(&f.pk, 2);
        proto_row_pack(&f.pk, &in);
        in.collector.len = PROTO_MAX_ID + 1;
        proto_row_pack(&f.pk, &in);
        assert_int_equal(proto_rows_decode(f.sb.data, f.sb.size, &rows, &n, err, sizeof(err)), -1);
        assert_string_equal(err, "row 1: collector longer than 64 bytes");
        assert_null(rows);
        assert_int_equal(n, 0);
        frame_done(&f);

        /* A version-1 row of five items; seven is more than any row has. */
        frame_init(&f);
        proto_rows_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 5);
        for (int i = 0; i < 4; i++)
                pack_s(&f.pk, "x");
        msgpack_pack_uint64(&f.pk, 1);
        assert_int_equal(proto_rows_decode(f.sb.data, f.sb.size, &rows, &n, err, sizeof(err)), -1);
        assert_string_equal(err, "row 0: has 5 items, expected 6");
        frame_done(&f);
        frame_init(&f);
        proto_rows_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 7);
        for (int i = 0; i < 4; i++)
                pack_s(&f.pk, "x");
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "extra");
        assert_int_equal(proto_rows_decode(f.sb.data, f.sb.size, &rows, &n, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 7: array declares 7 items, at most 6 allowed at depth 2");
        frame_done(&f);
}

static void
test_ready_epoch(void **state)
{
        static const unsigned char bytes[] = {0x96, 0xa5, 'r',  'e',  'a',  'd',
                                              'y',  0x05, 0x06, 0x07, 0x08, 0x09};
        uint64_t last, nrows, epoch, nrev, nnotes;
        struct frame f;
        char err[256];

        (void)state;
        /* ["ready", last_seq, nrows, epoch, nreviews, nnotes] */
        frame_init(&f);
        proto_ready_pack(&f.pk, 5, 6, 7, 8, 9);
        assert_int_equal(f.sb.size, sizeof(bytes));
        assert_memory_equal(f.sb.data, bytes, sizeof(bytes));
        assert_int_equal(proto_ready_decode(f.sb.data, f.sb.size, &last, &nrows, &epoch, &nrev,
                                            &nnotes, err, sizeof(err)),
                         0);
        assert_true(last == 5 && nrows == 6 && epoch == 7 && nrev == 8 && nnotes == 9);
        frame_done(&f);

        frame_init(&f);
        proto_ready_pack(&f.pk, 0, 0, 0, 0, 0);
        assert_int_equal(proto_ready_decode(f.sb.data, f.sb.size, &last, &nrows, &epoch, &nrev,
                                            &nnotes, err, sizeof(err)),
                         0);
        assert_true(last == 0 && nrows == 0 && epoch == 0 && nrev == 0 && nnotes == 0);
        frame_done(&f);

        /* Refused: every output is zeroed, the good ones too. */
        frame_init(&f);
        proto_ready_pack(&f.pk, 5, 6, 9223372036854775808ULL, 1, 1);
        assert_int_equal(proto_ready_decode(f.sb.data, f.sb.size, &last, &nrows, &epoch, &nrev,
                                            &nnotes, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "epoch 9223372036854775808 out of range");
        assert_true(last == 0 && nrows == 0 && epoch == 0 && nrev == 0 && nnotes == 0);
        frame_done(&f);
        frame_init(&f);
        proto_ready_pack(&f.pk, 5, 6, 7, 8, 9223372036854775808ULL);
        assert_int_equal(proto_ready_decode(f.sb.data, f.sb.size, &last, &nrows, &epoch, &nrev,
                                            &nnotes, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "nnotes 9223372036854775808 out of range");
        assert_true(last == 0 && nrows == 0 && epoch == 0 && nrev == 0 && nnotes == 0);
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 6);
        pack_s(&f.pk, "ready");
        msgpack_pack_uint64(&f.pk, 5);
        msgpack_pack_uint64(&f.pk, 6);
        msgpack_pack_nil(&f.pk);
        msgpack_pack_uint64(&f.pk, 0);
        msgpack_pack_uint64(&f.pk, 0);
        assert_int_equal(proto_ready_decode(f.sb.data, f.sb.size, &last, &nrows, &epoch, &nrev,
                                            &nnotes, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "epoch is not an integer");
        frame_done(&f);

        /* A version-1 ready, without the epoch; one item too many. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 3);
        pack_s(&f.pk, "ready");
        msgpack_pack_uint64(&f.pk, 5);
        msgpack_pack_uint64(&f.pk, 6);
        assert_int_equal(proto_ready_decode(f.sb.data, f.sb.size, &last, &nrows, &epoch, &nrev,
                                            &nnotes, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "ready message has 3 items, expected 6");
        frame_done(&f);
        /* The ready of before the review round, without the review counts. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 4);
        pack_s(&f.pk, "ready");
        for (int i = 0; i < 3; i++)
                msgpack_pack_uint64(&f.pk, 1);
        assert_int_equal(proto_ready_decode(f.sb.data, f.sb.size, &last, &nrows, &epoch, &nrev,
                                            &nnotes, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "ready message has 4 items, expected 6");
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 7);
        pack_s(&f.pk, "ready");
        for (int i = 0; i < 6; i++)
                msgpack_pack_uint64(&f.pk, 1);
        assert_int_equal(proto_ready_decode(f.sb.data, f.sb.size, &last, &nrows, &epoch, &nrev,
                                            &nnotes, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "byte 0: array declares 7 items, at most 6 allowed at depth 0");
        frame_done(&f);
}

static void
test_fenced(void **state)
{
        static const unsigned char bytes[] = {0x93, 0xa6, 'f',  'e',  'n', 'c', 'e',
                                              'd',  0xcc, 0xc8, 0xa2, 'n', 'o'};
        char *text = malloc(PROTO_MAX_TEXT + 2);
        enum proto_type type;
        struct pstr msg;
        struct frame f;
        uint64_t seq;
        char err[256];

        (void)state;
        /* ["fenced", seq, message] */
        frame_init(&f);
        proto_fenced_pack(&f.pk, 200, "no");
        assert_int_equal(f.sb.size, sizeof(bytes));
        assert_memory_equal(f.sb.data, bytes, sizeof(bytes));
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_FENCED);
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &seq, &msg, err, sizeof(err)), 0);
        assert_int_equal(type, PROTO_FENCED);
        assert_true(seq == 200);
        assert_pstr(msg, "no");
        assert_inside(msg, &f);
        /* No other decoder takes it. */
        for (size_t i = 0; i < sizeof(decoders) / sizeof(decoders[0]); i++) {
                if (decoders[i] != PROTO_OK)
                        assert_int_equal(
                            decode_as(decoders[i], f.sb.data, f.sb.size, err, sizeof(err)), -1);
        }
        frame_done(&f);

        /* The message's cap is the text cap; "" is a message too. */
        memset(text, 'm', PROTO_MAX_TEXT + 1);
        text[PROTO_MAX_TEXT] = '\0';
        frame_init(&f);
        proto_fenced_pack(&f.pk, 9223372036854775807ULL, text);
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &seq, &msg, err, sizeof(err)), 0);
        assert_int_equal(type, PROTO_FENCED);
        assert_true(seq == 9223372036854775807ULL);
        assert_int_equal(msg.len, PROTO_MAX_TEXT);
        frame_done(&f);
        frame_init(&f);
        proto_fenced_pack(&f.pk, 1, "");
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &seq, &msg, err, sizeof(err)), 0);
        assert_pstr(msg, "");
        frame_done(&f);

        /* Refused: type, seq and message are reset. */
        text[PROTO_MAX_TEXT] = 'm';
        text[PROTO_MAX_TEXT + 1] = '\0';
        frame_init(&f);
        proto_fenced_pack(&f.pk, 3, text);
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &seq, &msg, err, sizeof(err)), -1);
        assert_string_equal(err, "message longer than 4096 bytes");
        assert_int_equal(type, PROTO_BAD);
        assert_true(seq == 0);
        assert_null(msg.p);
        frame_done(&f);
        free(text);
        frame_init(&f);
        proto_fenced_pack(&f.pk, 9223372036854775808ULL, "m");
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &seq, &msg, err, sizeof(err)), -1);
        assert_string_equal(err, "seq 9223372036854775808 out of range");
        assert_int_equal(type, PROTO_BAD);
        frame_done(&f);

        /* Two items, as an "ok", or four. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 2);
        pack_s(&f.pk, "fenced");
        msgpack_pack_uint64(&f.pk, 1);
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &seq, &msg, err, sizeof(err)), -1);
        assert_string_equal(err, "fenced message has 2 items, expected 3");
        assert_int_equal(type, PROTO_BAD);
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 4);
        pack_s(&f.pk, "fenced");
        msgpack_pack_uint64(&f.pk, 1);
        pack_s(&f.pk, "m");
        pack_s(&f.pk, "m");
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &seq, &msg, err, sizeof(err)), -1);
        assert_string_equal(err, "fenced message has 4 items, expected 3");
        frame_done(&f);

        /* The other results say what they are; anything else is PROTO_BAD. */
        frame_init(&f);
        proto_ready_pack(&f.pk, 1, 2, 3, 4, 5);
        type = PROTO_OK;
        assert_int_equal(
            proto_result_decode(f.sb.data, f.sb.size, &type, &seq, &msg, err, sizeof(err)), -1);
        assert_int_equal(type, PROTO_BAD);
        frame_done(&f);
}

/*
 * Every proper prefix of each message that changed in version 2 is
 * refused, each in a buffer of exactly its size.
 */
static void
test_truncated_v2(void **state)
{
        struct proto_stale st = {.line = 300,
                                 .value = ps("12.5"),
                                 .collector = ps("collector-with-a-longer-name-0123456789"),
                                 .version = 1ull << 50};
        struct proto_row row = {ps("211102001"), ps("2024"), ps("teachers"),
                                ps("88"),        1ull << 40, ps("盘锦一中")};
        struct frame f[6];
        const enum proto_type as[6] = {PROTO_ACK,    PROTO_ROWS,  PROTO_READY,
                                       PROTO_FENCED, PROTO_HELLO, PROTO_SUBMIT};
        unsigned char *buf;
        char err[256];

        (void)state;
        for (int i = 0; i < 6; i++)
                frame_init(&f[i]);
        proto_ack_begin(&f[0].pk, ps("b-0001"), 70000, 3, 1);
        proto_reject_line_pack(&f[0].pk, 5, ps("r"));
        proto_ack_stale_begin(&f[0].pk, 2);
        proto_stale_pack(&f[0].pk, &st);
        proto_stale_pack(&f[0].pk, &st);
        proto_rows_begin(&f[1].pk, 2);
        proto_row_pack(&f[1].pk, &row);
        proto_row_pack(&f[1].pk, &row);
        proto_ready_pack(&f[2].pk, 1ull << 33, 70000, 1ull << 62, 1ull << 40, 3);
        proto_fenced_pack(&f[3].pk, 1ull << 20, "another session said hello");
        proto_hello_pack(&f[4].pk, "agg-1");
        proto_submit_begin(&f[5].pk, "c", "b-0001", "s.csv", 0);
        for (int i = 0; i < 6; i++) {
                assert_int_equal(decode_as(as[i], f[i].sb.data, f[i].sb.size, err, sizeof(err)), 0);
                for (size_t n = 1; n < f[i].sb.size; n++) {
                        buf = malloc(n);
                        memcpy(buf, f[i].sb.data, n);
                        assert_int_equal(decode_as(as[i], buf, n, err, sizeof(err)), -1);
                        assert_true(strlen(err) > 0);
                        free(buf);
                }
                buf = malloc(f[i].sb.size + 1);
                memcpy(buf, f[i].sb.data, f[i].sb.size);
                buf[f[i].sb.size] = 0x00;
                assert_int_equal(decode_as(as[i], buf, f[i].sb.size + 1, err, sizeof(err)), -1);
                assert_string_equal(err, "1 trailing bytes after the message");
                free(buf);
                frame_done(&f[i]);
        }
}

/* Regressions of three faults a review of the version-2 decoders found. */

/*
 * proto.h: on failure out->batch_id is the batch id "when it could be read
 * (a valid one) ... it is nil otherwise".  An id refused for its content
 * is not valid, so it is not echoed.
 */
static void
test_invalid_batch_id_not_kept(void **state)
{
        static const struct pstr ids[] = {{"", 0}, {"a b", 3}, {"b\x80", 2}};
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                pack_submit_id(&f, ids[i]);
                assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)),
                                 -1);
                assert_pstr(s.batch_id, NULL);
                frame_done(&f);
        }
}

/*
 * A version-1 collector may send a batch id that version 2 refuses (an
 * empty one, or one with a space): it should still be told to upgrade,
 * not that its batch id is bad: the version is checked before the id's
 * content.
 */
static void
test_v1_told_to_upgrade_whatever_its_batch_id(void **state)
{
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        pack_submit_version(&f, 1, "", NULL);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "protocol version 1 is no longer accepted (this server speaks 3): "
                                 "upgrade the client");
        frame_done(&f);
        pack_submit_version(&f, 1, "a b", NULL);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "protocol version 1 is no longer accepted (this server speaks 3): "
                                 "upgrade the client");
        frame_done(&f);
}

/*
 * The message type may be any string width (test_string_encodings: "ok" in
 * a str8 and a str16), "fenced" included.
 */
static void
test_fenced_any_string_width(void **state)
{
        static const unsigned char fenced8[] = {0x93, 0xd9, 0x06, 'f',  'e',  'n',
                                                'c',  'e',  'd',  0x01, 0xa1, 'm'};
        enum proto_type type;
        struct pstr msg;
        uint64_t seq;
        char err[256];

        (void)state;
        assert_int_equal(
            proto_result_decode(fenced8, sizeof(fenced8), &type, &seq, &msg, err, sizeof(err)), 0);
        assert_int_equal(type, PROTO_FENCED);
        assert_true(seq == 1);
        assert_pstr(msg, "m");
}

/*
 * Version 3.  The tests below cover what it added: the dry run ("check",
 * answered by "checked"), the warnings of the version-3 ack, the "action"
 * message, and the uow's violations, full flag and actions.
 */

/* A pstr over a string literal, for static initialisers. */
#define PSL(s)                                                                                     \
        {                                                                                          \
                (s), sizeof(s) - 1                                                                 \
        }

static const struct proto_record rec3[2] = {
    {.line = 2,
     .version = 1700000000000000ULL,
     .unit = PSL("211102001"),
     .period = PSL("2024"),
     .indicator = PSL("pupils"),
     .value = PSL("1500")},
    {.line = 3, .version = 1, .raw = PSL("a,\"b"), .reason = PSL("unterminated quote")},
};

/* ["check", version, "c", batch_id, "s", [one record]], as built by hand. */
static void
pack_check_version(struct frame *f, uint64_t version, const char *batch_id)
{
        frame_init(f);
        msgpack_pack_array(&f->pk, 6);
        pack_s(&f->pk, "check");
        msgpack_pack_uint64(&f->pk, version);
        pack_s(&f->pk, "c");
        pack_s(&f->pk, batch_id);
        pack_s(&f->pk, "s");
        msgpack_pack_array(&f->pk, 1);
        proto_record_pack(&f->pk, &rec3[0]);
}

static void
test_check_roundtrip(void **state)
{
        struct proto_submit s;
        struct frame f;
        char err[256] = "";

        (void)state;
        frame_init(&f);
        proto_check_begin(&f.pk, "盘锦一中", "b-dry", "schools.csv", 2);
        proto_record_pack(&f.pk, &rec3[0]);
        proto_record_pack(&f.pk, &rec3[1]);
        /* ["check", 3, ...]: the version is PROTO_VERSION, a fixint after "check". */
        assert_int_equal((unsigned char)f.sb.data[0], 0x96);
        assert_int_equal((unsigned char)f.sb.data[7], 0x03);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_CHECK);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_int_equal(s.dry_run, 1);
        assert_int_equal(s.version, 3);
        assert_pstr(s.collector, "盘锦一中");
        assert_pstr(s.batch_id, "b-dry");
        assert_pstr(s.source, "schools.csv");
        assert_inside(s.batch_id, &f);
        assert_int_equal(s.nrec, 2);
        assert_int_equal(s.rec[0].line, 2);
        assert_true(s.rec[0].version == 1700000000000000ULL);
        assert_pstr(s.rec[0].unit, "211102001");
        assert_pstr(s.rec[0].period, "2024");
        assert_pstr(s.rec[0].indicator, "pupils");
        assert_pstr(s.rec[0].value, "1500");
        assert_pstr(s.rec[0].raw, NULL);
        assert_int_equal(s.rec[1].line, 3);
        assert_pstr(s.rec[1].unit, NULL);
        assert_pstr(s.rec[1].raw, "a,\"b");
        assert_pstr(s.rec[1].reason, "unterminated quote");
        assert_inside(s.rec[1].reason, &f);
        proto_submit_free(&s);
        assert_int_equal(s.dry_run, 0);
        frame_done(&f);

        /* An empty check; then a submit into the same struct is no dry run. */
        frame_init(&f);
        proto_check_begin(&f.pk, "c", "b", "s", 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.dry_run, 1);
        assert_int_equal(s.nrec, 0);
        assert_null(s.rec);
        frame_done(&f);
        frame_init(&f);
        proto_submit_begin(&f.pk, "c", "b", "s", 1);
        proto_record_pack(&f.pk, &rec3[0]);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_SUBMIT);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.dry_run, 0);
        assert_int_equal(s.version, 3);
        assert_int_equal(s.nrec, 1);
        proto_submit_free(&s);
        frame_done(&f);

        /* A check by hand at version 3 is the same. */
        pack_check_version(&f, 3, "b-3");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), 0);
        assert_int_equal(s.dry_run, 1);
        assert_int_equal(s.version, 3);
        assert_pstr(s.batch_id, "b-3");
        proto_submit_free(&s);
        frame_done(&f);
}

static void
test_check_refused(void **state)
{
        struct proto_submit s;
        struct frame f;
        char err[256];

        (void)state;
        /* A check is version 3 only: version 2 (fine for a submit) is not. */
        pack_check_version(&f, 2, "b-two");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "protocol version 2 is no longer accepted (this server speaks 3): "
                                 "upgrade the client");
        assert_pstr(s.batch_id, "b-two");
        assert_null(s.rec);
        assert_int_equal(s.nrec, 0);
        frame_done(&f);
        pack_check_version(&f, 1, "b-one");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "protocol version 1 is no longer accepted (this server speaks 3): "
                                 "upgrade the client");
        assert_pstr(s.batch_id, "b-one");
        frame_done(&f);
        pack_check_version(&f, 4, "b-four");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "unsupported protocol version 4 (this server speaks 3)");
        assert_pstr(s.batch_id, "b-four");
        frame_done(&f);
        pack_check_version(&f, 0, "b-zero");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "unsupported protocol version 0 (this server speaks 3)");
        frame_done(&f);

        /* A bad batch id, and a bad record, as for a submit. */
        pack_check_version(&f, 3, "a b");
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "batch_id holds byte 0x20: only printable ASCII is allowed");
        assert_pstr(s.batch_id, NULL);
        frame_done(&f);
        frame_init(&f);
        proto_check_begin(&f.pk, "c", "b-rec", "s", 1);
        {
                struct proto_record r = rec3[0];

                r.unit = ps(NULL);
                proto_record_pack(&f.pk, &r);
        }
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "line 2: unit is not a string");
        assert_pstr(s.batch_id, "b-rec");
        assert_null(s.rec);
        frame_done(&f);

        /* Five or seven items. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 5);
        pack_s(&f.pk, "check");
        msgpack_pack_uint64(&f.pk, 3);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "b");
        msgpack_pack_array(&f.pk, 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "check message has 5 items, expected 6");
        assert_pstr(s.batch_id, NULL);
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 7);
        pack_s(&f.pk, "check");
        msgpack_pack_uint64(&f.pk, 3);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "b");
        pack_s(&f.pk, "s");
        msgpack_pack_array(&f.pk, 0);
        msgpack_pack_nil(&f.pk);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 0: array declares 7 items, at most 6 allowed at depth 0");
        frame_done(&f);

        /* "checked" is an answer, not a request. */
        frame_init(&f);
        proto_ack3_begin(&f.pk, PROTO_CHECKED, ps("b"), 0, 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 0);
        proto_ack_warnings_begin(&f.pk, 0);
        assert_int_equal(proto_submit_decode(f.sb.data, f.sb.size, &s, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 0: array declares 7 items, at most 6 allowed at depth 0");
        frame_done(&f);
}

static const struct proto_warning warn3[2] = {
    {.unit = PSL("211102001"),
     .period = PSL("2024"),
     .rule = PSL("R10"),
     .message = PSL("rule R10 在校生数同比: pupils <= prev_year(pupils) * 1.3 (1500 > 1300)"),
     .left = PSL("1500"),
     .right = PSL("1300.0")},
    {.unit = PSL("211103"),
     .period = PSL("2024S1"),
     .rule = PSL("R2"),
     .message = PSL(""),
     .left = PSL(""),
     .right = PSL("-0.5")},
};

static void
assert_warning(const struct proto_warning *got, const struct proto_warning *want)
{
        assert_int_equal(got->unit.len, want->unit.len);
        assert_memory_equal(got->unit.p, want->unit.p, want->unit.len);
        assert_int_equal(got->period.len, want->period.len);
        assert_memory_equal(got->period.p, want->period.p, want->period.len);
        assert_int_equal(got->rule.len, want->rule.len);
        assert_memory_equal(got->rule.p, want->rule.p, want->rule.len);
        assert_int_equal(got->message.len, want->message.len);
        assert_non_null(got->message.p);
        assert_memory_equal(got->message.p, want->message.p, want->message.len);
        assert_int_equal(got->left.len, want->left.len);
        assert_non_null(got->left.p);
        assert_memory_equal(got->left.p, want->left.p, want->left.len);
        assert_int_equal(got->right.len, want->right.len);
        assert_memory_equal(got->right.p, want->right.p, want->right.len);
}

/* A version-3 ack or a checked: one reject, one stale record, the two warnings. */
static void
pack_ack3(struct frame *f, enum proto_type type, const char *batch_id)
{
        struct proto_stale st = {.line = 4, .value = ps("12"), .collector = ps("c2"), .version = 9};

        frame_init(f);
        proto_ack3_begin(&f->pk, type, ps(batch_id), 10, 7, 1, 0);
        proto_reject_line_pack(&f->pk, 5, ps("unknown unit 999"));
        proto_ack_stale_begin(&f->pk, 1);
        proto_stale_pack(&f->pk, &st);
        proto_ack_warnings_begin(&f->pk, 2);
        proto_warning_pack(&f->pk, &warn3[0]);
        proto_warning_pack(&f->pk, &warn3[1]);
}

static void
test_ack3_and_checked_roundtrip(void **state)
{
        static const enum proto_type types[] = {PROTO_ACK, PROTO_CHECKED};
        struct proto_ack a;
        struct frame f;
        char err[256] = "";

        (void)state;
        for (size_t i = 0; i < 2; i++) {
                pack_ack3(&f, types[i], "b-0003");
                assert_int_equal((unsigned char)f.sb.data[0], 0x97);
                assert_int_equal(proto_peek(f.sb.data, f.sb.size), types[i]);
                assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
                assert_string_equal(err, "");
                assert_int_equal(a.type, types[i]);
                assert_pstr(a.batch_id, "b-0003");
                assert_int_equal(a.accepted, 10);
                assert_int_equal(a.changed, 7);
                assert_int_equal(a.nrej, 1);
                assert_int_equal(a.rej[0].line, 5);
                assert_pstr(a.rej[0].reason, "unknown unit 999");
                assert_int_equal(a.nstale, 1);
                assert_int_equal(a.stale[0].line, 4);
                assert_pstr(a.stale[0].value, "12");
                assert_pstr(a.stale[0].collector, "c2");
                assert_true(a.stale[0].version == 9);
                assert_pstr(a.message, NULL);
                assert_int_equal(a.nwarn, 2);
                assert_warning(&a.warn[0], &warn3[0]);
                assert_warning(&a.warn[1], &warn3[1]);
                assert_inside(a.warn[0].message, &f);
                assert_inside(a.warn[1].right, &f);
                proto_ack_free(&a);
                assert_null(a.warn);
                assert_int_equal(a.nwarn, 0);
                frame_done(&f);
        }

        /* No warnings: an empty list, no array. */
        frame_init(&f);
        proto_ack3_begin(&f.pk, PROTO_CHECKED, ps("b"), 0, 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 0);
        proto_ack_warnings_begin(&f.pk, 0);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_int_equal(a.type, PROTO_CHECKED);
        assert_int_equal(a.nwarn, 0);
        assert_null(a.warn);
        assert_null(a.rej);
        assert_null(a.stale);
        proto_ack_free(&a);
        frame_done(&f);

        /* The version-2 ack (6 items) is still read: no warnings. */
        frame_init(&f);
        proto_ack_begin(&f.pk, ps("b-2"), 3, 1, 0);
        proto_ack_stale_begin(&f.pk, 0);
        assert_int_equal((unsigned char)f.sb.data[0], 0x96);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_int_equal(a.type, PROTO_ACK);
        assert_pstr(a.batch_id, "b-2");
        assert_int_equal(a.accepted, 3);
        assert_int_equal(a.nwarn, 0);
        assert_null(a.warn);
        proto_ack_free(&a);
        frame_done(&f);

        /* An error is still an error. */
        frame_init(&f);
        proto_error_pack(&f.pk, ps("b-e"), "no");
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_int_equal(a.type, PROTO_ERROR);
        assert_int_equal(a.nwarn, 0);
        assert_null(a.warn);
        proto_ack_free(&a);
        frame_done(&f);
}

/* An ack or checked of item count n: [type, "b", 0, 0, [], [], [], ...nil]. */
static void
pack_ack_items(struct frame *f, const char *type, uint32_t n)
{
        frame_init(f);
        msgpack_pack_array(&f->pk, n);
        pack_s(&f->pk, type);
        pack_s(&f->pk, "b");
        msgpack_pack_uint64(&f->pk, 0);
        msgpack_pack_uint64(&f->pk, 0);
        for (uint32_t i = 4; i < n && i < 7; i++)
                msgpack_pack_array(&f->pk, 0);
        for (uint32_t i = 7; i < n; i++)
                msgpack_pack_nil(&f->pk);
}

static void
test_ack3_refused(void **state)
{
        struct proto_ack a;
        struct frame f;
        char err[256], want[256];
        size_t at;

        (void)state;
        /* Item counts: ack 6 to 8, checked 7 or 8 (the eighth: stale_more). */
        pack_ack_items(&f, "ack", 9);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 0: array declares 9 items, at most 8 allowed at depth 0");
        assert_pstr(a.batch_id, NULL);
        frame_done(&f);
        pack_ack_items(&f, "checked", 9);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 0: array declares 9 items, at most 8 allowed at depth 0");
        frame_done(&f);
        pack_ack_items(&f, "checked", 6);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "checked message has 6 items, expected 7 to 8");
        frame_done(&f);
        pack_ack_items(&f, "ack", 6);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        proto_ack_free(&a);
        frame_done(&f);
        pack_ack_items(&f, "ack", 7);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        proto_ack_free(&a);
        frame_done(&f);
        pack_ack_items(&f, "error", 4);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "error message has 4 items, expected 3");
        frame_done(&f);

        /* The warnings list is a list. */
        frame_init(&f);
        proto_ack3_begin(&f.pk, PROTO_ACK, ps("b"), 0, 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 0);
        msgpack_pack_nil(&f.pk);
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "warnings is not an array");
        assert_pstr(a.batch_id, NULL);
        frame_done(&f);

        /* Warnings of 5 and 7 items, and one that is not an array, after a good one. */
        frame_init(&f);
        proto_ack3_begin(&f.pk, PROTO_CHECKED, ps("b"), 0, 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 0);
        proto_ack_warnings_begin(&f.pk, 2);
        proto_warning_pack(&f.pk, &warn3[0]);
        msgpack_pack_array(&f.pk, 5);
        for (int i = 0; i < 5; i++)
                pack_s(&f.pk, "x");
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "warning 1: has 5 items, expected 6");
        assert_null(a.warn);
        assert_int_equal(a.nwarn, 0);
        assert_null(a.rej);
        assert_null(a.stale);
        frame_done(&f);
        frame_init(&f);
        proto_ack3_begin(&f.pk, PROTO_CHECKED, ps("b"), 0, 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 0);
        proto_ack_warnings_begin(&f.pk, 2);
        proto_warning_pack(&f.pk, &warn3[0]);
        at = f.sb.size;
        msgpack_pack_array(&f.pk, 7);
        for (int i = 0; i < 7; i++)
                pack_s(&f.pk, "x");
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        snprintf(want, sizeof(want),
                 "byte %zu: array declares 7 items, at most 6 allowed at depth 2", at);
        assert_string_equal(err, want);
        frame_done(&f);
        frame_init(&f);
        proto_ack3_begin(&f.pk, PROTO_ACK, ps("b"), 0, 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 0);
        proto_ack_warnings_begin(&f.pk, 2);
        proto_warning_pack(&f.pk, &warn3[0]);
        pack_s(&f.pk, "x");
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "warning 1: not an array");
        frame_done(&f);

        /* A warning of the 4-item shape of a stale record: the arity is per list. */
        frame_init(&f);
        proto_ack3_begin(&f.pk, PROTO_ACK, ps("b"), 0, 0, 0, 0);
        proto_ack_stale_begin(&f.pk, 0);
        proto_ack_warnings_begin(&f.pk, 1);
        {
                struct proto_stale st = {
                    .line = 1, .value = ps("1"), .collector = ps("c"), .version = 1};

                proto_stale_pack(&f.pk, &st);
        }
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "warning 0: has 4 items, expected 6");
        frame_done(&f);

        /* Nil where a string is required: every field of a warning. */
        static const char *const names[6] = {"unit", "period", "rule", "message", "left", "right"};
        for (int k = 0; k < 6; k++) {
                struct proto_warning wn = warn3[0];
                struct pstr *fld[6] = {&wn.unit,    &wn.period, &wn.rule,
                                       &wn.message, &wn.left,   &wn.right};

                *fld[k] = ps(NULL);
                frame_init(&f);
                proto_ack3_begin(&f.pk, k % 2 ? PROTO_CHECKED : PROTO_ACK, ps("b"), 0, 0, 0, 0);
                proto_ack_stale_begin(&f.pk, 0);
                proto_ack_warnings_begin(&f.pk, 2);
                proto_warning_pack(&f.pk, &warn3[1]);
                proto_warning_pack(&f.pk, &wn);
                assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
                snprintf(want, sizeof(want), "warning 1: %s is not a string", names[k]);
                assert_string_equal(err, want);
                assert_null(a.warn);
                assert_int_equal(a.nwarn, 0);
                frame_done(&f);
        }

        /* The caps of a warning's fields. */
        char *big = malloc(PROTO_MAX_TEXT + 2);
        memset(big, 'z', PROTO_MAX_TEXT + 1);
        big[PROTO_MAX_TEXT + 1] = '\0';
        static const struct {
                int field;
                uint32_t len;
                const char *err;
        } caps[] = {
            {0, PROTO_MAX_FIELD + 1, "warning 0: unit longer than 256 bytes"},
            {1, PROTO_MAX_FIELD + 1, "warning 0: period longer than 256 bytes"},
            {2, PROTO_MAX_ID + 1, "warning 0: rule longer than 64 bytes"},
            {3, PROTO_MAX_TEXT + 1, "warning 0: message longer than 4096 bytes"},
            {4, PROTO_MAX_FIELD + 1, "warning 0: left longer than 256 bytes"},
            {5, PROTO_MAX_FIELD + 1, "warning 0: right longer than 256 bytes"},
            {2, PROTO_MAX_ID, NULL},
            {3, PROTO_MAX_TEXT, NULL},
            {5, PROTO_MAX_FIELD, NULL},
        };
        for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
                struct proto_warning wn = warn3[0];
                struct pstr *fld[6] = {&wn.unit,    &wn.period, &wn.rule,
                                       &wn.message, &wn.left,   &wn.right};

                fld[caps[i].field]->p = big;
                fld[caps[i].field]->len = caps[i].len;
                frame_init(&f);
                proto_ack3_begin(&f.pk, PROTO_ACK, ps("b"), 0, 0, 0, 0);
                proto_ack_stale_begin(&f.pk, 0);
                proto_ack_warnings_begin(&f.pk, 1);
                proto_warning_pack(&f.pk, &wn);
                assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)),
                                 caps[i].err == NULL ? 0 : -1);
                if (caps[i].err != NULL)
                        assert_string_equal(err, caps[i].err);
                else
                        assert_int_equal(a.nwarn, 1);
                proto_ack_free(&a);
                frame_done(&f);
        }
        free(big);

        /* A bad stale record is reported before a bad warning. */
        frame_init(&f);
        proto_ack3_begin(&f.pk, PROTO_ACK, ps("b"), 0, 0, 0, 0);
        {
                struct proto_stale st = {.line = 1, .value = ps(NULL), .collector = ps("c")};
                struct proto_warning wn = warn3[0];

                proto_ack_stale_begin(&f.pk, 1);
                proto_stale_pack(&f.pk, &st);
                wn.unit = ps(NULL);
                proto_ack_warnings_begin(&f.pk, 1);
                proto_warning_pack(&f.pk, &wn);
        }
        assert_int_equal(proto_ack_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "stale 0: value is not a string");
        frame_done(&f);
}

static const struct proto_action act3 = {.collector = PSL("盘锦一中"),
                                         .batch_id = PSL("act-0001"),
                                         .kind = PSL("explain"),
                                         .unit = PSL("211102001"),
                                         .period = PSL("2024"),
                                         .rule = PSL("R10"),
                                         .text = PSL("新建校区，学生增加")};

static void
test_action_roundtrip(void **state)
{
        struct proto_action a;
        struct frame f;
        char err[256] = "";

        (void)state;
        frame_init(&f);
        proto_action_pack(&f.pk, &act3);
        assert_int_equal((unsigned char)f.sb.data[0], 0x99);
        assert_int_equal((unsigned char)f.sb.data[8], 0x03);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_ACTION);
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_pstr(a.collector, "盘锦一中");
        assert_pstr(a.batch_id, "act-0001");
        assert_pstr(a.kind, "explain");
        assert_pstr(a.unit, "211102001");
        assert_pstr(a.period, "2024");
        assert_pstr(a.rule, "R10");
        assert_pstr(a.text, "新建校区，学生增加");
        assert_inside(a.collector, &f);
        assert_inside(a.batch_id, &f);
        assert_inside(a.text, &f);
        frame_done(&f);

        /* rule and text may be nil; an empty text is a text. */
        struct proto_action b = act3;
        b.rule = ps(NULL);
        b.text = ps(NULL);
        frame_init(&f);
        proto_action_pack(&f.pk, &b);
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_pstr(a.rule, NULL);
        assert_pstr(a.text, NULL);
        assert_pstr(a.kind, "explain");
        frame_done(&f);
        b.text = ps("");
        frame_init(&f);
        proto_action_pack(&f.pk, &b);
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_pstr(a.rule, NULL);
        assert_pstr(a.text, "");
        frame_done(&f);

        /* The longest fields there may be. */
        char *big = malloc(PROTO_MAX_TEXT);
        memset(big, 'y', PROTO_MAX_TEXT);
        b = act3;
        b.collector = (struct pstr){big, PROTO_MAX_ID};
        b.batch_id = (struct pstr){big, PROTO_MAX_ID};
        b.kind = (struct pstr){big, PROTO_MAX_ID};
        b.unit = (struct pstr){big, PROTO_MAX_FIELD};
        b.period = (struct pstr){big, PROTO_MAX_FIELD};
        b.rule = (struct pstr){big, PROTO_MAX_ID};
        b.text = (struct pstr){big, PROTO_MAX_TEXT};
        frame_init(&f);
        proto_action_pack(&f.pk, &b);
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_int_equal(a.text.len, PROTO_MAX_TEXT);
        assert_int_equal(a.unit.len, PROTO_MAX_FIELD);
        assert_int_equal(a.rule.len, PROTO_MAX_ID);
        frame_done(&f);
        free(big);
}

/* ["action", version, "c", batch_id, "explain", "u", "2024", "R1", "t"]. */
static void
pack_action_version(struct frame *f, uint64_t version, const char *batch_id)
{
        frame_init(f);
        msgpack_pack_array(&f->pk, 9);
        pack_s(&f->pk, "action");
        msgpack_pack_uint64(&f->pk, version);
        pack_s(&f->pk, "c");
        pack_s(&f->pk, batch_id);
        pack_s(&f->pk, "explain");
        pack_s(&f->pk, "u");
        pack_s(&f->pk, "2024");
        pack_s(&f->pk, "R1");
        pack_s(&f->pk, "t");
}

static void
test_action_refused(void **state)
{
        struct proto_action a;
        struct frame f;
        char err[256], want[256];

        (void)state;
        pack_action_version(&f, 3, "b-ok");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_pstr(a.batch_id, "b-ok");
        frame_done(&f);

        /* Version 3 only; the batch id is kept for the error reply. */
        pack_action_version(&f, 2, "b-two");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "protocol version 2 is no longer accepted (this server speaks 3): "
                                 "upgrade the client");
        assert_pstr(a.batch_id, "b-two");
        assert_inside(a.batch_id, &f);
        assert_pstr(a.collector, NULL);
        assert_pstr(a.kind, NULL);
        frame_done(&f);
        pack_action_version(&f, 1, "b-one");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "protocol version 1 is no longer accepted (this server speaks 3): "
                                 "upgrade the client");
        assert_pstr(a.batch_id, "b-one");
        frame_done(&f);
        pack_action_version(&f, 4, "b-four");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "unsupported protocol version 4 (this server speaks 3)");
        assert_pstr(a.batch_id, "b-four");
        frame_done(&f);
        /* An old client with an id that is not one still hears "upgrade", but no id. */
        pack_action_version(&f, 2, "a b");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "protocol version 2 is no longer accepted (this server speaks 3): "
                                 "upgrade the client");
        assert_pstr(a.batch_id, NULL);
        frame_done(&f);
        pack_action_version(&f, 3, "a b");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "batch_id holds byte 0x20: only printable ASCII is allowed");
        assert_pstr(a.batch_id, NULL);
        frame_done(&f);
        pack_action_version(&f, 3, "");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "batch_id is empty");
        assert_pstr(a.batch_id, NULL);
        frame_done(&f);

        /* Nil where a string is required (rule and text may be nil). */
        static const char *const names[5] = {"collector", "batch_id", "kind", "unit", "period"};
        for (int k = 0; k < 5; k++) {
                struct proto_action b = act3;
                struct pstr *fld[5] = {&b.collector, &b.batch_id, &b.kind, &b.unit, &b.period};

                *fld[k] = ps(NULL);
                frame_init(&f);
                proto_action_pack(&f.pk, &b);
                assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)),
                                 -1);
                snprintf(want, sizeof(want), "%s is not a string", names[k]);
                assert_string_equal(err, want);
                /* Refused for anything but the id: the id is kept. */
                assert_pstr(a.batch_id, k == 1 ? NULL : "act-0001");
                assert_pstr(a.kind, NULL);
                assert_pstr(a.collector, NULL);
                frame_done(&f);
        }

        /* Caps. */
        char *big = malloc(PROTO_MAX_TEXT + 1);
        memset(big, 'y', PROTO_MAX_TEXT + 1);
        static const struct {
                int field;
                uint32_t len;
                const char *err;
        } caps[] = {
            {0, PROTO_MAX_ID + 1, "collector longer than 64 bytes"},
            {1, PROTO_MAX_ID + 1, "batch_id longer than 64 bytes"},
            {2, PROTO_MAX_ID + 1, "kind longer than 64 bytes"},
            {3, PROTO_MAX_FIELD + 1, "unit longer than 256 bytes"},
            {4, PROTO_MAX_FIELD + 1, "period longer than 256 bytes"},
            {5, PROTO_MAX_ID + 1, "rule longer than 64 bytes"},
            {6, PROTO_MAX_TEXT + 1, "text longer than 4096 bytes"},
        };
        for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
                struct proto_action b = act3;
                struct pstr *fld[7] = {&b.collector, &b.batch_id, &b.kind, &b.unit,
                                       &b.period,    &b.rule,     &b.text};

                fld[caps[i].field]->p = big;
                fld[caps[i].field]->len = caps[i].len;
                frame_init(&f);
                proto_action_pack(&f.pk, &b);
                assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)),
                                 -1);
                assert_string_equal(err, caps[i].err);
                frame_done(&f);
        }
        free(big);

        /* Wrong item counts, and a list where a field goes. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 8);
        pack_s(&f.pk, "action");
        msgpack_pack_uint64(&f.pk, 3);
        for (int i = 0; i < 6; i++)
                pack_s(&f.pk, "x");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "action message has 8 items, expected 9");
        assert_pstr(a.batch_id, NULL);
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 10);
        pack_s(&f.pk, "action");
        msgpack_pack_uint64(&f.pk, 3);
        for (int i = 0; i < 8; i++)
                pack_s(&f.pk, "x");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 0: array declares 10 items, at most 9 allowed at depth 0");
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 9);
        pack_s(&f.pk, "action");
        msgpack_pack_uint64(&f.pk, 3);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "b");
        /* 0x99 "action" 3 "c" "b": the list's header at byte 13. */
        assert_int_equal(f.sb.size, 13);
        msgpack_pack_array(&f.pk, 1);
        pack_s(&f.pk, "explain");
        for (int i = 0; i < 4; i++)
                pack_s(&f.pk, "x");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "byte 13: array declares 1 items, at most 0 allowed at depth 1");
        frame_done(&f);
        /* An empty list passes the scan and is no kind. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 9);
        pack_s(&f.pk, "action");
        msgpack_pack_uint64(&f.pk, 3);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "b");
        msgpack_pack_array(&f.pk, 0);
        for (int i = 0; i < 4; i++)
                pack_s(&f.pk, "x");
        assert_int_equal(proto_action_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "kind is not a string");
        assert_pstr(a.batch_id, "b");
        frame_done(&f);
}

static const struct proto_batch bat3[2] = {
    {PSL("c1"), PSL("b-1"), PSL("f.csv")},
    {PSL("盘锦一中"), PSL("b-2"), {NULL, 0}},
};

static const struct proto_violation viol3[3] = {
    {.unit = PSL("211102001"),
     .period = PSL("2024"),
     .rule = PSL("R10"),
     .severity = PSL("warning"),
     .left = PSL("1500"),
     .right = PSL("1300.000000000000")},
    /* No longer fails. */
    {.unit = PSL("211103"),
     .period = PSL("2023"),
     .rule = PSL("R2"),
     .severity = PSL("error"),
     .left = {NULL, 0},
     .right = {NULL, 0}},
    {.unit = PSL("21"),
     .period = PSL("2024S1"),
     .rule = PSL("R3"),
     .severity = PSL(""),
     .left = PSL(""),
     .right = PSL("0")},
};

static const struct proto_action uact3[2] = {
    {.kind = PSL("explain"),
     .unit = PSL("211102001"),
     .period = PSL("2024"),
     .rule = PSL("R10"),
     .text = PSL("新建校区"),
     .at = 1733300000123456ULL},
    {.collector = PSL("ignored"),
     .batch_id = PSL("ignored"),
     .kind = PSL("return"),
     .unit = PSL("211103"),
     .period = PSL("2023"),
     .rule = {NULL, 0},
     .text = {NULL, 0},
     .at = 0},
};

/* A uow with two batches, no values, the given violations and actions. */
static void
pack_uow_rules(struct frame *f, const struct proto_violation *v, uint32_t nv, int full,
               const struct proto_action *a, const uint32_t *abatch, uint32_t na)
{
        frame_init(f);
        proto_uow_begin(&f->pk, 12, 3, "agg-1", 2);
        proto_uow_batch_pack(&f->pk, &bat3[0]);
        proto_uow_batch_pack(&f->pk, &bat3[1]);
        proto_uow_values_begin(&f->pk, 0);
        proto_uow_rejects_begin(&f->pk, 0);
        proto_uow_aggs_begin(&f->pk, 0);
        proto_uow_violations_begin(&f->pk, nv);
        for (uint32_t i = 0; i < nv; i++)
                proto_violation_pack(&f->pk, &v[i]);
        proto_uow_actions_begin(&f->pk, full, na);
        for (uint32_t i = 0; i < na; i++)
                proto_uow_action_pack(&f->pk, &a[i], abatch[i]);
}

static void
test_uow_rules_roundtrip(void **state)
{
        static const uint32_t abatch[2] = {1, 0};
        struct proto_uow u;
        struct frame f;
        char err[256] = "";

        (void)state;
        pack_uow_rules(&f, viol3, 3, 1, uact3, abatch, 2);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_UOW);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_true(u.seq == 12);
        assert_true(u.epoch == 3);
        assert_int_equal(u.nbatches, 2);
        assert_int_equal(u.nviolations, 3);
        assert_pstr(u.violations[0].unit, "211102001");
        assert_pstr(u.violations[0].period, "2024");
        assert_pstr(u.violations[0].rule, "R10");
        assert_pstr(u.violations[0].severity, "warning");
        assert_pstr(u.violations[0].left, "1500");
        assert_pstr(u.violations[0].right, "1300.000000000000");
        assert_inside(u.violations[0].right, &f);
        assert_pstr(u.violations[1].unit, "211103");
        assert_pstr(u.violations[1].rule, "R2");
        assert_pstr(u.violations[1].severity, "error");
        assert_pstr(u.violations[1].left, NULL);
        assert_pstr(u.violations[1].right, NULL);
        assert_pstr(u.violations[2].severity, "");
        assert_pstr(u.violations[2].left, "");
        assert_pstr(u.violations[2].right, "0");
        assert_int_equal(u.violations_full, 1);
        assert_int_equal(u.nactions, 2);
        /* Each action's collector and batch id are its batch's, by index. */
        assert_pstr(u.actions[0].collector, "盘锦一中");
        assert_pstr(u.actions[0].batch_id, "b-2");
        assert_true(u.actions[0].collector.p == u.batches[1].collector.p);
        assert_true(u.actions[0].batch_id.p == u.batches[1].batch_id.p);
        assert_pstr(u.actions[0].kind, "explain");
        assert_pstr(u.actions[0].unit, "211102001");
        assert_pstr(u.actions[0].period, "2024");
        assert_pstr(u.actions[0].rule, "R10");
        assert_pstr(u.actions[0].text, "新建校区");
        assert_true(u.actions[0].at == 1733300000123456ULL);
        assert_inside(u.actions[0].text, &f);
        /* The encoder ignores the action's own collector and batch id. */
        assert_pstr(u.actions[1].collector, "c1");
        assert_pstr(u.actions[1].batch_id, "b-1");
        assert_true(u.actions[1].batch_id.p == u.batches[0].batch_id.p);
        assert_pstr(u.actions[1].unit, "211103");
        assert_pstr(u.actions[1].kind, "return");
        assert_pstr(u.actions[1].rule, NULL);
        assert_pstr(u.actions[1].text, NULL);
        assert_true(u.actions[1].at == 0);
        proto_uow_free(&u);
        assert_null(u.violations);
        assert_null(u.actions);
        assert_int_equal(u.nviolations + u.nactions, 0);
        assert_int_equal(u.violations_full, 0);
        frame_done(&f);

        /* full 0, and the encoder writes any true full as 1. */
        static const int fulls[] = {0, 1, 7, -1};
        for (size_t i = 0; i < sizeof(fulls) / sizeof(fulls[0]); i++) {
                pack_uow_rules(&f, viol3, 1, fulls[i], uact3, abatch, 0);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
                assert_int_equal(u.violations_full, fulls[i] != 0);
                assert_int_equal(u.nviolations, 1);
                assert_int_equal(u.nactions, 0);
                assert_null(u.actions);
                proto_uow_free(&u);
                frame_done(&f);
        }

        /* A full list may be empty: there are no violations at all. */
        pack_uow_rules(&f, viol3, 0, 1, uact3, abatch, 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_int_equal(u.violations_full, 1);
        assert_int_equal(u.nviolations, 0);
        assert_null(u.violations);
        proto_uow_free(&u);
        frame_done(&f);

        /* Violations and actions next to values, rejects and aggs. */
        struct proto_value v = {.unit = ps("u"),
                                .period = ps("2024"),
                                .indicator = ps("i"),
                                .value = ps("1"),
                                .version = 5,
                                .flags = PROTO_VALUE_NEW};
        struct proto_reject rj = {.line = 4, .reason = ps("r")};
        struct proto_agg ag = {.unit = ps("u"),
                               .level = ps("school"),
                               .period = ps("2024"),
                               .indicator = ps("i"),
                               .value = ps("1"),
                               .nulls = PROTO_AGG_NULL_NUM | PROTO_AGG_NULL_DEN |
                                        PROTO_AGG_NULL_MIN | PROTO_AGG_NULL_MAX |
                                        PROTO_AGG_NULL_MEAN | PROTO_AGG_NULL_CV};
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 1);
        proto_uow_batch_pack(&f.pk, &bat3[0]);
        proto_uow_values_begin(&f.pk, 1);
        proto_value_pack(&f.pk, &v, 0);
        proto_uow_rejects_begin(&f.pk, 1);
        proto_reject_pack(&f.pk, &rj, 0);
        proto_uow_aggs_begin(&f.pk, 1);
        proto_agg_pack(&f.pk, &ag);
        proto_uow_violations_begin(&f.pk, 1);
        proto_violation_pack(&f.pk, &viol3[0]);
        proto_uow_actions_begin(&f.pk, 0, 1);
        proto_uow_action_pack(&f.pk, &uact3[0], 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_int_equal(u.nvalues, 1);
        assert_int_equal(u.nrejects, 1);
        assert_int_equal(u.naggs, 1);
        assert_int_equal(u.nviolations, 1);
        assert_int_equal(u.violations_full, 0);
        assert_int_equal(u.nactions, 1);
        assert_pstr(u.actions[0].batch_id, "b-1");
        assert_pstr(u.values[0].batch_id, "b-1");
        proto_uow_free(&u);
        frame_done(&f);
}

/* A uow of no batches whose trailing three items are given raw by pack. */
static void
pack_uow_tail(struct frame *f, uint32_t nbatches, void (*pack)(msgpack_packer *))
{
        frame_init(f);
        proto_uow_begin(&f->pk, 1, 1, "a", nbatches);
        for (uint32_t i = 0; i < nbatches; i++)
                proto_uow_batch_pack(&f->pk, &bat3[0]);
        proto_uow_values_begin(&f->pk, 0);
        proto_uow_rejects_begin(&f->pk, 0);
        proto_uow_aggs_begin(&f->pk, 0);
        pack(&f->pk);
}

static void
tail_full_two(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 2);
        msgpack_pack_array(pk, 0);
}

static void
tail_full_nil(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_nil(pk);
        msgpack_pack_array(pk, 0);
}

static void
tail_full_true(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_true(pk);
        msgpack_pack_array(pk, 0);
}

static void
tail_full_negative(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_int64(pk, -1);
        msgpack_pack_array(pk, 0);
}

static void
tail_full_huge(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 4294967297ULL);
        msgpack_pack_array(pk, 0);
}

static void
tail_violations_nil(msgpack_packer *pk)
{
        msgpack_pack_nil(pk);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 0);
}

static void
tail_actions_nil(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_nil(pk);
}

static void
tail_violation_five(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 5);
        for (int i = 0; i < 5; i++)
                pack_s(pk, "x");
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 0);
}

static void
tail_violation_scalar(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 2);
        proto_violation_pack(pk, &viol3[0]);
        pack_s(pk, "x");
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 0);
}

static void
tail_action_seven(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 7);
        msgpack_pack_uint64(pk, 0);
        for (int i = 0; i < 6; i++)
                pack_s(pk, "x");
}

static void
tail_action_eight(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 8);
        msgpack_pack_uint64(pk, 0);
        for (int i = 0; i < 5; i++)
                pack_s(pk, "x");
        msgpack_pack_uint64(pk, 1);
        msgpack_pack_uint64(pk, 1);
}

static void
tail_action_at_nil(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 7);
        msgpack_pack_uint64(pk, 0);
        for (int i = 0; i < 5; i++)
                pack_s(pk, "x");
        msgpack_pack_nil(pk);
}

static void
tail_action_at_huge(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 7);
        msgpack_pack_uint64(pk, 0);
        for (int i = 0; i < 5; i++)
                pack_s(pk, "x");
        msgpack_pack_uint64(pk, 9223372036854775808ULL);
}

/* The action of before the review round: six items, no time. */
static void
tail_action_six(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 6);
        msgpack_pack_uint64(pk, 0);
        pack_s(pk, "explain");
        pack_s(pk, "u");
        pack_s(pk, "2024");
        pack_s(pk, "R1");
        pack_s(pk, "t");
}

static void
tail_action_negative_batch(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 6);
        msgpack_pack_int64(pk, -1);
        for (int i = 0; i < 5; i++)
                pack_s(pk, "x");
}

static void
tail_action_string_batch(msgpack_packer *pk)
{
        msgpack_pack_array(pk, 0);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 6);
        pack_s(pk, "0");
        for (int i = 0; i < 5; i++)
                pack_s(pk, "x");
}

static void
test_uow_rules_refused(void **state)
{
        struct proto_uow u;
        struct frame f;
        char err[256], want[256];

        (void)state;
        /* Only one of left and right nil, either way round, after a good one. */
        for (int k = 0; k < 2; k++) {
                struct proto_violation v[2] = {viol3[1], viol3[0]};

                if (k == 0)
                        v[1].left = ps(NULL);
                else
                        v[1].right = ps(NULL);
                pack_uow_rules(&f, v, 2, 0, NULL, NULL, 0);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
                assert_string_equal(
                    err, "violation 1: left and right must both be nil or both be strings");
                assert_null(u.violations);
                assert_int_equal(u.nviolations, 0);
                assert_null(u.batches);
                frame_done(&f);
        }

        /* Nil where a string is required: unit, period, rule and severity. */
        static const char *const names[4] = {"unit", "period", "rule", "severity"};
        for (int k = 0; k < 4; k++) {
                struct proto_violation v = viol3[0];
                struct pstr *fld[4] = {&v.unit, &v.period, &v.rule, &v.severity};

                *fld[k] = ps(NULL);
                pack_uow_rules(&f, &v, 1, 1, NULL, NULL, 0);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
                snprintf(want, sizeof(want), "violation 0: %s is not a string", names[k]);
                assert_string_equal(err, want);
                assert_null(u.violations);
                frame_done(&f);
        }

        /* Caps of a violation's fields. */
        char *big = malloc(PROTO_MAX_FIELD + 1);
        memset(big, 'w', PROTO_MAX_FIELD + 1);
        static const struct {
                int field;
                uint32_t len;
                const char *err;
        } caps[] = {
            {0, PROTO_MAX_FIELD + 1, "violation 0: unit longer than 256 bytes"},
            {1, PROTO_MAX_FIELD + 1, "violation 0: period longer than 256 bytes"},
            {2, PROTO_MAX_ID + 1, "violation 0: rule longer than 64 bytes"},
            {3, PROTO_MAX_ID + 1, "violation 0: severity longer than 64 bytes"},
            {4, PROTO_MAX_FIELD + 1, "violation 0: left longer than 256 bytes"},
            {5, PROTO_MAX_FIELD + 1, "violation 0: right longer than 256 bytes"},
        };
        for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
                struct proto_violation v = viol3[0];
                struct pstr *fld[6] = {&v.unit, &v.period, &v.rule, &v.severity, &v.left, &v.right};

                fld[caps[i].field]->p = big;
                fld[caps[i].field]->len = caps[i].len;
                pack_uow_rules(&f, &v, 1, 0, NULL, NULL, 0);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
                assert_string_equal(err, caps[i].err);
                frame_done(&f);
        }
        free(big);

        /* full is 0 or 1, an integer. */
        static const struct {
                void (*pack)(msgpack_packer *);
                const char *err;
        } tails[] = {
            {tail_full_two, "full is 2, not 0 or 1"},
            {tail_full_nil, "full is not an integer"},
            {tail_full_true, "full is not an integer"},
            {tail_full_negative, "full is negative"},
            {tail_full_huge, "full 4294967297 out of range"},
            {tail_violations_nil, "violations is not an array"},
            {tail_actions_nil, "actions is not an array"},
            {tail_violation_five, "violation 0: has 5 items, expected 6"},
            {tail_violation_scalar, "violation 1: not an array"},
            {tail_action_seven, "action 0: at is not an integer"},
            {tail_action_eight, "action 0: has 8 items, expected 6 to 7"},
            {tail_action_at_nil, "action 0: at is not an integer"},
            {tail_action_at_huge, "action 0: at 9223372036854775808 out of range"},
            {tail_action_negative_batch, "action 0: batch is negative"},
            {tail_action_string_batch, "action 0: batch is not an integer"},
        };
        for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
                pack_uow_tail(&f, 1, tails[i].pack);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
                assert_string_equal(err, tails[i].err);
                assert_null(u.batches);
                assert_null(u.violations);
                assert_null(u.actions);
                assert_int_equal(u.violations_full, 0);
                frame_done(&f);
        }

        /* A six-item action is taken, with no time (0). */
        pack_uow_tail(&f, 1, tail_action_six);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), 0);
        assert_int_equal(u.nactions, 1);
        assert_pstr(u.actions[0].kind, "explain");
        assert_pstr(u.actions[0].text, "t");
        assert_true(u.actions[0].at == 0);
        proto_uow_free(&u);
        frame_done(&f);

        /* An action naming a batch out of range: past the table, or no table. */
        static const uint32_t two[2] = {0, 2};
        pack_uow_rules(&f, NULL, 0, 0, uact3, two, 2);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "action 1: batch 2 out of range (the uow has 2)");
        assert_null(u.actions);
        assert_int_equal(u.nactions, 0);
        assert_null(u.batches);
        frame_done(&f);
        frame_init(&f);
        proto_uow_begin(&f.pk, 1, 1, "a", 0);
        proto_uow_values_begin(&f.pk, 0);
        proto_uow_rejects_begin(&f.pk, 0);
        proto_uow_aggs_begin(&f.pk, 0);
        proto_uow_violations_begin(&f.pk, 0);
        proto_uow_actions_begin(&f.pk, 0, 1);
        proto_uow_action_pack(&f.pk, &uact3[0], 0);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "action 0: batch 0 out of range (the uow has 0)");
        assert_null(u.actions);
        frame_done(&f);
        static const uint32_t big_index[1] = {UINT32_MAX};
        pack_uow_rules(&f, NULL, 0, 0, uact3, big_index, 1);
        assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
        assert_string_equal(err, "action 0: batch 4294967295 out of range (the uow has 2)");
        frame_done(&f);

        /* Nil where a string is required in an action: kind, unit, period. */
        static const char *const anames[3] = {"kind", "unit", "period"};
        static const uint32_t zero[1] = {0};
        for (int k = 0; k < 3; k++) {
                struct proto_action a = uact3[0];
                struct pstr *fld[3] = {&a.kind, &a.unit, &a.period};

                *fld[k] = ps(NULL);
                pack_uow_rules(&f, viol3, 1, 0, &a, zero, 1);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
                snprintf(want, sizeof(want), "action 0: %s is not a string", anames[k]);
                assert_string_equal(err, want);
                assert_null(u.actions);
                assert_null(u.violations);
                frame_done(&f);
        }

        /* A bad violation is reported before a bad action. */
        {
                struct proto_violation v = viol3[0];

                v.right = ps(NULL);
                pack_uow_rules(&f, &v, 1, 0, uact3, two + 1, 1);
                assert_int_equal(proto_uow_decode(f.sb.data, f.sb.size, &u, err, sizeof(err)), -1);
                assert_string_equal(
                    err, "violation 0: left and right must both be nil or both be strings");
                frame_done(&f);
        }
}

/* The new type names, and names one byte short and long. */
static void
test_peek_v3(void **state)
{
        static const unsigned char check[] = {0x96, 0xa5, 'c', 'h', 'e', 'c', 'k', 0x03};
        static const unsigned char checked[] = {0x97, 0xa7, 'c', 'h', 'e', 'c', 'k', 'e', 'd'};
        static const unsigned char checke[] = {0x97, 0xa6, 'c', 'h', 'e', 'c', 'k', 'e'};
        static const unsigned char chec[] = {0x96, 0xa4, 'c', 'h', 'e', 'c', 0x03};
        static const unsigned char action[] = {0x99, 0xa6, 'a', 'c', 't', 'i', 'o', 'n'};
        static const unsigned char actions[] = {0x99, 0xa7, 'a', 'c', 't', 'i', 'o', 'n', 's'};

        (void)state;
        assert_int_equal(proto_peek(check, sizeof(check)), PROTO_CHECK);
        assert_int_equal(proto_peek(checked, sizeof(checked)), PROTO_CHECKED);
        assert_int_equal(proto_peek(checked, 8), PROTO_BAD);
        assert_int_equal(proto_peek(checke, sizeof(checke)), PROTO_BAD);
        assert_int_equal(proto_peek(chec, sizeof(chec)), PROTO_BAD);
        assert_int_equal(proto_peek(action, sizeof(action)), PROTO_ACTION);
        assert_int_equal(proto_peek(actions, sizeof(actions)), PROTO_BAD);
        assert_int_equal(PROTO_LAST, PROTO_TOLD);
}

/*
 * Every proper prefix of each message that version 3 added or changed is
 * refused, each in a buffer of exactly its size, and so is a trailing byte.
 */
static void
test_truncated_v3(void **state)
{
        static const uint32_t abatch[2] = {1, 0};
        struct frame f[5];
        const enum proto_type as[5] = {PROTO_CHECK, PROTO_CHECKED, PROTO_ACK, PROTO_ACTION,
                                       PROTO_UOW};
        unsigned char *buf;
        char err[256];

        (void)state;
        frame_init(&f[0]);
        proto_check_begin(&f[0].pk, "c", "b-0001", "s.csv", 2);
        proto_record_pack(&f[0].pk, &rec3[0]);
        proto_record_pack(&f[0].pk, &rec3[1]);
        pack_ack3(&f[1], PROTO_CHECKED, "b-0001");
        pack_ack3(&f[2], PROTO_ACK, "b-0001");
        frame_init(&f[3]);
        proto_action_pack(&f[3].pk, &act3);
        pack_uow_rules(&f[4], viol3, 3, 1, uact3, abatch, 2);
        for (int i = 0; i < 5; i++) {
                assert_int_equal(decode_as(as[i], f[i].sb.data, f[i].sb.size, err, sizeof(err)), 0);
                for (size_t n = 1; n < f[i].sb.size; n++) {
                        buf = malloc(n);
                        memcpy(buf, f[i].sb.data, n);
                        assert_int_equal(decode_as(as[i], buf, n, err, sizeof(err)), -1);
                        assert_true(strlen(err) > 0);
                        free(buf);
                }
                buf = malloc(f[i].sb.size + 1);
                memcpy(buf, f[i].sb.data, f[i].sb.size);
                buf[f[i].sb.size] = 0xc0;
                assert_int_equal(decode_as(as[i], buf, f[i].sb.size + 1, err, sizeof(err)), -1);
                assert_string_equal(err, "1 trailing bytes after the message");
                free(buf);
                frame_done(&f[i]);
        }
}

/* ["reviews", [[unit, period, state, by, at, comment]...]] and ["notes", [[unit, period,
 * rule]...]]. */
static void
test_reviews_notes_roundtrip(void **state)
{
        static const unsigned char note_bytes[] = {0x92, 0xa5, 'n',  'o', 't',  'e', 's',
                                                   0x91, 0x93, 0xa1, 'u', 0xa4, '2', '0',
                                                   '2',  '4',  0xa3, 'R', '1',  '0'};
        const struct proto_review_row rv[3] = {
            {ps("2121100001"), ps("2024"), ps("approved"), ps("县教育局"), ps("核对无误"),
             1733300000123456ULL},
            {ps("212110"), ps("2024"), ps("open"), ps("市教育局"), ps("returned with 2121100001"),
             1},
            {ps("2121100002"), ps("2024S1"), ps("open"), ps(NULL), ps(NULL), 0},
        };
        const struct proto_note_row nt = {ps("u"), ps("2024"), ps("R10")};
        struct proto_review_row *r;
        struct proto_note_row *n;
        struct frame f;
        uint32_t cnt;
        char err[256] = "";

        (void)state;
        frame_init(&f);
        proto_reviews_begin(&f.pk, 3);
        for (int i = 0; i < 3; i++)
                proto_review_row_pack(&f.pk, &rv[i]);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_REVIEWS);
        assert_int_equal(proto_reviews_decode(f.sb.data, f.sb.size, &r, &cnt, err, sizeof(err)), 0);
        assert_int_equal(cnt, 3);
        assert_pstr(r[0].unit, "2121100001");
        assert_pstr(r[0].period, "2024");
        assert_pstr(r[0].state, "approved");
        assert_pstr(r[0].by, "县教育局");
        assert_pstr(r[0].comment, "核对无误");
        assert_true(r[0].at == 1733300000123456ULL);
        assert_inside(r[0].comment, &f);
        assert_pstr(r[1].comment, "returned with 2121100001");
        assert_true(r[1].at == 1);
        assert_pstr(r[2].by, NULL);
        assert_pstr(r[2].comment, NULL);
        assert_true(r[2].at == 0);
        free(r);
        frame_done(&f);

        /* at 0 travels as nil. */
        frame_init(&f);
        proto_review_row_pack(&f.pk, &rv[2]);
        assert_int_equal((unsigned char)f.sb.data[f.sb.size - 2], 0xc0);
        assert_int_equal((unsigned char)f.sb.data[f.sb.size - 1], 0xc0);
        frame_done(&f);

        frame_init(&f);
        proto_notes_begin(&f.pk, 1);
        proto_note_row_pack(&f.pk, &nt);
        assert_int_equal(f.sb.size, sizeof(note_bytes));
        assert_memory_equal(f.sb.data, note_bytes, sizeof(note_bytes));
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_NOTES);
        assert_int_equal(proto_notes_decode(f.sb.data, f.sb.size, &n, &cnt, err, sizeof(err)), 0);
        assert_int_equal(cnt, 1);
        assert_pstr(n[0].unit, "u");
        assert_pstr(n[0].period, "2024");
        assert_pstr(n[0].rule, "R10");
        free(n);
        frame_done(&f);

        frame_init(&f);
        proto_notes_begin(&f.pk, 0);
        assert_int_equal(proto_notes_decode(f.sb.data, f.sb.size, &n, &cnt, err, sizeof(err)), 0);
        assert_int_equal(cnt, 0);
        assert_null(n);
        frame_done(&f);
}

static void
test_reviews_notes_refused(void **state)
{
        struct proto_review_row *r;
        struct proto_note_row *n;
        struct frame f;
        uint32_t cnt;
        char err[256];

        (void)state;
        /* Nil state; a negative time; five items; a string time. */
        frame_init(&f);
        proto_reviews_begin(&f.pk, 2);
        proto_review_row_pack(
            &f.pk, &(struct proto_review_row){ps("u"), ps("p"), ps("open"), ps(NULL), ps(NULL), 0});
        proto_review_row_pack(
            &f.pk, &(struct proto_review_row){ps("u"), ps("p"), ps(NULL), ps(NULL), ps(NULL), 0});
        assert_int_equal(proto_reviews_decode(f.sb.data, f.sb.size, &r, &cnt, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "row 1: state is not a string");
        assert_null(r);
        assert_int_equal(cnt, 0);
        frame_done(&f);
        frame_init(&f);
        proto_reviews_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 6);
        pack_s(&f.pk, "u");
        pack_s(&f.pk, "p");
        pack_s(&f.pk, "open");
        msgpack_pack_nil(&f.pk);
        msgpack_pack_int64(&f.pk, -5);
        msgpack_pack_nil(&f.pk);
        assert_int_equal(proto_reviews_decode(f.sb.data, f.sb.size, &r, &cnt, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "row 0: at is negative");
        frame_done(&f);
        frame_init(&f);
        proto_reviews_begin(&f.pk, 1);
        msgpack_pack_array(&f.pk, 5);
        for (int i = 0; i < 5; i++)
                pack_s(&f.pk, "x");
        assert_int_equal(proto_reviews_decode(f.sb.data, f.sb.size, &r, &cnt, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "row 0: has 5 items, expected 6");
        frame_done(&f);
        /* A rows message is not a reviews message, nor a notes one. */
        frame_init(&f);
        proto_rows_begin(&f.pk, 0);
        assert_int_equal(proto_reviews_decode(f.sb.data, f.sb.size, &r, &cnt, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "expected message type \"reviews\"");
        assert_int_equal(proto_notes_decode(f.sb.data, f.sb.size, &n, &cnt, err, sizeof(err)), -1);
        assert_string_equal(err, "expected message type \"notes\"");
        frame_done(&f);
        /* A note's rule is capped as a rule. */
        char big[PROTO_MAX_ID + 1];
        memset(big, 'R', sizeof(big));
        frame_init(&f);
        proto_notes_begin(&f.pk, 1);
        proto_note_row_pack(&f.pk, &(struct proto_note_row){ps("u"), ps("p"), {big, sizeof(big)}});
        assert_int_equal(proto_notes_decode(f.sb.data, f.sb.size, &n, &cnt, err, sizeof(err)), -1);
        assert_string_equal(err, "row 0: rule longer than 64 bytes");
        assert_null(n);
        frame_done(&f);
}

/* ["ask", 3, collector, batch_id, unit, period] and its answer "told". */
static void
test_ask_told_roundtrip(void **state)
{
        static const unsigned char ask_bytes[] = {0x96, 0xa3, 'a', 's',  'k', 0x03, 0xa1,
                                                  'c',  0xa1, 'b', 0xa1, 'u', 0xa1, 'p'};
        const struct proto_ask q = {ps("c"), ps("b"), ps("u"), ps("p")};
        struct pstr bl[2] = {ps("indicator teachers (专任教师数) not stored"),
                             ps("warning R10 (在校生数同比) not explained")};
        struct proto_told t = {.batch_id = ps("ask-1"),
                               .state = ps("open"),
                               .by = ps("县教育局"),
                               .comment = ps("第7行有误"),
                               .at = 1733300000000001ULL,
                               .nblockers = 2,
                               .blockers = bl};
        struct proto_ask a;
        struct proto_told d;
        struct frame f;
        char err[256] = "";

        (void)state;
        frame_init(&f);
        proto_ask_pack(&f.pk, &q);
        assert_int_equal(f.sb.size, sizeof(ask_bytes));
        assert_memory_equal(f.sb.data, ask_bytes, sizeof(ask_bytes));
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_ASK);
        assert_int_equal(proto_ask_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), 0);
        assert_pstr(a.collector, "c");
        assert_pstr(a.batch_id, "b");
        assert_pstr(a.unit, "u");
        assert_pstr(a.period, "p");
        assert_inside(a.period, &f);
        frame_done(&f);

        frame_init(&f);
        proto_told_pack(&f.pk, &t);
        assert_int_equal(proto_peek(f.sb.data, f.sb.size), PROTO_TOLD);
        assert_int_equal(proto_told_decode(f.sb.data, f.sb.size, &d, err, sizeof(err)), 0);
        assert_pstr(d.batch_id, "ask-1");
        assert_pstr(d.state, "open");
        assert_pstr(d.by, "县教育局");
        assert_pstr(d.comment, "第7行有误");
        assert_true(d.at == 1733300000000001ULL);
        assert_int_equal(d.nblockers, 2);
        assert_pstr(d.blockers[0], "indicator teachers (专任教师数) not stored");
        assert_pstr(d.blockers[1], "warning R10 (在校生数同比) not explained");
        assert_inside(d.blockers[1], &f);
        proto_told_free(&d);
        assert_null(d.blockers);
        assert_int_equal(d.nblockers, 0);
        frame_done(&f);

        /* Nobody yet: by, at and comment nil; no blockers. */
        t.by = ps(NULL);
        t.comment = ps(NULL);
        t.at = 0;
        t.nblockers = 0;
        t.state = ps("approved");
        frame_init(&f);
        proto_told_pack(&f.pk, &t);
        assert_int_equal(proto_told_decode(f.sb.data, f.sb.size, &d, err, sizeof(err)), 0);
        assert_pstr(d.state, "approved");
        assert_pstr(d.by, NULL);
        assert_pstr(d.comment, NULL);
        assert_true(d.at == 0);
        assert_int_equal(d.nblockers, 0);
        assert_null(d.blockers);
        proto_told_free(&d);
        frame_done(&f);
}

static void
test_ask_told_refused(void **state)
{
        struct proto_ask a;
        struct proto_told d;
        struct frame f;
        char err[256];

        (void)state;
        /* An ask without its period; the batch id is still kept. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 6);
        pack_s(&f.pk, "ask");
        msgpack_pack_uint64(&f.pk, 3);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "b-9");
        pack_s(&f.pk, "u");
        msgpack_pack_nil(&f.pk);
        assert_int_equal(proto_ask_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "period is not a string");
        assert_pstr(a.batch_id, "b-9");
        assert_pstr(a.unit, NULL);
        frame_done(&f);
        /* Version 2 has no ask. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 6);
        pack_s(&f.pk, "ask");
        msgpack_pack_uint64(&f.pk, 2);
        pack_s(&f.pk, "c");
        pack_s(&f.pk, "b-9");
        pack_s(&f.pk, "u");
        pack_s(&f.pk, "p");
        assert_int_equal(proto_ask_decode(f.sb.data, f.sb.size, &a, err, sizeof(err)), -1);
        assert_string_equal(err, "protocol version 2 is no longer accepted (this server speaks 3): "
                                 "upgrade the client");
        frame_done(&f);
        /* A told whose blocker is not a string; one with too many blockers. */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 7);
        pack_s(&f.pk, "told");
        pack_s(&f.pk, "b");
        pack_s(&f.pk, "open");
        msgpack_pack_nil(&f.pk);
        msgpack_pack_nil(&f.pk);
        msgpack_pack_nil(&f.pk);
        msgpack_pack_array(&f.pk, 2);
        pack_s(&f.pk, "x");
        msgpack_pack_uint64(&f.pk, 1);
        assert_int_equal(proto_told_decode(f.sb.data, f.sb.size, &d, err, sizeof(err)), -1);
        assert_string_equal(err, "blocker 1: blocker is not a string");
        assert_null(d.blockers);
        assert_int_equal(d.nblockers, 0);
        frame_done(&f);
        frame_init(&f);
        msgpack_pack_array(&f.pk, 7);
        pack_s(&f.pk, "told");
        pack_s(&f.pk, "b");
        pack_s(&f.pk, "open");
        msgpack_pack_nil(&f.pk);
        msgpack_pack_nil(&f.pk);
        msgpack_pack_nil(&f.pk);
        msgpack_pack_array(&f.pk, PROTO_MAX_BLOCKERS + 1);
        for (int i = 0; i < PROTO_MAX_BLOCKERS + 1; i++)
                pack_s(&f.pk, "x");
        assert_int_equal(proto_told_decode(f.sb.data, f.sb.size, &d, err, sizeof(err)), -1);
        assert_true(strstr(err, "at most 1000 allowed at depth 1") != NULL);
        assert_null(d.blockers);
        frame_done(&f);
        /* A told of six items (no blockers). */
        frame_init(&f);
        msgpack_pack_array(&f.pk, 6);
        pack_s(&f.pk, "told");
        pack_s(&f.pk, "b");
        pack_s(&f.pk, "open");
        msgpack_pack_nil(&f.pk);
        msgpack_pack_nil(&f.pk);
        msgpack_pack_nil(&f.pk);
        assert_int_equal(proto_told_decode(f.sb.data, f.sb.size, &d, err, sizeof(err)), -1);
        assert_string_equal(err, "told message has 6 items, expected 7");
        frame_done(&f);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_submit_roundtrip),
            cmocka_unit_test(test_submit_empty_and_source),
            cmocka_unit_test(test_ack_and_error_roundtrip),
            cmocka_unit_test(test_hello_roundtrip),
            cmocka_unit_test(test_uow_roundtrip),
            cmocka_unit_test(test_uow_empty),
            cmocka_unit_test(test_uow_batches_roundtrip),
            cmocka_unit_test(test_uow_batch_out_of_range),
            cmocka_unit_test(test_uow_batches_without_values),
            cmocka_unit_test(test_uow_batch_fields),
            cmocka_unit_test(test_rows_ready_result_roundtrip),
            cmocka_unit_test(test_peek),
            cmocka_unit_test(test_field_caps),
            cmocka_unit_test(test_batch_cap),
            cmocka_unit_test(test_declared_million),
            cmocka_unit_test(test_huge_declared_lengths),
            cmocka_unit_test(test_deep_nesting),
            cmocka_unit_test(test_truncated_and_trailing),
            cmocka_unit_test(test_truncated_uow),
            cmocka_unit_test(test_invalid_bytes),
            cmocka_unit_test(test_wrong_message),
            cmocka_unit_test(test_versions),
            cmocka_unit_test(test_integer_ranges),
            cmocka_unit_test(test_record_rules),
            cmocka_unit_test(test_floats_and_flags),
            cmocka_unit_test(test_invalid_types_everywhere),
            cmocka_unit_test(test_nil_where_required),
            cmocka_unit_test(test_no_error_buffer),
            cmocka_unit_test(test_integer_encodings),
            cmocka_unit_test(test_version_encodings),
            cmocka_unit_test(test_string_encodings),
            cmocka_unit_test(test_float_encodings),
            cmocka_unit_test(test_empty_strings),
            cmocka_unit_test(test_uow_lists),
            cmocka_unit_test(test_maps_refused),
            cmocka_unit_test(test_batch_id_rules),
            cmocka_unit_test(test_error_names_line),
            cmocka_unit_test(test_batch_id_kept_on_failure),
            cmocka_unit_test(test_ack_stale_roundtrip),
            cmocka_unit_test(test_uow_epoch),
            cmocka_unit_test(test_rows_collector),
            cmocka_unit_test(test_ready_epoch),
            cmocka_unit_test(test_fenced),
            cmocka_unit_test(test_truncated_v2),
            cmocka_unit_test(test_invalid_batch_id_not_kept),
            cmocka_unit_test(test_v1_told_to_upgrade_whatever_its_batch_id),
            cmocka_unit_test(test_fenced_any_string_width),
            cmocka_unit_test(test_check_roundtrip),
            cmocka_unit_test(test_check_refused),
            cmocka_unit_test(test_ack3_and_checked_roundtrip),
            cmocka_unit_test(test_ack3_refused),
            cmocka_unit_test(test_action_roundtrip),
            cmocka_unit_test(test_action_refused),
            cmocka_unit_test(test_uow_rules_roundtrip),
            cmocka_unit_test(test_uow_rules_refused),
            cmocka_unit_test(test_peek_v3),
            cmocka_unit_test(test_truncated_v3),
            cmocka_unit_test(test_reviews_notes_roundtrip),
            cmocka_unit_test(test_reviews_notes_refused),
            cmocka_unit_test(test_ask_told_roundtrip),
            cmocka_unit_test(test_ask_told_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
