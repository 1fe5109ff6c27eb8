/* api: routing, authentication and the bridge from HTTP requests to the database's api schema. */
#ifndef RB_API_H
#define RB_API_H

#include "api_params.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "json_check.h"

#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>

enum api_role { ROLE_NONE = 0, ROLE_READ = 1, ROLE_WRITE = 2, ROLE_ADMIN = 3 };

struct api_client {
    char id[24]; /* decimal, as the database gives it */
    char name[72];
    enum api_role role;
    char scope[8]; /* a municipality code or "*" */
};

struct api;

/* One request in flight: owned by the api layer, freed when the reply is sent. */
struct api_call {
    struct api *api;
    struct http_req *r;
    struct api_client client;
    const char *route;
    char path_id[24]; /* the {id} segment, when the route has one */
    void (*db_cb)(struct api_call *c, const PGresult *res);
    char muni[8]; /* a handler's municipality while a statement runs */
    char token_hash[65];
    /* The client came from the auth cache and no statement has proven it yet: statements carry
     * api.client_assert, and a reply made before any statement waits for a fresh lookup. */
    bool auth_unproven;
    char auth_cert[65]; /* the cached client's bound certificate, "" when none */
    int held_status;
    char *held_body; /* a reply waiting for that lookup */
    /* The statement writes (api_post of a write): it goes through db_submit_write, and a reply
     * that cannot know whether it committed is 504 outcome_unknown, never "retry". */
    bool write;
};

struct api_runs;
/* conninfo: the resolved one, for the accrual worker's own connection. */
struct api *api_new(struct event_base *base, struct db_pool *pool, const struct rb_config *cfg,
                    const char *conninfo);
struct api_runs *api_runs_of(struct api *api);
/* The server the api answers for (for limits and TLS facts such as client certificates). */
void api_set_http(struct api *api, struct http_server *http);
/* Until the database role is checked (main.c, db_role.h), every request that needs the database
 * is answered 503 and /readyz is not ready. Checked by default. */
void api_set_role_checked(struct api *api, bool checked);
/* The chart of accounts for SIE exports: defaults with the sie_chart key's overrides. */
struct ledger_chart;
void api_chart(const struct api *api, struct ledger_chart *out);
void api_free(struct api *api);
/* The http_handler for every request. */
void api_handle(struct http_req *r, void *arg);

bool api_client_all_scope(const struct api_client *c);
/* Runs api.post(op, …) with args as the operation's input, and replies with its answer. */
void api_post(struct api_call *c, const char *op, json_t *args);
/* Hex SHA-256 over method, path and body: what an Idempotency-Key is bound to (65 bytes). */
void api_request_hash(struct api_call *c, char *out);
/* Runs a statement returning one row (status, body, location) and replies with it. */
void api_query(struct api_call *c, const struct db_stmt *stmt, const char *const *params);
/* Runs a statement; on success cb gets the result (the pool owns it), on failure the request is
 * answered with 503/500 and cb is not called. */
void api_db(struct api_call *c, const struct db_stmt *stmt, const char *const *params,
            void (*cb)(struct api_call *c, const PGresult *res));
/* A streamed statement for c (db_submit_stream), with the client assertion while the client is
 * unproven; on anything but DB_OK nothing was queued. See api_stream.h. */
enum db_status api_db_stream(struct api_call *c, const struct db_stmt *stmt,
                             const char *const *params, db_row_cb row, db_cb done, void *arg,
                             struct db_stream **stream);
/* Answers a statement that failed (or was never run) with 503/500, or serves the request again
 * from a fresh token lookup when the cached client was refused (RB401); frees c. */
void api_db_failed(struct api_call *c, enum db_status st, const PGresult *res);
/* The request body as a JSON object with only the allowed members; replies and returns NULL on
 * failure. Caller decrefs. */
json_t *api_body_object(struct api_call *c, const char *const *allowed);
/* Fills values[i] for the NULL-terminated names from the query string; unknown or repeated
 * parameters are answered with 400. On success the caller clears q (evhttp_clear_headers). */
bool api_params_parse(struct api_call *c, struct evkeyvalq *q, const char *const *names,
                      const char **values);
/* bad (a parameter's name) non-NULL: clears q and answers 400 `code` naming it, and returns true
 * (the handler returns); NULL: false. */
bool api_query_refused(struct api_call *c, struct evkeyvalq *q, const char *code,
                       const char *message, const char *bad);
bool api_scope_municipality(struct api_call *c, const char *asked, const char **out);
/* A create or record for `muni`: false (and 403 answered) unless the client's scope covers it. */
bool api_may_write(struct api_call *c, const char *muni);
void api_reply_error(struct api_call *c, int status, const char *code, const char *message,
                     const char *field);
void api_reply_jc(struct api_call *c, const struct jc_error *err);
void api_reply_json(struct api_call *c, int status, const char *body);

#endif
