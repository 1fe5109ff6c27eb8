"""pytest fixtures of the Python integration tests (tests/pytest.ini makes this folder the root).

`fx` (session scope) is the running cluster and daemon of tests/fixture/up.sh as an
rbtest.Fixture: when RB_FIXTURE names a folder with an env file (ctest's `daemon` fixture, or one
started by hand), that one is used; otherwise this session starts its own with the binaries of
RB_BUILD_DIR (default build/plain) and stops it at the end. `municipality` is a code no other
test has had; `daemon` starts private daemons from the fixture's configuration and stops them.
The daemon and reimbursectl binaries come from RB_DAEMON_BIN and RB_CTL_BIN (ctest sets them)."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "pylib"))
import rbtest  # noqa: E402

# Scripts that still print TAP-like lines under their own ctest entry (not pytest modules yet).
collect_ignore = [
    "abuse/test_abuse.py", "auth/test_auth_matrix.py", "daemon/test_lifecycle.py",
    "daemon/test_outcome_unknown.py", "integration/test_person_scope.py",
    "integration/test_run_through.py", "integration/test_stream.py",
    "openapi/test_idempotency_doc.py", "fuzz", "fault", "concurrency",
]


def _binaries():
    build = os.environ.get("RB_BUILD_DIR", os.path.join(ROOT, "build", "plain"))
    daemon = os.environ.get("RB_DAEMON_BIN") or os.path.join(build, "daemon", "reimbursed")
    ctl = os.environ.get("RB_CTL_BIN") or os.path.join(build, "daemon", "reimbursectl")
    return daemon, ctl


@pytest.fixture(scope="session")
def fx():
    daemon, ctl = _binaries()
    given = os.environ.get("RB_FIXTURE")
    if given and os.path.exists(os.path.join(given, "env")):
        yield rbtest.Fixture(given, daemon, ctl)
        return
    state = tempfile.mkdtemp(prefix="rb-pytest.")
    up = subprocess.run([os.path.join(HERE, "fixture", "up.sh"), state, daemon, ctl,
                         os.path.join(ROOT, "sql")], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True)
    if up.returncode != 0:
        pytest.exit(f"tests/fixture/up.sh failed:\n{up.stdout}", returncode=3)
    os.environ["RB_FIXTURE"] = state
    try:
        yield rbtest.Fixture(state, daemon, ctl)
    finally:
        subprocess.run([os.path.join(HERE, "fixture", "down.sh"), state])
        del os.environ["RB_FIXTURE"]
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def municipality(fx):
    return fx.municipality()


@pytest.fixture
def daemon(fx):
    """daemon(name, settings, drop=(), preexec_fn=None) -> rbtest.Daemon; every one is stopped
    after the test."""
    started = []

    def start(name, settings, drop=(), preexec_fn=None):
        started.append(fx.daemon(name, settings, drop, preexec_fn))
        return started[-1]

    yield start
    for d in started:
        d.stop()


def pytest_collection_modifyitems(items):
    """`-k NAME` also matches the ctest entry a test runs under (ops/test -k)."""
    name = os.environ.get("RB_CTEST_NAME")
    if name:
        for item in items:
            item.extra_keyword_matches.add(name)
