/* fuzz_json_check: the request-body checks of json_check.c on arbitrary bytes.
 *
 * Invariants: jc_parse_object accepts only one JSON object (a refusal is a 400 malformed_json);
 * jc_only_fields refuses exactly the objects with a member outside the list, naming it (cut to
 * a whole UTF-8 character); every getter either succeeds with a value of the promised shape
 * (strings 1..max bytes without NUL, dates that civil_format writes back to the same text,
 * integers within bounds, enum values from the list, municipality codes of four digits) or fails
 * with 422, a code and the field's name; every error serialises to JSON that parses back with the
 * same code and field. */
#include "fuzz_util.h"

#include "civil_date.h"
#include "json_check.h"

static void check_error(const struct jc_error *err, int status, const char *field)
{
    FUZZ_CHECK(err->status == status, "status %d, wanted %d", err->status, status);
    FUZZ_CHECK(err->code[0] != '\0' && err->message[0] != '\0', "empty code or message");
    if (field != NULL)
        FUZZ_CHECK(strcmp(err->field, field) == 0, "field '%s', wanted '%s'", err->field, field);
    char *text = jc_error_json(err);
    FUZZ_CHECK(text != NULL, "jc_error_json failed (code %s field '%s')", err->code, err->field);
    json_error_t je;
    json_t *back = json_loads(text, 0, &je);
    FUZZ_CHECK(back != NULL, "error JSON does not parse: %s", text);
    json_t *e = json_object_get(back, "error");
    FUZZ_CHECK(json_is_string(json_object_get(e, "code")) &&
                   strcmp(json_string_value(json_object_get(e, "code")), err->code) == 0,
               "code lost: %s", text);
    if (err->field[0] != '\0')
        FUZZ_CHECK(json_is_string(json_object_get(e, "field")) &&
                       strcmp(json_string_value(json_object_get(e, "field")), err->field) == 0,
                   "field lost: %s", text);
    json_decref(back);
    free(text);
}

static const char *const fields[] = {"a", "date", "n", "b", "s", "e", "municipality", NULL};
static const char *const enums[] = {"other", "left_country", "DAY_ADULT", NULL};

static void getters(json_t *obj, const char *name, bool required)
{
    struct jc_error err;
    json_t *v = json_object_get(obj, name);
    bool absent = v == NULL || json_is_null(v);
    const char *s;
    int32_t d;
    bool b, present;
    int64_t n;
    char muni[5] = "x";

    memset(&err, 0, sizeof err);
    if (jc_get_string(obj, name, required, 16, &s, &err)) {
        FUZZ_CHECK((s == NULL) == absent && !(absent && required), "string presence");
        if (s != NULL)
            FUZZ_CHECK(strlen(s) >= 1 && strlen(s) <= 16 && strlen(s) == json_string_length(v),
                       "string of %zu bytes", strlen(s));
    } else {
        check_error(&err, 422, name);
    }

    if (jc_get_date(obj, name, required, &d, &present, &err)) {
        FUZZ_CHECK(present == !absent && !(absent && required), "date presence");
        if (present) {
            char back[CIVIL_DATE_LEN + 1];
            civil_format(d, back);
            FUZZ_CHECK(json_is_string(v) && strcmp(back, json_string_value(v)) == 0 &&
                           json_string_length(v) == CIVIL_DATE_LEN,
                       "date '%s' taken as %s", json_string_value(v), back);
        }
    } else {
        check_error(&err, 422, name);
    }

    if (jc_get_bool(obj, name, required, &b, &present, &err)) {
        FUZZ_CHECK(present == !absent && !(absent && required), "bool presence");
        if (present)
            FUZZ_CHECK(json_is_boolean(v) && b == json_is_true(v), "bool");
    } else {
        check_error(&err, 422, name);
    }

    if (jc_get_int(obj, name, required, -1000, 1000000000000LL, &n, &present, &err)) {
        FUZZ_CHECK(present == !absent && !(absent && required), "int presence");
        if (present)
            FUZZ_CHECK(json_is_integer(v) && n == json_integer_value(v) && n >= -1000 &&
                           n <= 1000000000000LL,
                       "int %lld", (long long)n);
    } else {
        check_error(&err, 422, name);
    }

    if (jc_get_enum(obj, name, required, enums, &s, &err)) {
        FUZZ_CHECK((s == NULL) == absent, "enum presence");
        bool listed = s == NULL;
        for (size_t i = 0; !listed && enums[i] != NULL; i++)
            listed = s == enums[i];
        FUZZ_CHECK(listed, "enum value not from the list");
    } else {
        check_error(&err, 422, name);
    }

    if (jc_get_municipality(obj, name, required, muni, &err)) {
        if (absent)
            FUZZ_CHECK(muni[0] == '\0', "absent municipality gave '%s'", muni);
        else
            FUZZ_CHECK(strlen(muni) == 4 && strspn(muni, "0123456789") == 4 &&
                           strcmp(muni, json_string_value(v)) == 0,
                       "municipality '%s'", muni);
    } else {
        check_error(&err, 422, name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jc_error err;
    json_t *obj = NULL;
    memset(&err, 0, sizeof err);
    if (!jc_parse_object((const char *)data, size, &obj, &err)) {
        check_error(&err, 400, NULL);
        FUZZ_CHECK(strcmp(err.code, "malformed_json") == 0, "code %s", err.code);
        return 0;
    }
    FUZZ_CHECK(json_is_object(obj), "not an object");

    /* jc_only_fields: refuses exactly when a member is not listed. */
    const char *key;
    json_t *v;
    bool all_known = true;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (size_t i = 0; fields[i] != NULL; i++)
            known = known || strcmp(fields[i], key) == 0;
        all_known = all_known && known;
    }
    if (jc_only_fields(obj, fields, &err)) {
        FUZZ_CHECK(all_known, "an unknown member passed");
    } else {
        FUZZ_CHECK(!all_known, "refused although every member is known");
        check_error(&err, 422, NULL);
        FUZZ_CHECK(strcmp(err.code, "unknown_field") == 0, "code %s", err.code);
        FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)err.field, strlen(err.field)),
                   "field name cut inside a character");
        bool prefix = false;
        json_object_foreach(obj, key, v)
        {
            prefix = prefix || strncmp(key, err.field, strlen(err.field)) == 0;
        }
        FUZZ_CHECK(prefix, "field '%s' is no member's name", err.field);
    }

    for (size_t i = 0; fields[i] != NULL; i++) {
        getters(obj, fields[i], false);
        getters(obj, fields[i], true);
    }
    json_decref(obj);
    return 0;
}
