/*
 * rules_eval: lib/rules.c as a command, for the differential test of
 * rules_oracle.py (rules_oracle.py differential).
 *
 *   rules_eval INDICATORS.csv ORGUNITS.csv RULES.csv VALUES
 *
 * VALUES has lines "cur CODE VALUE" or "prev CODE VALUE": one unit's
 * stored values for the period checked and for the year before.  A ratio
 * indicator is computed from them as the aggregator does for a school
 * (multiplier * num / den, a missing numerator 0, missing when the
 * denominator is 0 or absent).  For each rule, in file order, prints
 *
 *   CODE skip
 *   CODE pass|fail LEFT RIGHT MESSAGE
 *
 * or one line "LOADERR problem" when rules_load() refuses the file.  Exits
 * 0, or 2 when the catalogue, the tree or VALUES cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "orgtree.h"
#include "rules.h"

#define VALUES_MAX 256 /* lines of VALUES */

struct env {
        const struct catalog *cat;
        char *cur[VALUES_MAX], *prev[VALUES_MAX]; /* by catalogue index; owned */
};

static int
stored(const struct env *e, int i, int prev, rule_num *v)
{
        const char *t = prev ? e->prev[i] : e->cur[i];

        return t != NULL && rule_num_parse(t, strlen(t), v) == 0;
}

static int
lookup(void *ctx, int i, int prev, rule_num *v)
{
        const struct env *e = ctx;
        const struct indicator *d = &e->cat->ind[i];
        rule_num num, den, mult;

        if (d->kind != IND_RATIO)
                return stored(e, i, prev, v);
        if (!stored(e, d->den, prev, &den) || den == 0)
                return 0;
        if (!stored(e, d->num, prev, &num))
                num = 0;
        if (rule_num_parse(d->multiplier_text, strlen(d->multiplier_text), &mult) < 0)
                return 0;
        return rule_num_ratio(mult, num, den, v) == 0;
}

int
main(int argc, char **argv)
{
        char err[1024], line[512], msg[RULE_MESSAGE_MAX];
        char lb[RULE_NUM_BUFSZ], rb[RULE_NUM_BUFSZ];
        struct env e = {0};
        struct catalog *cat;
        struct orgtree *tree;
        struct rules *rs;
        FILE *fp;
        int rc = 0;

        if (argc != 5) {
                fprintf(stderr, "usage: rules_eval INDICATORS.csv ORGUNITS.csv RULES.csv VALUES\n");
                return 2;
        }
        cat = catalog_load(argv[1], err, sizeof(err));
        tree = cat != NULL ? orgtree_load(argv[2], err, sizeof(err)) : NULL;
        if (cat == NULL || tree == NULL || cat->n > VALUES_MAX) {
                fprintf(stderr, "rules_eval: %s\n",
                        cat == NULL || tree == NULL ? err : "catalogue too large");
                catalog_destroy(&cat);
                return 2;
        }
        e.cat = cat;
        if ((fp = fopen(argv[4], "r")) == NULL) {
                perror(argv[4]);
                rc = 2;
                goto out;
        }
        while (fgets(line, sizeof(line), fp) != NULL) {
                char which[8], code[64], value[64];
                int i;

                if (sscanf(line, "%7s %63s %63s", which, code, value) != 3)
                        continue;
                if ((i = catalog_find(cat, code, strlen(code))) < 0)
                        continue;
                char **slot = strcmp(which, "prev") == 0 ? &e.prev[i] : &e.cur[i];
                free(*slot);
                *slot = strdup(value);
        }
        fclose(fp);
        if ((rs = rules_load(argv[3], cat, tree, err, sizeof(err))) == NULL) {
                printf("LOADERR %s\n", err);
                goto out;
        }
        for (size_t k = 0; k < rs->n; k++) {
                const struct rule *r = &rs->rule[k];
                rule_num left = 0, right = 0;
                enum rule_status s = rule_eval(r, lookup, &e, &left, &right);

                if (s == RULE_SKIP) {
                        printf("%s skip\n", r->code);
                        continue;
                }
                rule_num_format(left, lb);
                rule_num_format(right, rb);
                rule_message(r, left, right, s == RULE_FAIL, msg, sizeof(msg));
                printf("%s %s %s %s %s\n", r->code, s == RULE_FAIL ? "fail" : "pass", lb, rb, msg);
        }
        rules_destroy(&rs);
out:
        for (size_t i = 0; i < VALUES_MAX; i++) {
                free(e.cur[i]);
                free(e.prev[i]);
        }
        orgtree_destroy(&tree);
        catalog_destroy(&cat);
        return rc;
}
