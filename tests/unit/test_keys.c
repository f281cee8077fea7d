/*
 * Unit tests for lib/keys.c: key files, the collector registry and its
 * authorization rule, and key directories.  Tree: tests/unit/data/tree4.csv
 * (C > D1 > T1 > S1 S2; D1 > S3; C > D2 > T2 > S4; C > D3 ...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "keys.h"
#include "orgtree.h"
#include "util.h"

static char dir[] = "/tmp/edustat-test-keys.XXXXXX";
static struct orgtree *tree;

static int
setup(void **ts)
{
        char err[512];

        (void)ts;
        assert_non_null(mkdtemp(dir));
        tree = orgtree_load(SOURCE_ROOT "/tests/unit/data/tree4.csv", err, sizeof(err));
        if (tree == NULL)
                fail_msg("%s", err);
        return 0;
}

static int
teardown(void **ts)
{
        char cmd[256];

        (void)ts;
        orgtree_destroy(&tree);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *name, const char *text)
{
        char path[512];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_non_null(fp = fopen(path, "w"));
        fputs(text, fp);
        fclose(fp);
}

static void
test_generate_and_read(void **ts)
{
        struct keypair kp, rd;
        char err[512], path[512];
        struct stat st;

        (void)ts;
        assert_int_equal(keys_generate(dir, "school1", &kp, err, sizeof(err)), 0);
        assert_true(keys_z85_valid(kp.public_z85));
        assert_true(keys_z85_valid(kp.secret_z85));

        snprintf(path, sizeof(path), "%s/school1.key_secret", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(keys_read(path, 1, &rd, err, sizeof(err)), 0);
        assert_string_equal(rd.public_z85, kp.public_z85);
        assert_string_equal(rd.secret_z85, kp.secret_z85);

        /* The public file has no secret, and says so when one is needed. */
        snprintf(path, sizeof(path), "%s/school1.key", dir);
        assert_int_equal(keys_read(path, 0, &rd, err, sizeof(err)), 0);
        assert_string_equal(rd.public_z85, kp.public_z85);
        assert_string_equal(rd.secret_z85, "");
        assert_int_equal(keys_read(path, 1, &rd, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "secret-key"));

        /* The secret key really belongs to the public one. */
        char derived[41];
        assert_int_equal(zmq_curve_public(derived, kp.secret_z85), 0);
        assert_string_equal(derived, kp.public_z85);

        /* Never overwrite a key in use. */
        assert_int_equal(keys_generate(dir, "school1", &kp, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "exists"));
}

static void
test_read_czmq_format_and_junk(void **ts)
{
        struct keypair kp;
        char err[512], path[512];

        (void)ts;
        /* as CZMQ's zcert_save writes it */
        write_file("czmq.key_secret",
                   "#   ****  Generated on 2024-01-01 by CZMQ  ****\n"
                   "metadata\n    name = \"x\"\ncurve\n"
                   "    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"
                   "    secret-key = \"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6\"\n");
        snprintf(path, sizeof(path), "%s/czmq.key_secret", dir);
        assert_int_equal(keys_read(path, 1, &kp, err, sizeof(err)), 0);
        assert_string_equal(kp.public_z85, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
        assert_string_equal(kp.secret_z85, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6");

        write_file("short.key", "curve\n    public-key = \"abc\"\n");
        snprintf(path, sizeof(path), "%s/short.key", dir);
        assert_int_equal(keys_read(path, 0, &kp, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "short.key"));

        snprintf(path, sizeof(path), "%s/missing.key", dir);
        assert_int_equal(keys_read(path, 0, &kp, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "No such file"));

        assert_false(keys_z85_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf"));     /* 39 */
        assert_false(keys_z85_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\x7f")); /* bad char */
}

static struct registry *
load(const char *text, char *err, size_t len)
{
        char path[512];

        write_file("collectors.csv", text);
        snprintf(path, sizeof(path), "%s/collectors.csv", dir);
        return registry_load(path, tree, err, len);
}

#define K1 "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define K2 "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define K3 "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

static void
test_registry_and_authorization(void **ts)
{
        struct registry *r;
        const struct collector *c;
        uint8_t key[32];
        char err[512];

        (void)ts;
        r = load("\xef\xbb\xbfpublic_key,name,units\r\n" K1 ",school-S1,S1\r\n" K2
                 ",\"district office D1\",D1\r\n" K3 ",two schools,S3 S4\r\n",
                 err, sizeof(err));
        if (r == NULL)
                fail_msg("%s", err);
        assert_int_equal(r->n, 3);

        zmq_z85_decode(key, K2);
        assert_non_null(c = registry_find_key(r, key));
        assert_string_equal(c->name, "district office D1");
        assert_ptr_equal(registry_find_name(r, "district office D1", 18), c);
        /* a district office may submit for the district and everything below */
        assert_true(registry_allows(c, tree, orgtree_find(tree, "D1", 2)));
        assert_true(registry_allows(c, tree, orgtree_find(tree, "T1", 2)));
        assert_true(registry_allows(c, tree, orgtree_find(tree, "S1", 2)));
        assert_true(registry_allows(c, tree, orgtree_find(tree, "S3", 2)));
        /* ...and for nothing else: not another district's school, nor the city */
        assert_false(registry_allows(c, tree, orgtree_find(tree, "S4", 2)));
        assert_false(registry_allows(c, tree, orgtree_find(tree, "D2", 2)));
        assert_false(registry_allows(c, tree, orgtree_find(tree, "C", 1)));

        c = registry_find_name(r, "school-S1", 9);
        assert_true(registry_allows(c, tree, orgtree_find(tree, "S1", 2)));
        assert_false(registry_allows(c, tree, orgtree_find(tree, "S2", 2)));
        assert_false(registry_allows(c, tree, orgtree_find(tree, "T1", 2)));

        c = registry_find_name(r, "two schools", 11);
        assert_true(registry_allows(c, tree, orgtree_find(tree, "S3", 2)));
        assert_true(registry_allows(c, tree, orgtree_find(tree, "S4", 2)));
        assert_false(registry_allows(c, tree, orgtree_find(tree, "S1", 2)));

        zmq_z85_decode(key, "0000000000000000000000000000000000000000");
        assert_null(registry_find_key(r, key));
        registry_destroy(&r);
        assert_null(r);
}

static void
test_registry_errors(void **ts)
{
        static const struct {
                const char *text, *want;
        } cases[] = {
            {"public_key,name\n", "collectors.csv:1: missing column \"units\""},
            {"public_key,name,units\nnot-a-key,a,S1\n",
             "collectors.csv:2: public_key \"not-a-key\" is not a 40-character Z85 CURVE key"},
            {"public_key,name,units\n" K1 ",a,S1\n" K1 ",b,S2\n",
             "collectors.csv:3: public_key " K1 " is listed twice"},
            {"public_key,name,units\n" K1 ",a,S1\n" K2 ",a,S2\n",
             "collectors.csv:3: name \"a\" is listed twice"},
            {"public_key,name,units\n" K1 ",a,\n",
             "collectors.csv:2: collector \"a\" has no units"},
            {"public_key,name,units\n" K1 ",,S1\n", "collectors.csv:2: name must be"},
            {"", "collectors.csv:1: empty file"},
        };
        char err[512];

        (void)ts;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct registry *r = load(cases[i].text, err, sizeof(err));

                assert_null(r);
                if (strstr(err, cases[i].want) == NULL)
                        fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
        }
}

/*
 * A unit removed from the tree is ignored for its collector, with a
 * warning: the registry still loads, the collector keeps its other units,
 * and one left with none keeps its key and may write nothing.
 */
static void
test_registry_unit_removed(void **ts)
{
        struct registry *r;
        const struct collector *c;
        char err[512];

        (void)ts;
        r = load("public_key,name,units\n" K1 ",a,S1 S9\n" K2 ",b,S9\n", err, sizeof(err));
        assert_non_null(r);
        assert_int_equal(r->n, 2);
        c = registry_find_name(r, "a", 1);
        assert_non_null(c);
        assert_int_equal(c->nunits, 1);
        c = registry_find_name(r, "b", 1);
        assert_non_null(c);
        assert_int_equal(c->nunits, 0);
        registry_destroy(&r);
}

static void
test_keyset_dir(void **ts)
{
        struct keyset *ks;
        struct keypair kp;
        char sub[512], err[512];
        uint8_t key[32];

        (void)ts;
        snprintf(sub, sizeof(sub), "%s/aggregators", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        assert_null(keyset_load_dir(sub, err, sizeof(err)));
        assert_non_null(strstr(err, "no NAME.key files"));

        assert_int_equal(keys_generate(sub, "panjin", &kp, err, sizeof(err)), 0);
        assert_non_null(ks = keyset_load_dir(sub, err, sizeof(err)));
        assert_int_equal(ks->n, 1); /* panjin.key_secret is not a .key file */
        zmq_z85_decode(key, kp.public_z85);
        assert_string_equal(keyset_find(ks, key), "panjin");
        zmq_z85_decode(key, K1);
        assert_null(keyset_find(ks, key));
        keyset_destroy(&ks);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_generate_and_read),
            cmocka_unit_test(test_read_czmq_format_and_junk),
            cmocka_unit_test(test_registry_and_authorization),
            cmocka_unit_test(test_registry_errors),
            cmocka_unit_test(test_registry_unit_removed),
            cmocka_unit_test(test_keyset_dir),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
