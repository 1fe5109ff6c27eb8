#!/usr/bin/env bash
# ops/backup and ops/restore: a throwaway cluster gets the schema, placements in three
# municipalities, an allocation and an accrual run; it is backed up, restored into a second fresh
# cluster (roles and an empty database made first, as the runbook says), and the two must agree:
# balances per municipality, postings (count, receivable sum, a digest of every row), journal,
# placements and events, migrations; grants and forced row-level security survive; a second
# restore into the now non-empty database and a damaged file are refused.
#
# usage: test_backup.sh SRCDIR REIMBURSECTL      (as root or as a user who may run initdb)
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 SRCDIR REIMBURSECTL" >&2
    exit 2
fi
SRC="$(cd "$1" && pwd -P)"
CTL="$(readlink -f "$2")"
# shellcheck source-path=SCRIPTDIR source=../../ops/lib.sh disable=SC1091
source "$SRC/ops/lib.sh"
for cmd in psql pg_dump pg_restore sha256sum "$RB_PG_BIN/initdb" "$RB_PG_BIN/pg_ctl"; do
    command -v "$cmd" >/dev/null 2>&1 || rb_die "$cmd not found (run ops/test or rb_install_deps)"
done
[[ -x "$CTL" ]] || rb_die "reimbursectl not found at $CTL"

# shellcheck source-path=SCRIPTDIR source=../tap.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
same() { # NAME A B: A and B are equal (and not empty)
    local name="$1"
    if [[ -n "$2" && "$2" == "$3" ]]; then
        check "$name" true
    else
        echo "#   before: ${2:-<empty>}"
        echo "#   after:  ${3:-<empty>}"
        check "$name" false
    fi
}

# ---- two clusters, A (source) and B (restore target), under one temp folder
base="$(mktemp -d /tmp/rbbk.XXXXXX)"
chmod 0755 "$base"
clusters=()
cleanup() {
    local c
    for c in "${clusters[@]}"; do
        # shellcheck disable=SC2086 # "DATA SOCK PORT"
        if rb_pg_use $c; then
            rb_pg_stop || true
        fi
    done
    rm -rf -- "$base"
}
trap cleanup EXIT

# new_cluster NAME — initdb, start, roles and the empty database; leaves it selected and
# writes $base/NAME.conf (db and db_admin keys, as reimbursectl and ops/backup read them).
new_cluster() {
    local port
    port="$(rb_free_port)"
    rb_pg_mkdir "$base/$1"
    RB_PG_FAST=1 rb_pg_init "$base/$1/data" "$base/$1/s" "$port" >/dev/null
    clusters+=("$base/$1/data $base/$1/s $port")
    rb_pg_start
    rb_pg_setup_db
    rb_write_config "$base/$1.conf" "db=$(rb_conninfo reimbursed_app)" "db_admin=$(rb_conninfo reimbursed)"
}
use_cluster() { # NAME
    local c
    for c in "${clusters[@]}"; do
        if [[ "$c" == "$base/$1/data "* ]]; then
            # shellcheck disable=SC2086
            rb_pg_use $c
            return 0
        fi
    done
    rb_die "no cluster $1"
}
owner_sql() { # SQL... — as the owner role with every municipality in scope; unaligned output
    local a=() s
    for s in "$@"; do
        a+=(-c "$s")
    done
    psql -X -q -A -t -v ON_ERROR_STOP=1 "$(rb_conninfo reimbursed)" \
        -c "SELECT set_config('reimbursed.scope', '*', false)" "${a[@]}" | sed 1d
}

new_cluster a
"$CTL" -c "$base/a.conf" migrate --sql-dir "$SRC/sql" >/dev/null
"$CTL" -c "$base/a.conf" client add --name bk-admin --role admin --scope '*' >/dev/null
client="$(owner_sql "SELECT id FROM clients WHERE name = 'bk-admin'")"

# ---- facts: placements in 1480, 1481 and 1462 (children, adults, a former UAM, a move-out,
# one never moved in), an allocation; then the accrual through a fixed past day.
post() { # OP JSON → the status
    owner_sql "SELECT status FROM api.post('$1', $client, '*', NULL, NULL, '$2'::jsonb)"
}
n=0
created=0
for spec in \
    '1480 2023-01-10 2023-01-12 1990-05-01 false' \
    '1480 2023-02-01 2023-02-01 2010-07-15 false' \
    '1480 2023-03-05 2023-03-09 2005-04-20 true' \
    '1481 2023-01-20 2023-01-25 1985-11-30 false' \
    '1481 2023-04-01 - 1979-02-28 false' \
    '1462 2023-02-14 2023-02-14 2008-02-29 false'; do
    read -r muni assigned moved birth uam <<<"$spec"
    n=$((n + 1))
    moved_in=""
    [[ "$moved" == - ]] || moved_in=",\"moved_in_on\":\"$moved\""
    st="$(post placement_create "{\"dossier_number\":\"90000000$n\",\"birth_date\":\"$birth\",\"former_uam\":$uam,\"municipality\":\"$muni\",\"assigned_on\":\"$assigned\"$moved_in}")"
    [[ "$st" == 201 ]] && created=$((created + 1))
done
check "six placements are created" test "$created" = 6
first="$(owner_sql "SELECT min(id) FROM placements")"
check "a move-out is recorded" \
    test "$(post placement_move_out "{\"id\":$first,\"date\":\"2023-05-17\",\"reason\":\"other_municipality\"}")" = 200
check "an allocation is recorded" \
    test "$(post allocation_create '{"municipality":"1480","year":2023,"places":40,"decided_on":"2023-01-05"}')" = 201
out="$("$CTL" -c "$base/a.conf" accrue --through 2023-06-30)"
check "the accrual run through 2023-06-30 succeeds" grep -q '"lines_posted"' <<<"$out"

# What must survive: balances (a fixed as_of, so the bodies compare as text) and row digests.
AS_OF="2100-01-01T00:00:00Z"
snapshot() {
    local m
    for m in 1480 1481 1462; do
        owner_sql "SELECT body FROM api.balance('*', '$m', '$AS_OF')"
    done
}
ledger() {
    owner_sql "SELECT count(*) || ' postings, receivable ' || coalesce(sum(amount_ore) FILTER (WHERE account = 'receivable'), 0)
                      || ', total ' || sum(amount_ore) || ', abs ' || sum(abs(amount_ore))
                      || ', md5 ' || md5(string_agg(p::text, '|' ORDER BY p.id)) FROM postings p"
}
facts() {
    owner_sql "SELECT (SELECT count(*) FROM journal) || ' journals, '
                   || (SELECT count(*) FROM placements) || ' placements, '
                   || (SELECT count(*) FROM placement_events) || ' events, '
                   || (SELECT count(*) FROM persons) || ' persons, '
                   || (SELECT count(*) FROM allocations) || ' allocations, '
                   || (SELECT count(*) FROM accrual_runs) || ' runs, '
                   || (SELECT count(*) FROM clients) || ' clients, '
                   || (SELECT md5(string_agg(pl::text, '|' ORDER BY pl.id)) FROM placements pl)"
}
bal_a="$(snapshot)"
ledger_a="$(ledger)"
facts_a="$(facts)"
echo "# before: $ledger_a"
echo "# before: $facts_a"
check "the source ledger has postings" grep -Eq '^[1-9][0-9]* postings' <<<"$ledger_a"
check "the source balance of 1480 owes something" \
    python3 -c 'import json,sys; b=json.loads(sys.argv[1].splitlines()[0]); sys.exit(0 if b["owed_ore"] > 0 else 1)' "$bal_a"

# ---- backup
dump="$base/reimbursed.pgc"
out="$("$SRC/ops/backup" -c "$base/a.conf" "$dump")"
echo "# $out"
check "ops/backup writes the dump" test -s "$dump"
check "ops/backup prints the size" grep -q " $(stat -c %s "$dump") bytes" <<<"$out"
check "ops/backup prints the sha256" grep -q "sha256 $(sha256sum "$dump" | cut -d ' ' -f 1)" <<<"$out"
check "the .sha256 file verifies with sha256sum -c" bash -c "cd '$base' && sha256sum -c --quiet reimbursed.pgc.sha256"
check "the dump is readable only by its owner" test "$(stat -c %a "$dump")" = 600
rc=0
"$SRC/ops/backup" -c "$base/a.conf" "$dump" >/dev/null 2>&1 || rc=$?
check "ops/backup never overwrites a backup" test "$rc" = 1

# ---- restore into a second, fresh cluster
new_cluster b
rc=0
out="$("$SRC/ops/restore" -c "$base/b.conf" "$dump" 2>&1)" || rc=$?
printf '# %s\n' "${out//$'\n'/$'\n'# }"
check "ops/restore succeeds" test "$rc" = 0
check "ops/restore says it verified the checksum" grep -q "sha256 .* matches" <<<"$out"
same "balances per municipality are the same" "$bal_a" "$(snapshot)"
same "postings are the same (count, sums, every row)" "$ledger_a" "$(ledger)"
same "journal, placements, events, persons, allocations, runs, clients are the same" "$facts_a" "$(facts)"
check "the restored schema needs no migration" \
    grep -q "migrations: 0 applied" <<<"$("$CTL" -c "$base/b.conf" migrate --sql-dir "$SRC/sql")"
check "the tables belong to the owner role again" \
    test "$(owner_sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> 'reimbursed'")" = 0
check "row-level security is still forced" \
    test "$(owner_sql "SELECT bool_and(relrowsecurity AND relforcerowsecurity) FROM pg_class WHERE relname IN ('placements', 'postings', 'journal', 'persons')")" = t
app() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$(rb_conninfo reimbursed_app)" "$@"; }
check "the daemon's role sees nothing without a scope" \
    test "$(app -c "SELECT count(*) FROM placements")" = 0
check "the daemon's role keeps its grants (balance of 1480 in its scope)" \
    test "$(app -c "SELECT status FROM api.balance('1480', '1480', '$AS_OF')")" = 200
check "a further accrual run on the restored database posts nothing new" \
    grep -Eq '"lines_posted" *: *0 *[,}]' <<<"$("$CTL" -c "$base/b.conf" accrue --through 2023-06-30)"

rc=0
"$SRC/ops/restore" -c "$base/b.conf" "$dump" >/dev/null 2>&1 || rc=$?
check "a restore into a database that is not empty is refused" test "$rc" = 1
same "... and leaves it as it was" "$ledger_a" "$(ledger)"

# A damaged copy (one byte changed, the checksum file beside it) is refused before any change.
use_cluster b
rb_psql -d postgres -c "CREATE DATABASE reimbursed2 OWNER reimbursed"
sed "s/dbname=reimbursed /dbname=reimbursed2 /" "$base/b.conf" >"$base/b2.conf"
cp "$dump" "$base/damaged.pgc"
cp "$dump.sha256" "$base/damaged.pgc.sha256"
size="$(stat -c %s "$base/damaged.pgc")"
printf '\xff' | dd of="$base/damaged.pgc" bs=1 seek=$((size / 2)) conv=notrunc status=none
rc=0
out="$("$SRC/ops/restore" -c "$base/b2.conf" "$base/damaged.pgc" 2>&1)" || rc=$?
check "a damaged backup is refused by its checksum" grep -q "does not match" <<<"$out"
check "... with exit status 1" test "$rc" = 1
check "... and nothing is restored" \
    test "$(rb_psql -d reimbursed2 -A -t -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" = 0
# A truncated copy without a checksum file fails inside pg_restore (or its --list check), in
# one rolled-back transaction.
head -c $((size * 2 / 3)) "$dump" >"$base/truncated.pgc"
rc=0
"$SRC/ops/restore" -c "$base/b2.conf" "$base/truncated.pgc" >/dev/null 2>&1 || rc=$?
check "a truncated backup without checksum fails" test "$rc" = 1
check "... and leaves the database empty" \
    test "$(rb_psql -d reimbursed2 -A -t -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" = 0

echo "$pass passed, $fail failed"
[[ "$fail" == 0 ]]
