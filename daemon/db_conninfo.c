/* db_conninfo: rewrite a conninfo so that connecting never needs DNS. */
#include "db_conninfo.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* key='value' with the conninfo quoting rules (backslash before ' and \). */
static void sb_kv(struct sbuf *b, const char *key, const char *val)
{
    if (b->len > 0)
        sb_str(b, " ");
    sb_str(b, key);
    sb_str(b, "='");
    for (const char *c = val; *c != '\0'; c++) {
        if (*c == '\'' || *c == '\\')
            sb_str(b, "\\");
        sb_add(b, c, 1);
    }
    sb_str(b, "'");
}

static bool is_numeric(const char *h)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

/* Appends the address for one host entry: empty for a socket directory, else numeric. */
static bool resolve_one(struct sbuf *addrs, const char *h, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char ip[INET6_ADDRSTRLEN];

    if (h[0] == '\0' || h[0] == '/' || h[0] == '@')
        return true;
    if (is_numeric(h)) {
        sb_str(addrs, h);
        return true;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(h, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errlen, "cannot resolve database host %s: %s", h, gai_strerror(rc));
        return false;
    }
    const void *a = res->ai_family == AF_INET
                        ? (const void *)&((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr
                        : (const void *)&((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr;
    inet_ntop(res->ai_family, a, ip, sizeof ip);
    freeaddrinfo(res);
    sb_str(addrs, ip);
    return true;
}

char *db_conninfo_resolve(const char *conninfo, char *err, size_t errlen)
{
    char *perr = NULL;
    const char *host = NULL, *hostaddr = NULL;
    struct sbuf out = {0}, addrs = {0};
    bool ok = true;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);

    if (opts == NULL) {
        snprintf(err, errlen, "bad database conninfo: %s", perr ? perr : "out of memory");
        PQfreemem(perr);
        return NULL;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
    }
    if (host == NULL || hostaddr != NULL) {
        PQconninfoFree(opts);
        char *copy = strdup(conninfo);
        if (copy == NULL)
            snprintf(err, errlen, "out of memory");
        return copy;
    }
    char *hosts = strdup(host);
    char *rest = hosts;
    bool first = true;
    for (char *h = hosts ? strsep(&rest, ",") : NULL; h != NULL && ok; h = strsep(&rest, ",")) {
        if (!first)
            sb_str(&addrs, ",");
        first = false;
        ok = resolve_one(&addrs, h, err, errlen);
    }
    free(hosts);
    for (PQconninfoOption *o = opts; ok && o->keyword != NULL; o++)
        if (o->val != NULL)
            sb_kv(&out, o->keyword, o->val);
    if (ok && addrs.len > 0 && strspn(addrs.p, ",") != addrs.len)
        sb_kv(&out, "hostaddr", addrs.p);
    PQconninfoFree(opts);
    free(addrs.p);
    if (!ok || out.oom || addrs.oom) {
        if (ok)
            snprintf(err, errlen, "out of memory");
        free(out.p);
        return NULL;
    }
    return out.p != NULL ? out.p : strdup("");
}
