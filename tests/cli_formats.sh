#!/bin/sh
# Image formats through the medcrypt command line (issue 5): DICOM now;
# BMP/JPEG checks can be added as more check_* functions and calls at the
# end ("Suites" section).
#
#     sh tests/cli_formats.sh /abs/path/to/medcrypt /abs/path/to/testdata
#
# Every check prints "ok - ..." or "not ok - ... (details)"; the last line is
# "N passed, M failed", and the exit status is 1 if any check failed.
# Runs in a fresh temporary directory (removed on exit); the test data
# directory is only read. dcmtk's dcmdump is the independent DICOM reader:
# without it, the checks that need it are reported as skipped.

. "$(dirname "$0")/lib.sh"
tl_args cli_formats.sh "$@"

T=$(mktemp -d "${TMPDIR:-/tmp}/medcrypt-fmt.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM
W=$T/w # where medcrypt runs and writes
R=$T/r # captured output
mkdir "$W" "$R" || exit 2
cd "$W" || exit 2

DCMDUMP=$(command -v dcmdump || true)

# ---------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------

# A key for the whole run (keygen is tested in cli.sh).
mc keygen --aadhaar "2345 6789 0124" --dob 1990-05-17 -o "$R/k.key" >/dev/null 2>&1 ||
    { echo "cli_formats.sh: keygen failed" >&2; exit 2; }
KEY=$R/k.key

# is_png8 FILE: PNG signature, and bit depth 8 in IHDR (byte 24).
is_png8() {
    sig=$(od -A n -t x1 -N 8 "$1" | tr -d ' \n')
    depth=$(od -A n -t u1 -j 24 -N 1 "$1" | tr -d ' \n')
    [ "$sig" = 89504e470d0a1a0a ] && [ "$depth" = 8 ]
}

dcmdump_ok() {
    "$DCMDUMP" "$1" >/dev/null 2>&1
}

# dicom_value FILE TAG: the value dcmdump prints between [ ] for TAG at the
# top level ("" if empty or absent).
dicom_value() {
    "$DCMDUMP" -q +P "$2" "$1" 2>/dev/null | sed -n 's/^([0-9a-f,]*) [A-Z][A-Z] \[\(.*\)\].*/\1/p' |
        head -n 1
}

# ---------------------------------------------------------------------
# DICOM
# ---------------------------------------------------------------------

# Encrypt, decrypt, cmp, and dcmdump of both equal.
check_dicom_round_trip() {
    f=$1
    b=$(basename "$f")
    cp "$f" "$b" || return
    if ! mc encrypt -k "$KEY" "$b" 2>"$R/err"; then
        not_ok "encrypt $b ($(cat "$R/err"))"
        return
    fi
    mv "$b" "$R/$b.orig"
    if ! mc decrypt -k "$KEY" "$b.enc.png" 2>"$R/err"; then
        not_ok "decrypt $b.enc.png ($(cat "$R/err"))"
        return
    fi
    check "$b: decrypted file is byte for byte the original" cmp -s "$b" "$f"
    if [ -z "$DCMDUMP" ]; then
        skip "$b: dcmdump of restored == original" "dcmdump not installed"
    else
        "$DCMDUMP" "$f" >"$R/d1" 2>&1
        "$DCMDUMP" "$b" >"$R/d2" 2>&1
        check "$b: dcmdump parses the restored file" dcmdump_ok "$b"
        check "$b: dcmdump of restored == dcmdump of original" cmp -s "$R/d1" "$R/d2"
    fi
    check_no_patient_strings "$f" "$b.enc.png"
    rm -f "$b" "$b.enc.png" "$R/$b.orig"
}

# The cipher image holds none of the patient's strings (values of 4 bytes
# or more: a shorter one turns up in noise by chance).
check_no_patient_strings() {
    [ -n "$DCMDUMP" ] || { skip "$(basename "$1"): no patient strings" "no dcmdump"; return; }
    for tag in PatientName PatientID PatientBirthDate InstitutionName; do
        v=$(dicom_value "$1" "$tag")
        [ ${#v} -ge 4 ] || continue
        if grep -F -q -a -- "$v" "$2"; then
            not_ok "$(basename "$2"): contains the $tag value"
        else
            ok "$(basename "$2"): no $tag value in the cipher image"
        fi
    done
}

# Refused: exit 1, nothing written, one line naming the transfer syntax UID.
check_dicom_unsupported() {
    f=$1
    b=$(basename "$f")
    uid=$2
    cp "$f" "$b" || return
    if mc encrypt -k "$KEY" "$b" 2>"$R/err"; then
        not_ok "$b: encrypt should fail"
    else
        ok "$b: encrypt exits 1"
    fi
    check "$b: no output file" test ! -e "$b.enc.png"
    check "$b: one error line" test "$(wc -l <"$R/err")" -eq 1
    if grep -F -q "$uid" "$R/err"; then
        ok "$b: error names $uid"
    else
        not_ok "$b: error names $uid ($(cat "$R/err"))"
    fi
    if mc info "$b" >"$R/out" 2>&1 && grep -F -q "$uid" "$R/out" &&
        grep -q "encryptable: no" "$R/out"; then
        ok "$b: info describes the syntax as not supported"
    else
        not_ok "$b: info ($(cat "$R/out"))"
    fi
    rm -f "$b"
}

# info shows the transfer syntax and never a patient identifier.
check_dicom_info() {
    f=$1
    b=$(basename "$f")
    if ! mc info "$f" >"$R/out" 2>&1; then
        not_ok "info $b ($(cat "$R/out"))"
        return
    fi
    check "info $b: transfer syntax shown" grep -q "transfer syntax: 1\.2\.840\.10008\.1\.2" "$R/out"
    [ -n "$DCMDUMP" ] || return
    for tag in PatientName PatientID PatientBirthDate InstitutionName; do
        v=$(dicom_value "$f" "$tag")
        [ -n "$v" ] || continue
        if grep -F -q -- "$v" "$R/out"; then
            not_ok "info $b: shows the $tag value"
        else
            ok "info $b: no $tag value"
        fi
    done
}

# preview writes an 8-bit PNG (plain file and cipher image), never
# overwrites without --force.
check_dicom_preview() {
    f=$1
    b=$(basename "$f")
    cp "$f" "$b" || return
    if mc preview "$b" 2>"$R/err" && is_png8 "$b.preview.png"; then
        ok "preview $b: 8-bit PNG"
    else
        not_ok "preview $b ($(cat "$R/err"))"
    fi
    if mc preview "$b" 2>/dev/null; then
        not_ok "preview $b: overwrote an existing preview"
    else
        ok "preview $b: refuses to overwrite"
    fi
    mc encrypt -k "$KEY" "$b" 2>/dev/null
    if mc preview -k "$KEY" -o "$R/p.png" "$b.enc.png" 2>"$R/err" &&
        cmp -s "$R/p.png" "$b.preview.png"; then
        ok "preview of $b.enc.png == preview of $b"
    else
        not_ok "preview of the cipher image ($(cat "$R/err"))"
    fi
    rm -f "$b" "$b.preview.png" "$b.enc.png" "$R/p.png"
}

check_info_cipher() {
    cp "$TESTDATA/dicom/ct_small_explicit_le.dcm" c.dcm
    mc encrypt -k "$KEY" c.dcm 2>/dev/null
    if mc info c.dcm.enc.png >"$R/out" 2>&1 &&
        grep -q "medcrypt cipher image, format version 3, key id [0-9a-f]\{16\}, original format dicom" \
            "$R/out"; then
        ok "info on a cipher image"
    else
        not_ok "info on a cipher image ($(cat "$R/out"))"
    fi
    # A byte appended: still a cipher image, a damaged one (not a plain
    # PNG of noise), for info and for preview, exit status 1.
    echo junk >>c.dcm.enc.png
    for verb in info preview; do
        if mc $verb c.dcm.enc.png >"$R/out" 2>&1; then
            not_ok "$verb on a cipher image with a byte appended: exit 0 ($(cat "$R/out"))"
        elif [ "$(cat "$R/out")" = "medcrypt: c.dcm.enc.png: the cipher image was modified or damaged" ]; then
            ok "$verb on a cipher image with a byte appended: modified or damaged"
        else
            not_ok "$verb on a cipher image with a byte appended: $(cat "$R/out")"
        fi
    done
    rm -f c.dcm c.dcm.enc.png c.dcm.enc.png.preview.png
}

# Files as another writer lays them out: dcmtk's dcmconv re-encodes each
# test file in implicit VR (+ti) and explicit VR (+te) little endian, and
# in explicit VR big endian (+tb, to be refused).
check_dicom_dcmconv() {
    DCMCONV=$(command -v dcmconv || true)
    if [ -z "$DCMCONV" ]; then
        skip "dcmconv re-encodings round trip" "dcmconv not installed"
        return
    fi
    for f in "$TESTDATA"/dicom/*.dcm; do
        for ts in ti te; do
            b=conv_$ts.dcm
            "$DCMCONV" "+$ts" "$f" "$b" 2>/dev/null || { not_ok "dcmconv +$ts $f"; continue; }
            cp "$b" "$R/$b.orig"
            if mc encrypt -k "$KEY" "$b" 2>"$R/err" && rm "$b" &&
                mc decrypt -k "$KEY" "$b.enc.png" 2>>"$R/err" && cmp -s "$b" "$R/$b.orig"; then
                ok "$(basename "$f") re-encoded +$ts: byte-for-byte round trip"
            else
                not_ok "$(basename "$f") re-encoded +$ts ($(cat "$R/err"))"
            fi
            rm -f "$b" "$b.enc.png" "$R/$b.orig"
        done
    done
    "$DCMCONV" +tb "$TESTDATA/dicom/ct_small_explicit_le.dcm" be.dcm 2>/dev/null
    if ! mc encrypt -k "$KEY" be.dcm 2>"$R/err" && grep -F -q 1.2.840.10008.1.2.2 "$R/err"; then
        ok "dcmconv +tb: refused, naming 1.2.840.10008.1.2.2"
    else
        not_ok "dcmconv +tb ($(cat "$R/err"))"
    fi
    rm -f be.dcm be.dcm.enc.png
}

check_help() {
    for verb in info preview; do
        check "$verb --help" sh -c '"$1" "$2" --help | grep -q "^Usage: medcrypt $2"' sh "$MC" "$verb"
    done
}

suite_dicom() {
    for f in "$TESTDATA"/dicom/*.dcm; do
        check_dicom_round_trip "$f"
        check_dicom_info "$f"
    done
    check_dicom_preview "$TESTDATA/dicom/ct_small_explicit_le.dcm"
    check_dicom_preview "$TESTDATA/dicom/rgb_16bit_2frames.dcm"
    u=$TESTDATA/dicom/unsupported
    check_dicom_unsupported "$u/big_endian_mr.dcm" 1.2.840.10008.1.2.2
    check_dicom_unsupported "$u/deflate_8bit.dcm" 1.2.840.10008.1.2.1.99
    check_dicom_unsupported "$u/jpeg2000_nm.dcm" 1.2.840.10008.1.2.4.91
    check_dicom_unsupported "$u/jpeg_baseline_rgb.dcm" 1.2.840.10008.1.2.4.50
    check_dicom_unsupported "$u/rle_mr.dcm" 1.2.840.10008.1.2.5
    check_dicom_dcmconv
    check_info_cipher
    check_help
}

# ---------------------------------------------------------------------
# BMP and JPEG
# ---------------------------------------------------------------------

# BMP: encrypt, decrypt, cmp with the original.
check_bmp_round_trip() {
    f=$1
    b=$(basename "$f")
    cp "$f" "$b" || return
    if ! mc encrypt -k "$KEY" "$b" 2>"$R/err"; then
        not_ok "encrypt $b ($(cat "$R/err"))"
        return
    fi
    rm -f "$b"
    if ! mc decrypt -k "$KEY" "$b.enc.png" 2>"$R/err"; then
        not_ok "decrypt $b.enc.png ($(cat "$R/err"))"
        return
    fi
    check "$b: decrypted file is byte for byte the original" cmp -s "$b" "$f"
    rm -f "$b" "$b.enc.png"
}

# JPEG: decrypts to a lossless PNG named NAME.jpg.png (never a PNG named
# .jpg); the samples themselves are checked in tests/test_formats.c.
check_jpeg_round_trip() {
    f=$1
    b=$(basename "$f")
    cp "$f" "$b" || return
    if ! mc encrypt -k "$KEY" "$b" 2>"$R/err"; then
        not_ok "encrypt $b ($(cat "$R/err"))"
        return
    fi
    rm -f "$b"
    if ! mc decrypt -k "$KEY" "$b.enc.png" 2>"$R/err"; then
        not_ok "decrypt $b.enc.png ($(cat "$R/err"))"
        return
    fi
    check "$b: decrypts to $b.png, an 8-bit PNG" is_png8 "$b.png"
    check "$b: no PNG written under the .jpg name" test ! -e "$b"
    rm -f "$b" "$b.png" "$b.enc.png"
}

# A truncated JPEG is refused (libjpeg's "premature end" is an error here),
# with one line naming the file, and no output.
check_jpeg_truncated() {
    head -c 2000 "$1" >cut.jpg
    if mc encrypt -k "$KEY" cut.jpg 2>"$R/err"; then
        not_ok "truncated JPEG is refused"
    else
        check "truncated JPEG: error names the file and says truncated" \
            grep -q '^medcrypt: .*cut.jpg: the file is truncated' "$R/err"
        check "truncated JPEG: no output" test ! -e cut.jpg.enc.png
    fi
    rm -f cut.jpg cut.jpg.enc.png
}

# libjpeg is loaded at the first JPEG (src/codec_jpeg.c), not at start-up:
# with a broken libjpeg first on the library path (a file of that name
# that is no library), a PNG still encrypts, and a JPEG is refused with one
# line saying libjpeg cannot be loaded, and no output.
check_jpeg_loaded_late() {
    if [ -z "${MC_LIBJPEG_SONAME:-}" ]; then
        skip "libjpeg loaded at the first JPEG" "this build links libjpeg"
        return
    fi
    mkdir -p badlib
    printf 'not a library\n' >"badlib/$MC_LIBJPEG_SONAME"
    cp "$TESTDATA/png/ct_512_8bit.png" late.png
    cp "$TESTDATA/jpeg/ct_512_gray.jpg" late.jpg
    check "a broken libjpeg on the library path: a PNG still encrypts" \
        env LD_LIBRARY_PATH="$PWD/badlib" "$MC" encrypt -k "$KEY" late.png
    if env LD_LIBRARY_PATH="$PWD/badlib" "$MC" encrypt -k "$KEY" late.jpg 2>"$R/err"; then
        not_ok "a broken libjpeg: a JPEG is refused"
    else
        check "a broken libjpeg: one line, the JPEG named, libjpeg cannot be loaded" \
            awk 'END { exit !(NR == 1 && /^medcrypt: late\.jpg: .*libjpeg cannot be loaded: /) }' \
            "$R/err"
        check "a broken libjpeg: no output for the JPEG" test ! -e late.jpg.enc.png
    fi
    check "the same JPEG encrypts with the real libjpeg" "$MC" encrypt -k "$KEY" late.jpg
    rm -rf badlib late.png late.jpg late.png.enc.png late.jpg.enc.png
}

check_bmp_jpeg_help() {
    mc encrypt --help >"$R/help" 2>&1
    check "encrypt --help names BMP and JPEG" grep -q 'BMP.*JPEG' "$R/help"
    check "encrypt --help says a JPEG decrypts to a lossless PNG" grep -q 'lossless PNG' "$R/help"
}

# A JPEG's metadata does not come back (decryption writes a PNG): the
# encrypt says what is not kept, and an EXIF orientation that viewers
# apply gets a hint, since the decrypted PNG shows the pixels as stored.
check_jpeg_metadata_note() {
    {
        head -c 2 "$1"
        # APP1 Exif, big-endian TIFF, IFD0: Orientation (0x0112) SHORT 1 = 6
        printf '\377\341\000\042Exif\000\000MM\000\052\000\000\000\010'
        printf '\000\001\001\022\000\003\000\000\000\001\000\006\000\000\000\000\000\000'
        # COM
        printf '\377\376\000\012scanned.'
        tail -c +3 "$1"
    } >turned.jpg
    if mc encrypt -k "$KEY" turned.jpg 2>"$R/err"; then
        check "a JPEG with EXIF and a comment: the note names them" grep -q -x \
            'medcrypt: turned.jpg: note: not kept: its JPEG metadata EXIF (orientation 6), comment (the pixels are kept exactly)' \
            "$R/err"
        check "its EXIF orientation gets a hint" grep -q -x \
            'medcrypt: hint: viewers show this JPEG turned or mirrored by its EXIF orientation 6; the decrypted PNG shows it as stored' \
            "$R/err"
        check "the note and the hint only" [ "$(wc -l <"$R/err")" -eq 2 ]
    else
        not_ok "encrypt turned.jpg ($(cat "$R/err"))"
    fi
    check "the cipher image written" test -s turned.jpg.enc.png
    cp "$1" plain.jpg
    mc encrypt -k "$KEY" plain.jpg 2>"$R/err"
    check "testdata's JPEG (JFIF without a density): no note" [ ! -s "$R/err" ]
    rm -f turned.jpg turned.jpg.enc.png plain.jpg plain.jpg.enc.png
}

suite_bmp_jpeg() {
    for f in "$TESTDATA"/bmp/*.bmp; do
        check_bmp_round_trip "$f"
    done
    for f in "$TESTDATA"/jpeg/*.jpg; do
        check_jpeg_round_trip "$f"
    done
    check_jpeg_truncated "$TESTDATA/jpeg/ct_512_gray.jpg"
    check_jpeg_metadata_note "$TESTDATA/jpeg/ct_512_gray.jpg"
    check_jpeg_loaded_late
    check_bmp_jpeg_help
}

# ---------------------------------------------------------------------
# Suites
# ---------------------------------------------------------------------

suite_dicom
suite_bmp_jpeg

tl_finish
