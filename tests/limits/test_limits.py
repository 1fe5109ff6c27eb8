"""Connection limits against a real daemon: max_connections holds, idle connections time out,
oversized headers and bodies are refused, and a normal client is served afterwards.

Starts its own reimbursed (same database as the ctest fixture, tighter limits) so the shared
daemon's settings stay untouched. Run: ./ops/test -k integration_limits (pytest)."""
import os
import re
import resource
import socket
import time

import pytest

from rbtest import raw_get

MAX_CONN = 5
LIMITS = {"max_connections": MAX_CONN, "idle_timeout_s": 2, "max_header_bytes": 8192,
          "max_body_bytes": 65536}


def open_client_sockets(pid):
    """Established TCP sockets the daemon holds towards clients on its own port."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    return inodes


def count_established(pid, port):
    inodes = open_client_sockets(pid)
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                parts = line.split()
                local_port = int(parts[1].split(":")[1], 16)
                if local_port == port and parts[3] == "01" and parts[9] in inodes:
                    n += 1
    return n


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def limited(daemon):
    """A daemon with tight limits, ready; exits 0 on SIGTERM at the end of the test."""
    d = daemon("limits", LIMITS)
    status = d.wait_ready()
    assert status == 200, f"second daemon ready: status {status}"
    yield d
    rc = d.stop()
    assert rc == 0, f"daemon exits 0 on SIGTERM: exit {rc}"


def test_max_connections_hold_and_idle_ones_time_out(limited):
    # 1. A flood of raw connections: the daemon holds at most max_connections of them.
    flood = [socket.create_connection(("127.0.0.1", limited.port)) for _ in range(4 * MAX_CONN)]
    time.sleep(0.5)
    held = count_established(limited.proc.pid, limited.port)
    print(f"# flood of {len(flood)} connections: daemon holds {held} (max_connections {MAX_CONN})")
    assert 0 < held <= MAX_CONN, f"max_connections holds under a flood: held {held}"

    # 2. Idle connections time out, so the slots come back without the clients' help.
    time.sleep(3.5)
    closed = 0
    for s in flood:
        s.settimeout(0.01)
        try:
            if s.recv(1) == b"":
                closed += 1
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            closed += 1
    assert closed >= MAX_CONN, f"idle connections are closed by the daemon: closed {closed}"
    for s in flood:
        s.close()
    time.sleep(0.3)
    status, _, data = limited.get("/healthz")
    assert status == 200, f"a normal client is served after the flood: status {status}"
    assert b"\r\nStrict-Transport-Security: max-age=31536000\r\n" in data, \
        "replies carry Strict-Transport-Security"


def test_oversized_headers_are_refused(fx, limited):
    # 3. Oversized headers are refused, and the daemon keeps serving.
    status, _, _ = raw_get(fx.ctx, limited.port, "/healthz",
                           extra_headers="X-Big: " + "x" * 20000 + "\r\n")
    assert status in (400, 431) or status == 0, f"oversized headers are refused: status {status}"
    status, _, _ = limited.get("/healthz")
    assert status == 200, f"still serving after oversized headers: status {status}"


def test_declared_body_over_max_is_413_unread(fx, limited):
    # 4. A declared body over max_body_bytes is refused with 413 before it is sent.
    with socket.create_connection(("127.0.0.1", limited.port), timeout=10) as raw:
        with fx.ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"POST /v1/placements HTTP/1.1\r\nHost: localhost\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
            data = s.recv(65536)
    assert data.startswith(b"HTTP/1.1 413"), \
        f"a 10 MB body is refused with 413 unread: {data[:40].decode(errors='replace')}"


def test_descriptor_exhaustion(fx, daemon):
    """A daemon with only 64 descriptors and max_connections far above: accept() fails with
    EMFILE under a flood; the daemon must pause, not spin, and serve again afterwards."""

    def limit_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    d = daemon("limits-emfile", {"max_connections": 1000, "idle_timeout_s": 30},
               drop=("max_header_bytes", "max_body_bytes"), preexec_fn=limit_fds)
    assert d.wait_ready() == 200, "daemon with 64 descriptors ready"
    flood = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(150)]
    before = cpu_seconds(d.proc.pid)
    time.sleep(2)
    used = cpu_seconds(d.proc.pid) - before
    print(f"# 150 connections against 64 descriptors: daemon CPU {used:.2f} s in 2 s")
    assert used < 1.0, f"out of descriptors, the daemon does not spin: {used:.2f} s"
    for s in flood:
        s.close()
    time.sleep(0.5)
    status, _, _ = d.get("/healthz")
    assert status == 200, f"served again once the flood is gone: status {status}"
    d.stop()
    with open(os.path.join(fx.dir, "limits-emfile.log")) as f:
        text = f.read()
    assert "pausing the listener" in text, "the daemon said it paused the listener"
    assert "file descriptors, the limit is 64" in text, \
        "the daemon warned about the descriptor limit"
