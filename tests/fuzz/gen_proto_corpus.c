/*
 * Writes the seed corpus of fuzz_proto into the directory given as the
 * only argument: a few valid messages of every type, packed with the real
 * encoders, and hostile frames (truncated, wrong types, huge declared
 * lengths, deep nesting, the msgpack-c 4.0.0 streaming-unpacker crash,
 * batch indexes out of range), and the version-1 forms of the messages
 * version 2 changed and the uow of before its batch table, which are
 * refused.  The output is checked in under tests/fuzz/corpus/proto/, beside
 * the fuzzer's own finds (found-*); rerun this after changing the wire
 * format:
 *   ninja -C build tests/gen_proto_corpus && build/tests/gen_proto_corpus tests/fuzz/corpus/proto
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static const char *outdir;

static void
put(const char *name, const void *buf, size_t len)
{
        char path[4096];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", outdir, name);
        fp = fopen(path, "wb");
        if (fp == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
                fprintf(stderr, "gen_proto_corpus: %s: %s\n", path, strerror(errno));
                exit(1);
        }
}

/* A frame being packed; done() writes it out and resets the buffer. */
static msgpack_sbuffer sb;
static msgpack_packer pk;

static void
start(void)
{
        msgpack_sbuffer_clear(&sb);
}

static void
done(const char *name)
{
        put(name, sb.data, sb.size);
}

static void
pack_s(const char *s)
{
        msgpack_pack_str(&pk, strlen(s));
        msgpack_pack_str_body(&pk, s, strlen(s));
}

static void
valid_messages(void)
{
        struct proto_record recs[] = {
            {2,
             1700000000000000ULL,
             pstr_of("211102001"),
             pstr_of("2024"),
             pstr_of("enrol_primary"),
             pstr_of("1234"),
             {NULL, 0},
             {NULL, 0}},
            {3,
             1700000000000001ULL,
             pstr_of("211103"),
             pstr_of("2024S1"),
             pstr_of("floor_area"),
             pstr_of("12.5000"),
             {NULL, 0},
             {NULL, 0}},
            {4,
             1700000000000002ULL,
             {NULL, 0},
             {NULL, 0},
             {NULL, 0},
             {NULL, 0},
             pstr_of("a,\"b"),
             pstr_of("unterminated quote")},
        };
        struct proto_batch bt[] = {
            {pstr_of("c1"), pstr_of("b1"), pstr_of("f.csv")},
            {pstr_of("盘锦一中"), pstr_of("b-0002"), {NULL, 0}},
        };
        /* The encoder takes the batch's index; collector and batch_id are left nil. */
        struct proto_value v = {.unit = pstr_of("211102001"),
                                .period = pstr_of("2024"),
                                .indicator = pstr_of("teachers"),
                                .value = pstr_of("88"),
                                .version = 42,
                                .flags = PROTO_VALUE_NEW | PROTO_VALUE_FINAL};
        struct proto_reject rj = {.line = 12,
                                  .unit = pstr_of("999"),
                                  .period = pstr_of("2024"),
                                  .indicator = pstr_of("teachers"),
                                  .raw = pstr_of("999,2024,teachers,5"),
                                  .reason = pstr_of("unknown unit 999")};
        struct proto_agg ag[] = {
            {pstr_of("211100"), pstr_of("city"), pstr_of("2024"), pstr_of("pupil_teacher"),
             pstr_of("16.5"), pstr_of("1650"), pstr_of("100"), 4, 12.25, 20.5, 16.5, 0.125, 0,
             pstr_of("stage"), pstr_of("primary")},
            {pstr_of("211102"),
             pstr_of("district"),
             pstr_of("2024"),
             pstr_of("enrol_rate"),
             {NULL, 0},
             pstr_of("10"),
             pstr_of("0"),
             1,
             0,
             0,
             0,
             0,
             PROTO_AGG_NULL_VALUE | PROTO_AGG_NULL_MIN | PROTO_AGG_NULL_MAX | PROTO_AGG_NULL_MEAN |
                 PROTO_AGG_NULL_CV,
             {NULL, 0},
             {NULL, 0}},
        };
        struct proto_row rows[] = {
            {pstr_of("211102001"), pstr_of("2024"), pstr_of("teachers"), pstr_of("88"), 5,
             pstr_of("c1")},
            {pstr_of("211103001"), pstr_of("202409"), pstr_of("floor_area"), pstr_of("1000.5"), 6,
             pstr_of("盘锦一中")},
        };
        struct proto_stale stale[] = {
            {17, pstr_of("1234"), pstr_of("c2"), 1741000000000000ULL * 1024 + 16},
            {18, pstr_of("12.5000"), pstr_of("盘锦一中"), 1741000000000000ULL * 1024 + 17},
        };

        start();
        proto_submit_begin(&pk, "盘锦一中", "b-0001", "schools.csv", 3);
        for (int i = 0; i < 3; i++)
                proto_record_pack(&pk, &recs[i]);
        done("submit-3");
        start();
        proto_submit_begin(&pk, "c", "b", "", 0);
        done("submit-empty");
        start();
        proto_submit_begin(&pk, "c", "b", "f.csv", 1);
        proto_record_pack(&pk, &recs[2]);
        done("submit-rejected-row");

        start();
        proto_ack_begin(&pk, pstr_of("b-0001"), 10, 3, 2);
        proto_reject_line_pack(&pk, 5, pstr_of("unknown unit 999"));
        proto_reject_line_pack(&pk, 9, pstr_of("negative value"));
        proto_ack_stale_begin(&pk, 0);
        done("ack-2");
        start();
        proto_ack_begin(&pk, pstr_of("b"), 0, 0, 0);
        proto_ack_stale_begin(&pk, 0);
        done("ack-empty");
        start();
        proto_ack_begin(&pk, pstr_of("b-0003"), 4, 1, 1);
        proto_reject_line_pack(&pk, 5, pstr_of("unknown unit 999"));
        proto_ack_stale_begin(&pk, 2);
        proto_stale_pack(&pk, &stale[0]);
        proto_stale_pack(&pk, &stale[1]);
        done("ack-stale");
        start();
        proto_error_pack(&pk, pstr_of("b-0002"), "aggregator is shutting down");
        done("error-batch");
        start();
        proto_error_pack(&pk, pstr_of(NULL), "not a submit message");
        done("error-nil");

        start();
        proto_hello_pack(&pk, "agg-1");
        done("hello");

        start();
        proto_uow_begin(&pk, 77, 3, "agg-1", 1);
        proto_uow_batch_pack(&pk, &bt[0]);
        proto_uow_values_begin(&pk, 1);
        proto_value_pack(&pk, &v, 0);
        proto_uow_rejects_begin(&pk, 1);
        proto_reject_pack(&pk, &rj, 0);
        proto_uow_aggs_begin(&pk, 2);
        proto_agg_pack(&pk, &ag[0]);
        proto_agg_pack(&pk, &ag[1]);
        done("uow-full");
        /* Two batches (the second without a source), values and rejections of each. */
        start();
        proto_uow_begin(&pk, 78, 3, "agg-1", 2);
        proto_uow_batch_pack(&pk, &bt[0]);
        proto_uow_batch_pack(&pk, &bt[1]);
        proto_uow_values_begin(&pk, 3);
        proto_value_pack(&pk, &v, 1);
        proto_value_pack(&pk, &v, 0);
        proto_value_pack(&pk, &v, 1);
        proto_uow_rejects_begin(&pk, 2);
        proto_reject_pack(&pk, &rj, 0);
        proto_reject_pack(&pk, &rj, 1);
        proto_uow_aggs_begin(&pk, 1);
        proto_agg_pack(&pk, &ag[0]);
        done("uow-2batches");
        /* Batches that no value names. */
        start();
        proto_uow_begin(&pk, 79, 3, "agg-1", 2);
        proto_uow_batch_pack(&pk, &bt[0]);
        proto_uow_batch_pack(&pk, &bt[1]);
        proto_uow_values_begin(&pk, 0);
        proto_uow_rejects_begin(&pk, 0);
        proto_uow_aggs_begin(&pk, 0);
        done("uow-batches-no-values");
        start();
        proto_uow_begin(&pk, 1, 1, "a", 0);
        proto_uow_values_begin(&pk, 0);
        proto_uow_rejects_begin(&pk, 0);
        proto_uow_aggs_begin(&pk, 0);
        done("uow-empty");

        start();
        proto_rows_begin(&pk, 2);
        proto_row_pack(&pk, &rows[0]);
        proto_row_pack(&pk, &rows[1]);
        done("rows-2");
        start();
        proto_rows_begin(&pk, 0);
        done("rows-empty");
        start();
        proto_ready_pack(&pk, 123456789012ULL, 4000000, 7, 12, 3);
        done("ready");
        {
                struct proto_review_row rv[2] = {
                    {pstr_of("2121100001"), pstr_of("2024"), pstr_of("approved"),
                     pstr_of("县教育局"), pstr_of("核对无误"), 1733300000123456ULL},
                    {pstr_of("212110"), pstr_of("2024"), pstr_of("open"), {NULL, 0}, {NULL, 0}, 0},
                };
                struct proto_note_row nt = {pstr_of("2121100001"), pstr_of("2024"), pstr_of("R10")};
                struct proto_ask q = {pstr_of("c1"), pstr_of("ask-0001"), pstr_of("2121100001"),
                                      pstr_of("2024")};
                struct pstr bl[2] = {pstr_of("indicator teachers (专任教师数) not stored"),
                                     pstr_of("warning R10 (在校生数同比) not explained")};
                struct proto_told told = {pstr_of("ask-0001"),
                                          pstr_of("open"),
                                          pstr_of("县教育局"),
                                          pstr_of("第7行有误"),
                                          1733300000000001ULL,
                                          2,
                                          bl};
                struct proto_action act[2] = {
                    {.kind = pstr_of("return"),
                     .unit = pstr_of("2121100001"),
                     .period = pstr_of("2024"),
                     .text = pstr_of("第7行有误"),
                     .at = 1733300000000001ULL},
                    {.kind = pstr_of("reopen"),
                     .unit = pstr_of("212110"),
                     .period = pstr_of("2024"),
                     .text = pstr_of("returned with 2121100001"),
                     .at = 1733300000000001ULL},
                };

                start();
                proto_reviews_begin(&pk, 2);
                proto_review_row_pack(&pk, &rv[0]);
                proto_review_row_pack(&pk, &rv[1]);
                done("reviews-2");
                start();
                proto_notes_begin(&pk, 1);
                proto_note_row_pack(&pk, &nt);
                done("notes-1");
                start();
                proto_ask_pack(&pk, &q);
                done("ask");
                start();
                proto_told_pack(&pk, &told);
                done("told");
                told.nblockers = 0;
                told.by = pstr_of(NULL);
                told.comment = pstr_of(NULL);
                told.at = 0;
                start();
                proto_told_pack(&pk, &told);
                done("told-empty");
                start();
                proto_uow_begin(&pk, 80, 3, "agg-1", 1);
                proto_uow_batch_pack(&pk, &bt[0]);
                proto_uow_values_begin(&pk, 0);
                proto_uow_rejects_begin(&pk, 0);
                proto_uow_aggs_begin(&pk, 0);
                proto_uow_violations_begin(&pk, 0);
                proto_uow_actions_begin(&pk, 0, 2);
                proto_uow_action_pack(&pk, &act[0], 0);
                proto_uow_action_pack(&pk, &act[1], 0);
                done("uow-return-reopen");
        }
        start();
        proto_ok_pack(&pk, 99);
        done("ok");
        start();
        proto_fail_pack(&pk, 100, "duplicate key value");
        done("fail");
        start();
        proto_fenced_pack(&pk, 101, "aggregator agg-1 said hello again (epoch 8): nothing applied");
        done("fenced");

        /* An agg with float32 statistics, which the decoder also accepts. */
        start();
        proto_uow_begin(&pk, 2, 1, "a", 0);
        proto_uow_values_begin(&pk, 0);
        proto_uow_rejects_begin(&pk, 0);
        proto_uow_aggs_begin(&pk, 1);
        msgpack_pack_array(&pk, 14);
        pack_s("u");
        pack_s("school");
        pack_s("2024");
        pack_s("i");
        pack_s("3");
        msgpack_pack_nil(&pk);
        msgpack_pack_nil(&pk);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_float(&pk, 1.5f);
        msgpack_pack_float(&pk, 2.5f);
        msgpack_pack_double(&pk, 2.0);
        msgpack_pack_nil(&pk);
        msgpack_pack_nil(&pk);
        msgpack_pack_nil(&pk);
        done("uow-float32");
}

/* Batch ids at and over the rules of version 2. */
static void
batch_ids(void)
{
        static const struct {
                const char *name;
                const char *id;
                size_t len;
        } ids[] = {
            {"batchid-empty", "", 0},
            {"batchid-space", "a b", 3},
            {"batchid-0x80", "b\x80", 2},
            {"batchid-nul", "a\0b", 3},
            {"batchid-64", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64},
            {"batchid-65", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefg", 65},
        };

        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                start();
                msgpack_pack_array(&pk, 6);
                pack_s("submit");
                msgpack_pack_uint64(&pk, PROTO_VERSION);
                pack_s("c");
                msgpack_pack_str(&pk, ids[i].len);
                msgpack_pack_str_body(&pk, ids[i].id, ids[i].len);
                pack_s("f.csv");
                msgpack_pack_array(&pk, 0);
                done(ids[i].name);
        }
}

/*
 * What a version-1 peer sends, and an aggregator of before the uow's batch
 * table: refused whole by version 2, each for its version or its shape.
 */
static void
version1_messages(void)
{
        struct proto_record r = {2,
                                 1700000000000000ULL,
                                 pstr_of("211102001"),
                                 pstr_of("2024"),
                                 pstr_of("teachers"),
                                 pstr_of("12"),
                                 {NULL, 0},
                                 {NULL, 0}};

        start();
        msgpack_pack_array(&pk, 6);
        pack_s("submit");
        msgpack_pack_uint64(&pk, 1);
        pack_s("c");
        pack_s("b-0001");
        msgpack_pack_nil(&pk);
        msgpack_pack_array(&pk, 1);
        proto_record_pack(&pk, &r);
        done("v1-submit");
        start();
        msgpack_pack_array(&pk, 3);
        pack_s("hello");
        msgpack_pack_uint64(&pk, 1);
        pack_s("agg-1");
        done("v1-hello");
        start();
        msgpack_pack_array(&pk, 3);
        pack_s("hello");
        msgpack_pack_uint64(&pk, 3);
        pack_s("agg-1");
        done("v3-hello");
        start();
        msgpack_pack_array(&pk, 5);
        pack_s("ack");
        pack_s("b-0001");
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_array(&pk, 0);
        done("v1-ack");
        start();
        msgpack_pack_array(&pk, 6);
        pack_s("uow");
        msgpack_pack_uint64(&pk, 1);
        pack_s("agg-1");
        msgpack_pack_array(&pk, 0);
        msgpack_pack_array(&pk, 0);
        msgpack_pack_array(&pk, 0);
        done("v1-uow");
        /* A version-2 uow of before the batch table: its values named their batch. */
        start();
        msgpack_pack_array(&pk, 7);
        pack_s("uow");
        msgpack_pack_uint64(&pk, 5);
        msgpack_pack_uint64(&pk, 1);
        pack_s("agg-1");
        msgpack_pack_array(&pk, 1);
        msgpack_pack_array(&pk, 8);
        pack_s("211102001");
        pack_s("2024");
        pack_s("teachers");
        pack_s("88");
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, PROTO_VALUE_NEW);
        pack_s("c1");
        pack_s("b1");
        msgpack_pack_array(&pk, 0);
        msgpack_pack_array(&pk, 0);
        done("uow-without-batches");
        start();
        proto_rows_begin(&pk, 1);
        msgpack_pack_array(&pk, 5);
        pack_s("211102001");
        pack_s("2024");
        pack_s("teachers");
        pack_s("88");
        msgpack_pack_uint64(&pk, 5);
        done("v1-rows");
        start();
        msgpack_pack_array(&pk, 3);
        pack_s("ready");
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, 2);
        done("v1-ready");

        /* Refused by version 2: a nil source, a record (named by its line). */
        start();
        proto_submit_begin(&pk, "c", "b-0002", NULL, 0);
        done("submit-nil-source");
        r.line = 17;
        r.unit = pstr_of(NULL);
        start();
        proto_submit_begin(&pk, "c", "b-0002", "f.csv", 1);
        proto_record_pack(&pk, &r);
        done("submit-line17-unit-nil");
}

static void
hostile_messages(void)
{
        static const unsigned char crash[] = {0xc9, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00};
        static const unsigned char huge[][8] = {
            {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0},
            {0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0},
            {0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'},
            {0xc6, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'},
            {0xc9, 0xff, 0xff, 0xff, 0xfe, 0x01, 'a', 'b'},
        };
        static const char *const hugename[] = {"array32", "map32", "str32", "bin32", "ext32"};
        static const unsigned char million[10] = {0xdd, 0x00, 0x0f, 0x42, 0x40,
                                                  0xa6, 's',  'u',  'b',  'm'};
        static const unsigned char c1[] = {0x92, 0xa2, 'o', 'k', 0xc1};
        unsigned char buf[128], deep[101];
        char name[64];

        put("crash-msgpack-c-4.0.0-ext32", crash, sizeof(crash));
        for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
                snprintf(name, sizeof(name), "huge-%s-top", hugename[i]);
                put(name, huge[i], 8);
                /* The same header in place of a submit's collector. */
                memcpy(buf, "\x96\xa6submit\x02", 9);
                memcpy(buf + 9, huge[i], 8);
                snprintf(name, sizeof(name), "huge-%s-in-submit", hugename[i]);
                put(name, buf, 17);
        }
        put("submit-declares-million", million, sizeof(million));
        /* A submit head whose records array32 declares 1,000,000. */
        memcpy(buf,
               "\x96\xa6submit\x02\xa1"
               "c\xa1"
               "b\xa1"
               "s\xdd\x00\x0f\x42\x40\xc0\xc0",
               22);
        put("submit-records-million", buf, 22);
        memset(deep, 0x91, 100);
        deep[100] = 0xc0;
        put("deep-100", deep, sizeof(deep));
        put("invalid-c1", c1, sizeof(c1));

        /* Truncations of a valid submit. */
        struct proto_record r = {7,
                                 99,
                                 pstr_of("211102001"),
                                 pstr_of("2024"),
                                 pstr_of("teachers"),
                                 pstr_of("12"),
                                 {NULL, 0},
                                 {NULL, 0}};
        start();
        proto_submit_begin(&pk, "c", "b", "f.csv", 1);
        proto_record_pack(&pk, &r);
        put("truncated-submit-half", sb.data, sb.size / 2);
        put("truncated-submit-minus1", sb.data, sb.size - 1);
        memcpy(buf, sb.data, sb.size);
        buf[sb.size] = 0x00;
        put("trailing-byte-submit", buf, sb.size + 1);

        /* Wrong types: version as a string, line negative, unit an int. */
        start();
        msgpack_pack_array(&pk, 6);
        pack_s("submit");
        pack_s("2");
        pack_s("c");
        pack_s("b");
        pack_s("s");
        msgpack_pack_array(&pk, 0);
        done("wrongtype-version-string");
        start();
        proto_submit_begin(&pk, "c", "b", "s", 1);
        msgpack_pack_array(&pk, 8);
        msgpack_pack_int64(&pk, -1);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, 211102001);
        pack_s("2024");
        pack_s("i");
        pack_s("1");
        msgpack_pack_nil(&pk);
        msgpack_pack_nil(&pk);
        done("wrongtype-record-ints");
        start();
        proto_uow_begin(&pk, 1, 1, "a", 0);
        proto_uow_values_begin(&pk, 0);
        proto_uow_rejects_begin(&pk, 0);
        proto_uow_aggs_begin(&pk, 1);
        msgpack_pack_array(&pk, 14);
        for (int i = 0; i < 14; i++)
                msgpack_pack_true(&pk);
        done("wrongtype-agg-bools");

        /* Values and rejections naming a batch the uow does not carry. */
        struct proto_batch bt = {pstr_of("c"), pstr_of("b"), pstr_of("f.csv")};
        struct proto_value v = {.unit = pstr_of("u"),
                                .period = pstr_of("2024"),
                                .indicator = pstr_of("i"),
                                .value = pstr_of("1"),
                                .version = 1};
        struct proto_reject rj = {.line = 3, .reason = pstr_of("r")};
        start();
        proto_uow_begin(&pk, 1, 1, "a", 1);
        proto_uow_batch_pack(&pk, &bt);
        proto_uow_values_begin(&pk, 2);
        proto_value_pack(&pk, &v, 0);
        proto_value_pack(&pk, &v, 1);
        proto_uow_rejects_begin(&pk, 0);
        proto_uow_aggs_begin(&pk, 0);
        done("uow-value-batch-out-of-range");
        start();
        proto_uow_begin(&pk, 1, 1, "a", 1);
        proto_uow_batch_pack(&pk, &bt);
        proto_uow_values_begin(&pk, 0);
        proto_uow_rejects_begin(&pk, 1);
        proto_reject_pack(&pk, &rj, 3);
        proto_uow_aggs_begin(&pk, 0);
        done("uow-reject-batch-out-of-range");
        start();
        proto_uow_begin(&pk, 1, 1, "a", 0);
        proto_uow_values_begin(&pk, 1);
        proto_value_pack(&pk, &v, 0);
        proto_uow_rejects_begin(&pk, 0);
        proto_uow_aggs_begin(&pk, 0);
        done("uow-value-no-batches");
        /* Truncations of a valid uow with a batch table. */
        start();
        proto_uow_begin(&pk, 1, 1, "a", 1);
        proto_uow_batch_pack(&pk, &bt);
        proto_uow_values_begin(&pk, 1);
        proto_value_pack(&pk, &v, 0);
        proto_uow_rejects_begin(&pk, 1);
        proto_reject_pack(&pk, &rj, 0);
        proto_uow_aggs_begin(&pk, 0);
        put("truncated-uow-half", sb.data, sb.size / 2);
        put("truncated-uow-minus1", sb.data, sb.size - 1);
        start();
        msgpack_pack_map(&pk, 1);
        pack_s("ok");
        msgpack_pack_uint64(&pk, 1);
        done("wrongtype-map");
        start();
        proto_submit_begin(&pk, "c", "b", "s", 2);
        proto_record_pack(&pk, &r);
        msgpack_pack_array(&pk, 7);
        for (int i = 0; i < 7; i++)
                msgpack_pack_nil(&pk);
        done("wrongtype-record-7-items");
}

int
main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
                return 2;
        }
        outdir = argv[1];
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        valid_messages();
        batch_ids();
        version1_messages();
        hostile_messages();
        msgpack_sbuffer_destroy(&sb);
        return 0;
}
