/* api_stream: large reads streamed from PostgreSQL to the client as they come, row by row
 * (libpq single-row mode), with the reply written in chunks and flow control: while the client's
 * output buffer is above its high-water mark the pool stops reading the statement's rows, so
 * PostgreSQL waits on its socket and the daemon holds only what is in flight. The reply starts
 * with the first byte written; a failure after that cuts the reply short (no last chunk, the
 * connection is closed) since its status is already sent. A client that goes away discards the
 * rest of the statement. The request deadline (request_timeout_s) bounds the whole statement. */
#ifndef RB_API_STREAM_H
#define RB_API_STREAM_H

#include "api.h"

#include <stdbool.h>
#include <stddef.h>

struct api_stream;

struct api_stream_ops {
    const char *content_type;
    /* Each row: format it and write with api_stream_write (or answer with api_stream_error while
     * nothing is written yet, or give up with api_stream_abort). */
    void (*row)(struct api_stream *s, const PGresult *row);
    /* The statement ended well (after the last row): write the rest, or answer an error if
     * nothing was written (api_stream_error). The glue then ends the reply. */
    void (*end)(struct api_stream *s);
    /* Frees the caller's state (every path). */
    void (*free)(void *state);
};

/* Runs the statement for c; state is the caller's, handed back by api_stream_state. */
void api_stream_run(struct api_call *c, const struct db_stmt *stmt, const char *const *params,
                    const struct api_stream_ops *ops, void *state);
void *api_stream_state(const struct api_stream *s);
struct api_call *api_stream_call(const struct api_stream *s);
/* True once a byte was written (the 200 is sent). */
bool api_stream_started(const struct api_stream *s);
void api_stream_write(struct api_stream *s, const void *p, size_t n);
/* Before anything is written: answer with this error instead and drop the rest of the rows. */
void api_stream_error(struct api_stream *s, int status, const char *code, const char *message);
/* Before anything is written: answer with this JSON body (a statement's own error answer). */
void api_stream_reply_json(struct api_stream *s, int status, const char *body);
/* After something is written: cut the reply short and drop the rest of the rows. */
void api_stream_abort(struct api_stream *s, const char *why);

#endif
