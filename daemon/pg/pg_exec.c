/* pg_exec: see pg_exec.h. */
#include "pg_exec.h"

#include <stdio.h>

PGresult *pg_exec(PGconn *pg, const char *sql, int n, const char *const *params, const char *what,
                  char *err, size_t errlen)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(err, errlen, "%s: %s", what, msg ? msg : PQerrorMessage(pg));
    PQclear(res);
    return NULL;
}

bool pg_exec_ok(PGconn *pg, const char *sql, int n, const char *const *params, const char *what,
                char *err, size_t errlen)
{
    PGresult *res = pg_exec(pg, sql, n, params, what, err, errlen);
    PQclear(res);
    return res != NULL;
}
