#!/bin/sh
# Tamper and truncation sweeps, nothing lost, disk full, no secrets in the
# output (issue 9):
#
#     sh tests/robust.sh /abs/path/to/medcrypt /abs/path/to/testdata
#
# 1. Tamper sweep: every single-byte change (XOR 0xFF and +1) and every
#    truncation of a small cipher image (3x2 RGB) is refused through the
#    CLI and classified "the cipher image was modified or damaged", the key
#    id changed with the CRC recomputed too (not "wrong key": it is under
#    the tag, and the right key tells)
#    ("not a medcrypt cipher image" only where the PNG signature or a chunk
#    type/length itself is destroyed). Then 200 random single-bit flips of
#    the pixel data of a 512x512 16-bit cipher image (IDAT inflated, one
#    bit flipped, deflated again, CRC right) are all "modified or damaged".
# 2. Nothing lost: a batch of 20 files is SIGKILLed at 10 random moments
#    within the first three quarters of a whole batch (timed first):
#    the inputs are intact, every output under its final name decrypts to
#    its input, leftover temporary files are counted (SIGKILL cannot be
#    caught), and a rerun with --force completes. SIGTERM, SIGINT and
#    SIGHUP mid-batch leave no temporary file; started with SIGHUP or
#    SIGINT ignored (nohup, a background job), the batch runs to the end.
# 3. Disk full: a 1 MiB tmpfs (when mount is permitted) and an LD_PRELOAD
#    write() that fails with ENOSPC: exit 1, one line, no partial output,
#    no temporary file.
# 3b. Filesystems: an output has no name until complete (O_TMPFILE), or is
#    a named temporary file moved by renameat2(RENAME_NOREPLACE), or by
#    link() where the flag is refused, and never replaces a file that
#    appeared meanwhile (an LD_PRELOAD shim plays FAT, NFS and the race).
# 4. Secrets: every stdout/stderr of this suite and of a keygen / encrypt /
#    decrypt / analyze / info run holds none of the Aadhaar numbers, dates
#    of birth or key texts used (the key text only on keygen's stdout).
#
# Every check prints "ok - ..." or "not ok - ..."; the last line is
# "N passed, M failed", and the exit status is 1 if any check failed.
# Bounded: a fixed number of runs, each under timeout. POSIX sh, python3
# (standard library), cc for the LD_PRELOAD shim.

. "$(dirname "$0")/lib.sh"
tl_args robust.sh "$@"
PY=$(command -v python3) || { echo "robust.sh: python3 is needed" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/medcrypt-robust.XXXXXX") || exit 2
MNT=
cleanup() {
    [ -z "$MNT" ] || umount "$MNT" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
W=$T/w   # where medcrypt runs and writes
R=$T/r   # captured output, helper scripts
LOG=$R/all.log # every stdout/stderr text of medcrypt in this suite
mkdir "$W" "$R" || exit 2
: >"$LOG"

ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=98"
export ASAN_OPTIONS UBSAN_OPTIONS

# run CMD...: in W, stdin /dev/null, stdout R/out, stderr R/err, RC; both
# texts appended to LOG (binary stdout is not text: only stderr then).
run() {
    (cd "$W" && exec timeout 120 "$@") </dev/null >"$R/out" 2>"$R/err"
    RC=$?
    cat "$R/err" >>"$LOG"
}

err_text() {
    tr '\n' '|' <"$R/err" | cut -c1-300
}

tmp_count() { # DIR: the number of temporary files .NAME.XXXXXX.tmp
    find "$1" -maxdepth 1 -name '.*.tmp' | wc -l | tr -d ' '
}

# kept_check DESC DIR NAME CONTENT LINE: the last run exited 1 with LINE
# alone on stderr, and left DIR/NAME holding CONTENT and no temporary file
# in DIR.
kept_check() {
    kc_why=
    [ "$RC" -eq 1 ] || kc_why="exit $RC"
    [ "$(cat "$R/err")" = "$5" ] || kc_why="$kc_why${kc_why:+; }stderr: $(err_text)"
    [ "$(cat "$2/$3" 2>/dev/null)" = "$4" ] || kc_why="$kc_why${kc_why:+; }$3 was replaced"
    [ "$(tmp_count "$2")" -eq 0 ] || kc_why="$kc_why${kc_why:+; }temporary file left"
    if [ -z "$kc_why" ]; then
        ok "$1"
    else
        not_ok "$1: $kc_why"
    fi
}

AADHAAR1="2345 6789 0124"
DOB1=1990-05-17
AADHAAR2="8765 4321 0988"
DOB2=1961-02-28
"$MC" keygen --aadhaar "$AADHAAR1" --dob "$DOB1" -o "$R/k.key" >>"$LOG" 2>&1 ||
    { echo "robust.sh: keygen failed" >&2; exit 2; }
KEY=$(grep -v '^[[:space:]]*#' "$R/k.key" | grep -v '^[[:space:]]*$' | head -n 1)

cat >"$R/sweep.py" <<'EOF'
"""Tamper sweeps through the CLI (see robust.sh)."""
import os, random, struct, subprocess, sys, zlib

SIG = b'\x89PNG\r\n\x1a\n'
MODIFIED = 'the cipher image was modified or damaged'
NOTCIPHER = 'not a medcrypt cipher image'
EMPTY = 'empty file (0 bytes)'
HINT = ("medcrypt: hint: decrypt takes a cipher image written by 'medcrypt encrypt', as it was "
        "sent (saved again by another program, a viewer or a chat app, it loses its medcrypt "
        "data)")
WRONG_KEY_HINT = "medcrypt: hint: its key file says '# key id: "
CUT_HINT = ("medcrypt: hint: it has no end chunk (IEND): cut short, as by an interrupted "
            "transfer? Fetch it again")


def chunks(d):
    i, out = 8, []
    while i + 12 <= len(d):
        n, = struct.unpack('>I', d[i:i + 4])
        out.append((d[i + 4:i + 8], i, n))
        i += 12 + n
    return out


def chunk(t, data):
    return struct.pack('>I', len(data)) + t + data + struct.pack('>I', zlib.crc32(t + data) & 0xffffffff)


def fixcrc(d, off):
    n, = struct.unpack('>I', d[off:off + 4])
    d[off + 8 + n:off + 12 + n] = struct.pack('>I', zlib.crc32(bytes(d[off + 4:off + 8 + n])) & 0xffffffff)


def decrypt(mc, key, w, names, jobs=1, log=None):
    p = subprocess.run([mc, 'decrypt', '-k', key, '-j', str(jobs)] + names, cwd=w,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    err = p.stderr.decode('utf-8', 'replace')
    if log:
        log.write(err)
        log.write(p.stdout.decode('utf-8', 'replace'))
    return p.returncode, err.splitlines(), p.stdout


def refused(rc, lines, out, w, name, allowed):
    """'' if refused as one of the allowed classes, else why not."""
    why = []
    if rc != 1:
        why.append('exit %d' % rc)
    prefix = 'medcrypt: %s: ' % name
    if not lines or not lines[0].startswith(prefix):
        why.append('stderr %r' % lines[:3])
    else:
        msg = lines[0][len(prefix):]
        if msg.startswith('wrong key: the image was encrypted under key id '):
            msg = 'wrong key'  # the key ids follow
            extra = [l for l in lines[1:] if not l.startswith(WRONG_KEY_HINT)]
            if extra:
                why.append('extra lines %r' % extra[:2])
            lines = lines[:1]
        # what the file is, when it is an image at all: a PNG without
        # its medcrypt chunk, here
        if msg == NOTCIPHER + ": a PNG image without medcrypt's data":
            msg = NOTCIPHER
        if msg not in allowed:
            why.append('classified %r' % msg)
        extra = lines[1:]
        if msg == NOTCIPHER:
            extra = [l for l in extra if l != HINT]
        if msg == MODIFIED:
            extra = [l for l in extra if l != CUT_HINT]
        if extra:
            why.append('extra lines %r' % extra[:2])
    left = sorted(set(os.listdir(w)) - {name})
    if left:
        why.append('left behind %s' % left)
    if out:
        why.append('wrote %d bytes to stdout' % len(out))
    return '; '.join(why)


def small(mc, key, w, cipher, log):
    c = open(cipher, 'rb').read()
    cs = chunks(c)
    mcry = next((off, n) for t, off, n in cs if t == b'mcRY')
    keyid = range(mcry[0] + 8 + 24, mcry[0] + 8 + 32)
    # Bytes whose damage may make the file stop being a PNG/cipher at all:
    # the signature, and each chunk's length and type fields.
    structural = set(range(8))
    for t, off, n in cs:
        structural.update(range(off, off + 8))
    name = 't.enc.png'
    path = os.path.join(w, name)
    counts = {'changes': 0, 'truncations': 0, 'key_id': 0, 'not_cipher': 0}
    bad = []
    for i in range(len(c)):
        for how, f in (('xor 0xff', lambda b: b ^ 0xff), ('+1', lambda b: (b + 1) & 0xff)):
            d = bytearray(c)
            d[i] = f(d[i])
            open(path, 'wb').write(d)
            rc, lines, out = decrypt(mc, key, w, [name], log=log)
            allowed = {MODIFIED, NOTCIPHER} if i in structural else {MODIFIED}
            why = refused(rc, lines, out, w, name, allowed)
            if why:
                bad.append('byte %d %s: %s' % (i, how, why))
            elif NOTCIPHER in lines[0]:
                counts['not_cipher'] += 1
            counts['changes'] += 1
            os.unlink(path)
    for i in keyid:
        for how, f in (('xor 0xff', lambda b: b ^ 0xff), ('+1', lambda b: (b + 1) & 0xff)):
            d = bytearray(c)
            d[i] = f(d[i])
            fixcrc(d, mcry[0])
            open(path, 'wb').write(d)
            rc, lines, out = decrypt(mc, key, w, [name], log=log)
            # Under the tag like every header byte: the right key's image
            # with its id changed is modified, not another key's.
            why = refused(rc, lines, out, w, name, {MODIFIED})
            if why:
                bad.append('key id byte %d %s, CRC fixed: %s' % (i, how, why))
            counts['key_id'] += 1
            os.unlink(path)
    for n in range(len(c)):
        open(path, 'wb').write(c[:n])
        rc, lines, out = decrypt(mc, key, w, [name], log=log)
        allowed = ({EMPTY} if n == 0 else
                   {MODIFIED, NOTCIPHER} if n < 8 + 25 + 8 else {MODIFIED})
        why = refused(rc, lines, out, w, name, allowed)
        if why:
            bad.append('truncated to %d bytes: %s' % (n, why))
        elif NOTCIPHER in lines[0]:
            counts['not_cipher'] += 1
        counts['truncations'] += 1
        os.unlink(path)
    print('size=%d changes=%d key_id=%d truncations=%d not_cipher=%d' % (
        len(c), counts['changes'], counts['key_id'], counts['truncations'], counts['not_cipher']))
    for b in bad[:20]:
        print('BAD ' + b)
    print('bad=%d' % len(bad))


def large(mc, key, w, cipher, log, n_flips, batch):
    c = open(cipher, 'rb').read()
    cs = chunks(c)
    w_, h_, depth, ct = struct.unpack('>IIBB', c[16:26])
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ct]
    rowlen = 1 + w_ * ch * depth // 8
    head = c[:next(off for t, off, n in cs if t == b'IDAT')]
    raw = zlib.decompress(b''.join(c[off + 8:off + 8 + n] for t, off, n in cs if t == b'IDAT'))
    rnd = random.Random(20261125)
    bad, done = [], 0
    while done < n_flips:
        names = []
        for k in range(min(batch, n_flips - done)):
            while True:
                p = rnd.randrange(len(raw))
                if p % rowlen:  # a sample byte, not a filter-type byte
                    break
            d = bytearray(raw)
            d[p] ^= 1 << rnd.randrange(8)
            name = 'f%03d.enc.png' % (done + k)
            open(os.path.join(w, name), 'wb').write(
                head + chunk(b'IDAT', zlib.compress(bytes(d), 1)) + chunk(b'IEND', b''))
            names.append(name)
        rc, lines, out = decrypt(mc, key, w, names, jobs=2, log=log)
        want = {'medcrypt: %s: %s' % (nm, MODIFIED) for nm in names}
        got = set(lines)
        if rc != 1 or got != want or len(lines) != len(names) or out:
            bad.append('batch from %d: exit %d, %d lines for %d files, unexpected %r' % (
                done, rc, len(lines), len(names), sorted(got - want)[:3]))
        left = sorted(set(os.listdir(w)) - set(names))
        if left:
            bad.append('left behind %s' % left[:5])
        for nm in names:
            os.unlink(os.path.join(w, nm))
        done += len(names)
    print('flips=%d' % done)
    for b in bad[:20]:
        print('BAD ' + b)
    print('bad=%d' % len(bad))


def main():
    mode, mc, key, w, cipher, logpath = sys.argv[1:7]
    with open(logpath, 'a') as log:
        if mode == 'small':
            small(mc, key, w, cipher, log)
        else:
            large(mc, key, w, cipher, log, int(sys.argv[7]), int(sys.argv[8]))


main()
EOF

# ---------------------------------------------------------------------
# 1. Tamper and truncation sweeps
# ---------------------------------------------------------------------

"$PY" -c "
import struct, zlib, sys
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
raw = b''.join(b'\x00' + bytes((x * 40 + y * 90) & 255 for x in range(9)) for y in range(2))
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 3, 2, 8, 2, 0, 0, 0))
    + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))" "$R/small.png"
run "$MC" encrypt -k "$R/k.key" -o "$R/small.enc.png" "$R/small.png"
if [ "$RC" -ne 0 ]; then
    not_ok "encrypt a 3x2 RGB image for the sweep (exit $RC: $(err_text))"
else
    "$PY" "$R/sweep.py" small "$MC" "$R/k.key" "$W" "$R/small.enc.png" "$LOG" >"$R/sweep" 2>&1
    sed -n 's/^BAD /# /p' "$R/sweep"
    SW=$(sed -n 1p "$R/sweep")
    if grep -qx 'bad=0' "$R/sweep"; then
        ok "tamper sweep of a $(echo "$SW" | sed 's/.*size=\([0-9]*\).*/\1/')-byte cipher: every single-byte change and truncation refused and classified ($SW)"
    else
        not_ok "tamper sweep of a small cipher ($SW; $(grep -c '^BAD' "$R/sweep") shown above; $(tail -n 1 "$R/sweep"))"
    fi
fi

cp "$TESTDATA/png/ct_512_16bit.png" "$R/ct16.png"
run "$MC" encrypt -k "$R/k.key" -o "$R/ct16.enc.png" "$R/ct16.png"
if [ "$RC" -ne 0 ]; then
    not_ok "encrypt the 512x512 16-bit CT for the bit-flip sweep (exit $RC: $(err_text))"
else
    "$PY" "$R/sweep.py" large "$MC" "$R/k.key" "$W" "$R/ct16.enc.png" "$LOG" 200 50 >"$R/sweep" 2>&1
    sed -n 's/^BAD /# /p' "$R/sweep"
    if grep -qx 'bad=0' "$R/sweep" && grep -qx 'flips=200' "$R/sweep"; then
        ok "200 random single-bit flips in the pixel data of a 512x512 16-bit cipher (CRC right): all 'modified or damaged'"
    else
        not_ok "200 bit flips in the pixel data of a large cipher ($(tr '\n' ' ' <"$R/sweep" | cut -c1-400))"
    fi
fi
rm -f "$W"/*

# ---------------------------------------------------------------------
# 2. Nothing lost: SIGKILL, SIGTERM, SIGINT mid-batch
# ---------------------------------------------------------------------

N_COPIES=20
SRC=$TESTDATA/pnm/ct_512_8bit.pgm # PGM comes back byte for byte
SRC_SUM=$(sha256sum "$SRC" | cut -d' ' -f1)
B=$W/batch
mkdir "$B"
i=1
while [ "$i" -le "$N_COPIES" ]; do
    cp "$SRC" "$B/in$i.pgm"
    i=$((i + 1))
done
# Plain names (in1.pgm ...), split on purpose where used.
INPUTS=$(cd "$B" && echo in*.pgm)

rand_ms() { # a random number of milliseconds in 0..$1
    od -An -tu4 -N4 /dev/urandom | awk -v m="$1" '{ print $1 % (m + 1) }'
}

# check_batch WHAT: inputs intact, each output decrypts to its input.
# Sets CB_OUT (outputs present), CB_TMP (temporary files left).
check_batch() {
    cb_bad=
    for f in $INPUTS; do
        [ "$(sha256sum "$B/$f" | cut -d' ' -f1)" = "$SRC_SUM" ] || cb_bad="$cb_bad $f changed;"
    done
    CB_OUT=0
    rm -rf "$W/chk"
    mkdir "$W/chk"
    for f in "$B"/*.enc.png; do
        [ -e "$f" ] || continue
        CB_OUT=$((CB_OUT + 1))
        cp "$f" "$W/chk/"
    done
    if [ "$CB_OUT" -gt 0 ]; then
        (cd "$W/chk" && timeout 120 "$MC" decrypt -k "$R/k.key" -j 2 ./*.enc.png) \
            </dev/null >"$R/out" 2>"$R/err"
        cat "$R/err" >>"$LOG"
        for f in "$W"/chk/*.enc.png; do
            g=${f%.enc.png}
            cmp -s "$g" "$SRC" || cb_bad="$cb_bad $(basename "$f") does not decrypt to its input;"
        done
    fi
    CB_TMP=$(tmp_count "$B")
    if [ -z "$cb_bad" ]; then
        ok "$1: inputs intact, $CB_OUT outputs under final names all decrypt exactly, $CB_TMP temporary files"
    else
        not_ok "$1:$(printf '%s' "$cb_bad" | cut -c1-400)"
    fi
}

# The kills land at a random moment within the time a whole batch takes
# here (KILL_MS, below): the fastest of three, measured first (a fixed window outlived the
# batch once it got fast: every kill then found all 20 outputs).
BATCH_MS=
for try in 1 2 3; do
    rm -f "$B"/*.enc.png
    t0=$(date +%s%N)
    # shellcheck disable=SC2086 # INPUTS: one word per file
    (cd "$B" && exec "$MC" encrypt -k "$R/k.key" -j 2 $INPUTS) </dev/null >/dev/null 2>>"$LOG"
    t1=$(date +%s%N)
    case "$t0$t1" in
    *[!0-9]*) ms=300 ;; # no nanoseconds from date(1)
    *) ms=$(((t1 - t0) / 1000000)) ;;
    esac
    [ -n "$BATCH_MS" ] && [ "$BATCH_MS" -le "$ms" ] || BATCH_MS=$ms
done
[ "$BATCH_MS" -ge 5 ] || BATCH_MS=5
# The kills below land in its first three quarters: the last quarter is
# mostly the process's exit (long under ASan), when all is done already.
KILL_MS=$((BATCH_MS * 3 / 4))

# A shell starts a background job with SIGINT ignored, and medcrypt keeps
# a signal it was started with ignored as it is (nohup(1) relies on that
# for SIGHUP). The trials below stand for Ctrl-C or a hang-up of a batch
# in the foreground, so they start it with those signals at their
# defaults (GNU env); the runs "as started" check that an ignored signal
# stays ignored.
if env --default-signal=INT,HUP true 2>/dev/null; then
    FG="env --default-signal=INT,HUP"
else
    FG=
    echo "# env(1) without --default-signal: the SIGINT trials run as a background job"
fi

# signal_after SIG MS DIR CMD...: runs CMD in DIR as a background job of
# this shell (stderr to LOG), sends it SIG after MS ms and waits; AFT_RC
# is its exit status.
signal_after() {
    sa_sig=$1
    sa_s=$(awk -v m="$2" 'BEGIN { printf "%.3f", m / 1000 }')
    sa_dir=$3
    shift 3
    (cd "$sa_dir" && exec "$@") </dev/null >/dev/null 2>"$R/sa_err" &
    sa_pid=$!
    sleep "$sa_s"
    kill -"$sa_sig" "$sa_pid" 2>/dev/null
    wait "$sa_pid" 2>/dev/null
    AFT_RC=$?
    cat "$R/sa_err" >>"$LOG"
}

# after_ms_then SIG MS [HOW]: signal_after for the batch of B. HOW: fg
# (default), bg (as a background job of this shell), nohup (started with
# SIGHUP ignored, as nohup(1) does: this shell ignores it meanwhile).
after_ms_then() {
    # shellcheck disable=SC2086 # INPUTS: one word per file; FG: a command
    case "${3:-fg}" in
    fg) signal_after "$1" "$2" "$B" $FG "$MC" encrypt -k "$R/k.key" -j 2 $INPUTS ;;
    bg) signal_after "$1" "$2" "$B" "$MC" encrypt -k "$R/k.key" -j 2 $INPUTS ;;
    nohup)
        trap '' HUP
        signal_after "$1" "$2" "$B" "$MC" encrypt -k "$R/k.key" -j 2 $INPUTS
        trap 'exit 1' HUP
        ;;
    esac
}

KILLS=10
TMP_LEFT=0
OUTS_AT_KILL=
MID_BATCH=0
k=1
while [ "$k" -le "$KILLS" ]; do
    rm -f "$B"/*.enc.png "$B"/.*.tmp
    ms=$(rand_ms "$KILL_MS")
    after_ms_then KILL "$ms"
    check_batch "SIGKILL after $ms ms (trial $k of $KILLS)"
    TMP_LEFT=$((TMP_LEFT + CB_TMP))
    OUTS_AT_KILL="$OUTS_AT_KILL $CB_OUT"
    [ "$CB_OUT" -eq "$N_COPIES" ] || MID_BATCH=$((MID_BATCH + 1))
    # shellcheck disable=SC2086 # INPUTS: one word per file
    (cd "$B" && timeout 120 "$MC" encrypt -k "$R/k.key" -j 2 --force $INPUTS) \
        </dev/null >"$R/out" 2>"$R/err"
    RC=$?
    cat "$R/err" >>"$LOG"
    n_out=$(find "$B" -maxdepth 1 -name '*.enc.png' | wc -l | tr -d ' ')
    rm -f "$B"/.*.tmp # the orphans of the kill (counted above)
    if [ "$RC" -eq 0 ] && [ "$n_out" -eq "$N_COPIES" ] && [ ! -s "$R/err" ]; then
        ok "trial $k: the rerun with --force completes ($n_out outputs)"
    else
        not_ok "trial $k: the rerun with --force completes (exit $RC, $n_out outputs: $(err_text))"
    fi
    k=$((k + 1))
done
echo "# SIGKILL: a whole batch takes $BATCH_MS ms here; $KILLS kills; outputs present at each kill:$OUTS_AT_KILL; temporary files left in all: $TMP_LEFT"
if [ "$MID_BATCH" -gt 0 ]; then
    ok "SIGKILL: $MID_BATCH of $KILLS kills landed before the batch was done"
else
    not_ok "SIGKILL: no kill landed before the batch was done (a batch takes $BATCH_MS ms)"
fi
check_batch "after the last rerun"
if [ "$CB_OUT" -eq "$N_COPIES" ] && [ "$CB_TMP" -eq 0 ]; then
    ok "after the last rerun: all $N_COPIES outputs, no temporary file"
else
    not_ok "after the last rerun: $CB_OUT of $N_COPIES outputs, $CB_TMP temporary files"
fi

# Where the filesystem has O_TMPFILE (and /proc/self/fd names the file, as
# medcrypt checks), an output has no name until it is complete: a SIGKILL
# leaves nothing behind, for a decrypt no plain data.
cat >"$R/tmpfile.py" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_TMPFILE | os.O_WRONLY, 0o600)
a, b = os.fstat(fd), os.stat("/proc/self/fd/%d" % fd)
sys.exit(0 if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) else 1)
EOF
if "$PY" "$R/tmpfile.py" "$B" 2>/dev/null; then
    if [ "$TMP_LEFT" -eq 0 ]; then
        ok "SIGKILL: no temporary file left by any of the $KILLS kills (outputs unnamed until complete: O_TMPFILE)"
    else
        not_ok "SIGKILL: $TMP_LEFT temporary files left, where the filesystem has O_TMPFILE"
    fi
    D=$W/dk
    mkdir "$D"
    for f in $INPUTS; do cp "$B/$f.enc.png" "$D/"; done
    DEC_MID=0
    for k in 1 2 3 4 5; do
        rm -f "$D"/*.pgm "$D"/.*.tmp
        ms=$(rand_ms "$KILL_MS")
        # shellcheck disable=SC2046 # the cipher files: one word each
        signal_after KILL "$ms" "$D" "$MC" decrypt -k "$R/k.key" -j 2 $(cd "$D" && echo ./*.enc.png)
        dk_bad=
        n=0
        for g in "$D"/*.pgm; do
            [ -e "$g" ] || continue
            n=$((n + 1))
            cmp -s "$g" "$SRC" || dk_bad="$dk_bad $(basename "$g") is not its plain image;"
        done
        [ "$n" -eq "$N_COPIES" ] || DEC_MID=$((DEC_MID + 1))
        left=$(find "$D" -maxdepth 1 -name '.*' -type f | wc -l | tr -d ' ')
        [ "$left" -eq 0 ] || dk_bad="$dk_bad $left temporary files left;"
        if [ -z "$dk_bad" ]; then
            ok "decrypt SIGKILLed after $ms ms: $n outputs, each its plain image, no temporary file (no plain data left behind)"
        else
            not_ok "decrypt SIGKILLed after $ms ms:$dk_bad"
        fi
    done
    echo "# decrypt SIGKILL: $DEC_MID of 5 kills landed before the batch was done"
    rm -rf "$D"
    # With --force the complete, synced file is linked under a temporary
    # name and renamed over the old output: a kill while that link is made
    # can leave a name, but only on a whole file (the build with named
    # temporary files left 6 to 33 in three kills; by hand, some empty).
    FORCE_TMP=0
    FORCE_BAD=
    for k in 1 2 3; do
        ms=$(rand_ms "$KILL_MS")
        # shellcheck disable=SC2086 # INPUTS: one word per file
        signal_after KILL "$ms" "$B" "$MC" encrypt -k "$R/k.key" -j 2 --force $INPUTS
        check_batch "encrypt --force over 20 outputs SIGKILLed after $ms ms"
        for t in "$B"/.*.tmp; do
            [ -e "$t" ] || continue
            FORCE_TMP=$((FORCE_TMP + 1))
            rm -rf "$W/ft" && mkdir "$W/ft" && cp "$t" "$W/ft/x.pgm.enc.png"
            (cd "$W/ft" && timeout 120 "$MC" decrypt -k "$R/k.key" x.pgm.enc.png) \
                </dev/null >/dev/null 2>>"$LOG"
            cmp -s "$W/ft/x.pgm" "$SRC" || FORCE_BAD="$FORCE_BAD $(basename "$t")"
            rm -f "$t"
        done
    done
    rm -rf "$W/ft"
    if [ -z "$FORCE_BAD" ]; then
        ok "encrypt --force SIGKILLed 3 times: every output whole (old or new); temporary names left: $FORCE_TMP, each on a whole cipher image"
    else
        not_ok "encrypt --force SIGKILLed 3 times: partial files left under temporary names:$FORCE_BAD"
    fi
else
    echo "# no O_TMPFILE where the batch runs: outputs are named temporary files, and a SIGKILL leaves them (counted above)"
fi

# Each signal twice: at a random moment, and a quarter of the way in.
STOPPED=
SENT=
for sig in TERM INT HUP TERM INT HUP; do
    rm -f "$B"/*.enc.png "$B"/.*.tmp
    case " $SENT " in
    *" $sig "*) ms=$((BATCH_MS / 4)) ;;
    *) ms=$(rand_ms "$BATCH_MS") ;;
    esac
    SENT="$SENT $sig"
    after_ms_then "$sig" "$ms"
    [ "$AFT_RC" -eq 0 ] || STOPPED="$STOPPED $sig"
    check_batch "SIG$sig after $ms ms (exit status $AFT_RC)"
    if [ "$CB_TMP" -eq 0 ]; then
        ok "SIG$sig after $ms ms: no temporary file left (the handler removed it)"
    else
        not_ok "SIG$sig after $ms ms: $CB_TMP temporary files left: $(find "$B" -maxdepth 1 -name '.*.tmp' | tr '\n' ' ')"
    fi
    # Its last word counts the outputs in place: one short, about one
    # interrupted batch in 30 on a disk, when the signal came between an
    # output's naming and its count. (Nothing is said by a process ended
    # before its batch starts, when the handler is installed, nor once the
    # batch is over.)
    if [ "$AFT_RC" -ne 0 ]; then
        said=$(sed -n 's/^medcrypt: interrupted: \([0-9]*\) of [0-9]* files written.*/\1/p' "$R/sa_err")
        if [ -z "$said" ] && { [ "$CB_OUT" -eq 0 ] || [ "$CB_OUT" -eq "$N_COPIES" ]; }; then
            ok "SIG$sig after $ms ms: $CB_OUT outputs, nothing to say (before or after the batch)"
        elif [ "$said" = "$CB_OUT" ]; then
            ok "SIG$sig after $ms ms: 'interrupted: $said of $N_COPIES files written', the outputs there"
        else
            not_ok "SIG$sig after $ms ms: $CB_OUT outputs, but it said: $(cut -c1-200 "$R/sa_err")"
        fi
    fi
done
# A signal while the batch's first input is still being read (a named
# pipe no one writes to, as a slow disk would hold it): the line all the
# same. Until the forty-third session the handler was installed with the
# first output, and such a batch died the default way, saying nothing (a
# review).
FI=$W/fifo
mkdir "$FI" && cp "$TESTDATA/png/rgb_100x100.png" "$FI/b.png"
if mkfifo "$FI/a.pgm" 2>/dev/null; then
    (cd "$FI" && exec "$MC" encrypt -k "$R/k.key" -j 1 a.pgm b.png) </dev/null >/dev/null 2>"$R/sa_err" &
    fp=$!
    # The signal once it waits on the pipe (its wchan), not after a time a
    # slow (sanitizer) build may take to start; at most 20 s.
    n=0
    while [ "$n" -lt 200 ] && ! grep -q wait_for_partner "/proc/$fp/wchan" 2>/dev/null; do
        sleep 0.1
        n=$((n + 1))
    done
    kill -TERM "$fp" 2>/dev/null
    wait "$fp" 2>/dev/null
    AFT_RC=$?
    cat "$R/sa_err" >>"$LOG"
    if [ "$AFT_RC" -eq 143 ] &&
        grep -qx 'medcrypt: interrupted: 0 of 2 files written, the others not (no partial file left)' "$R/sa_err" &&
        [ -z "$(find "$FI" -name '*.enc.png' -o -name '.*.tmp')" ]; then
        ok "SIGTERM while the first input is read: 'interrupted: 0 of 2 files written', exit 143, no file"
    else
        not_ok "SIGTERM while the first input is read: exit $AFT_RC, said: $(cut -c1-200 "$R/sa_err"); files: $(ls -A "$FI" | tr '\n' ' ')"
    fi
else
    echo "# no mkfifo here: the signal before the first output is not tried"
fi
rm -rf "$FI"

# Each signal must have stopped at least one of its two batches (a batch
# done before its signal arrived exits 0): else the handler was never run.
for sig in TERM INT HUP; do
    [ "$sig" = INT ] && [ -z "$FG" ] && continue
    case " $STOPPED " in
    *" $sig "*) ok "SIG$sig stopped a batch mid-way" ;;
    *) not_ok "SIG$sig stopped neither of its two batches" ;;
    esac
done

# Started with the signal ignored, the batch runs on to the end: SIGHUP
# under nohup(1), SIGINT as a background job of a shell.
for how in nohup:HUP bg:INT; do
    sig=${how#*:}
    rm -f "$B"/*.enc.png "$B"/.*.tmp
    after_ms_then "$sig" $((BATCH_MS / 3)) "${how%:*}"
    check_batch "SIG$sig to a batch started with it ignored (${how%:*})"
    if [ "$AFT_RC" -eq 0 ] && [ "$CB_OUT" -eq "$N_COPIES" ] && [ "$CB_TMP" -eq 0 ]; then
        ok "SIG$sig to a batch started with it ignored (${how%:*}): exit 0, all $N_COPIES outputs"
    else
        not_ok "SIG$sig to a batch started with it ignored (${how%:*}): exit $AFT_RC, $CB_OUT of $N_COPIES outputs, $CB_TMP temporary files"
    fi
done
rm -rf "$B" "$W/chk"

# ---------------------------------------------------------------------
# 3. Disk full
# ---------------------------------------------------------------------

# disk_full_check WHAT OUT DIR: the last run failed cleanly writing OUT.
disk_full_check() {
    dfc_why=
    [ "$RC" -eq 1 ] || dfc_why="exit $RC"
    if [ "$(awk 'END { print NR }' "$R/err")" != 1 ] ||
        ! grep -q "^medcrypt: .*: write failed: No space left on device\$" "$R/err"; then
        dfc_why="$dfc_why${dfc_why:+; }stderr: $(err_text)"
    fi
    [ ! -e "$2" ] || dfc_why="$dfc_why${dfc_why:+; }$(basename "$2") exists"
    [ "$(tmp_count "$3")" -eq 0 ] || dfc_why="$dfc_why${dfc_why:+; }temporary file left"
    if [ -z "$dfc_why" ]; then
        ok "$1: exit 1, one line 'write failed: No space left on device', no partial output, no temporary file"
    else
        not_ok "$1: $dfc_why"
    fi
}

BIG=$TESTDATA/bench/ct_2048_16bit.png # its cipher is about 8 MB of noise
mkdir "$T/mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs "$T/mnt" 2>/dev/null; then
    MNT=$T/mnt
    run "$MC" encrypt -k "$R/k.key" -o "$MNT/big.enc.png" "$BIG"
    disk_full_check "tmpfs of 1 MiB, an 8 MB cipher to write" "$MNT/big.enc.png" "$MNT"
    # Beside other files: they stay as they were.
    cp "$TESTDATA/png/ct_small_16bit.png" "$MNT/a.png"
    run "$MC" encrypt -k "$R/k.key" -o "$MNT/c.enc.png" "$BIG"
    disk_full_check "tmpfs of 1 MiB holding another file" "$MNT/c.enc.png" "$MNT"
    if cmp -s "$MNT/a.png" "$TESTDATA/png/ct_small_16bit.png"; then
        ok "disk full: the other file on the full tmpfs is intact"
    else
        not_ok "disk full: the other file on the full tmpfs is intact"
    fi
    umount "$MNT" && MNT=
else
    echo "# mount -t tmpfs not permitted here: the LD_PRELOAD check below stands alone"
fi

CC=$(command -v cc || command -v gcc || true)
if [ -n "$CC" ]; then
    cat >"$R/enospc.c" <<'EOF'
/* write() to a file fails with ENOSPC after MC_ENOSPC_AFTER bytes, as on a
 * full disk (a short write first, then the error). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long long written;

ssize_t write(int fd, const void *buf, size_t n)
{
    struct stat st;
    const char *e = getenv("MC_ENOSPC_AFTER");
    long long limit = e != NULL ? atoll(e) : 0;

    if (fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if (written >= limit) {
            errno = ENOSPC;
            return -1;
        }
        if ((long long)n > limit - written)
            n = (size_t)(limit - written);
        written += (long long)n;
    }
    return syscall(SYS_write, fd, buf, n);
}
EOF
    if "$CC" -shared -fPIC -O1 -o "$R/enospc.so" "$R/enospc.c" 2>"$R/err"; then
        # enospc_run DIR AFTER FS ARG...: medcrypt ARG... in DIR, write()
        # failing with ENOSPC after AFTER bytes; FS, unless empty, the
        # filesystem the shim of 3b plays besides (MC_FS).
        enospc_run() {
            er_dir=$1 er_after=$2 er_fs=$3
            shift 3
            er_preload=$R/enospc.so
            [ -z "$er_fs" ] || er_preload="$er_preload $R/fsops.so"
            (cd "$er_dir" && MC_FS=$er_fs MC_ENOSPC_AFTER=$er_after LD_PRELOAD="$er_preload" \
                ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
                exec timeout 120 "$MC" "$@") </dev/null >"$R/out" 2>"$R/err"
            RC=$?
            cat "$R/err" >>"$LOG"
        }
        mkdir "$W/full"
        cp "$TESTDATA/pnm/ct_512_8bit.pgm" "$W/full/scan.pgm"
        for after in 0 1000 100000; do
            enospc_run "$W/full" $after "" encrypt -k "$R/k.key" scan.pgm
            disk_full_check "write() fails with ENOSPC after $after bytes (LD_PRELOAD)" \
                "$W/full/scan.pgm.enc.png" "$W/full"
        done
        # With --force over an existing output: that file is untouched, and
        # the line says so (a full disk left it, but nobody said which).
        printf 'old\n' >"$W/full/scan.pgm.enc.png"
        enospc_run "$W/full" 1000 "" encrypt -k "$R/k.key" --force scan.pgm
        kept_check "ENOSPC with --force: exit 1, the old output left as it was and said so, no temporary file" \
            "$W/full" scan.pgm.enc.png old \
            "medcrypt: scan.pgm: output scan.pgm.enc.png: write failed: No space left on device; the file there before is left as it was"
        rm -rf "$W/full"
    else
        not_ok "compiling the LD_PRELOAD shim ($(err_text))"
    fi
else
    echo "# no C compiler: LD_PRELOAD disk-full check skipped"
fi

# ---------------------------------------------------------------------
# 3b. Filesystems: how an output gets its name
# ---------------------------------------------------------------------
# An output is written with no name (O_TMPFILE) and named by linkat(); where
# the filesystem has no O_TMPFILE (FAT, NFS, older overlayfs), or with
# --force, it is a named temporary file moved under its name with
# renameat2(RENAME_NOREPLACE), or rename() with --force; where a filesystem
# refuses the flag (EINVAL, as NFS does), link() then unlink(). FAT and
# exFAT drives have no hard links (link() fails with EPERM). An LD_PRELOAD
# shim plays each filesystem (MC_FS, a list): "notmp" (O_TMPFILE refused),
# "nolink" (no hard links), "noflag" (renameat2's flag refused), "nosys"
# (no renameat2 at all: a kernel before 3.15), and
# "appear" (the output file created by someone else just before the name
# is given: it must stay theirs).
if [ -n "$CC" ]; then
    cat >"$R/fsops.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int mode(const char *m)
{
    const char *e = getenv("MC_FS");
    return e != NULL && strstr(e, m) != NULL;
}

static void appear(const char *path)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        if (write(fd, "theirs\n", 7) != 7)
            abort();
        close(fd);
    }
}

static int open_flags(const char *path, int flags, mode_t m)
{
    if (mode("notmp") && (flags & O_TMPFILE) == O_TMPFILE) {
        errno = EOPNOTSUPP;
        return -1;
    }
    return (int)syscall(SYS_openat, AT_FDCWD, path, flags, m);
}

int open(const char *path, int flags, ...)
{
    mode_t m = 0;
    va_list ap;

    va_start(ap, flags);
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
        m = va_arg(ap, mode_t);
    va_end(ap);
    return open_flags(path, flags, m);
}

/* The same function under glibc's other name for it. */
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int renameat2(int olddirfd, const char *old, int newdirfd, const char *new, unsigned flags)
{
    if (mode("noflag") && flags != 0) {
        errno = EINVAL;
        return -1;
    }
    if (mode("nosys")) {
        errno = ENOSYS;
        return -1;
    }
    if (mode("appear"))
        appear(new);
    return (int)syscall(SYS_renameat2, olddirfd, old, newdirfd, new, flags);
}

int link(const char *old, const char *new)
{
    if (mode("nolink")) {
        errno = EPERM;
        return -1;
    }
    if (mode("appear"))
        appear(new);
    return (int)syscall(SYS_link, old, new);
}

int linkat(int olddirfd, const char *old, int newdirfd, const char *new, int flags)
{
    if (mode("nolink")) {
        errno = EPERM;
        return -1;
    }
    if (mode("appear"))
        appear(new);
    return (int)syscall(SYS_linkat, olddirfd, old, newdirfd, new, flags);
}
EOF
    if "$CC" -shared -fPIC -O1 -o "$R/fsops.so" "$R/fsops.c" 2>"$R/err"; then
        # fs_run MODE CMD...: run in W/fs with the shim playing MODE.
        fs_run() {
            fs_mode=$1
            shift
            (cd "$W/fs" && MC_FS=$fs_mode LD_PRELOAD="$R/fsops.so" \
                ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
                exec timeout 120 "$@") </dev/null >"$R/out" 2>"$R/err"
            RC=$?
            cat "$R/err" >>"$LOG"
        }
        # "none": this directory's own filesystem as it is.
        for fs in none notmp notmp,nolink notmp,noflag notmp,nosys; do
            rm -rf "$W/fs" && mkdir "$W/fs" "$W/fs/back"
            for i in 1 2 3; do cp "$TESTDATA/pnm/ct_512_8bit.pgm" "$W/fs/s$i.pgm"; done
            fs_why=
            fs_run $fs "$MC" encrypt -k "$R/k.key" -j 2 s1.pgm s2.pgm s3.pgm
            [ "$RC" -eq 0 ] || fs_why="encrypt: exit $RC: $(err_text)"
            for i in 1 2 3; do
                [ -n "$fs_why" ] && break
                fs_run $fs "$MC" decrypt -k "$R/k.key" -o "back/s$i.pgm" "s$i.pgm.enc.png"
                [ "$RC" -eq 0 ] || fs_why="decrypt s$i: exit $RC: $(err_text)"
                cmp -s "$W/fs/back/s$i.pgm" "$W/fs/s$i.pgm" ||
                    fs_why="${fs_why:-s$i.pgm does not come back byte for byte}"
            done
            # --force replaces, on every filesystem.
            if [ -z "$fs_why" ]; then
                fs_run $fs "$MC" decrypt -k "$R/k.key" --force -o back/s1.pgm s2.pgm.enc.png
                [ "$RC" -eq 0 ] && cmp -s "$W/fs/back/s1.pgm" "$W/fs/s2.pgm" ||
                    fs_why="decrypt --force onto an existing output: exit $RC: $(err_text)"
            fi
            [ "$(tmp_count "$W/fs")" -eq 0 ] && [ "$(tmp_count "$W/fs/back")" -eq 0 ] ||
                fs_why="${fs_why:-temporary file left}"
            if [ -z "$fs_why" ]; then
                ok "filesystem '$fs': a batch of 3 encrypted with -j 2 and decrypted back byte for byte, --force replaces, no temporary file"
            else
                not_ok "filesystem '$fs': $fs_why"
            fi
        done
        for fs in appear notmp,appear notmp,noflag,appear; do
            rm -rf "$W/fs" && mkdir "$W/fs"
            cp "$TESTDATA/pnm/ct_512_8bit.pgm" "$W/fs/scan.pgm"
            fs_run $fs "$MC" encrypt -k "$R/k.key" scan.pgm
            kept_check "filesystem '$fs': an output that appears while medcrypt works stays theirs: exit 1, 'already exists', no temporary file" \
                "$W/fs" scan.pgm.enc.png theirs \
                "medcrypt: scan.pgm: output scan.pgm.enc.png: already exists (use --force to overwrite)"
            # The same in a batch, whose outputs a thread of their own
            # puts in place (cli/batch.c): its failures count too (a
            # mutant that dropped them went unseen: third mutation round).
            rm -rf "$W/fs" && mkdir "$W/fs"
            for i in 1 2; do cp "$TESTDATA/pnm/ct_512_8bit.pgm" "$W/fs/s$i.pgm"; done
            fs_run $fs "$MC" encrypt -k "$R/k.key" -j 2 s1.pgm s2.pgm
            fs_why=
            [ "$RC" -eq 1 ] || fs_why="exit $RC"
            for i in 1 2; do
                grep -q "^medcrypt: s$i.pgm: output s$i.pgm.enc.png: already exists (use --force to overwrite)\$" "$R/err" ||
                    fs_why="$fs_why${fs_why:+; }s$i not said: $(err_text)"
                [ "$(cat "$W/fs/s$i.pgm.enc.png" 2>/dev/null)" = theirs ] ||
                    fs_why="$fs_why${fs_why:+; }the other s$i.pgm.enc.png was replaced"
            done
            [ "$(tmp_count "$W/fs")" -eq 0 ] || fs_why="$fs_why${fs_why:+; }temporary file left"
            grep -qx "medcrypt: hint: 2 outputs exist already: --skip-existing leaves them as done, --force replaces them" "$R/err" ||
                fs_why="$fs_why${fs_why:+; }no hint counting the 2: $(err_text)"
            if [ -z "$fs_why" ]; then
                ok "filesystem '$fs': in a batch of 2 (-j 2), outputs that appear stay theirs: exit 1, each said and counted in the hint, no temporary file"
            else
                not_ok "filesystem '$fs', batch of 2: $fs_why"
            fi
        done
        # A full disk without O_TMPFILE: the named temporary file is
        # removed (with O_TMPFILE there is none to remove).
        if [ -f "$R/enospc.so" ]; then
            rm -rf "$W/fs" && mkdir "$W/fs"
            cp "$TESTDATA/pnm/ct_512_8bit.pgm" "$W/fs/scan.pgm"
            enospc_run "$W/fs" 1000 notmp encrypt -k "$R/k.key" scan.pgm
            disk_full_check "filesystem 'notmp', write() fails with ENOSPC after 1000 bytes" \
                "$W/fs/scan.pgm.enc.png" "$W/fs"
        fi
        rm -rf "$W/fs"
    else
        not_ok "compiling the LD_PRELOAD filesystem shim ($(err_text))"
    fi
else
    echo "# no C compiler: LD_PRELOAD filesystem checks skipped"
fi

# ---------------------------------------------------------------------
# 4. Secrets
# ---------------------------------------------------------------------

S=$W/sec
mkdir "$S"
# keygen to stdout: the key text is the product there, and only there.
(cd "$S" && "$MC" keygen --aadhaar "$AADHAAR2" --dob "$DOB2") </dev/null >"$R/kg.out" 2>"$R/kg.err"
KEY2=$(grep -v '^[[:space:]]*#' "$R/kg.out" | grep -v '^[[:space:]]*$' | head -n 1)
cat "$R/kg.err" >>"$LOG"
if [ -n "$KEY2" ] && grep -qF -- "$KEY2" "$R/kg.out"; then
    ok "keygen without -o prints the key on stdout"
else
    not_ok "keygen without -o prints the key on stdout ($(cat "$R/kg.out" "$R/kg.err" | tr '\n' '|' | cut -c1-200))"
fi
# Anything else keygen printed on stdout (comments) is checked like the rest.
grep -vF -- "$KEY2" "$R/kg.out" >>"$LOG"
printf '%s\n' "$KEY2" >"$S/k2.key"
(cd "$S" && "$MC" keygen --aadhaar "$AADHAAR1" --dob "$DOB1" -o k1.key) </dev/null >>"$LOG" 2>&1
cp "$TESTDATA/png/ct_small_16bit.png" "$S/scan.png"
cp "$TESTDATA/dicom/ct_small_explicit_le.dcm" "$S/scan.dcm"
run "$MC" encrypt -k sec/k2.key sec/scan.png sec/scan.dcm
cat "$R/out" >>"$LOG"
run "$MC" info sec/scan.png sec/scan.dcm sec/scan.png.enc.png sec/k2.key
cat "$R/out" >>"$LOG"
run "$MC" decrypt -k sec/k2.key -o - sec/scan.dcm.enc.png
run "$MC" decrypt -k sec/k1.key sec/scan.png.enc.png # wrong key
run env MEDCRYPT_KEY="$(printf '%s' "$KEY2" | sed 's/.$/0/')" "$MC" decrypt sec/scan.png.enc.png
run env MEDCRYPT_KEY="$KEY2-extra" "$MC" decrypt sec/scan.png.enc.png
run "$MC" analyze -k sec/k2.key sec/scan.png sec/scan.png.enc.png
cat "$R/out" >>"$LOG"
run "$MC" analyze --json -k sec/k2.key sec/scan.png
cat "$R/out" >>"$LOG"
run "$MC" keygen --aadhaar "$(echo "$AADHAAR2" | sed 's/8$/7/')" --dob "$DOB2" # bad check digit
cat "$R/out" >>"$LOG"
run "$MC" keygen --aadhaar "$AADHAAR2" --dob 2099-01-01 # future date
cat "$R/out" >>"$LOG"

SECRETS_BAD=
for s in "$AADHAAR1" "$AADHAAR2" "$(echo "$AADHAAR1" | tr -d ' ')" "$(echo "$AADHAAR2" | tr -d ' ')" \
    "$DOB1" "$DOB2" "$(echo "$DOB1" | tr -d -)" "$(echo "$DOB2" | tr -d -)" "$KEY" "$KEY2" \
    "$(printf '%s' "$KEY" | tr -d -)" "$(printf '%s' "$KEY2" | tr -d -)"; do
    if [ -n "$s" ] && grep -aqF -- "$s" "$LOG"; then
        SECRETS_BAD="$SECRETS_BAD '$s'"
    fi
done
LOG_LINES=$(wc -l <"$LOG" | tr -d ' ')
if [ -z "$SECRETS_BAD" ]; then
    ok "no Aadhaar number, date of birth or key text in the $LOG_LINES lines medcrypt printed"
else
    not_ok "secrets found in medcrypt's output:$SECRETS_BAD"
fi
rm -rf "$S"

tl_finish
