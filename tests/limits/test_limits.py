#!/usr/bin/env python3
"""Connection limits against a real daemon: max_connections holds, idle connections time out,
oversized headers and bodies are refused, and a normal client is served afterwards.

Starts its own reimbursed (same database as the ctest fixture, tighter limits) so the shared
daemon's settings stay untouched. Usage: test_limits.py REIMBURSED_BIN (with RB_FIXTURE set)."""
import os
import re
import resource
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, env_file, free_port, summary  # noqa: E402


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


def https_get(ctx, port, path, extra_headers=""):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra_headers}"
                      "Connection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0
    return status, data


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(ctx, port):
    deadline = time.time() + 20
    status = 0
    while time.time() < deadline:
        try:
            status, _ = https_get(ctx, port, "/readyz")
            if status == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    return status


def descriptor_exhaustion(daemon_bin, fx, conf):
    """A daemon with only 64 descriptors and max_connections far above: accept() fails with
    EMFILE under a flood; the daemon must pause, not spin, and serve again afterwards."""
    port = free_port()
    conf_path = os.path.join(os.environ["RB_FIXTURE"], "limits-emfile.conf")
    with open(conf_path, "w") as f:
        f.writelines(conf)
        f.write(f"port = {port}\nmax_connections = 1000\nidle_timeout_s = 30\n")
    log_path = os.path.join(os.environ["RB_FIXTURE"], "limits-emfile.log")
    log = open(log_path, "w")

    def limit_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    proc = subprocess.Popen([daemon_bin, "-c", conf_path], stdout=log, stderr=log,
                            preexec_fn=limit_fds)
    ctx = ssl.create_default_context(cafile=fx["RB_CA"])
    try:
        check("daemon with 64 descriptors ready", wait_ready(ctx, port) == 200)
        flood = [socket.create_connection(("127.0.0.1", port)) for _ in range(150)]
        before = cpu_seconds(proc.pid)
        time.sleep(2)
        used = cpu_seconds(proc.pid) - before
        print(f"# 150 connections against 64 descriptors: daemon CPU {used:.2f} s in 2 s")
        check("out of descriptors, the daemon does not spin", used < 1.0, f"{used:.2f} s")
        for s in flood:
            s.close()
        time.sleep(0.5)
        status, _ = https_get(ctx, port, "/healthz")
        check("served again once the flood is gone", status == 200, f"status {status}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    with open(log_path) as f:
        text = f.read()
    check("the daemon said it paused the listener", "pausing the listener" in text)
    check("the daemon warned about the descriptor limit", "file descriptors, the limit is 64" in text)


def main():
    daemon_bin = sys.argv[1]
    fx = env_file(os.path.join(os.environ["RB_FIXTURE"], "env"))
    with open(fx["RB_CONF"]) as f:
        conf = [l for l in f if not re.match(r"\s*(port|max_connections|idle_timeout_s|max_header_bytes|max_body_bytes)\s*=", l)]
    port = free_port()
    max_conn = 5
    conf_path = os.path.join(os.environ["RB_FIXTURE"], "limits.conf")
    with open(conf_path, "w") as f:
        f.writelines(conf)
        f.write(f"port = {port}\nmax_connections = {max_conn}\nidle_timeout_s = 2\n"
                "max_header_bytes = 8192\nmax_body_bytes = 65536\n")
    log = open(os.path.join(os.environ["RB_FIXTURE"], "limits-daemon.log"), "w")
    proc = subprocess.Popen([daemon_bin, "-c", conf_path], stdout=log, stderr=log)
    ctx = ssl.create_default_context(cafile=fx["RB_CA"])
    try:
        status = wait_ready(ctx, port)
        check("second daemon ready", status == 200, f"status {status}")

        # 1. A flood of raw connections: the daemon holds at most max_connections of them.
        flood = [socket.create_connection(("127.0.0.1", port)) for _ in range(4 * max_conn)]
        time.sleep(0.5)
        held = count_established(proc.pid, port)
        print(f"# flood of {len(flood)} connections: daemon holds {held} (max_connections {max_conn})")
        check("max_connections holds under a flood", 0 < held <= max_conn, f"held {held}")

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
        check("idle connections are closed by the daemon", closed >= max_conn, f"closed {closed}")
        for s in flood:
            s.close()
        time.sleep(0.3)
        status, data = https_get(ctx, port, "/healthz")
        check("a normal client is served after the flood", status == 200, f"status {status}")
        check("replies carry Strict-Transport-Security",
              b"\r\nStrict-Transport-Security: max-age=31536000\r\n" in data)

        # 3. Oversized headers are refused, and the daemon keeps serving.
        status, _ = https_get(ctx, port, "/healthz", "X-Big: " + "x" * 20000 + "\r\n")
        check("oversized headers are refused", status in (400, 431) or status == 0,
              f"status {status}")
        status, _ = https_get(ctx, port, "/healthz")
        check("still serving after oversized headers", status == 200, f"status {status}")

        # 4. A declared body over max_body_bytes is refused with 413 before it is sent.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"POST /v1/placements HTTP/1.1\r\nHost: localhost\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
                data = s.recv(65536)
        check("a 10 MB body is refused with 413 unread", data.startswith(b"HTTP/1.1 413"),
              data[:40].decode(errors="replace"))
    finally:
        proc.terminate()
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -9
        log.close()
    check("daemon exits 0 on SIGTERM", rc == 0, f"exit {rc}")
    descriptor_exhaustion(daemon_bin, fx, conf)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
