#!/usr/bin/env bash
# run.sh - runs every test and prints one total line "N passed, N failed".
#
#   tests/run.sh BUILD_DIR [unit|integration|fuzz|all]
#
# Unit tests are the build's tests/test_* programs. Integration tests are
# tests/integration/*.sh: real processes, real sockets, and a real
# PostgreSQL cluster that this script creates under var/test/pg for the run
# and removes afterwards (or the server in AIRGUARD_TEST_ADMIN_URL, where
# each test creates and drops its own databases). The fuzz part runs every
# libFuzzer harness of build/fuzz (AG_FUZZ_BUILD) for AG_FUZZ_SECONDS (3)
# each, after its kept regression inputs (tests/fuzz/run.sh).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [unit|integration|fuzz|all]}" && pwd)
what=${2:-all}
cd "$root"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
broken=()

# Adds the "N passed, N failed" line of one program's output to the totals;
# a program that crashed or printed no such line counts as one failure.
tally() {
    local name=$1 out=$2 rc=$3 line p f
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [ -z "$line" ]; then
        failed=$((failed + 1))
        broken+=("$name (exit $rc, no summary line)")
        return
    fi
    p=${line%% passed*}
    f=${line#*, }
    f=${f%% failed*}
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then broken+=("$name"); fi
}

if [ "$what" = unit ] || [ "$what" = all ]; then
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        echo "== $(basename "$t")"
        out=$(mktemp)
        "$t" >"$out" 2>&1
        rc=$?
        grep -E '^(FAIL|  FAIL)|ERROR|runtime error' "$out" || true
        tally "$(basename "$t")" "$out" "$rc"
        tail -n 1 "$out"
        rm -f "$out"
    done
fi

if [ "$what" = fuzz ] || [ "$what" = all ]; then
    echo "== fuzz"
    out=$(mktemp)
    work=$(mktemp -d)
    AG_FUZZ_CORPUS=$work tests/fuzz/run.sh "${AG_FUZZ_BUILD:-build/fuzz}" "${AG_FUZZ_SECONDS:-3}" \
        >"$out" 2>"$out.err"
    rc=$?
    rm -rf "$work"
    cat "$out"
    [ "$rc" -ne 0 ] && tail -n 60 "$out.err"
    tally fuzz "$out" "$rc"
    rm -f "$out" "$out.err"
fi

if [ "$what" = integration ] || [ "$what" = all ]; then
    if [ -z "${AIRGUARD_TEST_ADMIN_URL:-}" ]; then
        export AG_PG_DIR=$root/var/test/pg
        tools/pg.sh stop "$AG_PG_DIR" 2>/dev/null
        rm -rf "$AG_PG_DIR" "$root"/var/test/pg-cluster-* 2>/dev/null
        [ -L "$AG_PG_DIR/cluster" ] && rm -rf "$(readlink "$AG_PG_DIR/cluster")"
        tools/pg.sh start "$AG_PG_DIR" >/dev/null || { echo "cannot start the test PostgreSQL"; echo "0 passed, 1 failed"; exit 1; }
    fi
    for t in tests/integration/*.sh; do
        echo "== $(basename "$t")"
        out=$(mktemp)
        AG_BUILD=$build bash "$t" >"$out" 2>"$out.err"
        rc=$?
        cat "$out"
        [ "$rc" -ne 0 ] && tail -n 60 "$out.err"
        tally "$(basename "$t")" "$out" "$rc"
        rm -f "$out" "$out.err"
    done
    if [ -n "${AG_PG_DIR:-}" ]; then
        tools/pg.sh stop "$AG_PG_DIR"
        [ -L "$AG_PG_DIR/cluster" ] && rm -rf "$(readlink "$AG_PG_DIR/cluster")"
        rm -rf "$AG_PG_DIR"
    fi
fi

echo
for b in "${broken[@]}"; do echo "failing: $b"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
