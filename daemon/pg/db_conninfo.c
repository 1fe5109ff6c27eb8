/* db_conninfo: rewrite a conninfo so that connecting never needs DNS.
 *
 * Multi-host conninfos (`host=a,b port=1,2 target_session_attrs=read-write`) stay multi-host: each
 * host entry becomes one entry per address it resolves to (libpq itself would try every address of
 * a name, e.g. an IPv6 and an IPv4 one, or the A records of a name that covers a primary and its
 * standbys), with `host` repeated (kept for TLS verification and the passfile) and the entry's
 * port repeated when `port` is a list. Socket directories and numeric addresses stay one entry. */
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

/* More addresses of one name than this are dropped (libpq would try them all, one by one). */
#define MAX_ADDRS_PER_HOST 8

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

/* The lists being built: one entry per (host, address). */
struct lists {
    struct strbuf host, addr, port;
    int n;
};

static void entry_add(struct lists *l, const char *host, const char *addr, const char *port)
{
    if (l->n > 0) {
        strbuf_str(&l->host, ",");
        strbuf_str(&l->addr, ",");
        strbuf_str(&l->port, ",");
    }
    strbuf_str(&l->host, host);
    strbuf_str(&l->addr, addr);
    strbuf_str(&l->port, port);
    l->n++;
}

/* Adds the entries for one host: empty address for a socket directory or an empty entry, the
 * address itself when numeric, else every distinct address the name resolves to. */
static bool resolve_one(struct lists *l, const char *h, const char *port, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char seen[MAX_ADDRS_PER_HOST][INET6_ADDRSTRLEN];
    int nseen = 0;

    if (h[0] == '\0' || h[0] == '/' || h[0] == '@') {
        entry_add(l, h, "", port);
        return true;
    }
    if (is_numeric(h)) {
        entry_add(l, h, h, port);
        return true;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(h, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errlen, "cannot resolve database host %s: %s", h, gai_strerror(rc));
        if (res != NULL)
            freeaddrinfo(res);
        return false;
    }
    for (const struct addrinfo *ai = res; ai != NULL && nseen < MAX_ADDRS_PER_HOST;
         ai = ai->ai_next) {
        char ip[INET6_ADDRSTRLEN];
        const void *a;
        if (ai->ai_family == AF_INET)
            a = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            a = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
        else
            continue;
        if (inet_ntop(ai->ai_family, a, ip, sizeof ip) == NULL)
            continue;
        bool dup = false;
        for (int i = 0; i < nseen && !dup; i++)
            dup = strcmp(seen[i], ip) == 0;
        if (dup)
            continue;
        memcpy(seen[nseen++], ip, sizeof ip);
        entry_add(l, h, ip, port);
    }
    freeaddrinfo(res);
    if (nseen == 0) {
        snprintf(err, errlen, "cannot resolve database host %s: no IPv4 or IPv6 address", h);
        return false;
    }
    return true;
}

/* Splits a comma-separated list in place; returns the number of entries (at most max). */
static int split(char *s, char **out, int max)
{
    int n = 0;
    char *rest = s;
    for (char *p = strsep(&rest, ","); p != NULL; p = strsep(&rest, ",")) {
        if (n == max)
            return max + 1;
        out[n++] = p;
    }
    return n;
}

#define MAX_HOSTS 64

char *db_conninfo_resolve(const char *conninfo, char *err, size_t errlen)
{
    char *perr = NULL;
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    struct strbuf out = {0};
    struct lists l = {0};
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
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    char *hosts = host != NULL && hostaddr == NULL ? strdup(host) : NULL;
    char *ports = port != NULL ? strdup(port) : strdup("");
    char *hv[MAX_HOSTS + 1], *pv[MAX_HOSTS + 1];
    int nh = hosts != NULL ? split(hosts, hv, MAX_HOSTS) : 0;
    int np = ports != NULL ? split(ports, pv, MAX_HOSTS) : 0;
    /* Nothing to do (a socket or hostaddr given by the operator), or a host/port mismatch that
     * libpq will report with its own words: hand the conninfo on as it is. */
    if (hosts == NULL || ports == NULL || nh > MAX_HOSTS || (np != 1 && np != nh)) {
        free(hosts);
        free(ports);
        PQconninfoFree(opts);
        if (host != NULL && hostaddr == NULL && nh > MAX_HOSTS) {
            snprintf(err, errlen, "database conninfo: more than %d hosts", MAX_HOSTS);
            return NULL;
        }
        char *copy = strdup(conninfo);
        if (copy == NULL)
            snprintf(err, errlen, "out of memory");
        return copy;
    }
    for (int i = 0; i < nh && ok; i++)
        ok = resolve_one(&l, hv[i], pv[np == 1 ? 0 : i], err, errlen);
    free(hosts);
    free(ports);
    for (PQconninfoOption *o = opts; ok && o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            kv_add(&out, "host", strbuf_cstr(&l.host));
        else if (strcmp(o->keyword, "port") == 0)
            kv_add(&out, "port", np == 1 ? port : strbuf_cstr(&l.port));
        else
            kv_add(&out, o->keyword, o->val);
    }
    /* Only socket directories: no hostaddr at all. */
    if (ok && l.addr.len > 0 && strspn(strbuf_cstr(&l.addr), ",") != l.addr.len)
        kv_add(&out, "hostaddr", strbuf_cstr(&l.addr));
    PQconninfoFree(opts);
    bool oom = out.oom || l.host.oom || l.addr.oom || l.port.oom;
    strbuf_free(&l.host);
    strbuf_free(&l.addr);
    strbuf_free(&l.port);
    if (!ok || oom) {
        if (ok)
            snprintf(err, errlen, "out of memory");
        free(out.p);
        return NULL;
    }
    return out.p != NULL ? out.p : strdup("");
}

static int list_count(const char *v)
{
    int n = 1;
    for (; *v != '\0'; v++)
        n += *v == ',';
    return n;
}

int db_conninfo_host_count(const char *conninfo)
{
    char *perr = NULL;
    int n = 1;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    PQfreemem(perr);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (o->val != NULL &&
            (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0)) {
            int k = list_count(o->val);
            n = k > n ? k : n;
        }
    }
    PQconninfoFree(opts);
    return n;
}

/* Appends the comma-separated list v rotated left by `by` (of n entries). */
static void list_rotated(struct strbuf *b, const char *v, int n, int by)
{
    char *copy = strdup(v);
    char *items[MAX_HOSTS + 1];
    if (copy == NULL) {
        b->oom = true;
        return;
    }
    int k = split(copy, items, MAX_HOSTS);
    if (k != n || k > MAX_HOSTS) {
        strbuf_str(b, v);
    } else {
        for (int i = 0; i < n; i++) {
            if (i > 0)
                strbuf_str(b, ",");
            strbuf_str(b, items[(i + by) % n]);
        }
    }
    free(copy);
}

char *db_conninfo_rotate(const char *conninfo, int by)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    PQfreemem(perr);
    if (opts == NULL)
        return NULL;
    int n = db_conninfo_host_count(conninfo);
    struct strbuf out = {0};
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        bool list = strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0 ||
                    strcmp(o->keyword, "port") == 0;
        if (list && n > 1 && list_count(o->val) == n) {
            struct strbuf v = {0};
            list_rotated(&v, o->val, n, ((by % n) + n) % n);
            kv_add(&out, o->keyword, strbuf_cstr(&v));
            out.oom |= v.oom;
            strbuf_free(&v);
        } else {
            kv_add(&out, o->keyword, o->val);
        }
    }
    PQconninfoFree(opts);
    if (out.oom || out.p == NULL) {
        strbuf_free(&out);
        return NULL;
    }
    return out.p; /* taken over from the buffer */
}
