#!/usr/bin/env python3
"""A statement that outlives request_timeout_s ends in 503 on time, with and without the server's
statement_timeout: with db_prepared on the server cancels it; with db_prepared off (behind a
transaction pooler, where the daemon sets no session state) the pool drops the connection at the
request's deadline. A table lock held by another session makes the statement wait. Afterwards the
daemon serves again, and /readyz answers through a real statement.

Starts its own reimbursed against the ctest fixture's database.
Usage: test_deadline.py REIMBURSED   (with RB_FIXTURE set)"""
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, env_file, free_port, summary  # noqa: E402

TIMEOUT_S = 2


def get(ctx, port, path, token=None):
    """(status, seconds, headers+body bytes) of one GET on a fresh connection."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
                      .encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0
    return status, time.monotonic() - t0, data


def run(daemon, fx, prepared, ctx):
    mode = "on" if prepared else "off"
    with open(fx["RB_CONF"]) as f:
        conf = [l for l in f if not re.match(r"\s*(port|request_timeout_s|db_prepared)\s*=", l)]
    port = free_port()
    path = os.path.join(os.environ["RB_FIXTURE"], f"deadline-{mode}.conf")
    with open(path, "w") as f:
        f.writelines(conf)
        f.write(f"port = {port}\nrequest_timeout_s = {TIMEOUT_S}\ndb_prepared = {mode}\n")
    log = open(os.path.join(os.environ["RB_FIXTURE"], f"deadline-{mode}.log"), "w")
    proc = subprocess.Popen([daemon, "-c", path], stdout=log, stderr=log)
    locker = None
    try:
        deadline = time.time() + 20
        status = 0
        while time.time() < deadline and status != 200:
            try:
                status, _, _ = get(ctx, port, "/readyz")
            except OSError:
                time.sleep(0.2)
        check(f"[db_prepared {mode}] ready through a real statement", status == 200)
        token = fx["RB_TOKEN_W1480"]
        get(ctx, port, "/v1/placements?limit=1", token)  # warm: connection, prepared statements
        locker = subprocess.Popen(["psql", "-X", "-q", fx["RB_DB_ADMIN"]], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        locker.stdin.write("BEGIN; LOCK TABLE placements IN ACCESS EXCLUSIVE MODE;\n")
        locker.stdin.flush()
        held = False
        t0 = time.monotonic()
        while not held and time.monotonic() - t0 < 10:
            out = subprocess.run(
                ["psql", "-X", "-Atq", fx["RB_DB_ADMIN"], "-c",
                 "SELECT count(*) FROM pg_locks WHERE relation = 'placements'::regclass "
                 "AND mode = 'AccessExclusiveLock' AND granted"],
                capture_output=True, text=True).stdout.strip()
            held = out not in ("", "0")
            if not held:
                time.sleep(0.05)
        check(f"[db_prepared {mode}] the table lock is held", held)
        status, took, data = get(ctx, port, "/v1/placements?limit=1", token)
        body = data.split(b"\r\n\r\n", 1)[-1]
        code = json.loads(body).get("error", {}).get("code") if body.startswith(b"{") else None
        print(f"# [db_prepared {mode}] blocked statement answered {status} {code} in {took:.2f} s "
              f"(request_timeout_s {TIMEOUT_S})")
        check(f"[db_prepared {mode}] a blocked statement gets 503", status == 503, f"{status}")
        check(f"[db_prepared {mode}] ... with Retry-After", b"Retry-After:" in data)
        check(f"[db_prepared {mode}] ... within request_timeout_s + 0.5 s", took <= TIMEOUT_S + 0.5,
              f"{took:.2f} s")
    finally:
        if locker is not None:
            locker.communicate("ROLLBACK;\n", timeout=10)
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        status = 0
        while time.monotonic() - t0 < 5 and status != 200:
            status, _, _ = get(ctx, port, "/v1/placements?limit=1", fx["RB_TOKEN_W1480"])
        took = time.monotonic() - t0
        check(f"[db_prepared {mode}] served again once the lock is gone", status == 200,
              f"{status} after {took:.2f} s")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def silent_first_host(daemon, fx, ctx):
    """The first host of a multi-host conninfo accepts TCP and never answers (a hung server): the
    pool must give the attempt up and start at the next host, and be ready within seconds."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # never accepted: connects complete, the startup packet gets no answer
    sport = silent.getsockname()[1]
    with open(fx["RB_CONF"]) as f:
        lines = f.readlines()
    db = next(l for l in lines if re.match(r"\s*db\s*=", l)).split("=", 1)[1].strip()
    host = re.search(r"host=(\S+)", db).group(1)
    pgport = re.search(r"port=(\S+)", db).group(1)
    rest = re.sub(r"(host|port)=\S+", "", db).strip()
    conf = [l for l in lines if not re.match(r"\s*(port|request_timeout_s|db)\s*=", l)]
    port = free_port()
    path = os.path.join(os.environ["RB_FIXTURE"], "deadline-silent.conf")
    with open(path, "w") as f:
        f.writelines(conf)
        f.write(f"port = {port}\nrequest_timeout_s = {TIMEOUT_S}\n"
                f"db = host=127.0.0.1,{host} port={sport},{pgport} {rest}\n")
    log = open(os.path.join(os.environ["RB_FIXTURE"], "deadline-silent.log"), "w")
    proc = subprocess.Popen([daemon, "-c", path], stdout=log, stderr=log)
    try:
        t0 = time.monotonic()
        status = 0
        while time.monotonic() - t0 < 20 and status != 200:
            try:
                status, _, _ = get(ctx, port, "/readyz")
            except OSError:
                pass
            if status != 200:
                time.sleep(0.2)
        took = time.monotonic() - t0
        print(f"# first host silent: ready after {took:.1f} s")
        check("a silent first host is given up and the next one used", status == 200,
              f"{status} after {took:.1f} s")
        check("... within the connect deadline (min(request_timeout_s, 5 s)) + 3 s",
              took <= TIMEOUT_S + 3, f"{took:.1f} s")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
        silent.close()


def main():
    daemon = sys.argv[1]
    fx = env_file(os.path.join(os.environ["RB_FIXTURE"], "env"))
    ctx = ssl.create_default_context(cafile=fx["RB_CA"])
    # Behind the fixture's pgbouncer (transaction pooling) prepared statements cannot work.
    modes = (False,) if fx.get("RB_PGBOUNCER") == "1" else (True, False)
    for prepared in modes:
        run(daemon, fx, prepared, ctx)
    if fx.get("RB_PGBOUNCER") != "1":
        silent_first_host(daemon, fx, ctx)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
