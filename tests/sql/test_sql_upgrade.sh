#!/usr/bin/env bash
# sql_upgrade: a database migrated with the flat sql/NNN_*.sql files of before issue 14 (each
# file recorded with its digest, as reimbursectl did) upgrades with `reimbursectl migrate` to the
# sql/schema + sql/api layout and ends with exactly the schema of a fresh database (pg_dump
# --schema-only: tables, functions, views, policies, triggers, grants), from the last old
# migration (016) and from part way (013, with a person placed, so that 014's data migration
# runs). The old files come from git history; without it the test is skipped (exit 77).
# Usage: test_sql_upgrade.sh SRCDIR REIMBURSECTL
set -euo pipefail
src="$(cd "$1" && pwd -P)"
ctl="$2"
old_commit=da15ef3bfa8200da06804eca33f39c72d0b1bb24 # i14-layout: the last flat sql/ folder
# shellcheck source-path=SCRIPTDIR source=../../ops/lib.sh
source "$src/ops/lib.sh"

if ! git -C "$src" cat-file -e "$old_commit:sql/001_core.sql" 2>/dev/null; then
    echo "# skipped: git history with $old_commit is not available"
    exit 77
fi

base="$(mktemp -d /tmp/rb-sqlup.XXXXXX)"
chmod 0755 "$base"
cleanup() {
    rb_pg_stop || true
    rm -rf "$base"
}
trap cleanup EXIT
rb_pg_init "$base/data" "$base/s" "$(rb_free_port)"
rb_pg_start
rb_pg_setup_db

# shellcheck source-path=SCRIPTDIR source=../tap.sh
source "$src/tests/tap.sh"

mkdir "$base/old"
git -C "$src" ls-tree --name-only "$old_commit" sql/ | while read -r f; do
    git -C "$src" show "$old_commit:$f" >"$base/old/$(basename "$f")"
done

conf() { # DB → a reimbursectl configuration for it
    printf 'db=host=%s port=%s dbname=%s user=reimbursed_app\n' "$RB_PG_SOCK" "$RB_PG_PORT" "$1"
    printf 'db_admin=host=%s port=%s dbname=%s user=reimbursed\n' "$RB_PG_SOCK" "$RB_PG_PORT" "$1"
}
migrate() { # DB → runs the new reimbursectl migrate on it
    conf "$1" >"$base/$1.conf"
    "$ctl" -c "$base/$1.conf" migrate --sql-dir "$src/sql" 2>&1
}
old_migrate() { # DB LAST → applies the old files up to LAST and records them as the old ctl did
    rb_psql -d "$1" -c "CREATE TABLE schema_migrations (version text PRIMARY KEY,
        name text NOT NULL, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
        ALTER TABLE schema_migrations OWNER TO reimbursed"
    local f n
    for f in "$base"/old/[0-9][0-9][0-9]_*.sql; do
        n="$(basename "$f")"
        [[ "$n" > "$2" ]] && break
        psql -X -q -h "$RB_PG_SOCK" -p "$RB_PG_PORT" -U reimbursed -d "$1" -v ON_ERROR_STOP=1 \
            -1 -f "$f" >/dev/null
        rb_psql -d "$1" -c "INSERT INTO schema_migrations (version, name, sha256)
            VALUES ('${n:0:3}', '$n', '$(sha256sum <"$f" | cut -d' ' -f1)')"
    done
}
schema_of() { # DB → its schema as pg_dump prints it, without the session's random \restrict key
    pg_dump -h "$RB_PG_SOCK" -p "$RB_PG_PORT" -U "$(rb_pg_user)" --schema-only "$1" |
        grep -v '^\\\(un\)\?restrict '
}
records_of() { # DB → the recorded migrations
    rb_psql -d "$1" -At -c "SELECT version, name, sha256 FROM schema_migrations ORDER BY version"
}

for db in fresh whole part; do
    rb_psql -d postgres -c "CREATE DATABASE $db OWNER reimbursed"
done

out="$(migrate fresh)"
check "a fresh database migrates" grep -q "migrations: 16 applied, 0 already present" <<<"$out"
out="$(migrate fresh)"
check "migrating it again applies no migration and re-applies the api files" \
    grep -q "migrations: 0 applied, 16 already present" <<<"$out"

old_migrate whole 016_stream_reads.sql
out="$(migrate whole)" || true
tap_comment "$out"
check "a database at the old 016 upgrades: its records take the new digests" \
    grep -q "re-recorded 003_api.sql" <<<"$out"
check "... and it applies only the new migration" \
    grep -q "migrations: 1 applied, 15 already present" <<<"$out"
check "... and ends with the fresh database's schema" \
    diff <(schema_of fresh) <(schema_of whole)
check "... and the fresh database's records" diff <(records_of fresh) <(records_of whole)

old_migrate part 013_idempotency.sql
rb_psql -d part -c "INSERT INTO persons (dossier_number, birth_date) VALUES ('D-1', '2010-01-02');
    INSERT INTO placements (person_id, municipality, assigned_on)
        SELECT id, '0180', '2024-01-01' FROM persons"
out="$(migrate part)" || true
tap_comment "$out"
check "a database at the old 013 upgrades with the new 014..020" \
    grep -q "migrations: 4 applied, 12 already present" <<<"$out"
check "... and ends with the fresh database's schema" \
    diff <(schema_of fresh) <(schema_of part)
check "... and 014's data migration gave the placed person its record" \
    test "$(rb_psql -d part -At -c "SELECT municipality || birth_date FROM person_records")" \
    = "01802010-01-02"

rb_psql -d part -c "ALTER FUNCTION api.ts(timestamptz) RENAME TO ts_gone"
out="$(migrate part)" || true
check "a function missing from the database is made again by the next migrate" \
    test "$(rb_psql -d part -At -c "SELECT api.ts('2024-01-01 00:00Z')")" = "2024-01-01T00:00:00.000000Z"

tap_end
