/* Unit tests for ledger_sie's streamed writer (issue 16, item 13): the file written piece by
 * piece, with the output emptied after every posting as the streamed export does, is the file
 * ledger_sie_write makes in one go, byte for byte; also with a chart that books several codes
 * on one account. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "ledger_sie.h"

static int32_t day(const char *s)
{
    int32_t d;
    assert_true(civil_parse(s, strlen(s), &d));
    return d;
}

/* Journals of two to four postings: accruals with codes and placements, payments. */
static size_t make_postings(struct ledger_sie_posting *p, size_t cap)
{
    static const char *const codes[] = {"MOVE_IN", "DAY_CHILD", "DAY_ADULT", NULL};
    size_t n = 0;
    for (int j = 1; j <= 40 && n + 4 <= cap; j++) {
        bool pay = j % 5 == 0;
        int32_t rec = day("2024-01-03") + j * 7;
        int32_t month = pay ? ACCRUAL_NO_DAY : civil_month_start(rec);
        const char *cause = pay ? "Utbetalning från Migrationsverket" : "Periodisering";
        if (pay) {
            p[n++] = (struct ledger_sie_posting){j,      true, cause, rec,       month,
                                                 "bank", NULL, 0,     100000 + j};
            p[n++] = (struct ledger_sie_posting){j,    true, cause,        rec, month, "receivable",
                                                 NULL, 0,    -(100000 + j)};
            continue;
        }
        const char *code = codes[j % 4];
        int64_t a = 1500 * j, b = 700 * j;
        p[n++] =
            (struct ledger_sie_posting){j, false, cause, rec, month, "receivable", code, j, a + b};
        p[n++] =
            (struct ledger_sie_posting){j, false, cause, rec, month, "compensation", code, j, -a};
        p[n++] = (struct ledger_sie_posting){
            j, false, cause, rec, month, "compensation", codes[(j + 1) % 4], j + 1, -b};
    }
    return n;
}

/* The accounts used, in the order of first use (what api.sie_stream's 'a' rows give). */
static size_t used_of(const struct ledger_sie_posting *p, size_t n, struct ledger_sie_posting *u)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && !(strcmp(u[j].account, p[i].account) == 0 &&
                          (u[j].code == NULL) == (p[i].code == NULL) &&
                          (u[j].code == NULL || strcmp(u[j].code, p[i].code) == 0)))
            j++;
        if (j == k)
            u[k++] =
                (struct ledger_sie_posting){0, false, NULL, 0, 0, p[i].account, p[i].code, 0, 0};
    }
    return k;
}

static void same_bytes(const struct ledger_chart *chart)
{
    struct ledger_sie_posting p[200], used[32];
    size_t n = make_postings(p, 200), nu = used_of(p, n, used);
    struct ledger_sie_file f = {"1480", "Göteborg", day("2024-01-01"), day("2024-12-31"),
                                day("2024-12-06")};
    struct strbuf whole = {0}, piece = {0}, joined = {0};
    char err[160];
    assert_true(ledger_sie_write(&whole, &f, chart, p, n, err, sizeof err));

    struct ledger_sie_stream s;
    assert_true(ledger_sie_stream_begin(&s, &piece, &f, chart, used, nu));
    for (size_t i = 0; i < n; i++) {
        strbuf_add(&joined, piece.p ? piece.p : "", piece.len);
        strbuf_reset(&piece);
        assert_true(ledger_sie_stream_posting(&s, &p[i]));
    }
    assert_true(ledger_sie_stream_finish(&s));
    strbuf_add(&joined, piece.p ? piece.p : "", piece.len);
    ledger_sie_stream_free(&s);
    assert_false(whole.oom || joined.oom);
    assert_int_equal(whole.len, joined.len);
    assert_memory_equal(whole.p, joined.p, whole.len);
    strbuf_free(&whole);
    strbuf_free(&piece);
    strbuf_free(&joined);
}

static void test_stream_same_bytes_default_chart(void **state)
{
    (void)state;
    struct ledger_chart chart;
    ledger_chart_defaults(&chart);
    same_bytes(&chart);
}

static void test_stream_same_bytes_shared_accounts(void **state)
{
    (void)state;
    struct ledger_chart chart;
    char err[160];
    ledger_chart_defaults(&chart);
    assert_true(
        ledger_chart_parse("MOVE_IN=3911,DAY_CHILD=3911,bank=1931", &chart, err, sizeof err));
    same_bytes(&chart);
}

/* An unbalanced journal fails the stream as it fails the whole-file writer. */
static void test_stream_refuses_unbalanced(void **state)
{
    (void)state;
    struct ledger_chart chart;
    struct strbuf out = {0};
    struct ledger_sie_stream s;
    ledger_chart_defaults(&chart);
    struct ledger_sie_file f = {"1480", "Göteborg", day("2024-01-01"), day("2024-12-31"),
                                day("2024-12-06")};
    struct ledger_sie_posting p[3] = {
        {1, true, "x", day("2024-02-01"), ACCRUAL_NO_DAY, "bank", NULL, 0, 100},
        {1, true, "x", day("2024-02-01"), ACCRUAL_NO_DAY, "receivable", NULL, 0, -99},
        {2, true, "y", day("2024-02-02"), ACCRUAL_NO_DAY, "bank", NULL, 0, 5}};
    assert_true(ledger_sie_stream_begin(&s, &out, &f, &chart, p, 2));
    assert_true(ledger_sie_stream_posting(&s, &p[0]));
    assert_true(ledger_sie_stream_posting(&s, &p[1]));
    assert_false(ledger_sie_stream_posting(&s, &p[2]));
    assert_true(strlen(ledger_sie_stream_error(&s)) > 0);
    ledger_sie_stream_free(&s);
    strbuf_free(&out);
}

UNIT_MAIN({
    cmocka_unit_test(test_stream_same_bytes_default_chart),
    cmocka_unit_test(test_stream_same_bytes_shared_accounts),
    cmocka_unit_test(test_stream_refuses_unbalanced),
});
