/* sie: a writer for SIE 4E files, the Swedish exchange format that bookkeeping systems import.
 *
 * Pure: builds the file into a caller-owned strbuf, no I/O. The output is what the SIE 4B
 * specification (2008-09-30) asks for and what real exports look like
 * (tests/data/sie-examples/): CP437 ("#FORMAT PC8") bytes, CRLF line ends, records in the
 * order identification, chart of accounts, verifications. The writer knows nothing about our
 * ledger: the caller maps accounts to numbers and decides the texts.
 *
 * Usage: sie_init, sie_begin, sie_account for every account used, then per journal transaction
 * sie_ver_begin, sie_trans..., sie_ver_end, and last sie_finish; sie_free in every case.
 * Every call returns false once something went wrong (misuse, an unbalanced verification, an
 * account without #KONTO, out of memory); the first reason sticks in sie_error and the output
 * must then be thrown away.
 *
 * Texts are UTF-8 in, CP437 out: letters CP437 lacks become '?', invalid UTF-8 bytes become '?',
 * TAB/CR/LF become a space and other control characters are dropped. Every text field is
 * quoted; inside it a double quote is written \" and a backslash \\ where it could otherwise be
 * read as the start of an escape (before a quote or a backslash, or last in the field); any
 * other backslash stays single, as real files write it ("1820\A012") and readers expect. */
#ifndef RB_SIE_H
#define RB_SIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Longest amount sie_format_amount writes: "-92233720368547758.08" and a NUL. */
#define SIE_AMOUNT_LEN 22
/* Account numbers sie_account accepts: 0 .. SIE_ACCOUNT_MAX. */
#define SIE_ACCOUNT_MAX 999999999

struct sie_header {
    const char *program;        /* #PROGRAM: name of the generating program */
    const char *version;        /* #PROGRAM: its version */
    int32_t generated_on;       /* #GEN: civil day the file was generated */
    const char *company;        /* #FNAMN: the municipality's name */
    const char *orgnr;          /* #ORGNR ("212000-1355"), NULL to leave it out */
    const char *chart_type;     /* #KPTYP ("BAS2024"), NULL to leave it out */
    int32_t year_from, year_to; /* #RAR 0: the fiscal year, both days inclusive */
};

/* One entry of a #TRANS object list: dimension number (#DIM, 1 = cost centre, 6 = project …)
 * and the object's id in that dimension. */
struct sie_object {
    int dimension;
    const char *id;
};

/* The writer's state; its fields are private to sie.c. */
struct sie_writer {
    struct strbuf *out;
    int state;
    const char *error; /* the first failure, a static string; NULL while all is well */
    int *accounts;     /* sorted #KONTO numbers written so far */
    size_t naccounts, accounts_cap;
    int32_t ver_date;      /* date of the open #VER, also each #TRANS's transdat */
    int64_t ver_balance;   /* running sum of the open #VER's amounts */
    size_t ver_trans;      /* #TRANS lines in the open #VER */
    size_t vers;           /* #VER blocks closed so far */
    struct strbuf scratch; /* one text converted to CP437, before quoting */
};

/* Starts a writer appending to `out` (owned by the caller, which frees it). */
void sie_init(struct sie_writer *w, struct strbuf *out);
/* Releases what the writer allocated (not `out`); safe to call twice. */
void sie_free(struct sie_writer *w);

/* #FLAGGA, #PROGRAM, #FORMAT, #GEN, #SIETYP, #ORGNR, #FNAMN, #RAR 0, #KPTYP. */
bool sie_begin(struct sie_writer *w, const struct sie_header *h);
/* #KONTO: after sie_begin, before the first verification; each number once. */
bool sie_account(struct sie_writer *w, int number, const char *name);
/* #VER and its "{". A negative number writes "" (the importing system numbers it). */
bool sie_ver_begin(struct sie_writer *w, const char *series, long long number, int32_t date,
                   const char *text);
/* #TRANS: an account with a #KONTO, its objects (may be NULL when nobjects is 0), the amount in
 * öre (debit positive, credit negative), and an optional text (NULL for none). */
bool sie_trans(struct sie_writer *w, int account, const struct sie_object *objects, size_t nobjects,
               int64_t amount_ore, const char *text);
/* The "}" of the open verification; false when it has no #TRANS or does not sum to zero. */
bool sie_ver_end(struct sie_writer *w);
/* Checks that no verification is open; true when the whole file is good. */
bool sie_finish(struct sie_writer *w);
/* Why the writer failed, or NULL. */
const char *sie_error(const struct sie_writer *w);

/* Öre as kronor with two decimals: 0 → "0.00", -150 → "-1.50"; exact for every int64. */
void sie_format_amount(int64_t ore, char out[SIE_AMOUNT_LEN]);
/* Appends UTF-8 text converted to CP437 bytes (unquoted, unescaped; see the top of this file). */
void sie_cp437_append(struct strbuf *b, const char *utf8);

#endif
