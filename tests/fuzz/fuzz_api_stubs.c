/* fuzz_api_stubs: http.h and db.h for the fuzzers (see fuzz_api_stubs.h). */
#include "fuzz_api_stubs.h"

#include "fuzz_util.h"

#include "accrual.h"
#include "civil_date.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "json_error.h"
#include "log.h"
#include "payments_csv.h"
#include "token.h"

#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <sys/queue.h>

/* One token per (role, scope), as in the real clients table: the daemon caches token → client,
 * so a token must not change its client between inputs. */
static void fuzz_token(const struct fuzz_request *rq, char *out, size_t outlen)
{
    snprintf(out, outlen, "rb_%c%.4s%s", 'A' + (int)rq->role,
             strcmp(rq->scope, "*") == 0 ? "STAR" : rq->scope,
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

struct http_req {
    enum evhttp_cmd_type method;
    const char *path, *query;
    struct evkeyvalq headers;
    const char *body;
    size_t body_len;
    const char *route;
    void *data;
    const struct fuzz_request *rq;
    struct fuzz_outcome *out;
};

/* ---- http.h ---- */

bool http_server_client_certs(const struct http_server *s)
{
    (void)s;
    return false;
}

int http_server_open_connections(const struct http_server *s)
{
    (void)s;
    return 1;
}

int http_server_active_requests(const struct http_server *s)
{
    (void)s;
    return 1;
}

enum evhttp_cmd_type http_req_method(const struct http_req *r)
{
    return r->method;
}

const char *http_req_method_name(const struct http_req *r)
{
    return r->method == EVHTTP_REQ_GET ? "GET" : r->method == EVHTTP_REQ_POST ? "POST" : "OTHER";
}

const char *http_req_path(const struct http_req *r)
{
    return r->path != NULL && *r->path != '\0' ? r->path : "/";
}

const char *http_req_query(const struct http_req *r)
{
    return r->query;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
    return evhttp_find_header(&r->headers, name);
}

const char *http_req_body(struct http_req *r, size_t *len)
{
    *len = r->body_len;
    return r->body;
}

const char *http_req_id(const struct http_req *r)
{
    (void)r;
    return "fuzz";
}

bool http_req_peer_cert_sha256(const struct http_req *r, char *out)
{
    (void)r;
    (void)out;
    return false;
}

void http_req_set_route(struct http_req *r, const char *route)
{
    r->route = route;
}

void http_req_add_header(struct http_req *r, const char *name, const char *value)
{
    FUZZ_CHECK(r->out->replies == 0, "a header added after the reply");
    if (strcmp(name, "Allow") == 0)
        snprintf(r->out->allow, sizeof r->out->allow, "%s", value);
}

void http_req_set_client(struct http_req *r, const char *client)
{
    (void)r;
    (void)client;
}

void http_req_set_data(struct http_req *r, void *data)
{
    r->data = data;
}

void *http_req_data(const struct http_req *r)
{
    return r->data;
}

void http_reply_typed(struct http_req *r, int status, const char *content_type, const char *body,
                      size_t len)
{
    struct fuzz_outcome *o = r->out;
    FUZZ_CHECK(o->replies == 0, "a second reply (%d after %d) to %s", status, o->status,
               r->route ? r->route : http_req_path(r));
    FUZZ_CHECK(content_type != NULL, "no content type");
    o->replies++;
    o->status = status;
    o->body = malloc(len + 1);
    if (o->body == NULL)
        abort();
    if (len)
        memcpy(o->body, body, len);
    o->body[len] = '\0';
}

/* No statement answers in the fuzz build, so no streamed reply ever starts. */
struct http_stream *http_stream_start(struct http_req *r, int status, const char *content_type,
                                      http_stream_cb on_drain, http_stream_cb on_gone, void *arg)
{
    (void)r;
    (void)status;
    (void)content_type;
    (void)on_drain;
    (void)on_gone;
    (void)arg;
    FUZZ_CHECK(0, "a streamed reply without a statement's row");
    return NULL;
}

bool http_stream_write(struct http_stream *s, const void *p, size_t n)
{
    (void)s;
    (void)p;
    (void)n;
    return false;
}

void http_stream_end(struct http_stream *s)
{
    (void)s;
}

void http_stream_abort(struct http_stream *s, const char *why)
{
    (void)s;
    (void)why;
}

void http_reply(struct http_req *r, int status, const char *body, size_t len, const char *location,
                int retry_after_s)
{
    (void)location;
    (void)retry_after_s;
    http_reply_typed(r, status, "application/json; charset=utf-8", body, len);
}

/* As http.c builds them (json_error_body); a body that cannot be made there turns the reply into
 * a 500, which is a bug of whoever passed text that is not UTF-8. */
static void reply_error(struct http_req *r, int status, const char *code, const char *message,
                        const char *field, int retry_after_s)
{
    char *s = json_error_body(code, message, field, NULL);
    FUZZ_CHECK(s != NULL, "error reply %d %s cannot be JSON (not UTF-8?): %s / %s", status, code,
               message, field ? field : "-");
    http_reply(r, status, s, strlen(s), NULL, retry_after_s);
    free(s);
}

void http_reply_error_retry(struct http_req *r, int status, const char *code, const char *message,
                            int retry_after_s)
{
    reply_error(r, status, code, message, NULL, retry_after_s);
}

void http_reply_error(struct http_req *r, int status, const char *code, const char *message,
                      const char *field)
{
    reply_error(r, status, code, message, field, 0);
}

/* ---- checks of what would reach the database ---- */

static struct fuzz_outcome *current;
static const struct fuzz_request *current_rq;

bool fuzz_is_date(const char *s)
{
    int32_t d;
    char back[CIVIL_DATE_LEN + 1];
    if (s == NULL || !civil_parse(s, strlen(s), &d))
        return false;
    civil_format(d, back);
    return strcmp(back, s) == 0;
}

bool fuzz_is_muni(const char *s)
{
    return s != NULL && strlen(s) == 4 && strspn(s, "0123456789") == 4;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Two digits of at most max. */
static bool num2(const char *s, int max)
{
    return digits(s, 2) && (s[0] - '0') * 10 + (s[1] - '0') <= max;
}

/* RFC 3339 (date-time with a zone), the zone within what PostgreSQL takes (+-15:59). */
bool fuzz_is_timestamp(const char *s)
{
    size_t n = strlen(s), i = 19;
    char date[CIVIL_DATE_LEN + 1];
    if (n < 20 || n > 40)
        return false;
    memcpy(date, s, CIVIL_DATE_LEN);
    date[CIVIL_DATE_LEN] = '\0';
    if (!fuzz_is_date(date) || (s[10] != 'T' && s[10] != 't') || !num2(s + 11, 23) ||
        s[13] != ':' || !num2(s + 14, 59) || s[16] != ':' || !num2(s + 17, 60))
        return false;
    if (s[i] == '.') {
        if (!digits(s + i + 1, 1))
            return false;
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (s[i] == 'Z' || s[i] == 'z')
        return s[i + 1] == '\0';
    return (s[i] == '+' || s[i] == '-') && n - i == 6 && num2(s + i + 1, 15) && s[i + 3] == ':' &&
           num2(s + i + 4, 59);
}

static bool is_hex64(const char *s)
{
    return s != NULL && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static bool id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 18 && s[0] != '0' && strspn(s, "0123456789") == n;
}

static bool is_code(const char *s)
{
    enum accrual_code c;
    return s != NULL && accrual_code_parse(s, &c);
}

/* The contract's checks run in two modes: on what reaches the database a failure is a crash; when
 * fuzz_post_acceptable asks whether a body should be accepted, it is the answer. */
static jmp_buf soft_env;
static bool soft;
static json_t *soft_obj;
#define PCHECK(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (soft)                                                                              \
                longjmp(soft_env, 1);                                                              \
            FUZZ_CHECK(cond, __VA_ARGS__);                                                         \
        }                                                                                          \
    } while (0)

static bool all_scope(void)
{
    return strcmp(current_rq->scope, "*") == 0;
}

/* A municipality a statement reads or writes: for a scoped client only its own. */
static void check_muni(const char *what, const char *m, bool required)
{
    if (m == NULL) {
        PCHECK(!required && all_scope(), "%s: no municipality for a client scoped to %s", what,
               current_rq->scope);
        return;
    }
    PCHECK(fuzz_is_muni(m), "%s: municipality '%s'", what, m);
    PCHECK(all_scope() || strcmp(m, current_rq->scope) == 0,
           "%s: municipality %s for a client scoped to %s", what, m, current_rq->scope);
}

/* One parameter against its type letter (see the table in check_statement). */
static const char *shown(const char *v)
{
    return v != NULL ? v : "(null)";
}

static void check_param(const char *stmt, int i, char type, const char *v)
{
    char what[64];
    snprintf(what, sizeof what, "%s $%d", stmt, i + 1);
    switch (type) {
    case 'S':
        PCHECK(v != NULL && strcmp(v, current_rq->scope) == 0, "%s: scope '%s'", what, shown(v));
        break;
    case 'M':
        check_muni(what, v, false);
        break;
    case 'm':
        check_muni(what, v, true);
        break;
    case 'I':
        PCHECK(id_ok(v), "%s: id '%s'", what, shown(v));
        break;
    case 'D':
        PCHECK(v == NULL || fuzz_is_date(v), "%s: date '%s'", what, shown(v));
        break;
    case 'X':
        PCHECK(fuzz_is_date(v) && strcmp(v + 7, "-01") == 0, "%s: month '%s'", what, shown(v));
        break;
    case 'T':
        PCHECK(v == NULL || fuzz_is_timestamp(v), "%s: timestamp '%s'", what, shown(v));
        break;
    case 't':
        PCHECK(v != NULL && fuzz_is_timestamp(v), "%s: timestamp '%s'", what, shown(v));
        break;
    case 'B':
        PCHECK(v == NULL || fuzz_is_date(v) || fuzz_is_timestamp(v), "%s: as_of '%s'", what,
               shown(v));
        break;
    case 'C':
        PCHECK(v == NULL || (strlen(v) >= 1 && strlen(v) <= 64), "%s: cursor '%s'", what, shown(v));
        break;
    case 'L': {
        long n = v ? strtol(v, NULL, 10) : 0;
        char back[16];
        snprintf(back, sizeof back, "%ld", n);
        PCHECK(v != NULL && n >= 1 && n <= 1000 && strcmp(back, v) == 0, "%s: limit '%s'", what,
               shown(v));
        break;
    }
    case 'Y':
        PCHECK(v == NULL || (strlen(v) == 4 && digits(v, 4)), "%s: year '%s'", what, shown(v));
        break;
    case 'K':
        PCHECK(v == NULL || is_code(v), "%s: code '%s'", what, shown(v));
        break;
    case 'F':
        PCHECK(v != NULL && (strcmp(v, "csv") == 0 || strcmp(v, "json") == 0), "%s: format '%s'",
               what, shown(v));
        break;
    case 'b':
        PCHECK(v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0), "%s: boolean '%s'",
               what, shown(v));
        break;
    case 'H':
        PCHECK(is_hex64(v), "%s: hash '%s'", what, shown(v));
        break;
    default:
        PCHECK(0, "%s: unknown type %c", what, type);
    }
    if (v != NULL)
        PCHECK(fuzz_utf8_valid((const unsigned char *)v, strlen(v)), "%s: not UTF-8", what);
}

/* ---- the operations' inputs (rb_post $6) ---- */

static json_t *member(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return v && !json_is_null(v) ? v : NULL;
}

static void only(const char *op, json_t *o, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] != NULL; i++)
            known = known || strcmp(keys[i], k) == 0;
        PCHECK(known, "%s: member '%s' passed on", op, k);
    }
}

static void want_date(const char *op, json_t *o, const char *k, bool required)
{
    json_t *v = member(o, k);
    PCHECK(v != NULL || !required, "%s: %s missing", op, k);
    PCHECK(v == NULL || (json_is_string(v) && fuzz_is_date(json_string_value(v)) &&
                         json_string_length(v) == CIVIL_DATE_LEN),
           "%s: %s is no date", op, k);
}

static void want_month(const char *op, json_t *o, const char *k, bool required)
{
    want_date(op, o, k, required);
    json_t *v = member(o, k);
    PCHECK(v == NULL || strcmp(json_string_value(v) + 7, "-01") == 0, "%s: %s is no month start",
           op, k);
}

static const char *want_string(const char *op, json_t *o, const char *k, bool required, size_t max,
                               const char *alphabet)
{
    json_t *v = member(o, k);
    PCHECK(v != NULL || !required, "%s: %s missing", op, k);
    if (v == NULL)
        return NULL;
    PCHECK(json_is_string(v), "%s: %s not a string", op, k);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    PCHECK(n >= 1 && n <= max && strlen(s) == n, "%s: %s of %zu bytes", op, k, n);
    if (alphabet != NULL)
        PCHECK(strspn(s, alphabet) == n, "%s: %s holds '%s'", op, k, s);
    return s;
}

static void want_int(const char *op, json_t *o, const char *k, bool required, json_int_t lo,
                     json_int_t hi)
{
    json_t *v = member(o, k);
    PCHECK(v != NULL || !required, "%s: %s missing", op, k);
    PCHECK(v == NULL ||
               (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi),
           "%s: %s out of range", op, k);
}

static const char *want_enum(const char *op, json_t *o, const char *k, const char *const *values)
{
    const char *s = want_string(op, o, k, true, 64, NULL);
    for (size_t i = 0; values[i] != NULL; i++)
        if (strcmp(values[i], s) == 0)
            return s;
    PCHECK(0, "%s: %s '%s' not allowed", op, k, s);
    return NULL;
}

#define DOSSIER_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"

static const char *const codes[] = {"ALLOCATION_PLACE", "MOVE_IN",        "DAY_CHILD",
                                    "DAY_ADULT",        "DAY_FORMER_UAM", NULL};

static void check_post_args(const char *op, json_t *a)
{
    enum api_role role = current_rq->role;
    if (strcmp(op, "placement_create") == 0) {
        only(op, a,
             (const char *const[]){"dossier_number", "birth_date", "former_uam", "municipality",
                                   "assigned_on", "moved_in_on", NULL});
        want_string(op, a, "dossier_number", true, 32, DOSSIER_CHARS);
        want_date(op, a, "birth_date", true);
        PCHECK(member(a, "former_uam") == NULL || json_is_boolean(member(a, "former_uam")),
               "%s: former_uam", op);
        check_muni(op, want_string(op, a, "municipality", true, 4, "0123456789"), true);
        want_date(op, a, "assigned_on", true);
        want_date(op, a, "moved_in_on", false);
    } else if (strcmp(op, "placement_search") == 0) {
        only(op, a, (const char *const[]){"dossier_number", NULL});
        want_string(op, a, "dossier_number", true, 32, DOSSIER_CHARS);
    } else if (strcmp(op, "placement_move_in") == 0 || strcmp(op, "placement_move_out") == 0) {
        bool out = strcmp(op, "placement_move_out") == 0;
        only(op, a, (const char *const[]){"id", "date", out ? "reason" : NULL, NULL});
        PCHECK(id_ok(want_string(op, a, "id", true, 18, NULL)), "%s: id", op);
        want_date(op, a, "date", true);
        if (out)
            want_enum(op, a, "reason",
                      (const char *const[]){"other_municipality", "left_country", "own_housing",
                                            "registered", "deceased", "other", NULL});
    } else if (strcmp(op, "placement_correct") == 0) {
        only(op, a, (const char *const[]){"id", "field", "value", "reason", NULL});
        PCHECK(id_ok(want_string(op, a, "id", true, 18, NULL)), "%s: id", op);
        const char *f =
            want_enum(op, a, "field",
                      (const char *const[]){"birth_date", "former_uam", "assigned_on",
                                            "moved_in_on", "moved_out_on", "registered_on", NULL});
        json_t *v = member(a, "value");
        if (strcmp(f, "former_uam") == 0)
            PCHECK(json_is_string(v) && (strcmp(json_string_value(v), "true") == 0 ||
                                         strcmp(json_string_value(v), "false") == 0),
                   "%s: former_uam value", op);
        else if (v == NULL)
            PCHECK(strcmp(f, "moved_out_on") == 0 || strcmp(f, "registered_on") == 0,
                   "%s: %s set to null", op, f);
        else
            want_date(op, a, "value", true);
        want_string(op, a, "reason", true, 500, NULL);
    } else if (strcmp(op, "rate_create") == 0) {
        PCHECK(role == ROLE_ADMIN, "%s with role %d", op, role);
        only(op, a, (const char *const[]){"code", "valid_from", "amount_ore", "note", NULL});
        want_enum(op, a, "code", codes);
        want_date(op, a, "valid_from", true);
        PCHECK(json_object_get(a, "amount_ore") != NULL, "%s: amount_ore absent", op);
        want_int(op, a, "amount_ore", false, 0, 100000000000LL);
        want_string(op, a, "note", false, 500, NULL);
    } else if (strcmp(op, "allocation_create") == 0) {
        only(op, a, (const char *const[]){"municipality", "year", "places", "decided_on", NULL});
        check_muni(op, want_string(op, a, "municipality", true, 4, "0123456789"), true);
        want_int(op, a, "year", true, 2022, 2100);
        want_int(op, a, "places", true, 0, 1000000);
        want_date(op, a, "decided_on", true);
    } else if (strcmp(op, "payment_create") == 0) {
        only(op, a,
             (const char *const[]){"municipality", "paid_on", "amount_ore", "reference", "month",
                                   "lines", NULL});
        check_muni(op, want_string(op, a, "municipality", true, 4, "0123456789"), true);
        want_date(op, a, "paid_on", true);
        want_int(op, a, "amount_ore", true, -PAYMENTS_AMOUNT_MAX, PAYMENTS_AMOUNT_MAX);
        want_string(op, a, "reference", true, 64, NULL);
        want_month(op, a, "month", false);
        json_t *lines = json_object_get(a, "lines"), *l;
        size_t i;
        PCHECK(json_is_array(lines), "%s: lines", op);
        json_array_foreach(lines, i, l)
        {
            only(op, l,
                 (const char *const[]){"dossier_number", "month", "code", "amount_ore", NULL});
            const char *d = want_string(op, l, "dossier_number", false, 32, NULL);
            want_month(op, l, "month", true);
            const char *c = want_enum(op, l, "code", codes);
            want_int(op, l, "amount_ore", true, -PAYMENTS_AMOUNT_MAX, PAYMENTS_AMOUNT_MAX);
            PCHECK((d == NULL) == (strcmp(c, "ALLOCATION_PLACE") == 0),
                   "%s: lines[%zu] dossier vs code", op, i);
        }
    } else if (strcmp(op, "payment_import") == 0) {
        only(op, a, (const char *const[]){"sha256", "lines", NULL});
        PCHECK(is_hex64(want_string(op, a, "sha256", true, 64, NULL)), "%s: sha256", op);
        json_t *lines = json_object_get(a, "lines"), *l;
        size_t i;
        PCHECK(json_is_array(lines) && json_array_size(lines) >= 1, "%s: lines", op);
        json_array_foreach(lines, i, l)
        {
            want_int(op, l, "line", true, 2, 1LL << 40);
            check_muni(op, want_string(op, l, "municipality", true, 4, "0123456789"), true);
            json_t *d = json_object_get(l, "dossier_number");
            const char *c = want_enum(op, l, "code", codes);
            PCHECK(json_is_string(d) &&
                       strspn(json_string_value(d), DOSSIER_CHARS) == json_string_length(d),
                   "%s: dossier", op);
            PCHECK((json_string_length(d) == 0) == (strcmp(c, "ALLOCATION_PLACE") == 0),
                   "%s: lines[%zu] dossier vs code", op, i);
            want_month(op, l, "month", true);
            want_int(op, l, "amount_ore", true, -PAYMENTS_AMOUNT_MAX, PAYMENTS_AMOUNT_MAX);
            want_date(op, l, "paid_on", true);
            want_string(op, l, "reference", true, 256, NULL);
        }
    } else {
        PCHECK(0, "unknown operation %s", op);
    }
    bool admin_only = strcmp(op, "rate_create") == 0;
    bool read = strcmp(op, "placement_search") == 0;
    PCHECK(role >= (admin_only ? ROLE_ADMIN
                    : read     ? ROLE_READ
                               : ROLE_WRITE),
           "%s with role %d", op, role);
    PCHECK(!admin_only || all_scope(), "%s for a client scoped to %s (national scope needed)", op,
           current_rq->scope);
}

static void check_post(const char *op, const char *args_text)
{
    json_error_t je;
    json_t *a = json_loads(args_text, JSON_REJECT_DUPLICATES, &je);
    FUZZ_CHECK(json_is_object(a), "%s: input is not a JSON object: %s", op, args_text);
    check_post_args(op, a);
    current->op = op;
    current->args = a;
}

bool fuzz_post_acceptable(const struct fuzz_request *rq, const char *op, const char *path_id)
{
    json_error_t je;
    const struct fuzz_request *saved = current_rq;
    bool ok = false;
    current_rq = rq;
    soft = true;
    soft_obj = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
    if (setjmp(soft_env) == 0) {
        PCHECK(json_is_object(soft_obj), "not an object");
        if (path_id != NULL) {
            PCHECK(json_object_get(soft_obj, "id") == NULL, "id in the body");
            json_object_set_new(soft_obj, "id", json_string(path_id));
        }
        check_post_args(op, soft_obj);
        ok = true;
    }
    soft = false;
    json_decref(soft_obj);
    soft_obj = NULL;
    current_rq = saved;
    return ok;
}

/* Each statement: its name, the role it needs, whether it shows persons (not for read clients
 * of all municipalities), and its parameters' types:
 * S client scope, M/m municipality (optional/required; the client's own if it is scoped),
 * I id, D date or NULL, X month start, T/t timestamp (optional/required), B date or timestamp
 * or NULL, C cursor, L limit, Y year, K code, F format, b boolean, H hash. */
static const struct {
    const char *name;
    enum api_role role;
    bool persons;
    const char *types;
} statements[] = {
    {"rb_placement_get", ROLE_READ, true, "SI"},
    {"rb_placement_get_as_of", ROLE_READ, true, "SIt"},
    {"rb_placement_list", ROLE_READ, true, "SMDCL"},
    {"rb_placement_accrual_input", ROLE_READ, true, "SI"},
    {"rb_allocations_list", ROLE_READ, false, "SMY"},
    {"rb_ledger_entries_stream", ROLE_READ, true, "SMDDKCL"},
    {"rb_balance", ROLE_READ, false, "SmB"},
    {"rb_reconciliation", ROLE_READ, true, "SmXTF"},
    {"rb_reconciliation_csv", ROLE_READ, true, "SmXT"},
    {"rb_sie_stream", ROLE_READ, true, "SmDDb"},
    {"rb_run_get", ROLE_READ, false, "SI"},
    {"rb_rates_list", ROLE_READ, false, ""},
    {"rb_nightly", ROLE_NONE, false, ""},
};

static void check_statement(const struct db_stmt *stmt, const char *const *params);

/* A statement run on a cached client carries api.client_assert's five parameters at the end;
 * they must name the request's own client, and the rest is the plain statement. */
static void check_asserted(const struct db_stmt *stmt, const char *const *params)
{
    static const char *const roles[] = {"none", "read", "write", "admin"};
    char base[64];
    size_t n = strlen(stmt->name) - strlen("_asserted");
    int k = stmt->nparams - 5;
    FUZZ_CHECK(k >= 0 && n < sizeof base, "%s: %d params", stmt->name, stmt->nparams);
    memcpy(base, stmt->name, n);
    base[n] = '\0';
    FUZZ_CHECK(params[k] != NULL && strcmp(params[k], "7") == 0, "%s: client id", stmt->name);
    FUZZ_CHECK(is_hex64(params[k + 1]), "%s: token hash", stmt->name);
    FUZZ_CHECK(params[k + 2] != NULL && strcmp(params[k + 2], roles[current_rq->role]) == 0,
               "%s: role %s for a %s client", stmt->name, params[k + 2] ? params[k + 2] : "-",
               roles[current_rq->role]);
    FUZZ_CHECK(params[k + 3] != NULL && strcmp(params[k + 3], current_rq->scope) == 0, "%s: scope",
               stmt->name);
    FUZZ_CHECK(params[k + 4] == NULL, "%s: no bound certificate", stmt->name);
    struct db_stmt plain = {base, stmt->sql, k};
    check_statement(&plain, params);
}

static void check_statement(const struct db_stmt *stmt, const char *const *params)
{
    size_t len = strlen(stmt->name);
    if (len > strlen("_asserted") && strcmp(stmt->name + len - 9, "_asserted") == 0) {
        check_asserted(stmt, params);
        return;
    }
    if (strcmp(stmt->name, "rb_post") == 0) {
        FUZZ_CHECK(stmt->nparams == 6, "rb_post params");
        const char *key = params[3];
        if (key != NULL) {
            size_t n = strlen(key);
            FUZZ_CHECK(n >= 1 && n <= 255, "Idempotency-Key of %zu bytes", n);
            for (size_t i = 0; i < n; i++)
                FUZZ_CHECK(key[i] > 0x20 && key[i] < 0x7f, "Idempotency-Key byte %d", key[i]);
        }
        FUZZ_CHECK((key == NULL) == (params[4] == NULL) && (key == NULL || is_hex64(params[4])),
                   "request hash");
        check_param("rb_post", 2, 'S', params[2]);
        FUZZ_CHECK(params[5] != NULL &&
                       fuzz_utf8_valid((const unsigned char *)params[5], strlen(params[5])),
                   "rb_post input is not UTF-8");
        check_post(params[0], params[5]);
        return;
    }
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        if (strcmp(statements[i].name, stmt->name) != 0)
            continue;
        FUZZ_CHECK(stmt->nparams == (int)strlen(statements[i].types), "%s: %d params", stmt->name,
                   stmt->nparams);
        FUZZ_CHECK(current_rq->role >= statements[i].role, "%s with role %d", stmt->name,
                   current_rq->role);
        FUZZ_CHECK(!statements[i].persons || current_rq->role != ROLE_READ || !all_scope(),
                   "%s (persons) for a read client of all municipalities", stmt->name);
        for (int k = 0; k < stmt->nparams; k++)
            check_param(stmt->name, k, statements[i].types[k], params[k]);
        return;
    }
    FUZZ_CHECK(0, "unknown statement %s", stmt->name);
}

/* ---- db.h ---- */

/* The token lookup: one client row with the token's own hash, so authentication passes. */
static void answer_auth(const char *hash, db_cb cb, void *arg)
{
    static const char *const roles[] = {"none", "read", "write", "admin"};
    PGresAttDesc attrs[6];
    static const char *const names[6] = {"id",    "name",         "role",
                                         "scope", "token_sha256", "cert_sha256"};
    memset(attrs, 0, sizeof attrs);
    for (int i = 0; i < 6; i++) {
        attrs[i].name = (char *)names[i];
        attrs[i].typid = 25; /* text */
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
    }
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    if (res == NULL || !PQsetResultAttrs(res, 6, attrs))
        abort();
    const char *vals[5] = {"7", "fuzz client", roles[current_rq->role], current_rq->scope, hash};
    for (int i = 0; i < 5; i++)
        if (!PQsetvalue(res, 0, i, (char *)vals[i], (int)strlen(vals[i])))
            abort();
    if (!PQsetvalue(res, 0, 5, NULL, -1))
        abort();
    cb(DB_OK, res, arg);
    PQclear(res);
}

enum db_status db_submit(struct db_pool *pool, const struct db_stmt *stmt,
                         const char *const *params, db_cb cb, void *arg)
{
    (void)pool;
    FUZZ_CHECK(current->replies == 0, "%s submitted after the reply", stmt->name);
    if (strcmp(stmt->name, "rb_auth") == 0) {
        FUZZ_CHECK(stmt->nparams == 1 && is_hex64(params[0]), "rb_auth hash");
        answer_auth(params[0], cb, arg);
        return DB_OK;
    }
    FUZZ_CHECK(current->submits < FUZZ_API_MAX_SUBMITS, "%d statements", current->submits);
    current->submits++;
    snprintf(current->stmt, sizeof current->stmt, "%s", stmt->name);
    check_statement(stmt, params);
    return DB_BUSY;
}

enum db_status db_submit_write(struct db_pool *pool, const struct db_stmt *stmt,
                               const char *const *params, db_cb cb, void *arg)
{
    return db_submit(pool, stmt, params, cb, arg);
}

/* A streamed statement is checked as any other and answered busy (503) like them. */
enum db_status db_submit_stream(struct db_pool *pool, const struct db_stmt *stmt,
                                const char *const *params, db_row_cb row, db_cb done, void *arg,
                                struct db_stream **handle)
{
    (void)row;
    *handle = NULL;
    return db_submit(pool, stmt, params, done, arg);
}

void db_stream_pause(struct db_stream *s)
{
    (void)s;
}

void db_stream_resume(struct db_stream *s)
{
    (void)s;
}

void db_stream_discard(struct db_stream *s)
{
    (void)s;
}

bool db_pool_ready(const struct db_pool *pool)
{
    (void)pool;
    return false;
}

void db_pool_stats(const struct db_pool *pool, struct db_pool_stats *out)
{
    (void)pool;
    memset(out, 0, sizeof *out);
}

const char *db_status_name(enum db_status status)
{
    (void)status;
    return "busy";
}

/* ---- the driver ---- */

static struct event_base *base;
static struct api *api;
static struct rb_config cfg;

static void init_once(void)
{
    if (api != NULL)
        return;
    log_init(LOG_LEVEL_ERROR);
    base = event_base_new();
    config_defaults(&cfg);
    /* The accrual run's worker connects here and fails at once: no such socket folder. */
    api = api_new(base, (struct db_pool *)&cfg, &cfg, "host=/nonexistent-rb-fuzz port=1");
    if (base == NULL || api == NULL)
        abort();
}

static const int statuses[] = {200, 400, 401, 403, 404, 405, 409, 415, 422, 428, 503, 0};

bool fuzz_api_run(const struct fuzz_request *rq, struct fuzz_outcome *out)
{
    struct http_req r;
    init_once();
    memset(out, 0, sizeof *out);
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(rq->target, EVHTTP_URI_NONCONFORMANT);
    if (uri == NULL)
        return false;
    memset(&r, 0, sizeof r);
    r.method = rq->method;
    r.path = evhttp_uri_get_path(uri);
    r.query = evhttp_uri_get_query(uri);
    r.body = rq->body;
    r.body_len = rq->body_len;
    r.rq = rq;
    r.out = out;
    TAILQ_INIT(&r.headers);
    if (!rq->no_auth) {
        char token[64], header[80];
        fuzz_token(rq, token, sizeof token);
        snprintf(header, sizeof header, "Bearer %s", token);
        evhttp_add_header(&r.headers, "Authorization", header);
    }
    for (const char *h = rq->headers; h != NULL && *h != '\0';) {
        const char *nl = strchr(h, '\n');
        size_t n = nl ? (size_t)(nl - h) : strlen(h);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), h);
        char *colon = strchr(line, ':');
        if (colon != NULL && colon != line) {
            *colon = '\0';
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            evhttp_add_header(&r.headers, line, v);
        }
        h = nl ? nl + 1 : h + n;
    }
    current = out;
    current_rq = rq;
    api_handle(&r, api);
    /* The accrual run answers from its worker thread through the event loop. */
    for (int i = 0; i < 2000 && out->replies == 0; i++)
        event_base_loop(base, EVLOOP_ONCE);
    FUZZ_CHECK(out->replies == 1, "%d replies to %s", out->replies, rq->target);
    bool known = false;
    for (size_t i = 0; statuses[i] != 0; i++)
        known = known || statuses[i] == out->status;
    FUZZ_CHECK(known, "status %d to %s: %s", out->status, rq->target, out->body);
    if (out->status >= 400 && strcmp(http_req_path(&r), "/readyz") != 0) {
        json_error_t je;
        json_t *b = json_loads(out->body, 0, &je);
        json_t *e = json_object_get(b, "error");
        FUZZ_CHECK(json_is_string(json_object_get(e, "code")) &&
                       json_is_string(json_object_get(e, "message")),
                   "error body %s", out->body);
        json_decref(b);
    }
    if (getenv("FUZZ_API_VERBOSE") != NULL)
        fprintf(stderr, "fuzz_api: %s -> %d %s%s%s\n", rq->target, out->status,
                out->submits ? out->stmt : "", out->op ? " " : "", out->op ? out->op : "");
    current = NULL;
    current_rq = NULL;
    evhttp_clear_headers(&r.headers);
    evhttp_uri_free(uri);
    return true;
}

void fuzz_outcome_free(struct fuzz_outcome *out)
{
    free(out->body);
    json_decref(out->args);
    memset(out, 0, sizeof *out);
}
