#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests.
#
# Sourced (what .ci/run does):
#     source .ci/pg.sh && pg_start && trap pg_stop EXIT
#   pg_start exports ANNOTATOR_TEST_PG_URL (and ANNOTATOR_PG_DIR, the server's temp dir).
# Run as a command:
#     eval "$(.ci/pg.sh start)"   # prints the export lines
#     .ci/pg.sh stop              # stops the server in $ANNOTATOR_PG_DIR and removes it
#
# Installs Debian's postgresql with apt-get when no server binaries are found,
# runs initdb in a temporary folder as a non-root user (PostgreSQL refuses to
# run as root: the "postgres" system user, created if missing), listens on
# 127.0.0.1 on a free port with trust auth, and creates the database
# "annotator_test". Durability is switched off (fsync=off): it is a test server.

_pg_log() { echo "pg.sh: $*" >&2; }

_pg_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null)"
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"; return 0
    fi
    return 1
}

_pg_install() {
    if [ "$(id -u)" != 0 ]; then
        _pg_log "PostgreSQL is not installed and we are not root: install the 'postgresql' package"
        return 1
    fi
    _pg_log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
}

_pg_free_port() {
    python3 - <<'PY' 2>/dev/null || echo 55432
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# Run a command as the server's owner (root cannot run postgres).
_pg_as() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$_PG_USER" -- "$@"
    else
        "$@"
    fi
}

pg_start() {
    local bindir port dir user_home
    bindir="$(_pg_bindir)" || { _pg_install && bindir="$(_pg_bindir)"; } || {
        _pg_log "no PostgreSQL server binaries found"; return 1; }
    if [ "$(id -u)" = 0 ]; then
        _PG_USER=postgres
        if ! id -u "$_PG_USER" >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin "$_PG_USER" >&2 || return 1
        fi
    else
        _PG_USER="$(id -un)"
    fi
    dir="$(mktemp -d "${TMPDIR:-/tmp}/annotator-pg.XXXXXX")" || return 1
    [ "$(id -u)" = 0 ] && chown "$_PG_USER" "$dir"
    port="$(_pg_free_port)"
    _pg_as "$bindir/initdb" -D "$dir/data" -U annotator --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 \
      || _pg_as "$bindir/initdb" -D "$dir/data" -U annotator --auth=trust -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1 \
      || { _pg_log "initdb failed:"; cat "$dir/initdb.log" >&2; return 1; }
    if ! _pg_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >&2; then
        _pg_log "server did not start:"; cat "$dir/server.log" >&2; return 1
    fi
    _pg_as "$bindir/createdb" -h 127.0.0.1 -p "$port" -U annotator annotator_test || {
        _pg_log "createdb failed"; return 1; }
    export ANNOTATOR_PG_DIR="$dir" _PG_BINDIR="$bindir" _PG_USER
    export ANNOTATOR_TEST_PG_URL="postgresql://annotator@127.0.0.1:$port/annotator_test"
    _pg_log "PostgreSQL running: $ANNOTATOR_TEST_PG_URL (data in $dir)"
}

pg_stop() {
    local dir="${ANNOTATOR_PG_DIR:-}" bindir
    [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
    bindir="${_PG_BINDIR:-$(_pg_bindir)}"
    if [ -z "${_PG_USER:-}" ]; then
        if [ "$(id -u)" = 0 ]; then _PG_USER=postgres; else _PG_USER="$(id -un)"; fi
    fi
    _pg_as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    unset ANNOTATOR_PG_DIR ANNOTATOR_TEST_PG_URL
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    case "${1:-start}" in
        start)
            pg_start >&2 || exit 1
            echo "export ANNOTATOR_TEST_PG_URL='$ANNOTATOR_TEST_PG_URL'"
            echo "export ANNOTATOR_PG_DIR='$ANNOTATOR_PG_DIR'"
            ;;
        stop) pg_stop ;;
        *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
    esac
fi
