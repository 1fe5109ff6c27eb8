/* api_router: the route table (method, path pattern, role, flags, handler) and the dispatch of a
 * request to its row: 404 for a path no row has, 405 with Allow for a method it lacks. */
#include "api_handlers.h"
#include "api_private.h"
#include "api_runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define PERSONS ROUTE_PERSONS
#define MONEY ROUTE_KEY

static const struct api_route routes[] = {
    {GET, "/healthz", ROLE_NONE, 0, api_meta_health},
    {GET, "/readyz", ROLE_NONE, 0, api_meta_ready},
    {GET, "/v1/openapi.json", ROLE_NONE, 0, api_meta_openapi},
    {POST, "/v1/placements", ROLE_WRITE, PERSONS, api_placement_create},
    {GET, "/v1/placements", ROLE_READ, PERSONS, api_placement_list},
    {POST, "/v1/placements/search", ROLE_READ, PERSONS, api_placement_search},
    {GET, "/v1/placements/{id}", ROLE_READ, PERSONS, api_placement_get},
    {POST, "/v1/placements/{id}/move-in", ROLE_WRITE, PERSONS, api_placement_move_in},
    {POST, "/v1/placements/{id}/move-out", ROLE_WRITE, PERSONS, api_placement_move_out},
    {POST, "/v1/placements/{id}/corrections", ROLE_WRITE, PERSONS, api_placement_correct},
    {GET, "/v1/placements/{id}/accruals", ROLE_READ, PERSONS, api_placement_accruals},
    {GET, "/v1/rates", ROLE_READ, 0, api_rates_list},
    {POST, "/v1/rates", ROLE_ADMIN, ROUTE_NATIONAL | MONEY, api_rate_create},
    {POST, "/v1/allocations", ROLE_WRITE, MONEY, api_allocation_create},
    {GET, "/v1/allocations", ROLE_READ, 0, api_allocations_list},
    {POST, "/v1/accruals/run", ROLE_ADMIN, ROUTE_NATIONAL | MONEY | ROUTE_FRESH_AUTH,
     api_run_start},
    {GET, "/v1/accruals/runs/{id}", ROLE_READ, 0, api_run_get},
    {GET, "/v1/ledger/entries", ROLE_READ, PERSONS, api_ledger_entries},
    {GET, "/v1/municipalities/{id}/balance", ROLE_READ, 0, api_balance},
    {POST, "/v1/payments", ROLE_WRITE, MONEY, api_payment_create},
    {POST, "/v1/payments/import", ROLE_WRITE, MONEY, api_payment_import},
    {GET, "/v1/reports/reconciliation", ROLE_READ, PERSONS, api_reconciliation},
    {GET, "/v1/exports/sie", ROLE_READ, PERSONS, api_export_sie},
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
        const char *m = routes[i].method == GET ? "GET" : "POST";
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
