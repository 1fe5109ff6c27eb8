/* api_exports: one statement returns the postings in journal order; the pure writer turns them
 * into CP437 SIE bytes here. */
#include "api_exports.h"

#include "civil_date.h"
#include "ledger_sie.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt sie_stmt = {
    "rb_sie_rows",
    "SELECT journal_id, payment, cause, recorded_on, service_month, account, code, "
    "placement_id, amount_ore, name FROM api.sie_rows($1, $2, $3::date, $4::date, $5::boolean)",
    5};

static int32_t day_of(const PGresult *res, int row, int col)
{
    int32_t d;
    const char *s = PQgetvalue(res, row, col);
    if (PQgetisnull(res, row, col) || !civil_parse(s, strlen(s), &d))
        return ACCRUAL_NO_DAY;
    return d;
}

static void on_sie_rows(struct api_call *c, const PGresult *res)
{
    int rows = PQntuples(res);
    if (rows == 0) {
        api_reply_error(c, 404, "not_found", "no such municipality", NULL);
        return;
    }
    struct ledger_sie_posting *p = calloc((size_t)rows, sizeof *p);
    if (p == NULL) {
        api_reply_error(c, 503, "overloaded", "out of memory", NULL);
        return;
    }
    size_t n = 0;
    int32_t first = ACCRUAL_OPEN, last = ACCRUAL_NO_DAY;
    for (int i = 1; i < rows; i++) {
        struct ledger_sie_posting *x = &p[n++];
        x->journal_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        x->payment = strcmp(PQgetvalue(res, i, 1), "t") == 0;
        x->cause = PQgetvalue(res, i, 2);
        x->recorded_on = day_of(res, i, 3);
        x->service_month = day_of(res, i, 4);
        x->account = PQgetvalue(res, i, 5);
        x->code = PQgetisnull(res, i, 6) ? NULL : PQgetvalue(res, i, 6);
        x->placement_id = PQgetisnull(res, i, 7) ? 0 : strtoll(PQgetvalue(res, i, 7), NULL, 10);
        x->amount_ore = strtoll(PQgetvalue(res, i, 8), NULL, 10);
        first = x->recorded_on < first ? x->recorded_on : first;
        last = x->recorded_on > last ? x->recorded_on : last;
    }
    int32_t t = day_of(res, 0, 3); /* today in Stockholm, from the database */
    int y, m, d;
    civil_to_ymd(n ? first : t, &y, &m, &d);
    int32_t year_from = civil_from_ymd(y, 1, 1);
    civil_to_ymd(n ? last : t, &y, &m, &d);
    struct ledger_sie_file f = {c->muni, PQgetvalue(res, 0, 9), year_from,
                                civil_from_ymd(y, 12, 31), t};
    struct ledger_chart chart;
    struct strbuf out = {0};
    char err[160];
    api_chart(c->api, &chart);
    bool ok = ledger_sie_write(&out, &f, &chart, p, n, err, sizeof err);
    free(p);
    if (!ok || out.oom) {
        strbuf_free(&out);
        api_reply_error(c, 500, "internal", ok ? "out of memory" : err, NULL);
        return;
    }
    struct http_req *r = c->r;
    free(c);
    http_reply_typed(r, 200, "text/plain; charset=IBM437", strbuf_cstr(&out), out.len);
    strbuf_free(&out);
}

void api_export_sie(struct api_call *c)
{
    static const char *const names[] = {"municipality", "from", "to", "include", NULL};
    enum { MUNI, FROM, TO, INCLUDE };
    const char *v[4], *muni;
    struct evkeyvalq q;
    int32_t d;
    if (!api_params_parse(c, &q, names, v))
        return;
    const char *bad = v[MUNI] == NULL || !api_municipality_valid(v[MUNI]) ? "municipality"
                      : v[FROM] != NULL && !civil_parse(v[FROM], strlen(v[FROM]), &d) ? "from"
                      : v[TO] != NULL && !civil_parse(v[TO], strlen(v[TO]), &d)       ? "to"
                      : v[INCLUDE] != NULL && strcmp(v[INCLUDE], "payments") != 0     ? "include"
                                                                                      : NULL;
    if (bad != NULL) {
        evhttp_clear_headers(&q);
        api_reply_error(c, 400, "invalid_query",
                        "municipality (4 digits) is required; from and to are dates; include "
                        "may be payments",
                        bad);
        return;
    }
    if (api_scope_municipality(c, v[MUNI], &muni)) {
        snprintf(c->muni, sizeof c->muni, "%s", muni);
        const char *params[5] = {c->client.scope, muni, v[FROM], v[TO],
                                 v[INCLUDE] ? "true" : "false"};
        api_db(c, &sie_stmt, params, on_sie_rows);
    }
    evhttp_clear_headers(&q);
}
