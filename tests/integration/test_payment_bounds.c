/* test_payment_bounds: payment amounts are bounded and sums cannot overflow (issue 16 item 5),
 * through the real daemon over HTTPS.
 *
 * - A payment list with a line beyond |10^11| öre is refused whole with 422 and that line's
 *   number (physical lines, the header being line 1) and field; a line at the bound is accepted.
 * - A manual payment beyond the bound gets 422 naming the field (`amount_ore`, or
 *   `lines[i].amount_ore`).
 * - No list-level limit: a list is at most 200 000 lines of at most 10^11 öre, so its total is at
 *   most 2 * 10^16, exact in int64 (payments_csv.h asserts it at compile time). A list of lines at
 *   the bound whose total (5 * 10^14) is far beyond any one line is imported as one payment and
 * summed exactly by the reconciliation and the balance.
 *
 * Uses Kiruna (2584), which no other test touches, with the admin token; dossiers are fresh.
 * Prints `ok N - name` / `not ok N - name: why`, then `P passed, F failed`. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define MUNI "2584"
#define HDR "municipality;dossier_number;month;code;amount_ore;paid_on;reference"
#define BOUND 100000000000LL
#define BIG_LINES 1000

static bool post_csv(const char *body, struct resp *out)
{
    struct xfer x;
    prepare(&x, g_easy, out, "POST", "/v1/payments/import", E.admin, body, strlen(body), new_key(),
            false, 120);
    curl_slist_free_all(x.hdrs);
    x.hdrs = curl_slist_append(NULL, "Accept: application/json");
    x.hdrs = curl_slist_append(x.hdrs, kstrf("Authorization: Bearer %s", E.admin));
    x.hdrs = curl_slist_append(x.hdrs, "Content-Type: text/csv; charset=utf-8");
    x.hdrs = curl_slist_append(x.hdrs, kstrf("Idempotency-Key: %s", new_key()));
    x.hdrs = curl_slist_append(x.hdrs, "Expect:");
    curl_easy_setopt(g_easy, CURLOPT_HTTPHEADER, x.hdrs);
    x.cc = curl_easy_perform(g_easy);
    finish(&x);
    if (x.cc != CURLE_OK)
        return failf(0, "%s: curl error %d: %s", out->what, (int)x.cc, out->curl_err);
    return true;
}

/* details.lines of a 422 list answer holds {line, field:"amount_ore"} for exactly `want` lines. */
static bool amount_lines_are(int line, const struct resp *r, const int *want, size_t n)
{
    json_t *lines =
        json_object_get(json_object_get(json_object_get(r->json, "error"), "details"), "lines");
    if (!json_is_array(lines) || json_array_size(lines) != n)
        return failf(line, "expected %zu bad lines: %s", n, snip(r));
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(lines, i);
        if (json_integer_value(json_object_get(l, "line")) != want[i] ||
            !str_eq(js(l, "field"), "amount_ore"))
            return failf(line, "bad line %zu is not {line %d, field amount_ore}: %s", i, want[i],
                         snip(r));
    }
    return true;
}

static bool t_import_amount_over_1e11_line_n(void)
{
    const char *d = new_dossier(), *ref = kstrf("B-%s", new_key() + 3);
    struct resp r;
    const char *bad =
        kstrf("%s\n"
              "%s;%s;2031-01;DAY_ADULT;%lld;2031-02-25;%s\n"
              "\n"
              "%s;%s;2031-02;DAY_ADULT;%lld;2031-03-25;%s\n"
              "%s;%s;2031-03;DAY_ADULT;%lld;2031-04-25;%s\n",
              HDR, MUNI, d, BOUND, ref, MUNI, d, BOUND + 1, ref, MUNI, d, -BOUND - 1, ref);
    TRY(post_csv(bad, &r));
    EXPECT_ERROR(&r, 422, "invalid_payment_list", NULL);
    TRY(amount_lines_are(__LINE__, &r, (const int[]){4, 5}, 2));
    /* Nothing of it was kept: the good line 2 alone imports as new. */
    const char *good =
        kstrf("%s\n%s;%s;2031-01;DAY_ADULT;%lld;2031-02-25;%s\n", HDR, MUNI, d, BOUND, ref);
    TRY(post_csv(good, &r));
    EXPECT_STATUS(&r, 201);
    CHECK(json_integer_value(json_object_get(r.json, "lines_imported")) == 1,
          "the line at the bound was not imported as new: %s", snip(&r));
    return true;
}

static bool t_manual_amount_over_1e11_field(void)
{
    struct resp r;
    const char *ref = kstrf("M-%s", new_key() + 3);
    TRY(POST("/v1/payments", E.admin,
             kstrf("{\"municipality\":\"%s\",\"paid_on\":\"2031-02-25\",\"amount_ore\":%lld,"
                   "\"reference\":\"%s\"}",
                   MUNI, BOUND + 1, ref),
             new_key(), &r));
    EXPECT_ERROR(&r, 422, "invalid_field", "amount_ore");
    TRY(POST("/v1/payments", E.admin,
             kstrf("{\"municipality\":\"%s\",\"paid_on\":\"2031-02-25\",\"amount_ore\":%lld,"
                   "\"reference\":\"%s\"}",
                   MUNI, -BOUND - 1, ref),
             new_key(), &r));
    EXPECT_ERROR(&r, 422, "invalid_field", "amount_ore");
    /* The total within the bound, one line beyond it. */
    TRY(POST("/v1/payments", E.admin,
             kstrf("{\"municipality\":\"%s\",\"paid_on\":\"2031-02-25\",\"amount_ore\":%lld,"
                   "\"reference\":\"%s\",\"lines\":[{\"dossier_number\":\"%s\",\"month\":"
                   "\"2031-01\",\"code\":\"DAY_ADULT\",\"amount_ore\":%lld},{\"dossier_number\":"
                   "\"%s\",\"month\":\"2031-01\",\"code\":\"MOVE_IN\",\"amount_ore\":-1}]}",
                   MUNI, BOUND, ref, new_dossier(), BOUND + 1, new_dossier()),
             new_key(), &r));
    EXPECT_ERROR(&r, 422, "invalid_field", "lines[0].amount_ore");
    /* At the bound: recorded. */
    TRY(POST("/v1/payments", E.admin,
             kstrf("{\"municipality\":\"%s\",\"paid_on\":\"2031-02-25\",\"amount_ore\":%lld,"
                   "\"reference\":\"%s\",\"month\":\"2031-01\"}",
                   MUNI, -BOUND, ref),
             new_key(), &r));
    EXPECT_STATUS(&r, 201);
    return true;
}

/* The paid_ore of the first DAY_ADULT row in array `key` of GET `path` (of dossier d when d is
 * not NULL), exactly, as a JSON integer. Without such a row: 0 when d is NULL, else a failure. */
static bool paid_in(const char *path, const char *key, const char *d, long long *out)
{
    struct resp r;
    TRY(GET(path, E.admin, &r));
    EXPECT_STATUS(&r, 200);
    size_t i;
    json_t *row;
    *out = 0;
    json_array_foreach(json_object_get(r.json, key), i, row)
    {
        if ((!d || str_eq(js(row, "dossier_number"), d)) && str_eq(js(row, "code"), "DAY_ADULT")) {
            CHECK(json_is_integer(json_object_get(row, "paid_ore")), "paid_ore: %s", snip(&r));
            *out = json_integer_value(json_object_get(row, "paid_ore"));
            return true;
        }
    }
    return d ? failf(__LINE__, "no reconciliation row for the dossier: %s", snip(&r)) : true;
}

/* The balance's paid_ore for code DAY_ADULT (0 when absent). */
static bool paid_day_adult(long long *out)
{
    return paid_in("/v1/municipalities/" MUNI "/balance", "by_code", NULL, out);
}

/* The reconciliation row of dossier d, code DAY_ADULT, month 2032-01: its paid_ore. */
static bool recon_paid(const char *d, long long *out)
{
    return paid_in("/v1/reports/reconciliation?municipality=" MUNI "&month=2032-01", "rows", d,
                   out);
}

static bool t_list_total_beyond_lines_summed_exactly(void)
{
    const char *d = new_dossier(), *ref = kstrf("T-%s", new_key() + 3);
    long long before = 0, after = 0, paid = 0, want = 0;
    struct resp r;
    TRY(paid_day_adult(&before));
    size_t cap = (size_t)BIG_LINES * 96 + 128, len;
    char *b = keep_str(calloc(1, cap));
    CHECK(b != NULL, "out of memory");
    len = (size_t)snprintf(b, cap, "%s\n", HDR);
    /* Lines differ by amount (a line's identity includes it), all within BIG_LINES öre of the
     * bound, one payment (one paid_on and reference): its total is about BIG_LINES times the bound.
     */
    for (int i = 0; i < BIG_LINES; i++) {
        len += (size_t)snprintf(b + len, cap - len, "%s;%s;2032-01;DAY_ADULT;%lld;2032-02-25;%s\n",
                                MUNI, d, BOUND - i, ref);
        want += BOUND - i;
    }
    long saved = g_timeout;
    g_timeout = 120;
    bool ok = post_csv(b, &r);
    g_timeout = saved;
    TRY(ok);
    EXPECT_STATUS(&r, 201);
    CHECK(json_integer_value(json_object_get(r.json, "lines_imported")) == BIG_LINES &&
              json_integer_value(json_object_get(r.json, "payments")) == 1,
          "expected %d lines in one payment: %s", BIG_LINES, snip(&r));
    TRY(recon_paid(d, &paid));
    CHECK(paid == want, "the reconciliation's paid_ore is %lld, expected %lld", paid, want);
    TRY(paid_day_adult(&after));
    CHECK(after - before == want, "the balance's paid_ore grew by %lld, expected %lld",
          after - before, want);
    return true;
}

int main(void)
{
    static const struct test tests[] = {
        {"payment_import_amount_over_1e11_line_n", t_import_amount_over_1e11_line_n},
        {"payment_manual_amount_over_1e11_field", t_manual_amount_over_1e11_field},
        {"payment_list_total_beyond_lines_summed_exactly",
         t_list_total_beyond_lines_summed_exactly},
    };
    return harness_main(tests, ARRAY_LEN(tests));
}
