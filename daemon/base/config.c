/* config: parse `key = value` lines; unknown keys and bad values are errors naming file and line.
 */
#include "config.h"

#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STRING, K_INT, K_LONG, K_LEVEL, K_BOOL, K_ADDR_PORT, K_HOURS, K_CHART };

struct key {
    const char *name;
    enum kind kind;
    size_t offset;
    long min, max;
};

#define OFF(f) offsetof(struct rb_config, f)
static const struct key keys[] = {
    {"listen", K_STRING, OFF(listen), 0, 0},
    {"port", K_INT, OFF(port), 1, 65535},
    {"tls_cert", K_STRING, OFF(tls_cert), 0, 0},
    {"tls_key", K_STRING, OFF(tls_key), 0, 0},
    {"tls_client_ca", K_STRING, OFF(tls_client_ca), 0, 0},
    {"db", K_STRING, OFF(db), 0, 0},
    {"db_admin", K_STRING, OFF(db_admin), 0, 0},
    {"db_pool_size", K_INT, OFF(db_pool_size), 1, 256},
    {"db_prepared", K_BOOL, OFF(db_prepared), 0, 0},
    {"db_queue_max", K_INT, OFF(db_queue_max), 0, 1000000},
    {"accrual_jobs", K_INT, OFF(accrual_jobs), 1, 16},
    {"max_body_bytes", K_LONG, OFF(max_body_bytes), 256, 1L << 30},
    {"max_header_bytes", K_LONG, OFF(max_header_bytes), 1024, 1L << 20},
    {"max_connections", K_INT, OFF(max_connections), 1, 1000000},
    {"request_timeout_s", K_INT, OFF(request_timeout_s), 1, 3600},
    {"idle_timeout_s", K_INT, OFF(idle_timeout_s), 1, 3600},
    {"request_read_timeout_s", K_INT, OFF(request_read_timeout_s), 1, 3600},
    {"tls_ticket_rotate_s", K_INT, OFF(tls_ticket_rotate_s), 1, 86400},
    {"log_level", K_LEVEL, OFF(log_level), 0, 0},
    {"sie_chart", K_CHART, OFF(sie_chart), 0, 0},
    {"metrics_listen", K_ADDR_PORT, OFF(metrics_listen), 0, 0},
    {"idempotency_retention", K_HOURS, OFF(idempotency_retention_h), 24, 3650 * 24},
};

void config_defaults(struct rb_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = strdup("127.0.0.1");
    cfg->port = 8443;
    cfg->db_pool_size = 4;
    cfg->db_prepared = true;
    cfg->db_queue_max = 1024;
    cfg->accrual_jobs = 2;
    cfg->max_body_bytes = 1L << 20;
    cfg->max_header_bytes = 16384;
    cfg->max_connections = 1024;
    cfg->request_timeout_s = 10;
    cfg->idle_timeout_s = 30;
    cfg->request_read_timeout_s = 10;
    cfg->tls_ticket_rotate_s = 43200;
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->metrics_listen = strdup("127.0.0.1:9187");
    cfg->idempotency_retention_h = 7 * 24;
    ledger_chart_defaults(&cfg->chart);
}

void config_free(struct rb_config *cfg)
{
    free(cfg->listen);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->tls_client_ca);
    free(cfg->db);
    free(cfg->db_admin);
    free(cfg->sie_chart);
    free(cfg->metrics_listen);
    memset(cfg, 0, sizeof *cfg);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static bool parse_number(const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
        return false;
    *out = n;
    return true;
}

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

bool config_addr_port(const char *spec, char *addr, size_t addrlen, int *port)
{
    const char *colon = strrchr(spec, ':');
    const char *a = spec, *end = colon;
    unsigned char bin[sizeof(struct in6_addr)];
    long n;
    if (colon == NULL || !parse_number(colon + 1, 1, 65535, &n))
        return false;
    if (*spec == '[') {
        if (end == spec || end[-1] != ']')
            return false;
        a = spec + 1;
        end--;
    }
    size_t len = (size_t)(end - a);
    if (len == 0 || len >= addrlen)
        return false;
    memcpy(addr, a, len);
    addr[len] = '\0';
    if (inet_pton(*spec == '[' ? AF_INET6 : AF_INET, addr, bin) != 1)
        return false;
    *port = (int)n;
    return true;
}

/* A duration as N followed by h (hours) or d (days), in hours within [min, max]. */
static const char *parse_hours(const char *v, long min, long max, int *out)
{
    size_t n = strlen(v);
    long num;
    char digits[16];
    if (n < 2 || n >= sizeof digits || (v[n - 1] != 'h' && v[n - 1] != 'd') ||
        !isdigit((unsigned char)v[0]))
        return "must be a number followed by h (hours) or d (days), e.g. 7d";
    memcpy(digits, v, n - 1);
    digits[n - 1] = '\0';
    long unit = v[n - 1] == 'd' ? 24 : 1;
    if (!parse_number(digits, 0, LONG_MAX / 24, &num))
        return "must be a number followed by h (hours) or d (days), e.g. 7d";
    if (num * unit < min)
        return "must be at least 24h";
    if (num * unit > max)
        return "must be at most 3650d";
    *out = (int)(num * unit);
    return NULL;
}

/* sie_chart: every item is checked here (an unknown name, a bad number, a name given twice), so
 * a bad chart stops the start and is refused by a reload; the API and the nightly export then
 * use cfg->chart as it is. A second sie_chart line replaces the first. */
static const char *set_chart(struct rb_config *cfg, const char *v, char *why, size_t whylen)
{
    struct ledger_chart chart;
    ledger_chart_defaults(&chart);
    if (!ledger_chart_parse(v, &chart, why, whylen))
        return why;
    char *copy = strdup(v);
    if (copy == NULL)
        return "out of memory";
    free(cfg->sie_chart);
    cfg->sie_chart = copy;
    cfg->chart = chart;
    return NULL;
}

/* Stores one value; returns a description of what is wrong (static, or in why), or NULL. */
static const char *set_value(struct rb_config *cfg, const struct key *k, const char *v, char *why,
                             size_t whylen)
{
    char *field = (char *)cfg + k->offset;
    long n;
    enum log_level level;

    switch (k->kind) {
    case K_STRING: {
        char **slot = (char **)(void *)field;
        if (*v == '\0')
            return "empty value";
        free(*slot);
        *slot = strdup(v);
        return *slot ? NULL : "out of memory";
    }
    case K_INT:
        if (!parse_number(v, k->min, k->max, &n))
            return "not an integer in range";
        *(int *)(void *)field = (int)n;
        return NULL;
    case K_LONG:
        if (!parse_number(v, k->min, k->max, &n))
            return "not an integer in range";
        *(long *)(void *)field = n;
        return NULL;
    case K_BOOL:
        if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
            strcmp(v, "1") == 0)
            *(bool *)(void *)field = true;
        else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0 ||
                 strcmp(v, "0") == 0)
            *(bool *)(void *)field = false;
        else
            return "must be on or off";
        return NULL;
    case K_ADDR_PORT: {
        char addr[64];
        int port;
        char **slot = (char **)(void *)field;
        if (strcmp(v, "off") != 0 && !config_addr_port(v, addr, sizeof addr, &port))
            return "must be off or a numeric ADDRESS:PORT, e.g. 127.0.0.1:9187 or [::1]:9187";
        free(*slot);
        *slot = strdup(v);
        return *slot ? NULL : "out of memory";
    }
    case K_HOURS:
        return parse_hours(v, k->min, k->max, (int *)(void *)field);
    case K_CHART:
        return set_chart(cfg, v, why, whylen);
    case K_LEVEL:
        if (!log_level_parse(v, &level))
            return "must be one of error, warn, info, debug";
        *(int *)(void *)field = (int)level;
        return NULL;
    }
    return "unhandled key";
}

bool config_parse(const char *name, const char *text, struct rb_config *cfg, char *err,
                  size_t errlen)
{
    char *copy = strdup(text);
    int lineno = 0;
    bool ok = true;

    if (copy == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return false;
    }
    /* strsep keeps empty lines so line numbers stay right. */
    char *rest = copy;
    for (char *line = strsep(&rest, "\n"); line != NULL; line = strsep(&rest, "\n")) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%d: expected key = value", name, lineno);
            ok = false;
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        char *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        const struct key *k = find_key(key);
        if (k == NULL) {
            snprintf(err, errlen, "%s:%d: unknown key '%s'", name, lineno, key);
            ok = false;
            break;
        }
        char whybuf[200];
        const char *why = set_value(cfg, k, value, whybuf, sizeof whybuf);
        if (why != NULL) {
            snprintf(err, errlen, "%s:%d: bad value for '%s': %s", name, lineno, key, why);
            ok = false;
            break;
        }
    }
    free(copy);
    return ok;
}

bool config_load(const char *path, struct rb_config *cfg, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0, len = 0;
    bool ok = false;

    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (1u << 20)) {
                snprintf(err, errlen, "%s: file too large", path);
                goto fail;
            }
            char *nb = realloc(buf, cap);
            if (nb == NULL)
                goto fail;
            buf = nb;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto fail;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        goto fail;
    }
    ok = config_parse(path, buf, cfg, err, errlen);
fail:
    free(buf);
    fclose(f);
    return ok;
}
