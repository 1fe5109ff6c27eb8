"""The one helper module of the Python tests that run against a real daemon.

pytest tests get a `Fixture` from tests/conftest.py (the `fx` fixture, one per session): the
ctest fixture's env file read into attributes, HTTPS requests with a token, psql as the owner
role, a fresh municipality per test, extra clients, and private daemons started from a copy of
the fixture's configuration. Scripts not yet converted to pytest still use check()/summary()
(TAP-like lines) and fixture_env(); import with the tests/pylib folder on sys.path."""
import fcntl
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

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


def psql(conninfo, sql, check=True):
    """One psql -Atq call; its stdout, stripped. Raises on failure unless check is False."""
    out = subprocess.run(["psql", "-X", "-Atq", conninfo, "-c", sql], capture_output=True,
                         text=True, check=check)
    return out.stdout.strip()


def stop_process(proc):
    """SIGTERM (SIGKILL after 15 s) unless it has ended; its exit status."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def raw_get(ctx, port, path, token=None, extra_headers="", timeout=30):
    """(status, seconds, headers+body bytes) of one GET on a fresh TLS connection that closes."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}{extra_headers}"
                      "Connection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0
    return status, time.monotonic() - t0, data


# The writes that move money require an Idempotency-Key (428 without one): a test request that
# names none gets a fresh key, as a careful client would send.
MONEY_ROUTES = ("/v1/payments", "/v1/payments/import", "/v1/allocations", "/v1/rates",
                "/v1/accruals/run")


def api_json(ctx, url, method, token, body=None, key=None, timeout=120,
             ctype="application/json"):
    """(status, parsed JSON) of one urllib request (a body that is not JSON as {"raw": text})."""
    headers = {"Authorization": "Bearer " + token}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = ctype
    if key is not None:
        headers["Idempotency-Key"] = key
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw or b"{}")
        except ValueError:
            return e.code, {"raw": raw.decode(errors="replace")}


class KeepAlive:
    """One keep-alive HTTPS connection, opened again after the daemon closed it. A request that
    fails on a reused connection is sent once more when `retry` allows (a POST may have run)."""

    def __init__(self, ctx, host, port):
        self.ctx, self.host, self.port, self.conn = ctx, host, port, None

    def send(self, method, path, data, headers, retry=True):
        """(status, body bytes)."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                        timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, raw
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt or not retry:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Response:
    """status, headers (an http.client.HTTPMessage), body (bytes); json() parses the body."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return None

    def error_code(self):
        j = self.json()
        return j.get("error", {}).get("code") if isinstance(j, dict) else None


class Daemon:
    """A private reimbursed started from a copy of the fixture's configuration."""

    def __init__(self, fixture, name, settings, drop=(), preexec_fn=None):
        self.port = free_port()
        self.name, self.drop = name, drop
        self.conf = fixture.write_conf(name, {"port": self.port, **settings}, drop)
        self.fixture = fixture
        self.log_path = os.path.join(fixture.dir, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([fixture.daemon_bin, "-c", self.conf], stdout=self.log,
                                     stderr=self.log, preexec_fn=preexec_fn)

    def get(self, path, token=None):
        return raw_get(self.fixture.ctx, self.port, path, token)

    def wait_ready(self, seconds=20):
        """The /readyz status once it is 200, the daemon ended or the time is up (0 when nothing
        answered)."""
        deadline = time.monotonic() + seconds
        status = 0
        while time.monotonic() < deadline and status != 200 and self.proc.poll() is None:
            try:
                status = self.get("/readyz")[0]
            except OSError:
                pass
            if status != 200:
                time.sleep(0.1)
        return status

    def rewrite(self, settings):
        """Writes its configuration anew (the fixture's, less `drop`, plus `settings`)."""
        self.fixture.write_conf(self.name, {"port": self.port, **settings}, self.drop)

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, needle, n, timeout):
        """Whether the log holds `needle` n times within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_text().count(needle) >= n:
                return True
            time.sleep(0.02)
        return False

    def reload(self, timeout=10):
        """SIGHUP; True once the log says it reloaded, False if refused or silent."""
        def n():
            text = self.log_text()
            return text.count("reloaded from") + text.count("reload refused")
        before = n()
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if n() > before:
                return "reload refused" not in self.log_text()
            time.sleep(0.02)
        return False

    def stop(self):
        """SIGTERM (SIGKILL after 15 s); the exit status."""
        rc = stop_process(self.proc)
        self.log.close()
        return rc


class Fixture:
    """The running cluster and daemon of tests/fixture/up.sh (the directory of its env file)."""

    TOKENS = ("ADMIN", "W1480", "W1481", "R1480", "RSTAR", "A1480", "WSTAR")

    def __init__(self, directory, daemon_bin=None, ctl_bin=None):
        self.dir = directory
        self.env = env_file(os.path.join(directory, "env"))
        self.url = self.env["RB_URL"]
        self.port = urllib.parse.urlsplit(self.url).port
        self.ca = self.env["RB_CA"]
        self.conf = self.env["RB_CONF"]
        self.db_admin = self.env["RB_DB_ADMIN"]
        self.pgbouncer = self.env.get("RB_PGBOUNCER") == "1"
        self.token = {k.lower(): self.env["RB_TOKEN_" + k] for k in self.TOKENS}
        with open(self.conf) as f:
            self.app_db = next(l.split("=", 1)[1].strip() for l in f if re.match(r"\s*db\s*=", l))
        self.daemon_bin = daemon_bin
        self.ctl_bin = ctl_bin
        self.ctx = ssl.create_default_context(cafile=self.ca)

    def request(self, method, path, token=None, body=None, headers=None, timeout=60, port=None):
        """One HTTPS request on a fresh connection; body may be bytes, a str or a JSON value."""
        h = {"Authorization": "Bearer " + token} if token else {}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn = http.client.HTTPSConnection("localhost", port or self.port, context=self.ctx,
                                           timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            conn.close()

    def psql(self, sql, check=True):
        """psql as the owner role (db_admin)."""
        return psql(self.db_admin, sql, check)

    def municipality(self):
        """A municipality code no test of this fixture has had and that holds no placement: a
        test that writes only there shares no state with any other (claims are kept in the
        fixture's folder, so separate pytest runs against one fixture do not meet either)."""
        path = os.path.join(self.dir, "municipalities.taken")
        with open(path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            taken = set(f.read().split())
            codes = self.psql("SELECT code FROM municipalities m WHERE NOT EXISTS "
                              "(SELECT 1 FROM placements p WHERE p.municipality = m.code) "
                              "ORDER BY code DESC").split()
            free = [c for c in codes if c not in taken and c not in ("1480", "1481")]
            assert free, "every municipality code is taken: restart the fixture"
            f.write(free[0] + "\n")
            return free[0]

    def client(self, role, scope, name=None):
        """A new API client (reimbursectl client add); its token."""
        assert self.ctl_bin, "RB_CTL_BIN (reimbursectl) is not known"
        name = name or f"t-{role}-{scope.replace('*', 'star')}-{time.time_ns()}"
        out = subprocess.run([self.ctl_bin, "-c", self.conf, "client", "add", "--name", name,
                              "--role", role, "--scope", scope], capture_output=True, text=True,
                             check=True)
        return out.stdout.strip().splitlines()[-1]

    def write_conf(self, name, settings, drop=()):
        """FIXTURE/NAME.conf: the fixture's config less `drop` and the keys of `settings`, then
        `settings` as its last lines (a list value gives one line per item); the path."""
        keys = "|".join(set(settings) | set(drop))
        with open(self.conf) as f:
            lines = [l for l in f if not (keys and re.match(r"\s*(%s)\s*=" % keys, l))]
        for k, v in settings.items():
            lines += [f"{k} = {x}\n" for x in (v if isinstance(v, list) else [v])]
        path = os.path.join(self.dir, f"{name}.conf")
        with open(path, "w") as f:
            f.writelines(lines)
        return path

    def daemon(self, name, settings, drop=(), preexec_fn=None):
        """A private daemon on a free port: the fixture's config less `drop` and the keys of
        `settings`, plus `settings`. Stop it with .stop() (the `daemon` fixture does)."""
        assert self.daemon_bin, "RB_DAEMON_BIN (reimbursed) is not known"
        return Daemon(self, name, settings, drop, preexec_fn)
