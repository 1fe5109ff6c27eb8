/* http_tickets: TLS session tickets encrypted with keys of our own, not OpenSSL's per-context
 * default key, which never changes while the process runs (one stolen key would decrypt every
 * ticket ever issued) and dies with the context at each reload (every client then does a full
 * handshake). A ring of two keys from RAND_priv_bytes: the current one encrypts, the previous one
 * still decrypts (and its tickets are renewed), and a timer makes a new current key every
 * tls_ticket_rotate_s. A ticket is thus accepted for one to two periods, never longer. The ring
 * belongs to the process, so a reload's new SSL_CTX uses the same keys. */
#include "http_tickets.h"

#include "log.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

struct ticket_key {
    bool set;
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

enum { CURRENT, PREVIOUS, RING };

static struct ticket_key ring[RING];
static struct event *rotate_ev;
static int rotate_s;
static int users; /* servers started and not stopped */

static bool key_make(struct ticket_key *k)
{
    k->set = RAND_bytes(k->name, sizeof k->name) == 1 &&
             RAND_priv_bytes(k->aes, sizeof k->aes) == 1 &&
             RAND_priv_bytes(k->hmac, sizeof k->hmac) == 1;
    return k->set;
}

void http_tickets_rotate(void)
{
    OPENSSL_cleanse(&ring[PREVIOUS], sizeof ring[PREVIOUS]);
    ring[PREVIOUS] = ring[CURRENT];
    if (!key_make(&ring[CURRENT])) {
        /* No randomness: issue no tickets rather than reuse a key (sessions still work). */
        OPENSSL_cleanse(&ring[CURRENT], sizeof ring[CURRENT]);
        log_error("tls: no random bytes for a new session ticket key; issuing no tickets");
    }
}

static bool mac_init(EVP_MAC_CTX *hctx, struct ticket_key *k)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k->hmac, sizeof k->hmac),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

/* OpenSSL's ticket callback (TLS 1.2 and 1.3). Encrypting: 1 with the current key, 0 (no ticket)
 * without one. Decrypting: 1 for the current key, 2 (accept and renew) for the previous one, 0
 * for an unknown or rotated-out key, which means a full handshake. */
static int ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    (void)ssl;
    if (enc) {
        struct ticket_key *k = &ring[CURRENT];
        if (!k->set && !key_make(k))
            return 0;
        if (RAND_bytes(iv, 16) != 1) /* AES-256-CBC's IV */
            return 0;
        memcpy(key_name, k->name, sizeof k->name);
        if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1 ||
            !mac_init(hctx, k))
            return -1;
        return 1;
    }
    for (int i = 0; i < RING; i++) {
        struct ticket_key *k = &ring[i];
        if (!k->set || CRYPTO_memcmp(key_name, k->name, sizeof k->name) != 0)
            continue;
        if (!mac_init(hctx, k) ||
            EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
            return -1;
        return i == CURRENT ? 1 : 2;
    }
    return 0;
}

/* The session id context: a session resumes only where it was made with the same client CA
 * bundle, so a reload that changes or drops a CA is not bypassed by a ticket from before. */
static bool sid_context(SSL_CTX *ctx, const char *client_ca, char *err, size_t errlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *d = EVP_MD_CTX_new();
    bool ok = d != NULL && EVP_DigestInit_ex(d, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(d, "reimbursed", 10) == 1;
    if (ok && client_ca != NULL) {
        FILE *f = fopen(client_ca, "rb");
        unsigned char buf[4096];
        size_t got;
        if (f == NULL) {
            snprintf(err, errlen, "cannot read tls_client_ca %s", client_ca);
            EVP_MD_CTX_free(d);
            return false;
        }
        while (ok && (got = fread(buf, 1, sizeof buf, f)) > 0)
            ok = EVP_DigestUpdate(d, buf, got) == 1;
        ok = ok && !ferror(f);
        fclose(f);
    }
    ok = ok && EVP_DigestFinal_ex(d, md, &n) == 1 && n >= SSL_MAX_SID_CTX_LENGTH &&
         SSL_CTX_set_session_id_context(ctx, md, SSL_MAX_SID_CTX_LENGTH) == 1;
    EVP_MD_CTX_free(d);
    if (!ok)
        snprintf(err, errlen, "cannot set the TLS session id context");
    return ok;
}

bool http_tickets_use(SSL_CTX *ctx, const char *client_ca, char *err, size_t errlen)
{
    /* Tickets only: a server-side cache would resume a session by its id after its ticket key
     * was rotated out, and a reload's new context would start it empty anyway. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1) {
        snprintf(err, errlen, "cannot set the TLS session ticket callback");
        return false;
    }
    return sid_context(ctx, client_ca, err, errlen);
}

static void rotate_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    http_tickets_rotate();
    log_info("tls: session ticket key rotated; tickets of the previous period still resume, "
             "older ones get a full handshake (tls_ticket_rotate_s = %d)",
             rotate_s);
}

bool http_tickets_start(struct event_base *base, int interval_s)
{
    users++;
    return http_tickets_retime(base, interval_s);
}

bool http_tickets_retime(struct event_base *base, int interval_s)
{
    if (!ring[CURRENT].set)
        key_make(&ring[CURRENT]);
    if (rotate_ev == NULL)
        rotate_ev = event_new(base, -1, EV_PERSIST, rotate_tick, NULL);
    if (rotate_ev == NULL)
        return false;
    if (interval_s == rotate_s && event_pending(rotate_ev, EV_TIMEOUT, NULL))
        return true;
    struct timeval tv = {interval_s, 0};
    rotate_s = interval_s;
    return event_add(rotate_ev, &tv) == 0;
}

void http_tickets_stop(void)
{
    if (users > 0 && --users > 0)
        return;
    if (rotate_ev != NULL)
        event_free(rotate_ev);
    rotate_ev = NULL;
    rotate_s = 0;
    OPENSSL_cleanse(ring, sizeof ring);
}
