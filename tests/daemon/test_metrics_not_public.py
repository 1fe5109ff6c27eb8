"""/metrics is not public (issue 16, item 10): the public HTTPS port answers GET /metrics with
404 like any unknown route, token or not; the metrics are served in plain HTTP on their own
listener (`metrics_listen = ADDRESS:PORT`, the fixture's in RB_METRICS_URL), which serves nothing
else; `metrics_listen = off` serves them nowhere; a bad value is a configuration error with
file:line. /healthz and /readyz stay public and say nothing more than their status.

Starts its own reimbursed daemons against the ctest fixture's database.
Run: ./ops/test -k metrics_not_public (pytest)."""
import http.client
import json
import re
import socket
import subprocess
import urllib.parse

import pytest

from rbtest import free_port


def https(fx, port, method, path, token=None):
    """(status, body); status 0 when nothing answers."""
    try:
        r = fx.request(method, path, token, timeout=10, port=port)
        return r.status, r.body
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


def test_metrics_not_on_https_port(fx):
    st, body = https(fx, fx.port, "GET", "/metrics")
    assert st == 404 and b"reimbursed_up" not in body, \
        f"GET /metrics on the HTTPS port without a token is 404: {st} {body[:80]!r}"
    st, body = https(fx, fx.port, "GET", "/metrics", fx.token["admin"])
    assert st == 404, f"... and with an admin token too: {st} {body[:80]!r}"


def test_healthz_and_readyz_say_only_their_status(fx):
    st, body = https(fx, fx.port, "GET", "/healthz")
    assert st == 200 and json.loads(body) == {"status": "ok"}, \
        f"/healthz is public and says only ok: {body}"
    st, body = https(fx, fx.port, "GET", "/readyz")
    assert st == 200 and json.loads(body) == {"status": "ready"}, \
        f"/readyz is public and says only ready: {body}"


def test_metrics_on_own_listener(fx):
    url = fx.env.get("RB_METRICS_URL")
    assert url is not None, "the fixture exports RB_METRICS_URL"
    mport = urllib.parse.urlparse(url).port
    st, ctype, body = plain(mport, "GET", "/metrics")
    assert st == 200 and ctype.startswith("text/plain; version=0.0.4") and \
        b"reimbursed_up 1" in body and b"reimbursed_db_pool_connections" in body, \
        f"plain HTTP GET /metrics is 200 in the text format: {st} {ctype} {body[:120]!r}"
    st, _, _ = plain(mport, "GET", "/healthz")
    assert st == 404, f"the metrics listener serves nothing else (GET /healthz is 404): {st}"
    st, _, _ = plain(mport, "POST", "/metrics")
    assert st == 405, f"the metrics listener takes GET only (POST is 405): {st}"


def test_metrics_listen_on_a_chosen_port(fx, daemon):
    mport = free_port()
    d = daemon("metrics-on", {"metrics_listen": f"127.0.0.1:{mport}"})
    d.wait_ready()
    st, _, body = plain(mport, "GET", "/metrics")
    assert st == 200 and b"reimbursed_up 1" in body, \
        f"metrics_listen = 127.0.0.1:{mport} serves /metrics there: {st}"
    st, _ = https(fx, d.port, "GET", "/metrics")
    assert st == 404, f"... and not on its HTTPS port: {st}"
    assert d.stop() == 0, "that daemon exits 0"


def test_metrics_listen_off(fx, daemon):
    mport = free_port()
    # The last line wins: the port is named and then turned off.
    d = daemon("metrics-off", {"metrics_listen": [f"127.0.0.1:{mport}", "off"]})
    d.wait_ready()
    assert https(fx, d.port, "GET", "/healthz")[0] == 200, "metrics_listen_off: the daemon serves"
    assert refused(mport), "metrics_listen_off: nothing listens on the port it named before off"
    assert https(fx, d.port, "GET", "/metrics")[0] == 404, \
        "metrics_listen_off: no /metrics on the HTTPS port"
    assert d.stop() == 0, "that daemon exits 0"


@pytest.mark.parametrize("value", ["localhost:9187", "127.0.0.1", "127.0.0.1:0", "[::1]9187"])
def test_bad_metrics_listen_is_refused_with_file_line(fx, value):
    bad = fx.write_conf("metrics-bad", {"metrics_listen": value})
    with open(bad) as f:
        line = len(f.readlines())
    p = subprocess.run([fx.daemon_bin, "-c", bad, "-t"], capture_output=True, text=True)
    assert p.returncode == 2 and re.search(rf"{re.escape(bad)}:{line}: bad value for "
                                           r"'metrics_listen'", p.stderr) is not None, \
        f"metrics_listen = {value} is refused with file:line: exit {p.returncode}: {p.stderr.strip()}"
