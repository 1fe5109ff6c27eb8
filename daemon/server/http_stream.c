/* http_stream: a reply written as it is made (chunked transfer encoding), with flow control on
 * the client's socket. Bytes are gathered into chunks of CHUNK_BYTES; once the connection's
 * output buffer holds more than HIGH_WATER bytes the writer is told to pause, and it is told to go
 * on when evhttp reports the output written (its write callback runs when the buffer is empty).
 * A client that goes away is reported through the connection's close callback. The socket's send
 * buffer is capped for the stream, so that what a slow client has not taken stays bounded. */
#include "http.h"

#include "http_private.h"
#include "log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CHUNK_BYTES (16 * 1024)
#define HIGH_WATER (256 * 1024)
/* The socket's send buffer during a stream (the kernel doubles it): without a cap Linux grows it
 * to tcp_wmem's maximum (4 MiB), so a client that stops reading would still take megabytes of
 * kernel memory per connection before the daemon noticed. */
#define SOCKET_SNDBUF (128 * 1024)

struct http_stream {
    struct http_req *r;
    struct evhttp_request *req;
    struct evhttp_connection *evcon; /* NULL once the client is gone */
    struct evbuffer *chunk;
    http_stream_cb on_drain, on_gone;
    void *arg;
    int status;
    bool paused;   /* the writer was told to wait for on_drain */
    bool detached; /* evhttp let go of req when the connection went: ours to free */
    bool ending;   /* the writer is done: the last chunk goes once the output is written */
};

static void stream_finish(struct http_stream *s);

/* The output buffer was written out: the writer may go on. */
static void on_written(struct evhttp_connection *evcon, void *arg)
{
    struct http_stream *s = arg;
    (void)evcon;
    if (s->ending) {
        stream_finish(s);
        return;
    }
    if (s->paused && s->evcon != NULL) {
        s->paused = false;
        s->on_drain(s->arg);
    }
}

/* The connection is being freed (the client closed it, a write failed or timed out). */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct http_stream *s = arg;
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    s->evcon = NULL;
    s->detached = evhttp_request_get_connection(s->req) == NULL;
    if (s->ending)
        stream_finish(s);
    else
        s->on_gone(s->arg);
}

struct http_stream *http_stream_start(struct http_req *r, int status, const char *content_type,
                                      http_stream_cb on_drain, http_stream_cb on_gone, void *arg)
{
    struct http_stream *s = calloc(1, sizeof *s);
    struct evhttp_request *req = http_req_evreq(r);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (s == NULL || evcon == NULL || (s->chunk = evbuffer_new()) == NULL) {
        free(s);
        return NULL;
    }
    s->r = r;
    s->req = req;
    s->evcon = evcon;
    s->on_drain = on_drain;
    s->on_gone = on_gone;
    s->arg = arg;
    s->status = status;
    int sndbuf = SOCKET_SNDBUF;
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    http_req_reply_headers(r, content_type);
    evhttp_send_reply_start(req, status, NULL);
    evhttp_connection_set_closecb(evcon, on_close, s);
    return s;
}

static bool flush_chunk(struct http_stream *s)
{
    if (s->evcon == NULL)
        return false;
    if (evbuffer_get_length(s->chunk) > 0)
        evhttp_send_reply_chunk_with_cb(s->req, s->chunk, on_written, s);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
    if (evbuffer_get_length(bufferevent_get_output(bev)) <= HIGH_WATER)
        return true;
    s->paused = true;
    return false;
}

bool http_stream_write(struct http_stream *s, const void *p, size_t n)
{
    if (s->evcon == NULL)
        return false;
    if (n > 0 && evbuffer_add(s->chunk, p, n) != 0)
        return false;
    if (evbuffer_get_length(s->chunk) < CHUNK_BYTES)
        return !s->paused;
    return flush_chunk(s);
}

static void stream_free(struct http_stream *s)
{
    evbuffer_free(s->chunk);
    free(s);
}

/* The last chunk (or, without a connection, only the request freed), then the access log. */
static void stream_finish(struct http_stream *s)
{
    if (s->evcon != NULL) {
        evhttp_connection_set_closecb(s->evcon, NULL, NULL);
        evhttp_send_reply_end(s->req);
    } else if (s->detached) {
        evhttp_send_reply_end(s->req); /* without a connection: frees req */
    }
    http_req_finish(s->r, s->status);
    stream_free(s);
}

/* The last chunk is written only once the output before it went out: evhttp (2.1) ending a
 * chunked reply on a full output buffer of a TLS connection was seen to leave the rest
 * unwritten. */
void http_stream_end(struct http_stream *s)
{
    if (s->evcon == NULL) {
        stream_finish(s);
        return;
    }
    flush_chunk(s);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        stream_finish(s);
        return;
    }
    s->ending = true; /* on_written (or on_close) finishes */
}

void http_stream_abort(struct http_stream *s, const char *why)
{
    log_warn("http: a streamed reply was cut short: %s (id=%s)", why, http_req_id(s->r));
    if (s->evcon != NULL) {
        /* No last chunk: the client sees the reply end early. evhttp frees req with the
         * connection. */
        struct evhttp_connection *evcon = s->evcon;
        evhttp_connection_set_closecb(evcon, NULL, NULL);
        s->evcon = NULL;
        evhttp_connection_free(evcon);
    } else if (s->detached) {
        evhttp_request_free(s->req);
    }
    http_req_finish(s->r, s->status);
    stream_free(s);
}
