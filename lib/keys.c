#include "keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "csvread.h"
#include "log.h"
#include "strmap.h"
#include "util.h"

int
keys_z85_valid(const char *s)
{
        uint8_t bin[32];

        if (s == NULL || strlen(s) != KEYS_Z85_LEN)
                return 0;
        return zmq_z85_decode(bin, s) != NULL;
}

/* Find `name = "value"` in text and copy value (40 chars) to out. */
static int
find_field(const char *text, const char *name, char *out)
{
        size_t nlen = strlen(name);

        for (const char *p = text; (p = strstr(p, name)) != NULL; p += nlen) {
                const char *q = p + nlen;

                /* a whole word at the start of a line (after indentation) */
                if (p != text && p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n')
                        continue;
                while (*q == ' ' || *q == '\t')
                        q++;
                if (*q++ != '=')
                        continue;
                while (*q == ' ' || *q == '\t')
                        q++;
                if (*q++ != '"')
                        continue;
                const char *end = strchr(q, '"');
                if (end == NULL || end - q != KEYS_Z85_LEN)
                        return -1;
                memcpy(out, q, KEYS_Z85_LEN);
                out[KEYS_Z85_LEN] = '\0';
                return keys_z85_valid(out) ? 0 : -1;
        }
        return -1;
}

int
keys_read(const char *path, int need_secret, struct keypair *kp, char *err, size_t errlen)
{
        char text[KEYS_MAX_FILE + 1];
        size_t n;
        FILE *fp;

        memset(kp, 0, sizeof(*kp));
        if ((fp = fopen(path, "r")) == NULL) {
                strlcpyf(err, errlen, "%s: %s", path, strerror(errno));
                return -1;
        }
        n = fread(text, 1, sizeof(text), fp);
        fclose(fp);
        if (n > KEYS_MAX_FILE) {
                strlcpyf(err, errlen, "%s: larger than %d bytes; not a key file", path,
                         KEYS_MAX_FILE);
                return -1;
        }
        text[n] = '\0';
        if (find_field(text, "public-key", kp->public_z85) < 0) {
                strlcpyf(err, errlen, "%s: no valid public-key = \"<40 Z85 characters>\" line",
                         path);
                return -1;
        }
        if (find_field(text, "secret-key", kp->secret_z85) < 0) {
                kp->secret_z85[0] = '\0';
                if (need_secret) {
                        strlcpyf(err, errlen,
                                 "%s: no valid secret-key line (is this the .key_secret file?)",
                                 path);
                        return -1;
                }
        }
        return 0;
}

/* Write text to path with mode, failing if it exists. */
static int
write_new(const char *path, mode_t mode, const char *text, char *err, size_t errlen)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
        size_t len = strlen(text);

        if (fd < 0) {
                strlcpyf(err, errlen, "%s: %s", path, strerror(errno));
                return -1;
        }
        if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
                strlcpyf(err, errlen, "%s: %s", path, strerror(errno));
                close(fd);
                unlink(path);
                return -1;
        }
        close(fd);
        return 0;
}

static void
header(char *buf, size_t len, const char *what)
{
        char when[32];
        time_t t = time(NULL);
        struct tm tm;

        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
        strlcpyf(buf, len,
                 "#   ****  Generated on %s UTC by edustat-keygen  ****\n"
                 "#   ZeroMQ CURVE %s Certificate\n"
                 "#   %s\n\n"
                 "metadata\n",
                 when, what,
                 what[0] == 'P' ? "Hand this file to whoever must recognise this key."
                                : "DO NOT share this file: it holds the secret key.");
}

int
keys_write_public(const char *path, const struct keypair *kp, char *err, size_t errlen)
{
        char head[512], text[1024];

        header(head, sizeof(head), "Public");
        strlcpyf(text, sizeof(text), "%scurve\n    public-key = \"%s\"\n", head, kp->public_z85);
        return write_new(path, 0644, text, err, errlen);
}

int
keys_generate(const char *dir, const char *name, struct keypair *kp, char *err, size_t errlen)
{
        char path[4096], head[512], text[1024];

        if (zmq_curve_keypair(kp->public_z85, kp->secret_z85) != 0) {
                strlcpyf(err, errlen, "zmq_curve_keypair: %s (libzmq built without CURVE?)",
                         zmq_strerror(zmq_errno()));
                return -1;
        }
        header(head, sizeof(head), "Secret");
        strlcpyf(text, sizeof(text), "%scurve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
                 head, kp->public_z85, kp->secret_z85);
        strlcpyf(path, sizeof(path), "%s/%s.key_secret", dir, name);
        if (write_new(path, 0600, text, err, errlen) < 0)
                return -1;
        strlcpyf(path, sizeof(path), "%s/%s.key", dir, name);
        return keys_write_public(path, kp, err, errlen);
}

/* ---- the registry ---- */

static int
unit_cmp(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;

        return (x > y) - (x < y);
}

static int
name_ok(const char *s, size_t len)
{
        if (len == 0 || len > KEYS_MAX_NAME)
                return 0;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c < 0x20 || c == 0x7f)
                        return 0;
        }
        return utf8_valid(s, len);
}

static char *
trim(char *s)
{
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                *--e = '\0';
        return s;
}

/*
 * Parse one row of path into c; returns 0 or -1 with the problem in err
 * (no file:line).  A unit that is no longer in the tree is only logged: the
 * office removed a school from orgunits.csv, and the rest of the registry
 * (every other school's key) must keep working.
 */
static int
parse_row(const struct registry *r, const struct orgtree *tree, const char *path,
          const struct csvrow *row, const int col[3], struct collector *c, char *err, size_t errlen)
{
        char *key, *name, *units, *save = NULL;
        size_t gone = 0;

        for (int i = 0; i < 3; i++)
                if ((size_t)col[i] >= row->nfields) {
                        strlcpyf(err, errlen, "row has %zu fields, too few", row->nfields);
                        return -1;
                }
        key = trim(row->fields[col[0]]);
        name = trim(row->fields[col[1]]);
        units = trim(row->fields[col[2]]);
        if (!keys_z85_valid(key)) {
                strlcpyf(err, errlen, "public_key \"%.48s\" is not a 40-character Z85 CURVE key",
                         key);
                return -1;
        }
        zmq_z85_decode(c->key, key);
        if (registry_find_key(r, c->key)) {
                strlcpyf(err, errlen, "public_key %s is listed twice", key);
                return -1;
        }
        if (!name_ok(name, strlen(name))) {
                strlcpyf(err, errlen, "name must be 1..%d printable UTF-8 bytes", KEYS_MAX_NAME);
                return -1;
        }
        if (registry_find_name(r, name, strlen(name))) {
                strlcpyf(err, errlen, "name \"%s\" is listed twice", name);
                return -1;
        }
        strlcpyf(c->name, sizeof(c->name), "%s", name);
        for (char *u = strtok_r(units, " \t", &save); u; u = strtok_r(NULL, " \t", &save)) {
                int idx = orgtree_find(tree, u, strlen(u));

                if (idx < 0) {
                        log_warnx("%s:%lu: collector \"%s\" names unit \"%.64s\", which is not "
                                  "in orgunits.csv: ignored (remove it here, or add the unit back)",
                                  path, row->line, name, u);
                        gone++;
                        continue;
                }
                if (c->nunits == KEYS_MAX_UNITS) {
                        strlcpyf(err, errlen, "collector \"%s\" lists more than %d units", name,
                                 KEYS_MAX_UNITS);
                        return -1;
                }
                c->units = xreallocarray(c->units, c->nunits + 1, sizeof(*c->units));
                c->units[c->nunits++] = idx;
        }
        if (c->nunits == 0 && gone == 0) {
                strlcpyf(err, errlen, "collector \"%s\" has no units", name);
                return -1;
        }
        if (c->nunits == 0)
                log_warnx("%s:%lu: collector \"%s\" has none of its units left in the tree: its "
                          "key is still admitted, but every record it sends is refused",
                          path, row->line, name);
        if (c->nunits > 1) /* qsort's array must not be NULL, even for 0 items */
                qsort(c->units, c->nunits, sizeof(*c->units), unit_cmp);
        return 0;
}

struct registry *
registry_load(const char *path, const struct orgtree *tree, char *err, size_t errlen)
{
        struct registry *r = xcalloc(1, sizeof(*r));
        struct csvread *rd;

        r->by_key = strmap_new(64);
        r->by_name = strmap_new(64);
        struct csvrow row = {0};
        char why[512];
        int col[3], st, have_header = 0;

        if ((rd = csvread_open(path, why, sizeof(why))) == NULL) {
                strlcpyf(err, errlen, "%s", why);
                registry_destroy(&r);
                return NULL;
        }
        while ((st = csvread_next(rd, &row, why, sizeof(why))) != CSVREAD_EOF) {
                if (st != CSVREAD_ROW)
                        goto fail;
                if (!have_header) {
                        static const struct csvread_column cols[3] = {
                            {"public_key", 1}, {"name", 1}, {"units", 1}};

                        if (csvread_columns(&row, cols, 3, col, why, sizeof(why)) < 0)
                                goto fail;
                        have_header = 1;
                        continue;
                }
                r->c = xreallocarray(r->c, r->n + 1, sizeof(*r->c));
                memset(&r->c[r->n], 0, sizeof(r->c[r->n]));
                r->c[r->n].line = row.line;
                if (parse_row(r, tree, path, &row, col, &r->c[r->n], why, sizeof(why)) < 0) {
                        free(r->c[r->n].units);
                        goto fail;
                }
                if (strmap_put(r->by_key, (const char *)r->c[r->n].key, 32, (int)r->n) < 0 ||
                    strmap_put(r->by_name, r->c[r->n].name, strlen(r->c[r->n].name), (int)r->n) <
                        0) {
                        strlcpyf(why, sizeof(why), "more than %u collectors", STRMAP_MAX);
                        free(r->c[r->n].units);
                        goto fail;
                }
                r->n++;
        }
        if (!have_header) {
                row.line = 1;
                strlcpyf(why, sizeof(why), "empty file: want the header public_key,name,units");
                goto fail;
        }
        csvread_close(&rd);
        return r;
fail:
        strlcpyf(err, errlen, "%s:%lu: %s", path, row.line ? row.line : 1, why);
        csvread_close(&rd);
        registry_destroy(&r);
        return NULL;
}

const struct collector *
registry_find_key(const struct registry *r, const uint8_t key[32])
{
        int i = strmap_get(r->by_key, (const char *)key, 32);

        return i < 0 ? NULL : &r->c[i];
}

const struct collector *
registry_find_name(const struct registry *r, const char *name, size_t len)
{
        int i = strmap_get(r->by_name, name, len);

        return i < 0 ? NULL : &r->c[i];
}

int
registry_allows(const struct collector *c, const struct orgtree *tree, int unit)
{
        size_t n;
        const int *anc = orgtree_ancestors(tree, unit, &n);

        for (size_t i = 0; i < n; i++)
                if (bsearch(&anc[i], c->units, c->nunits, sizeof(*c->units), unit_cmp))
                        return 1;
        return 0;
}

void
registry_destroy(struct registry **rp)
{
        struct registry *r;

        if (rp == NULL || (r = *rp) == NULL)
                return;
        for (size_t i = 0; i < r->n; i++)
                free(r->c[i].units);
        free(r->c);
        strmap_destroy(&r->by_key);
        strmap_destroy(&r->by_name);
        free(r);
        *rp = NULL;
}

/* ---- a directory of public keys ---- */

static int
entry_cmp(const void *a, const void *b)
{
        return strcmp(((const struct keyset_entry *)a)->name,
                      ((const struct keyset_entry *)b)->name);
}

struct keyset *
keyset_load_dir(const char *dir, char *err, size_t errlen)
{
        struct keyset *ks = xcalloc(1, sizeof(*ks));
        struct dirent *de;
        DIR *d;

        if ((d = opendir(dir)) == NULL) {
                strlcpyf(err, errlen, "%s: %s", dir, strerror(errno));
                free(ks);
                return NULL;
        }
        while ((de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);
                char path[4096];
                struct keypair kp;

                if (len <= 4 || strcmp(de->d_name + len - 4, ".key") != 0 || de->d_name[0] == '.')
                        continue;
                if (len - 4 > KEYS_MAX_NAME) {
                        strlcpyf(err, errlen, "%s/%s: name longer than %d bytes", dir, de->d_name,
                                 KEYS_MAX_NAME);
                        goto fail;
                }
                strlcpyf(path, sizeof(path), "%s/%s", dir, de->d_name);
                if (keys_read(path, 0, &kp, err, errlen) < 0)
                        goto fail;
                ks->k = xreallocarray(ks->k, ks->n + 1, sizeof(*ks->k));
                strlcpyf(ks->k[ks->n].name, sizeof(ks->k[ks->n].name), "%.*s", (int)(len - 4),
                         de->d_name);
                zmq_z85_decode(ks->k[ks->n].key, kp.public_z85);
                ks->n++;
        }
        closedir(d);
        if (ks->n == 0) {
                strlcpyf(err, errlen, "%s: no NAME.key files: no peer could connect", dir);
                keyset_destroy(&ks);
                return NULL;
        }
        qsort(ks->k, ks->n, sizeof(*ks->k), entry_cmp);
        return ks;
fail:
        closedir(d);
        keyset_destroy(&ks);
        return NULL;
}

const char *
keyset_find(const struct keyset *ks, const uint8_t key[32])
{
        for (size_t i = 0; i < ks->n; i++)
                if (memcmp(ks->k[i].key, key, 32) == 0)
                        return ks->k[i].name;
        return NULL;
}

void
keyset_destroy(struct keyset **kp)
{
        struct keyset *ks;

        if (kp == NULL || (ks = *kp) == NULL)
                return;
        free(ks->k);
        free(ks);
        *kp = NULL;
}
