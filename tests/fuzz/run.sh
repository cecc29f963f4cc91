#!/usr/bin/env bash
# run.sh - runs every libFuzzer harness in tests/fuzz and prints one line
# "N passed, N failed" (one check per harness).
#
#   tests/fuzz/run.sh FUZZ_BUILD_DIR SECONDS [HARNESS...]
#
# For each harness, first every kept regression input
# (tests/fuzz/regressions/<harness>/, each once), then SECONDS of fuzzing
# from the committed seeds (tests/fuzz/corpus/<harness>/). New inputs go to
# $AG_FUZZ_CORPUS/<harness>/ (default var/fuzz/corpus, which grows from run
# to run of make fuzz; make test passes a fresh one, so its few seconds do
# not depend on an earlier run); nothing there is committed. A crash is
# written to var/fuzz/crashes/<harness>/ and the log says how to keep it
# as a regression input.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: run.sh FUZZ_BUILD_DIR SECONDS [HARNESS...]}" && pwd)
seconds=${2:?usage: run.sh FUZZ_BUILD_DIR SECONDS [HARNESS...]}
shift 2
cd "$root"
# libFuzzer reports leaks and crashes itself; keep UBSan fatal either way.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
    for src in tests/fuzz/fuzz_*.c; do harnesses+=("$(basename "$src" .c)"); done
fi
passed=0
failed=0
for h in "${harnesses[@]}"; do
    bin=$build/$h
    if [ ! -x "$bin" ]; then
        echo "FAIL $h: $bin is not built (make MODE=fuzz fuzz-build)"
        failed=$((failed + 1))
        continue
    fi
    log=$(mktemp)
    ok=1
    regressions=()
    [ -d "tests/fuzz/regressions/$h" ] &&
        while IFS= read -r f; do regressions+=("$f"); done \
            < <(find "tests/fuzz/regressions/$h" -type f ! -name README | sort)
    if [ ${#regressions[@]} -gt 0 ] && ! "$bin" "${regressions[@]}" >"$log" 2>&1; then
        echo "FAIL $h: a regression input crashes again"
        ok=0
    fi
    corpus=${AG_FUZZ_CORPUS:-var/fuzz/corpus}/$h
    crashes=var/fuzz/crashes/$h
    mkdir -p "$corpus" "$crashes"
    if [ $ok -eq 1 ] && ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "tests/fuzz/corpus/$h" \
        >"$log" 2>&1; then
        echo "FAIL $h: crash found in $seconds s"
        ok=0
    fi
    if [ $ok -eq 1 ]; then
        runs=$(grep -aE '^stat::number_of_executed_units' "$log" | awk '{print $2}')
        echo "ok   $h: ${#regressions[@]} regression inputs, ${runs:-?} runs in $seconds s"
        passed=$((passed + 1))
    else
        grep -aE 'ERROR|SUMMARY|fuzz:|runtime error|Test unit written' "$log" | head -n 20
        tail -n 40 "$log" >&2
        echo "     fix it, then keep the input: mv $crashes/<file> tests/fuzz/regressions/$h/"
        failed=$((failed + 1))
    fi
    rm -f "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
