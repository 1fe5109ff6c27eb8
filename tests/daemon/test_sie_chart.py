#!/usr/bin/env python3
"""Issue 16 item 12, sie_chart is validated at start and at reload, and the nightly SIE file uses
the chart the API uses:
  - a bad item (unknown name, bad account number, a name given twice) stops the start with
    FILE:LINE and a non-zero exit (also with -t);
  - on SIGHUP a bad chart is refused with a log line naming FILE:LINE, and the running chart
    stays (the API's export still shows its accounts); a good new chart takes effect;
  - `reimbursectl -c CONF report` writes ledger.se with the same accounts (#KONTO) as
    GET /v1/exports/sie under the same configuration.

Starts its own reimbursed against the ctest fixture's database.
Usage: test_sie_chart.py REIMBURSED REIMBURSECTL   (with RB_FIXTURE set)"""
import datetime
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, fixture_env, free_port, summary  # noqa: E402

DAEMON, CTL = sys.argv[1], sys.argv[2]
FX = fixture_env()
WORK = tempfile.mkdtemp(prefix="rb-chart-")
MUNI = "1484"  # Lysekil: no other test writes it
GOOD = "receivable=1511,bank=1931,reclaim=2891"
NEXT = "receivable=1512,bank=1932,reclaim=2892"


def base_lines():
    with open(FX["RB_CONF"]) as f:
        return [l for l in f if not re.match(r"\s*(port|sie_chart)\s*=", l)]


def write_conf(path, port, chart_line):
    with open(path, "w") as f:
        f.writelines(base_lines())
        f.write(f"port = {port}\n{chart_line}\n")


def request(port, method, path, token, body=None):
    ctx = ssl.create_default_context(cafile=FX["RB_CA"])
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = str(uuid.uuid4())
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def konto(sie_bytes):
    """The account numbers declared with #KONTO."""
    return sorted(int(m) for m in re.findall(rb"^#KONTO (\d+) ", sie_bytes, re.M))


def export(port):
    st, data = request(port, "GET", f"/v1/exports/sie?municipality={MUNI}&include=payments",
                       FX["RB_TOKEN_ADMIN"])
    return st, data


def wait_ready(port, proc):
    end = time.time() + 20
    while time.time() < end and proc.poll() is None:
        try:
            ctx = ssl.create_default_context(cafile=FX["RB_CA"])
            c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=2)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def test_start_refused():
    cases = [("sie_chart = bank=1930,debtors=1510", "unknown account name"),
             ("sie_chart = bank=19x0", "bank"),
             ("sie_chart = bank=1930,bank=1931", "twice")]
    for i, (line, what) in enumerate(cases):
        conf = os.path.join(WORK, f"bad{i}.conf")
        write_conf(conf, free_port(), line)
        nline = len(base_lines()) + 2
        for args in ([DAEMON, "-c", conf, "-t"], [DAEMON, "-c", conf]):
            try:
                p = subprocess.run(args, capture_output=True, text=True, timeout=10)
                rc, err = p.returncode, p.stderr
            except subprocess.TimeoutExpired:
                rc, err = "still running after 10 s", ""
            check(f"sie_chart_bad_item_refused_at_start ({' '.join(args[3:]) or 'start'}): "
                  f"{line!r} exits non-zero with FILE:LINE",
                  rc != 0 and f"{conf}:{nline}:" in err and what in err, f"rc={rc} err={err!r}")


def test_reload_and_nightly():
    port = free_port()
    conf = os.path.join(WORK, "good.conf")
    write_conf(conf, port, f"sie_chart = {GOOD}")
    logpath = os.path.join(WORK, "good.log")
    log = open(logpath, "w")
    proc = subprocess.Popen([DAEMON, "-c", conf], stdout=log, stderr=log)
    try:
        check("the daemon starts with a good sie_chart", wait_ready(port, proc))
        today = datetime.date.today().isoformat()
        st, body = request(port, "POST", "/v1/payments", FX["RB_TOKEN_ADMIN"],
                           {"municipality": MUNI, "paid_on": today, "amount_ore": 12345,
                            "reference": "chart-" + uuid.uuid4().hex[:8],
                            "month": today[:7]})
        check("a payment for the export", st == 201, f"{st} {body[:200]!r}")
        st, sie = export(port)
        k = konto(sie)
        check("the export uses the configured chart", st == 200 and 1931 in k and 1511 in k
              and 1930 not in k and 1513 not in k, f"{st} {k}")

        # Reload with a bad chart: refused, logged with FILE:LINE, the running chart stays.
        write_conf(conf, port, "sie_chart = bank=1931,bank=1939")
        nline = len(base_lines()) + 2
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        with open(logpath) as f:
            text = f.read()
        check("sie_chart_bad_item_refused_at_reload: logged with FILE:LINE",
              "reload refused" in text and f"{conf}:{nline}:" in text and "twice" in text,
              text[-400:])
        st, sie = export(port)
        check("sie_chart_bad_item_refused_at_reload: the running chart stays",
              st == 200 and konto(sie) == k, f"{st} {konto(sie)} vs {k}")

        # Reload with a good new chart: it takes effect.
        write_conf(conf, port, f"sie_chart = {NEXT}")
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        st, sie = export(port)
        k2 = konto(sie)
        check("a good new chart takes effect at reload", st == 200 and 1932 in k2 and 1512 in k2,
              f"{st} {k2}")

        # The nightly file under the same configuration has the same accounts.
        out = os.path.join(WORK, "reports")
        tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
        p = subprocess.run([CTL, "-c", conf, "report", "--date", tomorrow, "--out", out],
                           capture_output=True, text=True, timeout=300)
        path = os.path.join(out, MUNI, "ledger.se")
        check("reimbursectl report writes the municipality's ledger.se",
              p.returncode == 0 and os.path.exists(path), p.stderr[-400:])
        nightly = open(path, "rb").read() if os.path.exists(path) else b""
        st, sie = export(port)
        check("sie_chart_nightly_same_as_api: ledger.se declares the API export's accounts",
              konto(nightly) == konto(sie) and 1932 in konto(nightly),
              f"nightly {konto(nightly)} api {konto(sie)}")
        tr = sorted(set(re.findall(rb"#TRANS (\d+) ", nightly)))
        ta = sorted(set(re.findall(rb"#TRANS (\d+) ", sie)))
        check("sie_chart_nightly_same_as_api: and books on the same accounts", tr == ta,
              f"nightly {tr} api {ta}")
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main():
    test_start_refused()
    test_reload_and_nightly()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
