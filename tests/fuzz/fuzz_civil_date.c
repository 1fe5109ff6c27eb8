/* fuzz_civil_date: civil_parse against civil_format, and the day-number arithmetic.
 *
 * Invariants: an accepted string is exactly what civil_format writes for its day (so the parser
 * takes one spelling per date, and only real dates of 1900..9999); for any day of that range,
 * format then parse gives the day back; civil_to_ymd and civil_from_ymd are inverse; month starts
 * and birthdays land where they should. */
#include "fuzz_util.h"

#include "civil_date.h"

static void check_day(int32_t day)
{
    char s[CIVIL_DATE_LEN + 1];
    int32_t back;
    int y, m, d;
    civil_to_ymd(day, &y, &m, &d);
    FUZZ_CHECK(m >= 1 && m <= 12 && d >= 1 && d <= civil_days_in_month(y, m), "day %d", day);
    FUZZ_CHECK(civil_from_ymd(y, m, d) == day, "day %d -> %d-%d-%d", day, y, m, d);
    int32_t ms = civil_month_start(day), next = civil_next_month_start(day);
    FUZZ_CHECK(ms <= day && day < next && next - ms == civil_days_in_month(y, m), "month of %d",
               day);
    if (y < 1900 || y > 9999)
        return;
    civil_format(day, s);
    FUZZ_CHECK(strlen(s) == CIVIL_DATE_LEN, "format of %d is '%s'", day, s);
    FUZZ_CHECK(civil_parse(s, strlen(s), &back) && back == day, "'%s' does not parse back to %d", s,
               day);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int32_t day;
    const int32_t lo = civil_from_ymd(1900, 1, 1), hi = civil_from_ymd(9999, 12, 31);

    /* 1. The parser on the raw bytes (not NUL-terminated: overreads show under ASan). */
    if (civil_parse((const char *)data, size, &day)) {
        char s[CIVIL_DATE_LEN + 1];
        FUZZ_CHECK(size == CIVIL_DATE_LEN, "accepted %zu bytes", size);
        FUZZ_CHECK(day >= lo && day <= hi, "accepted day %d out of range", day);
        civil_format(day, s);
        FUZZ_CHECK(memcmp(s, data, CIVIL_DATE_LEN) == 0, "'%.10s' parses to %d, formats as '%s'",
                   (const char *)data, day, s);
    }

    /* 2. The first bytes as a day number, folded into and around the supported range. */
    struct fuzz_in in = {data, size};
    uint32_t raw = fuzz_u32(&in);
    int32_t span = hi - lo + 1;
    check_day(lo + (int32_t)(raw % (uint32_t)span));
    check_day((int32_t)(raw % 8000000u) - 4000000); /* outside it too: no UB, still inverse */

    /* 3. Birthdays: the year moves by `years`, the day stays unless it is 29 February. */
    int32_t birth = lo + (int32_t)(fuzz_u32(&in) % (uint32_t)(span - 200 * 366));
    int years = fuzz_u8(&in) % 120;
    int by, bm, bd, ty, tm, td;
    civil_to_ymd(birth, &by, &bm, &bd);
    civil_to_ymd(civil_birthday(birth, years), &ty, &tm, &td);
    FUZZ_CHECK(ty == by + years, "birthday year %d of %d + %d", ty, by, years);
    if (bm == 2 && bd == 29 && !civil_is_leap(ty))
        FUZZ_CHECK(tm == 3 && td == 1, "29 February in a common year gave %d-%d", tm, td);
    else
        FUZZ_CHECK(tm == bm && td == bd, "birthday %d-%d became %d-%d", bm, bd, tm, td);
    return 0;
}
