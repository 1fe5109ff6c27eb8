#!/usr/bin/python3
"""Holds N idle keep-alive TLS connections to the daemon for ops/bench/run.

Opens N connections, completes the TLS handshake and one GET /healthz on each (keep-alive),
prints `opened N` and waits. On SIGUSR1 it sends one more GET /healthz on
every connection and prints `alive K` (K answered 200 on the same connection), then exits.
Usage: idle_conns.py HOST PORT CAFILE N
"""
import signal
import socket
import ssl
import sys
import threading


def request(s):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            return False
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = s.recv(4096)
        if not chunk:
            return False
        rest += chunk
    return status.split()[1] == b"200"


def main():
    host, port, cafile, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    ctx = ssl.create_default_context(cafile=cafile)
    conns = []
    for _ in range(n):
        raw = socket.create_connection((host, port), timeout=30)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        if not request(s):
            print(f"error: the first request on connection {len(conns)} failed", flush=True)
            sys.exit(1)
        conns.append(s)
    print(f"opened {len(conns)}", flush=True)
    go = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: go.set())
    while not go.wait(0.2):
        pass
    alive = 0
    for s in conns:
        try:
            if request(s):
                alive += 1
        except OSError:
            pass
    print(f"alive {alive}", flush=True)
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
