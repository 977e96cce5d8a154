#!/bin/sh
# The scaling curve of issue 11: `medcrypt bench --threads N` for each N,
# as a Markdown table for docs/PERFORMANCE.md. One run per N; in each run
# every figure is a ratio to another measured in that run, so a drift of
# the machine between runs does not enter them:
#
#   - the 2048x2048 16-bit image encrypted and decrypted in memory on N
#     threads, against one thread (the same run's `encrypt` row);
#   - a batch of 512x512 16-bit images on N threads against one, and the
#     same for libsodium's XChaCha20-Poly1305 and OpenSSL's HMAC-SHA-512
#     on the same images: what the machine itself gives to parallel work;
#   - with -p, `medcrypt bench --process --threads N` as well: 16 PNG
#     files encrypted by `medcrypt encrypt -j N` against `-j 1`, as
#     processes (its other commands run on all cores whatever N is).
#
# Usage: bench/scaling.sh [-p] [--tiny] MEDCRYPT [N...]
# N defaults to 1, 2, 4, 8, ... up to the cores this process may use, and
# that count itself. --tiny (a quick check of the script, as the tests
# run it) makes the images 16 times smaller per side: then the figures
# mean nothing.
set -eu

process=false
tiny=
while [ $# -gt 0 ]; do
    case $1 in
    -p) process=true ;;
    --tiny) tiny=--tiny ;;
    -h | --help)
        sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "scaling.sh: unknown option $1 (see --help)" >&2
        exit 1
        ;;
    *) break ;;
    esac
    shift
done
if [ $# -lt 1 ]; then
    echo "usage: bench/scaling.sh [-p] [--tiny] MEDCRYPT [N...]" >&2
    exit 1
fi
bin=$1
shift
if [ $# -eq 0 ]; then
    cores=$(nproc)
    n=1
    set --
    while [ "$n" -lt "$cores" ]; do
        set -- "$@" "$n"
        n=$((n * 2))
    done
    set -- "$@" "$cores"
fi
repeat=7
[ -n "$tiny" ] && repeat=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

for n in "$@"; do
    "$bin" bench $tiny --repeat "$repeat" --threads "$n" --json >"$work/memory.$n.json"
    if $process; then
        "$bin" bench --process $tiny --repeat "$repeat" --threads "$n" --json \
            --dir "$work" >"$work/process.$n.json"
    fi
done

python3 - "$work" "$process" "$@" <<'PY'
import json, sys

work, process, ns = sys.argv[1], sys.argv[2] == "true", sys.argv[3:]

def load(name):
    with open(f"{work}/{name}") as f:
        return json.load(f)

# "-" where a figure cannot be computed (bench's null; a time of 0 ms on
# a clock coarser than the work), as bench's own table has it.
def ms(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"

def x(v):
    return "-" if v is None else f"{v:.2f} x"

def over(a, b):
    return x(a / b if a is not None and b else None)

first = load(f"memory.{ns[0]}.json")["machine"]
print(f"{first['cpu']}, {first['cores']} cores; one `medcrypt bench` run per row\n")
head = ["threads", "encrypt ms", "speed-up", "decrypt ms", "speed-up", "batch speed-up",
        "XChaCha20-Poly1305", "HMAC-SHA-512"]
if process:
    head += ["`-j 1` ms", "`-j N` ms", "speed-up"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for n in ns:
    d = load(f"memory.{n}.json")
    big = max(d["images"], key=lambda im: im["bytes"])
    r = {x["name"]: x["ms"] for x in big["results"]}
    b = d["batch"]
    row = [n, ms(r["encrypt_threads"]), over(r["encrypt"], r["encrypt_threads"]),
           ms(r["decrypt_threads"]), over(r["decrypt"], r["decrypt_threads"]),
           x(b["speedup"]), x(b["xchacha20poly1305_speedup"]), x(b["hmac_sha512_speedup"])]
    if process:
        p = load(f"process.{n}.json")["batch"]
        row += [ms(p["one_ms"], 1), ms(p["n_ms"], 1), x(p["speedup"])]
    print("| " + " | ".join(str(c) for c in row) + " |")
PY
