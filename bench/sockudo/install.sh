#!/bin/sh
# Builds the Sockudo peer for the hub benchmark (issue 22) from crates.io into bench/out/sockudo.
#
# Sockudo is the Rust Pusher-protocol server people would run instead of our hub, so the benchmark
# compares against the released crate, not a fork or a git checkout. The version is pinned so two
# runs months apart measure the same server; `--locked` keeps its dependency versions as published.
# Its build compiles protobuf definitions, hence `protoc` (Debian `protobuf-compiler`); it needs
# rustc 1.95. One job because the benchmark machine has two cores shared with other work.
set -eu

SOCKUDO_VERSION=5.2.0
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)/bench/out/sockudo

if [ -x "$root/bin/sockudo" ] && [ "$(cat "$root/VERSION" 2>/dev/null)" = "$SOCKUDO_VERSION" ]; then
    echo "sockudo $SOCKUDO_VERSION already installed in $root"
    exit 0
fi

if ! command -v protoc >/dev/null 2>&1; then
    # Only when we can install it ourselves (a root shell in the benchmark container); otherwise say what is missing.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        # A fresh machine's package lists may be empty.
        apt-get update -qq
        apt-get install -y protobuf-compiler
    else
        echo "sockudo needs protoc: install Debian's protobuf-compiler" >&2
        exit 1
    fi
fi

mkdir -p "$root"
cargo install sockudo --version "$SOCKUDO_VERSION" --locked --root "$root" -j "${SOCKUDO_BUILD_JOBS:-1}"
echo "$SOCKUDO_VERSION" > "$root/VERSION"
echo "sockudo $SOCKUDO_VERSION installed in $root"
