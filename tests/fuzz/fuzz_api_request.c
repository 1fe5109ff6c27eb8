/* fuzz_api_request: request lines (method, path, query string) and headers through api_handle,
 * with http.c and db.c stood in for by fuzz_api_stubs.c: route matching, the query-string parser
 * (evhttp_parse_query_str), api_params_parse, and each GET handler's checks of limit, cursor,
 * dates, months and timestamps, up to the statement that would go to PostgreSQL.
 *
 * Input: byte 0 is the client (role, scope, whether it sends a token) and the method; then the
 * request target up to a newline; then header lines up to an empty line; then the body. A target
 * that evhttp itself would refuse is skipped. fuzz_api_stubs.c checks every statement's
 * parameters (limit 1..1000, cursor <= 64 bytes, canonical dates, RFC 3339 timestamps, a scoped
 * client's own municipality, the role and the persons rule) and every reply. Here the routing is
 * checked against a separate matcher: 404 exactly when no route has that path, 405 exactly when
 * routes have it but not for the method, with Allow naming their methods; no token is a 401, too
 * low a role a 403; and a GET the contract accepts (each parameter known, once, in its canonical
 * form, the required ones there, the client's own municipality) reaches the database. */
#include "fuzz_util.h"

#include "fuzz_api_stubs.h"

#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

/* params: for the GET routes that read a query string, its parameters as name:type (see
 * value_good; an upper-case type is required); NULL when the route ignores the query. */
static const struct {
    enum evhttp_cmd_type method;
    const char *pattern;
    enum api_role role;
    bool persons;
    const char *params;
} routes[] = {
    {EVHTTP_REQ_GET, "/healthz", ROLE_NONE, false, NULL},
    {EVHTTP_REQ_GET, "/readyz", ROLE_NONE, false, NULL},
    {EVHTTP_REQ_GET, "/v1/openapi.json", ROLE_NONE, false, NULL},
    {EVHTTP_REQ_POST, "/v1/placements", ROLE_WRITE, true, NULL},
    {EVHTTP_REQ_GET, "/v1/placements", ROLE_READ, true,
     "municipality:m active_on:d cursor:c limit:l"},
    {EVHTTP_REQ_POST, "/v1/placements/search", ROLE_READ, true, NULL},
    {EVHTTP_REQ_GET, "/v1/placements/{id}", ROLE_READ, true, "as_known_at:t"},
    {EVHTTP_REQ_POST, "/v1/placements/{id}/move-in", ROLE_WRITE, true, NULL},
    {EVHTTP_REQ_POST, "/v1/placements/{id}/move-out", ROLE_WRITE, true, NULL},
    {EVHTTP_REQ_POST, "/v1/placements/{id}/corrections", ROLE_WRITE, true, NULL},
    {EVHTTP_REQ_GET, "/v1/placements/{id}/accruals", ROLE_READ, true, NULL},
    {EVHTTP_REQ_GET, "/v1/rates", ROLE_READ, false, NULL},
    {EVHTTP_REQ_POST, "/v1/rates", ROLE_ADMIN, false, NULL},
    {EVHTTP_REQ_POST, "/v1/allocations", ROLE_WRITE, false, NULL},
    {EVHTTP_REQ_GET, "/v1/allocations", ROLE_READ, false, "municipality:m year:y"},
    {EVHTTP_REQ_POST, "/v1/accruals/run", ROLE_ADMIN, false, NULL},
    {EVHTTP_REQ_GET, "/v1/accruals/runs/{id}", ROLE_READ, false, NULL},
    {EVHTTP_REQ_GET, "/v1/ledger/entries", ROLE_READ, true,
     "municipality:m from:d to:d code:k cursor:c limit:l"},
    {EVHTTP_REQ_GET, "/v1/municipalities/{id}/balance", ROLE_READ, false, "as_of:a"},
    {EVHTTP_REQ_POST, "/v1/payments", ROLE_WRITE, false, NULL},
    {EVHTTP_REQ_POST, "/v1/payments/import", ROLE_WRITE, false, NULL},
    {EVHTTP_REQ_GET, "/v1/reports/reconciliation", ROLE_READ, true,
     "municipality:M month:N format:f as_known_at:t"},
    {EVHTTP_REQ_GET, "/v1/exports/sie", ROLE_READ, true, "municipality:M from:d to:d include:i"},
};
#define NROUTES (sizeof routes / sizeof routes[0])

/* Segment by segment: a "{id}" segment is any 1..23 bytes without '/'. */
static bool matches(const char *pattern, const char *path)
{
    for (;;) {
        const char *ps = strchr(pattern, '/'), *qs = strchr(path, '/');
        size_t pn = ps ? (size_t)(ps - pattern) : strlen(pattern);
        size_t qn = qs ? (size_t)(qs - path) : strlen(path);
        if (pn == 4 && memcmp(pattern, "{id}", 4) == 0) {
            if (qn == 0 || qn > 23)
                return false;
        } else if (pn != qn || memcmp(pattern, path, pn) != 0) {
            return false;
        }
        if ((ps == NULL) != (qs == NULL))
            return false;
        if (ps == NULL)
            return true;
        pattern = ps + 1;
        path = qs + 1;
    }
}

/* A value the contract accepts, in its canonical spelling only (the daemon may take more). */
static bool value_good(char type, const char *v, const char *scope)
{
    size_t n = strlen(v);
    char month[16];
    switch (type) {
    case 'm':
        return fuzz_is_muni(v) && (strcmp(scope, "*") == 0 || strcmp(scope, v) == 0);
    case 'd':
        return fuzz_is_date(v);
    case 'c':
        for (size_t i = 0; i < n; i++)
            if (v[i] <= 0x20 || v[i] >= 0x7f)
                return false;
        return n >= 1 && n <= 64;
    case 'l':
        return n >= 1 && n <= 4 && v[0] != '0' && strspn(v, "0123456789") == n && atoi(v) <= 1000;
    case 't':
        return fuzz_is_timestamp(v);
    case 'a':
        return fuzz_is_date(v) || fuzz_is_timestamp(v);
    case 'y':
        return n == 4 && strspn(v, "0123456789") == 4;
    case 'k':
        return strcmp(v, "ALLOCATION_PLACE") == 0 || strcmp(v, "MOVE_IN") == 0 ||
               strcmp(v, "DAY_CHILD") == 0 || strcmp(v, "DAY_ADULT") == 0 ||
               strcmp(v, "DAY_FORMER_UAM") == 0;
    case 'n':
        snprintf(month, sizeof month, "%.7s-01", v);
        return n == 7 && fuzz_is_date(month);
    case 'f':
        return strcmp(v, "json") == 0 || strcmp(v, "csv") == 0;
    case 'i':
        return strcmp(v, "payments") == 0;
    }
    return false;
}

/* Whether the contract accepts this GET (the path's id, the query's parameters), so that it must
 * reach the database. */
static bool get_good(int hit, const char *path, const char *query, const struct fuzz_request *rq)
{
    if (strstr(routes[hit].pattern, "{id}") != NULL) {
        /* the id: the third segment ("/v1/<things>/<id>...") */
        const char *p = path + strlen("/v1/");
        p = strchr(p, '/') + 1;
        size_t n = strcspn(p, "/");
        char id[32];
        if (n >= sizeof id)
            return false;
        memcpy(id, p, n);
        id[n] = '\0';
        bool balance = strstr(routes[hit].pattern, "balance") != NULL;
        if (balance ? !value_good('m', id, rq->scope)
                    : !(n <= 18 && id[0] != '0' && strspn(id, "0123456789") == n && n > 0))
            return false;
    }
    const char *spec = routes[hit].params;
    if (spec == NULL)
        return true;
    struct evkeyvalq q;
    struct evkeyval *kv;
    TAILQ_INIT(&q);
    if (query != NULL && evhttp_parse_query_str(query, &q) != 0)
        return false;
    bool good = true;
    char seen[8] = {0};
    TAILQ_FOREACH(kv, &q, next)
    {
        char want[40];
        snprintf(want, sizeof want, "%s:", kv->key);
        const char *at = strstr(spec, want);
        while (at != NULL && at != spec && at[-1] != ' ')
            at = strstr(at + 1, want);
        if (at == NULL) {
            good = false;
            break;
        }
        int slot = 0;
        for (const char *p = spec; p < at; p++)
            slot += *p == ' ';
        char type = at[strlen(want)];
        if (seen[slot]++ || !value_good((char)(type | 0x20), kv->value, rq->scope))
            good = false;
    }
    /* required parameters, and a scoped client's reads of another municipality */
    int slot = 0;
    for (const char *p = spec; *p != '\0'; p++) {
        if (*p == ' ')
            slot++;
        if (*p == ':' && p[1] >= 'A' && p[1] <= 'Z' && !seen[slot])
            good = false;
    }
    evhttp_clear_headers(&q);
    return good;
}

static const enum evhttp_cmd_type methods[] = {EVHTTP_REQ_GET, EVHTTP_REQ_POST, EVHTTP_REQ_PUT,
                                               EVHTTP_REQ_DELETE};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t f = fuzz_u8(&in);
    char *text = fuzz_cstr(in.p, in.n);
    char *nl = strchr(text, '\n');
    char *headers = NULL, *body = NULL;
    if (nl != NULL) {
        *nl = '\0';
        headers = nl + 1;
        char *blank = strstr(headers, "\n\n");
        if (blank != NULL) {
            blank[1] = '\0';
            body = blank + 2;
        }
    }
    struct fuzz_request rq = {methods[(f >> 4) & 3],
                              text,
                              headers,
                              body ? body : "",
                              body ? strlen(body) : 0,
                              (enum api_role)(f & 3),
                              f & 4 ? "*" : "1480",
                              (f & 8) != 0};
    struct fuzz_outcome o;
    if (!fuzz_api_run(&rq, &o)) {
        free(text);
        return 0;
    }
    /* What evhttp hands over as the path (as http_req_path does). */
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(text, EVHTTP_URI_NONCONFORMANT);
    const char *p = evhttp_uri_get_path(uri);
    const char *path = p != NULL && *p != '\0' ? p : "/";
    char allow[64] = "";
    bool path_known = false;
    int hit = -1;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!matches(routes[i].pattern, path))
            continue;
        path_known = true;
        const char *m = routes[i].method == EVHTTP_REQ_GET ? "GET" : "POST";
        if (strstr(allow, m) == NULL)
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", m);
        if (routes[i].method == rq.method && hit < 0)
            hit = (int)i;
    }
    if (!path_known) {
        FUZZ_CHECK(o.status == 404 && o.submits == 0, "unknown path '%s' gave %d", path, o.status);
    } else if (hit < 0) {
        FUZZ_CHECK(o.status == 405 && strcmp(o.allow, allow) == 0,
                   "'%s' with the wrong method gave %d, Allow '%s' (wanted '%s')", path, o.status,
                   o.allow, allow);
    } else {
        FUZZ_CHECK(o.status != 405, "'%s' gave 405", path);
        FUZZ_CHECK(o.status != 404 || strstr(routes[hit].pattern, "{id}") != NULL,
                   "'%s' (%s) gave 404", path, routes[hit].pattern);
        if (routes[hit].role != ROLE_NONE && rq.no_auth)
            FUZZ_CHECK(o.status == 401 && o.submits == 0, "'%s' without a token gave %d", path,
                       o.status);
        else if (routes[hit].role > rq.role)
            FUZZ_CHECK(o.status == 403 && o.submits == 0, "'%s' role %d gave %d", path, rq.role,
                       o.status);
        else if (rq.method == EVHTTP_REQ_GET && routes[hit].role != ROLE_NONE &&
                 !(routes[hit].persons && rq.role == ROLE_READ && strcmp(rq.scope, "*") == 0) &&
                 get_good(hit, path, evhttp_uri_get_query(uri), &rq))
            FUZZ_CHECK(o.submits == 1 && o.status == 503, "a good GET %s was refused: %d %s", text,
                       o.status, o.body);
    }
    evhttp_uri_free(uri);
    fuzz_outcome_free(&o);
    free(text);
    return 0;
}
