/* metrics_http: the Prometheus scrape endpoint on a listener of its own, plain HTTP on the
 * address `metrics_listen` names (loopback by default), so that the public HTTPS port serves
 * nothing without a token but /healthz and /readyz. */
#include "metrics_http.h"

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "strbuf.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#define NIGHTLY_REFRESH_S 15

struct metrics_server {
    struct evhttp *http;
    struct db_pool *pool;
    const struct http_server *https;
    struct event *refresh;
    double nightly; /* unix seconds of the last successful run; < 0 when unknown */
    bool pending;   /* a refresh statement is in the pool */
};

static const struct db_stmt nightly_stmt = {
    "rb_nightly",
    "SELECT extract(epoch FROM max(finished_at))::float8 FROM accrual_runs WHERE status = 'done'",
    0};

static void on_nightly(enum db_status st, const PGresult *res, void *arg)
{
    struct metrics_server *m = arg;
    bool known = st == DB_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    m->nightly = known ? strtod(PQgetvalue(res, 0, 0), NULL) : -1;
    m->pending = false;
}

/* The nightly gauge is read from the database on a timer, not per scrape: a scrape is answered
 * at once from memory and never waits for (or fails for want of) the database. */
static void refresh_tick(evutil_socket_t fd, short what, void *arg)
{
    struct metrics_server *m = arg;
    (void)fd;
    (void)what;
    if (m->pending)
        return;
    m->pending = db_submit(m->pool, &nightly_stmt, NULL, on_nightly, m) == DB_OK;
    if (!m->pending)
        m->nightly = -1;
}

static void reply_text(struct evhttp_request *req, int status, const char *reason, const char *type,
                       const char *body, size_t len)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evbuffer_add(out, body, len);
    evhttp_send_reply(req, status, reason, NULL);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct metrics_server *m = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    static const char missing[] = "not found: this listener serves GET /metrics only\n";
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_text(req, 405, "Method Not Allowed", "text/plain; charset=utf-8", "GET only\n", 9);
        return;
    }
    if (path == NULL || strcmp(path, "/metrics") != 0) {
        reply_text(req, 404, "Not Found", "text/plain; charset=utf-8", missing, sizeof missing - 1);
        return;
    }
    struct db_pool_stats ps;
    struct strbuf out = {0};
    db_pool_stats(m->pool, &ps);
    struct metrics_gauges g = {ps.busy,
                               ps.idle,
                               ps.down,
                               ps.waiting,
                               ps.errors,
                               m->https ? http_server_open_connections(m->https) : 0,
                               db_pool_ready(m->pool),
                               m->nightly};
    metrics_render(&out, &g);
    if (out.oom)
        reply_text(req, 503, "Service Unavailable", "text/plain; charset=utf-8", "out of memory\n",
                   14);
    else
        reply_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", strbuf_cstr(&out),
                   out.len);
    strbuf_free(&out);
}

bool metrics_server_start(struct event_base *base, const char *spec, struct db_pool *pool,
                          struct metrics_server **out, char *err, size_t errlen)
{
    char addr[64];
    int port;
    *out = NULL;
    if (spec == NULL || strcmp(spec, "off") == 0)
        return true;
    if (!config_addr_port(spec, addr, sizeof addr, &port)) {
        snprintf(err, errlen, "metrics_listen '%s' is not ADDRESS:PORT", spec);
        return false;
    }
    struct metrics_server *m = calloc(1, sizeof *m);
    if (m == NULL || (m->http = evhttp_new(base)) == NULL) {
        snprintf(err, errlen, "metrics_listen: out of memory");
        free(m);
        return false;
    }
    m->pool = pool;
    m->nightly = -1;
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_OPTIONS);
    evhttp_set_timeout(m->http, 10);
    evhttp_set_max_headers_size(m->http, 8192);
    evhttp_set_max_body_size(m->http, 1024);
    evhttp_set_gencb(m->http, on_request, m);
    struct timeval every = {NIGHTLY_REFRESH_S, 0}, now = {0, 0};
    m->refresh = event_new(base, -1, EV_PERSIST, refresh_tick, m);
    if (evhttp_bind_socket_with_handle(m->http, addr, (ev_uint16_t)port) == NULL ||
        m->refresh == NULL || event_add(m->refresh, &every) != 0) {
        snprintf(err, errlen, "metrics_listen %s: cannot listen (in use, or not an address here)",
                 spec);
        metrics_server_free(m);
        return false;
    }
    event_base_once(base, -1, EV_TIMEOUT, refresh_tick, m, &now);
    log_info("metrics on http://%s/metrics (plain HTTP, no token)", spec);
    *out = m;
    return true;
}

void metrics_server_set_http(struct metrics_server *m, const struct http_server *http)
{
    if (m != NULL)
        m->https = http;
}

void metrics_server_free(struct metrics_server *m)
{
    if (m == NULL)
        return;
    if (m->refresh)
        event_free(m->refresh);
    if (m->http)
        evhttp_free(m->http);
    free(m);
}
