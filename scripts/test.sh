#!/bin/sh
# Runs the meson test suite in each build dir given, then prints one
# summary line over all of them: "N passed, N failed". The checks a
# suite skipped (TAP "# SKIP") are listed after its run.
#   sh scripts/test.sh DIR... [DIR:SUITE...]
# DIR:SUITE runs that suite of DIR only (build-tsan:tsan, the suites that
# run threads, in the ThreadSanitizer build; build-debug:unit and
# build-clang:unit, the unit tests in the unoptimised and clang builds).
# A ThreadSanitizer report fails the run whichever test it came from and
# whatever that test checked: TSan writes every report to a file of its
# own (log_path), and each such file counts as one failure more (the test
# whose process it stopped, exit 66, may count as one too).
set -u
passed=0
failed=0
status=0

# python3 as the interpreter itself. Where `python3` on PATH is a version
# manager's shim (pyenv's is a bash script: 0.3 s a call on the AMD host
# of docs/PERFORMANCE.md, against 0.03 s for the interpreter), the
# suites' hundreds of calls cost minutes: the oom suite's allocation
# counter alone is 276 of them. A directory of our own with a python3 that
# execs the interpreter goes first on PATH; nothing else is shadowed. (A
# script, not a link: a virtual environment's interpreter finds its
# pyvenv.cfg beside the path it is started by.)
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || py=
case $py in *\'*) py= ;; esac # quoted in the script below
shim=$(command -v python3 2>/dev/null) || shim=
if [ -n "$py" ] && [ -x "$py" ] && [ "$shim" != "$py" ] &&
    pydir=$(mktemp -d "${TMPDIR:-/tmp}/medcrypt-py.XXXXXX"); then
    trap 'rm -rf "$pydir"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    printf '#!/bin/sh\nexec %s "$@"\n' "'$py'" >"$pydir/python3"
    chmod 755 "$pydir/python3"
    PATH=$pydir:$PATH
    export PATH
    echo "== python3 is $py here, not $shim"
fi
for arg in "$@"; do
    dir=${arg%%:*}
    suite=
    [ "$dir" = "$arg" ] || suite=${arg#*:}
    echo "== meson test -C $dir${suite:+ --suite $suite}"
    case $dir in /*) reports=$dir/meson-logs/tsan ;; *) reports=$(pwd)/$dir/meson-logs/tsan ;; esac
    rm -rf "$reports"
    mkdir -p "$reports"
    # TSan maps its shadow at fixed addresses; on a kernel whose mmap
    # randomisation uses more bits than it expects (vm.mmap_rnd_bits 32)
    # a process dies at start. Without address randomisation it runs
    # wherever the kernel allows personality(2) (a container whose
    # seccomp profile refuses it runs them as they are).
    norand=
    if [ "$suite" = tsan ] && setarch "$(uname -m)" -R true 2>/dev/null; then
        norand="setarch $(uname -m) -R"
    fi
    # Where even so the sanitizer cannot start (both refused: a FATAL or
    # CHECK failure before main, never a report), its suite is skipped
    # with the reason, not failed: the machine, not the code.
    if [ "$suite" = tsan ] && [ -x "$dir/cli/medcrypt" ] &&
        ! $norand "$dir/cli/medcrypt" --version >/dev/null 2>"$reports/start" &&
        grep -q -E 'FATAL: ThreadSanitizer|Sanitizer: CHECK failed' "$reports/start"; then
        echo "== suite $suite of $dir skipped: its sanitizer cannot start on this machine:"
        head -3 "$reports/start"
        continue
    fi
    rm -f "$reports/start"
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/report" \
        $norand meson test -C "$dir" --print-errorlogs --num-processes 2 \
        ${suite:+--suite "$suite"} || status=1
    log="$dir/meson-logs/testlog.json"
    if [ -f "$log" ]; then
        p=$(grep -c '"result": "OK"' "$log" || true)
        f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
        passed=$((passed + p))
        failed=$((failed + f))
    else
        status=1
    fi
    # A check skipped (a tool missing, a sanitizer in the way) is no
    # failure, but said here, where a reader of CI's log looks.
    if [ -f "$dir/meson-logs/testlog.txt" ] &&
        grep -q '# SKIP' "$dir/meson-logs/testlog.txt"; then
        echo "== checks skipped in $dir:"
        grep -h '# SKIP' "$dir/meson-logs/testlog.txt" | sed 's/^/   /'
    fi
    for r in "$reports"/report*; do
        [ -e "$r" ] || continue
        echo "== ThreadSanitizer report in $dir: $r"
        head -60 "$r"
        failed=$((failed + 1))
    done
done
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
