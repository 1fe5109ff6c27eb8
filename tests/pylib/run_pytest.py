"""ctest's way into pytest: run_pytest.py FILE... runs those test files under tests/pytest.ini,
with `-k $RB_PYTEST_K` when ops/test -k NAME set it (the env var, since a ctest command line is
fixed at configure time)."""
import os
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = [sys.executable, "-m", "pytest", "-c", os.path.join(TESTS, "pytest.ini"),
        "--rootdir", TESTS, "-q", *sys.argv[1:]]
if os.environ.get("RB_PYTEST_K"):
    args += ["-k", os.environ["RB_PYTEST_K"]]
os.execv(sys.executable, args)
