/* json_error: the one writer of the API's error body, {"error":{"code","message"[,"field"]
 * [,"details"]}}. Every JSON error the daemon sends (handlers, auth, the HTTP layer's own 413 and
 * 503, accrual runs, JSON checks) is made here, so its shape is defined once. */
#ifndef RB_JSON_ERROR_H
#define RB_JSON_ERROR_H

#include "strbuf.h"

#include <jansson.h>

/* The body when there is no memory to make another: 500 internal with an empty message. */
extern const char json_error_oom[];

/* The compact JSON body; field may be NULL, details (taken over, may be NULL) is any JSON value.
 * malloc'd; NULL when out of memory or when a text is not UTF-8. */
char *json_error_body(const char *code, const char *message, const char *field, json_t *details);
/* Appends json_error_body's body without field or details to b (json_error_oom if it fails). */
void json_error_to(struct strbuf *b, const char *code, const char *message);

#endif
