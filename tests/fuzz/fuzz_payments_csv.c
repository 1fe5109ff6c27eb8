/* fuzz_payments_csv: payments_csv_parse on arbitrary bytes.
 *
 * Invariants. Accepted: no errors; every line holds what the format allows (4-digit
 * municipality, dossier of A-Z a-z 0-9 '-' that is empty exactly on ALLOCATION_PLACE, a month's
 * first day, |amount| <= 10^11, a real paid_on, a reference of 1..64 printable UTF-8 characters
 * without a space at either end), line numbers rise; and writing the lines back as a CSV file and
 * parsing it again gives the same lines. Refused: at least one error, none kept beyond the cap,
 * errors_total >= nerrors, no lines, line numbers within the file, in order, every message set and
 * every field a column name. */
#include "fuzz_util.h"

#include "civil_date.h"
#include "payments_csv.h"

static const char *const columns[] = {
    "municipality", "dossier_number", "month", "code", "amount_ore", "paid_on", "reference", NULL,
};

static void check_line(const struct payments_csv_line *l)
{
    const int32_t lo = civil_from_ymd(1900, 1, 1), hi = civil_from_ymd(9999, 12, 31);
    FUZZ_CHECK(strlen(l->municipality) == 4 && strspn(l->municipality, "0123456789") == 4,
               "line %zu municipality '%s'", l->line, l->municipality);
    size_t dl = strlen(l->dossier_number);
    FUZZ_CHECK(dl <= PAYMENTS_CSV_DOSSIER_MAX &&
                   strspn(l->dossier_number, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789-") == dl,
               "line %zu dossier '%s'", l->line, l->dossier_number);
    FUZZ_CHECK((int)l->code >= 0 && (int)l->code < ACCRUAL_CODES, "line %zu code %d", l->line,
               (int)l->code);
    FUZZ_CHECK((dl == 0) == (l->code == ACCRUAL_ALLOCATION_PLACE), "line %zu dossier vs code",
               l->line);
    FUZZ_CHECK(l->month >= lo && l->month <= hi && civil_month_start(l->month) == l->month,
               "line %zu month %d", l->line, l->month);
    FUZZ_CHECK(l->paid_on >= lo && l->paid_on <= hi, "line %zu paid_on %d", l->line, l->paid_on);
    FUZZ_CHECK(l->amount_ore >= -PAYMENTS_CSV_AMOUNT_MAX &&
                   l->amount_ore <= PAYMENTS_CSV_AMOUNT_MAX,
               "line %zu amount %lld", l->line, (long long)l->amount_ore);
    const unsigned char *r = (const unsigned char *)l->reference;
    FUZZ_CHECK(r != NULL && r[0] != '\0', "line %zu has no reference", l->line);
    size_t rl = strlen(l->reference), chars = 0;
    FUZZ_CHECK(fuzz_utf8_valid(r, rl), "line %zu reference is not UTF-8", l->line);
    FUZZ_CHECK(r[0] != ' ' && r[rl - 1] != ' ', "line %zu reference has an outer space", l->line);
    for (size_t i = 0; i < rl; i++) {
        FUZZ_CHECK(r[i] >= 0x20 && r[i] != 0x7F, "line %zu reference holds byte %u", l->line, r[i]);
        FUZZ_CHECK(!(r[i] == 0xC2 && i + 1 < rl && r[i + 1] <= 0x9F),
                   "line %zu reference holds a C1 control", l->line);
        chars += (r[i] & 0xC0) != 0x80;
    }
    FUZZ_CHECK(chars >= 1 && chars <= PAYMENTS_CSV_REFERENCE_MAX, "line %zu reference of %zu chars",
               l->line, chars);
}

/* The accepted lines as a CSV file again: every field quoted where it could need it. */
static char *write_back(const struct payments_csv_result *res, size_t *len)
{
    size_t cap = 128 + res->nlines * (4 + 1 + 34 + 1 + 8 + 1 + 20 + 1 + 16 + 1 + 12 + 2 * 256 + 4);
    char *out = malloc(cap), *o = out;
    if (out == NULL)
        abort();
    o += sprintf(o, "%s\r\n", PAYMENTS_CSV_HEADER);
    for (size_t i = 0; i < res->nlines; i++) {
        const struct payments_csv_line *l = &res->lines[i];
        char month[CIVIL_DATE_LEN + 1], paid[CIVIL_DATE_LEN + 1];
        civil_format(l->month, month);
        civil_format(l->paid_on, paid);
        o += sprintf(o, "%s; %s ;%.7s;\"%s\";%+lld;%s;\"", l->municipality, l->dossier_number,
                     month, accrual_code_name(l->code), (long long)l->amount_ore, paid);
        for (const char *r = l->reference; *r != '\0'; r++) {
            if (*r == '"')
                *o++ = '"';
            *o++ = *r;
        }
        o += sprintf(o, "\"%s", i % 2 ? "\n" : "\r\n");
    }
    *len = (size_t)(o - out);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct payments_csv_result res;
    size_t physical = 1;
    for (size_t i = 0; i < size; i++)
        physical += data[i] == '\n';

    if (!payments_csv_parse(data, size, &res)) {
        if (!res.oom) {
            FUZZ_CHECK(res.nerrors >= 1 && res.nerrors <= PAYMENTS_CSV_MAX_ERRORS,
                       "refused with %zu errors kept", res.nerrors);
            FUZZ_CHECK(res.errors_total >= res.nerrors, "errors_total %zu < %zu", res.errors_total,
                       res.nerrors);
        }
        FUZZ_CHECK(res.nlines == 0 && res.lines == NULL, "refused but %zu lines", res.nlines);
        for (size_t i = 0; i < res.nerrors; i++) {
            const struct payments_csv_error *e = &res.errors[i];
            FUZZ_CHECK(e->line >= 1 && e->line <= physical + 1, "error line %zu of %zu", e->line,
                       physical);
            FUZZ_CHECK(i == 0 || e->line >= res.errors[i - 1].line, "errors out of order");
            FUZZ_CHECK(e->message[0] != '\0' && memchr(e->message, '\0', sizeof e->message),
                       "error message not set");
            FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)e->message, strlen(e->message)),
                       "error message is not UTF-8: %s", e->message);
            bool known = e->field == NULL;
            for (size_t k = 0; !known && columns[k] != NULL; k++)
                known = strcmp(columns[k], e->field) == 0;
            FUZZ_CHECK(known, "error field '%s'", e->field);
        }
        payments_csv_free(&res);
        return 0;
    }
    FUZZ_CHECK(res.nerrors == 0 && res.errors_total == 0 && res.nlines >= 1,
               "accepted with %zu errors, %zu lines", res.errors_total, res.nlines);
    FUZZ_CHECK(res.nlines <= PAYMENTS_CSV_MAX_LINES, "%zu lines", res.nlines);
    for (size_t i = 0; i < res.nlines; i++) {
        check_line(&res.lines[i]);
        FUZZ_CHECK(res.lines[i].line >= 2 && res.lines[i].line <= physical, "line number %zu",
                   res.lines[i].line);
        FUZZ_CHECK(i == 0 || res.lines[i].line > res.lines[i - 1].line, "line numbers not rising");
    }

    size_t len;
    char *again_text = write_back(&res, &len);
    struct payments_csv_result again;
    bool ok = payments_csv_parse(again_text, len, &again);
    FUZZ_CHECK(ok, "the written-back list is refused: line %zu: %s",
               again.nerrors ? again.errors[0].line : 0,
               again.nerrors ? again.errors[0].message : "");
    FUZZ_CHECK(again.nlines == res.nlines, "%zu lines became %zu", res.nlines, again.nlines);
    for (size_t i = 0; i < res.nlines; i++) {
        const struct payments_csv_line *a = &res.lines[i], *b = &again.lines[i];
        FUZZ_CHECK(b->line == i + 2 && strcmp(a->municipality, b->municipality) == 0 &&
                       strcmp(a->dossier_number, b->dossier_number) == 0 && a->month == b->month &&
                       a->code == b->code && a->amount_ore == b->amount_ore &&
                       a->paid_on == b->paid_on && strcmp(a->reference, b->reference) == 0,
                   "line %zu differs after the round trip", a->line);
    }
    payments_csv_free(&again);
    free(again_text);
    payments_csv_free(&res);
    return 0;
}
