/* Unit tests for rate_index: exact decimal indexing, rounding to whole kronor steps, bad factors.
 */
#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rate_index.h"

#define RANDOM_CASES 10000

/* ---- An own exact reference: 128-bit unsigned arithmetic from two 64-bit halves ----------- */

struct u128 {
    uint64_t hi, lo;
};

static struct u128 mul64(uint64_t a, uint64_t b)
{
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    struct u128 r = {p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32),
                     (mid << 32) | (p00 & 0xffffffffu)};
    return r;
}

/* n / d and n % d by binary long division (d < 2^62). */
static struct u128 divmod(struct u128 n, uint64_t d, uint64_t *rem)
{
    struct u128 q = {0, 0};
    uint64_t r = 0;
    for (int i = 127; i >= 0; i--) {
        uint64_t bit = i >= 64 ? (n.hi >> (i - 64)) & 1u : (n.lo >> i) & 1u;
        r = (r << 1) | bit;
        if (r >= d) {
            r -= d;
            if (i >= 64)
                q.hi |= (uint64_t)1 << (i - 64);
            else
                q.lo |= (uint64_t)1 << i;
        }
    }
    *rem = r;
    return q;
}

static uint64_t pow10u(int k)
{
    uint64_t p = 1;
    while (k-- > 0)
        p *= 10;
    return p;
}

/* amount × mantissa / 10^scale_digits, to the nearest round_kronor × 100 öre, ties away from zero.
 * False when the result does not fit in int64. */
static bool reference(int64_t amount, uint64_t mantissa, int scale_digits, int64_t round_kronor,
                      int64_t *out)
{
    uint64_t mag = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
    uint64_t unit = (uint64_t)round_kronor * 100u * pow10u(scale_digits);
    uint64_t rem;
    struct u128 q = divmod(mul64(mag, mantissa), unit, &rem);
    if (rem >= unit - rem) /* rem >= unit / 2, exactly */
        q.lo++;
    if (q.lo == 0 && rem >= unit - rem)
        q.hi++;
    if (q.hi != 0)
        return false;
    struct u128 r = mul64(q.lo, (uint64_t)round_kronor * 100u);
    if (r.hi != 0 || r.lo > (uint64_t)INT64_MAX)
        return false;
    *out = amount < 0 ? -(int64_t)r.lo : (int64_t)r.lo;
    return true;
}

static int64_t apply_ok(int64_t amount, const char *factor, int64_t round_kronor)
{
    char err[128] = "";
    int64_t out = 0x5a5a5a5a;
    if (!rate_index_apply(amount, factor, round_kronor, &out, err, sizeof err))
        fail_msg("%" PRId64 " x \"%s\" round %" PRId64 " refused: %s", amount, factor, round_kronor,
                 err);
    return out;
}

static void expect_refused(int64_t amount, const char *factor, int64_t round_kronor)
{
    char err[128] = "";
    int64_t out = 0;
    if (rate_index_apply(amount, factor, round_kronor, &out, err, sizeof err))
        fail_msg("%" PRId64 " x \"%s\" round %" PRId64 " accepted: %" PRId64, amount,
                 factor != NULL ? factor : "(null)", round_kronor, out);
    assert_true(err[0] != '\0');
}

/* ---- Hand-written cases ------------------------------------------------------------------- */

static void test_reference_arithmetic(void **state)
{
    (void)state;
    struct u128 p = mul64(UINT64_MAX, UINT64_MAX); /* 2^128 - 2^65 + 1 */
    assert_true(p.hi == UINT64_MAX - 1 && p.lo == 1);
    uint64_t rem;
    struct u128 q = divmod(mul64(1000000007u, 998244353u), 998244353u, &rem);
    assert_true(q.hi == 0 && q.lo == 1000000007u && rem == 0);
    q = divmod((struct u128){1, 5}, 3, &rem); /* 2^64 + 5 = 3 × 6148914691236517207 */
    assert_true(q.hi == 0 && q.lo == 6148914691236517207u && rem == 0);
    int64_t out;
    assert_true(reference(1282000, 1065, 3, 10, &out));
    assert_int_equal(out, 1365000);
}

/* One apply_ok case: amount × factor, rounded to round_kronor kronor, is want öre. */
struct apply_case {
    int64_t amount;
    const char *factor;
    int64_t round_kronor;
    int64_t want;
};

static void check_apply(const struct apply_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(apply_ok(c[i].amount, c[i].factor, c[i].round_kronor), c[i].want);
}

static void test_design_example(void **state)
{
    (void)state;
    static const struct apply_case cases[] = {
        /* 12 820 kr × 1.065 = 13 653.30 kr → 13 650 kr. */
        {1282000, "1.065", 10, 1365000},  {-1282000, "1.065", 10, -1365000},
        {1282000, "1.065", 1, 1365300},   {1282000, "1.065", 100, 1370000},
        {1282000, "1.0650", 10, 1365000}, {1282000, "1.065000000", 10, 1365000}, /* 9 decimals */
    };
    check_apply(cases, ARRAY_LEN(cases));
}

static void test_ties_away_from_zero(void **state)
{
    (void)state;
    static const struct apply_case cases[] = {
        /* Round 10 kr: a step is 1 000 öre; 500 öre is exactly half. */
        {500, "1", 10, 1000},
        {-500, "1", 10, -1000},
        {499, "1", 10, 0},
        {-499, "1", 10, 0},
        {1500, "1", 10, 2000},
        {-1500, "1", 10, -2000},
        {2500, "1", 10, 3000}, /* not to even */
        {-2500, "1", 10, -3000},
        {1499, "1", 10, 1000},
        {0, "1.065", 10, 0},
        /* Halves reached through the factor. */
        {1000, "0.5", 10, 1000}, /* 500 öre */
        {-1000, "0.5", 10, -1000},
        {999, "0.5", 10, 0},             /* 499.5 öre */
        {10000000, "0.00005", 10, 1000}, /* 500 öre */
        {-10000000, "0.00005", 10, -1000},
        {1000000000, "0.000000500", 10, 1000},
        {1000000000, "0.000000499", 10, 0},
        {1, "500", 10, 1000},
        {3, "16.5", 1, 0},           /* 49.5 öre < 50 */
        {3, "16.666666667", 1, 100}, /* 50.000000001 öre */
        {-3, "16.666666667", 1, -100},
    };
    check_apply(cases, ARRAY_LEN(cases));
}

static void test_round_one_krona(void **state)
{
    (void)state;
    static const struct apply_case cases[] = {
        {50, "1", 1, 100},          {-50, "1", 1, -100}, {49, "1", 1, 0},
        {150, "1", 1, 200},         {250, "1", 1, 300},  {-250, "1", 1, -300},
        {1234567, "1", 1, 1234600}, /* 12 345.67 kr → 12 346 kr */
        {20000, "0.0025", 1, 100},  /* 50 öre */
        {1500000, "1", 1, 1500000},
    };
    check_apply(cases, ARRAY_LEN(cases));
}

static void test_factor_one_and_below(void **state)
{
    (void)state;
    static const struct apply_case cases[] = {
        {1500000, "1", 10, 1500000},       {1500000, "1.0", 10, 1500000},
        {1234500, "1", 10, 1235000},       {1000000, "0.95", 10, 950000},
        {1282000, "0.95", 10, 1218000}, /* 12 179 kr → 12 180 kr */
        {1282000, "0.95", 1, 1217900},     {1282000, "0.95", 100, 1220000},
        {-1282000, "0.95", 100, -1220000},
    };
    check_apply(cases, ARRAY_LEN(cases));
}

static void test_bad_factor(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",    "1.",   ".5", "-1.2", "1.2.3", "abc", "1.0000000001", "+1.2", " 1.2", "1.2 ", "1,2",
        "1e3", "0x10", ".",  "1..2", "1.2a",  "0",   "0.000", /* not a positive factor */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refused(1282000, bad[i], 10);
    expect_refused(1282000, NULL, 10);
}

static void test_bad_round(void **state)
{
    (void)state;
    expect_refused(1282000, "1.065", 0);
    expect_refused(1282000, "1.065", -10);
    expect_refused(1282000, "1.065", INT64_MIN);
}

static void test_does_not_fit(void **state)
{
    (void)state;
    expect_refused(INT64_MAX, "2", 1);
    expect_refused(INT64_MIN, "1.5", 1);
    expect_refused(INT64_MAX / 2, "3", 1);
}

/* ---- Random cases against the reference ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

static int64_t random_amount(uint64_t *s)
{
    static const int64_t edge[] = {0, 1, -1, 50, -50, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    uint64_t roll = rng_below(s, 100);
    int64_t sign = rng_below(s, 4) == 0 ? -1 : 1;
    if (roll < 40)
        return sign * (int64_t)rng_below(s, 5000001);
    if (roll < 70)
        return sign * (int64_t)rng_below(s, 1000000000001ULL);
    if (roll < 92)
        return sign * (int64_t)rng_below(s, (uint64_t)1 << 62);
    return edge[rng_below(s, sizeof edge / sizeof edge[0])];
}

static int64_t random_round(uint64_t *s)
{
    static const int64_t common[] = {1, 10, 10, 10, 100, 1000};
    if (rng_below(s, 3) == 0)
        return (int64_t)rng_below(s, 1000000) + 1;
    return common[rng_below(s, sizeof common / sizeof common[0])];
}

/* A factor such as "1.065": writes the string and its mantissa and number of decimals. */
static void random_factor(uint64_t *s, char *buf, size_t len, uint64_t *mantissa, int *decimals)
{
    do {
        uint64_t roll = rng_below(s, 100), whole = 1;
        if (roll >= 50)
            whole = roll < 65 ? 0 : rng_below(s, 1000);
        int k = (int)rng_below(s, 10);
        uint64_t frac = rng_below(s, pow10u(k));
        if (k == 0)
            snprintf(buf, len, "%" PRIu64, whole);
        else
            snprintf(buf, len, "%" PRIu64 ".%0*" PRIu64, whole, k, frac);
        *mantissa = whole * pow10u(k) + frac;
        *decimals = k;
    } while (*mantissa == 0);
}

static void test_random_against_reference(void **state)
{
    (void)state;
    uint64_t s = 20260101;
    int refused = 0;
    for (int i = 0; i < RANDOM_CASES; i++) {
        char factor[40], err[128];
        uint64_t mantissa;
        int decimals;
        int64_t amount = random_amount(&s), round_kronor = random_round(&s), want = 0, got = 0;
        random_factor(&s, factor, sizeof factor, &mantissa, &decimals);
        bool fits = reference(amount, mantissa, decimals, round_kronor, &want);
        bool ok = rate_index_apply(amount, factor, round_kronor, &got, err, sizeof err);
        if (ok != fits || (ok && got != want))
            fail_msg("case %d: %" PRId64 " x \"%s\" round %" PRId64 ": engine %s %" PRId64
                     ", reference %s %" PRId64,
                     i, amount, factor, round_kronor, ok ? "ok" : "refused", got,
                     fits ? "ok" : "refused", want);
        refused += !fits;
    }
    printf("# %d random cases, %d too large to fit\n", RANDOM_CASES, refused);
}

/* Exact halves built on purpose, and one öre towards zero from them. */
static void test_random_exact_ties(void **state)
{
    (void)state;
    static const struct {
        const char *factor;
        uint64_t mantissa;
        int decimals;
    } f[] = {{"1", 1, 0},   {"0.5", 5, 1},  {"2.5", 25, 1},     {"1.25", 125, 2},
             {"0.2", 2, 1}, {"0.05", 5, 2}, {"1.000", 1000, 3}, {"0.000000001", 1, 9}};
    uint64_t s = 7;
    for (int i = 0; i < RANDOM_CASES; i++) {
        size_t j = (size_t)rng_below(&s, sizeof f / sizeof f[0]);
        int64_t round_kronor = random_round(&s) % 1000 + 1, q = (int64_t)rng_below(&s, 1000);
        int64_t sign = rng_below(&s, 2) ? -1 : 1;
        /* amount × M / 10^k = (q + 1/2) × round × 100 öre */
        int64_t num = round_kronor * 50 * (int64_t)pow10u(f[j].decimals) * (2 * q + 1);
        if (num % (int64_t)f[j].mantissa != 0)
            continue;
        int64_t amount = num / (int64_t)f[j].mantissa;
        int64_t step = round_kronor * 100, want, got;
        assert_true(reference(sign * amount, f[j].mantissa, f[j].decimals, round_kronor, &want));
        assert_int_equal(want, sign * (q + 1) * step);
        got = apply_ok(sign * amount, f[j].factor, round_kronor);
        if (got != sign * (q + 1) * step)
            fail_msg("%" PRId64 " x \"%s\" round %" PRId64 ": %" PRId64 ", expected %" PRId64,
                     sign * amount, f[j].factor, round_kronor, got, sign * (q + 1) * step);
        got = apply_ok(sign * (amount - 1), f[j].factor, round_kronor);
        assert_int_equal(got, sign * q * step);
    }
}

UNIT_MAIN({
    cmocka_unit_test(test_reference_arithmetic),
    cmocka_unit_test(test_design_example),
    cmocka_unit_test(test_ties_away_from_zero),
    cmocka_unit_test(test_round_one_krona),
    cmocka_unit_test(test_factor_one_and_below),
    cmocka_unit_test(test_bad_factor),
    cmocka_unit_test(test_bad_round),
    cmocka_unit_test(test_does_not_fit),
    cmocka_unit_test(test_random_against_reference),
    cmocka_unit_test(test_random_exact_ties),
});
