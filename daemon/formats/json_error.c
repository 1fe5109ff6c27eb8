/* json_error: the API's error body, built in one place. */
#include "json_error.h"

#include <stdbool.h>
#include <stdlib.h>

const char json_error_oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"\"}}";

/* field and details go in only when given, after code and message: the member order is part of
 * the bytes the API answers. */
char *json_error_body(const char *code, const char *message, const char *field, json_t *details)
{
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    bool ok = err != NULL;
    if (ok && field != NULL)
        ok = json_object_set_new(err, "field", json_string(field)) == 0;
    if (ok && details != NULL)
        ok = json_object_set(err, "details", details) == 0;
    json_decref(details);
    json_t *root = ok ? json_pack("{s:o}", "error", err) : NULL;
    if (!ok)
        json_decref(err);
    char *s = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}

void json_error_to(struct strbuf *b, const char *code, const char *message)
{
    char *s = json_error_body(code, message, NULL, NULL);
    strbuf_str(b, s != NULL ? s : json_error_oom);
    free(s);
}
