/* api_stream: the glue between a streamed statement (db.h) and a streamed reply (http.h); see
 * api_stream.h. The stream state lives until both ends are done: the statement's `done` (or a
 * discard) and the reply's end (or abort, or the client gone). */
#include "api_stream.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

struct api_stream {
    struct api_call *c;      /* freed when the reply is done */
    struct db_stream *db;    /* NULL once the statement is done or discarded */
    struct http_stream *out; /* NULL until the first byte */
    const struct api_stream_ops *ops;
    void *state;
    bool replied;     /* the reply was made (error), ended, or aborted; c is gone */
    bool db_finished; /* the statement's callbacks are over (done ran, or discarded) */
    int in_callback;  /* freeing waits until the callback returns */
};

void *api_stream_state(const struct api_stream *s)
{
    return s->state;
}

struct api_call *api_stream_call(const struct api_stream *s)
{
    return s->c;
}

bool api_stream_started(const struct api_stream *s)
{
    return s->out != NULL;
}

static void stream_free(struct api_stream *s)
{
    if (s->ops->free != NULL)
        s->ops->free(s->state);
    free(s);
}

/* Both ends are done: nothing will call back with s any more. */
static void stream_maybe_free(struct api_stream *s)
{
    if (s->replied && s->db_finished && s->in_callback == 0)
        stream_free(s);
}

/* No more rows are wanted: the statement's rest is read and dropped by the pool. */
static void stream_drop_db(struct api_stream *s)
{
    if (s->db != NULL)
        db_stream_discard(s->db);
    s->db = NULL;
    s->db_finished = true;
}

static void on_drain(void *arg)
{
    struct api_stream *s = arg;
    if (s->db != NULL)
        db_stream_resume(s->db);
}

/* The client went away mid-reply. */
static void on_gone(void *arg)
{
    struct api_stream *s = arg;
    stream_drop_db(s);
    struct http_stream *out = s->out;
    s->out = NULL;
    s->replied = true;
    free(s->c);
    s->c = NULL;
    http_stream_end(out); /* without a connection: only frees */
    stream_maybe_free(s);
}

void api_stream_write(struct api_stream *s, const void *p, size_t n)
{
    if (s->replied)
        return;
    if (s->out == NULL) {
        s->out = http_stream_start(s->c->r, 200, s->ops->content_type, on_drain, on_gone, s);
        if (s->out == NULL) { /* the client is already gone, or out of memory */
            api_stream_error(s, 503, "overloaded", "cannot start the reply; retry");
            return;
        }
    }
    if (!http_stream_write(s->out, p, n) && s->db != NULL)
        db_stream_pause(s->db);
}

void api_stream_error(struct api_stream *s, int status, const char *code, const char *message)
{
    if (s->replied)
        return;
    if (s->out != NULL) {
        api_stream_abort(s, message);
        return;
    }
    stream_drop_db(s);
    s->replied = true;
    struct api_call *c = s->c;
    s->c = NULL;
    api_reply_error(c, status, code, message, NULL);
}

void api_stream_reply_json(struct api_stream *s, int status, const char *body)
{
    if (s->replied)
        return;
    if (s->out != NULL) {
        api_stream_abort(s, "an error after the reply started");
        return;
    }
    stream_drop_db(s);
    s->replied = true;
    struct api_call *c = s->c;
    s->c = NULL;
    api_reply_json(c, status, body);
}

void api_stream_abort(struct api_stream *s, const char *why)
{
    if (s->replied)
        return;
    stream_drop_db(s);
    s->replied = true;
    free(s->c);
    s->c = NULL;
    if (s->out != NULL)
        http_stream_abort(s->out, why);
    s->out = NULL;
}

static void on_row(const PGresult *row, void *arg)
{
    struct api_stream *s = arg;
    if (s->replied)
        return;
    s->c->auth_unproven = false; /* a row means the statement's client assertion held */
    s->in_callback++;
    s->ops->row(s, row);
    s->in_callback--;
    stream_maybe_free(s);
}

/* The statement ended well: the handler's end, then the reply's last chunk. */
static void stream_finish(struct api_stream *s)
{
    s->ops->end(s);
    if (s->replied)
        return;
    if (s->out == NULL)
        api_stream_write(s, "", 0); /* an empty body still gets its 200 */
    if (s->out != NULL) {
        http_stream_end(s->out);
        s->out = NULL;
        free(s->c);
        s->c = NULL;
        s->replied = true;
    }
}

static void on_done(enum db_status st, const PGresult *res, void *arg)
{
    struct api_stream *s = arg;
    s->db = NULL;
    s->db_finished = true;
    s->in_callback++;
    if (s->replied) {
        /* nothing to do */
    } else if (st != DB_OK && s->out == NULL) {
        struct api_call *c = s->c;
        s->c = NULL;
        s->replied = true;
        api_db_failed(c, st, res);
    } else if (st != DB_OK) {
        api_stream_abort(s, db_status_name(st));
    } else {
        stream_finish(s);
    }
    s->in_callback--;
    stream_maybe_free(s);
}

void api_stream_run(struct api_call *c, const struct db_stmt *stmt, const char *const *params,
                    const struct api_stream_ops *ops, void *state)
{
    struct api_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        if (ops->free != NULL)
            ops->free(state);
        api_reply_error(c, 503, "overloaded", "out of memory; retry", NULL);
        return;
    }
    s->c = c;
    s->ops = ops;
    s->state = state;
    enum db_status st = api_db_stream(c, stmt, params, on_row, on_done, s, &s->db);
    if (st != DB_OK) {
        stream_free(s);
        api_db_failed(c, st, NULL);
    }
}
