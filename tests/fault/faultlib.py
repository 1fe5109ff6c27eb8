"""Shared pieces of the fault tests (tests/fault/crash_restart.py, tests/fault/failover.py).

Real things only: PostgreSQL 15 clusters made with ops/lib.sh (initdb as the `postgres` user when
run as root), the real daemon over HTTPS, python's ssl + http.client with keep-alive connections.

Clusters here are NOT the fixture's throwaway ones: they keep fsync and synchronous_commit on
(RB_PG_FAST would let an immediate shutdown lose acknowledged commits, which is exactly what these
tests look for)."""
import datetime
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import sys
import zoneinfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import RESULTS, check, free_port  # noqa: E402,F401 (the fault scripts import them here)

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LIB = os.path.join(ROOT, "ops", "lib.sh")
PG_BIN = os.environ.get("RB_PG_BIN", "/usr/lib/postgresql/15/bin")
IS_ROOT = os.geteuid() == 0



def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


# SIGTERM (ops/fault/run interrupted, ctest giving up) unwinds through the scripts' finally
# blocks, which stop the clusters and the daemon and remove the temp folders.
signal.signal(signal.SIGTERM, _on_sigterm)


def note(msg):
    print(f"# {msg}", flush=True)


def summary():
    failed = RESULTS.count(False)
    print(f"{len(RESULTS) - failed} passed, {failed} failed", flush=True)
    return 1 if failed or not RESULTS else 0


def lib(script, **env):
    """Runs `script` in bash with ops/lib.sh sourced; returns its stdout."""
    e = dict(os.environ)
    e.update({k: str(v) for k, v in env.items()})
    e["RB_LIB"] = LIB
    p = subprocess.run(["bash", "-c", 'set -euo pipefail; source "$RB_LIB"; ' + script],
                       env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"bash failed ({p.returncode}): {script}\n{p.stderr[-3000:]}")
    return p.stdout


def as_pg(argv):
    """argv as the cluster user (postgres when root), from / ."""
    return (["runuser", "-u", "postgres", "--"] + argv) if IS_ROOT else argv


def yesterday_stockholm():
    now = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Stockholm"))
    return (now.date() - datetime.timedelta(days=1)).isoformat()


class Work:
    """A temp folder for one scenario; the cluster user owns it (its clusters live inside)."""

    def __init__(self, prefix):
        self.path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        os.chmod(self.path, 0o755)
        if IS_ROOT:
            shutil.chown(self.path, "postgres", "postgres")

    def sub(self, *parts):
        return os.path.join(self.path, *parts)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Cluster:
    """One PostgreSQL cluster: BASE/data, socket in BASE/s, server log BASE/postgres.log."""

    def __init__(self, base, port, name):
        self.base, self.port, self.name = base, port, name
        self.data = os.path.join(base, "data")
        self.sock = os.path.join(base, "s")
        self.log = os.path.join(base, "postgres.log")

    def _env(self):
        return dict(D=self.data, S=self.sock, P=self.port)

    def init(self, extra=()):
        os.makedirs(self.base, exist_ok=True)
        if IS_ROOT:
            shutil.chown(self.base, "postgres", "postgres")
        lib('rb_pg_init "$D" "$S" "$P"', **self._env())
        self.set_extra(extra)

    def set_extra(self, extra):
        """DATA/fault.conf, included after ops/lib.sh's reimbursed.conf, so it wins."""
        path = os.path.join(self.data, "fault.conf")
        with open(path, "w") as f:
            f.write("# written by tests/fault/faultlib.py\n")
            for line in extra:
                f.write(line + "\n")
        conf = os.path.join(self.data, "postgresql.conf")
        with open(conf) as f:
            text = f.read()
        if "include_if_exists = 'fault.conf'" not in text:
            with open(conf, "a") as f:
                f.write("\ninclude_if_exists = 'fault.conf'\n")
        if IS_ROOT:
            shutil.chown(path, "postgres", "postgres")

    def reconfigure(self):
        """Rewrites ops/lib.sh's address settings (after pg_basebackup copied the primary's)."""
        lib('rb_pg_use "$D" "$S" "$P"; rb_pg_mkdir "$S"; rb_pg_configure', **self._env())

    def start(self):
        lib('rb_pg_use "$D" "$S" "$P"; rb_pg_start', **self._env())

    def start_nowait(self):
        """Starts the postmaster without waiting; see wait_ready()."""
        subprocess.run(as_pg([f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", self.log, "-W", "start"]),
                       cwd="/", check=True, stdout=subprocess.DEVNULL)

    def wait_ready(self, timeout=60.0):
        """Polls postmaster.pid (as pg_ctl -w does, but every 5 ms) until the server accepts
        connections; returns the monotonic time it was seen ready."""
        pidfile = os.path.join(self.data, "postmaster.pid")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(pidfile) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return time.monotonic()
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError(f"cluster {self.name} not ready within {timeout} s")

    def stop(self, mode="fast"):
        subprocess.run(as_pg([f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60",
                              "stop"]), cwd="/", check=True, stdout=subprocess.DEVNULL)

    def running(self):
        return subprocess.run(as_pg([f"{PG_BIN}/pg_ctl", "-D", self.data, "status"]), cwd="/",
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def stop_quietly(self):
        try:
            if os.path.exists(os.path.join(self.data, "postmaster.pid")) and self.running():
                self.stop("fast")
        except subprocess.CalledProcessError:
            try:
                self.stop("immediate")
            except subprocess.CalledProcessError:
                pass

    def promote(self):
        subprocess.run(as_pg([f"{PG_BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60", "promote"]),
                       cwd="/", check=True, stdout=subprocess.DEVNULL)

    def setup_db(self):
        lib('rb_pg_use "$D" "$S" "$P"; rb_pg_setup_db', **self._env())

    def psql(self, sql, db="reimbursed", params=()):
        """Runs sql as the cluster superuser (bypasses row-level security); returns rows of
        fields. params become psql variables :'p1', :'p2', ... (quoted by psql)."""
        argv = ["psql", "-X", "-q", "-At", "-F", "\t", "-h", self.sock, "-p", str(self.port),
                "-U", "postgres" if IS_ROOT else os.environ.get("USER", ""), "-d", db,
                "-v", "ON_ERROR_STOP=1"]
        for i, p in enumerate(params, 1):
            argv += ["-v", f"p{i}={p}"]
        p = subprocess.run(argv, input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if p.returncode != 0:
            raise RuntimeError(f"psql on {self.name} failed: {p.stderr.strip()}")
        return [line.split("\t") for line in p.stdout.splitlines() if line != ""]

    def conninfo(self, user):
        return f"host={self.sock} port={self.port} dbname=reimbursed user={user}"


class Daemon:
    """The reimbursed process under test: start, SIGKILL, restart on the same config and port."""

    def __init__(self, binary, conf, logpath):
        self.binary, self.conf, self.logpath = binary, conf, logpath
        self.proc = None
        self.log = open(logpath, "a")

    def start(self):
        self.proc = subprocess.Popen([self.binary, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        return time.monotonic()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        """SIGTERM; returns the exit status (or -9 if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9
        finally:
            self.log.flush()

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def write_conf(path, items):
    with open(path, "w") as f:
        f.write("# written by tests/fault/faultlib.py\n")
        for k, v in items:
            f.write(f"{k} = {v}\n")
    os.chmod(path, 0o600)


def ctl(ctl_bin, conf, *args):
    p = subprocess.run([ctl_bin, "-c", conf] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"reimbursectl {' '.join(args)} failed: {p.stderr.strip()}")
    return p.stdout


def add_client(ctl_bin, conf, name, role, scope):
    out = ctl(ctl_bin, conf, "client", "add", "--name", name, "--role", role, "--scope", scope)
    return out.strip().splitlines()[-1]


def make_cert(folder):
    lib('rb_make_cert "$F"', F=folder)
    return os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")


def setup_schema(cluster, work, ctl_bin, sqldir, cert, key):
    """Roles, database, migrations and test clients on `cluster`; returns the tokens."""
    cluster.setup_db()
    conf = work.sub("migrate.conf")
    write_conf(conf, [("db", cluster.conninfo("reimbursed_app")),
                      ("db_admin", cluster.conninfo("reimbursed")),
                      ("tls_cert", cert), ("tls_key", key)])
    ctl(ctl_bin, conf, "migrate", "--sql-dir", sqldir)
    return {
        "admin": add_client(ctl_bin, conf, "f-admin", "admin", "*"),
        "1480": add_client(ctl_bin, conf, "f-w1480", "write", "1480"),
        "1481": add_client(ctl_bin, conf, "f-w1481", "write", "1481"),
    }


# ------------------------------------------------------------------------------------ HTTPS


# The writes that move money require an Idempotency-Key (428 without one): a request of this
# test that names none gets a fresh key, as a careful client would send.
MONEY_ROUTES = ("/v1/payments", "/v1/payments/import", "/v1/allocations", "/v1/rates",
                "/v1/accruals/run")


class Client:
    """One keep-alive HTTPS connection; any transport error closes it (the next call reopens)."""

    def __init__(self, port, ca, timeout):
        self.port, self.timeout = port, timeout
        self.ctx = ssl.create_default_context(cafile=ca)
        self.conn = None

    def request(self, method, path, token, body=None, key=None):
        """Returns (status, headers dict (lower-case), parsed JSON or None); status 0 on a
        transport error (connection refused/reset, TLS failure, timeout)."""
        headers = {"Authorization": f"Bearer {token}", "Host": "localhost"}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if key is None and method == "POST" and path in MONEY_ROUTES:
            key = f"auto-{os.getpid()}-{time.time_ns()}-{id(self)}"
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                                        timeout=self.timeout)
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            if hdrs.get("connection", "").lower() == "close":
                self.close()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return resp.status, hdrs, parsed
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            self.close()
            return 0, {"x-error": type(e).__name__}, None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None


class Log:
    """Every response any thread saw: (t0, t1, who, status, retry_after or None)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows = []

    def add(self, t0, t1, who, status, hdrs):
        with self.lock:
            self.rows.append((t0, t1, who, status, hdrs.get("retry-after")))

    def snapshot(self):
        with self.lock:
            return list(self.rows)


class Writer(threading.Thread):
    """Writes items at full speed: each item is a placement (POST /v1/placements) and then its
    move-out, each with its own Idempotency-Key. Any non-2xx or transport error is retried with
    the SAME key (50 ms apart, not honouring Retry-After, so recovery is measured at once) until a
    2xx. A 4xx is unexpected: it is recorded and the item is abandoned. Every 2xx is logged in
    `acks` with the id it returned."""

    def __init__(self, n, run, port, ca, tokens, log, stop, timeout, give_up_s=120.0, abort=None):
        super().__init__(daemon=True)
        self.abort = abort if abort is not None else threading.Event()
        self.n, self.run_id, self.tokens, self.log, self.stop_ev = n, run, tokens, log, stop
        self.client = Client(port, ca, timeout)
        self.give_up_s = give_up_s
        self.acks = []  # (kind, key, placement id, item dict)
        self.errors = []  # (key, status, body) for 4xx / given-up requests
        self.retries = 0

    def send(self, path, body, key, token):
        first = time.monotonic()
        while True:
            t0 = time.monotonic()
            st, hdrs, parsed = self.client.request("POST", path, token, body, key)
            t1 = time.monotonic()
            self.log.add(t0, t1, f"w{self.n}", st, hdrs)
            if 200 <= st < 300:
                return parsed
            if 400 <= st < 500:
                self.errors.append((key, st, parsed))
                return None
            if t1 - first > self.give_up_s or self.abort.is_set():
                self.errors.append((key, st, "gave up"))
                return None
            self.retries += 1
            time.sleep(0.05)

    def run(self):
        seq = 0
        while not self.stop_ev.is_set():
            seq += 1
            muni = "1480" if (seq + self.n) % 2 == 0 else "1481"
            tok = self.tokens[muni]
            din = datetime.date(2024, 1, 1) + datetime.timedelta(days=seq % 28)
            dout = datetime.date(2024, 3, 1) + datetime.timedelta(days=(seq * 7) % 28)
            item = {"dossier": f"F{self.run_id}-{self.n}-{seq}", "muni": muni,
                    "in": din.isoformat(), "out": dout.isoformat()}
            key = f"{self.run_id}-{self.n}-{seq}-c"
            r = self.send("/v1/placements", {
                "dossier_number": item["dossier"], "birth_date": "1990-05-17",
                "municipality": muni, "assigned_on": item["in"], "moved_in_on": item["in"]},
                key, tok)
            if r is None:
                continue
            pid = str(r.get("id"))
            self.acks.append(("create", key, pid, item))
            key = f"{self.run_id}-{self.n}-{seq}-o"
            r = self.send(f"/v1/placements/{pid}/move-out",
                          {"date": item["out"], "reason": "own_housing"}, key, tok)
            if r is not None and str(r.get("id")) == pid and r.get("moved_out_on") == item["out"]:
                self.acks.append(("move_out", key, pid, item))
            elif r is not None:
                self.errors.append((key, 200, r))


class Prober(threading.Thread):
    """A read (GET /v1/placements?limit=1, which needs the database) every `every` seconds on a
    keep-alive connection; it gives the recovery times their resolution."""

    def __init__(self, port, ca, token, log, stop, timeout, every=0.02):
        super().__init__(daemon=True)
        self.client = Client(port, ca, timeout)
        self.token, self.log, self.stop_ev, self.every = token, log, stop, every

    def run(self):
        while not self.stop_ev.is_set():
            t0 = time.monotonic()
            st, hdrs, _ = self.client.request("GET", "/v1/placements?limit=1", self.token)
            self.log.add(t0, time.monotonic(), "probe", st, hdrs)
            time.sleep(self.every)


def first_2xx_after(rows, t):
    """The end time of the first 2xx response that finished at or after t (None if none)."""
    best = None
    for t0, t1, _, st, _ in rows:
        if 200 <= st < 300 and t1 >= t and (best is None or t1 < best):
            best = t1
    return best


def last_2xx_before(rows, t):
    best = None
    for t0, t1, _, st, _ in rows:
        if 200 <= st < 300 and t1 <= t and (best is None or t1 > best):
            best = t1
    return best


def wait_ready(port, ca, timeout=30.0):
    c = Client(port, ca, 2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, _, _ = c.request("GET", "/readyz", "-")
        if st == 200:
            c.close()
            return True
        time.sleep(0.05)
    c.close()
    return False


def verify_acks(cluster, acks):
    """Checks the acknowledged writes against `cluster`. Returns a dict of counts:
    acknowledged, lost (acked writes not there), duplicated (dossiers with more than one
    placement, placements with more than one assigned/moved_out event, or an acked id that is not
    the dossier's placement), extra (placements of this run nobody acknowledged)."""
    creates = {a[3]["dossier"]: a for a in acks if a[0] == "create"}
    moveouts = {a[2]: a for a in acks if a[0] == "move_out"}
    prefix = None
    for d in creates:
        prefix = d.split("-")[0] + "-"
        break
    rows = cluster.psql(
        """SELECT per.dossier_number, p.id, coalesce(p.moved_out_on::text, ''),
                  (SELECT count(*) FROM placement_events e
                    WHERE e.placement_id = p.id AND e.type = 'assigned'),
                  (SELECT count(*) FROM placement_events e
                    WHERE e.placement_id = p.id AND e.type = 'moved_out')
             FROM placements p JOIN persons per ON per.id = p.person_id
            WHERE per.dossier_number LIKE :'p1' || '%'""", params=(prefix or "none-",))
    by_dossier = {}
    for dossier, pid, out, n_assigned, n_out in rows:
        by_dossier.setdefault(dossier, []).append((pid, out, int(n_assigned), int(n_out)))
    lost = dup = extra = 0
    lost_examples, dup_examples = [], []
    for dossier, a in creates.items():
        found = by_dossier.get(dossier, [])
        if not found:
            lost += 1
            lost_examples.append(("create", a[1], a[2]))
            continue
        if len(found) > 1 or found[0][0] != a[2] or found[0][2] != 1:
            dup += 1
            dup_examples.append((dossier, found, a[2]))
    for pid, a in moveouts.items():
        found = by_dossier.get(a[3]["dossier"], [])
        match = [f for f in found if f[0] == pid]
        if not match or match[0][1] != a[3]["out"] or match[0][3] < 1:
            lost += 1
            lost_examples.append(("move_out", a[1], pid))
        elif match[0][3] > 1:
            dup += 1
            dup_examples.append((a[3]["dossier"], match, pid))
    for dossier in by_dossier:
        if dossier not in creates:
            extra += 1
    return {"acknowledged": len(acks), "lost": lost, "duplicated": dup, "extra": extra,
            "lost_examples": lost_examples[:5], "dup_examples": dup_examples[:5]}


def journals_unbalanced(cluster):
    """Journals whose postings do not sum to zero or that have fewer than two postings."""
    rows = cluster.psql(
        """SELECT count(*) FROM journal j
            WHERE (SELECT count(*) FROM postings p WHERE p.journal_id = j.id) < 2
               OR (SELECT coalesce(sum(amount_ore), 0) FROM postings p
                    WHERE p.journal_id = j.id) <> 0""")
    orphans = cluster.psql(
        "SELECT count(*) FROM postings p WHERE NOT EXISTS "
        "(SELECT 1 FROM journal j WHERE j.id = p.journal_id)")
    n = cluster.psql("SELECT count(*) FROM journal")
    return int(rows[0][0]) + int(orphans[0][0]), int(n[0][0])


def expected_receivable(item):
    """What the ledger must hold for one item after a full accrual: MOVE_IN plus DAY_ADULT for
    every day in [moved_in, moved_out) (born 1990: an adult; 2024 rates: 15 000 and 300 SEK)."""
    days = (datetime.date.fromisoformat(item["out"]) - datetime.date.fromisoformat(item["in"])).days
    return 1500000 + days * 30000


def ledger_mismatches(cluster, acks):
    """Placements whose receivable postings differ from expected_receivable."""
    items = {a[2]: a[3] for a in acks if a[0] == "move_out"}
    rows = cluster.psql(
        """SELECT placement_id, sum(amount_ore) FROM postings
            WHERE kind = 'accrual' AND account = 'receivable' AND placement_id IS NOT NULL
            GROUP BY placement_id""")
    posted = {r[0]: int(r[1]) for r in rows}
    bad = [(pid, posted.get(pid, 0), expected_receivable(it)) for pid, it in items.items()
           if posted.get(pid, 0) != expected_receivable(it)]
    return bad
