/* pg_workers: a shared counter under a mutex hands out the items; see pg_workers.h. */
#include "pg_workers.h"

#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct queue {
    const struct pg_workers *w;
    size_t next;
    pthread_mutex_t lock;
};

struct worker {
    struct queue *q;
    int index;
    PGconn *pg;
    pthread_t thread;
    bool started;
};

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    const struct pg_workers *w = wk->q->w;
    for (;;) {
        pthread_mutex_lock(&wk->q->lock);
        size_t i = wk->q->next++;
        pthread_mutex_unlock(&wk->q->lock);
        if (i >= w->items)
            return NULL;
        w->work(w->ctx, wk->index, wk->pg, i);
    }
}

/* A connection with `pg`'s own parameters, for callers that have no conninfo. */
static PGconn *conn_clone(PGconn *pg)
{
    PQconninfoOption *opts = PQconninfo(pg);
    if (opts == NULL)
        return NULL;
    size_t n = 0;
    while (opts[n].keyword != NULL)
        n++;
    const char **kw = calloc(n + 1, sizeof *kw), **val = calloc(n + 1, sizeof *val);
    PGconn *c = NULL;
    if (kw != NULL && val != NULL) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (opts[i].val != NULL && opts[i].val[0] != '\0') {
                kw[k] = opts[i].keyword;
                val[k++] = opts[i].val;
            }
        c = PQconnectdbParams(kw, val, 0);
    }
    free(kw);
    free(val);
    PQconninfoFree(opts);
    return c;
}

static PGconn *conn_open(const struct pg_workers *w)
{
    PGconn *c = w->conninfo ? PQconnectdb(w->conninfo) : conn_clone(w->pg);
    if (c != NULL && PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = NULL;
    }
    if (c == NULL && w->name != NULL)
        log_warn("%s: an extra connection failed; running with fewer", w->name);
    if (c != NULL && w->setup != NULL)
        PQclear(PQexec(c, w->setup));
    return c;
}

int pg_workers_count(const struct pg_workers *w)
{
    int n = w->jobs < 1 ? 1 : w->jobs > PG_WORKERS_MAX ? PG_WORKERS_MAX : w->jobs;
    if ((size_t)n > w->items)
        n = w->items > 0 ? (int)w->items : 1;
    return n;
}

void pg_workers_run(const struct pg_workers *w)
{
    struct queue q = {.w = w};
    struct worker wk[PG_WORKERS_MAX] = {0};
    int n = pg_workers_count(w);
    pthread_mutex_init(&q.lock, NULL);
    wk[0] = (struct worker){&q, 0, w->pg, 0, false};
    for (int i = 1; i < n; i++) {
        wk[i] = (struct worker){&q, i, conn_open(w), 0, false};
        if (wk[i].pg != NULL)
            wk[i].started = pthread_create(&wk[i].thread, NULL, worker_main, &wk[i]) == 0;
    }
    worker_main(&wk[0]);
    for (int i = 1; i < n; i++) {
        if (wk[i].started)
            pthread_join(wk[i].thread, NULL);
        if (wk[i].pg != NULL)
            PQfinish(wk[i].pg);
    }
    pthread_mutex_destroy(&q.lock);
}
