/* config: the daemon's `key = value` configuration file. */
#ifndef RB_CONFIG_H
#define RB_CONFIG_H

#include "ledger_sie.h"

#include <stdbool.h>
#include <stddef.h>

struct rb_config {
    char *listen; /* address to bind, numeric */
    int port;
    char *tls_cert;      /* PEM certificate chain */
    char *tls_key;       /* PEM private key */
    char *tls_client_ca; /* PEM CA bundle; when set, clients must present a bound certificate */
    char *db;            /* libpq conninfo of the daemon's role */
    char *db_admin;      /* libpq conninfo of the owner role (migrations) */
    int db_pool_size;
    bool db_prepared; /* named prepared statements; off behind pgbouncer < 1.21 */
    int db_queue_max;
    int accrual_jobs;
    /* connections an accrual run uses at once */ /* requests that may wait for a connection */
    long max_body_bytes;
    long max_header_bytes;
    int max_connections;
    int request_timeout_s;
    int idle_timeout_s;
    int request_read_timeout_s; /* a started request must arrive whole within this */
    int tls_ticket_rotate_s;    /* a new session-ticket key this often; the previous one decrypts */
    int log_level;              /* enum log_level */
    char *sie_chart;            /* overrides of the SIE chart of accounts, "name=number,..." */
    char *metrics_listen;       /* "ADDRESS:PORT" of the plain-HTTP /metrics listener, or "off" */
    /* Idempotency-Keys are kept this many hours, then deleted by the nightly job */
    int idempotency_retention_h;
    struct ledger_chart chart; /* the defaults with sie_chart applied, checked when parsed */
};

void config_defaults(struct rb_config *cfg);
/* Parses `text` (named `name` in errors). On failure err holds "name:line: what". */
bool config_parse(const char *name, const char *text, struct rb_config *cfg, char *err,
                  size_t errlen);
bool config_load(const char *path, struct rb_config *cfg, char *err, size_t errlen);
void config_free(struct rb_config *cfg);
/* Splits "ADDRESS:PORT" ("[v6]:PORT" for IPv6) with a numeric address into addr and port;
 * false when it is not one. "off" is not an address: check for it first. */
bool config_addr_port(const char *spec, char *addr, size_t addrlen, int *port);

#endif
