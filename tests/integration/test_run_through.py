#!/usr/bin/env python3
"""A run never touches months after its own `through` (issue 16 item 1).

A run that fails part way has already posted some municipalities through its day. The fault
hook is SQL installed by this test (as the owner, RB_DB_ADMIN): a trigger on accrual_state that
fails municipality 1481's transaction, so 1480 commits and 1481 rolls back (the run ends
`failed`). Then a run with an earlier `through` must be refused with 409
`through_before_latest_run`, and nothing the failed run posted is reversed. The same holds for a
run killed part way (it stays `running`: the test marks the failed run so, which is the state a
daemon killed after 1480's commit leaves). Afterwards the hook is dropped and a run through the
later day ends `done`, so later tests see a consistent history.

With `--alongside REIMBURSECTL`: a run with an earlier `through` that started before a run with
a later one committed anything (so `api.run_begin` accepted it) must not post for a municipality
that the later run committed first, not even in its own last month: it waits for that
municipality's lock, then finds it accrued through the later day and leaves it alone (an error
for that municipality). The hook here makes the later run (HTTP) sleep before each of its
commits; the earlier one runs as `reimbursectl accrue`, since a daemon runs one run at a time.
The placement is in 0114, the lowest municipality code, so the later run takes it first.

Uses the ctest fixture's daemon and database.
Usage: test_run_through.py [--alongside REIMBURSECTL]   (with RB_FIXTURE set)"""
import datetime
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import api_json, check, fixture_env, summary  # noqa: E402

FX = fixture_env()
CTX = ssl.create_default_context(cafile=FX["RB_CA"])
HOOK = "rb_test_fault_1481"


def psql(sql):
    """One statement as the owner, scope '*' (row-level security is forced for the owner too)."""
    out = subprocess.run(["psql", "-X", "-Atq", "-v", "ON_ERROR_STOP=1", FX["RB_DB_ADMIN"],
                          "-c", "SET reimbursed.scope = '*'", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()[:300]}")
    return out.stdout.strip()


def api(method, path, token, body=None):
    key = f"run-through-{os.getpid()}-{time.time_ns()}" if body is not None else None
    return api_json(CTX, FX["RB_URL"] + path, method, token, body, key, 300)


def run(through):
    return api("POST", "/v1/accruals/run", FX["RB_TOKEN_ADMIN"], {"through": str(through)})


def placement(token, muni, moved_in):
    dossier = f"RT{time.time_ns() % 10**12}{muni}"
    st, p = api("POST", "/v1/placements", token,
                {"dossier_number": dossier, "birth_date": "1990-01-01", "municipality": muni,
                 "assigned_on": str(moved_in), "moved_in_on": str(moved_in)})
    if st != 201:
        raise RuntimeError(f"placement in {muni}: {st} {p}")
    return p["id"]


def postings(pid):
    """(count, sum) of the placement's receivable accrual postings."""
    row = psql(f"SELECT count(*), coalesce(sum(amount_ore), 0) FROM postings "
               f"WHERE placement_id = {int(pid)} AND kind = 'accrual' AND account = 'receivable'")
    n, s = row.split("|")
    return int(n), int(s)


def install_hook():
    psql(f"CREATE OR REPLACE FUNCTION {HOOK}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
         f"RAISE EXCEPTION 'test fault: municipality % fails', NEW.municipality; END $$")
    psql(f"CREATE TRIGGER {HOOK} BEFORE INSERT OR UPDATE ON accrual_state FOR EACH ROW "
         f"WHEN (NEW.municipality = '1481') EXECUTE FUNCTION {HOOK}()")


def drop_hook():
    psql(f"DROP TRIGGER IF EXISTS {HOOK} ON accrual_state")
    psql(f"DROP FUNCTION IF EXISTS {HOOK}()")


def refused_earlier(name, early, pid, before):
    st, body = run(early)
    err = body.get("error", {})
    check(f"{name}: a run through {early} is refused with 409 through_before_latest_run",
          st == 409 and err.get("code") == "through_before_latest_run"
          and err.get("field") == "through", f"{st} {json.dumps(body)[:300]}")
    after = postings(pid)
    check(f"{name}: nothing the earlier run could reverse was posted for 1480", after == before,
          f"before {before}, after {after}")


def latest_through():
    out = psql("SELECT coalesce(greatest((SELECT max(through) FROM accrual_runs "
               "WHERE status = 'done'), (SELECT max(through) FROM accrual_state))::text, '')")
    return datetime.date.fromisoformat(out) if out else None


def yesterday():
    return datetime.datetime.now(ZoneInfo("Europe/Stockholm")).date() - datetime.timedelta(1)


RACE = "rb_test_race"


def install_race_hook(late):
    """The later run sleeps 3 s before each municipality's commit, counting in a sequence
    (sequences are not transactional, so the count shows while it sleeps)."""
    psql(f"CREATE SEQUENCE {RACE}_seq")
    psql(f"CREATE OR REPLACE FUNCTION {RACE}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
         f"SET search_path = public AS $$ BEGIN PERFORM nextval('{RACE}_seq'); "
         f"PERFORM pg_sleep(3); RETURN NEW; END $$")
    psql(f"CREATE TRIGGER {RACE} BEFORE INSERT ON accrual_state FOR EACH ROW "
         f"WHEN (NEW.through = DATE '{late}') EXECUTE FUNCTION {RACE}()")


def drop_race_hook():
    psql(f"DROP TRIGGER IF EXISTS {RACE} ON accrual_state")
    psql(f"DROP FUNCTION IF EXISTS {RACE}()")
    psql(f"DROP SEQUENCE IF EXISTS {RACE}_seq")


def alongside(ctl):
    latest = latest_through() or datetime.date(2024, 1, 31)
    # Not a month's last day: the earlier run would then reverse the rest of its own month.
    early = latest if (latest + datetime.timedelta(1)).day != 1 else latest + datetime.timedelta(10)
    late = min(yesterday(), early + datetime.timedelta(days=40))
    print(f"# latest through {latest}; the later run through {late}, the earlier one {early}")
    if late <= early:
        print(f"# SKIP: the ledger is accrued through {latest}, no later past day is left")
        return summary()
    pid = placement(FX["RB_TOKEN_ADMIN"], "0114", early - datetime.timedelta(days=40))
    install_race_hook(late)
    answer = {}
    later = threading.Thread(target=lambda: answer.update(later=run(late)))
    try:
        later.start()
        deadline = time.time() + 60
        while psql(f"SELECT is_called FROM {RACE}_seq") != "t" and time.time() < deadline:
            time.sleep(0.1)
        # While the later run sleeps before its first commit (it has read the queue), a fact
        # changes: the earlier run would recompute the placement.
        st, body = api("POST", f"/v1/placements/{pid}/move-out", FX["RB_TOKEN_ADMIN"],
                       {"date": str(late), "reason": "own_housing"})
        check("0114's placement moves out while the later run is in progress", st == 200,
              f"{st} {json.dumps(body)[:200]}")
        out = subprocess.run([ctl, "-c", FX["RB_CONF"], "accrue", "--through", str(early)],
                             capture_output=True, text=True, timeout=600)
        later.join(600)
        st, a = answer.get("later", (None, {}))
        check(f"the later run through {late} ends done", st == 200 and a.get("status") == "done",
              f"{st} {json.dumps(a)[:300]}")
        try:
            b = json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            b = {}
        errs = [e for e in b.get("errors") or [] if e.get("municipality") == "0114"]
        check(f"the earlier run through {early} leaves 0114 alone: accrued through a later day",
              b.get("status") == "failed" and errs and "later run" in errs[0].get("message", ""),
              f"exit {out.returncode}: {out.stdout.strip()[:300]} {out.stderr.strip()[:200]}")
        n = psql(f"SELECT count(*) FROM postings p JOIN journal j ON j.id = p.journal_id "
                 f"WHERE p.placement_id = {int(pid)} AND j.run_id = {int(b.get('run_id') or 0)}")
        check("the earlier run posted nothing for the placement", n == "0", f"{n} postings")
    finally:
        later.join(600)
        drop_race_hook()
        st, done = run(late)
        check(f"afterwards a run through {late} ends done", st == 200
              and done.get("status") == "done", f"{st} {json.dumps(done)[:300]}")
    return summary()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--alongside":
        return alongside(sys.argv[2])
    latest = latest_through()
    early = latest or datetime.date(2024, 1, 31)
    # Half the days left before yesterday (at most 20): the --alongside run needs some too.
    room = (yesterday() - early).days
    late = early + datetime.timedelta(days=max(min(room, 1), min(20, room // 2)))
    print(f"# latest through {latest or '(none)'}; the failed run goes through {late}, "
          f"the refused one through {early}")
    if late <= early:
        print(f"# SKIP: the ledger is accrued through {early}, no later past day is left")
        return summary()
    moved_in = early - datetime.timedelta(days=20)
    p1480 = placement(FX["RB_TOKEN_W1480"], "1480", moved_in)
    placement(FX["RB_TOKEN_W1481"], "1481", moved_in)
    install_hook()
    try:
        st, failed = run(late)
        errors = failed.get("errors") or []
        check(f"a run through {late} with 1481 failing ends failed, 1481 in its errors",
              st == 200 and failed.get("status") == "failed"
              and any(e.get("municipality") == "1481" for e in errors),
              f"{st} {json.dumps(failed)[:300]}")
        # A fact that changes after the failed run puts the placement in the next run's queue,
        # so a run through an earlier day would recompute it (and reverse the later days).
        st, body = api("POST", f"/v1/placements/{p1480}/move-out", FX["RB_TOKEN_W1480"],
                       {"date": str(late), "reason": "own_housing"})
        check("1480's placement moves out on the failed run's day", st == 200,
              f"{st} {json.dumps(body)[:200]}")
        before = postings(p1480)
        check("1480 was posted through the failed run's day", before[0] > 0 and before[1] > 0,
              f"{before}")
        refused_earlier("after a failed run", early, p1480, before)

        psql(f"UPDATE accrual_runs SET status = 'running', finished_at = NULL "
             f"WHERE id = {int(failed['run_id'])}")
        refused_earlier("after a run killed part way", early, p1480, before)
        psql(f"UPDATE accrual_runs SET status = 'failed', finished_at = clock_timestamp() "
             f"WHERE id = {int(failed['run_id'])}")
    finally:
        drop_hook()
        st, done = run(late)
        check(f"without the fault a run through {late} ends done", st == 200
              and done.get("status") == "done", f"{st} {json.dumps(done)[:300]}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
