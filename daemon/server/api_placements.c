/* api_placements: shape checks for placement requests; the rules that need the stored facts
 * (person, overlap, move order) run in the database in the same transaction as the write. */
#include "api_handlers.h"

#include "civil_date.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOSSIER_MAX 32
#define REASON_MAX 500

static const struct db_stmt get_stmt = {
    "rb_placement_get", "SELECT status, body, location FROM api.placement_get($1, $2)", 2};
static const struct db_stmt get_as_of_stmt = {
    "rb_placement_get_as_of",
    "SELECT status, body, location FROM api.placement_get_as_of($1, $2, $3::timestamptz)", 3};
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

void api_placement_create(struct api_call *c)
{
    static const char *const allowed[] = {
        "dossier_number", "birth_date",  "former_uam", "municipality",
        "assigned_on",    "moved_in_on", NULL};
    struct jc_error err;
    char muni[5];
    int32_t d;
    bool b, present;
    json_t *body = api_body_object(c, allowed);
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
    if (!api_may_write(c, muni)) {
        json_decref(body);
        return;
    }
    api_post(c, "placement_create", body);
    json_decref(body);
}

void api_placement_get(struct api_call *c)
{
    static const char *const names[] = {"as_known_at", NULL};
    const char *values[1];
    struct evkeyvalq q;
    char at[48];
    if (!api_id_valid(c->path_id)) {
        api_reply_error(c, 404, "not_found", "no such placement", NULL);
        return;
    }
    if (!api_params_parse(c, &q, names, values))
        return;
    if (values[0] == NULL) {
        evhttp_clear_headers(&q);
        api_query(c, &get_stmt, (const char *[]){c->client.scope, c->path_id});
        return;
    }
    snprintf(at, sizeof at, "%s", values[0]);
    evhttp_clear_headers(&q);
    if (!api_timestamp_valid(at)) {
        api_reply_error(c, 400, "invalid_query",
                        "as_known_at must be an RFC 3339 timestamp such as 2024-05-01T12:00:00Z",
                        "as_known_at");
        return;
    }
    api_query(c, &get_as_of_stmt, (const char *[]){c->client.scope, c->path_id, at});
}

/* Builds the operation's input from the body and the placement id in the path. */
static void move(struct api_call *c, const char *op, bool with_reason)
{
    static const char *const allowed_in[] = {"date", NULL};
    static const char *const allowed_out[] = {"date", "reason", NULL};
    struct jc_error err;
    int32_t d;
    const char *reason;
    if (!api_id_valid(c->path_id)) {
        api_reply_error(c, 404, "not_found", "no such placement", NULL);
        return;
    }
    json_t *body = api_body_object(c, with_reason ? allowed_out : allowed_in);
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

/* The corrected value in text form for the event: a date, a boolean, or null where allowed. */
static bool correction_value(json_t *body, const char *field, const char **out,
                             struct jc_error *err)
{
    json_t *v = json_object_get(body, "value");
    int32_t d;
    if (v == NULL) {
        jc_fail(err, 422, "missing_field", "value", "field 'value' is required");
        return false;
    }
    if (strcmp(field, "former_uam") == 0) {
        if (!json_is_boolean(v)) {
            jc_fail(err, 422, "invalid_field", "value", "former_uam takes true or false");
            return false;
        }
        *out = json_is_true(v) ? "true" : "false";
        return true;
    }
    if (json_is_null(v)) {
        if (strcmp(field, "moved_out_on") == 0 || strcmp(field, "registered_on") == 0) {
            *out = NULL;
            return true;
        }
        jc_fail(err, 422, "invalid_field", "value",
                "only moved_out_on and registered_on may be "
                "set back to null");
        return false;
    }
    if (!json_is_string(v) || !civil_parse(json_string_value(v), json_string_length(v), &d)) {
        jc_fail(err, 422, "invalid_date", "value", "value must be a real date as YYYY-MM-DD");
        return false;
    }
    *out = json_string_value(v);
    return true;
}

void api_placement_correct(struct api_call *c)
{
    static const char *const allowed[] = {"field", "value", "reason", NULL};
    static const char *const fields[] = {"birth_date",  "former_uam",   "assigned_on",
                                         "moved_in_on", "moved_out_on", "registered_on",
                                         NULL};
    struct jc_error err;
    const char *field, *value = NULL, *reason;
    if (!api_id_valid(c->path_id)) {
        api_reply_error(c, 404, "not_found", "no such placement", NULL);
        return;
    }
    json_t *body = api_body_object(c, allowed);
    if (body == NULL)
        return;
    if (!jc_get_enum(body, "field", true, fields, &field, &err) ||
        !correction_value(body, field, &value, &err) ||
        !jc_get_string(body, "reason", true, REASON_MAX, &reason, &err)) {
        json_decref(body);
        api_reply_jc(c, &err);
        return;
    }
    json_t *args = json_pack("{s:s, s:s, s:s?, s:s}", "id", c->path_id, "field", field, "value",
                             value, "reason", reason);
    json_decref(body);
    if (args == NULL) {
        api_reply_error(c, 500, "internal", "out of memory", NULL);
        return;
    }
    api_post(c, "placement_correct", args);
    json_decref(args);
}

void api_placement_search(struct api_call *c)
{
    static const char *const allowed[] = {"dossier_number", NULL};
    struct jc_error err;
    json_t *body = api_body_object(c, allowed);
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

void api_placement_list(struct api_call *c)
{
    static const char *const names[] = {"municipality", "active_on", "cursor", "limit", NULL};
    enum { MUNI, ACTIVE, CURSOR, LIMIT };
    const char *v[4];
    struct evkeyvalq q;
    char limit[12];
    int32_t d;
    const char *bad = NULL, *muni;

    if (!api_params_parse(c, &q, names, v))
        return;
    if (v[MUNI] != NULL && !api_municipality_valid(v[MUNI]))
        bad = "municipality";
    else if (v[ACTIVE] != NULL && !civil_parse(v[ACTIVE], strlen(v[ACTIVE]), &d))
        bad = "active_on";
    else if (!api_limit_parse(v[LIMIT], limit, sizeof limit))
        bad = "limit";
    if (bad == NULL && v[CURSOR] != NULL && !api_cursor_valid(v[CURSOR])) {
        evhttp_clear_headers(&q);
        api_reply_error(c, 400, "invalid_cursor", "the cursor is not valid", "cursor");
        return;
    }
    if (api_query_refused(c, &q, "invalid_query",
                          "a query parameter has a bad value (municipality: 4 digits, active_on: "
                          "YYYY-MM-DD, limit: 1 to 1000)",
                          bad))
        return;
    if (!api_scope_municipality(c, v[MUNI], &muni)) {
        evhttp_clear_headers(&q);
        return;
    }
    api_query(c, &list_stmt, (const char *[]){c->client.scope, muni, v[ACTIVE], v[CURSOR], limit});
    evhttp_clear_headers(&q);
}
