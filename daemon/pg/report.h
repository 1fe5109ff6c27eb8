/* report: the nightly reports of `reimbursectl report --date D --out DIR` — reads the ledger as
 * it was at the cut, one municipality at a time under its own scope, and writes
 * DIR/<code>/{reconciliation.csv,reconciliation.json,ledger.se,summary.html} and DIR/index.html.
 *
 * The cut ("as known at") for day D is the finished_at of the latest accrual run with status
 * 'done' that started on D and finished by the end of D (Europe/Stockholm): the night's run. When
 * there is none, it is the end of D − 1 (the last microsecond of that day in Stockholm). Every
 * figure is read as of the cut, "changes to report" are the facts recorded during D − 1, and no
 * file holds the time it was made, so a rerun for D writes the same bytes.
 *
 * Per municipality, api.recon_fill(muni, cut) reads api.recon_rows once (it reads the
 * municipality's whole ledger and payment lines, so it is the expensive part) into the
 * transaction-local table that the API's own document functions read: the CSV and JSON are
 * api.recon_csv_of and api.recon_json_of for the month before D's (what GET
 * /v1/reports/reconciliation?as_known_at=cut returns, byte for byte), the totals are
 * api.balance_codes (GET …/balance's), the chart and the largest discrepancies read the ended
 * months (before D's month). ledger.se is the journals recorded by the cut, payments included, in
 * the configured chart (the sie_chart key, as the API's export uses), generated on D.
 *
 * Every file is written to a temporary name in its folder (".NAME.XXXXXX"), fsync'ed, then
 * renamed over NAME, and the folder is fsync'ed: a reader sees the old file or the new one, never
 * half of one. Blocking libpq; connections as the daemon's role (row-level security applies). */
#ifndef RB_REPORT_H
#define RB_REPORT_H

#include "ledger_sie.h"
#include "report_html.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct report_cut {
    int32_t date;         /* D */
    char at_utc[40];      /* RFC 3339 UTC with microseconds, as api.ts writes it */
    char at_local[24];    /* "YYYY-MM-DD HH:MM:SS" in Stockholm */
    char run_id[24];      /* the accrual run, "" when none ran on D */
    char run_through[16]; /* its through */
    bool future;          /* the cut lies after now: a rerun may give other files */
};

/* What happened to one municipality. */
struct report_outcome {
    char municipality[5];
    char name[96];
    bool ok;
    size_t files;
    uint64_t bytes;
    struct report_totals total;
    char error[256]; /* when !ok; never holds a dossier number */
};

struct report_result {
    struct report_cut cut;
    int32_t recon_month;
    struct report_outcome *munis; /* in code order; freed by report_result_free */
    size_t nmunis;
    size_t files; /* index.html included */
    uint64_t bytes;
    bool ok; /* every file written */
};

/* Finds the cut for `date` (see above). */
bool report_cut_find(PGconn *pg, int32_t date, struct report_cut *cut, char *err, size_t errlen);

/* Writes every report for `date` into `dir` (created if missing; its parent must exist).
 * `chart` is the configuration's chart of accounts (cfg->chart).
 * `jobs` connections work in parallel (the first is `pg`; the others are opened with the same
 * parameters). Returns false when nothing could be done (no cut, no list of municipalities,
 * `dir` unusable: err says why); otherwise true, with each municipality's outcome in `res`
 * and res->ok false when any file failed. */
bool report_run(PGconn *pg, int32_t date, const char *dir, int jobs,
                const struct ledger_chart *chart, struct report_result *res, char *err,
                size_t errlen);
void report_result_free(struct report_result *res);

/* Writes `len` bytes as dir/name through a temporary name and a rename (fsync'ed first). */
bool report_file_write(const char *dir, const char *name, const char *data, size_t len, char *err,
                       size_t errlen);

#endif
