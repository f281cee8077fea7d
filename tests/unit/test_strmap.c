/*
 * Unit tests for lib/strmap, and for the small helpers in lib/util that
 * every module leans on (they have no test file of their own).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "strmap.h"
#include "util.h"

/* The published FNV-1a 64-bit test vectors. */
static void
test_hash_vectors(void **state)
{
        (void)state;
        assert_int_equal(hash_bytes("", 0), 0xcbf29ce484222325ULL);
        assert_int_equal(hash_bytes("a", 1), 0xaf63dc4c8601ec8cULL);
        assert_int_equal(hash_bytes("foobar", 6), 0x85944171f73967e8ULL);
}

static void
test_put_get(void **state)
{
        struct strmap *m = strmap_new(0);

        (void)state;
        assert_int_equal(strmap_count(m), 0);
        assert_int_equal(strmap_get(m, "a", 1), -1);
        assert_int_equal(strmap_put(m, "a", 1, 7), 7);
        assert_int_equal(strmap_put(m, "b", 1, 0), 0);
        assert_int_equal(strmap_get(m, "a", 1), 7);
        assert_int_equal(strmap_get(m, "b", 1), 0);
        /* Present keys keep their value and report it. */
        assert_int_equal(strmap_put(m, "a", 1, 9), 7);
        assert_int_equal(strmap_get(m, "a", 1), 7);
        assert_int_equal(strmap_count(m), 2);
        /* Keys are byte strings of a length: prefixes and NULs are distinct. */
        assert_int_equal(strmap_get(m, "ab", 1), 7);
        assert_int_equal(strmap_get(m, "ab", 2), -1);
        assert_int_equal(strmap_put(m, "a\0b", 3, 3), 3);
        assert_int_equal(strmap_get(m, "a\0b", 3), 3);
        assert_int_equal(strmap_get(m, "a\0c", 3), -1);
        assert_int_equal(strmap_put(m, "", 0, 4), 4);
        assert_int_equal(strmap_get(m, "", 0), 4);
        assert_int_equal(strmap_count(m), 4);
        strmap_destroy(&m);
        assert_null(m);
        strmap_destroy(&m);
        strmap_destroy(NULL);
}

/* Growth keeps every entry; keys are copies the caller may reuse. */
static void
test_grow(void **state)
{
        struct strmap *m = strmap_new(4);
        char key[32];

        (void)state;
        for (int i = 0; i < 100000; i++) {
                int n = snprintf(key, sizeof(key), "S%07d", i);

                assert_int_equal(strmap_put(m, key, (size_t)n, i), i);
        }
        memset(key, 'x', sizeof(key));
        assert_int_equal(strmap_count(m), 100000);
        for (int i = 0; i < 100000; i++) {
                int n = snprintf(key, sizeof(key), "S%07d", i);

                assert_int_equal(strmap_get(m, key, (size_t)n), i);
        }
        assert_int_equal(strmap_get(m, "S0100000", 8), -1);
        assert_int_equal(strmap_get(m, "S000000", 7), -1);
        strmap_destroy(&m);
}

static void
test_util_strings(void **state)
{
        char buf[8];
        char *p;

        (void)state;
        p = xstrndup("abcdef", 3);
        assert_string_equal(p, "abc");
        free(p);
        p = xstrdup("");
        assert_string_equal(p, "");
        free(p);
        /* strlcpyf always terminates and truncates quietly. */
        assert_ptr_equal(strlcpyf(buf, sizeof(buf), "%s-%d", "abc", 12345), buf);
        assert_string_equal(buf, "abc-123");
        strlcpyf(buf, sizeof(buf), "%d", 42);
        assert_string_equal(buf, "42");
        buf[0] = 'z';
        strlcpyf(buf, 0, "ignored");
        assert_int_equal(buf[0], 'z');
        p = xcalloc(0, 0);
        free(p);
        p = xreallocarray(NULL, 4, 4);
        memset(p, 1, 16);
        free(p);
}

static const struct {
        const char *s;
        long min, max;
        int rc;
        long v;
} long_cases[] = {
    {"0", 0, 10, 0, 0},
    {"10", 0, 10, 0, 10},
    {"11", 0, 10, -1, 0},
    {"-1", 0, 10, -1, 0},
    {"-1", -5, 10, 0, -1},
    {"+3", 0, 10, 0, 3},
    {"", 0, 10, -1, 0},
    {" 3", 0, 10, -1, 0},
    {"3 ", 0, 10, -1, 0},
    {"3x", 0, 10, -1, 0},
    {"0x3", 0, 10, -1, 0},
    {"1.0", 0, 10, -1, 0},
    {"99999999999999999999999", 0, LONG_MAX, -1, 0},
    {"9223372036854775807", 0, LONG_MAX, 0, LONG_MAX},
    {"-", -10, 10, -1, 0},
};

static void
test_parse_long(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(long_cases) / sizeof(long_cases[0]); i++) {
                long v = 12345;
                int rc = parse_long(long_cases[i].s, long_cases[i].min, long_cases[i].max, &v);

                if (rc != long_cases[i].rc)
                        print_error("case \"%s\"\n", long_cases[i].s);
                assert_int_equal(rc, long_cases[i].rc);
                assert_int_equal(v, rc == 0 ? long_cases[i].v : 12345);
        }
        assert_int_equal(parse_long(NULL, 0, 1, NULL), -1);
}

static void
test_env_and_clocks(void **state)
{
        int64_t a, b, w;

        (void)state;
        unsetenv("EDUSTAT_TEST_ENV");
        assert_string_equal(env_or("EDUSTAT_TEST_ENV", "dflt"), "dflt");
        setenv("EDUSTAT_TEST_ENV", "", 1);
        assert_string_equal(env_or("EDUSTAT_TEST_ENV", "dflt"), "dflt");
        setenv("EDUSTAT_TEST_ENV", "set", 1);
        assert_string_equal(env_or("EDUSTAT_TEST_ENV", "dflt"), "set");
        unsetenv("EDUSTAT_TEST_ENV");

        a = now_ms();
        b = now_ms();
        assert_true(b >= a);
        a = now_us();
        b = now_us();
        assert_true(b >= a);
        /* The two clocks are one clock: ms never runs ahead of µs / 1000. */
        assert_true(now_ms() <= now_us() / 1000);
        /* The wall clock is after 2020-01-01 and before 2200, in microseconds. */
        w = wallclock_us();
        assert_true(w > 1577836800LL * 1000000);
        assert_true(w < 7258118400LL * 1000000);
}

/* Appends fill the buffer to the byte; the first that does not fit stops all. */
static void
test_textbuf(void **state)
{
        char buf[8];
        struct textbuf t = {buf, 0, sizeof buf, 0}, z = {buf, 0, 0, 0};

        (void)state;
        textbuf_add(&t, "%s", "");
        assert_int_equal(t.len, 0);
        assert_string_equal(buf, "");
        textbuf_add(&t, "ab%d", 12);
        textbuf_add(&t, "cde");
        assert_false(t.full);
        assert_int_equal(t.len, 7);
        assert_string_equal(buf, "ab12cde");
        textbuf_add(&t, "f"); /* 8 bytes with the NUL: one too many */
        assert_true(t.full);
        assert_int_equal(t.len, 7);
        textbuf_add(&t, "%s", "");
        assert_true(t.full);
        textbuf_add(&z, "%s", "");
        assert_true(z.full);
        assert_int_equal(z.len, 0);
}

/* Run body in a child with stderr on a pipe; returns what it wrote. */
static void
capture_stderr(void (*body)(void), char *out, size_t outlen)
{
        int fds[2], status;
        size_t len = 0;
        ssize_t n;
        pid_t pid;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(fds[1], STDERR_FILENO);
                close(fds[0]);
                close(fds[1]);
                body();
                _exit(0);
        }
        close(fds[1]);
        while (len + 1 < outlen && (n = read(fds[0], out + len, outlen - len - 1)) > 0)
                len += (size_t)n;
        out[len] = '\0';
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void
log_body(void)
{
        unsetenv("EDUSTAT_LOG_LEVEL");
        log_init("tprog", 0);
        log_warnx("plain %d", 1);
        log_debug("hidden");
        errno = ENOENT;
        log_warn("open %s", "x.csv");
        log_info("info line");
        log_set_debug(1);
        log_debug("shown");
}

static void
log_env_body(void)
{
        setenv("EDUSTAT_LOG_LEVEL", "debug", 1);
        log_init("tprog", 0);
        log_debug("from env");
        fatalx("bye %s", "now");
}

/* log has no test file of its own; its line format is a contract. */
static void
test_log_format(void **state)
{
        char out[1024], want[1024];
        long pid;

        (void)state;
        capture_stderr(log_body, out, sizeof(out));
        /* The child's pid is in every line; read it from the first. */
        assert_int_equal(sscanf(out, "tprog[%ld]", &pid), 1);
        snprintf(want, sizeof(want),
                 "tprog[%ld]: warning: plain 1\n"
                 "tprog[%ld]: warning: open x.csv: No such file or directory\n"
                 "tprog[%ld]: info: info line\n"
                 "tprog[%ld]: debug: shown\n",
                 pid, pid, pid, pid);
        assert_string_equal(out, want);

        capture_stderr(log_env_body, out, sizeof(out));
        assert_int_equal(sscanf(out, "tprog[%ld]", &pid), 1);
        snprintf(want, sizeof(want), "tprog[%ld]: debug: from env\ntprog[%ld]: fatal: bye now\n",
                 pid, pid);
        assert_string_equal(out, want);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hash_vectors), cmocka_unit_test(test_put_get),
            cmocka_unit_test(test_grow),         cmocka_unit_test(test_util_strings),
            cmocka_unit_test(test_parse_long),   cmocka_unit_test(test_env_and_clocks),
            cmocka_unit_test(test_log_format),   cmocka_unit_test(test_textbuf),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
