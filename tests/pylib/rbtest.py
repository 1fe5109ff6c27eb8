"""Shared pieces of the python tests that run against a real daemon: TAP-like checks, the ctest
fixture's env file, a free loopback port. Import with the tests/pylib folder on sys.path."""
import os
import socket

RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(bool(ok))
    print(("ok" if ok else "not ok") + f" {len(RESULTS)} - {name}" + (f": {detail}" if detail else ""),
          flush=True)


def summary():
    """Prints `P passed, F failed`; the exit code for main()."""
    failed = RESULTS.count(False)
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


def env_file(path):
    """KEY=VALUE lines (values may hold spaces), as tests/fixture/up.sh writes them."""
    out = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


def fixture_env():
    return env_file(os.path.join(os.environ["RB_FIXTURE"], "env"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
