/* An own Gregorian calendar for the unit tests, written independently of daemon/rules/civil_date.c
 * so that the tests check civil_date against something it does not share. */
#ifndef RB_TESTS_REF_CALENDAR_H
#define RB_TESTS_REF_CALENDAR_H

#include <stdbool.h>

static inline bool ref_leap(int y)
{
    if (y % 400 == 0)
        return true;
    if (y % 100 == 0)
        return false;
    return y % 4 == 0;
}

/* Days in month m (1..12) of year y. */
static inline int ref_mdays(int y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && ref_leap(y) ? 29 : len[m - 1];
}

#endif
