#!/usr/bin/env bash
# deps.sh - installs the Debian packages airguard needs to build, test and run,
# if any is missing. Run as root on Debian 12; prints what it installs.
set -euo pipefail

needed=(gcc make pkg-config libzmq3-dev libmsgpack-dev libpq-dev libyaml-dev libsodium-dev
        postgresql-15 postgresql-client-15 util-linux jq python3
        clang libclang-rt-14-dev)   # clang + libFuzzer: tests/fuzz
missing=()
for p in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}; run 'make deps' as root or install them" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
