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
 * routes have it but not for the method, with Allow naming their methods; no token is a 401. */
#include "fuzz_util.h"

#include "fuzz_api_stubs.h"

#include <event2/keyvalq_struct.h>

static const struct {
    enum evhttp_cmd_type method;
    const char *pattern;
    enum api_role role;
} routes[] = {
    {EVHTTP_REQ_GET, "/healthz", ROLE_NONE},
    {EVHTTP_REQ_GET, "/readyz", ROLE_NONE},
    {EVHTTP_REQ_GET, "/metrics", ROLE_NONE},
    {EVHTTP_REQ_GET, "/v1/openapi.json", ROLE_NONE},
    {EVHTTP_REQ_POST, "/v1/placements", ROLE_WRITE},
    {EVHTTP_REQ_GET, "/v1/placements", ROLE_READ},
    {EVHTTP_REQ_POST, "/v1/placements/search", ROLE_READ},
    {EVHTTP_REQ_GET, "/v1/placements/{id}", ROLE_READ},
    {EVHTTP_REQ_POST, "/v1/placements/{id}/move-in", ROLE_WRITE},
    {EVHTTP_REQ_POST, "/v1/placements/{id}/move-out", ROLE_WRITE},
    {EVHTTP_REQ_POST, "/v1/placements/{id}/corrections", ROLE_WRITE},
    {EVHTTP_REQ_GET, "/v1/placements/{id}/accruals", ROLE_READ},
    {EVHTTP_REQ_GET, "/v1/rates", ROLE_READ},
    {EVHTTP_REQ_POST, "/v1/rates", ROLE_ADMIN},
    {EVHTTP_REQ_POST, "/v1/allocations", ROLE_WRITE},
    {EVHTTP_REQ_GET, "/v1/allocations", ROLE_READ},
    {EVHTTP_REQ_POST, "/v1/accruals/run", ROLE_ADMIN},
    {EVHTTP_REQ_GET, "/v1/accruals/runs/{id}", ROLE_READ},
    {EVHTTP_REQ_GET, "/v1/ledger/entries", ROLE_READ},
    {EVHTTP_REQ_GET, "/v1/municipalities/{id}/balance", ROLE_READ},
    {EVHTTP_REQ_POST, "/v1/payments", ROLE_WRITE},
    {EVHTTP_REQ_POST, "/v1/payments/import", ROLE_WRITE},
    {EVHTTP_REQ_GET, "/v1/reports/reconciliation", ROLE_READ},
    {EVHTTP_REQ_GET, "/v1/exports/sie", ROLE_READ},
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
    }
    evhttp_uri_free(uri);
    fuzz_outcome_free(&o);
    free(text);
    return 0;
}
