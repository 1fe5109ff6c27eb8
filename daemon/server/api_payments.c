/* api_payments: the daemon validates shapes (and a whole CSV file, listing every bad line); the
 * database records the payment, skips lines it already has, and posts the journal, in one
 * transaction. */
#include "api_handlers.h"

#include "accrual.h"
#include "api_stream.h"
#include "civil_date.h"
#include "json_error.h"
#include "payments_csv.h"
#include "token.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFERENCE_MAX 64
#define LINES_MAX 200000

static const struct db_stmt recon_stmt = {
    "rb_reconciliation",
    "SELECT status, body, location FROM api.reconciliation($1, $2, $3::date, "
    "coalesce($4::timestamptz, api.safe_now()), $5)",
    5};

static const struct db_stmt recon_csv_stmt = {
    "rb_reconciliation_csv",
    "SELECT line FROM api.reconciliation_csv($1, $2, $3::date, "
    "coalesce($4::timestamptz, api.safe_now())) AS line",
    4};

/* "YYYY-MM" → the month's first day as "YYYY-MM-01". */
static bool month_parse(const char *s, char *out)
{
    char d[CIVIL_DATE_LEN + 1];
    int32_t day;
    if (s == NULL || strlen(s) != 7)
        return false;
    snprintf(d, sizeof d, "%s-01", s);
    if (!civil_parse(d, strlen(d), &day))
        return false;
    memcpy(out, d, CIVIL_DATE_LEN + 1);
    return true;
}

static bool json_month(json_t *obj, const char *field, bool required, char *out,
                       struct jc_error *err)
{
    const char *s;
    if (!jc_get_string(obj, field, required, 7, &s, err))
        return false;
    out[0] = '\0';
    if (s != NULL && !month_parse(s, out)) {
        jc_fail(err, 422, "invalid_field", field, "field '%s' must be a month as YYYY-MM", field);
        return false;
    }
    return true;
}

/* One line of a manual payment, normalised for the database. */
static json_t *payment_line(json_t *line, size_t i, struct jc_error *err)
{
    static const char *const allowed[] = {"dossier_number", "month", "code", "amount_ore", NULL};
    static const char *const codes[] = {"ALLOCATION_PLACE", "MOVE_IN",        "DAY_CHILD",
                                        "DAY_ADULT",        "DAY_FORMER_UAM", NULL};
    const char *dossier, *code;
    char month[CIVIL_DATE_LEN + 1];
    int64_t amount;
    if (!json_is_object(line)) {
        jc_fail(err, 422, "invalid_field", "lines", "lines[%zu] must be an object", i);
        return NULL;
    }
    if (!jc_only_fields(line, allowed, err) ||
        !jc_get_string(line, "dossier_number", false, 32, &dossier, err) ||
        !json_month(line, "month", true, month, err) ||
        !jc_get_enum(line, "code", true, codes, &code, err) ||
        !jc_get_int(line, "amount_ore", true, -PAYMENTS_AMOUNT_MAX, PAYMENTS_AMOUNT_MAX, &amount,
                    NULL, err)) {
        char field[sizeof err->field + 32];
        snprintf(field, sizeof field, "lines[%zu].%s", i, err->field);
        snprintf(err->field, sizeof err->field, "%.63s", field);
        return NULL;
    }
    if ((dossier == NULL) != (strcmp(code, "ALLOCATION_PLACE") == 0)) {
        jc_fail(err, 422, "invalid_field", "lines",
                "lines[%zu]: a dossier_number is required "
                "except on ALLOCATION_PLACE lines, which have none",
                i);
        return NULL;
    }
    return json_pack("{s:s?, s:s, s:s, s:I}", "dossier_number", dossier, "month", month, "code",
                     code, "amount_ore", (json_int_t)amount);
}

void api_payment_create(struct api_call *c)
{
    static const char *const allowed[] = {"municipality", "paid_on", "amount_ore", "reference",
                                          "month",        "lines",   NULL};
    struct jc_error err;
    char muni[5], month[CIVIL_DATE_LEN + 1];
    const char *reference;
    int32_t d;
    int64_t amount;
    json_t *body = api_body_object(c, allowed);
    if (body == NULL)
        return;
    json_t *lines = json_object_get(body, "lines");
    json_t *norm = json_array();
    bool ok = jc_get_municipality(body, "municipality", true, muni, &err) &&
              jc_get_date(body, "paid_on", true, &d, NULL, &err) &&
              jc_get_int(body, "amount_ore", true, -PAYMENTS_AMOUNT_MAX, PAYMENTS_AMOUNT_MAX,
                         &amount, NULL, &err) &&
              jc_get_string(body, "reference", true, REFERENCE_MAX, &reference, &err) &&
              json_month(body, "month", false, month, &err);
    if (ok && lines != NULL && !json_is_null(lines)) {
        if (!json_is_array(lines) || json_array_size(lines) > LINES_MAX) {
            jc_fail(&err, 422, "invalid_field", "lines", "lines must be an array");
            ok = false;
        }
        for (size_t i = 0; ok && i < json_array_size(lines); i++) {
            json_t *l = payment_line(json_array_get(lines, i), i, &err);
            ok = l != NULL;
            if (ok)
                json_array_append_new(norm, l);
        }
    }
    if (!ok) {
        json_decref(norm);
        json_decref(body);
        api_reply_jc(c, &err);
        return;
    }
    if (!api_may_write(c, muni)) {
        json_decref(norm);
        json_decref(body);
        return;
    }
    json_t *args =
        json_pack("{s:s, s:O, s:I, s:s, s:s?, s:o}", "municipality", muni, "paid_on",
                  json_object_get(body, "paid_on"), "amount_ore", (json_int_t)amount, "reference",
                  reference, "month", month[0] ? month : NULL, "lines", norm);
    json_decref(body);
    api_post(c, "payment_create", args);
    json_decref(args);
}

/* 422 with every bad line: {"error":{..., "details":{"lines":[{line, field, message}]}}}. */
static void reply_csv_errors(struct api_call *c, int status, const char *code, const char *msg,
                             const struct payments_csv_result *res, json_t *extra)
{
    json_t *lines = extra ? extra : json_array();
    for (size_t i = 0; res != NULL && i < res->nerrors; i++)
        json_array_append_new(
            lines, json_pack("{s:I, s:s?, s:s}", "line", (json_int_t)res->errors[i].line, "field",
                             res->errors[i].field, "message", res->errors[i].message));
    json_t *details = json_pack("{s:o, s:I}", "lines", lines, "errors_total",
                                (json_int_t)(res ? res->errors_total : json_array_size(lines)));
    char *text = details ? json_error_body(code, msg, NULL, details) : NULL;
    if (text == NULL) {
        api_reply_error(c, 500, "internal", "out of memory", NULL);
        return;
    }
    api_reply_json(c, status, text);
    free(text);
}

static json_t *csv_line_json(const struct payments_csv_line *l)
{
    char month[CIVIL_DATE_LEN + 1], paid[CIVIL_DATE_LEN + 1];
    civil_format(l->month, month);
    civil_format(l->paid_on, paid);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "line", (json_int_t)l->line,
                     "municipality", l->municipality, "dossier_number", l->dossier_number, "month",
                     month, "code", accrual_code_name(l->code), "amount_ore",
                     (json_int_t)l->amount_ore, "paid_on", paid, "reference", l->reference);
}

void api_payment_import(struct api_call *c)
{
    struct payments_csv_result res;
    size_t len;
    char hash[TOKEN_HASH_HEX_LEN + 1];
    const char *type = http_req_header(c->r, "Content-Type");
    if (type == NULL ||
        (strncmp(type, "text/csv", 8) != 0 && strncmp(type, "application/csv", 15) != 0)) {
        api_reply_error(c, 415, "unsupported_media_type", "send the payment list as text/csv",
                        NULL);
        return;
    }
    const char *body = http_req_body(c->r, &len);
    memset(&res, 0, sizeof res);
    if (!payments_csv_parse(body, len, &res)) {
        if (res.oom)
            api_reply_error(c, 503, "overloaded", "out of memory while reading the file", NULL);
        else
            reply_csv_errors(c, 422, "invalid_payment_list",
                             "the payment list has bad lines; nothing was imported", &res, NULL);
        payments_csv_free(&res);
        return;
    }
    json_t *scope_errors = json_array();
    for (size_t i = 0; i < res.nlines && !api_client_all_scope(&c->client); i++)
        if (strcmp(res.lines[i].municipality, c->client.scope) != 0)
            json_array_append_new(
                scope_errors,
                json_pack("{s:I, s:s, s:s}", "line", (json_int_t)res.lines[i].line, "field",
                          "municipality", "message",
                          "this client may not import payments for that municipality"));
    if (json_array_size(scope_errors) > 0) {
        payments_csv_free(&res);
        reply_csv_errors(c, 403, "forbidden",
                         "the list has lines of another municipality; nothing was imported", NULL,
                         scope_errors);
        return;
    }
    json_decref(scope_errors);
    token_sha256_hex(body, len, hash);
    json_t *lines = json_array();
    for (size_t i = 0; i < res.nlines; i++)
        json_array_append_new(lines, csv_line_json(&res.lines[i]));
    payments_csv_free(&res);
    json_t *args = json_pack("{s:s, s:o}", "sha256", hash, "lines", lines);
    api_post(c, "payment_import", args);
    json_decref(args);
}

/* One CSV line per row, as it comes (api_stream.h), each ended with CRLF. */
static void on_recon_csv_row(struct api_stream *s, const PGresult *row)
{
    api_stream_write(s, PQgetvalue(row, 0, 0), (size_t)PQgetlength(row, 0, 0));
    api_stream_write(s, "\r\n", 2);
}

static void on_recon_csv_end(struct api_stream *s)
{
    (void)s;
}

static const struct api_stream_ops recon_csv_ops = {"text/csv; charset=utf-8", on_recon_csv_row,
                                                    on_recon_csv_end, NULL};

static const char reconciliation_usage[] =
    "municipality (4 digits) and month (YYYY-MM) are required; format is json or csv; "
    "as_known_at an RFC 3339 timestamp";

void api_reconciliation(struct api_call *c)
{
    static const char *const names[] = {"municipality", "month", "format", "as_known_at", NULL};
    enum { MUNI, MONTH, FORMAT, AT };
    const char *v[4], *muni;
    char month[CIVIL_DATE_LEN + 1], at[48] = "";
    struct evkeyvalq q;
    if (!api_params_parse(c, &q, names, v))
        return;
    bool csv = v[FORMAT] != NULL && strcmp(v[FORMAT], "csv") == 0;
    const char *bad = v[MUNI] == NULL || !api_municipality_valid(v[MUNI]) ? "municipality"
                      : !month_parse(v[MONTH], month)                     ? "month"
                      : (v[FORMAT] != NULL && !csv && strcmp(v[FORMAT], "json") != 0) ? "format"
                                                                                      : NULL;
    if (bad == NULL && v[AT] != NULL) {
        snprintf(at, sizeof at, "%s", v[AT]);
        if (!api_timestamp_valid(at))
            bad = "as_known_at";
    }
    if (api_query_refused(c, &q, "invalid_query", reconciliation_usage, bad))
        return;
    if (api_scope_municipality(c, v[MUNI], &muni)) {
        const char *params[5] = {c->client.scope, muni, month, at[0] ? at : NULL,
                                 csv ? "csv" : "json"};
        if (csv)
            api_stream_run(c, &recon_csv_stmt, params, &recon_csv_ops, NULL);
        else
            api_query(c, &recon_stmt, params);
    }
    evhttp_clear_headers(&q);
}
