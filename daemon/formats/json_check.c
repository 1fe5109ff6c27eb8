/* json_check: field-by-field validation so every 4xx names exactly what was wrong. */
#include "json_check.h"

#include "civil_date.h"
#include "json_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void jc_fail(struct jc_error *err, int status, const char *code, const char *field, const char *fmt,
             ...)
{
    va_list ap;
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

char *jc_error_json(const struct jc_error *err)
{
    return json_error_body(err->code, err->message, err->field[0] != '\0' ? err->field : NULL,
                           NULL);
}

bool jc_parse_object(const char *body, size_t len, json_t **out, struct jc_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        /* jansson quotes the input near the error, possibly cut inside a UTF-8 character or not
         * UTF-8 at all; the message must stay UTF-8 to become the JSON error. */
        for (char *p = je.text; *p != '\0'; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                *p = '?';
        jc_fail(err, 400, "malformed_json", NULL, "request body is not valid JSON: %s (at %d)",
                je.text, je.position);
        return false;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        jc_fail(err, 400, "malformed_json", NULL, "request body must be a JSON object");
        return false;
    }
    *out = root;
    return true;
}

bool jc_only_fields(json_t *obj, const char *const *allowed, struct jc_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (const char *const *a = allowed; *a != NULL; a++)
            if (strcmp(*a, key) == 0)
                known = true;
        if (!known) {
            char shown[sizeof err->field];
            size_t n = strlen(key);
            if (n >= sizeof shown) {
                /* Cut on a UTF-8 character boundary so the error stays valid JSON. */
                n = sizeof shown - 1;
                while (n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80)
                    n--;
            }
            memcpy(shown, key, n);
            shown[n] = '\0';
            jc_fail(err, 422, "unknown_field", shown, "unknown field '%s'", shown);
            return false;
        }
    }
    return true;
}

/* Absent or JSON null both count as "not given". */
static json_t *member(json_t *obj, const char *field, bool required, bool *present,
                      struct jc_error *err, bool *ok)
{
    json_t *v = json_object_get(obj, field);
    *ok = true;
    if (v == NULL || json_is_null(v)) {
        if (present)
            *present = false;
        if (required) {
            jc_fail(err, 422, "missing_field", field, "field '%s' is required", field);
            *ok = false;
        }
        return NULL;
    }
    if (present)
        *present = true;
    return v;
}

/* The 422 for a present field of the wrong type or value: "field 'f' must be <what>". */
static bool must_be(struct jc_error *err, const char *code, const char *field, const char *what)
{
    jc_fail(err, 422, code, field, "field '%s' must be %s", field, what);
    return false;
}

bool jc_get_string(json_t *obj, const char *field, bool required, size_t max_len, const char **out,
                   struct jc_error *err)
{
    bool ok;
    json_t *v = member(obj, field, required, NULL, err, &ok);
    *out = NULL;
    if (v == NULL)
        return ok;
    if (!json_is_string(v))
        return must_be(err, "invalid_field", field, "a string");
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0 || len > max_len || memchr(s, '\0', len) != NULL) {
        jc_fail(err, 422, "invalid_field", field, "field '%s' must be 1 to %zu characters", field,
                max_len);
        return false;
    }
    *out = s;
    return true;
}

/* A field whose value `parse` checks and stores: absent is fine unless required, a value parse
 * refuses is a 422 with `code` and "must be <what>". */
static bool get_parsed(json_t *obj, const char *field, bool required, bool *present,
                       struct jc_error *err, bool (*parse)(json_t *v, void *out), void *out,
                       const char *code, const char *what)
{
    bool ok;
    json_t *v = member(obj, field, required, present, err, &ok);
    if (v == NULL)
        return ok;
    return parse(v, out) || must_be(err, code, field, what);
}

static bool parse_date(json_t *v, void *out)
{
    return json_is_string(v) && civil_parse(json_string_value(v), json_string_length(v), out);
}

static bool parse_bool(json_t *v, void *out)
{
    if (!json_is_boolean(v))
        return false;
    *(bool *)out = json_is_true(v);
    return true;
}

bool jc_get_date(json_t *obj, const char *field, bool required, int32_t *out, bool *present,
                 struct jc_error *err)
{
    return get_parsed(obj, field, required, present, err, parse_date, out, "invalid_date",
                      "a real date as YYYY-MM-DD");
}

bool jc_get_bool(json_t *obj, const char *field, bool required, bool *out, bool *present,
                 struct jc_error *err)
{
    return get_parsed(obj, field, required, present, err, parse_bool, out, "invalid_field",
                      "true or false");
}

bool jc_get_int(json_t *obj, const char *field, bool required, int64_t min, int64_t max,
                int64_t *out, bool *present, struct jc_error *err)
{
    bool ok;
    json_t *v = member(obj, field, required, present, err, &ok);
    if (v == NULL)
        return ok;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        jc_fail(err, 422, "invalid_field", field, "field '%s' must be an integer from %lld to %lld",
                field, (long long)min, (long long)max);
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

bool jc_get_enum(json_t *obj, const char *field, bool required, const char *const *values,
                 const char **out, struct jc_error *err)
{
    const char *s;
    if (!jc_get_string(obj, field, required, 64, &s, err))
        return false;
    *out = NULL;
    if (s == NULL)
        return true;
    for (const char *const *v = values; *v != NULL; v++) {
        if (strcmp(*v, s) == 0) {
            *out = *v;
            return true;
        }
    }
    jc_fail(err, 422, "invalid_field", field, "field '%s' has a value that is not allowed", field);
    return false;
}

bool jc_get_municipality(json_t *obj, const char *field, bool required, char *out,
                         struct jc_error *err)
{
    const char *s;
    if (!jc_get_string(obj, field, required, 4, &s, err))
        return false;
    out[0] = '\0';
    if (s == NULL)
        return true;
    for (int i = 0; i < 4; i++) {
        if (s[i] < '0' || s[i] > '9') {
            jc_fail(err, 422, "invalid_field", field,
                    "field '%s' must be a four-digit municipality code such as \"1480\"", field);
            return false;
        }
    }
    if (strlen(s) != 4) {
        jc_fail(err, 422, "invalid_field", field,
                "field '%s' must be a four-digit municipality code such as \"1480\"", field);
        return false;
    }
    memcpy(out, s, 5);
    return true;
}
