/*
 * edustat-keygen: make CURVE key pairs for edustat's ZeroMQ links.
 *
 *   edustat-keygen NAME [DIR]    write DIR/NAME.key (public) and
 *                                DIR/NAME.key_secret (0600); print the
 *                                public key, ready for collectors.csv
 *   edustat-keygen --init DIR    the server side of one site: DIR/sink.*,
 *                                DIR/aggregator.*, and the aggregator's
 *                                public key in DIR/aggregators/ so the sink
 *                                admits it
 *
 * Existing files are never overwritten: a key in use stays in use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keys.h"
#include "log.h"
#include "util.h"

static void
usage(void)
{
        fprintf(stderr, "usage: edustat-keygen NAME [DIR]\n"
                        "       edustat-keygen --init DIR\n");
        exit(2);
}

static int
name_ok(const char *s)
{
        if (*s == '\0' || strlen(s) > KEYS_MAX_NAME)
                return 0;
        for (; *s; s++)
                if (!(*s == '-' || *s == '_' || *s == '.' || (*s >= '0' && *s <= '9') ||
                      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
                        return 0;
        return 1;
}

static void
mkdir_p(const char *dir, mode_t mode)
{
        if (mkdir(dir, mode) < 0 && errno != EEXIST)
                fatal("mkdir %s", dir);
}

static void
make(const char *dir, const char *name, struct keypair *kp)
{
        char err[1024];

        if (keys_generate(dir, name, kp, err, sizeof(err)) < 0)
                fatalx("%s", err);
        printf("%s public key: %s\n", name, kp->public_z85);
}

int
main(int argc, char **argv)
{
        struct keypair kp;
        char path[4096], err[1024];

        log_init("edustat-keygen", 0);
        if (argc == 3 && strcmp(argv[1], "--init") == 0) {
                mkdir_p(argv[2], 0700);
                make(argv[2], "sink", &kp);
                make(argv[2], "aggregator", &kp);
                strlcpyf(path, sizeof(path), "%s/aggregators", argv[2]);
                mkdir_p(path, 0755);
                strlcpyf(path, sizeof(path), "%s/aggregators/aggregator.key", argv[2]);
                if (keys_write_public(path, &kp, err, sizeof(err)) < 0)
                        fatalx("%s", err);
                explicit_bzero(&kp, sizeof(kp));
                return 0;
        }
        if (argc < 2 || argc > 3 || argv[1][0] == '-')
                usage();
        if (!name_ok(argv[1]))
                fatalx("name \"%s\": use 1..%d of A-Z a-z 0-9 . _ -", argv[1], KEYS_MAX_NAME);
        make(argc == 3 ? argv[2] : ".", argv[1], &kp);
        explicit_bzero(&kp, sizeof(kp));
        return 0;
}
