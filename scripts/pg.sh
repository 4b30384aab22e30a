#!/usr/bin/env bash
# A local PostgreSQL cluster for `make run`, `make test` and `make bench`.
#
#   scripts/pg.sh start DIR   create (once) and start a cluster in DIR on a free loopback port;
#                             prints the DATABASE_URL of its `kontor` database on stdout
#   scripts/pg.sh stop DIR    stop the cluster in DIR (by the pid in its postmaster.pid)
#   scripts/pg.sh standby URL DIR
#                             a streaming replica of the cluster at URL (one started by this
#                             script): pg_basebackup -R into DIR, started read-only on a free
#                             port; prints the DATABASE_URL of its `kontor` database
#
# PostgreSQL refuses to run as root, so when we are root the cluster belongs to the `postgres`
# system user. Installs Debian's postgresql package when initdb / pg_ctl are missing.
set -euo pipefail

log() { echo "pg.sh: $*" >&2; }

find_bin() {
    local name=$1 dir
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/$name" ]; then echo "$dir/$name"; return; fi
    done
    return 1
}

ensure_binaries() {
    if find_bin initdb >/dev/null && find_bin pg_ctl >/dev/null; then return; fi
    log "initdb/pg_ctl not found: installing the postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    find_bin initdb >/dev/null || { log "postgresql installed but initdb is still missing"; exit 1; }
}

as_owner() {
    # From /: the postgres user may not be allowed into the current directory.
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Where the cluster of DIR keeps its data: DIR/data, unless the postgres user cannot reach DIR
# (a clone in root's home, mode 0700, or any private directory). Then the data lives under
# /var/tmp/kontor-pg/, in a folder named after DIR, and DIR/datadir says where.
data_dir() {
    local dir=$1
    if [ -f "$dir/datadir" ]; then cat "$dir/datadir"; else echo "$dir/data"; fi
}

choose_data_dir() {
    local dir=$1
    if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$dir" -a -w "$dir" 2>/dev/null; then
        rm -f "$dir/datadir"
        return
    fi
    local alt
    alt=/var/tmp/kontor-pg/$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
    # A new mapping starts a new cluster, as DIR/data would (a test run removes DIR each time).
    rm -rf "$alt"
    mkdir -p "$alt"
    chmod 755 /var/tmp/kontor-pg
    chown postgres: "$alt"
    chmod 700 "$alt"
    echo "$alt/data" > "$dir/datadir"
    log "postgres cannot enter $dir: keeping the cluster's data in $alt"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
    local dir=$1
    ensure_binaries
    local initdb pg_ctl pg_isready
    initdb=$(find_bin initdb); pg_ctl=$(find_bin pg_ctl); pg_isready=$(find_bin pg_isready)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        chown postgres: "$dir"
    fi
    [ -f "$dir/datadir" ] || choose_data_dir "$dir"
    local data; data=$(data_dir "$dir")
    if [ ! -f "$data/PG_VERSION" ]; then
        log "creating cluster in $data"
        rm -rf "$data"
        as_owner "$initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null 2>&1 \
            || as_owner "$initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >&2
    fi
    local port
    if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(free_port); echo "$port" > "$dir/port"; fi
    if ! as_owner "$pg_ctl" -D "$data" status >/dev/null 2>&1; then
        # The saved port may have been taken by something else since; pick a new one then.
        if ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $port))" 2>/dev/null; then
            port=$(free_port); echo "$port" > "$dir/port"
        fi
        log "starting PostgreSQL on 127.0.0.1:$port"
        as_owner "$pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$data' -c max_connections=200 ${PG_EXTRA_OPTS:-}" \
            start >/dev/null
    fi
    local i
    for i in $(seq 1 60); do
        "$pg_isready" -q -h 127.0.0.1 -p "$port" && break
        sleep 0.5
    done
    local psql; psql=$(find_bin psql)
    "$psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kontor'" | grep -q 1 \
        || "$psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE kontor" >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/kontor"
}

stop() {
    local dir=$1
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    local data; data=$(data_dir "$dir")
    [ -f "$data/postmaster.pid" ] || return 0
    local pg_ctl; pg_ctl=$(find_bin pg_ctl)
    as_owner "$pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || {
        local pid; pid=$(head -1 "$data/postmaster.pid")
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    }
}

standby() {
    local url=$1 dir=$2
    ensure_binaries
    local pg_basebackup pg_ctl pg_isready
    pg_basebackup=$(find_bin pg_basebackup); pg_ctl=$(find_bin pg_ctl); pg_isready=$(find_bin pg_isready)
    local primary_port; primary_port=$(printf '%s' "$url" | sed -E 's#.*:([0-9]+)/.*#\1#')
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    [ -f "$dir/datadir" ] || choose_data_dir "$dir"
    local data; data=$(data_dir "$dir")
    rm -rf "$data"
    log "standby of 127.0.0.1:$primary_port in $data"
    as_owner "$pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$data" -R -X stream -c fast >&2
    local port; port=$(free_port); echo "$port" > "$dir/port"
    as_owner "$pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$data' -c hot_standby=on -c max_connections=200 ${PG_EXTRA_OPTS:-}" \
        start >/dev/null
    local i
    for i in $(seq 1 60); do
        "$pg_isready" -q -h 127.0.0.1 -p "$port" && break
        sleep 0.5
    done
    echo "postgres://postgres@127.0.0.1:$port/kontor"
}

case "${1:-}" in
    start) start "${2:?directory}" ;;
    standby) standby "${2:?primary url}" "${3:?directory}" ;;
    stop) stop "${2:?directory}" ;;
    *) echo "usage: $0 start|stop DIR, or $0 standby URL DIR" >&2; exit 2 ;;
esac
