/* Unit tests for token: generation, shape checks, SHA-256 hex digests, digest comparison. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "token.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define N_TOKENS 1000

static bool in_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void test_generate_shape(void **state)
{
    (void)state;
    char tok[TOKEN_LEN + 8];

    assert_int_equal(strlen(TOKEN_PREFIX), 3);
    assert_int_equal(TOKEN_LEN, 46);
    for (int round = 0; round < 200; round++) {
        memset(tok, '#', sizeof tok);
        assert_true(token_generate(tok));
        assert_int_equal(tok[TOKEN_LEN], '\0');
        assert_int_equal(tok[TOKEN_LEN + 1], '#'); /* writes exactly TOKEN_LEN + 1 bytes */
        assert_int_equal(strlen(tok), TOKEN_LEN);
        assert_memory_equal(tok, "rb_", 3);
        for (size_t i = 3; i < TOKEN_LEN; i++)
            if (!in_b64url(tok[i]))
                fail_msg("token %s has byte 0x%02x at %zu", tok, (unsigned char)tok[i], i);
        /* 32 bytes = 256 bits in 43 sextets: the last one carries 4 bits, its low 2 are zero. */
        const char *pos = strchr(B64URL, tok[TOKEN_LEN - 1]);
        assert_non_null(pos);
        assert_int_equal((pos - B64URL) & 3, 0);
        assert_true(token_well_formed(tok, strlen(tok)));
    }
}

static int cmp_tokens(const void *a, const void *b)
{
    return memcmp(a, b, TOKEN_LEN + 1);
}

static void test_generate_unique(void **state)
{
    (void)state;
    char(*toks)[TOKEN_LEN + 1] = calloc(N_TOKENS, sizeof *toks);
    assert_non_null(toks);
    unsigned long seen[64] = {0}; /* count of each alphabet character across all tokens */

    for (int i = 0; i < N_TOKENS; i++) {
        assert_true(token_generate(toks[i]));
        for (size_t j = 3; j < TOKEN_LEN; j++)
            seen[strchr(B64URL, toks[i][j]) - B64URL]++;
    }
    qsort(toks, N_TOKENS, sizeof *toks, cmp_tokens);
    for (int i = 1; i < N_TOKENS; i++)
        if (memcmp(toks[i - 1], toks[i], TOKEN_LEN) == 0)
            fail_msg("duplicate token %s", toks[i]);
    /* 43000 characters: every one of the 64 characters should appear (p of any missing ~ 0). */
    for (int c = 0; c < 64; c++)
        if (seen[c] == 0)
            fail_msg("character '%c' never generated", B64URL[c]);
    free(toks);
}

static void test_well_formed(void **state)
{
    (void)state;
    char tok[TOKEN_LEN + 1];
    char buf[TOKEN_LEN + 2];
    assert_true(token_generate(tok));
    assert_true(token_well_formed(tok, TOKEN_LEN));

    /* A hand-written valid token. */
    const char *fixed = "rb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(strlen(fixed), TOKEN_LEN);
    assert_true(token_well_formed(fixed, strlen(fixed)));
    const char *fixed2 = "rb_-_09azAZ-_09azAZ-_09azAZ-_09azAZ-_09azAZ-_0";
    assert_int_equal(strlen(fixed2), TOKEN_LEN);
    assert_true(token_well_formed(fixed2, strlen(fixed2)));

    /* Wrong prefix. */
    static const char *const prefixes[] = {"RB_", "rb-", "xb_", "rc_", "Rb_", "rB_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        memcpy(buf, tok, TOKEN_LEN + 1);
        memcpy(buf, prefixes[i], 3);
        if (token_well_formed(buf, TOKEN_LEN))
            fail_msg("accepted prefix %s", prefixes[i]);
    }

    /* Wrong length: one short, one long, empty, prefix only. */
    assert_false(token_well_formed(tok, TOKEN_LEN - 1));
    memcpy(buf, tok, TOKEN_LEN);
    buf[TOKEN_LEN] = 'A';
    buf[TOKEN_LEN + 1] = '\0';
    assert_false(token_well_formed(buf, TOKEN_LEN + 1));
    assert_false(token_well_formed("", 0));
    assert_false(token_well_formed("rb_", 3));

    /* Wrong alphabet at the first, a middle and the last position. */
    static const char bad_chars[] = {'+', '/', '=', '.', ' ', '~', '\0', '\n', '\x80', '\xff'};
    static const size_t positions[] = {3, 20, TOKEN_LEN - 1};
    for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
        for (size_t c = 0; c < sizeof bad_chars; c++) {
            memcpy(buf, tok, TOKEN_LEN + 1);
            buf[positions[p]] = bad_chars[c];
            if (token_well_formed(buf, TOKEN_LEN))
                fail_msg("accepted byte 0x%02x at %zu", (unsigned char)bad_chars[c], positions[p]);
        }
    }
}

static void test_hash_known_vectors(void **state)
{
    (void)state;
    char hex[TOKEN_HASH_HEX_LEN + 8];

    memset(hex, '#', sizeof hex);
    token_hash_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(hex[TOKEN_HASH_HEX_LEN + 1], '#');

    token_hash_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    token_sha256_hex(msg, strlen(msg), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    /* len is honoured: only "ab" of "abc" is hashed. */
    token_hash_hex("abc", 2, hex);
    assert_string_equal(hex, "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603");

    /* token_hash_hex and token_sha256_hex agree. */
    char tok[TOKEN_LEN + 1], h1[TOKEN_HASH_HEX_LEN + 1], h2[TOKEN_HASH_HEX_LEN + 1];
    assert_true(token_generate(tok));
    token_hash_hex(tok, TOKEN_LEN, h1);
    token_sha256_hex(tok, TOKEN_LEN, h2);
    assert_string_equal(h1, h2);
    assert_int_equal(strlen(h1), TOKEN_HASH_HEX_LEN);
    for (size_t i = 0; i < TOKEN_HASH_HEX_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", h1[i]));
}

static void test_hash_equal(void **state)
{
    (void)state;
    char a[TOKEN_HASH_HEX_LEN + 1], b[TOKEN_HASH_HEX_LEN + 1];
    token_hash_hex("abc", 3, a);
    token_hash_hex("abc", 3, b);
    assert_true(token_hash_equal(a, b));
    assert_true(token_hash_equal(a, a));

    token_hash_hex("abd", 3, b);
    assert_false(token_hash_equal(a, b));

    /* A difference in the first or last character alone is detected. */
    memcpy(b, a, sizeof a);
    b[0] = b[0] == '0' ? '1' : '0';
    assert_false(token_hash_equal(a, b));
    memcpy(b, a, sizeof a);
    b[TOKEN_HASH_HEX_LEN - 1] = b[TOKEN_HASH_HEX_LEN - 1] == '0' ? '1' : '0';
    assert_false(token_hash_equal(a, b));
    /* Case matters: digests are lowercase. */
    memcpy(b, a, sizeof a);
    b[0] = 'B'; /* a[0] is 'b' for sha256("abc") */
    assert_int_equal(a[0], 'b');
    assert_false(token_hash_equal(a, b));

    /* Two different tokens hash differently. */
    char t1[TOKEN_LEN + 1], t2[TOKEN_LEN + 1];
    assert_true(token_generate(t1));
    assert_true(token_generate(t2));
    token_hash_hex(t1, TOKEN_LEN, a);
    token_hash_hex(t2, TOKEN_LEN, b);
    assert_false(token_hash_equal(a, b));
    token_hash_hex(t1, TOKEN_LEN, b);
    assert_true(token_hash_equal(a, b));
}

UNIT_MAIN({
    cmocka_unit_test(test_generate_shape),
    cmocka_unit_test(test_generate_unique),
    cmocka_unit_test(test_well_formed),
    cmocka_unit_test(test_hash_known_vectors),
    cmocka_unit_test(test_hash_equal),
});
