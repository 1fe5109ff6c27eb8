/* api_runs: an accrual run takes seconds and uses blocking libpq, so it runs on a worker thread
 * with its own connection; the thread hands its result back to the event loop through a pipe,
 * and the loop answers the request. One run at a time per daemon (the database's advisory locks
 * keep runs of several daemons apart). */
/* pipe2 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "api_runs.h"

#include "accrual_run.h"
#include "api_idem.h"
#include "civil_date.h"
#include "json_error.h"
#include "log.h"
#include "metrics.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct api_runs {
    struct event_base *base;
    char *conninfo;
    int jobs;
    int pipe_rd, pipe_wr;
    struct event *done_ev;
    bool active;
    pthread_t thread;
    /* the run in progress; written by the worker before it signals */
    struct api_call *call;
    char through[CIVIL_DATE_LEN + 1];
    char client_id[24];
    char scope[8];
    char idem_key[256]; /* "" without an Idempotency-Key */
    char idem_hash[65];
    int status;
    struct strbuf body;
    struct timespec started;
};

static const struct db_stmt run_get_stmt = {
    "rb_run_get", "SELECT status, body, location FROM api.run_get($1, $2)", 2};

/* With an Idempotency-Key: claim it (committed at once, so a concurrent run with the same key
 * sees it), or answer with the stored result of the run made under it. */
static bool idem_replayed(struct api_runs *runs, PGconn *pg)
{
    if (runs->idem_key[0] == '\0')
        return false;
    const char *p[4] = {runs->client_id, runs->scope, runs->idem_key, runs->idem_hash};
    PGresult *res = PQexecParams(pg,
                                 "SELECT status, body, set_config('reimbursed.scope', $2, true) "
                                 "FROM api.idem_claim_run($1::bigint, $2, $3, $4)",
                                 4, NULL, p, NULL, NULL, 0);
    bool replay = true;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        runs->status = 503;
        json_error_to(&runs->body, "database_unavailable",
                      "cannot check the Idempotency-Key; retry");
    } else if (PQgetisnull(res, 0, 0)) {
        replay = false; /* claimed: run it */
    } else {
        runs->status = atoi(PQgetvalue(res, 0, 0));
        strbuf_str(&runs->body, PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return replay;
}

static void idem_store(struct api_runs *runs, PGconn *pg)
{
    char status[8];
    if (runs->idem_key[0] == '\0')
        return;
    snprintf(status, sizeof status, "%d", runs->status);
    const char *p[5] = {runs->client_id, runs->scope, runs->idem_key, status,
                        strbuf_cstr(&runs->body)};
    PQclear(PQexecParams(pg, "SELECT api.idem_store_run($1::bigint, $2, $3, $4::int, $5)", 5, NULL,
                         p, NULL, NULL, 0));
}

/* The run's outcome as the HTTP answer. A run that failed because the database went away is not
 * our 500, and not "retry" either: municipalities it had already posted are committed, so the
 * outcome is unknown (504). The run is convergent, so repeating it (with the same
 * Idempotency-Key) posts only what is missing. */
static void run_answer(struct api_runs *runs, enum accrual_outcome outcome)
{
    static const int status[] = {
        [ACCRUAL_RUN_RECORDED] = 200,         [ACCRUAL_RUN_INVALID_THROUGH] = 422,
        [ACCRUAL_RUN_THROUGH_NOT_PAST] = 409, [ACCRUAL_RUN_THROUGH_BEFORE_LATEST] = 409,
        [ACCRUAL_RUN_NOT_RECORDED] = 500,     [ACCRUAL_RUN_OUTCOME_UNKNOWN] = 504};
    runs->status = status[outcome];
    if (outcome != ACCRUAL_RUN_OUTCOME_UNKNOWN)
        return;
    strbuf_reset(&runs->body);
    json_error_to(&runs->body, "outcome_unknown",
                  "the database went away during the accrual run, so some municipalities may "
                  "have been posted; repeat the run with the same Idempotency-Key (a run posts "
                  "only what is missing)");
}

static void *run_worker(void *arg)
{
    struct api_runs *runs = arg;
    PGconn *pg = PQconnectdb(runs->conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        runs->status = 503;
        json_error_to(&runs->body, "database_unavailable",
                      "the accrual run cannot reach the database; retry");
    } else {
        PQclear(PQexec(pg, "SET application_name = 'reimbursed accrual'"));
        if (!idem_replayed(runs, pg)) {
            run_answer(runs, accrual_run_execute(pg, runs->conninfo, runs->jobs, runs->client_id,
                                                 runs->through, &runs->body));
            idem_store(runs, pg);
        }
    }
    PQfinish(pg);
    ssize_t w;
    do
        w = write(runs->pipe_wr, "x", 1);
    while (w < 0 && errno == EINTR);
    return NULL;
}

/* On the loop: the worker is done; answer the request and let the next run start. */
static void run_done(evutil_socket_t fd, short what, void *arg)
{
    struct api_runs *runs = arg;
    char b;
    (void)what;
    if (read(fd, &b, 1) != 1)
        return;
    pthread_join(runs->thread, NULL);
    runs->active = false;
    struct api_call *c = runs->call;
    runs->call = NULL;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    json_t *run = runs->status == 200 ? json_loads(strbuf_cstr(&runs->body), 0, NULL) : NULL;
    metrics_accrual_run(
        (double)(now.tv_sec - runs->started.tv_sec) +
            (double)(now.tv_nsec - runs->started.tv_nsec) / 1e9,
        run ? (long long)json_integer_value(json_object_get(run, "lines_posted")) : 0,
        run != NULL && strcmp(json_string_value(json_object_get(run, "status"))
                                  ? json_string_value(json_object_get(run, "status"))
                                  : "",
                              "done") == 0);
    json_decref(run);
    struct http_req *r = c->r;
    free(c);
    http_reply(r, runs->status, strbuf_cstr(&runs->body), runs->body.len, NULL,
               runs->status == 503 ? 2 : api_retry_after(runs->status, strbuf_cstr(&runs->body)));
    strbuf_free(&runs->body);
}

struct api_runs *api_runs_new(struct event_base *base, const char *conninfo, int jobs)
{
    int fds[2];
    struct api_runs *runs = calloc(1, sizeof *runs);
    if (runs == NULL)
        return NULL;
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(runs);
        return NULL;
    }
    runs->base = base;
    runs->jobs = jobs;
    runs->pipe_rd = fds[0];
    runs->pipe_wr = fds[1];
    runs->conninfo = strdup(conninfo);
    runs->done_ev = event_new(base, runs->pipe_rd, EV_READ | EV_PERSIST, run_done, runs);
    if (runs->conninfo == NULL || runs->done_ev == NULL || event_add(runs->done_ev, NULL) != 0) {
        api_runs_free(runs);
        return NULL;
    }
    return runs;
}

void api_runs_free(struct api_runs *runs)
{
    if (runs == NULL)
        return;
    if (runs->active) {
        log_info("waiting for the accrual run in progress to finish");
        pthread_join(runs->thread, NULL);
        free(runs->call); /* its connection is gone; nothing to answer */
        strbuf_free(&runs->body);
    }
    if (runs->done_ev != NULL)
        event_free(runs->done_ev);
    close(runs->pipe_rd);
    close(runs->pipe_wr);
    free(runs->conninfo);
    free(runs);
}

void api_run_start(struct api_call *c)
{
    static const char *const allowed[] = {"through", NULL};
    struct api_runs *runs = api_runs_of(c->api);
    struct jc_error err;
    int32_t d;
    json_t *body = api_body_object(c, allowed);
    if (body == NULL)
        return;
    if (!jc_get_date(body, "through", true, &d, NULL, &err)) {
        json_decref(body);
        api_reply_jc(c, &err);
        return;
    }
    json_decref(body);
    if (runs->active) {
        api_reply_error(c, 409, "run_in_progress",
                        "an accrual run is in progress in this daemon; retry when it ends", NULL);
        return;
    }
    civil_format(d, runs->through);
    snprintf(runs->client_id, sizeof runs->client_id, "%s", c->client.id);
    snprintf(runs->scope, sizeof runs->scope, "%s", c->client.scope);
    const char *key = http_req_header(c->r, "Idempotency-Key");
    snprintf(runs->idem_key, sizeof runs->idem_key, "%s", key ? key : "");
    if (key != NULL)
        api_request_hash(c, runs->idem_hash);
    runs->call = c;
    runs->status = 0;
    clock_gettime(CLOCK_MONOTONIC, &runs->started);
    memset(&runs->body, 0, sizeof runs->body);
    if (pthread_create(&runs->thread, NULL, run_worker, runs) != 0) {
        runs->call = NULL;
        api_reply_error(c, 503, "overloaded", "cannot start the accrual run", NULL);
        return;
    }
    runs->active = true;
}

void api_run_get(struct api_call *c)
{
    if (!api_id_valid(c->path_id)) {
        api_reply_error(c, 404, "not_found", "no such accrual run", NULL);
        return;
    }
    api_query(c, &run_get_stmt, (const char *[]){c->client.scope, c->path_id});
}
