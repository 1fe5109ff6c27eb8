/* accrual: the compensation rules as code. Pure: no I/O, no allocation, no clock.
 *
 * Given one placement's facts, the person's birth date and former-UAM flag, and the rate
 * schedule, computes what is owed per calendar month and code through a given day, by interval
 * arithmetic: the days in housing are split at the 18th birthday, at rate boundaries and at month
 * boundaries. RULES.md §2 is the specification; each open question it names lives behind
 * one function here (accrual_housing_start/end for which days count, accrual_adult_from for the
 * 18-year switch). */
#ifndef RB_ACCRUAL_H
#define RB_ACCRUAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum accrual_code {
    ACCRUAL_ALLOCATION_PLACE = 0,
    ACCRUAL_MOVE_IN,
    ACCRUAL_DAY_CHILD,
    ACCRUAL_DAY_ADULT,
    ACCRUAL_DAY_FORMER_UAM,
    ACCRUAL_CODES
};

#define ACCRUAL_NO_DAY INT32_MIN /* an absent date */
#define ACCRUAL_OPEN INT32_MAX   /* an open end */

/* One row of the schedule for one code: the amount holds on [from, to). A row with
 * has_amount == false ends the rate (no rate in force on those days). Rows of one code are
 * sorted by `from` and do not overlap; days before the first row have no rate. */
struct accrual_rate {
    int32_t from;
    int32_t to; /* exclusive; ACCRUAL_OPEN for the last row */
    bool has_amount;
    int64_t amount_ore;
};

struct accrual_schedule {
    const struct accrual_rate *rows[ACCRUAL_CODES];
    size_t n[ACCRUAL_CODES];
};

/* Dates are civil day numbers (civil_date.h); ACCRUAL_NO_DAY where absent. */
struct accrual_facts {
    int32_t assigned_on;
    int32_t moved_in_on;
    int32_t moved_out_on;
    int32_t registered_on;
    int32_t birth_date;
    bool former_uam;
};

struct accrual_line {
    int32_t month; /* first day of the calendar month */
    enum accrual_code code;
    int32_t days; /* 0 for MOVE_IN and ALLOCATION_PLACE */
    int64_t amount_ore;
};

enum accrual_status {
    ACCRUAL_OK = 0,
    ACCRUAL_NO_RATE,     /* a day with no rate in force: err.day and err.code name it */
    ACCRUAL_IMPLAUSIBLE, /* dates that cannot be right, or an amount beyond int64: err.message */
    ACCRUAL_TOO_MANY,    /* the output array is too small */
};

struct accrual_error {
    int32_t day;
    enum accrual_code code;
    char message[96];
};

/* The day the mass-influx directive took effect (2022-03-04): no assignment is plausible before. */
int32_t accrual_directive_start(void);
const char *accrual_code_name(enum accrual_code code);
bool accrual_code_parse(const char *s, enum accrual_code *out);

/* Days in housing (RULES.md §2) are [start, end): start = max(moved_in, assigned); end =
 * min(moved_out, registered), open when both are absent. There are days only when start < end:
 * without a move-in start is ACCRUAL_OPEN, and a move-out before the assignment gives start > end.
 * Mirrored in SQL by rb_housing (the generated column placements.housing behind the exclusion
 * constraint placements_no_overlap, api.check_overlap and the run's selection of placements);
 * the ctest test rules_sql_agree proves the two agree on every case of
 * tests/unit/housing_cases.h. */
int32_t accrual_housing_start(const struct accrual_facts *f);
int32_t accrual_housing_end(const struct accrual_facts *f);
/* The age switch (RULES.md §2): the first day on which the person counts as an adult, the 18th
 * birthday (29 February → 1 March in a common year). The only definition: SQL has no age logic
 * (the run, the accruals endpoint and the reports all take the days per code from this engine). */
int32_t accrual_adult_from(int32_t birth_date);

/* The rate in force (RULES.md §2): the amount of `code` on `day`, or false when none is. The
 * ranges come from the SQL view rate_schedule (a stored row holds until the next row of its code),
 * loaded by daemon/pg/rate_schedule.c; rules_sql_agree proves view and lookup together on the
 * cases of tests/unit/rate_cases.h. `reimbursectl rates index` uses this lookup too. */
bool accrual_rate_on(const struct accrual_schedule *s, enum accrual_code code, int32_t day,
                     int64_t *amount_ore);

/* Everything owed for the placement through `through` (inclusive), as lines sorted by month then
 * code, with one line per (month, code) and no zero-day lines. At most `cap` lines are written;
 * *n gets the count. On an error nothing in `out` is meaningful and err says why. */
enum accrual_status accrual_compute(const struct accrual_facts *f, const struct accrual_schedule *s,
                                    int32_t through, struct accrual_line *out, size_t cap,
                                    size_t *n, struct accrual_error *err);

/* The place compensation (RULES.md §2, "Allocation"): what one decision accrues, `places` × the
 * ALLOCATION_PLACE rate on `decided_on`, in the month of `decided_on`; nothing when decided_on is
 * after `through`. `places` is the decision's stored accrued_places, which SQL's
 * api.allocation_create computes once as max(0, places − the year's highest earlier decision)
 * under the year's lock (integration_ledger's allocation test binds the two). */
enum accrual_status accrual_allocation(int32_t decided_on, int64_t places,
                                       const struct accrual_schedule *s, int32_t through,
                                       struct accrual_line *out, size_t *n,
                                       struct accrual_error *err);

/* What is posted for one (month, code) of one placement or allocation: the sum of its receivable
 * accrual postings. */
struct accrual_posted {
    long long id;  /* the placement's or allocation's, for the caller; the diff ignores it */
    int32_t month; /* first day of the calendar month */
    enum accrual_code code;
    int64_t amount_ore;
};

/* The order of posted entries that the merge and the diff need: by month, then code, then id
 * (a qsort comparator over struct accrual_posted). */
int accrual_posted_cmp(const void *a, const void *b);

/* The one merge of owed lines against posted entries, both sorted by month then code with one
 * entry per (month, code): a walk over the two in that order, linear in no + np. Set it up as
 * {owed, no, posted, np} (i and j zero); each accrual_merge_next gives one (month, code) with
 * its owed line and its posted entry, NULL on the side that has none, and false at the end. */
struct accrual_merge {
    const struct accrual_line *owed;
    size_t no;
    const struct accrual_posted *posted;
    size_t np;
    size_t i, j;
};
bool accrual_merge_next(struct accrual_merge *m, const struct accrual_line **owed,
                        const struct accrual_posted **posted);

/* The convergent diff: the lines to post so that what is posted becomes what is owed, for the
 * service months up to the month that holds `through` (a run never posts for a later month,
 * whatever is posted there). `owed` (accrual_compute's or accrual_allocation's output) and
 * `posted` are both sorted by month then code, one entry per (month, code). Writes the
 * non-zero differences (days 0) in the same order, at most `cap` of them (no + np always
 * suffices); *n gets the count. ACCRUAL_IMPLAUSIBLE when a difference does not fit in int64. */
enum accrual_status accrual_diff(const struct accrual_line *owed, size_t no,
                                 const struct accrual_posted *posted, size_t np, int32_t through,
                                 struct accrual_line *out, size_t cap, size_t *n,
                                 struct accrual_error *err);

#endif
