/* harness: the shared part of the integration test programs; see harness.h. */
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* Environment                                                                                */

struct rb_env E;

bool load_env(char *why, size_t whylen)
{
    const char *dir = getenv("RB_FIXTURE");
    if (dir == NULL || dir[0] == '\0') {
        snprintf(why, whylen, "RB_FIXTURE is not set");
        return false;
    }
    snprintf(E.dir, sizeof E.dir, "%s", dir);
    char path[2100];
    snprintf(path, sizeof path, "%s/env", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    struct {
        const char *key;
        char **slot;
    } keys[] = {
        {"RB_URL", &E.url},
        {"RB_CA", &E.ca},
        {"RB_TOKEN_ADMIN", &E.admin},
        {"RB_TOKEN_W1480", &E.w1480},
        {"RB_TOKEN_W1481", &E.w1481},
        {"RB_TOKEN_R1480", &E.r1480},
        {"RB_TOKEN_RSTAR", &E.rstar},
        {"RB_PG_STOP_CMD", &E.pg_stop},
        {"RB_PG_START_CMD", &E.pg_start},
        {"RB_DAEMON_PID", &E.daemon_pid},
        {"RB_CONF", &E.conf},
    };
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        char *eq = strchr(line, '=');
        if (line[0] == '#' || eq == NULL)
            continue;
        *eq = '\0';
        for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
            if (strcmp(keys[i].key, line) == 0) {
                free(*keys[i].slot);
                *keys[i].slot = strdup(eq + 1);
            }
        }
    }
    free(line);
    fclose(f);
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        if (keys[i].slot == &E.daemon_pid || keys[i].slot == &E.conf)
            continue; /* optional */
        if (*keys[i].slot == NULL || (*keys[i].slot)[0] == '\0') {
            snprintf(why, whylen, "%s: %s is missing or empty", path, keys[i].key);
            return false;
        }
    }
    size_t ul = strlen(E.url);
    while (ul > 0 && E.url[ul - 1] == '/')
        E.url[--ul] = '\0';
    const char *proxy = getenv("RB_PROXY_URL");
    if (proxy != NULL && proxy[0] != '\0') {
        E.proxy = strdup(proxy);
        size_t pl = strlen(E.proxy);
        while (pl > 0 && E.proxy[pl - 1] == '/')
            E.proxy[--pl] = '\0';
    }
    return true;
}

void free_env(void)
{
    free(E.url);
    free(E.proxy);
    free(E.ca);
    free(E.admin);
    free(E.w1480);
    free(E.w1481);
    free(E.r1480);
    free(E.rstar);
    free(E.pg_stop);
    free(E.pg_start);
    free(E.daemon_pid);
    free(E.conf);
    memset(&E, 0, sizeof E);
}

/* ------------------------------------------------------------------------------------------ */
/* Per-test memory pool: everything a test allocates is released after it, pass or fail.      */

struct pooled {
    void *p;
    bool is_json;
};
static struct pooled *g_pool;
static size_t g_pool_len, g_pool_cap;

void pool_add(void *p, bool is_json)
{
    if (p == NULL)
        return;
    if (g_pool_len == g_pool_cap) {
        size_t nc = g_pool_cap ? g_pool_cap * 2 : 256;
        struct pooled *np = realloc(g_pool, nc * sizeof *np);
        if (np == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        g_pool = np;
        g_pool_cap = nc;
    }
    g_pool[g_pool_len].p = p;
    g_pool[g_pool_len].is_json = is_json;
    g_pool_len++;
}

json_t *keep_json(json_t *j)
{
    pool_add(j, true);
    return j;
}

char *keep_str(char *s)
{
    pool_add(s, false);
    return s;
}

void pool_drain(void)
{
    for (size_t i = g_pool_len; i > 0; i--) {
        if (g_pool[i - 1].is_json)
            json_decref(g_pool[i - 1].p);
        else
            free(g_pool[i - 1].p);
    }
    g_pool_len = 0;
}

char *kstrf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (s == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return keep_str(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Failures                                                                                   */

char g_why[2048];

bool failf(int line, const char *fmt, ...)
{
    char msg[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(g_why, sizeof g_why, "line %d: %s", line, msg);
    else
        snprintf(g_why, sizeof g_why, "%s", msg);
    return false;
}

/* A helper failed and already explained why: add the caller's line. */
bool note_line(int line)
{
    size_t l = strlen(g_why);
    if (l < sizeof g_why - 32)
        snprintf(g_why + l, sizeof g_why - l, " [called from line %d]", line);
    return false;
}

bool str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* A short, printable rendering of a JSON value for messages. */
const char *dump(const json_t *v)
{
    if (v == NULL)
        return "(absent)";
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL)
        return "(unprintable)";
    keep_str(s);
    if (strlen(s) > 600)
        strcpy(s + 590, "...");
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* HTTP                                                                                       */

CURL *g_easy;
long g_timeout = 30;

/* The response body, made printable and cut short, for messages. */
const char *snip(const struct resp *r)
{
    size_t n = r->len < 400 ? r->len : 400;
    char *s = kstrf("%s -> HTTP %ld: %.*s%s", r->what, r->status, (int)n, r->body ? r->body : "",
                    r->len > n ? "..." : "");
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    return s;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (x->len + n + 1 > x->cap) {
        size_t nc = x->cap ? x->cap : 4096;
        while (nc < x->len + n + 1)
            nc *= 2;
        char *nb = realloc(x->buf, nc);
        if (nb == NULL)
            return 0;
        x->buf = nb;
        x->cap = nc;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

static void take_header(const char *name, size_t nlen, const char *want, const char *v,
                        const char *end, char *dst, size_t dstlen)
{
    if (nlen != strlen(want) || strncasecmp(name, want, nlen) != 0)
        return;
    size_t vl = (size_t)(end - v);
    if (vl >= dstlen)
        vl = dstlen - 1;
    memcpy(dst, v, vl);
    dst[vl] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct resp *r = ud;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new response (for example after 100 Continue): forget earlier headers. */
        r->location[0] = r->retry_after[0] = r->content_type[0] = r->request_id[0] = '\0';
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (colon == NULL)
        return n;
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    take_header(data, nlen, "Location", v, end, r->location, sizeof r->location);
    take_header(data, nlen, "Retry-After", v, end, r->retry_after, sizeof r->retry_after);
    take_header(data, nlen, "Content-Type", v, end, r->content_type, sizeof r->content_type);
    take_header(data, nlen, "X-Request-Id", v, end, r->request_id, sizeof r->request_id);
    return n;
}

bool g_direct;

/* prism parses the JSON bodies it forwards and sends them on re-serialised (JSON.stringify):
 * only a body already in that compact form reaches the daemon byte for byte. */
static bool proxy_keeps_body(const char *body, size_t blen)
{
    if (body == NULL)
        return true;
    json_t *j = json_loadb(body, blen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    bool same = s != NULL && strlen(s) == blen && memcmp(s, body, blen) == 0;
    free(s);
    json_decref(j);
    return same;
}

/* The writes that move money require an Idempotency-Key (428 without): a request of the tests
 * that names none gets a fresh one, as a careful client would send. */
static bool needs_key(const char *method, const char *path)
{
    static const char *const money[] = {"/v1/payments", "/v1/payments/import", "/v1/allocations",
                                        "/v1/rates",    "/v1/accruals/run",    NULL};
    if (strcmp(method, "POST") != 0)
        return false;
    for (size_t i = 0; money[i] != NULL; i++)
        if (strcmp(path, money[i]) == 0)
            return true;
    return false;
}

void prepare(struct xfer *x, CURL *h, struct resp *out, const char *method, const char *path,
             const char *token, const char *body, size_t blen, const char *idem, bool expect100,
             long timeout_s)
{
    if (idem == NULL && needs_key(method, path))
        idem = new_key();
    memset(x, 0, sizeof *x);
    memset(out, 0, sizeof *out);
    x->h = h;
    x->out = out;
    /* Not the SIE export either: prism re-encodes its CP437 bytes as UTF-8. */
    x->via_proxy = E.proxy != NULL && !g_direct && h == g_easy && !expect100 &&
                   strncmp(path, "/v1/exports/", 12) != 0 && proxy_keeps_body(body, blen);
    snprintf(out->what, sizeof out->what, "%s %s", method, path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, kstrf("%s%s", x->via_proxy ? E.proxy : E.url, path));
    curl_easy_setopt(h, CURLOPT_CAINFO, E.ca);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    x->hdrs = curl_slist_append(x->hdrs, "Accept: application/json");
    if (token != NULL)
        x->hdrs = curl_slist_append(x->hdrs, kstrf("Authorization: Bearer %s", token));
    if (body != NULL)
        x->hdrs = curl_slist_append(x->hdrs, "Content-Type: application/json; charset=utf-8");
    if (idem != NULL)
        x->hdrs = curl_slist_append(x->hdrs, kstrf("Idempotency-Key: %s", idem));
    if (!expect100)
        x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(method, "POST") == 0)
            curl_easy_setopt(h, CURLOPT_POST, 1L);
        else
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? blen : 0));
    }
}

void finish(struct xfer *x)
{
    struct resp *r = x->out;
    r->cc = x->cc;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(x->h, CURLINFO_TOTAL_TIME, &r->seconds);
    if (x->buf == NULL) {
        x->buf = calloc(1, 1);
        x->len = 0;
    }
    r->body = keep_str(x->buf);
    r->len = x->len;
    x->buf = NULL;
    if (r->len > 0)
        r->json = keep_json(json_loadb(r->body, r->len, 0, NULL));
    snprintf(r->curl_err, sizeof r->curl_err, "%s",
             x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->cc));
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
}

bool http_ex(const char *method, const char *path, const char *token, const char *body, size_t blen,
             const char *idem, bool expect100, struct resp *out)
{
    struct xfer x;
    prepare(&x, g_easy, out, method, path, token, body, blen, idem, expect100, g_timeout);
    x.cc = curl_easy_perform(g_easy);
    finish(&x);
    if (x.via_proxy && x.cc == CURLE_OK && out->request_id[0] == '\0') {
        /* prism answered itself. Either the daemon's answer does not match the description... */
        const char *prism = snip(out);
        if (strstr(prism, "prism/errors#VIOLATIONS") != NULL)
            return failf(0, "%s: the answer does not match proto/openapi.yaml: %s", out->what,
                         prism);
        /* ...or the description refuses the request, which never reached the daemon: send it
         * directly; the daemon must refuse it too. */
        bool direct = g_direct;
        g_direct = true;
        prepare(&x, g_easy, out, method, path, token, body, blen, idem, expect100, g_timeout);
        g_direct = direct;
        x.cc = curl_easy_perform(g_easy);
        finish(&x);
        if (x.cc == CURLE_OK && (out->status < 400 || out->status > 499))
            return failf(0,
                         "%s: proto/openapi.yaml refuses the request (%s) but the daemon "
                         "accepts it: HTTP %ld",
                         out->what, prism, out->status);
    }
    if (x.cc != CURLE_OK)
        return failf(0, "%s: curl error %d: %s", out->what, (int)x.cc, out->curl_err);
    return true;
}

bool http(const char *method, const char *path, const char *token, const char *body,
          const char *idem, struct resp *out)
{
    return http_ex(method, path, token, body, body ? strlen(body) : 0, idem, false, out);
}

bool GET(const char *path, const char *token, struct resp *out)
{
    return http("GET", path, token, NULL, NULL, out);
}

bool POST(const char *path, const char *token, const char *body, const char *idem, struct resp *out)
{
    return http("POST", path, token, body, idem, out);
}

/* Runs prepared transfers all at once; each one's result lands in its resp. */
void multi_run(struct xfer *xs, size_t n)
{
    CURLM *m = curl_multi_init();
    /* One connection per transfer, all opened at once: real concurrency at the daemon. */
    curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    for (size_t i = 0; i < n; i++) {
        xs[i].cc = CURLE_GOT_NOTHING;
        curl_multi_add_handle(m, xs[i].h);
    }
    int running = 1;
    while (running > 0) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv != NULL)
            ((struct xfer *)(void *)priv)->cc = msg->data.result;
    }
    for (size_t i = 0; i < n; i++) {
        curl_multi_remove_handle(m, xs[i].h);
        finish(&xs[i]);
        curl_easy_cleanup(xs[i].h);
        xs[i].h = NULL;
    }
    curl_multi_cleanup(m);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON and response checks                                                                   */

const char *js(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool is_json_type(const struct resp *r)
{
    return strncasecmp(r->content_type, "application/json", 16) == 0;
}

bool expect_status_at(int line, const struct resp *r, long status)
{
    if (r->status != status)
        return failf(line, "expected HTTP %ld: %s", status, snip(r));
    if (!json_is_object(r->json))
        return failf(line, "body is not a JSON object: %s", snip(r));
    if (!is_json_type(r))
        return failf(line, "Content-Type is '%s', not application/json: %s", r->content_type,
                     snip(r));
    return true;
}

/* An error response: status, {"error":{"code","message","field"?}}, and the field if given. */
bool expect_error_at(int line, const struct resp *r, long status, const char *code,
                     const char *field)
{
    if (r->status != status)
        return failf(line, "expected HTTP %ld with error '%s': %s", status, code, snip(r));
    json_t *e = json_object_get(r->json, "error");
    if (!json_is_object(e))
        return failf(line, "no JSON {\"error\":{...}} object (expected code '%s'): %s", code,
                     snip(r));
    if (!str_eq(js(e, "code"), code))
        return failf(line, "error.code is %s, expected '%s': %s", dump(json_object_get(e, "code")),
                     code, snip(r));
    const char *msg = js(e, "message");
    if (msg == NULL || msg[0] == '\0')
        return failf(line, "error.message missing or empty: %s", snip(r));
    if (field != NULL && !str_eq(js(e, "field"), field))
        return failf(line, "error.field is %s, expected '%s': %s",
                     dump(json_object_get(e, "field")), field, snip(r));
    if (!is_json_type(r))
        return failf(line, "Content-Type is '%s', not application/json: %s", r->content_type,
                     snip(r));
    return true;
}

bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* Ids are strings; numeric ones compare as numbers. */
int id_cmp(const char *a, const char *b)
{
    if (all_digits(a) && all_digits(b)) {
        while (a[0] == '0' && a[1] != '\0')
            a++;
        while (b[0] == '0' && b[1] != '\0')
            b++;
        size_t la = strlen(a), lb = strlen(b);
        if (la != lb)
            return la < lb ? -1 : 1;
    }
    return strcmp(a, b);
}

/* RFC 3339 in UTC: YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00). */
bool looks_like_utc_timestamp(const char *s)
{
    if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return false;
    size_t l = strlen(s);
    return s[l - 1] == 'Z' || (l > 6 && strcmp(s + l - 6, "+00:00") == 0);
}

bool field_is(int line, const json_t *o, const char *key, const char *want)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return failf(line, "field '%s' is missing in %s", key, dump(o));
    if (want == NULL) {
        if (!json_is_null(v))
            return failf(line, "field '%s' is %s, expected null", key, dump(v));
        return true;
    }
    if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
        return failf(line, "field '%s' is %s, expected \"%s\"", key, dump(v), want);
    return true;
}

/* The first object of array arr whose string field key is val, or NULL. */
static json_t *find_by(const json_t *arr, const char *key, const char *val)
{
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        if (str_eq(js(it, key), val))
            return it;
    }
    return NULL;
}

json_t *find_event(const json_t *p, const char *type)
{
    return find_by(json_object_get(p, "events"), "type", type);
}

bool check_placement(int line, const json_t *p, const struct pexp *e)
{
    if (!json_is_object(p))
        return failf(line, "placement is not an object: %s", dump(p));
    const char *id = js(p, "id");
    if (id == NULL || id[0] == '\0')
        return failf(line, "placement id is not a non-empty string: %s", dump(p));
    if (!field_is(line, p, "dossier_number", e->dossier) ||
        !field_is(line, p, "birth_date", e->birth) || !field_is(line, p, "municipality", e->muni) ||
        !field_is(line, p, "assigned_on", e->assigned) ||
        !field_is(line, p, "moved_in_on", e->moved_in) ||
        !field_is(line, p, "moved_out_on", e->moved_out) ||
        !field_is(line, p, "move_out_reason", e->reason) ||
        !field_is(line, p, "registered_on", e->registered))
        return false;
    json_t *fu = json_object_get(p, "former_uam");
    if (!json_is_boolean(fu))
        return failf(line, "former_uam is %s, expected a boolean", dump(fu));
    if (e->former_uam >= 0 && json_is_true(fu) != (e->former_uam == 1))
        return failf(line, "former_uam is %s, expected %s", dump(fu),
                     e->former_uam ? "true" : "false");
    json_t *events = json_object_get(p, "events");
    if (!json_is_array(events))
        return failf(line, "events is not an array: %s", dump(p));
    if (e->n_events >= 0 && json_array_size(events) != (size_t)e->n_events)
        return failf(line, "expected %d events, got %zu: %s", e->n_events, json_array_size(events),
                     dump(events));
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (!json_is_object(ev) || js(ev, "type") == NULL)
            return failf(line, "event %zu has no type: %s", i, dump(ev));
        if (json_object_get(ev, "effective") == NULL || json_object_get(ev, "client") == NULL ||
            json_object_get(ev, "reason") == NULL)
            return failf(line, "event %zu lacks effective/client/reason: %s", i, dump(ev));
        if (!looks_like_utc_timestamp(js(ev, "recorded_at")))
            return failf(line, "event %zu recorded_at is not an RFC 3339 UTC timestamp: %s", i,
                         dump(ev));
    }
    json_t *a = find_event(p, "assigned");
    if (a == NULL || !str_eq(js(a, "effective"), e->assigned))
        return failf(line, "no 'assigned' event with effective %s: %s", e->assigned, dump(events));
    json_t *mi = find_event(p, "moved_in");
    if (e->moved_in != NULL && (mi == NULL || !str_eq(js(mi, "effective"), e->moved_in)))
        return failf(line, "no 'moved_in' event with effective %s: %s", e->moved_in, dump(events));
    if (e->moved_in == NULL && mi != NULL)
        return failf(line, "unexpected 'moved_in' event: %s", dump(events));
    json_t *mo = find_event(p, "moved_out");
    if (e->moved_out != NULL && (mo == NULL || !str_eq(js(mo, "effective"), e->moved_out) ||
                                 !str_eq(js(mo, "reason"), e->reason)))
        return failf(line, "no 'moved_out' event with effective %s and reason %s: %s", e->moved_out,
                     e->reason, dump(events));
    if (e->moved_out == NULL && mo != NULL)
        return failf(line, "unexpected 'moved_out' event: %s", dump(events));
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Randomness, time and placements                                                            */

void random_bytes(unsigned char *b, size_t n)
{
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL || fread(b, 1, n, f) != n) {
        fprintf(stderr, "cannot read /dev/urandom\n");
        exit(2);
    }
    fclose(f);
}

/* A fresh dossier number: "T" and ten random digits. */
const char *new_dossier(void)
{
    unsigned char b[10];
    random_bytes(b, sizeof b);
    char *s = kstrf("T0000000000");
    for (size_t i = 0; i < sizeof b; i++)
        s[1 + i] = (char)('0' + b[i] % 10);
    return s;
}

const char *new_key(void)
{
    unsigned char b[12];
    random_bytes(b, sizeof b);
    char *s = kstrf("it-000000000000000000000000");
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(s + 3 + 2 * i, 3, "%02x", b[i]);
    return s;
}

char *pl_body(const struct pl *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "dossier_number", json_string(p->dossier));
    json_object_set_new(o, "birth_date", json_string(p->birth));
    if (p->former_uam >= 0)
        json_object_set_new(o, "former_uam", json_boolean(p->former_uam));
    json_object_set_new(o, "municipality", json_string(p->muni));
    json_object_set_new(o, "assigned_on", json_string(p->assigned));
    if (p->moved_in != NULL)
        json_object_set_new(o, "moved_in_on", json_string(p->moved_in));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return keep_str(s);
}

const char *ppath(const char *id, const char *suffix)
{
    return kstrf("/v1/placements/%s%s", id, suffix);
}

bool check_location(int line, const struct resp *r, const char *id)
{
    const char *want = ppath(id, "");
    if (strcmp(r->location, want) != 0 && strcmp(r->location, kstrf("%s%s", E.url, want)) != 0)
        return failf(line, "Location is '%s', expected '%s'", r->location, want);
    return true;
}

/* POST /v1/placements expecting 201 and the placement as sent; returns it and its id. */
bool create_ok(const char *token, const struct pl *p, json_t **out, const char **id)
{
    struct resp r;
    TRY(POST("/v1/placements", token, pl_body(p), NULL, &r));
    EXPECT_STATUS(&r, 201);
    struct pexp e = {p->dossier, p->birth, p->muni, p->assigned,   p->moved_in,
                     NULL,       NULL,     NULL,    p->former_uam, p->moved_in ? 2 : 1};
    TRY(check_placement(__LINE__, r.json, &e));
    const char *pid = js(r.json, "id");
    TRY(check_location(__LINE__, &r, pid));
    if (out != NULL)
        *out = r.json;
    if (id != NULL)
        *id = pid;
    return true;
}

bool move_in(const char *token, const char *id, const char *date, const char *idem, struct resp *r)
{
    return POST(ppath(id, "/move-in"), token, kstrf("{\"date\":\"%s\"}", date), idem, r);
}

bool move_out(const char *token, const char *id, const char *date, const char *reason,
              struct resp *r)
{
    return POST(ppath(id, "/move-out"), token,
                kstrf("{\"date\":\"%s\",\"reason\":\"%s\"}", date, reason), NULL, r);
}

bool move_out_ok(const char *token, const char *id, const char *date, const char *reason)
{
    struct resp r;
    TRY(move_out(token, id, date, reason, &r));
    EXPECT_STATUS(&r, 200);
    CHECK(str_eq(js(r.json, "moved_out_on"), date), "moved_out_on not %s: %s", date, snip(&r));
    return true;
}

/* Drives the transfers of m, then takes the next one that finished out of m: its handle, and its
 * result in *cc; NULL when none has finished (yet). */
CURL *multi_next_done(CURLM *m, CURLcode *cc)
{
    int running, left;
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *h = msg->easy_handle;
        *cc = msg->data.result;
        curl_multi_remove_handle(m, h);
        return h;
    }
    return NULL;
}

/* o[key] into *out when it is a JSON array; else a failure at line naming key, with answer r. */
bool get_array(int line, const json_t *o, const char *key, const struct resp *r, json_t **out)
{
    *out = json_object_get(o, key);
    if (!json_is_array(*out))
        return failf(line, "%s is not an array: %s", key, snip(r));
    return true;
}

/* GET path with token expecting 200 and an array "items": the answer in *r, the array in *items. */
bool get_items(const char *path, const char *token, struct resp *r, json_t **items)
{
    TRY(GET(path, token, r));
    EXPECT_STATUS(r, 200);
    return get_array(__LINE__, r->json, "items", r, items);
}

/* POST /v1/placements/search expecting 200 and `want` items (-1: any); returns the items. */
bool search(const char *token, const char *dossier, int want, json_t **items_out)
{
    struct resp r;
    TRY(POST("/v1/placements/search", token, kstrf("{\"dossier_number\":\"%s\"}", dossier), NULL,
             &r));
    EXPECT_STATUS(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    CHECK(json_is_array(items), "search: items is not an array: %s", snip(&r));
    CHECK(want < 0 || json_array_size(items) == (size_t)want, "search: expected %d items: %s", want,
          snip(&r));
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        CHECK(str_eq(js(it, "dossier_number"), dossier), "search returned another person: %s",
              snip(&r));
    }
    if (items_out != NULL)
        *items_out = items;
    return true;
}

bool has_id(const json_t *items, const char *id)
{
    return find_by(items, "id", id) != NULL;
}

const char *esc(const char *s)
{
    char *e = curl_easy_escape(g_easy, s, 0);
    const char *k = kstrf("%s", e ? e : "");
    curl_free(e);
    return k;
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------------------------ */
/* Runner                                                                                     */

int harness_main(const struct test *tests, size_t n)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char why[4400];
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        printf("not ok 1 - setup: curl_global_init failed\n0 passed, 1 failed\n");
        return 1;
    }
    if (!load_env(why, sizeof why)) {
        printf("not ok 1 - setup: %s\n0 passed, 1 failed\n", why);
        free_env();
        curl_global_cleanup();
        return 1;
    }
    g_easy = curl_easy_init();
    printf("1..%zu\n", n);
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        g_why[0] = '\0';
        g_direct = false;
        double t0 = now_s();
        bool ok = tests[i].fn();
        double dt = now_s() - t0;
        if (ok) {
            printf("ok %zu - %s\n", i + 1, tests[i].name);
            passed++;
        } else {
            for (char *p = g_why; *p; p++)
                if ((unsigned char)*p < 0x20)
                    *p = ' ';
            printf("not ok %zu - %s: %s\n", i + 1, tests[i].name, g_why[0] ? g_why : "failed");
            failed++;
        }
        if (dt > 5.0)
            printf("# %s took %.1f s\n", tests[i].name, dt);
        pool_drain();
    }
    printf("%d passed, %d failed\n", passed, failed);
    curl_easy_cleanup(g_easy);
    g_easy = NULL;
    free(g_pool);
    g_pool = NULL;
    g_pool_len = g_pool_cap = 0;
    free_env();
    curl_global_cleanup();
    return failed > 0 ? 1 : 0;
}

/* Civil dates as day numbers (days since 1970-01-01), written here rather than taken from the
 * daemon so the tests compute dates independently of the code under test. */
int32_t harness_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void harness_civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int harness_run_get(long long id, json_t **out)
{
    struct resp r;
    if (!GET(kstrf("/v1/accruals/runs/%lld", id), E.admin, &r))
        return -1;
    if (r.status == 404)
        return 0;
    if (!expect_status_at(__LINE__, &r, 200))
        return -1;
    if (out != NULL)
        *out = r.json;
    return 1;
}

/* Accrual runs are global and `through` never goes back, so tests start from the latest done
 * run. Run ids have no gaps: find the highest by doubling and bisecting, then walk down. */
/* POST /v1/accruals/run as admin through `through` (YYYY-MM-DD), allowing 300 s: answered 200. */
bool harness_post_run(const char *through, struct resp *r)
{
    long saved = g_timeout;
    g_timeout = 300;
    bool ok = POST("/v1/accruals/run", E.admin, kstrf("{\"through\":\"%s\"}", through), NULL, r);
    g_timeout = saved;
    TRY(ok);
    EXPECT_STATUS(r, 200);
    return true;
}

bool harness_latest_done_through(char *out, size_t n)
{
    long long lo = 0, hi = 1;
    int st;
    out[0] = '\0';
    while ((st = harness_run_get(hi, NULL)) == 1) {
        lo = hi;
        hi *= 2;
        CHECK(hi < (1LL << 40), "run ids never end");
    }
    TRY(st == 0);
    while (hi - lo > 1) {
        long long mid = lo + (hi - lo) / 2;
        TRY((st = harness_run_get(mid, NULL)) >= 0);
        if (st == 1)
            lo = mid;
        else
            hi = mid;
    }
    for (long long id = lo; id >= 1 && id > lo - 10000; id--) {
        json_t *run;
        TRY((st = harness_run_get(id, &run)) >= 0);
        if (st == 1 && str_eq(js(run, "status"), "done")) {
            const char *t = js(run, "through");
            CHECK(t != NULL, "run %lld has no through: %s", id, dump(run));
            snprintf(out, n, "%s", t);
            break;
        }
    }
    return true;
}

/* Day number of the Europe/Stockholm calendar day holding t (TZ set for the call, then put back).
 */
int32_t harness_stockholm_day(time_t t)
{
    const char *old = getenv("TZ");
    char *saved = old != NULL ? strdup(old) : NULL;
    setenv("TZ", "Europe/Stockholm", 1);
    tzset();
    struct tm tm;
    localtime_r(&t, &tm);
    if (saved != NULL) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
    return harness_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

bool jint(const json_t *o, const char *key, long long *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return false;
    *out = (long long)json_integer_value(v);
    return true;
}

long long jint0(const json_t *o, const char *key)
{
    long long v = 0;
    jint(o, key, &v);
    return v;
}
