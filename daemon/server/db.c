/* db: each connection is a small state machine (down → connecting → setup → idle ⇄ busy) fed by
 * socket events; a broken connection reconnects in the background with exponential backoff. */
#include "db.h"
#include "db_private.h"

#include "db_conninfo.h"
#include "db_write.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_MS 100
/* Capped well under a second: the daemon must serve again within 1 s of the database coming back.
 */
#define BACKOFF_MAX_MS 400
/* A connection attempt that has not finished by then is given up (libpq's connect_timeout does
 * not apply to non-blocking connects), and the next attempt starts at the next host. */
#define CONNECT_MAX_S 5

/* The least a write needs: with less time left it is not sent (or not committed), and the server
 * is told to give up WRITE_MARGIN_MS before the daemon's deadline. */
#define WRITE_MIN_MS 100
#define WRITE_MARGIN_MS 250

static void conn_start(struct db_conn *c);
static void conn_event(evutil_socket_t fd, short what, void *arg);
static void pool_dispatch(struct db_pool *pool);
static void write_send_body(struct db_conn *c, bool named);
static void write_read(struct db_conn *c);

const char *db_status_name(enum db_status status)
{
    static const char *const names[] = {"ok", "unavailable", "busy", "timeout", "error", "unknown"};
    return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "?";
}

static void query_free(struct db_query *q)
{
    for (int i = 0; i < q->nparams; i++)
        free(q->params[i]);
    free(q->params);
    if (q->held != NULL)
        PQclear(q->held);
    free(q);
}

/* A query whose connection is gone: a write whose COMMIT was sent may have committed. */
static enum db_status query_lost_status(const struct db_query *q)
{
    return q->write && q->stage == W_COMMIT ? DB_UNKNOWN : DB_UNAVAILABLE;
}

/* (Re)registers the connection's socket for `what`; the socket may change while connecting. */
void db_conn_arm(struct db_conn *c, short what)
{
    evutil_socket_t fd = PQsocket(c->pg);
    if (fd == c->fd && what == c->armed)
        return;
    event_del(c->ev);
    event_assign(c->ev, c->pool->base, fd, (short)(what | EV_PERSIST), conn_event, c);
    event_add(c->ev, NULL);
    c->fd = fd;
    c->armed = what;
}

static void conn_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_start(arg);
}

static bool pool_any_up(const struct db_pool *pool)
{
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].state == C_IDLE || pool->conns[i].state == C_BUSY)
            return true;
    return false;
}

static void pool_fail_waiting(struct db_pool *pool, enum db_status status)
{
    while (pool->head != NULL) {
        struct db_query *q = pool->head;
        pool->head = q->next;
        pool->waiting--;
        q->cb(status, NULL, q->arg);
        query_free(q);
    }
    pool->tail = NULL;
}

/* Drops the connection and schedules a new attempt; a query in flight fails as unavailable. */
static void conn_reset(struct db_conn *c, const char *why)
{
    struct db_pool *pool = c->pool;
    bool was_up = c->state == C_IDLE || c->state == C_BUSY;

    if (c->pg != NULL && why != NULL) {
        const char *msg = PQerrorMessage(c->pg);
        char first[200];
        snprintf(first, sizeof first, "%s", msg ? msg : "");
        first[strcspn(first, "\n")] = '\0';
        log_warn("db: connection %d %s: %s (retry in %d ms)", c->index, why, first, c->backoff_ms);
    }
    event_del(c->ev);
    c->fd = -1;
    c->armed = 0;
    if (c->pg != NULL)
        PQfinish(c->pg);
    c->pg = NULL;
    if (c->res != NULL)
        PQclear(c->res);
    c->res = NULL;
    c->state = C_DOWN;
    c->preparing = false;
    c->nprepared = 0;
    if (c->q != NULL) {
        struct db_query *q = c->q;
        c->q = NULL;
        pool->errors++;
        if (q->cb != NULL)
            q->cb(query_lost_status(q), NULL, q->arg);
        query_free(q);
    }
    struct timeval tv = {c->backoff_ms / 1000, (suseconds_t)(c->backoff_ms % 1000) * 1000};
    evtimer_add(c->retry, &tv);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
    if (was_up && !pool_any_up(pool))
        log_error("db: no connection to the database is up");
    if (!pool_any_up(pool))
        pool_fail_waiting(pool, DB_UNAVAILABLE);
}

static void conn_start(struct db_conn *c)
{
    struct db_pool *pool = c->pool;
    const char *conninfo =
        pool->nvariants > 1 ? pool->variants[c->rotation % pool->nvariants] : pool->conninfo;
    c->pg = PQconnectStart(conninfo);
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_reset(c, "could not start");
        return;
    }
    c->state = C_CONNECTING;
    c->fd = -1;
    c->armed = 0;
    clock_gettime(CLOCK_MONOTONIC, &c->connect_deadline);
    c->connect_deadline.tv_sec += pool->timeout_s < CONNECT_MAX_S ? pool->timeout_s : CONNECT_MAX_S;
    db_conn_arm(c, EV_WRITE);
}

/* After queueing a statement (ok: libpq took it): flush, arming EV_WRITE while bytes remain. */
static void conn_flush(struct db_conn *c, int ok)
{
    if (!ok) {
        conn_reset(c, "send failed");
        return;
    }
    int f = PQflush(c->pg);
    if (f < 0) {
        conn_reset(c, "flush failed");
        return;
    }
    db_conn_arm(c, f == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static bool conn_has_prepared(const struct db_conn *c, const struct db_stmt *stmt)
{
    for (int i = 0; i < c->nprepared; i++)
        if (c->prepared[i] == stmt)
            return true;
    return false;
}

/* Sends the statement of c->q (preparing it first on this connection when needed); arms EV_WRITE
 * while libpq still has bytes to flush. */
static void conn_send(struct db_conn *c)
{
    struct db_query *q = c->q;
    const struct db_stmt *st = q->stmt;
    const char *const *params = (const char *const *)q->params;
    int ok;
    bool named = st != NULL && c->pool->use_prepared &&
                 (conn_has_prepared(c, st) || c->nprepared < MAX_PREPARED);
    if (q->write && (!named || conn_has_prepared(c, st))) {
        write_send_body(c, named);
        return;
    }
    if (st == NULL) {
        ok = PQsendQuery(c->pg, c->pool->setup_sql);
    } else if (!named) {
        ok = PQsendQueryParams(c->pg, st->sql, st->nparams, NULL, params, NULL, NULL, 0);
    } else if (conn_has_prepared(c, st)) {
        ok = PQsendQueryPrepared(c->pg, st->name, st->nparams, params, NULL, NULL, 0);
    } else {
        ok = PQsendPrepare(c->pg, st->name, st->sql, st->nparams, NULL);
        c->preparing = true;
    }
    if (ok && q->streamed && !c->preparing)
        ok = PQsetSingleRowMode(c->pg);
    conn_flush(c, ok);
}

static void conn_setup(struct db_conn *c)
{
    struct db_query *q = calloc(1, sizeof *q);
    if (q == NULL || PQsetnonblocking(c->pg, 1) != 0) {
        free(q);
        conn_reset(c, "setup failed");
        return;
    }
    c->state = C_SETUP;
    clock_gettime(CLOCK_MONOTONIC, &q->deadline);
    q->deadline.tv_sec += c->pool->timeout_s;
    c->q = q;
    conn_send(c);
}

/* While connecting, libpq may close the socket and open another for the next host of a
 * multi-host conninfo; the new one often gets the same number, which epoll has already forgotten.
 * So the socket is registered afresh after every step, never kept by its number. */
static void conn_connect_step(struct db_conn *c)
{
    event_del(c->ev);
    c->fd = -1;
    c->armed = 0;
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        db_conn_arm(c, EV_READ);
        break;
    case PGRES_POLLING_WRITING:
        db_conn_arm(c, EV_WRITE);
        break;
    case PGRES_POLLING_OK:
        conn_setup(c);
        break;
    default:
        conn_reset(c, "connect failed");
        break;
    }
}

static void log_failed(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    log_error("db: statement failed: %s %s", state ? state : "-", msg ? msg : "-");
}

/* The connection's last result, now the caller's; ok: the statement succeeded. */
static PGresult *conn_take_result(struct db_conn *c, bool *ok)
{
    PGresult *res = c->res;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    *ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
    c->res = NULL;
    return res;
}

/* The statement finished: hand its result to the caller and take the next waiting request. */
static void conn_complete(struct db_conn *c)
{
    struct db_query *q = c->q;
    bool ok;
    PGresult *res = conn_take_result(c, &ok);
    if (c->preparing) {
        c->preparing = false;
        if (ok) {
            c->prepared[c->nprepared++] = q->stmt;
            PQclear(res);
            conn_send(c);
            return;
        }
        /* fall through: the prepare's error is the statement's error */
    }
    c->q = NULL;
    if (q->stmt == NULL) { /* setup finished */
        query_free(q);
        PQclear(res);
        if (!ok) {
            conn_reset(c, "setup statement failed");
            return;
        }
        if (c->backoff_ms > BACKOFF_MIN_MS || !pool_any_up(c->pool))
            log_info("db: connection %d ready", c->index);
        c->backoff_ms = BACKOFF_MIN_MS;
        c->state = C_IDLE;
        pool_dispatch(c->pool);
        return;
    }
    c->state = C_IDLE;
    if (!ok) {
        c->pool->errors++;
        log_failed(res);
    }
    q->cb(ok ? DB_OK : DB_ERROR, res, q->arg);
    PQclear(res);
    query_free(q);
    pool_dispatch(c->pool);
}

/* One row of a streamed statement to its caller, who may pause or discard the stream. */
static void stream_row(struct db_conn *c, PGresult *r)
{
    struct db_query *q = c->q;
    if (q->row_cb != NULL)
        q->row_cb(r, q->arg);
    PQclear(r);
    if (q->paused) {
        event_del(c->ev);
        c->armed = 0;
    }
}

static void conn_read_results(struct db_conn *c)
{
    if (c->q != NULL && c->q->paused) {
        event_del(c->ev); /* not even into libpq's buffer while paused */
        c->armed = 0;
        return;
    }
    if (!PQconsumeInput(c->pg)) {
        conn_reset(c, "read failed");
        return;
    }
    if (c->q == NULL) {
        /* Idle: a notice, or the server going away. */
        if (PQstatus(c->pg) == CONNECTION_BAD)
            conn_reset(c, "closed");
        return;
    }
    if (PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF) {
        write_read(c);
        return;
    }
    while (!PQisBusy(c->pg)) {
        if (c->q->paused)
            return; /* the rows wait in libpq's buffer; db_stream_resume reads on */
        PGresult *r = PQgetResult(c->pg);
        if (r == NULL) {
            conn_complete(c);
            return;
        }
        if (PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
            stream_row(c, r);
            continue;
        }
        db_keep_result(&c->res, r);
    }
    if (PQstatus(c->pg) == CONNECTION_BAD)
        conn_reset(c, "lost during a statement");
}

static void conn_event(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    (void)fd;
    if (c->state == C_CONNECTING) {
        conn_connect_step(c);
        return;
    }
    if (what & EV_WRITE) {
        int f = PQflush(c->pg);
        if (f < 0) {
            conn_reset(c, "flush failed");
            return;
        }
        if (f == 0)
            db_conn_arm(c, EV_READ);
    }
    if (what & EV_READ)
        conn_read_results(c);
}

static long ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
           (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* The server's timeouts for the rest of a write: what is left of the request's deadline, less a
 * margin, so that the server ends a slow statement or COMMIT (rolling back) before the daemon
 * would have to stop waiting without knowing the outcome. */
static long write_server_ms(const struct db_query *q)
{
    return ms_left(&q->deadline) - WRITE_MARGIN_MS;
}

/* The next waiting request; a write whose time has (almost) run out in the queue is answered
 * DB_TIMEOUT without being sent: nothing was written. */
static struct db_query *pool_take(struct db_pool *pool)
{
    while (pool->head != NULL) {
        struct db_query *q = pool->head;
        pool->head = q->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pool->waiting--;
        q->next = NULL;
        if (!q->write || write_server_ms(q) >= WRITE_MIN_MS)
            return q;
        pool->errors++;
        q->cb(DB_TIMEOUT, NULL, q->arg);
        query_free(q);
    }
    return NULL;
}

static void pool_dispatch(struct db_pool *pool)
{
    for (int i = 0; i < pool->size && pool->head != NULL; i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->state != C_IDLE)
            continue;
        struct db_query *q = pool_take(pool);
        if (q == NULL)
            break;
        q->conn = c;
        c->q = q;
        c->state = C_BUSY;
        conn_send(c);
    }
}

/* ---- writes (db_write.c): BEGIN, the server's timeouts, the statement; COMMIT after it ---- */

static void write_send_body(struct db_conn *c, bool named)
{
    long left = write_server_ms(c->q);
    c->q->stage = W_BODY;
    conn_flush(c, db_write_send_body(c->pg, c->q->stmt, (const char *const *)c->q->params, named,
                                     left > WRITE_MIN_MS / 2 ? left : WRITE_MIN_MS / 2));
}

/* Ends the open transaction without committing (after an error, or with no time left). */
static void write_send_rollback(struct db_conn *c)
{
    c->q->stage = W_ROLLBACK;
    conn_flush(c, db_write_send_rollback(c->pg));
}

/* Hands the write's outcome to the caller, once; the connection may still have to roll back. */
static void write_answer(struct db_conn *c, enum db_status st, const PGresult *res)
{
    struct db_query *q = c->q;
    if (q->cb == NULL)
        return;
    if (st != DB_OK)
        c->pool->errors++;
    if (st == DB_ERROR)
        log_failed(res);
    q->cb(st, res, q->arg);
    q->cb = NULL;
}

/* The statement succeeded: COMMIT, under a statement_timeout of what is left now. From here on a
 * lost connection or the deadline leaves the outcome unknown. */
static void write_send_commit(struct db_conn *c)
{
    struct db_query *q = c->q;
    long left = write_server_ms(q);
    if (left < WRITE_MIN_MS) {
        write_answer(c, DB_TIMEOUT, NULL); /* COMMIT never sent: nothing is written */
        write_send_rollback(c);
        return;
    }
    q->stage = W_COMMIT;
    conn_flush(c, db_write_send_commit(c->pg, left));
}

static void write_finish(struct db_conn *c)
{
    struct db_query *q = c->q;
    if (!PQexitPipelineMode(c->pg)) {
        conn_reset(c, "could not leave pipeline mode");
        return;
    }
    c->q = NULL;
    query_free(q);
    c->state = C_IDLE;
    pool_dispatch(c->pool);
}

/* A batch's sync arrived, so the server answered every part of it. An error it reported (the
 * connection still up) means the transaction did not commit. */
static void write_batch_done(struct db_conn *c)
{
    struct db_query *q = c->q;
    bool ok;
    PGresult *res = conn_take_result(c, &ok);
    if (q->stage == W_BODY && ok) {
        q->held = res;
        write_send_commit(c);
        return;
    }
    if (q->stage == W_COMMIT && ok && strcmp(PQcmdStatus(res), "COMMIT") == 0)
        write_answer(c, DB_OK, q->held);
    else if (q->stage != W_ROLLBACK)
        write_answer(c, DB_ERROR, res);
    PQclear(res);
    if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        write_finish(c);
    else if (q->stage != W_ROLLBACK)
        write_send_rollback(c);
    else
        conn_reset(c, "could not roll back");
}

static void write_read(struct db_conn *c)
{
    if (db_write_read(c->pg, &c->res))
        write_batch_done(c);
    else if (PQstatus(c->pg) == CONNECTION_BAD)
        conn_reset(c, "lost during a write");
}

static bool deadline_passed(const struct timespec *d, const struct timespec *now)
{
    return now->tv_sec > d->tv_sec || (now->tv_sec == d->tv_sec && now->tv_nsec >= d->tv_nsec);
}

/* A statement (or a connection attempt) outlived the request's deadline: the server's own
 * statement_timeout did not end it, e.g. because a pooler such as pgbouncer holds it in a queue
 * while the database is away. Dropping the connection is the one way to stop waiting. */
static void conn_expire(struct db_conn *c)
{
    struct db_query *q = c->q;
    c->q = NULL;
    if (q != NULL && q->stmt != NULL && q->cb != NULL) {
        c->pool->errors++;
        q->cb(q->write && q->stage == W_COMMIT ? DB_UNKNOWN : DB_TIMEOUT, NULL, q->arg);
    }
    if (q != NULL)
        query_free(q);
    conn_reset(c, "passed the request deadline");
}

static void pool_expire_busy(struct db_pool *pool, const struct timespec *now)
{
    for (int i = 0; i < pool->size; i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->state == C_CONNECTING && deadline_passed(&c->connect_deadline, now)) {
            c->rotation++; /* a server that hangs must not stay first in line */
            conn_expire(c);
        } else if ((c->state == C_SETUP || c->state == C_BUSY) && c->q != NULL &&
                   deadline_passed(&c->q->deadline, now)) {
            conn_expire(c);
        }
    }
}

/* Requests wait in FIFO order, so the expired ones are at the head. */
static void pool_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct db_pool *pool = arg;
    struct timespec now;
    (void)fd;
    (void)what;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pool_expire_busy(pool, &now);
    while (pool->head != NULL && deadline_passed(&pool->head->deadline, &now)) {
        struct db_query *q = pool->head;
        pool->head = q->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pool->waiting--;
        q->cb(DB_TIMEOUT, NULL, q->arg);
        query_free(q);
    }
}

struct db_pool *db_pool_new(struct event_base *base, const char *conninfo, int size, int queue_max,
                            int timeout_s, bool prepared)
{
    struct db_pool *pool = malloc(sizeof *pool);
    if (pool == NULL)
        return NULL;
    *pool = (struct db_pool){.base = base,
                             .size = size,
                             .queue_max = queue_max,
                             .timeout_s = timeout_s,
                             .use_prepared = prepared};
    pool->conninfo = strdup(conninfo);
    pool->nvariants = db_conninfo_host_count(conninfo);
    pool->variants = calloc((size_t)pool->nvariants, sizeof *pool->variants);
    for (int i = 0; pool->variants != NULL && i < pool->nvariants; i++)
        if ((pool->variants[i] = db_conninfo_rotate(conninfo, i)) == NULL)
            goto fail;
    /* The server ends a slow statement a little before the pool's own deadline would drop the
     * connection. Without prepared statements the daemon may sit behind a transaction pooler,
     * where session settings leak to other clients: then the pool's deadline alone applies. */
    int server_ms = timeout_s * 1000 - 250;
    if (prepared)
        snprintf(pool->setup_sql, sizeof pool->setup_sql,
                 "SET application_name = 'reimbursed'; SET statement_timeout = %d",
                 server_ms > 500 ? server_ms : 500);
    else
        snprintf(pool->setup_sql, sizeof pool->setup_sql, "SET application_name = 'reimbursed'");
    pool->conns = calloc((size_t)size, sizeof *pool->conns);
    pool->sweep = event_new(base, -1, EV_PERSIST, pool_sweep, pool);
    if (pool->conninfo == NULL || pool->variants == NULL || pool->conns == NULL ||
        pool->sweep == NULL)
        goto fail;
    struct timeval tick = {0, 100000};
    event_add(pool->sweep, &tick);
    for (int i = 0; i < size; i++) {
        struct db_conn *c = &pool->conns[i];
        c->pool = pool;
        c->index = i;
        c->fd = -1;
        c->backoff_ms = BACKOFF_MIN_MS;
        c->ev = event_new(base, -1, 0, conn_event, c);
        c->retry = evtimer_new(base, conn_retry_cb, c);
        if (c->ev == NULL || c->retry == NULL)
            goto fail;
    }
    for (int i = 0; i < size; i++)
        conn_start(&pool->conns[i]);
    return pool;
fail:
    db_pool_free(pool);
    return NULL;
}

void db_pool_free(struct db_pool *pool)
{
    if (pool == NULL)
        return;
    pool_fail_waiting(pool, DB_UNAVAILABLE);
    for (int i = 0; pool->conns != NULL && i < pool->size; i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->q != NULL) {
            if (c->q->cb != NULL)
                c->q->cb(query_lost_status(c->q), NULL, c->q->arg);
            query_free(c->q);
        }
        if (c->res != NULL)
            PQclear(c->res);
        if (c->pg != NULL)
            PQfinish(c->pg);
        if (c->ev != NULL)
            event_free(c->ev);
        if (c->retry != NULL)
            event_free(c->retry);
    }
    if (pool->sweep != NULL)
        event_free(pool->sweep);
    free(pool->conns);
    for (int i = 0; pool->variants != NULL && i < pool->nvariants; i++)
        free(pool->variants[i]);
    free(pool->variants);
    free(pool->conninfo);
    free(pool);
}

/* Queues a statement: a write (db_submit_write), or a streamed read when row_cb is non-NULL. */
enum db_status db_enqueue(struct db_pool *pool, const struct db_stmt *stmt,
                          const char *const *params, db_cb cb, void *arg, bool write,
                          db_row_cb row_cb, struct db_query **out)
{
    if (!pool_any_up(pool))
        return DB_UNAVAILABLE;
    if (pool->waiting >= pool->queue_max)
        return DB_BUSY;
    struct db_query *q = calloc(1, sizeof *q);
    if (q == NULL)
        return DB_BUSY;
    int nparams = stmt->nparams;
    q->stmt = stmt;
    q->write = write;
    q->cb = cb;
    q->arg = arg;
    q->row_cb = row_cb;
    q->streamed = row_cb != NULL;
    q->params = calloc((size_t)(nparams > 0 ? nparams : 1), sizeof *q->params);
    if (q->params == NULL) {
        free(q);
        return DB_BUSY;
    }
    for (int i = 0; i < nparams; i++) {
        if (params[i] != NULL && (q->params[i] = strdup(params[i])) == NULL) {
            q->nparams = i;
            query_free(q);
            return DB_BUSY;
        }
    }
    q->nparams = nparams;
    clock_gettime(CLOCK_MONOTONIC, &q->deadline);
    q->deadline.tv_sec += pool->timeout_s;
    if (pool->tail != NULL)
        pool->tail->next = q;
    else
        pool->head = q;
    pool->tail = q;
    pool->waiting++;
    if (out != NULL)
        *out = q;
    pool_dispatch(pool);
    return DB_OK;
}

enum db_status db_submit(struct db_pool *pool, const struct db_stmt *stmt,
                         const char *const *params, db_cb cb, void *arg)
{
    return db_enqueue(pool, stmt, params, cb, arg, false, NULL, NULL);
}

enum db_status db_submit_write(struct db_pool *pool, const struct db_stmt *stmt,
                               const char *const *params, db_cb cb, void *arg)
{
    return db_enqueue(pool, stmt, params, cb, arg, true, NULL, NULL);
}

bool db_pool_ready(const struct db_pool *pool)
{
    return pool_any_up(pool);
}

void db_pool_stats(const struct db_pool *pool, struct db_pool_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < pool->size; i++) {
        switch (pool->conns[i].state) {
        case C_IDLE:
            out->idle++;
            break;
        case C_BUSY:
            out->busy++;
            break;
        default:
            out->down++;
            break;
        }
    }
    out->waiting = pool->waiting;
    out->errors = pool->errors;
}
