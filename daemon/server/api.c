/* api: the request's life cycle (the call, its replies, the statements it runs) and the checks
 * handlers share; the database's (status, body, location) row becomes the HTTP reply here. The
 * route table is api_router.c, authentication api_auth.c, the client-free routes api_meta.c. */
#include "api_private.h"

#include "api_idem.h"
#include "api_runs.h"
#include "auth_cache.h"
#include "json_error.h"
#include "ledger_sie.h"
#include "log.h"
#include "token.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

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
    if (api->runs != NULL)
        return api;
    free(api->auth);
    free(api);
    return NULL;
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

void api_call_finish(struct api_call *c)
{
    free(c->held_body);
    free(c);
}

void api_reply_json(struct api_call *c, int status, const char *body)
{
    if (c->auth_unproven) {
        api_auth_hold(c, status, strdup(body));
        return;
    }
    struct http_req *r = c->r;
    api_call_finish(c);
    http_reply(r, status, body, strlen(body), NULL, 0);
}

void api_reply_error(struct api_call *c, int status, const char *code, const char *message,
                     const char *field)
{
    if (c->auth_unproven) {
        api_auth_hold(c, status, json_error_body(code, message, field, NULL));
        return;
    }
    struct http_req *r = c->r;
    api_call_finish(c);
    http_reply_error(r, status, code, message, field);
}

void api_reply_jc(struct api_call *c, const struct jc_error *err)
{
    api_reply_error(c, err->status, err->code, err->message, err->field[0] ? err->field : NULL);
}

void api_reply_db_status(struct api_call *c, enum db_status st)
{
    struct http_req *r = c->r;
    api_call_finish(c);
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
void api_reply_db_error(struct api_call *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state != NULL && (strcmp(state, "57014") == 0 || strncmp(state, "08", 2) == 0 ||
                          strcmp(state, "57P01") == 0 || strcmp(state, "40001") == 0 ||
                          strcmp(state, "40P01") == 0)) {
        api_reply_db_status(c, DB_TIMEOUT);
        return;
    }
    api_reply_error(c, 500, "internal", "internal error; the request id is in the log", NULL);
}

void api_db_failed(struct api_call *c, enum db_status st, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (st == DB_ERROR && c->auth_unproven && state != NULL && strcmp(state, "RB401") == 0) {
        api_auth_retry(c);
        return;
    }
    if (st == DB_ERROR) {
        api_reply_db_error(c, res);
        return;
    }
    api_reply_db_status(c, st);
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

/* A write goes in its own transaction with the server's timeouts (db_submit_write). */
enum db_status api_submit(struct api_call *c, const struct db_stmt *stmt, const char *const *params,
                          db_cb done)
{
    return c->write ? db_submit_write(c->api->pool, stmt, params, done, c)
                    : db_submit(c->api->pool, stmt, params, done, c);
}

enum db_status api_db_stream(struct api_call *c, const struct db_stmt *stmt,
                             const char *const *params, db_row_cb row, db_cb done, void *arg,
                             struct db_stream **stream)
{
    if (c->auth_unproven)
        return api_auth_submit(c, stmt, params, row, done, arg, stream);
    return db_submit_stream(c->api->pool, stmt, params, row, done, arg, stream);
}

void api_db(struct api_call *c, const struct db_stmt *stmt, const char *const *params,
            void (*cb)(struct api_call *c, const PGresult *res))
{
    c->db_cb = cb;
    enum db_status st = c->auth_unproven
                            ? api_auth_submit(c, stmt, params, NULL, on_db_result, c, NULL)
                            : api_submit(c, stmt, params, on_db_result);
    if (st != DB_OK)
        api_reply_db_status(c, st);
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
    api_call_finish(c);
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

bool api_query_refused(struct api_call *c, struct evkeyvalq *q, const char *code,
                       const char *message, const char *bad)
{
    if (bad == NULL)
        return false;
    evhttp_clear_headers(q);
    api_reply_error(c, 400, code, message, bad);
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
