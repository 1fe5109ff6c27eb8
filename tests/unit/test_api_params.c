/* Unit tests for api_params: ids, limits, municipality codes, cursors, RFC 3339 timestamps and
 * the shown names of query parameters. The regressions here were found by tests/fuzz
 * (fuzz_api_request). */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "api_params.h"

static bool ts(const char *s)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    return api_timestamp_valid(buf);
}

static void test_timestamp_valid(void **state)
{
    (void)state;
    assert_true(ts("2024-05-01T12:00:00Z"));
    assert_true(ts("2024-05-01t12:00:00z"));
    assert_true(ts("2024-05-01T12:00:00.123456+02:00"));
    assert_true(ts("2024-05-01T23:59:60-15:59"));
    assert_true(ts("2024-02-29T00:00:00+00:00"));
    /* '+' that arrived as a space is put back */
    char sp[] = "2024-05-01T12:00:00 02:00";
    assert_true(api_timestamp_valid(sp));
    assert_string_equal(sp, "2024-05-01T12:00:00+02:00");
}

/* Found by fuzz_api_request: these passed the check and reached PostgreSQL's ::timestamptz,
 * which refuses them, so the client got a 500 instead of a 400. */
static void test_timestamp_fields_in_range(void **state)
{
    (void)state;
    assert_false(ts("2424-05-01T12:00:00.1233+0::00")); /* the fuzzer's own find */
    assert_false(ts("2024-05-01T12:00:00+0:000"));
    assert_false(ts("2024-05-01T12:00:00+:0000"));
    assert_false(ts("2024-05-01T24:00:00Z"));
    assert_false(ts("2024-05-01T99:99:99Z"));
    assert_false(ts("2024-05-01T12:60:00Z"));
    assert_false(ts("2024-05-01T12:00:61Z"));
    assert_false(ts("2024-05-01T12:00:00+16:00"));
    assert_false(ts("2024-05-01T12:00:00+02:60"));
    assert_false(ts("2024-05-01T12:00:00.Z"));
    assert_false(ts("2024-02-30T12:00:00Z"));
    assert_false(ts("2024-05-01 12:00:00Z"));
    assert_false(ts("2024-05-01T12:00:00"));
    assert_false(ts("2024-05-01T12:00:00+02:00x"));
}

/* Found by fuzz_api_request: a cursor of bytes that are not UTF-8 (evhttp decodes %FF in a
 * value) reached PostgreSQL as text, which refuses it: a 500 instead of a 400. */
static void test_cursor(void **state)
{
    (void)state;
    assert_true(api_cursor_valid("12.0123456789abcdef"));
    assert_true(api_cursor_valid("eyJpZCI6MTJ9"));
    assert_false(api_cursor_valid(""));
    assert_false(api_cursor_valid("12.\xff"));
    assert_false(api_cursor_valid("12 34"));
    assert_false(api_cursor_valid("\x01"));
    char long_cursor[66];
    memset(long_cursor, '7', 65);
    long_cursor[65] = '\0';
    assert_false(api_cursor_valid(long_cursor));
    long_cursor[64] = '\0';
    assert_true(api_cursor_valid(long_cursor));
}

/* Found by fuzz_api_request: evhttp passes raw bytes of a query parameter's name through, and the
 * "unknown or repeated query parameter" message quoted them; a message that is not UTF-8 cannot
 * be put into the JSON error, so the client got a 500 "out of memory" instead of the 400. */
static void test_param_name_shown(void **state)
{
    (void)state;
    char out[41];
    api_param_name_shown("limit", out, 40);
    assert_string_equal(out, "limit");
    api_param_name_shown("\xff", out, 40);
    assert_string_equal(out, "?");
    api_param_name_shown("a\xc3\xa5\x01z", out, 40);
    assert_string_equal(out, "a???z");
    char name[100];
    memset(name, 'k', 99);
    name[99] = '\0';
    api_param_name_shown(name, out, 40);
    assert_int_equal(strlen(out), 40);
}

static void test_ids_limits_municipalities(void **state)
{
    (void)state;
    char limit[12];
    assert_true(api_id_valid("1"));
    assert_true(api_id_valid("999999999999999999"));
    assert_false(api_id_valid("0"));
    assert_false(api_id_valid("0123"));
    assert_false(api_id_valid("1234567890123456789"));
    assert_false(api_id_valid("12a"));
    assert_true(api_limit_parse(NULL, limit, sizeof limit));
    assert_string_equal(limit, "100");
    assert_true(api_limit_parse("1000", limit, sizeof limit));
    assert_string_equal(limit, "1000");
    assert_true(api_limit_parse("007", limit, sizeof limit));
    assert_string_equal(limit, "7");
    assert_false(api_limit_parse("0", limit, sizeof limit));
    assert_false(api_limit_parse("1001", limit, sizeof limit));
    assert_false(api_limit_parse("", limit, sizeof limit));
    assert_false(api_limit_parse("5x", limit, sizeof limit));
    assert_true(api_municipality_valid("1480"));
    assert_false(api_municipality_valid("148"));
    assert_false(api_municipality_valid("14800"));
    assert_false(api_municipality_valid(NULL));
}

UNIT_MAIN({
    cmocka_unit_test(test_timestamp_valid),
    cmocka_unit_test(test_timestamp_fields_in_range),
    cmocka_unit_test(test_cursor),
    cmocka_unit_test(test_param_name_shown),
    cmocka_unit_test(test_ids_limits_municipalities),
});
