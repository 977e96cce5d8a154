#!/bin/sh
# Tests of `medcrypt analyze` (issue 6):
#
#     sh tests/cli_analyze.sh /abs/path/to/medcrypt /abs/path/to/testdata
#
# Every check prints "ok - ..." or "not ok - ..."; the last line is
# "N passed, M failed", and the exit status is 1 if any check failed.
# The metrics of the JSON output are compared with an independent Python
# implementation (standard library only: PGM/PPM and PNG decoded here,
# all five PNG filters; exact integer sums) to 1e-9: entropy, chi-square
# and the all-pairs correlation of the plain and of the cipher image.
# Runs in a fresh temporary directory, removed on exit.

. "$(dirname "$0")/lib.sh"
tl_args cli_analyze.sh "$@"

T=$(mktemp -d "${TMPDIR:-/tmp}/medcrypt-analyze.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM
cd "$T" || exit 2

RC=0
LAST=

# run CMD...: stdout to out, stderr to err, status to $RC.
run() {
    LAST="$*"
    "$@" </dev/null >out 2>err
    RC=$?
}

details() {
    printf '`%s` exited %s; stderr: %s' "$LAST" "$RC" "$(tr '\n' '|' <err | cut -c1-300)"
}

assert_rc() {
    if [ "$RC" -eq "$1" ]; then
        ok "$2"
    else
        not_ok "$2 (expected exit $1: $(details))"
    fi
}

# assert_err DESC PHRASE: exit 1 and stderr's first line is
# "medcrypt: ..." containing PHRASE; other lines only hints.
assert_err() {
    if [ "$RC" -eq 1 ] && [ -s err ] && sed -n 1p err | grep -q '^medcrypt: ' &&
        sed -n 1p err | grep -qF -- "$2" && ! sed 1d err | grep -qv '^medcrypt: hint: ' &&
        [ ! -s out ]; then
        ok "$1"
    else
        not_ok "$1 (expected exit 1 and one error line containing '$2': $(details))"
    fi
}

# ---------------------------------------------------------------------
# The independent implementation.
# ---------------------------------------------------------------------
cat >check.py <<'EOF'
"""Independent metrics for `medcrypt analyze --json` (standard library)."""
import json, math, struct, sys, zlib

def read_pnm(path):
    data = open(path, 'rb').read()
    fields, i = [], 0
    while len(fields) < 4:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b'#':
            while data[i:i + 1] not in (b'\n', b'\r'):
                i += 1
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        fields.append(data[i:j])
        i = j
    i += 1  # one whitespace byte before the raster
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    ch = {b'P5': 1, b'P6': 3}[magic]
    n = w * h * ch
    if maxval < 256:
        s = list(data[i:i + n])
        bits = 8
    else:
        s = list(struct.unpack('>%dH' % n, data[i:i + 2 * n]))
        bits = 16
    return w, h, ch, bits, s

def read_png(path):
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat = 8, b''
    while pos < len(data):
        ln, typ = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        if typ == b'IHDR':
            w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
        elif typ == b'IDAT':
            idat += body
        pos += 12 + ln
    assert interlace == 0 and depth in (8, 16)
    ch = {0: 1, 4: 2, 2: 3, 6: 4}[ctype]
    bpp = ch * depth // 8
    stride = w * bpp
    raw = zlib.decompress(idat)
    out = bytearray()
    prev = bytearray(stride)
    p = 0
    for _ in range(h):
        f = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
            else:
                assert f == 0
        out += line
        prev = line
    n = w * h * ch
    if depth == 8:
        s = list(out)
    else:
        s = list(struct.unpack('>%dH' % n, bytes(out)))
    return w, h, ch, depth, s

def metrics(w, h, ch, bits, s, c):
    v = s[c::ch]
    k = 1 << bits
    n = len(v)
    counts = {}
    for x in v:
        counts[x] = counts.get(x, 0) + 1
    ent = -sum(m / n * math.log2(m / n) for m in counts.values())
    e = n / k
    chi = sum((m - e) ** 2 / e for m in counts.values()) + (k - len(counts)) * e
    corr = {}
    for name, dx, dy in (('horizontal', 1, 0), ('vertical', 0, 1), ('diagonal', 1, 1)):
        sx = sy = sxx = syy = sxy = m = 0
        for y in range(h - dy):
            row, nxt = v[y * w:(y + 1) * w], v[(y + dy) * w:(y + dy + 1) * w]
            xs, ys = row[:w - dx], nxt[dx:]
            sx += sum(xs)
            sy += sum(ys)
            sxx += sum(a * a for a in xs)
            syy += sum(b * b for b in ys)
            sxy += sum(a * b for a, b in zip(xs, ys))
            m += len(xs)
        num = m * sxy - sx * sy  # exact integers
        den = (m * sxx - sx * sx) * (m * syy - sy * sy)
        corr[name] = num / math.sqrt(den) if den > 0 else None
    return ent, chi, corr

def close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(b))

def main():
    js, side, path = sys.argv[1], sys.argv[2], sys.argv[3]
    d = json.load(open(js))
    img = read_png(path) if path.endswith('.png') else read_pnm(path)
    w, h, ch, bits, s = img
    assert d['image'] == {**d['image'], 'width': w, 'height': h, 'channels': ch, 'bits': bits}, \
        'geometry %r vs %r' % (d['image'], img[:4])
    bad = []
    for c in range(ch):
        ent, chi, corr = metrics(w, h, ch, bits, s, c)
        got = d[side]['channels'][c]
        if not close(got['entropy'], ent):
            bad.append('entropy ch%d %r != %r' % (c, got['entropy'], ent))
        # chi-square values reach 1e9: relative 1e-9 (absolute for small)
        if not close(got['chi_square'], chi):
            bad.append('chi_square ch%d %r != %r' % (c, got['chi_square'], chi))
        for k2, val in corr.items():
            if not close(got['correlation'][k2], val):
                bad.append('%s ch%d %r != %r' % (k2, c, got['correlation'][k2], val))
    if bad:
        print('; '.join(bad))
        sys.exit(1)

main()
EOF

# check_json JSON SIDE IMAGE DESC: the JSON agrees with Python on IMAGE
check_json() {
    if [ -z "$PY" ]; then
        ok "$4 # SKIP no python3"
    elif msg=$("$PY" check.py "$1" "$2" "$3" 2>&1); then
        ok "$4"
    else
        not_ok "$4 ($(printf '%s' "$msg" | tr '\n' '|' | cut -c1-400))"
    fi
}

# pyjson EXPR FILE: evaluates a Python expression over d = the JSON
# object; the check passes if it is true.
pyjson() {
    [ -n "$PY" ] && "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$2" 2>/dev/null
}

PY=$(command -v python3 || true)
PGM8=$TESTDATA/pnm/ct_512_8bit.pgm
PGM12=$TESTDATA/pnm/ct_small_12bit.pgm
PPM=$TESTDATA/pnm/rgb_100x100.ppm

# ---------------------------------------------------------------------
# 1. help, defaults
# ---------------------------------------------------------------------
run "$MC" analyze --help
if [ "$RC" -eq 0 ] && grep -q '^Usage: medcrypt analyze' out; then
    ok "analyze --help prints the usage and exits 0"
else
    not_ok "analyze --help ($(details))"
fi
run "$MC" help analyze
assert_rc 0 "medcrypt help analyze exits 0"
if "$MC" --help | grep -q 'medcrypt analyze'; then
    ok "the top-level usage lists analyze"
else
    not_ok "the top-level usage lists analyze"
fi

run "$MC" analyze "$PGM8"
assert_rc 0 "analyze PLAIN prints the table"
if grep -q 'a fresh random key' out && grep -q 'NPCR' out && grep -q 'chi-square' out &&
    grep -q 'scrambling only' out; then
    ok "the table says the key is random and has NPCR, chi-square and the stages"
else
    not_ok "table contents ($(head -c 300 out | tr '\n' '|'))"
fi

# ---------------------------------------------------------------------
# 2. JSON against the independent implementation
# ---------------------------------------------------------------------
run "$MC" analyze --json "$PGM8"
cp out plain8.json
assert_rc 0 "analyze --json exits 0"
if [ -n "$PY" ] && "$PY" -c 'import json,sys; json.load(sys.stdin)' <plain8.json 2>/dev/null; then
    ok "--json prints exactly one JSON object"
else
    not_ok "--json output parses ($(head -c 200 plain8.json))"
fi
if pyjson "all(k in d for k in ('image','plain','cipher','differential','avalanche','stages'))
    and set(d['differential']) >= {'npcr','uaci','npcr_critical','uaci_critical'}
    and len(d['differential']['uaci_critical']) == 2
    and set(d['avalanche']) >= {'plain_bit','key_bit'}
    and set(d['plain']['channels'][0]) >= {'entropy','chi_square','correlation'}
    and set(d['plain']['channels'][0]['correlation']) == {'horizontal','vertical','diagonal'}
    and [s['name'] for s in d['stages']] == ['scrambling','henon','logistic','xchacha20']
    and d['key']['random'] is True" plain8.json; then
    ok "JSON has the keys of issue 6"
else
    not_ok "JSON keys ($(head -c 300 plain8.json))"
fi
check_json plain8.json plain "$PGM8" "8-bit plain: entropy, chi-square, correlation match Python to 1e-9"
if pyjson "abs(d['differential']['npcr_critical'] - 99.5893) < 6e-5
    and abs(d['differential']['uaci_critical'][0] - 33.3730) < 6e-5
    and abs(d['differential']['uaci_critical'][1] - 33.5541) < 6e-5
    and abs(d['critical']['chi_square_05'] - 293.2478) < 5e-5" plain8.json; then
    ok "critical values: NPCR 99.5893, UACI [33.3730, 33.5541], chi-square 293.2478"
else
    not_ok "critical values in JSON"
fi
if pyjson "d['cipher']['channels'][0]['entropy'] > 7.99 and d['decryption']['channels'][0]['mse'] == 0
    and d['decryption']['channels'][0]['psnr'] is None" plain8.json; then
    ok "cipher entropy > 7.99; decryption exact (MSE 0, PSNR null = infinite)"
else
    not_ok "cipher entropy / decryption"
fi

# A given cipher image, with its key: cipher side checked on the PNG.
run "$MC" keygen --aadhaar "2345 6789 0124" --dob 1990-05-17 -o k.key
assert_rc 0 "keygen for the analysis key"
run "$MC" encrypt -k k.key -o c8.png "$PGM8"
assert_rc 0 "encrypt the 8-bit CT"
# The cipher image given as the plain one: refused, with the right order.
run "$MC" analyze -k k.key c8.png
assert_rc 1 "analyze of a cipher image as the plain one exits 1"
if [ ! -s out ] && grep -q -x 'medcrypt: c8.png: a medcrypt cipher image: analyze takes the plain image' err &&
    grep -q -x 'medcrypt: hint: to measure a cipher image, give it after its plain image: medcrypt analyze -k KEYFILE PLAIN CIPHER' err &&
    [ "$(wc -l <err)" -eq 2 ]; then
    ok "analyze of a cipher image: says to give the plain image first, prints no table"
else
    not_ok "analyze of a cipher image: $(details)"
fi
run "$MC" analyze --json -k k.key "$PGM8" c8.png
cp out given8.json
assert_rc 0 "analyze -k KEY PLAIN CIPHER exits 0"
check_json given8.json plain "$PGM8" "given cipher: plain metrics match Python"
check_json given8.json cipher c8.png "given cipher: cipher metrics match Python (PNG decoded in Python)"
if pyjson "d['key']['random'] is False and d['cipher_source'] == 'given'
    and d['decryption']['channels'][0]['mse'] == 0" given8.json; then
    ok "given cipher and key: not random, decrypted exactly"
else
    not_ok "given cipher JSON fields"
fi

# The key from MEDCRYPT_KEY, as every verb that takes a key reads it (a
# review: analyze ignored it, and left a given cipher image undecrypted);
# -k before it; a bad one refused, as the other verbs refuse it.
run env MEDCRYPT_KEY="$(cat k.key)" "$MC" analyze --json "$PGM8" c8.png
if [ "$RC" -eq 0 ] && pyjson "d['key']['random'] is False and d['key']['key_id'] == '$(sed -n 's/^# key id: //p' k.key)'
    and d['decryption']['channels'][0]['mse'] == 0" out; then
    ok "analyze PLAIN CIPHER with MEDCRYPT_KEY: that key, the cipher image decrypted"
else
    not_ok "analyze with MEDCRYPT_KEY: $(details); $(head -c 200 out)"
fi
run env MEDCRYPT_KEY="MCK1-bad" "$MC" analyze -k k.key --json "$PGM8" c8.png
if [ "$RC" -eq 0 ] && pyjson "d['key']['random'] is False and d['decryption'] is not None" out; then
    ok "analyze: -k before MEDCRYPT_KEY"
else
    not_ok "analyze: -k before MEDCRYPT_KEY: $(details)"
fi
run env MEDCRYPT_KEY="$(sed '$s/.$/#/' k.key)" "$MC" analyze "$PGM8"
assert_err "analyze: a MEDCRYPT_KEY with a typo is refused, not replaced by a random key" \
    "medcrypt: MEDCRYPT_KEY: the key has a typo: a character is wrong, missing or extra"

# Correlation bounds: each direction's own pair count, z/sqrt(N - 1); the
# 2000 random pairs (with replacement) z*sqrt(1/2000 + 1/(N - 1)); under 10
# pairs none.
run "$MC" analyze --json -k k.key "$TESTDATA/png/rgb_16bit_100x100.png"
cp out corr100.json
if pyjson "all(abs(d['critical']['correlation_all_05'][k] - 1.959963984540054 / (n - 1) ** 0.5) < 1e-9
               for k, n in (('horizontal', 9900), ('vertical', 9900), ('diagonal', 9801)))
    and abs(d['critical']['correlation_random_05']['diagonal']
            - 1.959963984540054 * (1 / 2000 + 1 / 9800) ** 0.5) < 1e-9
    and abs(d['critical']['correlation_key_05'] - 1.959963984540054 / 9999 ** 0.5) < 1e-9" corr100.json
then
    ok "100x100: correlation bounds per direction (diagonal 9801 pairs: 0.019799)"
else
    not_ok "100x100: correlation bounds per direction ($(grep -o '\"correlation_[a-z]*_05\":[^}]*}*' corr100.json | head -3))"
fi
# A signed DICOM is said to be measured as its words read unsigned.
run "$MC" analyze --json -k k.key "$TESTDATA/dicom/ct_512_explicit_le.dcm"
cp out sdcm.json
if pyjson "d['image']['signed_read_unsigned'] is True" sdcm.json &&
    pyjson "d['image']['signed_read_unsigned'] is False" corr100.json; then
    ok "signed DICOM: signed_read_unsigned true (a PNG: false)"
else
    not_ok "signed DICOM: signed_read_unsigned ($(head -c 160 sdcm.json))"
fi

# The ideal entropy is what T samples can reach: log2(10000) for 100x100.
if pyjson "abs(d['critical']['entropy_ideal'] - 13.287712379549449) < 1e-12" corr100.json; then
    ok "100x100 16-bit: ideal entropy log2(10000) = 13.2877, not 16"
else
    not_ok "100x100 16-bit: ideal entropy ($(grep -o '\"entropy_ideal\":[^,]*' corr100.json))"
fi

# A given cipher image of another plain image is said to be one, at the
# top; the sections it does not feed are said to come from medcrypt's own.
run "$MC" encrypt -k k.key -o other.png "$TESTDATA/jpeg/rgb_100x100.jpg"
run "$MC" analyze -k k.key "$TESTDATA/png/rgb_100x100.png" other.png
if grep -q '^warning: the given cipher image does not decrypt to this plain image$' out &&
    grep -q "from medcrypt's own encryptions of the plain image" out; then
    ok "a cipher of another image: a warning at the top, and what it does not feed"
else
    not_ok "a cipher of another image: warning ($(head -8 out | tr '\n' '|'))"
fi
# and on stderr, exit 0: the table may go to a file or a pipe (a review)
if [ "$RC" = 0 ] && [ "$(cat err)" = "medcrypt: other.png: warning: does not decrypt to $TESTDATA/png/rgb_100x100.png under this key: the decryption figures compare two different images" ]; then
    ok "a cipher of another image: the warning on stderr too, exit 0"
else
    not_ok "a cipher of another image: the warning on stderr ($(details))"
fi
run "$MC" analyze --json -k k.key "$TESTDATA/png/rgb_100x100.png" other.png
cp out other.json
if pyjson "d['cipher_decrypts_to_plain'] is False" other.json &&
    pyjson "d['cipher_decrypts_to_plain'] is True" given8.json; then
    ok "JSON: cipher_decrypts_to_plain false for another image's cipher, true for its own"
else
    not_ok "JSON: cipher_decrypts_to_plain ($(head -c 200 other.json))"
fi
run "$MC" analyze -k k.key "$PGM8" c8.png
if grep -q '^warning:' out || [ -s err ]; then
    not_ok "its own cipher image: no warning ($(grep '^warning' out; cat err))"
else
    ok "its own cipher image: no warning"
fi
# Chunks another program added to the given cipher image (a tEXt, a tIME:
# not verified, FORMAT.md §2) are named in each form of the report; none
# for the cipher image as written, null with no cipher image given.
if [ -n "$PY" ] && pngsplice c8.png added8.png 'ihdr:tEXt=Comment\0x' iend:tIME:07ea0c07080000; then
    run "$MC" analyze -k k.key --report added8.html "$PGM8" added8.png
    if [ "$RC" = 0 ] && grep -q -x 'note: the given cipher image holds chunks another program added (tEXt, tIME):' out &&
        grep -q -x '  not verified, and not part of these figures' out &&
        grep -q '<p class="note" id="added-chunks">The given cipher image also holds chunks another program added (tEXt, tIME). They are not verified, and are not part of these figures.</p>' added8.html; then
        ok "a given cipher image with chunks another program added: named in the table and the report"
    else
        not_ok "a given cipher image with added chunks: named ($(details))"
    fi
    run "$MC" analyze --json -k k.key "$PGM8" added8.png
    cp out added8.json
    if pyjson "d['cipher_added_chunks'] == 'tEXt, tIME'" added8.json &&
        pyjson "d['cipher_added_chunks'] == ''" given8.json &&
        pyjson "d['cipher_added_chunks'] is None" corr100.json; then
        ok "JSON: cipher_added_chunks names them, '' for the cipher image as written, null for none given"
    else
        not_ok "JSON: cipher_added_chunks ($(grep -o '"cipher_added_chunks":[^,]*' added8.json given8.json corr100.json | tr '\n' ' '))"
    fi
    # none for the cipher image as written: no note in the table or the
    # report (a mutation that wrote the note for any given cipher image,
    # "()", went unseen: forty-eighth round)
    run "$MC" analyze -k k.key --report given8.html "$PGM8" c8.png
    if [ "$RC" = 0 ] && [ -s given8.html ] && ! grep -q 'another program added' out given8.html; then
        ok "the cipher image as written: no note of added chunks in the table or the report"
    else
        not_ok "the cipher image as written: no note of added chunks ($(details); $(grep -h 'another program added' out given8.html | cut -c1-200))"
    fi
else
    not_ok "adding chunks to a cipher image (python3)"
fi

# Chi-square and entropy need 20 colliding pairs expected, T(T-1)/2K:
# 100x100 16-bit has 763, 33x17 16-bit 2.4 and 1x13 8-bit 0.3 (no test).
if pyjson "d['critical']['chi_square_05'] is not None and d['critical']['entropy_05'] is not None" \
    corr100.json; then
    ok "100x100 16-bit: chi-square and entropy judged (763 collisions expected)"
else
    not_ok "100x100 16-bit: chi-square and entropy judged"
fi
run "$MC" analyze -k k.key "$TESTDATA/png/edge_33x17_rgba16.png"
if grep -E '^  (chi-square|entropy \(bits/sample\)) .*(pass|FAIL) *$' out >/dev/null; then
    not_ok "33x17 16-bit: no chi-square or entropy verdict ($(grep chi-square out | head -2 | tr '\n' '|'))"
else
    ok "33x17 16-bit: no chi-square or entropy verdict (2.4 collisions expected)"
fi
run "$MC" analyze --json -k k.key "$TESTDATA/png/edge_13x1_rgb8.png"
cp out corr13.json
if pyjson "d['critical']['chi_square_05'] is None and d['critical']['entropy_05'] is None" corr13.json
then
    ok "1x13 8-bit: no chi-square or entropy critical value"
else
    not_ok "1x13 8-bit: no chi-square or entropy critical value"
fi
if pyjson "[d['critical']['correlation_all_05'][k] is None for k in ('horizontal', 'diagonal')] == [True, True]
    and abs(d['critical']['correlation_all_05']['vertical'] - 1.959963984540054 / 11 ** 0.5) < 1e-9
    and abs(d['critical']['correlation_random_05']['vertical']
            - 1.959963984540054 * (1 / 2000 + 1 / 11) ** 0.5) < 1e-9" corr13.json; then
    ok "1x13: no bound without pairs; the 2000 random pairs of 12 judged as 12"
else
    not_ok "1x13: correlation bounds ($(grep -o '\"correlation_[a-z]*_05\":[^}]*}*' corr13.json | head -3))"
fi
# Its report draws no scatter plot for the directions without pairs (it
# drew 2000 dots at the origin) and says why.
run "$MC" analyze -k k.key --report r13.html "$TESTDATA/png/edge_13x1_rgb8.png"
assert_rc 0 "analyze --report of a 13x1 image"
if grep -q 'Plain, horizontal: no such neighbours in an image one sample wide or high' r13.html &&
    grep -q 'Cipher, diagonal: no such neighbours' r13.html &&
    ! grep -q 'Plain, vertical: no such' r13.html &&
    [ "$(python3 -c 'import re, sys
figs = re.findall(r"<figure class=\"scatter\">.*?</figure>", open(sys.argv[1]).read(), re.S)
print(sum(1 for f in figs if "no such neighbours" in f and " d=\"\"" in f and "<circle" not in f))' r13.html)" -eq 4 ]; then
    ok "13x1 report: no dots for the directions without pairs, and why"
else
    not_ok "13x1 report: $(grep -o 'Plain, [a-z]*[^<]*' r13.html | head -3 | tr '\n' '|')"
fi
rm -f r13.html

# A multi-frame image is measured as its frames stacked: the outputs say so.
run "$MC" analyze --json -k k.key "$TESTDATA/dicom/rgb_16bit_2frames.dcm"
if pyjson "d['image']['frames'] == 2 and d['image']['height'] == 200" out; then
    ok "2-frame DICOM: the JSON gives the frames"
else
    not_ok "2-frame DICOM: the JSON gives the frames ($(head -c 120 out))"
fi
run "$MC" analyze -k k.key "$TESTDATA/dicom/rgb_16bit_2frames.dcm"
if grep -q -x 'image: 100x200 (2 frames of 100x100, stacked), 3 channels, 16 bits per sample (dicom)' out
then
    ok "2-frame DICOM: the table says the frames are stacked"
else
    not_ok "2-frame DICOM: the table says the frames are stacked ($(head -1 out))"
fi

# 12-bit PGM (16-bit samples, 65536 bins).
run "$MC" encrypt -k k.key -o c12.png "$PGM12"
run "$MC" analyze --json -k k.key "$PGM12" c12.png
cp out given12.json
assert_rc 0 "analyze a 12-bit PGM and its cipher"
check_json given12.json plain "$PGM12" "16-bit plain: metrics match Python (65536 bins)"
check_json given12.json cipher c12.png "16-bit cipher: metrics match Python"
if pyjson "d['image']['bits'] == 16 and d['critical']['chi_square_df'] == 65535
    and abs(d['critical']['chi_square_05'] - 66131.63) < 0.01
    and abs(d['differential']['npcr_critical'] - 99.993896) < 2e-6" given12.json; then
    ok "16-bit critical values (chi-square df 65535, NPCR for 128x128: exact binomial, k = 1)"
else
    not_ok "16-bit critical values"
fi

# RGB: one entry per channel.
run "$MC" encrypt -k k.key -o cr.png "$PPM"
run "$MC" analyze --json -k k.key "$PPM" cr.png
cp out rgb.json
assert_rc 0 "analyze an RGB PPM and its cipher"
check_json rgb.json plain "$PPM" "RGB plain: per-channel metrics match Python"
check_json rgb.json cipher cr.png "RGB cipher: per-channel metrics match Python"

# Same key and seed: the same numbers (timing aside).
run "$MC" analyze --json -k k.key --seed 5 "$PGM8"
cp out s1.json
run "$MC" analyze --json -k k.key --seed 5 "$PGM8"
cp out s2.json
if [ -n "$PY" ] && "$PY" -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
a.pop("timing"); b.pop("timing")
sys.exit(0 if a == b else 1)' s1.json s2.json; then
    ok "--seed: same key and seed give the same analysis"
else
    not_ok "--seed determinism"
fi
# --seed is used, not just parsed: the JSON names it, and another seed
# gives other random pairs, blocks and flipped bits (mutation testing,
# seventh round: a --seed ignored, the default seed used, passed the
# check above).
run "$MC" analyze --json -k k.key --seed 6 "$PGM8"
cp out s3.json
if [ -n "$PY" ] && "$PY" -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
sys.exit(0 if a["seed"] == 5 and b["seed"] == 6 and a["differential"] != b["differential"]
         else 1)' s1.json s3.json; then
    ok "--seed: the JSON names the seed, and another seed gives other differential figures"
else
    not_ok "--seed 5 against --seed 6"
fi

# ---------------------------------------------------------------------
# 3. the HTML report
# ---------------------------------------------------------------------
run "$MC" analyze --report r.html "$PGM8"
assert_rc 0 "--report writes the report"
if [ -s r.html ] && grep -q '<svg' r.html && grep -q '</html>' r.html &&
    ! grep -q 'http://' r.html && ! grep -q 'https://' r.html && ! grep -qi '<script' r.html; then
    ok "the report has inline SVG plots and no external URL or script"
else
    not_ok "report contents"
fi
if [ "$(grep -o '<svg' r.html | wc -l)" -ge 8 ]; then
    ok "the report has 2 histograms and 6 scatter plots"
else
    not_ok "report plots: $(grep -o '<svg' r.html | wc -l) svg"
fi
"$MC" analyze --report - --json "$PGM8" >stdout.html 2>/dev/null
if [ "$(head -c 15 stdout.html)" = "<!DOCTYPE html>" ] && [ "$(tail -n 1 stdout.html)" = "</body></html>" ]; then
    ok "--report - writes the report alone on standard output (no JSON after it)"
else
    not_ok "--report -: $(head -c 40 stdout.html) ... $(tail -c 40 stdout.html)"
fi
rm -f stdout.html
run "$MC" analyze --report r.html "$PGM8"
assert_err "an existing report is not replaced without --force" "already exists"
run "$MC" analyze --force --report r.html --json "$PGM8"
assert_rc 0 "--force replaces the report"
if ls -a | grep -q '\.tmp$'; then
    not_ok "no temporary file left behind"
else
    ok "no temporary file left behind"
fi

# ---------------------------------------------------------------------
# 4. the cipher stream for dieharder/ent
# ---------------------------------------------------------------------
run "$MC" analyze --stream 1 -k k.key -o s.bin "$PGM8"
if [ "$RC" -eq 0 ] && [ "$(wc -c <s.bin)" -eq 1048576 ]; then
    ok "--stream 1 -o FILE writes 1 MiB of cipher samples"
else
    not_ok "--stream 1 ($(details))"
fi
run "$MC" analyze --stream 1 --stage scrambling -k k.key -o s0.bin "$PGM8"
if [ "$RC" -eq 0 ] && [ -n "$PY" ] && "$PY" -c '
import sys
a = open(sys.argv[1], "rb").read(262144)
raster = open(sys.argv[2], "rb").read()[-262144:]  # P5 raster: the last W*H bytes
sys.exit(0 if sorted(a) == sorted(raster) else 1)' s0.bin "$PGM8"; then
    ok "--stage scrambling: the first image of the stream is a permutation of the plain samples"
else
    not_ok "--stage scrambling stream ($(details))"
fi
# Its exit status too, not only head's (mutation testing, twentieth round:
# exit 1 with nothing said passed).
{ "$MC" analyze --stream 1000 -k k.key -o - "$PGM8" 2>err; echo $? >pipe.rc; } |
    head -c 100000 >/dev/null
if [ ! -s err ] && [ "$(cat pipe.rc)" = 0 ]; then
    ok "--stream to a pipe stops quietly when the reader has enough, exit 0"
else
    not_ok "--stream to a closed pipe (exit $(cat pipe.rc); $(tr '\n' '|' <err))"
fi
run "$MC" analyze --stream 1 "$PGM8"
assert_err "--stream without -o" "go together"
run "$MC" analyze --stream 1 --stage bogus -o s2.bin "$PGM8"
assert_err "--stage of no stage" "unknown stage"
check "--stage of no stage: the stages named in the hint" \
    [ "$(sed -n 2p err)" = "medcrypt: hint: stages: scrambling, henon, logistic, xchacha20" ]
run "$MC" analyze --stream 1 -k k.key -o s.bin "$PGM8"
assert_err "--stream does not replace a file without --force" "already exists"
# A file is written chunk by chunk, as standard output is: it was built
# whole in memory first (up to 4 GiB) and held to 4096 MB for it. Over
# 4096 now taken; a write that fails on the way (the file size limit,
# 32 MiB in 512-byte blocks, its signal ignored: EFBIG) is said, and
# neither the file nor a temporary one is left.
mkdir big
run sh -c 'trap "" XFSZ; ulimit -f 65536; exec "$@"' sh \
    "$MC" analyze --stream 4097 -k k.key -o big/big.bin "$PGM8"
assert_err "--stream 4097 to a file: taken, the write's failure said" \
    "big/big.bin: write failed: File too large"
check "--stream to a file whose write failed: nothing left in its folder" \
    [ -z "$(ls -A big)" ]
rm -rf big
# Its memory does not grow with MB: 160 MiB of stream in 16 MiB chunks
# took 20 MiB here (70 under ASan, its shadow and quarantine); it took
# the 160 MiB and more.
if [ -n "$PY" ]; then
    peak=$("$PY" -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdin=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
        "$MC" analyze --stream 160 -k k.key -o s160.bin "$PGM8" 2>err)
    if [ -n "$peak" ] && [ "$peak" -lt 153600 ] &&
        [ "$(wc -c <s160.bin)" -eq 167772160 ]; then
        ok "--stream 160 to a file: 160 MiB written, peak RSS under 150 MiB"
    else
        not_ok "--stream 160 to a file: peak RSS '$peak' KiB, $(wc -c <s160.bin) bytes"
    fi
    rm -f s160.bin
else
    ok "--stream 160 to a file: memory # SKIP no python3"
fi
# Refusals of --stream (mutation testing, seventh round: each one removed,
# the suite still passed): a CIPHER, which the stream does not use;
# --seed, which it does not use either.
run "$MC" analyze --stream 1 -k k.key -o s3.bin "$PGM8" c8.png
assert_err "--stream with a CIPHER: refused" "go together, with PLAIN only"
run "$MC" analyze --stream 1 --seed 5 -k k.key -o s4.bin "$PGM8"
assert_err "--stream with --seed: refused" "not with --report, --json or --seed"
if [ -e s3.bin ] || [ -e s4.bin ]; then
    not_ok "a refused --stream wrote its file"
else
    ok "a refused --stream writes no file"
fi
# The output that is PLAIN is refused even with --force (mutation testing,
# seventh round: without the check, --force replaced the plain image by
# the stream).
cp "$PGM8" plaincopy.pgm
run "$MC" analyze --stream 1 --force -k k.key -o plaincopy.pgm plaincopy.pgm
assert_err "--stream -o PLAIN --force: refused" "the output would overwrite the input"
if cmp -s plaincopy.pgm "$PGM8"; then
    ok "--stream -o PLAIN --force: PLAIN unchanged"
else
    not_ok "--stream -o PLAIN --force replaced PLAIN"
fi
# Without -k, a fresh random key for each stream (mutation testing,
# seventh round: an all-zero key, the same stream every time, passed).
run "$MC" analyze --stream 1 -o r1.bin "$PGM8"
assert_rc 0 "--stream without -k exits 0"
run "$MC" analyze --stream 1 -o r2.bin "$PGM8"
if [ -s r1.bin ] && [ -s r2.bin ] && ! cmp -s r1.bin r2.bin && ! cmp -s r1.bin s.bin; then
    ok "--stream without -k: each stream under a fresh random key"
else
    not_ok "--stream without -k: the same stream twice (or -k's)"
fi
rm -f r1.bin r2.bin

# Mutation testing, twentieth round (cli/cmd_analyze.c): each check below
# failed on a one-line change of the code that the suite let pass.
#
# To standard output, the stream a file gets, MB megabytes exactly: it
# was 16 MiB chunks, each begun at a fresh nonce, so MB was rounded up
# to a multiple of 16 ("--stream 1 -o -" wrote 16 MiB). An image of
# 90000 bytes, which does not divide a chunk: the second chunk must go on
# from the nonce after the first chunk's last whole image. Each stream to
# standard output bounded (ulimit, head): a loop that does not end there
# filled the disk in mutation testing.
{ printf 'P5\n300 300\n255\n'; head -c 90000 /dev/urandom; } >odd.pgm
sh -c 'ulimit -f 81920; exec "$@"' sh "$MC" analyze --stream 33 -k k.key -o - odd.pgm \
    >so.bin 2>err
RC=$? LAST='analyze --stream 33 -k k.key -o - odd.pgm'
assert_rc 0 "--stream 33 -o -: exit 0"
run "$MC" analyze --stream 33 -k k.key -o sf.bin odd.pgm
if [ "$(wc -c <so.bin)" -eq 34603008 ] && cmp -s so.bin sf.bin; then
    ok "--stream 33 to standard output: 33 MiB, the same bytes as to a file"
else
    not_ok "--stream 33 to standard output: $(wc -c <so.bin) bytes, $(cmp so.bin sf.bin 2>&1)"
fi
# Both go through the same loop now: that its chunks go on from the
# nonce after the last one's (186 images of 90000 bytes in a 16 MiB
# chunk) is checked by every image of the stream being its own, none
# begun again from an earlier nonce.
if [ -n "$PY" ]; then
    if "$PY" -c '
import sys
data = open(sys.argv[1], "rb").read()
images = [data[k:k + 90000] for k in range(0, len(data) - 89999, 90000)]
sys.exit(0 if len(images) == 384 and len(set(images)) == 384 else 1)' so.bin; then
        ok "--stream 33: its 384 whole images all differ (each chunk from the next nonce)"
    else
        not_ok "--stream 33: an image repeated (a chunk begun from an earlier nonce)"
    fi
else
    ok "--stream 33: each chunk from the next nonce # SKIP no python3"
fi
rm -f so.bin sf.bin
check "--stream 1 -o -: 1 MiB" \
    [ "$("$MC" analyze --stream 1 -k k.key -o - "$PGM8" 2>/dev/null | head -c 2000000 |
        wc -c)" -eq 1048576 ]
# The limit is 2^30 megabytes (over it refused; ulimit: an endless stream
# is cut at 1024 blocks).
{ "$MC" analyze --stream 4097 -k k.key -o - "$PGM8" 2>err; echo $? >pipe.rc; } |
    head -c 1000 >head.out
if [ "$(cat pipe.rc)" = 0 ] && [ ! -s err ] && [ "$(wc -c <head.out)" -eq 1000 ]; then
    ok "--stream 4097 to standard output: taken"
else
    not_ok "--stream 4097 to standard output (exit $(cat pipe.rc); $(tr '\n' '|' <err))"
fi
run sh -c 'ulimit -f 1024; exec "$@"' sh "$MC" analyze --stream 1073741825 -k k.key -o - "$PGM8"
assert_err "--stream over 2^30 MB to standard output: refused" \
    "analyze: --stream takes 1 to 1073741824 megabytes"
# Not onto a terminal (script(1) gives it one).
if command -v script >/dev/null 2>&1; then
    SHELL=/bin/sh sh -c 'ulimit -f 8192; exec "$@"' sh \
        script -qec "'$MC' analyze --stream 1 -k k.key -o - '$PGM8'" /dev/null </dev/null \
        >tty.out 2>&1
    RC=$?
    if [ "$RC" -eq 1 ] && grep -q 'medcrypt: refusing to write binary data to a terminal' tty.out &&
        [ "$(wc -c <tty.out)" -lt 200 ]; then
        ok "--stream -o - onto a terminal: refused"
    else
        not_ok "--stream -o - onto a terminal (exit $RC, $(wc -c <tty.out) bytes)"
    fi
else
    ok "--stream -o - onto a terminal # SKIP no script(1)"
fi
run "$MC" analyze --stream 0 -o zero.bin "$PGM8"
assert_err "--stream 0: refused" "--stream takes 1 to 1073741824 megabytes"
run "$MC" analyze --stage henon "$PGM8"
assert_err "--stage without --stream: refused" "--stage goes with --stream"
run "$MC" analyze --seed -1 "$PGM8"
assert_err "--seed -1: refused (strtoull would take it)" \
    "--seed takes a non-negative integer, not '-1'"
# Each --stage its own stage: the Hénon stage moves bits, never changes
# their number (rotations, and exchanges between two words), where the
# logistic one changes it; xchacha20 is the whole cipher, the default.
for st in henon logistic xchacha20; do
    run "$MC" analyze --stream 1 --stage $st -k k.key -o st_$st.bin "$PGM8"
done
if [ -n "$PY" ]; then
    if "$PY" -c '
import sys
plain = open(sys.argv[1], "rb").read()[-262144:]
h = open("st_henon.bin", "rb").read()[:262144]
l = open("st_logistic.bin", "rb").read()[:262144]
ones = lambda b: sum(bin(x).count("1") for x in b)
sys.exit(0 if ones(h) == ones(plain) and sorted(h) != sorted(plain) and ones(l) != ones(plain)
         else 1)' "$PGM8"; then
        ok "--stage henon keeps the number of 1 bits and moves them; logistic changes it"
    else
        not_ok "--stage henon / logistic: not those stages"
    fi
else
    skip "--stage henon / logistic" "no python3"
fi
if cmp -s st_xchacha20.bin s.bin && ! cmp -s st_logistic.bin s.bin; then
    ok "--stage xchacha20 is the default stream, logistic is not"
else
    not_ok "--stage xchacha20 / logistic against the default stream"
fi
# The key file is an input: neither the stream nor the report replaces
# it, even with --force.
cp k.key kcopy.key
run "$MC" analyze --stream 1 --force -k kcopy.key -o kcopy.key "$PGM8"
assert_err "--stream -o KEYFILE --force: refused" \
    "kcopy.key: an output would overwrite the key file (-k)"
run "$MC" analyze --force --report kcopy.key -k kcopy.key "$PGM8"
assert_err "--report KEYFILE --force: refused" \
    "kcopy.key: an output would overwrite the key file (-k)"
check "--stream/--report over the key file: the key file unchanged" cmp -s kcopy.key k.key
# The stream and the report are the user's alone, whatever the umask:
# a stream is cipher samples under the user's key, a report holds the
# plain image's histogram and pixels.
(umask 022 && "$MC" analyze --stream 1 -k k.key -o mode.bin "$PGM8" &&
    "$MC" analyze --report mode.html -k k.key "$PGM8" >/dev/null) 2>err
check "--stream file and --report written 0600 under umask 022" \
    [ "$(stat -c %a mode.bin mode.html 2>/dev/null | tr '\n' ' ')" = "600 600 " ]
rm -f mode.bin mode.html st_*.bin
# A full standard output is said (ENOSPC), for the stream and the table.
if [ -w /dev/full ]; then
    "$MC" analyze --stream 1 -k k.key -o - "$PGM8" >/dev/full 2>err
    RC=$? LAST='analyze --stream 1 -o - >/dev/full'
    : >out
    assert_err "--stream to a full device: said" "standard output: No space left on device"
    "$MC" analyze --seed 7 "$PGM8" >/dev/full 2>err
    RC=$? LAST='analyze PLAIN >/dev/full'
    assert_err "the table to a full device: said" "standard output: No space left on device"
fi

# ---------------------------------------------------------------------
# 5. errors: exit 1, one line
# ---------------------------------------------------------------------
run "$MC" analyze
assert_err "no PLAIN" "expected PLAIN"
run "$MC" analyze a b c
assert_err "three files" "expected PLAIN"
run "$MC" analyze --bogus "$PGM8"
assert_err "unknown option" "unknown option '--bogus'"
run "$MC" analyze --seed x "$PGM8"
assert_err "bad --seed" "--seed"
run "$MC" analyze missing.pgm
assert_err "missing PLAIN" "missing.pgm"
printf 'not an image' >junk.bin
run "$MC" analyze junk.bin
assert_err "PLAIN not an image" "junk.bin"
run "$MC" analyze "$PGM8" "$PGM8"
assert_err "CIPHER not a cipher image" "ct_512_8bit.pgm"
check "CIPHER not a cipher image: the hint says what CIPHER is" \
    [ "$(sed -n 2p err)" = "medcrypt: hint: CIPHER is a cipher image written by 'medcrypt encrypt'" ]
run "$MC" analyze "$PPM" c8.png
assert_err "CIPHER of another image" "not a cipher image of"
# The same width and height, other bits or channels (mutation testing,
# twentieth round: each comparison dropped passed).
run "$MC" encrypt -k k.key -o c16.png "$TESTDATA/png/ct_512_16bit.png"
run "$MC" analyze "$PGM8" c16.png
assert_err "CIPHER of a 16-bit image for an 8-bit PLAIN" \
    "c16.png: not a cipher image of $PGM8 (it holds 512x512, 1 channel, 16 bits; $PGM8 is 512x512, 1 channel, 8 bits)"
{ printf 'P5\n100 100\n255\n'; head -c 10000 /dev/urandom; } >g100.pgm
run "$MC" encrypt -k k.key -o crgb.png "$PPM"
run "$MC" analyze g100.pgm crgb.png
assert_err "CIPHER of an RGB image for a gray PLAIN" \
    "crgb.png: not a cipher image of g100.pgm (it holds 100x100, 3 channels, 8 bits; g100.pgm is 100x100, 1 channel, 8 bits)"
run "$MC" keygen --aadhaar "2345 6789 0124" --dob 1990-05-17 -o k2.key
run "$MC" analyze -k k2.key "$PGM8" c8.png
assert_err "CIPHER under another key" "wrong key"
# Both key ids (c8.png is under k.key), as decrypt gives them.
ID1=$(sed -n 's/^# key id: //p' k.key) ID2=$(sed -n 's/^# key id: //p' k2.key)
assert_err "CIPHER under another key: the key ids" \
    "c8.png: wrong key: the image was encrypted under key id $ID1, this key's id is $ID2"
# A modified CIPHER: the error names CIPHER, not PLAIN (mutation testing,
# seventh round: the modified cipher image reported as PLAIN's fault).
# One sample changed in a valid PNG (IDAT recompressed, CRCs right), so
# that the container passes and the MAC fails; a byte flipped in the file
# is found by the container's own checks, before the analysis.
if [ -n "$PY" ]; then
    "$PY" -c '
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
pos, chunks = 8, []
while pos < len(d):
    n, = struct.unpack(">I", d[pos:pos + 4])
    chunks.append((d[pos + 4:pos + 8], d[pos + 8:pos + 8 + n]))
    pos += 12 + n
raw = bytearray(zlib.decompress(b"".join(b for t, b in chunks if t == b"IDAT")))
raw[len(raw) // 2] ^= 1
out, done = [d[:8]], False
for t, b in chunks:
    if t == b"IDAT":
        if done:
            continue
        b, done = zlib.compress(bytes(raw)), True
    out.append(struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b)))
open(sys.argv[2], "wb").write(b"".join(out))' c8.png c8mod.png
    run "$MC" analyze -k k.key "$PGM8" c8mod.png
    assert_err "a modified CIPHER (its MAC fails): named" "c8mod.png: the cipher image was modified or damaged"
fi
# A report that is CIPHER is refused even with --force (mutation testing,
# seventh round: without the check, --force replaced the cipher image by
# the report).
cp c8.png c8copy.png
run "$MC" analyze --force --report c8copy.png -k k.key "$PGM8" c8copy.png
assert_err "--report CIPHER --force: refused" "c8copy.png: the report would overwrite an input"
if cmp -s c8copy.png c8.png; then
    ok "--report CIPHER --force: CIPHER unchanged"
else
    not_ok "--report CIPHER --force replaced CIPHER"
fi
run "$MC" analyze --report nodir/r.html "$PGM8"
assert_err "report in a missing directory" "nodir/r.html"
# A CIPHER given without its key: the report says the decryption was not
# measured, as the table and the JSON (null) do; its rows were just absent.
run "$MC" analyze --report nokey.html "$PGM8" c8.png
assert_rc 0 "report of a CIPHER given without its key: exit 0"
if grep -q 'Decryption: not measured (a cipher image was given without its key)' nokey.html; then
    ok "report of a CIPHER given without its key: the decryption not measured, said"
else
    not_ok "report of a CIPHER given without its key: the decryption not measured, said"
fi
# Standard input read twice: the key took it whole, and PLAIN (or CIPHER)
# read nothing ("-: not an image medcrypt can read"); refused as preview
# refuses it, before any reading.
"$MC" analyze -k - - <k.key >out 2>err
RC=$? LAST='analyze -k - - <k.key'
assert_err "-k - with PLAIN '-': refused" "standard input can be read only once"
"$MC" analyze -k - "$PGM8" - <k.key >out 2>err
RC=$? LAST='analyze -k - PLAIN - <k.key'
assert_err "-k - with CIPHER '-': refused" "standard input can be read only once"
"$MC" analyze - - <c8.png >out 2>err
RC=$? LAST='analyze - - <c8.png'
assert_err "PLAIN and CIPHER both '-': refused" "standard input can be read only once"

tl_finish
