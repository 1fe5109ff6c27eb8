/* report: gathers each municipality's figures as of the cut (one transaction per municipality,
 * under its scope) and writes the report files atomically; see report.h. The pages themselves
 * are rendered by report_html.c, the SIE file by ledger_sie.c. */
#include "report.h"

#include "civil_date.h"
#include "ledger_sie.h"
#include "pg_exec.h"
#include "pg_workers.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef REIMBURSED_VERSION
#define REIMBURSED_VERSION "dev"
#endif

#define TOP_DISCREPANCIES 20
#define MAX_CLASSES 8
#define FILE_MODE 0640
#define DIR_MODE 0750

/* ------------------------------------------------------------------ statements */

static const char cut_sql[] =
    "WITH d AS (SELECT ($1::date)::timestamp AT TIME ZONE 'Europe/Stockholm' AS day_start, "
    "($1::date + 1)::timestamp AT TIME ZONE 'Europe/Stockholm' AS day_end), "
    "r AS (SELECT a.id, a.through, a.finished_at FROM accrual_runs a, d "
    "WHERE a.status = 'done' AND a.started_at >= d.day_start AND a.started_at < d.day_end "
    "AND a.finished_at < d.day_end ORDER BY a.finished_at DESC, a.id DESC LIMIT 1), "
    "c AS (SELECT coalesce((SELECT finished_at FROM r), "
    "(SELECT day_start FROM d) - interval '1 microsecond') AS at) "
    "SELECT api.ts(c.at), to_char(c.at AT TIME ZONE 'Europe/Stockholm', "
    "'YYYY-MM-DD HH24:MI:SS'), (SELECT id::text FROM r), (SELECT through::text FROM r), "
    "c.at > now() FROM c";

/* Municipalities with placements, allocations or payments recorded by the cut (scope '*'). */
static const char munis_sql[] =
    "SELECT m.code, m.name FROM municipalities m "
    "WHERE EXISTS (SELECT 1 FROM placements p WHERE p.municipality = m.code "
    "AND p.created_at <= $1::timestamptz) "
    "OR EXISTS (SELECT 1 FROM allocations a WHERE a.municipality = m.code "
    "AND a.recorded_at <= $1::timestamptz) "
    "OR EXISTS (SELECT 1 FROM payments y WHERE y.municipality = m.code "
    "AND y.recorded_at <= $1::timestamptz) ORDER BY m.code";

/* The municipality's reconciliation rows (every month) at the cut, read once per municipality
 * into recon_tmp by api.recon_fill, as the API's reconciliation and balance read them; the
 * documents are the API's own functions over those rows (sql/019_reports.sql), so the CSV and
 * JSON are byte for byte what GET /v1/reports/reconciliation?as_known_at=cut returns and the
 * totals are GET /v1/municipalities/{code}/balance's. (api.recon_rows reads the whole ledger of
 * the municipality: calling it through api.reconciliation twice and api.balance once more would
 * take four times as long.) */
static const char rows_fill_sql[] = "SELECT api.recon_fill($1, $2::timestamptz, NULL)";

static const char recon_json_sql[] = "SELECT api.recon_json_of($1, $2::date, $3::timestamptz)";

static const char recon_csv_sql[] = "SELECT api.recon_csv_of($1, $2::date)";

static const char balance_sql[] =
    "SELECT c.code, c.owed_ore, c.paid_ore, c.outstanding_ore, c.reclaim_ore, c.not_due_ore "
    "FROM (SELECT array_agg(month) AS m, array_agg(code) AS k, array_agg(owed_ore) AS o, "
    "array_agg(paid_ore) AS p FROM recon_tmp) a, "
    "api.balance_codes($1::timestamptz, a.m, a.k, a.o, a.p) c ORDER BY c.code";

/* The ended months ($1 = first day of D's month): part 0 owed/paid per month, part 1 the
 * largest differences (rows that only wait for a payment list after the others: a month whose
 * list has not come yet would otherwise fill the table with rows that need no action), part 2
 * rows per class. */
static const char figures_sql[] =
    "WITH r AS (SELECT * FROM recon_tmp WHERE month < $1::date), "
    "m AS (SELECT month, sum(owed_ore)::bigint AS owed, sum(paid_ore)::bigint AS paid "
    "FROM r GROUP BY month), "
    "d AS (SELECT r.*, row_number() OVER (ORDER BY class = 'not_yet_paid', "
    "abs(paid_ore - owed_ore) DESC, month, "
    "dossier_number NULLS LAST, code, placement_id) AS ord FROM r WHERE owed_ore <> paid_ore), "
    "c AS (SELECT class, count(*) AS n, sum(paid_ore - owed_ore)::bigint AS diff FROM r "
    "WHERE class <> 'ok' GROUP BY class) "
    "SELECT 0, row_number() OVER (ORDER BY month), month::text, NULL::text, NULL::text, "
    "NULL::text, owed, paid, NULL::text, NULL::bigint FROM m WHERE owed <> 0 OR paid <> 0 "
    "UNION ALL SELECT 1, ord, month::text, dossier_number, placement_id::text, code, owed_ore, "
    "paid_ore, class, NULL FROM d WHERE ord <= 20 "
    "UNION ALL SELECT 2, row_number() OVER (ORDER BY CASE class WHEN 'underpaid' THEN 1 "
    "WHEN 'overpaid' THEN 2 WHEN 'unknown_person' THEN 3 ELSE 4 END, class), NULL, NULL, "
    "NULL, NULL, NULL, diff, class, n FROM c ORDER BY 1, 2";

/* Move-outs and corrections of the move-out or registration date recorded during D − 1. */
static const char changes_sql[] =
    "SELECT e.placement_id::text, per.dossier_number, e.type, e.field, "
    "CASE WHEN e.type = 'moved_out' THEN e.effective::text ELSE e.value END, e.reason, "
    "to_char(e.recorded_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM-DD HH24:MI') "
    "FROM placements p JOIN placement_events e ON e.placement_id = p.id "
    "JOIN persons per ON per.id = p.person_id "
    "WHERE p.municipality = $1 AND e.municipality = $1 "
    "AND e.recorded_at >= (($2::date - 1)::timestamp AT TIME ZONE 'Europe/Stockholm') "
    "AND e.recorded_at < (($2::date)::timestamp AT TIME ZONE 'Europe/Stockholm') "
    "AND (e.type = 'moved_out' OR (e.type = 'correction' "
    "AND e.field IN ('moved_out_on', 'registered_on'))) ORDER BY e.recorded_at, e.id";

/* The journals recorded by the cut, payments included, posting by posting (as api.sie_rows, but
 * cut on the recording time rather than the day). */
static const char sie_sql[] =
    "SELECT p.journal_id, j.kind = 'payment', j.cause, "
    "(j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date, j.service_month, p.account, p.code, "
    "p.placement_id, p.amount_ore FROM journal j JOIN postings p ON p.journal_id = j.id "
    "WHERE j.municipality = $1 AND p.municipality = $1 AND j.recorded_at <= $2::timestamptz "
    "ORDER BY p.journal_id, p.id";

/* ------------------------------------------------------------------ libpq helpers */

/* BEGIN and the transaction-local scope. */
static bool begin_scoped(PGconn *pg, const char *scope, char *err, size_t errlen)
{
    return pg_exec_ok(pg, "BEGIN", 0, NULL, "BEGIN", err, errlen) &&
           pg_exec_ok(pg, "SELECT set_config('reimbursed.scope', $1, true)", 1,
                      (const char *[]){scope}, "setting the scope", err, errlen);
}

static void rollback(PGconn *pg)
{
    PQclear(PQexec(pg, "ROLLBACK"));
}

static const char *value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int32_t day_of(const PGresult *res, int row, int col)
{
    const char *s = value(res, row, col);
    int32_t d;
    return s != NULL && civil_parse(s, strlen(s), &d) ? d : ACCRUAL_NO_DAY;
}

static int64_t int_of(const PGresult *res, int row, int col)
{
    const char *s = value(res, row, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

/* A sum from the database as int64, or false when it does not fit (strtoll would saturate). */
static bool int_in_range(const PGresult *res, int row, int col, int64_t *out)
{
    const char *s = value(res, row, col);
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (s != NULL && (errno == ERANGE || *end != '\0'))
        return false;
    *out = v;
    return true;
}

/* ------------------------------------------------------------------ files */

static bool write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

bool report_file_write(const char *dir, const char *name, const char *data, size_t len, char *err,
                       size_t errlen)
{
    char tmp[4096], path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= sizeof tmp) {
        snprintf(err, errlen, "path too long: %s/%s", dir, name);
        return false;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
        return false;
    }
    const char *step = "writing";
    bool ok = write_all(fd, data, len);
    if (ok && (step = "setting the mode of", fchmod(fd, FILE_MODE) != 0))
        ok = false;
    if (ok && (step = "syncing", fsync(fd) != 0))
        ok = false;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        saved = errno;
        step = "closing";
        ok = false;
    }
    if (ok && (step = "renaming", rename(tmp, path) != 0)) {
        saved = errno;
        ok = false;
    }
    if (!ok) {
        unlink(tmp);
        snprintf(err, errlen, "%s %s: %s", step, path, strerror(saved));
    }
    return ok;
}

/* Makes the renames in `dir` durable. */
static bool dir_sync(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    bool ok = fd >= 0 && fsync(fd) == 0;
    if (!ok)
        snprintf(err, errlen, "syncing the folder %.200s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool dir_make(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, DIR_MODE) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the folder %s: %s", dir, strerror(errno));
        return false;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a folder", dir);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ the cut */

bool report_cut_find(PGconn *pg, int32_t date, struct report_cut *cut, char *err, size_t errlen)
{
    char d[CIVIL_DATE_LEN + 1];
    civil_format(date, d);
    memset(cut, 0, sizeof *cut);
    cut->date = date;
    PGresult *res = pg_exec(pg, cut_sql, 1, (const char *[]){d}, "finding the cut", err, errlen);
    if (res == NULL)
        return false;
    snprintf(cut->at_utc, sizeof cut->at_utc, "%s", PQgetvalue(res, 0, 0));
    snprintf(cut->at_local, sizeof cut->at_local, "%s", PQgetvalue(res, 0, 1));
    snprintf(cut->run_id, sizeof cut->run_id, "%s", PQgetvalue(res, 0, 2));
    snprintf(cut->run_through, sizeof cut->run_through, "%s", PQgetvalue(res, 0, 3));
    cut->future = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    PQclear(res);
    return true;
}

static struct report_cut_info cut_info(const struct report_cut *c)
{
    return (struct report_cut_info){c->date, c->at_utc, c->at_local,
                                    c->run_id[0] ? c->run_id : NULL,
                                    c->run_id[0] ? c->run_through : NULL};
}

/* ------------------------------------------------------------------ one municipality's data */

/* Shared by the workers; read-only but for the slots of `out`. */
struct job {
    const struct report_cut *cut;
    char cut_day[CIVIL_DATE_LEN + 1];      /* D */
    char recon_month[CIVIL_DATE_LEN + 1];  /* first day of the month before D's */
    char ended_before[CIVIL_DATE_LEN + 1]; /* first day of D's month */
    const char *ended_before_p;
    int32_t recon_month_day;
    const char *dir;
    const struct ledger_chart *chart; /* the configured chart, as the API uses */
    struct report_outcome *out;       /* one slot per municipality, each written by one worker */
    size_t n;
};

struct muni {
    const char *code, *name;
    PGresult *json, *csv, *balance, *figures, *changes, *sie;
    struct report_totals total, *by_code;
    size_t nby_code;
    struct report_month *months;
    size_t nmonths;
    struct report_discrepancy disc[TOP_DISCREPANCIES];
    size_t ndisc;
    struct report_class_count classes[MAX_CLASSES];
    size_t nclasses;
    struct report_change *changes_v;
    size_t nchanges;
};

static void muni_free(struct muni *m)
{
    PGresult *r[] = {m->json, m->csv, m->balance, m->figures, m->changes, m->sie};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        PQclear(r[i]);
    free(m->by_code);
    free(m->months);
    free(m->changes_v);
}

/* n + 1 zeroed elements (never a zero-size request); on failure err says so. */
static void *alloc_rows(size_t n, size_t size, char *err, size_t errlen)
{
    void *p = calloc(n + 1, size);
    if (p == NULL)
        snprintf(err, errlen, "out of memory");
    return p;
}

/* Per code from the balance statement; the municipality's total is their sum (as api.balance). */
static bool balance_parse(struct muni *m, char *err, size_t errlen)
{
    const PGresult *r = m->balance;
    for (int i = 0; i < PQntuples(r); i++) {
        struct report_totals *t = &m->by_code[m->nby_code++];
        t->code = PQgetvalue(r, i, 0);
        int64_t *field[5] = {&t->owed_ore, &t->paid_ore, &t->outstanding_ore, &t->reclaim_ore,
                             &t->not_due_ore};
        int64_t *sum[5] = {&m->total.owed_ore, &m->total.paid_ore, &m->total.outstanding_ore,
                           &m->total.reclaim_ore, &m->total.not_due_ore};
        for (int k = 0; k < 5; k++) {
            if (!int_in_range(r, i, k + 1, field[k]) ||
                __builtin_add_overflow(*sum[k], *field[k], sum[k])) {
                snprintf(err, errlen, "a balance total of code %s is out of range", t->code);
                return false;
            }
        }
    }
    return true;
}

static void figures_parse(struct muni *m)
{
    const PGresult *r = m->figures;
    for (int i = 0; i < PQntuples(r); i++) {
        int part = atoi(PQgetvalue(r, i, 0));
        if (part == 0) {
            m->months[m->nmonths++] =
                (struct report_month){day_of(r, i, 2), int_of(r, i, 6), int_of(r, i, 7)};
        } else if (part == 1 && m->ndisc < TOP_DISCREPANCIES) {
            m->disc[m->ndisc++] = (struct report_discrepancy){
                day_of(r, i, 2), value(r, i, 3),  value(r, i, 4), value(r, i, 5),
                int_of(r, i, 6), int_of(r, i, 7), value(r, i, 8)};
        } else if (part == 2 && m->nclasses < MAX_CLASSES) {
            m->classes[m->nclasses++] =
                (struct report_class_count){value(r, i, 8), int_of(r, i, 9), int_of(r, i, 7)};
        }
    }
}

static void changes_parse(struct muni *m)
{
    const PGresult *r = m->changes;
    for (int i = 0; i < PQntuples(r); i++)
        m->changes_v[m->nchanges++] =
            (struct report_change){value(r, i, 0), value(r, i, 1), value(r, i, 2), value(r, i, 3),
                                   value(r, i, 4), value(r, i, 5), value(r, i, 6)};
}

/* The arrays the balance, figures and changes rows are parsed into (freed by muni_free). */
static bool muni_alloc(struct muni *m, char *err, size_t errlen)
{
    m->by_code = calloc((size_t)PQntuples(m->balance) + 1, sizeof *m->by_code);
    m->months = calloc((size_t)PQntuples(m->figures) + 1, sizeof *m->months);
    m->changes_v = calloc((size_t)PQntuples(m->changes) + 1, sizeof *m->changes_v);
    if (m->by_code != NULL && m->months != NULL && m->changes_v != NULL)
        return true;
    snprintf(err, errlen, "out of memory");
    return false;
}

/* Everything about one municipality, in one transaction under its scope. */
static bool muni_read(PGconn *pg, const struct job *j, struct muni *m, char *err, size_t errlen)
{
    const char *at = j->cut->at_utc;
    const char *pr[3] = {m->code, j->recon_month, at};
    const char *pb[2] = {m->code, at};
    const char *pe[2] = {m->code, j->cut_day};
    bool ok =
        begin_scoped(pg, m->code, err, errlen) &&
        pg_exec_ok(pg, rows_fill_sql, 2, pb, "reconciliation rows", err, errlen) &&
        (m->json = pg_exec(pg, recon_json_sql, 3, pr, "reconciliation (json)", err, errlen)) !=
            NULL &&
        (m->csv = pg_exec(pg, recon_csv_sql, 2, pr, "reconciliation (csv)", err, errlen)) != NULL &&
        (m->balance = pg_exec(pg, balance_sql, 1, &at, "balance", err, errlen)) != NULL &&
        (m->figures = pg_exec(pg, figures_sql, 1, &j->ended_before_p, "monthly figures", err,
                              errlen)) != NULL &&
        (m->changes = pg_exec(pg, changes_sql, 2, pe, "changes", err, errlen)) != NULL &&
        (m->sie = pg_exec(pg, sie_sql, 2, pb, "journals", err, errlen)) != NULL &&
        pg_exec_ok(pg, "COMMIT", 0, NULL, "COMMIT", err, errlen);
    if (!ok) {
        rollback(pg);
        return false;
    }
    if (!muni_alloc(m, err, errlen) || !balance_parse(m, err, errlen))
        return false;
    figures_parse(m);
    changes_parse(m);
    return true;
}

/* ------------------------------------------------------------------ one municipality's files */

static bool sie_build(const struct muni *m, int32_t date, const struct ledger_chart *chart,
                      struct strbuf *out, char *err, size_t errlen)
{
    const PGresult *r = m->sie;
    size_t n = (size_t)PQntuples(r);
    struct ledger_sie_posting *p = alloc_rows(n, sizeof *p, err, errlen);
    if (p == NULL)
        return false;
    int32_t first = date, last = date;
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        p[i] = (struct ledger_sie_posting){
            int_of(r, row, 0),     strcmp(PQgetvalue(r, row, 1), "t") == 0,
            PQgetvalue(r, row, 2), day_of(r, row, 3),
            day_of(r, row, 4),     PQgetvalue(r, row, 5),
            value(r, row, 6),      int_of(r, row, 7),
            int_of(r, row, 8)};
        first = i == 0 || p[i].recorded_on < first ? p[i].recorded_on : first;
        last = i == 0 || p[i].recorded_on > last ? p[i].recorded_on : last;
    }
    int y, mo, d;
    civil_to_ymd(first, &y, &mo, &d);
    int32_t year_from = civil_from_ymd(y, 1, 1);
    civil_to_ymd(last, &y, &mo, &d);
    struct ledger_sie_file f = {m->code, m->name, year_from, civil_from_ymd(y, 12, 31), date};
    bool ok = ledger_sie_write(out, &f, chart, p, n, err, errlen);
    free(p);
    return ok;
}

static void summary_build(const struct job *j, const struct muni *m, struct strbuf *out)
{
    struct report_summary s = {
        m->code,    m->name,    REIMBURSED_VERSION, cut_info(j->cut), j->recon_month_day,
        m->total,   m->by_code, m->nby_code,        m->months,        m->nmonths,
        m->disc,    m->ndisc,   m->classes,         m->nclasses,      m->changes_v,
        m->nchanges};
    report_html_summary(out, &s);
}

static bool put(const char *dir, const char *name, const char *data, size_t len,
                struct report_outcome *o)
{
    if (!report_file_write(dir, name, data, len, o->error, sizeof o->error))
        return false;
    o->files++;
    o->bytes += len;
    return true;
}

static bool muni_write(const struct job *j, const struct muni *m, struct report_outcome *o)
{
    char dir[4096];
    struct strbuf sie = {0}, html = {0};
    snprintf(dir, sizeof dir, "%s/%s", j->dir, m->code);
    bool ok = dir_make(dir, o->error, sizeof o->error) &&
              put(dir, "reconciliation.csv", PQgetvalue(m->csv, 0, 0),
                  (size_t)PQgetlength(m->csv, 0, 0), o) &&
              put(dir, "reconciliation.json", PQgetvalue(m->json, 0, 0),
                  (size_t)PQgetlength(m->json, 0, 0), o) &&
              sie_build(m, j->cut->date, j->chart, &sie, o->error, sizeof o->error);
    if (ok && sie.oom)
        snprintf(o->error, sizeof o->error, "out of memory");
    ok = ok && !sie.oom && put(dir, "ledger.se", strbuf_cstr(&sie), sie.len, o);
    if (ok) {
        summary_build(j, m, &html);
        if (html.oom)
            snprintf(o->error, sizeof o->error, "out of memory");
        ok = !html.oom && put(dir, "summary.html", strbuf_cstr(&html), html.len, o) &&
             dir_sync(dir, o->error, sizeof o->error);
    }
    strbuf_free(&sie);
    strbuf_free(&html);
    return ok;
}

static void muni_report(PGconn *pg, const struct job *j, struct report_outcome *o)
{
    struct muni m = {.code = o->municipality, .name = o->name};
    char err[256] = "";
    if (!muni_read(pg, j, &m, err, sizeof err)) {
        snprintf(o->error, sizeof o->error, "%s", err);
        o->ok = false;
    } else {
        o->total = m.total;
        o->ok = muni_write(j, &m, o);
    }
    muni_free(&m);
}

static void muni_work(void *ctx, int worker, PGconn *pg, size_t item)
{
    struct job *j = ctx;
    (void)worker;
    muni_report(pg, j, &j->out[item]);
}

/* Runs the job on up to `jobs` connections (pg_workers.h). */
static void workers_run(PGconn *pg, struct job *j, int jobs)
{
    struct pg_workers w = {pg,        NULL, "SET client_min_messages = warning", NULL, jobs, j->n,
                           muni_work, j};
    pg_workers_run(&w);
}

/* ------------------------------------------------------------------ the whole run */

static bool munis_load(PGconn *pg, const struct report_cut *cut, struct report_result *res,
                       char *err, size_t errlen)
{
    PGresult *r = NULL;
    if (begin_scoped(pg, "*", err, errlen))
        r = pg_exec(pg, munis_sql, 1, (const char *[]){cut->at_utc}, "listing municipalities", err,
                    errlen);
    if (r == NULL || !pg_exec_ok(pg, "COMMIT", 0, NULL, "COMMIT", err, errlen)) {
        rollback(pg);
        PQclear(r);
        return false;
    }
    res->nmunis = (size_t)PQntuples(r);
    res->munis = calloc(res->nmunis + 1, sizeof *res->munis);
    for (size_t i = 0; res->munis != NULL && i < res->nmunis; i++) {
        snprintf(res->munis[i].municipality, sizeof res->munis[i].municipality, "%s",
                 PQgetvalue(r, (int)i, 0));
        snprintf(res->munis[i].name, sizeof res->munis[i].name, "%s", PQgetvalue(r, (int)i, 1));
    }
    PQclear(r);
    if (res->munis == NULL)
        snprintf(err, errlen, "out of memory");
    return res->munis != NULL;
}

static bool index_write(const char *dir, struct report_result *res, char *err, size_t errlen)
{
    struct report_index_row *rows = alloc_rows(res->nmunis, sizeof *rows, err, errlen);
    if (rows == NULL)
        return false;
    for (size_t i = 0; i < res->nmunis; i++)
        rows[i] = (struct report_index_row){res->munis[i].municipality, res->munis[i].name,
                                            !res->munis[i].ok, res->munis[i].total};
    struct report_index ix = {REIMBURSED_VERSION, cut_info(&res->cut), res->recon_month, rows,
                              res->nmunis};
    struct strbuf html = {0};
    report_html_index(&html, &ix);
    bool ok = !html.oom &&
              report_file_write(dir, "index.html", strbuf_cstr(&html), html.len, err, errlen) &&
              dir_sync(dir, err, errlen);
    if (html.oom)
        snprintf(err, errlen, "out of memory");
    if (ok) {
        res->files++;
        res->bytes += html.len;
    }
    strbuf_free(&html);
    free(rows);
    return ok;
}

static void job_init(struct job *j, const struct report_result *res, const char *dir,
                     const struct ledger_chart *chart)
{
    memset(j, 0, sizeof *j);
    j->cut = &res->cut;
    j->dir = dir;
    j->chart = chart;
    j->out = res->munis;
    j->n = res->nmunis;
    j->recon_month_day = res->recon_month;
    civil_format(res->cut.date, j->cut_day);
    civil_format(res->recon_month, j->recon_month);
    civil_format(civil_month_start(res->cut.date), j->ended_before);
    j->ended_before_p = j->ended_before;
}

bool report_run(PGconn *pg, int32_t date, const char *dir, int jobs,
                const struct ledger_chart *chart, struct report_result *res, char *err,
                size_t errlen)
{
    memset(res, 0, sizeof *res);
    res->recon_month = civil_month_start(civil_month_start(date) - 1);
    if (!dir_make(dir, err, errlen) || !report_cut_find(pg, date, &res->cut, err, errlen) ||
        !munis_load(pg, &res->cut, res, err, errlen))
        return false;
    struct job j;
    job_init(&j, res, dir, chart);
    workers_run(pg, &j, jobs);
    res->ok = true;
    for (size_t i = 0; i < res->nmunis; i++) {
        res->ok = res->ok && res->munis[i].ok;
        res->files += res->munis[i].files;
        res->bytes += res->munis[i].bytes;
    }
    char ierr[256];
    if (!index_write(dir, res, ierr, sizeof ierr)) {
        snprintf(err, errlen, "%s", ierr);
        res->ok = false;
    }
    return true;
}

void report_result_free(struct report_result *res)
{
    free(res->munis);
    res->munis = NULL;
    res->nmunis = 0;
}
