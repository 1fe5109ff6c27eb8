/* api_params: checks of path and query parameters; see api_params.h. */
#include "api_params.h"

#include "civil_date.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool api_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 18 || id[0] == '0')
        return false;
    return strspn(id, "0123456789") == n;
}

bool api_limit_parse(const char *s, char *out, size_t outlen)
{
    char *end;
    if (s == NULL) {
        snprintf(out, outlen, "100");
        return true;
    }
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || n < 1 || n > 1000)
        return false;
    snprintf(out, outlen, "%ld", n);
    return true;
}

bool api_municipality_valid(const char *s)
{
    return s != NULL && strlen(s) == 4 && strspn(s, "0123456789") == 4;
}

/* Two digits at s with a value of at most max. */
static bool two_digits(const char *s, int max)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return false;
    return (s[0] - '0') * 10 + (s[1] - '0') <= max;
}

/* A '+' that arrived unescaped in the query string reads as a space, and is taken back as '+'. */
bool api_timestamp_valid(char *s)
{
    int32_t d;
    size_t n = strlen(s);
    if (n < 20 || n > 40 || !civil_parse(s, 10, &d) || (s[10] != 'T' && s[10] != 't'))
        return false;
    if (!two_digits(s + 11, 23) || s[13] != ':' || !two_digits(s + 14, 59) || s[16] != ':' ||
        !two_digits(s + 17, 60))
        return false;
    size_t i = 19;
    if (s[i] == '.') {
        i++;
        if (s[i] < '0' || s[i] > '9')
            return false;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (s[i] == 'Z' || s[i] == 'z')
        return s[i + 1] == '\0';
    if (s[i] == ' ')
        s[i] = '+';
    if ((s[i] != '+' && s[i] != '-') || n - i != 6)
        return false;
    return two_digits(s + i + 1, 15) && s[i + 3] == ':' && two_digits(s + i + 4, 59);
}

bool api_cursor_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

void api_param_name_shown(const char *name, char *out, size_t max)
{
    size_t n = 0;
    for (; n < max && name[n] != '\0'; n++)
        out[n] = name[n] >= 0x20 && name[n] < 0x7f ? name[n] : '?';
    out[n] = '\0';
}
