#!/usr/bin/env python3
"""tls_ticket_keys_rotate: the daemon's TLS session-ticket keys survive a reload and rotate.

Starts its own reimbursed (the ctest fixture's configuration on another port) and resumes TLS
sessions with Python's ssl module, for TLS 1.2 and TLS 1.3 each:
1. a session resumes after SIGHUP (the reload builds a new SSL_CTX; the key ring is kept);
2. with `tls_ticket_rotate_s = 3` (set by a second reload), a ticket issued right after a
   rotation still resumes after the next rotation (the previous key decrypts), and after the
   one after that it does not: a full handshake, and the request is still served;
3. with `tls_client_ca` (mutual TLS), a reload with the same CA file keeps resumption, one whose
   CA file changed ends it (the session id context is the file's digest): a ticket from before
   must not skip the new CA's verification.
The rotations are seen in the daemon's log ("session ticket key rotated").
Usage: test_tls_tickets.py REIMBURSED_BIN (with RB_FIXTURE set)."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, env_file, free_port, summary  # noqa: E402

ROTATE_S = 3
VERSIONS = {"TLS 1.2": ssl.TLSVersion.TLSv1_2, "TLS 1.3": ssl.TLSVersion.TLSv1_3}


def client_ctx(cafile, version):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = version
    ctx.maximum_version = version
    return ctx


def get(ctx, port, session=None):
    """GET /healthz on a new connection; (status, resumed, session)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while True:  # to the end: a TLS 1.3 ticket arrives after the handshake
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0
            return status, s.session_reused, s.session


class Daemon:
    def __init__(self, daemon_bin, conf_lines, port, name="tickets"):
        self.dir = os.environ["RB_FIXTURE"]
        self.conf_path = os.path.join(self.dir, f"{name}.conf")
        self.log_path = os.path.join(self.dir, f"{name}-daemon.log")
        self.base = conf_lines
        self.port = port
        self.write_conf("")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([daemon_bin, "-c", self.conf_path], stdout=self.log,
                                     stderr=self.log)

    def write_conf(self, extra):
        with open(self.conf_path, "w") as f:
            f.writelines(self.base)
            f.write(f"port = {self.port}\n{extra}")

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def count(self, needle):
        return self.log_text().count(needle)

    def wait_log(self, needle, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(needle) >= n:
                return True
            time.sleep(0.02)
        return False

    def reload(self, timeout=10):
        n = self.count("reloaded from") + self.count("reload refused")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count("reloaded from") + self.count("reload refused") > n:
                return "reload refused" not in self.log_text()
            time.sleep(0.02)
        return False

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def wait_ready(ctx, port):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if get(ctx, port)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def across_reload(d, ctxs):
    sessions = {}
    for name, ctx in ctxs.items():
        status, resumed, sessions[name] = get(ctx, d.port)
        check(f"[{name}] a first connection is a full handshake", status == 200 and not resumed)
        status, resumed, _ = get(ctx, d.port, sessions[name])
        check(f"[{name}] its session resumes", status == 200 and resumed)
    check("SIGHUP reloads the configuration", d.reload())
    for name, ctx in ctxs.items():
        status, resumed, _ = get(ctx, d.port, sessions[name])
        check(f"[{name}] a session from before the reload resumes after it",
              status == 200 and resumed, f"status {status}, resumed {resumed}")


def across_rotations(d, ctxs):
    needle = "session ticket key rotated"
    d.write_conf(f"tls_ticket_rotate_s = {ROTATE_S}\n")
    ok = d.reload()
    check(f"a reload sets tls_ticket_rotate_s = {ROTATE_S}", ok,
          "" if ok else d.log_text().strip().splitlines()[-1])
    k = d.count(needle)
    # Just after a rotation, so that each later step falls in the period it means.
    ok = d.wait_log(needle, k + 1, 3 * ROTATE_S)
    check("the ticket key rotates on the timer", ok, "" if ok else "no rotation in the log")
    if not ok:
        return
    sessions = {}
    for name, ctx in ctxs.items():
        status, resumed, sessions[name] = get(ctx, d.port)
        check(f"[{name}] a new session after a rotation", status == 200 and not resumed)
    check("the next rotation comes", d.wait_log(needle, k + 2, 2 * ROTATE_S))
    for name, ctx in ctxs.items():
        status, resumed, _ = get(ctx, d.port, sessions[name])
        check(f"[{name}] after one rotation its ticket is still accepted (the previous key)",
              status == 200 and resumed, f"status {status}, resumed {resumed}")
    check("and the one after it", d.wait_log(needle, k + 3, 2 * ROTATE_S))
    for name, ctx in ctxs.items():
        status, resumed, _ = get(ctx, d.port, sessions[name])
        check(f"[{name}] after two rotations its ticket is refused: a full handshake, still served",
              status == 200 and not resumed, f"status {status}, resumed {resumed}")
    check("rotations are logged once per period, not more",
          d.count(needle) <= k + 4, f"{d.count(needle) - k} rotations")


def make_ca(d, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{d}/{name}.key", "-out",
                    f"{d}/{name}.pem", "-days", "2", "-subj", f"/CN={name}"],
                   check=True, capture_output=True)


def client_cert(d):
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", f"{d}/client.key", "-out", f"{d}/client.csr", "-subj",
                    "/CN=tickets-client"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", f"{d}/client.csr", "-CA", f"{d}/ca1.pem",
                    "-CAkey", f"{d}/ca1.key", "-CAcreateserial", "-out", f"{d}/client.pem",
                    "-days", "2"], check=True, capture_output=True)


def client_ca_change(daemon_bin, conf, cafile):
    d = os.path.join(os.environ["RB_FIXTURE"], "tickets-mtls")
    os.makedirs(d, exist_ok=True)
    make_ca(d, "ca1")
    make_ca(d, "ca2")
    client_cert(d)
    bundle = f"{d}/bundle.pem"
    shutil.copy(f"{d}/ca1.pem", bundle)
    ctxs = {}
    for name, v in VERSIONS.items():
        ctxs[name] = client_ctx(cafile, v)
        ctxs[name].load_cert_chain(f"{d}/client.pem", f"{d}/client.key")
    m = Daemon(daemon_bin, conf + [f"tls_client_ca = {bundle}\n"], free_port(), "tickets-mtls")
    try:
        check("[mTLS] daemon ready", wait_ready(ctxs["TLS 1.3"], m.port))
        sessions = {name: get(ctx, m.port)[2] for name, ctx in ctxs.items()}
        check("[mTLS] a reload with the same CA file", m.reload())
        for name, ctx in ctxs.items():
            status, resumed, _ = get(ctx, m.port, sessions[name])
            check(f"[mTLS {name}] ... keeps resumption", status == 200 and resumed,
                  f"status {status}, resumed {resumed}")
        with open(bundle, "a") as f, open(f"{d}/ca2.pem") as extra:
            f.write(extra.read())
        check("[mTLS] a reload with another CA file", m.reload())
        for name, ctx in ctxs.items():
            status, resumed, _ = get(ctx, m.port, sessions[name])
            check(f"[mTLS {name}] ... ends it: a full handshake, still served",
                  status == 200 and not resumed, f"status {status}, resumed {resumed}")
    finally:
        m.stop()


def main():
    daemon_bin = sys.argv[1]
    fx = env_file(os.path.join(os.environ["RB_FIXTURE"], "env"))
    with open(fx["RB_CONF"]) as f:
        conf = [l for l in f
                if not re.match(r"\s*(port|tls_ticket_rotate_s|tls_client_ca)\s*=", l)]
    ctxs = {name: client_ctx(fx["RB_CA"], v) for name, v in VERSIONS.items()}
    d = Daemon(daemon_bin, conf, free_port())
    try:
        check("daemon ready", wait_ready(ctxs["TLS 1.3"], d.port))
        across_reload(d, ctxs)
        across_rotations(d, ctxs)
    finally:
        d.stop()
    client_ca_change(daemon_bin, conf, fx["RB_CA"])
    return summary()


if __name__ == "__main__":
    sys.exit(main())
