/* auth_cache: token hash → client, so that an authenticated request costs one statement. An entry
 * is a claim, not a proof: each statement run on it also asserts the client in the database
 * (api.client_assert, sql/009), and a failed assertion evicts it. */
#ifndef RB_AUTH_CACHE_H
#define RB_AUTH_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define AUTH_CACHE_SLOTS 256
#define AUTH_CACHE_HASH_LEN 64

struct auth_cache_entry {
    char hash[AUTH_CACHE_HASH_LEN + 1]; /* hex SHA-256 of the token; "" when the slot is free */
    char id[24];
    char name[72];
    char role[8];
    char scope[8];
    char cert[AUTH_CACHE_HASH_LEN + 1]; /* bound certificate's SHA-256, "" when none */
    int64_t expires;                    /* monotonic seconds */
};

struct auth_cache {
    struct auth_cache_entry slots[AUTH_CACHE_SLOTS];
    unsigned long long hits, misses;
};

/* Copies the live entry for hash into out; false when absent or expired. */
bool auth_cache_get(struct auth_cache *c, const char *hash, int64_t now,
                    struct auth_cache_entry *out);
/* Stores e (replacing whatever shared its slot), valid for ttl_s from now. */
void auth_cache_put(struct auth_cache *c, const struct auth_cache_entry *e, int64_t now, int ttl_s);
void auth_cache_evict(struct auth_cache *c, const char *hash);

#endif
