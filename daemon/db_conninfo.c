/* db_conninfo: rewrite a conninfo so that connecting never needs DNS. */
#include "db_conninfo.h"

#include "strbuf.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* key='value' with the conninfo quoting rules (backslash before ' and \). */
static void kv_add(struct strbuf *b, const char *key, const char *val)
{
    if (b->len > 0)
        strbuf_str(b, " ");
    strbuf_str(b, key);
    strbuf_str(b, "='");
    for (const char *c = val; *c != '\0'; c++) {
        if (*c == '\'' || *c == '\\')
            strbuf_str(b, "\\");
        strbuf_add(b, c, 1);
    }
    strbuf_str(b, "'");
}

static bool is_numeric(const char *h)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

/* Appends the address for one host entry: empty for a socket directory, else numeric. */
static bool resolve_one(struct strbuf *addrs, const char *h, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char ip[INET6_ADDRSTRLEN];

    if (h[0] == '\0' || h[0] == '/' || h[0] == '@')
        return true;
    if (is_numeric(h)) {
        strbuf_str(addrs, h);
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
    strbuf_str(addrs, ip);
    return true;
}

char *db_conninfo_resolve(const char *conninfo, char *err, size_t errlen)
{
    char *perr = NULL;
    const char *host = NULL, *hostaddr = NULL;
    struct strbuf out = {0}, addrs = {0};
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
            strbuf_str(&addrs, ",");
        first = false;
        ok = resolve_one(&addrs, h, err, errlen);
    }
    free(hosts);
    for (PQconninfoOption *o = opts; ok && o->keyword != NULL; o++)
        if (o->val != NULL)
            kv_add(&out, o->keyword, o->val);
    if (ok && addrs.len > 0 && strspn(addrs.p, ",") != addrs.len)
        kv_add(&out, "hostaddr", addrs.p);
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
