"""ops/bench/parts_http.py — the HTTP parts of ops/bench/run: write, read, memory and stream, each
against its fixed anchors (pgbench running the daemon's own statements and a minimal statement
of the same shape; nginx serving the same bytes). See ops/bench/README.md."""
import hashlib
import http.client
import random
import resource
import socket
import ssl
import statistics
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from benchlib import (BENCH_PG, HERE, MUNI, BenchError, Cluster, Daemon, Nginx, Profile,
                      check_wrk, fmt_ratio, https, log, peer_ports, pgbench, vm, wrk)

TARGET_WRITE_RATIO, TARGET_P99_MS, TARGET_READ_RATIO = 0.8, 20, 0.5
TARGET_RSS_MIB, TARGET_STREAM_RSS_MIB, TARGET_STREAM_HEALTHZ_MS = 64, 32, 50
MEM_CONNS = 64
SQL = HERE / "sql"
PG_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method",
               "shared_buffers", "max_wal_size", "checkpoint_timeout", "max_connections", "jit")


class Stack:
    """A cluster with the schema, a certificate, a write client for MUNI and the minimal anchor's
    plain table; --smoke shares one among the HTTP parts."""

    shown = False

    def __init__(self, run, part, name):
        self.run, self.dir, self.n = run, run.base / name, 0
        self.pg = Cluster(run, name, dict(BENCH_PG, max_connections=300))
        run.lib("rb_make_cert", self.dir)
        self.cert = self.dir / "cert.pem"
        conf = self.dir / "admin.conf"
        run.lib("rb_write_config", conf, f"db={self.pg.conninfo('reimbursed_app')}",
                f"db_admin={self.pg.conninfo('reimbursed')}", "log_level=warn")
        run.run([run.binary("reimbursectl"), "-c", conf, "migrate", "--sql-dir", run.root / "sql"],
                out=run.logs / f"{name}-migrate.log", err=run.logs / f"{name}-migrate.err")
        self.conf = conf
        self.token = run.lib("rb_client_token", run.binary("reimbursectl"), conf, f"bench-w{MUNI}",
                             "write", MUNI, cluster=self.pg).strip().splitlines()[-1]
        self.cid, self.tokhash = self.pg.psql(
            f"SELECT id, token_sha256 FROM clients WHERE name = 'bench-w{MUNI}'").split()
        # With the daemon's token cache a request is one statement asserting the cached client;
        # without it, the token lookup and then the call. pgbench follows (-D asserted).
        self.asserted = self.pg.psql("SELECT (to_regprocedure('api.client_assert(bigint,text,text,"
                                     "text,text)') IS NOT NULL)::int")
        self.pg.psql("CREATE TABLE bench_min (id bigserial PRIMARY KEY, dossier_number text NOT NULL"
                     " UNIQUE, birth_date date, municipality char(4), assigned_on date, moved_in_on"
                     " date, moved_out_on date); GRANT SELECT, INSERT ON bench_min TO reimbursed_app;"
                     " GRANT USAGE ON SEQUENCE bench_min_id_seq TO reimbursed_app")
        if not Stack.shown:
            Stack.shown = True
            names = ", ".join(f"'{s}'" for s in PG_SETTINGS)
            settings = self.pg.psql(f"SELECT string_agg(name || '=' || current_setting(name), ' '"
                                    f" ORDER BY name) FROM pg_settings WHERE name IN ({names})")
            part.say(f"postgres: {self.pg.psql('SHOW server_version')} — {settings}")
            part.say("daemon connections: unix socket as reimbursed_app, prepared statements,"
                     " statement_timeout 10 s")
            part.say("statements per request: " + (
                "1 (token cache: the call WHERE api.client_assert(...)); pgbench the same"
                if self.asserted == "1" else "2 (api.client_by_token, then the call); pgbench the same"))

    def seq(self):
        self.n += 1
        return self.n

    def pgvars(self):
        return {"asserted": self.asserted, "tokhash": self.tokhash, "cid": self.cid, "scope": MUNI}

    def bulk(self, n, first, movein, out):
        """N placements of MUNI made in SQL (sql/bulk_placements.sql), ids from FIRST on."""
        self.pg.psql(file=SQL / "bulk_placements.sql", n=n, first=first, movein=movein, out=out,
                     muni=MUNI, tag=f"B{random.randrange(100000)}")

    def first_free_id(self):
        """1000 on a fresh cluster (every id four digits, every body the same size); after the
        others on a shared one."""
        return int(self.pg.psql("SELECT greatest(1000, coalesce(max(id), 0) + 1) FROM placements"))

    def daemon(self, pool, queue=100000, idle_s=30, maxconn=1024):
        return Daemon(self, pool, queue, idle_s, maxconn)

    def down(self, final=False):
        if self.run.smoke and not final:
            return
        self.pg.stop()
        if self.run.shared is self:
            self.run.shared = None


def stack(run, part, name):
    if run.smoke:
        if run.shared is None:
            run.shared = Stack(run, part, "http")
        return run.shared
    return Stack(run, part, name)


# ---------------------------------------------------------------- 1. write path
def write_rows(part, fig, c, ours, base):
    """The rows of one daemon run OURS against its pgbench run BASE."""
    if base is None or base.get("failed", 1) > 0 or base.get("tx", 0) == 0:
        part.error(f"{fig} (pgbench)", f"{(base or {}).get('failed')} transactions failed")
        return
    r = fmt_ratio(ours["rps"], base["tps"])
    part.row(f"{fig} req/s", f"{ours['rps']:.1f}", f"{base['tps']:.1f}", r,
             f">= {TARGET_WRITE_RATIO} x pgbench", "PASS" if r != "-" and float(r) >= TARGET_WRITE_RATIO else "MISS")
    target, verdict = "-", "-"
    if c == 64:
        target, verdict = f"< {TARGET_P99_MS} ms", "PASS" if ours["p99"] < TARGET_P99_MS else "MISS"
    part.row(f"{fig} p99 ms", f"{ours['p99']:.2f}", f"{base['p99']:.2f}", fmt_ratio(ours["p99"], base["p99"]),
             target, verdict)
    part.row(f"{fig} CPU us/req pg/daemon/client", ours["cpu"], base["cpu"], "-", "(information)", "-")


def anchor_row(part, fig, ours, base, what):
    """The minimal anchor: the daemon against the bare statement of the same shape."""
    if base and base.get("tx"):
        part.row(f"{fig} vs {what} req/s", f"{ours['rps']:.1f}", f"{base['tps']:.1f}",
                 fmt_ratio(ours["rps"], base["tps"]), "(information)", "-")


def next_moveout(s):
    """The first id the next move-out run takes: after every placement moved out so far."""
    m = int(s.pg.psql("SELECT coalesce(max(id), 0) FROM placements WHERE moved_out_on IS NOT NULL"))
    return m + 1 + 4 * 64 * s.run.threads


def write_one(run, part, s, c, reqhash):
    """POST create and move-out at C connections: the daemon, then pgbench on the same cluster."""
    fig_c, fig_m = f"POST /v1/placements c={c}", f"POST move-out c={c}"
    d = s.daemon(c)
    try:
        wrk(s, part, f"warm-create-c{c}", "placement_create.lua", d.port, "/v1/placements", c, run.warm, d.pid)
        with Profile(run, f"post-create-c{c}", d.pid):
            create = wrk(s, part, f"daemon-create-c{c}", "placement_create.lua", d.port, "/v1/placements",
                         c, run.dur, d.pid)
        create_ok = check_wrk(part, fig_c, create)
        wrk(s, part, f"warm-moveout-c{c}", "move_out.lua", d.port, "/", c, run.warm, d.pid,
            BENCH_LO=next_moveout(s))
        move = wrk(s, part, f"daemon-moveout-c{c}", "move_out.lua", d.port, "/", c, run.dur, d.pid,
                   BENCH_LO=next_moveout(s))
        move_ok = check_wrk(part, fig_m, move)
    finally:
        d.stop()
    v = dict(s.pgvars(), reqhash=reqhash, n=0)
    pgbench(s, part, f"warm-pg-create-c{c}", "placement_create.sql", c, run.warm, run=f"w{c}{s.seq()}", **v)
    base = pgbench(s, part, f"pg-create-c{c}", "placement_create.sql", c, run.dur, run=f"p{c}{s.seq()}", **v)
    if create_ok:
        write_rows(part, fig_c, c, create, base)
    mini = pgbench(s, part, f"pg-min-insert-c{c}", "min_insert.sql", c, run.dur, run=f"m{c}{s.seq()}", n=0)
    if create_ok:
        anchor_row(part, fig_c, create, mini, "minimal INSERT")
    pgbench(s, part, f"warm-pg-moveout-c{c}", "move_out.sql", c, run.warm, run=f"w{c}{s.seq()}",
            lo=next_moveout(s), nclients=c, **v)
    base = pgbench(s, part, f"pg-moveout-c{c}", "move_out.sql", c, run.dur, run=f"p{c}{s.seq()}",
                   lo=next_moveout(s), nclients=c, **v)
    if move_ok:
        write_rows(part, fig_m, c, move, base)


def bench_write(run, part):
    part.say(f"\n== write path: POST /v1/placements and POST move-out vs pgbench (same statements,"
             f" and a minimal INSERT) [at {run.elapsed()} s]")
    s = stack(run, part, "write")
    bulk = 8000 if run.smoke else 60000
    log(f"write: {bulk} placements to move out")
    s.bulk(bulk, 1, 1, 0)
    reqhash = hashlib.sha256(b"bench").hexdigest()
    for c in (16,) if run.smoke else (16, 64):
        try:
            write_one(run, part, s, c, reqhash)
        except BenchError as e:
            part.error(f"write c={c}", str(e))
    # Every move-out must have found its placement: a run that ran out would have 404s.
    wrong = s.pg.psql("SELECT count(*) FROM idempotency_keys WHERE status NOT IN (200, 201)")
    if wrong != "0":
        part.error("write", f"{wrong} operations did not answer 200/201 (see idempotency_keys)")
    left = s.pg.psql(f"SELECT count(*) FROM placements WHERE id >= {next_moveout(s)}"
                     " AND moved_in_on IS NOT NULL AND moved_out_on IS NULL")
    part.say(f"  placements left to move out: {left}")
    s.down()


# ---------------------------------------------------------------- 2. read path
def one_alone_ms(s, port, path):
    """One request alone, for scale: curl with a new connection each, the median of 5."""
    times = [float(s.run.run(["curl", "-s", "--cacert", s.cert, "-H", f"Authorization: Bearer {s.token}",
                              "-o", "/dev/null", "-w", "%{time_total}", f"https://127.0.0.1:{port}{path}"])[1])
             for _ in range(5)]
    return statistics.median(times) * 1000


def read_one(run, part, s, d, name, label, path, script, ids, mini, **defs):
    """The daemon, pgbench (the daemon's statement), the minimal SELECT and nginx (the same
    bytes) at the read concurrency. A full run where no request completes (each too slow) is a
    MISS at 0 req/s, not an error; in --smoke it is an error."""
    c = 16 if run.smoke else 64
    lo, hi = ids
    one = path.replace("{id}", str((lo + hi) // 2))
    status, body = https(d.port, one, s.cert, s.token, timeout=30)
    if status != 200:
        raise BenchError(f"{name}: GET {one} answered {status}")
    alone = one_alone_ms(s, d.port, one)
    part.say(f"  {name}: one request alone takes {alone:.1f} ms (curl, new connection each, median"
             f" of 5); body {len(body)} bytes")
    part.row(f"{name} one request alone ms", f"{alone:.1f}", "-", "-", "(information)", "-")
    env = {"BENCH_PATH": path, "BENCH_LO": lo, "BENCH_HI": hi}
    wrk(s, part, f"warm-{label}", "get.lua", d.port, path, c, run.warm, d.pid, **env)
    with Profile(run, f"{label}-c{c}", d.pid):
        ours = wrk(s, part, f"daemon-{label}-c{c}", "get.lua", d.port, path, c, run.dur, d.pid, **env)
    if ours["req"] == 0 and ours["bad"] == 0 and not run.smoke:
        part.say(f"  {name}: no request completed in {run.dur} s at {c} connections")
        ours["p99"] = None
    elif not check_wrk(part, f"{name} c={c}", ours):
        return
    pgbench(s, part, f"warm-pg-{label}", script, c, run.warm, **defs)
    base = pgbench(s, part, f"pg-{label}-c{c}", script, c, run.dur, **defs)
    fig, target = f"{name} c={c}", f">= {TARGET_READ_RATIO} x pgbench"
    if "timeouts" in base and not run.smoke:
        part.row(f"{fig} req/s", f"{ours['rps']:.1f}", "0 (timeouts)", "-", target, "MISS")
        return
    if "timeouts" in base or base["failed"] > 0 or (base["tx"] == 0 and run.smoke):
        part.error(f"{name} (pgbench)", f"{base.get('failed', '-')} transactions failed, {base.get('tx', 0)} done")
        return
    r = fmt_ratio(ours["rps"], base["tps"])
    part.row(f"{fig} req/s", f"{ours['rps']:.1f}", f"{base['tps']:.1f}", r, target,
             "PASS" if r != "-" and float(r) >= TARGET_READ_RATIO else "MISS")
    p99 = "-" if ours["p99"] is None else f"{ours['p99']:.2f}"
    part.row(f"{fig} p99 ms", p99, f"{base['p99']:.2f}", fmt_ratio(ours["p99"], base["p99"]), "-", "-")
    part.row(f"{fig} CPU us/req pg/daemon/client", ours["cpu"], base["cpu"], "-", "(information)", "-")
    if mini:
        anchor_row(part, fig, ours, pgbench(s, part, f"pg-min-{label}-c{c}", mini, c, run.dur, lo=lo, hi=hi),
                   "minimal SELECT")
    ng = Nginx(s, body)
    try:
        wrk(s, part, f"warm-nginx-{label}", "get.lua", ng.port, one, c, run.warm, ng.pid, BENCH_PATH=one)
        top = wrk(s, part, f"nginx-{label}-c{c}", "get.lua", ng.port, one, c, run.dur, ng.pid, BENCH_PATH=one)
    finally:
        ng.stop()
    if check_wrk(part, f"{name} (nginx) c={c}", top):
        part.row(f"{fig} vs nginx ({len(body)} B body) req/s", f"{ours['rps']:.1f}", f"{top['rps']:.1f}",
                 fmt_ratio(ours["rps"], top["rps"]), "(information)", "-")
        part.row(f"{fig} CPU us/req daemon vs nginx", ours["cpu"].split(" / ")[1], top["cpu"].split(" / ")[1],
                 "-", "(information)", "-")


def bench_read(run, part):
    part.say(f"\n== read path: GET placement and GET balance vs pgbench (same statements, and a minimal"
             f" SELECT) and nginx [at {run.elapsed()} s]")
    s = stack(run, part, "read")
    n, lo = (100 if run.smoke else 2500), s.first_free_id()
    hi = lo + n - 1
    log(f"read: {n} placements of {MUNI} (half moved out), accrued")
    s.bulk(n, lo, 1, 1)
    s.pg.psql("INSERT INTO bench_min (id, dossier_number, birth_date, municipality, assigned_on, moved_in_on,"
              " moved_out_on) SELECT p.id, per.dossier_number, r.birth_date, p.municipality, p.assigned_on,"
              " p.moved_in_on, p.moved_out_on FROM placements p JOIN persons per ON per.id = p.person_id"
              " JOIN person_records r ON r.person_id = p.person_id AND r.municipality = p.municipality"
              f" WHERE p.id BETWEEN {lo} AND {hi};"
              " SELECT setval('bench_min_id_seq', (SELECT max(id) FROM bench_min))")
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    through = today.replace(day=1) - timedelta(days=1)
    run.run([run.binary("reimbursectl"), "-c", s.conf, "accrue", "--through", through],
            out=run.logs / "read-accrue.out", err=run.logs / "read-accrue.err")
    # What autovacuum does soon after a run: without fresh statistics the planner takes nested
    # loops for the balance and one request takes seconds instead of a fraction.
    s.pg.psql("VACUUM ANALYZE")
    part.say(f"  data: {n} placements of {MUNI}, {s.pg.psql('SELECT count(*) FROM postings')} posting"
             f" lines (accrued through {through})")
    d = s.daemon(16 if run.smoke else 64)
    try:
        for args in (("GET /v1/placements/{id}", "get-placement", "/v1/placements/{id}", "placement_get.sql",
                      (lo, hi), "min_select.sql", {"lo": lo, "hi": hi}),
                     ("GET balance", "get-balance", f"/v1/municipalities/{MUNI}/balance", "balance.sql",
                      (lo, hi), None, {"muni": MUNI})):
            try:
                read_one(run, part, s, d, *args[:6], **s.pgvars(), **args[6])
            except BenchError as e:
                part.error(args[0], str(e))
    finally:
        d.stop()
    s.down()


# ---------------------------------------------------------------- 3. memory
def healthz(sock):
    """One keep-alive GET /healthz on SOCK; whether it answered 200."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        rest += chunk
    return head.split(b"\r\n", 1)[0].split()[1] == b"200"


def open_idle(port, cert, n):
    """N TLS connections, each with its handshake and one keep-alive GET /healthz done."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(8192, n + 200)), hard))
    ctx = ssl.create_default_context(cafile=str(cert))
    conns = []
    try:
        for i in range(n):
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                                server_hostname="localhost")
            conns.append(s)
            if not healthz(s):
                raise BenchError(f"the first request on idle connection {i} failed")
    except (OSError, BenchError):
        for s in conns:
            s.close()
        raise
    return conns


def still_alive(conns):
    alive = 0
    for s in conns:
        try:
            alive += healthz(s)
        except OSError:
            pass
        s.close()
    return alive


def bench_memory(run, part):
    idle = run.idle
    part.say(f"\n== memory: {idle} idle keep-alive TLS connections + {MEM_CONNS}-connection GET load"
             f" [at {run.elapsed()} s]")
    s = stack(run, part, "memory")
    n, lo = (100 if run.smoke else 2500), s.first_free_id()
    s.bulk(n, lo, 1, 0)
    d = s.daemon(MEM_CONNS, idle_s=120, maxconn=idle + MEM_CONNS + 100)
    try:
        rss0 = vm(d.pid, "VmRSS")
        try:
            conns = open_idle(d.port, s.cert, idle)
        except (OSError, BenchError) as e:
            raise BenchError(f"the idle connections could not be opened: {e}") from e
        rss_idle, peak, stop = vm(d.pid, "VmRSS"), [0], threading.Event()

        def sample():  # VmRSS during the load (VmHWM is the peak since start anyway)
            while not stop.wait(0.2):
                peak[0] = max(peak[0], vm(d.pid, "VmRSS"))

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        try:
            load = wrk(s, part, f"memory-get-c{MEM_CONNS}", "get.lua", d.port, "/v1/placements/{id}", MEM_CONNS,
                       max(run.dur, 3), d.pid, BENCH_PATH="/v1/placements/{id}", BENCH_LO=lo, BENCH_HI=lo + n - 1)
        finally:
            stop.set()
            t.join()
        hwm, still_open = vm(d.pid, "VmHWM"), len(peer_ports(d.port))
        alive = still_alive(conns)
    finally:
        d.stop()
    part.say(f"  RSS: {rss0 // 1024} MiB at start, {rss_idle // 1024} MiB with {idle} idle connections, peak"
             f" sample {peak[0] // 1024} MiB under load, VmHWM {hwm // 1024} MiB; connections open after the"
             f" load: {still_open}; idle ones answering afterwards: {alive} of {idle}")
    mib = hwm / 1024
    part.row(f"peak RSS, {idle} idle + {MEM_CONNS} busy conns (MiB)", f"{mib:.1f}", "-", "-",
             f"<= {TARGET_RSS_MIB} MiB", "PASS" if mib <= TARGET_RSS_MIB else "MISS")
    part.row("failed requests under that load", f"{load['bad']} of {load['req']}", "-", "-", "0",
             "PASS" if load["bad"] == 0 and load["req"] > 0 else "FAIL")
    part.row("idle connections still open after the load", f"{alive} of {idle}", "-", "-", "all",
             "PASS" if alive == idle else "FAIL")
    s.down()


# ---------------------------------------------------------------- 3b. stream
def read_stream(port, cert, token, path, pid):
    """PATH read at full speed while another connection polls GET /healthz every 10 ms."""
    ctx = ssl.create_default_context(cafile=str(cert))
    lat, bad, stop, started = [], [0], threading.Event(), threading.Event()

    def poll():
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                bad[0] += r.status != 200
            except (OSError, http.client.HTTPException):
                bad[0] += 1
                c.close()
                c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
                continue
            if started.is_set():
                lat.append((time.monotonic() - t0) * 1000)
            time.sleep(0.01)
        c.close()

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    time.sleep(0.2)
    out = {"hwm0": vm(pid, "VmHWM")}
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)
    t0 = time.monotonic()
    started.set()
    try:
        c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        r = c.getresponse()
        size = trans = 0
        tail = b""
        while chunk := r.read(65536):
            out.setdefault("head", chunk[:200].decode(errors="replace"))
            size += len(chunk)
            trans += (tail + chunk).count(b"#TRANS ")
            tail = chunk[-6:]  # shorter than "#TRANS ": no line counted twice
        out["status"] = r.status
    finally:
        out["seconds"] = time.monotonic() - t0
        stop.set()
        t.join()
        c.close()
    lat.sort()
    out.update(bytes=size, trans=trans, hwm1=vm(pid, "VmHWM"), n=len(lat), failed=bad[0],
               max=lat[-1] if lat else 0, p99=lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0)
    return out


def bench_stream(run, part):
    lines = 20000 if run.smoke else 200000
    part.say(f"\n== stream: GET /v1/exports/sie of {lines} lines + GET /healthz every 10 ms [at {run.elapsed()} s]")
    s = stack(run, part, "stream")
    before = int(s.pg.psql(f"SELECT count(*) FROM postings WHERE municipality = '{MUNI}'"))
    s.pg.psql(file=SQL / "stream_lines.sql", n=lines // 2, muni=MUNI)
    d = s.daemon(4, 1024)
    try:
        r = read_stream(d.port, s.cert, s.token, f"/v1/exports/sie?municipality={MUNI}&include=payments", d.pid)
    except (OSError, http.client.HTTPException) as e:
        raise BenchError(f"the export failed: {e}") from e
    finally:
        d.stop()
    if r["status"] != 200:
        raise BenchError(f"the export answered {r['status']}: {r.get('head', '')}")
    grow = (r["hwm1"] - r["hwm0"]) / 1024
    part.say(f"  {r['bytes']} bytes, {r['trans']} #TRANS lines in {r['seconds']:.2f} s; VmHWM {r['hwm0']} ->"
             f" {r['hwm1']} KiB; /healthz during it: {r['n']} answers, p99 {r['p99']:.1f} ms, max"
             f" {r['max']:.1f} ms, {r['failed']} failed")
    want = lines + before
    part.row("SIE export, lines streamed", f"{r['trans']} of {want}", "-", "-", "all",
             "PASS" if r["trans"] == want else "FAIL")
    part.row(f"SIE export of {lines} lines: RSS growth (MiB)", f"{grow:.1f}", "-", "-",
             f"< {TARGET_STREAM_RSS_MIB} MiB", "PASS" if grow < TARGET_STREAM_RSS_MIB else "MISS")
    part.row("GET /healthz during that export, max (ms)", f"{r['max']:.1f}", "-", "-",
             f"< {TARGET_STREAM_HEALTHZ_MS} ms", "PASS" if r["max"] < TARGET_STREAM_HEALTHZ_MS else "MISS")
    part.row("GET /healthz failed during that export", r["failed"], "-", "-", "0",
             "PASS" if r["failed"] == 0 else "FAIL")
    s.down()


PARTS = {"write": bench_write, "read": bench_read, "memory": bench_memory, "stream": bench_stream}
