#!/usr/bin/env python3
"""ops/bench/stream.py HOST PORT CA TOKEN PATH PID — one large streamed read (e.g. the SIE
export) at full speed while another connection polls GET /healthz every 10 ms; prints `key: value`
lines for ops/bench/run: the reply's bytes, lines and #TRANS lines, seconds, the daemon's VmHWM
before and after (KiB), and the /healthz latencies (max, p99, count) during the read."""
import http.client
import ssl
import sys
import threading
import time


def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def main():
    host, port, ca, token, path, pid = sys.argv[1:7]
    ctx = ssl.create_default_context(cafile=ca)
    lat, bad = [], [0]
    stop = threading.Event()
    started = threading.Event()

    def poll():
        c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    bad[0] += 1
            except (OSError, http.client.HTTPException):
                bad[0] += 1
                c.close()
                c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
                continue
            if started.is_set():
                lat.append((time.monotonic() - t0) * 1000)
            time.sleep(0.01)
        c.close()

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.2)
    hwm0 = vm(pid, "VmHWM")
    c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=120)
    t0 = time.monotonic()
    started.set()
    c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    size = lines = trans = 0
    tail = b""
    while True:
        chunk = r.read(65536)
        if not chunk:
            break
        size += len(chunk)
        lines += chunk.count(b"\n")
        trans += (tail + chunk).count(b"#TRANS ")
        tail = chunk[-6:]  # shorter than "#TRANS ": no line counted twice
    secs = time.monotonic() - t0
    started.clear()
    stop.set()
    t.join()
    c.close()
    hwm1 = vm(pid, "VmHWM")
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0
    print(f"status: {r.status}")
    print(f"bytes: {size}")
    print(f"lines: {lines}")
    print(f"trans: {trans}")
    print(f"seconds: {secs:.2f}")
    print(f"hwm_before_kib: {hwm0}")
    print(f"hwm_after_kib: {hwm1}")
    print(f"healthz_n: {len(lat)}")
    print(f"healthz_failed: {bad[0]}")
    print(f"healthz_max_ms: {lat[-1] if lat else 0:.1f}")
    print(f"healthz_p99_ms: {p99:.1f}")
    return 0 if r.status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
