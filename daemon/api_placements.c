/* api_placements: shape checks for placement requests; the rules that need the stored facts
 * (person, overlap, move order) run in the database in the same transaction as the write. */
#include "api_placements.h"

#include "civil_date.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOSSIER_MAX 32

static const struct db_stmt get_stmt = {
    "rb_placement_get", "SELECT status, body, location FROM api.placement_get($1, $2)", 2};
static const struct db_stmt list_stmt = {
    "rb_placement_list",
    "SELECT status, body, location FROM api.placement_list($1, $2, $3, $4, $5)", 5};

static const char *const move_out_reasons[] = {
    "other_municipality", "left_country", "own_housing", "registered", "deceased", "other", NULL};

/* Dossier numbers: letters, digits and '-', at most 32 characters. */
static bool dossier_check(json_t *body, struct jc_error *err)
{
    const char *d;
    if (!jc_get_string(body, "dossier_number", true, DOSSIER_MAX, &d, err))
        return false;
    for (const char *p = d; *p != '\0'; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              *p == '-')) {
            jc_fail(err, 422, "invalid_field", "dossier_number",
                    "field 'dossier_number' may hold only letters, digits and '-'");
            return false;
        }
    }
    return true;
}

/* Parses the body as a JSON object with only the allowed members; replies on failure. */
static json_t *body_object(struct api_call *c, const char *const *allowed)
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

/* Path ids are positive decimal integers; anything else cannot name a placement. */
static bool id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 18 || id[0] == '0')
        return false;
    return strspn(id, "0123456789") == n;
}

void api_placement_create(struct api_call *c)
{
    static const char *const allowed[] = {
        "dossier_number", "birth_date",  "former_uam", "municipality",
        "assigned_on",    "moved_in_on", NULL};
    struct jc_error err;
    char muni[5];
    int32_t d;
    bool b, present;
    json_t *body = body_object(c, allowed);
    if (body == NULL)
        return;
    if (!dossier_check(body, &err) || !jc_get_date(body, "birth_date", true, &d, NULL, &err) ||
        !jc_get_bool(body, "former_uam", false, &b, &present, &err) ||
        !jc_get_municipality(body, "municipality", true, muni, &err) ||
        !jc_get_date(body, "assigned_on", true, &d, NULL, &err) ||
        !jc_get_date(body, "moved_in_on", false, &d, &present, &err)) {
        json_decref(body);
        api_reply_jc(c, &err);
        return;
    }
    if (!api_client_all_scope(&c->client) && strcmp(muni, c->client.scope) != 0) {
        json_decref(body);
        api_reply_error(c, 403, "forbidden",
                        "this client may not record placements for that municipality",
                        "municipality");
        return;
    }
    api_post(c, "placement_create", body);
    json_decref(body);
}

void api_placement_get(struct api_call *c)
{
    if (!id_valid(c->path_id)) {
        api_reply_error(c, 404, "not_found", "no such placement", NULL);
        return;
    }
    const char *params[2] = {c->client.scope, c->path_id};
    api_query(c, &get_stmt, params);
}

/* Builds the operation's input from the body and the placement id in the path. */
static void move(struct api_call *c, const char *op, bool with_reason)
{
    static const char *const allowed_in[] = {"date", NULL};
    static const char *const allowed_out[] = {"date", "reason", NULL};
    struct jc_error err;
    int32_t d;
    const char *reason;
    if (!id_valid(c->path_id)) {
        api_reply_error(c, 404, "not_found", "no such placement", NULL);
        return;
    }
    json_t *body = body_object(c, with_reason ? allowed_out : allowed_in);
    if (body == NULL)
        return;
    if (!jc_get_date(body, "date", true, &d, NULL, &err) ||
        (with_reason && !jc_get_enum(body, "reason", true, move_out_reasons, &reason, &err))) {
        json_decref(body);
        api_reply_jc(c, &err);
        return;
    }
    json_object_set_new(body, "id", json_string(c->path_id));
    api_post(c, op, body);
    json_decref(body);
}

void api_placement_move_in(struct api_call *c)
{
    move(c, "placement_move_in", false);
}

void api_placement_move_out(struct api_call *c)
{
    move(c, "placement_move_out", true);
}

void api_placement_search(struct api_call *c)
{
    static const char *const allowed[] = {"dossier_number", NULL};
    struct jc_error err;
    json_t *body = body_object(c, allowed);
    if (body == NULL)
        return;
    if (!dossier_check(body, &err)) {
        json_decref(body);
        api_reply_jc(c, &err);
        return;
    }
    api_post(c, "placement_search", body);
    json_decref(body);
}

struct list_query {
    const char *municipality, *active_on, *cursor, *limit;
};

/* Reads the list's query string; unknown or repeated parameters are refused. */
static bool list_query_parse(struct evkeyvalq *q, struct list_query *out, char *why, size_t n)
{
    struct evkeyval *kv;
    memset(out, 0, sizeof *out);
    TAILQ_FOREACH(kv, q, next)
    {
        const char **slot = strcmp(kv->key, "municipality") == 0 ? &out->municipality
                            : strcmp(kv->key, "active_on") == 0  ? &out->active_on
                            : strcmp(kv->key, "cursor") == 0     ? &out->cursor
                            : strcmp(kv->key, "limit") == 0      ? &out->limit
                                                                 : NULL;
        if (slot == NULL || *slot != NULL) {
            snprintf(why, n, "unknown or repeated query parameter");
            return false;
        }
        *slot = kv->value;
    }
    return true;
}

void api_placement_list(struct api_call *c)
{
    struct evkeyvalq q;
    struct list_query lq;
    char why[96], limit[12] = "100";
    int32_t d;
    const char *query = http_req_query(c->r);

    TAILQ_INIT(&q);
    if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
        api_reply_error(c, 400, "invalid_query", "the query string cannot be parsed", NULL);
        return;
    }
    if (!list_query_parse(&q, &lq, why, sizeof why)) {
        evhttp_clear_headers(&q);
        api_reply_error(c, 400, "invalid_query", why, NULL);
        return;
    }
    const char *err_field = NULL;
    if (lq.municipality != NULL &&
        (strlen(lq.municipality) != 4 || strspn(lq.municipality, "0123456789") != 4))
        err_field = "municipality";
    else if (lq.active_on != NULL && !civil_parse(lq.active_on, strlen(lq.active_on), &d))
        err_field = "active_on";
    else if (lq.limit != NULL) {
        char *end;
        long n = strtol(lq.limit, &end, 10);
        if (*lq.limit == '\0' || *end != '\0' || n < 1 || n > 1000)
            err_field = "limit";
        else
            snprintf(limit, sizeof limit, "%ld", n);
    }
    if (err_field == NULL && lq.cursor != NULL && strlen(lq.cursor) > 64) {
        evhttp_clear_headers(&q);
        api_reply_error(c, 400, "invalid_cursor", "the cursor is not valid", "cursor");
        return;
    }
    if (err_field != NULL) {
        evhttp_clear_headers(&q);
        api_reply_error(c, 400, "invalid_query",
                        "a query parameter has a bad value (municipality: 4 digits, active_on: "
                        "YYYY-MM-DD, limit: 1 to 1000)",
                        err_field);
        return;
    }
    const char *muni = lq.municipality;
    if (!api_client_all_scope(&c->client)) {
        if (muni != NULL && strcmp(muni, c->client.scope) != 0) {
            evhttp_clear_headers(&q);
            api_reply_error(c, 403, "forbidden", "this client may not list that municipality",
                            "municipality");
            return;
        }
        muni = c->client.scope;
    }
    const char *params[5] = {c->client.scope, muni, lq.active_on, lq.cursor, limit};
    api_query(c, &list_stmt, params);
    evhttp_clear_headers(&q);
}
