#!/usr/bin/env bash
# tests/integration/test_tenancy.sh — the database keeps municipalities apart even when the SQL
# "forgets" to (RULES.md §5 and §7): row-level security with FORCE ROW LEVEL SECURITY, keyed on
# the transaction-local setting reimbursed.scope, for the daemon's own database role.
#
# Reads $RB_FIXTURE/env (written by tests/fixture/up.sh) and the daemon's configuration ($RB_CONF,
# else the env file's RB_CONF): its `db = ...` line is the daemon role's conninfo, used with psql.
# First creates data in 1480 and 1481 through the API (placements with Idempotency-Keys,
# allocations, an accrual run, then more placements so the accrual queue holds rows), then, as the
# daemon's role:
#   - with scope 1480, `SELECT count(*) FROM T WHERE municipality <> '1480'` is 0 while the same
#     count with scope '*' is > 0, and 1480's own rows are visible, for every table with
#     municipality data; with no scope set at all every count is 0;
#   - UPDATE, DELETE and TRUNCATE of postings and journal fail; an unbalanced journal cannot be
#     committed; rows of another municipality cannot be written under a municipality's scope;
#   - the role owns no table, and every such table forces row-level security.
# Prints `ok N - name` / `not ok N - name: why`, then `P passed, F failed`; exits non-zero when
# any check failed.
set -euo pipefail

die() {
    echo "not ok 1 - setup: $*"
    echo "0 passed, 1 failed"
    exit 1
}

[[ -n "${RB_FIXTURE:-}" ]] || die "RB_FIXTURE is not set"
ENVFILE="$RB_FIXTURE/env"
[[ -r "$ENVFILE" ]] || die "cannot read $ENVFILE"
# The env file is KEY=VALUE lines, not shell: values may hold spaces. Read it, never source it.
envval() {
    sed -n "s/^$1=//p" "$ENVFILE" | head -n 1
}
URL="$(envval RB_URL)"
CA="$(envval RB_CA)"
ADMIN="$(envval RB_TOKEN_ADMIN)"
W1480="$(envval RB_TOKEN_W1480)"
W1481="$(envval RB_TOKEN_W1481)"
CONF="${RB_CONF:-$(envval RB_CONF)}"
for v in URL CA ADMIN W1480 W1481 CONF; do
    [[ -n "${!v}" ]] || die "$v is missing from $ENVFILE"
done
[[ -r "$CONF" ]] || die "cannot read the daemon configuration $CONF"
DB="$(sed -n 's/^[[:space:]]*db[[:space:]]*=[[:space:]]*//p' "$CONF" | head -n 1)"
DB="${DB%"${DB##*[![:space:]]}"}"
[[ -n "$DB" ]] || die "no 'db = ...' line in $CONF"
command -v psql >/dev/null || die "psql not found"
command -v curl >/dev/null || die "curl not found"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# shellcheck source-path=SCRIPTDIR source=../tap.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

# ---- the API

CODE=""
BODY=""
# api METHOD PATH TOKEN [BODY [IDEMPOTENCY-KEY]]: sets CODE and BODY.
api() {
    local args=(-sS --cacert "$CA" -X "$1" -o "$TMP/body" -w '%{http_code}'
        -H "Authorization: Bearer $3" -H 'Expect:')
    if [[ $# -ge 4 ]]; then
        args+=(-H 'Content-Type: application/json; charset=utf-8' --data-binary "$4")
    fi
    if [[ $# -ge 5 ]]; then
        args+=(-H "Idempotency-Key: $5")
    else
        case "$1:$2" in # writes that move money need an Idempotency-Key (428 without)
        POST:/v1/payments | POST:/v1/payments/import | POST:/v1/allocations | POST:/v1/rates | POST:/v1/accruals/run) args+=(-H "Idempotency-Key: tenancy-$$-$RANDOM$RANDOM-$SECONDS") ;;
        esac
    fi
    CODE="$(curl "${args[@]}" "$URL$2" 2>"$TMP/curl.err")" || CODE="000 $(cat "$TMP/curl.err")"
    BODY="$(cat "$TMP/body" 2>/dev/null || true)"
}

# The first "id" string of a JSON body (a placement's own id comes first).
first_id() {
    grep -o '"id" *: *"[0-9]*"' <<<"$1" | head -n 1 | grep -o '[0-9][0-9]*' || true
}

rand_digits() {
    od -An -N8 -tu8 /dev/urandom | tr -dc '0-9' | cut -c1-10
}

# placement TOKEN MUNICIPALITY: a placement that moved in 2024-01-10; prints its id.
placement() {
    local body
    body="{\"dossier_number\":\"TN$(rand_digits)\",\"birth_date\":\"1990-02-02\","
    body+="\"municipality\":\"$2\",\"assigned_on\":\"2024-01-10\",\"moved_in_on\":\"2024-01-10\"}"
    api POST /v1/placements "$1" "$body" "tenancy-$(rand_digits)-$(rand_digits)"
    if [[ "$CODE" != 201 ]]; then
        echo "POST /v1/placements for $2: HTTP $CODE: $BODY" >&2
        return 1
    fi
    first_id "$BODY"
}

# ---- SQL as the daemon's role

# sql SCOPE QUERY: the query's single value, inside one transaction that first sets the scope
# (transaction-local, as the daemon does); SCOPE "-" sets no scope at all. Non-zero on error, the
# error on stdout.
sql() {
    local scope="$1" query="$2"
    if [[ "$scope" == "-" ]]; then
        psql "$DB" -X -Atq -v ON_ERROR_STOP=1 -c "$query" 2>&1
    else
        psql "$DB" -X -Atq -v ON_ERROR_STOP=1 -v scope="$scope" 2>&1 <<SQL
BEGIN;
SELECT set_config('reimbursed.scope', :'scope', true) AS scope_set \gset
$query;
COMMIT;
SQL
    fi
}

# check_value NAME SCOPE QUERY TEST: TEST is a bash arithmetic test on the value v, e.g. 'v == 0'.
check_value() {
    local name="$1" scope="$2" query="$3" test="$4" out
    if ! out="$(sql "$scope" "$query")"; then
        notok "$name" "psql failed: $out"
        return
    fi
    if [[ ! "$out" =~ ^[0-9]+$ ]]; then
        notok "$name" "not a count: $out"
        return
    fi
    local v="$out"
    # shellcheck disable=SC2004 # $test is an expression over v
    if (($test)); then
        ok "$name ($v)"
    else
        notok "$name" "got $v, expected $test (scope $scope: $query)"
    fi
}

# must_fail NAME SCOPE STATEMENTS: the statements (and the commit) must raise an error.
must_fail() {
    local name="$1" scope="$2" query="$3" out
    if out="$(sql "$scope" "$query")"; then
        notok "$name" "succeeded (output: $out)"
    elif grep -q "ERROR" <<<"$out"; then
        ok "$name ($(grep -m1 ERROR <<<"$out" | cut -c1-120))"
    else
        notok "$name" "failed without a database error: $out"
    fi
}

# ---- data in two municipalities

if ! ID1480="$(placement "$W1480" 1480)" || ! ID1481="$(placement "$W1481" 1481)"; then
    die "cannot create placements"
fi
[[ -n "$ID1480" && -n "$ID1481" ]] || die "no placement id in the API's answer"
year=$((2030 + $(rand_digits | cut -c1-4 | sed 's/^0*//;s/^$/0/') % 70))
for pair in "1480 $W1480" "1481 $W1481"; do
    read -r muni token <<<"$pair"
    api POST /v1/allocations "$token" \
        "{\"municipality\":\"$muni\",\"year\":$year,\"places\":3,\"decided_on\":\"2024-01-15\"}"
    # 409: an earlier run already decided for that year later in 2024; its rows serve as well.
    [[ "$CODE" == 201 || "$CODE" == 409 ]] || die "POST /v1/allocations for $muni: HTTP $CODE: $BODY"
done
if ! latest="$(sql - "SELECT coalesce(max(through)::text, '') FROM accrual_runs WHERE status = 'done'")"; then
    die "cannot read the latest accrual run: $latest"
fi
through="2024-06-30"
if [[ -n "$latest" && "$latest" > "$through" ]]; then
    through="$latest"
fi
api POST /v1/accruals/run "$ADMIN" "{\"through\":\"$through\"}"
[[ "$CODE" == 200 ]] || die "POST /v1/accruals/run through $through: HTTP $CODE: $BODY"
# Facts after the run: queued for the next one, in both municipalities.
if ! placement "$W1480" 1480 >/dev/null || ! placement "$W1481" 1481 >/dev/null; then
    die "cannot create placements after the run"
fi
echo "# placements $ID1480 (1480) and $ID1481 (1481); accrued through $through"

# ---- row-level security

TABLES=(placements placement_events idempotency_keys allocations accrual_dirty journal postings
    person_records)
for t in "${TABLES[@]}"; do
    check_value "$t: scope 1480 sees no other municipality's rows" 1480 \
        "SELECT count(*) FROM $t WHERE municipality <> '1480'" 'v == 0'
    check_value "$t: scope * sees other municipalities' rows" '*' \
        "SELECT count(*) FROM $t WHERE municipality <> '1480'" 'v > 0'
    check_value "$t: scope 1480 sees its own rows" 1480 \
        "SELECT count(*) FROM $t WHERE municipality = '1480'" 'v > 0'
    check_value "$t: no scope set sees nothing" - "SELECT count(*) FROM $t" 'v == 0'
    check_value "$t: an empty scope sees nothing" '' "SELECT count(*) FROM $t" 'v == 0'
done
check_value "scope 1480 does not find 1481's placement by id" 1480 \
    "SELECT count(*) FROM placements WHERE id = $ID1481" 'v == 0'
check_value "scope 1481 finds 1481's placement by id" 1481 \
    "SELECT count(*) FROM placements WHERE id = $ID1481" 'v == 1'
check_value "scope 1480 sees no person housed only in 1481" 1480 \
    "SELECT count(*) FROM persons per JOIN placements p ON p.person_id = per.id WHERE p.id = $ID1481" \
    'v == 0'
check_value "the daemon's role owns no table" - \
    "SELECT count(*) FROM pg_tables WHERE schemaname IN ('public', 'api') AND tableowner = current_user" \
    'v == 0'
joined="$(IFS=,; echo "${TABLES[*]}")"
list="'${joined//,/\',\'}'"
check_value "every table with municipality data forces row-level security" - \
    "SELECT count(*) FROM pg_class WHERE relname IN ($list) AND relkind = 'r' AND relrowsecurity AND relforcerowsecurity" \
    "v == ${#TABLES[@]}"
check_value "a correction kept on the person (person_corrections) forces row-level security" - \
    "SELECT count(*) FROM pg_class WHERE relname = 'person_corrections' AND relkind = 'r' AND relrowsecurity AND relforcerowsecurity" \
    'v == 1'
check_value "the shared person row holds no municipality's facts" - \
    "SELECT count(*) FROM information_schema.columns WHERE table_name = 'persons' AND column_name IN ('birth_date', 'former_uam')" \
    'v == 0'

# ---- the ledger is append-only and balanced, for the daemon's role

last_journal="(SELECT max(journal_id) FROM postings)"
must_fail "UPDATE postings fails" '*' \
    "UPDATE postings SET amount_ore = amount_ore + 1 WHERE journal_id = $last_journal"
must_fail "DELETE FROM postings fails" '*' "DELETE FROM postings WHERE journal_id = $last_journal"
must_fail "TRUNCATE postings fails" '*' "TRUNCATE postings"
must_fail "UPDATE journal fails" '*' \
    "UPDATE journal SET cause = 'changed' WHERE id = (SELECT max(id) FROM journal)"
must_fail "DELETE FROM journal fails" '*' "DELETE FROM journal WHERE id = (SELECT max(id) FROM journal)"
must_fail "TRUNCATE journal fails" '*' "TRUNCATE journal"
must_fail "an unbalanced journal cannot be committed" 1480 \
    "INSERT INTO journal (kind, cause, municipality, service_month)
         VALUES ('accrual', 'tenancy test: unbalanced', '1480', '2024-01-01') RETURNING id AS jid \\gset
     INSERT INTO postings (journal_id, kind, account, municipality, month, code, amount_ore)
         VALUES (:jid, 'accrual', 'receivable', '1480', '2024-01-01', 'MOVE_IN', 1)"
must_fail "scope 1480 cannot write a journal for 1481" 1480 \
    "INSERT INTO journal (kind, cause, municipality, service_month)
         VALUES ('accrual', 'tenancy test: foreign', '1481', '2024-01-01')"
must_fail "scope 1480 cannot write an event for 1481" 1480 \
    "INSERT INTO placement_events (placement_id, municipality, type, reason)
         VALUES ($ID1481, '1481', 'correction', 'tenancy test')"
must_fail "scope 1480 cannot move 1480's placement to 1481" 1480 \
    "UPDATE placements SET municipality = '1481' WHERE id = $ID1480"
check_value "scope 1480 updates no 1481 placement" 1480 \
    "WITH u AS (UPDATE placements SET updated_at = updated_at WHERE id = $ID1481 RETURNING 1) SELECT count(*) FROM u" \
    'v == 0'
check_value "no journal of the failed attempts was kept" '*' \
    "SELECT count(*) FROM journal WHERE cause LIKE 'tenancy test%'" 'v == 0'

tap_end
