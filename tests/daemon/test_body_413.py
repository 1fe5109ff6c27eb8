#!/usr/bin/env python3
"""body_too_large_413_every_client: a body over max_body_bytes gets its 413, with its JSON error,
even by a client that sends the whole body before it reads (Python's http.client, like Java's
and .NET's clients): the daemon answers at once, then closes gracefully (lingering close: it
shuts its write side, reads and discards what still comes, then closes) instead of resetting a
connection the client is still writing to.

Against the ctest fixture's daemon (max_body_bytes = 1 MiB): 10 MB with Content-Length, and
chunked, several times each; then the daemon still serves. Usage: test_body_413.py (RB_FIXTURE
set)."""
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, fixture_env, summary  # noqa: E402

TOTAL = 10 * 1000 * 1000
ATTEMPTS = 3


def connection(fx):
    url = urllib.parse.urlsplit(fx["RB_URL"])
    ctx = ssl.create_default_context(cafile=fx["RB_CA"])
    return http.client.HTTPSConnection("localhost", url.port, context=ctx, timeout=30)


def post_big(fx, chunked):
    """POST /v1/placements with 10 MB, sent whole before the answer is read; (status, headers,
    body) or (None, None, the exception)."""
    conn = connection(fx)
    headers = {"Authorization": "Bearer " + fx["RB_TOKEN_W1480"],
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


def main():
    fx = fixture_env()
    for chunked in (False, True):
        kind = "chunked" if chunked else "Content-Length"
        for attempt in range(ATTEMPTS):
            t0 = time.monotonic()
            status, headers, body = post_big(fx, chunked)
            took = time.monotonic() - t0
            if status is None:
                check(f"[{kind} #{attempt}] http.client reads the 413 after sending 10 MB", False,
                      f"{type(body).__name__}: {body}")
                continue
            check(f"[{kind} #{attempt}] http.client reads the 413 after sending 10 MB",
                  status == 413, f"status {status} after {took:.2f} s")
            try:
                code = json.loads(body)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = None
            check(f"[{kind} #{attempt}] its body is the JSON error payload_too_large",
                  code == "payload_too_large", body[:120])
            check(f"[{kind} #{attempt}] as application/json, with an X-Request-Id",
                  headers.get("Content-Type", "").startswith("application/json")
                  and headers.get("X-Request-Id"), str(dict(headers)))
    conn = connection(fx)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    r.read()
    conn.close()
    check("the daemon still serves", r.status == 200, f"status {r.status}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
