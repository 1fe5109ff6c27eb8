/* metrics: a small fixed table keyed by (method, route, status): routes are a closed set, so the
 * table cannot grow without bound whatever clients send. */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#define MAX_SERIES 512
#define ROUTE_MAX 48

static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25,  0.5,    1,     2.5,  5,     10};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])

struct series {
    char method[8];
    char route[ROUTE_MAX];
    int status;
    unsigned long long count;
};

static struct series series[MAX_SERIES];
static size_t nseries;
static unsigned long long overflow; /* requests whose series did not fit */
static unsigned long long buckets[NBOUNDS + 1];
static double latency_sum;
static unsigned long long latency_count;
static double run_seconds = -1;
static unsigned long long run_lines, runs_ok, runs_failed;

void metrics_reset(void)
{
    nseries = 0;
    overflow = 0;
    memset(buckets, 0, sizeof buckets);
    latency_sum = 0;
    latency_count = 0;
    run_seconds = -1;
    run_lines = runs_ok = runs_failed = 0;
}

void metrics_http(const char *method, const char *route, int status, double seconds)
{
    size_t i;
    for (i = 0; i < nseries; i++)
        if (series[i].status == status && strcmp(series[i].route, route) == 0 &&
            strcmp(series[i].method, method) == 0)
            break;
    if (i == nseries) {
        if (nseries == MAX_SERIES) {
            overflow++;
            goto latency;
        }
        snprintf(series[i].method, sizeof series[i].method, "%s", method);
        snprintf(series[i].route, sizeof series[i].route, "%s", route);
        series[i].status = status;
        series[i].count = 0;
        nseries++;
    }
    series[i].count++;
latency:
    for (i = 0; i < NBOUNDS && seconds > bounds[i]; i++)
        ;
    buckets[i]++;
    latency_sum += seconds;
    latency_count++;
}

void metrics_accrual_run(double seconds, long long lines, bool ok)
{
    run_seconds = seconds;
    if (lines > 0)
        run_lines += (unsigned long long)lines;
    if (ok)
        runs_ok++;
    else
        runs_failed++;
}

static void header(struct strbuf *out, const char *name, const char *type, const char *help)
{
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_render(struct strbuf *out, const struct metrics_gauges *g)
{
    header(out, "reimbursed_up", "gauge", "1 while the daemon runs.");
    strbuf_str(out, "reimbursed_up 1\n");
    header(out, "reimbursed_ready", "gauge", "1 while the database is reachable.");
    strbuf_printf(out, "reimbursed_ready %d\n", g->ready ? 1 : 0);
    header(out, "reimbursed_http_requests_total", "counter", "Requests by method, route, status.");
    for (size_t i = 0; i < nseries; i++)
        strbuf_printf(out,
                      "reimbursed_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} "
                      "%llu\n",
                      series[i].method, series[i].route, series[i].status, series[i].count);
    header(out, "reimbursed_http_requests_unlabelled_total", "counter",
           "Requests counted only here because the label table was full.");
    strbuf_printf(out, "reimbursed_http_requests_unlabelled_total %llu\n", overflow);
    header(out, "reimbursed_http_request_duration_seconds", "histogram",
           "Time from request read to reply sent.");
    unsigned long long cum = 0;
    for (size_t i = 0; i < NBOUNDS; i++) {
        cum += buckets[i];
        strbuf_printf(out, "reimbursed_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                      bounds[i], cum);
    }
    cum += buckets[NBOUNDS];
    strbuf_printf(out,
                  "reimbursed_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                  "reimbursed_http_request_duration_seconds_sum %.6f\n"
                  "reimbursed_http_request_duration_seconds_count %llu\n",
                  cum, latency_sum, latency_count);
    header(out, "reimbursed_http_open_connections", "gauge", "Open client connections.");
    strbuf_printf(out, "reimbursed_http_open_connections %d\n", g->open_connections);
    header(out, "reimbursed_db_pool_connections", "gauge", "Database connections by state.");
    strbuf_printf(out,
                  "reimbursed_db_pool_connections{state=\"busy\"} %d\n"
                  "reimbursed_db_pool_connections{state=\"idle\"} %d\n"
                  "reimbursed_db_pool_connections{state=\"down\"} %d\n",
                  g->db_busy, g->db_idle, g->db_down);
    header(out, "reimbursed_db_waiting_requests", "gauge", "Requests waiting for a connection.");
    strbuf_printf(out, "reimbursed_db_waiting_requests %d\n", g->db_waiting);
    header(out, "reimbursed_db_errors_total", "counter",
           "Statements that failed or connections lost during one.");
    strbuf_printf(out, "reimbursed_db_errors_total %llu\n", g->db_errors);
    header(out, "reimbursed_accrual_runs_total", "counter", "Accrual runs made by this daemon.");
    strbuf_printf(out,
                  "reimbursed_accrual_runs_total{result=\"done\"} %llu\n"
                  "reimbursed_accrual_runs_total{result=\"failed\"} %llu\n",
                  runs_ok, runs_failed);
    header(out, "reimbursed_accrual_lines_total", "counter",
           "Ledger lines posted by accrual runs of this daemon.");
    strbuf_printf(out, "reimbursed_accrual_lines_total %llu\n", run_lines);
    if (run_seconds >= 0) {
        header(out, "reimbursed_accrual_run_duration_seconds", "gauge",
               "Duration of the last accrual run of this daemon.");
        strbuf_printf(out, "reimbursed_accrual_run_duration_seconds %.3f\n", run_seconds);
    }
    if (g->nightly_last_success >= 0) {
        header(out, "reimbursed_nightly_last_success_timestamp_seconds", "gauge",
               "When the last accrual run (nightly or not) finished successfully.");
        strbuf_printf(out, "reimbursed_nightly_last_success_timestamp_seconds %.0f\n",
                      g->nightly_last_success);
    }
}
