/*
 * edustat-sink: owns PostgreSQL.  Migrates the schema, loads the config,
 * then answers the aggregator on a ROUTER socket: "hello" gets the stored
 * state back, each "uow" is committed in one transaction and acknowledged
 * only after COMMIT.  One thread; messages are handled one at a time, in
 * the order they arrive.  See docs/ARCHITECTURE.md and sink/writer.h.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <msgpack.h>
#include <zmq.h>

#include "check.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "migrate.h"
#include "proto.h"
#include "refdata.h"
#include "security.h"
#include "util.h"
#include "writer.h"
#include "zap.h"
#include "wire.h"

/* How often the loop wakes to look at the stop flag and the summary. */
#define POLL_MS 500
/* The summary of committed work is logged at most this often. */
#define SUMMARY_MS 10000
/* A send to an aggregator that stops reading gives up after this long. */
#define SEND_TIMEOUT_MS 60000

struct settings {
        const char *db_url;
        const char *bind;
        const char *config_dir;
        int debug;
        int check; /* --check: run the consistency check and exit */
};

struct sink {
        struct settings set;
        struct config *cfg;
        struct writer *w;
        void *ctx;
        void *router;
        struct keyset *peers; /* admitted aggregators (NULL when insecure) */
        struct zap *zap;
        msgpack_sbuffer sbuf;
        msgpack_packer pk;
        struct writer_stats logged; /* counters at the last summary */
        int64_t last_summary_ms;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static void
usage(void)
{
        fprintf(stderr,
                "usage: edustat-sink [--db-url CONNINFO] [--bind ENDPOINT] [--config DIR] "
                "[--debug]\n"
                "       edustat-sink --check [--db-url CONNINFO]   recompute every aggregate from\n"
                "         unit_value and compare with agg_value; exit 0 equal, 1 mismatches,\n"
                "         2 cannot run\n"
                "Environment: EDUSTAT_DB_URL (libpq connection string; \"\" = libpq defaults),\n"
                "  EDUSTAT_SINK_BIND (tcp://*:5561), EDUSTAT_CONFIG (./config),\n"
                "  EDUSTAT_LOG_LEVEL (info|debug)\n");
        exit(2);
}

/*
 * A password in --db-url would be on the command line, which every user
 * of the machine can read (ps, /proc).  Refuse it and say where it goes.
 */
static void
db_url_check_argv(const char *url)
{
        PQconninfoOption *opts = PQconninfoParse(url, NULL);
        int has_password = 0;

        if (opts == NULL)
                fatalx("--db-url: not a libpq connection string or URI");
        for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
                if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0')
                        has_password = 1;
        PQconninfoFree(opts);
        if (has_password)
                fatalx("--db-url holds a password, which anyone on this machine can read in the "
                       "process list: give the connection string in EDUSTAT_DB_URL instead, or the "
                       "password in PGPASSWORD or a ~/.pgpass file (PGPASSFILE)");
}

static void
settings_load(struct settings *s, int argc, char **argv)
{
        static const struct option opts[] = {
            {"db-url", required_argument, NULL, 'd'},
            {"bind", required_argument, NULL, 'b'},
            {"config", required_argument, NULL, 'c'},
            {"debug", no_argument, NULL, 'D'},
            {"help", no_argument, NULL, 'h'},
            {"check", no_argument, NULL, 'k'},
            {NULL, 0, NULL, 0},
        };
        const char *url = getenv("EDUSTAT_DB_URL");
        int ch;

        /* An empty EDUSTAT_DB_URL is meaningful: libpq's defaults. */
        s->db_url = url != NULL ? url : "";
        s->bind = env_or("EDUSTAT_SINK_BIND", "tcp://*:5561");
        s->config_dir = env_or("EDUSTAT_CONFIG", "./config");
        s->debug = 0;
        s->check = 0;
        while ((ch = getopt_long(argc, argv, "d:b:c:Dhk", opts, NULL)) != -1) {
                switch (ch) {
                case 'd':
                        db_url_check_argv(optarg);
                        s->db_url = optarg;
                        break;
                case 'b':
                        s->bind = optarg;
                        break;
                case 'c':
                        s->config_dir = optarg;
                        break;
                case 'D':
                        s->debug = 1;
                        break;
                case 'k':
                        s->check = 1;
                        break;
                default:
                        usage();
                }
        }
        if (optind != argc)
                usage();
}

static void
signals_install(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        /* No SA_RESTART: zmq_poll returns EINTR and the loop sees the flag. */
        if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
                fatal("sigaction");
        sa.sa_handler = SIG_IGN;
        if (sigaction(SIGPIPE, &sa, NULL) == -1)
                fatal("sigaction");
}

/*
 * Connect, migrate and load the config, starting over on a new connection
 * whenever the database goes away.  Returns 0, or -1 when asked to stop.
 */
static int
startup_db(struct sink *s)
{
        size_t nunits = 0, nind = 0;
        enum db_result r;
        char err[1024];

        for (;;) {
                if (writer_connect(s->w, &stop) == -1)
                        return -1;
                r = migrate_run(writer_conn(s->w), err, sizeof err);
                if (r == DB_ERROR)
                        fatalx("migrating schema edustat: %s", err);
                if (r == DB_RETRY) {
                        log_warnx("migrating schema edustat: %s; reconnecting", err);
                        continue;
                }
                r = refdata_store(writer_conn(s->w), s->cfg, &nunits, &nind, err, sizeof err);
                if (r == DB_ERROR)
                        fatalx("%s", err);
                if (r == DB_RETRY) {
                        log_warnx("%s; reconnecting", err);
                        continue;
                }
                break;
        }
        log_info("schema edustat at version %d; loaded %zu org units and %zu indicators from %s",
                 migrate_version(), nunits, nind, s->set.config_dir);
        return 0;
}

struct peer_send {
        struct sink *s;
        const struct wire_peer *peer;
};

static int
send_to_peer(void *arg, const void *buf, size_t len)
{
        struct peer_send *ps = arg;

        if (wire_router_send(ps->s->router, ps->peer, buf, len) == -1) {
                log_warnx("sending %zu bytes to the aggregator: %s", len, zmq_strerror(errno));
                return -1;
        }
        return 0;
}

static void
reply(struct sink *s, const struct wire_peer *peer)
{
        struct peer_send ps = {s, peer};

        send_to_peer(&ps, s->sbuf.data, s->sbuf.size);
        msgpack_sbuffer_clear(&s->sbuf);
}

/*
 * With CURVE an aggregator is who its key says: the name its public key is
 * registered under (the ZAP handler's User-Id).  A message that names
 * another id would let one aggregator write under another's sequence
 * numbers, so it is refused.  uid is NULL when links are plain text; then
 * the id in the message is all there is.  Returns 0 when id may be used,
 * else -1 with the reason in why.
 */
static int
identity_check(const char *uid, struct pstr id, char *why, size_t whylen)
{
        if (uid == NULL || (strlen(uid) == id.len && memcmp(uid, id.p, id.len) == 0))
                return 0;
        strlcpyf(why, whylen,
                 "aggregator id \"%.*s\" is not the name its key is registered under "
                 "here (\"%s\"): set EDUSTAT_AGGREGATOR_ID=%s, or register its key as "
                 "aggregators/%.*s.key",
                 (int)id.len, id.p, uid, uid, (int)id.len, id.p);
        return -1;
}

static void
handle_hello(struct sink *s, const struct wire_peer *peer, const char *uid, const void *buf,
             size_t len)
{
        struct peer_send ps = {s, peer};
        uint64_t last_seq = 0, nrows = 0, nreviews = 0, nnotes = 0, epoch = 0;
        struct pstr id;
        enum db_result r;
        char err[1024];
        int64_t t0;

        if (proto_hello_decode(buf, len, &id, err, sizeof err) == -1) {
                log_warnx("dropped a malformed hello: %s", err);
                /* Tell a sender of another protocol version why it hears nothing. */
                proto_fail_pack(&s->pk, 0, err);
                reply(s, peer);
                return;
        }
        if (identity_check(uid, id, err, sizeof err) == -1) {
                log_warnx("hello refused: %s", err);
                proto_fail_pack(&s->pk, 0, err);
                reply(s, peer);
                return;
        }
        while ((r = writer_hello(s->w, id, &epoch, err, sizeof err)) == DB_RETRY) {
                log_warnx("hello from %.*s: %s; reconnecting", (int)id.len, id.p, err);
                if (writer_connect(s->w, &stop) == -1)
                        return;
        }
        if (r != DB_OK) {
                log_warnx("hello from %.*s: cannot start its epoch: %s", (int)id.len, id.p, err);
                return;
        }
        log_info("hello from aggregator %.*s: epoch %" PRIu64 " (uows of earlier sessions of "
                 "this id are fenced); streaming the stored state",
                 (int)id.len, id.p, epoch);
        t0 = now_ms();
        while ((r = writer_stream_state(s->w, id, epoch, send_to_peer, &ps, &last_seq, &nrows,
                                        &nreviews, &nnotes, err, sizeof err)) == DB_RETRY) {
                log_warnx("state stream for %.*s: %s; reconnecting", (int)id.len, id.p, err);
                if (writer_connect(s->w, &stop) == -1)
                        return;
        }
        if (r != DB_OK) {
                log_warnx("state stream for %.*s failed: %s", (int)id.len, id.p, err);
                return;
        }
        log_info("sent %" PRIu64 " stored values to aggregator %.*s, with %" PRIu64
                 " review rows and %" PRIu64 " explained warnings, in %.1f s; last_seq %" PRIu64,
                 nrows, (int)id.len, id.p, nreviews, nnotes, (double)(now_ms() - t0) / 1000.0,
                 last_seq);
}

static void
handle_uow(struct sink *s, const struct wire_peer *peer, const char *uid, const void *buf,
           size_t len)
{
        struct proto_uow u;
        enum db_result r;
        char err[1024];
        int replayed = 0;

        memset(&u, 0, sizeof u);
        if (proto_uow_decode(buf, len, &u, err, sizeof err) == -1) {
                log_warnx("dropped a malformed uow (%zu bytes): %s", len, err);
                return;
        }
        if (identity_check(uid, u.aggregator, err, sizeof err) == -1) {
                char why[sizeof err + 64];

                log_warnx("uow %" PRIu64 " refused: %s", u.seq, err);
                /* The whole reason: the aggregator passes it on to the collectors as it is. */
                strlcpyf(why, sizeof why, "refused by the sink's identity check: %s", err);
                proto_fail_pack(&s->pk, u.seq, why);
                reply(s, peer);
                proto_uow_free(&u);
                return;
        }
        /* The uow stays in memory across reconnects and is committed on
         * the new connection; only then does the aggregator hear of it. */
        while ((r = writer_commit(s->w, &u, &replayed, err, sizeof err)) == DB_RETRY) {
                log_warnx("uow %" PRIu64 ": %s; reconnecting and committing it again", u.seq, err);
                if (writer_connect(s->w, &stop) == -1) {
                        log_info("uow %" PRIu64 " not committed: stopping", u.seq);
                        proto_uow_free(&u);
                        return;
                }
        }
        if (r == DB_GAP) {
                log_warnx("%s; waiting for the aggregator to resend", err);
                proto_uow_free(&u);
                return;
        }
        if (r == DB_FENCED) {
                log_warnx("uow %" PRIu64 " of epoch %" PRIu64 " fenced: %s", u.seq, u.epoch, err);
                proto_fenced_pack(&s->pk, u.seq, err);
                reply(s, peer);
                proto_uow_free(&u);
                return;
        }
        if (r == DB_OK) {
                proto_ok_pack(&s->pk, u.seq);
                log_debug("uow %" PRIu64 ": %s (%" PRIu32 " values, %" PRIu32 " rejects, %" PRIu32
                          " aggs)",
                          u.seq, replayed ? "replay acknowledged" : "committed", u.nvalues,
                          u.nrejects, u.naggs);
        } else {
                char why[sizeof err + 64];

                strlcpyf(why, sizeof why, "refused by PostgreSQL: %s (stored in edustat.rejected)",
                         err);
                proto_fail_pack(&s->pk, u.seq, why);
        }
        reply(s, peer);
        proto_uow_free(&u);
}

static void
handle_message(struct sink *s, const struct wire_peer *peer, zmq_msg_t *msg)
{
        const void *buf = zmq_msg_data(msg);
        size_t len = zmq_msg_size(msg);
        /* The name the ZAP handler bound to the peer's key; none in plain text. */
        const char *uid = s->peers != NULL ? zmq_msg_gets(msg, "User-Id") : NULL;

        if (s->peers != NULL && uid == NULL) {
                log_warnx("dropped a message from a connection without a User-Id");
                return;
        }
        switch (proto_peek(buf, len)) {
        case PROTO_HELLO:
                handle_hello(s, peer, uid, buf, len);
                break;
        case PROTO_UOW:
                handle_uow(s, peer, uid, buf, len);
                break;
        default:
                log_warnx("dropped a message of %zu bytes that is neither hello nor uow", len);
                break;
        }
}

static void
summary_maybe(struct sink *s, int force)
{
        struct writer_stats st;
        int64_t now = now_ms();

        writer_stats_get(s->w, &st);
        if (!force && now - s->last_summary_ms < SUMMARY_MS)
                return;
        if (memcmp(&st, &s->logged, sizeof st) == 0)
                return;
        log_info("committed %" PRIu64 " uows (+%" PRIu64 "): %" PRIu64 " values, %" PRIu64
                 " rejects, %" PRIu64 " aggregate rows; %" PRIu64 " replays, %" PRIu64 " refused",
                 st.uows, st.uows - s->logged.uows, st.values, st.rejects, st.aggs, st.replays,
                 st.refused);
        s->logged = st;
        s->last_summary_ms = now;
}

/* ZAP: admit an aggregator whose public key is in EDUSTAT_SINK_CLIENTS. */
static int
admit_aggregator(void *arg, const uint8_t key[32], char *user, size_t len)
{
        const char *name = keyset_find(arg, key);

        if (name == NULL)
                return 0;
        strlcpyf(user, len, "%s", name);
        return 1;
}

int
main(int argc, char **argv)
{
        struct sink s;
        struct wire_curve curve;
        char err[1024];
        int one = 1, sndtimeo = SEND_TIMEOUT_MS;

        memset(&s, 0, sizeof s);
        log_init("edustat-sink", 0); /* for the settings' own refusals */
        settings_load(&s.set, argc, argv);
        log_init("edustat-sink", s.set.debug);
        /* The check needs no config and no ZeroMQ: only the database. */
        if (s.set.check)
                return check_main(s.set.db_url);
        signals_install();

        if ((s.cfg = config_load(s.set.config_dir, err, sizeof err)) == NULL)
                fatalx("%s", err);
        s.w = writer_new(s.set.db_url);
        if (startup_db(&s) == -1)
                goto out;

        if ((s.ctx = zmq_ctx_new()) == NULL)
                fatalx("zmq_ctx_new: %s", zmq_strerror(errno));
        if (security_insecure()) {
                security_warn_insecure("edustat-sink");
        } else {
                char dir[4096];

                if (security_load(SEC_SINK, &curve, NULL, err, sizeof err) < 0)
                        fatalx("%s (make keys with edustat-keygen --init, or set "
                               "EDUSTAT_INSECURE=1 for a plain-text development demo)",
                               err);
                security_path("EDUSTAT_SINK_CLIENTS", "aggregators", dir, sizeof dir);
                if ((s.peers = keyset_load_dir(dir, err, sizeof err)) == NULL)
                        fatalx("%s", err);
                if ((s.zap = zap_start(s.ctx, "sink", admit_aggregator, s.peers)) == NULL)
                        fatalx("cannot start the ZAP handler");
                log_info("CURVE on; %zu aggregator key(s) admitted from %s", s.peers->n, dir);
        }
        s.router = wire_router_bind_curve(s.ctx, s.set.bind, PROTO_MAX_UOW_BYTES,
                                          security_insecure() ? NULL : &curve);
        explicit_bzero(&curve, sizeof curve);
        if (s.router == NULL)
                fatalx("cannot bind %s", s.set.bind);
        /*
         * The state stream must not lose a chunk to a full queue: with
         * ROUTER_MANDATORY a send to a full aggregator waits (up to
         * SEND_TIMEOUT_MS) and a send to a vanished one fails loudly,
         * instead of both being dropped in silence.
         */
        if (zmq_setsockopt(s.router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) == -1 ||
            zmq_setsockopt(s.router, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) == -1)
                fatalx("%s: socket options: %s", s.set.bind, zmq_strerror(errno));
        msgpack_sbuffer_init(&s.sbuf);
        msgpack_packer_init(&s.pk, &s.sbuf, msgpack_sbuffer_write);
        s.last_summary_ms = now_ms();
        log_info("ready on %s: %zu org units, %zu indicators", s.set.bind, s.cfg->tree->n,
                 s.cfg->cat->n);

        while (!stop) {
                zmq_pollitem_t it = {s.router, 0, ZMQ_POLLIN, 0};
                struct wire_peer peer;
                zmq_msg_t msg;
                int n = zmq_poll(&it, 1, POLL_MS);

                if (n == -1 && errno != EINTR)
                        fatalx("zmq_poll: %s", zmq_strerror(errno));
                if (n > 0 && (it.revents & ZMQ_POLLIN) && !stop) {
                        zmq_msg_init(&msg);
                        if (wire_router_recv(s.router, &peer, &msg, ZMQ_DONTWAIT) == 0)
                                handle_message(&s, &peer, &msg);
                        zmq_msg_close(&msg);
                }
                summary_maybe(&s, 0);
        }
        summary_maybe(&s, 1);
        log_info("stopping");
        msgpack_sbuffer_destroy(&s.sbuf);
        wire_close(&s.router);
        zap_stop(&s.zap);
        zmq_ctx_term(s.ctx);
        keyset_destroy(&s.peers);
out:
        writer_destroy(&s.w);
        config_destroy(&s.cfg);
        return 0;
}
