/* test_ledger: integration tests of the ledger through the real daemon over HTTPS (RULES.md
 * §2–§3, proto/openapi.yaml): hand-computed accrual scenarios, the accrual-run rules, allocations,
 * an accrual run with other requests served meanwhile, and invariants after a seeded random
 * sequence of facts and runs.
 *
 * Reads $RB_FIXTURE/env like test_api (harness.c) and prints `ok N - name` / `not ok N - name:
 * why`, then `P passed, F failed`. Environment: RB_SEED (the random sequence's seed, default
 * 20240101; printed as `# seed N`), RB_LOAD_N (placements created for the in-flight run, default
 * 3000).
 *
 * Accrual runs are global and their `through` never goes back, and the database may hold runs
 * from before this program started. So the first test reads the latest done run's `through`,
 * every run here uses max(wanted, latest) (capped at 2026-10-31 or yesterday in Stockholm,
 * whichever is earlier), the tests are ordered so the wanted days only grow, and hand-computed
 * expectations are only written for placements that have ended (they do not depend on how far
 * the ledger has been accrued once it is past their end).
 *
 * The scenarios' amounts are written out by hand from the schedule the migrations install
 * (RULES.md §2, from 2022-07-01): MOVE_IN 1 500 000 öre, DAY_CHILD 15 000 per day,
 * DAY_ADULT 30 000 per day, DAY_FORMER_UAM 40 000 per day on top of adult, ALLOCATION_PLACE
 * 1 000 000 per place. The random sequence instead checks every placement's accruals against a
 * small re-implementation of the rules over the schedule read from GET /v1/rates, and after each
 * run that every journal balances, that running again posts nothing, and that everything owed is
 * posted; every request it makes is predicted (accepted, or refused with which error) from a model
 * of the facts, and a refused one must leave the placement byte-for-byte as it was.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NO_DAY INT32_MIN
#define OPEN_END INT32_MAX

#define PLACE_ORE 1000000LL

#define ALLOC_MUNI "2584" /* Kiruna: only the allocation test uses it */
#define LOAD_MUNI "2523"  /* Gällivare: only the in-flight run's load uses it */

/* ------------------------------------------------------------------------------------------ */
/* Civil dates as day numbers (days since 1970-01-01)                                         */

static int32_t D(const char *s)
{
    int y, m, d;
    if (s == NULL || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return NO_DAY;
    int32_t z = harness_days_from_civil(y, m, d);
    int yy, mm, dd;
    harness_civil_from_days(z, &yy, &mm, &dd);
    return yy == y && mm == m && dd == d ? z : NO_DAY;
}

/* "YYYY-MM-DD" (pooled); NULL for NO_DAY. */
static const char *dfmt(int32_t z)
{
    if (z == NO_DAY)
        return NULL;
    int y, m, d;
    harness_civil_from_days(z, &y, &m, &d);
    return kstrf("%04d-%02d-%02d", y, m, d);
}

/* "YYYY-MM-DD" (pooled), never NULL: "(none)" for NO_DAY. */
static const char *dstr(int32_t z)
{
    return z == NO_DAY ? "(none)" : dfmt(z);
}

/* "YYYY-MM" of the month holding z (pooled). */
static const char *mfmt(int32_t z)
{
    int y, m, d;
    harness_civil_from_days(z, &y, &m, &d);
    return kstrf("%04d-%02d", y, m);
}

static int32_t month_start(int32_t z)
{
    int y, m, d;
    harness_civil_from_days(z, &y, &m, &d);
    return harness_days_from_civil(y, m, 1);
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The 18th birthday; born 29 February, it is 1 March in a common year. */
static int32_t adult_from(int32_t birth)
{
    int y, m, d;
    harness_civil_from_days(birth, &y, &m, &d);
    if (m == 2 && d == 29 && !leap(y + 18))
        return harness_days_from_civil(y + 18, 3, 1);
    return harness_days_from_civil(y + 18, m, d);
}

static int32_t min32(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

static int32_t max32(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON helpers                                                                               */

/* ------------------------------------------------------------------------------------------ */
/* Accrual runs                                                                               */

static int32_t g_latest = NO_DAY; /* the latest done run's through, as far as we know */
static int32_t g_cap;             /* the last day a run here may go through */
static int32_t g_today;           /* in Stockholm */

/* A run result: {"run_id", "through", "status":"done", "lines_posted", "parked", "totals",
 * "errors":[]}. */
static bool check_run(int line, const json_t *run, int32_t through)
{
    const char *id = js(run, "run_id");
    long long lines;
    if (id == NULL || !all_digits(id))
        return failf(line, "run_id is not a string of digits: %s", dump(run));
    if (!str_eq(js(run, "through"), dfmt(through)))
        return failf(line, "through is not %s: %s", dstr(through), dump(run));
    if (!str_eq(js(run, "status"), "done"))
        return failf(line, "the run's status is not done: %s", dump(run));
    if (!jint(run, "lines_posted", &lines) || lines < 0)
        return failf(line, "lines_posted is not a non-negative integer: %s", dump(run));
    json_t *errors = json_object_get(run, "errors");
    if (errors != NULL && (!json_is_array(errors) || json_array_size(errors) > 0))
        return failf(line, "the run has errors: %s", dump(errors));
    if (!json_is_array(json_object_get(run, "parked")))
        return failf(line, "parked is not an array: %s", dump(run));
    json_t *totals = json_object_get(run, "totals");
    if (!json_is_array(totals))
        return failf(line, "totals is not an array: %s", dump(run));
    size_t i;
    json_t *t;
    json_array_foreach(totals, i, t)
    {
        long long a;
        if (js(t, "municipality") == NULL || js(t, "code") == NULL || !jint(t, "amount_ore", &a))
            return failf(line, "a totals item lacks municipality, code or amount_ore: %s", dump(t));
    }
    return true;
}

/* The through a run wanting `wanted` uses: never before the latest run, never after the cap. */
static int32_t through_for(int32_t wanted)
{
    int32_t t = min32(wanted, g_cap);
    if (g_latest != NO_DAY && t < g_latest)
        t = g_latest;
    return t;
}

/* POST /v1/accruals/run (admin) through through_for(wanted): 200 and a done run. */
static bool run_accrual(int32_t wanted, json_t **out)
{
    int32_t t = through_for(wanted);
    struct resp r;
    TRY(harness_post_run(dstr(t), &r));
    TRY(check_run(__LINE__, r.json, t));
    g_latest = t;
    if (out != NULL)
        *out = r.json;
    return true;
}

/* GET /v1/accruals/runs/{id} as admin: 1 when it exists (the run in *out), 0 on 404. */

static bool t_latest_run(void)
{
    g_today = harness_stockholm_day(time(NULL));
    g_cap = min32(D("2026-10-31"), g_today - 1);
    char through[16];
    TRY(harness_latest_done_through(through, sizeof through));
    g_latest = through[0] ? D(through) : NO_DAY;
    CHECK(!through[0] || g_latest != NO_DAY, "the latest run has no through: %s", through);
    printf("# today in Stockholm %s; latest done run %s; runs here go through at most %s\n",
           dstr(g_today), g_latest == NO_DAY ? "(none)" : dstr(g_latest),
           dstr(max32(g_cap, g_latest)));
    CHECK(g_latest == NO_DAY || g_latest < g_today,
          "the latest run's through %s is not before today", dstr(g_latest));
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Placement accruals and ledger entries                                                      */

/* GET /v1/placements/{id}/accruals: 200 and the documented shape. */
static bool accruals(const char *token, const char *id, json_t **out)
{
    struct resp r;
    TRY(GET(ppath(id, "/accruals"), token, &r));
    EXPECT_STATUS(&r, 200);
    json_t *a = r.json;
    long long n;
    CHECK(str_eq(js(a, "placement_id"), id), "placement_id is not \"%s\": %s", id, snip(&r));
    CHECK(json_object_get(a, "through") != NULL, "no through: %s", snip(&r));
    CHECK(jint(a, "total_owed_ore", &n) && jint(a, "total_posted_ore", &n),
          "total_owed_ore/total_posted_ore are not integers: %s", snip(&r));
    json_t *lines;
    TRY(get_array(__LINE__, a, "lines", &r, &lines));
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        const char *m = js(l, "month");
        CHECK(m != NULL && strlen(m) == 7 && m[4] == '-' && js(l, "code") != NULL &&
                  jint(l, "days", &n) && jint(l, "owed_ore", &n) && jint(l, "posted_ore", &n),
              "line %zu lacks month (YYYY-MM), code, days, owed_ore or posted_ore: %s", i, dump(l));
    }
    *out = a;
    return true;
}

static json_t *find_line(const json_t *acc, const char *month, const char *code)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(acc, "lines"), i, l)
    {
        if (str_eq(js(l, "month"), month) && str_eq(js(l, "code"), code))
            return l;
    }
    return NULL;
}

/* Every line's owed equals what is posted, and so do the totals. */
static bool owed_is_posted(int line, const json_t *acc)
{
    if (jint0(acc, "total_owed_ore") != jint0(acc, "total_posted_ore"))
        return failf(line, "total_owed_ore %lld != total_posted_ore %lld: %s",
                     jint0(acc, "total_owed_ore"), jint0(acc, "total_posted_ore"), dump(acc));
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(acc, "lines"), i, l)
    {
        if (jint0(l, "owed_ore") != jint0(l, "posted_ore"))
            return failf(line, "line %s %s: owed %lld, posted %lld: %s", js(l, "month"),
                         js(l, "code"), jint0(l, "owed_ore"), jint0(l, "posted_ore"), dump(acc));
    }
    return true;
}

struct eline {
    const char *month, *code;
    int days;
    long long ore;
};

/* The accruals hold exactly these lines, each posted as owed; any other line has nothing owed
 * and nothing posted (a reversed one). */
static bool expect_lines(int line, const json_t *acc, const struct eline *e, size_t n)
{
    long long total = 0;
    for (size_t k = 0; k < n; k++) {
        json_t *l = find_line(acc, e[k].month, e[k].code);
        if (l == NULL)
            return failf(line, "no line %s %s: %s", e[k].month, e[k].code, dump(acc));
        if (jint0(l, "days") != e[k].days || jint0(l, "owed_ore") != e[k].ore ||
            jint0(l, "posted_ore") != e[k].ore)
            return failf(line, "line %s %s: expected %d days, owed = posted = %lld; got %s",
                         e[k].month, e[k].code, e[k].days, e[k].ore, dump(l));
        total += e[k].ore;
    }
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(acc, "lines"), i, l)
    {
        bool listed = false;
        for (size_t k = 0; k < n; k++)
            listed =
                listed || (str_eq(js(l, "month"), e[k].month) && str_eq(js(l, "code"), e[k].code));
        if (!listed && (jint0(l, "owed_ore") != 0 || jint0(l, "posted_ore") != 0))
            return failf(line, "unexpected line %s: %s", dump(l), dump(acc));
    }
    if (jint0(acc, "total_owed_ore") != total || jint0(acc, "total_posted_ore") != total)
        return failf(line, "totals: expected owed = posted = %lld: %s", total, dump(acc));
    if (json_object_get(acc, "parked") != NULL)
        return failf(line, "the placement is parked: %s", dump(acc));
    return true;
}

/* GET the accruals of placement id with token into *acc and expect_lines() on them. */
static bool accruals_match(int line, const char *token, const char *id, const struct eline *e,
                           size_t n, json_t **acc)
{
    TRY(accruals(token, id, acc));
    return expect_lines(line, *acc, e, n);
}

/* Every posting of GET /v1/ledger/entries?filters (all pages) whose `key` is `id`. */
static bool entries_for(const char *token, const char *filters, const char *key, const char *id,
                        json_t **out)
{
    json_t *all = keep_json(json_array());
    const char *cursor = NULL;
    for (int page = 0; page < 100000; page++) {
        const char *path = kstrf("/v1/ledger/entries?limit=1000%s%s%s%s", filters[0] ? "&" : "",
                                 filters, cursor ? "&cursor=" : "", cursor ? esc(cursor) : "");
        struct resp r;
        json_t *items;
        TRY(get_items(path, token, &r, &items));
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            if (str_eq(js(it, key), id))
                json_array_append(all, it);
        }
        json_t *nc = json_object_get(r.json, "next_cursor");
        if (!json_is_string(nc)) {
            CHECK(json_is_null(nc), "next_cursor is neither null nor a string: %s", snip(&r));
            *out = all;
            return true;
        }
        cursor = json_string_value(nc);
    }
    return failf(__LINE__, "too many pages");
}

/* The sum of receivable postings in `ps` for month and code (NULL: any); sign > 0 sums only
 * positive amounts, sign < 0 only negative ones. */
static long long sum_postings(const json_t *ps, const char *month, const char *code, int sign)
{
    long long s = 0;
    size_t i;
    json_t *p;
    json_array_foreach(ps, i, p)
    {
        long long a = jint0(p, "amount_ore");
        if (!str_eq(js(p, "account"), "receivable") ||
            (month != NULL && !str_eq(js(p, "month"), month)) ||
            (code != NULL && !str_eq(js(p, "code"), code)) || (sign > 0 && a < 0) ||
            (sign < 0 && a > 0))
            continue;
        s += a;
    }
    return s;
}

/* A receivable posting in `ps` for month and code with exactly this amount, from run `run_id`
 * (NULL: any run). */
static bool has_posting(const json_t *ps, const char *month, const char *code, long long amount,
                        const char *run_id)
{
    size_t i;
    json_t *p;
    json_array_foreach(ps, i, p)
    {
        if (str_eq(js(p, "account"), "receivable") && str_eq(js(p, "month"), month) &&
            str_eq(js(p, "code"), code) && jint0(p, "amount_ore") == amount &&
            (run_id == NULL || str_eq(js(p, "run_id"), run_id)))
            return true;
    }
    return false;
}

/* Receivable postings per (month, code) equal the expected lines. */
static bool postings_match(int line, const json_t *ps, const struct eline *e, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        long long s = sum_postings(ps, e[k].month, e[k].code, 0);
        if (s != e[k].ore)
            return failf(line, "receivable postings for %s %s sum to %lld, expected %lld: %s",
                         e[k].month, e[k].code, s, e[k].ore, dump(ps));
    }
    long long total = 0;
    for (size_t k = 0; k < n; k++)
        total += e[k].ore;
    if (sum_postings(ps, NULL, NULL, 0) != total)
        return failf(line, "receivable postings sum to %lld, expected %lld: %s",
                     sum_postings(ps, NULL, NULL, 0), total, dump(ps));
    return true;
}

static bool correct(const char *token, const char *id, const char *field, const char *value_json,
                    struct resp *r)
{
    return POST(ppath(id, "/corrections"), token,
                kstrf("{\"field\":\"%s\",\"value\":%s,\"reason\":\"test: the recorded value was "
                      "wrong\"}",
                      field, value_json),
                NULL, r);
}

/* ------------------------------------------------------------------------------------------ */
/* Scenarios with hand-computed amounts                                                       */

/* (a) Born 2006-03-15 (18 on 2024-03-15), assigned and moved in 2024-01-10, moved out
 * 2024-04-02: Jan MOVE_IN + 22 child days (10..31), Feb 29 child days (leap year), Mar 14 child
 * days (1..14) and 17 adult days (15..31), Apr 1 adult day (the move-out day does not count). */
static bool t_child_turns_adult(void)
{
    struct pl p = {new_dossier(), "2006-03-15", "1480", "2024-01-10", "2024-01-10", 0};
    const char *id;
    TRY(create_ok(E.w1480, &p, NULL, &id));
    TRY(move_out_ok(E.w1480, id, "2024-04-02", "left_country"));
    TRY(run_accrual(D("2024-04-30"), NULL));
    static const struct eline want[] = {
        {"2024-01", "MOVE_IN", 0, 1500000},   {"2024-01", "DAY_CHILD", 22, 330000},
        {"2024-02", "DAY_CHILD", 29, 435000}, {"2024-03", "DAY_CHILD", 14, 210000},
        {"2024-03", "DAY_ADULT", 17, 510000}, {"2024-04", "DAY_ADULT", 1, 30000},
    };
    json_t *acc;
    TRY(accruals_match(__LINE__, E.w1480, id, want, ARRAY_LEN(want), &acc));
    CHECK(jint0(acc, "total_owed_ore") == 3015000, "total_owed_ore is not 3 015 000: %s",
          dump(acc));
    CHECK(json_array_size(json_object_get(acc, "lines")) == ARRAY_LEN(want),
          "expected exactly %zu lines: %s", ARRAY_LEN(want), dump(acc));
    CHECK(str_eq(js(acc, "through"), dfmt(g_latest)), "through is not the run's %s: %s",
          dstr(g_latest), dump(acc));
    /* The read client of the municipality sees the same; another municipality sees nothing. */
    json_t *acc2;
    TRY(accruals(E.r1480, id, &acc2));
    CHECK(json_equal(acc, acc2), "R1480 sees other accruals: %s", dump(acc2));
    struct resp r;
    TRY(GET(ppath(id, "/accruals"), E.w1481, &r));
    EXPECT_ERROR(&r, 404, "not_found", NULL);
    /* Regional planners (read, all municipalities) see no persons. */
    TRY(GET(ppath(id, "/accruals"), E.rstar, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    TRY(GET("/v1/ledger/entries?municipality=1480", E.rstar, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    /* The ledger holds the same amounts as receivable postings of the placement. */
    json_t *ps;
    TRY(entries_for(E.w1480, "municipality=1480&from=2024-01-01&to=2024-04-30", "placement_id", id,
                    &ps));
    TRY(postings_match(__LINE__, ps, want, ARRAY_LEN(want)));
    size_t i;
    json_t *it;
    json_array_foreach(ps, i, it)
    {
        CHECK(str_eq(js(it, "kind"), "accrual") && str_eq(js(it, "municipality"), "1480") &&
                  js(it, "journal_id") != NULL,
              "posting is not a 1480 accrual with a journal: %s", dump(it));
    }
    TRY(GET("/v1/ledger/entries?municipality=1480", E.w1481, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    return true;
}

/* (b) An adult moved in 2024-02-01; three months are accrued (Feb, Mar, Apr at least); then a
 * move-out dated 2024-02-10 is recorded: the next run posts negative lines (a reclaim) for Feb
 * 10..29 (20 days), March and April, leaving MOVE_IN and 9 days. */
static bool t_late_move_out(void)
{
    struct pl p = {new_dossier(), "1990-05-05", "1481", "2024-02-01", "2024-02-01", 0};
    const char *id;
    TRY(create_ok(E.w1481, &p, NULL, &id));
    json_t *run1, *run2;
    TRY(run_accrual(D("2024-04-30"), &run1));
    json_t *acc;
    TRY(accruals(E.w1481, id, &acc));
    TRY(owed_is_posted(__LINE__, acc));
    static const struct eline before[] = {
        {"2024-02", "MOVE_IN", 0, 1500000},
        {"2024-02", "DAY_ADULT", 29, 870000},
        {"2024-03", "DAY_ADULT", 31, 930000},
        {"2024-04", "DAY_ADULT", 30, 900000},
    };
    for (size_t k = 0; k < ARRAY_LEN(before); k++) {
        json_t *l = find_line(acc, before[k].month, before[k].code);
        CHECK(l != NULL && jint0(l, "days") == before[k].days &&
                  jint0(l, "owed_ore") == before[k].ore && jint0(l, "posted_ore") == before[k].ore,
              "before the move-out, line %s %s is not %d days, %lld öre: %s", before[k].month,
              before[k].code, before[k].days, before[k].ore, dump(acc));
    }
    long long posted_before = jint0(acc, "total_posted_ore");
    TRY(move_out_ok(E.w1481, id, "2024-02-10", "own_housing"));
    /* Before the next run the view shows what is owed now against what was posted. */
    TRY(accruals(E.w1481, id, &acc));
    CHECK(jint0(acc, "total_owed_ore") == 1770000 &&
              jint0(acc, "total_posted_ore") == posted_before,
          "after the move-out, before a run: expected owed 1 770 000 and posted %lld: %s",
          posted_before, dump(acc));
    TRY(run_accrual(D("2024-05-31"), &run2));
    CHECK(jint0(run2, "lines_posted") > 0, "the run after the move-out posted nothing: %s",
          dump(run2));
    static const struct eline after[] = {
        {"2024-02", "MOVE_IN", 0, 1500000},
        {"2024-02", "DAY_ADULT", 9, 270000},
    };
    TRY(accruals_match(__LINE__, E.w1481, id, after, ARRAY_LEN(after), &acc));
    /* The reclaim in the ledger: negative receivable postings from the second run. */
    json_t *ps;
    TRY(entries_for(E.admin, "municipality=1481&from=2024-02-01", "placement_id", id, &ps));
    const char *rid = js(run2, "run_id");
    CHECK(has_posting(ps, "2024-02", "DAY_ADULT", -600000, rid),
          "no posting of -600 000 for Feb 10..29 from run %s: %s", rid, dump(ps));
    CHECK(has_posting(ps, "2024-03", "DAY_ADULT", -930000, rid),
          "no posting of -930 000 for March from run %s: %s", rid, dump(ps));
    CHECK(has_posting(ps, "2024-04", "DAY_ADULT", -900000, rid),
          "no posting of -900 000 for April from run %s: %s", rid, dump(ps));
    CHECK(sum_postings(ps, NULL, NULL, -1) == 1770000 - posted_before,
          "the negative postings sum to %lld, expected %lld: %s", sum_postings(ps, NULL, NULL, -1),
          1770000 - posted_before, dump(ps));
    TRY(postings_match(__LINE__, ps, after, ARRAY_LEN(after)));
    return true;
}

/* (c) A birth-date correction that makes a child an adult retroactively: born 2008-06-01 is
 * corrected to 2005-06-01 (18 since 2023-06-01). Moved in 2024-01-15, out 2024-03-01: Jan 17 days,
 * Feb 29 days; DAY_CHILD is reversed and DAY_ADULT posted. */
static bool t_birth_date_correction(void)
{
    struct pl p = {new_dossier(), "2008-06-01", "1480", "2024-01-15", "2024-01-15", -1};
    const char *id;
    TRY(create_ok(E.w1480, &p, NULL, &id));
    TRY(move_out_ok(E.w1480, id, "2024-03-01", "other"));
    TRY(run_accrual(D("2024-05-31"), NULL));
    static const struct eline child[] = {
        {"2024-01", "MOVE_IN", 0, 1500000},
        {"2024-01", "DAY_CHILD", 17, 255000},
        {"2024-02", "DAY_CHILD", 29, 435000},
    };
    json_t *acc;
    TRY(accruals_match(__LINE__, E.w1480, id, child, ARRAY_LEN(child), &acc));
    struct resp r;
    TRY(correct(E.w1480, id, "birth_date", "\"2005-06-01\"", &r));
    EXPECT_STATUS(&r, 200);
    CHECK(str_eq(js(r.json, "birth_date"), "2005-06-01"), "birth_date not corrected: %s", snip(&r));
    json_t *ev = find_event(r.json, "correction");
    CHECK(ev != NULL && str_eq(js(ev, "field"), "birth_date") && js(ev, "reason") != NULL,
          "no correction event with field birth_date and a reason: %s", snip(&r));
    json_t *run;
    TRY(run_accrual(D("2024-05-31"), &run));
    static const struct eline adult[] = {
        {"2024-01", "MOVE_IN", 0, 1500000},
        {"2024-01", "DAY_ADULT", 17, 510000},
        {"2024-02", "DAY_ADULT", 29, 870000},
    };
    TRY(accruals_match(__LINE__, E.w1480, id, adult, ARRAY_LEN(adult), &acc));
    json_t *ps;
    TRY(entries_for(E.admin, "municipality=1480&from=2024-01-01&to=2024-02-29", "placement_id", id,
                    &ps));
    const char *rid = js(run, "run_id");
    CHECK(has_posting(ps, "2024-01", "DAY_CHILD", -255000, rid) &&
              has_posting(ps, "2024-02", "DAY_CHILD", -435000, rid),
          "DAY_CHILD not reversed by run %s: %s", rid, dump(ps));
    CHECK(has_posting(ps, "2024-01", "DAY_ADULT", 510000, rid) &&
              has_posting(ps, "2024-02", "DAY_ADULT", 870000, rid),
          "DAY_ADULT not posted by run %s: %s", rid, dump(ps));
    CHECK(sum_postings(ps, NULL, "DAY_CHILD", 0) == 0, "DAY_CHILD postings do not net to 0: %s",
          dump(ps));
    TRY(postings_match(__LINE__, ps, adult, ARRAY_LEN(adult)));
    return true;
}

/* (d) A transfer on one day D = 2024-03-20: the placement in 1481 ends on D (other_municipality),
 * the same person's placement in 1480 starts on D. Day D is paid to 1480 only: 1481 gets March
 * 1..19 (19 days), 1480 March 20..31 (12 days) and April 1..4 (moved out 2024-04-05). */
static bool t_transfer_same_day(void)
{
    const char *d = new_dossier();
    struct pl a = {d, "1985-01-01", "1481", "2024-03-01", "2024-03-01", 0};
    struct pl b = {d, "1985-01-01", "1480", "2024-03-20", "2024-03-20", -1};
    const char *ida, *idb;
    TRY(create_ok(E.w1481, &a, NULL, &ida));
    TRY(move_out_ok(E.w1481, ida, "2024-03-20", "other_municipality"));
    TRY(create_ok(E.w1480, &b, NULL, &idb));
    TRY(move_out_ok(E.w1480, idb, "2024-04-05", "left_country"));
    TRY(run_accrual(D("2024-05-31"), NULL));
    static const struct eline in1481[] = {
        {"2024-03", "MOVE_IN", 0, 1500000},
        {"2024-03", "DAY_ADULT", 19, 570000},
    };
    static const struct eline in1480[] = {
        {"2024-03", "MOVE_IN", 0, 1500000},
        {"2024-03", "DAY_ADULT", 12, 360000},
        {"2024-04", "DAY_ADULT", 4, 120000},
    };
    json_t *acc;
    TRY(accruals_match(__LINE__, E.w1481, ida, in1481, ARRAY_LEN(in1481), &acc));
    TRY(accruals_match(__LINE__, E.w1480, idb, in1480, ARRAY_LEN(in1480), &acc));
    json_t *ps;
    TRY(entries_for(E.w1481, "municipality=1481&from=2024-03-01&to=2024-04-30", "placement_id", ida,
                    &ps));
    TRY(postings_match(__LINE__, ps, in1481, ARRAY_LEN(in1481)));
    TRY(entries_for(E.w1480, "municipality=1480&from=2024-03-01&to=2024-04-30", "placement_id", idb,
                    &ps));
    TRY(postings_match(__LINE__, ps, in1480, ARRAY_LEN(in1480)));
    struct resp r;
    TRY(GET(ppath(ida, "/accruals"), E.w1480, &r));
    EXPECT_ERROR(&r, 404, "not_found", NULL);
    return true;
}

/* (e) Allocations 40 -> 55 -> 50 -> 60 for one municipality and year accrue 40, 15, 0 and 5
 * places in the months of their decisions; one dated before the latest is refused. The year is
 * picked at random in 2030..2099 among those without decisions (it is only a label here; the
 * decisions are dated in 2024 so that they are accrued). */
static bool t_allocations(void)
{
    struct resp r;
    unsigned char rb[2];
    int year = 0;
    for (int attempt = 0; attempt < 200 && year == 0; attempt++) {
        random_bytes(rb, sizeof rb);
        int y = 2030 + (rb[0] * 256 + rb[1]) % 70;
        TRY(GET(kstrf("/v1/allocations?municipality=" ALLOC_MUNI "&year=%d", y), E.admin, &r));
        EXPECT_STATUS(&r, 200);
        if (json_array_size(json_object_get(r.json, "items")) == 0)
            year = y;
    }
    CHECK(year != 0, "every year in 2030..2099 has allocations for " ALLOC_MUNI);
    static const struct {
        int places;
        const char *decided_on;
        int accrued;
        bool decrease;
    } steps[] = {
        {40, "2024-02-10", 40, false},
        {55, "2024-03-05", 15, false},
        {50, "2024-03-20", 0, true},
        {60, "2024-04-15", 5, false},
    };
    const char *ids[ARRAY_LEN(steps)];
    for (size_t k = 0; k < ARRAY_LEN(steps); k++) {
        TRY(POST("/v1/allocations", E.admin,
                 kstrf("{\"municipality\":\"" ALLOC_MUNI "\",\"year\":%d,\"places\":%d,"
                       "\"decided_on\":\"%s\"}",
                       year, steps[k].places, steps[k].decided_on),
                 NULL, &r));
        EXPECT_STATUS(&r, 201);
        ids[k] = js(r.json, "id");
        CHECK(ids[k] != NULL && jint0(r.json, "places") == steps[k].places &&
                  jint0(r.json, "accrued_places") == steps[k].accrued &&
                  jint0(r.json, "year") == year && str_eq(js(r.json, "municipality"), ALLOC_MUNI) &&
                  str_eq(js(r.json, "decided_on"), steps[k].decided_on),
              "decision %zu: expected places %d, accrued_places %d: %s", k, steps[k].places,
              steps[k].accrued, snip(&r));
        json_t *dec = json_object_get(r.json, "decrease");
        CHECK(steps[k].decrease ? json_is_true(dec) : (dec == NULL || json_is_false(dec)),
              "decision %zu: decrease should be %s: %s", k, steps[k].decrease ? "true" : "false",
              snip(&r));
    }
    /* Dated before the latest decision of that year: refused, and nothing recorded. */
    const char *late = kstrf("{\"municipality\":\"" ALLOC_MUNI "\",\"year\":%d,\"places\":70,"
                             "\"decided_on\":\"2024-04-01\"}",
                             year);
    TRY(POST("/v1/allocations", E.admin, late, NULL, &r));
    EXPECT_ERROR(&r, 409, "allocation_out_of_order", NULL);
    /* Another municipality's write client may not record it. */
    TRY(POST("/v1/allocations", E.w1480, late, NULL, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    TRY(GET(kstrf("/v1/allocations?municipality=" ALLOC_MUNI "&year=%d", year), E.admin, &r));
    EXPECT_STATUS(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    CHECK(json_array_size(items) == ARRAY_LEN(steps), "expected %zu decisions: %s",
          ARRAY_LEN(steps), snip(&r));
    for (size_t k = 0; k < ARRAY_LEN(steps); k++) {
        json_t *it = json_array_get(items, k);
        json_t *dec = json_object_get(it, "decrease");
        CHECK(str_eq(js(it, "id"), ids[k]) && jint0(it, "accrued_places") == steps[k].accrued &&
                  (steps[k].decrease ? json_is_true(dec) : json_is_false(dec)),
              "listed decision %zu is not id %s with accrued_places %d, decrease %s: %s", k, ids[k],
              steps[k].accrued, steps[k].decrease ? "true" : "false", dump(it));
    }
    json_t *run;
    TRY(run_accrual(D("2024-05-31"), &run));
    /* The run's totals for the municipality: exactly the 60 new places. */
    long long total = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(run, "totals"), i, t)
    {
        if (str_eq(js(t, "municipality"), ALLOC_MUNI) && str_eq(js(t, "code"), "ALLOCATION_PLACE"))
            total += jint0(t, "amount_ore");
    }
    CHECK(total == 60 * PLACE_ORE, "run totals for " ALLOC_MUNI " ALLOCATION_PLACE: %lld: %s",
          total, dump(run));
    static const char *const months[] = {"2024-02", "2024-03", NULL, "2024-04"};
    long long sum = 0;
    for (size_t k = 0; k < ARRAY_LEN(steps); k++) {
        json_t *ps;
        TRY(entries_for(E.admin, "municipality=" ALLOC_MUNI "&code=ALLOCATION_PLACE",
                        "allocation_id", ids[k], &ps));
        long long s = sum_postings(ps, NULL, NULL, 0);
        CHECK(s == steps[k].accrued * PLACE_ORE,
              "allocation %s: postings sum to %lld, not %lld: %s", ids[k], s,
              steps[k].accrued * PLACE_ORE, dump(ps));
        if (months[k] != NULL)
            CHECK(sum_postings(ps, months[k], "ALLOCATION_PLACE", 0) == s,
                  "allocation %s is not posted in %s: %s", ids[k], months[k], dump(ps));
        sum += s;
    }
    CHECK(sum == 60 * PLACE_ORE, "ALLOCATION_PLACE postings total %lld, not 60 000 000", sum);
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Ledger entries: filters, pages and cursors                                                 */

/* Walks GET /v1/ledger/entries?limit=L&filters through next_cursor: page sizes, strictly
 * ascending ids over all pages; returns the ids in order (as a JSON array of strings). */
static bool entries_walk(const char *token, const char *filters, int limit, json_t **ids_out)
{
    json_t *ids = keep_json(json_array());
    const char *cursor = NULL, *prev = NULL;
    for (int page = 0; page < 100000; page++) {
        const char *path = kstrf("/v1/ledger/entries?limit=%d&%s%s%s", limit, filters,
                                 cursor ? "&cursor=" : "", cursor ? esc(cursor) : "");
        struct resp r;
        TRY(GET(path, token, &r));
        EXPECT_STATUS(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        CHECK(json_is_array(items) && json_array_size(items) <= (size_t)limit,
              "page %d: items not an array of at most %d: %s", page, limit, snip(&r));
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            const char *id = js(it, "id");
            CHECK(id != NULL && (prev == NULL || id_cmp(prev, id) < 0),
                  "ids not strictly ascending (page %d): %s then %s", page, prev ? prev : "-",
                  id ? id : "(none)");
            prev = id;
            json_array_append_new(ids, json_string(id));
        }
        json_t *nc = json_object_get(r.json, "next_cursor");
        if (json_is_null(nc)) {
            *ids_out = ids;
            return true;
        }
        CHECK(json_is_string(nc) && json_array_size(items) > 0,
              "next_cursor is not a string, or follows an empty page: %s", snip(&r));
        cursor = json_string_value(nc);
    }
    return failf(__LINE__, "too many pages");
}

static bool t_ledger_entries(void)
{
    struct resp r;
    /* Filters: every item matches them, and a scoped client sees only its municipality. */
    const char *filters = "municipality=1480&from=2024-02-01&to=2024-03-31&code=DAY_CHILD";
    TRY(GET(kstrf("/v1/ledger/entries?limit=1000&%s", filters), E.w1480, &r));
    EXPECT_STATUS(&r, 200);
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r.json, "items"), i, it)
    {
        const char *m = js(it, "month");
        CHECK(str_eq(js(it, "municipality"), "1480") && str_eq(js(it, "code"), "DAY_CHILD") &&
                  m != NULL && strcmp(m, "2024-02") >= 0 && strcmp(m, "2024-03") <= 0,
              "an item outside %s: %s", filters, dump(it));
        CHECK(js(it, "journal_id") != NULL && js(it, "account") != NULL && js(it, "kind") != NULL &&
                  json_is_integer(json_object_get(it, "amount_ore")),
              "an item lacks journal_id, account, kind or amount_ore: %s", dump(it));
    }
    TRY(GET("/v1/ledger/entries?limit=1000", E.w1480, &r));
    EXPECT_STATUS(&r, 200);
    json_array_foreach(json_object_get(r.json, "items"), i, it)
    {
        CHECK(str_eq(js(it, "municipality"), "1480"), "W1480 sees %s", dump(it));
    }
    /* Pages of 7 give the same postings as pages of 1000. */
    const char *f2 = "municipality=1480&from=2024-01-01&to=2024-04-30";
    json_t *a, *b;
    TRY(entries_walk(E.w1480, f2, 1000, &a));
    TRY(entries_walk(E.w1480, f2, 7, &b));
    CHECK(json_array_size(a) > 0, "no postings for %s", f2);
    CHECK(json_equal(a, b), "pages of 7 hold other postings than pages of 1000 (%zu vs %zu)",
          json_array_size(b), json_array_size(a));
    /* Bad queries. */
    static const char *const bad[] = {"limit=0",      "limit=1001",   "from=2024-13-01",
                                      "to=yesterday", "code=DAY_PET", "municipality=148"};
    for (size_t k = 0; k < ARRAY_LEN(bad); k++) {
        TRY(GET(kstrf("/v1/ledger/entries?%s", bad[k]), E.admin, &r));
        EXPECT_ERROR(&r, 400, "invalid_query", NULL);
    }
    TRY(GET("/v1/ledger/entries?cursor=garbage", E.admin, &r));
    EXPECT_ERROR(&r, 400, "invalid_cursor", NULL);
    /* A cursor is bound to its list's filters. */
    TRY(GET("/v1/ledger/entries?limit=1&municipality=1480", E.admin, &r));
    EXPECT_STATUS(&r, 200);
    const char *c1 = js(r.json, "next_cursor");
    CHECK(c1 != NULL, "no next_cursor after one posting of 1480: %s", snip(&r));
    TRY(GET(kstrf("/v1/ledger/entries?limit=1&municipality=1480&cursor=%s", esc(c1)), E.admin, &r));
    EXPECT_STATUS(&r, 200);
    TRY(GET(kstrf("/v1/ledger/entries?limit=1&municipality=1481&cursor=%s", esc(c1)), E.admin, &r));
    EXPECT_ERROR(&r, 400, "invalid_cursor", NULL);
    TRY(GET(kstrf("/v1/ledger/entries?limit=1&municipality=1480&code=MOVE_IN&cursor=%s", esc(c1)),
            E.admin, &r));
    EXPECT_ERROR(&r, 400, "invalid_cursor", NULL);
    TRY(GET("/v1/ledger/entries?limit=1&from=2024-01-01", E.admin, &r));
    EXPECT_STATUS(&r, 200);
    const char *c2 = js(r.json, "next_cursor");
    CHECK(c2 != NULL, "no next_cursor after one posting from 2024-01: %s", snip(&r));
    TRY(GET(kstrf("/v1/ledger/entries?limit=1&to=2024-01-01&cursor=%s", esc(c2)), E.admin, &r));
    EXPECT_ERROR(&r, 400, "invalid_cursor", NULL);
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Accrual-run rules                                                                          */

static bool t_run_rules(void)
{
    struct resp r;
    const char *ok_body = kstrf("{\"through\":\"%s\"}", dstr(through_for(D("2024-04-30"))));
    /* Role and authentication first. */
    TRY(POST("/v1/accruals/run", E.w1480, ok_body, NULL, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    TRY(POST("/v1/accruals/run", E.rstar, ok_body, NULL, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    TRY(POST("/v1/accruals/run", NULL, ok_body, NULL, &r));
    EXPECT_ERROR(&r, 401, "unauthorized", NULL);
    /* Shape. */
    TRY(POST("/v1/accruals/run", E.admin, "{\"through\":\"2024-02-30\"}", NULL, &r));
    EXPECT_ERROR(&r, 422, "invalid_date", "through");
    TRY(POST("/v1/accruals/run", E.admin, "{}", NULL, &r));
    EXPECT_ERROR(&r, 422, "missing_field", "through");
    /* Not today or later (Europe/Stockholm). */
    TRY(POST("/v1/accruals/run", E.admin, kstrf("{\"through\":\"%s\"}", dstr(g_today)), NULL, &r));
    EXPECT_ERROR(&r, 409, "through_not_past", "through");
    TRY(POST("/v1/accruals/run", E.admin, "{\"through\":\"2099-12-31\"}", NULL, &r));
    EXPECT_ERROR(&r, 409, "through_not_past", "through");
    /* Two runs without new facts in between: the second posts nothing. */
    json_t *first, *second;
    TRY(run_accrual(D("2024-04-30"), &first));
    TRY(run_accrual(D("2024-04-30"), &second));
    CHECK(jint0(second, "lines_posted") == 0 &&
              json_array_size(json_object_get(second, "totals")) == 0,
          "a second run with no new facts posted something: %s", dump(second));
    CHECK(id_cmp(js(first, "run_id"), js(second, "run_id")) < 0, "run ids do not grow: %s, %s",
          js(first, "run_id"), js(second, "run_id"));
    /* Before the latest run's through. */
    TRY(POST("/v1/accruals/run", E.admin, kstrf("{\"through\":\"%s\"}", dstr(g_latest - 1)), NULL,
             &r));
    EXPECT_ERROR(&r, 409, "through_before_latest_run", "through");
    /* A past run reads back as it was answered; scoped clients see their municipality's part. */
    const char *rid = js(second, "run_id");
    TRY(GET(kstrf("/v1/accruals/runs/%s", rid), E.admin, &r));
    EXPECT_STATUS(&r, 200);
    CHECK(json_equal(r.json, second), "GET of run %s differs from the POST answer:\n  %s\n  %s",
          rid, dump(second), snip(&r));
    TRY(GET(kstrf("/v1/accruals/runs/%s", js(first, "run_id")), E.r1480, &r));
    EXPECT_STATUS(&r, 200);
    TRY(check_run(__LINE__, r.json, g_latest));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r.json, "totals"), i, t)
    {
        CHECK(str_eq(js(t, "municipality"), "1480"), "R1480 sees another municipality's totals: %s",
              snip(&r));
    }
    json_array_foreach(json_object_get(r.json, "parked"), i, t)
    {
        CHECK(str_eq(js(t, "municipality"), "1480") || js(t, "municipality") == NULL,
              "R1480 sees another municipality's parked placements: %s", snip(&r));
    }
    TRY(GET(kstrf("/v1/accruals/runs/%s", rid), E.rstar, &r));
    EXPECT_STATUS(&r, 200);
    CHECK(json_equal(r.json, second), "R* reads run %s otherwise than the admin: %s", rid,
          snip(&r));
    TRY(GET("/v1/accruals/runs/900000000000", E.admin, &r));
    EXPECT_ERROR(&r, 404, "not_found", NULL);
    TRY(GET("/v1/accruals/runs/abc", E.admin, &r));
    EXPECT_ERROR(&r, 404, "not_found", NULL);
    TRY(GET(kstrf("/v1/accruals/runs/%s", rid), NULL, &r));
    EXPECT_ERROR(&r, 401, "unauthorized", NULL);
    /* Nothing changed by the refused runs: the latest is still the second one. */
    json_t *run;
    CHECK(harness_run_get(strtoll(rid, NULL, 10) + 1, &run) == 0,
          "a refused run was recorded as run %lld", strtoll(rid, NULL, 10) + 1);
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Ledger scan: every journal balances                                                        */

/* Journal id -> (sum, count), open addressing; journal ids are > 0. */
struct jmap {
    long long *key, *sum;
    int *n;
    size_t cap, len;
};

static bool jmap_grow(struct jmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 4096;
    struct jmap g = {calloc(cap, sizeof(long long)), calloc(cap, sizeof(long long)),
                     calloc(cap, sizeof(int)), cap, 0};
    if (g.key == NULL || g.sum == NULL || g.n == NULL) {
        free(g.key);
        free(g.sum);
        free(g.n);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->key[i] == 0)
            continue;
        size_t h = (size_t)m->key[i] * 2654435761u % cap;
        while (g.key[h] != 0)
            h = (h + 1) % cap;
        g.key[h] = m->key[i];
        g.sum[h] = m->sum[i];
        g.n[h] = m->n[i];
        g.len++;
    }
    free(m->key);
    free(m->sum);
    free(m->n);
    *m = g;
    return true;
}

static bool jmap_add(struct jmap *m, long long journal, long long amount)
{
    if ((m->len + 1) * 2 > m->cap && !jmap_grow(m))
        return false;
    size_t h = (size_t)journal * 2654435761u % m->cap;
    while (m->key[h] != 0 && m->key[h] != journal)
        h = (h + 1) % m->cap;
    if (m->key[h] == 0) {
        m->key[h] = journal;
        m->len++;
    }
    m->sum[h] += amount;
    m->n[h]++;
    return true;
}

/* Reads GET /v1/ledger/entries (admin, no filter) from where the last scan stopped. */
struct scanner {
    struct jmap m;
    char *cursor; /* the page to start from next time (re-read; known postings are skipped) */
    long long max_id;
    long long postings;
};

static void scanner_free(struct scanner *s)
{
    free(s->m.key);
    free(s->m.sum);
    free(s->m.n);
    free(s->cursor);
    memset(s, 0, sizeof *s);
}

static bool ledger_scan(struct scanner *s)
{
    for (int page = 0; page < 1000000; page++) {
        const char *path = s->cursor
                               ? kstrf("/v1/ledger/entries?limit=1000&cursor=%s", esc(s->cursor))
                               : "/v1/ledger/entries?limit=1000";
        struct resp r;
        json_t *items;
        TRY(get_items(path, E.admin, &r, &items));
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            const char *id = js(it, "id"), *jid = js(it, "journal_id");
            long long amount;
            CHECK(id != NULL && all_digits(id) && jid != NULL && all_digits(jid) &&
                      jint(it, "amount_ore", &amount),
                  "posting without id, journal_id or amount_ore: %s", dump(it));
            long long n = strtoll(id, NULL, 10);
            if (n <= s->max_id)
                continue;
            CHECK(amount != 0, "a posting of 0 öre: %s", dump(it));
            CHECK(jmap_add(&s->m, strtoll(jid, NULL, 10), amount), "out of memory");
            s->max_id = n;
            s->postings++;
        }
        json_t *nc = json_object_get(r.json, "next_cursor");
        if (!json_is_string(nc))
            break;
        free(s->cursor);
        s->cursor = strdup(json_string_value(nc));
    }
    size_t bad = 0;
    char first[3][120] = {"", "", ""};
    for (size_t i = 0; i < s->m.cap; i++) {
        if (s->m.key[i] == 0 || (s->m.sum[i] == 0 && s->m.n[i] >= 2))
            continue;
        if (bad < 3)
            snprintf(first[bad], sizeof first[bad], "journal %lld: %d postings, sum %lld",
                     s->m.key[i], s->m.n[i], s->m.sum[i]);
        bad++;
    }
    CHECK(bad == 0,
          "%zu of %zu journals do not balance (two or more postings summing to 0): %s; "
          "%s; %s",
          bad, s->m.len, first[0], first[1], first[2]);
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* The rules, again, for the random sequence's placements (an oracle independent of the      */
/* daemon's engine), over the schedule read from GET /v1/rates.                               */

enum { C_ALLOC, C_MOVE_IN, C_CHILD, C_ADULT, C_UAM, N_CODES };
static const char *const CODE_NAMES[N_CODES] = {"ALLOCATION_PLACE", "MOVE_IN", "DAY_CHILD",
                                                "DAY_ADULT", "DAY_FORMER_UAM"};

struct rate_row {
    int32_t from, to; /* [from, to); to OPEN_END for the last row */
    bool has;
    long long ore;
};
static struct rate_row g_rates[N_CODES][64];
static int g_nrates[N_CODES];

static bool load_rates(void)
{
    struct resp r;
    TRY(GET("/v1/rates", E.admin, &r));
    EXPECT_STATUS(&r, 200);
    memset(g_nrates, 0, sizeof g_nrates);
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r.json, "items"), i, it)
    {
        int c = -1;
        for (int k = 0; k < N_CODES; k++)
            if (str_eq(js(it, "code"), CODE_NAMES[k]))
                c = k;
        CHECK(c >= 0 && g_nrates[c] < 64, "unexpected rate row: %s", dump(it));
        struct rate_row *row = &g_rates[c][g_nrates[c]++];
        row->from = D(js(it, "valid_from"));
        row->to = js(it, "valid_to") ? D(js(it, "valid_to")) : OPEN_END;
        json_t *a = json_object_get(it, "amount_ore");
        row->has = json_is_integer(a);
        row->ore = row->has ? (long long)json_integer_value(a) : 0;
        CHECK(row->from != NO_DAY && row->to != NO_DAY, "bad dates in rate row: %s", dump(it));
    }
    return true;
}

static bool rate_on(int code, int32_t day, long long *ore)
{
    for (int i = 0; i < g_nrates[code]; i++) {
        const struct rate_row *row = &g_rates[code][i];
        if (row->from <= day && day < row->to) {
            *ore = row->ore;
            return row->has;
        }
    }
    return false;
}

struct oline {
    int32_t month;
    int code;
    int days;
    long long ore;
};

/* ------------------------------------------------------------------------------------------ */
/* The model of the random sequence                                                           */

enum { MAXPER = 400, MAXPL = 600 };

/* A municipality's record of a person (sql/014): what its placements show and are paid from. */
struct mrec {
    bool known;
    int32_t birth;
    bool uam;
};

/* rec: 1480, 1481, and any other municipality (the load's). */
struct mperson {
    const char *dossier;
    struct mrec rec[3];
};

struct mplace {
    const char *id;
    int person;
    const char *muni;
    int32_t assigned, moved_in, moved_out, registered;
    const char *reason; /* move_out_reason */
};

static struct {
    struct mperson per[MAXPER];
    int nper;
    struct mplace pl[MAXPL];
    int npl;
    int rejected, runs, ops;
} M;

static uint64_t g_rng;

static int muni_index(const char *muni)
{
    return strcmp(muni, "1480") == 0 ? 0 : strcmp(muni, "1481") == 0 ? 1 : 2;
}

/* The record of the person that the placement's municipality holds. */
static struct mrec *rec_of(int person, const char *muni)
{
    return &M.per[person].rec[muni_index(muni)];
}

/* How often each outcome happened in the random sequence, for the log. */
struct tally_item {
    const char *what;
    int n;
};
static struct tally_item g_tally[64];
static size_t g_ntally;

static void tally(const char *what)
{
    for (size_t i = 0; i < g_ntally; i++) {
        if (strcmp(g_tally[i].what, what) == 0) {
            g_tally[i].n++;
            return;
        }
    }
    if (g_ntally < ARRAY_LEN(g_tally))
        g_tally[g_ntally++] = (struct tally_item){what, 1};
}

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int rnd_in(int lo, int hi)
{
    return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

static bool chance(int percent)
{
    return rnd_in(0, 99) < percent;
}

/* Days in housing [*s, *e), empty when *s >= *e (as rb_housing and the engine). */
static void housing(const struct mplace *p, int32_t *s, int32_t *e)
{
    *s = *e = 0;
    if (p->moved_in == NO_DAY)
        return;
    int32_t start = max32(p->moved_in, p->assigned), end = OPEN_END;
    if (p->moved_out != NO_DAY)
        end = min32(end, p->moved_out);
    if (p->registered != NO_DAY)
        end = min32(end, p->registered);
    if (end > start) {
        *s = start;
        *e = end;
    }
}

/* The lowest-id other placement of the person whose days overlap [s, e); -1 when none. */
static int overlap_with(int person, int self, int32_t s, int32_t e)
{
    if (s >= e)
        return -1;
    for (int i = 0; i < M.npl; i++) {
        if (i == self || M.pl[i].person != person)
            continue;
        int32_t s2, e2;
        housing(&M.pl[i], &s2, &e2);
        if (s2 < e2 && s < e2 && s2 < e)
            return i;
    }
    return -1;
}

/* What the engine owes for p through `through`; false when it should be parked. */
static bool oracle(const struct mplace *p, int32_t through, struct oline *out, int cap, int *n)
{
    const struct mrec *per = rec_of(p->person, p->muni);
    int32_t s, e;
    *n = 0;
    housing(p, &s, &e);
    e = min32(e, through + 1);
    if (s >= e)
        return true;
    if (p->assigned < D("2022-03-04") || per->birth > p->assigned)
        return false;
    long long ore;
    if (p->moved_in >= p->assigned) {
        if (!rate_on(C_MOVE_IN, p->moved_in, &ore))
            return false;
        out[(*n)++] = (struct oline){month_start(p->moved_in), C_MOVE_IN, 0, ore};
    }
    int32_t adult = adult_from(per->birth);
    for (int32_t d = s; d < e; d++) {
        int codes[2] = {d < adult ? C_CHILD : C_ADULT, per->uam && d >= adult ? C_UAM : -1};
        for (int k = 0; k < 2; k++) {
            if (codes[k] < 0)
                continue;
            if (!rate_on(codes[k], d, &ore))
                return false;
            int32_t m = month_start(d);
            int j = 0;
            while (j < *n && !(out[j].month == m && out[j].code == codes[k]))
                j++;
            if (j == *n) {
                if (*n == cap)
                    return false;
                out[(*n)++] = (struct oline){m, codes[k], 0, 0};
            }
            out[j].days++;
            out[j].ore += ore;
        }
    }
    return true;
}

/* The municipality's write client (the admin for municipalities without one). */
static const char *tok_of(const char *muni)
{
    return strcmp(muni, "1480") == 0 ? E.w1480 : strcmp(muni, "1481") == 0 ? E.w1481 : E.admin;
}

static const char *other_muni(const char *muni)
{
    return strcmp(muni, "1480") == 0 ? "1481" : "1480";
}

/* The placement's fields as the model has them. */
static bool matches_model(int line, const json_t *p, const struct mplace *m)
{
    const struct mrec *per = rec_of(m->person, m->muni);
    if (!str_eq(js(p, "id"), m->id) ||
        !field_is(line, p, "dossier_number", M.per[m->person].dossier) ||
        !field_is(line, p, "birth_date", dfmt(per->birth)) ||
        !field_is(line, p, "municipality", m->muni) ||
        !field_is(line, p, "assigned_on", dfmt(m->assigned)) ||
        !field_is(line, p, "moved_in_on", dfmt(m->moved_in)) ||
        !field_is(line, p, "moved_out_on", dfmt(m->moved_out)) ||
        !field_is(line, p, "move_out_reason", m->reason) ||
        !field_is(line, p, "registered_on", dfmt(m->registered))) {
        char why[700];
        snprintf(why, sizeof why, "%.690s", g_why);
        return failf(line, "placement %s differs from the model (%s): %s", m->id, why, dump(p));
    }
    json_t *u = json_object_get(p, "former_uam");
    if (!json_is_boolean(u) || json_is_true(u) != per->uam)
        return failf(line, "placement %s: former_uam is %s, the model has %s", m->id, dump(u),
                     per->uam ? "true" : "false");
    return true;
}

/* The current body of a placement, as the admin reads it. */
static bool body_of(const char *id, const char **out)
{
    struct resp r;
    TRY(GET(ppath(id, ""), E.admin, &r));
    EXPECT_STATUS(&r, 200);
    *out = r.body;
    return true;
}

/* The answer of a request the model predicted: the success body matches the model (after the
 * caller applied the change), or the error is the predicted one and the placement (or the
 * person's placements) read the same before and after. */
struct predicted {
    long status;
    const char *code;     /* the error code when status >= 400 */
    const char *conflict; /* details.conflicting_placement_id expected, or NULL */
};

static bool check_refusal(int line, const struct resp *r, const struct predicted *p)
{
    if (!expect_error_at(line, r, p->status, p->code, NULL))
        return false;
    json_t *det = json_object_get(json_object_get(r->json, "error"), "details");
    const char *cid = js(det, "conflicting_placement_id");
    if (p->conflict != NULL && !str_eq(cid, p->conflict))
        return failf(line, "conflicting_placement_id should be %s: %s", p->conflict, snip(r));
    if (p->conflict == NULL && json_object_get(det, "conflicting_placement_id") != NULL)
        return failf(line, "a conflict the caller may not see is named: %s", snip(r));
    return true;
}

/* The predicted overlap refusal for placement `self` (-1: a new one) of `person` with days
 * [s, e), asked with `token`; false when there is none. */
static bool predict_overlap(int person, int self, int32_t s, int32_t e, const char *token,
                            struct predicted *out)
{
    int o = overlap_with(person, self, s, e);
    if (o < 0)
        return false;
    const char *scope = token == E.admin ? "*" : token == E.w1480 ? "1480" : "1481";
    bool visible = strcmp(scope, "*") == 0 || strcmp(scope, M.pl[o].muni) == 0;
    *out = (struct predicted){409, visible ? "placement_overlap" : "placement_overlap_elsewhere",
                              visible ? M.pl[o].id : NULL};
    return true;
}

static int32_t rnd_day(const char *from, const char *to)
{
    return D(from) + rnd_in(0, D(to) - D(from));
}

static const char *const REASONS[] = {"other_municipality", "left_country", "own_housing",
                                      "registered",         "deceased",     "other"};

/* A random placement index: among those for which want(p) holds when any does (with
 * probability `pct`), else any. */
static int pick(bool (*want)(const struct mplace *), int pct)
{
    if (want != NULL && chance(pct)) {
        int n = 0;
        for (int i = 0; i < M.npl; i++)
            n += want(&M.pl[i]);
        if (n > 0) {
            int k = rnd_in(0, n - 1);
            for (int i = 0; i < M.npl; i++)
                if (want(&M.pl[i]) && k-- == 0)
                    return i;
        }
    }
    return rnd_in(0, M.npl - 1);
}

static bool no_move_in(const struct mplace *p)
{
    return p->moved_in == NO_DAY;
}

static bool moved_out(const struct mplace *p)
{
    return p->moved_out != NO_DAY;
}

static bool not_moved_out(const struct mplace *p)
{
    return p->moved_out == NO_DAY;
}

static bool search_body(const char *dossier, const char **out)
{
    struct resp r;
    TRY(POST("/v1/placements/search", E.admin, kstrf("{\"dossier_number\":\"%s\"}", dossier), NULL,
             &r));
    EXPECT_STATUS(&r, 200);
    *out = r.body;
    return true;
}

/* A record of the person to start a claim from: the municipality's own, else another's. */
static const struct mrec *some_rec(int person, const char *muni)
{
    const struct mrec *own = rec_of(person, muni);
    for (int k = 0; k < 3 && !own->known; k++)
        if (M.per[person].rec[k].known)
            return &M.per[person].rec[k];
    return own;
}

/* kind 0: a new person; 1: another placement of a known person; 2: a known person with another
 * birth date or former_uam (refused when the municipality has its own record of the person; a
 * municipality without one records its claim, as for a new person: sql/014). */
static bool op_create(int kind)
{
    if (M.nper == 0)
        kind = 0;
    if (M.npl >= MAXPL - 1 || (kind == 0 && M.nper >= MAXPER - 1))
        return true;
    int person = kind == 0 ? M.nper : rnd_in(0, M.nper - 1);
    struct mperson np = {new_dossier(), {{0}}};
    struct mrec fresh = {true, rnd_day("1990-01-01", "2012-12-31"), chance(20)};
    const char *dossier = kind == 0 ? np.dossier : M.per[person].dossier;
    const char *muni = chance(50) ? "1480" : "1481";
    const char *token = chance(20) ? E.admin : tok_of(muni);
    const struct mrec *per = kind == 0 ? &fresh : some_rec(person, muni);
    bool own = kind != 0 && rec_of(person, muni)->known;
    int32_t assigned = rnd_day("2023-01-01", "2025-12-31");
    int32_t moved_in = chance(70) ? assigned + rnd_in(-5, 40) : NO_DAY;
    int32_t birth = per->birth;
    int uam = kind == 0 ? per->uam : chance(50) ? -1 : per->uam;
    if (kind == 2) {
        if (chance(50))
            birth += rnd_in(1, 400);
        else
            uam = !per->uam;
    }
    struct pl p = {dossier, dfmt(birth), muni, dfmt(assigned), dfmt(moved_in), uam};
    struct mplace m = {NULL, person, muni, assigned, moved_in, NO_DAY, NO_DAY, NULL};
    struct predicted pr = {201, NULL, NULL};
    int32_t s, e;
    housing(&m, &s, &e);
    if (kind == 2 && own)
        pr = (struct predicted){409, "person_mismatch", NULL};
    else
        predict_overlap(person, -1, s, e, token, &pr);
    struct resp r;
    if (pr.status != 201) {
        const char *before = NULL, *after = NULL;
        TRY(search_body(dossier, &before));
        TRY(POST("/v1/placements", token, pl_body(&p), NULL, &r));
        TRY(check_refusal(__LINE__, &r, &pr));
        TRY(search_body(dossier, &after));
        CHECK(strcmp(before, after) == 0,
              "a refused create changed the person's placements:\n  "
              "%s\n  %s",
              before, after);
        M.rejected++;
        tally(kstrf("create refused: %s", pr.code));
        return true;
    }
    TRY(POST("/v1/placements", token, pl_body(&p), NULL, &r));
    EXPECT_STATUS(&r, 201);
    m.id = js(r.json, "id");
    CHECK(m.id != NULL, "no id: %s", snip(&r));
    tally(kind == 0 ? "create"
          : own     ? "create for a known person"
                    : "create for a person another municipality knows");
    if (kind == 0)
        M.per[M.nper++] = np;
    if (!rec_of(person, muni)->known)
        *rec_of(person, muni) = (struct mrec){true, birth, uam == 1};
    M.pl[M.npl++] = m;
    TRY(matches_model(__LINE__, r.json, &M.pl[M.npl - 1]));
    return true;
}

/* Runs a request on placement i that the model says is refused with `pr`; the placement must
 * read the same before and after. */
static bool refused(int i, const char *label, const char *path, const char *token, const char *body,
                    const struct predicted *pr)
{
    const char *before = NULL, *after = NULL;
    struct resp r;
    TRY(body_of(M.pl[i].id, &before));
    TRY(POST(path, token, body, NULL, &r));
    TRY(check_refusal(__LINE__, &r, pr));
    TRY(body_of(M.pl[i].id, &after));
    CHECK(strcmp(before, after) == 0, "a refused %s changed the placement:\n  %s\n  %s", r.what,
          before, after);
    M.rejected++;
    tally(kstrf("%s refused: %s", label, pr->code));
    return true;
}

/* Runs a request the model says succeeds; the caller applied the change to M.pl[i] already. */
static bool accepted(int i, const char *label, const char *path, const char *token,
                     const char *body)
{
    tally(label);
    struct resp r;
    TRY(POST(path, token, body, NULL, &r));
    EXPECT_STATUS(&r, 200);
    TRY(matches_model(__LINE__, r.json, &M.pl[i]));
    return true;
}

static bool op_move_in(void)
{
    int i = pick(no_move_in, 70);
    struct mplace *m = &M.pl[i];
    int32_t d = chance(60) ? m->assigned + rnd_in(-5, 60) : rnd_day("2023-01-01", "2025-12-31");
    const char *token = chance(15) ? E.admin : tok_of(m->muni);
    const char *path = ppath(m->id, "/move-in"), *body = kstrf("{\"date\":\"%s\"}", dstr(d));
    struct predicted pr = {200, NULL, NULL};
    struct mplace n = *m;
    n.moved_in = d;
    int32_t s, e;
    housing(&n, &s, &e);
    if (m->moved_out != NO_DAY || m->registered != NO_DAY)
        pr = (struct predicted){409, "placement_ended", NULL};
    else if (m->moved_in != NO_DAY)
        pr = (struct predicted){409, "already_moved_in", NULL};
    else
        predict_overlap(m->person, i, s, e, token, &pr);
    if (pr.status != 200)
        return refused(i, "move-in", path, token, body, &pr);
    *m = n;
    return accepted(i, "move-in", path, token, body);
}

static bool op_move_out(void)
{
    int i = chance(25) ? pick(moved_out, 100) : pick(not_moved_out, 90);
    struct mplace *m = &M.pl[i];
    int32_t d;
    if (m->moved_in != NO_DAY && chance(25))
        d = m->moved_in - rnd_in(1, 30);
    else
        d = (m->moved_in != NO_DAY ? m->moved_in : m->assigned) + rnd_in(0, 400);
    const char *reason = REASONS[rnd_in(0, (int)ARRAY_LEN(REASONS) - 1)];
    const char *token = chance(15) ? E.admin : tok_of(m->muni);
    const char *path = ppath(m->id, "/move-out");
    const char *body = kstrf("{\"date\":\"%s\",\"reason\":\"%s\"}", dstr(d), reason);
    struct predicted pr = {200, NULL, NULL};
    if (m->moved_out != NO_DAY)
        pr = (struct predicted){409, "already_moved_out", NULL};
    else if (m->moved_in != NO_DAY && d < m->moved_in)
        pr = (struct predicted){422, "move_out_before_move_in", NULL};
    if (pr.status != 200)
        return refused(i, "move-out", path, token, body, &pr);
    m->moved_out = d;
    m->reason = reason;
    if (strcmp(reason, "registered") == 0 && m->registered == NO_DAY)
        m->registered = d;
    return accepted(i, "move-out", path, token, body);
}

/* A correction of the birth date (f 0) or the flag (1): a municipality-scoped client changes its
 * municipality's record of the person, scope '*' every municipality's record (sql/014). */
static void person_corrected(int person, const char *muni, int f, const struct mrec *to,
                             bool national)
{
    for (int k = 0; k < 3; k++) {
        struct mrec *r = &M.per[person].rec[k];
        if (!r->known || (!national && k != muni_index(muni)))
            continue;
        if (f == 0)
            r->birth = to->birth;
        else
            r->uam = to->uam;
    }
}

static bool op_correct(void)
{
    static const char *const fields[] = {"birth_date",  "former_uam",   "assigned_on",
                                         "moved_in_on", "moved_out_on", "registered_on"};
    int i = pick(NULL, 0);
    struct mplace *m = &M.pl[i];
    const struct mrec *per = rec_of(m->person, m->muni);
    int f = rnd_in(0, (int)ARRAY_LEN(fields) - 1);
    const char *token = chance(75) ? tok_of(m->muni) : E.admin;
    const char *value;
    struct predicted pr = {200, NULL, NULL};
    struct mplace n = *m;
    struct mrec np = *per;
    int32_t base = m->moved_in != NO_DAY ? m->moved_in : m->assigned, v = NO_DAY;
    switch (f) {
    case 0:
        np.birth = chance(5) ? m->assigned + rnd_in(1, 200) : rnd_day("1990-01-01", "2012-12-31");
        value = kstrf("\"%s\"", dstr(np.birth));
        break;
    case 1:
        np.uam = !per->uam;
        value = np.uam ? "true" : "false";
        break;
    case 2:
        n.assigned = v =
            chance(50) ? m->assigned + rnd_in(-30, 30) : rnd_day("2023-01-01", "2025-12-31");
        value = kstrf("\"%s\"", dstr(v));
        break;
    case 3:
        if (chance(10)) {
            value = "null";
            pr = (struct predicted){422, "invalid_field", NULL};
            break;
        }
        v = m->moved_out != NO_DAY && chance(30) ? m->moved_out + rnd_in(1, 30)
                                                 : base + rnd_in(-20, 40);
        n.moved_in = v;
        value = kstrf("\"%s\"", dstr(v));
        break;
    case 4:
        v = chance(30) ? NO_DAY : base + rnd_in(-30, 400);
        n.moved_out = v;
        n.reason = v == NO_DAY ? NULL : m->reason;
        value = v == NO_DAY ? "null" : kstrf("\"%s\"", dstr(v));
        break;
    default:
        v = chance(40) ? NO_DAY : base + rnd_in(-10, 500);
        n.registered = v;
        value = v == NO_DAY ? "null" : kstrf("\"%s\"", dstr(v));
        break;
    }
    if (pr.status == 200 && f > 1) {
        int32_t s, e;
        housing(&n, &s, &e);
        if (n.moved_out != NO_DAY && n.moved_in != NO_DAY && n.moved_out < n.moved_in)
            pr = (struct predicted){422, "move_out_before_move_in", NULL};
        else
            predict_overlap(m->person, i, s, e, token, &pr);
    }
    const char *path = ppath(m->id, "/corrections");
    const char *body =
        kstrf("{\"field\":\"%s\",\"value\":%s,\"reason\":\"random correction\"}", fields[f], value);
    if (pr.status != 200)
        return refused(i, kstrf("correction of %s", fields[f]), path, token, body, &pr);
    *m = n;
    if (f <= 1)
        person_corrected(m->person, m->muni, f, &np, token == E.admin);
    return accepted(i, kstrf("correction of %s", fields[f]), path, token, body);
}

/* Another municipality's write client: 404, and nothing changes. */
static bool op_foreign(void)
{
    int i = pick(NULL, 0);
    const struct mplace *m = &M.pl[i];
    struct predicted pr = {404, "not_found", NULL};
    return refused(i, "move-out by another municipality", ppath(m->id, "/move-out"),
                   tok_of(other_muni(m->muni)), "{\"date\":\"2025-01-01\",\"reason\":\"other\"}",
                   &pr);
}

static bool op_get(void)
{
    int i = pick(NULL, 0);
    const struct mplace *m = &M.pl[i];
    struct resp r;
    TRY(GET(ppath(m->id, ""),
            strcmp(m->muni, "1480") == 0 && chance(50) ? E.r1480 : tok_of(m->muni), &r));
    EXPECT_STATUS(&r, 200);
    TRY(matches_model(__LINE__, r.json, m));
    return true;
}

/* (3) for one placement: the view's lines are the oracle's, and all is posted as owed. */
static bool check_placement_accruals(const struct mplace *m)
{
    json_t *acc;
    TRY(accruals(tok_of(m->muni), m->id, &acc));
    CHECK(str_eq(js(acc, "through"), dfmt(g_latest)),
          "placement %s: through is not the latest run's %s: %s", m->id, dstr(g_latest), dump(acc));
    struct oline want[256];
    int n;
    bool ok = oracle(m, g_latest, want, (int)ARRAY_LEN(want), &n);
    if (!ok) {
        CHECK(json_object_get(acc, "parked") != NULL,
              "placement %s should be parked (birth %s, assigned %s): %s", m->id,
              dstr(rec_of(m->person, m->muni)->birth), dstr(m->assigned), dump(acc));
        return true;
    }
    CHECK(json_object_get(acc, "parked") == NULL, "placement %s is parked: %s", m->id, dump(acc));
    for (int k = 0; k < n; k++) {
        json_t *l = find_line(acc, mfmt(want[k].month), CODE_NAMES[want[k].code]);
        CHECK(l != NULL && jint0(l, "days") == want[k].days && jint0(l, "owed_ore") == want[k].ore,
              "placement %s: expected %s %s %d days %lld öre (model: birth %s uam %d assigned %s "
              "in %s out %s registered %s): %s",
              m->id, mfmt(want[k].month), CODE_NAMES[want[k].code], want[k].days, want[k].ore,
              dstr(rec_of(m->person, m->muni)->birth), rec_of(m->person, m->muni)->uam,
              dstr(m->assigned), dstr(m->moved_in), dstr(m->moved_out), dstr(m->registered),
              dump(acc));
    }
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(acc, "lines"), i, l)
    {
        bool known = false;
        for (int k = 0; k < n && !known; k++)
            known = str_eq(js(l, "month"), mfmt(want[k].month)) &&
                    str_eq(js(l, "code"), CODE_NAMES[want[k].code]);
        CHECK(known || (jint0(l, "owed_ore") == 0 && jint0(l, "days") == 0),
              "placement %s: line %s is owed, but the rules owe nothing for it: %s", m->id, dump(l),
              dump(acc));
    }
    if (!owed_is_posted(__LINE__, acc)) {
        char why[1200];
        snprintf(why, sizeof why, "%.1190s", g_why);
        return failf(0, "placement %s: %s", m->id, why);
    }
    return true;
}

/* After a run: (1) every journal balances, (2) running again posts nothing, (3) every placement
 * of the sequence is owed what the rules say and has it posted. */
static bool after_run(struct scanner *sc)
{
    TRY(ledger_scan(sc));
    json_t *again;
    TRY(run_accrual(g_latest, &again));
    CHECK(jint0(again, "lines_posted") == 0 &&
              json_array_size(json_object_get(again, "totals")) == 0,
          "running again at once posted something: %s", dump(again));
    for (int i = 0; i < M.npl; i++)
        TRY(check_placement_accruals(&M.pl[i]));
    return true;
}

static bool op_run(struct scanner *sc)
{
    int32_t from = g_latest == NO_DAY ? D("2024-06-30") : g_latest;
    TRY(run_accrual(from + rnd_in(0, 120), NULL));
    M.runs++;
    return after_run(sc);
}

static bool invariants_body(struct scanner *sc, int n_ops)
{
    TRY(ledger_scan(sc));
    for (int op = 0; op < n_ops; op++) {
        int k = rnd_in(0, 99);
        bool ok;
        M.ops++;
        if (M.npl == 0 || k < 16)
            ok = op_create(0);
        else if (k < 26)
            ok = op_create(1);
        else if (k < 29)
            ok = op_create(2);
        else if (k < 41)
            ok = op_move_in();
        else if (k < 55)
            ok = op_move_out();
        else if (k < 85)
            ok = op_correct();
        else if (k < 88)
            ok = op_foreign();
        else if (k < 91)
            ok = op_run(sc);
        else
            ok = op_get();
        if (!ok) {
            char why[1700];
            snprintf(why, sizeof why, "%.1690s", g_why);
            return failf(0, "operation %d (k=%d): %s", op, k, why);
        }
    }
    /* The last run goes as far as this program goes. */
    TRY(run_accrual(g_cap, NULL));
    M.runs++;
    TRY(after_run(sc));
    for (int i = 0; i < M.npl; i++) {
        struct resp r;
        TRY(GET(ppath(M.pl[i].id, ""), E.admin, &r));
        EXPECT_STATUS(&r, 200);
        TRY(matches_model(__LINE__, r.json, &M.pl[i]));
    }
    return true;
}

static bool t_invariants_random(void)
{
    const char *s = getenv("RB_SEED");
    unsigned long long seed = s != NULL && s[0] != '\0' ? strtoull(s, NULL, 10) : 20240101ULL;
    printf("# seed %llu\n", seed);
    g_rng = seed;
    memset(&M, 0, sizeof M);
    g_ntally = 0;
    TRY(load_rates());
    struct scanner sc = {0};
    double t0 = now_s();
    bool ok = invariants_body(&sc, 300);
    printf("# random sequence: %d operations, %d placements of %d persons, %d refused on purpose, "
           "%d runs (through %s), %lld postings in %zu journals checked, %.1f s\n",
           M.ops, M.npl, M.nper, M.rejected, M.runs, dstr(g_latest), sc.postings, sc.m.len,
           now_s() - t0);
    scanner_free(&sc);
    printf("# outcomes:");
    for (size_t i = 0; i < g_ntally; i++)
        printf("%s %s %d", i ? "," : "", g_tally[i].what, g_tally[i].n);
    printf("\n");
    return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* An accrual run in flight while other requests are served                                   */

struct slot {
    struct xfer x; /* first: CURLINFO_PRIVATE points here */
    struct resp r;
    CURL *h;
    int attempts;
    const char *body;
};

/* Creates n open-ended placements in LOAD_MUNI as admin, `conc` requests at a time over a
 * multi handle (503s are retried); returns the first id. */
static bool bulk_create(int n, int conc, const char **first_id)
{
    struct slot *slots = calloc((size_t)conc, sizeof *slots);
    pool_add(slots, false);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conc);
    int next = 0, done = 0, bad = 0;
    char first_bad[700] = "";
    *first_id = NULL;
    for (int i = 0; i < conc; i++)
        slots[i].h = curl_easy_init();
    for (int i = 0; i < conc && next < n; i++, next++) {
        struct pl p = {new_dossier(), "1980-01-01", LOAD_MUNI, "2026-01-05", "2026-01-05", -1};
        slots[i].body = pl_body(&p);
        slots[i].attempts = 1;
        prepare(&slots[i].x, slots[i].h, &slots[i].r, "POST", "/v1/placements", E.admin,
                slots[i].body, strlen(slots[i].body), NULL, false, 60);
        curl_multi_add_handle(m, slots[i].h);
    }
    double deadline = now_s() + 300;
    while (done < n && now_s() < deadline) {
        CURL *h;
        CURLcode cc;
        while ((h = multi_next_done(m, &cc)) != NULL) {
            char *priv = NULL;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
            struct slot *s = (struct slot *)(void *)priv;
            s->x.cc = cc;
            finish(&s->x);
            if (cc == CURLE_OK && s->r.status == 503 && s->attempts < 5) {
                s->attempts++;
            } else {
                done++;
                if (cc == CURLE_OK && s->r.status == 201 && js(s->r.json, "id") != NULL) {
                    if (*first_id == NULL)
                        *first_id = js(s->r.json, "id");
                } else {
                    if (bad++ == 0)
                        snprintf(first_bad, sizeof first_bad, "%s (curl: %s)", snip(&s->r),
                                 s->r.curl_err);
                }
                if (next >= n)
                    continue;
                struct pl p = {new_dossier(), "1980-01-01", LOAD_MUNI,
                               "2026-01-05",  "2026-01-05", -1};
                s->body = pl_body(&p);
                s->attempts = 1;
                next++;
            }
            prepare(&s->x, s->h, &s->r, "POST", "/v1/placements", E.admin, s->body, strlen(s->body),
                    NULL, false, 60);
            curl_multi_add_handle(m, s->h);
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    for (int i = 0; i < conc; i++) {
        curl_multi_remove_handle(m, slots[i].h);
        curl_easy_cleanup(slots[i].h);
    }
    curl_multi_cleanup(m);
    CHECK(done == n, "only %d of %d creates finished in time", done, n);
    CHECK(bad == 0, "%d of %d creates failed; first: %s", bad, n, first_bad);
    return true;
}

static bool t_run_in_flight(void)
{
    const char *s = getenv("RB_LOAD_N");
    int n = s != NULL && s[0] != '\0' ? atoi(s) : 3000;
    if (n < 1)
        n = 1;
    const char *load_id;
    double t0 = now_s();
    TRY(bulk_create(n, 50, &load_id));
    double t_create = now_s() - t0;
    printf("# created %d placements in %s in %.2f s (50 at a time)\n", n, LOAD_MUNI, t_create);

    /* The run, and meanwhile GET /healthz and GET a placement, one after the other. */
    int32_t through = through_for(g_cap);
    const char *body = kstrf("{\"through\":\"%s\"}", dstr(through));
    struct slot run = {0}, side = {0};
    run.h = curl_easy_init();
    side.h = curl_easy_init();
    CURLM *m = curl_multi_init();
    prepare(&run.x, run.h, &run.r, "POST", "/v1/accruals/run", E.admin, body, strlen(body), NULL,
            false, 300);
    curl_multi_add_handle(m, run.h);
    double start = now_s(), run_s = -1, side_started = start, max_health = 0, max_get = 0;
    int side_n = 0, side_during = 0, side_bad = 0, kind = 0; /* 0 /healthz, 1 GET, 2 a run */
    char side_err[700] = "", second_run[700] = "";
    bool second_sent = false;
    prepare(&side.x, side.h, &side.r, "GET", "/healthz", NULL, NULL, 0, NULL, false, 60);
    curl_multi_add_handle(m, side.h);
    bool side_busy = true;
    while ((run_s < 0 || side_busy) && now_s() - start < 300) {
        CURL *h;
        CURLcode cc;
        while ((h = multi_next_done(m, &cc)) != NULL) {
            double now = now_s();
            if (h == run.h) {
                run.x.cc = cc;
                finish(&run.x);
                run_s = now - start;
                continue;
            }
            side.x.cc = cc;
            finish(&side.x);
            side_busy = false;
            double latency = now - side_started;
            if (kind == 2) {
                /* A second run while the first is in flight: 409 run_in_progress. After the
                 * first answered, it may also have run (and posted nothing). */
                bool in_flight = run_s < 0;
                if (!(cc == CURLE_OK && ((side.r.status == 409 &&
                                          str_eq(js(json_object_get(side.r.json, "error"), "code"),
                                                 "run_in_progress")) ||
                                         (!in_flight && side.r.status == 200))))
                    snprintf(second_run, sizeof second_run, "%s%s (curl: %s)",
                             in_flight ? "while the first was in flight: " : "", snip(&side.r),
                             side.r.curl_err);
                else
                    printf("# a second run %s: HTTP %ld\n",
                           in_flight ? "while the first was in flight" : "just after the first",
                           side.r.status);
            } else {
                side_n++;
            }
            if (kind == 2) {
                /* counted apart */
            } else if (kind == 0)
                max_health = latency > max_health ? latency : max_health;
            else
                max_get = latency > max_get ? latency : max_get;
            /* Served while the run was in flight: started well after the run was sent, and
             * answered before the run's answer came. */
            if (kind != 2 && run_s < 0 && side_started - start > 0.05)
                side_during++;
            if (kind != 2 && (cc != CURLE_OK || side.r.status != 200)) {
                if (side_bad++ == 0)
                    snprintf(side_err, sizeof side_err, "%s (curl: %s)", snip(&side.r),
                             side.r.curl_err);
            }
            if (run_s < 0) {
                if (!second_sent && now_s() - start > 0.1) {
                    kind = 2;
                    second_sent = true;
                    prepare(&side.x, side.h, &side.r, "POST", "/v1/accruals/run", E.admin, body,
                            strlen(body), NULL, false, 300);
                } else {
                    kind = kind == 0 ? 1 : 0;
                    prepare(&side.x, side.h, &side.r, "GET", kind ? ppath(load_id, "") : "/healthz",
                            kind ? E.admin : NULL, NULL, 0, NULL, false, 60);
                }
                side_started = now_s();
                curl_multi_add_handle(m, side.h);
                side_busy = true;
            }
        }
        if (run_s < 0 || side_busy)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    curl_multi_remove_handle(m, run.h);
    curl_multi_remove_handle(m, side.h);
    curl_easy_cleanup(run.h);
    curl_easy_cleanup(side.h);
    curl_multi_cleanup(m);
    printf("# accrual run through %s took %.2f s; %d other requests answered, %d of them while "
           "it ran; slowest /healthz %.3f s, slowest GET placement %.3f s\n",
           dstr(through), run_s, side_n, side_during, max_health, max_get);
    CHECK(run_s >= 0, "the run did not finish within 300 s");
    CHECK(run.x.cc == CURLE_OK, "the run: curl error: %s", run.r.curl_err);
    if (!expect_status_at(__LINE__, &run.r, 200) || !check_run(__LINE__, run.r.json, through))
        return note_line(__LINE__);
    g_latest = through;
    printf("# the run posted %lld lines\n", jint0(run.r.json, "lines_posted"));
    CHECK(jint0(run.r.json, "lines_posted") >= n, "the run posted %lld lines for %d new placements",
          jint0(run.r.json, "lines_posted"), n);
    CHECK(side_bad == 0, "%d of %d requests during the run failed; first: %s", side_bad, side_n,
          side_err);
    CHECK(second_run[0] == '\0', "a second run: %s", second_run);
    if (run_s > 0.2)
        CHECK(side_during >= 2,
              "the run took %.2f s but only %d other requests were answered meanwhile", run_s,
              side_during);
    CHECK(max_health < 2.0, "a /healthz during the run took %.2f s", max_health);
    /* One of the load's placements is owed what the rules say (nothing after the run's through),
     * and has it posted. */
    TRY(load_rates());
    memset(&M, 0, sizeof M);
    M.per[M.nper].dossier = "(load)";
    M.per[M.nper++].rec[muni_index(LOAD_MUNI)] = (struct mrec){true, D("1980-01-01"), false};
    M.pl[M.npl++] = (struct mplace){load_id,         0,      LOAD_MUNI, D("2026-01-05"),
                                    D("2026-01-05"), NO_DAY, NO_DAY,    NULL};
    TRY(check_placement_accruals(&M.pl[0]));
    return true;
}

/* ------------------------------------------------------------------------------------------ */

static const struct test TESTS[] = {
    {"latest_run", t_latest_run}, /* first: every run after it goes from the latest through */
    {"child_turns_adult", t_child_turns_adult},
    {"run_rules", t_run_rules},
    {"ledger_entries", t_ledger_entries},
    {"late_move_out_reclaims", t_late_move_out},
    {"birth_date_correction", t_birth_date_correction},
    {"transfer_same_day", t_transfer_same_day},
    {"allocations", t_allocations},
    {"invariants_random", t_invariants_random}, /* runs through up to the cap */
    {"run_in_flight", t_run_in_flight},         /* last: its load stays out of the others' way */
};

int main(void)
{
    return harness_main(TESTS, ARRAY_LEN(TESTS));
}
