/* rate_schedule: the rate schedule as the rules read it (accrual.h's struct accrual_schedule),
 * loaded from the view rate_schedule. The one loader for the blocking programs: the accrual run
 * and `reimbursectl rates index` both look rates up through accrual_rate_on on what it loads. */
#ifndef RB_RATE_SCHEDULE_H
#define RB_RATE_SCHEDULE_H

#include "accrual.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct rate_schedule {
    struct accrual_rate *rows[ACCRUAL_CODES];
    size_t n[ACCRUAL_CODES];
    struct accrual_schedule view; /* what accrual_compute and accrual_rate_on take */
};

/* Reads every row of the view (all codes, ordered by valid_from); on failure err says why and
 * nothing needs freeing. */
bool rate_schedule_load(PGconn *pg, struct rate_schedule *s, char *err, size_t errlen);
void rate_schedule_free(struct rate_schedule *s);

#endif
