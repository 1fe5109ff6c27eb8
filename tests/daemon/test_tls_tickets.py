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
Run: ./ops/test -k tls_ticket (pytest)."""
import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest

ROTATE_S = 3
VERSIONS = {"TLS 1.2": ssl.TLSVersion.TLSv1_2, "TLS 1.3": ssl.TLSVersion.TLSv1_3}
OWN = ("tls_ticket_rotate_s", "tls_client_ca")


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


@pytest.fixture
def ctxs(fx):
    return {name: client_ctx(fx.ca, v) for name, v in VERSIONS.items()}


@pytest.fixture
def tickets(daemon, ctxs):
    d = daemon("tickets", {}, drop=OWN)
    assert wait_ready(ctxs["TLS 1.3"], d.port), "daemon ready"
    return d


def test_sessions_resume_across_reload(tickets, ctxs):
    d = tickets
    sessions = {}
    for name, ctx in ctxs.items():
        status, resumed, sessions[name] = get(ctx, d.port)
        assert status == 200 and not resumed, f"[{name}] a first connection is a full handshake"
        status, resumed, _ = get(ctx, d.port, sessions[name])
        assert status == 200 and resumed, f"[{name}] its session resumes"
    assert d.reload(), "SIGHUP reloads the configuration"
    for name, ctx in ctxs.items():
        status, resumed, _ = get(ctx, d.port, sessions[name])
        assert status == 200 and resumed, f"[{name}] a session from before the reload resumes " \
            f"after it: status {status}, resumed {resumed}"


def test_ticket_keys_rotate(tickets, ctxs):
    d = tickets
    needle = "session ticket key rotated"
    d.rewrite({"tls_ticket_rotate_s": ROTATE_S})
    ok = d.reload()
    assert ok, f"a reload sets tls_ticket_rotate_s = {ROTATE_S}: " + \
        ("" if ok else d.log_text().strip().splitlines()[-1])
    k = d.log_text().count(needle)
    # Just after a rotation, so that each later step falls in the period it means.
    assert d.wait_log(needle, k + 1, 3 * ROTATE_S), \
        "the ticket key rotates on the timer: no rotation in the log"
    sessions = {}
    for name, ctx in ctxs.items():
        status, resumed, sessions[name] = get(ctx, d.port)
        assert status == 200 and not resumed, f"[{name}] a new session after a rotation"
    assert d.wait_log(needle, k + 2, 2 * ROTATE_S), "the next rotation comes"
    for name, ctx in ctxs.items():
        status, resumed, _ = get(ctx, d.port, sessions[name])
        assert status == 200 and resumed, f"[{name}] after one rotation its ticket is still " \
            f"accepted (the previous key): status {status}, resumed {resumed}"
    assert d.wait_log(needle, k + 3, 2 * ROTATE_S), "and the one after it"
    for name, ctx in ctxs.items():
        status, resumed, _ = get(ctx, d.port, sessions[name])
        assert status == 200 and not resumed, f"[{name}] after two rotations its ticket is " \
            f"refused: a full handshake, still served: status {status}, resumed {resumed}"
    n = d.log_text().count(needle)
    assert n <= k + 4, f"rotations are logged once per period, not more: {n - k} rotations"


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


def test_client_ca_change_ends_resumption(fx, daemon):
    d = os.path.join(fx.dir, "tickets-mtls")
    os.makedirs(d, exist_ok=True)
    make_ca(d, "ca1")
    make_ca(d, "ca2")
    client_cert(d)
    bundle = f"{d}/bundle.pem"
    shutil.copy(f"{d}/ca1.pem", bundle)
    ctxs = {}
    for name, v in VERSIONS.items():
        ctxs[name] = client_ctx(fx.ca, v)
        ctxs[name].load_cert_chain(f"{d}/client.pem", f"{d}/client.key")
    m = daemon("tickets-mtls", {"tls_client_ca": bundle}, drop=OWN)
    assert wait_ready(ctxs["TLS 1.3"], m.port), "[mTLS] daemon ready"
    sessions = {name: get(ctx, m.port)[2] for name, ctx in ctxs.items()}
    assert m.reload(), "[mTLS] a reload with the same CA file"
    for name, ctx in ctxs.items():
        status, resumed, _ = get(ctx, m.port, sessions[name])
        assert status == 200 and resumed, \
            f"[mTLS {name}] ... keeps resumption: status {status}, resumed {resumed}"
    with open(bundle, "a") as f, open(f"{d}/ca2.pem") as extra:
        f.write(extra.read())
    assert m.reload(), "[mTLS] a reload with another CA file"
    for name, ctx in ctxs.items():
        status, resumed, _ = get(ctx, m.port, sessions[name])
        assert status == 200 and not resumed, f"[mTLS {name}] ... ends it: a full handshake, " \
            f"still served: status {status}, resumed {resumed}"
