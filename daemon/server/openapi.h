/* openapi: the API description (proto/openapi.yaml) as compact JSON, converted and embedded at
 * build time by tools/openapi_embed.py (cmake/openapi.cmake, library rbopenapi); served at
 * GET /v1/openapi.json. */
#ifndef RB_OPENAPI_H
#define RB_OPENAPI_H

/* The JSON document, UTF-8, NUL-terminated. */
extern const char openapi_json[];
/* Its length in bytes, without the NUL. */
extern const unsigned long openapi_json_len;

#endif
