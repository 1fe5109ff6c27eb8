/* db_write: the libpq pipeline messages of a write (db_submit_write); the pool's state machine
 * that drives them (stages, deadlines, callbacks) is in db.c. */
#ifndef RB_DB_WRITE_H
#define RB_DB_WRITE_H

#include "db.h"

#include <libpq-fe.h>
#include <stdbool.h>

/* Enters pipeline mode and queues BEGIN, the transaction-local statement_timeout and
 * idle_in_transaction_session_timeout (server_ms), the statement, and a sync. 0 on failure. */
int db_write_send_body(PGconn *pg, const struct db_stmt *st, const char *const *params, bool named,
                       long server_ms);
/* Queues a statement_timeout of server_ms for the COMMIT, the COMMIT, and a sync. */
int db_write_send_commit(PGconn *pg, long server_ms);
int db_write_send_rollback(PGconn *pg);
/* Keeps the first error of a statement or batch in *keep, or else its last result. */
void db_keep_result(PGresult **keep, PGresult *r);
/* Reads what has arrived of a batch; true once its sync did (*keep then holds the answer). */
bool db_write_read(PGconn *pg, PGresult **keep);

#endif
