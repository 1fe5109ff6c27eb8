"""ctest's way into pytest: run_pytest.py FILE... runs those test files under tests/pytest.ini,
with `-k $RB_PYTEST_K` when ops/test -k NAME set it (the env var, since a ctest command line is
fixed at configure time), unless NAME matches the entry's own name: then the whole file runs."""
import os
import re
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = [sys.executable, "-m", "pytest", "-c", os.path.join(TESTS, "pytest.ini"),
        "--rootdir", TESTS, "-q", *sys.argv[1:]]
name = os.environ.get("RB_PYTEST_K")
if name and not re.search(name, os.environ.get("RB_CTEST_NAME", "")):
    args += ["-k", os.environ["RB_PYTEST_K"]]
os.execv(sys.executable, args)
