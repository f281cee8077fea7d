/*
 * edustat-collector: send school CSV files to the aggregator through a
 * durable local outbox, and print what became of every record.
 *
 *   edustat-collector submit [--unit CODE] [--period PERIOD] [--timeout SEC]
 *                            [--encoding ENC] [--sheet NAME]
 *                            [--aggregator ENDPOINT] [--outbox PATH] [FILE...]
 *   edustat-collector submit --dry-run [same options] FILE...
 *   edustat-collector explain --unit CODE --period PERIOD --rule CODE
 *                             [--aggregator ENDPOINT] [--timeout SEC] TEXT | --text TEXT
 *   edustat-collector finish --unit CODE --period PERIOD [--aggregator ENDPOINT] [--timeout SEC]
 *   edustat-collector approve --unit CODE --period PERIOD [--comment TEXT] [...]
 *   edustat-collector return --unit CODE --period PERIOD --reason TEXT [...]
 *   edustat-collector run [--spool DIR] [--aggregator ENDPOINT] [--outbox PATH]
 *   edustat-collector status [--outbox PATH]
 *   edustat-collector status --unit CODE --period PERIOD [--aggregator ENDPOINT] [--timeout SEC]
 *
 * submit reads the files (collector/submit.c: CSV in UTF-8, UTF-16 or
 * GB18030, or .xlsx; long or wide layout, the wide one needing the
 * catalogue from EDUSTAT_CONFIG), writes ALL their batches to
 * the outbox in one transaction (collector/enqueue.c) before sending
 * anything, then delivers every batch the outbox holds, those earlier runs
 * left behind first (collector/deliver.c), until all are answered or the
 * timeout passes.  An ack means committed in PostgreSQL, so the exit code,
 * which speaks for the files of this run only, can promise it:
 *   0  every record accepted and committed (a stale record, valid but kept
 *      out by a newer value of its key, counts as accepted; the receipt
 *      lists it)
 *   1  everything delivered, some records rejected (FILE:LINE: reason)
 *   2  input could not be read (missing file, usage), or the outbox cannot
 *      be used; readable files are still submitted first
 *   3  delivery not confirmed within the timeout (the batches stay in the
 *      outbox for the next submit or run), or a batch refused
 * Files of earlier runs whose delivery is confirmed now are reported as
 * "earlier: FILE: ... (delivered now)".  With no FILE, submit only delivers
 * what the outbox holds: 0 when all of it was confirmed, 3 when not (a
 * batch refused included).
 *
 * Warnings (warning rules that fail for a unit and period a file touched)
 * are printed after a file's rejected lines and never change the exit code.
 *
 * submit --dry-run reads the files the same way, but sends each batch as a
 * "check" straight to the aggregator, from a private outbox in memory: the
 * outbox file is not opened (nor created) and nothing is stored anywhere.
 * It prints the receipt a submit would give ("FILE: dry run: ...; nothing
 * was stored"), with submit's exit codes: 1 something would be rejected, 3
 * no answer or a batch refused.
 *
 * explain sends an explanation (说明) of a warning as an "action" and waits
 * for its ack (stored in PostgreSQL): 0 confirmed, 3 refused ("explain
 * refused: MESSAGE") or not confirmed, 2 misuse.
 *
 * finish, approve and return are the review round (上报 → 审核 → 退回/通过):
 * finish says a unit's return for a period is complete (it becomes
 * submitted, and its values are locked), approve is the office above's
 * 通过 (approved), return its 退回 with a reason (open again, and so is
 * every office above that had finished or approved the period).  Each is
 * an "action" acknowledged after its commit, like explain: 0 committed, 3
 * refused ("finish refused: MESSAGE", the aggregator's reason) or not
 * confirmed, 2 misuse.
 *
 * run is the long-running form over a spool directory (collector/run.c);
 * status prints what the outbox holds: 0 nothing pending, 1 something.
 * status --unit --period asks the aggregator for the unit's review state
 * instead (who finished, approved or returned it, when, the reason of a
 * return) and what still blocks its finish: 0 answered, 3 no answer or
 * refused, 2 misuse.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "csvread.h"
#include "deliver.h"
#include "enqueue.h"
#include "link.h"
#include "log.h"
#include "outbox.h"
#include "proto.h"
#include "receipt.h"
#include "run.h"
#include "spool.h"
#include "submit.h"
#include "template.h"
#include "util.h"
#include "wire.h"

#define PROG               "edustat-collector"
#define SUBMIT_WINDOW      8
#define SUBMIT_FIRST_MS    5000
#define SUBMIT_MAX_MS      30000
#define STDIN_MAX          ((size_t)256 * 1024 * 1024)
#define ACK_MAX_BYTES      (4 * (int64_t)PROTO_MAX_SUBMIT_BYTES)
#define LIST_MAX           256  /* files read from the outbox at a time */
#define STATUS_MAX_FILES   1000 /* lines status prints per kind */
#define DEFAULT_AGGREGATOR "tcp://127.0.0.1:5560"
#define DEFAULT_OUTBOX     "./edustat-outbox.db"
#define DEFAULT_SPOOL      "./spool"
#define DEFAULT_TIMEOUT    60
#define DEFAULT_CONFIG     "./config"
#define DRY_RUN_NAME       "(dry run)" /* the private outbox's name in messages */

enum exit_code { EXIT_ALL_OK = 0, EXIT_REJECTED = 1, EXIT_INPUT = 2, EXIT_UNCONFIRMED = 3 };

/* Options shared by the commands. */
struct opts {
        const char *endpoint, *outbox, *spool, *unit, *period;
        const char *collector;
        const char *sheet;     /* --sheet */
        enum textenc encoding; /* --encoding */
        long timeout;
        int dry_run;             /* submit --dry-run */
        const char *rule, *text; /* explain --rule, --text */
        const char *comment;     /* approve --comment */
        const char *reason;      /* return --reason */
};

/* A file of this submit run. */
struct file {
        const char *path;
        struct submission *sub;
        int64_t id;
        uint64_t records;
};

/* What submit saw complete while it delivered (for "delivered now"). */
struct completed {
        int64_t *id;
        size_t n, cap;
};

static void
usage(FILE *fp)
{
        fprintf(fp, "usage: " PROG " submit [--unit CODE] [--period PERIOD] [--timeout SEC]\n"
                    "                         [--encoding utf-8|gb18030|utf-16] [--sheet NAME]\n"
                    "                         [--aggregator ENDPOINT] [--outbox PATH] [FILE...]\n"
                    "       " PROG " submit --dry-run [the options above] FILE...\n"
                    "       " PROG " explain --unit CODE --period PERIOD --rule CODE\n"
                    "                         [--aggregator ENDPOINT] [--timeout SEC] TEXT\n"
                    "       " PROG " finish --unit CODE --period PERIOD [--aggregator ENDPOINT]\n"
                    "                         [--timeout SEC]\n"
                    "       " PROG " approve --unit CODE --period PERIOD [--comment TEXT] [...]\n"
                    "       " PROG " return --unit CODE --period PERIOD --reason TEXT [...]\n"
                    "       " PROG " run [--spool DIR] [--aggregator ENDPOINT] [--outbox PATH]\n"
                    "       " PROG " status [--outbox PATH]\n"
                    "       " PROG " status --unit CODE --period PERIOD [--aggregator ENDPOINT]\n"
                    "                         [--timeout SEC]\n"
                    "       " PROG " template --unit CODE --period PERIOD [-o FILE.xlsx|FILE.csv]\n"
                    "\n"
                    "submit sends CSV files with the columns unit,period,indicator,value (any\n"
                    "order; unit and period may come from the flags) and prints a receipt per\n"
                    "file.  A file without indicator and value columns is wide: unit, period\n"
                    "and one column per indicator, headed by its code or its Chinese name from\n"
                    "$EDUSTAT_CONFIG/indicators.csv; other columns are ignored.  CSV may be\n"
                    "UTF-8, UTF-16 (with a byte-order mark) or GB18030/GBK, detected unless\n"
                    "--encoding says which, with commas or tabs.  An Excel workbook (.xlsx) is\n"
                    "read from its first sheet, or the one --sheet names.\n"
                    "FILE - reads standard input.  Every batch is stored in the outbox\n"
                    "before it is sent and stays there until the aggregator confirms it;\n"
                    "batches earlier runs left there are delivered first.  With no FILE, submit\n"
                    "only delivers what the outbox holds.  A warning (FILE: warning: unit U\n"
                    "period P: rule ...) means a value was stored but looks wrong to a warning\n"
                    "rule: correct the value and submit again, or explain it with explain.\n"
                    "\n"
                    "submit --dry-run checks the files with the aggregator and prints the\n"
                    "receipt a submit would give; nothing is stored, and the outbox is not\n"
                    "used.\n"
                    "\n"
                    "explain sends an explanation (TEXT, or --text TEXT, at most 4096 bytes)\n"
                    "of the warning rule CODE gives for the unit and period.\n"
                    "\n"
                    "The review round (上报 -> 审核 -> 退回/通过): finish says the unit's return\n"
                    "for the period is complete (submitted; its values can no longer change);\n"
                    "approve is the office above approving it, return sends it back open with\n"
                    "a reason (offices above that had finished or approved the period are\n"
                    "opened again too).  status --unit --period shows the unit's state, who\n"
                    "set it and when, a return's reason, and what still blocks its finish.\n"
                    "\n"
                    "run watches DIR/incoming/ for *.csv files (write them as .NAME and rename\n"
                    "when complete), delivers them and moves each to DIR/done/ or DIR/failed/\n"
                    "with NAME.receipt beside it.  It runs until SIGTERM or SIGINT.\n"
                    "\n"
                    "status prints the batches waiting in the outbox.\n"
                    "\n"
                    "template writes a blank wide form for the schools at or below a unit\n"
                    "(" PROG " template --help).\n"
                    "\n"
                    "Environment: EDUSTAT_CONFIG (the indicator catalogue for wide files,\n"
                    "default " DEFAULT_CONFIG "), EDUSTAT_AGGREGATOR (default " DEFAULT_AGGREGATOR
                    "),\n"
                    "EDUSTAT_OUTBOX (default " DEFAULT_OUTBOX
                    "), EDUSTAT_SPOOL (default\n" DEFAULT_SPOOL
                    "), EDUSTAT_COLLECTOR_NAME (default the host name), EDUSTAT_TIMEOUT\n"
                    "(submit and explain: seconds to wait for confirmations, default 60),\n"
                    "EDUSTAT_SPOOL_QUIET_MS (run: a file written in place is taken once it has\n"
                    "not changed for this long, default 5000).\n"
                    "\n"
                    "Exit (submit, for the files given): 0 all accepted; 1 delivered, some\n"
                    "rejected; 2 input could not be read or the outbox cannot be used;\n"
                    "3 delivery not confirmed (the batches stay in the outbox); 128+N when\n"
                    "signal N (SIGTERM, SIGINT) stopped it while it waited for confirmations,\n"
                    "after the receipts (what was not confirmed stays in the outbox).\n"
                    "Exit (submit --dry-run): as submit, for what a submit would give.\n"
                    "Exit (explain, finish, approve, return): 0 stored; 2 usage; 3 refused or\n"
                    "not confirmed.\n"
                    "Exit (status): 0 nothing pending, 1 batches pending; with --unit: 0\n"
                    "answered, 2 usage, 3 no answer or refused.\n");
}

/* Slurp standard input, up to STDIN_MAX bytes.  Returns 0 or -1 with err. */
static int
stdin_read(char **bufp, size_t *lenp, char *err, size_t errlen)
{
        int rc = csvread_slurp(stdin, STDIN_MAX, bufp, lenp);

        if (rc == -EFBIG)
                strlcpyf(err, errlen, "-: standard input is larger than %zu MB", STDIN_MAX >> 20);
        else if (rc < 0)
                strlcpyf(err, errlen, "-: cannot read standard input: %s", strerror(-rc));
        return rc < 0 ? -1 : 0;
}

/* Read a file (or "-") with versions from 0: enqueue stamps the real ones. */
static struct submission *
file_read(const char *path, const struct submit_opts *so, char *err, size_t errlen)
{
        struct submission *s;
        char *buf;
        size_t len;

        if (strlen(path) > PROTO_MAX_TEXT) {
                strlcpyf(err, errlen, "%.64s...: path longer than %d bytes", path, PROTO_MAX_TEXT);
                return NULL;
        }
        if (!utf8_valid(path, strlen(path))) {
                strlcpyf(err, errlen, "%s: the file name is not valid UTF-8", path);
                return NULL;
        }
        if (strcmp(path, "-") != 0)
                return submit_file(path, so, err, errlen);
        if (stdin_read(&buf, &len, err, errlen) < 0)
                return NULL;
        s = submit_buffer(path, buf, len, so, err, errlen);
        free(buf);
        return s;
}

static const char *
collector_name(char *buf, size_t len)
{
        const char *name = getenv("EDUSTAT_COLLECTOR_NAME");

        if (name != NULL && name[0] != '\0')
                return name;
        if (gethostname(buf, len) < 0 || buf[0] == '\0')
                strlcpyf(buf, len, "collector");
        buf[len - 1] = '\0';
        return buf;
}

/*
 * Parse the options of cmd ("submit", "run" or "status") from argv, where
 * argv[0] is the command.  Exits 0 on --help, 2 on misuse.  Returns the
 * index of the first operand.
 */
static int
args_parse(const char *cmd, int argc, char **argv, struct opts *o)
{
        static const struct option all[] = {
            {"unit", required_argument, NULL, 'u'},
            {"period", required_argument, NULL, 'p'},
            {"timeout", required_argument, NULL, 't'},
            {"aggregator", required_argument, NULL, 'a'},
            {"outbox", required_argument, NULL, 'o'},
            {"spool", required_argument, NULL, 's'},
            {"encoding", required_argument, NULL, 'e'},
            {"sheet", required_argument, NULL, 'x'},
            {"dry-run", no_argument, NULL, 'd'},
            {"rule", required_argument, NULL, 'r'},
            {"text", required_argument, NULL, 'T'},
            {"comment", required_argument, NULL, 'c'},
            {"reason", required_argument, NULL, 'R'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        /* Which options each command takes. */
        const char *takes = strcmp(cmd, "submit") == 0    ? "uptaoexd"
                            : strcmp(cmd, "explain") == 0 ? "uptarT"
                            : strcmp(cmd, "finish") == 0  ? "upta"
                            : strcmp(cmd, "approve") == 0 ? "uptac"
                            : strcmp(cmd, "return") == 0  ? "uptaR"
                            : strcmp(cmd, "run") == 0     ? "aos"
                                                          : "oupta";
        const char *timeout = env_or("EDUSTAT_TIMEOUT", NULL);
        int c;

        o->endpoint = env_or("EDUSTAT_AGGREGATOR", DEFAULT_AGGREGATOR);
        o->outbox = env_or("EDUSTAT_OUTBOX", DEFAULT_OUTBOX);
        o->spool = env_or("EDUSTAT_SPOOL", DEFAULT_SPOOL);
        o->timeout = DEFAULT_TIMEOUT;
        while ((c = getopt_long(argc, argv, "h", all, NULL)) != -1) {
                if (c == 'h') {
                        usage(stdout);
                        exit(EXIT_ALL_OK);
                }
                if (c == '?' || strchr(takes, c) == NULL) {
                        if (c != '?')
                                fprintf(stderr, PROG " %s: option --%s does not apply\n", cmd,
                                        c == 'u'   ? "unit"
                                        : c == 'p' ? "period"
                                        : c == 't' ? "timeout"
                                        : c == 'a' ? "aggregator"
                                        : c == 'o' ? "outbox"
                                        : c == 'e' ? "encoding"
                                        : c == 'x' ? "sheet"
                                        : c == 'd' ? "dry-run"
                                        : c == 'r' ? "rule"
                                        : c == 'T' ? "text"
                                        : c == 'c' ? "comment"
                                        : c == 'R' ? "reason"
                                                   : "spool");
                        usage(stderr);
                        exit(EXIT_INPUT);
                }
                switch (c) {
                case 'u':
                        o->unit = optarg;
                        break;
                case 'p':
                        o->period = optarg;
                        break;
                case 't':
                        timeout = optarg;
                        break;
                case 'a':
                        o->endpoint = optarg;
                        break;
                case 'o':
                        o->outbox = optarg;
                        break;
                case 's':
                        o->spool = optarg;
                        break;
                case 'e':
                        if (textenc_parse(optarg, &o->encoding) < 0) {
                                fprintf(stderr,
                                        PROG ": --encoding \"%s\": use utf-8, gb18030 or utf-16\n",
                                        optarg);
                                exit(EXIT_INPUT);
                        }
                        break;
                case 'x':
                        o->sheet = optarg;
                        break;
                case 'd':
                        o->dry_run = 1;
                        break;
                case 'r':
                        o->rule = optarg;
                        break;
                case 'T':
                        o->text = optarg;
                        break;
                case 'c':
                        o->comment = optarg;
                        break;
                case 'R':
                        o->reason = optarg;
                        break;
                }
        }
        if (strchr(takes, 't') != NULL && timeout != NULL &&
            parse_long(timeout, 1, 86400, &o->timeout) < 0) {
                fprintf(stderr, PROG ": timeout \"%s\" is not a number of seconds (1..86400)\n",
                        timeout);
                exit(EXIT_INPUT);
        }
        if (strcmp(cmd, "submit") != 0 && strcmp(cmd, "explain") != 0 && optind < argc) {
                fprintf(stderr, PROG " %s: unexpected argument \"%s\"\n", cmd, argv[optind]);
                usage(stderr);
                exit(EXIT_INPUT);
        }
        return optind;
}

/* The collector's name, checked against the wire's cap; exits 2 when too long. */
static const char *
collector_checked(char *buf, size_t len)
{
        const char *name = collector_name(buf, len);

        if (strlen(name) > PROTO_MAX_ID) {
                fprintf(stderr, PROG ": EDUSTAT_COLLECTOR_NAME is longer than %d bytes\n",
                        PROTO_MAX_ID);
                exit(EXIT_INPUT);
        }
        return name;
}

static void
completed_add(void *arg, int64_t file_id)
{
        struct completed *c = arg;

        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 16;
                c->id = xreallocarray(c->id, c->cap, sizeof(*c->id));
        }
        c->id[c->n++] = file_id;
}

static int
completed_has(const struct completed *c, int64_t id)
{
        for (size_t i = 0; i < c->n; i++)
                if (c->id[i] == id)
                        return 1;
        return 0;
}

/* 1 when process pid (which enqueued a file) may still be delivering it itself. */
static int
owner_alive(long pid)
{
        if (pid <= 0 || pid == (long)getpid())
                return 0;
        return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/*
 * SIGTERM or SIGINT received while submit delivers (0: none).  Then they
 * end the wait for acks instead of the process, so that the receipts still
 * say what was confirmed and what stays in the outbox.  (Before that,
 * while files are parsed and enqueued, the default action is right: the
 * outbox transaction is rolled back and nothing was sent.)
 */
static volatile sig_atomic_t submit_signal;
/* Why the aggregator refused the link in the last submit_deliver, or "". */
static char submit_refused[512];

static void
submit_on_signal(int sig)
{
        submit_signal = sig;
}

/*
 * Deliver what the outbox holds up to max_seq, until all is answered, the
 * timeout passes, a signal arrives, or the aggregator cannot read our
 * messages.  Returns 0, -1 when the outbox failed (logged), -2 when the
 * endpoint is unusable.
 */
static int
submit_deliver(struct outbox *ob, const struct opts *o, int64_t max_seq, struct completed *done,
               unsigned long *unreadable)
{
        struct deliver_policy pol = {
            .endpoint = o->endpoint,
            .first_ms = SUBMIT_FIRST_MS,
            .max_ms = SUBMIT_MAX_MS,
            .jitter = 0,
            .window = SUBMIT_WINDOW,
            .max_seq = max_seq,
            .dry_run = o->dry_run,
        };
        void *ctx, *sock, *mon;
        struct deliver *d;
        int64_t deadline = now_ms() + (int64_t)o->timeout * 1000;
        int rc = 0;

        link_signals_catch(submit_on_signal);
        ctx = link_ctx_new();
        if ((sock = link_connect(ctx, o->endpoint, ACK_MAX_BYTES)) == NULL) {
                zmq_ctx_term(ctx);
                return -2;
        }
        mon = link_watch(ctx, sock);
        d = deliver_new(ob, sock, &pol, completed_add, done);
        deliver_watch(d, mon);
        for (;;) {
                int64_t now = now_ms();

                if (deliver_step(d, deadline - now) < 0) {
                        rc = -1;
                        break;
                }
                /* A refused key stays refused: no use waiting out the timeout. */
                if (deliver_finished(d) || deliver_unreadable(d) > 0 || now_ms() >= deadline ||
                    submit_signal || deliver_refused(d) != NULL)
                        break;
        }
        if (rc == 0 && !deliver_finished(d)) {
                char why[600];

                if (submit_signal)
                        strlcpyf(why, sizeof(why), "submit: stopped by signal %d",
                                 (int)submit_signal);
                else if (deliver_refused(d) != NULL) {
                        strlcpyf(submit_refused, sizeof(submit_refused), "%s", deliver_refused(d));
                        strlcpyf(why, sizeof(why), "submit: %s", submit_refused);
                } else
                        strlcpyf(why, sizeof(why),
                                 "submit: no acknowledgement from %s within %ld s", o->endpoint,
                                 o->timeout);
                deliver_abandon(d, why);
        }
        *unreadable = deliver_unreadable(d);
        deliver_destroy(&d);
        wire_close(&mon);
        wire_close(&sock);
        zmq_ctx_term(ctx);
        return rc;
}

/* Counts for the exit code: of this run's files, or without files of those delivered now. */
struct verdict {
        uint64_t batches, unconfirmed, refused, rejected;
};

/*
 * Print the receipts of complete submit files enqueued before first_id by
 * processes that are gone, and forget them.  When v is not NULL, the
 * batches and refused batches of those whose delivery ended now are added
 * to it: a submit without files answers for them.  Returns 0 or -1.
 */
static int
earlier_print(struct outbox *ob, int64_t first_id, const struct completed *done, struct verdict *v)
{
        int64_t after = 0;

        for (;;) {
                struct outbox_file *files;
                size_t n, i;

                if (outbox_files_list(ob, OUTBOX_SUBMIT, 0, after, LIST_MAX, &files, &n) < 0)
                        return -1;
                for (i = 0; i < n && files[i].id < first_id; i++) {
                        struct outbox_file *f = &files[i];

                        if (owner_alive(f->owner))
                                continue;
                        if (v != NULL && completed_has(done, f->id)) {
                                v->batches += f->batches;
                                v->refused += f->refused_batches;
                        }
                        if (receipt_print(ob, f, "earlier: ",
                                          completed_has(done, f->id) ? "delivered now"
                                                                     : "delivered earlier",
                                          stdout, stderr, NULL) < 0 ||
                            outbox_file_forget(ob, f->id) < 0) {
                                outbox_files_free(files, n);
                                return -1;
                        }
                }
                after = n > 0 ? files[n - 1].id : after;
                outbox_files_free(files, n);
                if (n < LIST_MAX || i < n)
                        return 0;
        }
}

/*
 * Print this run's receipts (complete files) and "not confirmed" lines, as
 * a dry run's when dry_run.  0 or -1.
 */
static int
receipts_print(struct outbox *ob, struct file *files, size_t nfiles, int dry_run, struct verdict *v)
{
        for (size_t i = 0; i < nfiles; i++) {
                struct outbox_file f;
                uint64_t nrej;
                int got = outbox_file_get(ob, files[i].id, &f);

                if (got < 0)
                        return -1;
                if (got == 0) {
                        printf("%s: %llu records, delivered (its receipt was printed by another "
                               "collector process)\n",
                               files[i].path, (unsigned long long)files[i].records);
                        continue;
                }
                v->batches += f.batches;
                if (f.pending > 0) {
                        v->unconfirmed += f.pending;
                        v->refused += f.refused_batches;
                        if (dry_run)
                                printf("%s: dry run: %llu records, not checked; nothing was "
                                       "stored\n",
                                       f.path, (unsigned long long)f.records);
                        else
                                printf("%s: %llu records, not confirmed\n", f.path,
                                       (unsigned long long)f.records);
                        outbox_file_clear(&f);
                        continue;
                }
                if ((dry_run ? receipt_print_dry_run(ob, &f, stdout, stderr, &nrej)
                             : receipt_print(ob, &f, NULL, NULL, stdout, stderr, &nrej)) < 0 ||
                    outbox_file_forget(ob, f.id) < 0) {
                        outbox_file_clear(&f);
                        return -1;
                }
                v->rejected += nrej;
                v->refused += f.refused_batches;
                outbox_file_clear(&f);
        }
        fflush(stdout);
        return 0;
}

/*
 * Read the operands argv[first..argc) into files (n of them, room for
 * argc - first), printing why a file cannot be used.  Returns 1 when some
 * could not be read, else 0.
 */
static int
files_read(int first, int argc, char **argv, const struct submit_opts *so, struct file *files,
           size_t *n)
{
        char err[512];
        int failed = 0, stdin_used = 0;

        *n = 0;
        for (int i = first; i < argc; i++) {
                struct file *f = &files[*n];

                if (strcmp(argv[i], "-") == 0 && stdin_used++) {
                        fprintf(stderr, PROG ": -: standard input can be read only once\n");
                        failed = 1;
                        continue;
                }
                f->path = argv[i];
                f->sub = file_read(argv[i], so, err, sizeof(err));
                if (f->sub == NULL) {
                        fprintf(stderr, PROG ": %s\n", err);
                        failed = 1;
                        continue;
                }
                /* One line per file, so a misspelt indicator column is noticed. */
                if (f->sub->ignored != NULL)
                        fprintf(stderr, PROG ": %s: ignored columns naming no indicator: %s\n",
                                argv[i], f->sub->ignored);
                f->records = f->sub->n;
                (*n)++;
        }
        return failed;
}

/*
 * submit --dry-run: the files read as submit reads them, their batches
 * packed as "check"s into a private outbox in memory and delivered from
 * there with submit's policy; the outbox file is never touched.
 */
static int
cmd_dry_run(struct opts *o, int first, int argc, char **argv)
{
        struct completed done = {0};
        struct verdict v = {0};
        struct outbox *ob = NULL;
        struct file *files;
        struct enqueue_file *ef;
        struct submit_catalog cat = {0};
        struct submit_opts so;
        char err[512];
        size_t nfiles = 0;
        int64_t max_seq = 0;
        unsigned long unreadable = 0;
        int input_failed, code, rc;

        if (first >= argc) {
                fprintf(stderr, PROG " submit --dry-run: name the files to check\n");
                usage(stderr);
                return EXIT_INPUT;
        }
        cat.dir = env_or("EDUSTAT_CONFIG", DEFAULT_CONFIG);
        so = (struct submit_opts){.unit = o->unit,
                                  .period = o->period,
                                  .encoding = o->encoding,
                                  .sheet = o->sheet,
                                  .catalog = submit_catalog_get,
                                  .catalog_arg = &cat};
        files = xcalloc((size_t)(argc - first) + 1, sizeof(*files));
        input_failed = files_read(first, argc, argv, &so, files, &nfiles);
        if (nfiles == 0) {
                code = EXIT_INPUT;
                goto out;
        }
        if ((ob = outbox_open(DRY_RUN_NAME, OUTBOX_PRIVATE, err, sizeof(err))) == NULL) {
                fprintf(stderr, PROG ": dry run: %s; nothing was checked\n", err);
                code = EXIT_INPUT;
                goto out;
        }
        ef = xcalloc(nfiles, sizeof(*ef));
        for (size_t i = 0; i < nfiles; i++) {
                ef[i].path = files[i].path;
                ef[i].sub = files[i].sub;
        }
        rc = enqueue_files_check(ob, ef, nfiles, o->collector, (long)getpid(),
                                 (uint64_t)wallclock_us() << 10);
        for (size_t i = 0; i < nfiles; i++) {
                files[i].id = ef[i].id;
                submission_destroy(&files[i].sub);
        }
        free(ef);
        if (rc < 0 || outbox_max_seq(ob, &max_seq) < 0) {
                fprintf(stderr, PROG ": dry run: cannot prepare the batches (see above); nothing "
                                     "was checked\n");
                code = EXIT_INPUT;
                goto out;
        }
        if (max_seq > 0 && (rc = submit_deliver(ob, o, max_seq, &done, &unreadable)) < 0) {
                if (rc == -1)
                        fprintf(stderr, PROG ": dry run: failed (see above); nothing was "
                                             "stored\n");
                else
                        fprintf(stderr,
                                PROG ": cannot use the aggregator endpoint \"%s\"; nothing was "
                                     "checked\n",
                                o->endpoint);
                code = rc == -1 ? EXIT_UNCONFIRMED : EXIT_INPUT;
                goto out;
        }
        if (receipts_print(ob, files, nfiles, 1, &v) < 0) {
                fprintf(stderr, PROG ": dry run: failed (see above); nothing was stored\n");
                code = EXIT_UNCONFIRMED;
                goto out;
        }
        if (submit_signal)
                fprintf(stderr, PROG ": dry run stopped by signal %d; nothing was stored\n",
                        (int)submit_signal);
        else if (unreadable > 0)
                fprintf(stderr,
                        PROG ": dry run not answered: the aggregator at %s could not read a "
                             "message; nothing was stored\n",
                        o->endpoint);
        else if (v.unconfirmed > 0)
                fprintf(stderr,
                        PROG ": dry run not answered: no answer from %s within %ld s (%llu of "
                             "%llu batches not checked); nothing was stored: run it again\n",
                        o->endpoint, o->timeout, (unsigned long long)v.unconfirmed,
                        (unsigned long long)v.batches);
        if (v.refused > 0)
                fprintf(stderr,
                        PROG ": the aggregator at %s refused %llu of %llu batches of the dry run "
                             "(see above); nothing was stored\n",
                        o->endpoint, (unsigned long long)v.refused, (unsigned long long)v.batches);
        if (submit_signal)
                code = 128 + submit_signal;
        else if (v.unconfirmed > 0 || v.refused > 0 || unreadable > 0)
                code = EXIT_UNCONFIRMED;
        else if (input_failed)
                code = EXIT_INPUT;
        else
                code = v.rejected > 0 ? EXIT_REJECTED : EXIT_ALL_OK;
out:
        fflush(stdout);
        outbox_close(&ob);
        for (size_t i = 0; i < nfiles; i++)
                submission_destroy(&files[i].sub);
        submit_catalog_clear(&cat);
        free(files);
        free(done.id);
        return code;
}

static int
cmd_submit(int argc, char **argv)
{
        struct opts o = {0};
        struct completed done = {0};
        struct verdict v = {0};
        struct outbox *ob;
        struct outbox_totals t;
        struct file *files;
        struct enqueue_file *ef;
        struct submit_catalog cat = {0};
        struct submit_opts so;
        char host[256], err[512];
        size_t nfiles = 0;
        int64_t max_seq = 0, first_id;
        unsigned long unreadable = 0;
        int first, input_failed = 0, code, rc;

        first = args_parse("submit", argc, argv, &o);
        o.collector = collector_checked(host, sizeof(host));
        if (o.dry_run)
                return cmd_dry_run(&o, first, argc, argv);
        if ((ob = outbox_open(o.outbox, OUTBOX_CREATE, err, sizeof(err))) == NULL) {
                fprintf(stderr, PROG ": cannot use the outbox: %s; nothing was sent\n", err);
                return EXIT_INPUT;
        }

        cat.dir = env_or("EDUSTAT_CONFIG", DEFAULT_CONFIG);
        so = (struct submit_opts){.unit = o.unit,
                                  .period = o.period,
                                  .encoding = o.encoding,
                                  .sheet = o.sheet,
                                  .catalog = submit_catalog_get,
                                  .catalog_arg = &cat};
        files = xcalloc((size_t)(argc - first) + 1, sizeof(*files));
        input_failed = files_read(first, argc, argv, &so, files, &nfiles);

        /* Everything is in the outbox before the first byte is sent. */
        ef = xcalloc(nfiles + 1, sizeof(*ef));
        for (size_t i = 0; i < nfiles; i++) {
                ef[i].path = files[i].path;
                ef[i].sub = files[i].sub;
        }
        code = nfiles > 0 ? enqueue_files(ob, ef, nfiles, OUTBOX_SUBMIT, o.collector,
                                          (long)getpid(), (uint64_t)wallclock_us() << 10)
                          : 0;
        for (size_t i = 0; i < nfiles; i++) {
                files[i].id = ef[i].id;
                submission_destroy(&files[i].sub);
        }
        free(ef);
        if (code < 0) {
                fprintf(stderr,
                        PROG ": cannot write to the outbox %s (see above); nothing was sent\n",
                        o.outbox);
                code = EXIT_INPUT;
                goto out;
        }

        if (outbox_max_seq(ob, &max_seq) < 0)
                goto outbox_failed;
        if (max_seq > 0 && (rc = submit_deliver(ob, &o, max_seq, &done, &unreadable)) < 0) {
                if (rc == -1)
                        goto outbox_failed;
                fprintf(stderr,
                        PROG ": cannot use the aggregator endpoint \"%s\"; nothing was sent, the "
                             "batches stay in the outbox %s\n",
                        o.endpoint, o.outbox);
                code = EXIT_INPUT;
                goto out;
        }
        if (nfiles == 0 && max_seq == 0)
                fprintf(stderr, PROG ": the outbox %s holds nothing to deliver\n", o.outbox);
        first_id = nfiles > 0 ? files[0].id : INT64_MAX;

        /* Without files, the exit code speaks for the earlier files delivered now. */
        if (earlier_print(ob, first_id, &done, nfiles > 0 ? NULL : &v) < 0)
                goto outbox_failed;
        if (receipts_print(ob, files, nfiles, 0, &v) < 0 || outbox_totals_get(ob, &t) < 0)
                goto outbox_failed;
        if (submit_signal)
                fprintf(stderr,
                        PROG ": stopped by signal %d before every batch was confirmed; %llu "
                             "batches stay in the outbox %s: run submit again or "
                             "edustat-collector run to deliver them\n",
                        (int)submit_signal, (unsigned long long)t.pending_batches, o.outbox);
        else if (unreadable > 0)
                fprintf(stderr,
                        PROG ": delivery not confirmed: the aggregator at %s could not read a "
                             "message; %llu batches stay in the outbox %s: run submit again or "
                             "edustat-collector run to deliver them when it is fixed\n",
                        o.endpoint, (unsigned long long)t.pending_batches, o.outbox);
        else if (submit_refused[0] != '\0')
                fprintf(stderr,
                        PROG ": delivery not confirmed: %s; %llu batches stay in the outbox "
                             "%s and go out once the key is registered (submit again, or run)\n",
                        submit_refused, (unsigned long long)t.pending_batches, o.outbox);
        else if (v.unconfirmed > 0)
                fprintf(stderr,
                        PROG ": delivery not confirmed: no acknowledgement from %s within %ld s "
                             "(%llu of %llu batches unconfirmed); they stay in the outbox %s: "
                             "run submit again or edustat-collector run to deliver them\n",
                        o.endpoint, o.timeout, (unsigned long long)v.unconfirmed,
                        (unsigned long long)v.batches, o.outbox);
        else if (nfiles == 0 && t.pending_batches > 0)
                fprintf(stderr,
                        PROG ": delivery not confirmed: no acknowledgement from %s within %ld s; "
                             "%llu batches stay in the outbox %s: run submit again or "
                             "edustat-collector run to deliver them\n",
                        o.endpoint, o.timeout, (unsigned long long)t.pending_batches, o.outbox);
        else if (t.pending_batches > v.unconfirmed)
                fprintf(stderr,
                        PROG ": %llu batches of earlier runs are still not confirmed; they stay "
                             "in the outbox %s: run submit again or edustat-collector run to "
                             "deliver them\n",
                        (unsigned long long)(t.pending_batches - v.unconfirmed), o.outbox);
        if (v.refused > 0)
                fprintf(stderr,
                        PROG ": delivery not confirmed: the aggregator at %s refused %llu of %llu "
                             "batches (see above); a refused batch is not resent: fix the cause "
                             "and submit the file again\n",
                        o.endpoint, (unsigned long long)v.refused, (unsigned long long)v.batches);

        if (submit_signal)
                code = 128 + submit_signal; /* what the shell reports for a signal */
        else if (v.unconfirmed > 0 || v.refused > 0 || unreadable > 0 ||
                 (nfiles == 0 && t.pending_batches > 0))
                code = EXIT_UNCONFIRMED;
        else if (input_failed)
                code = EXIT_INPUT;
        else
                code = v.rejected > 0 ? EXIT_REJECTED : EXIT_ALL_OK;
        goto out;

outbox_failed:
        fprintf(stderr, PROG ": the outbox %s failed (see above); what it holds is kept\n",
                o.outbox);
        code = EXIT_UNCONFIRMED;
out:
        fflush(stdout);
        outbox_close(&ob);
        submit_catalog_clear(&cat);
        free(files);
        free(done.id);
        return code;
}

static void
age_print(int64_t since)
{
        int64_t age = wallclock_us() / 1000000 - since;

        printf("age %lld s", (long long)(age < 0 ? 0 : age));
}

static int review_status(struct opts *o);

static int
cmd_status(int argc, char **argv)
{
        struct opts o = {0};
        struct outbox *ob;
        struct outbox_totals t;
        char err[512];
        int64_t after = 0;
        size_t shown = 0;

        args_parse("status", argc, argv, &o);
        if (o.unit != NULL || o.period != NULL)
                return review_status(&o);
        if ((ob = outbox_open(o.outbox, 0, err, sizeof(err))) == NULL) {
                if (access(o.outbox, F_OK) < 0 && errno == ENOENT) {
                        printf("outbox: %s (not created yet)\nnothing pending\n", o.outbox);
                        return 0;
                }
                fprintf(stderr, PROG ": %s\n", err);
                return EXIT_INPUT;
        }
        if (outbox_totals_get(ob, &t) < 0)
                goto failed;
        printf("outbox: %s\nlast version: %llu\n", o.outbox, (unsigned long long)t.last_version);
        for (int pending = 1; pending >= 0; pending--) {
                after = 0;
                shown = 0;
                for (;;) {
                        struct outbox_file *files;
                        size_t n;

                        if (outbox_files_list(ob, 0, pending, after, LIST_MAX, &files, &n) < 0)
                                goto failed;
                        for (size_t i = 0; i < n && shown < STATUS_MAX_FILES; i++, shown++) {
                                struct outbox_file *f = &files[i];

                                if (!pending) {
                                        printf("delivered: %s: receipt not %s yet (%s)\n", f->path,
                                               f->origin == OUTBOX_RUN ? "written" : "printed",
                                               f->origin == OUTBOX_RUN
                                                   ? "edustat-collector run writes it"
                                                   : "the next edustat-collector submit prints it");
                                        continue;
                                }
                                printf(
                                    "pending: %s: %u of %u batches, %llu records, %llu attempts, ",
                                    f->path, f->pending, f->batches,
                                    (unsigned long long)f->pending_records,
                                    (unsigned long long)f->attempts);
                                age_print(f->oldest);
                                if (f->last_error != NULL)
                                        printf(", last error: %s", f->last_error);
                                putchar('\n');
                        }
                        after = n > 0 ? files[n - 1].id : after;
                        outbox_files_free(files, n);
                        if (n < LIST_MAX || shown >= STATUS_MAX_FILES)
                                break;
                }
                if (shown >= STATUS_MAX_FILES)
                        printf("... (only the first %d listed)\n", STATUS_MAX_FILES);
        }
        if (t.pending_batches > 0)
                printf("pending: %llu batches, %llu records, %llu files\n",
                       (unsigned long long)t.pending_batches, (unsigned long long)t.pending_records,
                       (unsigned long long)t.pending_files);
        else
                printf("nothing pending\n");
        outbox_close(&ob);
        return t.pending_batches > 0 ? 1 : 0;
failed:
        fprintf(stderr, PROG ": cannot read the outbox %s (see above)\n", o.outbox);
        outbox_close(&ob);
        return EXIT_INPUT;
}

/*
 * Check the --unit and --period (and text, may be NULL) of review command
 * cmd; prints the problem and returns -1 when they will not do.
 */
static int
review_args_check(const char *cmd, const struct opts *o, const char *text)
{
        if (o->unit == NULL || o->period == NULL) {
                fprintf(stderr, PROG " %s: missing %s\n", cmd,
                        o->unit == NULL ? "--unit" : "--period");
                usage(stderr);
                return -1;
        }
        if (o->unit[0] == '\0' || o->period[0] == '\0') {
                fprintf(stderr, PROG " %s: --unit and --period must not be empty\n", cmd);
                return -1;
        }
        if (strlen(o->unit) > PROTO_MAX_FIELD || strlen(o->period) > PROTO_MAX_FIELD) {
                fprintf(stderr, PROG " %s: --unit and --period take at most %d bytes\n", cmd,
                        PROTO_MAX_FIELD);
                return -1;
        }
        if (text != NULL && strlen(text) > PROTO_MAX_TEXT) {
                fprintf(stderr, PROG " %s: the text is %zu bytes; at most %d\n", cmd, strlen(text),
                        PROTO_MAX_TEXT);
                return -1;
        }
        if (!utf8_valid(o->unit, strlen(o->unit)) || !utf8_valid(o->period, strlen(o->period)) ||
            (text != NULL && !utf8_valid(text, strlen(text)))) {
                fprintf(stderr, PROG " %s: the text or an option is not valid UTF-8\n", cmd);
                return -1;
        }
        return 0;
}

/* The aggregator's socket for a one-message command; NULL (told) when the endpoint is bad. */
static void *
review_connect(const struct opts *o, void **ctx)
{
        void *sock;

        link_signals_catch(submit_on_signal);
        *ctx = link_ctx_new();
        if ((sock = link_connect(*ctx, o->endpoint, ACK_MAX_BYTES)) == NULL) {
                zmq_ctx_term(*ctx);
                fprintf(stderr,
                        PROG ": cannot use the aggregator endpoint \"%s\"; nothing was sent\n",
                        o->endpoint);
        }
        return sock;
}

/* finish, approve, return: see the top of this file. */
static int
cmd_review(const char *cmd, int argc, char **argv)
{
        struct opts o = {0};
        struct deliver_policy pol = {
            .first_ms = SUBMIT_FIRST_MS, .max_ms = SUBMIT_MAX_MS, .window = 1};
        struct deliver_review rv;
        char host[256], message[PROTO_MAX_TEXT + 1];
        const char *text;
        void *ctx, *sock;
        int r;

        args_parse(cmd, argc, argv, &o);
        text = strcmp(cmd, "approve") == 0  ? o.comment
               : strcmp(cmd, "return") == 0 ? o.reason
                                            : NULL;
        if (review_args_check(cmd, &o, text) < 0)
                return EXIT_INPUT;
        if (strcmp(cmd, "return") == 0 && (text == NULL || text[strspn(text, " \t\r\n")] == '\0')) {
                fprintf(stderr, PROG " return: a return needs a reason (--reason TEXT)\n");
                return EXIT_INPUT;
        }
        if (text != NULL && text[strspn(text, " \t\r\n")] == '\0')
                text = NULL; /* an empty comment is none */
        rv = (struct deliver_review){.collector = collector_checked(host, sizeof(host)),
                                     .kind = cmd,
                                     .unit = o.unit,
                                     .period = o.period,
                                     .text = text};
        pol.endpoint = o.endpoint;
        if ((sock = review_connect(&o, &ctx)) == NULL)
                return EXIT_INPUT;
        r = deliver_review(sock, &pol, &rv, (int64_t)o.timeout * 1000, &submit_signal, message,
                           sizeof(message));
        wire_close(&sock);
        zmq_ctx_term(ctx);
        switch (r) {
        case 1:
                if (strcmp(cmd, "finish") == 0)
                        printf("unit %s period %s: submitted (上报) — waiting for the office above "
                               "to approve\n",
                               o.unit, o.period);
                else if (strcmp(cmd, "approve") == 0)
                        printf("unit %s period %s: approved (通过)%s%s%s\n", o.unit, o.period,
                               text ? " (" : "", text ? text : "", text ? ")" : "");
                else
                        printf("unit %s period %s: returned (退回): %s — open again for "
                               "corrections and a new finish\n",
                               o.unit, o.period, text);
                fflush(stdout);
                return EXIT_ALL_OK;
        case 2:
                fprintf(stderr, "%s refused: %s\n", cmd, message);
                return EXIT_UNCONFIRMED;
        case 0:
                if (submit_signal) {
                        fprintf(stderr,
                                PROG ": %s not confirmed: stopped by signal %d before the answer "
                                     "came; it may or may not have been stored: see with "
                                     "`status --unit %s --period %s` before running it again\n",
                                cmd, (int)submit_signal, o.unit, o.period);
                        return 128 + submit_signal;
                }
                fprintf(stderr,
                        PROG ": %s not confirmed: no answer from %s within %ld s; it may or may "
                             "not have been stored: see with `status --unit %s --period %s` "
                             "before running it again\n",
                        cmd, o.endpoint, o.timeout, o.unit, o.period);
                return EXIT_UNCONFIRMED;
        default:
                fprintf(stderr, PROG ": %s not sent (see above); run it again\n", cmd);
                return EXIT_UNCONFIRMED;
        }
}

/* at (microseconds since 1970) as local time, as the aggregator writes it. */
static void
time_text(uint64_t at, char *buf, size_t len)
{
        time_t t = (time_t)(at / 1000000);
        struct tm tm;

        if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
                strlcpyf(buf, len, "%llu", (unsigned long long)at);
}

/* status --unit --period: the review state, from the aggregator. */
static int
review_status(struct opts *o)
{
        struct deliver_policy pol = {
            .first_ms = SUBMIT_FIRST_MS, .max_ms = SUBMIT_MAX_MS, .window = 1};
        struct proto_told t;
        char host[256], message[PROTO_MAX_TEXT + 1], when[64];
        void *ctx, *sock, *buf = NULL;
        int r;

        if (review_args_check("status", o, NULL) < 0)
                return EXIT_INPUT;
        pol.endpoint = o->endpoint;
        if ((sock = review_connect(o, &ctx)) == NULL)
                return EXIT_INPUT;
        r = deliver_ask(sock, &pol, collector_checked(host, sizeof(host)), o->unit, o->period,
                        (int64_t)o->timeout * 1000, &submit_signal, &t, &buf, message,
                        sizeof(message));
        wire_close(&sock);
        zmq_ctx_term(ctx);
        if (r == 2) {
                fprintf(stderr, "status refused: %s\n", message);
                return EXIT_UNCONFIRMED;
        }
        if (r != 1) {
                fprintf(stderr, PROG ": no answer from %s within %ld s\n", o->endpoint, o->timeout);
                return EXIT_UNCONFIRMED;
        }
        time_text(t.at, when, sizeof(when));
        printf("unit %s period %s: %.*s", o->unit, o->period, (int)t.state.len, t.state.p);
        if (t.by.p != NULL && t.state.len == 4 && memcmp(t.state.p, "open", 4) == 0)
                printf(" — returned (退回) by %.*s at %s: %.*s", (int)t.by.len, t.by.p, when,
                       (int)t.comment.len, t.comment.p ? t.comment.p : "");
        else if (t.by.p != NULL)
                printf(" by %.*s at %s", (int)t.by.len, t.by.p, when);
        if (t.by.p != NULL && t.comment.p != NULL &&
            !(t.state.len == 4 && memcmp(t.state.p, "open", 4) == 0))
                printf(" (%.*s)", (int)t.comment.len, t.comment.p);
        putchar('\n');
        if (t.state.len == 4 && memcmp(t.state.p, "open", 4) == 0) {
                if (t.nblockers == 0) {
                        printf("ready to finish\n");
                } else {
                        printf("not ready to finish:\n");
                        for (uint32_t i = 0; i < t.nblockers; i++)
                                printf("  %.*s\n", (int)t.blockers[i].len, t.blockers[i].p);
                }
        }
        fflush(stdout);
        proto_told_free(&t);
        free(buf);
        return EXIT_ALL_OK;
}

/* explain: see the top of this file. */
static int
cmd_explain(int argc, char **argv)
{
        struct opts o = {0};
        struct deliver_policy pol = {
            .first_ms = SUBMIT_FIRST_MS, .max_ms = SUBMIT_MAX_MS, .window = 1};
        struct deliver_explanation e;
        const char *text;
        char host[256], message[PROTO_MAX_TEXT + 1];
        void *ctx, *sock;
        int first, r;

        first = args_parse("explain", argc, argv, &o);
        if (first < argc && o.text != NULL) {
                fprintf(stderr, PROG " explain: give the text once, as --text or as TEXT\n");
                return EXIT_INPUT;
        }
        if (argc - first > 1) {
                fprintf(stderr, PROG " explain: unexpected argument \"%s\" (quote the text)\n",
                        argv[first + 1]);
                return EXIT_INPUT;
        }
        text = first < argc ? argv[first] : o.text;
        if (o.unit == NULL || o.period == NULL || o.rule == NULL || text == NULL) {
                fprintf(stderr, PROG " explain: missing %s\n",
                        o.unit == NULL     ? "--unit"
                        : o.period == NULL ? "--period"
                        : o.rule == NULL   ? "--rule"
                                           : "the text of the explanation");
                usage(stderr);
                return EXIT_INPUT;
        }
        if (o.unit[0] == '\0' || o.period[0] == '\0' || o.rule[0] == '\0') {
                fprintf(stderr, PROG " explain: --unit, --period and --rule must not be empty\n");
                return EXIT_INPUT;
        }
        if (strlen(o.unit) > PROTO_MAX_FIELD || strlen(o.period) > PROTO_MAX_FIELD ||
            strlen(o.rule) > PROTO_MAX_ID) {
                fprintf(stderr,
                        PROG " explain: --unit and --period take at most %d bytes, --rule %d\n",
                        PROTO_MAX_FIELD, PROTO_MAX_ID);
                return EXIT_INPUT;
        }
        if (text[strspn(text, " \t\r\n")] == '\0') {
                fprintf(stderr, PROG " explain: the explanation is empty\n");
                return EXIT_INPUT;
        }
        if (strlen(text) > PROTO_MAX_TEXT) {
                fprintf(stderr, PROG " explain: the explanation is %zu bytes; at most %d\n",
                        strlen(text), PROTO_MAX_TEXT);
                return EXIT_INPUT;
        }
        if (!utf8_valid(text, strlen(text)) || !utf8_valid(o.unit, strlen(o.unit)) ||
            !utf8_valid(o.period, strlen(o.period)) || !utf8_valid(o.rule, strlen(o.rule))) {
                fprintf(stderr, PROG " explain: the text or an option is not valid UTF-8\n");
                return EXIT_INPUT;
        }
        e = (struct deliver_explanation){.collector = collector_checked(host, sizeof(host)),
                                         .unit = o.unit,
                                         .period = o.period,
                                         .rule = o.rule,
                                         .text = text};
        pol.endpoint = o.endpoint;

        link_signals_catch(submit_on_signal);
        ctx = link_ctx_new();
        if ((sock = link_connect(ctx, o.endpoint, ACK_MAX_BYTES)) == NULL) {
                zmq_ctx_term(ctx);
                fprintf(stderr,
                        PROG ": cannot use the aggregator endpoint \"%s\"; nothing was sent\n",
                        o.endpoint);
                return EXIT_INPUT;
        }
        r = deliver_explain(sock, &pol, &e, (int64_t)o.timeout * 1000, &submit_signal, message,
                            sizeof(message));
        wire_close(&sock);
        zmq_ctx_term(ctx);
        switch (r) {
        case 1:
                printf("explained: unit %s period %s rule %s\n", o.unit, o.period, o.rule);
                fflush(stdout);
                return EXIT_ALL_OK;
        case 2:
                fprintf(stderr, "explain refused: %s\n", message);
                return EXIT_UNCONFIRMED;
        case 0:
                if (submit_signal) {
                        fprintf(stderr,
                                PROG ": explanation not confirmed: stopped by signal %d before "
                                     "the answer came; it may or may not have been stored: run "
                                     "the same explain again\n",
                                (int)submit_signal);
                        return 128 + submit_signal;
                }
                fprintf(stderr,
                        PROG ": explanation not confirmed: no answer from %s within %ld s; it may "
                             "or may not have been stored: run the same explain again\n",
                        o.endpoint, o.timeout);
                return EXIT_UNCONFIRMED;
        default:
                fprintf(stderr, PROG ": explanation not sent (see above); run it again\n");
                return EXIT_UNCONFIRMED;
        }
}

static int
cmd_run(int argc, char **argv)
{
        struct opts o = {0};
        struct run_opts ro;
        char host[256];
        const char *quiet = env_or("EDUSTAT_SPOOL_QUIET_MS", NULL);
        long quiet_ms = SPOOL_QUIET_MS;

        args_parse("run", argc, argv, &o);
        if (quiet != NULL && parse_long(quiet, 0, 3600000, &quiet_ms) < 0) {
                fprintf(stderr,
                        PROG ": EDUSTAT_SPOOL_QUIET_MS \"%s\" is not a number of milliseconds "
                             "(0..3600000)\n",
                        quiet);
                exit(EXIT_INPUT);
        }
        ro.quiet_ms = quiet_ms;
        ro.endpoint = o.endpoint;
        ro.collector = collector_checked(host, sizeof(host));
        ro.outbox = o.outbox;
        ro.spool = o.spool;
        return run_main(&ro);
}

int
main(int argc, char **argv)
{
        log_init(PROG, 0);
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                usage(stdout);
                return EXIT_ALL_OK;
        }
        if (argc >= 2 && strcmp(argv[1], "submit") == 0)
                return cmd_submit(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "run") == 0)
                return cmd_run(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "status") == 0)
                return cmd_status(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "template") == 0)
                return template_main(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "explain") == 0)
                return cmd_explain(argc - 1, argv + 1);
        if (argc >= 2 && (strcmp(argv[1], "finish") == 0 || strcmp(argv[1], "approve") == 0 ||
                          strcmp(argv[1], "return") == 0))
                return cmd_review(argv[1], argc - 1, argv + 1);
        usage(stderr);
        return EXIT_INPUT;
}
