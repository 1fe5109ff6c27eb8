/* accrual_post: the parallel array literals ('{…}') of an accrual run's postings that the one
 * ledger writer, api.ledger_post (sql/017), reads, one element per posting. Pure. */
#ifndef RB_ACCRUAL_POST_H
#define RB_ACCRUAL_POST_H

#include "accrual.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stdint.h>

struct accrual_post_arrays {
    struct strbuf jid, acct, pid, aid, mon, code, amt;
    size_t n;
};

/* Appends `text` to an array literal, after a comma unless it is the first element. */
void accrual_post_item(struct strbuf *b, bool first, const char *text);
/* Opens ("{") and closes ("}") all seven literals. */
void accrual_post_open(struct accrual_post_arrays *a);
void accrual_post_close(struct accrual_post_arrays *a);
/* One posting in the journal at 1-based place `journal` of the batch; placement and allocation
 * 0 for none (a compensation posting), else a receivable posting. */
void accrual_post_add(struct accrual_post_arrays *a, int journal, long long placement,
                      long long allocation, int32_t month, enum accrual_code code, int64_t amount);
bool accrual_post_oom(const struct accrual_post_arrays *a);
void accrual_post_free(struct accrual_post_arrays *a);

#endif
