/* Unit tests for accrual_diff, the convergent diff of an accrual run (issue 16 item 1): what is
 * owed against what is posted, and never a line for a service month after the run's `through`,
 * whatever is already posted there (a run that failed or was killed part way may have posted
 * later months). And the engine's amounts never wrap (item 5). */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "accrual.h"
#include "civil_date.h"

#define CAP 256

static int32_t M(int y, int m)
{
    return civil_from_ymd(y, m, 1);
}

static struct accrual_line owe(int32_t month, enum accrual_code code, int64_t amount)
{
    return (struct accrual_line){month, code, 0, amount};
}

static struct accrual_posted post(int32_t month, enum accrual_code code, int64_t amount)
{
    return (struct accrual_posted){0, month, code, amount};
}

/* accrual_diff into out (CAP lines), which must succeed: its line count (n starts at 99, so a
 * diff that leaves it unset shows). */
static size_t diff_ok(const struct accrual_line *owed, size_t no,
                      const struct accrual_posted *posted, size_t np, int32_t through,
                      struct accrual_line *out)
{
    struct accrual_error err;
    size_t n = 99;
    assert_int_equal(accrual_diff(owed, no, posted, np, through, out, CAP, &n, &err), ACCRUAL_OK);
    return n;
}

/* One diff line: its month, code and amount, exactly. */
static void expect_line(const struct accrual_line *l, int32_t month, enum accrual_code code,
                        int64_t amount)
{
    assert_int_equal(l->month, month);
    assert_int_equal(l->code, code);
    assert_int_equal(l->amount_ore, amount);
}

/* A run through 2024-02-29 after a failed run posted through 2024-04-30: March and April are
 * left exactly as posted (no reversal), January and February converge. */
static void diff_leaves_months_after_through(void **state)
{
    (void)state;
    const struct accrual_line owed[] = {
        owe(M(2024, 1), ACCRUAL_MOVE_IN, 1500000),
        owe(M(2024, 1), ACCRUAL_DAY_CHILD, 330000),
        owe(M(2024, 2), ACCRUAL_DAY_CHILD, 435000),
    };
    const struct accrual_posted posted[] = {
        post(M(2024, 1), ACCRUAL_MOVE_IN, 1500000),  post(M(2024, 1), ACCRUAL_DAY_CHILD, 330000),
        post(M(2024, 2), ACCRUAL_DAY_CHILD, 435000), post(M(2024, 3), ACCRUAL_DAY_CHILD, 465000),
        post(M(2024, 4), ACCRUAL_DAY_CHILD, 450000), post(M(2024, 4), ACCRUAL_DAY_ADULT, 1),
    };
    struct accrual_line out[CAP];
    size_t n = diff_ok(owed, 3, posted, 6, civil_from_ymd(2024, 2, 29), out);
    assert_int_equal(n, 0);
}

/* Whatever is posted after `through` (nothing owed there, or odd amounts) yields no line; the
 * months up to `through` converge: posted + diff = owed. */
static void diff_converges_up_to_through_only(void **state)
{
    (void)state;
    const struct accrual_line owed[] = {
        owe(M(2024, 1), ACCRUAL_DAY_ADULT, 100),
        owe(M(2024, 2), ACCRUAL_DAY_ADULT, 200),
    };
    const struct accrual_posted posted[] = {
        post(M(2024, 1), ACCRUAL_DAY_ADULT, 60),
        post(M(2024, 2), ACCRUAL_DAY_CHILD, 50),
        post(M(2024, 3), ACCRUAL_DAY_ADULT, -7),
        post(M(2025, 7), ACCRUAL_MOVE_IN, INT64_MAX),
    };
    struct accrual_line out[CAP];
    size_t n = diff_ok(owed, 2, posted, 4, civil_from_ymd(2024, 2, 29), out);
    assert_int_equal(n, 3);
    expect_line(&out[0], M(2024, 1), ACCRUAL_DAY_ADULT, 40);
    expect_line(&out[1], M(2024, 2), ACCRUAL_DAY_CHILD, -50);
    expect_line(&out[2], M(2024, 2), ACCRUAL_DAY_ADULT, 200);
}

/* The month that holds `through` is that run's own: it converges to the days through `through`. */
static void diff_month_of_through_converges(void **state)
{
    (void)state;
    const struct accrual_line owed[] = {owe(M(2024, 2), ACCRUAL_DAY_CHILD, 15 * 15000)};
    const struct accrual_posted posted[] = {post(M(2024, 2), ACCRUAL_DAY_CHILD, 10 * 15000)};
    struct accrual_line out[CAP];
    size_t n = diff_ok(owed, 1, posted, 1, civil_from_ymd(2024, 2, 15), out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].amount_ore, 5 * 15000);
}

/* Differences that do not fit in int64 are refused, not wrapped; too small an output too. */
static void diff_overflow_and_cap(void **state)
{
    (void)state;
    const struct accrual_line owed[] = {owe(M(2024, 1), ACCRUAL_DAY_ADULT, INT64_MAX),
                                        owe(M(2024, 2), ACCRUAL_DAY_ADULT, 1)};
    const struct accrual_posted posted[] = {post(M(2024, 1), ACCRUAL_DAY_ADULT, -1)};
    struct accrual_line out[CAP];
    struct accrual_error err;
    size_t n = 0;
    int32_t through = civil_from_ymd(2024, 2, 29);
    assert_int_equal(accrual_diff(owed, 2, posted, 1, through, out, CAP, &n, &err),
                     ACCRUAL_IMPLAUSIBLE);
    assert_non_null(strstr(err.message, "out of range"));
    const struct accrual_line small[] = {owe(M(2024, 1), ACCRUAL_DAY_ADULT, 5),
                                         owe(M(2024, 2), ACCRUAL_DAY_ADULT, 1)};
    assert_int_equal(accrual_diff(small, 2, NULL, 0, through, out, 1, &n, &err), ACCRUAL_TOO_MANY);
}

/* Random owed and posted sets over 24 months and a random `through`: no line after the month of
 * `through`, and posted + diff = owed for every (month, code) up to it. */
static void diff_random_never_after_through(void **state)
{
    (void)state;
    srand(16);
    for (int round = 0; round < 20000; round++) {
        struct accrual_line owed[CAP], out[2 * CAP];
        struct accrual_posted posted[CAP];
        size_t no = 0, np = 0, n = 0;
        int64_t want[24][ACCRUAL_CODES] = {{0}}, have[24][ACCRUAL_CODES] = {{0}};
        for (int m = 0; m < 24; m++) {
            for (int c = 0; c < ACCRUAL_CODES; c++) {
                if (rand() % 3 == 0) {
                    want[m][c] = rand() % 1000 + 1;
                    owed[no++] =
                        owe(M(2023 + m / 12, m % 12 + 1), (enum accrual_code)c, want[m][c]);
                }
                if (rand() % 3 == 0) {
                    have[m][c] = rand() % 2001 - 1000;
                    posted[np++] =
                        post(M(2023 + m / 12, m % 12 + 1), (enum accrual_code)c, have[m][c]);
                }
            }
        }
        int tm = rand() % 24;
        int32_t through = civil_from_ymd(2023 + tm / 12, tm % 12 + 1, rand() % 28 + 1);
        struct accrual_error err;
        assert_int_equal(accrual_diff(owed, no, posted, np, through, out, 2 * CAP, &n, &err),
                         ACCRUAL_OK);
        for (size_t k = 0; k < n; k++) {
            int y, mo, d;
            civil_to_ymd(out[k].month, &y, &mo, &d);
            int m = (y - 2023) * 12 + mo - 1;
            assert_true(out[k].month <= civil_month_start(through));
            assert_true(out[k].amount_ore != 0);
            have[m][out[k].code] += out[k].amount_ore;
        }
        for (int m = 0; m <= tm; m++)
            for (int c = 0; c < ACCRUAL_CODES; c++)
                assert_int_equal(have[m][c], want[m][c]);
    }
}

/* Issue 16 item 5 on the accrual side: a (crafted or indexed) rate whose month of days does not
 * fit in int64 parks the placement with a reason instead of wrapping; so does an allocation. */
static void accrual_amounts_never_wrap(void **state)
{
    (void)state;
    const int64_t huge = INT64_MAX / 20; /* 31 days of it do not fit */
    const struct accrual_rate day[] = {{civil_from_ymd(2022, 3, 4), ACCRUAL_OPEN, true, huge}};
    const struct accrual_rate zero[] = {{civil_from_ymd(2022, 3, 4), ACCRUAL_OPEN, true, 0}};
    struct accrual_schedule s = {{zero, zero, zero, day, zero}, {1, 1, 1, 1, 1}};
    struct accrual_facts f = {civil_from_ymd(2024, 1, 1),
                              civil_from_ymd(2024, 1, 1),
                              ACCRUAL_NO_DAY,
                              ACCRUAL_NO_DAY,
                              civil_from_ymd(1990, 1, 1),
                              false};
    struct accrual_line out[CAP];
    struct accrual_error err;
    size_t n = 0;
    assert_int_equal(accrual_compute(&f, &s, civil_from_ymd(2024, 1, 31), out, CAP, &n, &err),
                     ACCRUAL_IMPLAUSIBLE);
    assert_non_null(strstr(err.message, "out of range"));
    /* 19 days still fit: computed exactly. */
    assert_int_equal(accrual_compute(&f, &s, civil_from_ymd(2024, 1, 19), out, CAP, &n, &err),
                     ACCRUAL_OK);
    assert_int_equal(n, 2);
    assert_true(out[1].amount_ore == 19 * huge);
    struct accrual_schedule a = {{day, zero, zero, zero, zero}, {1, 1, 1, 1, 1}};
    assert_int_equal(accrual_allocation(civil_from_ymd(2024, 1, 5), 1000000, &a,
                                        civil_from_ymd(2024, 1, 31), out, &n, &err),
                     ACCRUAL_IMPLAUSIBLE);
}

/* accrual_merge_next, the one merge of owed and posted lines (the run's diff and the API's
 * GET /v1/placements/{id}/accruals): every key once, in (month, code) order, the two sides
 * paired on equal keys, one step per key (linear), and owed-only and posted-only keys kept. */
static void merge_pairs_each_key_once_in_order(void **state)
{
    (void)state;
    /* month, code, owed amount (-1: none), posted amount (-1: none): the merge's steps, from
     * which the two sides are made */
    const int64_t want[][4] = {
        {M(2023, 12), ACCRUAL_DAY_CHILD, -1, 1}, {M(2024, 1), ACCRUAL_MOVE_IN, 10, -1},
        {M(2024, 1), ACCRUAL_DAY_CHILD, 20, 2},  {M(2024, 2), ACCRUAL_DAY_CHILD, -1, 3},
        {M(2024, 3), ACCRUAL_DAY_ADULT, 30, 4},
    };
    struct accrual_line owed[5];
    struct accrual_posted posted[5];
    size_t no = 0, np = 0;
    for (size_t i = 0; i < 5; i++) {
        int32_t month = (int32_t)want[i][0];
        enum accrual_code code = (enum accrual_code)want[i][1];
        if (want[i][2] >= 0)
            owed[no++] = owe(month, code, want[i][2]);
        if (want[i][3] >= 0)
            posted[np++] = post(month, code, want[i][3]);
    }
    assert_int_equal(no, 3);
    assert_int_equal(np, 4);
    struct accrual_merge m = {owed, 3, posted, 4, 0, 0};
    const struct accrual_line *o;
    const struct accrual_posted *p;
    size_t k = 0;
    while (accrual_merge_next(&m, &o, &p)) {
        assert_true(k < 5);
        const struct accrual_posted *key = p;
        struct accrual_posted owed_key = {0, o ? o->month : 0, o ? o->code : ACCRUAL_CODES, 0};
        if (o != NULL)
            key = &owed_key;
        assert_non_null(key);
        assert_int_equal(key->month, want[k][0]);
        assert_int_equal(key->code, want[k][1]);
        assert_int_equal(o ? o->amount_ore : -1, want[k][2]);
        assert_int_equal(p ? p->amount_ore : -1, want[k][3]);
        k++;
    }
    assert_int_equal(k, 5);
    assert_false(accrual_merge_next(&m, &o, &p));
    /* Empty sides. */
    struct accrual_merge none = {owed, 0, posted, 0, 0, 0};
    assert_false(accrual_merge_next(&none, &o, &p));
    struct accrual_merge only_owed = {owed, 3, posted, 0, 0, 0};
    for (k = 0; accrual_merge_next(&only_owed, &o, &p); k++)
        assert_true(o == &owed[k] && p == NULL);
    assert_int_equal(k, 3);
}

/* Linear: n owed against n posted with every other key shared takes one step per key, never
 * more than no + np; and accrual_posted_cmp sorts posted entries into the merge's order. */
static void merge_is_linear_and_sort_matches(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct accrual_line *owed = calloc(N, sizeof *owed);
    struct accrual_posted *posted = calloc(N, sizeof *posted);
    assert_non_null(owed);
    assert_non_null(posted);
    for (int i = 0; i < N; i++) {
        /* months strictly increasing; owed codes 0 and 2, posted codes 0 and 2 in even months
         * and 1 and 3 in odd ones (so half the keys are shared), posted in reverse order */
        int32_t month = civil_month_start(M(2022, 4) + 31 * (i / 2));
        owed[i] = owe(month, (enum accrual_code)(2 * (i % 2)), i);
        posted[N - 1 - i] = post(month, (enum accrual_code)(i % 2 * 2 + (i / 2) % 2), i);
    }
    qsort(posted, N, sizeof *posted, accrual_posted_cmp);
    for (int i = 1; i < N; i++)
        assert_true(accrual_posted_cmp(&posted[i - 1], &posted[i]) < 0);
    struct accrual_merge m = {owed, N, posted, N, 0, 0};
    const struct accrual_line *o;
    const struct accrual_posted *p;
    size_t steps = 0, both = 0;
    while (accrual_merge_next(&m, &o, &p)) {
        steps++;
        both += o != NULL && p != NULL;
        if (o && p)
            assert_true(o->month == p->month && o->code == p->code);
    }
    assert_int_equal(both, N / 2);
    assert_int_equal(steps, 2 * N - both);
    free(owed);
    free(posted);
}

UNIT_MAIN({
    cmocka_unit_test(diff_leaves_months_after_through),
    cmocka_unit_test(diff_converges_up_to_through_only),
    cmocka_unit_test(diff_month_of_through_converges),
    cmocka_unit_test(diff_overflow_and_cap),
    cmocka_unit_test(diff_random_never_after_through),
    cmocka_unit_test(accrual_amounts_never_wrap),
    cmocka_unit_test(merge_pairs_each_key_once_in_order),
    cmocka_unit_test(merge_is_linear_and_sort_matches),
});
