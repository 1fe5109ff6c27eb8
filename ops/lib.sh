#!/usr/bin/env bash
# shellcheck shell=bash
#
# Shared functions for the operations scripts (ops/run, ops/test) and the
# ctest fixture (tests/fixture/*.sh). Source it; do not run it.
#
# Cluster functions work on these globals, set by rb_pg_use (or rb_pg_init):
#   RB_PG_DATA  data directory (absolute)
#   RB_PG_SOCK  Unix socket directory (absolute, short: socket paths max 107 bytes)
#   RB_PG_PORT  TCP port (also names the socket file .s.PGSQL.<port>)
#   RB_PG_LOG   server log, in the data directory's parent
#
# As root the cluster runs as the `postgres` user (initdb and postgres refuse
# to run as root); as anyone else it runs as that user.

if [[ -n "${RB_LIB_LOADED:-}" ]]; then
    return 0
fi
RB_LIB_LOADED=1

RB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
RB_PG_BIN="${RB_PG_BIN:-/usr/lib/postgresql/15/bin}"
RB_PG_DATA="${RB_PG_DATA:-}"
RB_PG_SOCK="${RB_PG_SOCK:-}"
RB_PG_PORT="${RB_PG_PORT:-}"
RB_PG_LOG="${RB_PG_LOG:-}"

RB_DEPS=(build-essential cmake pkg-config libevent-dev libjansson-dev libpq-dev libssl-dev
    libcurl4-openssl-dev libcmocka-dev postgresql postgresql-contrib openssl curl
    ca-certificates python3 python3-yaml python3-prometheus-client python3-pytest
    chromium fonts-dejavu-core clang libclang-rt-14-dev wrk nginx pgbouncer procps)

rb_log() {
    printf '[%s] %s\n' "$(basename "$0")" "$*" >&2 || true
}

rb_die() {
    rb_log "error: $*"
    exit 1
}

# rb_usage WANT USAGE "$#": exits 2 with "usage: SCRIPT USAGE" unless the script got WANT args.
rb_usage() {
    if [[ "$3" -ne "$1" ]]; then
        echo "usage: $0 $2" >&2
        exit 2
    fi
}

rb_is_root() {
    [[ "$(id -u)" -eq 0 ]]
}

# ---------------------------------------------------------------- packages

# Installs the build/test/run dependencies from Debian's packages. A machine
# that already has all of them never touches apt.
rb_install_deps() {
    local missing=() p st
    if ! command -v dpkg-query >/dev/null 2>&1; then
        rb_die "dpkg-query not found: this script expects Debian 12; install: ${RB_DEPS[*]}"
    fi
    for p in "${RB_DEPS[@]}"; do
        st="$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
        if [[ "$st" != ii* ]]; then
            missing+=("$p")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    if ! rb_is_root; then
        rb_log "missing packages: ${missing[*]}"
        rb_die "run as root, or: sudo apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    rb_log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update </dev/null
    apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
}

# ------------------------------------------------------------------- build

# rb_build DIR [cmake args...] — configure and build in DIR (relative to the
# repo root unless absolute). RB_BUILD_TARGETS (space-separated) limits the
# build to those targets; RB_JOBS sets the parallelism (default: nproc).
# Warnings are errors here (-DWERROR=ON; RB_WERROR=OFF or a later -DWERROR=OFF
# turns it off), although the CMake default is OFF for other compilers.
rb_build() {
    local dir="$1" targets=()
    shift
    [[ "$dir" == /* ]] || dir="$RB_ROOT/$dir"
    if [[ -n "${RB_BUILD_TARGETS:-}" ]]; then
        read -r -a targets <<<"$RB_BUILD_TARGETS"
        targets=(--target "${targets[@]}")
    fi
    cmake -S "$RB_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWERROR="${RB_WERROR:-ON}" "$@" ||
        return 1
    cmake --build "$dir" -j "${RB_JOBS:-$(nproc 2>/dev/null || echo 2)}" "${targets[@]}" || return 1
}

# ----------------------------------------------------------------- cluster

# The OS user that runs the cluster (and is its superuser).
rb_pg_user() {
    if rb_is_root; then
        getent passwd postgres >/dev/null || rb_die "no 'postgres' user (is the postgresql package installed?)"
        echo postgres
    else
        id -un
    fi
}

# rb_as_pg CMD... — runs CMD as the cluster user, from / so that a cwd the
# cluster user cannot read does not bother initdb/pg_ctl.
rb_as_pg() {
    if rb_is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# rb_pg_can_reach DIR — whether the cluster user can reach (search) DIR.
rb_pg_can_reach() {
    if rb_is_root; then
        runuser -u postgres -- test -x "$1" 2>/dev/null
    else
        test -x "$1"
    fi
}

# rb_pg_own PATH... — hands PATHs to the cluster user (no-op when not root).
rb_pg_own() {
    if rb_is_root; then
        chown postgres:postgres "$@"
    fi
}

# rb_pg_mkdir DIR... — creates DIRs (mode 0700) owned by the cluster user.
rb_pg_mkdir() {
    local d
    for d in "$@"; do
        mkdir -p "$d"
        chmod 0700 "$d"
        rb_pg_own "$d"
    done
}

# rb_pg_use DATADIR SOCKDIR PORT — points the cluster functions at a cluster.
rb_pg_use() {
    [[ $# -eq 3 ]] || rb_die "usage: rb_pg_use DATADIR SOCKDIR PORT"
    [[ "$1" == /* && "$2" == /* ]] || rb_die "rb_pg_use: DATADIR and SOCKDIR must be absolute"
    RB_PG_DATA="$1"
    RB_PG_SOCK="$2"
    RB_PG_PORT="$3"
    RB_PG_LOG="$(dirname "$RB_PG_DATA")/postgres.log"
    if ((${#RB_PG_SOCK} + 20 > 107)); then
        rb_die "socket directory path too long for a Unix socket: $RB_PG_SOCK"
    fi
}

rb_pg_require() {
    [[ -n "$RB_PG_DATA" && -n "$RB_PG_SOCK" && -n "$RB_PG_PORT" ]] ||
        rb_die "no cluster selected (call rb_pg_use or rb_pg_init first)"
}

# rb_pg_configure — (re)writes the cluster's address settings into
# DATADIR/reimbursed.conf, included from postgresql.conf. Set RB_PG_FAST=1 for
# a throwaway cluster (no fsync).
rb_pg_configure() {
    rb_pg_require
    local inc="$RB_PG_DATA/reimbursed.conf" tmp
    tmp="$(mktemp "$RB_PG_DATA/.reimbursed.conf.XXXXXX")"
    {
        echo "# written by ops/lib.sh (rb_pg_configure); rewritten on each start"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $RB_PG_PORT"
        echo "unix_socket_directories = '$RB_PG_SOCK'"
        echo "unix_socket_permissions = 0777"
        if [[ "${RB_PG_FAST:-0}" == 1 ]]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >"$tmp"
    chmod 0600 "$tmp"
    rb_pg_own "$tmp"
    mv -f "$tmp" "$inc"
    if ! grep -q "^include_if_exists = 'reimbursed.conf'" "$RB_PG_DATA/postgresql.conf"; then
        rb_as_pg sh -c "printf '\n%s\n' \"include_if_exists = 'reimbursed.conf'\" >>\"\$1\"" sh \
            "$RB_PG_DATA/postgresql.conf"
    fi
}

# rb_pg_init DATADIR SOCKDIR PORT — creates a new cluster in DATADIR (which
# must not hold one). The parent of DATADIR gets the server log.
rb_pg_init() {
    rb_pg_use "$@"
    local user
    user="$(rb_pg_user)"
    [[ -x "$RB_PG_BIN/initdb" ]] || rb_die "$RB_PG_BIN/initdb not found (install postgresql-15)"
    if [[ -e "$RB_PG_DATA/PG_VERSION" ]]; then
        rb_die "rb_pg_init: $RB_PG_DATA already holds a cluster"
    fi
    rb_pg_mkdir "$RB_PG_DATA" "$RB_PG_SOCK"
    rb_pg_can_reach "$RB_PG_DATA" || rb_die "the cluster user '$user' cannot reach $RB_PG_DATA"
    rb_log "initdb $RB_PG_DATA (user $user)"
    rb_as_pg "$RB_PG_BIN/initdb" -D "$RB_PG_DATA" -U "$user" --encoding=UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 --no-instructions >/dev/null
    rb_pg_configure
}

# rb_pg_running — whether the selected cluster's postmaster is up.
rb_pg_running() {
    rb_pg_require
    [[ -f "$RB_PG_DATA/postmaster.pid" ]] || return 1
    rb_as_pg "$RB_PG_BIN/pg_ctl" -D "$RB_PG_DATA" status >/dev/null 2>&1
}

# rb_pg_start — starts the selected cluster and waits until it accepts
# connections (no-op if it is already running).
rb_pg_start() {
    rb_pg_require
    if rb_pg_running; then
        return 0
    fi
    # /tmp may have been cleaned since the socket directory was made.
    if [[ ! -d "$RB_PG_SOCK" ]]; then
        rb_pg_mkdir "$RB_PG_SOCK"
    fi
    if [[ ! -e "$RB_PG_LOG" ]]; then
        touch "$RB_PG_LOG"
        rb_pg_own "$RB_PG_LOG"
    fi
    if ! rb_as_pg "$RB_PG_BIN/pg_ctl" -D "$RB_PG_DATA" -l "$RB_PG_LOG" -w -t 60 start >/dev/null; then
        rb_log "pg_ctl start failed; last lines of $RB_PG_LOG:"
        tail -n 30 "$RB_PG_LOG" >&2 || true
        return 1
    fi
}

# rb_pg_stop — fast shutdown of the selected cluster, waiting until it is down
# (no-op if it is not running).
rb_pg_stop() {
    rb_pg_require
    if ! rb_pg_running; then
        return 0
    fi
    if ! rb_as_pg "$RB_PG_BIN/pg_ctl" -D "$RB_PG_DATA" -m fast -w -t 60 stop >/dev/null; then
        rb_log "fast shutdown failed; trying immediate"
        rb_as_pg "$RB_PG_BIN/pg_ctl" -D "$RB_PG_DATA" -m immediate -w -t 30 stop >/dev/null
    fi
}

# rb_psql [psql args...] — psql as the cluster superuser over the socket.
rb_psql() {
    rb_pg_require
    psql -X -q -h "$RB_PG_SOCK" -p "$RB_PG_PORT" -U "$(rb_pg_user)" -v ON_ERROR_STOP=1 "$@"
}

# rb_pg_setup_db — roles, database and role settings; safe to re-run.
rb_pg_setup_db() {
    rb_pg_require
    rb_psql -d postgres <<'SQL'
SELECT 'CREATE ROLE reimbursed LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reimbursed') \gexec
SELECT 'CREATE ROLE reimbursed_app LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reimbursed_app') \gexec
ALTER ROLE reimbursed LOGIN;
ALTER ROLE reimbursed_app LOGIN;
SELECT 'CREATE DATABASE reimbursed OWNER reimbursed'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'reimbursed') \gexec
ALTER DATABASE reimbursed OWNER TO reimbursed;
ALTER ROLE reimbursed_app SET log_parameter_max_length = 0;
ALTER ROLE reimbursed_app SET log_error_verbosity = terse;
ALTER ROLE reimbursed SET log_parameter_max_length = 0;
ALTER ROLE reimbursed SET log_error_verbosity = terse;
SQL
}

# ------------------------------------------------------------------- misc

# rb_port_busy PORT — whether something listens on PORT (TCP, any address).
rb_port_busy() {
    if command -v ss >/dev/null 2>&1; then
        [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# rb_free_port — prints a TCP port that is free on 127.0.0.1 right now.
rb_free_port() {
    local py p i
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null 2>&1 &&
            p="$("$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null)" && [[ "$p" =~ ^[0-9]+$ ]] && ! rb_port_busy "$p"; then
            echo "$p"
            return 0
        fi
    done
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 30000))
        if ! rb_port_busy "$p"; then
            echo "$p"
            return 0
        fi
    done
    rb_die "no free TCP port found"
}

# rb_make_cert DIR — self-signed EC P-256 certificate for localhost and
# 127.0.0.1 in DIR/cert.pem with its key in DIR/key.pem. Keeps a pair that
# already exists and is valid for at least another day.
rb_make_cert() {
    local dir="$1"
    mkdir -p "$dir"
    if [[ -s "$dir/cert.pem" && -s "$dir/key.pem" ]] &&
        openssl x509 -in "$dir/cert.pem" -noout -checkend 86400 >/dev/null 2>&1; then
        return 0
    fi
    rm -f "$dir/cert.pem" "$dir/key.pem"
    (
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 825 -sha256 \
            -subj "/CN=localhost" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -addext "extendedKeyUsage=serverAuth" 2>/dev/null
    ) || rb_die "openssl could not make a certificate in $dir"
    chmod 0644 "$dir/cert.pem"
    chmod 0600 "$dir/key.pem"
}

# rb_write_config FILE KEY=VALUE... — writes the daemon's config file, one
# `key = value` line per argument.
rb_write_config() {
    local file="$1" kv tmp
    shift
    tmp="$(mktemp "$(dirname "$file")/.conf.XXXXXX")"
    {
        echo "# reimbursed configuration, written by $(basename "$0")"
        for kv in "$@"; do
            [[ "$kv" == *=* ]] || rb_die "rb_write_config: not KEY=VALUE: $kv"
            printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
        done
    } >"$tmp"
    chmod 0600 "$tmp"
    mv -f "$tmp" "$file"
}

# rb_conninfo USER — libpq conninfo for USER on the selected cluster.
rb_conninfo() {
    rb_pg_require
    printf 'host=%s port=%s dbname=reimbursed user=%s\n' "$RB_PG_SOCK" "$RB_PG_PORT" "$1"
}

# rb_client_token CTL CONF NAME ROLE SCOPE — prints a fresh token for client
# NAME: rotates it, or adds it (with ROLE and SCOPE) when it does not exist.
rb_client_token() {
    local ctl="$1" conf="$2" name="$3" role="$4" scope="$5" out rc=0 token errf
    errf="$(mktemp)"
    out="$("$ctl" -c "$conf" client rotate --name "$name" 2>"$errf")" || rc=$?
    if ((rc == 3)); then
        rc=0
        out="$("$ctl" -c "$conf" client add --name "$name" --role "$role" --scope "$scope")" || rc=$?
    else
        cat "$errf" >&2
    fi
    rm -f "$errf"
    ((rc == 0)) || rb_die "reimbursectl client rotate/add --name $name failed (exit $rc)"
    token="$(printf '%s\n' "$out" | tail -n 1)"
    [[ -n "$token" ]] || rb_die "reimbursectl printed no token for $name"
    printf '%s\n' "$token"
}
