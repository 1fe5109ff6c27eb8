/* Unit tests for accrual: a day-by-day reference of RULES.md §2 against the engine. The tables
 * of days in housing and of rates in force are test_accrual_cases.c's (shared with SQL's test). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accrual.h"
#include "ref_calendar.h"

#define MAX_ROWS 8     /* rows per code in a test schedule */
#define MAX_LINES 600  /* output lines per placement in a test */
#define REF_Y0 2020    /* the reference's month grid starts in January of this year */
#define REF_MONTHS 144 /* and has this many months */
#define RANDOM_CASES 100000L

enum { CH = ACCRUAL_DAY_CHILD, AD = ACCRUAL_DAY_ADULT, UAM = ACCRUAL_DAY_FORMER_UAM };
enum { MOVE = ACCRUAL_MOVE_IN, ALLOC = ACCRUAL_ALLOCATION_PLACE };

/* ---- An own calendar, independent of civil_date.c ---------------------------------------- */

/* Leap years in [1, y). */
static int32_t leaps_before(int y)
{
    int p = y - 1;
    return p / 4 - p / 100 + p / 400;
}

/* Days since 1970-01-01 (years 1..9999). */
static int32_t dn(int y, int m, int d)
{
    int32_t n = 365 * (int32_t)(y - 1970) + leaps_before(y) - leaps_before(1970);
    for (int k = 1; k < m; k++)
        n += ref_mdays(y, k);
    return n + d - 1;
}

static void ref_ymd(int32_t day, int *y, int *m, int *d)
{
    int yy = 1970 + day / 366;
    while (dn(yy, 1, 1) > day)
        yy--;
    while (dn(yy + 1, 1, 1) <= day)
        yy++;
    int32_t rest = day - dn(yy, 1, 1);
    int mm = 1;
    while (rest >= ref_mdays(yy, mm))
        rest -= ref_mdays(yy, mm++);
    *y = yy;
    *m = mm;
    *d = (int)rest + 1;
}

static int32_t ref_month_of(int32_t day)
{
    int y, m, d;
    ref_ymd(day, &y, &m, &d);
    return dn(y, m, 1);
}

/* The 18th birthday: 29 February → 1 March in a common year. */
static int32_t ref_adult_from(int32_t birth)
{
    int y, m, d;
    ref_ymd(birth, &y, &m, &d);
    y += 18;
    if (m == 2 && d == 29 && !ref_leap(y)) {
        m = 3;
        d = 1;
    }
    return dn(y, m, d);
}

static const char *ds(int32_t day, char buf[24])
{
    int y, m, d;
    if (day == ACCRUAL_NO_DAY)
        return "-";
    if (day == ACCRUAL_OPEN)
        return "open";
    ref_ymd(day, &y, &m, &d);
    snprintf(buf, 24, "%04d-%02d-%02d", y, m, d);
    return buf;
}

/* ---- The reference ------------------------------------------------------------------------ */

/* The rate of `code` on `day`: the row whose [from, to) holds it, scanning every row. */
static bool ref_rate(const struct accrual_schedule *s, int code, int32_t day, int64_t *amount)
{
    for (size_t i = 0; i < s->n[code]; i++) {
        const struct accrual_rate *r = &s->rows[code][i];
        if (r->from <= day && day < r->to) {
            if (!r->has_amount)
                return false;
            *amount = r->amount_ore;
            return true;
        }
    }
    return false;
}

struct expect {
    enum accrual_status st;
    int32_t first, last; /* the days in housing when there are any: [first, last] */
    int32_t adult;
    bool missing[ACCRUAL_CODES];
    size_t n;
    struct accrual_line lines[MAX_LINES];
};

struct cell {
    int32_t days;
    int64_t amount;
    bool any;
};

static struct cell grid[REF_MONTHS][ACCRUAL_CODES];

static void ref_add(const struct accrual_schedule *s, int mi, int code, int32_t day,
                    struct expect *e)
{
    int64_t a;
    if (!ref_rate(s, code, day, &a)) {
        e->missing[code] = true;
        return;
    }
    grid[mi][code].days++;
    grid[mi][code].amount += a;
    grid[mi][code].any = true;
}

static void reference(const struct accrual_facts *f, const struct accrual_schedule *s,
                      int32_t through, struct expect *e)
{
    e->st = ACCRUAL_OK;
    e->n = 0;
    memset(e->missing, 0, sizeof e->missing);
    if (f->moved_in_on == ACCRUAL_NO_DAY)
        return;
    int64_t first = f->moved_in_on > f->assigned_on ? f->moved_in_on : f->assigned_on;
    int64_t last = through;
    if (f->moved_out_on != ACCRUAL_NO_DAY && (int64_t)f->moved_out_on - 1 < last)
        last = (int64_t)f->moved_out_on - 1;
    if (f->registered_on != ACCRUAL_NO_DAY && (int64_t)f->registered_on - 1 < last)
        last = (int64_t)f->registered_on - 1;
    if (first > last)
        return;
    e->first = (int32_t)first;
    e->last = (int32_t)last;
    if (f->assigned_on < dn(2022, 3, 4) || f->birth_date > f->assigned_on) {
        e->st = ACCRUAL_IMPLAUSIBLE;
        return;
    }
    e->adult = ref_adult_from(f->birth_date);

    int y, m, d;
    ref_ymd(e->first, &y, &m, &d);
    int mi0 = (y - REF_Y0) * 12 + m - 1, mi = mi0, ly, lm, ld;
    ref_ymd(e->last, &ly, &lm, &ld);
    assert_true(mi0 >= 0 && (ly - REF_Y0) * 12 + lm - 1 < REF_MONTHS); /* the grid holds them */
    if (f->moved_in_on >= f->assigned_on) { /* then the move-in is the first day */
        int64_t a;
        if (ref_rate(s, MOVE, f->moved_in_on, &a))
            grid[mi][MOVE] = (struct cell){0, a, true};
        else
            e->missing[MOVE] = true;
    }
    for (int32_t day = e->first; day <= e->last; day++) {
        mi = (y - REF_Y0) * 12 + m - 1;
        if (day < e->adult) {
            ref_add(s, mi, CH, day, e);
        } else {
            ref_add(s, mi, AD, day, e);
            if (f->former_uam)
                ref_add(s, mi, UAM, day, e);
        }
        if (++d > ref_mdays(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    bool missing = false;
    for (int c = 0; c < ACCRUAL_CODES; c++)
        missing = missing || e->missing[c];
    if (missing)
        e->st = ACCRUAL_NO_RATE;
    for (int i = mi0; i <= mi; i++) {
        for (int c = 0; c < ACCRUAL_CODES; c++) {
            if (grid[i][c].any && !missing) {
                assert_true(e->n < MAX_LINES);
                e->lines[e->n++] =
                    (struct accrual_line){dn(REF_Y0 + i / 12, i % 12 + 1, 1), (enum accrual_code)c,
                                          grid[i][c].days, grid[i][c].amount};
            }
            grid[i][c] = (struct cell){0, 0, false};
        }
    }
}

/* ---- Checking the engine against the reference ------------------------------------------- */

/* Properties of any successful output: sorted by month then code, one line per (month, code),
 * months are first days, days == 0 exactly for MOVE_IN, never an allocation line. */
static bool check_shape(const struct accrual_line *out, size_t n, char *why, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        int y, m, d;
        ref_ymd(out[i].month, &y, &m, &d);
        if (d != 1) {
            snprintf(why, len, "line %zu: month is not a first day", i);
            return false;
        }
        if (out[i].code == ACCRUAL_MOVE_IN ? out[i].days != 0 : out[i].days <= 0) {
            snprintf(why, len, "line %zu: %d days for code %d", i, out[i].days, out[i].code);
            return false;
        }
        if (out[i].code <= ACCRUAL_ALLOCATION_PLACE || out[i].code >= ACCRUAL_CODES) {
            snprintf(why, len, "line %zu: code %d", i, out[i].code);
            return false;
        }
        if (i > 0 && (out[i - 1].month > out[i].month ||
                      (out[i - 1].month == out[i].month && out[i - 1].code >= out[i].code))) {
            snprintf(why, len, "line %zu: not after line %zu (sort order or duplicate)", i, i - 1);
            return false;
        }
    }
    return true;
}

static bool lines_equal(const struct accrual_line *a, size_t na, const struct accrual_line *b,
                        size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (a[i].month != b[i].month || a[i].code != b[i].code || a[i].days != b[i].days ||
            a[i].amount_ore != b[i].amount_ore)
            return false;
    return true;
}

/* err must name a day in housing (or the move-in day for MOVE_IN) without a rate for err.code. */
static bool check_no_rate(const struct accrual_facts *f, const struct accrual_schedule *s,
                          const struct expect *e, const struct accrual_error *err, char *why,
                          size_t len)
{
    int64_t a;
    int32_t day = err->day;
    bool in = day >= e->first && day <= e->last, applies;
    switch ((int)err->code) {
    case ACCRUAL_MOVE_IN:
        applies = f->moved_in_on >= f->assigned_on && day == f->moved_in_on;
        break;
    case ACCRUAL_DAY_CHILD:
        applies = in && day < e->adult;
        break;
    case ACCRUAL_DAY_ADULT:
        applies = in && day >= e->adult;
        break;
    case ACCRUAL_DAY_FORMER_UAM:
        applies = in && day >= e->adult && f->former_uam;
        break;
    default:
        applies = false;
    }
    if (!applies || ref_rate(s, err->code, day, &a)) {
        char b[24];
        snprintf(why, len, "NO_RATE names code %d on %s, which %s", err->code, ds(day, b),
                 applies ? "has a rate" : "is not a day of that code");
        return false;
    }
    if (err->message[0] == '\0') {
        snprintf(why, len, "NO_RATE without a message");
        return false;
    }
    return true;
}

static bool check_case(const struct accrual_facts *f, const struct accrual_schedule *s,
                       int32_t through, const struct expect *e, char *why, size_t len)
{
    struct accrual_line out[MAX_LINES];
    struct accrual_error err;
    size_t n = 999999;
    memset(&err, 0, sizeof err);
    enum accrual_status st = accrual_compute(f, s, through, out, MAX_LINES, &n, &err);
    if (st != e->st) {
        snprintf(why, len, "status %d, expected %d (%s)", st, e->st, err.message);
        return false;
    }
    if (st == ACCRUAL_NO_RATE)
        return check_no_rate(f, s, e, &err, why, len);
    if (st != ACCRUAL_OK)
        return true;
    if (n != e->n) {
        snprintf(why, len, "%zu lines, expected %zu", n, e->n);
        return false;
    }
    if (!check_shape(out, n, why, len))
        return false;
    if (!lines_equal(out, n, e->lines, e->n)) {
        snprintf(why, len, "lines differ");
        return false;
    }
    return true;
}

static void dump_lines(const char *what, const struct accrual_line *l, size_t n)
{
    char b[24];
    printf("# %s: %zu lines\n", what, n);
    for (size_t i = 0; i < n; i++)
        printf("#   %s %-16s %4d %" PRId64 "\n", ds(l[i].month, b), accrual_code_name(l[i].code),
               l[i].days, l[i].amount_ore);
}

static void dump_case(const struct accrual_facts *f, const struct accrual_schedule *s,
                      int32_t through, const struct expect *e)
{
    char b1[24], b2[24], b3[24], b4[24], b5[24];
    printf("# assigned %s moved_in %s moved_out %s registered %s birth %s former_uam %d\n",
           ds(f->assigned_on, b1), ds(f->moved_in_on, b2), ds(f->moved_out_on, b3),
           ds(f->registered_on, b4), ds(f->birth_date, b5), f->former_uam);
    printf("# through %s\n", ds(through, b1));
    for (int c = 0; c < ACCRUAL_CODES; c++) {
        for (size_t i = 0; i < s->n[c]; i++) {
            const struct accrual_rate *r = &s->rows[c][i];
            printf("#   %-16s [%s, %s) %s %" PRId64 "\n", accrual_code_name((enum accrual_code)c),
                   ds(r->from, b1), ds(r->to, b2), r->has_amount ? "amount" : "NULL",
                   r->amount_ore);
        }
    }
    printf("# expected status %d\n", e->st);
    dump_lines("expected", e->lines, e->n);
    struct accrual_line out[MAX_LINES];
    struct accrual_error err;
    size_t n = 0;
    memset(&err, 0, sizeof err);
    enum accrual_status st = accrual_compute(f, s, through, out, MAX_LINES, &n, &err);
    printf("# engine status %d, err.day %s, err.code %d, \"%s\"\n", st, ds(err.day, b1), err.code,
           err.message);
    if (st == ACCRUAL_OK)
        dump_lines("engine", out, n);
}

/* ---- Schedules and facts for the hand-written cases --------------------------------------- */

struct sched {
    struct accrual_rate rows[ACCRUAL_CODES][MAX_ROWS];
    struct accrual_schedule s;
};

static void sched_link(struct sched *sc)
{
    for (int c = 0; c < ACCRUAL_CODES; c++)
        sc->s.rows[c] = sc->rows[c];
}

/* RULES.md §2: 0 from 2022-03-04, the real amounts from 2022-07-01. */
static void sched_design(struct sched *sc)
{
    static const int64_t amount[ACCRUAL_CODES] = {1000000, 1500000, 15000, 30000, 40000};
    memset(sc, 0, sizeof *sc);
    for (int c = 0; c < ACCRUAL_CODES; c++) {
        sc->rows[c][0] = (struct accrual_rate){dn(2022, 3, 4), dn(2022, 7, 1), true, 0};
        sc->rows[c][1] = (struct accrual_rate){dn(2022, 7, 1), ACCRUAL_OPEN, true, amount[c]};
        sc->s.n[c] = 2;
    }
    sched_link(sc);
}

static struct accrual_facts facts(int32_t assigned, int32_t in, int32_t out, int32_t reg,
                                  int32_t birth, bool former_uam)
{
    return (struct accrual_facts){assigned, in, out, reg, birth, former_uam};
}

static struct accrual_line L(int y, int m, int code, int32_t days, int64_t amount) {
    return (struct accrual_line){dn(y, m, 1), (enum accrual_code)code, days, amount};
}

#define NONE ACCRUAL_NO_DAY
#define NLINES(a) (sizeof(a) / sizeof((a)[0]))

/* Runs the engine, expects OK and exactly the lines `want`; also checks the reference agrees. */
static void
expect_lines(const struct accrual_facts *f, const struct sched *sc, int32_t through,
             const struct accrual_line *want, size_t nwant)
{
    struct accrual_line out[MAX_LINES];
    struct accrual_error err;
    size_t n = 999;
    memset(&err, 0, sizeof err);
    enum accrual_status st = accrual_compute(f, &sc->s, through, out, MAX_LINES, &n, &err);
    if (st != ACCRUAL_OK)
        fail_msg("status %d: %s", st, err.message);
    if (!lines_equal(out, n, want, nwant)) {
        dump_lines("wanted", want, nwant);
        dump_lines("engine", out, n);
        fail_msg("engine lines differ from the hand-written ones");
    }
    static struct expect e;
    reference(f, &sc->s, through, &e);
    assert_int_equal(e.st, ACCRUAL_OK);
    if (!lines_equal(e.lines, e.n, want, nwant)) {
        dump_lines("reference", e.lines, e.n);
        fail_msg("the reference differs from the hand-written lines");
    }
}

static void expect_status(const struct accrual_facts *f, const struct sched *sc, int32_t through,
                          enum accrual_status want, int32_t want_day, int want_code)
{
    struct accrual_line out[MAX_LINES];
    struct accrual_error err;
    size_t n = 999;
    memset(&err, 0, sizeof err);
    enum accrual_status st = accrual_compute(f, &sc->s, through, out, MAX_LINES, &n, &err);
    assert_int_equal(st, want);
    assert_true(err.message[0] != '\0');
    if (want == ACCRUAL_NO_RATE) {
        assert_int_equal(err.day, want_day);
        assert_int_equal(err.code, want_code);
    }
    static struct expect e;
    reference(f, &sc->s, through, &e);
    assert_int_equal(e.st, want);
}

/* ---- Hand-written cases ------------------------------------------------------------------- */

static void test_reference_calendar(void **state)
{
    (void)state;
    /* The reference's own calendar against fixed anchors; the rest of the file relies on it. */
    assert_int_equal(dn(1970, 1, 1), 0);
    assert_int_equal(dn(1969, 12, 31), -1);
    assert_int_equal(dn(2000, 3, 1), 11017);
    assert_int_equal(dn(2024, 2, 29), 19782);
    assert_int_equal(dn(1900, 1, 1), -25567);
    for (int32_t day = dn(1900, 1, 1); day <= dn(2100, 12, 31); day++) {
        int y, m, d;
        ref_ymd(day, &y, &m, &d);
        assert_int_equal(dn(y, m, d), day);
        assert_true(d >= 1 && d <= ref_mdays(y, m));
    }
    assert_int_equal(accrual_directive_start(), dn(2022, 3, 4));
}

static void test_design_example_child_turns_18(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    int32_t in = dn(2024, 1, 10);
    struct accrual_facts f = facts(in, in, dn(2024, 4, 2), NONE, dn(2006, 3, 15), false);
    assert_int_equal(accrual_adult_from(f.birth_date), dn(2024, 3, 15));
    const struct accrual_line want[] = {
        L(2024, 1, MOVE, 0, 1500000),   L(2024, 1, CH, 22, 22 * 15000),
        L(2024, 2, CH, 29, 29 * 15000), L(2024, 3, CH, 14, 14 * 15000),
        L(2024, 3, AD, 17, 17 * 30000), L(2024, 4, AD, 1, 30000),
    };
    expect_lines(&f, &sc, dn(2024, 12, 31), want, NLINES(want));

    f.former_uam = true; /* DAY_FORMER_UAM on top of DAY_ADULT, from the birthday */
    const struct accrual_line want_uam[] = {
        L(2024, 1, MOVE, 0, 1500000), L(2024, 1, CH, 22, 330000), L(2024, 2, CH, 29, 435000),
        L(2024, 3, CH, 14, 210000),   L(2024, 3, AD, 17, 510000), L(2024, 3, UAM, 17, 680000),
        L(2024, 4, AD, 1, 30000),     L(2024, 4, UAM, 1, 40000),
    };
    expect_lines(&f, &sc, dn(2024, 12, 31), want_uam, NLINES(want_uam));
}

static void test_adult_from(void **state)
{
    (void)state;
    static const int t[][6] = {
        {2004, 2, 29, 2022, 3, 1},  {2008, 2, 29, 2026, 3, 1},    {2000, 2, 29, 2018, 3, 1},
        {2004, 2, 28, 2022, 2, 28}, {2004, 3, 1, 2022, 3, 1},     {2006, 3, 15, 2024, 3, 15},
        {2006, 2, 28, 2024, 2, 28}, {2005, 12, 31, 2023, 12, 31}, {2006, 1, 1, 2024, 1, 1},
        {1982, 2, 28, 2000, 2, 28}, {2082, 2, 28, 2100, 2, 28},
    };
    for (size_t i = 0; i < NLINES(t); i++)
        assert_int_equal(accrual_adult_from(dn(t[i][0], t[i][1], t[i][2])),
                         dn(t[i][3], t[i][4], t[i][5]));
    /* Every birth date of 1950..2026 against the reference. */
    for (int32_t b = dn(1950, 1, 1); b <= dn(2026, 12, 31); b++)
        assert_int_equal(accrual_adult_from(b), ref_adult_from(b));

    /* Born 2008-02-29: a child on 2026-02-28, an adult from 2026-03-01. */
    struct sched sc;
    sched_design(&sc);
    int32_t in = dn(2026, 2, 20);
    struct accrual_facts f = facts(in, in, dn(2026, 3, 5), NONE, dn(2008, 2, 29), false);
    const struct accrual_line want[] = {
        L(2026, 2, MOVE, 0, 1500000),
        L(2026, 2, CH, 9, 9 * 15000),
        L(2026, 3, AD, 4, 4 * 30000),
    };
    expect_lines(&f, &sc, dn(2026, 12, 31), want, NLINES(want));
}

static void test_transfer_on_one_day(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    int32_t day = dn(2024, 5, 15), through = dn(2024, 5, 31), birth = dn(1990, 1, 1);
    struct accrual_facts a = facts(dn(2024, 1, 1), dn(2024, 1, 1), day, NONE, birth, false);
    struct accrual_facts b = facts(dn(2024, 5, 10), day, NONE, NONE, birth, false);
    assert_int_equal(accrual_housing_end(&a), day);
    assert_int_equal(accrual_housing_start(&b), day);
    const struct accrual_line want_a[] = {
        L(2024, 1, MOVE, 0, 1500000), L(2024, 1, AD, 31, 930000), L(2024, 2, AD, 29, 870000),
        L(2024, 3, AD, 31, 930000),   L(2024, 4, AD, 30, 900000), L(2024, 5, AD, 14, 420000),
    };
    expect_lines(&a, &sc, through, want_a, NLINES(want_a));
    const struct accrual_line want_b[] = {L(2024, 5, MOVE, 0, 1500000), L(2024, 5, AD, 17, 510000)};
    expect_lines(&b, &sc, through, want_b, NLINES(want_b));
}

static void test_move_in_before_assignment(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    struct accrual_facts f =
        facts(dn(2024, 3, 10), dn(2024, 3, 1), NONE, NONE, dn(1990, 1, 1), false);
    const struct accrual_line want[] = {L(2024, 3, AD, 22, 22 * 30000)}; /* no MOVE_IN */
    expect_lines(&f, &sc, dn(2024, 3, 31), want, NLINES(want));
    f.moved_in_on = f.assigned_on; /* on the assignment day: MOVE_IN is owed */
    const struct accrual_line want_on[] = {L(2024, 3, MOVE, 0, 1500000),
                                           L(2024, 3, AD, 22, 22 * 30000)};
    expect_lines(&f, &sc, dn(2024, 3, 31), want_on, NLINES(want_on));
}

static void test_registration_before_move_out(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    struct accrual_facts f = facts(dn(2024, 1, 1), dn(2024, 1, 5), dn(2024, 3, 20), dn(2024, 2, 10),
                                   dn(1990, 1, 1), false);
    const struct accrual_line want[] = {
        L(2024, 1, MOVE, 0, 1500000), L(2024, 1, AD, 27, 27 * 30000), L(2024, 2, AD, 9, 9 * 30000)};
    expect_lines(&f, &sc, dn(2024, 12, 31), want, NLINES(want));
}

static void test_open_ended_cut_at_through(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    struct accrual_facts f =
        facts(dn(2024, 6, 1), dn(2024, 6, 15), NONE, NONE, dn(2010, 5, 5), false);
    const struct accrual_line want[] = {
        L(2024, 6, MOVE, 0, 1500000), L(2024, 6, CH, 16, 16 * 15000),
        L(2024, 7, CH, 31, 31 * 15000), L(2024, 8, CH, 10, 10 * 15000)};
    expect_lines(&f, &sc, dn(2024, 8, 10), want, NLINES(want));
    const struct accrual_line one[] = {L(2024, 6, MOVE, 0, 1500000), L(2024, 6, CH, 1, 15000)};
    expect_lines(&f, &sc, dn(2024, 6, 15), one, NLINES(one));
}

static void test_through_before_move_in(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    struct accrual_facts f =
        facts(dn(2024, 6, 1), dn(2024, 6, 15), NONE, NONE, dn(2010, 5, 5), false);
    expect_lines(&f, &sc, dn(2024, 6, 14), NULL, 0);
    expect_lines(&f, &sc, dn(2023, 1, 1), NULL, 0);
    f.birth_date = dn(2024, 7, 1); /* implausible, but there is no day in housing yet */
    expect_lines(&f, &sc, dn(2024, 6, 14), NULL, 0);
    f.moved_out_on = f.moved_in_on; /* moved out on the move-in day: no day, no MOVE_IN */
    f.birth_date = dn(2010, 5, 5);
    expect_lines(&f, &sc, dn(2024, 12, 31), NULL, 0);
}

static void test_zero_rows_before_2022_07_01(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    struct accrual_facts f =
        facts(dn(2022, 3, 4), dn(2022, 5, 20), dn(2022, 7, 3), NONE, dn(1990, 1, 1), true);
    const struct accrual_line want[] = {
        L(2022, 5, MOVE, 0, 0),    L(2022, 5, AD, 12, 0),  L(2022, 5, UAM, 12, 0),
        L(2022, 6, AD, 30, 0),     L(2022, 6, UAM, 30, 0), L(2022, 7, AD, 2, 60000),
        L(2022, 7, UAM, 2, 80000),
    };
    expect_lines(&f, &sc, dn(2022, 12, 31), want, NLINES(want));
    f.moved_in_on = dn(2022, 3, 4);
    f.moved_out_on = dn(2022, 3, 10);
    f.former_uam = false;
    const struct accrual_line first[] = {L(2022, 3, MOVE, 0, 0), L(2022, 3, AD, 6, 0)};
    expect_lines(&f, &sc, dn(2022, 12, 31), first, NLINES(first));
}

static void test_before_directive(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    /* A day before 2022-03-04 can only be in housing when the assignment is: that placement is
     * implausible, which the engine reports before any missing rate. */
    int32_t d = dn(2022, 3, 3);
    struct accrual_facts f = facts(d, d, NONE, NONE, dn(1990, 1, 1), false);
    expect_status(&f, &sc, dn(2022, 12, 31), ACCRUAL_IMPLAUSIBLE, 0, 0);
    expect_lines(&f, &sc, dn(2022, 3, 2), NULL, 0);
    int64_t a = 1;
    assert_false(accrual_rate_on(&sc.s, ACCRUAL_DAY_ADULT, d, &a));

    /* A day before the first row of its code: NO_RATE naming that day. */
    sc.rows[AD][0] = sc.rows[AD][1];
    sc.s.n[AD] = 1; /* DAY_ADULT only from 2022-07-01 */
    f = facts(dn(2022, 6, 28), dn(2022, 6, 20), NONE, NONE, dn(1990, 1, 1), false);
    expect_status(&f, &sc, dn(2022, 12, 31), ACCRUAL_NO_RATE, dn(2022, 6, 28), AD);
    f.moved_in_on = dn(2022, 7, 1); /* from the first row on: fine */
    const struct accrual_line want[] = {L(2022, 7, MOVE, 0, 1500000), L(2022, 7, AD, 2, 60000)};
    expect_lines(&f, &sc, dn(2022, 7, 2), want, NLINES(want));

    /* MOVE_IN without a rate on the move-in day. */
    sched_design(&sc);
    sc.rows[MOVE][0] = sc.rows[MOVE][1];
    sc.s.n[MOVE] = 1;
    f = facts(dn(2022, 6, 1), dn(2022, 6, 1), NONE, NONE, dn(1990, 1, 1), false);
    expect_status(&f, &sc, dn(2022, 12, 31), ACCRUAL_NO_RATE, dn(2022, 6, 1), MOVE);
}

static void test_null_row_mid_period(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    sc.rows[AD][1].to = dn(2024, 3, 1);
    sc.rows[AD][2] = (struct accrual_rate){dn(2024, 3, 1), dn(2024, 4, 1), false, 777};
    sc.rows[AD][3] = (struct accrual_rate){dn(2024, 4, 1), ACCRUAL_OPEN, true, 32000};
    sc.s.n[AD] = 4;
    int32_t birth = dn(1990, 1, 1);
    struct accrual_facts f =
        facts(dn(2024, 2, 10), dn(2024, 2, 10), dn(2024, 5, 1), NONE, birth, false);
    expect_status(&f, &sc, dn(2024, 12, 31), ACCRUAL_NO_RATE, dn(2024, 3, 1), AD);
    f.moved_out_on = dn(2024, 3, 1); /* the move-out day does not count */
    const struct accrual_line feb[] = {L(2024, 2, MOVE, 0, 1500000), L(2024, 2, AD, 20, 600000)};
    expect_lines(&f, &sc, dn(2024, 12, 31), feb, NLINES(feb));
    f = facts(dn(2024, 4, 1), dn(2024, 4, 1), dn(2024, 5, 1), NONE, birth, false);
    const struct accrual_line apr[] = {L(2024, 4, MOVE, 0, 1500000), L(2024, 4, AD, 30, 960000)};
    expect_lines(&f, &sc, dn(2024, 12, 31), apr, NLINES(apr));
    f = facts(dn(2024, 3, 31), dn(2024, 3, 31), dn(2024, 4, 2), NONE, birth, false);
    expect_status(&f, &sc, dn(2024, 12, 31), ACCRUAL_NO_RATE, dn(2024, 3, 31), AD);
    f.moved_in_on = dn(2024, 3, 20); /* before the assignment: still from 2024-03-31 */
    expect_status(&f, &sc, dn(2024, 12, 31), ACCRUAL_NO_RATE, dn(2024, 3, 31), AD);

    /* DAY_FORMER_UAM ended by a null row (RULES.md §8). */
    sched_design(&sc);
    sc.rows[UAM][1].to = dn(2025, 1, 1);
    sc.rows[UAM][2] = (struct accrual_rate){dn(2025, 1, 1), ACCRUAL_OPEN, false, 40000};
    sc.s.n[UAM] = 3;
    f = facts(dn(2024, 12, 30), dn(2024, 12, 30), NONE, NONE, birth, true);
    expect_status(&f, &sc, dn(2025, 1, 5), ACCRUAL_NO_RATE, dn(2025, 1, 1), UAM);
    const struct accrual_line dec[] = {L(2024, 12, MOVE, 0, 1500000), L(2024, 12, AD, 2, 60000),
                                       L(2024, 12, UAM, 2, 80000)};
    expect_lines(&f, &sc, dn(2024, 12, 31), dec, NLINES(dec));
    f.former_uam = false;
    const struct accrual_line jan[] = {L(2024, 12, MOVE, 0, 1500000), L(2024, 12, AD, 2, 60000),
                                       L(2025, 1, AD, 5, 150000)};
    expect_lines(&f, &sc, dn(2025, 1, 5), jan, NLINES(jan));
}

static void test_implausible(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    int32_t a = dn(2024, 1, 10);
    struct accrual_facts f = facts(a, a, NONE, NONE, dn(2024, 2, 1), false);
    expect_status(&f, &sc, dn(2024, 12, 31), ACCRUAL_IMPLAUSIBLE, 0, 0);
    f.birth_date = a; /* born on the assignment day: not after it */
    const struct accrual_line want[] = {L(2024, 1, MOVE, 0, 1500000), L(2024, 1, CH, 1, 15000)};
    expect_lines(&f, &sc, a, want, NLINES(want));
    f = facts(dn(2022, 3, 3), dn(2022, 4, 1), NONE, NONE, dn(1990, 1, 1), false);
    expect_status(&f, &sc, dn(2024, 12, 31), ACCRUAL_IMPLAUSIBLE, 0, 0);
}

static void test_too_many(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    int32_t in = dn(2024, 1, 10), through = dn(2024, 12, 31);
    struct accrual_facts f = facts(in, in, dn(2024, 4, 2), NONE, dn(2006, 3, 15), false);
    struct accrual_line out[6];
    struct accrual_error err;
    size_t n;
    memset(&err, 0, sizeof err);
    assert_int_equal(accrual_compute(&f, &sc.s, through, out, 6, &n, &err), ACCRUAL_OK);
    assert_int_equal(n, 6);
    assert_int_equal(accrual_compute(&f, &sc.s, through, out, 5, &n, &err), ACCRUAL_TOO_MANY);
    assert_true(err.message[0] != '\0');
    assert_int_equal(accrual_compute(&f, &sc.s, through, out, 1, &n, &err), ACCRUAL_TOO_MANY);
    assert_int_equal(accrual_compute(&f, &sc.s, through, NULL, 0, &n, &err), ACCRUAL_TOO_MANY);
    /* Nothing to write: cap 0 is enough. */
    assert_int_equal(accrual_compute(&f, &sc.s, in - 1, NULL, 0, &n, &err), ACCRUAL_OK);
    assert_int_equal(n, 0);
}

static void test_allocation(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    struct accrual_line out[1];
    struct accrual_error err;
    size_t n = 9;
    int32_t through = dn(2024, 12, 31), d = dn(2024, 2, 15);
    memset(&err, 0, sizeof err);
    assert_int_equal(accrual_allocation(d, 40, &sc.s, through, out, &n, &err), ACCRUAL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].month, dn(2024, 2, 1));
    assert_int_equal(out[0].code, ACCRUAL_ALLOCATION_PLACE);
    assert_int_equal(out[0].days, 0);
    assert_int_equal(out[0].amount_ore, 40 * 1000000LL);
    assert_int_equal(accrual_allocation(through, 15, &sc.s, through, out, &n, &err), ACCRUAL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].month, dn(2024, 12, 1));
    assert_int_equal(out[0].amount_ore, 15 * 1000000LL);
    n = 9;
    assert_int_equal(accrual_allocation(d, 0, &sc.s, through, out, &n, &err), ACCRUAL_OK);
    assert_int_equal(n, 0);
    n = 9;
    assert_int_equal(accrual_allocation(through + 1, 40, &sc.s, through, out, &n, &err),
                     ACCRUAL_OK);
    assert_int_equal(n, 0);
    /* In the zero period: a line of 0 öre. */
    assert_int_equal(accrual_allocation(dn(2022, 5, 1), 40, &sc.s, through, out, &n, &err),
                     ACCRUAL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].month, dn(2022, 5, 1));
    assert_int_equal(out[0].amount_ore, 0);
    /* Before any rate. */
    assert_int_equal(accrual_allocation(dn(2022, 3, 3), 40, &sc.s, through, out, &n, &err),
                     ACCRUAL_NO_RATE);
    assert_int_equal(err.day, dn(2022, 3, 3));
    assert_int_equal(err.code, ACCRUAL_ALLOCATION_PLACE);
    assert_true(err.message[0] != '\0');
}

static void test_rate_on(void **state)
{
    (void)state;
    struct sched sc;
    sched_design(&sc);
    int64_t a = -1;
    assert_false(accrual_rate_on(&sc.s, ACCRUAL_DAY_CHILD, dn(2022, 3, 3), &a));
    assert_true(accrual_rate_on(&sc.s, ACCRUAL_DAY_CHILD, dn(2022, 3, 4), &a));
    assert_int_equal(a, 0);
    assert_true(accrual_rate_on(&sc.s, ACCRUAL_DAY_CHILD, dn(2022, 6, 30), &a));
    assert_int_equal(a, 0);
    assert_true(accrual_rate_on(&sc.s, ACCRUAL_DAY_CHILD, dn(2022, 7, 1), &a));
    assert_int_equal(a, 15000);
    assert_true(accrual_rate_on(&sc.s, ACCRUAL_MOVE_IN, dn(2100, 1, 1), &a));
    assert_int_equal(a, 1500000);
    sc.rows[AD][1].to = dn(2024, 3, 1);
    sc.rows[AD][2] = (struct accrual_rate){dn(2024, 3, 1), dn(2024, 4, 1), false, 777};
    sc.rows[AD][3] = (struct accrual_rate){dn(2024, 4, 1), ACCRUAL_OPEN, true, 32000};
    sc.s.n[AD] = 4;
    assert_true(accrual_rate_on(&sc.s, ACCRUAL_DAY_ADULT, dn(2024, 2, 29), &a));
    assert_int_equal(a, 30000);
    a = -1;
    assert_false(accrual_rate_on(&sc.s, ACCRUAL_DAY_ADULT, dn(2024, 3, 1), &a));
    assert_false(accrual_rate_on(&sc.s, ACCRUAL_DAY_ADULT, dn(2024, 3, 31), &a));
    assert_true(accrual_rate_on(&sc.s, ACCRUAL_DAY_ADULT, dn(2024, 4, 1), &a));
    assert_int_equal(a, 32000);
    sc.s.n[CH] = 0;
    assert_false(accrual_rate_on(&sc.s, ACCRUAL_DAY_CHILD, dn(2024, 4, 1), &a));
}

static void test_code_names(void **state)
{
    (void)state;
    enum accrual_code c;
    for (int i = 0; i < ACCRUAL_CODES; i++) {
        assert_true(accrual_code_parse(accrual_code_name((enum accrual_code)i), &c));
        assert_int_equal(c, i);
    }
    assert_string_equal(accrual_code_name(ACCRUAL_DAY_FORMER_UAM), "DAY_FORMER_UAM");
    assert_false(accrual_code_parse("day_child", &c));
    assert_false(accrual_code_parse("", &c));
}

/* ---- Random placements and schedules ------------------------------------------------------ */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int64_t rng_between(struct rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static bool rng_pct(struct rng *r, int pct)
{
    return (int)(rng_next(r) % 100) < pct;
}

static void gen_schedule(struct rng *r, struct accrual_rate *rows, size_t *n)
{
    int32_t start = dn(2022, 3, 4), from = start;
    int roll = (int)rng_between(r, 0, 99);
    if (roll >= 92)
        from = start + (int32_t)rng_between(r, 1, 200); /* days before the first row */
    else if (roll >= 82)
        from = start - (int32_t)rng_between(r, 1, 400);
    size_t k = (size_t)rng_between(r, 1, 6);
    for (size_t i = 0; i < k; i++) {
        bool has = !rng_pct(r, 3);
        int64_t amount = rng_pct(r, 15) ? 0 : rng_between(r, 0, 1000000);
        rows[i] = (struct accrual_rate){from, ACCRUAL_OPEN, has, has ? amount : 777};
        if (i + 1 < k) {
            int32_t next = from + (int32_t)rng_between(r, 1, 500);
            if (rng_pct(r, 40) && ref_month_of(next) > from) /* on the 1st of a month */
                next = ref_month_of(next);
            rows[i].to = from = next;
        }
    }
    if (rng_pct(r, 6)) { /* a null row ends the rate, maybe followed by a new one */
        int32_t end = from + (int32_t)rng_between(r, 1, 600);
        rows[k - 1].to = end;
        rows[k++] = (struct accrual_rate){end, ACCRUAL_OPEN, false, 777};
        if (rng_pct(r, 50)) {
            int32_t again = end + (int32_t)rng_between(r, 1, 300);
            rows[k - 1].to = again;
            rows[k++] =
                (struct accrual_rate){again, ACCRUAL_OPEN, true, rng_between(r, 0, 1000000)};
        }
    }
    *n = k;
}

/* A birth date whose 18th birthday is `target` (nearest possible for 29 February targets). */
static int32_t birth_for_18(struct rng *r, int32_t target)
{
    int y, m, d;
    ref_ymd(target, &y, &m, &d);
    if (m == 2 && d == 29)
        return dn(y - 18, 2, 28);
    if (m == 3 && d == 1 && !ref_leap(y) && ref_leap(y - 18) && rng_pct(r, 50))
        return dn(y - 18, 2, 29);
    return dn(y - 18, m, d);
}

static int32_t gen_end(struct rng *r, int32_t anchor, int absent_pct)
{
    int roll = (int)rng_between(r, 0, 99);
    if (roll < absent_pct)
        return NONE;
    roll = (int)rng_between(r, 0, 99);
    if (roll < 12)
        return anchor - (int32_t)rng_between(r, 1, 40);
    if (roll < 20)
        return anchor;
    if (roll < 25)
        return anchor + 1;
    return anchor + (int32_t)rng_between(r, 2, 1400);
}

static void gen_facts(struct rng *r, struct accrual_facts *f, int32_t *through)
{
    int32_t start = dn(2022, 3, 4);
    int roll = (int)rng_between(r, 0, 99);
    if (roll < 88)
        f->assigned_on = (int32_t)rng_between(r, start, dn(2026, 12, 31));
    else if (roll < 95)
        f->assigned_on = (int32_t)rng_between(r, dn(2021, 6, 1), start - 1);
    else
        f->assigned_on = start - (int32_t)rng_between(r, 0, 1);
    roll = (int)rng_between(r, 0, 99);
    if (roll < 10)
        f->moved_in_on = NONE;
    else if (roll < 28)
        f->moved_in_on = f->assigned_on - (int32_t)rng_between(r, 1, 90);
    else if (roll < 45)
        f->moved_in_on = f->assigned_on;
    else
        f->moved_in_on = f->assigned_on + (int32_t)rng_between(r, 1, 240);
    int32_t anchor =
        f->moved_in_on != NONE && f->moved_in_on > f->assigned_on ? f->moved_in_on : f->assigned_on;
    f->moved_out_on = gen_end(r, anchor, 35);
    f->registered_on = gen_end(r, anchor, 55);
    int32_t end = f->moved_out_on;
    if (end == NONE || (f->registered_on != NONE && f->registered_on < end))
        end = f->registered_on;

    roll = (int)rng_between(r, 0, 99);
    if (roll < 5)
        *through = anchor - 1;
    else if (roll < 10)
        *through = anchor;
    else if (roll < 20 && end != NONE)
        *through = end - (roll < 15 ? 1 : 0);
    else
        *through = (int32_t)rng_between(r, anchor - 90, dn(2027, 12, 31));

    roll = (int)rng_between(r, 0, 99);
    if (roll < 4)
        f->birth_date = dn(1952 + 4 * (int)rng_between(r, 0, 18), 2, 29);
    else if (roll < 8)
        f->birth_date = dn(rng_pct(r, 50) ? 2004 : 2008, 2, 29);
    else if (roll < 20)
        f->birth_date = birth_for_18(r, f->moved_in_on != NONE ? f->moved_in_on : anchor);
    else if (roll < 28)
        f->birth_date =
            birth_for_18(r, end != NONE ? end : anchor + (int32_t)rng_between(r, 0, 400));
    else if (roll < 36)
        f->birth_date = birth_for_18(r, ref_month_of(anchor + (int32_t)rng_between(r, -60, 1400)));
    else if (roll < 50)
        f->birth_date = birth_for_18(r, anchor + (int32_t)rng_between(r, 0, 700));
    else if (roll < 54) /* born on the assignment day (plausible) or just after (not) */
        f->birth_date = f->assigned_on + (int32_t)rng_between(r, -1, 1);
    else if (roll < 75)
        f->birth_date = (int32_t)rng_between(r, dn(1995, 1, 1), dn(2012, 12, 31));
    else
        f->birth_date = (int32_t)rng_between(r, dn(1950, 1, 1), dn(2026, 12, 31));
    f->former_uam = rng_pct(r, 30);
}

/* The pure helpers on the same random facts. */
static bool check_helpers(struct rng *r, const struct accrual_facts *f,
                          const struct accrual_schedule *s, char *why, size_t len)
{
    int32_t start = accrual_housing_start(f), end = accrual_housing_end(f);
    int32_t want_end = ACCRUAL_OPEN;
    if (f->moved_out_on != NONE && f->moved_out_on < want_end)
        want_end = f->moved_out_on;
    if (f->registered_on != NONE && f->registered_on < want_end)
        want_end = f->registered_on;
    if (end != want_end) {
        snprintf(why, len, "housing_end %d, expected %d", end, want_end);
        return false;
    }
    if (f->moved_in_on == NONE
            ? start < end
            : start != (f->moved_in_on > f->assigned_on ? f->moved_in_on : f->assigned_on)) {
        snprintf(why, len, "housing_start %d", start);
        return false;
    }
    if (accrual_adult_from(f->birth_date) != ref_adult_from(f->birth_date)) {
        snprintf(why, len, "adult_from differs");
        return false;
    }
    for (int i = 0; i < 3; i++) {
        int code = (int)rng_between(r, 0, ACCRUAL_CODES - 1);
        int32_t day = (int32_t)rng_between(r, dn(2021, 1, 1), dn(2028, 12, 31));
        int64_t a = -1, b = -2;
        bool ea = accrual_rate_on(s, (enum accrual_code)code, day, &a);
        bool eb = ref_rate(s, code, day, &b);
        if (ea != eb || (ea && a != b)) {
            char buf[24];
            snprintf(why, len, "rate_on(%d, %s) differs", code, ds(day, buf));
            return false;
        }
    }
    return true;
}

static void run_random(uint64_t seed, long cases)
{
    struct rng r = {seed};
    static struct sched sc;
    static struct expect e;
    long count[4] = {0}, lines = 0, too_many = 0;
    char why[160];
    for (long i = 0; i < cases; i++) {
        struct accrual_facts f;
        int32_t through;
        memset(&sc, 0, sizeof sc);
        for (int c = 0; c < ACCRUAL_CODES; c++)
            gen_schedule(&r, sc.rows[c], &sc.s.n[c]);
        sched_link(&sc);
        gen_facts(&r, &f, &through);
        reference(&f, &sc.s, through, &e);
        bool ok = check_case(&f, &sc.s, through, &e, why, sizeof why) &&
                  check_helpers(&r, &f, &sc.s, why, sizeof why);
        if (ok && e.st == ACCRUAL_OK && e.n > 0 && i % 8 == 0) {
            struct accrual_line out[MAX_LINES];
            struct accrual_error err;
            size_t n;
            too_many++;
            if (accrual_compute(&f, &sc.s, through, out, e.n - 1, &n, &err) != ACCRUAL_TOO_MANY) {
                snprintf(why, sizeof why, "cap %zu did not give TOO_MANY", e.n - 1);
                ok = false;
            }
        }
        if (!ok) {
            dump_case(&f, &sc.s, through, &e);
            fail_msg("seed %" PRIu64 " case %ld: %s", seed, i, why);
        }
        count[e.st]++;
        lines += (long)e.n;
    }
    printf("# %ld cases: %ld ok (%ld lines), %ld no rate, %ld implausible; %ld cap checks\n", cases,
           count[ACCRUAL_OK], lines, count[ACCRUAL_NO_RATE], count[ACCRUAL_IMPLAUSIBLE], too_many);
}

static void test_random_fixed_seed(void **state)
{
    (void)state;
    run_random(20260101, RANDOM_CASES);
}

static void test_random_new_seed(void **state)
{
    (void)state;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    const char *env = getenv("ACCRUAL_SEED"); /* to reproduce a printed seed */
    if (env != NULL && *env != '\0')
        seed = (unsigned)strtoul(env, NULL, 10);
    printf("# random seed %u\n", seed);
    fflush(stdout);
    run_random(seed, RANDOM_CASES);
}

UNIT_MAIN({
    cmocka_unit_test(test_reference_calendar),
    cmocka_unit_test(test_design_example_child_turns_18),
    cmocka_unit_test(test_adult_from),
    cmocka_unit_test(test_transfer_on_one_day),
    cmocka_unit_test(test_move_in_before_assignment),
    cmocka_unit_test(test_registration_before_move_out),
    cmocka_unit_test(test_open_ended_cut_at_through),
    cmocka_unit_test(test_through_before_move_in),
    cmocka_unit_test(test_zero_rows_before_2022_07_01),
    cmocka_unit_test(test_before_directive),
    cmocka_unit_test(test_null_row_mid_period),
    cmocka_unit_test(test_implausible),
    cmocka_unit_test(test_too_many),
    cmocka_unit_test(test_allocation),
    cmocka_unit_test(test_rate_on),
    cmocka_unit_test(test_code_names),
    cmocka_unit_test(test_random_fixed_seed),
    cmocka_unit_test(test_random_new_seed),
});
