/* api_exports: GET /v1/exports/sie, the ledger as an SIE 4E file. */
#ifndef RB_API_EXPORTS_H
#define RB_API_EXPORTS_H

#include "api.h"

void api_export_sie(struct api_call *c);

#endif
