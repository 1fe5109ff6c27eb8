#!/usr/bin/env bash
# The nightly reports (`reimbursectl report`) against the ctest fixture: data made through the
# HTTPS API (placements in two municipalities, a move-out, an accrual run, a payment list with
# one underpaid, one overpaid and one unknown person), then the report for today (Stockholm):
# every file is written; the CSV and JSON are the API's reconciliation for the same month and
# cut; the SIE file parses and balances; a rerun gives byte-identical files; a reader never sees
# half a file and no temporary name is left behind; headless Chromium renders summary.html with
# the chart and the tables (and a screenshot is taken). Prints `N passed, M failed`.
# Usage: test_report.sh REIMBURSECTL   (with RB_FIXTURE set; installs chromium when root)
# shellcheck disable=SC2317 # functions called through check and trap
set -euo pipefail
ctl="$(readlink -f "$1")"
while IFS= read -r line; do export "${line%%=*}=${line#*=}"; done <"$RB_FIXTURE/env"

# shellcheck source-path=SCRIPTDIR source=../tap.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit
}

work="$(mktemp -d /tmp/rbreport.XXXXXX)"
keep_pid=""
cleanup() {
    [[ -z "$keep_pid" ]] || kill "$keep_pid" 2>/dev/null || true
    rm -rf "$work/chrome" "$work/out" "$work/out2" "$work/out3" "$work/empty"
}
trap cleanup EXIT

api() { # METHOD TOKEN PATH [BODY [CONTENT-TYPE]] -> body on stdout, status in $work/status
    local ct="${5:-application/json}"
    local args=(-s -o "$work/body" -w '%{http_code}' --cacert "$RB_CA" -X "$1"
        -H "Authorization: Bearer $2")
    if [[ $# -ge 4 ]]; then
        args+=(-H "Content-Type: $ct" --data-binary "$4")
    fi
    case "$1:$3" in # writes that move money need an Idempotency-Key (428 without)
    POST:/v1/payments | POST:/v1/payments/import | POST:/v1/allocations | POST:/v1/rates | POST:/v1/accruals/run) args+=(-H "Idempotency-Key: report-$$-$RANDOM$RANDOM-$SECONDS") ;;
    esac
    curl "${args[@]}" "$RB_URL$3" >"$work/status"
    cat "$work/body"
}
status() { cat "$work/status"; }
jget() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

# ---------------------------------------------------------------- dates
today="$(TZ=Europe/Stockholm date +%F)"
yesterday="$(date -u -d "$today 12:00 UTC -1 day" +%F)"
tomorrow="$(date -u -d "$today 12:00 UTC +1 day" +%F)"
month_start="${today:0:8}01"
p1="$(date -u -d "$month_start 12:00 UTC -1 month" +%F)" # first day of the reconciliation month
pm="${p1:0:7}"
nd="$(date -u -d "$month_start 12:00 UTC -1 day" +%d)"
nd=$((10#$nd))
out10="$(date -u -d "$p1 12:00 UTC +10 day" +%F)"
echo "# today $today (Stockholm); reconciliation month $pm ($nd days)"

# ---------------------------------------------------------------- data through the API
sfx="$(printf '%04d%04d' $((RANDOM % 10000)) $((RANDOM % 10000)))"
dA="RPT-A-$sfx" dB="RPT-B-$sfx" dC="RPT-C-$sfx" dD="RPT-D-$sfx" dU="RPT-U-$sfx"
place() { # TOKEN MUNI DOSSIER -> placement id
    local b
    b="$(api POST "$1" /v1/placements "{\"dossier_number\":\"$3\",\"birth_date\":\"1990-01-01\",\"municipality\":\"$2\",\"assigned_on\":\"$p1\",\"moved_in_on\":\"$p1\"}")"
    [[ "$(status)" == 201 ]] || {
        echo "# POST /v1/placements: $(status) $b" >&2
        return 1
    }
    jget id <<<"$b"
}
pA="$(place "$RB_TOKEN_W1480" 1480 "$dA")"
pB="$(place "$RB_TOKEN_W1480" 1480 "$dB")"
pC="$(place "$RB_TOKEN_W1480" 1480 "$dC")"
pD="$(place "$RB_TOKEN_W1481" 1481 "$dD")"
api POST "$RB_TOKEN_W1480" "/v1/placements/$pC/move-out" \
    "{\"date\":\"$out10\",\"reason\":\"left_country\"}" >/dev/null
check "placements in 1480 and 1481 and a move-out recorded" test "$(status)" = 200

day=30000 # DAY_ADULT öre per day
full=$((nd * day))
csv="municipality;dossier_number;month;code;amount_ore;paid_on;reference
1480;$dA;$pm;MOVE_IN;1500000;$yesterday;RPT-$sfx
1480;$dA;$pm;DAY_ADULT;$((full - 100000));$yesterday;RPT-$sfx
1480;$dB;$pm;MOVE_IN;1500000;$yesterday;RPT-$sfx
1480;$dB;$pm;DAY_ADULT;$((full + 50000));$yesterday;RPT-$sfx
1480;$dC;$pm;MOVE_IN;1500000;$yesterday;RPT-$sfx
1480;$dC;$pm;DAY_ADULT;$full;$yesterday;RPT-$sfx
1480;$dU;$pm;DAY_ADULT;123400;$yesterday;RPT-$sfx
"
api POST "$RB_TOKEN_W1480" /v1/payments/import "$csv" text/csv >/dev/null
check "the payment list is imported (201)" test "$(status)" = 201

# The run: through yesterday, never before the latest done run's through.
latest="$(psql "$RB_DB_ADMIN" -XAtc "SELECT coalesce(max(through)::text, '') FROM accrual_runs WHERE status = 'done'")"
through="$yesterday"
if [[ -n "$latest" && "$latest" > "$through" ]]; then through="$latest"; fi
echo "# latest done run through ${latest:-(none)}; this run through $through"
run="$(api POST "$RB_TOKEN_ADMIN" /v1/accruals/run "{\"through\":\"$through\"}")"
check "the accrual run is done" test "$(status)" = 200
run_id="$(jget run_id <<<"$run")"

# ---------------------------------------------------------------- the report
report() { # DATE DIR -> exit status; output in $work/report.out
    local rc=0
    "$ctl" -c "$RB_CONF" report --date "$1" --out "$2" >"$work/report.out" 2>"$work/report.err" || rc=$?
    sed 's/^/# /' "$work/report.out" "$work/report.err"
    return "$rc"
}
out="$work/out"
rc=0
report "$today" "$out" || rc=$?
check "report --date today exits 0" test "$rc" = 0
check "it prints one line per municipality and a summary line" \
    grep -q "^1480 .*files" "$work/report.out"
check "the summary line names the night's run as the cut" \
    grep -q "^report $today: .*accrual run $run_id through $through finished" "$work/report.out"
files_ok=1
for m in 1480 1481; do
    for f in reconciliation.csv reconciliation.json ledger.se summary.html; do
        [[ -s "$out/$m/$f" ]] || {
            echo "# missing $out/$m/$f"
            files_ok=0
        }
    done
done
check "every file exists (two municipalities, four files each)" test "$files_ok" = 1
check "index.html exists" test -s "$out/index.html"
((files_ok)) || finish
check "no temporary file is left behind" \
    test -z "$(find "$out" -name '.*' ! -name . -print -quit)"

cut="$(jget as_known_at <"$out/1480/reconciliation.json")"
echo "# cut (as_known_at): $cut"
finished="$(api GET "$RB_TOKEN_ADMIN" "/v1/accruals/runs/$run_id" | jget finished_at)"
check "the cut is the finished_at of the night's run" test "$cut" = "$finished"

# The files against the API, for the same month and cut.
same_as_api() { # MUNI FORMAT FILE
    api GET "$RB_TOKEN_ADMIN" "/v1/reports/reconciliation?municipality=$1&month=$pm&format=$2&as_known_at=$cut" >"$work/api.$2"
    [[ "$(status)" == 200 ]] && cmp -s "$work/api.$2" "$3"
}
for m in 1480 1481; do
    check "$m reconciliation.csv is byte for byte the API's CSV at the cut" \
        same_as_api "$m" csv "$out/$m/reconciliation.csv"
    check "$m reconciliation.json is byte for byte the API's JSON at the cut" \
        same_as_api "$m" json "$out/$m/reconciliation.json"
    api GET "$RB_TOKEN_ADMIN" "/v1/reports/reconciliation?municipality=$m&month=$pm" >"$work/api.now"
    check "$m the JSON's rows and totals equal the API's now (nothing changed since)" \
        python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if (a["rows"],a["totals"])==(b["rows"],b["totals"]) else 1)' \
        "$work/api.now" "$out/$m/reconciliation.json"
done

same_balance() { # MUNI: the printed outstanding and expected reclaim are the API's balance
    api GET "$RB_TOKEN_ADMIN" "/v1/municipalities/$1/balance?as_of=$cut" >"$work/balance.json"
    [[ "$(status)" == 200 ]] && python3 - "$work/balance.json" "$work/report.out" "$1" <<'PY'
import json, re, sys
b = json.load(open(sys.argv[1]))
line = [l for l in open(sys.argv[2]) if l.startswith(sys.argv[3] + " ")][0]
m = re.search(r"outstanding (-?\d+)\.(\d\d) kr, expected reclaim (-?\d+)\.(\d\d) kr", line)
got = (int(m.group(1)) * 100 + int(m.group(2)), int(m.group(3)) * 100 + int(m.group(4)))
want = (b["outstanding_ore"], b["expected_reclaim_ore"])
print("# %s balance: report %s, API %s" % (sys.argv[3], got, want))
sys.exit(0 if got == want else 1)
PY
}
for m in 1480 1481; do
    check "$m outstanding and expected reclaim are the API's balance at the cut" same_balance "$m"
done

row_class() { # DOSSIER CODE -> class in 1480's CSV
    awk -F';' -v d="$1" -v c="$2" '$3 == d && $5 == c { print $9 }' "$out/1480/reconciliation.csv" | tr -d '\r'
}
check "A's days are underpaid" test "$(row_class "$dA" DAY_ADULT)" = underpaid
check "A's move-in is ok" test "$(row_class "$dA" MOVE_IN)" = ok
check "B's days are overpaid" test "$(row_class "$dB" DAY_ADULT)" = overpaid
check "C (moved out on day 11) is overpaid" test "$(row_class "$dC" DAY_ADULT)" = overpaid
check "U, paid but not in the ledger, is unknown_person" test "$(row_class "$dU" DAY_ADULT)" = unknown_person
check "A: owed $full, paid 1000 kr less" \
    grep -q "^1480;$pm;$dA;$pA;DAY_ADULT;$full;$((full - 100000));-100000;underpaid" "$out/1480/reconciliation.csv"
check "B: owed $full, paid 500 kr more" \
    grep -q "^1480;$pm;$dB;$pB;DAY_ADULT;$full;$((full + 50000));50000;overpaid" "$out/1480/reconciliation.csv"
check "C owes 10 days: owed 300000, paid $full" \
    grep -q "^1480;$pm;$dC;$pC;DAY_ADULT;300000;$full;" "$out/1480/reconciliation.csv"
check "D in 1481 (no payment list here) is owed its days, unpaid" \
    grep -Eq "^1481;$pm;$dD;$pD;DAY_ADULT;$full;0;-$full;(not_yet_paid|underpaid)" "$out/1481/reconciliation.csv"

# The SIE file: parse it back (CP437, CRLF); every #VER sums to zero; accounts declared.
cat >"$work/sie_check.py" <<'PY'
import re, shlex, sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\r\n"), "no CRLF at the end"
text = data.decode("cp437")
lines = text.split("\r\n")
accounts, vers, cur, gen = set(), 0, None, None
for ln in lines:
    if ln.startswith("#KONTO"):
        accounts.add(int(shlex.split(ln)[1]))
    elif ln.startswith("#GEN"):
        gen = ln.split()[1]
    elif ln.startswith("#VER"):
        cur = 0
    elif ln.strip().startswith("#TRANS"):
        m = re.match(r'\s*#TRANS (\d+) \{[^}]*\} (-?\d+(?:\.\d+)?)', ln)
        assert m, ln
        assert int(m.group(1)) in accounts, "account without #KONTO: " + m.group(1)
        cur += round(float(m.group(2)) * 100)
    elif ln.strip() == "}":
        assert cur == 0, "a #VER does not sum to zero: %d" % cur
        vers += 1
        cur = None
assert gen == sys.argv[2].replace("-", ""), "#GEN %s is not the report's date" % gen
print(vers)
PY
for m in 1480 1481; do
    vers="$(python3 "$work/sie_check.py" "$out/$m/ledger.se" "$today" 2>&1)" || vers="error: $vers"
    echo "# $m ledger.se: $vers verifications"
    check "$m ledger.se parses, every #VER sums to zero, #GEN is the report's date" \
        test -n "$vers" -a "${vers#error}" = "$vers" -a "$vers" != 0
done
check "1480 ledger.se holds the payment journal (series B)" grep -aq '^#VER "B"' "$out/1480/ledger.se"

# Reproducible: a second run into another folder gives the same bytes; a rerun into the same
# folder while a reader watches never shows half a file.
rc=0
report "$today" "$work/out2" || rc=$?
check "a second run on the same date exits 0" test "$rc" = 0
check "the second run's files are byte-identical (diff -r)" diff -r "$out" "$work/out2"

cat >"$work/reader.py" <<'PY'
import json, os, sys, time
root, stop, ready = sys.argv[1], sys.argv[2], sys.argv[3]
bad = reads = 0
open(ready, "w").close()
while not os.path.exists(stop):
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.startswith("."):
                continue
            try:
                b = open(os.path.join(dirpath, n), "rb").read()
            except FileNotFoundError:
                continue
            reads += 1
            try:
                ok = (b.rstrip().endswith(b"</html>") if n.endswith(".html")
                      else b.endswith(b"\r\n") if n.endswith((".se", ".csv"))
                      else json.loads(b) is not None)
            except ValueError:
                ok = False
            if not ok:
                bad += 1
                print("# half a file: %s (%d bytes)" % (n, len(b)), file=sys.stderr)
print(reads, bad)
PY
python3 "$work/reader.py" "$out" "$work/stop" "$work/ready" >"$work/reader.out" &
keep_pid=$!
for _ in $(seq 100); do [[ -e "$work/ready" ]] && break; sleep 0.1; done
for _ in 1 2 3; do report "$today" "$out" >/dev/null || true; done
touch "$work/stop"
wait "$keep_pid" || true
keep_pid=""
read -r reads bad <"$work/reader.out"
echo "# reader: $reads complete reads during three reruns, $bad half-written"
check "a reader never saw half a file during reruns" test "$reads" -gt 0 -a "$bad" = 0
check "still no temporary file left behind" \
    test -z "$(find "$out" -name '.*' ! -name . -print -quit)"
check "the rerun files are still identical" diff -r "$out" "$work/out2"

# The day after: the move-out recorded today is a change to report; the cut is the end of today.
rc=0
report "$tomorrow" "$work/out3" || rc=$?
check "report --date tomorrow exits 0" test "$rc" = 0
check "tomorrow's summary lists C's move-out with placement id and dossier number" \
    grep -q "<td>$pC</td><td>$dC</td><td>Moved out: left the country</td><td>$out10</td>" \
    "$work/out3/1480/summary.html"
check "today's summary has no change recorded yesterday for our placements" \
    bash -c "! grep -q '$dC</td><td>Moved out' '$out/1480/summary.html'"

# A day without an accrual run: the cut is the end of the day before (Stockholm).
rc=0
report 2023-01-15 "$work/empty" || rc=$?
check "a day without a run: exit 0, cut at the end of the day before" \
    grep -q "ledger as known at 2023-01-14T22:59:59.999999Z (no accrual run finished on 2023-01-15" \
    "$work/report.out"
check "usage errors exit 2" bash -c "'$ctl' -c '$RB_CONF' report --date 2023-02-30 --out '$work/x' 2>/dev/null; test \$? = 2"
check "a missing --out exits 2" bash -c "'$ctl' -c '$RB_CONF' report --date $today 2>/dev/null; test \$? = 2"

# ---------------------------------------------------------------- in a browser
if ! command -v chromium >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]]; then
        echo "# installing chromium (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        if apt-get update </dev/null >/dev/null; then
            apt-get install -y --no-install-recommends chromium fonts-dejavu-core </dev/null \
                >/dev/null || echo "# apt-get install chromium failed"
        fi
    fi
fi
if ! command -v chromium >/dev/null 2>&1; then
    check "chromium is installed (apt-get install chromium)" false
    finish
fi
chrome() { # ARGS... (headless, throwaway profile)
    local prof
    prof="$(mktemp -d "$work/chrome.XXXXXX")"
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
        --hide-scrollbars "$@" 2>>"$work/chrome.log"
    rm -rf "$prof"
}
page="$work/out3/1480/summary.html"
chrome --dump-dom "file://$page" >"$work/dom.html" || true
cat >"$work/dom_check.py" <<'PY'
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.bars, self.stack, self.rows = set(), {"owed": 0, "paid": 0}, [], {}
        self.table = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "table":
            self.table = a.get("id")
        if tag == "tr" and self.table:
            self.rows[self.table] = self.rows.get(self.table, 0) + 1
        if tag == "rect":
            cls = (a.get("class") or "").split()
            if "bar" in cls:
                for s in ("owed", "paid"):
                    if s in cls:
                        self.bars[s] += 1

p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
need = {"chart", "totals-table", "discrepancies-table", "changes-table", "index-table"} - {"index-table"}
missing = need - p.ids
print("ids missing:", sorted(missing), "bars:", p.bars, "rows:", p.rows)
ok = (not missing and p.bars["owed"] >= 1 and p.bars["owed"] == p.bars["paid"]
      and p.rows.get("totals-table", 0) >= 3 and p.rows.get("discrepancies-table", 0) >= 4
      and p.rows.get("changes-table", 0) >= 2)
sys.exit(0 if ok else 1)
PY
echo "# $(python3 "$work/dom_check.py" "$work/dom.html" 2>&1 | head -n 3)"
check "Chromium's DOM has the SVG chart with bars (owed and paid) and the three tables" \
    python3 "$work/dom_check.py" "$work/dom.html"
check "the DOM shows C's move-out to report" grep -q "$dC" "$work/dom.html"
shot="$work/summary-1480.png"
chrome --screenshot="$shot" --window-size=1100,2400 "file://$page" >/dev/null || true
size="$(stat -c %s "$shot" 2>/dev/null || echo 0)"
echo "# screenshot: $shot ($size bytes)"
check "the screenshot is non-trivial (> 30 kB)" test "$size" -gt 30000
chrome --dump-dom "file://$work/out3/index.html" >"$work/index-dom.html" || true
check "index.html renders with a link to each summary" \
    grep -q 'href="1480/summary.html"' "$work/index-dom.html"
finish
