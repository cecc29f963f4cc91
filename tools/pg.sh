#!/usr/bin/env bash
# pg.sh - the embedded PostgreSQL: a private cluster in a folder of the
# project, reachable only through its own unix socket.
#
#   tools/pg.sh start DIR     create (first time) and start; prints the admin URL
#   tools/pg.sh stop DIR      fast shutdown
#   tools/pg.sh crash DIR     restart -m immediate (what a power cut looks like)
#   tools/pg.sh url DIR       the admin URL (database postgres)
#   tools/pg.sh status DIR
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to, and
# runs as, the `postgres` system user. If that user cannot reach DIR (a
# project under a private home directory), the cluster lives under
# /var/tmp/airguard-pg-<hash of DIR> and DIR links to it.
set -euo pipefail

cmd=${1:?usage: pg.sh start|stop|crash|url|status DIR}
dir=${2:?usage: pg.sh $cmd DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/pg_ctl" ] || { echo "pg.sh: PostgreSQL server binaries not found (make deps)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Where the cluster really is: DIR itself when its owner can reach it.
home=$dir
if [ "$(id -u)" -eq 0 ]; then
    if [ -L "$dir/cluster" ]; then
        home=$(readlink "$dir/cluster")
    elif ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
        home=/var/tmp/airguard-pg-$(printf '%s' "$dir" | md5sum | cut -c1-12)
        mkdir -p "$home"
        ln -sfn "$home" "$dir/cluster"
        echo "pg.sh: postgres cannot reach $dir; cluster kept in $home" >&2
    fi
fi
data=$home/data
sock=$home/run
log=$home/postgres.log

url() { echo "postgresql:///postgres?host=$sock&user=postgres"; }

init() {
    [ -f "$data/PG_VERSION" ] && return 0
    mkdir -p "$home"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$home"
    as_owner mkdir -p "$sock"
    as_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
    cat >>"$data/postgresql.conf" <<CONF
# airguard embedded cluster: unix socket only, durable commits.
listen_addresses = ''
unix_socket_directories = '$sock'
unix_socket_permissions = 0770
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
CONF
}

case $cmd in
start)
    init
    if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null
    fi
    url
    ;;
stop)
    [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
crash)
    as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -m immediate -w -t 60 restart >/dev/null
    ;;
url)
    url
    ;;
status)
    as_owner "$bindir/pg_ctl" -D "$data" status
    ;;
*)
    echo "pg.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
