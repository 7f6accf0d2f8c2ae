#!/usr/bin/env bash
# Installs what the hub's Pusher conformance tests need; idempotent, and quick when everything is
# already there (run.py calls it first unless --no-setup).
#   - Debian's Chromium at /usr/bin/chromium (apt; never a browser download through Playwright),
#     for the `chromium` and `echo` groups
#   - node_modules from package-lock.json: pusher-js (the client: its Node build, and its browser
#     bundle in dist/web), pusher (the server SDK), laravel-echo (ESM, loaded by a page),
#     playwright-core (drives Chromium)
# No Python venv: run.py uses the standard library only. The steps are in
# tests/lib/setup-common.sh, shared with tests/hub/setup.sh and tests/interop/setup.sh.
set -euo pipefail
cd "$(dirname "$0")"

SETUP_NAME=pusher
. ../lib/setup-common.sh

# 1. Chromium.
ensure_chromium

# 2. Node packages, exactly as locked.
ensure_node_modules
version() { node -p "JSON.parse(require('fs').readFileSync('node_modules/$1/package.json')).version"; }
log "node $(node --version): pusher-js $(version pusher-js), pusher $(version pusher), laravel-echo $(version laravel-echo), playwright-core $(version playwright-core)"
log "done"
