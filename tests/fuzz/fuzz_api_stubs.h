/* fuzz_api_stubs: stand-ins for http.c and db.c so that the daemon's api*.c handlers run inside
 * a fuzzer: a request is built from the input, api_handle routes, authenticates (the stand-in pool
 * answers the token lookup with a client of the asked role and scope), checks and decodes it;
 * every statement it would send is checked against what the API contract allows (parameter
 * shapes, the client's scope, the role the statement needs) and answered with DB_BUSY, so the
 * request ends in a 503 from the daemon's own code. Replies are checked too: exactly one per
 * request, a known status, a JSON error body that jansson could build. */
#ifndef RB_FUZZ_API_STUBS_H
#define RB_FUZZ_API_STUBS_H

#include "api.h"

#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>

#define FUZZ_API_MAX_SUBMITS 4

struct fuzz_request {
    enum evhttp_cmd_type method;
    const char *target;  /* path and query, as on the request line */
    const char *headers; /* "Name: value\n" lines, or NULL */
    const char *body;
    size_t body_len;
    enum api_role role; /* the client the token belongs to */
    const char *scope;  /* "*" or a municipality code */
    bool no_auth;       /* leave out the Authorization header */
};

struct fuzz_outcome {
    int replies;
    int status;
    char *body;      /* the last reply's body, NUL-terminated */
    char allow[128]; /* the Allow header, if one was added */
    int submits;     /* statements other than the token lookup */
    char stmt[48];   /* the last of them */
    const char *op;  /* for rb_post: the operation */
    json_t *args;    /* for rb_post: the operation's input */
};

/* Parses the target as evhttp does (EVHTTP_URI_NONCONFORMANT: raw bytes of 0x80 and more reach
 * the handlers; false: evhttp would refuse it before any handler), runs the
 * request to its reply and fills out (fuzz_outcome_free afterwards). */
bool fuzz_api_run(const struct fuzz_request *rq, struct fuzz_outcome *out);
void fuzz_outcome_free(struct fuzz_outcome *out);

/* Whether the contract accepts rq's body as the input of op (for the routes whose body is the
 * operation's input; path_id: the id the path adds, or NULL), role and scope included. */
bool fuzz_post_acceptable(const struct fuzz_request *rq, const char *op, const char *path_id);

/* Canonical "YYYY-MM-DD" of a real date. */
bool fuzz_is_date(const char *s);
bool fuzz_is_muni(const char *s);
/* RFC 3339 with a zone, as the API's timestamp parameters take it. */
bool fuzz_is_timestamp(const char *s);

#endif
