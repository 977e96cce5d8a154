#!/bin/sh
# ref_check.sh MEDCRYPT_BINARY TESTDATA_DIR
#
# The C library's cipher images must be decrypted exactly by an independent
# decryptor written from docs/FORMAT.md alone (tests/ref/medcrypt_ref.py,
# Python standard library only); a wrong key and a modified cipher image
# must be refused by it with the documented messages.
#
# One line per check ("ok ..." / "FAIL ..."), then "N passed, M failed".
# Exit status: 0 all passed, 1 some failed, 77 (skip) without python3.

set -u

if [ $# -ne 2 ]; then
    echo "usage: sh ref_check.sh MEDCRYPT_BINARY TESTDATA_DIR" >&2
    exit 2
fi
BIN=$1
DATA=$2
HERE=$(cd "$(dirname "$0")" && pwd)
REF=$HERE/ref/medcrypt_ref.py

if ! command -v python3 >/dev/null 2>&1; then
    echo "skip: python3 not found"
    exit 77
fi
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
case $DATA in /*) ;; *) DATA=$(pwd)/$DATA ;; esac

TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM HUP
cd "$TMP" || exit 1

PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# check NAME COMMAND...: ok if the command succeeds.
check() {
    name=$1
    shift
    if "$@" >check.log 2>&1; then
        ok "$name"
    else
        fail "$name"
        sed 's/^/    /' check.log
    fi
}

# refuses NAME MESSAGE KEYTEXT CIPHER: the reference must exit 1 with MESSAGE.
refuses() {
    name=$1 msg=$2 key=$3 cipher=$4
    python3 "$REF" decrypt "$key" "$cipher" refused.out >refuse.out 2>refuse.err
    rc=$?
    if [ $rc -eq 1 ] && grep -q "$msg" refuse.err && [ ! -e refused.out ]; then
        ok "$name"
    else
        fail "$name (exit $rc: $(cat refuse.err))"
    fi
    rm -f refused.out
}

check "reference selftest" python3 "$REF" selftest
for v in 3 2 1; do
    if [ -f "$HERE/golden_v$v.inc" ]; then
        check "reference reproduces tests/golden_v$v.inc" \
            python3 "$REF" golden "$HERE/golden_v$v.inc"
    else
        fail "tests/golden_v$v.inc: missing"
    fi
done

# docs/FORMAT.md section 6: the worked example is the reference's output
# word for word, and the C binary decrypts the cipher image printed there
# into the plain file printed there, with the key printed there.
FORMAT_MD=$HERE/../docs/FORMAT.md
sed -n '/^<!-- example: begin/,/^<!-- example: end/p' "$FORMAT_MD" | sed '1d;$d' >doc_example.txt
python3 "$REF" example >ref_example.txt 2>&1
if [ -s doc_example.txt ] && cmp -s doc_example.txt ref_example.txt; then
    ok "FORMAT.md section 6 holds the reference's worked example"
else
    fail "FORMAT.md section 6 differs from 'medcrypt_ref.py example' (< document, > reference):"
    diff doc_example.txt ref_example.txt | head -20 | sed 's/^/    /'
fi
python3 - doc_example.txt <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def hex_after(title):
    # the first run of indented hex lines after the line starting with `title`
    lines = text.split("\n")
    i = next(n for n, l in enumerate(lines) if l.strip().startswith(title))
    out = []
    for l in lines[i + 1:]:
        if re.fullmatch(r"\s+[0-9a-f]{2,4}( [0-9a-f]{2,4})*", l):
            out.append(l.replace(" ", ""))
        elif out:
            break
    return bytes.fromhex("".join(out))
open("doc_example.pgm", "wb").write(hex_after("The plain file, example.pgm"))
open("doc_example.enc.png", "wb").write(hex_after("The cipher image, example.pgm.enc.png"))
key = re.search(r"key text\s+(MCK1-[0-9A-Z-]+)", text).group(1)
open("doc_example.key", "w").write(key + "\n")
PY
if "$BIN" decrypt -k doc_example.key -o doc_example.out doc_example.enc.png >doc_dec.log 2>&1 &&
   [ -s doc_example.pgm ] && cmp -s doc_example.out doc_example.pgm; then
    ok "medcrypt decrypts FORMAT.md's example cipher image into its example PGM, byte for byte"
else
    fail "medcrypt decrypt of FORMAT.md's example cipher image"
    sed 's/^/    /' doc_dec.log
fi

if ! "$BIN" keygen --aadhaar "2345 6789 0124" --dob 1990-05-17 -o k.key >keygen.log 2>&1 ||
   ! "$BIN" keygen --aadhaar "2345 6789 0124" --dob 1990-05-17 -o k2.key >>keygen.log 2>&1; then
    fail "keygen with $BIN"
    sed 's/^/    /' keygen.log
    echo "$PASSED passed, $FAILED failed"
    exit 1
fi
KEY=$(grep -v '^#' k.key | tail -n 1)
KEY2=$(grep -v '^#' k2.key | tail -n 1)

# Plain PGM/PPM whose raster text is not one row per line: must come back
# byte for byte too.
printf 'P2\n# odd layout\n3 2\n255\n1  2 3\n\n4 5\n6 \n' >odd_plain.pgm
printf 'P3 2 1 65535 1 2 3 65535 0 7' >odd_plain16.ppm
# FORMAT.md section 3's other records: a PNG's kept chunks (5, 6), a BMP's
# residual bits and trailer (18, 17) and 16-bit fields.
python3 - <<'PY'
import struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
raw = b"".join(b"\0" + bytes(range(4 * y, 4 * y + 4)) for y in range(3))
open("meta.png", "wb").write(
    b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 8, 0, 0, 0, 0))
    + chunk(b"tEXt", b"Patient\0Doe") + chunk(b"prVt", b"safe to copy")
    + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"tIME", bytes([7, 234, 1, 2, 3, 4, 5]))
    + chunk(b"IEND", b""))
def bmp(name, bpp, comp, masks, w, h, pixel, tail=b""):
    row_len = (w * bpp + 31) // 32 * 4
    pix = b"".join(b"".join(pixel(x, y) for x in range(w)).ljust(row_len, b"\x5a")
                   for y in range(h))
    m = b"".join(struct.pack("<I", v) for v in masks)
    off = 54 + len(m)
    open(name, "wb").write(
        struct.pack("<2sIHHI", b"BM", off + len(pix) + len(tail), 0, 0, off)
        + struct.pack("<IiiHHIIiiII", 40, w, h, 1, bpp, comp, len(pix), 0, 0, 0, 0)
        + m + pix + tail)
bmp("pad24.bmp", 24, 0, [], 3, 2, lambda x, y: bytes([x, y, x + y]), b"TRAILER")
bmp("f555.bmp", 16, 0, [], 5, 3, lambda x, y: struct.pack("<H", (x * 7 + y * 3) * 1237 & 0xFFFF))
bmp("f565.bmp", 16, 3, [0xF800, 0x07E0, 0x001F], 5, 3,
    lambda x, y: struct.pack("<H", (x * 7 + y * 3) * 1237 & 0xFFFF))
PY

FILES="png/edge_1x1_gray8.png png/edge_1x13_gray16.png png/edge_13x1_rgb8.png
png/edge_33x17_rgba16.png png/rgb_100x100.png pnm/ascii_4x3.ppm pnm/ascii_8x8.pgm
pnm/ct_small_12bit.pgm pnm/rgb_16bit_100x100.ppm png/ct_small_16bit.png
odd_plain.pgm odd_plain16.ppm meta.png bmp/rgb_24bit_100x100.bmp bmp/rgba_32bit_100x100.bmp
pad24.bmp f555.bmp f565.bmp dicom/ct_small_explicit_le.dcm dicom/mr_small_implicit_le.dcm
dicom/rgb_planar1_80x60.dcm dicom/rgb_16bit_2frames.dcm"

for f in $FILES; do
    case $f in */*) src=$DATA/$f ;; *) src=$TMP/$f ;; esac
    if [ ! -f "$src" ]; then
        fail "$f: missing test file"
        continue
    fi
    rm -f copy copy.enc.png py.out c.out
    cp "$src" copy
    if ! "$BIN" encrypt -k k.key copy >enc.log 2>&1 || [ ! -f copy.enc.png ]; then
        fail "$f: encrypt with the C binary"
        sed 's/^/    /' enc.log
        continue
    fi
    if ! python3 "$REF" decrypt "$KEY" copy.enc.png py.out 2>dec.err; then
        fail "$f: reference decrypt ($(cat dec.err))"
        continue
    fi
    case $f in
    *.png)
        # Samples (and geometry) of the input, of the reference's output and
        # of the C binary's own decryption must all be equal.
        "$BIN" decrypt -k k.key -o c.out copy.enc.png >cdec.log 2>&1
        # and both write back the same chunks (FORMAT.md section 3, records
        # 5 and 6) but the image data's
        if python3 "$REF" samples copy py.out c.out >samples.txt 2>&1 &&
           [ "$(sort -u samples.txt | wc -l)" -eq 1 ] &&
           python3 - py.out c.out <<'PY' >>samples.txt 2>&1
import struct, sys
def chunks(path):
    b, pos, out = open(path, "rb").read(), 8, []
    while pos < len(b):
        n, = struct.unpack_from(">I", b, pos)
        if b[pos + 4:pos + 8] != b"IDAT":
            out.append(b[pos + 4:pos + 8 + n])
        pos += 12 + n
    return out
a, b = chunks(sys.argv[1]), chunks(sys.argv[2])
if a != b:
    sys.exit("chunks differ: reference %s, C %s" % ([c[:4] for c in a], [c[:4] for c in b]))
PY
        then
            ok "$f: reference decrypts the C cipher image (samples equal)"
        else
            fail "$f: samples differ (input, reference, C decrypt):"
            sed 's/^/    /' samples.txt
        fi
        ;;
    *)
        if cmp -s copy py.out; then
            ok "$f: reference decrypts the C cipher image (byte-identical)"
        else
            fail "$f: reference output differs from the input"
            cmp copy py.out | sed 's/^/    /'
        fi
        ;;
    esac
done

# Refusals, on a cipher image of a small file.
rm -f copy copy.enc.png
if cp "$DATA/png/edge_33x17_rgba16.png" copy 2>enc.log &&
   "$BIN" encrypt -k k.key copy >enc.log 2>&1 && [ -f copy.enc.png ]; then
    refuses "wrong key is refused as \"wrong key\"" "^wrong key\$" "$KEY2" copy.enc.png

    # The last key character changed: the checksum must catch it.
    last=$(printf '%s' "$KEY" | tail -c 1)
    if [ "$last" = "0" ]; then new=2; else new=0; fi
    typo=$(printf '%s' "$KEY" | sed "s/.\$/$new/")
    refuses "key text with a typo is refused" "typo" "$typo" copy.enc.png

    python3 - copy.enc.png <<'EOF' >tamper.log 2>&1
# Writes three damaged copies of a cipher PNG:
#   idat.png   one byte in the middle of the IDAT data flipped, CRC fixed;
#   sample.png one sample bit flipped, IDAT re-encoded (valid zlib), so
#              that only the tag can notice;
#   tail.png   one byte appended after IEND;
#   v4.png     the mcRY format version byte set to 4, CRC fixed;
#   keyid.png  one bit of the mcRY key id flipped, CRC fixed.
# Prints the format version of the original (2: what the C library writes).
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()

def chunks(b):
    pos, out = 8, []
    while pos < len(b):
        n, = struct.unpack_from(">I", b, pos)
        out.append([b[pos + 4:pos + 8], bytearray(b[pos + 8:pos + 8 + n])])
        pos += 12 + n
    return out

def build(cs):
    out = b"\x89PNG\r\n\x1a\n"
    for t, d in cs:
        out += struct.pack(">I", len(d)) + t + bytes(d)
        out += struct.pack(">I", zlib.crc32(t + bytes(d)) & 0xFFFFFFFF)
    return out

cs = chunks(data)
idat = [c for c in cs if c[0] == b"IDAT"]
total = sum(len(c[1]) for c in idat)
mid = total // 2
for c in idat:
    if mid < len(c[1]):
        c[1][mid] ^= 0x01
        break
    mid -= len(c[1])
open("idat.png", "wb").write(build(cs))

cs = chunks(data)
raw = bytearray(zlib.decompress(b"".join(bytes(c[1]) for c in cs if c[0] == b"IDAT")))
# The middle byte is a sample byte, not a filter byte: rows are 33*8 bytes.
raw[len(raw) // 2] ^= 0x10
out = [c for c in cs if c[0] != b"IDAT"]
out.insert(len(out) - 1, [b"IDAT", bytearray(zlib.compress(bytes(raw)))])
open("sample.png", "wb").write(build(out))

open("tail.png", "wb").write(data + b"\0")

cs = chunks(data)
mc = [c for c in cs if c[0] == b"mcRY"][0]
print("version", mc[1][8])
mc[1][8] = 4
open("v4.png", "wb").write(build(cs))

cs = chunks(data)
mc = [c for c in cs if c[0] == b"mcRY"][0]
mc[1][24] ^= 0x01
open("keyid.png", "wb").write(build(cs))
EOF
    if grep -q "^version 3$" tamper.log; then
        ok "the C binary writes format version 3"
    else
        fail "the C binary does not write format version 3 ($(cat tamper.log))"
    fi
    if [ -f idat.png ] && [ -f sample.png ] && [ -f tail.png ] && [ -f v4.png ] &&
       [ -f keyid.png ]; then
        refuses "IDAT byte flipped (CRC fixed) is refused as modified" \
            "modified or damaged" "$KEY" idat.png
        refuses "one sample bit flipped (valid PNG) is refused as modified" \
            "modified or damaged" "$KEY" sample.png
        refuses "a byte appended after IEND is refused as modified" \
            "modified or damaged" "$KEY" tail.png
        refuses "format version 4 is refused as unsupported" \
            "unsupported format version" "$KEY" v4.png
        # FORMAT.md section 5, steps 2 and 5: under the right key, a changed
        # key id is a modification, not "wrong key"
        refuses "key id changed is refused as modified, not wrong key" \
            "modified or damaged" "$KEY" keyid.png
    else
        fail "making damaged cipher images"
        sed 's/^/    /' tamper.log
    fi
else
    fail "encrypt for the refusal checks"
    sed 's/^/    /' enc.log
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
