#include "strmap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct slot {
        char *key; /* NULL when empty */
        uint32_t len;
        int value;
        uint64_t hash;
};

struct strmap {
        struct slot *slots;
        size_t cap; /* power of two */
        size_t count;
};

uint64_t
hash_bytes(const void *p, size_t len)
{
        const unsigned char *s = p;
        uint64_t h = 14695981039346656037ULL;

        for (size_t i = 0; i < len; i++) {
                h ^= s[i];
                h *= 1099511628211ULL;
        }
        return h;
}

uint64_t
hash_block(const void *p, size_t len)
{
        const unsigned char *s = p;
        uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
        size_t i = 0;

        for (; i + 8 <= len; i += 8) {
                memcpy(&w, s + i, 8);
                h = (h ^ w) * 0xff51afd7ed558ccdULL;
                h ^= h >> 29;
        }
        w = 0;
        memcpy(&w, s + i, len - i);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        return h ^ (h >> 32);
}

struct strmap *
strmap_new(size_t hint)
{
        struct strmap *m = xcalloc(1, sizeof(*m));

        m->cap = 16;
        while (m->cap < hint * 2 && m->cap < STRMAP_MAX * 2u)
                m->cap <<= 1;
        m->slots = xcalloc(m->cap, sizeof(*m->slots));
        return m;
}

static struct slot *
lookup(const struct strmap *m, const char *key, size_t len, uint64_t h)
{
        size_t mask = m->cap - 1;

        for (size_t i = h & mask;; i = (i + 1) & mask) {
                struct slot *s = &m->slots[i];

                if (s->key == NULL)
                        return s;
                if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
                        return s;
        }
}

static void
grow(struct strmap *m)
{
        struct slot *old = m->slots;
        size_t oldcap = m->cap;

        m->cap <<= 1;
        m->slots = xcalloc(m->cap, sizeof(*m->slots));
        for (size_t i = 0; i < oldcap; i++) {
                if (old[i].key == NULL)
                        continue;
                *lookup(m, old[i].key, old[i].len, old[i].hash) = old[i];
        }
        free(old);
}

int
strmap_get(const struct strmap *m, const char *key, size_t len)
{
        struct slot *s = lookup(m, key, len, hash_bytes(key, len));

        return s->key ? s->value : -1;
}

int
strmap_put(struct strmap *m, const char *key, size_t len, int value)
{
        uint64_t h = hash_bytes(key, len);
        struct slot *s = lookup(m, key, len, h);

        assert(value >= 0);
        if (s->key)
                return s->value;
        if (m->count >= STRMAP_MAX)
                return -1;
        if ((m->count + 1) * 4 > m->cap * 3) {
                grow(m);
                s = lookup(m, key, len, h);
        }
        s->key = xstrndup(key, len);
        s->len = (uint32_t)len;
        s->hash = h;
        s->value = value;
        m->count++;
        return value;
}

size_t
strmap_count(const struct strmap *m)
{
        return m->count;
}

void
strmap_destroy(struct strmap **mp)
{
        struct strmap *m;

        if (mp == NULL || (m = *mp) == NULL)
                return;
        for (size_t i = 0; i < m->cap; i++)
                free(m->slots[i].key);
        free(m->slots);
        free(m);
        *mp = NULL;
}
