#!/usr/bin/env python3
"""A write whose outcome is unknown is never answered "retry" (issue 16, item 2).

The fault hook is the test's own, in SQL, made by the cluster's superuser (over RB_DB_ADMIN's
socket): a DEFERRABLE INITIALLY DEFERRED constraint trigger on `persons` that sleeps at COMMIT
for as long as the test's table `rb_test_commit_delay` says for the new person's dossier number
(by its md5, so that no dossier number is in the statements PostgreSQL logs). So only the test's own
placements are slowed, and only at COMMIT, after the statement itself has finished.

Scenarios, each with db_prepared on and off (only off behind the fixture's pgbouncer):
  commit_delayed_past_deadline   COMMIT sleeps twice request_timeout_s: the server must give up
                                 before the daemon does, so the answer is 503 + Retry-After and
                                 nothing is written (checked once the sleep would have ended);
                                 a 503 for a row that is committed afterwards is the finding.
  write_blocked_by_lock          the statement waits for a lock past the deadline: the server's
                                 timeout ends it (503, nothing written once the lock is gone).
  queued_write_times_out         the pool's one connection is busy, so the write waits in the
                                 queue for most of its deadline; the server's timeout must be
                                 what is left, not the whole request_timeout_s.
  backend_killed_during_commit   pg_terminate_backend on the daemon's backend while COMMIT sleeps:
                                 504 outcome_unknown, no Retry-After, a message naming the
                                 Idempotency-Key; the repeat with the same key records it once.
  run_connection_lost            an accrual run's connections ended while one of its journals
                                 sleeps at COMMIT: 504 outcome_unknown (some municipalities may be
                                 posted); the repeat with the same key completes the run.
  backend_frozen_during_commit   SIGSTOP on that backend while COMMIT sleeps (a server that stops
                                 answering): the daemon's deadline passes after COMMIT was sent,
                                 so 504 outcome_unknown; after SIGCONT the repeat with the same
                                 key leaves exactly one placement.
Rule checked for every answer: never a 503 when the row is committed; 503 only when the database
afterwards holds nothing.

Starts its own reimbursed against the ctest fixture's database.
Usage: test_outcome_unknown.py REIMBURSED   (with RB_FIXTURE set)"""
import hashlib
import http.client
import json
import os
import pwd
import re
import signal
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, env_file, free_port, stop_process, summary  # noqa: E402

TIMEOUT_S = 2
SLACK_S = 0.6
RUN = f"{os.getpid()}-{int(time.time())}"

HOOK_SQL = """
CREATE TABLE IF NOT EXISTS rb_test_commit_delay (dossier text PRIMARY KEY, seconds float8 NOT NULL);
-- A person's insert sleeps at COMMIT while its dossier's md5 has a row; an accrual run's
-- journals (trigger argument 'journal') while the row 'journal' says so.
CREATE OR REPLACE FUNCTION rb_test_commit_delay_fn() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    k text := TG_ARGV[0];
    s float8;
BEGIN
    IF k IS NULL THEN
        k := md5(NEW.dossier_number);
    END IF;
    SELECT seconds INTO s FROM rb_test_commit_delay WHERE dossier = k;
    IF s IS NOT NULL AND s > 0 THEN
        PERFORM pg_sleep(s);
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS rb_test_commit_delay ON persons;
CREATE CONSTRAINT TRIGGER rb_test_commit_delay AFTER INSERT ON persons
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rb_test_commit_delay_fn();
DROP TRIGGER IF EXISTS rb_test_journal_delay ON journal;
CREATE CONSTRAINT TRIGGER rb_test_journal_delay AFTER INSERT ON journal
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rb_test_commit_delay_fn('journal');
"""
UNHOOK_SQL = """
DROP TRIGGER IF EXISTS rb_test_commit_delay ON persons;
DROP TRIGGER IF EXISTS rb_test_journal_delay ON journal;
DROP FUNCTION IF EXISTS rb_test_commit_delay_fn();
DROP FUNCTION IF EXISTS rb_test_journal_delay_fn();
DROP TABLE IF EXISTS rb_test_commit_delay;
"""


def superuser_db(fx):
    """The cluster's superuser over the fixture's socket (local trust, as ops/lib.sh sets it up):
    it may see and end the daemon's backends and reads through row-level security."""
    su = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    return re.sub(r"\buser=\S+", f"user={su}", fx["RB_DB_ADMIN"])


def psql(fx, sql):
    out = subprocess.run(["psql", "-X", "-Atq", "-v", "ON_ERROR_STOP=1", fx["SU_DB"]],
                         input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return out.stdout.strip()


def md5(dossier):
    """The dossier number as the test's SQL names it: never the number itself, which the log
    test (logs_no_secrets) looks for in PostgreSQL's log."""
    return hashlib.md5(dossier.encode()).hexdigest()


def delay(fx, dossier, seconds):
    name = dossier if dossier == "journal" else md5(dossier)
    psql(fx, f"INSERT INTO rb_test_commit_delay VALUES ('{name}', {seconds}) "
             f"ON CONFLICT (dossier) DO UPDATE SET seconds = EXCLUDED.seconds;")


def placements_of(fx, dossier):
    """Placements committed for the dossier (as the superuser, which row-level security spares)."""
    return int(psql(fx, "SELECT count(*) FROM placements p JOIN persons per ON per.id = p.person_id"
                        f" WHERE md5(per.dossier_number) = '{md5(dossier)}';") or 0)


def sleeping_backend(fx, wait_s=5.0):
    """The pid of the backend sleeping in the test's trigger, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < wait_s:
        pid = psql(fx, "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                       "AND datname = current_database() AND pid <> pg_backend_pid() LIMIT 1;")
        if pid:
            return int(pid)
        time.sleep(0.02)
    return None


def request(ctx, port, method, path, token, body=None, key=None):
    """(status, headers dict lower-case, parsed JSON or None, seconds)."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    hdrs = {"Authorization": f"Bearer {token}", "Host": "localhost"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if key is not None:
        hdrs["Idempotency-Key"] = key
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        took = time.monotonic() - t0
        h = {k.lower(): v for k, v in r.getheaders()}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return r.status, h, parsed, took
    finally:
        conn.close()


def placement(dossier):
    return {"dossier_number": dossier, "birth_date": "1990-05-17", "municipality": "1480",
            "assigned_on": "2024-01-10", "moved_in_on": "2024-01-10"}


def err_code(parsed):
    return ((parsed or {}).get("error") or {}).get("code")


def rule(tag, fx, dossier, status, hdrs, parsed):
    """The issue's rule for one answer, checked against what the database holds now."""
    n = placements_of(fx, dossier)
    if status == 503:
        check(f"{tag}: a 503 only when nothing was written", n == 0,
              f"503 {err_code(parsed)} but {n} placement(s) committed")
    if status == 504:
        check(f"{tag}: a 504 is outcome_unknown without Retry-After",
              err_code(parsed) == "outcome_unknown" and "retry-after" not in hdrs,
              f"{err_code(parsed)} retry-after={hdrs.get('retry-after')}")
    return n


class Daemon:
    def __init__(self, binary, fx, prepared, pool_size):
        self.mode = "on" if prepared else "off"
        with open(fx["RB_CONF"]) as f:
            conf = [l for l in f if not re.match(
                r"\s*(port|request_timeout_s|db_prepared|db_pool_size)\s*=", l)]
        self.port = free_port()
        path = os.path.join(os.environ["RB_FIXTURE"], f"outcome-{self.mode}.conf")
        with open(path, "w") as f:
            f.writelines(conf)
            f.write(f"port = {self.port}\nrequest_timeout_s = {TIMEOUT_S}\n"
                    f"db_prepared = {self.mode}\ndb_pool_size = {pool_size}\n")
        self.log = open(os.path.join(os.environ["RB_FIXTURE"], f"outcome-{self.mode}.log"), "w")
        self.proc = subprocess.Popen([binary, "-c", path], stdout=self.log, stderr=self.log)

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def wait_ready(ctx, d, token):
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        try:
            st, _, _, _ = request(ctx, d.port, "GET", "/v1/placements?limit=1", token)
            if st == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def commit_delayed_past_deadline(fx, ctx, d, token):
    tag = f"[db_prepared {d.mode}] commit_delayed_past_deadline"
    dossier = f"OU-SLOW-{d.mode}-{RUN}"
    sleep_s = 2 * TIMEOUT_S
    delay(fx, dossier, sleep_s)
    st, h, parsed, took = request(ctx, d.port, "POST", "/v1/placements", token,
                                  placement(dossier))
    print(f"# {tag}: {st} {err_code(parsed)} in {took:.2f} s")
    check(f"{tag}: answered within request_timeout_s + {SLACK_S} s", took <= TIMEOUT_S + SLACK_S,
          f"{took:.2f} s")
    time.sleep(max(0.0, sleep_s - took) + 1.0)  # until a COMMIT the daemon gave up on has landed
    n = rule(tag, fx, dossier, st, h, parsed)
    check(f"{tag}: the server gave up first: 503 with Retry-After and nothing written",
          st == 503 and "retry-after" in h and n == 0, f"{st} {err_code(parsed)}, {n} written")


def write_blocked_by_lock(fx, ctx, d, token):
    """The statement itself waits (a lock another session holds past the deadline): the server's
    statement_timeout ends it; without one (db_prepared off, before the fix) the daemon dropped
    the connection and the statement went on, and committed once the lock was gone."""
    tag = f"[db_prepared {d.mode}] write_blocked_by_lock"
    dossier = f"OU-LOCK-{d.mode}-{RUN}"
    locker = subprocess.Popen(["psql", "-X", "-q", fx["SU_DB"]], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        locker.stdin.write("BEGIN; LOCK TABLE placements IN SHARE MODE;\n")
        locker.stdin.flush()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10 and psql(fx, (
                "SELECT count(*) FROM pg_locks WHERE relation = 'placements'::regclass "
                "AND mode = 'ShareLock' AND granted;")) in ("", "0"):
            time.sleep(0.05)
        st, h, parsed, took = request(ctx, d.port, "POST", "/v1/placements", token,
                                      placement(dossier))
        print(f"# {tag}: {st} {err_code(parsed)} in {took:.2f} s")
        time.sleep(0.5)
    finally:
        locker.communicate("ROLLBACK;\n", timeout=10)
    time.sleep(1.0)  # a statement the daemon gave up on would now get the lock and commit
    check(f"{tag}: answered within request_timeout_s + {SLACK_S} s", took <= TIMEOUT_S + SLACK_S,
          f"{took:.2f} s")
    n = rule(tag, fx, dossier, st, h, parsed)
    check(f"{tag}: 503 with Retry-After and nothing written",
          st == 503 and "retry-after" in h and n == 0, f"{st} {err_code(parsed)}, {n} written")


def queued_write_times_out(fx, ctx, d, token):
    """One connection in the pool: a first write holds it (its COMMIT sleeps 1.3 s, within its
    own deadline), a second one waits behind it and then sleeps 1.5 s at COMMIT, longer than the
    ~0.7 s it has left but shorter than a whole request_timeout_s."""
    tag = f"[db_prepared {d.mode}] queued_write_times_out"
    first, second = f"OU-QA-{d.mode}-{RUN}", f"OU-QB-{d.mode}-{RUN}"
    delay(fx, first, 1.3)
    delay(fx, second, 1.5)
    out = {}

    def send(name, dossier):
        out[name] = request(ctx, d.port, "POST", "/v1/placements", token, placement(dossier))

    ta = threading.Thread(target=send, args=("a", first))
    ta.start()
    time.sleep(0.15)
    send("b", second)
    ta.join()
    st_a, _, _, _ = out["a"]
    st, h, parsed, took = out["b"]
    print(f"# {tag}: first {st_a}; queued {st} {err_code(parsed)} in {took:.2f} s")
    check(f"{tag}: the first write (within its deadline) is recorded", st_a == 201, f"{st_a}")
    check(f"{tag}: answered within request_timeout_s + {SLACK_S} s", took <= TIMEOUT_S + SLACK_S,
          f"{took:.2f} s")
    time.sleep(2.0)
    n = rule(tag, fx, second, st, h, parsed)
    check(f"{tag}: the server's timeout was the time left: 503 and nothing written",
          st == 503 and n == 0, f"{st} {err_code(parsed)}, {n} written")


def backend_fault(fx, ctx, d, token, kind):
    """kind 'kill': pg_terminate_backend; 'freeze': SIGSTOP until the daemon has answered."""
    tag = f"[db_prepared {d.mode}] backend_{'killed' if kind == 'kill' else 'frozen'}_during_commit"
    dossier = f"OU-{kind.upper()}-{d.mode}-{RUN}"
    key = f"ou-{kind}-{d.mode}-{RUN}"
    delay(fx, dossier, 0.6 * TIMEOUT_S if kind == "freeze" else 10)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", request(
        ctx, d.port, "POST", "/v1/placements", token, placement(dossier), key)))
    t.start()
    pid = sleeping_backend(fx)
    check(f"{tag}: the write's COMMIT is sleeping in the hook", pid is not None)
    stopped = False
    if pid is not None and kind == "kill":
        psql(fx, f"SELECT pg_terminate_backend({pid});")
    elif pid is not None:
        try:
            os.kill(pid, signal.SIGSTOP)
            stopped = True
        except PermissionError:
            print(f"# {tag}: may not signal the server's processes; not checked")
            t.join()
            return
    t.join()
    if stopped:
        os.kill(pid, signal.SIGCONT)
    st, h, parsed, took = out["r"]
    msg = ((parsed or {}).get("error") or {}).get("message") or ""
    print(f"# {tag}: {st} {err_code(parsed)} in {took:.2f} s: {msg}")
    check(f"{tag}: answered within request_timeout_s + {SLACK_S} s", took <= TIMEOUT_S + SLACK_S,
          f"{took:.2f} s")
    time.sleep(1.0 + (0.6 * TIMEOUT_S if stopped else 0))
    rule(tag, fx, dossier, st, h, parsed)
    check(f"{tag}: 504 outcome_unknown", st == 504 and err_code(parsed) == "outcome_unknown",
          f"{st} {err_code(parsed)}")
    check(f"{tag}: ... telling to repeat with the same Idempotency-Key or look the record up",
          "Idempotency-Key" in msg and "look" in msg, msg)
    delay(fx, dossier, 0)
    st2, _, parsed2, _ = request(ctx, d.port, "POST", "/v1/placements", token, placement(dossier),
                                 key)
    n = placements_of(fx, dossier)
    print(f"# {tag}: the repeat with the same key: {st2}; {n} placement(s)")
    check(f"{tag}: the repeat with the same key leaves exactly one placement",
          st2 == 201 and n == 1, f"{st2} {err_code(parsed2)}, {n} placements")


def run_connection_lost(fx, ctx, d):
    """run_connection_lost: an accrual run whose connections are all ended while a municipality's
    journal sleeps at COMMIT; others may be posted already, so not 503 'retry' but 504
    outcome_unknown; the repeat with the same key completes the run."""
    tag = "accrual run_connection_lost"
    through = psql(fx, "SELECT coalesce(max(through), current_date - 400) FROM accrual_runs "
                       "WHERE status = 'done';")
    body = {"through": through}
    key = f"ou-run-{RUN}"
    delay(fx, "journal", 10)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", request(
        ctx, d.port, "POST", "/v1/accruals/run", fx["RB_TOKEN_ADMIN"], body, key)))
    t.start()
    pid = sleeping_backend(fx, 15)
    delay(fx, "journal", 0)
    check(f"{tag}: a municipality's journal is sleeping at COMMIT", pid is not None)
    psql(fx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name LIKE 'reimbursed accrual%';")
    t.join()
    st, h, parsed, took = out["r"]
    print(f"# {tag}: {st} {err_code(parsed)} in {took:.2f} s")
    check(f"{tag}: 504 outcome_unknown without Retry-After",
          st == 504 and err_code(parsed) == "outcome_unknown" and "retry-after" not in h,
          f"{st} {err_code(parsed)} retry-after={h.get('retry-after')}")
    st2, _, parsed2, _ = request(ctx, d.port, "POST", "/v1/accruals/run", fx["RB_TOKEN_ADMIN"],
                                 body, key)
    print(f"# {tag}: the repeat with the same key: {st2} {(parsed2 or {}).get('status')}")
    check(f"{tag}: the repeat with the same key completes the run",
          st2 == 200 and (parsed2 or {}).get("status") == "done", f"{st2} {parsed2}")


def run(binary, fx, ctx, prepared):
    token = fx["RB_TOKEN_W1480"]
    d = Daemon(binary, fx, prepared, 2)
    try:
        check(f"[db_prepared {d.mode}] daemon ready", wait_ready(ctx, d, token))
        commit_delayed_past_deadline(fx, ctx, d, token)
        write_blocked_by_lock(fx, ctx, d, token)
        backend_fault(fx, ctx, d, token, "kill")
        wait_ready(ctx, d, token)
        backend_fault(fx, ctx, d, token, "freeze")
        # Behind a transaction pooler an idle client connection outlives its server's end.
        if prepared and fx.get("RB_PGBOUNCER") != "1":
            run_connection_lost(fx, ctx, d)
    finally:
        d.stop()
    d = Daemon(binary, fx, prepared, 1)
    try:
        check(f"[db_prepared {d.mode}] one-connection daemon ready", wait_ready(ctx, d, token))
        queued_write_times_out(fx, ctx, d, token)
    finally:
        d.stop()


def main():
    binary = sys.argv[1]
    fx = env_file(os.path.join(os.environ["RB_FIXTURE"], "env"))
    fx["SU_DB"] = superuser_db(fx)
    ctx = ssl.create_default_context(cafile=fx["RB_CA"])
    modes = (False,) if fx.get("RB_PGBOUNCER") == "1" else (True, False)
    psql(fx, HOOK_SQL)
    try:
        for prepared in modes:
            run(binary, fx, ctx, prepared)
    finally:
        psql(fx, UNHOOK_SQL)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
