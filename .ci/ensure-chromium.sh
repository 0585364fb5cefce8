#!/usr/bin/env sh
# Makes sure `chromium` is on PATH for the HTML report's browser tests (tests/all/browser.rs
# renders reports in headless Chromium). Idempotent: installs Debian's `chromium` package with
# apt-get only when no chromium is found.
set -eu

for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "ensure-chromium: $name found at $(command -v "$name"); nothing to do"
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium is missing and there is no apt-get to install it; install Chromium and put it on PATH" >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "ensure-chromium: chromium not found; running: $sudo apt-get install -y chromium"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
command -v chromium
