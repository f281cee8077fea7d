#include "batchlog.h"

#include <stdlib.h>

#include "util.h"

struct entry {
        uint64_t key; /* 0: free (a key of 0 is stored as 1: a harmless alias) */
        uint64_t digest;
};

struct batchlog {
        struct entry e[BATCHLOG_SETS][BATCHLOG_WAYS];
        uint8_t next[BATCHLOG_SETS]; /* the way to evict next: round robin = oldest */
};

_Static_assert((BATCHLOG_SETS & (BATCHLOG_SETS - 1)) == 0, "BATCHLOG_SETS is a power of two");
_Static_assert(BATCHLOG_WAYS <= 255, "next[] is a byte");

struct batchlog *
batchlog_new(void)
{
        return xcalloc(1, sizeof(struct batchlog));
}

void
batchlog_destroy(struct batchlog **lp)
{
        if (lp == NULL)
                return;
        free(*lp);
        *lp = NULL;
}

/* The set of key, from its high bits so that it is independent of the low ones. */
static size_t
set_of(uint64_t key)
{
        return (size_t)(key >> 40) & (BATCHLOG_SETS - 1);
}

/* The way of set holding key (never 0: stored as 1), or -1. */
static int
way_of(const struct entry *s, uint64_t key)
{
        for (int w = 0; w < BATCHLOG_WAYS; w++)
                if (s[w].key == (key ? key : 1))
                        return w;
        return -1;
}

int
batchlog_has(const struct batchlog *l, uint64_t key, uint64_t digest)
{
        const struct entry *s = l->e[set_of(key)];
        int w = way_of(s, key);

        return w >= 0 && s[w].digest == digest;
}

enum batchlog_result
batchlog_check(struct batchlog *l, uint64_t key, uint64_t digest)
{
        size_t set = set_of(key);
        struct entry *s = l->e[set];
        int w = way_of(s, key);

        if (w >= 0)
                return s[w].digest == digest ? BATCHLOG_SAME : BATCHLOG_OTHER;
        if (key == 0)
                key = 1;
        /* Ways fill in order and are evicted in the same order: the oldest goes. */
        w = l->next[set];
        s[w].key = key;
        s[w].digest = digest;
        l->next[set] = (uint8_t)((w + 1) % BATCHLOG_WAYS);
        return BATCHLOG_NEW;
}
