/* api_handlers: the request handlers the route table (api_router.c) names, by the file that holds
 * them. Each validates its input, then makes one call into the database (api.h). */
#ifndef RB_API_HANDLERS_H
#define RB_API_HANDLERS_H

#include "api.h"

/* api_placements.c: /v1/placements: create, read, list, search, move in and out, correct. */
void api_placement_create(struct api_call *c);
void api_placement_get(struct api_call *c);
void api_placement_list(struct api_call *c);
void api_placement_search(struct api_call *c);
void api_placement_move_in(struct api_call *c);
void api_placement_move_out(struct api_call *c);
void api_placement_correct(struct api_call *c);

/* api_ledger.c: rates (a new rate is national), allocations, the ledger, balances and a
 * placement's accruals. */
void api_rates_list(struct api_call *c);
void api_rate_create(struct api_call *c);
void api_allocation_create(struct api_call *c);
void api_allocations_list(struct api_call *c);
void api_ledger_entries(struct api_call *c);
void api_balance(struct api_call *c);
void api_placement_accruals(struct api_call *c);

/* api_payments.c: recording payments, importing payment lists, and the reconciliation report. */
void api_payment_create(struct api_call *c);
void api_payment_import(struct api_call *c);
void api_reconciliation(struct api_call *c);

/* api_exports.c: GET /v1/exports/sie, the ledger as an SIE 4E file. */
void api_export_sie(struct api_call *c);

#endif
