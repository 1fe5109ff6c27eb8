#!/usr/bin/env python3
"""Every idempotency behaviour proto/openapi.yaml documents, checked against the live daemon.

The behaviours are the document's `x-idempotency.behaviours` list (each with a `case` and the
status, code and headers it promises); every case there must have a checker here and every
checker a case there, so the description and the daemon cannot drift apart. The operations that
require a key are the ones whose parameters reference `IdempotencyKeyRequired`: exactly those
answer 428 without one. The prose of the description must name every documented code, and no
statement may say that a key is "not stored".

Cases: replay (same key, path and bytes → the first answer, also for an accrual run),
key_reused (422), invalid_key (400), key_required (428), in_progress (a second request while
the first is in flight → 409 with Retry-After: 1 at once; a test trigger holds the first
request's transaction open), expired (after idempotency_retention the nightly step deletes the
key in bounded batches; the same key then makes a new record).

Usage: test_idempotency_doc.py REIMBURSECTL OPENAPI.yaml NIGHTLY [CASE...]   (with RB_FIXTURE set)
With CASEs, only those behaviours are checked against the daemon (ctest names one test per
finding of issue 16 that way); the description's own checks always run."""
import hashlib
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, fixture_env, summary  # noqa: E402

FX = fixture_env()
CTL, DOC_PATH, NIGHTLY, ONLY = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4:])
with open(DOC_PATH) as f:
    DOC = yaml.safe_load(f)
URL = urllib.parse.urlparse(FX["RB_URL"])
CTX = ssl.create_default_context(cafile=FX["RB_CA"])
ADMIN, W1480 = FX["RB_TOKEN_ADMIN"], FX["RB_TOKEN_W1480"]
RUN_ID = f"{os.getpid()}-{time.time_ns()}"


def key(what):
    return f"doc-{what}-{RUN_ID}"


def call(method, path, token, body=None, idem=None, ctype="application/json", timeout=60):
    """One request on a fresh connection: (status, headers dict lower-cased, raw body)."""
    conn = http.client.HTTPSConnection(URL.hostname, URL.port, context=CTX, timeout=timeout)
    headers = {"Host": "localhost", "Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = ctype
    if idem is not None:
        headers["Idempotency-Key"] = idem
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    raw = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, hdrs, raw


def err_code(raw):
    try:
        return json.loads(raw)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def err_field(raw):
    try:
        return json.loads(raw)["error"].get("field")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def admin_sql(sql):
    out = subprocess.run(["psql", "-X", "-Atq", "-v", "ON_ERROR_STOP=1", FX["RB_DB_ADMIN"], "-c",
                          "SET reimbursed.scope = '*'; " + sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return out.stdout.strip()


def allocation_body():
    """An allocation decision for 2100 (never accrued by runs through the past), dated last so
    that it is always in order; in a municipality no other test writes allocations for."""
    return {"municipality": "0115", "year": 2100, "places": 1 + (time.time_ns() // 1000) % 90000,
            "decided_on": "2100-12-31"}


def placement_body(dossier):
    return {"dossier_number": dossier, "birth_date": "1990-02-02", "municipality": "1480",
            "assigned_on": "2023-03-01", "moved_in_on": "2023-03-02"}


def latest_through():
    return admin_sql("SELECT coalesce(max(through), current_date - 400) FROM accrual_runs "
                     "WHERE status = 'done'")


# ---- the checkers, one per documented case --------------------------------------------------

def check_replay(b):
    for what, method, path, token, body in (
            ("placement", "POST", "/v1/placements", W1480, placement_body(f"DOC-R{RUN_ID}")),
            ("allocation", "POST", "/v1/allocations", ADMIN, allocation_body()),
            ("accrual run", "POST", "/v1/accruals/run", ADMIN, {"through": latest_through()})):
        k = key("replay-" + what.replace(" ", "-"))
        first = call(method, path, token, body, k, timeout=300)
        again = call(method, path, token, body, k, timeout=300)
        check(f"replay ({what}): the first answer again, byte for byte",
              first[0] in (200, 201) and again[0] == first[0] and again[2] == first[2] and
              again[1].get("location") == first[1].get("location"),
              f"{first[0]} {first[2][:100]!r} / {again[0]} {again[2][:100]!r}")


def check_key_reused(b):
    k = key("reused")
    body = allocation_body()
    first = call("POST", "/v1/allocations", ADMIN, body, k)
    other = dict(body, places=body["places"] + 1)
    st, _, raw = call("POST", "/v1/allocations", ADMIN, other, k)
    check(f"the same key with another body: {b['status']} {b['code']}",
          first[0] == 201 and st == b["status"] and err_code(raw) == b["code"], f"{st} {raw[:120]!r}")


def check_invalid_key(b):
    for bad in ("", "x" * 256, "has space"):
        st, _, raw = call("POST", "/v1/placements", W1480, placement_body(f"DOC-I{RUN_ID}"), bad)
        check(f"Idempotency-Key {bad[:12]!r}{'…' if len(bad) > 12 else ''}: {b['status']} {b['code']}",
              st == b["status"] and err_code(raw) == b["code"], f"{st} {raw[:120]!r}")


def post_operations():
    """(path, operation, requires a key) for every POST of the description."""
    out = []
    for path, item in DOC["paths"].items():
        op = item.get("post")
        if op is None:
            continue
        refs = [p.get("$ref", "") for p in op.get("parameters", [])]
        out.append((path, op, any(r.endswith("/IdempotencyKeyRequired") for r in refs)))
    return out


def check_key_required(b):
    ops = post_operations()
    check("the description requires a key on some operations", any(r for _, _, r in ops))
    for path, op, required in ops:
        live = path.replace("{id}", "999999999")
        ctype = "text/csv" if "text/csv" in op.get("requestBody", {}).get("content", {}) \
            else "application/json"
        body = b"municipality;dossier_number;month;code;amount_ore;paid_on;reference\n" \
            if ctype == "text/csv" else b"{}"
        st, _, raw = call("POST", live, ADMIN, body, None, ctype)
        if required:
            check(f"POST {path} without a key: {b['status']} {b['code']} (field {b['field']})",
                  st == b["status"] and err_code(raw) == b["code"] and err_field(raw) == b["field"],
                  f"{st} {raw[:120]!r}")
        else:
            check(f"POST {path} without a key: not {b['status']} (the key is optional there)",
                  st != b["status"], f"{st} {raw[:120]!r}")


SLOW_DOSSIER = f"DOC-SLOW{os.getpid()}"


def install_slow_trigger(seconds):
    """Inserting a person with a DOC-SLOW dossier number sleeps. One line, and no whole dossier
    number in it: the server log (tests/logs) must show none outside a psql line's prefix."""
    admin_sql("CREATE OR REPLACE FUNCTION public.rb_test_idem_slow() RETURNS trigger "
              f"LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep({seconds}); RETURN NEW; END $$; "
              "GRANT EXECUTE ON FUNCTION public.rb_test_idem_slow() TO reimbursed_app; "
              "DROP TRIGGER IF EXISTS rb_test_idem_slow ON persons; "
              "CREATE TRIGGER rb_test_idem_slow BEFORE INSERT ON persons FOR EACH ROW "
              "WHEN (NEW.dossier_number LIKE 'DOC-SLOW%') "
              "EXECUTE FUNCTION public.rb_test_idem_slow();")


def remove_slow_trigger():
    admin_sql("DROP TRIGGER IF EXISTS rb_test_idem_slow ON persons;"
              "DROP FUNCTION IF EXISTS public.rb_test_idem_slow();")


def client_id(token):
    digest = hashlib.sha256(token.encode()).hexdigest()
    return admin_sql(f"SELECT id FROM clients WHERE token_sha256 = '{digest}'")


def wait_key_held(token, k, timeout=10):
    """Waits until a transaction holds the advisory lock of (client, key) (api.idem_lock_key;
    pg_locks shows every session's locks)."""
    sql = (f"SELECT count(*) FROM pg_locks l, (SELECT api.idem_lock_key({client_id(token)}, "
           f"'{k}') AS k) x WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted "
           "AND l.classid::bigint = (x.k >> 32) AND l.objid::bigint = (x.k & 4294967295)")
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if admin_sql(sql) != "0":
            return True
        time.sleep(0.05)
    return False


def check_in_progress(b):
    k = key("inflight")
    body = placement_body(SLOW_DOSSIER)
    install_slow_trigger(2)
    first = {}
    try:
        t = threading.Thread(target=lambda: first.update(r=call("POST", "/v1/placements", W1480,
                                                                 body, k)))
        t.start()
        # The first request holds the key (and sleeps in its transaction) once its advisory
        # lock shows; a mechanism without that lock gets the second request a second later.
        if not wait_key_held(W1480, k, 5):
            print("# the key's advisory lock did not show; the second request goes after 1 s")
            time.sleep(1.0)
        t0 = time.monotonic()
        st, hdrs, raw = call("POST", "/v1/placements", W1480, body, k)
        took = time.monotonic() - t0
        t.join(30)
    finally:
        remove_slow_trigger()
    check(f"a second request while the first is in flight: {b['status']} {b['code']} at once",
          st == b["status"] and err_code(raw) == b["code"] and took < 0.9,
          f"{st} {raw[:120]!r} after {took:.2f} s")
    check(f"... with Retry-After: {b['retry_after']}",
          hdrs.get("retry-after") == str(b["retry_after"]), f"{hdrs.get('retry-after')}")
    r1 = first.get("r")
    check("the first request completes", r1 is not None and r1[0] == 201,
          f"{r1[0] if r1 else None} {r1[2][:120] if r1 else b''!r}")
    again = call("POST", "/v1/placements", W1480, body, k)
    check("the retry after Retry-After gets the first answer",
          r1 is not None and again[0] == r1[0] and again[2] == r1[2], f"{again[0]}")
    # An accrual run's key in flight answers alike (its claim commits before the run).
    rk = key("inflight-run")
    rbody = json.dumps({"through": latest_through()}).encode()
    digest = hashlib.sha256(b"POST\n/v1/accruals/run\n" + rbody).hexdigest()
    admin_id = client_id(ADMIN)
    with open(FX["RB_CONF"]) as f:
        app_db = next(ln.split("=", 1)[1].strip() for ln in f if re.match(r"\s*db\s*=", ln))
    live = subprocess.Popen(["psql", "-X", "-Atq", app_db], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    live.stdin.write(f"SELECT status FROM api.idem_claim_run({admin_id}, '*', '{rk}', "
                     f"'{digest}');\n\\echo claimed\n")
    live.stdin.flush()
    line, t0 = "", time.monotonic()
    while "claimed" not in line and time.monotonic() - t0 < 10:
        line = live.stdout.readline()
    st, hdrs, raw = call("POST", "/v1/accruals/run", ADMIN, rbody, rk)
    live.communicate("", timeout=10)
    check(f"an accrual run whose key is in flight: {b['status']} {b['code']}, "
          f"Retry-After: {b['retry_after']}",
          st == b["status"] and err_code(raw) == b["code"] and
          hdrs.get("retry-after") == str(b["retry_after"]), f"{st} {raw[:120]!r}")


def check_expired(b):
    with open(NIGHTLY) as f:
        nightly = f.read()
    m = re.search(r'"\$ctl" -c "\$conf" (idempotency expire[^|\n]*)', nightly)
    check("the nightly job runs the expiry step", m is not None)
    keys = [key(f"expire-{i}") for i in range(5)]
    bodies = [allocation_body() for _ in keys]
    firsts = []
    for k, body in zip(keys, bodies):
        firsts.append(call("POST", "/v1/allocations", ADMIN, body, k))
        time.sleep(0.002)
    kept = key("expire-kept")
    kept_first = call("POST", "/v1/allocations", ADMIN, allocation_body(), kept)
    retention = b["retention_default"]
    hours = int(retention[:-1]) * (24 if retention.endswith("d") else 1)
    quoted = ",".join(f"'{k}'" for k in keys)
    admin_sql(f"UPDATE idempotency_keys SET created_at = now() - interval '{hours + 1} hours' "
              f"WHERE key IN ({quoted})")
    out = subprocess.run([CTL, "-c", FX["RB_CONF"], "idempotency", "expire", "--batch", "2"],
                         capture_output=True, text=True)
    print("# " + (out.stdout + out.stderr).strip().replace("\n", "\n# "))
    mb = re.search(r"deleted (\d+) keys? .* in (\d+) batch", out.stdout)
    check("the expiry step deletes the keys older than the retention, in bounded batches",
          out.returncode == 0 and mb is not None and int(mb.group(1)) >= 5 and
          int(mb.group(2)) >= 3, out.stdout.strip()[-200:])
    left = admin_sql(f"SELECT count(*) FROM idempotency_keys WHERE key IN ({quoted})")
    check("the expired keys are gone", left == "0", left)
    again = call("POST", "/v1/allocations", ADMIN, allocation_body(), kept)
    check("a key within the retention is kept (another body is still refused)",
          kept_first[0] == 201 and again[0] == 422, f"{again[0]}")
    st, _, raw = call("POST", "/v1/allocations", ADMIN, bodies[0], keys[0])
    old_id = json.loads(firsts[0][2]).get("id") if firsts[0][0] == 201 else None
    new_id = json.loads(raw).get("id") if st == 201 else None
    check("the same key and body after expiry make a new record",
          old_id is not None and new_id is not None and new_id != old_id,
          f"{st} {old_id} → {new_id}")


CHECKERS = {"replay": check_replay, "key_reused": check_key_reused,
            "invalid_key": check_invalid_key, "key_required": check_key_required,
            "in_progress": check_in_progress, "expired": check_expired}


def main():
    text = yaml.safe_dump(DOC, allow_unicode=True)
    check("no statement says a key is not stored", "not stored" not in text)
    xi = DOC.get("x-idempotency")
    check("the description lists its idempotency behaviours (x-idempotency)",
          isinstance(xi, dict) and xi.get("behaviours"))
    if not isinstance(xi, dict) or not xi.get("behaviours"):
        return summary()
    cases = [b["case"] for b in xi["behaviours"]]
    check("every documented case has a checker here",
          all(c in CHECKERS for c in cases), f"{[c for c in cases if c not in CHECKERS]}")
    check("every checker here is a documented case", all(c in cases for c in CHECKERS),
          f"{[c for c in CHECKERS if c not in cases]}")
    prose = DOC["info"]["description"] + DOC["components"]["parameters"]["IdempotencyKey"][
        "description"]
    codes = DOC["components"]["schemas"]["ErrorCode"]["enum"]
    for b in xi["behaviours"]:
        if "code" in b:
            check(f"{b['code']}: in the ErrorCode list and in the prose",
                  b["code"] in codes and b["code"] in prose)
    check("every case asked for is documented", ONLY <= set(cases), f"{sorted(ONLY - set(cases))}")
    for b in xi["behaviours"]:
        if b["case"] in CHECKERS and (not ONLY or b["case"] in ONLY):
            print(f"# {b['case']}: {b.get('says', '').strip()}")
            CHECKERS[b["case"]](b)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
