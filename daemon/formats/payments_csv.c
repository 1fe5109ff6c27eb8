/* payments_csv: the payment-list parser; the accepted format is documented in payments_csv.h. */
#include "payments_csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "grow.h"
#include "utf8.h"

#define NCOLS 7
#define BLOCK_SIZE 65536

enum { COL_MUNI, COL_DOSSIER, COL_MONTH, COL_CODE, COL_AMOUNT, COL_PAID, COL_REF };

static const char *const columns[NCOLS] = {
    "municipality", "dossier_number", "month", "code", "amount_ore", "paid_on", "reference",
};

/* References live in fixed blocks so that pointers to them stay valid while more are added. */
struct payments_csv_block {
    struct payments_csv_block *next;
    size_t used;
    char data[BLOCK_SIZE];
};

struct field {
    const char *p;
    size_t len;
};

/* The state of one parse. */
struct parser {
    struct payments_csv_result *res;
    size_t lineno;
    const char *last_ref; /* the previous line's reference: lists repeat one reference */
    size_t last_ref_len;
    char buf[PAYMENTS_CSV_MAX_LINE_LEN + 1]; /* one line's fields, unquoted */
};

static void add_error(struct payments_csv_result *res, size_t line, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add_error(struct payments_csv_result *res, size_t line, const char *field,
                      const char *fmt, ...)
{
    res->errors_total++;
    if (res->nerrors >= PAYMENTS_CSV_MAX_ERRORS || res->oom)
        return;
    void *grown = grow_array(res->errors, &res->errors_cap, res->nerrors, sizeof *res->errors, 16);
    if (grown == NULL) {
        res->oom = true;
        return;
    }
    res->errors = grown;
    struct payments_csv_error *e = &res->errors[res->nerrors++];
    e->line = line;
    e->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* An empty row as spreadsheets write it: nothing but spaces, tabs and separators. */
static bool blank_line(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_ws(s[i]) && s[i] != ';')
            return false;
    }
    return true;
}

/* Splits one line into fields, unquoting into p->buf (never longer than the line). Stores at
 * most NCOLS fields and returns how many there were, or -1 with *why set when the quoting is
 * broken, since then not even the field boundaries are known. */
static int split(struct parser *p, const unsigned char *s, size_t n, struct field *f,
                 const char **why)
{
    char *buf = p->buf;
    size_t i = 0, o = 0;
    int nf = 0;
    for (;;) {
        while (i < n && is_ws(s[i]))
            i++;
        size_t start = o;
        if (i < n && s[i] == '"') {
            i++;
            for (;;) {
                if (i >= n) {
                    *why = "a quoted field has no closing quote (fields cannot span lines)";
                    return -1;
                }
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        buf[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                buf[o++] = (char)s[i++];
            }
            while (i < n && is_ws(s[i]))
                i++;
            if (i < n && s[i] != ';') {
                *why = "text after a closing quote; write a quote inside a field as \"\"";
                return -1;
            }
        } else {
            while (i < n && s[i] != ';') {
                if (s[i] == '"') {
                    *why = "a quote inside an unquoted field; quote the field and double the quote";
                    return -1;
                }
                buf[o++] = (char)s[i++];
            }
            while (o > start && is_ws((unsigned char)buf[o - 1]))
                o--;
        }
        if (nf < NCOLS)
            f[nf] = (struct field){buf + start, o - start};
        nf++;
        if (i >= n)
            return nf;
        i++; /* the ';' */
    }
}

static bool field_is(struct field f, const char *s)
{
    return f.len == strlen(s) && memcmp(f.p, s, f.len) == 0;
}

/* Checks the header; false stops the parse, since without it the columns mean nothing. */
static bool check_header(struct parser *p, const unsigned char *s, size_t n)
{
    struct field f[NCOLS];
    const char *why = NULL;
    int nf = split(p, s, n, f, &why);
    if (nf < 0) {
        add_error(p->res, p->lineno, NULL, "header: %s", why);
        return false;
    }
    if (nf != NCOLS) {
        bool commas = nf == 1 && memchr(s, ',', n) != NULL;
        add_error(p->res, p->lineno, NULL, "header has %d column%s, expected 7: %s%s", nf,
                  nf == 1 ? "" : "s", PAYMENTS_CSV_HEADER,
                  commas ? " (separated by semicolons, not commas)" : "");
        return false;
    }
    bool ok = true;
    for (int i = 0; i < NCOLS; i++) {
        if (!field_is(f[i], columns[i])) {
            add_error(p->res, p->lineno, columns[i],
                      "header column %d must be %s (names are case-sensitive)", i + 1, columns[i]);
            ok = false;
        }
    }
    return ok;
}

/* Parses a strict "YYYY-MM" into the civil day of the month's first day. */
static bool parse_month(struct field f, int32_t *out)
{
    char tmp[CIVIL_DATE_LEN + 1];
    if (f.len != 7 || f.p[4] != '-')
        return false;
    memcpy(tmp, f.p, 7);
    memcpy(tmp + 7, "-01", 4);
    return civil_parse(tmp, CIVIL_DATE_LEN, out);
}

/* An optionally signed decimal integer within ±PAYMENTS_CSV_AMOUNT_MAX. Returns NULL, or why
 * not; the bound is checked digit by digit, so no input overflows. */
static const char *parse_amount(struct field f, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (f.len == 0)
        return "is required";
    if (f.p[0] == '-' || f.p[0] == '+') {
        neg = f.p[0] == '-';
        i++;
    }
    if (i == f.len)
        return "must be a whole number of öre";
    int64_t v = 0;
    bool too_big = false;
    for (; i < f.len; i++) {
        unsigned char c = (unsigned char)f.p[i];
        if (c == '.' || c == ',')
            return "must be whole öre without decimals (1 krona = 100 öre)";
        if (!is_digit(c))
            return "must be a whole number of öre (digits, optionally signed)";
        if (!too_big) {
            v = v * 10 + (c - '0');
            too_big = v > PAYMENTS_CSV_AMOUNT_MAX;
        }
    }
    if (too_big)
        return "must be between -100000000000 and 100000000000 öre (10^11) per line";
    *out = neg ? -v : v;
    return NULL;
}

static const char *check_dossier(struct field f)
{
    if (f.len > PAYMENTS_CSV_DOSSIER_MAX)
        return "must be at most 32 characters";
    for (size_t i = 0; i < f.len; i++) {
        unsigned char c = (unsigned char)f.p[i];
        if (!is_digit(c) && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && c != '-')
            return "may hold only letters A-Z, digits and '-'";
    }
    return NULL;
}

/* Printable UTF-8: well-formed, no C0/C1 controls or DEL, 1..64 code points, no space at
 * either end (a reference is part of a payment line's identity, so invisible differences must
 * not make two references). */
static const char *check_reference(struct field f)
{
    const unsigned char *s = (const unsigned char *)f.p;
    size_t chars = 0;
    if (f.len == 0)
        return "is required";
    if (s[0] == ' ' || s[f.len - 1] == ' ')
        return "must not begin or end with a space";
    for (size_t i = 0; i < f.len; chars++) {
        uint32_t v;
        size_t len = utf8_decode(s + i, f.len - i, &v);
        if (len == 0)
            return "must be UTF-8 text";
        if (v < 0x20 || (v >= 0x7F && v <= 0x9F))
            return "must not contain control characters";
        i += len;
    }
    if (chars > PAYMENTS_CSV_REFERENCE_MAX)
        return "must be at most 64 characters";
    return NULL;
}

/* A copy of the reference that outlives the input, shared with the previous line's when equal. */
static const char *keep_reference(struct parser *p, struct field f)
{
    struct payments_csv_result *res = p->res;
    if (p->last_ref != NULL && p->last_ref_len == f.len && memcmp(p->last_ref, f.p, f.len) == 0)
        return p->last_ref;
    struct payments_csv_block *b = res->blocks;
    if (b == NULL || BLOCK_SIZE - b->used < f.len + 1) {
        b = malloc(sizeof *b);
        if (b == NULL)
            return NULL;
        b->next = res->blocks;
        b->used = 0;
        res->blocks = b;
    }
    char *s = b->data + b->used;
    memcpy(s, f.p, f.len);
    s[f.len] = '\0';
    b->used += f.len + 1;
    p->last_ref = s;
    p->last_ref_len = f.len;
    return s;
}

static bool add_line(struct payments_csv_result *res, const struct payments_csv_line *l)
{
    void *grown = grow_array(res->lines, &res->lines_cap, res->nlines, sizeof *res->lines, 256);
    if (grown == NULL)
        return false;
    res->lines = grown;
    res->lines[res->nlines++] = *l;
    return true;
}

/* Validates one payment line, reporting every bad field; keeps the line only while the file
 * has no errors at all, since a file with any error is refused whole. */
static void check_line(struct parser *p, const unsigned char *s, size_t n)
{
    struct payments_csv_result *res = p->res;
    struct field f[NCOLS];
    const char *why = NULL;
    int nf = split(p, s, n, f, &why);
    if (nf < 0) {
        add_error(res, p->lineno, NULL, "%s", why);
        return;
    }
    if (nf != NCOLS) {
        add_error(res, p->lineno, NULL, "has %d field%s, expected 7 separated by semicolons", nf,
                  nf == 1 ? "" : "s");
        return;
    }
    struct payments_csv_line l = {.line = p->lineno};
    /* The code first, since the dossier rule depends on it; errors still go in column order. */
    bool code_ok = false;
    for (int c = 0; c < ACCRUAL_CODES && !code_ok; c++) {
        if (field_is(f[COL_CODE], accrual_code_name((enum accrual_code)c))) {
            l.code = (enum accrual_code)c;
            code_ok = true;
        }
    }

    struct field m = f[COL_MUNI];
    if (m.len != 4 || !is_digit(m.p[0]) || !is_digit(m.p[1]) || !is_digit(m.p[2]) ||
        !is_digit(m.p[3]))
        add_error(res, p->lineno, columns[COL_MUNI], "must be a 4-digit municipality code");
    else
        memcpy(l.municipality, m.p, 4);

    struct field d = f[COL_DOSSIER];
    if (code_ok && l.code == ACCRUAL_ALLOCATION_PLACE && d.len > 0)
        why = "must be empty for ALLOCATION_PLACE, which is paid per municipality";
    else if (code_ok && l.code != ACCRUAL_ALLOCATION_PLACE && d.len == 0)
        why = "is required for every code except ALLOCATION_PLACE";
    else
        why = check_dossier(d);
    if (why != NULL)
        add_error(res, p->lineno, columns[COL_DOSSIER], "%s", why);
    else
        memcpy(l.dossier_number, d.p, d.len);

    if (!parse_month(f[COL_MONTH], &l.month))
        add_error(res, p->lineno, columns[COL_MONTH], "must be a month YYYY-MM");

    if (!code_ok)
        add_error(res, p->lineno, columns[COL_CODE],
                  "must be one of MOVE_IN, DAY_CHILD, DAY_ADULT, DAY_FORMER_UAM, "
                  "ALLOCATION_PLACE");

    why = parse_amount(f[COL_AMOUNT], &l.amount_ore);
    if (why != NULL)
        add_error(res, p->lineno, columns[COL_AMOUNT], "%s", why);

    if (!civil_parse(f[COL_PAID].p, f[COL_PAID].len, &l.paid_on))
        add_error(res, p->lineno, columns[COL_PAID], "must be a date YYYY-MM-DD");

    why = check_reference(f[COL_REF]);
    if (why != NULL)
        add_error(res, p->lineno, columns[COL_REF], "%s", why);

    if (res->errors_total > 0 || res->oom)
        return;
    l.reference = keep_reference(p, f[COL_REF]);
    if (l.reference == NULL || !add_line(res, &l))
        res->oom = true;
}

static void free_blocks(struct payments_csv_result *res)
{
    while (res->blocks != NULL) {
        struct payments_csv_block *next = res->blocks->next;
        free(res->blocks);
        res->blocks = next;
    }
}

bool payments_csv_parse(const void *data, size_t len, struct payments_csv_result *res)
{
    memset(res, 0, sizeof *res);
    struct parser parser = {.res = res};
    struct parser *p = &parser;
    const unsigned char *s = data;
    const unsigned char *end = len > 0 ? s + len : s; /* no arithmetic on a NULL data */
    bool utf16 = len >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF));
    if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        s += 3;
    if (utf16)
        add_error(res, 1, NULL, "the file is UTF-16; save it as UTF-8 (CSV UTF-8)");

    size_t header_line = 0, payment_lines = 0;
    while (!utf16 && s < end && !res->oom) {
        const unsigned char *line = s;
        const unsigned char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = (size_t)((nl != NULL ? nl : end) - s);
        s = nl != NULL ? nl + 1 : end;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        p->lineno++;
        if (blank_line(line, n))
            continue;
        if (n > PAYMENTS_CSV_MAX_LINE_LEN) {
            add_error(res, p->lineno, NULL, "line is longer than %d bytes",
                      PAYMENTS_CSV_MAX_LINE_LEN);
            if (header_line == 0)
                break; /* that was meant to be the header: nothing after it can be read */
        } else if (header_line == 0) {
            if (!check_header(p, line, n))
                break;
            header_line = p->lineno;
        } else if (payment_lines == PAYMENTS_CSV_MAX_LINES) {
            add_error(res, p->lineno, NULL, "more than %d payment lines; split the file",
                      PAYMENTS_CSV_MAX_LINES);
            break;
        } else {
            payment_lines++;
            check_line(p, line, n);
        }
    }
    if (res->errors_total == 0 && header_line == 0)
        add_error(res, 1, NULL, "the file is empty; expected the header %s", PAYMENTS_CSV_HEADER);
    else if (res->errors_total == 0 && payment_lines == 0)
        add_error(res, header_line + 1, NULL, "the file has no payment lines after the header");
    if (res->errors_total == 0 && !res->oom)
        return true;
    free(res->lines);
    res->lines = NULL;
    res->nlines = res->lines_cap = 0;
    free_blocks(res);
    return false;
}

void payments_csv_free(struct payments_csv_result *res)
{
    free(res->lines);
    free(res->errors);
    free_blocks(res);
    memset(res, 0, sizeof *res);
}
