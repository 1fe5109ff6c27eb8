"""The daemon refuses a database role that bypasses row-level security (issue 16, item 9): with
`db` naming a superuser, a role with BYPASSRLS, a role that owns a table, or one that may act as
the owner (a member of it), reimbursed exits non-zero at start-up with a message naming the role
and what is wrong; `reimbursectl accrue` and `report` on such a `db` fail the same way. A plain
member of reimbursed_app starts. When the database cannot be reached at start-up, the daemon
starts, serves nothing that needs the database, and checks the role once it answers: a bad
role then stops it with exit 1 (the database is reached through a socket proxy that opens late).

Creates its roles in the fixture's cluster as the cluster superuser, and drops them after.
Run: ./ops/test -k daemon_refuses_rls_bypass_role (pytest)."""
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from rbtest import free_port, stop_process

SUPER = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
ROLES = ("rb_t_bypass", "rb_t_owner", "rb_t_member", "rb_t_plain")


def conninfo(fx, user):
    return re.sub(r"\buser=\S+", f"user={user}", fx.db_admin)


def su(fx, sql, db="reimbursed"):
    p = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1",
                        re.sub(r"\bdbname=\S+", f"dbname={db}", conninfo(fx, SUPER)), "-c", sql],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"psql: {p.stderr.strip()}")
    return p.stdout.strip()


def cleanup(fx):
    su(fx, "DROP TABLE IF EXISTS public.rb_t_owned; " +
       "".join(f"DROP ROLE IF EXISTS {r}; " for r in ROLES))


@pytest.fixture(scope="module", autouse=True)
def roles(fx):
    """The test roles in the fixture's cluster, made as the cluster superuser; dropped after."""
    cleanup(fx)
    su(fx, "CREATE ROLE rb_t_bypass LOGIN BYPASSRLS IN ROLE reimbursed_app; "
       "CREATE ROLE rb_t_owner LOGIN IN ROLE reimbursed_app; "
       "CREATE ROLE rb_t_member LOGIN IN ROLE reimbursed_app, reimbursed; "
       "CREATE ROLE rb_t_plain LOGIN IN ROLE reimbursed_app; "
       "CREATE TABLE public.rb_t_owned (x int); ALTER TABLE public.rb_t_owned OWNER TO rb_t_owner")
    yield
    cleanup(fx)


def write_conf(fx, name, db):
    port = free_port()
    return fx.write_conf(f"role-{name}", {"port": port, "db": db}, drop=("db_admin",)), port


class Run:
    """The daemon started on a config whose `db` is given: rc is its exit code, or None while
    it still runs after `timeout` seconds; out its output once it ended."""

    def __init__(self, fx, name, db, timeout=20):
        self.fx = fx
        path, self.port = write_conf(fx, name, db)
        self.proc = subprocess.Popen([fx.daemon_bin, "-c", path], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        try:
            self.rc = self.proc.wait(timeout=timeout)
            self.out = self.proc.stdout.read()
        except subprocess.TimeoutExpired:
            self.rc, self.out = None, ""

    def https(self, path, token=None):
        r = self.fx.request("GET", path, token, timeout=10, port=self.port)
        return r.status, r.body

    def wait_status(self, path, want, token=None, timeout=20):
        deadline = time.time() + timeout
        st = None
        while time.time() < deadline:
            try:
                st = self.https(path, token)[0]
                if st == want:
                    return st
            except OSError:
                pass
            time.sleep(0.1)
        return st

    def stop(self):
        return stop_process(self.proc)


class LateSocket:
    """A Unix-socket proxy to the cluster's socket that starts listening only when opened."""

    def __init__(self, fx):
        self.fx = fx
        m = re.search(r"\bhost=(\S+)", fx.db_admin)
        p = re.search(r"\bport=(\d+)", fx.db_admin)
        self.target = os.path.join(m.group(1), f".s.PGSQL.{p.group(1)}")
        self.dir = tempfile.mkdtemp(prefix="rbrole")
        os.chmod(self.dir, 0o755)
        self.port = p.group(1)
        self.sock = None

    def conninfo(self, user):
        return re.sub(r"\bhost=\S+", f"host={self.dir}", conninfo(self.fx, user))

    def open(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(os.path.join(self.dir, f".s.PGSQL.{self.port}"))
        self.sock.listen(16)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                a, _ = self.sock.accept()
            except OSError:
                return
            b = socket.socket(socket.AF_UNIX)
            b.connect(self.target)
            for x, y in ((a, b), (b, a)):
                threading.Thread(target=self.pump, args=(x, y), daemon=True).start()

    @staticmethod
    def pump(x, y):
        try:
            while True:
                data = x.recv(65536)
                if not data:
                    break
                y.sendall(data)
        except OSError:
            pass
        for s in (x, y):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        if self.sock:
            self.sock.close()


def refused(name, out, role, what):
    assert re.search(rf"role '{re.escape(role)}' bypasses row-level security: .*{what}", out) \
        is not None, f"{name}: the message names the role '{role}' and says it {what}: " \
        f"{out.strip()[-300:]}"


@pytest.mark.parametrize("name, role, what", [
    ("superuser", SUPER, "is a superuser"),
    ("bypassrls", "rb_t_bypass", "has BYPASSRLS"),
    ("owns_table", "rb_t_owner", r"owns \(or may act as the owner of\) 1 table"),
    ("member_of_owner", "rb_t_member", "owns")])
def test_refuses_role(fx, name, role, what):
    run = Run(fx, name, conninfo(fx, role))
    if run.rc is None:
        run.stop()
    assert run.rc not in (None, 0), \
        f"refuses_{name}_role: reimbursed exits non-zero at start-up: exit {run.rc}"
    refused(f"refuses_{name}_role", run.out, role, what)


def test_plain_member_of_reimbursed_app_starts(fx):
    """The positive control: a plain member of reimbursed_app serves."""
    run = Run(fx, "plain", conninfo(fx, "rb_t_plain"), timeout=1)
    try:
        assert run.rc is None, f"a plain member of reimbursed_app starts: {run.out}"
        assert run.wait_status("/v1/rates", 200, fx.token["w1480"]) == 200, \
            "... and serves through the database"
    finally:
        assert run.stop() == 0, "... and exits 0"


@pytest.mark.parametrize("cmd", [["accrue", "--through", "2022-03-31"],
                                 ["report", "--date", "2022-04-01", "--out", "role-rep"]],
                         ids=["accrue", "report"])
def test_refuses_bypassrls_role_in_reimbursectl(fx, cmd):
    """reimbursectl accrue and report on such a `db` (no db_admin): refused the same way."""
    cmd = [os.path.join(fx.dir, c) if c == "role-rep" else c for c in cmd]
    path, _ = write_conf(fx, "ctl", conninfo(fx, "rb_t_bypass"))
    p = subprocess.run([fx.ctl_bin, "-c", path] + cmd, capture_output=True, text=True)
    assert p.returncode == 1, f"refuses_bypassrls_role: reimbursectl {cmd[0]} on db exits 1: " \
        f"exit {p.returncode}: {p.stderr.strip()[-200:]}"
    refused(f"reimbursectl {cmd[0]}", p.stderr, "rb_t_bypass", "has BYPASSRLS")


def test_role_checked_late_superuser_stops_it(fx):
    """Database unreachable at start-up: checked when it answers."""
    late = LateSocket(fx)
    try:
        run = Run(fx, "late-super", late.conninfo(SUPER), timeout=2)
        assert run.rc is None, f"role_checked_late: with no database the daemon starts: {run.out}"
        try:
            st = run.wait_status("/healthz", 200)
            assert st == 200, f"role_checked_late: /healthz answers meanwhile: {st}"
            st, _ = run.https("/readyz")
            assert st == 503, f"role_checked_late: /readyz is not ready meanwhile: {st}"
            st, body = run.https("/v1/rates", fx.token["w1480"])
            assert st == 503 and json.loads(body)["error"]["code"] == "database_unavailable", \
                f"role_checked_late: a request that needs the database is 503 meanwhile: " \
                f"{st} {body[:120]!r}"
            late.open()
            try:
                rc = run.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                rc = None
            out = run.proc.stdout.read() if rc is not None else ""
            assert rc == 1, \
                f"role_checked_late: once the database answers, a superuser stops it (1): exit {rc}"
            refused("role_checked_late", out, SUPER, "is a superuser")
        finally:
            run.stop()
    finally:
        late.close()


def test_role_checked_late_plain_member_serves(fx):
    """... and a good role then serves."""
    late = LateSocket(fx)
    try:
        run = Run(fx, "late-plain", late.conninfo("rb_t_plain"), timeout=2)
        assert run.rc is None, \
            f"role_checked_late: a plain member starts without a database: {run.out}"
        try:
            st = run.wait_status("/v1/rates", 503, fx.token["w1480"])
            assert st == 503, f"role_checked_late: 503 before the database answers: {st}"
            late.open()
            st = run.wait_status("/readyz", 200)
            assert st == 200, f"role_checked_late: ready once the role is checked: {st}"
            st = run.wait_status("/v1/rates", 200, fx.token["w1480"])
            assert st == 200, f"role_checked_late: and serves through the database: {st}"
        finally:
            assert run.stop() == 0, "role_checked_late: that daemon exits 0"
    finally:
        late.close()
