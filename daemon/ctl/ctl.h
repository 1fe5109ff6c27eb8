/* ctl: the commands of reimbursectl, the admin tool. Blocking libpq is fine here: no event loop. */
#ifndef RB_CTL_H
#define RB_CTL_H

#include <libpq-fe.h>

/* Exit codes: 0 done, 1 failed, 2 usage, 3 the named thing exists / does not exist. */
enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2, CTL_CONFLICT = 3 };

/* The conninfo the tool connected with (for commands that open more connections). */
extern const char *ctl_conninfo;
/* The chart of accounts of the configuration (-c), or the defaults: the nightly SIE file uses the
 * chart the daemon's API export uses. */
struct ledger_chart;
extern const struct ledger_chart *ctl_chart;

int ctl_migrate(PGconn *pg, int argc, char **argv);
int ctl_client(PGconn *pg, int argc, char **argv);
int ctl_rates(PGconn *pg, int argc, char **argv);
int ctl_accrue(PGconn *pg, int argc, char **argv);
int ctl_report(PGconn *pg, int argc, char **argv);
/* `idempotency expire`: deletes the keys older than ctl_idempotency_retention_h, in batches. */
int ctl_idempotency(PGconn *pg, int argc, char **argv);
extern int ctl_idempotency_retention_h;
/* Reads the long options from argv[first] on, each taking a value: the value of opts[i] goes to
 * vals[i] (the last one given wins; opts[i].val must be 0). False on an option not in opts or
 * one without its value; optind is left after the options. */
struct option;
int ctl_options(int argc, char **argv, int first, const struct option *opts, const char **vals);
/* Prints the statement's error (SQLSTATE and message) and returns false unless `want`. */
int ctl_result_ok(PGconn *pg, PGresult *res, ExecStatusType want, const char *what);

#endif
