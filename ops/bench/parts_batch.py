"""ops/bench/parts_batch.py — the batch parts of ops/bench/run: the convergent accrual run and the
nightly reports, each on its own cluster with data generated in SQL (sql/*.sql, fixed seeds),
timed around `reimbursectl` as the daemon's role (row-level security applies). See README.md."""
import filecmp
import json
import os
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from benchlib import BENCH_PG, HERE, NPROC, TICK, BenchError, Busy, Cluster, write_config

SQL = HERE / "sql"
BIG = {"work_mem": "64MB", "maintenance_work_mem": "256MB"}
THROUGH, MONTH1, MONTH12 = "2026-10-31", "2022-07-31", "2023-06-30"
TARGET_FULL_S, TARGET_INCR_S, TARGET_REPORT_S = 10, 1, 30


def stockholm_today():
    return datetime.now(ZoneInfo("Europe/Stockholm")).date()


def verdict(seconds, target):
    return "PASS" if seconds <= target else "MISS"


class Batch:
    """A part's cluster, its configurations and the timing of the commands it runs."""

    def __init__(self, run, part, name):
        self.run, self.part, self.name = run, part, name
        settings = dict(BENCH_PG, **BIG)
        if os.environ.get("BENCH_LOG_STATEMENTS") == "1":
            settings.update(log_min_duration_statement="0", log_line_prefix="'%m [%p] %u@%d '")
        self.pg = Cluster(run, name, settings)
        self.work = self.pg.dir
        self.contended = []

    def conf(self, db, admin=False):
        """The daemon's configuration for DB: `db` is the reimbursed_app role (row-level security as
        in production); with ADMIN also db_admin, the owner role, for migrate."""
        f = self.work / f"{db}.{'admin' if admin else 'app'}.conf"
        kv = {"db": self.pg.conninfo("reimbursed_app", db), "log_level": "warn"}
        if admin:
            kv["db_admin"] = self.pg.conninfo("reimbursed", db)
        write_config(f, **kv)
        return f

    def ctl(self, *args, label):
        return self.timed([self.run.binary("reimbursectl"), *args], label)

    def timed(self, cmd, label):
        """CMD to the end: (stdout, wall s, client CPU s, server CPU s, other load in cores)."""
        out, err = self.work / f"{label}.out", self.work / f"{label}.err"
        busy, s0, w0 = Busy(), self.pg.server_ticks(), time.monotonic()
        _, _, client = self.run.run(cmd, out=out, err=err)
        wall = time.monotonic() - w0
        server = (self.pg.server_ticks() - s0) / TICK
        other = busy.cores() - (client + server) / max(wall, 0.001)
        if other > 0.25:
            self.contended.append(label)
        return out.read_text(), wall, client, server, other

    def migrate(self, db):
        self.run.run([self.run.binary("reimbursectl"), "-c", self.conf(db, True), "migrate", "--sql-dir",
                      self.run.root / "sql"], out=self.work / f"{db}.migrate.log", err=self.work / f"{db}.migrate.err")


# ---------------------------------------------------------------- accrual
class Accrual(Batch):
    def template(self, db, n):
        """A migrated database with N generated placements, analyzed, marked as a template."""
        self.pg.psql(f"CREATE DATABASE {db} OWNER reimbursed", db="postgres")
        self.migrate(db)
        t = time.monotonic()
        self.pg.psql(db=db, user="reimbursed", file=SQL / "accrual_generate.sql", n=n)
        self.pg.psql("VACUUM ANALYZE", db=db)
        self.pg.psql(f"ALTER DATABASE {db} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false", db="postgres")
        return time.monotonic() - t

    def copy(self, template, db):
        self.pg.psql(f"CREATE DATABASE {db} OWNER reimbursed TEMPLATE {template}", db="postgres")

    def accrue(self, db, through, label):
        """One timed run; (seconds, lines, parked, CPU seconds)."""
        out, wall, client, server, other = self.ctl("-c", self.conf(db), "accrue", "--through", through, label=label)
        body = json.loads(out)
        if body.get("status") != "done" or body.get("errors"):
            raise BenchError(f"run {label} not done: status={body.get('status')} errors={body.get('errors', [])[:3]}")
        self.part.say(f"  {label} (through {through}): {wall:.3f} s, {body['lines_posted']} lines, parked"
                      f" {len(body.get('parked') or [])}; cpu: server {server:.2f} s + client {client:.2f} s;"
                      f" other load {other:.2f} of {NPROC} cores")
        return wall, body["lines_posted"], len(body.get("parked") or []), server + client

    def settle(self, db):
        """What autovacuum does between two nightly runs (untimed)."""
        if os.environ.get("BENCH_SETTLE", "1") == "1":
            self.pg.psql("VACUUM ANALYZE", db=db)

    def correct(self, db, k):
        """K moved_out_on corrections through api.post as the daemon role, each its own transaction."""
        client = self.pg.psql("SELECT id FROM clients WHERE name = 'bench-admin'", db=db, user="reimbursed")
        stmts = self.pg.psql(db=db, user="reimbursed", file=SQL / "accrual_corrections.sql", k=k, client=client)
        f = self.work / "corrections.sql"
        f.write_text(stmts + "\n")
        out, wall, *_ = self.timed(["psql", "-X", "-q", "-At", "-h", self.pg.sock, "-p", self.pg.port, "-U",
                                    "reimbursed_app", "-d", db, "-v", "ON_ERROR_STOP=1", "-f", f], "corrections")
        ok = out.split().count("200")
        if ok != k:
            raise BenchError(f"only {ok} of {k} corrections answered 200")
        return wall, ok


def bench_accrual(run, part):
    n = run.setting("BENCH_PLACEMENTS", 100000, 5000, 40)
    k = run.setting("BENCH_CORRECTIONS", 1000, 200, 0)
    if str(stockholm_today()) <= THROUGH:
        raise BenchError(f"today (Europe/Stockholm) is not after {THROUGH}: the runs would be refused")
    part.say(f"\n== accrual: {n} placements, {k} corrections [at {run.elapsed()} s]")
    a = Accrual(run, part, "accrual")
    try:
        gen = a.template("bench_n", n)
        a.copy("bench_n", "run_full")
        d = a.pg.psql(file=SQL / "accrual_describe.sql", db="run_full", user="reimbursed").split()
        part.say(f"  data: {d[0]} placements in {d[1]} municipalities, assigned {d[7]} .. {d[8]} (generated in"
                 f" {gen:.1f} s); without move-in {d[2]} %, with move-out {d[3]} %, former UAM {d[4]} %, children"
                 f" {d[5]} %, turning 18 while housed {d[6]}; events {d[9]}; queued {d[10]}")
        full_s, full_lines, _, full_cpu = a.accrue("run_full", THROUGH, "full")
        a.settle("run_full")
        second_s, second_lines, _, _ = a.accrue("run_full", THROUGH, "second")
        a.settle("run_full")
        corr_s, corr = a.correct("run_full", k)
        part.say(f"  corrections: {corr} via api.post as reimbursed_app in {corr_s:.2f} s")
        a.settle("run_full")
        incr_s, incr_lines, _, incr_cpu = a.accrue("run_full", THROUGH, "incremental")
        m = {}
        for label, through in (("month1", MONTH1), ("month12", MONTH12)):
            a.copy("bench_n", f"run_{label}")
            m[label] = a.accrue(f"run_{label}", through, label)
            a.pg.psql(f"DROP DATABASE run_{label}", db="postgres")
        summary = {"placements": n, "full_s": f"{full_s:.3f}", "full_cpu_s": f"{full_cpu:.2f}",
                   "full_lines": full_lines, "full_placements_per_s": f"{n / max(full_s, 0.001):.0f}",
                   "second_s": f"{second_s:.3f}", "second_lines": second_lines, "corrections": corr,
                   "corrections_s": f"{corr_s:.3f}", "incremental_s": f"{incr_s:.3f}",
                   "incremental_cpu_s": f"{incr_cpu:.2f}", "incremental_lines": incr_lines,
                   "month1_s": f"{m['month1'][0]:.3f}", "month1_lines": m["month1"][1],
                   "month12_s": f"{m['month12'][0]:.3f}", "month12_lines": m["month12"][1],
                   "month12_over_month1": f"{m['month12'][0] / max(m['month1'][0], 0.001):.2f}"}
        if not run.smoke:  # scaling: the full run on a database generated with N/4 placements
            nq = n // 4
            a.template("bench_q", nq)
            a.copy("bench_q", "run_q")
            q_s, q_lines, _, q_cpu = a.accrue("run_q", THROUGH, "quarter")
            summary.update(quarter_placements=nq, quarter_s=f"{q_s:.3f}", quarter_lines=q_lines,
                           s_per_placement_quarter=f"{q_s / nq:.3e}", s_per_placement_full=f"{full_s / n:.3e}",
                           scaling_ratio=f"{(full_s / n) / max(q_s / nq, 1e-9):.2f}",
                           scaling_ratio_cpu=f"{(full_cpu / n) / max(q_cpu / nq, 1e-9):.2f}")
    finally:
        a.pg.stop()
    note = "" if n == 100000 else f" (targets are set for 100000 placements; this run had {n})"
    summary["contended_runs"] = " ".join(a.contended) or "none"
    summary[f"target_full_run_le_{TARGET_FULL_S}s"] = verdict(full_s, TARGET_FULL_S) + note
    summary[f"target_incremental_le_{TARGET_INCR_S}s"] = verdict(incr_s, TARGET_INCR_S) + note
    for key, v in summary.items():
        part.say(f"  {key}: {v}")
    part.row(f"accrual full run, {n} placements (s)", f"{full_s:.3f}", "-", "-", "<= 10 s at 100000",
             verdict(full_s, TARGET_FULL_S))
    part.row(f"accrual incremental after {corr} corrections (s)", f"{incr_s:.3f}", "-", "-", "<= 1 s at 100000",
             verdict(incr_s, TARGET_INCR_S))


# ---------------------------------------------------------------- report
def tree(d):
    files = [f for f in d.rglob("*") if f.is_file()]
    return len(files), sum(f.stat().st_size for f in files), sum(1 for x in d.iterdir() if x.is_dir())


def same_tree(a, b):
    c = filecmp.dircmp(a, b)
    if c.left_only or c.right_only or c.funny_files:
        return False
    _, bad, err = filecmp.cmpfiles(a, b, c.common_files, shallow=False)
    return not bad and not err and all(same_tree(a / s, b / s) for s in c.common_dirs)


def bench_report(run, part):
    n = run.setting("BENCH_PEOPLE", 100000, 5000, 300)
    jobs = ["--jobs", os.environ["BENCH_JOBS"]] if os.environ.get("BENCH_JOBS") else []
    today = stockholm_today()
    yesterday, month0 = today - timedelta(days=1), today.replace(day=1)
    year_start = month0.replace(year=month0.year - 1)
    part.say(f"\n== report: {n} people; report date {today}; the year {year_start} .. {month0 - timedelta(days=1)}"
             f" [at {run.elapsed()} s]")
    b = Batch(run, part, "report")
    try:
        b.migrate("reimbursed")
        app = b.conf("reimbursed")
        t = time.monotonic()
        b.pg.psql(user="reimbursed", file=SQL / "report_generate.sql", n=n, today=today, yesterday=yesterday,
                  year_start=year_start, munis=20 if run.smoke else 1000)
        b.pg.psql("VACUUM ANALYZE")
        part.say(f"  data: {n} people in {b.pg.psql('SELECT count(DISTINCT municipality) FROM placements')}"
                 f" municipalities, generated in {time.monotonic() - t:.1f} s")
        out, wall, *_ = b.ctl("-c", app, "accrue", "--through", yesterday, label="accrue")
        part.say(f"  accrual through {yesterday}: {wall:.1f} s, {json.loads(out)['lines_posted']} lines")
        # api.payment_record reads a payment's lines back by payment_id, which has no index: an
        # index for the load only (else quadratic), dropped before the measurement.
        t = time.monotonic()
        b.pg.psql("CREATE INDEX bench_payment_lines_payment ON payment_lines (payment_id)", user="reimbursed")
        paid = b.pg.psql(user="reimbursed", file=SQL / "report_payments.sql", year_start=year_start, month0=month0)
        b.pg.psql("DROP INDEX bench_payment_lines_payment", user="reimbursed")
        b.pg.psql("VACUUM ANALYZE")
        part.say(f"  {paid.splitlines()[-1] if paid else 'payment lines: ?'} (2 % discrepant), recorded in"
                 f" {time.monotonic() - t:.1f} s")
        # The night's accrual run: the reports read the ledger as it was when it had finished.
        b.ctl("-c", app, "accrue", "--through", yesterday, label="accrue2")
        secs = []
        for i in (1, 2):
            out, wall, *_ = b.ctl("-c", app, "report", "--date", today, "--out", b.work / f"reports{i}", *jobs,
                                  label=f"report{i}")
            secs.append(wall)
        files, size, munis = tree(b.work / "reports1")
        same = "yes" if same_tree(b.work / "reports1", b.work / "reports2") else "NO"
        part.say(f"  {out.strip().splitlines()[-1] if out.strip() else ''}")
        part.say(f"  first run: {secs[0]:.2f} s; {munis} municipality folders, {files} files, {size} bytes;"
                 f" second run: {secs[1]:.2f} s, byte-identical to the first: {same}")
    finally:
        b.pg.stop()
    note = "" if n == 100000 else f" (the target is set for 100000 people; this run had {n})"
    for key, v in {"people": n, "municipalities": munis, "report_s": f"{secs[0]:.2f}",
                   "report_second_s": f"{secs[1]:.2f}", "files": files, "bytes": size, "identical_rerun": same,
                   f"target_report_le_{TARGET_REPORT_S}s": verdict(secs[0], TARGET_REPORT_S) + note}.items():
        part.say(f"  {key}: {v}")
    if same != "yes":
        raise BenchError("the second report run wrote different files")
    part.row(f"reports, {n} people (s)", f"{secs[0]:.2f}", "-", "-", f"<= {TARGET_REPORT_S} s at 100000",
             verdict(secs[0], TARGET_REPORT_S))


BATCH = {"accrual": (bench_accrual, "accrual full run (s)"), "report": (bench_report, "reports (s)")}
