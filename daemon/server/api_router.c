/* api_router: the route table (method, path pattern, role, flags, handler) and the dispatch of a
 * request to its row: 404 for a path no row has, 405 with Allow for a method it lacks. */
#include "api_handlers.h"
#include "api_private.h"
#include "api_runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row: method, path pattern ("{id}" matches one segment), the least role, flags, handler. */
#define ROUTE(m, pattern, role, flags, fn)                                                         \
    {                                                                                              \
        EVHTTP_REQ_##m, pattern, ROLE_##role, flags, fn                                            \
    }
#define PERSONS ROUTE_PERSONS
#define NATIONAL ROUTE_NATIONAL
#define MONEY ROUTE_KEY
#define FRESH ROUTE_FRESH_AUTH

static const struct api_route routes[] = {
    ROUTE(GET, "/healthz", NONE, 0, api_meta_health),
    ROUTE(GET, "/readyz", NONE, 0, api_meta_ready),
    ROUTE(GET, "/v1/openapi.json", NONE, 0, api_meta_openapi),
    ROUTE(POST, "/v1/placements", WRITE, PERSONS, api_placement_create),
    ROUTE(GET, "/v1/placements", READ, PERSONS, api_placement_list),
    ROUTE(POST, "/v1/placements/search", READ, PERSONS, api_placement_search),
    ROUTE(GET, "/v1/placements/{id}", READ, PERSONS, api_placement_get),
    ROUTE(POST, "/v1/placements/{id}/move-in", WRITE, PERSONS, api_placement_move_in),
    ROUTE(POST, "/v1/placements/{id}/move-out", WRITE, PERSONS, api_placement_move_out),
    ROUTE(POST, "/v1/placements/{id}/corrections", WRITE, PERSONS, api_placement_correct),
    ROUTE(GET, "/v1/placements/{id}/accruals", READ, PERSONS, api_placement_accruals),
    ROUTE(GET, "/v1/rates", READ, 0, api_rates_list),
    ROUTE(POST, "/v1/rates", ADMIN, NATIONAL | MONEY, api_rate_create),
    ROUTE(POST, "/v1/allocations", WRITE, MONEY, api_allocation_create),
    ROUTE(GET, "/v1/allocations", READ, 0, api_allocations_list),
    ROUTE(POST, "/v1/accruals/run", ADMIN, NATIONAL | MONEY | FRESH, api_run_start),
    ROUTE(GET, "/v1/accruals/runs/{id}", READ, 0, api_run_get),
    ROUTE(GET, "/v1/ledger/entries", READ, PERSONS, api_ledger_entries),
    ROUTE(GET, "/v1/municipalities/{id}/balance", READ, 0, api_balance),
    ROUTE(POST, "/v1/payments", WRITE, MONEY, api_payment_create),
    ROUTE(POST, "/v1/payments/import", WRITE, MONEY, api_payment_import),
    ROUTE(GET, "/v1/reports/reconciliation", READ, PERSONS, api_reconciliation),
    ROUTE(GET, "/v1/exports/sie", READ, PERSONS, api_export_sie),
};
#define NROUTES (sizeof routes / sizeof routes[0])

/* Matches path against pattern segment by segment; "{id}" captures one segment. */
static bool route_match(const char *pattern, const char *path, char *id, size_t idlen)
{
    while (*pattern != '\0' && *path != '\0') {
        if (strncmp(pattern, "{id}", 4) == 0) {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= idlen)
                return false;
            memcpy(id, path, n);
            id[n] = '\0';
            pattern += 4;
            path += n;
            continue;
        }
        if (*pattern != *path)
            return false;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

const struct api_route *api_route_of(const struct api_call *c)
{
    for (size_t i = 0; i < NROUTES; i++)
        if (routes[i].pattern == c->route && routes[i].method == http_req_method(c->r))
            return &routes[i];
    return NULL;
}

/* The path has rows, none for this method: 405 with the methods it has. */
static void reply_method_not_allowed(struct api_call *c, const char *path)
{
    char allow[64] = "";
    char id[24];
    for (size_t i = 0; i < NROUTES; i++) {
        const char *m = routes[i].method == EVHTTP_REQ_GET ? "GET" : "POST";
        if (route_match(routes[i].pattern, path, id, sizeof id) && strstr(allow, m) == NULL)
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", m);
    }
    http_req_add_header(c->r, "Allow", allow);
    api_reply_error(c, 405, "method_not_allowed", "this method is not allowed here", NULL);
}

/* A route without a role runs at once; nothing else may reach the database before the role
 * check (api_set_role_checked). */
static void route_run(struct api_call *c, const struct api_route *rt)
{
    c->route = rt->pattern;
    http_req_set_route(c->r, c->route);
    if (rt->min_role == ROLE_NONE)
        rt->fn(c);
    else if (c->api->role_unchecked)
        api_reply_db_status(c, DB_UNAVAILABLE);
    else
        api_auth_run(c);
}

void api_handle(struct http_req *r, void *arg)
{
    const char *path = http_req_path(r);
    enum evhttp_cmd_type method = http_req_method(r);
    bool path_known = false;
    struct api_call *c = calloc(1, sizeof *c);

    if (c == NULL) {
        http_reply_error_retry(r, 503, "overloaded", "out of memory", 1);
        return;
    }
    c->api = arg;
    c->r = r;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!route_match(routes[i].pattern, path, c->path_id, sizeof c->path_id))
            continue;
        path_known = true;
        if (routes[i].method == method) {
            route_run(c, &routes[i]);
            return;
        }
    }
    if (path_known)
        reply_method_not_allowed(c, path);
    else
        api_reply_error(c, 404, "not_found", "no such resource", NULL);
}
