"""Issue 16 item 12, sie_chart is validated at start and at reload, and the nightly SIE file uses
the chart the API uses:
  - a bad item (unknown name, bad account number, a name given twice) stops the start with
    FILE:LINE and a non-zero exit (also with -t);
  - on SIGHUP a bad chart is refused with a log line naming FILE:LINE, and the running chart
    stays (the API's export still shows its accounts); a good new chart takes effect;
  - `reimbursectl -c CONF report` writes ledger.se with the same accounts (#KONTO) as
    GET /v1/exports/sie under the same configuration.

Starts its own reimbursed against the ctest fixture's database.
Run: ./ops/test -k sie_chart (pytest; a fresh municipality of the fixture's)."""
import datetime
import os
import re
import signal
import subprocess
import time
import uuid

import pytest

from rbtest import free_port

GOOD = "receivable=1511,bank=1931,reclaim=2891"
NEXT = "receivable=1512,bank=1932,reclaim=2892"


def last_line(path):
    with open(path) as f:
        return len(f.readlines())


def konto(sie_bytes):
    """The account numbers declared with #KONTO."""
    return sorted(int(m) for m in re.findall(rb"^#KONTO (\d+) ", sie_bytes, re.M))


def export(fx, port, muni):
    r = fx.request("GET", f"/v1/exports/sie?municipality={muni}&include=payments",
                   fx.token["admin"], port=port, timeout=30)
    return r.status, r.body


@pytest.mark.parametrize("line, what", [("bank=1930,debtors=1510", "unknown account name"),
                                        ("bank=19x0", "bank"),
                                        ("bank=1930,bank=1931", "twice")])
@pytest.mark.parametrize("mode", ["-t", "start"])
def test_sie_chart_bad_item_refused_at_start(fx, line, what, mode):
    conf = fx.write_conf("chart-bad", {"port": free_port(), "sie_chart": line})
    nline = last_line(conf)
    args = [fx.daemon_bin, "-c", conf] + (["-t"] if mode == "-t" else [])
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=10)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        rc, err = "still running after 10 s", ""
    assert rc != 0 and f"{conf}:{nline}:" in err and what in err, \
        f"({mode}): 'sie_chart = {line}' exits non-zero with FILE:LINE: rc={rc} err={err!r}"


def test_sie_chart_reload_and_nightly(fx, daemon, municipality, tmp_path):
    muni = municipality
    d = daemon("chart-good", {"sie_chart": GOOD})
    assert d.wait_ready() == 200, "the daemon starts with a good sie_chart"
    today = datetime.date.today().isoformat()
    r = fx.request("POST", "/v1/payments", fx.token["admin"], port=d.port, timeout=30,
                   body={"municipality": muni, "paid_on": today, "amount_ore": 12345,
                         "reference": "chart-" + uuid.uuid4().hex[:8], "month": today[:7]},
                   headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status == 201, f"a payment for the export: {r.status} {r.body[:200]!r}"
    st, sie = export(fx, d.port, muni)
    k = konto(sie)
    assert st == 200 and 1931 in k and 1511 in k and 1930 not in k and 1513 not in k, \
        f"the export uses the configured chart: {st} {k}"

    # Reload with a bad chart: refused, logged with FILE:LINE, the running chart stays.
    conf = fx.write_conf("chart-good", {"port": d.port, "sie_chart": "bank=1931,bank=1939"})
    nline = last_line(conf)
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    with open(os.path.join(fx.dir, "chart-good.log")) as f:
        text = f.read()
    assert "reload refused" in text and f"{conf}:{nline}:" in text and "twice" in text, \
        f"sie_chart_bad_item_refused_at_reload: logged with FILE:LINE: {text[-400:]}"
    st, sie = export(fx, d.port, muni)
    assert st == 200 and konto(sie) == k, \
        f"sie_chart_bad_item_refused_at_reload: the running chart stays: {st} {konto(sie)} vs {k}"

    # Reload with a good new chart: it takes effect.
    fx.write_conf("chart-good", {"port": d.port, "sie_chart": NEXT})
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    st, sie = export(fx, d.port, muni)
    k2 = konto(sie)
    assert st == 200 and 1932 in k2 and 1512 in k2, \
        f"a good new chart takes effect at reload: {st} {k2}"

    # The nightly file under the same configuration has the same accounts.
    out = str(tmp_path / "reports")
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    p = subprocess.run([fx.ctl_bin, "-c", conf, "report", "--date", tomorrow, "--out", out],
                       capture_output=True, text=True, timeout=300)
    path = os.path.join(out, muni, "ledger.se")
    assert p.returncode == 0 and os.path.exists(path), \
        f"reimbursectl report writes the municipality's ledger.se: {p.stderr[-400:]}"
    nightly = open(path, "rb").read()
    st, sie = export(fx, d.port, muni)
    assert konto(nightly) == konto(sie) and 1932 in konto(nightly), \
        f"sie_chart_nightly_same_as_api: ledger.se declares the API export's accounts: " \
        f"nightly {konto(nightly)} api {konto(sie)}"
    tr = sorted(set(re.findall(rb"#TRANS (\d+) ", nightly)))
    ta = sorted(set(re.findall(rb"#TRANS (\d+) ", sie)))
    assert tr == ta, f"sie_chart_nightly_same_as_api: and books on the same accounts: " \
        f"nightly {tr} api {ta}"
