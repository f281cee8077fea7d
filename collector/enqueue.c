#include "enqueue.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

#include "log.h"
#include "proto.h"
#include "util.h"

/* The receipt's places are the submission's, value for value. */
_Static_assert((int)SUBMIT_AT_LINE == (int)OUTBOX_AT_LINE &&
                   (int)SUBMIT_AT_COLUMN == (int)OUTBOX_AT_COLUMN &&
                   (int)SUBMIT_AT_CELL == (int)OUTBOX_AT_CELL,
               "submit_place and outbox_place differ");

/* Estimated packed size of a record: its strings plus msgpack headers. */
static size_t
record_bytes(const struct submit_record *r)
{
        return 48 + strlen(r->unit) + strlen(r->period) + strlen(r->indicator) + strlen(r->value) +
               (r->raw ? strlen(r->raw) : 0) + (r->reason ? strlen(r->reason) : 0);
}

/* How many records from first go into one batch. */
static size_t
batch_len(const struct submission *s, size_t first)
{
        size_t n = 0, bytes = 0;

        while (first + n < s->n && n < ENQUEUE_BATCH_RECORDS) {
                size_t rb = record_bytes(&s->rec[first + n]);

                /* A batch takes at least one record; fields are capped, so it fits. */
                if (n > 0 && bytes + rb > ENQUEUE_BATCH_BYTES)
                        break;
                bytes += rb;
                n++;
        }
        return n;
}

static uint32_t
batches_count(const struct submission *s)
{
        uint32_t nb = 0;

        for (size_t k = 0; k < s->n; k += batch_len(s, k))
                nb++;
        return nb;
}

static int
batch_id_new(int fd, char id[OUTBOX_ID_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char rnd[OUTBOX_ID_LEN / 2];

        if (read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
                log_warn("read /dev/urandom");
                return -1;
        }
        for (size_t i = 0; i < sizeof(rnd); i++) {
                id[2 * i] = hex[rnd[i] >> 4];
                id[2 * i + 1] = hex[rnd[i] & 15];
        }
        id[OUTBOX_ID_LEN] = '\0';
        return 0;
}

int
enqueue_batch_id(char id[OUTBOX_ID_LEN + 1])
{
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC), rc;

        if (fd < 0) {
                log_warn("open /dev/urandom");
                return -1;
        }
        rc = batch_id_new(fd, id);
        close(fd);
        return rc;
}

/* Pack records [first, first + n) of s, versions from version, into sb: a submit or a check. */
static void
batch_pack(msgpack_sbuffer *sb, int check, const char *collector, const char *id,
           const char *source, const struct submission *s, size_t first, size_t n, uint64_t version)
{
        msgpack_packer pk;

        msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
        if (check)
                proto_check_begin(&pk, collector, id, source, (uint32_t)n);
        else
                proto_submit_begin(&pk, collector, id, source, (uint32_t)n);
        for (size_t k = first; k < first + n; k++) {
                const struct submit_record *r = &s->rec[k];
                struct proto_record pr = {
                    /* A file of four billion lines would be cut long before. */
                    .line = r->line > UINT32_MAX ? UINT32_MAX : (uint32_t)r->line,
                    .version = version + k,
                    .unit = pstr_of(r->unit),
                    .period = pstr_of(r->period),
                    .indicator = pstr_of(r->indicator),
                    .value = pstr_of(r->value),
                    .raw = pstr_of(r->raw),
                    .reason = pstr_of(r->reason),
                };

                proto_record_pack(&pk, &pr);
        }
}

/* One file's row, batches and own rejections, inside the open transaction. */
static int
file_enqueue(struct outbox *ob, struct enqueue_file *f, enum outbox_origin origin, int check,
             const char *collector, long owner, uint64_t version, int urandom)
{
        const struct submission *s = f->sub;
        struct outbox_file_new nf = {
            .path = f->path,
            .origin = origin,
            .identity = f->identity,
            .spool_name = f->spool_name,
            .owner = owner,
            .records = s->n,
            .batches = batches_count(s),
        };
        msgpack_sbuffer sb;
        int rc = 0;

        f->nbatches = nf.batches;
        if (outbox_file_add(ob, &nf, &f->id) < 0)
                return -1;
        for (size_t k = 0; k < s->n; k++)
                if (s->rec[k].reason != NULL &&
                    outbox_rejection_add_at(ob, f->id, s->rec[k].line,
                                            (enum outbox_place)s->rec[k].place,
                                            s->rec[k].reason) < 0)
                        return -1;
        msgpack_sbuffer_init(&sb);
        for (size_t k = 0, n; rc == 0 && k < s->n; k += n) {
                char id[OUTBOX_ID_LEN + 1];

                n = batch_len(s, k);
                if (batch_id_new(urandom, id) < 0) {
                        rc = -1;
                        break;
                }
                msgpack_sbuffer_clear(&sb);
                batch_pack(&sb, check, collector, id, f->path, s, k, n, version);
                rc = outbox_batch_add(ob, f->id, id, sb.data, sb.size, (uint32_t)n);
        }
        msgpack_sbuffer_destroy(&sb);
        return rc;
}

static int
files_enqueue(struct outbox *ob, struct enqueue_file *files, size_t n, enum outbox_origin origin,
              int check, const char *collector, long owner, uint64_t version_floor)
{
        uint64_t total = 0, base;
        int urandom;

        if ((urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0) {
                log_warn("open /dev/urandom");
                return -1;
        }
        for (size_t i = 0; i < n; i++)
                total += files[i].sub->n;
        if (outbox_begin(ob) < 0)
                goto fail;
        if (outbox_versions_take(ob, total, version_floor, &base) < 0)
                goto rollback;
        for (size_t i = 0; i < n; i++) {
                if (file_enqueue(ob, &files[i], origin, check, collector, owner, base, urandom) < 0)
                        goto rollback;
                base += files[i].sub->n;
        }
        if (outbox_commit(ob) < 0)
                goto fail;
        close(urandom);
        return 0;
rollback:
        outbox_rollback(ob);
fail:
        log_warnx("outbox %s: nothing of %zu file%s was stored", outbox_path(ob), n,
                  n == 1 ? "" : "s");
        close(urandom);
        return -1;
}

int
enqueue_files(struct outbox *ob, struct enqueue_file *files, size_t n, enum outbox_origin origin,
              const char *collector, long owner, uint64_t version_floor)
{
        return files_enqueue(ob, files, n, origin, 0, collector, owner, version_floor);
}

int
enqueue_files_check(struct outbox *ob, struct enqueue_file *files, size_t n, const char *collector,
                    long owner, uint64_t version_floor)
{
        return files_enqueue(ob, files, n, OUTBOX_SUBMIT, 1, collector, owner, version_floor);
}
