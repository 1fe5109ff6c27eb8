/* rules_sql_agree: the two rules SQL must keep a copy of agree with their home in
 * daemon/rules/accrual.c (RULES.md §2), on every case of the rules' tests, evaluated by the
 * fixture's PostgreSQL.
 *
 *   - Days in housing: rb_housing(...) (the generated column placements.housing, which the
 *     exclusion constraint placements_no_overlap, api.check_overlap and the run's selection use)
 *     against accrual_housing_start/end, for every row of tests/unit/housing_cases.h and its
 *     exhaustive grid; the overlap of every pair against the C ranges' intersection; and that the
 *     column and the constraint are still built on rb_housing.
 *   - The rate in force: the view rate_schedule (a row holds until the next row of its code, via
 *     lead()) evaluated over the rows of tests/unit/rate_cases.h, loaded as the run loads it,
 *     against accrual_rate_on and the cases' expected amounts.
 *
 * Reads RB_DB_ADMIN from $RB_FIXTURE/env. Writes nothing: the rate rows live in a temporary
 * table of a transaction that is rolled back. */
#include "accrual.h"
#include "civil_date.h"
#include "housing_cases.h"
#include "rate_cases.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static int32_t day_of(int y, int m, int d)
{
    return civil_from_ymd(y, m, d);
}

static void array_add(char *buf, size_t cap, size_t *len, int32_t day)
{
    char d[CIVIL_DATE_LEN + 1];
    if (day == ACCRUAL_NO_DAY)
        snprintf(d, sizeof d, "NULL");
    else
        civil_format(day, d);
    *len += (size_t)snprintf(buf + *len, cap - *len, "%s%s", *len > 1 ? "," : "", d);
}

static PGresult *query(PGconn *pg, const char *sql, int n, const char *const *params,
                       ExecStatusType want)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != want) {
        fprintf(stderr, "FAIL: %s: %s", sql, PQerrorMessage(pg));
        PQclear(res);
        exit(1);
    }
    return res;
}

/* The C range of case k as SQL prints it: "empty" or "[lower,upper)" with an open upper empty. */
static void c_range(const struct accrual_facts *f, char *out, size_t len)
{
    int32_t s = accrual_housing_start(f), e = accrual_housing_end(f);
    char a[CIVIL_DATE_LEN + 1], b[CIVIL_DATE_LEN + 1] = "";
    if (s >= e) {
        snprintf(out, len, "empty");
        return;
    }
    civil_format(s, a);
    if (e != ACCRUAL_OPEN)
        civil_format(e, b);
    snprintf(out, len, "[%s,%s)", a, b);
}

static bool c_overlap(const struct accrual_facts *x, const struct accrual_facts *y)
{
    int32_t sx = accrual_housing_start(x), ex = accrual_housing_end(x);
    int32_t sy = accrual_housing_start(y), ey = accrual_housing_end(y);
    if (sx >= ex || sy >= ey)
        return false;
    return (sx > sy ? sx : sy) < (ex < ey ? ex : ey);
}

static const char housing_sql[] =
    "WITH t AS (SELECT k, rb_housing(a, i, o, r) AS h FROM unnest($1::date[], $2::date[], "
    "$3::date[], $4::date[]) WITH ORDINALITY AS u(a, i, o, r, k)) "
    "SELECT x.h::text, string_agg(CASE WHEN x.h && y.h THEN '1' ELSE '0' END, '' ORDER BY y.k) "
    "FROM t x CROSS JOIN t y GROUP BY x.k, x.h ORDER BY x.k";

static void check_housing(PGconn *pg)
{
    static struct accrual_facts f[HOUSING_ALL];
    static char arr[4][HOUSING_ALL * 12 + 3];
    size_t len[4];
    for (int c = 0; c < 4; c++) {
        arr[c][0] = '{';
        len[c] = 1;
    }
    for (size_t k = 0; k < HOUSING_ALL; k++) {
        int32_t d[4];
        housing_case_dates(k, day_of, ACCRUAL_NO_DAY, d);
        f[k] = (struct accrual_facts){d[0], d[1], d[2], d[3], day_of(2000, 1, 1), false};
        array_add(arr[0], sizeof arr[0], &len[0], f[k].assigned_on);
        array_add(arr[1], sizeof arr[1], &len[1], f[k].moved_in_on);
        array_add(arr[2], sizeof arr[2], &len[2], f[k].moved_out_on);
        array_add(arr[3], sizeof arr[3], &len[3], f[k].registered_on);
    }
    for (int c = 0; c < 4; c++)
        snprintf(arr[c] + len[c], sizeof arr[c] - len[c], "}");
    const char *p[4] = {arr[0], arr[1], arr[2], arr[3]};
    int before = failures;
    PGresult *res = query(pg, housing_sql, 4, p, PGRES_TUPLES_OK);
    if (PQntuples(res) != (int)HOUSING_ALL)
        fail("rb_housing: %d rows, want %zu", PQntuples(res), (size_t)HOUSING_ALL);
    for (int k = 0; k < PQntuples(res) && k < (int)HOUSING_ALL; k++) {
        char want[32];
        const char *what = k < (int)HOUSING_CASES ? housing_cases[k].what : "grid";
        c_range(&f[k], want, sizeof want);
        if (strcmp(PQgetvalue(res, k, 0), want) != 0) {
            fail("case %d (%s): rb_housing %s, accrual_housing_start/end %s", k, what,
                 PQgetvalue(res, k, 0), want);
        }
        const char *bits = PQgetvalue(res, k, 1);
        for (size_t j = 0; j < HOUSING_ALL && strlen(bits) == HOUSING_ALL; j++)
            if ((bits[j] == '1') != c_overlap(&f[k], &f[j]))
                fail("case %d (%s): && with case %zu differs from the C ranges", k, what, j);
    }
    PQclear(res);
    if (failures == before)
        printf("# rb_housing: %zu cases and %zu pairs agree with accrual_housing_start/end\n",
               (size_t)HOUSING_ALL, (size_t)HOUSING_ALL * HOUSING_ALL);
}

/* The column and the constraint are built on rb_housing (else the check above proves nothing). */
static void check_wiring(PGconn *pg)
{
    static const char sql[] =
        "SELECT (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
        "ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = 'placements'::regclass "
        "AND a.attname = 'housing'), (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE "
        "conname = 'placements_no_overlap' AND conrelid = 'placements'::regclass)";
    PGresult *res = query(pg, sql, 0, NULL, PGRES_TUPLES_OK);
    if (strcmp(PQgetvalue(res, 0, 0),
               "rb_housing(assigned_on, moved_in_on, moved_out_on, registered_on)") != 0)
        fail("placements.housing is %s, not rb_housing(...)", PQgetvalue(res, 0, 0));
    if (strcmp(PQgetvalue(res, 0, 1), "EXCLUDE USING gist (person_id WITH =, housing WITH &&)") !=
        0)
        fail("placements_no_overlap is %s", PQgetvalue(res, 0, 1));
    PQclear(res);
}

/* rate_schedule's own definition, evaluated over the cases' rows in a temporary `rates`. */
static void load_schedule(PGconn *pg, struct accrual_rate rows[ACCRUAL_CODES][RATE_CASE_ROWS],
                          struct accrual_schedule *s)
{
    PGresult *res =
        query(pg, "SELECT pg_get_viewdef('rate_schedule'::regclass)", 0, NULL, PGRES_TUPLES_OK);
    char *def = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQclear(query(pg, "BEGIN", 0, NULL, PGRES_COMMAND_OK));
    PQclear(query(pg,
                  "CREATE TEMP TABLE rates (LIKE public.rates INCLUDING DEFAULTS) ON COMMIT DROP",
                  0, NULL, PGRES_COMMAND_OK));
    PQclear(query(pg, "SET LOCAL search_path = pg_temp, public", 0, NULL, PGRES_COMMAND_OK));
    for (size_t i = 0; i < RATE_CASE_ROWS_N; i++) {
        const struct rate_case_row *r = &rate_case_rows[i];
        char from[CIVIL_DATE_LEN + 1], amount[24];
        civil_format(civil_from_ymd(r->from.y, r->from.m, r->from.d), from);
        snprintf(amount, sizeof amount, "%lld", (long long)r->amount_ore);
        const char *p[3] = {accrual_code_name(r->code), from, r->has_amount ? amount : NULL};
        PQclear(query(pg, "INSERT INTO rates (code, valid_from, amount_ore) VALUES ($1, $2, $3)", 3,
                      p, PGRES_COMMAND_OK));
    }
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT code, valid_from, valid_to, amount_ore FROM (%.*s) v "
             "ORDER BY code, valid_from",
             (int)strcspn(def, ";"), def);
    free(def);
    res = query(pg, sql, 0, NULL, PGRES_TUPLES_OK);
    memset(s, 0, sizeof *s);
    for (int i = 0; i < PQntuples(res); i++) {
        enum accrual_code c;
        int32_t from, to = ACCRUAL_OPEN;
        if (!accrual_code_parse(PQgetvalue(res, i, 0), &c) || s->n[c] == RATE_CASE_ROWS)
            continue;
        civil_parse(PQgetvalue(res, i, 1), strlen(PQgetvalue(res, i, 1)), &from);
        if (!PQgetisnull(res, i, 2))
            civil_parse(PQgetvalue(res, i, 2), strlen(PQgetvalue(res, i, 2)), &to);
        rows[c][s->n[c]++] = (struct accrual_rate){from, to, !PQgetisnull(res, i, 3),
                                                   strtoll(PQgetvalue(res, i, 3), NULL, 10)};
    }
    for (int c = 0; c < ACCRUAL_CODES; c++)
        s->rows[c] = rows[c];
    PQclear(res);
    PQclear(query(pg, "ROLLBACK", 0, NULL, PGRES_COMMAND_OK));
}

static void check_rates(PGconn *pg)
{
    static struct accrual_rate rows[ACCRUAL_CODES][RATE_CASE_ROWS];
    struct accrual_schedule s;
    int before = failures;
    load_schedule(pg, rows, &s);
    for (size_t i = 0; i < RATE_CASE_PROBES_N; i++) {
        const struct rate_case_probe *p = &rate_case_probes[i];
        int64_t a = -1;
        int32_t day = civil_from_ymd(p->day.y, p->day.m, p->day.d);
        bool in = accrual_rate_on(&s, p->code, day, &a);
        if (in != p->in_force || (in && a != p->amount_ore))
            fail("rate_schedule: probe %zu: %s", i, in ? "another amount" : "no rate");
    }
    if (failures == before)
        printf("# rate_schedule: %zu probes agree with accrual_rate_on\n",
               (size_t)RATE_CASE_PROBES_N);
}

static char *env_value(const char *key)
{
    const char *dir = getenv("RB_FIXTURE");
    char path[4096], line[4096];
    size_t kl = strlen(key);
    snprintf(path, sizeof path, "%s/env", dir ? dir : ".");
    FILE *f = fopen(path, "r");
    char *v = NULL;
    while (f != NULL && v == NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            line[strcspn(line, "\n")] = '\0';
            v = strdup(line + kl + 1);
        }
    if (f != NULL)
        fclose(f);
    return v;
}

int main(void)
{
    char *conninfo = env_value("RB_DB_ADMIN");
    if (conninfo == NULL) {
        fprintf(stderr, "FAIL: no RB_DB_ADMIN in $RB_FIXTURE/env\n");
        return 1;
    }
    PGconn *pg = PQconnectdb(conninfo);
    free(conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "FAIL: connecting: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return 1;
    }
    check_wiring(pg);
    check_housing(pg);
    check_rates(pg);
    PQfinish(pg);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
