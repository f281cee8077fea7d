/*
 * enqueue: files read by submit.c turned into batches in the outbox.
 *
 * Each file's records are cut into batches (a batch never spans two files),
 * each batch gets a fresh id (128 random bits in hex) and is packed into the
 * "submit" message it will be sent as, byte for byte, every time.  All the
 * files given in one call go into the outbox in ONE transaction together
 * with the collector's own rejections and the new last version, so a crash
 * leaves either every batch of the call or none, and never a version
 * counter behind the versions already used.
 *
 * Versions: the call takes sum(records) versions from the outbox with
 * outbox_versions_take(n, wallclock_us << 10): base = max(wall clock in µs
 * × 1024, last used + 1).  Record k of the i-th file gets base + (records of
 * the files before) + k, so later rows and later files win, and a later run
 * always stamps above an earlier one even when the clock went back.  The
 * version field of the submit_record is not used.
 */
#ifndef EDUSTAT_ENQUEUE_H
#define EDUSTAT_ENQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "outbox.h"
#include "submit.h"

#define ENQUEUE_BATCH_RECORDS 5000
/* A batch's estimated size stays under this: room for the envelope in a 16 MiB message. */
#define ENQUEUE_BATCH_BYTES (PROTO_MAX_SUBMIT_BYTES / 2)

struct enqueue_file {
        /* In: */
        const char *path;             /* name in receipts and rejected.source */
        const struct submission *sub; /* the records */
        const char *identity;         /* spool only, else NULL */
        const char *spool_name;       /* spool only, else NULL */
        /* Out: */
        int64_t id; /* its outbox file id */
        uint32_t nbatches;
};

/*
 * Write files[0..n) to the outbox in one transaction, as origin, on behalf
 * of collector (EDUSTAT_COLLECTOR_NAME), owned by process owner.  version_floor
 * is the wall clock in µs × 1024 (a parameter so tests can pin it).  Returns
 * 0 with every files[i].id and .nbatches set, or -1 after logging why, and
 * then nothing of the call is in the outbox.
 */
int enqueue_files(struct outbox *ob, struct enqueue_file *files, size_t n,
                  enum outbox_origin origin, const char *collector, long owner,
                  uint64_t version_floor);

/*
 * enqueue_files for a dry run (submit --dry-run): the same batches, packed
 * as "check" messages (proto_check_begin), as origin OUTBOX_SUBMIT.  Meant
 * for a private outbox (OUTBOX_PRIVATE): a dry run stores nothing, here or
 * at the aggregator.  Returns as enqueue_files.
 */
int enqueue_files_check(struct outbox *ob, struct enqueue_file *files, size_t n,
                        const char *collector, long owner, uint64_t version_floor);

/*
 * A fresh batch id, as every batch gets: 128 random bits from
 * /dev/urandom as 32 lower-case hex digits, terminated.  Returns 0, or -1
 * (logged).
 */
int enqueue_batch_id(char id[OUTBOX_ID_LEN + 1]);

#endif
