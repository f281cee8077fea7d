/*
 * edustat-collector: send school CSV files to the aggregator and print what
 * became of every record.
 *
 *   edustat-collector submit [--unit CODE] [--period PERIOD] [--timeout SEC]
 *                            [--aggregator ENDPOINT] FILE...
 *
 * Files become records (collector/submit.c), records travel in batches of
 * at most BATCH_MAX_RECORDS over one DEALER socket with INFLIGHT_MAX
 * batches outstanding, and each batch is resent until the aggregator acks
 * it.  Resending is safe because the aggregator is idempotent: a record
 * whose version is not above the stored one changes nothing.  An ack means
 * committed in PostgreSQL, so the exit code can promise it:
 *   0  every record accepted and committed
 *   1  everything delivered, some records rejected (FILE:LINE: reason)
 *   2  input could not be read (missing file, usage); readable files are
 *      still submitted first
 *   3  delivery not confirmed within the timeout, or a batch refused
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>
#include <zmq.h>

#include "log.h"
#include "proto.h"
#include "submit.h"
#include "util.h"
#include "zsock.h"

#define PROG               "edustat-collector"
#define BATCH_MAX_RECORDS  5000
#define BATCH_MAX_BYTES    (PROTO_MAX_SUBMIT_BYTES / 2) /* room for the envelope */
#define INFLIGHT_MAX       8
#define RESEND_FIRST_MS    5000
#define RESEND_MAX_MS      30000
#define SEND_RETRY_MS      250 /* the socket's queue was full: try again soon */
#define STDIN_MAX          ((size_t)256 * 1024 * 1024)
#define ACK_MAX_BYTES      (4 * (int64_t)PROTO_MAX_SUBMIT_BYTES)
#define DEFAULT_AGGREGATOR "tcp://127.0.0.1:5560"
#define DEFAULT_TIMEOUT    60

enum exit_code { EXIT_ALL_OK = 0, EXIT_REJECTED = 1, EXIT_INPUT = 2, EXIT_UNCONFIRMED = 3 };

struct rejection {
        unsigned long line;
        char *reason;
        int from_ack; /* reported by the aggregator, not found by submit_read */
};

struct file {
        const char *path;
        struct submission *sub;
        uint64_t accepted, changed;
        struct rejection *rej;
        size_t nrej, caprej;
        size_t nbatches, nacked;
};

struct batch {
        struct file *file;
        size_t first, n; /* file->sub->rec[first .. first + n) */
        char id[33];
        msgpack_sbuffer buf; /* the packed message while in flight */
        int64_t resend_at, backoff;
};

struct run {
        const char *endpoint, *collector;
        long timeout;
        struct batch *b;
        size_t nb, nacked, nrefused;
        size_t inflight[INFLIGHT_MAX], ninflight;
        int urandom;
        int broken; /* the aggregator refused a message it could not attribute */
};

static void
usage(FILE *fp)
{
        fprintf(fp, "usage: " PROG " submit [--unit CODE] [--period PERIOD] [--timeout SEC]\n"
                    "                         [--aggregator ENDPOINT] FILE...\n"
                    "\n"
                    "Sends CSV files with the columns unit,period,indicator,value (any order;\n"
                    "unit and period may come from the flags) and prints a receipt per file.\n"
                    "FILE - reads standard input.\n"
                    "\n"
                    "Environment: EDUSTAT_AGGREGATOR (default " DEFAULT_AGGREGATOR "),\n"
                    "EDUSTAT_COLLECTOR_NAME (default the host name), EDUSTAT_TIMEOUT (seconds,\n"
                    "default 60).\n"
                    "\n"
                    "Exit: 0 all accepted; 1 delivered, some rejected; 2 input could not be read;\n"
                    "3 delivery not confirmed.\n");
}

static void
rejection_add(struct file *f, unsigned long line, const char *reason, size_t len, int from_ack)
{
        if (f->nrej == f->caprej) {
                f->caprej = f->caprej ? f->caprej * 2 : 16;
                f->rej = xreallocarray(f->rej, f->caprej, sizeof(*f->rej));
        }
        f->rej[f->nrej].line = line;
        f->rej[f->nrej].reason = xstrndup(reason, len);
        f->rej[f->nrej].from_ack = from_ack;
        f->nrej++;
}

/* Slurp standard input, up to STDIN_MAX bytes.  Returns 0 or -1 with err. */
static int
stdin_read(char **bufp, size_t *lenp, char *err, size_t errlen)
{
        size_t len = 0, cap = 64 * 1024;
        char *buf = xmalloc(cap);

        for (;;) {
                size_t got;

                if (len == cap) {
                        if (cap >= STDIN_MAX + 1) {
                                free(buf);
                                strlcpyf(err, errlen, "-: standard input is larger than %zu MB",
                                         STDIN_MAX >> 20);
                                return -1;
                        }
                        cap = cap * 2 > STDIN_MAX + 1 ? STDIN_MAX + 1 : cap * 2;
                        buf = xrealloc(buf, cap);
                }
                got = fread(buf + len, 1, cap - len, stdin);
                len += got;
                if (got == 0)
                        break;
        }
        if (ferror(stdin)) {
                strlcpyf(err, errlen, "-: cannot read standard input: %s", strerror(errno));
                free(buf);
                return -1;
        }
        *bufp = buf;
        *lenp = len;
        return 0;
}

static struct submission *
file_read(const char *path, const char *unit, const char *period, uint64_t base, char *err,
          size_t errlen)
{
        struct submission *s;
        char *buf;
        size_t len;

        if (strlen(path) > PROTO_MAX_TEXT) {
                strlcpyf(err, errlen, "%.64s...: path longer than %d bytes", path, PROTO_MAX_TEXT);
                return NULL;
        }
        if (strcmp(path, "-") != 0)
                return submit_read(path, unit, period, base, err, errlen);
        if (stdin_read(&buf, &len, err, errlen) < 0)
                return NULL;
        s = submit_read_mem(path, buf, len, unit, period, base, err, errlen);
        free(buf);
        return s;
}

/* Estimated packed size of a record: its strings plus msgpack headers. */
static size_t
record_bytes(const struct submit_record *r)
{
        return 48 + strlen(r->unit) + strlen(r->period) + strlen(r->indicator) + strlen(r->value) +
               (r->raw ? strlen(r->raw) : 0) + (r->reason ? strlen(r->reason) : 0);
}

/* Cut every file's records into batches; a batch never spans two files. */
static void
batches_plan(struct run *run, struct file *files, size_t nfiles)
{
        size_t cap = 0;

        for (size_t i = 0; i < nfiles; i++) {
                struct submission *s = files[i].sub;
                size_t bytes = 0;

                for (size_t k = 0; s != NULL && k < s->n; k++) {
                        size_t rb = record_bytes(&s->rec[k]);
                        struct batch *b = run->nb ? &run->b[run->nb - 1] : NULL;

                        if (k == 0 || b->n == BATCH_MAX_RECORDS || bytes + rb > BATCH_MAX_BYTES) {
                                if (run->nb == cap) {
                                        cap = cap ? cap * 2 : 16;
                                        run->b = xreallocarray(run->b, cap, sizeof(*run->b));
                                }
                                b = &run->b[run->nb++];
                                memset(b, 0, sizeof(*b));
                                b->file = &files[i];
                                b->first = k;
                                files[i].nbatches++;
                                bytes = 0;
                        }
                        b->n++;
                        bytes += rb;
                }
        }
}

/* Give the batch a fresh id and pack its message. */
static void
batch_pack(struct run *run, struct batch *b)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char rnd[16];
        msgpack_packer pk;

        if (read(run->urandom, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
                fatal("read /dev/urandom");
        for (size_t i = 0; i < sizeof(rnd); i++) {
                b->id[2 * i] = hex[rnd[i] >> 4];
                b->id[2 * i + 1] = hex[rnd[i] & 15];
        }
        b->id[32] = '\0';
        msgpack_sbuffer_init(&b->buf);
        msgpack_packer_init(&pk, &b->buf, msgpack_sbuffer_write);
        proto_submit_begin(&pk, run->collector, b->id, b->file->path, (uint32_t)b->n);
        for (size_t k = b->first; k < b->first + b->n; k++) {
                const struct submit_record *r = &b->file->sub->rec[k];
                struct proto_record pr = {
                    /* A file of four billion lines would be cut long before. */
                    .line = r->line > UINT32_MAX ? UINT32_MAX : (uint32_t)r->line,
                    .version = r->version,
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

static void
batch_send(void *sock, struct batch *b, int64_t now)
{
        if (zsock_send(sock, b->buf.data, b->buf.size, ZMQ_DONTWAIT) < 0) {
                log_debug("batch %s: send: %s; retrying", b->id, zmq_strerror(errno));
                b->resend_at = now + SEND_RETRY_MS;
                return;
        }
        b->resend_at = now + b->backoff;
        b->backoff = b->backoff * 2 > RESEND_MAX_MS ? RESEND_MAX_MS : b->backoff * 2;
}

/*
 * Take the batch out of the in-flight set, acked or refused, and drop its
 * packed message.
 */
static void
batch_finish(struct run *run, size_t slot, int acked)
{
        struct batch *b = &run->b[run->inflight[slot]];

        msgpack_sbuffer_destroy(&b->buf);
        run->inflight[slot] = run->inflight[--run->ninflight];
        if (acked) {
                run->nacked++;
                b->file->nacked++;
        } else {
                run->nrefused++;
        }
}

static void
reply_handle(struct run *run, const void *buf, size_t len)
{
        enum proto_type t = proto_peek(buf, len);
        struct proto_ack a;
        char err[256];
        size_t slot;

        if (t != PROTO_ACK && t != PROTO_ERROR) {
                log_warnx("ignoring a message of unexpected type from %s", run->endpoint);
                return;
        }
        if (proto_ack_decode(buf, len, &a, err, sizeof(err)) < 0) {
                log_warnx("ignoring a malformed reply from %s: %s", run->endpoint, err);
                return;
        }
        for (slot = 0; slot < run->ninflight; slot++) {
                struct batch *b = &run->b[run->inflight[slot]];

                if (a.batch_id.p != NULL && a.batch_id.len == 32 &&
                    memcmp(a.batch_id.p, b->id, 32) == 0)
                        break;
        }
        if (t == PROTO_ERROR) {
                if (slot < run->ninflight) {
                        fprintf(stderr, PROG ": %s: the aggregator refused batch %s: %.*s\n",
                                run->b[run->inflight[slot]].file->path,
                                run->b[run->inflight[slot]].id, (int)a.message.len,
                                a.message.p ? a.message.p : "");
                        batch_finish(run, slot, 0);
                } else if (a.batch_id.p == NULL) {
                        fprintf(stderr, PROG ": the aggregator refused a message: %.*s\n",
                                (int)a.message.len, a.message.p ? a.message.p : "");
                        run->broken = 1;
                }
        } else if (slot < run->ninflight) {
                struct batch *b = &run->b[run->inflight[slot]];

                b->file->accepted += a.accepted;
                b->file->changed += a.changed;
                for (uint32_t i = 0; i < a.nrej; i++)
                        rejection_add(b->file, a.rej[i].line,
                                      a.rej[i].reason.p ? a.rej[i].reason.p : "",
                                      a.rej[i].reason.p ? a.rej[i].reason.len : 0, 1);
                batch_finish(run, slot, 1);
        }
        /* Anything else is the ack of a resent batch already counted. */
        proto_ack_free(&a);
}

/* Send every batch and collect the replies until all are answered or time is up. */
static void
deliver(struct run *run, void *sock)
{
        size_t next = 0;
        int64_t deadline = now_ms() + (int64_t)run->timeout * 1000;

        while (!run->broken && run->nacked + run->nrefused < run->nb) {
                int64_t now = now_ms(), wake = deadline;
                zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
                zmq_msg_t msg;

                if (now >= deadline)
                        break;
                while (run->ninflight < INFLIGHT_MAX && next < run->nb) {
                        struct batch *b = &run->b[next];

                        batch_pack(run, b);
                        b->backoff = RESEND_FIRST_MS;
                        b->resend_at = now;
                        run->inflight[run->ninflight++] = next++;
                }
                for (size_t i = 0; i < run->ninflight; i++) {
                        struct batch *b = &run->b[run->inflight[i]];

                        if (b->resend_at <= now)
                                batch_send(sock, b, now);
                        if (b->resend_at < wake)
                                wake = b->resend_at;
                }
                if (zmq_poll(&item, 1, wake > now ? (long)(wake - now) : 0) < 0 && errno != EINTR)
                        fatal("zmq_poll");
                zmq_msg_init(&msg);
                while (zsock_recv(sock, &msg, ZMQ_DONTWAIT) == 0) {
                        reply_handle(run, zmq_msg_data(&msg), zmq_msg_size(&msg));
                        zmq_msg_close(&msg);
                        zmq_msg_init(&msg);
                }
                zmq_msg_close(&msg);
        }
        for (size_t i = 0; i < run->ninflight; i++)
                msgpack_sbuffer_destroy(&run->b[run->inflight[i]].buf);
}

static int
rejection_cmp(const void *a, const void *b)
{
        const struct rejection *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->from_ack - y->from_ack;
}

/*
 * Print the file's receipt and its rejections.  The aggregator may echo the
 * rows the collector rejected itself; a line the collector rejected is
 * printed once, with the collector's reason.  Returns the number rejected.
 */
static size_t
receipt_print(struct file *f)
{
        size_t n = 0;

        for (size_t i = 0; i < f->sub->n; i++)
                if (f->sub->rec[i].reason != NULL)
                        rejection_add(f, f->sub->rec[i].line, f->sub->rec[i].reason,
                                      strlen(f->sub->rec[i].reason), 0);
        if (f->nrej > 1)
                qsort(f->rej, f->nrej, sizeof(*f->rej), rejection_cmp);
        for (size_t i = 0; i < f->nrej; i++) {
                if (f->rej[i].from_ack && n > 0 && !f->rej[n - 1].from_ack &&
                    f->rej[n - 1].line == f->rej[i].line) {
                        free(f->rej[i].reason);
                        continue;
                }
                f->rej[n++] = f->rej[i];
        }
        f->nrej = n;
        printf("%s: %zu records, %llu accepted (%llu changed), %zu rejected\n", f->path, f->sub->n,
               (unsigned long long)f->accepted, (unsigned long long)f->changed, n);
        fflush(stdout);
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, "%s:%lu: %s\n", f->path, f->rej[i].line, f->rej[i].reason);
        return n;
}

/* Connect, deliver every batch, disconnect.  -1 when the endpoint is unusable. */
static int
run_deliver(struct run *run)
{
        void *ctx = zmq_ctx_new(), *sock;
        int rc = -1;

        if (ctx == NULL)
                fatal("zmq_ctx_new");
        if ((run->urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
                fatal("open /dev/urandom");
        if ((sock = zsock_dealer_connect(ctx, run->endpoint, ACK_MAX_BYTES)) != NULL) {
                deliver(run, sock);
                zsock_close(&sock);
                rc = 0;
        }
        zmq_ctx_term(ctx);
        close(run->urandom);
        return rc;
}

/* Print the receipts and the verdict; returns the exit code. */
static int
report(const struct run *run, struct file *files, size_t nfiles, int input_failed)
{
        size_t nrejected = 0, unconfirmed = run->nb - run->nacked - run->nrefused;

        for (size_t i = 0; i < nfiles; i++) {
                if (files[i].nacked == files[i].nbatches)
                        nrejected += receipt_print(&files[i]);
                else
                        printf("%s: %zu records, not confirmed\n", files[i].path, files[i].sub->n);
        }
        fflush(stdout);
        if (run->broken)
                fprintf(stderr,
                        PROG ": delivery not confirmed: the aggregator at %s refused a message "
                             "(%zu of %zu batches unconfirmed); run submit again when it is "
                             "fixed\n",
                        run->endpoint, unconfirmed + run->nrefused, run->nb);
        else if (unconfirmed > 0)
                fprintf(stderr,
                        PROG ": delivery not confirmed: no acknowledgement from %s within %ld s "
                             "(%zu of %zu batches unconfirmed); nothing was lost on the server "
                             "side for unconfirmed batches, run submit again\n",
                        run->endpoint, run->timeout, unconfirmed, run->nb);
        else if (run->nrefused > 0)
                fprintf(stderr,
                        PROG ": delivery not confirmed: the aggregator at %s refused %zu of %zu "
                             "batches (see above); run submit again when it is fixed\n",
                        run->endpoint, run->nrefused, run->nb);
        if (run->nacked < run->nb)
                return EXIT_UNCONFIRMED;
        if (input_failed)
                return EXIT_INPUT;
        return nrejected > 0 ? EXIT_REJECTED : EXIT_ALL_OK;
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

/* Parse the submit command line into run and the flags; exits 2 on misuse. */
static int
args_parse(int argc, char **argv, struct run *run, const char **unit, const char **period)
{
        static const struct option opts[] = {
            {"unit", required_argument, NULL, 'u'},    {"period", required_argument, NULL, 'p'},
            {"timeout", required_argument, NULL, 't'}, {"aggregator", required_argument, NULL, 'a'},
            {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
        };
        const char *timeout = env_or("EDUSTAT_TIMEOUT", NULL);
        int c;

        run->endpoint = env_or("EDUSTAT_AGGREGATOR", DEFAULT_AGGREGATOR);
        run->timeout = DEFAULT_TIMEOUT;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'u':
                        *unit = optarg;
                        break;
                case 'p':
                        *period = optarg;
                        break;
                case 't':
                        timeout = optarg;
                        break;
                case 'a':
                        run->endpoint = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(EXIT_ALL_OK);
                default:
                        usage(stderr);
                        exit(EXIT_INPUT);
                }
        }
        if (timeout != NULL && parse_long(timeout, 1, 86400, &run->timeout) < 0) {
                fprintf(stderr, PROG ": timeout \"%s\" is not a number of seconds (1..86400)\n",
                        timeout);
                exit(EXIT_INPUT);
        }
        if (optind >= argc) {
                fprintf(stderr, PROG ": no FILE given\n");
                usage(stderr);
                exit(EXIT_INPUT);
        }
        return optind;
}

int
main(int argc, char **argv)
{
        struct run run = {0};
        const char *unit = NULL, *period = NULL;
        char host[256], err[512];
        struct file *files;
        size_t nfiles = 0;
        int first, input_failed = 0, stdin_used = 0, code;
        /*
         * Versions: the run's start in µs times 1024, plus the record's
         * index.  A run spans nrecords / 1024 µs of version space, far less
         * than the time it takes to deliver them, so a later run's versions
         * are always above an earlier run's (issue #3 persists the counter).
         */
        uint64_t version = (uint64_t)wallclock_us() << 10;

        log_init(PROG, 0);
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                usage(stdout);
                return EXIT_ALL_OK;
        }
        if (argc < 2 || strcmp(argv[1], "submit") != 0) {
                usage(stderr);
                return EXIT_INPUT;
        }
        first = 1 + args_parse(argc - 1, argv + 1, &run, &unit, &period);
        run.collector = collector_name(host, sizeof(host));
        if (strlen(run.collector) > PROTO_MAX_ID) {
                fprintf(stderr, PROG ": EDUSTAT_COLLECTOR_NAME is longer than %d bytes\n",
                        PROTO_MAX_ID);
                return EXIT_INPUT;
        }

        files = xcalloc((size_t)(argc - first), sizeof(*files));
        for (int i = first; i < argc; i++) {
                struct file *f = &files[nfiles];

                if (strcmp(argv[i], "-") == 0 && stdin_used++) {
                        fprintf(stderr, PROG ": -: standard input can be read only once\n");
                        input_failed = 1;
                        continue;
                }
                f->path = argv[i];
                f->sub = file_read(argv[i], unit, period, version, err, sizeof(err));
                if (f->sub == NULL) {
                        fprintf(stderr, PROG ": %s\n", err);
                        input_failed = 1;
                        continue;
                }
                version += f->sub->n;
                nfiles++;
        }

        batches_plan(&run, files, nfiles);
        if (run.nb > 0 && run_deliver(&run) < 0) {
                fprintf(stderr, PROG ": cannot use the aggregator endpoint \"%s\"\n", run.endpoint);
                code = EXIT_INPUT;
        } else {
                code = report(&run, files, nfiles, input_failed);
        }

        for (size_t i = 0; i < nfiles; i++) {
                for (size_t k = 0; k < files[i].nrej; k++)
                        free(files[i].rej[k].reason);
                free(files[i].rej);
                submission_destroy(&files[i].sub);
        }
        free(files);
        free(run.b);
        return code;
}
