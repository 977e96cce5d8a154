#!/bin/sh
# Runs the meson test suite in each build dir given, then prints one
# summary line over all of them: "N passed, N failed".
set -u
passed=0
failed=0
status=0
for dir in "$@"; do
    echo "== meson test -C $dir"
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
    log="$dir/meson-logs/testlog.json"
    if [ -f "$log" ]; then
        p=$(grep -c '"result": "OK"' "$log" || true)
        f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
        passed=$((passed + p))
        failed=$((failed + f))
    else
        status=1
    fi
done
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
