#!/bin/sh
# `make demo`: a short demo of medcrypt on a real CT image from
# ../shared/testdata (or $MC_TESTDATA, as for scripts/fuzz.sh): keygen,
# encrypt, decrypt, verify. Prints where the files are. (`make run` starts
# the web application.)
set -eu
BUILD=${1:-build}
BIN="$BUILD/cli/medcrypt"
DATA=${MC_TESTDATA:-$(dirname "$0")/../../shared/testdata}
OUT=demo

[ -x "$BIN" ] || { echo "medcrypt: $BIN not built (run make build)" >&2; exit 1; }
[ -d "$DATA" ] || {
    echo "medcrypt: test images not found at $DATA: set MC_TESTDATA to the testdata folder" >&2
    exit 1
}
rm -rf "$OUT"
mkdir -p "$OUT"

echo "== 1. a key for the patient (Aadhaar 2345 6789 0124, born 1990-05-17)"
"$BIN" keygen --aadhaar "2345 6789 0124" --dob 1990-05-17 -o "$OUT/patient.key"

for src in png/ct_512_16bit.png pnm/ct_512_8bit.pgm png/rgb_100x100.png; do
    name=$(basename "$src")
    cp "$DATA/$src" "$OUT/$name"
    echo "== 2. encrypt $name"
    "$BIN" encrypt -k "$OUT/patient.key" "$OUT/$name"
    mv "$OUT/$name" "$OUT/$name.orig"
    echo "== 3. decrypt $name.enc.png"
    "$BIN" decrypt -k "$OUT/patient.key" "$OUT/$name.enc.png"
    # PGM comes back byte for byte; a PNG sample for sample (written anew)
    if cmp -s "$OUT/$name" "$OUT/$name.orig" ||
       { [ "${name##*.}" = png ] && "$BIN" compare "$OUT/$name" "$OUT/$name.orig" >/dev/null; }; then
        echo "   restored $OUT/$name"
    else
        echo "medcrypt: demo: $name was not restored exactly" >&2
        exit 1
    fi
done

# PGM comes back byte for byte; PNG sample for sample (re-encoded).
cmp "$OUT/ct_512_8bit.pgm" "$OUT/ct_512_8bit.pgm.orig"
echo "== 4. verified: ct_512_8bit.pgm restored byte for byte"

echo "== 5. a wrong key is refused, and nothing is written"
"$BIN" keygen --aadhaar "2345 6789 0124" --dob 1990-05-17 -o "$OUT/other.key" 2>/dev/null
if "$BIN" decrypt -k "$OUT/other.key" -o "$OUT/should-not-exist.png" "$OUT/rgb_100x100.png.enc.png"; then
    echo "medcrypt: demo: a wrong key was accepted" >&2
    exit 1
fi
[ ! -e "$OUT/should-not-exist.png" ]

echo
echo "Files in $(cd "$OUT" && pwd):"
ls -l "$OUT"
echo
echo "Open $OUT/ct_512_16bit.png.enc.png in any image viewer: it is noise."
