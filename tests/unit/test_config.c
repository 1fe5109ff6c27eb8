/* Unit tests for config: defaults, every key, error messages with file:line, loading files. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define ERRLEN 256

/* Parses `text` on top of defaults; returns the result and leaves err filled. */
static bool parse(const char *text, struct rb_config *cfg, char *err)
{
    config_defaults(cfg);
    err[0] = '\0';
    return config_parse("test.conf", text, cfg, err, ERRLEN);
}

static void assert_starts_with(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

/* Parsing `text` fails with an error starting with "test.conf:LINE:" and containing `what`. */
static void expect_fail(const char *text, int line, const char *what)
{
    struct rb_config cfg;
    char err[ERRLEN];
    char prefix[64];
    if (parse(text, &cfg, err)) {
        config_free(&cfg);
        fail_msg("config_parse accepted: %s", text);
    }
    snprintf(prefix, sizeof prefix, "test.conf:%d: ", line);
    assert_starts_with(err, prefix);
    if (what != NULL && strstr(err, what) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err, what);
    config_free(&cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    struct rb_config cfg;
    memset(&cfg, 0xa5, sizeof cfg);
    config_defaults(&cfg);
    assert_non_null(cfg.listen);
    assert_string_equal(cfg.listen, "127.0.0.1");
    assert_int_equal(cfg.port, 8443);
    assert_null(cfg.tls_cert);
    assert_null(cfg.tls_key);
    assert_null(cfg.db);
    assert_null(cfg.db_admin);
    assert_int_equal(cfg.db_pool_size, 4);
    assert_int_equal(cfg.db_queue_max, 1024);
    assert_int_equal(cfg.max_body_bytes, 1L << 20);
    assert_int_equal(cfg.max_header_bytes, 16384);
    assert_int_equal(cfg.max_connections, 1024);
    assert_int_equal(cfg.request_timeout_s, 10);
    assert_int_equal(cfg.idle_timeout_s, 30);
    assert_int_equal(cfg.request_read_timeout_s, 10);
    assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
    config_free(&cfg);
    /* config_free clears the struct, so a second free is harmless. */
    assert_null(cfg.listen);
    config_free(&cfg);
}

static const char good_config[] = "# reimbursed configuration\n"
                                  "\n"
                                  "listen = 0.0.0.0\n"
                                  "port = 9443\n"
                                  "tls_cert = /etc/reimbursed/cert.pem\n"
                                  "tls_key=/etc/reimbursed/key.pem\n"
                                  "  db   =   host=/run/postgresql dbname=rb user=reimbursed  \n"
                                  "db_admin = \"host=/run/postgresql dbname=rb user=rb_owner\"\n"
                                  "; another comment style\n"
                                  "db_pool_size = 16\n"
                                  "db_queue_max = 0\n"
                                  "max_body_bytes = 2097152\n"
                                  "max_header_bytes = 32768\n"
                                  "max_connections = 5000\n"
                                  "request_timeout_s = 15\n"
                                  "idle_timeout_s = 60\n"
                                  "log_level = debug\n";

static void check_good(const struct rb_config *cfg)
{
    assert_string_equal(cfg->listen, "0.0.0.0");
    assert_int_equal(cfg->port, 9443);
    assert_string_equal(cfg->tls_cert, "/etc/reimbursed/cert.pem");
    assert_string_equal(cfg->tls_key, "/etc/reimbursed/key.pem");
    assert_string_equal(cfg->db, "host=/run/postgresql dbname=rb user=reimbursed");
    assert_string_equal(cfg->db_admin, "host=/run/postgresql dbname=rb user=rb_owner");
    assert_int_equal(cfg->db_pool_size, 16);
    assert_int_equal(cfg->db_queue_max, 0);
    assert_int_equal(cfg->max_body_bytes, 2097152);
    assert_int_equal(cfg->max_header_bytes, 32768);
    assert_int_equal(cfg->max_connections, 5000);
    assert_int_equal(cfg->request_timeout_s, 15);
    assert_int_equal(cfg->idle_timeout_s, 60);
    assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
}

static void test_good_file(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN];
    bool ok = parse(good_config, &cfg, err);
    if (!ok)
        fail_msg("config_parse failed: %s", err);
    check_good(&cfg);
    config_free(&cfg);
}

static void test_empty_and_partial(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN];

    /* Empty text and comment-only text keep the defaults. */
    assert_true(parse("", &cfg, err));
    assert_int_equal(cfg.port, 8443);
    assert_string_equal(cfg.listen, "127.0.0.1");
    config_free(&cfg);

    assert_true(parse("\n\n# nothing\n   \n\t\n; here\n", &cfg, err));
    assert_int_equal(cfg.port, 8443);
    config_free(&cfg);

    /* Unset keys keep defaults; no trailing newline; CRLF line ends; later lines win. */
    assert_true(parse("port = 1\r\nlog_level = error\r\nport = 65535", &cfg, err));
    assert_int_equal(cfg.port, 65535);
    assert_int_equal(cfg.log_level, LOG_LEVEL_ERROR);
    assert_int_equal(cfg.db_pool_size, 4);
    assert_string_equal(cfg.listen, "127.0.0.1");
    config_free(&cfg);

    /* Replacing a string does not leak (checked by ASan) and keeps the last value. */
    assert_true(parse("listen = ::1\nlisten = 10.0.0.1\n", &cfg, err));
    assert_string_equal(cfg.listen, "10.0.0.1");
    config_free(&cfg);
}

static void test_unknown_key_line(void **state)
{
    (void)state;
    expect_fail("bogus = 1\n", 1, "bogus");
    /* Blank lines, whitespace-only lines and both comment styles count as lines. */
    expect_fail("# comment\n"
                "\n"
                "port = 8080\n"
                "   \n"
                "; comment\n"
                "   # indented comment\n"
                "bogus_key = 1\n"
                "port = 9090\n",
                7, "unknown key 'bogus_key'");
    expect_fail("\r\n\r\n\r\nPort = 1\r\n", 4, "'Port'"); /* keys are case sensitive */
    expect_fail("\n\n\n\n\n\n\n\n\n\n\n\nlisten_address = x\n", 13, "listen_address");
    /* A prefix of a real key is not a key. */
    expect_fail("po = 1\n", 1, "'po'");
    expect_fail("= 1\n", 1, "unknown key ''");

    /* The name given is the one in the message. */
    struct rb_config cfg;
    char err[ERRLEN];
    config_defaults(&cfg);
    assert_false(
        config_parse("/etc/reimbursed/reimbursed.conf", "\n\nfoo = bar\n", &cfg, err, sizeof err));
    assert_starts_with(err, "/etc/reimbursed/reimbursed.conf:3: ");
    config_free(&cfg);
}

static void test_first_error_stops(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN];
    /* The first bad line is the one reported, even if later lines are bad too. */
    assert_false(parse("port = 1\nport = x\nbogus = 2\n", &cfg, err));
    assert_starts_with(err, "test.conf:2: ");
    assert_non_null(strstr(err, "'port'"));
    config_free(&cfg);
}

static void test_bad_int(void **state)
{
    (void)state;
    expect_fail("port = abc\n", 1, "'port'");
    expect_fail("port = 80x\n", 1, "'port'");
    expect_fail("port = 8.5\n", 1, "'port'");
    expect_fail("port = 0x50\n", 1, "'port'");
    expect_fail("port = 80 80\n", 1, "'port'");
    expect_fail("port =\n", 1, "'port'");
    expect_fail("port = \"\"\n", 1, "'port'");
    expect_fail("port = 99999999999999999999999\n", 1, "'port'");
    expect_fail("\n# x\nport = 8080 # trailing comment\n", 3, "'port'");
    expect_fail("db_pool_size = -1\n", 1, "'db_pool_size'");
    expect_fail("max_body_bytes = lots\n", 1, "'max_body_bytes'");
    expect_fail("request_timeout_s = 1s\n", 1, "'request_timeout_s'");
}

static void test_port_range(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN];

    expect_fail("port = 0\n", 1, "'port'");
    expect_fail("port = 70000\n", 1, "'port'");
    expect_fail("port = 65536\n", 1, "'port'");
    expect_fail("port = -443\n", 1, "'port'");

    assert_true(parse("port = 1\n", &cfg, err));
    assert_int_equal(cfg.port, 1);
    config_free(&cfg);
    assert_true(parse("port = 65535\n", &cfg, err));
    assert_int_equal(cfg.port, 65535);
    config_free(&cfg);
}

static void test_other_ranges(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN];

    expect_fail("db_pool_size = 0\n", 1, "'db_pool_size'");
    expect_fail("db_pool_size = 257\n", 1, "'db_pool_size'");
    expect_fail("db_queue_max = -1\n", 1, "'db_queue_max'");
    expect_fail("db_queue_max = 1000001\n", 1, "'db_queue_max'");
    expect_fail("max_body_bytes = 255\n", 1, "'max_body_bytes'");
    expect_fail("max_body_bytes = 1073741825\n", 1, "'max_body_bytes'");
    expect_fail("max_header_bytes = 1023\n", 1, "'max_header_bytes'");
    expect_fail("max_header_bytes = 1048577\n", 1, "'max_header_bytes'");
    expect_fail("max_connections = 0\n", 1, "'max_connections'");
    expect_fail("request_timeout_s = 0\n", 1, "'request_timeout_s'");
    expect_fail("request_timeout_s = 3601\n", 1, "'request_timeout_s'");
    expect_fail("idle_timeout_s = 0\n", 1, "'idle_timeout_s'");
    expect_fail("idle_timeout_s = 3601\n", 1, "'idle_timeout_s'");
    expect_fail("request_read_timeout_s = 0\n", 1, "'request_read_timeout_s'");
    expect_fail("request_read_timeout_s = 3601\n", 1, "'request_read_timeout_s'");

    assert_true(parse("db_pool_size = 256\ndb_queue_max = 1000000\nmax_body_bytes = 1073741824\n"
                      "max_header_bytes = 1048576\nmax_connections = 1000000\n"
                      "request_timeout_s = 3600\nidle_timeout_s = 3600\n"
                      "request_read_timeout_s = 3600\n",
                      &cfg, err));
    assert_int_equal(cfg.db_pool_size, 256);
    assert_int_equal(cfg.db_queue_max, 1000000);
    assert_int_equal(cfg.max_body_bytes, 1073741824L);
    assert_int_equal(cfg.max_header_bytes, 1048576L);
    assert_int_equal(cfg.max_connections, 1000000);
    assert_int_equal(cfg.request_timeout_s, 3600);
    assert_int_equal(cfg.idle_timeout_s, 3600);
    assert_int_equal(cfg.request_read_timeout_s, 3600);
    config_free(&cfg);

    assert_true(parse("max_body_bytes = 256\nmax_header_bytes = 1024\n", &cfg, err));
    assert_int_equal(cfg.max_body_bytes, 256);
    assert_int_equal(cfg.max_header_bytes, 1024);
    config_free(&cfg);
}

static void test_log_level(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int level;
    } ok[] = {{"error", LOG_LEVEL_ERROR},
              {"warn", LOG_LEVEL_WARN},
              {"info", LOG_LEVEL_INFO},
              {"debug", LOG_LEVEL_DEBUG}};
    struct rb_config cfg;
    char err[ERRLEN];
    char text[64];

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(text, sizeof text, "log_level = %s\n", ok[i].name);
        assert_true(parse(text, &cfg, err));
        assert_int_equal(cfg.log_level, ok[i].level);
        config_free(&cfg);
    }
    assert_true(parse("log_level = \"warn\"\n", &cfg, err));
    assert_int_equal(cfg.log_level, LOG_LEVEL_WARN);
    config_free(&cfg);

    expect_fail("log_level = verbose\n", 1, "'log_level'");
    expect_fail("log_level = DEBUG\n", 1, "'log_level'");
    expect_fail("log_level = warning\n", 1, "'log_level'");
    expect_fail("log_level = 7\n", 1, "'log_level'");
    expect_fail("\n\nlog_level =\n", 3, "'log_level'");
}

static void test_no_equals(void **state)
{
    (void)state;
    expect_fail("port 8080\n", 1, "expected key = value");
    expect_fail("# header\n\nport = 8080\nlisten\n", 4, "expected key = value");
    expect_fail("[section]\n", 1, "expected key = value");
}

static void test_quoted_values(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN];

    assert_true(parse("listen = \"0.0.0.0\"\nport = \"8080\"\ntls_cert = \"/path with space\"\n",
                      &cfg, err));
    assert_string_equal(cfg.listen, "0.0.0.0");
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.tls_cert, "/path with space");
    config_free(&cfg);

    /* Only one pair of surrounding quotes is removed; inner content is kept verbatim. */
    assert_true(parse("db = \"\"dbname=rb\"\"\n", &cfg, err));
    assert_string_equal(cfg.db, "\"dbname=rb\"");
    config_free(&cfg);
    assert_true(parse("db = \"  spaced  \"\n", &cfg, err));
    assert_string_equal(cfg.db, "  spaced  ");
    config_free(&cfg);
    assert_true(parse("db = dbname=\"rb\"\n", &cfg, err));
    assert_string_equal(cfg.db, "dbname=\"rb\"");
    config_free(&cfg);

    /* An unbalanced quote is not stripped; a lone quote is a one-character value. */
    assert_true(parse("db = \"dbname=rb\n", &cfg, err));
    assert_string_equal(cfg.db, "\"dbname=rb");
    config_free(&cfg);
    assert_true(parse("db = \"\n", &cfg, err));
    assert_string_equal(cfg.db, "\"");
    config_free(&cfg);

    /* Empty strings, quoted or not, are refused. */
    expect_fail("listen =\n", 1, "'listen'");
    expect_fail("\nlisten = \"\"\n", 2, "'listen'");
    expect_fail("db =    \n", 1, "'db'");
}

static void test_load_missing(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN] = "";
    const char *path = "/nonexistent-reimbursed-test-dir/reimbursed.conf";
    config_defaults(&cfg);
    assert_false(config_load(path, &cfg, err, sizeof err));
    assert_starts_with(err, path);
    assert_non_null(strstr(err, "cannot open"));
    /* The defaults are untouched. */
    assert_int_equal(cfg.port, 8443);
    config_free(&cfg);
}

/* Writes `text` (len bytes) to a new temporary file; the caller unlinks `path`. */
static void write_temp(char *path, size_t pathlen, const char *text, size_t len)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    snprintf(path, pathlen, "%s/rb-config-test-XXXXXX", dir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_load_temp_file(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN] = "";
    char path[4096];

    write_temp(path, sizeof path, good_config, strlen(good_config));
    config_defaults(&cfg);
    bool ok = config_load(path, &cfg, err, sizeof err);
    unlink(path);
    if (!ok)
        fail_msg("config_load(%s) failed: %s", path, err);
    check_good(&cfg);
    config_free(&cfg);

    /* Errors from a loaded file carry the path and line. */
    const char *bad = "# c\n\nport = 8443\nnope = 1\n";
    write_temp(path, sizeof path, bad, strlen(bad));
    config_defaults(&cfg);
    ok = config_load(path, &cfg, err, sizeof err);
    unlink(path);
    assert_false(ok);
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s:4: ", path);
    assert_starts_with(err, prefix);
    config_free(&cfg);
}

static void test_load_large_file(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN] = "";
    char path[4096];

    /* Several read chunks (> 8192 bytes): comments, then the real key at a known line. */
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = 0;
    int lines = 0;
    while (len < 40000) {
        len += (size_t)snprintf(text + len, cap - len, "# padding line %d\n", lines);
        lines++;
    }
    len += (size_t)snprintf(text + len, cap - len, "port = 1234\nbad_key = 1\n");
    write_temp(path, sizeof path, text, len);
    free(text);

    config_defaults(&cfg);
    bool ok = config_load(path, &cfg, err, sizeof err);
    unlink(path);
    assert_false(ok);
    assert_int_equal(cfg.port, 1234);
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s:%d: ", path, lines + 2);
    assert_starts_with(err, prefix);
    config_free(&cfg);
}

/* metrics_listen: a numeric ADDRESS:PORT (IPv6 in brackets) or off; the default is loopback. */
static void test_metrics_listen(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN], addr[64];
    int port = 0;
    config_defaults(&cfg);
    assert_string_equal(cfg.metrics_listen, "127.0.0.1:9187");
    config_free(&cfg);
    static const char *const good[] = {"off", "127.0.0.1:9187", "0.0.0.0:1", "[::1]:9187",
                                       "10.0.0.5:65535"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "metrics_listen = %s\n", good[i]);
        assert_true(parse(text, &cfg, err));
        assert_string_equal(cfg.metrics_listen, good[i]);
        config_free(&cfg);
    }
    assert_true(config_addr_port("[::1]:9187", addr, sizeof addr, &port));
    assert_string_equal(addr, "::1");
    assert_int_equal(port, 9187);
    static const char *const bad[] = {"localhost:9187",  "127.0.0.1",     "127.0.0.1:0",
                                      "127.0.0.1:65536", "::1:9187",      "[::1]9187",
                                      ":9187",           "127.0.0.1:91x", "on"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "\nmetrics_listen = %s\n", bad[i]);
        expect_fail(text, 2, "metrics_listen");
    }
}

static void test_load_nul_byte(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN] = "";
    char path[4096];
    static const char text[] = "port = 1\n\0bogus = 1\n";

    write_temp(path, sizeof path, text, sizeof text - 1);
    config_defaults(&cfg);
    bool ok = config_load(path, &cfg, err, sizeof err);
    unlink(path);
    assert_false(ok);
    assert_non_null(strstr(err, "NUL"));
    config_free(&cfg);
}

/* idempotency_retention: hours or days, at least 24 hours, 7 days by default. */
static void test_idempotency_retention(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN];
    config_defaults(&cfg);
    assert_int_equal(cfg.idempotency_retention_h, 7 * 24);
    config_free(&cfg);
    assert_true(parse("idempotency_retention = 24h\n", &cfg, err));
    assert_int_equal(cfg.idempotency_retention_h, 24);
    config_free(&cfg);
    assert_true(parse("idempotency_retention = 30d\n", &cfg, err));
    assert_int_equal(cfg.idempotency_retention_h, 30 * 24);
    config_free(&cfg);
    assert_true(parse("idempotency_retention = 36h\n", &cfg, err));
    assert_int_equal(cfg.idempotency_retention_h, 36);
    config_free(&cfg);
    expect_fail("idempotency_retention = 23h\n", 1, "at least 24h");
    expect_fail("\nidempotency_retention = 0d\n", 2, "at least 24h");
    expect_fail("idempotency_retention = 7\n", 1, "h (hours) or d (days)");
    expect_fail("idempotency_retention = 7w\n", 1, "h (hours) or d (days)");
    expect_fail("idempotency_retention = d\n", 1, "h (hours) or d (days)");
    expect_fail("idempotency_retention = -2d\n", 1, "h (hours) or d (days)");
    expect_fail("idempotency_retention = 99999999d\n", 1, "at most 3650d");
}

/* Issue 16 item 12: a bad sie_chart item is a config error naming the file and line, like every
 * other bad value (today it was accepted and the export silently fell back to the defaults). */
static void test_sie_chart_bad_item_is_error(void **state)
{
    (void)state;
    expect_fail("port = 9443\nsie_chart = bank=1930,debtors=1510\n", 2, "unknown account name");
    expect_fail("sie_chart = bank=19x0\n", 1, "bank");
    expect_fail("sie_chart = bank=193\n", 1, "bank");
    expect_fail("sie_chart = bank=19300\n", 1, "bank");
    expect_fail("sie_chart = bank=-930\n", 1, "bank");
    expect_fail("sie_chart = bank=+930\n", 1, "bank");
    expect_fail("sie_chart = bank=\n", 1, "bank");
    expect_fail("sie_chart = bank\n", 1, "bank");
    expect_fail("sie_chart = bank=1930,\n", 1, "empty item");
    expect_fail("\n\nsie_chart = bank=1930,bank=1931\n", 3, "twice");
    expect_fail("sie_chart = DAY_CHILD=3913,DAY_CHILD=3913\n", 1, "twice");
    /* One number for two different ledger accounts would merge them in the books. */
    expect_fail("sie_chart = bank=1513\n", 1, "1513");
    expect_fail("sie_chart = reclaim=3911\n", 1, "3911");
}

/* Good charts: overrides on top of the defaults; spaces around items are allowed. */
static void test_sie_chart_good(void **state)
{
    (void)state;
    struct rb_config cfg;
    char err[ERRLEN];
    assert_true(
        parse("sie_chart = receivable=1510, bank = 1940,DAY_CHILD=3013,other=3999\n", &cfg, err));
    assert_int_equal(cfg.chart.receivable, 1510);
    assert_int_equal(cfg.chart.bank, 1940);
    assert_int_equal(cfg.chart.reclaim, 2890);
    assert_int_equal(cfg.chart.compensation[ACCRUAL_DAY_CHILD], 3013);
    assert_int_equal(cfg.chart.compensation_other, 3999);
    config_free(&cfg);
    /* Compensation codes may share one income account. */
    assert_true(parse("sie_chart = MOVE_IN=3911,DAY_ADULT=3911\n", &cfg, err));
    config_free(&cfg);
    assert_true(parse("sie_chart = \"bank=1931\"\n", &cfg, err));
    config_free(&cfg);
}

UNIT_MAIN({
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_good_file),
    cmocka_unit_test(test_empty_and_partial),
    cmocka_unit_test(test_unknown_key_line),
    cmocka_unit_test(test_first_error_stops),
    cmocka_unit_test(test_bad_int),
    cmocka_unit_test(test_port_range),
    cmocka_unit_test(test_other_ranges),
    cmocka_unit_test(test_log_level),
    cmocka_unit_test(test_no_equals),
    cmocka_unit_test(test_quoted_values),
    cmocka_unit_test(test_load_missing),
    cmocka_unit_test(test_load_temp_file),
    cmocka_unit_test(test_load_large_file),
    cmocka_unit_test(test_load_nul_byte),
    cmocka_unit_test(test_metrics_listen),
    cmocka_unit_test(test_idempotency_retention),
    cmocka_unit_test(test_sie_chart_bad_item_is_error),
    cmocka_unit_test(test_sie_chart_good),
});
