/* metrics_http: GET /metrics on its own plain-HTTP listener (`metrics_listen`), for the local
 * Prometheus; the public HTTPS port never serves it. */
#ifndef RB_METRICS_HTTP_H
#define RB_METRICS_HTTP_H

#include "db.h"
#include "http.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

struct metrics_server;

/* Binds `spec` ("ADDRESS:PORT", as config_addr_port takes it) on base; *out is the server.
 * "off": true with *out NULL. A bind that fails: false, err says why. */
bool metrics_server_start(struct event_base *base, const char *spec, struct db_pool *pool,
                          struct metrics_server **out, char *err, size_t errlen);
/* The HTTPS server whose open connections the metrics show. */
void metrics_server_set_http(struct metrics_server *m, const struct http_server *http);
/* After db_pool_free: the pool's last callbacks may still reach the server. */
void metrics_server_free(struct metrics_server *m);

#endif
