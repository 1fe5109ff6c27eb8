# ops/bench/stream.sh — the `stream` part of ops/bench/run (sourced by it, not run alone): a
# large streamed read (the SIE export) and GET /healthz during it. Uses run's stack_up,
# daemon_start, row, key, calc, say and error, and its MUNI, TOKEN, S, DPORT, DPID, LOGS, HERE.
# shellcheck shell=bash disable=SC2154 # the variables are run's
# STREAM_LINES posting lines of MUNI (payment journals of two lines, made in SQL as the
# superuser), then the SIE export with payments at full speed while /healthz is polled.
bench_stream() {
    say
    say "== stream: GET /v1/exports/sie of $STREAM_LINES lines + GET /healthz every 10 ms [at $((SECONDS - T0)) s]"
    stack_up stream
    rb_psql -d reimbursed -v n="$((STREAM_LINES / 2))" -v muni="$MUNI" >/dev/null <<'SQL'
BEGIN;
WITH j AS (INSERT INTO journal (kind, cause, municipality, service_month)
           SELECT 'payment', 'Utbetalning ' || g, :'muni', date '2024-01-01'
             FROM generate_series(1, :n) g RETURNING id)
INSERT INTO postings (journal_id, kind, account, municipality, month, amount_ore)
SELECT j.id, 'payment', a.account, :'muni', date '2024-01-01', a.sign * (1000 + j.id % 977)
  FROM j, (VALUES (1, 'bank', 1), (2, 'receivable', -1)) a(k, account, sign)
 ORDER BY j.id, a.k;
COMMIT;
ANALYZE journal;
ANALYZE postings;
SQL
    daemon_start 4 1024 30 1024
    local out="$LOGS/stream.out"
    if ! python3 "$HERE/stream.py" 127.0.0.1 "$DPORT" "$S/cert.pem" "$TOKEN" \
        "/v1/exports/sie?municipality=$MUNI&include=payments" "$DPID" >"$out" 2>&1; then
        cat "$out" >&2
        error "stream" "the export failed"
        stack_down
        return 0
    fi
    local trans grow max v
    trans="$(key trans "$out")"
    grow="$(calc "printf \"%.1f\", ($(key hwm_after_kib "$out") - $(key hwm_before_kib "$out")) / 1024")"
    max="$(key healthz_max_ms "$out")"
    say "  $(key bytes "$out") bytes, $trans #TRANS lines in $(key seconds "$out") s; VmHWM $(key hwm_before_kib "$out") -> $(key hwm_after_kib "$out") KiB; /healthz during it: $(key healthz_n "$out") answers, p99 $(key healthz_p99_ms "$out") ms, max $max ms, $(key healthz_failed "$out") failed"
    # On the smoke's shared cluster MUNI also holds the read part's accrual lines: at least
    # the STREAM_LINES made here must arrive, with every other posting line of MUNI.
    local want
    want="$(rb_psql -d reimbursed -tA -v muni="$MUNI" <<<"SELECT count(*) FROM postings WHERE municipality = :'muni';")"
    v=PASS
    ((trans == want && trans >= STREAM_LINES)) || v=FAIL
    row "SIE export, lines streamed" "$trans of $want" "-" "-" "all" "$v"
    v=MISS
    calc "exit !($grow < $TARGET_STREAM_RSS_MIB)" && v=PASS
    row "SIE export of $STREAM_LINES lines: RSS growth (MiB)" "$grow" "-" "-" "< $TARGET_STREAM_RSS_MIB MiB" "$v"
    v=MISS
    calc "exit !($max < $TARGET_STREAM_HEALTHZ_MS)" && v=PASS
    row "GET /healthz during that export, max (ms)" "$max" "-" "-" "< $TARGET_STREAM_HEALTHZ_MS ms" "$v"
    v=PASS
    (($(key healthz_failed "$out") == 0)) || v=FAIL
    row "GET /healthz failed during that export" "$(key healthz_failed "$out")" "-" "-" "0" "$v"
    stack_down
}

