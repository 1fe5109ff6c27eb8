#!/usr/bin/env bash
# tests/openapi/proxy_test.sh — the daemon against proto/openapi.yaml, through `prism proxy`.
#
#   proxy_test.sh [--all]        (ctest: openapi_proxy)
#       Runs itself under `ops/openapi-check proxy` in front of the fixture's daemon and sends,
#       with curl, one valid request of every operation and valid requests that the daemon must
#       refuse (401, 403, 404, 409, 422, 400 for a foreign cursor...), checking each status. The
#       check fails when a status differs or prism finds any request or response that does not
#       match the description. --all also changes shared state (a rate row, an accrual run, a
#       stopped database): only for a private fixture.
#   proxy_test.sh harness PROGRAM [ARG...]   (ctest: openapi_proxy_api, openapi_proxy_ledger)
#       Runs an integration test program behind the proxy (RB_PROXY_URL), allowing the requests
#       the description refuses: the harness sends those again directly and requires the daemon
#       to refuse them as well.
#   proxy_test.sh selftest       (ctest: openapi_proxy_selftest)
#       Shows that the check can fail: a request with an unknown member, and a response checked
#       against a description that no longer matches, must each make `ops/openapi-check proxy`
#       exit non-zero.
#
# Needs RB_FIXTURE (the folder tests/fixture/up.sh wrote env into); BUILD_DIR is passed on to
# ops/openapi-check (where the npm tools are cached).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
CHECK="$ROOT/ops/openapi-check"

[[ -n "${RB_FIXTURE:-}" && -r "$RB_FIXTURE/env" ]] || {
    echo "RB_FIXTURE must name a folder with the fixture's env" >&2
    exit 2
}
while IFS='=' read -r k v; do
    case "$k" in
    RB_URL | RB_CA | RB_TOKEN_* | RB_PG_STOP_CMD | RB_PG_START_CMD) export "$k=$v" ;;
    esac
done <"$RB_FIXTURE/env"

if [[ "${1:-}" == harness ]]; then
    shift
    [[ $# -ge 1 ]] || {
        echo "usage: $0 harness PROGRAM [ARG...]" >&2
        exit 2
    }
    exec "$CHECK" proxy --allow-rejected-requests "$RB_URL" "$RB_CA" -- "$@"
fi

if [[ "${1:-}" == selftest ]]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    fails=0
    # 1. A request the description refuses (an unknown member): prism answers it itself.
    cat >"$tmp/bad_request.sh" <<'EOF'
#!/usr/bin/env bash
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$RB_PROXY_URL/v1/placements/search" \
    -H "Authorization: Bearer $RB_TOKEN_W1480" -H 'Content-Type: application/json' \
    -d '{"dossier_number":"T1","extra":1}')"
echo "request with an unknown member: HTTP $code"
[[ "$code" == 422 ]]
EOF
    chmod +x "$tmp/bad_request.sh"
    if "$CHECK" proxy "$RB_URL" "$RB_CA" -- "$tmp/bad_request.sh" >"$tmp/out1" 2>&1; then
        echo "not ok 1 - a request with an unknown member passed the proxy check"
        fails=$((fails + 1))
    elif grep -q 'requests that do not match the description' "$tmp/out1"; then
        echo "ok 1 - a request with an unknown member fails the proxy check"
    else
        echo "not ok 1 - the proxy check failed for another reason:"
        sed 's/^/#   /' "$tmp/out1"
        fails=$((fails + 1))
    fi
    # 2. A response the description no longer matches: the readiness body loses its `status`.
    sed 's/^\(                required: \)\[status\]$/\1[status, uptime]/' \
        "$ROOT/proto/openapi.yaml" >"$tmp/openapi.yaml"
    if cmp -s "$ROOT/proto/openapi.yaml" "$tmp/openapi.yaml"; then
        echo "not ok 2 - could not make a mismatching description"
        fails=$((fails + 1))
    else
        cat >"$tmp/bad_response.sh" <<'EOF'
#!/usr/bin/env bash
code="$(curl -s -o "$0.body" -w '%{http_code}' "$RB_PROXY_URL/readyz")"
echo "readiness through a mismatching description: HTTP $code $(head -c 300 "$0.body")"
exit 0
EOF
        chmod +x "$tmp/bad_response.sh"
        if OPENAPI_SPEC="$tmp/openapi.yaml" "$CHECK" proxy "$RB_URL" "$RB_CA" -- \
            "$tmp/bad_response.sh" >"$tmp/out2" 2>&1; then
            echo "not ok 2 - a response that does not match passed the proxy check"
            sed 's/^/#   /' "$tmp/out2"
            fails=$((fails + 1))
        elif grep -q 'HTTP 500 .*errors#VIOLATIONS' "$tmp/out2" &&
            grep -q 'responses that do not match the description' "$tmp/out2"; then
            echo "ok 2 - a response that does not match fails the proxy check (prism answered 500)"
        else
            echo "not ok 2 - the proxy check failed for another reason:"
            sed 's/^/#   /' "$tmp/out2"
            fails=$((fails + 1))
        fi
    fi
    echo "$((2 - fails)) passed, $fails failed"
    exit $((fails > 0))
fi

ALL=0
[[ "${1:-}" == --all ]] && ALL=1

# Not yet behind the proxy: start it, and run this script again behind it.
if [[ -z "${RB_PROXY_URL:-}" ]]; then
    exec "$CHECK" proxy "$RB_URL" "$RB_CA" -- "${BASH_SOURCE[0]}" "$@"
fi

P="$RB_PROXY_URL"
BODY="$(mktemp)"
HDRS="$(mktemp)"
trap 'rm -f "$BODY" "$HDRS"' EXIT
passed=0
failed=0
STATUS=""

# json PATH — a value of the last answer's JSON body (PATH like .items[0].code); empty when the
# body is not JSON or the value is absent or null.
json() {
    python3 - "$1" "$BODY" <<'PY'
import json, re, sys
try:
    v = json.load(open(sys.argv[2], encoding="utf-8"))
    for key, idx in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]", sys.argv[1]):
        v = v[key] if key else v[int(idx)]
except (ValueError, KeyError, IndexError, TypeError):
    v = None
print("" if v is None else v if isinstance(v, str) else json.dumps(v))
PY
}

# req METHOD PATH TOKEN [BODY [IDEMPOTENCY-KEY]] — sets STATUS; the body is in $BODY. ACCEPT and
# CONTENT_TYPE override the JSON defaults.
req() {
    local method="$1" path="$2" token="$3" data="${4-}" key="${5-}" args=()
    args=(-s -X "$method" -o "$BODY" -D "$HDRS" -w '%{http_code}' --max-time 60
        -H "Accept: ${ACCEPT:-application/json}")
    [[ -n "$token" ]] && args+=(-H "Authorization: Bearer $token")
    if [[ -z "$key" ]]; then
        case "$method:$path" in # writes that move money need an Idempotency-Key (428 without)
        POST:/v1/payments | POST:/v1/payments/import | POST:/v1/allocations | POST:/v1/rates | POST:/v1/accruals/run) key="oa-auto-$$-$RANDOM$RANDOM-$SECONDS" ;;
        esac
    fi
    [[ -n "$key" ]] && args+=(-H "Idempotency-Key: $key")
    if [[ "$method" == POST ]]; then
        args+=(-H "Content-Type: ${CONTENT_TYPE:-application/json; charset=utf-8}"
            --data-binary "$data")
    fi
    STATUS="$(curl "${args[@]}" "$P$path")" || STATUS="curl-error-$?"
}

# expect WHAT STATUS [ERROR-CODE] — checks the last answer.
expect() {
    local what="$1" want="$2" code="${3-}" got_code=""
    if [[ -n "$code" ]]; then
        got_code="$(json .error.code)"
    fi
    if [[ "$STATUS" == "$want" && "$got_code" == "$code" ]]; then
        passed=$((passed + 1))
        echo "ok - $what: $STATUS${code:+ $code}"
    else
        failed=$((failed + 1))
        echo "not ok - $what: expected $want${code:+ $code}, got $STATUS${got_code:+ $got_code}: $(head -c 400 "$BODY")"
    fi
}


W="$RB_TOKEN_W1480"
W81="$RB_TOKEN_W1481"
R="$RB_TOKEN_R1480"
RSTAR="$RB_TOKEN_RSTAR"
ADMIN="$RB_TOKEN_ADMIN"
BAD_TOKEN="rb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
stamp="$(date +%s)$RANDOM"
dossier="OA-$stamp"
key() { echo "oa-$stamp-$1"; }

# ---- operations
req GET /healthz ""
expect "GET /healthz" 200
req GET /readyz ""
expect "GET /readyz" 200
req GET /v1/openapi.json ""
expect "GET /v1/openapi.json" 200
if [[ "$STATUS" == 200 ]]; then
    if [[ "$(json .openapi)" == 3.1.0 ]]; then
        passed=$((passed + 1))
        echo "ok - GET /v1/openapi.json is an OpenAPI 3.1 document"
    else
        failed=$((failed + 1))
        echo "not ok - GET /v1/openapi.json is not an OpenAPI 3.1 document"
    fi
fi

# ---- placements (only requests the description allows: the daemon's answers are what is checked)
pbody="{\"dossier_number\":\"$dossier\",\"birth_date\":\"1990-05-01\",\"municipality\":\"1480\",\"assigned_on\":\"2023-01-10\"}"
req POST /v1/placements "$W" "$pbody" "$(key create)"
expect "POST /v1/placements" 201
id="$(json .id)"
req POST /v1/placements "$W" "$pbody" "$(key create)"
expect "POST /v1/placements (replay)" 201
req POST /v1/placements "$W" "${pbody%\}},\"former_uam\":false}" "$(key create)"
expect "POST /v1/placements (key reused)" 422 idempotency_key_reused
req POST /v1/placements "$W" "{\"dossier_number\":\"$dossier\",\"birth_date\":\"1991-05-01\",\"municipality\":\"1480\",\"assigned_on\":\"2024-01-10\"}"
expect "POST /v1/placements (other birth date)" 409 person_mismatch
req POST /v1/placements "$W" "{\"dossier_number\":\"$dossier-B\",\"birth_date\":\"1990-05-01\",\"municipality\":\"1481\",\"assigned_on\":\"2023-01-10\"}"
expect "POST /v1/placements (another municipality)" 403 forbidden
req POST /v1/placements "$ADMIN" "{\"dossier_number\":\"$dossier-C\",\"birth_date\":\"1990-05-01\",\"municipality\":\"0000\",\"assigned_on\":\"2023-01-10\",\"former_uam\":null,\"moved_in_on\":null}"
expect "POST /v1/placements (no such municipality)" 422 unknown_municipality
req POST /v1/placements "$R" "$pbody"
expect "POST /v1/placements (read role)" 403 forbidden
req POST /v1/placements "$BAD_TOKEN" "$pbody"
expect "POST /v1/placements (unknown token)" 401 unauthorized

req GET "/v1/placements/$id" "$W"
expect "GET /v1/placements/{id}" 200
req GET "/v1/placements/$id?as_known_at=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)" "$R"
expect "GET /v1/placements/{id}?as_known_at" 200
req GET "/v1/placements/$id?as_known_at=2000-01-01T00:00:00Z" "$W"
expect "GET /v1/placements/{id}?as_known_at (before it)" 404 not_found
req GET "/v1/placements/$id" "$W81"
expect "GET /v1/placements/{id} (another municipality's)" 404 not_found
req GET "/v1/placements/$id" "$RSTAR"
expect "GET /v1/placements/{id} (totals-only client)" 403 forbidden
req GET /v1/placements/999999999999 "$W"
expect "GET /v1/placements/{id} (none)" 404 not_found
req GET "/v1/placements/$id?page=2" "$W"
expect "GET /v1/placements/{id} (unknown parameter)" 400 invalid_query

req GET "/v1/placements?municipality=1480&limit=1" "$W"
expect "GET /v1/placements" 200
cursor="$(json .next_cursor)"
if [[ -n "$cursor" ]]; then
    req GET "/v1/placements?municipality=1480&limit=1&cursor=$cursor" "$W"
    expect "GET /v1/placements (next page)" 200
    req GET "/v1/placements?active_on=2023-01-15&limit=1&cursor=$cursor" "$W"
    expect "GET /v1/placements (cursor of other filters)" 400 invalid_cursor
fi
req GET "/v1/placements?active_on=2023-01-15" "$R"
expect "GET /v1/placements?active_on" 200
req GET "/v1/placements?municipality=1481" "$W"
expect "GET /v1/placements (another municipality)" 403 forbidden
req GET /v1/placements "$RSTAR"
expect "GET /v1/placements (totals-only client)" 403 forbidden

req POST /v1/placements/search "$R" "{\"dossier_number\":\"$dossier\"}"
expect "POST /v1/placements/search" 200
req POST /v1/placements/search "$RSTAR" "{\"dossier_number\":\"$dossier\"}"
expect "POST /v1/placements/search (totals-only client)" 403 forbidden

req POST "/v1/placements/$id/move-in" "$W" '{"date":"2023-01-12"}' "$(key movein)"
expect "POST move-in" 200
req POST "/v1/placements/$id/move-in" "$W" '{"date":"2023-01-13"}'
expect "POST move-in (again)" 409 already_moved_in
req POST /v1/placements "$W" "{\"dossier_number\":\"$dossier\",\"birth_date\":\"1990-05-01\",\"municipality\":\"1480\",\"assigned_on\":\"2023-02-01\",\"moved_in_on\":\"2023-02-02\"}"
expect "POST /v1/placements (overlap)" 409 placement_overlap
req POST "/v1/placements/999999999999/move-in" "$W" '{"date":"2023-01-13"}'
expect "POST move-in (no such placement)" 404 not_found
req POST "/v1/placements/$id/move-in" "$R" '{"date":"2023-01-13"}'
expect "POST move-in (read role)" 403 forbidden
req POST "/v1/placements/$id/move-out" "$W" '{"date":"2023-01-11","reason":"own_housing"}'
expect "POST move-out (before the move-in)" 422 move_out_before_move_in
req POST "/v1/placements/$id/move-out" "$W" '{"date":"2023-09-30","reason":"own_housing"}'
expect "POST move-out" 200
req POST "/v1/placements/$id/move-out" "$W" '{"date":"2023-10-30","reason":"other"}'
expect "POST move-out (again)" 409 already_moved_out
req POST "/v1/placements/$id/move-in" "$W" '{"date":"2023-01-13"}'
expect "POST move-in (ended)" 409 placement_ended

req POST "/v1/placements/$id/corrections" "$W" '{"field":"moved_out_on","value":null,"reason":"recorded on the wrong person"}'
expect "POST corrections (moved_out_on null)" 200
req POST "/v1/placements/$id/corrections" "$W" '{"field":"moved_in_on","value":"2023-01-14","reason":"the letter of 2023-02-01"}'
expect "POST corrections (moved_in_on)" 200
req POST "/v1/placements/$id/corrections" "$W" '{"field":"former_uam","value":true,"reason":"Migrationsverket decision"}'
expect "POST corrections (former_uam)" 200
req POST "/v1/placements/$id/corrections" "$W" '{"field":"registered_on","value":"2024-03-01","reason":"folkbokförd"}'
expect "POST corrections (registered_on)" 200
req POST "/v1/placements/$id/corrections" "$W" '{"field":"moved_out_on","value":"2023-01-13","reason":"typo"}'
expect "POST corrections (move-out before move-in)" 422 move_out_before_move_in
# The same person placed in 1481 afterwards: 1481 keeps its own record of the person (sql/014).
req POST /v1/placements "$W81" "{\"dossier_number\":\"$dossier\",\"birth_date\":\"1990-05-01\",\"municipality\":\"1481\",\"assigned_on\":\"2024-06-01\"}"
expect "POST /v1/placements (same person, 1481)" 201
id81="$(json .id)"
req POST "/v1/placements/$id81/move-in" "$W81" '{"date":"2024-06-02"}'
expect "POST move-in (1481)" 200
req POST "/v1/placements/$id/corrections" "$W" '{"field":"birth_date","value":"1990-05-02","reason":"passport"}'
expect "POST corrections (shared person: 1480's own record)" 200
req POST "/v1/placements/$id/corrections" "$ADMIN" '{"field":"registered_on","value":"2024-07-01","reason":"late report"}'
expect "POST corrections (overlap with 1481, admin)" 409 placement_overlap
req POST "/v1/placements/$id/corrections" "$W" '{"field":"registered_on","value":"2024-07-01","reason":"late report"}'
expect "POST corrections (overlap elsewhere)" 409 placement_overlap_elsewhere
req GET "/v1/placements/$id81" "$W"
expect "GET /v1/placements/{id} (the other municipality's history)" 404 not_found
req GET "/v1/placements/$id81" "$ADMIN"
expect "GET /v1/placements/{id} (admin)" 200

req GET "/v1/placements/$id/accruals" "$W"
expect "GET /v1/placements/{id}/accruals" 200
req GET "/v1/placements/$id/accruals" "$W81"
expect "GET /v1/placements/{id}/accruals (another municipality's)" 404 not_found

# ---- rates
req GET /v1/rates "$RSTAR"
expect "GET /v1/rates" 200
rcode="$(json '.items[0].code')"
rfrom="$(json '.items[0].valid_from')"
req POST /v1/rates "$ADMIN" "{\"code\":\"$rcode\",\"valid_from\":\"$rfrom\",\"amount_ore\":1}"
expect "POST /v1/rates (row exists)" 409 rate_exists
req POST /v1/rates "$W" '{"code":"DAY_ADULT","valid_from":"2099-01-01","amount_ore":1}'
expect "POST /v1/rates (write role)" 403 forbidden

# ---- allocations (year 2100: never accrued by runs through the past)
req POST /v1/allocations "$ADMIN" '{"municipality":"0114","year":2100,"places":5,"decided_on":"2099-12-01"}' "$(key alloc)"
expect "POST /v1/allocations" 201
req POST /v1/allocations "$ADMIN" '{"municipality":"0114","year":2100,"places":3,"decided_on":"2099-12-01"}'
expect "POST /v1/allocations (a lower revision)" 201
req POST /v1/allocations "$ADMIN" '{"municipality":"0114","year":2100,"places":3,"decided_on":"2099-11-01"}'
expect "POST /v1/allocations (out of order)" 409 allocation_out_of_order
req POST /v1/allocations "$W" '{"municipality":"1481","year":2100,"places":3,"decided_on":"2099-11-01"}'
expect "POST /v1/allocations (another municipality)" 403 forbidden
req POST /v1/allocations "$ADMIN" '{"municipality":"0000","year":2100,"places":3,"decided_on":"2099-11-01"}'
expect "POST /v1/allocations (no such municipality)" 422 unknown_municipality
req GET "/v1/allocations?municipality=0114&year=2100" "$RSTAR"
expect "GET /v1/allocations" 200
req GET /v1/allocations "$W"
expect "GET /v1/allocations (own scope)" 200
req GET "/v1/allocations?municipality=1481" "$W"
expect "GET /v1/allocations (another municipality)" 403 forbidden

# ---- accrual runs
req POST /v1/accruals/run "$ADMIN" '{"through":"2099-12-31"}'
expect "POST /v1/accruals/run (not past)" 409 through_not_past
req POST /v1/accruals/run "$W" '{"through":"2023-01-31"}'
expect "POST /v1/accruals/run (write role)" 403 forbidden
req GET /v1/accruals/runs/999999999999 "$R"
expect "GET /v1/accruals/runs/{id} (none)" 404 not_found

# ---- ledger
req GET "/v1/ledger/entries?municipality=1480&limit=2" "$W"
expect "GET /v1/ledger/entries" 200
cursor="$(json .next_cursor)"
if [[ -n "$cursor" ]]; then
    req GET "/v1/ledger/entries?municipality=1480&limit=2&cursor=$cursor" "$W"
    expect "GET /v1/ledger/entries (next page)" 200
fi
req GET "/v1/ledger/entries?from=2023-01-01&to=2023-12-01&code=DAY_ADULT" "$R"
expect "GET /v1/ledger/entries (filters)" 200
req GET "/v1/ledger/entries?cursor=1.0000000000000000" "$R"
expect "GET /v1/ledger/entries (foreign cursor)" 400 invalid_cursor
req GET /v1/ledger/entries "$RSTAR"
expect "GET /v1/ledger/entries (totals-only client)" 403 forbidden
req GET /v1/municipalities/1480/balance "$R"
expect "GET balance" 200
req GET "/v1/municipalities/1480/balance?as_of=2024-01-31" "$W"
expect "GET balance?as_of=date" 200
req GET "/v1/municipalities/1480/balance?as_of=2024-01-31T12:00:00Z" "$ADMIN"
expect "GET balance?as_of=timestamp" 200
req GET /v1/municipalities/1481/balance "$RSTAR"
expect "GET balance (totals-only client)" 200
req GET /v1/municipalities/1481/balance "$W"
expect "GET balance (another municipality)" 403 forbidden

# ---- payments and reports (municipality 0114, which the other tests leave alone)
ref="OA-$stamp"
req POST /v1/payments "$ADMIN" "{\"municipality\":\"0114\",\"paid_on\":\"2099-02-25\",\"amount_ore\":1000,\"reference\":\"$ref-L\",\"lines\":[{\"dossier_number\":\"$dossier\",\"month\":\"2099-01\",\"code\":\"DAY_ADULT\",\"amount_ore\":700},{\"month\":\"2099-01\",\"code\":\"ALLOCATION_PLACE\",\"amount_ore\":300,\"dossier_number\":null}]}" "$(key pay)"
expect "POST /v1/payments (lines)" 201
req POST /v1/payments "$ADMIN" "{\"municipality\":\"0114\",\"paid_on\":\"2099-02-25\",\"amount_ore\":-500,\"reference\":\"$ref-S\",\"month\":\"2099-01\",\"lines\":null}"
expect "POST /v1/payments (lump sum)" 201
req POST /v1/payments "$ADMIN" "{\"municipality\":\"0114\",\"paid_on\":\"2099-02-25\",\"amount_ore\":1,\"reference\":\"$ref-M\",\"lines\":[{\"month\":\"2099-01\",\"code\":\"ALLOCATION_PLACE\",\"amount_ore\":2}]}"
expect "POST /v1/payments (lines do not sum)" 422 lines_sum_mismatch
req POST /v1/payments "$ADMIN" "{\"municipality\":\"0000\",\"paid_on\":\"2099-02-25\",\"amount_ore\":1,\"reference\":\"$ref-U\"}"
expect "POST /v1/payments (no such municipality)" 422 unknown_municipality
req POST /v1/payments "$W" "{\"municipality\":\"0114\",\"paid_on\":\"2099-02-25\",\"amount_ore\":1,\"reference\":\"$ref-F\"}"
expect "POST /v1/payments (another municipality)" 403 forbidden
req POST /v1/payments "$R" "{\"municipality\":\"1480\",\"paid_on\":\"2099-02-25\",\"amount_ore\":1,\"reference\":\"$ref-R\"}"
expect "POST /v1/payments (read role)" 403 forbidden

csv="municipality;dossier_number;month;code;amount_ore;paid_on;reference
0114;$dossier;2099-01;DAY_ADULT;900;2099-02-26;$ref-I
0114;;2099-01;ALLOCATION_PLACE;100;2099-02-26;$ref-I
"
CONTENT_TYPE="text/csv; charset=utf-8" req POST /v1/payments/import "$ADMIN" "$csv" "$(key import)"
expect "POST /v1/payments/import" 201
CONTENT_TYPE="text/csv; charset=utf-8" req POST /v1/payments/import "$ADMIN" "$csv"
expect "POST /v1/payments/import (the same file again)" 200
CONTENT_TYPE="text/csv" req POST /v1/payments/import "$ADMIN" "municipality;dossier_number;month;code;amount_ore;paid_on;reference
0114;;2099-13;DAY_ADULT;x;2099-02-30;$ref-B
"
expect "POST /v1/payments/import (bad lines)" 422 invalid_payment_list
CONTENT_TYPE="application/csv" req POST /v1/payments/import "$W" "$csv"
expect "POST /v1/payments/import (lines of another municipality)" 403 forbidden

req GET "/v1/reports/reconciliation?municipality=0114&month=2099-01" "$ADMIN"
expect "GET /v1/reports/reconciliation" 200
ACCEPT=text/csv req GET "/v1/reports/reconciliation?municipality=0114&month=2099-01&format=csv&as_known_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ADMIN"
expect "GET /v1/reports/reconciliation?format=csv" 200
req GET "/v1/reports/reconciliation?municipality=1480&month=2023-01&format=json" "$W"
expect "GET /v1/reports/reconciliation (own municipality)" 200
req GET "/v1/reports/reconciliation?municipality=1481&month=2023-01" "$W"
expect "GET /v1/reports/reconciliation (another municipality)" 403 forbidden
req GET "/v1/reports/reconciliation?municipality=1481&month=2023-01" "$RSTAR"
expect "GET /v1/reports/reconciliation (totals-only client)" 403 forbidden

ACCEPT=text/plain req GET "/v1/exports/sie?municipality=1480" "$W"
expect "GET /v1/exports/sie" 200
ACCEPT=text/plain req GET "/v1/exports/sie?municipality=0114&from=2020-01-01&to=2099-12-31&include=payments" "$ADMIN"
expect "GET /v1/exports/sie (payments)" 200
req GET "/v1/exports/sie?municipality=0000" "$ADMIN"
expect "GET /v1/exports/sie (no such municipality)" 404 not_found
req GET "/v1/exports/sie?municipality=1481" "$W"
expect "GET /v1/exports/sie (another municipality)" 403 forbidden

if ((ALL)); then
    # A real run, a new rate row and a database outage: they change what other tests see.
    yesterday="$(TZ=Europe/Stockholm date -d yesterday +%Y-%m-%d)"
    req POST /v1/accruals/run "$ADMIN" "{\"through\":\"$yesterday\"}" "$(key run)"
    expect "POST /v1/accruals/run" 200
    run="$(json .run_id)"
    req POST /v1/accruals/run "$ADMIN" '{"through":"2023-01-31"}'
    expect "POST /v1/accruals/run (before the latest)" 409 through_before_latest_run
    req GET "/v1/accruals/runs/$run" "$ADMIN"
    expect "GET /v1/accruals/runs/{id}" 200
    req GET "/v1/accruals/runs/$run" "$W"
    expect "GET /v1/accruals/runs/{id} (scoped)" 200
    req GET "/v1/placements/$id/accruals" "$W"
    expect "GET /v1/placements/{id}/accruals (after a run)" 200
    req GET "/v1/ledger/entries?municipality=1480&limit=3" "$W"
    expect "GET /v1/ledger/entries (after a run)" 200
    req GET /v1/municipalities/1480/balance "$W"
    expect "GET balance (after a run)" 200
    rfrom="$(date -d "2100-01-01 + $((RANDOM % 30000)) days" +%Y-%m-%d)"
    req POST /v1/rates "$ADMIN" "{\"code\":\"DAY_ADULT\",\"valid_from\":\"$rfrom\",\"amount_ore\":1,\"note\":\"proxy test\"}" "$(key rate)"
    expect "POST /v1/rates" 201
    # (No 413 here: prism re-serialises the JSON it forwards, and no valid body is that big.)
    if [[ -n "${RB_PG_STOP_CMD:-}" ]]; then
        eval "$RB_PG_STOP_CMD" >/dev/null 2>&1
        req GET /readyz ""
        expect "GET /readyz (database down)" 503
        req GET /v1/rates "$R"
        expect "GET /v1/rates (database down)" 503 database_unavailable
        eval "$RB_PG_START_CMD" >/dev/null 2>&1
        for _ in $(seq 100); do
            req GET /readyz ""
            [[ "$STATUS" == 200 ]] && break
            sleep 0.2
        done
        expect "GET /readyz (database back)" 200
    fi
fi

echo "$passed passed, $failed failed"
((failed == 0))
