#include "run.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "deliver.h"
#include "enqueue.h"
#include "link.h"
#include "log.h"
#include "outbox.h"
#include "proto.h"
#include "receipt.h"
#include "spool.h"
#include "submit.h"
#include "util.h"
#include "wire.h"

#define RUN_WINDOW         8
#define RUN_FIRST_MS       1000
#define RUN_MAX_MS         60000
#define RUN_FILES_PER_SCAN 100   /* then deliver a while; the rest are taken next look */
#define RUN_LIST_MAX       256   /* files read from the outbox at a time */
#define RUN_REPORT_MS      60000 /* log what waits this often */
#define RUN_RETRY_MS       60000 /* retry a receipt or move that failed this often */
#define ACK_MAX_BYTES      (4 * (int64_t)PROTO_MAX_SUBMIT_BYTES)

static volatile sig_atomic_t stop_signal;

struct runner {
        const struct run_opts *o;
        struct outbox *ob;
        struct spool *sp;
        int failed;         /* the outbox failed: stop */
        int finish_pending; /* a receipt or move failed: retry at finish_at */
        int64_t finish_at;
        struct submit_catalog cat; /* for wide files, loaded when one comes */
};

static void
on_signal(int sig)
{
        stop_signal = sig;
}

static int
name_taken(void *arg, const char *candidate)
{
        struct runner *r = arg;

        return outbox_spool_name_taken(r->ob, candidate);
}

/* Split "done/NAME" or "failed/NAME"; -1 when it is neither. */
static int
final_parse(const char *final, enum spool_dir *to, const char **name)
{
        const char *slash = strchr(final, '/');

        if (slash == NULL || slash[1] == '\0')
                return -1;
        if ((size_t)(slash - final) == 4 && strncmp(final, "done", 4) == 0)
                *to = SPOOL_DONE;
        else if ((size_t)(slash - final) == 6 && strncmp(final, "failed", 6) == 0)
                *to = SPOOL_FAILED;
        else
                return -1;
        *name = slash + 1;
        return 0;
}

/*
 * Finish a delivered spool file: receipt, move, forget.  The final name is
 * recorded first so that a retry after a crash writes the same receipt
 * under the same name.  Returns 0; -1 after an outbox error (r->failed) or
 * a spool error (retried later).
 */
static int
file_finish(struct runner *r, struct outbox_file *f)
{
        char name_buf[SPOOL_MAX_NAME + 1], final[SPOOL_MAX_NAME + 16], path[PATH_MAX];
        const char *name;
        enum spool_dir to;
        uint64_t nrej;
        struct stat st;
        FILE *fp;

        if (f->final_name == NULL || final_parse(f->final_name, &to, &name) < 0) {
                if (outbox_rejections_count(r->ob, f->id, &nrej) < 0)
                        goto outbox_failed;
                to = nrej > 0 || f->refused_batches > 0 ? SPOOL_FAILED : SPOOL_DONE;
                if (spool_free_name(r->sp, to, f->path, NULL, NULL, name_buf, sizeof(name_buf)) <
                    0) {
                        log_warnx("%s: no free name for it in %s/", f->path, spool_dir_name(to));
                        goto spool_failed;
                }
                strlcpyf(final, sizeof(final), "%s/%s", spool_dir_name(to), name_buf);
                if (outbox_file_final_set(r->ob, f->id, final) < 0)
                        goto outbox_failed;
                name = name_buf;
        }
        if ((fp = spool_receipt_begin(r->sp, to, name)) == NULL)
                goto spool_failed;
        if (receipt_print(r->ob, f, NULL, NULL, fp, fp, &nrej) < 0) {
                fclose(fp);
                goto outbox_failed;
        }
        if (spool_receipt_commit(r->sp, fp, to, name) < 0)
                goto spool_failed;
        if (f->spool_name == NULL ||
            spool_move(r->sp, SPOOL_PROCESSING, f->spool_name, to, name) < 0) {
                /* Moved before a crash, or taken away by hand: the receipt stands alone. */
                if (f->spool_name != NULL && errno != ENOENT) {
                        log_warn("%s: cannot move processing/%s to %s/%s", f->path, f->spool_name,
                                 spool_dir_name(to), name);
                        goto spool_failed;
                }
                if (spool_path(r->sp, to, name, path, sizeof(path)) < 0 || stat(path, &st) < 0)
                        log_warnx("%s: processing/%s is gone; only its receipt is in %s/", f->path,
                                  f->spool_name ? f->spool_name : "?", spool_dir_name(to));
        }
        if (outbox_file_forget(r->ob, f->id) < 0)
                goto outbox_failed;
        log_info("%s: %llu records, %llu accepted (%llu changed), %llu rejected, %llu stale, "
                 "%llu warnings%s: %s/%s",
                 f->path, (unsigned long long)f->records, (unsigned long long)f->accepted,
                 (unsigned long long)f->changed, (unsigned long long)nrej,
                 (unsigned long long)f->stale, (unsigned long long)f->warnings,
                 f->refused_batches > 0 ? ", some refused by the aggregator" : "",
                 spool_dir_name(to), name);
        return 0;
outbox_failed:
        r->failed = 1;
        return -1;
spool_failed:
        r->finish_pending = 1;
        r->finish_at = now_ms() + RUN_RETRY_MS;
        return -1;
}

/* Log the delivery of a file an earlier `submit` left; its receipt waits for a submit. */
static void
submit_file_logged(struct runner *r, const struct outbox_file *f)
{
        uint64_t nrej = 0;

        if (outbox_rejections_count(r->ob, f->id, &nrej) < 0) {
                r->failed = 1;
                return;
        }
        log_info("%s (a file of a submit): delivered: %llu records, %llu accepted (%llu "
                 "changed), %llu rejected, %llu stale, %llu warnings; that submit, or the next "
                 "one, prints its receipt",
                 f->path, (unsigned long long)f->records, (unsigned long long)f->accepted,
                 (unsigned long long)f->changed, (unsigned long long)nrej,
                 (unsigned long long)f->stale, (unsigned long long)f->warnings);
}

/* deliver's file_done: the last batch of a file was answered. */
static void
file_done(void *arg, int64_t file_id)
{
        struct runner *r = arg;
        struct outbox_file f;
        int got = outbox_file_get(r->ob, file_id, &f);

        if (got < 0) {
                r->failed = 1;
                return;
        }
        if (got == 0)
                return;
        if (f.origin == OUTBOX_RUN)
                file_finish(r, &f);
        else
                submit_file_logged(r, &f);
        outbox_file_clear(&f);
}

/* Finish every delivered spool file (after a crash, or answered by another process). */
static int
finish_complete(struct runner *r)
{
        int64_t after = 0;

        r->finish_pending = 0;
        for (;;) {
                struct outbox_file *files;
                size_t n;

                if (outbox_files_list(r->ob, OUTBOX_RUN, 0, after, RUN_LIST_MAX, &files, &n) < 0) {
                        r->failed = 1;
                        return -1;
                }
                for (size_t i = 0; i < n && !r->failed; i++)
                        file_finish(r, &files[i]);
                if (n > 0)
                        after = files[n - 1].id;
                outbox_files_free(files, n);
                if (n < RUN_LIST_MAX || r->failed)
                        return r->failed ? -1 : 0;
        }
}

/* A file that cannot be read goes to failed/ with a receipt saying why. */
static void
file_unreadable(struct runner *r, enum spool_dir from, const char *name, const char *why)
{
        char final[SPOOL_MAX_NAME + 1];
        FILE *fp;

        if (spool_free_name(r->sp, SPOOL_FAILED, name, NULL, NULL, final, sizeof(final)) < 0 ||
            (fp = spool_receipt_begin(r->sp, SPOOL_FAILED, final)) == NULL) {
                log_warnx("%s: cannot be read (%s), and no receipt can be written in failed/", name,
                          why);
                spool_ignore(r->sp, name);
                return;
        }
        fprintf(fp, "%s: cannot be read: %s\n", name, why);
        if (spool_receipt_commit(r->sp, fp, SPOOL_FAILED, final) < 0 ||
            spool_move(r->sp, from, name, SPOOL_FAILED, final) < 0) {
                log_warn("%s: cannot be read (%s) nor moved to failed/", name, why);
                spool_ignore(r->sp, name);
                return;
        }
        log_warnx("%s: cannot be read (%s): failed/%s", name, why, final);
}

/*
 * Read from/name into the outbox and move it to processing/.  identity is
 * the file's identity as seen before reading.  Returns 0, or -1 when the
 * outbox failed (r->failed set).
 */
static int
file_take(struct runner *r, enum spool_dir from, const char *name, const char *identity)
{
        char path[PATH_MAX], err[512], spool_name[SPOOL_MAX_NAME + 1];
        struct enqueue_file ef = {.path = name, .identity = identity};
        struct submission *sub;
        struct outbox_file f;
        size_t nrec;
        int rc, fd;

        if (!utf8_valid(name, strlen(name))) {
                file_unreadable(r, from, name, "the file name is not valid UTF-8");
                return 0;
        }
        if (spool_path(r->sp, from, name, path, sizeof(path)) < 0) {
                file_unreadable(r, from, name, "the path is too long");
                return 0;
        }
        struct submit_opts so = {.catalog = submit_catalog_get, .catalog_arg = &r->cat};

        if ((fd = spool_file_open(r->sp, from, name, identity)) < 0) {
                if (errno == ELOOP || errno == ESTALE || errno == ENOENT)
                        log_info("%s: replaced or changed since it was looked at (not a regular "
                                 "file, another file, or gone); left for a later look",
                                 name);
                else
                        file_unreadable(r, from, name, strerror(errno));
                return 0;
        }
        sub = submit_fd(fd, path, &so, err, sizeof(err));
        if (!spool_file_unchanged(r->sp, from, name, fd, identity)) {
                /* Not complete after all: read it again once it is still. */
                log_info("%s: changed while it was read; it is read again once it stops changing",
                         name);
                submission_destroy(&sub);
                close(fd);
                return 0;
        }
        close(fd);
        if (sub == NULL) {
                file_unreadable(r, from, name, err);
                return 0;
        }
        if (from == SPOOL_PROCESSING) {
                strlcpyf(spool_name, sizeof(spool_name), "%s", name);
        } else if (spool_free_name(r->sp, SPOOL_PROCESSING, name, name_taken, r, spool_name,
                                   sizeof(spool_name)) < 0) {
                log_warnx("%s: no free name for it in processing/; left in incoming/", name);
                spool_ignore(r->sp, name);
                submission_destroy(&sub);
                return 0;
        }
        ef.sub = sub;
        ef.spool_name = spool_name;
        nrec = sub->n;
        rc = enqueue_files(r->ob, &ef, 1, OUTBOX_RUN, r->o->collector, (long)getpid(),
                           (uint64_t)wallclock_us() << 10);
        ef.sub = NULL;
        submission_destroy(&sub);
        if (rc < 0) {
                r->failed = 1;
                return -1;
        }
        if (from != SPOOL_PROCESSING &&
            spool_move(r->sp, from, name, SPOOL_PROCESSING, spool_name) < 0) {
                /* The outbox has it and delivers it; its identity stops a second reading. */
                log_warn("%s: queued, but cannot be moved to processing/%s", name, spool_name);
                spool_ignore(r->sp, name);
        }
        log_info("%s: queued, %zu records in %u batches (processing/%s)", name, nrec, ef.nbatches,
                 spool_name);
        if (ef.nbatches == 0) {
                if ((rc = outbox_file_get(r->ob, ef.id, &f)) < 0) {
                        r->failed = 1;
                        return -1;
                }
                if (rc == 1) {
                        file_finish(r, &f);
                        outbox_file_clear(&f);
                }
        }
        return r->failed ? -1 : 0;
}

/*
 * A file in incoming/: when the outbox knows its identity (a crash came
 * between the outbox commit and the move), only move it; else take it.
 */
static int
incoming_handle(struct runner *r, const char *name)
{
        char identity[SPOOL_IDENTITY];
        struct outbox_file f;
        int got;

        if (spool_identity(r->sp, SPOOL_INCOMING, name, identity) < 0)
                return 0; /* gone since the look */
        if ((got = outbox_file_find(r->ob, identity, &f)) < 0) {
                r->failed = 1;
                return -1;
        }
        if (got == 0)
                return file_take(r, SPOOL_INCOMING, name, identity);
        if (f.spool_name == NULL ||
            spool_move(r->sp, SPOOL_INCOMING, name, SPOOL_PROCESSING, f.spool_name) < 0) {
                log_warn("%s: already queued, but cannot be moved to processing/%s", name,
                         f.spool_name ? f.spool_name : "?");
                spool_ignore(r->sp, name);
        } else {
                log_info("%s: already queued before a restart; moved to processing/%s", name,
                         f.spool_name);
        }
        outbox_file_clear(&f);
        return 0;
}

/* Repair what a crash left: see run.h.  Returns 0 or -1 (outbox failed). */
static int
recover(struct runner *r)
{
        char **names, identity[SPOOL_IDENTITY];
        size_t n;

        if (spool_list(r->sp, SPOOL_INCOMING, SPOOL_MAX_TRACKED, &names, &n) == 0) {
                for (size_t i = 0; i < n && !r->failed; i++) {
                        struct outbox_file f;
                        int got;

                        if (spool_identity(r->sp, SPOOL_INCOMING, names[i], identity) < 0)
                                continue;
                        if ((got = outbox_file_find(r->ob, identity, &f)) < 0)
                                r->failed = 1;
                        if (got == 1) {
                                outbox_file_clear(&f);
                                incoming_handle(r, names[i]);
                        }
                }
                spool_names_free(names, n);
        }
        if (!r->failed && spool_list(r->sp, SPOOL_PROCESSING, SPOOL_MAX_TRACKED, &names, &n) == 0) {
                for (size_t i = 0; i < n && !r->failed; i++) {
                        int taken = outbox_spool_name_taken(r->ob, names[i]);

                        if (taken < 0)
                                r->failed = 1;
                        else if (taken == 0 &&
                                 spool_identity(r->sp, SPOOL_PROCESSING, names[i], identity) == 0) {
                                log_info("%s: in processing/ but not in the outbox; reading it "
                                         "again",
                                         names[i]);
                                file_take(r, SPOOL_PROCESSING, names[i], identity);
                        }
                }
                spool_names_free(names, n);
        }
        if (!r->failed)
                finish_complete(r);
        return r->failed ? -1 : 0;
}

static void
scan(struct runner *r)
{
        char **names;
        size_t n;

        if (spool_scan(r->sp, RUN_FILES_PER_SCAN, &names, &n) < 0)
                return;
        for (size_t i = 0; i < n && !r->failed && !stop_signal; i++)
                incoming_handle(r, names[i]);
        spool_names_free(names, n);
}

/* Every RUN_REPORT_MS while batches wait: how many, how old, why. */
static void
report(struct runner *r)
{
        struct outbox_totals t;
        struct outbox_file *files;
        size_t n;

        if (outbox_totals_get(r->ob, &t) < 0 ||
            outbox_files_list(r->ob, 0, 1, 0, 1, &files, &n) < 0) {
                r->failed = 1;
                return;
        }
        if (t.pending_batches > 0 && n == 1)
                log_warnx("%llu batches (%llu records) of %llu files wait for %s; the oldest "
                          "since %lld s (%s), last error: %s",
                          (unsigned long long)t.pending_batches,
                          (unsigned long long)t.pending_records,
                          (unsigned long long)t.pending_files, r->o->endpoint,
                          (long long)(wallclock_us() / 1000000 - files[0].oldest), files[0].path,
                          files[0].last_error ? files[0].last_error : "none yet");
        outbox_files_free(files, n);
}

int
run_main(const struct run_opts *o)
{
        struct runner r = {.o = o};

        r.cat.dir = env_or("EDUSTAT_CONFIG", "./config");
        struct deliver_policy pol = {
            .endpoint = o->endpoint,
            .first_ms = RUN_FIRST_MS,
            .max_ms = RUN_MAX_MS,
            .jitter = 1,
            .window = RUN_WINDOW,
            .max_seq = 0,
        };
        struct deliver *d = NULL;
        void *ctx = NULL, *sock = NULL, *mon = NULL;
        char err[512];
        int64_t next_scan, next_report;
        int status = 1;

        link_signals_catch(on_signal);
        if ((r.ob = outbox_open(o->outbox, OUTBOX_CREATE, err, sizeof(err))) == NULL) {
                log_warnx("%s", err);
                return 1;
        }
        if ((r.sp = spool_open(o->spool, err, sizeof(err))) == NULL) {
                log_warnx("%s", err);
                goto out;
        }
        spool_quiet_set(r.sp, o->quiet_ms);
        ctx = link_ctx_new();
        if ((sock = link_connect(ctx, o->endpoint, ACK_MAX_BYTES)) == NULL) {
                log_warnx("cannot use the aggregator endpoint \"%s\"", o->endpoint);
                goto out;
        }
        mon = link_watch(ctx, sock);
        d = deliver_new(r.ob, sock, &pol, file_done, &r);
        deliver_watch(d, mon);
        if (recover(&r) < 0)
                goto out;
        log_info("ready: watching %s/incoming, outbox %s, aggregator %s", o->spool, o->outbox,
                 o->endpoint);
        next_scan = now_ms();
        next_report = next_scan + RUN_REPORT_MS;
        while (!stop_signal && !r.failed) {
                int64_t now = now_ms();

                if (now >= next_scan) {
                        scan(&r);
                        /*
                         * Files whose last batch was answered to another
                         * process sharing the outbox, or whose receipt or
                         * move failed (retried every RUN_RETRY_MS).
                         */
                        if (!r.failed && (!r.finish_pending || now >= r.finish_at))
                                finish_complete(&r);
                        next_scan = now_ms() + SPOOL_POLL_MS;
                }
                if (now >= next_report) {
                        report(&r);
                        next_report = now + RUN_REPORT_MS;
                }
                if (r.failed || stop_signal)
                        break;
                now = now_ms();
                if (deliver_step(d, next_scan > now ? next_scan - now : 0) < 0)
                        r.failed = 1;
        }
        if (r.failed) {
                log_warnx("stopping: the outbox %s failed (see above); what it holds is kept",
                          o->outbox);
        } else {
                struct outbox_totals t;

                if (outbox_totals_get(r.ob, &t) == 0)
                        log_info("stopping on signal %d: %llu batches wait in the outbox",
                                 (int)stop_signal, (unsigned long long)t.pending_batches);
                status = 0;
        }
out:
        deliver_destroy(&d);
        wire_close(&mon);
        wire_close(&sock);
        if (ctx != NULL)
                zmq_ctx_term(ctx);
        spool_close(&r.sp);
        outbox_close(&r.ob);
        submit_catalog_clear(&r.cat);
        return status;
}
