#!/usr/bin/env python3
"""/metrics is not public (issue 16, item 10): the public HTTPS port answers GET /metrics with
404 like any unknown route, token or not; the metrics are served in plain HTTP on their own
listener (`metrics_listen = ADDRESS:PORT`, the fixture's in RB_METRICS_URL), which serves nothing
else; `metrics_listen = off` serves them nowhere; a bad value is a configuration error with
file:line. /healthz and /readyz stay public and say nothing more than their status.

Starts its own reimbursed daemons against the ctest fixture's database.
Usage: test_metrics_not_public.py REIMBURSED   (with RB_FIXTURE set)"""
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, fixture_env, free_port, summary  # noqa: E402

FX = fixture_env()
DAEMON = sys.argv[1]
WORK = os.environ["RB_FIXTURE"]


def https(port, method, path, token=None):
    """(status, body); status 0 when nothing answers."""
    ctx = ssl.create_default_context(cafile=FX["RB_CA"])
    try:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        c.request(method, path, headers={"Host": "localhost", **(
            {"Authorization": f"Bearer {token}"} if token else {})})
        r = c.getresponse()
        out = r.status, r.read()
        c.close()
        return out
    except OSError as e:
        return 0, repr(e).encode()


def plain(port, method, path):
    """(status, content type, body) over plain HTTP; status 0 when nothing answers."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request(method, path)
        r = c.getresponse()
        out = r.status, r.getheader("Content-Type", ""), r.read()
        c.close()
        return out
    except OSError as e:
        return 0, "", repr(e).encode()


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def start(name, extra):
    with open(FX["RB_CONF"]) as f:
        conf = [ln for ln in f if not re.match(r"\s*(port|metrics_listen)\s*=", ln)]
    port = free_port()
    path = os.path.join(WORK, f"metrics-{name}.conf")
    with open(path, "w") as f:
        f.writelines(conf)
        f.write(f"port = {port}\n{extra}")
    log = open(os.path.join(WORK, f"metrics-{name}.log"), "w")
    proc = subprocess.Popen([DAEMON, "-c", path], stdout=log, stderr=log)
    deadline = time.time() + 20
    while time.time() < deadline:
        if https(port, "GET", "/readyz")[0] == 200:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    return proc, port, path


def stop(proc):
    if proc.poll() is not None:
        return proc.returncode
    proc.terminate()
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def main():
    port = urllib.parse.urlparse(FX["RB_URL"]).port
    # metrics_not_on_https_port
    st, body = https(port, "GET", "/metrics")
    check("metrics_not_on_https_port: GET /metrics on the HTTPS port without a token is 404",
          st == 404 and b"reimbursed_up" not in body, f"{st} {body[:80]!r}")
    st, body = https(port, "GET", "/metrics", FX["RB_TOKEN_ADMIN"])
    check("metrics_not_on_https_port: ... and with an admin token too", st == 404,
          f"{st} {body[:80]!r}")
    # healthz and readyz say their status and nothing more
    st, body = https(port, "GET", "/healthz")
    check("/healthz is public and says only ok", st == 200 and json.loads(body) == {"status": "ok"},
          body)
    st, body = https(port, "GET", "/readyz")
    check("/readyz is public and says only ready",
          st == 200 and json.loads(body) == {"status": "ready"}, body)

    # metrics_on_own_listener: the fixture's
    url = FX.get("RB_METRICS_URL")
    check("metrics_on_own_listener: the fixture exports RB_METRICS_URL", url is not None)
    if url:
        mport = urllib.parse.urlparse(url).port
        st, ctype, body = plain(mport, "GET", "/metrics")
        check("metrics_on_own_listener: plain HTTP GET /metrics is 200 in the text format",
              st == 200 and ctype.startswith("text/plain; version=0.0.4") and
              b"reimbursed_up 1" in body and b"reimbursed_db_pool_connections" in body,
              f"{st} {ctype} {body[:120]!r}")
        st, _, _ = plain(mport, "GET", "/healthz")
        check("the metrics listener serves nothing else (GET /healthz is 404)", st == 404, st)
        st, _, _ = plain(mport, "POST", "/metrics")
        check("the metrics listener takes GET only (POST is 405)", st == 405, st)

    # metrics_listen on a port of our choosing, then off
    mport = free_port()
    proc, dport, _ = start("on", f"metrics_listen = 127.0.0.1:{mport}\n")
    try:
        st, _, body = plain(mport, "GET", "/metrics")
        check(f"metrics_listen = 127.0.0.1:{mport} serves /metrics there", st == 200 and
              b"reimbursed_up 1" in body, st)
        st, _ = https(dport, "GET", "/metrics")
        check("... and not on its HTTPS port", st == 404, st)
    finally:
        check("that daemon exits 0", stop(proc) == 0)
    mport = free_port()
    # The last line wins: the port is named and then turned off.
    proc, dport, _ = start("off", f"metrics_listen = 127.0.0.1:{mport}\nmetrics_listen = off\n")
    try:
        check("metrics_listen_off: the daemon serves", https(dport, "GET", "/healthz")[0] == 200)
        check("metrics_listen_off: nothing listens on the port it named before off",
              refused(mport))
        check("metrics_listen_off: no /metrics on the HTTPS port",
              https(dport, "GET", "/metrics")[0] == 404)
    finally:
        check("that daemon exits 0", stop(proc) == 0)

    # a bad value is a configuration error naming file and line
    with open(FX["RB_CONF"]) as f:
        conf = [ln for ln in f if not re.match(r"\s*metrics_listen\s*=", ln)]
    bad = os.path.join(WORK, "metrics-bad.conf")
    for value in ("localhost:9187", "127.0.0.1", "127.0.0.1:0", "[::1]9187"):
        with open(bad, "w") as f:
            f.writelines(conf)
            f.write(f"metrics_listen = {value}\n")
        p = subprocess.run([DAEMON, "-c", bad, "-t"], capture_output=True, text=True)
        check(f"metrics_listen = {value} is refused with file:line",
              p.returncode == 2 and re.search(rf"{re.escape(bad)}:{len(conf) + 1}: bad value for "
                                              r"'metrics_listen'", p.stderr) is not None,
              f"exit {p.returncode}: {p.stderr.strip()}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
