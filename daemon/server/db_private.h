/* db_private: the pool's internals, shared by db.c (connections, queue, writes) and db_stream.c
 * (streamed reads); nothing outside the db module includes it. */
#ifndef RB_DB_PRIVATE_H
#define RB_DB_PRIVATE_H

#include "db.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <time.h>

#define MAX_PREPARED 64

enum conn_state { C_DOWN, C_CONNECTING, C_SETUP, C_IDLE, C_BUSY };
/* How far a write got: W_COMMIT from the moment COMMIT may have reached the server. */
enum write_stage { W_NONE, W_BODY, W_COMMIT, W_ROLLBACK };

struct db_query {
    struct db_query *next;
    const struct db_stmt *stmt; /* NULL for the connection's setup statement */
    int nparams;
    char **params;
    db_cb cb;
    void *arg;
    struct timespec deadline;
    bool write;             /* db_submit_write */
    enum write_stage stage; /* of a write */
    PGresult *held;         /* a write's result, handed over once COMMIT succeeded */
    /* A streamed statement (db_submit_stream): rows one at a time (single-row mode). */
    db_row_cb row_cb;     /* NULL once discarded */
    bool streamed;        /* single-row mode, even once discarded */
    struct db_conn *conn; /* while it runs */
    bool paused;          /* the caller cannot take rows now: the socket is not read */
};

struct db_conn {
    struct db_pool *pool;
    int index;
    PGconn *pg;
    enum conn_state state;
    struct event *ev;
    evutil_socket_t fd;
    short armed;
    struct event *retry;
    int backoff_ms;
    struct db_query *q;
    struct timespec connect_deadline; /* while connecting */
    int rotation;                     /* which host of a multi-host conninfo to try first */
    PGresult *res;
    bool preparing; /* the result in progress is PQsendPrepare's */
    int nprepared;
    const struct db_stmt *prepared[MAX_PREPARED];
};

struct db_pool {
    struct event_base *base;
    char *conninfo;
    char **variants; /* the conninfo rotated to start at each of its hosts */
    int nvariants;
    int size;
    struct db_conn *conns;
    struct db_query *head, *tail;
    int waiting, queue_max, timeout_s;
    bool use_prepared;
    unsigned long long errors;
    struct event *sweep;
    char setup_sql[128];
};

/* Arms the connection's socket event for `what` (EV_READ, EV_WRITE or both). */
void db_conn_arm(struct db_conn *c, short what);
/* Queues a statement: a write (db_submit_write), or a streamed read when row_cb is non-NULL;
 * *out (when given) gets the query before it is dispatched. */
enum db_status db_enqueue(struct db_pool *pool, const struct db_stmt *stmt,
                          const char *const *params, db_cb cb, void *arg, bool write,
                          db_row_cb row_cb, struct db_query **out);

#endif
