#!/usr/bin/env bash
# tests/logs/pg_log_everything.sh — runs FIRST among the fixture tests (tests/logs/logs.cmake makes
# every other fixture test depend on it): makes the fixture's PostgreSQL log as much as a busy
# production server would, so that tests/logs/test_no_secrets_in_logs.sh, which runs LAST, greps a
# realistic log:
#   log_min_duration_statement = 0   every statement with its duration (and, where a role allows
#                                    it, its bind parameters: the daemon's role has
#                                    log_parameter_max_length = 0, so none of its values)
#   log_min_error_statement = error  (the default) the statement of every error
#   log_line_prefix with %u and %a   so a line can be told apart: the daemon, reimbursectl, or a
#                                    test's own psql
# Changed with ALTER SYSTEM as the cluster superuser over the fixture's socket, then reloaded.
# Prints `ok N - ...` lines and `P passed, F failed`.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../tap.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
tap_need_fixture
pgenv="$RB_FIXTURE/pg.env"
val() { sed -n "s/^$1=//p" "$pgenv" | head -n 1; }
sock="$(val RB_FX_SOCK)"
port="$(val RB_FX_PORT)"
super="postgres"
[[ "$(id -u)" == 0 ]] || super="$(id -un)"

psql_super() {
    psql -X -qAt -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U "$super" -d postgres "$@"
}

psql_super <<'SQL'
ALTER SYSTEM SET log_min_duration_statement = 0;
ALTER SYSTEM SET log_line_prefix = '%m [%p] %q%u@%d app=%a ';
SELECT pg_reload_conf() \gset
SQL
sleep 0.5
got="$(psql_super -c "SELECT current_setting('log_min_duration_statement') || ' ' || current_setting('log_line_prefix')")"
echo "# fixture cluster: log_min_duration_statement, log_line_prefix = $got"
app_settings="$(psql_super -c "SELECT array_to_string(setconfig, ', ') FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = 'reimbursed_app'")"
echo "# the daemon's role reimbursed_app has: ${app_settings:-(nothing)}"
if [[ "$got" == "0 %m [%p] %q%u@%d app=%a " ]]; then
    ok "the fixture's PostgreSQL logs every statement, with user and application"
else
    notok "the fixture's PostgreSQL log settings did not take" "$got"
fi
if [[ "$app_settings" == *log_parameter_max_length=0* && "$app_settings" == *log_error_verbosity=terse* ]]; then
    ok "the daemon's role logs no parameters and terse errors (RULES.md §5 and §7)"
else
    notok "the daemon's role lacks log_parameter_max_length=0 / log_error_verbosity=terse"
fi
tap_end
