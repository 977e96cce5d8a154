#!/bin/sh
# Installs the Debian 12 packages medcrypt needs, only those missing.
# Idempotent and quick when everything is present; works as root or via sudo.
set -eu

PACKAGES="build-essential pkg-config meson ninja-build
libsodium-dev libssl-dev librandom123-dev libspng-dev zlib1g-dev
libjpeg62-turbo-dev libmicrohttpd-dev libcmocka-dev
clang xxd python3"

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
