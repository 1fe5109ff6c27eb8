/* fuzz_util: what the libFuzzer targets share: a failed invariant aborts with a message (libFuzzer
 * then keeps the input as a crash), and a small consumer that takes typed values off the input. */
#ifndef RB_FUZZ_UTIL_H
#define RB_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Takes values off the front of the input; past its end every value is zero or empty. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = (v << 8) | fuzz_u8(in);
    return v;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
    return ((uint64_t)fuzz_u32(in) << 32) | fuzz_u32(in);
}

/* A NUL-terminated string (caller frees): the bytes up to the next NUL byte or the end. */
static inline char *fuzz_str(struct fuzz_in *in)
{
    const uint8_t *z = in->n ? memchr(in->p, 0, in->n) : NULL;
    size_t len = z ? (size_t)(z - in->p) : in->n;
    char *s = malloc(len + 1);
    if (s == NULL)
        abort();
    if (len)
        memcpy(s, in->p, len);
    s[len] = '\0';
    in->p += len + (z ? 1 : 0);
    in->n -= len + (z ? 1 : 0);
    return s;
}

/* The input as a NUL-terminated copy (caller frees). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF), by the daemon's own
 * decoder (the unit tests of the CSV and SIE formats pin the decoder itself). */
static inline bool fuzz_utf8_valid(const unsigned char *s, size_t n)
{
    uint32_t cp;
    for (size_t i = 0, len; i < n; i += len) {
        len = utf8_decode(s + i, n - i, &cp);
        if (len == 0)
            return false;
    }
    return true;
}

#endif
