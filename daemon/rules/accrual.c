/* accrual: interval arithmetic over days in housing, age periods, rate rows and months. */
#include "accrual.h"

#include "civil_date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const code_names[ACCRUAL_CODES] = {"ALLOCATION_PLACE", "MOVE_IN", "DAY_CHILD",
                                                      "DAY_ADULT", "DAY_FORMER_UAM"};

int32_t accrual_directive_start(void)
{
    return civil_from_ymd(2022, 3, 4);
}

const char *accrual_code_name(enum accrual_code code)
{
    return (unsigned)code < ACCRUAL_CODES ? code_names[code] : "?";
}

bool accrual_code_parse(const char *s, enum accrual_code *out)
{
    for (int i = 0; i < ACCRUAL_CODES; i++) {
        if (strcmp(s, code_names[i]) == 0) {
            *out = (enum accrual_code)i;
            return true;
        }
    }
    return false;
}

static int32_t max32(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

static int32_t min32(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

/* RULES.md §2: the move-in day counts; a move-in before the assignment counts from the
 * assignment. SQL twin: rb_housing (placements_no_overlap); test: rules_sql_agree. */
int32_t accrual_housing_start(const struct accrual_facts *f)
{
    if (f->moved_in_on == ACCRUAL_NO_DAY)
        return ACCRUAL_OPEN;
    return max32(f->moved_in_on, f->assigned_on);
}

/* RULES.md §2: the move-out day does not count, nor the registration day: a transfer on day D
 * pays D to the receiving municipality only. SQL twin: rb_housing; test: rules_sql_agree. */
int32_t accrual_housing_end(const struct accrual_facts *f)
{
    int32_t end = ACCRUAL_OPEN;
    if (f->moved_out_on != ACCRUAL_NO_DAY)
        end = min32(end, f->moved_out_on);
    if (f->registered_on != ACCRUAL_NO_DAY)
        end = min32(end, f->registered_on);
    return end;
}

/* RULES.md §2, the age switch: the one definition (no SQL twin). */
int32_t accrual_adult_from(int32_t birth_date)
{
    return civil_birthday(birth_date, 18);
}

/* The row of `code` whose range holds `day`, starting the search at *hint (days only grow). */
static const struct accrual_rate *rate_row(const struct accrual_schedule *s, enum accrual_code code,
                                           int32_t day, size_t *hint)
{
    const struct accrual_rate *rows = s->rows[code];
    for (size_t i = *hint; i < s->n[code]; i++) {
        if (rows[i].from > day)
            return NULL;
        if (day < rows[i].to) {
            *hint = i;
            return &rows[i];
        }
    }
    return NULL;
}

/* RULES.md §2, the rate in force, over the ranges of the SQL view rate_schedule (rules_sql_agree
 * binds them). */
bool accrual_rate_on(const struct accrual_schedule *s, enum accrual_code code, int32_t day,
                     int64_t *amount_ore)
{
    size_t hint = 0;
    const struct accrual_rate *r = rate_row(s, code, day, &hint);
    if (r == NULL || !r->has_amount)
        return false;
    *amount_ore = r->amount_ore;
    return true;
}

struct out {
    struct accrual_line *lines;
    size_t cap, n;
};

static enum accrual_status emit(struct out *o, int32_t month, enum accrual_code code, int32_t days,
                                int64_t amount)
{
    if (o->n == o->cap)
        return ACCRUAL_TOO_MANY;
    o->lines[o->n++] = (struct accrual_line){month, code, days, amount};
    return ACCRUAL_OK;
}

static enum accrual_status no_rate(struct accrual_error *err, enum accrual_code code, int32_t day)
{
    char d[CIVIL_DATE_LEN + 1];
    civil_format(day, d);
    err->day = day;
    err->code = code;
    snprintf(err->message, sizeof err->message, "no %s rate in force on %s",
             accrual_code_name(code), d);
    return ACCRUAL_NO_RATE;
}

static enum accrual_status implausible(struct accrual_error *err, const char *why)
{
    err->day = ACCRUAL_NO_DAY;
    err->code = ACCRUAL_CODES;
    snprintf(err->message, sizeof err->message, "%s", why);
    return ACCRUAL_IMPLAUSIBLE;
}

/* Days [a, b) of one per-day code: one line per month, each summed over the rate rows it
 * crosses. */
static enum accrual_status add_days(struct out *o, const struct accrual_schedule *s,
                                    enum accrual_code code, int32_t a, int32_t b,
                                    struct accrual_error *err)
{
    size_t hint = 0;
    for (int32_t m = a; m < b;) {
        int32_t month_end = min32(civil_next_month_start(m), b);
        int64_t amount = 0;
        for (int32_t d = m; d < month_end;) {
            const struct accrual_rate *r = rate_row(s, code, d, &hint);
            if (r == NULL || !r->has_amount)
                return no_rate(err, code, d);
            int32_t seg_end = min32(r->to, month_end);
            int64_t seg;
            if (__builtin_mul_overflow((int64_t)(seg_end - d), r->amount_ore, &seg) ||
                __builtin_add_overflow(amount, seg, &amount))
                return implausible(err, "an amount owed is out of range (rates too large)");
            d = seg_end;
        }
        enum accrual_status st = emit(o, civil_month_start(m), code, month_end - m, amount);
        if (st != ACCRUAL_OK)
            return st;
        m = month_end;
    }
    return ACCRUAL_OK;
}

static int line_cmp(const void *pa, const void *pb)
{
    const struct accrual_line *a = pa, *b = pb;
    if (a->month != b->month)
        return a->month < b->month ? -1 : 1;
    return (int)a->code - (int)b->code;
}

enum accrual_status accrual_compute(const struct accrual_facts *f, const struct accrual_schedule *s,
                                    int32_t through, struct accrual_line *out, size_t cap,
                                    size_t *n, struct accrual_error *err)
{
    struct out o = {out, cap, 0};
    enum accrual_status st = ACCRUAL_OK;
    int32_t start = accrual_housing_start(f);
    int32_t end =
        min32(accrual_housing_end(f), through == ACCRUAL_OPEN ? ACCRUAL_OPEN : through + 1);

    *n = 0;
    if (start >= end)
        return ACCRUAL_OK; /* no day in housing: nothing at all, not even MOVE_IN */
    if (f->assigned_on < accrual_directive_start())
        return implausible(err, "assigned before the directive took effect (2022-03-04)");
    if (f->birth_date > f->assigned_on)
        return implausible(err, "birth date after the assignment");

    if (f->moved_in_on >= f->assigned_on) {
        int64_t amount;
        if (!accrual_rate_on(s, ACCRUAL_MOVE_IN, f->moved_in_on, &amount))
            return no_rate(err, ACCRUAL_MOVE_IN, f->moved_in_on);
        st = emit(&o, civil_month_start(f->moved_in_on), ACCRUAL_MOVE_IN, 0, amount);
    }
    int32_t adult = accrual_adult_from(f->birth_date);
    if (st == ACCRUAL_OK)
        st = add_days(&o, s, ACCRUAL_DAY_CHILD, start, min32(end, adult), err);
    if (st == ACCRUAL_OK)
        st = add_days(&o, s, ACCRUAL_DAY_ADULT, max32(start, adult), end, err);
    if (st == ACCRUAL_OK && f->former_uam)
        st = add_days(&o, s, ACCRUAL_DAY_FORMER_UAM, max32(start, adult), end, err);
    if (st == ACCRUAL_TOO_MANY)
        snprintf(err->message, sizeof err->message, "more than %zu lines", cap);
    if (st != ACCRUAL_OK)
        return st;
    qsort(out, o.n, sizeof *out, line_cmp);
    *n = o.n;
    return ACCRUAL_OK;
}

/* RULES.md §2, the place compensation; `places` is accrued_places from api.allocation_create. */
enum accrual_status accrual_allocation(int32_t decided_on, int64_t places,
                                       const struct accrual_schedule *s, int32_t through,
                                       struct accrual_line *out, size_t *n,
                                       struct accrual_error *err)
{
    int64_t amount;
    *n = 0;
    if (decided_on > through || places <= 0)
        return ACCRUAL_OK;
    if (!accrual_rate_on(s, ACCRUAL_ALLOCATION_PLACE, decided_on, &amount))
        return no_rate(err, ACCRUAL_ALLOCATION_PLACE, decided_on);
    int64_t owed;
    if (__builtin_mul_overflow(places, amount, &owed))
        return implausible(err, "an amount owed is out of range (rates too large)");
    out[0] =
        (struct accrual_line){civil_month_start(decided_on), ACCRUAL_ALLOCATION_PLACE, 0, owed};
    *n = 1;
    return ACCRUAL_OK;
}

static int month_code_cmp(int32_t ma, enum accrual_code ca, int32_t mb, enum accrual_code cb)
{
    if (ma != mb)
        return ma < mb ? -1 : 1;
    return (int)ca - (int)cb;
}

int accrual_posted_cmp(const void *pa, const void *pb)
{
    const struct accrual_posted *a = pa, *b = pb;
    int c = month_code_cmp(a->month, a->code, b->month, b->code);
    return c != 0 ? c : a->id < b->id ? -1 : a->id > b->id;
}

bool accrual_merge_next(struct accrual_merge *m, const struct accrual_line **owed,
                        const struct accrual_posted **posted)
{
    if (m->i == m->no && m->j == m->np)
        return false;
    int c = m->i == m->no   ? 1
            : m->j == m->np ? -1
                            : month_code_cmp(m->owed[m->i].month, m->owed[m->i].code,
                                             m->posted[m->j].month, m->posted[m->j].code);
    *owed = c <= 0 ? &m->owed[m->i++] : NULL;
    *posted = c >= 0 ? &m->posted[m->j++] : NULL;
    return true;
}

enum accrual_status accrual_diff(const struct accrual_line *owed, size_t no,
                                 const struct accrual_posted *posted, size_t np, int32_t through,
                                 struct accrual_line *out, size_t cap, size_t *n,
                                 struct accrual_error *err)
{
    struct out o = {out, cap, 0};
    struct accrual_merge m = {owed, no, posted, np, 0, 0};
    const struct accrual_line *ow;
    const struct accrual_posted *po;
    int32_t last = civil_month_start(through);
    *n = 0;
    while (accrual_merge_next(&m, &ow, &po)) {
        int32_t month = ow ? ow->month : po->month;
        enum accrual_code code = ow ? ow->code : po->code;
        int64_t want = ow ? ow->amount_ore : 0;
        int64_t have = po ? po->amount_ore : 0;
        int64_t delta;
        if (month > last)
            continue; /* after the run's through: never touched, whatever is posted */
        if (__builtin_sub_overflow(want, have, &delta))
            return implausible(err, "an amount owed or posted is out of range");
        if (delta == 0)
            continue;
        enum accrual_status st = emit(&o, month, code, 0, delta);
        if (st != ACCRUAL_OK) {
            snprintf(err->message, sizeof err->message, "more than %zu lines", cap);
            return st;
        }
    }
    *n = o.n;
    return ACCRUAL_OK;
}
