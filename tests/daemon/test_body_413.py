"""body_too_large_413_every_client: a body over max_body_bytes gets its 413, with its JSON error,
even by a client that sends the whole body before it reads (Python's http.client, like Java's
and .NET's clients): the daemon answers at once, then closes gracefully (lingering close: it
shuts its write side, reads and discards what still comes, then closes) instead of resetting a
connection the client is still writing to.

Against the ctest fixture's daemon (max_body_bytes = 1 MiB): 10 MB with Content-Length, and
chunked, several times each; then the daemon still serves.
Run: ./ops/test -k body_too_large (pytest; fixtures in tests/conftest.py)."""
import http.client
import json
import time

import pytest

TOTAL = 10 * 1000 * 1000
ATTEMPTS = 3


def post_big(fx, chunked):
    """POST /v1/placements with 10 MB, sent whole before the answer is read; (status, headers,
    body) or (None, None, the exception)."""
    conn = http.client.HTTPSConnection("localhost", fx.port, context=fx.ctx, timeout=30)
    headers = {"Authorization": "Bearer " + fx.token["w1480"],
               "Content-Type": "application/json"}
    block = b" " * 65536
    try:
        if chunked:
            body = (block for _ in range(TOTAL // len(block)))
            conn.request("POST", "/v1/placements", body=body, headers=headers,
                         encode_chunked=True)
        else:
            conn.request("POST", "/v1/placements", body=b" " * TOTAL, headers=headers)
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    except (OSError, http.client.HTTPException) as e:
        return None, None, e
    finally:
        conn.close()


@pytest.mark.parametrize("attempt", range(ATTEMPTS))
@pytest.mark.parametrize("kind", ["Content-Length", "chunked"])
def test_413_read_after_sending_10_mb(fx, kind, attempt):
    t0 = time.monotonic()
    status, headers, body = post_big(fx, kind == "chunked")
    took = time.monotonic() - t0
    assert status is not None, (f"http.client reads the 413 after sending 10 MB: "
                                f"{type(body).__name__}: {body}")
    assert status == 413, (f"http.client reads the 413 after sending 10 MB: status {status} "
                           f"after {took:.2f} s")
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    assert code == "payload_too_large", \
        f"its body is the JSON error payload_too_large: {body[:120]}"
    assert headers.get("Content-Type", "").startswith("application/json") and \
        headers.get("X-Request-Id"), f"as application/json, with an X-Request-Id: {dict(headers)}"


def test_daemon_still_serves_after_a_big_body(fx):
    post_big(fx, False)
    r = fx.request("GET", "/healthz")
    assert r.status == 200, f"the daemon still serves: status {r.status}"
