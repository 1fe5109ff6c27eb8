/* http: TLS listener with its own connection limit, request contexts, replies and access log. */
#include "http.h"

#include "http_linger.h"
#include "http_tickets.h"
#include "http_private.h"
#include "json_error.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One accepted connection. It outlives its SSL object while a request of it is still in a handler
 * (a client may hang up while the database works on its request). */
struct http_conn {
    struct http_server *server;
    struct bufferevent *bev; /* NULL once gone */
    struct http_conn *prev, *next;
    time_t request_started; /* monotonic second of a pending request's first byte; 0: none */
    int in_handler;
    struct http_linger_conn *linger; /* a 413's lingering close (http_linger.c) */
};

struct http_server {
    struct event_base *base;
    struct http_conn *conns; /* open connections, for the request-read deadline */
    struct event *deadline;
    struct event *accept_resume; /* after accept() ran out of descriptors */
    int request_read_timeout_s;
    struct evhttp *http;
    struct evconnlistener *listener;
    struct http_linger *linger;
    bool tickets; /* http_tickets_start ran for it */
    SSL_CTX *tls;
    http_handler handler;
    void *arg;
    int max_connections;
    bool client_certs;
    int open_connections;
    int active_requests;
    bool stopping;
    bool freed; /* http_server_free ran; the last connection to go frees the struct */
    bool listener_paused;
    unsigned long long next_id;
    char id_prefix[9];
};

struct http_req {
    struct http_server *server;
    struct http_conn *conn; /* NULL if it could not be found */
    struct evhttp_request *req;
    const char *route;
    char client[72];
    char id[72];
    void *data;
    const char *body; /* contiguous copy of the input, once asked for */
    size_t body_len;
    struct timespec started;
};

static int conn_ex_index = -1;

static void limit_check(struct http_server *s)
{
    if (s->stopping)
        return;
    if (!s->listener_paused && s->open_connections >= s->max_connections) {
        evconnlistener_disable(s->listener);
        s->listener_paused = true;
        log_warn("http: max_connections (%d) reached; not accepting", s->max_connections);
    } else if (s->listener_paused && s->open_connections < s->max_connections) {
        evconnlistener_enable(s->listener);
        s->listener_paused = false;
    }
}

static time_t mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec + 1; /* never 0, which means "no request pending" */
}

static void conn_unlink(struct http_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->server->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void server_release(struct http_server *s)
{
    http_linger_free(s->linger);
    free(s);
}

/* Runs in SSL_free: the connection is gone, so its slot frees up. */
static void conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
    struct http_conn *c = ptr;
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (c == NULL)
        return;
    struct http_server *s = c->server;
    conn_unlink(c);
    http_linger_conn_gone(c->linger);
    c->linger = NULL;
    c->bev = NULL;
    if (c->in_handler == 0)
        free(c);
    s->open_connections--;
    if (s->freed) {
        if (s->open_connections == 0)
            server_release(s);
        return;
    }
    limit_check(s);
}

/* The first byte of a request starts its read deadline; evhttp's own timeout restarts on every
 * byte, so alone it lets a client trickle one header byte a second forever (slowloris). */
static void conn_on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct http_conn *c = arg;
    (void)buf;
    if (info->n_added > 0 && c->in_handler == 0 && c->request_started == 0)
        c->request_started = mono_seconds();
}

static struct http_conn *conn_of(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    return ssl ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;
}

static void conn_request_begin(struct http_conn *c)
{
    if (c == NULL)
        return;
    c->in_handler++;
    c->request_started = 0;
}

/* A request was answered: free a connection that went away meanwhile, or start the deadline of a
 * pipelined request that already sits in the input. */
static void conn_request_end(struct http_conn *c)
{
    if (c == NULL)
        return;
    c->in_handler--;
    if (c->in_handler > 0)
        return;
    if (c->bev == NULL) {
        free(c);
        return;
    }
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        c->request_started = mono_seconds();
}

/* Closes connections whose request did not arrive whole in time. Shutting the socket down lets
 * evhttp see end-of-file and free the connection on its own path. */
static void deadline_tick(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *s = arg;
    time_t now = mono_seconds();
    int closed = 0;
    (void)fd;
    (void)what;
    for (struct http_conn *c = s->conns; c != NULL; c = c->next) {
        if (c->request_started == 0 || c->in_handler > 0 ||
            now - c->request_started < s->request_read_timeout_s)
            continue;
        c->request_started = 0;
        evutil_socket_t sock = c->bev != NULL ? bufferevent_getfd(c->bev) : -1;
        if (sock >= 0 && shutdown(sock, SHUT_RDWR) == 0)
            closed++;
    }
    if (closed > 0)
        log_warn("http: closed %d connection(s) whose request did not arrive within %d s", closed,
                 s->request_read_timeout_s);
}

/* evhttp asks for the bufferevent of each accepted connection. Returning NULL would make libevent
 * 2.1 serve plain HTTP on it, so a failure here is fatal rather than silent. */
static struct bufferevent *tls_bevcb(struct event_base *base, void *arg)
{
    struct http_server *s = arg;
    SSL *ssl = SSL_new(s->tls);
    if (ssl == NULL) {
        log_error("http: SSL_new failed; refusing to fall back to plain HTTP");
        abort();
    }
    struct http_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        log_error("http: out of memory for a connection; refusing to fall back to plain HTTP");
        abort();
    }
    c->server = s;
    /* The first request's deadline starts at accept, not at its first byte: a connection that
     * never finishes its handshake or never sends a byte holds its slot that long, not
     * idle_timeout_s. */
    c->request_started = mono_seconds();
    SSL_set_ex_data(ssl, conn_ex_index, c);
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->open_connections++;
    limit_check(s);
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL || evbuffer_add_cb(bufferevent_get_input(bev), conn_on_input, c) == NULL) {
        log_error("http: bufferevent_openssl_socket_new failed; refusing plain HTTP");
        abort();
    }
    c->bev = bev;
    c->linger = http_linger_conn_new(s->linger, bev);
    return bev;
}

struct ssl_ctx_st *http_tls_context_new(const struct rb_config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* Idle keep-alive connections give their record buffers back (measured: 23 → 17 KiB each). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        const char *why = ERR_reason_error_string(ERR_get_error());
        snprintf(err, errlen, "cannot load tls_cert %s: %s", cfg->tls_cert,
                 why ? why : "unreadable or not a PEM certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "cannot load tls_key %s (or it does not match the certificate)",
                 cfg->tls_key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (cfg->tls_client_ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1) {
            snprintf(err, errlen, "cannot load tls_client_ca %s", cfg->tls_client_ca);
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
    }
    /* Tickets with our rotating keys, which outlive a reload (http_tickets.c). */
    if (!http_tickets_use(ctx, cfg->tls_client_ca, err, errlen)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
fail:; /* C11: a label names a statement, not a declaration (clang refuses it) */
    const char *why = ERR_reason_error_string(ERR_get_error());
    snprintf(err, errlen, "cannot set up TLS: %s", why ? why : "unknown error");
    SSL_CTX_free(ctx);
    return NULL;
}

/* The listener's callback argument belongs to evhttp, so its error callback finds the server
 * here; a process has one. */
static struct http_server *accept_owner;

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *s = arg;
    (void)fd;
    (void)what;
    if (!s->stopping && !s->listener_paused)
        evconnlistener_enable(s->listener);
}

/* accept() failed, typically out of descriptors (EMFILE): the pending connection stays in the
 * backlog and the socket stays readable, so pause instead of spinning on it. */
static void accept_error(struct evconnlistener *listener, void *arg)
{
    struct http_server *s = accept_owner;
    static const struct timeval pause = {0, 100000};
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    log_warn("http: accept failed: %s; pausing the listener for 100 ms",
             evutil_socket_error_to_string(err));
    evconnlistener_disable(listener);
    event_add(s->accept_resume, &pause);
}

static evutil_socket_t listen_socket(const struct rb_config *cfg, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    char addr[128];
    int one = 1;

    snprintf(addr, sizeof addr, strchr(cfg->listen, ':') ? "[%s]:%d" : "%s:%d", cfg->listen,
             cfg->port);
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0) {
        snprintf(err, errlen, "listen address %s is not a numeric address", cfg->listen);
        return -1;
    }
    evutil_socket_t fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Accepted sockets inherit TCP_NODELAY; evhttp writes headers and body separately. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* A fresh request id, for answers that evhttp starts itself (the 413 of http_linger.c). */
static void id_next(void *arg, char *out, size_t len)
{
    struct http_server *s = arg;
    snprintf(out, len, "%s%08llx", s->id_prefix, ++s->next_id);
}

static void id_make(struct http_server *s, struct http_req *r)
{
    const char *given =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "X-Request-Id");
    if (given != NULL) {
        size_t n = strlen(given);
        bool ok = n > 0 && n <= 64;
        for (size_t i = 0; ok && i < n; i++) {
            char c = given[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        }
        if (ok) {
            memcpy(r->id, given, n + 1);
            return;
        }
    }
    id_next(s, r->id, sizeof r->id);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct http_server *s = arg;
    struct http_req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        evhttp_send_error(req, 503, "Out of memory");
        return;
    }
    r->server = s;
    r->req = req;
    r->conn = conn_of(req);
    conn_request_begin(r->conn);
    r->route = "-";
    r->client[0] = '-';
    clock_gettime(CLOCK_MONOTONIC, &r->started);
    id_make(s, r);
    s->active_requests++;
    s->handler(r, s->arg);
}

struct http_server *http_server_new(struct event_base *base, const struct rb_config *cfg,
                                    http_handler handler, void *arg, char *err, size_t errlen)
{
    unsigned char rnd[4];
    struct http_server *s = calloc(1, sizeof *s);
    evutil_socket_t fd = -1;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (conn_ex_index < 0)
        conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ex_free);
    s->base = base;
    s->handler = handler;
    s->arg = arg;
    s->max_connections = cfg->max_connections;
    s->request_read_timeout_s = cfg->request_read_timeout_s;
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        memset(rnd, 0, sizeof rnd);
    snprintf(s->id_prefix, sizeof s->id_prefix, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    s->tls = http_tls_context_new(cfg, err, errlen);
    s->client_certs = cfg->tls_client_ca != NULL;
    if (s->tls == NULL)
        goto fail;
    s->linger = http_linger_new(base, id_next, s);
    if (s->linger == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    http_linger_set_limit(s->linger, cfg->max_body_bytes);
    fd = listen_socket(cfg, err, errlen);
    if (fd < 0)
        goto fail;
    s->listener = evconnlistener_new(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (s->listener == NULL) {
        close(fd);
        snprintf(err, errlen, "evconnlistener_new failed");
        goto fail;
    }
    accept_owner = s;
    evconnlistener_set_error_cb(s->listener, accept_error);
    s->accept_resume = evtimer_new(base, accept_resume, s);
    s->http = evhttp_new(base);
    if (s->accept_resume == NULL || s->http == NULL ||
        evhttp_bind_listener(s->http, s->listener) == NULL) {
        snprintf(err, errlen, "evhttp setup failed");
        goto fail;
    }
    evhttp_set_bevcb(s->http, tls_bevcb, s);
    evhttp_set_gencb(s->http, on_request, s);
    evhttp_set_timeout(s->http, cfg->idle_timeout_s);
    evhttp_set_max_body_size(s->http, cfg->max_body_bytes);
    evhttp_set_max_headers_size(s->http, cfg->max_header_bytes);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_OPTIONS);
    static const struct timeval second = {1, 0};
    s->deadline = event_new(base, -1, EV_PERSIST, deadline_tick, s);
    if (s->deadline == NULL || event_add(s->deadline, &second) != 0) {
        snprintf(err, errlen, "cannot start the request-read timer");
        goto fail;
    }
    s->tickets = true;
    if (!http_tickets_start(base, cfg->tls_ticket_rotate_s)) {
        snprintf(err, errlen, "cannot start the session ticket key timer");
        goto fail;
    }
    return s;
fail:
    if (s->http == NULL && s->listener != NULL)
        evconnlistener_free(s->listener);
    s->listener = NULL;
    http_server_free(s);
    return NULL;
}

void http_server_reload(struct http_server *s, const struct rb_config *cfg, struct ssl_ctx_st *ctx)
{
    SSL_CTX_free(s->tls); /* connections made with it hold their own reference */
    s->tls = ctx;
    s->client_certs = cfg->tls_client_ca != NULL;
    s->max_connections = cfg->max_connections;
    s->request_read_timeout_s = cfg->request_read_timeout_s;
    evhttp_set_timeout(s->http, cfg->idle_timeout_s);
    evhttp_set_max_body_size(s->http, cfg->max_body_bytes);
    http_linger_set_limit(s->linger, cfg->max_body_bytes);
    evhttp_set_max_headers_size(s->http, cfg->max_header_bytes);
    if (!http_tickets_retime(s->base, cfg->tls_ticket_rotate_s))
        log_error("reload: cannot re-time the session ticket key timer");
    limit_check(s);
}

bool http_server_client_certs(const struct http_server *s)
{
    return s->client_certs;
}

void http_server_stop_accepting(struct http_server *s)
{
    s->stopping = true;
    if (s->listener != NULL)
        evconnlistener_disable(s->listener);
}

int http_server_active_requests(const struct http_server *s)
{
    return s->active_requests;
}

int http_server_open_connections(const struct http_server *s)
{
    return s->open_connections;
}

void http_server_free(struct http_server *s)
{
    if (s == NULL)
        return;
    s->stopping = true;
    if (s->deadline != NULL)
        event_free(s->deadline);
    if (s->accept_resume != NULL)
        event_free(s->accept_resume);
    if (accept_owner == s)
        accept_owner = NULL;
    if (s->tickets)
        http_tickets_stop();
    http_linger_close_all(s->linger);
    if (s->http != NULL)
        evhttp_free(s->http); /* frees the bound listener and open connections */
    if (s->tls != NULL)
        SSL_CTX_free(s->tls);
    s->http = NULL;
    s->listener = NULL;
    s->tls = NULL;
    /* With deferred callbacks, evhttp_free leaves the bufferevents (and their SSL objects) to the
     * loop's finalizers: event_base_free runs them later, and they still count down here. */
    if (s->open_connections > 0) {
        s->freed = true;
        return;
    }
    server_release(s);
}

enum evhttp_cmd_type http_req_method(const struct http_req *r)
{
    return evhttp_request_get_command(r->req);
}

const char *http_req_method_name(const struct http_req *r)
{
    switch (evhttp_request_get_command(r->req)) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    default:
        return "OTHER";
    }
}

const char *http_req_path(const struct http_req *r)
{
    const char *p = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(r->req));
    return p != NULL && *p != '\0' ? p : "/";
}

const char *http_req_query(const struct http_req *r)
{
    return evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
}

const char *http_req_header(const struct http_req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

const char *http_req_body(struct http_req *r, size_t *len)
{
    if (r->body == NULL) {
        struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
        size_t n = evbuffer_get_length(in);
        /* A trailing NUL (not counted) makes the body a C string for parsers that want one. */
        unsigned char *p = evbuffer_add(in, "", 1) == 0 ? evbuffer_pullup(in, -1) : NULL;
        r->body = p != NULL ? (const char *)p : "";
        r->body_len = p != NULL ? n : 0;
    }
    *len = r->body_len;
    return r->body;
}

const char *http_req_id(const struct http_req *r)
{
    return r->id;
}

bool http_req_peer_cert_sha256(const struct http_req *r, char *out)
{
    static const char hex[] = "0123456789abcdef";
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    bool ok = cert != NULL && X509_digest(cert, EVP_sha256(), md, &n) == 1 && n == 32;
    X509_free(cert);
    if (!ok)
        return false;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return true;
}

void http_req_set_route(struct http_req *r, const char *route)
{
    r->route = route;
}

void http_req_add_header(struct http_req *r, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

void http_req_set_client(struct http_req *r, const char *client)
{
    snprintf(r->client, sizeof r->client, "%s", client);
}

void http_req_set_data(struct http_req *r, void *data)
{
    r->data = data;
}

void *http_req_data(const struct http_req *r)
{
    return r->data;
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

struct evhttp_request *http_req_evreq(const struct http_req *r)
{
    return r->req;
}

void http_req_reply_headers(struct http_req *r, const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* HTTPS only, and so it stays: a browser (an operator's) never tries plain HTTP here. */
    evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
    evhttp_add_header(h, "X-Request-Id", r->id);
}

void http_reply_typed(struct http_req *r, int status, const char *content_type, const char *body,
                      size_t len)
{
    struct evbuffer *out = evbuffer_new();
    http_req_reply_headers(r, content_type);
    if (out != NULL && len > 0)
        evbuffer_add(out, body, len);
    evhttp_send_reply(r->req, status, NULL, out);
    if (out != NULL)
        evbuffer_free(out);
    http_req_finish(r, status);
}

void http_req_finish(struct http_req *r, int status)
{
    double ms = elapsed_ms(&r->started);
    metrics_http(http_req_method_name(r), r->route, status, ms / 1000.0);
    log_info("%s %s %d %.1fms client=%s id=%s", http_req_method_name(r), r->route, status, ms,
             r->client, r->id);
    r->server->active_requests--;
    conn_request_end(r->conn);
    free(r);
}

void http_reply(struct http_req *r, int status, const char *body, size_t len, const char *location,
                int retry_after_s)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    if (location != NULL)
        evhttp_add_header(h, "Location", location);
    if (retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after_s);
        evhttp_add_header(h, "Retry-After", v);
    }
    if (status == 401)
        evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"reimbursed\"");
    http_reply_typed(r, status, "application/json; charset=utf-8", body, len);
}

/* An error reply: json_error_body's body, or 500 internal when it cannot be made. */
static void reply_error_body(struct http_req *r, int status, char *body, int retry_after_s)
{
    if (body == NULL) {
        http_reply(r, 500, json_error_oom, strlen(json_error_oom), NULL, 0);
        return;
    }
    http_reply(r, status, body, strlen(body), NULL, retry_after_s);
    free(body);
}

void http_reply_error_retry(struct http_req *r, int status, const char *code, const char *message,
                            int retry_after_s)
{
    reply_error_body(r, status, json_error_body(code, message, NULL, NULL), retry_after_s);
}

void http_reply_error(struct http_req *r, int status, const char *code, const char *message,
                      const char *field)
{
    reply_error_body(r, status, json_error_body(code, message, field, NULL), 0);
}
