#!/usr/bin/env python3
"""Issue 16 item 13, large reads do not block the event loop or grow memory: the SIE export of a
municipality with LINES posting lines (payment journals made in SQL) is streamed from PostgreSQL
as it is written to the client, with flow control on the client's socket:
  - a client that reads the first bytes and then stops reading: the daemon stops reading the
    statement's rows, so the export's statement is still running in PostgreSQL (with the
    whole reply built in memory first, it has long finished) and the daemon's RSS stays flat;
  - GET /healthz answers within HEALTHZ_MS while the export runs;
  - the streamed file is complete and correct (every journal a balanced #VER, every line a
    #TRANS, the chunked reply properly ended) and the same bytes twice;
  - the reconciliation CSV and the ledger listing answer as before while streamed.

Uses the ctest fixture's daemon and database (municipality STREAM_MUNI, which no other test
writes). Usage: test_stream.py   (with RB_FIXTURE set)"""
import http.client
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, fixture_env, summary  # noqa: E402

FX = fixture_env()
LINES = int(os.environ.get("RB_STREAM_LINES", "20000"))
STREAM_MUNI = "1485"  # Uddevalla
# The bench's target is 50 ms (ops/bench/run --only stream); here, on a machine shared with other
# test runs, a looser bound: the loop must not be held for the export's length.
HEALTHZ_MS = int(os.environ.get("RB_STREAM_HEALTHZ_MS", "250"))
HOST, PORT = re.match(r"https://([^:/]+):(\d+)", FX["RB_URL"]).groups()
PORT = int(PORT)
PATH = f"/v1/exports/sie?municipality={STREAM_MUNI}&include=payments"


def conninfo(user):
    return re.sub(r"user=\S+", f"user={user}", FX["RB_DB_ADMIN"])


def psql(sql, user="postgres"):
    p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", conninfo(user),
                        "-c", sql], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return p.stdout.strip()


def make_data():
    """LINES/2 payment journals of two lines each, once."""
    have = int(psql(f"SELECT count(*) FROM postings WHERE municipality = '{STREAM_MUNI}'"))
    if have >= LINES:
        return
    psql(f"""
BEGIN;
WITH j AS (INSERT INTO journal (kind, cause, municipality, service_month)
           SELECT 'payment', 'Utbetalning strömtest ' || g, '{STREAM_MUNI}', date '2024-01-01'
             FROM generate_series(1, {LINES // 2}) g RETURNING id)
INSERT INTO postings (journal_id, kind, account, municipality, month, amount_ore)
SELECT j.id, 'payment', a.account, '{STREAM_MUNI}', date '2024-01-01',
       a.sign * (1000 + j.id % 977)
  FROM j, (VALUES (1, 'bank', 1), (2, 'receivable', -1)) a(k, account, sign)
 ORDER BY j.id, a.k;
COMMIT;""")


def tls_context():
    return ssl.create_default_context(cafile=FX["RB_CA"])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def asan_kib_slack(pid):
    """ASan keeps freed memory in its quarantine (256 MiB by default), so under the sanitizer
    build RSS grows with every allocation whatever the flow control does: allow 64 MiB there
    (the benchmark measures the real figure on the plain build)."""
    with open(f"/proc/{pid}/maps") as f:
        return 65536 if "libasan" in f.read() else 0


def healthz_ms(conn):
    t0 = time.monotonic()
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    r.read()
    return (time.monotonic() - t0) * 1000, r.status


def export_whole():
    """(status, headers, body) of the export read at full speed."""
    c = http.client.HTTPSConnection(HOST, PORT, context=tls_context(), timeout=60)
    c.request("GET", PATH, headers={"Authorization": f"Bearer {FX['RB_TOKEN_ADMIN']}"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def statement_running():
    """The daemon's export statement still runs (seen as the daemon's own role)."""
    n = psql("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
             "AND state = 'active' AND query ~ 'api\\.sie_(rows|stream)\\('", "reimbursed_app")
    return int(n) > 0


def start_export(timeout, extra=""):
    """A TLS connection with a small receive buffer that asked for the export and read its first
    32 KiB (less if the reply ended); (socket, bytes read)."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    raw.settimeout(timeout)
    raw.connect((HOST, PORT))
    s = tls_context().wrap_socket(raw, server_hostname="localhost")
    s.sendall(f"GET {PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
              f"{FX['RB_TOKEN_ADMIN']}\r\n{extra}\r\n".encode())
    got = b""
    while len(got) < 32768:
        chunk = s.recv(16384)
        if not chunk:
            break
        got += chunk
    return s, got


def test_stalled_client():
    """Reads the headers and a little, then stops reading for a while."""
    s, got = start_export(30, "Connection: close\r\n")
    rss0 = rss_kib(int(FX["RB_DAEMON_PID"]))
    running = False
    end = time.monotonic() + 2.0
    while time.monotonic() < end and not running:
        running = statement_running()
        time.sleep(0.1)
    rss1 = rss_kib(int(FX["RB_DAEMON_PID"]))
    if FX.get("RB_PGBOUNCER") == "1":
        # Behind pgbouncer the socket buffers between the daemon and pgbouncer (TCP, grown by
        # the kernel to megabytes) take the rest of the rows: the statement may finish though
        # the daemon stopped reading. Its memory is what the next check looks at.
        check("stream_flow_control: (behind pgbouncer the statement's end is not checked)", True)
    else:
        check("stream_flow_control: while the client does not read, the export's statement "
              "waits in PostgreSQL (the daemon stopped reading its rows)", running,
              f"read {len(got)} bytes; statement running: {running}")
    bound = 8192 + asan_kib_slack(int(FX["RB_DAEMON_PID"]))
    check(f"stream_flow_control: and the daemon's RSS stays flat meanwhile (< {bound // 1024} MiB "
          "growth)", rss1 - rss0 < bound, f"{rss0} -> {rss1} KiB")
    # Read the rest: the reply still completes.
    rest = got
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    s.close()
    check("stream_flow_control: a stalled client still gets the whole reply afterwards",
          rest.endswith(b"\r\n0\r\n\r\n") or rest.endswith(b"}\r\n"), repr(rest[-40:]))


def test_healthz_during_export():
    worst = [0.0]
    stop = threading.Event()
    statuses = []

    def poll():
        c = http.client.HTTPSConnection(HOST, PORT, context=tls_context(), timeout=10)
        while not stop.is_set():
            ms, st = healthz_ms(c)
            statuses.append(st)
            worst[0] = max(worst[0], ms)
            time.sleep(0.005)
        c.close()

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    st, headers, body = export_whole()
    secs = time.monotonic() - t0
    stop.set()
    t.join()
    check(f"stream_healthz: GET /healthz answers within {HEALTHZ_MS} ms during the export",
          worst[0] < HEALTHZ_MS and statuses and all(x == 200 for x in statuses),
          f"max {worst[0]:.1f} ms over {len(statuses)} requests; export {len(body)} bytes in "
          f"{secs:.2f} s")
    return st, headers, body


def test_complete(st, headers, body):
    check("the export answers 200, IBM437, chunked",
          st == 200 and headers.get("content-type") == "text/plain; charset=IBM437"
          and headers.get("transfer-encoding") == "chunked", f"{st} {headers}")
    text = body.decode("cp437")
    vers = re.findall(r"^#VER ", text, re.M)
    trans = re.findall(r"^\s*#TRANS (\d+) \{\} (-?\d+\.\d\d)", text, re.M)
    want_j = int(psql(f"SELECT count(*) FROM journal WHERE municipality = '{STREAM_MUNI}'"))
    want_p = int(psql(f"SELECT count(*) FROM postings WHERE municipality = '{STREAM_MUNI}'"))
    check("stream_complete: one #VER per journal and one #TRANS per line",
          len(vers) == want_j and len(trans) == want_p,
          f"{len(vers)} #VER of {want_j}, {len(trans)} #TRANS of {want_p}")
    bank = sum(round(float(a) * 100) for n, a in trans if n == "1930")
    want_bank = int(psql(f"SELECT coalesce(sum(amount_ore), 0) FROM postings WHERE "
                         f"municipality = '{STREAM_MUNI}' AND account = 'bank'"))
    check("stream_complete: the lines sum as the ledger does", bank == want_bank,
          f"bank {bank} vs {want_bank}")
    check("stream_complete: the file ends with its last verification, CRLF",
          text.endswith("}\r\n") and "#KONTO 1930 " in text and "#KONTO 1513 " in text,
          repr(text[-40:]))
    st2, _, body2 = export_whole()
    check("stream_complete: the same bytes twice", st2 == 200 and body2 == body)


def test_other_reads():
    c = http.client.HTTPSConnection(HOST, PORT, context=tls_context(), timeout=60)
    h = {"Authorization": f"Bearer {FX['RB_TOKEN_ADMIN']}"}
    c.request("GET", f"/v1/reports/reconciliation?municipality={STREAM_MUNI}&month=2024-01"
              "&format=csv", headers=h)
    r = c.getresponse()
    csv = r.read()
    check("the reconciliation CSV answers (streamed)", r.status == 200 and csv.startswith(
        b"municipality;month;dossier_number;") and csv.endswith(b"\r\n"), repr(csv[:120]))
    c.request("GET", f"/v1/ledger/entries?municipality={STREAM_MUNI}&limit=1000", headers=h)
    r = c.getresponse()
    body = r.read()
    check("the ledger listing answers a full page with a next cursor",
          r.status == 200 and body.count(b'"journal_id"') == 1000
          and b'"next_cursor" : "' in body, repr(body[-120:]))
    c.close()


def test_gone_midway():
    """A client that leaves mid-export: the daemon drops the rest and keeps serving."""
    for _ in range(3):
        raw = socket.create_connection((HOST, PORT), timeout=30)
        s = tls_context().wrap_socket(raw, server_hostname="localhost")
        s.sendall(f"GET {PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                  f"{FX['RB_TOKEN_ADMIN']}\r\n\r\n".encode())
        s.recv(4096)
        s.close()
    time.sleep(0.5)
    c = http.client.HTTPSConnection(HOST, PORT, context=tls_context(), timeout=10)
    ms, st = healthz_ms(c)
    c.close()
    st2, _, body = export_whole()
    check("stream_client_gone: after clients left mid-export the daemon serves the export again",
          st == 200 and st2 == 200 and body.endswith(b"}\r\n"), f"{st} {st2} {len(body)}")


def request_timeout_s():
    with open(FX["RB_CONF"]) as f:
        m = re.search(r"(?m)^\s*request_timeout_s\s*=\s*(\d+)", f.read())
    return int(m.group(1)) if m else 10


def test_deadline_midway():
    """A client that stops reading for longer than request_timeout_s: the statement is ended
    at the request's deadline, and the reply is cut short (no last chunk, the connection
    closed), never left hanging nor passed off as complete."""
    s, got = start_export(60)
    time.sleep(request_timeout_s() + 2)
    t0 = time.monotonic()
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        closed = True
    except (socket.timeout, ssl.SSLError, ConnectionError):
        closed = False
    s.close()
    check("stream_deadline: a reply stalled past the request deadline is cut short and closed",
          closed and not got.endswith(b"\r\n0\r\n\r\n"),
          f"closed={closed} after {time.monotonic() - t0:.1f} s, {len(got)} bytes, "
          f"tail {got[-20:]!r}")
    st2, _, body = export_whole()
    check("stream_deadline: and the daemon serves the export again", st2 == 200 and
          body.endswith(b"}\r\n"), f"{st2} {len(body)}")


def main():
    make_data()
    test_stalled_client()
    st, headers, body = test_healthz_during_export()
    test_complete(st, headers, body)
    test_other_reads()
    test_gone_midway()
    test_deadline_midway()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
