/* rate_cases: the rate-in-force cases of the rules' tests (RULES.md §2, "Rates are
 * effective-dated"), as stored rows and probes (test_rate_on's cases): unit_accrual_cases asserts
 * the probes on a schedule built by hand from the rows, and rules_sql_agree evaluates the view
 * rate_schedule (a row holds until the next row of its code) over the rows and checks
 * accrual_rate_on on the result. Dates are {y, m, d}. */
#ifndef RB_TEST_RATE_CASES_H
#define RB_TEST_RATE_CASES_H

#include "accrual.h"
#include "housing_cases.h"

struct rate_case_row {
    enum accrual_code code;
    struct housing_ymd from;
    bool has_amount; /* false: the row ends the rate (a null amount) */
    int64_t amount_ore;
};

struct rate_case_probe {
    enum accrual_code code;
    struct housing_ymd day;
    bool in_force;
    int64_t amount_ore;
};

#define RATE_CASE_ROWS 8 /* at most this many rows per code */

/* The schedule of RULES.md §2 (0 from 2022-03-04, the amounts from 2022-07-01), with DAY_ADULT
 * ended for March 2024 and raised from April 2024, and no DAY_CHILD row at all. */
static const struct rate_case_row rate_case_rows[] = {
    {ACCRUAL_ALLOCATION_PLACE, {2022, 3, 4}, true, 0},
    {ACCRUAL_ALLOCATION_PLACE, {2022, 7, 1}, true, 1000000},
    {ACCRUAL_MOVE_IN, {2022, 3, 4}, true, 0},
    {ACCRUAL_MOVE_IN, {2022, 7, 1}, true, 1500000},
    {ACCRUAL_DAY_ADULT, {2022, 3, 4}, true, 0},
    {ACCRUAL_DAY_ADULT, {2022, 7, 1}, true, 30000},
    {ACCRUAL_DAY_ADULT, {2024, 3, 1}, false, 0},
    {ACCRUAL_DAY_ADULT, {2024, 4, 1}, true, 32000},
    {ACCRUAL_DAY_FORMER_UAM, {2022, 3, 4}, true, 0},
    {ACCRUAL_DAY_FORMER_UAM, {2022, 7, 1}, true, 40000},
};
#define RATE_CASE_ROWS_N (sizeof rate_case_rows / sizeof rate_case_rows[0])

static const struct rate_case_probe rate_case_probes[] = {
    {ACCRUAL_MOVE_IN, {2022, 3, 3}, false, 0},
    {ACCRUAL_MOVE_IN, {2022, 3, 4}, true, 0},
    {ACCRUAL_MOVE_IN, {2022, 6, 30}, true, 0},
    {ACCRUAL_MOVE_IN, {2022, 7, 1}, true, 1500000},
    {ACCRUAL_MOVE_IN, {2100, 1, 1}, true, 1500000},
    {ACCRUAL_DAY_ADULT, {2024, 2, 29}, true, 30000},
    {ACCRUAL_DAY_ADULT, {2024, 3, 1}, false, 0},
    {ACCRUAL_DAY_ADULT, {2024, 3, 31}, false, 0},
    {ACCRUAL_DAY_ADULT, {2024, 4, 1}, true, 32000},
    {ACCRUAL_DAY_ADULT, {2099, 12, 31}, true, 32000},
    {ACCRUAL_DAY_CHILD, {2024, 4, 1}, false, 0},
    {ACCRUAL_ALLOCATION_PLACE, {2024, 4, 1}, true, 1000000},
    {ACCRUAL_DAY_FORMER_UAM, {2022, 7, 1}, true, 40000},
};
#define RATE_CASE_PROBES_N (sizeof rate_case_probes / sizeof rate_case_probes[0])

#endif
