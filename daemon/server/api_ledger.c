/* api_ledger: the money endpoints. Amounts owed for one placement are computed here by the same
 * pure engine the accrual run uses, so what the API shows and what the ledger posts cannot
 * differ. */
#include "api_handlers.h"

#include "accrual.h"
#include "api_stream.h"
#include "civil_date.h"
#include "log.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt rates_stmt = {"rb_rates_list",
                                          "SELECT status, body, location FROM api.rates_list()", 0};
static const struct db_stmt allocations_stmt = {
    "rb_allocations_list",
    "SELECT status, body, location FROM api.allocations_list($1, $2, $3::int)", 3};
static const struct db_stmt entries_stream_stmt = {
    "rb_ledger_entries_stream",
    "SELECT kind, body, next_cursor FROM api.ledger_entries_stream($1, $2, $3::date, $4::date, "
    "$5, $6, $7::int)",
    7};
static const struct db_stmt balance_stmt = {
    "rb_balance",
    "SELECT status, body, location FROM api.balance($1, $2, CASE WHEN length($3) = 10 THEN "
    "(($3::date + 1)::timestamp AT TIME ZONE 'Europe/Stockholm') - interval '1 microsecond' "
    "ELSE coalesce($3::timestamptz, api.safe_now()) END)",
    3};
static const struct db_stmt accrual_input_stmt = {"rb_placement_accrual_input",
                                                  "SELECT api.placement_accrual_input($1, $2)", 2};

void api_rates_list(struct api_call *c)
{
    api_query(c, &rates_stmt, NULL);
}

void api_rate_create(struct api_call *c)
{
    static const char *const allowed[] = {"code", "valid_from", "amount_ore", "note", NULL};
    static const char *const codes[] = {"ALLOCATION_PLACE", "MOVE_IN",        "DAY_CHILD",
                                        "DAY_ADULT",        "DAY_FORMER_UAM", NULL};
    struct jc_error err;
    const char *code, *note;
    int32_t d;
    int64_t amount;
    bool present;
    json_t *body = api_body_object(c, allowed);
    if (body == NULL)
        return;
    if (!jc_get_enum(body, "code", true, codes, &code, &err) ||
        !jc_get_date(body, "valid_from", true, &d, NULL, &err) ||
        !jc_get_int(body, "amount_ore", false, 0, 100000000000LL, &amount, &present, &err) ||
        !jc_get_string(body, "note", false, 500, &note, &err)) {
        json_decref(body);
        api_reply_jc(c, &err);
        return;
    }
    if (json_object_get(body, "amount_ore") == NULL) {
        json_decref(body);
        api_reply_error(c, 422, "missing_field",
                        "field 'amount_ore' is required (null ends the rate)", "amount_ore");
        return;
    }
    api_post(c, "rate_create", body);
    json_decref(body);
}

void api_allocation_create(struct api_call *c)
{
    static const char *const allowed[] = {"municipality", "year", "places", "decided_on", NULL};
    struct jc_error err;
    char muni[5];
    int64_t n;
    int32_t d;
    json_t *body = api_body_object(c, allowed);
    if (body == NULL)
        return;
    if (!jc_get_municipality(body, "municipality", true, muni, &err) ||
        !jc_get_int(body, "year", true, 2022, 2100, &n, NULL, &err) ||
        !jc_get_int(body, "places", true, 0, 1000000, &n, NULL, &err) ||
        !jc_get_date(body, "decided_on", true, &d, NULL, &err)) {
        json_decref(body);
        api_reply_jc(c, &err);
        return;
    }
    if (!api_client_all_scope(&c->client) && strcmp(muni, c->client.scope) != 0) {
        json_decref(body);
        api_reply_error(c, 403, "forbidden",
                        "an allocation for another municipality needs national scope ('*')",
                        "municipality");
        return;
    }
    api_post(c, "allocation_create", body);
    json_decref(body);
}

void api_allocations_list(struct api_call *c)
{
    static const char *const names[] = {"municipality", "year", NULL};
    const char *v[2], *muni;
    struct evkeyvalq q;
    if (!api_params_parse(c, &q, names, v))
        return;
    if ((v[0] != NULL && !api_municipality_valid(v[0])) ||
        (v[1] != NULL && (strlen(v[1]) != 4 || strspn(v[1], "0123456789") != 4))) {
        evhttp_clear_headers(&q);
        api_reply_error(c, 400, "invalid_query",
                        "municipality is 4 digits and year is a 4-digit year", NULL);
        return;
    }
    if (api_scope_municipality(c, v[0], &muni))
        api_query(c, &allocations_stmt, (const char *[]){c->client.scope, muni, v[1]});
    evhttp_clear_headers(&q);
}

/* A page of entries written item by item: the bytes api.ledger_entries would give. */
struct entries_page {
    long limit, n;
    char last_cursor[48];
};

static void on_entry_row(struct api_stream *s, const PGresult *row)
{
    struct entries_page *pg = api_stream_state(s);
    if (PQgetvalue(row, 0, 0)[0] == 'e') {
        api_stream_reply_json(s, 400, PQgetvalue(row, 0, 1));
        return;
    }
    if (pg->n++ == 0)
        api_stream_write(s, "{\"items\" : [", 12);
    else
        api_stream_write(s, ", ", 2);
    api_stream_write(s, PQgetvalue(row, 0, 1), (size_t)PQgetlength(row, 0, 1));
    snprintf(pg->last_cursor, sizeof pg->last_cursor, "%s", PQgetvalue(row, 0, 2));
}

static void on_entries_end(struct api_stream *s)
{
    struct entries_page *pg = api_stream_state(s);
    char tail[96];
    if (pg->n == pg->limit)
        snprintf(tail, sizeof tail, "], \"next_cursor\" : \"%s\"}", pg->last_cursor);
    else
        snprintf(tail, sizeof tail, "], \"next_cursor\" : null}");
    if (pg->n == 0)
        api_stream_write(s, "{\"items\" : [", 12);
    api_stream_write(s, tail, strlen(tail));
}

static const struct api_stream_ops entries_ops = {"application/json; charset=utf-8", on_entry_row,
                                                  on_entries_end, free};

/* The first query parameter of GET /v1/ledger/entries with a bad value, or NULL; limit gets the
 * page size. */
static const char *entries_bad(const char *const *v, char *limit, size_t limit_len)
{
    enum { MUNI, FROM, TO, CODE, CURSOR, LIMIT };
    int32_t d;
    enum accrual_code code;
    if (v[MUNI] != NULL && !api_municipality_valid(v[MUNI]))
        return "municipality";
    if (v[FROM] != NULL && !civil_parse(v[FROM], strlen(v[FROM]), &d))
        return "from";
    if (v[TO] != NULL && !civil_parse(v[TO], strlen(v[TO]), &d))
        return "to";
    if (v[CODE] != NULL && !accrual_code_parse(v[CODE], &code))
        return "code";
    if (!api_limit_parse(v[LIMIT], limit, limit_len))
        return "limit";
    if (v[CURSOR] != NULL && !api_cursor_valid(v[CURSOR]))
        return "cursor";
    return NULL;
}

void api_ledger_entries(struct api_call *c)
{
    static const char *const names[] = {"municipality", "from",  "to", "code",
                                        "cursor",       "limit", NULL};
    enum { MUNI, FROM, TO, CODE, CURSOR, LIMIT };
    const char *v[6], *muni;
    char limit[12];
    struct evkeyvalq q;
    if (!api_params_parse(c, &q, names, v))
        return;
    const char *bad = entries_bad(v, limit, sizeof limit);
    if (api_query_refused(c, &q,
                          bad && strcmp(bad, "cursor") == 0 ? "invalid_cursor" : "invalid_query",
                          "a query parameter has a bad value", bad))
        return;
    struct entries_page *pg = NULL;
    if (api_scope_municipality(c, v[MUNI], &muni)) {
        pg = calloc(1, sizeof *pg);
        if (pg == NULL) {
            evhttp_clear_headers(&q);
            api_reply_error(c, 503, "overloaded", "out of memory; retry", NULL);
            return;
        }
        pg->limit = strtol(limit, NULL, 10);
        api_stream_run(
            c, &entries_stream_stmt,
            (const char *[]){c->client.scope, muni, v[FROM], v[TO], v[CODE], v[CURSOR], limit},
            &entries_ops, pg);
    }
    evhttp_clear_headers(&q);
}

void api_balance(struct api_call *c)
{
    static const char *const names[] = {"as_of", NULL};
    const char *v[1], *muni;
    struct evkeyvalq q;
    int32_t d;
    char as_of[48] = "";
    if (!api_municipality_valid(c->path_id)) {
        api_reply_error(c, 404, "not_found", "no such municipality", NULL);
        return;
    }
    if (!api_params_parse(c, &q, names, v))
        return;
    if (v[0] != NULL)
        snprintf(as_of, sizeof as_of, "%s", v[0]);
    evhttp_clear_headers(&q);
    /* A date means the end of that day in Stockholm; else an RFC 3339 timestamp. */
    if (as_of[0] != '\0' && !civil_parse(as_of, strlen(as_of), &d) && !api_timestamp_valid(as_of)) {
        api_reply_error(c, 400, "invalid_query",
                        "as_of is a date (YYYY-MM-DD) or an RFC 3339 timestamp", "as_of");
        return;
    }
    if (!api_scope_municipality(c, c->path_id, &muni))
        return;
    api_query(c, &balance_stmt,
              (const char *[]){c->client.scope, c->path_id, as_of[0] ? as_of : NULL});
}

/* ---- one placement's accruals: the engine against what is posted ---- */

static int32_t json_date(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    int32_t d;
    if (!json_is_string(v) || !civil_parse(json_string_value(v), json_string_length(v), &d))
        return ACCRUAL_NO_DAY;
    return d;
}

/* Rates from JSON rows (ordered by code, valid_from) into per-code arrays. */
static bool schedule_from_json(json_t *rates, struct accrual_rate *buf, size_t cap,
                               struct accrual_schedule *s)
{
    size_t used = 0, i;
    json_t *row;
    memset(s, 0, sizeof *s);
    for (int code = 0; code < ACCRUAL_CODES; code++) {
        s->rows[code] = buf + used;
        json_array_foreach(rates, i, row)
        {
            enum accrual_code rc;
            if (!accrual_code_parse(json_string_value(json_object_get(row, "code")), &rc) ||
                (int)rc != code)
                continue;
            if (used == cap)
                return false;
            json_t *amount = json_object_get(row, "amount_ore");
            int32_t to = json_date(row, "valid_to");
            buf[used++] = (struct accrual_rate){
                json_date(row, "valid_from"), to == ACCRUAL_NO_DAY ? ACCRUAL_OPEN : to,
                json_is_integer(amount), json_integer_value(amount)};
            s->n[code]++;
        }
    }
    return true;
}

static json_t *line_json(int32_t month, const char *code, int32_t days, int64_t owed,
                         int64_t posted)
{
    char m[CIVIL_DATE_LEN + 1];
    civil_format(month, m);
    m[7] = '\0';
    return json_pack("{s:s, s:s, s:i, s:I, s:I}", "month", m, "code", code, "days", (int)days,
                     "owed_ore", (json_int_t)owed, "posted_ore", (json_int_t)posted);
}

/* The first day of a posted row's month ("YYYY-MM"), or false when it cannot be read. */
static bool posted_month(json_t *row, int32_t *month)
{
    const char *m = json_string_value(json_object_get(row, "month"));
    char d[CIVIL_DATE_LEN + 1];
    snprintf(d, sizeof d, "%.7s-01", m ? m : "");
    return civil_parse(d, strlen(d), month);
}

/* The posted rows as entries sorted for the merge, each with its row's index as id; rows whose
 * month cannot be read are left out (they match nothing and are not shown). */
static struct accrual_posted *posted_entries(json_t *posted, size_t *n)
{
    struct accrual_posted *p = calloc(json_array_size(posted) + 1, sizeof *p);
    size_t i;
    json_t *row;
    *n = 0;
    json_array_foreach(posted, i, row)
    {
        const char *code = json_string_value(json_object_get(row, "code"));
        struct accrual_posted e = {(long long)i, 0, ACCRUAL_CODES,
                                   json_integer_value(json_object_get(row, "amount_ore"))};
        if (p == NULL || !posted_month(row, &e.month))
            continue;
        if (code == NULL || !accrual_code_parse(code, &e.code))
            e.code = ACCRUAL_CODES; /* matches no owed line */
        p[(*n)++] = e;
    }
    if (p != NULL)
        qsort(p, *n, sizeof *p, accrual_posted_cmp);
    return p;
}

/* The engine's lines, each with what is posted for its (month, code) (accrual_merge_next), then
 * the posted rows the engine no longer owes (a reclaim not yet posted), in their order; NULL
 * when out of memory. *range turns false when a total does not fit in int64. */
static json_t *accrual_lines(const struct accrual_line *owed, size_t n, json_t *posted,
                             int64_t *total_owed, int64_t *total_posted, bool *range)
{
    size_t np = 0, i;
    struct accrual_posted *p = posted_entries(posted, &np);
    bool *used = calloc(json_array_size(posted) + 1, sizeof *used);
    json_t *lines = p && used ? json_array() : NULL, *row;
    struct accrual_merge m = {owed, n, p, np, 0, 0};
    const struct accrual_line *o;
    const struct accrual_posted *q;
    while (lines != NULL && accrual_merge_next(&m, &o, &q)) {
        if (o == NULL)
            continue;
        int64_t posted_amount = q ? q->amount_ore : 0;
        if (q != NULL)
            used[q->id] = true;
        json_array_append_new(lines, line_json(o->month, accrual_code_name(o->code), o->days,
                                               o->amount_ore, posted_amount));
        *range = *range && !__builtin_add_overflow(*total_owed, o->amount_ore, total_owed) &&
                 !__builtin_add_overflow(*total_posted, posted_amount, total_posted);
    }
    json_array_foreach(lines ? posted : NULL, i, row)
    {
        int32_t month;
        if (used[i] || !posted_month(row, &month))
            continue;
        int64_t amount = json_integer_value(json_object_get(row, "amount_ore"));
        json_array_append_new(
            lines, line_json(month, json_string_value(json_object_get(row, "code")), 0, 0, amount));
        *range = *range && json_is_integer(json_object_get(row, "amount_ore")) &&
                 !__builtin_add_overflow(*total_posted, amount, total_posted);
    }
    free(used);
    free(p);
    return lines;
}

static void on_accrual_input(struct api_call *c, const PGresult *res)
{
    struct accrual_rate rates[256];
    struct accrual_schedule sched;
    struct accrual_line *owed = NULL;
    size_t n = 0;
    json_error_t je;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        api_reply_error(c, 404, "not_found", "no such placement", NULL);
        return;
    }
    json_t *in = json_loads(PQgetvalue(res, 0, 0), 0, &je);
    json_t *through = in ? json_object_get(in, "through") : NULL;
    if (in == NULL || !schedule_from_json(json_object_get(in, "rates"), rates, 256, &sched)) {
        json_decref(in);
        api_reply_error(c, 500, "internal", "cannot read the accrual input", NULL);
        return;
    }
    struct accrual_facts f = {
        json_date(in, "assigned_on"),  json_date(in, "moved_in_on"),
        json_date(in, "moved_out_on"), json_date(in, "registered_on"),
        json_date(in, "birth_date"),   json_is_true(json_object_get(in, "former_uam"))};
    struct accrual_error err = {0};
    enum accrual_status st = ACCRUAL_OK;
    owed = calloc(1024, sizeof *owed);
    if (owed != NULL && json_is_string(through))
        st = accrual_compute(&f, &sched, json_date(in, "through"), owed, 1024, &n, &err);
    if (st != ACCRUAL_OK)
        n = 0;
    int64_t total_owed = 0, total_posted = 0;
    bool range = true;
    json_t *lines =
        accrual_lines(owed ? owed : (struct accrual_line[1]){{0}}, n, json_object_get(in, "posted"),
                      &total_owed, &total_posted, &range);
    if (lines == NULL || !range) {
        json_decref(lines);
        json_decref(in);
        free(owed);
        api_reply_error(
            c, 500, "internal",
            lines ? "a total of the placement's accruals is out of range" : "out of memory", NULL);
        return;
    }
    json_t *out = json_pack("{s:s, s:O, s:o, s:I, s:I}", "placement_id", c->path_id, "through",
                            through ? through : json_null(), "lines", lines, "total_owed_ore",
                            (json_int_t)total_owed, "total_posted_ore", (json_int_t)total_posted);
    if (st != ACCRUAL_OK)
        json_object_set_new(out, "parked", json_string(err.message));
    char *body = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    json_decref(in);
    free(owed);
    if (body == NULL) {
        api_reply_error(c, 500, "internal", "out of memory", NULL);
        return;
    }
    api_reply_json(c, 200, body);
    free(body);
}

void api_placement_accruals(struct api_call *c)
{
    if (!api_id_valid(c->path_id)) {
        api_reply_error(c, 404, "not_found", "no such placement", NULL);
        return;
    }
    api_db(c, &accrual_input_stmt, (const char *[]){c->client.scope, c->path_id}, on_accrual_input);
}
