#!/bin/sh
# The shared library as a program that uses it sees it:
#   - its soname carries the ABI version (libmedcrypt.so.0);
#   - it exports the functions of include/medcrypt.h and nothing else: not
#     the internals (mc__*) the tests reach through the static library,
#     nor OpenSSL's SHA-512 and ChaCha20 linked in from libcrypto.a;
#   - a program with only the header, linked by that soname, round-trips
#     a file and tells a wrong key from a tampered image.
# Usage: sh tests/abi_check.sh LIBMEDCRYPT.SO HEADER ABI_CONSUMER TESTDATA
set -u
. "$(dirname "$0")/lib.sh"
LIB=$1 HEADER=$2 CONSUMER=$3 TESTDATA=$4
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

soname=$(readelf -d "$LIB" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = libmedcrypt.so.0 ]; then
    ok "soname $soname"
else
    not_ok "soname is '$soname', not libmedcrypt.so.0"
fi

# The header's functions: every mc_ name followed by '(' once comments are
# gone (a comment may name a function in prose).
python3 - "$HEADER" >"$WORK/declared" <<'PY'
import re, sys
text = re.sub(r"/\*.*?\*/", "", open(sys.argv[1]).read(), flags=re.S)
for name in sorted(set(re.findall(r"\b(mc_[a-z][a-z0-9_]*)\s*\(", text))):
    print(name)
PY
nm -D --defined-only "$LIB" | awk '{print $3}' | sed 's/@.*//' | LC_ALL=C sort -u >"$WORK/exported"
if [ -s "$WORK/declared" ] && cmp -s "$WORK/declared" "$WORK/exported"; then
    ok "exports exactly the $(wc -l <"$WORK/declared") functions of medcrypt.h"
else
    not_ok "exports differ from medcrypt.h's functions (< declared only, > exported only):"
    diff "$WORK/declared" "$WORK/exported" | grep '^[<>]' | head -20
fi

needed=$(readelf -d "$CONSUMER" | sed -n 's/.*(NEEDED).*\[\(libmedcrypt[^]]*\)\].*/\1/p')
if [ "$needed" = libmedcrypt.so.0 ]; then
    ok "a program linked against it needs libmedcrypt.so.0"
else
    not_ok "the consumer needs '$needed', not libmedcrypt.so.0"
fi
if out=$("$CONSUMER" "$TESTDATA/pnm/ct_small_12bit.pgm" 2>&1); then
    ok "header-only program: $out"
else
    not_ok "header-only program failed: $out"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
