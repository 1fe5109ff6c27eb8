/* api_params: the pure checks of path and query parameters the handlers share (no libevent, no
 * database), in rbcore so that unit tests and fuzzers reach them. */
#ifndef RB_API_PARAMS_H
#define RB_API_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

/* Positive decimal ids of at most 18 digits. */
bool api_id_valid(const char *id);
/* limit: absent → "100"; 1..1000 → copied; else false. */
bool api_limit_parse(const char *s, char *out, size_t outlen);
bool api_municipality_valid(const char *s);
/* RFC 3339 with a zone: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), every field in range (a zone of at
 * most ±15:59, what PostgreSQL takes); a '+' that arrived as a space in the query string is put
 * back. */
bool api_timestamp_valid(char *s);
/* A list cursor as the client sent it back: 1..64 visible ASCII bytes (the database checks the
 * rest; bytes that are not UTF-8 would make the statement itself fail). */
bool api_cursor_valid(const char *s);
/* A query parameter's name as an error message may show it: at most `max` bytes, anything but
 * printable ASCII as '?', so that the message stays valid UTF-8 (and JSON). out holds max + 1. */
void api_param_name_shown(const char *name, char *out, size_t max);

#endif
