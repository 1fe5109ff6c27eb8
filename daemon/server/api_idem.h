/* api_idem: the daemon's side of Idempotency-Keys (the database's side is api.idem_claim). */
#ifndef RB_API_IDEM_H
#define RB_API_IDEM_H

#include "api.h"

#include <stdbool.h>

/* A POST's Idempotency-Key: when sent, 1 to 255 visible ASCII characters (else 400); a write that
 * moves money (required: the route's ROUTE_KEY) needs one (else 428). Replies and returns false
 * when refused. */
bool api_idem_key_ok(struct api_call *c, bool required);
/* Retry-After seconds for a database answer: 1 for 409 idempotency_in_progress, else 0. */
int api_retry_after(int status, const char *body);

#endif
