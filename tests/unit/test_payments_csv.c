/* Unit tests for payments_csv: good files, every error reported with its line, limits, noise. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil_date.h"
#include "payments_csv.h"
#include "strbuf.h"

#define HEADER PAYMENTS_CSV_HEADER

static const char good[] =
    HEADER "\n"
           "1480;MV-123-456;2024-03;DAY_ADULT;930000;2024-04-25;UTB-2024-04\n"
           "1480;mv-9;2024-02;DAY_CHILD;-435000;2024-04-25;UTB-2024-04\n"
           "1480;;2024-01;ALLOCATION_PLACE;40000000;2024-04-25;UTB-2024-04\n"
           "0114;X1;2022-03;MOVE_IN;1500000;2022-04-30;Återkrav mars\n"
           "0114;X1;2022-03;DAY_FORMER_UAM;+0;2022-04-30;Återkrav mars\n";

static int32_t day(int y, int m, int d)
{
    return civil_from_ymd(y, m, d);
}

static bool parse_str(const char *s, struct payments_csv_result *res)
{
    return payments_csv_parse(s, strlen(s), res);
}

/* The error list as one string, "line:field:message|...", for compact assertions. */
static void errors_text(const struct payments_csv_result *res, struct strbuf *b)
{
    strbuf_reset(b);
    for (size_t i = 0; i < res->nerrors; i++) {
        const struct payments_csv_error *e = &res->errors[i];
        strbuf_printf(b, "%zu:%s|", e->line, e->field != NULL ? e->field : "-");
    }
}

static void assert_errors(const char *csv, const char *want)
{
    struct payments_csv_result res;
    struct strbuf b = {0};
    assert_false(parse_str(csv, &res));
    assert_false(res.oom);
    assert_int_equal(res.nlines, 0);
    assert_null(res.lines);
    errors_text(&res, &b);
    if (strcmp(strbuf_cstr(&b), want) != 0)
        fail_msg("errors %s, expected %s (first: %s)", strbuf_cstr(&b), want,
                 res.nerrors > 0 ? res.errors[0].message : "none");
    for (size_t i = 0; i < res.nerrors; i++)
        assert_true(strlen(res.errors[i].message) > 0);
    payments_csv_free(&res);
    strbuf_free(&b);
}

static void assert_good_lines(const struct payments_csv_result *res, size_t first_line)
{
    assert_int_equal(res->nlines, 5);
    assert_int_equal(res->nerrors, 0);
    const struct payments_csv_line *l = res->lines;
    assert_int_equal(l[0].line, first_line);
    assert_string_equal(l[0].municipality, "1480");
    assert_string_equal(l[0].dossier_number, "MV-123-456");
    assert_int_equal(l[0].month, day(2024, 3, 1));
    assert_int_equal(l[0].code, ACCRUAL_DAY_ADULT);
    assert_true(l[0].amount_ore == 930000);
    assert_int_equal(l[0].paid_on, day(2024, 4, 25));
    assert_string_equal(l[0].reference, "UTB-2024-04");
    assert_string_equal(l[1].dossier_number, "mv-9");
    assert_int_equal(l[1].code, ACCRUAL_DAY_CHILD);
    assert_true(l[1].amount_ore == -435000);
    assert_int_equal(l[1].month, day(2024, 2, 1));
    assert_string_equal(l[2].dossier_number, "");
    assert_int_equal(l[2].code, ACCRUAL_ALLOCATION_PLACE);
    assert_true(l[2].amount_ore == 40000000);
    assert_ptr_equal(l[2].reference, l[0].reference); /* one copy of a repeated reference */
    assert_string_equal(l[3].municipality, "0114");
    assert_int_equal(l[3].code, ACCRUAL_MOVE_IN);
    assert_int_equal(l[3].month, day(2022, 3, 1));
    assert_int_equal(l[3].paid_on, day(2022, 4, 30));
    assert_string_equal(l[3].reference, "Återkrav mars");
    assert_int_equal(l[4].code, ACCRUAL_DAY_FORMER_UAM);
    assert_true(l[4].amount_ore == 0);
    assert_int_equal(l[4].line, first_line + 4);
}

static void test_good_file(void **state)
{
    (void)state;
    struct payments_csv_result res;
    assert_true(parse_str(good, &res));
    assert_false(res.oom);
    assert_int_equal(res.errors_total, 0);
    assert_good_lines(&res, 2);
    payments_csv_free(&res);
    payments_csv_free(&res); /* twice is fine */
}

/* Replaces every "\n" of `s` by "\r\n", with an optional BOM in front. */
static char *crlf(const char *s, bool bom)
{
    struct strbuf b = {0};
    if (bom)
        strbuf_str(&b, "\xEF\xBB\xBF");
    for (; *s != '\0'; s++) {
        if (*s == '\n')
            strbuf_add(&b, "\r", 1);
        strbuf_add(&b, s, 1);
    }
    assert_false(b.oom);
    return b.p;
}

static void test_bom_crlf(void **state)
{
    (void)state;
    struct payments_csv_result res;
    char *s = crlf(good, true);
    assert_true(parse_str(s, &res));
    assert_good_lines(&res, 2);
    payments_csv_free(&res);
    free(s);
    s = crlf(good, false);
    assert_true(parse_str(s, &res));
    assert_good_lines(&res, 2);
    payments_csv_free(&res);
    free(s);
    /* Mixed line ends, and a BOM with LF. */
    assert_true(parse_str("\xEF\xBB\xBF" HEADER "\r\n"
                          "1480;A;2024-03;DAY_ADULT;1;2024-04-25;R\n"
                          "1480;B;2024-03;DAY_ADULT;2;2024-04-25;R\r\n",
                          &res));
    assert_int_equal(res.nlines, 2);
    assert_string_equal(res.lines[1].dossier_number, "B");
    payments_csv_free(&res);
}

static void test_trailing_newline(void **state)
{
    (void)state;
    static const char *const endings[] = {"", "\n", "\r\n", "\r", "\n\n\n", "\r\n;;;;;;\r\n"};
    for (size_t i = 0; i < sizeof endings / sizeof endings[0]; i++) {
        struct payments_csv_result res;
        char buf[256];
        snprintf(buf, sizeof buf, "%s\n1480;A;2024-03;DAY_ADULT;1;2024-04-25;R%s", HEADER,
                 endings[i]);
        assert_true(parse_str(buf, &res));
        assert_int_equal(res.nlines, 1);
        assert_string_equal(res.lines[0].reference, "R");
        payments_csv_free(&res);
    }
}

/* Three bad lines among good ones: all three reported, in order, and nothing returned. */
static void test_three_bad_lines(void **state)
{
    (void)state;
    const char *csv = HEADER "\n"
                             "1480;MV-1;2024-03;DAY_ADULT;930000;2024-04-25;R1\n"
                             "148;MV-2;2024-03;DAY_ADULT;930000;2024-04-25;R1\n"
                             "1480;MV-3;2024-03;DAY_ADULT;930000;2024-04-25;R1\n"
                             "1480;MV-4;2024-13;DAY_ADULT;12.50;2024-04-25;R1\n"
                             "1480;MV-5;2024-03;DAY_ADULT;930000;2024-04-25;R1\n"
                             "1480;MV-6;2024-03;day_adult;930000;2024-04-25;R1\n";
    assert_errors(csv, "3:municipality|5:month|5:amount_ore|7:code|");

    struct payments_csv_result res;
    assert_false(parse_str(csv, &res));
    assert_int_equal(res.errors_total, 4);
    assert_string_equal(res.errors[2].message,
                        "must be whole öre without decimals (1 krona = 100 öre)");
    /* Messages never repeat the value. */
    for (size_t i = 0; i < res.nerrors; i++)
        assert_null(strstr(res.errors[i].message, "MV-"));
    payments_csv_free(&res);
}

static void test_every_field_rule(void **state)
{
    (void)state;
#define L(s) HEADER "\n" s "\n"
    assert_errors(L("14a0;A;2024-03;DAY_ADULT;1;2024-04-25;R"), "2:municipality|");
    assert_errors(L("14800;A;2024-03;DAY_ADULT;1;2024-04-25;R"), "2:municipality|");
    assert_errors(L("1480;;2024-03;DAY_ADULT;1;2024-04-25;R"), "2:dossier_number|");
    assert_errors(L("1480;A;2024-03;ALLOCATION_PLACE;1;2024-04-25;R"), "2:dossier_number|");
    assert_errors(L("1480;A B;2024-03;DAY_ADULT;1;2024-04-25;R"), "2:dossier_number|");
    assert_errors(L("1480;Å;2024-03;DAY_ADULT;1;2024-04-25;R"), "2:dossier_number|");
    assert_errors(L("1480;A;2024-3;DAY_ADULT;1;2024-04-25;R"), "2:month|");
    assert_errors(L("1480;A;2024-00;DAY_ADULT;1;2024-04-25;R"), "2:month|");
    assert_errors(L("1480;A;2024-03-01;DAY_ADULT;1;2024-04-25;R"), "2:month|");
    assert_errors(L("1480;A;1899-12;DAY_ADULT;1;2024-04-25;R"), "2:month|");
    assert_errors(L("1480;A;2024-03;LUMP_SUM;1;2024-04-25;R"), "2:code|");
    assert_errors(L("1480;A;2024-03;;1;2024-04-25;R"), "2:code|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;;2024-04-25;R"), "2:amount_ore|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;-;2024-04-25;R"), "2:amount_ore|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1e3;2024-04-25;R"), "2:amount_ore|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;12,50;2024-04-25;R"), "2:amount_ore|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1 500;2024-04-25;R"), "2:amount_ore|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;--1;2024-04-25;R"), "2:amount_ore|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2023-02-29;R"), "2:paid_on|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;25.04.2024;R"), "2:paid_on|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;"), "2:reference|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;\" R\""), "2:reference|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;R\x01"), "2:reference|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;R\x7F"), "2:reference|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;R\xC2\x85"), "2:reference|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;R\xC3"), "2:reference|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;\xE9t\xE9"), "2:reference|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;\xED\xA0\x80"), "2:reference|");
    /* Every field bad at once: seven errors on one line. */
    assert_errors(L("x;;2024;X;1.5;2024;"), "2:municipality|2:month|2:code|2:amount_ore|"
                                            "2:paid_on|2:reference|");
    assert_errors(L("x;A B;2024;X;1.5;2024;"), "2:municipality|2:dossier_number|2:month|2:code|"
                                               "2:amount_ore|2:paid_on|2:reference|");
    /* Field counts. */
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25"), "2:-|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;R;"), "2:-|");
    assert_errors(L("1480,A,2024-03,DAY_ADULT,1,2024-04-25,R"), "2:-|");

    struct payments_csv_result res;
    assert_true(parse_str(L("1480;A;2024-02;DAY_ADULT;-1;2024-02-29;R"), &res));
    assert_int_equal(res.lines[0].paid_on, day(2024, 2, 29));
    payments_csv_free(&res);
#undef L
}

static void test_wrong_header(void **state)
{
    (void)state;
    const char *rest = "1480;A;2024-03;DAY_ADULT;1;2024-04-25;R\n"
                       "bad;line;that;is;not;checked;x\n";
    struct strbuf b = {0};
#define H(h, want)                                                                                 \
    do {                                                                                           \
        strbuf_reset(&b);                                                                          \
        strbuf_printf(&b, "%s\n%s", h, rest);                                                      \
        assert_errors(strbuf_cstr(&b), want);                                                      \
    } while (0)
    H("Municipality;dossier_number;month;code;amount_ore;paid_on;reference", "1:municipality|");
    H("municipality;dossier;month;code;amount;paid_on;reference", "1:dossier_number|1:amount_ore|");
    H("municipality;dossier_number;month;code;amount_ore;paid_on", "1:-|");
    H("municipality;dossier_number;month;code;amount_ore;paid_on;reference;extra", "1:-|");
    H("municipality,dossier_number,month,code,amount_ore,paid_on,reference", "1:-|");
    H("municipality;dossier_number;code;month;amount_ore;paid_on;reference", "1:month|1:code|");
    H("\"municipality;dossier_number;month;code;amount_ore;paid_on;reference", "1:-|");
#undef H
    strbuf_free(&b);

    struct payments_csv_result res;
    /* Lenient on whitespace around names, and on quoted names. */
    assert_true(parse_str(" municipality ;\tdossier_number;month;code;amount_ore;paid_on;"
                          "\"reference\"  \n1480;A;2024-03;DAY_ADULT;1;2024-04-25;R\n",
                          &res));
    assert_int_equal(res.nlines, 1);
    payments_csv_free(&res);

    /* The comma hint. */
    assert_false(
        parse_str("municipality,dossier_number,month,code,amount_ore,paid_on,reference\n", &res));
    assert_non_null(strstr(res.errors[0].message, "semicolons"));
    payments_csv_free(&res);
}

static void test_quoted_fields(void **state)
{
    (void)state;
    struct payments_csv_result res;
    assert_true(parse_str(HEADER
                          "\n"
                          "\"1480\";\"MV-1\";\"2024-03\";\"DAY_ADULT\";\"-100\";\"2024-04-25\";"
                          "\"Ref \"\"A\"\"; x\"\n"
                          "  \"1480\"  ; MV-2 ;2024-03;DAY_ADULT; 7 ;2024-04-25;\"\"\"\"\n"
                          "1480;\"\";2024-01;ALLOCATION_PLACE;1;2024-04-25;\"a;b\"\n",
                          &res));
    assert_int_equal(res.nlines, 3);
    assert_string_equal(res.lines[0].reference, "Ref \"A\"; x");
    assert_true(res.lines[0].amount_ore == -100);
    assert_string_equal(res.lines[1].dossier_number, "MV-2");
    assert_true(res.lines[1].amount_ore == 7);
    assert_string_equal(res.lines[1].reference, "\"");
    assert_string_equal(res.lines[2].reference, "a;b");
    payments_csv_free(&res);

#define L(s) HEADER "\n" s "\n"
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;\"R"), "2:-|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;\"R\"x"), "2:-|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;R\"x"), "2:-|");
    assert_errors(L("1480;A;2024-03;DAY_ADULT;1;2024-04-25;\"R\n\""), "2:-|3:-|");
#undef L
}

static void test_empty_files(void **state)
{
    (void)state;
    assert_errors("", "1:-|");
    assert_errors("\xEF\xBB\xBF", "1:-|");
    assert_errors("\n\r\n  \n", "1:-|");
    assert_errors(HEADER, "2:-|");
    assert_errors(HEADER "\n", "2:-|");
    assert_errors(HEADER "\r\n;;;;;;\r\n\r\n", "2:-|");
    assert_errors("\xFF\xFE"
                  "m\0u\0",
                  "1:-|");
    struct payments_csv_result res;
    assert_false(payments_csv_parse(NULL, 0, &res));
    assert_int_equal(res.errors_total, 1);
    assert_int_equal(res.errors[0].line, 1);
    payments_csv_free(&res);
}

/* Blank lines are skipped but counted, so numbers match the spreadsheet's rows. */
static void test_blank_lines_counted(void **state)
{
    (void)state;
    assert_errors("\n" HEADER "\n\n;;;;;;\n \t \n1480;A;2024-03;DAY_ADULT;x;2024-04-25;R\n",
                  "6:amount_ore|");
    struct payments_csv_result res;
    assert_true(parse_str("\n" HEADER "\n\n1480;A;2024-03;DAY_ADULT;1;2024-04-25;R\n", &res));
    assert_int_equal(res.lines[0].line, 4);
    payments_csv_free(&res);
}

static void test_limits(void **state)
{
    (void)state;
    struct payments_csv_result res;
    struct strbuf b = {0};
    const char *line = "1480;A;2024-03;DAY_ADULT;1;2024-04-25;R";

    /* Line length: exactly the limit is fine (trailing spaces are trimmed), one more is not. */
    for (int extra = 0; extra <= 1; extra++) {
        strbuf_reset(&b);
        strbuf_printf(&b, "%s\n%s", HEADER, line);
        size_t want = PAYMENTS_CSV_MAX_LINE_LEN + (size_t)extra - strlen(line);
        for (size_t i = 0; i < want; i++)
            strbuf_add(&b, " ", 1);
        strbuf_str(&b, "\r\n");
        bool ok = payments_csv_parse(b.p, b.len, &res);
        assert_int_equal(ok, extra == 0);
        if (!ok) {
            assert_int_equal(res.errors[0].line, 2);
            assert_null(res.errors[0].field);
        }
        payments_csv_free(&res);
    }
    /* An over-long first line is no header, and the parse stops there. */
    strbuf_reset(&b);
    for (int i = 0; i < PAYMENTS_CSV_MAX_LINE_LEN + 1; i++)
        strbuf_add(&b, "m", 1);
    strbuf_printf(&b, "\n%s\n", line);
    assert_false(payments_csv_parse(b.p, b.len, &res));
    assert_int_equal(res.errors_total, 1);
    payments_csv_free(&res);

    /* Amounts: ±10^11 inclusive; anything longer is refused without overflowing. */
    static const struct {
        const char *text;
        bool ok;
        int64_t value;
    } amounts[] = {
        {"100000000000", true, 100000000000LL},
        {"-100000000000", true, -100000000000LL},
        {"000100000000000", true, 100000000000LL},
        {"100000000001", false, 0},
        {"-100000000001", false, 0},
        {"1000000000000", false, 0},
        {"99999999999999999999999999999", false, 0},
        {"-9223372036854775808", false, 0},
    };
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        strbuf_reset(&b);
        strbuf_printf(&b, "%s\n1480;A;2024-03;DAY_ADULT;%s;2024-04-25;R\n", HEADER,
                      amounts[i].text);
        assert_int_equal(payments_csv_parse(b.p, b.len, &res), amounts[i].ok);
        if (amounts[i].ok)
            assert_true(res.lines[0].amount_ore == amounts[i].value);
        else
            assert_string_equal(res.errors[0].field, "amount_ore");
        payments_csv_free(&res);
    }

    /* Dossier 32 bytes fine, 33 not; reference 64 characters fine (128 bytes of å), 65 not. */
    strbuf_reset(&b);
    strbuf_printf(&b, "%s\n1480;%s;2024-03;DAY_ADULT;1;2024-04-25;", HEADER,
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ-01234");
    for (int i = 0; i < 64; i++)
        strbuf_str(&b, "å");
    assert_true(payments_csv_parse(b.p, b.len, &res));
    assert_int_equal(strlen(res.lines[0].dossier_number), 32);
    assert_int_equal(strlen(res.lines[0].reference), 128);
    payments_csv_free(&res);
    strbuf_str(&b, "ö");
    assert_false(payments_csv_parse(b.p, b.len, &res));
    assert_string_equal(res.errors[0].field, "reference");
    payments_csv_free(&res);
    assert_errors(HEADER
                  "\n1480;ABCDEFGHIJKLMNOPQRSTUVWXYZ-012345;2024-03;DAY_ADULT;1;2024-04-25;R",
                  "2:dossier_number|");

    /* The line count: PAYMENTS_CSV_MAX_LINES is fine, one more is an error on its line. */
    strbuf_reset(&b);
    strbuf_printf(&b, "%s\n", HEADER);
    for (int i = 0; i < PAYMENTS_CSV_MAX_LINES; i++)
        strbuf_printf(&b, "1480;P%d;2024-03;DAY_ADULT;%d;2024-04-25;UTB-2024-04\n", i, i);
    assert_false(b.oom);
    assert_true(payments_csv_parse(b.p, b.len, &res));
    assert_int_equal(res.nlines, PAYMENTS_CSV_MAX_LINES);
    assert_string_equal(res.lines[PAYMENTS_CSV_MAX_LINES - 1].dossier_number, "P199999");
    assert_ptr_equal(res.lines[0].reference, res.lines[PAYMENTS_CSV_MAX_LINES - 1].reference);
    payments_csv_free(&res);
    strbuf_str(&b, line);
    assert_false(payments_csv_parse(b.p, b.len, &res));
    assert_int_equal(res.errors_total, 1);
    assert_int_equal(res.errors[0].line, PAYMENTS_CSV_MAX_LINES + 2);
    payments_csv_free(&res);

    /* Errors past PAYMENTS_CSV_MAX_ERRORS are counted, not kept. */
    strbuf_reset(&b);
    strbuf_printf(&b, "%s\n", HEADER);
    for (int i = 0; i < 1500; i++)
        strbuf_str(&b, "1480;A;2024-03;DAY_ADULT;x;2024-04-25;R\n");
    assert_false(payments_csv_parse(b.p, b.len, &res));
    assert_int_equal(res.nerrors, PAYMENTS_CSV_MAX_ERRORS);
    assert_int_equal(res.errors_total, 1500);
    assert_int_equal(res.errors[PAYMENTS_CSV_MAX_ERRORS - 1].line, PAYMENTS_CSV_MAX_ERRORS + 1);
    payments_csv_free(&res);
    strbuf_free(&b);
}

/* Random bytes, and random mutations of a good file: never a crash, and the result is always
 * consistent (true ⇔ no errors and at least one line). Run under ASan/UBSan in CI. */
static void test_noise(void **state)
{
    (void)state;
    unit_seed("test_noise", "CSV_SEED");
    static const char alphabet[] =
        "0123456789;\"\r\n -+.,ABCDEFGHIJKLMNOPQRSTUVWXYZ_\t\xC3\xA5\xFF";
    unsigned char buf[1024];
    size_t good_len = strlen(good);
    for (int round = 0; round < 20000; round++) {
        size_t n;
        if (round % 2 == 0) {
            n = (size_t)rand() % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (unsigned char)(round % 4 == 0 ? rand() % 256
                                                        : alphabet[rand() % (sizeof alphabet - 1)]);
        } else {
            n = good_len;
            memcpy(buf, good, n);
            for (int k = 1 + rand() % 4; k > 0; k--)
                buf[(size_t)rand() % n] = (unsigned char)alphabet[rand() % (sizeof alphabet - 1)];
            n -= (size_t)rand() % 8;
        }
        struct payments_csv_result res;
        bool ok = payments_csv_parse(buf, n, &res);
        assert_false(res.oom);
        assert_int_equal(ok, res.errors_total == 0);
        assert_true(ok ? res.nlines > 0 : res.nlines == 0);
        assert_true(res.nerrors <= res.errors_total);
        for (size_t i = 0; i < res.nlines; i++)
            assert_true(strlen(res.lines[i].reference) >= 1);
        payments_csv_free(&res);
    }
}

/* Issue 16 item 5: |amount| <= 10^11 öre per line; a line beyond is refused with its line number
 * (physical lines: the blank line 4 counts) and the field, and nothing is kept. */
static void test_csv_amount_over_1e11_refused_with_line(void **state)
{
    (void)state;
    static const char csv[] = HEADER "\n"
                                     "1480;A;2024-03;DAY_ADULT;100000000000;2024-04-25;R\n"
                                     "1480;A;2024-02;DAY_ADULT;-100000000000;2024-04-25;R\n"
                                     "\n"
                                     "1480;A;2024-01;DAY_ADULT;100000000001;2024-04-25;R\n"
                                     "1480;A;2024-04;DAY_ADULT;-100000000001;2024-04-25;R\n";
    struct payments_csv_result res;
    assert_errors(csv, "5:amount_ore|6:amount_ore|");
    assert_false(parse_str(csv, &res));
    assert_non_null(strstr(res.errors[0].message, "100000000000"));
    payments_csv_free(&res);
}

/* The longest list, every line at the bound: accepted, and its total (2 * 10^16) is exact in
 * int64 — a list cannot wrap a total, so no list-level limit is needed. */
static void test_csv_max_list_total_exact(void **state)
{
    (void)state;
    struct strbuf b = {0};
    struct payments_csv_result res;
    strbuf_printf(&b, "%s\n", HEADER);
    for (int i = 0; i < PAYMENTS_CSV_MAX_LINES; i++)
        strbuf_printf(&b, "1480;A;2024-03;DAY_ADULT;100000000000;2024-04-25;R%d\n", i % 100);
    assert_false(b.oom);
    assert_true(payments_csv_parse(b.p, b.len, &res));
    assert_int_equal(res.nlines, PAYMENTS_CSV_MAX_LINES);
    int64_t total = 0;
    bool wrapped = false;
    for (size_t i = 0; i < res.nlines; i++)
        wrapped = wrapped || __builtin_add_overflow(total, res.lines[i].amount_ore, &total);
    assert_false(wrapped);
    assert_true(total == (int64_t)PAYMENTS_CSV_MAX_LINES * 100000000000LL);
    payments_csv_free(&res);
    strbuf_free(&b);
}

UNIT_MAIN({
    cmocka_unit_test(test_good_file),
    cmocka_unit_test(test_bom_crlf),
    cmocka_unit_test(test_trailing_newline),
    cmocka_unit_test(test_three_bad_lines),
    cmocka_unit_test(test_every_field_rule),
    cmocka_unit_test(test_wrong_header),
    cmocka_unit_test(test_quoted_fields),
    cmocka_unit_test(test_empty_files),
    cmocka_unit_test(test_blank_lines_counted),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_noise),
    cmocka_unit_test(test_csv_amount_over_1e11_refused_with_line),
    cmocka_unit_test(test_csv_max_list_total_exact),
});
