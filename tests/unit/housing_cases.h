/* housing_cases: the days-in-housing cases of the rules' tests (RULES.md §2, "Days in housing"),
 * as one table that two tests read: unit_accrual_cases checks accrual_housing_start/end against
 * it, and rules_sql_agree checks that SQL's rb_housing (the generated column placements.housing
 * and the exclusion constraint placements_no_overlap) gives the same range for every row, and for
 * every row of the exhaustive grid below. Dates are {y, m, d}; {0, 0, 0} is an absent date. A
 * row's days are [start, end): end {0, 0, 0} is open; start {0, 0, 0} means no days at all. */
#ifndef RB_TEST_HOUSING_CASES_H
#define RB_TEST_HOUSING_CASES_H

#include <stddef.h>
#include <stdint.h>

struct housing_ymd {
    int y, m, d;
};

struct housing_case {
    const char *what;
    struct housing_ymd assigned, moved_in, moved_out, registered;
    struct housing_ymd start, end;
};

#define HC_NONE                                                                                    \
    {                                                                                              \
        0, 0, 0                                                                                    \
    }

static const struct housing_case housing_cases[] = {
    {"registration before the move-out ends the days",
     {2024, 5, 10},
     {2024, 5, 15},
     {2024, 9, 1},
     {2024, 8, 1},
     {2024, 5, 15},
     {2024, 8, 1}},
    {"the move-out before the registration ends them",
     {2024, 5, 10},
     {2024, 5, 15},
     {2024, 9, 1},
     {2024, 10, 1},
     {2024, 5, 15},
     {2024, 9, 1}},
    {"a move-out alone",
     {2024, 5, 10},
     {2024, 5, 15},
     {2024, 9, 1},
     HC_NONE,
     {2024, 5, 15},
     {2024, 9, 1}},
    {"no end: open", {2024, 5, 10}, {2024, 5, 15}, HC_NONE, HC_NONE, {2024, 5, 15}, HC_NONE},
    {"a registration alone",
     {2024, 5, 10},
     {2024, 5, 15},
     HC_NONE,
     {2024, 8, 1},
     {2024, 5, 15},
     {2024, 8, 1}},
    {"a move-in before the assignment counts from the assignment",
     {2024, 5, 10},
     {2024, 5, 1},
     HC_NONE,
     {2024, 8, 1},
     {2024, 5, 10},
     {2024, 8, 1}},
    {"a move-in on the assignment day",
     {2024, 5, 10},
     {2024, 5, 10},
     HC_NONE,
     {2024, 8, 1},
     {2024, 5, 10},
     {2024, 8, 1}},
    {"no move-in, no end: no days", {2024, 5, 10}, HC_NONE, HC_NONE, HC_NONE, HC_NONE, HC_NONE},
    {"no move-in, a move-out: no days",
     {2024, 5, 10},
     HC_NONE,
     {2024, 9, 1},
     HC_NONE,
     HC_NONE,
     HC_NONE},
    {"no move-in, both ends: no days",
     {2024, 5, 10},
     HC_NONE,
     {2024, 9, 1},
     {2024, 8, 1},
     HC_NONE,
     HC_NONE},
    {"a transfer: A's move-out day is not A's",
     {2024, 1, 1},
     {2024, 1, 1},
     {2024, 5, 15},
     HC_NONE,
     {2024, 1, 1},
     {2024, 5, 15}},
    {"a transfer: B's move-in day is B's",
     {2024, 5, 10},
     {2024, 5, 15},
     HC_NONE,
     HC_NONE,
     {2024, 5, 15},
     HC_NONE},
    {"a registration before the move-out (the engine's case)",
     {2024, 1, 1},
     {2024, 1, 5},
     {2024, 3, 20},
     {2024, 2, 10},
     {2024, 1, 5},
     {2024, 2, 10}},
    {"open-ended, cut only by a run's through",
     {2024, 6, 1},
     {2024, 6, 15},
     HC_NONE,
     HC_NONE,
     {2024, 6, 15},
     HC_NONE},
    {"out on the move-in day: no days",
     {2024, 6, 1},
     {2024, 6, 15},
     {2024, 6, 15},
     HC_NONE,
     HC_NONE,
     HC_NONE},
    {"out the day after the move-in: one day",
     {2024, 6, 1},
     {2024, 6, 15},
     {2024, 6, 16},
     HC_NONE,
     {2024, 6, 15},
     {2024, 6, 16}},
    {"registered on the move-in day: no days",
     {2024, 6, 1},
     {2024, 6, 15},
     HC_NONE,
     {2024, 6, 15},
     HC_NONE,
     HC_NONE},
    {"registered before the move-in: no days",
     {2024, 6, 1},
     {2024, 6, 15},
     HC_NONE,
     {2024, 6, 10},
     HC_NONE,
     HC_NONE},
    {"moved in and out before the assignment: no days",
     {2024, 6, 1},
     {2024, 5, 1},
     {2024, 5, 20},
     HC_NONE,
     HC_NONE,
     HC_NONE},
    {"moved out on the assignment day: no days",
     {2024, 6, 1},
     {2024, 5, 1},
     {2024, 6, 1},
     HC_NONE,
     HC_NONE,
     HC_NONE},
    {"a leap day",
     {2024, 2, 28},
     {2024, 2, 29},
     {2024, 3, 1},
     HC_NONE,
     {2024, 2, 29},
     {2024, 3, 1}},
    {"the directive's first day",
     {2022, 3, 4},
     {2022, 3, 4},
     HC_NONE,
     HC_NONE,
     {2022, 3, 4},
     HC_NONE},
};

#define HOUSING_CASES (sizeof housing_cases / sizeof housing_cases[0])

/* The exhaustive grid: the assignment on day A = 2024-06-15 and each other date absent or on one
 * of A - 3 .. A + 3, so every order of the four dates (ties included) is a case. */
#define HOUSING_GRID 512 /* 8 values for each of moved_in, moved_out, registered */
#define HOUSING_ALL (HOUSING_CASES + HOUSING_GRID)

/* Case k's dates (k < HOUSING_CASES: the table's row k; then the grid) as d[] = {assigned,
 * moved_in, moved_out, registered}, with `day` making day numbers and `absent` for no date. */
static inline void housing_case_dates(size_t k, int32_t (*day)(int, int, int), int32_t absent,
                                      int32_t d[4])
{
    if (k < HOUSING_CASES) {
        const struct housing_ymd *v[4] = {&housing_cases[k].assigned, &housing_cases[k].moved_in,
                                          &housing_cases[k].moved_out,
                                          &housing_cases[k].registered};
        for (int i = 0; i < 4; i++)
            d[i] = v[i]->y == 0 ? absent : day(v[i]->y, v[i]->m, v[i]->d);
        return;
    }
    int g = (int)(k - HOUSING_CASES), idx[3] = {g / 64, g / 8 % 8, g % 8};
    d[0] = day(2024, 6, 15);
    for (int i = 0; i < 3; i++)
        d[i + 1] = idx[i] == 0 ? absent : d[0] + idx[i] - 4;
}

#endif
