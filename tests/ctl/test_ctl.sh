#!/usr/bin/env bash
# reimbursectl against the fixture's database: migrations are idempotent, clients and tokens
# behave (a revoked or rotated token stops working over HTTPS), and the indexed-rate tool rounds
# exactly as RULES.md §2 says (12 820 kr × 1.065, rounded to 10 kr, is 13 650 kr).
# Usage: test_ctl.sh REIMBURSECTL SQLDIR [INSTALLED_SQLDIR]   (with RB_FIXTURE set)
set -euo pipefail
ctl="$1"
sqldir="$2"
installed_sqldir="${3:-/usr/share/reimbursed/sql}"
while IFS= read -r line; do export "${line%%=*}=${line#*=}"; done <"$RB_FIXTURE/env"

# shellcheck source-path=SCRIPTDIR source=../tap.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
status_of() { # token path → HTTP status
    curl -s -o /dev/null -w '%{http_code}' --cacert "$RB_CA" -H "Authorization: Bearer $1" "$RB_URL$2"
}

out="$("$ctl" -c "$RB_CONF" migrate --sql-dir "$sqldir")"
check "migrate again applies nothing" grep -q "migrations: 0 applied" <<<"$out"

# migrate_from_build_tree: without --sql-dir (and without REIMBURSED_SQL_DIR), a build tree whose
# installed folder is absent uses the source tree's sql/, and says which folder it used.
nsql="$(find "$sqldir/schema" -maxdepth 1 -name '[0-9][0-9][0-9]_*.sql' | wc -l)"
if [[ -d "$installed_sqldir" ]]; then
    expect_dir="$installed_sqldir"
else
    expect_dir="$sqldir" # the same ${CMAKE_SOURCE_DIR}/sql the build knows
fi
rc=0
out="$(env -u REIMBURSED_SQL_DIR "$ctl" -c "$RB_CONF" migrate 2>&1)" || rc=$?
echo "# migrate without --sql-dir (exit $rc): $(tr '\n' ' ' <<<"$out")"
check "migrate_from_build_tree: migrate without --sql-dir succeeds" test "$rc" = 0
check "migrate_from_build_tree: it reads every migration of the folder" \
    grep -q "migrations: 0 applied, $nsql already present" <<<"$out"
check "migrate_from_build_tree: it names the folder it used ($expect_dir)" \
    grep -qF "migrations from $expect_dir" <<<"$out"

name="ctl-$$-$RANDOM"
out="$("$ctl" -c "$RB_CONF" client add --name "$name" --role read --scope 1480)"
token="$(tail -n 1 <<<"$out")"
check "client add prints the token alone on the last line" \
    grep -Eq '^rb_[A-Za-z0-9_-]{43}$' <<<"$token"
check "the new token reads its municipality" test "$(status_of "$token" /v1/placements)" = 200
rc=0
"$ctl" -c "$RB_CONF" client add --name "$name" --role read --scope 1480 >/dev/null 2>&1 || rc=$?
check "adding the same name again exits 3" test "$rc" = 3
rc=0
"$ctl" -c "$RB_CONF" client add --name "x$name" --role read --scope 9999 >/dev/null 2>&1 || rc=$?
check "an unknown municipality scope is refused" test "$rc" = 2
new="$("$ctl" -c "$RB_CONF" client rotate --name "$name" | tail -n 1)"
check "rotate gives a new token" test "$new" != "$token"
check "the old token no longer works" test "$(status_of "$token" /v1/placements)" = 401
check "the rotated token works" test "$(status_of "$new" /v1/placements)" = 200
"$ctl" -c "$RB_CONF" client revoke --name "$name" >/dev/null
check "a revoked token gets 401" test "$(status_of "$new" /v1/placements)" = 401
# The daemon caches token → client; a revoked token must still get 401 at once, whether the
# request would next have been refused by the daemon itself (403, 400) or written something.
post_status() { # token path body → HTTP status
    curl -s -o /dev/null -w '%{http_code}' --cacert "$RB_CA" -H "Authorization: Bearer $1" \
        -d "$3" "$RB_URL$2"
}
for case in forbidden invalid write; do
    cname="$name-$case"
    ctoken="$("$ctl" -c "$RB_CONF" client add --name "$cname" --role write --scope 1480 | tail -n 1)"
    status_of "$ctoken" /v1/placements >/dev/null # now cached
    "$ctl" -c "$RB_CONF" client revoke --name "$cname" >/dev/null
    dossier="CACHE-$$-$RANDOM-$case"
    case "$case" in
    forbidden) body="{\"dossier_number\":\"$dossier\",\"birth_date\":\"2001-01-01\",\"municipality\":\"1481\",\"assigned_on\":\"2024-01-10\"}" ;;
    invalid) body='{"dossier_number":' ;;
    write) body="{\"dossier_number\":\"$dossier\",\"birth_date\":\"2001-01-01\",\"municipality\":\"1480\",\"assigned_on\":\"2024-01-10\"}" ;;
    esac
    check "a cached, then revoked token gets 401, not the $case answer" \
        test "$(post_status "$ctoken" /v1/placements "$body")" = 401
done
found="$(curl -s --cacert "$RB_CA" -H "Authorization: Bearer $RB_TOKEN_ADMIN" \
    -d "{\"dossier_number\":\"$dossier\"}" "$RB_URL/v1/placements/search")"
check "nothing was written with the revoked cached token" \
    python3 -c "import json,sys; sys.exit(0 if not json.loads(sys.argv[1]).get('items') else 1)" "$found"
check "client list shows the revoked client" \
    grep -Eq "^$name +read +1480 .* revoked( |$)" <<<"$("$ctl" -c "$RB_CONF" client list)"
check "client list never shows a token or its hash" \
    bash -c "! '$ctl' -c '$RB_CONF' client list | grep -Eq 'rb_|[0-9a-f]{64}'"

# Indexed rate, on far-future rows so no accrual in the tests is affected.
year=$((2200 + RANDOM % 700))
code=ALLOCATION_PLACE
body="{\"code\":\"$code\",\"valid_from\":\"$year-01-01\",\"amount_ore\":1282000,\"note\":\"test base\"}"
st="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$RB_CA" -H "Authorization: Bearer $RB_TOKEN_ADMIN" \
    -H "Idempotency-Key: ctl-rate-$$-1-$RANDOM" -d "$body" "$RB_URL/v1/rates")"
check "a base rate row of 12 820 kr is recorded" test "$st" = 201
out="$("$ctl" -c "$RB_CONF" rates index --code "$code" --from "$year-07-01" --factor 1.065 --round 10)"
echo "# $out"
check "12 820 kr × 1.065 rounded to 10 kr is 13 650 kr" \
    grep -q "^$code from $year-07-01: 1365000 öre" <<<"$out"
rates="$(curl -s --cacert "$RB_CA" -H "Authorization: Bearer $RB_TOKEN_ADMIN" "$RB_URL/v1/rates")"
check "the schedule derives valid_to from the next row" \
    python3 -c "import json,sys; r=[x for x in json.loads(sys.argv[1])['items'] if x['code']=='$code' and x['valid_from']=='$year-01-01'][0]; sys.exit(0 if r['valid_to']=='$year-07-01' else 1)" "$rates"
rc=0
"$ctl" -c "$RB_CONF" rates index --code "$code" --from "$year-07-01" --factor 1.065 --round 10 \
    >/dev/null 2>&1 || rc=$?
check "the same row twice is refused (exit 3)" test "$rc" = 3
st="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$RB_CA" -H "Authorization: Bearer $RB_TOKEN_ADMIN" \
    -H "Idempotency-Key: ctl-rate-$$-2-$RANDOM" -d "$body" "$RB_URL/v1/rates")"
check "POST /v1/rates with an existing code and valid_from is 409" test "$st" = 409
st="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$RB_CA" -H "Authorization: Bearer $RB_TOKEN_W1480" \
    -H "Idempotency-Key: ctl-rate-$$-3-$RANDOM" -d "$body" "$RB_URL/v1/rates")"
check "a write client may not add rates (403)" test "$st" = 403

tap_end
