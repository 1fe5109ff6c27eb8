/* api: routing, authentication and the bridge from HTTP requests to the database's api schema. */
#ifndef RB_API_H
#define RB_API_H

#include "config.h"
#include "db.h"
#include "http.h"
#include "json_check.h"

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
};

struct api *api_new(struct db_pool *pool, const struct rb_config *cfg);
void api_free(struct api *api);
/* The http_handler for every request. */
void api_handle(struct http_req *r, void *arg);

bool api_client_all_scope(const struct api_client *c);
/* Runs api.post(op, …) with args as the operation's input, and replies with its answer. */
void api_post(struct api_call *c, const char *op, json_t *args);
/* Runs a statement returning one row (status, body, location) and replies with it. */
void api_query(struct api_call *c, const struct db_stmt *stmt, const char *const *params);
void api_reply_error(struct api_call *c, int status, const char *code, const char *message,
                     const char *field);
void api_reply_jc(struct api_call *c, const struct jc_error *err);
void api_reply_json(struct api_call *c, int status, const char *body);

#endif
