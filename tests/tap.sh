# tests/tap.sh: the one check() of the shell tests (sourced). check NAME COMMAND...: the command
# must succeed; prints `ok N - NAME` or `not ok N - NAME` and counts in $pass and $fail.
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
tap_comment() { # TEXT → each line as a TAP comment
    local line
    while IFS= read -r line; do echo "# $line"; done <<<"$1"
}
tap_end() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
}
