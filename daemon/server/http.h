/* http: the HTTPS listener (evhttp over bufferevent_openssl), connection limits, and requests. */
#ifndef RB_HTTP_H
#define RB_HTTP_H

#include "config.h"

#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>

struct http_server;
struct http_req;

/* Called once per request; the handler must end it with exactly one http_reply*(). */
typedef void (*http_handler)(struct http_req *r, void *arg);

struct http_server *http_server_new(struct event_base *base, const struct rb_config *cfg,
                                    http_handler handler, void *arg, char *err, size_t errlen);
void http_server_stop_accepting(struct http_server *s);
/* Builds the TLS context a configuration asks for (certificate, key, optional client CA). */
struct ssl_ctx_st *http_tls_context_new(const struct rb_config *cfg, char *err, size_t errlen);
/* Takes a new TLS context (for new handshakes; open connections keep theirs) and the reloadable
 * limits. The server owns ctx afterwards. */
void http_server_reload(struct http_server *s, const struct rb_config *cfg, struct ssl_ctx_st *ctx);
bool http_server_client_certs(const struct http_server *s);
int http_server_active_requests(const struct http_server *s);
int http_server_open_connections(const struct http_server *s);
void http_server_free(struct http_server *s);

enum evhttp_cmd_type http_req_method(const struct http_req *r);
const char *http_req_method_name(const struct http_req *r);
const char *http_req_path(const struct http_req *r);
const char *http_req_query(const struct http_req *r); /* NULL when absent */
const char *http_req_header(const struct http_req *r, const char *name);
/* The whole body, contiguous; NUL-terminated for convenience (len excludes the NUL). */
const char *http_req_body(struct http_req *r, size_t *len);
const char *http_req_id(const struct http_req *r);
/* Hex SHA-256 of the client certificate (DER) into out (65 bytes); false without one. */
bool http_req_peer_cert_sha256(const struct http_req *r, char *out);
/* Labels for the access log line: the route pattern and the authenticated client's name. */
void http_req_set_route(struct http_req *r, const char *route);
/* An extra response header, for the reply still to come. */
void http_req_add_header(struct http_req *r, const char *name, const char *value);
void http_req_set_client(struct http_req *r, const char *client);
/* The caller's per-request state, freed by the caller before it replies. */
void http_req_set_data(struct http_req *r, void *data);
void *http_req_data(const struct http_req *r);

/* Sends the reply and frees the request. `location` may be NULL; retry_after_s > 0 adds
 * Retry-After. The body is JSON unless content_type says otherwise. */
void http_reply(struct http_req *r, int status, const char *body, size_t len, const char *location,
                int retry_after_s);
void http_reply_typed(struct http_req *r, int status, const char *content_type, const char *body,
                      size_t len);
/* A reply written in pieces as it is made (chunked), for large reads. on_drain: the client took
 * what was written, the writer may go on after http_stream_write said to wait; on_gone: the
 * client went away (then end or abort the stream, nothing else). NULL when the client is already
 * gone (then reply as usual). */
struct http_stream;
typedef void (*http_stream_cb)(void *arg);
struct http_stream *http_stream_start(struct http_req *r, int status, const char *content_type,
                                      http_stream_cb on_drain, http_stream_cb on_gone, void *arg);
/* Appends bytes; false when the writer should wait for on_drain (the client's output buffer is
 * above its high-water mark) or the client is gone. */
bool http_stream_write(struct http_stream *s, const void *p, size_t n);
/* The last chunk; frees the request and the stream. */
void http_stream_end(struct http_stream *s);
/* Ends the connection without the last chunk, so the client sees an incomplete reply (an error
 * after the reply started); frees the request and the stream. */
void http_stream_abort(struct http_stream *s, const char *why);

/* Replies with json_error_body's body (json_error.h); field may be NULL. */
void http_reply_error(struct http_req *r, int status, const char *code, const char *message,
                      const char *field);
void http_reply_error_retry(struct http_req *r, int status, const char *code, const char *message,
                            int retry_after_s);

#endif
