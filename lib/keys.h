/*
 * keys: CURVE key files and the collector registry.
 *
 * Key files use CZMQ's certificate format (zcert), the usual way libzmq
 * users store CURVE keys: NAME.key holds the public key and may be handed
 * out; NAME.key_secret holds both keys and must stay private (written with
 * mode 0600).  Only the lines `public-key = "…"` and `secret-key = "…"`
 * (Z85, 40 characters) are read; everything else is ignored, so files made
 * by CZMQ's zcert_save work too.
 *
 * config/collectors.csv (header public_key,name,units) lists the collectors
 * the aggregator admits: a Z85 public key, a unique name, and the org units
 * the collector may submit for, space-separated.  A collector registered for
 * a unit may submit for that unit and everything below it.
 */
#ifndef EDUSTAT_KEYS_H
#define EDUSTAT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "orgtree.h"
#include "util.h"

#define KEYS_Z85_LEN   40
#define KEYS_MAX_NAME  64
#define KEYS_MAX_UNITS 4096 /* per collector */
#define KEYS_MAX_FILE  8192 /* bytes of a key file */

struct keypair {
        char public_z85[KEYS_Z85_LEN + 1];
        char secret_z85[KEYS_Z85_LEN + 1]; /* "" when only the public key was read */
};

/*
 * Read a key file.  With need_secret the file must hold a secret key too.
 * Returns 0, or -1 with "FILE: problem" in err.
 */
EDUSTAT_MUST_USE int keys_read(const char *path, int need_secret, struct keypair *kp, char *err,
                               size_t errlen);

/*
 * Make a new key pair and write dir/name.key and dir/name.key_secret
 * (0600), refusing to overwrite.  Returns 0, or -1 with the reason in err.
 */
EDUSTAT_MUST_USE int keys_generate(const char *dir, const char *name, struct keypair *kp, char *err,
                                   size_t errlen);

/* Write the public half of kp to path (0644), refusing to overwrite. */
EDUSTAT_MUST_USE int keys_write_public(const char *path, const struct keypair *kp, char *err,
                                       size_t errlen);

/* 1 when s is 40 characters of valid Z85 encoding a 32-byte key. */
int keys_z85_valid(const char *s);

struct collector {
        char name[KEYS_MAX_NAME + 1];
        uint8_t key[32];
        int *units; /* org-unit indices it is registered for */
        size_t nunits;
        unsigned long line;
};

/*
 * The registry and the keyset are loaded by the main thread before the ZAP
 * handler starts and are never changed while it runs: its thread reads
 * them (registry_find_key, the keyset's entries) without a lock.
 */
struct registry {
        struct collector *c;
        size_t n;
        struct strmap *by_key, *by_name; /* private: position in c */
};

/*
 * Load collectors.csv against tree.  Stops at the first problem with
 * "FILE:LINE: problem": a bad or duplicate key, a duplicate or bad name, an
 * empty units column.  A unit that is not in the tree (a school removed
 * from orgunits.csv) is logged as a warning with FILE:LINE and ignored for
 * that collector, so the daemon still starts; a collector left with no
 * units keeps its key but may write nothing.  Returns an owned registry or
 * NULL.
 */
EDUSTAT_MUST_USE struct registry *registry_load(const char *path, const struct orgtree *tree,
                                                char *err, size_t errlen);

/* The collector with this 32-byte public key, or NULL.  Thread-safe (read-only). */
const struct collector *registry_find_key(const struct registry *r, const uint8_t key[32]);

/* The collector with this name, or NULL. */
const struct collector *registry_find_name(const struct registry *r, const char *name, size_t len);

/* 1 when c may submit for unit: unit is one of c's units or lies below one. */
int registry_allows(const struct collector *c, const struct orgtree *tree, int unit);

/* Free; accepts NULL and sets *rp to NULL. */
void registry_destroy(struct registry **rp);

/*
 * A directory of admitted public keys, one NAME.key file each (the sink's
 * list of aggregators).  The file name without ".key" is the peer's name.
 */
struct keyset_entry {
        char name[KEYS_MAX_NAME + 1];
        uint8_t key[32];
};

struct keyset {
        struct keyset_entry *k;
        size_t n;
};

/* Load every *.key in dir; at least one must exist.  NULL with err on failure. */
EDUSTAT_MUST_USE struct keyset *keyset_load_dir(const char *dir, char *err, size_t errlen);

/* The name of the entry with this key, or NULL.  Thread-safe (read-only). */
const char *keyset_find(const struct keyset *ks, const uint8_t key[32]);

/* Free; accepts NULL and sets *kp to NULL. */
void keyset_destroy(struct keyset **kp);

#endif
