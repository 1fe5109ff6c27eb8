"""A statement that outlives request_timeout_s ends in 503 on time, with and without the server's
statement_timeout: with db_prepared on the server cancels it; with db_prepared off (behind a
transaction pooler, where the daemon sets no session state) the pool drops the connection at the
request's deadline. A table lock held by another session makes the statement wait. Afterwards the
daemon serves again, and /readyz answers through a real statement.

Starts its own reimbursed against the ctest fixture's database. Run: ./ops/test -k deadline."""
import json
import re
import socket
import subprocess
import time

import pytest

TIMEOUT_S = 2


def hold_lock(fx):
    """A psql session holding an ACCESS EXCLUSIVE lock on placements; (process, held)."""
    locker = subprocess.Popen(["psql", "-X", "-q", fx.db_admin], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    locker.stdin.write("BEGIN; LOCK TABLE placements IN ACCESS EXCLUSIVE MODE;\n")
    locker.stdin.flush()
    held = False
    t0 = time.monotonic()
    while not held and time.monotonic() - t0 < 10:
        out = fx.psql("SELECT count(*) FROM pg_locks WHERE relation = 'placements'::regclass "
                      "AND mode = 'AccessExclusiveLock' AND granted", check=False)
        held = out not in ("", "0")
        if not held:
            time.sleep(0.05)
    return locker, held


@pytest.mark.parametrize("mode", ["on", "off"])
def test_blocked_statement_gets_503_on_time(fx, daemon, mode):
    # Behind the fixture's pgbouncer (transaction pooling) prepared statements cannot work.
    if mode == "on" and fx.pgbouncer:
        pytest.skip("db_prepared on behind pgbouncer")
    d = daemon(f"deadline-{mode}", {"request_timeout_s": TIMEOUT_S, "db_prepared": mode})
    assert d.wait_ready() == 200, f"[db_prepared {mode}] ready through a real statement"
    token = fx.token["w1480"]
    d.get("/v1/placements?limit=1", token)  # warm: connection, prepared statements
    locker, held = hold_lock(fx)
    try:
        assert held, f"[db_prepared {mode}] the table lock is held"
        status, took, data = d.get("/v1/placements?limit=1", token)
        body = data.split(b"\r\n\r\n", 1)[-1]
        code = json.loads(body).get("error", {}).get("code") if body.startswith(b"{") else None
        print(f"# [db_prepared {mode}] blocked statement answered {status} {code} in {took:.2f} s "
              f"(request_timeout_s {TIMEOUT_S})")
        assert status == 503, f"[db_prepared {mode}] a blocked statement gets 503: {status}"
        assert b"Retry-After:" in data, f"[db_prepared {mode}] ... with Retry-After"
        assert took <= TIMEOUT_S + 0.5, \
            f"[db_prepared {mode}] ... within request_timeout_s + 0.5 s: {took:.2f} s"
    finally:
        locker.communicate("ROLLBACK;\n", timeout=10)
    time.sleep(0.5)
    t0 = time.monotonic()
    status = 0
    while time.monotonic() - t0 < 5 and status != 200:
        status = d.get("/v1/placements?limit=1", token)[0]
    took = time.monotonic() - t0
    assert status == 200, \
        f"[db_prepared {mode}] served again once the lock is gone: {status} after {took:.2f} s"


def test_silent_first_host_is_given_up(fx, daemon):
    """The first host of a multi-host conninfo accepts TCP and never answers (a hung server): the
    pool must give the attempt up and start at the next host, and be ready within seconds."""
    if fx.pgbouncer:
        pytest.skip("behind pgbouncer")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # never accepted: connects complete, the startup packet gets no answer
    sport = silent.getsockname()[1]
    host = re.search(r"host=(\S+)", fx.app_db).group(1)
    pgport = re.search(r"port=(\S+)", fx.app_db).group(1)
    rest = re.sub(r"(host|port)=\S+", "", fx.app_db).strip()
    try:
        t0 = time.monotonic()
        d = daemon("deadline-silent", {"request_timeout_s": TIMEOUT_S,
                                       "db": f"host=127.0.0.1,{host} port={sport},{pgport} {rest}"})
        status = d.wait_ready()
        took = time.monotonic() - t0
        print(f"# first host silent: ready after {took:.1f} s")
        assert status == 200, \
            f"a silent first host is given up and the next one used: {status} after {took:.1f} s"
        assert took <= TIMEOUT_S + 3, \
            f"... within the connect deadline (min(request_timeout_s, 5 s)) + 3 s: {took:.1f} s"
    finally:
        silent.close()
