/* pg_exec: one parameterised statement on a blocking connection, kept only when it succeeded,
 * for the accrual run and the nightly reports. */
#ifndef RB_PG_EXEC_H
#define RB_PG_EXEC_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* The result when the statement succeeded (tuples or command), else NULL with err set to
 * "what: the server's primary message" (or libpq's, when there is no result). */
PGresult *pg_exec(PGconn *pg, const char *sql, int n, const char *const *params, const char *what,
                  char *err, size_t errlen);
/* As pg_exec, for a statement whose result is not needed. */
bool pg_exec_ok(PGconn *pg, const char *sql, int n, const char *const *params, const char *what,
                char *err, size_t errlen);

#endif
