#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LOCK_NAME      ".edustat-run.lock"
#define FREE_NAME_MAX  10000
#define RECEIPT_SUFFIX ".receipt"

static const char *const dir_names[SPOOL_NDIRS] = {"incoming", "processing", "done", "failed"};

/* What a file in incoming/ looked like at the last scan. */
struct seen {
        char *name;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
        int64_t since; /* now_ms() when it was first seen as it is */
        int ignored;
};

struct spool {
        char *root;
        int lockfd;
        struct seen *seen; /* sorted by name */
        size_t nseen;
        int capped_logged;
        int64_t quiet_ms;
};

const char *
spool_dir_name(enum spool_dir which)
{
        return dir_names[which];
}

static int
dir_make(const char *path, char *err, size_t errlen)
{
        struct stat st;

        if (mkdir(path, 0755) == 0 || errno == EEXIST) {
                if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        return 0;
                strlcpyf(err, errlen, "%s: not a directory", path);
                return -1;
        }
        strlcpyf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
}

struct spool *
spool_open(const char *dir, char *err, size_t errlen)
{
        struct spool *sp;
        char path[PATH_MAX];

        if (strlen(dir) + 32 >= sizeof(path)) {
                strlcpyf(err, errlen, "%.64s...: spool path too long", dir);
                return NULL;
        }
        if (dir_make(dir, err, errlen) < 0)
                return NULL;
        for (int i = 0; i < SPOOL_NDIRS; i++) {
                strlcpyf(path, sizeof(path), "%s/%s", dir, dir_names[i]);
                if (dir_make(path, err, errlen) < 0)
                        return NULL;
        }
        sp = xcalloc(1, sizeof(*sp));
        sp->root = xstrdup(dir);
        sp->quiet_ms = SPOOL_QUIET_MS;
        strlcpyf(path, sizeof(path), "%s/%s", dir, LOCK_NAME);
        if ((sp->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
                strlcpyf(err, errlen, "%s: %s", path, strerror(errno));
                spool_close(&sp);
                return NULL;
        }
        if (flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        strlcpyf(err, errlen,
                                 "%s: another edustat-collector run is using this spool", dir);
                else
                        strlcpyf(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
                spool_close(&sp);
                return NULL;
        }
        return sp;
}

static void
seen_free(struct seen *s, size_t n)
{
        for (size_t i = 0; s != NULL && i < n; i++)
                free(s[i].name);
        free(s);
}

void
spool_quiet_set(struct spool *sp, int64_t ms)
{
        sp->quiet_ms = ms < 0 ? 0 : ms;
}

void
spool_close(struct spool **spp)
{
        struct spool *sp;

        if (spp == NULL || (sp = *spp) == NULL)
                return;
        if (sp->lockfd >= 0)
                close(sp->lockfd); /* releases the lock */
        seen_free(sp->seen, sp->nseen);
        free(sp->root);
        free(sp);
        *spp = NULL;
}

int
spool_path(const struct spool *sp, enum spool_dir which, const char *name, char *buf, size_t len)
{
        int n = snprintf(buf, len, "%s/%s/%s", sp->root, dir_names[which], name);

        return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
dir_path(const struct spool *sp, enum spool_dir which, char *buf, size_t len)
{
        int n = snprintf(buf, len, "%s/%s", sp->root, dir_names[which]);

        return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A name the spool takes: "*.csv", not starting with '.', not too long. */
static int
name_wanted(const char *name)
{
        size_t len = strlen(name);

        return name[0] != '.' && len > 4 && len <= SPOOL_MAX_NAME &&
               strcmp(name + len - 4, ".csv") == 0;
}

static int
seen_cmp(const void *a, const void *b)
{
        return strcmp(((const struct seen *)a)->name, ((const struct seen *)b)->name);
}

/*
 * The wanted regular files of a subdirectory with their stat, sorted by
 * name, at most SPOOL_MAX_TRACKED.  0 or -1 (logged).
 */
static int
dir_read(struct spool *sp, enum spool_dir which, struct seen **out, size_t *n)
{
        char path[PATH_MAX];
        struct dirent *de;
        size_t cap = 0;
        DIR *dp;
        int fd;

        *out = NULL;
        *n = 0;
        if (dir_path(sp, which, path, sizeof(path)) < 0 || (dp = opendir(path)) == NULL) {
                log_warn("%s/%s: cannot read", sp->root, dir_names[which]);
                return -1;
        }
        fd = dirfd(dp);
        while ((de = readdir(dp)) != NULL) {
                struct stat st;
                struct seen *s;

                if (!name_wanted(de->d_name))
                        continue;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (*n == SPOOL_MAX_TRACKED) {
                        if (!sp->capped_logged++)
                                log_warnx("%s/%s: more than %d files; the rest wait for a "
                                          "later look",
                                          sp->root, dir_names[which], SPOOL_MAX_TRACKED);
                        break;
                }
                if (*n == cap) {
                        cap = cap ? cap * 2 : 64;
                        *out = xreallocarray(*out, cap, sizeof(**out));
                }
                s = &(*out)[(*n)++];
                memset(s, 0, sizeof(*s));
                s->name = xstrdup(de->d_name);
                s->dev = st.st_dev;
                s->ino = st.st_ino;
                s->size = st.st_size;
                s->mtime = st.st_mtim;
                s->ctime = st.st_ctim;
        }
        closedir(dp);
        if (*n > 1)
                qsort(*out, *n, sizeof(**out), seen_cmp);
        return 0;
}

static int
seen_same(const struct seen *a, const struct seen *b)
{
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
               a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/*
 * A write sets a file's modification and change times to the same instant;
 * a rename (or a touch of its metadata) later sets only the change time.
 * A change time after the modification time therefore means the writer
 * finished writing before the file got its name or its final metadata.
 */
static int
renamed_after_write(const struct seen *s)
{
        return s->ctime.tv_sec > s->mtime.tv_sec ||
               (s->ctime.tv_sec == s->mtime.tv_sec && s->ctime.tv_nsec > s->mtime.tv_nsec);
}

int
spool_scan(struct spool *sp, size_t max, char ***names, size_t *n)
{
        struct seen *cur;
        size_t ncur, cap = 0;
        int64_t now = now_ms();

        *names = NULL;
        *n = 0;
        if (dir_read(sp, SPOOL_INCOMING, &cur, &ncur) < 0)
                return -1;
        for (size_t i = 0; i < ncur; i++) {
                struct seen *prev = sp->nseen == 0 ? NULL
                                                   : bsearch(&cur[i], sp->seen, sp->nseen,
                                                             sizeof(*sp->seen), seen_cmp);

                cur[i].since = now;
                if (prev == NULL || !seen_same(prev, &cur[i]))
                        continue;
                cur[i].since = prev->since;
                cur[i].ignored = prev->ignored;
                if (cur[i].ignored || *n == max)
                        continue;
                /* Written in place: wait until it has been still for the quiet time. */
                if (!renamed_after_write(&cur[i]) && now - cur[i].since < sp->quiet_ms)
                        continue;
                if (*n == cap) {
                        cap = cap ? cap * 2 : 16;
                        *names = xreallocarray(*names, cap, sizeof(**names));
                }
                (*names)[(*n)++] = xstrdup(cur[i].name);
        }
        seen_free(sp->seen, sp->nseen);
        sp->seen = cur;
        sp->nseen = ncur;
        return 0;
}

int
spool_list(struct spool *sp, enum spool_dir which, size_t max, char ***names, size_t *n)
{
        struct seen *cur;
        size_t ncur;

        *names = NULL;
        *n = 0;
        if (dir_read(sp, which, &cur, &ncur) < 0)
                return -1;
        if (ncur > 0)
                *names = xcalloc(ncur, sizeof(**names));
        for (size_t i = 0; i < ncur && *n < max; i++) {
                (*names)[(*n)++] = cur[i].name;
                cur[i].name = NULL;
        }
        seen_free(cur, ncur);
        return 0;
}

void
spool_names_free(char **names, size_t n)
{
        for (size_t i = 0; names != NULL && i < n; i++)
                free(names[i]);
        free(names);
}

void
spool_ignore(struct spool *sp, const char *name)
{
        struct seen key = {.name = (char *)(uintptr_t)name}, *s;

        if (sp->nseen == 0)
                return;
        s = bsearch(&key, sp->seen, sp->nseen, sizeof(*sp->seen), seen_cmp);
        if (s != NULL)
                s->ignored = 1;
}

static void
identity_of(const struct stat *st, char buf[SPOOL_IDENTITY])
{
        strlcpyf(buf, SPOOL_IDENTITY, "%llu:%llu:%lld:%lld.%09ld", (unsigned long long)st->st_dev,
                 (unsigned long long)st->st_ino, (long long)st->st_size,
                 (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
}

int
spool_identity(const struct spool *sp, enum spool_dir which, const char *name,
               char buf[SPOOL_IDENTITY])
{
        char path[PATH_MAX];
        struct stat st;

        if (spool_path(sp, which, name, path, sizeof(path)) < 0) {
                errno = ENAMETOOLONG;
                return -1;
        }
        if (lstat(path, &st) < 0)
                return -1;
        if (!S_ISREG(st.st_mode)) {
                errno = ESTALE;
                return -1;
        }
        if (which == SPOOL_INCOMING && sp->nseen > 0) {
                struct seen key = {.name = (char *)(uintptr_t)name}, *s;

                /* Another file put under the name since the look is not the one that was still. */
                s = bsearch(&key, sp->seen, sp->nseen, sizeof(*sp->seen), seen_cmp);
                if (s != NULL && (s->dev != st.st_dev || s->ino != st.st_ino)) {
                        errno = ESTALE;
                        return -1;
                }
        }
        identity_of(&st, buf);
        return 0;
}

int
spool_file_open(const struct spool *sp, enum spool_dir which, const char *name,
                const char *identity)
{
        char path[PATH_MAX], now[SPOOL_IDENTITY];
        struct stat st;
        int fd;

        if (spool_path(sp, which, name, path, sizeof(path)) < 0) {
                errno = ENAMETOOLONG;
                return -1;
        }
        /* O_NONBLOCK: a FIFO swapped in for the file must not hang the open. */
        if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
                return -1;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return -1;
        }
        identity_of(&st, now);
        if (!S_ISREG(st.st_mode) || strcmp(now, identity) != 0) {
                close(fd);
                errno = ESTALE;
                return -1;
        }
        return fd;
}

int
spool_file_unchanged(const struct spool *sp, enum spool_dir which, const char *name, int fd,
                     const char *identity)
{
        char path[PATH_MAX], now[SPOOL_IDENTITY];
        struct stat st;

        if (fstat(fd, &st) < 0)
                return 0;
        identity_of(&st, now);
        if (strcmp(now, identity) != 0)
                return 0;
        /* The name must still be this file: not replaced while it was read. */
        if (spool_path(sp, which, name, path, sizeof(path)) < 0 || lstat(path, &st) < 0)
                return 0;
        identity_of(&st, now);
        return strcmp(now, identity) == 0;
}

/* 1 when which/name or which/name.receipt exists, 0 when neither, -1. */
static int
name_exists(const struct spool *sp, enum spool_dir which, const char *name)
{
        char path[PATH_MAX];
        struct stat st;

        if (spool_path(sp, which, name, path, sizeof(path) - sizeof(RECEIPT_SUFFIX)) < 0)
                return -1;
        if (lstat(path, &st) == 0)
                return 1;
        if (errno != ENOENT)
                return -1;
        strcat(path, RECEIPT_SUFFIX);
        if (lstat(path, &st) == 0)
                return 1;
        return errno == ENOENT ? 0 : -1;
}

int
spool_free_name(const struct spool *sp, enum spool_dir which, const char *name,
                int (*taken)(void *arg, const char *candidate), void *arg, char *out, size_t outlen)
{
        const char *dot = strrchr(name, '.');
        size_t stem = dot != NULL && dot != name ? (size_t)(dot - name) : strlen(name);

        for (int k = 1; k <= FREE_NAME_MAX; k++) {
                int n, r;

                if (k == 1)
                        n = snprintf(out, outlen, "%s", name);
                else
                        n = snprintf(out, outlen, "%.*s.%d%s", (int)stem, name, k, name + stem);
                if (n < 0 || (size_t)n >= outlen || (size_t)n > SPOOL_MAX_NAME)
                        return -1;
                if ((r = name_exists(sp, which, out)) < 0)
                        return -1;
                if (r == 1)
                        continue;
                if (taken != NULL && (r = taken(arg, out)) != 0) {
                        if (r < 0)
                                return -1;
                        continue;
                }
                return 0;
        }
        return -1;
}

/* fsync a directory so that a rename in it survives a crash. */
static int
dir_sync(const struct spool *sp, enum spool_dir which)
{
        char path[PATH_MAX];
        int fd, rc;

        if (dir_path(sp, which, path, sizeof(path)) < 0)
                return -1;
        if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                return -1;
        rc = fsync(fd);
        close(fd);
        return rc;
}

int
spool_move(struct spool *sp, enum spool_dir from, const char *name, enum spool_dir to,
           const char *to_name)
{
        char src[PATH_MAX], dst[PATH_MAX];

        if (spool_path(sp, from, name, src, sizeof(src)) < 0 ||
            spool_path(sp, to, to_name, dst, sizeof(dst)) < 0) {
                errno = ENAMETOOLONG;
                return -1;
        }
        if (rename(src, dst) < 0)
                return -1;
        if (dir_sync(sp, to) < 0 || (from != to && dir_sync(sp, from) < 0)) {
                log_warn("%s/%s: fsync after moving %s", sp->root, dir_names[to], name);
                return -1;
        }
        return 0;
}

static int
receipt_tmp_path(const struct spool *sp, enum spool_dir which, const char *name, char *buf,
                 size_t len)
{
        int n = snprintf(buf, len, "%s/%s/.%s.receipt.tmp", sp->root, dir_names[which], name);

        return n < 0 || (size_t)n >= len ? -1 : 0;
}

FILE *
spool_receipt_begin(struct spool *sp, enum spool_dir which, const char *name)
{
        char path[PATH_MAX];
        FILE *fp;

        if (receipt_tmp_path(sp, which, name, path, sizeof(path)) < 0) {
                log_warnx("%s/%s/%s: receipt path too long", sp->root, dir_names[which], name);
                return NULL;
        }
        if ((fp = fopen(path, "w")) == NULL)
                log_warn("%s", path);
        return fp;
}

int
spool_receipt_commit(struct spool *sp, FILE *fp, enum spool_dir which, const char *name)
{
        char tmp[PATH_MAX], path[PATH_MAX];
        int rc = 0;

        if (receipt_tmp_path(sp, which, name, tmp, sizeof(tmp)) < 0 ||
            spool_path(sp, which, name, path, sizeof(path) - sizeof(RECEIPT_SUFFIX)) < 0) {
                fclose(fp);
                return -1;
        }
        strcat(path, RECEIPT_SUFFIX);
        if (fflush(fp) != 0 || ferror(fp) || fsync(fileno(fp)) < 0) {
                log_warn("%s: cannot write", tmp);
                rc = -1;
        }
        if (fclose(fp) != 0 && rc == 0) {
                log_warn("%s: cannot write", tmp);
                rc = -1;
        }
        if (rc == 0 && rename(tmp, path) < 0) {
                log_warn("%s: cannot rename to %s", tmp, path);
                rc = -1;
        }
        if (rc < 0) {
                unlink(tmp);
                return -1;
        }
        if (dir_sync(sp, which) < 0) {
                log_warn("%s/%s: fsync", sp->root, dir_names[which]);
                return -1;
        }
        return 0;
}
