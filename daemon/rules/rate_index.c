/* rate_index: the factor is read as an integer mantissa and a power of ten, so the product and the
 * rounding are exact integer arithmetic (in 128 bits). */
#include "rate_index.h"

#include <stdio.h>

#define MAX_FRACTION_DIGITS 9

/* "1.065" → mantissa 1065, scale 1000. */
static bool factor_parse(const char *s, __int128 *mantissa, __int128 *scale)
{
    __int128 m = 0, sc = 1;
    int digits = 0, fraction = -1;
    if (s == NULL || *s == '\0')
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '.') {
            if (fraction >= 0 || digits == 0)
                return false;
            fraction = 0;
            continue;
        }
        if (*p < '0' || *p > '9' || ++digits > 18)
            return false;
        m = m * 10 + (*p - '0');
        if (fraction >= 0) {
            if (++fraction > MAX_FRACTION_DIGITS)
                return false;
            sc *= 10;
        }
    }
    if (fraction == 0 || m == 0)
        return false; /* "1." or a zero factor */
    *mantissa = m;
    *scale = sc;
    return true;
}

bool rate_index_apply(int64_t amount_ore, const char *factor, int64_t round_kronor, int64_t *out,
                      char *err, size_t errlen)
{
    __int128 m, scale;
    if (!factor_parse(factor, &m, &scale)) {
        snprintf(err, errlen, "factor must be a positive decimal like 1.065 (at most %d decimals)",
                 MAX_FRACTION_DIGITS);
        return false;
    }
    if (round_kronor < 1 || round_kronor > 1000000) {
        snprintf(err, errlen, "round must be 1 to 1000000 kronor");
        return false;
    }
    __int128 unit = (__int128)round_kronor * 100 * scale; /* one rounding step, scaled */
    __int128 product = (__int128)amount_ore * m;
    __int128 mag = product < 0 ? -product : product;
    __int128 steps = (mag + unit / 2) / unit; /* half away from zero (unit is even) */
    __int128 result = steps * round_kronor * 100;
    if (product < 0)
        result = -result;
    if (result > INT64_MAX || result < -INT64_MAX) {
        snprintf(err, errlen, "the result does not fit");
        return false;
    }
    *out = (int64_t)result;
    return true;
}
