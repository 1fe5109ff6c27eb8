/* test_payments: integration tests of payments, the reconciliation, the balance and the SIE 4E
 * export through the real daemon over HTTPS (RULES.md §3–§4 and proto/openapi.yaml, issue 4).
 *
 * Reads $RB_FIXTURE/env like the other programs (harness.c) and prints `ok N - name` / `not ok
 * N - name: why`, then `P passed, F failed`.
 *
 * Everything happens in one municipality no other test uses, 1765 Årjäng (Å and ä in the name,
 * for the CP437 check of the SIE export), acted for by the admin client. So that the program can
 * run again against the same database, it uses a block of four months that holds no
 * reconciliation rows yet (the first free one of 2022-07.., 2022-11.., …) and fresh dossier
 * numbers; the balance is checked as the difference from before the program's first fact.
 *   M    persons of every class: A paid exactly (ok), B paid less and one line not at all
 *        (underpaid), C paid more (overpaid), U an unknown dossier (unknown_person), and two
 *        allocated places paid for one (ALLOCATION_PLACE, underpaid, no person); later A's
 *        move-out is corrected to an earlier day and B's missing line is paid, and the report as
 *        known before that is reproduced;
 *   M+1  a person G and no payment list (not_yet_paid), until the late payment pays one line;
 *   M+2  persons D, E, F paid through CSV payment lists (good, bad, duplicate, repeated lines,
 *        BOM and CRLF, a negative line);
 *   M+3  a person P paid by two payments without lines (one LUMP_SUM row).
 * Every placement lies inside one month, moving in on or after day 2 and out by day 25, so the
 * amounts written out below hold for any month (schedule from 2022-07-01: MOVE_IN 1 500 000 öre,
 * DAY_CHILD 15 000 and DAY_ADULT 30 000 öre per day).
 *
 * Accrual runs are global and their `through` never goes back: like test_ledger, the first test
 * finds the latest done run, and every run here goes through max(the end of the block, latest).
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MUNI "1765"
#define MUNI_NAME "Årjäng"
#define NO_DAY INT32_MIN

/* The chart's documented defaults (ledger_sie.c). */
#define ACC_RECEIVABLE 1513
#define ACC_BANK 1930

/* ------------------------------------------------------------------------------------------ */
/* Civil dates and months                                                                     */

static int32_t D(const char *s)
{
    int y, m, d;
    if (s == NULL || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return NO_DAY;
    return harness_days_from_civil(y, m, d);
}

static const char *dfmt(int32_t z)
{
    if (z == NO_DAY)
        return "(none)";
    int y, m, d;
    harness_civil_from_days(z, &y, &m, &d);
    return kstrf("%04d-%02d-%02d", y, m, d);
}

struct ym {
    int y, m;
};

static struct ym ym_add(struct ym a, int n)
{
    int t = a.y * 12 + (a.m - 1) + n;
    return (struct ym){t / 12, t % 12 + 1};
}

/* "YYYY-MM" (pooled). */
static const char *ymf(struct ym a)
{
    return kstrf("%04d-%02d", a.y, a.m);
}

/* "YYYY-MM-DD" of day d of the month (pooled). */
static const char *dayf(struct ym a, int d)
{
    return kstrf("%04d-%02d-%02d", a.y, a.m, d);
}

static int32_t last_day(struct ym a)
{
    struct ym n = ym_add(a, 1);
    return harness_days_from_civil(n.y, n.m, 1) - 1;
}

/* "YYYYMMDD" of the Stockholm day holding an RFC 3339 UTC timestamp (pooled), or NULL. */
static const char *stockholm_yyyymmdd(const char *ts)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (ts == NULL || sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                             &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return NULL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int y, m, d;
    harness_civil_from_days(harness_stockholm_day(timegm(&tm)), &y, &m, &d);
    return kstrf("%04d%02d%02d", y, m, d);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON helpers                                                                               */

/* o[key] is the string want, or JSON null when want is NULL. */
static bool str_or_null(const json_t *o, const char *key, const char *want)
{
    json_t *v = json_object_get(o, key);
    if (want == NULL)
        return json_is_null(v);
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* State shared by the tests (not pooled: it outlives each test)                              */

struct person {
    const char *label;
    char dossier[16];
    char id[32];
};

static struct person pA = {.label = "A"}, pB = {.label = "B"}, pC = {.label = "C"},
                     pG = {.label = "G"}, pD = {.label = "D"}, pE = {.label = "E"},
                     pF = {.label = "F"}, pP = {.label = "P"};
static char g_unknown[16];  /* a dossier no placement has */
static char g_unknown2[16]; /* another */
static char g_tag[16];      /* makes references (and so files) unique to this run */

static int32_t g_latest = NO_DAY; /* the latest done run's through, as far as we know */
static int32_t g_today;           /* in Stockholm */
static struct ym g_M, g_N, g_K, g_L;
static bool g_ready;       /* the setup worked */
static json_t *g_report_m; /* month M's report before the late correction */
static char *g_csv_m;      /* the same as CSV */
static char g_t1[64];      /* its as_known_at */
static char *g_sie_ref;    /* the reference of the lump sum payment paid by SIE_REF */

#define NCODES 6
static const char *const codes[NCODES] = {"ALLOCATION_PLACE", "MOVE_IN",        "DAY_CHILD",
                                          "DAY_ADULT",        "DAY_FORMER_UAM", "LUMP_SUM"};

static int code_index(const char *code)
{
    for (int i = 0; i < NCODES; i++)
        if (str_eq(code, codes[i]))
            return i;
    return -1;
}

struct bal {
    bool split; /* every by_code item has outstanding_ore and expected_reclaim_ore */
    long long owed, paid, out, rec;
    long long c_owed[NCODES], c_paid[NCODES], c_out[NCODES], c_rec[NCODES];
};
static struct bal g_bal_before;
static struct bal g_bal_mid; /* right after month M's payment list, as at T1 */

/* ------------------------------------------------------------------------------------------ */
/* Accrual runs                                                                               */

static bool find_latest_run(void)
{
    char through[16];
    TRY(harness_latest_done_through(through, sizeof through));
    g_latest = through[0] ? D(through) : NO_DAY;
    CHECK(!through[0] || g_latest != NO_DAY, "the latest run has no through: %s", through);
    return true;
}

/* POST /v1/accruals/run through max(wanted, latest): 200, done, none of our placements parked. */
static bool run_accrual(int32_t wanted)
{
    int32_t t = g_latest != NO_DAY && g_latest > wanted ? g_latest : wanted;
    CHECK(t < g_today, "cannot run through %s: not before today %s", dfmt(t), dfmt(g_today));
    struct resp r;
    TRY(harness_post_run(dfmt(t), &r));
    CHECK(str_eq(js(r.json, "status"), "done") && str_eq(js(r.json, "through"), dfmt(t)),
          "the run is not done through %s: %s", dfmt(t), snip(&r));
    json_t *errors = json_object_get(r.json, "errors");
    CHECK(errors == NULL || json_array_size(errors) == 0, "the run has errors: %s", snip(&r));
    const struct person *all[] = {&pA, &pB, &pC, &pG, &pD, &pE, &pF, &pP};
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(r.json, "parked"), i, p)
    {
        for (size_t k = 0; k < ARRAY_LEN(all); k++)
            CHECK(!str_eq(js(p, "placement_id"), all[k]->id), "person %s's placement is parked: %s",
                  all[k]->label, dump(p));
    }
    g_latest = t;
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                   */

/* Sets up x on handle h for POST /v1/payments/import with Content-Type text/csv and exactly
 * these bytes (prepare() would send application/json), and a fresh Idempotency-Key. */
static void prepare_csv(struct xfer *x, CURL *h, struct resp *out, const char *token,
                        const char *body, size_t len, long timeout_s)
{
    prepare(x, h, out, "POST", "/v1/payments/import", token, body, len, NULL, false, timeout_s);
    curl_slist_free_all(x->hdrs);
    x->hdrs = curl_slist_append(NULL, "Accept: application/json");
    if (token != NULL)
        x->hdrs = curl_slist_append(x->hdrs, kstrf("Authorization: Bearer %s", token));
    x->hdrs = curl_slist_append(x->hdrs, "Content-Type: text/csv; charset=utf-8");
    x->hdrs = curl_slist_append(x->hdrs, kstrf("Idempotency-Key: %s", new_key()));
    x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
}

static bool post_csv(const char *token, const char *body, size_t len, struct resp *out)
{
    struct xfer x;
    prepare_csv(&x, g_easy, out, token, body, len, g_timeout);
    x.cc = curl_easy_perform(g_easy);
    finish(&x);
    if (x.cc != CURLE_OK)
        return failf(0, "%s: curl error %d: %s", out->what, (int)x.cc, out->curl_err);
    return true;
}

/* The status of a response whose body is not JSON. */
static bool status_is(int line, const struct resp *r, long status)
{
    if (r->status != status)
        return failf(line, "expected HTTP %ld: %s", status, snip(r));
    return true;
}

static const char *recon_path(struct ym m, const char *format, const char *at)
{
    return kstrf("/v1/reports/reconciliation?municipality=%s&month=%s&format=%s%s%s", MUNI, ymf(m),
                 format, at ? "&as_known_at=" : "", at ? esc(at) : "");
}

static bool valid_class(const char *c)
{
    static const char *const classes[] = {"ok", "underpaid", "overpaid", "unknown_person",
                                          "not_yet_paid"};
    for (size_t i = 0; i < ARRAY_LEN(classes); i++)
        if (str_eq(c, classes[i]))
            return true;
    return false;
}

/* GET the JSON reconciliation of month m (as known at `at`, or now): 200 and the documented shape,
 * as_known_at echoing `echo` (NULL: `at`), every row's diff_ore = paid_ore − owed_ore. */
static bool recon_ex(struct ym m, const char *at, const char *echo, json_t **out)
{
    struct resp r;
    TRY(GET(recon_path(m, "json", at), E.admin, &r));
    EXPECT_STATUS(&r, 200);
    json_t *o = r.json;
    CHECK(str_eq(js(o, "municipality"), MUNI) && str_eq(js(o, "month"), ymf(m)),
          "municipality or month is not %s %s: %s", MUNI, ymf(m), snip(&r));
    CHECK(looks_like_utc_timestamp(js(o, "as_known_at")),
          "as_known_at is not an RFC 3339 UTC timestamp: %s", snip(&r));
    if (echo == NULL)
        echo = at;
    if (echo != NULL)
        CHECK(str_eq(js(o, "as_known_at"), echo), "as_known_at is not %s: %s", echo, snip(&r));
    json_t *rows = json_object_get(o, "rows"), *totals = json_object_get(o, "totals");
    CHECK(json_is_array(rows) && json_is_array(totals), "rows or totals is not an array: %s",
          snip(&r));
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_t *d = json_object_get(row, "dossier_number"),
               *p = json_object_get(row, "placement_id");
        long long owed, paid, diff;
        CHECK((json_is_string(d) || json_is_null(d)) && (json_is_string(p) || json_is_null(p)) &&
                  js(row, "code") != NULL && jint(row, "owed_ore", &owed) &&
                  jint(row, "paid_ore", &paid) && jint(row, "diff_ore", &diff) &&
                  valid_class(js(row, "class")),
              "row %zu has not the documented shape: %s", i, dump(row));
        CHECK(diff == paid - owed, "row %zu: diff_ore is not paid_ore - owed_ore: %s", i,
              dump(row));
    }
    json_t *t;
    json_array_foreach(totals, i, t)
    {
        long long owed, paid, diff;
        CHECK(valid_class(js(t, "class")) && js(t, "code") != NULL && jint(t, "owed_ore", &owed) &&
                  jint(t, "paid_ore", &paid) && jint(t, "diff_ore", &diff) && diff == paid - owed,
              "totals item %zu has not the documented shape: %s", i, dump(t));
    }
    *out = o;
    return true;
}

static bool recon(struct ym m, const char *at, json_t **out)
{
    return recon_ex(m, at, NULL, out);
}

/* The CSV the JSON report's rows make: the documented header, the same rows in the same order,
 * CRLF line ends (pooled). */
static const char *csv_of(const json_t *report)
{
    const char *s =
        kstrf("municipality;month;dossier_number;placement_id;code;owed_ore;paid_ore;diff_ore;"
              "class\r\n");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(report, "rows"), i, row)
    {
        const char *d = js(row, "dossier_number"), *p = js(row, "placement_id");
        s = kstrf("%s%s;%s;%s;%s;%s;%lld;%lld;%lld;%s\r\n", s, MUNI, js(report, "month"),
                  d ? d : "", p ? p : "", js(row, "code"), jint0(row, "owed_ore"),
                  jint0(row, "paid_ore"), jint0(row, "diff_ore"), js(row, "class"));
    }
    return s;
}

/* GET the CSV reconciliation of month m: 200, text/csv, and the same rows as `report`. */
static bool recon_csv_matches(int line, struct ym m, const char *at, const json_t *report,
                              const char **body_out)
{
    struct resp r;
    if (!GET(recon_path(m, "csv", at), E.admin, &r))
        return note_line(line);
    if (!status_is(line, &r, 200))
        return false;
    if (strncmp(r.content_type, "text/csv", 8) != 0)
        return failf(line, "CSV report Content-Type is '%s', expected text/csv", r.content_type);
    const char *want = csv_of(report);
    if (r.len != strlen(want) || memcmp(r.body, want, r.len) != 0)
        return failf(line, "the CSV report is not the JSON report's rows:\n got: %s\nwant: %s",
                     snip(&r), want);
    if (body_out != NULL)
        *body_out = r.body;
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Expected rows and totals                                                                   */

struct erow {
    const char *dossier, *placement, *code;
    long long owed, paid;
    const char *cls;
};

struct etot {
    const char *cls, *code;
    long long owed, paid;
};

/* The report holds exactly these rows (in any order). */
static bool expect_rows(int line, const json_t *report, const struct erow *e, size_t n)
{
    json_t *rows = json_object_get(report, "rows");
    if (json_array_size(rows) != n)
        return failf(line, "expected %zu rows, got %zu: %s", n, json_array_size(rows), dump(rows));
    for (size_t k = 0; k < n; k++) {
        json_t *hit = NULL, *row;
        size_t i;
        json_array_foreach(rows, i, row)
        {
            if (str_or_null(row, "dossier_number", e[k].dossier) &&
                str_eq(js(row, "code"), e[k].code))
                hit = row;
        }
        if (hit == NULL)
            return failf(line, "no row for dossier %s code %s: %s",
                         e[k].dossier ? e[k].dossier : "(null)", e[k].code, dump(rows));
        if (!str_or_null(hit, "placement_id", e[k].placement) ||
            jint0(hit, "owed_ore") != e[k].owed || jint0(hit, "paid_ore") != e[k].paid ||
            jint0(hit, "diff_ore") != e[k].paid - e[k].owed || !str_eq(js(hit, "class"), e[k].cls))
            return failf(line,
                         "row %s %s: expected placement %s, owed %lld, paid %lld, diff %lld, "
                         "class %s; got %s",
                         e[k].dossier ? e[k].dossier : "(null)", e[k].code,
                         e[k].placement ? e[k].placement : "null", e[k].owed, e[k].paid,
                         e[k].paid - e[k].owed, e[k].cls, dump(hit));
    }
    return true;
}

/* The report's totals are exactly these (class, code) sums. */
static bool expect_totals(int line, const json_t *report, const struct etot *e, size_t n)
{
    json_t *totals = json_object_get(report, "totals");
    if (json_array_size(totals) != n)
        return failf(line, "expected %zu totals, got %zu: %s", n, json_array_size(totals),
                     dump(totals));
    for (size_t k = 0; k < n; k++) {
        json_t *hit = NULL, *t;
        size_t i;
        json_array_foreach(totals, i, t)
        {
            if (str_eq(js(t, "class"), e[k].cls) && str_eq(js(t, "code"), e[k].code))
                hit = t;
        }
        if (hit == NULL || jint0(hit, "owed_ore") != e[k].owed ||
            jint0(hit, "paid_ore") != e[k].paid || jint0(hit, "diff_ore") != e[k].paid - e[k].owed)
            return failf(line, "totals %s %s: expected owed %lld, paid %lld, diff %lld: %s",
                         e[k].cls, e[k].code, e[k].owed, e[k].paid, e[k].paid - e[k].owed,
                         dump(totals));
    }
    return true;
}

static bool same_rows(const json_t *a, const json_t *b)
{
    return json_equal(json_object_get(a, "rows"), json_object_get(b, "rows")) &&
           json_equal(json_object_get(a, "totals"), json_object_get(b, "totals"));
}

/* ------------------------------------------------------------------------------------------ */
/* Balance                                                                                    */

static bool get_balance(struct bal *b)
{
    struct resp r;
    memset(b, 0, sizeof *b);
    b->split = true;
    TRY(GET("/v1/municipalities/" MUNI "/balance", E.admin, &r));
    EXPECT_STATUS(&r, 200);
    json_t *o = r.json;
    CHECK(str_eq(js(o, "municipality"), MUNI) && looks_like_utc_timestamp(js(o, "as_of")),
          "balance: municipality or as_of wrong: %s", snip(&r));
    CHECK(jint(o, "owed_ore", &b->owed) && jint(o, "paid_ore", &b->paid) &&
              jint(o, "outstanding_ore", &b->out) && jint(o, "expected_reclaim_ore", &b->rec),
          "balance: owed/paid/outstanding/expected_reclaim are not integers: %s", snip(&r));
    json_t *by;
    TRY(get_array(__LINE__, o, "by_code", &r, &by));
    size_t i;
    json_t *c;
    json_array_foreach(by, i, c)
    {
        int k = code_index(js(c, "code"));
        CHECK(k >= 0, "balance: unexpected code in by_code: %s", dump(c));
        CHECK(jint(c, "owed_ore", &b->c_owed[k]) && jint(c, "paid_ore", &b->c_paid[k]),
              "balance: by_code item lacks owed_ore or paid_ore: %s", dump(c));
        /* Per-code outstanding and reclaim (more than RULES.md promises): checked when given. */
        b->split = b->split && jint(c, "outstanding_ore", &b->c_out[k]) &&
                   jint(c, "expected_reclaim_ore", &b->c_rec[k]);
    }
    return true;
}

/* Expected change of the balance since g_bal_before: totals, and per code owed/paid/outstanding/
 * reclaim in the order of codes[]. */
struct bal_delta {
    long long owed, paid, out, rec;
    long long c[NCODES][4];
};

static bool expect_balance_delta(int line, const struct bal_delta *e)
{
    struct bal now;
    if (!get_balance(&now))
        return note_line(line);
    const struct bal *b = &g_bal_before;
    if (now.owed - b->owed != e->owed || now.paid - b->paid != e->paid ||
        now.out - b->out != e->out || now.rec - b->rec != e->rec)
        return failf(line,
                     "balance changed by owed %lld, paid %lld, outstanding %lld, expected_reclaim "
                     "%lld; expected %lld, %lld, %lld, %lld",
                     now.owed - b->owed, now.paid - b->paid, now.out - b->out, now.rec - b->rec,
                     e->owed, e->paid, e->out, e->rec);
    for (int k = 0; k < NCODES; k++) {
        long long got[4] = {now.c_owed[k] - b->c_owed[k], now.c_paid[k] - b->c_paid[k],
                            now.c_out[k] - b->c_out[k], now.c_rec[k] - b->c_rec[k]};
        bool split = now.split && b->split;
        if (got[0] != e->c[k][0] || got[1] != e->c[k][1] ||
            (split && (got[2] != e->c[k][2] || got[3] != e->c[k][3])))
            return failf(line,
                         "balance by_code %s changed by owed %lld, paid %lld, outstanding %lld, "
                         "reclaim %lld; expected %lld, %lld, %lld, %lld",
                         codes[k], got[0], got[1], got[2], got[3], e->c[k][0], e->c[k][1],
                         e->c[k][2], e->c[k][3]);
    }
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Payments                                                                                   */

struct pline {
    const char *dossier; /* NULL: an ALLOCATION_PLACE line */
    struct ym month;
    const char *code;
    long long ore;
};

static const char *payment_body(const char *paid_on, long long amount, const char *reference,
                                const struct pline *l, size_t n)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "municipality", MUNI, "paid_on", paid_on,
                          "amount_ore", (json_int_t)amount, "reference", reference);
    json_t *lines = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_pack("{s:s, s:s, s:I}", "month", ymf(l[i].month), "code", l[i].code,
                              "amount_ore", (json_int_t)l[i].ore);
        if (l[i].dossier != NULL)
            json_object_set_new(x, "dossier_number", json_string(l[i].dossier));
        json_array_append_new(lines, x);
    }
    json_object_set_new(o, "lines", lines);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return keep_str(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Tests                                                                                      */

/* A placement inside month m, moving in on day `in` and out on day `out` (left the country). */
static bool place(struct person *p, const char *birth, struct ym m, int in, int out)
{
    struct pl pl = {new_dossier(), birth, MUNI, dayf(m, in), dayf(m, in), -1};
    const char *id;
    TRY(create_ok(E.admin, &pl, NULL, &id));
    TRY(move_out_ok(E.admin, id, dayf(m, out), "left_country"));
    snprintf(p->dossier, sizeof p->dossier, "%s", pl.dossier);
    snprintf(p->id, sizeof p->id, "%s", id);
    return true;
}

/* The latest run, a block of four months without any reconciliation rows, the balance before,
 * the placements, and an accrual run through the block. */
static bool t_setup(void)
{
    g_today = harness_stockholm_day(time(NULL));
    TRY(find_latest_run());
    unsigned char b[4];
    random_bytes(b, sizeof b);
    snprintf(g_tag, sizeof g_tag, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
    snprintf(g_unknown, sizeof g_unknown, "%s", new_dossier());
    snprintf(g_unknown2, sizeof g_unknown2, "%s", new_dossier());

    bool found = false;
    for (struct ym base = {2022, 7}; !found && last_day(ym_add(base, 3)) < g_today - 1;
         base = ym_add(base, 4)) {
        bool empty = true;
        for (int k = 0; k < 4 && empty; k++) {
            json_t *rep;
            TRY(recon(ym_add(base, k), NULL, &rep));
            empty = json_array_size(json_object_get(rep, "rows")) == 0;
        }
        if (empty) {
            g_M = base;
            found = true;
        }
    }
    CHECK(found,
          "every block of four months from 2022-07 on already has reconciliation rows in " MUNI
          "; start from a fresh fixture");
    g_N = ym_add(g_M, 1);
    g_K = ym_add(g_M, 2);
    g_L = ym_add(g_M, 3);
    printf("# months: scenario %s, not yet paid %s, CSV %s, lump sum %s; latest run through %s\n",
           ymf(g_M), ymf(g_N), ymf(g_K), ymf(g_L), dfmt(g_latest));
    TRY(get_balance(&g_bal_before));

    /* A: a child (born 2010), days 5..14: MOVE_IN, 10 child days. */
    TRY(place(&pA, "2010-01-01", g_M, 5, 15));
    /* B: 18 on day 8 of M; days 3..12: MOVE_IN, 5 child days (3..7), 5 adult days (8..12). */
    TRY(place(&pB, kstrf("%04d-%02d-08", g_M.y - 18, g_M.m), g_M, 3, 13));
    /* C: an adult, days 10..16: MOVE_IN, 7 adult days. */
    TRY(place(&pC, "1990-05-05", g_M, 10, 17));
    /* G: an adult in M+1, days 2..11: MOVE_IN, 10 adult days. */
    TRY(place(&pG, "1985-03-15", g_N, 2, 12));
    /* D: an adult in M+2, days 2..11: MOVE_IN, 10 adult days. */
    TRY(place(&pD, "1988-02-02", g_K, 2, 12));
    /* E: a child in M+2, days 5..8: MOVE_IN, 4 child days. */
    TRY(place(&pE, "2012-06-06", g_K, 5, 9));
    /* F: an adult in M+2, days 15..19: MOVE_IN, 5 adult days. */
    TRY(place(&pF, "1979-09-09", g_K, 15, 20));
    /* P: an adult in M+3, days 4..13: MOVE_IN, 10 adult days. */
    TRY(place(&pP, "1995-12-12", g_L, 4, 14));
    /* Two allocated places decided on day 15 of M: 2 000 000 owed in M, per municipality. The
     * year is only a label; one without decisions is picked, as test_ledger does. */
    struct resp r;
    int year = 0;
    for (int attempt = 0; attempt < 200 && year == 0; attempt++) {
        unsigned char rb[2];
        random_bytes(rb, sizeof rb);
        int y = 2030 + (rb[0] * 256 + rb[1]) % 70;
        TRY(GET(kstrf("/v1/allocations?municipality=%s&year=%d", MUNI, y), E.admin, &r));
        EXPECT_STATUS(&r, 200);
        if (json_array_size(json_object_get(r.json, "items")) == 0)
            year = y;
    }
    CHECK(year != 0, "every year in 2030..2099 has allocations for " MUNI);
    TRY(POST("/v1/allocations", E.admin,
             kstrf("{\"municipality\":\"%s\",\"year\":%d,\"places\":2,\"decided_on\":\"%s\"}", MUNI,
                   year, dayf(g_M, 15)),
             NULL, &r));
    EXPECT_STATUS(&r, 201);
    CHECK(jint0(r.json, "accrued_places") == 2, "expected 2 accrued places: %s", snip(&r));
    TRY(run_accrual(last_day(g_L)));
    g_ready = true;
    return true;
}

/* The payment list for M: one row of every class, CSV and JSON the same, totals, balance. */
static bool t_classes(void)
{
    CHECK(g_ready, "the setup failed");
    struct resp r;
    const struct pline lines[] = {
        {pA.dossier, g_M, "MOVE_IN", 1500000}, {pA.dossier, g_M, "DAY_CHILD", 150000},
        {pB.dossier, g_M, "DAY_CHILD", 75000}, {pB.dossier, g_M, "DAY_ADULT", 90000},
        {pC.dossier, g_M, "MOVE_IN", 1500000}, {pC.dossier, g_M, "DAY_ADULT", 300000},
        {g_unknown, g_M, "DAY_ADULT", 450000}, {NULL, g_M, "ALLOCATION_PLACE", 1000000},
    };
    const char *paid_on = dayf(g_N, 25), *ref = kstrf("UTB-%s-%s", g_tag, ymf(g_M));
    /* Lines that do not sum to the amount: refused, nothing recorded (checked below). */
    TRY(POST("/v1/payments", E.admin, payment_body(paid_on, 5065001, ref, lines, ARRAY_LEN(lines)),
             NULL, &r));
    EXPECT_ERROR(&r, 422, "lines_sum_mismatch", "lines");
    TRY(POST("/v1/payments", E.admin, payment_body(paid_on, 5065000, ref, lines, ARRAY_LEN(lines)),
             NULL, &r));
    EXPECT_STATUS(&r, 201);
    CHECK(js(r.json, "payment_id") != NULL && jint0(r.json, "lines_recorded") == 8 &&
              jint0(r.json, "lines_skipped") == 0,
          "expected a payment_id, 8 lines recorded, 0 skipped: %s", snip(&r));

    const struct erow want[] = {
        {pA.dossier, pA.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pA.dossier, pA.id, "DAY_CHILD", 150000, 150000, "ok"},
        {pB.dossier, pB.id, "MOVE_IN", 1500000, 0, "underpaid"}, /* no line at all */
        {pB.dossier, pB.id, "DAY_CHILD", 75000, 75000, "ok"},
        {pB.dossier, pB.id, "DAY_ADULT", 150000, 90000, "underpaid"},
        {pC.dossier, pC.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pC.dossier, pC.id, "DAY_ADULT", 210000, 300000, "overpaid"},
        {g_unknown, NULL, "DAY_ADULT", 0, 450000, "unknown_person"},
        {NULL, NULL, "ALLOCATION_PLACE", 2000000, 1000000, "underpaid"},
    };
    const struct etot want_totals[] = {
        {"ok", "MOVE_IN", 3000000, 3000000},
        {"ok", "DAY_CHILD", 225000, 225000},
        {"underpaid", "MOVE_IN", 1500000, 0},
        {"underpaid", "DAY_ADULT", 150000, 90000},
        {"overpaid", "DAY_ADULT", 210000, 300000},
        {"underpaid", "ALLOCATION_PLACE", 2000000, 1000000},
        {"unknown_person", "DAY_ADULT", 0, 450000},
    };
    json_t *rep;
    TRY(recon(g_M, NULL, &rep));
    TRY(expect_rows(__LINE__, rep, want, ARRAY_LEN(want)));
    TRY(expect_totals(__LINE__, rep, want_totals, ARRAY_LEN(want_totals)));
    const char *csv;
    TRY(recon_csv_matches(__LINE__, g_M, NULL, rep, &csv));

    /* M+1: no payment list yet. */
    const struct erow want_n[] = {
        {pG.dossier, pG.id, "MOVE_IN", 1500000, 0, "not_yet_paid"},
        {pG.dossier, pG.id, "DAY_ADULT", 300000, 0, "not_yet_paid"},
    };
    const struct etot want_n_totals[] = {
        {"not_yet_paid", "MOVE_IN", 1500000, 0},
        {"not_yet_paid", "DAY_ADULT", 300000, 0},
    };
    json_t *rep_n;
    TRY(recon(g_N, NULL, &rep_n));
    TRY(expect_rows(__LINE__, rep_n, want_n, ARRAY_LEN(want_n)));
    TRY(expect_totals(__LINE__, rep_n, want_n_totals, ARRAY_LEN(want_n_totals)));
    TRY(recon_csv_matches(__LINE__, g_N, NULL, rep_n, NULL));

    /* The same lines again, as a manual entry: every line is skipped, nothing is doubled. */
    TRY(POST("/v1/payments", E.admin, payment_body(paid_on, 5065000, ref, lines, ARRAY_LEN(lines)),
             NULL, &r));
    EXPECT_STATUS(&r, 201);
    CHECK(jint0(r.json, "lines_recorded") == 0 && jint0(r.json, "lines_skipped") == 8,
          "the repeated payment: expected 0 lines recorded and 8 skipped: %s", snip(&r));
    json_t *again;
    TRY(recon(g_M, NULL, &again));
    CHECK(same_rows(rep, again), "the repeated payment changed the report:\nbefore %s\nafter %s",
          dump(rep), dump(again));

    /* Balance: everything owed in the four months (M+2 and M+3 not yet paid) against the list.
     * outstanding = B 1 500 000 + 60 000, ALLOCATION_PLACE 1 000 000, G 1 800 000,
     * D/E/F 5 010 000, P 1 800 000; expected_reclaim = C 90 000 + U 450 000. */
    const struct bal_delta bd = {
        15695000,
        5065000,
        11170000,
        540000,
        {
            /* owed, paid, outstanding, reclaim */
            {2000000, 1000000, 1000000, 0},     /* ALLOCATION_PLACE */
            {12000000, 3000000, 9000000, 0},    /* MOVE_IN: A B C G D E F P */
            {285000, 225000, 60000, 0},         /* DAY_CHILD: A B E */
            {1410000, 840000, 1110000, 540000}, /* DAY_ADULT: B C G D F P, U paid */
            {0, 0, 0, 0},                       /* DAY_FORMER_UAM */
            {0, 0, 0, 0},                       /* LUMP_SUM */
        },
    };
    TRY(expect_balance_delta(__LINE__, &bd));
    TRY(get_balance(&g_bal_mid));

    g_report_m = json_deep_copy(rep);
    g_csv_m = strdup(csv);
    snprintf(g_t1, sizeof g_t1, "%s", js(rep, "as_known_at"));
    return true;
}

/* Two balances are the same (as_of aside). */
static bool same_balance(int line, const struct bal *a, const struct bal *b)
{
    bool same = a->owed == b->owed && a->paid == b->paid && a->out == b->out && a->rec == b->rec;
    for (int k = 0; k < NCODES; k++)
        same = same && a->c_owed[k] == b->c_owed[k] && a->c_paid[k] == b->c_paid[k] &&
               a->c_out[k] == b->c_out[k] && a->c_rec[k] == b->c_rec[k];
    if (!same)
        return failf(line,
                     "balances differ: owed %lld/%lld, paid %lld/%lld, outstanding %lld/%lld, "
                     "expected_reclaim %lld/%lld (or by_code)",
                     a->owed, b->owed, a->paid, b->paid, a->out, b->out, a->rec, b->rec);
    return true;
}

/* T1 + 1 hour written with the offset +01:00: the same instant (pooled), or NULL. */
static const char *plus_one_hour(const char *t)
{
    struct tm tm;
    char frac[16] = "";
    memset(&tm, 0, sizeof tm);
    if (sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%15[0-9]Z", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, frac) != 7)
        return NULL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t x = timegm(&tm) + 3600;
    gmtime_r(&x, &tm);
    return kstrf("%04d-%02d-%02dT%02d:%02d:%02d.%s+01:00", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* After T1: a late correction changes what M owes, and a late payment pays B's MOVE_IN for M and
 * G's DAY_ADULT for M+1 (so M+1 now has a list: G's unpaid MOVE_IN turns underpaid). The
 * reports as known at T1 are the earlier ones, and so is the balance as of T1. */
static bool t_as_known_at(void)
{
    CHECK(g_report_m != NULL && g_csv_m != NULL, "no earlier report to reproduce");
    struct resp r;
    TRY(POST(ppath(pA.id, "/corrections"), E.admin,
             kstrf("{\"field\":\"moved_out_on\",\"value\":\"%s\",\"reason\":\"test: moved out "
                   "earlier than recorded\"}",
                   dayf(g_M, 10)),
             NULL, &r));
    EXPECT_STATUS(&r, 200);
    TRY(run_accrual(last_day(g_L)));
    const struct pline late[] = {
        {pB.dossier, g_M, "MOVE_IN", 1500000},
        {pG.dossier, g_N, "DAY_ADULT", 300000},
    };
    TRY(POST("/v1/payments", E.admin,
             payment_body(dayf(ym_add(g_L, 1), 5), 1800000, kstrf("UTB-%s-late", g_tag), late,
                          ARRAY_LEN(late)),
             NULL, &r));
    EXPECT_STATUS(&r, 201);
    CHECK(jint0(r.json, "lines_recorded") == 2, "expected 2 lines recorded: %s", snip(&r));

    /* Now: A's DAY_CHILD is 5 days (75 000) against 150 000 paid; B's MOVE_IN is paid. */
    json_t *now;
    TRY(recon(g_M, NULL, &now));
    const struct erow want[] = {
        {pA.dossier, pA.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pA.dossier, pA.id, "DAY_CHILD", 75000, 150000, "overpaid"},
        {pB.dossier, pB.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pB.dossier, pB.id, "DAY_CHILD", 75000, 75000, "ok"},
        {pB.dossier, pB.id, "DAY_ADULT", 150000, 90000, "underpaid"},
        {pC.dossier, pC.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pC.dossier, pC.id, "DAY_ADULT", 210000, 300000, "overpaid"},
        {g_unknown, NULL, "DAY_ADULT", 0, 450000, "unknown_person"},
        {NULL, NULL, "ALLOCATION_PLACE", 2000000, 1000000, "underpaid"},
    };
    TRY(expect_rows(__LINE__, now, want, ARRAY_LEN(want)));
    TRY(recon_csv_matches(__LINE__, g_M, NULL, now, NULL));
    const struct erow want_n[] = {
        {pG.dossier, pG.id, "MOVE_IN", 1500000, 0, "underpaid"},
        {pG.dossier, pG.id, "DAY_ADULT", 300000, 300000, "ok"},
    };
    json_t *now_n;
    TRY(recon(g_N, NULL, &now_n));
    TRY(expect_rows(__LINE__, now_n, want_n, ARRAY_LEN(want_n)));

    /* As known at T1: exactly the earlier report, JSON and CSV. */
    json_t *then;
    TRY(recon(g_M, g_t1, &then));
    CHECK(same_rows(then, g_report_m),
          "the report as known at %s is not the report made then:\nthen %s\ngot  %s", g_t1,
          dump(g_report_m), dump(then));
    const char *csv;
    TRY(recon_csv_matches(__LINE__, g_M, g_t1, then, &csv));
    CHECK(strcmp(csv, g_csv_m) == 0,
          "the CSV as known at %s differs from the CSV made then:\n%s\n%s", g_t1, g_csv_m, csv);
    /* The same instant with another offset. */
    const char *t1b = plus_one_hour(g_t1);
    CHECK(t1b != NULL, "as_known_at %s is not YYYY-MM-DDTHH:MM:SS.fffZ", g_t1);
    TRY(recon_ex(g_M, t1b, g_t1, &then));
    CHECK(same_rows(then, g_report_m),
          "the report as known at %s (= %s) differs:\nthen %s\ngot  %s", t1b, g_t1,
          dump(g_report_m), dump(then));
    /* M+1 at T1: no list yet. */
    const struct erow want_n_t1[] = {
        {pG.dossier, pG.id, "MOVE_IN", 1500000, 0, "not_yet_paid"},
        {pG.dossier, pG.id, "DAY_ADULT", 300000, 0, "not_yet_paid"},
    };
    TRY(recon(g_N, g_t1, &then));
    TRY(expect_rows(__LINE__, then, want_n_t1, ARRAY_LEN(want_n_t1)));
    /* Long before anything: nothing. */
    TRY(recon(g_M, "2001-01-01T00:00:00.000000Z", &then));
    CHECK(json_array_size(json_object_get(then, "rows")) == 0, "rows as known in 2001: %s",
          dump(then));

    /* The balance as of T1 is the one read right after the list. */
    struct bal b;
    memset(&b, 0, sizeof b);
    TRY(GET(kstrf("/v1/municipalities/%s/balance?as_of=%s", MUNI, esc(g_t1)), E.admin, &r));
    EXPECT_STATUS(&r, 200);
    CHECK(str_eq(js(r.json, "as_of"), g_t1), "as_of is not %s: %s", g_t1, snip(&r));
    b.owed = jint0(r.json, "owed_ore");
    b.paid = jint0(r.json, "paid_ore");
    b.out = jint0(r.json, "outstanding_ore");
    b.rec = jint0(r.json, "expected_reclaim_ore");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r.json, "by_code"), i, c)
    {
        int k = code_index(js(c, "code"));
        CHECK(k >= 0, "balance: unexpected code in by_code: %s", dump(c));
        b.c_owed[k] = jint0(c, "owed_ore");
        b.c_paid[k] = jint0(c, "paid_ore");
        b.c_out[k] = jint0(c, "outstanding_ore");
        b.c_rec[k] = jint0(c, "expected_reclaim_ore");
    }
    TRY(same_balance(__LINE__, &b, &g_bal_mid));
    return true;
}

/* The CSV line of a payment list (LF or CRLF added by the caller). */
static const char *csv_line(const char *dossier, struct ym m, const char *code, long long ore,
                            const char *paid_on, const char *ref)
{
    return kstrf("%s;%s;%s;%s;%lld;%s;%s", MUNI, dossier ? dossier : "", ymf(m), code, ore, paid_on,
                 ref);
}

static bool check_import(int line, const struct resp *r, long status, bool dup, long long total,
                         long long imported, long long skipped)
{
    if (!expect_status_at(line, r, status))
        return false;
    json_t *o = r->json;
    long long lt, li, ls;
    if (js(o, "import_id") == NULL || !json_is_boolean(json_object_get(o, "duplicate_file")) ||
        json_is_true(json_object_get(o, "duplicate_file")) != dup || !jint(o, "lines_total", &lt) ||
        !jint(o, "lines_imported", &li) || !jint(o, "lines_skipped", &ls) || lt != total ||
        li != imported || ls != skipped)
        return failf(line,
                     "expected import_id, duplicate_file %s, lines_total %lld, lines_imported "
                     "%lld, lines_skipped %lld: %s",
                     dup ? "true" : "false", total, imported, skipped, snip(r));
    return true;
}

static bool t_csv_import(void)
{
    CHECK(g_ready, "the setup failed");
    struct resp r;
    const char *paid = dayf(ym_add(g_K, 1), 20), *ref = kstrf("MV-%s-%s", g_tag, ymf(g_K));
    const char *hdr = "municipality;dossier_number;month;code;amount_ore;paid_on;reference";
    json_t *before;
    TRY(recon(g_K, NULL, &before));
    CHECK(json_array_size(json_object_get(before, "rows")) == 6,
          "expected 6 not_yet_paid rows for D, E and F before any list: %s", dump(before));

    /* A good file: LF, no BOM. */
    const char *l1 = csv_line(pD.dossier, g_K, "MOVE_IN", 1500000, paid, ref);
    const char *l2 = csv_line(pD.dossier, g_K, "DAY_ADULT", 300000, paid, ref);
    const char *l3 = csv_line(pE.dossier, g_K, "MOVE_IN", 1500000, paid, ref);
    const char *good = kstrf("%s\n%s\n%s\n%s\n", hdr, l1, l2, l3);
    TRY(post_csv(E.admin, good, strlen(good), &r));
    TRY(check_import(__LINE__, &r, 201, false, 3, 3, 0));
    CHECK(jint0(r.json, "payments") == 1, "expected one payment: %s", snip(&r));
    const char *import_id = js(r.json, "import_id");
    const struct erow want1[] = {
        {pD.dossier, pD.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pD.dossier, pD.id, "DAY_ADULT", 300000, 300000, "ok"},
        {pE.dossier, pE.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pE.dossier, pE.id, "DAY_CHILD", 60000, 0, "underpaid"},
        {pF.dossier, pF.id, "MOVE_IN", 1500000, 0, "underpaid"},
        {pF.dossier, pF.id, "DAY_ADULT", 150000, 0, "underpaid"},
    };
    json_t *after1;
    TRY(recon(g_K, NULL, &after1));
    TRY(expect_rows(__LINE__, after1, want1, ARRAY_LEN(want1)));

    /* Three bad lines (3, 5, 6) among good ones and a blank line: all three reported with their
     * line numbers (the header is line 1) and fields; nothing written. */
    const char *bad = kstrf(
        "%s\n%s\n%s\n\n%s\n%s\n%s\n", hdr, csv_line(pE.dossier, g_K, "DAY_CHILD", 60000, paid, ref),
        kstrf("%s;%s;%s;DAY_ADULT;12.50;%s;%s", MUNI, pF.dossier, ymf(g_K), paid, ref),
        kstrf("%s;%s;%04d-13;MOVE_IN;1500000;%s;%s", MUNI, pF.dossier, g_K.y, paid, ref),
        csv_line(pF.dossier, g_K, "DAY_ELDER", 150000, paid, ref),
        csv_line(pF.dossier, g_K, "MOVE_IN", 1500000, paid, ref));
    TRY(post_csv(E.admin, bad, strlen(bad), &r));
    EXPECT_ERROR(&r, 422, "invalid_payment_list", NULL);
    json_t *errs =
        json_object_get(json_object_get(json_object_get(r.json, "error"), "details"), "lines");
    CHECK(json_is_array(errs) && json_array_size(errs) == 3,
          "expected error.details.lines with 3 entries: %s", snip(&r));
    const struct {
        long long line;
        const char *field;
    } want_errs[] = {{3, "amount_ore"}, {5, "month"}, {6, "code"}};
    for (size_t k = 0; k < ARRAY_LEN(want_errs); k++) {
        bool hit = false;
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e)
        {
            const char *msg = js(e, "message");
            hit = hit ||
                  (jint0(e, "line") == want_errs[k].line &&
                   str_eq(js(e, "field"), want_errs[k].field) && msg != NULL && msg[0] != '\0');
        }
        CHECK(hit, "no error {line %lld, field %s, message}: %s", want_errs[k].line,
              want_errs[k].field, dump(errs));
    }
    json_t *after_bad;
    TRY(recon(g_K, NULL, &after_bad));
    CHECK(same_rows(after1, after_bad), "the refused file changed the report:\n%s\n%s",
          dump(after1), dump(after_bad));

    /* The same file again: recognised, nothing written. */
    TRY(post_csv(E.admin, good, strlen(good), &r));
    TRY(check_import(__LINE__, &r, 200, true, 3, 0, 3));
    CHECK(str_eq(js(r.json, "import_id"), import_id), "the duplicate names import %s, not %s: %s",
          js(r.json, "import_id"), import_id, snip(&r));
    json_t *after_dup;
    TRY(recon(g_K, NULL, &after_dup));
    CHECK(same_rows(after1, after_dup), "the duplicate file changed the report:\n%s\n%s",
          dump(after1), dump(after_dup));

    /* Another file repeating the three lines around one new line: 3 skipped, 1 imported. */
    const char *l4 = csv_line(pE.dossier, g_K, "DAY_CHILD", 60000, paid, ref);
    const char *rep = kstrf("%s\n%s\n%s\n%s\n%s", hdr, l2, l4, l1, l3); /* no final line end */
    TRY(post_csv(E.admin, rep, strlen(rep), &r));
    TRY(check_import(__LINE__, &r, 201, false, 4, 1, 3));
    const struct erow want2[] = {
        {pD.dossier, pD.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pD.dossier, pD.id, "DAY_ADULT", 300000, 300000, "ok"},
        {pE.dossier, pE.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pE.dossier, pE.id, "DAY_CHILD", 60000, 60000, "ok"},
        {pF.dossier, pF.id, "MOVE_IN", 1500000, 0, "underpaid"},
        {pF.dossier, pF.id, "DAY_ADULT", 150000, 0, "underpaid"},
    };
    json_t *after2;
    TRY(recon(g_K, NULL, &after2));
    TRY(expect_rows(__LINE__, after2, want2, ARRAY_LEN(want2)));

    /* A file with a byte-order mark, CRLF line ends and a reference with Swedish letters. */
    const char *paid3 = dayf(ym_add(g_K, 1), 27);
    const char *ref3 = kstrf("Utbetalning åäö %s", g_tag);
    /* F's DAY_ADULT is paid 180 000 and netted by a reclaim line of -30 000. */
    const char *bom = kstrf("\xEF\xBB\xBF%s\r\n%s\r\n%s\r\n%s\r\n", hdr,
                            csv_line(pF.dossier, g_K, "MOVE_IN", 1500000, paid3, ref3),
                            csv_line(pF.dossier, g_K, "DAY_ADULT", 180000, paid3, ref3),
                            csv_line(pF.dossier, g_K, "DAY_ADULT", -30000, paid3, ref3));
    TRY(post_csv(E.admin, bom, strlen(bom), &r));
    TRY(check_import(__LINE__, &r, 201, false, 3, 3, 0));
    const struct erow want3[] = {
        {pD.dossier, pD.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pD.dossier, pD.id, "DAY_ADULT", 300000, 300000, "ok"},
        {pE.dossier, pE.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pE.dossier, pE.id, "DAY_CHILD", 60000, 60000, "ok"},
        {pF.dossier, pF.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pF.dossier, pF.id, "DAY_ADULT", 150000, 150000, "ok"},
    };
    const struct etot want3_totals[] = {
        {"ok", "MOVE_IN", 4500000, 4500000},
        {"ok", "DAY_ADULT", 450000, 450000},
        {"ok", "DAY_CHILD", 60000, 60000},
    };
    json_t *after3;
    TRY(recon(g_K, NULL, &after3));
    TRY(expect_rows(__LINE__, after3, want3, ARRAY_LEN(want3)));
    TRY(expect_totals(__LINE__, after3, want3_totals, ARRAY_LEN(want3_totals)));
    TRY(recon_csv_matches(__LINE__, g_K, NULL, after3, NULL));

    /* A scoped client importing a line of another municipality: 403 naming the line. */
    const char *other =
        kstrf("%s\n%s\n", hdr, csv_line(pD.dossier, g_K, "DAY_ADULT", 1, paid, "W1480-test"));
    TRY(post_csv(E.w1480, other, strlen(other), &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    json_t *d =
        json_object_get(json_object_get(json_object_get(r.json, "error"), "details"), "lines");
    CHECK(json_array_size(d) == 1 && jint0(json_array_get(d, 0), "line") == 2 &&
              str_eq(js(json_array_get(d, 0), "field"), "municipality"),
          "expected error.details.lines [{line 2, field municipality}]: %s", snip(&r));
    json_t *after_403;
    TRY(recon(g_K, NULL, &after_403));
    CHECK(same_rows(after3, after_403), "the refused import changed the report:\n%s\n%s",
          dump(after3), dump(after_403));
    return true;
}

/* A line naming a municipality that does not exist is a bad line like any other: 422
 * invalid_payment_list naming it, nothing written. */
static bool t_csv_unknown_municipality(void)
{
    CHECK(g_ready, "the setup failed");
    struct resp r;
    json_t *before;
    TRY(recon(g_K, NULL, &before));
    const char *paid = dayf(ym_add(g_K, 1), 21), *ref = kstrf("MV-%s-unknown", g_tag);
    const char *file = kstrf("municipality;dossier_number;month;code;amount_ore;paid_on;reference\n"
                             "9999;%s;%s;DAY_ADULT;1;%s;%s\n%s\n",
                             pD.dossier, ymf(g_K), paid, ref,
                             csv_line(pD.dossier, g_K, "DAY_ADULT", 7, paid, ref));
    TRY(post_csv(E.admin, file, strlen(file), &r));
    json_t *after;
    TRY(recon(g_K, NULL, &after));
    CHECK(same_rows(before, after), "the refused file changed the report:\n%s\n%s", dump(before),
          dump(after));
    EXPECT_ERROR(&r, 422, "invalid_payment_list", NULL);
    json_t *lines =
        json_object_get(json_object_get(json_object_get(r.json, "error"), "details"), "lines");
    CHECK(json_array_size(lines) == 1 && jint0(json_array_get(lines, 0), "line") == 2 &&
              str_eq(js(json_array_get(lines, 0), "field"), "municipality"),
          "expected error.details.lines [{line 2, field municipality}]: %s", snip(&r));
    return true;
}

/* Sends one file NCONC times at once: every answer is a 201 import (exactly one) or a 200
 * duplicate_file; `statuses` lists them. */
#define NCONC 8
static bool import_at_once(const char *file, long long lines, const char **statuses)
{
    struct xfer xs[NCONC];
    struct resp rs[NCONC];
    for (size_t i = 0; i < NCONC; i++)
        prepare_csv(&xs[i], curl_easy_init(), &rs[i], E.admin, file, strlen(file), 60);
    multi_run(xs, NCONC);
    int created = 0, dups = 0;
    const struct resp *odd = NULL;
    *statuses = "";
    for (size_t i = 0; i < NCONC; i++) {
        *statuses = kstrf("%s %ld", *statuses, rs[i].status);
        json_t *dup = json_object_get(rs[i].json, "duplicate_file");
        if (rs[i].status == 201 && json_is_false(dup) &&
            jint0(rs[i].json, "lines_imported") == lines)
            created++;
        else if (rs[i].status == 200 && json_is_true(dup) &&
                 jint0(rs[i].json, "lines_imported") == 0)
            dups++;
        else if (odd == NULL)
            odd = &rs[i];
    }
    if (odd != NULL)
        return failf(0,
                     "%d identical imports at once: statuses%s; expected one 201 and the others "
                     "200 duplicate_file; one answer: %s",
                     NCONC, *statuses, snip(odd));
    if (created != 1 || dups != NCONC - 1)
        return failf(0, "%d identical imports at once: %d imported, %d duplicates (statuses%s)",
                     NCONC, created, dups, *statuses);
    return true;
}

/* The same file sent several times at once (a double click): one import, the others recognised
 * as duplicates; nothing counted twice (an unknown dossier's 12 300 öre in M+2). A race shows
 * only sometimes, so five larger files are sent the same way (lines of 0 öre, which change no
 * row). */
static bool t_import_concurrent(void)
{
    CHECK(g_ready, "the setup failed");
    const char *hdr = "municipality;dossier_number;month;code;amount_ore;paid_on;reference\n";
    const char *paid = dayf(ym_add(g_K, 1), 22), *statuses;
    const char *file =
        kstrf("%s%s\n", hdr,
              csv_line(g_unknown2, g_K, "DAY_ADULT", 12300, paid, kstrf("MV-%s-twice", g_tag)));
    bool ok = import_at_once(file, 1, &statuses);
    printf("# %d identical imports at once: statuses%s\n", NCONC, statuses);
    for (int round = 2; ok && round <= 6; round++) {
        /* 400 lines of 0 öre for unknown dossiers: a longer transaction, and no row (0 owed, 0
         * paid) nor journal; M+2 is covered by a list already. */
        size_t cap = 128 + 400 * 96, len = 0;
        char *big = keep_str(malloc(cap));
        len += (size_t)snprintf(big + len, cap - len, "%s", hdr);
        for (int i = 0; i < 400; i++)
            len += (size_t)snprintf(big + len, cap - len, "%s\n",
                                    csv_line(kstrf("Z%sR%dN%d", g_tag, round, i), g_K, "DAY_ADULT",
                                             0, paid, kstrf("MV-%s-twice", g_tag)));
        ok = import_at_once(big, 400, &statuses);
        printf("# %d identical imports of 400 lines at once: statuses%s\n", NCONC, statuses);
    }
    char why[sizeof g_why];
    snprintf(why, sizeof why, "%s", g_why);
    json_t *rep;
    TRY(recon(g_K, NULL, &rep));
    const struct erow want[] = {
        {pD.dossier, pD.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pD.dossier, pD.id, "DAY_ADULT", 300000, 300000, "ok"},
        {pE.dossier, pE.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pE.dossier, pE.id, "DAY_CHILD", 60000, 60000, "ok"},
        {pF.dossier, pF.id, "MOVE_IN", 1500000, 1500000, "ok"},
        {pF.dossier, pF.id, "DAY_ADULT", 150000, 150000, "ok"},
        {g_unknown2, NULL, "DAY_ADULT", 0, 12300, "unknown_person"},
    };
    TRY(expect_rows(__LINE__, rep, want, ARRAY_LEN(want)));
    if (!ok)
        return failf(0, "%s", why);
    return true;
}

/* The lump sum's second payment carries a quote, backslashes and all six Swedish letters into the
 * SIE file's #VER text. */
#define SIE_REF "Klump \"Q\" C:\\mapp\\ \\\"x åäöÅÄÖ"

static bool t_lump_sum(void)
{
    CHECK(g_ready, "the setup failed");
    struct resp r;
    json_t *rep;
    const struct erow want0[] = {
        {pP.dossier, pP.id, "MOVE_IN", 1500000, 0, "not_yet_paid"},
        {pP.dossier, pP.id, "DAY_ADULT", 300000, 0, "not_yet_paid"},
    };
    TRY(recon(g_L, NULL, &rep));
    TRY(expect_rows(__LINE__, rep, want0, ARRAY_LEN(want0)));

    /* A payment without lines naming its month. */
    TRY(POST("/v1/payments", E.admin,
             kstrf("{\"municipality\":\"%s\",\"paid_on\":\"%s\",\"amount_ore\":1700000,"
                   "\"reference\":\"KLUMP-%s\",\"month\":\"%s\"}",
                   MUNI, dayf(ym_add(g_L, 1), 25), g_tag, ymf(g_L)),
             NULL, &r));
    EXPECT_STATUS(&r, 201);
    CHECK(str_eq(js(r.json, "month"), ymf(g_L)) && jint0(r.json, "lines_recorded") == 0,
          "expected month %s and no lines: %s", ymf(g_L), snip(&r));
    const struct erow want1[] = {{NULL, NULL, "LUMP_SUM", 1800000, 1700000, "underpaid"}};
    const struct etot want1_totals[] = {{"underpaid", "LUMP_SUM", 1800000, 1700000}};
    TRY(recon(g_L, NULL, &rep));
    TRY(expect_rows(__LINE__, rep, want1, ARRAY_LEN(want1)));
    TRY(expect_totals(__LINE__, rep, want1_totals, ARRAY_LEN(want1_totals)));

    /* One without a month: it is for the month before paid_on. */
    json_t *body =
        json_pack("{s:s, s:s, s:I, s:s}", "municipality", MUNI, "paid_on", dayf(ym_add(g_L, 1), 10),
                  "amount_ore", (json_int_t)100000, "reference", kstrf("%s %s", SIE_REF, g_tag));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    keep_str(text);
    const char *key = new_key();
    TRY(POST("/v1/payments", E.admin, text, key, &r));
    EXPECT_STATUS(&r, 201);
    CHECK(str_eq(js(r.json, "month"), ymf(g_L)), "the default month is not %s: %s", ymf(g_L),
          snip(&r));
    const char *pay_id = js(r.json, "payment_id");
    /* A retry with the same Idempotency-Key: the first answer, nothing recorded twice (checked
     * by the paid amount below). */
    TRY(POST("/v1/payments", E.admin, text, key, &r));
    EXPECT_STATUS(&r, 201);
    CHECK(str_eq(js(r.json, "payment_id"), pay_id), "the replay names payment %s, not %s: %s",
          js(r.json, "payment_id"), pay_id, snip(&r));
    free(g_sie_ref);
    g_sie_ref = strdup(kstrf("%s %s", SIE_REF, g_tag));
    const struct erow want2[] = {{NULL, NULL, "LUMP_SUM", 1800000, 1800000, "ok"}};
    TRY(recon(g_L, NULL, &rep));
    TRY(expect_rows(__LINE__, rep, want2, ARRAY_LEN(want2)));
    TRY(recon_csv_matches(__LINE__, g_L, NULL, rep, NULL));
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* SIE: a reader for what the test needs                                                      */

/* Whether the n bytes of needle occur in hay (memmem is a GNU extension). */
static const void *has_bytes(const void *hay, size_t hlen, const void *needle, size_t n)
{
    const char *h = hay;
    for (size_t i = 0; n <= hlen && i <= hlen - n; i++)
        if (memcmp(h + i, needle, n) == 0)
            return h + i;
    return NULL;
}

/* CP437 → UTF-8 for ASCII and the six Swedish letters; NULL (and *bad the byte) otherwise. */
static const char *cp437_to_utf8(const char *s, size_t n, int *bad)
{
    static const struct {
        unsigned char b;
        const char *u;
    } sv[] = {{0x86, "å"}, {0x84, "ä"}, {0x94, "ö"}, {0x8F, "Å"}, {0x8E, "Ä"}, {0x99, "Ö"}};
    char *out = keep_str(malloc(2 * n + 1));
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F) {
            out[o++] = (char)c;
            continue;
        }
        size_t k = 0;
        while (k < ARRAY_LEN(sv) && sv[k].b != c)
            k++;
        if (k == ARRAY_LEN(sv)) {
            *bad = c;
            return NULL;
        }
        memcpy(out + o, sv[k].u, 2);
        o += 2;
    }
    out[o] = '\0';
    return out;
}

#define SIE_MAXTOK 16

struct stok {
    const char *s; /* raw CP437 bytes, unescaped (pooled, NUL-terminated) */
    size_t len;
    char kind; /* 'w' word, 'q' quoted, '{' object list (s holds its inside) */
};

/* Splits one line (without its CRLF) into tokens: words, quoted strings ("\"" and "\\" are
 * escapes, any other backslash is itself) and {object lists}. */
static bool tokenize(size_t lineno, const char *s, size_t n, struct stok *t, int *nt)
{
    char *buf = keep_str(malloc(n + 1));
    size_t i = 0, o = 0;
    *nt = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= n)
            return true;
        if (*nt == SIE_MAXTOK)
            return failf(0, "SIE line %zu: more than %d fields", lineno, SIE_MAXTOK);
        struct stok *k = &t[(*nt)++];
        size_t start = o;
        if (s[i] == '"') {
            i++;
            for (;;) {
                if (i >= n)
                    return failf(0, "SIE line %zu: a quoted field has no closing quote", lineno);
                if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\')) {
                    buf[o++] = s[i + 1];
                    i += 2;
                } else if (s[i] == '"') {
                    i++;
                    break;
                } else {
                    buf[o++] = s[i++];
                }
            }
            if (i < n && s[i] != ' ' && s[i] != '\t')
                return failf(0, "SIE line %zu: text right after a closing quote", lineno);
            k->kind = 'q';
        } else if (s[i] == '{') {
            i++;
            bool quoted = false;
            while (i < n && (quoted || s[i] != '}')) {
                if (s[i] == '\\' && quoted && i + 1 < n)
                    buf[o++] = s[i++];
                else if (s[i] == '"')
                    quoted = !quoted;
                buf[o++] = s[i++];
            }
            if (i >= n)
                return failf(0, "SIE line %zu: an object list has no '}'", lineno);
            i++;
            k->kind = '{';
        } else {
            while (i < n && s[i] != ' ' && s[i] != '\t') {
                if (s[i] == '"' || s[i] == '{' || s[i] == '}')
                    return failf(0, "SIE line %zu: a quote or brace inside a word", lineno);
                buf[o++] = s[i++];
            }
            k->kind = 'w';
        }
        buf[o++] = '\0';
        k->s = buf + start;
        k->len = o - start - 1;
    }
}

struct sver {
    char series[4];
    long long number;
    char date[9];
    const char *text; /* UTF-8 */
    const char *raw;  /* the CP437 bytes of the text */
    size_t rawlen;
    long long sum;
    size_t first, n; /* its #TRANS in the trans array */
};

struct strans {
    int account;
    long long ore;
    const char *date; /* NULL when absent */
    const char *text; /* UTF-8, NULL when absent */
};

struct sie {
    const char *flagga, *format, *sietyp, *gen, *program, *fnamn, *rar_from, *rar_to;
    const char *fnamn_raw;
    size_t fnamn_rawlen;
    int konto[64];
    size_t nkonto;
    struct sver *vers;
    size_t nvers;
    struct strans *trans;
    size_t ntrans;
};

/* Kronor with exactly two decimals ("-1500.00") as öre, without floating point. */
static bool parse_kronor(const struct stok *t, long long *ore)
{
    const char *s = t->s;
    bool neg = *s == '-';
    if (neg)
        s++;
    size_t n = strlen(s);
    if (t->kind != 'w' || n < 4 || n > 17 || s[n - 3] != '.')
        return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == n - 3)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *ore = neg ? -v : v;
    return true;
}

static bool is_date8(const struct stok *t)
{
    if (t->kind != 'w' || t->len != 8)
        return false;
    for (size_t i = 0; i < 8; i++)
        if (t->s[i] < '0' || t->s[i] > '9')
            return false;
    return true;
}

static bool has_konto(const struct sie *f, int account)
{
    for (size_t i = 0; i < f->nkonto; i++)
        if (f->konto[i] == account)
            return true;
    return false;
}

/* A UTF-8 text field, or failure naming the line. */
#define TEXT(dst, tok, lineno)                                                                     \
    do {                                                                                           \
        int bad_ = 0;                                                                              \
        (dst) = cp437_to_utf8((tok)->s, (tok)->len, &bad_);                                        \
        if ((dst) == NULL)                                                                         \
            return failf(0, "SIE line %zu: byte 0x%02X is not ASCII nor CP437 å ä ö Å Ä Ö",        \
                         lineno, bad_);                                                            \
    } while (0)

/* Reads a whole SIE 4E file: CRLF lines, the identification records, #KONTO before the first
 * #VER, each #VER followed by "{", its #TRANS lines, and "}"; every #VER sums to zero and every
 * #TRANS account has a #KONTO. */
static bool sie_parse(const char *body, size_t len, struct sie *f)
{
    memset(f, 0, sizeof *f);
    size_t nlines = 0;
    for (size_t i = 0; i < len; i++)
        nlines += body[i] == '\n';
    f->vers = (struct sver *)(void *)keep_str(calloc(nlines + 1, sizeof *f->vers));
    f->trans = (struct strans *)(void *)keep_str(calloc(nlines + 1, sizeof *f->trans));
    CHECK(len >= 2 && body[len - 2] == '\r' && body[len - 1] == '\n',
          "the SIE file does not end with CRLF");
    bool in_ver = false, want_open = false, seen_ver = false;
    size_t lineno = 0, nrec = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        lineno++;
        CHECK(nl != NULL && nl > body + pos && nl[-1] == '\r',
              "SIE line %zu does not end with CRLF", lineno);
        const char *s = body + pos;
        size_t n = (size_t)(nl - 1 - s);
        pos = (size_t)(nl - body) + 1;
        CHECK(memchr(s, '\r', n) == NULL, "SIE line %zu holds a bare CR", lineno);
        if (want_open) {
            CHECK(n == 1 && s[0] == '{', "SIE line %zu: expected \"{\" after #VER", lineno);
            want_open = false;
            in_ver = true;
            continue;
        }
        if (n == 1 && s[0] == '}') {
            CHECK(in_ver, "SIE line %zu: \"}\" outside a #VER", lineno);
            struct sver *v = &f->vers[f->nvers - 1];
            CHECK(v->n > 0, "SIE line %zu: #VER %s %lld has no #TRANS", lineno, v->series,
                  v->number);
            CHECK(v->sum == 0, "#VER %s %lld does not sum to zero: %lld öre", v->series, v->number,
                  v->sum);
            in_ver = false;
            continue;
        }
        struct stok t[SIE_MAXTOK];
        int nt;
        TRY(tokenize(lineno, s, n, t, &nt));
        if (nt == 0)
            continue;
        CHECK(t[0].kind == 'w' && t[0].s[0] == '#', "SIE line %zu does not start with a #record",
              lineno);
        const char *name = t[0].s;
        nrec++;
        CHECK(nrec > 1 || strcmp(name, "#FLAGGA") == 0, "the first record is %s, not #FLAGGA",
              name);
        if (strcmp(name, "#TRANS") == 0) {
            CHECK(in_ver, "SIE line %zu: #TRANS outside a #VER", lineno);
            struct strans *x = &f->trans[f->ntrans];
            char *end;
            long acc = t[1].kind == 'w' ? strtol(t[1].s, &end, 10) : -1;
            CHECK(nt >= 4 && nt <= 7 && acc > 0 && *end == '\0' && t[2].kind == '{' &&
                      parse_kronor(&t[3], &x->ore),
                  "SIE line %zu: #TRANS is not: account {objects} amount [date] [text]", lineno);
            x->account = (int)acc;
            CHECK(has_konto(f, x->account), "SIE line %zu: account %d has no #KONTO", lineno,
                  x->account);
            if (nt >= 5) {
                CHECK(is_date8(&t[4]) || (t[4].kind == 'q' && t[4].len == 0),
                      "SIE line %zu: #TRANS transdat is not YYYYMMDD", lineno);
                x->date = t[4].kind == 'w' ? t[4].s : NULL;
            }
            if (nt >= 6) {
                CHECK(t[5].kind == 'q', "SIE line %zu: #TRANS text is not quoted", lineno);
                TEXT(x->text, &t[5], lineno);
            }
            struct sver *v = &f->vers[f->nvers - 1];
            v->sum += x->ore;
            v->n++;
            f->ntrans++;
            continue;
        }
        CHECK(!in_ver, "SIE line %zu: %s inside a #VER", lineno, name);
        if (strcmp(name, "#VER") == 0) {
            CHECK(f->flagga && f->format && f->sietyp && f->gen && f->program && f->fnamn &&
                      f->rar_from,
                  "a #VER before all of #FLAGGA #PROGRAM #FORMAT #GEN #SIETYP #FNAMN #RAR");
            struct sver *v = &f->vers[f->nvers++];
            char *end;
            CHECK(nt >= 4 && t[1].kind == 'q' && t[1].len < sizeof v->series && t[2].kind == 'w' &&
                      is_date8(&t[3]),
                  "SIE line %zu: #VER is not: series number date [text]", lineno);
            v->number = strtoll(t[2].s, &end, 10);
            CHECK(*end == '\0', "SIE line %zu: #VER number is not a number", lineno);
            snprintf(v->series, sizeof v->series, "%s", t[1].s);
            memcpy(v->date, t[3].s, 9);
            v->text = "";
            if (nt >= 5) {
                CHECK(t[4].kind == 'q', "SIE line %zu: #VER text is not quoted", lineno);
                TEXT(v->text, &t[4], lineno);
                v->raw = t[4].s;
                v->rawlen = t[4].len;
            }
            v->first = f->ntrans;
            want_open = true;
            seen_ver = true;
        } else if (strcmp(name, "#KONTO") == 0) {
            CHECK(!seen_ver, "SIE line %zu: #KONTO after the first #VER", lineno);
            char *end;
            long acc = nt == 3 && t[1].kind == 'w' ? strtol(t[1].s, &end, 10) : -1;
            CHECK(acc > 0 && *end == '\0' && t[2].kind == 'q',
                  "SIE line %zu: #KONTO is not: number \"name\"", lineno);
            CHECK(!has_konto(f, (int)acc), "SIE line %zu: #KONTO %ld twice", lineno, acc);
            CHECK(f->nkonto < ARRAY_LEN(f->konto), "too many #KONTO");
            const char *txt;
            TEXT(txt, &t[2], lineno);
            CHECK(txt[0] != '\0', "SIE line %zu: #KONTO %ld has no name", lineno, acc);
            f->konto[f->nkonto++] = (int)acc;
        } else if (strcmp(name, "#FLAGGA") == 0) {
            CHECK(nt == 2 && t[1].kind == 'w', "SIE line %zu: #FLAGGA is not: #FLAGGA 0", lineno);
            f->flagga = t[1].s;
        } else if (strcmp(name, "#FORMAT") == 0) {
            CHECK(nt == 2, "SIE line %zu: #FORMAT has not one field", lineno);
            f->format = t[1].s;
        } else if (strcmp(name, "#SIETYP") == 0) {
            CHECK(nt == 2, "SIE line %zu: #SIETYP has not one field", lineno);
            f->sietyp = t[1].s;
        } else if (strcmp(name, "#GEN") == 0) {
            CHECK(nt >= 2 && is_date8(&t[1]), "SIE line %zu: #GEN is not: #GEN YYYYMMDD", lineno);
            f->gen = t[1].s;
        } else if (strcmp(name, "#PROGRAM") == 0) {
            CHECK(nt == 3 && t[1].kind == 'q' && t[2].kind == 'q' && t[1].len > 0,
                  "SIE line %zu: #PROGRAM is not: \"name\" \"version\"", lineno);
            TEXT(f->program, &t[1], lineno);
        } else if (strcmp(name, "#FNAMN") == 0) {
            CHECK(nt == 2 && t[1].kind == 'q', "SIE line %zu: #FNAMN is not: \"name\"", lineno);
            TEXT(f->fnamn, &t[1], lineno);
            f->fnamn_raw = t[1].s;
            f->fnamn_rawlen = t[1].len;
        } else if (strcmp(name, "#RAR") == 0) {
            CHECK(nt == 4 && str_eq(t[1].s, "0") && is_date8(&t[2]) && is_date8(&t[3]) &&
                      strcmp(t[2].s, t[3].s) <= 0,
                  "SIE line %zu: #RAR is not: 0 from to", lineno);
            f->rar_from = t[2].s;
            f->rar_to = t[3].s;
        } else {
            /* Other records (#ORGNR, #KPTYP …) may come; only texts must be readable. */
            for (int k = 1; k < nt; k++) {
                const char *txt;
                TEXT(txt, &t[k], lineno);
                (void)txt;
            }
        }
    }
    CHECK(!in_ver && !want_open, "the SIE file ends inside a #VER");
    CHECK(f->flagga && str_eq(f->flagga, "0"), "#FLAGGA 0 is missing");
    CHECK(f->format && str_eq(f->format, "PC8"), "#FORMAT PC8 is missing");
    CHECK(f->sietyp && str_eq(f->sietyp, "4"), "#SIETYP 4 is missing");
    CHECK(f->gen && f->program && f->fnamn && f->rar_from,
          "#GEN, #PROGRAM, #FNAMN or #RAR is missing");
    return true;
}

struct journal {
    long long id;
    bool payment;
    const char *day; /* YYYYMMDD in Stockholm */
};

static int journal_cmp(const void *a, const void *b)
{
    long long x = ((const struct journal *)a)->id, y = ((const struct journal *)b)->id;
    return x < y ? -1 : x > y;
}

/* The municipality's journals, from all pages of GET /v1/ledger/entries. */
static bool journals(struct journal **out, size_t *n_out)
{
    size_t cap = 256, n = 0;
    struct journal *j = malloc(cap * sizeof *j);
    keep_str((char *)(void *)j);
    const char *cursor = NULL;
    for (int page = 0; page < 10000; page++) {
        struct resp r;
        TRY(GET(kstrf("/v1/ledger/entries?municipality=%s&limit=1000%s%s", MUNI,
                      cursor ? "&cursor=" : "", cursor ? esc(cursor) : ""),
                E.admin, &r));
        EXPECT_STATUS(&r, 200);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(r.json, "items"), i, it)
        {
            const char *jid = js(it, "journal_id");
            CHECK(jid != NULL && all_digits(jid), "an entry without journal_id: %s", dump(it));
            long long id = strtoll(jid, NULL, 10);
            bool seen = false;
            for (size_t k = n; k > 0 && !seen; k--)
                seen = j[k - 1].id == id;
            if (seen)
                continue;
            if (n == cap) {
                /* Grow into a new pooled block; the old one is released with the pool. */
                struct journal *nj = malloc(2 * cap * sizeof *nj);
                memcpy(nj, j, n * sizeof *nj);
                keep_str((char *)(void *)nj);
                j = nj;
                cap *= 2;
            }
            const char *day = stockholm_yyyymmdd(js(it, "recorded_at"));
            CHECK(day != NULL, "an entry without recorded_at: %s", dump(it));
            j[n++] = (struct journal){id, str_eq(js(it, "kind"), "payment"), day};
        }
        json_t *nc = json_object_get(r.json, "next_cursor");
        if (!json_is_string(nc))
            break;
        cursor = json_string_value(nc);
    }
    qsort(j, n, sizeof *j, journal_cmp);
    *out = j;
    *n_out = n;
    return true;
}

static bool get_sie(const char *query, struct resp *r, struct sie *f)
{
    TRY(GET(kstrf("/v1/exports/sie?municipality=%s%s", MUNI, query), E.admin, r));
    TRY(status_is(__LINE__, r, 200));
    CHECK(strcmp(r->content_type, "text/plain; charset=IBM437") == 0,
          "Content-Type is '%s', expected text/plain; charset=IBM437", r->content_type);
    TRY(sie_parse(r->body, r->len, f));
    return true;
}

/* The #VERs are the journals: one each, series A for accruals and B for payments (only when
 * with_payments), numbered by journal id, dated on the journal's recording day in Stockholm. */
static bool vers_are_journals(int line, const struct sie *f, const struct journal *j, size_t nj,
                              bool with_payments)
{
    size_t want = 0;
    for (size_t i = 0; i < nj; i++)
        want += with_payments || !j[i].payment;
    if (f->nvers != want)
        return failf(line, "%zu #VER, expected %zu (journals of %s%s)", f->nvers, want, MUNI,
                     with_payments ? "" : " without payments");
    for (size_t i = 0; i < nj; i++) {
        if (!with_payments && j[i].payment)
            continue;
        const struct sver *hit = NULL;
        for (size_t k = 0; k < f->nvers && hit == NULL; k++)
            if (f->vers[k].number == j[i].id)
                hit = &f->vers[k];
        if (hit == NULL)
            return failf(line, "no #VER for journal %lld", j[i].id);
        if (strcmp(hit->series, j[i].payment ? "B" : "A") != 0 || strcmp(hit->date, j[i].day) != 0)
            return failf(line, "#VER %s %lld %s: expected series %s, date %s", hit->series,
                         hit->number, hit->date, j[i].payment ? "B" : "A", j[i].day);
    }
    return true;
}

static bool t_sie(void)
{
    CHECK(g_ready, "the setup failed");
    struct journal *j = NULL;
    size_t nj = 0;
    TRY(journals(&j, &nj));
    size_t npay = 0;
    for (size_t i = 0; i < nj; i++)
        npay += j[i].payment;
    CHECK(npay >= 4, "expected at least 4 payment journals of %s, found %zu", MUNI, npay);

    struct resp r;
    struct sie f;
    TRY(get_sie("&include=payments", &r, &f));
    TRY(vers_are_journals(__LINE__, &f, j, nj, true));
    printf("# SIE with payments: %zu bytes, %zu #KONTO, %zu #VER, %zu #TRANS\n", r.len, f.nkonto,
           f.nvers, f.ntrans);

    /* The municipality's name: Å and ä as CP437 bytes, back to UTF-8. */
    CHECK(strstr(f.fnamn, MUNI_NAME) != NULL, "#FNAMN \"%s\" does not hold %s", f.fnamn, MUNI_NAME);
    CHECK(has_bytes(f.fnamn_raw, f.fnamn_rawlen, "\x8Frj\x84ng", 6) != NULL,
          "#FNAMN is not written in CP437 (Å 0x8F, ä 0x84)");
    CHECK(has_bytes(r.body, r.len, "\xC3", 1) == NULL, "the SIE file holds UTF-8 bytes (0xC3)");
    CHECK(str_eq(f.program, "reimbursed"), "#PROGRAM is \"%s\"", f.program);
    CHECK(strncmp(f.rar_from + 4, "0101", 4) == 0 && strncmp(f.rar_to + 4, "1231", 4) == 0,
          "#RAR 0 %s %s is not whole years", f.rar_from, f.rar_to);

    /* The chart's defaults: accruals on receivable 1513 against compensation 3911 + code;
     * payments debit bank 1930 once and credit receivable 1513. */
    for (size_t v = 0; v < f.nvers; v++) {
        const struct sver *ver = &f.vers[v];
        int banks = 0;
        for (size_t k = ver->first; k < ver->first + ver->n; k++) {
            const struct strans *x = &f.trans[k];
            if (x->date != NULL)
                CHECK(strcmp(x->date, ver->date) == 0, "#VER %s %lld: a #TRANS dated %s",
                      ver->series, ver->number, x->date);
            int c = -1;
            if (x->text != NULL) {
                char code[32];
                sscanf(x->text, "%31s", code);
                c = code_index(code);
            }
            bool ok;
            if (ver->series[0] == 'A')
                ok = x->account == ACC_RECEIVABLE || (c >= 0 && c < 5 && x->account == 3911 + c);
            else
                ok = x->account == ACC_RECEIVABLE || (x->account == ACC_BANK && x->text == NULL);
            banks += x->account == ACC_BANK;
            CHECK(ok, "#VER %s %lld: #TRANS %d %lld \"%s\" is not on the default chart",
                  ver->series, ver->number, x->account, x->ore, x->text ? x->text : "");
        }
        if (ver->series[0] == 'B')
            CHECK(banks == 1, "payment #VER %lld has %d bank #TRANS", ver->number, banks);
    }

    /* Person A's MOVE_IN: receivable debited 15 000.00 in an accrual #VER that credits MOVE_IN's
     * compensation account 3912. */
    const char *a_text = kstrf("MOVE_IN placering %s", pA.id);
    bool found = false;
    for (size_t v = 0; v < f.nvers && !found; v++) {
        const struct sver *ver = &f.vers[v];
        bool debit = false, credit = false;
        for (size_t k = ver->first; k < ver->first + ver->n; k++) {
            const struct strans *x = &f.trans[k];
            debit = debit ||
                    (x->account == ACC_RECEIVABLE && x->ore == 1500000 && str_eq(x->text, a_text));
            credit = credit || (x->account == 3912 && x->ore <= -1500000);
        }
        found = ver->series[0] == 'A' && debit && credit;
    }
    CHECK(found, "no accrual #VER with #TRANS 1513 15000.00 \"%s\" and a 3912 credit", a_text);

    /* The lump sum with a quote, backslashes and åäöÅÄÖ in its reference: the bytes are CP437
     * and the text reads back exactly; its month is in the text; bank debited 1 000.00. */
    CHECK(g_sie_ref != NULL, "the lump sum test did not run");
    const struct sver *lump = NULL;
    for (size_t v = 0; v < f.nvers && lump == NULL; v++)
        if (strstr(f.vers[v].text, g_tag) != NULL && strstr(f.vers[v].text, "Klump") != NULL)
            lump = &f.vers[v];
    CHECK(lump != NULL, "no #VER text holds the reference \"%s\"", g_sie_ref);
    CHECK(strstr(lump->text, g_sie_ref) != NULL,
          "the #VER text \"%s\" does not hold the reference \"%s\" as sent", lump->text, g_sie_ref);
    CHECK(has_bytes(lump->raw, lump->rawlen, "\x86\x84\x94\x8F\x8E\x99", 6) != NULL,
          "åäöÅÄÖ are not written as CP437 86 84 94 8F 8E 99 in \"%s\"", lump->text);
    CHECK(strstr(lump->text, ymf(g_L)) != NULL, "the #VER text \"%s\" does not name month %s",
          lump->text, ymf(g_L));
    CHECK(strcmp(lump->series, "B") == 0, "the lump sum's #VER is in series %s", lump->series);
    bool bank = false;
    for (size_t k = lump->first; k < lump->first + lump->n; k++)
        bank = bank || (f.trans[k].account == ACC_BANK && f.trans[k].ore == 100000);
    CHECK(bank, "the lump sum's #VER has no #TRANS 1930 1000.00");

    /* Without include=payments: the accrual journals only. */
    struct resp r2;
    struct sie f2;
    TRY(get_sie("", &r2, &f2));
    TRY(vers_are_journals(__LINE__, &f2, j, nj, false));
    for (size_t v = 0; v < f2.nvers; v++)
        CHECK(strcmp(f2.vers[v].series, "A") == 0, "without include=payments: #VER %s %lld",
              f2.vers[v].series, f2.vers[v].number);

    /* A period without journals: the identification, no #VER. */
    struct resp r3;
    struct sie f3;
    TRY(get_sie("&from=2001-01-01&to=2001-12-31&include=payments", &r3, &f3));
    CHECK(f3.nvers == 0, "journals recorded in 2001: %zu #VER", f3.nvers);
    return true;
}

/* Malformed queries and bodies are refused and change nothing. */
static bool t_bad_requests(void)
{
    CHECK(g_ready, "the setup failed");
    struct resp r;
    json_t *before;
    TRY(recon(g_M, NULL, &before));
    const struct {
        const char *query, *field;
    } bad[] = {
        {"month=2024-13", "month"},
        {"month=2024-1", "month"},
        {"month=2024-01&format=xml", "format"},
        {"month=2024-01&as_known_at=yesterday", "as_known_at"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        TRY(GET(kstrf("/v1/reports/reconciliation?municipality=%s&%s", MUNI, bad[i].query), E.admin,
                &r));
        EXPECT_ERROR(&r, 400, "invalid_query", bad[i].field);
    }
    TRY(GET("/v1/reports/reconciliation?month=2024-01", E.admin, &r));
    EXPECT_ERROR(&r, 400, "invalid_query", "municipality");
    TRY(GET("/v1/exports/sie?municipality=" MUNI "&include=everything", E.admin, &r));
    EXPECT_ERROR(&r, 400, "invalid_query", "include");
    TRY(GET("/v1/exports/sie?municipality=" MUNI "&from=2024-02-30", E.admin, &r));
    EXPECT_ERROR(&r, 400, "invalid_query", "from");

    const char *paid_on = dayf(g_N, 26);
    const struct pline no_dossier[] = {{NULL, g_M, "MOVE_IN", 1}};
    TRY(POST("/v1/payments", E.admin, payment_body(paid_on, 1, "bad-1", no_dossier, 1), NULL, &r));
    CHECK(r.status == 422, "a MOVE_IN line without dossier_number: expected 422: %s", snip(&r));
    const struct pline alloc_dossier[] = {{pA.dossier, g_M, "ALLOCATION_PLACE", 1}};
    TRY(POST("/v1/payments", E.admin, payment_body(paid_on, 1, "bad-2", alloc_dossier, 1), NULL,
             &r));
    CHECK(r.status == 422, "an ALLOCATION_PLACE line with a dossier_number: expected 422: %s",
          snip(&r));
    const struct pline bad_code[] = {{pA.dossier, g_M, "DAY_ELDER", 1}};
    TRY(POST("/v1/payments", E.admin, payment_body(paid_on, 1, "bad-3", bad_code, 1), NULL, &r));
    CHECK(r.status == 422, "a line with an unknown code: expected 422: %s", snip(&r));

    /* The import wants text/csv and the header. */
    const char *csv = kstrf("municipality;dossier_number;month;code;amount_ore;paid_on;reference\n"
                            "%s\n",
                            csv_line(pA.dossier, g_M, "MOVE_IN", 1, paid_on, "bad-4"));
    TRY(POST("/v1/payments/import", E.admin, csv, NULL, &r));
    CHECK(r.status == 415, "an import sent as application/json: expected 415: %s", snip(&r));
    const char *no_header =
        kstrf("%s\n", csv_line(pA.dossier, g_M, "MOVE_IN", 1, paid_on, "bad-5"));
    TRY(post_csv(E.admin, no_header, strlen(no_header), &r));
    EXPECT_ERROR(&r, 422, "invalid_payment_list", NULL);
    json_t *lines =
        json_object_get(json_object_get(json_object_get(r.json, "error"), "details"), "lines");
    CHECK(json_array_size(lines) >= 1 && jint0(json_array_get(lines, 0), "line") == 1,
          "a file without the header: expected an error on line 1: %s", snip(&r));

    json_t *after;
    TRY(recon(g_M, NULL, &after));
    CHECK(same_rows(before, after), "refused requests changed the report:\n%s\n%s", dump(before),
          dump(after));
    return true;
}

/* Who may do what. */
static bool t_roles(void)
{
    CHECK(g_ready, "the setup failed");
    struct resp r;
    json_t *before;
    TRY(recon(g_M, NULL, &before));
    const char *pay1480 = "{\"municipality\":\"1480\",\"paid_on\":\"2024-02-25\",\"amount_ore\":1,"
                          "\"reference\":\"role-test\"}";
    const char *pay_ours =
        kstrf("{\"municipality\":\"%s\",\"paid_on\":\"%s\",\"amount_ore\":1,\"reference\":\"role-"
              "test\",\"month\":\"%s\"}",
              MUNI, dayf(g_N, 25), ymf(g_M));
    /* A read client may not record payments, not even for its own municipality. */
    TRY(POST("/v1/payments", E.r1480, pay1480, NULL, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    const char *csv = "municipality;dossier_number;month;code;amount_ore;paid_on;reference\n"
                      "1480;X1;2024-01;MOVE_IN;1;2024-02-25;role-test\n";
    TRY(post_csv(E.r1480, csv, strlen(csv), &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    /* Another municipality's writer may not record ours. */
    TRY(POST("/v1/payments", E.w1480, pay_ours, NULL, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    /* Nor read our reconciliation or export our ledger. */
    const char *tokens[] = {E.w1480, E.r1480, E.w1481};
    for (size_t i = 0; i < ARRAY_LEN(tokens); i++) {
        TRY(GET(recon_path(g_M, "json", NULL), tokens[i], &r));
        EXPECT_ERROR(&r, 403, "forbidden", NULL);
        TRY(GET(recon_path(g_M, "csv", NULL), tokens[i], &r));
        EXPECT_ERROR(&r, 403, "forbidden", NULL);
        TRY(GET("/v1/exports/sie?municipality=" MUNI "&include=payments", tokens[i], &r));
        EXPECT_ERROR(&r, 403, "forbidden", NULL);
    }
    /* The regional planner reads every municipality's totals, not persons. */
    TRY(GET(recon_path(g_M, "json", NULL), E.rstar, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    TRY(GET(recon_path(g_M, "csv", NULL), E.rstar, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    TRY(GET("/v1/exports/sie?municipality=" MUNI, E.rstar, &r));
    EXPECT_ERROR(&r, 403, "forbidden", NULL);
    TRY(GET("/v1/municipalities/" MUNI "/balance", E.rstar, &r));
    EXPECT_STATUS(&r, 200);
    /* Without a token: 401. */
    TRY(GET(recon_path(g_M, "json", NULL), NULL, &r));
    EXPECT_ERROR(&r, 401, "unauthorized", NULL);
    TRY(POST("/v1/payments", NULL, pay_ours, NULL, &r));
    EXPECT_ERROR(&r, 401, "unauthorized", NULL);
    json_t *after;
    TRY(recon(g_M, NULL, &after));
    CHECK(same_rows(before, after), "refused requests changed the report:\n%s\n%s", dump(before),
          dump(after));
    return true;
}

/* The balance against the final rows of all four months: outstanding = Σ max(0, owed − paid),
 * expected_reclaim = Σ max(0, paid − owed), per code too, and the same sums as the reports'
 * rows. */
static bool t_balance(void)
{
    CHECK(g_ready, "the setup failed");
    /* By hand (owed/paid), after the correction, the late payment, the CSV lists and the lump
     * sums:
     * M  A 1 500 000/1 500 000, 75 000/150 000; B 1 500 000/1 500 000, 75 000/75 000,
     *    150 000/90 000; C 1 500 000/1 500 000, 210 000/300 000; U 0/450 000;
     *    ALLOCATION_PLACE 2 000 000/1 000 000
     * M+1 G 1 500 000/0, 300 000/300 000
     * M+2 D E F all ok: 1 500 000 ×3, 300 000, 60 000, 150 000; an unknown dossier 0/12 300
     * M+3 LUMP_SUM 1 800 000/1 800 000 */
    const struct bal_delta bd = {
        15620000,
        13687300,
        2560000,
        627300,
        {
            {2000000, 1000000, 1000000, 0},    /* ALLOCATION_PLACE */
            {10500000, 9000000, 1500000, 0},   /* MOVE_IN: A B C G D E F (P in LUMP_SUM) */
            {210000, 285000, 0, 75000},        /* DAY_CHILD: A B E */
            {1110000, 1602300, 60000, 552300}, /* DAY_ADULT: B C G D F, U and U2 paid */
            {0, 0, 0, 0},                      /* DAY_FORMER_UAM */
            {1800000, 1800000, 0, 0},          /* LUMP_SUM */
        },
    };
    TRY(expect_balance_delta(__LINE__, &bd));
    /* The same from the reports' rows. */
    long long owed = 0, paid = 0, out = 0, rec = 0;
    for (int k = 0; k < 4; k++) {
        json_t *rep;
        TRY(recon(ym_add(g_M, k), NULL, &rep));
        size_t i;
        json_t *row;
        json_array_foreach(json_object_get(rep, "rows"), i, row)
        {
            long long o = jint0(row, "owed_ore"), p = jint0(row, "paid_ore");
            owed += o;
            paid += p;
            out += o > p ? o - p : 0;
            rec += p > o ? p - o : 0;
        }
    }
    CHECK(owed == bd.owed && paid == bd.paid && out == bd.out && rec == bd.rec,
          "the reports' rows sum to owed %lld, paid %lld, outstanding %lld, reclaim %lld; "
          "expected %lld, %lld, %lld, %lld",
          owed, paid, out, rec, bd.owed, bd.paid, bd.out, bd.rec);
    return true;
}

/* Drives the multi handle for about `seconds`; false once nothing is running any more. */
static bool drive(CURLM *m, double seconds)
{
    int running = 1;
    double until = now_s() + seconds;
    do {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            return false;
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 10, NULL);
    } while (running > 0 && now_s() < until);
    return running > 0;
}

/* A report made while a large payment list is being imported, then asked for again "as known
 * at" its as_known_at once the import is done, must be the same report: what a report shows as
 * known at T may not change later. The list (8 000 lines of one unknown dossier, amounts ±1..8000,
 * in 2022-05, a month the other tests do not use) is uploaded in full first; reports are then
 * taken until the import answers. Last, because it leaves a large journal behind. */
#define INFLIGHT_LINES 8000
static bool t_as_known_at_in_flight(void)
{
    CHECK(g_ready, "the setup failed");
    const struct ym month = {2022, 5};
    const char *dossier = new_dossier(), *ref = kstrf("inflight-%s", g_tag);
    size_t cap = 128 + (size_t)INFLIGHT_LINES * 80, len = 0;
    char *body = keep_str(malloc(cap));
    len +=
        (size_t)snprintf(body + len, cap - len,
                         "municipality;dossier_number;month;code;amount_ore;paid_on;reference\n");
    for (int k = 1; k <= INFLIGHT_LINES; k++)
        len += (size_t)snprintf(body + len, cap - len, "%s;%s;2022-05;DAY_ADULT;%d;2022-06-25;%s\n",
                                MUNI, dossier, k % 2 ? k : -k, ref);

    struct xfer x;
    struct resp imp;
    CURL *h = curl_easy_init();
    CURLM *m = curl_multi_init();
    prepare_csv(&x, h, &imp, E.admin, body, len, 120);
    x.cc = CURLE_GOT_NOTHING;
    curl_multi_add_handle(m, h);
    bool running = true, ok = true;
    curl_off_t up = 0;
    double t0 = now_s();
    while (running && up < (curl_off_t)len && now_s() - t0 < 60) {
        running = drive(m, 0.005);
        curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
    }
    json_t *kept = NULL;
    int taken = 0;
    while (running && ok) {
        running = drive(m, 0.02);
        if (!running)
            break;
        json_t *rep;
        ok = recon(month, NULL, &rep);
        running = drive(m, 0);
        if (ok && running) {
            kept = rep; /* answered while the import had not answered yet */
            taken++;
        }
    }
    while (running)
        running = drive(m, 1.0);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE)
            x.cc = msg->data.result;
    curl_multi_remove_handle(m, h);
    finish(&x);
    curl_easy_cleanup(h);
    curl_multi_cleanup(m);
    if (!ok)
        return note_line(__LINE__);
    CHECK(x.cc == CURLE_OK, "the import failed: %s", imp.curl_err);
    TRY(check_import(__LINE__, &imp, 201, false, INFLIGHT_LINES, INFLIGHT_LINES, 0));
    printf("# %d reports taken during the import of %d lines (%.1f s)\n", taken, INFLIGHT_LINES,
           now_s() - t0);
    if (kept == NULL)
        return true; /* the import was too quick to look inside: nothing to compare */
    const char *at = js(kept, "as_known_at");
    json_t *again;
    TRY(recon(month, at, &again));
    CHECK(same_rows(kept, again),
          "the report made at %s, during an import, showed %zu rows for %s; as known at %s it now "
          "shows %zu rows (the import's lines are recorded at its transaction's start, before "
          "%s, but were not visible then): %s",
          at, json_array_size(json_object_get(kept, "rows")), ymf(month), at,
          json_array_size(json_object_get(again, "rows")), at, dump(again));
    return true;
}

int main(void)
{
    static const struct test tests[] = {
        {"setup", t_setup},
        {"reconciliation_classes", t_classes},
        {"as_known_at", t_as_known_at},
        {"csv_import", t_csv_import},
        {"csv_unknown_municipality", t_csv_unknown_municipality},
        {"import_concurrent", t_import_concurrent},
        {"lump_sum", t_lump_sum},
        {"sie_export", t_sie},
        {"roles", t_roles},
        {"bad_requests", t_bad_requests},
        {"balance", t_balance},
        {"as_known_at_in_flight", t_as_known_at_in_flight},
    };
    int rc = harness_main(tests, ARRAY_LEN(tests));
    json_decref(g_report_m);
    free(g_csv_m);
    free(g_sie_ref);
    return rc;
}
