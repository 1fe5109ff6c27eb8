/* Unit tests for civil_date: strict parsing, day-number round trips, birthdays, month bounds. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "civil_date.h"
#include "ref_calendar.h"

/* 1900-01-01 is 70 * 365 + 17 leap days (1904..1968) before 1970-01-01. */
#define DAY_1900_01_01 (-25567)

static bool parse_str(const char *s, int32_t *out)
{
    return civil_parse(s, strlen(s), out);
}

static int32_t ymd(int y, int m, int d)
{
    return civil_from_ymd(y, m, d);
}

static void test_epoch_anchors(void **state)
{
    (void)state;
    assert_int_equal(civil_from_ymd(1970, 1, 1), 0);
    assert_int_equal(civil_from_ymd(1970, 1, 2), 1);
    assert_int_equal(civil_from_ymd(1969, 12, 31), -1);
    assert_int_equal(civil_from_ymd(1900, 1, 1), DAY_1900_01_01);
    assert_int_equal(civil_from_ymd(2000, 3, 1), 11017);
    assert_int_equal(civil_from_ymd(2024, 2, 29), 19782);
}

static void test_parse_valid(void **state)
{
    (void)state;
    int32_t d = 12345;
    assert_true(parse_str("1970-01-01", &d));
    assert_int_equal(d, 0);
    assert_true(parse_str("2024-02-29", &d));
    assert_int_equal(d, ymd(2024, 2, 29));
    assert_true(parse_str("2000-02-29", &d));
    assert_int_equal(d, ymd(2000, 2, 29));
    assert_true(parse_str("1900-01-01", &d));
    assert_int_equal(d, DAY_1900_01_01);
    assert_true(parse_str("9999-12-31", &d));
    assert_int_equal(d, ymd(9999, 12, 31));
    assert_true(parse_str("2023-12-31", &d));
    assert_int_equal(d, ymd(2023, 12, 31));
    assert_true(parse_str("2023-04-30", &d));
    assert_int_equal(d, ymd(2023, 4, 30));
}

static void test_parse_invalid_calendar(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2023-02-29",                                           /* common year */
        "2024-02-30",                                           /* leap year, still no 30th */
        "2023-13-01",                                           /* month 13 */
        "2023-00-10",                                           /* month 0 */
        "2023-01-00",                                           /* day 0 */
        "2023-01-32",                                           /* day 32 */
        "2023-04-31",                                           /* April has 30 days */
        "2023-06-31", "2023-09-31", "2023-11-31", "1900-02-29", /* century, not divisible by 400 */
        "2100-02-29", "1899-12-31",                             /* year < 1900 */
        "0000-01-01", "1000-06-15",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t d = 777;
        if (parse_str(bad[i], &d))
            fail_msg("civil_parse accepted \"%s\"", bad[i]);
        assert_int_equal(d, 777); /* untouched on failure */
    }
}

static void test_parse_invalid_syntax(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2023-1-01",   "2023-01-1",           "23-01-01",   "2023-01-01x",
        "2023-01-01 ", " 2023-01-01",         "2023/01/01", "2023-01/01",
        "20230101",    "2023-01-011",         "",           "2023-0a-01",
        "2023-01-0a",  "a023-01-01",          "+023-01-01", "-023-01-01",
        "2023--1-01",  "2023-01--1",          "2023-+1-01", "2023-01-+1",
        "2023- 1-01",  "2023-01- 1",          "2023_01_01", "12023-01-01",
        "2023-01-01Z", "2023-01-01T00:00:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t d = 777;
        if (parse_str(bad[i], &d))
            fail_msg("civil_parse accepted \"%s\"", bad[i]);
        assert_int_equal(d, 777);
    }
}

static void test_parse_uses_len(void **state)
{
    (void)state;
    int32_t d = 777;
    /* The length given is what counts, not the NUL. */
    assert_true(civil_parse("2024-02-29trailing", 10, &d));
    assert_int_equal(d, ymd(2024, 2, 29));
    d = 777;
    assert_false(civil_parse("2024-02-29", 9, &d));
    assert_false(civil_parse("2024-02-29", 11, &d));
    assert_false(civil_parse("2024-02-29", 0, &d));
    assert_false(civil_parse(NULL, 10, &d));
    /* An embedded NUL inside the ten bytes is rejected. */
    assert_false(civil_parse("2024-02-2\0", 10, &d));
    assert_false(civil_parse("2024\0002-29", 10, &d));
    assert_int_equal(d, 777);
}

static void test_round_trip_every_day(void **state)
{
    (void)state;
    int y = 1900, m = 1, dd = 1;
    int32_t n = DAY_1900_01_01;
    long count = 0;
    char buf[CIVIL_DATE_LEN + 8];
    char want[32];

    for (;;) {
        int32_t got = civil_from_ymd(y, m, dd);
        if (got != n)
            fail_msg("civil_from_ymd(%d, %d, %d) = %ld, want %ld", y, m, dd, (long)got, (long)n);

        int gy = -1, gm = -1, gd = -1;
        civil_to_ymd(n, &gy, &gm, &gd);
        if (gy != y || gm != m || gd != dd)
            fail_msg("civil_to_ymd(%ld) = %d-%d-%d, want %d-%d-%d", (long)n, gy, gm, gd, y, m, dd);

        memset(buf, 'X', sizeof buf);
        civil_format(n, buf);
        snprintf(want, sizeof want, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
                 (unsigned)dd % 100u);
        if (strcmp(buf, want) != 0)
            fail_msg("civil_format(%ld) = \"%s\", want \"%s\"", (long)n, buf, want);
        assert_int_equal(buf[CIVIL_DATE_LEN], '\0');
        assert_int_equal(buf[CIVIL_DATE_LEN + 1], 'X'); /* writes exactly 11 bytes */

        int32_t parsed = 0;
        if (!civil_parse(buf, strlen(buf), &parsed) || parsed != n)
            fail_msg("civil_parse(\"%s\") did not give %ld", buf, (long)n);

        count++;
        if (y == 2200 && m == 12 && dd == 31)
            break;
        n++;
        if (++dd > ref_mdays(y, m)) {
            dd = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    /* 301 years, 73 leap years in 1900..2200 (1900, 2100, 2200 are not leap; 2000 is). */
    assert_int_equal(count, 301L * 365 + 73);
    assert_int_equal(n, civil_from_ymd(2200, 12, 31));
}

static void test_leap_rules(void **state)
{
    (void)state;
    assert_true(civil_is_leap(2024));
    assert_true(civil_is_leap(2000));
    assert_true(civil_is_leap(1600));
    assert_true(civil_is_leap(1904));
    assert_false(civil_is_leap(2023));
    assert_false(civil_is_leap(1900));
    assert_false(civil_is_leap(2100));
    assert_false(civil_is_leap(2200));
    assert_false(civil_is_leap(2300));
    assert_true(civil_is_leap(2400));
    for (int y = 1800; y <= 2500; y++)
        if (civil_is_leap(y) != ref_leap(y))
            fail_msg("civil_is_leap(%d) disagrees with the reference", y);
}

static void test_days_in_month(void **state)
{
    (void)state;
    static const int common[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int m = 1; m <= 12; m++) {
        assert_int_equal(civil_days_in_month(2023, m), common[m - 1]);
        assert_int_equal(civil_days_in_month(2024, m), m == 2 ? 29 : common[m - 1]);
    }
    assert_int_equal(civil_days_in_month(1900, 2), 28);
    assert_int_equal(civil_days_in_month(2000, 2), 29);
    assert_int_equal(civil_days_in_month(2100, 2), 28);
    assert_int_equal(civil_days_in_month(2023, 0), 0);
    assert_int_equal(civil_days_in_month(2023, 13), 0);
    assert_int_equal(civil_days_in_month(2023, -1), 0);
}

static void test_birthday(void **state)
{
    (void)state;
    /* civil_birthday(born by-bm-bd, age) is wy-wm-wd. */
    const struct {
        int by, bm, bd, age, wy, wm, wd;
    } c[] = {
        {2005, 6, 15, 18, 2023, 6, 15}, /* Normal case. */
        {2005, 12, 31, 18, 2023, 12, 31},
        {2005, 1, 1, 18, 2023, 1, 1},
        {2005, 3, 1, 18, 2023, 3, 1},
        {2005, 6, 15, 0, 2005, 6, 15},
        {2004, 2, 29, 18, 2022, 3, 1}, /* 29 Feb: 1 Mar if common, 29 Feb if leap. */
        {2004, 2, 29, 20, 2024, 2, 29},
        {2004, 2, 29, 1, 2005, 3, 1},
        {2004, 2, 29, 4, 2008, 2, 29},
        {2000, 2, 29, 100, 2100, 3, 1}, /* 2100 is not a leap year. */
        {1996, 2, 29, 104, 2100, 3, 1},
        {2004, 2, 28, 18, 2022, 2, 28}, /* 28 February stays 28 February. */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        assert_int_equal(civil_birthday(ymd(c[i].by, c[i].bm, c[i].bd), c[i].age),
                         ymd(c[i].wy, c[i].wm, c[i].wd));
    /* The day before the 18th birthday is still 17. */
    assert_true(ymd(2022, 2, 28) < civil_birthday(ymd(2004, 2, 29), 18));
}

/* Month starts: civil_month_start(day) is start and civil_next_month_start(day) is next. */
static void test_month_starts(void **state)
{
    (void)state;
    const struct {
        int32_t day, start, next;
    } c[] = {
        {ymd(2023, 5, 17), ymd(2023, 5, 1), ymd(2023, 6, 1)},
        {ymd(2023, 5, 1), ymd(2023, 5, 1), ymd(2023, 6, 1)},
        {ymd(2023, 5, 31), ymd(2023, 5, 1), ymd(2023, 6, 1)},
        {ymd(2024, 2, 29), ymd(2024, 2, 1), ymd(2024, 3, 1)},
        {ymd(2023, 2, 28), ymd(2023, 2, 1), ymd(2023, 3, 1)},
        /* December rolls over into January of the next year. */
        {ymd(2023, 12, 1), ymd(2023, 12, 1), ymd(2024, 1, 1)},
        {ymd(2023, 12, 31), ymd(2023, 12, 1), ymd(2024, 1, 1)},
        {ymd(1999, 12, 15), ymd(1999, 12, 1), ymd(2000, 1, 1)},
        {ymd(2024, 1, 1), ymd(2024, 1, 1), ymd(2024, 2, 1)},
        {ymd(2024, 1, 31), ymd(2024, 1, 1), ymd(2024, 2, 1)},
        {0, 0, ymd(1970, 2, 1)},
        {-1, ymd(1969, 12, 1), 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        assert_int_equal(civil_month_start(c[i].day), c[i].start);
        assert_int_equal(civil_next_month_start(c[i].day), c[i].next);
    }
}

static void test_month_bounds_every_day(void **state)
{
    (void)state;
    /* For each day of 1999..2001: start <= day < next start and the month is [start, next). */
    for (int32_t d = ymd(1999, 1, 1); d <= ymd(2001, 12, 31); d++) {
        int y, m, dd;
        civil_to_ymd(d, &y, &m, &dd);
        int32_t s = civil_month_start(d);
        int32_t e = civil_next_month_start(d);
        if (s != d - (dd - 1) || e - s != ref_mdays(y, m))
            fail_msg("month bounds wrong for %d-%02d-%02d", y, m, dd);
    }
}

UNIT_MAIN({
    cmocka_unit_test(test_epoch_anchors),
    cmocka_unit_test(test_parse_valid),
    cmocka_unit_test(test_parse_invalid_calendar),
    cmocka_unit_test(test_parse_invalid_syntax),
    cmocka_unit_test(test_parse_uses_len),
    cmocka_unit_test(test_round_trip_every_day),
    cmocka_unit_test(test_leap_rules),
    cmocka_unit_test(test_days_in_month),
    cmocka_unit_test(test_birthday),
    cmocka_unit_test(test_month_starts),
    cmocka_unit_test(test_month_bounds_every_day),
});
