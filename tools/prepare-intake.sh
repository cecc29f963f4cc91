#!/usr/bin/env bash
# prepare-intake.sh - for `make run`: makes intake's CURVE keys on first use
# and prints the environment intake runs with (one VAR=value per line).
#
#   tools/prepare-intake.sh [BUILD [KEYS_DIR]]     (defaults build, var/keys)
#
# KEYS_DIR/intake-server.{key,pub}  the server's key pair
# KEYS_DIR/operator.{key,pub}       the operator CLI's key pair, allowed to
#                                   send every event type as source "cli"
# KEYS_DIR/intake-clients.yaml      the allow-list naming the operator key
# KEYS_DIR/intake-contact.key       the key sealing tips' contacts at rest
#                                   (include/keyring.h: "<id> <64 hex digits>")
set -euo pipefail
build=${1:-build}
keys=${2:-var/keys}
mkdir -p "$keys"
chmod 700 "$keys"
keys=$(cd "$keys" && pwd)
[ -f "$keys/intake-server.key" ] || "$build/bin/airguard" keygen --out "$keys/intake-server" >/dev/null
[ -f "$keys/operator.key" ] || "$build/bin/airguard" keygen --out "$keys/operator" >/dev/null
if [ ! -f "$keys/intake-clients.yaml" ]; then
    cat >"$keys/intake-clients.yaml" <<YAML
# Made by tools/prepare-intake.sh for make run: the local operator CLI.
clients:
  - source: cli
    keys: ['$(cat "$keys/operator.pub")']
    types: ['*']
YAML
fi
if [ ! -f "$keys/intake-contact.key" ]; then
    (umask 077 && echo "1 $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$keys/intake-contact.key")
fi
echo "AIRGUARD_INTAKE_SECRET_KEY_FILE=$keys/intake-server.key"
echo "AIRGUARD_INTAKE_CONTACT_KEY_FILE=$keys/intake-contact.key"
echo "AIRGUARD_INTAKE_ALLOW_LIST=$keys/intake-clients.yaml"
