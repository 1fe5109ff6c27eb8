/* metrics: counters and histograms kept in memory, rendered in the Prometheus text format. */
#ifndef RB_METRICS_H
#define RB_METRICS_H

#include "strbuf.h"

#include <stdbool.h>

struct metrics_gauges {
    int db_busy, db_idle, db_down, db_waiting;
    unsigned long long db_errors;
    int open_connections;
    bool ready;
    double nightly_last_success; /* unix seconds; < 0 when unknown */
};

/* One finished request. `route` is the matched pattern (or "-"), never the raw path. */
void metrics_http(const char *method, const char *route, int status, double seconds);
void metrics_accrual_run(double seconds, long long lines, bool ok);
void metrics_render(struct strbuf *out, const struct metrics_gauges *g);
/* Forgets everything (tests). */
void metrics_reset(void);

#endif
