#!/usr/bin/env bash
# PostgreSQL's server binaries (initdb, postgres) for the hub's outbox tests
# (crates/duplex-hub/tests/outbox.rs), which start a server of their own on a free loopback port
# with a temporary data folder. Only the binaries are needed: the cluster the Debian package
# creates and starts is not used, and nothing here touches it.
#
# Installs the `postgresql` package with apt when no /usr/lib/postgresql/*/bin/initdb exists
# (and none is given in $DUPLEX_POSTGRES_BIN). Run it, then run the tests with
# DUPLEX_REQUIRE_POSTGRES=1 so that they fail, rather than skip, without PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")"
SETUP_NAME=postgres
# shellcheck source=setup-common.sh
. ./setup-common.sh

have_postgres() {
  if [ -n "${DUPLEX_POSTGRES_BIN:-}" ]; then
    [ -x "$DUPLEX_POSTGRES_BIN/initdb" ] && [ -x "$DUPLEX_POSTGRES_BIN/postgres" ]
    return
  fi
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

if ! have_postgres; then
  apt_install postgresql
fi
have_postgres || die "PostgreSQL's initdb is still missing after installing postgresql"
# As root, the tests run PostgreSQL as the `postgres` user, which the package creates.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  die "running as root, and there is no postgres user to run the test servers as"
fi
log "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || echo "${DUPLEX_POSTGRES_BIN:-}")"
