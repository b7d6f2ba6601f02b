#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests.
#
# Sourced (what .ci/run does):
#     source .ci/pg.sh && pg_start && trap pg_stop EXIT
#   pg_start exports ANNOTATOR_TEST_PG_URL, ANNOTATOR_TEST_PG_URL_C (and
#   ANNOTATOR_PG_DIR, the server's temp dir).
# Run as a command:
#     eval "$(.ci/pg.sh start)"   # prints the export lines
#     .ci/pg.sh stop              # stops the server in $ANNOTATOR_PG_DIR and removes it
#
# Installs Debian's postgresql with apt-get when no server binaries are found,
# runs initdb in a temporary folder as a non-root user (PostgreSQL refuses to
# run as root: the "postgres" system user, created if missing), listens on
# 127.0.0.1 on a free port with trust auth. Durability is switched off
# (fsync=off): it is a test server.
#
# Collation: the cluster is initialised with en_US.UTF-8, as the official
# postgres image does, so text sorts the way it does where users deploy
# (case and punctuation folded, unlike byte order). The glibc locale is
# generated with localedef when missing (the image's own recipe; apt-get
# installs the "locales" package first if needed); without root, ICU's en-US
# is used instead (it needs no OS locale). Two databases are created:
#   annotator_test    the cluster's default, en_US  -> ANNOTATOR_TEST_PG_URL
#   annotator_test_c  collation C (byte order)      -> ANNOTATOR_TEST_PG_URL_C
# tests/_pg.py creates each test's database with the collation of the URL's.

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

# Is the glibc locale en_US.UTF-8 there? Generate it when we can (root).
_pg_has_en_us() { locale -a 2>/dev/null | grep -qix 'en_US\.utf-\?8'; }

_pg_en_us_locale() {
    _pg_has_en_us && return 0
    [ "$(id -u)" = 0 ] || return 1
    if [ ! -e /usr/share/i18n/locales/en_US ] || ! command -v localedef >/dev/null 2>&1; then
        _pg_log "installing the locales package with apt-get (for en_US.UTF-8)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq locales >&2 || return 1
    fi
    _pg_log "generating the en_US.UTF-8 locale (localedef)"
    localedef -i en_US -c -f UTF-8 -A /usr/share/locale/locale.alias en_US.UTF-8 >&2 || return 1
    _pg_has_en_us
}

# initdb with en_US.UTF-8 (glibc, else ICU); sets _PG_COLLATION to what was used.
_pg_initdb() {
    local bindir="$1" data="$2" log="$3"
    local base=("$bindir/initdb" -D "$data" -U annotator --auth=trust -E UTF8)
    if _pg_en_us_locale && _pg_as "${base[@]}" --locale=en_US.UTF-8 >"$log" 2>&1; then
        _PG_COLLATION="en_US.UTF-8 (glibc)"; return 0
    fi
    rm -rf "$data"
    if _pg_as "${base[@]}" --locale=C.UTF-8 --locale-provider=icu --icu-locale=en-US \
        >"$log" 2>&1; then
        _PG_COLLATION="en-US (ICU)"; return 0
    fi
    rm -rf "$data"
    _pg_log "WARNING: neither en_US.UTF-8 nor ICU available: the cluster sorts text in byte order"
    if _pg_as "${base[@]}" --locale=C.UTF-8 >"$log" 2>&1 \
        || { rm -rf "$data"; _pg_as "${base[@]}" --no-locale >"$log" 2>&1; }; then
        _PG_COLLATION="C"; return 0
    fi
    return 1
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
    _pg_initdb "$bindir" "$dir/data" "$dir/initdb.log" \
      || { _pg_log "initdb failed:"; cat "$dir/initdb.log" >&2; return 1; }
    if ! _pg_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >&2; then
        _pg_log "server did not start:"; cat "$dir/server.log" >&2; return 1
    fi
    _pg_as "$bindir/createdb" -h 127.0.0.1 -p "$port" -U annotator annotator_test || {
        _pg_log "createdb failed"; return 1; }
    # byte order whatever the cluster's provider (template0: a new collation needs it)
    local provider=()
    "$bindir/createdb" --help 2>/dev/null | grep -q -- '--locale-provider' && provider=(--locale-provider=libc)
    _pg_as "$bindir/createdb" -h 127.0.0.1 -p "$port" -U annotator -T template0 -E UTF8 \
        "${provider[@]}" --lc-collate=C --lc-ctype=C annotator_test_c || {
        _pg_log "createdb (collation C) failed"; return 1; }
    export ANNOTATOR_PG_DIR="$dir" _PG_BINDIR="$bindir" _PG_USER
    export ANNOTATOR_TEST_PG_URL="postgresql://annotator@127.0.0.1:$port/annotator_test"
    export ANNOTATOR_TEST_PG_URL_C="postgresql://annotator@127.0.0.1:$port/annotator_test_c"
    _pg_log "PostgreSQL running: $ANNOTATOR_TEST_PG_URL ($_PG_COLLATION), $ANNOTATOR_TEST_PG_URL_C (C); data in $dir"
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
    unset ANNOTATOR_PG_DIR ANNOTATOR_TEST_PG_URL ANNOTATOR_TEST_PG_URL_C
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    case "${1:-start}" in
        start)
            pg_start >&2 || exit 1
            echo "export ANNOTATOR_TEST_PG_URL='$ANNOTATOR_TEST_PG_URL'"
            echo "export ANNOTATOR_TEST_PG_URL_C='$ANNOTATOR_TEST_PG_URL_C'"
            echo "export ANNOTATOR_PG_DIR='$ANNOTATOR_PG_DIR'"
            ;;
        stop) pg_stop ;;
        *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
    esac
fi
