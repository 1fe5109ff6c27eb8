#!/usr/bin/env python3
"""A person known to two municipalities tells neither about the other (issue 16, items 6 and 7).

`oracle` (ctest tenancy_no_person_oracle), with the write tokens of 1480 and 1481:
  - no_foreign_former_uam: 1481's create of a dossier that 1480 flagged former UAM, without the
    flag, answers exactly what a create of an unknown dossier answers (former_uam false);
  - no_birth_date_oracle: 1481's creates with the right and with a wrong birth date of a dossier
    that 1480 holds both answer 201, exactly as for an unknown dossier, and the accruals of 1481's
    placement follow 1481's birth date (adult), not 1480's (child);
  - no_foreign_correction_text: 1480's correction of the birth date through a shared person answers
    what it answers for a person only 1480 knows (no 409 person_shared), changes nothing of
    1481's placement and writes nothing into its history; a correction with scope '*' reaches
    1481's record and shows there as "corrected by another municipality", without its client or
    reason; `person_conflict` tells the national level (only it) that the records disagree.
`lock` (ctest tenancy_person_lock_first), psql sessions of the daemon's role calling api.post as
the daemon does, the race held open deterministically (a session waits until the other is seen
blocked on a lock in pg_stat_activity):
  - correction_waits_for_person_lock: 1480's correction through its placement while 1481's create
    of a placement of the same person is open (it holds the person's lock): after both commit,
    1481's placement still has 1481's birth date and no event of the correction;
  - two_corrections_from_two_placements: two corrections with scope '*' of one person through its
    1480 and its 1481 placement, both queued behind a session holding the person's lock: both
    succeed (no deadlock), one after the other, and every record ends with the later value.

Usage: test_person_scope.py oracle|lock   (with RB_FIXTURE set)"""
import hashlib
import json
import os
import re
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import api_json, check, fixture_env, summary  # noqa: E402

FX = fixture_env()
with open(FX["RB_CONF"]) as f:
    APP_DB = next(l.split("=", 1)[1].strip() for l in f if re.match(r"\s*db\s*=", l))
CTX = ssl.create_default_context(cafile=FX["RB_CA"])
W80, W81, ADMIN = FX["RB_TOKEN_W1480"], FX["RB_TOKEN_W1481"], FX["RB_TOKEN_ADMIN"]
TAG = f"{os.getpid()}{time.time_ns() % 10**9}"
SEQ = [0]


def api(method, path, token, body=None):
    """(status, parsed JSON) of one request; every POST with a fresh Idempotency-Key."""
    key = None
    if method == "POST":
        SEQ[0] += 1
        key = f"ps-{TAG}-{SEQ[0]}"
    return api_json(CTX, FX["RB_URL"] + path, method, token, body, key, 120,
                    "application/json; charset=utf-8")


def dossier(label):
    SEQ[0] += 1
    return f"PS{label}{TAG}x{SEQ[0]}"


def create(token, dossier_number, birth, muni, assigned, moved_in=None, uam=None):
    body = {"dossier_number": dossier_number, "birth_date": birth, "municipality": muni,
            "assigned_on": assigned}
    if moved_in:
        body["moved_in_on"] = moved_in
    if uam is not None:
        body["former_uam"] = uam
    return api("POST", "/v1/placements", token, body)


def normal(body):
    """An answer without what differs between two placements anyway: ids, dossier, times."""
    if not isinstance(body, dict):
        return body
    out = {k: v for k, v in body.items() if k not in ("id", "dossier_number")}
    if isinstance(out.get("events"), list):
        out["events"] = [{k: v for k, v in e.items() if k != "recorded_at"} for e in out["events"]]
    return out


def same_as_control(name, got, control):
    check(name, got == control, f"\n  got     {json.dumps(got)[:600]}\n  control {json.dumps(control)[:600]}")


def text_of(obj):
    return json.dumps(obj)


# ---------------------------------------------------------------------------------- oracle

def no_foreign_former_uam():
    d = dossier("U")
    st, a = create(W80, d, "2001-04-04", "1480", "2024-01-10", "2024-01-10", uam=True)
    check("no_foreign_former_uam: 1480 records the person as former UAM", st == 201, f"{st} {a}")
    st, _ = api("POST", f"/v1/placements/{a.get('id')}/move-out", W80,
                {"date": "2024-02-01", "reason": "other_municipality"})
    check("no_foreign_former_uam: 1480's placement ends", st == 200, f"{st}")
    st, b = create(W81, d, "2001-04-04", "1481", "2024-02-01", "2024-02-01")
    st_c, c = create(W81, dossier("C"), "2001-04-04", "1481", "2024-02-01", "2024-02-01")
    check("no_foreign_former_uam: 1481's create without the flag is 201", st == 201 and st_c == 201,
          f"{st} {b}")
    check("no_foreign_former_uam: 1481 is answered former_uam false, not 1480's true",
          b.get("former_uam") is False, f"{b.get('former_uam')}")
    same_as_control("no_foreign_former_uam: the answer is that for an unknown dossier",
                    normal(b), normal(c))
    st, g = api("GET", f"/v1/placements/{b.get('id')}", W81)
    check("no_foreign_former_uam: 1481 reads former_uam false", st == 200 and
          g.get("former_uam") is False and "true" not in text_of(g.get("events")), f"{st} {g}")


def latest_through():
    """A `through` every version of the run rules accepts: the latest of any run, at least
    2024-06-30 (the months this test looks at)."""
    out = subprocess.run(["psql", "-X", "-Atq", FX["RB_DB_ADMIN"], "-c",
                          "SELECT greatest(date '2024-06-30', max(through)) FROM accrual_runs"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def codes_of(acc):
    return sorted({line["code"] for line in acc.get("lines", []) if line.get("owed_ore")})


def no_birth_date_oracle():
    d = dossier("B")
    # 1480: a child (18 in 2028), in January 2024.
    st, a = create(W80, d, "2010-01-01", "1480", "2024-01-10", "2024-01-10")
    check("no_birth_date_oracle: 1480 records a child", st == 201, f"{st} {a}")
    st, _ = api("POST", f"/v1/placements/{a.get('id')}/move-out", W80,
                {"date": "2024-02-01", "reason": "other_municipality"})
    # 1481 guesses wrong (an adult's birth date): 201 as for an unknown dossier.
    st, b = create(W81, d, "1990-01-01", "1481", "2024-02-01", "2024-02-01")
    st_c, c = create(W81, dossier("C"), "1990-01-01", "1481", "2024-02-01", "2024-02-01")
    check("no_birth_date_oracle: a wrong birth date is 201 (no 409 person_mismatch)",
          st == 201 and st_c == 201, f"{st} {b}")
    same_as_control("no_birth_date_oracle: the wrong guess is answered as an unknown dossier",
                    normal(b), normal(c))
    check("no_birth_date_oracle: 1481 sees its own birth date", b.get("birth_date") == "1990-01-01",
          f"{b.get('birth_date')}")
    # Another dossier, guessed right: the same answer.
    d2 = dossier("R")
    _, a2 = create(W80, d2, "2010-01-01", "1480", "2023-01-10", "2023-01-10")
    api("POST", f"/v1/placements/{a2.get('id')}/move-out", W80,
        {"date": "2023-02-01", "reason": "other_municipality"})
    st, r = create(W81, d2, "2010-01-01", "1481", "2024-02-01", "2024-02-01")
    st_c, c2 = create(W81, dossier("C"), "2010-01-01", "1481", "2024-02-01", "2024-02-01")
    same_as_control("no_birth_date_oracle: the right guess is answered as an unknown dossier",
                    (st, normal(r)), (st_c, normal(c2)))
    # The money follows what each municipality recorded, so the ledger tells nothing either.
    for pid, token in ((a.get("id"), W80), (b.get("id"), W81)):
        api("POST", f"/v1/placements/{pid}/move-out", token,
            {"date": "2024-03-01", "reason": "other"})
    st, run = api("POST", "/v1/accruals/run", ADMIN, {"through": latest_through()})
    check("no_birth_date_oracle: an accrual run", st == 200, f"{st} {run}")
    _, acc_a = api("GET", f"/v1/placements/{a.get('id')}/accruals", W80)
    _, acc_b = api("GET", f"/v1/placements/{b.get('id')}/accruals", W81)
    check("no_birth_date_oracle: 1480's placement accrues child days",
          "DAY_CHILD" in codes_of(acc_a) and "DAY_ADULT" not in codes_of(acc_a), f"{acc_a}")
    check("no_birth_date_oracle: 1481's placement accrues adult days (its own birth date)",
          "DAY_ADULT" in codes_of(acc_b) and "DAY_CHILD" not in codes_of(acc_b), f"{acc_b}")
    st, g = api("GET", f"/v1/placements/{b.get('id')}", ADMIN)
    check("no_birth_date_oracle: the national level sees the conflict (person_conflict)",
          st == 200 and g.get("person_conflict") is True, f"{st} {g.get('person_conflict')}")
    st, g = api("GET", f"/v1/placements/{b.get('id')}", W81)
    check("no_birth_date_oracle: a municipality is not told of it", st == 200 and
          "person_conflict" not in g, f"{st} {sorted(g)}")


def no_foreign_correction_text():
    d = dossier("K")
    secret = f"reason-of-1480-{TAG}"
    st, a = create(W80, d, "2000-03-03", "1480", "2024-01-10", "2024-01-10")
    api("POST", f"/v1/placements/{a.get('id')}/move-out", W80,
        {"date": "2024-02-01", "reason": "other_municipality"})
    st, b = create(W81, d, "2000-03-03", "1481", "2024-02-01", "2024-02-01")
    check("no_foreign_correction_text: the person is placed in 1480 and 1481", st == 201, f"{st} {b}")
    _, before = api("GET", f"/v1/placements/{b.get('id')}", W81)
    # The control: a person only 1480 knows, the same facts and the same correction.
    st, k = create(W80, dossier("C"), "2000-03-03", "1480", "2024-01-10", "2024-01-10")
    api("POST", f"/v1/placements/{k.get('id')}/move-out", W80,
        {"date": "2024-02-01", "reason": "other_municipality"})
    corr = {"field": "birth_date", "value": "2000-04-04", "reason": secret}
    st, ca = api("POST", f"/v1/placements/{a.get('id')}/corrections", W80, corr)
    st_k, ck = api("POST", f"/v1/placements/{k.get('id')}/corrections", W80, corr)
    check("no_foreign_correction_text: 1480's correction is 200 (no 409 person_shared)",
          st == 200 and st_k == 200, f"{st} {ca}")
    same_as_control("no_foreign_correction_text: answered as for a person only 1480 knows",
                    normal(ca), normal(ck))
    _, after = api("GET", f"/v1/placements/{b.get('id')}", W81)
    check("no_foreign_correction_text: 1481's placement is unchanged (birth date, history)",
          after == before, f"\n  before {text_of(before)[:500]}\n  after  {text_of(after)[:500]}")
    check("no_foreign_correction_text: 1480's reason is nowhere in 1481's placement",
          secret not in text_of(after), text_of(after)[:500])
    st, g = api("GET", f"/v1/placements/{a.get('id')}", ADMIN)
    check("no_foreign_correction_text: the records now disagree (person_conflict for '*')",
          g.get("person_conflict") is True, f"{g.get('person_conflict')}")
    # The national level resolves it: every record, and 1481 sees the fact without the text.
    national = f"national-{TAG}"
    st, n = api("POST", f"/v1/placements/{a.get('id')}/corrections", ADMIN,
                {"field": "birth_date", "value": "2000-05-05", "reason": national})
    check("no_foreign_correction_text: a correction with scope '*' is 200", st == 200, f"{st} {n}")
    _, b2 = api("GET", f"/v1/placements/{b.get('id')}", W81)
    last = (b2.get("events") or [{}])[-1]
    check("no_foreign_correction_text: it reaches 1481's record", b2.get("birth_date") == "2000-05-05",
          f"{b2.get('birth_date')}")
    check("no_foreign_correction_text: 1481's history says 'corrected by another municipality'",
          last.get("type") == "correction" and last.get("field") == "birth_date"
          and last.get("reason") == "corrected by another municipality"
          and last.get("client") is None, f"{last}")
    check("no_foreign_correction_text: no corrector's text in 1481's placement",
          national not in text_of(b2) and secret not in text_of(b2), text_of(b2)[:500])
    _, a2 = api("GET", f"/v1/placements/{a.get('id')}", W80)
    check("no_foreign_correction_text: the corrector's own placement keeps the reason",
          (a2.get("events") or [{}])[-1].get("reason") == national, f"{a2.get('events')}")
    st, g = api("GET", f"/v1/placements/{b.get('id')}", ADMIN)
    check("no_foreign_correction_text: resolved (person_conflict false)",
          g.get("person_conflict") is False, f"{g.get('person_conflict')}")


# ---------------------------------------------------------------------------------- lock

def client_id(token):
    h = hashlib.sha256(token.encode()).hexdigest()
    out = subprocess.run(["psql", "-X", "-Atq", APP_DB, "-c",
                          f"SELECT id FROM api.client_by_token('{h}')"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def sq(s):
    return "'" + s.replace("'", "''") + "'"


def post_sql(op, cid, scope, args):
    return (f"SELECT status || ' ' || body FROM api.post({sq(op)}, {cid}, {sq(scope)}, NULL, NULL, "
            f"{sq(json.dumps(args))}::jsonb);")


class Session:
    """A psql session of the daemon's role, fed statement by statement."""

    def __init__(self):
        self.p = subprocess.Popen(["psql", "-X", "-Atq", "-v", "ON_ERROR_STOP=0", APP_DB],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)

    def run(self, sql, marker):
        """Sends sql and waits for the marker line; returns the lines before it."""
        self.p.stdin.write(sql + f"\n\\echo {marker}\n")
        self.p.stdin.flush()
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line or line.strip() == marker:
                break
            lines.append(line.rstrip("\n"))
        return lines

    def send(self, sql):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.flush()

    def finish(self):
        out, _ = self.p.communicate("", timeout=60)
        return out


def blocked(label, n):
    """Waits until n sessions whose statement holds label wait on a lock."""
    deadline = time.monotonic() + 20
    q = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
         f"AND query LIKE {sq('%' + label + '%')} AND pid <> pg_backend_pid()")
    while time.monotonic() < deadline:
        out = subprocess.run(["psql", "-X", "-Atq", APP_DB, "-c", q], capture_output=True,
                             text=True)
        if out.stdout.strip() == str(n):
            return True
        time.sleep(0.1)
    return False


def correction_waits_for_person_lock(c80, c81):
    d = dossier("L")
    st, a = create(W80, d, "2000-01-01", "1480", "2024-01-10", "2024-01-10")
    api("POST", f"/v1/placements/{a.get('id')}/move-out", W80,
        {"date": "2024-02-01", "reason": "other_municipality"})
    check("correction_waits_for_person_lock: 1480's placement", st == 201, f"{st} {a}")
    label = f"race-{TAG}"
    s1 = Session()
    out = s1.run("BEGIN;\n" + post_sql("placement_create", c81, "1481", {
        "dossier_number": d, "birth_date": "2000-01-01", "municipality": "1481",
        "assigned_on": "2024-02-01", "moved_in_on": "2024-02-01"}), "created")
    created = out[-1] if out else ""
    b_id = json.loads(created.split(" ", 1)[1]).get("id") if created.startswith("201 ") else None
    check("correction_waits_for_person_lock: 1481's create is open (it holds the person)",
          b_id is not None, f"{out}")
    s2 = Session()
    s2.send(post_sql("placement_correct", c80, "1480", {
        "id": a.get("id"), "field": "birth_date", "value": "2000-02-02", "reason": label}))
    check("correction_waits_for_person_lock: the correction waits on a lock", blocked(label, 1))
    s1.run("COMMIT;", "committed")
    s1.finish()
    res = s2.finish()
    check("correction_waits_for_person_lock: the correction is 200", res.startswith("200 "), res[:300])
    if b_id is None:
        return
    _, b = api("GET", f"/v1/placements/{b_id}", W81)
    check("correction_waits_for_person_lock: 1481's placement keeps 1481's birth date",
          b.get("birth_date") == "2000-01-01", f"{b.get('birth_date')}")
    check("correction_waits_for_person_lock: and has no event of 1480's correction",
          label not in text_of(b) and all(e.get("type") != "correction" for e in b.get("events", [])),
          text_of(b.get("events"))[:500])
    _, a2 = api("GET", f"/v1/placements/{a.get('id')}", W80)
    check("correction_waits_for_person_lock: 1480's placement has the correction",
          a2.get("birth_date") == "2000-02-02", f"{a2.get('birth_date')}")


def two_corrections_from_two_placements(cadmin):
    d = dossier("T")
    _, a = create(W80, d, "2000-01-01", "1480", "2024-01-10", "2024-01-10")
    api("POST", f"/v1/placements/{a.get('id')}/move-out", W80,
        {"date": "2024-02-01", "reason": "other_municipality"})
    st, b = create(W81, d, "2000-01-01", "1481", "2024-02-01", "2024-02-01")
    check("two_corrections_from_two_placements: the person is placed in 1480 and 1481",
          st == 201, f"{st} {b}")
    label = f"two-{TAG}"
    holder = Session()
    out = holder.run("BEGIN;\nSELECT set_config('reimbursed.scope', '*', true) IS NOT NULL;\n"
                     f"SELECT id > 0 FROM persons WHERE dossier_number = {sq(d)} FOR UPDATE;",
                     "held")
    check("two_corrections_from_two_placements: a session holds the person's lock",
          out[-1:] == ["t"], f"{out}")
    s1, s2 = Session(), Session()
    s1.send(post_sql("placement_correct", cadmin, "*", {
        "id": a.get("id"), "field": "birth_date", "value": "2000-02-02", "reason": label + "-a"}))
    if not blocked(label, 1):
        check("two_corrections_from_two_placements: the first correction waits", False)
    s2.send(post_sql("placement_correct", cadmin, "*", {
        "id": b.get("id"), "field": "birth_date", "value": "2000-03-03", "reason": label + "-b"}))
    check("two_corrections_from_two_placements: both corrections wait on a lock", blocked(label, 2))
    holder.run("COMMIT;", "committed")
    holder.finish()
    r1, r2 = s1.finish(), s2.finish()
    check("two_corrections_from_two_placements: both are 200 (no deadlock)",
          r1.startswith("200 ") and r2.startswith("200 "), f"\n  {r1[:300]}\n  {r2[:300]}")
    _, ga = api("GET", f"/v1/placements/{a.get('id')}", ADMIN)
    _, gb = api("GET", f"/v1/placements/{b.get('id')}", ADMIN)
    check("two_corrections_from_two_placements: both records end with the later value",
          ga.get("birth_date") == gb.get("birth_date") == "2000-03-03",
          f"{ga.get('birth_date')} {gb.get('birth_date')}")
    n_a = sum(1 for e in ga.get("events", []) if e.get("type") == "correction")
    n_b = sum(1 for e in gb.get("events", []) if e.get("type") == "correction")
    check("two_corrections_from_two_placements: each placement has both corrections",
          n_a == 2 and n_b == 2, f"{n_a} {n_b}")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "oracle":
        no_foreign_former_uam()
        no_birth_date_oracle()
        no_foreign_correction_text()
    elif mode == "lock":
        c80, c81, cadmin = client_id(W80), client_id(W81), client_id(ADMIN)
        correction_waits_for_person_lock(c80, c81)
        two_corrections_from_two_placements(cadmin)
    else:
        print(__doc__)
        return 2
    return summary()


if __name__ == "__main__":
    sys.exit(main())
