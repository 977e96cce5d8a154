#!/bin/sh
# The shared library as a program that uses it sees it:
#   - its soname carries the ABI version (libmedcrypt.so.0);
#   - it exports the functions of include/medcrypt.h and nothing else: not
#     the internals (mc__*) the tests reach through the static library,
#     nor OpenSSL's SHA-512 and ChaCha20 linked in from libcrypto.a;
#   - a program with only the header, linked by that soname, round-trips
#     a file and tells a wrong key from a tampered image;
#   - medcrypt.pc asks for no more than linking needs: pkg-config answers
#     with only libsodium's, libspng's and zlib's .pc files beside it (no
#     libcrypto, no libjpeg: the one is linked in, the other dlopen'ed),
#     and the consumer builds from its flags alone.
# Usage: sh tests/abi_check.sh LIBMEDCRYPT.SO HEADER ABI_CONSUMER TESTDATA
#        MEDCRYPT.PC ABI_CONSUMER.C
set -u
. "$(dirname "$0")/lib.sh"
LIB=$1 HEADER=$2 CONSUMER=$3 TESTDATA=$4 PC=$5 CONSUMER_SRC=$6
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

# A machine with medcrypt's -dev files and those of what it requires,
# nothing else: a pkg-config search path of those .pc files alone, the
# library under its link name and the header in their own folders.
mkdir -p "$WORK/pc" "$WORK/lib" "$WORK/include"
cp "$PC" "$WORK/pc/medcrypt.pc"
for req in libsodium spng zlib; do
    cp "$(pkg-config --variable=pcfiledir "$req")/$req.pc" "$WORK/pc/"
done
for name in libmedcrypt.so "$soname"; do  # the link name, the run-time name
    ln -s "$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")" "$WORK/lib/$name"
done
cp "$HEADER" "$WORK/include/"
if flags=$(PKG_CONFIG_LIBDIR="$WORK/pc" PKG_CONFIG_PATH= pkg-config \
        --define-variable=libdir="$WORK/lib" --define-variable=includedir="$WORK/include" \
        --cflags --libs medcrypt 2>&1); then
    ok "pkg-config medcrypt with only libsodium, spng and zlib beside it"
    out=
    # A library built with ASan + UBSan (make build-asan) needs a program
    # built with them.
    san=
    if readelf -d "$LIB" | grep -q 'libasan'; then
        san="-fsanitize=address,undefined"
    fi
    # shellcheck disable=SC2086 # the flags are words
    if ${CC:-cc} -std=c11 $san -o "$WORK/consumer" "$CONSUMER_SRC" $flags 2>"$WORK/cc.err" &&
        out=$(LD_LIBRARY_PATH="$WORK/lib" "$WORK/consumer" "$TESTDATA/pnm/ct_small_12bit.pgm" 2>&1); then
        ok "the header-only program built from pkg-config's flags: $out"
    else
        not_ok "the header-only program did not build or run from pkg-config's flags ($flags)"
        head -5 "$WORK/cc.err"
        echo "${out:-}" | head -5
    fi
else
    not_ok "pkg-config medcrypt needs more than libsodium, spng and zlib: $flags"
fi

# A static link, as API.md gives it: libmedcrypt.a alone in the libdir,
# `pkg-config --static --libs`. libcrypto's SHA-512 and ChaCha20 must come
# from libcrypto.a (libcrypto.so does not export ChaCha20_ctr32): a plain
# -lcrypto took the shared one and failed (a review).
ARCHIVE=$(dirname "$LIB")/libmedcrypt.a
if [ -f "$ARCHIVE" ] && ! readelf -d "$LIB" | grep -q 'libasan'; then
    mkdir -p "$WORK/slib"
    cp "$ARCHIVE" "$WORK/slib/"
    if sflags=$(PKG_CONFIG_LIBDIR="$WORK/pc" PKG_CONFIG_PATH= pkg-config --static \
            --define-variable=libdir="$WORK/slib" --define-variable=includedir="$WORK/include" \
            --cflags --libs medcrypt 2>&1) &&
        # shellcheck disable=SC2086 # the flags are words
        ${CC:-cc} -std=c11 -o "$WORK/sconsumer" "$CONSUMER_SRC" $sflags 2>"$WORK/scc.err" &&
        ! readelf -d "$WORK/sconsumer" | grep -q 'libmedcrypt' &&
        sout=$("$WORK/sconsumer" "$TESTDATA/pnm/ct_small_12bit.pgm" 2>&1); then
        ok "a static link from pkg-config --static: $sout"
    else
        not_ok "a static link from pkg-config --static did not build or run (${sflags:-})"
        head -5 "$WORK/scc.err"
    fi
fi

# One version everywhere: the header's, the .pc file's, the file name's.
hv=$(sed -n 's/^#define MC_VERSION_STRING "\(.*\)"$/\1/p' "$HEADER")
pv=$(sed -n 's/^Version: //p' "$PC")
case $LIB in *".so.$hv") lv=$hv ;; *) lv=$(basename "$LIB") ;; esac
if [ -n "$hv" ] && [ "$hv" = "$pv" ] && [ "$lv" = "$hv" ]; then
    ok "version $hv in the header, medcrypt.pc and the library's file name"
else
    not_ok "versions differ: header '$hv', medcrypt.pc '$pv', library $(basename "$LIB")"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
