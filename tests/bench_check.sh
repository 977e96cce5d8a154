#!/bin/sh
# `medcrypt bench --json` and `medcrypt bench --process --json` on tiny
# images: the JSON's shape, and that --process checked every decrypted
# file and left nothing behind. No timing is ever asserted in a test.
set -u
BIN=$1
TESTDATA=$2
SCALING=${3:-}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$BIN" bench --tiny --repeat 1 --json --threads 2 >"$WORK/memory.json"
echo $? >"$WORK/memory.rc"
"$BIN" bench --tiny --repeat 1 --threads 2 >"$WORK/memory.txt"
echo $? >"$WORK/memory_txt.rc"
# A 2048x2048 16-bit PGM and a 512x512 8-bit PNG given are of the goals'
# kinds (the first made here: 8 MiB of a byte ramp).
python3 -c 'import sys; sys.stdout.buffer.write(b"P5\n2048 2048\n65535\n" + bytes(range(256)) * 32768)' \
    >"$WORK/ramp_2048.pgm"
"$BIN" bench --process --tiny --repeat 1 --json --threads 2 --dir "$WORK" \
    "$TESTDATA/pnm/ct_small_12bit.pgm" "$TESTDATA/png/ct_small_16bit.png" \
    "$TESTDATA/png/ct_512_8bit.png" "$WORK/ramp_2048.pgm" >"$WORK/process.json" \
    2>"$WORK/process.err"
echo $? >"$WORK/process.rc"
# The default thread count is the cores this process may use (its CPU
# affinity, as nproc counts), not every core of the machine: on one core
# (taskset) the batch runs one thread, while the machine still shows all
# its online cores.
taskset -c 0 "$BIN" bench --tiny --repeat 1 --json >"$WORK/affinity.json" 2>"$WORK/affinity.err"
echo $? >"$WORK/affinity.rc"
getconf _NPROCESSORS_ONLN >"$WORK/online"
# Two rounds on one thread: the median of an even count is the mean of
# the middle two (it was the upper one), and the batch goal is -j 2
# against -j 1 (issue 11: "on 2 cores"), run besides -j N.
"$BIN" bench --process --tiny --repeat 2 --json --threads 1 --dir "$WORK" \
    >"$WORK/process2.json" 2>"$WORK/process2.err"
echo $? >"$WORK/process2.rc"
# Error paths: a file that is not there; --dir without --process.
"$BIN" bench --process --tiny --repeat 1 --dir "$WORK" "$WORK/missing.png" \
    >"$WORK/missing.out" 2>"$WORK/missing.err"
echo $? >"$WORK/missing.rc"
# link_as PROGRAM DIR: DIR/true, a link to PROGRAM as found on PATH (or
# in /bin, /usr/bin), for a PATH of DIR alone.
link_as() {
    mkdir "$2"
    for d in $(echo "$PATH" | tr : ' ') /bin /usr/bin; do
        if [ -x "$d/$1" ] && [ ! -d "$d/$1" ]; then
            ln -s "$d/$1" "$2/true"
            break
        fi
    done
}
# No openssl on PATH: the run goes on without its reference, and says so
# where the goals against it would be.
link_as true "$WORK/bin"
PATH=$WORK/bin "$BIN" bench --process --tiny --repeat 1 --dir "$WORK" >"$WORK/nossl.out" \
    2>"$WORK/nossl.err"
echo $? >"$WORK/nossl.rc"
# A command that fails ('true' as false): exit 1, and the batch in memory
# not run, its figures void with the others.
link_as false "$WORK/fbin"
PATH=$WORK/fbin "$BIN" bench --process --tiny --repeat 1 --json --dir "$WORK" \
    >"$WORK/failing.json" 2>"$WORK/failing.err"
echo $? >"$WORK/failing.rc"
# No libcrypto to load (src/ossl.c): a library of its name without its
# functions, found first through LD_LIBRARY_PATH. The in-memory bench has
# no HMAC reference then: it says so and exits 1, and never calls into a
# table it could not fill. Skipped without a C compiler.
SONAME=$(grep -ao 'libcrypto\.so\.[0-9][0-9]*' "$BIN" | head -n 1)
CC=$(command -v cc || command -v gcc || true)
# shim NAME: $WORK/NAME.c built into the LD_PRELOAD library $WORK/NAME.so
# (the compiler's errors in $WORK/NAME.cc).
shim() {
    "$CC" -shared -fPIC -o "$WORK/$1.so" "$WORK/$1.c" -ldl 2>"$WORK/$1.cc"
}
if [ -n "$CC" ] && [ -n "$SONAME" ]; then
    mkdir "$WORK/nolib"
    echo 'int medcrypt_not_libcrypto;' >"$WORK/nolib/empty.c"
    if "$CC" -shared -fPIC -o "$WORK/nolib/$SONAME" "$WORK/nolib/empty.c" \
        2>"$WORK/nolib/cc.err"; then
        LD_LIBRARY_PATH=$WORK/nolib "$BIN" bench --tiny --repeat 1 >"$WORK/nolib.out" \
            2>"$WORK/nolib.err"
        echo $? >"$WORK/nolib.rc"
        echo "$SONAME" >"$WORK/nolib.soname"
        # --process without it: the commands are timed as always (they
        # load libcrypto only for images of 16 MiB; openssl, which needs
        # it, is left off PATH), and the batch in memory is not measured.
        PATH=$WORK/bin LD_LIBRARY_PATH=$WORK/nolib "$BIN" bench --process --tiny --repeat 1 --json \
            --dir "$WORK" >"$WORK/nolib_process.json" 2>"$WORK/nolib_process.err"
        echo $? >"$WORK/nolib_process.rc"
        PATH=$WORK/bin LD_LIBRARY_PATH=$WORK/nolib "$BIN" bench --process --tiny --repeat 1 \
            --dir "$WORK" >"$WORK/nolib_process.out" 2>/dev/null
    fi
fi
"$BIN" bench --help >"$WORK/help.out"
"$BIN" --version >"$WORK/version.out"
"$BIN" bench --dir "$WORK" >/dev/null 2>"$WORK/dir.err"
echo $? >"$WORK/dir.rc"
# An option after a FILE: refused as every verb refuses it, not read as a
# file named --json.
"$BIN" bench --process --tiny --repeat 1 --dir "$WORK" "$TESTDATA/png/ct_512_8bit.png" \
    --json >"$WORK/late.out" 2>"$WORK/late.err"
echo $? >"$WORK/late.rc"
# Each number's range: the ends taken (shown by the error that follows
# the parsing: no directory to work in), 0, one past the end or letters
# after the digits refused; a stray argument refused, with no report;
# --aead-file takes IN and OUT, no more.
"$BIN" bench --process --threads 256 --repeat 1000 --dir "$WORK/none" >"$WORK/ends.out" \
    2>"$WORK/ends.err"
echo $? >"$WORK/ends.rc"
i=0
for a in "--threads 0" "--threads 257" "--repeat 0" "--repeat 1001" "--repeat 2x"; do
    i=$((i + 1))
    # shellcheck disable=SC2086 # option and value, split
    "$BIN" bench --process --dir "$WORK/none" $a >/dev/null 2>"$WORK/range$i.err"
    echo "$? $a" >"$WORK/range$i.rc"
done
"$BIN" bench --tiny --repeat 1 extra >"$WORK/stray.out" 2>"$WORK/stray.err"
echo $? >"$WORK/stray.rc"
"$BIN" bench --aead-file "$WORK/ramp_2048.pgm" "$WORK/sealed" 2>"$WORK/aead.err"
echo $? >"$WORK/aead.rc"
"$BIN" bench --aead-file "$WORK/ramp_2048.pgm" "$WORK/sealed3" extra 2>"$WORK/aead3.err"
echo $? >"$WORK/aead3.rc"
# --repeat's default, as --help gives it.
"$BIN" bench --tiny --json --threads 1 >"$WORK/default.json" 2>"$WORK/default.err"
echo $? >"$WORK/default.rc"
# On one core, --process's -j N is still 2 (at least 2, so that the batch
# compares something); three rounds (p25 halfway between the fastest two,
# the median the middle one); a --dir whose name has a quote and a
# backslash, which the JSON escapes.
QDIR=$WORK/q\"b\\
mkdir "$QDIR"
taskset -c 0 "$BIN" bench --process --tiny --repeat 3 --json --dir "$QDIR" >"$WORK/one.json" \
    2>"$WORK/one.err"
echo $? >"$WORK/one.rc"
# A clock coarser than the work (here one that never advances, through an
# LD_PRELOAD shim): every figure is 0 s, every ratio to it undefined. The
# JSON must stay JSON (null, not nan) and the table say "-". Skipped
# without a C compiler or under a sanitizer (its runtime must load first).
if [ -n "$CC" ] && ! ldd "$BIN" 2>/dev/null | grep -Eq 'lib[at]san'; then
    cat >"$WORK/frozen.c" <<'EOF_C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>
int clock_gettime(clockid_t id, struct timespec *t)
{
    int (*real)(clockid_t, struct timespec *) =
        (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    if (id == CLOCK_MONOTONIC) {
        t->tv_sec = 1000;
        t->tv_nsec = 0;
        return 0;
    }
    return real(id, t);
}
EOF_C
    if shim frozen; then
        LD_PRELOAD=$WORK/frozen.so "$BIN" bench --tiny --repeat 1 --json \
            >"$WORK/frozen.json" 2>"$WORK/frozen.err"
        echo $? >"$WORK/frozen.rc"
        LD_PRELOAD=$WORK/frozen.so "$BIN" bench --tiny --repeat 1 \
            >"$WORK/frozen.txt" 2>>"$WORK/frozen.err"
        echo $? >>"$WORK/frozen.rc"
        # scaling.sh's table on the same clock: "-" for the speed-ups of
        # 0 ms (it divided by them: Python's ZeroDivisionError).
        if [ -n "$SCALING" ]; then
            TMPDIR=$WORK LD_PRELOAD=$WORK/frozen.so sh "$SCALING" --tiny "$BIN" 1 \
                >"$WORK/frozen_scaling.out" 2>"$WORK/frozen_scaling.err"
            echo $? >"$WORK/frozen_scaling.rc"
        fi
    fi
    # A clock that steps (another shim): the readings come in pairs, the
    # k-th pair's two 1, 3, 3, 1, 0.5 or 3.5 ms apart by k mod 6 (k * 10 ms
    # from the start). Each figure of --repeat 2 is a pair from an even k
    # and the next: two runs whose median is 2 ms, whatever k. No speed is
    # measured: every figure follows from these readings alone.
    cat >"$WORK/stepping.c" <<'EOF_C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>
static unsigned long calls;
int clock_gettime(clockid_t id, struct timespec *t)
{
    static const long us[6] = {1000, 3000, 3000, 1000, 500, 3500};
    int (*real)(clockid_t, struct timespec *) =
        (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    if (id == CLOCK_MONOTONIC) {
        unsigned long c = __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED), k = c / 2;
        long u = (long)k * 10000 + (c % 2 ? us[k % 6] : 0);
        t->tv_sec = 1000 + u / 1000000;
        t->tv_nsec = (u % 1000000) * 1000;
        return 0;
    }
    return real(id, t);
}
EOF_C
    if shim stepping; then
        LD_PRELOAD=$WORK/stepping.so "$BIN" bench --tiny --repeat 2 --json --threads 65 \
            >"$WORK/stepping.json" 2>"$WORK/stepping.err"
        echo $? >"$WORK/stepping.rc"
    fi
    # A decrypt that writes other bytes (a shim in the commands bench
    # --process runs: the last byte of what `medcrypt decrypt` fsyncs
    # flipped): the check of the decrypted files must see it, exit 1.
    cat >"$WORK/corrupt.c" <<'EOF_C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int fsync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    char cmd[256] = "", path[64];
    struct stat st;
    int f = open("/proc/self/cmdline", O_RDONLY);
    ssize_t n = f >= 0 ? read(f, cmd, sizeof cmd - 1) : -1;
    if (f >= 0)
        close(f);
    if (n > 0 && strcmp(cmd + strlen(cmd) + 1, "decrypt") == 0 && fstat(fd, &st) == 0 &&
        S_ISREG(st.st_mode) && st.st_size > 0) {
        unsigned char b;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if ((f = open(path, O_RDONLY)) >= 0) {
            if (pread(f, &b, 1, st.st_size - 1) == 1) {
                b ^= 1;
                (void)pwrite(fd, &b, 1, st.st_size - 1);
            }
            close(f);
        }
    }
    return real(fd);
}
EOF_C
    if shim corrupt; then
        LD_PRELOAD=$WORK/corrupt.so "$BIN" bench --process --tiny --repeat 1 --json --dir "$WORK" \
            >"$WORK/corrupt.json" 2>"$WORK/corrupt.err"
        echo $? >"$WORK/corrupt.rc"
    fi
fi
# bench/scaling.sh, the scaling curve's table: it runs, one row per N.
if [ -n "$SCALING" ]; then
    TMPDIR=$WORK sh "$SCALING" --tiny -p "$BIN" 1 2 >"$WORK/scaling.out" 2>"$WORK/scaling.err"
    echo $? >"$WORK/scaling.rc"
fi

python3 - "$WORK" <<'PY'
import json, os, re, sys
work = sys.argv[1]
fails = passes = 0
def check(cond, what):
    global fails, passes
    print(("ok - " if cond else "not ok - ") + what)
    fails += not cond
    passes += bool(cond)
def read(name):
    with open(os.path.join(work, name)) as f:
        return f.read()
def quotient(q, a, b, qd, ad, bd):
    """q, printed with qd decimals, is a / b, printed with ad and bd: some
    values that round to a, b and q agree (a figure and the ratio made of
    it, both rounded: no timing asserted)."""
    eq, ea, eb = 0.5 * 10.0 ** -qd, 0.5 * 10.0 ** -ad, 0.5 * 10.0 ** -bd
    if q is None or a is None or b is None or b + eb <= 0:
        return False
    lo = max(a - ea, 0) / (b + eb)
    hi = (a + ea) / (b - eb) if b - eb > 0 else float("inf")
    return lo * (1 - 1e-9) - eq <= q <= hi * (1 + 1e-9) + eq

# In memory.
check(read("memory.rc").strip() == "0", "bench: exit 0")
d = json.loads(read("memory.json"))
check(isinstance(d["machine"]["cpu"], str) and d["machine"]["cores"] >= 1, "machine")
# The version the table's first line names, in the JSON too.
version = read("version.out").split()[1]
check(d.get("version") == version, "bench: the version, " + version)
# Measured, or (a kernel that pre-faults nothing: 0 ns) the line of old.
check(d["machine"]["huge_pages_from_kib"] in (32, 1024)
      and (d["machine"]["small_page_ns"] > 0 or d["machine"]["huge_pages_from_kib"] == 32),
      "machine: where huge pages begin, as measured (src/mem.c)")
check(len(d["images"]) == 3, "three images")
want = {"encrypt", "decrypt", "keyed_hash", "key_processing", "scrambling", "henon",
        "logistic", "xchacha20", "encrypt_v1", "png_encode", "png_decode", "encrypt_threads",
        "decrypt_threads"}
for im in d["images"]:
    names = {r["name"] for r in im["results"]}
    check(names == want, im["name"] + " has every step")
    check(all(r["ms"] >= 0 and r["x_aead"] >= 0 for r in im["results"]), im["name"] + " numbers")
    # Key processing does not grow with the image: its MB/s would be the
    # image's size over a constant (704,215 MB/s for 8 MiB), so none.
    # (A step of the tiny images may take 0 ms, an increment of medians:
    # no MB/s either.)
    check(all(r["mb_per_s"] is None if r["name"] == "key_processing"
              else r["mb_per_s"] is not None or r["ms"] == 0 for r in im["results"]),
          im["name"] + ": MB/s of every step that took time but key_processing")
    check(set(im["reference"]) == {"memcpy_ms", "xchacha20poly1305_ms", "hmac_sha512_ms"},
          im["name"] + " references")
# A copy would equal the reference on every image; two timings of
# 0.003 ms to 0.1 us can agree by chance on one (seen in CI).
check(not all(next(r["ms"] for r in im["results"] if r["name"] == "keyed_hash")
              == im["reference"]["hmac_sha512_ms"] for im in d["images"]),
      "keyed_hash is medcrypt's keyed hash, not the HMAC reference copied")
check(d["batch"]["threads"] == 2 and d["batch"]["speedup"] > 0, "batch")
check(d["batch"]["xchacha20poly1305_speedup"] > 0 and d["batch"]["hmac_sha512_speedup"] > 0,
      "batch: the references speed-ups")
check(d["peak_rss_kib"] > 0, "peak rss")
check(d["machine"]["cpu"] and d["machine"]["cpu"] == d["machine"]["cpu"].strip(),
      "machine: the CPU model as /proc/cpuinfo gives it, no blank around it")
# Each ratio is the quotient of the figures it is made of, as printed.
bad = ["%s %s %s" % (im["name"], r["name"], x) for im in d["images"] for r in im["results"]
       for x, ref, qd in (("x_aead", "xchacha20poly1305_ms", 3), ("x_hmac", "hmac_sha512_ms", 3),
                          ("x_memcpy", "memcpy_ms", 2))
       if r[x] is not None and not quotient(r[x], r["ms"], im["reference"][ref], qd, 4, 4)]
bad += ["%s %s mb_per_s" % (im["name"], r["name"]) for im in d["images"] for r in im["results"]
        if r["mb_per_s"] is not None and not quotient(r["mb_per_s"], im["bytes"] / 1e3, r["ms"],
                                                      2, 9, 4)]
check(not bad, "bench: x AEAD, x HMAC, x memcpy the step's ms over the reference's, MB/s the "
      "bytes over the ms " + " ".join(bad[:4]))
b = d["batch"]
check(quotient(b["speedup"], b["one_thread_s"], b["n_threads_s"], 3, 6, 6)
      and b["images"] == 4 * b["threads"],
      "batch: the speed-up one thread's time over N threads'")
check(read("default.rc").strip() == "0"
      and json.loads(read("default.json") or "{}").get("repeat") == 15,
      "bench: --repeat 15 by default (" + read("default.err").strip()[:120] + ")")
# The table: every ratio of the JSON, memcpy's too (issue 11: each result
# as a ratio to the references).
check(read("memory_txt.rc").strip() == "0", "bench (table): exit 0")
lines = read("memory.txt").splitlines()
heads = [l.split() for l in lines if l.split()[:1] == ["step"]]
check(len(heads) == 3 and all(h == ["step", "ms", "MB/s", "x", "AEAD", "x", "HMAC", "x",
                                    "memcpy"] for h in heads),
      "bench (table): columns ms, MB/s and x AEAD, x HMAC, x memcpy")
steps = [l.split() for l in lines if l.split()[:1] and l.split()[0] in want]
check(len(steps) == 3 * len(want) and all(len(r) == 6 for r in steps),
      "bench (table): every step of the three images has its five figures")
check(read("affinity.rc").strip() == "0", "bench on one core (taskset -c 0): exit 0 ("
      + read("affinity.err").strip() + ")")
a = json.loads(read("affinity.json") or "{}")
check(a.get("batch", {}).get("threads") == 1
      and a.get("machine", {}).get("cores") == int(read("online")),
      "bench on one core: its batch runs one thread; the machine shows its %s online cores"
      % read("online").strip())

# Whole processes.
check(read("process.rc").strip() == "0", "bench --process: exit 0 (" + read("process.err").strip() + ")")
p = json.loads(read("process.json"))
check(p["machine"]["cores"] >= 1 and p["rounds"] == 1, "process: machine and rounds")
check(p.get("version") == version, "process: the version")
check(isinstance(p["dir"]["tmpfs"], bool), "process: says whether its files were on tmpfs")
check(not os.path.exists(p["dir"]["path"]), "process: its work directory is removed")
check(os.listdir(work) and all(not n.startswith("medcrypt-bench.") for n in os.listdir(work)),
      "process: nothing of it left in --dir")
names = [c["name"] for c in p["commands"]]
check(names[0] == "true", "process: 'true' measured first")
check(all(c["failures"] == 0 and c["median_ms"] > 0 and c["peak_rss_kib"] > 0
          for c in p["commands"]), "process: every command ran, with times and RSS")
files = [f["file"] for f in p["files"]]
check(files == ["phantom_128_16bit.pgm", "phantom_32_8bit.png", "ct_small_12bit.pgm",
                "ct_small_16bit.png", "ct_512_8bit.png", "ramp_2048.pgm"],
      "process: the generated images, then the files given")
for f in p["files"]:
    check(f["same_samples"], f["file"] + ": decrypted to the same samples")
    check(f["encrypt_ms"] > 0 and f["decrypt_ms"] > 0 and f["aead_process_ms"] > 0,
          f["file"] + ": encrypt, decrypt and the AEAD process timed")
    check(f["openssl_dgst_ms"] is None or f["encrypt_x_dgst"] > 0,
          f["file"] + ": ratio to openssl dgst when openssl is there")
    check(f["rss_goal_kib"] == (2 * f["sample_bytes"] + 16 * 1024 * 1024) // 1024,
          f["file"] + ": the memory goal")
for name in ("phantom_128_16bit.pgm", "ct_small_12bit.pgm", "ramp_2048.pgm"):
    check(next(f for f in p["files"] if f["file"] == name)["same_bytes"],
          name + ": a PGM comes back byte for byte")
check(p["batch"]["threads"] == 2 and p["batch"]["files"] == 4 and p["batch"]["speedup"] > 0,
      "process: batch -j 1 against -j 2")
# Images of the batch's size in memory on the goal's 2 threads, with the
# machine's own references: what start-up and files leave of the
# speed-up, and what the machine gives to parallel work at all.
im = p["batch"].get("in_memory", {})
check(sorted(im) == ["each", "height", "hmac_sha512_speedup", "images", "missing", "speedup",
                     "threads", "width", "xchacha20poly1305_speedup"]
      and im["threads"] == 2 and im["images"] == 2 and im["each"] == 2
      and im["width"] == im["height"] == 32 and im["missing"] is None
      and all(isinstance(im[k], float) and im[k] > 0
              for k in ("speedup", "xchacha20poly1305_speedup", "hmac_sha512_speedup")),
      "process: the batch in memory (2 images of its size, each half its files' count of "
      "times) on 2 threads, medcrypt's and the references' speed-ups " + json.dumps(im))
# The generated images' goals (two fewer without openssl), then those of
# the files given of a goal's kind: the 512x512 8-bit PNG held to the
# 3 ms, the 2048x2048 16-bit PGM to the two ratios to openssl dgst; the
# small ones are of no goal's kind.
dgst = next(f for f in p["files"] if f["file"] == "ramp_2048.pgm")["openssl_dgst_ms"] is not None
mine = [g for g in p["goals"] if g["file"] is not None]
check(len(p["goals"]) == (5 if dgst else 3) + len(mine)
      and all(isinstance(g["met"], bool) for g in p["goals"]),
      "process: the goals, each met or not")
def enc_ms(name):
    return next(f["encrypt_ms"] for f in p["files"] if f["file"] == name)
check(len(mine) >= 1 and mine[0]["file"] == "ct_512_8bit.png" and mine[0]["limit"] == 3.0
      and mine[0]["at_most"] and "ct_512_8bit.png" in mine[0]["goal"]
      and mine[0]["value"] == enc_ms("ct_512_8bit.png"),
      "process: the given 512x512 8-bit PNG held to the 3 ms goal")
ramp = [g for g in mine if g["file"] == "ramp_2048.pgm"]
check(len(mine) == 1 + len(ramp) and len(ramp) == (2 if dgst else 0)
      and all(g["limit"] == 2.0 and g["at_most"] for g in ramp)
      and (not ramp or "ramp_2048.pgm" in ramp[0]["goal"]),
      "process: the given 2048x2048 16-bit PGM held to the goals against openssl dgst")

# Every figure of --process's report is its command's, each ratio the
# quotient of the two it is made of, each goal's value the figure it names
# and its 'met' that value against its limit.
def consistent(q, tag):
    by = {}
    for c in q["commands"]:
        by.setdefault(c["name"], c)
    med = lambda name: by[name]["median_ms"] if name in by else None
    bad = []
    t0 = med("true")
    for f in q["files"]:
        n = f["file"]
        enc, dec = med("medcrypt encrypt " + n), med("medcrypt decrypt " + n)
        dgst, aead = med("openssl dgst -sha512 " + n), med("XChaCha20-Poly1305 process, " + n)
        if [f["encrypt_ms"], f["decrypt_ms"], f["openssl_dgst_ms"], f["aead_process_ms"]] \
                != [enc, dec, dgst, aead]:
            bad.append(n + " times")
        if dgst is not None and not (quotient(f["encrypt_x_dgst"], enc, dgst, 4, 4, 4)
                                     and quotient(f["decrypt_x_dgst"], dec, dgst, 4, 4, 4)):
            bad.append(n + " x dgst")
        if not quotient(f["encrypt_x_aead_process"], enc, aead, 4, 4, 4):
            bad.append(n + " x aead")
        if abs(f["encrypt_minus_true_ms"] - (enc - t0)) > 0.00016:
            bad.append(n + " minus true")
        # The encrypt process holds the image's samples: its peak RSS is
        # at least that.
        if f["encrypt_peak_rss_kib"] != by["medcrypt encrypt " + n]["peak_rss_kib"] \
                or f["encrypt_peak_rss_kib"] < f["sample_bytes"] / 1024:
            bad.append(n + " rss")
    jobs = [c for c in q["commands"] if c["name"].startswith("medcrypt encrypt -j ")]
    one, many = jobs[0], jobs[1]
    two = jobs[2] if len(jobs) == 3 else jobs[1]
    bt = q["batch"]
    if not (one["name"].startswith("medcrypt encrypt -j 1,")
            and many["name"].startswith("medcrypt encrypt -j %d," % bt["threads"])
            and two["name"].startswith("medcrypt encrypt -j 2,")
            and bt["one_ms"] == one["median_ms"] and bt["n_ms"] == many["median_ms"]
            and quotient(bt["speedup"], one["median_ms"], many["median_ms"], 4, 4, 4)):
        bad.append("batch")
    f0, f1 = q["files"][0], q["files"][1]
    gen = [g for g in q["goals"] if g["file"] is None]
    if f0["openssl_dgst_ms"] is not None and [g["value"] for g in gen[:2]] \
            != [f0["encrypt_x_dgst"], f0["decrypt_x_dgst"]]:
        bad.append("goals x dgst")
    if gen[-3]["value"] != f1["encrypt_ms"]:
        bad.append("goal ms")
    if abs(gen[-2]["value"] - f0["encrypt_peak_rss_kib"] / 1024) > 0.00006 \
            or abs(gen[-2]["limit"] - f0["rss_goal_kib"] / 1024) > 0.00006:
        bad.append("goal rss")
    if not quotient(gen[-1]["value"], one["median_ms"], two["median_ms"], 4, 4, 4):
        bad.append("goal batch")
    for g in q["goals"]:
        if g["file"] is not None and g["limit"] == 2.0:
            f = next(f for f in q["files"] if f["file"] == g["file"])
            if g["value"] not in (f["encrypt_x_dgst"], f["decrypt_x_dgst"]):
                bad.append(g["file"] + " goal")
        if abs(g["value"] - g["limit"]) > 0.0001 and g["met"] != (
                g["value"] <= g["limit"] if g["at_most"] else g["value"] >= g["limit"]):
            bad.append("met " + g["goal"])
    check(not bad, tag + ": each figure its command's median, each ratio the quotient of its "
          "figures, each goal's value the figure it names, met as value and limit say "
          + " ".join(bad[:4]))
consistent(p, "process")

check(read("process2.rc").strip() == "0", "bench --process --repeat 2 --threads 1: exit 0 ("
      + read("process2.err").strip() + ")")
p2 = json.loads(read("process2.json") or "{}")
check(p2.get("rounds") == 2 and all(
          abs((c["median_ms"] - c["p25_ms"]) - (c["p25_ms"] - c["min_ms"])) < 0.001
          for c in p2["commands"]),
      "process, 2 rounds: p25 and median interpolated between the two runs")
check(p2.get("batch", {}).get("in_memory", {}).get("threads") == 2
      and p2["batch"]["in_memory"]["images"] == 2 and p2["batch"]["in_memory"]["speedup"] > 0,
      "process with -j 1: the batch in memory still on the goal's 2 threads")
check([c["name"] for c in p2.get("commands", [])][-3:]
      == ["medcrypt encrypt -j 1, 4 files", "medcrypt encrypt -j 1, 4 files",
          "medcrypt encrypt -j 2, 4 files"]
      and p2["goals"][-1]["goal"] == "batch of 16-bit PNGs, -j 2 speed-up over -j 1",
      "process with -j 1: the batch goal still -j 2 against -j 1")
if p2:
    consistent(p2, "process, 2 rounds")
check(read("one.rc").strip() == "0", "bench --process on one core (taskset -c 0): exit 0 ("
      + read("one.err").strip()[:200] + ")")
try:
    p3 = json.loads(read("one.json") or "{}")
except ValueError as e:
    p3 = {}
    print("# " + str(e)[:200])
qdir = os.path.join(work, 'q"b\\')
check(p3.get("dir", {}).get("path", "").startswith(os.path.realpath(qdir) + "/medcrypt-bench.")
      and not os.path.exists(p3["dir"]["path"]) and os.listdir(qdir) == [],
      "process: a --dir with a quote and a backslash, escaped in the JSON; nothing left in it")
check(p3.get("batch", {}).get("threads") == 2,
      "process on one core: -j N is 2 (at least 2), not the one core")
check(p3.get("rounds") == 3 and all(
          c["min_ms"] <= c["p25_ms"] <= c["median_ms"]
          and abs((c["median_ms"] - c["min_ms"]) - 2 * (c["p25_ms"] - c["min_ms"])) < 0.001
          for c in p3.get("commands", [])),
      "process, 3 rounds: the median the middle run, p25 halfway between the fastest two")
if p3:
    consistent(p3, "process on one core")

# Errors.
check(read("missing.rc").strip() == "1" and "missing.png: cannot read it" in read("missing.err"),
      "process: a missing file is an error, exit 1")
check(read("missing.out") == "", "process: no report after an error")
check(read("dir.rc").strip() == "1" and "--dir goes with --process" in read("dir.err"),
      "--dir without --process: exit 1")
# --help: --threads sets the *_threads rows too, not only the batch.
threads_help = read("help.out").rsplit("--threads N", 1)[-1].split("\n    --", 1)[0]
check("*_threads rows" in threads_help and "-j N" in threads_help,
      "--help: --threads is said to set the *_threads rows and --process's -j N")
check(read("nossl.rc").strip() == "0" and "no 'openssl' on PATH" in read("nossl.err")
      and "x openssl dgst -sha512: not measured" in read("nossl.out"),
      "process without openssl: exit 0, the goals against it said not measured")
check(read("late.rc").strip() == "1" and read("late.out") == ""
      and "option '--json' after the files: options come first" in read("late.err"),
      "process: an option after the files is refused, exit 1 (" + read("late.err").strip()[:120]
      + ")")
check(read("ends.rc").strip() == "1" and read("ends.out") == ""
      and "cannot make a directory in " + work + "/none" in read("ends.err"),
      "--threads 256 --repeat 1000: taken (" + read("ends.err").strip()[:120] + ")")
for i in range(1, 6):
    rc, opt = read("range%d.rc" % i).split(" ", 1)
    opt = opt.split()[0]
    check(rc == "1" and "bench: %s takes a number from 1 to %d" % (opt, 256 if opt == "--threads"
                                                                   else 1000)
          in read("range%d.err" % i),
          "%s: refused, exit 1 (%s)" % (read("range%d.rc" % i).split(" ", 1)[1].strip(),
                                        read("range%d.err" % i).strip()[:120]))
check(read("stray.rc").strip() == "1" and read("stray.out") == ""
      and "bench: unexpected argument 'extra'" in read("stray.err"),
      "bench: a stray argument is refused, exit 1, no report")
sealed = os.path.join(work, "sealed")
check(read("aead.rc").strip() == "0" and os.path.exists(sealed)
      and os.path.getsize(sealed) == os.path.getsize(os.path.join(work, "ramp_2048.pgm")) + 16,
      "--aead-file IN OUT: OUT is IN sealed, 16 bytes of tag more")
check(read("aead3.rc").strip() == "1" and "--aead-file takes IN and OUT" in read("aead3.err")
      and not os.path.exists(os.path.join(work, "sealed3")),
      "--aead-file with a third argument: refused, exit 1")
check(re.search(r"\n  the batch in memory, 2 32x32 16-bit images 2 times each, on 2 threads\n"
                r"  against one \(no process start, no files\): medcrypt \d+\.\d\d x; the "
                r"machine's own\n  XChaCha20-Poly1305 \d+\.\d\d x, HMAC-SHA-512 \d+\.\d\d x "
                r"on the same \(what it gives to\n  parallel work\)\n", read("nossl.out")) is not None,
      "process: the table gives the batch in memory after the goals")
try:
    fl = json.loads(read("failing.json") or "{}")
except ValueError:
    fl = {}
fm = fl.get("batch", {}).get("in_memory", {})
check(read("failing.rc").strip() == "1" and "bench: 'true' failed 3 times" in read("failing.err")
      and fm.get("missing") == "a command failed"
      and [fm.get(k, 0) for k in ("speedup", "xchacha20poly1305_speedup", "hmac_sha512_speedup")]
      == [None, None, None],
      "process with a command that fails: exit 1, the batch in memory not run ("
      + json.dumps(fm) + " " + read("failing.err").strip()[:160] + ")")
check("on images too small (--tiny) to mean anything" in read("nossl.out"),
      "process (table) with --tiny: the goals are said to mean nothing on its images")
if os.path.exists(os.path.join(work, "nolib.rc")):
    soname = read("nolib.soname").strip()
    check(read("nolib.rc").strip() == "1" and read("nolib.out") == ""
          and read("nolib.err") == "medcrypt: bench: cannot load OpenSSL's libcrypto ("
          + soname + "), which the HMAC-SHA-512 reference is measured with\n",
          "no libcrypto to load: said, exit 1, nothing measured (" + read("nolib.err")[:160] + ")")
    try:
        nl = json.loads(read("nolib_process.json") or "{}")
    except ValueError:
        nl = {}
    nm = nl.get("batch", {}).get("in_memory", {})
    check(read("nolib_process.rc").strip() == "0"
          and nm.get("hmac_sha512_speedup", 0) is None
          and nm.get("missing") == "HMAC-SHA-512: no libcrypto (" + soname + ")"
          and all(isinstance(nm.get(k), float) and nm[k] > 0
                  for k in ("speedup", "xchacha20poly1305_speedup"))
          and all(c["failures"] == 0 for c in nl.get("commands", [{"failures": 1}])),
          "process without libcrypto: the commands timed, the batch in memory measured but "
          "for the HMAC, said missing, exit 0 (" + json.dumps(nm) + " "
          + read("nolib_process.err").strip()[:160] + ")")
    check(re.search(r"HMAC-SHA-512 - on the same \(what it gives to\n  parallel work\); not "
                    r"measured: HMAC-SHA-512: no libcrypto \(" + re.escape(soname) + r"\)\n",
                    read("nolib_process.out")) is not None,
          "process without libcrypto, the table: '-' for the HMAC, and why")
else:
    print("ok - no libcrypto # SKIP no C compiler")
if os.path.exists(os.path.join(work, "frozen.rc")):
    check(read("frozen.rc").split() == ["0", "0"], "frozen clock: exit 0 ("
          + read("frozen.err").strip()[:200] + ")")
    def no_constant(c):
        raise ValueError("not JSON: " + c)
    try:
        f = json.loads(read("frozen.json"), parse_constant=no_constant)
    except ValueError as e:
        f = None
        print("# " + str(e)[:200])
    check(f is not None, "frozen clock: --json is still JSON (no nan, no inf)")
    if f is not None:
        rows = [r for im in f["images"] for r in im["results"]]
        check(all(r["x_aead"] is None and r["mb_per_s"] is None for r in rows)
              and f["batch"]["speedup"] is None,
              "frozen clock: the ratios to 0 s are null, not 0 or nan")
    low = read("frozen.txt").lower()
    check(not re.search(r"\bnan\b|\binf\b", low) and "  -" in low,
          "frozen clock: the table says '-' where a figure cannot be computed")
    if os.path.exists(os.path.join(work, "frozen_scaling.rc")):
        rows = [l.split("|")[1:-1] for l in read("frozen_scaling.out").splitlines()
                if l.startswith("| 1 ")]
        check(read("frozen_scaling.rc").strip() == "0" and len(rows) == 1
              and [c.strip() for c in rows[0][2:8:2]] == ["-", "-", "-"],
              "frozen clock: scaling.sh's speed-ups of 0 ms are '-' ("
              + read("frozen_scaling.err").strip()[-160:] + ")")
else:
    print("ok - frozen clock # SKIP no C compiler, or a sanitizer")
if os.path.exists(os.path.join(work, "stepping.rc")):
    check(read("stepping.rc").strip() == "0", "stepping clock: exit 0 ("
          + read("stepping.err").strip()[:200] + ")")
    s = json.loads(read("stepping.json") or "{}")
    rows = [r for im in s.get("images", []) for r in im["results"]]
    # keyed_hash and the stages after the first: increments of two medians
    # of 2 ms, 0 (the rounding of their subtractions is no time).
    check(len(rows) == 3 * len(want) and all(r["mb_per_s"] is None and r["x_aead"] == 0
                                             for r in rows if r["ms"] == 0),
          "stepping clock: a step of 0 ms (two medians of as many ticks) has no MB/s")
    incs = {"keyed_hash", "henon", "logistic", "xchacha20"}
    check(rows and all(v == 2 for im in s["images"] for v in im["reference"].values())
          and all(r["ms"] == (0 if r["name"] in incs else 2) for r in rows),
          "stepping clock: each figure the median of its two runs (of 1 and 3 ms: 2, not 3), "
          "the keyed hash and each stage after the first the increment over the pass before")
    check(rows and all(r["x_aead"] == r["x_hmac"] == r["x_memcpy"] == r["ms"] / 2 for r in rows)
          and all(abs(r["mb_per_s"] - im["bytes"] / 2e3) <= 0.0051 for im in s["images"]
                  for r in im["results"] if r["ms"] == 2 and r["name"] != "key_processing"),
          "stepping clock: the ratios to the references, MB/s the image's bytes over 2 ms")
    sb = s.get("batch", {})
    check(sb.get("threads") == 65 and sb.get("images") == 260
          and all(im["threads"] == 64 for im in s["images"])
          and sorted([sb["speedup"], sb["xchacha20poly1305_speedup"], sb["hmac_sha512_speedup"]])
          == [0.143, 0.333, 3.0]
          and quotient(sb["speedup"], sb["one_thread_s"], sb["n_threads_s"], 3, 6, 6),
          "stepping clock, --threads 65: the batch on 65 threads, one image on at most 64; "
          "the three speed-ups each of its own runs (1/3, 3 and 1/7 ms)")
else:
    print("ok - stepping clock # SKIP no C compiler, or a sanitizer")
if os.path.exists(os.path.join(work, "corrupt.rc")):
    try:
        c = json.loads(read("corrupt.json") or "{}")
    except ValueError:
        c = {}
    err = read("corrupt.err")
    check(read("corrupt.rc").strip() == "1"
          and all("bench: %s: decrypted samples differ" % n in err
                  for n in ("phantom_128_16bit.pgm", "phantom_32_8bit.png"))
          and [f["same_samples"] for f in c.get("files", [])] == [False, False]
          and all(x["failures"] == 0 for x in c.get("commands", [])),
          "process, a decrypt that writes other bytes: seen, exit 1, same_samples false ("
          + err.strip().replace("\n", " | ")[:200] + ")")
else:
    print("ok - a decrypt that writes other bytes # SKIP no C compiler, or a sanitizer")
if os.path.exists(os.path.join(work, "scaling.rc")):
    check(read("scaling.rc").strip() == "0", "scaling.sh: exit 0 " + read("scaling.err")[:200])
    rows = [l.split("|")[1:-1] for l in read("scaling.out").splitlines() if l.startswith("| ")]
    check(len(rows) == 3 and [r[0].strip() for r in rows[1:]] == ["1", "2"]
          and all(len(r) == 11 for r in rows),
          "scaling.sh: a header and one row per thread count, 11 columns each")
    check(all(c.strip().endswith(" x") for r in rows[1:] for c in (r[2], r[4], r[5], r[10])),
          "scaling.sh: the speed-ups are ratios")
print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)
PY
