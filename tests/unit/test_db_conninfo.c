/* Unit tests for db_conninfo_resolve: names become addresses once, at start-up, and multi-host
 * conninfos (a primary and its standbys, target_session_attrs=read-write) stay multi-host with
 * host, hostaddr and port lists of the same length. Every output is parsed back with libpq. */
#include "unit.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_conninfo.h"

/* The value of `key` in a conninfo as libpq parses it ("<null>" when absent); caller frees. */
static char *opt(const char *conninfo, const char *key)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (opts == NULL)
        fail_msg("libpq cannot parse %s: %s", conninfo, perr ? perr : "?");
    char *v = NULL;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, key) == 0)
            v = strdup(o->val != NULL ? o->val : "<null>");
    PQconninfoFree(opts);
    assert_non_null(v);
    return v;
}

static void assert_opt(const char *conninfo, const char *key, const char *want)
{
    char *v = opt(conninfo, key);
    if (strcmp(v, want) != 0)
        fail_msg("%s: %s is '%s', want '%s'", conninfo, key, v, want);
    free(v);
}

static char *resolve_ok(const char *in)
{
    char err[256] = "";
    char *out = db_conninfo_resolve(in, err, sizeof err);
    if (out == NULL)
        fail_msg("db_conninfo_resolve(%s) failed: %s", in, err);
    return out;
}

static int count_entries(const char *list)
{
    int n = 1;
    for (const char *c = list; *c != '\0'; c++)
        n += *c == ',';
    return n;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

static void test_multi_host_numeric(void **state)
{
    (void)state;
    char *out = resolve_ok("host=127.0.0.1,127.0.0.1 port=5432,5433 dbname=reimbursed "
                           "user=reimbursed_app target_session_attrs=read-write connect_timeout=2");
    assert_opt(out, "host", "127.0.0.1,127.0.0.1");
    assert_opt(out, "hostaddr", "127.0.0.1,127.0.0.1");
    assert_opt(out, "port", "5432,5433");
    assert_opt(out, "target_session_attrs", "read-write");
    assert_opt(out, "connect_timeout", "2");
    assert_opt(out, "dbname", "reimbursed");
    free(out);
}

static void test_single_port_for_all_hosts(void **state)
{
    (void)state;
    char *out = resolve_ok("host=10.0.0.1,10.0.0.2,10.0.0.3 port=5432 dbname=x");
    assert_opt(out, "hostaddr", "10.0.0.1,10.0.0.2,10.0.0.3");
    assert_opt(out, "port", "5432");
    free(out);
}

/* A name resolves to one or more addresses: host is repeated once per address, and so is the
 * entry's port, so the three lists stay the same length (libpq refuses them otherwise). */
static void test_named_host_in_a_list(void **state)
{
    (void)state;
    char *out = resolve_ok("host=10.1.1.1,localhost,/run/postgresql port=1,2,3 dbname=x");
    char *host = opt(out, "host"), *addr = opt(out, "hostaddr"), *port = opt(out, "port");
    int n = count_entries(host);
    assert_true(n >= 3);
    assert_int_equal(count_entries(addr), n);
    assert_int_equal(count_entries(port), n);
    assert_true(strncmp(host, "10.1.1.1,localhost,", 19) == 0);
    assert_true(strncmp(addr, "10.1.1.1,", 9) == 0);
    assert_true(strstr(addr, "127.0.0.1") != NULL || strstr(addr, "::1") != NULL);
    assert_true(strncmp(port, "1,2,", 4) == 0);
    /* the socket directory keeps an empty address, last */
    assert_true(ends_with(host, ",/run/postgresql"));
    assert_int_equal(addr[strlen(addr) - 1], ',');
    assert_int_equal(port[strlen(port) - 1], '3');
    /* libpq accepts the result (it checks the list lengths when connecting) */
    PGconn *c = PQconnectStart(out);
    assert_non_null(c);
    assert_true(PQstatus(c) != CONNECTION_BAD ||
                strstr(PQerrorMessage(c), "could not match") == NULL);
    PQfinish(c);
    free(host);
    free(addr);
    free(port);
    free(out);
}

static void test_socket_only_has_no_hostaddr(void **state)
{
    (void)state;
    char *out = resolve_ok("host=/tmp/rb.s port=5432 dbname=x user=y");
    assert_opt(out, "host", "/tmp/rb.s");
    assert_opt(out, "hostaddr", "<null>");
    free(out);
}

static void test_untouched(void **state)
{
    (void)state;
    const char *in[] = {"dbname=x user=y", "host=db hostaddr=10.0.0.9 port=5432",
                        "host=a,b port=1,2,3"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char *out = resolve_ok(in[i]);
        assert_string_equal(out, in[i]);
        free(out);
    }
}

static void test_uri(void **state)
{
    (void)state;
    char *out = resolve_ok("postgresql://reimbursed_app@127.0.0.1:5432,127.0.0.2:5433/reimbursed?"
                           "target_session_attrs=read-write");
    assert_opt(out, "host", "127.0.0.1,127.0.0.2");
    assert_opt(out, "hostaddr", "127.0.0.1,127.0.0.2");
    assert_opt(out, "port", "5432,5433");
    assert_opt(out, "user", "reimbursed_app");
    assert_opt(out, "target_session_attrs", "read-write");
    free(out);
}

static void test_quoting_survives(void **state)
{
    (void)state;
    char *out = resolve_ok("host=127.0.0.1 password='it\\'s a \\\\ secret' dbname=x");
    assert_opt(out, "password", "it's a \\ secret");
    free(out);
}

static void test_errors(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(db_conninfo_resolve("host=no-such-host.invalid dbname=x", err, sizeof err));
    assert_non_null(strstr(err, "no-such-host.invalid"));
    err[0] = '\0';
    assert_null(
        db_conninfo_resolve("host=127.0.0.1,no-such-host.invalid port=1,2", err, sizeof err));
    assert_non_null(strstr(err, "cannot resolve"));
    err[0] = '\0';
    assert_null(db_conninfo_resolve("host='unterminated", err, sizeof err));
    assert_non_null(strstr(err, "bad database conninfo"));
}

static void test_rotate(void **state)
{
    (void)state;
    const char *ci = "host=a,b,c hostaddr=10.0.0.1,10.0.0.2,10.0.0.3 port=5432,5433,5434 "
                     "dbname=x target_session_attrs=read-write";
    assert_int_equal(db_conninfo_host_count(ci), 3);
    char *r = db_conninfo_rotate(ci, 1);
    assert_non_null(r);
    assert_opt(r, "host", "b,c,a");
    assert_opt(r, "hostaddr", "10.0.0.2,10.0.0.3,10.0.0.1");
    assert_opt(r, "port", "5433,5434,5432");
    assert_opt(r, "dbname", "x");
    assert_opt(r, "target_session_attrs", "read-write");
    free(r);
    r = db_conninfo_rotate(ci, 3); /* a full turn */
    assert_opt(r, "host", "a,b,c");
    free(r);
    /* One port for every host stays one port; a socket directory may be in the list. */
    r = db_conninfo_rotate("host=127.0.0.1,/tmp/s port=5432 dbname=y", 1);
    assert_opt(r, "host", "/tmp/s,127.0.0.1");
    assert_opt(r, "port", "5432");
    free(r);
    /* A single host: nothing to rotate. */
    assert_int_equal(db_conninfo_host_count("host=/tmp/s dbname=z"), 1);
    r = db_conninfo_rotate("host=/tmp/s dbname=z", 5);
    assert_opt(r, "host", "/tmp/s");
    free(r);
    assert_null(db_conninfo_rotate("host='unterminated", 1));
}

UNIT_MAIN({
    cmocka_unit_test(test_multi_host_numeric),
    cmocka_unit_test(test_single_port_for_all_hosts),
    cmocka_unit_test(test_named_host_in_a_list),
    cmocka_unit_test(test_socket_only_has_no_hostaddr),
    cmocka_unit_test(test_untouched),
    cmocka_unit_test(test_uri),
    cmocka_unit_test(test_quoting_survives),
    cmocka_unit_test(test_errors),
    cmocka_unit_test(test_rotate),
});
