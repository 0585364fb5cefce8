#!/usr/bin/env sh
# Makes sure `moto_server` is on PATH for the AWS backend's integration tests
# (tests/all/moto.rs starts it on a free loopback port). Idempotent: installs
# `moto[server]` with pip only when moto_server is missing.
set -eu

if command -v moto_server >/dev/null 2>&1; then
    echo "ensure-moto: moto_server found at $(command -v moto_server); nothing to do"
    exit 0
fi

if command -v python3 >/dev/null 2>&1; then
    python=python3
elif command -v python >/dev/null 2>&1; then
    python=python
else
    echo "ensure-moto: moto_server is missing and no python3 is available to install it" >&2
    exit 1
fi

echo "ensure-moto: moto_server not found; running: $python -m pip install 'moto[server]'"
if ! "$python" -m pip install --quiet 'moto[server]'; then
    # A system Python may refuse a global install; the user site always works.
    echo "ensure-moto: retrying with --user"
    "$python" -m pip install --user --quiet 'moto[server]'
fi

# pyenv shims need a rehash; --user installs land in the user base's bin directory.
if command -v pyenv >/dev/null 2>&1; then
    pyenv rehash
fi
if ! command -v moto_server >/dev/null 2>&1; then
    user_bin="$("$python" -m site --user-base)/bin"
    if [ -x "$user_bin/moto_server" ]; then
        echo "ensure-moto: installed to $user_bin, which is not on PATH: export PATH=\"$user_bin:\$PATH\"" >&2
        exit 1
    fi
    echo "ensure-moto: pip finished but moto_server is still not on PATH" >&2
    exit 1
fi
echo "ensure-moto: moto_server installed at $(command -v moto_server)"
