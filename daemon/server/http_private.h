/* http_private: what http.c shares with http_stream.c (a reply written in pieces); not for the
 * api layer. */
#ifndef RB_HTTP_PRIVATE_H
#define RB_HTTP_PRIVATE_H

#include "http.h"

#include <event2/http.h>

struct evhttp_request *http_req_evreq(const struct http_req *r);
/* Content-Type, Cache-Control, Strict-Transport-Security and X-Request-Id of every reply. */
void http_req_reply_headers(struct http_req *r, const char *content_type);
/* The reply was handed to evhttp (or the connection is gone): access log, metrics, the
 * connection's accounting; frees r. */
void http_req_finish(struct http_req *r, int status);

#endif
