/* rate_schedule: the view rate_schedule (sql: a row holds until the next row of its code) into
 * the rules' per-code arrays. */
#include "rate_schedule.h"

#include "civil_date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t day_of(const PGresult *res, int row, int col, int32_t absent)
{
    int32_t d;
    if (PQgetisnull(res, row, col))
        return absent;
    const char *s = PQgetvalue(res, row, col);
    return civil_parse(s, strlen(s), &d) ? d : ACCRUAL_NO_DAY;
}

void rate_schedule_free(struct rate_schedule *s)
{
    for (int c = 0; c < ACCRUAL_CODES; c++) {
        free(s->rows[c]);
        s->rows[c] = NULL;
    }
}

bool rate_schedule_load(PGconn *pg, struct rate_schedule *s, char *err, size_t errlen)
{
    PGresult *res = PQexec(pg, "SELECT code, valid_from, valid_to, amount_ore FROM rate_schedule "
                               "ORDER BY code, valid_from");
    memset(s, 0, sizeof *s);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        snprintf(err, errlen, "reading the rate schedule: %s", msg ? msg : PQerrorMessage(pg));
        PQclear(res);
        return false;
    }
    int rows = PQntuples(res);
    for (int c = 0; c < ACCRUAL_CODES; c++) {
        s->rows[c] = calloc((size_t)rows + 1, sizeof *s->rows[c]);
        if (s->rows[c] == NULL) {
            PQclear(res);
            rate_schedule_free(s);
            snprintf(err, errlen, "out of memory");
            return false;
        }
    }
    for (int i = 0; i < rows; i++) {
        enum accrual_code code;
        if (!accrual_code_parse(PQgetvalue(res, i, 0), &code))
            continue;
        struct accrual_rate *r = &s->rows[code][s->n[code]++];
        r->from = day_of(res, i, 1, ACCRUAL_NO_DAY);
        r->to = day_of(res, i, 2, ACCRUAL_OPEN);
        r->has_amount = !PQgetisnull(res, i, 3);
        r->amount_ore = r->has_amount ? strtoll(PQgetvalue(res, i, 3), NULL, 10) : 0;
    }
    PQclear(res);
    for (int c = 0; c < ACCRUAL_CODES; c++) {
        s->view.rows[c] = s->rows[c];
        s->view.n[c] = s->n[c];
    }
    return true;
}
