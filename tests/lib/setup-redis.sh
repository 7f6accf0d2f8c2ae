#!/usr/bin/env bash
# redis-server for the hub's Redis engine tests (crates/duplex-hub/tests/engine_redis.rs and the
# redis rows of tests/engine_contract.rs), which start servers of their own on free loopback
# ports with no persistence. Only the binary is needed: the service the Debian package may start
# on port 6379 is not used, and nothing here touches it.
#
# Installs the `redis-server` package with apt when no redis-server is found (and none is given
# in $DUPLEX_REDIS_SERVER). Run it, then run the tests with DUPLEX_REQUIRE_REDIS=1 so that they
# fail, rather than skip, without Redis.
set -euo pipefail
cd "$(dirname "$0")"
SETUP_NAME=redis
# shellcheck source=setup-common.sh
. ./setup-common.sh

redis_binary() {
  if [ -n "${DUPLEX_REDIS_SERVER:-}" ]; then
    [ -x "$DUPLEX_REDIS_SERVER" ] && echo "$DUPLEX_REDIS_SERVER"
    return
  fi
  command -v redis-server || command -v valkey-server || { [ -x /usr/bin/redis-server ] && echo /usr/bin/redis-server; }
}

if ! redis_binary >/dev/null; then
  apt_install redis-server
fi
binary="$(redis_binary)" || die "redis-server is still missing after installing redis-server"
log "$("$binary" --version)"
