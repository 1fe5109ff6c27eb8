/* civil_date: proleptic Gregorian civil dates as day numbers (days since 1970-01-01). Pure. */
#ifndef RB_CIVIL_DATE_H
#define RB_CIVIL_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CIVIL_DATE_LEN 10 /* "YYYY-MM-DD" */

bool civil_is_leap(int year);
int civil_days_in_month(int year, int month);
int32_t civil_from_ymd(int year, int month, int day);
void civil_to_ymd(int32_t day, int *year, int *month, int *mday);
/* Strict "YYYY-MM-DD" (years 1900..9999, real calendar days only); len excludes any NUL. */
bool civil_parse(const char *s, size_t len, int32_t *out);
/* Writes "YYYY-MM-DD" and a NUL into out (at least CIVIL_DATE_LEN + 1 bytes). */
void civil_format(int32_t day, char *out);
/* The day a person born on `birth` turns `years`; a 29 February birthday falls on 1 March in a
 * common year. */
int32_t civil_birthday(int32_t birth, int years);
/* First day of the month holding `day`, and the first day of the next month. */
int32_t civil_month_start(int32_t day);
int32_t civil_next_month_start(int32_t day);

#endif
