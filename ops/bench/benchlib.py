"""ops/bench/benchlib.py — what every part of ops/bench/run shares: the run's settings and table,
processes that are cleaned up on exit, the PostgreSQL cluster, the daemon, nginx, and the two
load generators (wrk, pgbench) with their CPU accounting.

The cluster functions of ops/lib.sh (initdb, start, stop, roles, certificate, client token) are
called through bash, so the benchmarks set a cluster up exactly as the tests and ops/run do."""
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LIB_SH = ROOT / "ops" / "lib.sh"
PG_BIN = os.environ.get("RB_PG_BIN", "/usr/lib/postgresql/15/bin")
TICK = os.sysconf("SC_CLK_TCK")
NPROC = os.cpu_count() or 1
MUNI = "1480"


class BenchError(Exception):
    """A benchmark could not run: its part reports a FAIL row with the message."""


class Stopped(Exception):
    """The part's share of the time budget is used up."""


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def fmt_ratio(a, b):
    return f"{a / b:.2f}" if b and b > 0 and a is not None else "-"


# ---------------------------------------------------------------- the run
class Run:
    """The run's settings, its temp folder, the processes and clusters to clean up."""

    def __init__(self, smoke, strict):
        self.smoke, self.strict = smoke, strict
        self.t0 = time.monotonic()

        try:
            self.dur = self.setting("BENCH_DURATION", 8, 1)
            self.warm = self.setting("BENCH_WARMUP", 2, 0, 0)
            self.threads = self.setting("BENCH_THREADS", 2, 2)
            self.idle = self.setting("BENCH_IDLE", 1000, 200)
            self.budget = self.setting("BENCH_BUDGET", 600, 300)
        except BenchError as e:
            raise SystemExit(str(e)) from None
        self.keep_logs = os.environ.get("BENCH_KEEP_LOGS", "")
        self.profile = os.environ.get("BENCH_PROFILE", "")
        b = Path(os.environ.get("BENCH_BUILD_DIR", "build/bench"))
        self.root = ROOT
        self.build = b if b.is_absolute() else ROOT / b
        self.base = Path(tempfile.mkdtemp(prefix="rbrun.", dir="/tmp"))
        self.base.chmod(0o755)
        self.logs = self.base / "logs"
        self.logs.mkdir()
        self.procs, self.clusters = set(), []
        self.lock = threading.Lock()
        self.closing = False
        self.local = threading.local()
        self.shared = None  # --smoke: the HTTP parts' one cluster

    def setting(self, key, full, smoke, minimum=1):
        """An integer setting from the environment, with its full and its --smoke default."""
        v = os.environ.get(key, str(smoke if self.smoke else full))
        if not v.isdigit() or int(v) < minimum:
            raise BenchError(f"{key} must be an integer >= {minimum} (got '{v}')")
        return int(v)

    def binary(self, name):
        """NAME in the build folder (at its top, or under daemon/ where CMake puts it now)."""
        for d in (self.build, self.build / "daemon"):
            if (d / name).exists():
                return d / name
        return self.build / name

    def elapsed(self):
        return int(time.monotonic() - self.t0)

    # -- processes
    def deadline(self):
        return getattr(self.local, "deadline", None)

    def timeout(self, extra=None):
        d = self.deadline()
        left = None if d is None else d - time.monotonic()
        if left is not None and left <= 0:
            raise Stopped()
        return min(x for x in (left, extra) if x is not None) if (left or extra) else None

    def popen(self, cmd, force=False, **kw):
        if self.closing and not force:
            raise BenchError("the run is ending")
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen([str(c) for c in cmd], **kw)
        with self.lock:
            self.procs.add(p)
        return p

    def reap(self, p, timeout=None):
        """Waits for P; returns (exit code, CPU seconds of P and its children)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by the cleanup, which is ending the run
                raise BenchError("the run is ending") from None
            if pid:
                break
            if end is not None and time.monotonic() > end:
                self.kill(p)
                raise subprocess.TimeoutExpired(p.args, timeout)
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
        with self.lock:
            self.procs.discard(p)
        return p.returncode, ru.ru_utime + ru.ru_stime

    def kill(self, p, sig=signal.SIGTERM):
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except OSError:
                pass
        with self.lock:
            self.procs.discard(p)

    def run(self, cmd, out=None, err=None, input=None, check=True, timeout=None, force=False):
        """Runs CMD to the end (within the part's deadline unless FORCE, for cleaning up); its
        output goes to files (OUT, ERR or temporary ones). Returns (rc, stdout, CPU seconds)."""
        t = timeout if force else self.timeout(timeout)
        with tempfile.TemporaryFile() as to, tempfile.TemporaryFile() as te:
            fo = open(out, "w+b") if out else to
            fe = open(err, "w+b") if err else te
            try:
                p = self.popen(cmd, force=force, stdout=fo, stderr=fe,
                               stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
                if input is not None:
                    try:
                        p.stdin.write(input.encode())
                    except BrokenPipeError:
                        pass
                    p.stdin.close()
                try:
                    rc, cpu = self.reap(p, t)
                except subprocess.TimeoutExpired:
                    raise Stopped() if t != timeout else BenchError(f"{cmd[0]} timed out") from None
                fo.seek(0)
                fe.seek(0)
                text, etext = fo.read().decode(errors="replace"), fe.read().decode(errors="replace")
            finally:
                for f in (fo, fe):
                    if f not in (to, te):
                        f.close()
        if check and rc != 0:
            raise BenchError(f"{Path(str(cmd[0])).name} exited {rc}: {etext.strip()[-600:]}")
        return rc, text, cpu

    def lib(self, func, *args, cluster=None, input=None, check=True, force=False):
        """One function of ops/lib.sh (with the cluster selected); returns its stdout."""
        use = 'rb_pg_use "$RB_D" "$RB_S" "$RB_P"; ' if cluster else ""
        env = {}
        if cluster:
            env = {"RB_D": str(cluster.data), "RB_S": str(cluster.sock), "RB_P": str(cluster.port)}
        cmd = ["env", *(f"{k}={v}" for k, v in env.items()), "bash", "-c",
               f'source "$0"; {use}"$@"', LIB_SH, func, *args]
        return self.run(cmd, input=input, check=check, force=force)[1]

    def cleanup(self):
        self.closing = True
        with self.lock:
            procs = list(self.procs)
        for p in procs:
            self.kill(p, signal.SIGINT if p.args[0] == "perf" else signal.SIGTERM)
        for c in list(self.clusters):
            c.stop()
        if self.keep_logs:
            dest = Path(self.keep_logs)
            dest.mkdir(parents=True, exist_ok=True)
            for f in self.base.rglob("*"):
                if f.is_file() and f.suffix in (".log", ".out", ".wrk", ".err"):
                    shutil.copy(f, dest / f.name)
        shutil.rmtree(self.base, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the table
class Part:
    """One benchmark's rows and output. A part that runs alongside others (--smoke's accrual and
    report) keeps its output until it is printed in order."""

    def __init__(self, name, live=True):
        self.name, self.live = name, live
        self.lines, self.rows = [], []

    def say(self, text=""):
        if self.live:
            print(text, flush=True)
        else:
            self.lines.append(text)

    def row(self, figure, ours, baseline="-", ratio="-", target="-", verdict="-"):
        self.rows.append(tuple(str(x) for x in (figure, ours, baseline, ratio, target, verdict)))

    def error(self, what, msg):
        log(f"error: {what}: {msg}")
        short = " ".join(f"{what}: {msg}".split())
        self.row(short if len(short) <= 120 else short[:117] + "...", "-", "-", "-", "-", "FAIL")

    def flush(self):
        for line in self.lines:
            print(line, flush=True)
        self.lines = []


def print_table(rows):
    head = ("figure", "ours", "baseline", "ratio", "target", "PASS/MISS")
    w = [max(len(r[i]) for r in [head, *rows]) for i in range(6)]
    for n, r in enumerate([head, *rows]):
        print(" | ".join(c.ljust(w[0]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)))
        if n == 0:
            print("-+-".join("-" * x for x in w))


# ---------------------------------------------------------------- CPU
def ticks(pid, children=False):
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    t = int(f[11]) + int(f[12])
    return t + int(f[13]) + int(f[14]) if children else t


def vm(pid, key):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Busy:
    """How many cores the whole machine kept busy since it was made (every process)."""

    @staticmethod
    def now():
        v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(v) - v[3] - v[4], sum(v)

    def __init__(self):
        self.b0, self.t0 = self.now()

    def cores(self):
        b1, t1 = self.now()
        return (b1 - self.b0) / (t1 - self.t0) * NPROC if t1 > self.t0 else 0.0


def us_per(tick_count, n):
    return f"{tick_count * 1e6 / TICK / n:.0f}" if n > 0 else "0"


# ---------------------------------------------------------------- PostgreSQL
class Cluster:
    """A throwaway PostgreSQL 15 cluster in the run's folder, durable as in production."""

    def __init__(self, run, name, settings):
        self.run, self.dir = run, run.base / name
        self.dir.mkdir(mode=0o755)
        self.dir.chmod(0o755)
        run.lib("rb_pg_own", self.dir)
        self.data, self.sock, self.port = self.dir / "data", self.dir / "s", free_port()
        self.log = self.dir / "postgres.log"
        with run.lock:
            run.clusters.append(self)
        run.lib("rb_pg_init", self.data, self.sock, self.port)
        conf = f"# ops/bench/run ({name})\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
        run.lib("rb_as_pg", "sh", "-c", 'cat >>"$1"', "sh", self.data / "postgresql.conf",
                cluster=self, input=conf)
        run.lib("rb_pg_start", cluster=self)
        run.lib("rb_pg_setup_db", cluster=self)
        self.superuser = "postgres" if os.getuid() == 0 else run.lib("id", "-un").strip()

    def psql(self, sql=None, db="reimbursed", user=None, file=None, **vars):
        cmd = ["psql", "-X", "-q", "-At", "-F", " ", "-h", self.sock, "-p", self.port,
               "-U", user or self.superuser, "-d", db, "-v", "ON_ERROR_STOP=1"]
        for k, v in vars.items():
            cmd += ["-v", f"{k}={v}"]
        cmd += ["-f", file] if file else ["-f", "-"]
        return self.run.run(cmd, input=None if file else sql)[1].strip()

    def conninfo(self, user, db="reimbursed"):
        return f"host={self.sock} port={self.port} dbname={db} user={user}"

    def server_ticks(self):
        """The postmaster with its ended children, and every live child."""
        try:
            pm = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0
        t = ticks(pm, True)
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(pm):
                        t += ticks(d)
                except (OSError, IndexError):
                    pass
        return t

    def wait_idle(self):
        """Waits (15 s at most) until no statement of the daemon's role runs, so that requests a
        load generator left behind do not load the next measurement."""
        for _ in range(150):
            n = self.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'reimbursed_app'"
                          " AND state <> 'idle' AND pid <> pg_backend_pid()")
            if n == "0":
                return
            time.sleep(0.1)
        log(f"still {n} statements running after 15 s; going on")

    def stop(self):
        with self.run.lock:
            if self not in self.run.clusters:
                return
            self.run.clusters.remove(self)
        try:
            self.run.lib("rb_pg_stop", cluster=self, check=False, force=True)
        except (OSError, BenchError) as e:
            log(f"could not stop the cluster in {self.data}: {e}")
        if self.run.keep_logs and self.log.exists():
            shutil.copy(self.log, self.run.logs / f"postgres-{self.dir.name}.log")
        shutil.rmtree(self.data, ignore_errors=True)


BENCH_PG = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
            "shared_buffers": "512MB", "max_wal_size": "4GB", "checkpoint_timeout": "30min"}


def write_config(path, **kv):
    path.write_text("# reimbursed configuration, written by ops/bench/run\n"
                    + "".join(f"{k} = {v}\n" for k, v in kv.items()))
    path.chmod(0o600)


def https(port, path, cert, token=None, timeout=5):
    """One GET on a new connection: (status, body)."""
    ctx = ssl.create_default_context(cafile=str(cert))
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    try:
        c.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class Daemon:
    """The daemon on 127.0.0.1 with the stack's certificate; waits for /readyz."""

    def __init__(self, stack, pool, queue, idle_s, maxconn):
        self.stack, self.run = stack, stack.run
        self.port = free_port()
        self.conf = stack.dir / "reimbursed.conf"
        write_config(self.conf, listen="127.0.0.1", port=self.port, tls_cert=stack.cert,
                     tls_key=stack.dir / "key.pem", db=stack.pg.conninfo("reimbursed_app"),
                     db_admin=stack.pg.conninfo("reimbursed"), db_pool_size=pool,
                     db_queue_max=queue, idle_timeout_s=idle_s, max_connections=maxconn,
                     request_timeout_s=10, log_level="info", metrics_listen="off")
        logf = open(stack.dir / "daemon.log", "ab")

        def nofile():
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))

        self.proc = self.run.popen([self.run.binary("reimbursed"), "-c", self.conf],
                                   stdout=logf, stderr=logf, preexec_fn=nofile)
        logf.close()
        for _ in range(150):
            try:
                if https(self.port, "/readyz", stack.cert, timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = (stack.dir / "daemon.log").read_text(errors="replace")[-1500:]
        self.stop()
        raise BenchError(f"the daemon did not become ready: {tail}")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        self.run.kill(self.proc)


class Nginx:
    """nginx serving BODY as a static file with the stack's certificate (nginx.conf.in)."""

    def __init__(self, stack, body):
        self.run = stack.run
        ng = stack.run.base / "nginx"
        (ng / "www").mkdir(parents=True, exist_ok=True)
        (ng / "tmp").mkdir(exist_ok=True)
        (ng / "www" / "body.json").write_bytes(body)
        self.port = free_port()
        conf = (HERE / "nginx.conf.in").read_text()
        for k, v in {"PREFIX": ng, "PORT": self.port, "CERT": stack.cert,
                     "KEY": stack.dir / "key.pem", "BODY": "body.json"}.items():
            conf = conf.replace(f"@{k}@", str(v))
        (ng / "nginx.conf").write_text(conf)
        logf = open(self.run.logs / "nginx.log", "ab")
        self.proc = self.run.popen(["nginx", "-p", ng, "-c", ng / "nginx.conf", "-e",
                                    ng / "error.log"], stdout=logf, stderr=logf)
        logf.close()
        for _ in range(50):
            try:
                if https(self.port, "/x", stack.cert)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise BenchError("nginx did not start")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        self.run.kill(self.proc)


# ---------------------------------------------------------------- load generators
def peer_ports(port):
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    return sorted(line.split()[3] for line in out.splitlines() if len(line.split()) > 3)


class Profile:
    """With BENCH_PROFILE: perf record -g and perf trace -s of the daemon meanwhile."""

    def __init__(self, run, label, pid):
        self.run, self.procs = run, []
        if not run.profile or pid is None:
            return
        d = Path(run.profile)
        d.mkdir(parents=True, exist_ok=True)
        logf = open(run.logs / "perf.log", "ab")
        for cmd in (["perf", "record", "-g", "-F", "999", "-p", pid, "-o", d / f"{label}.perf.data"],
                    ["perf", "trace", "-s", "-p", pid, "-o", d / f"{label}.syscalls.txt"]):
            self.procs.append(run.popen(cmd, stdout=logf, stderr=logf))
        logf.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            self.run.kill(p, signal.SIGINT)


def wrk(stack, part, label, script, port, path, conns, secs, server_pid, **env):
    """One wrk run (HTTP/1.1 keep-alive over TLS); None for a warm-up of 0 s, else a dict with
    rps p50 p99 req bad status keepalive cpu. Keep-alive is checked: the same established
    connections at a third and at two thirds of the run, at least CONNS of them."""
    run = stack.run
    if secs <= 0:
        return None
    stack.pg.wait_idle()
    out = run.logs / f"{label}.wrk"
    busy, s0, d0 = Busy(), stack.pg.server_ticks(), ticks(server_pid)
    e = dict(os.environ, BENCH_WRK_DIR=str(HERE / "wrk"), BENCH_TOKEN=stack.token,
             BENCH_RUN=f"{stack.seq()}{os.getpid() % 1000}", **{k: str(v) for k, v in env.items()})
    with open(out, "wb") as f:
        p = run.popen(["wrk", f"-t{run.threads}", f"-c{conns}", f"-d{secs}s", "--timeout", "10s",
                       "--latency", "-s", HERE / "wrk" / script, f"https://127.0.0.1:{port}{path}"],
                      stdout=f, stderr=subprocess.STDOUT, env=e)
    time.sleep(secs / 3)
    a = peer_ports(port)
    time.sleep(secs / 3)
    b = peer_ports(port)
    rc, client = run.reap(p, timeout=secs + 60)
    text = out.read_text(errors="replace")
    kv = {}
    for line in text.splitlines():
        w = line.split()
        if w and w[0].startswith("bench_"):
            kv.setdefault(w[0], []).append(w[1:])
    if rc != 0 or "bench_rps" not in kv:
        raise BenchError(f"wrk failed: {text[-400:]}")
    g = lambda k: float(kv[k][0][0])  # noqa: E731
    r = {"rps": g("bench_rps"), "req": int(g("bench_requests")),
         "p50": g("bench_p50_us") / 1000, "p99": g("bench_p99_us") / 1000,
         "bad": int(g("bench_non2xx") + g("bench_socket_errors")),
         "status": " ".join(f"{c}:{n}" for c, n in kv.get("bench_status", []))}
    r["keepalive"] = "yes" if a == b and len(a) >= conns else \
        f"no ({len(a)} then {len(b)} connections, {len(set(a) ^ set(b))} changed)"
    n = r["req"]
    r["cpu"] = (f"{us_per(stack.pg.server_ticks() - s0, n)} / {us_per(ticks(server_pid) - d0, n)}"
                f" / {us_per(client * TICK, n)}")
    part.say(f"  {label}: {r['rps']:.1f} req/s, p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, {n} requests"
             f" (status {r['status']}), keep-alive: {r['keepalive']}; CPU us/request"
             f" postgres/server/wrk {r['cpu']}; machine busy {busy.cores():.2f} of {NPROC} cores")
    return r


def check_wrk(part, what, r):
    """A load run with failures is not valid: a FAIL row; returns whether R is good."""
    if r["req"] == 0:
        part.error(what, "no request completed")
    elif r["bad"] > 0:
        part.error(what, f"{r['bad']} requests failed (status {r['status']})")
    elif r["keepalive"] != "yes":
        part.error(what, f"connections not kept alive: {r['keepalive']}")
    else:
        return True
    return False


def pctl(sorted_values, q):
    return sorted_values[max(0, int(len(sorted_values) * q) - 1)] if sorted_values else 0


def pgbench(stack, part, label, script, conns, secs, user="reimbursed_app", **defs):
    """pgbench with prepared statements over the socket, with the daemon's statement_timeout;
    None for a warm-up of 0 s, else a dict with tps p50 p99 (from the transaction log) tx failed
    cpu, or {"timeouts": N} when clients aborted on the statement timeout (too slow, not broken)."""
    run = stack.run
    if secs <= 0:
        return None
    stack.pg.wait_idle()
    out, prefix = run.logs / f"{label}.pgbench.out", run.logs / f"{label}.tx"
    s0 = stack.pg.server_ticks()
    busy = Busy()
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", conns, "-j", run.threads, "-T", secs,
           "-h", stack.pg.sock, "-p", stack.pg.port, "-U", user, "-f", HERE / "pgbench" / script,
           "-l", f"--log-prefix={prefix}"]
    for k, v in defs.items():
        cmd += ["-D", f"{k}={v}"]
    with open(out, "wb") as f:
        p = run.popen([*cmd, "reimbursed"], stdout=f, stderr=subprocess.STDOUT,
                      env=dict(os.environ, PGOPTIONS="-c statement_timeout=10000"))
    rc, client = run.reap(p, timeout=secs + 60)
    text = out.read_text(errors="replace")
    lat = []
    for f in run.logs.glob(f"{label}.tx*"):
        lat += [int(line.split()[2]) for line in f.read_text().splitlines() if line]
        f.unlink()
    if rc != 0:
        n = text.count("canceling statement due to statement timeout")
        if n:
            part.say(f"  {label}: {n} pgbench clients aborted on the statement timeout (10 s)")
            return {"timeouts": n}
        errs = [x for x in text.splitlines() if "error" in x.lower() and "aborted" not in x]
        raise BenchError(f"pgbench failed: {(errs or [text[-300:]])[0]}")
    m = re.search(r"^number of transactions actually processed: (\d+)", text, re.M)
    tps = re.search(r"^tps = ([\d.]+)", text, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", text, re.M)
    if not m:
        raise BenchError(f"pgbench printed no figures: {text[-400:]}")
    lat.sort()
    n = int(m.group(1))
    r = {"tps": float(tps.group(1)) if tps and n else 0.0, "tx": n,
         "failed": int(failed.group(1)) if failed else 0,
         "p50": pctl(lat, 0.5) / 1000, "p99": pctl(lat, 0.99) / 1000,
         "cpu": f"{us_per(stack.pg.server_ticks() - s0, n)} / - / {us_per(client * TICK, n)}"}
    part.say(f"  {label}: {r['tps']:.1f} tps, p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, {n}"
             f" transactions, {r['failed']} failed; CPU us/transaction postgres/-/pgbench {r['cpu']};"
             f" machine busy {busy.cores():.2f} of {NPROC} cores")
    return r
