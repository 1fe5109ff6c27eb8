/* api_ledger: handlers for rates, allocations, the ledger, balances and a placement's accruals. */
#ifndef RB_API_LEDGER_H
#define RB_API_LEDGER_H

#include "api.h"

/* GET and POST /v1/rates (a new rate is national: it changes every municipality's money). */
void api_rates_list(struct api_call *c);
void api_rate_create(struct api_call *c);
/* POST and GET /v1/allocations. */
void api_allocation_create(struct api_call *c);
void api_allocations_list(struct api_call *c);
/* GET /v1/ledger/entries, /v1/municipalities/{id}/balance, /v1/placements/{id}/accruals. */
void api_ledger_entries(struct api_call *c);
void api_balance(struct api_call *c);
void api_placement_accruals(struct api_call *c);

#endif
