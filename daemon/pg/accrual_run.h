/* accrual_run: the convergent accrual run over the whole ledger, on one blocking connection.
 * Used by reimbursectl directly and by the daemon from a worker thread (never on the loop). */
#ifndef RB_ACCRUAL_RUN_H
#define RB_ACCRUAL_RUN_H

#include "strbuf.h"

#include <libpq-fe.h>

#define ACCRUAL_RUN_MAX_JOBS 16

/* Runs the accrual through `through` (YYYY-MM-DD). client_id may be NULL (the admin tool).
 * With conninfo and jobs > 1, up to `jobs` connections (pg and jobs − 1 new ones) share the
 * municipalities.
 * Returns the HTTP status of the outcome and leaves the JSON body in `body`: the run (200), or
 * the error object (409 for a refused `through`, 500 when the run could not be recorded). */
int accrual_run_execute(PGconn *pg, const char *conninfo, int jobs, const char *client_id,
                        const char *through, struct strbuf *body);

#endif
