/* report_html: the nightly report's HTML pages (a municipality's summary.html and the index.html
 * over all municipalities), rendered from plain structs. Pure: no I/O, no database, no clock;
 * the same input always gives the same bytes.
 *
 * The pages are self-contained (inline CSS and an inline SVG chart; no script, no external
 * resource) and every text from the data is HTML-escaped. Amounts are kronor as Swedish finance
 * staff write them: groups of three digits separated by a narrow no-break space (U+202F, the
 * "thin space" of typography that never breaks a line), a decimal comma, two decimals, a no-break
 * space and "kr"; negative amounts start with a minus sign (U+2212): "−12 345,00 kr". */
#ifndef RB_REPORT_HTML_H
#define RB_REPORT_HTML_H

#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The chart shows at most this many months (the latest ones). */
#define REPORT_HTML_CHART_MONTHS 24
/* Longest amount report_html_kronor writes, with its NUL. */
#define REPORT_HTML_KRONOR_LEN 64

/* Figures of one compensation code (or of the whole municipality), from api.balance. */
struct report_totals {
    const char *code; /* ALLOCATION_PLACE … LUMP_SUM; NULL for the municipality's total */
    int64_t owed_ore; /* owed for months that had ended by the cut */
    int64_t paid_ore; /* paid (all imported payment lines and payments) */
    int64_t outstanding_ore;
    int64_t reclaim_ore; /* expected återkrav */
    int64_t not_due_ore; /* accrued for the running month, not yet due */
};

/* Owed and paid in one service month (summed over api.recon_rows). */
struct report_month {
    int32_t month; /* civil day number of the month's first day */
    int64_t owed_ore;
    int64_t paid_ore;
};

/* One reconciliation row with a difference. */
struct report_discrepancy {
    int32_t month;
    const char *dossier_number; /* NULL for a row of the whole municipality */
    const char *placement_id;   /* NULL when none */
    const char *code;
    int64_t owed_ore;
    int64_t paid_ore;
    const char *cls; /* underpaid, overpaid, unknown_person, not_yet_paid (ok never shows) */
};

/* Rows per class over all ended months. */
struct report_class_count {
    const char *cls;
    long long rows;
    int64_t diff_ore; /* Σ (paid − owed) */
};

/* A fact to tell Migrationsverket: a move-out, or a correction of a move-out or registration
 * date, recorded on the day before the report's date. */
struct report_change {
    const char *placement_id;
    const char *dossier_number;
    const char *type;        /* moved_out, correction */
    const char *field;       /* for a correction: moved_out_on or registered_on */
    const char *value;       /* the new date ("YYYY-MM-DD"), NULL when a date was removed */
    const char *reason;      /* move-out reason code, or the correction's reason text */
    const char *recorded_at; /* local time in Stockholm, "YYYY-MM-DD HH:MM" */
};

/* Where the figures come from: the cut and the report's date. */
struct report_cut_info {
    int32_t date;            /* the report's date D */
    const char *at_utc;      /* the cut, RFC 3339 UTC ("2025-06-12T00:01:02.345678Z") */
    const char *at_local;    /* the cut in Stockholm, "YYYY-MM-DD HH:MM:SS" */
    const char *run_id;      /* the accrual run the cut follows, NULL when none ran on D */
    const char *run_through; /* its through, "YYYY-MM-DD" */
};

struct report_summary {
    const char *municipality; /* "1480" */
    const char *name;         /* "Göteborg" */
    const char *version;      /* the program's version, for the footer */
    struct report_cut_info cut;
    int32_t recon_month; /* the month of reconciliation.csv/.json */
    struct report_totals total;
    const struct report_totals *by_code;
    size_t nby_code;
    const struct report_month *months; /* ascending; ended months with amounts */
    size_t nmonths;
    const struct report_discrepancy *discrepancies; /* largest |diff| first */
    size_t ndiscrepancies;
    const struct report_class_count *classes;
    size_t nclasses;
    const struct report_change *changes;
    size_t nchanges;
};

struct report_index_row {
    const char *municipality;
    const char *name;
    bool failed; /* the municipality's report could not be written */
    struct report_totals total;
};

struct report_index {
    const char *version;
    struct report_cut_info cut;
    int32_t recon_month;
    const struct report_index_row *rows;
    size_t nrows;
};

/* Appends s with & < > " ' escaped (NULL appends nothing). */
void report_html_escape(struct strbuf *out, const char *s);
/* "12 345,00 kr" (see above) into out, which holds REPORT_HTML_KRONOR_LEN bytes. */
void report_html_kronor(char *out, int64_t ore);
/* The inline SVG bar chart: two bars (owed, paid) per month, for the last
 * REPORT_HTML_CHART_MONTHS of `months`; an explanatory paragraph when there is none. */
void report_html_chart(struct strbuf *out, const struct report_month *months, size_t n);
/* What the finance officer should do about a row of this class. */
const char *report_html_action(const char *cls);
/* A compensation code in plain language ("Days in housing, adult"). */
const char *report_html_code_label(const char *code);

/* The pages. They report out-of-memory through out->oom. */
void report_html_summary(struct strbuf *out, const struct report_summary *s);
void report_html_index(struct strbuf *out, const struct report_index *ix);

#endif
