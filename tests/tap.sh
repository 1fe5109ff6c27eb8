# tests/tap.sh: the one check() of the shell tests (sourced). check NAME COMMAND...: the command
# must succeed; prints `ok N - NAME` or `not ok N - NAME` and counts in $pass and $fail (ok and
# notok count a result decided by the test itself).
# shellcheck shell=bash
pass=0
fail=0
check() {
    local name="$1"
    shift
    if "$@"; then
        pass=$((pass + 1))
        echo "ok $((pass + fail)) - $name"
    else
        fail=$((fail + 1))
        echo "not ok $((pass + fail)) - $name"
    fi
}
ok() { # NAME → `ok N - NAME`, counted as passed
    pass=$((pass + 1))
    echo "ok $((pass + fail)) - $1"
}
notok() { # NAME [DETAIL] → `not ok N - NAME[: DETAIL on one line, at most 600 characters]`
    fail=$((fail + 1))
    if [[ $# -gt 1 ]]; then
        echo "not ok $((pass + fail)) - $1: $(printf '%s' "$2" | tr '\n' ' ' | cut -c1-600)"
    else
        echo "not ok $((pass + fail)) - $1"
    fi
}
tap_comment() { # TEXT → each line as a TAP comment
    local line
    while IFS= read -r line; do echo "# $line"; done <<<"$1"
}
tap_need_fixture() { # the ctest fixture's RB_FIXTURE must be set, or the test fails at once
    [[ -n "${RB_FIXTURE:-}" ]] && return 0
    echo "not ok 1 - RB_FIXTURE is not set"
    echo "0 passed, 1 failed"
    exit 1
}
tap_end() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
}
