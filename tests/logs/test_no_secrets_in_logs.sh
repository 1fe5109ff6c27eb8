#!/usr/bin/env bash
# tests/logs/test_no_secrets_in_logs.sh — runs LAST among the fixture tests (tests/logs/logs.cmake):
# no dossier number and no token appears in any log of the whole test run (RULES.md §5 and §7):
#   - every daemon log in $RB_FIXTURE (daemon.log of the fixture's daemon, and the logs of the
#     daemons that tests start themselves: limits, abuse, ...);
#   - the fixture cluster's own PostgreSQL log (RB_FX_BASE/postgres.log from pg.env), which
#     tests/logs/pg_log_everything.sh made log every statement, with user and application;
#   - pgbouncer's log, when the fixture runs with RB_FIXTURE_PGBOUNCER=1.
# Searched for: every dossier number the database holds (persons, payment lines), each token of the
# fixture's env file, and anything shaped like a token (rb_ and 43 base64url characters).
# PostgreSQL lines of a test's own psql session (app=psql: SQL the tests wrote with literals) are
# counted and shown but do not fail the test: they are not the product's logging. Every other line
# — the daemon (app=reimbursed), reimbursectl, server messages — fails it on any hit.
# Prints counts (files, lines scanned, dossier numbers and tokens checked, hits), then
# `P passed, F failed`.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../tap.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
tap_need_fixture
ENVFILE="$RB_FIXTURE/env"
envval() { sed -n "s/^$1=//p" "$2" | head -n 1; }
DB_ADMIN="$(envval RB_DB_ADMIN "$ENVFILE")"
PGBASE="$(envval RB_FX_BASE "$RB_FIXTURE/pg.env")"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# ---- what must never appear
# The owner role is under FORCE ROW LEVEL SECURITY too: scope '*' reads every municipality.
PGOPTIONS="-c reimbursed.scope=*" psql -X -qAt -v ON_ERROR_STOP=1 "$DB_ADMIN" -c "
    SELECT dossier_number FROM persons
    UNION SELECT dossier_number FROM payment_lines WHERE dossier_number IS NOT NULL" \
    >"$TMP/dossiers.all"
# A dossier number is letters, digits and '-' (the spec's pattern); very short ones (a test's "D1")
# would match ids and timestamps by chance, so they are left out and counted.
awk 'length($0) >= 6' "$TMP/dossiers.all" | sort -u >"$TMP/dossiers"
n_dossiers_all="$(sort -u "$TMP/dossiers.all" | wc -l)"
n_dossiers="$(wc -l <"$TMP/dossiers")"
sed -n 's/^RB_TOKEN_[A-Z0-9]*=//p' "$ENVFILE" | sort -u >"$TMP/tokens"
n_tokens="$(wc -l <"$TMP/tokens")"
echo "# $n_dossiers_all dossier numbers in the database, $n_dossiers of 6 characters or more checked; $n_tokens fixture tokens checked, and the token shape rb_[A-Za-z0-9_-]{43}"
if ((n_dossiers > 0)); then
    ok "the database holds dossier numbers to look for ($n_dossiers)"
else
    notok "no dossier numbers in the database: nothing to look for (did the suite run?)"
fi

# ---- the logs
logs=()
for f in "$RB_FIXTURE"/*.log "${PGBASE:-/nonexistent}/pgbouncer.log"; do
    [[ -f "$f" ]] && logs+=("$f")
done
pglog=""
if [[ -n "$PGBASE" && -f "$PGBASE/postgres.log" ]]; then
    pglog="$PGBASE/postgres.log"
elif [[ -f "$RB_FIXTURE/postgres.log" ]]; then
    pglog="$RB_FIXTURE/postgres.log"
fi
if [[ -n "$pglog" ]]; then
    ok "the fixture's PostgreSQL log found ($pglog)"
else
    notok "the fixture's PostgreSQL log not found (pg.env RB_FX_BASE=$PGBASE)"
fi
if [[ -f "$RB_FIXTURE/daemon.log" ]]; then
    ok "the fixture daemon's log found"
else
    notok "the fixture daemon's log $RB_FIXTURE/daemon.log not found"
fi

# grep_hits FILE -> FILE:LINE:MATCH lines for every dossier number, token or token shape.
grep_hits() {
    {
        if [[ -s "$TMP/dossiers" ]]; then
            grep -n -o -w -F -f "$TMP/dossiers" "$1" || true
        fi
        grep -n -o -F -f "$TMP/tokens" "$1" || true
        grep -n -o -E 'rb_[A-Za-z0-9_-]{43}' "$1" || true
    } | sort -t: -k1,1n -u
}

total_lines=0
product_hits=0
for f in "${logs[@]}"; do
    n="$(wc -l <"$f")"
    total_lines=$((total_lines + n))
    grep_hits "$f" >"$TMP/hits"
    h="$(wc -l <"$TMP/hits")"
    echo "# $(basename "$f"): $n lines, $h hits"
    if ((h > 0)); then
        product_hits=$((product_hits + h))
        sed 's/^/#   /' "$TMP/hits" | head -n 10
        notok "no dossier number or token in $(basename "$f") ($h hits)"
    else
        ok "no dossier number or token in $(basename "$f") ($n lines)"
    fi
done

if [[ -n "$pglog" ]]; then
    n="$(wc -l <"$pglog")"
    total_lines=$((total_lines + n))
    grep_hits "$pglog" >"$TMP/hits"
    # Attribute each hit to the application of its log entry (continuation lines belong to the
    # last line with a prefix).
    awk -v hits="$TMP/hits" '
        BEGIN { while ((getline l < hits) > 0) { split(l, a, ":"); want[a[1]] = 1 } }
        /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:.]+ [A-Z]+ \[[0-9]+\]/ {
            app = "server"
            if (match($0, / app=[^ ]* /)) app = substr($0, RSTART + 5, RLENGTH - 6)
            if (match($0, /\] [^@ ]+@/)) user = substr($0, RSTART + 2, RLENGTH - 3); else user = "-"
        }
        (NR in want) { printf "%s\t%s\t%d\t%s\n", (app == "psql" ? "harness" : "product"), user "/" app, NR, substr($0, 1, 220) }
    ' "$pglog" >"$TMP/pghits"
    ph="$(awk -F'\t' '$1 == "product"' "$TMP/pghits" | wc -l)"
    hh="$(awk -F'\t' '$1 == "harness"' "$TMP/pghits" | wc -l)"
    stmts="$(grep -c 'duration: .* \(statement\|execute\)' "$pglog" || true)"
    daemon_lines="$(grep -c ' app=reimbursed ' "$pglog" || true)"
    echo "# postgres.log: $n lines ($stmts statements logged, $daemon_lines lines of the daemon), $((ph + hh)) hits: $ph from the product, $hh from tests' own psql sessions"
    if ((hh > 0)); then
        echo "# hits in tests' own psql SQL (not the product's logging; shown, not failed):"
        awk -F'\t' '$1 == "harness" { print "#   line " $3 " (" $2 "): " $4 }' "$TMP/pghits" | head -n 5
    fi
    if ((ph > 0)); then
        product_hits=$((product_hits + ph))
        awk -F'\t' '$1 == "product" { print "#   line " $3 " (" $2 "): " $4 }' "$TMP/pghits" | head -n 10
        notok "no dossier number or token in PostgreSQL's log from the daemon or reimbursectl ($ph hits)"
    else
        ok "no dossier number or token in PostgreSQL's log from the daemon or reimbursectl ($n lines)"
    fi
fi

echo "# scanned $((${#logs[@]} + (${pglog:+1}+0))) files, $total_lines lines; $n_dossiers dossier numbers and $n_tokens tokens checked; $product_hits hits"
tap_end
