/* harness: what the C integration test programs share (test_api, test_ledger, test_payments,
 * test_payment_bounds); the one harness of the C integration tests (unit tests use cmocka).
 *
 * - the fixture's environment: $RB_FIXTURE/env, KEY=VALUE lines written by tests/fixture/up.sh;
 * - a per-test memory pool: everything a test allocates through kstrf(), keep_str(), keep_json()
 *   or the HTTP helpers is released after the test, pass or fail;
 * - failure reporting: a test is a `bool (*)(void)`; CHECK/TRY/EXPECT_* return false from it with
 *   the reason in g_why;
 * - HTTPS requests with libcurl, verified against RB_CA (peer and host), one at a time (http(),
 *   GET(), POST()) or many at once (prepare() + multi_run());
 * - JSON helpers and checks of placements as proto/openapi.yaml shapes them;
 * - the runner: harness_main() prints `1..N`, then `ok N - name` or `not ok N - name: why` per
 *   test, then `P passed, F failed`, and returns the exit status (non-zero when any failed).
 */
#ifndef RB_TEST_HARNESS_H
#define RB_TEST_HARNESS_H

#include <curl/curl.h>
#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------------------------ */
/* Environment                                                                                */

struct rb_env {
    char *url, *ca, *admin, *w1480, *w1481, *r1480, *rstar, *pg_stop, *pg_start;
    char *daemon_pid; /* optional: RB_DAEMON_PID */
    char *conf;       /* optional: RB_CONF */
    char *proxy;      /* optional: $RB_PROXY_URL (ops/openapi-check proxy), plain HTTP */
    char dir[2048];   /* $RB_FIXTURE */
};
extern struct rb_env E;

/* Reads $RB_FIXTURE/env into E; false with the reason in `why` when a required key is missing. */
bool load_env(char *why, size_t whylen);
void free_env(void);

/* ------------------------------------------------------------------------------------------ */
/* Per-test memory pool                                                                       */

void pool_add(void *p, bool is_json);
json_t *keep_json(json_t *j);
char *keep_str(char *s);
void pool_drain(void);
char *kstrf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------------------------------ */
/* Failures                                                                                   */

extern char g_why[2048];

/* Records why the test failed (with the line, when > 0) and returns false. */
bool failf(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A helper failed and already explained why: add the caller's line. */
bool note_line(int line);

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return failf(__LINE__, __VA_ARGS__);                                                   \
    } while (0)
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if (!(expr))                                                                               \
            return note_line(__LINE__);                                                            \
    } while (0)

bool str_eq(const char *a, const char *b);
/* A short, printable rendering of a JSON value for messages. */
const char *dump(const json_t *v);

/* ------------------------------------------------------------------------------------------ */
/* HTTP                                                                                       */

struct resp {
    char what[200]; /* "METHOD path", for messages */
    long status;
    CURLcode cc;
    char curl_err[CURL_ERROR_SIZE];
    char *body; /* NUL-terminated, pooled */
    size_t len;
    json_t *json; /* parsed body, pooled; NULL when not JSON */
    char location[512];
    char retry_after[64];
    char content_type[128];
    char request_id[80]; /* X-Request-Id: every answer of the daemon has one, prism's own do not */
    double seconds;
};

struct xfer {
    CURL *h;
    struct curl_slist *hdrs;
    char *buf;
    size_t len, cap;
    char errbuf[CURL_ERROR_SIZE];
    struct resp *out;
    CURLcode cc;
    bool via_proxy;
};

extern CURL *g_easy; /* the handle of http() and friends */
/* With RB_PROXY_URL set, http() and friends send through that proxy (prism, checking every
 * request and answer against proto/openapi.yaml), except: when g_direct is set (a test that
 * needs exact timing or connection behaviour sets it; it is reset before each test), with
 * expect100, for multi_run()'s transfers, for bodies prism would not forward byte for byte, and
 * for /v1/exports/ (prism would re-encode the CP437 answer).
 * A request prism refuses is sent again directly, and the daemon must refuse it too (4xx). */
extern bool g_direct;
extern long g_timeout; /* seconds, for http() and friends */

/* The response body, made printable and cut short, for messages. */
const char *snip(const struct resp *r);
/* Sets up handle h for one request (path relative to RB_URL); the result lands in out when
 * finish() runs. */
void prepare(struct xfer *x, CURL *h, struct resp *out, const char *method, const char *path,
             const char *token, const char *body, size_t blen, const char *idem, bool expect100,
             long timeout_s);
/* Collects a finished transfer's result into its resp (x->cc must hold the transfer's result). */
void finish(struct xfer *x);
bool http_ex(const char *method, const char *path, const char *token, const char *body, size_t blen,
             const char *idem, bool expect100, struct resp *out);
bool http(const char *method, const char *path, const char *token, const char *body,
          const char *idem, struct resp *out);
bool GET(const char *path, const char *token, struct resp *out);
bool POST(const char *path, const char *token, const char *body, const char *idem,
          struct resp *out);
/* Runs prepared transfers all at once, one connection each; each one's result lands in its resp.
 * The handles are cleaned up. */
void multi_run(struct xfer *xs, size_t n);
/* URL-escapes s (pooled). */
const char *esc(const char *s);

/* ------------------------------------------------------------------------------------------ */
/* JSON and response checks                                                                   */

/* The string value of o[key], or NULL. */
const char *js(const json_t *o, const char *key);
bool is_json_type(const struct resp *r);
bool expect_status_at(int line, const struct resp *r, long status);
/* An error response: status, {"error":{"code","message","field"?}}, and the field if given. */
bool expect_error_at(int line, const struct resp *r, long status, const char *code,
                     const char *field);

#define EXPECT_STATUS(r, s)                                                                        \
    do {                                                                                           \
        if (!expect_status_at(__LINE__, (r), (s)))                                                 \
            return false;                                                                          \
    } while (0)
#define EXPECT_ERROR(r, s, code, field)                                                            \
    do {                                                                                           \
        if (!expect_error_at(__LINE__, (r), (s), (code), (field)))                                 \
            return false;                                                                          \
    } while (0)

bool all_digits(const char *s);
/* Ids are strings; numeric ones compare as numbers. */
int id_cmp(const char *a, const char *b);
/* RFC 3339 in UTC: YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00). */
bool looks_like_utc_timestamp(const char *s);
/* o[key] is the string want, or JSON null when want is NULL. */
bool field_is(int line, const json_t *o, const char *key, const char *want);

/* ------------------------------------------------------------------------------------------ */
/* Randomness and time                                                                        */

void random_bytes(unsigned char *b, size_t n);
/* A fresh dossier number: "T" and ten random digits (pooled). */
const char *new_dossier(void);
/* A fresh Idempotency-Key (pooled). */
const char *new_key(void);
/* Seconds on the monotonic clock. */
double now_s(void);

/* ------------------------------------------------------------------------------------------ */
/* Placements                                                                                 */

/* A placement request. former_uam: -1 leaves it out. */
struct pl {
    const char *dossier, *birth, *muni, *assigned, *moved_in;
    int former_uam;
};

/* What a placement must look like; NULL dates must be JSON null. */
struct pexp {
    const char *dossier, *birth, *muni, *assigned, *moved_in, *moved_out, *reason, *registered;
    int former_uam; /* 0, 1, or -1: only check it is a boolean */
    int n_events;   /* -1: do not check */
};

char *pl_body(const struct pl *p);
/* "/v1/placements/{id}{suffix}" (pooled). */
const char *ppath(const char *id, const char *suffix);
bool check_location(int line, const struct resp *r, const char *id);
json_t *find_event(const json_t *p, const char *type);
bool check_placement(int line, const json_t *p, const struct pexp *e);
/* POST /v1/placements expecting 201 and the placement as sent; returns it and its id. */
bool create_ok(const char *token, const struct pl *p, json_t **out, const char **id);
bool move_in(const char *token, const char *id, const char *date, const char *idem, struct resp *r);
bool move_out(const char *token, const char *id, const char *date, const char *reason,
              struct resp *r);
bool move_out_ok(const char *token, const char *id, const char *date, const char *reason);
/* Drives the transfers of m, then takes the next one that finished out of m: its handle, and its
 * result in *cc; NULL when none has finished (yet). */
CURL *multi_next_done(CURLM *m, CURLcode *cc);
/* o[key] into *out when it is a JSON array; else a failure at line naming key, with answer r. */
bool get_array(int line, const json_t *o, const char *key, const struct resp *r, json_t **out);
/* GET path with token expecting 200 and an array "items": the answer in *r, the array in *items. */
bool get_items(const char *path, const char *token, struct resp *r, json_t **items);
/* POST /v1/placements/search expecting 200 and `want` items (-1: any); returns the items. */
bool search(const char *token, const char *dossier, int want, json_t **items_out);
bool has_id(const json_t *items, const char *id);

/* ------------------------------------------------------------------------------------------ */
/* Runner                                                                                     */

struct test {
    const char *name;
    bool (*fn)(void);
};

/* Sets up curl and the environment, runs the tests in order, prints the results and cleans up.
 * Returns the process exit status. */
int harness_main(const struct test *tests, size_t n);

/* Civil dates as day numbers, independent of the daemon's own code. */
int32_t harness_days_from_civil(int y, int m, int d);
void harness_civil_from_days(int32_t z, int *y, int *m, int *d);
/* Day number of the Europe/Stockholm calendar day holding instant t. */
int32_t harness_stockholm_day(time_t t);
/* o[key] as an integer: false (out untouched) when it is not a JSON integer; jint0 gives 0. */
bool jint(const json_t *o, const char *key, long long *out);
long long jint0(const json_t *o, const char *key);

/* GET /v1/accruals/runs/{id} as admin: 1 found (*out set if out), 0 not found, -1 failed. */
int harness_run_get(long long id, json_t **out);
/* POST /v1/accruals/run as admin through `through` (YYYY-MM-DD), allowing 300 s: answered 200. */
bool harness_post_run(const char *through, struct resp *r);
/* The `through` of the latest done accrual run into out ("" when there is none). */
bool harness_latest_done_through(char *out, size_t n);

#endif
