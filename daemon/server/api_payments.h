/* api_payments: recording payments, importing payment lists, and the reconciliation report. */
#ifndef RB_API_PAYMENTS_H
#define RB_API_PAYMENTS_H

#include "api.h"

void api_payment_create(struct api_call *c);
void api_payment_import(struct api_call *c);
void api_reconciliation(struct api_call *c);

#endif
