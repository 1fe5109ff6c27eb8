#!/usr/bin/env bash
# The systemd units, sysusers/tmpfiles entries, the nightly wrapper and the Debian package:
#   - `systemd-analyze verify` prints nothing for every unit in systemd/ (copies whose Exec paths
#     point at the build: verify insists that the binaries exist);
#   - `systemd-analyze security --offline=true` exposure of each service (printed; at most 2.0);
#   - the timer fires exactly once on every Swedish calendar day, daylight-saving days included;
#   - sysusers.d and tmpfiles.d applied to a scratch root make the user and the folders;
#   - ops/nightly computes the Stockholm dates and calls reimbursectl as the unit expects;
#   - `cpack -G DEB` makes a .deb with the binaries, units, sysusers, tmpfiles, the conffile,
#     the migrations, the OpenAPI file, maintainer scripts and the library dependencies.
#
# usage: test_units.sh BUILDDIR [SRCDIR]   (SRCDIR defaults to this script's repository)
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 BUILDDIR [SRCDIR]" >&2
    exit 2
fi
BUILD="$(cd "$1" && pwd -P)"
SRC="$(cd "${2:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd -P)"

# shellcheck source-path=SCRIPTDIR source=../tap.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
comment() { # TEXT: shown as TAP comments
    [[ -z "$1" ]] || printf '%s\n' "$1" | sed 's/^/#   /'
}
empty() { [[ -z "$1" ]]; }

tmp="$(mktemp -d)"
trap 'rm -rf -- "$tmp"' EXIT

# ---- tools
if ! command -v systemd-analyze >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "# installing systemd for systemd-analyze"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd \
            </dev/null >/dev/null
    fi
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "not ok 1 - systemd-analyze is available (install the systemd package)"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "# $(systemd-analyze --version | head -n 1)"

shopt -s nullglob
units=("$SRC"/systemd/*.service "$SRC"/systemd/*.timer)
services=("$SRC"/systemd/*.service)
shopt -u nullglob
check "systemd/ has the daemon, nightly service and timer" \
    test -f "$SRC/systemd/reimbursed.service" -a -f "$SRC/systemd/reimbursed-nightly.service" \
    -a -f "$SRC/systemd/reimbursed-nightly.timer"

# ---- systemd-analyze verify, on copies whose Exec paths point at the build
mkdir -p "$tmp/units"
for u in "${units[@]}"; do
    sed -e "s#/usr/sbin/reimbursed\\b#$BUILD/reimbursed#g" \
        -e "s#/usr/bin/reimbursectl\\b#$BUILD/reimbursectl#g" \
        -e "s#/usr/lib/reimbursed/nightly\\b#$SRC/ops/nightly#g" \
        "$u" >"$tmp/units/$(basename "$u")"
done
for u in "${units[@]}"; do
    name="$(basename "$u")"
    rc=0
    out="$(cd "$tmp/units" && systemd-analyze verify "$tmp/units/$name" 2>&1)" || rc=$?
    comment "$out"
    check "systemd-analyze verify $name: exit 0, no warnings" test "$rc" = 0 -a -z "$out"
done

# ---- hardening score
for u in "${services[@]}"; do
    name="$(basename "$u")"
    if ! out="$(systemd-analyze security --offline=true "$u" 2>&1)"; then
        if grep -qi "unrecognized option\|unknown option" <<<"$out"; then
            echo "# systemd-analyze security --offline is not supported here: skipped for $name"
            continue
        fi
    fi
    score="$(sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' <<<"$out")"
    comment "$(grep '✗' <<<"$out" || true)"
    echo "# systemd-analyze security --offline=true $name: ${score:-?} $(sed -n 's/^→ Overall exposure level for [^:]*: [0-9.]* \([A-Z]*\).*/\1/p' <<<"$out")"
    check "security exposure of $name is at most 2.0" \
        awk -v s="${score:-99}" 'BEGIN { exit !(s + 0 <= 2.0) }'
done

# ---- the timer: once on every day in Europe/Stockholm, DST days included (2026-2027)
timer="$SRC/systemd/reimbursed-nightly.timer"
check "the timer is Persistent=true" grep -qx 'Persistent=true' "$timer"
mapfile -t cals < <(sed -n 's/^OnCalendar=//p' "$timer")
: >"$tmp/elapse"
for c in "${cals[@]}"; do
    TZ=UTC systemd-analyze calendar --iterations=800 --base-time='2026-01-01 00:00:00 UTC' "$c" |
        sed -n 's/^ *\(Next elapse\|Iter\. #[0-9]*\): [A-Za-z]* \([0-9-]* [0-9:]*\) UTC$/\2/p' \
            >>"$tmp/elapse"
done
out="$(python3 - "$tmp/elapse" <<'PY'
import datetime as dt, sys, zoneinfo
tz = zoneinfo.ZoneInfo("Europe/Stockholm")
first, last = dt.date(2026, 1, 1), dt.date(2027, 12, 31)
runs = {}
for line in open(sys.argv[1]):
    t = dt.datetime.strptime(line.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    local = t.astimezone(tz)
    if first <= local.date() <= last:
        runs.setdefault(local.date(), []).append(local.strftime("%H:%M %Z"))
bad = []
d = first
while d <= last:
    if len(runs.get(d, [])) != 1:
        bad.append(f"{d}: {runs.get(d, [])}")
    d += dt.timedelta(days=1)
print("\n".join(bad))
PY
)"
comment "$out"
check "the timer fires exactly once on every Stockholm day of 2026-2027" empty "$out"
out="$(TZ=UTC systemd-analyze calendar --base-time='2026-03-28 12:00:00 UTC' "${cals[@]}" |
    sed -n 's/^ *Next elapse: [A-Za-z]* //p' | sort | head -n 1)"
check "on 2026-03-29 (clocks jump 02:00 -> 03:00) it runs at 03:00 CEST" \
    test "$out" = "2026-03-29 01:00:00 UTC"

# ---- sysusers.d and tmpfiles.d in a scratch root
root="$tmp/root"
mkdir -p "$root/etc/reimbursed"
: >"$root/etc/reimbursed/reimbursed.conf"
chmod 0644 "$root/etc/reimbursed/reimbursed.conf"
rc=0
out="$(systemd-sysusers --root="$root" "$SRC/systemd/reimbursed.sysusers" 2>&1)" || rc=$?
check "systemd-sysusers accepts reimbursed.sysusers" test "$rc" = 0
pw="$(grep '^reimbursed:' "$root/etc/passwd" || true)"
comment "$pw"
check "... making the system user reimbursed, home /var/lib/reimbursed, no login shell" \
    grep -Eq '^reimbursed:x:[0-9]+:[0-9]+:reimbursed daemon:/var/lib/reimbursed:/usr/sbin/nologin$' <<<"$pw"
uid="$(cut -d: -f3 <<<"$pw")"
gid="$(cut -d: -f4 <<<"$pw")"
check "... and its group" grep -q "^reimbursed:x:$gid:" "$root/etc/group"
if [[ "$(id -u)" == 0 ]]; then
    rc=0
    out="$(systemd-tmpfiles --root="$root" --create "$SRC/systemd/reimbursed.tmpfiles" 2>&1)" || rc=$?
    comment "$out"
    check "systemd-tmpfiles --create accepts reimbursed.tmpfiles" test "$rc" = 0 -a -z "$out"
    modes="$(cd "$root" && stat -c '%n %a %u:%g' var/lib/reimbursed var/lib/reimbursed/reports \
        etc/reimbursed etc/reimbursed/tls etc/reimbursed/reimbursed.conf 2>&1)"
    comment "$modes"
    want="var/lib/reimbursed 750 $uid:$gid
var/lib/reimbursed/reports 750 $uid:$gid
etc/reimbursed 750 0:$gid
etc/reimbursed/tls 750 0:$gid
etc/reimbursed/reimbursed.conf 640 0:$gid"
    check "... making the folders, and the config root:reimbursed 0640" test "$modes" = "$want"
else
    echo "# not root: the tmpfiles.d check (it changes owners) is skipped"
fi

# ---- the default config: valid as shipped (given a certificate), and so is every example
mkdir -p "$tmp/tls"
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -keyout "$tmp/tls/key.pem" -out "$tmp/tls/cert.pem" >/dev/null 2>&1; then
    cp "$tmp/tls/cert.pem" "$tmp/tls/client-ca.pem"
    sed "s#/etc/reimbursed/tls/#$tmp/tls/#g" "$SRC/etc/reimbursed.conf" >"$tmp/default.conf"
    out="$("$BUILD/reimbursed" -c "$tmp/default.conf" -t 2>&1)" || true
    comment "$out"
    check "etc/reimbursed.conf passes reimbursed -t" grep -q "configuration is valid" <<<"$out"
    bad=()
    while IFS=: read -r n line; do
        sed "${n}s/^#//" "$tmp/default.conf" >"$tmp/example.conf"
        "$BUILD/reimbursed" -c "$tmp/example.conf" -t >/dev/null 2>&1 || bad+=("line $n: $line")
    done < <(grep -n '^#[a-z_]* = ' "$tmp/default.conf")
    comment "$(printf '%s\n' "${bad[@]}")"
    check "every commented-out key in etc/reimbursed.conf is accepted when uncommented" \
        test "${#bad[@]}" = 0
    keys="$(sed -n 's/^#\{0,1\}\([a-z_]*\) = .*/\1/p' "$SRC/etc/reimbursed.conf" | sort -u | tr '\n' ' ')"
    comment "keys: $keys"
    readme_keys_shown() {
        local k
        # shellcheck disable=SC2013,SC2016 # words are wanted; the backquotes are literal
        for k in $(sed -n 's/^| `\([a-z_]*\)`, `\([a-z_]*\)`.*/\1 \2/p; s/^| `\([a-z_]*\)`.*/\1/p' "$SRC/README.md"); do
            grep -qw "$k" <<<"$keys" || { echo "#   missing: $k"; return 1; }
        done
    }
    check "etc/reimbursed.conf shows every key of the README's table" readme_keys_shown
else
    check "openssl makes a test certificate" false
fi

# ---- ops/nightly with a stand-in reimbursectl that records its arguments
stub="$tmp/reimbursectl"
cat >"$stub" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"$STUB_LOG"
case "$3" in
accrue) exit "${STUB_ACCRUE_RC:-0}" ;;
report) exit "${STUB_REPORT_RC:-0}" ;;
idempotency) exit "${STUB_IDEM_RC:-0}" ;;
esac
exit 9
EOF
chmod +x "$stub"
conf="$tmp/nightly.conf"
: >"$conf"
reports="$tmp/reports"
mkdir -p "$reports"
export STUB_LOG="$tmp/stub.log"
nightly() { # args → its exit status in $rc; the calls are in $STUB_LOG
    : >"$STUB_LOG"
    rc=0
    "$SRC/ops/nightly" -c "$conf" -o "$reports" --ctl "$stub" "$@" >"$tmp/nightly.out" 2>&1 || rc=$?
}
for _ in 1 2; do
    today="$(TZ=Europe/Stockholm date +%F)"
    nightly
    [[ "$today" == "$(TZ=Europe/Stockholm date +%F)" ]] && break
done
yesterday="$(python3 -c 'import datetime,sys; print(datetime.date.fromisoformat(sys.argv[1]) - datetime.timedelta(days=1))' "$today")"
comment "$(cat "$STUB_LOG")"
check "nightly: exit 0 when every step succeeds" test "$rc" = 0
check "nightly: accrue through yesterday (Europe/Stockholm), then report for today, then expire keys" \
    test "$(cat "$STUB_LOG")" = "-c $conf accrue --through $yesterday
-c $conf report --date $today --out $reports
-c $conf idempotency expire"
nightly --date 2024-03-01
check "nightly --date 2024-03-01: accrue through 2024-02-29 (leap day), report for 2024-03-01" \
    test "$rc:$(cat "$STUB_LOG")" = "0:-c $conf accrue --through 2024-02-29
-c $conf report --date 2024-03-01 --out $reports
-c $conf idempotency expire"
nightly --date 2026-03-30
check "nightly --date 2026-03-30 (the day after a DST change): accrue through 2026-03-29" \
    grep -q "accrue --through 2026-03-29$" "$STUB_LOG"
nightly --date 2024-02-30
check "nightly --date 2024-02-30: a usage error (exit 2), nothing run" test "$rc:$(cat "$STUB_LOG")" = "2:"
STUB_ACCRUE_RC=1 nightly
check "nightly: a failed accrual fails the job (exit 1) and writes no report" \
    test "$rc:$(wc -l <"$STUB_LOG")" = "1:1"
STUB_ACCRUE_RC=3 nightly
check "nightly: a refused accrual (409) fails the scheduled job" test "$rc" = 1
STUB_ACCRUE_RC=3 nightly --date 2024-03-01
check "nightly --date: a refused accrual (a later run exists) still writes the report" \
    test "$rc:$(wc -l <"$STUB_LOG")" = "0:3"
STUB_REPORT_RC=1 nightly
check "nightly: a failed report fails the job (exit 1)" test "$rc" = 1
STUB_IDEM_RC=1 nightly
check "nightly: a failed key expiry fails the job (exit 1)" test "$rc" = 1
rc=0
"$SRC/ops/nightly" -c "$conf" -o "$tmp/missing" --ctl "$stub" >/dev/null 2>&1 || rc=$?
check "nightly: a missing reports folder fails before anything runs" test "$rc" = 1

# ---- the Debian package
if [[ ! -f "$BUILD/CPackConfig.cmake" ]]; then
    check "the build has CPackConfig.cmake (CMakeLists.txt includes cmake/packaging.cmake)" false
else
    rc=0
    out="$(cpack -G DEB -B "$tmp/pkg" --config "$BUILD/CPackConfig.cmake" 2>&1)" || rc=$?
    shopt -s nullglob
    debs=("$tmp"/pkg/*.deb)
    shopt -u nullglob
    ((rc == 0 && ${#debs[@]} == 1)) || comment "$out"
    check "cpack -G DEB makes one .deb" test "$rc" = 0 -a "${#debs[@]}" = 1
    if ((${#debs[@]} == 1)); then
        deb="${debs[0]}"
        echo "# $(basename "$deb"): $(stat -c %s "$deb") bytes"
        list="$(dpkg-deb -c "$deb" | awk '{ print $1, $6 }' | sed 's# \./# /#')"
        has() { # MODE-REGEX PATH
            grep -Eq "^$1 $2\$" <<<"$list"
        }
        missing=()
        for p in /usr/sbin/reimbursed /usr/bin/reimbursectl \
            /usr/lib/systemd/system/reimbursed.service \
            /usr/lib/systemd/system/reimbursed-nightly.service \
            /usr/lib/systemd/system/reimbursed-nightly.timer \
            /usr/lib/sysusers.d/reimbursed.conf /usr/lib/tmpfiles.d/reimbursed.conf \
            /usr/lib/reimbursed/nightly /usr/lib/reimbursed/backup /usr/lib/reimbursed/restore \
            /usr/share/reimbursed/proto/openapi.yaml \
            /usr/share/doc/reimbursed/README.md /usr/share/doc/reimbursed/RUNBOOK.md; do
            has '[-a-z]+' "$p" || missing+=("$p")
        done
        for f in "$SRC"/sql/schema/*.sql "$SRC"/sql/schema/legacy.sha256 "$SRC"/sql/api/*.sql; do
            rel="${f#"$SRC"/sql/}"
            has '[-a-z]+' "/usr/share/reimbursed/sql/$rel" || missing+=("sql/$rel")
        done
        comment "${missing[*]}"
        check "the .deb has the binaries, units, sysusers, tmpfiles, scripts, docs, every migration and openapi.yaml" \
            test "${#missing[@]}" = 0
        check "the .deb has /etc/reimbursed/reimbursed.conf, mode 0640" \
            has '-rw-r-----' /etc/reimbursed/reimbursed.conf
        executables_ok() {
            local p
            for p in /usr/sbin/reimbursed /usr/bin/reimbursectl /usr/lib/reimbursed/nightly \
                /usr/lib/reimbursed/backup /usr/lib/reimbursed/restore; do
                has '-rwxr-xr-x' "$p" || return 1
            done
        }
        check "the binaries and scripts are executable" executables_ok
        # Every program the units run is in the package (or is /bin/kill).
        missing=()
        while read -r p; do
            [[ "$p" == /bin/kill ]] || has '[-a-z]+' "$p" || missing+=("$p")
        done < <(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "${units[@]}" | sort -u)
        comment "${missing[*]}"
        check "every Exec path of the units is installed by the package" test "${#missing[@]}" = 0

        dpkg-deb -e "$deb" "$tmp/control"
        script_ok() { test -x "$1" && sh -n "$1"; }
        check "conffiles lists /etc/reimbursed/reimbursed.conf" \
            test "$(cat "$tmp/control/conffiles" 2>/dev/null)" = /etc/reimbursed/reimbursed.conf
        for s in postinst prerm postrm; do
            check "the $s script is there, executable and valid sh" script_ok "$tmp/control/$s"
        done
        if command -v shellcheck >/dev/null 2>&1; then
            out="$(shellcheck -s sh "$tmp"/control/postinst "$tmp"/control/prerm "$tmp"/control/postrm 2>&1)" || true
            comment "$out"
            check "shellcheck: the maintainer scripts are clean" empty "$out"
        fi
        postinst_ok() {
            local f="$tmp/control/postinst" code
            code="$(grep -Ev '^[[:space:]]*(#|echo )' "$f" || true)"
            grep -q "systemd-sysusers reimbursed.conf" <<<"$code" &&
                grep -q "systemd-tmpfiles --create reimbursed.conf" <<<"$code" &&
                grep -q "systemctl daemon-reload" <<<"$code" &&
                ! grep -Eq 'systemctl[^;&|]* (start|restart|try-restart|reload-or-restart|enable)( |$)' <<<"$code"
        }
        check "postinst runs systemd-sysusers, systemd-tmpfiles and daemon-reload, and starts nothing" \
            postinst_ok
        fields="$(dpkg-deb -f "$deb" Package Version Architecture Maintainer Section Depends)"
        comment "$fields"
        fields_ok() {
            grep -qx "Package: reimbursed" <<<"$fields" && grep -q "^Maintainer: ." <<<"$fields" &&
                grep -q "^Section: ." <<<"$fields"
        }
        check "Package: reimbursed, with Maintainer and Section" fields_ok
        depends_ok() {
            local p depends
            depends="$(dpkg-deb -f "$deb" Depends)"
            for p in postgresql-client libc6 libpq5 libevent libssl libjansson; do
                grep -q "$p" <<<"$depends" || return 1
            done
        }
        check "Depends has postgresql-client and the shared libraries (libc6, libpq5, libevent, libssl, libjansson)" \
            depends_ok
        dpkg-deb -x "$deb" "$tmp/x"
        check "the packaged reimbursectl looks for migrations in /usr/share/reimbursed/sql (configure with -DCMAKE_INSTALL_PREFIX=/usr)" \
            grep -aq '/usr/share/reimbursed/sql' "$tmp/x/usr/bin/reimbursectl"
        check "the packaged config is etc/reimbursed.conf" \
            cmp -s "$tmp/x/etc/reimbursed/reimbursed.conf" "$SRC/etc/reimbursed.conf"
    fi
fi

tap_end
