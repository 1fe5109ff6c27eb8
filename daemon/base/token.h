/* token: client bearer tokens ("rb_" + base64url of 32 random bytes) and their SHA-256 digests. */
#ifndef RB_TOKEN_H
#define RB_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_PREFIX "rb_"
#define TOKEN_LEN 46 /* 3 + 43 */
#define TOKEN_HASH_HEX_LEN 64

/* Fills out (TOKEN_LEN + 1 bytes) from the OpenSSL CSPRNG; false if it is not seeded. */
bool token_generate(char *out);
/* True when s has the shape of a token (prefix, length, alphabet). */
bool token_well_formed(const char *s, size_t len);
/* Lowercase hex SHA-256 of the token bytes into out (TOKEN_HASH_HEX_LEN + 1 bytes). */
void token_hash_hex(const char *token, size_t len, char *out);
/* Constant-time comparison of two hex digests. */
bool token_hash_equal(const char *a, const char *b);
/* Hex SHA-256 of arbitrary bytes (request fingerprints). */
void token_sha256_hex(const void *data, size_t len, char *out);
/* The same over the concatenation of n parts, without copying them together. */
void token_sha256_hex_parts(const void *const *parts, const size_t *lens, int n, char *out);

#endif
