/* api_private: what the parts of the api layer share (api.c: life cycle, replies and statements;
 * api_router.c: the route table; api_auth.c: who the client is and what it may do; api_meta.c:
 * health, readiness and the API description). Not for handlers: they use api.h. */
#ifndef RB_API_PRIVATE_H
#define RB_API_PRIVATE_H

#include "api.h"

#define API_ASSERTED_MAX 32

/* A statement with `WHERE api.client_assert(...)` appended, made once per statement used. */
struct api_asserted_stmt {
    const struct db_stmt *base;
    struct db_stmt stmt;
    char name[64];
    char *sql;
};

struct api {
    struct http_server *http;
    struct db_pool *pool;
    const struct rb_config *cfg;
    struct api_runs *runs;
    struct auth_cache *auth;
    struct api_asserted_stmt asserted[API_ASSERTED_MAX];
    size_t nasserted;
    bool role_unchecked; /* the database role is not known to be bound by row-level security */
};

enum api_route_flag {
    ROUTE_PERSONS = 1,    /* shows persons: not for read clients of all municipalities */
    ROUTE_NATIONAL = 2,   /* changes money for every municipality: scope "*" only */
    ROUTE_KEY = 4,        /* moves money: a POST without an Idempotency-Key is refused (428) */
    ROUTE_FRESH_AUTH = 8, /* never from the auth cache (accrual runs use their own connections) */
};

/* One row of the route table (api_router.c). */
struct api_route {
    enum evhttp_cmd_type method;
    const char *pattern; /* segments; "{id}" matches one segment */
    enum api_role min_role;
    unsigned flags; /* enum api_route_flag */
    void (*fn)(struct api_call *c);
};

/* The route c was matched to (c->route and the method). */
const struct api_route *api_route_of(const struct api_call *c);

/* api.c */
void api_call_finish(struct api_call *c);
/* 503 (with Retry-After) or 504 for a statement that did not run or did not answer; frees c. */
void api_reply_db_status(struct api_call *c, enum db_status st);
/* A statement that failed: a timeout or lost connection is 503, anything else 500; frees c. */
void api_reply_db_error(struct api_call *c, const PGresult *res);
/* Submits through the pool: a write in its own transaction (db_submit_write). */
enum db_status api_submit(struct api_call *c, const struct db_stmt *stmt, const char *const *params,
                          db_cb done);

/* api_auth.c */
/* Authenticates the bearer token (cache or lookup), authorizes, then runs the route's handler. */
void api_auth_run(struct api_call *c);
/* The statement with the cached client's assertion appended (api.client_assert), submitted; row
 * non-NULL: streamed. */
enum db_status api_auth_submit(struct api_call *c, const struct db_stmt *stmt,
                               const char *const *params, db_row_cb row, db_cb done, void *arg,
                               struct db_stream **stream);
/* The database refused the cached client (RB401): serve the request again from a fresh lookup. */
void api_auth_retry(struct api_call *c);
/* A reply made before any statement proved the cached client waits for a fresh lookup. */
void api_auth_hold(struct api_call *c, int status, char *body_take);

/* api_meta.c: the routes without a client. */
void api_meta_health(struct api_call *c);
void api_meta_ready(struct api_call *c);
void api_meta_openapi(struct api_call *c);

#endif
