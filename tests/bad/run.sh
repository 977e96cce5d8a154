#!/bin/sh
# The bad-input suite (issue 9): hostile files through the medcrypt CLI.
#
#     sh tests/bad/run.sh /abs/path/to/medcrypt /abs/path/to/testdata
#
# tests/bad/gen.py writes the hostile files into a fresh temporary
# directory at test time (never into the repository or the test data):
# plain_* are given to `medcrypt encrypt`, cipher_* (edited from a real
# cipher image made here, CRCs fixed) to `medcrypt decrypt`. Each must give
# exit 1, exactly one line "medcrypt: FILE: problem" on stderr (plus the
# one hint line decrypt prints by design after "not a medcrypt cipher
# image"), no output file and no temporary file, within `timeout 20` and,
# for a build without ASan, `ulimit -v 4000000` (4 GB of address space).
# `medcrypt info` on each must exit 0 or 1. The well-formed files the
# hostile ones are cut from (gen.py's ok/) must be accepted.
#
# Every check prints "ok - ..." or "not ok - ..."; the last line is
# "N passed, M failed", and the exit status is 1 if any check failed.

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
tl_args bad/run.sh "$@"
PY=$(command -v python3) || { echo "run.sh: python3 is needed" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/medcrypt-bad.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM
G=$T/g # the hostile files (read-only to medcrypt's eyes: copied into W)
W=$T/w # where medcrypt runs: checked for leftovers
R=$T/r # captured output
mkdir "$G" "$W" "$R" || exit 2

# A sanitizer report must not pass for an ordinary "exit 1".
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=98"
export ASAN_OPTIONS UBSAN_OPTIONS
# ASan reserves terabytes of address space: no ulimit -v under it.
if grep -aq __asan_init "$MC" 2>/dev/null; then
    MEMLIMIT=
    echo "# $MC is built with ASan: no address-space limit"
else
    MEMLIMIT=4000000
fi

# bounded CMD...: runs CMD in W under timeout 20 (and the memory limit),
# stdin /dev/null, stdout to R/out, stderr to R/err; RC = its status.
bounded() {
    (
        # shellcheck disable=SC3045 # dash and bash both have ulimit -v
        [ -z "$MEMLIMIT" ] || ulimit -v "$MEMLIMIT"
        cd "$W" && exec timeout 20 "$@"
    ) </dev/null >"$R/out" 2>"$R/err"
    RC=$?
}

err_text() {
    tr '\n' '|' <"$R/err" | cut -c1-300
}

"$MC" keygen --aadhaar "2345 6789 0124" --dob 1990-05-17 -o "$R/k.key" >/dev/null 2>&1 ||
    { echo "run.sh: keygen failed" >&2; exit 2; }

# The cipher image the cipher_* files are edited from: 3x2 RGB, 8-bit.
if ! "$PY" -c "
import sys; sys.path.insert(0, sys.argv[1]); import gen
open(sys.argv[2], 'wb').write(gen.png(3, 2, 8, 2))" "$HERE" "$R/small.png" ||
    ! "$MC" encrypt -k "$R/k.key" -o "$R/small.enc.png" "$R/small.png" 2>"$R/err"; then
    echo "run.sh: cannot make the base cipher image: $(err_text)" >&2
    exit 2
fi
N_GEN=$("$PY" "$HERE/gen.py" "$G" --testdata "$TESTDATA" --cipher "$R/small.enc.png") ||
    { echo "run.sh: gen.py failed" >&2; exit 2; }
if [ "$N_GEN" -ge 40 ]; then
    ok "gen.py wrote $N_GEN hostile files (at least 40)"
else
    not_ok "gen.py wrote $N_GEN hostile files (at least 40 expected)"
fi

# The base files are accepted: each refusal below is due to the damage.
for f in "$G"/ok/*; do
    b=$(basename "$f")
    cp "$f" "$W/$b"
    bounded "$MC" encrypt -k "$R/k.key" "$b"
    if [ "$RC" -eq 0 ] && [ -f "$W/$b.enc.png" ]; then
        ok "base file $b is accepted"
    else
        not_ok "base file $b is accepted (exit $RC: $(err_text))"
    fi
    rm -f "$W/$b" "$W/$b.enc.png"
done
cp "$R/small.enc.png" "$W/base.enc.png"
bounded "$MC" decrypt -k "$R/k.key" base.enc.png
if [ "$RC" -eq 0 ]; then
    ok "base cipher image decrypts"
else
    not_ok "base cipher image decrypts (exit $RC: $(err_text))"
fi
rm -f "$W"/base*

# check_refused FILE VERB: the last run refused FILE as required.
check_refused() {
    cr_f=$1
    cr_n=$(awk 'END { print NR }' "$R/err")
    cr_l1=$(sed -n 1p "$R/err")
    cr_why=
    if [ "$RC" -eq 124 ]; then
        cr_why="timed out after 20 s"
    elif [ "$RC" -ne 1 ]; then
        cr_why="exit $RC"
    fi
    case $cr_l1 in
    "medcrypt: $cr_f: "?*) ;;
    *) cr_why="$cr_why${cr_why:+; }first line is not 'medcrypt: $cr_f: problem'" ;;
    esac
    cr_hints=0
    case $cr_l1 in *"not a medcrypt cipher image"*) [ "$2" = decrypt ] && cr_hints=1 ;; esac
    case $cr_l1 in *"image too large"*) cr_hints=1 ;; esac # --max-pixels
    case $cr_l1 in *"modified or damaged"*) cr_hints=1 ;; esac # cut short: fetch it again
    if [ "$cr_n" -lt 1 ] || [ "$cr_n" -gt $((1 + cr_hints)) ]; then
        cr_why="$cr_why${cr_why:+; }$cr_n lines on stderr"
    elif [ "$cr_n" -eq 2 ] && ! sed -n 2p "$R/err" | grep -q '^medcrypt: hint: '; then
        cr_why="$cr_why${cr_why:+; }second line is not a hint"
    fi
    if [ "$2" = decrypt ]; then
        case $cr_l1 in
        *"modified or damaged"* | *"unsupported format version"* | \
            *"not a medcrypt cipher image"*) ;;
        *) cr_why="$cr_why${cr_why:+; }not refused as a damaged cipher image" ;;
        esac
    fi
    cr_left=$(find "$W" -mindepth 1 -maxdepth 1 ! -name "$cr_f" -exec basename {} \; | tr '\n' ' ')
    [ -z "$cr_left" ] || cr_why="$cr_why${cr_why:+; }left behind: $cr_left"
    [ -s "$R/out" ] && cr_why="$cr_why${cr_why:+; }wrote to stdout"
    if [ -z "$cr_why" ]; then
        ok "$2 $cr_f: refused ($(printf '%s' "$cr_l1" | cut -c$((13 + ${#cr_f}))-))"
    else
        not_ok "$2 $cr_f: $cr_why (stderr: $(err_text))"
    fi
}

N_FILES=0
N_INFO=0
for f in "$G"/plain_* "$G"/cipher_*; do
    b=$(basename "$f")
    case $b in cipher_*) verb=decrypt ;; *) verb=encrypt ;; esac
    cp "$f" "$W/$b"
    bounded "$MC" "$verb" -k "$R/k.key" "$b"
    check_refused "$b" "$verb"
    N_FILES=$((N_FILES + 1))
    # medcrypt info describes or refuses; it never crashes or hangs.
    bounded "$MC" info "$b"
    if [ "$RC" -eq 0 ] || [ "$RC" -eq 1 ]; then
        N_INFO=$((N_INFO + 1))
    else
        not_ok "info $b: exit $RC (0 or 1 expected; stderr: $(err_text))"
    fi
    rm -rf "${W:?}"/* "$W"/.[!.]* 2>/dev/null
done
if [ "$N_INFO" -eq "$N_FILES" ]; then
    ok "medcrypt info on each of the $N_FILES hostile files exits 0 or 1"
fi

# Every input a fuzzer ever crashed on (fuzz/regressions), through the
# command: under ASan the file's buffer is poisoned past its last byte
# (mc__huge_poison_after), so a read past the end is caught here as in
# the fuzzers' exact-size buffers (the V2 BMP header's alpha mask was).
N_REG=0
N_REG_ALL=0
for f in "$HERE"/../../fuzz/regressions/*/*; do
    [ -f "$f" ] || continue
    N_REG_ALL=$((N_REG_ALL + 1))
    cp "$f" "$W/regression"
    bounded "$MC" info regression
    if [ "$RC" -eq 0 ] || [ "$RC" -eq 1 ]; then
        N_REG=$((N_REG + 1))
    else
        not_ok "info on fuzz regression $(basename "$f"): exit $RC (stderr: $(err_text))"
    fi
    rm -f "$W/regression"
done
if [ "$N_REG_ALL" -gt 0 ] && [ "$N_REG" -eq "$N_REG_ALL" ]; then
    ok "medcrypt info on each of the $N_REG fuzz regression inputs exits 0 or 1"
elif [ "$N_REG_ALL" -eq 0 ]; then
    not_ok "no fuzz regression input found under fuzz/regressions"
fi

echo "# $N_FILES hostile files tried: $PASS checks passed"
tl_finish
