/* ledger_sie: the ledger's journals as an SIE 4E file, through a configurable chart of accounts.
 * Pure; used by the API export and by the nightly report. */
#ifndef RB_LEDGER_SIE_H
#define RB_LEDGER_SIE_H

#include "accrual.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where each ledger account lands in the municipality's chart (BAS-style numbers). */
struct ledger_chart {
    int receivable;                  /* owed by the state */
    int bank;                        /* received */
    int reclaim;                     /* expected återkrav */
    int compensation[ACCRUAL_CODES]; /* income per compensation code */
    int compensation_other;          /* income without a code (lump sums) */
};

/* Defaults (documented in README): receivable 1513, bank 1930, reclaim 2890, compensation
 * ALLOCATION_PLACE 3911, MOVE_IN 3912, DAY_CHILD 3913, DAY_ADULT 3914, DAY_FORMER_UAM 3915,
 * other 3919. */
void ledger_chart_defaults(struct ledger_chart *c);
/* Overrides from "name=number,name=number" where name is receivable, bank, reclaim, other or a
 * compensation code. */
bool ledger_chart_parse(const char *spec, struct ledger_chart *c, char *err, size_t errlen);

struct ledger_sie_posting {
    long long journal_id;
    bool payment;           /* a payment journal (else an accrual) */
    const char *cause;      /* the journal's text */
    int32_t recorded_on;    /* civil day the journal was recorded (Stockholm) */
    int32_t service_month;  /* first day, or ACCRUAL_NO_DAY */
    const char *account;    /* receivable, compensation, bank, reclaim */
    const char *code;       /* or NULL */
    long long placement_id; /* 0 when none */
    int64_t amount_ore;
};

struct ledger_sie_file {
    const char *municipality;   /* code, e.g. "1480" */
    const char *name;           /* e.g. "Göteborg" */
    int32_t year_from, year_to; /* #RAR 0 */
    int32_t generated_on;
};

/* Writes the file: postings must be ordered by journal; one #VER per journal. */
bool ledger_sie_write(struct strbuf *out, const struct ledger_sie_file *f,
                      const struct ledger_chart *chart, const struct ledger_sie_posting *p,
                      size_t n, char *err, size_t errlen);

#endif
