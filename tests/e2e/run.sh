#!/bin/sh
# The browser end-to-end test of the web application (issue 7):
#
#     sh tests/e2e/run.sh /abs/medcrypt /abs/testdata [SCREENSHOT_DIR]
#
# Drives Debian's chromium (/usr/bin/chromium, or $CHROMIUM) with
# playwright-core, and audits each page with axe-core, both installed from
# the committed package-lock.json with
# `npm ci` into tests/e2e/node_modules (ignored by git) the first time; no
# browser is ever downloaded. Prints "ok - ..." lines and "N passed, M
# failed"; exit 1 on failure, 77 (skipped) when node, npm or chromium is
# missing (`make deps` installs them). SCREENSHOT_DIR: where to save the
# page screenshots (`make screenshots` uses docs/screenshots).
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM

if [ $# -lt 2 ]; then
    echo "usage: sh tests/e2e/run.sh /path/to/medcrypt /path/to/testdata [SCREENSHOT_DIR]" >&2
    exit 2
fi
for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "e2e: skipped: $tool is not installed (make deps installs nodejs and npm)"
        exit 77
    fi
done
if [ ! -x "$CHROMIUM" ]; then
    echo "e2e: skipped: $CHROMIUM is not installed (make deps installs chromium)"
    exit 77
fi
# Installed again when a package of the lock is missing (a checkout whose
# node_modules predates axe-core).
if [ ! -f "$DIR/node_modules/playwright-core/package.json" ] ||
   [ ! -f "$DIR/node_modules/axe-core/axe.min.js" ]; then
    echo "e2e: installing playwright-core and axe-core from package-lock.json (npm ci)"
    # No browser download: playwright-core has none, and chromium is Debian's.
    if ! (cd "$DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
            --loglevel=error); then
        echo "not ok - npm ci in tests/e2e"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi
exec node "$DIR/e2e.mjs" "$@"
