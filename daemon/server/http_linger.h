/* http_linger: the 413 for a body over max_body_bytes as our JSON error, then a lingering close,
 * so that a client that sends its whole body before reading still reads the answer. */
#ifndef RB_HTTP_LINGER_H
#define RB_HTTP_LINGER_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stddef.h>

struct http_linger;      /* per server: the sockets still lingering */
struct http_linger_conn; /* per connection: the watch on its output */

/* Writes a fresh request id (for the 413's X-Request-Id) into out. */
typedef void (*http_linger_id_fn)(void *arg, char *out, size_t len);

struct http_linger *http_linger_new(struct event_base *base, http_linger_id_fn id, void *id_arg);
/* The limit the 413's message names (max_body_bytes). */
void http_linger_set_limit(struct http_linger *l, long max_body_bytes);
/* Closes every lingering socket now, and lingers no more (shutdown). */
void http_linger_close_all(struct http_linger *l);
/* After http_linger_close_all and once every connection is gone. */
void http_linger_free(struct http_linger *l);

/* Watches a new connection's output for evhttp's own 413; NULL when out of memory (then that
 * connection gets evhttp's HTML 413 and no lingering close). */
struct http_linger_conn *http_linger_conn_new(struct http_linger *l, struct bufferevent *bev);
/* The connection is being freed (its descriptor closed): after a 413 its socket lingers. */
void http_linger_conn_gone(struct http_linger_conn *lc);

#endif
