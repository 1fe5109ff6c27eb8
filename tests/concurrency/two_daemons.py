#!/usr/bin/env python3
"""Two daemons side by side on one database, under concurrent writes to the same placements and
with accrual runs sent to both at the same moment: nothing is posted twice, every journal
balances, and one Idempotency-Key sent to both daemons makes one write.

The ctest fixture's daemon (D1) and a second reimbursed started here from the fixture's own
configuration on another port (D2) share the fixture's database (through pgbouncer as well when
the fixture runs with RB_FIXTURE_PGBOUNCER=1). The test

  1. creates a shared set of placements (1480 and 1481, some without a move-in), and with one
     Idempotency-Key sent to both daemons at once, a few more: each must be created once;
  2. runs several rounds; in each, writer threads on both daemons send move-outs, move-ins and
     corrections (moved_out_on, moved_in_on, registered_on; some back to null) to the SAME
     placements, without keys and with keys, and pairs of threads send the same request with the
     same key to D1 and D2 at once; meanwhile POST /v1/accruals/run goes to both daemons at the
     same moment;
  3. when the writers have stopped, runs once more on both at once, and then once alone: that
     last run must post nothing;
  4. checks in SQL (the owner's connection, RB_DB_ADMIN): every journal balances and has
     postings; no run posted a (placement, month, code) twice or wrote two journals for one
     (municipality, service month); the net receivable per (placement, month, code) equals the
     engine's fresh computation (GET /v1/placements/{id}/accruals, owed_ore), and per
     municipality the ledger's net over these placements equals the sum of total_owed_ore; and
     that each same-key pair got identical answers and left one event.

Prints its figures (writes per daemon and status, 409s, runs and lines posted, postings).
Usage: two_daemons.py REIMBURSED_BIN   (with RB_FIXTURE set)"""
import datetime
import http.client
import json
import os
import random
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rbtest import MONEY_ROUTES, RESULTS, KeepAlive, check, env_file, free_port  # noqa: E402

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover - Debian 12's python3 has zoneinfo
    ZoneInfo = None

ROUNDS = int(os.environ.get("RB_TWO_DAEMONS_ROUNDS", "6"))
WRITERS_PER_DAEMON = 4
OPS_PER_WRITER = 25  # per round
N_PLACEMENTS = 16
N_SAME_KEY_PAIRS = 6  # per round


class Client:
    """One keep-alive HTTPS connection to one daemon (one per thread)."""

    def __init__(self, ctx, port):
        self.conn = KeepAlive(ctx, "127.0.0.1", port)

    def request(self, method, path, token, body=None, key=None):
        raw = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Authorization": f"Bearer {token}"}
        if raw is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if key is None and method == "POST" and path in MONEY_ROUTES:
            key = f"td-auto-{uuid.uuid4()}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.conn.send(method, path, raw, headers, retry=method != "POST")

    def close(self):
        self.conn.close()


def error_code(data):
    try:
        return json.loads(data)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "?"


def psql(dsn, sql, **params):
    """Runs one query as the owner with scope '*'; values travel as psql variables (:'name')."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1", "-d", dsn]
    for k, v in params.items():
        cmd += ["-v", f"{k}={v}"]
    script = "SET reimbursed.scope = '*';\n" + sql + "\n"
    out = subprocess.run(cmd, input=script, capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines() if line != ""]


def iso(d):
    return d.isoformat()


def main():
    daemon_bin = sys.argv[1]
    fxdir = os.environ["RB_FIXTURE"]
    fx = env_file(os.path.join(fxdir, "env"))
    dsn = fx["RB_DB_ADMIN"]
    admin, w = fx["RB_TOKEN_ADMIN"], {"1480": fx["RB_TOKEN_W1480"], "1481": fx["RB_TOKEN_W1481"]}
    port1 = int(re.search(r":(\d+)$", fx["RB_URL"]).group(1))
    behind = "pgbouncer (transaction pooling)" if fx.get("RB_PGBOUNCER") == "1" else "direct"
    print(f"# database connection of both daemons: {behind}", flush=True)

    # ---- D2: the fixture's configuration on another port
    with open(fx["RB_CONF"]) as f:
        conf = [l for l in f if not re.match(r"\s*port\s*=", l)]
    port2 = free_port()
    conf_path = os.path.join(fxdir, "two-daemons.conf")
    with open(conf_path, "w") as f:
        f.writelines(conf)
        f.write(f"port = {port2}\n")
    os.chmod(conf_path, 0o600)
    log = open(os.path.join(fxdir, "two-daemons-d2.log"), "w")
    proc = subprocess.Popen([daemon_bin, "-c", conf_path], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    ctx = ssl.create_default_context(cafile=fx["RB_CA"])
    try:
        run_test(ctx, port1, port2, admin, w, dsn, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            check("D2 exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        else:
            check("D2 still running at the end", False, f"exit {proc.returncode}")
        log.close()
    failed = RESULTS.count(False)
    print(f"# {len(RESULTS) - failed} passed, {failed} failed", flush=True)
    return 1 if failed or not RESULTS else 0


def run_test(ctx, port1, port2, admin, w, dsn, proc):
    ports = {"D1": port1, "D2": port2}
    c0 = Client(ctx, port2)
    deadline = time.time() + 20
    status = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            status, _ = c0.request("GET", "/readyz", admin)
            if status == 200:
                break
        except OSError:
            c0.close()
        time.sleep(0.2)
    c0.close()
    check("second daemon (D2) ready on the same database", status == 200, f"status {status}")
    if status != 200:
        return

    if ZoneInfo is not None:
        today = datetime.datetime.now(ZoneInfo("Europe/Stockholm")).date()
    else:
        today = datetime.date.today()
    through = today - datetime.timedelta(days=1)
    seed = int(os.environ.get("RB_TWO_DAEMONS_SEED", str(int(time.time()))))
    print(f"# seed {seed} (RB_TWO_DAEMONS_SEED), {ROUNDS} rounds (RB_TWO_DAEMONS_ROUNDS)", flush=True)
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    ids = {}  # placement id -> municipality
    created_in = {}
    base_day = datetime.date(2025, 1, 6)

    # ---- 1. the shared placements
    cl = {"D1": Client(ctx, port1), "D2": Client(ctx, port2)}
    for i in range(N_PLACEMENTS):
        muni = "1480" if i % 2 == 0 else "1481"
        assigned = base_day + datetime.timedelta(days=rng.randrange(0, 300))
        body = {"dossier_number": f"TD-{tag}-{i:03d}",
                "birth_date": iso(datetime.date(2007 if i % 4 == 0 else 1990, 1 + i % 12, 10)),
                "former_uam": i % 5 == 0, "municipality": muni, "assigned_on": iso(assigned)}
        if i % 4 != 3:
            body["moved_in_on"] = iso(assigned + datetime.timedelta(days=rng.randrange(0, 20)))
        st, data = cl["D1" if i % 2 else "D2"].request("POST", "/v1/placements", w[muni], body)
        if st != 201:
            check(f"create shared placement {i}", False, f"{st} {data[:200]!r}")
            return
        pid = json.loads(data)["id"]
        ids[pid] = muni
        created_in[pid] = body
    check("shared placements created", len(ids) == N_PLACEMENTS, f"{len(ids)} placements")

    # Same key, same body, both daemons at the same moment: one placement.
    pair_results = []  # (kind, ok, detail)
    same_key_creates = 0
    for i in range(4):
        muni = "1480" if i % 2 == 0 else "1481"
        body = {"dossier_number": f"TD-{tag}-K{i}", "birth_date": "1985-05-05",
                "municipality": muni, "assigned_on": "2025-03-01", "moved_in_on": "2025-03-02"}
        key = f"td-{tag}-create-{i}"
        ans = both_at_once(ctx, ports, "POST", "/v1/placements", w[muni], body, key)
        same = ans["D1"] == ans["D2"]
        st = ans["D1"][0]
        if st == 201:
            pid = json.loads(ans["D1"][1])["id"]
            ids[pid] = muni
            created_in[pid] = body
        st_s, data = cl["D1"].request("POST", "/v1/placements/search", w[muni],
                                      {"dossier_number": body["dossier_number"]})
        n = len(json.loads(data)["items"]) if st_s == 200 else -1
        same_key_creates += 1
        pair_results.append(("create", same and st == 201 and n == 1,
                             f"D1 {ans['D1'][0]}, D2 {ans['D2'][0]}, identical {same}, "
                             f"placements with that dossier {n}"))

    # ---- 2. rounds of concurrent writes on both daemons, and runs sent to both at once
    pids = sorted(ids, key=int)
    stats = {"D1": Counter(), "D2": Counter()}
    codes = Counter()
    stats_lock = threading.Lock()
    runs = []  # (round, daemon, status, lines_posted, run_id)
    pair_events = []  # (pid, reason) that must appear exactly once in the history

    def writer(name, seed, n_ops, start):
        r = random.Random(seed)
        c = Client(ctx, ports[name])
        start.wait()
        for k in range(n_ops):
            pid = r.choice(pids)
            muni = ids[pid]
            op = r.choice(["move_out", "move_out", "move_in", "corr_out", "corr_in", "corr_reg",
                           "corr_out_null"])
            a = date_in(r, created_in[pid])
            if op == "move_out":
                path, body = f"/v1/placements/{pid}/move-out", {
                    "date": iso(a), "reason": r.choice(["other_municipality", "left_country",
                                                         "own_housing", "other"])}
            elif op == "move_in":
                path, body = f"/v1/placements/{pid}/move-in", {"date": created_in[pid]["assigned_on"]}
            else:
                field = {"corr_out": "moved_out_on", "corr_in": "moved_in_on",
                         "corr_reg": "registered_on", "corr_out_null": "moved_out_on"}[op]
                value = None if op == "corr_out_null" or (op == "corr_reg" and r.random() < 0.5) \
                    else iso(a)
                if op == "corr_in":
                    value = iso(datetime.date.fromisoformat(created_in[pid]["assigned_on"]) +
                                datetime.timedelta(days=r.randrange(0, 40)))
                path, body = f"/v1/placements/{pid}/corrections", {
                    "field": field, "value": value, "reason": f"td {tag} {name} {k}"}
            key = f"td-{tag}-{name}-{seed}-{k}" if r.random() < 0.5 else None
            try:
                st, data = c.request("POST", path, w[muni], body, key)
            except (OSError, http.client.HTTPException) as e:
                st, data = 0, str(e).encode()
            with stats_lock:
                stats[name][st] += 1
                if st >= 400:
                    codes[f"{st} {error_code(data)}"] += 1
            if key is not None and st in (200, 409, 422) and r.random() < 0.3:
                # a replay of the same request, on the OTHER daemon: the first answer again
                other = "D2" if name == "D1" else "D1"
                c2 = Client(ctx, ports[other])
                st2, data2 = c2.request("POST", path, w[muni], body, key)
                c2.close()
                with stats_lock:
                    stats[other]["replay"] += 1
                    pair_results.append(("replay", (st2, data2) == (st, data),
                                         f"{st} then {st2} on {other}"))
        c.close()

    def pair_writer(seed, start):
        r = random.Random(seed)
        start.wait()
        for k in range(N_SAME_KEY_PAIRS):
            pid = r.choice(pids)
            muni = ids[pid]
            reason = f"td {tag} pair {seed}-{k}"
            if r.random() < 0.5:
                path, body = f"/v1/placements/{pid}/corrections", {
                    "field": "moved_out_on", "value": iso(date_in(r, created_in[pid])),
                    "reason": reason}
            else:
                path, body = f"/v1/placements/{pid}/corrections", {
                    "field": "registered_on", "value": None, "reason": reason}
            ans = both_at_once(ctx, ports, "POST", path, w[muni], body, f"td-{tag}-pair-{seed}-{k}")
            same = ans["D1"] == ans["D2"]
            with stats_lock:
                for name in ("D1", "D2"):
                    stats[name][ans[name][0]] += 1
                    stats[name]["same-key pair"] += 1
                    if ans[name][0] >= 400:
                        codes[f"{ans[name][0]} {error_code(ans[name][1])}"] += 1
                pair_results.append(("correction", same, f"D1 {ans['D1'][0]}, D2 {ans['D2'][0]}"))
                if ans["D1"][0] == 200:
                    pair_events.append((pid, reason))

    def run_pair(rnd, start):
        start.wait()
        time.sleep(random.random() * 0.2)  # somewhere in the middle of the writes
        ans = both_at_once(ctx, ports, "POST", "/v1/accruals/run", admin, {"through": iso(through)},
                           None, timeout=120)
        for name in ("D1", "D2"):
            st, data = ans[name]
            lines, rid = None, None
            if st == 200:
                j = json.loads(data)
                lines, rid = j.get("lines_posted"), j.get("run_id")
                if j.get("status") != "done" or j.get("errors"):
                    st = f"200 but {j.get('status')} {j.get('errors')}"
            else:
                with stats_lock:
                    codes[f"run {st} {error_code(data)}"] += 1
            with stats_lock:
                runs.append((rnd, name, st, lines, rid))

    t_start = time.time()
    for rnd in range(1, ROUNDS + 1):
        start = threading.Barrier(2 * WRITERS_PER_DAEMON + 2)
        threads = []
        for name in ("D1", "D2"):
            for k in range(WRITERS_PER_DAEMON):
                wseed = seed + rnd * 1000 + (0 if name == "D1" else 100) + k
                threads.append(threading.Thread(target=writer,
                                                args=(name, wseed, OPS_PER_WRITER, start)))
        threads.append(threading.Thread(target=pair_writer, args=(seed + rnd * 1000 + 500, start)))
        threads.append(threading.Thread(target=run_pair, args=(rnd, start)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    write_secs = time.time() - t_start

    # ---- 3. quiet: both at once, then one alone must post nothing
    start = threading.Barrier(1)
    run_pair(ROUNDS + 1, start)
    c_last = Client(ctx, port1)
    st, data = c_last.request("POST", "/v1/accruals/run", admin, {"through": iso(through)})
    c_last.close()
    final_lines = json.loads(data).get("lines_posted") if st == 200 else None
    runs.append(("final", "D1", st, final_lines, json.loads(data).get("run_id") if st == 200 else None))

    n_writes = {n: sum(v for k, v in stats[n].items() if isinstance(k, int)) for n in stats}
    print(f"# through {through}; {ROUNDS} rounds in {write_secs:.1f} s; "
          f"{len(ids)} placements ({N_PLACEMENTS} shared + {same_key_creates} same-key creates)",
          flush=True)
    for n in ("D1", "D2"):
        print(f"# writes via {n}: {n_writes[n]} "
              f"({', '.join(f'{k}: {v}' for k, v in sorted(stats[n].items(), key=str))})", flush=True)
    print(f"# refusals: {dict(sorted(codes.items()))}; 409s: "
          f"{sum(v for k, v in codes.items() if k.startswith('409'))}", flush=True)
    for r in runs:
        print(f"# run round {r[0]} via {r[1]}: status {r[2]}, lines_posted {r[3]}, run {r[4]}",
              flush=True)
    both = sum(1 for rnd in range(1, ROUNDS + 2)
               if all((r[3] or 0) > 0 for r in runs if r[0] == rnd))
    print(f"# rounds in which both daemons' runs posted lines (interleaved by municipality): "
          f"{both} of {ROUNDS + 1}; lines posted in all: {sum(r[3] or 0 for r in runs)}",
          flush=True)

    check("every write got an answer (no 5xx, no broken connection)",
          all(k < 500 for n in stats for k in stats[n] if isinstance(k, int)) and
          all(k != 0 for n in stats for k in stats[n] if isinstance(k, int)),
          f"{dict(stats['D1'])} / {dict(stats['D2'])}")
    check("some writes succeeded on each daemon", stats["D1"][200] > 0 and stats["D2"][200] > 0,
          f"200s: D1 {stats['D1'][200]}, D2 {stats['D2'][200]}")
    bad_runs = [r for r in runs if r[2] != 200]
    check("every accrual run (both daemons at once, each round) answered 200 and done",
          not bad_runs, f"{len(runs)} runs, bad: {bad_runs}")
    check("a run after the last pair posts nothing", final_lines == 0, f"lines_posted {final_lines}")
    bad_pairs = [p for p in pair_results if not p[1]]
    check("one Idempotency-Key on both daemons: identical answers, one write",
          not bad_pairs and pair_results,
          f"{len(pair_results)} same-key requests ({Counter(p[0] for p in pair_results)}), "
          f"bad: {bad_pairs[:5]}")

    # one event per same-key pair that was applied
    hist_bad = []
    c = Client(ctx, port1)
    events_by_pid = {}
    for pid in pids:
        st, data = c.request("GET", f"/v1/placements/{pid}", w[ids[pid]])
        events_by_pid[pid] = json.loads(data)["events"] if st == 200 else []
    for pid, reason in pair_events:
        n = sum(1 for e in events_by_pid[pid] if e.get("reason") == reason)
        if n != 1:
            hist_bad.append((pid, reason, n))
    check("each applied same-key correction is in the history once", not hist_bad,
          f"{len(pair_events)} applied pairs, bad: {hist_bad[:5]}")

    # ---- 4. the ledger
    run_ids = "{" + ",".join(str(r[4]) for r in runs if r[4] is not None) + "}"
    pid_arr = "{" + ",".join(pids) + "}"
    unbalanced = psql(dsn, "SELECT count(*) FROM (SELECT journal_id FROM postings "
                      "GROUP BY journal_id HAVING sum(amount_ore) <> 0) s;")[0][0]
    empty = psql(dsn, "SELECT count(*) FROM journal j WHERE NOT EXISTS "
                 "(SELECT 1 FROM postings p WHERE p.journal_id = j.id);")[0][0]
    njournals = psql(dsn, "SELECT count(*) FROM journal;")[0][0]
    check("every journal balances and has postings", unbalanced == "0" and empty == "0",
          f"{njournals} journals, {unbalanced} unbalanced, {empty} without postings")
    dup_key = psql(dsn, "SELECT count(*) FROM (SELECT j.run_id, p.placement_id, p.month, p.code "
                   "FROM postings p JOIN journal j ON j.id = p.journal_id "
                   "WHERE j.run_id = ANY(:'runs'::bigint[]) AND p.account = 'receivable' "
                   "AND p.placement_id IS NOT NULL "
                   "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) s;", runs=run_ids)[0][0]
    dup_journal = psql(dsn, "SELECT count(*) FROM (SELECT run_id, municipality, service_month "
                       "FROM journal WHERE run_id = ANY(:'runs'::bigint[]) "
                       "GROUP BY 1, 2, 3 HAVING count(*) > 1) s;", runs=run_ids)[0][0]
    check("no run posted a (placement, month, code) twice or two journals for a "
          "(municipality, month)", dup_key == "0" and dup_journal == "0",
          f"{dup_key} doubled keys, {dup_journal} doubled journals")
    per_run = psql(dsn, "SELECT j.run_id, count(DISTINCT j.id), count(p.*) FROM journal j "
                   "JOIN postings p ON p.journal_id = j.id WHERE j.run_id = ANY(:'runs'::bigint[]) "
                   "GROUP BY 1 ORDER BY 1;", runs=run_ids)
    print("# journals/postings per run of this test: " +
          ", ".join(f"run {r[0]}: {r[1]} journals, {r[2]} postings" for r in per_run), flush=True)

    ledger = {}
    for pid, month, code, net in psql(
            dsn, "SELECT placement_id, to_char(month, 'YYYY-MM'), code, sum(amount_ore) "
            "FROM postings WHERE kind = 'accrual' AND account = 'receivable' "
            "AND placement_id = ANY(:'pids'::bigint[]) GROUP BY 1, 2, 3;", pids=pid_arr):
        ledger[(pid, month, code)] = int(net)
    npostings = psql(dsn, "SELECT count(*) FROM postings WHERE placement_id = ANY(:'pids'::bigint[]);",
                     pids=pid_arr)[0][0]
    engine = {}
    owed_muni, posted_api_muni = Counter(), Counter()
    mismatch = []
    for pid in pids:
        st, data = c.request("GET", f"/v1/placements/{pid}/accruals", w[ids[pid]])
        if st != 200:
            mismatch.append((pid, "GET accruals", st))
            continue
        j = json.loads(data)
        owed_muni[ids[pid]] += j["total_owed_ore"]
        posted_api_muni[ids[pid]] += j["total_posted_ore"]
        for line in j["lines"]:
            engine[(pid, line["month"], line["code"])] = line["owed_ore"]
    c.close()
    for key in set(engine) | set(ledger):
        if engine.get(key, 0) != ledger.get(key, 0):
            mismatch.append((key, engine.get(key, 0), ledger.get(key, 0)))
    check("net receivable per (placement, month, code) = the engine's fresh computation",
          not mismatch, f"{len(engine)} keys owed, {len(ledger)} keys posted, "
          f"{npostings} postings on these placements; mismatches: {mismatch[:5]}")
    ledger_muni = Counter()
    for (pid, _, _), net in ledger.items():
        ledger_muni[ids[pid]] += net
    check("per municipality: ledger net = sum of total_owed_ore (GET .../accruals)",
          ledger_muni == owed_muni and owed_muni == posted_api_muni and sum(owed_muni.values()) > 0,
          "; ".join(f"{m}: ledger {ledger_muni[m]} öre, owed {owed_muni[m]}, "
                    f"posted per API {posted_api_muni[m]}" for m in sorted(owed_muni)))


def date_in(r, created):
    """A date between the placement's assignment and 2025-12-20."""
    a = datetime.date.fromisoformat(created["assigned_on"])
    return a + datetime.timedelta(days=r.randrange(1, max(2, (datetime.date(2025, 12, 20) - a).days)))


def both_at_once(ctx, ports, method, path, token, body, key, timeout=30):
    """The same request to D1 and D2, released together; returns {name: (status, body)}."""
    clients = {n: Client(ctx, p) for n, p in ports.items()}
    for c in clients.values():  # connect and handshake first, so the requests leave together
        c.conn.conn = http.client.HTTPSConnection("127.0.0.1", c.conn.port, context=ctx,
                                                  timeout=timeout)
        c.conn.conn.connect()
    gate = threading.Barrier(len(clients))
    out = {}

    def go(name):
        gate.wait()
        try:
            out[name] = clients[name].request(method, path, token, body, key)
            # The other daemon's request with this key is still in flight: repeat with the key
            # (the daemon answers 409 at once rather than queueing; issue 16 item 3).
            for _ in range(100):
                if key is None or out[name][0] != 409 or \
                        error_code(out[name][1]) != "idempotency_in_progress":
                    break
                time.sleep(0.1)
                out[name] = clients[name].request(method, path, token, body, key)
        except (OSError, http.client.HTTPException) as e:
            out[name] = (0, str(e).encode())
        clients[name].close()

    ts = [threading.Thread(target=go, args=(n,)) for n in clients]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


if __name__ == "__main__":
    sys.exit(main())
