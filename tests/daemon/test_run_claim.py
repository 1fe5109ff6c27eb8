"""An accrual run's Idempotency-Key after the daemon died during the run: the claim it left
("in progress") is taken over by the retry, which runs, while a claim whose session is alive
still answers 409 idempotency_in_progress (sql/010, sql/013). The dead and the live claimer are psql sessions
of the daemon's role that claim the key the way the daemon's run worker does.

Uses the ctest fixture's daemon and database. Run: ./ops/test -k run_claim (pytest)."""
import hashlib
import json
import os
import subprocess
import time

import pytest



@pytest.fixture
def body(fx):
    """A `through` the daemon accepts: the latest done run's (re-running it is allowed)."""
    through = fx.psql("SELECT coalesce(max(through), current_date - 400) FROM accrual_runs "
                      "WHERE status = 'done'")
    return json.dumps({"through": through}).encode()


def post_run(fx, key, body):
    r = fx.request("POST", "/v1/accruals/run", fx.token["admin"], body, timeout=120,
                   headers={"Content-Type": "application/json", "Idempotency-Key": key})
    return r.status, r.json()


def claim_sql(fx, key, body):
    """The statement the daemon's run worker claims a key with, for the admin client."""
    digest = hashlib.sha256(b"POST\n/v1/accruals/run\n" + body).hexdigest()
    token_hash = hashlib.sha256(fx.token["admin"].encode()).hexdigest()
    return (f"SELECT status FROM api.idem_claim_run((SELECT id FROM api.client_by_token("
            f"'{token_hash}')), '*', '{key}', '{digest}');")


def test_dead_claim_is_taken_over(fx, body):
    """A claimer that died: its session is gone, its claim stays without a result. Behind a
    transaction pooler the claiming server session outlives the client, so nothing is taken
    over there (the claim stays in progress, as before sql/010): not checked in that mode."""
    if fx.pgbouncer:
        pytest.skip("behind pgbouncer: the take-over of a dead claim is not observable")
    key = f"claim-dead-{os.getpid()}-{time.time_ns()}"
    out = subprocess.run(["psql", "-X", "-Atq", fx.app_db, "-c", claim_sql(fx, key, body)],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "", \
        f"a session of the daemon's role claims the key: {out.stderr.strip()[:200]}"
    status, answer = post_run(fx, key, body)
    print(f"# retry after the claimer died: {status} {json.dumps(answer)[:160]}")
    assert status == 200, f"the retry takes the dead claim over and runs: {status}"
    status2, answer2 = post_run(fx, key, body)
    assert status2 == 200 and answer2 == answer, \
        f"the key then replays the run's answer: {status2}"


def test_live_claim_is_in_progress(fx, body):
    """A claimer that is alive (a run in progress elsewhere): 409, as before."""
    key = f"claim-live-{os.getpid()}-{time.time_ns()}"
    live = subprocess.Popen(["psql", "-X", "-Atq", fx.app_db], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        live.stdin.write(claim_sql(fx, key, body) + "\n\\echo claimed\n")
        live.stdin.flush()
        line = ""
        t0 = time.monotonic()
        while "claimed" not in line and time.monotonic() - t0 < 10:
            line = live.stdout.readline()
        status, answer = post_run(fx, key, body)
        print(f"# retry while the claimer lives: {status} {json.dumps(answer)[:160]}")
        # The code is idempotency_in_progress since sql/013, as for every POST whose key is in
        # flight (was run_in_progress, which now only means another run of this daemon).
        assert status == 409 and answer.get("error", {}).get("code") == \
            "idempotency_in_progress", \
            f"a claim whose session is alive is still in progress (409): {status}"
    finally:
        live.communicate("", timeout=10)
