/*
 * spool: the drop folder `edustat-collector run` watches.
 *
 *   SPOOL/incoming/     schools (or a sync job) put FILE.csv here
 *   SPOOL/processing/   read and in the outbox, being delivered
 *   SPOOL/done/         delivered, every record accepted: FILE.csv + FILE.csv.receipt
 *   SPOOL/failed/       delivered with rejections, refused, or unreadable:
 *                       FILE.csv + FILE.csv.receipt
 *
 * A file in incoming/ is taken when its name ends in ".csv", does not start
 * with '.', it is a regular file (a symbolic link is never followed), its
 * inode, size, modification and change times are unchanged between two
 * looks one poll interval (SPOOL_POLL_MS) apart, and either it was renamed
 * after its last write (its change time is later than its modification
 * time: the reliable way, writing a dot-file .FILE.csv.tmp and renaming it
 * to FILE.csv when complete) or it has not changed for the quiet time
 * (spool_quiet_set, SPOOL_QUIET_MS by default): a writer writing in place
 * that pauses for less than that is not read half-way.
 *
 * The file is then opened without following a link and the descriptor is
 * checked (spool_file_open): it must be the regular file, inode, size and
 * modification time that were looked at.  After reading, the caller checks
 * it did not change meanwhile (spool_file_unchanged) and otherwise leaves
 * it for a later look.
 *
 * Names are never overwritten: when done/FILE.csv (or its receipt) exists,
 * the next one becomes FILE.2.csv, FILE.3.csv, and so on.  Every move and
 * every receipt is made durable (fsync of the file and of both
 * directories) before the caller goes on, so the order "receipt, then
 * file" survives a crash.  One `run` per spool: spool_open takes an
 * exclusive lock on SPOOL/.edustat-run.lock.
 */
#ifndef EDUSTAT_SPOOL_H
#define EDUSTAT_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SPOOL_POLL_MS     1000
#define SPOOL_QUIET_MS    5000  /* default quiet time of a file written in place */
#define SPOOL_MAX_TRACKED 10000 /* names in incoming/ looked at; more wait for a later look */
#define SPOOL_MAX_NAME    255
#define SPOOL_IDENTITY    96 /* bytes of an identity string, NUL included */

enum spool_dir { SPOOL_INCOMING, SPOOL_PROCESSING, SPOOL_DONE, SPOOL_FAILED, SPOOL_NDIRS };

struct spool;

/*
 * Open the spool at dir: create dir and its four subdirectories when
 * missing, take the run lock.  Returns an owned spool, or NULL with a
 * message naming the directory in err (also when another process holds the
 * lock).
 */
struct spool *spool_open(const char *dir, char *err, size_t errlen);

/*
 * Set the quiet time: a file written in place is taken once it has not
 * changed for ms milliseconds (0: at the second look).  Negative is 0.
 */
void spool_quiet_set(struct spool *sp, int64_t ms);

/* Release the lock and free; accepts NULL and sets *spp to NULL. */
void spool_close(struct spool **spp);

/* The subdirectory's name: "incoming", "processing", "done" or "failed". */
const char *spool_dir_name(enum spool_dir which);

/*
 * Look at incoming/ once.  Returns 0 with the names of the files that are
 * complete (unchanged since the previous look, not ignored), in name order,
 * at most max of them, in *names (owned: spool_names_free) and *n; or -1
 * when incoming/ cannot be read (logged).
 */
int spool_scan(struct spool *sp, size_t max, char ***names, size_t *n);

/*
 * Every entry of a subdirectory that spool_scan would consider (regular,
 * ".csv", no leading '.'), in name order, at most max, without the
 * stability wait: for recovery at start.  Same ownership as spool_scan.
 */
int spool_list(struct spool *sp, enum spool_dir which, size_t max, char ***names, size_t *n);

/* Free names from spool_scan or spool_list; accepts NULL. */
void spool_names_free(char **names, size_t n);

/*
 * Do not report incoming/name again until it changes (a file that could
 * not be moved, so that it is not retried every second).
 */
void spool_ignore(struct spool *sp, const char *name);

/*
 * SPOOL/which/name into buf.  Returns 0, or -1 when it does not fit.
 */
int spool_path(const struct spool *sp, enum spool_dir which, const char *name, char *buf,
               size_t len);

/*
 * The identity of which/name: "DEV:INODE:SIZE:MTIME_S.MTIME_NS", which
 * tells this file from a later one of the same name.  Returns 0, or -1
 * (errno set; ENOENT when it is gone, ESTALE when the name is not a regular
 * file, or in incoming/ another inode than the last look saw).
 */
int spool_identity(const struct spool *sp, enum spool_dir which, const char *name,
                   char buf[SPOOL_IDENTITY]);

/*
 * Open which/name for reading without following a symbolic link, and check
 * the descriptor, not the name: a regular file whose identity is identity
 * (from spool_identity).  Returns the descriptor (owned by the caller), or
 * -1 with errno set: ELOOP for a symbolic link, ESTALE when it is another
 * file or has changed, ENOENT when it is gone.
 */
int spool_file_open(const struct spool *sp, enum spool_dir which, const char *name,
                    const char *identity);

/*
 * After reading fd (from spool_file_open): 1 when the file still has
 * identity (same inode, size and modification time) and which/name still
 * names it; 0 when it changed while it was read, and must be read again.
 */
int spool_file_unchanged(const struct spool *sp, enum spool_dir which, const char *name, int fd,
                         const char *identity);

/*
 * A name for name in which/ that neither exists there (as itself or with
 * ".receipt") nor is taken according to taken(arg, candidate) (may be
 * NULL; returns 1 for taken, 0 for free, -1 on error): name itself, then
 * BASE.2.EXT, BASE.3.EXT, ...  Returns 0 with out set, -1 when none of the
 * first 10000 is free or taken failed.
 */
int spool_free_name(const struct spool *sp, enum spool_dir which, const char *name,
                    int (*taken)(void *arg, const char *candidate), void *arg, char *out,
                    size_t outlen);

/*
 * Move from/name to to/to_name (rename, then fsync of both directories).
 * Returns 0, or -1 (errno set: ENOENT when from/name is gone).
 */
int spool_move(struct spool *sp, enum spool_dir from, const char *name, enum spool_dir to,
               const char *to_name);

/*
 * Start writing the receipt of which/name: a temporary dot-file in which/.
 * Returns the stream, or NULL (logged).  Finish with spool_receipt_commit.
 */
FILE *spool_receipt_begin(struct spool *sp, enum spool_dir which, const char *name);

/*
 * Flush, fsync and close fp, rename it to which/name.receipt and fsync the
 * directory.  Returns 0, or -1 (logged; the temporary file is removed).
 * fp is closed in both cases.
 */
int spool_receipt_commit(struct spool *sp, FILE *fp, enum spool_dir which, const char *name);

#endif
