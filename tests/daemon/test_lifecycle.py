#!/usr/bin/env python3
"""The daemon as systemd and an operator see it: the sd_notify protocol (READY, STATUS, WATCHDOG,
RELOADING, STOPPING) on a NOTIFY_SOCKET this test provides; SIGHUP swapping the certificate for new
handshakes while an open connection keeps working, and refusing a bad configuration; SIGTERM
draining a request in flight and exiting 0; /metrics (on its own plain-HTTP listener,
metrics_listen) parsed with the Prometheus client's parser;
mutual TLS with a certificate bound to the client.

Each part starts its own reimbursed against the ctest fixture's database.
Usage: test_lifecycle.py REIMBURSED REIMBURSECTL   (with RB_FIXTURE set)"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, env_file, free_port, summary  # noqa: E402

DAEMON, CTL = sys.argv[1], sys.argv[2]
FX = os.environ["RB_FIXTURE"]


ENV = env_file(os.path.join(FX, "env"))
WORK = tempfile.mkdtemp(prefix="rb-life-")


def make_cert(name, ca=None, cn="localhost"):
    """A key and certificate; self-signed server cert, or a client cert signed by ca."""
    key, crt = os.path.join(WORK, name + ".key"), os.path.join(WORK, name + ".pem")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                   check=True)
    if ca is None:
        subprocess.run(["openssl", "req", "-x509", "-new", "-key", key, "-out", crt, "-days", "2",
                        "-subj", f"/CN={cn}", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True,
                       stderr=subprocess.DEVNULL)
    else:
        csr = os.path.join(WORK, name + ".csr")
        subprocess.run(["openssl", "req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={cn}"],
                       check=True)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0],
                        "-CAcreateserial", "-out", crt, "-days", "2"], check=True,
                       stderr=subprocess.DEVNULL)
    return key, crt


def base_config():
    with open(ENV["RB_CONF"]) as f:
        return [l for l in f if not re.match(r"\s*(port|tls_cert|tls_key|tls_client_ca)\s*=", l)]


DAEMONS = []


class Daemon:
    def __init__(self, name, cert, key, extra="", env=None):
        DAEMONS.append(self)
        self.port = free_port()
        self.conf = os.path.join(WORK, name + ".conf")
        self.logpath = os.path.join(WORK, name + ".log")
        self.lines = base_config()
        self.write(cert, key, extra)
        self.log = open(self.logpath, "w")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([DAEMON, "-c", self.conf], stdout=self.log, stderr=self.log,
                                     env=e)

    def write(self, cert, key, extra=""):
        with open(self.conf, "w") as f:
            f.writelines(self.lines)
            f.write(f"port = {self.port}\ntls_cert = {cert}\ntls_key = {key}\n{extra}")

    def wait_ready(self, ca):
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if https(ca, self.port, "GET", "/readyz")[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop(self, signal_it=True):
        if signal_it and self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = -9
        self.log.close()
        return rc

    def logtext(self):
        with open(self.logpath) as f:
            return f.read()


def context(ca, client=None):
    ctx = ssl.create_default_context(cafile=ca)
    if client:
        ctx.load_cert_chain(client[1], client[0])
    return ctx


def request_on(sock, method, path, token=None, body=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    data = body.encode() if body else b""
    head += f"Content-Length: {len(data)}\r\n\r\n"
    sock.sendall(head.encode() + data)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    headers, rest = buf.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", headers).group(1))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return int(headers.split(b" ", 2)[1]), rest[:length].decode()


def https(ca, port, method, path, token=None, body=None, client=None):
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        with context(ca, client).wrap_socket(raw, server_hostname="localhost") as s:
            return request_on(s, method, path, token, body)


def peer_fingerprint(tls_sock):
    import hashlib
    return hashlib.sha256(tls_sock.getpeercert(binary_form=True)).hexdigest()


def test_notify_and_reload():
    key1, crt1 = make_cert("server1")
    key2, crt2 = make_cert("server2")
    bundle = os.path.join(WORK, "both.pem")
    with open(bundle, "w") as f:
        f.write(open(crt1).read() + open(crt2).read())
    cert, keyp = os.path.join(WORK, "live.pem"), os.path.join(WORK, "live.key")
    shutil.copy(crt1, cert)
    shutil.copy(key1, keyp)
    sock_path = os.path.join(WORK, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(sock_path)
    ns.settimeout(10)
    d = Daemon("notify", cert, keyp, env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "300000"})
    msgs = []

    def wait_for(pred, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            for m in msgs:
                if pred(m):
                    return m
            try:
                ns.settimeout(max(0.05, end - time.time()))
                msgs.append(ns.recv(4096).decode())
            except socket.timeout:
                break
        return None

    ready = wait_for(lambda m: "READY=1" in m)
    check("READY=1 is sent with a STATUS", ready and "STATUS=" in ready, repr(ready))
    t0 = time.time()
    msgs.clear()
    wd = wait_for(lambda m: m == "WATCHDOG=1", 3)
    check("WATCHDOG=1 is sent from the loop within the interval", wd is not None,
          f"after {time.time() - t0:.2f}s")
    check("the daemon serves", d.wait_ready(bundle))

    # An open keep-alive connection made with the first certificate.
    raw = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    old = context(bundle).wrap_socket(raw, server_hostname="localhost")
    st, _ = request_on(old, "GET", "/healthz")
    fp_old = peer_fingerprint(old)
    check("keep-alive connection before the reload", st == 200)

    shutil.copy(crt2, cert)
    shutil.copy(key2, keyp)
    msgs.clear()
    d.proc.send_signal(signal.SIGHUP)
    rel = wait_for(lambda m: "RELOADING=1" in m)
    check("SIGHUP sends RELOADING=1 with MONOTONIC_USEC", rel and "MONOTONIC_USEC=" in rel, repr(rel))
    again = wait_for(lambda m: "READY=1" in m)
    check("and READY=1 after the reload", again is not None)
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as raw2:
        with context(bundle).wrap_socket(raw2, server_hostname="localhost") as new:
            st2, _ = request_on(new, "GET", "/healthz")
            fp_new = peer_fingerprint(new)
    check("a new handshake gets the new certificate", st2 == 200 and fp_new != fp_old)
    st3, _ = request_on(old, "GET", "/healthz")
    check("the open connection was not dropped and still works", st3 == 200)
    old.close()

    # A bad configuration is refused; the running one stays.
    d.write(cert, keyp, "no_such_key = 1\n")
    msgs.clear()
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda m: "READY=1" in m)
    time.sleep(0.2)
    check("a bad configuration is refused with a log line",
          "reload refused" in d.logtext() and "no_such_key" in d.logtext())
    check("and the daemon keeps serving", https(bundle, d.port, "GET", "/healthz")[0] == 200)
    d.write(cert, os.path.join(WORK, "missing.key"))
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    check("a missing key file is refused too",
          https(bundle, d.port, "GET", "/healthz")[0] == 200 and "tls_key" in d.logtext())

    msgs.clear()
    d.proc.send_signal(signal.SIGTERM)
    stop = wait_for(lambda m: "STOPPING=1" in m)
    check("SIGTERM sends STOPPING=1", stop is not None)
    check("and the daemon exits 0", d.stop() == 0)
    ns.close()


def test_drain():
    key, crt = make_cert("drain")
    d = Daemon("drain", crt, key)
    check("drain daemon ready", d.wait_ready(crt))
    token = ENV["RB_TOKEN_W1480"]
    # Hold a lock so a request stays in flight while SIGTERM arrives.
    locker = subprocess.Popen(["psql", ENV["RB_DB_ADMIN"], "-q", "-c",
                               "BEGIN; LOCK TABLE placements IN ACCESS EXCLUSIVE MODE; "
                               "SELECT pg_sleep(3); COMMIT;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.4)
    result = {}

    def slow():
        t = time.time()
        try:
            result["status"] = https(crt, d.port, "GET", "/v1/placements?limit=1", token)[0]
        except Exception as e:  # noqa: BLE001
            result["error"] = repr(e)
        result["seconds"] = time.time() - t

    th = threading.Thread(target=slow)
    th.start()
    # SIGTERM only once the request is really in flight: its statement waits on the lock.
    deadline = time.time() + 10
    while time.time() < deadline:
        waiting = subprocess.run(["psql", ENV["RB_DB_ADMIN"], "-qAt", "-c",
                                  "SELECT count(*) FROM pg_stat_activity WHERE "
                                  "application_name = 'reimbursed' AND wait_event_type = 'Lock'"],
                                 capture_output=True, text=True).stdout.strip()
        if waiting not in ("", "0"):
            break
        time.sleep(0.05)
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    refused = False
    try:
        https(crt, d.port, "GET", "/healthz")
    except OSError:
        refused = True
    check("after SIGTERM new connections are not accepted", refused)
    th.join(20)
    locker.wait(20)
    check("the request in flight finishes with 200", result.get("status") == 200,
          f"{result} after {result.get('seconds', 0):.2f}s")
    rc = d.stop(signal_it=False)
    check("the daemon exits 0 after draining", rc == 0, f"exit {rc}")


def test_metrics():
    key, crt = make_cert("metrics")
    mport = free_port()  # /metrics is served on its own plain-HTTP listener
    d = Daemon("metrics", crt, key, f"metrics_listen = 127.0.0.1:{mport}\n")
    check("metrics daemon ready", d.wait_ready(crt))
    for _ in range(5):
        https(crt, d.port, "GET", "/healthz")
    https(crt, d.port, "GET", "/v1/placements", "rb_" + "x" * 43)
    scrape = http.client.HTTPConnection("127.0.0.1", mport, timeout=10)
    scrape.request("GET", "/metrics")
    resp = scrape.getresponse()
    st, text = resp.status, resp.read().decode()
    scrape.close()
    from prometheus_client.parser import text_string_to_metric_families
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    req = fams.get("reimbursed_http_requests")
    samples = {(s.labels.get("route"), s.labels.get("status")): s.value for s in req.samples} \
        if req else {}
    check("metrics parse with the Prometheus parser", st == 200 and req is not None)
    check("requests are counted by route and status",
          samples.get(("/healthz", "200"), 0) >= 5 and samples.get(("/v1/placements", "401")) == 1,
          str(samples))
    hist = fams.get("reimbursed_http_request_duration_seconds")
    count = [s.value for s in hist.samples if s.name.endswith("_count")] if hist else []
    check("the latency histogram counts every request", count and count[0] >= 6, str(count))
    pool = fams.get("reimbursed_db_pool_connections")
    states = {s.labels["state"]: s.value for s in pool.samples} if pool else {}
    check("pool connections by state", set(states) == {"busy", "idle", "down"}
          and sum(states.values()) == 4, str(states))
    check("db errors and waiting requests are there",
          "reimbursed_db_errors" in fams and "reimbursed_db_waiting_requests" in fams)
    check("no token or dossier number in the metrics", "rb_" not in text)
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as raw:
        with context(crt).wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: trace-42\r\n"
                         b"Connection: close\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
    check("X-Request-Id is echoed", b"X-Request-Id: trace-42" in head, head[:200])
    https(crt, d.port, "GET", "/healthz")
    log = d.logtext()
    line = [l for l in log.splitlines() if "id=trace-42" in l]
    check("one log line per request with method, route, status, duration, client and id",
          line and re.search(r"GET /healthz 200 [0-9.]+ms client=- id=trace-42", line[0]), line)
    check("a generated request id when none is given",
          re.search(r"GET /healthz 200 [0-9.]+ms client=- id=[0-9a-f]{16}$", log, re.M) is not None)
    check("the log never carries a token", "rb_" not in log)
    check("metrics daemon exits 0", d.stop() == 0)


def test_mtls():
    key, crt = make_cert("mtls-server")
    ca = make_cert("client-ca", cn="reimbursed test CA")
    bound = make_cert("client-bound", ca=ca, cn="kommun-1480")
    other = make_cert("client-other", ca=ca, cn="someone-else")
    name = f"mtls-{os.getpid()}"
    out = subprocess.run([CTL, "-c", ENV["RB_CONF"], "client", "add", "--name", name, "--role",
                          "read", "--scope", "1480", "--cert", bound[1]],
                         capture_output=True, text=True, check=True).stdout
    token = out.strip().splitlines()[-1]
    d = Daemon("mtls", crt, key, f"tls_client_ca = {ca[1]}\n")
    up = False
    for _ in range(100):
        try:
            # /readyz: serving through the database (its role checked), not only listening
            up = https(crt, d.port, "GET", "/readyz", client=bound)[0] == 200
            if up:
                break
            time.sleep(0.1)
        except OSError:
            time.sleep(0.1)
    check("mtls daemon ready", up)
    try:
        https(crt, d.port, "GET", "/healthz")
        nocert = "served"
    except (ssl.SSLError, OSError) as e:
        nocert = "refused: " + type(e).__name__
    check("without a client certificate the handshake is refused", nocert.startswith("refused"),
          nocert)
    check("the bound certificate with its token is served",
          https(crt, d.port, "GET", "/v1/placements?limit=1", token, client=bound)[0] == 200)
    check("another certificate of the same CA with that token is 401",
          https(crt, d.port, "GET", "/v1/placements?limit=1", token, client=other)[0] == 401)
    check("the bound certificate without a token is 401",
          https(crt, d.port, "GET", "/v1/placements?limit=1", client=bound)[0] == 401)
    check("mtls daemon exits 0", d.stop() == 0)


def main():
    try:
        for t in (test_notify_and_reload, test_drain, test_metrics, test_mtls):
            try:
                t()
            except Exception as e:  # noqa: BLE001
                check(t.__name__ + " ran to the end", False, repr(e))
    finally:
        for d in DAEMONS:  # a test that failed half-way must not leave its daemon running
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        shutil.rmtree(WORK, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
