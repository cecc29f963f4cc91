#!/usr/bin/env bash
# dispatch_rules.sh - `airguard-dispatch --check-rules` as an operator runs
# it before a restart: both seeds pass (exit 0, one OK line each); a copy
# of a seed with a rule naming an unknown unit fails with exit 1 and names
# the file, the line and the unit; a good and a broken file together fail;
# a usage error is exit 2. No database needed.
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"

D=$AG_BIN/airguard-dispatch
BAIYANG=$AG_ROOT/seeds/baiyang-2019.yaml
SHANHE=$AG_ROOT/seeds/demo-shanhe.yaml

check_seeds() {
    local out
    out=$("$D" --check-rules "$BAIYANG" "$SHANHE") || return 1
    grep -q "baiyang-2019.yaml: OK (baiyang," <<<"$out" && grep -q "demo-shanhe.yaml: OK (shanhe," <<<"$out"
}
ag_check "both seeds' dispatch rules pass" check_seeds

sed 's/^  default: coordination$/  default: coordinaton/' "$BAIYANG" >"$AG_WORK/broken.yaml"
line=$(grep -n '^  default: coordinaton$' "$AG_WORK/broken.yaml" | cut -d: -f1)
check_broken() { # fails, and names the file, the line and the unit
    local out rc
    out=$("$D" --check-rules "$AG_WORK/broken.yaml" 2>&1)
    rc=$?
    [ "$rc" -eq 1 ] && [ -n "$line" ] &&
        grep -qF "broken.yaml:$line: default: unknown unit 'coordinaton'" <<<"$out"
}
ag_check "a rule naming an unknown unit: exit 1, file:line and the unit" check_broken

check_mixed() { # the good file is still reported, the run fails
    local out rc
    out=$("$D" --check-rules "$SHANHE" "$AG_WORK/broken.yaml" 2>&1)
    rc=$?
    [ "$rc" -eq 1 ] && grep -q "demo-shanhe.yaml: OK" <<<"$out" && grep -q "broken.yaml:$line:" <<<"$out"
}
ag_check "a good and a broken file: exit 1, both reported" check_mixed

check_usage() {
    "$D" --check-rules >/dev/null 2>&1
    [ $? -eq 2 ] || return 1
    # Without --check-rules it is the service: an unknown argument refuses to start.
    timeout 10 "$D" --bogus >/dev/null 2>&1
    [ $? -eq 1 ]
}
ag_check "usage errors: --check-rules without files exits 2, an unknown argument 1" check_usage

ag_summary
