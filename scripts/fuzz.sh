#!/bin/sh
# Runs the libFuzzer targets of fuzz/ (built by `make build-fuzz`; this
# script builds nothing).
#
#   scripts/fuzz.sh [-b BUILD] SECONDS [TARGET...]   fuzz each target SECONDS
#   scripts/fuzz.sh [-b BUILD] --smoke SECONDS TARGET   the same, for meson test
#   scripts/fuzz.sh [-b BUILD] --replay TARGET          seeds + regressions only
#
# TARGET is fuzz_dicom or dicom; none = all. Each run starts from seeds
# taken from ../shared/testdata (by path: nothing is copied into the
# repository) and generated ones (build/fuzz/mkseeds), with the target's
# dictionary (fuzz/dict/). A fuzzing run (not --smoke or --replay) also
# starts from what the runs before it found, kept in fuzz/corpus/TARGET/
# (git-ignored; FUZZ_CORPUS=DIR keeps DIR/TARGET/ instead), and adds
# its own new inputs there, so that runs add up. Crashes are kept in fuzz/findings/TARGET/
# (git-ignored); fixed ones move to fuzz/regressions/TARGET/, which the
# replay test runs. Prints a table: target, seconds, executions, cov, ft,
# crashes. Exit 1 if any target crashed.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-fuzz
MODE=fuzz
while [ $# -gt 0 ]; do
    case $1 in
    -b) BUILD=$2; shift 2 ;;
    --smoke) MODE=smoke; shift ;;
    --replay) MODE=replay; shift ;;
    *) break ;;
    esac
done
if [ "$MODE" = replay ]; then
    SECONDS_EACH=0
else
    SECONDS_EACH=${1:?usage: fuzz.sh [-b BUILD] [--smoke|--replay] SECONDS [TARGET...]}
    shift
fi
TESTDATA=${MC_TESTDATA:-$ROOT/../shared/testdata}
ALL="fuzz_dicom fuzz_png fuzz_container fuzz_bmp fuzz_pnm fuzz_jpeg fuzz_multipart
fuzz_key fuzz_aadhaar fuzz_roundtrip fuzz_metrics"
TARGETS=""
for t in "$@"; do
    [ -n "$t" ] || continue
    case $t in fuzz_*) ;; *) t=fuzz_$t ;; esac
    TARGETS="$TARGETS $t"
done
[ -n "$TARGETS" ] || TARGETS=$ALL

: "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=0}"
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS UBSAN_OPTIONS

[ -x "$BUILD/fuzz/mkseeds" ] || {
    echo "fuzz.sh: error: $BUILD/fuzz/mkseeds missing: run make build-fuzz" >&2
    exit 1
}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/medcrypt-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

# Seeds of a target, written into directory $2 (copies: libFuzzer adds
# to its corpus directory).
seed() {
    t=$1 dir=$2
    mkdir -p "$dir"
    "$BUILD/fuzz/mkseeds" "$WORK/gen" >/dev/null 2>&1 || true
    case $t in
    # fuzz/seeds/TARGET: small inputs testdata lacks (PNG metadata chunks
    # in a low-bit grey's and a palette's terms, for png_meta.c; JPEGs
    # written with libjpeg-turbo 2.1.5 in the modes testdata's two
    # baseline Huffman files do not reach: progressive (T.81 Annex G,
    # jpeg_simple_progression), arithmetic coding (Annex D), both at
    # once, 4:2:2 sampling, a restart marker after every MCU).
    fuzz_png) cp "$TESTDATA"/png/*.png "$ROOT"/fuzz/seeds/fuzz_png/*.png "$dir"/ ;;
    fuzz_pnm) cp "$TESTDATA"/pnm/* "$dir"/ ;;
    fuzz_bmp) cp "$TESTDATA"/bmp/*.bmp "$dir"/ ;;
    fuzz_jpeg) cp "$TESTDATA"/jpeg/*.jpg "$ROOT"/fuzz/seeds/fuzz_jpeg/*.jpg "$dir"/ ;;
    fuzz_dicom) cp "$TESTDATA"/dicom/*.dcm "$TESTDATA"/dicom/unsupported/*.dcm "$dir"/ ;;
    fuzz_container)
        "$BUILD/fuzz/mkseeds" "$dir" "$TESTDATA"/png/edge_*.png "$TESTDATA"/png/rgb*.png \
            "$TESTDATA"/pnm/ascii_* "$TESTDATA"/pnm/ct_small_12bit.pgm \
            "$TESTDATA"/bmp/rgb_24bit_100x100.bmp "$TESTDATA"/dicom/mr_small_implicit_le.dcm \
            "$TESTDATA"/jpeg/rgb_100x100.jpg >/dev/null
        rm -f "$dir"/key-* "$dir"/aadhaar* ;;
    fuzz_key) "$BUILD/fuzz/mkseeds" "$dir" >/dev/null; rm -f "$dir"/aadhaar* ;;
    fuzz_aadhaar) "$BUILD/fuzz/mkseeds" "$dir" >/dev/null; rm -f "$dir"/key-* ;;
    fuzz_roundtrip)
        printf '\003\000\005\000\021\000\000medical image samples' >"$dir/rgb8"
        printf '\377\001\077\007\377\377\017\001\002\003\004' >"$dir/rgba16" ;;
    # fuzz_metrics: the header of fuzz/fuzz_metrics.c (flags, width - 1,
    # height - 1, channels - 1, k, block, pairs, direction, a count of
    # samples, two doubles), then samples: a constant 1x1, a gray 8-bit
    # ramp, a 16-bit RGB with the whole analysis, a 4x4 RGBA with it and no
    # stages, and two with a cipher image given. The counts: 256, 2^20,
    # 2^24, 2^18 (512x512), 3 * 2^30 (a 6 bits length, then the count).
    fuzz_metrics)
        z7='\000\000\000\000\000\000\000'
        half='\000\000\000\000\000\000\340\077' # 0.5
        alpha='\232\231\231\231\231\231\251\077' # 0.05
        df='\000\000\000\000\000\340\157\100' # 255
        printf "\000\000\000\000\001\001\000\000$z7\000$half$df\177" >"$dir/const-1x1"
        printf "\000\017\017\000\003\017\005\001$z7\046$alpha$df%s" \
            0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ >"$dir/ramp-16x16"
        printf "\003\003\002\002\002\004\011\002$z7\126$alpha$half%s" \
            'medical image samples, sixteen bits' >"$dir/rgb16-4x3"
        printf "\007\003\003\003\001\020\000\000$z7\146$alpha$df%s" \
            'RGBA RGBA RGBA RGBA' >"$dir/rgba-4x4"
        # with a cipher image given: of another image; without its key
        printf "\032\007\007\000\001\020\000\000$z7\116$alpha$df%s" \
            'an 8x8 gray image' >"$dir/given-other"
        printf "\113\003\001\002\001\020\000\000\000\000\000\000\000\000\000\203$alpha$df%s" \
            'RGB RGB RGB' >"$dir/given-no-key" ;;
    fuzz_multipart)
        mkdir -p "$WORK/mp"
        "$BUILD/fuzz/mkseeds" "$WORK/mp" "$TESTDATA/png/edge_1x1_gray8.png" >/dev/null
        a=$(cat "$WORK/mp/aadhaar") k=$(cat "$WORK/mp/key-text")
        part() { printf -- '--fuzzBOUNDARY\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' "$1" "$2"; }
        file() {
            printf -- '--fuzzBOUNDARY\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: application/octet-stream\r\n\r\n' "$1" "$2"
            cat "$3"; printf '\r\n'
        }
        # byte 0: route (0 api encrypt, 1 api decrypt, 2 keygen, 3 /encrypt,
        # 4 /decrypt, 5 api analyze, 6 /analyze) + 7 x content type
        # (0 multipart, 1 urlencoded).
        { printf '\000'; part key "$k"
          file image scan.png "$TESTDATA/png/edge_1x1_gray8.png"; printf -- '--fuzzBOUNDARY--\r\n'; } >"$dir/encrypt"
        { printf '\003'; part aadhaar "$a"; part dob 1990-05-17
          file image scan.png "$TESTDATA/png/edge_1x1_gray8.png"; printf -- '--fuzzBOUNDARY--\r\n'; } >"$dir/encrypt-page"
        { printf '\001'; part key "$k"; file cipher c.png "$WORK/mp/cipher-1.png"
          printf -- '--fuzzBOUNDARY--\r\n'; } >"$dir/decrypt"
        { printf '\004'; file key k.key "$WORK/mp/key-file"; file cipher c.png "$WORK/mp/cipher-1.png"
          printf -- '--fuzzBOUNDARY--\r\n'; } >"$dir/decrypt-page"
        { printf '\002'; part aadhaar "$a"; part dob 1990-05-17; printf -- '--fuzzBOUNDARY--\r\n'; } >"$dir/keygen"
        { printf '\011'; printf 'aadhaar=%s&dob=1990-05-17' "$a"; } >"$dir/keygen-urlencoded"
        # the analysis: of an 8x8 gray image under a typed key; of a 13x1
        # RGB one on the page with a key file (the analysis daemon's cap
        # is 4096 samples: fuzz/fuzz_multipart.c)
        { printf '\005'; part key "$k"; file image scan.pgm "$TESTDATA/pnm/ascii_8x8.pgm"
          printf -- '--fuzzBOUNDARY--\r\n'; } >"$dir/analyze"
        { printf '\006'; file keyfile k.key "$WORK/mp/key-file"
          file image rgb.png "$TESTDATA/png/edge_13x1_rgb8.png"; printf -- '--fuzzBOUNDARY--\r\n'; } >"$dir/analyze-page" ;;
    *) echo "fuzz.sh: error: unknown target $t" >&2; return 1 ;;
    esac
}

status=0
table="$WORK/table"
printf '%-16s %8s %12s %7s %7s %8s\n' target seconds executions cov ft crashes >"$table"
for t in $TARGETS; do
    bin=$BUILD/fuzz/$t
    [ -x "$bin" ] || { echo "fuzz.sh: error: $bin missing: run make build-fuzz" >&2; exit 1; }
    corpus=$WORK/corpus-$t
    seed "$t" "$corpus" || exit 1
    regress=$ROOT/fuzz/regressions/$t
    if [ "$MODE" = replay ]; then
        # Deterministic: each seed and regression input once, no mutation.
        set -- "$corpus"/*
        [ -d "$regress" ] && set -- "$@" "$regress"/*
        echo "== $t: replaying $# inputs"
        "$bin" -rss_limit_mb=2048 -timeout=10 "$@" >"$WORK/$t.log" 2>&1 || {
            tail -n 40 "$WORK/$t.log"; status=1; }
        continue
    fi
    dict=$ROOT/fuzz/dict/${t#fuzz_}.dict
    [ "$t" = fuzz_container ] && dict=$ROOT/fuzz/dict/png.dict
    # BMP runs its row encoder on every decode (the byte-exact residual):
    # a 512x512 input costs 0.2 s instrumented, so keep its inputs small.
    maxlen=131072
    [ "$t" = fuzz_bmp ] && maxlen=32768
    set -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -max_len=$maxlen \
        -print_final_stats=1
    [ -f "$dict" ] && set -- "$@" -dict="$dict"
    if [ "$MODE" = smoke ]; then
        found=$WORK/findings-$t
        set -- "$@" -runs=500000
    else
        found=$ROOT/fuzz/findings/$t
    fi
    mkdir -p "$found"
    before=$(ls "$found" | wc -l)
    [ -d "$regress" ] && set -- "$@" "$corpus" "$regress" || set -- "$@" "$corpus"
    if [ "$MODE" = fuzz ]; then
        # libFuzzer reads every corpus given and writes its new inputs
        # into the first: the kept one.
        kept=${FUZZ_CORPUS:-$ROOT/fuzz/corpus}/$t
        mkdir -p "$kept" || exit 1
        echo "== $t: $(ls "$kept" | wc -l) inputs kept from earlier runs in $kept"
        set -- "$kept" "$@"
    fi
    echo "== $t: fuzzing ${SECONDS_EACH}s (log $WORK/$t.log)"
    start=$(date +%s)
    "$bin" -artifact_prefix="$found/" "$@" >"$WORK/$t.log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    after=$(ls "$found" | wc -l)
    crashes=$((after - before))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t.log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$WORK/$t.log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    printf '%-16s %8s %12s %7s %7s %8s\n' "$t" "$secs" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        "$crashes" >>"$table"
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        status=1
        grep -E -A 30 'ERROR|fuzz: check failed|runtime error' "$WORK/$t.log" | head -n 60
        if [ "$MODE" = smoke ]; then
            mkdir -p "$ROOT/fuzz/findings/$t"
            cp "$found"/* "$ROOT/fuzz/findings/$t"/ 2>/dev/null || true
        fi
        ls "$found"
    fi
    [ -n "${FUZZ_LOGS:-}" ] && mkdir -p "$FUZZ_LOGS" && cp "$WORK/$t.log" "$FUZZ_LOGS/"
done
[ "$MODE" = replay ] || cat "$table"
exit $status
