/* Unit tests for report_html: escaping, amounts as kronor, the SVG chart (one bar per month and
 * series), self-contained pages, and the same bytes for the same input. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "report_html.h"
#include "strbuf.h"

#define NNBSP "\xe2\x80\xaf"
#define NBSP "\xc2\xa0"
#define MINUS "\xe2\x88\x92"

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + len, needle))
        n++;
    return n;
}

static int32_t day(const char *s)
{
    int32_t d = 0;
    assert_true(civil_parse(s, strlen(s), &d));
    return d;
}

static void test_escape(void **state)
{
    (void)state;
    struct strbuf b = {0};
    report_html_escape(&b, "<script>alert('x') & \"y\"</script>");
    assert_string_equal(strbuf_cstr(&b), "&lt;script&gt;alert(&#39;x&#39;) &amp; "
                                         "&quot;y&quot;&lt;/script&gt;");
    strbuf_reset(&b);
    report_html_escape(&b, NULL);
    assert_string_equal(strbuf_cstr(&b), "");
    report_html_escape(&b, "Mölndal 1481");
    assert_string_equal(strbuf_cstr(&b), "Mölndal 1481");
    strbuf_reset(&b);
    report_html_escape(&b, "&&");
    assert_string_equal(strbuf_cstr(&b), "&amp;&amp;");
    strbuf_free(&b);
}

static void test_kronor(void **state)
{
    (void)state;
    static const struct {
        int64_t ore;
        const char *want;
    } cases[] = {
        {0, "0,00" NBSP "kr"},
        {1, "0,01" NBSP "kr"},
        {99999, "999,99" NBSP "kr"},
        {100000, "1" NNBSP "000,00" NBSP "kr"},
        {1234500, "12" NNBSP "345,00" NBSP "kr"},
        {123456789, "1" NNBSP "234" NNBSP "567,89" NBSP "kr"},
        {-1234500, MINUS "12" NNBSP "345,00" NBSP "kr"},
        {-5, MINUS "0,05" NBSP "kr"},
        {INT64_MAX, "92" NNBSP "233" NNBSP "720" NNBSP "368" NNBSP "547" NNBSP "758,07" NBSP "kr"},
        {INT64_MIN,
         MINUS "92" NNBSP "233" NNBSP "720" NNBSP "368" NNBSP "547" NNBSP "758,08" NBSP "kr"},
    };
    char out[REPORT_HTML_KRONOR_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        report_html_kronor(out, cases[i].ore);
        assert_string_equal(out, cases[i].want);
    }
}

/* n months from 2024-01 on, owed and paid differing. */
static struct report_month *months_make(size_t n)
{
    struct report_month *m = calloc(n + 1, sizeof *m);
    assert_non_null(m);
    int32_t d = day("2024-01-01");
    for (size_t i = 0; i < n; i++) {
        m[i].month = d;
        m[i].owed_ore = 100000 * (int64_t)(i + 1);
        m[i].paid_ore = 90000 * (int64_t)(i + 1);
        d = civil_next_month_start(d);
    }
    return m;
}

static void test_chart_bars(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 30; n += 7) {
        struct report_month *m = months_make(n);
        struct strbuf b = {0};
        report_html_chart(&b, m, n);
        const char *s = strbuf_cstr(&b);
        size_t shown = n < REPORT_HTML_CHART_MONTHS ? n : REPORT_HTML_CHART_MONTHS;
        assert_int_equal(count(s, "<svg"), 1);
        assert_int_equal(count(s, "class=\"bar owed\""), shown);
        assert_int_equal(count(s, "class=\"bar paid\""), shown);
        assert_int_equal(count(s, "class=\"month\""), shown);
        assert_int_equal(count(s, "<rect"), 2 * shown + 2); /* bars and the legend's two */
        assert_non_null(strstr(s, "Owed (our ledger)"));
        assert_non_null(strstr(s, "Paid by Migrationsverket"));
        assert_null(strstr(s, "height=\"-"));
        if (n > REPORT_HTML_CHART_MONTHS) /* the last 24: 2024-01 + (n - 24) months on */
            assert_null(strstr(s, ">2024-01<"));
        strbuf_free(&b);
        free(m);
    }
}

static void test_chart_edges(void **state)
{
    (void)state;
    struct strbuf b = {0};
    report_html_chart(&b, NULL, 0);
    assert_null(strstr(strbuf_cstr(&b), "<svg"));
    assert_non_null(strstr(strbuf_cstr(&b), "No ended month"));
    strbuf_reset(&b);
    /* A negative payment (the state netted a reclaim) and a month of zeros. */
    struct report_month m[2] = {{day("2024-03-01"), 500000, -200000}, {day("2024-04-01"), 0, 0}};
    report_html_chart(&b, m, 2);
    const char *s = strbuf_cstr(&b);
    assert_int_equal(count(s, "class=\"bar owed\""), 2);
    assert_int_equal(count(s, "class=\"bar paid\""), 2);
    assert_null(strstr(s, "height=\"-"));
    assert_non_null(strstr(s, "2024-03 paid: " MINUS "2" NNBSP "000,00" NBSP "kr"));
    strbuf_free(&b);
}

static void test_actions(void **state)
{
    (void)state;
    assert_string_equal(report_html_action("underpaid"),
                        "Claim the missing amount (anmälan om utebliven schablon)");
    assert_string_equal(report_html_action("overpaid"), "Expect a reclaim (återkrav)");
    assert_string_equal(report_html_action("unknown_person"),
                        "Ask Migrationsverket: paid for someone not in our ledger");
    assert_string_equal(report_html_action("not_yet_paid"), "Wait for the payment list");
    assert_string_equal(report_html_code_label("DAY_ADULT"), "Days in housing, adult");
    assert_string_equal(report_html_code_label("NEW_CODE"), "NEW_CODE");
}

/* A summary with hostile texts in every field that comes from data. */
static void summary_render(struct strbuf *b, size_t nchanges)
{
    static const struct report_totals codes[] = {
        {"DAY_ADULT", 930000, 830000, 100000, 0, 30000},
        {"MOVE_IN", 1500000, 1550000, 0, 50000, 0},
    };
    static const struct report_discrepancy disc[] = {
        {0, "MV-<b>1</b>", "12", "DAY_ADULT", 930000, 830000, "underpaid"},
        {0, "MV-2", "13", "MOVE_IN", 1500000, 1550000, "overpaid"},
        {0, "MV-\"3\"", NULL, "DAY_ADULT", 0, 123400, "unknown_person"},
        {0, NULL, NULL, "ALLOCATION_PLACE", 1000000, 0, "not_yet_paid"},
    };
    static const struct report_class_count classes[] = {{"underpaid", 1, -100000},
                                                        {"overpaid", 1, 50000}};
    static const struct report_change changes[] = {
        {"12", "MV-<i>", "moved_out", NULL, "2024-03-11", "left_country", "2024-04-01 10:15"},
        {"13", "MV-2", "correction", "registered_on", "2024-03-20", "<img src=x>",
         "2024-04-01 11:00"},
        {"14", "MV-4", "correction", "moved_out_on", NULL, "wrong person", "2024-04-01 12:00"},
    };
    struct report_month *m = months_make(3);
    struct report_discrepancy d[4];
    memcpy(d, disc, sizeof d);
    for (size_t i = 0; i < 4; i++)
        d[i].month = m[1].month;
    struct report_summary s = {
        "1480",
        "Göte<borg> & \"Co\"",
        "0.1.0",
        {day("2024-04-02"), "2024-04-02T00:30:00.123456Z", "2024-04-02 02:30:00", "7",
         "2024-04-01"},
        m[2].month,
        {NULL, 2430000, 2380000, 100000, 50000, 30000},
        codes,
        2,
        m,
        3,
        d,
        4,
        classes,
        2,
        changes,
        nchanges,
    };
    report_html_summary(b, &s);
    free(m);
}

static void test_summary(void **state)
{
    (void)state;
    struct strbuf a = {0}, b = {0};
    summary_render(&a, 3);
    summary_render(&b, 3);
    const char *s = strbuf_cstr(&a);
    assert_false(a.oom);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len); /* the same input, the same bytes */
    assert_true(strncmp(s, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(s, "</html>\n"));
    /* self-contained: no script, no external resource */
    assert_null(strstr(s, "<script"));
    assert_null(strstr(s, "<link"));
    assert_null(strstr(s, " src=\""));
    assert_null(strstr(s, "<img"));
    assert_null(strstr(s, "url("));
    /* every data text is escaped */
    assert_null(strstr(s, "<borg>"));
    assert_non_null(strstr(s, "Göte&lt;borg&gt; &amp; &quot;Co&quot;"));
    assert_non_null(strstr(s, "MV-&lt;b&gt;1&lt;/b&gt;"));
    assert_non_null(strstr(s, "MV-&quot;3&quot;"));
    assert_non_null(strstr(s, "&lt;img src=x&gt;"));
    assert_non_null(strstr(s, "MV-&lt;i&gt;"));
    /* the parts a finance officer needs */
    assert_non_null(strstr(s, "id=\"totals-table\""));
    assert_non_null(strstr(s, "id=\"discrepancies-table\""));
    assert_non_null(strstr(s, "id=\"changes-table\""));
    assert_int_equal(count(s, "class=\"bar owed\""), 3);
    assert_non_null(strstr(s, "Claim the missing amount (anmälan om utebliven schablon)"));
    assert_non_null(strstr(s, "Expect a reclaim (återkrav)"));
    assert_non_null(strstr(s, "Ask Migrationsverket: paid for someone not in our ledger"));
    assert_non_null(strstr(s, "Wait for the payment list"));
    assert_non_null(strstr(s, "whole municipality"));
    assert_non_null(strstr(s, "<td>12</td><td>MV-&lt;i&gt;</td><td>Moved out: left the country"));
    assert_non_null(strstr(s, "Move-out removed"));
    assert_non_null(strstr(s, "recorded on <strong>2024-04-01</strong>"));
    assert_non_null(strstr(s, "accrual run (no. 7, through 2024-04-01)"));
    assert_non_null(strstr(s, "2024-04-02T00:30:00.123456Z"));
    assert_non_null(strstr(s, "24" NNBSP "300,00" NBSP "kr")); /* total owed */
    strbuf_free(&a);
    strbuf_free(&b);
}

static void test_summary_without_changes(void **state)
{
    (void)state;
    struct strbuf a = {0};
    summary_render(&a, 0);
    assert_non_null(strstr(strbuf_cstr(&a), "No move-out or registration was recorded on "
                                            "2024-04-01"));
    assert_non_null(strstr(strbuf_cstr(&a), "id=\"changes-table\""));
    strbuf_free(&a);
}

static void test_index(void **state)
{
    (void)state;
    struct report_index_row rows[] = {
        {"1480", "Göteborg", false, {NULL, 1000, 800, 300, 100, 0}},
        {"1481", "Mölndal & <x>", false, {NULL, 2000, 2000, 0, 0, 0}},
        {"1462", "Lilla Edet", true, {0}},
    };
    struct report_index ix = {
        "0.1.0",
        {day("2024-04-02"), "2024-04-01T21:59:59.999999Z", "2024-04-01 23:59:59", NULL, NULL},
        day("2024-03-01"),
        rows,
        3};
    struct strbuf a = {0}, b = {0};
    report_html_index(&a, &ix);
    report_html_index(&b, &ix);
    const char *s = strbuf_cstr(&a);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    assert_non_null(strstr(s, "href=\"1480/summary.html\""));
    assert_non_null(strstr(s, "href=\"1481/summary.html\""));
    assert_null(strstr(s, "href=\"1462/summary.html\""));
    assert_non_null(strstr(s, "could not be written"));
    assert_non_null(strstr(s, "Mölndal &amp; &lt;x&gt;"));
    assert_non_null(strstr(s, "no accrual run finished on 2024-04-02"));
    assert_non_null(strstr(s, "All 3 municipalities"));
    assert_non_null(strstr(s, "30,00" NBSP "kr")); /* 1000 + 2000 öre owed */
    assert_null(strstr(s, "<script"));
    strbuf_free(&a);
    strbuf_free(&b);
}

UNIT_MAIN({
    cmocka_unit_test(test_escape),
    cmocka_unit_test(test_kronor),
    cmocka_unit_test(test_chart_bars),
    cmocka_unit_test(test_chart_edges),
    cmocka_unit_test(test_actions),
    cmocka_unit_test(test_summary),
    cmocka_unit_test(test_summary_without_changes),
    cmocka_unit_test(test_index),
});
