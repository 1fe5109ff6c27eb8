/* db_write: a write is an explicit transaction sent in libpq's pipeline mode in two round trips:
 * BEGIN + timeouts + the statement + sync, then, only once the statement succeeded, the deferred
 * checks + COMMIT + sync. Nothing here outlives the transaction, so a transaction pooler may carry
 * it. */
#include "db_write.h"

#include <stdio.h>

static const char set_timeouts_sql[] =
    "SELECT set_config('statement_timeout', $1, true), "
    "set_config('idle_in_transaction_session_timeout', $1, true)";

int db_write_send_body(PGconn *pg, const struct db_stmt *st, const char *const *params, bool named,
                       long server_ms)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%ld", server_ms);
    const char *tp[1] = {ms};
    return PQenterPipelineMode(pg) &&
           PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
           PQsendQueryParams(pg, set_timeouts_sql, 1, NULL, tp, NULL, NULL, 0) &&
           (named ? PQsendQueryPrepared(pg, st->name, st->nparams, params, NULL, NULL, 0)
                  : PQsendQueryParams(pg, st->sql, st->nparams, NULL, params, NULL, NULL, 0)) &&
           PQpipelineSync(pg);
}

/* PostgreSQL stops a statement's timer before it commits, so the deferred constraint checks
 * (and triggers) that COMMIT would run are run first by SET CONSTRAINTS ALL IMMEDIATE, a
 * statement the timeout covers: when they are slow, the server cancels them and rolls back.
 * What COMMIT then does (flush the WAL, wait for a synchronous standby) cannot be cancelled. */
int db_write_send_commit(PGconn *pg, long server_ms)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%ld", server_ms);
    const char *tp[1] = {ms};
    return PQsendQueryParams(pg, "SELECT set_config('statement_timeout', $1, true)", 1, NULL, tp,
                             NULL, NULL, 0) &&
           PQsendQueryParams(pg, "SET CONSTRAINTS ALL IMMEDIATE", 0, NULL, NULL, NULL, NULL, 0) &&
           PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(pg);
}

int db_write_send_rollback(PGconn *pg)
{
    return PQsendQueryParams(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(pg);
}

void db_keep_result(PGresult **keep, PGresult *r)
{
    if (*keep != NULL && PQresultStatus(*keep) == PGRES_FATAL_ERROR) {
        PQclear(r);
        return;
    }
    if (*keep != NULL)
        PQclear(*keep);
    *keep = r;
}

/* A NULL ends each statement's results in a pipeline; two in a row mean nothing more is there
 * (a broken connection), so the caller looks at the connection's status. */
bool db_write_read(PGconn *pg, PGresult **keep)
{
    int nulls = 0;
    while (!PQisBusy(pg) && nulls < 2) {
        PGresult *r = PQgetResult(pg);
        if (r == NULL) {
            nulls++;
            continue;
        }
        nulls = 0;
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            return true;
        }
        db_keep_result(keep, r);
    }
    return false;
}
