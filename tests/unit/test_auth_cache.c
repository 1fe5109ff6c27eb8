/* Unit tests for auth_cache: hits, expiry, eviction, slot collisions and malformed keys. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_cache.h"

static struct auth_cache_entry entry(const char *hash, const char *id)
{
    struct auth_cache_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.hash, sizeof e.hash, "%s", hash);
    snprintf(e.id, sizeof e.id, "%s", id);
    snprintf(e.role, sizeof e.role, "write");
    snprintf(e.scope, sizeof e.scope, "1480");
    return e;
}

/* 64 hex digits: two chosen leading digits (the slot), the rest from fill. */
static void make_hash(char *out, const char *lead, char fill)
{
    memset(out, fill, AUTH_CACHE_HASH_LEN);
    memcpy(out, lead, 2);
    out[AUTH_CACHE_HASH_LEN] = '\0';
}

/* Setup and teardown of every test: an empty cache in *state. */
static int cache_new(void **state)
{
    *state = calloc(1, sizeof(struct auth_cache));
    return *state == NULL ? -1 : 0;
}

static int cache_free(void **state)
{
    free(*state);
    return 0;
}

static void test_hit_and_expiry(void **state)
{
    struct auth_cache *c = *state;
    struct auth_cache_entry got;
    char h[65];
    make_hash(h, "a7", '3');
    assert_false(auth_cache_get(c, h, 100, &got));
    struct auth_cache_entry e = entry(h, "42");
    auth_cache_put(c, &e, 100, 300);
    assert_true(auth_cache_get(c, h, 100, &got));
    assert_string_equal(got.id, "42");
    assert_string_equal(got.scope, "1480");
    assert_true(auth_cache_get(c, h, 399, &got));
    assert_false(auth_cache_get(c, h, 400, &got)); /* expired exactly at now + ttl */
    assert_int_equal(c->hits, 2);
    assert_int_equal(c->misses, 2); /* the empty slot, then the expired entry */
}

static void test_evict_and_collision(void **state)
{
    struct auth_cache *c = *state;
    struct auth_cache_entry got;
    char a[65], b[65];
    make_hash(a, "0f", '1');
    make_hash(b, "0f", '2'); /* same slot, another token */
    struct auth_cache_entry ea = entry(a, "1"), eb = entry(b, "2");
    auth_cache_put(c, &ea, 0, 60);
    assert_false(auth_cache_get(c, b, 1, &got)); /* a different token never matches */
    auth_cache_evict(c, b);                      /* evicting another token keeps the slot */
    assert_true(auth_cache_get(c, a, 1, &got));
    auth_cache_put(c, &eb, 0, 60); /* replaces a */
    assert_false(auth_cache_get(c, a, 1, &got));
    assert_true(auth_cache_get(c, b, 1, &got));
    assert_string_equal(got.id, "2");
    auth_cache_evict(c, b);
    assert_false(auth_cache_get(c, b, 1, &got));
}

static void test_malformed_keys(void **state)
{
    struct auth_cache *c = *state;
    struct auth_cache_entry got;
    char upper[65];
    make_hash(upper, "AB", 'C');
    struct auth_cache_entry e = entry(upper, "9");
    auth_cache_put(c, &e, 0, 60); /* not lowercase hex: ignored */
    assert_false(auth_cache_get(c, upper, 1, &got));
    assert_false(auth_cache_get(c, "", 1, &got));
    assert_false(auth_cache_get(c, NULL, 1, &got));
    assert_false(auth_cache_get(c, "abc", 1, &got));
    for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
        assert_int_equal(c->slots[i].hash[0], '\0');
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_hit_and_expiry, cache_new, cache_free),
    cmocka_unit_test_setup_teardown(test_evict_and_collision, cache_new, cache_free),
    cmocka_unit_test_setup_teardown(test_malformed_keys, cache_new, cache_free),
});
