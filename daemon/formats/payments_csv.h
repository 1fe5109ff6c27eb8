/* payments_csv: parses and validates a Migrationsverket payment list (CSV) held in memory. Pure.
 *
 * The format (issue 4, RULES.md §3):
 *   municipality;dossier_number;month;code;amount_ore;paid_on;reference
 *   1480;MV-123-456;2024-03;DAY_ADULT;930000;2024-04-25;UTB-2024-04
 *   1480;;2024-01;ALLOCATION_PLACE;40000000;2024-04-25;UTB-2024-04
 * - UTF-8, with or without a byte-order mark; lines end in LF or CRLF (mixed is fine); the last
 *   line may lack its line end. A UTF-16 file is refused with a message saying so.
 * - The first non-blank line is the header: exactly those seven names in that order,
 *   case-sensitive; spaces or tabs around a name are ignored, and names may be quoted.
 * - Fields are separated by ';' and may be quoted with '"' ("" is a quote inside); spaces and
 *   tabs around a field, outside its quotes, are ignored. A quoted field cannot span lines.
 * - Blank lines are skipped but still counted: an empty line, or one of only spaces, tabs and
 *   semicolons (what a spreadsheet writes for an empty row).
 * - Line numbers are physical lines of the file, the header normally being line 1, so they
 *   match the row numbers a spreadsheet shows.
 * - Per line: municipality 4 digits; dossier_number 1..32 of A-Z a-z 0-9 '-', required for every
 *   code except ALLOCATION_PLACE, for which it must be empty (paid per municipality); month
 *   YYYY-MM; code MOVE_IN, DAY_CHILD, DAY_ADULT, DAY_FORMER_UAM or ALLOCATION_PLACE (upper
 *   case); amount_ore an integer with optional sign, no decimals, |amount| <= 10^11 (negative:
 *   the state nets its reclaims); paid_on a real date YYYY-MM-DD; reference 1..64 characters of
 *   printable UTF-8, not beginning or ending with a space.
 * - Limits: PAYMENTS_CSV_MAX_LINES payment lines and PAYMENTS_CSV_MAX_LINE_LEN bytes per line;
 *   more is an error, not a crash.
 * The whole file is checked and every problem reported (line, column, message) so that one
 * 422 lists them all; only the first PAYMENTS_CSV_MAX_ERRORS are kept, errors_total counts all.
 * A wrong header is reported alone: without it the columns mean nothing. Messages never repeat
 * the offending value (it could be a dossier number, or bytes that are not UTF-8). */
#ifndef RB_PAYMENTS_CSV_H
#define RB_PAYMENTS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accrual.h"

#define PAYMENTS_CSV_HEADER "municipality;dossier_number;month;code;amount_ore;paid_on;reference"
#define PAYMENTS_CSV_MAX_LINES 200000  /* payment lines (header and blank lines not counted) */
#define PAYMENTS_CSV_MAX_LINE_LEN 4096 /* bytes, the line end not counted */
#define PAYMENTS_CSV_MAX_ERRORS 1000   /* errors kept; errors_total counts the rest */
#define PAYMENTS_CSV_DOSSIER_MAX 32    /* bytes */
#define PAYMENTS_CSV_REFERENCE_MAX 64  /* characters (code points) */
/* |öre| of one payment line, in a list or a manual payment: 10^11 (one thousand million kronor).
 * With at most PAYMENTS_CSV_MAX_LINES lines, no list's total can leave int64 (2 * 10^16 at most),
 * so a list is summed exactly and needs no limit of its own. */
#define PAYMENTS_AMOUNT_MAX 100000000000LL
#define PAYMENTS_CSV_AMOUNT_MAX PAYMENTS_AMOUNT_MAX
_Static_assert(PAYMENTS_CSV_MAX_LINES *PAYMENTS_AMOUNT_MAX < INT64_MAX / 256,
               "a payment list's total must fit in int64 with room to spare");
#define PAYMENTS_CSV_MESSAGE_LEN 128

struct payments_csv_line {
    size_t line;                                       /* line number in the file */
    char municipality[5];                              /* four digits */
    char dossier_number[PAYMENTS_CSV_DOSSIER_MAX + 1]; /* "" on an ALLOCATION_PLACE line */
    int32_t month; /* civil day number of the month's first day */
    enum accrual_code code;
    int64_t amount_ore;
    int32_t paid_on;       /* civil day number */
    const char *reference; /* UTF-8, owned by the result */
};

struct payments_csv_error {
    size_t line;       /* line number in the file (1 = the header) */
    const char *field; /* the column's name, or NULL when the whole line or file is at fault */
    char message[PAYMENTS_CSV_MESSAGE_LEN];
};

struct payments_csv_block; /* storage for the references */

struct payments_csv_result {
    struct payments_csv_line *lines; /* in file order; only when the parse succeeded */
    size_t nlines;
    struct payments_csv_error *errors; /* in file order */
    size_t nerrors;                    /* kept, at most PAYMENTS_CSV_MAX_ERRORS */
    size_t errors_total;               /* found; more than nerrors when the list was cut */
    bool oom; /* ran out of memory: neither lines nor errors are complete */
    /* private */
    size_t lines_cap, errors_cap;
    struct payments_csv_block *blocks;
};

/* Parses and validates `len` bytes. True when the file is good: `lines` holds every payment line.
 * False when it is not (`errors` says why, `lines` is empty) or when memory ran out (`oom`).
 * Always call payments_csv_free afterwards. */
bool payments_csv_parse(const void *data, size_t len, struct payments_csv_result *res);
void payments_csv_free(struct payments_csv_result *res);

#endif
