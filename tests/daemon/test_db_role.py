#!/usr/bin/env python3
"""The daemon refuses a database role that bypasses row-level security (issue 16, item 9): with
`db` naming a superuser, a role with BYPASSRLS, a role that owns a table, or one that may act as
the owner (a member of it), reimbursed exits non-zero at start-up with a message naming the role
and what is wrong; `reimbursectl accrue` and `report` on such a `db` fail the same way. A plain
member of reimbursed_app starts. When the database cannot be reached at start-up, the daemon
starts, serves nothing that needs the database, and checks the role once it answers: a bad
role then stops it with exit 1 (the database is reached through a socket proxy that opens late).

Creates its roles in the fixture's cluster as the cluster superuser, and drops them after.
Usage: test_db_role.py REIMBURSED REIMBURSECTL   (with RB_FIXTURE set)"""
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import http.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import check, fixture_env, free_port, summary  # noqa: E402

FX = fixture_env()
DAEMON, CTL = sys.argv[1], sys.argv[2]
WORK = os.environ["RB_FIXTURE"]
SUPER = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
PW = "rbt" + str(os.getpid())
ROLES = ("rb_t_bypass", "rb_t_owner", "rb_t_member", "rb_t_plain")


def conninfo(user, base=None):
    return re.sub(r"\buser=\S+", f"user={user}", base or FX["RB_DB_ADMIN"])


def su(sql, db="reimbursed"):
    p = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1",
                        re.sub(r"\bdbname=\S+", f"dbname={db}", conninfo(SUPER)), "-c", sql],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"psql: {p.stderr.strip()}")
    return p.stdout.strip()


def setup():
    cleanup()
    su("CREATE ROLE rb_t_bypass LOGIN BYPASSRLS IN ROLE reimbursed_app; "
       "CREATE ROLE rb_t_owner LOGIN IN ROLE reimbursed_app; "
       "CREATE ROLE rb_t_member LOGIN IN ROLE reimbursed_app, reimbursed; "
       "CREATE ROLE rb_t_plain LOGIN IN ROLE reimbursed_app; "
       "CREATE TABLE public.rb_t_owned (x int); ALTER TABLE public.rb_t_owned OWNER TO rb_t_owner")


def cleanup():
    su("DROP TABLE IF EXISTS public.rb_t_owned; " +
       "".join(f"DROP ROLE IF EXISTS {r}; " for r in ROLES))


def write_conf(name, db, extra=""):
    with open(FX["RB_CONF"]) as f:
        conf = [ln for ln in f if not re.match(r"\s*(port|db|db_admin)\s*=", ln)]
    port = free_port()
    path = os.path.join(WORK, f"role-{name}.conf")
    with open(path, "w") as f:
        f.writelines(conf)
        f.write(f"port = {port}\ndb = {db}\n{extra}")
    return path, port


def run_daemon(name, db, timeout=20):
    """Starts the daemon; (exit code or None if it still runs, stderr+stdout, port, proc)."""
    path, port = write_conf(name, db)
    proc = subprocess.Popen([DAEMON, "-c", path], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", port, proc
    return rc, proc.stdout.read(), port, proc


def https(port, path, token=None):
    ctx = ssl.create_default_context(cafile=FX["RB_CA"])
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.request("GET", path, headers={"Host": "localhost", **(
        {"Authorization": f"Bearer {token}"} if token else {})})
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def wait_status(port, path, want, token=None, timeout=20):
    deadline = time.time() + timeout
    st = None
    while time.time() < deadline:
        try:
            st = https(port, path, token)[0]
            if st == want:
                return st
        except OSError:
            pass
        time.sleep(0.1)
    return st


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


class LateSocket:
    """A Unix-socket proxy to the cluster's socket that starts listening only when opened."""

    def __init__(self):
        m = re.search(r"\bhost=(\S+)", FX["RB_DB_ADMIN"])
        p = re.search(r"\bport=(\d+)", FX["RB_DB_ADMIN"])
        self.target = os.path.join(m.group(1), f".s.PGSQL.{p.group(1)}")
        self.dir = tempfile.mkdtemp(prefix="rbrole")
        os.chmod(self.dir, 0o755)
        self.port = p.group(1)
        self.sock = None

    def conninfo(self, user):
        return re.sub(r"\bhost=\S+", f"host={self.dir}", conninfo(user))

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
    check(f"{name}: the message names the role '{role}' and says it {what}",
          re.search(rf"role '{re.escape(role)}' bypasses row-level security: .*{what}", out)
          is not None, out.strip()[-300:])


def main():
    setup()
    try:
        cases = (("superuser", SUPER, "is a superuser"),
                 ("bypassrls", "rb_t_bypass", "has BYPASSRLS"),
                 ("owns_table", "rb_t_owner", r"owns \(or may act as the owner of\) 1 table"),
                 ("member_of_owner", "rb_t_member", "owns"))
        for name, role, what in cases:
            rc, out, _, proc = run_daemon(name, conninfo(role))
            if rc is None:
                stop(proc)
            check(f"refuses_{name}_role: reimbursed exits non-zero at start-up", rc not in (None, 0),
                  f"exit {rc}")
            refused(f"refuses_{name}_role", out, role, what)
        # The positive control: a plain member of reimbursed_app serves.
        rc, out, port, proc = run_daemon("plain", conninfo("rb_t_plain"), timeout=1)
        check("a plain member of reimbursed_app starts", rc is None, out)
        if rc is None:
            check("... and serves through the database",
                  wait_status(port, "/v1/rates", 200, FX["RB_TOKEN_W1480"]) == 200)
            check("... and exits 0", stop(proc) == 0)
        # reimbursectl accrue and report on such a `db` (no db_admin): refused the same way.
        for cmd in (["accrue", "--through", "2022-03-31"],
                    ["report", "--date", "2022-04-01", "--out", os.path.join(WORK, "role-rep")]):
            path, _ = write_conf("ctl", conninfo("rb_t_bypass"))
            p = subprocess.run([CTL, "-c", path] + cmd, capture_output=True, text=True)
            check(f"refuses_bypassrls_role: reimbursectl {cmd[0]} on db exits 1",
                  p.returncode == 1, f"exit {p.returncode}: {p.stderr.strip()[-200:]}")
            refused(f"reimbursectl {cmd[0]}", p.stderr, "rb_t_bypass", "has BYPASSRLS")
        # Database unreachable at start-up: checked when it answers.
        late = LateSocket()
        try:
            rc, out, port, proc = run_daemon("late-super", late.conninfo(SUPER), timeout=2)
            check("role_checked_late: with no database the daemon starts", rc is None, out)
            if rc is None:
                st = wait_status(port, "/healthz", 200)
                check("role_checked_late: /healthz answers meanwhile", st == 200, st)
                st, _ = https(port, "/readyz")
                check("role_checked_late: /readyz is not ready meanwhile", st == 503, st)
                st, body = https(port, "/v1/rates", FX["RB_TOKEN_W1480"])
                check("role_checked_late: a request that needs the database is 503 meanwhile",
                      st == 503 and json.loads(body)["error"]["code"] == "database_unavailable",
                      f"{st} {body[:120]!r}")
                late.open()
                try:
                    rc = proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    rc = None
                out = proc.stdout.read() if rc is not None else ""
                check("role_checked_late: once the database answers, a superuser stops it (1)",
                      rc == 1, f"exit {rc}")
                refused("role_checked_late", out, SUPER, "is a superuser")
                stop(proc)
        finally:
            late.close()
        # ... and a good role then serves.
        late = LateSocket()
        try:
            rc, out, port, proc = run_daemon("late-plain", late.conninfo("rb_t_plain"), timeout=2)
            check("role_checked_late: a plain member starts without a database", rc is None, out)
            if rc is None:
                st = wait_status(port, "/v1/rates", 503, FX["RB_TOKEN_W1480"])
                check("role_checked_late: 503 before the database answers", st == 503, st)
                late.open()
                st = wait_status(port, "/readyz", 200)
                check("role_checked_late: ready once the role is checked", st == 200, st)
                st = wait_status(port, "/v1/rates", 200, FX["RB_TOKEN_W1480"])
                check("role_checked_late: and serves through the database", st == 200, st)
                check("role_checked_late: that daemon exits 0", stop(proc) == 0)
        finally:
            late.close()
    finally:
        cleanup()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
