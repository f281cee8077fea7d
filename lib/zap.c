#include "zap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "log.h"
#include "util.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES   7 /* version, id, domain, address, identity, mechanism, key */

struct zap {
        void *sock;
        pthread_t thread;
        atomic_int stop;
        atomic_uint_fast64_t refused;
        zap_admit_fn admit;
        void *arg;
        char what[32];
        int64_t log_second;
        int log_count;
};

/* Read one request's frames; returns the number read (extra frames dropped). */
static int
recv_request(void *sock, zmq_msg_t *f, int max)
{
        int n = 0, more;

        do {
                zmq_msg_t tmp, *m = n < max ? &f[n] : &tmp;

                zmq_msg_init(m);
                if (zmq_msg_recv(m, sock, 0) < 0) {
                        zmq_msg_close(m);
                        return -1;
                }
                more = zmq_msg_more(m);
                if (m == &tmp)
                        zmq_msg_close(m);
                n++;
        } while (more);
        return n;
}

static void
send_str(void *sock, const char *s, size_t len, int more)
{
        zmq_send(sock, s, len, more ? ZMQ_SNDMORE : 0);
}

static void
reply(struct zap *z, zmq_msg_t *id, const char *status, const char *text, const char *user)
{
        send_str(z->sock, "1.0", 3, 1);
        zmq_send(z->sock, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE);
        send_str(z->sock, status, strlen(status), 1);
        send_str(z->sock, text, strlen(text), 1);
        send_str(z->sock, user, strlen(user), 1);
        send_str(z->sock, "", 0, 0);
}

static void
log_refusal(struct zap *z, const char *mech, zmq_msg_t *addr, const uint8_t *key)
{
        int64_t sec = now_ms() / 1000;
        char z85[41] = "";

        if (sec != z->log_second) {
                if (z->log_count > ZAP_LOG_PER_SEC)
                        log_warnx("%s: %d more refused handshakes in the last second", z->what,
                                  z->log_count - ZAP_LOG_PER_SEC);
                z->log_second = sec;
                z->log_count = 0;
        }
        if (++z->log_count > ZAP_LOG_PER_SEC)
                return;
        if (key)
                zmq_z85_encode(z85, key, 32);
        log_warnx("%s: refused %s client %s%s from %.*s (key not registered)", z->what, mech,
                  key ? "key " : "", z85, (int)zmq_msg_size(addr),
                  (const char *)zmq_msg_data(addr));
}

static void
handle(struct zap *z)
{
        zmq_msg_t f[ZAP_FRAMES];
        int n = recv_request(z->sock, f, ZAP_FRAMES);
        char mech[16] = "", user[ZAP_MAX_USER + 1] = "";

        if (n < 0)
                return;
        if (n < 6 || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0) {
                /* not a ZAP request we understand: answer nothing we could get wrong */
                log_warnx("%s: malformed ZAP request (%d frames) ignored", z->what, n);
                if (n >= 2)
                        reply(z, &f[1], "500", "malformed request", "");
                goto out;
        }
        strlcpyf(mech, sizeof(mech), "%.*s", (int)zmq_msg_size(&f[5]),
                 (const char *)zmq_msg_data(&f[5]));
        if (strcmp(mech, "CURVE") != 0 || n != ZAP_FRAMES || zmq_msg_size(&f[6]) != 32) {
                atomic_fetch_add(&z->refused, 1);
                log_refusal(z, mech, &f[3], NULL);
                reply(z, &f[1], "400", "CURVE required", "");
                goto out;
        }
        if (!z->admit(z->arg, zmq_msg_data(&f[6]), user, sizeof(user))) {
                atomic_fetch_add(&z->refused, 1);
                log_refusal(z, mech, &f[3], zmq_msg_data(&f[6]));
                reply(z, &f[1], "400", "key not registered", "");
                goto out;
        }
        log_debug("%s: admitted %s from %.*s", z->what, user, (int)zmq_msg_size(&f[3]),
                  (const char *)zmq_msg_data(&f[3]));
        reply(z, &f[1], "200", "OK", user);
out:
        for (int i = 0; i < n && i < ZAP_FRAMES; i++)
                zmq_msg_close(&f[i]);
}

static void *
run(void *arg)
{
        struct zap *z = arg;

        while (!atomic_load(&z->stop)) {
                zmq_pollitem_t it = {z->sock, 0, ZMQ_POLLIN, 0};

                if (zmq_poll(&it, 1, 200) > 0)
                        handle(z);
        }
        return NULL;
}

struct zap *
zap_start(void *ctx, const char *what, zap_admit_fn admit, void *arg)
{
        struct zap *z = xcalloc(1, sizeof(*z));
        int linger = 0;

        z->admit = admit;
        z->arg = arg;
        strlcpyf(z->what, sizeof(z->what), "%s", what);
        if ((z->sock = zmq_socket(ctx, ZMQ_REP)) == NULL ||
            zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
            zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
                log_warnx("%s: cannot start the ZAP handler on %s: %s", what, ZAP_ENDPOINT,
                          zmq_strerror(zmq_errno()));
                if (z->sock)
                        zmq_close(z->sock);
                free(z);
                return NULL;
        }
        if (pthread_create(&z->thread, NULL, run, z) != 0) {
                log_warnx("%s: cannot start the ZAP thread", what);
                zmq_close(z->sock);
                free(z);
                return NULL;
        }
        return z;
}

uint64_t
zap_refused(const struct zap *z)
{
        return atomic_load(&z->refused);
}

void
zap_stop(struct zap **zp)
{
        struct zap *z;

        if (zp == NULL || (z = *zp) == NULL)
                return;
        atomic_store(&z->stop, 1);
        pthread_join(z->thread, NULL);
        zmq_close(z->sock);
        free(z);
        *zp = NULL;
}
