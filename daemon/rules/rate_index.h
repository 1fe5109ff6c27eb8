/* rate_index: indexed rates in exact decimal arithmetic (no floating point anywhere). */
#ifndef RB_RATE_INDEX_H
#define RB_RATE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* amount_ore × factor (a decimal such as "1.065", at most 9 digits after the point), rounded to
 * the nearest multiple of round_kronor kronor (round_kronor ≥ 1), ties away from zero.
 * Example: 1 282 000 öre × 1.065, round 10 kr → 1 365 000 öre (13 650 kr). */
bool rate_index_apply(int64_t amount_ore, const char *factor, int64_t round_kronor, int64_t *out,
                      char *err, size_t errlen);

#endif
