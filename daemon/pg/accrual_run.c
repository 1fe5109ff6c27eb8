/* accrual_run: for each municipality, in one transaction under a transaction-level advisory lock,
 * recompute what is owed for every placement whose facts changed or whose days reach into the
 * new period, subtract what is posted, and post the differences as one journal per service month.
 * Only the rules (accrual.c) decide amounts; this file moves rows. */
#include "accrual_run.h"

#include "accrual.h"
#include "accrual_post.h"
#include "civil_date.h"
#include "grow.h"
#include "log.h"
#include "rate_schedule.h"
#include "pg_exec.h"
#include "pg_workers.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 1024 /* per placement: 4 codes × 250 months */

struct delta {
    long long placement_id; /* 0 for an allocation */
    long long allocation_id;
    int32_t month;
    enum accrual_code code;
    int64_t amount;
};

struct deltas {
    struct delta *v;
    size_t n, cap;
};

struct run {
    PGconn *pg;
    const char *run_id;
    const char *through_text;
    int32_t through;
    struct rate_schedule sched;
    json_t *parked, *totals, *munis, *errors;
    long long lines;
};

/* The file's names for pg_exec and pg_exec_ok. */
static PGresult *exec(PGconn *pg, const char *sql, int n, const char *const *params,
                      const char *what, char *err, size_t errlen)
{
    return pg_exec(pg, sql, n, params, what, err, errlen);
}

static bool exec_ok(PGconn *pg, const char *sql, int n, const char *const *params, const char *what,
                    char *err, size_t errlen)
{
    return pg_exec_ok(pg, sql, n, params, what, err, errlen);
}

static int32_t date_of(const PGresult *res, int row, int col)
{
    int32_t d;
    if (PQgetisnull(res, row, col))
        return ACCRUAL_NO_DAY;
    const char *s = PQgetvalue(res, row, col);
    return civil_parse(s, strlen(s), &d) ? d : ACCRUAL_NO_DAY;
}

static bool deltas_push(struct deltas *d, struct delta x)
{
    struct delta *grown = grow_array(d->v, &d->cap, d->n, sizeof *grown, 1024);
    if (grown == NULL)
        return false;
    d->v = grown;
    d->v[d->n++] = x;
    return true;
}

/* Buffers for accrual_diff, reused from one placement to the next. */
struct scratch {
    struct accrual_line *out;
    size_t cap;
};

/* owed (sorted by month, code) against one placement's or allocation's posted rows (sorted the
 * same way): the differences through the run's `through`, as deltas. ACCRUAL_IMPLAUSIBLE (err
 * says why) parks it; ACCRUAL_TOO_MANY means out of memory. */
static enum accrual_status diff_lines(const struct run *r, struct scratch *s,
                                      const struct accrual_line *owed, size_t no,
                                      const struct accrual_posted *posted, size_t np,
                                      long long placement_id, long long allocation_id,
                                      struct deltas *out, struct accrual_error *err)
{
    size_t need = no + np + 1, n = 0;
    if (need > s->cap) {
        struct accrual_line *o = realloc(s->out, need * sizeof *o);
        if (o == NULL)
            return ACCRUAL_TOO_MANY;
        s->out = o;
        s->cap = need;
    }
    enum accrual_status st =
        accrual_diff(owed, no, posted, np, r->through, s->out, s->cap, &n, err);
    if (st != ACCRUAL_OK)
        return st == ACCRUAL_TOO_MANY ? ACCRUAL_TOO_MANY : ACCRUAL_IMPLAUSIBLE;
    for (size_t k = 0; k < n; k++) {
        struct delta d = {placement_id, allocation_id, s->out[k].month, s->out[k].code,
                          s->out[k].amount_ore};
        if (!deltas_push(out, d))
            return ACCRUAL_TOO_MANY;
    }
    return ACCRUAL_OK;
}

/* Reads rows (id, month, code, amount) or (id, month, amount) into an array sorted by id. */
static struct accrual_posted *posted_load(const PGresult *res, bool has_code, size_t *n)
{
    int rows = PQntuples(res);
    struct accrual_posted *p = calloc((size_t)rows + 1, sizeof *p);
    if (p == NULL)
        return NULL;
    for (int i = 0; i < rows; i++) {
        p[i].id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        p[i].month = date_of(res, i, 1);
        p[i].code = ACCRUAL_ALLOCATION_PLACE;
        if (has_code && !accrual_code_parse(PQgetvalue(res, i, 2), &p[i].code))
            p[i].code = ACCRUAL_CODES;
        p[i].amount_ore = strtoll(PQgetvalue(res, i, has_code ? 3 : 2), NULL, 10);
    }
    *n = (size_t)rows;
    return p;
}

static void park(struct run *r, const char *muni, long long id, const char *why)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    json_array_append_new(r->parked, json_pack("{s:s, s:s, s:s}", "placement_id", ids,
                                               "municipality", muni, "reason", why));
    log_warn("accrual: placement %lld parked: %s", id, why);
}

static void park_allocation(struct run *r, const char *muni, const char *id, const char *why)
{
    json_array_append_new(r->parked, json_pack("{s:s, s:s, s:s}", "allocation_id", id,
                                               "municipality", muni, "reason", why));
    log_warn("accrual: allocation %s parked: %s", id, why);
}

/* Under the municipality's lock: a run that started alongside one with a later `through` (which
 * then committed this municipality first) must not post here, not even in its own last month. */
static bool state_not_later(const struct run *r, const PGresult *state, char *err, size_t errlen)
{
    int32_t next;
    const char *s = PQgetvalue(state, 0, 0);
    if (!civil_parse(s, strlen(s), &next) || next - 1 <= r->through)
        return true;
    char later[CIVIL_DATE_LEN + 1];
    civil_format(next - 1, later);
    snprintf(err, errlen, "already accrued through %s by a later run; this run goes through %s",
             later, r->through_text);
    return false;
}

/* The placements to recompute and what is posted for them. Without a previous run, or after a
 * rate change, all of the municipality's placements; else the changed ones and those with days in
 * (previous through, through]. */
static bool placements_fetch(struct run *r, const char *muni, const PGresult *dirty, PGresult **pl,
                             PGresult **posted, char *err, size_t errlen)
{
    static const char cols[] =
        "SELECT p.id, p.assigned_on, p.moved_in_on, p.moved_out_on, p.registered_on, "
        "per.birth_date, per.former_uam FROM placements p JOIN person_records per ON "
        "per.person_id = p.person_id AND per.municipality = p.municipality "
        "WHERE p.municipality = $1";
    static const char posted_cols[] =
        "SELECT placement_id, month, code, sum(amount_ore)::bigint FROM postings "
        "WHERE municipality = $1 AND kind = 'accrual' AND account = 'receivable' "
        "AND placement_id IS NOT NULL";
    PGresult *state = exec(r->pg, "SELECT through + 1 FROM accrual_state WHERE municipality = $1",
                           1, (const char *[]){muni}, "reading the accrual state", err, errlen);
    if (state == NULL)
        return false;
    bool all = PQntuples(state) == 0;
    if (!all && !state_not_later(r, state, err, errlen)) {
        PQclear(state);
        return false;
    }
    for (int i = 0; i < PQntuples(dirty); i++)
        all = all || strcmp(PQgetvalue(dirty, i, 2), "t") == 0;
    char sql[1024];
    if (all) {
        snprintf(sql, sizeof sql, "%s ORDER BY p.id", cols);
        *pl = exec(r->pg, sql, 1, (const char *[]){muni}, "reading placements", err, errlen);
        snprintf(sql, sizeof sql, "%s GROUP BY 1, 2, 3 ORDER BY 1", posted_cols);
        *posted = *pl ? exec(r->pg, sql, 1, (const char *[]){muni}, "reading postings", err, errlen)
                      : NULL;
        PQclear(state);
        return *pl != NULL && *posted != NULL;
    }
    struct strbuf ids = {0};
    strbuf_str(&ids, "{");
    for (int i = 0; i < PQntuples(dirty); i++) {
        if (PQgetisnull(dirty, i, 1))
            continue;
        strbuf_printf(&ids, "%s%s", ids.len > 1 ? "," : "", PQgetvalue(dirty, i, 1));
    }
    strbuf_str(&ids, "}");
    int32_t next;
    char next_text[CIVIL_DATE_LEN + 1];
    civil_parse(r->through_text, strlen(r->through_text), &next);
    civil_format(next + 1, next_text);
    /* The queue by id, and (only when through moved on) the placements with days in the new
     * period; two index-friendly halves rather than one OR. */
    bool extends = strcmp(PQgetvalue(state, 0, 0), next_text) <= 0;
    const char *p4[4] = {muni, strbuf_cstr(&ids), PQgetvalue(state, 0, 0), next_text};
    if (extends)
        snprintf(sql, sizeof sql,
                 "%s AND p.id = ANY($2::bigint[]) UNION %s AND p.housing && "
                 "daterange($3::date, $4::date) ORDER BY 1",
                 cols, cols);
    else
        snprintf(sql, sizeof sql,
                 "%s AND p.id = ANY($2::bigint[]) AND $3::date IS NOT NULL AND "
                 "$4::date IS NOT NULL ORDER BY 1",
                 cols);
    *pl = exec(r->pg, sql, 4, p4, "reading placements", err, errlen);
    strbuf_reset(&ids);
    strbuf_str(&ids, "{");
    for (int i = 0; *pl != NULL && i < PQntuples(*pl); i++)
        strbuf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(*pl, i, 0));
    strbuf_str(&ids, "}");
    snprintf(
        sql, sizeof sql,
        "SELECT placement_id, month, code, sum(amount_ore)::bigint FROM postings WHERE $1::text IS "
        "NOT NULL AND kind = 'accrual' AND account = 'receivable' AND placement_id = "
        "ANY($2::bigint[]) GROUP BY 1, 2, 3 ORDER BY 1");
    const char *p2[2] = {muni, strbuf_cstr(&ids)};
    *posted = *pl ? exec(r->pg, sql, 2, p2, "reading postings", err, errlen) : NULL;
    bool ok = !ids.oom && *pl != NULL && *posted != NULL;
    if (ids.oom)
        snprintf(err, errlen, "out of memory");
    strbuf_free(&ids);
    PQclear(state);
    return ok;
}

static void facts_of(const PGresult *res, int i, struct accrual_facts *f)
{
    f->assigned_on = date_of(res, i, 1);
    f->moved_in_on = date_of(res, i, 2);
    f->moved_out_on = date_of(res, i, 3);
    f->registered_on = date_of(res, i, 4);
    f->birth_date = date_of(res, i, 5);
    f->former_uam = strcmp(PQgetvalue(res, i, 6), "t") == 0;
}

/* Placements: engine output against posted amounts, one placement at a time (both ordered by
 * placement id). */
static bool placements_diff(struct run *r, const char *muni, const PGresult *pl,
                            const PGresult *posted_res, struct deltas *out, char *err,
                            size_t errlen)
{
    size_t np = 0, j = 0;
    struct accrual_posted *posted = posted_load(posted_res, true, &np);
    struct accrual_line *lines = malloc(MAX_LINES * sizeof *lines);
    struct scratch sc = {0};
    bool ok = posted != NULL && lines != NULL;
    for (int i = 0; ok && i < PQntuples(pl); i++) {
        long long id = strtoll(PQgetvalue(pl, i, 0), NULL, 10);
        while (j < np && posted[j].id < id)
            j++;
        size_t first = j;
        while (j < np && posted[j].id == id)
            j++;
        qsort(posted + first, j - first, sizeof *posted, accrual_posted_cmp);
        struct accrual_facts f;
        struct accrual_error e;
        size_t n = 0;
        facts_of(pl, i, &f);
        if (accrual_compute(&f, &r->sched.view, r->through, lines, MAX_LINES, &n, &e) !=
            ACCRUAL_OK) {
            park(r, muni, id, e.message);
            continue;
        }
        enum accrual_status st =
            diff_lines(r, &sc, lines, n, posted + first, j - first, id, 0, out, &e);
        if (st == ACCRUAL_IMPLAUSIBLE)
            park(r, muni, id, e.message);
        ok = st != ACCRUAL_TOO_MANY;
    }
    if (!ok)
        snprintf(err, errlen, "out of memory");
    free(sc.out);
    free(lines);
    free(posted);
    return ok;
}

static bool allocations_diff(struct run *r, const char *muni, struct deltas *out, char *err,
                             size_t errlen)
{
    PGresult *al = exec(r->pg,
                        "SELECT id, decided_on, accrued_places FROM allocations "
                        "WHERE municipality = $1 ORDER BY id",
                        1, (const char *[]){muni}, "reading allocations", err, errlen);
    if (al != NULL && PQntuples(al) == 0) {
        PQclear(al);
        return true; /* nothing to read: the common case, and the postings scan is not free */
    }
    PGresult *pr = al ? exec(r->pg,
                             "SELECT allocation_id, month, sum(amount_ore)::bigint FROM postings "
                             "WHERE municipality = $1 AND kind = 'accrual' AND "
                             "account = 'receivable' AND allocation_id IS NOT NULL "
                             "GROUP BY 1, 2 ORDER BY 1, 2",
                             1, (const char *[]){muni}, "reading allocation postings", err, errlen)
                      : NULL;
    size_t np = 0, j = 0;
    struct accrual_posted *posted = pr ? posted_load(pr, false, &np) : NULL;
    struct scratch sc = {0};
    bool ok = posted != NULL;
    for (int i = 0; ok && i < PQntuples(al); i++) {
        long long id = strtoll(PQgetvalue(al, i, 0), NULL, 10);
        struct accrual_line line;
        struct accrual_error e;
        size_t n = 0, first;
        while (j < np && posted[j].id < id)
            j++;
        first = j;
        while (j < np && posted[j].id == id)
            j++;
        enum accrual_status st =
            accrual_allocation(date_of(al, i, 1), strtoll(PQgetvalue(al, i, 2), NULL, 10),
                               &r->sched.view, r->through, &line, &n, &e);
        if (st == ACCRUAL_OK)
            st = diff_lines(r, &sc, &line, n, posted + first, j - first, 0, id, out, &e);
        if (st != ACCRUAL_OK && st != ACCRUAL_TOO_MANY)
            park_allocation(r, muni, PQgetvalue(al, i, 0), e.message);
        ok = st != ACCRUAL_TOO_MANY;
    }
    free(sc.out);
    free(posted);
    PQclear(al);
    PQclear(pr);
    if (al != NULL && pr != NULL && !ok)
        snprintf(err, errlen, "out of memory");
    return al != NULL && pr != NULL && ok;
}

static int delta_month_cmp(const void *pa, const void *pb)
{
    const struct delta *a = pa, *b = pb;
    if (a->month != b->month)
        return a->month < b->month ? -1 : 1;
    return (int)a->code - (int)b->code;
}

static int month_cmp(const void *pa, const void *pb)
{
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

/* The 1-based place of `month` among the batch's journals (one per month, in month order). */
static int journal_of(const int32_t *months, size_t n, int32_t month)
{
    const int32_t *m = bsearch(&month, months, n, sizeof *months, month_cmp);
    return m ? (int)(m - months) + 1 : 0;
}

static int delta_key_cmp(const void *pa, const void *pb)
{
    const struct delta *a = pa, *b = pb;
    if (a->placement_id != b->placement_id)
        return a->placement_id < b->placement_id ? -1 : 1;
    if (a->allocation_id != b->allocation_id)
        return a->allocation_id < b->allocation_id ? -1 : 1;
    return delta_month_cmp(pa, pb);
}

/* One journal per service month; receivable postings per (placement, month, code), written in
 * placement order so the placement index is filled in order, and one compensation posting per
 * (month, code) that balances them: one call of the ledger's one writer, api.ledger_post. */
static bool post_deltas(struct run *r, const char *muni, struct deltas *d, json_t *totals_by_code,
                        char *err, size_t errlen)
{
    struct strbuf months = {0};
    struct accrual_post_arrays a = {0};
    char cause[96], month_text[CIVIL_DATE_LEN + 1];
    bool ok = false;
    size_t nm = 0;
    int32_t *mv = malloc(d->n * sizeof *mv);

    if (mv == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    qsort(d->v, d->n, sizeof *d->v, delta_month_cmp);
    strbuf_str(&months, "{");
    for (size_t i = 0; i < d->n; i++) {
        if (i > 0 && d->v[i].month == d->v[i - 1].month)
            continue;
        mv[nm++] = d->v[i].month;
        civil_format(d->v[i].month, month_text);
        accrual_post_item(&months, months.len == 1, month_text);
    }
    strbuf_str(&months, "}");
    snprintf(cause, sizeof cause, "accrual run %s through %s", r->run_id, r->through_text);
    accrual_post_open(&a);
    /* compensation: one per (month, code), from the month-ordered deltas */
    for (size_t i = 0; i < d->n;) {
        int64_t sum = 0, total;
        bool range = true;
        size_t k = i;
        for (; k < d->n && d->v[k].month == d->v[i].month && d->v[k].code == d->v[i].code; k++)
            range = range && !__builtin_add_overflow(sum, d->v[k].amount, &sum);
        json_t *t = json_object_get(totals_by_code, accrual_code_name(d->v[i].code));
        if (!range || sum == INT64_MIN ||
            __builtin_add_overflow(t ? json_integer_value(t) : 0, sum, &total)) {
            snprintf(err, errlen, "a total of the %s postings is out of range",
                     accrual_code_name(d->v[i].code));
            goto done;
        }
        if (sum != 0) {
            accrual_post_add(&a, journal_of(mv, nm, d->v[i].month), 0, 0, d->v[i].month,
                             d->v[i].code, -sum);
            json_object_set_new(totals_by_code, accrual_code_name(d->v[i].code),
                                json_integer(total));
        }
        i = k;
    }
    qsort(d->v, d->n, sizeof *d->v, delta_key_cmp);
    for (size_t i = 0; i < d->n; i++) {
        const struct delta *x = &d->v[i];
        accrual_post_add(&a, journal_of(mv, nm, x->month), x->placement_id, x->allocation_id,
                         x->month, x->code, x->amount);
        r->lines++;
    }
    accrual_post_close(&a);
    if (accrual_post_oom(&a) || months.oom) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    const char *pp[11] = {muni,
                          cause,
                          r->run_id,
                          strbuf_cstr(&months),
                          strbuf_cstr(&a.jid),
                          strbuf_cstr(&a.acct),
                          strbuf_cstr(&a.pid),
                          strbuf_cstr(&a.aid),
                          strbuf_cstr(&a.mon),
                          strbuf_cstr(&a.code),
                          strbuf_cstr(&a.amt)};
    ok = exec_ok(r->pg,
                 "SELECT api.ledger_post('accrual', $1, $2, $3::bigint, NULL, $4::date[], "
                 "$5::int[], $6::text[], $7::bigint[], $8::bigint[], $9::date[], $10::text[], "
                 "$11::bigint[])",
                 11, pp, "writing journals and postings", err, errlen);
done:
    free(mv);
    strbuf_free(&months);
    accrual_post_free(&a);
    return ok;
}

/* The municipality's transaction after the lock: read, compute, post, consume the queue. */
static bool municipality_body(struct run *r, const char *muni, json_t *by_code, char *err,
                              size_t errlen)
{
    PGresult *dirty = NULL, *pl = NULL, *posted = NULL;
    struct deltas d = {0};
    struct strbuf ids = {0};
    bool ok = false;
    long long lines_before = r->lines;

    dirty = exec(r->pg,
                 "SELECT id, placement_id, all_placements FROM accrual_dirty "
                 "WHERE municipality = $1 ORDER BY id",
                 1, (const char *[]){muni}, "reading the accrual queue", err, errlen);
    if (dirty == NULL || !placements_fetch(r, muni, dirty, &pl, &posted, err, errlen))
        goto done;
    if (!placements_diff(r, muni, pl, posted, &d, err, errlen) ||
        !allocations_diff(r, muni, &d, err, errlen))
        goto done;
    if (d.n > 0 && !post_deltas(r, muni, &d, by_code, err, errlen))
        goto done;
    strbuf_str(&ids, "{");
    for (int i = 0; i < PQntuples(dirty); i++)
        strbuf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(dirty, i, 0));
    strbuf_str(&ids, "}");
    const char *sp[3] = {muni, r->through_text, r->run_id};
    ok = exec_ok(r->pg, "DELETE FROM accrual_dirty WHERE id = ANY($1::bigint[])", 1,
                 (const char *[]){strbuf_cstr(&ids)}, "consuming the accrual queue", err, errlen) &&
         exec_ok(r->pg,
                 "INSERT INTO accrual_state (municipality, through, run_id) "
                 "VALUES ($1, $2::date, $3::bigint) ON CONFLICT (municipality) DO UPDATE "
                 "SET through = greatest(accrual_state.through, EXCLUDED.through), "
                 "run_id = EXCLUDED.run_id, updated_at = now()",
                 3, sp, "recording the accrual state", err, errlen);
    if (ok)
        json_array_append_new(r->munis, json_pack("{s:s, s:I, s:I}", "municipality", muni, "lines",
                                                  (json_int_t)(r->lines - lines_before),
                                                  "placements", (json_int_t)PQntuples(pl)));
done:
    strbuf_free(&ids);
    free(d.v);
    PQclear(dirty);
    PQclear(pl);
    PQclear(posted);
    return ok;
}

static void municipality_run(struct run *r, const char *muni)
{
    char err[512] = "";
    json_t *by_code = json_object();
    long long lines_before = r->lines;
    size_t parked_before = json_array_size(r->parked);
    const char *p1[1] = {muni};
    bool ok =
        exec_ok(r->pg, "BEGIN", 0, NULL, "BEGIN", err, sizeof err) &&
        exec_ok(r->pg, "SELECT set_config('reimbursed.scope', $1, true)", 1, p1,
                "setting the scope", err, sizeof err) &&
        exec_ok(r->pg, "SELECT pg_advisory_xact_lock(hashtext('reimbursed.accrual'), hashtext($1))",
                1, p1, "locking the municipality", err, sizeof err) &&
        municipality_body(r, muni, by_code, err, sizeof err) &&
        exec_ok(r->pg, "COMMIT", 0, NULL, "COMMIT", err, sizeof err);
    if (!ok) {
        char ignore[64];
        exec_ok(r->pg, "ROLLBACK", 0, NULL, "ROLLBACK", ignore, sizeof ignore);
        r->lines = lines_before;
        while (json_array_size(r->parked) > parked_before)
            json_array_remove(r->parked, json_array_size(r->parked) - 1);
        log_error("accrual: municipality %s failed: %s", muni, err);
        json_array_append_new(r->errors,
                              json_pack("{s:s, s:s}", "municipality", muni, "message", err));
        json_decref(by_code);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(by_code, key, v)
    {
        json_array_append_new(r->totals, json_pack("{s:s, s:s, s:I}", "municipality", muni, "code",
                                                   key, "amount_ore", json_integer_value(v)));
    }
    json_decref(by_code);
}

static PGresult *municipalities_list(PGconn *pg, char *err, size_t errlen)
{
    PGresult *res = NULL;
    if (exec_ok(pg, "BEGIN", 0, NULL, "BEGIN", err, errlen) &&
        exec_ok(pg, "SELECT set_config('reimbursed.scope', '*', true)", 0, NULL,
                "setting the scope", err, errlen))
        res = exec(pg,
                   "SELECT m.code FROM municipalities m WHERE EXISTS (SELECT 1 FROM placements p "
                   "WHERE p.municipality = m.code) OR EXISTS (SELECT 1 FROM allocations a "
                   "WHERE a.municipality = m.code) ORDER BY m.code",
                   0, NULL, "listing municipalities", err, errlen);
    char ignore[64];
    exec_ok(pg, res ? "COMMIT" : "ROLLBACK", 0, NULL, "end", ignore, sizeof ignore);
    return res;
}

static enum accrual_outcome fail_body(struct strbuf *body, enum accrual_outcome outcome,
                                      const char *code, const char *message)
{
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    char *s = json_dumps(j, JSON_COMPACT);
    strbuf_str(body, s ? s : "{}");
    free(s);
    json_decref(j);
    return outcome;
}

/* The run could not be started, finished or read back. When the connection is gone, the
 * database may have committed part of it (api.run_begin, municipalities already posted): the
 * outcome is unknown rather than a plain failure. */
static enum accrual_outcome not_recorded(PGconn *pg, struct strbuf *body, const char *err)
{
    return fail_body(body,
                     PQstatus(pg) == CONNECTION_OK ? ACCRUAL_RUN_NOT_RECORDED
                                                   : ACCRUAL_RUN_OUTCOME_UNKNOWN,
                     "internal", err);
}

/* api.run_begin refused the run; its error code says why. */
static enum accrual_outcome refusal_of(const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    enum accrual_outcome o = ACCRUAL_RUN_NOT_RECORDED;
    if (code != NULL && strcmp(code, "through_not_past") == 0)
        o = ACCRUAL_RUN_THROUGH_NOT_PAST;
    else if (code != NULL && strcmp(code, "through_before_latest_run") == 0)
        o = ACCRUAL_RUN_THROUGH_BEFORE_LATEST;
    json_decref(j);
    return o;
}

/* The run's state per worker (each its own connection), merged in worker order at the end. */
struct parallel {
    const PGresult *munis;
    struct run local[PG_WORKERS_MAX];
};

static void municipality_work(void *ctx, int worker, PGconn *pg, size_t item)
{
    struct parallel *p = ctx;
    p->local[worker].pg = pg;
    municipality_run(&p->local[worker], PQgetvalue(p->munis, (int)item, 0));
}

static void run_merge(struct run *r, struct run *w)
{
    json_array_extend(r->parked, w->parked);
    json_array_extend(r->totals, w->totals);
    json_array_extend(r->munis, w->munis);
    json_array_extend(r->errors, w->errors);
    json_decref(w->parked);
    json_decref(w->totals);
    json_decref(w->munis);
    json_decref(w->errors);
    r->lines += w->lines;
}

/* Municipalities are independent (one transaction and one advisory lock each), so up to `jobs`
 * connections work through them at once (pg_workers.h). */
static void run_parallel(struct run *r, const PGresult *munis, const char *conninfo, int jobs)
{
    struct parallel *p = calloc(1, sizeof *p);
    struct pg_workers w = {r->pg,
                           conninfo,
                           "SET application_name = 'reimbursed accrual'",
                           "accrual",
                           conninfo ? jobs : 1,
                           (size_t)PQntuples(munis),
                           municipality_work,
                           p};
    if (p == NULL) {
        json_array_append_new(
            r->errors, json_pack("{s:s, s:s}", "municipality", "*", "message", "out of memory"));
        return;
    }
    p->munis = munis;
    int n = pg_workers_count(&w);
    for (int k = 0; k < n; k++) {
        p->local[k] = *r;
        p->local[k].parked = json_array();
        p->local[k].totals = json_array();
        p->local[k].munis = json_array();
        p->local[k].errors = json_array();
        p->local[k].lines = 0;
    }
    pg_workers_run(&w);
    for (int k = 0; k < n; k++)
        run_merge(r, &p->local[k]);
    free(p);
}

enum accrual_outcome accrual_run_execute(PGconn *pg, const char *conninfo, int jobs,
                                         const char *client_id, const char *through,
                                         struct strbuf *body)
{
    struct run r = {.pg = pg, .through_text = through};
    char err[512] = "";
    char run_id[24];
    PGresult *res;

    if (!civil_parse(through, strlen(through), &r.through))
        return fail_body(body, ACCRUAL_RUN_INVALID_THROUGH, "invalid_date",
                         "through must be a date as YYYY-MM-DD");
    res = exec(pg, "SELECT status, body, run_id FROM api.run_begin($1::bigint, $2::date)", 2,
               (const char *[]){client_id, through}, "starting the run", err, sizeof err);
    if (res == NULL)
        return not_recorded(pg, body, err);
    if (atoi(PQgetvalue(res, 0, 0)) != 0) {
        enum accrual_outcome refused = refusal_of(PQgetvalue(res, 0, 1));
        strbuf_str(body, PQgetvalue(res, 0, 1));
        PQclear(res);
        return refused;
    }
    snprintf(run_id, sizeof run_id, "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    r.run_id = run_id;
    r.parked = json_array();
    r.totals = json_array();
    r.munis = json_array();
    r.errors = json_array();
    log_info("accrual: run %s through %s started", run_id, through);

    PGresult *munis = NULL;
    if (!rate_schedule_load(pg, &r.sched, err, sizeof err) ||
        (munis = municipalities_list(pg, err, sizeof err)) == NULL) {
        json_array_append_new(r.errors,
                              json_pack("{s:s, s:s}", "municipality", "*", "message", err));
    }
    if (munis != NULL)
        run_parallel(&r, munis, conninfo, jobs);
    PQclear(munis);
    rate_schedule_free(&r.sched);

    json_t *result = json_pack("{s:o, s:o, s:o, s:o}", "parked", r.parked, "totals", r.totals,
                               "municipalities", r.munis, "errors", r.errors);
    char *result_text = json_dumps(result, JSON_COMPACT);
    char lines[24];
    snprintf(lines, sizeof lines, "%lld", r.lines);
    const char *status = json_array_size(r.errors) == 0 ? "done" : "failed";
    const char *fp[4] = {run_id, status, lines, result_text ? result_text : "{}"};
    bool ok = exec_ok(pg,
                      "UPDATE accrual_runs SET status = $2, finished_at = clock_timestamp(), "
                      "lines_posted = $3::bigint, result = $4::jsonb WHERE id = $1::bigint",
                      4, fp, "finishing the run", err, sizeof err);
    free(result_text);
    json_decref(result);
    log_info("accrual: run %s through %s %s: %lld lines", run_id, through, status, r.lines);
    if (!ok)
        return not_recorded(pg, body, err);
    res = exec(pg, "SELECT body FROM api.run_get('*', $1::bigint)", 1, (const char *[]){run_id},
               "reading the run", err, sizeof err);
    if (res == NULL)
        return not_recorded(pg, body, err);
    strbuf_str(body, PQgetvalue(res, 0, 0));
    PQclear(res);
    return ACCRUAL_RUN_RECORDED;
}
