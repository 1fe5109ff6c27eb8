/* pg_workers: the one parallel worker pool of the blocking programs (accrual runs, nightly
 * reports). Items 0 .. n−1 (municipalities) are independent, so up to `jobs` workers take them
 * one at a time, each on its own connection; the database does the heavy lifting, on its cores.
 * Worker 0 is the caller's thread on the caller's connection; the others are threads on
 * connections of their own, opened for the run and closed after it. Results are the callback's
 * to collect: per item (a slot of an array) or per worker (the worker's index). */
#ifndef RB_PG_WORKERS_H
#define RB_PG_WORKERS_H

#include <libpq-fe.h>
#include <stddef.h>

#define PG_WORKERS_MAX 16

struct pg_workers {
    PGconn *pg;           /* the caller's connection: worker 0's */
    const char *conninfo; /* the others' parameters; NULL: those of `pg` */
    const char *setup;    /* a statement for each new connection (e.g. SET application_name) */
    const char *name;     /* for the warning when a connection cannot be opened; NULL: none */
    int jobs;             /* workers wanted; clamped to 1 .. PG_WORKERS_MAX and to the items */
    size_t items;
    /* Does item `item` on `pg`; `worker` is 0 .. pg_workers_count() − 1. */
    void (*work)(void *ctx, int worker, PGconn *pg, size_t item);
    void *ctx;
};

/* How many workers pg_workers_run uses for `w` (some may lack a connection and do nothing). */
int pg_workers_count(const struct pg_workers *w);

/* Runs every item and returns when all are done. An extra connection that cannot be opened is
 * not used; worker 0 always runs, so every item is done even then. */
void pg_workers_run(const struct pg_workers *w);

#endif
