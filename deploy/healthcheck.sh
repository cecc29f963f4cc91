#!/bin/sh
# airguard-healthcheck - the HEALTHCHECK of every airguard service image:
# `airguard health` against the container's own control endpoint, taken
# from AIRGUARD_HEALTH_ENDPOINT, else AIRGUARD_CONTROL_ENDPOINT, else the
# `control:` key of $AIRGUARD_CONFIG; a wildcard bind address becomes
# 127.0.0.1. Exit 0 healthy, 1 not (Docker's convention).
ep=${AIRGUARD_HEALTH_ENDPOINT:-${AIRGUARD_CONTROL_ENDPOINT:-}}
if [ -z "$ep" ] && [ -r "${AIRGUARD_CONFIG:-}" ]; then
    ep=$(sed -n 's/^control:[[:space:]]*["'\'']\{0,1\}\([^"'\''#[:space:]]*\).*/\1/p' "$AIRGUARD_CONFIG" | head -n 1)
fi
[ -n "$ep" ] || { echo "airguard-healthcheck: no control endpoint known" >&2; exit 1; }
ep=$(printf '%s' "$ep" | sed -e 's#^tcp://0\.0\.0\.0:#tcp://127.0.0.1:#' -e 's#^tcp://\*:#tcp://127.0.0.1:#' \
    -e 's#^tcp://\[::\]:#tcp://127.0.0.1:#')
airguard health --endpoint "$ep" --timeout-ms 2000 --retries 1 || exit 1
