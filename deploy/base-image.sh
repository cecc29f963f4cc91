#!/usr/bin/env bash
# base-image.sh - makes this machine able to build and run the airguard
# containers when no image registry can be reached:
#
#   deploy/base-image.sh [all]        packages + engine + base image (default)
#   deploy/base-image.sh packages     install docker.io, docker-compose, debootstrap if missing
#   deploy/base-image.sh engine-start start dockerd unless an engine answers
#   deploy/base-image.sh engine-stop  stop dockerd, only if engine-start started it
#   deploy/base-image.sh image        build debian:bookworm-slim locally if missing
#   deploy/base-image.sh mirror [SUITE] print the mirror this machine uses for SUITE
#
# The base image: debootstrap --variant=minbase bookworm into a temporary
# folder, slimmed like the official image (no docs, man pages, locales, apt
# lists), then `docker import` as debian:bookworm-slim. The Debian mirror is
# read at run time from this machine's own apt sources, never written here.
#
# The engine: `dockerd --storage-driver vfs` (works without overlayfs), its
# log and pid in $AIRGUARD_DOCKER_STATE (default /run/airguard-docker). The
# pid file exists only while an engine that we started runs, so engine-stop
# never stops an engine somebody else started.
set -euo pipefail

state=${AIRGUARD_DOCKER_STATE:-/run/airguard-docker}
image=${AIRGUARD_BASE_IMAGE:-debian:bookworm-slim}
suite=bookworm

say() { echo "base-image: $*" >&2; }
die() { say "$*"; exit 1; }

packages() {
    local need=() p
    command -v debootstrap >/dev/null || need+=(debootstrap)
    command -v dockerd >/dev/null || need+=(docker.io)
    command -v docker-compose >/dev/null || need+=(docker-compose)
    command -v docker >/dev/null || need+=(docker.io)
    [ ${#need[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing ${need[*]}; install them as root"
    # shellcheck disable=SC2207
    need=($(printf '%s\n' "${need[@]}" | sort -u))
    say "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    mkdir -p "$state"
    : >"$state/apt.log"
    if ! { apt_locked update -qq && apt_locked install -y -qq --no-install-recommends "${need[@]}"; }; then
        tail -n 20 "$state/apt.log" >&2
        die "installing ${need[*]} failed (log: $state/apt.log)"
    fi
    for p in "${need[@]}"; do dpkg-query -W "$p" >/dev/null || die "could not install $p"; done
}

# apt_locked ARGS...: apt-get ARGS, waiting (up to AIRGUARD_APT_LOCK_WAIT
# seconds, default 600) while another apt or dpkg run holds a lock, instead
# of failing: DPkg::Lock::Timeout covers only dpkg's lock, not the lists and
# archives locks of `apt-get update` and downloads. Output to $state/apt.log.
apt_locked() {
    local limit=${AIRGUARD_APT_LOCK_WAIT:-600} start now
    start=$(date +%s)
    while :; do
        if apt-get -o DPkg::Lock::Timeout=60 "$@" >"$state/apt.try" 2>&1; then
            cat "$state/apt.try" >>"$state/apt.log"
            return 0
        fi
        cat "$state/apt.try" >>"$state/apt.log"
        grep -qE 'Could not get lock|Unable to lock|Unable to acquire the dpkg frontend lock' "$state/apt.try" ||
            return 1
        now=$(date +%s)
        [ $((now - start)) -lt "$limit" ] || { say "apt still locked by another run after ${limit} s"; return 1; }
        [ $((now - start)) -ge 5 ] || say "another apt run holds its lock; waiting (up to ${limit} s)"
        sleep 5
    done
}

engine_up() { timeout 10 docker info >/dev/null 2>&1; }

engine_start() {
    if engine_up; then
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "no Docker engine answers, and starting one needs root"
    command -v dockerd >/dev/null || die "dockerd not found (deploy/base-image.sh packages)"
    mkdir -p "$state"
    say "starting dockerd --storage-driver vfs (log: $state/dockerd.log)"
    # setsid: the engine outlives this script and its terminal.
    setsid dockerd --storage-driver vfs >>"$state/dockerd.log" 2>&1 </dev/null &
    echo $! >"$state/dockerd.pid"
    for _ in $(seq 1 120); do
        engine_up && { say "dockerd up (pid $(cat "$state/dockerd.pid"))"; return 0; }
        kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null || break
        sleep 0.5
    done
    tail -n 20 "$state/dockerd.log" >&2 || true
    rm -f "$state/dockerd.pid"
    die "dockerd did not come up"
}

engine_stop() {
    local pidf=$state/dockerd.pid pid
    [ -f "$pidf" ] || { say "no dockerd started by us; leaving the engine alone"; return 0; }
    pid=$(cat "$pidf")
    if kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/comm" 2>/dev/null; then
        say "stopping dockerd (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$pid" 2>/dev/null && { say "dockerd still running; SIGKILL"; kill -KILL "$pid" || true; }
    fi
    rm -f "$pidf"
}

# The URI that serves suite $1 in this machine's apt sources (one-line
# .list format and deb822 .sources), first match wins; empty when none.
mirror_for() {
    local want=$1 f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk -v s="$want" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
                if ($(i + 1) == s) { print $i; exit }
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v s="$want" '
            function flush() {
                if (!found && types ~ /(^| )deb( |$)/ && enabled !~ /^[Nn]o/ && uris != "") {
                    n = split(suites, a, " ")
                    for (k = 1; k <= n; k++)
                        if (a[k] == s) { split(uris, u, " "); print u[1]; found = 1; exit }
                }
                types = ""; uris = ""; suites = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            { line = $0; sub(/^[^:]*:[ \t]*/, "", line) }
            tolower($1) == "types:" { types = line }
            tolower($1) == "uris:" { uris = line }
            tolower($1) == "suites:" { suites = line }
            tolower($1) == "enabled:" { enabled = line }
            END { flush() }' "$f"
    done | head -n 1
}

build_image() {
    if docker image inspect "$image" >/dev/null 2>&1; then
        say "$image present"
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "building $image needs root (debootstrap)"
    command -v debootstrap >/dev/null || die "debootstrap not found (deploy/base-image.sh packages)"
    local mirror updates security keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    mirror=$(mirror_for "$suite")
    [ -n "$mirror" ] || die "no apt source for suite '$suite' in /etc/apt/sources.list{,.d}"
    updates=$(mirror_for "$suite-updates")
    security=$(mirror_for "$suite-security")
    local extra=()
    [ -r "$keyring" ] && extra+=("--keyring=$keyring")
    case $mirror in https:*) extra+=(--include=ca-certificates) ;; esac

    # A download can come in damaged now and then (seen here once: tzdata
    # failed to unpack five times over); a fresh folder and a second try
    # costs half a minute, a failed CI run much more.
    local root="" attempt
    for attempt in 1 2 3; do
        [ -z "$root" ] || rm -rf "$root"
        root=$(mktemp -d /var/tmp/airguard-rootfs.XXXXXX)
        chmod 755 "$root"   # it becomes the image's /
        # shellcheck disable=SC2064
        trap "rm -rf '$root'" EXIT
        say "debootstrap --variant=minbase $suite (from this machine's apt sources), try $attempt ..."
        if debootstrap --variant=minbase "${extra[@]}" "$suite" "$root" "$mirror" \
            >"$state/debootstrap.log" 2>&1; then
            break
        fi
        cp "$root/debootstrap/debootstrap.log" "$state/debootstrap-inner.log" 2>/dev/null || true
        tail -n 15 "$state/debootstrap.log" >&2
        [ "$attempt" -lt 3 ] || die "debootstrap failed (logs: $state/debootstrap.log, $state/debootstrap-inner.log)"
    done

    # The image's apt sources: the same archive as this machine.
    rm -f "$root/etc/apt/sources.list"
    entry() { printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n\n' "$1" "$2" "$keyring"; }
    {
        if [ "$updates" = "$mirror" ]; then
            entry "$mirror" "$suite $suite-updates"
        else
            entry "$mirror" "$suite"
            [ -z "$updates" ] || entry "$updates" "$suite-updates"
        fi
        [ -z "$security" ] || entry "$security" "$suite-security"
    } >"$root/etc/apt/sources.list.d/debian.sources"

    # Slim, as the official -slim image: no docs, man pages or translations,
    # now or in later installs; no caches; services never start in builds.
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/* \
        "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/var/log/* \
        "$root"/tmp/* "$root"/root/.bash_history
    find "$root/var/lib/apt/lists" -maxdepth 1 -type f -delete   # keeps partial/ as _apt's
    : >"$root/etc/machine-id"
    printf 'nameserver 127.0.0.1\n' >"$root/etc/resolv.conf"   # the engine mounts its own

    say "docker import as $image"
    tar --numeric-owner -C "$root" -c . |
        docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["bash"]' \
            --message "debootstrap --variant=minbase $suite, slimmed (airguard deploy/base-image.sh)" \
            - "$image" >/dev/null
    rm -rf "$root"
    trap - EXIT
    say "$image built: $(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"
}

mkdir -p "$state" 2>/dev/null || state=$(mktemp -d)
case ${1:-all} in
all) packages; engine_start; build_image ;;
packages) packages ;;
engine-start) engine_start ;;
engine-stop) engine_stop ;;
image) engine_start; build_image ;;
mirror) mirror_for "${2:-$suite}" ;;
*) die "usage: base-image.sh [all|packages|engine-start|engine-stop|image]" ;;
esac
