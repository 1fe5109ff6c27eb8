/* json_check: strict validation of JSON request bodies, with the failing field named. */
#ifndef RB_JSON_CHECK_H
#define RB_JSON_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jc_error {
    int status;    /* HTTP status: 400 malformed, 422 invalid */
    char code[48]; /* snake_case error code */
    char message[192];
    char field[64]; /* JSON path of the offending field, or "" */
};

/* Parses a body that must be one JSON object (UTF-8, no duplicate keys). Caller owns *out. */
bool jc_parse_object(const char *body, size_t len, json_t **out, struct jc_error *err);
/* Refuses any member not listed in the NULL-terminated `allowed`. */
bool jc_only_fields(json_t *obj, const char *const *allowed, struct jc_error *err);
/* Each getter: absent and !required → true with *present false (if present != NULL). */
bool jc_get_string(json_t *obj, const char *field, bool required, size_t max_len, const char **out,
                   struct jc_error *err);
bool jc_get_date(json_t *obj, const char *field, bool required, int32_t *out, bool *present,
                 struct jc_error *err);
bool jc_get_bool(json_t *obj, const char *field, bool required, bool *out, bool *present,
                 struct jc_error *err);
bool jc_get_int(json_t *obj, const char *field, bool required, int64_t min, int64_t max,
                int64_t *out, bool *present, struct jc_error *err);
bool jc_get_enum(json_t *obj, const char *field, bool required, const char *const *values,
                 const char **out, struct jc_error *err);
/* A municipality code: exactly four digits, as a string. */
bool jc_get_municipality(json_t *obj, const char *field, bool required, char *out,
                         struct jc_error *err);
void jc_fail(struct jc_error *err, int status, const char *code, const char *field, const char *fmt,
             ...) __attribute__((format(printf, 5, 6)));
/* Serialises {"error":{...}}; caller frees. */
char *jc_error_json(const struct jc_error *err);

#endif
