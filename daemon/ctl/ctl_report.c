/* ctl_report: `reimbursectl report --date D --out DIR [--jobs N]`, the nightly reports (report.h
 * says what is written and how the cut is chosen). Prints one line per municipality and a
 * summary line; never a dossier number. */
#include "civil_date.h"
#include "ctl.h"
#include "report.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_JOBS 2

static int usage(void)
{
    fprintf(stderr, "reimbursectl: report --date YYYY-MM-DD --out DIR [--jobs N]\n"
                    "  writes DIR/<municipality>/{reconciliation.csv,reconciliation.json,"
                    "ledger.se,summary.html} and DIR/index.html\n"
                    "  for the report date D, with the ledger as known when the accrual run "
                    "that started on D had finished\n"
                    "  (or at the end of D - 1 when none did); --jobs: database connections "
                    "(default 2)\n");
    return CTL_USAGE;
}

/* Kronor with a decimal point, for the terminal and the journal. */
static void kr(char *out, size_t n, int64_t ore)
{
    uint64_t mag = ore < 0 ? (uint64_t)0 - (uint64_t)ore : (uint64_t)ore;
    snprintf(out, n, "%s%" PRIu64 ".%02u kr", ore < 0 ? "-" : "", mag / 100, (unsigned)(mag % 100));
}

static void print_outcome(const struct report_outcome *o)
{
    if (!o->ok) {
        printf("%s %s: FAILED: %s\n", o->municipality, o->name, o->error);
        return;
    }
    char out[40], rec[40];
    kr(out, sizeof out, o->total.outstanding_ore);
    kr(rec, sizeof rec, o->total.reclaim_ore);
    printf("%s %s: %zu files, %" PRIu64 " bytes; outstanding %s, expected reclaim %s\n",
           o->municipality, o->name, o->files, o->bytes, out, rec);
}

static void print_summary(const struct report_result *r, const char *dir)
{
    char d[CIVIL_DATE_LEN + 1], m[CIVIL_DATE_LEN + 1];
    size_t failed = 0;
    for (size_t i = 0; i < r->nmunis; i++)
        failed += !r->munis[i].ok;
    civil_format(r->cut.date, d);
    civil_format(r->recon_month, m);
    m[7] = '\0';
    printf("report %s: %zu municipalities (%zu failed), %zu files, %" PRIu64 " bytes in %s; "
           "reconciliation month %s; ledger as known at %s",
           d, r->nmunis, failed, r->files, r->bytes, dir, m, r->cut.at_utc);
    if (r->cut.run_id[0])
        printf(" (accrual run %s through %s finished)\n", r->cut.run_id, r->cut.run_through);
    else
        printf(" (no accrual run finished on %s: end of the day before)\n", d);
}

int ctl_report(PGconn *pg, int argc, char **argv)
{
    static const struct option opts[] = {{"date", required_argument, NULL, 'd'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"jobs", required_argument, NULL, 'j'},
                                         {0}};
    const char *date = NULL, *dir = NULL;
    int opt, jobs = DEFAULT_JOBS;
    int32_t day;
    char *end;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'd')
            date = optarg;
        else if (opt == 'o')
            dir = optarg;
        else if (opt == 'j' && (jobs = (int)strtol(optarg, &end, 10)) >= 1 && jobs <= 16 &&
                 *end == '\0')
            continue;
        else
            return usage();
    }
    if (date == NULL || dir == NULL || dir[0] == '\0' || optind != argc ||
        !civil_parse(date, strlen(date), &day))
        return usage();

    struct report_result res;
    char err[512] = "";
    if (!report_run(pg, day, dir, jobs, ctl_chart, &res, err, sizeof err)) {
        fprintf(stderr, "reimbursectl: report: %s\n", err);
        report_result_free(&res);
        return CTL_FAIL;
    }
    if (res.cut.future)
        fprintf(stderr,
                "reimbursectl: report: warning: the cut %s lies in the future; a rerun "
                "may give other files\n",
                res.cut.at_utc);
    for (size_t i = 0; i < res.nmunis; i++)
        print_outcome(&res.munis[i]);
    if (err[0] != '\0')
        fprintf(stderr, "reimbursectl: report: index.html: %s\n", err);
    print_summary(&res, dir);
    int rc = res.ok ? CTL_OK : CTL_FAIL;
    report_result_free(&res);
    return rc;
}
