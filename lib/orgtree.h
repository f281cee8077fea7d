/*
 * orgtree: the org-unit tree, loaded from orgunits.csv.
 *
 * Header: code,parent,level,name,stage,locality,ownership (any order; extra
 * columns ignored; stage, locality and ownership may be empty).  The root is
 * the one row with an empty parent.  Depth comes from the parent links, so
 * any depth works: school -> district -> city -> province ...
 *
 * Loading stops at the first problem with "FILE:LINE: problem": a duplicate
 * or malformed code, an unknown parent, a cycle, no root or a second root.
 * Codes are 1..64 bytes of [A-Za-z0-9_.-].
 *
 * After loading, units are numbered 0..n-1 in file order, and the tree
 * answers the two questions rollup asks on every change: "which units
 * contain this one" (ancestors, self first) and "which leaves lie below this
 * one" (a contiguous slice of the leaves in depth-first order).  A leaf is a
 * unit with no children.
 */
#ifndef EDUSTAT_ORGTREE_H
#define EDUSTAT_ORGTREE_H

#include <stddef.h>

#include "util.h"

#define ORGTREE_MAX_UNITS (1 << 22)
#define ORGTREE_CODE_MAX  64

struct orgunit {
        char *code;
        char *parent_code; /* "" for the root */
        char *level;       /* label as written: city, district, school... */
        char *name;
        char *stage;     /* may be "" */
        char *locality;  /* may be "" */
        char *ownership; /* may be "" */
        int parent;      /* index, -1 for the root */
        unsigned depth;  /* root 0 */
        int is_leaf;
        unsigned long line;
};

struct orgtree {
        struct orgunit *u;
        size_t n;
        int root;
        /* private from here: read through the functions below */
        int *anc;        /* ancestors of every unit, concatenated */
        size_t *anc_off; /* unit i: anc[anc_off[i] .. anc_off[i+1]) */
        int *leaves;     /* leaf indices in depth-first order */
        size_t *leaf_lo; /* unit i: leaves[leaf_lo[i] .. leaf_hi[i]) */
        size_t *leaf_hi;
        size_t nleaves;
        struct orgtree_index *index;
};

/* Load path; NULL with "FILE:LINE: problem" in err on failure. */
EDUSTAT_MUST_USE struct orgtree *orgtree_load(const char *path, char *err, size_t errlen);

/* Index of the unit with this code, or -1. */
int orgtree_find(const struct orgtree *t, const char *code, size_t len);

/* Ancestors of unit, self first and the root last; *n is set to the count. */
const int *orgtree_ancestors(const struct orgtree *t, int unit, size_t *n);

/* The leaves at or below unit, in depth-first order; *n is set. */
const int *orgtree_leaves(const struct orgtree *t, int unit, size_t *n);

/* 1 when anc is unit or one of its ancestors. */
int orgtree_contains(const struct orgtree *t, int anc, int unit);

/* Free; accepts NULL and sets *tp to NULL. */
void orgtree_destroy(struct orgtree **tp);

#endif
