/*
 * arena: NUL-terminated copies of strings kept in large blocks and freed
 * all at once, for readers that hold millions of short strings (a
 * submission's fields, a workbook's cells) whose lifetimes end together.
 * One allocation serves many strings, and freeing is one walk over the
 * blocks instead of a free() per string.
 *
 * A copy never moves: a pointer returned stays valid until the arena is
 * destroyed.  A string longer than the block size gets a block of its own.
 * Memory follows the OOM policy in util.h (allocation never fails); what
 * bounds the total is the caller's cap on its input.
 */
#ifndef EDUSTAT_ARENA_H
#define EDUSTAT_ARENA_H

#include <stddef.h>

struct arena;

/*
 * A new, empty arena that allocates blocks of block bytes (more for a
 * longer string).  Returns an owned arena; never NULL.
 */
struct arena *arena_new(size_t block);

/*
 * Copy s[0..len) into the arena and NUL-terminate it; s need not be
 * terminated, and may be NULL when len is 0.  Returns the copy, owned by
 * the arena.
 */
char *arena_copy(struct arena *a, const char *s, size_t len);

/* arena_copy of the NUL-terminated string s. */
char *arena_str(struct arena *a, const char *s);

/* Free the arena and every copy in it; accepts NULL and sets *ap to NULL. */
void arena_destroy(struct arena **ap);

#endif
