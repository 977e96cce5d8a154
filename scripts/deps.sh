#!/bin/sh
# Installs the Debian 12 packages medcrypt needs, only those missing.
# Idempotent and quick when everything is present; works as root or via sudo.
#
#   sh scripts/deps.sh           everything: building, testing, fuzzing
#   sh scripts/deps.sh --build   building only (make build, make run): no
#                                test tools, no browser, no nginx on a
#                                machine that only builds or serves
set -eu

# Build: compiler, meson (and python3, which runs it and web/embed.py),
# and the libraries of DESIGN §3, with libdeflate, which inflates a plain
# PNG's pixel data (src/codec_png_fast.c; linked in from libdeflate.a),
# and ISA-L, which inflates a large one piece by piece while it is hashed
# (src/codec_png_stream.c; loaded at the first such PNG).
BUILD_PACKAGES="build-essential pkg-config meson ninja-build python3
libsodium-dev libssl-dev librandom123-dev libspng-dev zlib1g-dev libdeflate-dev
libisal-dev libjpeg62-turbo-dev libmicrohttpd-dev"

# Tests: cmocka, python3 (independent reference decoders), dcmtk
# (dcmdump checks restored DICOM files), curl (web API tests), bsdutils
# and util-linux (script(1) gives a batch a terminal for its progress
# line, taskset(1) one core; both Essential on Debian, named for clarity),
# groff-base (tests/man_check.sh formats docs/medcrypt.1 with groff -ww).
PACKAGES="$BUILD_PACKAGES
libcmocka-dev dcmtk curl bsdutils util-linux groff-base"

# Benchmark (medcrypt bench --process): the openssl command, whose
# `openssl dgst -sha512` is the whole-process reference of issue 11.
PACKAGES="$PACKAGES openssl"

# Fuzzing (make build-fuzz, make fuzz): clang and its libFuzzer runtime
# (libclang_rt.fuzzer-x86_64.a is in libclang-rt-14-dev on Debian 12).
PACKAGES="$PACKAGES clang libclang-rt-14-dev"

# Browser end-to-end test of the web app (tests/e2e): Debian's chromium,
# and node + npm for playwright-core and axe-core (installed by npm ci from
# tests/e2e/package-lock.json; it downloads no browser). node/npm only
# when missing: a machine may have them from elsewhere (e.g. NodeSource).
PACKAGES="$PACKAGES chromium"
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

# Server load and attack test (tests/load): nginx-light in front of two
# instances. The test runs its own nginx (own config, pid and logs in a
# temporary directory, loopback ports); it never uses or touches a system
# nginx service that the package may have started.
PACKAGES="$PACKAGES nginx-light"

if [ "${1:-}" = --build ]; then
    PACKAGES=$BUILD_PACKAGES
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "medcrypt: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "medcrypt: error: need root or sudo to install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
