#include "arena.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct arena_block {
        struct arena_block *next;
        size_t used, cap;
        char data[];
};

struct arena {
        struct arena_block *head; /* the newest block, where copies go */
        size_t block;
};

struct arena *
arena_new(size_t block)
{
        struct arena *a = xcalloc(1, sizeof(*a));

        a->block = block;
        return a;
}

char *
arena_copy(struct arena *a, const char *s, size_t len)
{
        struct arena_block *b = a->head;
        char *p;

        if (b == NULL || b->cap - b->used < len + 1) {
                size_t cap = len + 1 > a->block ? len + 1 : a->block;

                b = xmalloc(sizeof(*b) + cap);
                b->cap = cap;
                b->used = 0;
                b->next = a->head;
                a->head = b;
        }
        p = b->data + b->used;
        if (len > 0)
                memcpy(p, s, len);
        p[len] = '\0';
        b->used += len + 1;
        return p;
}

char *
arena_str(struct arena *a, const char *s)
{
        return arena_copy(a, s, strlen(s));
}

void
arena_destroy(struct arena **ap)
{
        struct arena *a;

        if (ap == NULL || (a = *ap) == NULL)
                return;
        for (struct arena_block *b = a->head, *next; b != NULL; b = next) {
                next = b->next;
                free(b);
        }
        free(a);
        *ap = NULL;
}
