/* main: start-up, signals and orderly shutdown of the reimbursed daemon. */
#include "api.h"
#include "config.h"
#include "db.h"
#include "db_conninfo.h"
#include "db_role.h"
#include "http.h"
#include "ledger_sie.h"
#include "log.h"
#include "metrics_http.h"
#include "notify.h"

#include <event2/event.h>
#include <getopt.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#define DRAIN_DEADLINE_S 10

struct daemon {
    struct event_base *base;
    struct rb_config cfg;
    struct db_pool *pool;
    struct api *api;
    struct http_server *http;
    struct metrics_server *metrics;
    const char *path;
    struct event *sigterm, *sigint, *sighup, *drain, *watchdog, *role_tick;
    struct timespec drain_started;
    bool draining;
    bool role_pending; /* the role check is in the pool */
    bool role_warned;
    int exit_code;
};

static const struct db_stmt role_stmt = {"rb_role_check", db_role_check_sql, 0};

static void usage(FILE *f)
{
    fprintf(f, "usage: reimbursed -c FILE\n"
               "  -c FILE   configuration file (key = value lines)\n"
               "  -t        check the configuration and exit\n"
               "  -V        print the version\n");
}

/* Every client connection, pooled connection and accrual connection needs a descriptor. Outside
 * systemd (LimitNOFILE) the soft limit is often 1024, below max_connections plus the rest, and an
 * accept() failing with EMFILE would be the symptom; raise the soft limit as far as allowed. */
static void fd_limit_raise(const struct rb_config *cfg)
{
    struct rlimit rl;
    rlim_t need =
        (rlim_t)cfg->max_connections + (rlim_t)cfg->db_pool_size + (rlim_t)cfg->accrual_jobs + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need)
        log_warn("max_connections = %d needs %llu file descriptors, the limit is %llu: "
                 "connections beyond it wait for a free one",
                 cfg->max_connections, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
}

/* Waits for in-flight requests to finish, up to the deadline, then leaves the loop. */
static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int active = http_server_active_requests(d->http);
    if (active == 0 || now.tv_sec - d->drain_started.tv_sec >= DRAIN_DEADLINE_S) {
        if (active > 0)
            log_warn("shutdown: %d requests still running at the deadline", active);
        event_base_loopexit(d->base, NULL);
    }
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;
    (void)what;
    if (d->draining)
        return;
    log_info("signal %d: stopping; no new connections, finishing requests in flight", (int)sig);
    notify_stopping();
    d->draining = true;
    clock_gettime(CLOCK_MONOTONIC, &d->drain_started);
    http_server_stop_accepting(d->http);
    struct timeval tick = {0, 50000};
    d->drain = event_new(d->base, -1, EV_PERSIST, drain_tick, d);
    event_add(d->drain, &tick);
}

static bool config_complete(const struct rb_config *cfg, const char *path, char *err, size_t errlen)
{
    const char *missing = cfg->tls_cert == NULL  ? "tls_cert"
                          : cfg->tls_key == NULL ? "tls_key"
                          : cfg->db == NULL      ? "db"
                                                 : NULL;
    if (missing != NULL) {
        snprintf(err, errlen, "%s: the key '%s' is required", path, missing);
        return false;
    }
    return true;
}

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* Keys that need a restart keep their running values; say so rather than half-apply them. */
static void keep_restart_keys(struct rb_config *running, struct rb_config *next)
{
    if (str_differs(running->listen, next->listen) || running->port != next->port ||
        str_differs(running->db, next->db) || running->db_pool_size != next->db_pool_size ||
        running->db_queue_max != next->db_queue_max || running->db_prepared != next->db_prepared ||
        running->request_timeout_s != next->request_timeout_s ||
        str_differs(running->metrics_listen, next->metrics_listen))
        log_warn("reload: listen, port, db, db_pool_size, db_queue_max, db_prepared, "
                 "request_timeout_s and metrics_listen take effect at the next restart");
    char *tmp = next->listen;
    next->listen = running->listen;
    running->listen = tmp;
    tmp = next->db;
    next->db = running->db;
    running->db = tmp;
    tmp = next->metrics_listen;
    next->metrics_listen = running->metrics_listen;
    running->metrics_listen = tmp;
    next->port = running->port;
    next->db_pool_size = running->db_pool_size;
    next->db_queue_max = running->db_queue_max;
    next->db_prepared = running->db_prepared;
    next->request_timeout_s = running->request_timeout_s;
}

/* SIGHUP: build the whole new configuration and TLS context first, then swap; a bad file or
 * certificate leaves everything as it was. Open connections are not touched. */
static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;
    struct rb_config next;
    char err[512];
    (void)sig;
    (void)what;
    notify_reloading();
    config_defaults(&next);
    SSL_CTX *ctx = NULL;
    if (!config_load(d->path, &next, err, sizeof err) ||
        !config_complete(&next, d->path, err, sizeof err) ||
        (ctx = http_tls_context_new(&next, err, sizeof err)) == NULL) {
        log_error("reload refused, keeping the running configuration: %s", err);
        config_free(&next);
        notify_ready("serving; the last reload was refused (see the log)");
        return;
    }
    keep_restart_keys(&d->cfg, &next);
    http_server_reload(d->http, &next, ctx);
    log_set_level((enum log_level)next.log_level);
    config_free(&d->cfg);
    d->cfg = next;
    log_info("configuration and certificates reloaded from %s", d->path);
    notify_ready("serving; configuration reloaded");
}

/* The answer to the role check: a good role opens the api, a bad one stops the daemon (exit 1,
 * the reason in the log), no answer yet means the next tick asks again. */
static void on_role_checked(enum db_status st, const PGresult *res, void *arg)
{
    struct daemon *d = arg;
    char err[512];
    d->role_pending = false;
    if (st != DB_OK && st != DB_ERROR)
        return;
    enum db_role_verdict v = db_role_judge(res, err, sizeof err);
    if (v == DB_ROLE_OK) {
        log_info("database role checked: row-level security applies to it");
        api_set_role_checked(d->api, true);
        event_del(d->role_tick);
    } else if (v == DB_ROLE_BYPASSES && !d->draining) {
        log_error("%s; stopping", err);
        d->exit_code = 1;
        event_base_loopexit(d->base, NULL);
    } else if (v == DB_ROLE_UNKNOWN && !d->role_warned) {
        log_warn("%s; trying again", err);
        d->role_warned = true;
    }
}

static void role_tick(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;
    (void)fd;
    (void)what;
    if (!d->role_pending)
        d->role_pending = db_submit(d->pool, &role_stmt, NULL, on_role_checked, d) == DB_OK;
}

/* The role is checked through the pool, as the first statement once a connection is up (one
 * statement, so through a transaction pooler too, and no start-up delay when a host hangs);
 * until it passes, the api answers 503 to everything that needs the database. */
static bool role_check_start(struct daemon *d)
{
    struct timeval every = {0, 20000}; /* cheap: db_submit returns at once with no connection */
    d->role_tick = event_new(d->base, -1, EV_PERSIST, role_tick, d);
    if (d->role_tick == NULL || event_add(d->role_tick, &every) != 0)
        return false;
    api_set_role_checked(d->api, false);
    return true;
}

/* Pings systemd from the loop itself, so a stuck loop is noticed and restarted. */
static void watchdog_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    notify_watchdog();
}

static void daemon_free(struct daemon *d)
{
    /* The pool first: its last callbacks still reply on open connections. */
    db_pool_free(d->pool);
    metrics_server_free(d->metrics);
    http_server_free(d->http);
    api_free(d->api);
    struct event *evs[] = {d->sigterm, d->sigint, d->sighup, d->drain, d->watchdog, d->role_tick};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    if (d->base)
        event_base_free(d->base);
    config_free(&d->cfg);
}

int main(int argc, char **argv)
{
    struct daemon d;
    const char *path = NULL;
    bool check_only = false;
    char err[512];
    int opt;

    memset(&d, 0, sizeof d);
    while ((opt = getopt(argc, argv, "c:tVh")) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            check_only = true;
            break;
        case 'V':
            printf("reimbursed %s\n", REIMBURSED_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    config_defaults(&d.cfg);
    if (!config_load(path, &d.cfg, err, sizeof err)) {
        fprintf(stderr, "reimbursed: %s\n", err);
        config_free(&d.cfg);
        return 2;
    }
    if (!config_complete(&d.cfg, path, err, sizeof err)) {
        fprintf(stderr, "reimbursed: %s\n", err);
        config_free(&d.cfg);
        return 2;
    }
    d.path = path;
    if (check_only) {
        SSL_CTX *ctx = http_tls_context_new(&d.cfg, err, sizeof err);
        if (ctx == NULL) {
            fprintf(stderr, "reimbursed: %s\n", err);
            config_free(&d.cfg);
            return 2;
        }
        SSL_CTX_free(ctx);
        printf("%s: configuration is valid\n", path);
        config_free(&d.cfg);
        return 0;
    }
    log_init((enum log_level)d.cfg.log_level);
    notify_init();
    signal(SIGPIPE, SIG_IGN);
    fd_limit_raise(&d.cfg);

    d.base = event_base_new();
    if (d.base == NULL)
        goto fail;
    /* Host names are resolved here, once, so that reconnecting never blocks on DNS. */
    char *conninfo = db_conninfo_resolve(d.cfg.db, err, sizeof err);
    if (conninfo == NULL) {
        log_error("%s", err);
        goto fail;
    }
    d.pool = db_pool_new(d.base, conninfo, d.cfg.db_pool_size, d.cfg.db_queue_max,
                         d.cfg.request_timeout_s, d.cfg.db_prepared);
    d.api = d.pool ? api_new(d.base, d.pool, &d.cfg, conninfo) : NULL;
    if (d.api == NULL) {
        free(conninfo);
        log_error("cannot set up the database pool");
        goto fail;
    }
    free(conninfo);
    if (!role_check_start(&d))
        goto fail;
    d.http = http_server_new(d.base, &d.cfg, api_handle, d.api, err, sizeof err);
    if (d.http == NULL) {
        log_error("%s", err);
        goto fail;
    }
    api_set_http(d.api, d.http);
    /* Not fatal: the API serves on; the scrape's alert (RUNBOOK.md) notices the gap. */
    if (!metrics_server_start(d.base, d.cfg.metrics_listen, d.pool, &d.metrics, err, sizeof err))
        log_error("%s; no metrics are served", err);
    metrics_server_set_http(d.metrics, d.http);
    uint64_t wd = notify_watchdog_usec();
    if (wd > 0) {
        struct timeval half = {(time_t)(wd / 2000000), (suseconds_t)(wd / 2 % 1000000)};
        d.watchdog = event_new(d.base, -1, EV_PERSIST, watchdog_tick, NULL);
        if (d.watchdog == NULL || event_add(d.watchdog, &half) != 0)
            goto fail;
    }
    d.sigterm = evsignal_new(d.base, SIGTERM, on_stop_signal, &d);
    d.sigint = evsignal_new(d.base, SIGINT, on_stop_signal, &d);
    d.sighup = evsignal_new(d.base, SIGHUP, on_sighup, &d);
    if (!d.sigterm || !d.sigint || !d.sighup || event_add(d.sigterm, NULL) ||
        event_add(d.sigint, NULL) || event_add(d.sighup, NULL))
        goto fail;
    log_info("reimbursed %s listening on https://%s:%d (pool %d, max_connections %d)",
             REIMBURSED_VERSION, d.cfg.listen, d.cfg.port, d.cfg.db_pool_size,
             d.cfg.max_connections);
    notify_ready("serving");
    event_base_dispatch(d.base);
    /* The signal events go with the loop: a second SIGTERM must not kill the clean-up. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    log_info("stopped");
    notify_close();
    daemon_free(&d);
    return d.exit_code;
fail:
    daemon_free(&d);
    return 1;
}
