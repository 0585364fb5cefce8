#!/bin/sh
# The guide (docs/guide/) is an mdBook. Install mdbook from crates.io when missing; cargo keeps the
# binary in ~/.cargo/bin, so a cached home directory skips the build next time. Only the features
# a static build needs: no `serve` or `watch` (an HTTP server and a file watcher to compile).
set -eu
VERSION=0.5.4
if command -v mdbook >/dev/null 2>&1 && mdbook --version | grep -q "v$VERSION"; then
    exit 0
fi
cargo install mdbook --version "$VERSION" --locked --no-default-features --features search
