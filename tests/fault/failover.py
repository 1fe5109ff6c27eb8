#!/usr/bin/python3
"""Failover (issue 7): a primary and a streaming-replication standby (initdb, pg_basebackup -R),
the daemon on a multi-host conninfo with target_session_attrs=read-write. Under write load the
primary is stopped abruptly (`pg_ctl stop -m immediate`) and the standby promoted
(`pg_ctl promote`); writes must resume on the new primary without restarting the daemon.

--mode sync  (the ledger's configuration): synchronous_standby_names on the primary,
             synchronous_commit = on. Asserts: every acknowledged write is on the new primary,
             writes resume, no request hangs past request_timeout_s. Prints the outage.
--mode async (for the runbook): the same run without synchronous_standby_names. Counts the
             acknowledged writes missing on the promoted standby; reports, does not assert.
--mode both  runs sync, then async.
--lag S      freezes the primary's walsender (SIGSTOP) for the S seconds before the kill: the
             standby falls S seconds behind, as over a slow link. Sync commits wait for it (and
             are answered 503 when the primary dies); async ones are acknowledged and lost.

Outage = from the last 2xx that completed before the primary was down to the first 2xx of a
request sent after it was down.

Usage: failover.py REIMBURSED REIMBURSECTL SQLDIR [--mode sync|async|both] [--clients N]
       [--before S] [--after S] [--keep]"""
import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402

REQUEST_TIMEOUT_S = 3
SLACK_S = 0.5


def wait_replication(primary, want_sync, timeout=30.0):
    """Waits until the standby streams, in the wanted sync_state; returns that state."""
    want = "sync" if want_sync else "async"
    deadline = time.monotonic() + timeout
    rows = []
    while time.monotonic() < deadline:
        rows = primary.psql("SELECT application_name, state, sync_state FROM pg_stat_replication",
                            db="postgres")
        if rows and rows[0][1] == "streaming" and rows[0][2] == want:
            return rows[0]
        time.sleep(0.1)
    raise RuntimeError(f"standby not streaming as {want} within {timeout} s: {rows}")


def scenario(a, mode):
    sync = mode == "sync"
    fl.note(f"failover, {mode} replication: {a.clients} writers, {a.before} s before the "
            f"primary stops, {a.after} s after writes resume"
            + (f", walsender frozen for the last {a.lag} s" if a.lag > 0 else ""))
    work = fl.Work("rbfo.")
    p1, p2 = fl.free_port(), fl.free_port()
    while p2 == p1:
        p2 = fl.free_port()
    primary = fl.Cluster(work.sub("primary"), p1, "primary")
    standby = fl.Cluster(work.sub("standby"), p2, "standby")
    daemon = None
    stop = threading.Event()
    abort = threading.Event()
    out = {"mode": mode}
    try:
        primary.init()
        primary.start()
        tls = work.sub("tls")
        os.makedirs(tls)
        cert, key = fl.make_cert(tls)
        tokens = fl.setup_schema(primary, work, a.ctl, a.sqldir, cert, key)
        # TCP connections authenticate with SCRAM (ops/lib.sh's initdb): a password for the
        # daemon's role, read from a passfile rather than written into the conninfo.
        password = secrets.token_hex(16)
        primary.psql("ALTER ROLE reimbursed_app PASSWORD :'p1'", db="postgres",
                     params=(password,))
        passfile = work.sub("pgpass")
        with open(passfile, "w") as f:
            f.write(f"127.0.0.1:{p1}:reimbursed:reimbursed_app:{password}\n")
            f.write(f"127.0.0.1:{p2}:reimbursed:reimbursed_app:{password}\n")
        os.chmod(passfile, 0o600)

        # The standby: a base backup of the primary with -R (standby.signal + primary_conninfo),
        # its own address settings, and cluster_name, which its walreceiver reports as its
        # application_name (what synchronous_standby_names names).
        os.makedirs(standby.base)
        if fl.IS_ROOT:
            shutil.chown(standby.base, "postgres", "postgres")
        subprocess.run(fl.as_pg([f"{fl.PG_BIN}/pg_basebackup", "-h", primary.sock, "-p", str(p1),
                                 "-U", "postgres" if fl.IS_ROOT else os.environ.get("USER", ""),
                                 "-D", standby.data, "-R", "-X", "stream", "-c", "fast"]),
                       cwd="/", check=True, stdout=subprocess.DEVNULL)
        standby.reconfigure()
        standby.set_extra(["cluster_name = 'standby1'"])
        standby.start()
        # Set after the base backup on purpose: a standby that inherited
        # synchronous_standby_names would, once promoted, wait for a standby it does not have.
        if sync:
            primary.set_extra(["synchronous_standby_names = 'FIRST 1 (standby1)'",
                               "synchronous_commit = on"])
        subprocess.run(fl.as_pg([f"{fl.PG_BIN}/pg_ctl", "-D", primary.data, "reload"]), cwd="/",
                       check=True, stdout=subprocess.DEVNULL)
        rep = wait_replication(primary, sync)
        fl.note(f"standby {rep[0]} {rep[1]}, sync_state {rep[2]}")

        port = fl.free_port()
        db = (f"host=127.0.0.1,127.0.0.1 port={p1},{p2} dbname=reimbursed user=reimbursed_app "
              f"passfile={passfile} target_session_attrs=read-write connect_timeout=2")
        out["conninfo"] = db
        conf = work.sub("reimbursed.conf")
        fl.write_conf(conf, [("listen", "127.0.0.1"), ("port", port), ("tls_cert", cert),
                             ("tls_key", key), ("db", db),
                             ("db_admin", primary.conninfo("reimbursed")), ("db_pool_size", 4),
                             ("log_level", "info"), ("request_timeout_s", REQUEST_TIMEOUT_S)])
        daemon = fl.Daemon(a.daemon, conf, work.sub("daemon.log"))
        daemon.start()
        fl.check(f"[{mode}] daemon ready on the multi-host conninfo", fl.wait_ready(port, cert))
        pid_before = daemon.proc.pid

        log = fl.Log()
        run_id = "%x" % (int(time.time() * 1000) % 0xFFFFFFFFFF)
        writers = [fl.Writer(i, run_id, port, cert, tokens, log, stop, REQUEST_TIMEOUT_S + 5,
                             give_up_s=60, abort=abort) for i in range(a.clients)]
        prober = fl.Prober(port, cert, tokens["1480"], log, stop, REQUEST_TIMEOUT_S + 5)
        threads = writers + [prober]
        t_begin = time.monotonic()
        for t in threads:
            t.start()
        lagged = []
        if a.lag > 0:
            # A slow link, made visible on loopback: the primary's walsender is frozen for the
            # last `lag` seconds, so the WAL of that time never leaves the primary.
            time.sleep(max(0.0, a.before - a.lag))
            lagged = [int(r[0]) for r in primary.psql("SELECT pid FROM pg_stat_replication",
                                                      db="postgres")]
            for pid in lagged:
                os.kill(pid, signal.SIGSTOP)
            time.sleep(a.lag)
        else:
            time.sleep(a.before)

        # What the standby had not yet confirmed just before the kill (WAL bytes).
        lag = primary.psql(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn), "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn) FROM pg_stat_replication",
            db="postgres")
        t_kill = time.monotonic()
        for pid in lagged:
            os.kill(pid, signal.SIGKILL)  # a frozen process ignores the immediate shutdown
        primary.stop("immediate")
        t_down = time.monotonic()
        standby.promote()
        t_promoted = time.monotonic()
        fl.note(f"primary stopped (immediate) in {t_down - t_kill:.3f} s, standby promoted "
                f"{t_promoted - t_down:.3f} s later; WAL not yet sent / flushed on the standby "
                f"shortly before the kill: {lag[0][0] if lag else '?'} / "
                f"{lag[0][1] if lag else '?'} bytes")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            first = None
            for t0, t1, _, st, _ in log.snapshot():
                if 200 <= st < 300 and t0 >= t_down:
                    first = t1 if first is None or t1 < first else first
            if first is not None:
                break
            time.sleep(0.05)
        if first is None:
            fl.note("no 2xx within 30 s of the primary going down; giving up")
            abort.set()
        else:
            time.sleep(a.after)
        stop.set()
        for t in threads:
            t.join(timeout=90)
        fl.check(f"[{mode}] all client threads finished", not any(t.is_alive() for t in threads))
        rows = log.snapshot()
        acks = [x for w in writers for x in w.acks]
        errors = [x for w in writers for x in w.errors]

        last_before = fl.last_2xx_before(rows, t_down)
        first_after = None
        for t0, t1, _, st, _ in rows:
            if 200 <= st < 300 and t0 >= t_down and (first_after is None or t1 < first_after):
                first_after = t1
        fl.check(f"[{mode}] writes resume on the new primary without restarting the daemon",
                 first_after is not None and daemon.proc.poll() is None
                 and daemon.proc.pid == pid_before)
        outage = (first_after - last_before) if first_after and last_before else float("nan")
        out["outage"] = outage
        out["after_promote"] = (first_after - t_promoted) if first_after else float("nan")
        hangs = [(who, st, round(t1 - t0, 3)) for t0, t1, who, st, _ in rows
                 if t1 - t0 > REQUEST_TIMEOUT_S + SLACK_S]
        fl.check(f"[{mode}] no request took longer than request_timeout_s + {SLACK_S} s",
                 not hangs, f"{hangs[:5]}")
        n503 = sum(1 for r in rows if r[3] == 503)
        nother = sum(1 for r in rows if r[3] >= 500 and r[3] != 503)
        fl.note(f"[{mode}] {len(rows)} responses: {n503} 503, {nother} other 5xx, "
                f"{sum(1 for r in rows if r[3] == 0)} transport errors, "
                f"{sum(1 for r in rows if 400 <= r[3] < 500)} 4xx")

        res = fl.verify_acks(standby, acks)
        out.update(res)
        out["errors"] = len(errors)
        if sync:
            fl.check("[sync] every acknowledged write is on the new primary", res["lost"] == 0,
                     f"lost {res['lost']} {res['lost_examples']}")
            fl.check("[sync] no write is duplicated", res["duplicated"] == 0,
                     f"{res['dup_examples']}")
            fl.check("[sync] no unexpected 4xx", not errors, f"{errors[:5]}")
        else:
            fl.note(f"[async] acknowledged writes missing on the promoted standby: {res['lost']} "
                    f"{res['lost_examples']}; follow-up requests refused (e.g. a move-out of a "
                    f"placement the new primary never saw): {len(errors)}")
        rc = daemon.stop()
        fl.check(f"[{mode}] daemon exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        print(f"[{mode}] acknowledged: {res['acknowledged']}")
        print(f"[{mode}] lost: {res['lost']}")
        print(f"[{mode}] duplicated: {res['duplicated']}")
        print(f"[{mode}] outage: {outage:.3f} s (last 2xx before the kill to first 2xx after; "
              f"{out['after_promote']:.3f} s after the promotion finished)")
        return out
    finally:
        stop.set()
        if daemon is not None:
            daemon.close()
        primary.stop_quietly()
        standby.stop_quietly()
        failed = fl.RESULTS.count(False) > 0
        if failed:
            for name in ("daemon.log", "primary/postgres.log", "standby/postgres.log"):
                p = work.sub(name)
                if os.path.exists(p):
                    with open(p, errors="replace") as f:
                        lines = [x for x in f.readlines() if " info " not in x][-30:]
                    fl.note(f"last lines of {name}:")
                    sys.stdout.write("".join("#   " + line for line in lines))
        if a.keep:
            fl.note(f"kept {work.path}")
        else:
            work.remove()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("daemon")
    ap.add_argument("ctl")
    ap.add_argument("sqldir")
    ap.add_argument("--mode", choices=("sync", "async", "both"), default="sync")
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--before", type=float, default=4.0)
    ap.add_argument("--after", type=float, default=2.0)
    ap.add_argument("--lag", type=float, default=0.0,
                    help="freeze the primary's walsender for the last LAG seconds before the "
                         "kill (a slow link to the standby)")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    modes = ("sync", "async") if a.mode == "both" else (a.mode,)
    outs = [scenario(a, m) for m in modes]
    if len(outs) > 1:
        print("summary: mode  acknowledged  lost  outage")
        for o in outs:
            print(f"summary: {o['mode']:5} {o['acknowledged']:12} {o['lost']:5}  "
                  f"{o['outage']:.3f} s")
    return fl.summary()


if __name__ == "__main__":
    sys.exit(main())
