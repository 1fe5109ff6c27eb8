/* reimbursectl: entry point of the admin tool; picks the database connection and the command. */
#include "config.h"
#include "ctl.h"
#include "db_role.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ctl_conninfo;
const struct ledger_chart *ctl_chart;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: reimbursectl [-c FILE] COMMAND ...\n"
        "  migrate [--sql-dir DIR]                 apply sql/schema/NNN_*.sql, then sql/api/ "
        "(owner role)\n"
        "  client add --name N --role read|write|admin --scope CODE|* [--cert PEM]\n"
        "  client bind --name N --cert PEM         require this certificate (mutual TLS)\n"
        "  client rotate --name N                  new token, the old one stops working\n"
        "  client revoke --name N\n"
        "  client list\n"
        "  rates list\n"
        "  rates index --code C --from DATE --factor F --round KRONOR\n"
        "                                          a new row: the rate before DATE × F\n"
        "  accrue --through DATE [--jobs N]        the convergent accrual run (N connections)\n"
        "  report --date D --out DIR [--jobs N]    the nightly reports for day D (N connections)\n"
        "  idempotency expire [--batch N]          delete the Idempotency-Keys older than\n"
        "                                          idempotency_retention, N per transaction\n"
        "Without -c the standard libpq environment (PGHOST, PGPORT, ...) is used.\n"
        "With -c, migrate uses the db_admin key; report uses db (the daemon's role, so\n"
        "row-level security applies); other commands use db_admin if set, else db.\n"
        "New tokens are printed alone on the last line of the output.\n");
}

int ctl_options(int argc, char **argv, int first, const struct option *opts, const char **vals)
{
    int opt, idx;
    optind = first;
    while ((opt = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        if (opt != 0)
            return 0;
        vals[idx] = optarg;
    }
    return 1;
}

int ctl_result_ok(PGconn *pg, PGresult *res, ExecStatusType want, const char *what)
{
    if (res != NULL && PQresultStatus(res) == want)
        return 1;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    fprintf(stderr, "reimbursectl: %s failed: %s%s%s", what, state ? state : "", state ? " " : "",
            res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
    return 0;
}

/* accrue and report on the daemon's role (`db`) act for every municipality through row-level
 * security: refuse a role that bypasses it, as the daemon does. */
static bool role_bound(PGconn *pg, const struct rb_config *cfg, const char *conninfo,
                       const char *cmd)
{
    char err[512];
    if (cfg->db == NULL || conninfo != cfg->db ||
        (strcmp(cmd, "accrue") != 0 && strcmp(cmd, "report") != 0))
        return true;
    if (db_role_check(pg, err, sizeof err) == DB_ROLE_OK)
        return true;
    fprintf(stderr, "reimbursectl: %s (the db key; %s uses it)\n", err, cmd);
    return false;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    struct rb_config cfg;
    char err[512];
    int opt, rc;

    while ((opt = getopt(argc, argv, "+c:h")) != -1) {
        if (opt == 'c') {
            path = optarg;
        } else if (opt == 'h') {
            usage(stdout);
            return CTL_OK;
        } else {
            usage(stderr);
            return CTL_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CTL_USAGE;
    }
    const char *cmd = argv[optind];
    const char *conninfo = "";
    config_defaults(&cfg);
    if (path != NULL) {
        if (!config_load(path, &cfg, err, sizeof err)) {
            fprintf(stderr, "reimbursectl: %s\n", err);
            config_free(&cfg);
            return CTL_USAGE;
        }
        conninfo = cfg.db_admin ? cfg.db_admin : cfg.db ? cfg.db : "";
        if (strcmp(cmd, "report") == 0 && cfg.db != NULL)
            conninfo = cfg.db;
    }
    if (strcmp(cmd, "migrate") != 0 && strcmp(cmd, "client") != 0 && strcmp(cmd, "rates") != 0 &&
        strcmp(cmd, "accrue") != 0 && strcmp(cmd, "report") != 0 &&
        strcmp(cmd, "idempotency") != 0) {
        fprintf(stderr, "reimbursectl: unknown command '%s'\n", cmd);
        usage(stderr);
        config_free(&cfg);
        return CTL_USAGE;
    }
    ctl_conninfo = conninfo;
    ctl_idempotency_retention_h = cfg.idempotency_retention_h;
    ctl_chart = &cfg.chart;
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "reimbursectl: cannot connect to the database: %s", PQerrorMessage(pg));
        PQfinish(pg);
        config_free(&cfg);
        return CTL_FAIL;
    }
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    if (!role_bound(pg, &cfg, conninfo, cmd)) {
        PQfinish(pg);
        config_free(&cfg);
        return CTL_FAIL;
    }
    if (strcmp(cmd, "migrate") == 0)
        rc = ctl_migrate(pg, argc - optind, argv + optind);
    else if (strcmp(cmd, "client") == 0)
        rc = ctl_client(pg, argc - optind, argv + optind);
    else if (strcmp(cmd, "rates") == 0)
        rc = ctl_rates(pg, argc - optind, argv + optind);
    else if (strcmp(cmd, "report") == 0)
        rc = ctl_report(pg, argc - optind, argv + optind);
    else if (strcmp(cmd, "idempotency") == 0)
        rc = ctl_idempotency(pg, argc - optind, argv + optind);
    else
        rc = ctl_accrue(pg, argc - optind, argv + optind);
    PQfinish(pg);
    config_free(&cfg);
    return rc;
}
