/*
 * forms: which indicators each stage's schools report, from the optional
 * forms.csv of the config directory.
 *
 * Header: stage,indicator (any order, case-insensitive; extra columns are
 * ignored).  One row per indicator a stage's form lists.  The template
 * command (collector/template.c) makes one column per listed indicator,
 * and the sink stores the rows in edustat.form, where the completeness
 * view counts a school as reported only when it stores every indicator of
 * its stage's form.  A school whose stage has no row (or that has no
 * stage) has no form: the template lists every submitted indicator for it,
 * and any value counts as reported, as without the file.
 *
 * Loading stops at the first problem with "forms.csv:LINE: problem": an
 * empty or unknown stage (no school of orgunits.csv has it), an empty or
 * unknown indicator, a ratio (ratios are computed, never submitted), a row
 * repeating an earlier one, more than FORMS_MAX_ROWS rows.
 */
#ifndef EDUSTAT_FORMS_H
#define EDUSTAT_FORMS_H

#include <stddef.h>

#include "catalog.h"
#include "orgtree.h"

/* Rows of forms.csv: every stage listing every indicator fits many times over. */
#define FORMS_MAX_ROWS (1 << 16)

/* One row of forms.csv. */
struct form_item {
        char *stage;   /* a stage of some school in orgunits.csv */
        int indicator; /* catalogue index; never a ratio */
        unsigned long line;
};

struct forms {
        struct form_item *item; /* in file order */
        size_t n;
};

/*
 * Load path, checking stages against tree and indicators against cat.
 * Returns 1 with an owned *out, 0 with *out = NULL when the file does not
 * exist (no forms), or -1 with "NAME:LINE: problem" (or "PATH: problem"
 * when it cannot be read) in err, where NAME is the path as given.
 */
int forms_load(const char *path, const struct catalog *cat, const struct orgtree *tree,
               struct forms **out, char *err, size_t errlen);

/*
 * 1 when indicator ind is on the form of stage; also 1 when f is NULL or
 * the stage has no row (no form: everything submitted counts), else 0.
 */
int forms_lists(const struct forms *f, const char *stage, int ind);

/* 1 when stage has at least one row in f (f may be NULL). */
int forms_has_stage(const struct forms *f, const char *stage);

/* Free; accepts NULL and sets *fp to NULL. */
void forms_destroy(struct forms **fp);

#endif
