/* Unit tests for json_check: body parsing, field whitelisting, typed getters, error JSON. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "json_check.h"
#include "json_error.h"

static void clear_err(struct jc_error *err)
{
    memset(err, 0, sizeof *err);
}

/* Parses `body` with jc_parse_object, asserting success. */
static json_t *parse_ok(const char *body)
{
    struct jc_error err;
    json_t *obj = NULL;
    clear_err(&err);
    if (!jc_parse_object(body, strlen(body), &obj, &err))
        fail_msg("jc_parse_object(%s) failed: %s: %s", body, err.code, err.message);
    assert_non_null(obj);
    assert_true(json_is_object(obj));
    return obj;
}

static void expect_malformed(const char *body, size_t len)
{
    struct jc_error err;
    json_t *obj = NULL;
    clear_err(&err);
    if (jc_parse_object(body, len, &obj, &err)) {
        json_decref(obj);
        fail_msg("jc_parse_object accepted %.*s", (int)len, body);
    }
    assert_null(obj);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, "malformed_json");
    assert_string_equal(err.field, "");
    assert_true(err.message[0] != '\0');
}

static void expect_err(const struct jc_error *err, int status, const char *code, const char *field)
{
    assert_int_equal(err->status, status);
    assert_string_equal(err->code, code);
    assert_string_equal(err->field, field);
    assert_true(err->message[0] != '\0');
}

static void test_parse_object_ok(void **state)
{
    (void)state;
    json_t *obj = parse_ok("{\"a\": 1, \"b\": \"x\", \"c\": [1, 2], \"d\": {\"e\": null}}");
    assert_int_equal(json_object_size(obj), 4);
    json_decref(obj);

    obj = parse_ok("  {}  \n");
    assert_int_equal(json_object_size(obj), 0);
    json_decref(obj);

    /* The length argument bounds the input: trailing bytes past len are ignored. */
    struct jc_error err;
    json_t *o2 = NULL;
    clear_err(&err);
    const char *body = "{\"k\":true}garbage";
    assert_true(jc_parse_object(body, 10, &o2, &err));
    assert_true(json_is_true(json_object_get(o2, "k")));
    json_decref(o2);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "{",
        "}",
        "{\"a\":}",
        "{\"a\" 1}",
        "{'a': 1}",
        "{a: 1}",
        "{\"a\": 1,}",
        "{\"a\": 01}",
        "{\"a\": NaN}",
        "{\"a\": 1} {\"b\": 2}",
        "{\"a\": 1}x",
        "{\"a\": \"unterminated}",
        "{\"a\": tru}",
        "{\"a\": \"\\x41\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_malformed(bad[i], strlen(bad[i]));
    /* Invalid UTF-8 and an embedded NUL. */
    expect_malformed("{\"a\": \"\xff\"}", 9);
    expect_malformed("{\"a\": \"\xc3\"}", 9);
    expect_malformed("{\"a\":\0 1}", 9);
    expect_malformed("{\"a\": \"\\u0000\"}", strlen("{\"a\": \"\\u0000\"}"));
}

static void test_parse_non_object(void **state)
{
    (void)state;
    static const char *const bad[] = {"[]",   "[1, 2]", "1",     "\"str\"",
                                      "null", "true",   "false", "[{\"a\": 1}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_malformed(bad[i], strlen(bad[i]));
}

static void test_parse_duplicate_keys(void **state)
{
    (void)state;
    expect_malformed("{\"a\": 1, \"a\": 2}", strlen("{\"a\": 1, \"a\": 2}"));
    expect_malformed("{\"a\": 1, \"b\": 2, \"a\": 1}", strlen("{\"a\": 1, \"b\": 2, \"a\": 1}"));
    /* Same key after unescaping. */
    expect_malformed("{\"a\": 1, \"\\u0061\": 2}", strlen("{\"a\": 1, \"\\u0061\": 2}"));
    /* Duplicates inside nested objects too. */
    expect_malformed("{\"o\": {\"x\": 1, \"x\": 1}}", strlen("{\"o\": {\"x\": 1, \"x\": 1}}"));
}

static void test_only_fields(void **state)
{
    (void)state;
    static const char *const allowed[] = {"name", "born", "kommune", NULL};
    static const char *const none[] = {NULL};
    struct jc_error err;

    json_t *obj = parse_ok("{\"name\": \"A\", \"born\": \"2001-01-01\"}");
    clear_err(&err);
    assert_true(jc_only_fields(obj, allowed, &err));
    assert_int_equal(err.status, 0);
    json_decref(obj);

    obj = parse_ok("{}");
    assert_true(jc_only_fields(obj, none, &err));
    json_decref(obj);

    obj = parse_ok("{\"name\": \"A\", \"nickname\": \"B\"}");
    clear_err(&err);
    assert_false(jc_only_fields(obj, allowed, &err));
    expect_err(&err, 422, "unknown_field", "nickname");
    assert_non_null(strstr(err.message, "nickname"));
    json_decref(obj);

    /* Case matters. */
    obj = parse_ok("{\"Name\": \"A\"}");
    clear_err(&err);
    assert_false(jc_only_fields(obj, allowed, &err));
    expect_err(&err, 422, "unknown_field", "Name");
    json_decref(obj);

    /* A prefix of an allowed name is not allowed. */
    obj = parse_ok("{\"nam\": \"A\"}");
    clear_err(&err);
    assert_false(jc_only_fields(obj, allowed, &err));
    expect_err(&err, 422, "unknown_field", "nam");
    json_decref(obj);

    obj = parse_ok("{\"x\": 1}");
    clear_err(&err);
    assert_false(jc_only_fields(obj, none, &err));
    expect_err(&err, 422, "unknown_field", "x");
    json_decref(obj);
}

/* After a getter on a field of obj that is absent or null: a required one failed with 422
 * missing_field naming it; an optional one succeeded and recorded no error. */
static void expect_absent_outcome(bool ok, bool required, struct jc_error *err, const char *field)
{
    if (required) {
        assert_false(ok);
        expect_err(err, 422, "missing_field", field);
    } else {
        assert_true(ok);
        assert_int_equal(err->status, 0); /* no error recorded */
    }
    clear_err(err);
}

/* Every getter on obj, which lacks (or holds null in) name, born, flag, count, kind and kommune:
 * required, each fails as missing; optional, each succeeds. Both report "not given" (NULL
 * string, present false, empty municipality where the getter succeeds). */
static void expect_absent(json_t *obj, bool required)
{
    struct jc_error err;
    const char *s = "sentinel";
    int32_t d = 0;
    bool b = false, present = true;
    int64_t n = 0;
    char muni[5] = "zzzz";
    static const char *const vals[] = {"a", "b", NULL};

    clear_err(&err);
    expect_absent_outcome(jc_get_string(obj, "name", required, 100, &s, &err), required, &err,
                          "name");
    if (!required)
        assert_null(s);
    present = true;
    expect_absent_outcome(jc_get_date(obj, "born", required, &d, &present, &err), required, &err,
                          "born");
    assert_false(present);
    present = true;
    expect_absent_outcome(jc_get_bool(obj, "flag", required, &b, &present, &err), required, &err,
                          "flag");
    assert_false(present);
    present = true;
    expect_absent_outcome(jc_get_int(obj, "count", required, 0, 10, &n, &present, &err), required,
                          &err, "count");
    assert_false(present);
    s = "sentinel";
    expect_absent_outcome(jc_get_enum(obj, "kind", required, vals, &s, &err), required, &err,
                          "kind");
    if (!required)
        assert_null(s);
    expect_absent_outcome(jc_get_municipality(obj, "kommune", required, muni, &err), required, &err,
                          "kommune");
    if (!required)
        assert_string_equal(muni, "");
}

static void test_missing_field(void **state)
{
    (void)state;
    json_t *obj = parse_ok("{\"other\": 1}");
    expect_absent(obj, true);
    json_decref(obj);
}

static void test_optional_absent(void **state)
{
    (void)state;
    struct jc_error err;
    json_t *obj = parse_ok("{}");
    int32_t d = 0;
    bool b = false;
    int64_t n = 0;

    expect_absent(obj, false);
    /* present may be NULL. */
    clear_err(&err);
    assert_true(jc_get_int(obj, "count", false, 0, 10, &n, NULL, &err));
    assert_true(jc_get_date(obj, "born", false, &d, NULL, &err));
    assert_true(jc_get_bool(obj, "flag", false, &b, NULL, &err));
    assert_int_equal(err.status, 0); /* no error recorded */
    json_decref(obj);
}

static void test_null_is_absent(void **state)
{
    (void)state;
    json_t *obj = parse_ok("{\"name\": null, \"born\": null, \"flag\": null, \"count\": null, "
                           "\"kind\": null, \"kommune\": null}");
    /* Optional: null is "not given"; required: null is missing. */
    expect_absent(obj, false);
    expect_absent(obj, true);
    json_decref(obj);
}

static void test_get_string(void **state)
{
    (void)state;
    struct jc_error err;
    json_t *obj = parse_ok("{\"s\": \"hello\", \"e\": \"\", \"n\": 5, \"b\": true, \"a\": [\"x\"], "
                           "\"o\": {}, \"u\": \"\\u00e6\\u00f8\\u00e5\"}");
    const char *s = NULL;

    clear_err(&err);
    assert_true(jc_get_string(obj, "s", true, 5, &s, &err));
    assert_string_equal(s, "hello");

    clear_err(&err);
    assert_false(jc_get_string(obj, "s", true, 4, &s, &err)); /* too long */
    expect_err(&err, 422, "invalid_field", "s");

    clear_err(&err);
    assert_false(jc_get_string(obj, "e", true, 5, &s, &err)); /* empty */
    expect_err(&err, 422, "invalid_field", "e");

    static const char *const wrong[] = {"n", "b", "a", "o"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        clear_err(&err);
        assert_false(jc_get_string(obj, wrong[i], true, 100, &s, &err));
        expect_err(&err, 422, "invalid_field", wrong[i]);
        clear_err(&err);
        assert_false(jc_get_string(obj, wrong[i], false, 100, &s, &err));
        expect_err(&err, 422, "invalid_field", wrong[i]);
    }

    /* Length is counted in bytes (three two-byte characters). */
    clear_err(&err);
    assert_true(jc_get_string(obj, "u", true, 6, &s, &err));
    assert_string_equal(s, "\xc3\xa6\xc3\xb8\xc3\xa5");
    assert_false(jc_get_string(obj, "u", true, 5, &s, &err));
    json_decref(obj);
}

static void test_get_date(void **state)
{
    (void)state;
    struct jc_error err;
    json_t *obj = parse_ok("{\"ok\": \"2024-02-29\", \"feb29\": \"2023-02-29\", \"num\": 20230101, "
                           "\"short\": \"2023-1-01\", \"ts\": \"2023-01-01T00:00:00Z\", "
                           "\"b\": false, \"y1899\": \"1899-12-31\"}");
    int32_t d = 0;
    bool present = false;

    clear_err(&err);
    assert_true(jc_get_date(obj, "ok", true, &d, &present, &err));
    assert_true(present);
    assert_int_equal(d, civil_from_ymd(2024, 2, 29));

    static const char *const bad[] = {"feb29", "num", "short", "ts", "b", "y1899"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_err(&err);
        assert_false(jc_get_date(obj, bad[i], true, &d, &present, &err));
        expect_err(&err, 422, "invalid_date", bad[i]);
        clear_err(&err);
        assert_false(jc_get_date(obj, bad[i], false, &d, &present, &err));
        expect_err(&err, 422, "invalid_date", bad[i]);
    }
    json_decref(obj);
}

static void test_get_bool(void **state)
{
    (void)state;
    struct jc_error err;
    json_t *obj = parse_ok("{\"t\": true, \"f\": false, \"one\": 1, \"zero\": 0, \"s\": \"true\"}");
    bool b = false, present = false;

    clear_err(&err);
    assert_true(jc_get_bool(obj, "t", true, &b, &present, &err));
    assert_true(b);
    assert_true(present);
    assert_true(jc_get_bool(obj, "f", true, &b, &present, &err));
    assert_false(b);

    static const char *const bad[] = {"one", "zero", "s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_err(&err);
        assert_false(jc_get_bool(obj, bad[i], true, &b, &present, &err));
        expect_err(&err, 422, "invalid_field", bad[i]);
    }
    json_decref(obj);
}

static void test_get_int_bounds(void **state)
{
    (void)state;
    struct jc_error err;
    json_t *obj = parse_ok("{\"lo\": 0, \"hi\": 100, \"below\": -1, \"above\": 101, \"mid\": 42, "
                           "\"real\": 42.0, \"str\": \"42\", \"bool\": true, "
                           "\"big\": 9223372036854775807, \"neg\": -9223372036854775808}");
    int64_t n = -7;
    bool present = false;

    clear_err(&err);
    assert_true(jc_get_int(obj, "lo", true, 0, 100, &n, &present, &err));
    assert_int_equal(n, 0);
    assert_true(present);
    assert_true(jc_get_int(obj, "hi", true, 0, 100, &n, &present, &err));
    assert_int_equal(n, 100);
    assert_true(jc_get_int(obj, "mid", true, 0, 100, &n, &present, &err));
    assert_int_equal(n, 42);

    static const char *const bad[] = {"below", "above", "real", "str", "bool", "big", "neg"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = -7;
        clear_err(&err);
        if (jc_get_int(obj, bad[i], true, 0, 100, &n, &present, &err))
            fail_msg("jc_get_int accepted field %s", bad[i]);
        expect_err(&err, 422, "invalid_field", bad[i]);
        assert_int_equal(n, -7); /* untouched */
        assert_non_null(strstr(err.message, "0 to 100"));
    }

    /* Full int64 range. */
    clear_err(&err);
    assert_true(jc_get_int(obj, "big", true, INT64_MIN, INT64_MAX, &n, NULL, &err));
    assert_true(n == INT64_MAX);
    assert_true(jc_get_int(obj, "neg", true, INT64_MIN, INT64_MAX, &n, NULL, &err));
    assert_true(n == INT64_MIN);
    /* Negative ranges. */
    assert_true(jc_get_int(obj, "below", true, -1, -1, &n, NULL, &err));
    assert_true(n == -1);
    clear_err(&err);
    assert_false(jc_get_int(obj, "lo", true, -10, -1, &n, NULL, &err));
    expect_err(&err, 422, "invalid_field", "lo");
    json_decref(obj);

    /* Out of int64 range is not valid JSON for jansson: malformed. */
    expect_malformed("{\"x\": 9223372036854775808}", strlen("{\"x\": 9223372036854775808}"));
}

static void test_get_enum(void **state)
{
    (void)state;
    static const char *const vals[] = {"foster", "kinship", "residential", NULL};
    struct jc_error err;
    json_t *obj = parse_ok("{\"a\": \"kinship\", \"b\": \"Kinship\", \"c\": \"kin\", \"d\": 1, "
                           "\"e\": \"\", \"f\": \"kinship \"}");
    const char *s = NULL;

    clear_err(&err);
    assert_true(jc_get_enum(obj, "a", true, vals, &s, &err));
    /* Returns the table's own pointer, not the JSON's. */
    assert_ptr_equal(s, vals[1]);

    static const char *const bad[] = {"b", "c", "d", "e", "f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_err(&err);
        assert_false(jc_get_enum(obj, bad[i], true, vals, &s, &err));
        expect_err(&err, 422, "invalid_field", bad[i]);
    }
    json_decref(obj);
}

static void test_get_municipality(void **state)
{
    (void)state;
    struct jc_error err;
    json_t *obj = parse_ok("{\"ok\": \"1480\", \"zeros\": \"0101\", \"three\": \"148\", "
                           "\"five\": \"14800\", \"alpha\": \"14a0\", \"num\": 1480, "
                           "\"empty\": \"\", \"space\": \" 148\", \"sign\": \"-148\", "
                           "\"trail\": \"148 \", \"fullwidth\": \"\\uff11480\"}");
    char muni[5];

    memset(muni, 'z', sizeof muni);
    clear_err(&err);
    assert_true(jc_get_municipality(obj, "ok", true, muni, &err));
    assert_string_equal(muni, "1480");
    assert_true(jc_get_municipality(obj, "zeros", false, muni, &err));
    assert_string_equal(muni, "0101");

    static const char *const bad[] = {"three", "five", "alpha", "num",      "empty",
                                      "space", "sign", "trail", "fullwidth"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_err(&err);
        if (jc_get_municipality(obj, bad[i], true, muni, &err))
            fail_msg("jc_get_municipality accepted field %s (%s)", bad[i], muni);
        expect_err(&err, 422, "invalid_field", bad[i]);
        clear_err(&err);
        if (jc_get_municipality(obj, bad[i], false, muni, &err))
            fail_msg("jc_get_municipality accepted optional field %s (%s)", bad[i], muni);
        expect_err(&err, 422, "invalid_field", bad[i]);
    }
    json_decref(obj);
}

/* Parses the output of jc_error_json and checks it has exactly the expected members. */
static void check_error_json(const struct jc_error *err, bool with_field)
{
    char *s = jc_error_json(err);
    if (s == NULL)
        fail_msg("jc_error_json returned NULL for code=%s field=\"%s\" (%zu bytes) message=\"%s\"",
                 err->code, err->field, strlen(err->field), err->message);
    json_error_t je;
    json_t *root = json_loads(s, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        fail_msg("jc_error_json output does not parse: %s: %s", s, je.text);
    assert_true(json_is_object(root));
    assert_int_equal(json_object_size(root), 1);
    json_t *e = json_object_get(root, "error");
    assert_true(json_is_object(e));
    assert_string_equal(json_string_value(json_object_get(e, "code")), err->code);
    assert_string_equal(json_string_value(json_object_get(e, "message")), err->message);
    if (with_field) {
        assert_int_equal(json_object_size(e), 3);
        assert_string_equal(json_string_value(json_object_get(e, "field")), err->field);
    } else {
        assert_int_equal(json_object_size(e), 2);
        assert_null(json_object_get(e, "field"));
    }
    json_decref(root);
    free(s);
}

static void test_error_json(void **state)
{
    (void)state;
    struct jc_error err;

    clear_err(&err);
    jc_fail(&err, 422, "invalid_field", "amount", "field '%s' must be %d or more", "amount", 0);
    assert_int_equal(err.status, 422);
    assert_string_equal(err.message, "field 'amount' must be 0 or more");
    check_error_json(&err, true);

    /* A field-less error omits "field". */
    clear_err(&err);
    jc_fail(&err, 400, "malformed_json", NULL, "bad \"quoted\" \\ text\n");
    assert_string_equal(err.field, "");
    check_error_json(&err, false);

    /* Errors produced by the real code paths serialise too. */
    json_t *obj = NULL;
    clear_err(&err);
    assert_false(jc_parse_object("{\"a\": ", 6, &obj, &err));
    check_error_json(&err, false);

    /* Parse errors quoting non-ASCII input still serialise. */
    static const char *const utf8_bad[] = {
        "{\"a\": \xc3\xa6\xc3\xa6\xc3\xa6}",
        "{\"a\": \"\xc3\xa6\xc3\xa6\\q\"}",
        /* one element, in two pieces (the parentheses tell clang the concatenation is meant) */
        ("{\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\""
         ":"
         " x}"),
        "{\"\xc3\xa6\": 1, \"\xc3\xa6\": 2}",
        /* Found by tests/fuzz (fuzz_json_check): jansson's "invalid escape near '\"\\\xc3'" cut
         * the character, the message was not UTF-8, and the 400 became a 500. */
        "{\"\\\xc3\xa6\xb6x}",
        "{\"a\": \"\\\xc3\xa6\"}",
        "{\"a\": \xff}",
    };
    for (size_t i = 0; i < sizeof utf8_bad / sizeof utf8_bad[0]; i++) {
        clear_err(&err);
        assert_false(jc_parse_object(utf8_bad[i], strlen(utf8_bad[i]), &obj, &err));
        assert_string_equal(err.code, "malformed_json");
        check_error_json(&err, false);
    }

    obj = parse_ok("{\"x\": \"2023-02-29\"}");
    int32_t d;
    clear_err(&err);
    assert_false(jc_get_date(obj, "x", true, &d, NULL, &err));
    check_error_json(&err, true);
    json_decref(obj);

    /* Long messages are truncated but still NUL-terminated. */
    clear_err(&err);
    char longtext[400];
    memset(longtext, 'm', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    jc_fail(&err, 422, "invalid_field", "f", "%s", longtext);
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    check_error_json(&err, true);
}

/* json_error_body writes every JSON error of the API: the members in this order, compact, so
 * the bytes are the ones the API answered before it was the one writer. */
static void test_error_body_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *field;
        const char *details;
        const char *want;
    } cases[] = {
        {NULL, NULL, "{\"error\":{\"code\":\"c\",\"message\":\"m 'x' (y)\"}}"},
        {"f", NULL, "{\"error\":{\"code\":\"c\",\"message\":\"m 'x' (y)\",\"field\":\"f\"}}"},
        {NULL, "{\"lines\":[],\"errors_total\":0}",
         "{\"error\":{\"code\":\"c\",\"message\":\"m 'x' (y)\",\"details\":{\"lines\":[],"
         "\"errors_total\":0}}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *details = cases[i].details ? json_loads(cases[i].details, 0, NULL) : NULL;
        char *s = json_error_body("c", "m 'x' (y)", cases[i].field, details);
        assert_non_null(s);
        assert_string_equal(s, cases[i].want);
        free(s);
    }
    assert_null(json_error_body("c", "not UTF-8 \xff", NULL, NULL));
    struct strbuf b = {0};
    json_error_to(&b, "database_unavailable", "cannot check the Idempotency-Key; retry");
    assert_string_equal(strbuf_cstr(&b),
                        "{\"error\":{\"code\":\"database_unavailable\",\"message\":"
                        "\"cannot check the Idempotency-Key; retry\"}}");
    strbuf_free(&b);
}

static void test_unknown_field_long_name(void **state)
{
    (void)state;
    static const char *const allowed[] = {"a", NULL};
    struct jc_error err;

    /* A long ASCII key is reported (possibly shortened) and the error serialises. */
    char body[256];
    char key[121];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    snprintf(body, sizeof body, "{\"%s\": 1}", key);
    json_t *obj = parse_ok(body);
    clear_err(&err);
    assert_false(jc_only_fields(obj, allowed, &err));
    assert_string_equal(err.code, "unknown_field");
    assert_true(strlen(err.field) > 0);
    assert_true(strncmp(err.field, key, strlen(err.field)) == 0);
    json_decref(obj);
    check_error_json(&err, true);

    /* A long non-ASCII key: whatever shortening happens must still give valid UTF-8, or the
     * error response cannot be produced at all. 30 x U+00E6 is 60 bytes. */
    char ukey[61];
    for (int i = 0; i < 30; i++) {
        ukey[2 * i] = '\xc3';
        ukey[2 * i + 1] = '\xa6';
    }
    ukey[60] = '\0';
    snprintf(body, sizeof body, "{\"%s\": 1}", ukey);
    obj = parse_ok(body);
    clear_err(&err);
    assert_false(jc_only_fields(obj, allowed, &err));
    json_decref(obj); /* err holds its own copy of the name */
    assert_string_equal(err.code, "unknown_field");
    assert_true(strlen(err.field) > 0);
    check_error_json(&err, true);
}

UNIT_MAIN({
    cmocka_unit_test(test_parse_object_ok),
    cmocka_unit_test(test_parse_malformed),
    cmocka_unit_test(test_parse_non_object),
    cmocka_unit_test(test_parse_duplicate_keys),
    cmocka_unit_test(test_only_fields),
    cmocka_unit_test(test_missing_field),
    cmocka_unit_test(test_optional_absent),
    cmocka_unit_test(test_null_is_absent),
    cmocka_unit_test(test_get_string),
    cmocka_unit_test(test_get_date),
    cmocka_unit_test(test_get_bool),
    cmocka_unit_test(test_get_int_bounds),
    cmocka_unit_test(test_get_enum),
    cmocka_unit_test(test_get_municipality),
    cmocka_unit_test(test_error_json),
    cmocka_unit_test(test_error_body_bytes),
    cmocka_unit_test(test_unknown_field_long_name),
});
