/* civil_date: day-number arithmetic for civil dates (Howard Hinnant's days_from_civil algorithm).
 */
#include "civil_date.h"

#include <stdio.h>

bool civil_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int civil_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    return month == 2 && civil_is_leap(year) ? 29 : days[month - 1];
}

int32_t civil_from_ymd(int year, int month, int day)
{
    int y = month <= 2 ? year - 1 : year;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy =
        (153u * (unsigned)(month > 2 ? month - 3 : month + 9) + 2u) / 5u + (unsigned)day - 1u;
    unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void civil_to_ymd(int32_t day, int *year, int *month, int *mday)
{
    int32_t z = day + 719468;
    int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    unsigned doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
    unsigned mp = (5u * doy + 2u) / 153u;
    unsigned d = doy - (153u * mp + 2u) / 5u + 1u;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)yoe + era * 400 + (m <= 2 ? 1 : 0);
    *month = m;
    *mday = (int)d;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool civil_parse(const char *s, size_t len, int32_t *out)
{
    int y, m, d;
    if (s == NULL || len != CIVIL_DATE_LEN || s[4] != '-' || s[7] != '-')
        return false;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
        return false;
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > civil_days_in_month(y, m))
        return false;
    *out = civil_from_ymd(y, m, d);
    return true;
}

void civil_format(int32_t day, char *out)
{
    int y, m, d;
    civil_to_ymd(day, &y, &m, &d);
    snprintf(out, CIVIL_DATE_LEN + 1, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
}

int32_t civil_birthday(int32_t birth, int years)
{
    int y, m, d;
    civil_to_ymd(birth, &y, &m, &d);
    y += years;
    if (m == 2 && d == 29 && !civil_is_leap(y)) {
        m = 3;
        d = 1;
    }
    return civil_from_ymd(y, m, d);
}

int32_t civil_month_start(int32_t day)
{
    int y, m, d;
    civil_to_ymd(day, &y, &m, &d);
    return civil_from_ymd(y, m, 1);
}

int32_t civil_next_month_start(int32_t day)
{
    int y, m, d;
    civil_to_ymd(day, &y, &m, &d);
    return m == 12 ? civil_from_ymd(y + 1, 1, 1) : civil_from_ymd(y, m + 1, 1);
}
