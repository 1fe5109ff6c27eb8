/* api: match the route, authenticate the bearer token, check the role, and hand over to a handler;
 * then translate the database's (status, body, location) row into the HTTP reply. */
#include "api.h"

#include "api_exports.h"
#include "api_idem.h"
#include "api_ledger.h"
#include "api_payments.h"
#include "api_placements.h"
#include "api_runs.h"
#include "auth_cache.h"
#include "ledger_sie.h"
#include "log.h"
#include "openapi.h"
#include "strbuf.h"
#include "civil_date.h"
#include "token.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#define AUTH_CACHE_TTL_S 300
#define ASSERTED_MAX 32
#define PARAMS_MAX 16

/* A statement with `WHERE api.client_assert(...)` appended, made once per statement used. */
struct asserted_stmt {
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
    struct asserted_stmt asserted[ASSERTED_MAX];
    size_t nasserted;
    bool role_unchecked; /* the database role is not known to be bound by row-level security */
};

struct route {
    enum evhttp_cmd_type method;
    const char *pattern; /* segments; "{id}" matches one segment */
    enum api_role min_role;
    bool persons;  /* shows persons: not for read clients of all municipalities */
    bool national; /* changes money for every municipality: scope "*" only */
    void (*fn)(struct api_call *c);
};

static void health(struct api_call *c);
static void ready(struct api_call *c);
static void openapi(struct api_call *c);

static const struct route routes[] = {
    {EVHTTP_REQ_GET, "/healthz", ROLE_NONE, false, false, health},
    {EVHTTP_REQ_GET, "/readyz", ROLE_NONE, false, false, ready},
    {EVHTTP_REQ_GET, "/v1/openapi.json", ROLE_NONE, false, false, openapi},
    {EVHTTP_REQ_POST, "/v1/placements", ROLE_WRITE, true, false, api_placement_create},
    {EVHTTP_REQ_GET, "/v1/placements", ROLE_READ, true, false, api_placement_list},
    {EVHTTP_REQ_POST, "/v1/placements/search", ROLE_READ, true, false, api_placement_search},
    {EVHTTP_REQ_GET, "/v1/placements/{id}", ROLE_READ, true, false, api_placement_get},
    {EVHTTP_REQ_POST, "/v1/placements/{id}/move-in", ROLE_WRITE, true, false,
     api_placement_move_in},
    {EVHTTP_REQ_POST, "/v1/placements/{id}/move-out", ROLE_WRITE, true, false,
     api_placement_move_out},
    {EVHTTP_REQ_POST, "/v1/placements/{id}/corrections", ROLE_WRITE, true, false,
     api_placement_correct},
    {EVHTTP_REQ_GET, "/v1/placements/{id}/accruals", ROLE_READ, true, false,
     api_placement_accruals},
    {EVHTTP_REQ_GET, "/v1/rates", ROLE_READ, false, false, api_rates_list},
    {EVHTTP_REQ_POST, "/v1/rates", ROLE_ADMIN, false, true, api_rate_create},
    {EVHTTP_REQ_POST, "/v1/allocations", ROLE_WRITE, false, false, api_allocation_create},
    {EVHTTP_REQ_GET, "/v1/allocations", ROLE_READ, false, false, api_allocations_list},
    {EVHTTP_REQ_POST, "/v1/accruals/run", ROLE_ADMIN, false, true, api_run_start},
    {EVHTTP_REQ_GET, "/v1/accruals/runs/{id}", ROLE_READ, false, false, api_run_get},
    {EVHTTP_REQ_GET, "/v1/ledger/entries", ROLE_READ, true, false, api_ledger_entries},
    {EVHTTP_REQ_GET, "/v1/municipalities/{id}/balance", ROLE_READ, false, false, api_balance},
    {EVHTTP_REQ_POST, "/v1/payments", ROLE_WRITE, false, false, api_payment_create},
    {EVHTTP_REQ_POST, "/v1/payments/import", ROLE_WRITE, false, false, api_payment_import},
    {EVHTTP_REQ_GET, "/v1/reports/reconciliation", ROLE_READ, true, false, api_reconciliation},
    {EVHTTP_REQ_GET, "/v1/exports/sie", ROLE_READ, true, false, api_export_sie},
};

static const struct db_stmt auth_stmt = {
    "rb_auth",
    "SELECT id, name, role, scope, token_sha256, cert_sha256 FROM api.client_by_token($1)", 1};
static const struct db_stmt post_stmt = {
    "rb_post", "SELECT status, body, location FROM api.post($1, $2, $3, $4, $5, $6)", 6};

struct api *api_new(struct event_base *base, struct db_pool *pool, const struct rb_config *cfg,
                    const char *conninfo)
{
    struct api *api = calloc(1, sizeof *api);
    if (api == NULL)
        return NULL;
    api->pool = pool;
    api->cfg = cfg;
    api->auth = calloc(1, sizeof *api->auth);
    api->runs = api->auth ? api_runs_new(base, conninfo, cfg->accrual_jobs) : NULL;
    if (api->runs == NULL) {
        free(api->auth);
        free(api);
        return NULL;
    }
    return api;
}

void api_free(struct api *api)
{
    if (api == NULL)
        return;
    api_runs_free(api->runs);
    for (size_t i = 0; i < api->nasserted; i++)
        free(api->asserted[i].sql);
    free(api->auth);
    free(api);
}

struct api_runs *api_runs_of(struct api *api)
{
    return api->runs;
}

void api_chart(const struct api *api, struct ledger_chart *out)
{
    *out = api->cfg->chart; /* checked when the file was parsed (start-up and reload) */
}

void api_set_http(struct api *api, struct http_server *http)
{
    api->http = http;
}

void api_set_role_checked(struct api *api, bool checked)
{
    api->role_unchecked = !checked;
}

bool api_client_all_scope(const struct api_client *c)
{
    return strcmp(c->scope, "*") == 0;
}

static void call_finish(struct api_call *c)
{
    free(c->held_body);
    free(c);
}

static void reply_held(struct api_call *c, int status, char *body_take);

void api_reply_json(struct api_call *c, int status, const char *body)
{
    if (c->auth_unproven) {
        reply_held(c, status, strdup(body));
        return;
    }
    struct http_req *r = c->r;
    call_finish(c);
    http_reply(r, status, body, strlen(body), NULL, 0);
}

void api_reply_error(struct api_call *c, int status, const char *code, const char *message,
                     const char *field)
{
    if (c->auth_unproven) {
        reply_held(c, status, http_error_json(code, message, field));
        return;
    }
    struct http_req *r = c->r;
    call_finish(c);
    http_reply_error(r, status, code, message, field);
}

void api_reply_jc(struct api_call *c, const struct jc_error *err)
{
    api_reply_error(c, err->status, err->code, err->message, err->field[0] ? err->field : NULL);
}

static void reply_db_status(struct api_call *c, enum db_status st)
{
    struct http_req *r = c->r;
    call_finish(c);
    switch (st) {
    case DB_BUSY:
        http_reply_error_retry(r, 503, "overloaded", "too many requests are waiting; retry", 1);
        break;
    case DB_TIMEOUT:
        http_reply_error_retry(r, 503, "database_timeout",
                               "the database did not answer in time; retry", 1);
        break;
    case DB_UNKNOWN: /* a write's COMMIT went out and no answer came back: no Retry-After */
        http_reply_error(r, 504, "outcome_unknown",
                         "the database did not confirm the write in time, so it may or may not "
                         "have been recorded; repeat the request with the same Idempotency-Key, "
                         "or look the record up before sending it again",
                         NULL);
        break;
    default:
        http_reply_error_retry(r, 503, "database_unavailable", "the database is unavailable; retry",
                               2);
        break;
    }
}

/* The statement failed: a statement timeout is the server's 503, anything else is our bug. */
static void reply_db_error(struct api_call *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state != NULL && (strcmp(state, "57014") == 0 || strncmp(state, "08", 2) == 0 ||
                          strcmp(state, "57P01") == 0 || strcmp(state, "40001") == 0 ||
                          strcmp(state, "40P01") == 0)) {
        reply_db_status(c, DB_TIMEOUT);
        return;
    }
    api_reply_error(c, 500, "internal", "internal error; the request id is in the log", NULL);
}

/* The statement finished: errors become 503/500 here, results go to the caller's callback. */
static void auth_retry(struct api_call *c);

void api_db_failed(struct api_call *c, enum db_status st, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (st == DB_ERROR && c->auth_unproven && state != NULL && strcmp(state, "RB401") == 0) {
        auth_retry(c);
        return;
    }
    if (st == DB_ERROR) {
        reply_db_error(c, res);
        return;
    }
    reply_db_status(c, st);
}

static void on_db_result(enum db_status st, const PGresult *res, void *arg)
{
    struct api_call *c = arg;
    if (st != DB_OK) {
        api_db_failed(c, st, res);
        return;
    }
    c->auth_unproven = false;
    c->db_cb(c, res);
}

/* The statement with the client assertion appended; NULL if the table is full or out of memory. */
static const struct db_stmt *asserted_of(struct api *api, const struct db_stmt *base)
{
    for (size_t i = 0; i < api->nasserted; i++)
        if (api->asserted[i].base == base)
            return &api->asserted[i].stmt;
    if (api->nasserted == ASSERTED_MAX || base->nparams + 5 > PARAMS_MAX)
        return NULL;
    struct asserted_stmt *a = &api->asserted[api->nasserted];
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

static const char *role_name(enum api_role role);

/* A write goes in its own transaction with the server's timeouts (db_submit_write). */
static enum db_status submit(struct api_call *c, const struct db_stmt *stmt,
                             const char *const *params)
{
    return c->write ? db_submit_write(c->api->pool, stmt, params, on_db_result, c)
                    : db_submit(c->api->pool, stmt, params, on_db_result, c);
}

/* One statement proves the cached client and does the work, in one transaction; row non-NULL:
 * streamed (db_submit_stream), else through submit (done is then on_db_result). */
static enum db_status submit_asserted(struct api_call *c, const struct db_stmt *stmt,
                                      const char *const *params, db_row_cb row, db_cb done,
                                      void *arg, struct db_stream **stream)
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
    return submit(c, as, p);
}

enum db_status api_db_stream(struct api_call *c, const struct db_stmt *stmt,
                             const char *const *params, db_row_cb row, db_cb done, void *arg,
                             struct db_stream **stream)
{
    if (c->auth_unproven)
        return submit_asserted(c, stmt, params, row, done, arg, stream);
    return db_submit_stream(c->api->pool, stmt, params, row, done, arg, stream);
}

void api_db(struct api_call *c, const struct db_stmt *stmt, const char *const *params,
            void (*cb)(struct api_call *c, const PGresult *res))
{
    c->db_cb = cb;
    enum db_status st = c->auth_unproven
                            ? submit_asserted(c, stmt, params, NULL, on_db_result, c, NULL)
                            : submit(c, stmt, params);
    if (st != DB_OK)
        reply_db_status(c, st);
}

static void on_response_row(struct api_call *c, const PGresult *res)
{
    if (PQntuples(res) != 1 || PQnfields(res) != 3 || PQgetisnull(res, 0, 0)) {
        log_error("api: unexpected result shape for %s", c->route);
        api_reply_error(c, 500, "internal", "internal error", NULL);
        return;
    }
    int status = atoi(PQgetvalue(res, 0, 0));
    const char *body = PQgetvalue(res, 0, 1);
    const char *location = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
    struct http_req *r = c->r;
    call_finish(c);
    http_reply(r, status, body, (size_t)PQgetlength(res, 0, 1), location,
               api_retry_after(status, body));
}

void api_query(struct api_call *c, const struct db_stmt *stmt, const char *const *params)
{
    api_db(c, stmt, params, on_response_row);
}

json_t *api_body_object(struct api_call *c, const char *const *allowed)
{
    struct jc_error err;
    size_t len;
    json_t *body = NULL;
    const char *text = http_req_body(c->r, &len);
    if (!jc_parse_object(text, len, &body, &err)) {
        api_reply_jc(c, &err);
        return NULL;
    }
    if (!jc_only_fields(body, allowed, &err)) {
        json_decref(body);
        api_reply_jc(c, &err);
        return NULL;
    }
    return body;
}

bool api_params_parse(struct api_call *c, struct evkeyvalq *q, const char *const *names,
                      const char **values)
{
    struct evkeyval *kv;
    const char *query = http_req_query(c->r);
    size_t n = 0;
    while (names[n] != NULL)
        values[n++] = NULL;
    TAILQ_INIT(q);
    if (query != NULL && evhttp_parse_query_str(query, q) != 0) {
        api_reply_error(c, 400, "invalid_query", "the query string cannot be parsed", NULL);
        return false;
    }
    TAILQ_FOREACH(kv, q, next)
    {
        size_t i = 0;
        while (i < n && strcmp(names[i], kv->key) != 0)
            i++;
        if (i == n || values[i] != NULL) {
            char msg[128], shown[41];
            api_param_name_shown(kv->key, shown, 40);
            snprintf(msg, sizeof msg, "unknown or repeated query parameter '%s'", shown);
            evhttp_clear_headers(q);
            api_reply_error(c, 400, "invalid_query", msg, NULL);
            return false;
        }
        values[i] = kv->value;
    }
    return true;
}

bool api_may_write(struct api_call *c, const char *muni)
{
    if (api_client_all_scope(&c->client) || strcmp(muni, c->client.scope) == 0)
        return true;
    api_reply_error(c, 403, "forbidden", "this client may not write for that municipality",
                    "municipality");
    return false;
}

/* Which municipality a list or read may cover: a scoped client its own (another → 403), an
 * all-municipality client what it asked for (NULL: all). */
bool api_scope_municipality(struct api_call *c, const char *asked, const char **out)
{
    if (api_client_all_scope(&c->client)) {
        *out = asked;
        return true;
    }
    if (asked != NULL && strcmp(asked, c->client.scope) != 0) {
        api_reply_error(c, 403, "forbidden", "this client may not read that municipality",
                        "municipality");
        return false;
    }
    *out = c->client.scope;
    return true;
}

/* The fingerprint an Idempotency-Key is bound to: method, path and the exact body bytes. */
void api_request_hash(struct api_call *c, char *out)
{
    size_t blen;
    const char *body = http_req_body(c->r, &blen);
    const char *path = http_req_path(c->r);
    const void *parts[4] = {"POST\n", path, "\n", body};
    size_t lens[4] = {5, strlen(path), 1, blen};
    token_sha256_hex_parts(parts, lens, 4, out);
}

void api_post(struct api_call *c, const char *op, json_t *args)
{
    char hash[TOKEN_HASH_HEX_LEN + 1];
    const char *key = http_req_header(c->r, "Idempotency-Key");
    char *args_text = json_dumps(args, JSON_COMPACT);
    if (args_text == NULL) {
        api_reply_error(c, 500, "internal", "out of memory", NULL);
        return;
    }
    if (key != NULL)
        api_request_hash(c, hash);
    const char *params[6] = {op, c->client.id, c->client.scope, key, key ? hash : NULL, args_text};
    c->write = strcmp(op, "placement_search") != 0; /* the one POST that only reads */
    api_query(c, &post_stmt, params);
    free(args_text);
}

/* The API description, embedded at build time (cmake/openapi.cmake). */
static void openapi(struct api_call *c)
{
    struct http_req *r = c->r;
    call_finish(c);
    http_reply_typed(r, 200, "application/json; charset=utf-8", openapi_json, openapi_json_len);
}

static void health(struct api_call *c)
{
    api_reply_json(c, 200, "{\"status\":\"ok\"}");
}

static const struct db_stmt ready_stmt = {"rb_ready", "SELECT 1", 0};

static void ready_reply(struct api_call *c, bool ok)
{
    if (ok) {
        api_reply_json(c, 200, "{\"status\":\"ready\"}");
        return;
    }
    struct http_req *r = c->r;
    static const char body[] = "{\"status\":\"not_ready\",\"reason\":\"database unavailable\"}";
    call_finish(c);
    http_reply(r, 503, body, sizeof body - 1, NULL, 2);
}

static void on_ready(enum db_status st, const PGresult *res, void *arg)
{
    (void)res;
    ready_reply(arg, st == DB_OK);
}

/* Ready means a statement goes through: behind a pooler an open connection proves nothing. */
static void ready(struct api_call *c)
{
    if (c->api->role_unchecked || !db_pool_ready(c->api->pool) ||
        db_submit(c->api->pool, &ready_stmt, NULL, on_ready, c) != DB_OK)
        ready_reply(c, false);
}

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

static const struct route *route_of(const struct api_call *c)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (routes[i].pattern == c->route && routes[i].method == http_req_method(c->r))
            return &routes[i];
    return NULL;
}

/* Role, then the rule that read clients of every municipality see totals, not persons. */
static void authorize_and_run(struct api_call *c)
{
    const struct route *rt = route_of(c);
    if (c->client.role < rt->min_role) {
        char msg[96];
        snprintf(msg, sizeof msg, "this needs the %s role", role_name(rt->min_role));
        api_reply_error(c, 403, "forbidden", msg, NULL);
        return;
    }
    if (rt->persons && c->client.role == ROLE_READ && api_client_all_scope(&c->client)) {
        api_reply_error(c, 403, "forbidden",
                        "clients reading every municipality see totals, not persons", NULL);
        return;
    }
    if (rt->national && !api_client_all_scope(&c->client)) {
        api_reply_error(c, 403, "forbidden",
                        "this changes money for every municipality and needs national scope ('*')",
                        NULL);
        return;
    }
    if (http_req_method(c->r) == EVHTTP_REQ_POST && !api_idem_key_ok(c, rt->fn))
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
        reply_db_error(c, res);
        return;
    }
    if (st != DB_OK) {
        reply_db_status(c, st);
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
        reply_db_status(c, st);
}

/* The database refused the cached client (revoked, rotated, rebound): nothing was done, so drop
 * the entry and serve the request again from a fresh lookup. */
static void auth_retry(struct api_call *c)
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
        call_finish(c);
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
static void reply_held(struct api_call *c, int status, char *body_take)
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

/* A hit needs the same bound certificate as the cached row; accrual runs always look up afresh,
 * since they leave the pool for their own connections. */
static bool auth_from_cache(struct api_call *c)
{
    struct auth_cache_entry e;
    const struct route *rt = route_of(c);
    if (rt == NULL || rt->fn == api_run_start ||
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

static void authenticate(struct api_call *c)
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

void api_handle(struct http_req *r, void *arg)
{
    struct api *api = arg;
    const char *path = http_req_path(r);
    enum evhttp_cmd_type method = http_req_method(r);
    bool path_known = false;
    struct api_call *c = calloc(1, sizeof *c);

    if (c == NULL) {
        http_reply_error_retry(r, 503, "overloaded", "out of memory", 1);
        return;
    }
    c->api = api;
    c->r = r;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!route_match(routes[i].pattern, path, c->path_id, sizeof c->path_id))
            continue;
        path_known = true;
        if (routes[i].method != method)
            continue;
        c->route = routes[i].pattern;
        http_req_set_route(r, c->route);
        if (routes[i].min_role == ROLE_NONE)
            routes[i].fn(c);
        else if (api->role_unchecked)
            reply_db_status(c, DB_UNAVAILABLE); /* nothing may reach the database before */
        else
            authenticate(c);
        return;
    }
    if (path_known) {
        char allow[64] = "";
        char id[24];
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
            if (route_match(routes[i].pattern, path, id, sizeof id) &&
                strstr(allow, routes[i].method == EVHTTP_REQ_GET ? "GET" : "POST") == NULL)
                snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                         allow[0] ? ", " : "", routes[i].method == EVHTTP_REQ_GET ? "GET" : "POST");
        http_req_add_header(r, "Allow", allow);
        api_reply_error(c, 405, "method_not_allowed", "this method is not allowed here", NULL);
    } else
        api_reply_error(c, 404, "not_found", "no such resource", NULL);
}
