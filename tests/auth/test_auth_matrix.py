#!/usr/bin/env python3
"""The authorisation matrix for every route of proto/openapi.yaml (read from the file, not a
hard-coded list), against the fixture's daemon over real HTTPS (proto/openapi.yaml):

  missing / malformed / revoked token           -> 401
  a read token on a write route                  -> 403   (R1480 and RSTAR)
  a write token on an admin-only route           -> 403   (W1480 and W1481)
  a write token of every municipality (WSTAR) on an admin-only route -> 403; past the checks
      on every write route
  a municipality-scoped admin (A1480) on a national route (`x-scope: national`) -> 403
      `forbidden`, "national scope" in the message; on every other route it is an owner of 1480
      (past the checks on its own, 404/403 on 1481's objects and creates)
  municipality 1481 on 1480's object ({id})      -> 404
  1481 on a list filtered on 1480, a create for 1480, 1480's balance -> 403
  the owner with the right role gets past the checks (positive control: not 401/403/404)

and no body answered to a 1481 client holds 1480 data (dossier numbers of 1480-only persons,
objects with "municipality": "1480") nor the other way round, and no body answered to the
read-everything client (RSTAR) holds any dossier number.

Route classes come from the spec itself: every operation states `x-scope` (none, municipality or
national); `security: []` = public; "(admin)" in the summary =
admin-only; a POST = write unless its description says it is "A POST so that" something stays out
of URLs (a read); everything else read. Requests are built from the spec: path parameters from
their schema ($ref Id under /v1/placements = a placement, under /v1/accruals = a run, $ref
Municipality = a code), required query parameters from their schema, bodies from the spec's
example with the municipality and dossier numbers replaced.

Usage: test_auth_matrix.py REIMBURSECTL OPENAPI_YAML (with RB_FIXTURE set).
"""
import copy
import json
import os
import random
import re
import ssl
import string
import subprocess
import sys
import time
import urllib.parse

import yaml
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import MONEY_ROUTES, KeepAlive, env_file  # noqa: E402

RESULTS = []
FAILS = []


def check(name, ok, detail=""):
    RESULTS.append(ok)
    if not ok:
        FAILS.append(name)
    # Passing cases are summed up in the table; failing ones are printed in full.
    if not ok:
        print(f"not ok {len(RESULTS)} - {name}" + (f": {detail}" if detail else ""), flush=True)


class Api:
    def __init__(self, url, ca):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conn = KeepAlive(ssl.create_default_context(cafile=ca), self.host, self.port)

    def call(self, method, path, token=None, body=None, ctype="application/json", auth=None,
             extra=None):
        headers = {"Host": "localhost"}
        headers.update(extra or {})
        if auth is not None:
            headers["Authorization"] = auth
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ctype
        if method == "POST" and path in MONEY_ROUTES:
            headers["Idempotency-Key"] = f"am-{os.getpid()}-{time.time_ns()}"
        return self.conn.send(method, path, data, headers)


def rand_dossier(prefix):
    return f"SEC{prefix}-" + "".join(random.choice(string.digits) for _ in range(10))


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        cur = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            cur = cur[part]
        node = cur
    return node


def classify(op, method):
    """Role a route needs, from the spec: public, admin, write or read (and why)."""
    if op.get("security") == []:
        return "public", "security: []"
    if "(admin)" in op.get("summary", ""):
        return "admin", "summary says (admin)"
    if method == "post":
        if re.search(r"\bA POST so that\b", op.get("description", "")):
            return "read", "POST whose description says it is a POST to keep data out of URLs"
        return "write", "POST"
    return "read", "GET"


def body_example(spec, op):
    rb = op.get("requestBody")
    if not rb:
        return None, None
    content = rb.get("content", {})
    for ctype in ("application/json", "text/csv"):
        if ctype in content:
            c = content[ctype]
            if "example" in c:
                return ctype, copy.deepcopy(c["example"])
            if "examples" in c:
                first = next(iter(c["examples"].values()))
                return ctype, copy.deepcopy(first["value"])
            return ctype, {}
    return None, None


def has_body_municipality(spec, op):
    rb = op.get("requestBody")
    if not rb or "application/json" not in rb.get("content", {}):
        return False
    sch = resolve(spec, rb["content"]["application/json"]["schema"])
    return "municipality" in sch.get("properties", {})


def main():
    ctl, spec_path = sys.argv[1], sys.argv[2]
    fx = env_file(os.path.join(os.environ["RB_FIXTURE"], "env"))
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    api = Api(fx["RB_URL"], fx["RB_CA"])
    T = {k: fx[f"RB_TOKEN_{k}"] for k in ("ADMIN", "W1480", "W1481", "R1480", "RSTAR", "A1480",
                                          "WSTAR")}
    conf = fx["RB_CONF"]
    random.seed(os.getpid() ^ int(time.time()))

    # ---- a revoked token
    name = f"t-sec-revoked-{os.getpid()}-{int(time.time())}"
    out = subprocess.run([ctl, "-c", conf, "client", "add", "--name", name, "--role", "write",
                          "--scope", "1480"], capture_output=True, text=True, check=True).stdout
    revoked = out.strip().splitlines()[-1]
    st, _ = api.call("GET", "/v1/rates", revoked)
    check("the new client's token works before revocation", st == 200, f"status {st}")
    subprocess.run([ctl, "-c", conf, "client", "revoke", "--name", name], capture_output=True,
                   check=True)
    good = T["W1480"]
    malformed = {
        "empty Bearer": "Bearer ",
        "garbage": "Bearer not-a-token",
        "Basic scheme": "Basic dXNlcjpwYXNz",
        "unknown well-formed": "Bearer rb_" + "A" * 43,
        "valid+1 char": f"Bearer {good}x",
        "valid truncated": f"Bearer {good[:-1]}",
        "token without scheme": good,
        "two tokens": f"Bearer {good} {good}",
    }

    # ---- objects of both municipalities
    own = {}
    for muni, tok in (("1480", T["W1480"]), ("1481", T["W1481"])):
        dn = rand_dossier(muni)
        st, raw = api.call("POST", "/v1/placements", tok, {
            "dossier_number": dn, "birth_date": "1990-05-01", "municipality": muni,
            "assigned_on": "2023-01-10", "moved_in_on": "2023-01-12"})
        check(f"setup: placement in {muni}", st == 201, f"status {st} {raw[:200]!r}")
        own[muni] = {"placement": json.loads(raw)["id"], "dossier": dn}
    # An accrual run id: the latest, or a run through the latest run's day (never goes back).
    # The owner role is under FORCE ROW LEVEL SECURITY too: it reads everything with scope '*'.
    psql = ["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", fx["RB_DB_ADMIN"]]
    pgenv = dict(os.environ, PGOPTIONS="-c reimbursed.scope=*")
    run_id = subprocess.run(psql + ["-c", "SELECT max(id) FROM accrual_runs"], capture_output=True,
                            text=True, check=True, env=pgenv).stdout.strip()
    if not run_id:
        st, raw = api.call("POST", "/v1/accruals/run", T["ADMIN"], {"through": "2022-03-31"})
        check("setup: an accrual run", st == 200, f"status {st} {raw[:200]!r}")
        run_id = str(json.loads(raw)["run_id"])

    def build(path, method, op, target, params_override=None, body_mode="valid"):
        """A concrete request for `target` municipality's objects."""
        p = path
        for prm in op.get("parameters", []) + spec["paths"][path].get("parameters", []):
            prm = resolve(spec, prm)
            if prm.get("in") != "path":
                continue
            ref = prm.get("schema", {}).get("$ref", "")
            if ref.endswith("/Municipality"):
                val = target
            elif path.startswith("/v1/placements"):
                val = own[target]["placement"]
            elif path.startswith("/v1/accruals"):
                val = run_id
            else:
                raise SystemExit(f"no value for path parameter {prm['name']} of {path}")
            p = p.replace("{" + prm["name"] + "}", str(val))
        q = {}
        for prm in op.get("parameters", []):
            prm = resolve(spec, prm)
            if prm.get("in") != "query" or not prm.get("required"):
                continue
            sch = resolve(spec, prm.get("schema", {}))
            if prm["name"] == "municipality":
                q["municipality"] = target
            elif "example" in sch:
                q[prm["name"]] = sch["example"]
            elif "pattern" in sch and "[0-9]{4}-[0-9]{2}$" in sch["pattern"]:
                q[prm["name"]] = "2023-01"
            else:
                raise SystemExit(f"no value for required query parameter {prm['name']} of {path}")
        q.update(params_override or {})
        if q:
            p += "?" + urllib.parse.urlencode(q)
        ctype, body = body_example(spec, op)
        if body is None:
            return p, None, None, set()
        sent_dossiers = set()
        if body_mode == "invalid":
            return p, (b"" if ctype == "text/csv" else {}), ctype, set()
        if ctype == "text/csv":
            lines = body.splitlines()
            out = [lines[0]]
            for ln in lines[1:]:
                f = ln.split(";")
                f[0] = target
                if f[1]:
                    f[1] = own[target]["dossier"]
                    sent_dossiers.add(f[1])
                f[6] = f"SEC-{random.randint(0, 10**9)}"
                out.append(";".join(f))
            return p, ("\n".join(out) + "\n").encode(), ctype, sent_dossiers
        if isinstance(body, dict):
            if "municipality" in body:
                body["municipality"] = target
            if "dossier_number" in body:
                if path.endswith("/search"):
                    body["dossier_number"] = own["1480"]["dossier"]
                else:
                    body["dossier_number"] = rand_dossier(target)
                sent_dossiers.add(body["dossier_number"])
            for ln in body.get("lines") or []:
                if ln.get("dossier_number"):
                    ln["dossier_number"] = rand_dossier(target)
                    sent_dossiers.add(ln["dossier_number"])
            if "reference" in body:
                body["reference"] = f"SEC-{random.randint(0, 10**9)}"
            if path == "/v1/rates" and "valid_from" in body:
                body["valid_from"] = "2099-12-01"  # harmless even if a check were missing
        return p, body, ctype, sent_dossiers

    # ---- the matrix
    bodies = []  # (client, route, case, body bytes, dossiers the request itself sent)
    table = []   # route, class, case -> "status" or "expected!=got"
    counts = {}

    def case(route, klass, cname, expect, st, raw, client=None, sent=()):
        ok = st in expect if isinstance(expect, (set, tuple, list)) else st == expect
        exp = "/".join(map(str, sorted(expect))) if isinstance(expect, (set, tuple, list)) else \
            str(expect)
        check(f"{route} [{klass}] {cname}: expected {exp}", ok, f"got {st}: {raw[:160]!r}")
        table.append((route, cname, f"{st}" if ok else f"{st}!={exp}"))
        c = counts.setdefault(cname, [0, 0])
        c[0 if ok else 1] += 1
        if client is not None:
            bodies.append((client, route, cname, raw, set(sent)))

    routes = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            routes.append((path, method, op))

    classes = {}
    for path, method, op in routes:
        route = f"{method.upper()} {path}"
        klass, why = classify(op, method)
        scope = op.get("x-scope")
        classes[route] = (klass, why, scope)
        M = method.upper()
        check(f"{route}: x-scope states the scope it needs",
              scope in ("none", "municipality", "national") and (scope == "none") ==
              (klass == "public"), f"x-scope {scope!r}, class {klass}")
        if klass == "public":
            p, body, ctype, _ = build(path, method, op, "1480")
            st, raw = api.call(M, p)
            case(route, klass, "public, no token", 200, st, raw)
            continue
        past_auth = {s for s in range(200, 600) if s not in (401, 403, 404)}
        valid80 = build(path, method, op, "1480")
        # 1. no token, malformed tokens, a revoked token: 401 before anything else.
        p, body, ctype, _ = valid80
        st, raw = api.call(M, p, None, body, ctype)
        case(route, klass, "no token", 401, st, raw)
        for mname, auth in malformed.items():
            st, raw = api.call(M, p, None, body, ctype, auth=auth)
            case(route, klass, f"malformed ({mname})", 401, st, raw)
        st, raw = api.call(M, p, revoked, body, ctype)
        case(route, klass, "revoked token", 401, st, raw)
        # 2. wrong role.
        if klass in ("write", "admin"):
            st, raw = api.call(M, p, T["R1480"], body, ctype)
            case(route, klass, "read token (1480) on write route", 403, st, raw)
            st, raw = api.call(M, p, T["RSTAR"], body, ctype)
            case(route, klass, "read token (*) on write route", 403, st, raw, "RSTAR")
        if scope == "national":
            # national_scope_needed: an invalid body (nothing is made even if the check missed),
            # a fresh Idempotency-Key (whatever else a POST needs is there).
            pi, bi, ci, _ = build(path, method, op, "1480", body_mode="invalid")
            key = {"Idempotency-Key": f"sec-{os.getpid()}-{random.randint(0, 10**9)}"}
            st, raw = api.call(M, pi, T["A1480"], bi, ci, extra=key)
            case(route, klass, "admin (1480) on national route", 403, st, raw)
            try:
                err = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                err = {}
            check(f"{route}: admin (1480) is told national scope is needed",
                  err.get("code") == "forbidden" and "national scope" in err.get("message", ""),
                  f"body {raw[:160]!r}")
        if klass == "admin":
            st, raw = api.call(M, p, T["W1480"], body, ctype)
            case(route, klass, "write token (1480) on admin route", 403, st, raw)
            p81, body81, ctype81, _ = build(path, method, op, "1481")
            st, raw = api.call(M, p81, T["W1481"], body81, ctype81)
            case(route, klass, "write token (1481) on admin route", 403, st, raw)
            st, raw = api.call(M, p, T["WSTAR"], body, ctype)
            case(route, klass, "write token (*) on admin route", 403, st, raw)
            # Positive control: the admin gets past the checks (an invalid body: nothing is made).
            pi, bi, ci, _ = build(path, method, op, "1480", body_mode="invalid")
            st, raw = api.call(M, pi, T["ADMIN"], bi, ci)
            case(route, klass, "admin, invalid body: past auth", past_auth, st, raw)
            if scope != "national":
                st, raw = api.call(M, pi, T["A1480"], bi, ci)
                case(route, klass, "admin (1480), invalid body: past auth", past_auth, st, raw)
            continue

        def ask(muni, tok, who, what, want, query=None):
            """One request built for `muni`, sent with token `tok`; checked by case()."""
            p, body, ctype, sent = build(path, method, op, muni, query)
            st, raw = api.call(M, p, tok, body, ctype)
            case(route, klass, what, want, st, raw, who, sent)
            return st, raw

        # 3. municipality 1481 against 1480.
        has_obj = "{id}" in path and path.startswith("/v1/placements")
        has_code = "{code}" in path
        qparams = [resolve(spec, x).get("name") for x in op.get("parameters", [])]
        if has_obj:
            st, raw = ask("1480", T["W1481"], "1481", "1481 on 1480's object", 404)
            # and the other way round
            p, body, ctype, sent = build(path, method, op, "1481")
            tok = T["W1480"] if klass == "write" else T["R1480"]
            st, raw = api.call(M, p, tok, body, ctype)
            case(route, klass, "1480 on 1481's object", 404, st, raw, "1480", sent)
            st, raw = api.call(M, p, T["A1480"], body, ctype)
            case(route, klass, "admin (1480) on 1481's object", 404, st, raw, "1480", sent)
        elif has_code:
            st, raw = ask("1480", T["W1481"], "1481", "1481 on 1480's municipality", 403)
            st, raw = ask("1481", T["A1480"], "1480", "admin (1480) on 1481's municipality", 403)
        elif "municipality" in qparams:
            st, raw = ask("1480", T["W1481"], "1481", "1481 on a list filtered on 1480", 403,
                          {"municipality": "1480"})
            st, raw = ask("1481", T["A1480"], "1480", "admin (1480) on a list filtered on 1481",
                          403, {"municipality": "1481"})
        elif has_body_municipality(spec, op) or (body is not None and ctype == "text/csv"):
            st, raw = ask("1480", T["W1481"], "1481", "1481 creates for 1480", 403)
            st, raw = ask("1481", T["A1480"], "1480", "admin (1480) creates for 1481", 403)
            if path == "/v1/allocations":
                check(f"{route}: an allocation for another municipality needs national scope",
                      b"national scope" in raw, f"body {raw[:160]!r}")
        # 4. the owner, and 1481 on its own (bodies checked for 1480 data below).
        if klass == "write":
            pi, bi, ci, _ = build(path, method, op, "1480", body_mode="invalid")
            st, raw = api.call(M, pi, T["W1480"], bi, ci)
            case(route, klass, "owner (write), invalid body: past auth", past_auth, st, raw)
            st, raw = api.call(M, pi, T["A1480"], bi, ci)
            case(route, klass, "admin (1480), invalid body: past auth", past_auth, st, raw)
            st, raw = api.call(M, pi, T["WSTAR"], bi, ci)
            case(route, klass, "write (*), invalid body: past auth", past_auth, st, raw)
        else:
            st, raw = ask("1480", T["R1480"], "1480", "owner (read 1480)", {200})
            st, raw = ask("1480", T["A1480"], "1480", "admin (1480) on its own", {200})
            st, raw = ask("1481", T["W1481"], "1481", "1481 (write) on its own", {200})
            if path.endswith("/search"):
                # 1481 searching for 1480's person: an empty answer, nothing revealed.
                st, raw = ask("1481", T["W1481"], "1481", "1481 searches 1480's dossier: empty",
                              200)
                items = json.loads(raw).get("items", None) if st == 200 else None
                check(f"{route}: 1481 finds nothing of 1480's person", items == [],
                      f"items {items}")
            # The read-everything client: 200 (totals) or 403 (persons); bodies checked below.
            ask("1480", T["RSTAR"], "RSTAR", "read (*)", {200, 403})

    # ---- national_scope_in_database: the database refuses a rate row from a scoped client too
    with open(conf) as f:
        app_db = next(ln for ln in f if re.match(r"\s*db\s*=", ln)).split("=", 1)[1].strip()
    a1480_id = subprocess.run(psql + ["-c", "SELECT id FROM clients WHERE name = 't-a1480'"],
                              capture_output=True, text=True, check=True, env=pgenv).stdout.strip()
    args = json.dumps({"code": "DAY_ADULT", "valid_from": "2099-11-01", "amount_ore": 1})
    out = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", app_db, "-v",
                          f"args={args}", "-v", f"client={a1480_id}"],
                         input="SELECT status, body FROM api.post('rate_create', :'client', "
                               "'1480', NULL, NULL, :'args')\n",
                         capture_output=True, text=True)
    check("national_scope_in_database: api.post('rate_create') for scope 1480 is 403 forbidden",
          out.returncode == 0 and out.stdout.startswith("403|") and "forbidden" in out.stdout,
          f"exit {out.returncode}: {out.stdout.strip()[:160]} {out.stderr.strip()[:160]}")

    # ---- no other municipality's data in any body
    rows = subprocess.run(psql + ["-c", "SELECT per.dossier_number, string_agg(DISTINCT "
                                  "p.municipality::text, ',') FROM persons per JOIN placements p "
                                  "ON p.person_id = per.id GROUP BY 1"],
                          capture_output=True, text=True, check=True, env=pgenv).stdout.splitlines()
    only = {"1480": set(), "1481": set()}
    every = set()
    for r in rows:
        dn, munis = r.split("|", 1)
        every.add(dn)
        ms = set(munis.split(","))
        for m in only:
            if ms == {m}:
                only[m].add(dn)
    check("the database shows the persons this test made (the leak check is not vacuous)",
          own["1480"]["dossier"] in only["1480"] and own["1481"]["dossier"] in only["1481"],
          f"{len(rows)} persons")
    mine = [raw for client, route, cname, raw, _ in bodies
            if client == "1480" and route == "GET /v1/placements/{id}" and cname.startswith("owner")]
    check("the leak check sees dossier numbers in bodies (1480's own placement shows its own)",
          len(mine) == 1 and own["1480"]["dossier"].encode() in mine[0], f"{len(mine)} bodies")
    leaks = 0

    def walk(node, other, path="$"):
        if isinstance(node, dict):
            if str(node.get("municipality")) == other:
                yield path
            for k, v in node.items():
                yield from walk(v, other, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, other, f"{path}[{i}]")

    for client, route, cname, raw, sent in bodies:
        text = raw.decode("utf-8", "replace")
        if client == "RSTAR":
            forbidden = every - sent
            other = None
        else:
            other = "1480" if client == "1481" else "1481"
            forbidden = only[other] - sent
        hits = [dn for dn in forbidden if dn in text]
        objs = []
        if other is not None:
            try:
                objs = list(walk(json.loads(raw), other))
            except ValueError:
                pass
        ok = not hits and not objs
        leaks += not ok
        check(f"{route} {cname}: no other municipality's data in the body", ok,
              f"dossier numbers {hits[:3]}, objects of {other} at {objs[:3]}")

    # ---- summary table
    print(f"# {len(rows)} persons in the database ({len(only['1480'])} only in 1480, "
          f"{len(only['1481'])} only in 1481); {len(bodies)} bodies checked for other "
          f"municipalities' data, {leaks} with a leak")
    print("# route classes (from the spec):")
    for route, (klass, why, scope) in classes.items():
        print(f"#   {klass:6} {scope or '?':12} {route}  ({why})")
    by_route = {}
    for route, cname, res in table:
        by_route.setdefault(route, []).append((cname, res))
    print("# statuses per route and case (expected!=got where it failed):")
    for route, cs in by_route.items():
        compact = {}
        for cname, res in cs:
            key = "malformed" if cname.startswith("malformed") else cname
            compact.setdefault(key, []).append(res)
        print(f"#   {route}: " + "; ".join(
            f"{k}={','.join(sorted(set(v)))}" for k, v in compact.items()))
    print("# cases: " + ", ".join(f"{k}: {v[0]} ok/{v[1]} failed" for k, v in counts.items()
                                 if not k.startswith("malformed")))
    mal = [v for k, v in counts.items() if k.startswith("malformed")]
    print(f"# malformed tokens ({len(malformed)} kinds): {sum(v[0] for v in mal)} ok/"
          f"{sum(v[1] for v in mal)} failed")
    failed = RESULTS.count(False)
    print(f"# {len(routes)} routes in the spec, {len(table)} requests in the matrix")
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
