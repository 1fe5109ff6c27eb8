/* fuzz_api_body: the body of every POST route through the daemon's own handlers (api_handle with
 * http.c and db.c stood in for by fuzz_api_stubs.c), up to the statement and parameters that
 * would go to PostgreSQL.
 *
 * Input: byte 0 picks the route, byte 1 the client (role, scope), an Idempotency-Key and the
 * path's id; the rest is the body. fuzz_api_stubs.c checks every statement against the contract
 * (each member of the operation's input has the allowed shape, dates are real and canonical,
 * municipalities are the client's own when it is scoped, the role suffices) and every reply
 * (exactly one, a known status, a JSON error). Here: a body that is not one JSON object is a 400
 * (415/422 for the CSV import), a client without the role gets 403 and no statement, a write that
 * moves money without an Idempotency-Key gets 428 and no statement, and a request
 * that reached the database stand-in ends in its 503; and for the routes whose body is the
 * operation's input, a body the contract accepts (fuzz_post_acceptable) does reach it. */
#include "fuzz_util.h"

#include "fuzz_api_stubs.h"

static const struct {
    const char *path; /* %s: the id */
    enum api_role role;
    bool csv;
    const char *op; /* when the body (with the path's id) is the operation's input as it is */
} routes[] = {
    {"/v1/placements", ROLE_WRITE, false, "placement_create"},
    {"/v1/placements/search", ROLE_READ, false, "placement_search"},
    {"/v1/placements/%s/move-in", ROLE_WRITE, false, "placement_move_in"},
    {"/v1/placements/%s/move-out", ROLE_WRITE, false, "placement_move_out"},
    {"/v1/placements/%s/corrections", ROLE_WRITE, false, NULL},
    {"/v1/rates", ROLE_ADMIN, false, "rate_create"},
    {"/v1/allocations", ROLE_WRITE, false, "allocation_create"},
    {"/v1/accruals/run", ROLE_ADMIN, false, NULL},
    {"/v1/payments", ROLE_WRITE, false, NULL},
    {"/v1/payments/import", ROLE_WRITE, true, NULL},
};
#define NROUTES (sizeof routes / sizeof routes[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    size_t ri = fuzz_u8(&in) % NROUTES;
    uint8_t f = fuzz_u8(&in);
    char target[96];
    snprintf(target, sizeof target, routes[ri].path, f & 16 ? "0x2a" : "42");
    char headers[160] = "";
    bool money = ri >= 5; /* the writes that move money need a key: 428 without one */
    bool keyed = (f & 8) || (money && (f & 64));
    if (keyed)
        strcat(headers, "Idempotency-Key: fuzz-key-1\n");
    if (routes[ri].csv)
        strcat(headers, f & 32 ? "Content-Type: application/json\n" : "Content-Type: text/csv\n");
    struct fuzz_request rq = {EVHTTP_REQ_POST,      target, headers,
                              (const char *)in.p,   in.n,   (enum api_role)(f & 3),
                              f & 4 ? "*" : "1480", false};
    /* The body as the server hands it over: NUL-terminated, the NUL not counted. */
    char *body = fuzz_cstr(in.p, in.n);
    rq.body = body;

    struct fuzz_outcome o;
    FUZZ_CHECK(fuzz_api_run(&rq, &o), "target %s refused", target);
    bool persons = ri <= 4;
    bool national = ri == 5 || ri == 7; /* rates and accrual runs: scope "*" only */
    bool may = rq.role >= routes[ri].role &&
               !(persons && rq.role == ROLE_READ && strcmp(rq.scope, "*") == 0) &&
               !(national && strcmp(rq.scope, "*") != 0);
    if (!may) {
        FUZZ_CHECK(o.status == 403 && o.submits == 0, "role %d scope %s on %s: %d", rq.role,
                   rq.scope, target, o.status);
    } else if (money && !keyed) {
        FUZZ_CHECK(o.status == 428 && o.submits == 0, "%s without a key: %d", target, o.status);
    } else if (o.submits > 0) {
        FUZZ_CHECK(o.status == 503, "%s reached the database but replied %d", target, o.status);
    } else if (ri == 7 && o.status == 503) {
        /* the accrual run's worker could not connect: the body was good */
    } else {
        FUZZ_CHECK(o.status == 400 || o.status == 403 || o.status == 404 || o.status == 415 ||
                       o.status == 422,
                   "%s: status %d without a statement: %s", target, o.status, o.body);
        if (!routes[ri].csv) {
            json_error_t je;
            json_t *j = json_loadb(body, in.n, JSON_REJECT_DUPLICATES, &je);
            if (!json_is_object(j))
                FUZZ_CHECK(o.status == 400 || o.status == 404, "%s: a body that is no object: %d",
                           target, o.status);
            json_decref(j);
        }
    }
    /* The other way round: a body the contract accepts must reach the database. */
    if (may && routes[ri].op != NULL && !(f & 16) && (keyed || !money)) {
        bool with_id = strstr(routes[ri].path, "%s") != NULL;
        if (fuzz_post_acceptable(&rq, routes[ri].op, with_id ? "42" : NULL))
            FUZZ_CHECK(o.submits == 1 && o.status == 503, "%s: a good body was refused: %d %s",
                       target, o.status, o.body);
    }
    if (o.status == 200)
        FUZZ_CHECK(0, "%s: 200 without a database", target);
    fuzz_outcome_free(&o);
    free(body);
    return 0;
}
