#!/bin/sh
# `medcrypt bench --json` on tiny images: the JSON's shape only (no
# timing is ever asserted in a test).
set -u
BIN=$1
out=$("$BIN" bench --tiny --repeat 1 --json --threads 2) || { echo "not ok - bench exit"; echo "0 passed, 1 failed"; exit 1; }
printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
fails = passes = 0
def check(cond, what):
    global fails, passes
    print(("ok - " if cond else "not ok - ") + what)
    fails += not cond
    passes += bool(cond)
check(isinstance(d["machine"]["cpu"], str) and d["machine"]["cores"] >= 1, "machine")
check(len(d["images"]) == 3, "three images")
want = {"encrypt", "decrypt", "keyed_hash", "key_processing", "scrambling", "henon",
        "logistic", "xchacha20", "encrypt_v1", "png_encode", "png_decode", "encrypt_threads",
        "decrypt_threads"}
for im in d["images"]:
    names = {r["name"] for r in im["results"]}
    check(names == want, im["name"] + " has every step")
    check(all(r["ms"] >= 0 and r["x_aead"] >= 0 for r in im["results"]), im["name"] + " numbers")
    check(set(im["reference"]) == {"memcpy_ms", "xchacha20poly1305_ms", "hmac_sha512_ms"},
          im["name"] + " references")
check(d["batch"]["threads"] == 2 and d["batch"]["speedup"] > 0, "batch")
check(d["batch"]["xchacha20poly1305_speedup"] > 0 and d["batch"]["hmac_sha512_speedup"] > 0,
      "batch: the references speed-ups")
check(d["peak_rss_kib"] > 0, "peak rss")
print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)
'
