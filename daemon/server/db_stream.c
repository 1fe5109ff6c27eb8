/* db_stream: statements whose rows reach the caller one at a time (libpq single-row mode), with
 * pause and resume so that a slow client makes PostgreSQL wait instead of the daemon buffering. */
#include "db.h"
#include "db_private.h"

static void stream_discarded(enum db_status status, const PGresult *res, void *arg)
{
    (void)status;
    (void)res;
    (void)arg;
}

enum db_status db_submit_stream(struct db_pool *pool, const struct db_stmt *stmt,
                                const char *const *params, db_row_cb row, db_cb done, void *arg,
                                struct db_stream **handle)
{
    /* The handle is set before the statement is dispatched: `done` may run at once. */
    if (handle != NULL)
        *handle = NULL;
    return db_enqueue(pool, stmt, params, done, arg, false, row,
                      (struct db_query **)(void *)handle);
}

void db_stream_pause(struct db_stream *s)
{
    struct db_query *q = (struct db_query *)s;
    q->paused = true;
    if (q->conn != NULL && q->conn->q == q) {
        event_del(q->conn->ev);
        q->conn->armed = 0;
    }
}

void db_stream_resume(struct db_stream *s)
{
    struct db_query *q = (struct db_query *)s;
    if (!q->paused)
        return;
    q->paused = false;
    if (q->conn != NULL && q->conn->q == q) {
        db_conn_arm(q->conn, EV_READ);
        /* The rows already in libpq's buffer are read from the loop, not from inside the
         * caller's callback. */
        event_active(q->conn->ev, EV_READ, 0);
    }
}

void db_stream_discard(struct db_stream *s)
{
    struct db_query *q = (struct db_query *)s;
    q->row_cb = NULL;
    q->cb = stream_discarded;
    q->arg = NULL;
    db_stream_resume(s);
}
