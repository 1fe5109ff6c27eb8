/* api_exports: one statement streams the export's head, its accounts and then the postings in
 * journal order (api_stream.h); the pure writer turns them into CP437 SIE bytes as they come. */
#include "api_handlers.h"

#include "api_stream.h"
#include "civil_date.h"
#include "ledger_sie.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt sie_stmt = {
    "rb_sie_stream",
    "SELECT kind, journal_id, payment, cause, recorded_on, service_month, account, code, "
    "placement_id, amount_ore, first_on, last_on "
    "FROM api.sie_stream($1, $2, $3::date, $4::date, $5::boolean)",
    5};

#define ACCOUNTS_MAX 64
#define FLUSH_BYTES 8192

/* One export in flight: the head and the accounts used, then the writer. */
struct sie_export {
    char muni[8];
    char name[96];
    int32_t today, first, last;
    bool head;
    struct ledger_chart chart;
    char accounts[ACCOUNTS_MAX][16], codes[ACCOUNTS_MAX][24];
    struct ledger_sie_posting used[ACCOUNTS_MAX];
    size_t nused;
    bool begun;
    struct ledger_sie_stream w;
    struct strbuf buf;
};

static int32_t day_of(const PGresult *res, int row, int col)
{
    int32_t d;
    const char *s = PQgetvalue(res, row, col);
    if (PQgetisnull(res, row, col) || !civil_parse(s, strlen(s), &d))
        return ACCRUAL_NO_DAY;
    return d;
}

static void sie_export_free(void *state)
{
    struct sie_export *e = state;
    if (e->begun)
        ledger_sie_stream_free(&e->w);
    strbuf_free(&e->buf);
    free(e);
}

/* The writer's bytes so far go out; false (and the reply cut short) when the writer failed. */
static bool sie_flush(struct api_stream *s, struct sie_export *e, bool ok, size_t min)
{
    if (!ok || e->buf.oom) {
        api_stream_error(s, 500, "internal", ok ? "out of memory" : ledger_sie_stream_error(&e->w));
        return false;
    }
    if (e->buf.len >= min) {
        api_stream_write(s, e->buf.p, e->buf.len);
        strbuf_reset(&e->buf);
    }
    return true;
}

/* #FLAGGA .. #KONTO: the years of the first and last recording day (today without postings). */
static bool export_begin(struct api_stream *s, struct sie_export *e)
{
    int y, m, d;
    civil_to_ymd(e->first != ACCRUAL_NO_DAY ? e->first : e->today, &y, &m, &d);
    int32_t year_from = civil_from_ymd(y, 1, 1);
    civil_to_ymd(e->last != ACCRUAL_NO_DAY ? e->last : e->today, &y, &m, &d);
    struct ledger_sie_file f = {e->muni, e->name, year_from, civil_from_ymd(y, 12, 31), e->today};
    e->begun = true;
    bool ok = ledger_sie_stream_begin(&e->w, &e->buf, &f, &e->chart, e->used, e->nused);
    return sie_flush(s, e, ok, 0);
}

static void sie_row_head(struct sie_export *e, const PGresult *row)
{
    snprintf(e->name, sizeof e->name, "%s", PQgetvalue(row, 0, 3));
    e->today = day_of(row, 0, 4);
    e->first = day_of(row, 0, 10);
    e->last = day_of(row, 0, 11);
    e->head = true;
}

static void sie_row_account(struct sie_export *e, const PGresult *row)
{
    if (e->nused == ACCOUNTS_MAX)
        return;
    size_t i = e->nused++;
    snprintf(e->accounts[i], sizeof e->accounts[i], "%s", PQgetvalue(row, 0, 6));
    snprintf(e->codes[i], sizeof e->codes[i], "%s", PQgetvalue(row, 0, 7));
    e->used[i].account = e->accounts[i];
    e->used[i].code = PQgetisnull(row, 0, 7) ? NULL : e->codes[i];
}

static void on_sie_row(struct api_stream *s, const PGresult *row)
{
    struct sie_export *e = api_stream_state(s);
    const char *kind = PQgetvalue(row, 0, 0);
    if (kind[0] == 'h') {
        sie_row_head(e, row);
        return;
    }
    if (kind[0] == 'a') {
        sie_row_account(e, row);
        return;
    }
    if (!e->begun && !export_begin(s, e))
        return;
    struct ledger_sie_posting p = {
        strtoll(PQgetvalue(row, 0, 1), NULL, 10),
        strcmp(PQgetvalue(row, 0, 2), "t") == 0,
        PQgetvalue(row, 0, 3),
        day_of(row, 0, 4),
        day_of(row, 0, 5),
        PQgetvalue(row, 0, 6),
        PQgetisnull(row, 0, 7) ? NULL : PQgetvalue(row, 0, 7),
        PQgetisnull(row, 0, 8) ? 0 : strtoll(PQgetvalue(row, 0, 8), NULL, 10),
        strtoll(PQgetvalue(row, 0, 9), NULL, 10)};
    sie_flush(s, e, ledger_sie_stream_posting(&e->w, &p), FLUSH_BYTES);
}

static void on_sie_end(struct api_stream *s)
{
    struct sie_export *e = api_stream_state(s);
    if (!e->head) {
        api_stream_error(s, 404, "not_found", "no such municipality");
        return;
    }
    if (!e->begun && !export_begin(s, e))
        return;
    sie_flush(s, e, ledger_sie_stream_finish(&e->w), 0);
}

static const struct api_stream_ops sie_ops = {"text/plain; charset=IBM437", on_sie_row, on_sie_end,
                                              sie_export_free};

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
    if (api_query_refused(c, &q, "invalid_query",
                          "municipality (4 digits) is required; from and to are dates; include "
                          "may be payments",
                          bad))
        return;
    if (api_scope_municipality(c, v[MUNI], &muni)) {
        struct sie_export *e = calloc(1, sizeof *e);
        const char *params[5] = {c->client.scope, muni, v[FROM], v[TO],
                                 v[INCLUDE] ? "true" : "false"};
        if (e == NULL) {
            evhttp_clear_headers(&q);
            api_reply_error(c, 503, "overloaded", "out of memory; retry", NULL);
            return;
        }
        snprintf(e->muni, sizeof e->muni, "%s", muni);
        api_chart(c->api, &e->chart);
        api_stream_run(c, &sie_stmt, params, &sie_ops, e);
    }
    evhttp_clear_headers(&q);
}
