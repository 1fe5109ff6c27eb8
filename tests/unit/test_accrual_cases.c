/* Unit tests for accrual on the shared case tables (housing_cases.h, rate_cases.h), which
 * rules_sql_agree also evaluates against SQL's rb_housing and rate_schedule (RULES.md §2). */
#include "unit.h"

#include <string.h>

#include "accrual.h"
#include "civil_date.h"
#include "housing_cases.h"
#include "rate_cases.h"

static int32_t day_of(int y, int m, int d)
{
    return civil_from_ymd(y, m, d);
}

static struct accrual_facts case_facts(size_t k)
{
    int32_t d[4];
    housing_case_dates(k, day_of, ACCRUAL_NO_DAY, d);
    return (struct accrual_facts){d[0], d[1], d[2], d[3], day_of(2000, 1, 1), false};
}

static int32_t ymd(struct housing_ymd d, int32_t absent)
{
    return d.y == 0 ? absent : day_of(d.y, d.m, d.d);
}

/* Every row of the table: its range, or no days at all (and then nothing owed). */
static void test_housing_start_end(void **state)
{
    (void)state;
    static const struct accrual_rate rows[] = {{ACCRUAL_NO_DAY, ACCRUAL_OPEN, true, 100}};
    struct accrual_schedule s = {{rows, rows, rows, rows, rows}, {1, 1, 1, 1, 1}};
    for (size_t i = 0; i < HOUSING_CASES; i++) {
        const struct housing_case *c = &housing_cases[i];
        struct accrual_facts f = case_facts(i);
        int32_t start = accrual_housing_start(&f), end = accrual_housing_end(&f);
        if (c->start.y != 0) {
            if (start != ymd(c->start, 0) || end != ymd(c->end, ACCRUAL_OPEN))
                fail_msg("%s: [%d, %d)", c->what, start, end);
            continue;
        }
        struct accrual_line out[8];
        struct accrual_error err;
        size_t n = 99;
        if (start < end)
            fail_msg("%s: days in housing where there are none", c->what);
        assert_int_equal(accrual_compute(&f, &s, day_of(2025, 12, 31), out, 8, &n, &err),
                         ACCRUAL_OK);
        assert_int_equal(n, 0);
    }
}

/* The grid, day by day: a day is in housing when there is a move-in, the day is on or after both
 * the move-in and the assignment, and before the move-out and the registration. */
static void test_housing_grid(void **state)
{
    (void)state;
    for (size_t k = HOUSING_CASES; k < HOUSING_ALL; k++) {
        struct accrual_facts f = case_facts(k);
        int32_t start = accrual_housing_start(&f), end = accrual_housing_end(&f);
        for (int32_t d = f.assigned_on - 6; d <= f.assigned_on + 6; d++) {
            bool in = f.moved_in_on != ACCRUAL_NO_DAY && d >= f.moved_in_on && d >= f.assigned_on &&
                      (f.moved_out_on == ACCRUAL_NO_DAY || d < f.moved_out_on) &&
                      (f.registered_on == ACCRUAL_NO_DAY || d < f.registered_on);
            if (in != (start <= d && d < end))
                fail_msg("grid case %zu, day %d: in housing %d", k, d, in);
        }
    }
}

/* The probes on the table's rows, each holding until the next row of its code (what the view
 * rate_schedule derives; rules_sql_agree checks the view itself). */
static void test_rate_cases(void **state)
{
    (void)state;
    struct accrual_rate rows[ACCRUAL_CODES][RATE_CASE_ROWS];
    struct accrual_schedule s;
    memset(&s, 0, sizeof s);
    for (size_t i = 0; i < RATE_CASE_ROWS_N; i++) {
        const struct rate_case_row *r = &rate_case_rows[i];
        size_t *n = &s.n[r->code];
        int32_t from = ymd(r->from, 0);
        if (*n > 0)
            rows[r->code][*n - 1].to = from;
        rows[r->code][(*n)++] =
            (struct accrual_rate){from, ACCRUAL_OPEN, r->has_amount, r->amount_ore};
    }
    for (int c = 0; c < ACCRUAL_CODES; c++)
        s.rows[c] = rows[c];
    for (size_t i = 0; i < RATE_CASE_PROBES_N; i++) {
        const struct rate_case_probe *p = &rate_case_probes[i];
        int64_t a = -1;
        bool in = accrual_rate_on(&s, p->code, ymd(p->day, 0), &a);
        assert_int_equal(in, p->in_force);
        if (in)
            assert_int_equal(a, p->amount_ore);
    }
}

UNIT_MAIN({
    cmocka_unit_test(test_housing_start_end),
    cmocka_unit_test(test_housing_grid),
    cmocka_unit_test(test_rate_cases),
});
