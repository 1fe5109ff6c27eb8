"""select_tests.py BUILD_DIR NAME: the ctest regex (^(a|b)$) of the tests ops/test -k NAME runs.

A ctest entry is taken when its name matches the regex NAME; a pytest entry (label `pytest`) also
when `pytest -k NAME` collects a test of its file (the entry's name counts as a keyword there,
tests/conftest.py). Exit 1 when nothing matches."""
import json
import os
import re
import subprocess
import sys

build, name = sys.argv[1], sys.argv[2]
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
listing = subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1"],
                         capture_output=True, text=True, check=True).stdout


def collects(test):
    """Whether pytest -k name selects anything in this pytest entry's files."""
    files = [a for a in test["command"] if a.endswith(".py") and "/pylib/" not in a]
    env = dict(os.environ, RB_CTEST_NAME=test["name"])
    out = subprocess.run([sys.executable, "-m", "pytest", "-c", os.path.join(TESTS, "pytest.ini"),
                          "--rootdir", TESTS, "--collect-only", "-q", "-k", name, *files],
                         capture_output=True, text=True, env=env)
    return out.returncode == 0


chosen = []
for t in json.loads(listing)["tests"]:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    if re.search(name, t["name"]) or ("pytest" in (props.get("LABELS") or []) and collects(t)):
        chosen.append(re.escape(t["name"]))
if not chosen:
    sys.exit(1)
print("^(" + "|".join(chosen) + ")$")
