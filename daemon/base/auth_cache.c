/* auth_cache: a direct-mapped table keyed by the token's SHA-256, whose bytes are already uniform.
 */
#include "auth_cache.h"

#include "token.h"

#include <string.h>

static unsigned slot_of(const char *hash)
{
    unsigned v = 0;
    for (int i = 0; i < 2; i++) {
        char ch = hash[i];
        unsigned d = (ch >= '0' && ch <= '9') ? (unsigned)(ch - '0') : (unsigned)(ch - 'a' + 10);
        v = v * 16 + (d & 15u);
    }
    return v % AUTH_CACHE_SLOTS;
}

static bool hash_ok(const char *hash)
{
    return hash != NULL && strlen(hash) == AUTH_CACHE_HASH_LEN &&
           strspn(hash, "0123456789abcdef") == AUTH_CACHE_HASH_LEN;
}

bool auth_cache_get(struct auth_cache *c, const char *hash, int64_t now,
                    struct auth_cache_entry *out)
{
    if (!hash_ok(hash))
        return false;
    const struct auth_cache_entry *e = &c->slots[slot_of(hash)];
    if (e->hash[0] == '\0' || now >= e->expires || !token_hash_equal(e->hash, hash)) {
        c->misses++;
        return false;
    }
    c->hits++;
    *out = *e;
    return true;
}

void auth_cache_put(struct auth_cache *c, const struct auth_cache_entry *e, int64_t now, int ttl_s)
{
    if (!hash_ok(e->hash))
        return;
    struct auth_cache_entry *slot = &c->slots[slot_of(e->hash)];
    *slot = *e;
    slot->expires = now + ttl_s;
}

void auth_cache_evict(struct auth_cache *c, const char *hash)
{
    if (!hash_ok(hash))
        return;
    struct auth_cache_entry *e = &c->slots[slot_of(hash)];
    if (e->hash[0] != '\0' && token_hash_equal(e->hash, hash))
        memset(e, 0, sizeof *e);
}
