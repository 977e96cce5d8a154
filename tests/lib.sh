# Shared by the shell test suites (sourced; POSIX sh). Each suite runs as
#     sh tests/SUITE.sh /path/to/medcrypt /path/to/testdata
# prints "ok - ..." / "not ok - ..." lines and ends with the summary line
# "N passed, M failed" (exit 1 if any failed).

LC_ALL=C
export LC_ALL
umask 022
unset MEDCRYPT_KEY

PASS=0
FAIL=0
SKIP=0

# tl_args SUITE "$@": MC and TESTDATA, absolute, or a usage error (exit 2).
tl_args() {
    tl_suite=$1
    shift
    if [ $# -ne 2 ]; then
        echo "usage: sh tests/$tl_suite /path/to/medcrypt /path/to/testdata" >&2
        exit 2
    fi
    case $1 in /*) MC=$1 ;; *) MC=$(pwd)/$1 ;; esac
    case $2 in /*) TESTDATA=$2 ;; *) TESTDATA=$(pwd)/$2 ;; esac
    if [ ! -x "$MC" ] || [ ! -d "$TESTDATA" ]; then
        echo "$tl_suite: $MC is not an executable or $TESTDATA is not a directory" >&2
        exit 2
    fi
}

# pngsplice IN OUT [WHERE:TYPE[=TEXT | :HEX]]...: a copy of the PNG IN with
# chunks spliced in after IHDR or before IEND, as another program would
# (tests/pngsplice.py, which says how).
TL_DIR=$(cd "$(dirname "$0")" && pwd)
pngsplice() {
    python3 "$TL_DIR/pngsplice.py" "$@"
}

ok() {
    PASS=$((PASS + 1))
    printf 'ok - %s\n' "$1"
}

not_ok() {
    FAIL=$((FAIL + 1))
    printf 'not ok - %s\n' "$1"
}

# skip DESC WHY: counted apart, never as a failure.
skip() {
    SKIP=$((SKIP + 1))
    printf 'ok - %s # SKIP %s\n' "$1" "$2"
}

# check DESC COMMAND...: ok if the command succeeds.
check() {
    tl_desc=$1
    shift
    if "$@"; then ok "$tl_desc"; else not_ok "$tl_desc"; fi
}

# assert_no_text DESC FILE TEXT...: FILE (any bytes) is there and contains
# none of TEXTs (fixed strings): what output, a page or a log must never
# show. A missing FILE fails (`! grep` alone would pass on it).
assert_no_text() {
    ant_desc=$1
    ant_file=$2
    shift 2
    if [ ! -r "$ant_file" ]; then
        not_ok "$ant_desc ($(basename "$ant_file") is missing)"
        return
    fi
    ant_bad=
    for ant_t in "$@"; do
        if grep -aqF -- "$ant_t" "$ant_file"; then
            ant_bad="$ant_bad '$ant_t'"
        fi
    done
    if [ -z "$ant_bad" ]; then
        ok "$ant_desc"
    else
        not_ok "$ant_desc (found$ant_bad in $(basename "$ant_file"))"
    fi
}

# medcrypt itself; a function so that failure details read "mc VERB ...".
mc() {
    "$MC" "$@"
}

# stop_server PID [SIGNAL]: SIGTERM (or SIGNAL: INT), then a bounded
# wait; returns the exit status (124 if it had to be killed). For the
# suites that start servers.
stop_server() {
    kill -"${2:-TERM}" "$1" 2>/dev/null
    i=0
    while [ $i -lt 100 ] && kill -0 "$1" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$1" 2>/dev/null; then
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        return 124
    fi
    wait "$1"
}

# The summary line and the exit status.
tl_finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}
