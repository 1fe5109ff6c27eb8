/* token: generation from the CSPRNG, hashing and constant-time comparison. */
#include "token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url; out needs 4 * ceil(n / 3) + 1 bytes. Returns the length written. */
static size_t base64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

bool token_generate(char *out)
{
    unsigned char raw[32];
    char enc[48];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return false;
    base64url_encode(raw, sizeof raw, enc);
    OPENSSL_cleanse(raw, sizeof raw);
    snprintf(out, TOKEN_LEN + 1, "%s%.43s", TOKEN_PREFIX, enc);
    OPENSSL_cleanse(enc, sizeof enc);
    return true;
}

bool token_well_formed(const char *s, size_t len)
{
    if (len != TOKEN_LEN || memcmp(s, TOKEN_PREFIX, 3) != 0)
        return false;
    for (size_t i = 3; i < len; i++)
        if (s[i] == '\0' || strchr(b64url, s[i]) == NULL)
            return false;
    return true;
}

static void hex_encode(const unsigned char *md, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

void token_sha256_hex(const void *data, size_t len, char *out)
{
    const void *parts[1] = {data};
    size_t lens[1] = {len};
    token_sha256_hex_parts(parts, lens, 1, out);
}

void token_sha256_hex_parts(const void *const *parts, const size_t *lens, int n, char *out)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (int i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        memset(md, 0, sizeof md);
    hex_encode(md, sizeof md, out);
}

void token_hash_hex(const char *token, size_t len, char *out)
{
    token_sha256_hex(token, len, out);
}

bool token_hash_equal(const char *a, const char *b)
{
    return CRYPTO_memcmp(a, b, TOKEN_HASH_HEX_LEN) == 0;
}
