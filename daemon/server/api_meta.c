/* api_meta: the routes that need no client: liveness, readiness and the API description. */
#include "api_private.h"
#include "openapi.h"

static const struct db_stmt ready_stmt = {"rb_ready", "SELECT 1", 0};

/* The API description, embedded at build time (cmake/openapi.cmake). */
void api_meta_openapi(struct api_call *c)
{
    struct http_req *r = c->r;
    api_call_finish(c);
    http_reply_typed(r, 200, "application/json; charset=utf-8", openapi_json, openapi_json_len);
}

void api_meta_health(struct api_call *c)
{
    api_reply_json(c, 200, "{\"status\":\"ok\"}");
}

static void ready_reply(struct api_call *c, bool ok)
{
    if (ok) {
        api_reply_json(c, 200, "{\"status\":\"ready\"}");
        return;
    }
    struct http_req *r = c->r;
    static const char body[] = "{\"status\":\"not_ready\",\"reason\":\"database unavailable\"}";
    api_call_finish(c);
    http_reply(r, 503, body, sizeof body - 1, NULL, 2);
}

static void on_ready(enum db_status st, const PGresult *res, void *arg)
{
    (void)res;
    ready_reply(arg, st == DB_OK);
}

/* Ready means a statement goes through: behind a pooler an open connection proves nothing. */
void api_meta_ready(struct api_call *c)
{
    if (c->api->role_unchecked || !db_pool_ready(c->api->pool) ||
        db_submit(c->api->pool, &ready_stmt, NULL, on_ready, c) != DB_OK)
        ready_reply(c, false);
}
