/* fuzz_config: config_parse, and ledger_chart_parse on the sie_chart value it accepts.
 *
 * Invariants: an accepted file gives values within each key's range and string values with no
 * line end; writing the parsed configuration back as `key = "value"` lines and parsing that
 * gives the same configuration (so nothing is lost or reinterpreted); a refused file gives one
 * "name:line: ..." message; nothing leaks either way. A sie_chart that ledger_chart_parse accepts
 * maps every account to a four-digit number. */
#include "fuzz_util.h"

#include "config.h"
#include "ledger_sie.h"
#include "log.h"

#include <stdarg.h>

struct text {
    char *p;
    size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        if (t->p == NULL)
            abort();
    }
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static const char *level_name(int level)
{
    switch (level) {
    case LOG_LEVEL_ERROR:
        return "error";
    case LOG_LEVEL_WARN:
        return "warn";
    case LOG_LEVEL_INFO:
        return "info";
    case LOG_LEVEL_DEBUG:
        return "debug";
    }
    FUZZ_CHECK(0, "log level %d", level);
    return "";
}

static void string_ok(const char *key, const char *v)
{
    if (v == NULL)
        return;
    FUZZ_CHECK(v[0] != '\0', "%s is empty", key);
    FUZZ_CHECK(strchr(v, '\n') == NULL, "%s holds a line end", key);
}

static void serialise(const struct rb_config *c, struct text *t)
{
    const char *names[] = {"listen", "tls_cert", "tls_key",  "tls_client_ca",
                           "db",     "db_admin", "sie_chart"};
    const char *vals[] = {c->listen, c->tls_cert, c->tls_key,  c->tls_client_ca,
                          c->db,     c->db_admin, c->sie_chart};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (vals[i] != NULL)
            add(t, "%s = \"%s\"\n", names[i], vals[i]);
    add(t,
        "port=%d\ndb_pool_size=%d\ndb_prepared=%s\ndb_queue_max=%d\naccrual_jobs=%d\n"
        "max_body_bytes=%ld\nmax_header_bytes=%ld\nmax_connections=%d\nrequest_timeout_s=%d\n"
        "idle_timeout_s=%d\nlog_level=%s\n",
        c->port, c->db_pool_size, c->db_prepared ? "on" : "off", c->db_queue_max, c->accrual_jobs,
        c->max_body_bytes, c->max_header_bytes, c->max_connections, c->request_timeout_s,
        c->idle_timeout_s, level_name(c->log_level));
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_same(const struct rb_config *a, const struct rb_config *b)
{
    FUZZ_CHECK(same_str(a->listen, b->listen) && same_str(a->tls_cert, b->tls_cert) &&
                   same_str(a->tls_key, b->tls_key) &&
                   same_str(a->tls_client_ca, b->tls_client_ca) && same_str(a->db, b->db) &&
                   same_str(a->db_admin, b->db_admin) && same_str(a->sie_chart, b->sie_chart),
               "a string value changed on the round trip");
    FUZZ_CHECK(a->port == b->port && a->db_pool_size == b->db_pool_size &&
                   a->db_prepared == b->db_prepared && a->db_queue_max == b->db_queue_max &&
                   a->accrual_jobs == b->accrual_jobs && a->max_body_bytes == b->max_body_bytes &&
                   a->max_header_bytes == b->max_header_bytes &&
                   a->max_connections == b->max_connections &&
                   a->request_timeout_s == b->request_timeout_s &&
                   a->idle_timeout_s == b->idle_timeout_s && a->log_level == b->log_level,
               "a number changed on the round trip");
}

static void check_chart(const char *spec)
{
    struct ledger_chart ch;
    char err[160];
    ledger_chart_defaults(&ch);
    err[0] = '\0';
    if (!ledger_chart_parse(spec, &ch, err, sizeof err)) {
        FUZZ_CHECK(strncmp(err, "sie_chart: ", 11) == 0, "chart error '%s'", err);
        return;
    }
    int all[4 + ACCRUAL_CODES] = {ch.receivable, ch.bank, ch.reclaim, ch.compensation_other};
    for (int i = 0; i < ACCRUAL_CODES; i++)
        all[4 + i] = ch.compensation[i];
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        FUZZ_CHECK(all[i] >= 1000 && all[i] <= 9999, "account %d from '%s'", all[i], spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rb_config cfg, again;
    char err[256], err2[256];
    char *text = fuzz_cstr(data, size);

    config_defaults(&cfg);
    err[0] = '\0';
    if (!config_parse("f.conf", text, &cfg, err, sizeof err)) {
        FUZZ_CHECK(strncmp(err, "f.conf:", 7) == 0 && strlen(err) < sizeof err, "error '%s'", err);
        config_free(&cfg);
        free(text);
        return 0;
    }
    string_ok("listen", cfg.listen);
    string_ok("tls_cert", cfg.tls_cert);
    string_ok("tls_key", cfg.tls_key);
    string_ok("tls_client_ca", cfg.tls_client_ca);
    string_ok("db", cfg.db);
    string_ok("db_admin", cfg.db_admin);
    string_ok("sie_chart", cfg.sie_chart);
    FUZZ_CHECK(cfg.port >= 1 && cfg.port <= 65535, "port %d", cfg.port);
    FUZZ_CHECK(cfg.db_pool_size >= 1 && cfg.db_pool_size <= 256, "pool %d", cfg.db_pool_size);
    FUZZ_CHECK(cfg.accrual_jobs >= 1 && cfg.accrual_jobs <= 16, "jobs %d", cfg.accrual_jobs);
    FUZZ_CHECK(cfg.max_body_bytes >= 256 && cfg.max_body_bytes <= 1L << 30, "body %ld",
               cfg.max_body_bytes);
    FUZZ_CHECK(cfg.request_timeout_s >= 1 && cfg.request_timeout_s <= 3600, "timeout %d",
               cfg.request_timeout_s);

    struct text t = {0};
    serialise(&cfg, &t);
    config_defaults(&again);
    err2[0] = '\0';
    FUZZ_CHECK(config_parse("again.conf", t.p, &again, err2, sizeof err2),
               "the written-back configuration is refused: %s", err2);
    check_same(&cfg, &again);
    if (cfg.sie_chart != NULL)
        check_chart(cfg.sie_chart);
    free(t.p);
    config_free(&again);
    config_free(&cfg);
    free(text);
    return 0;
}
