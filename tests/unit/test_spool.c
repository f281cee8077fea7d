/*
 * Unit tests for collector/spool: a real directory tree under /tmp.  Which
 * names are taken when, the names chosen for collisions and the receipt
 * files are all written out by hand below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "spool.h"
#include "testutil.h"

/* Each test has a spool of its own: path, which spool_open makes. */
static int
setup(void **state)
{
        return testutil_fixture_setup(state, "spool");
}

static struct spool *
open_ok(const struct testutil_fixture *fx)
{
        char err[256] = "";
        struct spool *sp = spool_open(fx->path, err, sizeof(err));

        if (sp == NULL)
                fail_msg("spool_open: %s", err);
        return sp;
}

/* Write text to ROOT/sub/name. */
static void
put(const struct testutil_fixture *fx, const char *sub, const char *name, const char *text)
{
        char path[256];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s/%s", fx->path, sub, name);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
}

static int
exists(const struct testutil_fixture *fx, const char *sub, const char *name)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/%s/%s", fx->path, sub, name);
        return access(path, F_OK) == 0;
}

/* The names of one scan, joined with ','. */
static void
scan_str(struct spool *sp, size_t max, char *out, size_t len)
{
        char **names;
        size_t n;

        assert_int_equal(spool_scan(sp, max, &names, &n), 0);
        out[0] = '\0';
        for (size_t i = 0; i < n; i++)
                snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", names[i]);
        spool_names_free(names, n);
}

static void
test_open_and_lock(void **state)
{
        struct testutil_fixture *fx = *state;
        struct spool *sp = open_ok(fx), *again;
        char err[256] = "", path[256];
        struct stat st;
        const char *subs[] = {"incoming", "processing", "done", "failed"};

        for (int i = 0; i < 4; i++) {
                snprintf(path, sizeof(path), "%s/%s", fx->path, subs[i]);
                assert_int_equal(stat(path, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
                assert_string_equal(spool_dir_name((enum spool_dir)i), subs[i]);
        }
        /* A second run on the same spool is refused while the first holds it. */
        again = spool_open(fx->path, err, sizeof(err));
        assert_null(again);
        assert_true(strstr(err, "another edustat-collector run is using this spool") != NULL);
        spool_close(&sp);
        assert_null(sp);
        again = open_ok(fx);
        spool_close(&again);
}

static void
test_scan_waits_for_stable_files(void **state)
{
        struct testutil_fixture *fx = *state;
        struct spool *sp = open_ok(fx);
        char got[256], path[256];

        /* No quiet time: two looks decide (test_quiet_time covers it). */
        spool_quiet_set(sp, 0);
        put(fx, "incoming", "a.csv", "unit,period,indicator,value\n");
        put(fx, "incoming", "b.csv", "x\n");
        put(fx, "incoming", ".a.csv.tmp", "being written\n");
        put(fx, "incoming", ".hidden.csv", "dot file\n");
        put(fx, "incoming", "notes.txt", "not csv\n");
        put(fx, "incoming", ".csv", "no name\n");
        snprintf(path, sizeof(path), "%s/incoming/dir.csv", fx->path);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/incoming/link.csv", fx->path);
        assert_int_equal(symlink("a.csv", path), 0);

        /* First look: nothing is known to be complete yet. */
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "");
        /* Unchanged since: both .csv files, in name order, nothing else. */
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "a.csv,b.csv");
        /* Capped. */
        scan_str(sp, 1, got, sizeof(got));
        assert_string_equal(got, "a.csv");

        /* A file that grows waits for one more look. */
        put(fx, "incoming", "a.csv", "unit,period,indicator,value\n1,2024,p,3\n");
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "b.csv");
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "a.csv,b.csv");

        /* Ignored until it changes. */
        spool_ignore(sp, "b.csv");
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "a.csv");
        put(fx, "incoming", "b.csv", "xy\n");
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "a.csv");
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "a.csv,b.csv");

        /* A rename onto the name (a new inode) is a new file. */
        put(fx, "incoming", ".c.tmp", "unit,period,indicator,value\n");
        {
                char from[256], to[256];

                snprintf(from, sizeof(from), "%s/incoming/.c.tmp", fx->path);
                snprintf(to, sizeof(to), "%s/incoming/b.csv", fx->path);
                assert_int_equal(rename(from, to), 0);
        }
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "a.csv");
        spool_close(&sp);
}

static void
test_list(void **state)
{
        struct testutil_fixture *fx = *state;
        struct spool *sp = open_ok(fx);
        char **names;
        size_t n;

        put(fx, "processing", "z.csv", "1\n");
        put(fx, "processing", "m.csv", "1\n");
        put(fx, "processing", ".m.csv.receipt.tmp", "1\n");
        assert_int_equal(spool_list(sp, SPOOL_PROCESSING, 10, &names, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(names[0], "m.csv");
        assert_string_equal(names[1], "z.csv");
        spool_names_free(names, n);
        assert_int_equal(spool_list(sp, SPOOL_PROCESSING, 1, &names, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(names[0], "m.csv");
        spool_names_free(names, n);
        spool_close(&sp);
}

static int
taken_x4(void *arg, const char *candidate)
{
        (void)arg;
        return strcmp(candidate, "x.4.csv") == 0;
}

static void
test_free_name(void **state)
{
        struct testutil_fixture *fx = *state;
        struct spool *sp = open_ok(fx);
        char out[SPOOL_MAX_NAME + 1];

        assert_int_equal(spool_free_name(sp, SPOOL_DONE, "x.csv", NULL, NULL, out, sizeof(out)), 0);
        assert_string_equal(out, "x.csv");
        put(fx, "done", "x.csv", "1\n");
        assert_int_equal(spool_free_name(sp, SPOOL_DONE, "x.csv", NULL, NULL, out, sizeof(out)), 0);
        assert_string_equal(out, "x.2.csv");
        /* A receipt alone also takes the name. */
        put(fx, "done", "x.2.csv.receipt", "1\n");
        put(fx, "done", "x.3.csv", "1\n");
        assert_int_equal(spool_free_name(sp, SPOOL_DONE, "x.csv", taken_x4, NULL, out, sizeof(out)),
                         0);
        assert_string_equal(out, "x.5.csv");
        /* Other directories are separate; a name without a dot gets a suffix. */
        assert_int_equal(spool_free_name(sp, SPOOL_FAILED, "x.csv", NULL, NULL, out, sizeof(out)),
                         0);
        assert_string_equal(out, "x.csv");
        put(fx, "failed", "README", "1\n");
        assert_int_equal(spool_free_name(sp, SPOOL_FAILED, "README", NULL, NULL, out, sizeof(out)),
                         0);
        assert_string_equal(out, "README.2");
        spool_close(&sp);
}

static void
test_move_and_identity(void **state)
{
        struct testutil_fixture *fx = *state;
        struct spool *sp = open_ok(fx);
        char id1[SPOOL_IDENTITY], id2[SPOOL_IDENTITY], path[256];
        struct stat st;

        put(fx, "incoming", "s.csv", "unit,period,indicator,value\n");
        snprintf(path, sizeof(path), "%s/incoming/s.csv", fx->path);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(spool_identity(sp, SPOOL_INCOMING, "s.csv", id1), 0);
        {
                char want[SPOOL_IDENTITY];

                snprintf(want, sizeof(want), "%llu:%llu:28:%lld.%09ld",
                         (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                         (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
                assert_string_equal(id1, want);
        }
        /* A move keeps the identity: it is the same file. */
        assert_int_equal(spool_move(sp, SPOOL_INCOMING, "s.csv", SPOOL_PROCESSING, "s.2.csv"), 0);
        assert_false(exists(fx, "incoming", "s.csv"));
        assert_true(exists(fx, "processing", "s.2.csv"));
        assert_int_equal(spool_identity(sp, SPOOL_PROCESSING, "s.2.csv", id2), 0);
        assert_string_equal(id1, id2);
        /* Gone: ENOENT, for both. */
        errno = 0;
        assert_int_equal(spool_move(sp, SPOOL_INCOMING, "s.csv", SPOOL_PROCESSING, "s.csv"), -1);
        assert_int_equal(errno, ENOENT);
        errno = 0;
        assert_int_equal(spool_identity(sp, SPOOL_INCOMING, "s.csv", id2), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(spool_path(sp, SPOOL_DONE, "s.csv", path, sizeof(path)), 0);
        {
                char want[256];

                snprintf(want, sizeof(want), "%s/done/s.csv", fx->path);
                assert_string_equal(path, want);
        }
        assert_int_equal(spool_path(sp, SPOOL_DONE, "s.csv", path, 8), -1);
        spool_close(&sp);
}

/* Path of ROOT/sub/name into buf. */
static void
path_of(const struct testutil_fixture *fx, const char *sub, const char *name, char *buf, size_t len)
{
        snprintf(buf, len, "%s/%s/%s", fx->path, sub, name);
}

/* Milliseconds to sleep. */
static void
sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

static void
test_quiet_time(void **state)
{
        struct testutil_fixture *fx = *state;
        struct spool *sp = open_ok(fx);
        struct timespec past[2] = {{.tv_sec = 1700000000}, {.tv_sec = 1700000000}};
        char got[256], from[256], to[256];
        FILE *fp;

        spool_quiet_set(sp, 400);
        /* A writer in place that has written a part and pauses. */
        path_of(fx, "incoming", "w.csv", to, sizeof(to));
        fp = fopen(to, "w");
        assert_non_null(fp);
        fputs("unit,period,indicator,value\n", fp);
        fflush(fp);
        /* A file renamed in after it was written (mtime in the past, as cp -p leaves it). */
        put(fx, "incoming", ".r.tmp", "unit,period,indicator,value\n");
        path_of(fx, "incoming", ".r.tmp", from, sizeof(from));
        assert_int_equal(utimensat(AT_FDCWD, from, past, 0), 0);
        path_of(fx, "incoming", "r.csv", to, sizeof(to));
        assert_int_equal(rename(from, to), 0);

        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "");
        /* The renamed file is taken at the second look; the paused one waits. */
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "r.csv");
        sleep_ms(200);
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "r.csv");
        /* It goes on writing: its quiet time starts again. */
        fputs("1,2024,p,3\n", fp);
        assert_int_equal(fclose(fp), 0);
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "r.csv");
        sleep_ms(250);
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "r.csv");
        sleep_ms(250);
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "r.csv,w.csv");
        spool_close(&sp);
}

static void
test_open_checks_the_descriptor(void **state)
{
        struct testutil_fixture *fx = *state;
        struct spool *sp = open_ok(fx);
        char id[SPOOL_IDENTITY], other[SPOOL_IDENTITY], path[256], tmp[256], outside[256];
        FILE *fp;
        int fd;

        put(fx, "incoming", "s.csv", "unit,period,indicator,value\n");
        path_of(fx, "incoming", "s.csv", path, sizeof(path));
        assert_int_equal(spool_identity(sp, SPOOL_INCOMING, "s.csv", id), 0);

        /* Unchanged: opened, and still the same after reading. */
        fd = spool_file_open(sp, SPOOL_INCOMING, "s.csv", id);
        assert_true(fd >= 0);
        assert_int_equal(spool_file_unchanged(sp, SPOOL_INCOMING, "s.csv", fd, id), 1);
        /* Appended to while read: changed. */
        fp = fopen(path, "a");
        assert_non_null(fp);
        fputs("1,2024,p,3\n", fp);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(spool_file_unchanged(sp, SPOOL_INCOMING, "s.csv", fd, id), 0);
        close(fd);
        /* Opened with the old identity: refused. */
        errno = 0;
        assert_int_equal(spool_file_open(sp, SPOOL_INCOMING, "s.csv", id), -1);
        assert_int_equal(errno, ESTALE);

        /* Another file renamed onto the name while the first was read. */
        assert_int_equal(spool_identity(sp, SPOOL_INCOMING, "s.csv", id), 0);
        fd = spool_file_open(sp, SPOOL_INCOMING, "s.csv", id);
        assert_true(fd >= 0);
        put(fx, "incoming", ".x.tmp", "unit,period,indicator,value\n1,2024,p,3\n");
        path_of(fx, "incoming", ".x.tmp", tmp, sizeof(tmp));
        assert_int_equal(rename(tmp, path), 0);
        assert_int_equal(spool_file_unchanged(sp, SPOOL_INCOMING, "s.csv", fd, id), 0);
        close(fd);

        /* Swapped for a symbolic link after the look: never followed. */
        assert_int_equal(spool_identity(sp, SPOOL_INCOMING, "s.csv", id), 0);
        snprintf(outside, sizeof(outside), "%s/secret.csv", fx->dir);
        fp = fopen(outside, "w");
        assert_non_null(fp);
        fputs("unit,period,indicator,value\n", fp);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink(outside, path), 0);
        errno = 0;
        assert_int_equal(spool_file_open(sp, SPOOL_INCOMING, "s.csv", id), -1);
        assert_int_equal(errno, ELOOP);
        errno = 0;
        assert_int_equal(spool_identity(sp, SPOOL_INCOMING, "s.csv", other), -1);
        assert_int_equal(errno, ESTALE);
        spool_close(&sp);
}

static void
test_receipt(void **state)
{
        struct testutil_fixture *fx = *state;
        struct spool *sp = open_ok(fx);
        char path[256], text[256];
        FILE *fp = spool_receipt_begin(sp, SPOOL_FAILED, "r.csv");
        size_t len;

        assert_non_null(fp);
        /* Until committed, only the dot-file exists. */
        assert_true(exists(fx, "failed", ".r.csv.receipt.tmp"));
        assert_false(exists(fx, "failed", "r.csv.receipt"));
        fputs("r.csv: 2 records, 1 accepted (1 changed), 1 rejected\nr.csv:3: bad\n", fp);
        assert_int_equal(spool_receipt_commit(sp, fp, SPOOL_FAILED, "r.csv"), 0);
        assert_false(exists(fx, "failed", ".r.csv.receipt.tmp"));
        snprintf(path, sizeof(path), "%s/failed/r.csv.receipt", fx->path);
        fp = fopen(path, "r");
        assert_non_null(fp);
        len = fread(text, 1, sizeof(text) - 1, fp);
        text[len] = '\0';
        fclose(fp);
        assert_string_equal(text,
                            "r.csv: 2 records, 1 accepted (1 changed), 1 rejected\nr.csv:3: bad\n");
        spool_close(&sp);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_open_and_lock, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_scan_waits_for_stable_files, setup,
                                            testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_list, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_free_name, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_move_and_identity, setup,
                                            testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_receipt, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_quiet_time, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_open_checks_the_descriptor, setup,
                                            testutil_fixture_teardown),
        };

        log_init("test_spool", 0);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
