/* db: a pool of non-blocking libpq connections driven by the libevent loop, with a FIFO wait queue.
 */
#ifndef RB_DB_H
#define RB_DB_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>

enum db_status {
    DB_OK = 0,
    DB_UNAVAILABLE, /* no connection to the database, or it broke during the query */
    DB_BUSY,        /* the wait queue is full */
    DB_TIMEOUT,     /* waited longer than the request timeout for a connection */
    DB_ERROR,       /* the statement failed; res holds the error */
    DB_UNKNOWN,     /* a write's COMMIT was sent and not answered (connection lost, deadline):
                       it may or may not have committed */
};

/* res belongs to the pool and is valid only during the call (NULL unless DB_OK or DB_ERROR). */
typedef void (*db_cb)(enum db_status status, const PGresult *res, void *arg);

struct db_pool_stats {
    int idle, busy, down, waiting;
    unsigned long long errors;
};

struct db_pool;

/* A statement the daemon runs; static for the life of the process. With prepared statements on,
 * each connection prepares it under `name` the first time it runs it. */
struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
};

struct db_pool *db_pool_new(struct event_base *base, const char *conninfo, int size, int queue_max,
                            int timeout_s, bool prepared);
/* Fails every waiting request with DB_UNAVAILABLE and closes every connection. */
void db_pool_free(struct db_pool *pool);
/* Queues one parameterised statement. Params are copied. On anything but DB_OK the callback will
 * not be called and the caller answers at once. */
enum db_status db_submit(struct db_pool *pool, const struct db_stmt *stmt,
                         const char *const *params, db_cb cb, void *arg);
/* Like db_submit, for a statement that writes: BEGIN, transaction-local statement_timeout and
 * idle_in_transaction_session_timeout from what is left of the request's deadline, the statement,
 * and COMMIT only after the statement succeeded (libpq pipeline mode, two round trips). The
 * callback gets DB_TIMEOUT, DB_UNAVAILABLE or DB_ERROR only when nothing was committed, and
 * DB_UNKNOWN when COMMIT was sent and its answer never came. */
enum db_status db_submit_write(struct db_pool *pool, const struct db_stmt *stmt,
                               const char *const *params, db_cb cb, void *arg);
/* A streamed statement: `row` gets each row as it arrives (a one-row result, valid during the
 * call), then `done` gets the end as db_submit's callback would (DB_OK with an empty result, or a
 * failure after some rows or none). libpq's single-row mode: the daemon holds one row at a time.
 * The caller may pause (the pool stops reading the connection, so PostgreSQL waits on its socket)
 * and resume, e.g. with a client's output buffer; the request deadline still applies. Discard
 * stops every callback (the rest of the rows are read and dropped, the connection stays).
 * The handle is valid until `done` runs or the stream is discarded. */
struct db_stream;
typedef void (*db_row_cb)(const PGresult *row, void *arg);
enum db_status db_submit_stream(struct db_pool *pool, const struct db_stmt *stmt,
                                const char *const *params, db_row_cb row, db_cb done, void *arg,
                                struct db_stream **handle);
void db_stream_pause(struct db_stream *s);
void db_stream_resume(struct db_stream *s);
void db_stream_discard(struct db_stream *s);
bool db_pool_ready(const struct db_pool *pool);
void db_pool_stats(const struct db_pool *pool, struct db_pool_stats *out);
const char *db_status_name(enum db_status status);

#endif
