/* api_runs: POST /v1/accruals/run on a worker thread with its own connection, and reading runs. */
#ifndef RB_API_RUNS_H
#define RB_API_RUNS_H

#include "api.h"

#include <event2/event.h>

struct api_runs;

struct api_runs *api_runs_new(struct event_base *base, const char *conninfo, int jobs);
/* Waits for a run in progress to end (its request is answered first). */
void api_runs_free(struct api_runs *runs);
void api_run_start(struct api_call *c);
void api_run_get(struct api_call *c);

#endif
