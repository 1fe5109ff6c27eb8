# shellcheck shell=bash
# TAP output for the bash tests: `check NAME CMD...` passes when CMD succeeds; `tap_comment TEXT`
# prints TEXT as comments; `tap_end` prints the tally and fails when a check failed. Source it.
pass=0
fail=0
check() { # name, then a command that must succeed
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
