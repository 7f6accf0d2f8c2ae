#!/usr/bin/env bash
# nats-server for the NATS broker's tests (crates/duplex-hub/tests/engine_nats.rs, the NATS part
# of tests/engine_contract.rs) and the multi-node harness (tests/cluster/run.py), which start a
# server of their own on a free loopback port. Only the binary is needed: a server the Debian
# package may have started as a service is not used, and nothing here touches it.
#
# Installs the `nats-server` package with apt when no nats-server is found (on PATH, in /usr/sbin,
# or given in $DUPLEX_NATS_SERVER). Run it, then run the tests with DUPLEX_REQUIRE_NATS=1 so that
# they fail, rather than skip, without NATS.
set -euo pipefail
cd "$(dirname "$0")"
SETUP_NAME=nats
# shellcheck source=setup-common.sh
. ./setup-common.sh

nats_binary() {
  if [ -n "${DUPLEX_NATS_SERVER:-}" ]; then
    [ -x "$DUPLEX_NATS_SERVER" ] && echo "$DUPLEX_NATS_SERVER"
    return
  fi
  command -v nats-server 2>/dev/null || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; }
}

if ! nats_binary >/dev/null; then
  apt_install nats-server
fi
bin="$(nats_binary)" || die "nats-server is still missing after installing nats-server"
log "$bin $("$bin" --version 2>/dev/null | head -1)"
