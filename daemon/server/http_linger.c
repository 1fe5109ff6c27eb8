/* http_linger: a body over max_body_bytes is refused by evhttp itself, as soon as the header (or
 * the chunk that crosses the limit) says so, with an HTML 413 and then a close(). A client that is
 * still sending (Python's http.client, Java's and .NET's clients send the whole body before they
 * read) then gets a reset, and its TCP stack drops the 413 it had not read yet.
 *
 * So, as nginx does: the 413 becomes our JSON error (libevent 2.1 has no hook for its error pages:
 * the answer is rewritten in the output buffer before it is sent), the socket is kept (a dup of
 * its descriptor) when evhttp closes it, and after evhttp has flushed the answer and shut the
 * write side down, what the client still sends is read and thrown away until it closes, goes
 * quiet for LINGER_IDLE_S, LINGER_TOTAL_S have passed or LINGER_MAX_BYTES were discarded; then
 * the socket is closed. At most LINGER_MAX_SOCKETS linger at once; beyond that, the old close. */
#include "http_linger.h"

#include "http.h"
#include "json_error.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINGER_IDLE_S 5
#define LINGER_TOTAL_S 30
#define LINGER_MAX_BYTES (64L << 20)
#define LINGER_MAX_SOCKETS 64

struct lingerer {
    struct http_linger *l;
    struct lingerer *prev, *next;
    evutil_socket_t fd;
    struct event *ev;
    time_t until; /* monotonic second */
    long left;    /* bytes still to discard */
};

struct http_linger {
    struct event_base *base;
    http_linger_id_fn id;
    void *id_arg;
    long max_body_bytes;
    struct lingerer *socks;
    int held; /* descriptors kept: lingering sockets and 413 connections not yet closed */
    bool closing;
};

struct http_linger_conn {
    struct http_linger *l;
    struct bufferevent *bev;
    struct evbuffer_cb_entry *watch;
    struct event *rewrite; /* set while evhttp's 413 waits in the output */
    evutil_socket_t fd;    /* the kept socket after a 413; -1 */
    bool answered;
};

static time_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}

struct http_linger *http_linger_new(struct event_base *base, http_linger_id_fn id, void *id_arg)
{
    struct http_linger *l = malloc(sizeof *l);
    if (l != NULL)
        *l = (struct http_linger){.base = base, .id = id, .id_arg = id_arg, .max_body_bytes = 0};
    return l;
}

void http_linger_set_limit(struct http_linger *l, long max_body_bytes)
{
    if (l != NULL)
        l->max_body_bytes = max_body_bytes;
}

static void linger_end(struct lingerer *g)
{
    struct http_linger *l = g->l;
    if (g->prev != NULL)
        g->prev->next = g->next;
    else
        l->socks = g->next;
    if (g->next != NULL)
        g->next->prev = g->prev;
    event_free(g->ev);
    close(g->fd);
    l->held--;
    free(g);
}

/* Discards what arrived; ends at end-of-file, an error, the byte budget, the total deadline, or
 * LINGER_IDLE_S without a byte (the persistent event's timeout restarts on every read). */
static void linger_read(evutil_socket_t fd, short what, void *arg)
{
    static char sink[16384];
    struct lingerer *g = arg;
    if (what & EV_TIMEOUT) {
        linger_end(g);
        return;
    }
    for (;;) {
        ssize_t n = recv(fd, sink, sizeof sink, 0);
        if (n > 0) {
            g->left -= n;
            if (g->left > 0)
                continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (mono_now() < g->until)
                return;
        }
        linger_end(g);
        return;
    }
}

static void linger_start(struct http_linger *l, evutil_socket_t fd)
{
    static const struct timeval idle = {LINGER_IDLE_S, 0};
    struct lingerer *g = l->closing ? NULL : calloc(1, sizeof *g);
    if (g != NULL) {
        g->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, linger_read, g);
        if (g->ev == NULL || event_add(g->ev, &idle) != 0) {
            if (g->ev != NULL)
                event_free(g->ev);
            free(g);
            g = NULL;
        }
    }
    if (g == NULL) {
        close(fd);
        l->held--;
        return;
    }
    /* evhttp shut the write side down already, after the answer; this is for clarity. */
    shutdown(fd, SHUT_WR);
    g->l = l;
    g->fd = fd;
    g->until = mono_now() + LINGER_TOTAL_S;
    g->left = LINGER_MAX_BYTES;
    g->next = l->socks;
    if (l->socks != NULL)
        l->socks->prev = g;
    l->socks = g;
}

/* Replaces evhttp's HTML 413, written whole into the output by now and not yet sent, with the
 * JSON error, and keeps the socket for the lingering close. */
static void rewrite_413(evutil_socket_t unused, short what, void *arg)
{
    struct http_linger_conn *lc = arg;
    struct http_linger *l = lc->l;
    struct evbuffer *out = bufferevent_get_output(lc->bev);
    char id[72], msg[128], version[9] = "HTTP/1.1";
    (void)unused;
    (void)what;
    event_free(lc->rewrite);
    lc->rewrite = NULL;
    lc->answered = true;
    l->id(l->id_arg, id, sizeof id);
    snprintf(msg, sizeof msg, "the request body is over %ld bytes (max_body_bytes)",
             l->max_body_bytes);
    char *body = json_error_body("payload_too_large", msg, NULL, NULL);
    evbuffer_copyout(out, version, 8);
    if (body != NULL) {
        evbuffer_drain(out, evbuffer_get_length(out));
        evbuffer_add_printf(out,
                            "%s 413 Payload Too Large\r\n"
                            "Content-Type: application/json; charset=utf-8\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n"
                            "Cache-Control: no-store\r\n"
                            "Strict-Transport-Security: max-age=31536000\r\n"
                            "X-Request-Id: %s\r\n\r\n%s",
                            version, strlen(body), id, body);
        free(body);
    }
    metrics_http("-", "-", 413, 0.0);
    log_info("- - 413 0.0ms client=- id=%s (body over max_body_bytes)", id);
    evutil_socket_t fd = bufferevent_getfd(lc->bev);
    if (fd >= 0 && l->held < LINGER_MAX_SOCKETS && !l->closing) {
        lc->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (lc->fd >= 0)
            l->held++;
    } else if (fd >= 0) {
        log_warn("http: %d sockets linger already; closing this one at once", l->held);
    }
}

/* Output callback: the first bytes of an answer are evhttp's status line. Only evhttp's own error
 * path writes a 413 (the daemon's handlers never answer 413); the rest of it follows in the same
 * call chain, so the rewrite waits for an event activated now, which runs before the loop polls
 * again and so before the socket can be written. */
static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct http_linger_conn *lc = arg;
    unsigned char head[13];
    if (lc->answered || lc->rewrite != NULL || info->orig_size != 0 || info->n_added < 13 ||
        evbuffer_copyout(buf, head, sizeof head) != (ev_ssize_t)sizeof head ||
        memcmp(head, "HTTP/1.", 7) != 0 || memcmp(head + 8, " 413 ", 5) != 0)
        return;
    lc->rewrite = event_new(lc->l->base, -1, 0, rewrite_413, lc);
    if (lc->rewrite != NULL)
        event_active(lc->rewrite, EV_TIMEOUT, 1);
}

struct http_linger_conn *http_linger_conn_new(struct http_linger *l, struct bufferevent *bev)
{
    struct http_linger_conn *lc = l != NULL ? calloc(1, sizeof *lc) : NULL;
    if (lc == NULL)
        return NULL;
    lc->l = l;
    lc->bev = bev;
    lc->fd = -1;
    lc->watch = evbuffer_add_cb(bufferevent_get_output(bev), on_output, lc);
    if (lc->watch != NULL)
        return lc;
    free(lc);
    return NULL;
}

void http_linger_conn_gone(struct http_linger_conn *lc)
{
    if (lc == NULL)
        return;
    if (lc->rewrite != NULL)
        event_free(lc->rewrite);
    evbuffer_remove_cb_entry(bufferevent_get_output(lc->bev), lc->watch);
    if (lc->fd >= 0)
        linger_start(lc->l, lc->fd);
    free(lc);
}

void http_linger_close_all(struct http_linger *l)
{
    if (l != NULL) {
        l->closing = true;
        while (l->socks != NULL)
            linger_end(l->socks);
    }
}

void http_linger_free(struct http_linger *l)
{
    free(l);
}
