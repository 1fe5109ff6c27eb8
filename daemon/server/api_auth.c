/* api_auth: who the client is (the bearer token, through the token cache or a lookup, and its
 * bound certificate with mutual TLS) and what it may do (role, persons, national scope, the
 * Idempotency-Key of api_idem.c); a cached client is proven by the request's first statement
 * (api.client_assert) or, for a reply made before any, by a fresh lookup. */
#include "api_idem.h"
#include "api_private.h"
#include "auth_cache.h"
#include "log.h"
#include "strbuf.h"
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUTH_CACHE_TTL_S 300
#define PARAMS_MAX 16

static const struct db_stmt auth_stmt = {
    "rb_auth",
    "SELECT id, name, role, scope, token_sha256, cert_sha256 FROM api.client_by_token($1)", 1};

static const char *role_name(enum api_role role)
{
    static const char *const names[] = {"none", "read", "write", "admin"};
    return names[role];
}

static enum api_role role_parse(const char *s)
{
    if (strcmp(s, "admin") == 0)
        return ROLE_ADMIN;
    if (strcmp(s, "write") == 0)
        return ROLE_WRITE;
    if (strcmp(s, "read") == 0)
        return ROLE_READ;
    return ROLE_NONE;
}

/* The statement with the client assertion appended; NULL if the table is full or out of memory. */
static const struct db_stmt *asserted_of(struct api *api, const struct db_stmt *base)
{
    for (size_t i = 0; i < api->nasserted; i++)
        if (api->asserted[i].base == base)
            return &api->asserted[i].stmt;
    if (api->nasserted == API_ASSERTED_MAX || base->nparams + 5 > PARAMS_MAX)
        return NULL;
    struct api_asserted_stmt *a = &api->asserted[api->nasserted];
    struct strbuf sql = {0};
    int n = base->nparams;
    strbuf_printf(&sql, "%s WHERE api.client_assert($%d, $%d, $%d, $%d, $%d)", base->sql, n + 1,
                  n + 2, n + 3, n + 4, n + 5);
    if (sql.oom) {
        strbuf_free(&sql);
        return NULL;
    }
    snprintf(a->name, sizeof a->name, "%s_asserted", base->name);
    a->sql = sql.p; /* taken over from the buffer */
    a->base = base;
    a->stmt = (struct db_stmt){a->name, a->sql, n + 5};
    api->nasserted++;
    return &a->stmt;
}

/* One statement proves the cached client and does the work, in one transaction; row non-NULL:
 * streamed (db_submit_stream), else through api_submit. */
enum db_status api_auth_submit(struct api_call *c, const struct db_stmt *stmt,
                               const char *const *params, db_row_cb row, db_cb done, void *arg,
                               struct db_stream **stream)
{
    const struct db_stmt *as = asserted_of(c->api, stmt);
    const char *p[PARAMS_MAX];
    int n = stmt->nparams;
    if (as == NULL)
        return DB_UNAVAILABLE;
    for (int i = 0; i < n; i++)
        p[i] = params[i];
    p[n] = c->client.id;
    p[n + 1] = c->token_hash;
    p[n + 2] = role_name(c->client.role);
    p[n + 3] = c->client.scope;
    p[n + 4] = c->auth_cert[0] ? c->auth_cert : NULL;
    if (row != NULL)
        return db_submit_stream(c->api->pool, as, p, row, done, arg, stream);
    return api_submit(c, as, p, done);
}

/* Role, then the rule that read clients of every municipality see totals, not persons. */
static void authorize_and_run(struct api_call *c)
{
    const struct api_route *rt = api_route_of(c);
    if (c->client.role < rt->min_role) {
        char msg[96];
        snprintf(msg, sizeof msg, "this needs the %s role", role_name(rt->min_role));
        api_reply_error(c, 403, "forbidden", msg, NULL);
        return;
    }
    if ((rt->flags & ROUTE_PERSONS) && c->client.role == ROLE_READ &&
        api_client_all_scope(&c->client)) {
        api_reply_error(c, 403, "forbidden",
                        "clients reading every municipality see totals, not persons", NULL);
        return;
    }
    if ((rt->flags & ROUTE_NATIONAL) && !api_client_all_scope(&c->client)) {
        api_reply_error(c, 403, "forbidden",
                        "this changes money for every municipality and needs national scope ('*')",
                        NULL);
        return;
    }
    if (http_req_method(c->r) == EVHTTP_REQ_POST &&
        !api_idem_key_ok(c, (rt->flags & ROUTE_KEY) != 0))
        return;
    rt->fn(c);
}

/* With mutual TLS, the presented certificate must be the one bound to the token's client. */
static bool cert_matches(const struct api_call *c, const PGresult *res)
{
    char fp[TOKEN_HASH_HEX_LEN + 1];
    if (PQgetisnull(res, 0, 5) || !http_req_peer_cert_sha256(c->r, fp))
        return false;
    return token_hash_equal(fp, PQgetvalue(res, 0, 5));
}

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

static void auth_remember(struct api_call *c, const PGresult *res)
{
    struct auth_cache_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.hash, sizeof e.hash, "%s", c->token_hash);
    snprintf(e.id, sizeof e.id, "%s", PQgetvalue(res, 0, 0));
    snprintf(e.name, sizeof e.name, "%s", PQgetvalue(res, 0, 1));
    snprintf(e.role, sizeof e.role, "%s", PQgetvalue(res, 0, 2));
    snprintf(e.scope, sizeof e.scope, "%s", PQgetvalue(res, 0, 3));
    if (!PQgetisnull(res, 0, 5))
        snprintf(e.cert, sizeof e.cert, "%s", PQgetvalue(res, 0, 5));
    auth_cache_put(c->api->auth, &e, mono_now(), AUTH_CACHE_TTL_S);
}

static void on_client(enum db_status st, const PGresult *res, void *arg)
{
    struct api_call *c = arg;

    if (st == DB_ERROR) {
        api_reply_db_error(c, res);
        return;
    }
    if (st != DB_OK) {
        api_reply_db_status(c, st);
        return;
    }
    if (PQntuples(res) != 1 || !token_hash_equal(c->token_hash, PQgetvalue(res, 0, 4))) {
        api_reply_error(c, 401, "unauthorized", "the bearer token is not valid", NULL);
        return;
    }
    if (http_server_client_certs(c->api->http) && !cert_matches(c, res)) {
        api_reply_error(c, 401, "unauthorized",
                        "the client certificate is not the one bound to this token", NULL);
        return;
    }
    snprintf(c->client.id, sizeof c->client.id, "%s", PQgetvalue(res, 0, 0));
    snprintf(c->client.name, sizeof c->client.name, "%s", PQgetvalue(res, 0, 1));
    c->client.role = role_parse(PQgetvalue(res, 0, 2));
    snprintf(c->client.scope, sizeof c->client.scope, "%s", PQgetvalue(res, 0, 3));
    http_req_set_client(c->r, c->client.name);
    auth_remember(c, res);
    authorize_and_run(c);
}

static void auth_lookup(struct api_call *c, db_cb cb)
{
    const char *params[1] = {c->token_hash};
    enum db_status st = db_submit(c->api->pool, &auth_stmt, params, cb, c);
    if (st != DB_OK)
        api_reply_db_status(c, st);
}

/* The database refused the cached client (revoked, rotated, rebound): nothing was done, so drop
 * the entry and serve the request again from a fresh lookup. */
void api_auth_retry(struct api_call *c)
{
    auth_cache_evict(c->api->auth, c->token_hash);
    c->auth_unproven = false;
    auth_lookup(c, on_client);
}

/* The fresh row is still the client the cache gave. */
static bool auth_same_client(const struct api_call *c, const PGresult *res)
{
    const char *cert = PQgetisnull(res, 0, 5) ? "" : PQgetvalue(res, 0, 5);
    return PQntuples(res) == 1 && token_hash_equal(c->token_hash, PQgetvalue(res, 0, 4)) &&
           strcmp(PQgetvalue(res, 0, 0), c->client.id) == 0 &&
           role_parse(PQgetvalue(res, 0, 2)) == c->client.role &&
           strcmp(PQgetvalue(res, 0, 3), c->client.scope) == 0 && strcmp(cert, c->auth_cert) == 0;
}

static void on_recheck(enum db_status st, const PGresult *res, void *arg)
{
    struct api_call *c = arg;
    if (st == DB_OK && auth_same_client(c, res)) {
        struct http_req *r = c->r;
        int status = c->held_status;
        char *body = c->held_body;
        c->held_body = NULL;
        api_call_finish(c);
        http_reply(r, status, body, strlen(body), NULL, 0);
        free(body);
        return;
    }
    free(c->held_body);
    c->held_body = NULL;
    auth_cache_evict(c->api->auth, c->token_hash);
    c->auth_unproven = false;
    on_client(st, res, c); /* 401, 503, or the request again with the fresh client */
}

/* A reply decided before any statement ran on a cached client (a 400, 403 or 404 of the handler)
 * waits for a fresh lookup, so a revoked token never gets more than 401. */
void api_auth_hold(struct api_call *c, int status, char *body_take)
{
    if (body_take == NULL) {
        c->auth_unproven = false;
        api_reply_error(c, 500, "internal", "out of memory", NULL);
        return;
    }
    free(c->held_body);
    c->held_status = status;
    c->held_body = body_take;
    auth_lookup(c, on_recheck);
}

/* A hit needs the same bound certificate as the cached row; some routes always look up afresh
 * (accrual runs leave the pool for their own connections). */
static bool auth_from_cache(struct api_call *c)
{
    struct auth_cache_entry e;
    const struct api_route *rt = api_route_of(c);
    if (rt == NULL || (rt->flags & ROUTE_FRESH_AUTH) ||
        !auth_cache_get(c->api->auth, c->token_hash, mono_now(), &e))
        return false;
    if (http_server_client_certs(c->api->http)) {
        char fp[TOKEN_HASH_HEX_LEN + 1];
        if (e.cert[0] == '\0' || !http_req_peer_cert_sha256(c->r, fp) ||
            !token_hash_equal(fp, e.cert))
            return false;
    }
    snprintf(c->client.id, sizeof c->client.id, "%s", e.id);
    snprintf(c->client.name, sizeof c->client.name, "%s", e.name);
    c->client.role = role_parse(e.role);
    snprintf(c->client.scope, sizeof c->client.scope, "%s", e.scope);
    snprintf(c->auth_cert, sizeof c->auth_cert, "%s", e.cert);
    c->auth_unproven = true;
    http_req_set_client(c->r, c->client.name);
    return true;
}

void api_auth_run(struct api_call *c)
{
    const char *auth = http_req_header(c->r, "Authorization");
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 ||
        !token_well_formed(auth + 7, strlen(auth + 7))) {
        api_reply_error(c, 401, "unauthorized",
                        "send Authorization: Bearer <token> with a valid token", NULL);
        return;
    }
    token_hash_hex(auth + 7, strlen(auth + 7), c->token_hash);
    if (auth_from_cache(c))
        authorize_and_run(c);
    else
        auth_lookup(c, on_client);
}
