/* accrual_run: the convergent accrual run over the whole ledger, on one blocking connection.
 * Used by reimbursectl directly and by the daemon from a worker thread (never on the loop). */
#ifndef RB_ACCRUAL_RUN_H
#define RB_ACCRUAL_RUN_H

#include "pg_workers.h"
#include "strbuf.h"

#include <libpq-fe.h>

#define ACCRUAL_RUN_MAX_JOBS PG_WORKERS_MAX

/* What became of a run: domain outcomes, which the daemon maps to HTTP answers and
 * reimbursectl to exit codes. */
enum accrual_outcome {
    ACCRUAL_RUN_RECORDED = 0,          /* the run is recorded, done or failed part way */
    ACCRUAL_RUN_INVALID_THROUGH,       /* `through` is not a date */
    ACCRUAL_RUN_THROUGH_NOT_PAST,      /* refused: `through` is not before today */
    ACCRUAL_RUN_THROUGH_BEFORE_LATEST, /* refused: before the latest day a run accrued through */
    ACCRUAL_RUN_NOT_RECORDED,          /* the run could not be started, finished or read back */
    ACCRUAL_RUN_OUTCOME_UNKNOWN,       /* as NOT_RECORDED, and the connection is lost: what the
                                          database committed is not known */
};

/* Runs the accrual through `through` (YYYY-MM-DD). client_id may be NULL (the admin tool).
 * With conninfo and jobs > 1, up to `jobs` connections (pg and jobs − 1 new ones) share the
 * municipalities.
 * Leaves a JSON document in `body`: the run (ACCRUAL_RUN_RECORDED), else the error object
 * ({"error":{"code", "message"[, "field"]}}) that says why. */
enum accrual_outcome accrual_run_execute(PGconn *pg, const char *conninfo, int jobs,
                                         const char *client_id, const char *through,
                                         struct strbuf *body);

#endif
