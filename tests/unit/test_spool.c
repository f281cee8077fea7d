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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "spool.h"

struct fixture {
        char dir[64];
        char root[96];
};

static int
setup(void **state)
{
        struct fixture *fx = calloc(1, sizeof(*fx));

        strcpy(fx->dir, "/tmp/test_spool.XXXXXX");
        if (mkdtemp(fx->dir) == NULL)
                return -1;
        /* The spool itself does not exist yet: spool_open makes it. */
        snprintf(fx->root, sizeof(fx->root), "%s/spool", fx->dir);
        *state = fx;
        return 0;
}

static int
teardown(void **state)
{
        struct fixture *fx = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
        if (system(cmd) != 0)
                return -1;
        free(fx);
        return 0;
}

static struct spool *
open_ok(const struct fixture *fx)
{
        char err[256] = "";
        struct spool *sp = spool_open(fx->root, err, sizeof(err));

        if (sp == NULL)
                fail_msg("spool_open: %s", err);
        return sp;
}

/* Write text to ROOT/sub/name. */
static void
put(const struct fixture *fx, const char *sub, const char *name, const char *text)
{
        char path[256];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s/%s", fx->root, sub, name);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
}

static int
exists(const struct fixture *fx, const char *sub, const char *name)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/%s/%s", fx->root, sub, name);
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
        struct fixture *fx = *state;
        struct spool *sp = open_ok(fx), *again;
        char err[256] = "", path[256];
        struct stat st;
        const char *subs[] = {"incoming", "processing", "done", "failed"};

        for (int i = 0; i < 4; i++) {
                snprintf(path, sizeof(path), "%s/%s", fx->root, subs[i]);
                assert_int_equal(stat(path, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
                assert_string_equal(spool_dir_name((enum spool_dir)i), subs[i]);
        }
        /* A second run on the same spool is refused while the first holds it. */
        again = spool_open(fx->root, err, sizeof(err));
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
        struct fixture *fx = *state;
        struct spool *sp = open_ok(fx);
        char got[256], path[256];

        put(fx, "incoming", "a.csv", "unit,period,indicator,value\n");
        put(fx, "incoming", "b.csv", "x\n");
        put(fx, "incoming", ".a.csv.tmp", "being written\n");
        put(fx, "incoming", ".hidden.csv", "dot file\n");
        put(fx, "incoming", "notes.txt", "not csv\n");
        put(fx, "incoming", ".csv", "no name\n");
        snprintf(path, sizeof(path), "%s/incoming/dir.csv", fx->root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/incoming/link.csv", fx->root);
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

                snprintf(from, sizeof(from), "%s/incoming/.c.tmp", fx->root);
                snprintf(to, sizeof(to), "%s/incoming/b.csv", fx->root);
                assert_int_equal(rename(from, to), 0);
        }
        scan_str(sp, 100, got, sizeof(got));
        assert_string_equal(got, "a.csv");
        spool_close(&sp);
}

static void
test_list(void **state)
{
        struct fixture *fx = *state;
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
        struct fixture *fx = *state;
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
        struct fixture *fx = *state;
        struct spool *sp = open_ok(fx);
        char id1[SPOOL_IDENTITY], id2[SPOOL_IDENTITY], path[256];
        struct stat st;

        put(fx, "incoming", "s.csv", "unit,period,indicator,value\n");
        snprintf(path, sizeof(path), "%s/incoming/s.csv", fx->root);
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

                snprintf(want, sizeof(want), "%s/done/s.csv", fx->root);
                assert_string_equal(path, want);
        }
        assert_int_equal(spool_path(sp, SPOOL_DONE, "s.csv", path, 8), -1);
        spool_close(&sp);
}

static void
test_receipt(void **state)
{
        struct fixture *fx = *state;
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
        snprintf(path, sizeof(path), "%s/failed/r.csv.receipt", fx->root);
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
            cmocka_unit_test_setup_teardown(test_open_and_lock, setup, teardown),
            cmocka_unit_test_setup_teardown(test_scan_waits_for_stable_files, setup, teardown),
            cmocka_unit_test_setup_teardown(test_list, setup, teardown),
            cmocka_unit_test_setup_teardown(test_free_name, setup, teardown),
            cmocka_unit_test_setup_teardown(test_move_and_identity, setup, teardown),
            cmocka_unit_test_setup_teardown(test_receipt, setup, teardown),
        };

        log_init("test_spool", 0);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
