/*
 * strmap: a string -> int index, open addressing with linear probing.
 *
 * The catalogue, the org tree and the aggregator's period table map codes
 * to dense indices with it.  Keys are copied; the table grows by doubling
 * and never holds more than STRMAP_MAX entries, so a stream of junk codes
 * cannot grow it without bound (the caller rejects those before insert).
 */
#ifndef EDUSTAT_STRMAP_H
#define EDUSTAT_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define STRMAP_MAX (1u << 26)

struct strmap;

/* A new empty map sized for about hint entries. */
struct strmap *strmap_new(size_t hint);

/* The value stored for key[0..len), or -1. */
int strmap_get(const struct strmap *m, const char *key, size_t len);

/*
 * Store value for key[0..len) unless the key is present.  Returns the value
 * now stored for the key (the old one if it was present), or -1 when the
 * map is full (STRMAP_MAX).  value must be >= 0.
 */
EDUSTAT_MUST_USE int strmap_put(struct strmap *m, const char *key, size_t len, int value);

size_t strmap_count(const struct strmap *m);

/* Free; accepts NULL and sets *mp to NULL. */
void strmap_destroy(struct strmap **mp);

/* FNV-1a, 64-bit: the hash used by strmap, exported for other tables. */
uint64_t hash_bytes(const void *p, size_t len);

/*
 * A 64-bit hash of a long buffer (a whole message), eight bytes a step:
 * about eight times faster than hash_bytes on a megabyte.  Not
 * cryptographic: it tells one buffer from another that differs by
 * accident, not by design.
 */
uint64_t hash_block(const void *p, size_t len);

#endif
