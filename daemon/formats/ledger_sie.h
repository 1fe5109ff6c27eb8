/* ledger_sie: the ledger's journals as an SIE 4E file, through a configurable chart of accounts.
 * Pure; used by the API export and by the nightly report. */
#ifndef RB_LEDGER_SIE_H
#define RB_LEDGER_SIE_H

#include "accrual.h"
#include "sie.h"
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

/* The same file written piece by piece (for a streamed export): begin with the accounts used
 * (postings of which only account and code count, in the order of their first use), then every
 * posting in journal order, then finish. The bytes land in `out`, which the caller may empty
 * between calls (the writer only appends). Each call returns false once something went wrong. */
struct ledger_sie_stream {
    struct sie_writer w;
    const struct ledger_chart *chart;
    long long journal_id; /* of the open #VER */
    bool open;
};
bool ledger_sie_stream_begin(struct ledger_sie_stream *s, struct strbuf *out,
                             const struct ledger_sie_file *f, const struct ledger_chart *chart,
                             const struct ledger_sie_posting *used, size_t nused);
bool ledger_sie_stream_posting(struct ledger_sie_stream *s, const struct ledger_sie_posting *p);
bool ledger_sie_stream_finish(struct ledger_sie_stream *s);
const char *ledger_sie_stream_error(const struct ledger_sie_stream *s);
void ledger_sie_stream_free(struct ledger_sie_stream *s);

/* Writes the file: postings must be ordered by journal; one #VER per journal. */
bool ledger_sie_write(struct strbuf *out, const struct ledger_sie_file *f,
                      const struct ledger_chart *chart, const struct ledger_sie_posting *p,
                      size_t n, char *err, size_t errlen);

#endif
