#!/bin/sh
# Randomness of the cipher stream, stage by stage (issue 6):
#
#     sh scripts/stream_tests.sh [MEDCRYPT] [PLAIN] [TESTS]
#
# For each stage configuration (scrambling, + henon, + logistic,
# + xchacha20) the plain image PLAIN (default: the 8-bit CT of the test
# data) is encrypted again and again under nonces 0, 1, 2, ... with a
# fresh random key (`medcrypt analyze --stream`), and the concatenated
# cipher samples go to Debian's `ent` (64 MB) and `dieharder` (piped, as
# much as each test needs: no rewound input). TESTS is a list of
# dieharder test numbers (default "0 1 2 3 4 8 15 100 101"; "all" runs
# `dieharder -a`, hours). Needs: apt-get install ent dieharder.
# Results: docs/SECURITY.md, "Randomness of the cipher stream".

set -u
MC=${1:-build/cli/medcrypt}
PLAIN=${2:-../shared/testdata/png/ct_512_8bit.png}
TESTS=${3:-0 1 2 3 4 8 15 100 101}

for tool in ent dieharder; do
    command -v $tool >/dev/null || { echo "stream_tests.sh: $tool is missing (apt-get install $tool)" >&2; exit 2; }
done
[ -x "$MC" ] || { echo "stream_tests.sh: $MC is not built" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/medcrypt-stream.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
"$MC" keygen --aadhaar "2345 6789 0124" --dob 1990-05-17 -o "$T/k.key" 2>/dev/null || exit 2

for stage in scrambling henon logistic xchacha20; do
    echo "== stage: $stage"
    "$MC" analyze --stream 64 --stage $stage -k "$T/k.key" -o "$T/s.bin" "$PLAIN" || exit 1
    ent "$T/s.bin" | grep -v '^$' | grep -v -e 'Optimum compression' -e 'of this .* byte file'
    rm -f "$T/s.bin"
    if [ "$TESTS" = all ]; then
        "$MC" analyze --stream 1073741824 --stage $stage -k "$T/k.key" -o - "$PLAIN" |
            dieharder -g 200 -a | grep -E 'PASSED|WEAK|FAILED'
    else
        for d in $TESTS; do
            "$MC" analyze --stream 1073741824 --stage $stage -k "$T/k.key" -o - "$PLAIN" |
                dieharder -g 200 -d "$d" | grep -E 'PASSED|WEAK|FAILED'
        done
    fi
done
