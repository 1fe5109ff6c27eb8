/* api_idem: an Idempotency-Key's form and presence (the route table marks the writes that must
 * carry one), and the Retry-After of an answer whose key is still in flight. */
#include "api_idem.h"

#include <string.h>

bool api_idem_key_ok(struct api_call *c, bool required)
{
    const char *key = http_req_header(c->r, "Idempotency-Key");
    size_t n = key ? strlen(key) : 1;
    bool ok = n >= 1 && n <= 255;
    for (size_t i = 0; key != NULL && ok && i < n; i++)
        ok = key[i] > 0x20 && key[i] < 0x7f;
    if (!ok) {
        api_reply_error(c, 400, "invalid_idempotency_key",
                        "Idempotency-Key must be 1 to 255 visible ASCII characters", NULL);
        return false;
    }
    if (key == NULL && required) {
        api_reply_error(c, 428, "idempotency_key_required",
                        "this request moves money: send an Idempotency-Key (a new one for each "
                        "request, the same one to repeat it)",
                        "Idempotency-Key");
        return false;
    }
    return true;
}

int api_retry_after(int status, const char *body)
{
    return status == 409 && strstr(body, "\"idempotency_in_progress\"") != NULL ? 1 : 0;
}
